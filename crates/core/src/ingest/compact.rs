//! The compact form of the two large fact tables, as a validated store keeps them: one Parquet file per
//! table, wage month and ingest, already checked and pseudonymised, so that reading it back is decoding
//! integers. Ids are dictionary-encoded strings (mapped to dense indices once per dictionary, not per row),
//! money is whole fen, dates are days and months are month indices.
//!
//! Nothing here re-checks a contract rule: the files are trusted because only ingest writes them. A file
//! that does not have this form (another schema, an id the registries do not know where payroll needs one)
//! is a [`CompactError`], which names the file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, Date32Array, DictionaryArray, Int32Array, Int64Array, RecordBatch, RecordBatchReader, StringArray,
    UInt64Array, UInt8Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::pseudonym::WorkerKey;
use super::tables::{payroll_key_fingerprint, Dataset, EmployerIx, FastMap, IdSet, Payments, Payroll, ProjectIx};
use crate::contract::{Date, Money, Month, Table};

/// Rows per batch when reading a part back.
const BATCH_ROWS: usize = 64 * 1024;

/// Why a compact part could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("cannot read store file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("store file {path} is not a {table} part this version of wagewatch wrote (column {column}: another type, a null or a value out of range)")]
    Schema { path: PathBuf, table: Table, column: String },
    #[error("store file {path} names {kind} {id}, which the store's registry does not hold")]
    UnknownId { path: PathBuf, kind: &'static str, id: String },
}

impl CompactError {
    /// The message without any id the data holds.
    pub fn redacted(&self) -> String {
        match self {
            CompactError::UnknownId { path, kind, .. } => {
                format!("store file {} names a {kind} the store's registry does not hold", path.display())
            }
            other => other.to_string(),
        }
    }
}

/// One written part: the rows of one table for one wage month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub table: Table,
    pub month: Month,
    pub path: PathBuf,
    pub rows: u64,
    /// Payroll: the earliest and latest due date in the part (a store reads only parts a date needs).
    pub due: Option<(Date, Date)>,
}

fn payroll_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        dictionary_field("project_id", true),
        dictionary_field("employer_id", false),
        Field::new("worker", DataType::UInt64, false),
        Field::new("period", DataType::Int32, false),
        Field::new("days_worked", DataType::UInt8, false),
        Field::new("wage_due_fen", DataType::Int64, false),
        Field::new("due_date", DataType::Date32, false),
    ]))
}

fn payments_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        dictionary_field("project_id", true),
        dictionary_field("employer_id", false),
        Field::new("worker", DataType::UInt64, false),
        Field::new("period", DataType::Int32, false),
        Field::new("amount_fen", DataType::Int64, false),
        Field::new("paid_on", DataType::Date32, false),
    ]))
}

fn dictionary_field(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), nullable)
}

/// The rows of each wage month, in their order within the table.
fn rows_by_month(periods: &[Month]) -> BTreeMap<Month, Vec<usize>> {
    let mut by_month: BTreeMap<Month, Vec<usize>> = BTreeMap::new();
    for (r, &m) in periods.iter().enumerate() {
        by_month.entry(m).or_default().push(r);
    }
    by_month
}

/// The file of one part: `<dir>/<table>/<YYYY-MM>/<tag>.parquet`.
pub fn part_path(dir: &Path, table: Table, month: Month, tag: &str) -> PathBuf {
    dir.join(table.name()).join(month.to_string()).join(format!("{tag}.parquet"))
}

fn id_column(rows: &[usize], ids: &IdSet, of: impl Fn(usize) -> Option<usize>) -> ArrayRef {
    let mut b = StringDictionaryBuilder::<Int32Type>::new();
    for &r in rows {
        match of(r) {
            Some(i) => {
                b.append(ids.name(i)).expect("fewer than 2^31 distinct ids in a part");
            }
            None => b.append_null(),
        }
    }
    Arc::new(b.finish())
}

/// Writes `payroll` as one part per wage month under `dir`, each file named `tag`; files are synced.
pub fn write_payroll(
    dir: &Path,
    tag: &str,
    t: &Payroll,
    employer_ids: &IdSet,
    project_ids: &IdSet,
) -> Result<Vec<Part>, CompactError> {
    write_months(dir, tag, Table::Payroll, &payroll_schema(), &t.period, |rows| {
        let columns: Vec<ArrayRef> = vec![
            id_column(rows, project_ids, |r| t.project[r].map(ProjectIx::index)),
            id_column(rows, employer_ids, |r| Some(t.employer[r].index())),
            Arc::new(rows.iter().map(|&r| t.worker[r].value()).collect::<UInt64Array>()),
            Arc::new(rows.iter().map(|&r| t.period[r].index()).collect::<Int32Array>()),
            Arc::new(rows.iter().map(|&r| t.days_worked[r]).collect::<UInt8Array>()),
            Arc::new(rows.iter().map(|&r| t.wage_due[r].fen()).collect::<Int64Array>()),
            Arc::new(rows.iter().map(|&r| Some(t.due_date[r].days())).collect::<Date32Array>()),
        ];
        let due = rows
            .iter()
            .map(|&r| t.due_date[r])
            .fold(None, |acc: Option<(Date, Date)>, d| Some(acc.map_or((d, d), |(lo, hi)| (lo.min(d), hi.max(d)))));
        (columns, due)
    })
}

/// Writes `payments` as one part per wage month under `dir`, each file named `tag`; files are synced.
pub fn write_payments(
    dir: &Path,
    tag: &str,
    t: &Payments,
    employer_ids: &IdSet,
    project_ids: &IdSet,
) -> Result<Vec<Part>, CompactError> {
    write_months(dir, tag, Table::Payments, &payments_schema(), &t.period, |rows| {
        let columns: Vec<ArrayRef> = vec![
            id_column(rows, project_ids, |r| t.project[r].map(ProjectIx::index)),
            id_column(rows, employer_ids, |r| Some(t.employer[r].index())),
            Arc::new(rows.iter().map(|&r| t.worker[r].value()).collect::<UInt64Array>()),
            Arc::new(rows.iter().map(|&r| t.period[r].index()).collect::<Int32Array>()),
            Arc::new(rows.iter().map(|&r| t.amount[r].fen()).collect::<Int64Array>()),
            Arc::new(rows.iter().map(|&r| Some(t.paid_on[r].days())).collect::<Date32Array>()),
        ];
        (columns, None)
    })
}

/// Writes one part per wage month of `periods`: `columns` gives a month's rows as columns (and, for
/// payroll, their due-date range).
fn write_months(
    dir: &Path,
    tag: &str,
    table: Table,
    schema: &SchemaRef,
    periods: &[Month],
    columns: impl Fn(&[usize]) -> (Vec<ArrayRef>, Option<(Date, Date)>),
) -> Result<Vec<Part>, CompactError> {
    let mut parts = Vec::new();
    for (month, rows) in rows_by_month(periods) {
        let (arrays, due) = columns(&rows);
        let path = part_path(dir, table, month, tag);
        write_part(&path, schema, arrays)?;
        parts.push(Part { table, month, path, rows: rows.len() as u64, due });
    }
    Ok(parts)
}

fn write_part(path: &Path, schema: &SchemaRef, columns: Vec<ArrayRef>) -> Result<(), CompactError> {
    let err = |reason: String| CompactError::Write { path: path.to_path_buf(), reason };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| err(e.to_string()))?;
    }
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| err(e.to_string()))?;
    let file = fs::File::create(path).map_err(|e| err(e.to_string()))?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| err(e.to_string()))?;
    w.write(&batch).map_err(|e| err(e.to_string()))?;
    let file = w.into_inner().map_err(|e| err(e.to_string()))?;
    file.sync_all().map_err(|e| err(e.to_string()))
}

/// Reads every batch of a part, checking its columns against `schema`.
fn read_part(
    path: &Path,
    table: Table,
    schema: &SchemaRef,
    each: &mut dyn FnMut(&RecordBatch) -> Result<(), CompactError>,
) -> Result<(), CompactError> {
    let err = |reason: String| CompactError::Read { path: path.to_path_buf(), reason };
    let file = fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| err(e.to_string()))?
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| err(e.to_string()))?;
    // Columns are read by position below: the file must have exactly these, in this order, with these
    // types and nullability (what `write_part` writes).
    let found = reader.schema();
    for (i, field) in schema.fields().iter().enumerate() {
        let same = found.fields().get(i).is_some_and(|f| {
            f.name() == field.name() && f.data_type() == field.data_type() && f.is_nullable() == field.is_nullable()
        });
        if !same {
            return Err(CompactError::Schema { path: path.to_path_buf(), table, column: field.name().clone() });
        }
    }
    if found.fields().len() != schema.fields().len() {
        return Err(CompactError::Schema { path: path.to_path_buf(), table, column: "(extra columns)".into() });
    }
    for batch in reader {
        let batch = batch.map_err(|e| err(e.to_string()))?;
        check_ranges(path, table, &batch)?;
        each(&batch)?;
    }
    Ok(())
}

/// Refuses values no ingest writes (nulls where the schema has none, dates and months outside the contract):
/// a damaged or foreign file is an error, never a panic or a huge allocation further on.
fn check_ranges(path: &Path, table: Table, batch: &RecordBatch) -> Result<(), CompactError> {
    let bad = |column: &str| CompactError::Schema { path: path.to_path_buf(), table, column: column.into() };
    for (i, field) in batch.schema().fields().iter().enumerate() {
        let col = batch.column(i);
        if !field.is_nullable() && col.null_count() > 0 {
            return Err(bad(field.name()));
        }
        let in_range = match col.data_type() {
            DataType::Date32 => {
                column::<Date32Array>(batch, i).values().iter().all(|&d| Date::from_days(d).in_contract_range())
            }
            DataType::Int32 if field.name() == "period" => {
                column::<Int32Array>(batch, i).values().iter().all(|&m| Month::from_index(m).in_contract_range())
            }
            DataType::UInt8 => column::<UInt8Array>(batch, i).values().iter().all(|&d| d <= 31),
            DataType::Int64 => column::<Int64Array>(batch, i).values().iter().all(|&f| f >= 0),
            _ => true,
        };
        if !in_range {
            return Err(bad(field.name()));
        }
    }
    Ok(())
}

fn column<T: 'static>(batch: &RecordBatch, i: usize) -> &T {
    batch.column(i).as_any().downcast_ref::<T>().expect("the schema was checked")
}

/// Whether two dictionaries are the same arrays (same buffers), so what was worked out for one holds for
/// the other: Parquet readers hand every batch of a column chunk the same dictionary.
pub(super) fn same_dictionary(a: &StringArray, b: &StringArray) -> bool {
    a.len() == b.len()
        && a.values().as_ptr() == b.values().as_ptr()
        && a.offsets().inner().inner().as_ptr() == b.offsets().inner().inner().as_ptr()
}

/// Maps a dictionary's values to dense indices, each value looked up the first time a row uses it, and the
/// map reused while batches share the dictionary.
struct DictionaryMap {
    values: Option<StringArray>,
    /// By dictionary key: `None` until a row uses the value.
    map: Vec<Option<usize>>,
}

impl DictionaryMap {
    fn new() -> Self {
        DictionaryMap { values: None, map: Vec::new() }
    }

    /// The index of every row of `array` (`None` for a null row), looking values up with `look`.
    fn indices(
        &mut self,
        array: &DictionaryArray<Int32Type>,
        look: &mut dyn FnMut(&str) -> Result<usize, String>,
    ) -> Result<Vec<Option<usize>>, String> {
        let values = array.values().as_any().downcast_ref::<StringArray>().expect("a Utf8 dictionary");
        if !self.values.as_ref().is_some_and(|v| same_dictionary(v, values)) {
            self.map.clear();
            self.map.resize(values.len(), None);
            self.values = Some(values.clone());
        }
        let keys = array.keys();
        let mut out = Vec::with_capacity(array.len());
        for r in 0..array.len() {
            if keys.is_null(r) {
                out.push(None);
                continue;
            }
            let k = keys.value(r) as usize;
            let ix = match self.map[k] {
                Some(ix) => ix,
                None => {
                    let ix = look(values.value(k))?;
                    self.map[k] = Some(ix);
                    ix
                }
            };
            out.push(Some(ix));
        }
        Ok(out)
    }
}

/// The ids payroll parts may name: those the employers and projects tables register (payroll names no
/// other). A copy, so that payments may intern more ids into the dataset beside a payroll reader.
pub struct Registered {
    employer_ids: IdSet,
    employers: usize,
    project_ids: IdSet,
    projects: usize,
}

impl Registered {
    /// The ids `ds` registers (read before its fact tables).
    pub fn of(ds: &Dataset) -> Registered {
        Registered {
            employer_ids: ds.employer_ids.clone(),
            employers: ds.employers.len(),
            project_ids: ds.project_ids.clone(),
            projects: ds.projects.len(),
        }
    }

    /// [`read_payroll`] with these ids.
    pub fn read_payroll(&self, parts: &[PathBuf], out: &mut Payroll) -> Result<(), CompactError> {
        read_payroll(parts, &self.employer_ids, self.employers, &self.project_ids, self.projects, out)
    }
}

/// Reads payroll parts into `out`; every employer and project they name must be registered.
pub fn read_payroll(
    parts: &[PathBuf],
    employer_ids: &IdSet,
    employers: usize,
    project_ids: &IdSet,
    projects: usize,
    out: &mut Payroll,
) -> Result<(), CompactError> {
    let schema = payroll_schema();
    let (mut projects_map, mut employers_map) = (DictionaryMap::new(), DictionaryMap::new());
    for path in parts {
        let unknown = |kind: &'static str| move |id: String| CompactError::UnknownId { path: path.clone(), kind, id };
        read_part(path, Table::Payroll, &schema, &mut |batch| {
            let project = projects_map
                .indices(column(batch, 0), &mut |id| {
                    project_ids.get(id).filter(|&i| i < projects).ok_or_else(|| id.to_string())
                })
                .map_err(unknown("project"))?;
            let employer = employers_map
                .indices(column(batch, 1), &mut |id| {
                    employer_ids.get(id).filter(|&i| i < employers).ok_or_else(|| id.to_string())
                })
                .map_err(unknown("employer"))?;
            out.reserve(batch.num_rows());
            out.project.extend(project.iter().map(|p| p.map(ProjectIx::new)));
            out.employer.extend(employer.iter().map(|e| EmployerIx::new(e.expect("employer_id is not null"))));
            out.worker.extend(column::<UInt64Array>(batch, 2).values().iter().map(|&w| WorkerKey::from_value(w)));
            out.period.extend(column::<Int32Array>(batch, 3).values().iter().map(|&m| Month::from_index(m)));
            out.days_worked.extend_from_slice(column::<UInt8Array>(batch, 4).values());
            out.wage_due.extend(column::<Int64Array>(batch, 5).values().iter().map(|&f| Money::from_fen(f)));
            out.due_date.extend(column::<Date32Array>(batch, 6).values().iter().map(|&d| Date::from_days(d)));
            Ok(())
        })?;
    }
    Ok(())
}

/// Reads payments parts into `out`; ids not registered are interned after the registered ones, as ingest does.
pub fn read_payments(
    parts: &[PathBuf],
    employer_ids: &mut IdSet,
    project_ids: &mut IdSet,
    out: &mut Payments,
) -> Result<(), CompactError> {
    let schema = payments_schema();
    let (mut projects_map, mut employers_map) = (DictionaryMap::new(), DictionaryMap::new());
    for path in parts {
        read_part(path, Table::Payments, &schema, &mut |batch| {
            let project = projects_map
                .indices(column(batch, 0), &mut |id| Ok(project_ids.intern(id).0))
                .expect("interning never fails");
            let employer = employers_map
                .indices(column(batch, 1), &mut |id| Ok(employer_ids.intern(id).0))
                .expect("interning never fails");
            out.reserve(batch.num_rows());
            out.project.extend(project.iter().map(|p| p.map(ProjectIx::new)));
            out.employer.extend(employer.iter().map(|e| EmployerIx::new(e.expect("employer_id is not null"))));
            out.worker.extend(column::<UInt64Array>(batch, 2).values().iter().map(|&w| WorkerKey::from_value(w)));
            out.period.extend(column::<Int32Array>(batch, 3).values().iter().map(|&m| Month::from_index(m)));
            out.amount.extend(column::<Int64Array>(batch, 4).values().iter().map(|&f| Money::from_fen(f)));
            out.paid_on.extend(column::<Date32Array>(batch, 5).values().iter().map(|&d| Date::from_days(d)));
            Ok(())
        })?;
    }
    Ok(())
}

/// The payroll keys a store already holds for some wage months, for checking new rows against them.
#[derive(Default)]
pub struct PriorKeys {
    rows: Payroll,
    by_fingerprint: FastMap<u64, Vec<u32>>,
}

impl PriorKeys {
    /// Reads the keys of `parts` (the parts of the months new rows fall in).
    pub fn read(
        parts: &[PathBuf],
        employer_ids: &IdSet,
        employers: usize,
        project_ids: &IdSet,
        projects: usize,
    ) -> Result<PriorKeys, CompactError> {
        let mut rows = Payroll::default();
        read_payroll(parts, employer_ids, employers, project_ids, projects, &mut rows)?;
        let mut by_fingerprint: FastMap<u64, Vec<u32>> = FastMap::default();
        for r in 0..rows.len() {
            let fp = payroll_key_fingerprint(rows.project[r], rows.employer[r], rows.worker[r], rows.period[r]);
            by_fingerprint.entry(fp).or_default().push(r as u32);
        }
        Ok(PriorKeys { rows, by_fingerprint })
    }

    /// Whether the store already holds this key.
    pub fn holds(
        &self,
        fingerprint: u64,
        project: Option<ProjectIx>,
        employer: EmployerIx,
        worker: WorkerKey,
        period: Month,
    ) -> bool {
        self.by_fingerprint.get(&fingerprint).is_some_and(|rows| {
            rows.iter().any(|&r| {
                let r = r as usize;
                self.rows.project[r] == project
                    && self.rows.employer[r] == employer
                    && self.rows.worker[r] == worker
                    && self.rows.period[r] == period
            })
        })
    }
}
