//! The worker-month index: every payroll row joined once to its payments, so that "what was paid for this
//! worker-month as of date D" is a short scan, and payroll rows can be walked in due-date order.
//!
//! Built once per dataset and shared by every as-of date of a panel; it holds facts of all dates, and the
//! accessors take the date they are asked "as of", so point-in-time filtering stays in one place.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::contract::{Date, Money, Month};
use crate::ingest::tables::{payroll_key_fingerprint, Dataset, EmployerIx, FastMap, Payments, ProjectIx};
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
        self.fingerprint == other.fingerprint
            && self.worker == other.worker
            && self.project == other.project
            && self.employer == other.employer
    }
}

/// Row numbers of a table grouped by wage month: month `k` (counted from the first month `lo`) holds
/// `rows[starts[k]..starts[k + 1]]`, in row order. A table already in wage-month order (as the store
/// reads it) needs no list: month `k` is the rows `starts[k]..starts[k + 1]` themselves.
struct MonthBuckets {
    rows: Option<Vec<u32>>,
    starts: Vec<usize>,
}

impl MonthBuckets {
    /// Groups rows by their wage month, `lo` being the first month and `months` the number of months.
    fn group(periods: &[Month], lo: i32, months: usize) -> MonthBuckets {
        let key = |m: &Month| (m.index() - lo) as usize;
        let starts = group_starts(periods.iter().map(key), months);
        if periods.is_sorted() {
            return MonthBuckets { rows: None, starts };
        }
        let rows = grouped(periods.iter().enumerate().map(|(i, m)| (key(m), i as u32)), &starts);
        MonthBuckets { rows: Some(rows), starts }
    }

    /// The rows of month `k`, in row order.
    fn month(&self, k: usize) -> MonthRows<'_> {
        let (a, b) = (self.starts[k], self.starts[k + 1]);
        match &self.rows {
            Some(rows) => MonthRows::Listed(rows[a..b].iter()),
            None => MonthRows::InOrder(a as u32..b as u32),
        }
    }
}

/// The rows of one month of [`MonthBuckets`].
enum MonthRows<'a> {
    Listed(std::slice::Iter<'a, u32>),
    InOrder(std::ops::Range<u32>),
}

impl Iterator for MonthRows<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match self {
            MonthRows::Listed(rows) => rows.next().copied(),
            MonthRows::InOrder(rows) => rows.next(),
        }
    }
}

/// How far past the row the previous payment paid the next payment's row is looked for, and how far
/// from the start of its employer's rows when it is not there.
const AHEAD: usize = 4;
const FROM_EMPLOYER_START: usize = 256;
/// After this many payments in a row are not a few rows on from the last, the month's payments are not in
/// its payroll's order, and the rest of them are left to the hash table.
const OUT_OF_ORDER_IN_A_ROW: usize = 64;
/// Payments left over by the in-order pass are matched against the whole month's payroll with a table of
/// their own when they are at most this share of the month's, else both sides are hashed.
const FEW_LEFT: usize = 8;

/// A matched payment and the payroll row it pays.
type Record<'a> = dyn FnMut(&Keyed, &Keyed) + 'a;

/// Matches the payments of the given months to their payroll rows: sets `target[payment]` to the payroll
/// row and counts each row's payments in `counts[row + 1]`. Returns the number of payments matching no row.
///
/// A month's payments are first walked beside its payroll rows: a bank file made from a payroll sheet
/// keeps its order, so most payments pay the row the last one paid or one a few rows on, or one near the
/// start of their employer's rows. What is left is matched through a hash table: of the left-overs when
/// they are few, else of every row split by fingerprint (the whole join, for payments in any order).
/// Payroll keys are unique (ingest checks), so every way finds the same row.
fn match_months(
    ds: &Dataset,
    months: std::ops::Range<usize>,
    payroll_months: &MonthBuckets,
    payment_months: &MonthBuckets,
    target: &[AtomicU32],
    counts: &[AtomicU32],
) -> usize {
    let (payroll, payments) = (&ds.payroll, &ds.payments);
    let payroll_key = |r: u32| Keyed::of(&payroll.project, &payroll.employer, &payroll.worker, &payroll.period, r);
    let payment_key = |r: u32| Keyed::of(&payments.project, &payments.employer, &payments.worker, &payments.period, r);
    let mut record = |pay: &Keyed, row: &Keyed| {
        // Only this thread touches this row and this payment: a plain load and store.
        let count = &counts[row.row as usize + 1];
        count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        target[pay.row as usize].store(row.row, Ordering::Relaxed);
    };
    let (mut rows, mut pays) = (Vec::new(), Vec::new());
    let mut unmatched = 0usize;
    for k in months {
        rows.clear();
        rows.extend(payroll_months.month(k).map(payroll_key));
        pays.clear();
        pays.extend(payment_months.month(k).map(payment_key));
        let left = match_in_order(&rows, &pays, &mut record);
        unmatched += if left.len() * FEW_LEFT <= pays.len() {
            match_few(&rows, left, &mut record)
        } else {
            match_by_hash(&rows, &left, &mut record)
        };
    }
    unmatched
}

/// The row of `rows[from..from + span]` with the payment's key.
fn find(rows: &[Keyed], from: usize, span: usize, pay: &Keyed) -> Option<usize> {
    let end = from.saturating_add(span).min(rows.len());
    let ahead = rows.get(from..end)?;
    ahead.iter().position(|r| r.same_key(pay)).map(|j| from + j)
}

/// Walks a month's payments beside its payroll rows (both in row order) and records those found where the
/// order puts them; returns the others.
fn match_in_order(rows: &[Keyed], pays: &[Keyed], record: &mut Record) -> Vec<Keyed> {
    let mut employer_start: FastMap<u32, u32> = FastMap::default();
    for (i, r) in rows.iter().enumerate() {
        if i == 0 || rows[i - 1].employer != r.employer {
            employer_start.entry(r.employer).or_insert(i as u32);
        }
    }
    let (mut at, mut out_of_order) = (0usize, 0usize);
    let mut left = Vec::new();
    for (n, pay) in pays.iter().enumerate() {
        let ahead = find(rows, at, AHEAD, pay);
        out_of_order = if ahead.is_some() { 0 } else { out_of_order + 1 };
        if out_of_order == OUT_OF_ORDER_IN_A_ROW {
            left.extend_from_slice(&pays[n..]);
            break;
        }
        let found = ahead.or_else(|| {
            let start = *employer_start.get(&pay.employer)? as usize;
            find(rows, start, FROM_EMPLOYER_START, pay)
        });
        match found {
            Some(i) => {
                record(pay, &rows[i]);
                at = i;
            }
            None => left.push(*pay),
        }
    }
    left
}

/// Matches a few payments against all of a month's rows through a table of the payments' fingerprints;
/// returns how many match none.
fn match_few(rows: &[Keyed], mut left: Vec<Keyed>, record: &mut Record) -> usize {
    if left.is_empty() {
        return 0;
    }
    left.sort_unstable_by_key(|p| p.fingerprint);
    let mut first: FastMap<u64, u32> = FastMap::default();
    for (i, p) in left.iter().enumerate() {
        first.entry(p.fingerprint).or_insert(i as u32);
    }
    let mut matched = 0;
    for row in rows {
        let Some(&i) = first.get(&row.fingerprint) else { continue };
        for pay in left[i as usize..].iter().take_while(|p| p.fingerprint == row.fingerprint) {
            if row.same_key(pay) {
                record(pay, row);
                matched += 1;
            }
        }
    }
    left.len() - matched
}

/// Matches payments against a month's rows by hashing both, split by the top bits of their fingerprint so
/// that each table stays in cache; returns how many match none.
fn match_by_hash(rows: &[Keyed], pays: &[Keyed], record: &mut Record) -> usize {
    const PARTS: usize = 64;
    let split = |keys: &[Keyed]| {
        let mut parts: Vec<Vec<Keyed>> = vec![Vec::new(); PARTS];
        for k in keys {
            parts[(k.fingerprint >> 58) as usize].push(*k);
        }
        parts
    };
    let (row_parts, pay_parts) = (split(rows), split(pays));
    let mut table: FastMap<u64, u32> = FastMap::default();
    let mut unmatched = 0;
    for (rows, pays) in row_parts.iter().zip(&pay_parts) {
        table.clear();
        for (at, row) in rows.iter().enumerate() {
            // A repeated fingerprint is a collision: such rows are marked, and their payments are matched
            // by an exact scan.
            table.entry(row.fingerprint).and_modify(|v| *v = u32::MAX).or_insert(at as u32);
        }
        for pay in pays {
            let row = match table.get(&pay.fingerprint) {
                Some(&at) if at != u32::MAX => Some(&rows[at as usize]).filter(|r| r.same_key(pay)),
                Some(_) => rows.iter().find(|r| r.same_key(pay)),
                None => None,
            };
            match row {
                Some(r) => record(pay, r),
                None => unmatched += 1,
            }
        }
    }
    unmatched
}

/// Payments laid out by the payroll row they pay (`target[payment]`, `u32::MAX` for none), given each
/// row's payment count in `counts[row + 1]`: the offsets, dates and amounts, each row's sorted by date.
fn lay_out_payments(payments: &Payments, target: &[u32], mut counts: Vec<u32>) -> (Vec<u32>, Vec<Date>, Vec<Money>) {
    let n = counts.len() - 1;
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
    (pay_offsets, pay_on, pay_amount)
}

/// Payroll row numbers sorted by due date, ties in row order, and the due dates in that order: a counting
/// sort (a few thousand distinct days), one pass, stable.
fn due_order(due_date: &[Date]) -> (Vec<u32>, Vec<Date>) {
    let (first_day, last_day) =
        due_date.iter().fold((i32::MAX, i32::MIN), |(a, b), d| (a.min(d.days()), b.max(d.days())));
    let days = if due_date.is_empty() { 0 } else { (last_day - first_day + 1) as usize };
    let day = |d: &Date| (d.days() - first_day) as usize;
    let starts = group_starts(due_date.iter().map(day), days);
    let by_due = grouped(due_date.iter().enumerate().map(|(r, d)| (day(d), r as u32)), &starts);
    let due_sorted = by_due.iter().map(|&r| due_date[r as usize]).collect();
    (by_due, due_sorted)
}

/// Where each of `groups` groups starts when items with these keys (each below `groups`) are laid out group
/// by group: group `k` is `starts[k]..starts[k + 1]`. The first half of a counting sort; [`grouped`] is the
/// second.
pub(crate) fn group_starts(keys: impl Iterator<Item = usize>, groups: usize) -> Vec<usize> {
    let mut starts = vec![0usize; groups + 1];
    for k in keys {
        starts[k + 1] += 1;
    }
    for k in 0..groups {
        starts[k + 1] += starts[k];
    }
    starts
}

/// The items laid out group by group at `starts` ([`group_starts`] of the same keys), each group's items
/// in the order given: a stable counting sort.
pub(crate) fn grouped<T: Copy + Default>(items: impl Iterator<Item = (usize, T)>, starts: &[usize]) -> Vec<T> {
    let mut out = vec![T::default(); starts.last().copied().unwrap_or(0)];
    let mut fill = starts.to_vec();
    for (k, item) in items {
        out[fill[k]] = item;
        fill[k] += 1;
    }
    out
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
        let counts: Vec<u32> = counts.into_iter().map(AtomicU32::into_inner).collect();
        // The payments laid out per row and the rows in due-date order do not depend on each other.
        let ((pay_offsets, pay_on, pay_amount), (by_due, due_sorted)) = std::thread::scope(|s| {
            let by_due = s.spawn(|| due_order(&payroll.due_date));
            (lay_out_payments(payments, &target, counts), by_due.join().expect("ordering by due date does not panic"))
        });
        WorkerMonths { by_due, due_sorted, pay_offsets, pay_on, pay_amount, unmatched_payments: unmatched }
    }

    /// Payroll rows whose due date lies in `(from, to]`, in due-date order.
    pub fn due_between(&self, from: Date, to: Date) -> &[u32] {
        let lo = self.due_sorted.partition_point(|d| *d <= from);
        let hi = self.due_sorted.partition_point(|d| *d <= to);
        &self.by_due[lo..hi.max(lo)]
    }

    /// The same rows as [`Self::due_between`] in row order, given the payroll's due dates: for sums,
    /// maxima and counts, which do not depend on the order, this reads the payroll's columns and the
    /// payments front to back instead of jumping to another row's cache lines at every step.
    pub fn due_between_in_row_order<'a>(
        &'a self,
        due_date: &'a [Date],
        from: Date,
        to: Date,
    ) -> impl Iterator<Item = usize> + 'a {
        let window = self.due_between(from, to);
        let (lo, hi) = window.iter().fold((u32::MAX, 0), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let rows = if window.is_empty() { 0..0 } else { lo as usize..hi as usize + 1 };
        rows.filter(move |&r| from < due_date[r] && due_date[r] <= to)
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
