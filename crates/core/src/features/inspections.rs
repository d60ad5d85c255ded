//! Inspection facts as of T: inspections done by T of each employer and project, what they found, and
//! when arrears were last found.

use crate::contract::Date;
use crate::ingest::tables::Dataset;

/// Inspection facts of one scope as of T.
#[derive(Clone, Debug, Default)]
pub(super) struct InspectionAcc {
    /// Inspections of the last 365 days that found no arrears (a finding moves only the found counts, whose
    /// direction is known).
    pub clean_365: u32,
    pub found_365: u32,
    pub amount_365: i64,
    pub last_found: Option<Date>,
}

/// The inspection facts of every employer and project id (registered or referenced) as of T.
pub(super) struct InspectionFacts {
    pub employers: Vec<InspectionAcc>,
    pub projects: Vec<InspectionAcc>,
}

/// Walks the inspections done by T once.
pub(super) fn inspection_facts(ds: &Dataset, t: Date) -> InspectionFacts {
    let mut emp = vec![InspectionAcc::default(); ds.employer_ids.len()];
    let mut prj = vec![InspectionAcc::default(); ds.project_ids.len()];
    let ins = &ds.inspections;
    for i in 0..ins.len() {
        let on = ins.inspected_on[i];
        if on > t {
            continue;
        }
        let age = t.days_since(on);
        let found = ins.found_arrears[i];
        let add = |a: &mut InspectionAcc| {
            if age < 365 {
                if !found {
                    a.clean_365 += 1;
                }
                if found {
                    a.found_365 += 1;
                    a.amount_365 += ins.arrears_amount[i].map_or(0, |m| m.fen());
                }
            }
            if found && a.last_found.is_none_or(|d| d < on) {
                a.last_found = Some(on);
            }
        };
        add(&mut emp[ins.employer[i].index()]);
        if let Some(p) = ins.project[i] {
            add(&mut prj[p.index()]);
        }
    }
    InspectionFacts { employers: emp, projects: prj }
}
