//! Complaint facts as of T: complaints received by T against each employer and project (their outcome
//! only once closed by T), and complaints about each general contractor's sites.

use crate::contract::{Category, Date, Outcome};
use crate::ingest::tables::Dataset;

/// Complaint facts of one scope as of T.
#[derive(Clone, Debug, Default)]
pub(super) struct ComplaintAcc {
    pub c30: u32,
    pub c90: u32,
    pub c365: u32,
    pub open: u32,
    pub substantiated_365: u32,
    pub unsubstantiated_365: u32,
    pub group_365: u32,
    pub workers_90: u64,
    pub amount_90: i64,
    pub last: Option<Date>,
}

/// The complaint facts of every scope as of T.
pub(super) struct ComplaintFacts {
    /// Per registered or referenced employer id.
    pub employers: Vec<ComplaintAcc>,
    /// Per registered or referenced project id.
    pub projects: Vec<ComplaintAcc>,
    /// Per employer: complaints of the last 90 days about projects it is general contractor of.
    pub site_complaints_90: Vec<u32>,
}

/// Walks the complaints received by T once.
pub(super) fn complaint_facts(ds: &Dataset, t: Date) -> ComplaintFacts {
    let n_p = ds.projects.len();
    let mut emp = vec![ComplaintAcc::default(); ds.employer_ids.len()];
    let mut prj = vec![ComplaintAcc::default(); ds.project_ids.len()];
    let mut site_complaints_90 = vec![0u32; ds.employers.len()];
    let c = &ds.complaints;
    for i in 0..c.len() {
        let received = c.received_on[i];
        if received > t {
            continue;
        }
        let age = t.days_since(received);
        let closed_known = c.closed_on[i].is_some_and(|d| d <= t);
        let outcome = if closed_known { c.outcome[i] } else { None };
        let add = |a: &mut ComplaintAcc| {
            a.c30 += u32::from(age < 30);
            a.c90 += u32::from(age < 90);
            a.c365 += u32::from(age < 365);
            a.open += u32::from(!closed_known);
            if age < 365 {
                a.substantiated_365 += u32::from(outcome == Some(Outcome::Substantiated));
                a.unsubstantiated_365 += u32::from(outcome == Some(Outcome::Unsubstantiated));
                a.group_365 += u32::from(matches!(c.category[i], Category::GroupIncident | Category::CriminalReferral));
            }
            if age < 90 {
                a.workers_90 += u64::from(c.workers_involved[i]);
                a.amount_90 += c.amount_claimed[i].map_or(0, |m| m.fen());
            }
            if a.last.is_none_or(|d| d < received) {
                a.last = Some(received);
            }
        };
        if let Some(e) = c.employer[i] {
            add(&mut emp[e.index()]);
        }
        if let Some(p) = c.project[i] {
            add(&mut prj[p.index()]);
            if p.index() < n_p && age < 90 {
                site_complaints_90[ds.projects.general_contractor[p.index()].index()] += 1;
            }
        }
    }
    ComplaintFacts { employers: emp, projects: prj, site_complaints_90 }
}
