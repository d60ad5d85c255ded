//! Calendar types of the contract: a `Date` (day precision) and a wage `Month`.
//!
//! Both are small `Copy` integers so that tables of millions of rows stay compact. A `Date` counts days
//! since 1970-01-01, exactly like Arrow's `Date32`, so Parquet dates convert without arithmetic.

use std::fmt;

/// A calendar day, stored as days since 1970-01-01 (the Arrow `Date32` representation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

/// The earliest date the contract accepts.
pub const MIN_DATE: Date = Date::from_ymd_const(1990, 1, 1);
/// The latest date the contract accepts.
pub const MAX_DATE: Date = Date::from_ymd_const(2100, 12, 31);

impl Date {
    /// Builds a date from days since 1970-01-01.
    pub const fn from_days(days: i32) -> Date {
        Date(days)
    }

    /// Days since 1970-01-01.
    pub const fn days(self) -> i32 {
        self.0
    }

    /// Builds a date from a year, month (1..=12) and day (1..=31), or `None` when the day does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date::from_ymd_const(year, month, day))
    }

    /// Days-from-civil (proleptic Gregorian), usable in constants; the caller guarantees a valid day
    /// ([`Date::from_ymd`] checks it).
    pub const fn from_ymd_const(year: i32, month: u32, day: u32) -> Date {
        let y = if month <= 2 { year - 1 } else { year };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = (y - era * 400) as u32;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Date(era * 146_097 + doe as i32 - 719_468)
    }

    /// The (year, month, day) of this date.
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = (z - era * 146_097) as u32;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe as i32 + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = digits(&b[0..4])? as i32;
        let month = digits(&b[5..7])?;
        let day = digits(&b[8..10])?;
        Date::from_ymd(year, month, day)
    }

    /// This date moved by a number of days.
    pub fn add_days(self, days: i32) -> Date {
        Date(self.0 + days)
    }

    /// Whole days from `earlier` to `self`.
    pub fn days_since(self, earlier: Date) -> i32 {
        self.0 - earlier.0
    }

    /// The wage month this date falls in.
    pub fn month(self) -> Month {
        let (y, m, _) = self.ymd();
        Month::new(y, m)
    }

    /// Whether the contract accepts this date (1990-01-01 to 2100-12-31).
    pub fn in_contract_range(self) -> bool {
        (MIN_DATE..=MAX_DATE).contains(&self)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A wage month (`YYYY-MM`), stored as `year * 12 + month - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i32);

impl Month {
    /// Builds a month from a year and a month number 1..=12.
    pub fn new(year: i32, month: u32) -> Month {
        Month(year * 12 + month as i32 - 1)
    }

    /// The month index `year * 12 + month - 1`.
    pub fn index(self) -> i32 {
        self.0
    }

    /// The month with the given index.
    pub fn from_index(index: i32) -> Month {
        Month(index)
    }

    /// The year of this month.
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// The month number 1..=12.
    pub fn number(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    /// The first day of this month.
    pub fn first_day(self) -> Date {
        Date::from_ymd_const(self.year(), self.number(), 1)
    }

    /// The last day of this month.
    pub fn last_day(self) -> Date {
        self.next().first_day().add_days(-1)
    }

    /// The following month.
    pub fn next(self) -> Month {
        Month(self.0 + 1)
    }

    /// This month moved by `n` months.
    pub fn plus_months(self, n: i32) -> Month {
        Month(self.0 + n)
    }

    /// Parses exactly `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let b = text.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return None;
        }
        let year = digits(&b[0..4])? as i32;
        let month = digits(&b[5..7])?;
        (1..=12).contains(&month).then(|| Month::new(year, month))
    }

    /// Whether every day of this month lies in the contract's date range (1990-01 to 2100-12).
    pub fn in_contract_range(self) -> bool {
        (1990 * 12..=2100 * 12 + 11).contains(&self.0)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.number())
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, Months, NaiveDate};

    use super::*;

    #[test]
    fn every_day_of_the_contract_agrees_with_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut day = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(2100, 12, 31).unwrap();
        let mut previous: Option<Date> = None;
        while day <= last {
            let ours = Date::from_ymd(day.year(), day.month(), day.day()).unwrap();
            assert_eq!(i64::from(ours.days()), (day - epoch).num_days(), "{day}");
            assert_eq!(ours.ymd(), (day.year(), day.month(), day.day()), "{day}");
            assert_eq!(ours.to_string(), day.format("%Y-%m-%d").to_string());
            assert_eq!(Date::parse(&ours.to_string()), Some(ours));
            assert!(ours.in_contract_range());
            if let Some(p) = previous {
                assert_eq!(p.add_days(1), ours, "{day}");
                assert_eq!(ours.days_since(p), 1);
            }
            // The month: its number, first and last day, and the months around it.
            let m = ours.month();
            assert_eq!((m.year(), m.number()), (day.year(), day.month()));
            assert!(m.first_day() <= ours && ours <= m.last_day());
            let first = day.with_day(1).unwrap();
            assert_eq!(m.first_day().ymd(), (first.year(), first.month(), 1));
            let next_first = first + Months::new(1);
            assert_eq!(m.next().first_day().ymd(), (next_first.year(), next_first.month(), 1));
            assert_eq!(m.last_day().add_days(1), m.next().first_day());
            let back = first - Months::new(13);
            assert_eq!((m.plus_months(-13).year(), m.plus_months(-13).number()), (back.year(), back.month()));
            assert_eq!(Month::parse(&m.to_string()), Some(m));
            assert!(m.in_contract_range());
            previous = Some(ours);
            day = day.succ_opt().unwrap();
        }
        assert!(!Date::parse("1989-12-31").unwrap().in_contract_range());
        assert!(!Date::parse("2101-01-01").unwrap().in_contract_range());
        assert!(!Month::parse("2101-01").unwrap().in_contract_range());
    }

    #[test]
    fn dates_round_trip_through_days() {
        for days in [-800_000, -1, 0, 1, 10_957, 19_723, 47_847, 300_000] {
            let d = Date::from_days(days);
            let (y, m, dd) = d.ymd();
            assert_eq!(Date::from_ymd(y, m, dd), Some(d), "{days}");
        }
        assert_eq!(Date::parse("1970-01-01"), Some(Date::from_days(0)));
        assert_eq!(Date::parse("2024-02-29").map(|d| d.to_string()), Some("2024-02-29".into()));
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2023-1-01"), None);
        assert_eq!(Month::parse("2026-13"), None);
        assert_eq!(Month::parse("2026-02").map(|m| m.last_day().to_string()), Some("2026-02-28".into()));
        assert_eq!(MIN_DATE.to_string(), "1990-01-01");
        assert_eq!(MAX_DATE.to_string(), "2100-12-31");
    }
}
