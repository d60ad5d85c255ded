//! Pushes each run's alerts to the configured webhooks: a generic JSON message signed with HMAC-SHA256,
//! and the markdown messages of the group robots Chinese offices use (WeCom/企业微信, DingTalk/钉钉, signed
//! as DingTalk asks). A re-score only queues the push, in the transaction that publishes the run; the
//! server sends what is due, tries a failed push again after a doubling wait and, after the last attempt,
//! keeps it as a dead letter with its error. A push that times out, answers other than 2xx or redirects has
//! failed (redirects are not followed). Logs name the webhook, never its URL (a robot's key is in it) or
//! its secret.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::json;
use sha2::Sha256;

use crate::config::{AlertConfig, WebhookConfig, WebhookFormat};
use crate::server::wire::AlertEventOut;
use crate::server::{AppState, DbError};
use crate::state::{Delivery, DeliveryStatus, StoredAlert, Timestamp};

/// The most bytes of markdown a robot message carries (WeCom's limit is 4,096).
const MAX_MARKDOWN_BYTES: usize = 4_000;

/// A request to send: where, what, and the extra headers.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub url: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

/// Why a push failed. It never quotes the URL, the secret or the answer's body (a proxy's error page can
/// echo the URL, and with it a robot's key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("cannot connect ({0:?})")]
    Connect(std::io::ErrorKind),
    #[error("the HTTP exchange failed ({0})")]
    Exchange(String),
    #[error("no answer in {0} s")]
    Timeout(u64),
    #[error("redirected (HTTP {0}); redirects are not followed")]
    Redirect(u16),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("the robot refused the message (errcode {0})")]
    Refused(i64),
    #[error("the secret variable {0} is not set")]
    NoSecret(String),
    #[error("the webhook is no longer configured")]
    Unconfigured,
}

/// HMAC-SHA256 of `data` under `secret`.
fn hmac_sha256(secret: &str, data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

use crate::query::url_encode;

/// Text from the data made inert in a robot's markdown: no links, mentions, emphasis or line breaks.
fn inert(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' | '>' | '[' | ']' | '(' | ')' | '*' | '_' | '`' | '#' | '@' | '|' | '!' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// The alerts as a robot's markdown: a heading with the run's total, then one line each (the most urgent
/// first), cut at a line to fit the size limit; what is left out is counted.
fn markdown(run_id: &str, alerts: &[StoredAlert], total: usize) -> String {
    let as_of = alerts.first().map_or(String::new(), |a| a.as_of.to_string());
    let mut text = format!("### 欠薪风险预警 {as_of}\n> 共 {total} 条 · 批次 {}\n\n", inert(run_id));
    let mut shown = 0;
    for a in alerts {
        let line = format!("- {} ({})\n", inert(&a.event.texts().0), a.event.region);
        if text.len() + line.len() > MAX_MARKDOWN_BYTES {
            break;
        }
        text.push_str(&line);
        shown += 1;
    }
    if total > shown {
        text.push_str(&format!("- …… 另有 {} 条, 请登录系统查看\n", total - shown));
    }
    text
}

/// The message a webhook gets for a run's alerts (`alerts`, the most urgent of the `total` in its region),
/// signed with `secret` when given, at `now`.
pub fn message(
    hook: &WebhookConfig,
    secret: Option<&str>,
    run_id: &str,
    alerts: &[StoredAlert],
    total: usize,
    now: Timestamp,
) -> Message {
    let json_header = ("content-type".to_string(), "application/json".to_string());
    match hook.format {
        WebhookFormat::Json => {
            let items: Vec<AlertEventOut> = alerts.iter().map(AlertEventOut::from_stored).collect();
            let truncated = total > items.len();
            let body = json!({ "run_id": run_id, "total": total, "truncated": truncated, "alerts": items });
            let body = serde_json::to_vec(&body).expect("alerts serialise");
            let mut headers = vec![json_header];
            if let Some(secret) = secret {
                let ts = now.0.to_string();
                let signed = [ts.as_bytes(), b".", &body].concat();
                headers.push(("x-wagewatch-timestamp".into(), ts));
                headers
                    .push(("x-wagewatch-signature".into(), format!("sha256={}", hex(&hmac_sha256(secret, &signed)))));
            }
            Message { url: hook.url.clone(), body, headers }
        }
        WebhookFormat::Wecom => {
            let body = json!({ "msgtype": "markdown", "markdown": { "content": markdown(run_id, alerts, total) } });
            Message { url: hook.url.clone(), body: body.to_string().into_bytes(), headers: vec![json_header] }
        }
        WebhookFormat::Dingtalk => {
            let body = json!({
                "msgtype": "markdown",
                "markdown": { "title": "欠薪风险预警", "text": markdown(run_id, alerts, total) }
            });
            let url = match secret {
                Some(secret) => {
                    let ms = now.0 * 1000;
                    let sign = base64::engine::general_purpose::STANDARD
                        .encode(hmac_sha256(secret, format!("{ms}\n{secret}").as_bytes()));
                    let join = if hook.url.contains('?') { '&' } else { '?' };
                    format!("{}{join}timestamp={ms}&sign={}", hook.url, url_encode(&sign))
                }
                None => hook.url.clone(),
            };
            Message { url, body: body.to_string().into_bytes(), headers: vec![json_header] }
        }
    }
}

/// Splits `http://host[:port]/path?query` into the address to connect to, the Host header and the target.
fn split_url(url: &str) -> Result<(String, String, String), String> {
    let rest = url.strip_prefix("http://").ok_or("not an http:// URL")?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    if authority.is_empty() {
        return Err("no host".into());
    }
    let address = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((address, authority.to_string(), target))
}

/// A robot answers 200 with `{"errcode": n, ...}`; anything but 0 is a refusal (a bad key, a bad signature,
/// over its rate limit).
fn robot_errcode(body: &[u8]) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("errcode")?.as_i64().filter(|c| *c != 0)
}

/// Sends one message and reads the answer, within `timeout`; a robot's answer (`robot`) is also read for
/// its `errcode`.
pub async fn send(msg: &Message, timeout: Duration, robot: bool) -> Result<(), PushError> {
    let attempt = async {
        let (address, host, target) = split_url(&msg.url).map_err(PushError::Exchange)?;
        let stream = tokio::net::TcpStream::connect(&address).await.map_err(|e| PushError::Connect(e.kind()))?;
        let exchange = |e: hyper::Error| PushError::Exchange(e.to_string());
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(exchange)?;
        tokio::spawn(conn);
        let mut request = hyper::Request::post(target).header("host", host).header("user-agent", "wagewatch");
        for (k, v) in &msg.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let request =
            request.body(Full::new(Bytes::from(msg.body.clone()))).map_err(|e| PushError::Exchange(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(exchange)?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(exchange)?.to_bytes();
        match status {
            200..=299 => match robot_errcode(&body).filter(|_| robot) {
                Some(code) => Err(PushError::Refused(code)),
                None => Ok(()),
            },
            300..=399 => Err(PushError::Redirect(status)),
            _ => Err(PushError::Status(status)),
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => Err(PushError::Timeout(timeout.as_secs())),
    }
}

/// When the attempt after `attempts` failed ones is due: the base wait doubling each time.
pub fn next_attempt(now: Timestamp, base_seconds: u64, attempts: u32) -> Timestamp {
    let wait = base_seconds.saturating_mul(1u64 << attempts.min(20));
    Timestamp(now.0.saturating_add(wait.min(i64::MAX as u64) as i64))
}

/// What one attempt concluded, for the store: delivered, dead (the last attempt, or a webhook no longer
/// configured) or pending again after the doubling wait, with the error.
fn outcome(
    d: &Delivery,
    result: Result<(), PushError>,
    config: &AlertConfig,
    now: Timestamp,
) -> (DeliveryStatus, Timestamp, Option<String>) {
    match result {
        Ok(()) => (DeliveryStatus::Delivered, now, None),
        Err(e @ PushError::Unconfigured) => (DeliveryStatus::Dead, now, Some(e.to_string())),
        Err(e) if d.attempts + 1 >= config.max_attempts => (DeliveryStatus::Dead, now, Some(e.to_string())),
        Err(e) => {
            let next = next_attempt(now, config.retry_base_seconds, d.attempts);
            (DeliveryStatus::Pending, next, Some(e.to_string()))
        }
    }
}

/// A webhook's secret from the environment variable it names: none when it names none, an error when the
/// variable is unset or empty (a push that should be signed is never sent unsigned).
fn secret(hook: &WebhookConfig) -> Result<Option<String>, PushError> {
    match hook.secret_env.as_deref() {
        None => Ok(None),
        Some(var) => match std::env::var(var) {
            Ok(s) if !s.is_empty() => Ok(Some(s)),
            _ => Err(PushError::NoSecret(var.to_string())),
        },
    }
}

/// Builds and sends the push of a run's alerts to one webhook; the outer error is the state's.
async fn push(
    state: &AppState,
    hook: &WebhookConfig,
    d: &Delivery,
    now: Timestamp,
) -> Result<Result<(), PushError>, DbError> {
    let secret = match secret(hook) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let (run, region) = (d.run_id.clone(), hook.region());
    let (alerts, total) = state.database(move |s| s.run_alerts(&run, region)).await?;
    let msg = message(hook, secret.as_deref(), &d.run_id, &alerts, total, now);
    let timeout = Duration::from_secs(state.config().alerts.timeout_seconds);
    Ok(send(&msg, timeout, hook.format != WebhookFormat::Json).await)
}

/// Sends every push due at `now`, one after another, and records each attempt; returns how many were
/// delivered, left to try again and dead-lettered.
pub async fn deliver_due(state: &AppState, now: Timestamp) -> Result<[usize; 3], DbError> {
    let config = state.config().alerts.clone();
    let due = state.database(move |s| s.due_deliveries(now)).await?;
    let mut counts = [0; 3];
    for d in due {
        let result = match config.webhooks.iter().find(|w| w.name == d.webhook) {
            None => Err(PushError::Unconfigured),
            Some(hook) => push(state, hook, &d, now).await?,
        };
        let (status, next, error) = outcome(&d, result, &config, now);
        let (webhook, run, attempt) = (&d.webhook, &d.run_id, d.attempts + 1);
        match status {
            DeliveryStatus::Delivered => {
                counts[0] += 1;
                tracing::info!(%webhook, %run, attempt, "alerts pushed");
            }
            DeliveryStatus::Pending => {
                counts[1] += 1;
                tracing::warn!(%webhook, %run, attempt, error = ?error, "pushing alerts failed; will try again");
            }
            DeliveryStatus::Dead => {
                counts[2] += 1;
                tracing::error!(%webhook, %run, attempt, error = ?error, "pushing alerts failed for good: dead-lettered");
            }
        }
        let id = d.delivery_id;
        state.database(move |s| s.record_attempt(id, status, next, error.as_deref(), now)).await?;
    }
    Ok(counts)
}
