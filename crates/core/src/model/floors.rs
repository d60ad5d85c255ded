//! Band floors: facts an operator will not see listed below a band whatever the score, such as arrears an
//! inspection found in the last 30 days that no later inspection found cleared. A floor raises the band
//! only; the probability and the rank stay the model's, and the rule that raised the band is kept with the
//! entity (and shown as the first reason). `wagewatch score` applies [`DEFAULT_FLOORS`]; the service applies
//! the floors its band configuration sets.

use std::collections::HashMap;

use crate::contract::{Date, Outcome};
use crate::features::EntityType;
use crate::ingest::tables::Dataset;

use super::{Band, Scored};

/// What holds an entity at a band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloorRule {
    /// An inspection of the entity found arrears, and no later inspection found none.
    ArrearsFound,
    /// A complaint about the entity was closed as substantiated, and no later inspection found arrears
    /// gone.
    SubstantiatedComplaint,
}

impl FloorRule {
    pub const ALL: [FloorRule; 2] = [FloorRule::ArrearsFound, FloorRule::SubstantiatedComplaint];

    /// The rule's code.
    pub fn code(self) -> &'static str {
        match self {
            FloorRule::ArrearsFound => "arrears_found",
            FloorRule::SubstantiatedComplaint => "substantiated_complaint",
        }
    }
}

/// One floor: the rule, how recent its fact must be, and the band it holds the entity at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BandFloor {
    pub rule: FloorRule,
    pub within_days: u32,
    pub at_least: Band,
}

/// The floors an operator gets unless configured otherwise: arrears an inspection found, or a complaint
/// substantiated, in the last 30 days and not found cleared since hold the entity at orange at least.
pub const DEFAULT_FLOORS: [BandFloor; 2] = [
    BandFloor { rule: FloorRule::ArrearsFound, within_days: 30, at_least: Band::Orange },
    BandFloor { rule: FloorRule::SubstantiatedComplaint, within_days: 30, at_least: Band::Orange },
];

impl BandFloor {
    /// How the floor is stored with a row: `arrears_found:30:orange`.
    pub fn code(&self) -> String {
        format!("{}:{}:{}", self.rule.code(), self.within_days, self.at_least.code())
    }

    /// The floor a stored code names.
    pub fn parse(code: &str) -> Option<BandFloor> {
        let mut parts = code.split(':');
        let rule = parts.next()?;
        let rule = FloorRule::ALL.into_iter().find(|r| r.code() == rule)?;
        let within_days = parts.next()?.parse().ok()?;
        let at_least = Band::parse(parts.next()?)?;
        parts.next().is_none().then_some(BandFloor { rule, within_days, at_least })
    }

    /// The floor as a reason, in Chinese and in English.
    pub fn texts(&self) -> (String, String) {
        let band_zh = match self.at_least {
            Band::Red => "红色",
            Band::Orange => "橙色",
            Band::Yellow => "黄色",
            Band::Green => "绿色",
        };
        let d = self.within_days;
        match self.rule {
            FloorRule::ArrearsFound => (
                format!("规则：{d} 天内检查发现欠薪且其后检查未见整改，至少{band_zh}"),
                format!("rule: arrears found by an inspection in the last {d} days and not found cleared since: at least {}", self.at_least.code()),
            ),
            FloorRule::SubstantiatedComplaint => (
                format!("规则：{d} 天内投诉查实欠薪且其后检查未见整改，至少{band_zh}"),
                format!("rule: a complaint substantiated in the last {d} days and not found cleared since: at least {}", self.at_least.code()),
            ),
        }
    }
}

/// The dates that matter to floors for one entity: the latest finding of arrears, the latest substantiated
/// complaint (by its closing), and the latest inspection that found none; all on or before T.
#[derive(Clone, Copy, Debug, Default)]
struct Facts {
    found: Option<Date>,
    substantiated: Option<Date>,
    clean: Option<Date>,
}

impl Facts {
    /// Whether `floor` holds: its fact within the days before `t`, and no clean inspection after it.
    fn holds(&self, floor: &BandFloor, t: Date) -> bool {
        let fact = match floor.rule {
            FloorRule::ArrearsFound => self.found,
            FloorRule::SubstantiatedComplaint => self.substantiated,
        };
        fact.is_some_and(|d| t.days_since(d) <= floor.within_days as i32 && self.clean.is_none_or(|c| c < d))
    }
}

fn later(a: Option<Date>, b: Date) -> Option<Date> {
    Some(a.map_or(b, |a| a.max(b)))
}

/// Every entity's floor facts as of one date, keyed by entity type and dense index.
#[derive(Clone, Debug)]
pub struct FloorFacts {
    t: Date,
    by_entity: HashMap<(EntityType, u32), Facts>,
}

impl FloorFacts {
    /// The facts of the inspections and complaints known on `t`.
    pub fn as_of(ds: &Dataset, t: Date) -> FloorFacts {
        let mut by_entity: HashMap<(EntityType, u32), Facts> = HashMap::new();
        let i = &ds.inspections;
        for k in (0..i.inspected_on.len()).filter(|&k| i.inspected_on[k] <= t) {
            let on = i.inspected_on[k];
            let keys = [
                Some((EntityType::Employer, i.employer[k].index() as u32)),
                i.project[k].map(|p| (EntityType::Project, p.index() as u32)),
            ];
            for key in keys.into_iter().flatten() {
                let f = by_entity.entry(key).or_default();
                if i.found_arrears[k] {
                    f.found = later(f.found, on);
                } else {
                    f.clean = later(f.clean, on);
                }
            }
        }
        let c = &ds.complaints;
        for k in 0..c.len() {
            let closed = match (c.closed_on[k], c.outcome[k]) {
                (Some(closed), Some(Outcome::Substantiated)) if closed <= t => closed,
                _ => continue,
            };
            let keys = [
                c.employer[k].map(|e| (EntityType::Employer, e.index() as u32)),
                c.project[k].map(|p| (EntityType::Project, p.index() as u32)),
            ];
            for key in keys.into_iter().flatten() {
                let f = by_entity.entry(key).or_default();
                f.substantiated = later(f.substantiated, closed);
            }
        }
        FloorFacts { t, by_entity }
    }

    /// The floor that raises an entity above `band`: the strongest that holds (red first, then the order
    /// given), if it is above `band`.
    pub fn raising(&self, entity_type: EntityType, entity: u32, band: Band, floors: &[BandFloor]) -> Option<BandFloor> {
        let facts = self.by_entity.get(&(entity_type, entity))?;
        let strongest = floors.iter().filter(|f| facts.holds(f, self.t)).min_by_key(|f| f.at_least);
        strongest.filter(|f| f.at_least < band).copied()
    }
}

/// Raises each scored entity's band to the strongest floor that holds for it as of `t`, recording that floor;
/// entities already at or above it keep their band and record none.
pub fn apply(scored: &mut [Scored], ds: &Dataset, t: Date, floors: &[BandFloor]) {
    if floors.is_empty() {
        return;
    }
    let facts = FloorFacts::as_of(ds, t);
    for s in scored.iter_mut() {
        if let Some(floor) = facts.raising(s.entity_type, s.entity, s.band, floors) {
            s.band = floor.at_least;
            s.floor = Some(floor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_reads_back_as_it_was_stored() {
        for rule in FloorRule::ALL {
            for at_least in [Band::Red, Band::Orange, Band::Yellow] {
                let floor = BandFloor { rule, within_days: 45, at_least };
                assert_eq!(BandFloor::parse(&floor.code()), Some(floor));
            }
        }
        for bad in [
            "",
            "arrears_found",
            "arrears_found:x:red",
            "rumour:30:red",
            "arrears_found:30:purple",
            "arrears_found:30:red:1",
        ] {
            assert_eq!(BandFloor::parse(bad), None, "{bad}");
        }
    }
}
