//! `POST /v1/inspections`: an inspector records an inspection outcome, stored durably and merged into the
//! dataset by later re-scores and training.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::extract::ApiJson;
use crate::server::wire::{ErrorBody, InspectionIn, InspectionOut};
use crate::server::{ApiError, AppState, Caller};
use crate::state::{RecordedInspection, Role, Timestamp};
use wagewatch_core::contract::{Date, Money};
use wagewatch_core::features::EntityType;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(record_inspection))
}

/// Records an inspection of an employer (and project) in the caller's region.
#[utoipa::path(
    post, path = "/v1/inspections", tag = "inspections",
    request_body = InspectionIn,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = InspectionOut),
        (status = 400, description = "The body is invalid", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not an inspector or admin", body = ErrorBody),
        (status = 404, description = "No such employer or project in the caller's region", body = ErrorBody),
        (status = 409, description = "The inspection id is already recorded", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 503, description = "No run published yet", body = ErrorBody)
    )
)]
pub async fn record_inspection(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<InspectionIn>,
) -> Result<(StatusCode, Json<InspectionOut>), ApiError> {
    caller.require(&[Role::Inspector, Role::Admin], "inspector or admin")?;
    let bad = |reason: String| ApiError::BadBody { reason };
    let id = body.inspection_id.trim();
    if id.is_empty() || id.len() > 100 {
        return Err(bad("inspection_id must have 1 to 100 characters".into()));
    }
    let inspected_on = Date::parse(&body.inspected_on)
        .filter(|d| d.in_contract_range())
        .ok_or_else(|| bad(format!("inspected_on {:?} is not a date YYYY-MM-DD", body.inspected_on)))?;
    let arrears_amount = body
        .arrears_amount
        .map(|y| {
            Money::from_yuan(y).ok_or_else(|| bad("arrears_amount must be yuan >= 0 with at most 2 decimals".into()))
        })
        .transpose()?;
    if body.workers_affected == Some(0) && body.found_arrears {
        return Err(bad("workers_affected is 0 although arrears were found".into()));
    }
    // The employer (and project) must be known and in the caller's region.
    let snapshot = state.snapshot();
    let view = snapshot.current().ok_or(ApiError::NoRun)?;
    let employer = view
        .row(EntityType::Employer, &body.employer_id)
        .filter(|r| caller.sees(r.region))
        .ok_or_else(|| ApiError::NotFound { what: format!("employer {}", body.employer_id) })?;
    if let Some(p) = &body.project_id {
        view.row(EntityType::Project, p)
            .filter(|r| caller.sees(r.region))
            .ok_or_else(|| ApiError::NotFound { what: format!("project {p}") })?;
    }
    let record = RecordedInspection {
        inspection_id: id.to_string(),
        employer_id: employer.entity_id.clone(),
        project_id: body.project_id.clone(),
        inspected_on,
        found_arrears: body.found_arrears,
        arrears_amount,
        workers_affected: body.workers_affected,
        recorded_at: Timestamp::now(),
        recorded_by: caller.0.name.clone(),
    };
    state.with_store(|s| s.record_inspection(&record))?;
    Ok((StatusCode::CREATED, Json(InspectionOut::from_record(&record))))
}
