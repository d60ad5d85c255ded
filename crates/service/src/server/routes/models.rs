//! `GET /v1/models` and `GET /v1/models/{id}`: trained models, their cards and backtests.

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::wire::{BacktestOut, ErrorBody, ModelDetail, ModelList, ModelOut};
use crate::server::{ApiError, AppState, Caller};
use wagewatch_core::model::artifact;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_models)).routes(routes!(get_model))
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
    Ok(Json(ModelList { models }))
}

/// A model with its card and its backtest figures.
#[utoipa::path(
    get, path = "/v1/models/{id}", tag = "models",
    params(("id" = String, Path, description = "The model id", pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The model", body = ModelDetail),
        (status = 404, description = "No such model", body = ErrorBody)
    )
)]
pub async fn get_model(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ModelDetail>, ApiError> {
    let m = state.model(&id).await?;
    Ok(Json(ModelDetail {
        model: ModelOut::from_model(&m.model),
        card_markdown: m.card_markdown.clone(),
        backtest: m.backtest.as_ref().map(BacktestOut::from_report),
    }))
}
