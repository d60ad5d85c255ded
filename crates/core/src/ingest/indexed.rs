//! Reading a store's fact tables for scoring with the worker-month index built on the way: payroll and
//! payments one wage month at a time, so that the payments are kept only as the index's dates and amounts
//! and the whole payments table is never in memory.
//!
//! Payroll is read on one thread a month at a time and copied into its final columns (sized from the parts'
//! footers); each month's rows are handed to the other thread, which reads the month's payments and
//! matches them (`MonthByMonth`). The payroll thread then notes where each day's rows lie while the other
//! finishes. Rows and payments are read in the same order as [`super::load_compact`] reads them, so the
//! dataset and the index are the same as it and [`WorkerMonths::build`] give.

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::compact::{self, CompactError, Registered};
use super::tables::{FilledRows, Payments, Payroll, PayrollSlots};
use super::{Dataset, IngestError, Pseudonymizer, Sources};
use crate::contract::Month;
use crate::worker_months::{DueDays, MonthByMonth, WorkerMonths};

/// The compact parts of one wage month of a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthParts {
    pub month: Month,
    pub payroll: Vec<PathBuf>,
    pub payments: Vec<PathBuf>,
}

/// Reads back what a validated store holds for `months` (in month order), with the worker-month index:
/// the small tables as [`super::load_compact`] reads them, payroll whole, and the payments only inside the
/// index (the dataset's `payments` are empty).
pub fn load_compact_indexed(
    sources: &Sources,
    months: &[MonthParts],
    pseudonymizer: &Pseudonymizer,
) -> Result<(Dataset, WorkerMonths), IngestError> {
    let mut ds = super::load_small_of_store(sources, pseudonymizer)?;
    let registered = Registered::of(&ds);
    let payroll_rows = rows_of(months.iter().flat_map(|m| &m.payroll))?;
    let payment_rows = rows_of(months.iter().flat_map(|m| &m.payments))?;
    let mut payroll = Payroll::filled(payroll_rows);
    let (due, paid) = std::thread::scope(|scope| {
        let (send, receive) = sync_channel(1);
        let slots = PayrollSlots::of(&mut payroll);
        let reader = scope.spawn(move || read_payroll(months, &registered, slots, send));
        let mut index = MonthByMonth::with_capacity(payroll_rows, payment_rows);
        let paid = add_payments(months, receive, &mut ds, &mut index).map(|()| index);
        (reader.join().expect("the payroll reader does not panic"), paid)
    });
    // A payroll error stops the payments; payments stopping first stops payroll with no order (None).
    let due = due?;
    let paid = paid?;
    let due = due.expect("the payroll reader finishes when the payments do");
    ds.payroll = payroll;
    Ok((ds, paid.finish(due)))
}

/// The rows of the given parts, from their footers.
fn rows_of<'a>(parts: impl Iterator<Item = &'a PathBuf>) -> Result<usize, CompactError> {
    parts.map(|p| compact::part_rows(p)).sum()
}

/// Reads each month's payroll parts into `slots`, sends the month's rows on, and at the end notes where
/// each due day's rows lie; None when the receiver stopped first.
fn read_payroll<'a>(
    months: &[MonthParts],
    ids: &Registered,
    mut slots: PayrollSlots<'a>,
    send: SyncSender<FilledRows<'a>>,
) -> Result<Option<DueDays>, CompactError> {
    let mut month = Payroll::default();
    let mut due_dates = Vec::with_capacity(months.len());
    for m in months {
        month.clear();
        ids.read_payroll(&m.payroll, &mut month)?;
        let (filled, rest) = slots.fill_front(&month).ok_or_else(|| changed(&m.payroll))?;
        due_dates.push(filled.due_date);
        if send.send(filled).is_err() {
            return Ok(None);
        }
        slots = rest;
    }
    if !slots.is_empty() {
        return Err(changed(months.last().map_or(&[][..], |m| &m.payroll[..])));
    }
    drop((send, month));
    Ok(Some(DueDays::of(&due_dates)))
}

/// A part holding other rows than its footer said when the store was opened.
fn changed(parts: &[PathBuf]) -> CompactError {
    let path = parts.last().cloned().unwrap_or_default();
    CompactError::Read { path, reason: "the part's rows changed while it was read".into() }
}

/// Reads each month's payments as its payroll rows arrive and adds the month to the index.
fn add_payments(
    months: &[MonthParts],
    rows: Receiver<FilledRows<'_>>,
    ds: &mut Dataset,
    index: &mut MonthByMonth,
) -> Result<(), CompactError> {
    let mut month = Payments::default();
    for (m, filled) in months.iter().zip(rows) {
        month.clear();
        compact::read_payments(&m.payments, &mut ds.employer_ids, &mut ds.project_ids, &mut month)?;
        index.add_month(filled.keys, &month);
    }
    Ok(())
}
