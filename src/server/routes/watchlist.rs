//! `GET /v1/watchlist` and its exports.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::contract::{EmployerKind, RegionPrefix, Sector};
use crate::features::EntityType;
use crate::model::Band;
use crate::runs::export::{self, ExportFormat};
use crate::runs::RunRow;
use crate::server::extract::ApiQuery;
use crate::server::wire::{ErrorBody, ExportQuery, WatchlistPage, WatchlistQuery};
use crate::server::{ApiError, AppState, Caller, RunView};
use crate::state::Role;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_watchlist)).routes(routes!(export_watchlist))
}

/// The parsed filters of a watchlist request, with the region narrowed to the caller's.
#[derive(Debug)]
pub struct Filter {
    pub entity_type: Option<EntityType>,
    pub region: RegionPrefix,
    pub sector: Option<Sector>,
    pub kind: Option<EmployerKind>,
    pub bands: Option<Vec<Band>>,
    pub min_score: Option<f64>,
    pub text: Option<String>,
}

impl Filter {
    /// Parses and checks the query against the caller's region.
    pub fn parse(q: &WatchlistQuery, caller: &Caller) -> Result<Filter, ApiError> {
        let bad = |name: &'static str, reason: &str| ApiError::BadParameter { name, reason: reason.to_string() };
        let entity_type = q
            .entity_type
            .as_deref()
            .map(|t| EntityType::parse(t).ok_or_else(|| bad("entity_type", "use employer or project")))
            .transpose()?;
        let requested = q
            .region
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| RegionPrefix::parse(r).ok_or_else(|| bad("region", "use 2, 4 or 6 digits")))
            .transpose()?;
        let sector =
            q.sector.as_deref().map(|s| Sector::parse(s).ok_or_else(|| bad("sector", "unknown sector"))).transpose()?;
        let kind =
            q.kind.as_deref().map(|k| EmployerKind::parse(k).ok_or_else(|| bad("kind", "unknown kind"))).transpose()?;
        let bands = q
            .band
            .as_deref()
            .map(|b| {
                b.split(',')
                    .map(|code| Band::parse(code.trim()).ok_or_else(|| bad("band", "use red, orange, yellow or green")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        if let Some(m) = q.min_score {
            if !(0.0..=1.0).contains(&m) {
                return Err(bad("min_score", "must lie in 0..1"));
            }
        }
        Ok(Filter {
            entity_type,
            region: caller.scope(requested)?,
            sector,
            kind,
            bands,
            min_score: q.min_score,
            text: q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_lowercase),
        })
    }

    /// Whether a row passes every filter.
    pub fn matches(&self, r: &RunRow) -> bool {
        self.region.contains(r.region)
            && self.entity_type.is_none_or(|t| t == r.entity_type)
            && self.sector.is_none_or(|s| s == r.sector)
            && self.kind.is_none_or(|k| Some(k) == r.kind)
            && self.bands.as_ref().is_none_or(|b| b.contains(&r.band))
            && self.min_score.is_none_or(|m| r.score >= m)
            && self.text.as_ref().is_none_or(|t| {
                r.entity_id.to_lowercase().contains(t.as_str()) || r.name.to_lowercase().contains(t.as_str())
            })
    }
}

/// The run a request reads: the named one, the cursor's, or the current one.
pub fn pick_run(state: &AppState, run: Option<&str>) -> Result<Arc<RunView>, ApiError> {
    let snapshot = state.snapshot();
    match run {
        Some(id) => snapshot.run(id).cloned().ok_or_else(|| ApiError::NotFound { what: format!("run {id}") }),
        None => snapshot.current().cloned().ok_or(ApiError::NoRun),
    }
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
    let filter = Filter::parse(&q, &caller)?;
    let cursor = q.cursor.as_deref().map(parse_cursor).transpose()?;
    if let (Some((cursor_run, _)), Some(run)) = (&cursor, &q.run) {
        if cursor_run != run {
            return Err(ApiError::BadParameter { name: "cursor", reason: "the cursor belongs to another run".into() });
        }
    }
    let view = pick_run(&state, q.run.as_deref().or(cursor.as_ref().map(|c| c.0.as_str())))?;
    let server = &state.config().server;
    let limit = q.limit.unwrap_or(server.default_page);
    if limit == 0 || limit > server.max_page {
        return Err(ApiError::BadParameter { name: "limit", reason: format!("must lie in 1..={}", server.max_page) });
    }
    let start = cursor.map_or(0, |c| c.1);
    let (mut total, mut items, mut last, mut more) = (0, Vec::with_capacity(limit), None, false);
    for (i, r) in view.data.rows.iter().enumerate() {
        if !filter.matches(r) {
            continue;
        }
        total += 1;
        if i < start {
            continue;
        }
        if items.len() < limit {
            items.push(view.item_json(i));
            last = Some(i);
        } else {
            more = true;
        }
    }
    let next_cursor = if more { last.map(|p| p + 1) } else { None };
    let rows = items.len() as u64;
    state.audit(&caller, "GET", "/v1/watchlist", audit_filters(&q), rows).await?;
    let record = &view.data.record;
    Ok(Json(WatchlistPage {
        run_id: record.run_id.clone(),
        as_of: record.as_of.to_string(),
        model_id: record.model_id.clone(),
        total,
        items,
        next_cursor: next_cursor.map(|p| format!("{}:{p}", record.run_id)),
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
    let filter = Filter::parse(q, caller)?;
    let view = pick_run(state, q.run.as_deref())?;
    let rows: Vec<&RunRow> = view.data.rows.iter().filter(|r| filter.matches(r)).collect();
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
