//! The generator: deterministic, streams every contract table, and its CSV and Parquet outputs load to
//! identical tables that pass strict validation.

use std::fs;
use std::path::Path;

use wagewatch_core::contract::{Date, Table};
use wagewatch_synth::{self as synth, OutputFormat, SynthConfig};

use crate::support::*;

fn small(format: OutputFormat, seed: u64) -> SynthConfig {
    SynthConfig {
        scenario: Default::default(),
        employers: 60,
        seed,
        start: Date::parse("2024-01-01").unwrap(),
        end: Date::parse("2025-03-31").unwrap(),
        format,
    }
}

fn generate(config: &SynthConfig, dir: &Path) -> synth::SynthSummary {
    synth::generate(config, dir, &|_| {}).expect("generation succeeds")
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> =
        all_bytes(dir).into_iter().map(|(p, b)| (p.strip_prefix(dir).unwrap().display().to_string(), b)).collect();
    out.sort();
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(&small(OutputFormat::Parquet, 1), a.path());
    generate(&small(OutputFormat::Parquet, 1), b.path());
    generate(&small(OutputFormat::Parquet, 2), c.path());
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    let names: Vec<&str> = fa.iter().map(|(n, _)| n.as_str()).collect();
    for table in Table::ALL {
        assert!(names.contains(&format!("{}.parquet", table.name()).as_str()), "{names:?}");
    }
    assert_eq!(fa, fb);
    assert_ne!(fa, fc);
}

#[test]
fn csv_and_parquet_copies_load_to_identical_valid_tables() {
    let (p, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let summary = generate(&small(OutputFormat::Parquet, 3), p.path());
    generate(&small(OutputFormat::Csv, 3), c.path());
    let from_parquet = load_strict(p.path()).expect("generated Parquet is valid");
    let from_csv = load_strict(c.path()).expect("generated CSV is valid");
    assert_eq!(from_parquet.dataset, from_csv.dataset);
    let ds = &from_parquet.dataset;
    assert_eq!(ds.employers.len(), 60);
    assert!(ds.payroll.len() > 1_000, "{} payroll rows", ds.payroll.len());
    assert!(!ds.payments.is_empty() && !ds.complaints.is_empty());
    // The summary's row counts are what was written.
    for (table, rows) in &summary.rows {
        let report = from_parquet.tables.iter().find(|t| t.table == *table).unwrap();
        assert_eq!(report.rows_read, *rows, "{table}");
    }
    // Non-construction employers have payroll rows without a project.
    assert!(ds.payroll.project.iter().any(Option::is_none));
    assert!(ds.payroll.project.iter().any(Option::is_some));
}

#[test]
fn worker_ids_are_raw_id_card_numbers_in_the_generated_files() {
    let dir = tempfile::tempdir().unwrap();
    generate(&small(OutputFormat::Csv, 4), dir.path());
    let text = fs::read_to_string(dir.path().join("payroll.csv")).unwrap();
    let worker = text.lines().nth(1).unwrap().split(',').nth(2).unwrap();
    assert_eq!(worker.len(), 18, "{worker}");
    assert!(worker[..17].bytes().all(|b| b.is_ascii_digit()), "{worker}");
}

#[test]
fn each_scenario_is_the_baseline_until_its_onset_then_changes_its_mechanism() {
    use synth::Scenario;
    let run = |scenario: Scenario| {
        let dir = tempfile::tempdir().unwrap();
        let config = SynthConfig {
            scenario,
            employers: 400,
            seed: 3,
            start: Date::parse("2024-01-01").unwrap(),
            end: Date::parse("2026-06-30").unwrap(),
            format: OutputFormat::Parquet,
        };
        let summary = generate(&config, dir.path());
        // Valid by the contract's checks, and the same bytes twice.
        let ds = load_strict(dir.path()).unwrap().dataset;
        let again = tempfile::tempdir().unwrap();
        generate(&config, again.path());
        assert_eq!(files(dir.path()), files(again.path()), "{scenario:?} is deterministic");
        (summary, ds)
    };
    let onset = Scenario::onset();
    let after = |s: &synth::SynthSummary, f: &dyn Fn(&synth::MonthStats) -> f64| -> f64 {
        s.monthly.iter().filter(|m| m.month >= onset).map(f).sum()
    };
    let before = |s: &synth::SynthSummary| -> Vec<synth::MonthStats> {
        s.monthly.iter().filter(|m| m.month < onset).cloned().collect()
    };
    let (base, base_ds) = run(Scenario::Baseline);
    let short = |m: &synth::MonthStats| m.short_paid_worker_months as f64;
    let complaints = |m: &synth::MonthStats| m.complaints as f64;
    let unfounded = |ds: &wagewatch_core::ingest::tables::Dataset| {
        let c = &ds.complaints;
        (0..c.len())
            .filter(|&k| c.received_on[k] >= onset.first_day())
            .filter(|&k| c.outcome[k].is_some_and(|o| o != wagewatch_core::contract::Outcome::Substantiated))
            .count()
    };
    // The share of the progress payments falling due after the onset (and 30 days before the end) that were
    // not paid within 30 days.
    let overdue = |ds: &wagewatch_core::ingest::tables::Dataset| {
        let p = &ds.progress_payments;
        let t = Date::parse("2026-06-30").unwrap();
        let due: Vec<usize> = (0..p.len())
            .filter(|&k| p.scheduled_on[k] >= onset.first_day() && p.scheduled_on[k].add_days(30) <= t)
            .collect();
        let late = due.iter().filter(|&&k| p.paid_on[k].is_none_or(|d| d > p.scheduled_on[k].add_days(30))).count();
        late as f64 / due.len().max(1) as f64
    };
    let short_share = |s: &synth::SynthSummary| after(s, &short) / after(s, &|m| m.worker_months as f64);
    for scenario in [Scenario::DeveloperCollapse, Scenario::ComplaintSurge, Scenario::ManufacturingDownturn] {
        let (s, ds) = run(scenario);
        assert_eq!(before(&s), before(&base), "{scenario:?} before its onset");
        match scenario {
            Scenario::DeveloperCollapse => {
                assert!(overdue(&ds) > 1.2 * overdue(&base_ds), "{} vs {}", overdue(&ds), overdue(&base_ds));
                assert!(
                    short_share(&s) > short_share(&base),
                    "crews go unpaid below failing owners: {} vs {}",
                    short_share(&s),
                    short_share(&base)
                );
            }
            Scenario::ManufacturingDownturn => {
                // Factories shed workers and short-pay more of those they keep, rather than close.
                let months = |s: &synth::SynthSummary| after(s, &|m| m.worker_months as f64);
                assert!(months(&s) < 0.97 * months(&base), "{} vs {}", months(&s), months(&base));
                assert!(short_share(&s) > 1.1 * short_share(&base), "{} vs {}", short_share(&s), short_share(&base));
            }
            _ => {
                // Eight times the unfounded complaints; the real ones (some withdrawn) stay as they were.
                assert!(2 * unfounded(&ds) > 5 * unfounded(&base_ds), "{} vs {}", unfounded(&ds), unfounded(&base_ds));
                let (now, then) = (after(&s, &complaints), after(&base, &complaints));
                assert!(now > 1.2 * then, "{now} vs {then}");
            }
        }
    }
}
