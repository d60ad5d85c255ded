//! The feature catalogue: every feature's self-explaining name, unit, group, which entity types have it,
//! and a one-line meaning. The order here is the column order of feature matrices and model files.

use std::fmt;

/// Which entity types a feature describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Both,
    Employer,
    Project,
}

/// The kind of entity scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityType {
    Employer,
    Project,
}

impl EntityType {
    /// Both entity types.
    pub const ALL: [EntityType; 2] = [EntityType::Employer, EntityType::Project];

    /// The contract's code.
    pub fn code(self) -> &'static str {
        match self {
            EntityType::Employer => "employer",
            EntityType::Project => "project",
        }
    }

    /// The type for a contract code.
    pub fn parse(code: &str) -> Option<EntityType> {
        EntityType::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The features of this entity type, in column order.
    pub fn features(self) -> Vec<Feature> {
        Feature::ALL
            .iter()
            .copied()
            .filter(|f| match f.def().scope {
                Scope::Both => true,
                Scope::Employer => self == EntityType::Employer,
                Scope::Project => self == EntityType::Project,
            })
            .collect()
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A feature's definition.
#[derive(Clone, Copy, Debug)]
pub struct FeatureDef {
    pub name: &'static str,
    pub unit: &'static str,
    pub group: &'static str,
    pub scope: Scope,
    pub meaning: &'static str,
}

macro_rules! catalogue {
    ($($variant:ident => ($name:literal, $unit:literal, $group:literal, $scope:ident, $meaning:literal),)+) => {
        /// A feature, as of an as-of date T.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Feature { $($variant),+ }

        const DEFS: &[FeatureDef] = &[
            $(FeatureDef { name: $name, unit: $unit, group: $group, scope: Scope::$scope, meaning: $meaning }),+
        ];

        impl Feature {
            /// Every feature, in catalogue order.
            pub const ALL: &'static [Feature] = &[$(Feature::$variant),+];
        }
    };
}

catalogue! {
    OverdueUnpaidYuan => ("overdue_unpaid_yuan", "yuan", "wages", Both, "wages due on or before T (in the last 400 days) and still unpaid at T"),
    OverdueUnpaidToMonthlyWageBill => ("overdue_unpaid_to_monthly_wage_bill", "ratio", "wages", Both, "overdue unpaid wages divided by the average monthly wage bill of the last 90 days"),
    MonthlyWageBillYuan => ("monthly_wage_bill_yuan", "yuan", "wages", Both, "wages falling due in the last 90 days, per month"),
    UnpaidRatio30d => ("unpaid_ratio_30d", "ratio", "wages", Both, "unpaid share at T of wages due in the last 30 days"),
    UnpaidRatio90d => ("unpaid_ratio_90d", "ratio", "wages", Project, "unpaid share at T of wages due in the last 90 days"),
    UnpaidRatio365d => ("unpaid_ratio_365d", "ratio", "wages", Both, "unpaid share at T of wages due in the last 365 days"),
    ShortPaidWorkerMonths1m => ("short_paid_worker_months_1m", "count", "wages", Both, "worker-months due in the last 30 days paid less than 90% at T"),
    ShortPaidWorkerMonths3m => ("short_paid_worker_months_3m", "count", "wages", Both, "worker-months due in the last 90 days paid less than 90% at T"),
    ShortPaidWorkerMonths6m => ("short_paid_worker_months_6m", "count", "wages", Both, "worker-months due in the last 180 days paid less than 90% at T"),
    ShortPaidWorkerMonths12m => ("short_paid_worker_months_12m", "count", "wages", Both, "worker-months due in the last 365 days paid less than 90% at T"),
    ShareWorkerMonthsShort90d => ("share_worker_months_short_90d", "share", "wages", Both, "share of worker-months due in the last 90 days paid less than 90% at T"),
    ShareWorkersUnpaid90d => ("share_workers_unpaid_90d", "share", "wages", Both, "share of workers with wages due in the last 90 days who are owed money at T"),
    DaysLateMean90d => ("days_late_mean_90d", "days", "wages", Both, "mean days between due date and last payment of paid worker-months due in the last 90 days"),
    DaysLateMax90d => ("days_late_max_90d", "days", "wages", Both, "longest such delay"),
    PaidToDueTrend => ("paid_to_due_trend", "ratio", "wages", Both, "paid/due of the last 90 days minus paid/due of the 90 days before (as known at T)"),
    PayPerDayToMinimumWage => ("pay_per_day_to_minimum_wage", "ratio", "wages", Both, "pay per day worked in the last 90 days divided by the local daily minimum wage"),
    LumpPayments90d => ("lump_payments_90d", "count", "wages", Both, "worker-months of the last 90 days paid more than twice their wage and over 20,000 yuan"),
    ArrearsEvents90d => ("arrears_events_90d", "count", "wages", Both, "worker-months known by T to be under 90% paid 30 days after their due date (due 30 to 120 days before T)"),
    ShareLate90d => ("share_late_90d", "share", "wages", Both, "share of worker-months due in the last 90 days paid in full but more than 3 days late"),
    ArrearsEvents365d => ("arrears_events_365d", "count", "wages", Both, "worker-months known by T to be under 90% paid 30 days after their due date (last 365 days)"),
    DaysSinceShortPay => ("days_since_short_pay", "days", "wages", Both, "days since the due date of the latest short-paid worker-month (730 if none)"),
    ShortPayRunMonths => ("short_pay_run_months", "months", "wages", Both, "consecutive wage months, up to the latest or the one before it, each with a short-paid worker-month"),
    WagePerWorkerYuan => ("wage_per_worker_yuan", "yuan", "wages", Both, "mean wage due per worker in the latest wage month due by T"),
    HeadcountLastMonth => ("headcount_last_month", "workers", "workforce", Both, "workers on the payroll in the latest wage month due by T"),
    HeadcountChange3m => ("headcount_change_3m", "ratio", "workforce", Both, "headcount change against three months earlier"),
    HeadcountChange12m => ("headcount_change_12m", "ratio", "workforce", Both, "headcount change against twelve months earlier"),
    LeaversOwed6m => ("leavers_owed_6m", "workers", "workforce", Both, "workers who left in the last 6 months while still owed wages"),
    DaysWorkedMeanLastMonth => ("days_worked_mean_last_month", "days", "workforce", Both, "mean days worked in the latest wage month"),
    DaysWorkedChange3m => ("days_worked_change_3m", "ratio", "workforce", Both, "change of mean days worked against three months earlier"),
    Complaints30d => ("complaints_30d", "count", "complaints", Both, "complaints received in the last 30 days"),
    Complaints90d => ("complaints_90d", "count", "complaints", Both, "complaints received in the last 90 days"),
    Complaints365d => ("complaints_365d", "count", "complaints", Both, "complaints received in the last 365 days"),
    ComplaintsOpen => ("complaints_open", "count", "complaints", Both, "complaints received and not closed at T"),
    ComplaintsSubstantiated365d => ("complaints_substantiated_365d", "count", "complaints", Both, "complaints of the last 365 days closed as substantiated by T"),
    ComplaintsUnsubstantiated365d => ("complaints_unsubstantiated_365d", "count", "complaints", Both, "complaints of the last 365 days closed as unsubstantiated by T"),
    GroupIncidents365d => ("group_incidents_365d", "count", "complaints", Both, "group incidents and criminal referrals received in the last 365 days"),
    ComplaintWorkers90d => ("complaint_workers_90d", "workers", "complaints", Both, "workers involved in complaints of the last 90 days"),
    ComplaintAmount90dYuan => ("complaint_amount_90d_yuan", "yuan", "complaints", Both, "amounts claimed in complaints of the last 90 days"),
    DaysSinceComplaint => ("days_since_complaint", "days", "complaints", Both, "days since the latest complaint (730 if none)"),
    CleanInspections365d => ("clean_inspections_365d", "count", "inspections", Both, "inspections in the last 365 days that found no arrears"),
    InspectionsFoundArrears365d => ("inspections_found_arrears_365d", "count", "inspections", Both, "inspections of the last 365 days that found arrears"),
    InspectionArrears365dYuan => ("inspection_arrears_365d_yuan", "yuan", "inspections", Both, "arrears found by inspections in the last 365 days"),
    DaysSinceArrearsFound => ("days_since_arrears_found", "days", "inspections", Both, "days since an inspection last found arrears (730 if never)"),
    DaysToSpringFestival => ("days_to_spring_festival", "days", "season", Both, "days from T to the next Spring Festival"),
    HorizonInPreFestivalPeak => ("horizon_in_pre_festival_peak", "flag", "season", Both, "1 when the prediction horizon overlaps the 60 days before the next Spring Festival"),
    HorizonDaysInPreFestivalPeak => ("horizon_days_in_pre_festival_peak", "days", "season", Both, "days of the prediction horizon that fall in the 60 days before a Spring Festival"),
    HorizonDaysAfterFestival => ("horizon_days_after_festival", "days", "season", Both, "days of the prediction horizon that fall in the 60 days from a Spring Festival on (the post-festival lull)"),
    SectorUnpaidRatio30d => ("sector_unpaid_ratio_30d", "ratio", "sector", Both, "unpaid share at T of the wages due in the last 30 days, over every employer of its sector in the province (a project: construction)"),
    SectorUnpaidTrend => ("sector_unpaid_trend", "ratio", "sector", Both, "that share against the sector's unpaid share of the wages due in the last 365 days, at most 10 (1 when none was unpaid)"),
    EmployerAgeYears => ("employer_age_years", "years", "employer", Employer, "years since founding (0 if unknown)"),
    LogRegisteredCapital => ("log_registered_capital", "log yuan", "employer", Employer, "ln(1 + registered capital), 0 if unknown"),
    CapitalUnknown => ("capital_unknown", "flag", "employer", Employer, "1 when registered capital is not given"),
    Blacklisted => ("blacklisted", "flag", "employer", Employer, "1 when on the wage-arrears blacklist at T"),
    DaysSinceBlacklisted => ("days_since_blacklisted", "days", "employer", Employer, "days since it was put on the wage-arrears blacklist (730 if not on it at T)"),
    KindGeneralContractor => ("kind_general_contractor", "flag", "employer", Employer, "employer kind is general contractor"),
    KindSubcontractor => ("kind_subcontractor", "flag", "employer", Employer, "employer kind is subcontractor"),
    KindLaborService => ("kind_labor_service", "flag", "employer", Employer, "employer kind is labour-service firm"),
    KindManufacturer => ("kind_manufacturer", "flag", "employer", Employer, "employer kind is manufacturer"),
    KindService => ("kind_service", "flag", "employer", Employer, "employer kind is service"),
    SectorConstruction => ("sector_construction", "flag", "employer", Employer, "sector is construction"),
    SectorManufacturing => ("sector_manufacturing", "flag", "employer", Employer, "sector is manufacturing"),
    ActiveProjectsAsContractor => ("active_projects_as_contractor", "count", "employer", Employer, "projects it is general contractor of, started by T and not ended"),
    ProjectsWorked90d => ("projects_worked_90d", "count", "employer", Employer, "projects it had workers on in the last 90 days"),
    ExposureProgressOverdueRatio => ("exposure_progress_overdue_ratio", "ratio", "chain", Employer, "overdue progress payments of the projects it works on (wage-weighted)"),
    MaxOwnerProgressOverdueRatio => ("max_owner_progress_overdue_ratio", "ratio", "chain", Employer, "worst owner, over all that owner's projects, among the projects it works on or contracts"),
    ExposureNoWageAccount => ("exposure_no_wage_account", "share", "chain", Employer, "share of its wage bill on projects without a wage account"),
    ExposureNoDeposit => ("exposure_no_deposit", "share", "chain", Employer, "share of its wage bill on projects without a guarantee deposit"),
    ContractorsArrearsEvents365d => ("contractors_arrears_events_365d", "count", "chain", Employer, "arrears events of the general contractors of projects it works on (the worst one)"),
    SiteUnpaidRatio90d => ("site_unpaid_ratio_90d", "ratio", "chain", Employer, "unpaid share of wages due in the last 90 days on projects it contracts (all employers on site)"),
    SiteArrearsEvents365d => ("site_arrears_events_365d", "count", "chain", Employer, "arrears events on projects it contracts (all employers on site)"),
    SiteComplaints90d => ("site_complaints_90d", "count", "chain", Employer, "complaints about projects it contracts in the last 90 days"),
    SiteDaysSinceShortPay => ("site_days_since_short_pay", "days", "chain", Employer, "days since a worker on a project it contracts was last short-paid (730 if never)"),
    SiteShortPaidWorkerMonths3m => ("site_short_paid_worker_months_3m", "count", "chain", Employer, "short-paid worker-months on projects it contracts, last 3 months"),
    SiteOverdueUnpaidYuan => ("site_overdue_unpaid_yuan", "yuan", "chain", Employer, "overdue unpaid wages on projects it contracts (all employers on site)"),
    WorstOwnerPunctualityTrend => ("worst_owner_punctuality_trend", "share", "chain", Employer, "the most negative owner_punctuality_trend among the projects it works on or contracts"),
    OwnersFailing => ("owners_failing", "count", "chain", Employer, "distinct owners of the projects it works on or contracts whose punctuality fell by 0.3 or more, or that paid nothing for 120 days"),
    ContractedProgressOverdueRatio => ("contracted_progress_overdue_ratio", "ratio", "chain", Employer, "owners' overdue progress payments on the live projects it contracts"),
    LogContractValue => ("log_contract_value", "log yuan", "project", Project, "ln(1 + contract value)"),
    GovernmentFunded => ("government_funded", "flag", "project", Project, "1 when government funded"),
    WageAccountOpened => ("wage_account_opened", "flag", "project", Project, "1 when a dedicated wage account was opened"),
    HasGuaranteeDeposit => ("has_guarantee_deposit", "flag", "project", Project, "1 when a wage guarantee deposit was lodged"),
    DepositToMonthlyWageBill => ("deposit_to_monthly_wage_bill", "ratio", "project", Project, "guarantee deposit divided by the monthly wage bill"),
    ProjectAgeDays => ("project_age_days", "days", "project", Project, "days since the project started"),
    DaysToPlannedEnd => ("days_to_planned_end", "days", "project", Project, "days from T to the planned end (negative when past it)"),
    OverdueCompletionDays => ("overdue_completion_days", "days", "project", Project, "days past the planned end without having ended by T"),
    EmployersOnSite90d => ("employers_on_site_90d", "count", "project", Project, "employers with workers on the project in the last 90 days"),
    ProgressOverdueRatio => ("progress_overdue_ratio", "ratio", "project", Project, "progress payments 30+ days overdue divided by the amount due in 180 days (or 5% of the contract)"),
    ProgressMaxDaysOverdue => ("progress_max_days_overdue", "days", "project", Project, "age of the oldest progress instalment less than 90% paid at T"),
    ProgressUnpaidInstalments => ("progress_unpaid_instalments", "count", "project", Project, "progress instalments 30+ days old and less than 90% paid at T"),
    OwnerProgressOverdueRatio => ("owner_progress_overdue_ratio", "ratio", "chain", Project, "the owner's overdue progress payments over all its projects"),
    OwnerProjects => ("owner_projects", "count", "chain", Project, "projects of the same owner started by T"),
    OwnerPunctualityTrend => ("owner_punctuality_trend", "share", "chain", Project, "share of the owner's instalments (all its projects) dated 30-120 days before T paid within 30 days, less that share of the year before"),
    OwnerDaysSincePaid => ("owner_days_since_paid", "days", "chain", Project, "days since the owner last paid an instalment of any of its projects (730 if never)"),
    ContractorBlacklisted => ("contractor_blacklisted", "flag", "chain", Project, "1 when the general contractor is blacklisted at T"),
    ContractorArrearsEvents365d => ("contractor_arrears_events_365d", "count", "chain", Project, "arrears events of the general contractor anywhere (last 365 days)"),
    ContractorComplaints365d => ("contractor_complaints_365d", "count", "chain", Project, "complaints against the general contractor (last 365 days)"),
    CrewMaxArrearsEvents365d => ("crew_max_arrears_events_365d", "count", "chain", Project, "worst arrears record anywhere of the employers on site"),
    CrewMaxUnpaidRatio90d => ("crew_max_unpaid_ratio_90d", "ratio", "chain", Project, "worst overdue-unpaid ratio anywhere of the employers on site"),
    CrewMaxUnpaidRatio365d => ("crew_max_unpaid_ratio_365d", "ratio", "chain", Project, "largest unpaid share at T of the wages due in the last 365 days anywhere, among the employers on site"),
    CrewMaxShareLate90d => ("crew_max_share_late_90d", "share", "chain", Project, "largest share of worker-months paid in full but more than 3 days late in the last 90 days, over all their sites, of the employers on site"),
    CrewAnyBlacklisted => ("crew_any_blacklisted", "flag", "chain", Project, "1 when any employer on site is blacklisted at T"),
}

impl Feature {
    /// This feature's definition.
    pub fn def(self) -> &'static FeatureDef {
        &DEFS[self as usize]
    }

    /// The feature's stable name.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The feature with a given name.
    pub fn parse(name: &str) -> Option<Feature> {
        Feature::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// The number of features in the catalogue.
    pub const COUNT: usize = DEFS.len();

    /// The direction this feature is known to move the risk in: `1` for what an inspector knows only
    /// raises it (arrears found, substantiated complaints, group incidents, wages owed, progress payments
    /// overdue, a blacklisting), `-1` for the days since arrears were last found (never found counts as
    /// the longest), `0` where the model may learn either way. Models are constrained to it.
    pub fn known_direction(self) -> i8 {
        use Feature as F;
        match self {
            F::InspectionsFoundArrears365d
            | F::InspectionArrears365dYuan
            | F::ComplaintsSubstantiated365d
            | F::GroupIncidents365d
            | F::OverdueUnpaidYuan
            | F::OverdueUnpaidToMonthlyWageBill
            | F::SiteOverdueUnpaidYuan
            | F::ProgressOverdueRatio
            | F::OwnerProgressOverdueRatio
            | F::ExposureProgressOverdueRatio
            | F::MaxOwnerProgressOverdueRatio
            | F::ContractedProgressOverdueRatio
            | F::Blacklisted
            | F::ContractorBlacklisted => 1,
            F::DaysSinceArrearsFound => -1,
            _ => 0,
        }
    }
}

/// The catalogue as lines of text: a Markdown table (`markdown`) or aligned columns, one feature a line
/// with its name, unit, group, entity types and meaning.
pub fn catalogue_lines(markdown: bool) -> Vec<String> {
    let scope = |f: Feature| {
        let types: Vec<&str> = EntityType::ALL.iter().filter(|t| t.features().contains(&f)).map(|t| t.code()).collect();
        types.join("+")
    };
    let mut lines = Vec::with_capacity(Feature::COUNT + 1);
    if markdown {
        lines.push("| feature | unit | group | entities | meaning |\n|---|---|---|---|---|".to_string());
    }
    for f in Feature::ALL {
        let d = f.def();
        lines.push(if markdown {
            format!("| `{}` | {} | {} | {} | {} |", d.name, d.unit, d.group, scope(*f), d.meaning)
        } else {
            format!("{:<38} {:<9} {:<12} {:<17} {}", d.name, d.unit, d.group, scope(*f), d.meaning)
        });
    }
    lines
}
