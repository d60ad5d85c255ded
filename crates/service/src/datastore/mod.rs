//! The validated store: ingest once, score many.
//!
//! `wagewatch ingest --data DIR` reads a dataset folder, applies every contract check and the
//! pseudonymisation once, and keeps what scoring needs in a store folder:
//!
//! ```text
//! <store>/manifest.db                         SQLite: format version, what was ingested, generations, parts
//! <store>/ingest.lock                         held by the one ingest that may write
//! <store>/data/payroll/<YYYY-MM>/g<N>.parquet compact payroll of one wage month from ingest N
//! <store>/data/payments/<YYYY-MM>/g<N>.parquet
//! <store>/data/snapshot/g<N>/...              checked copies of the small tables as ingest N found them
//! ```
//!
//! An ingest reads only what is new: files it has seen (same path, same size and time, or the same content
//! hash) are skipped; new files of a partitioned fact table (`payroll/2026-12.parquet`) are read alone, their
//! payroll keys checked against the parts of the months they fall in; a fact file that changed or went
//! away makes that table be read again whole. The small tables (employers, projects, complaints, progress
//! payments, inspections) are read again whenever any of them changed: that is how late complaint outcomes
//! arrive. Each ingest writes new files only and then commits one transaction; a killed or refused ingest
//! leaves the store as it was (files it wrote without committing are removed by the next ingest). Files a
//! later ingest superseded are deleted one ingest later, so a reader that listed them still finds them.

mod manifest;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use wagewatch_core::contract::{Date, Table};
use wagewatch_core::features::PAYROLL_LOOKBACK_DAYS;
use wagewatch_core::ingest::compact::{self, CompactError, Part};
use wagewatch_core::ingest::tables::IdSet;
use wagewatch_core::ingest::{
    self, Dataset, IngestError, IngestOptions, Ingested, Mode, MonthParts, PriorParts, Pseudonymizer, Session, Sources,
    TableReport, TableSource,
};
use wagewatch_core::worker_months::WorkerMonths;

use manifest::Listing;
pub use manifest::{Generation, Manifest, FORMAT_VERSION, MANIFEST_FILE};

use crate::state::Timestamp;

/// The lock file the one writing ingest holds.
pub const LOCK_FILE: &str = "ingest.lock";
/// The environment variable naming a failpoint (shared with re-scores).
const FAILPOINT_ENV: &str = crate::runs::FAILPOINT_ENV;

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DataStoreError {
    #[error("cannot use the store folder {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("store manifest {path}: {source}")]
    Db { path: PathBuf, source: rusqlite::Error },
    #[error("store {path} was written in store format {found}; this wagewatch reads format {known}: re-ingest the data into a new store")]
    Version { path: PathBuf, found: i64, known: i64 },
    #[error("{path} holds files but no wagewatch store ({MANIFEST_FILE}); name an empty or new folder for a store")]
    NotEmpty { path: PathBuf },
    #[error("store manifest {path} is damaged: {what}")]
    Corrupt { path: PathBuf, what: String },
    #[error("{path} is not a wagewatch store (no {MANIFEST_FILE})")]
    NotAStore { path: PathBuf },
    #[error("store {path} holds no data yet; run `wagewatch ingest --data DIR --store {path}` first", path = .path.display())]
    Empty { path: PathBuf },
    #[error("another ingest is writing the store {path}; try again when it has finished")]
    Busy { path: PathBuf },
    #[error("store {path} was ingested with another pseudonymisation key; use that key (or a new store)")]
    KeyMismatch { path: PathBuf },
    #[error("{file}: {table} no longer holds {kind} {id}, which payroll the store holds names; keep it registered or re-ingest payroll that does not name it")]
    RegistryDropsId { table: Table, file: PathBuf, kind: &'static str, id: String },
    #[error("as of {as_of} lies outside the store's data, whose payroll falls due from {first} to {last} (a re-score may be as of up to {} days after the last)", crate::runs::AS_OF_AFTER_DATA_DAYS)]
    AsOfOutsideData { as_of: Date, first: Date, last: Date },
    #[error("the store {path} changed while it was being read (an ingest deleted a file); read it again")]
    ChangedWhileReading { path: PathBuf },
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Compact(#[from] CompactError),
}

impl DataStoreError {
    /// The message without any cell value of the data (row problems give their place and kind only).
    pub fn redacted(&self) -> String {
        match self {
            DataStoreError::Ingest(e) => e.redacted(),
            DataStoreError::Compact(e) => e.redacted(),
            DataStoreError::RegistryDropsId { table, file, kind, .. } => {
                format!("{}: {table} no longer holds a {kind} that stored payroll names", file.display())
            }
            other => other.to_string(),
        }
    }
}

/// What one ingest did with one table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TablePlan {
    /// Nothing new: the store's rows stand.
    Unchanged,
    /// New files only, read alone and added.
    Append,
    /// Read again whole (a file changed or went away, or a small table changed).
    Replace,
}

/// What an ingest did.
#[derive(Debug)]
pub enum IngestOutcome {
    /// Every file was already in the store.
    NothingNew { generation: Option<Generation> },
    /// A new generation was committed.
    Ingested { generation: Generation, plans: Vec<(Table, TablePlan)>, tables: Vec<TableReport> },
}

/// A store of validated data.
pub struct DataStore {
    dir: PathBuf,
    manifest: Manifest,
}

/// A file of the dataset folder, as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub table: Table,
    /// The path relative to the dataset folder.
    pub path: String,
    pub size: u64,
    pub mtime_ns: i64,
    /// BLAKE3 of the content, hex; computed only when size or time differ from what was recorded.
    pub hash: Option<String>,
}

impl DataStore {
    /// Whether `dir` is a store (rather than a dataset folder).
    pub fn is_store(dir: &Path) -> bool {
        dir.join(MANIFEST_FILE).is_file()
    }

    /// Opens the store in `dir`, creating it when the folder holds none.
    pub fn create_or_open(dir: &Path) -> Result<DataStore, DataStoreError> {
        let holds_other_files = !Self::is_store(dir) && fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
        if holds_other_files {
            return Err(DataStoreError::NotEmpty { path: dir.to_path_buf() });
        }
        crate::state::create_private_dir(dir)
            .map_err(|source| DataStoreError::Io { path: dir.to_path_buf(), source })?;
        Ok(DataStore { dir: dir.to_path_buf(), manifest: Manifest::open(dir, true)? })
    }

    /// Opens an existing store for reading.
    pub fn open(dir: &Path) -> Result<DataStore, DataStoreError> {
        if !Self::is_store(dir) {
            return Err(DataStoreError::NotAStore { path: dir.to_path_buf() });
        }
        Ok(DataStore { dir: dir.to_path_buf(), manifest: Manifest::open(dir, false)? })
    }

    /// The store folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The newest committed generation, if any.
    pub fn generation(&self) -> Result<Option<Generation>, DataStoreError> {
        self.manifest.current_generation()
    }

    /// Reads the whole validated dataset back, with the generation it is.
    pub fn load(&self, key: &Pseudonymizer) -> Result<(Dataset, Generation), DataStoreError> {
        self.load_for(key, None)
    }

    /// Reads back what scoring as of `as_of` needs (everything when `None`): the small tables whole,
    /// and the payroll parts holding rows due in the [`PAYROLL_LOOKBACK_DAYS`] before the date with the
    /// payments of their wage months. Features, the scored population and a run's files computed from it
    /// equal those from the whole store. A date outside the store's data is refused.
    pub fn load_for(&self, key: &Pseudonymizer, as_of: Option<Date>) -> Result<(Dataset, Generation), DataStoreError> {
        let (listing, generation, sources) = self.parts_for(key, as_of)?;
        let payroll: Vec<PathBuf> = listing.payroll_parts.iter().map(|(_, p, ..)| self.dir.join(p)).collect();
        let payments: Vec<PathBuf> = listing.payments_parts.iter().map(|(_, p)| self.dir.join(p)).collect();
        let ds = ingest::load_compact(&sources, &payroll, &payments, key).map_err(|e| self.vanished(e))?;
        Ok((ds, generation))
    }

    /// What [`Self::load_for`] reads for one date, to be gathered a wage month at a time: the small tables
    /// now, and each wage month's payroll and payments with their worker-month index when
    /// [`ScoringData::each_part`] is called ([`ingest::stream_compact_months`]), so that no more than two
    /// months' fact rows are ever in memory.
    pub fn open_for_scoring(self, key: &Pseudonymizer, as_of: Date) -> Result<ScoringData, DataStoreError> {
        let (listing, generation, sources) = self.parts_for(key, Some(as_of))?;
        let mut months: Vec<MonthParts> = Vec::new();
        for (m, path, ..) in &listing.payroll_parts {
            if months.last().is_none_or(|last| last.month != *m) {
                months.push(MonthParts { month: *m, payroll: Vec::new(), payments: Vec::new() });
            }
            months.last_mut().expect("pushed above").payroll.push(self.dir.join(path));
        }
        for (m, path) in &listing.payments_parts {
            if let Some(month) = months.iter_mut().find(|p| p.month == *m) {
                month.payments.push(self.dir.join(path));
            }
        }
        let ds = ingest::load_small_of_store(&sources, key).map_err(|e| self.vanished(e))?;
        Ok(ScoringData::Store { ds, months, store: self, generation })
    }

    /// The parts a read as of `as_of` needs (every part when `None`), the generation they are and the
    /// store's copies of the small tables.
    fn parts_for(
        &self,
        key: &Pseudonymizer,
        as_of: Option<Date>,
    ) -> Result<(Listing, Generation, Sources), DataStoreError> {
        self.check_key(key, false)?;
        let mut listing = self.manifest.listing()?;
        if let Some(t) = as_of {
            let first = listing.payroll_parts.iter().map(|p| p.2).min();
            let last = listing.payroll_parts.iter().map(|p| p.3).max();
            if let (Some(first), Some(last)) = (first.map(Date::from_days), last.map(Date::from_days)) {
                if t < first || t > last.add_days(crate::runs::AS_OF_AFTER_DATA_DAYS) {
                    return Err(DataStoreError::AsOfOutsideData { as_of: t, first, last });
                }
            }
            let from = t.add_days(-PAYROLL_LOOKBACK_DAYS).days();
            listing.payroll_parts.retain(|&(_, _, first, last)| last > from && first <= t.days());
            let months: BTreeSet<_> = listing.payroll_parts.iter().map(|(m, ..)| *m).collect();
            listing.payments_parts.retain(|(m, _)| months.contains(m));
        }
        let Some(generation) = listing.generation.clone() else {
            return Err(DataStoreError::Empty { path: self.dir.clone() });
        };
        let snapshot = self.dir.join(&listing.snapshot);
        let mut sources = Sources::locate_present(&snapshot).map_err(|e| self.vanished(e))?;
        sources.trust_all();
        Ok((listing, generation, sources))
    }

    /// A file missing mid-read means an ingest two generations later deleted it.
    fn vanished(&self, e: IngestError) -> DataStoreError {
        let missing = match &e {
            IngestError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            IngestError::NotAFolder { .. } => true,
            IngestError::Store(CompactError::Read { path, .. }) => !path.exists(),
            _ => false,
        };
        if missing {
            DataStoreError::ChangedWhileReading { path: self.dir.clone() }
        } else {
            DataStoreError::Ingest(e)
        }
    }

    /// The key check: the pseudonym of a fixed text, recorded at the first ingest.
    fn check_key(&self, key: &Pseudonymizer, first_ingest_may_record: bool) -> Result<(), DataStoreError> {
        let check = key_check(key);
        match self.manifest.key_check()? {
            Some(recorded) if recorded != check => Err(DataStoreError::KeyMismatch { path: self.dir.clone() }),
            None if !first_ingest_may_record && self.manifest.current_generation()?.is_some() => {
                Err(DataStoreError::KeyMismatch { path: self.dir.clone() })
            }
            _ => Ok(()),
        }
    }

    /// Takes the ingest lock, or says another ingest holds it.
    fn lock(&self) -> Result<fs::File, DataStoreError> {
        let path = self.dir.join(LOCK_FILE);
        let io = |source| DataStoreError::Io { path: path.clone(), source };
        let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => Err(DataStoreError::Busy { path: self.dir.clone() }),
            Err(fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// Ingests what is new in the dataset folder `data` (see the module documentation).
    pub fn ingest(
        &mut self,
        data: &Path,
        key: &Pseudonymizer,
        options: &IngestOptions,
        now: Timestamp,
    ) -> Result<IngestOutcome, DataStoreError> {
        let _lock = self.lock()?;
        self.check_key(key, true)?;
        self.remove_uncommitted()?;
        let found = Sources::locate(data)?;
        let known = self.manifest.source_files()?;
        let files = fingerprint_files(data, &found, &known)?;
        let plans = plan(&files, &known);
        if plans.iter().all(|(_, p)| *p == TablePlan::Unchanged) {
            return Ok(IngestOutcome::NothingNew { generation: self.manifest.current_generation()? });
        }
        let listing = self.manifest.listing()?;
        let generation = listing.generation.as_ref().map_or(1, |g| g.number + 1);
        let tag = format!("g{generation:06}");
        let plan_of = |t: Table| plans.iter().find(|(p, _)| *p == t).map_or(TablePlan::Unchanged, |(_, p)| *p);
        let small_replaced = plan_of(Table::Employers) == TablePlan::Replace;
        let attempt = (|| -> Result<(Option<String>, Written), DataStoreError> {
            // The small tables are copied first and the copies checked, so the store keeps what was checked
            // even if an exporter rewrites a file meanwhile.
            let snapshot = if small_replaced { Some(self.copy_small_tables(data, &found, &tag)?) } else { None };
            let (sources, prior) =
                self.sources_to_read(&found, &files, &known, &listing, snapshot.as_deref(), &plan_of)?;
            let check_required = (small_replaced && plan_of(Table::Payroll) != TablePlan::Replace).then_some(&found);
            let written = self.read_and_write(&sources, prior, key, options, &tag, check_required)?;
            Ok((snapshot, written))
        })();
        let (snapshot, Written { ingested, parts, required }) = match attempt {
            Ok(w) => w,
            Err(e) => {
                self.remove_uncommitted()?;
                return Err(e);
            }
        };
        let mut new_files: Vec<PathBuf> = parts.iter().map(|p| p.path.clone()).collect();
        new_files.extend(snapshot.iter().map(|s| self.dir.join(s)));
        sync_new(&self.dir, &new_files).map_err(|source| DataStoreError::Io { path: self.dir.clone(), source })?;
        if std::env::var(FAILPOINT_ENV).as_deref() == Ok("ingest-before-commit") {
            tracing::warn!("failpoint: pausing before the ingest commits");
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
        let commit = manifest::Commit {
            generation,
            data: data.display().to_string(),
            at: now,
            key_check: key_check(key),
            plans: &plans,
            files: &files,
            parts: &parts,
            snapshot: snapshot.as_deref(),
            required,
            problems: problems_of(&ingested),
            dir: &self.dir,
        };
        let committed = self.manifest.commit(&commit)?;
        self.delete_superseded(generation)?;
        Ok(IngestOutcome::Ingested { generation: committed, plans, tables: ingested.tables })
    }

    /// Reads the small tables, then each fact file on its own, writing its compact parts before the next
    /// file is read (memory holds one file's rows); payroll keys are checked against the parts the store
    /// holds and those written so far. Returns the report, the parts and the ids the payroll read names.
    fn read_and_write(
        &self,
        sources: &Sources,
        mut prior: PriorParts,
        key: &Pseudonymizer,
        options: &IngestOptions,
        tag: &str,
        check_required: Option<&Sources>,
    ) -> Result<Written, DataStoreError> {
        let data_dir = self.dir.join("data");
        let mut session = Session::start(sources, key, options)?;
        if let Some(found) = check_required {
            self.check_required_ids(session.registries(), found)?;
        }
        session.split().1.read_small(sources)?;
        let one_file = |src: &TableSource, file: &PathBuf| TableSource {
            table: src.table,
            format: src.format,
            files: vec![file.clone()],
        };
        let (mut payroll_reader, mut rest) = session.split();
        // Payroll and payments files on two threads, each file read, checked and written before the next.
        let (payroll, payments) = std::thread::scope(|scope| {
            let payroll = scope.spawn(|| -> Result<_, DataStoreError> {
                let mut parts: Vec<Part> = Vec::new();
                let mut required = RequiredIds::default();
                let Some(src) = sources.get(Table::Payroll) else { return Ok((parts, required)) };
                for (n, file) in src.files.iter().enumerate() {
                    let t = payroll_reader.read_more(&one_file(src, file), &prior)?;
                    let (employer_ids, project_ids) = payroll_reader.ids();
                    let tag = format!("{tag}-{n:05}");
                    let written = compact::write_payroll(&data_dir, &tag, &t, employer_ids, project_ids)?;
                    for part in &written {
                        prior.entry(part.month).or_default().push(part.path.clone());
                    }
                    required.add(&t, employer_ids, project_ids);
                    parts.extend(written);
                }
                Ok((parts, required))
            });
            let payments = (|| -> Result<Vec<Part>, DataStoreError> {
                let mut parts: Vec<Part> = Vec::new();
                let Some(src) = sources.get(Table::Payments) else { return Ok(parts) };
                for (n, file) in src.files.iter().enumerate() {
                    let t = rest.read_payments(&one_file(src, file))?;
                    let (employer_ids, project_ids) = rest.ids();
                    parts.extend(compact::write_payments(
                        &data_dir,
                        &format!("{tag}-{n:05}"),
                        &t,
                        employer_ids,
                        project_ids,
                    )?);
                }
                Ok(parts)
            })();
            (payroll.join().expect("the payroll reader does not panic"), payments)
        });
        let (mut parts, required) = payroll?;
        parts.extend(payments?);
        let ingested = session.finish(Default::default(), Default::default())?;
        Ok(Written { ingested, parts, required: required.into_list() })
    }

    /// What to read: new or changed files from the dataset, the rest from the store's own copies.
    fn sources_to_read(
        &self,
        found: &Sources,
        files: &[SourceFile],
        known: &[SourceFile],
        listing: &manifest::Listing,
        new_snapshot: Option<&str>,
        plan_of: &dyn Fn(Table) -> TablePlan,
    ) -> Result<(Sources, PriorParts), DataStoreError> {
        let mut sources = Sources::default();
        if let Some(snapshot) = new_snapshot {
            let copies = Sources::locate_present(&self.dir.join(snapshot))?;
            for t in SMALL_TABLES {
                sources.set(t, copies.get(t).cloned());
            }
        } else if listing.generation.is_some() {
            let copies = Sources::locate_present(&self.dir.join(&listing.snapshot))?;
            for t in SMALL_TABLES {
                sources.set(t, copies.get(t).cloned());
            }
            sources.trust_all();
        }
        let mut prior = PriorParts::new();
        for t in [Table::Payroll, Table::Payments] {
            let Some(src) = found.get(t) else { continue };
            let source = match plan_of(t) {
                TablePlan::Unchanged => None,
                TablePlan::Replace => Some(src.clone()),
                TablePlan::Append => {
                    let new: Vec<PathBuf> = src
                        .files
                        .iter()
                        .zip(files.iter().filter(|f| f.table == t))
                        .filter(|(_, f)| !known.iter().any(|k| k.table == t && k.path == f.path))
                        .map(|(p, _)| p.clone())
                        .collect();
                    Some(TableSource { table: t, format: src.format, files: new })
                }
            };
            if t == Table::Payroll && plan_of(t) == TablePlan::Append {
                for (month, path, ..) in &listing.payroll_parts {
                    prior.entry(*month).or_default().push(self.dir.join(path));
                }
            }
            sources.set(t, source);
        }
        Ok((sources, prior))
    }

    /// The employers and projects that stored payroll names must stay registered when the small tables change.
    fn check_required_ids(
        &self,
        (employer_ids, employers, project_ids, projects): (&IdSet, usize, &IdSet, usize),
        found: &Sources,
    ) -> Result<(), DataStoreError> {
        for (kind, id) in self.manifest.required_ids()? {
            let (ids, registered, table) = match kind.as_str() {
                "employer" => (employer_ids, employers, Table::Employers),
                _ => (project_ids, projects, Table::Projects),
            };
            if ids.get(&id).is_none_or(|i| i >= registered) {
                let file = found.get(table).map(|s| s.files[0].clone()).unwrap_or_default();
                let kind = if table == Table::Employers { "employer" } else { "project" };
                return Err(DataStoreError::RegistryDropsId { table, file, kind, id });
            }
        }
        Ok(())
    }

    /// Copies the small tables' files as found into `data/snapshot/<tag>/`, at the same paths relative to
    /// the dataset folder (so the copies are located, and their problems named, as the originals).
    fn copy_small_tables(&self, data: &Path, found: &Sources, tag: &str) -> Result<String, DataStoreError> {
        let rel = format!("data/snapshot/{tag}");
        let to = self.dir.join(&rel);
        for t in SMALL_TABLES {
            let Some(src) = found.get(t) else { continue };
            for file in &src.files {
                let target = to.join(file.strip_prefix(data).unwrap_or(file));
                let io = |source| DataStoreError::Io { path: target.clone(), source };
                fs::create_dir_all(target.parent().expect("a file in a folder")).map_err(io)?;
                fs::copy(file, &target).map_err(io)?;
            }
        }
        Ok(rel)
    }

    /// Removes data files no committed generation lists (written by an ingest that was killed or refused).
    /// Only names the store itself writes are ever removed: anything else under the folder is left alone.
    fn remove_uncommitted(&self) -> Result<(), DataStoreError> {
        let listed = self.manifest.all_files()?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DataStoreError::Io { path, source }
        };
        let mut stack = vec![self.dir.join("data")];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                let rel = path.strip_prefix(&self.dir).unwrap_or(&path).to_string_lossy().to_string();
                if listed.contains(&rel) || !store_written(&rel) {
                    continue; // a listed part or snapshot, or a file the store did not write
                }
                if !path.is_dir() {
                    fs::remove_file(&path).map_err(io(&path))?;
                } else if rel.starts_with("data/snapshot/") {
                    fs::remove_dir_all(&path).map_err(io(&path))?; // an unlisted snapshot is ours whole
                } else {
                    stack.push(path);
                }
            }
            // A month folder left empty goes too.
            if dir.parent().is_some_and(|p| p.ends_with("payroll") || p.ends_with("payments")) {
                let _ = fs::remove_dir(&dir);
            }
        }
        Ok(())
    }

    /// Deletes files superseded before `generation` (those it superseded itself stay one more ingest).
    fn delete_superseded(&mut self, generation: i64) -> Result<(), DataStoreError> {
        for rel in self.manifest.forget_superseded_before(generation)? {
            if !store_written(&rel) {
                continue; // a damaged manifest never makes an ingest delete outside what it wrote
            }
            let path = self.dir.join(&rel);
            let result = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            match result {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(DataStoreError::Io { path, source }),
            }
        }
        Ok(())
    }
}

/// Whether `rel` (relative to the store) is a name the store writes: `data`, `data/payroll`,
/// `data/payments`, a month folder, a part `g<6 digits>-<5 digits>.parquet`, `data/snapshot` or a snapshot
/// folder `g<6 digits>`.
fn store_written(rel: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let month = |s: &str| s.len() == 7 && digits(&s[..4], 4) && &s[4..5] == "-" && digits(&s[5..], 2);
    let part = |s: &str| {
        s.strip_prefix('g')
            .and_then(|s| s.strip_suffix(".parquet"))
            .is_some_and(|s| s.len() == 12 && digits(&s[..6], 6) && &s[6..7] == "-" && digits(&s[7..], 5))
    };
    let segments: Vec<&str> = rel.split('/').collect();
    match segments.as_slice() {
        ["data"] | ["data", "payroll" | "payments" | "snapshot"] => true,
        ["data", "payroll" | "payments", m] => month(m),
        ["data", "payroll" | "payments", m, f] => month(m) && part(f),
        ["data", "snapshot", g] => g.strip_prefix('g').is_some_and(|d| digits(d, 6)),
        _ => false,
    }
}

/// The tables read again whole whenever any of them changes.
const SMALL_TABLES: [Table; 6] =
    [Table::Employers, Table::Projects, Table::Complaints, Table::ProgressPayments, Table::Inspections, Table::Regions];

/// The check value of a key: the pseudonym of a fixed text (reveals nothing about the key).
fn key_check(key: &Pseudonymizer) -> String {
    key.pseudonym("wagewatch store key check").to_string()
}

/// Every file of every table found, with size, time and (when these differ from the record) content hash.
fn fingerprint_files(data: &Path, found: &Sources, known: &[SourceFile]) -> Result<Vec<SourceFile>, DataStoreError> {
    let mut out = Vec::new();
    for table in Table::ALL {
        let Some(src) = found.get(table) else { continue };
        for file in &src.files {
            let io = |source| DataStoreError::Io { path: file.clone(), source };
            let meta = fs::metadata(file).map_err(io)?;
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i64);
            let path = file.strip_prefix(data).unwrap_or(file).to_string_lossy().to_string();
            let record = known.iter().find(|k| k.table == table && k.path == path);
            let same_stat = record.is_some_and(|k| k.size == meta.len() && k.mtime_ns == mtime_ns);
            let hash = if same_stat { record.and_then(|k| k.hash.clone()) } else { Some(hash_file(file).map_err(io)?) };
            out.push(SourceFile { table, path, size: meta.len(), mtime_ns, hash });
        }
    }
    Ok(out)
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut h = blake3::Hasher::new();
    let mut f = fs::File::open(path)?;
    std::io::copy(&mut f, &mut h)?;
    Ok(h.finalize().to_hex().to_string())
}

/// Decides per table: unchanged, new files added alone, or read again whole.
fn plan(files: &[SourceFile], known: &[SourceFile]) -> Vec<(Table, TablePlan)> {
    let status = |t: Table| {
        let mine: Vec<&SourceFile> = files.iter().filter(|f| f.table == t).collect();
        let before: Vec<&SourceFile> = known.iter().filter(|k| k.table == t).collect();
        let changed = before.iter().any(|k| !mine.iter().any(|f| f.path == k.path && f.hash == k.hash));
        let added = mine.iter().any(|f| !before.iter().any(|k| k.path == f.path));
        (changed, added)
    };
    let small_changed = SMALL_TABLES.iter().any(|&t| {
        let (changed, added) = status(t);
        changed || added
    });
    Table::ALL
        .iter()
        .map(|&t| {
            let p = if SMALL_TABLES.contains(&t) {
                if small_changed {
                    TablePlan::Replace
                } else {
                    TablePlan::Unchanged
                }
            } else {
                match status(t) {
                    (true, _) => TablePlan::Replace,
                    (false, true) => TablePlan::Append,
                    (false, false) => TablePlan::Unchanged,
                }
            };
            (t, p)
        })
        .collect()
}

/// What an ingest read and wrote before it commits.
struct Written {
    ingested: Ingested,
    parts: Vec<Part>,
    /// The employers and projects the payroll read names.
    required: Vec<(&'static str, String)>,
}

/// The employers and projects payroll rows name (they must stay registered).
#[derive(Default)]
struct RequiredIds {
    employers: BTreeSet<String>,
    projects: BTreeSet<String>,
}

impl RequiredIds {
    fn add(&mut self, t: &ingest::tables::Payroll, employer_ids: &IdSet, project_ids: &IdSet) {
        let mut seen_e = vec![false; employer_ids.len()];
        let mut seen_p = vec![false; project_ids.len()];
        for &e in &t.employer {
            seen_e[e.index()] = true;
        }
        for p in t.project.iter().flatten() {
            seen_p[p.index()] = true;
        }
        let named = |seen: Vec<bool>, ids: &IdSet| {
            seen.into_iter().enumerate().filter(|(_, s)| *s).map(|(i, _)| ids.name(i).to_string()).collect::<Vec<_>>()
        };
        self.employers.extend(named(seen_e, employer_ids));
        self.projects.extend(named(seen_p, project_ids));
    }

    fn into_list(self) -> Vec<(&'static str, String)> {
        let employers = self.employers.into_iter().map(|id| ("employer", id));
        employers.chain(self.projects.into_iter().map(|id| ("project", id))).collect()
    }
}

/// The first problems of each table, redacted (the manifest never holds a cell value).
fn problems_of(ingested: &Ingested) -> Vec<(Table, u64, String)> {
    ingested
        .tables
        .iter()
        .flat_map(|t| {
            let first = t.problems.first.iter().map(|p| p.redacted()).collect::<Vec<_>>().join("\n");
            (t.problems.bad_rows > 0).then_some((t.table, t.problems.bad_rows, first))
        })
        .collect()
}

/// Makes the new files and the folders that name them durable: each file (a copied folder file by file),
/// then every folder from its parent up to the store.
fn sync_new(store: &Path, paths: &[PathBuf]) -> std::io::Result<()> {
    let mut folders: BTreeSet<PathBuf> = BTreeSet::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
            folders.insert(path.clone());
        } else {
            fs::File::open(&path)?.sync_all()?;
        }
        let mut up = path.parent();
        while let Some(dir) = up.filter(|d| d.starts_with(store)) {
            folders.insert(dir.to_path_buf());
            up = dir.parent();
        }
    }
    for dir in folders.iter().rev() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// What scoring as of one date reads: a dataset in memory with its worker-month index, or a store's small
/// tables with the wage months to gather one at a time.
pub enum ScoringData {
    Loaded(Dataset, WorkerMonths),
    Store { ds: Dataset, months: Vec<MonthParts>, store: DataStore, generation: Generation },
}

impl ScoringData {
    /// The small tables (and, loaded, the fact tables).
    pub fn dataset(&self) -> &Dataset {
        match self {
            ScoringData::Loaded(ds, _) | ScoringData::Store { ds, .. } => ds,
        }
    }

    /// The dataset, to add recorded inspections to before the facts are gathered.
    pub fn dataset_mut(&mut self) -> &mut Dataset {
        match self {
            ScoringData::Loaded(ds, _) | ScoringData::Store { ds, .. } => ds,
        }
    }

    /// The store generation read, for a store.
    pub fn generation(&self) -> Option<&Generation> {
        match self {
            ScoringData::Loaded(..) => None,
            ScoringData::Store { generation, .. } => Some(generation),
        }
    }

    /// Hands the fact rows to `visit` with their worker-month index: a loaded dataset whole, a store one
    /// wage month at a time, the latest first, as a dataset with the same small tables.
    pub fn each_part(&mut self, mut visit: impl FnMut(&Dataset, &WorkerMonths)) -> Result<(), DataStoreError> {
        match self {
            ScoringData::Loaded(ds, wm) => {
                visit(ds, wm);
                Ok(())
            }
            ScoringData::Store { ds, months, store, .. } => {
                ingest::stream_compact_months(ds, months, visit).map_err(|e| store.vanished(e))
            }
        }
    }
}

/// Opens what scoring as of `as_of` reads: a store's small tables, its wage months to be gathered one at a
/// time ([`DataStore::open_for_scoring`]); a dataset folder with every row checked but only the fact rows
/// scoring reads kept ([`ingest::load_for_scoring`]), or every row when bad rows go to `quarantine`.
pub fn read_for_scoring(
    path: &Path,
    key: &Pseudonymizer,
    quarantine: Option<PathBuf>,
    as_of: Date,
) -> Result<ScoringData, DataStoreError> {
    if DataStore::is_store(path) {
        return DataStore::open(path)?.open_for_scoring(key, as_of);
    }
    let ds = ingest::load_for_scoring(path, key, &folder_options(quarantine), as_of)?.dataset;
    let wm = WorkerMonths::build(&ds);
    Ok(ScoringData::Loaded(ds, wm))
}

/// Reads a dataset for scoring: from a store when `path` is one (with the generation read), else from a
/// dataset folder (strictly, or setting bad rows aside).
///
/// `scoring_as_of`: the data is read only to score as of this date, so a store reads only what that needs
/// (see [`DataStore::load_for`]); `None` reads everything (training, backtests).
pub fn read_data(
    path: &Path,
    key: &Pseudonymizer,
    quarantine: Option<PathBuf>,
    scoring_as_of: Option<Date>,
) -> Result<(Dataset, Option<Generation>), DataStoreError> {
    if DataStore::is_store(path) {
        let store = DataStore::open(path)?;
        let (ds, generation) = store.load_for(key, scoring_as_of)?;
        return Ok((ds, Some(generation)));
    }
    Ok((ingest::load(path, key, &folder_options(quarantine))?.dataset, None))
}

/// How a dataset folder is read: strictly, or setting bad rows aside in `quarantine`.
fn folder_options(quarantine: Option<PathBuf>) -> IngestOptions {
    IngestOptions { mode: quarantine.map_or(Mode::Strict, Mode::Quarantine), problems_listed: 20 }
}
