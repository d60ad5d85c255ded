//! The audit log: who read which scores or did which privileged thing, when, through which route and
//! filters, and how many rows. Entries carry the caller's region, so that an admin of a region reads only
//! its region's entries; entries older than the retention are deleted.

use rusqlite::params;
use wagewatch_core::contract::RegionPrefix;

use super::{Role, StateError, Store, Timestamp};

/// The longest `filters` stored, in characters: a request cannot choose how much the log grows.
pub const MAX_FILTERS_CHARS: usize = 512;

/// One request to write down.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub token_id: Option<i64>,
    pub token_name: String,
    pub role: Option<Role>,
    /// The caller's region ([`RegionPrefix::ALL`] for a national admin and for callers without a token).
    pub region: RegionPrefix,
    pub method: String,
    /// The route template, e.g. `/v1/employers/{id}`, with the id in `filters`.
    pub route: String,
    /// The query and path parameters as `key=value` pairs joined by `&`, cut at [`MAX_FILTERS_CHARS`].
    pub filters: String,
    pub rows: u64,
    pub status: u16,
}

/// `filters` cut to [`MAX_FILTERS_CHARS`] characters, marked with `…` when cut.
pub fn capped(filters: &str) -> String {
    match filters.char_indices().nth(MAX_FILTERS_CHARS) {
        Some((at, _)) => format!("{}…", &filters[..at]),
        None => filters.to_string(),
    }
}

/// A stored entry.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    pub audit_id: i64,
    pub entry: AuditEntry,
}

/// One line for an operator reading the log: id, time, token, role, request, rows and status.
impl std::fmt::Display for AuditRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.entry;
        write!(
            f,
            "{:>7}  {}  token {:>3} {:<24} {:<10} {} {} ?{}  rows {}  status {}",
            self.audit_id,
            e.at,
            e.token_id.map(|t| t.to_string()).unwrap_or_default(),
            e.token_name,
            e.role.map_or("", |r| r.code()),
            e.method,
            e.route,
            e.filters,
            e.rows,
            e.status
        )
    }
}

/// Which entries to list, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditQuery {
    /// Only entries of callers within this region (every entry for [`RegionPrefix::ALL`]).
    pub within: RegionPrefix,
    pub token_id: Option<i64>,
    pub route: Option<String>,
    pub since: Option<Timestamp>,
    /// List entries with ids below this (for paging backwards).
    pub before_id: Option<i64>,
    pub limit: usize,
}

impl Store {
    /// Appends entries in one transaction (the server batches concurrent requests into one commit).
    pub fn append_audit(&mut self, entries: &[AuditEntry]) -> Result<(), StateError> {
        let path = self.dir.join(super::DB_FILE);
        let db = |source| StateError::Db { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(db)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO audit (at, token_id, token_name, role, region, method, route, filters, rows, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(db)?;
            for e in entries {
                stmt.execute(params![
                    e.at.to_string(),
                    e.token_id,
                    e.token_name,
                    e.role.map_or("", Role::code),
                    e.region.to_string(),
                    e.method,
                    e.route,
                    capped(&e.filters),
                    e.rows as i64,
                    e.status
                ])
                .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    /// Lists entries, newest first.
    pub fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT audit_id, at, token_id, token_name, role, method, route, filters, rows, status, region
                 FROM audit
                 WHERE (?1 IS NULL OR token_id = ?1) AND (?2 IS NULL OR route = ?2) AND (?3 IS NULL OR at >= ?3)
                   AND (?4 IS NULL OR audit_id < ?4) AND substr(region, 1, length(?6)) = ?6
                 ORDER BY audit_id DESC LIMIT ?5",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map(
                params![
                    q.token_id,
                    q.route,
                    q.since.map(|t| t.to_string()),
                    q.before_id,
                    q.limit as i64,
                    q.within.to_string()
                ],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Option<i64>>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, String>(6)?,
                        row.get::<_, String>(7)?,
                        row.get::<_, i64>(8)?,
                        row.get::<_, u16>(9)?,
                        row.get::<_, String>(10)?,
                    ))
                },
            )
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (audit_id, at, token_id, token_name, role, method, route, filters, rows, status, region) =
                row.map_err(|e| self.db_err(e))?;
            let corrupt = |what: &str| StateError::Corrupt { what: format!("audit {audit_id}: {what}") };
            out.push(AuditRecord {
                audit_id,
                entry: AuditEntry {
                    at: Timestamp::parse(&at).ok_or_else(|| corrupt("at"))?,
                    region: RegionPrefix::parse(&region).ok_or_else(|| corrupt("region"))?,
                    token_id,
                    token_name,
                    role: Role::parse(&role),
                    method,
                    route,
                    filters,
                    rows: rows.max(0) as u64,
                    status,
                },
            });
        }
        Ok(out)
    }

    /// Deletes entries older than `before`; returns how many.
    pub fn expire_audit(&mut self, before: Timestamp) -> Result<usize, StateError> {
        self.conn.execute("DELETE FROM audit WHERE at < ?1", [before.to_string()]).map_err(|e| self.db_err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_capped() {
        assert_eq!(capped("a=1"), "a=1");
        let long = "q=".to_string() + &"欠".repeat(10_000);
        let c = capped(&long);
        assert_eq!(c.chars().count(), MAX_FILTERS_CHARS + 1);
        assert!(c.ends_with('…'));
    }
}
