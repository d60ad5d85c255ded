//! The fairness audit, in the style of aequitas: for groups of scored entities (by employer kind, sector,
//! size, firm age, city and project funding), how often the model selects them (red or orange), how often
//! it is right when it does, and how often it raises a false alarm or misses an event, each set against a
//! reference group (the largest) and flagged when the ratio leaves [`RATIO_LOW`, `RATIO_HIGH`].
//!
//! The counts behind every figure add up over test dates ([`Tally`]), so a backtest pools its dates by
//! adding them; the figures ([`Audit`]) are derived once from the sums. A figure whose denominator is zero
//! is undefined (`None`), never NaN; a group smaller than [`MIN_GROUP`] is shown and never flagged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::contract::Date;
use crate::features::{self, EntityType, Feature, Features};
use crate::ingest::tables::Dataset;
use crate::model::{self, Band, BandCutoffs, ModelError, RiskModel, Scored};
use crate::target::{self, Labels};
use crate::worker_months::WorkerMonths;

/// A ratio to the reference group below this is flagged.
pub const RATIO_LOW: f64 = 0.8;
/// A ratio to the reference group above this is flagged.
pub const RATIO_HIGH: f64 = 1.25;
/// Groups with fewer entity-dates than this are shown but never flagged: their rates are noise.
pub const MIN_GROUP: usize = 30;
/// A figure is judged only where its own denominator (the selected for precision, those without an event
/// for the false-positive rate, those with one for the false-negative rate) is at least this in the group.
pub const MIN_DENOMINATOR: usize = 10;

/// What entities are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attribute {
    /// The employer's kind (general contractor, subcontractor, ...).
    Kind,
    Sector,
    /// Workers on the payroll in the latest wage month: under 50, 50–199, 200 and more.
    Size,
    /// Years since founding on the as-of date: under 3, 3–10, 10 and more, unknown.
    FirmAge,
    /// The city: the first four digits of the region code.
    City,
    /// Whether a project is government funded.
    Funding,
}

impl Attribute {
    /// Every attribute, in report order.
    pub const ALL: [Attribute; 6] =
        [Attribute::Kind, Attribute::Sector, Attribute::Size, Attribute::FirmAge, Attribute::City, Attribute::Funding];

    /// The code used in reports.
    pub fn code(self) -> &'static str {
        match self {
            Attribute::Kind => "kind",
            Attribute::Sector => "sector",
            Attribute::Size => "size",
            Attribute::FirmAge => "firm_age",
            Attribute::City => "city",
            Attribute::Funding => "funding",
        }
    }

    /// Whether entities of type `t` are grouped by this attribute: employers by kind, sector, size, firm age
    /// and city; projects by size, city and funding.
    pub fn applies_to(self, t: EntityType) -> bool {
        match self {
            Attribute::Kind | Attribute::Sector | Attribute::FirmAge => t == EntityType::Employer,
            Attribute::Funding => t == EntityType::Project,
            Attribute::Size | Attribute::City => true,
        }
    }
}

/// The size group of a headcount.
pub fn size_group(headcount: f64) -> &'static str {
    if headcount < 50.0 {
        "under_50"
    } else if headcount < 200.0 {
        "50_199"
    } else {
        "200_plus"
    }
}

/// The firm-age group of a founding date on `as_of`.
pub fn age_group(founded_on: Option<Date>, as_of: Date) -> &'static str {
    let Some(founded) = founded_on else { return "unknown" };
    let years = f64::from(as_of.days_since(founded)) / 365.25;
    if years < 3.0 {
        "under_3y"
    } else if years < 10.0 {
        "3_10y"
    } else {
        "10y_plus"
    }
}

/// The counts every figure of a group is derived from; they add up over dates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Entity-dates in the group.
    pub entities: usize,
    /// Of those, with an arrears event in the horizon.
    pub events: usize,
    /// Selected: banded red or orange.
    pub selected: usize,
    /// Selected and with an event.
    pub selected_events: usize,
}

impl Counts {
    fn add(&mut self, selected: bool, event: bool) {
        self.entities += 1;
        self.events += usize::from(event);
        self.selected += usize::from(selected);
        self.selected_events += usize::from(selected && event);
    }

    fn share(numerator: usize, denominator: usize) -> Option<f64> {
        (denominator > 0).then(|| numerator as f64 / denominator as f64)
    }

    /// The denominators of the figures, in the order of [`Rates::named`].
    pub fn denominators(&self) -> [usize; 5] {
        [self.entities, self.entities, self.selected, self.entities - self.events, self.events]
    }

    /// The group's figures.
    pub fn rates(&self) -> Rates {
        Rates {
            base_rate: Self::share(self.events, self.entities),
            selection_rate: Self::share(self.selected, self.entities),
            precision: Self::share(self.selected_events, self.selected),
            false_positive_rate: Self::share(self.selected - self.selected_events, self.entities - self.events),
            false_negative_rate: Self::share(self.events - self.selected_events, self.events),
        }
    }
}

/// The figures of a group, or of a group against the reference (as ratios); `None` where undefined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub base_rate: Option<f64>,
    /// Share banded red or orange.
    pub selection_rate: Option<f64>,
    /// Share of the selected with an event.
    pub precision: Option<f64>,
    /// Share of those without an event that were selected.
    pub false_positive_rate: Option<f64>,
    /// Share of those with an event that were not selected.
    pub false_negative_rate: Option<f64>,
}

impl Rates {
    /// The figures by name, in report order.
    pub fn named(&self) -> [(&'static str, Option<f64>); 5] {
        [
            ("base_rate", self.base_rate),
            ("selection_rate", self.selection_rate),
            ("precision", self.precision),
            ("false_positive_rate", self.false_positive_rate),
            ("false_negative_rate", self.false_negative_rate),
        ]
    }

    fn ratio_to(&self, reference: &Rates) -> Rates {
        let r = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            (Some(a), Some(b)) if a == 0.0 && b == 0.0 => Some(1.0),
            _ => None,
        };
        Rates {
            base_rate: r(self.base_rate, reference.base_rate),
            selection_rate: r(self.selection_rate, reference.selection_rate),
            precision: r(self.precision, reference.precision),
            false_positive_rate: r(self.false_positive_rate, reference.false_positive_rate),
            false_negative_rate: r(self.false_negative_rate, reference.false_negative_rate),
        }
    }
}

/// Counts per entity type, attribute and group, added up over as-of dates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    counts: BTreeMap<(EntityType, Attribute, String), Counts>,
}

impl Tally {
    /// Counts one entity-date into a group.
    pub fn add(&mut self, t: EntityType, attribute: Attribute, group: &str, selected: bool, event: bool) {
        self.counts.entry((t, attribute, group.to_string())).or_default().add(selected, event);
    }

    /// Counts every scored entity of one as-of date (`scored` as `model::score` returns it for `features`),
    /// selected when banded red or orange, with its event from `labels`.
    pub fn add_scored(&mut self, ds: &Dataset, features: &Features, scored: &[Scored], labels: &Labels) {
        for t in EntityType::ALL {
            let m = features.matrix(t);
            let headcount = m.features.iter().position(|f| *f == Feature::HeadcountLastMonth);
            let rows = scored.iter().filter(|s| s.entity_type == t);
            for (row, s) in rows.enumerate() {
                debug_assert_eq!(m.entities[row], s.entity, "scored rows follow the matrix");
                let selected = matches!(s.band, Band::Red | Band::Orange);
                let e = s.entity as usize;
                let event = match t {
                    EntityType::Employer => labels.employers[e].any(),
                    EntityType::Project => labels.projects[e].any(),
                };
                let size = size_group(headcount.map_or(0.0, |j| m.row(row)[j]));
                let city = format!("{:04}", s.region.value() / 100);
                let mut add = |a: Attribute, g: &str| self.add(t, a, g, selected, event);
                add(Attribute::Size, size);
                add(Attribute::City, &city);
                match t {
                    EntityType::Employer => {
                        add(Attribute::Kind, ds.employers.kind[e].code());
                        add(Attribute::Sector, ds.employers.sector[e].code());
                        add(Attribute::FirmAge, age_group(ds.employers.founded_on[e], m.as_of));
                    }
                    EntityType::Project => {
                        let funded = ds.projects.government_funded[e];
                        add(Attribute::Funding, if funded { "government" } else { "private" });
                    }
                }
            }
        }
    }

    /// Adds another tally's counts.
    pub fn merge(&mut self, other: &Tally) {
        for (key, c) in &other.counts {
            let mine = self.counts.entry(key.clone()).or_default();
            mine.entities += c.entities;
            mine.events += c.events;
            mine.selected += c.selected;
            mine.selected_events += c.selected_events;
        }
    }

    /// The audit: every group's figures and its ratios to the largest group of its attribute.
    pub fn audit(&self) -> Audit {
        let mut attributes = Vec::new();
        for t in EntityType::ALL {
            for a in Attribute::ALL.into_iter().filter(|a| a.applies_to(t)) {
                let groups: Vec<(&String, &Counts)> = self
                    .counts
                    .iter()
                    .filter(|((et, at, _), _)| *et == t && *at == a)
                    .map(|((_, _, g), c)| (g, c))
                    .collect();
                if let Some(audit) = attribute_audit(t, a, &groups) {
                    attributes.push(audit);
                }
            }
        }
        Audit { ratio_low: RATIO_LOW, ratio_high: RATIO_HIGH, min_group: MIN_GROUP, attributes }
    }
}

fn attribute_audit(t: EntityType, a: Attribute, groups: &[(&String, &Counts)]) -> Option<AttributeAudit> {
    // The reference: the largest group (the first name among equals).
    let (reference, reference_counts) =
        groups.iter().max_by(|x, y| x.1.entities.cmp(&y.1.entities).then_with(|| y.0.cmp(x.0)))?;
    let reference_rates = reference_counts.rates();
    let rows = groups
        .iter()
        .map(|(g, c)| {
            let rates = c.rates();
            let ratios = rates.ratio_to(&reference_rates);
            let judged = c.entities >= MIN_GROUP && g != reference;
            let flags = ratios
                .named()
                .into_iter()
                .zip(c.denominators())
                .filter(|((_, r), d)| {
                    judged && *d >= MIN_DENOMINATOR && r.is_some_and(|r| !(RATIO_LOW..=RATIO_HIGH).contains(&r))
                })
                .map(|((name, _), _)| name.to_string())
                .collect();
            GroupAudit { group: g.to_string(), counts: **c, rates, ratios, flags }
        })
        .collect();
    Some(AttributeAudit {
        entity_type: t.code().to_string(),
        attribute: a.code().to_string(),
        reference_group: reference.to_string(),
        groups: rows,
    })
}

/// The fairness audit, as written into backtest reports and `report fairness --json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    pub ratio_low: f64,
    pub ratio_high: f64,
    /// Groups smaller than this are never flagged.
    pub min_group: usize,
    pub attributes: Vec<AttributeAudit>,
}

/// The groups of one attribute of one entity type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeAudit {
    /// `employer` or `project`.
    pub entity_type: String,
    /// An [`Attribute`] code.
    pub attribute: String,
    /// The largest group, which every ratio is taken against.
    pub reference_group: String,
    pub groups: Vec<GroupAudit>,
}

/// One group: its counts, figures, ratios to the reference group and the figures flagged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupAudit {
    pub group: String,
    pub counts: Counts,
    pub rates: Rates,
    pub ratios: Rates,
    /// Names of the figures whose ratio lies outside the bounds.
    pub flags: Vec<String>,
}

impl Audit {
    /// The audit as JSON, as `report fairness --json` writes it (the fields of [`Audit`]).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("an audit is plain data")
    }

    /// Every flagged group as `entity_type attribute=group: figures`.
    pub fn flagged(&self) -> Vec<String> {
        self.attributes
            .iter()
            .flat_map(|a| {
                a.groups
                    .iter()
                    .filter(|g| !g.flags.is_empty())
                    .map(move |g| format!("{} {}={}: {}", a.entity_type, a.attribute, g.group, g.flags.join(", ")))
            })
            .collect()
    }

    /// The audit as Markdown: one table per attribute, then what the flags mean.
    pub fn markdown(&self) -> String {
        let cell = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.3}"));
        let ratio = |v: Option<f64>, flagged: bool| {
            v.map_or("–".to_string(), |v| if flagged { format!("**{v:.2}** ⚑") } else { format!("{v:.2}") })
        };
        let mut md = String::new();
        for a in &self.attributes {
            md.push_str(&format!(
                "**{}s by {}** (reference group: {})\n\n| group | entity-dates | events | base rate | selected | \
                 precision | FPR | FNR | ratio: base | selected | precision | FPR | FNR |\n\
                 |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
                a.entity_type, a.attribute, a.reference_group
            ));
            for g in &a.groups {
                let r = &g.rates;
                md.push_str(&format!("| {} | {} | {} |", g.group, g.counts.entities, g.counts.events));
                for (_, v) in r.named() {
                    md.push_str(&format!(" {} |", cell(v)));
                }
                for (name, v) in g.ratios.named() {
                    md.push_str(&format!(" {} |", ratio(v, g.flags.iter().any(|f| f == name))));
                }
                md.push('\n');
            }
            md.push('\n');
        }
        md.push_str(&format!(
            "Selected means banded red or orange. Ratios are to the reference group; ⚑ marks one outside {}–{} in a \
             group of {}+ entity-dates, where the figure's own denominator is {}+ (selected for precision, without \
             an event for FPR, with one for FNR). A flag says the model treats a group differently, not why: a different base \
             rate (a group with more events) makes selection and error rates differ for an accurate model too, and \
             a project's events count against its general contractor by the contract. A flag asks a person to look; \
             it does not show unfairness, and no flag does not show fairness.\n",
            self.ratio_low, self.ratio_high, self.min_group, MIN_DENOMINATOR
        ));
        md
    }
}

/// The audit of a model as of one date: features, scores banded by `bands`, and the events of the
/// horizon that follows (which the data must hold: see [`horizon_closed`]).
pub fn audit_as_of(
    ds: &Dataset,
    wm: &WorkerMonths,
    model: &RiskModel,
    as_of: Date,
    bands: &BandCutoffs,
) -> Result<Audit, ModelError> {
    let features = features::compute(ds, wm, as_of, model.horizon_days)?;
    let scored = model::score(model, &features, bands)?;
    let labels = target::labels(ds, wm, as_of, model.horizon_days);
    let mut tally = Tally::default();
    tally.add_scored(ds, &features, &scored, &labels);
    Ok(tally.audit())
}

/// Whether the data reach 30 days past the end of the horizon after `as_of` (a payroll row falls due on
/// or after then), so that its events are known: a worker-month of the horizon is an event unless paid
/// within 30 days of its due date. Otherwise the last due date.
pub fn horizon_closed(ds: &Dataset, as_of: Date, horizon_days: i32) -> Result<(), Option<Date>> {
    horizon_closed_by(ds.payroll.due_date.iter().max().copied(), as_of, horizon_days)
}

/// [`horizon_closed`] for data whose last payroll due date is `last`.
pub fn horizon_closed_by(last: Option<Date>, as_of: Date, horizon_days: i32) -> Result<(), Option<Date>> {
    match last {
        Some(last) if last >= as_of.add_days(horizon_days + 30) => Ok(()),
        _ => Err(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adds `(group, selected, event)` rows for employers by kind and returns the audit of that attribute.
    #[track_caller]
    fn check(rows: &[(&str, usize, bool, bool)], expected: &[(&str, Rates, Vec<&str>)]) {
        let mut tally = Tally::default();
        for &(group, n, selected, event) in rows {
            for _ in 0..n {
                tally.add(EntityType::Employer, Attribute::Kind, group, selected, event);
            }
        }
        let audit = tally.audit();
        assert_eq!(audit.attributes.len(), 1);
        let a = &audit.attributes[0];
        for (group, ratios, flags) in expected {
            let g = a.groups.iter().find(|g| g.group == *group).expect("group present");
            for ((name, got), (_, want)) in g.ratios.named().into_iter().zip(ratios.named()) {
                match (got, want) {
                    (Some(got), Some(want)) => assert!((got - want).abs() < 1e-12, "{group} {name}: {got} != {want}"),
                    _ => assert_eq!(got, want, "{group} {name}"),
                }
            }
            assert_eq!(&g.flags, flags, "{group}");
        }
    }

    #[test]
    fn ratios_and_flags_against_hand_computed_values() {
        // Reference "a": 100 entities, 20 events; 25 selected of which 15 events.
        //   base 0.2, selection 0.25, precision 0.6, FPR 10/80 = 0.125, FNR 5/20 = 0.25.
        // "b": 50 entities, 10 events; 5 selected of which 4 events.
        //   base 0.2, selection 0.1, precision 0.8, FPR 1/40 = 0.025, FNR 6/10 = 0.6.
        let rows = [
            ("a", 15, true, true),
            ("a", 10, true, false),
            ("a", 5, false, true),
            ("a", 70, false, false),
            ("b", 4, true, true),
            ("b", 1, true, false),
            ("b", 6, false, true),
            ("b", 39, false, false),
        ];
        let ones = Rates {
            base_rate: Some(1.0),
            selection_rate: Some(1.0),
            precision: Some(1.0),
            false_positive_rate: Some(1.0),
            false_negative_rate: Some(1.0),
        };
        let b = Rates {
            base_rate: Some(1.0),
            selection_rate: Some(0.4),
            precision: Some(0.8 / 0.6),
            false_positive_rate: Some(0.2),
            false_negative_rate: Some(2.4),
        };
        check(
            &rows,
            &[
                ("a", ones, vec![]),
                // Precision's ratio (1.33) is outside the bounds, but only 5 of "b" were selected.
                ("b", b, vec!["selection_rate", "false_positive_rate", "false_negative_rate"]),
            ],
        );
    }

    #[test]
    fn small_groups_and_empty_denominators_are_never_flagged() {
        // "c" has 10 entities (under MIN_GROUP), nobody selected and no event: precision and FNR undefined.
        let rows = [("a", 10, true, true), ("a", 90, false, false), ("c", 10, false, false)];
        let c = Rates {
            base_rate: Some(0.0),
            selection_rate: Some(0.0),
            precision: None,
            false_positive_rate: Some(1.0),
            false_negative_rate: None,
        };
        check(&rows, &[("c", c, vec![])]);
    }

    #[test]
    fn tallies_add_up_over_dates() {
        let mut one = Tally::default();
        let mut two = Tally::default();
        one.add(EntityType::Project, Attribute::Funding, "private", true, false);
        two.add(EntityType::Project, Attribute::Funding, "private", true, true);
        one.merge(&two);
        let audit = one.audit();
        let g = &audit.attributes[0].groups[0];
        assert_eq!(g.counts, Counts { entities: 2, events: 1, selected: 2, selected_events: 1 });
        assert_eq!(g.rates.precision, Some(0.5));
    }

    #[test]
    fn groups_of_size_and_age() {
        let t = Date::parse("2026-12-01").unwrap();
        assert_eq!(size_group(49.0), "under_50");
        assert_eq!(size_group(50.0), "50_199");
        assert_eq!(size_group(200.0), "200_plus");
        assert_eq!(age_group(None, t), "unknown");
        assert_eq!(age_group(Date::parse("2024-12-02"), t), "under_3y");
        assert_eq!(age_group(Date::parse("2020-01-01"), t), "3_10y");
        assert_eq!(age_group(Date::parse("2010-01-01"), t), "10y_plus");
    }
}
