//! The worker-month index: every payroll row joined once to its payments, so that "what was paid for this
//! worker-month as of date D" is a short scan, and payroll rows can be walked in due-date order.
//!
//! Built once per dataset and shared by every as-of date of a panel; it holds facts of all dates, and the
//! accessors take the date they are asked "as of", so point-in-time filtering stays in one place.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::contract::{Date, Money, Month};

use crate::ingest::tables::{payroll_key_fingerprint, Dataset, FastMap, KeyColumns, Payments};

/// Payroll rows with their payments, ordered for point-in-time scans.
#[derive(Debug, Clone)]
pub struct WorkerMonths {
    /// Where the rows due on each day lie.
    due: DueDays,
    /// Payroll row numbers sorted by due date (ties by row number), and where each day's rows start in
    /// them (the rows due on day `first_day + k` are `by_due[starts[k]..starts[k + 1]]`): sorted when
    /// first asked for (labels walk rows in due-date order; features do not).
    by_due: OnceLock<(Vec<u32>, Vec<usize>)>,
    /// Payments of payroll row `r` are `pay_offsets[r]..pay_offsets[r + 1]`, sorted by date.
    pay_offsets: Vec<u32>,
    pay_on: Vec<Date>,
    pay_amount: Amounts,
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
    /// Row `r` of a table's key columns.
    fn of(keys: &KeyColumns, r: u32) -> Keyed {
        let i = r as usize;
        let (project, employer, worker) = (keys.project[i], keys.employer[i], keys.worker[i]);
        Keyed {
            fingerprint: payroll_key_fingerprint(project, employer, worker, keys.period[i]),
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

    /// The rows of month `k` of the table with these key columns, in row order.
    fn month<'a>(&'a self, keys: KeyColumns<'a>, k: usize) -> MonthSide<'a> {
        let (a, b) = (self.starts[k], self.starts[k + 1]);
        match &self.rows {
            Some(rows) => MonthSide { keys, listed: Some(&rows[a..b]), first: 0, len: b - a },
            None => MonthSide { keys, listed: None, first: a as u32, len: b - a },
        }
    }
}

/// One wage month's rows of a table, in row order: position `i` is the table's row [`MonthSide::row`], and
/// keys are read from the columns when compared, so that no copy of the month's keys is made.
#[derive(Clone, Copy)]
struct MonthSide<'a> {
    keys: KeyColumns<'a>,
    /// The rows, when they are not `first..first + len`.
    listed: Option<&'a [u32]>,
    first: u32,
    len: usize,
}

impl<'a> MonthSide<'a> {
    /// Every row of `keys`.
    fn all(keys: KeyColumns<'a>) -> MonthSide<'a> {
        MonthSide { keys, listed: None, first: 0, len: keys.len() }
    }

    /// The table row at position `i`.
    fn row(&self, i: usize) -> u32 {
        match self.listed {
            Some(rows) => rows[i],
            None => self.first + i as u32,
        }
    }

    fn employer(&self, i: usize) -> u32 {
        self.keys.employer[self.row(i) as usize].index() as u32
    }

    fn keyed(&self, i: usize) -> Keyed {
        Keyed::of(&self.keys, self.row(i))
    }

    /// Whether row `i` here and row `j` of `other` have the same key.
    fn same_key(&self, i: usize, other: &MonthSide, j: usize) -> bool {
        let (a, b) = (self.row(i) as usize, other.row(j) as usize);
        let (x, y) = (&self.keys, &other.keys);
        x.worker[a] == y.worker[b]
            && x.employer[a] == y.employer[b]
            && x.project[a] == y.project[b]
            && x.period[a] == y.period[b]
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

/// A matched payment and the payroll row it pays (their table rows).
type Record<'a> = dyn FnMut(u32, u32) + 'a;

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
    let (payroll, payments) = (KeyColumns::of_payroll(&ds.payroll), KeyColumns::of_payments(&ds.payments));
    let mut record = |pay: u32, row: u32| {
        // Only this thread touches this row and this payment: a plain load and store.
        let count = &counts[row as usize + 1];
        count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        target[pay as usize].store(row, Ordering::Relaxed);
    };
    months.map(|k| match_month(payroll_months.month(payroll, k), payment_months.month(payments, k), &mut record)).sum()
}

/// Matches one wage month's payments to its payroll rows; returns how many match none.
fn match_month(rows: MonthSide, pays: MonthSide, record: &mut Record) -> usize {
    let left = match_in_order(&rows, &pays, record);
    if left.len() * FEW_LEFT <= pays.len {
        match_few(&rows, left, record)
    } else {
        match_by_hash(&rows, &left, record)
    }
}

/// The position of the row of `rows[from..from + span]` with the key of `pays`' row `j`.
fn find(rows: &MonthSide, from: usize, span: usize, pays: &MonthSide, j: usize) -> Option<usize> {
    let end = from.saturating_add(span).min(rows.len);
    (from..end).find(|&i| rows.same_key(i, pays, j))
}

/// Walks a month's payments beside its payroll rows (both in row order) and records those found where the
/// order puts them; returns the others.
fn match_in_order(rows: &MonthSide, pays: &MonthSide, record: &mut Record) -> Vec<Keyed> {
    let mut employer_start: FastMap<u32, u32> = FastMap::default();
    for i in 0..rows.len {
        if i == 0 || rows.employer(i - 1) != rows.employer(i) {
            employer_start.entry(rows.employer(i)).or_insert(i as u32);
        }
    }
    let (mut at, mut out_of_order) = (0usize, 0usize);
    let mut left = Vec::new();
    for n in 0..pays.len {
        let ahead = find(rows, at, AHEAD, pays, n);
        out_of_order = if ahead.is_some() { 0 } else { out_of_order + 1 };
        if out_of_order == OUT_OF_ORDER_IN_A_ROW {
            left.extend((n..pays.len).map(|j| pays.keyed(j)));
            break;
        }
        let found = ahead.or_else(|| {
            let start = *employer_start.get(&pays.employer(n))? as usize;
            find(rows, start, FROM_EMPLOYER_START, pays, n)
        });
        match found {
            Some(i) => {
                record(pays.row(n), rows.row(i));
                at = i;
            }
            None => left.push(pays.keyed(n)),
        }
    }
    left
}

/// Matches a few payments against all of a month's rows through a table of the payments' fingerprints;
/// returns how many match none.
fn match_few(rows: &MonthSide, mut left: Vec<Keyed>, record: &mut Record) -> usize {
    if left.is_empty() {
        return 0;
    }
    left.sort_unstable_by_key(|p| p.fingerprint);
    let mut first: FastMap<u64, u32> = FastMap::default();
    for (i, p) in left.iter().enumerate() {
        first.entry(p.fingerprint).or_insert(i as u32);
    }
    let mut matched = 0;
    for i in 0..rows.len {
        let row = rows.keyed(i);
        let Some(&i) = first.get(&row.fingerprint) else { continue };
        for pay in left[i as usize..].iter().take_while(|p| p.fingerprint == row.fingerprint) {
            if row.same_key(pay) {
                record(pay.row, row.row);
                matched += 1;
            }
        }
    }
    left.len() - matched
}

/// Matches payments against a month's rows by hashing both, split by the top bits of their fingerprint so
/// that each table stays in cache; returns how many match none.
fn match_by_hash(rows: &MonthSide, pays: &[Keyed], record: &mut Record) -> usize {
    const PARTS: usize = 64;
    let rows: Vec<Keyed> = (0..rows.len).map(|i| rows.keyed(i)).collect();
    let split = |keys: &[Keyed]| {
        let mut parts: Vec<Vec<Keyed>> = vec![Vec::new(); PARTS];
        for k in keys {
            parts[(k.fingerprint >> 58) as usize].push(*k);
        }
        parts
    };
    let (row_parts, pay_parts) = (split(&rows), split(pays));
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
                Some(r) => record(pay.row, r.row),
                None => unmatched += 1,
            }
        }
    }
    unmatched
}

/// Payment amounts in 4 bytes each: an amount under `u32::MAX` fen (about 42.9 million yuan) as itself, a
/// larger one as `u32::MAX` with the amount in a side table (a payment that large is rare).
#[derive(Clone, Debug, Default)]
struct Amounts {
    fen: Vec<u32>,
    large: FastMap<u32, i64>,
}

impl Amounts {
    fn with_capacity(n: usize) -> Amounts {
        Amounts { fen: Vec::with_capacity(n), large: FastMap::default() }
    }

    fn zeros(n: usize) -> Amounts {
        Amounts { fen: vec![0; n], large: FastMap::default() }
    }

    fn get(&self, k: usize) -> Money {
        match self.fen[k] {
            u32::MAX => Money::from_fen(self.large[&(k as u32)]),
            fen => Money::from_fen(i64::from(fen)),
        }
    }

    fn set(&mut self, k: usize, m: Money) {
        match u32::try_from(m.fen()) {
            Ok(fen) if fen != u32::MAX => {
                self.fen[k] = fen;
                if !self.large.is_empty() {
                    self.large.remove(&(k as u32));
                }
            }
            _ => {
                self.fen[k] = u32::MAX;
                self.large.insert(k as u32, m.fen());
            }
        }
    }

    /// Appends `other`'s amounts after these.
    fn append(&mut self, other: &Amounts) {
        let base = self.fen.len() as u32;
        self.fen.extend_from_slice(&other.fen);
        self.large.extend(other.large.iter().map(|(&k, &m)| (base + k, m)));
    }
}

/// Payments laid out by the payroll row they pay: row `r`'s are `pay_offsets[r]..pay_offsets[r + 1]` of
/// the dates and amounts, each row's sorted by date; and how many payments matched no row.
#[derive(Debug)]
struct LaidOut {
    pay_offsets: Vec<u32>,
    pay_on: Vec<Date>,
    pay_amount: Amounts,
    unmatched: usize,
}

/// A [`WorkerMonths`] built one wage month at a time, for payroll and payments read month by month (a
/// store's parts): each month's payments are matched to its payroll rows and laid out at once, so that
/// only their dates and amounts are kept, never the whole payments table. The same matching as
/// [`WorkerMonths::build`], which also goes month by month, so the index is the same.
#[derive(Debug)]
pub struct MonthByMonth {
    paid: LaidOut,
}

impl MonthByMonth {
    /// Room for `payroll_rows` rows and up to `payments` payments in all.
    pub fn with_capacity(payroll_rows: usize, payments: usize) -> MonthByMonth {
        let mut pay_offsets = Vec::with_capacity(payroll_rows + 1);
        pay_offsets.push(0);
        let (pay_on, pay_amount) = (Vec::with_capacity(payments), Amounts::with_capacity(payments));
        MonthByMonth { paid: LaidOut { pay_offsets, pay_on, pay_amount, unmatched: 0 } }
    }

    /// Adds the next wage month: `rows` are its payroll rows, which follow those of the months added
    /// before, and `payments` its payments.
    pub fn add_month(&mut self, rows: KeyColumns<'_>, payments: &Payments) {
        let n = rows.len();
        let mut target = vec![u32::MAX; payments.len()];
        let mut counts = vec![0u32; n + 1];
        let mut record = |pay: u32, row: u32| {
            counts[row as usize + 1] += 1;
            target[pay as usize] = row;
        };
        let (rows, pays) = (MonthSide::all(rows), MonthSide::all(KeyColumns::of_payments(payments)));
        self.paid.unmatched += match_month(rows, pays, &mut record);
        let (offsets, on, amount) = lay_out_payments(payments, &target, counts);
        let paid = &mut self.paid;
        let base = *paid.pay_offsets.last().expect("the offsets start with 0");
        paid.pay_offsets.extend(offsets[1..].iter().map(|o| base + o));
        paid.pay_on.extend_from_slice(&on);
        paid.pay_amount.append(&amount);
    }

    /// The index, given where the payroll's due days lie.
    pub fn finish(self, due: DueDays) -> WorkerMonths {
        WorkerMonths::of(self.paid, due)
    }
}

/// Payments laid out by the payroll row they pay (`target[payment]`, `u32::MAX` for none), given each
/// row's payment count in `counts[row + 1]`: the offsets, dates and amounts, each row's sorted by date.
fn lay_out_payments(payments: &Payments, target: &[u32], mut counts: Vec<u32>) -> (Vec<u32>, Vec<Date>, Amounts) {
    let n = counts.len() - 1;
    for r in 0..n {
        counts[r + 1] += counts[r];
    }
    let pay_offsets = counts;
    let total = pay_offsets[n] as usize;
    let mut fill = pay_offsets.clone();
    let mut pay_on = vec![Date::from_days(0); total];
    let mut pay_amount = Amounts::zeros(total);
    for (i, &r) in target.iter().enumerate() {
        if r != u32::MAX {
            let at = fill[r as usize] as usize;
            pay_on[at] = payments.paid_on[i];
            pay_amount.set(at, payments.amount[i]);
            fill[r as usize] += 1;
        }
    }
    let mut pairs: Vec<(Date, Money)> = Vec::new();
    for r in 0..n {
        let (a, b) = (pay_offsets[r] as usize, pay_offsets[r + 1] as usize);
        // Payments mostly arrive in date order already; only the others are sorted.
        if b - a > 1 && pay_on[a..b].windows(2).any(|w| w[0] > w[1]) {
            pairs.clear();
            pairs.extend((a..b).map(|k| (pay_on[k], pay_amount.get(k))));
            pairs.sort_unstable();
            for (k, &(d, m)) in (a..b).zip(&pairs) {
                pay_on[k] = d;
                pay_amount.set(k, m);
            }
        }
    }
    (pay_offsets, pay_on, pay_amount)
}

/// Where payroll rows due on each day lie: the first and the last row due that day.
#[derive(Clone, Debug)]
pub struct DueDays {
    first_day: i32,
    /// By day from `first_day`: the first and last row due that day, `(u32::MAX, 0)` when none is.
    day_rows: Vec<(u32, u32)>,
}

impl DueDays {
    /// The rows of each due day, given the due dates as the columns of consecutive runs of rows (the
    /// whole column, or one wage month's rows after another).
    pub fn of(due_dates: &[&[Date]]) -> DueDays {
        let dates = || due_dates.iter().flat_map(|c| c.iter());
        let (first_day, last_day) = dates().fold((i32::MAX, i32::MIN), |(a, b), d| (a.min(d.days()), b.max(d.days())));
        if first_day > last_day {
            return DueDays { first_day: 0, day_rows: Vec::new() };
        }
        let mut day_rows = vec![(u32::MAX, 0); (last_day - first_day + 1) as usize];
        for (r, d) in dates().enumerate() {
            let rows = &mut day_rows[(d.days() - first_day) as usize];
            *rows = (rows.0.min(r as u32), rows.1.max(r as u32));
        }
        DueDays { first_day, day_rows }
    }

    /// The days (as indices from `first_day`) of due dates in `(from, to]`.
    fn days_between(&self, from: Date, to: Date) -> std::ops::Range<usize> {
        let day = |d: Date| (i64::from(d.days()) - i64::from(self.first_day) + 1).clamp(0, self.day_rows.len() as i64);
        let (lo, hi) = (day(from) as usize, day(to) as usize);
        lo..hi.max(lo)
    }
}

/// Payroll row numbers sorted by due date, ties in row order, and where each day's rows start in them: a
/// counting sort (a few thousand distinct days), one pass, stable.
fn due_sorted(due_date: &[Date], first_day: i32, days: usize) -> (Vec<u32>, Vec<usize>) {
    let day = |d: &Date| (d.days() - first_day) as usize;
    let starts = group_starts(due_date.iter().map(day), days);
    let by_due = grouped(due_date.iter().enumerate().map(|(r, d)| (day(d), r as u32)), &starts);
    (by_due, starts)
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
        let ((pay_offsets, pay_on, pay_amount), due) = std::thread::scope(|s| {
            let due = s.spawn(|| DueDays::of(&[&payroll.due_date]));
            (lay_out_payments(payments, &target, counts), due.join().expect("noting the due days does not panic"))
        });
        let paid = LaidOut { pay_offsets, pay_on, pay_amount, unmatched };
        WorkerMonths::of(paid, due)
    }

    fn of(paid: LaidOut, due: DueDays) -> WorkerMonths {
        WorkerMonths {
            due,
            by_due: OnceLock::new(),
            pay_offsets: paid.pay_offsets,
            pay_on: paid.pay_on,
            pay_amount: paid.pay_amount,
            unmatched_payments: paid.unmatched,
        }
    }

    /// Payroll rows whose due date lies in `(from, to]`, in due-date order, given the payroll's due dates.
    pub fn due_between(&self, due_date: &[Date], from: Date, to: Date) -> &[u32] {
        let (by_due, starts) =
            self.by_due.get_or_init(|| due_sorted(due_date, self.due.first_day, self.due.day_rows.len()));
        let days = self.due.days_between(from, to);
        &by_due[starts[days.start]..starts[days.end]]
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
        self.rows_spanning_due_between(from, to).filter(move |&r| from < due_date[r] && due_date[r] <= to)
    }

    /// The rows from the first to the last that fall due in `(from, to]`, in row order; rows between them
    /// may fall due outside it.
    pub fn rows_spanning_due_between(&self, from: Date, to: Date) -> std::ops::Range<usize> {
        let days = &self.due.day_rows[self.due.days_between(from, to)];
        let (lo, hi) = days.iter().fold((u32::MAX, 0), |(lo, hi), &(a, b)| (lo.min(a), hi.max(b)));
        if lo > hi {
            0..0
        } else {
            lo as usize..hi as usize + 1
        }
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
            let amount = self.pay_amount.get(k).fen();
            out.paid = Money::from_fen(out.paid.fen() + amount);
            if on <= cutoff_30 {
                out.paid_within_30_days = Money::from_fen(out.paid_within_30_days.fen() + amount);
            }
            out.last_paid_on = Some(on);
        }
        out
    }
}
