//! Row assembly: every table's chunks are read cell by cell into the typed tables of [`super::tables`],
//! checking each contract rule on the way; a row with any problem goes to the problem log (and the
//! quarantine file) instead of the table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::Array;
use arrow_cast::display::{ArrayFormatter, FormatOptions};

use super::cells::{normalise, Cell, Col};
use super::compact::{same_dictionary, PriorKeys};
use super::problems::{ProblemKind, ProblemLog, QuarantineWriter, RowProblem};
use super::pseudonym::{Pseudonymizer, WorkerKey};
use super::source::{self, read_chunks, Chunk, TableSource};
use super::tables::*;
use super::IngestError;
use super::ScoringWindow;
use crate::contract::{
    Category, Channel, Date, EmployerKind, Kind, Money, Month, Outcome, Sector, Selection, Table, CATEGORIES, CHANNELS,
    EMPLOYER_KINDS, OUTCOMES, SECTORS, SELECTIONS,
};

/// Where a table's bad rows go: the log always, the quarantine file when the user asked for one.
pub struct Sink<'p> {
    pub table: Table,
    pub log: ProblemLog,
    pub quarantine: Option<QuarantineWriter>,
    pub pseudonymizer: &'p Pseudonymizer,
    pub rows_read: u64,
    /// Each file read, with the ordinal (0-based, over all files) of its first row.
    pub files: Vec<(Arc<Path>, u64)>,
}

impl Sink<'_> {
    /// The file and 1-based data row of the row with the given ordinal.
    fn locate(&self, ordinal: u64) -> (Arc<Path>, u64) {
        let i = self.files.partition_point(|(_, start)| *start <= ordinal).saturating_sub(1);
        let (file, start) = &self.files[i];
        (file.clone(), ordinal - start + 1)
    }

    /// Sets aside a row found bad after its chunk was gone, with values rebuilt from the typed table.
    fn reject_detached(&mut self, problems: &[RowProblem], values: &[String]) -> Result<(), IngestError> {
        self.log.add_row(problems);
        if let Some(q) = &mut self.quarantine {
            q.write_row(problems, values).map_err(|source| IngestError::Quarantine { source })?;
        }
        Ok(())
    }

    fn reject(&mut self, chunk: &Chunk, i: usize, problems: &[RowProblem]) -> Result<(), IngestError> {
        self.log.add_row(problems);
        if let Some(q) = &mut self.quarantine {
            let values = original_values(self.table, chunk, i, self.pseudonymizer);
            q.write_row(problems, &values).map_err(|source| IngestError::Quarantine { source })?;
        }
        Ok(())
    }
}

/// The row's values as text for the quarantine file; a worker id is written only as its pseudonym.
fn original_values(table: Table, chunk: &Chunk, i: usize, pseudonymizer: &Pseudonymizer) -> Vec<String> {
    let options = FormatOptions::default();
    table
        .columns()
        .iter()
        .zip(&chunk.columns)
        .map(|(spec, array)| {
            let Some(array) = array else { return String::new() };
            if array.is_null(i) {
                return String::new();
            }
            let text =
                ArrayFormatter::try_new(array.as_ref(), &options).map(|f| f.value(i).to_string()).unwrap_or_default();
            if spec.name == "worker_id" {
                if text.is_empty() {
                    String::new()
                } else {
                    pseudonymizer.pseudonym(&text).to_string()
                }
            } else {
                text
            }
        })
        .collect()
}

/// The problems of the row being read, with typed readers for each column kind.
pub struct RowCheck<'c> {
    table: Table,
    file: &'c Arc<Path>,
    first_row: u64,
    /// The ordinal (over all files of the table) of the chunk's first row.
    first_ordinal: u64,
    cols: &'c [Col],
    row: usize,
    problems: Vec<RowProblem>,
}

impl<'c> RowCheck<'c> {
    fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn source_row(&self) -> u64 {
        self.first_row + self.row as u64
    }

    fn ordinal(&self) -> u64 {
        self.first_ordinal + self.row as u64
    }

    fn fail(&mut self, column: Option<usize>, kind: ProblemKind, reason: String) {
        self.problems.push(RowProblem {
            table: self.table,
            file: self.file.clone(),
            row: self.source_row(),
            column: column.map(|c| self.table.columns()[c].name),
            kind,
            reason,
        });
    }

    fn get<T>(&mut self, c: usize, read: impl FnOnce(&'c Col, usize) -> Cell<T>) -> Option<T> {
        let cols = self.cols;
        match read(&cols[c], self.row) {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                if self.table.columns()[c].required {
                    self.fail(Some(c), ProblemKind::MissingValue, "a required value is missing".into());
                }
                None
            }
            Err((kind, reason)) => {
                self.fail(Some(c), kind, reason);
                None
            }
        }
    }

    fn id(&mut self, c: usize) -> Option<&'c str> {
        let quote = self.table.columns()[c].name != "worker_id";
        self.get(c, |col, i| col.id(i, quote))
    }

    fn text(&mut self, c: usize) -> Option<&'c str> {
        self.get(c, Col::text)
    }

    fn region(&mut self, c: usize) -> Option<crate::contract::RegionCode> {
        self.get(c, Col::region)
    }

    fn division(&mut self, c: usize) -> Option<crate::contract::RegionPrefix> {
        self.get(c, Col::division)
    }

    fn enumeration(&mut self, c: usize, codes: &[&str]) -> Option<usize> {
        self.get(c, |col, i| col.enumeration(i, codes))
    }

    fn date(&mut self, c: usize) -> Option<crate::contract::Date> {
        self.get(c, Col::date)
    }

    fn month(&mut self, c: usize) -> Option<crate::contract::Month> {
        self.get(c, Col::month)
    }

    fn money(&mut self, c: usize) -> Option<crate::contract::Money> {
        self.get(c, Col::money)
    }

    fn int(&mut self, c: usize) -> Option<i64> {
        let Kind::Int { min, max } = self.table.columns()[c].kind else { unreachable!("int column") };
        self.get(c, |col, i| col.int(i, min, max))
    }

    fn boolean(&mut self, c: usize) -> Option<bool> {
        self.get(c, Col::boolean)
    }

    /// An id that must name a row of `ids`; missing ones are problems.
    fn reference(
        &mut self,
        c: usize,
        id: Option<&str>,
        ids: &IdSet,
        registered: usize,
        target: Table,
    ) -> Option<usize> {
        let id = id?;
        match ids.get(id).filter(|&i| i < registered) {
            Some(i) => Some(i),
            None => {
                let reason = format!("{} {id:?} is not in {target} (or was set aside)", self.table.columns()[c].name);
                self.fail(Some(c), ProblemKind::UnknownReference, reason);
                None
            }
        }
    }
}

/// Reads every row of `source`, handing each to `assemble`, which reads the cells through a [`RowCheck`]
/// and stores the row when no problem was found; rows with problems go to the sink.
fn each_row(
    source: &TableSource,
    sink: &mut Sink<'_>,
    assemble: &mut dyn FnMut(&mut RowCheck<'_>),
) -> Result<(), IngestError> {
    let table = source.table;
    read_chunks(source, &mut |chunk: Chunk| {
        let mut cols = Vec::with_capacity(chunk.columns.len());
        for (spec, array) in table.columns().iter().zip(&chunk.columns) {
            let col = normalise(array.as_ref(), spec.kind).map_err(|found| IngestError::WrongColumnType {
                table,
                path: chunk.file.to_path_buf(),
                column: spec.name,
                found,
            })?;
            cols.push(col);
        }
        if sink.files.last().is_none_or(|(f, _)| *f != chunk.file) {
            sink.files.push((chunk.file.clone(), sink.rows_read));
        }
        let mut malformed = chunk.malformed.iter().peekable();
        let mut check = RowCheck {
            table,
            file: &chunk.file,
            first_row: chunk.first_row,
            first_ordinal: sink.rows_read,
            cols: &cols,
            row: 0,
            problems: Vec::new(),
        };
        for i in 0..chunk.len {
            check.row = i;
            check.problems.clear();
            if let Some((_, reason)) = malformed.next_if(|(at, _)| *at == i) {
                check.fail(None, ProblemKind::MalformedRecord, reason.clone());
            } else {
                assemble(&mut check);
            }
            if !check.ok() {
                sink.reject(&chunk, i, &check.problems)?;
            }
        }
        sink.rows_read += chunk.len as u64;
        Ok(())
    })
}

/// What a dictionary value was found to be the first time a row used it.
#[derive(Clone, Copy)]
enum Memo<T> {
    Unknown,
    Good(T),
    Bad,
}

/// Checked values of one dictionary-encoded column, by dictionary key, so each distinct value is checked
/// once per dictionary rather than once per row. A value that had a problem is re-checked on every row,
/// so that each bad row is reported.
struct DictMemo<T> {
    /// The dictionary the slots belong to; holding it keeps its buffers alive, so pointer identity is safe.
    dictionary: Option<arrow_array::StringArray>,
    slots: Vec<Memo<T>>,
}

impl<T: Copy> DictMemo<T> {
    fn new() -> Self {
        DictMemo { dictionary: None, slots: Vec::new() }
    }

    fn get<'c>(
        &mut self,
        row: &mut RowCheck<'c>,
        c: usize,
        slow: impl FnOnce(&mut RowCheck<'c>) -> Option<T>,
    ) -> Option<T> {
        let cols = row.cols;
        let Some(key) = cols[c].dict_key(row.row) else { return slow(row) };
        let dict = cols[c].dictionary().expect("a column with keys has a dictionary");
        if !self.dictionary.as_ref().is_some_and(|d| same_dictionary(d, dict)) {
            self.dictionary = Some(dict.clone());
            self.slots.clear();
            self.slots.resize(dict.len(), Memo::Unknown);
        }
        match self.slots[key] {
            Memo::Good(v) => Some(v),
            Memo::Bad => slow(row),
            Memo::Unknown => {
                let before = row.problems.len();
                let v = slow(row);
                self.slots[key] = match v {
                    Some(v) if row.problems.len() == before => Memo::Good(v),
                    _ => Memo::Bad,
                };
                v
            }
        }
    }
}

/// Interning of ids that other tables may name without registering them.
fn lookup_or_intern(ids: &mut IdSet, id: &str) -> usize {
    ids.intern(id).0
}

/// Remembers the last id looked up: fact tables are usually sorted, so the next row often names the same one.
#[derive(Default)]
struct LastId {
    id: String,
    ix: Option<usize>,
}

impl LastId {
    fn get(&mut self, id: &str, look: impl FnOnce(&str) -> Option<usize>) -> Option<usize> {
        if self.ix.is_none() || self.id != id {
            self.ix = look(id);
            self.id.clear();
            self.id.push_str(id);
        }
        self.ix
    }
}

/// Reads `employers`.
pub fn read_employers(source: &TableSource, sink: &mut Sink<'_>) -> Result<(IdSet, Employers), IngestError> {
    let mut ids = IdSet::default();
    let mut first_row: Vec<u64> = Vec::new();
    let mut t = Employers::default();
    each_row(source, sink, &mut |row| {
        let id = row.id(0);
        let name = row.text(1);
        let kind = row.enumeration(2, EMPLOYER_KINDS);
        let sector = row.enumeration(3, SECTORS);
        let region = row.region(4);
        let capital = row.money(5);
        let founded = row.date(6);
        let blacklisted = row.date(7);
        let (Some(id), Some(name), Some(kind), Some(sector), Some(region)) = (id, name, kind, sector, region) else {
            return;
        };
        if !row.ok() {
            return;
        }
        if let Some(i) = ids.get(id) {
            row.fail(
                Some(0),
                ProblemKind::DuplicateKey,
                format!("employer_id {id:?} already appears in row {}", first_row[i]),
            );
            return;
        }
        ids.intern(id);
        first_row.push(row.source_row());
        t.name.push(name);
        t.kind.push(EmployerKind::ALL[kind]);
        t.sector.push(Sector::ALL[sector]);
        t.region.push(region);
        t.registered_capital.push(capital);
        t.founded_on.push(founded);
        t.blacklisted_on.push(blacklisted);
    })?;
    Ok((ids, t))
}

/// Reads `projects`; general contractors must be registered employers.
pub fn read_projects(
    source: &TableSource,
    sink: &mut Sink<'_>,
    employer_ids: &IdSet,
    employers: usize,
) -> Result<(IdSet, IdSet, Projects), IngestError> {
    let mut ids = IdSet::default();
    let mut owners = IdSet::default();
    let mut first_row: Vec<u64> = Vec::new();
    let mut t = Projects::default();
    each_row(source, sink, &mut |row| {
        let id = row.id(0);
        let name = row.text(1);
        let region = row.region(2);
        let gc_id = row.id(3);
        let owner = row.id(4);
        let value = row.money(5);
        let start = row.date(6);
        let planned_end = row.date(7);
        let actual_end = row.date(8);
        let government = row.boolean(9);
        let wage_account = row.boolean(10);
        let deposit = row.money(11);
        let gc = row.reference(3, gc_id, employer_ids, employers, Table::Employers);
        let (
            Some(id),
            Some(name),
            Some(region),
            Some(gc),
            Some(value),
            Some(start),
            Some(planned_end),
            Some(government),
            Some(wage_account),
        ) = (id, name, region, gc, value, start, planned_end, government, wage_account)
        else {
            return;
        };
        if !row.ok() {
            return;
        }
        if let Some(i) = ids.get(id) {
            row.fail(
                Some(0),
                ProblemKind::DuplicateKey,
                format!("project_id {id:?} already appears in row {}", first_row[i]),
            );
            return;
        }
        ids.intern(id);
        first_row.push(row.source_row());
        t.name.push(name);
        t.region.push(region);
        t.general_contractor.push(EmployerIx::new(gc));
        t.owner.push(owner.map(|o| OwnerIx::new(lookup_or_intern(&mut owners, o))));
        t.contract_value.push(value);
        t.start_date.push(start);
        t.planned_end_date.push(planned_end);
        t.actual_end_date.push(actual_end);
        t.government_funded.push(government);
        t.wage_account_opened.push(wage_account);
        t.guarantee_deposit.push(deposit);
    })?;
    Ok((ids, owners, t))
}

/// One payroll row, read and checked. `worker` is the worker's pseudonym ([`WorkerIds::Pseudonyms`]) or a
/// fast unkeyed hash of the id ([`WorkerIds::Hashes`]; [`PayrollCells::pseudonym`] for a row that is stored).
struct PayrollRow {
    project: Option<ProjectIx>,
    employer: EmployerIx,
    worker: u64,
    period: Month,
    days: u8,
    wage_due: Money,
    due_date: Date,
}

impl Payroll {
    fn push(&mut self, r: &PayrollRow, worker: WorkerKey) {
        self.project.push(r.project);
        self.employer.push(r.employer);
        self.worker.push(worker);
        self.period.push(r.period);
        self.days_worked.push(r.days);
        self.wage_due.push(r.wage_due);
        self.due_date.push(r.due_date);
    }
}

/// How a payroll read tells workers apart: by every row's pseudonym (a whole read), or by a fast hash of
/// the id, pseudonymising only the rows it keeps (a read for scoring, which checks keys over rows it drops).
#[derive(Clone, Copy, PartialEq, Eq)]
enum WorkerIds {
    Pseudonyms,
    Hashes,
}

/// Reads payroll rows cell by cell against the registries, checking each distinct dictionary value once.
struct PayrollCells<'a> {
    employer_ids: &'a IdSet,
    employers: usize,
    project_ids: &'a IdSet,
    projects: usize,
    pseudonymizer: &'a Pseudonymizer,
    worker_ids: WorkerIds,
    last_employer: LastId,
    last_project: LastId,
    project_memo: DictMemo<ProjectIx>,
    employer_memo: DictMemo<EmployerIx>,
    worker_memo: DictMemo<u64>,
    pseudonym_memo: DictMemo<WorkerKey>,
    period_memo: DictMemo<Month>,
}

impl<'a> PayrollCells<'a> {
    fn new(registries: Registries<'a>, pseudonymizer: &'a Pseudonymizer, worker_ids: WorkerIds) -> Self {
        let Registries { employer_ids, employers, project_ids, projects } = registries;
        PayrollCells {
            employer_ids,
            employers,
            project_ids,
            projects,
            pseudonymizer,
            worker_ids,
            last_employer: LastId::default(),
            last_project: LastId::default(),
            project_memo: DictMemo::new(),
            employer_memo: DictMemo::new(),
            worker_memo: DictMemo::new(),
            pseudonym_memo: DictMemo::new(),
            period_memo: DictMemo::new(),
        }
    }

    /// The pseudonym of the worker of a row [`PayrollCells::read`] found good.
    fn pseudonym(&mut self, row: &mut RowCheck<'_>, r: &PayrollRow) -> WorkerKey {
        if self.worker_ids == WorkerIds::Pseudonyms {
            return WorkerKey::from_value(r.worker);
        }
        let pseudonymizer = self.pseudonymizer;
        let key = self.pseudonym_memo.get(row, 2, |row| row.id(2).map(|w| pseudonymizer.pseudonym(w)));
        key.expect("the worker id of a good row was checked")
    }

    /// The row, or None when a cell has a problem (recorded on `row`).
    fn read(&mut self, row: &mut RowCheck<'_>) -> Option<PayrollRow> {
        let (project_ids, projects) = (self.project_ids, self.projects);
        let (employer_ids, employers) = (self.employer_ids, self.employers);
        let project = if row.cols[0].is_null_at(row.row) {
            Some(None)
        } else {
            let last_project = &mut self.last_project;
            self.project_memo
                .get(row, 0, |row| {
                    let id = row.id(0)?;
                    match last_project.get(id, |id| project_ids.get(id).filter(|&i| i < projects)) {
                        Some(i) => Some(ProjectIx::new(i)),
                        None => row.reference(0, Some(id), project_ids, projects, Table::Projects).map(ProjectIx::new),
                    }
                })
                .map(Some)
        };
        let last_employer = &mut self.last_employer;
        let employer = self.employer_memo.get(row, 1, |row| {
            let id = row.id(1)?;
            match last_employer.get(id, |id| employer_ids.get(id).filter(|&i| i < employers)) {
                Some(i) => Some(EmployerIx::new(i)),
                None => row.reference(1, Some(id), employer_ids, employers, Table::Employers).map(EmployerIx::new),
            }
        });
        let (pseudonymizer, worker_ids) = (self.pseudonymizer, self.worker_ids);
        let worker = self.worker_memo.get(row, 2, |row| {
            row.id(2).map(|w| match worker_ids {
                WorkerIds::Pseudonyms => pseudonymizer.pseudonym(w).value(),
                WorkerIds::Hashes => id_hash(w),
            })
        });
        let period = self.period_memo.get(row, 3, |row| row.month(3));
        let days = row.int(4);
        let wage_due = row.money(5);
        let due_date = row.date(6);
        let (Some(project), Some(employer), Some(worker), Some(period), Some(days), Some(wage_due), Some(due_date)) =
            (project, employer, worker, period, days, wage_due, due_date)
        else {
            return None;
        };
        row.ok().then_some(PayrollRow { project, employer, worker, period, days: days as u8, wage_due, due_date })
    }
}

/// The registered employers and projects payroll must name: their ids and how many of each are registered.
#[derive(Clone, Copy)]
pub struct Registries<'a> {
    pub employer_ids: &'a IdSet,
    pub employers: usize,
    pub project_ids: &'a IdSet,
    pub projects: usize,
}

/// Reads `payroll`; employer and project ids must name registered rows. The key (project_id, employer_id,
/// worker_id, period) must be unique within the files and against the `prior` parts a store holds: each
/// row's key is fingerprinted, and only rows whose fingerprints repeat are compared exactly, instead of a
/// set probed for each of millions of rows.
pub fn read_payroll(
    source: &TableSource,
    sink: &mut Sink<'_>,
    registries: Registries<'_>,
    prior: &PriorParts,
) -> Result<Payroll, IngestError> {
    let Registries { employer_ids, employers, project_ids, projects } = registries;
    let mut t = Payroll::default();
    let expected = source::row_count_hint(source);
    t.reserve(expected);
    let mut fingerprints: Vec<u64> = Vec::with_capacity(expected);
    let mut ordinals: Vec<u64> = Vec::with_capacity(expected);
    let mut cells = PayrollCells::new(registries, sink.pseudonymizer, WorkerIds::Pseudonyms);
    each_row(source, sink, &mut |row| {
        let Some(r) = cells.read(row) else { return };
        let worker = cells.pseudonym(row, &r);
        fingerprints.push(payroll_key_fingerprint(r.project, r.employer, worker, r.period));
        ordinals.push(row.ordinal());
        t.push(&r, worker);
    })?;
    let mut duplicates: Vec<(usize, Option<usize>)> =
        duplicate_payroll_rows(&t, &fingerprints).into_iter().map(|(dup, first)| (dup, Some(first))).collect();
    duplicates.extend(rows_the_store_holds(
        &t,
        &fingerprints,
        prior,
        (employer_ids, employers),
        (project_ids, projects),
    )?);
    duplicates.sort_unstable();
    duplicates.dedup_by_key(|d| d.0);
    if !duplicates.is_empty() {
        let mut keep = vec![true; t.len()];
        for &(dup, first) in &duplicates {
            keep[dup] = false;
            let (file, row) = sink.locate(ordinals[dup]);
            let reason = match first {
                Some(first) => {
                    let (first_file, first_row) = sink.locate(ordinals[first]);
                    let same_file =
                        if first_file == file { String::new() } else { format!(" of {}", first_file.display()) };
                    format!(
                        "row {first_row}{same_file} has the same project_id, employer_id, worker_id and period ({})",
                        t.period[dup]
                    )
                }
                None => format!(
                    "the store already holds a row with the same project_id, employer_id, worker_id and period ({})",
                    t.period[dup]
                ),
            };
            let problem =
                RowProblem { table: Table::Payroll, file, row, column: None, kind: ProblemKind::DuplicateKey, reason };
            let values = vec![
                t.project[dup].map_or(String::new(), |p| project_ids.name(p.index()).to_string()),
                employer_ids.name(t.employer[dup].index()).to_string(),
                t.worker[dup].to_string(),
                t.period[dup].to_string(),
                t.days_worked[dup].to_string(),
                t.wage_due[dup].to_string(),
                t.due_date[dup].to_string(),
            ];
            sink.reject_detached(&[problem], &values)?;
        }
        t.retain(&keep);
    }
    Ok(t)
}

/// Reads `payroll` for scoring as of one date: every row is checked as [`read_payroll`] checks it, but only
/// the rows `window` keeps are stored. None when the window cannot stand in for the whole table: some key
/// fingerprints repeat (a duplicate to report with both rows, or a collision), or a row kept has a wage month
/// whose payments the window left out. The caller then reads the table whole.
pub fn read_payroll_window(
    source: &TableSource,
    sink: &mut Sink<'_>,
    registries: Registries<'_>,
    window: &ScoringWindow,
) -> Result<Option<Payroll>, IngestError> {
    let mut t = Payroll::default();
    let expected = source::row_count_hint(source);
    let mut cells = PayrollCells::new(registries, sink.pseudonymizer, WorkerIds::Hashes);
    // The key fingerprints go in batches to a thread of their own, which files them and looks for a
    // repeat: the rows' checks stay the only work of this thread.
    let (batches, filed) = std::sync::mpsc::sync_channel::<Vec<u64>>(KEY_BATCHES_AHEAD);
    let (read, unique) = std::thread::scope(|scope| {
        let keys = scope.spawn(move || {
            let mut parts = FingerprintParts::new(expected);
            for batch in filed {
                batch.into_iter().for_each(|fp| parts.push(fp));
            }
            !parts.has_repeats()
        });
        let mut batch = Vec::with_capacity(KEY_BATCH);
        let read = each_row(source, sink, &mut |row| {
            let Some(r) = cells.read(row) else { return };
            batch.push(key_fingerprint(r.project, r.employer, r.worker, r.period));
            if batch.len() == KEY_BATCH {
                // The receiver lives until this sender is dropped.
                let _ = batches.send(std::mem::replace(&mut batch, Vec::with_capacity(KEY_BATCH)));
            }
            if window.keeps_payroll(r.due_date) {
                let worker = cells.pseudonym(row, &r);
                t.push(&r, worker);
            }
        });
        let _ = batches.send(batch);
        drop(batches);
        (read, keys.join().expect("the key filer does not panic"))
    });
    read?;
    let paid_months_kept = t.period.iter().all(|&m| window.keeps_payments_of(m));
    Ok((unique && paid_months_kept).then_some(t))
}

/// Key fingerprints sent to the filer at a time, and batches that may wait for it.
const KEY_BATCH: usize = 1 << 16;
const KEY_BATCHES_AHEAD: usize = 4;

/// A fast, unkeyed 64-bit hash of a worker id as the pseudonymiser reads it (as written), for telling rows
/// apart within one read; never stored.
fn id_hash(id: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(0x9e37_79b9_7f4a_7c15).hash_one(id.as_bytes())
}

/// Key fingerprints (well-mixed hashes) kept in 256 parts by their top byte as they are read, so that
/// looking for a repeat works on one part at a time, in cache.
struct FingerprintParts(Vec<Vec<u64>>);

impl FingerprintParts {
    /// Room for about `expected` fingerprints.
    fn new(expected: usize) -> Self {
        let each = expected / 256 + expected / 4096 + 16;
        FingerprintParts((0..256).map(|_| Vec::with_capacity(each)).collect())
    }

    fn push(&mut self, fp: u64) {
        self.0[(fp >> 56) as usize].push(fp);
    }

    /// Whether any fingerprint occurs twice (or, with odds of 2^-63, two differ in their lowest bit only),
    /// the parts looked at on two threads.
    fn has_repeats(self) -> bool {
        let (first, second) = self.0.split_at(self.0.len() / 2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| parts_have_repeats(second));
            parts_have_repeats(first) | other.join().expect("the repeat check does not panic")
        })
    }
}

/// Whether a fingerprint occurs twice within one of `parts`: each part goes into an open-addressing
/// table of twice its size, indexed by the fingerprint's low bits.
fn parts_have_repeats(parts: &[Vec<u64>]) -> bool {
    let mut table: Vec<u64> = Vec::new();
    parts.iter().any(|part| {
        let size = (part.len() * 2).next_power_of_two().max(16);
        table.clear();
        table.resize(size, 0); // 0: an empty slot; fingerprints are stored with their lowest bit set
        let mask = size - 1;
        part.iter().any(|&fp| {
            let fp = fp | 1;
            let mut i = (fp >> 1) as usize & mask;
            loop {
                match table[i] {
                    0 => {
                        table[i] = fp;
                        return false;
                    }
                    slot if slot == fp => return true,
                    _ => i = (i + 1) & mask,
                }
            }
        })
    })
}

/// The parts of the payroll a store already holds, by wage month (empty when reading a folder).
pub type PriorParts = BTreeMap<Month, Vec<PathBuf>>;

/// The new rows whose key the store already holds, read from the store's parts of the months they fall in.
fn rows_the_store_holds(
    t: &Payroll,
    fingerprints: &[u64],
    prior: &PriorParts,
    (employer_ids, employers): (&IdSet, usize),
    (project_ids, projects): (&IdSet, usize),
) -> Result<Vec<(usize, Option<usize>)>, IngestError> {
    if prior.is_empty() {
        return Ok(Vec::new());
    }
    let months: BTreeSet<Month> = t.period.iter().copied().collect();
    let parts: Vec<PathBuf> = months.iter().filter_map(|m| prior.get(m)).flatten().cloned().collect();
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let keys = PriorKeys::read(&parts, employer_ids, employers, project_ids, projects)?;
    Ok((0..t.len())
        .filter(|&r| keys.holds(fingerprints[r], t.project[r], t.employer[r], t.worker[r], t.period[r]))
        .map(|r| (r, None))
        .collect())
}

/// Pairs (duplicate row, earlier row with the same key), in row order.
fn duplicate_payroll_rows(t: &Payroll, fingerprints: &[u64]) -> Vec<(usize, usize)> {
    let mut sorted = fingerprints.to_vec();
    sorted.sort_unstable();
    let mut repeated: FastMap<u64, Vec<usize>> = FastMap::default();
    for w in sorted.windows(2) {
        if w[0] == w[1] {
            repeated.entry(w[0]).or_default();
        }
    }
    if repeated.is_empty() {
        return Vec::new();
    }
    for (r, fp) in fingerprints.iter().enumerate() {
        if let Some(rows) = repeated.get_mut(fp) {
            rows.push(r);
        }
    }
    let same = |a: usize, b: usize| {
        t.project[a] == t.project[b]
            && t.employer[a] == t.employer[b]
            && t.worker[a] == t.worker[b]
            && t.period[a] == t.period[b]
    };
    let mut out = Vec::new();
    for rows in repeated.values() {
        for (k, &r) in rows.iter().enumerate() {
            if let Some(&first) = rows[..k].iter().find(|&&e| same(e, r)) {
                out.push((r, first));
            }
        }
    }
    out.sort_unstable();
    out
}

/// Reads `payments`; ids that `employers` or `projects` do not register are kept as unregistered ids.
pub fn read_payments(
    source: &TableSource,
    sink: &mut Sink<'_>,
    employer_ids: &mut IdSet,
    project_ids: &mut IdSet,
) -> Result<Payments, IngestError> {
    read_payments_kept(source, sink, employer_ids, project_ids, None)
}

/// Reads `payments` for scoring as of one date: every row is checked as [`read_payments`] checks it (and its
/// ids interned alike), but only the payments `window` keeps are stored, and only theirs are pseudonymised.
pub fn read_payments_window(
    source: &TableSource,
    sink: &mut Sink<'_>,
    employer_ids: &mut IdSet,
    project_ids: &mut IdSet,
    window: &ScoringWindow,
) -> Result<Payments, IngestError> {
    read_payments_kept(source, sink, employer_ids, project_ids, Some(window))
}

/// Checks every payment and stores those `window` keeps (all without one). A whole read pseudonymises each
/// worker id as it checks it; a windowed one only those of the payments it keeps.
fn read_payments_kept(
    source: &TableSource,
    sink: &mut Sink<'_>,
    employer_ids: &mut IdSet,
    project_ids: &mut IdSet,
    window: Option<&ScoringWindow>,
) -> Result<Payments, IngestError> {
    let mut t = Payments::default();
    t.reserve(source::row_count_hint(source));
    let pseudonymizer = sink.pseudonymizer;
    let (mut last_employer, mut last_project) = (LastId::default(), LastId::default());
    let (mut project_memo, mut employer_memo) = (DictMemo::new(), DictMemo::new());
    let (mut worker_memo, mut pseudonym_memo, mut period_memo) = (DictMemo::new(), DictMemo::new(), DictMemo::new());
    each_row(source, sink, &mut |row| {
        // Unregistered ids are interned, never rejected, so a memoised index stays right.
        let project = if row.cols[0].is_null_at(row.row) {
            Some(None)
        } else {
            project_memo
                .get(row, 0, |row| {
                    let id = row.id(0)?;
                    last_project.get(id, |id| Some(lookup_or_intern(project_ids, id))).map(ProjectIx::new)
                })
                .map(Some)
        };
        let employer = employer_memo.get(row, 1, |row| {
            let id = row.id(1)?;
            last_employer.get(id, |id| Some(lookup_or_intern(employer_ids, id))).map(EmployerIx::new)
        });
        // The worker id is checked here, in column order.
        let worker: Option<Option<WorkerKey>> =
            worker_memo.get(row, 2, |row| row.id(2).map(|w| window.is_none().then(|| pseudonymizer.pseudonym(w))));
        let period = period_memo.get(row, 3, |row| row.month(3));
        let amount = row.money(4);
        let paid_on = row.date(5);
        let (Some(project), Some(employer), Some(worker), Some(period), Some(amount), Some(paid_on)) =
            (project, employer, worker, period, amount, paid_on)
        else {
            return;
        };
        if !row.ok() || window.is_some_and(|w| !w.keeps_payment(period, paid_on)) {
            return;
        }
        let worker = match worker {
            Some(key) => key,
            None => {
                let key = pseudonym_memo.get(row, 2, |row| row.id(2).map(|w| pseudonymizer.pseudonym(w)));
                key.expect("the worker id of a good row was checked")
            }
        };
        t.project.push(project);
        t.employer.push(employer);
        t.worker.push(worker);
        t.period.push(period);
        t.amount.push(amount);
        t.paid_on.push(paid_on);
    })?;
    Ok(t)
}

/// Reads `complaints`; at least one of employer_id and project_id must be set.
pub fn read_complaints(
    source: &TableSource,
    sink: &mut Sink<'_>,
    employer_ids: &mut IdSet,
    project_ids: &mut IdSet,
) -> Result<Complaints, IngestError> {
    let mut t = Complaints::default();
    let mut seen: FastMap<Box<str>, u64> = FastMap::default();
    each_row(source, sink, &mut |row| {
        let id = row.id(0);
        let received = row.date(1);
        let employer = row.id(2);
        let project = row.id(3);
        let channel = row.enumeration(4, CHANNELS);
        let category = row.enumeration(5, CATEGORIES);
        let workers = row.int(6);
        let claimed = row.money(7);
        let closed = row.date(8);
        let outcome = row.enumeration(9, OUTCOMES);
        if employer.is_none() && project.is_none() && row.ok() {
            row.fail(None, ProblemKind::NoSubject, "neither employer_id nor project_id is set".into());
        }
        let (Some(id), Some(received), Some(channel), Some(category), Some(workers)) =
            (id, received, channel, category, workers)
        else {
            return;
        };
        if !row.ok() {
            return;
        }
        if let Some(first) = seen.get(id) {
            row.fail(Some(0), ProblemKind::DuplicateKey, format!("complaint_id {id:?} already appears in row {first}"));
            return;
        }
        seen.insert(id.into(), row.source_row());
        t.complaint_id.push(id);
        t.received_on.push(received);
        t.employer.push(employer.map(|e| EmployerIx::new(lookup_or_intern(employer_ids, e))));
        t.project.push(project.map(|p| ProjectIx::new(lookup_or_intern(project_ids, p))));
        t.channel.push(Channel::ALL[channel]);
        t.category.push(Category::ALL[category]);
        t.workers_involved.push(workers as u32);
        t.amount_claimed.push(claimed);
        t.closed_on.push(closed);
        t.outcome.push(outcome.map(|o| Outcome::ALL[o]));
    })?;
    Ok(t)
}

/// Reads `progress_payments`; the project must be registered.
pub fn read_progress_payments(
    source: &TableSource,
    sink: &mut Sink<'_>,
    project_ids: &IdSet,
    projects: usize,
) -> Result<ProgressPayments, IngestError> {
    let mut t = ProgressPayments::default();
    each_row(source, sink, &mut |row| {
        let project_id = row.id(0);
        let scheduled = row.date(1);
        let due = row.money(2);
        let paid_on = row.date(3);
        let paid = row.money(4);
        let project = row.reference(0, project_id, project_ids, projects, Table::Projects);
        let (Some(project), Some(scheduled), Some(due)) = (project, scheduled, due) else { return };
        if !row.ok() {
            return;
        }
        t.project.push(ProjectIx::new(project));
        t.scheduled_on.push(scheduled);
        t.amount_due.push(due);
        t.paid_on.push(paid_on);
        t.amount_paid.push(paid);
    })?;
    Ok(t)
}

/// Reads `inspections`.
pub fn read_inspections(
    source: &TableSource,
    sink: &mut Sink<'_>,
    employer_ids: &mut IdSet,
    project_ids: &mut IdSet,
) -> Result<Inspections, IngestError> {
    let mut t = Inspections::default();
    let mut seen: FastMap<Box<str>, u64> = FastMap::default();
    each_row(source, sink, &mut |row| {
        let id = row.id(0);
        let employer = row.id(1);
        let project = row.id(2);
        let inspected = row.date(3);
        let found = row.boolean(4);
        let amount = row.money(5);
        let workers = row.int(6);
        let selection = row.enumeration(7, SELECTIONS);
        let (Some(id), Some(employer), Some(inspected), Some(found)) = (id, employer, inspected, found) else { return };
        if !row.ok() {
            return;
        }
        if let Some(first) = seen.get(id) {
            row.fail(
                Some(0),
                ProblemKind::DuplicateKey,
                format!("inspection_id {id:?} already appears in row {first}"),
            );
            return;
        }
        seen.insert(id.into(), row.source_row());
        t.inspection_id.push(id);
        t.employer.push(EmployerIx::new(lookup_or_intern(employer_ids, employer)));
        t.project.push(project.map(|p| ProjectIx::new(lookup_or_intern(project_ids, p))));
        t.inspected_on.push(inspected);
        t.found_arrears.push(found);
        t.arrears_amount.push(amount);
        t.workers_affected.push(workers.map(|w| w as u32));
        t.selection.push(selection.map(|s| Selection::ALL[s]));
    })?;
    Ok(t)
}

/// Reads `regions`: a name per division code, each code once.
pub fn read_regions(
    source: &TableSource,
    sink: &mut Sink<'_>,
) -> Result<Vec<(crate::contract::RegionPrefix, String)>, IngestError> {
    let mut names = Vec::new();
    let mut seen: FastMap<crate::contract::RegionPrefix, u64> = FastMap::default();
    each_row(source, sink, &mut |row| {
        let code = row.division(0);
        let name = row.text(1);
        let (Some(code), Some(name)) = (code, name) else { return };
        if !row.ok() {
            return;
        }
        if let Some(first) = seen.get(&code) {
            row.fail(Some(0), ProblemKind::DuplicateKey, format!("region_code {code} already appears in row {first}"));
            return;
        }
        seen.insert(code, row.source_row());
        names.push((code, name.trim().to_string()));
    })?;
    Ok(names)
}
