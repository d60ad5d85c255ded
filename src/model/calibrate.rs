//! Calibration: maps a learner's raw score to the probability of an event, fitted on a later time slice
//! by isotonic regression (pool-adjacent-violators) and kept as a monotone piecewise-linear curve.
//!
//! Not `linfa-linear`'s `IsotonicRegression`: besides the known trap (it fits wrongly on unsorted input),
//! on sorted 0/1 targets it returned about half the observed event rate (checked on 4,000 rows whose rate
//! rises from 2% to 48%: it predicted 0.125 where the data said 0.25). The test below holds this
//! implementation to the observed rates, on input given in scrambled order.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// A monotone map from raw score to probability: linear between knots, flat beyond the ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibrator {
    pub knots_x: Vec<f64>,
    pub knots_p: Vec<f64>,
}

impl Calibrator {
    /// The calibrated probability of a raw score.
    pub fn probability(&self, raw: f64) -> f64 {
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
}
