//! The supervisors' dashboard: server-rendered HTML pages (maud templates, which escape every value) with
//! SVG charts and a little plain JavaScript, all embedded in the binary. Signing in with a token starts a
//! server-side session whose id, not the token, is kept in an HTTP-only cookie; every page applies the
//! token's role and region exactly as the API does (the same `Caller`, `Filter` and audit log).
//!
//! A crate of its own, downstream of `wagewatch-service`: [`app`] is the service's API router with these
//! pages merged in.

#![forbid(unsafe_code)]

mod charts;
mod entity;
mod html;
mod model;
mod overview;
mod plan;
mod session;
mod watchlist;

use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

use self::html::{layout, Lang, Nav};
use self::session::Viewer;
use wagewatch_core::features::EntityType;
use wagewatch_service::server::{ApiError, AppState};

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

/// The whole application: the API and these pages, behind the same limits, headers, metrics and fallbacks.
pub fn app(state: AppState) -> axum::Router {
    wagewatch_service::server::router_with(state, router())
}

/// The dashboard's routes (HTML; the JSON API is described by `/openapi.json`).
pub fn router() -> Router<AppState> {
    let asset = |content_type: &'static str, body: &'static str| {
        ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body)
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/watchlist") }))
        .route("/signin", get(session::signin_page).post(session::signin))
        .route("/signout", post(session::signout))
        .route("/lang/{code}", get(session::set_lang))
        .route("/watchlist", get(watchlist::watchlist_page))
        .route("/export", get(watchlist::export))
        .route("/entity/{kind}/{id}", get(entity::entity_page))
        .route("/overview", get(overview::overview_page))
        .route("/plan", get(plan::plan_page))
        .route("/model", get(model::model_page))
        .route("/model/charts/{name}", get(model::chart))
        .route("/assets/app.css", get(move || async move { asset("text/css; charset=utf-8", CSS) }))
        .route("/assets/app.js", get(move || async move { asset("text/javascript; charset=utf-8", JS) }))
}

/// An HTML page (never cached: pages carry scores).
pub(crate) struct Html(Markup);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
            self.0.into_string(),
        )
            .into_response()
    }
}

/// A page of the signed-in viewer, or the error page with the API's status.
pub(crate) fn page(viewer: &Viewer, title: &str, nav: Nav, body: Result<Markup, ApiError>) -> Response {
    match body {
        Ok(body) => Html(layout(viewer.lang, title, nav, Some(&viewer.caller.0), &viewer.here, body)).into_response(),
        Err(e) => error_page(viewer.lang, Some(viewer), &viewer.here, e),
    }
}

/// An error as a page, with the API's status.
pub(crate) fn error_page(lang: Lang, viewer: Option<&Viewer>, here: &str, e: ApiError) -> Response {
    let message = match &e {
        ApiError::NotFound { .. } => {
            lang.t("未找到，或不在您的辖区内。", "Not found, or outside your region.").to_string()
        }
        ApiError::OutsideRegion { .. } => {
            lang.t("所选地区不在您的辖区内。", "The region you chose is outside your region.").to_string()
        }
        ApiError::Forbidden { .. } => lang.t("您的角色无权进行此操作。", "Your role may not do this.").to_string(),
        ApiError::NoRun => lang.t("尚无评分批次。", "No run has been published yet.").to_string(),
        ApiError::CrossSite => {
            lang.t("请从本系统页面提交。", "Please submit this from the dashboard's own page.").to_string()
        }
        ApiError::RateLimited { retry_after_seconds } => match lang {
            Lang::Zh => format!("操作过于频繁，请 {retry_after_seconds} 秒后再试。"),
            Lang::En => format!("Too many attempts: try again in {retry_after_seconds} s."),
        },
        ApiError::Internal(cause) => {
            tracing::error!(%cause, "dashboard page failed");
            lang.t("服务器内部错误。", "Internal error.").to_string()
        }
        other => other.to_string(),
    };
    let body = html! {
        h1 { (lang.t("无法显示", "Cannot show this")) }
        p class="error" role="alert" { (message) }
        p { a href="/watchlist" { (lang.t("返回风险名单", "Back to the watchlist")) } }
    };
    let status = e.status();
    let page = layout(lang, lang.t("错误", "Error"), Nav::None, viewer.map(|v| &v.caller.0), here, body);
    let mut response = (status, Html(page)).into_response();
    if let ApiError::RateLimited { retry_after_seconds } = e {
        response.headers_mut().insert(header::RETRY_AFTER, retry_after_seconds.into());
    }
    response
}

/// The name of an entity type.
pub(crate) fn type_name(t: EntityType, lang: Lang) -> &'static str {
    match t {
        EntityType::Employer => lang.t("企业", "employer"),
        EntityType::Project => lang.t("项目", "project"),
    }
}

/// The dashboard page of an entity.
pub(crate) fn entity_href(t: EntityType, id: &str) -> String {
    format!("/entity/{}/{}", t.code(), html::url(id))
}
