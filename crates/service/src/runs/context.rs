//! What a run's files hold beside the scores, gathered from the payroll with the features, a part at a
//! time: the chain's links, every entity's wage months and the events timeline.

use wagewatch_core::contract::{Date, Money, Month};
use wagewatch_core::features::EntityType;
use wagewatch_core::ingest::tables::{Dataset, FastSet};
use wagewatch_core::worker_months::WorkerMonths;

use super::{Happened, Link, Relation, TimelineEvent, WageMonth};

/// A run's links, wage months and timeline.
pub(super) struct RunContext {
    pub links: Vec<Link>,
    pub wages: Vec<WageMonth>,
    pub events: Vec<TimelineEvent>,
}

/// One entity's wage month as gathered: (is a project, entity index, wage month index), due and paid in fen.
type Slot = ((bool, u32, i32), (i64, i64));

/// The payroll's share of a run's context as of one date, gathered a part of the payroll at a time: which
/// employers have rows on which projects in the year before the date, and each entity's wages due and paid
/// by month over the 12 months of due dates before it. Grows with the entities, not with the rows.
pub(super) struct ContextStream {
    as_of: Date,
    pairs: FastSet<(u32, u32)>,
    wage_months: Vec<Slot>,
}

impl ContextStream {
    pub fn new(as_of: Date) -> ContextStream {
        ContextStream { as_of, pairs: FastSet::default(), wage_months: Vec::new() }
    }

    /// Adds `part`'s rows (a dataset with the same registers, and its worker-month index).
    pub fn add(&mut self, part: &Dataset, wm: &WorkerMonths) {
        self.add_pairs(part);
        self.add_wage_months(part, wm);
    }

    /// The (project, employer) pairs of rows due in the year before the date.
    fn add_pairs(&mut self, part: &Dataset) {
        let since = self.as_of.add_days(-365);
        let pr = &part.payroll;
        // A crew's rows mostly follow one another: the pair of the row before is not looked up again.
        let mut previous = None;
        for i in 0..pr.len() {
            let (Some(p), d) = (pr.project[i], pr.due_date[i]) else { continue };
            if d > self.as_of || d <= since {
                continue;
            }
            let pair = (p.index() as u32, pr.employer[i].index() as u32);
            if previous.replace(pair) != Some(pair) {
                self.pairs.insert(pair);
            }
        }
    }

    /// Wages due and paid as of the date per entity and wage month, for rows due in the 366 days before it.
    fn add_wage_months(&mut self, part: &Dataset, wm: &WorkerMonths) {
        let (as_of, pr) = (self.as_of, &part.payroll);
        let rows = || wm.due_between_in_row_order(&pr.due_date, as_of.add_days(-366), as_of);
        let (lo, hi) =
            rows().map(|r| pr.period[r].index()).fold((i32::MAX, i32::MIN), |(lo, hi), m| (lo.min(m), hi.max(m)));
        if lo > hi {
            return;
        }
        // One slot per entity and wage month of the part: (due, paid, seen), employers first, then projects.
        let months = (hi - lo + 1) as usize;
        let employers = part.employers.len();
        let mut slots = vec![(0i64, 0i64, false); (employers + part.projects.len()) * months];
        for r in rows() {
            let paid = wm.paid_as_of(r, pr.due_date[r], as_of).paid.fen();
            let due = pr.wage_due[r].fen();
            let m = (pr.period[r].index() - lo) as usize;
            let mut add = |entity: usize| {
                let slot = &mut slots[entity * months + m];
                slot.0 += due;
                slot.1 += paid;
                slot.2 = true;
            };
            add(pr.employer[r].index());
            if let Some(p) = pr.project[r] {
                add(employers + p.index());
            }
        }
        for (k, &(due, paid, seen)) in slots.iter().enumerate() {
            if seen {
                let (entity, m) = (k / months, lo + (k % months) as i32);
                let key =
                    if entity < employers { (false, entity as u32, m) } else { (true, (entity - employers) as u32, m) };
                self.wage_months.push((key, (due, paid)));
            }
        }
    }

    /// The run's context: links and wage months named from `ds`'s registers, and the timeline of its
    /// complaints and inspections.
    pub fn finish(self, ds: &Dataset) -> RunContext {
        RunContext {
            links: links(ds, self.pairs),
            wages: wage_months(ds, self.wage_months),
            events: timeline(ds, self.as_of),
        }
    }
}

/// Project-employer links: each project's general contractor, then every other employer with payroll on a
/// project (`pairs`), by project and employer.
fn links(ds: &Dataset, pairs: FastSet<(u32, u32)>) -> Vec<Link> {
    let link = |p: usize, e: usize, relation| Link {
        project_id: ds.project_ids.name(p).to_string(),
        employer_id: ds.employer_ids.name(e).to_string(),
        relation,
    };
    let gc = |p: usize| ds.projects.general_contractor[p].index();
    let mut out: Vec<Link> = (0..ds.projects.len()).map(|p| link(p, gc(p), Relation::GeneralContractor)).collect();
    let mut crews: Vec<(usize, usize)> = pairs
        .into_iter()
        .map(|(p, e)| (p as usize, e as usize))
        .filter(|&(p, e)| p < ds.projects.len() && e != gc(p))
        .collect();
    crews.sort_unstable();
    out.extend(crews.into_iter().map(|(p, e)| link(p, e, Relation::Subcontractor)));
    out
}

/// The gathered wage months in (entity type, entity, month) order, one per entity and month.
fn wage_months(ds: &Dataset, mut slots: Vec<Slot>) -> Vec<WageMonth> {
    slots.sort_unstable_by_key(|&(key, _)| key);
    let mut merged: Vec<Slot> = Vec::with_capacity(slots.len());
    for (key, (due, paid)) in slots {
        match merged.last_mut() {
            Some((k, sums)) if *k == key => {
                sums.0 += due;
                sums.1 += paid;
            }
            _ => merged.push((key, (due, paid))),
        }
    }
    merged
        .into_iter()
        .map(|((is_project, entity, month), (due, paid))| {
            let (entity_type, entity_id) = if is_project {
                (EntityType::Project, ds.project_ids.name(entity as usize))
            } else {
                (EntityType::Employer, ds.employer_ids.name(entity as usize))
            };
            WageMonth {
                entity_type,
                entity_id: entity_id.to_string(),
                month: Month::from_index(month),
                due: Money::from_fen(due),
                paid: Money::from_fen(paid),
            }
        })
        .collect()
}

/// Complaints and inspections of the two years before the as-of date, per employer and per project.
fn timeline(ds: &Dataset, as_of: Date) -> Vec<TimelineEvent> {
    let since = as_of.add_days(-730);
    let mut out = Vec::new();
    let c = &ds.complaints;
    for i in 0..c.len() {
        let on = c.received_on[i];
        if on > as_of || on <= since {
            continue;
        }
        let outcome = c.outcome[i].filter(|_| c.closed_on[i].is_some_and(|d| d <= as_of));
        let targets = [
            c.employer[i].map(|e| (EntityType::Employer, ds.employer_ids.name(e.index()))),
            c.project[i].map(|p| (EntityType::Project, ds.project_ids.name(p.index()))),
        ];
        for (t, id) in targets.into_iter().flatten() {
            out.push(TimelineEvent {
                entity_type: t,
                entity_id: id.to_string(),
                on,
                what: Happened::Complaint { category: c.category[i], outcome },
                workers: Some(c.workers_involved[i]),
                amount: c.amount_claimed[i],
            });
        }
    }
    let n = &ds.inspections;
    for i in 0..n.len() {
        let on = n.inspected_on[i];
        if on > as_of || on <= since {
            continue;
        }
        let targets = [
            Some((EntityType::Employer, ds.employer_ids.name(n.employer[i].index()))),
            n.project[i].map(|p| (EntityType::Project, ds.project_ids.name(p.index()))),
        ];
        for (t, id) in targets.into_iter().flatten() {
            out.push(TimelineEvent {
                entity_type: t,
                entity_id: id.to_string(),
                on,
                what: Happened::Inspection { found_arrears: n.found_arrears[i] },
                workers: n.workers_affected[i],
                amount: n.arrears_amount[i],
            });
        }
    }
    out.sort_by(|a, b| (a.entity_type, &a.entity_id, b.on).cmp(&(b.entity_type, &b.entity_id, a.on)));
    out
}
