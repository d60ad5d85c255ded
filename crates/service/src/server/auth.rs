//! Bearer-token authentication and the role and region rules every route applies.

use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::AppState;
use crate::state::{Principal, Role};
use wagewatch_core::contract::{RegionCode, RegionPrefix};

/// How long a resolved token is trusted before the database is asked again (so a revocation takes
/// effect within this time on a running server).
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(2);

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller(pub Principal);

impl Caller {
    /// Fails unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], needed: &'static str) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden { needed })
        }
    }

    /// Whether the caller may see an entity in this district.
    pub fn sees(&self, region: RegionCode) -> bool {
        self.0.region.contains(region)
    }

    /// The region a filter may cover: the requested one narrowed to the caller's, or an error when the two
    /// do not overlap.
    pub fn scope(&self, requested: Option<RegionPrefix>) -> Result<RegionPrefix, ApiError> {
        let allowed = self.0.region;
        match requested {
            None => Ok(allowed),
            Some(r) => allowed
                .intersect(r)
                .ok_or_else(|| ApiError::OutsideRegion { requested: r.to_string(), allowed: allowed.to_string() }),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or(ApiError::MissingToken)?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(ApiError::MissingToken)?;
        let principal = state.principal(secret)?.ok_or(ApiError::BadToken)?;
        parts.extensions.insert(Caller(principal.clone()));
        Ok(Caller(principal))
    }
}

impl AppState {
    /// Resolves a secret through the short-lived cache, then the database.
    pub fn principal(&self, secret: &str) -> Result<Option<Principal>, ApiError> {
        let now = Instant::now();
        if let Some((p, at)) = self.inner.token_cache.read().expect("token cache lock").get(secret) {
            if now.duration_since(*at) < TOKEN_CACHE_TTL {
                return Ok(p.clone());
            }
        }
        let p = self.inner.store.lock().expect("store lock").principal(secret)?;
        let mut cache = self.inner.token_cache.write().expect("token cache lock");
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(secret.to_string(), (p.clone(), now));
        Ok(p)
    }

    /// Forgets cached tokens (after a revocation through the API).
    pub fn forget_tokens(&self) {
        self.inner.token_cache.write().expect("token cache lock").clear();
    }
}
