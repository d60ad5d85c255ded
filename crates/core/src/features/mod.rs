//! Point-in-time features: for an as-of date T, one row of features per scored employer and project,
//! computed only from facts known on T, plus the platforms' rule alerts.
//!
//! Architecture invariant: nothing here reads a fact dated after T. Payroll rows count only when due by T,
//! payments only when paid by T, complaints when received by T (their outcome only when closed by T),
//! inspections when done by T, progress payments as paid by T, blacklisting and project ends when dated by T.
//! The property test `adding_future_facts_changes_no_feature` holds the code to it.

pub mod alerts;
pub mod catalogue;
mod chain;
mod complaints;
mod inspections;
mod progress;
mod wages;

use crate::calendar::{
    days_to_spring_festival, horizon_days_after_festival, horizon_days_in_pre_festival_peak, OutsideCalendar,
};
use crate::contract::{Date, EmployerKind, RegionCode, Sector, SECTORS};
use crate::ingest::tables::Dataset;
use crate::target::{Population, RecentPayroll};
use crate::worker_months::WorkerMonths;

pub use alerts::{Alert, Alerts};
pub use catalogue::{catalogue_lines, EntityType, Feature, FeatureDef};
use chain::{chain_facts, ended_by, ChainFacts};
use complaints::{complaint_facts, ComplaintAcc, ComplaintFacts};
use inspections::{inspection_facts, InspectionAcc, InspectionFacts};
pub use progress::overdue_progress_yuan;
use progress::{progress_facts, ProgressFacts};
use wages::{WageAcc, WageFacts, WageStream};

/// "Never" for days-since features, in days.
pub const DAYS_NEVER: f64 = 730.0;
/// How far back scoring as of T reads payroll: rows due in (T - this many days, T], with their payments.
/// Every feature, the scored population and a run's files look no further back, so a store may read only
/// the wage months that hold such rows.
pub const PAYROLL_LOOKBACK_DAYS: i32 = 400;

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

fn flag(b: bool) -> f64 {
    f64::from(u8::from(b))
}

/// Computes the features of every entity scored as of `as_of`, with a prediction horizon of `horizon_days`:
/// each group of facts is gathered in one pass over its table, then every scored entity's row is filled.
pub fn compute(ds: &Dataset, wm: &WorkerMonths, as_of: Date, horizon_days: i32) -> Result<Features, OutsideCalendar> {
    Season::of(as_of, horizon_days)?;
    let mut stream = FeatureStream::new(ds, as_of);
    stream.add(ds, wm);
    stream.finish(ds, horizon_days)
}

/// What the features as of one date read from the payroll, gathered a part of it at a time (a store's
/// wage months, the latest first): every scope's wage facts and who has rows in the year before the date.
/// Its memory grows with the entities and their workers, not with the rows. [`compute`] feeds it the whole
/// dataset at once.
pub struct FeatureStream {
    as_of: Date,
    recent: RecentPayroll,
    wages: WageStream,
}

impl FeatureStream {
    pub fn new(ds: &Dataset, as_of: Date) -> FeatureStream {
        FeatureStream { as_of, recent: RecentPayroll::new(ds, as_of), wages: WageStream::new(ds, as_of) }
    }

    /// Adds `part`'s payroll rows with their index; `part` has the same registers and small tables as the
    /// dataset [`Self::finish`] is given. Parts holding several wage months come latest month first.
    pub fn add(&mut self, part: &Dataset, wm: &WorkerMonths) {
        self.recent.add(part, wm);
        self.wages.add(part, wm);
    }

    /// The features, from the gathered payroll facts and `ds`'s other tables.
    pub fn finish(self, ds: &Dataset, horizon_days: i32) -> Result<Features, OutsideCalendar> {
        let as_of = self.as_of;
        let season = Season::of(as_of, horizon_days)?;
        let population = self.recent.population(ds);
        let wages = self.wages.finish();
        let complaints = complaint_facts(ds, as_of);
        let inspections = inspection_facts(ds, as_of);
        let progress = progress_facts(ds, as_of);
        let chain = chain_facts(ds, as_of, &progress, &wages.employers, &wages.footprint);
        let sectors = SectorFacts::of(ds, &wages.employers);
        let rows = Rows {
            ds,
            t: as_of,
            season,
            wages: &wages,
            complaints: &complaints,
            inspections: &inspections,
            progress: &progress,
            chain: &chain,
            sectors: &sectors,
        };
        let employers = rows.employers(&population);
        let projects = rows.projects(&population);
        Ok(Features { as_of, population, employers, projects })
    }
}

/// The season's features, the same for every entity on a date.
#[derive(Clone, Copy)]
struct Season {
    days_to_festival: f64,
    in_peak: bool,
    peak_days: f64,
    after_festival_days: f64,
}

impl Season {
    fn of(t: Date, horizon_days: i32) -> Result<Season, OutsideCalendar> {
        let peak_days = horizon_days_in_pre_festival_peak(t, horizon_days)?;
        Ok(Season {
            days_to_festival: f64::from(days_to_spring_festival(t)?),
            in_peak: peak_days > 0,
            peak_days: f64::from(peak_days),
            after_festival_days: f64::from(horizon_days_after_festival(t, horizon_days)?),
        })
    }
}

/// Wages across the province's employers of each sector as of T: how much of what fell due lately is
/// unpaid, and whether that is rising. A downturn reaches a whole sector before each firm's own record.
struct SectorFacts {
    /// Per sector (in `SECTORS` order): the unpaid share of wages due in the last 30 days.
    unpaid_30: Vec<f64>,
    /// Per sector: that share against the unpaid share of wages due in the last 365 days.
    trend: Vec<f64>,
}

impl SectorFacts {
    fn of(ds: &Dataset, employers: &[WageAcc]) -> SectorFacts {
        // unpaid and due in the last 30 days, unpaid and due in the last 365, per sector
        let mut sums = vec![[0i64; 4]; SECTORS.len()];
        for (e, a) in employers.iter().enumerate() {
            let s = &mut sums[ds.employers.sector[e] as usize];
            s[0] += a.unpaid_30;
            s[1] += a.due_30;
            s[2] += a.unpaid_365;
            s[3] += a.due_365;
        }
        let share = |s: &[i64; 4]| ratio(s[0] as f64, s[1] as f64);
        SectorFacts {
            unpaid_30: sums.iter().map(share).collect(),
            trend: sums
                .iter()
                .map(|s| {
                    let year = ratio(s[2] as f64, s[3] as f64);
                    if year > 0.0 {
                        (share(s) / year).min(10.0)
                    } else {
                        1.0
                    }
                })
                .collect(),
        }
    }

    fn fill(&self, row: &mut [f64], sector: Sector) {
        row[Feature::SectorUnpaidRatio30d as usize] = self.unpaid_30[sector as usize];
        row[Feature::SectorUnpaidTrend as usize] = self.trend[sector as usize];
    }
}

/// Everything gathered as of T, from which each entity's row is filled.
struct Rows<'a> {
    ds: &'a Dataset,
    t: Date,
    season: Season,
    wages: &'a WageFacts,
    complaints: &'a ComplaintFacts,
    inspections: &'a InspectionFacts,
    progress: &'a ProgressFacts<'a>,
    chain: &'a ChainFacts,
    sectors: &'a SectorFacts,
}

impl Rows<'_> {
    /// When employer `e` was put on the blacklist, if it is on it at T.
    fn blacklisted_since(&self, e: usize) -> Option<Date> {
        self.ds.employers.blacklisted_on[e].filter(|d| *d <= self.t)
    }

    fn blacklisted(&self, e: usize) -> bool {
        self.blacklisted_since(e).is_some()
    }

    /// The features employers and projects share: wages, complaints, inspections and the season.
    fn fill_common(&self, row: &mut [f64], a: &WageAcc, c: &ComplaintAcc, i: &InspectionAcc, region: RegionCode) {
        use Feature as F;
        let t = self.t;
        let monthly_bill = a.due_90 as f64 / 3.0 / 100.0;
        row[F::OverdueUnpaidYuan as usize] = a.overdue_unpaid as f64 / 100.0;
        row[F::OverdueUnpaidToMonthlyWageBill as usize] = a.unpaid_ratio_90().min(100.0);
        row[F::MonthlyWageBillYuan as usize] = monthly_bill;
        row[F::UnpaidRatio30d as usize] = ratio(a.unpaid_30 as f64, a.due_30 as f64);
        row[F::UnpaidRatio365d as usize] = a.unpaid_ratio_365();
        row[F::ArrearsEvents90d as usize] = f64::from(a.events_90);
        row[F::ShareLate90d as usize] = a.share_late_90();
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
        row[F::ShortPayRunMonths as usize] = f64::from(a.short_pay_run_months());
        row[F::WagePerWorkerYuan as usize] = ratio(a.due0 as f64 / 100.0, f64::from(a.hc0));
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
        row[F::CleanInspections365d as usize] = f64::from(i.clean_365);
        row[F::InspectionsFoundArrears365d as usize] = f64::from(i.found_365);
        row[F::InspectionArrears365dYuan as usize] = i.amount_365 as f64 / 100.0;
        row[F::DaysSinceArrearsFound as usize] = days_since(t, i.last_found);
        row[F::DaysToSpringFestival as usize] = self.season.days_to_festival;
        row[F::HorizonInPreFestivalPeak as usize] = flag(self.season.in_peak);
        row[F::HorizonDaysInPreFestivalPeak as usize] = self.season.peak_days;
        row[F::HorizonDaysAfterFestival as usize] = self.season.after_festival_days;
    }

    /// The payroll rules both entity types share.
    fn common_alerts(a: &WageAcc, region: RegionCode) -> Alerts {
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
    }

    /// The rows of every scored employer.
    fn employers(&self, pop: &Population) -> FeatureMatrix {
        let mut m = FeatureMatrix::with_capacity(EntityType::Employer, self.t, pop.employers.len());
        let mut row = vec![0.0f64; Feature::COUNT];
        for &ix in &pop.employers {
            let e = ix.index();
            let region = self.ds.employers.region[e];
            row.iter_mut().for_each(|v| *v = 0.0);
            self.fill_common(
                &mut row,
                &self.wages.employers[e],
                &self.complaints.employers[e],
                &self.inspections.employers[e],
                region,
            );
            self.fill_employer(&mut row, e);
            let mut alerts = Rows::common_alerts(&self.wages.employers[e], region);
            for a in self.chain.contracted[e].missing.iter() {
                alerts.insert(a);
            }
            m.push(e, region, &row, alerts);
        }
        m
    }

    /// An employer's own features: the firm, and the chain around it.
    fn fill_employer(&self, row: &mut [f64], e: usize) {
        use Feature as F;
        let (ds, t) = (self.ds, self.t);
        row[F::EmployerAgeYears as usize] =
            ds.employers.founded_on[e].map_or(0.0, |f| f64::from(t.days_since(f)) / 365.25);
        let capital = ds.employers.registered_capital[e];
        row[F::LogRegisteredCapital as usize] = capital.map_or(0.0, |c| c.yuan().ln_1p());
        row[F::CapitalUnknown as usize] = flag(capital.is_none());
        row[F::Blacklisted as usize] = flag(self.blacklisted(e));
        row[F::DaysSinceBlacklisted as usize] = days_since(t, self.blacklisted_since(e));
        let kind = ds.employers.kind[e];
        row[F::KindGeneralContractor as usize] = flag(kind == EmployerKind::GeneralContractor);
        row[F::KindSubcontractor as usize] = flag(kind == EmployerKind::Subcontractor);
        row[F::KindLaborService as usize] = flag(kind == EmployerKind::LaborService);
        row[F::KindManufacturer as usize] = flag(kind == EmployerKind::Manufacturer);
        row[F::KindService as usize] = flag(kind == EmployerKind::Service);
        let sector = ds.employers.sector[e];
        self.sectors.fill(row, sector);
        row[F::SectorConstruction as usize] = flag(sector == Sector::Construction);
        row[F::SectorManufacturing as usize] = flag(sector == Sector::Manufacturing);
        let c = &self.chain.contracted[e];
        row[F::ActiveProjectsAsContractor as usize] = f64::from(c.active);
        let x = &self.chain.exposure[e];
        row[F::ProjectsWorked90d as usize] = f64::from(x.projects);
        row[F::ExposureProgressOverdueRatio as usize] = ratio(x.progress, x.weight);
        row[F::MaxOwnerProgressOverdueRatio as usize] = x.owner_max.max(c.owner_max);
        row[F::ExposureNoWageAccount as usize] = ratio(x.no_account, x.weight);
        row[F::ExposureNoDeposit as usize] = ratio(x.no_deposit, x.weight);
        row[F::ContractorsArrearsEvents365d as usize] = f64::from(x.contractor_events_max);
        let site = &self.wages.sites[e];
        row[F::SiteUnpaidRatio90d as usize] = site.unpaid_ratio_90().min(100.0);
        row[F::SiteArrearsEvents365d as usize] = f64::from(site.events_365);
        row[F::SiteComplaints90d as usize] = f64::from(self.complaints.site_complaints_90[e]);
        row[F::SiteDaysSinceShortPay as usize] = days_since(t, site.last_short);
        row[F::SiteShortPaidWorkerMonths3m as usize] = f64::from(site.short_90);
        row[F::SiteOverdueUnpaidYuan as usize] = site.overdue_unpaid as f64 / 100.0;
        row[F::ContractedProgressOverdueRatio as usize] = ratio(c.progress.0, c.progress.1).min(10.0);
        row[F::WorstOwnerPunctualityTrend as usize] = x.owner_trend_min.min(c.owner_trend_min);
        row[F::OwnersFailing as usize] = self.chain.owners_failing[e].len() as f64;
    }

    /// The rows of every scored project.
    fn projects(&self, pop: &Population) -> FeatureMatrix {
        let mut m = FeatureMatrix::with_capacity(EntityType::Project, self.t, pop.projects.len());
        let mut row = vec![0.0f64; Feature::COUNT];
        for &ix in &pop.projects {
            let p = ix.index();
            let pj = &self.ds.projects;
            let region = pj.region[p];
            row.iter_mut().for_each(|v| *v = 0.0);
            self.fill_common(
                &mut row,
                &self.wages.projects[p],
                &self.complaints.projects[p],
                &self.inspections.projects[p],
                region,
            );
            self.fill_project(&mut row, p);
            let mut alerts = Rows::common_alerts(&self.wages.projects[p], region);
            if !pj.wage_account_opened[p] {
                alerts.insert(Alert::NoWageAccount);
            }
            if pj.guarantee_deposit[p].is_none() {
                alerts.insert(Alert::NoGuaranteeDeposit);
            }
            m.push(p, region, &row, alerts);
        }
        m
    }

    /// A project's own features: the contract, its progress payments, its contractor and its crew.
    fn fill_project(&self, row: &mut [f64], p: usize) {
        use Feature as F;
        let (ds, t) = (self.ds, self.t);
        let pj = &ds.projects;
        self.sectors.fill(row, Sector::Construction);
        row[F::LogContractValue as usize] = pj.contract_value[p].yuan().ln_1p();
        row[F::GovernmentFunded as usize] = flag(pj.government_funded[p]);
        row[F::WageAccountOpened as usize] = flag(pj.wage_account_opened[p]);
        row[F::HasGuaranteeDeposit as usize] = flag(pj.guarantee_deposit[p].is_some());
        let own = &self.wages.projects[p];
        let monthly_bill = own.due_90 as f64 / 3.0;
        row[F::DepositToMonthlyWageBill as usize] =
            ratio(pj.guarantee_deposit[p].map_or(0.0, |d| d.fen() as f64), monthly_bill).min(100.0);
        row[F::ProjectAgeDays as usize] = f64::from(t.days_since(pj.start_date[p]));
        row[F::DaysToPlannedEnd as usize] = f64::from(pj.planned_end_date[p].days_since(t));
        row[F::OverdueCompletionDays as usize] =
            if ended_by(ds, p, t) { 0.0 } else { f64::from(t.days_since(pj.planned_end_date[p]).max(0)) };
        row[F::UnpaidRatio90d as usize] = ratio(own.unpaid_90 as f64, own.due_90 as f64);
        let crew = &self.chain.crew[p];
        row[F::EmployersOnSite90d as usize] = crew.len() as f64;
        row[F::ProgressOverdueRatio as usize] = self.progress.ratio(p);
        row[F::ProgressMaxDaysOverdue as usize] = self.progress.max_days_overdue(p);
        row[F::ProgressUnpaidInstalments as usize] = self.progress.unpaid_instalments(p);
        row[F::OwnerProgressOverdueRatio as usize] = self.progress.owner_ratio(p);
        row[F::OwnerProjects as usize] = self.progress.owner_projects(p);
        row[F::OwnerPunctualityTrend as usize] = self.progress.owner_punctuality_trend(p);
        row[F::OwnerDaysSincePaid as usize] = self.progress.owner_days_since_paid(p, t);
        let gc = pj.general_contractor[p].index();
        let emp = &self.wages.employers;
        row[F::ContractorBlacklisted as usize] = flag(self.blacklisted(gc));
        row[F::ContractorArrearsEvents365d as usize] = f64::from(emp[gc].events_365);
        row[F::ContractorComplaints365d as usize] = f64::from(self.complaints.employers[gc].c365);
        row[F::CrewMaxArrearsEvents365d as usize] =
            crew.iter().map(|&e| f64::from(emp[e as usize].events_365)).fold(0.0, f64::max);
        row[F::CrewMaxUnpaidRatio90d as usize] =
            crew.iter().map(|&e| emp[e as usize].unpaid_ratio_90().min(100.0)).fold(0.0, f64::max);
        row[F::CrewMaxUnpaidRatio365d as usize] =
            crew.iter().map(|&e| emp[e as usize].unpaid_ratio_365()).fold(0.0, f64::max);
        row[F::CrewMaxShareLate90d as usize] =
            crew.iter().map(|&e| emp[e as usize].share_late_90()).fold(0.0, f64::max);
        row[F::CrewAnyBlacklisted as usize] = flag(crew.iter().any(|&e| self.blacklisted(e as usize)));
    }
}
