//! Runs: a batch re-score of every employer and project as of a date, stored and published atomically.
//!
//! A run is a folder `<state>/runs/<run_id>/` of Parquet files (`scores.parquet`: the contract's watchlist
//! columns plus names, reasons with their values, alerts and the change since the previous run;
//! `features.parquet`: every feature of every entity; `relations.parquet`: who works on which project)
//! and a row in the state database's run registry. Publishing writes the folder under a staging name,
//! syncs every file, renames it into place, syncs the parent, and only then commits the registry row:
//! until that commit the previous run is the one served, and a folder without a row is removed at the
//! next start. Older runs are expired by the configured retention.

pub mod alerts;
mod context;
pub mod export;
pub(crate) mod files;
pub mod floors;
pub mod outcomes;
pub mod plan;
pub mod schedule;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::state::{
    DriftAgainst, DriftRow, JobStatus, ModelRole, RecordedInspection, RunCounts, RunDrift, RunRecord, RunStatus,
    Shadow, StateError, Store, Timestamp,
};
use wagewatch_core::contract::{Category, Date, EmployerKind, Money, Month, Outcome, RegionCode, Sector};
use wagewatch_core::drift::{self, EntityReference};
use wagewatch_core::features::{self, EntityType, Feature};
use wagewatch_core::ingest::tables::{Dataset, EmployerIx};
use wagewatch_core::model::floors::BandFloor;
use wagewatch_core::model::{self, Band, Reason, RiskModel};
use wagewatch_core::regions::RegionNames;
use wagewatch_core::worker_months::WorkerMonths;

use crate::config::{self, Config};
use crate::datastore::{DataStore, ScoringData};
use context::{ContextStream, RunContext};
use outcomes::Judging;

/// Set to `rescore-after-scores` to make a re-score stop for a minute after writing its first file, so a
/// test can kill it midway. Never set in production.
pub const FAILPOINT_ENV: &str = "WAGEWATCH_FAILPOINT";

/// Why a run could not be made, read or published.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("run file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("no run {run_id}")]
    UnknownRun { run_id: String },
    #[error("no model in {path}: train one first (wagewatch train)")]
    NoModel { path: PathBuf },
    #[error(transparent)]
    Model(#[from] model::ModelError),
    #[error(transparent)]
    Ingest(#[from] wagewatch_core::ingest::IngestError),
    #[error(transparent)]
    Data(#[from] crate::datastore::DataStoreError),
    #[error("as of {as_of} lies outside the data, whose payroll falls due from {first} to {last} (a re-score may be as of up to {AS_OF_AFTER_DATA_DAYS} days after the last)")]
    AsOfOutsideData { as_of: Date, first: Date, last: Date },
    /// A re-score job run elsewhere (a child process) failed; `reason` is what it recorded.
    #[error("the re-score job failed: {reason}")]
    Job { reason: String },
}

/// How many days after the data's last payroll due date a re-score may still be as of.
pub const AS_OF_AFTER_DATA_DAYS: i32 = 92;

impl RunError {
    /// The message without any cell value of the data (for the run registry and the API, which people
    /// who may not see the data read); the full message goes to the log.
    pub fn redacted(&self) -> String {
        match self {
            RunError::Ingest(e) => e.redacted(),
            RunError::Data(e) => e.redacted(),
            other => other.to_string(),
        }
    }
}

/// Fails unless `as_of` lies within the dataset's payroll history (up to [`AS_OF_AFTER_DATA_DAYS`] after it).
pub fn check_as_of(ds: &Dataset, as_of: Date) -> Result<(), RunError> {
    let due = &ds.payroll.due_date;
    let (Some(first), Some(last)) = (due.iter().min().copied(), due.iter().max().copied()) else {
        return Ok(());
    };
    if as_of < first || as_of > last.add_days(AS_OF_AFTER_DATA_DAYS) {
        return Err(RunError::AsOfOutsideData { as_of, first, last });
    }
    Ok(())
}

/// How a project and an employer are linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relation {
    /// The project's general contractor.
    GeneralContractor,
    /// An employer with payroll on the project other than its general contractor.
    Subcontractor,
    /// The project's owner (建设单位), who need not be a registered employer; not a stored link, but
    /// shown beside the others.
    Owner,
}

impl Relation {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Relation::GeneralContractor => "general_contractor",
            Relation::Subcontractor => "subcontractor",
            Relation::Owner => "owner",
        }
    }

    /// A stored link's relation (owners are not stored as links).
    fn parse(code: &str) -> Option<Relation> {
        [Relation::GeneralContractor, Relation::Subcontractor].into_iter().find(|r| r.code() == code)
    }
}

/// One scored entity of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    pub entity_type: EntityType,
    pub entity_id: String,
    pub name: String,
    pub region: RegionCode,
    /// An employer's sector; projects are construction.
    pub sector: Sector,
    /// An employer's kind; none for projects.
    pub kind: Option<EmployerKind>,
    /// The calibrated probability.
    pub score: f64,
    pub raw_score: f64,
    /// 1 = highest risk within the entity type.
    pub rank: u32,
    pub band: Band,
    pub reasons: Vec<Reason>,
    /// The expected unpaid wages (yuan) and workers affected in the horizon; none when the model has no
    /// amount model, or the run was published before they were kept.
    pub expected_unpaid_yuan: Option<f64>,
    pub expected_workers: Option<f64>,
    /// For a red or orange entity, the measures that would lower its probability (建议措施), largest drop
    /// first, each with the probability after it.
    pub levers: Vec<model::LeverEffect>,
    /// A project's progress payments 30+ days overdue at the as-of date, yuan (what its owner owes).
    pub progress_overdue_yuan: Option<f64>,
    /// The configured floor that raised the band above what the score gives ([`floors`]), if one did.
    pub floor: Option<BandFloor>,
    pub alerts: features::Alerts,
    /// The score and band in the previous run, if the entity was in it.
    pub previous_score: Option<f64>,
    pub previous_band: Option<Band>,
    /// On the list (not green) now and not in the previous run's list.
    pub new_on_list: bool,
    /// A project's general contractor and owner ids.
    pub general_contractor_id: Option<String>,
    pub owner_id: Option<String>,
    /// Feature values in the order of `entity_type.features()`.
    pub features: Vec<f64>,
}

impl RunRow {
    /// The value of a feature of the row's entity type, if it has it.
    pub fn feature(&self, f: Feature) -> Option<f64> {
        self.entity_type.features().iter().position(|g| *g == f).and_then(|j| self.features.get(j).copied())
    }

    /// The levers as an inspector reads them (Chinese, English), each quoting what is owed and the drop.
    pub fn lever_texts(&self) -> Vec<(model::LeverEffect, String, String)> {
        self.levers
            .iter()
            .map(|effect| {
                let (amount, owner) = match effect.lever {
                    model::Lever::PayOverdueWages => {
                        let own = self.feature(Feature::OverdueUnpaidYuan);
                        let sites = self.feature(Feature::SiteOverdueUnpaidYuan);
                        (own.into_iter().chain(sites).filter(|v| v.is_finite()).reduce(f64::max), None)
                    }
                    model::Lever::ClearProgressPayments => (self.progress_overdue_yuan, self.owner_id.as_deref()),
                    _ => (None, None),
                };
                let (zh, en) = model::levers::lever_text(effect, self.score, amount, owner);
                (*effect, zh, en)
            })
            .collect()
    }
}

#[cfg(test)]
impl RunRow {
    /// A row with the given identity, band and score and nothing else, for tests.
    pub(crate) fn for_tests(t: EntityType, id: &str, region: RegionCode, band: Band, score: f64) -> RunRow {
        RunRow {
            entity_type: t,
            entity_id: id.into(),
            name: id.into(),
            region,
            sector: Sector::Construction,
            kind: None,
            score,
            raw_score: score,
            rank: 1,
            band,
            reasons: Vec::new(),
            expected_unpaid_yuan: None,
            expected_workers: None,
            levers: Vec::new(),
            progress_overdue_yuan: None,
            floor: None,
            alerts: features::Alerts::default(),
            previous_score: None,
            previous_band: None,
            new_on_list: false,
            general_contractor_id: None,
            owner_id: None,
            features: Vec::new(),
        }
    }
}

/// A project-employer link of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub project_id: String,
    pub employer_id: String,
    pub relation: Relation,
}

/// A wage month of an entity: what fell due and what had been paid for it by the as-of date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WageMonth {
    pub entity_type: EntityType,
    pub entity_id: String,
    pub month: Month,
    pub due: Money,
    pub paid: Money,
}

/// A complaint or inspection in an entity's timeline, as known on the as-of date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEvent {
    pub entity_type: EntityType,
    pub entity_id: String,
    pub on: Date,
    pub what: Happened,
    pub workers: Option<u32>,
    pub amount: Option<Money>,
}

/// What a timeline event was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Happened {
    /// A complaint received, with its outcome once it was closed by the as-of date.
    Complaint { category: Category, outcome: Option<Outcome> },
    /// An inspection, and whether it found arrears.
    Inspection { found_arrears: bool },
}

impl Happened {
    /// The stored codes: kind (`complaint` or `inspection`), detail (the complaint's category, or
    /// `found_arrears` / `no_arrears`) and the complaint's outcome.
    pub fn codes(self) -> (&'static str, &'static str, Option<&'static str>) {
        match self {
            Happened::Complaint { category, outcome } => ("complaint", category.code(), outcome.map(Outcome::code)),
            Happened::Inspection { found_arrears } => {
                ("inspection", if found_arrears { "found_arrears" } else { "no_arrears" }, None)
            }
        }
    }

    /// The event from its stored codes, if they are ones [`Happened::codes`] writes.
    pub fn from_codes(kind: &str, detail: &str, outcome: Option<&str>) -> Option<Happened> {
        match kind {
            "complaint" => Some(Happened::Complaint {
                category: Category::parse(detail)?,
                outcome: match outcome {
                    Some(o) => Some(Outcome::parse(o)?),
                    None => None,
                },
            }),
            "inspection" if outcome.is_none() => match detail {
                "found_arrears" => Some(Happened::Inspection { found_arrears: true }),
                "no_arrears" => Some(Happened::Inspection { found_arrears: false }),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A published run read back: its registry record, rows (employers then projects, each by rank), links,
/// and each entity's wage months and timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct RunData {
    pub record: RunRecord,
    pub rows: Vec<RunRow>,
    pub links: Vec<Link>,
    pub wages: Vec<WageMonth>,
    pub events: Vec<TimelineEvent>,
    /// Division names: the built-in ones with the run's data's `regions` table laid over them.
    pub names: RegionNames,
}

impl RunData {
    /// The folder of a run.
    pub fn dir(store: &Store, run_id: &str) -> PathBuf {
        store.runs_dir().join(run_id)
    }

    /// Reads a published run.
    pub fn load(store: &Store, record: RunRecord) -> Result<RunData, RunError> {
        let dir = RunData::dir(store, &record.run_id);
        let mut rows = files::read_scores(&dir.join(files::SCORES))?;
        files::read_features(&dir.join(files::FEATURES), &mut rows)?;
        let links = files::read_links(&dir.join(files::RELATIONS))?;
        let wages = files::read_wages(&dir.join(files::WAGES))?;
        let events = files::read_events(&dir.join(files::EVENTS))?;
        let names = RegionNames::builtin().with(store.run_regions(&record.run_id)?);
        Ok(RunData { record, rows, links, wages, events, names })
    }
}

/// What a re-score is asked to do.
#[derive(Clone, Debug)]
pub struct RescoreRequest {
    pub as_of: Date,
    /// `cli`, `api`, `schedule` or `new_data`.
    pub trigger: String,
}

/// The newest model in a folder (by the date it was trained as of, then by id).
pub fn newest_model(models: &Path) -> Result<String, RunError> {
    let mut best: Option<(Date, String)> = None;
    for id in model::artifact::list(models) {
        if let Ok(m) = model::artifact::load(models, &id) {
            let key = (m.trained_as_of, id);
            if best.as_ref().is_none_or(|b| key > *b) {
                best = Some(key);
            }
        }
    }
    best.map(|(_, id)| id).ok_or_else(|| RunError::NoModel { path: models.to_path_buf() })
}

/// Adds the inspections recorded over the API that the dataset does not already hold (by id), so that
/// features and later training see them. Returns how many were added; ones naming an unknown employer or
/// project are skipped with a warning.
pub fn merge_recorded_inspections(ds: &mut Dataset, recorded: &[RecordedInspection]) -> usize {
    let known: HashSet<String> =
        (0..ds.inspections.len()).map(|i| ds.inspections.inspection_id.get(i).to_string()).collect();
    let mut added = 0;
    for r in recorded {
        if known.contains(&r.inspection_id) {
            continue;
        }
        let Some(e) = ds.employer_ids.get(&r.employer_id).filter(|&e| e < ds.employers.len()) else {
            tracing::warn!(inspection = %r.inspection_id, "recorded inspection names an unknown employer; skipped");
            continue;
        };
        let project = match &r.project_id {
            Some(p) => match ds.project_ids.get(p).filter(|&p| p < ds.projects.len()) {
                Some(p) => Some(wagewatch_core::ingest::tables::ProjectIx::new(p)),
                None => {
                    tracing::warn!(inspection = %r.inspection_id, "recorded inspection names an unknown project; skipped");
                    continue;
                }
            },
            None => None,
        };
        let t = &mut ds.inspections;
        t.inspection_id.push(&r.inspection_id);
        t.employer.push(EmployerIx::new(e));
        t.project.push(project);
        t.inspected_on.push(r.inspected_on);
        t.found_arrears.push(r.found_arrears);
        t.arrears_amount.push(r.arrears_amount);
        t.workers_affected.push(r.workers_affected);
        t.selection.push(r.selection);
        ds.has_inspections = true;
        added += 1;
    }
    added
}

/// The whole re-score an operator or the scheduler asks for: takes the re-score lock, reads the model
/// (the one named, the configured one, or the newest) and the dataset (strictly, plus the inspections
/// recorded over the API), then scores and publishes. A failure is recorded as a failed run.
pub fn rescore_from_folder(
    store: &mut Store,
    config: &Config,
    key: &wagewatch_core::ingest::Pseudonymizer,
    as_of: Date,
    model_id: Option<&str>,
    trigger: &str,
) -> Result<RunRecord, RunError> {
    let _lock = store.lock_rescore()?;
    let request = RescoreRequest { as_of, trigger: trigger.to_string() };
    // The model named, else the registry's champion, else the configured one, else the newest.
    let champion = store.champion()?;
    let model_id = match model_id.or(champion.as_deref()).or(config.model.as_deref()) {
        Some(m) => m.to_string(),
        None => match newest_model(&config.models) {
            Ok(m) => m,
            Err(e) => {
                record_failure(store, &request, "", &e.redacted())?;
                return Err(e);
            }
        },
    };
    let started = Instant::now();
    let loaded = (|| -> Result<(RiskModel, ScoringData, String), RunError> {
        let trained = model::artifact::load(&config.models, &model_id)?;
        let mut data = read_for_scoring(&config.data, key, as_of)?;
        let added = merge_recorded_inspections(data.dataset_mut(), &store.recorded_inspections()?);
        tracing::info!(added, "recorded inspections merged into the dataset");
        // A store's generation names what was scored, with the dataset's own fingerprint when inspections
        // recorded over the API were added (a store's facts are gathered a month at a time, so the small
        // tables' fingerprint, which holds the inspections, is added to the generation's).
        let fingerprint = match data.generation() {
            Some(g) if added == 0 => g.fingerprint(),
            Some(g) => format!("{}+{}", g.fingerprint(), model::fingerprint(data.dataset())),
            None => model::fingerprint(data.dataset()),
        };
        Ok((trained, data, fingerprint))
    })();
    let (trained, mut data, fingerprint) = match loaded {
        Ok(x) => x,
        Err(e) => {
            record_failure(store, &request, &model_id, &e.redacted())?;
            return Err(e);
        }
    };
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "model and small tables read");
    let inputs = ScoringInputs { data: &mut data, model: &trained, data_fingerprint: &fingerprint };
    rescore(store, inputs, &request, config)
}

/// What a re-score as of `as_of` reads: from a store, its small tables and the wage months that date needs,
/// gathered one at a time; from a dataset folder, the whole folder, the date checked against it.
fn read_for_scoring(
    data: &Path,
    key: &wagewatch_core::ingest::Pseudonymizer,
    as_of: Date,
) -> Result<ScoringData, RunError> {
    if DataStore::is_store(data) {
        // a store checks the date against all it holds, not the rows read
        return Ok(crate::datastore::read_for_scoring(data, key, None, as_of)?);
    }
    let (ds, _) = crate::datastore::read_data(data, key, None, None)?;
    check_as_of(&ds, as_of)?;
    let wm = WorkerMonths::build(&ds);
    Ok(ScoringData::Loaded(ds, wm))
}

/// A re-score the server asked for, as a job of the registry's.
#[derive(Clone, Copy, Debug)]
pub struct JobRequest<'a> {
    pub job_id: &'a str,
    pub as_of: Date,
    pub model_id: Option<&'a str>,
    /// `api`, `schedule` or `new_data`.
    pub trigger: &'a str,
}

/// A server's re-score job, on this thread: marks the job running, reads the pseudonymisation key (the
/// environment's, else `key_file`), re-scores and publishes, and records the outcome on the job (an error
/// with cell values redacted; the full error is returned for the log). The server calls it on a blocking
/// thread or runs it in a process of its own (`wagewatch rescore --job`).
pub fn run_job(store: &mut Store, config: &Config, key_file: &Path, job: &JobRequest) -> Result<RunRecord, RunError> {
    store.update_job(job.job_id, JobStatus::Running, None, None)?;
    let outcome = wagewatch_core::ingest::Pseudonymizer::from_env_or_file(key_file)
        .map_err(|e| RunError::File { path: key_file.to_path_buf(), reason: e.to_string() })
        .and_then(|key| rescore_from_folder(store, config, &key, job.as_of, job.model_id, job.trigger));
    match &outcome {
        Ok(record) => store.update_job(job.job_id, JobStatus::Succeeded, Some(&record.run_id), None)?,
        Err(e) => store.update_job(job.job_id, JobStatus::Failed, None, Some(&e.redacted()))?,
    }
    outcome
}

/// What a run is scored from: the data (a dataset with its worker-month index, or a store read a wage month
/// at a time), the model and the data's fingerprint.
pub struct ScoringInputs<'a> {
    pub data: &'a mut ScoringData,
    pub model: &'a RiskModel,
    pub data_fingerprint: &'a str,
}

/// One attempt at a run: its id and when it started.
struct Attempt {
    run_id: String,
    created_at: Timestamp,
    started: Instant,
}

/// The registry row of a failed attempt.
fn failed_run(
    attempt: &Attempt,
    request: &RescoreRequest,
    model_id: &str,
    fingerprint: &str,
    error: &str,
) -> RunRecord {
    RunRecord {
        run_id: attempt.run_id.clone(),
        as_of: request.as_of,
        model_id: model_id.to_string(),
        data_fingerprint: fingerprint.to_string(),
        created_at: attempt.created_at,
        status: RunStatus::Failed,
        trigger: request.trigger.clone(),
        previous_run_id: None,
        counts: RunCounts::default(),
        seconds: attempt.started.elapsed().as_secs_f64(),
        error: Some(error.to_string()),
        drift: None,
        shadow: None,
    }
}

impl Attempt {
    fn new(prefix: &str) -> Attempt {
        let created_at = Timestamp::now();
        let stamp = created_at.to_string().replace([':', '-'], "");
        let run_id = format!("{prefix}-{}-{}", stamp.trim_end_matches('Z'), &crate::state::random_id("")[..6]);
        Attempt { run_id, created_at, started: Instant::now() }
    }
}

/// Scores every entity as of a date and publishes the run. A failure is recorded in the registry as a
/// failed run (and returned); the previously published run stays current.
pub fn rescore(
    store: &mut Store,
    inputs: ScoringInputs,
    request: &RescoreRequest,
    config: &Config,
) -> Result<RunRecord, RunError> {
    let attempt = Attempt::new("run");
    let (model_id, data_fingerprint) = (inputs.model.model_id.clone(), inputs.data_fingerprint.to_string());
    build_and_publish(store, inputs, request, config, &attempt).inspect_err(|e| {
        let failed = failed_run(&attempt, request, &model_id, &data_fingerprint, &e.redacted());
        if let Err(record_err) = store.insert_run(&failed, &[], &[], &[], &[]) {
            tracing::error!(error = %record_err, "could not record the failed run");
        }
        let _ = fs::remove_dir_all(store.runs_dir().join(format!(".staging-{}", attempt.run_id)));
    })
}

/// Records a re-score that failed before a model or dataset was at hand (for `/v1/runs`).
pub fn record_failure(
    store: &mut Store,
    request: &RescoreRequest,
    model_id: &str,
    error: &str,
) -> Result<(), RunError> {
    store.insert_run(&failed_run(&Attempt::new("failed"), request, model_id, "", error), &[], &[], &[], &[])?;
    Ok(())
}

fn build_and_publish(
    store: &mut Store,
    inputs: ScoringInputs,
    request: &RescoreRequest,
    config: &Config,
    attempt: &Attempt,
) -> Result<RunRecord, RunError> {
    let ScoringInputs { data, model: trained, data_fingerprint } = inputs;
    let run_id = attempt.run_id.as_str();
    let previous = match store.latest_published()? {
        Some(record) => Some(RunData::load(store, record)?),
        None => None,
    };
    let (as_of, horizon_days) = (request.as_of, trained.horizon_days);
    let judging = Judging::start(store, data.dataset(), &config.models, as_of, horizon_days, data_fingerprint);
    let (feats, context, judging) = gather(data, as_of, horizon_days, judging)?;
    let ds = data.dataset();
    tracing::debug!(seconds = attempt.started.elapsed().as_secs_f64(), "features and the run's context gathered");
    let scoring = model::score(trained, &feats, &config.bands.cutoffs()).map(|scored| (feats, scored));
    let (feats, scored) = scoring?;
    tracing::debug!(seconds = attempt.started.elapsed().as_secs_f64(), "scored");
    let mut rows = build_rows(ds, &feats, &scored);
    assign_bands(&mut rows, &config.bands);
    floors::apply(&mut rows, ds, request.as_of, &config.bands.floors());
    let counts = mark_changes(&mut rows, previous.as_ref());
    let same_model = previous.as_ref().is_none_or(|p| p.record.model_id == trained.model_id);
    let raised = alerts::derive(&rows, previous.as_ref().map(|p| p.rows.as_slice()), same_model, &config.alerts);
    let (drift, drift_rows) = measure_drift(trained, &rows, previous.as_ref(), request.as_of, config.drift.threshold);
    let shadow = shadow(store, config, trained, &feats, &scored);

    tracing::debug!(seconds = attempt.started.elapsed().as_secs_f64(), "banded, alerts and drift");
    let runs_dir = store.runs_dir();
    let staging = runs_dir.join(format!(".staging-{run_id}"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RunError::Io { path, source }
    };
    crate::state::create_private_dir(&staging).map_err(io(&staging))?;
    files::write_scores(&staging.join(files::SCORES), &rows)?;
    if std::env::var(FAILPOINT_ENV).as_deref() == Ok("rescore-after-scores") {
        tracing::warn!("failpoint: pausing mid-run");
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
    // The features beside the chain, wage and event files: two writers, one per core.
    let (features, others) = std::thread::scope(|s| {
        let others = s.spawn(|| {
            files::write_links(&staging.join(files::RELATIONS), &context.links)?;
            files::write_wages(&staging.join(files::WAGES), &context.wages)?;
            files::write_events(&staging.join(files::EVENTS), &context.events)
        });
        (files::write_features(&staging.join(files::FEATURES), &rows), others.join().expect("a writer does not panic"))
    });
    features?;
    others?;
    let target = runs_dir.join(run_id);
    fs::rename(&staging, &target).map_err(io(&target))?;
    fs::File::open(&runs_dir).and_then(|d| d.sync_all()).map_err(io(&runs_dir))?;

    tracing::debug!(seconds = attempt.started.elapsed().as_secs_f64(), "files written");
    let record = RunRecord {
        run_id: run_id.to_string(),
        as_of: request.as_of,
        model_id: trained.model_id.clone(),
        data_fingerprint: data_fingerprint.to_string(),
        created_at: attempt.created_at,
        status: RunStatus::Published,
        trigger: request.trigger.clone(),
        previous_run_id: previous.as_ref().map(|p| p.record.run_id.clone()),
        counts,
        seconds: attempt.started.elapsed().as_secs_f64(),
        error: None,
        drift: Some(drift),
        shadow,
    };
    // The one step that makes the run visible.
    let webhooks: Vec<_> = config.alerts.webhooks.iter().map(|w| (w.name.clone(), w.region())).collect();
    store.insert_run(&record, &drift_rows, &raised, &webhooks, &ds.regions)?;
    for expired in store.expire_runs(config.retention.keep_runs)? {
        let dir = runs_dir.join(&expired);
        if let Err(e) = fs::remove_dir_all(&dir) {
            tracing::warn!(folder = %dir.display(), error = %e, "could not delete an expired run's folder");
        }
    }
    match store.expire_alerts(Timestamp::now().days_before(config.retention.alert_days)) {
        Ok((0, 0)) => {}
        Ok((alerts, pushes)) => tracing::info!(alerts, pushes, "alerts and pushes past the retention deleted"),
        Err(e) => tracing::warn!(error = %e, "could not delete alerts past the retention"),
    }
    tracing::debug!(seconds = attempt.started.elapsed().as_secs_f64(), "published");
    // What came of earlier lists, their horizons' events gathered with the features: judged once the run
    // is published; a failure leaves the run published, and the lists are judged by the next re-score.
    match judging.finish(store, ds, &config.models) {
        Ok(judged) if !judged.is_empty() => tracing::info!(runs = ?judged, "past runs judged against what happened"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not judge past runs"),
    }
    Ok(record)
}

/// Gathers what a run reads from the fact rows, a part at a time: the features, the run's context and the
/// events of the past runs to judge. The context is gathered on a thread of its own beside the features.
fn gather(
    data: &mut ScoringData,
    as_of: Date,
    horizon_days: i32,
    mut judging: Judging,
) -> Result<(features::Features, RunContext, Judging), RunError> {
    let mut feats = features::FeatureStream::new(data.dataset(), as_of);
    let mut context = ContextStream::new(as_of);
    data.each_part(|part, wm| {
        std::thread::scope(|s| {
            let gathering = s.spawn(|| context.add(part, wm));
            feats.add(part, wm);
            judging.add(part, wm);
            gathering.join().expect("gathering the run's context does not panic");
        })
    })?;
    let ds = data.dataset();
    let feats = feats.finish(ds, horizon_days).map_err(model::ModelError::from)?;
    Ok((feats, context.finish(ds), judging))
}

/// The registry's challenger scored on the same features as the run, in shadow, beside the served model's
/// scores (`served`): none when there is no challenger or it is the run's model; a challenger that cannot
/// be read or scored is logged and skipped.
fn shadow(
    store: &Store,
    config: &Config,
    trained: &model::RiskModel,
    feats: &features::Features,
    served: &[model::Scored],
) -> Option<Shadow> {
    let challenger = match store.models() {
        Ok(models) => models.into_iter().find(|m| m.role == ModelRole::Challenger)?,
        Err(e) => {
            tracing::warn!(error = %e, "the model registry cannot be read; no shadow scores");
            return None;
        }
    };
    if challenger.model_id == trained.model_id {
        return None;
    }
    let scored = model::artifact::load(&config.models, &challenger.model_id)
        .and_then(|m| model::score(&m, feats, &config.bands.cutoffs()));
    let scored = match scored {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(model = %challenger.model_id, error = %e, "the challenger cannot be scored in shadow");
            return None;
        }
    };
    let listed = |b: Band| matches!(b, Band::Red | Band::Orange);
    let shadow_listed: HashSet<(EntityType, u32)> =
        scored.iter().filter(|s| listed(s.band)).map(|s| (s.entity_type, s.entity)).collect();
    // Both lists by the same probability cut-offs (a red capacity per district aside).
    let served: Vec<(EntityType, u32)> =
        served.iter().filter(|s| listed(s.band)).map(|s| (s.entity_type, s.entity)).collect();
    let shared = served.iter().filter(|k| shadow_listed.contains(k)).count();
    Some(Shadow {
        model_id: challenger.model_id,
        red: scored.iter().filter(|s| s.band == Band::Red).count() as u32,
        orange: scored.iter().filter(|s| s.band == Band::Orange).count() as u32,
        listed_overlap: (!served.is_empty()).then(|| shared as f64 / served.len() as f64),
    })
}

/// The feature values (row-major, in the order of `t.features()`) and scores of a run's rows of type `t`.
fn sample(rows: &[RunRow], t: EntityType) -> (Vec<f64>, Vec<f64>) {
    let of_type = || rows.iter().filter(move |r| r.entity_type == t);
    (of_type().flat_map(|r| r.features.iter().copied()).collect(), of_type().map(|r| r.score).collect())
}

/// The drift of a run's features and scores against the model's training panel (when the model kept its
/// distributions) and against the previous run: in brief, and as a row per feature and score.
fn measure_drift(
    trained: &model::RiskModel,
    rows: &[RunRow],
    previous: Option<&RunData>,
    as_of: Date,
    threshold: f64,
) -> (RunDrift, Vec<DriftRow>) {
    let features: Vec<Vec<Feature>> = EntityType::ALL.iter().map(|t| t.features()).collect();
    let current: Vec<(Vec<f64>, Vec<f64>)> = EntityType::ALL.iter().map(|&t| sample(rows, t)).collect();
    let against = |references: &[EntityReference]| {
        let pairs: Vec<(&EntityReference, drift::Sample)> = EntityType::ALL
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let sample = drift::Sample {
                    entity_type: t,
                    features: &features[i],
                    values: &current[i].0,
                    scores: &current[i].1,
                };
                (&references[i], sample)
            })
            .collect();
        drift::compare(as_of, Vec::new(), threshold, &pairs)
    };
    let training = match (&trained.employer.drift_reference, &trained.project.drift_reference) {
        (Some(e), Some(p)) => Some(against(&[e.clone(), p.clone()])),
        _ => None,
    };
    let previous = previous.map(|p| {
        let references: Vec<EntityReference> = EntityType::ALL
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let (values, scores) = sample(&p.rows, t);
                EntityReference::of(&features[i], &values, &scores)
            })
            .collect();
        against(&references)
    });
    let mut out = Vec::new();
    let mut largest = |report: Option<&drift::DriftReport>, which: DriftAgainst| -> Option<f64> {
        let report = report?;
        let mut row = |t: EntityType, subject: &str, psi: &drift::Psi| {
            let (psi, note) = match psi {
                drift::Psi::Value(v) => (Some(*v), None),
                drift::Psi::Undefined(u) => (None, Some(u.reason().to_string())),
            };
            out.push(DriftRow { against: which, entity_type: t, subject: subject.to_string(), psi, note });
            psi
        };
        let mut defined: Vec<f64> = report.score.iter().filter_map(|(t, psi)| row(*t, "score", psi)).collect();
        defined.extend(report.features.iter().filter_map(|f| row(f.entity_type, f.feature.name(), &f.psi)));
        defined.into_iter().reduce(f64::max)
    };
    let drift = RunDrift {
        threshold,
        training: largest(training.as_ref(), DriftAgainst::Training),
        previous: largest(previous.as_ref(), DriftAgainst::Previous),
    };
    (drift, out)
}

/// Rows for every scored entity, employers then projects, each by rank.
fn build_rows(ds: &Dataset, feats: &features::Features, scored: &[model::Scored]) -> Vec<RunRow> {
    let progress = features::overdue_progress_yuan(ds, feats.employers.as_of);
    let mut position: HashMap<(EntityType, u32), usize> = HashMap::new();
    for t in EntityType::ALL {
        for (i, &e) in feats.matrix(t).entities.iter().enumerate() {
            position.insert((t, e), i);
        }
    }
    let mut rows: Vec<RunRow> = scored
        .iter()
        .map(|s| {
            let e = s.entity as usize;
            let m = feats.matrix(s.entity_type);
            let values = m.row(position[&(s.entity_type, s.entity)]).to_vec();
            let (entity_id, name, sector, kind, gc, owner) = match s.entity_type {
                EntityType::Employer => (
                    ds.employer_ids.name(e).to_string(),
                    ds.employers.name.get(e).to_string(),
                    ds.employers.sector[e],
                    Some(ds.employers.kind[e]),
                    None,
                    None,
                ),
                EntityType::Project => (
                    ds.project_ids.name(e).to_string(),
                    ds.projects.name.get(e).to_string(),
                    Sector::Construction,
                    None,
                    Some(ds.employer_ids.name(ds.projects.general_contractor[e].index()).to_string()),
                    ds.projects.owner[e].map(|o| ds.owner_ids.name(o.index()).to_string()),
                ),
            };
            RunRow {
                entity_type: s.entity_type,
                entity_id,
                name,
                region: s.region,
                sector,
                kind,
                score: s.probability,
                raw_score: s.raw_score,
                rank: s.rank,
                band: s.band,
                reasons: s.reasons.clone(),
                expected_unpaid_yuan: s.expected.map(|e| (e.unpaid_yuan * 100.0).round() / 100.0),
                expected_workers: s.expected.map(|e| (e.workers * 100.0).round() / 100.0),
                levers: s.levers.clone(),
                progress_overdue_yuan: (s.entity_type == EntityType::Project).then(|| progress[e]),
                floor: None,
                alerts: s.alerts,
                previous_score: None,
                previous_band: None,
                new_on_list: false,
                general_contractor_id: gc,
                owner_id: owner,
                features: values,
            }
        })
        .collect();
    rows.sort_by_key(|r| (r.entity_type, r.rank));
    rows
}

/// Bands by probability (or expected harm, as configured), then the capacity cap: at most
/// `red_per_district` red entities of each type per district, the highest by that measure; the others take
/// the band their measure gives below red.
pub fn assign_bands(rows: &mut [RunRow], bands: &config::BandConfig) {
    let measure = |r: &RunRow| bands.measure(r.score, r.expected_unpaid_yuan);
    for r in rows.iter_mut() {
        let (value, cutoffs) = measure(r);
        r.band = cutoffs.band(value);
    }
    let Some(cap) = bands.red_per_district else { return };
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (&rows[i], &rows[j]);
        a.entity_type.cmp(&b.entity_type).then(measure(b).0.total_cmp(&measure(a).0)).then(a.rank.cmp(&b.rank))
    });
    let mut red_in: HashMap<(EntityType, RegionCode), u32> = HashMap::new();
    for i in order {
        if rows[i].band != Band::Red {
            continue;
        }
        let n = red_in.entry((rows[i].entity_type, rows[i].region)).or_default();
        if *n < cap {
            *n += 1;
        } else {
            // Demoted below red: the band its measure gives without the red cut-off.
            let (value, cutoffs) = measure(&rows[i]);
            rows[i].band = model::BandCutoffs { red: f64::INFINITY, ..cutoffs }.band(value);
        }
    }
}

/// Fills each row's change since the previous run and counts the bands.
fn mark_changes(rows: &mut [RunRow], previous: Option<&RunData>) -> RunCounts {
    let before: HashMap<(EntityType, &str), (f64, Band)> = previous
        .map(|p| p.rows.iter().map(|r| ((r.entity_type, r.entity_id.as_str()), (r.score, r.band))).collect())
        .unwrap_or_default();
    let mut counts = RunCounts::default();
    for r in rows.iter_mut() {
        let prev = before.get(&(r.entity_type, r.entity_id.as_str())).copied();
        r.previous_score = prev.map(|p| p.0);
        r.previous_band = prev.map(|p| p.1);
        r.new_on_list = r.band != Band::Green && prev.is_none_or(|p| p.1 == Band::Green);
        match r.entity_type {
            EntityType::Employer => counts.employers += 1,
            EntityType::Project => counts.projects += 1,
        }
        match r.band {
            Band::Red => counts.red += 1,
            Band::Orange => counts.orange += 1,
            Band::Yellow => counts.yellow += 1,
            Band::Green => counts.green += 1,
        }
        counts.new_on_list += u32::from(r.new_on_list);
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: EntityType, id: &str, region: u32, rank: u32, score: f64) -> RunRow {
        RunRow { rank, ..RunRow::for_tests(t, id, RegionCode::from_value(region).unwrap(), Band::Green, score) }
    }

    #[test]
    fn capacity_caps_red_per_district_and_type() {
        let e = EntityType::Employer;
        let mut rows = vec![
            row(e, "a", 320102, 1, 0.9),
            row(e, "b", 320102, 2, 0.8),
            row(e, "c", 320102, 3, 0.7),
            row(e, "d", 320104, 4, 0.6),
            row(EntityType::Project, "p", 320102, 1, 0.9),
            row(e, "f", 320102, 5, 0.3),
            row(e, "g", 320102, 6, 0.05),
        ];
        let mut bands = config::BandConfig { red_per_district: Some(2), ..Default::default() };
        assign_bands(&mut rows, &bands);
        let got: Vec<&str> = rows.iter().map(|r| r.band.code()).collect();
        assert_eq!(got, ["red", "red", "orange", "red", "red", "orange", "green"]);
        // Capacity only: the top one of every district is red whatever its probability.
        bands.red = 0.0;
        bands.red_per_district = Some(1);
        assign_bands(&mut rows, &bands);
        let got: Vec<&str> = rows.iter().map(|r| r.band.code()).collect();
        assert_eq!(got, ["red", "orange", "orange", "red", "red", "orange", "green"]);
    }

    #[test]
    fn bands_set_on_expected_harm_follow_the_yuan_and_cap_the_largest() {
        let e = EntityType::Employer;
        let harm =
            |t, id, rank, p, yuan: Option<f64>| RunRow { expected_unpaid_yuan: yuan, ..row(t, id, 320102, rank, p) };
        let mut rows = vec![
            harm(e, "likely-small", 1, 0.9, Some(3_000.0)),
            harm(e, "unlikely-large", 2, 0.2, Some(80_000.0)),
            harm(e, "middle", 3, 0.3, Some(60_000.0)),
            harm(e, "orange", 4, 0.1, Some(25_000.0)),
            harm(e, "unknown", 5, 0.6, None),
        ];
        let mut bands = config::BandConfig { on: config::BandBasis::ExpectedHarm, ..Default::default() };
        assign_bands(&mut rows, &bands);
        let got: Vec<&str> = rows.iter().map(|r| r.band.code()).collect();
        // Without an expected amount, the probability's band.
        assert_eq!(got, ["green", "red", "red", "orange", "red"]);
        // The cap keeps the largest expected harm red, not the most likely.
        bands.red_per_district = Some(1);
        assign_bands(&mut rows, &bands);
        let got: Vec<&str> = rows.iter().map(|r| r.band.code()).collect();
        assert_eq!(got, ["green", "red", "orange", "orange", "orange"]);
    }
}
