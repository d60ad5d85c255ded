//! Drift: how far the data scored today has moved from what the model learnt on, as the population
//! stability index (PSI) of every feature and of the score.
//!
//! PSI of a current sample against a reference sample: the reference's deciles cut the line into bins
//! (repeated cut points merged, so a feature with many equal values gets fewer bins), each sample's share
//! per bin is taken (floored at [`PSI_FLOOR`], so an empty bin counts as rare rather than infinitely
//! surprising), and PSI = Σ (current − reference) · ln(current / reference). Common reading: under 0.1 no
//! shift, 0.1–0.25 a moderate one, over 0.25 a large one. A feature constant in the reference has one bin
//! and no PSI: it is reported as undefined with the reason, never as NaN.

use crate::contract::Date;
use crate::features::{self, EntityType, Feature, FeatureMatrix};
use crate::ingest::Dataset;
use crate::model::{self, ModelError, RiskModel};
use crate::worker_months::WorkerMonths;

/// Bins per feature: the reference's deciles.
pub const PSI_BINS: usize = 10;
/// The smallest share a bin counts with.
pub const PSI_FLOOR: f64 = 1e-4;
/// The PSI above which a feature or the score counts as drifted, unless configured otherwise.
pub const DEFAULT_THRESHOLD: f64 = 0.25;

/// A PSI, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Psi {
    Value(f64),
    Undefined(Undefined),
}

/// Why a PSI is undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undefined {
    NoReferenceRows,
    NoCurrentRows,
    /// A calendar feature (the season group): the same for every entity on a date, so its distribution
    /// across dates says nothing about the data.
    Calendar,
}

impl Undefined {
    /// A plain-language reason.
    pub fn reason(self) -> &'static str {
        match self {
            Undefined::NoReferenceRows => "no reference rows",
            Undefined::NoCurrentRows => "no rows scored",
            Undefined::Calendar => "set by the calendar, the same for every entity on a date",
        }
    }
}

impl Psi {
    /// The value, if defined.
    pub fn value(self) -> Option<f64> {
        match self {
            Psi::Value(v) => Some(v),
            Psi::Undefined(_) => None,
        }
    }
}

/// The bin cut points of a reference sample: its deciles, repeated ones merged (values ≤ cut `i` and
/// > cut `i − 1` fall in bin `i`; values above the last cut in the last bin).
fn cut_points(reference: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = reference.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let mut cuts: Vec<f64> = (1..PSI_BINS)
        .map(|k| {
            let at = (k * sorted.len()).div_ceil(PSI_BINS).saturating_sub(1);
            sorted[at.min(sorted.len() - 1)]
        })
        .collect();
    cuts.dedup();
    // A cut at the maximum leaves the last bin empty for the reference: drop it, unless it is the only
    // one (a feature constant in the reference keeps "at that value" and "above it" as its two bins, so a
    // feature that used to be constant and now varies shows as drift).
    if cuts.len() > 1 && cuts.last() == sorted.last() {
        cuts.pop();
    }
    cuts
}

fn shares(values: &[f64], cuts: &[f64]) -> Vec<f64> {
    let mut counts = vec![0usize; cuts.len() + 1];
    let mut n = 0usize;
    for &v in values.iter().filter(|v| v.is_finite()) {
        counts[cuts.partition_point(|&c| c < v)] += 1;
        n += 1;
    }
    counts.into_iter().map(|c| (c as f64 / n.max(1) as f64).max(PSI_FLOOR)).collect()
}

/// The PSI of `current` against `reference` (non-finite values are left out of both).
pub fn psi(reference: &[f64], current: &[f64]) -> Psi {
    if !reference.iter().any(|v| v.is_finite()) {
        return Psi::Undefined(Undefined::NoReferenceRows);
    }
    if !current.iter().any(|v| v.is_finite()) {
        return Psi::Undefined(Undefined::NoCurrentRows);
    }
    let cuts = cut_points(reference);
    let (r, c) = (shares(reference, &cuts), shares(current, &cuts));
    Psi::Value(r.iter().zip(&c).map(|(r, c)| (c - r) * (c / r).ln()).sum())
}

/// The drift of one feature of one entity type.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureDrift {
    pub entity_type: EntityType,
    pub feature: Feature,
    pub psi: Psi,
}

/// The drift of every feature and of the score, as of a date against a reference.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftReport {
    pub as_of: Date,
    /// The as-of dates the reference rows come from (the model's training panel, or a previous run).
    pub reference_dates: Vec<Date>,
    pub threshold: f64,
    /// Every feature, the largest PSI first (undefined ones last).
    pub features: Vec<FeatureDrift>,
    /// The score's PSI per entity type (the calibrated probability).
    pub score: Vec<(EntityType, Psi)>,
}

impl DriftReport {
    /// Whether any feature or the score crosses the threshold.
    pub fn drifted(&self) -> bool {
        let over = |p: &Psi| p.value().is_some_and(|v| v > self.threshold);
        self.features.iter().any(|f| over(&f.psi)) || self.score.iter().any(|(_, p)| over(p))
    }

    /// The features with the largest PSI, at most `n`.
    pub fn top_movers(&self, n: usize) -> impl Iterator<Item = &FeatureDrift> {
        self.features.iter().filter(|f| f.psi.value().is_some()).take(n)
    }
}

/// One column of stacked matrices.
fn column(matrices: &[&FeatureMatrix], j: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for m in matrices {
        let p = m.features.len();
        out.extend((0..m.rows()).map(|i| m.values[i * p + j]));
    }
    out
}

/// The PSI of every feature of one entity type: `current` against the stacked `reference` matrices.
pub fn feature_drift(reference: &[&FeatureMatrix], current: &FeatureMatrix) -> Vec<FeatureDrift> {
    current
        .features
        .iter()
        .enumerate()
        .map(|(j, &feature)| FeatureDrift {
            entity_type: current.entity_type,
            feature,
            psi: if feature.def().group == "season" {
                Psi::Undefined(Undefined::Calendar)
            } else {
                psi(&column(reference, j), &column(&[current], j))
            },
        })
        .collect()
}

/// Orders feature drifts for reading: the largest PSI first, undefined ones last, ties by name.
pub fn sort_by_psi(drifts: &mut [FeatureDrift]) {
    drifts.sort_by(|a, b| {
        let key = |d: &FeatureDrift| d.psi.value().unwrap_or(f64::NEG_INFINITY);
        key(b).total_cmp(&key(a)).then_with(|| a.feature.name().cmp(b.feature.name()))
    });
}

/// The drift as of `as_of` against the model's training panel (its fitting and calibration dates): every
/// feature of both entity types and the calibrated score.
pub fn against_training_panel(
    ds: &Dataset,
    wm: &WorkerMonths,
    model: &RiskModel,
    as_of: Date,
    threshold: f64,
) -> Result<DriftReport, ModelError> {
    let mut dates: Vec<Date> = model.fit_dates.iter().chain(&model.calibration_dates).copied().collect();
    dates.sort_unstable();
    dates.dedup();
    let panel = model::panel(ds, wm, &dates, model.horizon_days, None)?;
    let current = features::compute(ds, wm, as_of, model.horizon_days)?;
    let bands = model::BandCutoffs::default();
    let mut features = Vec::new();
    let mut score = Vec::new();
    for t in [EntityType::Employer, EntityType::Project] {
        let reference: Vec<&FeatureMatrix> = panel.iter().map(|s| s.features.matrix(t)).collect();
        features.extend(feature_drift(&reference, current.matrix(t)));
        let mut reference_scores = Vec::new();
        for m in &reference {
            reference_scores.extend(model::score_matrix(model.entity(t), m, &bands)?.iter().map(|s| s.probability));
        }
        let current_scores: Vec<f64> =
            model::score_matrix(model.entity(t), current.matrix(t), &bands)?.iter().map(|s| s.probability).collect();
        score.push((t, psi(&reference_scores, &current_scores)));
    }
    sort_by_psi(&mut features);
    Ok(DriftReport { as_of, reference_dates: dates, threshold, features, score })
}

impl DriftReport {
    /// The report as JSON: dates, threshold, whether it drifted, the score's PSI and every feature's
    /// (`psi` null with a `note` when undefined).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let psi_json = |p: &Psi| match p {
            Psi::Value(v) => json!({ "psi": v }),
            Psi::Undefined(u) => json!({ "psi": null, "note": u.reason() }),
        };
        let with = |mut base: serde_json::Value, p: &Psi| {
            if let (Some(obj), serde_json::Value::Object(extra)) = (base.as_object_mut(), psi_json(p)) {
                obj.extend(extra);
            }
            base
        };
        json!({
            "as_of": self.as_of.to_string(),
            "reference_dates": self.reference_dates.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            "threshold": self.threshold,
            "drifted": self.drifted(),
            "score": self.score.iter().map(|(t, p)| with(json!({ "entity_type": t.code() }), p)).collect::<Vec<_>>(),
            "features": self.features.iter().map(|f| with(
                json!({ "entity_type": f.entity_type.code(), "feature": f.feature.name() }), &f.psi,
            )).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(reference: &[f64], current: &[f64], expected: Psi) {
        match (psi(reference, current), expected) {
            (Psi::Value(got), Psi::Value(want)) => assert!((got - want).abs() < 1e-12, "{got} != {want}"),
            (got, want) => assert_eq!(got, want),
        }
    }

    fn range(n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64).collect()
    }

    #[test]
    fn psi_against_hand_computed_values() {
        // Reference 0..99: cuts at 9, 19, ..., 89, ten bins of 10%.
        check(&range(100), &range(100), Psi::Value(0.0));
        // Current: half in the first bin, half in the last. Shares 0.5 and 0.5 against 0.1 each, the other
        // eight bins empty (floored at 1e-4): 2·(0.4·ln 5) + 8·((1e-4 − 0.1)·ln(1e-3)).
        let current: Vec<f64> = (0..50).map(|_| 0.0).chain((0..50).map(|_| 99.0)).collect();
        let want = 2.0 * (0.4 * 5f64.ln()) + 8.0 * ((1e-4 - 0.1) * (1e-3f64).ln());
        check(&range(100), &current, Psi::Value(want));
        // Two values in the reference (half 0, half 1): one cut at 0, two bins. Current 80% ones:
        // (0.2 − 0.5)·ln(0.4) + (0.8 − 0.5)·ln(1.6).
        let reference: Vec<f64> = (0..100).map(|i| f64::from(i >= 50)).collect();
        let current: Vec<f64> = (0..100).map(|i| f64::from(i >= 20)).collect();
        check(&reference, &current, Psi::Value(-0.3 * 0.4f64.ln() + 0.3 * 1.6f64.ln()));
    }

    #[test]
    fn undefined_psi_has_a_reason_never_nan() {
        // Constant in the reference: bins "≤ 3" and "> 3". Still constant: no drift. Now 0..9 (4 of 10 at
        // or under 3): (0.4 − 1)·ln 0.4 + (0.6 − 1e-4)·ln(0.6 / 1e-4).
        check(&[3.0; 50], &[3.0; 20], Psi::Value(0.0));
        let want = (0.4 - 1.0) * 0.4f64.ln() + (0.6 - 1e-4) * (0.6f64 / 1e-4).ln();
        check(&[3.0; 50], &range(10), Psi::Value(want));
        check(&[], &range(10), Psi::Undefined(Undefined::NoReferenceRows));
        check(&range(10), &[], Psi::Undefined(Undefined::NoCurrentRows));
        check(&[f64::NAN, f64::INFINITY], &range(10), Psi::Undefined(Undefined::NoReferenceRows));
        // A current sample entirely outside the reference's range is a large, finite PSI.
        let Psi::Value(v) = psi(&range(100), &[1e9; 30]) else { panic!("defined") };
        assert!(v.is_finite() && v > 1.0, "{v}");
    }
}
