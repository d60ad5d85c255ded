//! Admin routes: tokens (`/v1/tokens`) and the audit log (`/v1/audit`). An admin acts within its own
//! region: it lists, creates and revokes tokens of its region only, and reads the audit entries of its
//! region's callers only. Every one of these actions is itself audited.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::query;
use crate::server::extract::{ApiJson, ApiPath, ApiQuery};
use crate::server::wire::{AuditOut, AuditPage, AuditParams, ErrorBody, TokenCreated, TokenIn, TokenList, TokenOut};
use crate::server::{ApiError, AppState, Caller};
use crate::state::{AuditQuery, NewToken, Role, Timestamp};
use wagewatch_core::contract::RegionPrefix;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_audit))
}

/// The tokens of the caller's region (never a secret).
#[utoipa::path(
    get, path = "/v1/tokens", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tokens whose region lies within the caller's", body = TokenList),
        (status = 403, description = "Not an admin", body = ErrorBody)
    )
)]
pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<TokenList>, ApiError> {
    caller.require(&[Role::Admin], "admin")?;
    let within = caller.0.region;
    let tokens = state.store(move |s| s.tokens_within(within)).await?;
    state.audit(Some(&caller.0), "GET", "/v1/tokens", String::new(), tokens.len() as u64, 200).await?;
    Ok(Json(TokenList { tokens: tokens.iter().map(TokenOut::from_record).collect() }))
}

/// Creates a token within the caller's region; its secret is in this response only.
#[utoipa::path(
    post, path = "/v1/tokens", tag = "admin",
    request_body = TokenIn,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The token and its secret", body = TokenCreated),
        (status = 400, description = "The body is invalid", body = ErrorBody),
        (status = 403, description = "Not an admin, or the region lies outside the caller's", body = ErrorBody),
        (status = 422, description = "The expiry has already passed, or the role needs a region", body = ErrorBody)
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TokenIn>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    caller.require(&[Role::Admin], "admin")?;
    let bad = |reason: &str| ApiError::BadBody { reason: reason.to_string() };
    let region = match body.region.as_deref() {
        None => RegionPrefix::ALL,
        Some(r) => {
            RegionPrefix::parse(r).filter(|_| !r.is_empty()).ok_or_else(|| bad("region must be 2, 4 or 6 digits"))?
        }
    };
    let mut token = NewToken::new(&body.name, body.role.into(), region)
        .map_err(|e| ApiError::Unprocessable { reason: e.to_string() })?;
    if let Some(at) = body.expires_at.as_deref() {
        let at = Timestamp::parse_rfc3339(at).ok_or_else(|| bad("expires_at must be an RFC 3339 time"))?;
        token = token.expiring(at, Timestamp::now()).map_err(|e| ApiError::Unprocessable { reason: e.to_string() })?;
    }
    // An admin of a region grants only what it has: tokens of its region or of a part of it.
    caller.covers(token.region())?;
    let (record, secret) = state.store(move |s| s.create_token(&token)).await?;
    let filters = format!("token_id={}&role={}&region={}", record.token_id, record.role.code(), record.region);
    state.audit(Some(&caller.0), "POST", "/v1/tokens", filters, 1, 201).await?;
    Ok((StatusCode::CREATED, Json(TokenCreated { token: TokenOut::from_record(&record), secret })))
}

/// Revokes a token of the caller's region; it stops working within seconds.
#[utoipa::path(
    delete, path = "/v1/tokens/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The token id", minimum = 1)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "The id is not a token id", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such token in the caller's region", body = ErrorBody)
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Admin], "admin")?;
    let id: i64 = id
        .parse()
        .ok()
        .filter(|id| *id >= 1)
        .ok_or(ApiError::BadParameter { name: "id", reason: "not a token id".into() })?;
    let within = caller.0.region;
    state.store(move |s| s.revoke_token(id, within)).await?;
    state.forget_tokens();
    state.audit(Some(&caller.0), "DELETE", "/v1/tokens/{id}", format!("id={id}"), 1, 204).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log of the caller's region, newest first.
#[utoipa::path(
    get, path = "/v1/audit", tag = "admin",
    params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of entries of callers within the caller's region", body = AuditPage),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody)
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(&[Role::Admin], "admin")?;
    let bad = |name: &'static str, reason: &str| ApiError::BadParameter { name, reason: reason.to_string() };
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(bad("limit", "must lie in 1..=1000"));
    }
    if p.token_id.is_some_and(|t| t < 1) || p.before.is_some_and(|b| b < 1) {
        return Err(bad("token_id", "ids are 1 or more"));
    }
    if p.route.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return Err(bad("route", "at most 200 characters"));
    }
    let since = p
        .since
        .as_deref()
        .map(|t| Timestamp::parse_rfc3339(t).ok_or_else(|| bad("since", "use an RFC 3339 time")))
        .transpose()?;
    let query = AuditQuery {
        within: caller.0.region,
        token_id: p.token_id,
        route: p.route.clone(),
        since,
        before_id: p.before,
        limit,
    };
    // The counts of repeated reads answered so far are in the list.
    state.flush_audit().await?;
    let records = state.store(move |s| s.audit(&query)).await?;
    let filters = query::audited([
        ("token_id", p.token_id.map(|t| t.to_string())),
        ("route", p.route),
        ("since", p.since.map(|s| s.to_string())),
        ("before", p.before.map(|b| b.to_string())),
        ("limit", Some(limit.to_string())),
    ]);
    state.audit(Some(&caller.0), "GET", "/v1/audit", filters, records.len() as u64, 200).await?;
    let next_before = (records.len() == limit).then(|| records.last().map(|r| r.audit_id)).flatten();
    Ok(Json(AuditPage {
        entries: records
            .iter()
            .map(|r| AuditOut {
                audit_id: r.audit_id,
                at: r.entry.at.to_string(),
                token_id: r.entry.token_id,
                token_name: r.entry.token_name.clone(),
                role: r.entry.role.map_or("", |x| x.code()).to_string(),
                method: r.entry.method.clone(),
                route: r.entry.route.clone(),
                filters: r.entry.filters.clone(),
                rows: r.entry.rows,
                status: r.entry.status,
                repeats: r.repeats,
                last_at: r.last_at.to_string(),
            })
            .collect(),
        next_before,
    }))
}
