//! Wage facts from payroll and payments as of T: for every employer, every project and every general
//! contractor's sites, what fell due, what was paid, how late, how short, how many workers and who left
//! owed; and each employer's wage bill on each project (its footprint there).

use std::ops::Range;
use std::sync::Mutex;

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
    pub unpaid_90: i64,
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
    pub due0: i64,
    pub days0: u64,
    /// Bit `k` set when a worker-month of wage month `p0 - k` (k < 32) was short-paid.
    pub short_months: u32,
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

    /// The share of the worker-months due in the last 90 days paid in full but more than 3 days late.
    pub fn share_late_90(&self) -> f64 {
        ratio(f64::from(self.late3_n), f64::from(self.rows_90))
    }

    /// The unpaid share at T of the wages due in the last 365 days.
    pub fn unpaid_ratio_365(&self) -> f64 {
        ratio(self.unpaid_365 as f64, self.due_365 as f64)
    }

    /// Consecutive wage months with a short-paid worker-month, ending at the latest wage month or, when
    /// that one has none yet, at the month before it.
    pub fn short_pay_run_months(&self) -> u32 {
        let months = if self.short_months & 1 == 1 { self.short_months } else { self.short_months >> 1 };
        months.trailing_ones()
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
    /// Rows of this wage month on count towards the distinct workers.
    six_months_ago: Month,
}

impl Months {
    /// The months compared when `p0` is the latest wage month on the books as of `t`.
    fn of(p0: Month, t: Date) -> Months {
        Months {
            p0,
            p3: p0.plus_months(-3),
            p12: p0.plus_months(-12),
            two_months_ago: t.month().plus_months(-2),
            six_months_ago: p0.plus_months(-6),
        }
    }
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
    /// Adds the rows another walker added to the same scope. Every field is named, so that a new one
    /// cannot be left out.
    fn absorb(&mut self, other: &WageAcc) {
        let WageAcc {
            overdue_unpaid,
            due_30,
            unpaid_30,
            due_365,
            unpaid_365,
            events_90,
            late3_n,
            due_90,
            paid_90,
            unpaid_90,
            due_90_180,
            paid_90_180,
            short_30,
            short_90,
            short_180,
            short_365,
            rows_90,
            late_n,
            late_sum,
            late_max,
            days_90,
            paid_for_days_90,
            lumps_90,
            events_365,
            last_short,
            hc0,
            hc3,
            hc12,
            dw0,
            dw3,
            attended0,
            unpaid_attended0,
            paid0,
            due0,
            days0,
            short_months,
            unpaid_two_months,
            workers_90,
            workers_owed_90,
            leavers_owed,
        } = *other;
        self.overdue_unpaid += overdue_unpaid;
        self.due_30 += due_30;
        self.unpaid_30 += unpaid_30;
        self.due_365 += due_365;
        self.unpaid_365 += unpaid_365;
        self.events_90 += events_90;
        self.late3_n += late3_n;
        self.due_90 += due_90;
        self.paid_90 += paid_90;
        self.unpaid_90 += unpaid_90;
        self.due_90_180 += due_90_180;
        self.paid_90_180 += paid_90_180;
        self.short_30 += short_30;
        self.short_90 += short_90;
        self.short_180 += short_180;
        self.short_365 += short_365;
        self.rows_90 += rows_90;
        self.late_n += late_n;
        self.late_sum += late_sum;
        self.late_max = self.late_max.max(late_max);
        self.days_90 += days_90;
        self.paid_for_days_90 += paid_for_days_90;
        self.lumps_90 += lumps_90;
        self.events_365 += events_365;
        self.last_short = self.last_short.max(last_short);
        self.hc0 += hc0;
        self.hc3 += hc3;
        self.hc12 += hc12;
        self.dw0 += dw0;
        self.dw3 += dw3;
        self.attended0 += attended0;
        self.unpaid_attended0 += unpaid_attended0;
        self.paid0 += paid0;
        self.due0 += due0;
        self.days0 += days0;
        self.short_months |= short_months;
        self.unpaid_two_months += unpaid_two_months;
        self.workers_90 += workers_90;
        self.workers_owed_90 += workers_owed_90;
        self.leavers_owed += leavers_owed;
    }

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
            self.unpaid_90 += unpaid;
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
            let back = m.p0.index() - f.period.index();
            if (0..32).contains(&back) {
                self.short_months |= 1 << back;
            }
        }
        if f.known_event && age < 395 {
            self.events_365 += 1;
        }
        if f.period == m.p0 {
            self.hc0 += 1;
            self.dw0 += days;
            self.paid0 += paid_t;
            self.due0 += due;
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

/// How many threads walk the window's rows.
const WALKERS: usize = 2;
/// The window's rows are dealt out to the walkers in blocks of this many, in turn, so that each walker gets
/// rows of every month (and so its share of the last six months' distinct workers).
const BLOCK_ROWS: usize = 1 << 16;

/// The wage facts as of T from the payroll rows due in the 400 days before T, gathered a part of the
/// payroll at a time: each employer's own rows, each project's, the rows on the sites an employer contracts
/// and its footprint. Sums per scope, and the distinct
/// workers of the last six months, so that memory grows with the entities and workers, not with the rows.
/// Two threads walk each part's rows in blocks, in turn, each row once, and their sums are added: sums,
/// maxima and distinct counts do not depend on the split.
pub(super) struct WageStream {
    t: Date,
    /// Set by the first part with a row in the window, whose latest wage month is the latest on the books.
    months: Option<Months>,
    workers: (Workers, Workers),
    sums: Sums,
}

impl WageStream {
    pub fn new(ds: &Dataset, t: Date) -> WageStream {
        WageStream {
            t,
            months: None,
            workers: (Workers::new(ds.employers.len()), Workers::new(ds.projects.len())),
            sums: Sums::new(ds),
        }
    }

    /// Adds the window's rows of `part` (a dataset with the same registers, and its worker-month index).
    /// Parts come latest wage month first: the first with a row in the window holds the latest wage month
    /// on the books as of T, which the headcount features compare against.
    pub fn add(&mut self, part: &Dataset, wm: &WorkerMonths) {
        let (t, pr) = (self.t, &part.payroll);
        let from = t.add_days(-super::PAYROLL_LOOKBACK_DAYS);
        let span = wm.rows_spanning_due_between(from, t);
        let in_window = |r: &usize| from < pr.due_date[*r] && pr.due_date[*r] <= t;
        let latest = span.clone().filter(in_window).map(|r| pr.period[r]).max();
        let months = match (self.months, latest) {
            (_, None) => return,
            (Some(months), Some(latest)) => {
                assert!(latest <= months.p0, "parts are added latest wage month first");
                months
            }
            (None, Some(p0)) => *self.months.insert(Months::of(p0, t)),
        };
        let workers = &self.workers;
        let walk = |k: usize, sums: Sums| {
            let mut walk = Walk::new(sums, workers);
            for r in dealt(span.clone(), k).filter(in_window) {
                walk.add(part, wm, r, t, months);
            }
            walk.finish()
        };
        let sums = std::mem::replace(&mut self.sums, Sums::empty());
        self.sums = std::thread::scope(|scope| {
            let others: Vec<_> = (1..WALKERS).map(|k| scope.spawn(move || walk(k, Sums::new(part)))).collect();
            let mut sums = walk(0, sums);
            for other in others {
                sums.absorb(other.join().expect("a walker does not panic"));
            }
            sums
        });
    }

    /// Every scope's wage facts.
    pub fn finish(self) -> WageFacts {
        let WageStream { t, months, workers, mut sums } = self;
        let months = months.unwrap_or_else(|| Months::of(t.month(), t));
        let leaver_cutoff = months.p0.plus_months(-2).index();
        count_workers(&mut sums.employers, workers.0, leaver_cutoff);
        count_workers(&mut sums.projects, workers.1, leaver_cutoff);
        let mut footprint: Vec<((u32, u32), i64)> = sums.footprint.into_iter().collect();
        footprint.sort_unstable();
        WageFacts { employers: sums.employers, projects: sums.projects, sites: sums.sites, footprint }
    }
}

/// Walker `k`'s rows of `span`: blocks `k`, `k + WALKERS`, ... of [`BLOCK_ROWS`] rows.
fn dealt(span: Range<usize>, k: usize) -> impl Iterator<Item = usize> {
    let end = span.end;
    span.step_by(BLOCK_ROWS).skip(k).step_by(WALKERS).flat_map(move |start| start..(start + BLOCK_ROWS).min(end))
}

/// What one walker gathers from its rows (the distinct workers go to the shared [`Workers`]).
struct Walk<'w> {
    sums: Sums,
    employer_workers: Sightings<'w>,
    project_workers: Sightings<'w>,
}

/// Every scope's sums over some rows: each employer's own rows, each project's, the rows on the sites each
/// employer contracts, and each employer's wage bill of the last 90 days per project.
struct Sums {
    employers: Vec<WageAcc>,
    projects: Vec<WageAcc>,
    sites: Vec<WageAcc>,
    footprint: FastMap<(u32, u32), i64>,
}

impl<'w> Walk<'w> {
    /// A walker adding to `sums`, whose sightings go to `workers` (the employers', the projects').
    fn new(sums: Sums, workers: &'w (Workers, Workers)) -> Walk<'w> {
        Walk {
            sums,
            employer_workers: workers.0.sightings(PENDING / WALKERS),
            project_workers: workers.1.sightings(PENDING / WALKERS),
        }
    }

    /// Adds payroll row `r` to its employer, its project and the project's general contractor's sites.
    fn add(&mut self, ds: &Dataset, wm: &WorkerMonths, r: usize, t: Date, months: Months) {
        let pr = &ds.payroll;
        let facts = RowFacts::of(ds, wm, r, t);
        let e = pr.employer[r].index();
        let recent = facts.period >= months.six_months_ago;
        let sums = &mut self.sums;
        sums.employers[e].add(&facts, months);
        if recent {
            self.employer_workers.track(e, pr.worker[r].value(), &facts);
        }
        let Some(p) = pr.project[r].map(ProjectIx::index) else { return };
        sums.projects[p].add(&facts, months);
        sums.sites[ds.projects.general_contractor[p].index()].add(&facts, months);
        if recent {
            self.project_workers.track(p, pr.worker[r].value(), &facts);
        }
        if facts.age < 90 {
            *sums.footprint.entry((e as u32, p as u32)).or_default() += facts.due;
        }
    }

    /// Folds the last sightings into the shared workers; the sums.
    fn finish(self) -> Sums {
        self.employer_workers.finish();
        self.project_workers.finish();
        self.sums
    }
}

impl Sums {
    /// Zero sums for every scope of `ds`.
    fn new(ds: &Dataset) -> Sums {
        let n_e = ds.employers.len();
        Sums {
            employers: vec![WageAcc::default(); n_e],
            projects: vec![WageAcc::default(); ds.projects.len()],
            sites: vec![WageAcc::default(); n_e],
            footprint: FastMap::default(),
        }
    }

    /// Sums of no scope (a placeholder while a walker holds the real ones).
    fn empty() -> Sums {
        Sums { employers: Vec::new(), projects: Vec::new(), sites: Vec::new(), footprint: FastMap::default() }
    }

    /// Adds another walker's sums of other rows.
    fn absorb(&mut self, other: Sums) {
        for (scopes, more) in [
            (&mut self.employers, other.employers),
            (&mut self.projects, other.projects),
            (&mut self.sites, other.sites),
        ] {
            scopes.iter_mut().zip(&more).for_each(|(a, b)| a.absorb(b));
        }
        for (key, due) in other.footprint {
            *self.footprint.entry(key).or_default() += due;
        }
    }
}

/// The distinct (scope, worker) pairs of the last six months' rows, for the distinct-worker counts. The
/// walkers gather sightings ([`Sightings`]) and fold a few million at a time into the pairs so far, so that
/// memory grows with the distinct pairs, not with the rows.
struct Workers {
    scopes: usize,
    /// Each distinct (scope, worker) so far, its sightings merged, sorted by scope and worker.
    seen: Mutex<Vec<Sighting>>,
}

/// One walker's sightings waiting to be folded into [`Workers`]: gathered while walking, then sorted so
/// that each pair's sightings are adjacent (cheaper than a hash map probed at random for every row).
struct Sightings<'w> {
    into: &'w Workers,
    /// How many sightings wait before they are folded.
    limit: usize,
    pending: Vec<Sighting>,
}

/// How many sightings wait, over all walkers, before they are folded (64 MB).
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
        Workers { scopes, seen: Mutex::new(Vec::new()) }
    }

    /// A walker's sightings, folded `limit` at a time.
    fn sightings(&self, limit: usize) -> Sightings<'_> {
        Sightings { into: self, limit: limit.max(1), pending: Vec::new() }
    }

    /// Merges distinct pairs sorted by scope and worker into those seen.
    fn merge(&self, fresh: Vec<Sighting>) {
        let mut seen = self.seen.lock().expect("no walker panics while merging");
        if seen.is_empty() {
            *seen = fresh;
            seen.shrink_to_fit();
        } else {
            merge_into(&mut seen, &fresh);
        }
    }

    /// Each distinct (scope, worker): its scope and state.
    fn distinct(self) -> impl Iterator<Item = (u32, WorkerState)> {
        let seen = self.seen.into_inner().expect("no walker panics while merging");
        seen.into_iter().map(|s| (s.scope, s.state()))
    }
}

impl Sightings<'_> {
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
        let starts = group_starts(self.pending.iter().map(|s| s.scope as usize), self.into.scopes);
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
        self.into.merge(fresh);
    }

    /// Folds what is still pending.
    fn finish(mut self) {
        self.fold();
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

    /// The distinct pairs of `sightings` (scope, worker, period and flags), dealt out in turn to `walkers`
    /// walkers that each fold `limit` at a time.
    fn distinct(sightings: &[(u32, u64, i32)], limit: usize, walkers: usize) -> Vec<(u32, i32, bool, bool)> {
        let workers = Workers::new(8);
        let mut each: Vec<Sightings> = (0..walkers).map(|_| workers.sightings(limit)).collect();
        for (i, &(scope, worker, period_flags)) in sightings.iter().enumerate() {
            each[i % walkers].add(Sighting { worker, scope, period_flags });
        }
        each.into_iter().for_each(Sightings::finish);
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
            for walkers in [1, 2, 3] {
                assert_eq!(distinct(&sightings, limit, walkers), expected, "{walkers} walkers, {limit} at a time");
            }
        }
        assert!(distinct(&[], 4, 2).is_empty());
    }

    #[test]
    fn rows_added_by_two_walkers_sum_to_the_rows_added_by_one() {
        let mut rng = SplitMix64::new(3);
        let t = Date::parse("2025-06-01").unwrap();
        let months = Months::of(t.month().plus_months(-1), t);
        let mut pick = |n: u64| rng.next_u64() % n;
        let rows: Vec<RowFacts> = (0..400)
            .map(|_| {
                let age = pick(420) as i32;
                let due = pick(3) as i64 * 400_000;
                let paid_t = pick(4) as i64 * 300_000;
                let due_date = t.add_days(-age);
                RowFacts {
                    due_date,
                    age,
                    due,
                    paid_t,
                    paid_last_on: (pick(3) > 0).then(|| due_date.add_days(pick(40) as i32)),
                    short: due > 0 && paid_t * 10 < due * 9,
                    unpaid: (due - paid_t).max(0),
                    known_event: pick(5) == 0,
                    period: due_date.month().plus_months(-1),
                    days: pick(31),
                    lump: pick(20) == 0,
                }
            })
            .collect();
        let mut one = WageAcc::default();
        let mut halves = [WageAcc::default(), WageAcc::default()];
        for (i, row) in rows.iter().enumerate() {
            one.add(row, months);
            halves[i % 2].add(row, months);
        }
        // The distinct-worker counts are set after the walk; absorbing adds them too.
        let [mut first, mut second] = halves;
        (second.workers_90, second.workers_owed_90, second.leavers_owed) = (3, 2, 1);
        (one.workers_90, one.workers_owed_90, one.leavers_owed) = (3, 2, 1);
        first.absorb(&second);
        assert!(one.late_max > 0 && one.last_short.is_some() && one.hc0 > 0 && one.hc12 > 0, "{one:?}");
        assert_eq!(format!("{first:?}"), format!("{one:?}"));
    }
}
