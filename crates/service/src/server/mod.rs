//! The HTTP server (`wagewatch serve`): the inspectors' API over the published runs, with roles, regions,
//! an audit log, Prometheus metrics, an OpenAPI document generated from the handlers, scheduled re-scores
//! and graceful shutdown. The dashboard's pages (crate `wagewatch-dashboard`) are merged in by
//! [`router_with`].
//!
//! Every path is registered in [`router`], grouped by resource (one module each under `routes`). Hostile
//! clients are bounded: a request header must arrive within a timeout (which also closes idle keep-alive
//! connections), connections and requests in flight are capped, bodies are limited, and expensive actions
//! are rate-limited per token. No database or file work runs on the threads that serve requests.

mod audit;
mod auth;
mod db;
mod error;
mod extract;
mod limits;
mod loader;
mod metrics;
pub mod routes;
mod security;
mod snapshot;
pub mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceExt;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::runs::{self, schedule, RunData, RunError};
use crate::state::{AuditEntry, JobRecord, JobStatus, Principal, SecretHash, StateError, Store, Timestamp};
use wagewatch_core::backtest::Report;
use wagewatch_core::contract::{Date, RegionPrefix};
use wagewatch_core::model::{artifact, RiskModel};

pub use auth::{bearer, Caller, TOKEN_CACHE_TTL};
pub use db::{Db, DbError};
pub use error::{ApiError, ERROR_CODES};
pub use extract::{ApiPath, ApiQuery};
pub use limits::RateLimiter;
pub use security::{same_site, CONTENT_SECURITY_POLICY};
pub use snapshot::{HistoryEntry, RunSummary, RunView, Snapshot};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Where the server's re-scores (`POST /v1/runs`, the schedule) run.
#[derive(Clone, Debug, Default)]
pub enum Rescorer {
    /// On a blocking thread of the server's own.
    #[default]
    InProcess,
    /// In a child process: `program` with `args`, then `--as-of DATE --trigger T --job ID` and `--model ID`
    /// when one is named (`wagewatch rescore` takes these). The child publishes the run and records the
    /// job; the registry watch serves the run. The memory a re-score takes is never the server's, and a
    /// re-score that crashes leaves the server serving.
    Process { program: PathBuf, args: Vec<std::ffi::OsString> },
}

/// How the binary hosting the server wants it to run.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    pub rescorer: Rescorer,
    /// Hands the allocator's free pages back to the system; called every [`RELEASE_MEMORY_EVERY`] on a
    /// blocking thread, so that resident memory follows what the server holds, not its peaks (a run
    /// swap holds two runs for a moment). None: never.
    pub release_memory: Option<fn() -> bool>,
}

/// Older runs (named by `run` or a cursor) held whole at once.
pub const OLDER_RUNS_HELD: usize = 2;

/// How often `release_memory` is called.
pub const RELEASE_MEMORY_EVERY: Duration = Duration::from_secs(10);

/// What every handler shares. Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

/// A model as the server shows it, read once: the model, its card and its backtest.
pub struct ModelInfo {
    pub model: RiskModel,
    pub card_markdown: String,
    /// The Chinese card; `None` for a model saved before cards had two languages.
    pub card_markdown_zh: Option<String>,
    pub backtest: Option<Report>,
}

struct Shared {
    config: Config,
    state_dir: PathBuf,
    /// The pseudonymisation key file, for re-scores that read the dataset.
    key_file: PathBuf,
    /// The state database: a pool of connections used on blocking threads.
    db: Db,
    /// The published runs; replaced whole when a run is published.
    snapshot: RwLock<Arc<Snapshot>>,
    /// The older runs requests named last, read whole, newest use first ([`OLDER_RUNS_HELD`] at most;
    /// dropped when the runs are reloaded).
    older_runs: Mutex<Vec<Arc<RunView>>>,
    /// The thread that reads runs into memory.
    loader: loader::Loader,
    /// Valid tokens by the hash of their secret, with when they were looked up.
    token_cache: RwLock<HashMap<SecretHash, (Principal, Instant)>>,
    audit: audit::AuditLog,
    metrics: metrics::Metrics,
    /// Held while a re-score runs: one at a time.
    rescoring: Arc<tokio::sync::Mutex<()>>,
    options: ServeOptions,
    openapi: OnceLock<String>,
    models: Mutex<HashMap<String, Arc<ModelInfo>>>,
    exports: RateLimiter<i64>,
    rescores: RateLimiter<i64>,
    signin_failures: RateLimiter<String>,
}

impl AppState {
    /// Opens the state folder, loads every kept run and starts the audit writer; re-scores run in process.
    pub fn open(config: Config, state_dir: &Path, key_file: PathBuf) -> Result<AppState, ServerError> {
        AppState::open_with(config, state_dir, key_file, ServeOptions::default())
    }

    /// [`AppState::open`] with the host's options.
    pub fn open_with(
        config: Config,
        state_dir: &Path,
        key_file: PathBuf,
        options: ServeOptions,
    ) -> Result<AppState, ServerError> {
        let db = Db::open(state_dir)?;
        let blocking = |e: DbError| match e {
            DbError::State(s) => ServerError::State(s),
            DbError::Panicked(p) => ServerError::State(StateError::Corrupt { what: p }),
        };
        let abandoned = db.run_blocking(|s| s.fail_abandoned_jobs()).map_err(blocking)?;
        if abandoned > 0 {
            tracing::warn!(abandoned, "jobs left running by a stopped server were marked failed");
        }
        let loader = loader::Loader::start(state_dir)?;
        let snapshot = loader
            .run(|s| Snapshot::load(s))
            .map_err(|reason| RunError::File { path: state_dir.to_path_buf(), reason })??;
        let retention = audit::Retention {
            audit_days: config.audit.retention_days,
            coalesce_seconds: config.audit.coalesce_seconds,
            sessions: config.server.session_limits(),
        };
        let audit = audit::AuditLog::start(state_dir, retention)?;
        let s = &config.server;
        let (exports, rescores, signin_failures) = (
            RateLimiter::new(s.exports_per_minute, Duration::from_secs(60)),
            RateLimiter::new(s.rescores_per_hour, Duration::from_secs(3600)),
            RateLimiter::new(s.signin_failures_per_10_minutes, Duration::from_secs(600)),
        );
        Ok(AppState {
            inner: Arc::new(Shared {
                config,
                state_dir: state_dir.to_path_buf(),
                key_file,
                db,
                snapshot: RwLock::new(Arc::new(snapshot)),
                older_runs: Mutex::new(Vec::new()),
                loader,
                token_cache: RwLock::new(HashMap::new()),
                audit,
                metrics: metrics::Metrics::default(),
                rescoring: Arc::new(tokio::sync::Mutex::new(())),
                options,
                openapi: OnceLock::new(),
                models: Mutex::new(HashMap::new()),
                exports,
                rescores,
                signin_failures,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The runs as they are now; hold the `Arc` for the whole request.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn cache_read(&self) -> RwLockReadGuard<'_, HashMap<SecretHash, (Principal, Instant)>> {
        self.inner.token_cache.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn cache_write(&self) -> RwLockWriteGuard<'_, HashMap<SecretHash, (Principal, Instant)>> {
        self.inner.token_cache.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-reads the registry and, when its published runs differ from the ones served, swaps the snapshot
    /// in one step. The snapshot is read and swapped on the loader thread, so reloads never race: each sees
    /// the last one's result, and a run is read once however many callers ask. Older runs held whole stay
    /// held while the registry keeps them. Call it from a blocking thread.
    pub fn reload_runs(&self) -> Result<(), RunError> {
        let state = self.clone();
        let swap = move |s: &mut Store| -> Result<(), RunError> {
            let current = state.snapshot();
            let next = current.with_new_run(s)?;
            let ids = |x: &Snapshot| x.kept.iter().map(|v| v.run_id().to_string()).collect::<Vec<_>>();
            if ids(&next) == ids(&current) {
                return Ok(());
            }
            state.older_runs().retain(|v| next.kept_run(v.run_id()).is_some());
            *state.inner.snapshot.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
            Ok(())
        };
        self.inner.loader.run(swap).map_err(|reason| RunError::File { path: self.inner.state_dir.clone(), reason })?
    }

    fn older_runs(&self) -> std::sync::MutexGuard<'_, Vec<Arc<RunView>>> {
        self.inner.older_runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An older run held in memory, moved to the front (most recently used).
    fn held_older_run(&self, id: &str) -> Option<Arc<RunView>> {
        let mut held = self.older_runs();
        let at = held.iter().position(|v| v.run_id() == id)?;
        let view = held.remove(at);
        held.insert(0, view.clone());
        Some(view)
    }

    /// The run a request reads: the current one when it names none (or names it), else a kept older run,
    /// read whole on the loader thread when it is not among the [`OLDER_RUNS_HELD`] last named. Requests
    /// for the same run while it is read wait for that one read (the loader checks again before reading).
    pub async fn run_view(&self, snapshot: &Snapshot, run: Option<&str>) -> Result<Arc<RunView>, ApiError> {
        let current = snapshot.current().ok_or(ApiError::NoRun)?;
        let Some(id) = run.filter(|id| *id != current.run_id()) else { return Ok(current.clone()) };
        let record = snapshot.kept_run(id).ok_or_else(|| ApiError::NotFound { what: format!("run {id}") })?.clone();
        if let Some(view) = self.held_older_run(id) {
            return Ok(view);
        }
        let state = self.clone();
        let load = move |s: &mut Store| -> Result<Arc<RunView>, RunError> {
            if let Some(view) = state.held_older_run(&record.run_id) {
                return Ok(view);
            }
            let view = Arc::new(RunView::new(RunData::load(s, record)?));
            let mut held = state.older_runs();
            held.insert(0, view.clone());
            held.truncate(OLDER_RUNS_HELD);
            Ok(view)
        };
        // Waited for without a thread: the loader answers through a channel.
        self.inner.loader.call(load).await.map_err(ApiError::internal)?.map_err(ApiError::internal)
    }

    /// Makes sure a run that has been published is served (reloading the runs when the registry lists it
    /// and this server does not serve it yet), so that a job answered as succeeded is a run this server
    /// serves. A run the registry no longer keeps costs one look at the registry.
    pub async fn serve_published(&self, run_id: &str) -> Result<(), ApiError> {
        if self.snapshot().kept_run(run_id).is_some() {
            return Ok(());
        }
        let id = run_id.to_string();
        let listed = self.store(move |s| Ok(s.published()?.iter().any(|r| r.run_id == id))).await?;
        if !listed {
            return Ok(());
        }
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.reload_runs())
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    /// Runs `f` with the state database on a blocking thread.
    pub async fn store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StateError> + Send + 'static,
    {
        self.database(f).await.map_err(|e| match e {
            DbError::State(s) => ApiError::from(s),
            DbError::Panicked(p) => ApiError::internal(p),
        })
    }

    /// [`Self::store`] for work outside a request (the alert pushes), with the database's own error.
    pub async fn database<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StateError> + Send + 'static,
    {
        self.inner.db.run(f).await
    }

    /// Writes an audit entry for a request by `who` (none for a caller without a valid token) and waits until
    /// it is durable.
    pub async fn audit(
        &self,
        who: Option<&Principal>,
        method: &str,
        route: &str,
        filters: String,
        rows: u64,
        status: u16,
    ) -> Result<(), ApiError> {
        let entry = AuditEntry {
            at: Timestamp::now(),
            token_id: who.map(|p| p.token_id),
            token_name: who.map_or_else(|| "(no valid token)".to_string(), |p| p.name.clone()),
            role: who.map(|p| p.role),
            region: who.map_or(RegionPrefix::ALL, |p| p.region),
            method: method.to_string(),
            route: route.to_string(),
            filters,
            rows,
            status,
        };
        self.inner.audit.write(entry).await.map_err(ApiError::internal)
    }

    /// Waits until every audit entry and count handed to the writer so far is committed.
    pub async fn flush_audit(&self) -> Result<(), ApiError> {
        self.inner.audit.flush().await.map_err(ApiError::internal)
    }

    /// Writes an audit entry for a successful read of scores by `caller`.
    pub async fn audit_read(&self, caller: &Caller, route: &str, filters: String, rows: u64) -> Result<(), ApiError> {
        self.audit(Some(&caller.0), "GET", route, filters, rows, 200).await
    }

    /// A model by id (names only: letters, digits, `.`, `_`, `-`), read once on a blocking thread and kept.
    pub async fn model(&self, id: &str) -> Result<Arc<ModelInfo>, ApiError> {
        artifact::check_model_id(id).map_err(|_| ApiError::NotFound { what: format!("model {id}") })?;
        if let Some(m) = self.inner.models.lock().unwrap_or_else(PoisonError::into_inner).get(id) {
            return Ok(m.clone());
        }
        let (models, owned) = (self.inner.config.models.clone(), id.to_string());
        let read = tokio::task::spawn_blocking(move || -> Result<ModelInfo, wagewatch_core::model::ModelError> {
            let model = artifact::load(&models, &owned)?;
            let card = |lang: artifact::CardLanguage| {
                std::fs::read_to_string(artifact::model_dir(&models, &owned).join(lang.file_name())).ok()
            };
            let card_markdown = card(artifact::CardLanguage::English).unwrap_or_default();
            let card_markdown_zh = card(artifact::CardLanguage::Chinese);
            let backtest = artifact::backtest_report(&models, &owned);
            Ok(ModelInfo { model, card_markdown, card_markdown_zh, backtest })
        })
        .await
        .map_err(ApiError::internal)?;
        let info = Arc::new(read.map_err(|e| match e {
            wagewatch_core::model::ModelError::UnknownModel { .. } => {
                ApiError::NotFound { what: format!("model {id}") }
            }
            other => ApiError::internal(other),
        })?);
        self.inner.models.lock().unwrap_or_else(PoisonError::into_inner).insert(id.to_string(), info.clone());
        Ok(info)
    }

    /// A backtest chart of a model (an SVG file written by `wagewatch backtest`), read on a blocking thread.
    pub async fn model_chart(&self, id: &str, chart: &'static str) -> Result<Option<String>, ApiError> {
        artifact::check_model_id(id).map_err(|_| ApiError::NotFound { what: format!("model {id}") })?;
        let path = artifact::model_dir(&self.inner.config.models, id).join(chart);
        tokio::task::spawn_blocking(move || std::fs::read_to_string(path).ok()).await.map_err(ApiError::internal)
    }

    /// Counts an export by `caller`; `RateLimited` past the configured rate.
    pub fn check_export_rate(&self, caller: &Caller) -> Result<(), ApiError> {
        self.inner
            .exports
            .check(&caller.0.token_id, Instant::now())
            .map_err(|retry_after_seconds| ApiError::RateLimited { retry_after_seconds })
    }

    /// Whether sign-ins from `client` are refused for now (too many failures).
    pub fn signin_refused(&self, client: &str) -> Option<u64> {
        self.inner.signin_failures.exhausted(&client.to_string(), Instant::now())
    }

    /// Counts a failed sign-in from `client`.
    pub fn signin_failed(&self, client: &str) {
        let _ = self.inner.signin_failures.check(&client.to_string(), Instant::now());
    }

    /// Checks that the state database can be written (for readiness).
    pub async fn check_writable(&self) -> Result<(), ApiError> {
        self.store(|s| s.check_writable(Timestamp::now())).await.map_err(|e| {
            tracing::error!(error = %e, "the state database cannot be written");
            ApiError::NotWritable
        })
    }

    /// Starts a re-score in the background for `caller` and returns its job; `Busy` when one is running,
    /// `RateLimited` past the configured rate.
    pub async fn start_rescore_for(
        &self,
        caller: &Caller,
        as_of: Date,
        model_id: Option<String>,
    ) -> Result<JobRecord, ApiError> {
        self.inner
            .rescores
            .check(&caller.0.token_id, Instant::now())
            .map_err(|retry_after_seconds| ApiError::RateLimited { retry_after_seconds })?;
        self.start_rescore(as_of, model_id, &caller.0.name, "api").await
    }

    /// Starts a re-score in the background and returns its job; `Busy` when one is running.
    pub async fn start_rescore(
        &self,
        as_of: Date,
        model_id: Option<String>,
        requested_by: &str,
        trigger: &str,
    ) -> Result<JobRecord, ApiError> {
        let guard = self.inner.rescoring.clone().try_lock_owned().map_err(|_| ApiError::Busy)?;
        let job = JobRecord {
            job_id: crate::state::random_id("job-"),
            requested_by: requested_by.to_string(),
            as_of: Some(as_of),
            model_id: model_id.clone(),
            created_at: Timestamp::now(),
            finished_at: None,
            status: JobStatus::Queued,
            run_id: None,
            error: None,
        };
        let stored = job.clone();
        self.store(move |s| s.insert_job(&stored)).await?;
        let state = self.clone();
        let job_id = job.job_id.clone();
        let trigger = trigger.to_string();
        tokio::spawn(async move {
            let _guard = guard;
            let worker = state.clone();
            let result = tokio::task::spawn_blocking(move || {
                worker.rescore_blocking(&job_id, as_of, model_id.as_deref(), &trigger)
            })
            .await;
            if let Err(panic) = result {
                tracing::error!(error = %panic, "the re-score panicked; the current run stays served");
            }
        });
        Ok(job)
    }

    /// A whole re-score, waited for on this (blocking) thread: run by the configured [`Rescorer`], then the
    /// runs are reloaded. The full error goes to the log; the job records it with cell values redacted.
    fn rescore_blocking(&self, job_id: &str, as_of: Date, model_id: Option<&str>, trigger: &str) {
        let job = runs::JobRequest { job_id, as_of, model_id, trigger };
        let outcome = match &self.inner.options.rescorer {
            Rescorer::InProcess => self.rescore_here(&job).map(|record| record.run_id),
            Rescorer::Process { program, args } => self.rescore_in_child(program, args, &job),
        };
        match outcome {
            Ok(run_id) => {
                if let Err(e) = self.reload_runs() {
                    tracing::error!(error = %e, "published run could not be loaded");
                }
                tracing::info!(run = %run_id, "run published");
            }
            Err(e) => {
                tracing::error!(job = %job_id, error = %e, "re-score failed; the current run stays served");
                // A failure before the job recorded anything (the state could not be opened) is recorded here.
                let reason = e.redacted();
                let _ = self.inner.db.run_blocking(|s| match s.job(job_id)? {
                    Some(j) if matches!(j.status, JobStatus::Queued | JobStatus::Running) => {
                        s.update_job(job_id, JobStatus::Failed, None, Some(&reason))
                    }
                    _ => Ok(()),
                });
            }
        }
    }

    fn rescore_here(&self, job: &runs::JobRequest) -> Result<crate::state::RunRecord, RunError> {
        let mut store = Store::open_existing(&self.inner.state_dir)?;
        runs::run_job(&mut store, &self.inner.config, &self.inner.key_file, job)
    }

    /// Runs the job in a child process and waits for it; a child that ends without recording the job's
    /// outcome (killed, crashed) has it recorded as failed here. Returns the published run's id.
    fn rescore_in_child(
        &self,
        program: &Path,
        args: &[std::ffi::OsString],
        job: &runs::JobRequest,
    ) -> Result<String, RunError> {
        let mut command = std::process::Command::new(program);
        command.args(args).arg("--as-of").arg(job.as_of.to_string()).arg("--trigger").arg(job.trigger);
        command.arg("--job").arg(job.job_id);
        if let Some(model) = job.model_id {
            command.arg("--model").arg(model);
        }
        let status = command.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).status();
        let recorded = self.inner.db.run_blocking(|s| s.job(job.job_id)).map_err(|e| RunError::Job {
            reason: format!("the re-score process ended but its job could not be read: {e}"),
        })?;
        match (status, recorded) {
            (_, Some(JobRecord { status: JobStatus::Succeeded, run_id: Some(run_id), .. })) => Ok(run_id),
            (_, Some(JobRecord { status: JobStatus::Failed, error, .. })) => {
                Err(RunError::Job { reason: error.unwrap_or_default() })
            }
            (status, _) => {
                let reason = match status {
                    Ok(status) => format!("the re-score process ended ({status}) without recording an outcome"),
                    Err(e) => format!("the re-score process could not start: {e}"),
                };
                let _ =
                    self.inner.db.run_blocking(|s| s.update_job(job.job_id, JobStatus::Failed, None, Some(&reason)));
                Err(RunError::Job { reason })
            }
        }
    }

    /// Starts the registry watch on the current runtime: every `registry_poll_seconds` it compares the
    /// registry's published runs with the ones served and reloads when they differ, so a run published by
    /// any process (`wagewatch rescore`, a cron job, another server) is served within seconds.
    pub fn spawn_registry_watch(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.clone().watch_registry())
    }

    /// Trains a challenger as of `as_of` (the schedule's retraining), in a child `wagewatch retrain` when
    /// re-scores run in child processes, else here; the outcome is logged, the champion left as it is.
    fn retrain(&self, as_of: Date) {
        let outcome = match &self.inner.options.rescorer {
            Rescorer::Process { program, args } => {
                let mut args = args.clone();
                if let Some(first) = args.first_mut() {
                    *first = "retrain".into();
                }
                std::process::Command::new(program)
                    .args(args)
                    .arg("--as-of")
                    .arg(as_of.to_string())
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .status()
                    .map_err(|e| e.to_string())
                    .and_then(|s| if s.success() { Ok(()) } else { Err(format!("wagewatch retrain ended with {s}")) })
            }
            Rescorer::InProcess => (|| {
                let key = wagewatch_core::ingest::Pseudonymizer::from_env_or_file(&self.inner.key_file)
                    .map_err(|e| e.to_string())?;
                let mut store = Store::open_existing(&self.inner.state_dir).map_err(|e| e.to_string())?;
                let request = crate::champion::RetrainRequest { as_of, recent_months: 3 };
                crate::champion::retrain(&mut store, &self.inner.config, &key, &request)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })(),
        };
        match outcome {
            Ok(()) => tracing::info!(%as_of, "scheduled retraining registered a challenger"),
            Err(e) => tracing::warn!(%as_of, error = %e, "scheduled retraining did not register a challenger"),
        }
    }

    async fn watch_registry(self) {
        let every = Duration::from_secs(self.inner.config.server.registry_poll_seconds);
        loop {
            tokio::time::sleep(every).await;
            let Ok(listed) = self.store(|s| s.published()).await else { continue };
            let served = self.snapshot();
            if listed.iter().map(|r| r.run_id.as_str()).eq(served.kept.iter().map(|v| v.run_id())) {
                continue;
            }
            let state = self.clone();
            match tokio::task::spawn_blocking(move || state.reload_runs()).await {
                Ok(Ok(())) => tracing::info!(run = ?listed.first().map(|r| &r.run_id), "published runs reloaded"),
                Ok(Err(e)) => tracing::error!(error = %e, "published runs could not be loaded"),
                Err(e) => tracing::error!(error = %e, "reloading the runs panicked"),
            }
        }
    }

    /// Starts pushing alerts on the current runtime: every `[alerts] deliver_every_seconds` it sends the
    /// pushes that are due ([`crate::webhooks::deliver_due`]); `serve` calls this when webhooks are configured.
    pub fn spawn_deliveries(&self) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            let every = Duration::from_secs(state.inner.config.alerts.deliver_every_seconds);
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = crate::webhooks::deliver_due(&state, Timestamp::now()).await {
                    tracing::error!(error = %e, "pushes due could not be handled");
                }
            }
        })
    }

    /// Starts the scheduler on the current runtime: it checks the schedule and the data folder every
    /// `check_every_seconds` and re-scores when due (`serve` calls this when the schedule is enabled).
    pub fn spawn_scheduler(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.clone().run_schedule())
    }

    async fn run_schedule(self) {
        let config = self.inner.config.schedule.clone();
        let data = self.inner.config.data.clone();
        let stamp_of = |data: PathBuf| async move {
            tokio::task::spawn_blocking(move || schedule::data_stamp(&data)).await.unwrap_or_default()
        };
        let mut stamp = stamp_of(data.clone()).await;
        let retraining = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut last_retrain: Option<Timestamp> = None;
        loop {
            tokio::time::sleep(Duration::from_secs(config.check_every_seconds)).await;
            let now = Timestamp::now();
            if !retraining.load(std::sync::atomic::Ordering::Acquire) {
                let newest =
                    self.store(|s| s.models()).await.ok().and_then(|m| m.iter().map(|m| m.registered_at).max());
                if schedule::retrain_due(config.retrain_every_days, newest, last_retrain, now) {
                    last_retrain = Some(now);
                    retraining.store(true, std::sync::atomic::Ordering::Release);
                    let (state, flag) = (self.clone(), retraining.clone());
                    tokio::task::spawn_blocking(move || {
                        state.retrain(Timestamp(now.0 + 8 * 3600).date());
                        flag.store(false, std::sync::atomic::Ordering::Release);
                    });
                }
            }
            let fresh = stamp_of(data.clone()).await;
            let changed = fresh != stamp;
            let last = self.store(|s| s.runs()).await.ok().and_then(|r| r.first().map(|r| r.created_at));
            let Some(due) = schedule::due(&config, last, now, changed) else { continue };
            // The as-of date is today in China (UTC+8).
            let today = Timestamp(now.0 + 8 * 3600).date();
            match self.start_rescore(today, None, "scheduler", due.trigger()).await {
                Ok(job) => {
                    stamp = fresh;
                    tracing::info!(job = %job.job_id, trigger = due.trigger(), "scheduled re-score started");
                }
                Err(ApiError::Busy) => {}
                Err(e) => tracing::error!(error = %e, "scheduled re-score could not start"),
            }
        }
    }
}

/// Times every routed request, answers 503 past the timeout, and counts it for `/metrics`.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = request.method().clone();
    let privileged_secret =
        privileged(&method, &route).then(|| auth::bearer(request.headers()).ok().map(str::to_string)).flatten();
    let started = Instant::now();
    let seconds = state.inner.config.server.request_timeout_seconds;
    let response = match tokio::time::timeout(Duration::from_secs(seconds), next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout { seconds }.into_response(),
    };
    let response = security::with_headers(response);
    let status = response.status();
    state.inner.metrics.observe(&route, status.as_u16(), started.elapsed().as_secs_f64());
    if let Some(secret) = privileged_secret.filter(|_| status.is_client_error()) {
        audit_refusal(&state, &secret, method.as_str(), &route, status.as_u16()).await;
    }
    response
}

/// Whether a route changes state or reads who-did-what: its refusals are audited too.
fn privileged(method: &Method, route: &str) -> bool {
    route.starts_with("/v1/") && (method != Method::GET || route == "/v1/tokens" || route == "/v1/audit")
}

/// Audits a privileged request that was refused, when a valid token made it (a stranger's refusals are
/// counted in the metrics only, so they cannot fill the log).
async fn audit_refusal(state: &AppState, secret: &str, method: &str, route: &str, status: u16) {
    let Ok(Some(principal)) = state.principal(secret).await else { return };
    if let Err(e) = state.audit(Some(&principal), method, route, "refused".to_string(), 0, status).await {
        tracing::error!(error = %e, route, "cannot audit a refused request");
    }
}

/// Unknown paths answer JSON too.
async fn no_route(request: Request) -> Response {
    let e = ApiError::NoRoute { method: request.method().to_string(), path: request.uri().path().to_string() };
    security::with_headers(e.into_response())
}

/// The whole API: every route, its OpenAPI description, the limits and the metrics.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The API with `pages` (the dashboard's routes) merged in, behind the same limits, security headers,
/// metrics and fallbacks.
pub fn router_with(state: AppState, pages: Router<AppState>) -> Router {
    let (router, mut api) = OpenApiRouter::with_openapi(routes::api_doc())
        .merge(routes::watchlist::router())
        .merge(routes::alerts::router())
        .merge(routes::plans::router())
        .merge(routes::entities::router())
        .merge(routes::runs::router())
        .merge(routes::models::router())
        .merge(routes::inspections::router())
        .merge(routes::admin::router())
        .merge(routes::ops::router())
        .split_for_parts();
    api.components
        .get_or_insert_with(Default::default)
        .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    let _ = state.inner.openapi.set(routes::complete_document(&api, &state.inner.config.server));
    let server = &state.inner.config.server;
    let shed = tower::ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async { ApiError::Overloaded }))
        .load_shed()
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(server.max_in_flight));
    let app = router
        .merge(pages)
        .route_layer(middleware::from_fn_with_state(state.clone(), observe))
        .fallback(no_route)
        .method_not_allowed_fallback(|request: Request| async move {
            let (method, path) = (request.method().to_string(), request.uri().path().to_string());
            security::with_headers(ApiError::MethodNotAllowed { method, path }.into_response())
        })
        .layer(axum::extract::DefaultBodyLimit::max(server.body_limit_bytes));
    app.layer(shed).with_state(state)
}

/// Threads for blocking work: the database pool's calls (8 at most at once), exports, run loads and
/// re-scores. Each thread that allocates gets an allocator arena of its own: a few long-lived threads
/// keep resident memory flat.
const BLOCKING_THREADS: usize = 16;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot listen on {address}: {source}")]
    Bind { address: String, source: std::io::Error },
}

/// Listens on `address` and serves until ctrl-c or SIGTERM, on a runtime of its own: the command line's
/// way in. `on_listening` is called once the socket is bound.
pub fn serve_blocking(
    state: AppState,
    app: Router,
    address: &str,
    on_listening: impl FnOnce(),
) -> Result<(), ServeError> {
    // Blocking work waits for one of the database pool's few connections anyway: a small, long-lived set
    // of blocking threads serves it without creating and ending threads under load.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_keep_alive(Duration::from_secs(300))
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ServeError::Bind { address: address.to_string(), source })?;
        on_listening();
        serve(state, app, listener).await;
        Ok(())
    })
}

/// Serves until ctrl-c or SIGTERM, then lets requests in flight finish (for up to the request timeout).
/// Starts the registry watch, the memory release when the host gives one, and the scheduler when the
/// configuration enables it.
///
/// Each connection is served by hyper's HTTP/1 with a header-read timeout (a client must send a whole
/// header within it, and an idle keep-alive connection is closed after it) and counts against the
/// connection cap and its address's cap; a connection over either is closed at once.
pub async fn serve(state: AppState, app: Router, listener: tokio::net::TcpListener) {
    if state.inner.config.schedule.enabled {
        state.spawn_scheduler();
    }
    state.spawn_registry_watch();
    if !state.inner.config.alerts.webhooks.is_empty() {
        state.spawn_deliveries();
    }
    if let Some(release) = state.inner.options.release_memory {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(RELEASE_MEMORY_EVERY);
            loop {
                every.tick().await;
                let _ = tokio::task::spawn_blocking(release).await;
            }
        });
    }
    let server = state.inner.config.server.clone();
    let connections = Arc::new(tokio::sync::Semaphore::new(server.max_connections));
    let by_address = limits::ConnectionsByAddress::new(server.max_connections_per_address);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(server.header_read_timeout_seconds));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let (Ok(permit), Some(address_permit)) = (connections.clone().try_acquire_owned(), by_address.admit(peer.ip()))
        else {
            state.inner.metrics.refused_connection();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = graceful.watch(builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop((permit, address_permit));
        });
    }
    tracing::info!("shutting down: finishing requests in flight");
    let grace = Duration::from_secs(server.request_timeout_seconds + 1);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running after the grace period were cut off");
    }
    // The counts of repeated reads answered last are committed before the process ends.
    if let Err(e) = state.flush_audit().await {
        tracing::error!(error = ?e, "the audit log could not be flushed at shutdown");
    }
}

/// The client address of a request served by [`serve`] (absent in in-process tests).
pub fn client_address(extensions: &axum::http::Extensions) -> String {
    extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(|| "local".to_string(), |c| c.0.ip().to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
