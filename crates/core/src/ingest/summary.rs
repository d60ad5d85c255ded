//! A summary a person can read of a validated dataset: rows, date ranges, entities, and (given an as-of
//! date) how many facts lie after it.

use std::collections::BTreeMap;
use std::fmt;

use super::tables::Dataset;
use crate::contract::{Category, Date, Money, Month};
use crate::worker_months::WorkerMonths;

/// Facts about a dataset, computed once for printing.
#[derive(Clone, Debug)]
pub struct DatasetSummary {
    pub as_of: Option<Date>,
    pub employers: usize,
    pub employers_by_kind: BTreeMap<&'static str, usize>,
    pub regions: usize,
    pub blacklisted: usize,
    pub unregistered_employers: usize,
    pub projects: usize,
    pub owners: usize,
    pub projects_without_wage_account: usize,
    pub payroll_rows: usize,
    pub workers: usize,
    pub periods: Option<(Month, Month)>,
    pub wage_due: Money,
    pub payment_rows: usize,
    pub paid: Money,
    pub paid_on: Option<(Date, Date)>,
    /// Payments that pay no worker-month of payroll: none has their project_id, employer_id, worker_id and
    /// period.
    pub unmatched_payments: usize,
    /// Payments without a project_id, and payroll rows with one: such a payment pays no project's row.
    pub payments_without_project: usize,
    pub payroll_rows_with_project: usize,
    pub complaints: usize,
    pub complaints_by_category: BTreeMap<&'static str, usize>,
    pub received_on: Option<(Date, Date)>,
    pub inspections: usize,
    pub inspections_found_arrears: usize,
    pub progress_payments: usize,
    /// Rows dated after the as-of date, per table (payroll by due date, payments by paid_on, ...).
    pub after_as_of: Vec<(&'static str, usize)>,
}

fn range<T: Copy + Ord>(values: impl Iterator<Item = T>) -> Option<(T, T)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

fn sum(values: &[Money]) -> Money {
    Money::from_fen(values.iter().map(|m| m.fen()).sum())
}

impl DatasetSummary {
    /// Summarises `ds`; with `as_of`, also counts the facts dated after it.
    pub fn compute(ds: &Dataset, as_of: Option<Date>) -> DatasetSummary {
        let mut by_kind = BTreeMap::new();
        for k in &ds.employers.kind {
            *by_kind.entry(k.code()).or_default() += 1;
        }
        let mut regions: Vec<u32> = ds.employers.region.iter().chain(&ds.projects.region).map(|r| r.value()).collect();
        regions.sort_unstable();
        regions.dedup();
        let mut workers: Vec<u64> = ds.payroll.worker.iter().map(|w| w.value()).collect();
        workers.sort_unstable();
        workers.dedup();
        let mut by_category = BTreeMap::new();
        for c in &ds.complaints.category {
            *by_category.entry(c.code()).or_default() += 1;
        }
        let mut after_as_of = Vec::new();
        if let Some(t) = as_of {
            let after = |dates: &mut dyn Iterator<Item = Date>| dates.filter(|d| *d > t).count();
            after_as_of.push(("payroll (due_date)", after(&mut ds.payroll.due_date.iter().copied())));
            after_as_of.push(("payments (paid_on)", after(&mut ds.payments.paid_on.iter().copied())));
            after_as_of.push(("complaints (received_on)", after(&mut ds.complaints.received_on.iter().copied())));
            after_as_of.push(("inspections (inspected_on)", after(&mut ds.inspections.inspected_on.iter().copied())));
            after_as_of.push((
                "progress payments (scheduled_on)",
                after(&mut ds.progress_payments.scheduled_on.iter().copied()),
            ));
        }
        DatasetSummary {
            as_of,
            employers: ds.employers.len(),
            employers_by_kind: by_kind,
            regions: regions.len(),
            blacklisted: ds
                .employers
                .blacklisted_on
                .iter()
                .filter(|b| b.is_some_and(|d| as_of.is_none_or(|t| d <= t)))
                .count(),
            unregistered_employers: ds.employer_ids.len() - ds.employers.len(),
            projects: ds.projects.len(),
            owners: ds.owner_ids.len(),
            projects_without_wage_account: ds.projects.wage_account_opened.iter().filter(|o| !**o).count(),
            payroll_rows: ds.payroll.len(),
            workers: workers.len(),
            periods: range(ds.payroll.period.iter().copied()),
            wage_due: sum(&ds.payroll.wage_due),
            payment_rows: ds.payments.len(),
            paid: sum(&ds.payments.amount),
            paid_on: range(ds.payments.paid_on.iter().copied()),
            unmatched_payments: WorkerMonths::build(ds).unmatched_payments,
            payments_without_project: ds.payments.project.iter().filter(|p| p.is_none()).count(),
            payroll_rows_with_project: ds.payroll.project.iter().filter(|p| p.is_some()).count(),
            complaints: ds.complaints.len(),
            complaints_by_category: by_category,
            received_on: range(ds.complaints.received_on.iter().copied()),
            inspections: ds.inspections.len(),
            inspections_found_arrears: ds.inspections.found_arrears.iter().filter(|f| **f).count(),
            progress_payments: ds.progress_payments.len(),
            after_as_of,
        }
    }
}

fn show_range<T: fmt::Display>(r: &Option<(T, T)>) -> String {
    r.as_ref().map_or_else(|| "-".to_string(), |(a, b)| format!("{a} .. {b}"))
}

fn wan(m: Money) -> String {
    format!("{:.1} 万元", m.yuan() / 10_000.0)
}

impl fmt::Display for DatasetSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<String> = self.employers_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(f, "employers     {} ({}), in {} regions", self.employers, kinds.join(", "), self.regions)?;
        writeln!(
            f,
            "              {} blacklisted, {} ids named by other tables but not registered",
            self.blacklisted, self.unregistered_employers
        )?;
        writeln!(
            f,
            "projects      {} ({} owners, {} without a wage account)",
            self.projects, self.owners, self.projects_without_wage_account
        )?;
        writeln!(
            f,
            "payroll       {} worker-months of {} workers, periods {}, {} due",
            self.payroll_rows,
            self.workers,
            show_range(&self.periods),
            wan(self.wage_due)
        )?;
        writeln!(
            f,
            "payments      {} payments, paid {}, {}",
            self.payment_rows,
            show_range(&self.paid_on),
            wan(self.paid)
        )?;
        writeln!(
            f,
            "              {} match no worker-month of payroll (the same project_id, employer_id, worker_id and period)",
            self.unmatched_payments
        )?;
        if self.unmatched_payments > 0 && self.payments_without_project > 0 && self.payroll_rows_with_project > 0 {
            writeln!(
                f,
                "              note: {} payments have no project_id; such a payment pays only a worker-month \
                 without one, so {} payroll rows of projects can be paid only by payments that name their project",
                self.payments_without_project, self.payroll_rows_with_project
            )?;
        }
        let cats: Vec<String> = Category::ALL
            .iter()
            .map(|c| format!("{} {}", c.code(), self.complaints_by_category.get(c.code()).copied().unwrap_or(0)))
            .collect();
        writeln!(
            f,
            "complaints    {} received {} ({})",
            self.complaints,
            show_range(&self.received_on),
            cats.join(", ")
        )?;
        writeln!(f, "inspections   {} ({} found arrears)", self.inspections, self.inspections_found_arrears)?;
        writeln!(f, "progress pay. {} instalments", self.progress_payments)?;
        if let Some(t) = self.as_of {
            writeln!(f, "after as-of {t} (kept as history, ignored by anything computed as of {t}):")?;
            for (what, n) in &self.after_as_of {
                writeln!(f, "              {what}: {n}")?;
            }
        }
        Ok(())
    }
}
