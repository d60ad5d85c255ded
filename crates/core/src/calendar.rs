//! The Spring Festival calendar: wage arrears peak in the weeks before Chinese New Year, so features,
//! schedules and the generator all ask how far a date is from the next festival.

use crate::contract::Date;

/// Chinese New Year's day, 2019 to 2030 (the real dates).
const SPRING_FESTIVALS: [(i32, u32, u32); 12] = [
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
];

/// Every known festival date, ascending.
pub fn spring_festivals() -> impl Iterator<Item = Date> {
    SPRING_FESTIVALS.iter().filter_map(|&(y, m, d)| Date::from_ymd(y, m, d))
}

/// The first Spring Festival on or after `date`, or `None` beyond the known calendar.
pub fn next_spring_festival(date: Date) -> Option<Date> {
    spring_festivals().find(|f| *f >= date)
}

/// The festival of the given Gregorian year (it always falls in January or February).
pub fn spring_festival_of_year(year: i32) -> Option<Date> {
    spring_festivals().find(|f| f.ymd().0 == year)
}

/// Days from `date` to the next Spring Festival; dates past the calendar count as one year away.
pub fn days_to_spring_festival(date: Date) -> i32 {
    next_spring_festival(date).map_or(365, |f| f.days_since(date))
}

/// The wage-arrears peak: the days before each Spring Festival when late and short pay concentrate.
pub const PRE_FESTIVAL_PEAK_DAYS: i32 = 60;

/// Whether the horizon `(t, t + horizon_days]` overlaps the 60 days before the next Spring Festival.
pub fn horizon_in_pre_festival_peak(t: Date, horizon_days: i32) -> bool {
    horizon_days_in_pre_festival_peak(t, horizon_days) > 0
}

/// How many days of the horizon `(t, t + horizon_days]` fall in the 60 days before a Spring Festival (the
/// festival day itself included): the share of the wages falling due in the horizon that fall due in the peak.
pub fn horizon_days_in_pre_festival_peak(t: Date, horizon_days: i32) -> i32 {
    (1..=horizon_days)
        .filter(|&k| {
            let day = t.add_days(k);
            next_spring_festival(day).is_some_and(|f| f.days_since(day) <= PRE_FESTIVAL_PEAK_DAYS)
        })
        .count() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_festival_is_on_or_after() {
        let d = |s: &str| Date::parse(s).unwrap();
        assert_eq!(next_spring_festival(d("2025-12-01")), Some(d("2026-02-17")));
        assert_eq!(next_spring_festival(d("2026-02-17")), Some(d("2026-02-17")));
        assert_eq!(days_to_spring_festival(d("2027-01-05")), 32);
        assert_eq!(spring_festival_of_year(2024), Some(d("2024-02-10")));
        assert_eq!(days_to_spring_festival(d("2031-01-01")), 365);
        assert!(horizon_in_pre_festival_peak(d("2026-12-01"), 60));
        assert!(horizon_in_pre_festival_peak(d("2027-01-20"), 60));
        assert!(!horizon_in_pre_festival_peak(d("2026-10-01"), 60));
        assert!(!horizon_in_pre_festival_peak(d("2026-06-01"), 60));
        assert!(!horizon_in_pre_festival_peak(d("2027-02-06"), 60));
        // 2027-02-06: the peak runs from 2026-12-08; the horizon from 2026-12-02 to 2027-01-30.
        assert_eq!(horizon_days_in_pre_festival_peak(d("2026-12-01"), 60), 54);
        // 2026-02-17: the peak runs from 2025-12-19.
        assert_eq!(horizon_days_in_pre_festival_peak(d("2025-12-01"), 60), 43);
        // The festival day counts; the days after it do not.
        assert_eq!(horizon_days_in_pre_festival_peak(d("2027-02-01"), 60), 5);
        assert_eq!(horizon_days_in_pre_festival_peak(d("2026-06-01"), 60), 0);
        // The next year's peak, when the horizon reaches it.
        assert_eq!(horizon_days_in_pre_festival_peak(d("2026-10-01"), 90), 23);
    }
}
