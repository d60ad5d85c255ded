//! Attacks on the service, each written as a test before its fix: hostile text on every page, open
//! redirects, cross-site forms, sessions, secrets that strangers send, path traversal, bodies that break the
//! schema, the state folder's modes, readiness when the state cannot be written, and slowloris against the
//! real binary.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use tower::ServiceExt;

use crate::server::{check, copy_dir, fixture, serve_binary, App, Reply};
use wagewatch_service::state::{NewToken, Role, Store};

/// Text meant to run as script wherever it is pasted unescaped: in element content, in an attribute, in a
/// URL, in a spreadsheet.
const HOSTILE: [&str; 4] = [
    "<img src=x onerror=alert(1)>",
    "\"><script>alert(2)</script>",
    "'><svg onload=alert(3)>",
    "=HYPERLINK(\"http://evil.example\")",
];

/// What must never appear in a page: the hostile markup unescaped.
const RAW: [&str; 3] = ["<img src=x", "<script>alert", "<svg onload"];

/// Replaces the `name` column of a Parquet table with hostile names.
fn poison_names(file: &Path) {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap()).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    let schema = batches[0].schema();
    let mut out = ArrowWriter::try_new(std::fs::File::create(file).unwrap(), schema.clone(), None).unwrap();
    for batch in batches {
        let i = schema.index_of("name").unwrap();
        let names = arrow_cast::cast(batch.column(i), &arrow_schema::DataType::Utf8).unwrap();
        let names = names.as_any().downcast_ref::<StringArray>().unwrap();
        let poisoned: StringArray =
            (0..names.len()).map(|r| Some(format!("{}{}", HOSTILE[r % HOSTILE.len()], names.value(r)))).collect();
        let poisoned = arrow_cast::cast(&poisoned, schema.field(i).data_type()).unwrap();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns[i] = Arc::new(poisoned) as ArrayRef;
        out.write(&RecordBatch::try_new(schema.clone(), columns).unwrap()).unwrap();
    }
    out.close().unwrap();
}

/// A dashboard session of `caller`: signs in through the form, as the browser does.
pub(crate) fn sign_in(app: &App, caller: &str) -> String {
    let reply = app.send(signin_request(&app.tokens[caller], &[("origin", "http://localhost")]));
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&reply.body));
    let cookie = reply.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

fn signin_request(token: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post("/signin")
        .header("host", "localhost")
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.body(Body::from(format!("token={token}"))).unwrap()
}

/// A page fetched with a session cookie.
pub(crate) fn page(app: &App, cookie: &str, uri: &str) -> Reply {
    app.send(Request::get(uri).header("cookie", cookie).body(Body::empty()).unwrap())
}

/// Asserts that no hostile markup reached the page unescaped and that the page carries the security headers.
#[track_caller]
fn assert_safe(uri: &str, reply: &Reply) {
    let text = String::from_utf8_lossy(&reply.body);
    for raw in RAW {
        assert!(!text.contains(raw), "{uri} pastes {raw:?} unescaped");
    }
    let csp = reply.headers.get("content-security-policy").map(|v| v.to_str().unwrap()).unwrap_or("");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
    assert!(!csp.contains("unsafe-inline") || !csp.contains("script-src"), "{uri}: {csp}");
    assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{uri}");
    if reply.content_type.starts_with("text/html") {
        assert_eq!(reply.headers["cache-control"], "no-store", "{uri}");
        // No inline script: every script element loads the embedded file.
        for (i, _) in text.match_indices("<script") {
            assert!(text[i..].starts_with("<script src=\"/assets/app.js\""), "{uri}: inline script");
        }
    }
}

#[test]
fn hostile_text_in_the_data_and_the_url_is_escaped_on_every_page() {
    let f = fixture();
    let data = tempfile::tempdir().unwrap();
    copy_dir(&f.data, data.path());
    poison_names(&data.path().join("employers.parquet"));
    poison_names(&data.path().join("projects.parquet"));
    // Division names are data too: every city named with markup (a CSV the contract allows beside Parquet).
    std::fs::remove_file(data.path().join("regions.parquet")).unwrap();
    let cities: String = (1..=13).map(|c| format!("32{c:02},\"{}\"\n", HOSTILE[2].replace('"', "\"\""))).collect();
    std::fs::write(data.path().join("regions.csv"), format!("region_code,name\n{cities}")).unwrap();
    let models = tempfile::tempdir().unwrap();
    copy_dir(&f.models, models.path());
    for card in ["model_card.md", "model_card.zh.md"] {
        let card = models.path().join("m-test").join(card);
        let text = std::fs::read_to_string(&card).unwrap();
        std::fs::write(&card, format!("{text}\n{}\n", HOSTILE[1])).unwrap();
    }
    let app = App::with_config(|c| {
        c.data = data.path().to_path_buf();
        c.models = models.path().to_path_buf();
    });
    let job = check(&app, Some("admin"), "POST", "/v1/runs", Some(r#"{"as_of":"2025-12-15"}"#), 202).json();
    let job = crate::server::wait_for_job(&app, job["job_id"].as_str().unwrap());
    assert_eq!(job["status"], "succeeded", "{job}");
    let top = app.get("/v1/watchlist?limit=1&entity_type=employer", "admin")["items"][0].clone();
    let project = app.get("/v1/watchlist?limit=1&entity_type=project", "admin")["items"][0].clone();
    let employer_id = top["entity_id"].as_str().unwrap();
    let project_id = project["entity_id"].as_str().unwrap();
    assert!(HOSTILE.iter().any(|h| top["name"].as_str().unwrap().starts_with(h)), "{top}");
    let hostile_query = "%22%3E%3Cscript%3Ealert(9)%3C/script%3E%3Cimg%20src=x%20onerror=alert(1)%3E";
    let pages = [
        "/watchlist".to_string(),
        "/watchlist?entity_type=project".to_string(),
        format!("/watchlist?sort={hostile_query}"),
        format!("/watchlist?q={hostile_query}"),
        format!("/watchlist?q={hostile_query}&sort=score&page=2"),
        format!("/watchlist?region={hostile_query}"),
        format!("/watchlist?band={hostile_query}&page={hostile_query}"),
        format!("/entity/employer/{employer_id}"),
        format!("/entity/project/{project_id}"),
        format!("/entity/employer/{hostile_query}"),
        format!("/entity/{hostile_query}/x"),
        "/overview".to_string(),
        "/model".to_string(),
        "/model/charts/reliability_employer.svg".to_string(),
        format!("/model/charts/{hostile_query}"),
        "/signin?error=1".to_string(),
        format!("/export?format=csv&q={hostile_query}"),
        format!("/watchlist?sort=expected_harm&dir={hostile_query}"),
    ];
    // A hostile sort exports every row in rank order: the hostile names go out as CSV text (never as a page,
    // never as a formula).
    let uri = format!("/export?format=csv&sort={hostile_query}&dir={hostile_query}");
    let reply = page(&app, &sign_in(&app, "admin"), &uri);
    assert_eq!(reply.status, StatusCode::OK, "{uri}");
    assert!(reply.content_type.starts_with("text/csv"), "{uri}: {}", reply.content_type);
    assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{uri}");
    let csv = String::from_utf8(reply.body).unwrap();
    assert!(csv.contains("'=HYPERLINK") && !csv.contains(",=HYPERLINK"), "{uri}: a formula in a name is defused");
    for lang in ["zh", "en"] {
        let cookie = format!("{}; ww_lang={lang}", sign_in(&app, "admin"));
        for uri in &pages {
            let reply = page(&app, &cookie, uri);
            assert!(reply.status.as_u16() < 500, "{uri}: {}", reply.status);
            assert_safe(uri, &reply);
        }
        // The model card is in the reader's language, hostile lines escaped (assert_safe above).
        let card = String::from_utf8(page(&app, &cookie, "/model").body).unwrap();
        let heading = if lang == "zh" { "## 已知局限" } else { "## Known limits" };
        assert!(card.contains(heading), "{lang}: {heading} missing");
        // The hostile names did reach the pages, escaped.
        let overview = String::from_utf8(page(&app, &cookie, "/overview").body).unwrap();
        assert!(
            overview.contains("&#39;&gt;&lt;svg onload=alert(3)&gt;") || overview.contains("'&gt;&lt;svg"),
            "the city names reach the overview, escaped"
        );
        for uri in ["/watchlist", &format!("/entity/employer/{employer_id}")] {
            let text = String::from_utf8(page(&app, &cookie, uri).body).unwrap();
            assert!(text.contains("&lt;img src=x onerror=alert(1)&gt;") || text.contains("&lt;script&gt;"), "{uri}");
        }
    }
    // Exports: no cell a spreadsheet would run as a formula.
    let csv = String::from_utf8(app.call("GET", "/v1/watchlist/export?format=csv", Some("admin"), None).body).unwrap();
    assert!(csv.contains("'=HYPERLINK"), "the formula is defused");
    for line in csv.lines().skip(1) {
        for cell in line.split(',') {
            assert!(!cell.trim_matches('"').starts_with('='), "{line}");
        }
    }
}

/// A page asked with parameters it cannot read (a repeated field, a path that is not UTF-8) answers the
/// error page in the reader's language, not the framework's plain text.
#[test]
fn parameters_a_page_cannot_read_answer_the_error_page() {
    let app = App::new();
    let cookie = format!("{}; ww_lang=en", sign_in(&app, "supervisor"));
    let district = app.home.clone();
    for uri in [
        format!("/plan?district={district}&district=1&week=2025-12-08&capacity=4"),
        "/export?format=csv&format=xlsx".to_string(),
        "/watchlist?q=a&q=b".to_string(),
        "/entity/employer/%ff%fe".to_string(),
        "/model/charts/%ff".to_string(),
    ] {
        let reply = page(&app, &cookie, &uri);
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(reply.content_type.starts_with("text/html"), "{uri}: {}", reply.content_type);
        let text = String::from_utf8(reply.body).unwrap();
        assert!(text.contains("Cannot show this"), "{uri}: {text}");
    }
}

#[test]
fn the_language_switch_never_redirects_to_another_site() {
    let app = App::new();
    for next in [
        "/%5Cevil.example",
        "/%09/evil.example",
        "//evil.example",
        "/%2F/evil.example",
        "%2F%2Fevil.example",
        "https://evil.example",
        "http:evil.example",
        "/%0d%0aSet-Cookie:%20x=1",
        "/%E3%80%80/evil.example",
        "/.//evil.example",
        "%5C%5Cevil.example",
    ] {
        let reply = app.send(Request::get(format!("/lang/en?next={next}")).body(Body::empty()).unwrap());
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(reply.headers["location"], "/watchlist", "{next}");
        assert!(!reply.headers.contains_key("x"), "{next}");
    }
    let reply = app.send(Request::get("/lang/en?next=/entity/employer/E1%3Fx%3D1").body(Body::empty()).unwrap());
    assert_eq!(reply.headers["location"], "/entity/employer/E1?x=1");
}

#[test]
fn sign_in_and_sign_out_refuse_other_sites_and_sessions_end() {
    let app = App::new();
    let token = app.tokens["supervisor"].clone();
    // Cross-site or unlabelled form posts are refused.
    for headers in [
        vec![],
        vec![("origin", "http://evil.example")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site"), ("origin", "http://localhost")],
    ] {
        let reply = app.send(signin_request(&token, &headers));
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(!reply.headers.contains_key("set-cookie"), "{headers:?}");
    }
    let reply = app.send(signin_request(&token, &[("sec-fetch-site", "same-origin")]));
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    // The cookie holds a session id, never the token.
    let cookie = sign_in(&app, "supervisor");
    let secret = &token["ww_".len()..];
    assert!(!cookie.contains(secret) && !cookie.contains(&token), "{cookie}");
    assert_eq!(page(&app, &cookie, "/watchlist").status, StatusCode::OK);
    // A cross-site sign-out does nothing; a same-site one ends the session for good.
    let signout = |headers: &[(&str, &str)]| {
        let mut request = Request::post("/signout").header("host", "localhost").header("cookie", &cookie);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        app.send(request.body(Body::empty()).unwrap())
    };
    assert_eq!(signout(&[("origin", "http://evil.example")]).status, StatusCode::FORBIDDEN);
    assert_eq!(page(&app, &cookie, "/watchlist").status, StatusCode::OK);
    let out = signout(&[("origin", "http://localhost")]);
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let gone = page(&app, &cookie, "/watchlist");
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(gone.headers["location"].to_str().unwrap().starts_with("/signin"));
    // Revoking the token ends its sessions.
    let cookie = sign_in(&app, "city_supervisor");
    let tokens = app.get("/v1/tokens", "admin");
    let id = tokens["tokens"].as_array().unwrap().iter().find(|t| t["name"] == "city_supervisor").unwrap()["token_id"]
        .as_i64()
        .unwrap();
    check(&app, Some("admin"), "DELETE", &format!("/v1/tokens/{id}"), None, 204);
    assert_eq!(page(&app, &cookie, "/watchlist").status, StatusCode::SEE_OTHER);
    // Failed sign-ins are audited, then refused for a while.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(app.send(signin_request("ww_wrong", &[("origin", "http://localhost")])).status.as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
    let audit = app.get("/v1/audit?route=/signin&limit=100", "admin");
    let failed = audit["entries"].as_array().unwrap().iter().filter(|e| e["status"] == 401).count();
    assert_eq!(failed, 10);
}

#[test]
fn secure_cookies_when_served_over_tls() {
    let app = App::with_config(|c| c.server.secure_cookies = true);
    let reply = app.send(signin_request(&app.tokens["admin"], &[("origin", "https://localhost")]));
    let cookie = reply.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-ww_session=") && cookie.contains("; Secure"), "{cookie}");
}

#[test]
fn secrets_strangers_send_are_never_kept() {
    let app = App::new();
    let huge = format!("ww_{}", "a".repeat(300_000));
    let mut bogus: Vec<String> = (0..300).map(|i| format!("ww_{i:064x}")).collect();
    bogus.push(huge);
    bogus.push("x".repeat(10_000));
    for secret in &bogus {
        let request = Request::get("/v1/watchlist?limit=1")
            .header("authorization", format!("Bearer {secret}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(request).status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.state.cached_tokens(), 0, "unknown secrets are cached");
    app.get("/v1/watchlist?limit=1", "admin");
    app.get("/v1/watchlist?limit=1", "admin");
    assert_eq!(app.state.cached_tokens(), 1);
    // The scheme in any case.
    let request = Request::get("/v1/watchlist?limit=1")
        .header("authorization", format!("bEaReR {}", app.tokens["admin"]))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(request).status, StatusCode::OK);
}

#[test]
fn names_bodies_and_parameters_outside_the_schema_are_refused() {
    let app = App::new();
    let employer = app.entity("employer", &app.home, true);
    let other_project = app.entity("project", &app.home, false);
    let inspection = |fields: &str| {
        format!(
            r#"{{"inspection_id":"Z1","employer_id":"{employer}","inspected_on":"2025-12-03","found_arrears":true{fields}}}"#
        )
    };
    let long_q = format!("/v1/watchlist?q={}", "x".repeat(200));
    let cases: Vec<(&str, &str, Option<String>, u16)> = vec![
        ("POST", "/v1/runs", Some("[null, null]".into()), 400),
        ("POST", "/v1/runs", Some("null".into()), 400),
        ("POST", "/v1/runs", Some(r#""2025-12-01""#.into()), 400),
        ("POST", "/v1/runs", Some(r#"{"as_of":"2025-12-01","extra":1}"#.into()), 400),
        ("POST", "/v1/runs", Some(r#"{"as_of":20251201}"#.into()), 400),
        ("POST", "/v1/runs", Some(r#"{"model_id":"../../etc"}"#.into()), 400),
        ("POST", "/v1/runs", Some(r#"{"model_id":"a/b"}"#.into()), 400),
        ("POST", "/v1/runs", Some(r#"{"model_id":"..\\x"}"#.into()), 400),
        ("POST", "/v1/runs", Some(r#"{"as_of":"2101-01-01"}"#.into()), 422),
        ("GET", "/v1/models/..%2F..%2Fetc%2Fpasswd", None, 404),
        ("GET", "/v1/models/.hidden", None, 404),
        ("POST", "/v1/tokens", Some(r#"{"name":"x","role":"root"}"#.into()), 400),
        ("POST", "/v1/tokens", Some(r#"{"name":"x","role":"admin","expires_at":"2001-01-01T00:00:00Z"}"#.into()), 422),
        ("POST", "/v1/inspections", Some(inspection(r#","arrears_amount":-5"#)), 400),
        ("POST", "/v1/inspections", Some(inspection(r#","arrears_amount":1e12"#)), 400),
        ("POST", "/v1/inspections", Some(inspection(r#","workers_affected":0"#)), 400),
        ("POST", "/v1/inspections", Some(inspection(r#","workers_affected":10000000"#)), 400),
        ("POST", "/v1/inspections", Some(inspection(&format!(r#","project_id":"{other_project}""#))), 404),
        ("POST", "/v1/inspections", Some(inspection("").replace("2025-12-03", "2999-01-01")), 422),
        ("POST", "/v1/inspections", Some(inspection(r#","plan_week":"2025-13-01""#)), 400),
        ("POST", "/v1/inspections", Some(inspection(r#","plan_week":12"#)), 400),
        // A visit of a plan week happens in that week.
        ("POST", "/v1/inspections", Some(inspection(r#","plan_week":"2025-12-08""#)), 422),
        ("POST", "/v1/inspections", Some(inspection(r#","plan_week":"2025-11-26""#)), 422),
        ("GET", "/v1/watchlist?limit=-1", None, 400),
        ("GET", &long_q, None, 400),
    ];
    for (method, uri, body, expected) in &cases {
        check(&app, Some("admin"), method, uri, body.as_deref(), *expected);
    }
    // A body of another type than JSON.
    let request = Request::post("/v1/runs")
        .header("authorization", format!("Bearer {}", app.tokens["admin"]))
        .header("content-type", "text/plain")
        .body(Body::from(r#"{"as_of":"2025-12-01"}"#))
        .unwrap();
    assert_eq!(app.send(request).status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Nothing above started a re-score.
    let jobs = app.get("/v1/runs", "admin");
    assert_eq!(jobs["runs"].as_array().unwrap().len(), 2, "{jobs}");
}

#[test]
fn the_audit_log_keeps_filters_short() {
    let app = App::new();
    let long = "9".repeat(100);
    app.get(&format!("/v1/watchlist?q={long}&band=red,orange,yellow,green&region=32&min_score=0.001&limit=1"), "admin");
    let entries = app.get("/v1/audit?route=/v1/watchlist&limit=10", "admin");
    for e in entries["entries"].as_array().unwrap() {
        assert!(e["filters"].as_str().unwrap().chars().count() <= 512, "{e}");
    }
}

/// A value sent in a request cannot pass for another parameter or another line of the audit log: every
/// audited value is %-encoded, and token names and recorded inspection ids hold no control characters. A
/// path the API cannot read is answered in its JSON error format, without echoing a long path back.
#[test]
fn values_from_a_request_cannot_forge_audit_entries() {
    let app = App::new();
    let away = app.away.clone();
    // A search text that reads as another district's red list, and one that reads as another log line.
    check(
        &app,
        Some("inspector"),
        "GET",
        &format!("/v1/watchlist?q=%E5%BB%BA%26region%3D{away}%26band%3Dred"),
        None,
        200,
    );
    check(&app, Some("inspector"), "GET", "/v1/watchlist?q=zz%0A%20999%20admin%20DELETE%20%2Fv1%2Ftokens", None, 200);
    let entries = app.get("/v1/audit?route=/v1/watchlist&limit=10", "admin");
    let filters: Vec<&str> =
        entries["entries"].as_array().unwrap().iter().map(|e| e["filters"].as_str().unwrap()).collect();
    assert!(filters.iter().any(|f| f.contains("q=%E5%BB%BA%26region%3D")), "{filters:?}");
    assert!(filters.iter().any(|f| f.contains("q=zz%0A%20999")), "{filters:?}");
    for f in &filters {
        assert!(!f.contains(&format!("region={away}")) && !f.contains("band=red") && !f.contains('\n'), "{f}");
    }
    // An inspection id with a line break inside, and a token name with controls, are refused.
    let employer = app.entity("employer", &app.home, true);
    let body = format!(
        r#"{{"inspection_id":"k\n  999 admin POST /v1/runs\nk","employer_id":"{employer}","inspected_on":"2025-12-10","found_arrears":false}}"#
    );
    check(&app, Some("inspector"), "POST", "/v1/inspections", Some(&body), 400);
    let token = format!(r#"{{"name":"a\u0000b\r\nX-Injected: 1","role":"inspector","region":"{}"}}"#, app.home);
    check(&app, Some("admin"), "POST", "/v1/tokens", Some(&token), 422);
    // Paths the API cannot read: JSON errors, and a long id is not echoed back.
    for uri in ["/v1/employers/%ff%fe", "/v1/runs/%ff", "/v1/models/%ff"] {
        let reply = check(&app, Some("admin"), "GET", uri, None, 400);
        assert!(reply.content_type.starts_with("application/json"), "{uri}: {}", reply.content_type);
    }
    let long = format!("/v1/employers/{}", "E".repeat(20_000));
    let reply = app.call("GET", &long, Some("inspector"), None);
    assert!(reply.content_type.starts_with("application/json") && reply.body.len() < 1_000, "{}", reply.body.len());
}

#[test]
fn polling_a_page_adds_one_audit_entry_not_one_a_request() {
    let app = App::new();
    for _ in 0..50 {
        app.get("/v1/watchlist?limit=2&region=32", "admin");
    }
    app.get("/v1/watchlist?limit=3&region=32", "admin");
    let entries = app.get("/v1/audit?route=/v1/watchlist&limit=100", "admin");
    let entries = entries["entries"].as_array().unwrap();
    let summary: Vec<_> =
        entries.iter().map(|e| (e["filters"].as_str().unwrap().to_string(), e["repeats"].as_u64().unwrap())).collect();
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert!(summary[0].0.contains("limit=3") && summary[0].1 == 1, "{summary:?}");
    assert!(summary[1].0.contains("limit=2") && summary[1].1 == 50, "{summary:?}");
    assert_eq!(entries[1]["rows"], 100, "the rows of all 50 reads");
}

/// A client polling a page does not wait for the database once its read is on record: the repeat is
/// answered while another connection holds the database's write lock, and counted once the lock is
/// released. A read not on record yet is not answered until its entry is committed.
#[test]
fn a_repeated_read_is_answered_while_the_log_is_locked_and_a_new_read_waits_for_its_entry() {
    let app = App::new();
    let (polled, new) = ("/v1/watchlist?limit=2&region=32", "/v1/watchlist?limit=3&region=32");
    app.get(polled, "admin");
    let lock = rusqlite::Connection::open(app.dir.path().join(wagewatch_service::state::DB_FILE)).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let request = |uri: &str| {
        let (router, token) = (app.router.clone(), app.tokens["admin"].clone());
        let request = Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
        async move { router.oneshot(request).await.unwrap().status() }
    };
    let repeat = app.rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), request(polled)).await });
    assert_eq!(repeat.ok(), Some(StatusCode::OK), "a repeat of a read on record does not wait for the lock");
    let waiting = app.rt.spawn(request(new));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiting.is_finished(), "a new read is answered only once its entry is committed");
    lock.execute_batch("COMMIT").unwrap();
    assert_eq!(app.rt.block_on(waiting).unwrap(), StatusCode::OK);
    let entries = app.get("/v1/audit?route=/v1/watchlist&limit=100", "admin");
    let summary: Vec<(String, u64)> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["filters"].as_str().unwrap().to_string(), e["repeats"].as_u64().unwrap()))
        .collect();
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert!(summary[0].0.contains("limit=3") && summary[0].1 == 1, "{summary:?}");
    assert!(summary[1].0.contains("limit=2") && summary[1].1 == 2, "the repeat is counted: {summary:?}");
}

#[cfg(unix)]
#[test]
fn state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut store = Store::open(&state).unwrap();
    let (token, _) = store.create_token(&NewToken::new("a", Role::Admin, Default::default()).unwrap()).unwrap();
    store.create_session(token.token_id, wagewatch_service::state::Timestamp::now()).unwrap();
    let config = crate::server::config_for(&f.data, &f.models);
    let date = wagewatch_core::contract::Date::parse("2025-12-01").unwrap();
    let key = wagewatch_core::ingest::Pseudonymizer::from_env_or_file(&f.key).unwrap();
    wagewatch_service::runs::rescore_from_folder(&mut store, &config, &key, date, None, "cli").unwrap();
    let mut stack = vec![state.clone()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        assert_eq!(std::fs::metadata(&d).unwrap().permissions().mode() & 0o777, 0o700, "{}", d.display());
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
            }
        }
    }
    assert!(files >= 3, "the database, its lock and the run's files");
}

#[test]
fn readiness_fails_while_the_state_cannot_be_written() {
    let app = App::new();
    assert_eq!(check(&app, None, "GET", "/readyz", None, 200).json()["state_writable"], true);
    let conn = rusqlite::Connection::open(app.dir.path().join("wagewatch.db")).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let reply = app.call("GET", "/readyz", None, None);
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let reply = reply.json();
    assert_eq!((reply["ready"].as_bool(), reply["state_writable"].as_bool()), (Some(false), Some(false)), "{reply}");
    conn.execute_batch("COMMIT").unwrap();
    check(&app, None, "GET", "/readyz", None, 200);
}

/// One whole request on a fresh connection; the status, or `None` when the server gave no answer in time.
fn healthz(port: u16) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    reply.split(' ').nth(1)?.parse().ok()
}

#[test]
fn slowloris_cannot_hold_the_server() {
    let served = serve_binary("[server]\nheader_read_timeout_seconds = 1\nmax_connections = 32\n");
    // Many more connections than the cap, each sending half a request header and then nothing.
    let mut slow = Vec::new();
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", served.port)) {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
            slow.push(s);
        }
    }
    // Past the cap new connections are refused, until the header timeout frees the slow ones: a whole
    // request is answered within that time and a margin.
    let started = Instant::now();
    while healthz(served.port) != Some(200) {
        assert!(started.elapsed() < Duration::from_secs(8), "no answer while slow clients hold connections");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The server has closed every half-sent connection.
    std::thread::sleep(Duration::from_secs(3));
    for mut s in slow {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut all = Vec::new();
        match s.read_to_end(&mut all) {
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                panic!("a half-sent connection is still open")
            }
            _ => {}
        }
        let head = String::from_utf8_lossy(&all);
        assert!(all.is_empty() || head.starts_with("HTTP/1.1 408") || head.starts_with("HTTP/1.1 400"), "{head}");
    }
    // An idle keep-alive connection is closed too.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", served.port)).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut all = Vec::new();
    let _ = idle.read_to_end(&mut all);
    assert!(String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"));
    assert!(started.elapsed() < Duration::from_secs(8), "idle connection kept for {:?}", started.elapsed());
}

/// A connection that made one whole request and is kept alive (so it was admitted and stays open).
fn kept_alive(port: u16) -> std::net::TcpStream {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed before answering: {}", String::from_utf8_lossy(&reply));
        reply.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&reply).to_lowercase();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length =
                head.lines().find_map(|l| l.strip_prefix("content-length: ")).map(|v| v.trim().parse().unwrap());
            if length.is_some_and(|n: usize| body.len() >= n) {
                assert!(head.starts_with("http/1.1 200"), "{head}");
                return s;
            }
        }
    }
}

#[test]
fn one_address_cannot_take_every_connection() {
    let served = serve_binary("[server]\nmax_connections_per_address = 4\n");
    // Four kept-alive connections hold this address's share (until the idle timeout, 10 s).
    let held: Vec<_> = (0..4).map(|_| kept_alive(served.port)).collect();
    assert_eq!(healthz(served.port), None, "a fifth connection from the address is closed at once");
    drop(held);
    let started = Instant::now();
    while healthz(served.port) != Some(200) {
        assert!(started.elapsed() < Duration::from_secs(5), "the address's places were not freed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn schemathesis_finds_no_failure_against_the_real_binary() {
    // Every check, the coverage, fuzzing and stateful phases, against a server with real data and an
    // admin of all regions (tests/run installs schemathesis in its Python environment).
    let served = serve_binary("");
    let output = std::process::Command::new(crate::support::python())
        .args(["-m", "schemathesis.cli", "run", &format!("http://127.0.0.1:{}/openapi.json", served.port)])
        .args(["--checks", "all", "--max-examples", "30", "--seed", "7", "-H"])
        .arg(format!("Authorization: Bearer {}", served.admin))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis"))
        .output()
        .expect("schemathesis (tests/run installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    let summary = text.rfind("SUMMARY").map_or(&text[..], |i| &text[i..]);
    assert!(output.status.success(), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(summary.contains("Stateful") && summary.contains("passed"), "{summary}");
    assert!(!summary.contains("Failures:"), "{summary}");
}
