//! `GET /v1/plans`: a district's inspection plan for a week, from the current run
//! ([`crate::runs::plan`]): the visits that reach the most expected unpaid wages, then the audit slice.

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagewatch_core::contract::{Date, RegionCode, RegionPrefix};

use crate::runs::plan::{self, PlanLine, PlanRequest, PlanRequestError};
use crate::server::extract::ApiQuery;
use crate::server::wire::{ErrorBody, PlanLineOut, PlanOut, PlanQuery};
use crate::server::{ApiError, AppState, Caller};
use crate::state::RecordedInspection;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_plan))
}

/// The most visits a plan asks for in a district and week.
pub const MAX_CAPACITY: usize = 500;

/// The typed request, or the parameter at fault.
fn request(q: &PlanQuery) -> Result<(RegionCode, PlanRequest), ApiError> {
    let bad = |name: &'static str, reason: &str| ApiError::BadParameter { name, reason: reason.into() };
    let district = RegionCode::parse(&q.district).ok_or_else(|| bad("district", "use 6 digits"))?;
    let week = Date::parse(&q.week).ok_or_else(|| bad("week", "use a date YYYY-MM-DD"))?;
    if !(1..=MAX_CAPACITY).contains(&q.capacity) {
        return Err(bad("capacity", "must lie in 1..=500"));
    }
    let audit_share = q.audit_share.unwrap_or(0.1);
    if !(0.0..1.0).contains(&audit_share) {
        return Err(bad("audit_share", "must lie in 0..1"));
    }
    let skip_days = q.skip_days.unwrap_or(90);
    if !(0..=3_650).contains(&skip_days) {
        return Err(bad("skip_days", "must lie in 0..=3650"));
    }
    let request = PlanRequest {
        week,
        capacity: q.capacity,
        audit_share,
        skip_days,
        rise_points: 10.0,
        seed: q.seed.unwrap_or(1),
        district: Some(district),
    };
    Ok((district, request))
}

/// A district's plan for a week (inspectors, supervisors and admins whose region holds the district).
#[utoipa::path(
    get, path = "/v1/plans", tag = "plans",
    params(PlanQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The district's visits, in the order they are worth, then the audit slice", body = PlanOut),
        (status = 403, description = "The district lies outside the token's region", body = ErrorBody),
        (status = 404, description = "The district has no scored entity in the current run", body = ErrorBody),
        (status = 422, description = "The week lies before the current run's as-of date", body = ErrorBody)
    )
)]
pub async fn get_plan(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Json<PlanOut>, ApiError> {
    district_plan(&state, &caller, &q, "/v1/plans").await.map(Json)
}

/// A district's plan for `caller`, audited under `route` (the API's and the dashboard's plan page).
pub async fn district_plan(state: &AppState, caller: &Caller, q: &PlanQuery, route: &str) -> Result<PlanOut, ApiError> {
    let (district, req) = request(q)?;
    caller.scope(Some(RegionPrefix::district(district)))?;
    let snapshot = state.snapshot();
    let view = snapshot.pick(None)?;
    let lines = plan::plan(&view.data, &req).map_err(|e| match e {
        PlanRequestError::PastWeek { .. } => ApiError::Unprocessable { reason: e.to_string() },
        PlanRequestError::EmptyDistrict(_) => ApiError::NotFound { what: format!("district {district}") },
        PlanRequestError::Plan(p) => ApiError::BadParameter { name: "capacity", reason: p.to_string() },
    })?;
    let week = req.week;
    let recorded = state.store(move |s| s.plan_inspections(week)).await?;
    let done: Vec<Option<&RecordedInspection>> = lines.iter().map(|l| done_by(l, &recorded)).collect();
    let filters = format!("district={district}&week={}&capacity={}", req.week, req.capacity);
    state.audit_read(caller, route, filters, lines.len() as u64).await?;
    Ok(PlanOut {
        run_id: view.run_id().to_string(),
        as_of: view.data.record.as_of.to_string(),
        week: req.week.to_string(),
        district: district.to_string(),
        district_name: view.data.names.label(district),
        reached_yuan: lines.iter().filter(|l| l.kind != "audit").map(|l| l.expected_yuan).sum(),
        done_visits: done.iter().flatten().count(),
        visits: lines.iter().zip(&done).map(|(l, d)| PlanLineOut::from_line(l, *d)).collect(),
    })
}

/// The first inspection of the plan's week that did the visit: of the firm visited, or at the site visited
/// (of the project, or of a firm the visit reaches).
fn done_by<'a>(line: &PlanLine, recorded: &'a [RecordedInspection]) -> Option<&'a RecordedInspection> {
    recorded.iter().find(|i| match line.kind {
        "site" => i.project_id.as_deref() == Some(line.target_id.as_str()) || line.covers.contains(&i.employer_id),
        _ => i.employer_id == line.target_id,
    })
}
