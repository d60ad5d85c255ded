//! The audit log: who read which scores or did which privileged thing, when, through which route and
//! filters, and how many rows. Entries carry the caller's region, so that an admin of a region reads only
//! its region's entries; entries older than the retention are deleted. Identical reads by one caller within
//! a short window are one entry with a count, so a client polling the same page cannot grow the log by
//! the request.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

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
    /// The first request; its `rows` are the rows of all the repeats together.
    pub entry: AuditEntry,
    /// How many identical requests the entry stands for (1 when it was made once).
    pub repeats: u64,
    /// When the last of them was made (the entry's `at` when it was made once).
    pub last_at: Timestamp,
}

/// Whether an entry may be folded into an identical earlier one: reads of scores only. Changes of state,
/// reads of tokens and of the audit log are always entries of their own.
pub fn coalescible(e: &AuditEntry) -> bool {
    e.method == "GET" && e.route != "/v1/tokens" && e.route != "/v1/audit"
}

/// What makes two reads identical: the caller, the request and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ReadKey {
    token_id: Option<i64>,
    token_name: String,
    region: String,
    route: String,
    filters: String,
    status: u16,
}

impl ReadKey {
    fn of(e: &AuditEntry) -> ReadKey {
        ReadKey {
            token_id: e.token_id,
            token_name: e.token_name.clone(),
            region: e.region.to_string(),
            route: e.route.clone(),
            filters: capped(&e.filters),
            status: e.status,
        }
    }
}

/// The entries still open for repeats: the writer keeps one and passes it to every append.
#[derive(Debug, Default)]
pub struct Coalescer {
    /// Entry id and first time of each read key.
    open: HashMap<ReadKey, (i64, Timestamp)>,
    /// Keys opened by the append in progress, published once it commits.
    opened: Vec<(ReadKey, Timestamp)>,
    /// The keys of `open` whose entries are committed, as the requests see them.
    committed: OpenReads,
}

/// The reads whose entry is committed and still open for repeats, shared by the audit writer with the
/// requests. A repeat of one of them is answered without waiting for its count to be committed: the read
/// itself is already on record, and what a crash of the machine in the moment after could lose is the
/// count of its repeats, never an entry.
#[derive(Clone, Debug, Default)]
pub struct OpenReads {
    window: Window,
    keys: Arc<RwLock<HashMap<ReadKey, Timestamp>>>,
}

/// Identical reads within this many seconds of an entry's first are counted on it (0: never).
#[derive(Clone, Copy, Debug, Default)]
struct Window(i64);

impl Window {
    /// Whether `e` may be counted on an earlier entry at all.
    fn folds(self, e: &AuditEntry) -> bool {
        self.0 > 0 && coalescible(e)
    }

    /// Whether a request at `at` falls in the window of an entry first made at `first`.
    fn holds(self, first: Timestamp, at: Timestamp) -> bool {
        at.0 - first.0 < self.0
    }
}

impl OpenReads {
    /// Whether `e` repeats a read whose entry is committed and whose window is still open at `e.at`.
    pub fn repeats(&self, e: &AuditEntry) -> bool {
        if !self.window.folds(e) {
            return false;
        }
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.get(&ReadKey::of(e)).is_some_and(|first| self.window.holds(*first, e.at))
    }

    fn update(&self, change: impl FnOnce(&mut HashMap<ReadKey, Timestamp>)) {
        change(&mut self.keys.write().unwrap_or_else(PoisonError::into_inner));
    }
}

/// Most keys held open: past it, the ones whose window has closed are dropped, and all of them if that is
/// not enough (later repeats then start new entries).
const OPEN_KEYS: usize = 10_000;

impl Coalescer {
    /// Folds identical reads within `window_seconds` (0 writes every request as an entry of its own).
    pub fn new(window_seconds: u32) -> Coalescer {
        Coalescer {
            open: HashMap::new(),
            opened: Vec::new(),
            committed: OpenReads { window: Window(i64::from(window_seconds)), keys: Arc::default() },
        }
    }

    /// The committed open reads, for the requests to look up.
    pub fn committed(&self) -> OpenReads {
        self.committed.clone()
    }

    fn open(&mut self, key: ReadKey, id: i64, at: Timestamp) {
        self.opened.push((key.clone(), at));
        self.open.insert(key, (id, at));
    }

    /// The append's keys are committed: the requests may count on them.
    fn publish(&mut self) {
        let opened = std::mem::take(&mut self.opened);
        self.committed.update(|keys| keys.extend(opened));
    }

    /// The append was rolled back: the ids held open may not exist.
    fn forget(&mut self) {
        self.open.clear();
        self.opened.clear();
        self.committed.update(HashMap::clear);
    }

    /// The open entry an entry repeats, if any.
    fn repeated(&self, key: &ReadKey, at: Timestamp) -> Option<i64> {
        self.open.get(key).filter(|(_, first)| self.committed.window.holds(*first, at)).map(|(id, _)| *id)
    }

    fn bound(&mut self, now: Timestamp) {
        if self.open.len() > OPEN_KEYS {
            let window = self.committed.window;
            self.open.retain(|_, (_, first)| window.holds(*first, now));
            self.committed.update(|keys| keys.retain(|_, first| window.holds(*first, now)));
        }
        if self.open.len() > OPEN_KEYS {
            self.open.clear();
            self.committed.update(HashMap::clear);
        }
    }
}

/// One line for an operator reading the log: id, time, token, role, request, rows and status.
impl std::fmt::Display for AuditRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = &self.entry;
        write!(
            f,
            "{:>7}  {}  token {:>3} {:<24} {:<10} {} {} ?{}  rows {}  status {}",
            self.audit_id,
            if self.repeats > 1 {
                format!("{} ({}x until {})", e.at, self.repeats, self.last_at)
            } else {
                e.at.to_string()
            },
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
    /// Appends entries in one transaction (the server batches concurrent requests into one commit). A read
    /// identical to one the coalescer holds open is counted on that entry instead of written anew.
    pub fn append_audit(&mut self, entries: &[AuditEntry], coalescer: &mut Coalescer) -> Result<(), StateError> {
        let result = self.append_coalesced(entries, coalescer);
        match &result {
            // The transaction was rolled back: the ids held open may not exist.
            Err(_) => coalescer.forget(),
            Ok(()) => {
                coalescer.publish();
                coalescer.bound(entries.last().map_or(Timestamp(0), |e| e.at));
            }
        }
        result
    }

    fn append_coalesced(&mut self, entries: &[AuditEntry], coalescer: &mut Coalescer) -> Result<(), StateError> {
        let path = self.dir.join(super::DB_FILE);
        let db = |source| StateError::Db { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(db)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO audit (at, token_id, token_name, role, region, method, route, filters, rows, status,
                                        repeats, last_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(db)?;
            let mut insert = |e: &AuditEntry, repeats: i64, rows: i64, last_at: Option<Timestamp>| {
                insert
                    .execute(params![
                        e.at.to_string(),
                        e.token_id,
                        e.token_name,
                        e.role.map_or("", Role::code),
                        e.region.to_string(),
                        e.method,
                        e.route,
                        capped(&e.filters),
                        rows,
                        e.status,
                        repeats,
                        last_at.map(|t| t.to_string())
                    ])
                    .map_err(db)
            };
            let mut repeat = tx
                .prepare_cached(
                    "UPDATE audit SET repeats = repeats + ?1, rows = rows + ?2, last_at = ?3 WHERE audit_id = ?4",
                )
                .map_err(db)?;
            // Repeats are summed per entry over the batch: one update per entry, not per request.
            let mut repeats: HashMap<i64, (&AuditEntry, i64, i64, Timestamp)> = HashMap::new();
            for e in entries {
                let key = coalescer.committed.window.folds(e).then(|| ReadKey::of(e));
                if let Some(id) = key.as_ref().and_then(|k| coalescer.repeated(k, e.at)) {
                    let r = repeats.entry(id).or_insert((e, 0, 0, e.at));
                    *r = (r.0, r.1 + 1, r.2 + e.rows as i64, r.3.max(e.at));
                    continue;
                }
                insert(e, 1, e.rows as i64, None)?;
                if let Some(key) = key {
                    coalescer.open(key, tx.last_insert_rowid(), e.at);
                }
            }
            for (id, (first, count, rows, last_at)) in repeats {
                let updated = repeat.execute(params![count, rows, last_at.to_string(), id]).map_err(db)?;
                // The entry they repeat is gone (retention deleted it): they are an entry of their own.
                if updated == 0 {
                    insert(first, count, rows, (count > 1).then_some(last_at))?;
                    coalescer.open(ReadKey::of(first), tx.last_insert_rowid(), first.at);
                }
            }
        }
        tx.commit().map_err(db)
    }

    /// Lists entries, newest first.
    pub fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT audit_id, at, token_id, token_name, role, method, route, filters, rows, status, region,
                        repeats, last_at
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
                        row.get::<_, i64>(11)?,
                        row.get::<_, Option<String>>(12)?,
                    ))
                },
            )
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (
                audit_id,
                at,
                token_id,
                token_name,
                role,
                method,
                route,
                filters,
                rows,
                status,
                region,
                repeats,
                last_at,
            ) = row.map_err(|e| self.db_err(e))?;
            let corrupt = |what: &str| StateError::Corrupt { what: format!("audit {audit_id}: {what}") };
            let at = Timestamp::parse(&at).ok_or_else(|| corrupt("at"))?;
            let last_at = match last_at {
                Some(t) => Timestamp::parse(&t).ok_or_else(|| corrupt("last_at"))?,
                None => at,
            };
            out.push(AuditRecord {
                audit_id,
                repeats: repeats.max(1) as u64,
                last_at,
                entry: AuditEntry {
                    at,
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

    /// A read (or, with `POST`, a change) by token 1 at second `at` of `route` with `filters` and 10 rows.
    fn entry(at: i64, method: &str, route: &str, filters: &str) -> AuditEntry {
        AuditEntry {
            at: Timestamp(1_800_000_000 + at),
            token_id: Some(1),
            token_name: "t".into(),
            role: Some(Role::Inspector),
            region: RegionPrefix::ALL,
            method: method.into(),
            route: route.into(),
            filters: filters.into(),
            rows: 10,
            status: 200,
        }
    }

    /// Appends `batches` with a coalescing window of `window` seconds and returns each stored entry, oldest
    /// first, as (seconds of its first request, repeats, seconds of its last, rows).
    fn check(window: u32, batches: &[&[AuditEntry]], expected: &[(i64, u64, i64, u64)]) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut coalescer = Coalescer::new(window);
        for batch in batches {
            store.append_audit(batch, &mut coalescer).unwrap();
        }
        let mut stored = store.audit(&AuditQuery { limit: 100, ..Default::default() }).unwrap();
        stored.reverse();
        let got: Vec<_> = stored
            .iter()
            .map(|r| (r.entry.at.0 - 1_800_000_000, r.repeats, r.last_at.0 - 1_800_000_000, r.entry.rows))
            .collect();
        assert_eq!(got, expected, "window {window}");
    }

    #[test]
    fn identical_reads_within_the_window_are_one_entry_with_a_count() {
        let page = |at| entry(at, "GET", "/v1/watchlist", "limit=50");
        // Within one batch and across batches; the window counts from the entry's first request.
        check(60, &[&[page(0), page(1)], &[page(30), page(59)]], &[(0, 4, 59, 40)]);
        check(60, &[&[page(0), page(60), page(61)]], &[(0, 1, 0, 10), (60, 2, 61, 20)]);
        // No window: every request an entry of its own.
        check(0, &[&[page(0), page(1)]], &[(0, 1, 0, 10), (1, 1, 1, 10)]);
        // Other filters, another route or status or caller: entries of their own.
        let mut other_caller = page(2);
        other_caller.token_id = Some(2);
        let mut refused = page(3);
        refused.status = 403;
        check(
            60,
            &[&[page(0), entry(1, "GET", "/v1/watchlist", "limit=10"), other_caller, refused, page(4)]],
            &[(0, 2, 4, 20), (1, 1, 1, 10), (2, 1, 2, 10), (3, 1, 3, 10)],
        );
    }

    #[test]
    fn repeats_of_an_entry_that_retention_deleted_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut coalescer = Coalescer::new(60);
        let page = |at| entry(at, "GET", "/v1/watchlist", "limit=50");
        store.append_audit(&[page(0)], &mut coalescer).unwrap();
        assert_eq!(store.expire_audit(Timestamp(1_800_000_001)).unwrap(), 1);
        store.append_audit(&[page(5), page(6)], &mut coalescer).unwrap();
        let stored = store.audit(&AuditQuery { limit: 10, ..Default::default() }).unwrap();
        let got: Vec<_> = stored.iter().map(|r| (r.entry.at.0 - 1_800_000_000, r.repeats, r.entry.rows)).collect();
        assert_eq!(got, [(5, 2, 20)]);
    }

    #[test]
    fn changes_and_reads_of_tokens_or_the_log_are_never_folded() {
        for (method, route) in [("POST", "/v1/runs"), ("GET", "/v1/tokens"), ("GET", "/v1/audit")] {
            check(60, &[&[entry(0, method, route, ""), entry(1, method, route, "")]], &[(0, 1, 0, 10), (1, 1, 1, 10)]);
        }
    }

    #[test]
    fn requests_see_a_read_as_open_only_once_its_entry_is_committed_and_within_its_window() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut coalescer = Coalescer::new(60);
        let committed = coalescer.committed();
        let page = |at| entry(at, "GET", "/v1/watchlist", "limit=50");
        assert!(!committed.repeats(&page(1)), "nothing committed yet");
        store.append_audit(&[page(0)], &mut coalescer).unwrap();
        assert!(committed.repeats(&page(59)));
        assert!(!committed.repeats(&page(60)), "the window counts from the first request");
        assert!(!committed.repeats(&entry(1, "GET", "/v1/watchlist", "limit=10")), "another read");
        assert!(!committed.repeats(&entry(1, "POST", "/v1/watchlist", "limit=50")), "a change is never folded");
        // An append that fails (the table is gone) is rolled back: nothing it opened, nor before it, is open.
        store.conn.execute_batch("DROP TABLE audit").unwrap();
        assert!(store.append_audit(&[entry(2, "GET", "/v1/watchlist", "limit=10")], &mut coalescer).is_err());
        assert!(!committed.repeats(&page(3)) && !committed.repeats(&entry(3, "GET", "/v1/watchlist", "limit=10")));
        // No window: nothing is ever open.
        let mut never = Coalescer::new(0);
        let none = never.committed();
        let other = tempfile::tempdir().unwrap();
        let mut store = Store::open(other.path()).unwrap();
        store.append_audit(&[page(0)], &mut never).unwrap();
        assert!(!none.repeats(&page(1)));
    }

    #[test]
    fn filters_are_capped() {
        assert_eq!(capped("a=1"), "a=1");
        let long = "q=".to_string() + &"欠".repeat(10_000);
        let c = capped(&long);
        assert_eq!(c.chars().count(), MAX_FILTERS_CHARS + 1);
        assert!(c.ends_with('…'));
    }
}
