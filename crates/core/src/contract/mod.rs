//! The data contract v1 as types: the tables, their columns and logical types, the enumerations and the
//! value types (`Date`, `Month`, `Money`, `RegionCode`) that every other module speaks.
//!
//! `shared/data-contract.md` is the binding text; this module is its single translation into code. Ingest
//! checks data against these specs, the generator writes data from them, and nothing else in the crate
//! spells a column name.

mod time;

use std::fmt;

pub use time::{Date, Month, MAX_DATE, MIN_DATE};

/// The longest identifier the contract allows, in characters.
pub const MAX_ID_CHARS: usize = 64;

/// The tables of a dataset, in the order they are validated (references point backwards only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    Employers,
    Projects,
    Payroll,
    Payments,
    Complaints,
    ProgressPayments,
    Inspections,
    /// Names of administrative divisions (v1.1).
    Regions,
}

impl Table {
    /// Every table, in validation order.
    pub const ALL: [Table; 8] = [
        Table::Employers,
        Table::Projects,
        Table::Payroll,
        Table::Payments,
        Table::Complaints,
        Table::ProgressPayments,
        Table::Inspections,
        Table::Regions,
    ];

    /// The file or folder name of the table inside a dataset.
    pub fn name(self) -> &'static str {
        match self {
            Table::Employers => "employers",
            Table::Projects => "projects",
            Table::Payroll => "payroll",
            Table::Payments => "payments",
            Table::Complaints => "complaints",
            Table::ProgressPayments => "progress_payments",
            Table::Inspections => "inspections",
            Table::Regions => "regions",
        }
    }

    /// Whether a dataset must contain the table.
    pub fn is_required(self) -> bool {
        !matches!(self, Table::ProgressPayments | Table::Inspections | Table::Regions)
    }

    /// The columns the contract defines for this table.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Employers => EMPLOYERS,
            Table::Projects => PROJECTS,
            Table::Payroll => PAYROLL,
            Table::Payments => PAYMENTS,
            Table::Complaints => COMPLAINTS,
            Table::ProgressPayments => PROGRESS_PAYMENTS,
            Table::Inspections => INSPECTIONS,
            Table::Regions => REGIONS,
        }
    }

    /// The position of a contract column in `columns()`.
    pub fn column_index(self, name: &str) -> Option<usize> {
        self.columns().iter().position(|c| c.name == name)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The logical type of a contract column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A non-empty identifier of at most 64 characters.
    Id,
    /// Free text.
    Text,
    /// A 6-digit administrative division code.
    Region,
    /// A 2, 4 or 6-digit administrative division code: a province, a city or a district (v1.1).
    Division,
    /// One of a fixed set of lowercase codes.
    Enum(&'static [&'static str]),
    /// `YYYY-MM-DD`, between 1990-01-01 and 2100-12-31.
    Date,
    /// `YYYY-MM`.
    Month,
    /// Yuan, non-negative, at most 2 decimals.
    Money,
    /// A whole number in an inclusive range.
    Int { min: i64, max: i64 },
    /// `true`/`false` or `1`/`0`.
    Bool,
}

/// One column of a contract table.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, required: true }
}

const fn opt(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, required: false }
}

/// Values of `employers.kind`.
pub const EMPLOYER_KINDS: &[&str] =
    &["general_contractor", "subcontractor", "labor_service", "manufacturer", "service", "other"];
/// Values of `employers.sector`.
pub const SECTORS: &[&str] = &["construction", "manufacturing", "services", "transport", "other"];
/// Values of `complaints.channel`.
pub const CHANNELS: &[&str] = &["hotline", "online", "walk_in", "police", "media", "other"];
/// Values of `complaints.category`.
pub const CATEGORIES: &[&str] = &["wage_arrears", "group_incident", "criminal_referral", "other"];
/// Values of `complaints.outcome`.
pub const OUTCOMES: &[&str] = &["substantiated", "unsubstantiated", "withdrawn"];
/// Why an inspected firm was inspected (v1.1).
pub const SELECTIONS: &[&str] = &["random", "risk_list", "complaint", "routine", "other"];

const EMPLOYERS: &[Column] = &[
    req("employer_id", Kind::Id),
    req("name", Kind::Text),
    req("kind", Kind::Enum(EMPLOYER_KINDS)),
    req("sector", Kind::Enum(SECTORS)),
    req("region_code", Kind::Region),
    opt("registered_capital", Kind::Money),
    opt("founded_on", Kind::Date),
    opt("blacklisted_on", Kind::Date),
];

const PROJECTS: &[Column] = &[
    req("project_id", Kind::Id),
    req("name", Kind::Text),
    req("region_code", Kind::Region),
    req("general_contractor_id", Kind::Id),
    opt("owner_id", Kind::Id),
    req("contract_value", Kind::Money),
    req("start_date", Kind::Date),
    req("planned_end_date", Kind::Date),
    opt("actual_end_date", Kind::Date),
    req("government_funded", Kind::Bool),
    req("wage_account_opened", Kind::Bool),
    opt("guarantee_deposit", Kind::Money),
];

const PAYROLL: &[Column] = &[
    opt("project_id", Kind::Id),
    req("employer_id", Kind::Id),
    req("worker_id", Kind::Id),
    req("period", Kind::Month),
    req("days_worked", Kind::Int { min: 0, max: 31 }),
    req("wage_due", Kind::Money),
    req("due_date", Kind::Date),
];

const PAYMENTS: &[Column] = &[
    opt("project_id", Kind::Id),
    req("employer_id", Kind::Id),
    req("worker_id", Kind::Id),
    req("period", Kind::Month),
    req("amount", Kind::Money),
    req("paid_on", Kind::Date),
];

const COMPLAINTS: &[Column] = &[
    req("complaint_id", Kind::Id),
    req("received_on", Kind::Date),
    opt("employer_id", Kind::Id),
    opt("project_id", Kind::Id),
    req("channel", Kind::Enum(CHANNELS)),
    req("category", Kind::Enum(CATEGORIES)),
    req("workers_involved", Kind::Int { min: 1, max: i32::MAX as i64 }),
    opt("amount_claimed", Kind::Money),
    opt("closed_on", Kind::Date),
    opt("outcome", Kind::Enum(OUTCOMES)),
];

const PROGRESS_PAYMENTS: &[Column] = &[
    req("project_id", Kind::Id),
    req("scheduled_on", Kind::Date),
    req("amount_due", Kind::Money),
    opt("paid_on", Kind::Date),
    opt("amount_paid", Kind::Money),
];

const INSPECTIONS: &[Column] = &[
    req("inspection_id", Kind::Id),
    req("employer_id", Kind::Id),
    opt("project_id", Kind::Id),
    req("inspected_on", Kind::Date),
    req("found_arrears", Kind::Bool),
    opt("arrears_amount", Kind::Money),
    opt("workers_affected", Kind::Int { min: 0, max: i32::MAX as i64 }),
    opt("selection", Kind::Enum(SELECTIONS)),
];

const REGIONS: &[Column] = &[req("region_code", Kind::Division), req("name", Kind::Text)];

/// An amount of money in fen (1/100 yuan), exact: the contract allows at most 2 decimals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// Zero yuan.
    pub const ZERO: Money = Money(0);

    /// An amount from fen.
    pub const fn from_fen(fen: i64) -> Money {
        Money(fen)
    }

    /// The amount in fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// The amount in yuan.
    pub fn yuan(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// Converts yuan given as a float, or `None` when it is negative, not finite, or has more than 2 decimals.
    /// A value within [`FLOAT_NOISE_YUAN`] of a whole fen (relative above 1 yuan) is that fen: tools that
    /// compute amounts in binary floating point write 7.12 as `7.119999999999763`.
    pub fn from_yuan(yuan: f64) -> Option<Money> {
        if !yuan.is_finite() || !(0.0..=9.0e13).contains(&yuan) {
            return None;
        }
        let fen = (yuan * 100.0).round();
        ((fen / 100.0 - yuan).abs() <= FLOAT_NOISE_YUAN * yuan.max(1.0)).then_some(Money(fen as i64))
    }

    /// Parses a plain decimal such as `4500`, `4500.5` or `4500.50`.
    pub fn parse(text: &str) -> Result<Money, MoneyProblem> {
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        if let Some(rest) = int_part.strip_prefix('-') {
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if !(rest.is_empty() && frac_part.is_empty()) && digits(rest) && digits(frac_part) {
                // Zero written as `-0.00`, or binary-float noise just below it, is zero.
                let value: f64 = text.parse().map_err(|_| MoneyProblem::NotANumber)?;
                return if value >= -FLOAT_NOISE_YUAN { Ok(Money(0)) } else { Err(MoneyProblem::Negative) };
            }
            return Err(MoneyProblem::NotANumber);
        }
        let int_part = int_part.strip_prefix('+').unwrap_or(int_part);
        let ok_int = !int_part.is_empty() || !frac_part.is_empty();
        if !ok_int
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || int_part.len() > 15
        {
            return Err(MoneyProblem::NotANumber);
        }
        let frac_trimmed = frac_part.trim_end_matches('0');
        if frac_trimmed.len() > 2 {
            // More decimals than fen: binary-float noise around a whole fen, or a real third decimal.
            let value: f64 = text.parse().map_err(|_| MoneyProblem::NotANumber)?;
            return Money::from_yuan(value).ok_or(MoneyProblem::TooManyDecimals);
        }
        let yuan: i64 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| MoneyProblem::NotANumber)? };
        let mut fen = 0i64;
        for (i, b) in frac_trimmed.bytes().enumerate() {
            fen += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
        }
        Ok(Money(yuan * 100 + fen))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// How far from a whole fen a money value may lie and still be read as that fen (relative for amounts above
/// 1 yuan): the data contract's allowance for binary-float noise.
pub const FLOAT_NOISE_YUAN: f64 = 1e-6;

/// Why a text is not an amount of money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoneyProblem {
    NotANumber,
    Negative,
    TooManyDecimals,
}

/// A 6-digit administrative division code (2 digits province, 2 city, 2 district).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode(u32);

impl RegionCode {
    /// Parses exactly six ASCII digits.
    pub fn parse(text: &str) -> Option<RegionCode> {
        let b = text.as_bytes();
        (b.len() == 6 && b.iter().all(u8::is_ascii_digit)).then(|| RegionCode(text.parse().unwrap_or(0)))
    }

    /// The code as a number, e.g. 320102.
    pub fn value(self) -> u32 {
        self.0
    }

    /// The code from a number below 1,000,000.
    pub fn from_value(value: u32) -> Option<RegionCode> {
        (value < 1_000_000).then_some(RegionCode(value))
    }

    /// Whether this code lies under a prefix of 2, 4 or 6 digits.
    pub fn starts_with(self, prefix: &str) -> bool {
        self.to_string().starts_with(prefix)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

/// A region filter: a 2-digit province, 4-digit city or 6-digit district code prefix, or the whole
/// country (written as the empty string).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegionPrefix {
    digits: u8,
    value: u32,
}

/// The whole country.
impl Default for RegionPrefix {
    fn default() -> Self {
        RegionPrefix::ALL
    }
}

impl RegionPrefix {
    /// Every region.
    pub const ALL: RegionPrefix = RegionPrefix { digits: 0, value: 0 };

    /// Parses an empty string (all), or 2, 4 or 6 ASCII digits.
    pub fn parse(text: &str) -> Option<RegionPrefix> {
        let b = text.as_bytes();
        if !matches!(b.len(), 0 | 2 | 4 | 6) || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(RegionPrefix { digits: b.len() as u8, value: if b.is_empty() { 0 } else { text.parse().ok()? } })
    }

    /// A division's own code: a province, city or district, 2, 4 or 6 digits (never the whole country).
    pub fn parse_division(text: &str) -> Option<RegionPrefix> {
        RegionPrefix::parse(text).filter(|p| p.digits > 0)
    }

    /// The prefix of a whole district code.
    pub fn district(code: RegionCode) -> RegionPrefix {
        RegionPrefix { digits: 6, value: code.value() }
    }

    /// The number of digits: 0 (all), 2, 4 or 6.
    pub fn digits(self) -> u8 {
        self.digits
    }

    /// Whether a district lies in this region.
    #[inline]
    pub fn contains(self, code: RegionCode) -> bool {
        // The region's districts are one range of codes: no division on this path, which filters every
        // row of a run for every request.
        const SCALE: [u32; 7] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
        let scale = SCALE[6 - self.digits as usize];
        let first = self.value * scale;
        (first..first + scale).contains(&code.value())
    }

    /// Whether every district of `inner` lies in this region.
    pub fn covers(self, inner: RegionPrefix) -> bool {
        inner.digits >= self.digits && inner.value / 10u32.pow((inner.digits - self.digits) as u32) == self.value
    }

    /// The districts in both regions: the narrower one when one covers the other, else none.
    pub fn intersect(self, other: RegionPrefix) -> Option<RegionPrefix> {
        if self.covers(other) {
            Some(other)
        } else if other.covers(self) {
            Some(self)
        } else {
            None
        }
    }
}

impl fmt::Display for RegionPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.digits == 0 {
            Ok(())
        } else {
            write!(f, "{:0width$}", self.value, width = self.digits as usize)
        }
    }
}

/// Generates a closed enum over one contract enumeration, with its code list kept in one place.
macro_rules! contract_enum {
    ($(#[$doc:meta])* $name:ident, $codes:ident, [$($variant:ident),+]) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The contract's code for this value.
            pub fn code(self) -> &'static str {
                $codes[self as usize]
            }

            /// The value for a contract code.
            pub fn parse(code: &str) -> Option<$name> {
                $codes.iter().position(|c| *c == code).map(|i| Self::ALL[i])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

contract_enum!(
    /// What an employer is in the wage chain.
    EmployerKind, EMPLOYER_KINDS, [GeneralContractor, Subcontractor, LaborService, Manufacturer, Service, Other]
);
contract_enum!(
    /// The employer's economic sector.
    Sector, SECTORS, [Construction, Manufacturing, Services, Transport, Other]
);
contract_enum!(
    /// How a complaint reached the authorities.
    Channel, CHANNELS, [Hotline, Online, WalkIn, Police, Media, Other]
);
contract_enum!(
    /// What a complaint is about.
    Category, CATEGORIES, [WageArrears, GroupIncident, CriminalReferral, Other]
);
contract_enum!(
    /// How a closed complaint ended.
    Outcome, OUTCOMES, [Substantiated, Unsubstantiated, Withdrawn]
);
contract_enum!(
    /// Why a firm was inspected: `Random` is the audit slice, drawn at random from the scored population.
    Selection, SELECTIONS, [Random, RiskList, Complaint, Routine, Other]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Result<i64, MoneyProblem>) {
        assert_eq!(Money::parse(text).map(Money::fen), expected, "{text:?}");
    }

    #[test]
    fn region_prefixes_nest_by_digits() {
        let d = RegionCode::parse("320102").unwrap();
        let p = |t: &str| RegionPrefix::parse(t).unwrap();
        for (prefix, inside) in
            [("", true), ("32", true), ("3201", true), ("320102", true), ("3202", false), ("31", false)]
        {
            assert_eq!(p(prefix).contains(d), inside, "{prefix}");
            assert_eq!(p(prefix).to_string(), prefix);
        }
        assert!(p("32").covers(p("320102")) && !p("320102").covers(p("32")));
        assert_eq!(p("3201").intersect(p("32")), Some(p("3201")));
        assert_eq!(p("3201").intersect(p("3202")), None);
        assert_eq!(p("05").to_string(), "05");
        for bad in ["3", "32010", "3201020", "32a1", " 32"] {
            assert_eq!(RegionPrefix::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn money_parses_plain_decimals() {
        check("4500", Ok(450_000));
        check("4500.5", Ok(450_050));
        check("4500.50", Ok(450_050));
        check("0.07", Ok(7));
        check(".5", Ok(50));
        check("12.3400", Ok(1_234));
        // Zero with a sign, and noise just below zero, are zero; anything less is negative.
        check("-0", Ok(0));
        check("-0.00", Ok(0));
        check("-0.0000001", Ok(0));
        check("-0.01", Err(MoneyProblem::Negative));
        check("-3.5", Err(MoneyProblem::Negative));
        check("-", Err(MoneyProblem::NotANumber));
        check("-x", Err(MoneyProblem::NotANumber));
        check("1.005", Err(MoneyProblem::TooManyDecimals));
        // Binary-float noise around a whole fen (pandas and polars write these) is that fen.
        check("7.119999999999763", Ok(712));
        check("7.120000000000001", Ok(712));
        check("0.30000000000000004", Ok(30));
        check("123456789.01000001", Ok(12_345_678_901));
        check("0.0000001", Ok(0));
        check("0.000002", Err(MoneyProblem::TooManyDecimals));
        check("7.1234", Err(MoneyProblem::TooManyDecimals));
        check("4500.0051", Err(MoneyProblem::TooManyDecimals));
        check("1e3", Err(MoneyProblem::NotANumber));
        check("", Err(MoneyProblem::NotANumber));
        check("12,000", Err(MoneyProblem::NotANumber));
        assert_eq!(Money::from_yuan(4321.07), Some(Money::from_fen(432_107)));
        assert_eq!(Money::from_yuan(0.1 + 0.2), Some(Money::from_fen(30)));
        assert_eq!(Money::from_yuan(1.234), None);
        assert_eq!(Money::from_yuan(-1.0), None);
        assert_eq!(Money::from_yuan(f64::NAN), None);
    }

    #[test]
    fn enums_and_regions_round_trip() {
        for kind in EmployerKind::ALL {
            assert_eq!(EmployerKind::parse(kind.code()), Some(*kind));
        }
        assert_eq!(Outcome::parse("Substantiated"), None);
        assert_eq!(RegionCode::parse("320102").map(|r| r.to_string()), Some("320102".into()));
        assert_eq!(RegionCode::parse("32010"), None);
        assert!(RegionCode::parse("320102").is_some_and(|r| r.starts_with("3201")));
        assert_eq!(Table::Payroll.column_index("wage_due"), Some(5));
    }
}
