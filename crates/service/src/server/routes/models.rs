//! `GET /v1/models` and `GET /v1/models/{id}`: trained models, their cards and backtests, and the registry;
//! `POST /v1/models/{id}/promote` and `POST /v1/models/rollback`: change the champion (admins of all
//! regions, audited).

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::http::StatusCode;

use crate::server::extract::ApiPath;
use crate::server::wire::{BacktestOut, ErrorBody, ModelDetail, ModelList, ModelOut, PromotionOut, RegisteredModelOut};
use crate::server::{ApiError, AppState, Caller};
use wagewatch_core::model::artifact;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_models))
        .routes(routes!(get_model))
        .routes(routes!(promote_model))
        .routes(routes!(rollback_model))
}

/// The models in the model folder, newest training date first.
#[utoipa::path(
    get, path = "/v1/models", tag = "models",
    security(("bearer" = [])),
    responses((status = 200, description = "The models", body = ModelList))
)]
pub async fn list_models(State(state): State<AppState>, _caller: Caller) -> Result<Json<ModelList>, ApiError> {
    let folder = state.config().models.clone();
    let ids = tokio::task::spawn_blocking(move || artifact::list(&folder)).await.map_err(ApiError::internal)?;
    let mut models = Vec::new();
    for id in ids {
        match state.model(&id).await {
            Ok(m) => models.push(ModelOut::from_model(&m.model)),
            Err(e) => tracing::warn!(model = %id, error = %e, "model folder cannot be read; not listed"),
        }
    }
    models.sort_by(|a, b| b.trained_as_of.cmp(&a.trained_as_of).then(a.model_id.cmp(&b.model_id)));
    let registry = state.store(|s| s.models()).await?;
    Ok(Json(ModelList { models, registry: registry.iter().map(RegisteredModelOut::from_record).collect() }))
}

/// A model with its card and its backtest figures.
#[utoipa::path(
    get, path = "/v1/models/{id}", tag = "models",
    params(("id" = String, Path, description = "The model id", pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The model", body = ModelDetail),
        (status = 400, description = "The path is not valid", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody)
    )
)]
pub async fn get_model(
    State(state): State<AppState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ModelDetail>, ApiError> {
    let m = state.model(&id).await?;
    Ok(Json(ModelDetail {
        model: ModelOut::from_model(&m.model),
        card_markdown: m.card_markdown.clone(),
        card_markdown_zh: m.card_markdown_zh.clone(),
        backtest: m.backtest.as_ref().map(BacktestOut::from_report),
    }))
}

/// Makes a registered challenger the champion, if it meets the promotion rule (admins of all regions).
/// The next re-score uses it; one already running finishes with the model it started with.
#[utoipa::path(
    post, path = "/v1/models/{id}/promote", tag = "models",
    params(("id" = String, Path, description = "The model id", pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The model is the champion", body = PromotionOut),
        (status = 400, description = "The path is not valid", body = ErrorBody),
        (status = 403, description = "Not an admin of all regions", body = ErrorBody),
        (status = 404, description = "No such model in the registry", body = ErrorBody),
        (status = 409, description = "The promotion rule is not met, the comparison is stale, or it is the champion already", body = ErrorBody)
    )
)]
pub async fn promote_model(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<PromotionOut>), ApiError> {
    caller.require_national_admin()?;
    artifact::check_model_id(&id).map_err(|_| ApiError::NotFound { what: format!("model {id}") })?;
    let by = caller.0.name.clone();
    let target = id.clone();
    let result = state.store(move |s| Ok(crate::champion::promote(s, &target, &by, false))).await?;
    // A refusal is audited by the middleware, as every refused privileged request is.
    let promotion = result?;
    state.audit(Some(&caller.0), "POST", "/v1/models/{id}/promote", format!("model_id={id}"), 0, 200).await?;
    Ok((StatusCode::OK, Json(PromotionOut::from_promotion(&promotion))))
}

/// Makes the previous champion the champion again (admins of all regions).
#[utoipa::path(
    post, path = "/v1/models/rollback", tag = "models",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The previous champion is the champion again", body = PromotionOut),
        (status = 403, description = "Not an admin of all regions", body = ErrorBody),
        (status = 409, description = "There is no earlier champion", body = ErrorBody)
    )
)]
pub async fn rollback_model(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<PromotionOut>), ApiError> {
    caller.require_national_admin()?;
    let by = caller.0.name.clone();
    let result = state.store(move |s| Ok(s.rollback(&by))).await?;
    let promotion = result.map_err(ApiError::from)?;
    state.audit(Some(&caller.0), "POST", "/v1/models/rollback", String::new(), 0, 200).await?;
    Ok((StatusCode::OK, Json(PromotionOut::from_promotion(&promotion))))
}
