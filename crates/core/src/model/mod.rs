//! The risk model: trains, for each entity type, a standardised logistic scorecard and a boosted tree
//! ensemble on a rolling panel of past as-of dates, picks the better by out-of-time validation, calibrates
//! it on the latest time slice, and scores entities with calibrated probabilities and reasons.
//!
//! Honesty rules: every training row is an (entity, as-of date) pair whose label window, plus the 30 days
//! a worker-month has to be paid, closed on or before the training cutoff; labels are taken as they were
//! known at the cutoff; features never see past their own as-of date. Ranks follow the uncalibrated score,
//! and the calibrated probability rises strictly with it, so a list sorted by probability orders as the ranks.

pub mod amount;
pub mod artifact;
pub mod calibrate;
pub mod floors;
pub mod gbdt;
pub mod levers;
pub mod reasons;
pub mod scorecard;

use std::path::PathBuf;

use linfa::dataset::Records;
use linfa::traits::{Fit, Predict, PredictInplace};
use linfa::{Dataset as LinfaDataset, ParamGuard};
use ndarray::{Array1, Array2, ArrayBase, ArrayView1, ArrayView2, Data, Ix2};
use serde::{Deserialize, Serialize};

use crate::contract::{Date, RegionCode};
use crate::features::{self, Alerts, EntityType, Feature, FeatureMatrix, Features};
use crate::ingest::tables::Dataset;
use crate::target::{audit_slice, harm, labels_known_at, AuditSlice, Harms, Labels};
use crate::worker_months::WorkerMonths;

pub use amount::{AmountModel, Expected};
pub use calibrate::Calibrator;
pub use gbdt::{Gbdt, GbdtParams, DEFAULT_SEED};
pub use levers::{Lever, LeverEffect};
pub use reasons::Reason;
pub use scorecard::{Scorecard, ScorecardParams};

/// Why a model could not be trained, saved, loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("invalid hyperparameters: {reason}")]
    InvalidParams { reason: String },
    #[error("linfa: {0}")]
    Linfa(#[from] linfa::Error),
    #[error("no training rows")]
    EmptyTrainingSet,
    #[error("the training rows hold only one class (no events, or only events)")]
    OneClass,
    #[error("logistic regression failed: {reason}")]
    Logistic { reason: String },
    #[error(
        "no as-of date before {cutoff} has a closed label window and scored entities; the data must reach further back"
    )]
    NoTrainingDates { cutoff: Date },
    #[error("cannot read or write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("model file {path} is not valid: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error(
        "model file {path} has schema version {found}; this wagewatch reads version {expected}: train the model again"
    )]
    SchemaVersion { path: PathBuf, found: u32, expected: u32 },
    #[error("no model {id} under {dir}")]
    UnknownModel { id: String, dir: PathBuf },
    #[error("{id:?} is not a model id: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'")]
    BadModelId { id: String },
    #[error(transparent)]
    Calendar(#[from] crate::calendar::OutsideCalendar),
    #[error("feature column {column} of row {row} is not a finite number; the model takes finite features only")]
    NonFinite { row: usize, column: usize },
}

/// Fails on the first value of `x` that is not finite: features are finite by construction, and the trees'
/// binning and routing would treat NaN differently, so the model boundary refuses them.
pub fn check_finite(x: ArrayView2<f64>) -> Result<(), ModelError> {
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((row, column), _)) => Err(ModelError::NonFinite { row, column }),
        None => Ok(()),
    }
}

/// The scoring function of one entity type: a blend, in log-odds, of the boosted trees and the scorecard,
/// with the weight chosen by out-of-time validation (1 = trees only, 0 = scorecard only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Learner {
    pub gbdt: Gbdt,
    pub scorecard: Scorecard,
    pub gbdt_weight: f64,
}

impl Learner {
    /// A short description, such as `blend(gbdt 0.75, scorecard 0.25)`.
    pub fn name(&self) -> String {
        if self.gbdt_weight >= 1.0 {
            "gbdt".into()
        } else if self.gbdt_weight <= 0.0 {
            "logistic_scorecard".into()
        } else {
            format!("blend(gbdt {:.2}, scorecard {:.2})", self.gbdt_weight, 1.0 - self.gbdt_weight)
        }
    }

    /// The raw (uncalibrated) score of one row, in log-odds: the blend of the learners' own predictions.
    pub fn raw_score(&self, x: ArrayView1<f64>) -> f64 {
        let w = self.gbdt_weight;
        let g = if w > 0.0 { self.gbdt.raw_score(x) } else { 0.0 };
        let s = if w < 1.0 { self.scorecard.raw_score(x) } else { 0.0 };
        blend(w, g, s)
    }

    /// Each feature's contribution to the raw score of one row (path contributions of the trees, coefficient
    /// times standardised value of the scorecard, blended); with the bias they add up to the raw score.
    pub fn contributions(&self, x: ArrayView1<f64>) -> (f64, Vec<f64>) {
        let (mut trees, mut c) = (Vec::new(), Vec::new());
        let bias = self.contributions_into(x, &mut trees, &mut c);
        (bias, c)
    }

    /// [`Learner::contributions`] into `out`, with `trees` as scratch space; both are resized as needed, so
    /// a caller scoring many rows allocates them once. Returns the bias.
    pub fn contributions_into(&self, x: ArrayView1<f64>, trees: &mut Vec<f64>, out: &mut Vec<f64>) -> f64 {
        let w = self.gbdt_weight;
        let p = self.scorecard.coef.len();
        let mut bias = 0.0;
        out.clear();
        out.resize(p, 0.0);
        if w > 0.0 {
            trees.clear();
            trees.resize(p, 0.0);
            bias += w * self.gbdt.contributions_into(x, trees);
            for (v, g) in out.iter_mut().zip(trees.iter()) {
                *v += w * g;
            }
        }
        if w < 1.0 {
            bias += (1.0 - w) * self.scorecard.intercept;
            for (j, v) in out.iter_mut().enumerate() {
                *v += (1.0 - w) * self.scorecard.contribution(j, x[j]);
            }
        }
        bias
    }
}

/// The blend of a tree score `g` and a scorecard score `s` with tree weight `w`, in log-odds.
fn blend(w: f64, g: f64, s: f64) -> f64 {
    w * g + (1.0 - w) * s
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for Learner {
    /// The raw score (log-odds of an event) of every row: [`Learner::raw_score`] of each.
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        assert_eq!(x.nrows(), y.len(), "one prediction per row");
        let w = self.gbdt_weight;
        let trees: Array1<f64> = if w > 0.0 { self.gbdt.predict(x) } else { Array1::zeros(x.nrows()) };
        for ((out, row), g) in y.iter_mut().zip(x.rows()).zip(trees) {
            let s = if w < 1.0 { self.scorecard.raw_score(row) } else { 0.0 };
            *out = blend(w, g, s);
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

/// How one candidate learner did on the validation slice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CandidateScore {
    pub learner: String,
    pub average_precision: f64,
    pub roc_auc: f64,
    pub log_loss: f64,
}

/// The model of one entity type.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityModel {
    pub entity_type: EntityType,
    pub features: Vec<Feature>,
    pub learner: Learner,
    pub calibrator: Calibrator,
    /// How the scorecard, the trees and the chosen blend did on the validation slice.
    pub validation: Vec<CandidateScore>,
    /// Trees in the boosted model: the rounds early stopping kept, summed over the members of a bag.
    pub trees: usize,
    pub training_rows: usize,
    pub training_events: usize,
    pub calibration_rows: usize,
    /// The training panel's distributions of every feature and of the score, that runs measure drift
    /// against (none for a model saved before they were kept).
    pub drift_reference: Option<crate::drift::EntityReference>,
    /// The amount at stake given an event (none for a model saved before it was kept, or trained on too
    /// few events).
    pub amount: Option<AmountModel>,
}

/// A trained model for both entity types.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskModel {
    pub model_id: String,
    /// The training cutoff: nothing known after it was used.
    pub trained_as_of: Date,
    pub horizon_days: i32,
    pub fit_dates: Vec<Date>,
    pub calibration_dates: Vec<Date>,
    pub data_fingerprint: String,
    pub employer: EntityModel,
    pub project: EntityModel,
}

impl RiskModel {
    /// A few lines on what each entity type's model is: learner, rows, events and validation figures.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for m in [&self.employer, &self.project] {
            let chosen = m.validation.last();
            out.push_str(&format!(
                "  {:<8} {} on {} rows ({} events); validation AP {:.3}, AUC {:.3}\n",
                m.entity_type.code(),
                m.learner.name(),
                m.training_rows,
                m.training_events,
                chosen.map_or(0.0, |c| c.average_precision),
                chosen.map_or(0.0, |c| c.roc_auc)
            ));
        }
        out
    }

    /// The as-of dates of its training panel (fitting and calibration), in order.
    pub fn training_dates(&self) -> Vec<Date> {
        let mut dates: Vec<Date> = self.fit_dates.iter().chain(&self.calibration_dates).copied().collect();
        dates.sort_unstable();
        dates.dedup();
        dates
    }

    /// The model of one entity type.
    pub fn entity(&self, t: EntityType) -> &EntityModel {
        match t {
            EntityType::Employer => &self.employer,
            EntityType::Project => &self.project,
        }
    }
}

/// Boosted models per learner, by default ([`TrainConfig::bags`]).
pub const BAGS: usize = 1;

/// Monthly as-of dates in a training panel, by default.
pub const PANEL_MONTHS: usize = 24;
/// The latest of them held out, by default, to choose the learner and calibrate it (at most a third of the
/// panel). Holding out 8 months instead moved the backtest's average precision by less than 0.001 and, on
/// the 20,000-employer province with the earlier isotonic calibrator, made the pre-festival calibration
/// worse (worst bin 0.038 employers, 0.048 projects, against 0.023 and 0.037).
pub const CALIBRATION_MONTHS: usize = 6;

/// A panel with more fitting rows than this (an entity type of about 10,000 entities or more) grows trees
/// of at least [`LARGE_PANEL_LEAVES`] leaves: with that much data the deeper interactions pay (on the
/// 20,000-employer province, employers' average precision rose by 0.002–0.003; projects, with a quarter
/// of the rows, stay at the configured 15).
pub const LARGE_PANEL_ROWS: usize = 200_000;
/// Leaves per tree for a large panel.
pub const LARGE_PANEL_LEAVES: usize = 31;

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// The training cutoff T: labels must be known by T.
    pub as_of: Date,
    pub horizon_days: i32,
    /// Monthly as-of dates in the panel.
    pub panel_months: usize,
    /// The latest of them, held out for choosing the learner and calibrating it.
    pub calibration_months: usize,
    pub gbdt: GbdtParams,
    pub logistic_alpha: f64,
    /// Weight rows found by random inspections by the inverse of the sampling share
    /// ([`selection_weights`]); the boosted trees honour it, the scorecard (linfa-logistic) does not.
    pub selection_weights: bool,
    /// Hold both learners to each feature's [`Feature::known_direction`] (the trees by monotone splits,
    /// the scorecard by leaving out a feature whose coefficient goes the wrong way).
    pub monotone: bool,
    /// Weigh older panel dates down: a date this many months older than the latest counts half (the
    /// trees honour it, the scorecard does not). None: every date alike.
    pub recency_half_life_months: Option<f64>,
    /// Boosted models per learner, each sampling rows and features with its own seed, averaged.
    pub bags: usize,
}

impl TrainConfig {
    /// The defaults: [`PANEL_MONTHS`] monthly dates, the last [`CALIBRATION_MONTHS`] for validation and
    /// calibration.
    pub fn new(as_of: Date, horizon_days: i32) -> TrainConfig {
        TrainConfig {
            as_of,
            horizon_days,
            panel_months: PANEL_MONTHS,
            calibration_months: CALIBRATION_MONTHS,
            gbdt: GbdtParams::default(),
            logistic_alpha: 1.0,
            selection_weights: true,
            monotone: true,
            recency_half_life_months: None,
            bags: BAGS,
        }
    }
}

/// The monthly as-of dates (first of the month) whose label windows are closed and paid out by `cutoff`,
/// latest last.
pub fn panel_dates(cutoff: Date, horizon_days: i32, months: usize) -> Vec<Date> {
    let latest_allowed = cutoff.add_days(-(horizon_days + 30));
    let mut m = latest_allowed.month();
    if m.first_day() > latest_allowed {
        m = m.plus_months(-1);
    }
    let mut dates: Vec<Date> = (0..months as i32).map(|k| m.plus_months(-k).first_day()).collect();
    dates.reverse();
    dates
}

/// Features and labels of one as-of date.
pub struct PanelSlice {
    pub features: Features,
    pub labels: Labels,
    /// The entities inspected at random in the horizon (the audit slice), as known at the cutoff.
    pub slice: AuditSlice,
    /// The wages that went unpaid in the horizon and to how many workers, as known at the cutoff.
    pub harm: Harms,
}

/// Computes the features of `dates` and their labels as known at `known_at`, two dates at a time.
pub fn panel(
    ds: &Dataset,
    wm: &WorkerMonths,
    dates: &[Date],
    horizon_days: i32,
    known_at: Option<Date>,
) -> Result<Vec<PanelSlice>, ModelError> {
    let compute = |t: Date| -> Result<PanelSlice, ModelError> {
        Ok(PanelSlice {
            features: features::compute(ds, wm, t, horizon_days)?,
            labels: labels_known_at(ds, wm, t, horizon_days, known_at),
            slice: audit_slice(ds, t, horizon_days, known_at),
            harm: harm(ds, wm, t, horizon_days, known_at),
        })
    };
    let half = dates.len().div_ceil(2);
    let (a, b) = dates.split_at(half);
    std::thread::scope(|s| {
        let other = s.spawn(|| b.iter().map(|&t| compute(t)).collect::<Result<Vec<_>, _>>());
        let mut out: Vec<PanelSlice> = a.iter().map(|&t| compute(t)).collect::<Result<_, _>>()?;
        out.extend(other.join().expect("feature computation does not panic")?);
        Ok(out)
    })
}

/// Rows of one entity type stacked over panel slices, as a linfa dataset of features and events.
type PanelData = LinfaDataset<f64, bool, ndarray::Ix1>;

/// The largest weight a row found by a random inspection gets. The full inverse of a small sampling share
/// (20 and more) lets a handful of rows outweigh the panel: in generated worlds of two seeds that cost up
/// to 0.025 average precision in the worst cell against LightGBM, where trimming the weight at 2 kept the
/// worst cell within 0.008 (docs/measurements.md, "Worlds").
pub const MAX_SELECTION_WEIGHT: f64 = 2.0;

/// The sample weight of every row of one entity type of a slice: a row whose random inspection found
/// arrears stands for the firms nobody chose to inspect, and counts by the inverse of the share of the
/// date's rows drawn at random (capped at [`MAX_SELECTION_WEIGHT`]); every other row counts once.
pub fn selection_weights(s: &PanelSlice, t: EntityType) -> Vec<f64> {
    let m = s.features.matrix(t);
    let marks = match t {
        EntityType::Employer => &s.slice.employers,
        EntityType::Project => &s.slice.projects,
    };
    let drawn = m.entities.iter().filter(|&&e| marks[e as usize].inspected).count();
    if drawn == 0 {
        return vec![1.0; m.rows()];
    }
    let weight = (m.rows() as f64 / drawn as f64).min(MAX_SELECTION_WEIGHT);
    m.entities.iter().map(|&e| if marks[e as usize].found { weight } else { 1.0 }).collect()
}

/// The weight of a panel date `as_of` when the latest is `latest`: 0.5^(months between / `half_life`).
pub fn recency_weight(latest: Date, as_of: Date, half_life_months: f64) -> f64 {
    0.5f64.powf(f64::from(latest.days_since(as_of)) / 30.44 / half_life_months)
}

/// Stacks the rows of one entity type over panel slices: features, events and weights, which are the
/// selection weights (with `selection`) times the recency weights (with a `half_life` in months); without
/// either, none.
fn stack(slices: &[&PanelSlice], t: EntityType, selection: bool, half_life: Option<f64>) -> PanelData {
    let p = t.features().len();
    let latest = slices.iter().map(|s| s.features.as_of).max();
    let recency = |s: &PanelSlice| match (half_life, latest) {
        (Some(h), Some(latest)) => recency_weight(latest, s.features.as_of, h),
        _ => 1.0,
    };
    let weighted = selection || half_life.is_some();
    let n: usize = slices.iter().map(|s| s.features.matrix(t).rows()).sum();
    let mut values = Vec::with_capacity(n * p);
    let mut y = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(if weighted { n } else { 0 });
    for s in slices {
        let m = s.features.matrix(t);
        values.extend_from_slice(&m.values);
        let events = match t {
            EntityType::Employer => &s.labels.employers,
            EntityType::Project => &s.labels.projects,
        };
        y.extend(m.entities.iter().map(|&e| events[e as usize].any()));
        if weighted {
            let r = recency(s);
            if selection {
                weights.extend(selection_weights(s, t).into_iter().map(|w| (w * r) as f32));
            } else {
                weights.extend(std::iter::repeat_n(r as f32, m.rows()));
            }
        }
    }
    let x = Array2::from_shape_vec((n, p), values).expect("rows times features");
    let data = LinfaDataset::new(x, Array1::from(y));
    if weighted && weights.iter().any(|w| *w != 1.0) {
        data.with_weights(Array1::from(weights))
    } else {
        data
    }
}

/// Heavy-tailed features, which the scorecard log-transforms.
fn log_transformed(f: Feature) -> bool {
    matches!(f.def().unit, "yuan" | "count" | "workers") || f == Feature::OverdueUnpaidToMonthlyWageBill
}

/// The tree weights the blend is chosen from (1 = trees only, 0 = scorecard only).
const BLEND_WEIGHTS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// The fewest boosting rounds kept, however early the validation loss bottoms out.
const MIN_ROUNDS: usize = 10;

/// The scorecard's refit on all dates starts from its fit on the earlier dates and stops after this many
/// iterations (a cold fit is allowed 150; on the demo the two agree to within 0.002 per coefficient).
const WARM_START_ITERATIONS: u64 = 80;

/// How many boosting rounds each member of a bag is given.
enum Rounds<'a> {
    /// Each of `bags` members boosts until its loss on these held-out rows stops falling, and is cut back
    /// to its best round.
    StopOn(&'a PanelData, usize),
    /// Member `k` boosts exactly `rounds[k]` rounds.
    Fixed(&'a [usize]),
}

impl Rounds<'_> {
    fn members(&self) -> usize {
        match self {
            Rounds::StopOn(_, bags) => *bags,
            Rounds::Fixed(rounds) => rounds.len(),
        }
    }
}

/// The scorecard and a bag of boosted models fitted on the same rows, on the two cores: one thread fits
/// the scorecard, then takes members as the other thread does. Member `k` samples rows and features
/// with seed `trees.seed + k`; the bag is their mean ([`Gbdt::mean_of`]). Returns each member's rounds.
fn fit_both(
    data: &PanelData,
    card: &scorecard::ScorecardValidParams,
    trees: &GbdtParams,
    rounds: Rounds<'_>,
) -> Result<(Scorecard, Gbdt, Vec<usize>), ModelError> {
    let n = rounds.members();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take_members = || {
        let mut taken = Vec::new();
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if k >= n {
                return taken;
            }
            taken.push((k, fit_member(data, trees, &rounds, k)));
        }
    };
    let (card, mut taken) = std::thread::scope(|s| {
        let other = s.spawn(take_members);
        let card = card.fit(data);
        let mut taken = take_members();
        taken.extend(other.join().expect("boosting does not panic"));
        (card, taken)
    });
    let card = card?;
    taken.sort_unstable_by_key(|(k, _)| *k);
    let (members, member_rounds): (Vec<Gbdt>, Vec<usize>) =
        taken.into_iter().map(|(_, fitted)| fitted).collect::<Result<Vec<_>, _>>()?.into_iter().unzip();
    Ok((card, Gbdt::mean_of(members), member_rounds))
}

/// Member `k` of a bag: fitted with seed `trees.seed + k`, for its rounds; returns the model and its rounds.
fn fit_member(
    data: &PanelData,
    trees: &GbdtParams,
    rounds: &Rounds<'_>,
    k: usize,
) -> Result<(Gbdt, usize), ModelError> {
    let seeded = trees.clone().seed(trees.seed_value().wrapping_add(k as u64));
    match rounds {
        Rounds::StopOn(valid, _) => {
            let stopped = seeded.check()?.with_validation(*valid).fit(data)?;
            let best = stopped.best_rounds(MIN_ROUNDS);
            let mut model = stopped.model;
            model.truncate(best);
            Ok((model, best))
        }
        Rounds::Fixed(r) => Ok((seeded.trees(r[k]).check()?.fit(data)?, r[k])),
    }
}

fn train_entity(
    fit: &[&PanelSlice],
    valid: &[&PanelSlice],
    t: EntityType,
    config: &TrainConfig,
) -> Result<EntityModel, ModelError> {
    let features = t.features();
    let directions: Vec<i8> = features.iter().map(|f| if config.monotone { f.known_direction() } else { 0 }).collect();
    let card_unchecked = ScorecardParams::new(features.iter().map(|f| log_transformed(*f)).collect())
        .alpha(config.logistic_alpha)
        .monotone(directions.clone());
    let card_params = card_unchecked.clone().check()?;
    let fit_data = stack(fit, t, config.selection_weights, config.recency_half_life_months);
    let valid_data = stack(valid, t, false, None);
    if fit_data.nsamples() == 0 || valid_data.nsamples() == 0 {
        return Err(ModelError::EmptyTrainingSet);
    }
    let base_params = if fit_data.nsamples() > LARGE_PANEL_ROWS {
        config.gbdt.clone().at_least_leaves(LARGE_PANEL_LEAVES)
    } else {
        config.gbdt.clone()
    }
    .monotone(directions);
    // 1. Fit both learners on the earlier dates; stop boosting where the later dates' loss is lowest.
    let (card, forest, rounds) =
        fit_both(&fit_data, &card_params, &base_params, Rounds::StopOn(&valid_data, config.bags))?;
    let vy: Vec<bool> = valid_data.targets().iter().copied().collect();
    let card_raw: Array1<f64> = card.predict(valid_data.records());
    let forest_raw: Array1<f64> = forest.predict(valid_data.records());
    // 2. Choose the blend weight by average precision on the later dates, and calibrate that blend there
    // (Platt, one intercept per month, so the slice's own season does not become the calibrated level).
    let blended = |w: f64| -> Vec<f64> { forest_raw.iter().zip(&card_raw).map(|(g, s)| blend(w, *g, *s)).collect() };
    let (best_w, best_raw) = BLEND_WEIGHTS
        .iter()
        .map(|&w| (w, blended(w)))
        .max_by(|a, b| {
            let (ap_a, ap_b) =
                (crate::metrics::average_precision(&a.1, &vy), crate::metrics::average_precision(&b.1, &vy));
            ap_a.total_cmp(&ap_b).then(b.0.total_cmp(&a.0))
        })
        .expect("five weights");
    let month: Vec<usize> =
        valid.iter().enumerate().flat_map(|(k, s)| std::iter::repeat_n(k, s.features.matrix(t).rows())).collect();
    let calibrator = calibrate::fit_platt(&best_raw, &vy, &month)?;
    let chosen = Learner { gbdt: forest, scorecard: card, gbdt_weight: best_w };
    let validation = vec![
        candidate("logistic_scorecard", card_raw.as_slice().expect("contiguous"), &vy),
        candidate("gbdt", forest_raw.as_slice().expect("contiguous"), &vy),
        candidate(&chosen.name(), &best_raw, &vy),
    ];
    // 3. Refit both learners on all dates, so the latest months teach the model too; the calibration
    // from step 2 carries over (same learners, same rounds, a quarter more data).
    let all: Vec<&PanelSlice> = fit.iter().chain(valid).copied().collect();
    let all_data = stack(&all, t, config.selection_weights, config.recency_half_life_months);
    // The scorecard starts from its fit on the earlier dates.
    let card_refit = card_unchecked.warm_start(chosen.scorecard.clone(), WARM_START_ITERATIONS).check()?;
    let (card_all, forest_all, _) = fit_both(&all_data, &card_refit, &base_params, Rounds::Fixed(&rounds))?;
    let learner = Learner { gbdt: forest_all, scorecard: card_all, gbdt_weight: best_w };
    let drift_reference = Some(drift_reference(&all_data, &learner, &calibrator, &features));
    // 4. The amount at stake given an event, on the same dates: fitted on the earlier, judged on the later.
    let amount = amount::train(fit, valid, t)?;
    let trees = learner.gbdt.trees.len();
    Ok(EntityModel {
        amount,
        entity_type: t,
        features,
        learner,
        drift_reference,
        calibrator,
        validation,
        trees,
        training_rows: all_data.nsamples(),
        training_events: all_data.targets().iter().filter(|v| **v).count(),
        calibration_rows: valid_data.nsamples(),
    })
}

/// The distributions of the panel's features and of the fitted model's calibrated score on it, from at
/// most [`crate::drift::REFERENCE_ROWS`] rows (every k-th).
fn drift_reference(
    data: &PanelData,
    learner: &Learner,
    calibrator: &Calibrator,
    features: &[Feature],
) -> crate::drift::EntityReference {
    let n = data.nsamples();
    let stride = n.div_ceil(crate::drift::REFERENCE_ROWS).max(1);
    let rows: Vec<usize> = (0..n).step_by(stride).collect();
    let x = data.records().select(ndarray::Axis(0), &rows);
    let raw: Array1<f64> = learner.predict(&x);
    let scores: Vec<f64> = raw.iter().map(|z| calibrator.probability(*z)).collect();
    let values: Vec<f64> = x.iter().copied().collect();
    crate::drift::EntityReference::of(features, &values, &scores)
}

fn candidate(name: &str, raw: &[f64], y: &[bool]) -> CandidateScore {
    let prob: Vec<f64> = raw.iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect();
    CandidateScore {
        learner: name.to_string(),
        average_precision: crate::metrics::average_precision(raw, y),
        roc_auc: crate::metrics::roc_auc(raw, y),
        log_loss: crate::metrics::log_loss(&prob, y),
    }
}

/// Trains a model on the panel before `config.as_of`; `data_fingerprint` ([`fingerprint`] of `ds`, which the
/// caller computes once however many models it trains) is recorded with it.
pub fn train(
    ds: &Dataset,
    wm: &WorkerMonths,
    config: &TrainConfig,
    model_id: String,
    data_fingerprint: &str,
) -> Result<RiskModel, ModelError> {
    if config.bags == 0 {
        return Err(ModelError::InvalidParams { reason: "bags must be at least 1".into() });
    }
    let dates = panel_dates(config.as_of, config.horizon_days, config.panel_months);
    let slices = panel(ds, wm, &dates, config.horizon_days, Some(config.as_of))?;
    tracing::info!(dates = dates.len(), "panel features and labels computed");
    let usable: Vec<&PanelSlice> =
        slices.iter().filter(|s| s.features.employers.rows() > 0 || s.features.projects.rows() > 0).collect();
    let n_valid = config.calibration_months.min(usable.len() / 3).max(1);
    if usable.len() < 2 {
        return Err(ModelError::NoTrainingDates { cutoff: config.as_of });
    }
    let (fit, valid) = usable.split_at(usable.len() - n_valid);
    // Each entity type trains its two learners side by side, so the types go one after the other.
    let employer = train_entity(fit, valid, EntityType::Employer, config);
    let project = train_entity(fit, valid, EntityType::Project, config);
    Ok(RiskModel {
        model_id,
        trained_as_of: config.as_of,
        horizon_days: config.horizon_days,
        fit_dates: fit.iter().map(|s| s.features.as_of).collect(),
        calibration_dates: valid.iter().map(|s| s.features.as_of).collect(),
        data_fingerprint: data_fingerprint.to_string(),
        employer: employer?,
        project: project?,
    })
}

/// The id a model trained with cutoff `as_of` on data with `data_fingerprint` gets when none is given:
/// `m<YYYYMMDD>-<first 8 hex digits of the fingerprint>`, so retraining the same data gives the same id.
pub fn default_model_id(as_of: Date, data_fingerprint: &str) -> String {
    let (y, m, d) = as_of.ymd();
    let short: String = data_fingerprint.chars().take(8).collect();
    format!("m{y:04}{m:02}{d:02}-{short}")
}

/// A short content hash of a dataset, recorded with models and runs.
pub fn fingerprint(ds: &Dataset) -> String {
    let mut h = blake3::Hasher::new();
    h.update(&(ds.employers.len() as u64).to_le_bytes());
    h.update(&(ds.projects.len() as u64).to_le_bytes());
    for id in ds.employer_ids.iter().chain(ds.project_ids.iter()) {
        h.update(id.as_bytes());
        h.update(&[0]);
    }
    let mut buf = Vec::with_capacity(1 << 16);
    let flush = |buf: &mut Vec<u8>, h: &mut blake3::Hasher| {
        h.update(buf);
        buf.clear();
    };
    let p = &ds.payroll;
    for r in 0..p.len() {
        buf.extend_from_slice(&p.worker[r].value().to_le_bytes());
        buf.extend_from_slice(&p.wage_due[r].fen().to_le_bytes());
        buf.extend_from_slice(&p.due_date[r].days().to_le_bytes());
        buf.extend_from_slice(&(p.employer[r].index() as u32).to_le_bytes());
        if buf.len() > 60_000 {
            flush(&mut buf, &mut h);
        }
    }
    let q = &ds.payments;
    for r in 0..q.len() {
        buf.extend_from_slice(&q.worker[r].value().to_le_bytes());
        buf.extend_from_slice(&q.amount[r].fen().to_le_bytes());
        buf.extend_from_slice(&q.paid_on[r].days().to_le_bytes());
        if buf.len() > 60_000 {
            flush(&mut buf, &mut h);
        }
    }
    for r in 0..ds.complaints.len() {
        buf.extend_from_slice(ds.complaints.complaint_id.get(r).as_bytes());
        buf.extend_from_slice(&ds.complaints.received_on[r].days().to_le_bytes());
    }
    for r in 0..ds.inspections.len() {
        buf.extend_from_slice(&ds.inspections.inspected_on[r].days().to_le_bytes());
        buf.push(u8::from(ds.inspections.found_arrears[r]));
    }
    flush(&mut buf, &mut h);
    h.finalize().to_hex()[..16].to_string()
}

/// Risk bands by calibrated probability.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandCutoffs {
    pub red: f64,
    pub orange: f64,
    pub yellow: f64,
}

impl Default for BandCutoffs {
    fn default() -> Self {
        BandCutoffs { red: 0.5, orange: 0.25, yellow: 0.1 }
    }
}

/// A risk band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Band {
    Red,
    Orange,
    Yellow,
    Green,
}

impl Band {
    /// The contract's code.
    pub fn code(self) -> &'static str {
        match self {
            Band::Red => "red",
            Band::Orange => "orange",
            Band::Yellow => "yellow",
            Band::Green => "green",
        }
    }

    /// The band for a contract code.
    pub fn parse(code: &str) -> Option<Band> {
        [Band::Red, Band::Orange, Band::Yellow, Band::Green].into_iter().find(|b| b.code() == code)
    }
}

impl BandCutoffs {
    /// The band of a probability.
    pub fn band(&self, p: f64) -> Band {
        if p >= self.red {
            Band::Red
        } else if p >= self.orange {
            Band::Orange
        } else if p >= self.yellow {
            Band::Yellow
        } else {
            Band::Green
        }
    }
}

/// One scored entity.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub entity_type: EntityType,
    /// Dense employer or project index.
    pub entity: u32,
    pub region: RegionCode,
    /// The learner's uncalibrated score (log-odds), which orders the ranks.
    pub raw_score: f64,
    /// The calibrated probability of an arrears event in the horizon.
    pub probability: f64,
    /// 1 = highest risk within the entity type.
    pub rank: u32,
    pub band: Band,
    pub reasons: Vec<Reason>,
    pub alerts: Alerts,
    /// The expected unpaid wages and workers affected in the horizon: the probability times the amounts
    /// given an event (none when the model has no amount model).
    pub expected: Option<Expected>,
    /// For an entity banded red or orange: the measures that would lower its probability, each with the
    /// probability after it ([`levers::what_to_fix`]); empty for the other bands.
    pub levers: Vec<LeverEffect>,
    /// The floor that raised the band above what the probability gives ([`floors::apply`]), if one did.
    pub floor: Option<floors::BandFloor>,
}

/// Scores every row of a feature matrix with the model of its entity type: the learner's prediction
/// (linfa's `predict`), calibrated, ranked and banded, with the top reasons from the features' contributions.
pub fn score_matrix(model: &EntityModel, m: &FeatureMatrix, bands: &BandCutoffs) -> Result<Vec<Scored>, ModelError> {
    let p = m.features.len();
    let x = ArrayView2::from_shape((m.rows(), p), &m.values).expect("rows times features");
    check_finite(x)?;
    let usable = reasons::distinguishing(m);
    let score_rows = |rows: std::ops::Range<usize>| -> Vec<Scored> {
        let block = x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(rows.clone()));
        let raw: Array1<f64> = model.learner.predict(&block);
        let given: Option<Vec<Expected>> = model.amount.as_ref().map(|a| a.given_events(block));
        let (mut trees, mut contributions) = (Vec::new(), Vec::new());
        rows.zip(raw)
            .enumerate()
            .map(|(k, (i, raw))| {
                model.learner.contributions_into(x.row(i), &mut trees, &mut contributions);
                let probability = model.calibrator.probability(raw);
                let band = bands.band(probability);
                let levers =
                    if band <= Band::Orange { levers::what_to_fix(model, x.row(i), probability) } else { Vec::new() };
                Scored {
                    entity_type: m.entity_type,
                    entity: m.entities[i],
                    region: m.regions[i],
                    raw_score: raw,
                    probability,
                    rank: 0,
                    band,
                    reasons: reasons::top_reasons(m, i, &contributions, &usable, 3),
                    alerts: m.alerts[i],
                    expected: given.as_ref().map(|g| g[k].times(probability)),
                    levers,
                    floor: None,
                }
            })
            .collect()
    };
    // Two halves side by side; the scores do not depend on the split.
    let half = m.rows() / 2;
    let mut out = std::thread::scope(|s| {
        let second = s.spawn(|| score_rows(half..m.rows()));
        let mut first = score_rows(0..half);
        first.extend(second.join().expect("scoring does not panic"));
        first
    });
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| out[b].raw_score.total_cmp(&out[a].raw_score).then(out[a].entity.cmp(&out[b].entity)));
    for (rank, i) in order.into_iter().enumerate() {
        out[i].rank = rank as u32 + 1;
    }
    Ok(out)
}

/// Scores both entity types of a feature set.
pub fn score(model: &RiskModel, features: &Features, bands: &BandCutoffs) -> Result<Vec<Scored>, ModelError> {
    let mut out = score_matrix(&model.employer, &features.employers, bands)?;
    out.extend(score_matrix(&model.project, &features.projects, bands)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::recency_weight;
    use crate::contract::Date;

    #[test]
    fn an_older_panel_date_weighs_less_by_its_half_life() {
        let d = |s: &str| Date::parse(s).unwrap();
        let latest = d("2026-10-01");
        assert_eq!(recency_weight(latest, latest, 12.0), 1.0);
        for (as_of, want) in
            [("2025-10-01", 0.5), ("2024-10-01", 0.25), ("2026-04-01", std::f64::consts::FRAC_1_SQRT_2)]
        {
            let w = recency_weight(latest, d(as_of), 12.0);
            assert!((w - want).abs() < 0.01, "{as_of}: {w}");
        }
    }
}
