//! `GET /v1/watchlist` and its exports.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::query::{self, Filter, FilterText};
use crate::runs::export::{self, ExportFormat};
use crate::runs::RunRow;
use crate::server::extract::ApiQuery;
use crate::server::wire::{ErrorBody, ExportQuery, WatchlistPage, WatchlistQuery};
use crate::server::{ApiError, AppState, Caller};
use crate::state::Role;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_watchlist)).routes(routes!(export_watchlist))
}

/// The filters of a watchlist request, parsed and narrowed to the caller's region.
pub fn filter_of(q: &WatchlistQuery, caller: &Caller) -> Result<Filter, ApiError> {
    let text = FilterText {
        entity_type: q.entity_type.as_deref(),
        region: q.region.as_deref(),
        sector: q.sector.as_deref(),
        kind: q.kind.as_deref(),
        band: q.band.as_deref(),
        min_score: q.min_score,
        text: q.q.as_deref(),
    };
    let filter =
        Filter::parse(&text).map_err(|e| ApiError::BadParameter { name: e.parameter, reason: e.reason.to_string() })?;
    let scope = caller.scope(filter.requested_region)?;
    Ok(filter.within(scope))
}

/// Splits a cursor `<run_id>:<position>`.
fn parse_cursor(cursor: &str) -> Result<(String, usize), ApiError> {
    let bad = || ApiError::BadParameter { name: "cursor", reason: "not a cursor this API returned".into() };
    let (run, pos) = cursor.rsplit_once(':').ok_or_else(bad)?;
    Ok((run.to_string(), pos.parse().map_err(|_| bad())?))
}

/// The query string as audited.
pub fn audit_filters(q: &WatchlistQuery) -> String {
    let mut parts = Vec::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    };
    push("entity_type", q.entity_type.clone());
    push("region", q.region.clone());
    push("sector", q.sector.clone());
    push("kind", q.kind.clone());
    push("band", q.band.clone());
    push("min_score", q.min_score.map(|m| m.to_string()));
    push("q", q.q.clone());
    push("run", q.run.clone());
    push("cursor", q.cursor.clone());
    push("limit", q.limit.map(|l| l.to_string()));
    parts.join("&")
}

/// Ranked entities of a run in the caller's region, filtered, a page at a time.
#[utoipa::path(
    get, path = "/v1/watchlist", tag = "watchlist",
    params(WatchlistQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the watchlist, employers then projects, each by rank", body = WatchlistPage),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The region lies outside the token's", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 503, description = "No run published yet", body = ErrorBody)
    )
)]
pub async fn list_watchlist(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<WatchlistQuery>,
) -> Result<Response, ApiError> {
    let filter = filter_of(&q, &caller)?;
    let cursor = q.cursor.as_deref().map(parse_cursor).transpose()?;
    if let (Some((cursor_run, _)), Some(run)) = (&cursor, &q.run) {
        if cursor_run != run {
            return Err(ApiError::BadParameter { name: "cursor", reason: "the cursor belongs to another run".into() });
        }
    }
    let snapshot = state.snapshot();
    let view = snapshot.pick(q.run.as_deref().or(cursor.as_ref().map(|c| c.0.as_str())))?;
    let server = &state.config().server;
    let limit = q.limit.unwrap_or(server.default_page);
    if limit == 0 || limit > server.max_page {
        return Err(ApiError::BadParameter { name: "limit", reason: format!("must lie in 1..={}", server.max_page) });
    }
    let page = query::page(&view.data.rows, &filter, cursor.map_or(0, |c| c.1), limit);
    let items: Vec<_> = page.positions.iter().map(|&i| view.item_json(i)).collect();
    let rows = items.len() as u64;
    state.audit(&caller, "GET", "/v1/watchlist", audit_filters(&q), rows).await?;
    let record = &view.data.record;
    Ok(Json(WatchlistPage {
        run_id: record.run_id.clone(),
        as_of: record.as_of.to_string(),
        model_id: record.model_id.clone(),
        total: page.total,
        items,
        next_cursor: page.next.map(|p| format!("{}:{p}", record.run_id)),
    })
    .into_response())
}

/// The whole filtered watchlist as a file: CSV, Parquet or Excel (supervisors and admins).
#[utoipa::path(
    get, path = "/v1/watchlist/export", tag = "watchlist",
    params(WatchlistQuery, ExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file (text/csv, application/vnd.apache.parquet or .xlsx)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not a supervisor or admin, or the region lies outside the token's", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 503, description = "No run published yet", body = ErrorBody)
    )
)]
pub async fn export_watchlist(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<WatchlistQuery>,
    ApiQuery(e): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export_file(&state, &caller, &q, e.format.as_deref(), "/v1/watchlist/export").await
}

/// The filtered watchlist as a file, audited under `route` (the API's export and the dashboard's).
pub async fn export_file(
    state: &AppState,
    caller: &Caller,
    q: &WatchlistQuery,
    format: Option<&str>,
    route: &str,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Supervisor, Role::Admin], "supervisor or admin")?;
    let format = match format {
        None => ExportFormat::Csv,
        Some(f) => ExportFormat::parse(f)
            .ok_or_else(|| ApiError::BadParameter { name: "format", reason: "use csv, parquet or xlsx".into() })?,
    };
    let filter = filter_of(q, caller)?;
    let snapshot = state.snapshot();
    let view = snapshot.pick(q.run.as_deref())?;
    let rows: Vec<&RunRow> = filter.select(&view.data.rows).collect();
    let bytes = export::export(&rows, format).map_err(ApiError::internal)?;
    let filters = format!("{}&format={}", audit_filters(q), format.extension());
    state.audit(caller, "GET", route, filters, rows.len() as u64).await?;
    let name = format!("wagewatch_{}_{}.{}", view.data.record.as_of, view.run_id(), format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response())
}
