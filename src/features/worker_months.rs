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

impl WorkerMonths {
    /// Joins payments to payroll rows on (project, employer, worker, period).
    pub fn build(ds: &Dataset) -> WorkerMonths {
        let payroll = &ds.payroll;
        let n = payroll.len();
        let mut by_key: FastMap<u64, u32> = FastMap::default();
        by_key.reserve(n);
        for r in 0..n {
            let fp =
                payroll_key_fingerprint(payroll.project[r], payroll.employer[r], payroll.worker[r], payroll.period[r]);
            by_key.insert(fp, r as u32);
        }
        let payments = &ds.payments;
        let mut target: Vec<u32> = Vec::with_capacity(payments.len());
        let mut counts = vec![0u32; n + 1];
        let mut unmatched = 0usize;
        for i in 0..payments.len() {
            let fp = payroll_key_fingerprint(
                payments.project[i],
                payments.employer[i],
                payments.worker[i],
                payments.period[i],
            );
            let row = by_key.get(&fp).copied().filter(|&r| {
                let r = r as usize;
                payroll.project[r] == payments.project[i]
                    && payroll.employer[r] == payments.employer[i]
                    && payroll.worker[r] == payments.worker[i]
                    && payroll.period[r] == payments.period[i]
            });
            match row {
                Some(r) => {
                    counts[r as usize + 1] += 1;
                    target.push(r);
                }
                None => {
                    unmatched += 1;
                    target.push(u32::MAX);
                }
            }
        }
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
        let mut by_due: Vec<u32> = (0..n as u32).collect();
        by_due.sort_by_key(|&r| (payroll.due_date[r as usize], r));
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

    /// The number of payments matched to payroll row `r` (all dates).
    pub fn payments_of(&self, r: usize) -> usize {
        (self.pay_offsets[r + 1] - self.pay_offsets[r]) as usize
    }
}
