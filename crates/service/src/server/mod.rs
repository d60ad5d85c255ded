//! The HTTP server (`wagewatch serve`): the inspectors' API over the published runs, with roles, regions,
//! an audit log, Prometheus metrics, an OpenAPI document generated from the handlers, scheduled re-scores
//! and graceful shutdown; and the supervisors' dashboard (HTML) beside it.
//!
//! Every path is registered in [`router`], grouped by resource (one module each under `routes`).

mod audit;
mod auth;
mod error;
mod extract;
mod metrics;
pub mod routes;
mod snapshot;
pub mod wire;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::runs::{self, schedule, RunError};
use crate::state::{AuditEntry, JobRecord, JobStatus, Principal, RunRecord, StateError, Store, Timestamp};
use wagewatch_core::contract::Date;
use wagewatch_core::ingest::Pseudonymizer;

pub use auth::{Caller, TOKEN_CACHE_TTL};
pub use error::{ApiError, ERROR_CODES};
pub use snapshot::{RunView, Snapshot};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Run(#[from] RunError),
}

/// What every handler shares. Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    config: Config,
    state_dir: PathBuf,
    /// The pseudonymisation key file, for re-scores that read the dataset.
    key_file: PathBuf,
    /// The state database, for short requests (tokens, registry, inspections). Re-scores and the audit
    /// writer use connections of their own.
    store: Mutex<Store>,
    /// The published runs; replaced whole when a run is published.
    snapshot: RwLock<Arc<Snapshot>>,
    token_cache: RwLock<HashMap<String, (Option<Principal>, Instant)>>,
    audit: audit::AuditLog,
    metrics: metrics::Metrics,
    /// Held while a re-score runs: one at a time.
    rescoring: Arc<tokio::sync::Mutex<()>>,
    openapi: OnceLock<String>,
    models: Mutex<HashMap<String, Arc<wagewatch_core::model::RiskModel>>>,
}

impl AppState {
    /// Opens the state folder, loads every kept run and starts the audit writer.
    pub fn open(config: Config, state_dir: &Path, key_file: PathBuf) -> Result<AppState, ServerError> {
        let mut store = Store::open(state_dir)?;
        let abandoned = store.fail_abandoned_jobs()?;
        if abandoned > 0 {
            tracing::warn!(abandoned, "jobs left running by a stopped server were marked failed");
        }
        let snapshot = Snapshot::load(&store)?;
        let audit = audit::AuditLog::start(state_dir)?;
        Ok(AppState {
            inner: Arc::new(Shared {
                config,
                state_dir: state_dir.to_path_buf(),
                key_file,
                store: Mutex::new(store),
                snapshot: RwLock::new(Arc::new(snapshot)),
                token_cache: RwLock::new(HashMap::new()),
                audit,
                metrics: metrics::Metrics::default(),
                rescoring: Arc::new(tokio::sync::Mutex::new(())),
                openapi: OnceLock::new(),
                models: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The runs as they are now; hold the `Arc` for the whole request.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.read().expect("snapshot lock").clone()
    }

    /// Re-reads the registry after a publish and swaps the snapshot in one step.
    pub fn reload_runs(&self) -> Result<(), RunError> {
        let next = {
            let store = self.inner.store.lock().expect("store lock");
            self.snapshot().with_new_run(&store)?
        };
        *self.inner.snapshot.write().expect("snapshot lock") = Arc::new(next);
        Ok(())
    }

    /// Runs `f` with the state database.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, StateError>) -> Result<T, ApiError> {
        let mut store = self.inner.store.lock().expect("store lock");
        f(&mut store).map_err(ApiError::from)
    }

    /// Writes an audit entry for a read of scores and waits until it is durable.
    pub async fn audit(
        &self,
        caller: &Caller,
        method: &str,
        route: &str,
        filters: String,
        rows: u64,
    ) -> Result<(), ApiError> {
        let entry = AuditEntry {
            at: Timestamp::now(),
            token_id: Some(caller.0.token_id),
            token_name: caller.0.name.clone(),
            role: Some(caller.0.role),
            method: method.to_string(),
            route: route.to_string(),
            filters,
            rows,
            status: 200,
        };
        self.inner.audit.write(entry).await.map_err(ApiError::internal)
    }

    /// A model by id, read once and cached.
    pub fn model(&self, id: &str) -> Result<Arc<wagewatch_core::model::RiskModel>, ApiError> {
        if let Some(m) = self.inner.models.lock().expect("models lock").get(id) {
            return Ok(m.clone());
        }
        let m = wagewatch_core::model::artifact::load(&self.inner.config.models, id).map_err(|e| match e {
            wagewatch_core::model::ModelError::UnknownModel { .. } => {
                ApiError::NotFound { what: format!("model {id}") }
            }
            other => ApiError::internal(other),
        })?;
        let m = Arc::new(m);
        self.inner.models.lock().expect("models lock").insert(id.to_string(), m.clone());
        Ok(m)
    }

    /// Starts a re-score in the background and returns its job; `Busy` when one is running.
    pub fn start_rescore(
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
        self.with_store(|s| s.insert_job(&job))?;
        let state = self.clone();
        let job_id = job.job_id.clone();
        let trigger = trigger.to_string();
        tokio::spawn(async move {
            let _guard = guard;
            let _ = state.with_store(|s| s.update_job(&job_id, JobStatus::Running, None, None));
            let worker = state.clone();
            let result =
                tokio::task::spawn_blocking(move || worker.rescore_blocking(as_of, model_id.as_deref(), &trigger))
                    .await;
            let outcome = match result {
                Ok(Ok(record)) => Ok(record),
                Ok(Err(e)) => Err(e.to_string()),
                Err(panic) => Err(format!("the re-score panicked: {panic}")),
            };
            match outcome {
                Ok(record) => {
                    if let Err(e) = state.reload_runs() {
                        tracing::error!(error = %e, "published run could not be loaded");
                    }
                    tracing::info!(run = %record.run_id, seconds = record.seconds, "run published");
                    let _ =
                        state.with_store(|s| s.update_job(&job_id, JobStatus::Succeeded, Some(&record.run_id), None));
                }
                Err(e) => {
                    tracing::error!(job = %job_id, error = %e, "re-score failed; the current run stays served");
                    let _ = state.with_store(|s| s.update_job(&job_id, JobStatus::Failed, None, Some(&e)));
                }
            }
        });
        Ok(job)
    }

    /// A whole re-score on this thread, with its own database connection.
    fn rescore_blocking(&self, as_of: Date, model_id: Option<&str>, trigger: &str) -> Result<RunRecord, RunError> {
        let key = Pseudonymizer::from_env_or_file(&self.inner.key_file)
            .map_err(|e| RunError::File { path: self.inner.key_file.clone(), reason: e.to_string() })?;
        let mut store = Store::open(&self.inner.state_dir)?;
        runs::rescore_from_folder(&mut store, &self.inner.config, &key, as_of, model_id, trigger)
    }

    /// Starts the scheduler on the current runtime: it checks the schedule and the data folder every
    /// `check_every_seconds` and re-scores when due (`serve` calls this when the schedule is enabled).
    pub fn spawn_scheduler(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.clone().run_schedule())
    }

    async fn run_schedule(self) {
        let config = self.inner.config.schedule.clone();
        let mut stamp = schedule::data_stamp(&self.inner.config.data);
        loop {
            tokio::time::sleep(Duration::from_secs(config.check_every_seconds)).await;
            let now = Timestamp::now();
            let fresh = schedule::data_stamp(&self.inner.config.data);
            let changed = fresh != stamp;
            let last = self.with_store(|s| s.runs()).ok().and_then(|r| r.first().map(|r| r.created_at));
            let Some(due) = schedule::due(&config, last, now, changed) else { continue };
            // The as-of date is today in China (UTC+8).
            let today = Timestamp(now.0 + 8 * 3600).date();
            match self.start_rescore(today, None, "scheduler", due.trigger()) {
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
    let started = Instant::now();
    let seconds = state.inner.config.server.request_timeout_seconds;
    let response = match tokio::time::timeout(Duration::from_secs(seconds), next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout { seconds }.into_response(),
    };
    state.inner.metrics.observe(&route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// Unknown paths answer JSON too.
async fn no_route(request: Request) -> ApiError {
    ApiError::NoRoute { method: request.method().to_string(), path: request.uri().path().to_string() }
}

/// The whole API: every route, its OpenAPI description, the limits and the metrics.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The API with `pages` (the dashboard's routes) merged in, behind the same limits, metrics and fallbacks.
pub fn router_with(state: AppState, pages: Router<AppState>) -> Router {
    let (router, mut api) = OpenApiRouter::with_openapi(routes::api_doc())
        .merge(routes::watchlist::router())
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
    let json = api.to_pretty_json().expect("the OpenAPI document serialises");
    let _ = state.inner.openapi.set(json);
    let limit = state.inner.config.server.body_limit_bytes;
    router
        .merge(pages)
        .route_layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .fallback(no_route)
        .method_not_allowed_fallback(|request: Request| async move {
            ApiError::MethodNotAllowed { method: request.method().to_string(), path: request.uri().path().to_string() }
        })
        .with_state(state)
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot listen on {address}: {source}")]
    Bind { address: String, source: std::io::Error },
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

/// Listens on `address` and serves until ctrl-c or SIGTERM, on a runtime of its own: the command line's
/// way in. `on_listening` is called once the socket is bound.
pub fn serve_blocking(
    state: AppState,
    app: Router,
    address: &str,
    on_listening: impl FnOnce(),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ServeError::Bind { address: address.to_string(), source })?;
        on_listening();
        serve(state, app, listener).await.map_err(ServeError::Serve)
    })
}

/// Serves until ctrl-c or SIGTERM, then lets requests in flight finish. Starts the scheduler when the
/// configuration enables it.
pub async fn serve(state: AppState, app: Router, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    if state.inner.config.schedule.enabled {
        state.spawn_scheduler();
    }
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await
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
    tracing::info!("shutting down: finishing requests in flight");
}
