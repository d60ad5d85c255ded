//! The amount at stake: given an arrears event in the horizon, how many yuan go unpaid and to how many
//! workers ([`crate::target::harm`]). Boosted trees on the same point-in-time panel as the risk model fit
//! each amount on the rows that had an event with the Poisson deviance (a log link: the trees' score is
//! the log of the mean amount, and an event that left nothing unpaid, a complaint alone, counts as the
//! zero it is), stopping early on the later dates. The expected harm of an entity is its probability
//! times that conditional mean; an entity with no wage history gets the amount its other features
//! (headcount, sector, kind) predict, never a NaN.

use linfa::traits::{Fit, Predict};
use linfa::{Dataset as LinfaDataset, DatasetBase, ParamGuard};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::gbdt::{Gbdt, GbdtParams};
use super::{ModelError, PanelSlice};
use crate::features::EntityType;
use crate::target::Harm;

/// The fewest event rows, on the earlier and on the later dates each, that trees are fitted on; with fewer,
/// the amount given an event is the panel's mean amount for every entity.
pub const MIN_EVENT_ROWS: usize = 30;

/// How the amount model did on the later dates of its panel (out of time: fitted on the earlier ones).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmountValidation {
    /// Event rows judged; 0 when the later dates had none, and then the figures below are 0 and say
    /// nothing.
    pub rows: usize,
    /// Mean absolute error of `ln(1 + yuan)` against `ln(1 + predicted)`: 0.69 is a factor of two.
    pub log_mae_yuan: f64,
    pub log_mae_workers: f64,
    /// The predicted yuan summed over the rows against what went unpaid (1 = unbiased in total).
    pub total_ratio_yuan: f64,
    pub total_ratio_workers: f64,
    /// The 10th and 90th percentiles of `ln(1 + yuan) - ln(1 + predicted)`: for eight in ten events the
    /// amount lies between `(1 + predicted) exp(p10) - 1` and `(1 + predicted) exp(p90) - 1`.
    pub residual_p10_yuan: f64,
    pub residual_p90_yuan: f64,
}

/// The amount model of one entity type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmountModel {
    /// The log of the mean unpaid yuan given an event.
    pub yuan: Gbdt,
    /// The log of the mean number of workers affected given an event.
    pub workers: Gbdt,
    pub validation: AmountValidation,
}

/// The amounts an entity has at stake given an event, and times its probability.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Expected {
    pub unpaid_yuan: f64,
    pub workers: f64,
}

impl AmountModel {
    /// The mean amounts given an event, for one row of features.
    pub fn given_event(&self, x: ArrayView1<f64>) -> Expected {
        Expected { unpaid_yuan: self.yuan.raw_score(x).exp(), workers: self.workers.raw_score(x).exp() }
    }

    /// [`AmountModel::given_event`] of every row.
    pub fn given_events(&self, x: ArrayView2<f64>) -> Vec<Expected> {
        let (yuan, workers): (Array1<f64>, Array1<f64>) = (self.yuan.predict(&x), self.workers.predict(&x));
        yuan.iter().zip(&workers).map(|(y, w)| Expected { unpaid_yuan: y.exp(), workers: w.exp() }).collect()
    }
}

impl Expected {
    /// Amounts given an event times the event's `probability`.
    pub fn times(self, probability: f64) -> Expected {
        Expected { unpaid_yuan: probability * self.unpaid_yuan, workers: probability * self.workers }
    }
}

/// The event rows of one entity type stacked over slices: features and the amounts.
struct EventRows {
    x: Array2<f64>,
    yuan: Array1<f64>,
    workers: Array1<f64>,
}

fn event_rows(slices: &[&PanelSlice], t: EntityType) -> EventRows {
    let p = t.features().len();
    let (mut values, mut yuan, mut workers) = (Vec::new(), Vec::new(), Vec::new());
    for s in slices {
        let m = s.features.matrix(t);
        let (events, harms): (&[_], &[Harm]) = match t {
            EntityType::Employer => (&s.labels.employers, &s.harm.employers),
            EntityType::Project => (&s.labels.projects, &s.harm.projects),
        };
        for (i, &e) in m.entities.iter().enumerate() {
            if !events[e as usize].any() {
                continue;
            }
            let h = harms[e as usize];
            values.extend_from_slice(m.row(i));
            yuan.push(h.unpaid_yuan);
            workers.push(f64::from(h.workers));
        }
    }
    let n = yuan.len();
    EventRows {
        x: Array2::from_shape_vec((n, p), values).expect("rows times features"),
        yuan: Array1::from(yuan),
        workers: Array1::from(workers),
    }
}

/// The trees' settings for amounts: fewer rows than the event model, so shallower trees with larger leaves.
fn params() -> GbdtParams {
    GbdtParams::default().trees(600).learning_rate(0.05).max_leaves(15).min_leaf_rows(20).min_leaf_hessian(10.0)
}

/// The fewest rounds kept, however early the validation loss bottoms out.
const MIN_ROUNDS: usize = 10;

/// Fits one amount on `fit`, stopping where `valid`'s error is lowest, then refits on both with that
/// many rounds; returns the refitted trees and the early-stopped ones (which judge `valid` out of time).
fn fit_amount(
    fit_x: &Array2<f64>,
    fit_y: &Array1<f64>,
    valid_x: &Array2<f64>,
    valid_y: &Array1<f64>,
) -> Result<(Gbdt, Gbdt), ModelError> {
    let checked = params().check()?;
    let fit_data = DatasetBase::new(fit_x.view(), fit_y.view());
    let valid_data = DatasetBase::new(valid_x.view(), valid_y.view());
    let stopped = checked.poisson().with_validation(&valid_data).fit(&fit_data)?;
    let rounds = stopped.best_rounds(MIN_ROUNDS);
    let mut early = stopped.model;
    early.truncate(rounds);
    let all_x = ndarray::concatenate(ndarray::Axis(0), &[fit_x.view(), valid_x.view()]).expect("same columns");
    let all_y = ndarray::concatenate(ndarray::Axis(0), &[fit_y.view(), valid_y.view()]).expect("one target each");
    let refit = params().trees(rounds).check()?.poisson().fit(&LinfaDataset::new(all_x, all_y))?.model;
    Ok((refit, early))
}

/// The `q`-quantile of `v` (nearest rank), 0 when empty.
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Out-of-time figures of the early-stopped models on the later dates' event rows.
fn validate(yuan: &Gbdt, workers: &Gbdt, valid: &EventRows) -> AmountValidation {
    let mean = |m: &Gbdt| -> Vec<f64> { m.predict(&valid.x).iter().map(|z: &f64| z.exp()).collect() };
    let (py, pw) = (mean(yuan), mean(workers));
    let n = valid.yuan.len();
    let log_error =
        |p: &[f64], a: &Array1<f64>| -> Vec<f64> { a.iter().zip(p).map(|(a, p)| a.ln_1p() - p.ln_1p()).collect() };
    let mae = |e: &[f64]| e.iter().map(|v| v.abs()).sum::<f64>() / n.max(1) as f64;
    let ratio = |p: &[f64], a: &Array1<f64>| {
        let actual = a.sum();
        if actual > 0.0 {
            p.iter().sum::<f64>() / actual
        } else {
            0.0
        }
    };
    let residuals = log_error(&py, &valid.yuan);
    AmountValidation {
        rows: n,
        log_mae_yuan: mae(&residuals),
        log_mae_workers: mae(&log_error(&pw, &valid.workers)),
        total_ratio_yuan: ratio(&py, &valid.yuan),
        total_ratio_workers: ratio(&pw, &valid.workers),
        residual_p10_yuan: quantile(residuals.clone(), 0.1),
        residual_p90_yuan: quantile(residuals, 0.9),
    }
}

/// The mean amount of `rows`, as trees without a split (the log of the mean is the base score).
fn constant(rows: &EventRows, amount: &Array1<f64>) -> Gbdt {
    let mean = amount.sum() / amount.len().max(1) as f64;
    Gbdt { base_score: mean.ln(), trees: Vec::new(), n_features: rows.x.ncols() }
}

/// Trains the amount model of one entity type on the event rows of `fit` (earlier dates), judged on those
/// of `valid` (later dates). With fewer than [`MIN_EVENT_ROWS`] on either side, every entity gets the mean
/// amount of all event rows; `None` when no event left wages unpaid.
pub fn train(fit: &[&PanelSlice], valid: &[&PanelSlice], t: EntityType) -> Result<Option<AmountModel>, ModelError> {
    let (f, v) = (event_rows(fit, t), event_rows(valid, t));
    let enough = |r: &EventRows| r.x.nrows() >= MIN_EVENT_ROWS && r.yuan.sum() > 0.0 && r.workers.sum() > 0.0;
    if !(enough(&f) && enough(&v)) {
        // The mean of the earlier dates, judged on the later ones; of all dates when the earlier left
        // nothing unpaid (then its figures are not out of time).
        let positive = |r: &EventRows| r.yuan.sum() > 0.0 && r.workers.sum() > 0.0;
        let all: Vec<&PanelSlice> = fit.iter().chain(valid).copied().collect();
        let rows = if positive(&f) { f } else { event_rows(&all, t) };
        if !positive(&rows) {
            return Ok(None);
        }
        let (yuan, workers) = (constant(&rows, &rows.yuan), constant(&rows, &rows.workers));
        let validation = validate(&yuan, &workers, &v);
        return Ok(Some(AmountModel { yuan, workers, validation }));
    }
    let (yuan, workers) = std::thread::scope(|s| {
        let w = s.spawn(|| fit_amount(&f.x, &f.workers, &v.x, &v.workers));
        let y = fit_amount(&f.x, &f.yuan, &v.x, &v.yuan);
        (y, w.join().expect("boosting does not panic"))
    });
    let ((yuan, yuan_early), (workers, workers_early)) = (yuan?, workers?);
    let validation = validate(&yuan_early, &workers_early, &v);
    Ok(Some(AmountModel { yuan, workers, validation }))
}
