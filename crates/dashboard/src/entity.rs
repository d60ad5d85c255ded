//! The entity page: an employer or project with its band, probability, reasons and alerts, its score by
//! as-of date and wages due against paid (charts and a table), its complaints and inspections, key figures
//! and the entities linked to it.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};

use super::html::{band_chip, col, money, num, percent, thead, thousands, Lang, Nav};
use super::session::{PagePath, Viewer};
use super::watchlist::change_cell;
use super::{charts, entity_href, page, type_name};
use wagewatch_core::contract::{Category, Outcome};
use wagewatch_core::features::EntityType;
use wagewatch_service::query::KEY_FEATURES;
use wagewatch_service::runs::{Happened, Relation, RunRow, TimelineEvent};
use wagewatch_service::server::{ApiError, AppState, RunView, Snapshot};

pub(crate) async fn entity_page(
    State(state): State<AppState>,
    viewer: Viewer,
    PagePath((kind, id)): PagePath<(String, String)>,
) -> Response {
    let result = async {
        let t = EntityType::parse(&kind).ok_or_else(|| ApiError::NotFound { what: "entity type".into() })?;
        render(&state, &viewer, t, &id).await
    }
    .await;
    match result {
        Ok((title, body)) => page(&viewer, &title, Nav::Watchlist, Ok(body)),
        Err(e) => page(&viewer, "", Nav::Watchlist, Err(e)),
    }
}

async fn render(state: &AppState, viewer: &Viewer, t: EntityType, id: &str) -> Result<(String, Markup), ApiError> {
    let lang = viewer.lang;
    let caller = &viewer.caller;
    let snapshot = state.snapshot();
    let view = snapshot.pick(None)?;
    let r = view
        .row(t, id)
        .filter(|r| caller.sees(r.region))
        .ok_or_else(|| ApiError::NotFound { what: format!("{} {id}", t.code()) })?;
    state.audit_read(caller, "/entity/{kind}/{id}", format!("kind={}&id={id}", t.code()), 1).await?;
    let body = html! {
        p { a href="/watchlist" { "← " (lang.t("风险名单", "Watchlist")) } }
        h1 { (r.name) }
        p class="meta" {
            (type_name(t, lang)) " · " (r.entity_id) " · " (lang.t("地区", "region")) " " (view.data.names.label(r.region)) " (" (r.region) ")"
            " · " (lang.t("评分日", "as of")) " " (view.data.record.as_of)
        }
        div class="cards" {
            div class="card" { div { (lang.t("风险等级", "Band")) } div class="big" { (band_chip(r.band, lang)) } }
            div class="card" {
                div { (lang.t("60 天内欠薪概率", "Probability of arrears in 60 days")) }
                div class="big" id="probability" { (percent(r.score)) }
            }
            div class="card" { div { (lang.t("排名", "Rank")) } div class="big" { (r.rank) } }
            @if let (Some(yuan), Some(workers)) = (r.expected_unpaid_yuan, r.expected_workers) {
                div class="card" {
                    div { (lang.t("预计欠薪金额", "Expected unpaid wages")) }
                    div class="big" id="expected-harm" { (money(yuan, lang)) }
                    div class="meta" { (format!("{workers:.1}")) " " (lang.t("名工人", "workers")) }
                }
            }
            div class="card" { div { (lang.t("较上次", "Change")) } div class="big" { (change_cell(r, lang)) } }
        }
        h2 { (lang.t("主要原因", "Why this score")) }
        ul class="reasons" id="reasons" {
            @if let Some(floor) = r.floor {
                @let (zh, en) = floor.texts();
                li class="floor" id="band-floor" { (if lang == Lang::Zh { zh } else { en }) }
            }
            @for x in &r.reasons {
                @let (zh, en) = x.texts();
                li { (if lang == Lang::Zh { zh } else { en }) }
            }
        }
        @let levers = r.lever_texts();
        @if !levers.is_empty() {
            h2 { (lang.t("建议措施", "What to fix")) }
            p class="meta" { (lang.t("每项措施落实后重新评分的概率", "the probability re-scored with each measure applied")) }
            ul class="levers" id="levers" {
                @for (_, zh, en) in &levers { li { (if lang == Lang::Zh { zh } else { en }) } }
            }
        }
        h2 { (lang.t("预警规则", "Alerts")) }
        @if r.alerts.is_empty() { p { (lang.t("无", "None")) } } @else {
            ul { @for a in r.alerts.iter() { li { (if lang == Lang::Zh { a.zh() } else { a.en() }) } } }
        }
        (charts_section(&snapshot, view, t, id, lang))
        h2 { (lang.t("投诉与检查记录", "Complaints and inspections")) }
        (timeline(view.events(t, id), lang))
        (key_figures(r, t, lang))
        (related(view, r, t, id, viewer))
    };
    Ok((r.name.clone(), body))
}

/// The score by as-of date across the kept runs, and wages due against paid by month.
fn charts_section(snapshot: &Snapshot, view: &RunView, t: EntityType, id: &str, lang: Lang) -> Markup {
    let mut history: Vec<_> = snapshot.history(t, id).map(|(run, x)| (run.as_of, x.score)).collect();
    // One point per as-of date (the newest run of a date), oldest first.
    history.sort_by_key(|(d, _)| *d);
    history.dedup_by_key(|(d, _)| *d);
    let wages: Vec<(String, f64, f64)> =
        view.wages(t, id).iter().map(|w| (w.month.to_string(), w.due.yuan(), w.paid.yuan())).collect();
    html! {
        div class="grid2" {
            section { h2 { (lang.t("历次评分", "Score history")) } (charts::score_line(&history, lang)) }
            section {
                h2 { (lang.t("每月应发与实发", "Wages due and paid")) }
                @if wages.is_empty() { (lang.t("近一年无工资记录。", "No payroll in the last year.")) }
                @else { (charts::wage_bars(&wages, lang)) }
            }
        }
        @if !wages.is_empty() {
            details {
                summary { (lang.t("工资明细表", "Wages as a table")) }
                table {
                    (thead(
                        lang,
                        &[
                            col("工资月份", "Wage month"),
                            num("应发", "Due"),
                            num("实发", "Paid"),
                            num("未发", "Unpaid"),
                        ]
                    ))
                    tbody {
                        @for (m, due, paid) in &wages {
                            tr {
                                td { (m) }
                                td class="num" { (money(*due, lang)) }
                                td class="num" { (money(*paid, lang)) }
                                td class="num" { (money((due - paid).max(0.0), lang)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What a timeline event was, and its outcome, in words.
fn event_words(e: &TimelineEvent, lang: Lang) -> (&'static str, &'static str) {
    match e.what {
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
        Happened::Inspection { found_arrears: true } => (lang.t("劳动监察：查实欠薪", "inspection: arrears found"), ""),
        Happened::Inspection { found_arrears: false } => (lang.t("劳动监察：未发现欠薪", "inspection: no arrears"), ""),
    }
}

fn timeline(events: &[TimelineEvent], lang: Lang) -> Markup {
    html! {
        @if events.is_empty() { p { (lang.t("近两年无记录。", "None in the last two years.")) } } @else {
            table id="timeline" {
                (thead(
                    lang,
                    &[
                        col("日期", "Date"),
                        col("事项", "Event"),
                        col("结果", "Outcome"),
                        num("涉及人数", "Workers"),
                        num("金额", "Amount"),
                    ]
                ))
                tbody {
                    @for e in events {
                        @let (what, outcome) = event_words(e, lang);
                        tr {
                            td { (e.on) }
                            td { (what) }
                            td { (outcome) }
                            td class="num" { @if let Some(w) = e.workers { (w) } }
                            td class="num" { @if let Some(m) = e.amount { (money(m.yuan(), lang)) } }
                        }
                    }
                }
            }
        }
    }
}

fn key_figures(r: &RunRow, t: EntityType, lang: Lang) -> Markup {
    let features = t.features();
    html! {
        h2 { (lang.t("关键指标", "Key figures")) }
        table {
            (thead(lang, &[col("指标", "Figure"), num("数值", "Value"), col("代码", "Code")]))
            tbody {
                @for f in KEY_FEATURES {
                    @if let Some(i) = features.iter().position(|g| *g == f).filter(|&i| r.features[i].is_finite()) {
                        @let d = f.def();
                        @let v = r.features[i];
                        @let (zh, en) = wagewatch_core::model::reasons::labels(f);
                        tr {
                            td { (if lang == Lang::Zh { zh } else { en }) }
                            td class="num" {
                                @if d.unit == "yuan" { (money(v, lang)) } @else if d.unit == "ratio" { (format!("{v:.2}")) } @else { (thousands(v)) }
                            }
                            td { code title=(d.meaning) { (d.name) } }
                        }
                    }
                }
            }
        }
    }
}

/// The entities linked to this one: those in the viewer's region with their band, the others by id only.
fn related(view: &RunView, r: &RunRow, t: EntityType, id: &str, viewer: &Viewer) -> Markup {
    let lang = viewer.lang;
    let relation_name = |rel: Relation| match rel {
        Relation::GeneralContractor => lang.t("总承包", "general contractor"),
        Relation::Subcontractor => lang.t("分包/劳务", "subcontractor"),
        Relation::Owner => lang.t("建设单位", "owner"),
    };
    html! {
        h2 { (lang.t("关联主体", "Related")) }
        table id="related" {
            (thead(lang, &[col("关系", "Relation"), col("名称", "Name"), col("等级", "Band"), col("风险概率", "Probability")]))
            tbody {
                @for (rt, rid, rel) in view.linked(t, id) {
                    @match view.row(rt, rid).filter(|x| viewer.caller.sees(x.region)) {
                        Some(x) => {
                            tr {
                                td { (relation_name(rel)) }
                                td { a href=(entity_href(rt, rid)) { (x.name) } }
                                td { (band_chip(x.band, lang)) }
                                td class="num" { (percent(x.score)) }
                            }
                        }
                        None => {
                            tr {
                                td { (relation_name(rel)) }
                                td { (rid) " " small class="meta" { (lang.t("（辖区外）", "(outside your region)")) } }
                                td { "–" }
                                td {}
                            }
                        }
                    }
                }
                @if let Some(owner) = &r.owner_id {
                    tr { td { (relation_name(Relation::Owner)) } td { (owner) } td { "–" } td {} }
                }
            }
        }
    }
}
