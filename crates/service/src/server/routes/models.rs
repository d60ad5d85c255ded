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
    responses(
        (status = 200, description = "The models", body = ModelList),
        (status = 401, description = "No or bad token", body = ErrorBody)
    )
)]
pub async fn list_models(State(state): State<AppState>, _caller: Caller) -> Result<Json<ModelList>, ApiError> {
    let mut models = Vec::new();
    for id in artifact::list(&state.config().models) {
        match state.model(&id) {
            Ok(m) => models.push(ModelOut::from_model(&m)),
            Err(e) => tracing::warn!(model = %id, error = %e, "model folder cannot be read; not listed"),
        }
    }
    models.sort_by(|a, b| b.trained_as_of.cmp(&a.trained_as_of).then(a.model_id.cmp(&b.model_id)));
    Ok(Json(ModelList { models }))
}

/// A model with its card and its backtest figures.
#[utoipa::path(
    get, path = "/v1/models/{id}", tag = "models",
    params(("id" = String, Path, description = "The model id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The model", body = ModelDetail),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody)
    )
)]
pub async fn get_model(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ModelDetail>, ApiError> {
    if !artifact::list(&state.config().models).contains(&id) {
        return Err(ApiError::NotFound { what: format!("model {id}") });
    }
    let m = state.model(&id)?;
    let dir = artifact::model_dir(&state.config().models, &id);
    let card_markdown = std::fs::read_to_string(dir.join("model_card.md")).unwrap_or_default();
    let backtest = artifact::backtest_report(&state.config().models, &id).as_ref().map(BacktestOut::from_report);
    Ok(Json(ModelDetail { model: ModelOut::from_model(&m), card_markdown, backtest }))
}
