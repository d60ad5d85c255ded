//! `GET /v1/watchlist` and its exports.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::query::{self, Filter};
use crate::runs::export::{self, ExportFormat};
use crate::runs::RunRow;
use crate::server::extract::ApiQuery;
use crate::server::snapshot::{PageKey, RenderedPage, RunView};
use crate::server::wire::{ErrorBody, ExportFormatCode, ExportQuery, RankByCode, WatchlistPage, WatchlistQuery};
use crate::server::{ApiError, AppState, Caller};
use crate::state::Role;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_watchlist)).routes(routes!(export_watchlist))
}

/// The filters of a watchlist request, parsed and narrowed to the caller's region.
pub fn filter_of(q: &WatchlistQuery, caller: &Caller) -> Result<Filter, ApiError> {
    let bad = |e: query::BadFilter| ApiError::BadParameter { name: e.parameter, reason: e.reason.to_string() };
    let filter = Filter::new(q.spec().map_err(bad)?).map_err(bad)?;
    narrowed(filter, caller)
}

/// A filter with its region narrowed to the caller's.
pub fn narrowed(filter: Filter, caller: &Caller) -> Result<Filter, ApiError> {
    let scope = caller.scope(filter.requested_region)?;
    Ok(filter.within(scope))
}

/// Splits a cursor `<run_id>:<position>` (rank order) or `<run_id>:h<position>` (by expected harm).
fn parse_cursor(cursor: &str) -> Result<(String, query::RankBy, usize), ApiError> {
    let bad = || ApiError::BadParameter { name: "cursor", reason: "not a cursor this API returned".into() };
    let (run, pos) = cursor.rsplit_once(':').ok_or_else(bad)?;
    let (order, pos) = match pos.strip_prefix('h') {
        Some(rest) => (query::RankBy::ExpectedHarm, rest),
        None => (query::RankBy::Probability, pos),
    };
    if !crate::server::wire::run_id_ok(run)
        || pos.is_empty()
        || pos.len() > 9
        || !pos.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    Ok((run.to_string(), order, pos.parse().map_err(|_| bad())?))
}

/// The cursor of the page starting at `position` of a run in an order.
fn cursor_of(run_id: &str, order: query::RankBy, position: usize) -> String {
    match order {
        query::RankBy::Probability => format!("{run_id}:{position}"),
        query::RankBy::ExpectedHarm => format!("{run_id}:h{position}"),
    }
}

/// The query string as audited.
pub fn audit_filters(q: &WatchlistQuery) -> String {
    let rank_by = q.rank_by.map(|r| match r {
        RankByCode::Probability => "probability".to_string(),
        RankByCode::ExpectedHarm => "expected_harm".to_string(),
    });
    query::audited([
        ("entity_type", q.entity_type.map(|t| format!("{t:?}").to_lowercase())),
        ("region", q.region.clone()),
        ("sector", q.sector.map(|s| format!("{s:?}").to_lowercase())),
        ("kind", q.kind.map(|k| format!("{k:?}").to_lowercase())),
        ("band", q.band.clone()),
        ("min_score", q.min_score.map(|m| m.to_string())),
        ("q", q.q.clone()),
        ("run", q.run.clone()),
        ("cursor", q.cursor.clone()),
        ("limit", q.limit.map(|l| l.to_string())),
        ("rank_by", rank_by),
    ])
}

/// Ranked entities of a run in the caller's region, filtered, a page at a time.
#[utoipa::path(
    get, path = "/v1/watchlist", tag = "watchlist",
    params(WatchlistQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the watchlist, employers then projects, each by rank", body = WatchlistPage),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 403, description = "The region lies outside the token's", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 422, description = "The cursor belongs to another run than the one asked for, or to another rank_by", body = ErrorBody),
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
    let rank_by: query::RankBy = q.rank_by.map(Into::into).unwrap_or_default();
    if cursor.as_ref().is_some_and(|c| c.1 != rank_by) {
        return Err(ApiError::Unprocessable { reason: "the cursor was made for another rank_by".into() });
    }
    if let (Some((cursor_run, _, _)), Some(run)) = (&cursor, &q.run) {
        if cursor_run != run {
            return Err(ApiError::Unprocessable { reason: "the cursor belongs to another run".into() });
        }
    }
    let server = &state.config().server;
    let limit = q.limit.unwrap_or(server.default_page);
    if limit == 0 || limit > server.max_page {
        return Err(ApiError::BadParameter { name: "limit", reason: format!("must lie in 1..={}", server.max_page) });
    }
    let snapshot = state.snapshot();
    let view = state.run_view(&snapshot, q.run.as_deref().or(cursor.as_ref().map(|c| c.0.as_str()))).await?;
    let key = PageKey { filter, rank_by, start: cursor.map_or(0, |c| c.2), limit };
    let page = view.page(key, |key| render_page(&view, key));
    state.audit_read(&caller, "/v1/watchlist", audit_filters(&q), page.rows).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page.body).into_response())
}

/// A watchlist page of a run as its JSON body.
fn render_page(view: &RunView, key: &PageKey) -> RenderedPage {
    let page = query::page_ranked(&view.data.rows, &view.regions, &key.filter, key.rank_by, key.start, key.limit);
    let items: Vec<_> = page.positions.iter().map(|&i| view.item_json(i)).collect();
    let record = &view.data.record;
    let rows = items.len() as u64;
    let body = serde_json::to_vec(&WatchlistPage {
        run_id: record.run_id.clone(),
        as_of: record.as_of.to_string(),
        model_id: record.model_id.clone(),
        total: page.total,
        items,
        next_cursor: page.next.map(|p| cursor_of(&record.run_id, key.rank_by, p)),
    })
    .expect("a page serialises");
    RenderedPage { body: body.into(), rows }
}

/// The whole filtered watchlist as a file: CSV, Parquet or Excel (supervisors and admins).
#[utoipa::path(
    get, path = "/v1/watchlist/export", tag = "watchlist",
    params(WatchlistQuery, ExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file, named in Content-Disposition",
            content(
                ([u8] = "text/csv; charset=utf-8"),
                ([u8] = "application/vnd.apache.parquet"),
                ([u8] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            )),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 403, description = "Not a supervisor or admin, or the region lies outside the token's", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 429, description = "Too many exports by this token: see Retry-After", body = ErrorBody),
        (status = 503, description = "No run published yet", body = ErrorBody)
    )
)]
pub async fn export_watchlist(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<WatchlistQuery>,
    ApiQuery(e): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let filter = filter_of(&q, &caller)?;
    let format = e.format.unwrap_or_default();
    let filters = format!("{}&format={}", audit_filters(&q), export_format(format).extension());
    let rank_by: query::RankBy = q.rank_by.map(Into::into).unwrap_or_default();
    let order: ExportOrder = Box::new(move |mut rows| {
        rank_by.sort(&mut rows);
        rows
    });
    let export = Export { run: q.run.as_deref(), format, order, route: "/v1/watchlist/export", filters };
    export_file(&state, &caller, filter, export).await
}

/// How an export orders the rows its filter selected.
pub type ExportOrder = Box<dyn for<'r> FnOnce(Vec<&'r RunRow>) -> Vec<&'r RunRow> + Send>;

/// One export asked for: of which run (the current one when `None`), in which format and order, and how it
/// is audited (under `route`, the API's export or the dashboard's, with `filters`).
pub struct Export<'a> {
    pub run: Option<&'a str>,
    pub format: ExportFormatCode,
    pub order: ExportOrder,
    pub route: &'a str,
    pub filters: String,
}

fn export_format(code: ExportFormatCode) -> ExportFormat {
    match code {
        ExportFormatCode::Csv => ExportFormat::Csv,
        ExportFormatCode::Parquet => ExportFormat::Parquet,
        ExportFormatCode::Xlsx => ExportFormat::Xlsx,
    }
}

/// The filtered watchlist of a run as a file, in the export's order, built on a blocking thread and
/// audited; supervisors and admins, within the export rate.
pub async fn export_file(
    state: &AppState,
    caller: &Caller,
    filter: Filter,
    export: Export<'_>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Supervisor, Role::Admin], "supervisor or admin")?;
    state.check_export_rate(caller)?;
    let Export { run, format, order, route, filters } = export;
    let format = export_format(format);
    let view = state.run_view(&state.snapshot(), run).await?;
    let name = format!("wagewatch_{}_{}.{}", view.data.record.as_of, view.run_id(), format.extension());
    let (bytes, rows) = tokio::task::spawn_blocking(move || {
        let rows = order(filter.select(&view.data.rows).collect());
        export::export(&rows, format).map(|bytes| (bytes, rows.len() as u64))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    state.audit_read(caller, route, filters, rows).await?;
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response())
}
