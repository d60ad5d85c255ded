//! Shared fixtures: a small valid dataset as inline CSV, written to a temporary folder with edits.

use std::fs;
use std::path::Path;

use wagewatch_core::ingest::{self, IngestError, IngestOptions, Ingested, Mode, Pseudonymizer};

/// The raw worker ids of the base fixture (ID-card numbers); none may ever appear in any output.
pub const RAW_WORKER_IDS: [&str; 3] = ["320102199001011234", "32010219850202456X", "320105199203031111"];

/// A small dataset that follows the contract exactly.
pub const BASE: [(&str, &str); 7] = [
    (
        "employers.csv",
        "employer_id,name,kind,sector,region_code,registered_capital,founded_on,blacklisted_on
E1,华东建工有限公司,general_contractor,construction,320102,50000000,2005-03-01,
E2,苏南劳务有限公司,labor_service,construction,320104,2000000.50,,
E3,\"金陵制衣厂, 二分厂\",manufacturer,manufacturing,320105,,2010-06-01,2024-05-01
",
    ),
    (
        "projects.csv",
        "project_id,name,region_code,general_contractor_id,owner_id,contract_value,start_date,planned_end_date,actual_end_date,government_funded,wage_account_opened,guarantee_deposit
P1,江宁住宅一期,320115,E1,OWN1,120000000,2024-01-01,2025-12-31,,false,true,2400000
P2,河西学校,320105,E1,,30000000.5,2023-03-01,2024-06-30,2024-08-01,true,false,
",
    ),
    (
        "payroll.csv",
        "project_id,employer_id,worker_id,period,days_worked,wage_due,due_date
P1,E2,320102199001011234,2024-05,26,6500.00,2024-06-15
P1,E2,32010219850202456X,2024-05,22,5500,2024-06-15
,E3,320105199203031111,2024-05,21,4200.5,2024-06-10
",
    ),
    (
        "payments.csv",
        "project_id,employer_id,worker_id,period,amount,paid_on
P1,E2,320102199001011234,2024-05,6500,2024-06-14
,E3,320105199203031111,2024-05,4200.50,2024-06-10
",
    ),
    (
        "complaints.csv",
        "complaint_id,received_on,employer_id,project_id,channel,category,workers_involved,amount_claimed,closed_on,outcome
C1,2024-07-20,E2,P1,hotline,wage_arrears,2,12000,2024-08-30,substantiated
",
    ),
    (
        "progress_payments.csv",
        "project_id,scheduled_on,amount_due,paid_on,amount_paid
P1,2024-03-31,10000000,2024-04-20,8000000
P1,2024-06-30,10000000,,
",
    ),
    (
        "inspections.csv",
        "inspection_id,employer_id,project_id,inspected_on,found_arrears,arrears_amount,workers_affected
I1,E2,P1,2024-08-05,true,5500,1
",
    ),
];

/// A fixed key, so that loads of the same data compare equal.
pub fn pseudonymizer() -> Pseudonymizer {
    Pseudonymizer::from_key([42; 32])
}

/// Writes the base fixture into `dir`, with `edits` applied: `(file, Some(content))` replaces or adds a
/// file, `(file, None)` removes it.
pub fn write_dataset(dir: &Path, edits: &[(&str, Option<&str>)]) {
    for (file, content) in BASE {
        if !edits.iter().any(|(f, _)| *f == file) {
            fs::write(dir.join(file), content).unwrap();
        }
    }
    for (file, content) in edits {
        if let Some(content) = content {
            fs::write(dir.join(file), content).unwrap();
        }
    }
}

/// Loads `dir` in strict mode.
pub fn load_strict(dir: &Path) -> Result<Ingested, IngestError> {
    ingest::load(dir, &pseudonymizer(), &IngestOptions::default())
}

/// Loads `dir`, setting bad rows aside in `quarantine`.
pub fn load_quarantine(dir: &Path, quarantine: &Path) -> Result<Ingested, IngestError> {
    let options = IngestOptions { mode: Mode::Quarantine(quarantine.to_path_buf()), problems_listed: 100 };
    ingest::load(dir, &pseudonymizer(), &options)
}

/// The base fixture with `line` appended to `file` (which must be one of the base files).
pub fn with_line(file: &str, line: &str) -> String {
    let base = BASE.iter().find(|(f, _)| *f == file).expect("a base fixture file").1;
    format!("{base}{line}\n")
}

/// Every file below `dir`, as bytes, for scanning outputs.
pub fn all_bytes(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The Python interpreter the OpenAPI and LightGBM checks run: `WAGEWATCH_PYTHON` (set by `tests/run` to
/// its virtual environment), else `python3`.
pub fn python() -> std::ffi::OsString {
    std::env::var_os("WAGEWATCH_PYTHON").unwrap_or_else(|| "python3".into())
}
