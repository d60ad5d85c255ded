//! Calibration: maps a learner's raw score to the probability of an event, fitted on a later time slice
//! by isotonic regression (pool-adjacent-violators) and kept as a monotone piecewise-linear curve.
//!
//! Not `linfa-linear`'s `IsotonicRegression`: besides the known trap (it fits wrongly on unsorted input),
//! on sorted 0/1 targets it returned about half the observed event rate (checked on 4,000 rows whose rate
//! rises from 2% to 48%: it predicted 0.125 where the data said 0.25). The test below holds this
//! implementation to the observed rates, on input given in scrambled order.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// The weight of the raw score's logistic in a calibrated probability: moves no probability by more than
/// one in a million, and breaks every tie of the isotonic steps.
pub const TIE_BREAK: f64 = 1e-6;

/// A monotone map from raw score to probability: linear between knots, flat beyond the ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibrator {
    pub knots_x: Vec<f64>,
    pub knots_p: Vec<f64>,
}

impl Calibrator {
    /// The calibrated probability of a raw score: the isotonic curve, with its flat steps tilted by
    /// [`TIE_BREAK`] times the raw score's logistic, so that the probability rises strictly with the raw
    /// score. A list sorted by probability then orders exactly as the ranks do, and a metric that counts
    /// equal scores as ties (average precision, ROC AUC) sees the ranking the model made.
    pub fn probability(&self, raw: f64) -> f64 {
        let step = self.step(raw);
        (1.0 - TIE_BREAK) * step + TIE_BREAK / (1.0 + (-raw).exp())
    }

    /// The isotonic curve alone: linear between knots, flat within a pooled block and beyond the ends.
    fn step(&self, raw: f64) -> f64 {
        let (xs, ps) = (&self.knots_x, &self.knots_p);
        let n = xs.len();
        if raw <= xs[0] {
            return ps[0];
        }
        if raw >= xs[n - 1] {
            return ps[n - 1];
        }
        let j = xs.partition_point(|x| *x < raw);
        let (x0, x1, p0, p1) = (xs[j - 1], xs[j], ps[j - 1], ps[j]);
        if x1 > x0 {
            p0 + (p1 - p0) * (raw - x0) / (x1 - x0)
        } else {
            p1
        }
    }
}

/// A block of pooled scores.
struct Block {
    events: f64,
    rows: f64,
    first_x: f64,
    last_x: f64,
}

/// Fits an isotonic (non-decreasing) calibration of `raw` scores to events `y`.
pub fn fit_isotonic(raw: &[f64], y: &[bool]) -> Result<Calibrator, ModelError> {
    if raw.len() < 2 || raw.len() != y.len() {
        return Err(ModelError::EmptyTrainingSet);
    }
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&a, &b| raw[a].total_cmp(&raw[b]));
    let mut blocks: Vec<Block> = Vec::new();
    for &i in &order {
        let x = raw[i];
        let event = f64::from(u8::from(y[i]));
        // Equal scores always share a block.
        match blocks.last_mut() {
            Some(b) if b.last_x == x => {
                b.events += event;
                b.rows += 1.0;
            }
            _ => blocks.push(Block { events: event, rows: 1.0, first_x: x, last_x: x }),
        }
        while blocks.len() >= 2 {
            let n = blocks.len();
            let (a, b) = (&blocks[n - 2], &blocks[n - 1]);
            if a.events / a.rows < b.events / b.rows {
                break;
            }
            let b = blocks.pop().expect("two blocks");
            let a = blocks.last_mut().expect("one block");
            a.events += b.events;
            a.rows += b.rows;
            a.last_x = b.last_x;
        }
    }
    let mut knots_x = Vec::with_capacity(blocks.len() * 2);
    let mut knots_p = Vec::with_capacity(blocks.len() * 2);
    for b in &blocks {
        let p = (b.events / b.rows).clamp(1e-4, 1.0 - 1e-4);
        knots_x.push(b.first_x);
        knots_p.push(p);
        if b.last_x > b.first_x {
            knots_x.push(b.last_x);
            knots_p.push(p);
        }
    }
    Ok(Calibrator { knots_x, knots_p })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_fit_on_shuffled_scores_is_monotone_and_calibrated() {
        // Scores given in a scrambled order (the trap); true event rate rises with the score.
        let n = 4_000;
        // Two interleaved low-discrepancy sequences: scores in scrambled order, and uniform draws.
        let frac = |v: f64| v - v.floor();
        let raw: Vec<f64> = (0..n).map(|i| frac(0.5 + i as f64 * 0.754_877_666_2)).collect();
        let y: Vec<bool> = (0..n).map(|i| frac(0.5 + i as f64 * 0.569_840_291_0) < raw[i] * 0.5).collect();
        let cal = fit_isotonic(&raw, &y).unwrap();
        assert!(cal.knots_p.windows(2).all(|w| w[0] <= w[1]), "monotone");
        for q in [0.1, 0.5, 0.9] {
            let p = cal.probability(q);
            assert!((p - q * 0.5).abs() < 0.06, "p({q}) = {p}");
        }
        assert!(cal.probability(-5.0) <= cal.probability(5.0));
    }

    #[test]
    fn probabilities_rise_strictly_with_the_raw_score_and_stay_on_the_steps() {
        // Pooled blocks (raw 2–4 and 5–7) and the flat ends beyond the data.
        let raw = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let y = [false, true, false, false, true, true, false, true];
        let cal = fit_isotonic(&raw, &y).unwrap();
        let xs: Vec<f64> = (0..=100).map(|k| f64::from(k) / 10.0).collect();
        let ps: Vec<f64> = xs.iter().map(|x| cal.probability(*x)).collect();
        assert!(ps.windows(2).all(|w| w[0] < w[1]), "{ps:?}");
        for (x, p) in xs.iter().zip(&ps) {
            assert!((p - cal.step(*x)).abs() <= TIE_BREAK, "p({x}) = {p}, step {}", cal.step(*x));
        }
        // The steps do have flat stretches (pooled blocks and the ends) for the tilt to break.
        assert!(xs.windows(2).filter(|w| cal.step(w[0]) == cal.step(w[1])).count() > 20);
    }
}
