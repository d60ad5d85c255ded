//! The regional overview: counts by band per district (chart and table), new on the list, band moves, the
//! latest alerts and the biggest rises since the last run, within the viewer's region.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};

use super::html::{band_chip, band_name, col, num, percent, thead, Lang, Nav};
use super::session::Viewer;
use super::watchlist::change_cell;
use super::{charts, entity_href, page};
use wagewatch_core::contract::RegionCode;
use wagewatch_core::model::Band;
use wagewatch_service::runs::RunRow;
use wagewatch_service::server::{ApiError, AppState};

pub(crate) async fn overview_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let body = render(&state, &viewer).await;
    page(&viewer, viewer.lang.t("地区概览", "Regions"), Nav::Overview, body)
}

/// The alerts the overview lists.
const LATEST_ALERTS: usize = 20;

fn band_index(b: Band) -> usize {
    match b {
        Band::Red => 0,
        Band::Orange => 1,
        Band::Yellow => 2,
        Band::Green => 3,
    }
}

async fn render(state: &AppState, viewer: &Viewer) -> Result<Markup, ApiError> {
    let lang = viewer.lang;
    let caller = &viewer.caller;
    let snapshot = state.snapshot();
    let view = snapshot.pick(None)?;
    let rows: Vec<&RunRow> = view.data.rows.iter().filter(|r| caller.sees(r.region)).collect();
    let scope = caller.0.region;
    let (alerts, _) = state.store(move |s| s.alerts(scope, None, LATEST_ALERTS)).await?;
    state.audit_read(caller, "/overview", String::new(), (rows.len() + alerts.len()) as u64).await?;
    let mut by_district: BTreeMap<RegionCode, [u32; 4]> = BTreeMap::new();
    let (mut new_on_list, mut up, mut down) = (0, 0, 0);
    for r in &rows {
        by_district.entry(r.region).or_default()[band_index(r.band)] += 1;
        new_on_list += u32::from(r.new_on_list);
        match r.previous_band {
            Some(p) if r.band < p => up += 1,
            Some(p) if r.band > p => down += 1,
            _ => {}
        }
    }
    let mut risers: Vec<&&RunRow> =
        rows.iter().filter(|r| r.previous_score.is_some_and(|p| r.score - p > 0.0)).collect();
    risers.sort_by(|a, b| {
        (b.score - b.previous_score.unwrap_or(0.0)).total_cmp(&(a.score - a.previous_score.unwrap_or(0.0)))
    });
    let bars: Vec<(String, [u32; 4])> = by_district.iter().map(|(d, c)| (d.to_string(), *c)).collect();
    let card = |label: &str, value: usize| html! { div class="card" { div { (label) } div class="big" { (value) } } };
    Ok(html! {
        h1 { (lang.t("地区概览", "Regional overview")) }
        p class="meta" {
            (lang.t("评分日", "as of")) " " (view.data.record.as_of) " · " (lang.t("上一批次", "previous run")) " "
            (view.data.record.previous_run_id.as_deref().unwrap_or("–"))
        }
        div class="cards" {
            (card(lang.t("红色与橙色", "Red and orange"), rows.iter().filter(|r| r.band <= Band::Orange).count()))
            (card(lang.t("新上榜", "New on the list"), new_on_list as usize))
            (card(lang.t("等级上升", "Band went up"), up))
            (card(lang.t("等级下降", "Band went down"), down))
        }
        h2 { (lang.t("各区县风险等级", "Bands by district")) }
        (charts::band_bars(&bars, lang))
        table id="districts" {
            thead { tr {
                th scope="col" { (lang.t("区县", "District")) }
                @for b in [Band::Red, Band::Orange, Band::Yellow, Band::Green] { th scope="col" class="num" { (band_name(b, lang)) } }
            } }
            tbody {
                @for (d, c) in &by_district {
                    tr {
                        td { a href={ "/watchlist?region=" (d) } { (view.data.names.label(*d)) } small class="meta" { " " (d) } }
                        @for n in c { td class="num" { (n) } }
                    }
                }
            }
        }
        h2 { (lang.t("最新预警", "Latest alerts")) }
        @if alerts.is_empty() { p { (lang.t("暂无预警。", "No alerts yet.")) } } @else {
            table id="alerts" {
                (thead(lang, &[col("评分日", "As of"), col("预警", "Alert"), col("地区", "Region")]))
                tbody {
                    @for a in &alerts {
                        @let (zh, en) = a.event.texts();
                        tr {
                            td { (a.as_of) }
                            td {
                                a href=(entity_href(a.event.entity_type, &a.event.entity_id)) {
                                    (if lang == Lang::Zh { zh } else { en })
                                }
                            }
                            td { (view.data.names.label(a.event.region)) }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("较上次风险上升最多", "Biggest rises since the last run")) }
        table id="risers" {
            (thead(
                lang,
                &[
                    col("名称", "Name"),
                    col("地区", "Region"),
                    col("等级", "Band"),
                    num("风险概率", "Probability"),
                    num("较上次", "Change"),
                ]
            ))
            tbody {
                @for r in risers.iter().take(15) {
                    tr {
                        td { a href=(entity_href(r.entity_type, &r.entity_id)) { (r.name) } }
                        td { (view.data.names.label(r.region)) }
                        td { (band_chip(r.band, lang)) }
                        td class="num" { (percent(r.score)) }
                        td class="num" { (change_cell(r, lang)) }
                    }
                }
            }
        }
    })
}
