//! When the server re-scores by itself: on a festival-aware interval (daily in the weeks before Spring
//! Festival, weekly otherwise, by default) and when the data folder changes. Pure functions of the times
//! given; the server reads the clock and the folder.

use std::path::Path;

use crate::config::ScheduleConfig;
use crate::state::Timestamp;
use wagewatch_core::calendar;

/// Why a re-score is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// The interval since the last published run has passed (or there is none).
    Interval,
    /// Files in the data folder changed since the last check.
    NewData,
}

impl Due {
    /// The trigger recorded with the run.
    pub fn trigger(self) -> &'static str {
        match self {
            Due::Interval => "schedule",
            Due::NewData => "new_data",
        }
    }
}

/// The interval in force on a day, in seconds.
pub fn interval_seconds(config: &ScheduleConfig, today: wagewatch_core::contract::Date) -> i64 {
    let days_to_festival = match calendar::days_to_spring_festival(today) {
        Ok(days) => Some(days),
        Err(e) => {
            tracing::error!(error = %e, "the festival calendar does not cover today: re-scoring at the regular interval");
            None
        }
    };
    let hours = if days_to_festival.is_some_and(|d| (0..=config.pre_festival_days).contains(&d)) {
        config.pre_festival_every_hours
    } else {
        config.every_hours
    };
    hours as i64 * 3600
}

/// Whether a re-score is due now, given the last run attempt and whether the data changed.
pub fn due(
    config: &ScheduleConfig,
    last_attempt: Option<Timestamp>,
    now: Timestamp,
    data_changed: bool,
) -> Option<Due> {
    if !config.enabled {
        return None;
    }
    if config.on_new_data && data_changed {
        return Some(Due::NewData);
    }
    match last_attempt {
        None => Some(Due::Interval),
        Some(t) if now.0 - t.0 >= interval_seconds(config, now.date()) => Some(Due::Interval),
        Some(_) => None,
    }
}

/// Whether a challenger is due for retraining: every `every_days` days (never when 0) since the newest
/// model registered or the last attempt, whichever is later (so a failed attempt waits its turn too).
pub fn retrain_due(
    every_days: u32,
    last_registered: Option<Timestamp>,
    last_attempt: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    if every_days == 0 {
        return false;
    }
    match last_registered.max(last_attempt) {
        None => true,
        Some(t) => now.0 - t.0 >= i64::from(every_days) * 86_400,
    }
}

/// A stamp of the data: for a store, its newest generation (it changes when an ingest commits, and not when
/// a reader touches the manifest); for a data folder, its files' names, sizes and modification times (it
/// changes when a file is added, removed or rewritten).
pub fn data_stamp(dir: &Path) -> String {
    if crate::datastore::DataStore::is_store(dir) {
        return match crate::datastore::DataStore::open(dir).and_then(|s| s.generation()) {
            Ok(Some(g)) => g.fingerprint(),
            Ok(None) => "store-empty".to_string(),
            Err(e) => format!("store-unreadable: {e}"),
        };
    }
    let mut entries = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else { continue };
        for e in read.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                let modified = meta.modified().ok().and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok());
                entries.push(format!("{}|{}|{}", e.path().display(), meta.len(), modified.map_or(0, |m| m.as_nanos())));
            }
        }
    }
    entries.sort();
    blake3::hash(entries.join("\n").as_bytes()).to_hex()[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wagewatch_core::contract::Date;

    fn at(day: &str, hour: i64) -> Timestamp {
        Timestamp(Date::parse(day).unwrap().days() as i64 * 86_400 + hour * 3600)
    }

    #[track_caller]
    fn check(last: Option<Timestamp>, now: Timestamp, changed: bool, expected: Option<Due>) {
        assert_eq!(due(&ScheduleConfig::default(), last, now, changed), expected);
    }

    #[test]
    fn daily_before_the_festival_weekly_otherwise() {
        // The 2027 festival is on 02-06: 2026-12-29 is 39 days before it, 2026-11-26 is 72 days before.
        check(None, at("2026-11-26", 0), false, Some(Due::Interval));
        check(Some(at("2026-12-28", 0)), at("2026-12-29", 1), false, Some(Due::Interval));
        check(Some(at("2026-12-29", 0)), at("2026-12-29", 23), false, None);
        check(Some(at("2026-11-20", 0)), at("2026-11-26", 0), false, None);
        check(Some(at("2026-11-19", 0)), at("2026-11-26", 0), false, Some(Due::Interval));
        check(Some(at("2026-11-26", 0)), at("2026-11-26", 1), true, Some(Due::NewData));
        let off = ScheduleConfig { enabled: false, ..Default::default() };
        assert_eq!(due(&off, None, at("2026-11-26", 0), true), None);
    }

    #[test]
    fn retraining_waits_its_interval_after_a_model_or_an_attempt() {
        let now = at("2026-11-26", 0);
        assert!(!retrain_due(0, None, None, now), "0 never retrains");
        assert!(retrain_due(30, None, None, now), "nothing registered yet");
        assert!(!retrain_due(30, Some(at("2026-11-01", 0)), None, now));
        assert!(retrain_due(30, Some(at("2026-10-27", 0)), None, now));
        // A failed attempt after the last model also waits the interval.
        assert!(!retrain_due(30, Some(at("2026-10-01", 0)), Some(at("2026-11-20", 0)), now));
    }
}
