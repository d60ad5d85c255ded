//! The validated store: what it reads back equals what ingest read, re-ingesting does only what is new,
//! late facts merge, and a refused, killed or concurrent ingest leaves the store as it was.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wagewatch_core::contract::{Date, Table};
use wagewatch_core::features;
use wagewatch_core::ingest::{Dataset, IngestError, IngestOptions, Mode, ProblemKind, Pseudonymizer};
use wagewatch_core::worker_months::WorkerMonths;
use wagewatch_service::datastore::{DataStore, DataStoreError, IngestOutcome, TablePlan, MANIFEST_FILE};
use wagewatch_service::runs;
use wagewatch_service::state::Timestamp;

use crate::support::*;

/// The base fixture with payroll and payments as folders of monthly files, as a platform exports them.
fn write_partitioned(dir: &Path) {
    write_dataset(dir, &[("payroll.csv", None), ("payments.csv", None)]);
    for table in ["payroll", "payments"] {
        fs::create_dir_all(dir.join(table)).unwrap();
        let base = BASE.iter().find(|(f, _)| *f == format!("{table}.csv")).unwrap().1;
        fs::write(dir.join(table).join("2024-05.csv"), base).unwrap();
    }
}

/// A CSV file of `table` with the base header and these rows.
fn rows(table: &str, lines: &[&str]) -> String {
    let base = BASE.iter().find(|(f, _)| *f == format!("{table}.csv")).unwrap().1;
    let header = base.lines().next().unwrap();
    format!("{header}\n{}\n", lines.join("\n"))
}

fn ingest(store: &Path, data: &Path, mode: Mode) -> Result<IngestOutcome, DataStoreError> {
    let mut s = DataStore::create_or_open(store)?;
    s.ingest(data, &pseudonymizer(), &IngestOptions { mode, problems_listed: 20 }, Timestamp(0))
}

fn read_back(store: &Path) -> Dataset {
    DataStore::open(store).unwrap().load(&pseudonymizer()).unwrap().0
}

/// The dataset as sets of rows keyed by ids (the store may intern unregistered ids in another order).
fn by_ids(ds: &Dataset) -> Vec<String> {
    let e = |i: usize| ds.employer_ids.name(i).to_string();
    let p = |i: Option<usize>| i.map_or(String::new(), |i| ds.project_ids.name(i).to_string());
    let mut out = Vec::new();
    let t = &ds.payroll;
    for r in 0..t.len() {
        out.push(format!(
            "payroll {} {} {} {} {} {} {}",
            p(t.project[r].map(|x| x.index())),
            e(t.employer[r].index()),
            t.worker[r],
            t.period[r],
            t.days_worked[r],
            t.wage_due[r],
            t.due_date[r]
        ));
    }
    let t = &ds.payments;
    for r in 0..t.len() {
        out.push(format!(
            "payment {} {} {} {} {} {}",
            p(t.project[r].map(|x| x.index())),
            e(t.employer[r].index()),
            t.worker[r],
            t.period[r],
            t.amount[r],
            t.paid_on[r]
        ));
    }
    let t = &ds.complaints;
    for r in 0..t.len() {
        out.push(format!(
            "complaint {} {:?} {:?} {:?} {:?}",
            t.complaint_id.get(r),
            t.employer[r].map(|x| e(x.index())),
            t.project[r].map(|x| p(Some(x.index()))),
            t.closed_on[r],
            t.outcome[r]
        ));
    }
    out.push(format!("employers {:?} projects {:?}", ds.employers, ds.projects));
    out.sort();
    out
}

/// What reading the store gives must be what reading the dataset folder whole gives.
#[track_caller]
fn check_same_as_raw(store: &Path, data: &Path) {
    let raw = load_strict(data).unwrap().dataset;
    assert_eq!(by_ids(&read_back(store)), by_ids(&raw));
}

/// Scoring from the store as of each date, its wage months gathered one at a time (the latest first, each
/// month's payroll and payments dropped before the one after the next is read), gives the features of the
/// dataset folder read whole.
#[track_caller]
fn check_features_as_raw(store: &Path, data: &Path, key: &Pseudonymizer, dates: &[&str]) {
    let raw = wagewatch_core::ingest::load(data, key, &IngestOptions::default()).unwrap().dataset;
    let raw_index = WorkerMonths::build(&raw);
    for as_of in dates {
        let t = Date::parse(as_of).unwrap();
        let mut read = DataStore::open(store).unwrap().open_for_scoring(key, t).unwrap();
        let mut stream = features::FeatureStream::new(read.dataset(), t);
        let mut months = Vec::new();
        read.each_part(|part, wm| {
            months.push(part.payroll.period.first().copied());
            assert!(part.payroll.period.windows(2).all(|w| w[0] == w[1]), "one wage month at a time");
            stream.add(part, wm);
        })
        .unwrap();
        assert!(!months.is_empty() && months.windows(2).all(|w| w[0] > w[1]), "{as_of}: {months:?}");
        assert!(read.dataset().payroll.is_empty() && read.dataset().payments.is_empty(), "no fact rows are kept");
        let from_store = stream.finish(read.dataset(), 60).unwrap();
        assert_eq!(from_store, features::compute(&raw, &raw_index, t, 60).unwrap(), "{as_of}");
    }
}

fn generation(store: &Path) -> i64 {
    DataStore::open(store).unwrap().generation().unwrap().map_or(0, |g| g.number)
}

#[test]
fn a_store_reads_back_exactly_what_ingest_read() {
    let f = crate::server::fixture();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let IngestOutcome::Ingested { generation, plans, .. } = ingest(&store, &f.data, Mode::Strict).unwrap() else {
        panic!("a first ingest reads everything")
    };
    assert_eq!(generation.number, 1);
    assert!(plans.iter().all(|(_, p)| *p != TablePlan::Unchanged), "{plans:?}");
    check_same_as_raw(&store, &f.data);
}

#[test]
fn re_ingesting_does_nothing_and_a_new_month_reads_only_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (data, store) = (dir.path().join("data"), dir.path().join("store"));
    fs::create_dir(&data).unwrap();
    write_partitioned(&data);
    ingest(&store, &data, Mode::Strict).unwrap();
    check_same_as_raw(&store, &data);
    let manifest_before = fs::read(store.join(MANIFEST_FILE)).unwrap();

    let again = ingest(&store, &data, Mode::Strict).unwrap();
    assert!(matches!(again, IngestOutcome::NothingNew { .. }), "{again:?}");
    assert_eq!(generation(&store), 1);
    assert_eq!(fs::read(store.join(MANIFEST_FILE)).unwrap(), manifest_before);

    let june = rows(
        "payroll",
        &["P1,E2,320102199001011234,2024-06,20,5000,2024-07-15", ",E3,320105199203031111,2024-06,20,4200,2024-07-10"],
    );
    fs::write(data.join("payroll/2024-06.csv"), june).unwrap();
    fs::write(data.join("payments/2024-06.csv"), rows("payments", &[",E3,320105199203031111,2024-06,4200,2024-07-10"]))
        .unwrap();
    let IngestOutcome::Ingested { plans, tables, .. } = ingest(&store, &data, Mode::Strict).unwrap() else {
        panic!("new files are ingested")
    };
    let plan = |t: Table| plans.iter().find(|(p, _)| *p == t).unwrap().1;
    assert_eq!(plan(Table::Payroll), TablePlan::Append);
    assert_eq!(plan(Table::Payments), TablePlan::Append);
    assert_eq!(plan(Table::Employers), TablePlan::Unchanged);
    let read = |t: Table| tables.iter().find(|r| r.table == t).unwrap().rows_read;
    assert_eq!((read(Table::Payroll), read(Table::Payments)), (2, 1), "only the new rows are read");
    assert_eq!(generation(&store), 2);
    check_same_as_raw(&store, &data);
}

#[test]
fn late_payments_and_complaint_outcomes_are_merged() {
    let dir = tempfile::tempdir().unwrap();
    let (data, store) = (dir.path().join("data"), dir.path().join("store"));
    fs::create_dir(&data).unwrap();
    write_partitioned(&data);
    let open = rows(
        "complaints",
        &["C1,2024-07-20,E2,P1,hotline,wage_arrears,2,12000,,", "C2,2024-07-22,E3,,online,wage_arrears,1,,,"],
    );
    fs::write(data.join("complaints.csv"), open).unwrap();
    ingest(&store, &data, Mode::Strict).unwrap();
    // A payment for May arrives in a later export, and the complaints export now has outcomes.
    let late = rows("payments", &["P1,E2,32010219850202456X,2024-05,5500,2024-09-01"]);
    fs::write(data.join("payments/2024-09-export.csv"), late).unwrap();
    let closed = rows(
        "complaints",
        &[
            "C1,2024-07-20,E2,P1,hotline,wage_arrears,2,12000,2024-08-30,substantiated",
            "C2,2024-07-22,E3,,online,wage_arrears,1,,2024-09-15,withdrawn",
        ],
    );
    fs::write(data.join("complaints.csv"), closed).unwrap();
    let IngestOutcome::Ingested { plans, .. } = ingest(&store, &data, Mode::Strict).unwrap() else {
        panic!("late facts are ingested")
    };
    assert!(plans.contains(&(Table::Payments, TablePlan::Append)), "{plans:?}");
    assert!(plans.contains(&(Table::Complaints, TablePlan::Replace)), "{plans:?}");
    assert!(plans.contains(&(Table::Payroll, TablePlan::Unchanged)), "{plans:?}");
    check_same_as_raw(&store, &data);
    // May's payments now lie in two parts, one from each ingest.
    check_features_as_raw(&store, &data, &pseudonymizer(), &["2024-06-12", "2024-07-01", "2024-09-10"]);
    let ds = read_back(&store);
    assert_eq!(ds.payments.len(), 3);
    assert!(ds.complaints.outcome.iter().all(|o| o.is_some()));

    // A fact file rewritten in place makes its table be read again whole.
    let may = rows("payroll", &["P1,E2,320102199001011234,2024-05,26,6600.00,2024-06-15"]);
    fs::write(data.join("payroll/2024-05.csv"), may).unwrap();
    let IngestOutcome::Ingested { plans, .. } = ingest(&store, &data, Mode::Strict).unwrap() else {
        panic!("a changed file is ingested")
    };
    assert!(plans.contains(&(Table::Payroll, TablePlan::Replace)), "{plans:?}");
    check_same_as_raw(&store, &data);
}

/// Every file of the store with its bytes, the lock file aside.
fn store_bytes(store: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = all_bytes(store);
    all.retain(|(p, _)| !p.to_string_lossy().ends_with(".lock") && !p.to_string_lossy().contains(".db-"));
    all.sort();
    all
}

#[test]
fn a_refused_ingest_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (data, store) = (dir.path().join("data"), dir.path().join("store"));
    fs::create_dir(&data).unwrap();
    write_partitioned(&data);
    ingest(&store, &data, Mode::Strict).unwrap();
    let before = store_bytes(&store);

    // A new export repeats a payroll key the store already holds.
    let repeat = rows("payroll", &["P1,E2,320102199001011234,2024-05,26,6500.00,2024-06-15"]);
    fs::write(data.join("payroll/2024-05-resent.csv"), repeat).unwrap();
    let err = ingest(&store, &data, Mode::Strict).unwrap_err();
    let DataStoreError::Ingest(IngestError::Invalid { first, .. }) = &err else { panic!("{err}") };
    assert_eq!((first[0].kind, first[0].row), (ProblemKind::DuplicateKey, 1), "{err}");
    assert!(err.to_string().contains("the store already holds"), "{err}");
    assert!(err.to_string().contains("2024-05-resent.csv"), "{err}");
    assert_eq!(store_bytes(&store), before);
    assert_eq!(generation(&store), 1);

    // Quarantine mode sets the row aside and commits the rest.
    let quarantine = dir.path().join("quarantine");
    ingest(&store, &data, Mode::Quarantine(quarantine.clone())).unwrap();
    assert_eq!(generation(&store), 2);
    assert_eq!(read_back(&store).payroll.len(), 3);
    assert!(fs::read_to_string(quarantine.join("payroll.csv")).unwrap().contains("duplicate_key"));

    // Employers that no longer register an employer stored payroll names are refused, naming the file.
    let before = store_bytes(&store);
    let employers = BASE[0].1.lines().filter(|l| !l.starts_with("E2,")).collect::<Vec<_>>().join("\n");
    fs::write(data.join("employers.csv"), employers + "\n").unwrap();
    // (the base projects, complaints and inspections name E2 too: keep them consistent)
    for f in ["complaints.csv", "inspections.csv"] {
        fs::write(data.join(f), rows(f.trim_end_matches(".csv"), &[])).unwrap();
    }
    let err = ingest(&store, &data, Mode::Strict).unwrap_err();
    assert!(matches!(err, DataStoreError::RegistryDropsId { .. }), "{err}");
    assert!(err.to_string().contains("employers.csv") && err.to_string().contains("E2"), "{err}");
    assert_eq!(store_bytes(&store), before);
}

#[test]
fn another_key_or_another_store_format_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (data, store) = (dir.path().join("data"), dir.path().join("store"));
    fs::create_dir(&data).unwrap();
    write_partitioned(&data);
    ingest(&store, &data, Mode::Strict).unwrap();
    let other = wagewatch_core::ingest::Pseudonymizer::from_key([7; 32]);
    let err = DataStore::open(&store).unwrap().load(&other).map(|_| ()).unwrap_err();
    assert!(matches!(err, DataStoreError::KeyMismatch { .. }), "{err}");

    let conn = rusqlite::Connection::open(store.join(MANIFEST_FILE)).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = DataStore::open(&store).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("store format 99"), "{err}");
    assert!(err.to_string().contains(&format!("format {}", wagewatch_service::datastore::FORMAT_VERSION)), "{err}");
}

#[test]
fn a_killed_ingest_leaves_the_store_as_it_was_and_a_second_ingest_waits_its_turn() {
    let dir = tempfile::tempdir().unwrap();
    let (data, store) = (dir.path().join("data"), dir.path().join("store"));
    fs::create_dir(&data).unwrap();
    write_partitioned(&data);
    let key = dir.path().join("key");
    fs::write(&key, "2a".repeat(32)).unwrap(); // the fixture's key, [42; 32]
    let run = |extra_env: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wagewatch"));
        c.args(["ingest", "--data"]).arg(&data).arg("--store").arg(&store).arg("--key-file").arg(&key);
        c.env_remove("WAGEWATCH_PSEUDONYM_KEY");
        if let Some(point) = extra_env {
            c.env(runs::FAILPOINT_ENV, point).stdout(Stdio::null()).stderr(Stdio::null());
        }
        c
    };
    let out = run(None).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = store_bytes(&store);
    let loaded_before = by_ids(&read_back(&store));

    fs::write(
        data.join("payroll/2024-06.csv"),
        rows("payroll", &[",E3,320105199203031111,2024-06,20,4200,2024-07-10"]),
    )
    .unwrap();
    let mut child = run(Some("ingest-before-commit")).spawn().unwrap();
    // Wait until the new month's part is written (and synced), then try a second ingest and kill the first.
    let written = || store.join("data/payroll/2024-06").is_dir();
    let started = std::time::Instant::now();
    while !written() {
        assert!(started.elapsed().as_secs() < 60, "the ingest never wrote its part");
        assert!(child.try_wait().unwrap().is_none(), "the ingest ended before the failpoint");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = run(None).output().unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("another ingest is writing the store"));
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(generation(&store), 1);
    assert_eq!(by_ids(&read_back(&store)), loaded_before);
    // The next ingest removes what the killed one wrote, then commits normally.
    let out = run(None).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(generation(&store), 2);
    check_same_as_raw(&store, &data);
    let after = store_bytes(&store);
    let kept_old: Vec<_> = before.iter().filter(|(p, _)| p.to_string_lossy().contains("g000001")).collect();
    assert!(kept_old.iter().all(|f| after.contains(f)), "generation 1's files stand");
    let parts: Vec<_> = after.iter().filter(|(p, _)| p.to_string_lossy().contains("2024-06")).collect();
    assert_eq!(parts.len(), 1, "one part for June, none left by the killed ingest: {parts:?}");
}

#[test]
fn score_reads_a_store_and_writes_the_same_watchlist_as_from_the_folder() {
    let f = crate::server::fixture();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let bin = env!("CARGO_BIN_EXE_wagewatch");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(bin).args(args).env_remove("WAGEWATCH_PSEUDONYM_KEY").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    let ingested = run(&[
        &os("ingest"),
        &os("--data"),
        f.data.as_os_str(),
        &os("--store"),
        store.as_os_str(),
        &os("--key-file"),
        f.key.as_os_str(),
    ]);
    assert!(ingested.contains("generation 1"), "{ingested}");
    let again = run(&[
        &os("ingest"),
        &os("--data"),
        f.data.as_os_str(),
        &os("--store"),
        store.as_os_str(),
        &os("--key-file"),
        f.key.as_os_str(),
    ]);
    assert!(again.contains("nothing new"), "{again}");
    // Scoring reads only the wage months a date needs from the store: at the end of the history, and a year
    // before it, the watchlists are the same as from the whole folder.
    for as_of in ["2025-12-01", "2024-12-01"] {
        check_same_watchlist(f, &store, as_of, dir.path());
    }
    let out = Command::new(bin)
        .args(["score", "--model", "m-test", "--as-of", "2031-01-01", "--out", "never.csv", "--data"])
        .arg(&store)
        .arg("--models")
        .arg(&f.models)
        .arg("--key-file")
        .arg(&f.key)
        .env_remove("WAGEWATCH_PSEUDONYM_KEY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("2031-01-01 lies outside the store's data"), "{err}");
}

fn check_same_watchlist(f: &crate::server::Fixture, store: &Path, as_of: &str, dir: &Path) {
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(env!("CARGO_BIN_EXE_wagewatch"))
            .args(args)
            .env_remove("WAGEWATCH_PSEUDONYM_KEY")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    let mut outputs = Vec::new();
    for (name, source) in [("folder", f.data.as_os_str()), ("store", store.as_os_str())] {
        let out = dir.join(format!("{name}-{as_of}.csv"));
        run(&[
            &os("score"),
            &os("--data"),
            source,
            &os("--models"),
            f.models.as_os_str(),
            &os("--model"),
            &os("m-test"),
            &os("--as-of"),
            &os(as_of),
            &os("--out"),
            out.as_os_str(),
            &os("--key-file"),
            f.key.as_os_str(),
        ]);
        outputs.push(fs::read(out).unwrap());
    }
    assert!(!outputs[0].is_empty());
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn a_damaged_store_or_a_folder_of_other_files_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (data, store) = (dir.path().join("data"), dir.path().join("store"));
    fs::create_dir(&data).unwrap();
    write_partitioned(&data);
    // A folder that holds other files (here the dataset itself) is never made a store.
    let err = ingest(&data, &data, Mode::Strict).unwrap_err();
    assert!(matches!(err, DataStoreError::NotEmpty { .. }), "{err}");
    assert!(data.join("payroll/2024-05.csv").is_file() && !data.join(MANIFEST_FILE).exists());

    ingest(&store, &data, Mode::Strict).unwrap();
    let parts = |table: &str| -> Vec<PathBuf> {
        let mut out = Vec::new();
        for month in fs::read_dir(store.join("data").join(table)).unwrap() {
            let month = month.unwrap().path();
            if month.is_dir() {
                out.extend(fs::read_dir(month).unwrap().map(|f| f.unwrap().path()));
            }
        }
        out
    };
    // A file a user left in the store's folders is not the store's to delete.
    let stray = store.join("data/payroll/notes.txt");
    fs::write(&stray, "mine").unwrap();
    fs::write(
        data.join("payroll/2024-06.csv"),
        rows("payroll", &[",E3,320105199203031111,2024-06,20,4200,2024-07-10"]),
    )
    .unwrap();
    ingest(&store, &data, Mode::Strict).unwrap();
    assert_eq!(fs::read_to_string(&stray).unwrap(), "mine");

    // A payroll part replaced by a file of another schema is an error naming it, not a panic.
    let payroll_part = parts("payroll").into_iter().find(|p| p.extension().is_some_and(|e| e == "parquet")).unwrap();
    let saved = fs::read(&payroll_part).unwrap();
    fs::copy(&parts("payments")[0], &payroll_part).unwrap();
    let err = DataStore::open(&store).unwrap().load(&pseudonymizer()).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("is not a payroll part"), "{err}");
    fs::write(&payroll_part, saved).unwrap();

    // A manifest naming a path outside the store's data is refused before anything is read or deleted.
    let conn = rusqlite::Connection::open(store.join(MANIFEST_FILE)).unwrap();
    conn.execute("UPDATE files SET path = '../../elsewhere' WHERE tbl = 'payments'", []).unwrap();
    drop(conn);
    let err = DataStore::open(&store).unwrap().load(&pseudonymizer()).map(|_| ()).unwrap_err();
    assert!(matches!(err, DataStoreError::Corrupt { .. }), "{err}");
}

#[test]
fn a_server_rescore_reads_the_configured_store_and_its_schedule_sees_only_commits() {
    let f = crate::server::fixture();
    let dir = tempfile::tempdir().unwrap();
    let (data, store) = (dir.path().join("data"), dir.path().join("store"));
    fs::create_dir(&data).unwrap();
    for entry in fs::read_dir(&f.data).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
    }
    let key = wagewatch_core::ingest::Pseudonymizer::from_env_or_file(&f.key).unwrap();
    let mut s = DataStore::create_or_open(&store).unwrap();
    s.ingest(&data, &key, &IngestOptions::default(), Timestamp(0)).unwrap();
    let stamp = runs::schedule::data_stamp(&store);
    // Reading the store (as every re-score does) leaves the stamp alone; only a commit changes it.
    DataStore::open(&store).unwrap().load(&key).unwrap();
    assert_eq!(runs::schedule::data_stamp(&store), stamp);

    let config = crate::server::config_for(&store, &f.models);
    let mut state = wagewatch_service::state::Store::open(&dir.path().join("state")).unwrap();
    let d = wagewatch_core::contract::Date::parse("2025-12-01").unwrap();
    let run = runs::rescore_from_folder(&mut state, &config, &key, d, None, "schedule").unwrap();
    let run = state.run(&run.run_id).unwrap().unwrap();
    let generation = DataStore::open(&store).unwrap().generation().unwrap().unwrap();
    assert_eq!(run.data_fingerprint, generation.fingerprint(), "the run records the ingest it scored");
    assert!(run.counts.employers > 0 && run.counts.projects > 0);
    // Gathered a wage month at a time, the run holds what a re-score of the folder read whole holds.
    let mut other = wagewatch_service::state::Store::open(&dir.path().join("state-folder")).unwrap();
    let from_folder =
        runs::rescore_from_folder(&mut other, &crate::server::config_for(&data, &f.models), &key, d, None, "cli")
            .unwrap();
    let (a, b) = (runs::RunData::load(&state, run).unwrap(), runs::RunData::load(&other, from_folder).unwrap());
    assert!(a.links.iter().any(|l| l.relation == runs::Relation::Subcontractor));
    assert!(!a.wages.is_empty() && !a.events.is_empty());
    assert_eq!(format!("{:?}", a.rows), format!("{:?}", b.rows));
    assert_eq!((a.links, a.wages, a.events), (b.links, b.wages, b.events));
    check_features_as_raw(&store, &data, &key, &["2026-03-31", "2025-12-01", "2024-12-01", "2024-01-20"]);

    // A date outside the store's data is refused, not scored empty.
    let late = wagewatch_core::contract::Date::parse("2031-01-01").unwrap();
    let err = runs::rescore_from_folder(&mut state, &config, &key, late, None, "cli").unwrap_err();
    assert!(err.to_string().contains("lies outside the store's data"), "{err}");

    // A file rewritten with the same content is re-hashed and is nothing new: the stamp stays. New
    // content is committed, and the stamp changes, so `on_new_data` re-scores.
    let complaints = data.join("complaints.parquet");
    let bytes = fs::read(&complaints).unwrap();
    fs::write(&complaints, &bytes).unwrap();
    let outcome = s.ingest(&data, &key, &IngestOptions::default(), Timestamp(0)).unwrap();
    assert!(matches!(outcome, IngestOutcome::NothingNew { .. }), "{outcome:?}");
    assert_eq!(runs::schedule::data_stamp(&store), stamp);
    fs::remove_file(data.join("inspections.parquet")).unwrap();
    let outcome = s.ingest(&data, &key, &IngestOptions::default(), Timestamp(0)).unwrap();
    assert!(matches!(outcome, IngestOutcome::Ingested { .. }), "{outcome:?}");
    assert_ne!(runs::schedule::data_stamp(&store), stamp);
    assert!(!DataStore::open(&store).unwrap().load(&key).unwrap().0.has_inspections);
}
