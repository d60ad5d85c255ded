//! Tidy checks over the workspace's own source, in the style of rust-analyzer's: every module says what it
//! is for, no debugging leftovers, no unsafe code, no clock in the scoring core, and no async runtime, web
//! framework or database in the scoring core's dependency tree.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under the given folders of the workspace.
fn sources(folders: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for f in folders {
        walk(&root().join(f), &mut out);
    }
    out.sort();
    assert!(!out.is_empty(), "the walk found no files under {folders:?}");
    out
}

/// The lines of `files` that contain any of `needles`, outside comments.
fn lines_with(files: &[PathBuf], needles: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if needles.iter().any(|n| code.contains(n)) {
                hits.push(format!("{}:{}: {}", path.strip_prefix(root()).unwrap().display(), i + 1, line.trim()));
            }
        }
    }
    hits
}

#[test]
fn every_module_opens_with_a_doc_comment() {
    let missing: Vec<String> = sources(&["crates", "src", "tests", "benches"])
        .into_iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap().starts_with("//!"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(missing.is_empty(), "modules without a `//!` line saying what they are for: {missing:#?}");
}

#[test]
fn no_debugging_leftovers() {
    // Spelled in two halves so that this file does not find itself.
    let needles = [concat!("todo", "!("), concat!("dbg", "!("), concat!("unimplemented", "!(")];
    let hits = lines_with(&sources(&["crates", "src", "tests", "benches"]), &needles);
    assert!(hits.is_empty(), "{hits:#?}");
}

#[test]
fn unsafe_code_is_one_allocator_call_in_the_binary() {
    for root_file in [
        "crates/core/src/lib.rs",
        "crates/synth/src/lib.rs",
        "crates/service/src/lib.rs",
        "crates/dashboard/src/lib.rs",
    ] {
        let text = std::fs::read_to_string(root().join(root_file)).unwrap();
        assert!(text.contains("#![forbid(unsafe_code)]"), "{root_file}");
    }
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("unsafe_code = \"deny\""), "the workspace lints deny unsafe code");
    // Spelled in two halves so that this file does not find itself.
    let needles = [concat!("unsafe", " {"), concat!("unsafe", " extern"), concat!("allow(unsafe", "_code)")];
    let hits = lines_with(&sources(&["crates", "src", "tests", "benches"]), &needles);
    let files: std::collections::BTreeSet<_> = hits.iter().map(|h| h.split(':').next().unwrap().to_string()).collect();
    assert_eq!(files.into_iter().collect::<Vec<_>>(), ["src/memory.rs"], "{hits:#?}");
    assert_eq!(hits.len(), 3, "one allowed function, one extern block, one call: {hits:#?}");
}

#[test]
fn the_scoring_core_reads_no_clock() {
    let needles = [concat!("Instant", "::now"), concat!("SystemTime", "::now"), "UNIX_EPOCH"];
    let hits = lines_with(&sources(&["crates/core/src"]), &needles);
    assert!(hits.is_empty(), "the scoring core must not read the clock: {hits:#?}");
}

#[test]
fn the_scoring_core_depends_on_no_runtime_web_framework_or_database() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-p", "wagewatch-core", "-e", "normal", "--prefix", "none"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).unwrap();
    assert!(tree.lines().count() > 20, "{tree}");
    let crates: Vec<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    for banned in ["tokio", "axum", "hyper", "rusqlite", "libsqlite3-sys", "utoipa", "tower"] {
        assert!(!crates.contains(&banned), "wagewatch-core depends on {banned}:\n{tree}");
    }
}

#[test]
fn the_scoring_path_does_no_io() {
    // Features, targets, the worker-month index, the model's fitting and scoring, metrics and the calendar
    // take values and return values; files are read and written by ingest, watchlist, model::artifact and
    // the backtest's report.
    let path: Vec<PathBuf> = sources(&["crates/core/src"])
        .into_iter()
        .filter(|p| {
            let rel = p.strip_prefix(root().join("crates/core/src")).unwrap().to_string_lossy().to_string();
            rel.starts_with("features/")
                || [
                    "model/mod.rs",
                    "model/gbdt.rs",
                    "model/amount.rs",
                    "model/levers.rs",
                    "model/scorecard.rs",
                    "model/calibrate.rs",
                    "model/reasons.rs",
                ]
                .contains(&rel.as_str())
                || ["metrics.rs", "target.rs", "worker_months.rs", "calendar.rs", "rng.rs"].contains(&rel.as_str())
                || rel.starts_with("contract/")
        })
        .collect();
    assert!(path.len() >= 15, "{path:?}");
    let needles = ["std::fs", "fs::", "File::", "std::net", "std::env", "std::process"];
    let hits = lines_with(&path, &needles);
    assert!(hits.is_empty(), "I/O in the scoring path: {hits:#?}");
}

#[test]
fn domain_types_do_not_derive_the_wire_format() {
    // Only the service's wire types, the configuration file, the dashboard's form types and the files the
    // core writes on purpose (model.json, the backtest report with its fairness audit) derive serde or
    // OpenAPI schemas.
    let allowed = |rel: &str| {
        rel.starts_with("crates/service/src/server/")
            || rel == "crates/service/src/config.rs"
            || rel.starts_with("crates/dashboard/src/")
            || rel == "crates/core/src/backtest/report.rs"
            || rel == "crates/core/src/fairness.rs"
            || ["mod.rs", "gbdt.rs", "amount.rs", "scorecard.rs", "calibrate.rs", "artifact.rs"]
                .iter()
                .any(|f| rel == format!("crates/core/src/model/{f}"))
    };
    let derives = lines_with(&sources(&["crates"]), &["Serialize", "Deserialize", "ToSchema", "IntoParams"]);
    let outside: Vec<&String> =
        derives.iter().filter(|h| h.contains("derive(") && !allowed(h.split(':').next().unwrap())).collect();
    assert!(outside.is_empty(), "serde or schema derives outside the wire and file formats: {outside:#?}");
}

#[test]
fn the_dashboard_needs_nothing_from_outside_the_binary() {
    let dashboard = sources(&["crates/dashboard/src"]);
    let mut files = dashboard.clone();
    for asset in ["app.css", "app.js"] {
        files.push(root().join("crates/dashboard/src/assets").join(asset));
    }
    let needles = ["src=\"http", "href=\"http", "url(http", "url(//", "@import", "src=\"//", "href=\"//", "fetch("];
    let hits = lines_with(&files, &needles);
    assert!(hits.is_empty(), "the dashboard loads something from outside: {hits:#?}");
}

#[test]
fn no_handler_writes_markup_by_hand() {
    // Pages are maud templates, which escape every value: no markup in string literals, no `PreEscaped`,
    // in the dashboard or the API (their unit tests aside, which paste hostile markup on purpose).
    let needles = ["\"<", concat!("PreEscaped", "("), "'<'"];
    let mut hits = Vec::new();
    for path in sources(&["crates/dashboard/src", "crates/service/src/server"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (i, line) in code.lines().enumerate() {
            if !line.trim_start().starts_with("//") && needles.iter().any(|n| line.contains(n)) {
                hits.push(format!("{}:{}: {}", path.strip_prefix(root()).unwrap().display(), i + 1, line.trim()));
            }
        }
    }
    assert!(hits.is_empty(), "markup written by hand: {hits:#?}");
}
