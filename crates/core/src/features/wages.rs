//! Wage facts from payroll and payments as of T: for every employer, every project and every general
//! contractor's sites, what fell due, what was paid, how late, how short, how many workers and who left
//! owed; and each employer's wage bill on each project (its footprint there).

use crate::contract::{Date, Month};
use crate::ingest::tables::{Dataset, FastMap, ProjectIx};
use crate::worker_months::{group_starts, grouped, WorkerMonths};

use super::ratio;

/// Wage facts of one scope (an employer, a project, or all rows on a contractor's projects) as of T.
#[derive(Clone, Debug, Default)]
pub(super) struct WageAcc {
    pub overdue_unpaid: i64,
    pub due_30: i64,
    pub unpaid_30: i64,
    pub due_365: i64,
    pub unpaid_365: i64,
    pub events_90: u32,
    pub late3_n: u32,
    pub due_90: i64,
    pub paid_90: i64,
    pub due_90_180: i64,
    pub paid_90_180: i64,
    pub short_30: u32,
    pub short_90: u32,
    pub short_180: u32,
    pub short_365: u32,
    pub rows_90: u32,
    pub late_n: u32,
    pub late_sum: i64,
    pub late_max: i32,
    pub days_90: u64,
    pub paid_for_days_90: i64,
    pub lumps_90: u32,
    pub events_365: u32,
    pub last_short: Option<Date>,
    pub hc0: u32,
    pub hc3: u32,
    pub hc12: u32,
    pub dw0: u64,
    pub dw3: u64,
    pub attended0: u32,
    pub unpaid_attended0: u32,
    pub paid0: i64,
    pub days0: u64,
    pub unpaid_two_months: u32,
    pub workers_90: u32,
    pub workers_owed_90: u32,
    pub leavers_owed: u32,
}

impl WageAcc {
    /// Overdue unpaid wages against the monthly wage bill of the last 90 days.
    pub fn unpaid_ratio_90(&self) -> f64 {
        ratio(self.overdue_unpaid as f64, self.due_90 as f64 / 3.0)
    }
}

/// Per-worker state in one scope, for distinct-worker features.
#[derive(Clone, Copy, Default)]
struct WorkerState {
    last_period: i32,
    owed: bool,
    in_90: bool,
}

/// The wage facts of every scope as of T.
pub(super) struct WageFacts {
    /// Per employer (its own payroll).
    pub employers: Vec<WageAcc>,
    /// Per project.
    pub projects: Vec<WageAcc>,
    /// Per employer: every payroll row on the projects it is general contractor of.
    pub sites: Vec<WageAcc>,
    /// Wage bill of the last 90 days per (employer, project), sorted by employer then project.
    pub footprint: Vec<((u32, u32), i64)>,
}

/// One payroll row as known at T, with what its accumulators need.
struct RowFacts {
    due_date: Date,
    age: i32,
    due: i64,
    paid_t: i64,
    paid_last_on: Option<Date>,
    short: bool,
    unpaid: i64,
    known_event: bool,
    period: Month,
    days: u64,
    lump: bool,
}

/// The months the headcount and days-worked features compare: the latest wage month on the books as of T
/// (`p0`), 3 and 12 months before it, and the month two before T's (for the two-month rule).
#[derive(Clone, Copy)]
struct Months {
    p0: Month,
    p3: Month,
    p12: Month,
    two_months_ago: Month,
}

impl RowFacts {
    fn of(ds: &Dataset, wm: &WorkerMonths, r: usize, t: Date) -> RowFacts {
        let pr = &ds.payroll;
        let due_date = pr.due_date[r];
        let age = t.days_since(due_date);
        let due = pr.wage_due[r].fen();
        let paid = wm.paid_as_of(r, due_date, t);
        let paid_t = paid.paid.fen();
        let short = due > 0 && (paid_t as f64) < 0.9 * due as f64;
        RowFacts {
            due_date,
            age,
            due,
            paid_t,
            paid_last_on: paid.last_paid_on,
            short,
            unpaid: (due - paid_t).max(0),
            known_event: age >= 30 && due > 0 && (paid.paid_within_30_days.fen() as f64) < 0.9 * due as f64,
            period: pr.period[r],
            days: u64::from(pr.days_worked[r]),
            lump: paid_t > 2 * due && paid_t > 2_000_000,
        }
    }
}

impl WageAcc {
    /// Adds one payroll row.
    fn add(&mut self, f: &RowFacts, m: Months) {
        let (age, due, paid_t, unpaid, days) = (f.age, f.due, f.paid_t, f.unpaid, f.days);
        self.overdue_unpaid += unpaid;
        if age < 30 {
            self.due_30 += due;
            self.unpaid_30 += unpaid;
        }
        if age < 365 {
            self.due_365 += due;
            self.unpaid_365 += unpaid;
        }
        if f.known_event && age < 120 {
            self.events_90 += 1;
        }
        if age < 90 {
            self.due_90 += due;
            self.paid_90 += paid_t;
            self.rows_90 += 1;
            self.days_90 += days;
            self.paid_for_days_90 += paid_t;
            if f.short {
                self.short_90 += 1;
            }
            if !f.short && due > 0 {
                if let Some(last) = f.paid_last_on {
                    let late = last.days_since(f.due_date).max(0);
                    self.late3_n += u32::from(late > 3);
                    self.late_n += 1;
                    self.late_sum += i64::from(late);
                    self.late_max = self.late_max.max(late);
                }
            }
            if f.lump {
                self.lumps_90 += 1;
            }
        } else if age < 180 {
            self.due_90_180 += due;
            self.paid_90_180 += paid_t;
        }
        if f.short {
            if age < 30 {
                self.short_30 += 1;
            }
            if age < 180 {
                self.short_180 += 1;
            }
            if age < 365 {
                self.short_365 += 1;
            }
            if self.last_short.is_none_or(|d| d < f.due_date) {
                self.last_short = Some(f.due_date);
            }
            if f.period <= m.two_months_ago {
                self.unpaid_two_months += 1;
            }
        }
        if f.known_event && age < 395 {
            self.events_365 += 1;
        }
        if f.period == m.p0 {
            self.hc0 += 1;
            self.dw0 += days;
            self.paid0 += paid_t;
            self.days0 += days;
            if days > 0 {
                self.attended0 += 1;
                if paid_t == 0 {
                    self.unpaid_attended0 += 1;
                }
            }
        } else if f.period == m.p3 {
            self.hc3 += 1;
            self.dw3 += days;
        } else if f.period == m.p12 {
            self.hc12 += 1;
        }
    }
}

/// Walks the payroll rows due in the 400 days before T and accumulates every scope's wage facts: the
/// employers' side (their own rows, the sites they contract, their footprint) and the projects' side on
/// two threads, each walking the rows once. Sums, maxima and distinct counts do not depend on the split.
pub(super) fn wage_facts(ds: &Dataset, wm: &WorkerMonths, t: Date) -> WageFacts {
    let pr = &ds.payroll;
    let window = || wm.due_between_in_row_order(&pr.due_date, t.add_days(-super::PAYROLL_LOOKBACK_DAYS), t);
    // The latest wage month on the books as of T, and the months 3 and 12 before it.
    let p0 = window().map(|r| pr.period[r]).max().unwrap_or(t.month());
    let months =
        Months { p0, p3: p0.plus_months(-3), p12: p0.plus_months(-12), two_months_ago: t.month().plus_months(-2) };
    let ((employers, sites, footprint), projects) = std::thread::scope(|scope| {
        let projects = scope.spawn(|| project_side(ds, wm, t, window(), months));
        (employer_side(ds, wm, t, window(), months), projects.join().expect("the project side does not panic"))
    });
    WageFacts { employers, projects, sites, footprint }
}

/// The rows of the last six months, one (scope, worker) sighting each, for the distinct-worker counts:
/// gathered while walking the window, then sorted so that each pair's sightings are adjacent (cheaper than
/// a hash map probed at random for every row). At most [`PENDING`] sightings wait at a time; then they are
/// folded into the distinct pairs seen so far, so that memory grows with the distinct (scope, worker)
/// pairs, not with the rows.
struct Workers {
    scopes: usize,
    /// How many sightings wait before they are folded: [`PENDING`].
    limit: usize,
    pending: Vec<Sighting>,
    /// Each distinct (scope, worker) so far, its sightings merged, sorted by scope and worker.
    seen: Vec<Sighting>,
}

/// How many sightings wait before they are folded (64 MB).
const PENDING: usize = 1 << 22;

/// 16 bytes: sightings of a six-month window are many (one per row), so they are kept small.
#[derive(Clone, Copy, Default)]
struct Sighting {
    worker: u64,
    scope: u32,
    /// The wage month's index shifted left by 2, with "owed" in bit 1 and "due in the last 90 days" in bit 0.
    period_flags: i32,
}

impl Sighting {
    fn key(&self) -> (u32, u64) {
        (self.scope, self.worker)
    }

    /// Two sightings of the same pair as one: the later wage month, either's flags.
    fn merged(self, other: Sighting) -> Sighting {
        let period = (self.period_flags >> 2).max(other.period_flags >> 2);
        Sighting { period_flags: period << 2 | ((self.period_flags | other.period_flags) & 3), ..self }
    }

    fn state(&self) -> WorkerState {
        WorkerState {
            last_period: self.period_flags >> 2,
            owed: self.period_flags & 2 != 0,
            in_90: self.period_flags & 1 != 0,
        }
    }
}

impl Workers {
    fn new(scopes: usize) -> Workers {
        Workers { scopes, limit: PENDING, pending: Vec::new(), seen: Vec::new() }
    }

    fn track(&mut self, scope: usize, worker: u64, facts: &RowFacts) {
        let flags = i32::from(facts.short) << 1 | i32::from(facts.age < 90);
        self.add(Sighting { worker, scope: scope as u32, period_flags: facts.period.index() << 2 | flags });
    }

    fn add(&mut self, sighting: Sighting) {
        self.pending.push(sighting);
        if self.pending.len() == self.limit {
            self.fold();
        }
    }

    /// Folds the pending sightings into the distinct pairs: grouped by scope with a counting sort, each
    /// scope's few sorted by worker in cache, a pair's sightings merged, then merged with those seen.
    fn fold(&mut self) {
        let starts = group_starts(self.pending.iter().map(|s| s.scope as usize), self.scopes);
        let mut fresh = grouped(self.pending.iter().map(|s| (s.scope as usize, *s)), &starts);
        self.pending.clear();
        for w in starts.windows(2) {
            fresh[w[0]..w[1]].sort_unstable_by_key(|s| s.worker);
        }
        fresh.dedup_by(|next, kept| {
            let same = next.key() == kept.key();
            if same {
                *kept = kept.merged(*next);
            }
            same
        });
        if self.seen.is_empty() {
            fresh.shrink_to_fit();
            self.seen = fresh;
        } else {
            merge_into(&mut self.seen, &fresh);
        }
    }

    /// Each distinct (scope, worker): its scope and state.
    fn distinct(mut self) -> impl Iterator<Item = (u32, WorkerState)> {
        self.fold();
        self.seen.into_iter().map(|s| (s.scope, s.state()))
    }
}

/// Merges `fresh` into `seen`, both distinct pairs sorted by scope and worker, a pair in both merged: in
/// place, from the back, so that `seen` is never copied whole.
fn merge_into(seen: &mut Vec<Sighting>, fresh: &[Sighting]) {
    let (a, b) = (seen.len(), fresh.len());
    seen.resize(a + b, Sighting::default());
    // `seen[..i]` and `fresh[..j]` are still to merge; the merged tail is `seen[w..]`, and w >= i + j.
    let (mut i, mut j, mut w) = (a, b, a + b);
    while j > 0 {
        w -= 1;
        if i > 0 && seen[i - 1].key() > fresh[j - 1].key() {
            seen[w] = seen[i - 1];
            i -= 1;
        } else if i > 0 && seen[i - 1].key() == fresh[j - 1].key() {
            seen[w] = seen[i - 1].merged(fresh[j - 1]);
            i -= 1;
            j -= 1;
        } else {
            seen[w] = fresh[j - 1];
            j -= 1;
        }
    }
    // `seen[..i]` is in place; close the gap the merged pairs left.
    if w > i {
        seen.copy_within(w.., i);
        seen.truncate(a + b - (w - i));
    }
}

type EmployerSide = (Vec<WageAcc>, Vec<WageAcc>, Vec<((u32, u32), i64)>);

/// Each employer's own rows, the rows on the sites it contracts, and its wage bill per project.
fn employer_side(
    ds: &Dataset,
    wm: &WorkerMonths,
    t: Date,
    window: impl Iterator<Item = usize>,
    months: Months,
) -> EmployerSide {
    let pr = &ds.payroll;
    let n_e = ds.employers.len();
    let mut emp = vec![WageAcc::default(); n_e];
    let mut site = vec![WageAcc::default(); n_e];
    let mut workers = Workers::new(n_e);
    let mut footprint: FastMap<(u32, u32), i64> = FastMap::default();
    let six_months_ago = months.p0.plus_months(-6);
    for r in window {
        let facts = RowFacts::of(ds, wm, r, t);
        let e = pr.employer[r].index();
        let p = pr.project[r].map(ProjectIx::index);
        emp[e].add(&facts, months);
        if let Some(p) = p {
            site[ds.projects.general_contractor[p].index()].add(&facts, months);
        }
        if facts.period >= six_months_ago {
            workers.track(e, pr.worker[r].value(), &facts);
        }
        if let (Some(p), true) = (p, facts.age < 90) {
            *footprint.entry((e as u32, p as u32)).or_default() += facts.due;
        }
    }
    count_workers(&mut emp, workers, months.p0.plus_months(-2).index());
    let mut footprint: Vec<((u32, u32), i64)> = footprint.into_iter().collect();
    footprint.sort_unstable();
    (emp, site, footprint)
}

/// Each project's rows.
fn project_side(
    ds: &Dataset,
    wm: &WorkerMonths,
    t: Date,
    window: impl Iterator<Item = usize>,
    months: Months,
) -> Vec<WageAcc> {
    let pr = &ds.payroll;
    let mut prj = vec![WageAcc::default(); ds.projects.len()];
    let mut workers = Workers::new(ds.projects.len());
    let six_months_ago = months.p0.plus_months(-6);
    for r in window {
        let Some(p) = pr.project[r].map(ProjectIx::index) else { continue };
        let facts = RowFacts::of(ds, wm, r, t);
        prj[p].add(&facts, months);
        if facts.period >= six_months_ago {
            workers.track(p, pr.worker[r].value(), &facts);
        }
    }
    count_workers(&mut prj, workers, months.p0.plus_months(-2).index());
    prj
}

/// Distinct workers of the last 90 days, those owed among them, and those who left owed.
fn count_workers(accs: &mut [WageAcc], workers: Workers, leaver_cutoff: i32) {
    for (scope, s) in workers.distinct() {
        let a = &mut accs[scope as usize];
        if s.in_90 {
            a.workers_90 += 1;
            a.workers_owed_90 += u32::from(s.owed);
        }
        if s.owed && s.last_period <= leaver_cutoff {
            a.leavers_owed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// The distinct pairs of `sightings` (scope, worker, period and flags) folded `limit` at a time.
    fn distinct(sightings: &[(u32, u64, i32)], limit: usize) -> Vec<(u32, i32, bool, bool)> {
        let mut workers = Workers::new(8);
        workers.limit = limit;
        for &(scope, worker, period_flags) in sightings {
            workers.add(Sighting { worker, scope, period_flags });
        }
        workers.distinct().map(|(scope, s)| (scope, s.last_period, s.owed, s.in_90)).collect()
    }

    #[test]
    fn sightings_folded_a_few_at_a_time_give_the_pairs_of_one_fold() {
        let mut rng = SplitMix64::new(11);
        let sightings: Vec<(u32, u64, i32)> = (0..500)
            .map(|_| {
                (
                    rng.next_u64() as u32 % 8,
                    rng.next_u64() % 30,
                    (24_000 + (rng.next_u64() % 7) as i32) << 2 | (rng.next_u64() % 4) as i32,
                )
            })
            .collect();
        // The naive answer: a map of each pair to its latest month and either flag.
        let mut naive: std::collections::BTreeMap<(u32, u64), (i32, bool, bool)> = Default::default();
        for &(scope, worker, pf) in &sightings {
            let e = naive.entry((scope, worker)).or_insert((i32::MIN, false, false));
            *e = (e.0.max(pf >> 2), e.1 | (pf & 2 != 0), e.2 | (pf & 1 != 0));
        }
        let expected: Vec<_> = naive.iter().map(|(&(scope, _), &(p, owed, in_90))| (scope, p, owed, in_90)).collect();
        for limit in [1, 2, 3, 7, 64, 499, 500, 10_000] {
            assert_eq!(distinct(&sightings, limit), expected, "folded {limit} at a time");
        }
        assert!(distinct(&[], 4).is_empty());
    }
}
