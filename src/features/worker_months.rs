//! The worker-month index: every payroll row joined once to its payments, so that "what was paid for this
//! worker-month as of date D" is a short scan, and payroll rows can be walked in due-date order.
//!
//! Built once per dataset and shared by every as-of date of a panel; it holds facts of all dates, and the
//! accessors take the date they are asked "as of", so point-in-time filtering stays in one place.

use crate::contract::{Date, Money};
use crate::ingest::tables::{payroll_key_fingerprint, Dataset, FastMap};

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

/// Splits rows by the top bits of their key fingerprint into `parts`, keeping the fingerprint beside each.
fn partition(rows: &[u32], fingerprint: &dyn Fn(usize) -> u64, parts: &mut [Vec<(u64, u32)>]) {
    for &r in rows {
        let fp = fingerprint(r as usize);
        parts[(fp >> 58) as usize].push((fp, r));
    }
}

impl WorkerMonths {
    /// Joins payments to payroll rows on (project, employer, worker, period).
    pub fn build(ds: &Dataset) -> WorkerMonths {
        let started = std::time::Instant::now();
        let payroll = &ds.payroll;
        let payments = &ds.payments;
        let n = payroll.len();
        // Hash join month by month: the key includes the wage month, so each month's payments only meet
        // that month's payroll rows. Memory stays at one month's hash table, and rows of a month are mostly
        // contiguous in the files, so the exact key comparison stays in cache.
        let lo = payroll.period.iter().chain(&payments.period).map(|m| m.index()).min().unwrap_or(0);
        let hi = payroll.period.iter().chain(&payments.period).map(|m| m.index()).max().unwrap_or(0);
        let months = (hi - lo + 1).max(1) as usize;
        let by_month = |periods: &[crate::contract::Month]| -> (Vec<u32>, Vec<usize>) {
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
            (rows, starts)
        };
        let (payroll_rows, payroll_starts) = by_month(&payroll.period);
        let (payment_rows, payment_starts) = by_month(&payments.period);
        let same = |r: usize, i: usize| {
            payroll.project[r] == payments.project[i]
                && payroll.employer[r] == payments.employer[i]
                && payroll.worker[r] == payments.worker[i]
        };
        let mut target: Vec<u32> = vec![u32::MAX; payments.len()];
        let mut counts = vec![0u32; n + 1];
        let mut unmatched = 0usize;
        // Within a month, rows are split again by the top bits of their fingerprint, so that each hash table
        // is small enough to stay in cache.
        const PARTS: usize = 64;
        let mut table: FastMap<u64, u32> = FastMap::default();
        let mut payroll_parts: Vec<Vec<(u64, u32)>> = vec![Vec::new(); PARTS];
        let mut payment_parts: Vec<Vec<(u64, u32)>> = vec![Vec::new(); PARTS];
        let payroll_fp = |r: usize| {
            payroll_key_fingerprint(payroll.project[r], payroll.employer[r], payroll.worker[r], payroll.period[r])
        };
        let payment_fp = |i: usize| {
            payroll_key_fingerprint(payments.project[i], payments.employer[i], payments.worker[i], payments.period[i])
        };
        for k in 0..months {
            payroll_parts.iter_mut().chain(payment_parts.iter_mut()).for_each(Vec::clear);
            partition(&payroll_rows[payroll_starts[k]..payroll_starts[k + 1]], &payroll_fp, &mut payroll_parts);
            partition(&payment_rows[payment_starts[k]..payment_starts[k + 1]], &payment_fp, &mut payment_parts);
            for (rows, pays) in payroll_parts.iter().zip(&payment_parts) {
                table.clear();
                for &(fp, r) in rows {
                    // Payroll keys are unique (ingest checks), so a repeated fingerprint is a collision: such
                    // rows are marked, and their payments are matched by an exact scan.
                    table.entry(fp).and_modify(|v| *v = u32::MAX).or_insert(r);
                }
                for &(fp, i) in pays {
                    let i = i as usize;
                    let row = match table.get(&fp) {
                        Some(&r) if r != u32::MAX => Some(r as usize).filter(|&r| same(r, i)),
                        Some(_) => rows.iter().map(|&(_, r)| r as usize).find(|&r| same(r, i)),
                        None => None,
                    };
                    match row {
                        Some(r) => {
                            counts[r + 1] += 1;
                            target[i] = r as u32;
                        }
                        None => unmatched += 1,
                    }
                }
            }
        }
        tracing::debug!(seconds = started.elapsed().as_secs_f64(), "payments matched to payroll");
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
        for r in 0..n {
            let (a, b) = (pay_offsets[r] as usize, pay_offsets[r + 1] as usize);
            if b - a > 1 {
                let mut pairs: Vec<(Date, Money)> = (a..b).map(|k| (pay_on[k], pay_amount[k])).collect();
                pairs.sort_unstable();
                for (k, (d, m)) in (a..b).zip(pairs) {
                    pay_on[k] = d;
                    pay_amount[k] = m;
                }
            }
        }
        tracing::debug!(seconds = started.elapsed().as_secs_f64(), "payments sorted");
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
        tracing::debug!(seconds = started.elapsed().as_secs_f64(), "worker-month index built");
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
