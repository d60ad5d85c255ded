//! The Spring Festival calendar: wage arrears peak in the weeks before Chinese New Year, so features,
//! schedules and the generator all ask how far a date is from the next festival.
//!
//! The table holds every Chinese New Year's day from 1988 to 2101 (the contract's dates run from 1990 to
//! 2100; a training panel looks up to two years further back, and the festival after 2100-12-31 is in 2101).
//! It was taken from one published source and is checked day by day against another, the
//! `chinese-lunisolar-calendar` crate (test `the_table_agrees_with_the_lunisolar_calendar`). A date the table
//! cannot answer for is an error, never a default.

use crate::contract::Date;

/// Why the calendar cannot answer: the date lies past the last festival it knows of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no Spring Festival date is known after {date}: the calendar covers {first} to {last}", first = FESTIVALS[0], last = FESTIVALS[FESTIVALS.len() - 1])]
pub struct OutsideCalendar {
    pub date: Date,
}

/// Chinese New Year's day, 1988 to 2101 (year, month, day).
const SPRING_FESTIVALS: [(i32, u32, u32); 114] = [
    (1988, 2, 17),
    (1989, 2, 6),
    (1990, 1, 27),
    (1991, 2, 15),
    (1992, 2, 4),
    (1993, 1, 23),
    (1994, 2, 10),
    (1995, 1, 31),
    (1996, 2, 19),
    (1997, 2, 7),
    (1998, 1, 28),
    (1999, 2, 16),
    (2000, 2, 5),
    (2001, 1, 24),
    (2002, 2, 12),
    (2003, 2, 1),
    (2004, 1, 22),
    (2005, 2, 9),
    (2006, 1, 29),
    (2007, 2, 18),
    (2008, 2, 7),
    (2009, 1, 26),
    (2010, 2, 14),
    (2011, 2, 3),
    (2012, 1, 23),
    (2013, 2, 10),
    (2014, 1, 31),
    (2015, 2, 19),
    (2016, 2, 8),
    (2017, 1, 28),
    (2018, 2, 16),
    (2019, 2, 5),
    (2020, 1, 25),
    (2021, 2, 12),
    (2022, 2, 1),
    (2023, 1, 22),
    (2024, 2, 10),
    (2025, 1, 29),
    (2026, 2, 17),
    (2027, 2, 6),
    (2028, 1, 26),
    (2029, 2, 13),
    (2030, 2, 3),
    (2031, 1, 23),
    (2032, 2, 11),
    (2033, 1, 31),
    (2034, 2, 19),
    (2035, 2, 8),
    (2036, 1, 28),
    (2037, 2, 15),
    (2038, 2, 4),
    (2039, 1, 24),
    (2040, 2, 12),
    (2041, 2, 1),
    (2042, 1, 22),
    (2043, 2, 10),
    (2044, 1, 30),
    (2045, 2, 17),
    (2046, 2, 6),
    (2047, 1, 26),
    (2048, 2, 14),
    (2049, 2, 2),
    (2050, 1, 23),
    (2051, 2, 11),
    (2052, 2, 1),
    (2053, 2, 19),
    (2054, 2, 8),
    (2055, 1, 28),
    (2056, 2, 15),
    (2057, 2, 4),
    (2058, 1, 24),
    (2059, 2, 12),
    (2060, 2, 2),
    (2061, 1, 21),
    (2062, 2, 9),
    (2063, 1, 29),
    (2064, 2, 17),
    (2065, 2, 5),
    (2066, 1, 26),
    (2067, 2, 14),
    (2068, 2, 3),
    (2069, 1, 23),
    (2070, 2, 11),
    (2071, 1, 31),
    (2072, 2, 19),
    (2073, 2, 7),
    (2074, 1, 27),
    (2075, 2, 15),
    (2076, 2, 5),
    (2077, 1, 24),
    (2078, 2, 12),
    (2079, 2, 2),
    (2080, 1, 22),
    (2081, 2, 9),
    (2082, 1, 29),
    (2083, 2, 17),
    (2084, 2, 6),
    (2085, 1, 26),
    (2086, 2, 14),
    (2087, 2, 3),
    (2088, 1, 24),
    (2089, 2, 10),
    (2090, 1, 30),
    (2091, 2, 18),
    (2092, 2, 7),
    (2093, 1, 27),
    (2094, 2, 15),
    (2095, 2, 5),
    (2096, 1, 25),
    (2097, 2, 12),
    (2098, 2, 1),
    (2099, 1, 21),
    (2100, 2, 9),
    (2101, 1, 29),
];

/// The table as dates, ascending.
const FESTIVALS: [Date; 114] = {
    let mut out = [Date::from_days(0); 114];
    let mut i = 0;
    while i < out.len() {
        let (y, m, d) = SPRING_FESTIVALS[i];
        out[i] = Date::from_ymd_const(y, m, d);
        i += 1;
    }
    out
};

/// The Spring Festival falls between January 21 and February 20, so a festival is never earlier in its
/// year than this (month, day).
const EARLIEST_IN_YEAR: (u32, u32) = (1, 21);

/// Every known festival date, ascending.
pub fn spring_festivals() -> impl Iterator<Item = Date> {
    FESTIVALS.iter().copied()
}

/// The first Spring Festival on or after `date`.
pub fn next_spring_festival(date: Date) -> Result<Date, OutsideCalendar> {
    FESTIVALS.get(FESTIVALS.partition_point(|f| *f < date)).copied().ok_or(OutsideCalendar { date })
}

/// The festival of the given Gregorian year (it always falls in January or February), if the table has it.
pub fn spring_festival_of_year(year: i32) -> Option<Date> {
    FESTIVALS.iter().copied().find(|f| f.ymd().0 == year)
}

/// Days from `date` to the next Spring Festival.
pub fn days_to_spring_festival(date: Date) -> Result<i32, OutsideCalendar> {
    next_spring_festival(date).map(|f| f.days_since(date))
}

/// The wage-arrears peak: the days before each Spring Festival when late and short pay concentrate.
pub const PRE_FESTIVAL_PEAK_DAYS: i32 = 60;

/// Whether `day` lies in the 60 days before a Spring Festival (the festival day itself included). Past the
/// table's last festival a day is known to lie outside the peak when the next festival, however early it
/// falls in its year, is more than 60 days away.
fn in_pre_festival_peak(day: Date) -> Result<bool, OutsideCalendar> {
    match next_spring_festival(day) {
        Ok(f) => Ok(f.days_since(day) <= PRE_FESTIVAL_PEAK_DAYS),
        Err(e) => {
            let (year, _, _) = day.ymd();
            let (month, dom) = EARLIEST_IN_YEAR;
            let earliest_next = Date::from_ymd(year + 1, month, dom).ok_or(e)?;
            if earliest_next.days_since(day) > PRE_FESTIVAL_PEAK_DAYS {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}

/// The quiet weeks after each Spring Festival, when workers have been paid off and sites restart.
pub const POST_FESTIVAL_DAYS: i32 = 60;

/// How many days of the horizon `(t, t + horizon_days]` fall in the 60 days from a Spring Festival on (the
/// festival day included).
pub fn horizon_days_after_festival(t: Date, horizon_days: i32) -> Result<i32, OutsideCalendar> {
    let mut days = 0;
    for k in 1..=horizon_days.max(0) {
        let day = t.add_days(k);
        let i = FESTIVALS.partition_point(|f| *f <= day);
        let last = if i == 0 { return Err(OutsideCalendar { date: day }) } else { FESTIVALS[i - 1] };
        days += i32::from(day.days_since(last) < POST_FESTIVAL_DAYS);
    }
    Ok(days)
}

/// Whether the horizon `(t, t + horizon_days]` overlaps the 60 days before the next Spring Festival.
pub fn horizon_in_pre_festival_peak(t: Date, horizon_days: i32) -> Result<bool, OutsideCalendar> {
    horizon_days_in_pre_festival_peak(t, horizon_days).map(|days| days > 0)
}

/// How many days of the horizon `(t, t + horizon_days]` fall in the 60 days before a Spring Festival (the
/// festival day itself included): the share of the wages falling due in the horizon that fall due in the peak.
pub fn horizon_days_in_pre_festival_peak(t: Date, horizon_days: i32) -> Result<i32, OutsideCalendar> {
    let mut days = 0;
    for k in 1..=horizon_days {
        days += i32::from(in_pre_festival_peak(t.add_days(k))?);
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use chinese_lunisolar_calendar::{LunisolarDate, SolarDate};

    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn next_festival_is_on_or_after() {
        assert_eq!(next_spring_festival(d("2025-12-01")), Ok(d("2026-02-17")));
        assert_eq!(next_spring_festival(d("2026-02-17")), Ok(d("2026-02-17")));
        assert_eq!(days_to_spring_festival(d("2027-01-05")), Ok(32));
        assert_eq!(spring_festival_of_year(2024), Some(d("2024-02-10")));
        // Past the old 2019-2030 table: a real date, not "365 days away".
        assert_eq!(days_to_spring_festival(d("2031-01-01")), Ok(22));
        assert_eq!(next_spring_festival(d("1990-01-01")), Ok(d("1990-01-27")));
        assert_eq!(next_spring_festival(d("2100-12-31")), Ok(d("2101-01-29")));
        // After the last festival the calendar says so.
        assert_eq!(next_spring_festival(d("2101-01-30")), Err(OutsideCalendar { date: d("2101-01-30") }));
        assert!(days_to_spring_festival(d("2101-06-01")).unwrap_err().to_string().contains("2101-01-29"));
    }

    #[test]
    fn the_peak_of_a_horizon_counts_its_days() {
        assert_eq!(horizon_in_pre_festival_peak(d("2026-12-01"), 60), Ok(true));
        assert_eq!(horizon_in_pre_festival_peak(d("2027-01-20"), 60), Ok(true));
        assert_eq!(horizon_in_pre_festival_peak(d("2026-10-01"), 60), Ok(false));
        assert_eq!(horizon_in_pre_festival_peak(d("2026-06-01"), 60), Ok(false));
        assert_eq!(horizon_in_pre_festival_peak(d("2027-02-06"), 60), Ok(false));
        // 2027-02-06: the peak runs from 2026-12-08; the horizon from 2026-12-02 to 2027-01-30.
        assert_eq!(horizon_days_in_pre_festival_peak(d("2026-12-01"), 60), Ok(54));
        // 2026-02-17: the peak runs from 2025-12-19.
        assert_eq!(horizon_days_in_pre_festival_peak(d("2025-12-01"), 60), Ok(43));
        // The festival day counts; the days after it do not.
        assert_eq!(horizon_days_in_pre_festival_peak(d("2027-02-01"), 60), Ok(5));
        assert_eq!(horizon_days_in_pre_festival_peak(d("2026-06-01"), 60), Ok(0));
        // The next year's peak, when the horizon reaches it.
        assert_eq!(horizon_days_in_pre_festival_peak(d("2026-10-01"), 90), Ok(23));
        // Past the table: the peak of 2102 cannot start before 2101-11-22, so a horizon ending earlier has none.
        assert_eq!(horizon_days_in_pre_festival_peak(d("2101-03-01"), 200), Ok(0));
        assert!(horizon_days_in_pre_festival_peak(d("2101-10-01"), 60).is_err());
        // The last as-of date the contract allows, with the default horizon: the 2101 festival's peak.
        assert_eq!(horizon_days_in_pre_festival_peak(d("2100-12-31"), 60), Ok(29));
    }

    #[test]
    fn the_post_festival_lull_of_a_horizon_counts_its_days() {
        // 2026-02-17: the lull runs to 2026-04-17, 60 days with the festival day.
        assert_eq!(horizon_days_after_festival(d("2026-03-01"), 60), Ok(47));
        assert_eq!(horizon_days_after_festival(d("2026-02-01"), 60), Ok(45));
        assert_eq!(horizon_days_after_festival(d("2026-02-16"), 1), Ok(1));
        assert_eq!(horizon_days_after_festival(d("2026-04-17"), 60), Ok(0));
        assert_eq!(horizon_days_after_festival(d("2026-06-01"), 60), Ok(0));
        // Before the table's first festival the calendar says so.
        assert!(horizon_days_after_festival(d("1988-01-01"), 60).is_err());
    }

    #[test]
    fn the_table_agrees_with_the_lunisolar_calendar() {
        // Every year the crate covers: its first lunar day of the year, as a solar date, is the table's.
        for (year, month, day) in SPRING_FESTIVALS.iter().copied().filter(|(y, _, _)| *y <= 2100) {
            let lunar = |date: Date| {
                let (y, m, d) = date.ymd();
                let solar = SolarDate::from_ymd(y as u16, m as u8, d as u8).unwrap();
                let l = LunisolarDate::from_solar_date(solar).unwrap_or_else(|e| panic!("{date}: {e:?}"));
                (l.to_lunar_month().to_u8(), l.to_lunar_month().is_leap_month(), l.to_lunar_day().to_u8())
            };
            let festival = Date::from_ymd(year, month, day).unwrap();
            assert_eq!(lunar(festival), (1, false, 1), "{festival} is not the first day of a lunar year");
            // The day before is the last of the old year.
            assert_eq!(lunar(festival.add_days(-1)).0, 12, "{festival}: the eve is not in the twelfth month");
        }
        // 2101's festival is the day after the last day the crate knows, the eve of lunar year 2101.
        let last = chinese_lunisolar_calendar::MAX_LUNISOLAR_DATE_IN_SOLAR_DATE;
        let (y, m, dd) = (last.to_solar_year().to_u16(), last.to_solar_month().to_u8(), last.to_solar_day().to_u8());
        let last = Date::from_ymd(i32::from(y), u32::from(m), u32::from(dd)).unwrap();
        assert_eq!(last.add_days(1), d("2101-01-29"));
        // Ascending, one a year.
        assert!(FESTIVALS.windows(2).all(|w| w[1].ymd().0 == w[0].ymd().0 + 1));
    }
}
