//! Admin routes: tokens (`/v1/tokens`) and the audit log (`/v1/audit`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::extract::{ApiJson, ApiQuery};
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

/// Every token (never a secret).
#[utoipa::path(
    get, path = "/v1/tokens", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tokens", body = TokenList),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody)
    )
)]
pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<TokenList>, ApiError> {
    caller.require(&[Role::Admin], "admin")?;
    let tokens = state.with_store(|s| s.tokens())?;
    Ok(Json(TokenList { tokens: tokens.iter().map(TokenOut::from_record).collect() }))
}

/// Creates a token; its secret is in this response only.
#[utoipa::path(
    post, path = "/v1/tokens", tag = "admin",
    request_body = TokenIn,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The token and its secret", body = TokenCreated),
        (status = 400, description = "The body is invalid", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody)
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TokenIn>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    caller.require(&[Role::Admin], "admin")?;
    let bad = |reason: &str| ApiError::BadBody { reason: reason.to_string() };
    let role = Role::parse(&body.role).ok_or_else(|| bad("role must be inspector, supervisor or admin"))?;
    let region = RegionPrefix::parse(body.region.as_deref().unwrap_or(""))
        .ok_or_else(|| bad("region must be 2, 4 or 6 digits"))?;
    let token = NewToken::new(&body.name, role, region).map_err(|e| bad(&e.to_string()))?;
    let (record, secret) = state.with_store(|s| s.create_token(&token))?;
    Ok((StatusCode::CREATED, Json(TokenCreated { token: TokenOut::from_record(&record), secret })))
}

/// Revokes a token; it stops working within seconds.
#[utoipa::path(
    delete, path = "/v1/tokens/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The token id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody)
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Admin], "admin")?;
    let id: i64 = id.parse().map_err(|_| ApiError::BadParameter { name: "id", reason: "not a token id".into() })?;
    state.with_store(|s| s.revoke_token(id))?;
    state.forget_tokens();
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first.
#[utoipa::path(
    get, path = "/v1/audit", tag = "admin",
    params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody)
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(&[Role::Admin], "admin")?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::BadParameter { name: "limit", reason: "must lie in 1..=1000".into() });
    }
    let since = p
        .since
        .as_deref()
        .map(|t| {
            Timestamp::parse(t)
                .ok_or_else(|| ApiError::BadParameter { name: "since", reason: "use YYYY-MM-DDTHH:MM:SSZ".into() })
        })
        .transpose()?;
    let query = AuditQuery { token_id: p.token_id, route: p.route, since, before_id: p.before, limit };
    let records = state.with_store(|s| s.audit(&query))?;
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
            })
            .collect(),
        next_before,
    }))
}
