//! The worker-month index: every payroll row joined once to its payments, so that "what was paid for this
//! worker-month as of date D" is a short scan, and payroll rows can be walked in due-date order.
//!
//! Built once per dataset and shared by every as-of date of a panel; it holds facts of all dates, and the
//! accessors take the date they are asked "as of", so point-in-time filtering stays in one place.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::contract::{Date, Money, Month};
use crate::ingest::tables::{payroll_key_fingerprint, Dataset, EmployerIx, FastMap, ProjectIx};
use crate::ingest::WorkerKey;

/// Payroll rows with their payments, ordered for point-in-time scans.
#[derive(Debug, Clone)]
pub struct WorkerMonths {
    /// Payroll row numbers sorted by due date (ties by row number).
    by_due: Vec<u32>,
    /// The due dates in `by_due` order, for binary search.
    due_sorted: Vec<Date>,
    /// Payments of payroll row `r` are `pay_offsets[r]..pay_offsets[r + 1]`, sorted by date.
    pay_offsets: Vec<u32>,
    pay_on: Vec<Date>,
    pay_amount: Vec<Money>,
    /// Payments that match no payroll row (another employer's worker, a period never put on the books).
    pub unmatched_payments: usize,
}

/// What was paid for one worker-month as known on a date.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PaidAsOf {
    /// Paid on or before the as-of date.
    pub paid: Money,
    /// Paid on or before the earlier of the as-of date and due date + 30 days.
    pub paid_within_30_days: Money,
    /// The date of the last payment on or before the as-of date.
    pub last_paid_on: Option<Date>,
}

/// A payroll or payment row with its join key, gathered while the rows are read in file order, so that
/// matching compares keys held side by side instead of reaching back into the tables at random.
#[derive(Clone, Copy)]
struct Keyed {
    fingerprint: u64,
    worker: u64,
    /// Project index + 1, 0 for none.
    project: u32,
    employer: u32,
    row: u32,
}

impl Keyed {
    /// Row `r` of a table with the join key's four columns.
    fn of(
        project: &[Option<ProjectIx>],
        employer: &[EmployerIx],
        worker: &[WorkerKey],
        period: &[Month],
        r: u32,
    ) -> Keyed {
        let i = r as usize;
        let (project, employer, worker) = (project[i], employer[i], worker[i]);
        Keyed {
            fingerprint: payroll_key_fingerprint(project, employer, worker, period[i]),
            worker: worker.value(),
            project: project.map_or(0, |p| p.index() as u32 + 1),
            employer: employer.index() as u32,
            row: r,
        }
    }

    fn same_key(&self, other: &Keyed) -> bool {
        self.worker == other.worker && self.project == other.project && self.employer == other.employer
    }
}

/// Splits rows by the top bits of their key fingerprint into `parts`.
fn partition(rows: &[u32], key: &dyn Fn(u32) -> Keyed, parts: &mut [Vec<Keyed>]) {
    for &r in rows {
        let k = key(r);
        parts[(k.fingerprint >> 58) as usize].push(k);
    }
}

/// Row numbers of a table grouped by wage month: month `k` (counted from the first month `lo`) holds
/// `rows[starts[k]..starts[k + 1]]`, in row order.
struct MonthBuckets {
    rows: Vec<u32>,
    starts: Vec<usize>,
}

impl MonthBuckets {
    /// Groups rows by their wage month, `lo` being the first month and `months` the number of months.
    fn group(periods: &[Month], lo: i32, months: usize) -> MonthBuckets {
        let mut starts = vec![0usize; months + 1];
        for m in periods {
            starts[(m.index() - lo) as usize + 1] += 1;
        }
        for k in 0..months {
            starts[k + 1] += starts[k];
        }
        let mut fill = starts.clone();
        let mut rows = vec![0u32; periods.len()];
        for (i, m) in periods.iter().enumerate() {
            let k = (m.index() - lo) as usize;
            rows[fill[k]] = i as u32;
            fill[k] += 1;
        }
        MonthBuckets { rows, starts }
    }

    fn month(&self, k: usize) -> &[u32] {
        &self.rows[self.starts[k]..self.starts[k + 1]]
    }
}

/// Matches the payments of the given months to their payroll rows: sets `target[payment]` to the payroll
/// row and counts each row's payments in `counts[row + 1]`. Returns the number of payments matching no row.
fn match_months(
    ds: &Dataset,
    months: std::ops::Range<usize>,
    payroll_months: &MonthBuckets,
    payment_months: &MonthBuckets,
    target: &[AtomicU32],
    counts: &[AtomicU32],
) -> usize {
    let (payroll, payments) = (&ds.payroll, &ds.payments);
    let mut unmatched = 0usize;
    // Within a month, rows are split again by the top bits of their fingerprint, so that each hash table
    // is small enough to stay in cache.
    const PARTS: usize = 64;
    let mut table: FastMap<u64, u32> = FastMap::default();
    let mut payroll_parts: Vec<Vec<Keyed>> = vec![Vec::new(); PARTS];
    let mut payment_parts: Vec<Vec<Keyed>> = vec![Vec::new(); PARTS];
    let payroll_key = |r: u32| Keyed::of(&payroll.project, &payroll.employer, &payroll.worker, &payroll.period, r);
    let payment_key = |r: u32| Keyed::of(&payments.project, &payments.employer, &payments.worker, &payments.period, r);
    for k in months {
        payroll_parts.iter_mut().chain(payment_parts.iter_mut()).for_each(Vec::clear);
        partition(payroll_months.month(k), &payroll_key, &mut payroll_parts);
        partition(payment_months.month(k), &payment_key, &mut payment_parts);
        for (rows, pays) in payroll_parts.iter().zip(&payment_parts) {
            table.clear();
            for (at, row) in rows.iter().enumerate() {
                // Payroll keys are unique (ingest checks), so a repeated fingerprint is a collision: such
                // rows are marked, and their payments are matched by an exact scan.
                table.entry(row.fingerprint).and_modify(|v| *v = u32::MAX).or_insert(at as u32);
            }
            for pay in pays {
                let row = match table.get(&pay.fingerprint) {
                    Some(&at) if at != u32::MAX => Some(&rows[at as usize]).filter(|r| r.same_key(pay)),
                    Some(_) => rows.iter().find(|r| r.fingerprint == pay.fingerprint && r.same_key(pay)),
                    None => None,
                };
                match row {
                    Some(r) => {
                        // Only this thread touches this row and this payment: a plain load and store.
                        let count = &counts[r.row as usize + 1];
                        count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                        target[pay.row as usize].store(r.row, Ordering::Relaxed);
                    }
                    None => unmatched += 1,
                }
            }
        }
    }
    unmatched
}

impl WorkerMonths {
    /// Joins payments to payroll rows on (project, employer, worker, period).
    pub fn build(ds: &Dataset) -> WorkerMonths {
        let payroll = &ds.payroll;
        let payments = &ds.payments;
        let n = payroll.len();
        // Hash join month by month: the key includes the wage month, so each month's payments only meet
        // that month's payroll rows. Memory stays at one month's hash tables (one per thread), and the keys
        // are gathered while a month's rows are read in file order, so matching never reaches back into
        // the tables at random.
        let lo = payroll.period.iter().chain(&payments.period).map(|m| m.index()).min().unwrap_or(0);
        let hi = payroll.period.iter().chain(&payments.period).map(|m| m.index()).max().unwrap_or(0);
        let months = (hi - lo + 1).max(1) as usize;
        let payroll_months = MonthBuckets::group(&payroll.period, lo, months);
        let payment_months = MonthBuckets::group(&payments.period, lo, months);
        // Each payroll row belongs to one month, so two threads taking the earlier and later months never
        // touch the same row's count or the same payment's target.
        let target: Vec<AtomicU32> = (0..payments.len()).map(|_| AtomicU32::new(u32::MAX)).collect();
        let counts: Vec<AtomicU32> = (0..n + 1).map(|_| AtomicU32::new(0)).collect();
        let middle = payroll_months.starts.partition_point(|&s| s < n / 2).min(months);
        let join =
            |range: std::ops::Range<usize>| match_months(ds, range, &payroll_months, &payment_months, &target, &counts);
        let unmatched = std::thread::scope(|s| {
            let later = s.spawn(|| join(middle..months));
            join(0..middle) + later.join().expect("matching does not panic")
        });
        let target: Vec<u32> = target.into_iter().map(AtomicU32::into_inner).collect();
        let mut counts: Vec<u32> = counts.into_iter().map(AtomicU32::into_inner).collect();
        for r in 0..n {
            counts[r + 1] += counts[r];
        }
        let pay_offsets = counts;
        let total = pay_offsets[n] as usize;
        let mut fill = pay_offsets.clone();
        let mut pay_on = vec![Date::from_days(0); total];
        let mut pay_amount = vec![Money::ZERO; total];
        for (i, &r) in target.iter().enumerate() {
            if r != u32::MAX {
                let at = fill[r as usize] as usize;
                pay_on[at] = payments.paid_on[i];
                pay_amount[at] = payments.amount[i];
                fill[r as usize] += 1;
            }
        }
        let mut pairs: Vec<(Date, Money)> = Vec::new();
        for r in 0..n {
            let (a, b) = (pay_offsets[r] as usize, pay_offsets[r + 1] as usize);
            // Payments mostly arrive in date order already; only the others are sorted.
            if b - a > 1 && pay_on[a..b].windows(2).any(|w| w[0] > w[1]) {
                pairs.clear();
                pairs.extend((a..b).map(|k| (pay_on[k], pay_amount[k])));
                pairs.sort_unstable();
                for (k, &(d, m)) in (a..b).zip(&pairs) {
                    pay_on[k] = d;
                    pay_amount[k] = m;
                }
            }
        }
        // Counting sort by due date (a few thousand distinct days): one pass, stable, so ties keep row order.
        let (first_day, last_day) =
            payroll.due_date.iter().fold((i32::MAX, i32::MIN), |(a, b), d| (a.min(d.days()), b.max(d.days())));
        let days = if n == 0 { 0 } else { (last_day - first_day + 1) as usize };
        let mut day_starts = vec![0usize; days + 1];
        for d in &payroll.due_date {
            day_starts[(d.days() - first_day) as usize + 1] += 1;
        }
        for k in 0..days {
            day_starts[k + 1] += day_starts[k];
        }
        let mut by_due = vec![0u32; n];
        for (r, d) in payroll.due_date.iter().enumerate() {
            let k = (d.days() - first_day) as usize;
            by_due[day_starts[k]] = r as u32;
            day_starts[k] += 1;
        }
        let due_sorted = by_due.iter().map(|&r| payroll.due_date[r as usize]).collect();
        WorkerMonths { by_due, due_sorted, pay_offsets, pay_on, pay_amount, unmatched_payments: unmatched }
    }

    /// Payroll rows whose due date lies in `(from, to]`, in due-date order.
    pub fn due_between(&self, from: Date, to: Date) -> &[u32] {
        let lo = self.due_sorted.partition_point(|d| *d <= from);
        let hi = self.due_sorted.partition_point(|d| *d <= to);
        &self.by_due[lo..hi.max(lo)]
    }

    /// What was paid for payroll row `r` as known on `as_of`, given its due date.
    pub fn paid_as_of(&self, r: usize, due_date: Date, as_of: Date) -> PaidAsOf {
        let (a, b) = (self.pay_offsets[r] as usize, self.pay_offsets[r + 1] as usize);
        let cutoff_30 = due_date.add_days(30).min(as_of);
        let mut out = PaidAsOf::default();
        for k in a..b {
            let on = self.pay_on[k];
            if on > as_of {
                break;
            }
            out.paid = Money::from_fen(out.paid.fen() + self.pay_amount[k].fen());
            if on <= cutoff_30 {
                out.paid_within_30_days = Money::from_fen(out.paid_within_30_days.fen() + self.pay_amount[k].fen());
            }
            out.last_paid_on = Some(on);
        }
        out
    }
}
