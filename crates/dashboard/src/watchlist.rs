//! The watchlist page: the run's entities in the viewer's region, filtered, sorted and paged, with exports.
//!
//! Every query parameter is parsed into a typed value before use: the filters through the query layer
//! (an invalid one is a 400 page), the sort key and direction into enums (an unknown key falls back to the
//! rank), the page into a number. Links are rebuilt from the typed values only, never from the raw query.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

use super::html::{band_chip, money, percent, url, Lang, Nav};
use super::session::{PageParams, Viewer};
use super::{entity_href, error_page, page, type_name};
use wagewatch_core::contract::{RegionCode, RegionPrefix};
use wagewatch_core::features::EntityType;
use wagewatch_core::regions::RegionNames;
use wagewatch_service::query::{Filter, FilterText};
use wagewatch_service::runs::RunRow;
use wagewatch_service::server::routes::watchlist::{export_file, narrowed, Export, ExportOrder};
use wagewatch_service::server::wire::ExportFormatCode;
use wagewatch_service::server::{ApiError, AppState};
use wagewatch_service::state::Role;

/// Rows per dashboard page.
const PAGE: usize = 50;

/// The watchlist page's parameters as they arrive: the filters, sorting and a page number.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    entity_type: Option<String>,
    region: Option<String>,
    sector: Option<String>,
    kind: Option<String>,
    band: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<String>,
}

/// A column the list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortKey {
    Rank,
    Score,
    /// Expected unpaid wages: probability times the amount at stake given an event.
    Harm,
    Name,
    Region,
    Change,
}

impl SortKey {
    const ALL: [SortKey; 6] =
        [SortKey::Rank, SortKey::Score, SortKey::Harm, SortKey::Name, SortKey::Region, SortKey::Change];

    fn code(self) -> &'static str {
        match self {
            SortKey::Rank => "rank",
            SortKey::Score => "score",
            SortKey::Harm => "expected_harm",
            SortKey::Name => "name",
            SortKey::Region => "region",
            SortKey::Change => "change",
        }
    }

    /// The key of a code; anything else sorts by rank.
    fn parse(code: Option<&str>) -> SortKey {
        SortKey::ALL.into_iter().find(|k| Some(k.code()) == code).unwrap_or(SortKey::Rank)
    }
}

/// The page's parameters, typed.
struct Listing {
    filter: Filter,
    sort: SortKey,
    descending: bool,
    page: usize,
}

impl Listing {
    fn parse(q: &PageQuery, viewer: &Viewer) -> Result<Listing, ApiError> {
        let text = FilterText {
            entity_type: q.entity_type.as_deref(),
            region: q.region.as_deref(),
            sector: q.sector.as_deref(),
            kind: q.kind.as_deref(),
            band: q.band.as_deref(),
            min_score: None,
            text: q.q.as_deref(),
        };
        let filter = Filter::parse(&text)
            .map_err(|e| ApiError::BadParameter { name: e.parameter, reason: e.reason.to_string() })?;
        Ok(Listing {
            filter: narrowed(filter, &viewer.caller)?,
            sort: SortKey::parse(q.sort.as_deref()),
            descending: q.dir.as_deref() == Some("desc"),
            page: q.page.as_deref().and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1),
        })
    }

    /// The filters as a query string, rebuilt from the typed values.
    fn query_string(&self) -> String {
        let f = &self.filter;
        let bands = f.bands.as_ref().map(|b| b.iter().map(|x| x.code()).collect::<Vec<_>>().join(","));
        [
            ("entity_type", f.entity_type.map(|t| t.code().to_string())),
            ("region", f.requested_region.map(|r| r.to_string())),
            ("sector", f.sector.map(|s| s.code().to_string())),
            ("kind", f.kind.map(|k| k.code().to_string())),
            ("band", bands),
            ("q", f.text.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", url(&v))))
        .collect::<Vec<_>>()
        .join("&")
    }

    /// The sort as a query string.
    fn sort_string(&self) -> String {
        format!("sort={}&dir={}", self.sort.code(), if self.descending { "desc" } else { "asc" })
    }

    /// The filters and the sort as a query string.
    fn filters_and_sort(&self) -> String {
        let filters = self.query_string();
        if filters.is_empty() {
            self.sort_string()
        } else {
            format!("{filters}&{}", self.sort_string())
        }
    }
}

/// Rows sorted by a column of the list, the page's and its exports' order.
fn sorted(mut rows: Vec<&RunRow>, sort: SortKey, descending: bool) -> Vec<&RunRow> {
    match sort {
        SortKey::Score => rows.sort_by(|a, b| a.score.total_cmp(&b.score).then(b.rank.cmp(&a.rank))),
        // Expected unpaid wages, the rank breaking ties (and ordering rows without amounts).
        SortKey::Harm => rows.sort_by(|a, b| {
            let harm = |r: &RunRow| r.expected_unpaid_yuan.unwrap_or(0.0);
            harm(a).total_cmp(&harm(b)).then(b.rank.cmp(&a.rank))
        }),
        SortKey::Name => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        SortKey::Region => rows.sort_by_key(|r| (r.region, r.entity_type, r.rank)),
        SortKey::Change => rows.sort_by(|a, b| {
            let d = |r: &RunRow| r.previous_score.map_or(r.score, |p| r.score - p);
            d(a).total_cmp(&d(b))
        }),
        SortKey::Rank => {}
    }
    if descending {
        rows.reverse();
    }
    rows
}

/// The change since the last run, in words and arrows.
pub(crate) fn change_cell(r: &RunRow, lang: Lang) -> Markup {
    html! {
        @match r.previous_score {
            Some(p) => {
                @let d = (r.score - p) * 100.0;
                @if d >= 0.05 {
                    span class="up" title=(lang.t("百分点", "points")) { "↑ " (format!("{d:.1}")) }
                } @else if d <= -0.05 {
                    span class="down" title=(lang.t("百分点", "points")) { "↓ " (format!("{:.1}", -d)) }
                } @else { "–" }
            }
            None => { (lang.t("首次", "first")) }
        }
        @if r.new_on_list { " " span class="new" { (lang.t("新上榜", "new")) } }
    }
}

pub(crate) async fn watchlist_page(
    State(state): State<AppState>,
    viewer: Viewer,
    PageParams(q): PageParams<PageQuery>,
) -> Response {
    let body = render(&state, &viewer, &q).await;
    page(&viewer, viewer.lang.t("风险名单", "Watchlist"), Nav::Watchlist, body)
}

async fn render(state: &AppState, viewer: &Viewer, q: &PageQuery) -> Result<Markup, ApiError> {
    let lang = viewer.lang;
    let listing = Listing::parse(q, viewer)?;
    let snapshot = state.snapshot();
    let view = snapshot.pick(None)?;
    let rows = sorted(listing.filter.select(&view.data.rows).collect(), listing.sort, listing.descending);
    let total = rows.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page = listing.page.min(pages);
    let shown = &rows[(page - 1) * PAGE..(page * PAGE).min(total)];
    let qs = listing.query_string();
    let audited = format!("{}&page={page}", listing.filters_and_sort());
    state.audit_read(&viewer.caller, "/watchlist", audited, shown.len() as u64).await?;
    let record = &view.data.record;
    Ok(html! {
        h1 { (lang.t("欠薪风险名单", "Wage-arrears watchlist")) }
        p class="meta" {
            (lang.t("评分日", "as of")) " " (record.as_of) " · " (lang.t("批次", "run")) " " (record.run_id)
            " · " (lang.t("模型", "model")) " " (record.model_id)
        }
        (filters(view.data.rows.as_slice(), &view.data.names, &listing, viewer))
        @if matches!(viewer.caller.0.role, Role::Supervisor | Role::Admin) {
            @let export_qs = listing.filters_and_sort();
            p {
                a class="button secondary" href={ "/export?format=xlsx&" (export_qs) } { (lang.t("导出 Excel", "Export Excel")) }
                " "
                a class="button secondary" href={ "/export?format=csv&" (export_qs) } { (lang.t("导出 CSV", "Export CSV")) }
            }
        }
        p class="meta" id="count" {
            @match lang {
                Lang::Zh => { "共 " (total) " 条，第 " (page) "/" (pages) " 页" }
                Lang::En => { (total) " entities, page " (page) " of " (pages) }
            }
        }
        (table(shown, &view.data.names, &listing, &qs, lang))
        @if shown.is_empty() { p { (lang.t("没有符合条件的记录。", "Nothing matches these filters.")) } }
        (pager(&listing, page, pages, lang))
    })
}

/// The filter form, its region choices taken from the run's rows in the viewer's region.
fn filters(rows: &[RunRow], names: &RegionNames, listing: &Listing, viewer: &Viewer) -> Markup {
    let lang = viewer.lang;
    let scope = viewer.caller.0.region;
    let mut cities = BTreeSet::new();
    let mut districts = BTreeSet::new();
    for r in rows.iter().filter(|r| scope.contains(r.region)) {
        let code = r.region.to_string();
        if scope.digits() < 4 {
            cities.insert(code[..4].to_string());
        }
        districts.insert(code);
    }
    let f = &listing.filter;
    let region = f.requested_region.map(|r| r.to_string());
    let bands = f.bands.as_ref().map(|b| b.iter().map(|x| x.code()).collect::<Vec<_>>().join(","));
    let option = |value: &str, label: &str, chosen: Option<&str>| {
        html! { option value=(value) selected[chosen == Some(value)] { (label) } }
    };
    html! {
        form class="filters" method="get" action="/watchlist" role="search" aria-label=(lang.t("筛选", "Filters")) {
            label { (lang.t("类型", "Type"))
                select name="entity_type" {
                    (option("", lang.t("全部", "all"), None))
                    @for t in EntityType::ALL { (option(t.code(), type_name(t, lang), f.entity_type.map(|x| x.code()))) }
                }
            }
            label { (lang.t("地区", "Region"))
                select name="region" {
                    (option("", lang.t("全部辖区", "whole region"), None))
                    @for c in &cities {
                        @let name = RegionPrefix::parse(c).map_or_else(|| c.clone(), |p| names.prefix_label(p));
                        (option(c, &format!("{name} ({c})"), region.as_deref()))
                    }
                    @for d in &districts {
                        @let name = RegionCode::parse(d).map_or_else(|| d.clone(), |c| names.label(c));
                        (option(d, &format!("{name} ({d})"), region.as_deref()))
                    }
                }
            }
            label { (lang.t("行业", "Sector"))
                select name="sector" {
                    (option("", lang.t("全部", "all"), None))
                    @for (code, zh, en) in [("construction", "建筑", "construction"), ("manufacturing", "制造", "manufacturing"),
                        ("services", "服务", "services"), ("transport", "运输", "transport"), ("other", "其他", "other")] {
                        (option(code, lang.t(zh, en), f.sector.map(|s| s.code())))
                    }
                }
            }
            label { (lang.t("企业类别", "Kind"))
                select name="kind" {
                    (option("", lang.t("全部", "all"), None))
                    @for (code, zh, en) in [("general_contractor", "总承包", "general contractor"), ("subcontractor", "分包", "subcontractor"),
                        ("labor_service", "劳务", "labour service"), ("manufacturer", "制造企业", "manufacturer"),
                        ("service", "服务企业", "service"), ("other", "其他", "other")] {
                        (option(code, lang.t(zh, en), f.kind.map(|k| k.code())))
                    }
                }
            }
            label { (lang.t("等级", "Band"))
                select name="band" {
                    (option("", lang.t("全部", "all"), None))
                    @for (code, zh, en) in [("red", "红色", "red"), ("red,orange", "红色和橙色", "red and orange"),
                        ("orange", "橙色", "orange"), ("yellow", "黄色", "yellow"), ("green", "绿色", "green")] {
                        (option(code, lang.t(zh, en), bands.as_deref()))
                    }
                }
            }
            label { (lang.t("搜索名称或编号", "Search name or id"))
                input type="search" name="q" maxlength="100" value=(f.text.as_deref().unwrap_or(""))
                    placeholder=(lang.t("名称或统一社会信用代码", "name or id"));
            }
            button type="submit" { (lang.t("应用", "Apply")) }
        }
    }
}

/// The table of one page of rows, its headers links that sort (keyboard usable, `aria-sort` on the current).
fn table(shown: &[&RunRow], names: &RegionNames, listing: &Listing, qs: &str, lang: Lang) -> Markup {
    let head = |key: SortKey, label: &str, num: bool| {
        let current = listing.sort == key;
        let next = if current && !listing.descending { "desc" } else { "asc" };
        let aria = current.then_some(if listing.descending { "descending" } else { "ascending" });
        let arrow = if !current {
            ""
        } else if listing.descending {
            " ▼"
        } else {
            " ▲"
        };
        html! {
            th scope="col" aria-sort=[aria] class=[num.then_some("num")] {
                a href={ "/watchlist?" (qs) "&sort=" (key.code()) "&dir=" (next) } { (label) (arrow) }
            }
        }
    };
    html! {
        table id="watchlist" {
            caption class="meta" { (lang.t("按风险排序；点击表头可排序", "Ranked by risk; click a header to sort")) }
            thead { tr {
                (head(SortKey::Rank, lang.t("排名", "Rank"), true))
                (head(SortKey::Name, lang.t("名称", "Name"), false))
                th scope="col" { (lang.t("类型", "Type")) }
                (head(SortKey::Region, lang.t("地区", "Region"), false))
                th scope="col" { (lang.t("等级", "Band")) }
                (head(SortKey::Score, lang.t("风险概率", "Probability"), true))
                (head(SortKey::Harm, lang.t("预计欠薪", "Expected unpaid"), true))
                (head(SortKey::Change, lang.t("较上次", "Change"), true))
                th scope="col" { (lang.t("主要原因", "Top reasons")) }
                th scope="col" { (lang.t("预警", "Alerts")) }
            } }
            tbody {
                @for r in shown {
                    @let href = entity_href(r.entity_type, &r.entity_id);
                    tr data-href=(href) {
                        td class="num" { (r.rank) }
                        td { a href=(href) { (r.name) } br; small class="meta" { (r.entity_id) } }
                        td { (type_name(r.entity_type, lang)) }
                        td { (names.label(r.region)) }
                        td { (band_chip(r.band, lang)) }
                        td class="num" { (percent(r.score)) }
                        td class="num" {
                            @match (r.expected_unpaid_yuan, r.expected_workers) {
                                (Some(yuan), Some(workers)) => {
                                    (money(yuan, lang)) br;
                                    small class="meta" { (format!("{workers:.1}")) " " (lang.t("人", "workers")) }
                                }
                                _ => { "–" }
                            }
                        }
                        td class="num" { (change_cell(r, lang)) }
                        td {
                            @for (i, x) in r.reasons.iter().enumerate() {
                                @if i > 0 { br; }
                                @let (zh, en) = x.texts();
                                (if lang == Lang::Zh { zh } else { en })
                            }
                        }
                        td class="alerts" {
                            @for (i, a) in r.alerts.iter().enumerate() {
                                @if i > 0 { br; }
                                (if lang == Lang::Zh { a.zh() } else { a.en() })
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Links to the previous and next page, keeping the filters and the sort.
fn pager(listing: &Listing, page: usize, pages: usize, lang: Lang) -> Markup {
    let sort_qs = listing.filters_and_sort();
    html! {
        nav class="pager" aria-label="pages" {
            @if page > 1 { a href={ "/watchlist?" (sort_qs) "&page=" (page - 1) } rel="prev" { (lang.t("上一页", "Previous")) } }
            @if page < pages { a href={ "/watchlist?" (sort_qs) "&page=" (page + 1) } rel="next" { (lang.t("下一页", "Next")) } }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ExportParams {
    format: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

pub(crate) async fn export(
    State(state): State<AppState>,
    viewer: Viewer,
    PageParams(p): PageParams<ExportParams>,
) -> Response {
    let format = match p.format.as_deref() {
        None | Some("csv") => ExportFormatCode::Csv,
        Some("xlsx") => ExportFormatCode::Xlsx,
        Some("parquet") => ExportFormatCode::Parquet,
        Some(_) => {
            let e = ApiError::BadParameter { name: "format", reason: "use csv, parquet or xlsx".into() };
            return error_page(viewer.lang, Some(&viewer), &viewer.here, e);
        }
    };
    let result = async {
        let listing = Listing::parse(&p.page, &viewer)?;
        let (sort, descending) = (listing.sort, listing.descending);
        let filters = format!("{}&format={format:?}", listing.filters_and_sort());
        let order: ExportOrder = Box::new(move |rows| sorted(rows, sort, descending));
        let export = Export { run: None, format, order, route: "/export", filters };
        export_file(&state, &viewer.caller, listing.filter, export).await
    }
    .await;
    result.unwrap_or_else(|e| error_page(viewer.lang, Some(&viewer), &viewer.here, e))
}
