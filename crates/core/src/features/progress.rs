//! Progress payments (工程款) as known at T: what each project's owner has left overdue, how long, and
//! each owner's record across all its started projects.

use crate::contract::Date;
use crate::ingest::tables::Dataset;

use super::ratio;

/// Progress-payment facts of one project as of T.
#[derive(Clone, Debug, Default)]
struct ProgressAcc {
    overdue: i64,
    due_180: i64,
    max_days_overdue: i32,
    unpaid_instalments: u32,
}

/// Progress-payment facts of every project and owner as of T.
pub(super) struct ProgressFacts<'a> {
    ds: &'a Dataset,
    projects: Vec<ProgressAcc>,
    /// Per owner: overdue amount, the denominators of its started projects, and how many there are.
    owners: Vec<(f64, f64, u32)>,
}

impl ProgressFacts<'_> {
    /// Overdue progress payments of project `p`, yuan-fen.
    pub fn overdue(&self, p: usize) -> i64 {
        self.projects[p].overdue
    }

    /// What overdue amounts of project `p` are measured against: the instalments due in the last 180 days,
    /// or 5% of the contract value when that is more.
    pub fn denominator(&self, p: usize) -> f64 {
        (self.projects[p].due_180 as f64).max(0.05 * self.ds.projects.contract_value[p].fen() as f64)
    }

    /// Project `p`'s overdue progress payments against its denominator, at most 10.
    pub fn ratio(&self, p: usize) -> f64 {
        ratio(self.projects[p].overdue as f64, self.denominator(p)).min(10.0)
    }

    /// The same ratio over every started project of `p`'s owner (0 without an owner).
    pub fn owner_ratio(&self, p: usize) -> f64 {
        self.ds.projects.owner[p].map_or(0.0, |o| {
            let (overdue, den, _) = self.owners[o.index()];
            ratio(overdue, den).min(10.0)
        })
    }

    /// The number of started projects of `p`'s owner (1 without an owner).
    pub fn owner_projects(&self, p: usize) -> f64 {
        self.ds.projects.owner[p].map_or(1.0, |o| f64::from(self.owners[o.index()].2))
    }

    /// The days the longest-unpaid instalment of `p` has been due.
    pub fn max_days_overdue(&self, p: usize) -> f64 {
        f64::from(self.projects[p].max_days_overdue)
    }

    /// Instalments of `p` due 30 days or more and less than 90% paid.
    pub fn unpaid_instalments(&self, p: usize) -> f64 {
        f64::from(self.projects[p].unpaid_instalments)
    }
}

/// Each project's progress payments 30 days or more overdue at `t` and unpaid, in yuan (what its owner owes).
pub fn overdue_progress_yuan(ds: &Dataset, t: Date) -> Vec<f64> {
    let facts = progress_facts(ds, t);
    (0..ds.projects.len()).map(|p| facts.overdue(p) as f64 / 100.0).collect()
}

/// Walks the progress payments scheduled by T once, then sums them by owner over started projects.
pub(super) fn progress_facts(ds: &Dataset, t: Date) -> ProgressFacts<'_> {
    let mut projects = vec![ProgressAcc::default(); ds.projects.len()];
    let pp = &ds.progress_payments;
    for i in 0..pp.len() {
        let scheduled = pp.scheduled_on[i];
        if scheduled > t {
            continue;
        }
        let age = t.days_since(scheduled);
        let paid = if pp.paid_on[i].is_some_and(|d| d <= t) { pp.amount_paid[i].map_or(0, |m| m.fen()) } else { 0 };
        let due = pp.amount_due[i].fen();
        let a = &mut projects[pp.project[i].index()];
        if age >= 30 {
            a.overdue += (due - paid).max(0);
        }
        if age < 180 {
            a.due_180 += due;
        }
        if (paid as f64) < 0.9 * due as f64 {
            a.max_days_overdue = a.max_days_overdue.max(age);
            if age >= 30 {
                a.unpaid_instalments += 1;
            }
        }
    }
    let mut facts = ProgressFacts { ds, projects, owners: vec![(0.0, 0.0, 0); ds.owner_ids.len()] };
    for p in (0..ds.projects.len()).filter(|&p| ds.projects.start_date[p] <= t) {
        if let Some(o) = ds.projects.owner[p] {
            let (overdue, den) = (facts.projects[p].overdue as f64, facts.denominator(p));
            let s = &mut facts.owners[o.index()];
            s.0 += overdue;
            s.1 += den;
            s.2 += 1;
        }
    }
    facts
}
