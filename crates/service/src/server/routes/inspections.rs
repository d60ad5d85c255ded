//! `POST /v1/inspections`: an inspector records an inspection outcome, stored durably and merged into the
//! dataset by later re-scores and training.
//!
//! A record must be plausible: the employer (and project) scored in the current run and in the caller's
//! region, the project one the employer works on (as its general contractor or with payroll on it), the
//! date not in the future, the amount and the number of workers within bounds; a visit of a plan week on a
//! day of that week.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::query;
use crate::server::extract::ApiJson;
use crate::server::wire::{ErrorBody, InspectionIn, InspectionOut, SelectionWire, ID_MAX_CHARS};
use crate::server::{ApiError, AppState, Caller};
use crate::state::{RecordedInspection, Role, Timestamp};
use wagewatch_core::contract::{Date, Money};
use wagewatch_core::features::EntityType;

/// The largest arrears amount an inspection may record, in yuan.
pub const MAX_ARREARS_YUAN: f64 = 1_000_000_000.0;
/// The most workers an inspection may record as affected.
pub const MAX_WORKERS: u32 = 100_000;

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
        (status = 403, description = "Not an inspector or admin", body = ErrorBody),
        (status = 404, description = "No such employer in the caller's region, or no such project of it", body = ErrorBody),
        (status = 409, description = "The inspection id is already recorded", body = ErrorBody),
        (status = 422, description = "The inspection date lies before 1990 or after today", body = ErrorBody),
        (status = 503, description = "No run published yet", body = ErrorBody)
    )
)]
pub async fn record_inspection(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<InspectionIn>,
) -> Result<(StatusCode, Json<InspectionOut>), ApiError> {
    caller.require(&[Role::Inspector, Role::Admin], "inspector or admin")?;
    let record = checked(&state, &caller, body)?;
    let stored = record.clone();
    state.store(move |s| s.record_inspection(&stored)).await?;
    let filters = query::audited([
        ("inspection_id", Some(record.inspection_id.clone())),
        ("employer_id", Some(record.employer_id.clone())),
    ]);
    state.audit(Some(&caller.0), "POST", "/v1/inspections", filters, 1, 201).await?;
    Ok((StatusCode::CREATED, Json(InspectionOut::from_record(&record))))
}

/// The record, if the body is well formed and plausible.
fn checked(state: &AppState, caller: &Caller, body: InspectionIn) -> Result<RecordedInspection, ApiError> {
    let bad = |reason: String| ApiError::BadBody { reason };
    let id_ok = |id: &str| !id.is_empty() && id.chars().count() <= ID_MAX_CHARS && !id.contains(char::is_control);
    let id = body.inspection_id.as_str();
    let padding = |c: char| c.is_whitespace() || c == '\u{feff}';
    if !id_ok(id) || id.starts_with(padding) || id.ends_with(padding) {
        return Err(bad(
            "inspection_id must have 1 to 64 characters, no control characters, and no spaces at either end".into(),
        ));
    }
    if !id_ok(&body.employer_id) || body.project_id.as_deref().is_some_and(|p| !id_ok(p)) {
        return Err(bad("employer_id and project_id must have 1 to 64 characters and no control characters".into()));
    }
    let inspected_on = Date::parse(&body.inspected_on)
        .ok_or_else(|| bad(format!("inspected_on {:?} is not a date YYYY-MM-DD", body.inspected_on)))?;
    let today = Timestamp(Timestamp::now().0 + 8 * 3600).date();
    if !inspected_on.in_contract_range() || inspected_on > today {
        return Err(ApiError::Unprocessable {
            reason: format!("inspected_on {inspected_on} must lie from 1990-01-01 to today ({today})"),
        });
    }
    let arrears_amount = body
        .arrears_amount
        .map(|y| {
            if !(0.0..=MAX_ARREARS_YUAN).contains(&y) {
                return Err(bad("arrears_amount must lie in 0..=1000000000 yuan".into()));
            }
            Ok(Money::from_fen((y * 100.0).round() as i64))
        })
        .transpose()?;
    if body.workers_affected.is_some_and(|w| !(1..=MAX_WORKERS).contains(&w)) {
        return Err(bad("workers_affected must lie in 1..=100000".into()));
    }
    let plan_week = body
        .plan_week
        .as_deref()
        .map(|w| Date::parse(w).ok_or_else(|| bad(format!("plan_week {w:?} is not a date YYYY-MM-DD"))))
        .transpose()?;
    if let Some(week) = plan_week {
        if !(0..7).contains(&inspected_on.days_since(week)) {
            return Err(ApiError::Unprocessable {
                reason: format!(
                    "inspected_on {inspected_on} lies outside the plan week {week} .. {}",
                    week.add_days(6)
                ),
            });
        }
    }
    let selection = match body.selection.as_deref() {
        None => None,
        Some(code) => Some(
            SelectionWire::parse(code)
                .ok_or_else(|| bad("selection must be one of random, risk_list, complaint, routine, other".into()))?,
        ),
    };
    // The employer must be scored and in the caller's region; the project one it works on.
    let snapshot = state.snapshot();
    let view = snapshot.current().ok_or(ApiError::NoRun)?;
    let employer = view
        .row(EntityType::Employer, &body.employer_id)
        .filter(|r| caller.sees(r.region))
        .ok_or_else(|| ApiError::NotFound { what: format!("employer {}", body.employer_id) })?;
    if let Some(p) = &body.project_id {
        let of_employer = view.linked(EntityType::Employer, &employer.entity_id).iter().any(|(_, id, _)| id == p);
        view.row(EntityType::Project, p)
            .filter(|r| caller.sees(r.region) && of_employer)
            .ok_or_else(|| ApiError::NotFound { what: format!("project {p} of employer {}", employer.entity_id) })?;
    }
    Ok(RecordedInspection {
        inspection_id: id.to_string(),
        employer_id: employer.entity_id.clone(),
        project_id: body.project_id.clone(),
        inspected_on,
        found_arrears: body.found_arrears,
        arrears_amount,
        workers_affected: body.workers_affected,
        selection: selection.map(SelectionWire::to_domain),
        plan_week,
        recorded_at: Timestamp::now(),
        recorded_by: caller.0.name.clone(),
    })
}
