//! The command line end to end: the real binary on temporary folders.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::*;

fn wagewatch(args: &[&str], state: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wagewatch"))
        .args(args)
        .env_remove("WAGEWATCH_PSEUDONYM_KEY")
        .current_dir(state)
        .output()
        .expect("the binary runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["demo", "validate", "generate"] {
        let out = wagewatch(&[sub, "--help"], dir.path());
        assert!(out.status.success(), "{sub}: {}", text(&out));
        assert!(text(&out).contains("Usage: wagewatch"), "{sub}");
    }
}

#[test]
fn a_bag_of_no_tree_models_or_of_too_many_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["train", "backtest"] {
        for bags in ["0", "17", "three"] {
            let mut args = vec![sub, "--data", "nowhere", "--bags", bags];
            args.extend(if sub == "train" {
                &["--as-of", "2026-12-01"][..]
            } else {
                &["--from", "2026-06-01", "--to", "2026-12-01"][..]
            });
            let out = wagewatch(&args, dir.path());
            assert!(!out.status.success(), "{sub} --bags {bags}");
            assert!(
                text(&out).contains(&format!("invalid value '{bags}' for '--bags")),
                "{sub} --bags {bags}: {}",
                text(&out)
            );
        }
    }
}

#[test]
fn validate_strict_fails_with_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let payroll = with_line("payroll.csv", "P1,E2,320102199001011234,2024-06,20,12.345,2024-07-15");
    write_dataset(&data, &[("payroll.csv", Some(&payroll))]);
    let out = wagewatch(&["validate", "--data", "data"], dir.path());
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("payroll.csv") && all.contains("row 4") && all.contains("wage_due"), "{all}");
    assert!(all.contains("1 problem(s) in 1 row(s)"), "{all}");
    // The key file was created on first use, private to its owner.
    let key = dir.path().join("state/pseudonym.key");
    assert!(key.is_file());
}

#[test]
fn raw_worker_ids_appear_in_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // Bad rows of every worker, so that each raw id reaches the quarantine path.
    let mut payroll = BASE[2].1.to_string();
    for (i, raw) in RAW_WORKER_IDS.iter().enumerate() {
        payroll.push_str(&format!("P1,E2,{raw},2024-0{},20,-1,2024-07-15\n", i + 6));
    }
    write_dataset(&data, &[("payroll.csv", Some(&payroll))]);
    let out = wagewatch(&["validate", "--data", "data", "--quarantine", "q", "--as-of", "2024-06-30"], dir.path());
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("set aside"), "{all}");
    let mut outputs = all_bytes(&dir.path().join("q"));
    outputs.push(("stdout+stderr".into(), all.into_bytes()));
    outputs.extend(all_bytes(&dir.path().join("state")));
    assert!(outputs.len() >= 3);
    for (path, bytes) in outputs {
        for raw in RAW_WORKER_IDS {
            assert!(!contains(&bytes, raw), "{} holds raw worker id {raw}", path.display());
        }
    }
}

#[test]
fn generate_then_validate_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = wagewatch(
        &[
            "generate",
            "--out",
            "prov",
            "--employers",
            "30",
            "--seed",
            "5",
            "--start",
            "2024-01-01",
            "--end",
            "2024-06-30",
            "--format",
            "csv",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = wagewatch(&["validate", "--data", "prov", "--as-of", "2024-03-31"], dir.path());
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("employers     30"), "{all}");
    assert!(all.contains("after as-of 2024-03-31"), "{all}");
}

#[test]
fn the_committed_sample_validates_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let out = wagewatch(&["validate", "--data", sample.to_str().unwrap()], dir.path());
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("employers     25"), "{all}");
    assert!(!all.contains("problems by kind"), "{all}");
}

#[test]
fn the_feature_docs_match_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let out = wagewatch(&["features", "--markdown"], dir.path());
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let docs =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/features.md")).unwrap();
    assert!(table.lines().count() > 80, "{table}");
    assert!(docs.ends_with(&table), "docs/features.md is stale: regenerate it with `wagewatch features --markdown`");
}

#[test]
fn tokens_and_the_audit_log_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let out = wagewatch(
        &["token", "create", "--state", state, "--role", "inspector", "--region", "320102", "--name", "张三"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let secret = String::from_utf8(out.stdout.clone()).unwrap().trim().to_string();
    assert!(secret.starts_with("ww_") && secret.len() == 67, "{secret}");
    let out = wagewatch(&["token", "create", "--state", state, "--role", "supervisor", "--name", "x"], dir.path());
    assert!(!out.status.success() && text(&out).contains("need a region"), "{}", text(&out));
    let out = wagewatch(
        &["token", "create", "--state", state, "--role", "boss", "--region", "32", "--name", "x"],
        dir.path(),
    );
    assert!(!out.status.success() && text(&out).contains("unknown role"), "{}", text(&out));
    let list = wagewatch(&["token", "list", "--state", state], dir.path());
    let listing = text(&list);
    assert!(listing.contains("张三") && listing.contains("320102") && !listing.contains(&secret), "{listing}");
    let out = wagewatch(&["token", "revoke", "--state", state, "1"], dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let listing = text(&wagewatch(&["token", "list", "--state", state], dir.path()));
    let row = listing.lines().find(|l| l.contains("张三")).unwrap();
    assert_eq!(row.matches("Z").count(), 2, "created and revoked times: {row}");
    let out = wagewatch(&["token", "revoke", "--state", state, "9"], dir.path());
    assert!(!out.status.success() && text(&out).contains("no token with id 9"), "{}", text(&out));
    let out = wagewatch(&["audit", "--state", state, "--since", "yesterday"], dir.path());
    assert!(!out.status.success() && text(&out).contains("--since"), "{}", text(&out));
    let out = wagewatch(&["audit", "--state", state], dir.path());
    assert!(out.status.success(), "{}", text(&out));
}

/// `wagewatch report <kind>` of a model of the server fixture as of a date, the JSON written to `json`.
/// The binary with `args`, then the shared fixture's data, models and key.
fn on_fixture(args: &[&str]) -> Command {
    let f = crate::server::fixture();
    let mut command = Command::new(env!("CARGO_BIN_EXE_wagewatch"));
    command.args(args).arg("--data").arg(&f.data).arg("--models").arg(&f.models).arg("--key-file").arg(&f.key);
    command.env_remove("WAGEWATCH_PSEUDONYM_KEY");
    command
}

fn report(kind: &str, model: &str, as_of: &str, json: &Path) -> Output {
    on_fixture(&["report", kind, "--model", model, "--as-of", as_of]).arg("--json").arg(json).output().unwrap()
}

#[test]
fn the_audit_slice_is_drawn_per_district_and_reproducible() {
    let f = crate::server::fixture();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    crate::server::copy_dir(&f.state, &state);
    let draw = |seed: &str, share: &str, out: &str| {
        let out = dir.path().join(out);
        let run = Command::new(env!("CARGO_BIN_EXE_wagewatch"))
            .args(["audit-slice", "--inspections-per-district", "20", "--share", share, "--seed", seed, "--state"])
            .arg(&state)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        (run, out)
    };
    let (run, a) = draw("3", "0.25", "a.csv");
    assert!(run.status.success(), "{}", text(&run));
    let (_, b) = draw("3", "0.25", "b.csv");
    let (_, c) = draw("4", "0.25", "c.csv");
    let (a, b, c) =
        (std::fs::read_to_string(a).unwrap(), std::fs::read_to_string(b).unwrap(), std::fs::read_to_string(c).unwrap());
    assert_eq!(a, b, "the same seed draws the same slice");
    assert_ne!(a, c);
    // Five a district (a quarter of 20), or the whole district when it is smaller.
    let store = wagewatch_service::state::Store::open(&state).unwrap();
    let rows = wagewatch_service::runs::RunData::load(&store, store.latest_published().unwrap().unwrap()).unwrap().rows;
    let mut population: std::collections::BTreeMap<String, usize> = Default::default();
    for r in &rows {
        *population.entry(r.region.to_string()).or_default() += 1;
    }
    let mut lines = a.lines();
    let header: Vec<&str> = lines.next().unwrap().trim_start_matches('\u{feff}').split(',').collect();
    let region = header.iter().position(|h| h.contains("region_code")).unwrap();
    let mut drawn: std::collections::BTreeMap<String, usize> = Default::default();
    for line in lines {
        *drawn.entry(line.split(',').nth(region).unwrap().to_string()).or_default() += 1;
    }
    for (district, n) in &population {
        assert_eq!(drawn.get(district).copied().unwrap_or(0), (*n).min(5), "{district}");
    }
    let (bad, _) = draw("3", "0", "d.csv");
    assert!(!bad.status.success() && text(&bad).contains("--share"), "{}", text(&bad));
}

#[test]
fn a_weeks_inspection_plan_reaches_harm_within_capacity_and_refuses_bad_requests() {
    let f = crate::server::fixture();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    crate::server::copy_dir(&f.state, &state);
    let plan = |extra: &[&str], out: &str| {
        let out = dir.path().join(out);
        let run = Command::new(env!("CARGO_BIN_EXE_wagewatch"))
            .args(["plan", "--week", "2025-12-08", "--state"])
            .arg(&state)
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        (run, out)
    };
    let (run, csv) = plan(&["--capacity", "4", "--audit-share", "0.25", "--seed", "7"], "plan.csv");
    assert!(run.status.success(), "{}", text(&run));
    let (again, same) = plan(&["--capacity", "4", "--audit-share", "0.25", "--seed", "7"], "again.csv");
    assert!(again.status.success());
    let text_of = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(text_of(&csv), text_of(&same), "the same run, request and seed give the same plan");
    let lines: Vec<Vec<String>> =
        text_of(&csv).lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect();
    assert!(!lines.is_empty());
    // At most 4 visits a district, numbered in order; no firm reached twice in a district; harm visits
    // come in the order of the harm they add, the audit slice after them.
    let mut by_district: std::collections::BTreeMap<&str, Vec<&Vec<String>>> = Default::default();
    for l in &lines {
        by_district.entry(l[0].as_str()).or_default().push(l);
    }
    for (district, visits) in &by_district {
        assert!(visits.len() <= 4, "{district}: {visits:?}");
        let orders: Vec<usize> = visits.iter().map(|v| v[1].parse().unwrap()).collect();
        assert_eq!(orders, (1..=visits.len()).collect::<Vec<_>>());
        let covered: Vec<&str> = visits.iter().flat_map(|v| v[5].split(';')).collect();
        let distinct: std::collections::BTreeSet<&&str> = covered.iter().collect();
        assert_eq!(distinct.len(), covered.len(), "{district}: a firm reached twice");
        let harm: Vec<f64> = visits.iter().filter(|v| v[2] != "audit").map(|v| v[6].parse().unwrap()).collect();
        assert!(harm.windows(2).all(|w| w[0] >= w[1]), "{district}: {harm:?}");
        let kinds: Vec<&str> = visits.iter().map(|v| v[2].as_str()).collect();
        assert!(kinds.iter().skip_while(|k| **k != "audit").all(|k| *k == "audit"), "{kinds:?}");
    }
    assert!(lines.iter().any(|l| l[2] == "audit"), "a quarter of the capacity is drawn at random");
    // Excel, with Chinese headers.
    let (xlsx_run, xlsx) = plan(&["--capacity", "3"], "plan.xlsx");
    assert!(xlsx_run.status.success(), "{}", text(&xlsx_run));
    let mut book = zip::ZipArchive::new(std::fs::File::open(&xlsx).unwrap()).unwrap();
    let mut strings = String::new();
    std::io::Read::read_to_string(&mut book.by_name("xl/sharedStrings.xml").unwrap(), &mut strings).unwrap();
    assert!(strings.contains("检查方式") && strings.contains("预计欠薪"), "{strings}");
    // Clear refusals: a week before the run, no capacity, a district with nothing scored.
    for (args, says) in [
        (vec!["--capacity", "0"], "capacity of 0"),
        (vec!["--capacity", "3", "--district", "110101"], "no scored entity"),
        (vec!["--capacity", "3", "--audit-share", "1.5"], "audit share"),
    ] {
        let (bad, _) = plan(&args, "bad.csv");
        assert!(!bad.status.success() && text(&bad).contains(says), "{args:?}: {}", text(&bad));
    }
    let past = Command::new(env!("CARGO_BIN_EXE_wagewatch"))
        .args(["plan", "--week", "2024-01-01", "--capacity", "3", "--state"])
        .arg(&state)
        .arg("--out")
        .arg(dir.path().join("past.csv"))
        .output()
        .unwrap();
    assert!(!past.status.success() && text(&past).contains("before the run's as-of date"), "{}", text(&past));
}

#[test]
fn retrain_registers_a_challenger_that_is_scored_in_shadow_promoted_and_rolled_back() {
    let f = crate::server::fixture();
    let dir = tempfile::tempdir().unwrap();
    let (state, models) = (dir.path().join("state"), dir.path().join("models"));
    crate::server::copy_dir(&f.state, &state);
    crate::server::copy_dir(&f.models, &models);
    let config = dir.path().join("wagewatch.toml");
    std::fs::write(
        &config,
        format!("data = {:?}\nmodels = {:?}\n", f.data.display().to_string(), models.display().to_string()),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_wagewatch"))
            .args(args)
            .arg("--state")
            .arg(&state)
            .arg("--config")
            .arg(&config)
            .env_remove("WAGEWATCH_PSEUDONYM_KEY")
            .output()
            .unwrap()
    };
    let keyed = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        let key = f.key.to_str().unwrap();
        all.extend(["--key-file", key]);
        run(&all)
    };
    // The data end on 2026-03-31: a challenger as of then is judged on the three months before 2026-01-01.
    let out = keyed(&["retrain", "--as-of", "2026-03-31", "--recent-months", "3"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("parent: champion m-test") && text(&out).contains("promotion rule"), "{}", text(&out));
    let store = wagewatch_service::state::Store::open(&state).unwrap();
    let registry = store.models().unwrap();
    let challenger = registry.iter().find(|m| m.role == wagewatch_service::state::ModelRole::Challenger).unwrap();
    assert_eq!(challenger.parent_model_id.as_deref(), Some("m-test"));
    let judged = &challenger.standing.as_ref().unwrap().dates;
    assert!(!judged.is_empty() && judged.iter().all(|d| d.to_string().as_str() > "2025-07-01"), "{judged:?}");
    assert!(models.join(&challenger.model_id).join("model.json").is_file());
    let id = challenger.model_id.clone();
    // Each re-score scores the challenger in shadow.
    let out = keyed(&["rescore", "--as-of", "2026-01-01"]);
    assert!(out.status.success(), "{}", text(&out));
    let latest = store.latest_published().unwrap().unwrap();
    assert_eq!(latest.model_id, "m-test");
    assert_eq!(latest.shadow.as_ref().map(|s| s.model_id.as_str()), Some(id.as_str()));
    // Promoted (by force when the rule is not met: a refresh judges like the champion), re-scores use it;
    // a rollback gives the champion back.
    let out = run(&["models", "promote", &id]);
    if !out.status.success() {
        assert!(text(&out).contains("does not meet the promotion rule"), "{}", text(&out));
        let out = run(&["models", "promote", &id, "--force"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = keyed(&["rescore", "--as-of", "2026-01-01"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(store.latest_published().unwrap().unwrap().model_id, id);
    let out = run(&["models", "rollback"]);
    assert!(out.status.success() && text(&out).contains("m-test is the champion again"), "{}", text(&out));
    let out = run(&["models", "list"]);
    assert!(text(&out).contains("champion    m-test") && text(&out).contains("rollback m-test"), "{}", text(&out));
}

#[test]
fn report_fairness_audits_a_closed_horizon_and_refuses_an_open_one() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("fairness.json");
    let run = |as_of: &str| report("fairness", "m-test", as_of, &json);
    let out = run("2025-12-01");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("employers by kind") && text(&out).contains("flag(s)"), "{}", text(&out));
    let audit: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let attributes = audit["attributes"].as_array().unwrap();
    let kind = attributes.iter().find(|a| a["entity_type"] == "employer" && a["attribute"] == "kind").unwrap();
    let groups = kind["groups"].as_array().unwrap();
    assert!(groups.iter().any(|g| g["group"] == "general_contractor"), "{kind}");
    for g in groups {
        let c = &g["counts"];
        let (n, events, selected) =
            (c["entities"].as_f64().unwrap(), c["events"].as_f64().unwrap(), c["selected"].as_f64().unwrap());
        assert_eq!(g["rates"]["base_rate"].as_f64().unwrap(), events / n, "{g}");
        assert_eq!(g["rates"]["selection_rate"].as_f64().unwrap(), selected / n, "{g}");
    }
    // The data end on 2026-03-31: the horizon of 2026-03-01 has not closed, so there is nothing to judge.
    let open = run("2026-03-01");
    assert!(!open.status.success());
    assert!(text(&open).contains("not known yet"), "{}", text(&open));
}

#[test]
fn report_drift_names_the_top_movers_and_never_writes_nan() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("drift.json");
    let run = |model: &str| report("drift", model, "2026-01-01", &json);
    let out = run("m-test");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("top movers"), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let features = report["features"].as_array().unwrap();
    let expected = wagewatch_core::features::EntityType::Employer.features().len()
        + wagewatch_core::features::EntityType::Project.features().len();
    assert_eq!(features.len(), expected);
    for f in features {
        match f["psi"].as_f64() {
            Some(v) => assert!(v.is_finite() && v >= 0.0, "{f}"),
            None => assert!(f["note"].as_str().is_some_and(|n| !n.is_empty()), "{f}"),
        }
    }
    let calendar = features.iter().find(|f| f["feature"] == "days_to_spring_festival").unwrap();
    assert!(calendar["psi"].is_null(), "{calendar}");
    assert!(report["score"].as_array().unwrap().iter().all(|s| s["psi"].as_f64().is_some()));
    assert!(report["drifted"].is_boolean());
    // The largest PSI comes first.
    let values: Vec<f64> = features.iter().filter_map(|f| f["psi"].as_f64()).collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");

    let missing = run("no-such-model");
    assert!(!missing.status.success());
    assert!(text(&missing).contains("loading model no-such-model"), "{}", text(&missing));
}

#[test]
fn backtest_across_worlds_generates_each_once_and_names_the_worst() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "backtest",
        "--worlds",
        "complaint_surge,manufacturing_downturn",
        "--seeds",
        "3",
        "--employers",
        "120",
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-01",
        "--out",
        "worlds",
    ];
    // The LightGBM references need the reference pipeline's packages (tests/run installs them with
    // WAGEWATCH_LIGHTGBM=1).
    let python = std::env::var("WAGEWATCH_PYTHON").ok().filter(|_| std::env::var_os("WAGEWATCH_LIGHTGBM").is_some());
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference");
    let reference = reference.to_str().unwrap().to_string();
    let own = args.clone();
    if let Some(python) = &python {
        args.extend(["--reference", &reference, "--python", python]);
    }
    let out = wagewatch(&args, dir.path());
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let md = std::fs::read_to_string(dir.path().join("worlds/worlds.md")).unwrap();
    for world in ["complaint_surge-3", "manufacturing_downturn-3"] {
        let world_dir = dir.path().join("worlds").join(world);
        assert!(world_dir.join("data/employers.parquet").is_file(), "{world}");
        assert!(!world_dir.join("data.partial").exists(), "{world}");
        assert!(world_dir.join("backtest/watchlists/watchlist_2026-06-01.csv").is_file(), "{world}");
    }
    for row in [
        "| complaint_surge seed 3 | 2026-06-01 | employer |",
        "| manufacturing_downturn seed 3 | 2026-06-01 | project |",
    ] {
        assert!(md.contains(row), "{row} in {md}");
    }
    for entity in ["employers", "projects"] {
        assert!(md.contains(&format!("**{entity}, worst world:**")), "{md}");
    }
    if python.is_some() {
        assert!(md.contains("lgbm_1y AP / AUC / Brier | lgbm_24m AP / AUC / Brier | passes |"), "{md}");
        assert!(md.contains(" of 4 cells meet all three conditions"), "{md}");
    }
    // A second run finds the worlds generated and does not generate them again.
    let again = wagewatch(&own, dir.path());
    assert!(again.status.success(), "{}", text(&again));
    assert!(!text(&again).contains("generating"), "{}", text(&again));
    // A dataset and worlds at once is refused.
    let both = wagewatch(
        &["backtest", "--worlds", "baseline", "--data", "d", "--from", "2026-06-01", "--to", "2026-06-01"],
        dir.path(),
    );
    assert!(!both.status.success());
    assert!(text(&both).contains("cannot be used with"), "{}", text(&both));
}

#[test]
fn score_holds_recent_findings_at_a_band_floor_unless_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let score = |name: &str, extra: &[&str]| {
        let out_file = dir.path().join(name);
        let out = on_fixture(&["score", "--model", "m-test", "--as-of", "2025-12-01"])
            .arg("--out")
            .arg(&out_file)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let mut reader = csv::Reader::from_path(&out_file).unwrap();
        let header = reader.headers().unwrap().clone();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("{name}: {header:?}"));
        let (id, score, band, floor) = (col("entity_id"), col("score"), col("band"), col("band_floor"));
        let rows: Vec<(String, String, String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[id].to_string(), r[score].to_string(), r[band].to_string(), r[floor].to_string())
            })
            .collect();
        (rows, text(&out))
    };
    let (floored, said) = score("floored.csv", &[]);
    let (plain, _) = score("plain.csv", &["--no-floors"]);
    let order = |b: &str| ["red", "orange", "yellow", "green"].iter().position(|x| *x == b).unwrap();
    assert_eq!(floored.len(), plain.len());
    assert!(plain.iter().all(|r| r.3.is_empty()), "--no-floors records no floor");
    let mut raised = 0;
    for (a, b) in floored.iter().zip(&plain) {
        // The same entity, the same score; the band only ever rises, and only where a floor is named.
        assert_eq!((&a.0, &a.1), (&b.0, &b.1));
        if a.2 == b.2 {
            assert!(a.3.is_empty(), "{a:?}");
        } else {
            assert!(order(&a.2) < order(&b.2), "{a:?} {b:?}");
            let at_least = a.3.rsplit(':').next().unwrap();
            assert!(a.3.starts_with("arrears_found:30:") || a.3.starts_with("substantiated_complaint:30:"), "{a:?}");
            assert_eq!(at_least, a.2, "{a:?}");
            raised += 1;
        }
    }
    assert!(raised > 0, "the fixture holds recent findings at entities the score leaves below orange");
    assert!(said.contains(&format!("{raised} held at a band floor")), "{said}");
}
