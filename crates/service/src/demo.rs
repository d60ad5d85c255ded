//! The demo: the whole system prepared on a generated province, ready to serve. Reads the province,
//! trains the champion as of 2026-10-01, writes its watchlist, backtests an off-peak and a pre-festival
//! date for the model page, trains a challenger as of 2026-12-01 and judges it beside the champion,
//! publishes two runs scored by the champion with the challenger in shadow (so the dashboard shows
//! changes, drift and a challenger), and creates a supervisor and an inspector token for the district
//! with the most scored entities.
//!
//! Generating the province is the caller's (the binary uses the generator when the folder is empty), so
//! this crate does not depend on the generator.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use wagewatch_core::backtest::{self, BacktestConfig};
use wagewatch_core::contract::{Date, RegionCode, RegionPrefix};
use wagewatch_core::features;
use wagewatch_core::ingest::{self, Dataset, DatasetSummary, IngestOptions, Pseudonymizer};
use wagewatch_core::model::{self, artifact, floors, BandCutoffs, RiskModel, TrainConfig};
use wagewatch_core::watchlist;
use wagewatch_core::worker_months::WorkerMonths;

use crate::champion;
use crate::config::Config;
use crate::datastore::ScoringData;
use crate::runs::{self, RunData, RunError};
use crate::state::{NewToken, Role, RunRecord, StateError, Store};

/// The demo's as-of date: just before the 2027 Spring Festival peak.
pub const DEMO_AS_OF: Date = Date::from_ymd_const(2026, 12, 1);
/// The demo's previous run, so that the dashboard shows changes.
pub const DEMO_PREVIOUS: Date = Date::from_ymd_const(2026, 11, 1);
/// The off-peak date of the demo's backtest (the other is [`DEMO_AS_OF`]).
pub const DEMO_BACKTEST_FROM: Date = Date::from_ymd_const(2026, 6, 1);
/// The training cutoff of the demo's champion; its challenger is trained as of [`DEMO_AS_OF`].
pub const DEMO_CHAMPION_AS_OF: Date = Date::from_ymd_const(2026, 10, 1);
/// The demo's prediction horizon, in days.
pub const DEMO_HORIZON_DAYS: i32 = 60;

/// Where the demo reads and writes.
#[derive(Clone, Debug)]
pub struct DemoSetup {
    /// The generated province.
    pub data: PathBuf,
    /// The state folder the runs and tokens go to.
    pub state: PathBuf,
    /// The model folder.
    pub models: PathBuf,
    /// Where the backtest report is written.
    pub report: PathBuf,
    /// The address the server will listen on (recorded in the configuration).
    pub listen: String,
}

/// The steps of [`prepare`], for progress reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoStep {
    Reading,
    Training,
    Scoring,
    Backtesting,
    Challenger,
    Publishing,
}

/// Why the demo could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("reading the demo province: {0}")]
    Ingest(#[from] ingest::IngestError),
    #[error("training or backtesting: {0}")]
    Model(#[from] model::ModelError),
    #[error("writing the demo watchlist: {0}")]
    Watchlist(#[from] watchlist::WatchlistError),
    #[error("publishing a run: {0}")]
    Run(#[from] RunError),
    #[error("the state folder: {0}")]
    State(#[from] StateError),
    #[error("training the challenger: {0}")]
    Champion(#[from] champion::ChampionError),
    #[error("the demo run scored no entity")]
    EmptyRun,
}

/// What the demo prepared.
pub struct DemoReady {
    pub summary: DatasetSummary,
    pub model: RiskModel,
    /// The watchlist file written beside the province.
    pub watchlist: PathBuf,
    /// The backtest report (Markdown).
    pub report: PathBuf,
    /// The newest published run.
    pub run: RunRecord,
    /// The district the tokens are scoped to.
    pub district: RegionPrefix,
    pub supervisor_token: String,
    pub inspector_token: String,
    /// The configuration the server runs with: no schedule, the demo's data and models.
    pub config: Config,
}

/// The model id of the demo's champion.
pub fn demo_model_id() -> String {
    format!("demo-{DEMO_CHAMPION_AS_OF}")
}

/// Prepares everything the demo serves; `on_step` hears of each step as it starts.
pub fn prepare(setup: &DemoSetup, key: &Pseudonymizer, on_step: &dyn Fn(DemoStep)) -> Result<DemoReady, DemoError> {
    on_step(DemoStep::Reading);
    let ds = ingest::load(&setup.data, key, &IngestOptions::default())?.dataset;
    let wm = WorkerMonths::build(&ds);
    let summary = DatasetSummary::compute(&ds, Some(DEMO_AS_OF));
    let fingerprint = model::fingerprint(&ds);

    on_step(DemoStep::Training);
    let config = TrainConfig::new(DEMO_CHAMPION_AS_OF, DEMO_HORIZON_DAYS);
    let trained = model::train(&ds, &wm, &config, demo_model_id(), &fingerprint)?;
    artifact::save(&trained, &setup.models, &Default::default())?;

    on_step(DemoStep::Scoring);
    let watchlist = setup.data.with_file_name("demo-watchlist.csv");
    let feats = features::compute(&ds, &wm, DEMO_AS_OF, trained.horizon_days).map_err(model::ModelError::from)?;
    let mut scored = model::score(&trained, &feats, &BandCutoffs::default())?;
    floors::apply(&mut scored, &ds, DEMO_AS_OF, &floors::DEFAULT_FLOORS);
    watchlist::write(&ds, &scored, &watchlist)?;

    on_step(DemoStep::Backtesting);
    let (report, as_of_demo) = backtest_for_model_page(&ds, &wm, setup, &trained.model_id)?;

    let mut config = Config { data: setup.data.clone(), models: setup.models.clone(), ..Default::default() };
    config.schedule.enabled = false;
    config.server.listen = setup.listen.clone();
    config.model = Some(trained.model_id.clone());
    let mut store = Store::open(&setup.state)?;

    on_step(DemoStep::Challenger);
    let request = champion::RetrainRequest { as_of: DEMO_AS_OF, recent_months: 3 };
    // The backtest's last date is the challenger's as-of date: its model is the challenger.
    champion::retrain_on(&mut store, &config, &ds, &wm, &request, as_of_demo)?;

    on_step(DemoStep::Publishing);
    let mut data = ScoringData::Loaded(ds, wm);
    let mut run = None;
    for as_of in [DEMO_PREVIOUS, DEMO_AS_OF] {
        let request = runs::RescoreRequest { as_of, trigger: "cli".into() };
        let inputs = runs::ScoringInputs { data: &mut data, model: &trained, data_fingerprint: &fingerprint };
        run = Some(runs::rescore(&mut store, inputs, &request, &config)?);
    }
    let run = run.ok_or(DemoError::EmptyRun)?;
    let district = busiest_district(&store, &run)?;
    let token =
        |name: &str, role| NewToken::new(name, role, district).map_err(|e| StateError::Corrupt { what: e.to_string() });
    let (_, supervisor_token) = store.create_token(&token("演示主管 demo supervisor", Role::Supervisor)?)?;
    let (_, inspector_token) = store.create_token(&token("演示监察员 demo inspector", Role::Inspector)?)?;
    Ok(DemoReady {
        summary,
        model: trained,
        watchlist,
        report,
        run,
        district,
        supervisor_token,
        inspector_token,
        config,
    })
}

/// A short backtest (an off-peak and a pre-festival date), attached to the model for its page; returns the
/// report and the model trained at its last date ([`DEMO_AS_OF`]).
fn backtest_for_model_page(
    ds: &Dataset,
    wm: &WorkerMonths,
    setup: &DemoSetup,
    model_id: &str,
) -> Result<(PathBuf, Option<RiskModel>), DemoError> {
    let config = BacktestConfig {
        from: DEMO_BACKTEST_FROM,
        to: DEMO_AS_OF,
        step_months: 6,
        horizon_days: DEMO_HORIZON_DAYS,
        panel_months: model::PANEL_MONTHS,
        calibration_months: model::CALIBRATION_MONTHS,
        watchlists: None,
        selection_weights: true,
        monotone: true,
        recency_half_life_months: None,
        bags: wagewatch_core::model::BAGS,
        model_seed: wagewatch_core::model::DEFAULT_SEED,
    };
    let result = backtest::run(ds, wm, &config, &|_, _| {})?;
    let report = backtest::write_report(&result, None, &setup.report)?;
    artifact::attach_backtest(&setup.models, model_id, &setup.report)?;
    Ok((report, result.last_model))
}

/// The district with the most scored entities in a run.
fn busiest_district(store: &Store, run: &RunRecord) -> Result<RegionPrefix, DemoError> {
    let data = RunData::load(store, run.clone())?;
    let mut counts: HashMap<RegionCode, usize> = HashMap::new();
    for r in &data.rows {
        *counts.entry(r.region).or_default() += 1;
    }
    let (code, _) = counts.into_iter().max_by_key(|(c, n)| (*n, std::cmp::Reverse(*c))).ok_or(DemoError::EmptyRun)?;
    Ok(RegionPrefix::district(code))
}

/// Whether the demo province has already been generated into `data`.
pub fn province_exists(data: &Path) -> bool {
    data.join("employers.parquet").is_file()
}
