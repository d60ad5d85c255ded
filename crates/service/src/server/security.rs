//! What every response carries for the browser's protection, and the check that a state-changing form
//! came from this site's own pages.
//!
//! Every response gets a strict Content-Security-Policy (only this origin's scripts, styles and images; no
//! inline script; no framing; forms post only here), `X-Content-Type-Options: nosniff`,
//! `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer`; and `Cache-Control: no-store` unless the
//! handler chose otherwise (the static assets do), so scores and exports are never kept in caches.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

/// The Content-Security-Policy of every response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to a response. Called by the middleware every route already has and by the
/// fallbacks: a layer of its own would wrap every route once more, which cost a fifth of the API's
/// throughput in the load benchmark.
pub fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Whether a state-changing request came from this site's own pages: the browser says so in
/// `Sec-Fetch-Site` (`same-origin`, or `none` for something the person typed), or, from browsers that do
/// not send it, the `Origin` header names the host the request was sent to. A request with neither is
/// refused: every browser that can show the dashboard sends at least one of them with a form.
pub fn same_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin") | Ok("none"));
    }
    let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) else {
        return false;
    };
    let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else { return false };
    let authority = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(pairs: &[(&'static str, &'static str)], expected: bool) {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        assert_eq!(same_site(&h), expected, "{pairs:?}");
    }

    #[test]
    fn only_this_sites_pages_may_post() {
        check(&[("sec-fetch-site", "same-origin")], true);
        check(&[("sec-fetch-site", "none")], true);
        check(&[("sec-fetch-site", "cross-site"), ("origin", "http://h:1"), ("host", "h:1")], false);
        check(&[("sec-fetch-site", "same-site")], false);
        check(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")], true);
        check(&[("origin", "https://wagewatch.gov.cn"), ("host", "wagewatch.gov.cn")], true);
        check(&[("origin", "http://evil.example"), ("host", "127.0.0.1:8080")], false);
        check(&[("origin", "null"), ("host", "127.0.0.1:8080")], false);
        check(&[("host", "127.0.0.1:8080")], false);
        check(&[], false);
    }
}
