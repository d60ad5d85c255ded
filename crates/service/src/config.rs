//! The operator's configuration (`wagewatch.toml`): bands, retention, the re-score schedule and the
//! server's limits. Every field has a documented default, so an empty file (or none) is valid.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use wagewatch_core::model::floors::{BandFloor, FloorRule};
use wagewatch_core::model::{Band, BandCutoffs};

/// Why a configuration file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The dataset folder re-scores read (default `data/generated/demo`).
    pub data: PathBuf,
    /// The model folder (default `models`).
    pub models: PathBuf,
    /// The model a re-score uses when none is named and the registry has no champion; default: the newest in
    /// `models`.
    pub model: Option<String>,
    pub bands: BandConfig,
    pub retention: RetentionConfig,
    pub schedule: ScheduleConfig,
    pub server: ServerConfig,
    pub audit: AuditConfig,
    pub drift: DriftConfig,
    pub alerts: AlertConfig,
}

/// What a re-score raises as alerts, compared with the previous run.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// A rise of the probability by more than this many percentage points since the previous run is an
    /// alert (default 15).
    pub rise_points: f64,
    /// Workers owed wages at one entity that make a group (default 10) ...
    pub group_workers: u32,
    /// ... alerted when the as-of date is this many days or fewer before the Spring Festival (default 30).
    pub festival_days: i32,
    /// Where a run's alerts are pushed (`[[alerts.webhooks]]`); none by default.
    pub webhooks: Vec<WebhookConfig>,
    /// A failed push is tried again after this many seconds, doubling each time (default 30) ...
    pub retry_base_seconds: u64,
    /// ... at most this many times in all, then it is dead-lettered (default 5).
    pub max_attempts: u32,
    /// The server looks for pushes due this often (default 5 s).
    pub deliver_every_seconds: u64,
    /// A push that has not been answered in this many seconds has failed (default 5).
    pub timeout_seconds: u64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            rise_points: 15.0,
            group_workers: 10,
            festival_days: 30,
            webhooks: Vec::new(),
            retry_base_seconds: 30,
            max_attempts: 5,
            deliver_every_seconds: 5,
            timeout_seconds: 5,
        }
    }
}

/// The message format of a webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// The run's alerts as JSON, signed with HMAC-SHA256 when a secret is set.
    Json,
    /// A WeCom (企业微信) group robot's markdown message.
    Wecom,
    /// A DingTalk (钉钉) group robot's markdown message, signed as DingTalk asks when a secret is set.
    Dingtalk,
}

/// One place alerts are pushed to.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// A name for logs and the delivery records (1 to 32 letters, digits, `_` or `-`): the URL, which can
    /// hold a robot's key, is never logged.
    pub name: String,
    /// `http://host[:port]/path`. The service speaks plain HTTP; an `https://` endpoint (such as the robots'
    /// public ones) is reached through a forwarding proxy on the operator's network.
    pub url: String,
    pub format: WebhookFormat,
    /// The environment variable holding the signing secret (never the secret itself in the file).
    pub secret_env: Option<String>,
    /// Only alerts about entities in this region prefix (all when absent).
    pub region: Option<String>,
}

/// How a run's drift is judged.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftConfig {
    /// A run whose feature or score PSI (against the training panel or the previous run) is above this
    /// is flagged as drifted (default 0.25).
    pub threshold: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig { threshold: wagewatch_core::drift::DEFAULT_THRESHOLD }
    }
}

/// What the band cut-offs are set on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BandBasis {
    /// The calibrated probability (`red`, `orange`, `yellow`).
    #[default]
    Probability,
    /// The expected unpaid wages in the horizon (`red_yuan`, `orange_yuan`, `yellow_yuan`); an entity
    /// without an expected amount (a model without an amount model) takes its probability's band.
    ExpectedHarm,
}

/// A band a floor holds an entity at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloorBand {
    Red,
    Orange,
    Yellow,
}

/// What a floor looks at, as configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloorRuleConfig {
    ArrearsFound,
    SubstantiatedComplaint,
}

/// A floor as configured (`[[bands.floors]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorConfig {
    /// `arrears_found` or `substantiated_complaint`.
    pub rule: FloorRuleConfig,
    /// How recent the fact must be, in days before the as-of date (1..=3650).
    pub within_days: u32,
    /// The band the entity is held at, at least.
    pub at_least: FloorBand,
}

/// How probabilities (or expected harm) become bands.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BandConfig {
    /// What the cut-offs are set on (default `probability`).
    pub on: BandBasis,
    /// Probability at or above which an entity is red (default 0.5).
    pub red: f64,
    /// ... orange (default 0.25).
    pub orange: f64,
    /// ... yellow (default 0.1).
    pub yellow: f64,
    /// Facts that hold an entity at a band whatever its score (default: arrears an inspection found, or a
    /// complaint substantiated, in the last 30 days and not found cleared since: at least orange).
    pub floors: Vec<FloorConfig>,
    /// With `on = "expected_harm"`: expected unpaid yuan at or above which an entity is red (default 50,000).
    pub red_yuan: f64,
    /// ... orange (default 20,000).
    pub orange_yuan: f64,
    /// ... yellow (default 5,000).
    pub yellow_yuan: f64,
    /// Inspection capacity: at most this many entities of each type per district are red (the highest
    /// ranked ones at or above the red cut-off); the rest take the band their probability gives without the
    /// red cut-off. Unset: no cap. Set `red = 0` with a capacity to make the top N of every district red
    /// whatever their probability.
    pub red_per_district: Option<u32>,
}

/// How many runs are kept.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Published runs kept, newest first (default 12); older ones and their files are deleted.
    pub keep_runs: usize,
    /// Days alerts are kept after they were raised (default 730), and pushes after they were delivered or
    /// dead-lettered; older ones are deleted when a run is published. Alerts outlive their run until then.
    pub alert_days: u32,
}

/// When the server re-scores by itself.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Whether the server re-scores on its own at all (default true).
    pub enabled: bool,
    /// Days before Spring Festival during which the short interval applies (default 45).
    pub pre_festival_days: i32,
    /// Hours between re-scores in those days (default 24).
    pub pre_festival_every_hours: u32,
    /// Hours between re-scores otherwise (default 168, weekly).
    pub every_hours: u32,
    /// Re-score when files in the data folder change (default true).
    pub on_new_data: bool,
    /// Seconds between checks of the schedule and the data folder (default 60).
    pub check_every_seconds: u64,
    /// Days between retrainings of a challenger (`wagewatch retrain` as of today, judged beside the
    /// champion, never promoted by itself); 0, the default, never retrains.
    pub retrain_every_days: u32,
}

/// The server's address and limits.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:8080`).
    pub listen: String,
    /// Largest page of `/v1/watchlist` (default 500).
    pub max_page: usize,
    /// Page size when none is asked for (default 50).
    pub default_page: usize,
    /// Requests taking longer are answered 503 (default 10 s).
    pub request_timeout_seconds: u64,
    /// Largest request body accepted (default 64 KiB).
    pub body_limit_bytes: usize,
    /// A connection must send a whole request header within this time, and an idle keep-alive connection
    /// is closed after it (default 10 s): a client that sends half a header cannot hold a connection.
    pub header_read_timeout_seconds: u64,
    /// Open connections at most; further ones are closed at once (default 1024).
    pub max_connections: usize,
    /// Open connections from one client address at most; further ones from it are closed at once (default
    /// 256). Behind a reverse proxy every connection comes from the proxy: set it to `max_connections`
    /// there and cap per client in the proxy.
    pub max_connections_per_address: usize,
    /// How often the server checks the run registry for runs published by other processes (a re-score
    /// from the command line or cron) and serves them (default 2 s).
    pub registry_poll_seconds: u64,
    /// Requests in flight at most; further ones are answered 503 `overloaded` at once (default 512).
    pub max_in_flight: usize,
    /// Mark the session cookie `Secure` (and name it `__Host-ww_session`): set this when clients reach the
    /// server over HTTPS, as through a TLS-terminating reverse proxy (default false).
    pub secure_cookies: bool,
    /// A dashboard session ends after this many idle minutes (default 30).
    pub session_idle_minutes: u64,
    /// ... and after this many hours whatever its use (default 12).
    pub session_max_hours: u64,
    /// Exports (API and dashboard) per token and minute (default 10).
    pub exports_per_minute: u32,
    /// Re-scores started over the API per token and hour (default 6).
    pub rescores_per_hour: u32,
    /// Failed sign-ins per client address in 10 minutes before sign-in is refused for the rest of them
    /// (default 10).
    pub signin_failures_per_10_minutes: u32,
}

/// The audit log.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Entries older than this many days are deleted (default 365).
    pub retention_days: u32,
    /// Identical reads by one caller (same route, filters and status) within this many seconds of the
    /// first are one entry with a count and the time of the last (default 60; 0 writes every request).
    pub coalesce_seconds: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { retention_days: 365, coalesce_seconds: 60 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data: PathBuf::from("data/generated/demo"),
            models: PathBuf::from("models"),
            model: None,
            bands: BandConfig::default(),
            retention: RetentionConfig::default(),
            schedule: ScheduleConfig::default(),
            server: ServerConfig::default(),
            audit: AuditConfig::default(),
            drift: DriftConfig::default(),
            alerts: AlertConfig::default(),
        }
    }
}

impl Default for BandConfig {
    fn default() -> Self {
        let c = BandCutoffs::default();
        BandConfig {
            on: BandBasis::Probability,
            red: c.red,
            orange: c.orange,
            yellow: c.yellow,
            red_yuan: 50_000.0,
            orange_yuan: 20_000.0,
            yellow_yuan: 5_000.0,
            red_per_district: None,
            floors: [FloorRuleConfig::ArrearsFound, FloorRuleConfig::SubstantiatedComplaint]
                .map(|rule| FloorConfig { rule, within_days: 30, at_least: FloorBand::Orange })
                .to_vec(),
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { keep_runs: 12, alert_days: 730 }
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            enabled: true,
            pre_festival_days: 45,
            pre_festival_every_hours: 24,
            every_hours: 168,
            on_new_data: true,
            check_every_seconds: 60,
            retrain_every_days: 0,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            max_page: 500,
            default_page: 50,
            request_timeout_seconds: 10,
            body_limit_bytes: 64 * 1024,
            header_read_timeout_seconds: 10,
            max_connections: 1024,
            max_connections_per_address: 256,
            registry_poll_seconds: 2,
            max_in_flight: 512,
            secure_cookies: false,
            session_idle_minutes: 30,
            session_max_hours: 12,
            exports_per_minute: 10,
            rescores_per_hour: 6,
            signin_failures_per_10_minutes: 10,
        }
    }
}

impl ServerConfig {
    /// How long dashboard sessions live.
    pub fn session_limits(&self) -> crate::state::SessionLimits {
        crate::state::SessionLimits {
            idle_seconds: self.session_idle_minutes as i64 * 60,
            max_seconds: self.session_max_hours as i64 * 3600,
        }
    }
}

impl BandConfig {
    /// The probability cut-offs.
    pub fn cutoffs(&self) -> BandCutoffs {
        BandCutoffs { red: self.red, orange: self.orange, yellow: self.yellow }
    }

    /// The band of a probability before any capacity applies.
    pub fn band(&self, p: f64) -> Band {
        self.cutoffs().band(p)
    }

    /// The floors, as the re-score applies them.
    pub fn floors(&self) -> Vec<BandFloor> {
        self.floors
            .iter()
            .map(|f| BandFloor {
                rule: match f.rule {
                    FloorRuleConfig::ArrearsFound => FloorRule::ArrearsFound,
                    FloorRuleConfig::SubstantiatedComplaint => FloorRule::SubstantiatedComplaint,
                },
                within_days: f.within_days,
                at_least: match f.at_least {
                    FloorBand::Red => Band::Red,
                    FloorBand::Orange => Band::Orange,
                    FloorBand::Yellow => Band::Yellow,
                },
            })
            .collect()
    }

    /// The measure the bands are set on for an entity with probability `p` and expected unpaid yuan
    /// `expected`, and the cut-offs that apply to it: the probability's when the bands are set on it or
    /// the entity has no expected amount.
    pub fn measure(&self, p: f64, expected: Option<f64>) -> (f64, BandCutoffs) {
        match (self.on, expected) {
            (BandBasis::ExpectedHarm, Some(yuan)) => {
                (yuan, BandCutoffs { red: self.red_yuan, orange: self.orange_yuan, yellow: self.yellow_yuan })
            }
            _ => (p, self.cutoffs()),
        }
    }
}

impl Config {
    /// Reads a TOML file; a missing file gives the defaults only when `must_exist` is false.
    pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(Config::default()),
            Err(source) => return Err(ConfigError::Io { path: path.to_path_buf(), source }),
        };
        Config::parse(&text).map_err(|message| ConfigError::Invalid { path: path.to_path_buf(), message })
    }

    /// Parses and checks TOML text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        let b = &self.bands;
        if !(0.0..=1.0).contains(&b.red) || !(0.0..=1.0).contains(&b.orange) || !(0.0..=1.0).contains(&b.yellow) {
            return Err("bands: cut-offs must lie in 0..1".into());
        }
        if b.red_per_district.is_none() && !(b.red >= b.orange && b.orange >= b.yellow) {
            return Err("bands: cut-offs must satisfy red >= orange >= yellow".into());
        }
        if ![b.red_yuan, b.orange_yuan, b.yellow_yuan].iter().all(|y| y.is_finite() && *y >= 0.0) {
            return Err("bands: yuan cut-offs must be finite and at least 0".into());
        }
        if (b.red_per_district.is_none() && b.red_yuan < b.orange_yuan) || b.orange_yuan < b.yellow_yuan {
            return Err("bands: yuan cut-offs must satisfy red_yuan >= orange_yuan >= yellow_yuan".into());
        }
        if b.floors.iter().any(|f| !(1..=3650).contains(&f.within_days)) {
            return Err("bands.floors: within_days must lie in 1..=3650".into());
        }
        if b.orange < b.yellow {
            return Err("bands: cut-offs must satisfy orange >= yellow".into());
        }
        if self.retention.keep_runs == 0 {
            return Err("retention.keep_runs must be at least 1 (the run being served)".into());
        }
        if !(1..=36_500).contains(&self.retention.alert_days) {
            return Err("retention.alert_days must lie in 1..=36500".into());
        }
        let s = &self.server;
        if s.max_page == 0 || s.default_page == 0 || s.default_page > s.max_page {
            return Err("server: need 0 < default_page <= max_page".into());
        }
        if s.request_timeout_seconds == 0 || s.body_limit_bytes < 1024 {
            return Err("server: request_timeout_seconds must be positive and body_limit_bytes at least 1024".into());
        }
        if [s.header_read_timeout_seconds, s.registry_poll_seconds].contains(&0)
            || [s.max_connections, s.max_connections_per_address, s.max_in_flight].contains(&0)
        {
            return Err("server: header_read_timeout_seconds, registry_poll_seconds, max_connections, \
                        max_connections_per_address and max_in_flight must be positive"
                .into());
        }
        if s.session_idle_minutes == 0 || s.session_max_hours == 0 {
            return Err("server: session_idle_minutes and session_max_hours must be positive".into());
        }
        if self.audit.coalesce_seconds > 3600 {
            return Err("audit.coalesce_seconds must be at most 3600 (an hour)".into());
        }
        let a = &self.alerts;
        if !(a.rise_points.is_finite() && a.rise_points > 0.0 && a.rise_points < 100.0) {
            return Err("alerts.rise_points must lie between 0 and 100 (percentage points)".into());
        }
        if a.group_workers == 0 || !(0..=366).contains(&a.festival_days) {
            return Err("alerts.group_workers must be at least 1 and alerts.festival_days in 0..=366".into());
        }
        let bounded = |v: u64, max: u64| (1..=max).contains(&v);
        if !(bounded(a.max_attempts.into(), 20)
            && bounded(a.deliver_every_seconds, 3_600)
            && bounded(a.timeout_seconds, 300)
            && a.retry_base_seconds <= 86_400)
        {
            return Err("alerts: max_attempts must lie in 1..=20, deliver_every_seconds in 1..=3600, \
                        timeout_seconds in 1..=300 and retry_base_seconds in 0..=86400"
                .into());
        }
        let mut names = std::collections::HashSet::new();
        for w in &a.webhooks {
            w.check().map_err(|e| format!("alerts.webhooks {:?}: {e}", w.name))?;
            if !names.insert(w.name.as_str()) {
                return Err(format!("alerts.webhooks: the name {:?} is used twice", w.name));
            }
        }
        if !(self.drift.threshold.is_finite() && self.drift.threshold > 0.0) {
            return Err("drift.threshold must be a positive number".into());
        }
        if self.audit.retention_days == 0 {
            return Err("audit.retention_days must be at least 1".into());
        }
        let sc = &self.schedule;
        if sc.pre_festival_every_hours == 0 || sc.every_hours == 0 || sc.check_every_seconds == 0 {
            return Err("schedule: intervals must be positive".into());
        }
        Ok(())
    }
}

impl WebhookConfig {
    /// Whether the name, URL, secret variable and region are usable.
    fn check(&self) -> Result<(), String> {
        let name_ok = (1..=32).contains(&self.name.len())
            && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !name_ok {
            return Err("name: use 1 to 32 letters, digits, '_' or '-'".into());
        }
        if self.url.starts_with("https://") {
            return Err(
                "url: the service pushes over plain http; reach an https endpoint through a forwarding proxy".into()
            );
        }
        let Some(rest) = self.url.strip_prefix("http://") else {
            return Err("url: must start with http://".into());
        };
        let host = rest.split(['/', '?']).next().unwrap_or("");
        if host.is_empty() || host.contains('@') || self.url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("url: needs a host (no user info, no spaces)".into());
        }
        if let Some(var) = &self.secret_env {
            if var.is_empty() || !var.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
                return Err("secret_env: name an environment variable (A-Z, 0-9, _)".into());
            }
        }
        if let Some(r) = &self.region {
            if wagewatch_core::contract::RegionPrefix::parse(r).is_none() || r.is_empty() {
                return Err("region: use 2, 4 or 6 digits".into());
            }
        }
        Ok(())
    }

    /// The region this webhook hears about.
    pub fn region(&self) -> wagewatch_core::contract::RegionPrefix {
        self.region
            .as_deref()
            .and_then(wagewatch_core::contract::RegionPrefix::parse)
            .unwrap_or(wagewatch_core::contract::RegionPrefix::ALL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Result<(), &str>) {
        match (Config::parse(text), expected) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(part)) => assert!(e.contains(part), "{e}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn config_defaults_and_errors() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        let example = Config::parse(include_str!("../../../wagewatch.example.toml"));
        assert!(example.is_ok(), "the example configuration parses: {example:?}");
        check("[bands]\nred = 0.6\nred_per_district = 5", Ok(()));
        check("[bands]\nred = 0.0\nred_per_district = 5", Ok(()));
        check("[bands]\nred = 0.1\norange = 0.3", Err("red >= orange"));
        check("[bands]\nred = 1.5", Err("0..1"));
        check("[bands]\non = \"expected_harm\"\nred_yuan = 100000", Ok(()));
        check("[bands]\non = \"harm\"", Err("unknown variant"));
        check("[bands]\nred_yuan = 1000", Err("red_yuan >= orange_yuan"));
        check("[bands]\nyellow_yuan = -1", Err("at least 0"));
        check("[bands]\nred_yuan = nan", Err("finite"));
        check("[bands]\nfloors = []", Ok(()));
        // The service's default floors are the ones `wagewatch score` applies.
        assert_eq!(BandConfig::default().floors(), wagewatch_core::model::floors::DEFAULT_FLOORS);
        check("[[bands.floors]]\nrule = \"arrears_found\"\nwithin_days = 14\nat_least = \"red\"", Ok(()));
        check("[[bands.floors]]\nrule = \"rumour\"\nwithin_days = 14\nat_least = \"red\"", Err("unknown variant"));
        check("[[bands.floors]]\nrule = \"arrears_found\"\nwithin_days = 0\nat_least = \"red\"", Err("within_days"));
        check(
            "[[bands.floors]]\nrule = \"arrears_found\"\nwithin_days = 9\nat_least = \"green\"",
            Err("unknown variant"),
        );
        check("[retention]\nkeep_runs = 0", Err("keep_runs"));
        check("[retention]\nalert_days = 90", Ok(()));
        check("[retention]\nalert_days = 0", Err("alert_days"));
        check("[retention]\nalert_days = -5", Err("invalid value"));
        check("[drift]\nthreshold = 0.1", Ok(()));
        check("[alerts]\nrise_points = 10\ngroup_workers = 5\nfestival_days = 20", Ok(()));
        check("[alerts]\nrise_points = 0", Err("alerts.rise_points"));
        check("[alerts]\nrise_points = 150", Err("alerts.rise_points"));
        check("[alerts]\ngroup_workers = 0", Err("alerts.group_workers"));
        check("[alerts]\nretry_base_seconds = 99999999999", Err("retry_base_seconds"));
        check("[alerts]\nmax_attempts = 0", Err("max_attempts"));
        check("[alerts]\nloud = true", Err("unknown field"));
        let hook = |extra: &str| format!("[[alerts.webhooks]]\nname = \"ops\"\nformat = \"wecom\"\n{extra}");
        check(&hook("url = \"http://relay.local:8081/wecom?key=k\"\nregion = \"3205\""), Ok(()));
        check(&hook("url = \"https://qyapi.weixin.qq.com/x\""), Err("plain http"));
        check(&hook("url = \"ftp://x\""), Err("http://"));
        check(&hook("url = \"http://\""), Err("host"));
        check(&hook("url = \"http://a/\"\nregion = \"3\""), Err("region"));
        check(&hook("url = \"http://a/\"\nsecret_env = \"lower case\""), Err("secret_env"));
        check(&format!("{}\n{}", hook("url = \"http://a/\""), hook("url = \"http://b/\"")), Err("twice"));
        check("[[alerts.webhooks]]\nname = \"a b\"\nurl = \"http://a/\"\nformat = \"json\"", Err("name"));
        check("[[alerts.webhooks]]\nname = \"a\"\nurl = \"http://a/\"\nformat = \"fax\"", Err("unknown variant"));
        check("[drift]\nthreshold = 0", Err("drift.threshold"));
        check("[drift]\nthreshold = nan", Err("drift.threshold"));
        check("[server]\nmax_page = 10\ndefault_page = 50", Err("default_page"));
        check("[bands]\npurple = 1", Err("unknown field"));
        check("[schedule]\nevery_hours = \"weekly\"", Err("invalid type"));
        check("[server]\nmax_connections = 0", Err("max_connections"));
        check("[audit]\nretention_days = 0", Err("retention_days"));
        check("[audit]\ncoalesce_seconds = 86400", Err("coalesce_seconds"));
        check("[server]\nsecure_cookies = true\n[audit]\nretention_days = 90", Ok(()));
    }
}
