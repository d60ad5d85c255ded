//! Calibration: maps a learner's raw score (log-odds) to the probability of an event, fitted on the later
//! time slice by Platt scaling with one intercept per as-of month.
//!
//! The held-out slice is six consecutive months, and its months differ in level for reasons the learner
//! already models from its whole two-year panel: the season (a slice ending in December holds the winter
//! rise, one ending in September holds none) and the year's drift. A calibrator fitted to the slice as a
//! whole learns that slice's mix and carries it to a test date of another season: an isotonic curve did,
//! and on the 20,000-employer province it lifted every post-festival probability by the winter's rate and
//! held the pre-festival ones at the summer's (worst reliability bin 0.04–0.10 off over five test dates,
//! where the learner's own probabilities were 0.02–0.06 off). So each month gets an intercept of its own, the
//! shared slope is what the slice says about the learner's confidence, and the level stays the learner's:
//! the intercept is set so that, over the slice, the calibrated probabilities average what the learner's
//! own do.
//!
//! Not `linfa-logistic`: it has no offsets or per-group intercepts, and its binary probabilities are those
//! of the more frequent label (the known trap); this is a two-parameter-family Newton fit written out.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// The fitted slope is kept within these bounds, so that the probability always rises with the raw score.
pub const SLOPE_BOUNDS: (f64, f64) = (0.1, 10.0);

/// A monotone map from raw score to probability: `1 / (1 + exp(-(slope * raw + intercept)))`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibrator {
    pub slope: f64,
    pub intercept: f64,
}

impl Calibrator {
    /// The learner's own probability: slope 1, intercept 0.
    pub const IDENTITY: Calibrator = Calibrator { slope: 1.0, intercept: 0.0 };

    /// The calibrated probability of a raw score; rises strictly with it.
    pub fn probability(&self, raw: f64) -> f64 {
        sigmoid(self.slope * raw + self.intercept)
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Fits the calibration of `raw` scores to events `y`, where `month[i]` numbers the as-of month of row `i`
/// (0, 1, …). Months without both an event and a non-event say nothing about the slope and are left out of
/// its fit; if no month has both, the calibrator is the identity.
pub fn fit_platt(raw: &[f64], y: &[bool], month: &[usize]) -> Result<Calibrator, ModelError> {
    if raw.is_empty() || raw.len() != y.len() || raw.len() != month.len() {
        return Err(ModelError::EmptyTrainingSet);
    }
    let months = month.iter().max().map_or(0, |m| m + 1);
    let mut events = vec![0usize; months];
    let mut rows = vec![0usize; months];
    for (&k, &event) in month.iter().zip(y) {
        rows[k] += 1;
        events[k] += usize::from(event);
    }
    let informative: Vec<bool> = (0..months).map(|k| events[k] > 0 && events[k] < rows[k]).collect();
    if !informative.iter().any(|v| *v) {
        return Ok(Calibrator::IDENTITY);
    }
    let slope = fit_slope(raw, y, month, &informative).clamp(SLOPE_BOUNDS.0, SLOPE_BOUNDS.1);
    // The level: the intercept at which the calibrated probabilities average the learner's own.
    let target: f64 = raw.iter().map(|x| sigmoid(*x)).sum();
    let mean_at = |c: f64| raw.iter().map(|x| sigmoid(slope * x + c)).sum::<f64>();
    let (mut lo, mut hi) = (-30.0, 30.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if mean_at(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(Calibrator { slope, intercept: 0.5 * (lo + hi) })
}

/// The slope of a logistic regression of `y` on `raw` with one intercept per informative month, by Newton's
/// method (the Hessian is an arrow: the slope couples with every intercept, the intercepts not with each
/// other, so each step is solved in closed form), halving a step that does not lower the loss. A step is
/// taken only when the loss stays finite, so the slope does too.
fn fit_slope(raw: &[f64], y: &[bool], month: &[usize], informative: &[bool]) -> f64 {
    let rows: Vec<usize> = (0..raw.len()).filter(|&i| informative[month[i]]).collect();
    let months = informative.len();
    let loss = |a: f64, b: &[f64]| -> f64 {
        rows.iter()
            .map(|&i| {
                let z = a * raw[i] + b[month[i]];
                // log(1 + e^z) - y z, stable on both sides.
                z.max(0.0) + (-z.abs()).exp().ln_1p() - if y[i] { z } else { 0.0 }
            })
            .sum()
    };
    let (mut a, mut b) = (1.0, vec![0.0; months]);
    let mut current = loss(a, &b);
    for _ in 0..100 {
        let (mut g_a, mut h_aa) = (0.0, 0.0);
        let (mut g_b, mut h_bb, mut h_ab) = (vec![0.0; months], vec![0.0; months], vec![0.0; months]);
        for &i in &rows {
            let (x, k) = (raw[i], month[i]);
            let p = sigmoid(a * x + b[k]);
            let (r, w) = (p - f64::from(u8::from(y[i])), p * (1.0 - p));
            g_a += r * x;
            h_aa += w * x * x;
            g_b[k] += r;
            h_bb[k] += w;
            h_ab[k] += w * x;
        }
        // Months left out have no rows, hence no curvature.
        let used = (0..months).filter(|&k| h_bb[k] > 0.0);
        let (num, den) = used
            .clone()
            .fold((g_a, h_aa), |(n, d), k| (n - h_ab[k] * g_b[k] / h_bb[k], d - h_ab[k] * h_ab[k] / h_bb[k]));
        if den <= 0.0 || !den.is_finite() {
            break;
        }
        let d_a = num / den;
        let mut d_b = vec![0.0; months];
        for k in used {
            d_b[k] = (g_b[k] - h_ab[k] * d_a) / h_bb[k];
        }
        let mut step = 1.0;
        let accepted = loop {
            let next_b: Vec<f64> = b.iter().zip(&d_b).map(|(v, d)| v - step * d).collect();
            let next = loss(a - step * d_a, &next_b);
            if next <= current {
                a -= step * d_a;
                b = next_b;
                current = next;
                break true;
            }
            step *= 0.5;
            if step < 1e-6 {
                break false;
            }
        };
        if !accepted || (step * d_a).abs() < 1e-10 {
            break;
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Six months of raw scores and events drawn at `truth(raw, month)`.
    fn slice(truth: impl Fn(f64, usize) -> f64) -> (Vec<f64>, Vec<bool>, Vec<usize>) {
        let mut rng = Rng::new(11);
        let (mut raw, mut y, mut month) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..6 {
            for _ in 0..5_000 {
                let x = rng.range(-5.0, 1.0);
                raw.push(x);
                y.push(rng.uniform() < truth(x, k));
                month.push(k);
            }
        }
        (raw, y, month)
    }

    fn check(truth: impl Fn(f64, usize) -> f64, slope: f64, tolerance: f64) {
        let (raw, y, month) = slice(truth);
        let cal = fit_platt(&raw, &y, &month).unwrap();
        assert!((cal.slope - slope).abs() < tolerance, "slope {} expected {slope}", cal.slope);
        // The level is the learner's: over the slice, calibrated probabilities average the learner's own.
        let mean = |f: &dyn Fn(f64) -> f64| raw.iter().map(|x| f(*x)).sum::<f64>() / raw.len() as f64;
        assert!((mean(&|x| cal.probability(x)) - mean(&sigmoid)).abs() < 1e-9);
        let grid: Vec<f64> = (-80..=40).map(|i| f64::from(i) / 10.0).map(|x| cal.probability(x)).collect();
        assert!(grid.windows(2).all(|w| w[0] < w[1]), "rises strictly");
    }

    #[test]
    fn the_slope_is_the_learners_confidence_and_the_months_level_does_not_leak() {
        // A learner calibrated in every month: the identity.
        check(|x, _| sigmoid(x), 1.0, 0.05);
        // Over-confident by half: the slope shrinks its log-odds.
        check(|x, _| sigmoid(0.5 * x), 0.5, 0.05);
        // The last two months (a winter) run 0.4 log-odds above what the learner said; a calibrator fitted
        // to the slice as a whole would lift every probability at every later date. Here the slope stays 1
        // and the probabilities stay the learner's.
        check(|x, k| sigmoid(x + if k >= 4 { 0.4 } else { 0.0 }), 1.0, 0.05);
        let (raw, y, month) = slice(|x, k| sigmoid(x + if k >= 4 { 0.4 } else { 0.0 }));
        let cal = fit_platt(&raw, &y, &month).unwrap();
        for x in [-4.0, -2.0, 0.0] {
            assert!((cal.probability(x) - sigmoid(x)).abs() < 0.01, "p({x}) = {}", cal.probability(x));
        }
    }

    #[test]
    fn months_without_both_outcomes_are_left_out_and_none_gives_the_identity() {
        let raw = [-2.0, -1.0, 0.0, 1.0];
        assert_eq!(fit_platt(&raw, &[false; 4], &[0, 0, 1, 1]).unwrap(), Calibrator::IDENTITY);
        assert!(fit_platt(&[], &[], &[]).is_err());
        // One month all quiet beside informative months: its rows do not pull the slope.
        let (mut raw, mut y, mut month) = slice(|x, _| sigmoid(x));
        raw.extend([3.0; 500]);
        y.extend([false; 500]);
        month.extend([6; 500]);
        let cal = fit_platt(&raw, &y, &month).unwrap();
        assert!((cal.slope - 1.0).abs() < 0.05, "slope {}", cal.slope);
    }
}
