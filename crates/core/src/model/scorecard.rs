//! The interpretable scorecard: a standardised logistic regression, a linfa model end to end.
//!
//! [`ScorecardParams`] (unchecked) check into [`ScorecardValidParams`], which implement
//! `linfa::traits::Fit` on a linfa `Dataset` of features and events and give a fitted [`Scorecard`], which
//! implements `linfa::traits::PredictInplace`: it predicts each row's raw score, the log-odds of an event.
//! Fitting standardises the features (heavy-tailed ones through a signed `ln(1 + |x|)` first) and fits
//! `linfa-logistic` on the standardised rows; the coefficients are then kept as plain vectors, so scoring is a
//! dot product and the saved file is ours.
//!
//! linfa trap (checked in the tests): a binary `FittedLogisticRegression` models the probability of the
//! label it calls `pos`, which is the *more frequent* training label; for rare events that is "no event".
//! The fit reads `labels().pos` and flips the sign of the coefficients when needed.

use linfa::dataset::{AsSingleTargets, DatasetBase};
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ArrayBase, ArrayView1, Data, Ix2, ShapeBuilder};
use serde::{Deserialize, Serialize};

use super::{check_finite, ModelError};

/// Scorecard hyperparameters, unchecked.
#[derive(Clone, Debug, PartialEq)]
pub struct ScorecardParams(ScorecardValidParams);

/// Scorecard hyperparameters that passed [`ParamGuard::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct ScorecardValidParams {
    /// Whether feature j is log-transformed before standardising.
    log_transform: Vec<bool>,
    /// The L2 penalty.
    alpha: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
    /// Per feature: `1` where the score may only rise with the feature, `-1` where it may only fall, `0`
    /// free (empty: all free). A feature whose fitted coefficient goes the wrong way is left out (its
    /// coefficient 0) and the rest refitted.
    monotone: Vec<i8>,
    /// A scorecard fitted on similar rows to start from, and the iterations allowed from there.
    warm_start: Option<(Scorecard, u64)>,
}

impl ScorecardParams {
    /// A scorecard over features whose heavy-tailed columns are marked in `log_transform`, with an L2
    /// penalty of 1.
    pub fn new(log_transform: Vec<bool>) -> ScorecardParams {
        ScorecardParams(ScorecardValidParams {
            log_transform,
            alpha: 1.0,
            max_iterations: 150,
            gradient_tolerance: 1e-3,
            monotone: Vec::new(),
            warm_start: None,
        })
    }

    /// Start from `fitted` (a scorecard over the same features, fitted on similar rows) and stop after
    /// `max_iterations`: near the optimum, a few iterations reach what a cold start needs many for.
    pub fn warm_start(mut self, fitted: Scorecard, max_iterations: u64) -> Self {
        self.0.warm_start = Some((fitted, max_iterations));
        self
    }

    /// The direction each feature must move the score in (`1` up, `-1` down, `0` free), one per feature.
    pub fn monotone(mut self, directions: Vec<i8>) -> Self {
        self.0.monotone = directions;
        self
    }

    /// The L2 penalty on the standardised coefficients.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.0.alpha = alpha;
        self
    }
}

impl ParamGuard for ScorecardParams {
    type Checked = ScorecardValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&ScorecardValidParams, ModelError> {
        let p = &self.0;
        if !(p.alpha.is_finite() && p.alpha >= 0.0) {
            return Err(ModelError::InvalidParams { reason: "alpha must be a finite number, 0 or more".into() });
        }
        if p.log_transform.is_empty() {
            return Err(ModelError::InvalidParams { reason: "a scorecard needs at least one feature".into() });
        }
        if !p.monotone.is_empty() && p.monotone.len() != p.log_transform.len() {
            return Err(ModelError::InvalidParams { reason: "one monotone direction per feature".into() });
        }
        if p.warm_start.as_ref().is_some_and(|(card, _)| card.log_transform != p.log_transform) {
            return Err(ModelError::InvalidParams { reason: "a warm start from a scorecard of other features".into() });
        }
        Ok(p)
    }

    fn check(self) -> Result<ScorecardValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted scorecard: raw score = intercept + Σ coef_j · z_j, with z_j the standardised (log-)feature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// Whether feature j is log-transformed before standardising.
    pub log_transform: Vec<bool>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub coef: Vec<f64>,
    pub intercept: f64,
}

fn signed_log(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

impl Scorecard {
    fn standardise(&self, j: usize, x: f64) -> f64 {
        let v = if self.log_transform[j] { signed_log(x) } else { x };
        (v - self.mean[j]) / self.std[j]
    }

    /// The raw score (log-odds of an event) of one row.
    pub fn raw_score(&self, x: ArrayView1<f64>) -> f64 {
        self.intercept + (0..self.coef.len()).map(|j| self.coef[j] * self.standardise(j, x[j])).sum::<f64>()
    }

    /// Each feature's contribution to the raw score against an average entity (coef · z).
    pub fn contributions(&self, x: ArrayView1<f64>) -> Vec<f64> {
        (0..self.coef.len()).map(|j| self.contribution(j, x[j])).collect()
    }

    /// The same scores on rows standardised by `mean` and `std` instead of this scorecard's own: the
    /// coefficients and intercept there.
    fn restandardised(&self, mean: &[f64], std: &[f64]) -> (Vec<f64>, f64) {
        let coef: Vec<f64> = (0..self.coef.len()).map(|j| self.coef[j] * std[j] / self.std[j]).collect();
        let shift: f64 = (0..self.coef.len()).map(|j| self.coef[j] * (mean[j] - self.mean[j]) / self.std[j]).sum();
        (coef, self.intercept + shift)
    }

    /// Feature `j`'s contribution when it has value `x`.
    pub fn contribution(&self, j: usize, x: f64) -> f64 {
        self.coef[j] * self.standardise(j, x)
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for Scorecard {
    /// The raw score (log-odds of an event) of every row.
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        assert_eq!(x.nrows(), y.len(), "one prediction per row");
        for (out, row) in y.iter_mut().zip(x.rows()) {
            *out = self.raw_score(row);
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

impl<D: Data<Elem = f64>, T: AsSingleTargets<Elem = bool>> Fit<ArrayBase<D, Ix2>, T, ModelError>
    for ScorecardValidParams
{
    type Object = Scorecard;

    /// Fits on the dataset's rows and events (sample weights are not used).
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<Scorecard, ModelError> {
        let x = dataset.records();
        let y = dataset.as_single_targets();
        let (n, p) = x.dim();
        if n == 0 {
            return Err(ModelError::EmptyTrainingSet);
        }
        if p != self.log_transform.len() {
            return Err(ModelError::InvalidParams {
                reason: format!("{p} features, but {} log-transform flags", self.log_transform.len()),
            });
        }
        check_finite(x.view())?;
        if y.iter().all(|v| *v) || y.iter().all(|v| !*v) {
            return Err(ModelError::OneClass);
        }
        // Column-major: linfa's gradient multiplies the transposed matrix by a vector, which then walks
        // contiguous memory (row-major, each product strides across the whole matrix).
        let mut z = Array2::zeros((n, p).f());
        z.assign(x);
        for (j, log) in self.log_transform.iter().enumerate() {
            if *log {
                z.column_mut(j).mapv_inplace(signed_log);
            }
        }
        let mean: Vec<f64> = (0..p).map(|j| z.column(j).mean().unwrap_or(0.0)).collect();
        let std: Vec<f64> = (0..p)
            .map(|j| {
                let s = z.column(j).std(0.0);
                if s > 1e-12 {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        for j in 0..p {
            let (m, s) = (mean[j], std[j]);
            z.column_mut(j).mapv_inplace(|v| (v - m) / s);
        }
        // Features whose coefficient goes against their direction are left out and the rest refitted once;
        // one that the refit turns the wrong way is then set to 0 (two fits at most: each is the cost of the
        // whole scorecard).
        let wrong = |coef: &[f64]| -> Vec<usize> {
            (0..p)
                .filter(|&j| {
                    let d = self.monotone.get(j).copied().unwrap_or(0);
                    (d > 0 && coef[j] < 0.0) || (d < 0 && coef[j] > 0.0)
                })
                .collect()
        };
        let start = self.warm_start.as_ref().map(|(card, _)| card.restandardised(&mean, &std));
        let (mut coef, mut intercept) = self.fit_logistic(&z, y.to_owned(), start)?;
        let first = wrong(&coef);
        if !first.is_empty() {
            for &j in &first {
                z.column_mut(j).fill(0.0);
                coef[j] = 0.0;
            }
            let start = self.warm_start.as_ref().map(|_| (coef.clone(), intercept));
            (coef, intercept) = self.fit_logistic(&z, y.to_owned(), start)?;
            for j in wrong(&coef) {
                coef[j] = 0.0;
            }
        }
        Ok(Scorecard { log_transform: self.log_transform.clone(), mean, std, coef, intercept })
    }
}

impl ScorecardValidParams {
    /// linfa's logistic regression on standardised rows: the coefficients and intercept of the log-odds
    /// of an event; from `start` (coefficients and intercept on the same standardised rows) when given.
    fn fit_logistic(
        &self,
        z: &Array2<f64>,
        y: Array1<bool>,
        start: Option<(Vec<f64>, f64)>,
    ) -> Result<(Vec<f64>, f64), ModelError> {
        let mut params = LogisticRegression::default().alpha(self.alpha).gradient_tolerance(self.gradient_tolerance);
        params = match (start, &self.warm_start) {
            (Some((coef, intercept)), Some((_, iterations))) => {
                // linfa models P(the more frequent class) (ties: the first row's); start on its side.
                let events = y.iter().filter(|v| **v).count();
                let events_first = 2 * events > y.len() || (2 * events == y.len() && y[0]);
                let sign = if events_first { 1.0 } else { -1.0 };
                let initial: Array1<f64> = coef.iter().chain([&intercept]).map(|c| sign * c).collect();
                params.initial_params(initial).max_iterations(*iterations)
            }
            _ => params.max_iterations(self.max_iterations),
        };
        let standardised = Dataset::new(z.clone(), y);
        let fitted = params.fit(&standardised).map_err(|e| ModelError::Logistic { reason: e.to_string() })?;
        // linfa models P(labels().pos); make the score the log-odds of an event.
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        Ok((fitted.params().iter().map(|c| sign * c).collect(), sign * fitted.intercept()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(x: &Array2<f64>, y: &[bool]) -> Scorecard {
        let data = Dataset::new(x.clone(), Array1::from(y.to_vec()));
        ScorecardParams::new(vec![false; x.ncols()]).check().unwrap().fit(&data).unwrap()
    }

    #[test]
    fn the_score_rises_with_event_risk_although_events_are_rare() {
        // One informative feature; events are rare (the trap: linfa's `pos` is then "no event").
        let n = 2_000;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { (i % 100) as f64 } else { ((i * 7) % 13) as f64 });
        let y: Vec<bool> = (0..n).map(|i| i % 100 >= 93).collect();
        let card = fit(&x, &y);
        assert!(card.coef[0] > 0.0, "{card:?}");
        let low = card.raw_score(x.row(5));
        let high = card.raw_score(x.row(99));
        assert!(high > low + 1.0, "high {high} low {low}");
        // The probability of the rare event is small for a low row.
        assert!(1.0 / (1.0 + (-low).exp()) < 0.1);
        // Contributions add up to the score.
        let sum: f64 = card.contributions(x.row(42)).iter().sum::<f64>() + card.intercept;
        assert!((sum - card.raw_score(x.row(42))).abs() < 1e-9);
        // linfa's predict gives the same raw scores, row by row.
        let predicted: Array1<f64> = card.predict(&x);
        assert!(x.rows().into_iter().zip(&predicted).all(|(r, p)| *p == card.raw_score(r)));
    }

    #[test]
    fn a_feature_against_its_direction_is_left_out() {
        // Feature 1 lowers the risk in the data, but is declared never to: it is left out, feature 0 kept.
        let n = 2_000;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { (i % 100) as f64 } else { ((i / 7) % 10) as f64 });
        let y: Vec<bool> = (0..n).map(|i| i % 100 >= 90 && (i / 7) % 10 < 6).collect();
        let data = Dataset::new(x.clone(), Array1::from(y.clone()));
        let free = fit(&x, &y);
        assert!(free.coef[1] < 0.0, "the data lowers the risk with feature 1: {free:?}");
        let card = ScorecardParams::new(vec![false; 2]).monotone(vec![0, 1]).check().unwrap().fit(&data).unwrap();
        assert_eq!(card.coef[1], 0.0, "{card:?}");
        assert!(card.coef[0] > 0.0, "{card:?}");
        assert!(ScorecardParams::new(vec![false; 2]).monotone(vec![1]).check().is_err());
    }

    #[test]
    fn a_warm_start_reaches_the_cold_fit_in_fewer_iterations() {
        // Rare events (the side linfa starts on is "no event"), one log-transformed feature, and a feature
        // against its direction; the warm start comes from the first half of the rows, whose means and
        // spreads differ from all rows'.
        let n = 4_000;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| match j {
            0 => (i % 100) as f64 + (i / 2_000) as f64 * 20.0,
            1 => ((i * 7) % 13) as f64 * 1_000.0,
            _ => ((i / 7) % 10) as f64,
        });
        let y: Vec<bool> = (0..n).map(|i| i % 100 >= 90 && ((i / 7) % 10 < 6 || i % 3 == 0)).collect();
        let params = ScorecardParams::new(vec![false, true, false]).monotone(vec![1, 0, 1]);
        let first: Vec<usize> = (0..n / 2).collect();
        let half = Dataset::new(x.select(ndarray::Axis(0), &first), Array1::from(y[..n / 2].to_vec()));
        let start = params.clone().check().unwrap().fit(&half).unwrap();
        // The same scores on the new rows' standardisation.
        let all = Dataset::new(x.clone(), Array1::from(y.clone()));
        let cold = params.clone().check().unwrap().fit(&all).unwrap();
        let (coef, intercept) = start.restandardised(&cold.mean, &cold.std);
        let moved = Scorecard { coef, intercept, mean: cold.mean.clone(), std: cold.std.clone(), ..start.clone() };
        assert!(x.rows().into_iter().all(|r| (moved.raw_score(r) - start.raw_score(r)).abs() < 1e-9));
        // From there, fewer iterations land where a cold start's 150 do than from a cold start.
        let gap = |card: &Scorecard| {
            let coef = card.coef.iter().zip(&cold.coef).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            coef.max((card.intercept - cold.intercept).abs())
        };
        let warm_fit = |k| params.clone().warm_start(start.clone(), k).check().unwrap().fit(&all).unwrap();
        let cold_fit =
            |k| ScorecardParams(ScorecardValidParams { max_iterations: k, ..params.clone().check().unwrap() });
        let needed = |fit: &dyn Fn(u64) -> Scorecard| (1..=150).find(|k| gap(&fit(*k)) < 1e-3).unwrap_or(150);
        let (warm_needs, cold_needs) =
            (needed(&warm_fit), needed(&|k| cold_fit(k).check().unwrap().fit(&all).unwrap()));
        assert!(warm_needs < cold_needs, "warm {warm_needs} iterations, cold {cold_needs}");
        let warm = warm_fit(warm_needs);
        assert_eq!(warm.coef[2], 0.0, "the feature against its direction stays out: {warm:?}");
        // A warm start from a scorecard of other features is refused.
        assert!(ScorecardParams::new(vec![false; 3]).warm_start(start, 20).check().is_err());
    }

    #[test]
    fn bad_params_and_bad_rows_are_errors() {
        let bad = ScorecardParams::new(vec![false]).alpha(-1.0).check();
        assert!(matches!(bad, Err(ModelError::InvalidParams { .. })));
        let mut x = Array2::from_shape_fn((20, 1), |(i, _)| i as f64);
        let y: Vec<bool> = (0..20).map(|i| i > 15).collect();
        x[(3, 0)] = f64::NAN;
        let data = Dataset::new(x, Array1::from(y));
        let err = ScorecardParams::new(vec![false]).check().unwrap().fit(&data).unwrap_err();
        assert!(matches!(err, ModelError::NonFinite { row: 3, column: 0 }), "{err}");
    }
}
