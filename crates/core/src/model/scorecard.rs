//! The interpretable scorecard: a standardised logistic regression fitted with `linfa-logistic`.
//!
//! Heavy-tailed features (amounts, counts) go through a signed `ln(1 + |x|)` first; every feature is then
//! standardised with the training mean and standard deviation. Coefficients are taken out of the linfa
//! model into plain vectors, so scoring is a dot product and the saved file is ours.
//!
//! linfa trap (checked in the tests): a binary `FittedLogisticRegression` models the probability of the
//! label it calls `pos`, which is the *more frequent* training label; for rare events that is "no event".
//! [`fit_scorecard`] reads `labels().pos` and flips the sign of the coefficients when needed.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::ModelError;

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
        (0..self.coef.len()).map(|j| self.coef[j] * self.standardise(j, x[j])).collect()
    }
}

/// Fits a scorecard with L2 penalty `alpha` on rows `x` with events `y`; `log_transform` says which columns
/// are heavy-tailed.
pub fn fit_scorecard(
    x: ArrayView2<f64>,
    y: &[bool],
    log_transform: Vec<bool>,
    alpha: f64,
) -> Result<Scorecard, ModelError> {
    let (n, p) = x.dim();
    if n == 0 {
        return Err(ModelError::EmptyTrainingSet);
    }
    if y.iter().all(|v| *v) || y.iter().all(|v| !*v) {
        return Err(ModelError::OneClass);
    }
    let mut z = x.to_owned();
    for (j, log) in log_transform.iter().enumerate() {
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
    let targets: Array1<bool> = y.iter().copied().collect();
    let dataset = Dataset::new(z, targets);
    let fitted = LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(150)
        .gradient_tolerance(1e-3)
        .fit(&dataset)
        .map_err(|e| ModelError::Logistic { reason: e.to_string() })?;
    // linfa models P(labels().pos); make the score the log-odds of an event.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    Ok(Scorecard {
        log_transform,
        mean,
        std,
        coef: fitted.params().iter().map(|c| sign * c).collect(),
        intercept: sign * fitted.intercept(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn the_score_rises_with_event_risk_although_events_are_rare() {
        // One informative feature; events are rare (the trap: linfa's `pos` is then "no event").
        let n = 2_000;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { (i % 100) as f64 } else { ((i * 7) % 13) as f64 });
        let y: Vec<bool> = (0..n).map(|i| i % 100 >= 93).collect();
        let card = fit_scorecard(x.view(), &y, vec![false, false], 1.0).unwrap();
        assert!(card.coef[0] > 0.0, "{card:?}");
        let low = card.raw_score(x.row(5));
        let high = card.raw_score(x.row(99));
        assert!(high > low + 1.0, "high {high} low {low}");
        // The probability of the rare event is small for a low row.
        assert!(1.0 / (1.0 + (-low).exp()) < 0.1);
        // Contributions add up to the score.
        let sum: f64 = card.contributions(x.row(42)).iter().sum::<f64>() + card.intercept;
        assert!((sum - card.raw_score(x.row(42))).abs() < 1e-9);
    }
}
