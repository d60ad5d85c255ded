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

/// A reference sample as PSI reads it: its bin cut points and its (floored) share per bin. Kept with a
/// model (its training panel) so that a run's drift needs no panel recomputed.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub cuts: Vec<f64>,
    pub shares: Vec<f64>,
}

impl Profile {
    /// The profile of a reference sample; none when it has no finite value.
    pub fn of(reference: &[f64]) -> Option<Profile> {
        if !reference.iter().any(|v| v.is_finite()) {
            return None;
        }
        let cuts = cut_points(reference);
        let shares = shares(reference, &cuts);
        Some(Profile { cuts, shares })
    }

    /// The PSI of `current` against this reference (non-finite values left out).
    pub fn psi(&self, current: &[f64]) -> Psi {
        if !current.iter().any(|v| v.is_finite()) {
            return Psi::Undefined(Undefined::NoCurrentRows);
        }
        let c = shares(current, &self.cuts);
        Psi::Value(self.shares.iter().zip(&c).map(|(r, c)| (c - r) * (c / r).ln()).sum())
    }
}

/// The PSI of `current` against `reference` (non-finite values are left out of both).
pub fn psi(reference: &[f64], current: &[f64]) -> Psi {
    match Profile::of(reference) {
        None => Psi::Undefined(Undefined::NoReferenceRows),
        Some(profile) => profile.psi(current),
    }
}

/// The most rows a reference profile is taken from: larger samples are thinned to every k-th row, which
/// moves a decile by a fraction of a percentile.
pub const REFERENCE_ROWS: usize = 100_000;

/// The reference of one entity type: a profile per feature (none for calendar features and features
/// with no finite value) and one of the calibrated score.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityReference {
    pub features: Vec<(Feature, Option<Profile>)>,
    pub score: Option<Profile>,
}

/// Whether a feature is set by the calendar (the same for every entity on a date).
fn is_calendar(feature: Feature) -> bool {
    feature.def().group == "season"
}

/// Column `j` of `values`, row-major with `p` columns.
fn column_of(values: &[f64], p: usize, j: usize) -> Vec<f64> {
    values.iter().skip(j).step_by(p.max(1)).copied().collect()
}

impl EntityReference {
    /// The reference of rows (`values` row-major, one column per feature) and their calibrated scores.
    pub fn of(features: &[Feature], values: &[f64], scores: &[f64]) -> EntityReference {
        let p = features.len();
        EntityReference {
            features: features
                .iter()
                .enumerate()
                .map(|(j, &f)| (f, if is_calendar(f) { None } else { Profile::of(&column_of(values, p, j)) }))
                .collect(),
            score: Profile::of(scores),
        }
    }

    /// The drift of rows of entity type `t` (`values` with one column per feature of `features`) and their
    /// scores against this reference.
    pub fn compare(
        &self,
        t: EntityType,
        features: &[Feature],
        values: &[f64],
        scores: &[f64],
    ) -> (Vec<FeatureDrift>, Psi) {
        let p = features.len();
        let drifts = features
            .iter()
            .enumerate()
            .map(|(j, &feature)| {
                let psi = if is_calendar(feature) {
                    Psi::Undefined(Undefined::Calendar)
                } else {
                    match self.features.iter().find(|(f, _)| *f == feature) {
                        Some((_, Some(profile))) => profile.psi(&column_of(values, p, j)),
                        _ => Psi::Undefined(Undefined::NoReferenceRows),
                    }
                };
                FeatureDrift { entity_type: t, feature, psi }
            })
            .collect();
        let score = match &self.score {
            Some(profile) => profile.psi(scores),
            None => Psi::Undefined(Undefined::NoReferenceRows),
        };
        (drifts, score)
    }
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

/// Orders feature drifts for reading: the largest PSI first, undefined ones last, ties by name.
pub fn sort_by_psi(drifts: &mut [FeatureDrift]) {
    drifts.sort_by(|a, b| {
        let key = |d: &FeatureDrift| d.psi.value().unwrap_or(f64::NEG_INFINITY);
        key(b).total_cmp(&key(a)).then_with(|| a.feature.name().cmp(b.feature.name()))
    });
}

/// One entity type's rows of a sample: row-major values with one column per feature, and their
/// calibrated scores.
pub struct Sample<'a> {
    pub entity_type: EntityType,
    pub features: &'a [Feature],
    pub values: &'a [f64],
    pub scores: &'a [f64],
}

impl<'a> Sample<'a> {
    /// The rows of a feature matrix with their scores.
    pub fn of(m: &'a FeatureMatrix, scores: &'a [f64]) -> Sample<'a> {
        Sample { entity_type: m.entity_type, features: &m.features, values: &m.values, scores }
    }
}

/// The drift of samples, each against its entity type's reference.
pub fn compare(
    as_of: Date,
    reference_dates: Vec<Date>,
    threshold: f64,
    pairs: &[(&EntityReference, Sample)],
) -> DriftReport {
    let mut features = Vec::new();
    let mut score = Vec::new();
    for (reference, sample) in pairs {
        let (drifts, psi) = reference.compare(sample.entity_type, sample.features, sample.values, sample.scores);
        features.extend(drifts);
        score.push((sample.entity_type, psi));
    }
    sort_by_psi(&mut features);
    DriftReport { as_of, reference_dates, threshold, features, score }
}

/// The references of a model's training panel: those saved with the model, or (for a model saved
/// without them) recomputed from the data.
fn training_references(ds: &Dataset, wm: &WorkerMonths, model: &RiskModel) -> Result<[EntityReference; 2], ModelError> {
    if let (Some(e), Some(p)) = (&model.employer.drift_reference, &model.project.drift_reference) {
        return Ok([e.clone(), p.clone()]);
    }
    let panel = model::panel(ds, wm, &model.training_dates(), model.horizon_days, None)?;
    let bands = model::BandCutoffs::default();
    let mut out = Vec::new();
    for t in EntityType::ALL {
        let (mut values, mut scores) = (Vec::new(), Vec::new());
        for s in &panel {
            let m = s.features.matrix(t);
            values.extend_from_slice(&m.values);
            scores.extend(model::score_matrix(model.entity(t), m, &bands)?.iter().map(|s| s.probability));
        }
        out.push(EntityReference::of(&t.features(), &values, &scores));
    }
    let project = out.pop().expect("two types");
    Ok([out.pop().expect("two types"), project])
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
    let references = training_references(ds, wm, model)?;
    let current = features::compute(ds, wm, as_of, model.horizon_days)?;
    let bands = model::BandCutoffs::default();
    let scores: Vec<Vec<f64>> = EntityType::ALL
        .iter()
        .map(|&t| {
            model::score_matrix(model.entity(t), current.matrix(t), &bands)
                .map(|s| s.iter().map(|s| s.probability).collect())
        })
        .collect::<Result<_, _>>()?;
    let pairs: Vec<(&EntityReference, Sample)> = EntityType::ALL
        .iter()
        .zip(&references)
        .zip(&scores)
        .map(|((&t, r), s)| (r, Sample::of(current.matrix(t), s)))
        .collect();
    Ok(compare(as_of, model.training_dates(), threshold, &pairs))
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

    #[test]
    fn a_reference_keeps_what_psi_needs_and_names_what_it_cannot_judge() {
        let features = [Feature::HeadcountLastMonth, Feature::DaysToSpringFestival, Feature::EmployerAgeYears];
        // Three columns, 100 rows: 0..99, a calendar value, and a constant.
        let values: Vec<f64> = (0..100).flat_map(|i| [i as f64, 40.0, 5.0]).collect();
        let scores: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let reference = EntityReference::of(&features, &values, &scores);
        assert!(reference.features[1].1.is_none(), "no profile for a calendar feature");
        let current: Vec<f64> = (0..50).flat_map(|i| [(i * 2) as f64, 10.0, 5.0]).collect();
        let current_scores: Vec<f64> = (0..50).map(|i| i as f64 / 50.0).collect();
        let (drifts, score) = reference.compare(EntityType::Employer, &features, &current, &current_scores);
        // The profile gives what PSI of the two samples gives.
        let column = |v: &[f64], j: usize| column_of(v, 3, j);
        assert_eq!(drifts[0].psi, psi(&column(&values, 0), &column(&current, 0)));
        assert_eq!(drifts[1].psi, Psi::Undefined(Undefined::Calendar));
        assert_eq!(drifts[2].psi, Psi::Value(0.0));
        assert_eq!(score, psi(&scores, &current_scores));
        // A feature the reference does not hold has no reference rows.
        let (drifts, _) = reference.compare(EntityType::Employer, &[Feature::LeaversOwed6m], &[1.0, 2.0], &[0.1, 0.2]);
        assert_eq!(drifts[0].psi, Psi::Undefined(Undefined::NoReferenceRows));
    }
}
