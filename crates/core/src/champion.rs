//! Champion and challenger: a fixed model judged on dates whose outcomes are known, and the rule that
//! says whether a challenger may replace the champion.
//!
//! The rule: the challenger's average precision (the mean over employers and projects) beats the
//! champion's by at least [`PromotionRule::margin`]; its calibration (the largest gap between mean
//! probability and observed rate over bins of enough entities, per entity type) is no worse than the
//! champion's by more than [`PromotionRule::calibration_tolerance`]; and it has no more fairness flags.

use crate::contract::Date;
use crate::fairness::Tally;
use crate::features::{self, EntityType};
use crate::ingest::tables::Dataset;
use crate::metrics;
use crate::model::{self, BandCutoffs, ModelError, RiskModel};
use crate::target;
use crate::worker_months::WorkerMonths;

/// A model's figures on a set of as-of dates, pooled over them.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing {
    pub dates: Vec<Date>,
    /// Average precision of employers, then projects.
    pub average_precision: [f64; 2],
    /// The largest reliability gap of employers, then projects; none when every bin is small.
    pub calibration_gap: [Option<f64>; 2],
    /// Groups flagged by the fairness audit.
    pub fairness_flags: usize,
}

impl Standing {
    /// The mean average precision over the entity types.
    pub fn mean_average_precision(&self) -> f64 {
        (self.average_precision[0] + self.average_precision[1]) / 2.0
    }
}

/// Scores `model` as it is at each date and judges it against what happened in the horizon.
pub fn evaluate(ds: &Dataset, wm: &WorkerMonths, model: &RiskModel, dates: &[Date]) -> Result<Standing, ModelError> {
    let bands = BandCutoffs::default();
    let mut scores: [Vec<f64>; 2] = Default::default();
    let mut probabilities: [Vec<f64>; 2] = Default::default();
    let mut events: [Vec<bool>; 2] = Default::default();
    let mut tally = Tally::default();
    for &t in dates {
        let feats = features::compute(ds, wm, t, model.horizon_days)?;
        let scored = model::score(model, &feats, &bands)?;
        let labels = target::labels(ds, wm, t, model.horizon_days);
        tally.add_scored(ds, &feats, &scored, &labels);
        for s in &scored {
            let k = s.entity_type as usize;
            scores[k].push(s.raw_score);
            probabilities[k].push(s.probability);
            events[k].push(match s.entity_type {
                EntityType::Employer => labels.employers[s.entity as usize].any(),
                EntityType::Project => labels.projects[s.entity as usize].any(),
            });
        }
    }
    let gap = |k: usize| {
        let table = metrics::reliability(&probabilities[k], &events[k], 10);
        metrics::worst_reliability_gap(&table, metrics::RELIABILITY_MIN_ENTITIES)
    };
    Ok(Standing {
        dates: dates.to_vec(),
        average_precision: [
            metrics::average_precision(&scores[0], &events[0]),
            metrics::average_precision(&scores[1], &events[1]),
        ],
        calibration_gap: [gap(0), gap(1)],
        fairness_flags: tally.audit().flagged().len(),
    })
}

/// When a challenger may replace the champion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PromotionRule {
    /// How much better the mean average precision must be.
    pub margin: f64,
    /// How much larger the calibration gap of either entity type may be.
    pub calibration_tolerance: f64,
}

impl Default for PromotionRule {
    fn default() -> Self {
        PromotionRule { margin: 0.005, calibration_tolerance: 0.02 }
    }
}

/// The rule applied: whether it passes, and each condition in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub passes: bool,
    pub reasons: Vec<String>,
}

impl PromotionRule {
    /// Applies the rule to the two models' figures on the same dates.
    pub fn judge(&self, champion: &Standing, challenger: &Standing) -> Verdict {
        let mut reasons = Vec::new();
        let (a, b) = (champion.mean_average_precision(), challenger.mean_average_precision());
        let precision_ok = b >= a + self.margin;
        reasons.push(format!(
            "average precision {b:.4} against {a:.4}: {} (a margin of {} needed)",
            if precision_ok { "better" } else { "not better enough" },
            self.margin
        ));
        let mut calibration_ok = true;
        for (k, t) in EntityType::ALL.iter().enumerate() {
            let ok = match (champion.calibration_gap[k], challenger.calibration_gap[k]) {
                (Some(c), Some(n)) => n <= c + self.calibration_tolerance,
                (_, None) => true,
                (None, Some(_)) => false,
            };
            calibration_ok &= ok;
            let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
            reasons.push(format!(
                "{} calibration gap {} against {}: {}",
                t.code(),
                show(challenger.calibration_gap[k]),
                show(champion.calibration_gap[k]),
                if ok { "within tolerance" } else { "worse" }
            ));
        }
        let fairness_ok = challenger.fairness_flags <= champion.fairness_flags;
        reasons.push(format!(
            "fairness flags {} against {}: {}",
            challenger.fairness_flags,
            champion.fairness_flags,
            if fairness_ok { "none worse" } else { "more" }
        ));
        Verdict { passes: precision_ok && calibration_ok && fairness_ok, reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(ap: [f64; 2], gap: [Option<f64>; 2], flags: usize) -> Standing {
        Standing { dates: Vec::new(), average_precision: ap, calibration_gap: gap, fairness_flags: flags }
    }

    #[track_caller]
    fn check(challenger: Standing, passes: bool, failing: &str) {
        let champion = standing([0.40, 0.30], [Some(0.03), Some(0.05)], 4);
        let v = PromotionRule::default().judge(&champion, &challenger);
        assert_eq!(v.passes, passes, "{:?}", v.reasons);
        if !failing.is_empty() {
            assert!(v.reasons.iter().any(|r| r.contains(failing)), "{:?}", v.reasons);
        }
    }

    #[test]
    fn the_rule_needs_better_precision_no_worse_calibration_and_no_more_flags() {
        check(standing([0.41, 0.30], [Some(0.03), Some(0.05)], 4), true, "");
        // Better by less than the margin (mean 0.354 against 0.35).
        check(standing([0.408, 0.30], [Some(0.03), Some(0.05)], 4), false, "not better enough");
        // Calibration worse by more than the tolerance for projects.
        check(
            standing([0.45, 0.35], [Some(0.03), Some(0.071)], 4),
            false,
            "project calibration gap 0.071 against 0.050: worse",
        );
        check(standing([0.45, 0.35], [Some(0.049), Some(0.07)], 4), true, "");
        // One more fairness flag.
        check(standing([0.45, 0.35], [Some(0.03), Some(0.05)], 5), false, "fairness flags 5 against 4: more");
    }
}
