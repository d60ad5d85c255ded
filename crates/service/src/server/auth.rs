//! Bearer-token authentication and the role and region rules every route applies.
//!
//! A presented secret is looked up only when it has the token format; only tokens found valid are cached,
//! keyed by their hash, for [`TOKEN_CACHE_TTL`]: what a stranger sends is never kept.

use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::error::ApiError;
use super::AppState;
use crate::state::{Principal, Role, SecretHash, Timestamp};
use wagewatch_core::contract::{RegionCode, RegionPrefix};

/// How long a resolved token is trusted before the database is asked again (so a revocation or an expiry
/// takes effect within this time on a running server).
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(2);
/// Tokens cached at most; the cache is emptied when full.
const TOKEN_CACHE_MAX: usize = 10_000;

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

    /// Fails unless the caller is an admin of the whole country: what it does (a re-score of every
    /// entity) reaches beyond any one region.
    pub fn require_national_admin(&self) -> Result<(), ApiError> {
        if self.0.role == Role::Admin && self.0.region == RegionPrefix::ALL {
            Ok(())
        } else {
            Err(ApiError::Forbidden { needed: "admin of all regions" })
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

    /// Fails unless `region` lies wholly within the caller's region (what an admin of a region may grant).
    pub fn covers(&self, region: RegionPrefix) -> Result<(), ApiError> {
        if self.0.region.covers(region) {
            Ok(())
        } else {
            Err(ApiError::OutsideRegion { requested: region.to_string(), allowed: self.0.region.to_string() })
        }
    }
}

/// The secret of an `Authorization: Bearer <secret>` header (the scheme in any case, as HTTP allows).
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or(ApiError::MissingToken)?;
    let value = value.to_str().map_err(|_| ApiError::MissingToken)?;
    let (scheme, secret) = value.trim().split_once(' ').ok_or(ApiError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::MissingToken);
    }
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(ApiError::MissingToken);
    }
    Ok(secret)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let secret = bearer(&parts.headers)?;
        let principal = state.principal(secret).await?.ok_or(ApiError::BadToken)?;
        parts.extensions.insert(Caller(principal.clone()));
        Ok(Caller(principal))
    }
}

impl AppState {
    /// Resolves a secret: through the short-lived cache of valid tokens, then the database. A secret that
    /// does not have the token format is unknown without a lookup.
    pub async fn principal(&self, secret: &str) -> Result<Option<Principal>, ApiError> {
        let Some(hash) = SecretHash::of(secret) else { return Ok(None) };
        let now = Instant::now();
        if let Some((p, at)) = self.cache_read().get(&hash) {
            if now.duration_since(*at) < TOKEN_CACHE_TTL {
                return Ok(Some(p.clone()));
            }
        }
        let lookup = hash.clone();
        let found = self.store(move |s| s.principal(&lookup, Timestamp::now())).await?;
        let mut cache = self.cache_write();
        match &found {
            Some(p) => {
                if cache.len() >= TOKEN_CACHE_MAX {
                    cache.clear();
                }
                cache.insert(hash, (p.clone(), now));
            }
            None => {
                cache.remove(&hash);
            }
        }
        Ok(found)
    }

    /// Forgets cached tokens (after a revocation through the API).
    pub fn forget_tokens(&self) {
        self.cache_write().clear();
    }

    /// How many tokens are cached (for tests and metrics).
    pub fn cached_tokens(&self) -> usize {
        self.cache_read().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[track_caller]
    fn check(value: &'static str, expected: Result<&str, &str>) {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        match (bearer(&h), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(e), Err(code)) => assert_eq!(e.code(), code),
            (got, want) => panic!("{value}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn the_bearer_scheme_in_any_case() {
        check("Bearer ww_1", Ok("ww_1"));
        check("bearer ww_1", Ok("ww_1"));
        check("BEARER   ww_1  ", Ok("ww_1"));
        check("Basic dXNlcg==", Err("missing_token"));
        check("Bearer", Err("missing_token"));
        check("Bearer  ", Err("missing_token"));
        assert_eq!(bearer(&HeaderMap::new()).unwrap_err().code(), "missing_token");
    }
}
