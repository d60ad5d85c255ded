//! The worker-month index: every payroll row joined once to its payments, so that "what was paid for this
//! worker-month as of date D" is a short scan, and payroll rows can be walked in due-date order.
//!
//! Built once per dataset and shared by every as-of date of a panel; it holds facts of all dates, and the
//! accessors take the date they are asked "as of", so point-in-time filtering stays in one place.

use crate::contract::{Date, Money};
use crate::ingest::tables::{payroll_key_fingerprint, Dataset};

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

/// A second fingerprint of a payroll key, independent of `payroll_key_fingerprint`.
fn second_fingerprint(project: Option<usize>, employer: usize, worker: u64, period: i32) -> u64 {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        z ^ (z >> 33)
    };
    let p = project.map_or(0, |p| p as u64 + 1);
    mix(mix(worker.rotate_left(17) ^ 0x2545_f491_4f6c_dd1d)
        ^ mix((p << 32) ^ employer as u64 ^ ((period as u64) << 48)))
}

/// Sorts by a 64-bit key: least-significant-digit radix sort, 16 bits a pass (stable).
fn radix_sort_by<T: Copy + Default>(v: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    let mut buf = vec![T::default(); v.len()];
    for pass in 0..4 {
        let shift = pass * 16;
        let mut counts = vec![0usize; 1 << 16];
        for x in v.iter() {
            counts[((key(x) >> shift) & 0xffff) as usize] += 1;
        }
        let mut sum = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        for x in v.iter() {
            let d = ((key(x) >> shift) & 0xffff) as usize;
            buf[counts[d]] = *x;
            counts[d] += 1;
        }
        std::mem::swap(v, &mut buf);
    }
}

impl WorkerMonths {
    /// Joins payments to payroll rows on (project, employer, worker, period).
    pub fn build(ds: &Dataset) -> WorkerMonths {
        let started = std::time::Instant::now();
        let payroll = &ds.payroll;
        let payments = &ds.payments;
        let n = payroll.len();
        // Sort-merge join on 128-bit key fingerprints (two independent 64-bit ones), both sides radix-sorted
        // side by side. Comparing fingerprints instead of keys avoids a random access per payment; two
        // different keys agree on 128 bits with probability about 2^-128.
        let payroll_fp = |r: usize| {
            let (p, e, w, m) = (payroll.project[r], payroll.employer[r], payroll.worker[r], payroll.period[r]);
            (
                payroll_key_fingerprint(p, e, w, m),
                second_fingerprint(p.map(|p| p.index()), e.index(), w.value(), m.index()),
            )
        };
        let payment_fp = |i: usize| {
            let (p, e, w, m) = (payments.project[i], payments.employer[i], payments.worker[i], payments.period[i]);
            (
                payroll_key_fingerprint(p, e, w, m),
                second_fingerprint(p.map(|p| p.index()), e.index(), w.value(), m.index()),
            )
        };
        let sorted = |len: usize, fp: &(dyn Fn(usize) -> (u64, u64) + Sync)| {
            let mut keys: Vec<(u64, u64, u32)> = (0..len)
                .map(|i| {
                    let (a, b) = fp(i);
                    (a, b, i as u32)
                })
                .collect();
            radix_sort_by(&mut keys, |k| k.0);
            keys
        };
        let (by_key, pay_keys) = std::thread::scope(|s| {
            let other = s.spawn(|| sorted(payments.len(), &payment_fp));
            (sorted(n, &payroll_fp), other.join().expect("sorting does not panic"))
        });
        let mut target: Vec<u32> = vec![u32::MAX; payments.len()];
        let mut counts = vec![0u32; n + 1];
        let mut unmatched = 0usize;
        let mut a = 0usize;
        for &(fp, fp2, i) in &pay_keys {
            while a < by_key.len() && by_key[a].0 < fp {
                a += 1;
            }
            let row = by_key[a..].iter().take_while(|k| k.0 == fp).find(|k| k.1 == fp2);
            match row {
                Some(&(_, _, r)) => {
                    counts[r as usize + 1] += 1;
                    target[i as usize] = r;
                }
                None => unmatched += 1,
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
        let mut due_keys: Vec<(u64, u32)> = (0..n)
            .map(|r| ((((i64::from(payroll.due_date[r].days()) + (1 << 31)) as u64) << 32) | r as u64, r as u32))
            .collect();
        radix_sort_by(&mut due_keys, |k| k.0);
        let by_due: Vec<u32> = due_keys.into_iter().map(|(_, r)| r).collect();
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

    /// The number of payments matched to payroll row `r` (all dates).
    pub fn payments_of(&self, r: usize) -> usize {
        (self.pay_offsets[r + 1] - self.pay_offsets[r]) as usize
    }
}
