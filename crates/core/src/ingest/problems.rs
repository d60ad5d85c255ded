//! Row problems: what is wrong with a row, where it is (table, file, 1-based data row, column), how they
//! are counted, and the quarantine folder where set-aside rows are written with their reasons.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::contract::Table;

/// What kind of rule a row breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProblemKind {
    /// A required value is empty or null.
    MissingValue,
    /// The value is not of the column's type (not a date, not a number, ...).
    WrongType,
    /// Money below zero.
    NegativeMoney,
    /// Money with more than 2 decimals.
    TooManyDecimals,
    /// A value outside the column's enumeration.
    UnknownEnumValue,
    /// A date before 1990-01-01 or after 2100-12-31.
    DateOutOfRange,
    /// An integer outside the column's range.
    OutOfRange,
    /// An empty identifier or one longer than 64 characters.
    BadIdentifier,
    /// A region code that is not 6 digits.
    BadRegionCode,
    /// A second row with the same key.
    DuplicateKey,
    /// An id that must exist in another table and does not.
    UnknownReference,
    /// A complaint naming neither an employer nor a project.
    NoSubject,
    /// A CSV record with the wrong number of fields or invalid UTF-8.
    MalformedRecord,
}

impl ProblemKind {
    /// A stable snake_case code for reports and quarantine files.
    pub fn code(self) -> &'static str {
        match self {
            ProblemKind::MissingValue => "missing_value",
            ProblemKind::WrongType => "wrong_type",
            ProblemKind::NegativeMoney => "negative_money",
            ProblemKind::TooManyDecimals => "too_many_decimals",
            ProblemKind::UnknownEnumValue => "unknown_enum_value",
            ProblemKind::DateOutOfRange => "date_out_of_range",
            ProblemKind::OutOfRange => "out_of_range",
            ProblemKind::BadIdentifier => "bad_identifier",
            ProblemKind::BadRegionCode => "bad_region_code",
            ProblemKind::DuplicateKey => "duplicate_key",
            ProblemKind::UnknownReference => "unknown_reference",
            ProblemKind::NoSubject => "no_subject",
            ProblemKind::MalformedRecord => "malformed_record",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One problem of one row, located as a spreadsheet user would look for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowProblem {
    pub table: Table,
    /// The file the row came from.
    pub file: Arc<Path>,
    /// 1-based data row within the file, the header not counted.
    pub row: u64,
    /// The contract column at fault, if the problem is about one column.
    pub column: Option<&'static str>,
    pub kind: ProblemKind,
    /// A plain-language reason, quoting the offending value where that is safe (never a worker id).
    pub reason: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file =
            self.file.file_name().map_or_else(|| self.file.display().to_string(), |n| n.to_string_lossy().into());
        write!(f, "{} ({file}) row {}", self.table, self.row)?;
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl RowProblem {
    /// Where the problem is and what kind it is, without the reason's quotation of the value (for readers who
    /// may not see the data itself).
    pub fn redacted(&self) -> String {
        let file =
            self.file.file_name().map_or_else(|| self.file.display().to_string(), |n| n.to_string_lossy().into());
        let column = self.column.map(|c| format!(", column {c}")).unwrap_or_default();
        format!("{} ({file}) row {}{column}: {}", self.table, self.row, self.kind)
    }
}

/// Problems found in one table: counts by kind and column, the first few in full.
#[derive(Clone, Debug, Default)]
pub struct ProblemLog {
    /// The first problems, in file order, up to the limit the log was made with.
    pub first: Vec<RowProblem>,
    /// How many problems of each kind and column there were.
    pub counts: BTreeMap<(ProblemKind, &'static str), u64>,
    /// How many rows had at least one problem.
    pub bad_rows: u64,
    keep: usize,
}

impl ProblemLog {
    /// A log that keeps the first `keep` problems in full.
    pub fn new(keep: usize) -> ProblemLog {
        ProblemLog { keep, ..ProblemLog::default() }
    }

    /// Records the problems of one bad row.
    pub fn add_row(&mut self, problems: &[RowProblem]) {
        self.bad_rows += 1;
        for p in problems {
            *self.counts.entry((p.kind, p.column.unwrap_or("-"))).or_default() += 1;
            if self.first.len() < self.keep {
                self.first.push(p.clone());
            }
        }
    }

    /// The number of problems of every kind.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Adds another table's log to this one.
    pub fn merge(&mut self, other: ProblemLog) {
        self.bad_rows += other.bad_rows;
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        let room = self.keep.saturating_sub(self.first.len());
        self.first.extend(other.first.into_iter().take(room));
    }
}

/// A quarantine file being written for one table: one line per bad row, with where it was, why it was
/// set aside, and its original values (worker ids pseudonymised).
pub struct QuarantineWriter {
    writer: csv::Writer<fs::File>,
    tmp_path: PathBuf,
    final_path: PathBuf,
    rows: u64,
}

impl QuarantineWriter {
    /// Starts `<dir>/<table>.csv` (written under a temporary name until [`QuarantineWriter::finish`]).
    pub fn create(dir: &Path, table: Table) -> std::io::Result<QuarantineWriter> {
        fs::create_dir_all(dir)?;
        let final_path = dir.join(format!("{}.csv", table.name()));
        let tmp_path = dir.join(format!(".{}.csv.partial", table.name()));
        let mut writer = csv::Writer::from_path(&tmp_path)?;
        let mut header = vec!["source_file", "row", "problems"];
        header.extend(table.columns().iter().map(|c| c.name));
        writer.write_record(&header)?;
        Ok(QuarantineWriter { writer, tmp_path, final_path, rows: 0 })
    }

    /// Writes one bad row: its problems and its original values in contract column order.
    pub fn write_row(&mut self, problems: &[RowProblem], values: &[String]) -> std::io::Result<()> {
        let first = &problems[0];
        let reasons: Vec<String> = problems
            .iter()
            .map(|p| match p.column {
                Some(c) => format!("{}: {} ({})", c, p.reason, p.kind),
                None => format!("{} ({})", p.reason, p.kind),
            })
            .collect();
        let mut record = vec![first.file.display().to_string(), first.row.to_string(), reasons.join("; ")];
        record.extend(values.iter().cloned());
        self.writer.write_record(&record)?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes, syncs and moves the file to its final name; returns the path and the rows written.
    pub fn finish(self) -> std::io::Result<(PathBuf, u64)> {
        let file = self.writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&self.tmp_path, &self.final_path)?;
        Ok((self.final_path, self.rows))
    }
}
