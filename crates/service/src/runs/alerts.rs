//! The alerts a re-score raises, by comparing its rows with the previous run's: an entity newly red, a
//! rise of more than the configured points, a platform rule alert firing for the first time, and a group of
//! workers owed wages when the Spring Festival is near. A first run has nothing to compare with and raises
//! none: it is the baseline.

use std::collections::HashMap;

use wagewatch_core::contract::RegionCode;
use wagewatch_core::features::{Alerts, EntityType, Feature};
use wagewatch_core::model::Band;

use super::RunRow;
use crate::config::AlertConfig;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// Red now, not red in the previous run.
    NewlyRed,
    /// The probability rose by more than the configured points.
    Rise,
    /// A platform rule alert fired that did not in the previous run.
    RuleFired,
    /// A group of workers is owed wages close to the Spring Festival (and was not in the previous run).
    GroupOwedBeforeFestival,
}

impl AlertKind {
    pub const ALL: [AlertKind; 4] =
        [AlertKind::NewlyRed, AlertKind::Rise, AlertKind::RuleFired, AlertKind::GroupOwedBeforeFestival];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            AlertKind::NewlyRed => "newly_red",
            AlertKind::Rise => "rise",
            AlertKind::RuleFired => "rule_fired",
            AlertKind::GroupOwedBeforeFestival => "group_owed_before_festival",
        }
    }

    /// The kind of a code.
    pub fn parse(code: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One alert of a run, about one entity.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertEvent {
    pub kind: AlertKind,
    pub entity_type: EntityType,
    pub entity_id: String,
    pub name: String,
    pub region: RegionCode,
    pub score: f64,
    pub previous_score: Option<f64>,
    /// What fired: the rule's code, or the workers owed; empty otherwise.
    pub detail: String,
}

impl AlertEvent {
    fn of(kind: AlertKind, r: &RunRow, detail: String) -> AlertEvent {
        AlertEvent {
            kind,
            entity_type: r.entity_type,
            entity_id: r.entity_id.clone(),
            name: r.name.clone(),
            region: r.region,
            score: r.score,
            previous_score: r.previous_score,
            detail,
        }
    }

    /// The alert in Chinese and English, for a person.
    pub fn texts(&self) -> (String, String) {
        let pct = |p: f64| format!("{:.0}%", p * 100.0);
        let before = self.previous_score.map_or("-".to_string(), pct);
        match self.kind {
            AlertKind::NewlyRed => (
                format!("{} 新列为红色 ({} -> {})", self.name, before, pct(self.score)),
                format!("{} turned red ({} -> {})", self.name, before, pct(self.score)),
            ),
            AlertKind::Rise => (
                format!("{} 风险上升 ({} -> {})", self.name, before, pct(self.score)),
                format!("{} rose ({} -> {})", self.name, before, pct(self.score)),
            ),
            AlertKind::RuleFired => {
                let (zh, en) = wagewatch_core::features::Alert::ALL
                    .into_iter()
                    .find(|a| a.code() == self.detail)
                    .map_or((self.detail.clone(), self.detail.clone()), |a| (a.zh().to_string(), a.en().to_string()));
                (format!("{} 首次触发预警规则: {zh}", self.name), format!("{}: rule alert fired: {en}", self.name))
            }
            AlertKind::GroupOwedBeforeFestival => (
                format!("{} 春节前约 {} 名工人被欠薪", self.name, self.detail),
                format!("{}: about {} workers owed wages before the Spring Festival", self.name, self.detail),
            ),
        }
    }
}

/// Workers owed wages at an entity: its workers last month times the share owed money.
fn workers_owed(r: &RunRow) -> u32 {
    let headcount = r.feature(Feature::HeadcountLastMonth).filter(|v| v.is_finite()).unwrap_or(0.0);
    let share = r.feature(Feature::ShareWorkersUnpaid90d).filter(|v| v.is_finite()).unwrap_or(0.0);
    (headcount * share).round().max(0.0) as u32
}

/// The workers owed at the entity, when they make a group and the festival is close.
fn group_owed(r: &RunRow, config: &AlertConfig) -> Option<u32> {
    let near = r.feature(Feature::DaysToSpringFestival).is_some_and(|d| d <= f64::from(config.festival_days));
    Some(workers_owed(r)).filter(|w| near && *w >= config.group_workers)
}

/// The alerts of `rows` (with `previous_score` and `previous_band` already marked) against the previous
/// run's rows; none without a previous run. Each entity raises each kind at most once (one per rule for
/// rule alerts). When the previous run was scored by another model (`same_model` false: a promotion or a
/// rollback), the changes of score and band are the models', not the firms', and raise nothing; rule
/// alerts and groups owed wages do not depend on the model and are raised as always.
pub fn derive(rows: &[RunRow], previous: Option<&[RunRow]>, same_model: bool, config: &AlertConfig) -> Vec<AlertEvent> {
    let Some(previous) = previous else { return Vec::new() };
    let before: HashMap<(EntityType, &str), &RunRow> =
        previous.iter().map(|r| ((r.entity_type, r.entity_id.as_str()), r)).collect();
    let mut out = Vec::new();
    for r in rows {
        let prev = before.get(&(r.entity_type, r.entity_id.as_str())).copied();
        if same_model && r.band == Band::Red && r.previous_band != Some(Band::Red) {
            out.push(AlertEvent::of(AlertKind::NewlyRed, r, String::new()));
        }
        if let Some(p) = r.previous_score.filter(|_| same_model) {
            // More than the threshold, not a float's rounding above it.
            if (r.score - p) * 100.0 > config.rise_points + 1e-9 {
                out.push(AlertEvent::of(AlertKind::Rise, r, String::new()));
            }
        }
        let fired_before = prev.map_or(Alerts::default(), |p| p.alerts);
        for a in r.alerts.iter().filter(|a| !fired_before.contains(*a)) {
            out.push(AlertEvent::of(AlertKind::RuleFired, r, a.code().to_string()));
        }
        if let Some(workers) = group_owed(r, config).filter(|_| prev.is_none_or(|p| group_owed(p, config).is_none())) {
            out.push(AlertEvent::of(AlertKind::GroupOwedBeforeFestival, r, workers.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use wagewatch_core::features::Alert;

    use super::*;

    fn row(id: &str, band: Band, score: f64, previous: Option<(Band, f64)>) -> RunRow {
        let mut r = RunRow::for_tests(EntityType::Employer, id, RegionCode::parse("320506").unwrap(), band, score);
        r.previous_band = previous.map(|p| p.0);
        r.previous_score = previous.map(|p| p.1);
        r.features = vec![0.0; EntityType::Employer.features().len()];
        r
    }

    fn set(r: &mut RunRow, f: Feature, v: f64) {
        let j = EntityType::Employer.features().iter().position(|g| *g == f).unwrap();
        r.features[j] = v;
    }

    #[test]
    fn a_rescore_raises_what_changed_since_the_previous_run_once() {
        let config = AlertConfig::default();
        let mut before = vec![row("E1", Band::Orange, 0.40, None), row("E2", Band::Red, 0.70, None)];
        let mut now = vec![
            row("E1", Band::Red, 0.60, Some((Band::Orange, 0.40))),
            row("E2", Band::Red, 0.72, Some((Band::Red, 0.70))),
        ];
        // E2 is newly in a rule alert; E1 has 12 of 40 workers owed, 20 days before the festival.
        now[1].alerts.insert(Alert::ALL[0]);
        for (f, v) in [(Feature::HeadcountLastMonth, 40.0), (Feature::ShareWorkersUnpaid90d, 0.3)] {
            set(&mut now[0], f, v);
        }
        set(&mut now[0], Feature::DaysToSpringFestival, 20.0);
        let kinds = |alerts: &[AlertEvent]| -> Vec<(String, AlertKind, String)> {
            alerts.iter().map(|a| (a.entity_id.clone(), a.kind, a.detail.clone())).collect()
        };
        let raised = derive(&now, Some(&before), true, &config);
        assert_eq!(
            kinds(&raised),
            vec![
                ("E1".into(), AlertKind::NewlyRed, String::new()),
                ("E1".into(), AlertKind::Rise, String::new()),
                ("E1".into(), AlertKind::GroupOwedBeforeFestival, "12".into()),
                ("E2".into(), AlertKind::RuleFired, Alert::ALL[0].code().into()),
            ]
        );
        let (zh, en) = raised[2].texts();
        assert!(zh.contains("12 名工人") && en.contains("12 workers"), "{zh} / {en}");
        // The same state again raises nothing: every condition held in the previous run already.
        before = now.clone();
        for r in &mut now {
            r.previous_band = Some(r.band);
            r.previous_score = Some(r.score);
        }
        assert!(derive(&now, Some(&before), true, &config).is_empty());
        // A first run is the baseline; a rise of exactly the threshold is not "more than" it.
        assert!(derive(&now, None, true, &config).is_empty());
        let edge = vec![row("E3", Band::Orange, 0.40, Some((Band::Yellow, 0.25)))];
        assert!(derive(&edge, Some(&[]), true, &config).iter().all(|a| a.kind != AlertKind::Rise));
        // After a change of model, a jump is the model's: no newly red, no rise; a rule still fires.
        let mut jumped = vec![row("E4", Band::Red, 0.90, Some((Band::Green, 0.02)))];
        jumped[0].alerts.insert(Alert::ALL[1]);
        let kinds_after_promotion: Vec<AlertKind> =
            derive(&jumped, Some(&[]), false, &config).iter().map(|a| a.kind).collect();
        assert_eq!(kinds_after_promotion, vec![AlertKind::RuleFired]);
    }
}
