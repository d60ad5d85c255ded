//! `GET /v1/alerts`: what re-scores raised (newly red, sharp rises, rule alerts firing for the first time,
//! groups owed wages before the festival), newest first, in the caller's region.

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagewatch_core::contract::RegionPrefix;

use crate::query;
use crate::server::extract::ApiQuery;
use crate::server::wire::{AlertEventOut, AlertList, AlertQuery, ErrorBody};
use crate::server::{ApiError, AppState, Caller};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_alerts))
}

/// The most alerts a page holds.
pub const MAX_ALERTS_PAGE: usize = 500;

/// Alerts in the caller's region (or a part of it), newest first, a page at a time.
#[utoipa::path(
    get, path = "/v1/alerts", tag = "alerts",
    params(AlertQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of alerts, newest first", body = AlertList),
        (status = 403, description = "The region lies outside the token's", body = ErrorBody)
    )
)]
pub async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<Json<AlertList>, ApiError> {
    let requested = q
        .region
        .as_deref()
        .map(|r| {
            RegionPrefix::parse(r)
                .filter(|_| !r.is_empty())
                .ok_or_else(|| ApiError::BadParameter { name: "region", reason: "use 2, 4 or 6 digits".into() })
        })
        .transpose()?;
    let region = caller.scope(requested)?;
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_ALERTS_PAGE {
        return Err(ApiError::BadParameter { name: "limit", reason: format!("must lie in 1..={MAX_ALERTS_PAGE}") });
    }
    let before = q.cursor;
    if before.is_some_and(|c| c <= 0) {
        return Err(ApiError::BadParameter { name: "cursor", reason: "not a cursor this API returned".into() });
    }
    let (alerts, more) = state.store(move |s| s.alerts(region, before, limit)).await?;
    let filters = query::audited([
        ("region", Some(q.region.clone().unwrap_or_default())),
        ("cursor", Some(before.map_or(String::new(), |c| c.to_string()))),
        ("limit", Some(limit.to_string())),
    ]);
    state.audit_read(&caller, "/v1/alerts", filters, alerts.len() as u64).await?;
    Ok(Json(AlertList {
        next_cursor: if more { alerts.last().map(|a| a.alert_id) } else { None },
        items: alerts.iter().map(AlertEventOut::from_stored).collect(),
    }))
}
