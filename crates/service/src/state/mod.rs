//! The service's own state in one SQLite database (`<state>/wagewatch.db`): the run registry, re-score
//! jobs, access tokens (hashed), the audit log and inspections recorded over the API.
//!
//! Every write is one transaction. The database runs in WAL mode with `synchronous = FULL`, so a
//! committed write survives a crash or power loss. Scores of a run are Parquet files in
//! `<state>/runs/<run_id>/`; a run becomes visible only when its registry row is committed (see
//! [`crate::runs`]).

mod alerts;
mod audit;
mod models;
mod sessions;
mod tokens;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use wagewatch_core::contract::{Date, Money, Selection};
use wagewatch_core::features::EntityType;
use wagewatch_core::metrics::ReliabilityBin;
use wagewatch_core::model::Band;
use wagewatch_core::outcomes::{BandOutcome, ListOutcome};

pub use alerts::{Delivery, DeliveryStatus, StoredAlert};
pub use audit::{AuditEntry, AuditQuery, AuditRecord, Coalescer, OpenReads, MAX_FILTERS_CHARS};
pub use models::{ModelRecord, ModelRole, Promotion};
pub use sessions::SessionLimits;
pub use tokens::{NewToken, Principal, Role, SecretHash, TokenRecord, TokenRuleError, TOKEN_PREFIX};

/// The file name of the database inside the state folder.
pub const DB_FILE: &str = "wagewatch.db";
/// The lock file a re-score holds while it writes a run.
pub const LOCK_FILE: &str = "rescore.lock";
/// How long a statement waits for another connection's write lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Page cache of each connection, in KiB (SQLite's default is 2 MiB): the state's working set is small
/// (tokens, sessions, the registry, the audit log's last pages), and a server holds several connections.
const CACHE_KIB: i64 = 512;
/// The schema version this build writes (SQLite `user_version`).
pub const SCHEMA_VERSION: i64 = 6;

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot use the state folder {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("state database {path}: {source}")]
    Db { path: PathBuf, source: rusqlite::Error },
    #[error("state database {path} has schema version {found}, this build knows {known}; upgrade wagewatch")]
    NewerSchema { path: PathBuf, found: i64, known: i64 },
    #[error("inspection {inspection_id} is already recorded")]
    DuplicateInspection { inspection_id: String },
    #[error("no token with id {token_id}")]
    UnknownToken { token_id: i64 },
    #[error("a stored value is invalid: {what}")]
    Corrupt { what: String },
    #[error("model {model_id} is not in the registry (wagewatch retrain registers challengers)")]
    UnknownModel { model_id: String },
    #[error("model {model_id} is already the champion")]
    AlreadyChampion { model_id: String },
    #[error("there is no earlier champion to roll back to")]
    NoPreviousChampion,
    #[error("model {model_id} was judged beside {judged_with}, but the champion is now {champion}: retrain")]
    ChampionChanged { model_id: String, judged_with: String, champion: String },
}

/// Seconds since 1970-01-01 UTC, shown as RFC 3339 (`2026-11-26T10:37:36Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time (the server and the CLI read the clock; the scoring core never does).
    pub fn now() -> Timestamp {
        Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
    }

    /// The instant `days` whole days before this one.
    pub fn days_before(self, days: u32) -> Timestamp {
        Timestamp(self.0 - i64::from(days) * 86_400)
    }

    /// The UTC calendar day of this instant.
    pub fn date(self) -> Date {
        Date::from_days(self.0.div_euclid(86_400) as i32)
    }

    /// Parses any RFC 3339 time (`2026-11-26T10:37:36Z`, `2026-11-26T18:37:36.5+08:00`), to the second.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| Timestamp(t.timestamp()))
    }

    /// Parses the RFC 3339 form this type writes (`YYYY-MM-DDTHH:MM:SSZ`).
    pub fn parse(text: &str) -> Option<Timestamp> {
        let (day, time) = text.strip_suffix('Z')?.split_once('T')?;
        let date = Date::parse(day)?;
        let mut parts = time.split(':').map(|p| p.parse::<i64>().ok());
        let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
        if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
            return None;
        }
        Some(Timestamp(date.days() as i64 * 86_400 + h * 3600 + m * 60 + s))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.rem_euclid(86_400);
        write!(f, "{}T{:02}:{:02}:{:02}Z", self.date(), secs / 3600, secs / 60 % 60, secs % 60)
    }
}

/// Whether a run was published or failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Published,
    Failed,
}

impl RunStatus {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            RunStatus::Published => "published",
            RunStatus::Failed => "failed",
        }
    }
}

/// Counts of a run, by band and in all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub employers: u32,
    pub projects: u32,
    pub red: u32,
    pub orange: u32,
    pub yellow: u32,
    pub green: u32,
    /// Entities on the list (not green) that were not on it in the previous run.
    pub new_on_list: u32,
}

/// One row of the run registry: a published run or a failed attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub run_id: String,
    pub as_of: Date,
    pub model_id: String,
    pub data_fingerprint: String,
    pub created_at: Timestamp,
    pub status: RunStatus,
    /// What started it: `cli`, `api`, `schedule` or `new_data`.
    pub trigger: String,
    pub previous_run_id: Option<String>,
    pub counts: RunCounts,
    pub seconds: f64,
    /// Why a failed run failed.
    pub error: Option<String>,
    /// How far the run's features and scores moved (none for failed runs and runs from before drift
    /// was measured); the PSI of each is in [`Store::run_drift`].
    pub drift: Option<RunDrift>,
    /// The challenger scored in shadow beside the run's model, when there was one.
    pub shadow: Option<Shadow>,
}

/// A challenger's list in shadow: what it would have banded red and orange, and how much of the served
/// list it shares.
#[derive(Clone, Debug, PartialEq)]
pub struct Shadow {
    pub model_id: String,
    pub red: u32,
    pub orange: u32,
    /// The share of the served red-and-orange entities that the challenger also bands red or orange
    /// (none when the served list is empty).
    pub listed_overlap: Option<f64>,
}

/// A run's drift in brief: the largest PSI of any feature or the score, against the model's training
/// panel and against the previous run (none where there was nothing to compare with), and the threshold
/// the run was judged by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunDrift {
    pub threshold: f64,
    pub training: Option<f64>,
    pub previous: Option<f64>,
}

impl RunDrift {
    /// Whether either largest PSI crosses the threshold.
    pub fn drifted(&self) -> bool {
        [self.training, self.previous].iter().flatten().any(|v| *v > self.threshold)
    }
}

/// What a run's drift is measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftAgainst {
    /// The model's training panel.
    Training,
    /// The previous published run.
    Previous,
}

impl DriftAgainst {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            DriftAgainst::Training => "training",
            DriftAgainst::Previous => "previous",
        }
    }
}

/// What came of a run's list, judged on data with `data_fingerprint` once its horizon had closed.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    pub run_id: String,
    pub judged_at: Timestamp,
    pub data_fingerprint: String,
    pub horizon_days: i32,
    /// Employers, then projects.
    pub lists: Vec<(EntityType, ListOutcome)>,
}

/// The PSI of one feature (or of the score, subject `score`) of one entity type in a run.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftRow {
    pub against: DriftAgainst,
    pub entity_type: EntityType,
    /// A feature name, or `score`.
    pub subject: String,
    /// None where the PSI is undefined.
    pub psi: Option<f64>,
    /// Why it is undefined.
    pub note: Option<String>,
}

/// The state of a re-score job started over the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(code: &str) -> Option<JobStatus> {
        [JobStatus::Queued, JobStatus::Running, JobStatus::Succeeded, JobStatus::Failed]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// A re-score job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    pub job_id: String,
    pub requested_by: String,
    pub as_of: Option<Date>,
    pub model_id: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub status: JobStatus,
    pub run_id: Option<String>,
    pub error: Option<String>,
}

/// An inspection outcome recorded by an inspector, in the contract's `inspections` columns.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedInspection {
    pub inspection_id: String,
    pub employer_id: String,
    pub project_id: Option<String>,
    pub inspected_on: Date,
    pub found_arrears: bool,
    pub arrears_amount: Option<Money>,
    pub workers_affected: Option<u32>,
    /// Why the firm was inspected, when the inspector said.
    pub selection: Option<Selection>,
    /// The first day of the plan week the visit was on ([`crate::runs::plan`]), when it was planned.
    pub plan_week: Option<Date>,
    pub recorded_at: Timestamp,
    pub recorded_by: String,
}

/// The open state database.
pub struct Store {
    conn: Connection,
    dir: PathBuf,
}

const MIGRATION_1: &str = "
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    as_of TEXT NOT NULL,
    model_id TEXT NOT NULL,
    data_fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('published', 'failed')),
    trigger TEXT NOT NULL,
    previous_run_id TEXT,
    employers INTEGER NOT NULL, projects INTEGER NOT NULL,
    red INTEGER NOT NULL, orange INTEGER NOT NULL, yellow INTEGER NOT NULL, green INTEGER NOT NULL,
    new_on_list INTEGER NOT NULL,
    seconds REAL NOT NULL,
    error TEXT
);
CREATE INDEX runs_by_time ON runs (created_at);
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    requested_by TEXT NOT NULL,
    as_of TEXT,
    model_id TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    run_id TEXT,
    error TEXT
);
CREATE TABLE tokens (
    token_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('inspector', 'supervisor', 'admin')),
    region TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE audit (
    audit_id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    token_id INTEGER,
    token_name TEXT NOT NULL,
    role TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    filters TEXT NOT NULL,
    rows INTEGER NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX audit_by_time ON audit (at);
CREATE TABLE inspections (
    inspection_id TEXT PRIMARY KEY,
    employer_id TEXT NOT NULL,
    project_id TEXT,
    inspected_on TEXT NOT NULL,
    found_arrears INTEGER NOT NULL,
    arrears_amount_fen INTEGER,
    workers_affected INTEGER,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL
);
";

/// Version 2: tokens may expire, dashboard sessions, the caller's region on audit entries (so a regional
/// admin reads its region's entries only), and a row the readiness probe writes.
const MIGRATION_2: &str = "
ALTER TABLE tokens ADD COLUMN expires_at TEXT;
CREATE TABLE sessions (
    session_hash TEXT PRIMARY KEY,
    token_id INTEGER NOT NULL REFERENCES tokens (token_id),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
ALTER TABLE audit ADD COLUMN region TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_by_region ON audit (region, audit_id);
CREATE TABLE health (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at TEXT NOT NULL);
";

/// Version 3: identical reads within a short window are one audit entry with a count (`repeats`) and the
/// time of the last (`last_at`; NULL when it was read once).
const MIGRATION_3: &str = "
ALTER TABLE audit ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN last_at TEXT;
";

/// Version 4: each run's drift, in brief on the run (NULL for runs from before) and per feature and the
/// score in `run_drift`; why a recorded inspection was made (`inspections.selection`); and, once its horizon has closed in the data, what came of its list
/// (`run_judged`, `run_outcomes` per band, `run_calibration` per bin), all deleted with the run; and the
/// model registry (`models`: one champion, at most one challenger, with lineage and figures; `promotions`).
const MIGRATION_4: &str = "
ALTER TABLE inspections ADD COLUMN selection TEXT
    CHECK (selection IN ('random', 'risk_list', 'complaint', 'routine', 'other'));
ALTER TABLE runs ADD COLUMN drift_threshold REAL;
ALTER TABLE runs ADD COLUMN drift_training REAL;
ALTER TABLE runs ADD COLUMN drift_previous REAL;
ALTER TABLE runs ADD COLUMN shadow_model_id TEXT;
ALTER TABLE runs ADD COLUMN shadow_red INTEGER;
ALTER TABLE runs ADD COLUMN shadow_orange INTEGER;
ALTER TABLE runs ADD COLUMN shadow_listed_overlap REAL;
CREATE TABLE run_drift (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    against TEXT NOT NULL CHECK (against IN ('training', 'previous')),
    entity_type TEXT NOT NULL CHECK (entity_type IN ('employer', 'project')),
    subject TEXT NOT NULL,
    psi REAL,
    note TEXT,
    PRIMARY KEY (run_id, against, entity_type, subject)
);
CREATE TABLE run_outcomes (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    entity_type TEXT NOT NULL CHECK (entity_type IN ('employer', 'project')),
    band TEXT NOT NULL CHECK (band IN ('red', 'orange', 'yellow', 'green')),
    entities INTEGER NOT NULL,
    events INTEGER NOT NULL,
    mean_probability REAL NOT NULL,
    PRIMARY KEY (run_id, entity_type, band)
);
CREATE TABLE run_calibration (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    entity_type TEXT NOT NULL CHECK (entity_type IN ('employer', 'project')),
    bin INTEGER NOT NULL,
    entities INTEGER NOT NULL,
    mean_probability REAL NOT NULL,
    observed_rate REAL NOT NULL,
    PRIMARY KEY (run_id, entity_type, bin)
);
CREATE TABLE models (
    model_id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('champion', 'challenger', 'retired')),
    parent_model_id TEXT,
    data_fingerprint TEXT NOT NULL,
    trained_as_of TEXT NOT NULL,
    fit_from TEXT,
    fit_to TEXT,
    code_version TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    eval_dates TEXT,
    ap_employer REAL, ap_project REAL, gap_employer REAL, gap_project REAL, fairness_flags INTEGER,
    vs_model_id TEXT,
    vs_ap_employer REAL, vs_ap_project REAL, vs_gap_employer REAL, vs_gap_project REAL, vs_fairness_flags INTEGER
);
CREATE UNIQUE INDEX one_champion ON models (role) WHERE role = 'champion';
CREATE UNIQUE INDEX one_challenger ON models (role) WHERE role = 'challenger';
CREATE TABLE promotions (
    promotion_id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('promote', 'rollback')),
    model_id TEXT NOT NULL,
    previous_champion TEXT,
    by TEXT NOT NULL
);
CREATE TABLE run_judged (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    judged_at TEXT NOT NULL,
    data_fingerprint TEXT NOT NULL,
    horizon_days INTEGER NOT NULL
);
";

/// Version 5: the alerts re-scores raise (kept when their run expires), and their pushes to webhooks
/// (one per run and webhook: pending, delivered, or dead after the last attempt).
const MIGRATION_5: &str = "
CREATE TABLE alerts (
    alert_id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    as_of TEXT NOT NULL,
    created_at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('newly_red', 'rise', 'rule_fired', 'group_owed_before_festival')),
    entity_type TEXT NOT NULL CHECK (entity_type IN ('employer', 'project')),
    entity_id TEXT NOT NULL,
    name TEXT NOT NULL,
    region_code TEXT NOT NULL,
    score REAL NOT NULL,
    previous_score REAL,
    detail TEXT NOT NULL
);
CREATE INDEX alerts_by_region ON alerts (region_code, alert_id);
CREATE INDEX alerts_by_run ON alerts (run_id, alert_id);
CREATE TABLE deliveries (
    delivery_id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    webhook TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    done_at TEXT,
    UNIQUE (run_id, webhook)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
";

/// Version 6: an inspection may name the plan week its visit was on, and plans look their visits up by it;
/// the division names (the data's `regions` table) each run was scored with, deleted with the run.
const MIGRATION_6: &str = "
ALTER TABLE inspections ADD COLUMN plan_week TEXT;
CREATE INDEX inspections_by_plan_week ON inspections (plan_week) WHERE plan_week IS NOT NULL;
CREATE TABLE run_regions (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    region_code TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (run_id, region_code)
);
";

/// Folders of the state are private to the service's user.
const DIR_MODE: u32 = 0o700;
/// Files of the state are private to the service's user.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) readable by the owner only; an existing folder gets that mode too.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
}

/// Opens (creating, readable by the owner only) a file of the state for writing.
pub fn create_private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().create(true).truncate(true).write(true).mode(FILE_MODE).open(path)
}

/// Makes sure `path` exists and only its owner can read it (for files other libraries then open).
fn ensure_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    fs::OpenOptions::new().create(true).truncate(false).append(true).mode(FILE_MODE).open(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(FILE_MODE))
}

impl Store {
    /// Opens (creating if needed) the state folder and its database, bringing the schema up to date and
    /// removing run folders that were never published (left by a crash or kill mid-run). The folder, the
    /// database (SQLite gives its journal files the database's mode) and the lock are owner-only.
    pub fn open(dir: &Path) -> Result<Store, StateError> {
        let io = |source| StateError::Io { path: dir.to_path_buf(), source };
        create_private_dir(dir).map_err(io)?;
        create_private_dir(&dir.join("runs")).map_err(io)?;
        let path = dir.join(DB_FILE);
        ensure_private_file(&path).map_err(io)?;
        ensure_private_file(&dir.join(LOCK_FILE)).map_err(io)?;
        let db = |source| StateError::Db { path: path.clone(), source };
        let conn = Connection::open(&path).map_err(db)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(db)?;
        if version > SCHEMA_VERSION {
            return Err(StateError::NewerSchema { path, found: version, known: SCHEMA_VERSION });
        }
        // One transaction each: a crash mid-migration leaves the old schema, never half of the new one.
        for (to, migration) in
            [(1, MIGRATION_1), (2, MIGRATION_2), (3, MIGRATION_3), (4, MIGRATION_4), (5, MIGRATION_5), (6, MIGRATION_6)]
        {
            if version < to {
                conn.execute_batch(&format!("BEGIN IMMEDIATE; {migration} PRAGMA user_version = {to}; COMMIT;"))
                    .map_err(db)?;
            }
        }
        let store = Store { conn, dir: dir.to_path_buf() };
        // Only when no re-score is running (it holds the lock) are unregistered folders leftovers.
        let lock =
            fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(LOCK_FILE)).map_err(io)?;
        if lock.try_lock().is_ok() {
            store.remove_unpublished_run_folders()?;
        }
        Ok(store)
    }

    /// Opens another connection to a state database that [`Store::open`] already prepared (no migration,
    /// no clean-up): the server's pool and its audit writer use these.
    pub fn open_existing(dir: &Path) -> Result<Store, StateError> {
        let path = dir.join(DB_FILE);
        let db = |source| StateError::Db { path: path.clone(), source };
        let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(db)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB).map_err(db)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(db)?;
        if version != SCHEMA_VERSION {
            return Err(StateError::NewerSchema { path, found: version, known: SCHEMA_VERSION });
        }
        Ok(Store { conn, dir: dir.to_path_buf() })
    }

    /// Takes the re-score lock (waiting for a re-score in another process or thread to finish); held
    /// until the returned file is dropped.
    pub fn lock_rescore(&self) -> Result<fs::File, StateError> {
        let path = self.dir.join(LOCK_FILE);
        let io = |source| StateError::Io { path: path.clone(), source };
        let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io)?;
        file.lock().map_err(io)?;
        Ok(file)
    }

    /// The state folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder holding one folder per published run.
    pub fn runs_dir(&self) -> PathBuf {
        self.dir.join("runs")
    }

    fn db_err(&self, source: rusqlite::Error) -> StateError {
        StateError::Db { path: self.dir.join(DB_FILE), source }
    }

    /// Writes and commits a row, so that readiness fails when the database cannot be written (a full
    /// disk, a read-only file system, a lock held too long).
    pub fn check_writable(&mut self, now: Timestamp) -> Result<(), StateError> {
        // A probe answers within a second: a database locked for longer counts as not writable.
        self.conn.busy_timeout(std::time::Duration::from_secs(1)).map_err(|e| self.db_err(e))?;
        let written = self.conn.execute(
            "INSERT INTO health (id, checked_at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET checked_at = ?1",
            [now.to_string()],
        );
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| self.db_err(e))?;
        written.map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// Removes staging folders and run folders the registry does not list as published.
    fn remove_unpublished_run_folders(&self) -> Result<(), StateError> {
        let runs_dir = self.runs_dir();
        let io = |source| StateError::Io { path: runs_dir.clone(), source };
        let published: std::collections::HashSet<String> =
            self.runs()?.into_iter().filter(|r| r.status == RunStatus::Published).map(|r| r.run_id).collect();
        for entry in fs::read_dir(&runs_dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !published.contains(&name) && entry.path().is_dir() {
                tracing::warn!(folder = %entry.path().display(), "removing a run folder that was never published");
                fs::remove_dir_all(entry.path()).map_err(io)?;
            }
        }
        Ok(())
    }

    // ---- runs ----

    /// Adds a run to the registry (the moment a published run becomes visible), with its drift and the
    /// alerts it raised, in one transaction.
    pub fn insert_run(
        &mut self,
        r: &RunRecord,
        drift: &[DriftRow],
        raised: &[crate::runs::alerts::AlertEvent],
        webhooks: &[(String, wagewatch_core::contract::RegionPrefix)],
        names: &[(wagewatch_core::contract::RegionPrefix, String)],
    ) -> Result<(), StateError> {
        let c = &r.counts;
        let path = self.dir.join(DB_FILE);
        let db = |source| StateError::Db { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(db)?;
        tx.execute(
            "INSERT INTO runs (run_id, as_of, model_id, data_fingerprint, created_at, status, trigger,
             previous_run_id, employers, projects, red, orange, yellow, green, new_on_list, seconds, error,
             drift_threshold, drift_training, drift_previous, shadow_model_id, shadow_red, shadow_orange,
             shadow_listed_overlap)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
             ?22, ?23, ?24)",
            params![
                r.run_id,
                r.as_of.to_string(),
                r.model_id,
                r.data_fingerprint,
                r.created_at.to_string(),
                r.status.code(),
                r.trigger,
                r.previous_run_id,
                c.employers,
                c.projects,
                c.red,
                c.orange,
                c.yellow,
                c.green,
                c.new_on_list,
                r.seconds,
                r.error,
                r.drift.map(|d| d.threshold),
                r.drift.and_then(|d| d.training),
                r.drift.and_then(|d| d.previous),
                r.shadow.as_ref().map(|s| s.model_id.as_str()),
                r.shadow.as_ref().map(|s| s.red),
                r.shadow.as_ref().map(|s| s.orange),
                r.shadow.as_ref().and_then(|s| s.listed_overlap),
            ],
        )
        .map_err(db)?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO run_drift (run_id, against, entity_type, subject, psi, note)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db)?;
            for d in drift {
                stmt.execute(params![r.run_id, d.against.code(), d.entity_type.code(), d.subject, d.psi, d.note])
                    .map_err(db)?;
            }
        }
        {
            let mut stmt =
                tx.prepare("INSERT INTO run_regions (run_id, region_code, name) VALUES (?1, ?2, ?3)").map_err(db)?;
            for (code, name) in names {
                stmt.execute(params![r.run_id, code.to_string(), name]).map_err(db)?;
            }
        }
        alerts::insert(&tx, &r.run_id, r.as_of, r.created_at, raised).map_err(db)?;
        alerts::enqueue(&tx, &r.run_id, r.created_at, raised, webhooks).map_err(db)?;
        tx.commit().map_err(db)
    }

    /// The PSI of every feature and of the score of a run, against the training panel then the previous
    /// run, the largest first within each (undefined ones last).
    pub fn run_drift(&self, run_id: &str) -> Result<Vec<DriftRow>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT against, entity_type, subject, psi, note FROM run_drift WHERE run_id = ?1
                 ORDER BY against DESC, psi IS NULL, psi DESC, entity_type, subject",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([run_id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<f64>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (against, entity_type, subject, psi, note) = row.map_err(|e| self.db_err(e))?;
            let corrupt = |what: &str| StateError::Corrupt { what: format!("drift of run {run_id}: {what}") };
            out.push(DriftRow {
                against: match against.as_str() {
                    "training" => DriftAgainst::Training,
                    "previous" => DriftAgainst::Previous,
                    _ => return Err(corrupt("against")),
                },
                entity_type: EntityType::parse(&entity_type).ok_or_else(|| corrupt("entity_type"))?,
                subject,
                psi,
                note,
            });
        }
        Ok(out)
    }

    /// Records what came of a run's list, replacing an earlier judgement, in one transaction.
    pub fn put_outcome(&mut self, o: &RunOutcome) -> Result<(), StateError> {
        let path = self.dir.join(DB_FILE);
        let db = |source| StateError::Db { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(db)?;
        for table in ["run_outcomes", "run_calibration", "run_judged"] {
            tx.execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), [&o.run_id]).map_err(db)?;
        }
        tx.execute(
            "INSERT INTO run_judged (run_id, judged_at, data_fingerprint, horizon_days) VALUES (?1, ?2, ?3, ?4)",
            params![o.run_id, o.judged_at.to_string(), o.data_fingerprint, o.horizon_days],
        )
        .map_err(db)?;
        for (t, list) in &o.lists {
            for b in &list.bands {
                tx.execute(
                    "INSERT INTO run_outcomes (run_id, entity_type, band, entities, events, mean_probability)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![o.run_id, t.code(), b.band.code(), b.entities, b.events, b.mean_probability],
                )
                .map_err(db)?;
            }
            for (i, bin) in list.calibration.iter().enumerate() {
                tx.execute(
                    "INSERT INTO run_calibration (run_id, entity_type, bin, entities, mean_probability, observed_rate)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![o.run_id, t.code(), i, bin.entities, bin.mean_probability, bin.observed_rate],
                )
                .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    /// The data fingerprint a run's list was last judged on, if it was.
    pub fn judged_with(&self, run_id: &str) -> Result<Option<String>, StateError> {
        self.conn
            .query_row("SELECT data_fingerprint FROM run_judged WHERE run_id = ?1", [run_id], |r| r.get(0))
            .optional()
            .map_err(|e| self.db_err(e))
    }

    /// What came of every judged run's list, the newest run first.
    pub fn outcomes(&self) -> Result<Vec<RunOutcome>, StateError> {
        self.judged_outcomes(
            "SELECT j.run_id, j.judged_at, j.data_fingerprint, j.horizon_days FROM run_judged j
             JOIN runs r USING (run_id) ORDER BY r.as_of DESC, r.created_at DESC",
            [],
        )
    }

    /// What came of one run's list, if it was judged.
    pub fn outcome(&self, run_id: &str) -> Result<Option<RunOutcome>, StateError> {
        let sql = "SELECT run_id, judged_at, data_fingerprint, horizon_days FROM run_judged WHERE run_id = ?1";
        Ok(self.judged_outcomes(sql, [run_id])?.pop())
    }

    /// The judged runs `sql` selects (run id, time, fingerprint, horizon), each with its lists.
    fn judged_outcomes<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<RunOutcome>, StateError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.db_err(e))?;
        let heads = stmt
            .query_map(p, |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i32>(3)?))
            })
            .map_err(|e| self.db_err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.db_err(e))?;
        heads
            .into_iter()
            .map(|(run_id, judged_at, data_fingerprint, horizon_days)| {
                let corrupt = |what: &str| StateError::Corrupt { what: format!("outcome of run {run_id}: {what}") };
                let judged_at = Timestamp::parse(&judged_at).ok_or_else(|| corrupt("judged_at"))?;
                let lists = self.outcome_lists(&run_id)?;
                Ok(RunOutcome { run_id, judged_at, data_fingerprint, horizon_days, lists })
            })
            .collect()
    }

    /// The judged lists of a run, per entity type.
    fn outcome_lists(&self, run_id: &str) -> Result<Vec<(EntityType, ListOutcome)>, StateError> {
        let corrupt = |what: &str| StateError::Corrupt { what: format!("outcome of run {run_id}: {what}") };
        let mut lists: Vec<(EntityType, ListOutcome)> =
            EntityType::ALL.iter().map(|t| (*t, ListOutcome { bands: Vec::new(), calibration: Vec::new() })).collect();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT entity_type, band, entities, events, mean_probability FROM run_outcomes WHERE run_id = ?1
                 ORDER BY entity_type, CASE band WHEN 'red' THEN 0 WHEN 'orange' THEN 1 WHEN 'yellow' THEN 2 ELSE 3 END",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(|e| self.db_err(e))?;
        for row in rows {
            let (t, band, entities, events, mean_probability): (String, String, usize, usize, f64) =
                row.map_err(|e| self.db_err(e))?;
            let t = EntityType::parse(&t).ok_or_else(|| corrupt("entity_type"))?;
            let band = Band::parse(&band).ok_or_else(|| corrupt("band"))?;
            lists[t as usize].1.bands.push(BandOutcome { band, entities, events, mean_probability });
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT entity_type, entities, mean_probability, observed_rate FROM run_calibration
                 WHERE run_id = ?1 ORDER BY entity_type, bin",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([run_id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(|e| self.db_err(e))?;
        for row in rows {
            let (t, entities, mean_probability, observed_rate): (String, usize, f64, f64) =
                row.map_err(|e| self.db_err(e))?;
            let t = EntityType::parse(&t).ok_or_else(|| corrupt("entity_type"))?;
            lists[t as usize].1.calibration.push(ReliabilityBin { entities, mean_probability, observed_rate });
        }
        Ok(lists)
    }

    pub fn runs(&self) -> Result<Vec<RunRecord>, StateError> {
        self.query_runs("SELECT * FROM runs ORDER BY created_at DESC, rowid DESC", [])
    }

    /// One run.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRecord>, StateError> {
        Ok(self.query_runs("SELECT * FROM runs WHERE run_id = ?1", [run_id])?.into_iter().next())
    }

    /// The newest published run.
    pub fn latest_published(&self) -> Result<Option<RunRecord>, StateError> {
        Ok(self.published()?.into_iter().next())
    }

    /// Published runs, newest first.
    pub fn published(&self) -> Result<Vec<RunRecord>, StateError> {
        self.query_runs("SELECT * FROM runs WHERE status = 'published' ORDER BY created_at DESC, rowid DESC", [])
    }

    fn query_runs<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<RunRecord>, StateError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map(p, |row| {
                Ok((
                    row.get::<_, String>("run_id")?,
                    row.get::<_, String>("as_of")?,
                    row.get::<_, String>("model_id")?,
                    row.get::<_, String>("data_fingerprint")?,
                    row.get::<_, String>("created_at")?,
                    row.get::<_, String>("status")?,
                    row.get::<_, String>("trigger")?,
                    row.get::<_, Option<String>>("previous_run_id")?,
                    RunCounts {
                        employers: row.get("employers")?,
                        projects: row.get("projects")?,
                        red: row.get("red")?,
                        orange: row.get("orange")?,
                        yellow: row.get("yellow")?,
                        green: row.get("green")?,
                        new_on_list: row.get("new_on_list")?,
                    },
                    row.get::<_, f64>("seconds")?,
                    row.get::<_, Option<String>>("error")?,
                    (
                        row.get::<_, Option<f64>>("drift_threshold")?,
                        row.get::<_, Option<f64>>("drift_training")?,
                        row.get::<_, Option<f64>>("drift_previous")?,
                    ),
                    (
                        row.get::<_, Option<String>>("shadow_model_id")?,
                        row.get::<_, Option<u32>>("shadow_red")?,
                        row.get::<_, Option<u32>>("shadow_orange")?,
                        row.get::<_, Option<f64>>("shadow_listed_overlap")?,
                    ),
                ))
            })
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (
                run_id,
                as_of,
                model_id,
                data_fingerprint,
                created_at,
                status,
                trigger,
                previous_run_id,
                counts,
                seconds,
                error,
                (drift_threshold, drift_training, drift_previous),
                (shadow_id, shadow_red, shadow_orange, shadow_overlap),
            ) = row.map_err(|e| self.db_err(e))?;
            let corrupt = |what: &str| StateError::Corrupt { what: format!("run {run_id}: {what}") };
            out.push(RunRecord {
                as_of: Date::parse(&as_of).ok_or_else(|| corrupt("as_of"))?,
                created_at: Timestamp::parse(&created_at).ok_or_else(|| corrupt("created_at"))?,
                status: match status.as_str() {
                    "published" => RunStatus::Published,
                    "failed" => RunStatus::Failed,
                    _ => return Err(corrupt("status")),
                },
                run_id,
                model_id,
                data_fingerprint,
                trigger,
                previous_run_id,
                counts,
                seconds,
                error,
                drift: drift_threshold.map(|threshold| RunDrift {
                    threshold,
                    training: drift_training,
                    previous: drift_previous,
                }),
                shadow: shadow_id.map(|model_id| Shadow {
                    model_id,
                    red: shadow_red.unwrap_or(0),
                    orange: shadow_orange.unwrap_or(0),
                    listed_overlap: shadow_overlap,
                }),
            });
        }
        Ok(out)
    }

    /// Removes from the registry all but the newest `keep` published runs (failed attempts older than the
    /// oldest kept run go too) and returns the ids whose folders the caller deletes.
    pub fn expire_runs(&mut self, keep: usize) -> Result<Vec<String>, StateError> {
        let published = self.published()?;
        let Some(oldest_kept) = published.get(keep.max(1) - 1).map(|r| r.created_at) else {
            return Ok(Vec::new());
        };
        let expired: Vec<String> = published.iter().skip(keep.max(1)).map(|r| r.run_id.clone()).collect();
        let path = self.dir.join(DB_FILE);
        let db = |source| StateError::Db { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(db)?;
        for id in &expired {
            tx.execute("DELETE FROM runs WHERE run_id = ?1", [id]).map_err(db)?;
        }
        tx.execute("DELETE FROM runs WHERE status = 'failed' AND created_at < ?1", [oldest_kept.to_string()])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(expired)
    }

    // ---- jobs ----

    /// Records a new job.
    pub fn insert_job(&mut self, j: &JobRecord) -> Result<(), StateError> {
        self.conn
            .execute(
                "INSERT INTO jobs (job_id, requested_by, as_of, model_id, created_at, finished_at, status, run_id, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    j.job_id,
                    j.requested_by,
                    j.as_of.map(|d| d.to_string()),
                    j.model_id,
                    j.created_at.to_string(),
                    j.finished_at.map(|t| t.to_string()),
                    j.status.code(),
                    j.run_id,
                    j.error
                ],
            )
            .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// Moves a job to a new status.
    pub fn update_job(
        &mut self,
        job_id: &str,
        status: JobStatus,
        run_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StateError> {
        let finished = matches!(status, JobStatus::Succeeded | JobStatus::Failed).then(|| Timestamp::now().to_string());
        self.conn
            .execute(
                "UPDATE jobs SET status = ?2, run_id = ?3, error = ?4, finished_at = ?5 WHERE job_id = ?1",
                params![job_id, status.code(), run_id, error, finished],
            )
            .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// One job.
    pub fn job(&self, job_id: &str) -> Result<Option<JobRecord>, StateError> {
        let row = self
            .conn
            .query_row("SELECT * FROM jobs WHERE job_id = ?1", [job_id], |row| {
                Ok((
                    row.get::<_, String>("job_id")?,
                    row.get::<_, String>("requested_by")?,
                    row.get::<_, Option<String>>("as_of")?,
                    row.get::<_, Option<String>>("model_id")?,
                    row.get::<_, String>("created_at")?,
                    row.get::<_, Option<String>>("finished_at")?,
                    row.get::<_, String>("status")?,
                    row.get::<_, Option<String>>("run_id")?,
                    row.get::<_, Option<String>>("error")?,
                ))
            })
            .optional()
            .map_err(|e| self.db_err(e))?;
        let Some((job_id, requested_by, as_of, model_id, created_at, finished_at, status, run_id, error)) = row else {
            return Ok(None);
        };
        let corrupt = |what: &str| StateError::Corrupt { what: format!("job {job_id}: {what}") };
        Ok(Some(JobRecord {
            as_of: as_of.map(|d| Date::parse(&d).ok_or_else(|| corrupt("as_of"))).transpose()?,
            created_at: Timestamp::parse(&created_at).ok_or_else(|| corrupt("created_at"))?,
            finished_at: finished_at.map(|t| Timestamp::parse(&t).ok_or_else(|| corrupt("finished_at"))).transpose()?,
            status: JobStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
            job_id,
            requested_by,
            model_id,
            run_id,
            error,
        }))
    }

    /// Marks jobs left queued or running by a stopped server as failed.
    pub fn fail_abandoned_jobs(&mut self) -> Result<usize, StateError> {
        self.conn
            .execute(
                "UPDATE jobs SET status = 'failed', error = 'the server stopped before the job finished',
                 finished_at = ?1 WHERE status IN ('queued', 'running')",
                [Timestamp::now().to_string()],
            )
            .map_err(|e| self.db_err(e))
    }

    /// The division names a run was scored with (the data's `regions` table), by code.
    pub fn run_regions(
        &self,
        run_id: &str,
    ) -> Result<Vec<(wagewatch_core::contract::RegionPrefix, String)>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT region_code, name FROM run_regions WHERE run_id = ?1 ORDER BY region_code")
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([run_id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (code, name) = row.map_err(|e| self.db_err(e))?;
            let prefix = wagewatch_core::contract::RegionPrefix::parse_division(&code)
                .ok_or_else(|| StateError::Corrupt { what: format!("run {run_id}: region code {code:?}") })?;
            out.push((prefix, name));
        }
        Ok(out)
    }

    // ---- inspections ----

    /// Stores an inspection outcome; its id must be new.
    pub fn record_inspection(&mut self, i: &RecordedInspection) -> Result<(), StateError> {
        let result = self.conn.execute(
            "INSERT INTO inspections (inspection_id, employer_id, project_id, inspected_on, found_arrears,
             arrears_amount_fen, workers_affected, recorded_at, recorded_by, selection, plan_week)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                i.inspection_id,
                i.employer_id,
                i.project_id,
                i.inspected_on.to_string(),
                i.found_arrears,
                i.arrears_amount.map(|m| m.fen()),
                i.workers_affected,
                i.recorded_at.to_string(),
                i.recorded_by,
                i.selection.map(Selection::code),
                i.plan_week.map(|d| d.to_string()),
            ],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                Err(StateError::DuplicateInspection { inspection_id: i.inspection_id.clone() })
            }
            Err(e) => Err(self.db_err(e)),
        }
    }

    /// Every recorded inspection, oldest first.
    pub fn recorded_inspections(&self) -> Result<Vec<RecordedInspection>, StateError> {
        self.inspections_where("TRUE", [])
    }

    /// The inspections recorded against the plan of the week starting `week`, oldest first.
    pub fn plan_inspections(&self, week: Date) -> Result<Vec<RecordedInspection>, StateError> {
        self.inspections_where("plan_week = ?1", [week.to_string()])
    }

    /// The recorded inspections matching the SQL condition `filter`, oldest first.
    fn inspections_where<P: rusqlite::Params>(
        &self,
        filter: &str,
        params: P,
    ) -> Result<Vec<RecordedInspection>, StateError> {
        let sql = format!("SELECT * FROM inspections WHERE {filter} ORDER BY rowid");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map(params, |row| {
                Ok((
                    row.get::<_, String>("inspection_id")?,
                    row.get::<_, String>("employer_id")?,
                    row.get::<_, Option<String>>("project_id")?,
                    row.get::<_, String>("inspected_on")?,
                    row.get::<_, bool>("found_arrears")?,
                    row.get::<_, Option<i64>>("arrears_amount_fen")?,
                    row.get::<_, Option<u32>>("workers_affected")?,
                    row.get::<_, String>("recorded_at")?,
                    row.get::<_, String>("recorded_by")?,
                    row.get::<_, Option<String>>("selection")?,
                    row.get::<_, Option<String>>("plan_week")?,
                ))
            })
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (inspection_id, employer_id, project_id, on, found, fen, workers, at, by, selection, week) =
                row.map_err(|e| self.db_err(e))?;
            let corrupt = |what: &str| StateError::Corrupt { what: format!("inspection {inspection_id}: {what}") };
            let selection = match selection {
                Some(code) => Some(Selection::parse(&code).ok_or_else(|| corrupt("selection"))?),
                None => None,
            };
            let plan_week = match week {
                Some(w) => Some(Date::parse(&w).ok_or_else(|| corrupt("plan_week"))?),
                None => None,
            };
            out.push(RecordedInspection {
                selection,
                plan_week,
                inspected_on: Date::parse(&on).ok_or_else(|| corrupt("inspected_on"))?,
                recorded_at: Timestamp::parse(&at).ok_or_else(|| corrupt("recorded_at"))?,
                arrears_amount: fen.map(Money::from_fen),
                inspection_id,
                employer_id,
                project_id,
                found_arrears: found,
                workers_affected: workers,
                recorded_by: by,
            });
        }
        Ok(out)
    }
}

/// A random identifier: `prefix` and 16 hex digits from the operating system's generator.
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random generator");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_as_rfc3339() {
        let t = Timestamp(1_795_689_456);
        assert_eq!(t.to_string(), "2026-11-26T10:37:36Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        assert_eq!(Timestamp::parse("2026-11-26 09:17:36"), None);
        assert_eq!(t.date().to_string(), "2026-11-26");
    }
}
