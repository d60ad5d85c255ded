//! One ingest in steps: the registries (employers, projects) first, then payroll, payments and the small
//! tables in any number of calls, then the report. [`super::load_sources`] reads a folder with it in one
//! go; a store reads fact files one at a time with it, so that memory holds one file's rows, not all.

use std::path::PathBuf;

use super::build::{self, PriorParts, Registries, Sink};
use super::problems::{ProblemLog, QuarantineWriter};
use super::tables::{
    Complaints, Dataset, Employers, IdSet, Inspections, Payments, Payroll, ProgressPayments, Projects,
};
use super::{finish_quarantine, Format, IngestError, IngestOptions, Ingested, Mode, Pseudonymizer, Sources};
use super::{ScoringWindow, TableReport, TableSource};
use crate::contract::Table;

/// What one table's reading has seen so far.
struct TableState<'p> {
    sink: Sink<'p>,
    source: Option<(Format, Vec<PathBuf>)>,
    accepted: u64,
    trusted: bool,
}

impl TableState<'_> {
    fn saw(&mut self, src: &TableSource) {
        match &mut self.source {
            Some((_, files)) => files.extend(src.files.iter().cloned()),
            None => self.source = Some((src.format, src.files.clone())),
        }
    }
}

/// An ingest under way.
pub struct Session<'p> {
    mode: Mode,
    problems_listed: usize,
    /// Registered employers and projects: payroll and progress payments must name these.
    employer_ids: IdSet,
    project_ids: IdSet,
    owner_ids: IdSet,
    employers: Employers,
    projects: Projects,
    /// The registries plus ids only other tables name (payments, complaints, inspections).
    more_employer_ids: IdSet,
    more_project_ids: IdSet,
    complaints: Complaints,
    progress_payments: ProgressPayments,
    inspections: Inspections,
    regions: Vec<(crate::contract::RegionPrefix, String)>,
    tables: Vec<TableState<'p>>,
}

/// Reads payroll against the registries (see [`Session::split`]).
pub struct PayrollReader<'s, 'p> {
    employer_ids: &'s IdSet,
    employers: usize,
    project_ids: &'s IdSet,
    projects: usize,
    state: &'s mut TableState<'p>,
}

/// Reads payments and the small tables, which may name unregistered ids (see [`Session::split`]).
pub struct RestReader<'s, 'p> {
    registered_projects: (&'s IdSet, usize),
    employer_ids: &'s mut IdSet,
    project_ids: &'s mut IdSet,
    complaints: &'s mut Complaints,
    progress_payments: &'s mut ProgressPayments,
    inspections: &'s mut Inspections,
    states: [&'s mut TableState<'p>; 4],
}

impl<'p> Session<'p> {
    /// Starts an ingest: opens each table's problem log (and quarantine file), reads the registries.
    pub fn start(
        sources: &Sources,
        pseudonymizer: &'p Pseudonymizer,
        options: &IngestOptions,
    ) -> Result<Session<'p>, IngestError> {
        let quarantine_dir = match &options.mode {
            Mode::Quarantine(d) => Some(d.as_path()),
            Mode::Strict | Mode::Skip => None,
        };
        let mut tables = Vec::with_capacity(Table::ALL.len());
        for table in Table::ALL {
            let trusted = sources.is_trusted(table);
            let quarantine = match quarantine_dir.filter(|_| !trusted) {
                Some(d) => {
                    Some(QuarantineWriter::create(d, table).map_err(|source| IngestError::Quarantine { source })?)
                }
                None => None,
            };
            let sink = Sink {
                table,
                log: ProblemLog::new(options.problems_listed),
                quarantine,
                pseudonymizer,
                rows_read: 0,
                files: Vec::new(),
            };
            tables.push(TableState { sink, source: None, accepted: 0, trusted });
        }
        let mut session = Session {
            mode: options.mode.clone(),
            problems_listed: options.problems_listed,
            employer_ids: IdSet::default(),
            project_ids: IdSet::default(),
            owner_ids: IdSet::default(),
            employers: Employers::default(),
            projects: Projects::default(),
            more_employer_ids: IdSet::default(),
            more_project_ids: IdSet::default(),
            complaints: Complaints::default(),
            progress_payments: ProgressPayments::default(),
            inspections: Inspections::default(),
            regions: Vec::new(),
            tables,
        };
        session.read_registries(sources)?;
        Ok(session)
    }

    fn read_registries(&mut self, sources: &Sources) -> Result<(), IngestError> {
        if let Some(src) = sources.get(Table::Employers) {
            let state = &mut self.tables[Table::Employers as usize];
            state.saw(src);
            (self.employer_ids, self.employers) = build::read_employers(src, &mut state.sink)?;
            state.accepted = self.employers.len() as u64;
        }
        if let Some(src) = sources.get(Table::Projects) {
            let state = &mut self.tables[Table::Projects as usize];
            state.saw(src);
            (self.project_ids, self.owner_ids, self.projects) =
                build::read_projects(src, &mut state.sink, &self.employer_ids, self.employers.len())?;
            state.accepted = self.projects.len() as u64;
        }
        if let Some(src) = sources.get(Table::Regions) {
            let state = &mut self.tables[Table::Regions as usize];
            state.saw(src);
            self.regions = build::read_regions(src, &mut state.sink)?;
            state.accepted = self.regions.len() as u64;
        }
        self.more_employer_ids = self.employer_ids.clone();
        self.more_project_ids = self.project_ids.clone();
        Ok(())
    }

    /// The registries as read: employer ids, their count, project ids, their count.
    pub fn registries(&self) -> (&IdSet, usize, &IdSet, usize) {
        (&self.employer_ids, self.employers.len(), &self.project_ids, self.projects.len())
    }

    /// Every id read so far: the registries, then ids only payments, complaints or inspections name (the
    /// ids the indices of rows read in this session refer to).
    pub fn ids(&self) -> (&IdSet, &IdSet) {
        (&self.more_employer_ids, &self.more_project_ids)
    }

    /// Splits the session into a payroll reader and a reader of everything else, which may run on two threads.
    pub fn split(&mut self) -> (PayrollReader<'_, 'p>, RestReader<'_, 'p>) {
        let [_, _, payroll, payments, complaints, progress, inspections, _] = &mut self.tables[..] else {
            unreachable!("one state per contract table")
        };
        let payroll_reader = PayrollReader {
            employer_ids: &self.employer_ids,
            employers: self.employers.len(),
            project_ids: &self.project_ids,
            projects: self.projects.len(),
            state: payroll,
        };
        let rest = RestReader {
            registered_projects: (&self.project_ids, self.projects.len()),
            employer_ids: &mut self.more_employer_ids,
            project_ids: &mut self.more_project_ids,
            complaints: &mut self.complaints,
            progress_payments: &mut self.progress_payments,
            inspections: &mut self.inspections,
            states: [payments, complaints, progress, inspections],
        };
        (payroll_reader, rest)
    }

    /// Ends the ingest: the dataset (with the fact rows given, which a store may have written out and left
    /// empty here) and the report of every table; in strict mode, any bad row is an error.
    pub fn finish(self, payroll: Payroll, payments: Payments) -> Result<Ingested, IngestError> {
        let dataset = Dataset {
            employer_ids: self.more_employer_ids,
            project_ids: self.more_project_ids,
            owner_ids: self.owner_ids,
            employers: self.employers,
            projects: self.projects,
            payroll,
            payments,
            complaints: self.complaints,
            has_progress_payments: self.tables[Table::ProgressPayments as usize].source.is_some(),
            has_inspections: self.tables[Table::Inspections as usize].source.is_some(),
            progress_payments: self.progress_payments,
            inspections: self.inspections,
            regions: self.regions,
        };
        let mut reports = Vec::new();
        let mut all = ProblemLog::new(self.problems_listed);
        for state in self.tables {
            let quarantine_file = match state.sink.quarantine {
                Some(q) => finish_quarantine(q, state.sink.log.bad_rows)?,
                None => None,
            };
            if !state.trusted {
                all.merge(state.sink.log.clone());
            }
            reports.push(TableReport {
                table: state.sink.table,
                source: state.source,
                rows_read: state.sink.rows_read,
                rows_accepted: state.accepted,
                problems: state.sink.log,
                quarantine_file,
            });
        }
        if self.mode == Mode::Strict && all.bad_rows > 0 {
            return Err(IngestError::Invalid { total: all.total(), bad_rows: all.bad_rows, first: all.first });
        }
        Ok(Ingested { dataset, tables: reports })
    }
}

impl<'s> PayrollReader<'s, '_> {
    /// The registered employer and project ids the indices of payroll read here refer to.
    pub fn ids(&self) -> (&IdSet, &IdSet) {
        (self.employer_ids, self.project_ids)
    }

    /// Reads payroll files, checking keys also against the `prior` parts a store holds.
    pub fn read(self, src: &TableSource, prior: &PriorParts) -> Result<Payroll, IngestError> {
        let mut reader = self;
        reader.read_more(src, prior)
    }

    /// [`PayrollReader::read`] for one of several calls.
    pub fn read_more(&mut self, src: &TableSource, prior: &PriorParts) -> Result<Payroll, IngestError> {
        self.state.saw(src);
        let registries = self.registries();
        let t = build::read_payroll(src, &mut self.state.sink, registries, prior)?;
        self.state.accepted += t.len() as u64;
        Ok(t)
    }

    /// Reads payroll files for scoring as of one date: every row checked, the rows `window` keeps stored
    /// (see [`build::read_payroll_window`]); None when the whole table must be read instead.
    pub fn read_window(self, src: &TableSource, window: &ScoringWindow) -> Result<Option<Payroll>, IngestError> {
        self.state.saw(src);
        let registries = self.registries();
        let t = build::read_payroll_window(src, &mut self.state.sink, registries, window)?;
        if let Some(t) = &t {
            self.state.accepted += t.len() as u64;
        }
        Ok(t)
    }

    fn registries(&self) -> Registries<'s> {
        Registries {
            employer_ids: self.employer_ids,
            employers: self.employers,
            project_ids: self.project_ids,
            projects: self.projects,
        }
    }
}

impl RestReader<'_, '_> {
    /// Every id read so far (the registries, then ids only other tables name), which the indices of
    /// payments read here refer to.
    pub fn ids(&self) -> (&IdSet, &IdSet) {
        (self.employer_ids, self.project_ids)
    }

    /// Reads payments files.
    pub fn read_payments(&mut self, src: &TableSource) -> Result<Payments, IngestError> {
        let state = &mut *self.states[0];
        state.saw(src);
        let t = build::read_payments(src, &mut state.sink, self.employer_ids, self.project_ids)?;
        state.accepted += t.len() as u64;
        Ok(t)
    }

    /// Reads payments files for scoring as of one date: every row checked, the payments `window` keeps stored.
    pub fn read_payments_window(&mut self, src: &TableSource, window: &ScoringWindow) -> Result<Payments, IngestError> {
        let state = &mut *self.states[0];
        state.saw(src);
        let t = build::read_payments_window(src, &mut state.sink, self.employer_ids, self.project_ids, window)?;
        state.accepted += t.len() as u64;
        Ok(t)
    }

    /// Reads complaints, progress payments and inspections, those that `sources` names.
    pub fn read_small(&mut self, sources: &Sources) -> Result<(), IngestError> {
        if let Some(src) = sources.get(Table::Complaints) {
            let state = &mut *self.states[1];
            state.saw(src);
            *self.complaints = build::read_complaints(src, &mut state.sink, self.employer_ids, self.project_ids)?;
            state.accepted = self.complaints.len() as u64;
        }
        if let Some(src) = sources.get(Table::ProgressPayments) {
            let state = &mut *self.states[2];
            state.saw(src);
            let (ids, n) = self.registered_projects;
            *self.progress_payments = build::read_progress_payments(src, &mut state.sink, ids, n)?;
            state.accepted = self.progress_payments.len() as u64;
        }
        if let Some(src) = sources.get(Table::Inspections) {
            let state = &mut *self.states[3];
            state.saw(src);
            *self.inspections = build::read_inspections(src, &mut state.sink, self.employer_ids, self.project_ids)?;
            state.accepted = self.inspections.len() as u64;
        }
        Ok(())
    }
}
