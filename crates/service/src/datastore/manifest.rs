//! The store's manifest: one SQLite database saying what was ingested (files with size, time and hash),
//! which generations were committed, which data files each generation lists and which it superseded, the
//! ids stored payroll names and the problems each ingest found. One transaction per ingest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use wagewatch_core::contract::{Date, Month, Table};
use wagewatch_core::ingest::compact::Part;

use super::{DataStoreError, SourceFile, TablePlan};
use crate::state::Timestamp;

/// The manifest's file name inside the store folder.
pub const MANIFEST_FILE: &str = "manifest.db";
/// The store format this build writes and reads (SQLite `user_version` of the manifest).
pub const FORMAT_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE generations (
    number INTEGER PRIMARY KEY,
    data TEXT NOT NULL,
    at TEXT NOT NULL,
    plans TEXT NOT NULL
);
CREATE TABLE sources (
    tbl TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT,
    generation INTEGER NOT NULL REFERENCES generations(number),
    PRIMARY KEY (tbl, path)
);
CREATE TABLE files (
    path TEXT PRIMARY KEY,
    tbl TEXT NOT NULL,
    month TEXT,
    rows INTEGER NOT NULL,
    generation INTEGER NOT NULL REFERENCES generations(number),
    superseded_by INTEGER,
    first_due INTEGER,
    last_due INTEGER
);
CREATE INDEX files_current ON files (tbl, superseded_by, month);
CREATE TABLE required_ids (kind TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;
CREATE TABLE problems (
    generation INTEGER NOT NULL REFERENCES generations(number),
    tbl TEXT NOT NULL,
    bad_rows INTEGER NOT NULL,
    first TEXT NOT NULL
);
";

/// A committed ingest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generation {
    pub store_id: String,
    pub number: i64,
    pub at: Timestamp,
}

impl Generation {
    /// The data fingerprint runs and models record: which store, which ingest.
    pub fn fingerprint(&self) -> String {
        format!("store-{}-g{}", self.store_id, self.number)
    }
}

/// What the current generation lists.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub generation: Option<Generation>,
    /// The folder of the small tables' copies, relative to the store.
    pub snapshot: String,
    /// Each payroll part: wage month, path, earliest and latest due date (days).
    pub payroll_parts: Vec<(Month, String, i32, i32)>,
    /// Each payments part: wage month, path.
    pub payments_parts: Vec<(Month, String)>,
}

/// Everything one ingest commits.
pub struct Commit<'a> {
    pub generation: i64,
    pub data: String,
    pub at: Timestamp,
    pub key_check: String,
    pub plans: &'a [(Table, TablePlan)],
    pub files: &'a [SourceFile],
    pub parts: &'a [Part],
    pub snapshot: Option<&'a str>,
    pub required: Vec<(&'static str, String)>,
    pub problems: Vec<(Table, u64, String)>,
    pub dir: &'a Path,
}

/// The open manifest.
pub struct Manifest {
    path: PathBuf,
    conn: Connection,
}

fn table_of(name: &str) -> Option<Table> {
    Table::ALL.into_iter().find(|t| t.name() == name)
}

impl Manifest {
    /// Opens the manifest of the store in `dir` (creating it when `create`), checking its format version.
    pub fn open(dir: &Path, create: bool) -> Result<Manifest, DataStoreError> {
        let path = dir.join(MANIFEST_FILE);
        let db = |source| DataStoreError::Db { path: path.clone(), source };
        let existed = path.is_file();
        let conn = Connection::open(&path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        let mut version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(db)?;
        if version == 0 && create {
            // Two first ingests at once: the schema is created under the write lock, by whichever comes first.
            conn.execute_batch("BEGIN IMMEDIATE").map_err(db)?;
            version = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(db)?;
            if version == 0 {
                let store_id: String = (0..8).map(|_| format!("{:02x}", random_byte())).collect();
                conn.execute_batch(&format!(
                    "{SCHEMA}
                     INSERT INTO meta (key, value) VALUES ('store_id', '{store_id}');
                     PRAGMA user_version = {FORMAT_VERSION};"
                ))
                .map_err(db)?;
                version = FORMAT_VERSION;
            }
            conn.execute_batch("COMMIT").map_err(db)?;
            set_private(&path).map_err(|source| DataStoreError::Io { path: path.clone(), source })?;
        }
        if version == 0 && existed {
            // Being created by a first ingest this moment: nothing to read yet.
            return Err(DataStoreError::Empty { path: dir.to_path_buf() });
        }
        if version != FORMAT_VERSION {
            if !existed {
                let _ = std::fs::remove_file(&path);
            }
            return Err(DataStoreError::Version { path: dir.to_path_buf(), found: version, known: FORMAT_VERSION });
        }
        Ok(Manifest { path, conn })
    }

    fn db(&self, source: rusqlite::Error) -> DataStoreError {
        DataStoreError::Db { path: self.path.clone(), source }
    }

    fn meta(&self, key: &str) -> Result<Option<String>, DataStoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.db(e))
    }

    /// The key check recorded at the first ingest.
    pub fn key_check(&self) -> Result<Option<String>, DataStoreError> {
        self.meta("key_check")
    }

    /// The newest committed generation.
    pub fn current_generation(&self) -> Result<Option<Generation>, DataStoreError> {
        let store_id = self.meta("store_id")?.unwrap_or_default();
        let row: Option<(i64, String)> = self
            .conn
            .query_row("SELECT number, at FROM generations ORDER BY number DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(|e| self.db(e))?;
        Ok(row.map(|(number, at)| Generation { store_id, number, at: Timestamp::parse(&at).unwrap_or(Timestamp(0)) }))
    }

    /// The files every table was ingested from.
    pub fn source_files(&self) -> Result<Vec<SourceFile>, DataStoreError> {
        let mut stmt =
            self.conn.prepare("SELECT tbl, path, size, mtime_ns, hash FROM sources").map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, i64>(2)?, r.get(3)?, r.get(4)?)))
            .map_err(|e| self.db(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.db(e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(t, path, size, mtime_ns, hash)| {
                Some(SourceFile { table: table_of(&t)?, path, size: size as u64, mtime_ns, hash })
            })
            .collect())
    }

    /// What the current generation lists, read in one transaction.
    pub fn listing(&self) -> Result<Listing, DataStoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.db(e))?;
        let generation = self.current_generation()?;
        let mut listing = Listing { generation, ..Listing::default() };
        let mut stmt = tx
            .prepare(
                "SELECT tbl, path, month, first_due, last_due FROM files WHERE superseded_by IS NULL
                 ORDER BY month, generation, path",
            )
            .map_err(|e| self.db(e))?;
        type Row = (String, String, Option<String>, Option<i32>, Option<i32>);
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .map_err(|e| self.db(e))?
            .collect::<Result<Vec<Row>, _>>()
            .map_err(|e| self.db(e))?;
        for (tbl, path, month, first_due, last_due) in rows {
            let corrupt =
                |what: &str| DataStoreError::Corrupt { path: self.path.clone(), what: format!("{what}: {path}") };
            if !super::store_written(&path) {
                return Err(corrupt("a listed file outside the store's data folder"));
            }
            let month = month.as_deref().and_then(Month::parse).filter(|m| m.in_contract_range());
            let due = |d: Option<i32>| d.map(Date::from_days).filter(|d| d.in_contract_range()).map(Date::days);
            match (tbl.as_str(), month) {
                ("snapshot", _) => listing.snapshot = path,
                ("payroll", Some(m)) => {
                    let (Some(lo), Some(hi)) = (due(first_due), due(last_due)) else {
                        return Err(corrupt("a payroll part without its due dates"));
                    };
                    listing.payroll_parts.push((m, path, lo, hi));
                }
                ("payments", Some(m)) => {
                    listing.payments_parts.push((m, path));
                }
                _ => return Err(corrupt("a listed file of no known table or month")),
            }
        }
        drop(stmt);
        tx.commit().map_err(|e| self.db(e))?;
        Ok(listing)
    }

    /// Every data file or folder any kept generation lists.
    pub fn all_files(&self) -> Result<Vec<String>, DataStoreError> {
        let mut stmt = self.conn.prepare("SELECT path FROM files").map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.db(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.db(e));
        rows
    }

    /// The employers and projects stored payroll names.
    pub fn required_ids(&self) -> Result<Vec<(String, String)>, DataStoreError> {
        let mut stmt = self.conn.prepare("SELECT kind, id FROM required_ids").map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.db(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.db(e));
        rows
    }

    /// Forgets the files superseded before `generation`, returning them for deletion.
    pub fn forget_superseded_before(&mut self, generation: i64) -> Result<Vec<String>, DataStoreError> {
        let tx = self.conn.transaction().map_err(|e| DataStoreError::Db { path: self.path.clone(), source: e })?;
        let paths = {
            let mut stmt = tx
                .prepare("SELECT path FROM files WHERE superseded_by IS NOT NULL AND superseded_by < ?1")
                .map_err(|e| DataStoreError::Db { path: self.path.clone(), source: e })?;
            let rows = stmt
                .query_map([generation], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| DataStoreError::Db { path: self.path.clone(), source: e })?;
            rows
        };
        tx.execute("DELETE FROM files WHERE superseded_by IS NOT NULL AND superseded_by < ?1", [generation])
            .map_err(|e| DataStoreError::Db { path: self.path.clone(), source: e })?;
        tx.commit().map_err(|e| DataStoreError::Db { path: self.path.clone(), source: e })?;
        Ok(paths)
    }

    /// Commits one ingest: its generation, the files it read, the parts it wrote (superseding what it
    /// replaced), the ids its payroll names and its problems. All or nothing.
    pub fn commit(&mut self, c: &Commit<'_>) -> Result<Generation, DataStoreError> {
        let path = self.path.clone();
        let db = |source| DataStoreError::Db { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(db)?;
        let plans_text =
            c.plans.iter().map(|(t, p)| format!("{}={:?}", t.name(), p).to_lowercase()).collect::<Vec<_>>().join(",");
        tx.execute(
            "INSERT INTO generations (number, data, at, plans) VALUES (?1, ?2, ?3, ?4)",
            params![c.generation, c.data, c.at.to_string(), plans_text],
        )
        .map_err(db)?;
        tx.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('key_check', ?1)", [&c.key_check]).map_err(db)?;
        for &(table, plan) in c.plans {
            if plan == TablePlan::Unchanged {
                continue;
            }
            if plan == TablePlan::Replace {
                tx.execute("DELETE FROM sources WHERE tbl = ?1", [table.name()]).map_err(db)?;
                let kind = if matches!(table, Table::Payroll | Table::Payments) { table.name() } else { "snapshot" };
                tx.execute(
                    "UPDATE files SET superseded_by = ?1 WHERE tbl = ?2 AND superseded_by IS NULL",
                    params![c.generation, kind],
                )
                .map_err(db)?;
                if table == Table::Payroll {
                    tx.execute("DELETE FROM required_ids", []).map_err(db)?;
                }
            }
            for f in c.files.iter().filter(|f| f.table == table) {
                tx.execute(
                    "INSERT OR REPLACE INTO sources (tbl, path, size, mtime_ns, hash, generation)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![table.name(), f.path, f.size as i64, f.mtime_ns, f.hash, c.generation],
                )
                .map_err(db)?;
            }
        }
        for part in c.parts {
            let rel = part.path.strip_prefix(c.dir).unwrap_or(&part.path).to_string_lossy().to_string();
            tx.execute(
                "INSERT INTO files (path, tbl, month, rows, generation, first_due, last_due)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    rel,
                    part.table.name(),
                    part.month.to_string(),
                    part.rows as i64,
                    c.generation,
                    part.due.map(|(lo, _)| lo.days()),
                    part.due.map(|(_, hi)| hi.days())
                ],
            )
            .map_err(db)?;
        }
        if let Some(snapshot) = c.snapshot {
            tx.execute(
                "INSERT INTO files (path, tbl, month, rows, generation) VALUES (?1, 'snapshot', NULL, 0, ?2)",
                params![snapshot, c.generation],
            )
            .map_err(db)?;
        }
        for (kind, id) in &c.required {
            tx.execute("INSERT OR IGNORE INTO required_ids (kind, id) VALUES (?1, ?2)", params![kind, id])
                .map_err(db)?;
        }
        for (table, bad_rows, first) in &c.problems {
            tx.execute(
                "INSERT INTO problems (generation, tbl, bad_rows, first) VALUES (?1, ?2, ?3, ?4)",
                params![c.generation, table.name(), *bad_rows as i64, first],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(self.current_generation()?.expect("a generation was just committed"))
    }

    /// Rows per table over the current generation's parts.
    pub fn rows(&self) -> Result<BTreeMap<String, i64>, DataStoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT tbl, SUM(rows) FROM files WHERE superseded_by IS NULL GROUP BY tbl")
            .map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.db(e))?
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map_err(|e| self.db(e));
        rows
    }
}

fn random_byte() -> u8 {
    let mut b = [0u8; 1];
    getrandom::fill(&mut b).expect("the system random source works");
    b[0]
}

fn set_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(crate::state::FILE_MODE))
}
