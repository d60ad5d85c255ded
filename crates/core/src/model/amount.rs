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
use crate::features::{EntityType, Feature};
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
    /// The log of the mean unpaid yuan given an event, per yuan of the entity's monthly wage bill when
    /// `yuan_per_wage_bill` names the bill's column (the trees learn the share of a month's wages that goes
    /// unpaid, and the bill scales it), or in yuan when it is none (models saved before it was kept).
    pub yuan: Gbdt,
    #[serde(default)]
    pub yuan_per_wage_bill: Option<usize>,
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
        let scale = wage_bill_scale(self.yuan_per_wage_bill, x);
        Expected { unpaid_yuan: scale * self.yuan.raw_score(x).exp(), workers: self.workers.raw_score(x).exp() }
    }

    /// [`AmountModel::given_event`] of every row.
    pub fn given_events(&self, x: ArrayView2<f64>) -> Vec<Expected> {
        let (yuan, workers): (Array1<f64>, Array1<f64>) = (self.yuan.predict(&x), self.workers.predict(&x));
        let scales = x.rows().into_iter().map(|row| wage_bill_scale(self.yuan_per_wage_bill, row));
        yuan.iter()
            .zip(&workers)
            .zip(scales)
            .map(|((y, w), s)| Expected { unpaid_yuan: s * y.exp(), workers: w.exp() })
            .collect()
    }
}

/// The least monthly wage bill an amount is scaled by: an entity with no wage history (or a tiny one)
/// gets the amount its other features give per this many yuan.
pub const MIN_WAGE_BILL_SCALE: f64 = 10_000.0;

/// What the yuan trees' amount is multiplied by for a row: its monthly wage bill (at least
/// [`MIN_WAGE_BILL_SCALE`], which a NaN also gives) when `column` names it, else 1.
fn wage_bill_scale(column: Option<usize>, x: ArrayView1<f64>) -> f64 {
    column.map_or(1.0, |c| x[c].max(MIN_WAGE_BILL_SCALE))
}

/// The column of the monthly wage bill among an entity type's features.
fn wage_bill_column(t: EntityType) -> Option<usize> {
    t.features().iter().position(|f| *f == Feature::MonthlyWageBillYuan)
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
    /// What each row's yuan are scaled by ([`wage_bill_scale`]).
    scale: Array1<f64>,
}

impl EventRows {
    /// The yuan per unit of scale, and each row's weight (its scale over the mean scale): a Poisson fit
    /// of these is the fit of the yuan with the log of the scale as an offset.
    fn per_scale(&self) -> (Array1<f64>, Array1<f32>) {
        let mean = self.scale.mean().unwrap_or(1.0).max(f64::MIN_POSITIVE);
        let ratio = &self.yuan / &self.scale;
        (ratio, self.scale.mapv(|s| (s / mean) as f32))
    }
}

fn event_rows(slices: &[&PanelSlice], t: EntityType, column: Option<usize>) -> EventRows {
    let p = t.features().len();
    let (mut values, mut yuan, mut workers, mut scale) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
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
            scale.push(wage_bill_scale(column, ArrayView1::from(m.row(i))));
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
        scale: Array1::from(scale),
    }
}

/// The trees' settings for amounts: fewer rows than the event model, so shallower trees with larger leaves.
fn params() -> GbdtParams {
    GbdtParams::default().trees(600).learning_rate(0.05).max_leaves(15).min_leaf_rows(20).min_leaf_hessian(10.0)
}

/// The fewest rounds kept, however early the validation loss bottoms out.
const MIN_ROUNDS: usize = 10;

/// An amount to fit: its rows' features, targets and weights.
struct Target<'a> {
    x: &'a Array2<f64>,
    y: &'a Array1<f64>,
    weights: Array1<f32>,
}

impl<'a> Target<'a> {
    fn unweighted(x: &'a Array2<f64>, y: &'a Array1<f64>) -> Target<'a> {
        Target { x, y, weights: Array1::ones(y.len()) }
    }
}

/// Fits one amount on `fit`, stopping where `valid`'s error is lowest, then refits on both with that
/// many rounds; returns the refitted trees and the early-stopped ones (which judge `valid` out of time).
fn fit_amount(fit: Target<'_>, valid: Target<'_>) -> Result<(Gbdt, Gbdt), ModelError> {
    let checked = params().check()?;
    let fit_data = DatasetBase::new(fit.x.view(), fit.y.view()).with_weights(fit.weights.clone());
    let valid_data = DatasetBase::new(valid.x.view(), valid.y.view()).with_weights(valid.weights.clone());
    let stopped = checked.poisson().with_validation(&valid_data).fit(&fit_data)?;
    let rounds = stopped.best_rounds(MIN_ROUNDS);
    let mut early = stopped.model;
    early.truncate(rounds);
    let axis = ndarray::Axis(0);
    let all_x = ndarray::concatenate(axis, &[fit.x.view(), valid.x.view()]).expect("same columns");
    let all_y = ndarray::concatenate(axis, &[fit.y.view(), valid.y.view()]).expect("one target each");
    let all_w = ndarray::concatenate(axis, &[fit.weights.view(), valid.weights.view()]).expect("one weight each");
    let all = LinfaDataset::new(all_x, all_y).with_weights(all_w);
    let refit = params().trees(rounds).check()?.poisson().fit(&all)?.model;
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
    let py: Vec<f64> = mean(yuan).iter().zip(&valid.scale).map(|(y, s)| y * s).collect();
    let pw = mean(workers);
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

/// Rows whose yuan are in yuan, not scaled (the constant amount of a small panel).
fn unscaled(mut rows: EventRows) -> EventRows {
    rows.scale.fill(1.0);
    rows
}

/// Trains the amount model of one entity type on the event rows of `fit` (earlier dates), judged on those
/// of `valid` (later dates). With fewer than [`MIN_EVENT_ROWS`] on either side, every entity gets the mean
/// amount of all event rows; `None` when no event left wages unpaid.
pub fn train(fit: &[&PanelSlice], valid: &[&PanelSlice], t: EntityType) -> Result<Option<AmountModel>, ModelError> {
    let column = wage_bill_column(t);
    let (f, v) = (event_rows(fit, t, column), event_rows(valid, t, column));
    let enough = |r: &EventRows| r.x.nrows() >= MIN_EVENT_ROWS && r.yuan.sum() > 0.0 && r.workers.sum() > 0.0;
    if !(enough(&f) && enough(&v)) {
        // The mean of the earlier dates, judged on the later ones; of all dates when the earlier left
        // nothing unpaid (then its figures are not out of time).
        let positive = |r: &EventRows| r.yuan.sum() > 0.0 && r.workers.sum() > 0.0;
        let all: Vec<&PanelSlice> = fit.iter().chain(valid).copied().collect();
        let rows = if positive(&f) { f } else { event_rows(&all, t, None) };
        if !positive(&rows) {
            return Ok(None);
        }
        let (yuan, workers) = (constant(&rows, &rows.yuan), constant(&rows, &rows.workers));
        let validation = validate(&yuan, &workers, &unscaled(v));
        return Ok(Some(AmountModel { yuan, yuan_per_wage_bill: None, workers, validation }));
    }
    let ((fy, fw), (vy, vw)) = (f.per_scale(), v.per_scale());
    let (yuan, workers) = std::thread::scope(|s| {
        let w = s.spawn(|| fit_amount(Target::unweighted(&f.x, &f.workers), Target::unweighted(&v.x, &v.workers)));
        let y = fit_amount(Target { x: &f.x, y: &fy, weights: fw }, Target { x: &v.x, y: &vy, weights: vw });
        (y, w.join().expect("boosting does not panic"))
    });
    let ((yuan, yuan_early), (workers, workers_early)) = (yuan?, workers?);
    let validation = validate(&yuan_early, &workers_early, &v);
    Ok(Some(AmountModel { yuan, yuan_per_wage_bill: column, workers, validation }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Event rows whose unpaid yuan are half the monthly wage bill (column 0; column 1 is noise).
    fn half_the_bill(n: usize, seed: u64) -> EventRows {
        let mut rng = crate::rng::Rng::new(seed);
        let bills: Vec<f64> = (0..n).map(|_| 10_000.0 + rng.below(190_000) as f64).collect();
        let x = Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { bills[i] } else { rng.below(100) as f64 });
        let scale = Array1::from_iter(bills.iter().map(|b| wage_bill_scale(Some(0), ndarray::arr1(&[*b, 0.0]).view())));
        EventRows { yuan: Array1::from_iter(bills.iter().map(|b| b / 2.0)), workers: Array1::ones(n), x, scale }
    }

    #[test]
    fn the_amount_at_stake_scales_with_the_wage_bill_beyond_the_bills_it_was_fitted_on() {
        let cases: [(f64, f64); 4] = [
            (50_000.0, 50_000.0),
            (3_000.0, MIN_WAGE_BILL_SCALE),
            (f64::NAN, MIN_WAGE_BILL_SCALE),
            (0.0, MIN_WAGE_BILL_SCALE),
        ];
        for (bill, scale) in cases {
            assert_eq!(wage_bill_scale(Some(0), ndarray::arr1(&[bill, 1.0]).view()), scale, "{bill}");
            assert_eq!(wage_bill_scale(None, ndarray::arr1(&[bill, 1.0]).view()), 1.0);
        }
        let (fit, valid) = (half_the_bill(400, 1), half_the_bill(200, 2));
        let ((fy, fw), (vy, vw)) = (fit.per_scale(), valid.per_scale());
        let scaled_fit = Target { x: &fit.x, y: &fy, weights: fw };
        let (scaled, _) = fit_amount(scaled_fit, Target { x: &valid.x, y: &vy, weights: vw }).unwrap();
        let (plain, _) =
            fit_amount(Target::unweighted(&fit.x, &fit.yuan), Target::unweighted(&valid.x, &valid.yuan)).unwrap();
        let workers = constant(&fit, &fit.workers);
        let validation = validate(&scaled, &workers, &valid);
        let model = AmountModel { yuan: scaled, yuan_per_wage_bill: Some(0), workers, validation };
        // Ten times the largest bill fitted on: the scaled model follows the bill, trees alone cannot.
        let big = ndarray::arr1(&[2_000_000.0, 50.0]);
        let expected = model.given_event(big.view()).unpaid_yuan;
        assert!((expected / 1_000_000.0 - 1.0).abs() < 0.1, "{expected}");
        assert!(plain.raw_score(big.view()).exp() < 150_000.0, "trees alone stay within what they saw");
        assert!(
            model.validation.total_ratio_yuan > 0.9 && model.validation.total_ratio_yuan < 1.1,
            "{:?}",
            model.validation
        );
        // Rows scored together and one at a time agree.
        let rows = ndarray::arr2(&[[2_000_000.0, 50.0], [20_000.0, 3.0]]);
        let together = model.given_events(rows.view());
        assert_eq!(together[0].unpaid_yuan, expected);
        assert_eq!(together[1].unpaid_yuan, model.given_event(rows.row(1)).unpaid_yuan);
    }
}
