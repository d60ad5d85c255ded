//! Reading a store's fact tables for scoring one wage month at a time: each month's payroll and payments
//! are read, joined into their worker-month index and handed on, then dropped, so that the fact rows of
//! the scoring window are never in memory together.

use std::path::PathBuf;
use std::sync::mpsc::sync_channel;

use super::compact::{self, CompactError, Registered};
use super::tables::{KeyColumns, Payments, Payroll};
use super::{Dataset, IngestError};
use crate::contract::Month;
use crate::worker_months::{DueDays, MonthByMonth, WorkerMonths};

/// The compact parts of one wage month of a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthParts {
    pub month: Month,
    pub payroll: Vec<PathBuf>,
    pub payments: Vec<PathBuf>,
}

/// Reads a store's fact parts one wage month at a time, the latest month first, and hands each month to
/// `visit` as `ds` with that month's payroll and payments, joined by their worker-month index: `ds` holds
/// the small tables ([`super::load_small_of_store`]) and no fact rows before or after. The next month is
/// read and joined on a thread of its own while one is visited, so at most two months' rows are in memory; what
/// `visit` keeps is what grows.
pub fn stream_compact_months(
    ds: &mut Dataset,
    months: &[MonthParts],
    mut visit: impl FnMut(&Dataset, &WorkerMonths),
) -> Result<(), IngestError> {
    let registered = Registered::of(ds);
    let (mut employer_ids, mut project_ids) = (ds.employer_ids.clone(), ds.project_ids.clone());
    let read = std::thread::scope(|scope| {
        // A rendezvous: the reader hands a month over only when the one before it is taken.
        let (send, receive) = sync_channel::<(Payroll, Payments, WorkerMonths)>(0);
        let reader = scope.spawn(move || -> Result<(), CompactError> {
            for m in months.iter().rev() {
                let (mut payroll, mut payments) = (Payroll::default(), Payments::default());
                registered.read_payroll(&m.payroll, &mut payroll)?;
                compact::read_payments(&m.payments, &mut employer_ids, &mut project_ids, &mut payments)?;
                let wm = month_index(&payroll, &payments);
                if send.send((payroll, payments, wm)).is_err() {
                    break;
                }
            }
            Ok(())
        });
        for (payroll, payments, wm) in receive {
            ds.payroll = payroll;
            ds.payments = payments;
            visit(ds, &wm);
            ds.payroll = Payroll::default();
            ds.payments = Payments::default();
        }
        reader.join().expect("the store's reader does not panic")
    });
    Ok(read?)
}

/// The worker-month index of one wage month's payroll and payments.
fn month_index(payroll: &Payroll, payments: &Payments) -> WorkerMonths {
    let mut index = MonthByMonth::with_capacity(payroll.len(), payments.len());
    index.add_month(KeyColumns::of_payroll(payroll), payments);
    index.finish(DueDays::of(&[&payroll.due_date]))
}
