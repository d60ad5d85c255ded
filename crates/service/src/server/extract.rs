//! Extractors whose rejections are `ApiError`s, so that a bad query or body is answered in the API's JSON
//! error format like every other error.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Query parameters, or `bad_parameter`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded_from(query).map(ApiQuery)
    }
}

fn serde_urlencoded_from<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .map_err(|_| ApiError::BadParameter { name: "query", reason: "the query string is not valid".into() })?;
    axum::extract::Query::<T>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::BadParameter { name: "query", reason: e.body_text() })
}

/// A JSON object body, or `unsupported_media_type` / `bad_body` / `too_large`. The body must be sent as
/// `application/json` and be one JSON object: serde would also read a struct from an array
/// (`[null, null]`), which no documented body is.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::BadBody { reason: e.body_text() }
            }
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::BadBody { reason: e.to_string() })?;
        if !value.is_object() {
            return Err(ApiError::BadBody { reason: "the body must be a JSON object".into() });
        }
        serde_json::from_value(value).map(ApiJson).map_err(|e| ApiError::BadBody { reason: e.to_string() })
    }
}

/// The longest request path the API reads: an id is at most 64 characters, so anything far longer is
/// refused before it is parsed or echoed in an error.
pub const MAX_PATH_BYTES: usize = 1024;

/// Path parameters, or `bad_parameter` (a path that is not UTF-8 once decoded, or longer than
/// [`MAX_PATH_BYTES`]).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.path().len() > MAX_PATH_BYTES {
            return Err(ApiError::BadParameter {
                name: "path",
                reason: format!("the path is longer than {MAX_PATH_BYTES} bytes"),
            });
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::BadParameter { name: "path", reason: e.body_text() })
    }
}
