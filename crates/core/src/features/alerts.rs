//! The platforms' red/yellow rules, computed as named alerts beside the score (never instead of it).

use std::fmt;

/// One platform rule that fired for an entity as of T.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Alert {
    /// Wages of a month M still less than 90% paid in month M+2 or later.
    WagesUnpaidTwoMonths,
    /// In the latest wage month, 10% or more of the workers who attended received no pay.
    AttendedWorkersUnpaid,
    /// Average pay per day worked in the latest wage month below the local minimum wage.
    PayBelowMinimumWage,
    /// A single worker paid implausibly much for one month (over twice the wage and over 20,000 yuan).
    ImplausibleSinglePayment,
    /// A project (or a live project the employer contracts) without a dedicated wage account.
    NoWageAccount,
    /// A project (or a live project the employer contracts) without a wage guarantee deposit.
    NoGuaranteeDeposit,
}

impl Alert {
    /// Every alert.
    pub const ALL: [Alert; 6] = [
        Alert::WagesUnpaidTwoMonths,
        Alert::AttendedWorkersUnpaid,
        Alert::PayBelowMinimumWage,
        Alert::ImplausibleSinglePayment,
        Alert::NoWageAccount,
        Alert::NoGuaranteeDeposit,
    ];

    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Alert::WagesUnpaidTwoMonths => "wages_unpaid_two_months",
            Alert::AttendedWorkersUnpaid => "attended_workers_unpaid",
            Alert::PayBelowMinimumWage => "pay_below_minimum_wage",
            Alert::ImplausibleSinglePayment => "implausible_single_payment",
            Alert::NoWageAccount => "no_wage_account",
            Alert::NoGuaranteeDeposit => "no_guarantee_deposit",
        }
    }

    /// The alert in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            Alert::WagesUnpaidTwoMonths => "工资拖欠超过两个月",
            Alert::AttendedWorkersUnpaid => "出勤工人一成以上未领到工资",
            Alert::PayBelowMinimumWage => "日均工资低于当地最低工资",
            Alert::ImplausibleSinglePayment => "单人单月收款异常偏高",
            Alert::NoWageAccount => "未开设农民工工资专用账户",
            Alert::NoGuaranteeDeposit => "未缴纳工资保证金",
        }
    }

    /// The alert in English.
    pub fn en(self) -> &'static str {
        match self {
            Alert::WagesUnpaidTwoMonths => "wages unpaid for two months or more",
            Alert::AttendedWorkersUnpaid => "10% or more of attending workers unpaid",
            Alert::PayBelowMinimumWage => "pay per day below the local minimum wage",
            Alert::ImplausibleSinglePayment => "one worker paid implausibly much in a month",
            Alert::NoWageAccount => "no dedicated wage account",
            Alert::NoGuaranteeDeposit => "no wage guarantee deposit",
        }
    }
}

/// A set of alerts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Alerts(u8);

impl Alerts {
    /// Adds an alert.
    pub fn insert(&mut self, alert: Alert) {
        self.0 |= 1 << alert as u8;
    }

    /// Whether the alert fired.
    pub fn contains(self, alert: Alert) -> bool {
        self.0 & (1 << alert as u8) != 0
    }

    /// The alerts that fired, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = Alert> {
        Alert::ALL.into_iter().filter(move |a| self.contains(*a))
    }

    /// How many alerts fired.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether none fired.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The bits, for storage.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Alerts from stored bits.
    pub fn from_bits(bits: u8) -> Alerts {
        Alerts(bits & ((1 << Alert::ALL.len()) - 1))
    }
}

impl fmt::Display for Alerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.iter().map(Alert::code).collect();
        f.write_str(&codes.join(";"))
    }
}
