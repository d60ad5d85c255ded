//! The one error type of the HTTP layer: a stable machine-readable `code`, a human message, and the
//! status. 4xx say what was wrong; 5xx say nothing internal (the cause is logged).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::wire::ErrorBody;

/// Everything a handler can answer instead of its result.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or malformed Authorization header: send 'Authorization: Bearer <token>'")]
    MissingToken,
    #[error("the token is unknown, revoked or expired")]
    BadToken,
    #[error("this form must be sent from this site's own pages")]
    CrossSite,
    #[error("too many requests of this kind: try again in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("the server is at capacity: try again shortly")]
    Overloaded,
    #[error("this route needs the {needed} role")]
    Forbidden { needed: &'static str },
    #[error("region {requested} is outside the token's region {allowed}")]
    OutsideRegion { requested: String, allowed: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("bad parameter {name}: {reason}")]
    BadParameter { name: &'static str, reason: String },
    #[error("bad request body: {reason}")]
    BadBody { reason: String },
    #[error("the request body is larger than the server accepts")]
    TooLarge,
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("{reason}")]
    Unprocessable { reason: String },
    #[error("no route {method} {path}")]
    NoRoute { method: String, path: String },
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("{0}")]
    Conflict(String),
    #[error("the server cannot write its state database")]
    NotWritable,
    #[error("no run has been published yet: start one with POST /v1/runs or wagewatch rescore")]
    NoRun,
    #[error("a re-score is already running")]
    Busy,
    #[error("the request took longer than {seconds} s")]
    Timeout { seconds: u64 },
    /// The cause is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingToken | ApiError::BadToken => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } | ApiError::OutsideRegion { .. } | ApiError::CrossSite => StatusCode::FORBIDDEN,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound { .. } | ApiError::NoRoute { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BadParameter { .. } | ApiError::BadBody { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) | ApiError::Busy => StatusCode::CONFLICT,
            ApiError::NoRun | ApiError::Timeout { .. } | ApiError::Overloaded | ApiError::NotWritable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MissingToken => "missing_token",
            ApiError::BadToken => "bad_token",
            ApiError::CrossSite => "cross_site",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Overloaded => "overloaded",
            ApiError::NotWritable => "not_writable",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::OutsideRegion { .. } => "outside_region",
            ApiError::NotFound { .. } => "not_found",
            ApiError::NoRoute { .. } => "no_route",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::TooLarge => "too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::BadParameter { .. } => "bad_parameter",
            ApiError::BadBody { .. } => "bad_body",
            ApiError::Unprocessable { .. } => "unprocessable",
            ApiError::Conflict(_) => "conflict",
            ApiError::NoRun => "no_run",
            ApiError::Busy => "busy",
            ApiError::Timeout { .. } => "timeout",
            ApiError::Internal(_) => "internal",
        }
    }

    /// An internal error from anything displayable; the cause is logged when the response is made.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(cause.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let retry_after = match &self {
            ApiError::RateLimited { retry_after_seconds } => Some(*retry_after_seconds),
            ApiError::Overloaded | ApiError::NotWritable => Some(1),
            _ => None,
        };
        let mut response =
            (self.status(), Json(ErrorBody { code: self.code().to_string(), message: self.to_string() }))
                .into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<crate::state::StateError> for ApiError {
    fn from(e: crate::state::StateError) -> ApiError {
        use crate::state::StateError as S;
        match e {
            S::DuplicateInspection { .. } => ApiError::Conflict(e.to_string()),
            S::UnknownToken { token_id } => ApiError::NotFound { what: format!("token {token_id}") },
            S::UnknownModel { model_id } => ApiError::NotFound { what: format!("model {model_id} in the registry") },
            S::AlreadyChampion { .. } | S::NoPreviousChampion | S::ChampionChanged { .. } => {
                ApiError::Conflict(e.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::champion::ChampionError> for ApiError {
    fn from(e: crate::champion::ChampionError) -> ApiError {
        use crate::champion::ChampionError as C;
        match e {
            C::State(s) => ApiError::from(s),
            C::RuleNotMet { .. } | C::StaleComparison { .. } | C::NotJudged { .. } => ApiError::Conflict(e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

/// Every error code with its status, for the OpenAPI document and its test.
pub const ERROR_CODES: [(&str, u16); 21] = [
    ("unprocessable", 422),
    ("no_route", 404),
    ("method_not_allowed", 405),
    ("too_large", 413),
    ("missing_token", 401),
    ("bad_token", 401),
    ("forbidden", 403),
    ("outside_region", 403),
    ("cross_site", 403),
    ("rate_limited", 429),
    ("overloaded", 503),
    ("not_writable", 503),
    ("unsupported_media_type", 415),
    ("not_found", 404),
    ("bad_parameter", 400),
    ("bad_body", 400),
    ("conflict", 409),
    ("busy", 409),
    ("no_run", 503),
    ("timeout", 503),
    ("internal", 500),
];
