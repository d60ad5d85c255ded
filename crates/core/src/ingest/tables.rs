//! The validated dataset in memory: one struct of columns per contract table, ids interned to dense
//! indices, worker ids already pseudonymised. Everything behind ingest reads these types and never
//! re-checks what ingest has checked.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use super::pseudonym::WorkerKey;
use crate::contract::{Category, Channel, Date, EmployerKind, Money, Month, Outcome, RegionCode, Sector, Selection};

/// A hash map with a fast, seeded hasher (the keys are not attacker-chosen in bulk here).
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// A hash set with [`FastMap`]'s hasher.
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Generates a dense index type whose `Option` takes no more space than the index itself.
macro_rules! dense_index {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(NonZeroU32);

        impl $name {
            /// The index for position `i`.
            pub fn new(i: usize) -> $name {
                let raw = u32::try_from(i + 1).expect("fewer than 2^32 - 1 entities");
                $name(NonZeroU32::new(raw).expect("i + 1 is never zero"))
            }

            /// The position this index stands for.
            pub fn index(self) -> usize {
                self.0.get() as usize - 1
            }
        }
    };
}

dense_index!(
    /// An employer: a row of `employers`, or (at and past `Employers::len`) an id that other tables name
    /// but `employers` does not register.
    EmployerIx
);
dense_index!(
    /// A project: a row of `projects`, or (at and past `Projects::len`) an id only other tables name.
    ProjectIx
);
dense_index!(
    /// An owner (developer) named by `projects.owner_id`; owners need not be employers.
    OwnerIx
);

/// A 64-bit fingerprint of a payroll key (project, employer, worker, period): equal keys give equal
/// fingerprints, and different keys collide with probability about 2^-64.
pub fn payroll_key_fingerprint(
    project: Option<ProjectIx>,
    employer: EmployerIx,
    worker: WorkerKey,
    period: Month,
) -> u64 {
    key_fingerprint(project, employer, worker.value(), period)
}

/// [`payroll_key_fingerprint`] with the worker given as any 64-bit hash of its id (the same hash for every
/// row compared).
pub(crate) fn key_fingerprint(project: Option<ProjectIx>, employer: EmployerIx, worker: u64, period: Month) -> u64 {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let p = project.map_or(0, |p| p.index() as u64 + 1);
    let e = employer.index() as u64;
    mix(worker ^ mix((p << 32) | e) ^ mix(period.index() as u64 ^ 0x5851_f42d_4c95_7f2d))
}

/// Interned identifiers: position `i` holds the id of index `i`.
#[derive(Clone, Default)]
pub struct IdSet {
    names: Vec<Arc<str>>,
    map: FastMap<Arc<str>, u32>,
}

impl IdSet {
    /// The number of ids.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no ids.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The position of `id`, if interned.
    pub fn get(&self, id: &str) -> Option<usize> {
        self.map.get(id).map(|&i| i as usize)
    }

    /// The position of `id`, interning it at the end when new; the bool says whether it was new.
    pub fn intern(&mut self, id: &str) -> (usize, bool) {
        if let Some(&i) = self.map.get(id) {
            return (i as usize, false);
        }
        let i = self.names.len();
        let shared: Arc<str> = Arc::from(id);
        self.map.insert(shared.clone(), i as u32);
        self.names.push(shared);
        (i, true)
    }

    /// The id at position `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Every id, by position.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n)
    }
}

impl PartialEq for IdSet {
    fn eq(&self, other: &IdSet) -> bool {
        self.names == other.names
    }
}

impl fmt::Debug for IdSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names.iter().take(20)).finish()
    }
}

/// Many short strings in one buffer: a text column without one heap object per row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextColumn {
    text: String,
    ends: Vec<u32>,
}

impl TextColumn {
    /// Appends a value.
    pub fn push(&mut self, value: &str) {
        self.text.push_str(value);
        self.ends.push(u32::try_from(self.text.len()).expect("text column under 4 GiB"));
    }

    /// The value at row `i`.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the column is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// `employers`: row `i` is `EmployerIx::new(i)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Employers {
    pub name: TextColumn,
    pub kind: Vec<EmployerKind>,
    pub sector: Vec<Sector>,
    pub region: Vec<RegionCode>,
    pub registered_capital: Vec<Option<Money>>,
    pub founded_on: Vec<Option<Date>>,
    pub blacklisted_on: Vec<Option<Date>>,
}

impl Employers {
    /// The number of registered employers.
    pub fn len(&self) -> usize {
        self.kind.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }

    /// Whether the index is a row of `employers` rather than an id only other tables name.
    pub fn is_registered(&self, e: EmployerIx) -> bool {
        e.index() < self.len()
    }
}

/// `projects`: row `i` is `ProjectIx::new(i)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Projects {
    pub name: TextColumn,
    pub region: Vec<RegionCode>,
    pub general_contractor: Vec<EmployerIx>,
    pub owner: Vec<Option<OwnerIx>>,
    pub contract_value: Vec<Money>,
    pub start_date: Vec<Date>,
    pub planned_end_date: Vec<Date>,
    pub actual_end_date: Vec<Option<Date>>,
    pub government_funded: Vec<bool>,
    pub wage_account_opened: Vec<bool>,
    pub guarantee_deposit: Vec<Option<Money>>,
}

impl Projects {
    /// The number of registered projects.
    pub fn len(&self) -> usize {
        self.region.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }
}

/// `payroll`: what is owed, one row per worker, project and wage month.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Payroll {
    pub project: Vec<Option<ProjectIx>>,
    pub employer: Vec<EmployerIx>,
    pub worker: Vec<WorkerKey>,
    pub period: Vec<Month>,
    pub days_worked: Vec<u8>,
    pub wage_due: Vec<Money>,
    pub due_date: Vec<Date>,
}

/// Keeps the elements whose `keep` flag is set.
fn retain_flagged<T>(v: &mut Vec<T>, keep: &[bool]) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

impl Payroll {
    /// Reserves room for `n` more rows.
    pub fn reserve(&mut self, n: usize) {
        self.project.reserve(n);
        self.employer.reserve(n);
        self.worker.reserve(n);
        self.period.reserve(n);
        self.days_worked.reserve(n);
        self.wage_due.reserve(n);
        self.due_date.reserve(n);
    }

    /// Keeps the rows whose `keep` flag is set.
    pub fn retain(&mut self, keep: &[bool]) {
        retain_flagged(&mut self.project, keep);
        retain_flagged(&mut self.employer, keep);
        retain_flagged(&mut self.worker, keep);
        retain_flagged(&mut self.period, keep);
        retain_flagged(&mut self.days_worked, keep);
        retain_flagged(&mut self.wage_due, keep);
        retain_flagged(&mut self.due_date, keep);
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.employer.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.employer.is_empty()
    }
}

/// The join key's four columns of a payroll or payments table, or of some of its rows.
#[derive(Clone, Copy, Debug)]
pub struct KeyColumns<'a> {
    pub project: &'a [Option<ProjectIx>],
    pub employer: &'a [EmployerIx],
    pub worker: &'a [WorkerKey],
    pub period: &'a [Month],
}

impl<'a> KeyColumns<'a> {
    /// The key columns of payroll.
    pub fn of_payroll(t: &'a Payroll) -> KeyColumns<'a> {
        KeyColumns { project: &t.project, employer: &t.employer, worker: &t.worker, period: &t.period }
    }

    /// The key columns of payments.
    pub fn of_payments(t: &'a Payments) -> KeyColumns<'a> {
        KeyColumns { project: &t.project, employer: &t.employer, worker: &t.worker, period: &t.period }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.employer.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.employer.is_empty()
    }
}

/// `payments`: money actually paid to workers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Payments {
    pub project: Vec<Option<ProjectIx>>,
    pub employer: Vec<EmployerIx>,
    pub worker: Vec<WorkerKey>,
    pub period: Vec<Month>,
    pub amount: Vec<Money>,
    pub paid_on: Vec<Date>,
}

impl Payments {
    /// Reserves room for `n` more rows.
    pub fn reserve(&mut self, n: usize) {
        self.project.reserve(n);
        self.employer.reserve(n);
        self.worker.reserve(n);
        self.period.reserve(n);
        self.amount.reserve(n);
        self.paid_on.reserve(n);
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.employer.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.employer.is_empty()
    }
}

/// `complaints`: wage complaints and arrears clues.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Complaints {
    pub complaint_id: TextColumn,
    pub received_on: Vec<Date>,
    pub employer: Vec<Option<EmployerIx>>,
    pub project: Vec<Option<ProjectIx>>,
    pub channel: Vec<Channel>,
    pub category: Vec<Category>,
    pub workers_involved: Vec<u32>,
    pub amount_claimed: Vec<Option<Money>>,
    pub closed_on: Vec<Option<Date>>,
    pub outcome: Vec<Option<Outcome>>,
}

impl Complaints {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.received_on.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.received_on.is_empty()
    }
}

/// `progress_payments`: the owner's instalments to the general contractor (empty when the table is absent).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProgressPayments {
    pub project: Vec<ProjectIx>,
    pub scheduled_on: Vec<Date>,
    pub amount_due: Vec<Money>,
    pub paid_on: Vec<Option<Date>>,
    pub amount_paid: Vec<Option<Money>>,
}

impl ProgressPayments {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.project.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.project.is_empty()
    }
}

/// `inspections`: outcomes of labour inspections (empty when the table is absent).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inspections {
    pub inspection_id: TextColumn,
    pub employer: Vec<EmployerIx>,
    pub project: Vec<Option<ProjectIx>>,
    pub inspected_on: Vec<Date>,
    pub found_arrears: Vec<bool>,
    pub arrears_amount: Vec<Option<Money>>,
    pub workers_affected: Vec<Option<u32>>,
    /// Why the firm was inspected; none when the data do not say (v1 data have no such column).
    pub selection: Vec<Option<Selection>>,
}

impl Inspections {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.inspected_on.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.inspected_on.is_empty()
    }
}

/// A whole validated dataset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// Employer ids: registered employers first, then ids that only other tables name.
    pub employer_ids: IdSet,
    /// Project ids: registered projects first, then ids that only other tables name.
    pub project_ids: IdSet,
    /// Owner ids named by projects.
    pub owner_ids: IdSet,
    pub employers: Employers,
    pub projects: Projects,
    pub payroll: Payroll,
    pub payments: Payments,
    pub complaints: Complaints,
    pub progress_payments: ProgressPayments,
    pub inspections: Inspections,
    /// Names of divisions by code (2, 4 or 6 digits) from the optional `regions` table, in file order.
    pub regions: Vec<(crate::contract::RegionPrefix, String)>,
    /// Whether the optional tables were present at all.
    pub has_progress_payments: bool,
    pub has_inspections: bool,
}
