//! The honest backtest: at each test date, train only on what was known then, score, and compare with
//! what happened next, against the platforms' rule baseline and against random; figures pooled over dates
//! and split into pre-festival and off-peak windows and by label source.

pub mod report;
mod svg;
pub mod worlds;

use crate::contract::Date;
use crate::fairness::Tally;
use crate::features::{self, EntityType, Feature};
use crate::ingest::tables::Dataset;
use crate::model::Expected;
use crate::model::{self, BandCutoffs, ModelError, TrainConfig};
use crate::target::{audit_slice, harm, labels, EventSources, Harm, SliceMark};
use crate::worker_months::WorkerMonths;

pub use report::{evaluate, write_report, Report};

/// How to backtest.
#[derive(Clone, Debug)]
pub struct BacktestConfig {
    pub from: Date,
    pub to: Date,
    pub step_months: i32,
    pub horizon_days: i32,
    /// Training settings; the cutoff is set to each test date.
    pub panel_months: usize,
    pub calibration_months: usize,
    /// Where to write each test date's watchlist (for judging it with other tools), if anywhere.
    pub watchlists: Option<std::path::PathBuf>,
    /// Train with the audit slice's inverse-probability weights ([`TrainConfig::selection_weights`]).
    pub selection_weights: bool,
    /// Hold the learners to the features' known directions ([`TrainConfig::monotone`]).
    pub monotone: bool,
    /// [`TrainConfig::recency_half_life_months`].
    pub recency_half_life_months: Option<f64>,
    /// [`TrainConfig::bags`].
    pub bags: usize,
    /// The seed the boosted trees sample rows and features with ([`model::GbdtParams::seed`]).
    pub model_seed: u64,
}

/// One scored entity of one test date, with what happened.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub as_of: Date,
    pub pre_festival: bool,
    pub probability: f64,
    pub raw_score: f64,
    pub rule_score: f64,
    pub events: EventSources,
    /// Inspected at random in the horizon (the audit slice), and whether that found arrears.
    pub slice: SliceMark,
    /// What went unpaid in the horizon, and to how many workers.
    pub harm: Harm,
    /// The model's expected harm (probability times the amounts given an event), and the amounts given an
    /// event alone; none when the model has no amount model.
    pub expected: Option<Expected>,
    pub given_event: Option<Expected>,
}

/// Everything a backtest found.
#[derive(Clone, Debug)]
pub struct Backtest {
    pub config: BacktestConfig,
    pub dates: Vec<Date>,
    /// Per entity type, every (entity, date) outcome.
    pub outcomes: Vec<(EntityType, Vec<Outcome>)>,
    /// The learner chosen per date and entity type.
    pub learners: Vec<Learned>,
    /// The fairness audit's counts, added up over the test dates.
    pub fairness: Tally,
    /// The model trained at the last test date (what training as of that date gives).
    pub last_model: Option<crate::model::RiskModel>,
}

/// The learner chosen at one test date for one entity type.
#[derive(Clone, Debug, PartialEq)]
pub struct Learned {
    pub as_of: Date,
    pub entity_type: EntityType,
    /// Such as `blend(gbdt 0.75, scorecard 0.25)`.
    pub learner: String,
    /// Trees in the boosted model (the rounds early stopping kept, summed over a bag's members).
    pub trees: usize,
}

/// The rule baseline's ordering: number of alerts, then overdue unpaid wages.
pub fn rule_score(alerts: usize, overdue_unpaid_yuan: f64) -> f64 {
    alerts as f64 * 1.0e12 + overdue_unpaid_yuan
}

/// Runs the backtest; `progress` hears of each test date done, with the number of dates.
pub fn run(
    ds: &Dataset,
    wm: &WorkerMonths,
    config: &BacktestConfig,
    progress: &dyn Fn(Date, usize),
) -> Result<Backtest, ModelError> {
    let mut dates = Vec::new();
    let mut m = config.from.month();
    if m.first_day() < config.from {
        m = m.next();
    }
    while m.first_day() <= config.to {
        dates.push(m.first_day());
        m = m.plus_months(config.step_months.max(1));
    }
    let data_fingerprint = model::fingerprint(ds);
    let mut per_type: Vec<(EntityType, Vec<Outcome>)> = EntityType::ALL.iter().map(|t| (*t, Vec::new())).collect();
    let mut learners = Vec::new();
    let mut fairness = Tally::default();
    let mut last_model = None;
    for &t in &dates {
        let mut tc = TrainConfig::new(t, config.horizon_days);
        tc.panel_months = config.panel_months;
        tc.calibration_months = config.calibration_months;
        tc.selection_weights = config.selection_weights;
        tc.monotone = config.monotone;
        tc.recency_half_life_months = config.recency_half_life_months;
        tc.bags = config.bags;
        tc.gbdt = tc.gbdt.seed(config.model_seed);
        let trained = model::train(ds, wm, &tc, format!("backtest-{t}"), &data_fingerprint)?;
        let feats = features::compute(ds, wm, t, config.horizon_days)?;
        let scored = model::score(&trained, &feats, &BandCutoffs::default())?;
        let truth = labels(ds, wm, t, config.horizon_days);
        let slice = audit_slice(ds, t, config.horizon_days, None);
        let harms = harm(ds, wm, t, config.horizon_days, None);
        fairness.add_scored(ds, &feats, &scored, &truth);
        let pre_festival = crate::calendar::horizon_in_pre_festival_peak(t, config.horizon_days)?;
        if let Some(dir) = &config.watchlists {
            let path = dir.join(format!("watchlist_{t}.csv"));
            crate::watchlist::write(ds, &scored, &path)
                .map_err(|e| ModelError::Io { path, source: std::io::Error::other(e.to_string()) })?;
        }
        for (i, s) in scored.iter().enumerate() {
            let m = feats.matrix(s.entity_type);
            let row = if s.entity_type == EntityType::Employer { i } else { i - feats.employers.rows() };
            let overdue = m.get(row, Feature::OverdueUnpaidYuan).unwrap_or(0.0);
            let e = s.entity as usize;
            let (events, slice, harm) = match s.entity_type {
                EntityType::Employer => (truth.employers[e], slice.employers[e], harms.employers[e]),
                EntityType::Project => (truth.projects[e], slice.projects[e], harms.projects[e]),
            };
            // The amounts given an event, from the expected harm the scoring computed (its probability times
            // them), not a second pass through the amount model.
            let given_event = s
                .expected
                .filter(|_| s.probability > 0.0)
                .map(|e| Expected { unpaid_yuan: e.unpaid_yuan / s.probability, workers: e.workers / s.probability });
            let slot = &mut per_type[s.entity_type as usize].1;
            slot.push(Outcome {
                as_of: t,
                pre_festival,
                probability: s.probability,
                raw_score: s.raw_score,
                rule_score: rule_score(s.alerts.len(), overdue),
                events,
                slice,
                harm,
                expected: s.expected,
                given_event,
            });
        }
        for et in EntityType::ALL {
            let m = trained.entity(et);
            learners.push(Learned { as_of: t, entity_type: et, learner: m.learner.name(), trees: m.trees });
        }
        last_model = Some(trained);
        tracing::info!(as_of = %t, "backtest date done");
        progress(t, dates.len());
    }
    Ok(Backtest { config: config.clone(), dates, outcomes: per_type, learners, fairness, last_model })
}

impl Backtest {
    /// The outcomes of one entity type, every test date.
    pub fn outcomes(&self, t: EntityType) -> &[Outcome] {
        self.outcomes.iter().find(|(et, _)| *et == t).map_or(&[], |(_, o)| o.as_slice())
    }
}
