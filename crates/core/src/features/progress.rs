//! Progress payments (工程款) as known at T: what each project's owner has left overdue, how long, and
//! each owner's record across all its started projects.

use crate::contract::Date;
use crate::ingest::tables::Dataset;

use super::{days_since, ratio};

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
    /// Per owner: its punctuality across all its projects, lately and in the year before.
    punctuality: Vec<Punctuality>,
}

/// An owner's record of paying instalments on time (within 30 days of their date), across its projects.
#[derive(Clone, Copy, Debug, Default)]
struct Punctuality {
    /// Instalments dated 30 to 120 days before T, and how many of them were paid on time.
    recent: (u32, u32),
    /// Instalments dated 120 to 395 days before T (the year before), and how many were paid on time.
    year_before: (u32, u32),
    /// The latest payment of any instalment by T.
    last_paid: Option<Date>,
}

impl Punctuality {
    /// The share paid on time lately less the share the year before; 0 when either window has none.
    fn trend(&self) -> f64 {
        let share = |(n, on_time): (u32, u32)| (n > 0).then(|| f64::from(on_time) / f64::from(n));
        match (share(self.recent), share(self.year_before)) {
            (Some(now), Some(before)) => now - before,
            _ => 0.0,
        }
    }
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

    /// The change in punctuality of `p`'s owner across all its projects: the share of its instalments
    /// dated 30 to 120 days before T paid within 30 days, less that share of the year before (0 without
    /// an owner or without instalments in either window). Falling punctuality is negative.
    pub fn owner_punctuality_trend(&self, p: usize) -> f64 {
        self.ds.projects.owner[p].map_or(0.0, |o| self.punctuality[o.index()].trend())
    }

    /// Days since `p`'s owner last paid an instalment of any of its projects, at most [`super::DAYS_NEVER`]
    /// (also without an owner or a payment).
    pub fn owner_days_since_paid(&self, p: usize, t: Date) -> f64 {
        days_since(t, self.ds.projects.owner[p].and_then(|o| self.punctuality[o.index()].last_paid))
    }

    /// Whether `p`'s owner has paid any instalment by T.
    pub fn owner_has_paid(&self, p: usize) -> bool {
        self.ds.projects.owner[p].is_some_and(|o| self.punctuality[o.index()].last_paid.is_some())
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
    let mut punctuality = vec![Punctuality::default(); ds.owner_ids.len()];
    let pp = &ds.progress_payments;
    for i in 0..pp.len() {
        let scheduled = pp.scheduled_on[i];
        if scheduled > t {
            continue;
        }
        let age = t.days_since(scheduled);
        let paid_on = pp.paid_on[i].filter(|d| *d <= t);
        let paid = if paid_on.is_some() { pp.amount_paid[i].map_or(0, |m| m.fen()) } else { 0 };
        let due = pp.amount_due[i].fen();
        if let Some(o) = ds.projects.owner[pp.project[i].index()] {
            let record = &mut punctuality[o.index()];
            record.last_paid = record.last_paid.max(paid_on);
            let on_time =
                u32::from(paid_on.is_some_and(|d| d <= scheduled.add_days(30)) && paid as f64 >= 0.9 * due as f64);
            let window = match age {
                30..120 => Some(&mut record.recent),
                120..395 => Some(&mut record.year_before),
                _ => None,
            };
            if let Some(w) = window {
                w.0 += 1;
                w.1 += on_time;
            }
        }
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
    let mut facts = ProgressFacts { ds, projects, owners: vec![(0.0, 0.0, 0); ds.owner_ids.len()], punctuality };
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
