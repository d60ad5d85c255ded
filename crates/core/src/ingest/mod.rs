//! Ingest: reads a dataset folder that follows the data contract, checks every rule of it, pseudonymises
//! worker ids, and returns the validated tables in columnar form together with a report of what was read
//! and what was wrong.
//!
//! Two modes: [`Mode::Strict`] stops with [`IngestError::Invalid`] when any row breaks a rule (listing the
//! first problems and counting all); [`Mode::Quarantine`] writes bad rows with their reasons to a folder and
//! goes on with the good ones. A table that cannot be read at all (missing, unreadable, a required column
//! absent or of the wrong type) is always an error.
//!
//! Facts dated after an as-of date are not errors: a dataset is a full history, and point-in-time
//! filtering is the job of whatever computes something as of a date.

mod build;
mod cells;
pub mod compact;
mod indexed;
mod problems;
pub mod pseudonym;
mod session;
mod source;
mod summary;
pub mod tables;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

pub use build::PriorParts;
pub use indexed::{stream_compact_months, MonthParts};
pub use problems::{ProblemKind, ProblemLog, RowProblem};
pub use pseudonym::{Pseudonymizer, WorkerKey};
pub use session::{PayrollReader, Session};
pub use source::{Format, TableSource};
pub use summary::DatasetSummary;
pub use tables::Dataset;

use crate::contract::{Date, Month, Table};
use compact::CompactError;
use problems::QuarantineWriter;
use session::RestReader;
use source::locate;
use tables::{Payments, Payroll};

/// What to do with rows that break a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Stop with an error listing the first problems and counting all.
    Strict,
    /// Write bad rows with their reasons to this folder and go on with the rest.
    Quarantine(PathBuf),
    /// Leave bad rows out without writing them anywhere: only for reading back a validated store, whose
    /// bad rows were reported (and set aside) when it was ingested.
    Skip,
}

/// How to ingest a dataset.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    pub mode: Mode,
    /// How many problems per table are kept in full for reports and errors.
    pub problems_listed: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions { mode: Mode::Strict, problems_listed: 20 }
    }
}

/// Why a dataset could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("dataset folder {path} does not exist or is not a folder")]
    NotAFolder { path: PathBuf },
    #[error("required table {table} not found in {dir} (expected {table}.parquet, {table}.csv or a folder {table}/)")]
    MissingTable { table: Table, dir: PathBuf },
    #[error("table {table} is given twice ({first} and {second}); keep one")]
    TwoForms { table: Table, first: PathBuf, second: PathBuf },
    #[error("table {table}: folder {path} holds no .parquet or .csv files")]
    EmptyFolder { table: Table, path: PathBuf },
    #[error("table {table}: file {path} is empty")]
    EmptyFile { table: Table, path: PathBuf },
    #[error("table {table}: file {path} has no column {column}, which the contract requires")]
    MissingColumn { table: Table, path: PathBuf, column: &'static str },
    #[error("table {table}: file {path} has column {column} twice")]
    DuplicateColumn { table: Table, path: PathBuf, column: &'static str },
    #[error("table {table}: file {path}, column {column} has type {found}, which cannot hold its values")]
    WrongColumnType { table: Table, path: PathBuf, column: &'static str, found: String },
    #[error("table {table}: file {path} cannot be read: {reason}")]
    Unreadable { table: Table, path: PathBuf, reason: String },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot write the quarantine folder: {source}")]
    Quarantine { source: std::io::Error },
    #[error(transparent)]
    Store(#[from] CompactError),
    #[error("{}", invalid_message(*.total, *.bad_rows, .first))]
    Invalid { total: u64, bad_rows: u64, first: Vec<RowProblem> },
}

impl IngestError {
    /// The message without any cell value the data holds: row problems give their place and kind only.
    pub fn redacted(&self) -> String {
        match self {
            IngestError::Invalid { total, bad_rows, first } => {
                let mut text = format!("{total} problem(s) in {bad_rows} row(s); the first {}:", first.len());
                for p in first {
                    text.push_str(&format!("\n  - {}", p.redacted()));
                }
                text
            }
            IngestError::Store(e) => e.redacted(),
            IngestError::Unreadable { table, path, .. } => {
                format!("table {table}: file {} cannot be read", path.display())
            }
            other => other.to_string(),
        }
    }
}

fn invalid_message(total: u64, bad_rows: u64, first: &[RowProblem]) -> String {
    let mut text = format!("{total} problem(s) in {bad_rows} row(s); the first {}:", first.len());
    for p in first {
        text.push_str(&format!("\n  - {p}"));
    }
    text.push_str("\n(re-run with --quarantine DIR to set bad rows aside and go on)");
    text
}

/// What ingest did with one table.
#[derive(Clone, Debug)]
pub struct TableReport {
    pub table: Table,
    /// The format and files read; `None` for an absent optional table.
    pub source: Option<(Format, Vec<PathBuf>)>,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub problems: ProblemLog,
    /// The quarantine file written for this table, if any rows were set aside.
    pub quarantine_file: Option<PathBuf>,
}

/// A validated dataset and the report of how it was read.
#[derive(Debug)]
pub struct Ingested {
    pub dataset: Dataset,
    pub tables: Vec<TableReport>,
}

impl Ingested {
    /// The rows set aside over all tables.
    pub fn rows_set_aside(&self) -> u64 {
        self.tables.iter().map(|t| t.problems.bad_rows).sum()
    }

    /// What a person checking the dataset reads: rows per table, problems by kind and the first problems.
    pub fn report(&self) -> ValidationReport<'_> {
        ValidationReport(self)
    }
}

/// The printable report of an ingest (see [`Ingested::report`]).
pub struct ValidationReport<'a>(&'a Ingested);

impl fmt::Display for ValidationReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tables = &self.0.tables;
        for report in tables {
            writeln!(f, "  {report}")?;
        }
        let with_problems: Vec<&TableReport> = tables.iter().filter(|t| t.problems.bad_rows > 0).collect();
        if with_problems.is_empty() {
            return Ok(());
        }
        writeln!(f, "\nproblems by kind:")?;
        for t in &with_problems {
            for ((kind, column), n) in &t.problems.counts {
                writeln!(f, "  {:<18} {:<22} {:<20} {n}", t.table.name(), column, kind.code())?;
            }
        }
        writeln!(f, "\nfirst problems:")?;
        for t in &with_problems {
            for p in &t.problems.first {
                writeln!(f, "  - {p}")?;
            }
            if let Some(path) = &t.quarantine_file {
                writeln!(f, "  {} row(s) of {} set aside in {}", t.problems.bad_rows, t.table, path.display())?;
            }
        }
        Ok(())
    }
}

/// Where each table of a dataset is: located in one folder, or assembled by a store from the files it
/// holds and the files new to it.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    tables: [Option<TableSource>; Table::ALL.len()],
    /// Tables a store checked when it ingested them: their bad rows (set aside then) are left out again,
    /// neither reported nor quarantined a second time.
    trusted: [bool; Table::ALL.len()],
}

impl Sources {
    /// Finds every table in `dir`; a required table missing is an error.
    pub fn locate(dir: &Path) -> Result<Sources, IngestError> {
        if !dir.is_dir() {
            return Err(IngestError::NotAFolder { path: dir.to_path_buf() });
        }
        let mut sources = Sources::default();
        for table in Table::ALL {
            let source = locate(dir, table)?;
            if source.is_none() && table.is_required() {
                return Err(IngestError::MissingTable { table, dir: dir.to_path_buf() });
            }
            sources.tables[table as usize] = source;
        }
        Ok(sources)
    }

    /// Finds whichever tables `dir` holds, requiring none (a store's copies of the small tables).
    pub fn locate_present(dir: &Path) -> Result<Sources, IngestError> {
        if !dir.is_dir() {
            return Err(IngestError::NotAFolder { path: dir.to_path_buf() });
        }
        let mut sources = Sources::default();
        for table in Table::ALL {
            sources.tables[table as usize] = locate(dir, table)?;
        }
        Ok(sources)
    }

    /// Where `table` is, if anywhere.
    pub fn get(&self, table: Table) -> Option<&TableSource> {
        self.tables[table as usize].as_ref()
    }

    /// Sets where `table` is (`None`: nothing to read).
    pub fn set(&mut self, table: Table, source: Option<TableSource>) {
        self.tables[table as usize] = source;
        self.trusted[table as usize] = false;
    }

    /// Marks every table as checked before (a store's own copies).
    pub fn trust_all(&mut self) {
        self.trusted = [true; Table::ALL.len()];
    }

    fn is_trusted(&self, table: Table) -> bool {
        self.trusted[table as usize]
    }
}

/// Reads and validates the dataset in `dir`.
pub fn load(dir: &Path, pseudonymizer: &Pseudonymizer, options: &IngestOptions) -> Result<Ingested, IngestError> {
    load_sources(&Sources::locate(dir)?, pseudonymizer, options, &PriorParts::new())
}

/// Reads and validates the tables `sources` names (an absent table reads as empty), checking new payroll
/// keys also against the `prior` parts a store already holds. Payroll is read on its own thread beside
/// payments and the small tables.
pub fn load_sources(
    sources: &Sources,
    pseudonymizer: &Pseudonymizer,
    options: &IngestOptions,
    prior: &PriorParts,
) -> Result<Ingested, IngestError> {
    let read = FactReads {
        payroll: &|reader: PayrollReader<'_, '_>, src: &TableSource| reader.read(src, prior).map(Some),
        payments: &|reader: &mut RestReader<'_, '_>, src: &TableSource| reader.read_payments(src),
    };
    Ok(load_facts(sources, pseudonymizer, options, read)?.expect("a whole read always gives the payroll"))
}

/// How [`load_facts`] reads the two fact tables: payroll (None: the whole table must be read instead) and
/// payments.
struct FactReads<'f> {
    payroll: &'f ReadPayroll<'f>,
    payments: &'f dyn Fn(&mut RestReader<'_, '_>, &TableSource) -> Result<Payments, IngestError>,
}

/// Reads payroll on the payroll thread; None: the whole table must be read instead.
type ReadPayroll<'f> = dyn Fn(PayrollReader<'_, '_>, &TableSource) -> Result<Option<Payroll>, IngestError> + Sync + 'f;

/// Reads and validates the tables `sources` names (an absent table reads as empty), payroll on its own
/// thread beside payments and the small tables; None when the payroll read gave none.
fn load_facts(
    sources: &Sources,
    pseudonymizer: &Pseudonymizer,
    options: &IngestOptions,
    read: FactReads<'_>,
) -> Result<Option<Ingested>, IngestError> {
    let mut session = Session::start(sources, pseudonymizer, options)?;
    let (payroll, rest) = std::thread::scope(|scope| {
        let (payroll_part, mut rest_part) = session.split();
        let payroll = scope.spawn(move || match sources.get(Table::Payroll) {
            Some(src) => (read.payroll)(payroll_part, src),
            None => Ok(Some(Default::default())),
        });
        let rest = (|| -> Result<_, IngestError> {
            let payments = match sources.get(Table::Payments) {
                Some(src) => (read.payments)(&mut rest_part, src)?,
                None => Default::default(),
            };
            rest_part.read_small(sources)?;
            Ok(payments)
        })();
        (payroll.join().expect("the payroll reader does not panic"), rest)
    });
    let (Some(payroll), payments) = (payroll?, rest?) else { return Ok(None) };
    session.finish(payroll, payments).map(Some)
}

/// Reads and validates a dataset folder for scoring as of one date, keeping of the fact tables only what
/// scoring reads ([`ScoringWindow`]): the same checks of every row, the same errors, the same features, in
/// a fraction of the memory. Strict mode only: in quarantine mode, or when the window cannot stand in for
/// the whole table (repeated payroll keys to report, a kept row's wage month outside the payments kept),
/// the folder is read whole.
pub fn load_for_scoring(
    dir: &Path,
    pseudonymizer: &Pseudonymizer,
    options: &IngestOptions,
    as_of: Date,
) -> Result<Ingested, IngestError> {
    let sources = Sources::locate(dir)?;
    if options.mode == Mode::Strict {
        if let Some(ingested) = load_window(&sources, pseudonymizer, options, &ScoringWindow::new(as_of))? {
            return Ok(ingested);
        }
        tracing::debug!("the scoring window cannot stand in for the whole payroll: reading it whole");
    }
    load_sources(&sources, pseudonymizer, options, &PriorParts::new())
}

/// [`load_sources`] keeping only what `window` keeps of payroll and payments; None when the payroll read
/// says the whole table is needed.
fn load_window(
    sources: &Sources,
    pseudonymizer: &Pseudonymizer,
    options: &IngestOptions,
    window: &ScoringWindow,
) -> Result<Option<Ingested>, IngestError> {
    let read = FactReads {
        payroll: &|reader: PayrollReader<'_, '_>, src: &TableSource| reader.read_window(src, window),
        payments: &|reader: &mut RestReader<'_, '_>, src: &TableSource| reader.read_payments_window(src, window),
    };
    load_facts(sources, pseudonymizer, options, read)
}

/// What a read for scoring as of one date keeps of the fact tables: payroll due in the
/// [`PAYROLL_LOOKBACK_DAYS`](crate::features::PAYROLL_LOOKBACK_DAYS) before the date (all that features and
/// the scored population read), and the payments made by the date for the wage months from the month
/// before the window's first to the date's own (the wage months of such payroll as data usually has it; the
/// payroll read checks that every kept row's month is among them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoringWindow {
    as_of: Date,
    from: Date,
    months: (Month, Month),
}

impl ScoringWindow {
    /// The window for scoring as of `as_of`.
    pub fn new(as_of: Date) -> ScoringWindow {
        let from = as_of.add_days(-crate::features::PAYROLL_LOOKBACK_DAYS);
        ScoringWindow { as_of, from, months: (from.month().plus_months(-1), as_of.month()) }
    }

    /// Whether a payroll row due on `due` is kept.
    pub fn keeps_payroll(&self, due: Date) -> bool {
        self.from < due && due <= self.as_of
    }

    /// Whether the payments of wage month `m` are kept (those made by the date).
    pub fn keeps_payments_of(&self, m: Month) -> bool {
        self.months.0 <= m && m <= self.months.1
    }

    /// Whether a payment for wage month `period` made on `paid_on` is kept.
    pub fn keeps_payment(&self, period: Month, paid_on: Date) -> bool {
        paid_on <= self.as_of && self.keeps_payments_of(period)
    }
}

/// Publishes a table's quarantine file, or removes it (and any stale one) when no row was set aside.
fn finish_quarantine(q: QuarantineWriter, bad_rows: u64) -> Result<Option<PathBuf>, IngestError> {
    let (path, _) = q.finish().map_err(|source| IngestError::Quarantine { source })?;
    if bad_rows == 0 {
        fs::remove_file(&path).map_err(|source| IngestError::Quarantine { source })?;
        return Ok(None);
    }
    Ok(Some(path))
}

impl fmt::Display for TableReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            None => write!(f, "{:<18} absent (optional)", self.table.name()),
            Some((format, files)) => {
                let form = match format {
                    Format::Parquet => "parquet",
                    Format::Csv => "csv",
                };
                write!(
                    f,
                    "{:<18} {:>11} rows read, {:>11} accepted, {:>7} set aside  ({form}, {} file{})",
                    self.table.name(),
                    self.rows_read,
                    self.rows_accepted,
                    self.problems.bad_rows,
                    files.len(),
                    if files.len() == 1 { "" } else { "s" }
                )
            }
        }
    }
}

/// Reads back what a validated store holds: the small tables from the store's checked copies (`sources`,
/// without payroll and payments; rows found bad when they were ingested are left out again) and the two
/// fact tables from their compact parts, payroll and payments side by side.
pub fn load_compact(
    sources: &Sources,
    payroll_parts: &[PathBuf],
    payments_parts: &[PathBuf],
    pseudonymizer: &Pseudonymizer,
) -> Result<Dataset, IngestError> {
    let mut ds = load_small_of_store(sources, pseudonymizer)?;
    let registered = compact::Registered::of(&ds);
    let (payroll, payments) = std::thread::scope(|scope| {
        let payroll = scope.spawn(|| {
            let mut t = tables::Payroll::default();
            registered.read_payroll(payroll_parts, &mut t).map(|()| t)
        });
        let mut t = tables::Payments::default();
        let payments =
            compact::read_payments(payments_parts, &mut ds.employer_ids, &mut ds.project_ids, &mut t).map(|()| t);
        (payroll.join().expect("the payroll reader does not panic"), payments)
    });
    ds.payroll = payroll?;
    ds.payments = payments?;
    Ok(ds)
}

/// The small tables of a store, from its checked copies (`sources`, without payroll and payments); rows
/// found bad when they were ingested are left out again.
pub fn load_small_of_store(sources: &Sources, pseudonymizer: &Pseudonymizer) -> Result<Dataset, IngestError> {
    let mut small = sources.clone();
    small.set(Table::Payroll, None);
    small.set(Table::Payments, None);
    small.trust_all();
    let options = IngestOptions { mode: Mode::Skip, problems_listed: 0 };
    Ok(load_sources(&small, pseudonymizer, &options, &PriorParts::new())?.dataset)
}
