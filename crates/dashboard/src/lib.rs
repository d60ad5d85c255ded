//! The supervisors' dashboard: server-rendered HTML pages with SVG charts and a little plain JavaScript,
//! all embedded in the binary. Sign-in puts the token in an HTTP-only cookie; every page applies the
//! token's role and region exactly as the API does (the same `Caller`, `Filter` and audit log).
//!
//! A crate of its own, downstream of `wagewatch-service`: [`app`] is the service's API router with these
//! pages merged in.

#![forbid(unsafe_code)]

mod charts;
mod html;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use self::html::{band_chip, esc, layout, money, percent, thousands, url, Lang, Nav};
use wagewatch_core::contract::{Category, Outcome, RegionCode};
use wagewatch_core::features::EntityType;
use wagewatch_core::model::Band;
use wagewatch_service::query::KEY_FEATURES;
use wagewatch_service::runs::{Happened, Relation, RunRow};
use wagewatch_service::server::routes::watchlist::{export_file, filter_of};
use wagewatch_service::server::wire::WatchlistQuery;
use wagewatch_service::server::{ApiError, AppState, Caller};
use wagewatch_service::state::{self, Role};

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");
const TOKEN_COOKIE: &str = "ww_token";
const LANG_COOKIE: &str = "ww_lang";
/// Rows per dashboard page.
const PAGE: usize = 50;

/// The whole application: the API and these pages, behind the same limits, metrics and fallbacks.
pub fn app(state: AppState) -> axum::Router {
    wagewatch_service::server::router_with(state, router())
}

/// The dashboard's routes (HTML; the JSON API is described by `/openapi.json`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/watchlist") }))
        .route("/signin", get(signin_page).post(signin))
        .route("/signout", post(signout))
        .route("/lang/{code}", get(set_lang))
        .route("/watchlist", get(watchlist_page))
        .route("/export", get(export))
        .route("/entity/{kind}/{id}", get(entity_page))
        .route("/overview", get(overview_page))
        .route("/model", get(model_page))
        .route("/assets/app.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS) }))
        .route("/assets/app.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], JS) }))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG_COOKIE).as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// A signed-in viewer of the dashboard; without a valid token cookie, a redirect to the sign-in page.
struct Viewer {
    caller: Caller,
    lang: Lang,
    /// The path and query of this page (for the language switch).
    here: String,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let lang = lang_of(&parts.headers);
        let here = parts.uri.path_and_query().map_or("/watchlist".to_string(), |p| p.to_string());
        let token = cookie(&parts.headers, TOKEN_COOKIE).ok_or_else(|| Redirect::to("/signin").into_response())?;
        match state.principal(&token) {
            Ok(Some(p)) => Ok(Viewer { caller: Caller(p), lang, here }),
            Ok(None) => Err(Redirect::to("/signin?error=1").into_response()),
            Err(e) => Err(error_page(lang, None, &here, e)),
        }
    }
}

/// An error as a page, with the API's status.
fn error_page(lang: Lang, viewer: Option<&Viewer>, here: &str, e: ApiError) -> Response {
    let message = match &e {
        ApiError::NotFound { .. } => {
            lang.t("未找到，或不在您的辖区内。", "Not found, or outside your region.").to_string()
        }
        ApiError::OutsideRegion { .. } => {
            lang.t("所选地区不在您的辖区内。", "The region you chose is outside your region.").to_string()
        }
        ApiError::Forbidden { .. } => lang.t("您的角色无权进行此操作。", "Your role may not do this.").to_string(),
        ApiError::NoRun => lang.t("尚无评分批次。", "No run has been published yet.").to_string(),
        ApiError::Internal(_) => lang.t("服务器内部错误。", "Internal error.").to_string(),
        other => other.to_string(),
    };
    let body = format!(
        r#"<h1>{}</h1><p class="error" role="alert">{}</p><p><a href="/watchlist">{}</a></p>"#,
        lang.t("无法显示", "Cannot show this"),
        esc(&message),
        lang.t("返回风险名单", "Back to the watchlist")
    );
    let status = e.status();
    if let ApiError::Internal(cause) = &e {
        tracing::error!(%cause, "dashboard page failed");
    }
    let page = layout(lang, lang.t("错误", "Error"), Nav::None, viewer.map(|v| &v.caller.0), here, &body);
    (status, Html(page)).into_response()
}

/// An HTML response.
struct Html(String);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], self.0)
            .into_response()
    }
}

#[derive(Deserialize)]
struct SigninQuery {
    error: Option<String>,
}

async fn signin_page(headers: HeaderMap, axum::extract::Query(q): axum::extract::Query<SigninQuery>) -> Html {
    let lang = lang_of(&headers);
    let error = if q.error.is_some() {
        format!(
            r#"<p class="error" role="alert">{}</p>"#,
            lang.t("令牌无效或已撤销。", "The token is unknown or revoked.")
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"<div class="signin"><h1>{title}</h1>{error}<form method="post" action="/signin">
<label for="token">{label}</label><input id="token" name="token" type="password" autocomplete="off" required autofocus>
<p class="meta">{hint}</p><button type="submit">{submit}</button></form></div>"#,
        title = lang.t("登录", "Sign in"),
        label = lang.t("访问令牌", "Access token"),
        hint = lang.t(
            "令牌由管理员发放（wagewatch token create）。",
            "Tokens are issued by an administrator (wagewatch token create)."
        ),
        submit = lang.t("登录", "Sign in"),
    );
    Html(layout(lang, lang.t("登录", "Sign in"), Nav::None, None, "/signin", &body))
}

#[derive(Deserialize)]
struct SigninForm {
    token: String,
}

async fn signin(State(state): State<AppState>, Form(form): Form<SigninForm>) -> Response {
    let token = form.token.trim().to_string();
    match state.principal(&token) {
        Ok(Some(_)) => (
            [(header::SET_COOKIE, format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"))],
            Redirect::to("/watchlist"),
        )
            .into_response(),
        _ => Redirect::to("/signin?error=1").into_response(),
    }
}

async fn signout() -> Response {
    (
        [(header::SET_COOKIE, format!("{TOKEN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"))],
        Redirect::to("/signin"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct LangQuery {
    next: Option<String>,
}

async fn set_lang(Path(code): Path<String>, axum::extract::Query(q): axum::extract::Query<LangQuery>) -> Response {
    let code = if code == "en" { "en" } else { "zh" };
    // Only a path on this site, never another origin.
    let next = q.next.filter(|n| n.starts_with('/') && !n.starts_with("//")).unwrap_or_else(|| "/watchlist".into());
    (
        [(header::SET_COOKIE, format!("{LANG_COOKIE}={code}; Path=/; SameSite=Lax; Max-Age=31536000"))],
        Redirect::to(&next),
    )
        .into_response()
}

/// The watchlist page's parameters: the API's filters plus sorting and a page number.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    entity_type: Option<String>,
    region: Option<String>,
    sector: Option<String>,
    kind: Option<String>,
    band: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<usize>,
}

impl PageQuery {
    fn nonempty(v: &Option<String>) -> Option<String> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
    }

    fn filters(&self) -> WatchlistQuery {
        WatchlistQuery {
            entity_type: Self::nonempty(&self.entity_type),
            region: Self::nonempty(&self.region),
            sector: Self::nonempty(&self.sector),
            kind: Self::nonempty(&self.kind),
            band: Self::nonempty(&self.band),
            q: Self::nonempty(&self.q),
            ..Default::default()
        }
    }

    /// The filters as a query string (for links that keep them).
    fn query_string(&self) -> String {
        let f = self.filters();
        [
            ("entity_type", f.entity_type),
            ("region", f.region),
            ("sector", f.sector),
            ("kind", f.kind),
            ("band", f.band),
            ("q", f.q),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", url(&v))))
        .collect::<Vec<_>>()
        .join("&")
    }
}

fn type_name(t: EntityType, lang: Lang) -> &'static str {
    match t {
        EntityType::Employer => lang.t("企业", "employer"),
        EntityType::Project => lang.t("项目", "project"),
    }
}

fn entity_href(t: EntityType, id: &str) -> String {
    format!("/entity/{}/{}", t.code(), url(id))
}

/// The change since the last run, in words and arrows.
fn change_cell(r: &RunRow, lang: Lang) -> String {
    let mut out = String::new();
    match r.previous_score {
        Some(p) => {
            let d = (r.score - p) * 100.0;
            if d >= 0.05 {
                let _ = write!(out, r#"<span class="up" title="{}">↑ {d:.1}</span>"#, lang.t("百分点", "points"));
            } else if d <= -0.05 {
                let _ = write!(out, r#"<span class="down" title="{}">↓ {:.1}</span>"#, lang.t("百分点", "points"), -d);
            } else {
                out.push('–');
            }
        }
        None => out.push_str(lang.t("首次", "first")),
    }
    if r.new_on_list {
        let _ = write!(out, r#" <span class="new">{}</span>"#, lang.t("新上榜", "new"));
    }
    out
}

async fn watchlist_page(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> Response {
    let lang = viewer.lang;
    match render_watchlist(&state, &viewer, &q).await {
        Ok(page) => Html(layout(
            lang,
            lang.t("风险名单", "Watchlist"),
            Nav::Watchlist,
            Some(&viewer.caller.0),
            &viewer.here,
            &page,
        ))
        .into_response(),
        Err(e) => error_page(lang, Some(&viewer), &viewer.here, e),
    }
}

async fn render_watchlist(state: &AppState, viewer: &Viewer, q: &PageQuery) -> Result<String, ApiError> {
    let lang = viewer.lang;
    let caller = &viewer.caller;
    let filters = q.filters();
    let filter = filter_of(&filters, caller)?;
    let snapshot = state.snapshot();
    let view = snapshot.pick(None)?;
    let mut rows: Vec<&RunRow> = filter.select(&view.data.rows).collect();
    let sort = q.sort.as_deref().unwrap_or("rank");
    let desc = q.dir.as_deref() == Some("desc");
    match sort {
        "score" => rows.sort_by(|a, b| a.score.total_cmp(&b.score).then(b.rank.cmp(&a.rank))),
        "name" => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        "region" => rows.sort_by_key(|r| (r.region, r.entity_type, r.rank)),
        "change" => rows.sort_by(|a, b| {
            let d = |r: &RunRow| r.previous_score.map_or(r.score, |p| r.score - p);
            d(a).total_cmp(&d(b))
        }),
        _ => {}
    }
    if desc {
        rows.reverse();
    }
    let total = rows.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let shown = &rows[(page - 1) * PAGE..(page * PAGE).min(total)];
    state
        .audit(caller, "GET", "/watchlist", format!("{}&sort={sort}&page={page}", q.query_string()), shown.len() as u64)
        .await?;

    // Region choices: the cities and districts of the caller's region that have entities.
    let scope = caller.0.region;
    let mut cities = BTreeSet::new();
    let mut districts = BTreeSet::new();
    for r in view.data.rows.iter().filter(|r| scope.contains(r.region)) {
        let code = r.region.to_string();
        if scope.digits() < 4 {
            cities.insert(code[..4].to_string());
        }
        districts.insert(code);
    }
    let selected = |v: &Option<String>, x: &str| if v.as_deref() == Some(x) { " selected" } else { "" };
    let mut out = String::new();
    let record = &view.data.record;
    let _ = write!(
        out,
        r#"<h1>{}</h1><p class="meta">{} {} · {} {} · {} {}</p>"#,
        lang.t("欠薪风险名单", "Wage-arrears watchlist"),
        lang.t("评分日", "as of"),
        record.as_of,
        lang.t("批次", "run"),
        esc(&record.run_id),
        lang.t("模型", "model"),
        esc(&record.model_id)
    );
    let _ = write!(
        out,
        r#"<form class="filters" method="get" action="/watchlist" role="search" aria-label="{}">"#,
        lang.t("筛选", "Filters")
    );
    let _ = write!(
        out,
        r#"<label>{}<select name="entity_type"><option value="">{}</option><option value="employer"{}>{}</option><option value="project"{}>{}</option></select></label>"#,
        lang.t("类型", "Type"),
        lang.t("全部", "all"),
        selected(&filters.entity_type, "employer"),
        type_name(EntityType::Employer, lang),
        selected(&filters.entity_type, "project"),
        type_name(EntityType::Project, lang)
    );
    let _ = write!(
        out,
        r#"<label>{}<select name="region"><option value="">{}</option>"#,
        lang.t("地区", "Region"),
        lang.t("全部辖区", "whole region")
    );
    for c in &cities {
        let _ = write!(
            out,
            r#"<option value="{c}"{}>{c} {}</option>"#,
            selected(&filters.region, c),
            lang.t("（市）", "(city)")
        );
    }
    for d in &districts {
        let _ = write!(out, r#"<option value="{d}"{}>{d}</option>"#, selected(&filters.region, d));
    }
    out.push_str("</select></label>");
    let _ = write!(
        out,
        r#"<label>{}<select name="sector"><option value="">{}</option>"#,
        lang.t("行业", "Sector"),
        lang.t("全部", "all")
    );
    for (code, zh, en) in [
        ("construction", "建筑", "construction"),
        ("manufacturing", "制造", "manufacturing"),
        ("services", "服务", "services"),
        ("transport", "运输", "transport"),
        ("other", "其他", "other"),
    ] {
        let _ = write!(out, r#"<option value="{code}"{}>{}</option>"#, selected(&filters.sector, code), lang.t(zh, en));
    }
    out.push_str("</select></label>");
    let _ = write!(
        out,
        r#"<label>{}<select name="kind"><option value="">{}</option>"#,
        lang.t("企业类别", "Kind"),
        lang.t("全部", "all")
    );
    for (code, zh, en) in [
        ("general_contractor", "总承包", "general contractor"),
        ("subcontractor", "分包", "subcontractor"),
        ("labor_service", "劳务", "labour service"),
        ("manufacturer", "制造企业", "manufacturer"),
        ("service", "服务企业", "service"),
        ("other", "其他", "other"),
    ] {
        let _ = write!(out, r#"<option value="{code}"{}>{}</option>"#, selected(&filters.kind, code), lang.t(zh, en));
    }
    out.push_str("</select></label>");
    let _ = write!(
        out,
        r#"<label>{}<select name="band"><option value="">{}</option>"#,
        lang.t("等级", "Band"),
        lang.t("全部", "all")
    );
    for (code, zh, en) in [
        ("red", "红色", "red"),
        ("red,orange", "红色和橙色", "red and orange"),
        ("orange", "橙色", "orange"),
        ("yellow", "黄色", "yellow"),
        ("green", "绿色", "green"),
    ] {
        let _ = write!(out, r#"<option value="{code}"{}>{}</option>"#, selected(&filters.band, code), lang.t(zh, en));
    }
    out.push_str("</select></label>");
    let _ = write!(
        out,
        r#"<label>{}<input type="search" name="q" value="{}" placeholder="{}"></label><button type="submit">{}</button></form>"#,
        lang.t("搜索名称或编号", "Search name or id"),
        esc(filters.q.as_deref().unwrap_or("")),
        lang.t("名称或统一社会信用代码", "name or id"),
        lang.t("应用", "Apply")
    );
    let qs = q.query_string();
    if matches!(caller.0.role, Role::Supervisor | Role::Admin) {
        let _ = write!(
            out,
            r#"<p><a class="button secondary" href="/export?format=xlsx&{qs}">{}</a> <a class="button secondary" href="/export?format=csv&{qs}">{}</a></p>"#,
            lang.t("导出 Excel", "Export Excel"),
            lang.t("导出 CSV", "Export CSV")
        );
    }
    let _ = write!(
        out,
        r#"<p class="meta" id="count">{}</p>"#,
        match lang {
            Lang::Zh => format!("共 {total} 条，第 {page}/{pages} 页"),
            Lang::En => format!("{total} entities, page {page} of {pages}"),
        }
    );
    // Sortable headers are links (keyboard usable); aria-sort tells the current order.
    let head = |key: &str, label: &str, num: bool| {
        let next = if sort == key && !desc { "desc" } else { "asc" };
        let aria = if sort == key {
            if desc {
                r#" aria-sort="descending""#
            } else {
                r#" aria-sort="ascending""#
            }
        } else {
            ""
        };
        let arrow = if sort == key {
            if desc {
                " ▼"
            } else {
                " ▲"
            }
        } else {
            ""
        };
        format!(
            r#"<th scope="col"{aria}{}><a href="/watchlist?{qs}&sort={key}&dir={next}">{label}{arrow}</a></th>"#,
            if num { r#" class="num""# } else { "" }
        )
    };
    let _ = write!(
        out,
        r#"<table id="watchlist"><caption class="meta">{}</caption><thead><tr>{}{}<th scope="col">{}</th>{}<th scope="col">{}</th>{}{}<th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
        lang.t("按风险排序；点击表头可排序", "Ranked by risk; click a header to sort"),
        head("rank", lang.t("排名", "Rank"), true),
        head("name", lang.t("名称", "Name"), false),
        lang.t("类型", "Type"),
        head("region", lang.t("地区", "Region"), false),
        lang.t("等级", "Band"),
        head("score", lang.t("风险概率", "Probability"), true),
        head("change", lang.t("较上次", "Change"), true),
        lang.t("主要原因", "Top reasons"),
        lang.t("预警", "Alerts")
    );
    for r in shown {
        let reasons: Vec<String> = r
            .reasons
            .iter()
            .map(|x| {
                let (zh, en) = x.texts();
                esc(if lang == Lang::Zh { &zh } else { &en })
            })
            .collect();
        let alerts: Vec<String> =
            r.alerts.iter().map(|a| esc(if lang == Lang::Zh { a.zh() } else { a.en() })).collect();
        let href = entity_href(r.entity_type, &r.entity_id);
        let _ = write!(
            out,
            r#"<tr data-href="{href}"><td class="num">{}</td><td><a href="{href}">{}</a><br><small class="meta">{}</small></td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td><td class="alerts">{}</td></tr>"#,
            r.rank,
            esc(&r.name),
            esc(&r.entity_id),
            type_name(r.entity_type, lang),
            r.region,
            band_chip(r.band, lang),
            percent(r.score),
            change_cell(r, lang),
            reasons.join("<br>"),
            alerts.join("<br>")
        );
    }
    out.push_str("</tbody></table>");
    if shown.is_empty() {
        let _ = write!(out, "<p>{}</p>", lang.t("没有符合条件的记录。", "Nothing matches these filters."));
    }
    let sort_qs = format!("{qs}&sort={sort}&dir={}", if desc { "desc" } else { "asc" });
    out.push_str(r#"<nav class="pager" aria-label="pages">"#);
    if page > 1 {
        let _ = write!(
            out,
            r#"<a href="/watchlist?{sort_qs}&page={}" rel="prev">{}</a>"#,
            page - 1,
            lang.t("上一页", "Previous")
        );
    }
    if page < pages {
        let _ = write!(
            out,
            r#"<a href="/watchlist?{sort_qs}&page={}" rel="next">{}</a>"#,
            page + 1,
            lang.t("下一页", "Next")
        );
    }
    out.push_str("</nav>");
    Ok(out)
}

#[derive(Deserialize)]
struct ExportParams {
    format: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(p): axum::extract::Query<ExportParams>,
) -> Response {
    match export_file(&state, &viewer.caller, &p.page.filters(), p.format.as_deref(), "/export").await {
        Ok(r) => r,
        Err(e) => error_page(viewer.lang, Some(&viewer), &viewer.here, e),
    }
}

async fn entity_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    let lang = viewer.lang;
    let result = async {
        let t = EntityType::parse(&kind).ok_or_else(|| ApiError::NotFound { what: kind.clone() })?;
        render_entity(&state, &viewer, t, &id).await
    }
    .await;
    match result {
        Ok((title, body)) => {
            Html(layout(lang, &title, Nav::Watchlist, Some(&viewer.caller.0), &viewer.here, &body)).into_response()
        }
        Err(e) => error_page(lang, Some(&viewer), &viewer.here, e),
    }
}

async fn render_entity(
    state: &AppState,
    viewer: &Viewer,
    t: EntityType,
    id: &str,
) -> Result<(String, String), ApiError> {
    let lang = viewer.lang;
    let caller = &viewer.caller;
    let snapshot = state.snapshot();
    let view = snapshot.current().cloned().ok_or(ApiError::NoRun)?;
    let r = view
        .row(t, id)
        .filter(|r| caller.sees(r.region))
        .ok_or_else(|| ApiError::NotFound { what: format!("{} {id}", t.code()) })?;
    state.audit(caller, "GET", "/entity/{kind}/{id}", format!("kind={}&id={id}", t.code()), 1).await?;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<p><a href="/watchlist">← {}</a></p><h1>{}</h1><p class="meta">{} · {} · {} {} · {} {}</p>"#,
        lang.t("风险名单", "Watchlist"),
        esc(&r.name),
        type_name(t, lang),
        esc(&r.entity_id),
        lang.t("地区", "region"),
        r.region,
        lang.t("评分日", "as of"),
        view.data.record.as_of
    );
    let _ = write!(
        out,
        r#"<div class="cards"><div class="card"><div>{}</div><div class="big">{}</div></div><div class="card"><div>{}</div><div class="big" id="probability">{}</div></div><div class="card"><div>{}</div><div class="big">{}</div></div><div class="card"><div>{}</div><div class="big">{}</div></div></div>"#,
        lang.t("风险等级", "Band"),
        band_chip(r.band, lang),
        lang.t("60 天内欠薪概率", "Probability of arrears in 60 days"),
        percent(r.score),
        lang.t("排名", "Rank"),
        r.rank,
        lang.t("较上次", "Change"),
        change_cell(r, lang)
    );
    let _ = write!(out, r#"<h2>{}</h2><ul class="reasons" id="reasons">"#, lang.t("主要原因", "Why this score"));
    for x in &r.reasons {
        let (zh, en) = x.texts();
        let _ = write!(out, "<li>{}</li>", esc(if lang == Lang::Zh { &zh } else { &en }));
    }
    out.push_str("</ul>");
    let _ = write!(out, "<h2>{}</h2>", lang.t("预警规则", "Alerts"));
    if r.alerts.is_empty() {
        let _ = write!(out, "<p>{}</p>", lang.t("无", "None"));
    } else {
        out.push_str("<ul>");
        for a in r.alerts.iter() {
            let _ = write!(out, "<li>{}</li>", esc(if lang == Lang::Zh { a.zh() } else { a.en() }));
        }
        out.push_str("</ul>");
    }
    // Charts: score across runs, wages due against paid.
    let mut history: Vec<(String, f64)> =
        snapshot.history(t, id).map(|(v, x)| (v.data.record.as_of.to_string(), x.score)).collect();
    history.reverse();
    let wages: Vec<(String, f64, f64)> =
        view.wages(t, id).iter().map(|w| (w.month.to_string(), w.due.yuan(), w.paid.yuan())).collect();
    let _ = write!(
        out,
        r#"<div class="grid2"><section><h2>{}</h2>{}</section><section><h2>{}</h2>{}</section></div>"#,
        lang.t("历次评分", "Score history"),
        charts::score_line(&history, lang),
        lang.t("每月应发与实发", "Wages due and paid"),
        if wages.is_empty() {
            lang.t("近一年无工资记录。", "No payroll in the last year.").to_string()
        } else {
            charts::wage_bars(&wages, lang)
        }
    );
    if !wages.is_empty() {
        let _ = write!(
            out,
            r#"<details><summary>{}</summary><table><thead><tr><th scope="col">{}</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th></tr></thead><tbody>"#,
            lang.t("工资明细表", "Wages as a table"),
            lang.t("工资月份", "Wage month"),
            lang.t("应发", "Due"),
            lang.t("实发", "Paid"),
            lang.t("未发", "Unpaid")
        );
        for (m, due, paid) in &wages {
            let _ = write!(
                out,
                r#"<tr><td>{m}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                money(*due, lang),
                money(*paid, lang),
                money((due - paid).max(0.0), lang)
            );
        }
        out.push_str("</tbody></table></details>");
    }
    // Timeline.
    let _ = write!(out, "<h2>{}</h2>", lang.t("投诉与检查记录", "Complaints and inspections"));
    let events = view.events(t, id);
    if events.is_empty() {
        let _ = write!(out, "<p>{}</p>", lang.t("近两年无记录。", "None in the last two years."));
    } else {
        let _ = write!(
            out,
            r#"<table id="timeline"><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th></tr></thead><tbody>"#,
            lang.t("日期", "Date"),
            lang.t("事项", "Event"),
            lang.t("结果", "Outcome"),
            lang.t("涉及人数", "Workers"),
            lang.t("金额", "Amount")
        );
        for e in events {
            let (what, outcome) = match e.what {
                Happened::Complaint { category, outcome } => (
                    match category {
                        Category::WageArrears => lang.t("欠薪投诉", "wage complaint"),
                        Category::GroupIncident => lang.t("群体性事件", "group incident"),
                        Category::CriminalReferral => lang.t("移送公安（拒不支付劳动报酬）", "criminal referral"),
                        Category::Other => lang.t("其他投诉", "other complaint"),
                    },
                    match outcome {
                        Some(Outcome::Substantiated) => lang.t("属实", "substantiated"),
                        Some(Outcome::Unsubstantiated) => lang.t("不属实", "unsubstantiated"),
                        Some(Outcome::Withdrawn) => lang.t("撤回", "withdrawn"),
                        None => lang.t("办理中", "open"),
                    },
                ),
                Happened::Inspection { found_arrears: true } => {
                    (lang.t("劳动监察：查实欠薪", "inspection: arrears found"), "")
                }
                Happened::Inspection { found_arrears: false } => {
                    (lang.t("劳动监察：未发现欠薪", "inspection: no arrears"), "")
                }
            };
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                e.on,
                what,
                outcome,
                e.workers.map(|w| w.to_string()).unwrap_or_default(),
                e.amount.map(|m| money(m.yuan(), lang)).unwrap_or_default()
            );
        }
        out.push_str("</tbody></table>");
    }
    // Key features.
    let features = t.features();
    let _ = write!(
        out,
        r#"<h2>{}</h2><table><thead><tr><th scope="col">{}</th><th scope="col" class="num">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
        lang.t("关键指标", "Key figures"),
        lang.t("指标", "Figure"),
        lang.t("数值", "Value"),
        lang.t("含义（英文）", "Meaning")
    );
    for f in KEY_FEATURES {
        let Some(i) = features.iter().position(|g| *g == f) else { continue };
        let d = f.def();
        let v = r.features[i];
        let value = if d.unit == "yuan" {
            money(v, lang)
        } else if d.unit == "ratio" {
            format!("{v:.2}")
        } else {
            thousands(v)
        };
        let _ = write!(
            out,
            r#"<tr><td><code>{}</code></td><td class="num">{}</td><td>{}</td></tr>"#,
            d.name,
            value,
            esc(d.meaning)
        );
    }
    out.push_str("</tbody></table>");
    // Related entities.
    let _ = write!(
        out,
        r#"<h2>{}</h2><table id="related"><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
        lang.t("关联主体", "Related"),
        lang.t("关系", "Relation"),
        lang.t("名称", "Name"),
        lang.t("等级", "Band"),
        lang.t("风险概率", "Probability")
    );
    let relation_name = |rel: Relation| -> &'static str {
        match rel {
            Relation::GeneralContractor => lang.t("总承包", "general contractor"),
            Relation::Subcontractor => lang.t("分包/劳务", "subcontractor"),
            Relation::Owner => lang.t("建设单位", "owner"),
        }
    };
    for (rt, rid, rel) in view.linked(t, id) {
        match view.row(rt, rid).filter(|x| caller.sees(x.region)) {
            Some(x) => {
                let _ = write!(
                    out,
                    r#"<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td class="num">{}</td></tr>"#,
                    relation_name(rel),
                    entity_href(rt, rid),
                    esc(&x.name),
                    band_chip(x.band, lang),
                    percent(x.score)
                );
            }
            None => {
                let _ = write!(
                    out,
                    r#"<tr><td>{}</td><td>{} <small class="meta">{}</small></td><td>–</td><td></td></tr>"#,
                    relation_name(rel),
                    esc(rid),
                    lang.t("（辖区外）", "(outside your region)")
                );
            }
        }
    }
    if let Some(owner) = &r.owner_id {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td>–</td><td></td></tr>"#,
            relation_name(Relation::Owner),
            esc(owner)
        );
    }
    out.push_str("</tbody></table>");
    Ok((r.name.clone(), out))
}

async fn overview_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let lang = viewer.lang;
    match render_overview(&state, &viewer).await {
        Ok(body) => Html(layout(
            lang,
            lang.t("地区概览", "Regions"),
            Nav::Overview,
            Some(&viewer.caller.0),
            &viewer.here,
            &body,
        ))
        .into_response(),
        Err(e) => error_page(lang, Some(&viewer), &viewer.here, e),
    }
}

async fn render_overview(state: &AppState, viewer: &Viewer) -> Result<String, ApiError> {
    let lang = viewer.lang;
    let caller = &viewer.caller;
    let snapshot = state.snapshot();
    let view = snapshot.pick(None)?;
    let rows: Vec<&RunRow> = view.data.rows.iter().filter(|r| caller.sees(r.region)).collect();
    state.audit(caller, "GET", "/overview", String::new(), rows.len() as u64).await?;
    let band_ix = |b: Band| match b {
        Band::Red => 0,
        Band::Orange => 1,
        Band::Yellow => 2,
        Band::Green => 3,
    };
    let mut by_district: BTreeMap<RegionCode, [u32; 4]> = BTreeMap::new();
    let (mut new_on_list, mut up, mut down) = (0, 0, 0);
    for r in &rows {
        by_district.entry(r.region).or_default()[band_ix(r.band)] += 1;
        new_on_list += u32::from(r.new_on_list);
        match r.previous_band {
            Some(p) if r.band < p => up += 1,
            Some(p) if r.band > p => down += 1,
            _ => {}
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<h1>{}</h1><p class="meta">{} {} · {} {}</p>"#,
        lang.t("地区概览", "Regional overview"),
        lang.t("评分日", "as of"),
        view.data.record.as_of,
        lang.t("上一批次", "previous run"),
        esc(view.data.record.previous_run_id.as_deref().unwrap_or("–"))
    );
    let _ = write!(
        out,
        r#"<div class="cards"><div class="card"><div>{}</div><div class="big">{}</div></div><div class="card"><div>{}</div><div class="big">{}</div></div><div class="card"><div>{}</div><div class="big">{}</div></div><div class="card"><div>{}</div><div class="big">{}</div></div></div>"#,
        lang.t("红色与橙色", "Red and orange"),
        rows.iter().filter(|r| r.band <= Band::Orange).count(),
        lang.t("新上榜", "New on the list"),
        new_on_list,
        lang.t("等级上升", "Band went up"),
        up,
        lang.t("等级下降", "Band went down"),
        down
    );
    let bars: Vec<(String, [u32; 4])> = by_district.iter().map(|(d, c)| (d.to_string(), *c)).collect();
    let _ = write!(out, "<h2>{}</h2>{}", lang.t("各区县风险等级", "Bands by district"), charts::band_bars(&bars, lang));
    let _ = write!(
        out,
        r#"<table id="districts"><thead><tr><th scope="col">{}</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th></tr></thead><tbody>"#,
        lang.t("区县", "District"),
        html::band_name(Band::Red, lang),
        html::band_name(Band::Orange, lang),
        html::band_name(Band::Yellow, lang),
        html::band_name(Band::Green, lang)
    );
    for (d, c) in &by_district {
        let _ = write!(
            out,
            r#"<tr><td><a href="/watchlist?region={d}">{d}</a></td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            c[0], c[1], c[2], c[3]
        );
    }
    out.push_str("</tbody></table>");
    let mut risers: Vec<&&RunRow> =
        rows.iter().filter(|r| r.previous_score.is_some_and(|p| r.score - p > 0.0)).collect();
    risers.sort_by(|a, b| {
        (b.score - b.previous_score.unwrap_or(0.0)).total_cmp(&(a.score - a.previous_score.unwrap_or(0.0)))
    });
    let _ = write!(
        out,
        r#"<h2>{}</h2><table id="risers"><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th></tr></thead><tbody>"#,
        lang.t("较上次风险上升最多", "Biggest rises since the last run"),
        lang.t("名称", "Name"),
        lang.t("地区", "Region"),
        lang.t("等级", "Band"),
        lang.t("风险概率", "Probability"),
        lang.t("较上次", "Change")
    );
    for r in risers.iter().take(15) {
        let _ = write!(
            out,
            r#"<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            entity_href(r.entity_type, &r.entity_id),
            esc(&r.name),
            r.region,
            band_chip(r.band, lang),
            percent(r.score),
            change_cell(r, lang)
        );
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

async fn model_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let lang = viewer.lang;
    match render_model(&state, &viewer) {
        Ok(body) => Html(layout(
            lang,
            lang.t("模型与批次", "Model & runs"),
            Nav::Model,
            Some(&viewer.caller.0),
            &viewer.here,
            &body,
        ))
        .into_response(),
        Err(e) => error_page(lang, Some(&viewer), &viewer.here, e),
    }
}

fn render_model(state: &AppState, viewer: &Viewer) -> Result<String, ApiError> {
    let lang = viewer.lang;
    let snapshot = state.snapshot();
    let view = snapshot.pick(None)?;
    let model_id = view.data.record.model_id.clone();
    let m = state.model(&model_id)?;
    let dir = wagewatch_core::model::artifact::model_dir(&state.config().models, &model_id);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<h1>{}</h1><p class="meta">{} <code>{}</code> · {} {} · {} {} {}</p>"#,
        lang.t("模型与批次", "Model and runs"),
        lang.t("当前模型", "current model"),
        esc(&model_id),
        lang.t("训练截止", "trained as of"),
        m.trained_as_of,
        lang.t("预测期", "horizon"),
        m.horizon_days,
        lang.t("天", "days")
    );
    // Backtest figures.
    let backtest = wagewatch_core::model::artifact::backtest_report(&state.config().models, &model_id);
    let _ = write!(out, "<h2>{}</h2>", lang.t("回测结果", "Backtest"));
    match &backtest {
        Some(b) => {
            let _ = write!(
                out,
                r#"<p class="meta">{} {} – {}</p><table id="backtest"><thead><tr><th scope="col">{}</th><th scope="col" class="num">AUC</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th></tr></thead><tbody>"#,
                lang.t("测试日期", "test dates"),
                b.from,
                b.to,
                lang.t("对象", "Entities"),
                lang.t("平均精度 AP", "Average precision"),
                lang.t("前100精确率（模型）", "Precision@100 (model)"),
                lang.t("前100精确率（规则）", "Precision@100 (rules)"),
                lang.t("事件数", "Events")
            );
            for t in EntityType::ALL {
                let p = &b.entity_types.of(t).pooled;
                let _ = write!(
                    out,
                    r#"<tr><td>{}</td><td class="num">{:.3}</td><td class="num">{:.3}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                    type_name(t, lang),
                    p.model.roc_auc,
                    p.model.average_precision,
                    p.model.precision_at("100").map_or("–".into(), |v| format!("{v:.2}")),
                    p.rule.precision_at("100").map_or("–".into(), |v| format!("{v:.2}")),
                    p.events
                );
            }
            out.push_str("</tbody></table>");
            out.push_str(r#"<div class="grid2">"#);
            for (file, zh, en) in [
                ("precision_at_k_employer.svg", "企业：前 k 名精确率", "Employers: precision at k"),
                ("reliability_employer.svg", "企业：校准图", "Employers: reliability"),
                ("precision_at_k_project.svg", "项目：前 k 名精确率", "Projects: precision at k"),
                ("reliability_project.svg", "项目：校准图", "Projects: reliability"),
            ] {
                if let Ok(svg) = std::fs::read_to_string(dir.join(file)) {
                    let _ = write!(out, r#"<figure><figcaption>{}</figcaption>{}</figure>"#, lang.t(zh, en), svg);
                }
            }
            out.push_str("</div>");
        }
        None => {
            let _ = write!(
                out,
                "<p>{}</p>",
                lang.t(
                    "该模型尚无回测（wagewatch backtest）。",
                    "No backtest for this model yet (wagewatch backtest)."
                )
            );
        }
    }
    let _ = write!(out, "<h2>{}</h2>", lang.t("批次记录", "Runs"));
    let runs = state.with_store(|s| s.runs())?;
    let _ = write!(
        out,
        r#"<table id="runs"><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col" class="num">{}</th><th scope="col" class="num">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
        lang.t("批次", "Run"),
        lang.t("评分日", "As of"),
        lang.t("创建时间（UTC）", "Created (UTC)"),
        lang.t("状态", "Status"),
        lang.t("触发", "Trigger"),
        lang.t("红/橙", "Red/orange"),
        lang.t("新上榜", "New"),
        lang.t("错误", "Error")
    );
    for r in &runs {
        let _ = write!(
            out,
            r#"<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{}/{}</td><td class="num">{}</td><td>{}</td></tr>"#,
            esc(&r.run_id),
            r.as_of,
            r.created_at.to_string().replace('T', " ").trim_end_matches('Z'),
            if r.status == state::RunStatus::Published {
                lang.t("已发布", "published")
            } else {
                lang.t("失败", "failed")
            },
            esc(&r.trigger),
            r.counts.red,
            r.counts.orange,
            r.counts.new_on_list,
            esc(r.error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody></table>");
    let card = std::fs::read_to_string(dir.join("model_card.md")).unwrap_or_default();
    let _ = write!(
        out,
        r#"<h2>{}</h2><pre class="card-md">{}</pre>"#,
        lang.t("模型说明（英文）", "Model card"),
        esc(&card)
    );
    Ok(out)
}
