//! `GET /v1/employers/{id}` and `GET /v1/projects/{id}`: one entity in detail.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::query::{self, KEY_FEATURES};
use crate::runs::Relation;
use crate::server::extract::{ApiPath, ApiQuery};
use crate::server::wire::{
    band_change, AlertOut, BandFloorOut, EntityDetail, ErrorBody, FeatureOut, HistoryPoint, LeverOut, ReasonOut,
    RelatedOut,
};
use crate::server::{ApiError, AppState, Caller};
use wagewatch_core::features::EntityType;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_employer)).routes(routes!(get_project))
}

/// Which run to read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntityQuery {
    /// A run id; the current run when absent.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub run: Option<String>,
}

async fn detail(
    state: AppState,
    caller: Caller,
    t: EntityType,
    id: String,
    q: EntityQuery,
) -> Result<EntityDetail, ApiError> {
    if q.run.as_deref().is_some_and(|r| !crate::server::wire::run_id_ok(r)) {
        return Err(ApiError::BadParameter { name: "run", reason: "not a run id this API returned".into() });
    }
    // One snapshot for the whole request: the run read and the history beside it.
    let snapshot = state.snapshot();
    let view = state.run_view(&snapshot, q.run.as_deref()).await?;
    // An entity outside the caller's region is answered exactly like one that does not exist.
    let not_found = || ApiError::NotFound { what: format!("{} {id}", t.code()) };
    let row = view.row(t, &id).filter(|r| caller.sees(r.region)).ok_or_else(not_found)?;
    let features = t.features();
    let key_features = KEY_FEATURES
        .iter()
        .filter_map(|f| features.iter().position(|g| g == f).filter(|&i| row.features[i].is_finite()))
        .map(|i| FeatureOut::new(features[i], row.features[i]))
        .collect();
    let history = snapshot
        .history(t, &id)
        .map(|(run, r)| HistoryPoint {
            run_id: run.run_id.clone(),
            as_of: run.as_of.to_string(),
            created_at: run.created_at.to_string(),
            score: r.score,
            rank: r.rank,
            band: r.band.code().to_string(),
        })
        .collect();
    let related_row = |t: EntityType, id: &str, relation: &str| {
        let r = view.row(t, id);
        let visible = r.filter(|r| caller.sees(r.region));
        RelatedOut {
            entity_type: t.code().to_string(),
            entity_id: id.to_string(),
            name: visible.map(|r| r.name.clone()),
            relation: relation.to_string(),
            region_code: visible.map(|r| r.region.to_string()),
            band: visible.map(|r| r.band.code().to_string()),
            score: visible.map(|r| r.score),
        }
    };
    let mut related: Vec<RelatedOut> =
        view.linked(t, &id).into_iter().map(|(lt, lid, relation)| related_row(lt, lid, relation.code())).collect();
    if let Some(owner) = &row.owner_id {
        related.push(RelatedOut {
            entity_type: "owner".into(),
            entity_id: owner.clone(),
            name: None,
            relation: Relation::Owner.code().into(),
            region_code: None,
            band: None,
            score: None,
        });
    }
    // Links to entities outside the caller's region keep only their id and relation.
    related.sort_by_key(|r| (r.relation != Relation::GeneralContractor.code(), r.band.is_none(), r.entity_id.clone()));
    let record = &view.data.record;
    let detail = EntityDetail {
        entity_type: t.code().to_string(),
        entity_id: row.entity_id.clone(),
        name: row.name.clone(),
        region_code: row.region.to_string(),
        sector: row.sector.code().to_string(),
        kind: row.kind.map(|k| k.code().to_string()),
        run_id: record.run_id.clone(),
        as_of: record.as_of.to_string(),
        score: row.score,
        rank: row.rank,
        band: row.band.code().to_string(),
        previous_score: row.previous_score,
        band_change: band_change(row.band, row.previous_band).to_string(),
        new_on_list: row.new_on_list,
        band_floor: BandFloorOut::of_row(row),
        reasons: row.reasons.iter().map(ReasonOut::from_reason).collect(),
        expected_unpaid_yuan: row.expected_unpaid_yuan,
        expected_workers: row.expected_workers,
        levers: LeverOut::of_row(row),
        alerts: row.alerts.iter().map(AlertOut::from_alert).collect(),
        key_features,
        history,
        related,
    };
    let route = format!("/v1/{}s/{{id}}", t.code());
    let filters = query::audited([("id", Some(id.clone())), ("run", q.run)]);
    state.audit_read(&caller, &route, filters, 1).await?;
    Ok(detail)
}

/// An employer: score, band, reasons, alerts, key features, history across runs, its projects.
#[utoipa::path(
    get, path = "/v1/employers/{id}", tag = "entities",
    params(("id" = String, Path, description = "The employer's id", max_length = 64), EntityQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The employer", body = EntityDetail),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 404, description = "No such employer in the caller's region, or no such run", body = ErrorBody),
        (status = 503, description = "No run published yet", body = ErrorBody)
    )
)]
pub async fn get_employer(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<EntityQuery>,
) -> Result<Json<EntityDetail>, ApiError> {
    detail(state, caller, EntityType::Employer, id, q).await.map(Json)
}

/// A project: score, band, reasons, alerts, key features, history, its contractor, subcontractors, owner.
#[utoipa::path(
    get, path = "/v1/projects/{id}", tag = "entities",
    params(("id" = String, Path, description = "The project's id", max_length = 64), EntityQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The project", body = EntityDetail),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 404, description = "No such project in the caller's region, or no such run", body = ErrorBody),
        (status = 503, description = "No run published yet", body = ErrorBody)
    )
)]
pub async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<EntityQuery>,
) -> Result<Json<EntityDetail>, ApiError> {
    detail(state, caller, EntityType::Project, id, q).await.map(Json)
}
