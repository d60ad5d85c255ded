//! The API's routes, one module per resource, each with `fn router() -> OpenApiRouter<AppState>`; the
//! OpenAPI document is generated from the handlers' annotations as they are registered.

pub mod admin;
pub mod entities;
pub mod inspections;
pub mod models;
pub mod ops;
pub mod runs;
pub mod watchlist;

use utoipa::OpenApi;

/// The document's header; paths and schemas are added by the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "wagewatch API",
        description = "Arrears-risk scores, watchlists and runs. Every route but /healthz, /readyz, /metrics and \
/openapi.json needs `Authorization: Bearer <token>`. Inspectors and supervisors see only entities in their \
token's region; reads of scores are written to the audit log. Errors are JSON `{code, message}` with these \
codes: missing_token and bad_token (401), forbidden and outside_region (403), not_found and no_route (404), \
method_not_allowed (405), bad_parameter and bad_body (400), conflict and busy (409), too_large (413), \
internal (500), no_run and timeout (503).",
        version = "1"
    ),
    components(schemas(crate::server::wire::ErrorBody)),
    tags(
        (name = "watchlist", description = "Ranked risk lists"),
        (name = "entities", description = "One employer or project"),
        (name = "runs", description = "Batch re-scores"),
        (name = "models", description = "Trained models"),
        (name = "inspections", description = "Inspection outcomes recorded by inspectors"),
        (name = "admin", description = "Tokens and the audit log"),
        (name = "ops", description = "Health, readiness, metrics and this document")
    )
)]
pub struct ApiDoc;

/// The document's header.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
