//! The predicted event and who is scored, exactly as the data contract defines them.
//!
//! Who is scored as of T: projects started by T, not ended 60+ days before T, with a payroll row due in
//! (T-365, T]; employers founded by T (or with no founding date) with such a payroll row, or who are the
//! general contractor of such a project. The event: in (T, T+H], a complaint of category group incident or
//! criminal referral or with outcome substantiated, an inspection that found arrears, or a worker-month due
//! in the horizon of which less than 90% was paid by its due date + 30 days. A project's events count against
//! its general contractor too. Labels look past T by construction; features never do.

use crate::contract::{Category, Date, Outcome, Selection};
use crate::ingest::tables::{Dataset, EmployerIx, ProjectIx};
use crate::worker_months::WorkerMonths;

/// The entities scored as of one date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Population {
    pub as_of: Date,
    /// Registered employers, ascending.
    pub employers: Vec<EmployerIx>,
    /// Registered projects, ascending.
    pub projects: Vec<ProjectIx>,
}

/// Which event kinds fired for an entity in the horizon.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventSources {
    pub complaint: bool,
    pub inspection: bool,
    pub payroll: bool,
}

impl EventSources {
    /// Whether any event fired.
    pub fn any(self) -> bool {
        self.complaint || self.inspection || self.payroll
    }

    fn merge(&mut self, other: EventSources) {
        self.complaint |= other.complaint;
        self.inspection |= other.inspection;
        self.payroll |= other.payroll;
    }
}

/// Events of every registered employer and project in one horizon.
#[derive(Clone, Debug)]
pub struct Labels {
    pub employers: Vec<EventSources>,
    pub projects: Vec<EventSources>,
}

/// The contract's population as of `as_of`.
pub fn population(ds: &Dataset, wm: &WorkerMonths, as_of: Date) -> Population {
    let mut recent = RecentPayroll::new(ds, as_of);
    recent.add(ds, wm);
    recent.population(ds)
}

/// The registered employers and projects with a payroll row due in the year before a date, gathered a
/// part of the payroll at a time; what [`population`] needs from the fact tables.
#[derive(Clone, Debug)]
pub struct RecentPayroll {
    as_of: Date,
    employers: Vec<bool>,
    projects: Vec<bool>,
}

impl RecentPayroll {
    pub fn new(ds: &Dataset, as_of: Date) -> RecentPayroll {
        RecentPayroll { as_of, employers: vec![false; ds.employers.len()], projects: vec![false; ds.projects.len()] }
    }

    /// Marks the entities of `part`'s rows due in the year before the date (`part` has the same registers).
    pub fn add(&mut self, part: &Dataset, wm: &WorkerMonths) {
        let pr = &part.payroll;
        for r in wm.due_between_in_row_order(&pr.due_date, self.as_of.add_days(-365), self.as_of) {
            self.employers[pr.employer[r].index()] = true;
            if let Some(p) = pr.project[r] {
                self.projects[p.index()] = true;
            }
        }
    }

    /// Who is scored: projects started by the date, not ended 60+ days before it, with a recent row;
    /// employers founded by the date with a recent row or contracting such a project.
    pub fn population(self, ds: &Dataset) -> Population {
        let RecentPayroll { as_of, employers: employer_recent, projects: project_recent } = self;
        let ended_before = as_of.add_days(-60);
        let projects: Vec<ProjectIx> = (0..ds.projects.len())
            .filter(|&p| {
                ds.projects.start_date[p] <= as_of
                    && ds.projects.actual_end_date[p].is_none_or(|end| end > ended_before)
                    && project_recent[p]
            })
            .map(ProjectIx::new)
            .collect();
        let mut employer_in = employer_recent;
        for p in &projects {
            employer_in[ds.projects.general_contractor[p.index()].index()] = true;
        }
        let employers = (0..ds.employers.len())
            .filter(|&e| employer_in[e] && ds.employers.founded_on[e].is_none_or(|f| f <= as_of))
            .map(EmployerIx::new)
            .collect();
        Population { as_of, employers, projects }
    }
}

/// Whether an entity was inspected at random (the audit slice, `selection = random`) in a horizon, and
/// whether that inspection found arrears.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SliceMark {
    pub inspected: bool,
    pub found: bool,
}

/// The audit slice of one horizon: every registered employer and project.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditSlice {
    pub employers: Vec<SliceMark>,
    pub projects: Vec<SliceMark>,
}

/// The entities inspected at random in `(as_of, as_of + horizon_days]` (the inspected employer, and the
/// project when one is named), with what was found; inspections after `known_at` are not yet known.
pub fn audit_slice(ds: &Dataset, as_of: Date, horizon_days: i32, known_at: Option<Date>) -> AuditSlice {
    let end = as_of.add_days(horizon_days);
    let mut slice = AuditSlice {
        employers: vec![SliceMark::default(); ds.employer_ids.len()],
        projects: vec![SliceMark::default(); ds.project_ids.len()],
    };
    let ins = &ds.inspections;
    for i in 0..ins.len() {
        let on = ins.inspected_on[i];
        let known = known_at.is_none_or(|k| on <= k);
        if on <= as_of || on > end || !known || ins.selection[i] != Some(Selection::Random) {
            continue;
        }
        let found = ins.found_arrears[i];
        let mark = |m: &mut SliceMark| {
            m.inspected = true;
            m.found |= found;
        };
        mark(&mut slice.employers[ins.employer[i].index()]);
        if let Some(p) = ins.project[i] {
            mark(&mut slice.projects[p.index()]);
        }
    }
    slice
}

/// The events in `(as_of, as_of + horizon_days]` of every registered employer and project, as finally
/// recorded in the dataset.
pub fn labels(ds: &Dataset, wm: &WorkerMonths, as_of: Date, horizon_days: i32) -> Labels {
    labels_known_at(ds, wm, as_of, horizon_days, None)
}

/// The same events as they were known on `known_at` (a training cutoff): a complaint's outcome counts only
/// when it was closed by then, and payments only when made by then. `None` takes the final record.
pub fn labels_known_at(
    ds: &Dataset,
    wm: &WorkerMonths,
    as_of: Date,
    horizon_days: i32,
    known_at: Option<Date>,
) -> Labels {
    let mut events = HorizonEvents::new(ds, as_of, horizon_days, known_at);
    events.add(ds, wm);
    events.finish()
}

/// The events of one horizon gathered a part of the payroll at a time: complaints and inspections when
/// made, the payroll's events part by part ([`labels_known_at`] in steps).
#[derive(Clone, Debug)]
pub struct HorizonEvents {
    as_of: Date,
    end: Date,
    known_at: Option<Date>,
    labels: Labels,
}

impl HorizonEvents {
    /// The complaints' and inspections' events of `(as_of, as_of + horizon_days]` as known at `known_at`.
    pub fn new(ds: &Dataset, as_of: Date, horizon_days: i32, known_at: Option<Date>) -> HorizonEvents {
        let end = as_of.add_days(horizon_days);
        let labels = Labels {
            employers: vec![EventSources::default(); ds.employer_ids.len()],
            projects: vec![EventSources::default(); ds.project_ids.len()],
        };
        let mut events = HorizonEvents { as_of, end, known_at, labels };
        let c = &ds.complaints;
        for i in 0..c.len() {
            let in_horizon = c.received_on[i] > as_of && c.received_on[i] <= end;
            let outcome_known = known_at.is_none_or(|k| c.closed_on[i].is_some_and(|d| d <= k));
            let serious = matches!(c.category[i], Category::GroupIncident | Category::CriminalReferral)
                || (outcome_known && c.outcome[i] == Some(Outcome::Substantiated));
            let received_known = known_at.is_none_or(|k| c.received_on[i] <= k);
            if in_horizon && serious && received_known {
                events.mark(ds, c.employer[i], c.project[i], EventSources { complaint: true, ..Default::default() });
            }
        }
        let ins = &ds.inspections;
        for i in 0..ins.len() {
            let known = known_at.is_none_or(|k| ins.inspected_on[i] <= k);
            if ins.inspected_on[i] > as_of && ins.inspected_on[i] <= end && ins.found_arrears[i] && known {
                let source = EventSources { inspection: true, ..Default::default() };
                events.mark(ds, Some(ins.employer[i]), ins.project[i], source);
            }
        }
        events
    }

    /// Adds the payroll events of `part`'s rows (`part` has the same registers): a worker-month due in the
    /// horizon of which less than 90% was paid by its due date + 30 days.
    pub fn add(&mut self, part: &Dataset, wm: &WorkerMonths) {
        let pr = &part.payroll;
        for &r in wm.due_between(&pr.due_date, self.as_of, self.end) {
            let r = r as usize;
            let due = pr.wage_due[r].fen();
            if due == 0 {
                continue;
            }
            // Labels are judged on the final record: every payment up to due date + 30 days.
            let judged_on = pr.due_date[r].add_days(30);
            let seen_until = self.known_at.map_or(judged_on, |k| judged_on.min(k));
            let paid = wm.paid_as_of(r, pr.due_date[r], seen_until).paid_within_30_days.fen();
            if (paid as f64) < 0.9 * due as f64 {
                let source = EventSources { payroll: true, ..Default::default() };
                self.mark(part, Some(pr.employer[r]), pr.project[r], source);
            }
        }
    }

    /// A project's events count against its general contractor too.
    fn mark(&mut self, ds: &Dataset, employer: Option<EmployerIx>, project: Option<ProjectIx>, source: EventSources) {
        let Labels { employers, projects } = &mut self.labels;
        if let Some(e) = employer {
            employers[e.index()].merge(source);
        }
        if let Some(p) = project {
            projects[p.index()].merge(source);
            if p.index() < ds.projects.len() {
                employers[ds.projects.general_contractor[p.index()].index()].merge(source);
            }
        }
    }

    pub fn finish(self) -> Labels {
        self.labels
    }
}

/// The wages at stake in one entity's horizon: what went unpaid and to how many workers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Harm {
    /// Wages due in the horizon short of what was paid by due date + 30 days, summed over the worker-months
    /// of which less than 90% was paid (the contract's payroll event), in yuan.
    pub unpaid_yuan: f64,
    /// Distinct workers of those worker-months.
    pub workers: u32,
}

/// The harm of every registered employer and project in one horizon.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Harms {
    pub employers: Vec<Harm>,
    pub projects: Vec<Harm>,
}

/// The wages that went unpaid in `(as_of, as_of + horizon_days]`, as known at `known_at` (payments made
/// later are not yet seen; `None` takes the final record). A project's harm also counts against its
/// general contractor, as the event does: an employer's harm is the larger of its own and its projects'
/// together, for yuan and for workers each.
pub fn harm(ds: &Dataset, wm: &WorkerMonths, as_of: Date, horizon_days: i32, known_at: Option<Date>) -> Harms {
    let end = as_of.add_days(horizon_days);
    let pr = &ds.payroll;
    let mut own = vec![0.0; ds.employer_ids.len()];
    let mut site = vec![0.0; ds.project_ids.len()];
    let mut own_workers: Vec<(u32, u64)> = Vec::new();
    let mut site_workers: Vec<(u32, u64)> = Vec::new();
    for &r in wm.due_between(&pr.due_date, as_of, end) {
        let r = r as usize;
        let due = pr.wage_due[r].fen();
        if due == 0 {
            continue;
        }
        let judged_on = pr.due_date[r].add_days(30);
        let seen_until = known_at.map_or(judged_on, |k| judged_on.min(k));
        let paid = wm.paid_as_of(r, pr.due_date[r], seen_until).paid_within_30_days.fen();
        if (paid as f64) >= 0.9 * due as f64 {
            continue;
        }
        let short = (due - paid) as f64 / 100.0;
        let e = pr.employer[r].index();
        own[e] += short;
        own_workers.push((e as u32, pr.worker[r].value()));
        if let Some(p) = pr.project[r] {
            site[p.index()] += short;
            site_workers.push((p.index() as u32, pr.worker[r].value()));
        }
    }
    let projects: Vec<Harm> = site
        .iter()
        .zip(distinct_per_entity(site_workers, site.len()))
        .map(|(&unpaid_yuan, workers)| Harm { unpaid_yuan, workers })
        .collect();
    let mut employers: Vec<Harm> = own
        .iter()
        .zip(distinct_per_entity(own_workers, own.len()))
        .map(|(&unpaid_yuan, workers)| Harm { unpaid_yuan, workers })
        .collect();
    let mut contracted = vec![Harm::default(); employers.len()];
    for (p, h) in projects.iter().enumerate() {
        let c = &mut contracted[ds.projects.general_contractor[p].index()];
        c.unpaid_yuan += h.unpaid_yuan;
        c.workers += h.workers;
    }
    for (e, c) in employers.iter_mut().zip(contracted) {
        e.unpaid_yuan = e.unpaid_yuan.max(c.unpaid_yuan);
        e.workers = e.workers.max(c.workers);
    }
    Harms { employers, projects }
}

/// The number of distinct workers per entity of `(entity, worker)` pairs.
fn distinct_per_entity(mut pairs: Vec<(u32, u64)>, entities: usize) -> Vec<u32> {
    pairs.sort_unstable();
    pairs.dedup();
    let mut out = vec![0u32; entities];
    for (e, _) in pairs {
        out[e as usize] += 1;
    }
    out
}
