//! Runs and the HTTP API, in process: every route, the role x route x region matrix, the audit log, the
//! OpenAPI document, exports, failed and killed re-scores.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use wagewatch_core::contract::{Date, RegionPrefix};
use wagewatch_core::ingest::Pseudonymizer;
use wagewatch_core::model::{self, artifact, TrainConfig};
use wagewatch_core::worker_months::WorkerMonths;
use wagewatch_service::config::Config;
use wagewatch_service::datastore::ScoringData;
use wagewatch_service::runs;
use wagewatch_service::server::{AppState, ERROR_CODES};
use wagewatch_service::state::{NewToken, Role, Store};
use wagewatch_synth::{self as synth, OutputFormat, SynthConfig};

use crate::support::*;

/// A small province, a model and two published runs, made once for the whole binary.
pub struct Fixture {
    pub data: PathBuf,
    pub models: PathBuf,
    /// A state folder with the two runs; each test works on its own copy.
    pub state: PathBuf,
    pub key: PathBuf,
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = binary_dir("fixture");
        let data = dir.join("data");
        let config = SynthConfig {
            scenario: Default::default(),
            employers: 160,
            seed: 5,
            start: d("2023-01-01"),
            end: d("2026-03-31"),
            format: OutputFormat::Parquet,
        };
        synth::generate(&config, &data, &|_| {}).unwrap();
        let key = dir.join("pseudonym.key");
        Pseudonymizer::from_env_or_file(&key).unwrap();
        let ds = load_strict(&data).unwrap().dataset;
        let wm = WorkerMonths::build(&ds);
        let mut train = TrainConfig::new(d("2025-10-01"), 60);
        train.panel_months = 12;
        train.calibration_months = 3;
        train.gbdt = model::GbdtParams::default().trees(40);
        let trained = model::train(&ds, &wm, &train, "m-test".into(), &model::fingerprint(&ds)).unwrap();
        let models = dir.join("models");
        artifact::save(&trained, &models, &Default::default()).unwrap();
        let state = dir.join("state");
        let mut store = Store::open(&state).unwrap();
        let cfg = config_for(&data, &models);
        let mut scoring = ScoringData::Loaded(ds, wm);
        for as_of in ["2025-11-01", "2025-12-01"] {
            let request = runs::RescoreRequest { as_of: d(as_of), trigger: "cli".into() };
            let inputs = runs::ScoringInputs { data: &mut scoring, model: &trained, data_fingerprint: "fp" };
            runs::rescore(&mut store, inputs, &request, &cfg).unwrap();
        }
        Fixture { data, models, state, key }
    })
}

/// A copy of the fixture's models with a backtest (one test date) attached to `m-test`, for the pages and
/// routes that show a backtest and its fairness audit.
pub fn models_with_backtest() -> &'static Path {
    static MODELS: OnceLock<PathBuf> = OnceLock::new();
    MODELS.get_or_init(|| {
        use wagewatch_core::backtest::{self, BacktestConfig};
        let f = fixture();
        let dir = binary_dir("models-with-backtest");
        let models = dir.join("models");
        copy_dir(&f.models, &models);
        let ds = load_strict(&f.data).unwrap().dataset;
        let wm = WorkerMonths::build(&ds);
        let config = BacktestConfig {
            from: d("2025-12-01"),
            to: d("2025-12-01"),
            step_months: 1,
            horizon_days: 60,
            panel_months: 12,
            calibration_months: 3,
            watchlists: None,
            selection_weights: true,
            monotone: true,
            recency_half_life_months: None,
            bags: wagewatch_core::model::BAGS,
            model_seed: wagewatch_core::model::DEFAULT_SEED,
        };
        let result = backtest::run(&ds, &wm, &config, &|_, _| {}).unwrap();
        let report = dir.join("report");
        backtest::write_report(&result, None, &report).unwrap();
        artifact::attach_backtest(&models, "m-test", &report).unwrap();
        models
    })
}

/// A folder for what the whole test binary shares, under Cargo's temporary folder for integration tests
/// (`target/tmp`): emptied when first made in a run, so that statics, which are never dropped, leave one
/// copy behind rather than one per run in the system's temporary folder.
fn binary_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn config_for(data: &Path, models: &Path) -> Config {
    let mut c = Config { data: data.to_path_buf(), models: models.to_path_buf(), ..Default::default() };
    c.schedule.enabled = false;
    c
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The district with the most entities in the current run, and the largest one in another city.
pub fn largest_districts(state: &Path) -> (String, String) {
    let store = Store::open(state).unwrap();
    let run = store.latest_published().unwrap().unwrap();
    let data = runs::RunData::load(&store, run).unwrap();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in &data.rows {
        *counts.entry(r.region.to_string()).or_default() += 1;
    }
    let mut districts: Vec<(usize, String)> = counts.into_iter().map(|(k, v)| (v, k)).collect();
    districts.sort_by(|a, b| b.cmp(a));
    let home = districts[0].1.clone();
    let away = districts.iter().find(|(_, d)| d[..4] != home[..4]).unwrap_or(&districts[1]).1.clone();
    (home, away)
}

/// One server over a private copy of the fixture's state, with a token per caller kind.
pub struct App {
    pub rt: tokio::runtime::Runtime,
    pub state: AppState,
    pub router: axum::Router,
    pub dir: tempfile::TempDir,
    pub tokens: HashMap<&'static str, String>,
    /// The district of the in-region callers, and another district with entities.
    pub home: String,
    pub away: String,
}

/// The callers of the matrix.
pub const CALLERS: [&str; 6] = ["admin", "supervisor", "inspector", "inspector_away", "city_supervisor", "city_admin"];

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

impl App {
    pub fn new() -> App {
        App::with_config(|_| {})
    }

    pub fn with_config(edit: impl FnOnce(&mut Config)) -> App {
        let f = fixture();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&f.state, dir.path());
        let (home, away) = largest_districts(dir.path());
        let mut store = Store::open(dir.path()).unwrap();
        let mut tokens = HashMap::new();
        let p = |s: &str| RegionPrefix::parse(s).unwrap();
        for (name, role, region) in [
            ("admin", Role::Admin, p("")),
            ("supervisor", Role::Supervisor, p(&home)),
            ("inspector", Role::Inspector, p(&home)),
            ("inspector_away", Role::Inspector, p(&away)),
            ("city_supervisor", Role::Supervisor, p(&home[..4])),
            ("city_admin", Role::Admin, p(&home[..4])),
        ] {
            tokens.insert(name, store.create_token(&NewToken::new(name, role, region).unwrap()).unwrap().1);
        }
        drop(store);
        let mut config = config_for(&f.data, &f.models);
        edit(&mut config);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let state = AppState::open(config, dir.path(), f.key.clone()).unwrap();
        let router = wagewatch_dashboard::app(state.clone());
        App { rt, state, router, dir, tokens, home, away }
    }

    pub fn call(&self, method: &str, uri: &str, caller: Option<&str>, body: Option<&str>) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(c) = caller {
            request = request.header("authorization", format!("Bearer {}", self.tokens[c]));
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        self.send(request.body(Body::from(body.unwrap_or("").to_string())).unwrap())
    }

    /// Sends a request as it is.
    pub fn send(&self, request: Request<Body>) -> Reply {
        self.rt.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let content_type = headers.get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec();
            Reply { status, headers, content_type, body }
        })
    }

    pub fn get(&self, uri: &str, caller: &str) -> Value {
        let r = self.call("GET", uri, Some(caller), None);
        assert_eq!(r.status, StatusCode::OK, "{uri} as {caller}: {}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    /// Every watchlist row a caller gets for a query, through all pages.
    fn all_pages(&self, query: &str, caller: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut uri = format!("/v1/watchlist?{query}&limit=37");
        loop {
            let page = self.get(&uri, caller);
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => uri = format!("/v1/watchlist?{query}&limit=37&cursor={c}"),
                None => {
                    assert_eq!(items.len() as u64, page["total"].as_u64().unwrap(), "{query}");
                    return items;
                }
            }
        }
    }

    /// Every alert a caller gets for a query, through all pages (newest first).
    fn all_alerts(&self, query: &str, caller: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut uri = format!("/v1/alerts?{query}&limit=7");
        loop {
            let page = self.get(&uri, caller);
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_i64() {
                Some(c) => uri = format!("/v1/alerts?{query}&limit=7&cursor={c}"),
                None => return items,
            }
        }
    }

    /// An entity id of a type in a district (or outside it).
    pub fn entity(&self, entity_type: &str, in_district: &str, inside: bool) -> String {
        let page = self.get(&format!("/v1/watchlist?entity_type={entity_type}&limit=500"), "admin");
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| (i["region_code"].as_str().unwrap() == in_district) == inside)
            .unwrap_or_else(|| panic!("no {entity_type} {} {in_district}", if inside { "in" } else { "outside" }))
            ["entity_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The id of the published run as of a date.
    pub fn run_as_of(&self, as_of: &str) -> String {
        let runs = self.get("/v1/runs", "admin");
        let run = runs["runs"].as_array().unwrap().iter().find(|r| r["as_of"] == as_of).cloned();
        run.unwrap()["run_id"].as_str().unwrap().to_string()
    }

    pub fn current_run(&self) -> String {
        self.get("/v1/runs", "admin")["current_run_id"].as_str().unwrap().to_string()
    }
}

/// The first `n` raw worker ids of the fixture's payroll (ID-card numbers, personal data).
fn raw_worker_ids(data: &Path, n: usize) -> Vec<String> {
    use arrow_array::{Array, StringArray};
    let file = std::fs::File::open(data.join("payroll.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let col = batch.column_by_name("worker_id").unwrap();
        let cast = arrow_cast::cast(col, &arrow_schema::DataType::Utf8).unwrap();
        let ids = cast.as_any().downcast_ref::<StringArray>().unwrap();
        out.extend((0..ids.len()).map(|i| ids.value(i).to_string()));
        if out.len() >= n {
            break;
        }
    }
    out.truncate(n);
    assert!(out.iter().all(|id| id.len() == 18), "raw ID-card numbers");
    out
}

/// One matrix case: a caller calls a route and gets a status.
#[track_caller]
pub fn check(app: &App, caller: Option<&str>, method: &str, uri: &str, body: Option<&str>, expected: u16) -> Reply {
    let reply = app.call(method, uri, caller, body);
    assert_eq!(
        reply.status.as_u16(),
        expected,
        "{method} {uri} as {caller:?}: {}",
        String::from_utf8_lossy(&reply.body[..reply.body.len().min(400)])
    );
    if reply.content_type.starts_with("application/json") && !reply.status.is_success() {
        let e = reply.json();
        let code = e["code"].as_str().unwrap();
        assert!(ERROR_CODES.iter().any(|(c, s)| *c == code && *s == expected), "{code} with {expected}");
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    reply
}

#[test]
fn every_route_answers_each_role_by_the_rules() {
    let app = App::new();
    assert_ne!(app.home[..4], app.away[..4], "the away district lies in another city");
    let emp_in = app.entity("employer", &app.home, true);
    let emp_away = app.entity("employer", &app.away, true);
    let prj_in = app.entity("project", &app.home, true);
    let run = app.current_run();
    let (home, city, away) = (app.home.clone(), app.home[..4].to_string(), app.away.clone());
    let all = |s| [s; 6];
    let token = |region: &str| format!(r#"{{"name":"n","role":"inspector","region":"{region}"}}"#);
    // (method, uri, body, expected status for admin, supervisor, inspector, inspector_away, city_supervisor,
    // city_admin)
    let cases: Vec<(&str, String, Option<String>, [u16; 6])> = vec![
        ("GET", "/v1/watchlist".into(), None, all(200)),
        ("GET", format!("/v1/watchlist?region={home}"), None, [200, 200, 200, 403, 200, 200]),
        ("GET", format!("/v1/watchlist?region={}", &home[..2]), None, all(200)),
        ("GET", "/v1/watchlist/export?format=csv".into(), None, [200, 200, 403, 403, 200, 200]),
        ("GET", "/v1/watchlist/export?format=xlsx".into(), None, [200, 200, 403, 403, 200, 200]),
        ("GET", "/v1/watchlist/export?format=parquet".into(), None, [200, 200, 403, 403, 200, 200]),
        ("GET", format!("/v1/employers/{emp_in}"), None, [200, 200, 200, 404, 200, 200]),
        ("GET", format!("/v1/employers/{emp_away}"), None, [200, 404, 404, 200, 404, 404]),
        ("GET", format!("/v1/projects/{prj_in}"), None, [200, 200, 200, 404, 200, 200]),
        ("GET", "/v1/employers/nope".into(), None, all(404)),
        ("GET", "/v1/runs".into(), None, all(200)),
        ("GET", "/v1/alerts".into(), None, all(200)),
        ("GET", format!("/v1/alerts?region={home}"), None, [200, 200, 200, 403, 200, 200]),
        ("GET", "/v1/alerts?limit=0".into(), None, all(400)),
        ("GET", "/v1/alerts?cursor=-1".into(), None, all(400)),
        ("GET", format!("/v1/plans?district={home}&week=2025-12-08&capacity=5"), None, [200, 200, 200, 403, 200, 200]),
        ("GET", format!("/v1/plans?district={away}&week=2025-12-08&capacity=5"), None, [200, 403, 403, 200, 403, 403]),
        ("GET", format!("/v1/plans?district={home}&week=2024-01-01&capacity=5"), None, [422, 422, 422, 403, 422, 422]),
        ("GET", format!("/v1/plans?district={home}&week=2025-12-08&capacity=0"), None, all(400)),
        ("GET", format!("/v1/plans?district={home}&week=2025-12-08&capacity=5&audit_share=2"), None, all(400)),
        ("GET", "/v1/plans?district=110101&week=2025-12-08&capacity=5".into(), None, [404, 403, 403, 403, 403, 403]),
        ("GET", "/v1/plans?district=3205&week=2025-12-08&capacity=5".into(), None, all(400)),
        ("GET", format!("/v1/runs/{run}"), None, all(200)),
        ("GET", "/v1/runs/r-nope".into(), None, all(404)),
        ("GET", "/v1/jobs/nope".into(), None, all(400)),
        ("GET", "/v1/jobs/job-0000000000000000".into(), None, all(404)),
        ("GET", "/v1/models".into(), None, all(200)),
        ("GET", "/v1/models/m-test".into(), None, all(200)),
        ("GET", "/v1/models/nope".into(), None, all(404)),
        ("GET", "/v1/models/..%2Fx".into(), None, all(404)),
        ("POST", "/v1/models/m-test/promote".into(), None, [404, 403, 403, 403, 403, 403]),
        ("POST", "/v1/models/rollback".into(), None, [409, 403, 403, 403, 403, 403]),
        ("GET", "/v1/tokens".into(), None, [200, 403, 403, 403, 403, 200]),
        ("GET", "/v1/audit".into(), None, [200, 403, 403, 403, 403, 200]),
        // A region's admin grants tokens of its region or a part of it, never wider and never elsewhere.
        ("POST", "/v1/tokens".into(), Some(r#"{"name":"n","role":"admin"}"#.into()), [201, 403, 403, 403, 403, 403]),
        ("POST", "/v1/tokens".into(), Some(token(&home[..2])), [201, 403, 403, 403, 403, 403]),
        ("POST", "/v1/tokens".into(), Some(token(&city)), [201, 403, 403, 403, 403, 201]),
        ("POST", "/v1/tokens".into(), Some(token(&home)), [201, 403, 403, 403, 403, 201]),
        ("POST", "/v1/tokens".into(), Some(token(&away)), [201, 403, 403, 403, 403, 403]),
        ("DELETE", "/v1/tokens/999".into(), None, [404, 403, 403, 403, 403, 404]),
        (
            "POST",
            "/v1/inspections".into(),
            Some(format!(
                r#"{{"inspection_id":"X-{{n}}","employer_id":"{emp_in}","inspected_on":"2025-12-03","found_arrears":true,"arrears_amount":1200.5,"workers_affected":3}}"#
            )),
            [201, 403, 201, 404, 403, 201],
        ),
        (
            "POST",
            "/v1/inspections".into(),
            Some(format!(
                r#"{{"inspection_id":"Y-{{n}}","employer_id":"{emp_away}","inspected_on":"2025-12-03","found_arrears":false}}"#
            )),
            [201, 403, 404, 201, 403, 404],
        ),
        // A re-score covers every region: national admins only.
        ("POST", "/v1/runs".into(), Some(r#"{"as_of":"nope"}"#.into()), [400, 403, 403, 403, 403, 403]),
        ("POST", "/v1/runs".into(), Some(r#"{"model_id":"../x"}"#.into()), [400, 403, 403, 403, 403, 403]),
        ("POST", "/v1/runs".into(), Some(r#"{"as_of":"1900-01-01"}"#.into()), [422, 403, 403, 403, 403, 403]),
        ("POST", "/v1/runs".into(), Some("[null, null]".into()), all(400)),
        ("GET", "/healthz".into(), None, all(200)),
        ("GET", "/readyz".into(), None, all(200)),
        ("GET", "/metrics".into(), None, all(200)),
        ("GET", "/openapi.json".into(), None, all(200)),
    ];
    let raw_ids = raw_worker_ids(&fixture().data, 500);
    for (method, uri, body, expected) in &cases {
        for (i, caller) in CALLERS.iter().enumerate() {
            let want = expected[i];
            let body = body.as_ref().map(|b| b.replace("{n}", &format!("{i}")));
            let reply = check(&app, Some(caller), method, uri, body.as_deref(), want);
            // No response carries a raw worker id.
            let text = String::from_utf8_lossy(&reply.body);
            assert!(!raw_ids.iter().any(|id| text.contains(id.as_str())), "{uri} leaks a worker id");
        }
        // Without a token only the operational routes answer.
        let open = ["/healthz", "/readyz", "/metrics", "/openapi.json"].contains(&uri.as_str());
        check(&app, None, method, uri, body.as_deref(), if open { 200 } else { 401 });
    }
    // A wrong or revoked token.
    let reply =
        app.rt.block_on(app.router.clone().oneshot(
            Request::get("/v1/watchlist").header("authorization", "Bearer ww_nope").body(Body::empty()).unwrap(),
        ));
    assert_eq!(reply.unwrap().status(), StatusCode::UNAUTHORIZED);
    check(&app, None, "GET", "/v1/nothing", None, 404);
    check(&app, Some("admin"), "PUT", "/v1/watchlist", None, 405);
}

#[test]
fn a_regions_admin_sees_and_revokes_only_its_regions_tokens_and_audit() {
    let app = App::new();
    // Activity in and out of the city: each caller reads the watchlist once.
    for caller in CALLERS {
        app.get("/v1/watchlist?limit=1", caller);
    }
    let city = RegionPrefix::parse(&app.home[..4]).unwrap();
    let tokens = app.get("/v1/tokens", "city_admin");
    let regions: Vec<&str> =
        tokens["tokens"].as_array().unwrap().iter().map(|t| t["region"].as_str().unwrap()).collect();
    assert!(!regions.is_empty());
    assert!(regions.iter().all(|r| !r.is_empty() && city.covers(RegionPrefix::parse(r).unwrap())), "{regions:?}");
    let everyone = app.get("/v1/tokens", "admin");
    let id_of = |name: &str| {
        everyone["tokens"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["token_id"].as_i64().unwrap()
    };
    // The national admin's token and the away inspector's are not the city admin's to revoke.
    for name in ["admin", "inspector_away"] {
        check(&app, Some("city_admin"), "DELETE", &format!("/v1/tokens/{}", id_of(name)), None, 404);
    }
    app.get("/v1/watchlist?limit=1", "inspector_away");
    // Its own region's inspector is.
    check(&app, Some("city_admin"), "DELETE", &format!("/v1/tokens/{}", id_of("inspector")), None, 204);
    check(&app, Some("inspector"), "GET", "/v1/watchlist?limit=1", None, 401);
    // The audit log it reads holds its region's callers only, and its own privileged actions.
    let audit = app.get("/v1/audit?limit=1000", "city_admin");
    let names: BTreeSet<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["token_name"].as_str().unwrap_or("")).collect();
    assert!(names.contains("city_supervisor") && names.contains("city_admin"), "{names:?}");
    assert!(!names.contains("admin") && !names.contains("inspector_away"), "{names:?}");
    let routes: Vec<&str> = audit["entries"].as_array().unwrap().iter().map(|e| e["route"].as_str().unwrap()).collect();
    assert!(routes.contains(&"/v1/tokens/{id}") && routes.contains(&"/v1/tokens"), "{routes:?}");
    // The national admin sees everyone, including the refused revocations.
    let audit = app.get("/v1/audit?limit=1000", "admin");
    let names: BTreeSet<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["token_name"].as_str().unwrap_or("")).collect();
    assert!(names.contains("inspector_away") && names.contains("city_admin"), "{names:?}");
}

#[test]
fn no_route_ever_returns_an_entity_outside_the_callers_region() {
    let app = App::new();
    let everything = app.all_pages("", "admin");
    let every_alert = app.all_alerts("", "admin");
    for caller in ["supervisor", "inspector", "inspector_away", "city_supervisor"] {
        let region = RegionPrefix::parse(match caller {
            "inspector_away" => &app.away,
            "city_supervisor" => &app.home[..4],
            _ => &app.home,
        })
        .unwrap();
        let inside = |v: &Value| {
            region.contains(wagewatch_core::contract::RegionCode::parse(v["region_code"].as_str().unwrap()).unwrap())
        };
        let expected: BTreeSet<String> =
            everything.iter().filter(|v| inside(v)).map(|v| v["entity_id"].as_str().unwrap().to_string()).collect();
        assert!(!expected.is_empty(), "{caller} sees nothing at all");
        // The watchlist, unfiltered and with filters meant to widen it.
        for query in ["", "region=32", "band=red,orange,yellow,green", "min_score=0", "q=9"] {
            let got = app.all_pages(query, caller);
            assert!(got.iter().all(inside), "{caller} {query}");
            if query.is_empty() || query.starts_with("region") || query.starts_with("band") || query.starts_with("min")
            {
                let ids: BTreeSet<String> = got.iter().map(|v| v["entity_id"].as_str().unwrap().to_string()).collect();
                assert_eq!(ids, expected, "{caller} {query}");
            }
        }
        // Alerts, unfiltered and asked for the whole province: exactly the ones in the caller's region.
        let alert_inside = |a: &Value| {
            region.contains(wagewatch_core::contract::RegionCode::parse(a["region_code"].as_str().unwrap()).unwrap())
        };
        let expected_alerts: Vec<&Value> = every_alert.iter().filter(|a| alert_inside(a)).collect();
        assert!(expected_alerts.len() < every_alert.len(), "{caller}: some alert lies outside the region");
        for query in ["", "region=32"] {
            let got = app.all_alerts(query, caller);
            assert_eq!(got.iter().collect::<Vec<_>>(), expected_alerts, "{caller} {query}");
        }
        // Every entity by id: in region 200, outside 404, and related entities outside carry no scores.
        for v in &everything {
            let kind = v["entity_type"].as_str().unwrap();
            let id = v["entity_id"].as_str().unwrap();
            let reply = app.call("GET", &format!("/v1/{kind}s/{id}"), Some(caller), None);
            if inside(v) {
                assert_eq!(reply.status, StatusCode::OK, "{caller} {id}");
                for rel in reply.json()["related"].as_array().unwrap() {
                    if let Some(code) = rel["region_code"].as_str() {
                        assert!(
                            region.contains(wagewatch_core::contract::RegionCode::parse(code).unwrap()),
                            "{caller} {rel}"
                        );
                    } else {
                        assert!(rel["band"].is_null() && rel["score"].is_null() && rel["name"].is_null(), "{rel}");
                    }
                }
            } else {
                assert_eq!(reply.status, StatusCode::NOT_FOUND, "{caller} {id}");
            }
        }
        // Exports hold the same rows as the watchlist.
        if caller.contains("supervisor") {
            let csv = app.call("GET", "/v1/watchlist/export?format=csv", Some(caller), None);
            let text = String::from_utf8(csv.body).unwrap();
            let ids: BTreeSet<String> =
                text.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().to_string()).collect();
            assert_eq!(ids, expected, "{caller} export");
        }
    }
}

#[test]
fn a_page_asked_again_is_the_same_bytes_and_never_another_callers() {
    // Pages are rendered once per run and filter: the same request by callers of other regions, in turn and
    // each twice, gets only its caller's region, the second time the first's bytes; after a new run is
    // published, pages come from it.
    let app = App::new();
    let region_of = |caller: &str| match caller {
        "inspector_away" => app.away.clone(),
        "city_supervisor" => app.home[..4].to_string(),
        "admin" => String::new(),
        _ => app.home.clone(),
    };
    for uri in ["/v1/watchlist?limit=7", "/v1/watchlist?limit=7&region=32", "/v1/watchlist?limit=7&band=red,orange"] {
        let mut seen = Vec::new();
        for caller in ["inspector", "inspector_away", "admin", "city_supervisor", "inspector", "inspector_away"] {
            let first = check(&app, Some(caller), "GET", uri, None, 200);
            let again = check(&app, Some(caller), "GET", uri, None, 200);
            assert_eq!(first.body, again.body, "{caller} {uri}");
            let items = first.json()["items"].as_array().unwrap().clone();
            assert!(!items.is_empty(), "{caller} {uri}");
            let region = region_of(caller);
            for item in &items {
                assert!(item["region_code"].as_str().unwrap().starts_with(&region), "{caller} {uri}: {item}");
            }
            seen.push((caller, first.body));
        }
        assert_ne!(seen[0].1, seen[1].1, "two districts' pages differ");
        assert_eq!(seen[0].1, seen[4].1, "{uri}");
    }
    let before = app.get("/v1/watchlist?limit=7", "inspector");
    let job = check(&app, Some("admin"), "POST", "/v1/runs", Some(r#"{"as_of":"2026-01-01"}"#), 202).json();
    assert_eq!(wait_for_job(&app, job["job_id"].as_str().unwrap())["status"], "succeeded");
    let after = app.get("/v1/watchlist?limit=7", "inspector");
    assert_ne!(after["run_id"], before["run_id"]);
    assert_eq!(after["run_id"].as_str().unwrap(), app.current_run());
    assert_eq!(after["as_of"], "2026-01-01");
}

#[test]
fn watchlist_filters_order_and_pages_are_stable() {
    let app = App::new();
    let all = app.all_pages("", "admin");
    // Employers then projects, each by rank 1..n.
    let mut last = ("employer".to_string(), 0u64);
    for v in &all {
        let key = (v["entity_type"].as_str().unwrap().to_string(), v["rank"].as_u64().unwrap());
        if key.0 == last.0 {
            assert_eq!(key.1, last.1 + 1, "{v}");
        } else {
            assert_eq!((key.0.as_str(), key.1), ("project", 1));
        }
        last = key;
        // The contract's fields.
        assert!(["red", "orange", "yellow", "green"].contains(&v["band"].as_str().unwrap()));
        let score = v["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
        let reasons = v["reasons"].as_str().unwrap();
        let codes: Vec<&str> =
            v["reason_texts"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
        assert_eq!(reasons, codes.join(";"));
    }
    let red = app.all_pages("band=red&entity_type=employer", "admin");
    assert!(red.iter().all(|v| v["band"] == "red" && v["entity_type"] == "employer"));
    let high = app.all_pages("min_score=0.3", "admin");
    assert!(high.iter().all(|v| v["score"].as_f64().unwrap() >= 0.3));
    assert_eq!(high.len(), all.iter().filter(|v| v["score"].as_f64().unwrap() >= 0.3).count());
    let subs = app.all_pages("kind=subcontractor&sector=construction", "admin");
    assert!(!subs.is_empty());
    let name = all[0]["name"].as_str().unwrap();
    let found = app.all_pages(&format!("q={}", urlencode(name)), "admin");
    assert!(found.iter().any(|v| v["entity_id"] == all[0]["entity_id"]));
    // Bad parameters are 400 with the parameter named.
    for (query, name) in [
        ("entity_type=firm", "entity_type"),
        ("region=3", "region"),
        ("band=blue", "band"),
        ("min_score=2", "min_score"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("cursor=zzz", "cursor"),
        ("limit=x", "query"),
        ("rank_by=yuan", "rank_by"),
    ] {
        let r = check(&app, Some("admin"), "GET", &format!("/v1/watchlist?{query}"), None, 400);
        assert!(r.json()["message"].as_str().unwrap().contains(name), "{query}");
    }
    check_rank_by_expected_harm(&app, &all);
    // An older run by id, and a cursor keeps its run even after a new one is published.
    let runs = app.get("/v1/runs", "admin");
    let older = runs["runs"][1]["run_id"].as_str().unwrap().to_string();
    let page = app.get(&format!("/v1/watchlist?run={older}&limit=5"), "admin");
    assert_eq!(page["run_id"], older.as_str());
    assert!(page["items"][0]["previous_score"].is_null(), "the first run has no previous one");
    let current = app.get("/v1/watchlist?limit=5", "admin");
    assert!(current["items"][0]["band_change"].as_str().is_some());
    let cursor = current["next_cursor"].as_str().unwrap().to_string();
    let r = check(&app, Some("admin"), "GET", &format!("/v1/watchlist?run={older}&cursor={cursor}"), None, 422);
    assert!(r.json()["message"].as_str().unwrap().contains("another run"));
}

/// Every row carries its expected harm; `rank_by=expected_harm` gives the same rows, employers then
/// projects, each by expected unpaid wages (the rank breaking ties), through every page.
fn check_rank_by_expected_harm(app: &App, by_probability: &[Value]) {
    let yuan = |v: &Value| v["expected_unpaid_yuan"].as_f64();
    for v in by_probability {
        let (y, w) = (yuan(v).expect("expected harm"), v["expected_workers"].as_f64().expect("expected workers"));
        assert!(y.is_finite() && y >= 0.0 && w.is_finite() && w >= 0.0, "{v}");
    }
    let by_harm = app.all_pages("rank_by=expected_harm", "admin");
    assert_eq!(by_harm.len(), by_probability.len());
    let ids = |rows: &[Value]| {
        let mut v: Vec<String> = rows.iter().map(|r| r["entity_id"].as_str().unwrap().to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&by_harm), ids(by_probability));
    for w in by_harm.windows(2) {
        if w[0]["entity_type"] == w[1]["entity_type"] {
            let (a, b) = (yuan(&w[0]).unwrap(), yuan(&w[1]).unwrap());
            assert!(a > b || (a == b && w[0]["rank"].as_u64() < w[1]["rank"].as_u64()), "{} then {}", w[0], w[1]);
        } else {
            assert_eq!(
                (w[0]["entity_type"].as_str(), w[1]["entity_type"].as_str()),
                (Some("employer"), Some("project"))
            );
        }
    }
    // A cursor is read in the order it was made in: another order is refused, not misread.
    let page = app.get("/v1/watchlist?rank_by=expected_harm&limit=3", "admin");
    let cursor = page["next_cursor"].as_str().unwrap();
    assert!(cursor.contains(":h"), "{cursor}");
    let r = check(app, Some("admin"), "GET", &format!("/v1/watchlist?cursor={cursor}"), None, 422);
    assert!(r.json()["message"].as_str().unwrap().contains("rank_by"));
    let plain = app.get("/v1/watchlist?limit=3", "admin")["next_cursor"].as_str().unwrap().to_string();
    check(app, Some("admin"), "GET", &format!("/v1/watchlist?rank_by=expected_harm&cursor={plain}"), None, 422);
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[test]
fn the_second_run_raises_alerts_listed_newest_first_by_region() {
    let app = App::new();
    let all = app.all_alerts("", "admin");
    assert!(!all.is_empty(), "the demo's second run raises alerts");
    let ids: Vec<i64> = all.iter().map(|a| a["alert_id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first, no alert twice across pages");
    let current = app.current_run();
    for a in &all {
        assert_eq!(a["run_id"], current.as_str(), "the first run is the baseline and raises none");
        let kind = a["kind"].as_str().unwrap();
        assert!(["newly_red", "rise", "rule_fired", "group_owed_before_festival"].contains(&kind), "{a}");
        assert!(!a["zh"].as_str().unwrap().is_empty() && !a["en"].as_str().unwrap().is_empty());
        if kind == "newly_red" {
            assert_ne!(a["previous_score"], Value::Null);
        }
    }
    // A district's alerts are the ones whose entity lies in it.
    let home = app.all_alerts(&format!("region={}", app.home), "admin");
    let expected: Vec<&Value> = all.iter().filter(|a| a["region_code"] == app.home.as_str()).collect();
    assert_eq!(home.iter().collect::<Vec<_>>(), expected);
    // Reads of alerts name entities: audited.
    let audit = app.get("/v1/audit?route=/v1/alerts&limit=5", "admin");
    assert!(!audit["entries"].as_array().unwrap().is_empty(), "{audit}");
}

#[test]
fn a_districts_plan_over_the_api_stays_in_the_district_and_counts_each_firm_once() {
    let app = App::new();
    let uri = format!("/v1/plans?district={}&week=2025-12-08&capacity=4&audit_share=0.25&seed=3", app.home);
    let plan = app.get(&uri, "inspector");
    assert_eq!(plan, app.get(&uri, "inspector"), "the same request gives the same plan");
    assert_eq!(plan["district"], app.home.as_str());
    let visits = plan["visits"].as_array().unwrap();
    assert!(!visits.is_empty() && visits.len() <= 4, "{plan}");
    let orders: Vec<u64> = visits.iter().map(|v| v["order"].as_u64().unwrap()).collect();
    assert_eq!(orders, (1..=visits.len() as u64).collect::<Vec<_>>());
    let in_district: BTreeSet<String> = app
        .all_pages(&format!("region={}&entity_type=employer", app.home), "inspector")
        .iter()
        .map(|v| v["entity_id"].as_str().unwrap().to_string())
        .collect();
    let mut seen = BTreeSet::new();
    for v in visits {
        for f in v["covers"].as_array().unwrap() {
            let f = f.as_str().unwrap().to_string();
            assert!(in_district.contains(&f), "{f} lies outside the district");
            assert!(seen.insert(f), "a firm reached twice");
        }
    }
    let reached: f64 =
        visits.iter().filter(|v| v["kind"] != "audit").map(|v| v["expected_unpaid_yuan"].as_f64().unwrap()).sum();
    assert!((reached - plan["reached_yuan"].as_f64().unwrap()).abs() < 0.05 * visits.len() as f64, "{plan}");
    // Plans name firms: audited.
    let audit = app.get("/v1/audit?route=/v1/plans&limit=5", "admin");
    assert!(!audit["entries"].as_array().unwrap().is_empty(), "{audit}");
    // The plan page: the same plan, printable, under the same region check.
    let cookie = crate::attacks::sign_in(&app, "inspector");
    let form = crate::attacks::page(&app, &cookie, "/plan");
    assert_eq!(form.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&form.body).contains("name=\"capacity\""));
    let page = crate::attacks::page(&app, &cookie, &format!("/plan?district={}&week=2025-12-08&capacity=4", app.home));
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("id=\"plan\"") && html.contains("检查计划"), "{html}");
    let first = visits[0]["target_id"].as_str().unwrap();
    assert!(html.contains(first), "{first} missing from the page");
    let away = crate::attacks::page(&app, &cookie, &format!("/plan?district={}&week=2025-12-08&capacity=4", app.away));
    assert_eq!(away.status, StatusCode::FORBIDDEN);
    let css = String::from_utf8(crate::attacks::page(&app, &cookie, "/assets/app.css").body).unwrap();
    assert!(css.contains("section.plan { break-after: page; }"), "one district a printed page");
    // An inspection recorded against a visit of the plan shows it done, on the API and on the page.
    assert_eq!(plan["done_visits"], 0, "{plan}");
    let last = visits.last().unwrap();
    let (target, kind) = (last["target_id"].as_str().unwrap(), last["kind"].as_str().unwrap());
    let employer = if kind == "site" { last["covers"][0].as_str().unwrap() } else { target };
    let body = format!(
        r#"{{"inspection_id":"P-1","employer_id":"{employer}","inspected_on":"2025-12-10","found_arrears":false,"plan_week":"2025-12-08"}}"#
    );
    let recorded = check(&app, Some("inspector"), "POST", "/v1/inspections", Some(&body), 201);
    let recorded: Value = serde_json::from_slice(&recorded.body).unwrap();
    assert_eq!(recorded["plan_week"], "2025-12-08");
    let after = app.get(&uri, "inspector");
    assert_eq!(after["done_visits"], 1, "{after}");
    let done = &after["visits"][visits.len() - 1]["done"];
    assert_eq!((done["inspection_id"].as_str(), done["inspected_on"].as_str()), (Some("P-1"), Some("2025-12-10")));
    assert!(after["visits"][0]["done"].is_null() || visits.len() == 1, "{after}");
    // The same firm inspected in another week leaves this week's plan as it was.
    let other = body.replace("P-1", "P-2").replace("2025-12-10", "2025-12-16").replace("2025-12-08", "2025-12-15");
    check(&app, Some("inspector"), "POST", "/v1/inspections", Some(&other), 201);
    assert_eq!(app.get(&uri, "inspector")["done_visits"], 1);
    let page = crate::attacks::page(&app, &cookie, &format!("/plan?district={}&week=2025-12-08&capacity=4", app.home));
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("☑ 2025-12-10") && html.contains("已完成 1 / "), "{html}");
}

#[test]
fn what_to_fix_is_shown_for_red_and_orange_entities_over_the_api_and_the_dashboard() {
    let app = App::new();
    let all = app.all_pages("", "admin");
    let mut with_levers = Vec::new();
    for v in &all {
        let levers = v["levers"].as_array().unwrap();
        if !["red", "orange"].contains(&v["band"].as_str().unwrap()) {
            assert!(levers.is_empty(), "{v}");
            continue;
        }
        let score = v["score"].as_f64().unwrap();
        for l in levers {
            assert!(l["score_after"].as_f64().unwrap() <= score - 0.005, "{l} against {score}");
            let (zh, en) = (l["zh"].as_str().unwrap(), l["en"].as_str().unwrap());
            assert!(zh.contains("->") && en.contains("->"), "{l}");
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{zh}");
        }
        if !levers.is_empty() {
            with_levers.push(v);
        }
    }
    assert!(!with_levers.is_empty(), "some red or orange entity has a measure that lowers its risk");
    // The entity's own page and detail carry the same measures.
    let v = with_levers[0];
    let (t, id) = (v["entity_type"].as_str().unwrap(), v["entity_id"].as_str().unwrap());
    let detail = app.get(&format!("/v1/{t}s/{id}"), "admin");
    assert_eq!(detail["levers"], v["levers"]);
    assert_eq!(detail["expected_unpaid_yuan"], v["expected_unpaid_yuan"]);
    let cookie = crate::attacks::sign_in(&app, "admin");
    let html = String::from_utf8(crate::attacks::page(&app, &cookie, &format!("/entity/{t}/{id}")).body).unwrap();
    assert!(html.contains("建议措施") && html.contains("id=\"levers\""), "{html}");
    // Key figures read in Chinese on the Chinese page (the code kept beside them).
    let (zh, _) = wagewatch_core::model::reasons::labels(wagewatch_core::features::Feature::HeadcountLastMonth);
    assert!(html.contains("关键指标") && html.contains(zh), "{html}");
    let first = v["levers"][0]["zh"].as_str().unwrap().replace('>', "&gt;");
    assert!(html.contains(&first), "{first} missing from the page");
}

#[test]
fn entity_pages_show_reasons_history_and_relations() {
    let app = App::new();
    let prj = app.entity("project", "000000", false);
    let p = app.get(&format!("/v1/projects/{prj}"), "admin");
    assert_eq!(p["history"].as_array().unwrap().len(), 2, "{p}");
    // The older point of the history is that run's own score (the run read whole when a request names it).
    let older = &p["history"][1];
    let then = app.get(&format!("/v1/projects/{prj}?run={}", older["run_id"].as_str().unwrap()), "admin");
    assert_eq!((&then["run_id"], &then["score"], &then["band"]), (&older["run_id"], &older["score"], &older["band"]));
    assert_ne!(then["run_id"], p["run_id"]);
    assert!(p["related"].as_array().unwrap().iter().any(|r| r["relation"] == "general_contractor"));
    assert!(!p["key_features"].as_array().unwrap().is_empty());
    for r in p["reasons"].as_array().unwrap() {
        assert!(!r["zh"].as_str().unwrap().is_empty() && !r["en"].as_str().unwrap().is_empty());
    }
    let gc = p["related"].as_array().unwrap().iter().find(|r| r["relation"] == "general_contractor").unwrap();
    let e = app.get(&format!("/v1/employers/{}", gc["entity_id"].as_str().unwrap()), "admin");
    assert!(e["related"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["entity_id"] == prj.as_str() && r["relation"] == "general_contractor"));
    assert!(e["kind"].as_str().is_some());
}

#[test]
fn score_reads_are_audited_with_caller_route_filters_and_rows() {
    let app = App::new();
    let page = app.get(&format!("/v1/watchlist?region={}&limit=7&band=red,orange,yellow,green", app.home), "inspector");
    let rows = page["items"].as_array().unwrap().len() as u64;
    let emp = app.entity("employer", &app.home, true);
    app.get(&format!("/v1/employers/{emp}"), "supervisor");
    check(&app, Some("supervisor"), "GET", "/v1/watchlist/export?format=xlsx&band=red", None, 200);
    let audit = app.get("/v1/audit?limit=1000", "admin")["entries"].as_array().unwrap().clone();
    let find =
        |token: &str, route: &str| audit.iter().find(|a| a["token_name"] == token && a["route"] == route).cloned();
    let w = find("inspector", "/v1/watchlist").expect("watchlist read audited");
    assert_eq!(w["rows"].as_u64().unwrap(), rows);
    assert!(w["filters"].as_str().unwrap().contains(&format!("region={}", app.home)), "{w}");
    assert_eq!(w["role"], "inspector");
    let e = find("supervisor", "/v1/employers/{id}").expect("entity read audited");
    assert_eq!(e["filters"].as_str().unwrap(), format!("id={emp}"));
    let x = find("supervisor", "/v1/watchlist/export").expect("export audited");
    assert!(x["filters"].as_str().unwrap().contains("format=xlsx"));
    // The admin's own entity lookups made by the helper are there too; denied requests read nothing.
    assert!(find("admin", "/v1/watchlist").is_some());
    check(&app, Some("inspector"), "GET", "/v1/watchlist/export", None, 403);
    let audit = app.get("/v1/audit?route=/v1/watchlist/export", "admin")["entries"].as_array().unwrap().clone();
    assert!(audit.iter().all(|a| a["token_name"] != "inspector"));
    // The log is in the database: the CLI's store reads the same entries.
    let store = Store::open(app.dir.path()).unwrap();
    let stored = store.audit(&wagewatch_service::state::AuditQuery { limit: 1000, ..Default::default() }).unwrap();
    assert!(stored.iter().any(|r| r.entry.token_name == "inspector" && r.entry.rows == rows));
    // Nothing the API returns or logs holds a raw worker id (the fixture's ids are 18-character numbers).
    for r in &stored {
        assert!(!r.entry.filters.chars().filter(|c| c.is_ascii_digit()).collect::<String>().contains("19900101"));
    }
}

#[test]
fn exports_open_as_csv_parquet_and_excel() {
    let app = App::new();
    let csv =
        check(&app, Some("supervisor"), "GET", "/v1/watchlist/export?format=csv&band=red,orange,yellow", None, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    let text = String::from_utf8(csv.body).unwrap();
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    assert!(text.lines().next().unwrap().contains("entity_type,entity_id,name,region_code,score,rank,band,reasons"));
    let pq = check(&app, Some("supervisor"), "GET", "/v1/watchlist/export?format=parquet", None, 200);
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(axum::body::Bytes::from(pq.body))
            .unwrap()
            .build()
            .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    let expected =
        app.get(&format!("/v1/watchlist?region={}&limit=1", app.home), "supervisor")["total"].as_u64().unwrap();
    assert_eq!(rows as u64, expected);
    let xlsx = check(&app, Some("supervisor"), "GET", "/v1/watchlist/export?format=xlsx", None, 200);
    let mut book = zip::ZipArchive::new(std::io::Cursor::new(xlsx.body)).unwrap();
    let mut strings = String::new();
    std::io::Read::read_to_string(&mut book.by_name("xl/sharedStrings.xml").unwrap(), &mut strings).unwrap();
    for header in ["编号", "名称", "欠薪风险概率", "风险等级", "主要原因", "新上榜"] {
        assert!(strings.contains(header), "{header} missing from the Excel headers");
    }
    let mut sheet = String::new();
    std::io::Read::read_to_string(&mut book.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut sheet).unwrap();
    assert_eq!(sheet.matches("<row ").count() as u64, expected + 1, "a header and one row per entity");
    check(&app, Some("supervisor"), "GET", "/v1/watchlist/export?format=pdf", None, 400);
}

/// A column of a CSV export, in its order.
fn exported(csv: &[u8], column: &str) -> Vec<String> {
    let text = String::from_utf8(csv.to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let at = reader.headers().unwrap().iter().position(|h| h == column).unwrap_or_else(|| panic!("no {column}"));
    reader.records().map(|r| r.unwrap()[at].to_string()).collect()
}

#[test]
fn exports_keep_the_order_the_list_was_read_in() {
    let app = App::new();
    let ids = |rows: &[Value]| rows.iter().map(|r| r["entity_id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let export = |uri: &str| {
        let reply = app.call("GET", uri, Some("admin"), None);
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        reply.body
    };
    // The API's export in rank order and by expected harm: the pages' order, every row once.
    for rank_by in ["probability", "expected_harm"] {
        let listed = ids(&app.all_pages(&format!("rank_by={rank_by}"), "admin"));
        let csv = export(&format!("/v1/watchlist/export?format=csv&rank_by={rank_by}"));
        assert_eq!(exported(&csv, "entity_id"), listed, "rank_by={rank_by}");
    }
    let by_rank = exported(&export("/v1/watchlist/export?format=csv"), "entity_id");
    let by_harm = exported(&export("/v1/watchlist/export?format=csv&rank_by=expected_harm"), "entity_id");
    assert_ne!(by_rank, by_harm, "the two orders differ on the demo, so the checks can fail");
    // The dashboard's export in the order of the page it was asked from, whose links carry the sort.
    let cookie = crate::attacks::sign_in(&app, "admin");
    let html =
        String::from_utf8(crate::attacks::page(&app, &cookie, "/watchlist?sort=expected_harm&dir=desc").body).unwrap();
    assert!(html.contains("/export?format=csv&amp;sort=expected_harm&amp;dir=desc"), "export links keep the sort");
    let dashboard = |sort: &str, dir: &str| {
        let reply = crate::attacks::page(&app, &cookie, &format!("/export?format=csv&sort={sort}&dir={dir}"));
        assert_eq!(reply.status, StatusCode::OK, "{sort} {dir}");
        reply.body
    };
    let csv = dashboard("expected_harm", "desc");
    let harm: Vec<f64> = exported(&csv, "expected_unpaid_yuan").iter().map(|y| y.parse().unwrap()).collect();
    assert!(harm.windows(2).all(|w| w[0] >= w[1]), "by expected harm, highest first");
    let names = exported(&dashboard("name", "asc"), "name");
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "by name");
    assert_eq!(exported(&dashboard("rank", "asc"), "entity_id"), by_rank, "by rank, as the API's");
    // A sort changes the order only: an inspector still cannot export, sorted or not.
    let inspector = crate::attacks::sign_in(&app, "inspector");
    let refused = crate::attacks::page(&app, &inspector, "/export?format=csv&sort=expected_harm&dir=desc");
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = app.call("GET", "/v1/watchlist/export?format=csv&rank_by=expected_harm", Some("inspector"), None);
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(exported(&csv, "entity_id").len(), by_rank.len());
}

#[test]
fn recorded_inspections_are_durable_and_feed_later_runs() {
    let app = App::new();
    let emp = app.entity("employer", &app.home, true);
    let body = format!(
        r#"{{"inspection_id":"API-1","employer_id":"{emp}","inspected_on":"2025-11-20","found_arrears":true,"arrears_amount":52000,"workers_affected":12,"selection":"random"}}"#
    );
    let r = check(&app, Some("inspector"), "POST", "/v1/inspections", Some(&body), 201);
    assert_eq!(r.json()["recorded_by"], "inspector");
    assert_eq!(r.json()["selection"], "random");
    let lottery = body.replace("API-1", "API-2").replace(r#""random""#, r#""lottery""#);
    let r = check(&app, Some("inspector"), "POST", "/v1/inspections", Some(&lottery), 400);
    assert!(r.json()["message"].as_str().unwrap().contains("selection"), "{}", r.json());
    check(&app, Some("inspector"), "POST", "/v1/inspections", Some(&body), 409);
    for (bad, word) in [
        (r#"{"inspection_id":"A","employer_id":"x"}"#, "missing field"),
        (r#"{"inspection_id":"A","employer_id":"x","inspected_on":"2025-13-01","found_arrears":true}"#, "inspected_on"),
        (r#"not json"#, "expected"),
    ] {
        let r = check(&app, Some("inspector"), "POST", "/v1/inspections", Some(bad), 400);
        assert!(r.json()["message"].as_str().unwrap().contains(word), "{bad}");
    }
    let huge = format!(r#"{{"inspection_id":"{}"}}"#, "x".repeat(100_000));
    check(&app, Some("inspector"), "POST", "/v1/inspections", Some(&huge), 413);
    // Stored in the database, and merged into the dataset a later re-score reads.
    let store = Store::open(app.dir.path()).unwrap();
    let recorded = store.recorded_inspections().unwrap();
    assert_eq!(recorded.len(), 1);
    let f = fixture();
    let mut ds = load_strict(&f.data).unwrap().dataset;
    let before = ds.inspections.len();
    assert_eq!(runs::merge_recorded_inspections(&mut ds, &recorded), 1);
    assert_eq!(ds.inspections.len(), before + 1);
    assert_eq!(ds.inspections.selection[before], Some(wagewatch_core::contract::Selection::Random));
    assert_eq!(runs::merge_recorded_inspections(&mut ds, &recorded), 0, "merged once only");
    let wm = WorkerMonths::build(&ds);
    let feats = wagewatch_core::features::compute(&ds, &wm, d("2025-12-01"), 60).unwrap();
    let e = ds.employer_ids.get(&emp).unwrap() as u32;
    let row = feats.employers.entities.iter().position(|&x| x == e).unwrap();
    let found = feats.employers.get(row, wagewatch_core::features::Feature::InspectionsFoundArrears365d).unwrap();
    assert!(found >= 1.0, "the recorded inspection counts as of a later date");
}

#[test]
fn tokens_are_hashed_and_revocation_takes_effect() {
    let app = App::new();
    let created = check(
        &app,
        Some("admin"),
        "POST",
        "/v1/tokens",
        Some(r#"{"name":"新人","role":"supervisor","region":"3201"}"#),
        201,
    )
    .json();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("ww_"));
    check(&app, Some("admin"), "POST", "/v1/tokens", Some(r#"{"name":"x","role":"inspector"}"#), 422);
    let listed = app.get("/v1/tokens", "admin");
    assert!(!listed.to_string().contains(&secret), "a listing never shows a secret");
    for file in ["wagewatch.db", "wagewatch.db-wal"] {
        let bytes = std::fs::read(app.dir.path().join(file)).unwrap_or_default();
        assert!(!contains(&bytes, &secret), "{file} holds only the hash");
    }
    let id = created["token_id"].as_i64().unwrap();
    let with =
        |s: &str| Request::get("/v1/runs").header("authorization", format!("Bearer {s}")).body(Body::empty()).unwrap();
    assert_eq!(app.rt.block_on(app.router.clone().oneshot(with(&secret))).unwrap().status(), StatusCode::OK);
    check(&app, Some("admin"), "DELETE", &format!("/v1/tokens/{id}"), None, 204);
    assert_eq!(app.rt.block_on(app.router.clone().oneshot(with(&secret))).unwrap().status(), StatusCode::UNAUTHORIZED);
}

/// Checks the OpenAPI document: version, a path and operation for every route, every `$ref` resolving,
/// every error response using the error schema, and the external validator's verdict.
#[test]
fn the_openapi_document_covers_every_route_and_validates() {
    let app = App::new();
    let doc = check(&app, None, "GET", "/openapi.json", None, 200).json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let routes = [
        ("get", "/v1/watchlist"),
        ("get", "/v1/watchlist/export"),
        ("get", "/v1/employers/{id}"),
        ("get", "/v1/projects/{id}"),
        ("get", "/v1/runs"),
        ("post", "/v1/runs"),
        ("get", "/v1/runs/{id}"),
        ("get", "/v1/jobs/{id}"),
        ("get", "/v1/models"),
        ("get", "/v1/models/{id}"),
        ("post", "/v1/models/{id}/promote"),
        ("post", "/v1/models/rollback"),
        ("post", "/v1/inspections"),
        ("get", "/v1/tokens"),
        ("post", "/v1/tokens"),
        ("delete", "/v1/tokens/{id}"),
        ("get", "/v1/audit"),
        ("get", "/v1/alerts"),
        ("get", "/v1/plans"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, routes.len(), "documented operations: {:?}", paths.keys().collect::<Vec<_>>());
    for (method, path) in routes {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let secured = path.starts_with("/v1/");
        assert_eq!(op["security"].is_array(), secured, "{method} {path}");
        let responses = op["responses"].as_object().unwrap();
        if secured {
            assert!(responses.contains_key("401"), "{method} {path} documents 401");
        }
        for (status, r) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &r["content"]["application/json"]["schema"]["$ref"];
                assert!(
                    schema.as_str().is_some_and(|s| s.ends_with("/ErrorBody") || s.ends_with("/Ready")),
                    "{method} {path} {status}"
                );
            }
        }
        // Every route answers something other than 404/405 (it exists in the router).
        let uri = path.replace("{id}", "x");
        let body = (method == "post").then_some(r#"{"as_of":"x"}"#);
        let reply = app.call(&method.to_uppercase(), &uri, Some("admin"), body);
        assert!(!matches!(reply.status.as_u16(), 405) && reply.json_or_text_code() != "no_route", "{method} {path}");
    }
    // Every $ref resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "$ref" {
                        out.push(x.as_str().unwrap().to_string());
                    }
                    refs(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "{r} does not resolve");
    }
    // Every error code is described.
    let description = doc["info"]["description"].as_str().unwrap();
    for (code, _) in ERROR_CODES {
        assert!(description.contains(code), "{code} undocumented");
    }
    // The external validator (installed by .ci/run: pip install openapi-spec-validator).
    let file = app.dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = std::process::Command::new(crate::support::python())
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "openapi-spec-validator (pip install openapi-spec-validator): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Reply {
    fn json_or_text_code(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

#[test]
fn a_rescore_over_the_api_publishes_and_a_failed_one_keeps_the_current_run() {
    let app = App::new();
    let before = app.current_run();
    // A request holds the snapshot it took for its whole life: publishing swaps in a new one beside it.
    let held = app.state.snapshot();
    let job = check(&app, Some("admin"), "POST", "/v1/runs", Some(r#"{"as_of":"2026-01-01"}"#), 202).json();
    let job = wait_for_job(&app, job["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    let after = app.current_run();
    assert_ne!(after, before);
    assert_eq!(job["run_id"].as_str().unwrap(), after);
    let page = app.get("/v1/watchlist?limit=1", "admin");
    assert_eq!(page["as_of"], "2026-01-01");
    let run = app.get(&format!("/v1/runs/{after}"), "admin");
    assert_eq!(run["previous_run_id"].as_str().unwrap(), before);
    assert_eq!(run["trigger"], "api");
    assert_eq!(app.state.snapshot().kept.len(), 3);
    assert_eq!(held.current().unwrap().run_id(), before);
    assert_eq!(held.kept.len(), 2);
    assert!(held.pick(Some(&after)).is_err(), "the held snapshot does not see the new run");

    // A re-score whose data folder is gone fails, is reported, and the current run stays served.
    let broken = App::with_config(|c| c.data = PathBuf::from("/nonexistent/data"));
    let served = broken.current_run();
    let job = check(&broken, Some("admin"), "POST", "/v1/runs", Some("{}"), 202).json();
    let job = wait_for_job(&broken, job["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "failed");
    assert!(job["error"].as_str().unwrap().contains("nonexistent"), "{job}");
    let runs = broken.get("/v1/runs", "admin");
    assert_eq!(runs["current_run_id"].as_str().unwrap(), served);
    assert_eq!(runs["runs"][0]["status"], "failed");
    assert!(runs["runs"][0]["error"].as_str().unwrap().contains("nonexistent"));
    check(&broken, Some("admin"), "GET", "/v1/watchlist?limit=1", None, 200);
}

pub fn wait_for_job(app: &App, id: &str) -> Value {
    for _ in 0..600 {
        let job = app.get(&format!("/v1/jobs/{id}"), "admin");
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("job {id} did not finish in a minute");
}

#[test]
fn killing_a_rescore_midway_leaves_the_previous_run_served() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&f.state, dir.path());
    let before = Store::open(dir.path()).unwrap().latest_published().unwrap().unwrap().run_id;
    let rescore = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wagewatch"));
        command.args(["rescore", "--as-of", "2026-01-01", "--state"]).arg(dir.path());
        command.arg("--data").arg(&f.data).arg("--models").arg(&f.models).arg("--key-file").arg(&f.key);
        command.env_remove("WAGEWATCH_PSEUDONYM_KEY");
        command
    };
    let mut child = rescore()
        .env(runs::FAILPOINT_ENV, "rescore-after-scores")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the run's first file is written in its staging folder, then kill the process.
    let staged = || {
        std::fs::read_dir(dir.path().join("runs")).unwrap().flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with(".staging-") && e.path().join("scores.parquet").exists()
        })
    };
    let started = std::time::Instant::now();
    while !staged() {
        assert!(started.elapsed().as_secs() < 60, "the re-score never reached its first file");
        assert!(child.try_wait().unwrap().is_none(), "the re-score ended before the failpoint");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The registry still serves the previous run; the half-written folder is gone at the next start.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.latest_published().unwrap().unwrap().run_id, before);
    assert_eq!(store.published().unwrap().len(), 2);
    let left: Vec<String> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| !n.starts_with(".staging-")), "{left:?}");
    drop(store);
    let mut config = config_for(&f.data, &f.models);
    config.schedule.enabled = false;
    let state = AppState::open(config, dir.path(), f.key.clone()).unwrap();
    assert_eq!(state.snapshot().current().unwrap().run_id(), before);
    // And a re-score without the failpoint then publishes normally.
    let out = rescore().output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = Store::open(dir.path()).unwrap();
    assert_ne!(store.latest_published().unwrap().unwrap().run_id, before);
}

#[test]
fn retention_keeps_the_newest_runs_and_deletes_older_folders() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&f.state, dir.path());
    let mut store = Store::open(dir.path()).unwrap();
    let mut config = config_for(&f.data, &f.models);
    config.retention.keep_runs = 2;
    let key = Pseudonymizer::from_env_or_file(&f.key).unwrap();
    let oldest = store.published().unwrap().last().unwrap().run_id.clone();
    let record = runs::rescore_from_folder(&mut store, &config, &key, d("2026-01-01"), None, "cli").unwrap();
    let kept: Vec<String> = store.published().unwrap().into_iter().map(|r| r.run_id).collect();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0], record.run_id);
    assert!(!kept.contains(&oldest));
    assert!(!dir.path().join("runs").join(&oldest).exists());
    // The new run's rows carry the change since the previous run.
    let data = runs::RunData::load(&store, store.latest_published().unwrap().unwrap()).unwrap();
    assert!(data
        .rows
        .iter()
        .all(|r| r.previous_score.is_some() || r.new_on_list || r.band == wagewatch_core::model::Band::Green));
    assert_eq!(data.record.model_id, "m-test");
}

#[test]
fn metrics_count_requests_by_route() {
    let app = App::new();
    app.get("/v1/watchlist?limit=1", "admin");
    app.get("/v1/watchlist?limit=1", "admin");
    let text = String::from_utf8(check(&app, None, "GET", "/metrics", None, 200).body).unwrap();
    assert!(text.contains(r#"wagewatch_http_requests_total{route="/v1/watchlist",status="200"} 2"#), "{text}");
    assert!(text.contains("wagewatch_http_request_duration_seconds_bucket"));
    assert!(text.contains("wagewatch_current_run_age_seconds"));
    let ready = app.get("/readyz", "admin");
    assert_eq!(ready["ready"], true);
}

#[test]
fn each_run_measures_its_drift_against_the_training_panel_and_the_previous_run() {
    let f = fixture();
    let app = App::new();
    let of = |as_of: &str| app.run_as_of(as_of);
    // The first run has nothing before it; the second is compared with it.
    let first = app.get(&format!("/v1/runs/{}", of("2025-11-01")), "inspector");
    assert!(first["drift"]["previous_max_psi"].is_null(), "{first}");
    assert!(first["drift_against_previous"].is_null(), "{first}");
    let detail = app.get(&format!("/v1/runs/{}", of("2025-12-01")), "inspector");
    let brief = &detail["drift"];
    let (training, previous) =
        (brief["training_max_psi"].as_f64().unwrap(), brief["previous_max_psi"].as_f64().unwrap());
    assert_eq!(brief["threshold"], 0.25);
    assert_eq!(brief["drifted"], training.max(previous) > 0.25, "{brief}");
    let movers = detail["drift_against_previous"]["top_movers"].as_array().unwrap();
    assert_eq!(movers[0]["psi"].as_f64().unwrap(), previous.max(movers[0]["psi"].as_f64().unwrap()));
    // Against the training panel: what `report drift` computes from the data, feature by feature.
    let ds = load_strict(&f.data).unwrap().dataset;
    let wm = WorkerMonths::build(&ds);
    let trained = artifact::load(&f.models, "m-test").unwrap();
    let report = wagewatch_core::drift::against_training_panel(&ds, &wm, &trained, d("2025-12-01"), 0.25).unwrap();
    let against = &detail["drift_against_training"];
    let movers = against["top_movers"].as_array().unwrap();
    assert_eq!(movers.len(), 10);
    for m in movers {
        let expected = report
            .features
            .iter()
            .find(|r| r.entity_type.code() == m["entity_type"] && r.feature.name() == m["subject"])
            .and_then(|r| r.psi.value())
            .unwrap();
        assert!((m["psi"].as_f64().unwrap() - expected).abs() < 1e-9, "{m} against {expected}");
    }
    let psis: Vec<f64> = movers.iter().map(|m| m["psi"].as_f64().unwrap()).collect();
    assert!(psis.windows(2).all(|w| w[0] >= w[1]), "{psis:?}");
    assert_eq!(against["score"].as_array().unwrap().len(), 2);
    assert!(against["undefined"].as_u64().unwrap() > 0, "the calendar features");
    // The served run's drift as Prometheus gauges.
    assert_eq!(app.current_run(), of("2025-12-01"));
    let text = String::from_utf8(check(&app, None, "GET", "/metrics", None, 200).body).unwrap();
    let flag = if brief["drifted"] == true { 1 } else { 0 };
    assert!(text.contains(&format!("\nwagewatch_current_run_drifted {flag}\n")), "{text}");
    assert!(text.contains(&format!("\nwagewatch_current_run_drift_training_psi {training}\n")), "{text}");
}

#[test]
fn past_lists_are_judged_against_what_happened_once_their_horizon_closes() {
    let f = fixture();
    let app = App::new();
    let of = |as_of: &str| app.run_as_of(as_of);
    // The fixture's data reach 2026-03-31: both runs' horizons have closed.
    let run = of("2025-12-01");
    let detail = app.get(&format!("/v1/runs/{run}"), "inspector");
    let outcomes = &detail["outcomes"];
    assert_eq!(outcomes["horizon_days"], 60, "{detail}");
    let employers = &outcomes["entity_types"][0];
    assert_eq!(employers["entity_type"], "employer");
    // By hand: the run's rows against the contract's events of (2025-12-01, 2026-01-30].
    let ds = load_strict(&f.data).unwrap().dataset;
    let wm = WorkerMonths::build(&ds);
    let labels = wagewatch_core::target::labels(&ds, &wm, d("2025-12-01"), 60);
    let store = Store::open(app.dir.path()).unwrap();
    let data = runs::RunData::load(&store, store.run(&run).unwrap().unwrap()).unwrap();
    let rows: Vec<(wagewatch_core::model::Band, bool)> = data
        .rows
        .iter()
        .filter(|r| r.entity_type == wagewatch_core::features::EntityType::Employer)
        .map(|r| (r.band, labels.employers[ds.employer_ids.get(&r.entity_id).unwrap()].any()))
        .collect();
    let count = |bands: &[&str]| {
        let of: Vec<&(wagewatch_core::model::Band, bool)> =
            rows.iter().filter(|(b, _)| bands.contains(&b.code())).collect();
        (of.len(), of.iter().filter(|(_, e)| *e).count())
    };
    let (red, red_events) = count(&["red"]);
    assert_eq!(
        (employers["bands"][0]["entities"].as_u64(), employers["bands"][0]["events"].as_u64()),
        (Some(red as u64), Some(red_events as u64))
    );
    let (listed, listed_events) = count(&["red", "orange"]);
    let all_events = rows.iter().filter(|(_, e)| *e).count();
    assert_eq!(employers["events"].as_u64(), Some(all_events as u64));
    assert!(listed > 0 && all_events > 0);
    assert_eq!(employers["precision_at_orange"].as_f64(), Some(listed_events as f64 / listed as f64));
    assert_eq!(employers["recall_at_orange"].as_f64(), Some(listed_events as f64 / all_events as f64));
    let binned: u64 =
        employers["calibration"].as_array().unwrap().iter().map(|b| b["entities"].as_u64().unwrap()).sum();
    assert_eq!(binned, rows.len() as u64);
    // A run whose horizon is still open is not judged; runs judged on the same data are not judged again.
    let judged_at = outcomes["judged_at"].clone();
    let mut store = store;
    let trained = artifact::load(&f.models, "m-test").unwrap();
    let mut data = ScoringData::Loaded(ds, wm);
    let inputs = runs::ScoringInputs { data: &mut data, model: &trained, data_fingerprint: "fp" };
    let request = runs::RescoreRequest { as_of: d("2026-03-01"), trigger: "cli".into() };
    let open = runs::rescore(&mut store, inputs, &request, &config_for(&f.data, &f.models)).unwrap();
    assert!(store.outcome(&open.run_id).unwrap().is_none());
    let again = store.outcome(&run).unwrap().unwrap();
    assert_eq!(judged_at, again.judged_at.to_string());
}

#[test]
fn a_challenger_is_promoted_by_the_rule_and_rolled_back_audited() {
    use wagewatch_core::champion::Standing;
    use wagewatch_service::state::{ModelRecord, ModelRole, Timestamp};
    let app = App::new();
    let standing = |ap: f64, flags: usize| Standing {
        dates: vec![d("2025-11-01")],
        average_precision: [ap, ap],
        calibration_gap: [Some(0.02), None],
        fairness_flags: flags,
    };
    let record = |id: &str, role: ModelRole, mine: Option<Standing>, vs: Option<Standing>| ModelRecord {
        model_id: id.into(),
        role,
        parent_model_id: vs.as_ref().map(|_| "m-test".to_string()),
        data_fingerprint: "fp".into(),
        trained_as_of: d("2025-12-01"),
        fit_from: None,
        fit_to: None,
        code_version: "0.1.0".into(),
        registered_at: Timestamp::now(),
        standing: mine,
        compared_with: vs.map(|s| ("m-test".to_string(), s)),
    };
    let mut store = Store::open(app.dir.path()).unwrap();
    store.register_model(&record("m-test", ModelRole::Champion, None, None)).unwrap();
    // A challenger with more fairness flags does not meet the rule.
    store
        .register_model(&record("m-worse", ModelRole::Challenger, Some(standing(0.5, 9)), Some(standing(0.4, 3))))
        .unwrap();
    let r = check(&app, Some("admin"), "POST", "/v1/models/m-worse/promote", None, 409);
    assert!(r.json()["message"].as_str().unwrap().contains("fairness flags 9 against 3"), "{}", r.json());
    // A better one does; the registry says who is champion now, and a re-score would use it.
    store
        .register_model(&record("m-better", ModelRole::Challenger, Some(standing(0.5, 3)), Some(standing(0.4, 3))))
        .unwrap();
    check(&app, Some("city_admin"), "POST", "/v1/models/m-better/promote", None, 403);
    let r = check(&app, Some("admin"), "POST", "/v1/models/m-better/promote", None, 200);
    assert_eq!(
        (r.json()["model_id"].as_str(), r.json()["previous_champion"].as_str()),
        (Some("m-better"), Some("m-test"))
    );
    assert_eq!(store.champion().unwrap().as_deref(), Some("m-better"));
    let registry = app.get("/v1/models", "inspector")["registry"].clone();
    let role = |id: &str| registry.as_array().unwrap().iter().find(|m| m["model_id"] == id).unwrap()["role"].clone();
    assert_eq!(
        (role("m-better"), role("m-test"), role("m-worse")),
        ("champion".into(), "retired".into(), "retired".into())
    );
    // Its comparison was with m-test, no longer the champion: promoting m-worse now is stale.
    let r = check(&app, Some("admin"), "POST", "/v1/models/m-worse/promote", None, 409);
    assert!(r.json()["message"].as_str().unwrap().contains("retrain"), "{}", r.json());
    // A third model judged beside m-better: m-test → m-better → m-best. Rollbacks walk back one
    // promotion at a time, never forward, and stop at the first champion.
    let mut best = record("m-best", ModelRole::Challenger, Some(standing(0.6, 3)), Some(standing(0.5, 3)));
    best.compared_with = best.compared_with.map(|(_, s)| ("m-better".to_string(), s));
    store.register_model(&best).unwrap();
    check(&app, Some("admin"), "POST", "/v1/models/m-best/promote", None, 200);
    for expected in ["m-better", "m-test"] {
        let r = check(&app, Some("admin"), "POST", "/v1/models/rollback", None, 200);
        assert_eq!(r.json()["model_id"], expected);
        assert_eq!(store.champion().unwrap().as_deref(), Some(expected));
    }
    check(&app, Some("admin"), "POST", "/v1/models/rollback", None, 409);
    // A second champion is refused by the registry, never replaces the first.
    assert!(store.register_model(&record("m-other", ModelRole::Champion, None, None)).is_err());
    assert_eq!(store.champion().unwrap().as_deref(), Some("m-test"));
    // Every attempt is audited, refused ones with their status.
    let audit = app.get("/v1/audit?limit=100", "admin");
    let statuses: Vec<(String, i64)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["route"].as_str().unwrap().starts_with("/v1/models/"))
        .map(|e| (e["route"].as_str().unwrap().to_string(), e["status"].as_i64().unwrap()))
        .collect();
    assert!(statuses.contains(&("/v1/models/{id}/promote".into(), 200)), "{statuses:?}");
    assert!(statuses.contains(&("/v1/models/{id}/promote".into(), 409)), "{statuses:?}");
    assert!(statuses.contains(&("/v1/models/rollback".into(), 200)), "{statuses:?}");
    // Each refusal once (by the middleware), each change once (by the handler).
    assert_eq!(statuses.iter().filter(|s| s.1 == 409).count(), 3, "{statuses:?}");
    let history = store.promotions().unwrap();
    let actions: Vec<&str> = history.iter().map(|p| p.action.as_str()).collect();
    assert_eq!(actions, ["rollback", "rollback", "promote", "promote"]);
}

/// Rewrites a Parquet file without the columns `drop` names, as an older wagewatch wrote it; returns how
/// many were dropped.
fn drop_columns(path: &Path, drop: impl Fn(&str) -> bool) -> usize {
    use arrow_array::RecordBatch;
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = batches[0].schema();
    let keep: Vec<usize> = (0..schema.fields().len()).filter(|&i| !drop(schema.field(i).name())).collect();
    let older: Vec<RecordBatch> = batches.iter().map(|b| b.project(&keep).unwrap()).collect();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), older[0].schema(), None).unwrap();
    for b in &older {
        writer.write(b).unwrap();
    }
    writer.close().unwrap();
    schema.fields().len() - keep.len()
}

#[test]
fn a_run_written_before_a_feature_existed_is_read_and_rescored_after() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&f.state, dir.path());
    let mut store = Store::open(dir.path()).unwrap();
    let record = store.latest_published().unwrap().unwrap();
    // The run's features as an older wagewatch wrote them: without the post-festival feature.
    let path = runs::RunData::dir(&store, &record.run_id).join("features.parquet");
    assert_eq!(drop_columns(&path, |name| name == "horizon_days_after_festival"), 1);
    // Its scores as written before expected harm was kept: read as not recorded.
    let scores = runs::RunData::dir(&store, &record.run_id).join("scores.parquet");
    assert_eq!(drop_columns(&scores, |name| name.starts_with("expected_")), 2, "expected yuan and workers");
    // Read: the missing feature is not recorded (NaN), every other one is.
    let data = runs::RunData::load(&store, record).unwrap();
    let feature = wagewatch_core::features::Feature::HorizonDaysAfterFestival;
    let column = |t: wagewatch_core::features::EntityType| t.features().iter().position(|g| *g == feature).unwrap();
    assert!(data.rows.iter().all(|r| r.features[column(r.entity_type)].is_nan()));
    assert!(data.rows.iter().all(|r| r.features.iter().filter(|v| v.is_nan()).count() == 1));
    assert!(data.rows.iter().all(|r| r.expected_unpaid_yuan.is_none() && r.expected_workers.is_none()));
    // And a re-score after it, which compares with it, publishes.
    let ds = load_strict(&f.data).unwrap().dataset;
    let wm = WorkerMonths::build(&ds);
    let trained = artifact::load(&f.models, "m-test").unwrap();
    let mut data = ScoringData::Loaded(ds, wm);
    let inputs = runs::ScoringInputs { data: &mut data, model: &trained, data_fingerprint: "fp" };
    let request = runs::RescoreRequest { as_of: d("2026-01-01"), trigger: "cli".into() };
    let run = runs::rescore(&mut store, inputs, &request, &config_for(&f.data, &f.models)).unwrap();
    assert!(run.drift.is_some_and(|d| d.previous.is_some()), "{run:?}");
}

#[test]
fn the_model_detail_carries_the_backtests_fairness_audit() {
    let app = App::with_config(|c| c.models = models_with_backtest().to_path_buf());
    let detail = app.get("/v1/models/m-test", "inspector");
    let fairness = &detail["backtest"]["fairness"];
    assert_eq!(fairness["ratio_low"], 0.8);
    let attributes = fairness["attributes"].as_array().unwrap();
    let funding = attributes.iter().find(|a| a["attribute"] == "funding").unwrap();
    assert_eq!(funding["entity_type"], "project");
    let groups = funding["groups"].as_array().unwrap();
    assert!(groups.iter().all(|g| ["government", "private"].contains(&g["group"].as_str().unwrap())), "{funding}");
    let reference = groups.iter().find(|g| g["group"] == funding["reference_group"]).unwrap();
    assert!(reference["flags"].as_array().unwrap().is_empty());
    assert_eq!(reference["selection_rate_ratio"], 1.0);
    assert!(detail["card_markdown"].as_str().unwrap().contains("## Fairness audit"));
    assert!(detail["card_markdown_zh"].as_str().unwrap().contains("## 公平性审计"), "{detail}");
}

#[test]
fn the_config_file_sets_bands_and_rejects_mistakes_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wagewatch.toml");
    std::fs::write(&path, "[bands]\nred = 0.9\norange = 0.95\n").unwrap();
    let err = Config::load(&path, true).unwrap_err().to_string();
    assert!(err.contains("wagewatch.toml") && err.contains("red >= orange"), "{err}");
    assert!(Config::load(&dir.path().join("missing.toml"), true).is_err());
    assert_eq!(Config::load(&dir.path().join("missing.toml"), false).unwrap(), Config::default());
    let _ = Role::ALL;
}

#[test]
fn bands_set_on_expected_harm_follow_the_expected_yuan_in_a_run() {
    let app = App::with_config(|c| {
        c.bands.on = wagewatch_service::config::BandBasis::ExpectedHarm;
        c.bands.floors.clear();
        (c.bands.red_yuan, c.bands.orange_yuan, c.bands.yellow_yuan) = (20_000.0, 5_000.0, 1_000.0);
    });
    let job = check(&app, Some("admin"), "POST", "/v1/runs", Some(r#"{"as_of":"2025-12-15"}"#), 202).json();
    let job = wait_for_job(&app, job["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    let items = app.all_pages("entity_type=employer", "admin");
    let mut seen = BTreeSet::new();
    for item in &items {
        let yuan = item["expected_unpaid_yuan"].as_f64().unwrap();
        let want = match yuan {
            y if y >= 20_000.0 => "red",
            y if y >= 5_000.0 => "orange",
            y if y >= 1_000.0 => "yellow",
            _ => "green",
        };
        assert_eq!(item["band"], want, "{item}");
        seen.insert(want);
    }
    assert!(seen.len() >= 2, "the cut-offs split the list: {seen:?}");
}

#[test]
fn the_datas_region_names_reach_the_pages_plans_and_runs() {
    let data = tempfile::tempdir().unwrap();
    copy_dir(&fixture().data, data.path());
    let home = App::new().home;
    // A names table of the data's own (CSV, contract v1.1) in place of the generator's.
    std::fs::remove_file(data.path().join("regions.parquet")).unwrap();
    let names = format!("region_code,name\n{},测试市\n{home},测试新区\n", &home[..4]);
    std::fs::write(data.path().join("regions.csv"), names).unwrap();
    let app = App::with_config(|c| c.data = data.path().to_path_buf());
    let uri = format!("/v1/plans?district={home}&week=2025-12-22&capacity=3");
    let before = app.get(&uri, "inspector")["district_name"].as_str().unwrap().to_string();
    assert!(!before.contains("测试"), "the fixture's runs were scored with the built-in names: {before}");
    let job = check(&app, Some("admin"), "POST", "/v1/runs", Some(r#"{"as_of":"2025-12-15"}"#), 202).json();
    assert_eq!(wait_for_job(&app, job["job_id"].as_str().unwrap())["status"], "succeeded");
    assert_eq!(app.get(&uri, "inspector")["district_name"], "测试市 测试新区");
    let cookie = crate::attacks::sign_in(&app, "supervisor");
    let overview = String::from_utf8(crate::attacks::page(&app, &cookie, "/overview").body).unwrap();
    assert!(overview.contains("测试市 测试新区"), "the overview names the district");
    // A division the table does not name keeps its built-in name; the run keeps its names when read again.
    let store = Store::open(app.dir.path()).unwrap();
    let run = runs::RunData::load(&store, store.latest_published().unwrap().unwrap()).unwrap();
    let (other, name) =
        if home.starts_with("3201") { ("321302", "宿迁市 宿城区") } else { ("320102", "南京市 玄武区") };
    assert_eq!(run.names.label(wagewatch_core::contract::RegionCode::parse(other).unwrap()), name);
    assert_eq!(run.names.label(wagewatch_core::contract::RegionCode::parse(&home).unwrap()), "测试市 测试新区");
}

#[test]
fn arrears_an_inspection_found_hold_a_firm_at_orange_until_an_inspection_finds_them_cleared() {
    let app = App::new();
    // A green employer of the district, as an inspector finds it owing 150,000 yuan to 30 workers.
    let items = app.all_pages(&format!("region={}&entity_type=employer", app.home), "inspector");
    let green = items.iter().rev().find(|i| i["band"] == "green" && i["band_floor"].is_null()).expect("a green firm");
    let id = green["entity_id"].as_str().unwrap().to_string();
    let rescore = |as_of: &str| {
        let body = format!(r#"{{"as_of":"{as_of}"}}"#);
        let job = check(&app, Some("admin"), "POST", "/v1/runs", Some(&body), 202).json();
        assert_eq!(wait_for_job(&app, job["job_id"].as_str().unwrap())["status"], "succeeded");
        app.get(&format!("/v1/employers/{id}"), "inspector")
    };
    let before = rescore("2025-12-15");
    assert_eq!(before["band"], "green", "{before}");
    let found = format!(
        r#"{{"inspection_id":"F-1","employer_id":"{id}","inspected_on":"2025-12-03","found_arrears":true,"arrears_amount":150000,"workers_affected":30}}"#
    );
    check(&app, Some("inspector"), "POST", "/v1/inspections", Some(&found), 201);
    let after = rescore("2025-12-15");
    assert_eq!(after["band"], "orange", "{after}");
    assert_eq!(after["band_floor"]["rule"], "arrears_found", "{after}");
    assert!(after["band_floor"]["zh"].as_str().unwrap().contains("检查发现欠薪"), "{after}");
    // What was found never lowers the model's own score either.
    assert!(after["score"].as_f64().unwrap() >= before["score"].as_f64().unwrap(), "{before} -> {after}");
    // On the list and in the exports, with the rule as the first reason.
    let listed = app.all_pages("band=orange&entity_type=employer", "admin");
    assert!(listed.iter().any(|i| i["entity_id"] == id.as_str() && i["band_floor"]["at_least"] == "orange"));
    let csv =
        String::from_utf8(app.call("GET", "/v1/watchlist/export?format=csv&band=orange", Some("admin"), None).body)
            .unwrap();
    let line = csv.lines().find(|l| l.contains(id.as_str())).expect("the firm exported");
    assert!(line.contains("规则：30 天内检查发现欠薪"), "{line}");
    // Past the window, or once a later inspection finds nothing owed, the score alone decides again.
    assert_eq!(rescore("2026-01-10")["band_floor"], Value::Null);
    let cleared = found
        .replace("F-1", "F-2")
        .replace("2025-12-03", "2025-12-08")
        .replace(r#""found_arrears":true,"arrears_amount":150000,"workers_affected":30"#, r#""found_arrears":false"#);
    check(&app, Some("inspector"), "POST", "/v1/inspections", Some(&cleared), 201);
    let again = rescore("2025-12-15");
    assert_eq!((again["band"].as_str(), &again["band_floor"]), (Some("green"), &Value::Null), "{again}");
}

/// A small province whose history runs up to today (the scheduler works as of today).
fn province_up_to_today(dir: &Path) {
    let today = wagewatch_service::state::Timestamp::now().date();
    let config = SynthConfig {
        scenario: Default::default(),
        employers: 40,
        seed: 9,
        start: d("2024-01-01"),
        end: today,
        format: OutputFormat::Parquet,
    };
    synth::generate(&config, dir, &|_| {}).unwrap();
}

#[test]
fn the_scheduler_rescores_when_the_data_folder_changes() {
    // The scheduler re-scores as of today, which must lie within the data: a small province up to today.
    let data = tempfile::tempdir().unwrap();
    province_up_to_today(data.path());
    let app = App::with_config(|c| {
        c.data = data.path().to_path_buf();
        c.schedule.enabled = true;
        c.schedule.check_every_seconds = 1;
    });
    let before = app.current_run();
    let scheduler = {
        let _runtime = app.rt.enter();
        app.state.spawn_scheduler()
    };
    // Nothing is due yet: the last run is minutes old and the interval is a week.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(app.current_run(), before);
    // New data arrives.
    std::fs::write(data.path().join("README.txt"), "new delivery").unwrap();
    let started = std::time::Instant::now();
    loop {
        let runs = app.get("/v1/runs", "admin");
        if let Some(run) = runs["runs"].as_array().unwrap().iter().find(|r| r["trigger"] == "new_data") {
            assert_eq!(run["status"], "published", "{run}");
            // The registry row is committed a moment before the server swaps its snapshot.
            if runs["current_run_id"] == run["run_id"] {
                break;
            }
        }
        assert!(started.elapsed().as_secs() < 60, "no re-score after new data: {runs}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    scheduler.abort();
}

#[test]
fn the_scheduler_retrains_a_challenger_on_its_interval() {
    let f = fixture();
    let data = tempfile::tempdir().unwrap();
    province_up_to_today(data.path());
    let models = tempfile::tempdir().unwrap();
    copy_dir(&f.models, models.path());
    let app = App::with_config(|c| {
        c.data = data.path().to_path_buf();
        c.models = models.path().to_path_buf();
        c.schedule.enabled = true;
        c.schedule.check_every_seconds = 1;
        c.schedule.retrain_every_days = 30;
    });
    let scheduler = {
        let _runtime = app.rt.enter();
        app.state.spawn_scheduler()
    };
    let store = Store::open(app.dir.path()).unwrap();
    let started = std::time::Instant::now();
    let challenger = loop {
        let models = store.models().unwrap();
        if let Some(c) = models.iter().find(|m| m.role == wagewatch_service::state::ModelRole::Challenger) {
            break c.clone();
        }
        assert!(started.elapsed().as_secs() < 90, "no challenger retrained: {models:?}");
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    scheduler.abort();
    // Judged beside the champion the registry started from, never promoted by the schedule.
    assert_eq!(challenger.parent_model_id.as_deref(), Some("m-test"));
    // As of today in China (a day apart at most, should the test straddle midnight there).
    let china_today =
        wagewatch_service::state::Timestamp(wagewatch_service::state::Timestamp::now().0 + 8 * 3600).date();
    assert!((0..=1).contains(&china_today.days_since(challenger.trained_as_of)), "{}", challenger.trained_as_of);
    assert_eq!(store.champion().unwrap().as_deref(), Some("m-test"));
    assert!(models.path().join(&challenger.model_id).join("model.json").is_file());
}

/// The real binary serving a copy of the fixture's state on a free port, with `config` after the
/// fixture's data and models (`--no-schedule`).
pub struct Served {
    child: std::process::Child,
    pub port: u16,
    /// An admin token of all regions.
    pub admin: String,
    pub state: PathBuf,
    pub config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve_binary(config: &str) -> Served {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    copy_dir(&f.state, &state);
    let token = NewToken::new("admin", Role::Admin, Default::default()).unwrap();
    let (_, admin) = Store::open(&state).unwrap().create_token(&token).unwrap();
    let config_file = dir.path().join("wagewatch.toml");
    let paths = format!("data = {:?}\nmodels = {:?}\n", f.data, f.models);
    std::fs::write(&config_file, paths + config).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_wagewatch"))
        .args(["serve", "--no-schedule", "--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config_file)
        .arg("--state")
        .arg(&state)
        .arg("--key-file")
        .arg(&f.key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until_listening(port);
    Served { child, port, admin, state, config: config_file, _dir: dir }
}

/// Waits (up to 30 s) until a server accepts connections on `port`.
pub fn wait_until_listening(port: u16) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed().as_secs() < 30, "the server did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

impl Served {
    /// One request with the admin token on a fresh connection: the status and the JSON body.
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.admin,
            body.len()
        );
        s.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        let status = reply.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let json = reply.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
        (status, json)
    }

    /// Waits up to `seconds` for the server to serve a run other than `not`, and returns its id.
    pub fn wait_for_current_run(&self, not: &Value, seconds: u64) -> Value {
        let started = std::time::Instant::now();
        loop {
            let (_, runs) = self.call("GET", "/v1/runs", None);
            if runs["current_run_id"] != *not && !runs["current_run_id"].is_null() {
                return runs["current_run_id"].clone();
            }
            assert!(started.elapsed().as_secs() < seconds, "no new run served: {runs}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

#[test]
fn runs_published_by_another_process_or_a_child_rescore_are_served_within_seconds() {
    let served = serve_binary("[server]\nregistry_poll_seconds = 1\n");
    let before = served.call("GET", "/v1/runs", None).1["current_run_id"].clone();
    // An operator re-scores from the command line: another process on the same state folder.
    let rescore = std::process::Command::new(env!("CARGO_BIN_EXE_wagewatch"))
        .args(["rescore", "--as-of", "2026-02-01", "--config"])
        .arg(&served.config)
        .arg("--state")
        .arg(&served.state)
        .arg("--key-file")
        .arg(&fixture().key)
        .output()
        .unwrap();
    assert!(rescore.status.success(), "{}", String::from_utf8_lossy(&rescore.stderr));
    let published = served.wait_for_current_run(&before, 15);
    let (_, run) = served.call("GET", &format!("/v1/runs/{}", published.as_str().unwrap()), None);
    assert_eq!((run["trigger"].as_str(), run["as_of"].as_str()), (Some("cli"), Some("2026-02-01")), "{run}");
    // A re-score over the API runs in a child process, which records the job; the server serves its run.
    let (status, job) = served.call("POST", "/v1/runs", Some(r#"{"as_of":"2026-03-01"}"#));
    assert_eq!(status, 202, "{job}");
    let current = served.wait_for_current_run(&published, 60);
    let (_, job) = served.call("GET", &format!("/v1/jobs/{}", job["job_id"].as_str().unwrap()), None);
    assert_eq!((job["status"].as_str(), &job["run_id"]), (Some("succeeded"), &current), "{job}");
    let (_, run) = served.call("GET", &format!("/v1/runs/{}", current.as_str().unwrap()), None);
    assert_eq!((run["trigger"].as_str(), run["as_of"].as_str()), (Some("api"), Some("2026-03-01")), "{run}");
    // A child that fails records why on the job, and the run served stays.
    let (status, job) = served.call("POST", "/v1/runs", Some(r#"{"as_of":"2029-03-01"}"#));
    assert_eq!(status, 202, "{job}");
    let job_path = format!("/v1/jobs/{}", job["job_id"].as_str().unwrap());
    let started = std::time::Instant::now();
    let job = loop {
        let (_, job) = served.call("GET", &job_path, None);
        if job["status"] == "failed" {
            break job;
        }
        assert!(started.elapsed().as_secs() < 30, "the failed re-score was not recorded: {job}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(job["error"].as_str().unwrap().contains("outside the data"), "{job}");
    assert_eq!(served.call("GET", "/v1/runs", None).1["current_run_id"], current);
}

#[test]
fn the_server_stops_gracefully_on_sigterm() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&f.state, dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wagewatch"))
        .args(["serve", "--no-schedule", "--config", "/dev/null", "--listen", &format!("127.0.0.1:{port}"), "--state"])
        .arg(dir.path())
        .arg("--key-file")
        .arg(&f.key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    wait_until_listening(port);
    let kill = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed().as_secs() < 40, "the server did not stop on SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("shutting down"), "{log}");
}
