//! Signing in and out, the session cookie and the language switch.
//!
//! Signing in with a token starts a session in the state database; the browser keeps only the session's
//! random id, in an HTTP-only, `SameSite=Strict` cookie (also `Secure`, and named `__Host-ww_session`, when
//! the server is configured for HTTPS). Sessions end on sign-out, after the configured idle time and
//! absolute lifetime, and when their token is revoked or expires. Sign-in and sign-out are forms that must
//! come from this site's own pages; failed sign-ins are audited and limited per client address.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, Extensions, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::html::{layout, Lang, Nav};
use super::{error_page, Html};
use wagewatch_service::server::{client_address, same_site, ApiError, ApiPath, ApiQuery, AppState, Caller};
use wagewatch_service::state::Timestamp;

const SESSION_COOKIE: &str = "ww_session";
const SECURE_SESSION_COOKIE: &str = "__Host-ww_session";
const LANG_COOKIE: &str = "ww_lang";

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG_COOKIE) {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// The session cookie's name and attributes under the server's configuration.
fn session_cookie(state: &AppState) -> (&'static str, &'static str) {
    if state.config().server.secure_cookies {
        (SECURE_SESSION_COOKIE, "; Path=/; HttpOnly; SameSite=Strict; Secure")
    } else {
        (SESSION_COOKIE, "; Path=/; HttpOnly; SameSite=Strict")
    }
}

/// A signed-in viewer of the dashboard; without a live session, a redirect to the sign-in page.
pub(crate) struct Viewer {
    pub caller: Caller,
    pub lang: Lang,
    /// The path and query of this page (for the language switch).
    pub here: String,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let lang = lang_of(&parts.headers);
        let here = parts.uri.path_and_query().map_or("/watchlist".to_string(), |p| p.to_string());
        let (name, _) = session_cookie(state);
        let Some(id) = cookie(&parts.headers, name).map(str::to_string) else {
            return Err(Redirect::to("/signin").into_response());
        };
        let limits = state.config().server.session_limits();
        match state.store(move |s| s.session_principal(&id, Timestamp::now(), limits)).await {
            Ok(Some(p)) => Ok(Viewer { caller: Caller(p), lang, here }),
            Ok(None) => Err(Redirect::to("/signin?expired=1").into_response()),
            Err(e) => Err(error_page(lang, None, &here, e)),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct SigninQuery {
    error: Option<String>,
    expired: Option<String>,
}

pub(crate) async fn signin_page(headers: HeaderMap, PageParams(q): PageParams<SigninQuery>) -> Html {
    let lang = lang_of(&headers);
    let notice = if q.error.is_some() {
        Some(lang.t("令牌无效、已撤销或已过期。", "The token is unknown, revoked or expired."))
    } else if q.expired.is_some() {
        Some(lang.t("会话已结束，请重新登录。", "Your session has ended: please sign in again."))
    } else {
        None
    };
    let body = html! {
        div class="signin" {
            h1 { (lang.t("登录", "Sign in")) }
            @if let Some(text) = notice { p class="error" role="alert" { (text) } }
            form method="post" action="/signin" {
                label for="token" { (lang.t("访问令牌", "Access token")) }
                input id="token" name="token" type="password" autocomplete="off" required autofocus;
                p class="meta" {
                    (lang.t("令牌由管理员发放（wagewatch token create）。", "Tokens are issued by an administrator (wagewatch token create)."))
                }
                button type="submit" { (lang.t("登录", "Sign in")) }
            }
        }
    };
    Html(layout(lang, lang.t("登录", "Sign in"), Nav::None, None, "/signin", body))
}

#[derive(Deserialize)]
pub(crate) struct SigninForm {
    token: String,
}

pub(crate) async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<SigninForm>,
) -> Response {
    let lang = lang_of(&headers);
    if !same_site(&headers) {
        return error_page(lang, None, "/signin", ApiError::CrossSite);
    }
    let client = client_address(&extensions);
    if let Some(retry_after_seconds) = state.signin_refused(&client) {
        let _ = state.audit(None, "POST", "/signin", format!("client={client}"), 0, 429).await;
        return error_page(lang, None, "/signin", ApiError::RateLimited { retry_after_seconds });
    }
    let principal = match state.principal(form.token.trim()).await {
        Ok(p) => p,
        Err(e) => return error_page(lang, None, "/signin", e),
    };
    let Some(principal) = principal else {
        state.signin_failed(&client);
        if let Err(e) = state.audit(None, "POST", "/signin", format!("client={client}"), 0, 401).await {
            return error_page(lang, None, "/signin", e);
        }
        return Redirect::to("/signin?error=1").into_response();
    };
    let token_id = principal.token_id;
    let id = match state.store(move |s| s.create_session(token_id, Timestamp::now())).await {
        Ok(id) => id,
        Err(e) => return error_page(lang, None, "/signin", e),
    };
    if let Err(e) = state.audit(Some(&principal), "POST", "/signin", format!("client={client}"), 0, 303).await {
        return error_page(lang, None, "/signin", e);
    }
    let (name, attributes) = session_cookie(&state);
    ([(header::SET_COOKIE, format!("{name}={id}{attributes}"))], Redirect::to("/watchlist")).into_response()
}

pub(crate) async fn signout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    if !same_site(&headers) {
        return error_page(lang, None, "/signout", ApiError::CrossSite);
    }
    let (name, attributes) = session_cookie(&state);
    if let Some(id) = cookie(&headers, name).map(str::to_string) {
        let limits = state.config().server.session_limits();
        let ended = state
            .store(move |s| {
                let who = s.session_principal(&id, Timestamp::now(), limits)?;
                s.delete_session(&id)?;
                Ok(who)
            })
            .await;
        match ended {
            Ok(who) => {
                let _ = state.audit(who.as_ref(), "POST", "/signout", String::new(), 0, 303).await;
            }
            Err(e) => return error_page(lang, None, "/signout", e),
        }
    }
    ([(header::SET_COOKIE, format!("{name}={attributes}; Max-Age=0"))], Redirect::to("/signin")).into_response()
}

#[derive(Deserialize)]
pub(crate) struct LangQuery {
    next: Option<String>,
}

/// Where the language switch may send the browser back to: a path of this site only. The path must start
/// with `/` and a letter (never `//` or `/\`, which browsers read as another host) and hold only printable
/// ASCII without backslashes, so no decoded tab, newline or backslash can turn it into another origin.
pub(crate) fn local_path(next: &str) -> Option<&str> {
    let b = next.as_bytes();
    let starts_local = b.len() >= 2 && b[0] == b'/' && b[1].is_ascii_alphabetic();
    let clean = b.iter().all(|&c| c.is_ascii_graphic() && c != b'\\');
    (starts_local && clean && next.len() <= 2048).then_some(next)
}

pub(crate) async fn set_lang(PagePath(code): PagePath<String>, PageParams(q): PageParams<LangQuery>) -> Response {
    let code = if code == "en" { "en" } else { "zh" };
    let next = q.next.as_deref().and_then(local_path).unwrap_or("/watchlist").to_string();
    (
        [(header::SET_COOKIE, format!("{LANG_COOKIE}={code}; Path=/; SameSite=Lax; Max-Age=31536000"))],
        Redirect::to(&next),
    )
        .into_response()
}

/// A page's query parameters; parameters a page cannot read (a repeated field, a value of the wrong type)
/// are answered with the error page, in the viewer's language, not with plain text.
pub(crate) struct PageParams<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageParams<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match ApiQuery::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(PageParams(q.0)),
            Err(e) => Err(error_page(lang_of(&parts.headers), None, parts.uri.path(), e)),
        }
    }
}

/// A page's path parameters; a path a page cannot read (not UTF-8 once decoded, or too long) is answered
/// with the error page, as [`PageParams`] answers a bad query.
pub(crate) struct PagePath<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PagePath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match ApiPath::<T>::from_request_parts(parts, state).await {
            Ok(p) => Ok(PagePath(p.0)),
            Err(e) => Err(error_page(lang_of(&parts.headers), None, "/", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_returns_only_to_this_site() {
        for ok in ["/watchlist", "/entity/employer/9132?x=1&y=%E4%B8%AD", "/model"] {
            assert_eq!(local_path(ok), Some(ok));
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "https://evil.example",
            "evil",
            "/",
            "/a b",
            "/%0a",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}
