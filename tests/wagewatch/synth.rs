//! The generator: deterministic, streams every contract table, and its CSV and Parquet outputs load to
//! identical tables that pass strict validation.

use std::fs;
use std::path::Path;

use wagewatch_core::contract::{Date, Table};
use wagewatch_synth::{self as synth, OutputFormat, SynthConfig};

use crate::support::*;

fn small(format: OutputFormat, seed: u64) -> SynthConfig {
    SynthConfig {
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
