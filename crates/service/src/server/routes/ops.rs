//! `/healthz`, `/readyz`, `/metrics` and `/openapi.json`: for load balancers, monitoring and clients.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::wire::{Health, Ready};
use crate::server::AppState;
use crate::state::Timestamp;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "Up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// A run is loaded and served, and the state database can be written (503 otherwise: no run published
/// yet, or the disk full, or the database read-only or locked).
#[utoipa::path(
    get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "No run yet, or the state database cannot be written", body = Ready)
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Ready>) {
    let run_id = state.snapshot().current().map(|v| v.run_id().to_string());
    let writable = state.check_writable().await.is_ok();
    let ready = run_id.is_some() && writable;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Ready { ready, run_id, state_writable: writable }))
}

/// Prometheus metrics: requests by route and status, latency histograms, the current run's age and drift.
#[utoipa::path(
    get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let snapshot = state.snapshot();
    let age = snapshot.current().map_or(-1.0, |v| (Timestamp::now().0 - v.data.record.created_at.0) as f64);
    let drift = snapshot.current().and_then(|v| v.data.record.drift);
    let text = state.inner.metrics.render(&[
        (
            "wagewatch_current_run_drifted",
            "1 when the served run's feature or score PSI is above the drift threshold, 0 when not, -1 when unmeasured.",
            drift.map_or(-1.0, |d| f64::from(u8::from(d.drifted()))),
        ),
        (
            "wagewatch_current_run_drift_training_psi",
            "The largest PSI of any feature or the score of the served run against the model's training panel (-1: unmeasured).",
            drift.and_then(|d| d.training).unwrap_or(-1.0),
        ),
        (
            "wagewatch_current_run_drift_previous_psi",
            "The largest PSI of any feature or the score of the served run against the previous run (-1: unmeasured).",
            drift.and_then(|d| d.previous).unwrap_or(-1.0),
        ),
        ("wagewatch_current_run_age_seconds", "Seconds since the served run was created (-1: none).", age),
        (
            "wagewatch_runs_kept",
            "Published runs kept (their scores in memory, for history).",
            snapshot.kept.len() as f64,
        ),
    ]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json", body = Object))
)]
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    let json = state.inner.openapi.get().cloned().unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], json)
}
