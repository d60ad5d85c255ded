//! `GET /v1/runs`, `GET /v1/runs/{id}`, `POST /v1/runs` (start a re-score) and `GET /v1/jobs/{id}`.
//!
//! Why a re-score failed is shown to admins only, and never quotes a cell of the data (the registry holds
//! the redacted message; the full one is in the server's log).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::query;
use crate::server::extract::{ApiJson, ApiPath};
use crate::server::wire::{run_id_ok, DriftOut, ErrorBody, JobOut, OutcomesOut, RescoreIn, RunDetail, RunList, RunOut};
use crate::server::{ApiError, AppState, Caller};
use crate::state::{DriftAgainst, JobStatus, Role, Timestamp};
use wagewatch_core::contract::Date;
use wagewatch_core::model::artifact;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_runs, start_rescore)).routes(routes!(get_run)).routes(routes!(get_job))
}

/// A run as `caller` may see it: the error only for admins.
fn run_for(caller: &Caller, r: &crate::state::RunRecord, current: Option<&str>) -> RunOut {
    let mut out = RunOut::from_record(r, current);
    if caller.0.role != Role::Admin {
        out.error = None;
    }
    out
}

/// Every run in the registry, newest first, failed attempts included.
#[utoipa::path(
    get, path = "/v1/runs", tag = "runs",
    security(("bearer" = [])),
    responses((status = 200, description = "The runs (errors of failed ones for admins only)", body = RunList))
)]
pub async fn list_runs(State(state): State<AppState>, caller: Caller) -> Result<Json<RunList>, ApiError> {
    let current = state.snapshot().current().map(|v| v.run_id().to_string());
    let runs = state.store(|s| s.runs()).await?;
    Ok(Json(RunList {
        runs: runs.iter().map(|r| run_for(&caller, r, current.as_deref())).collect(),
        current_run_id: current,
    }))
}

/// One run.
#[utoipa::path(
    get, path = "/v1/runs/{id}", tag = "runs",
    params(("id" = String, Path, description = "The run id", pattern = "^[A-Za-z0-9_-]{1,64}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The run, with its drift per feature", body = RunDetail),
        (status = 400, description = "Not a run id", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody)
    )
)]
pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RunDetail>, ApiError> {
    if !run_id_ok(&id) {
        return Err(ApiError::BadParameter { name: "id", reason: "not a run id".into() });
    }
    let current = state.snapshot().current().map(|v| v.run_id().to_string());
    let lookup = id.clone();
    let (run, drift, outcome) = state
        .store(move |s| {
            let Some(run) = s.run(&lookup)? else { return Ok(None) };
            Ok(Some((run, s.run_drift(&lookup)?, s.outcome(&lookup)?)))
        })
        .await?
        .ok_or_else(|| ApiError::NotFound { what: format!("run {id}") })?;
    Ok(Json(RunDetail {
        run: run_for(&caller, &run, current.as_deref()),
        drift_against_training: DriftOut::from_rows(&drift, DriftAgainst::Training),
        drift_against_previous: DriftOut::from_rows(&drift, DriftAgainst::Previous),
        outcomes: outcome.as_ref().map(OutcomesOut::from_outcome),
    }))
}

/// Starts a re-score of every entity (admins of all regions); poll the returned job.
#[utoipa::path(
    post, path = "/v1/runs", tag = "runs",
    request_body = RescoreIn,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The re-score started", body = JobOut),
        (status = 400, description = "The body is invalid", body = ErrorBody),
        (status = 403, description = "Not an admin of all regions", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 409, description = "A re-score is already running", body = ErrorBody),
        (status = 422, description = "as_of lies outside 1990 to 2100", body = ErrorBody),
        (status = 429, description = "Too many re-scores by this token: see Retry-After", body = ErrorBody)
    )
)]
pub async fn start_rescore(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RescoreIn>,
) -> Result<(StatusCode, Json<JobOut>), ApiError> {
    caller.require_national_admin()?;
    let as_of = match body.as_of.as_deref() {
        Some(d) => {
            let date =
                Date::parse(d).ok_or_else(|| ApiError::BadBody { reason: "as_of must be a date YYYY-MM-DD".into() })?;
            if !date.in_contract_range() {
                return Err(ApiError::Unprocessable { reason: format!("as_of {date} lies outside 1990 to 2100") });
            }
            date
        }
        None => Timestamp(Timestamp::now().0 + 8 * 3600).date(),
    };
    if let Some(m) = &body.model_id {
        artifact::check_model_id(m).map_err(|e| ApiError::BadBody { reason: e.to_string() })?;
        state.model(m).await?;
    }
    let job = state.start_rescore_for(&caller, as_of, body.model_id.clone()).await?;
    let filters = query::audited([("as_of", Some(as_of.to_string())), ("model_id", body.model_id)]);
    state.audit(Some(&caller.0), "POST", "/v1/runs", filters, 0, 202).await?;
    Ok((StatusCode::ACCEPTED, Json(JobOut::from_record(&job))))
}

/// A re-score job.
#[utoipa::path(
    get, path = "/v1/jobs/{id}", tag = "runs",
    params(("id" = String, Path, description = "The job id", pattern = "^job-[0-9a-f]{16}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job (its error for admins only)", body = JobOut),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody)
    )
)]
pub async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<JobOut>, ApiError> {
    let well_formed = id
        .strip_prefix("job-")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if !well_formed {
        return Err(ApiError::BadParameter { name: "id", reason: "not a job id".into() });
    }
    let lookup = id.clone();
    let job =
        state.store(move |s| s.job(&lookup)).await?.ok_or_else(|| ApiError::NotFound { what: format!("job {id}") })?;
    if let Some(run_id) = job.run_id.as_deref().filter(|_| job.status == JobStatus::Succeeded) {
        state.serve_published(run_id).await?;
    }
    let mut out = JobOut::from_record(&job);
    if caller.0.role != Role::Admin {
        out.error = None;
    }
    Ok(Json(out))
}
