//! Reasons: the features that push an entity's score up most, as stable codes with Chinese and English
//! text that quote the entity's own values ("工资逾期未发 42 万元, 占月工资 1.8 倍").

use crate::features::{Feature, FeatureMatrix};

/// One reason behind a score: a feature that pushed it up, with the entity's own values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reason {
    pub feature: Feature,
    /// The entity's value of the feature.
    pub value: f64,
    /// A related value the text quotes (for overdue wages, their ratio to the monthly wage bill).
    pub related: Option<f64>,
    /// The feature's contribution to the raw score (log-odds).
    pub weight: f64,
}

impl Reason {
    /// The stable machine-readable code: the feature's name.
    pub fn code(&self) -> &'static str {
        self.feature.name()
    }

    /// The reason in Chinese and in English.
    pub fn texts(&self) -> (String, String) {
        let related = self.related;
        reason_text(self.feature, self.value, |_| related)
    }
}

/// Chinese and English labels of each feature, as a reason reads them (every feature has both: the match
/// is exhaustive).
pub fn labels(f: Feature) -> (&'static str, &'static str) {
    use Feature as F;
    match f {
        F::OverdueUnpaidYuan => ("工资逾期未发", "overdue unpaid wages"),
        F::OverdueUnpaidToMonthlyWageBill => ("逾期欠薪占月工资", "overdue wages against the monthly wage bill"),
        F::MonthlyWageBillYuan => ("月工资总额", "monthly wage bill"),
        F::UnpaidRatio30d => ("近 30 天到期工资未付比例", "unpaid share of wages due in the last 30 days"),
        F::UnpaidRatio90d => ("近 3 月到期工资未付比例", "unpaid share of wages due in the last 3 months"),
        F::UnpaidRatio365d => ("近一年到期工资未付比例", "unpaid share of wages due in the last year"),
        F::ArrearsEvents90d => ("近 3 月欠薪人月数", "arrears worker-months in the last 3 months"),
        F::ShareLate90d => ("工资迟发人月占比", "share of worker-months paid late"),
        F::ShortPaidWorkerMonths1m => ("近 1 月少发工资人月数", "short-paid worker-months, last month"),
        F::ShortPaidWorkerMonths3m => ("近 3 月少发工资人月数", "short-paid worker-months, last 3 months"),
        F::ShortPaidWorkerMonths6m => ("近 6 月少发工资人月数", "short-paid worker-months, last 6 months"),
        F::ShortPaidWorkerMonths12m => ("近 12 月少发工资人月数", "short-paid worker-months, last 12 months"),
        F::ShareWorkerMonthsShort90d => ("近 3 月少发工资占比", "share of worker-months short-paid, last 3 months"),
        F::ShareWorkersUnpaid90d => ("被欠薪工人占比", "share of workers owed wages"),
        F::DaysLateMean90d => ("工资平均迟发天数", "mean days wages were late"),
        F::DaysLateMax90d => ("工资最长迟发天数", "longest wage delay"),
        F::PaidToDueTrend => ("实发/应发比例下降", "paid-to-due ratio falling"),
        F::PayPerDayToMinimumWage => ("日均实发工资与最低工资之比", "pay per day against the minimum wage"),
        F::LumpPayments90d => ("大额集中发放人月数", "lump payments to single workers"),
        F::ArrearsEvents365d => ("近一年欠薪人月数", "arrears worker-months in the last year"),
        F::DaysSinceShortPay => ("距上次少发工资天数", "days since wages were last short-paid"),
        F::ShortPayRunMonths => ("连续少发工资月数", "consecutive months of short-paid wages"),
        F::WagePerWorkerYuan => ("上月人均应发工资", "wage due per worker last month"),
        F::HeadcountLastMonth => ("上月在册工人", "workers last month"),
        F::HeadcountChange3m => ("工人数 3 个月变化", "headcount change over 3 months"),
        F::HeadcountChange12m => ("工人数 12 个月变化", "headcount change over 12 months"),
        F::LeaversOwed6m => ("被欠薪后离开的工人", "workers who left while owed wages"),
        F::DaysWorkedMeanLastMonth => ("上月人均出勤天数", "mean days worked last month"),
        F::DaysWorkedChange3m => ("出勤天数 3 个月变化", "change in days worked over 3 months"),
        F::Complaints30d => ("近 30 天投诉", "complaints in the last 30 days"),
        F::Complaints90d => ("近 90 天投诉", "complaints in the last 90 days"),
        F::Complaints365d => ("近一年投诉", "complaints in the last year"),
        F::ComplaintsOpen => ("未办结投诉", "open complaints"),
        F::ComplaintsSubstantiated365d => ("近一年查实投诉", "substantiated complaints in the last year"),
        F::ComplaintsUnsubstantiated365d => ("近一年未查实投诉", "unsubstantiated complaints in the last year"),
        F::GroupIncidents365d => {
            ("近一年群体性事件或移送公安", "group incidents or criminal referrals in the last year")
        }
        F::ComplaintWorkers90d => ("近 90 天投诉涉及工人", "workers in complaints, last 90 days"),
        F::ComplaintAmount90dYuan => ("近 90 天投诉金额", "amount claimed in complaints, last 90 days"),
        F::DaysSinceComplaint => ("距上次投诉天数", "days since the last complaint"),
        F::CleanInspections365d => ("近一年检查未发现欠薪次数", "inspections that found no arrears in the last year"),
        F::InspectionsFoundArrears365d => ("近一年检查发现欠薪", "inspections that found arrears in the last year"),
        F::InspectionArrears365dYuan => ("近一年检查查出欠薪", "arrears found by inspections in the last year"),
        F::DaysSinceArrearsFound => ("距上次查出欠薪天数", "days since arrears were last found"),
        F::SectorUnpaidRatio30d => {
            ("本行业近 30 天工资未付比例", "unpaid share of wages due in its sector, last 30 days")
        }
        F::SectorUnpaidTrend => ("本行业欠薪比例上升", "its sector's unpaid share rising against the year"),
        F::OwnerPunctualityTrend => {
            ("建设单位工程款支付准时率下降", "the owner paying its instalments late more often")
        }
        F::OwnerDaysSincePaid => ("建设单位距上次支付工程款天数", "days since the owner last paid an instalment"),
        F::WorstOwnerPunctualityTrend => {
            ("所涉建设单位工程款支付准时率下降", "an owner it works for paying instalments late more often")
        }
        F::OwnersFailing => ("所涉建设单位支付困难个数", "owners it works for that are failing to pay"),
        F::DaysToSpringFestival => ("距春节天数", "days to Spring Festival"),
        F::HorizonInPreFestivalPeak => ("预测期处于春节前欠薪高峰", "the horizon falls in the pre-festival peak"),
        F::HorizonDaysInPreFestivalPeak => {
            ("预测期内处于春节前欠薪高峰的天数", "days of the horizon in the pre-festival peak")
        }
        F::HorizonDaysAfterFestival => {
            ("预测期内处于春节后淡季的天数", "days of the horizon in the post-festival lull")
        }
        F::EmployerAgeYears => ("成立年限", "years since founding"),
        F::LogRegisteredCapital => ("注册资本(对数)", "registered capital (log)"),
        F::CapitalUnknown => ("注册资本不详", "registered capital unknown"),
        F::Blacklisted => ("已列入拖欠工资黑名单", "on the wage-arrears blacklist"),
        F::DaysSinceBlacklisted => ("列入黑名单以来天数", "days since it was blacklisted"),
        F::KindGeneralContractor => ("施工总承包企业", "general contractor"),
        F::KindSubcontractor => ("专业分包企业", "subcontractor"),
        F::KindLaborService => ("劳务企业", "labour-service firm"),
        F::KindManufacturer => ("制造企业", "manufacturer"),
        F::KindService => ("服务企业", "service firm"),
        F::SectorConstruction => ("建筑业", "construction sector"),
        F::SectorManufacturing => ("制造业", "manufacturing sector"),
        F::ActiveProjectsAsContractor => ("在建总包项目", "active projects as general contractor"),
        F::ProjectsWorked90d => ("近 90 天参建项目", "projects worked on, last 90 days"),
        F::ExposureProgressOverdueRatio => ("所在项目工程款拖欠", "overdue progress payments on its projects"),
        F::MaxOwnerProgressOverdueRatio => ("建设单位拖欠工程款", "an owner behind on progress payments"),
        F::ExposureNoWageAccount => ("所在项目未开工资专户", "its projects lack wage accounts"),
        F::ExposureNoDeposit => ("所在项目未缴保证金", "its projects lack guarantee deposits"),
        F::ContractorsArrearsEvents365d => ("总包单位有欠薪记录", "its general contractors' arrears record"),
        F::SiteUnpaidRatio90d => ("总包项目工地欠薪比例", "unpaid wages on the sites it contracts"),
        F::SiteArrearsEvents365d => ("总包项目工地欠薪人月", "arrears worker-months on the sites it contracts"),
        F::SiteComplaints90d => ("总包项目近 90 天投诉", "complaints about its sites, last 90 days"),
        F::SiteDaysSinceShortPay => {
            ("距总包项目工地上次少发工资天数", "days since wages were last short-paid on its sites")
        }
        F::SiteShortPaidWorkerMonths3m => {
            ("总包项目工地近 3 月少发工资人月数", "short-paid worker-months on its sites, last 3 months")
        }
        F::SiteOverdueUnpaidYuan => ("总包项目工地逾期未发工资", "overdue unpaid wages on its sites"),
        F::ContractedProgressOverdueRatio => ("总包项目工程款拖欠", "owners behind on progress payments to it"),
        F::LogContractValue => ("合同金额(对数)", "contract value (log)"),
        F::GovernmentFunded => ("政府投资项目", "government funded"),
        F::WageAccountOpened => ("已开工资专户", "wage account opened"),
        F::HasGuaranteeDeposit => ("已缴工资保证金", "guarantee deposit lodged"),
        F::DepositToMonthlyWageBill => ("保证金覆盖月工资倍数", "deposit against the monthly wage bill"),
        F::ProjectAgeDays => ("开工天数", "days since start"),
        F::DaysToPlannedEnd => ("距计划竣工天数", "days to planned completion"),
        F::OverdueCompletionDays => ("超期未竣工天数", "days past planned completion"),
        F::EmployersOnSite90d => ("近 90 天在场用工单位", "employers on site, last 90 days"),
        F::ProgressOverdueRatio => ("工程款逾期比例", "overdue progress payments"),
        F::ProgressMaxDaysOverdue => ("工程款最长逾期天数", "longest-overdue progress instalment"),
        F::ProgressUnpaidInstalments => ("逾期未付工程款期数", "unpaid progress instalments"),
        F::OwnerProgressOverdueRatio => ("建设单位整体拖欠工程款", "the owner's overdue progress payments overall"),
        F::OwnerProjects => ("同一建设单位项目数", "projects of the same owner"),
        F::ContractorBlacklisted => ("总包单位已列入黑名单", "general contractor blacklisted"),
        F::ContractorArrearsEvents365d => ("总包单位近一年欠薪人月", "general contractor's arrears in the last year"),
        F::ContractorComplaints365d => ("总包单位近一年投诉", "complaints against the general contractor"),
        F::CrewMaxArrearsEvents365d => ("在场分包单位欠薪记录", "arrears record of employers on site"),
        F::CrewMaxUnpaidRatio90d => ("在场分包单位欠薪比例", "unpaid wages of employers on site"),
        F::CrewMaxUnpaidRatio365d => {
            ("在场单位一年内未付工资占比", "unpaid share of a year's wages of employers on site")
        }
        F::CrewMaxShareLate90d => ("在场单位工资迟发人月占比", "share of worker-months paid late by employers on site"),
        F::CrewAnyBlacklisted => ("在场单位有黑名单企业", "a blacklisted employer on site"),
    }
}

/// Money in a Chinese text: 万元 from ten thousand yuan up, else 元.
pub(crate) fn money_zh(yuan: f64) -> String {
    if yuan >= 10_000.0 {
        format!("{:.1} 万元", yuan / 10_000.0).replace(".0 万", " 万")
    } else {
        format!("{yuan:.0} 元")
    }
}

/// Money in an English text: thousands of yuan from a thousand up.
pub(crate) fn money_en(yuan: f64) -> String {
    if yuan >= 1_000.0 {
        format!("{:.0}k yuan", yuan / 1_000.0)
    } else {
        format!("{yuan:.0} yuan")
    }
}

/// The text of a reason for `feature`, quoting its value and, where it helps, a related one.
pub fn reason_text(feature: Feature, value: f64, related: impl Fn(Feature) -> Option<f64>) -> (String, String) {
    use Feature as F;
    let (zh, en) = labels(feature);
    let unit = feature.def().unit;
    match feature {
        F::OverdueUnpaidYuan => {
            let ratio = related(F::OverdueUnpaidToMonthlyWageBill).unwrap_or(0.0);
            (
                format!("{zh} {}, 占月工资 {ratio:.1} 倍", money_zh(value)),
                format!("{en} {}, {ratio:.1}x the monthly wage bill", money_en(value)),
            )
        }
        _ => match unit {
            "yuan" => (format!("{zh} {}", money_zh(value)), format!("{en} {}", money_en(value))),
            "share" => (format!("{zh} {:.0}%", value * 100.0), format!("{en} {:.0}%", value * 100.0)),
            "ratio" => (format!("{zh} {value:.2}"), format!("{en} {value:.2}")),
            "flag" => (zh.to_string(), en.to_string()),
            "days" => (format!("{zh} {value:.0} 天"), format!("{en}: {value:.0} days")),
            "years" => (format!("{zh} {value:.1} 年"), format!("{en}: {value:.1}")),
            _ => (format!("{zh} {value:.0}"), format!("{en}: {value:.0}")),
        },
    }
}

/// The value a reason about `f` quotes beside its own.
fn related_feature(f: Feature) -> Option<Feature> {
    (f == Feature::OverdueUnpaidYuan).then_some(Feature::OverdueUnpaidToMonthlyWageBill)
}

/// Which columns of `m` can tell its entities apart: not a season feature (the same for every entity of
/// an as-of date by definition), and, where there are two rows or more, not constant over the matrix. A
/// feature every entity of the date shares explains nothing about one of them, so it is never a reason.
pub fn distinguishing(m: &FeatureMatrix) -> Vec<bool> {
    let p = m.features.len();
    let first = (m.rows() > 0).then(|| m.row(0));
    m.features
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let varies = m.rows() < 2 || (1..m.rows()).any(|i| m.values[i * p + j] != first.map_or(0.0, |r| r[j]));
            f.def().group != "season" && varies
        })
        .collect()
}

/// The top `k` reasons of row `i` of `m`, from the features' contributions to its raw score, among the
/// columns `usable` allows ([`distinguishing`]). Texts are made on demand ([`Reason::texts`]): a batch of
/// 100,000 scores needs only the codes.
pub fn top_reasons(m: &FeatureMatrix, i: usize, contributions: &[f64], usable: &[bool], k: usize) -> Vec<Reason> {
    let mut top: Vec<usize> = Vec::with_capacity(k + 1);
    for (j, &c) in contributions.iter().enumerate() {
        if c <= 1e-6 || !usable[j] {
            continue;
        }
        let at = top.partition_point(|&t| contributions[t] >= c);
        if at < k {
            top.insert(at, j);
            top.truncate(k);
        }
    }
    top.into_iter()
        .map(|j| {
            let feature = m.features[j];
            let related = related_feature(feature).and_then(|g| m.get(i, g));
            Reason { feature, value: m.row(i)[j], related, weight: contributions[j] }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_reads_in_chinese_and_in_english() {
        let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let mut seen = std::collections::HashSet::new();
        for f in Feature::ALL {
            let (zh, en) = labels(*f);
            assert!(cjk(zh) && !en.is_empty() && en.is_ascii() && !cjk(en), "{}: {zh} / {en}", f.name());
            assert!(seen.insert(zh), "{}: {zh} is another feature's label too", f.name());
        }
    }

    #[test]
    fn overdue_wages_read_as_the_supervisors_expect() {
        let (zh, en) = reason_text(Feature::OverdueUnpaidYuan, 420_000.0, |f| {
            (f == Feature::OverdueUnpaidToMonthlyWageBill).then_some(1.8)
        });
        assert_eq!(zh, "工资逾期未发 42 万元, 占月工资 1.8 倍");
        assert_eq!(en, "overdue unpaid wages 420k yuan, 1.8x the monthly wage bill");
        let (zh, _) = reason_text(Feature::ShareWorkersUnpaid90d, 0.35, |_| None);
        assert_eq!(zh, "被欠薪工人占比 35%");
    }
}
