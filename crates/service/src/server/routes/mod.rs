//! The API's routes, one module per resource, each with `fn router() -> OpenApiRouter<AppState>`; the
//! OpenAPI document is generated from the handlers' annotations as they are registered.

pub mod admin;
pub mod alerts;
pub mod entities;
pub mod inspections;
pub mod models;
pub mod ops;
pub mod plans;
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
token's region; an admin acts only within its region. Reads of scores and privileged actions are written to \
the audit log. Errors are JSON `{code, message}` with these codes: bad_parameter and bad_body (400), \
missing_token and bad_token (401), forbidden, outside_region and cross_site (403), not_found and no_route \
(404), method_not_allowed (405), conflict and busy (409), too_large (413), unsupported_media_type (415), \
unprocessable (422), rate_limited (429, with Retry-After), internal (500), no_run, timeout, overloaded and \
not_writable (503).",
        version = "1"
    ),
    components(schemas(
        crate::server::wire::ErrorBody,
        crate::server::wire::EntityTypeCode,
        crate::server::wire::SectorCode,
        crate::server::wire::KindCode,
        crate::server::wire::RoleCode,
        crate::server::wire::ExportFormatCode,
        crate::server::wire::RankByCode
    )),
    tags(
        (name = "watchlist", description = "Ranked risk lists"),
        (name = "entities", description = "One employer or project"),
        (name = "alerts", description = "What re-scores raised"),
        (name = "plans", description = "Inspection plans"),
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

/// The responses every operation can give besides its own, added to the document so that it states every
/// status the server answers: 401 on secured operations, 400 where there are parameters, 400, 413 and 415
/// where there is a body, and 503 everywhere (overloaded, timeout). The watchlist's `limit` gets the
/// configured maximum.
pub fn complete_document(api: &utoipa::openapi::OpenApi, server: &crate::config::ServerConfig) -> String {
    use serde_json::{json, Value};
    let mut doc = serde_json::to_value(api).expect("the OpenAPI document serialises");
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    };
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc.to_string();
    };
    for (path, item) in paths.iter_mut() {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else { continue };
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let has_parameters = op.get("parameters").and_then(Value::as_array).is_some_and(|p| !p.is_empty());
            let has_body = op.contains_key("requestBody");
            if path.starts_with("/v1/watchlist") {
                for p in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                    if p["name"] == "limit" {
                        p["schema"]["maximum"] = json!(server.max_page);
                    }
                }
            }
            let responses = op.entry("responses").or_insert_with(|| json!({}));
            let Some(responses) = responses.as_object_mut() else { continue };
            let mut add = |status: &str, description: &str| {
                responses.entry(status.to_string()).or_insert_with(|| error(description));
            };
            if secured {
                add("401", "No token, or an unknown, revoked or expired one");
            }
            if has_parameters {
                add("400", "A parameter is invalid");
            }
            if has_body {
                add("400", "The body is invalid");
                add("413", "The body is larger than the server accepts");
                add("415", "The body is not application/json");
            }
            add(
                "503",
                "The server is at capacity (overloaded), the request took too long (timeout), or no run is served yet",
            );
        }
    }
    serde_json::to_string_pretty(&doc).expect("the OpenAPI document serialises")
}
