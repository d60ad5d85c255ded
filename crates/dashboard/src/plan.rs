//! The plan page: a district's inspection plan for a week, printable (a print stylesheet, Chinese
//! headings, one district per page), through the same checks and audit as `GET /v1/plans`.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

use super::html::{col, money, num, percent, thead, Lang, Nav};
use super::page;
use super::session::{PageParams, Viewer};
use wagewatch_core::contract::RegionCode;
use wagewatch_service::server::routes::plans::district_plan;
use wagewatch_service::server::wire::{PlanDoneOut, PlanOut, PlanQuery};
use wagewatch_service::server::{ApiError, AppState};

/// The form's fields, as text (typed parsing happens in the shared request).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PlanForm {
    district: Option<String>,
    week: Option<String>,
    capacity: Option<String>,
}

pub(crate) async fn plan_page(
    State(state): State<AppState>,
    viewer: Viewer,
    PageParams(f): PageParams<PlanForm>,
) -> Response {
    let body = render(&state, &viewer, &f).await;
    page(&viewer, viewer.lang.t("检查计划", "Inspection plan"), Nav::Plan, body)
}

fn kind_name(kind: &str, lang: Lang) -> &'static str {
    let (zh, en) = wagewatch_service::runs::plan::kind_texts(kind);
    lang.t(zh, en)
}

async fn render(state: &AppState, viewer: &Viewer, f: &PlanForm) -> Result<Markup, ApiError> {
    let lang = viewer.lang;
    let snapshot = state.snapshot();
    let current = snapshot.pick(None)?;
    let as_of = current.data.record.as_of.to_string();
    let districts: std::collections::BTreeSet<RegionCode> =
        current.data.rows.iter().filter(|r| viewer.caller.sees(r.region)).map(|r| r.region).collect();
    let form = html! {
        form class="filters noprint" method="get" action="/plan" {
            label { (lang.t("区县", "District"))
                select name="district" {
                    @for d in &districts {
                        option value=(d) selected[f.district.as_deref() == Some(d.to_string().as_str())] { (current.data.names.label(*d)) }
                    }
                }
            }
            label { (lang.t("周起始日", "Week of")) input type="date" name="week" value=(f.week.clone().unwrap_or(as_of)); }
            label { (lang.t("检查力量（次）", "Visits")) input type="number" name="capacity" min="1" max="500" value=(f.capacity.clone().unwrap_or_else(|| "20".into())); }
            button type="submit" { (lang.t("生成计划", "Plan")) }
        }
    };
    let (Some(district), Some(week)) = (f.district.clone(), f.week.clone()) else {
        return Ok(html! { h1 { (lang.t("检查计划", "Inspection plan")) } (form) });
    };
    let capacity = f
        .capacity
        .as_deref()
        .unwrap_or("20")
        .parse()
        .map_err(|_| ApiError::BadParameter { name: "capacity", reason: "must be a whole number".into() })?;
    let q = PlanQuery { district, week, capacity, audit_share: None, skip_days: None, seed: None };
    let plan = district_plan(state, &viewer.caller, &q, "/plan").await?;
    Ok(html! {
        h1 { (lang.t("检查计划", "Inspection plan")) }
        (form)
        (section(&plan, lang))
    })
}

/// One district's plan, a printed page of its own.
fn section(p: &PlanOut, lang: Lang) -> Markup {
    html! {
        section class="plan" id="plan" {
            h2 { (p.district_name) " · " (lang.t("检查计划", "inspection plan")) " · " (lang.t("自", "week of")) " " (p.week) }
            p class="meta" {
                (lang.t("依据批次", "from run")) " " (p.run_id) " (" (p.as_of) ") · "
                (lang.t("预计覆盖欠薪", "expected unpaid wages reached")) " " (money(p.reached_yuan, lang)) " · "
                span id="plan-done" { (lang.t("已完成", "done")) " " (p.done_visits) " / " (p.visits.len()) }
            }
            table {
                (thead(lang, &[
                    num("序号", "No."), col("检查方式", "Visit"), col("对象", "Where"),
                    col("覆盖企业", "Firms reached"), num("预计欠薪", "Expected unpaid"), num("风险概率", "Probability"),
                    col("完成情况", "Done"),
                ]))
                tbody {
                    @for v in &p.visits {
                        tr {
                            td class="num" { (v.order) }
                            td { (kind_name(&v.kind, lang)) }
                            td { (v.target_name) br; small class="meta" { (v.target_id) } }
                            td { (v.covers.len()) }
                            td class="num" { (money(v.expected_unpaid_yuan, lang)) }
                            td class="num" { (percent(v.score)) }
                            td { (done_cell(v.done.as_ref(), lang)) }
                        }
                    }
                }
            }
        }
    }
}

/// A visit's box: empty until an inspection is recorded against it, then its date and finding.
fn done_cell(done: Option<&PlanDoneOut>, lang: Lang) -> Markup {
    match done {
        None => html! { "☐" },
        Some(d) => html! {
            span class="done" title=(d.inspection_id) {
                "☑ " (d.inspected_on) " "
                (if d.found_arrears { lang.t("发现欠薪", "arrears found") } else { lang.t("未发现欠薪", "no arrears") })
            }
        },
    }
}
