//! Ingest against the contract: every kind of bad input gets its clear error or quarantine entry, and
//! everything the contract allows is accepted.

use std::fs;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, DictionaryArray, Int32Array, Int64Array, LargeStringArray,
    RecordBatch, StringArray, StringViewArray,
};
use parquet::arrow::ArrowWriter;

use wagewatch_core::contract::{Date, Money, Table};
use wagewatch_core::features;
use wagewatch_core::ingest::{self, Dataset, DatasetSummary, IngestError, IngestOptions, Mode, ProblemKind};
use wagewatch_core::worker_months::WorkerMonths;

use crate::support::*;

/// What loading a fixture must give.
enum Expect {
    /// Exactly one bad row, with this problem first.
    Problem { table: Table, row: u64, column: Option<&'static str>, kind: ProblemKind },
    /// The whole dataset is refused with an error whose message contains every one of these texts.
    Error(&'static [&'static str]),
}

#[track_caller]
fn check(edits: &[(&str, Option<&str>)], expect: Expect) {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), edits);
    let quarantine = dir.path().join("quarantine");
    match expect {
        Expect::Problem { table, row, column, kind } => {
            let err = load_strict(dir.path()).expect_err("strict mode must refuse a bad row");
            let IngestError::Invalid { total, bad_rows, first } = &err else {
                panic!("expected row problems, got {err}")
            };
            assert_eq!((*bad_rows, first.len()), (1, *total as usize), "{err}");
            let p = &first[0];
            assert_eq!((p.table, p.row, p.column, p.kind), (table, row, column, kind), "{err}");
            let message = err.to_string();
            assert!(message.contains(&format!("row {row}")), "{message}");
            if let Some(column) = column {
                assert!(message.contains(column), "{message}");
            }
            // Quarantine mode sets the row aside, keeps the rest, and writes the row with its reason.
            let ingested = load_quarantine(dir.path(), &quarantine).expect("quarantine mode goes on");
            let report = ingested.tables.iter().find(|t| t.table == table).unwrap();
            assert_eq!(report.problems.bad_rows, 1);
            assert_eq!(report.rows_accepted, report.rows_read - 1);
            let file = report.quarantine_file.as_ref().expect("a quarantine file");
            let text = fs::read_to_string(file).unwrap();
            assert_eq!(text.lines().count(), 2, "header and one row: {text}");
            assert!(text.contains(kind.code()), "{text}");
            for other in ingested.tables.iter().filter(|t| t.table != table) {
                assert_eq!(other.problems.bad_rows, 0, "{}", other.table);
            }
        }
        Expect::Error(texts) => {
            for result in [load_strict(dir.path()), load_quarantine(dir.path(), &quarantine)] {
                let err = result.expect_err("the dataset must be refused");
                let message = err.to_string();
                for text in texts {
                    assert!(message.contains(text), "{message:?} lacks {text:?}");
                }
            }
        }
    }
}

fn problem(table: Table, row: u64, column: &'static str, kind: ProblemKind) -> Expect {
    Expect::Problem { table, row, column: Some(column), kind }
}

#[test]
fn the_base_fixture_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &[]);
    let ingested = load_strict(dir.path()).unwrap();
    let ds = &ingested.dataset;
    assert_eq!((ds.employers.len(), ds.projects.len(), ds.payroll.len(), ds.payments.len()), (3, 2, 3, 2));
    assert_eq!((ds.complaints.len(), ds.progress_payments.len(), ds.inspections.len()), (1, 2, 1));
    assert_eq!(ds.employers.name.get(2), "金陵制衣厂, 二分厂");
    assert_eq!(ds.employers.registered_capital[1], Some(Money::from_fen(200_000_050)));
    assert_eq!(ds.payroll.wage_due[2], Money::from_fen(420_050));
    assert_eq!(ds.payroll.project[2], None);
    assert_eq!(ds.projects.owner[1], None);
    assert_eq!(ds.progress_payments.paid_on[1], None);
    // Payroll and payments of the same worker carry the same pseudonym.
    assert_eq!(ds.payroll.worker[0], ds.payments.worker[0]);
    assert_ne!(ds.payroll.worker[0], ds.payroll.worker[1]);
}

#[test]
fn every_kind_of_bad_row_is_reported_where_it_is() {
    use ProblemKind::*;
    use Table::*;
    let cases: Vec<(&str, String, Expect)> = vec![
        (
            "payroll.csv",
            with_line("payroll.csv", "P1,E2,W9,2024-05,abc,100,2024-06-15"),
            problem(Payroll, 4, "days_worked", WrongType),
        ),
        (
            "payroll.csv",
            with_line("payroll.csv", "P1,E2,W9,2024-05,32,100,2024-06-15"),
            problem(Payroll, 4, "days_worked", OutOfRange),
        ),
        (
            "payroll.csv",
            with_line("payroll.csv", "P1,E2,W9,2024-05,20,-100,2024-06-15"),
            problem(Payroll, 4, "wage_due", NegativeMoney),
        ),
        (
            "payroll.csv",
            with_line("payroll.csv", "P1,E2,W9,2024-5,20,100,2024-06-15"),
            problem(Payroll, 4, "period", WrongType),
        ),
        (
            "payroll.csv",
            with_line("payroll.csv", "P1,E2,W9,2024-05,20,100,2024/06/15"),
            problem(Payroll, 4, "due_date", WrongType),
        ),
        (
            "payroll.csv",
            with_line("payroll.csv", "P1,E2,,2024-05,20,100,2024-06-15"),
            problem(Payroll, 4, "worker_id", MissingValue),
        ),
        (
            "payroll.csv",
            with_line("payroll.csv", "P1,E9,W9,2024-05,20,100,2024-06-15"),
            problem(Payroll, 4, "employer_id", UnknownReference),
        ),
        (
            "payroll.csv",
            with_line("payroll.csv", "P9,E2,W9,2024-05,20,100,2024-06-15"),
            problem(Payroll, 4, "project_id", UnknownReference),
        ),
        (
            "payroll.csv",
            with_line("payroll.csv", "P1,E2,320102199001011234,2024-05,3,100,2024-06-20"),
            Expect::Problem { table: Payroll, row: 4, column: None, kind: DuplicateKey },
        ),
        (
            "payroll.csv",
            with_line("payroll.csv", "P1,E2,W9,2024-05,20,100,2024-06-15,extra"),
            Expect::Problem { table: Payroll, row: 4, column: None, kind: MalformedRecord },
        ),
        (
            "payments.csv",
            with_line("payments.csv", "P1,E2,W9,2024-05,10.123,2024-06-14"),
            problem(Payments, 3, "amount", TooManyDecimals),
        ),
        (
            "payments.csv",
            with_line("payments.csv", "P1,E2,W9,2024-05,10,1989-12-31"),
            problem(Payments, 3, "paid_on", DateOutOfRange),
        ),
        (
            "payments.csv",
            with_line("payments.csv", "P1,E2,W9,2101-01,10,2024-06-14"),
            problem(Payments, 3, "period", DateOutOfRange),
        ),
        (
            "employers.csv",
            with_line("employers.csv", "E4,,other,other,320102,,,"),
            problem(Employers, 4, "name", MissingValue),
        ),
        (
            "employers.csv",
            with_line("employers.csv", "E4,某公司,contractor,construction,320102,,,"),
            problem(Employers, 4, "kind", UnknownEnumValue),
        ),
        (
            "employers.csv",
            with_line("employers.csv", "E4,某公司,other,construction,32010,,,"),
            problem(Employers, 4, "region_code", BadRegionCode),
        ),
        (
            "employers.csv",
            with_line("employers.csv", "E1,某公司,other,construction,320102,,,"),
            problem(Employers, 4, "employer_id", DuplicateKey),
        ),
        (
            "employers.csv",
            with_line("employers.csv", "E4,某公司,other,other,320102,,2101-01-01,"),
            problem(Employers, 4, "founded_on", DateOutOfRange),
        ),
        (
            "employers.csv",
            with_line("employers.csv", &format!("{},某公司,other,other,320102,,,", "E".repeat(65))),
            problem(Employers, 4, "employer_id", BadIdentifier),
        ),
        (
            "projects.csv",
            with_line("projects.csv", "P3,新项目,320102,E9,,100,2024-01-01,2025-01-01,,false,true,"),
            problem(Projects, 3, "general_contractor_id", UnknownReference),
        ),
        (
            "projects.csv",
            with_line("projects.csv", "P3,新项目,320102,E1,,100,2024-01-01,2025-01-01,,maybe,true,"),
            problem(Projects, 3, "government_funded", WrongType),
        ),
        (
            "complaints.csv",
            with_line("complaints.csv", "C2,2024-07-21,,,online,wage_arrears,1,,,"),
            Expect::Problem { table: Complaints, row: 2, column: None, kind: NoSubject },
        ),
        (
            "complaints.csv",
            with_line("complaints.csv", "C2,2024-07-21,E2,,online,wage_arrears,0,,,"),
            problem(Complaints, 2, "workers_involved", OutOfRange),
        ),
        (
            "complaints.csv",
            with_line("complaints.csv", "C2,2024-07-21,E2,,fax,wage_arrears,1,,,"),
            problem(Complaints, 2, "channel", UnknownEnumValue),
        ),
        (
            "complaints.csv",
            with_line("complaints.csv", "C2,2024-07-21,E2,,online,wage_arrears,1,,,lost"),
            problem(Complaints, 2, "outcome", UnknownEnumValue),
        ),
        (
            "complaints.csv",
            with_line("complaints.csv", "C1,2024-07-21,E2,,online,wage_arrears,1,,,"),
            problem(Complaints, 2, "complaint_id", DuplicateKey),
        ),
        (
            "progress_payments.csv",
            with_line("progress_payments.csv", "P9,2024-09-30,100,,"),
            problem(ProgressPayments, 3, "project_id", UnknownReference),
        ),
        (
            "inspections.csv",
            with_line("inspections.csv", "I1,E2,,2024-09-01,false,,"),
            problem(Inspections, 2, "inspection_id", DuplicateKey),
        ),
        (
            "inspections.csv",
            with_line("inspections.csv", "I2,E2,,2024-09-01,yes,,"),
            problem(Inspections, 2, "found_arrears", WrongType),
        ),
        (
            "inspections.csv",
            "inspection_id,employer_id,project_id,inspected_on,found_arrears,arrears_amount,workers_affected,selection
I1,E2,P1,2024-08-05,true,5500,1,random
I2,E2,,2024-09-01,false,,,lottery
"
            .to_string(),
            problem(Inspections, 2, "selection", UnknownEnumValue),
        ),
        // Division names (v1.1): 2, 4 or 6 digits, each once.
        (
            "regions.csv",
            "region_code,name\n3201,南京市\n320,半个代码\n".to_string(),
            problem(Regions, 2, "region_code", BadRegionCode),
        ),
        (
            "regions.csv",
            "region_code,name\n3201,南京市\n32010X,玄武区\n".to_string(),
            problem(Regions, 2, "region_code", BadRegionCode),
        ),
        (
            "regions.csv",
            "region_code,name\n3201,南京市\n3201,金陵\n".to_string(),
            problem(Regions, 2, "region_code", DuplicateKey),
        ),
        (
            "regions.csv",
            "region_code,name\n3201,南京市\n320102,\n".to_string(),
            problem(Regions, 2, "name", MissingValue),
        ),
    ];
    for (file, content, expect) in cases {
        check(&[(file, Some(&content))], expect);
    }
}

#[test]
fn a_table_that_cannot_be_read_is_a_clear_error() {
    check(&[("payroll.csv", None)], Expect::Error(&["required table payroll not found"]));
    check(&[("employers.csv", Some(""))], Expect::Error(&["employers", "is empty"]));
    check(
        &[("payments.csv", Some("project_id,employer_id,worker_id,period,paid_on\nP1,E2,W1,2024-05,2024-06-01\n"))],
        Expect::Error(&["payments.csv", "no column amount"]),
    );
    check(&[("complaints.csv", Some("\u{0}\u{1}\u{2}garbage\u{ff}\n\u{3}"))], Expect::Error(&["complaints.csv"]));
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &[]);
    fs::write(dir.path().join("payroll.parquet"), b"PAR1 truncated").unwrap();
    let err = load_strict(dir.path()).unwrap_err().to_string();
    assert!(err.contains("payroll") && err.contains("twice"), "{err}");
    fs::remove_file(dir.path().join("payroll.csv")).unwrap();
    let err = load_strict(dir.path()).unwrap_err().to_string();
    assert!(err.contains("payroll.parquet") && err.contains("cannot be read"), "{err}");
    // A Parquet column whose type cannot hold the contract's values.
    let batch = RecordBatch::try_from_iter([
        ("project_id", Arc::new(StringArray::from(vec!["P1"])) as ArrayRef),
        ("employer_id", Arc::new(StringArray::from(vec!["E2"])) as ArrayRef),
        ("worker_id", Arc::new(StringArray::from(vec!["W1"])) as ArrayRef),
        ("period", Arc::new(StringArray::from(vec!["2024-05"])) as ArrayRef),
        ("days_worked", Arc::new(Int32Array::from(vec![20])) as ArrayRef),
        ("wage_due", Arc::new(BooleanArray::from(vec![true])) as ArrayRef),
        ("due_date", Arc::new(StringArray::from(vec!["2024-06-15"])) as ArrayRef),
    ])
    .unwrap();
    write_parquet(&dir.path().join("payroll.parquet"), &batch);
    let err = load_strict(dir.path()).unwrap_err().to_string();
    assert!(err.contains("wage_due") && err.contains("Boolean"), "{err}");
}

#[test]
fn everything_the_contract_allows_is_accepted() {
    // A BOM, CRLF line ends, quoted fields with commas, quotes and line breaks, booleans in any case or
    // as 1/0, an unknown extra column, an optional column left out entirely, and facts dated in the future.
    let employers = "\u{feff}employer_id,name,kind,sector,region_code,notes\r\n\
E1,\"华东建工 \"\"集团\"\", 有限公司\",general_contractor,construction,320102,\"line one\r\nline two\"\r\n\
E2,苏南劳务有限公司,labor_service,construction,320104,\r\n\
E3,金陵制衣厂,manufacturer,manufacturing,320105,\r\n";
    let projects = "project_id,name,region_code,general_contractor_id,contract_value,start_date,planned_end_date,government_funded,wage_account_opened\n\
P1,江宁住宅一期,320115,E1,120000000,2024-01-01,2025-12-31,TRUE,1\n\
P2,河西学校,320105,E1,30000000.5,2023-03-01,2024-06-30,False,0\n";
    let future = with_line("payroll.csv", "P1,E2,320102199001011234,2099-11,20,100,2099-12-15");
    // Money with binary-float noise, as pandas and polars write it to CSV (contract v1.1).
    let noisy = "project_id,employer_id,worker_id,period,amount,paid_on
P1,E2,320102199001011234,2024-05,6499.999999999999,2024-06-14
,E3,320105199203031111,2024-05,4200.500000000001,2024-06-10
P1,E2,32010219850202456X,2024-05,7.119999999999763,2024-06-16
";
    let dir = tempfile::tempdir().unwrap();
    write_dataset(
        dir.path(),
        &[
            ("employers.csv", Some(employers)),
            ("projects.csv", Some(projects)),
            ("payroll.csv", Some(&future)),
            ("payments.csv", Some(noisy)),
            ("regions.csv", Some("region_code,name\n32,江苏省\n3201,南京市\n320102,玄武区\n")),
            ("inspections.csv", None),
            ("progress_payments.csv", None),
        ],
    );
    let ingested = load_strict(dir.path()).unwrap();
    let ds = &ingested.dataset;
    assert_eq!(ds.employers.name.get(0), "华东建工 \"集团\", 有限公司");
    assert_eq!(ds.employers.founded_on, vec![None, None, None]);
    assert_eq!(ds.projects.government_funded, vec![true, false]);
    assert_eq!(ds.projects.wage_account_opened, vec![true, false]);
    assert_eq!(ds.payroll.len(), 4);
    let mut paid: Vec<i64> = ds.payments.amount.iter().map(|m| m.fen()).collect();
    paid.sort_unstable();
    assert_eq!(paid, [712, 420_050, 650_000]);
    assert!(!ds.has_inspections && ds.inspections.is_empty());
    let regions: Vec<(String, &str)> = ds.regions.iter().map(|(c, n)| (c.to_string(), n.as_str())).collect();
    assert_eq!(regions, [("32".into(), "江苏省"), ("3201".into(), "南京市"), ("320102".into(), "玄武区")]);
    // Inspections with the v1.1 `selection` column, some of it missing.
    let inspections =
        "inspection_id,employer_id,project_id,inspected_on,found_arrears,arrears_amount,workers_affected,selection
I1,E2,P1,2024-08-05,true,5500,1,random
I2,E3,,2024-08-06,false,,,
";
    fs::write(dir.path().join("inspections.csv"), inspections).unwrap();
    let ds = load_strict(dir.path()).unwrap().dataset;
    assert!(ds.has_inspections && ds.inspections.len() == 2);
    assert_eq!(ds.inspections.selection, vec![Some(wagewatch_core::contract::Selection::Random), None]);
}

#[test]
fn identifiers_are_taken_as_written_and_numbers_as_other_tools_write_them() {
    // An identifier is any non-empty string of at most 64 characters: white space around it is part of
    // it, so "E2 " is another employer than "E2" and " 3201..." another worker than "3201...". Other
    // tools write whole numbers as `15.0` (pandas, an integer column with nulls) and zero as `-0.00`.
    let employers = with_line("employers.csv", "E2 ,另一家劳务公司,labor_service,construction,320104,,,");
    let payroll = with_line(
        "payroll.csv",
        "P1,E2 ,320102199001011234,2024-05,15.0,3000,2024-06-15\nP1,E2, 320102199001011234,2024-05,26,6500,2024-06-15",
    );
    let payments = with_line("payments.csv", "P1,E2,320102199001011234,2024-05,-0.00,2024-06-20");
    let inspections = with_line("inspections.csv", "I2,E2 ,P1,2024-08-06,true,4000.00,30.0");
    let dir = tempfile::tempdir().unwrap();
    write_dataset(
        dir.path(),
        &[
            ("employers.csv", Some(&employers)),
            ("payroll.csv", Some(&payroll)),
            ("payments.csv", Some(&payments)),
            ("inspections.csv", Some(&inspections)),
        ],
    );
    let ds = load_strict(dir.path()).unwrap().dataset;
    assert_eq!(ds.employers.len(), 4);
    let (e2, e2_spaced) = (ds.employer_ids.get("E2").unwrap(), ds.employer_ids.get("E2 ").unwrap());
    assert_ne!(e2, e2_spaced);
    assert_eq!(ds.employer_ids.name(e2_spaced), "E2 ");
    assert_eq!(ds.payroll.len(), 5);
    assert_eq!(ds.payroll.employer[3].index(), e2_spaced);
    assert_eq!(ds.payroll.days_worked[3], 15);
    assert_eq!(ds.payroll.employer[4].index(), e2);
    assert_ne!(ds.payroll.worker[4], ds.payroll.worker[0], "a worker id with a leading space is another worker");
    assert_eq!(ds.payments.amount[2], Money::from_fen(0));
    assert_eq!(ds.inspections.workers_affected[1], Some(30));
    assert_eq!(DatasetSummary::compute(&ds, None).unmatched_payments, 0);

    // A bank export without project_id: its payments pay only worker-months without a project, and the
    // summary says so.
    let bank = "employer_id,worker_id,period,amount,paid_on
E2,320102199001011234,2024-05,6500,2024-06-14
E3,320105199203031111,2024-05,4200.50,2024-06-10
";
    fs::write(dir.path().join("payments.csv"), bank).unwrap();
    let summary = DatasetSummary::compute(&load_strict(dir.path()).unwrap().dataset, None);
    assert_eq!(
        (summary.unmatched_payments, summary.payments_without_project, summary.payroll_rows_with_project),
        (1, 2, 4)
    );
    let text = summary.to_string();
    assert!(text.contains("1 match no worker-month") && text.contains("note: 2 payments have no project_id"), "{text}");

    use ProblemKind::*;
    use Table::*;
    let long = format!(" {},长名字公司,labor_service,construction,320104,,,", "A".repeat(64));
    let cases: Vec<(&str, String, Expect)> = vec![
        ("employers.csv", with_line("employers.csv", &long), problem(Employers, 4, "employer_id", BadIdentifier)),
        (
            "payroll.csv",
            with_line("payroll.csv", "P1,E2,W9,2024-05,15.5,100,2024-06-15"),
            problem(Payroll, 4, "days_worked", WrongType),
        ),
        (
            "payments.csv",
            with_line("payments.csv", "P1,E2,W9,2024-05,-0.01,2024-06-20"),
            problem(Payments, 3, "amount", NegativeMoney),
        ),
    ];
    for (file, content, expect) in cases {
        check(&[(file, Some(&content))], expect);
    }
}

fn write_parquet(path: &std::path::Path, batch: &RecordBatch) {
    let file = fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn parquet_from_other_tools_loads_like_csv() {
    // The same payroll and employers as the CSV fixture, written the way other tools write Parquet:
    // large and view strings, dictionary-encoded ids, Decimal128 money, Date32 and string dates,
    // 64-bit integers, and optional columns missing or all null.
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), &[("payroll.csv", None), ("employers.csv", None)]);
    let date = |s: &str| Date::parse(s).unwrap().days();
    let employers = RecordBatch::try_from_iter([
        ("employer_id", Arc::new(LargeStringArray::from(vec!["E1", "E2", "E3"])) as ArrayRef),
        (
            "name",
            Arc::new(StringViewArray::from(vec!["华东建工有限公司", "苏南劳务有限公司", "金陵制衣厂, 二分厂"]))
                as ArrayRef,
        ),
        (
            "kind",
            Arc::new(DictionaryArray::<Int32Type>::from_iter(["general_contractor", "labor_service", "manufacturer"]))
                as ArrayRef,
        ),
        ("sector", Arc::new(StringArray::from(vec!["construction", "construction", "manufacturing"])) as ArrayRef),
        ("region_code", Arc::new(Int64Array::from(vec![320102, 320104, 320105])) as ArrayRef),
        (
            "registered_capital",
            Arc::new(
                Decimal128Array::from(vec![Some(5_000_000_000), Some(200_000_050), None])
                    .with_precision_and_scale(18, 2)
                    .unwrap(),
            ) as ArrayRef,
        ),
        (
            "founded_on",
            Arc::new(Date32Array::from(vec![Some(date("2005-03-01")), None, Some(date("2010-06-01"))])) as ArrayRef,
        ),
        ("blacklisted_on", Arc::new(StringArray::from(vec![None, None, Some("2024-05-01")])) as ArrayRef),
    ])
    .unwrap();
    write_parquet(&dir.path().join("employers.parquet"), &employers);
    let payroll = RecordBatch::try_from_iter([
        ("project_id", Arc::new(StringArray::from(vec![Some("P1"), Some("P1"), None])) as ArrayRef),
        ("employer_id", Arc::new(DictionaryArray::<Int32Type>::from_iter(["E2", "E2", "E3"])) as ArrayRef),
        ("worker_id", Arc::new(StringArray::from(RAW_WORKER_IDS.to_vec())) as ArrayRef),
        ("period", Arc::new(StringArray::from(vec!["2024-05", "2024-05", "2024-05"])) as ArrayRef),
        ("days_worked", Arc::new(Int64Array::from(vec![26, 22, 21])) as ArrayRef),
        (
            "wage_due",
            Arc::new(Decimal128Array::from(vec![650_000, 550_000, 420_050]).with_precision_and_scale(12, 2).unwrap())
                as ArrayRef,
        ),
        (
            "due_date",
            Arc::new(Date32Array::from(vec![date("2024-06-15"), date("2024-06-15"), date("2024-06-10")])) as ArrayRef,
        ),
        ("source_system", Arc::new(StringArray::from(vec!["x", "y", "z"])) as ArrayRef),
    ])
    .unwrap();
    // Split over two files in a folder, as partitioned data is.
    fs::create_dir(dir.path().join("payroll")).unwrap();
    write_parquet(&dir.path().join("payroll/part-0.parquet"), &payroll.slice(0, 2));
    write_parquet(&dir.path().join("payroll/part-1.parquet"), &payroll.slice(2, 1));
    let from_parquet = load_strict(dir.path()).unwrap().dataset;

    let csv_dir = tempfile::tempdir().unwrap();
    write_dataset(csv_dir.path(), &[]);
    let from_csv = load_strict(csv_dir.path()).unwrap().dataset;
    assert_eq!(from_parquet, from_csv);
}

#[test]
fn quarantine_keeps_good_rows_and_never_writes_raw_worker_ids() {
    let dir = tempfile::tempdir().unwrap();
    let payroll = with_line("payroll.csv", "P1,E2,32010219850202456X,2024-06,20,-1,2024-07-15");
    write_dataset(dir.path(), &[("payroll.csv", Some(&payroll))]);
    let quarantine = dir.path().join("q");
    let ingested = load_quarantine(dir.path(), &quarantine).unwrap();
    assert_eq!(ingested.dataset.payroll.len(), 3);
    assert_eq!(ingested.rows_set_aside(), 1);
    let text = fs::read_to_string(quarantine.join("payroll.csv")).unwrap();
    assert!(text.contains("negative_money"), "{text}");
    assert!(text.contains(&ingested.dataset.payroll.worker[1].to_string()), "the pseudonym stands in: {text}");
    for (path, bytes) in all_bytes(&quarantine) {
        for raw in RAW_WORKER_IDS {
            assert!(!contains(&bytes, raw), "{} holds a raw worker id", path.display());
        }
    }
    // A later clean run removes the stale quarantine file rather than leaving it to mislead.
    write_dataset(dir.path(), &[]);
    load_quarantine(dir.path(), &quarantine).unwrap();
    assert!(!quarantine.join("payroll.csv").exists());
}

/// What reading a folder for scoring as of a date must give.
enum Window {
    /// This many payroll and payments rows kept, and the features of the whole folder.
    Keeps { payroll: usize, payments: usize },
    /// The whole folder read, as without a window (the window cannot stand in for it).
    Whole,
    /// The error of a strict read of the whole folder, word for word.
    SameError,
}

#[track_caller]
fn check_window(edits: &[(&str, Option<&str>)], as_of: &str, quarantine: bool, expect: Window) {
    let dir = tempfile::tempdir().unwrap();
    write_dataset(dir.path(), edits);
    let t = Date::parse(as_of).unwrap();
    let options = match quarantine {
        true => IngestOptions { mode: Mode::Quarantine(dir.path().join("q")), problems_listed: 20 },
        false => IngestOptions::default(),
    };
    let windowed = ingest::load_for_scoring(dir.path(), &pseudonymizer(), &options, t);
    let whole = ingest::load(dir.path(), &pseudonymizer(), &options);
    if let Window::SameError = expect {
        assert_eq!(windowed.unwrap_err().to_string(), whole.unwrap_err().to_string());
        return;
    }
    let (windowed, whole) = (windowed.unwrap().dataset, whole.unwrap().dataset);
    match expect {
        Window::Keeps { payroll, payments } => {
            assert_eq!((windowed.payroll.len(), windowed.payments.len()), (payroll, payments));
            assert_eq!((&windowed.employer_ids, &windowed.project_ids), (&whole.employer_ids, &whole.project_ids));
        }
        Window::Whole => assert_eq!(windowed, whole),
        Window::SameError => unreachable!(),
    }
    let features = |ds: &Dataset| features::compute(ds, &WorkerMonths::build(ds), t, 60).unwrap();
    assert_eq!(features(&windowed), features(&whole));
}

#[test]
fn a_folder_read_for_scoring_keeps_only_what_scoring_reads_and_checks_every_row() {
    use Window::*;
    // The base payroll is due 2024-06-10 and 2024-06-15; its payments were made on those days and 06-14.
    check_window(&[], "2024-07-01", false, Keeps { payroll: 3, payments: 2 });
    check_window(&[], "2024-06-12", false, Keeps { payroll: 1, payments: 1 });
    // 400 days on, the payroll has left the window; payments of the month before it are still kept.
    check_window(&[], "2025-07-20", false, Keeps { payroll: 0, payments: 2 });
    check_window(&[], "2025-09-01", false, Keeps { payroll: 0, payments: 0 });
    // Rows outside the window are checked all the same: a bad row or a repeated key there is the same error.
    let repeated = with_line("payroll.csv", "P1,E2,320102199001011234,2024-05,26,6500.00,2024-06-15");
    check_window(&[("payroll.csv", Some(&repeated))], "2026-01-01", false, SameError);
    let bad = with_line("payroll.csv", "P1,E2,320102199001011234,2024-04,40,6500.00,2024-05-15");
    check_window(&[("payroll.csv", Some(&bad))], "2026-01-01", false, SameError);
    let unknown = with_line("payments.csv", "P1,E9,320102199001011234,2024-04,6500,2024-05-15");
    check_window(&[("payments.csv", Some(&unknown))], "2026-01-01", false, Keeps { payroll: 0, payments: 0 });
    // A row due in the window for a wage month long before it: its payments were not kept, so the folder is
    // read whole.
    let old_month = with_line("payroll.csv", "P1,E2,320102199001011234,2020-01,26,6500.00,2024-06-20");
    let its_payment = with_line("payments.csv", "P1,E2,320102199001011234,2020-01,6500,2024-06-21");
    check_window(
        &[("payroll.csv", Some(&old_month)), ("payments.csv", Some(&its_payment))],
        "2024-07-01",
        false,
        Whole,
    );
    // Setting bad rows aside reads the whole folder, so that every one is set aside.
    check_window(&[("payroll.csv", Some(&bad))], "2024-06-12", true, Whole);
}

#[test]
fn a_generated_province_read_for_scoring_gives_the_features_of_the_whole_folder() {
    let f = crate::server::fixture();
    let whole = load_strict(&f.data).unwrap().dataset;
    let wm = WorkerMonths::build(&whole);
    for as_of in ["2024-12-01", "2025-12-01", "2026-03-31"] {
        let t = Date::parse(as_of).unwrap();
        let windowed =
            ingest::load_for_scoring(&f.data, &pseudonymizer(), &IngestOptions::default(), t).unwrap().dataset;
        let kept = (windowed.payroll.len(), windowed.payments.len());
        assert!(kept.0 < whole.payroll.len() / 2 && kept.1 < whole.payments.len() / 2, "{as_of}: kept {kept:?}");
        let features = features::compute(&windowed, &WorkerMonths::build(&windowed), t, 60).unwrap();
        assert_eq!(features, features::compute(&whole, &wm, t, 60).unwrap(), "{as_of}");
    }
}
