//! The dashboard in a real browser: the real binary serves, headless Chromium (Debian's `chromium`, driven
//! through `chromedriver` over the WebDriver protocol) signs in, filters, opens an entity, switches
//! language and exports; an inspector cannot see another district. Screenshots go to `screenshots/`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use wagewatch_core::contract::RegionPrefix;
use wagewatch_service::state::{NewToken, Role, Store};

use crate::server::{copy_dir, fixture, largest_districts};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 request on a fresh connection; returns the status and the body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    // Read the head, then exactly the body (a peer may keep the connection open).
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let split = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the connection closed before a response");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length =
        head.lines().find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()));
    let chunked = head.contains("transfer-encoding: chunked");
    let done = |raw: &[u8]| {
        let body = &raw[split + 4..];
        match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        }
    };
    while !done(&raw) {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let mut body = raw[split + 4..].to_vec();
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
        body = out;
    }
    (status, body)
}

/// A headless Chromium session through chromedriver.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("chromedriver is missing: apt-get install chromium chromium-driver (tests/run does)");
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1360,1000", format!("--user-data-dir={}", profile.path().display())]
        }}}});
        let (status, body) = http(port, "POST", "/session", Some(&caps));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "new session: {v}");
        let session = v["value"]["sessionId"].as_str().unwrap().to_string();
        Browser { driver, port, session, _profile: profile }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_cmd(method, path, body).unwrap_or_else(|(status, v)| panic!("{method} {path}: {status} {v}"))
    }

    /// A WebDriver command, with the status and error body when it fails.
    fn try_cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, (u16, Value)> {
        let (status, raw) = http(self.port, method, &format!("/session/{}{path}", self.session), body.as_ref());
        let v: Value = serde_json::from_slice(&raw).unwrap();
        if status == 200 {
            Ok(v["value"].clone())
        } else {
            Err((status, v))
        }
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_string()
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.cmd("POST", "/elements", Some(json!({"using": "css selector", "value": css})));
        v.as_array()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap_or_else(|| panic!("{css}: {e}")).to_string())
            .collect()
    }

    #[track_caller]
    fn find(&self, css: &str) -> String {
        let all = self.find_all(css);
        assert!(!all.is_empty(), "no element {css} on {}", self.url());
        all[0].clone()
    }

    fn text_of(&self, element: &str) -> String {
        self.cmd("GET", &format!("/element/{element}/text"), None).as_str().unwrap().to_string()
    }

    /// The text of the first element matching `css`, found again if the page replaced it meanwhile (a
    /// navigation between finding it and reading it leaves a stale element).
    #[track_caller]
    fn text(&self, css: &str) -> String {
        for _ in 0..100 {
            match self.try_cmd("GET", &format!("/element/{}/text", self.find(css)), None) {
                Ok(v) => return v.as_str().unwrap().to_string(),
                Err((_, e)) if e["value"]["error"] == "stale element reference" => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err((status, e)) => panic!("text of {css}: {status} {e}"),
            }
        }
        panic!("the element {css} kept going stale");
    }

    fn click(&self, element: &str) {
        self.cmd("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    fn type_into(&self, element: &str, text: &str) {
        self.cmd("POST", &format!("/element/{element}/value"), Some(json!({ "text": text })));
    }

    fn attr(&self, element: &str, name: &str) -> String {
        self.cmd("GET", &format!("/element/{element}/attribute/{name}"), None).as_str().unwrap_or("").to_string()
    }

    fn run(&self, script: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    fn run_async(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/async", Some(json!({"script": script, "args": args})))
    }

    /// Waits until the page has loaded and `check` holds.
    fn wait(&self, what: &str, check: impl Fn(&Browser) -> bool) {
        let started = Instant::now();
        loop {
            if self.run("return document.readyState") == "complete" && check(self) {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "timed out waiting for {what} on {}", self.url());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let data = self.cmd("GET", "/screenshot", None);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, base64_decode(data.as_str().unwrap())).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(self.port, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (the WebDriver screenshot encoding).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let v: Vec<u32> = chunk.iter().map(|c| value(*c) as u32).collect();
        let n = v.iter().enumerate().fold(0u32, |acc, (i, x)| acc | (x << (18 - 6 * i)));
        out.push((n >> 16) as u8);
        if v.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if v.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

/// The real server on a private copy of the fixture's state.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fixture's model as champion and a challenger judged beside it (figures made up), for the model page.
fn register_champion_and_challenger(store: &mut Store) {
    use wagewatch_core::champion::Standing;
    use wagewatch_core::contract::Date;
    use wagewatch_service::state::{ModelRecord, ModelRole, Timestamp};
    let d = |s: &str| Date::parse(s).unwrap();
    let standing = |ap: f64| Standing {
        dates: vec![d("2025-11-01"), d("2025-12-01")],
        average_precision: [ap, ap - 0.1],
        calibration_gap: [Some(0.02), None],
        fairness_flags: 3,
    };
    for (id, role, vs) in
        [("m-test", ModelRole::Champion, None), ("m-next", ModelRole::Challenger, Some(standing(0.40)))]
    {
        store
            .register_model(&ModelRecord {
                model_id: id.into(),
                role,
                parent_model_id: vs.as_ref().map(|_| "m-test".into()),
                data_fingerprint: "fp".into(),
                trained_as_of: d("2025-10-01"),
                fit_from: Some(d("2024-07-01")),
                fit_to: Some(d("2025-04-01")),
                code_version: "0.1.0".into(),
                registered_at: Timestamp::now(),
                standing: vs.as_ref().map(|_| standing(0.45)),
                compared_with: vs.map(|s| ("m-test".into(), s)),
            })
            .unwrap();
    }
}

#[test]
fn the_dashboard_in_a_browser() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    copy_dir(&f.state, &state);
    let (home, away) = largest_districts(&state);
    let mut store = Store::open(&state).unwrap();
    let p = |s: &str| RegionPrefix::parse(s).unwrap();
    // The province's supervisor; the inspector sees the home district only.
    let supervisor = store.create_token(&NewToken::new("主管甲", Role::Supervisor, p(&home[..2])).unwrap()).unwrap().1;
    let inspector = store.create_token(&NewToken::new("监察员乙", Role::Inspector, p(&home)).unwrap()).unwrap().1;
    register_champion_and_challenger(&mut store);
    let (away_employer, with_levers) = {
        let run = store.latest_published().unwrap().unwrap();
        let data = wagewatch_service::runs::RunData::load(&store, run).unwrap();
        let employer =
            |r: &&wagewatch_service::runs::RunRow| r.entity_type == wagewatch_core::features::EntityType::Employer;
        let away_employer = data.rows.iter().filter(employer).find(|r| r.region.to_string() == away).unwrap();
        // An employer of the province the run suggests what to fix for.
        let with_levers = data.rows.iter().filter(employer).find(|r| !r.lever_texts().is_empty());
        (away_employer.entity_id.clone(), with_levers.expect("an employer with levers").entity_id.clone())
    };
    drop(store);
    let config = dir.path().join("wagewatch.toml");
    std::fs::write(
        &config,
        format!(
            "data = {:?}\nmodels = {:?}\n[schedule]\nenabled = false\n",
            f.data.display().to_string(),
            crate::server::models_with_backtest().display().to_string()
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_wagewatch"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--state"])
        .arg(&state)
        .arg("--config")
        .arg(&config)
        .arg("--key-file")
        .arg(&f.key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port, _dir: dir };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() || http(port, "GET", "/readyz", None).0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    let base = format!("http://127.0.0.1:{}", server.port);
    let b = Browser::start();

    // Signing in: the root sends an unknown visitor to the sign-in form.
    b.goto(&format!("{base}/"));
    b.wait("the sign-in form", |b| b.url().ends_with("/signin"));
    assert_eq!(b.run("return document.documentElement.lang"), "zh-CN");
    b.type_into(&b.find("#token"), &supervisor);
    b.click(&b.find("form[action='/signin'] button"));
    b.wait("the watchlist", |b| b.url().contains("/watchlist") && !b.find_all("#watchlist").is_empty());
    assert!(b.text("h1").contains("欠薪风险名单"));
    assert!(b.text("header").contains("主管甲"));
    let rows = b.find_all("#watchlist tbody tr");
    assert!(!rows.is_empty());
    // Proper table headers.
    assert!(b.find_all("#watchlist thead th[scope='col']").len() >= 8);
    b.screenshot("01-watchlist-zh");

    // Filter to a district: choosing it in the select applies it.
    let option = b.find(&format!("select[name='region'] option[value='{home}']"));
    b.click(&b.find("select[name='region']"));
    b.click(&option);
    b.wait("the district filter", |b| b.url().contains(&format!("region={home}")));
    let regions: Vec<String> = b.find_all("#watchlist tbody tr td:nth-child(4)").iter().map(|e| b.text_of(e)).collect();
    assert!(!regions.is_empty());
    // The district by its name, as GB/T 2260 has it (`苏州市 吴中区`).
    let home_name = wagewatch_core::regions::RegionNames::builtin()
        .label(wagewatch_core::contract::RegionCode::parse(&home).unwrap());
    assert!(!home_name.contains(home.as_str()), "{home} has a built-in name");
    assert!(regions.iter().all(|r| *r == home_name), "{regions:?}");
    // A search narrows it further to one name.
    let first_name = b.text("#watchlist tbody tr td:nth-child(2) a");
    let search = b.find("input[name='q']");
    b.type_into(&search, &first_name);
    b.click(&b.find("form.filters button[type='submit']"));
    // The new page's URL can be seen before its table: wait for both.
    b.wait("the search", |b| {
        b.url().contains("q=") && b.text("#watchlist tbody tr td:nth-child(2) a").contains(&first_name)
    });
    // Sorting by probability via the column header.
    b.goto(&format!("{base}/watchlist?region={home}&sort=score&dir=asc"));
    b.wait("the sorted list", |b| !b.find_all("#watchlist").is_empty());
    let scores: Vec<f64> = b
        .find_all("#watchlist tbody tr td:nth-child(6)")
        .iter()
        .map(|e| b.text_of(e).trim_end_matches('%').parse().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");

    // Exports of the filtered view, within the caller's region.
    b.goto(&format!("{base}/watchlist?region={home}"));
    b.wait("the watchlist", |b| !b.find_all("#watchlist").is_empty());
    let xlsx = b.attr(&b.find("a[href^='/export?format=xlsx']"), "href");
    let csv = b.attr(&b.find("a[href^='/export?format=csv']"), "href");
    let fetch = "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.arrayBuffer().then(buf => done([r.status, r.headers.get('content-type'), new TextDecoder().decode(buf), buf.byteLength]))).catch(e => done([0, String(e), '', 0]));";
    let got = b.run_async(fetch, json!([xlsx]));
    assert_eq!(got[0], 200, "{got}");
    assert!(got[1].as_str().unwrap().contains("spreadsheetml"));
    assert!(got[3].as_u64().unwrap() > 1000);
    let got = b.run_async(fetch, json!([csv]));
    assert_eq!(got[0], 200);
    let text = got[2].as_str().unwrap();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l.contains(&format!(",{home},"))), "{text}");

    // An entity: probability, reasons in words, charts, timeline, related entities.
    b.click(&b.find("#watchlist tbody tr td:nth-child(2) a"));
    b.wait("the entity page", |b| b.url().contains("/entity/") && !b.find_all("#probability").is_empty());
    assert!(b.text("#probability").ends_with('%'));
    assert!(!b.find_all("#reasons li").is_empty());
    assert!(b.find_all("svg.chart").len() >= 2, "score history and wages charts");
    assert!(!b.find_all("#related tbody tr").is_empty());
    b.screenshot("02-entity-zh");
    let entity_url = b.url();

    // What to fix: each lever with the probability it would leave.
    b.goto(&format!("{base}/entity/employer/{with_levers}"));
    b.wait("the levers", |b| !b.find_all("#levers li").is_empty());
    let levers = b.text("#levers");
    assert!(levers.contains("建议措施") || b.text("main").contains("建议措施"), "{levers}");
    assert!(levers.contains("->") && levers.contains('%'), "{levers}");
    // The latest alerts of the district, on the overview.
    b.goto(&format!("{base}/overview"));
    b.wait("the overview", |b| !b.find_all("#districts").is_empty());
    assert!(!b.find_all("#alerts tbody tr").is_empty(), "the second run raised alerts in the district");
    // The printable plan of the district, in Chinese.
    b.goto(&format!("{base}/plan?district={home}&week=2025-12-08&capacity=5"));
    b.wait("the plan", |b| !b.find_all("#plan tbody tr").is_empty());
    assert!(b.text("#plan h2").contains("检查计划"), "{}", b.text("#plan h2"));
    assert!(b.text("#plan-done").contains("已完成 0 /"), "{}", b.text("#plan-done"));
    b.screenshot("07-plan-zh");
    b.goto(&entity_url);
    b.wait("the entity page", |b| !b.find_all("#probability").is_empty());

    // English.
    b.click(&b.find("a.lang"));
    b.wait("English", |b| b.run("return document.documentElement.lang") == "en");
    assert!(b.text("nav").contains("Watchlist"));
    assert!(b.text("h2").contains("Why this score"));
    b.screenshot("03-entity-en");
    b.goto(&format!("{base}/overview"));
    b.wait("the overview", |b| !b.find_all("#districts").is_empty());
    assert!(b.text("h1").contains("Regional overview"));
    b.screenshot("04-overview-en");
    b.goto(&format!("{base}/model"));
    b.wait("the model page", |b| !b.find_all("#runs").is_empty());
    assert!(b.find_all("#runs tbody tr").len() >= 2);
    // The backtest's fairness audit, with what its flags mean.
    assert!(b.text("main").contains("Fairness audit") && b.text("main").contains("does not show unfairness"));
    assert!(b.find_all("#fairness tbody tr").len() >= 10);
    // The served run's drift, judged against the threshold, with the features that moved most.
    assert!(b.text("#drift-status").contains("0.25"), "{}", b.text("#drift-status"));
    assert!(b.find_all("table.drift tbody tr").len() >= 3);
    // The champion and the challenger side by side, with the promotion rule applied.
    assert!(
        b.text("#champion").contains("m-next") && b.text("#champion").contains("0.450 / 0.350"),
        "{}",
        b.text("#champion")
    );
    assert!(b.text("#promotion-rule").contains("Meets the promotion rule"), "{}", b.text("#promotion-rule"));
    // Earlier lists judged against what happened: a row per run and entity type, and the calibration.
    assert!(b.find_all("#outcomes tbody tr").len() >= 4);
    assert!(b.text("main").contains("Did the lists come true?"));
    b.screenshot("05-model-en");

    // Keyboard: the skip link is the first focusable element.
    b.goto(&format!("{base}/watchlist"));
    b.wait("the watchlist", |b| !b.find_all("#watchlist").is_empty());
    b.cmd("POST", "/actions", Some(json!({"actions": [{"type": "key", "id": "kb", "actions": [{"type": "keyDown", "value": "\u{E004}"}, {"type": "keyUp", "value": "\u{E004}"}]}]})));
    assert_eq!(b.run("return document.activeElement.className"), "skip");

    // Sign out, then an inspector of the same district: no exports, and another district is closed.
    b.click(&b.find("form[action='/signout'] button"));
    b.wait("the sign-in form", |b| b.url().ends_with("/signin"));
    b.type_into(&b.find("#token"), &inspector);
    b.click(&b.find("form[action='/signin'] button"));
    b.wait("the watchlist", |b| !b.find_all("#watchlist").is_empty());
    assert!(b.find_all("a[href^='/export']").is_empty(), "inspectors do not export");
    let options: Vec<String> = b.find_all("select[name='region'] option").iter().map(|o| b.attr(o, "value")).collect();
    assert!(options.iter().all(|o| o.is_empty() || *o == home), "{options:?}");
    let regions: Vec<String> = b.find_all("#watchlist tbody tr td:nth-child(4)").iter().map(|e| b.text_of(e)).collect();
    assert!(regions.iter().all(|r| *r == home_name), "{regions:?}");
    b.goto(&format!("{base}/watchlist?region={away}"));
    b.wait("the refusal", |b| !b.find_all(".error").is_empty());
    assert!(b.text(".error").contains("outside your region"), "{}", b.text(".error"));
    assert!(b.find_all("#watchlist").is_empty());
    b.goto(&format!("{base}/entity/employer/{away_employer}"));
    b.wait("the refusal", |b| !b.find_all(".error").is_empty());
    assert!(b.text(".error").contains("Not found"));
    assert!(!b.run("return document.body.innerText").as_str().unwrap().contains(&away_employer));
    b.screenshot("06-inspector-other-district-en");
    let got = b.run_async(fetch, json!([format!("/export?format=csv&region={home}")]));
    assert_eq!(got[0], 403, "inspectors cannot export");

    // The inspector records a visit of the week's plan over the API; the plan page shows it done.
    let api = "const done = arguments[arguments.length - 1]; const [method, path, token, body] = arguments; fetch(path, {method, headers: {authorization: 'Bearer ' + token, 'content-type': 'application/json'}, body}).then(r => r.json().then(j => done([r.status, j]))).catch(e => done([0, String(e)]));";
    let plan = format!("/v1/plans?district={home}&week=2025-12-08&capacity=5");
    let got = b.run_async(api, json!(["GET", plan, inspector, null]));
    assert_eq!(got[0], 200, "{got}");
    let first = &got[1]["visits"][0];
    let employer = if first["kind"] == "site" { first["covers"][0].clone() } else { first["target_id"].clone() };
    let body = json!({"inspection_id": "B-1", "employer_id": employer, "inspected_on": "2025-12-09", "found_arrears": true,
        "arrears_amount": 52000, "workers_affected": 9, "plan_week": "2025-12-08", "selection": "risk_list"});
    let got = b.run_async(api, json!(["POST", "/v1/inspections", inspector, body.to_string()]));
    assert_eq!(got[0], 201, "{got}");
    b.goto(&format!("{base}/plan?district={home}&week=2025-12-08&capacity=5"));
    b.wait("the plan", |b| !b.find_all("#plan tbody tr").is_empty());
    assert!(b.text("#plan-done").contains("done 1 /"), "{}", b.text("#plan-done"));
    assert!(b.text("#plan tbody tr:first-child").contains("2025-12-09 arrears found"), "{}", b.text("#plan tbody"));
    b.screenshot("08-plan-done-en");
}
