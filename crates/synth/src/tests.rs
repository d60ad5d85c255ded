//! Tests of the generator on tiny provinces: every contract table with the contract's columns, valid values,
//! consistent references, and byte-identical output for the same seed.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::names::id_card_check;
use super::writer::arrow_schema;
use super::*;
use wagewatch_core::contract::{Kind, Money, MAX_DATE};

fn tiny(format: OutputFormat, seed: u64) -> SynthConfig {
    SynthConfig {
        scenario: Default::default(),
        employers: 30,
        seed,
        start: Date::parse("2024-09-01").unwrap(),
        end: Date::parse("2025-02-28").unwrap(),
        format,
    }
}

/// Generates `config` into a fresh temporary folder.
#[track_caller]
fn run(config: &SynthConfig) -> (tempfile::TempDir, SynthSummary) {
    let dir = tempfile::tempdir().unwrap();
    let months = std::cell::Cell::new(0);
    let summary = generate(config, dir.path(), &|_| months.set(months.get() + 1)).unwrap();
    assert_eq!(months.get(), summary.monthly.len());
    (dir, summary)
}

/// Reads a CSV table as header + rows of strings.
fn read_csv(dir: &Path, table: Table) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(dir.join(format!("{}.csv", table.name()))).unwrap();
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

#[test]
fn tiny_parquet_province_has_every_table_with_the_contract_schema() {
    let (dir, summary) = run(&tiny(OutputFormat::Parquet, 7));
    assert_eq!(summary.monthly.len(), 6);
    assert_eq!(summary.rows.iter().map(|(t, _)| *t).collect::<Vec<_>>(), Table::ALL.to_vec());
    for table in Table::ALL {
        let file = File::open(dir.path().join(format!("{}.parquet", table.name()))).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let schema = builder.schema().clone();
        let expected = arrow_schema(table);
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let contract: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
        assert_eq!(names, contract, "{table}");
        for (got, want) in schema.fields().iter().zip(expected.fields()) {
            assert_eq!(got.data_type(), want.data_type(), "{table}.{}", got.name());
        }
        let rows: usize = builder.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows as u64, summary.rows_of(table), "{table}");
    }
    assert_eq!(summary.rows_of(Table::Employers), 30);
    for table in [Table::Projects, Table::Payroll, Table::Payments, Table::ProgressPayments] {
        assert!(summary.rows_of(table) > 0, "{table} is empty");
    }
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    for format in [OutputFormat::Parquet, OutputFormat::Csv] {
        let (a, _) = run(&tiny(format, 11));
        let (b, _) = run(&tiny(format, 11));
        let (c, _) = run(&tiny(format, 12));
        for table in Table::ALL {
            let name = format!("{}.{}", table.name(), format.extension());
            let bytes = |d: &tempfile::TempDir| std::fs::read(d.path().join(&name)).unwrap();
            assert_eq!(bytes(&a), bytes(&b), "{name} differs for the same seed");
            if matches!(table, Table::Employers | Table::Payroll) {
                assert_ne!(bytes(&a), bytes(&c), "{name} is the same for another seed");
            }
        }
    }
}

#[test]
fn csv_values_follow_the_contract() {
    let config = SynthConfig { scenario: Default::default(), employers: 60, ..tiny(OutputFormat::Csv, 5) };
    let (dir, summary) = run(&config);
    let end = config.end;
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for table in Table::ALL {
        let (header, rows) = read_csv(dir.path(), table);
        let contract: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
        assert_eq!(header, contract, "{table}");
        assert_eq!(rows.len() as u64, summary.rows_of(table));
        for (n, row) in rows.iter().enumerate() {
            for (value, column) in row.iter().zip(table.columns()) {
                let at = format!("{table} row {} column {}: {value:?}", n + 1, column.name);
                if value.is_empty() {
                    assert!(!column.required, "{at} is required");
                    continue;
                }
                match column.kind {
                    Kind::Date => {
                        let d = Date::parse(value).expect(&at);
                        // Only plans and the due dates of the last wage month lie after the end.
                        let limit = if column.name == "planned_end_date" { MAX_DATE } else { end.add_days(31) };
                        assert!(d.in_contract_range() && d <= limit, "{at}");
                    }
                    Kind::Month => assert!(Month::parse(value).is_some(), "{at}"),
                    Kind::Money => assert!(Money::parse(value).is_ok(), "{at}"),
                    Kind::Int { min, max } => {
                        let v: i64 = value.parse().expect(&at);
                        assert!((min..=max).contains(&v), "{at}");
                    }
                    Kind::Bool => assert!(value == "true" || value == "false", "{at}"),
                    Kind::Enum(codes) => assert!(codes.contains(&value.as_str()), "{at}"),
                    Kind::Region => assert!(value.len() == 6 && value.starts_with("32"), "{at}"),
                    Kind::Division => assert!([2, 4, 6].contains(&value.len()) && value.starts_with("32"), "{at}"),
                    Kind::Id => assert!(value.chars().count() <= 64, "{at}"),
                    Kind::Text => {}
                }
            }
        }
        if table == Table::Employers {
            ids = rows.iter().map(|r| r[0].clone()).collect();
            assert_eq!(ids.len(), rows.len(), "employer ids are unique");
        }
    }
    // References, keys, dates, worker ids.
    let (_, projects) = read_csv(dir.path(), Table::Projects);
    let project_ids: BTreeSet<String> = projects.iter().map(|r| r[0].clone()).collect();
    assert_eq!(project_ids.len(), projects.len());
    assert!(projects.iter().all(|r| ids.contains(&r[3])));
    let (_, payroll) = read_csv(dir.path(), Table::Payroll);
    let mut keys = BTreeSet::new();
    for r in &payroll {
        assert!(r[0].is_empty() || project_ids.contains(&r[0]));
        assert!(ids.contains(&r[1]));
        let w = r[2].as_bytes();
        assert_eq!(w.len(), 18);
        assert_eq!(id_card_check(&w[..17]), w[17], "{}", r[2]);
        assert!(keys.insert((r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone())), "duplicate key {r:?}");
    }
    let (_, payments) = read_csv(dir.path(), Table::Payments);
    for r in &payments {
        assert!(Date::parse(&r[5]).unwrap() <= end, "payment after the end: {r:?}");
        assert!(keys.contains(&(r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone())), "orphan payment {r:?}");
    }
    let (_, complaints) = read_csv(dir.path(), Table::Complaints);
    for r in &complaints {
        assert!(!(r[2].is_empty() && r[3].is_empty()), "complaint without employer and project");
        assert_eq!(r[8].is_empty(), r[9].is_empty(), "outcome and closed_on go together: {r:?}");
    }
}

#[test]
fn bad_configurations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let check = |config: SynthConfig| match generate(&config, dir.path(), &|_| {}) {
        Err(SynthError::InvalidConfig { reason }) => reason,
        other => panic!("expected an invalid configuration, got {other:?}"),
    };
    let base = tiny(OutputFormat::Csv, 1);
    assert!(check(SynthConfig { scenario: Default::default(), employers: 0, ..base.clone() }).contains("employer"));
    assert!(check(SynthConfig { end: Date::parse("2024-09-20").unwrap(), ..base.clone() }).contains("no whole month"));
    // Before the contract's first date, or so late that the history would outrun the festival calendar.
    assert!(check(SynthConfig { start: Date::parse("1989-12-01").unwrap(), ..base.clone() }).contains("1990-01-01"));
    let late = SynthConfig {
        start: Date::parse("2100-01-01").unwrap(),
        end: Date::parse("2100-12-31").unwrap(),
        ..base.clone()
    };
    assert!(check(late).contains("2100-10-31"));
    // A table already present in the other format is refused, not silently doubled.
    std::fs::write(dir.path().join("payroll.parquet"), b"x").unwrap();
    assert!(matches!(generate(&base, dir.path(), &|_| {}), Err(SynthError::ConflictingFile { .. })));
}
