//! `GET /v1/runs`, `GET /v1/runs/{id}`, `POST /v1/runs` (start a re-score) and `GET /v1/jobs/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::extract::ApiJson;
use crate::server::wire::{ErrorBody, JobOut, RescoreIn, RunList, RunOut};
use crate::server::{ApiError, AppState, Caller};
use crate::state::{Role, Timestamp};
use wagewatch_core::contract::Date;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_runs, start_rescore)).routes(routes!(get_run)).routes(routes!(get_job))
}

/// Every run in the registry, newest first, failed attempts included.
#[utoipa::path(
    get, path = "/v1/runs", tag = "runs",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The runs", body = RunList),
        (status = 401, description = "No or bad token", body = ErrorBody)
    )
)]
pub async fn list_runs(State(state): State<AppState>, _caller: Caller) -> Result<Json<RunList>, ApiError> {
    let current = state.snapshot().current().map(|v| v.run_id().to_string());
    let runs = state.with_store(|s| s.runs())?;
    Ok(Json(RunList {
        runs: runs.iter().map(|r| RunOut::from_record(r, current.as_deref())).collect(),
        current_run_id: current,
    }))
}

/// One run.
#[utoipa::path(
    get, path = "/v1/runs/{id}", tag = "runs",
    params(("id" = String, Path, description = "The run id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The run", body = RunOut),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody)
    )
)]
pub async fn get_run(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunOut>, ApiError> {
    let current = state.snapshot().current().map(|v| v.run_id().to_string());
    let run = state.with_store(|s| s.run(&id))?.ok_or_else(|| ApiError::NotFound { what: format!("run {id}") })?;
    Ok(Json(RunOut::from_record(&run, current.as_deref())))
}

/// Starts a re-score (admins); poll the returned job.
#[utoipa::path(
    post, path = "/v1/runs", tag = "runs",
    request_body = RescoreIn,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The re-score started", body = JobOut),
        (status = 400, description = "The body is invalid", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "A re-score is already running", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody)
    )
)]
pub async fn start_rescore(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RescoreIn>,
) -> Result<(StatusCode, Json<JobOut>), ApiError> {
    caller.require(&[Role::Admin], "admin")?;
    let as_of = match body.as_of.as_deref() {
        Some(d) => {
            Date::parse(d).ok_or_else(|| ApiError::BadBody { reason: format!("as_of {d:?} is not YYYY-MM-DD") })?
        }
        None => Timestamp(Timestamp::now().0 + 8 * 3600).date(),
    };
    if let Some(m) = &body.model_id {
        state.model(m)?;
    }
    let job = state.start_rescore(as_of, body.model_id, &caller.0.name, "api")?;
    Ok((StatusCode::ACCEPTED, Json(JobOut::from_record(&job))))
}

/// A re-score job.
#[utoipa::path(
    get, path = "/v1/jobs/{id}", tag = "runs",
    params(("id" = String, Path, description = "The job id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job", body = JobOut),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody)
    )
)]
pub async fn get_job(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobOut>, ApiError> {
    let job = state.with_store(|s| s.job(&id))?.ok_or_else(|| ApiError::NotFound { what: format!("job {id}") })?;
    Ok(Json(JobOut::from_record(&job)))
}
