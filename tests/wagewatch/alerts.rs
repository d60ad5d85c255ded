//! Alerts pushed to webhooks, against local HTTP receivers: the generic JSON message and its HMAC-SHA256
//! signature, the WeCom and DingTalk robots' markdown (DingTalk's signature), and receivers that answer
//! 500, redirect, hang or are not there at all: tried again, then dead-lettered, never blocking a re-score,
//! and never quoting the URL or the secret.

use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use wagewatch_core::contract::Date;
use wagewatch_core::ingest::tables::Dataset;
use wagewatch_core::model::artifact;
use wagewatch_core::worker_months::WorkerMonths;
use wagewatch_service::config::{WebhookConfig, WebhookFormat};
use wagewatch_service::datastore::ScoringData;
use wagewatch_service::runs;
use wagewatch_service::state::{DeliveryStatus, Store, Timestamp};
use wagewatch_service::webhooks;

use crate::server::{config_for, fixture, App};
use crate::support::*;

/// What a receiver heard: path, query, headers and body of each request.
type Heard = Arc<Mutex<Vec<(String, Option<String>, HeaderMap, Vec<u8>)>>>;

/// Receivers on one local port: `/ok/*` answer 200, `/fail` 500, `/moved` a redirect, `/hang` after 3 s.
fn start_receivers(rt: &tokio::runtime::Runtime) -> (u16, Heard) {
    let heard: Heard = Arc::default();
    let record = |status: StatusCode| {
        move |State(h): State<Heard>,
              uri: axum::http::Uri,
              RawQuery(q): RawQuery,
              headers: HeaderMap,
              body: axum::body::Bytes| async move {
            h.lock().unwrap().push((uri.path().to_string(), q, headers, body.to_vec()));
            status
        }
    };
    let router = axum::Router::new()
        .route("/ok/json", post(record(StatusCode::OK)))
        .route("/ok/wecom", post(record(StatusCode::OK)))
        .route("/ok/dingtalk", post(record(StatusCode::OK)))
        .route("/ok/district", post(record(StatusCode::OK)))
        .route("/fail", post(record(StatusCode::INTERNAL_SERVER_ERROR)))
        .route(
            "/refuses",
            post(|| async { (StatusCode::OK, r#"{"errcode":93000,"errmsg":"invalid webhook url, key=robot-key"}"#) }),
        )
        .route("/moved", post(record(StatusCode::FOUND)))
        .route(
            "/hang",
            post(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                StatusCode::OK
            }),
        )
        .with_state(heard.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        axum::serve(tokio::net::TcpListener::from_std(listener).unwrap(), router).await.unwrap();
    });
    (port, heard)
}

fn hook(name: &str, url: String, format: WebhookFormat, secret_env: Option<&str>) -> WebhookConfig {
    WebhookConfig { name: name.into(), url, format, secret_env: secret_env.map(str::to_string), region: None }
}

fn hmac(secret: &str, data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[test]
fn alerts_reach_webhooks_signed_and_failures_are_retried_then_dead_lettered() {
    const SECRET: &str = "s3cret-for-the-test-only";
    std::env::set_var("WW_TEST_HOOK_SECRET", SECRET);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let receivers = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (port, heard) = start_receivers(&receivers);
    let base = format!("http://127.0.0.1:{port}");
    // The city of the largest district (a district alone may have no alert in the run), read from a copy:
    // opening the shared fixture's database would make its journal files come and go under other tests'
    // copies.
    let copy = tempfile::tempdir().unwrap();
    crate::server::copy_dir(&fixture().state, copy.path());
    let home = crate::server::largest_districts(copy.path()).0[..4].to_string();
    let mut district = hook("district", format!("{base}/ok/district"), WebhookFormat::Json, None);
    district.region = Some(home.clone());
    let hooks = vec![
        district,
        hook("json", format!("{base}/ok/json"), WebhookFormat::Json, Some("WW_TEST_HOOK_SECRET")),
        hook("wecom", format!("{base}/ok/wecom?key=robot-key"), WebhookFormat::Wecom, None),
        hook(
            "dingtalk",
            format!("{base}/ok/dingtalk?access_token=t"),
            WebhookFormat::Dingtalk,
            Some("WW_TEST_HOOK_SECRET"),
        ),
        hook("fails", format!("{base}/fail"), WebhookFormat::Json, None),
        hook("moved", format!("{base}/moved"), WebhookFormat::Json, None),
        hook("hangs", format!("{base}/hang"), WebhookFormat::Json, None),
        hook("down", format!("http://127.0.0.1:{closed}/x"), WebhookFormat::Json, None),
        hook("refuses", format!("{base}/refuses?key=robot-key"), WebhookFormat::Wecom, None),
        hook("unsigned", format!("{base}/ok/json"), WebhookFormat::Json, Some("WW_TEST_HOOK_UNSET")),
    ];
    let app = App::with_config(|c| {
        c.alerts.webhooks = hooks.clone();
        c.alerts.max_attempts = 2;
        c.alerts.retry_base_seconds = 0;
        c.alerts.timeout_seconds = 1;
    });
    std::env::remove_var("WW_TEST_HOOK_UNSET");
    // A re-score with every webhook configured, six of them broken, publishes at once: it only queues.
    let f = fixture();
    let ds: Dataset = load_strict(&f.data).unwrap().dataset;
    let wm = WorkerMonths::build(&ds);
    let trained = artifact::load(&f.models, "m-test").unwrap();
    let mut config = config_for(&f.data, &f.models);
    config.alerts = app.state.config().alerts.clone();
    let mut store = Store::open(app.dir.path()).unwrap();
    let mut data = ScoringData::Loaded(ds, wm);
    let inputs = runs::ScoringInputs { data: &mut data, model: &trained, data_fingerprint: "fp" };
    let request = runs::RescoreRequest { as_of: Date::parse("2026-01-01").unwrap(), trigger: "cli".into() };
    let run = runs::rescore(&mut store, inputs, &request, &config).unwrap();
    let queued = store.deliveries().unwrap();
    let home_prefix = wagewatch_core::contract::RegionPrefix::parse(&home).unwrap();
    let (home_alerts, home_total) = store.run_alerts(&run.run_id, home_prefix).unwrap();
    assert!(home_total > 0, "the largest district's city has alerts in this run");
    assert_eq!(queued.len(), hooks.len(), "one push per webhook: {queued:?}");
    assert!(queued.iter().all(|d| d.status == DeliveryStatus::Pending && d.run_id == run.run_id));
    let pushed = store.run_alerts(&run.run_id, wagewatch_core::contract::RegionPrefix::ALL).unwrap();
    assert!(!pushed.0.is_empty() && pushed.1 >= pushed.0.len());
    // First round: the three good ones delivered, the six bad ones pending; second round: dead.
    let first = app.rt.block_on(webhooks::deliver_due(&app.state, Timestamp::now())).unwrap();
    assert_eq!(first, [4, 6, 0]);
    let second = app.rt.block_on(webhooks::deliver_due(&app.state, Timestamp::now())).unwrap();
    assert_eq!(second, [0, 0, 6]);
    assert_eq!(app.rt.block_on(webhooks::deliver_due(&app.state, Timestamp::now())).unwrap(), [0, 0, 0]);
    for d in store.deliveries().unwrap() {
        let broken = ["fails", "moved", "hangs", "down", "refuses", "unsigned"].contains(&d.webhook.as_str());
        let expected = if broken { DeliveryStatus::Dead } else { DeliveryStatus::Delivered };
        assert_eq!((d.status, d.attempts), (expected, if broken { 2 } else { 1 }), "{d:?}");
        let error = d.last_error.unwrap_or_default();
        assert_eq!(broken, !error.is_empty(), "{}: {error}", d.webhook);
        assert!(!error.contains("127.0.0.1") && !error.contains(SECRET) && !error.contains("robot-key"), "{error}");
        match d.webhook.as_str() {
            "refuses" => assert!(error.contains("errcode 93000"), "{error}"),
            "unsigned" => assert!(error.contains("WW_TEST_HOOK_UNSET"), "{error}"),
            "moved" => assert!(error.contains("302"), "{error}"),
            _ => {}
        }
    }
    let heard = heard.lock().unwrap().clone();
    let find = |path: &str| heard.iter().find(|h| h.0 == path).unwrap_or_else(|| panic!("nothing at {path}")).clone();
    // JSON: the run's alerts, signed over "timestamp.body".
    let (_, _, headers, body) = find("/ok/json");
    let message: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(message["run_id"], run.run_id.as_str());
    assert_eq!(message["total"].as_u64(), Some(pushed.1 as u64));
    assert_eq!(message["alerts"].as_array().unwrap().len(), pushed.0.len());
    assert_eq!(message["truncated"], pushed.1 > pushed.0.len());
    // The city's webhook heard of its city's alerts only.
    let district: Value = serde_json::from_slice(&find("/ok/district").3).unwrap();
    assert_eq!(district["total"].as_u64(), Some(home_total as u64));
    assert_eq!(district["alerts"].as_array().unwrap().len(), home_alerts.len());
    assert!(district["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["region_code"].as_str().unwrap().starts_with(&home)));
    assert!(message["total"].as_u64().unwrap() > home_total as u64, "the province's hook heard of more");
    // The hook whose secret is missing never sent an unsigned message: one JSON message arrived.
    assert_eq!(heard.iter().filter(|h| h.0 == "/ok/json").count(), 1);
    let ts = headers["x-wagewatch-timestamp"].to_str().unwrap();
    let expected = format!("sha256={}", hex(&hmac(SECRET, &[ts.as_bytes(), b".", &body].concat())));
    assert_eq!(headers["x-wagewatch-signature"].to_str().unwrap(), expected);
    // WeCom: markdown in Chinese, the robot's key kept in the query.
    let (_, query, _, body) = find("/ok/wecom");
    assert_eq!(query.as_deref(), Some("key=robot-key"));
    let wecom: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(wecom["msgtype"], "markdown");
    let content = wecom["markdown"]["content"].as_str().unwrap();
    assert!(content.contains("欠薪风险预警") && content.len() <= 4_096, "{content}");
    // DingTalk: markdown with a title, signed as DingTalk asks (timestamp in ms and the base64 HMAC).
    let (_, query, _, body) = find("/ok/dingtalk");
    let query = query.unwrap();
    let params: std::collections::HashMap<&str, &str> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
    assert_eq!(params["access_token"], "t");
    let ms = params["timestamp"];
    let sign = base64::engine::general_purpose::STANDARD.encode(hmac(SECRET, format!("{ms}\n{SECRET}").as_bytes()));
    assert_eq!(params["sign"], encode(&sign));
    assert_eq!(url_decode(params["sign"]), Some(sign));
    let ding: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(ding["markdown"]["title"], "欠薪风险预警");
    // The failing receiver was asked twice, the redirect once per attempt and never followed.
    assert_eq!(heard.iter().filter(|h| h.0 == "/fail").count(), 2);
    assert_eq!(heard.iter().filter(|h| h.0 == "/moved").count(), 2);
    drop(receivers);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `%`-encoding of everything but unreserved characters, as a URL query carries a base64 signature.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Whether a query value is well-formed `%`-encoding (its decoding, when it is).
fn url_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(text.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
