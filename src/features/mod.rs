//! Point-in-time features: for an as-of date T, one row of features per scored employer and project,
//! computed only from facts known on T, plus the platforms' rule alerts.
//!
//! Architecture invariant: nothing here reads a fact dated after T. Payroll rows count only when due by T,
//! payments only when paid by T, complaints when received by T (their outcome only when closed by T),
//! inspections when done by T, progress payments as paid by T, blacklisting and project ends when dated by T.
//! The property test `adding_future_facts_changes_no_feature` holds the code to it.

pub mod alerts;
pub mod catalogue;
pub mod worker_months;

use crate::calendar::{days_to_spring_festival, horizon_days_in_pre_festival_peak, horizon_in_pre_festival_peak};
use crate::contract::{Category, Date, EmployerKind, Outcome, RegionCode, Sector};
use crate::ingest::tables::{Dataset, FastMap, ProjectIx};
use crate::target::{population, Population};

pub use alerts::{Alert, Alerts};
pub use catalogue::{EntityType, Feature, FeatureDef};
pub use worker_months::WorkerMonths;

/// "Never" for days-since features, in days.
pub const DAYS_NEVER: f64 = 730.0;

/// Features of one entity type as of one date: a row-major matrix, one row per scored entity.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureMatrix {
    pub entity_type: EntityType,
    pub as_of: Date,
    /// The columns, in catalogue order.
    pub features: Vec<Feature>,
    /// Dense entity indices (employer or project), ascending.
    pub entities: Vec<u32>,
    pub regions: Vec<RegionCode>,
    /// `entities.len() * features.len()` values, row-major.
    pub values: Vec<f64>,
    pub alerts: Vec<Alerts>,
}

impl FeatureMatrix {
    /// An empty matrix with the catalogue's columns for `entity_type`, with room for `rows` rows.
    fn with_capacity(entity_type: EntityType, as_of: Date, rows: usize) -> FeatureMatrix {
        let features = entity_type.features();
        FeatureMatrix {
            entity_type,
            as_of,
            values: Vec::with_capacity(rows * features.len()),
            features,
            entities: Vec::with_capacity(rows),
            regions: Vec::with_capacity(rows),
            alerts: Vec::with_capacity(rows),
        }
    }

    /// Appends an entity, taking its columns from a row of every feature in catalogue order.
    fn push(&mut self, entity: usize, region: RegionCode, catalogue_row: &[f64], alerts: Alerts) {
        self.entities.push(entity as u32);
        self.regions.push(region);
        self.values.extend(self.features.iter().map(|f| catalogue_row[*f as usize]));
        self.alerts.push(alerts);
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.entities.len()
    }

    /// The features of row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        let p = self.features.len();
        &self.values[i * p..(i + 1) * p]
    }

    /// The value of `feature` in row `i`, if the matrix has that column.
    pub fn get(&self, i: usize, feature: Feature) -> Option<f64> {
        self.features.iter().position(|f| *f == feature).map(|j| self.row(i)[j])
    }
}

/// The features of both entity types as of one date.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    pub as_of: Date,
    pub population: Population,
    pub employers: FeatureMatrix,
    pub projects: FeatureMatrix,
}

impl Features {
    /// The matrix of one entity type.
    pub fn matrix(&self, t: EntityType) -> &FeatureMatrix {
        match t {
            EntityType::Employer => &self.employers,
            EntityType::Project => &self.projects,
        }
    }
}

/// Monthly first-tier minimum wage by province (first two digits of the region code), yuan.
fn monthly_minimum_wage(region: RegionCode) -> f64 {
    match region.value() / 10_000 {
        11 => 2420.0,
        12 => 2320.0,
        31 => 2690.0,
        32 | 33 => 2490.0,
        44 => 2300.0,
        13 | 37 => 2200.0,
        42 => 2210.0,
        34 => 2060.0,
        35 => 2030.0,
        41 | 51 => 2100.0,
        43 => 1930.0,
        _ => 2000.0,
    }
}

/// Wage facts of one scope (an employer, a project, or all rows on a contractor's projects) as of T.
#[derive(Clone, Debug, Default)]
struct WageAcc {
    overdue_unpaid: i64,
    due_30: i64,
    unpaid_30: i64,
    due_365: i64,
    unpaid_365: i64,
    events_90: u32,
    late3_n: u32,
    due_90: i64,
    paid_90: i64,
    due_90_180: i64,
    paid_90_180: i64,
    short_30: u32,
    short_90: u32,
    short_180: u32,
    short_365: u32,
    rows_90: u32,
    late_n: u32,
    late_sum: i64,
    late_max: i32,
    days_90: u64,
    paid_for_days_90: i64,
    lumps_90: u32,
    events_365: u32,
    last_short: Option<Date>,
    hc0: u32,
    hc3: u32,
    hc12: u32,
    dw0: u64,
    dw3: u64,
    attended0: u32,
    unpaid_attended0: u32,
    paid0: i64,
    days0: u64,
    unpaid_two_months: u32,
    workers_90: u32,
    workers_owed_90: u32,
    leavers_owed: u32,
}

impl WageAcc {
    fn unpaid_ratio_90(&self) -> f64 {
        ratio(self.overdue_unpaid as f64, self.due_90 as f64 / 3.0)
    }
}

/// Complaint facts of one scope as of T.
#[derive(Clone, Debug, Default)]
struct ComplaintAcc {
    c30: u32,
    c90: u32,
    c365: u32,
    open: u32,
    substantiated_365: u32,
    unsubstantiated_365: u32,
    group_365: u32,
    workers_90: u64,
    amount_90: i64,
    last: Option<Date>,
}

/// Inspection facts of one scope as of T.
#[derive(Clone, Debug, Default)]
struct InspectionAcc {
    n_365: u32,
    found_365: u32,
    amount_365: i64,
    last_found: Option<Date>,
}

/// Progress-payment facts of one project as of T.
#[derive(Clone, Debug, Default)]
struct ProgressAcc {
    overdue: i64,
    due_180: i64,
    max_days_overdue: i32,
    unpaid_instalments: u32,
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

fn days_since(t: Date, d: Option<Date>) -> f64 {
    d.map_or(DAYS_NEVER, |d| (t.days_since(d) as f64).min(DAYS_NEVER))
}

/// Per-worker state in one scope, for distinct-worker features.
#[derive(Clone, Copy, Default)]
struct WorkerState {
    last_period: i32,
    owed: bool,
    in_90: bool,
}

/// Computes the features of every entity scored as of `as_of`, with a prediction horizon of `horizon_days`.
pub fn compute(ds: &Dataset, wm: &WorkerMonths, as_of: Date, horizon_days: i32) -> Features {
    let t = as_of;
    let pop = population(ds, wm, t);
    let n_e = ds.employers.len();
    let n_p = ds.projects.len();
    let window = wm.due_between(t.add_days(-400), t);
    let pr = &ds.payroll;
    // The latest wage month on the books as of T, and the months 3 and 12 before it.
    let p0 = window.iter().map(|&r| pr.period[r as usize]).max().unwrap_or(t.month());
    let (p3, p12) = (p0.plus_months(-3), p0.plus_months(-12));
    let two_months_ago = t.month().plus_months(-2);

    let mut emp = vec![WageAcc::default(); n_e];
    let mut prj = vec![WageAcc::default(); n_p];
    let mut site = vec![WageAcc::default(); n_e]; // all rows on projects the employer contracts
    let mut emp_workers: FastMap<(u32, u64), WorkerState> = FastMap::default();
    let mut prj_workers: FastMap<(u32, u64), WorkerState> = FastMap::default();
    // Wage bill of the last 90 days per (employer, project), for exposure features.
    let mut footprint: FastMap<(u32, u32), i64> = FastMap::default();
    let six_months_ago = p0.plus_months(-6);

    for &r in window {
        let r = r as usize;
        let due_date = pr.due_date[r];
        let age = t.days_since(due_date);
        let due = pr.wage_due[r].fen();
        let paid = wm.paid_as_of(r, due_date, t);
        let paid_t = paid.paid.fen();
        let short = due > 0 && (paid_t as f64) < 0.9 * due as f64;
        let unpaid = (due - paid_t).max(0);
        let known_event = age >= 30 && due > 0 && (paid.paid_within_30_days.fen() as f64) < 0.9 * due as f64;
        let period = pr.period[r];
        let days = u64::from(pr.days_worked[r]);
        let e = pr.employer[r].index();
        let p = pr.project[r].map(ProjectIx::index);
        let gc = p.map(|p| ds.projects.general_contractor[p].index());
        let lump = paid_t > 2 * due && paid_t > 2_000_000;

        let add = |a: &mut WageAcc| {
            a.overdue_unpaid += unpaid;
            if age < 30 {
                a.due_30 += due;
                a.unpaid_30 += unpaid;
            }
            if age < 365 {
                a.due_365 += due;
                a.unpaid_365 += unpaid;
            }
            if known_event && age < 120 {
                a.events_90 += 1;
            }
            if age < 90 {
                a.due_90 += due;
                a.paid_90 += paid_t;
                a.rows_90 += 1;
                a.days_90 += days;
                a.paid_for_days_90 += paid_t;
                if short {
                    a.short_90 += 1;
                }
                if !short && due > 0 {
                    if let Some(last) = paid.last_paid_on {
                        let late = last.days_since(due_date).max(0);
                        a.late3_n += u32::from(late > 3);
                        a.late_n += 1;
                        a.late_sum += i64::from(late);
                        a.late_max = a.late_max.max(late);
                    }
                }
                if lump {
                    a.lumps_90 += 1;
                }
            } else if age < 180 {
                a.due_90_180 += due;
                a.paid_90_180 += paid_t;
            }
            if short {
                if age < 30 {
                    a.short_30 += 1;
                }
                if age < 180 {
                    a.short_180 += 1;
                }
                if age < 365 {
                    a.short_365 += 1;
                }
                if a.last_short.is_none_or(|d| d < due_date) {
                    a.last_short = Some(due_date);
                }
                if period <= two_months_ago {
                    a.unpaid_two_months += 1;
                }
            }
            if known_event && age < 395 {
                a.events_365 += 1;
            }
            if period == p0 {
                a.hc0 += 1;
                a.dw0 += days;
                a.paid0 += paid_t;
                a.days0 += days;
                if days > 0 {
                    a.attended0 += 1;
                    if paid_t == 0 {
                        a.unpaid_attended0 += 1;
                    }
                }
            } else if period == p3 {
                a.hc3 += 1;
                a.dw3 += days;
            } else if period == p12 {
                a.hc12 += 1;
            }
        };
        add(&mut emp[e]);
        if let Some(p) = p {
            add(&mut prj[p]);
        }
        if let Some(gc) = gc {
            add(&mut site[gc]);
        }
        if period >= six_months_ago {
            let w = pr.worker[r].value();
            let track = |map: &mut FastMap<(u32, u64), WorkerState>, scope: usize| {
                let s = map.entry((scope as u32, w)).or_default();
                s.last_period = s.last_period.max(period.index());
                s.owed |= short;
                s.in_90 |= age < 90;
            };
            track(&mut emp_workers, e);
            if let Some(p) = p {
                track(&mut prj_workers, p);
            }
        }
        if let (Some(p), true) = (p, age < 90) {
            *footprint.entry((e as u32, p as u32)).or_default() += due;
        }
    }
    let leaver_cutoff = p0.plus_months(-2).index();
    for (accs, map) in [(&mut emp, &emp_workers), (&mut prj, &prj_workers)] {
        for (&(scope, _), s) in map {
            let a = &mut accs[scope as usize];
            if s.in_90 {
                a.workers_90 += 1;
                a.workers_owed_90 += u32::from(s.owed);
            }
            if s.owed && s.last_period <= leaver_cutoff {
                a.leavers_owed += 1;
            }
        }
    }

    // Complaints and inspections known at T.
    let mut c_emp = vec![ComplaintAcc::default(); ds.employer_ids.len()];
    let mut c_prj = vec![ComplaintAcc::default(); ds.project_ids.len()];
    let mut site_complaints_90 = vec![0u32; n_e];
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
            add(&mut c_emp[e.index()]);
        }
        if let Some(p) = c.project[i] {
            add(&mut c_prj[p.index()]);
            if p.index() < n_p && age < 90 {
                site_complaints_90[ds.projects.general_contractor[p.index()].index()] += 1;
            }
        }
    }
    let mut i_emp = vec![InspectionAcc::default(); ds.employer_ids.len()];
    let mut i_prj = vec![InspectionAcc::default(); ds.project_ids.len()];
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
                a.n_365 += 1;
                if found {
                    a.found_365 += 1;
                    a.amount_365 += ins.arrears_amount[i].map_or(0, |m| m.fen());
                }
            }
            if found && a.last_found.is_none_or(|d| d < on) {
                a.last_found = Some(on);
            }
        };
        add(&mut i_emp[ins.employer[i].index()]);
        if let Some(p) = ins.project[i] {
            add(&mut i_prj[p.index()]);
        }
    }

    // Progress payments as known at T, per project, then per owner.
    let mut progress = vec![ProgressAcc::default(); n_p];
    let pp = &ds.progress_payments;
    for i in 0..pp.len() {
        let scheduled = pp.scheduled_on[i];
        if scheduled > t {
            continue;
        }
        let age = t.days_since(scheduled);
        let paid = if pp.paid_on[i].is_some_and(|d| d <= t) { pp.amount_paid[i].map_or(0, |m| m.fen()) } else { 0 };
        let due = pp.amount_due[i].fen();
        let a = &mut progress[pp.project[i].index()];
        if age >= 30 {
            a.overdue += (due - paid).max(0);
        }
        if age < 180 {
            a.due_180 += due;
        }
        if (paid as f64) < 0.9 * due as f64 {
            a.max_days_overdue = a.max_days_overdue.max(age);
            if age >= 30 {
                a.unpaid_instalments += 1;
            }
        }
    }
    let started = |p: usize| ds.projects.start_date[p] <= t;
    let ended_by_t = |p: usize| ds.projects.actual_end_date[p].is_some_and(|d| d <= t);
    let progress_den = |p: usize| (progress[p].due_180 as f64).max(0.05 * ds.projects.contract_value[p].fen() as f64);
    let progress_ratio = |p: usize| ratio(progress[p].overdue as f64, progress_den(p)).min(10.0);
    let mut owner_sum = vec![(0.0f64, 0.0f64, 0u32); ds.owner_ids.len()];
    for p in (0..n_p).filter(|&p| started(p)) {
        if let Some(o) = ds.projects.owner[p] {
            let s = &mut owner_sum[o.index()];
            s.0 += progress[p].overdue as f64;
            s.1 += progress_den(p);
            s.2 += 1;
        }
    }
    let owner_ratio = |p: usize| {
        ds.projects.owner[p].map_or(0.0, |o| ratio(owner_sum[o.index()].0, owner_sum[o.index()].1).min(10.0))
    };

    // Contractor-level aggregates over live projects.
    let mut gc_active = vec![0u32; n_e];
    let mut gc_pp = vec![(0.0f64, 0.0f64); n_e];
    let mut gc_owner_max = vec![0.0f64; n_e];
    let mut gc_missing = vec![Alerts::default(); n_e];
    let live_cutoff = t.add_days(-365);
    for p in (0..n_p).filter(|&p| started(p)) {
        let gc = ds.projects.general_contractor[p].index();
        if !ended_by_t(p) {
            gc_active[gc] += 1;
        }
        let live = ds.projects.actual_end_date[p].is_none_or(|d| d > live_cutoff || d > t);
        if live {
            gc_pp[gc].0 += progress[p].overdue as f64;
            gc_pp[gc].1 += progress_den(p);
            gc_owner_max[gc] = gc_owner_max[gc].max(owner_ratio(p));
        }
        if !ended_by_t(p) {
            if !ds.projects.wage_account_opened[p] {
                gc_missing[gc].insert(Alert::NoWageAccount);
            }
            if ds.projects.guarantee_deposit[p].is_none() {
                gc_missing[gc].insert(Alert::NoGuaranteeDeposit);
            }
        }
    }

    // Exposure of each employer to the projects it works on.
    #[derive(Default, Clone)]
    struct Exposure {
        weight: f64,
        progress: f64,
        no_account: f64,
        no_deposit: f64,
        owner_max: f64,
        contractor_events_max: u32,
        projects: u32,
    }
    let mut exposure = vec![Exposure::default(); n_e];
    let mut crew: Vec<Vec<u32>> = vec![Vec::new(); n_p];
    let mut footprint: Vec<((u32, u32), i64)> = footprint.into_iter().collect();
    footprint.sort_unstable();
    for &((e, p), w) in &footprint {
        let (e, p) = (e as usize, p as usize);
        let w = w.max(1) as f64;
        let x = &mut exposure[e];
        x.weight += w;
        x.progress += w * progress_ratio(p);
        x.no_account += w * f64::from(u8::from(!ds.projects.wage_account_opened[p]));
        x.no_deposit += w * f64::from(u8::from(ds.projects.guarantee_deposit[p].is_none()));
        x.owner_max = x.owner_max.max(owner_ratio(p));
        let gc = ds.projects.general_contractor[p].index();
        if gc != e {
            x.contractor_events_max = x.contractor_events_max.max(emp[gc].events_365);
        }
        x.projects += 1;
        crew[p].push(e as u32);
    }

    let blacklisted = |e: usize| ds.employers.blacklisted_on[e].is_some_and(|d| d <= t);
    let days_to_festival = f64::from(days_to_spring_festival(t));
    let in_peak = horizon_in_pre_festival_peak(t, horizon_days);
    let peak_days = f64::from(horizon_days_in_pre_festival_peak(t, horizon_days));

    let mut row = vec![0.0f64; Feature::COUNT];
    let fill_common = |row: &mut [f64], a: &WageAcc, c: &ComplaintAcc, i: &InspectionAcc, region: RegionCode| {
        use Feature as F;
        let monthly_bill = a.due_90 as f64 / 3.0 / 100.0;
        row[F::OverdueUnpaidYuan as usize] = a.overdue_unpaid as f64 / 100.0;
        row[F::OverdueUnpaidToMonthlyWageBill as usize] = a.unpaid_ratio_90().min(100.0);
        row[F::MonthlyWageBillYuan as usize] = monthly_bill;
        row[F::UnpaidRatio30d as usize] = ratio(a.unpaid_30 as f64, a.due_30 as f64);
        row[F::UnpaidRatio365d as usize] = ratio(a.unpaid_365 as f64, a.due_365 as f64);
        row[F::ArrearsEvents90d as usize] = f64::from(a.events_90);
        row[F::ShareLate90d as usize] = ratio(f64::from(a.late3_n), f64::from(a.rows_90));
        row[F::ShortPaidWorkerMonths1m as usize] = f64::from(a.short_30);
        row[F::ShortPaidWorkerMonths3m as usize] = f64::from(a.short_90);
        row[F::ShortPaidWorkerMonths6m as usize] = f64::from(a.short_180);
        row[F::ShortPaidWorkerMonths12m as usize] = f64::from(a.short_365);
        row[F::ShareWorkerMonthsShort90d as usize] = ratio(f64::from(a.short_90), f64::from(a.rows_90));
        row[F::ShareWorkersUnpaid90d as usize] = ratio(f64::from(a.workers_owed_90), f64::from(a.workers_90));
        row[F::DaysLateMean90d as usize] = ratio(a.late_sum as f64, f64::from(a.late_n));
        row[F::DaysLateMax90d as usize] = f64::from(a.late_max);
        let recent = ratio(a.paid_90 as f64, a.due_90 as f64);
        let before = ratio(a.paid_90_180 as f64, a.due_90_180 as f64);
        row[F::PaidToDueTrend as usize] = if a.due_90 > 0 && a.due_90_180 > 0 { recent - before } else { 0.0 };
        let daily_minimum = monthly_minimum_wage(region) / 21.75;
        row[F::PayPerDayToMinimumWage as usize] = if a.days_90 > 0 {
            (a.paid_for_days_90 as f64 / 100.0 / a.days_90 as f64 / daily_minimum).min(20.0)
        } else {
            0.0
        };
        row[F::LumpPayments90d as usize] = f64::from(a.lumps_90);
        row[F::ArrearsEvents365d as usize] = f64::from(a.events_365);
        row[F::DaysSinceShortPay as usize] = days_since(t, a.last_short);
        row[F::HeadcountLastMonth as usize] = f64::from(a.hc0);
        row[F::HeadcountChange3m as usize] = if a.hc3 > 0 { f64::from(a.hc0) / f64::from(a.hc3) - 1.0 } else { 0.0 };
        row[F::HeadcountChange12m as usize] = if a.hc12 > 0 { f64::from(a.hc0) / f64::from(a.hc12) - 1.0 } else { 0.0 };
        row[F::LeaversOwed6m as usize] = f64::from(a.leavers_owed);
        let dw0 = ratio(a.dw0 as f64, f64::from(a.hc0));
        row[F::DaysWorkedMeanLastMonth as usize] = dw0;
        let dw3 = ratio(a.dw3 as f64, f64::from(a.hc3));
        row[F::DaysWorkedChange3m as usize] = if dw3 > 0.0 { dw0 / dw3 - 1.0 } else { 0.0 };
        row[F::Complaints30d as usize] = f64::from(c.c30);
        row[F::Complaints90d as usize] = f64::from(c.c90);
        row[F::Complaints365d as usize] = f64::from(c.c365);
        row[F::ComplaintsOpen as usize] = f64::from(c.open);
        row[F::ComplaintsSubstantiated365d as usize] = f64::from(c.substantiated_365);
        row[F::ComplaintsUnsubstantiated365d as usize] = f64::from(c.unsubstantiated_365);
        row[F::GroupIncidents365d as usize] = f64::from(c.group_365);
        row[F::ComplaintWorkers90d as usize] = c.workers_90 as f64;
        row[F::ComplaintAmount90dYuan as usize] = c.amount_90 as f64 / 100.0;
        row[F::DaysSinceComplaint as usize] = days_since(t, c.last);
        row[F::Inspections365d as usize] = f64::from(i.n_365);
        row[F::InspectionsFoundArrears365d as usize] = f64::from(i.found_365);
        row[F::InspectionArrears365dYuan as usize] = i.amount_365 as f64 / 100.0;
        row[F::DaysSinceArrearsFound as usize] = days_since(t, i.last_found);
        row[F::DaysToSpringFestival as usize] = days_to_festival;
        row[F::HorizonInPreFestivalPeak as usize] = f64::from(u8::from(in_peak));
        row[F::HorizonDaysInPreFestivalPeak as usize] = peak_days;
    };
    let common_alerts = |a: &WageAcc, region: RegionCode| {
        let mut alerts = Alerts::default();
        if a.unpaid_two_months > 0 {
            alerts.insert(Alert::WagesUnpaidTwoMonths);
        }
        if a.attended0 > 0 && a.unpaid_attended0 > 0 && f64::from(a.unpaid_attended0) >= 0.1 * f64::from(a.attended0) {
            alerts.insert(Alert::AttendedWorkersUnpaid);
        }
        if a.days0 > 0 && (a.paid0 as f64 / 100.0 / a.days0 as f64) < monthly_minimum_wage(region) / 21.75 {
            alerts.insert(Alert::PayBelowMinimumWage);
        }
        if a.lumps_90 > 0 {
            alerts.insert(Alert::ImplausibleSinglePayment);
        }
        alerts
    };

    // Employers.
    let mut em = FeatureMatrix::with_capacity(EntityType::Employer, t, pop.employers.len());
    for &ix in &pop.employers {
        use Feature as F;
        let e = ix.index();
        let region = ds.employers.region[e];
        row.iter_mut().for_each(|v| *v = 0.0);
        fill_common(&mut row, &emp[e], &c_emp[e], &i_emp[e], region);
        row[F::EmployerAgeYears as usize] =
            ds.employers.founded_on[e].map_or(0.0, |f| f64::from(t.days_since(f)) / 365.25);
        let capital = ds.employers.registered_capital[e];
        row[F::LogRegisteredCapital as usize] = capital.map_or(0.0, |c| c.yuan().ln_1p());
        row[F::CapitalUnknown as usize] = f64::from(u8::from(capital.is_none()));
        row[F::Blacklisted as usize] = f64::from(u8::from(blacklisted(e)));
        let kind = ds.employers.kind[e];
        row[F::KindGeneralContractor as usize] = f64::from(u8::from(kind == EmployerKind::GeneralContractor));
        row[F::KindSubcontractor as usize] = f64::from(u8::from(kind == EmployerKind::Subcontractor));
        row[F::KindLaborService as usize] = f64::from(u8::from(kind == EmployerKind::LaborService));
        row[F::KindManufacturer as usize] = f64::from(u8::from(kind == EmployerKind::Manufacturer));
        row[F::KindService as usize] = f64::from(u8::from(kind == EmployerKind::Service));
        let sector = ds.employers.sector[e];
        row[F::SectorConstruction as usize] = f64::from(u8::from(sector == Sector::Construction));
        row[F::SectorManufacturing as usize] = f64::from(u8::from(sector == Sector::Manufacturing));
        row[F::ActiveProjectsAsContractor as usize] = f64::from(gc_active[e]);
        let x = &exposure[e];
        row[F::ProjectsWorked90d as usize] = f64::from(x.projects);
        row[F::ExposureProgressOverdueRatio as usize] = ratio(x.progress, x.weight);
        row[F::MaxOwnerProgressOverdueRatio as usize] = x.owner_max.max(gc_owner_max[e]);
        row[F::ExposureNoWageAccount as usize] = ratio(x.no_account, x.weight);
        row[F::ExposureNoDeposit as usize] = ratio(x.no_deposit, x.weight);
        row[F::ContractorsArrearsEvents365d as usize] = f64::from(x.contractor_events_max);
        row[F::SiteUnpaidRatio90d as usize] = site[e].unpaid_ratio_90().min(100.0);
        row[F::SiteArrearsEvents365d as usize] = f64::from(site[e].events_365);
        row[F::SiteComplaints90d as usize] = f64::from(site_complaints_90[e]);
        row[F::SiteDaysSinceShortPay as usize] = days_since(t, site[e].last_short);
        row[F::SiteShortPaidWorkerMonths3m as usize] = f64::from(site[e].short_90);
        row[F::SiteOverdueUnpaidYuan as usize] = site[e].overdue_unpaid as f64 / 100.0;
        row[F::ContractedProgressOverdueRatio as usize] = ratio(gc_pp[e].0, gc_pp[e].1).min(10.0);
        let mut alerts = common_alerts(&emp[e], region);
        for a in gc_missing[e].iter() {
            alerts.insert(a);
        }
        em.push(e, region, &row, alerts);
    }

    // Projects.
    let mut pm = FeatureMatrix::with_capacity(EntityType::Project, t, pop.projects.len());
    for &ix in &pop.projects {
        use Feature as F;
        let p = ix.index();
        let region = ds.projects.region[p];
        row.iter_mut().for_each(|v| *v = 0.0);
        fill_common(&mut row, &prj[p], &c_prj[p], &i_prj[p], region);
        let pj = &ds.projects;
        row[F::LogContractValue as usize] = pj.contract_value[p].yuan().ln_1p();
        row[F::GovernmentFunded as usize] = f64::from(u8::from(pj.government_funded[p]));
        row[F::WageAccountOpened as usize] = f64::from(u8::from(pj.wage_account_opened[p]));
        row[F::HasGuaranteeDeposit as usize] = f64::from(u8::from(pj.guarantee_deposit[p].is_some()));
        let monthly_bill = prj[p].due_90 as f64 / 3.0;
        row[F::DepositToMonthlyWageBill as usize] =
            ratio(pj.guarantee_deposit[p].map_or(0.0, |d| d.fen() as f64), monthly_bill).min(100.0);
        row[F::ProjectAgeDays as usize] = f64::from(t.days_since(pj.start_date[p]));
        row[F::DaysToPlannedEnd as usize] = f64::from(pj.planned_end_date[p].days_since(t));
        row[F::OverdueCompletionDays as usize] =
            if ended_by_t(p) { 0.0 } else { f64::from(t.days_since(pj.planned_end_date[p]).max(0)) };
        row[F::EmployersOnSite90d as usize] = crew[p].len() as f64;
        row[F::ProgressOverdueRatio as usize] = progress_ratio(p);
        row[F::ProgressMaxDaysOverdue as usize] = f64::from(progress[p].max_days_overdue);
        row[F::ProgressUnpaidInstalments as usize] = f64::from(progress[p].unpaid_instalments);
        row[F::OwnerProgressOverdueRatio as usize] = owner_ratio(p);
        row[F::OwnerProjects as usize] = pj.owner[p].map_or(1.0, |o| f64::from(owner_sum[o.index()].2));
        let gc = pj.general_contractor[p].index();
        row[F::ContractorBlacklisted as usize] = f64::from(u8::from(blacklisted(gc)));
        row[F::ContractorArrearsEvents365d as usize] = f64::from(emp[gc].events_365);
        row[F::ContractorComplaints365d as usize] = f64::from(c_emp[gc].c365);
        let crew_of = &crew[p];
        row[F::CrewMaxArrearsEvents365d as usize] =
            crew_of.iter().map(|&e| f64::from(emp[e as usize].events_365)).fold(0.0, f64::max);
        row[F::CrewMaxUnpaidRatio90d as usize] =
            crew_of.iter().map(|&e| emp[e as usize].unpaid_ratio_90().min(100.0)).fold(0.0, f64::max);
        row[F::CrewAnyBlacklisted as usize] = f64::from(u8::from(crew_of.iter().any(|&e| blacklisted(e as usize))));
        let mut alerts = common_alerts(&prj[p], region);
        if !pj.wage_account_opened[p] {
            alerts.insert(Alert::NoWageAccount);
        }
        if pj.guarantee_deposit[p].is_none() {
            alerts.insert(Alert::NoGuaranteeDeposit);
        }
        pm.push(p, region, &row, alerts);
    }
    Features { as_of: t, population: pop, employers: em, projects: pm }
}
