//! The model and runs page: the current model's backtest (figures and charts), the run registry and the
//! model card; and the charts themselves, served as images (never pasted into the page).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::charts;
use super::html::{col, num, thead, Lang, Nav};
use super::session::{PagePath, Viewer};
use super::{error_page, page, type_name};
use wagewatch_core::champion::{Standing, Verdict};
use wagewatch_core::fairness::{Audit, GroupAudit};
use wagewatch_core::features::EntityType;
use wagewatch_core::model::Band;
use wagewatch_service::server::{ApiError, AppState};
use wagewatch_service::state::{
    DriftAgainst, DriftRow, ModelRecord, ModelRole, Role, RunDrift, RunOutcome, RunRecord, RunStatus, Shadow,
};

/// The backtest charts a model folder may hold, with their captions.
const CHARTS: [(&str, &str, &str); 4] = [
    ("precision_at_k_employer.svg", "企业：前 k 名精确率", "Employers: precision at k"),
    ("reliability_employer.svg", "企业：校准图", "Employers: reliability"),
    ("precision_at_k_project.svg", "项目：前 k 名精确率", "Projects: precision at k"),
    ("reliability_project.svg", "项目：校准图", "Projects: reliability"),
];

pub(crate) async fn model_page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let body = render(&state, &viewer).await;
    page(&viewer, viewer.lang.t("模型与批次", "Model & runs"), Nav::Model, body)
}

/// A backtest chart of the current model, as an SVG image.
pub(crate) async fn chart(State(state): State<AppState>, viewer: Viewer, PagePath(name): PagePath<String>) -> Response {
    let result = async {
        let (file, _, _) = CHARTS
            .iter()
            .find(|(file, _, _)| *file == name)
            .ok_or_else(|| ApiError::NotFound { what: format!("chart {name}") })?;
        let snapshot = state.snapshot();
        let model_id = snapshot.pick(None)?.data.record.model_id.clone();
        state.model_chart(&model_id, file).await?.ok_or_else(|| ApiError::NotFound { what: format!("chart {name}") })
    }
    .await;
    match result {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => error_page(viewer.lang, Some(&viewer), &viewer.here, e),
    }
}

async fn render(state: &AppState, viewer: &Viewer) -> Result<Markup, ApiError> {
    let lang = viewer.lang;
    let snapshot = state.snapshot();
    let view = snapshot.pick(None)?;
    let model_id = view.data.record.model_id.clone();
    let info = state.model(&model_id).await?;
    let runs = state.store(|s| s.runs()).await?;
    let current_run = view.run_id().to_string();
    let drift = state.store(move |s| s.run_drift(&current_run)).await?;
    let outcomes = state.store(|s| s.outcomes()).await?;
    let registry = state
        .store(|s| {
            let models = s.models()?;
            let verdict = models
                .iter()
                .find(|m| m.role == ModelRole::Challenger)
                .map(|c| wagewatch_service::champion::verdict(s, &c.model_id).ok())
                .unwrap_or(None);
            Ok((models, verdict))
        })
        .await?;
    let m = &info.model;
    Ok(html! {
        h1 { (lang.t("模型与批次", "Model and runs")) }
        p class="meta" {
            (lang.t("当前模型", "current model")) " " code { (model_id) } " · " (lang.t("训练截止", "trained as of")) " "
            (m.trained_as_of) " · " (lang.t("预测期", "horizon")) " " (m.horizon_days) " " (lang.t("天", "days"))
        }
        h2 { (lang.t("回测结果", "Backtest")) }
        @match &info.backtest {
            Some(b) => {
                p class="meta" { (lang.t("测试日期", "test dates")) " " (b.from) " – " (b.to) }
                table id="backtest" {
                    (thead(
                        lang,
                        &[
                            col("对象", "Entities"),
                            num("AUC", "AUC"),
                            num("平均精度 AP", "Average precision"),
                            num("前100精确率（模型）", "Precision@100 (model)"),
                            num("前100精确率（规则）", "Precision@100 (rules)"),
                            num("事件数", "Events"),
                        ]
                    ))
                    tbody {
                        @for t in EntityType::ALL {
                            @let p = &b.entity_types.of(t).pooled;
                            tr {
                                td { (type_name(t, lang)) }
                                td class="num" { (format!("{:.3}", p.model.roc_auc)) }
                                td class="num" { (format!("{:.3}", p.model.average_precision)) }
                                td class="num" { (p.model.precision_at("100").map_or("–".into(), |v| format!("{v:.2}"))) }
                                td class="num" { (p.rule.precision_at("100").map_or("–".into(), |v| format!("{v:.2}"))) }
                                td class="num" { (p.events) }
                            }
                        }
                    }
                }
                div class="grid2" {
                    @for (file, zh, en) in CHARTS {
                        figure {
                            figcaption { (lang.t(zh, en)) }
                            img src={ "/model/charts/" (file) } alt=(lang.t(zh, en)) width="640" height="400";
                        }
                    }
                }
                @if let Some(audit) = &b.fairness { (fairness_section(audit, lang)) }
            }
            None => p { (lang.t("该模型尚无回测（wagewatch backtest）。", "No backtest for this model yet (wagewatch backtest).")) }
        }
        (champion_section(&registry.0, registry.1.as_ref(), view.data.record.shadow.as_ref(), lang))
        (drift_section(view.data.record.drift, &drift, lang))
        (outcomes_section(&outcomes, &runs, lang))
        h2 { (lang.t("批次记录", "Runs")) }
        (run_table(&runs, viewer.caller.0.role == Role::Admin, lang))
        @match (lang, &info.card_markdown_zh) {
            (Lang::Zh, Some(zh)) => { h2 { "模型说明" } pre class="card-md" lang="zh-CN" { (zh) } }
            _ => { h2 { (lang.t("模型说明（英文）", "Model card")) } pre class="card-md" lang="en" { (info.card_markdown) } }
        }
    })
}

/// An attribute's name.
fn attribute_name(code: &str, lang: Lang) -> &'static str {
    match code {
        "kind" => lang.t("企业类型", "kind"),
        "sector" => lang.t("行业", "sector"),
        "size" => lang.t("规模（工人数）", "size (workers)"),
        "firm_age" => lang.t("成立年限", "firm age"),
        "city" => lang.t("城市", "city"),
        "funding" => lang.t("资金来源", "funding"),
        _ => "?",
    }
}

/// The backtest's fairness audit: what its flags mean, then every group, flagged figures marked.
fn fairness_section(audit: &Audit, lang: Lang) -> Markup {
    let flagged = audit.flagged().len();
    let cell = |g: &GroupAudit, name: &str, value: Option<f64>, ratio: Option<f64>| {
        let flag = g.flags.iter().any(|f| f == name);
        html! {
            td class={ "num" @if flag { " flagged" } } title=[ratio.map(|r| format!("× {r:.2}"))] {
                (value.map_or("–".into(), |v| format!("{v:.3}")))
                @if flag { " ⚑ ×" (ratio.map_or("–".into(), |r| format!("{r:.2}"))) }
            }
        }
    };
    html! {
        h2 { (lang.t("公平性审计", "Fairness audit")) }
        p class="explain" {
            (lang.t(
                "按企业类型、行业、规模、成立年限、城市和项目资金来源分组，比较各组被列为红/橙色的比例、命中率（精确率）、误报率（FPR）和漏报率（FNR），以最大的组为参照。",
                "Entities are grouped by kind, sector, size, firm age, city and project funding; each group's share                  banded red or orange, precision, false-positive rate (FPR) and false-negative rate (FNR) are set                  against the largest group's."
            ))
            " "
            (lang.t(
                &format!("与参照组之比超出 {}–{} 的数值标为 ⚑（组内至少 {} 个对象-日期）。", audit.ratio_low, audit.ratio_high, audit.min_group),
                &format!("A ratio outside {}–{} is marked ⚑ (groups of {}+ entity-dates).", audit.ratio_low, audit.ratio_high, audit.min_group),
            ))
        }
        p class="explain" {
            (lang.t(
                "标记表示模型对该组的处理不同，但不说明原因：基准事件率不同的组，即使模型准确，其入选率和错误率也会不同；按合同约定，项目的事件也计入其总承包商。标记提示需要人工核查，并不证明存在不公平；没有标记也不证明公平。",
                "A flag says the model treats a group differently, not why: a group with a different base rate is                  selected and misjudged at different rates by an accurate model too, and by the contract a                  project's events also count against its general contractor. A flag asks a person to look; it                  does not show unfairness, and no flag does not show fairness."
            ))
        }
        p class="meta" { (flagged) " " (lang.t("个组有标记", "group(s) flagged")) }
        table id="fairness" {
            (thead(
                lang,
                &[
                    col("对象", "Entities"),
                    col("分组依据", "Attribute"),
                    col("组", "Group"),
                    num("对象-日期", "Entity-dates"),
                    num("基准事件率", "Base rate"),
                    num("红/橙比例", "Selected"),
                    num("精确率", "Precision"),
                    num("误报率", "FPR"),
                    num("漏报率", "FNR"),
                ]
            ))
            tbody {
                @for a in &audit.attributes {
                    @for g in &a.groups {
                        tr {
                            td { (EntityType::parse(&a.entity_type).map_or("?", |t| type_name(t, lang))) }
                            td { (attribute_name(&a.attribute, lang)) }
                            td {
                                code { (g.group) }
                                @if g.group == a.reference_group { " " (lang.t("（参照）", "(reference)")) }
                            }
                            td class="num" { (g.counts.entities) }
                            (cell(g, "base_rate", g.rates.base_rate, g.ratios.base_rate))
                            (cell(g, "selection_rate", g.rates.selection_rate, g.ratios.selection_rate))
                            (cell(g, "precision", g.rates.precision, g.ratios.precision))
                            (cell(g, "false_positive_rate", g.rates.false_positive_rate, g.ratios.false_positive_rate))
                            (cell(g, "false_negative_rate", g.rates.false_negative_rate, g.ratios.false_negative_rate))
                        }
                    }
                }
            }
        }
    }
}

/// The champion and the challenger side by side: lineage, and their figures on the same recent dates,
/// with the promotion rule applied; and the challenger's list in shadow on the served run.
fn champion_section(models: &[ModelRecord], verdict: Option<&Verdict>, shadow: Option<&Shadow>, lang: Lang) -> Markup {
    let champion = models.iter().find(|m| m.role == ModelRole::Champion);
    let challenger = models.iter().find(|m| m.role == ModelRole::Challenger);
    let gap = |g: Option<f64>| g.map_or("–".to_string(), |g| format!("{g:.3}"));
    // The champion's figures are those it had on the challenger's dates.
    let columns: Vec<(&str, &ModelRecord, Option<&Standing>)> = [
        champion.map(|c| {
            (
                lang.t("冠军（在用）", "Champion (in use)"),
                c,
                challenger.and_then(|x| x.compared_with.as_ref()).filter(|(id, _)| *id == c.model_id).map(|(_, s)| s),
            )
        }),
        challenger.map(|c| (lang.t("挑战者", "Challenger"), c, c.standing.as_ref())),
    ]
    .into_iter()
    .flatten()
    .collect();
    html! {
        h2 { (lang.t("冠军与挑战者", "Champion and challenger")) }
        @if columns.is_empty() {
            p { (lang.t("模型登记册为空：wagewatch retrain 训练挑战者。", "The model registry is empty: wagewatch retrain trains a challenger.")) }
        } @else {
            table id="champion" {
                thead { tr {
                    th scope="col" { }
                    @for (label, m, _) in &columns { th scope="col" { (label) br; code { (m.model_id) } } }
                } }
                tbody {
                    tr { th scope="row" { (lang.t("训练截止", "Trained as of")) } @for (_, m, _) in &columns { td { (m.trained_as_of) } } }
                    tr { th scope="row" { (lang.t("训练期", "Training panel")) } @for (_, m, _) in &columns {
                        td { (m.fit_from.map(|d| d.to_string()).unwrap_or_default()) " – " (m.fit_to.map(|d| d.to_string()).unwrap_or_default()) } } }
                    tr { th scope="row" { (lang.t("数据指纹", "Data fingerprint")) } @for (_, m, _) in &columns { td { code { (m.data_fingerprint) } } } }
                    tr { th scope="row" { (lang.t("上级模型", "Parent")) } @for (_, m, _) in &columns { td { (m.parent_model_id.as_deref().unwrap_or("–")) } } }
                    tr { th scope="row" { (lang.t("代码版本", "Code version")) } @for (_, m, _) in &columns { td { (m.code_version) } } }
                    tr { th scope="row" { (lang.t("平均精度（企业/项目）", "Average precision (employers/projects)")) } @for (_, _, s) in &columns {
                        td class="num" { @if let Some(s) = s { (format!("{:.3} / {:.3}", s.average_precision[0], s.average_precision[1])) } @else { "–" } } } }
                    tr { th scope="row" { (lang.t("校准差距（企业/项目）", "Calibration gap (employers/projects)")) } @for (_, _, s) in &columns {
                        td class="num" { @if let Some(s) = s { (gap(s.calibration_gap[0])) " / " (gap(s.calibration_gap[1])) } @else { "–" } } } }
                    tr { th scope="row" { (lang.t("公平性标记", "Fairness flags")) } @for (_, _, s) in &columns {
                        td class="num" { @if let Some(s) = s { (s.fairness_flags) } @else { "–" } } } }
                }
            }
            @if let Some(s) = challenger.and_then(|c| c.standing.as_ref()) {
                p class="meta" { (lang.t("评估日期", "judged on")) " " (s.dates.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
            }
            @if let Some(v) = verdict {
                p id="promotion-rule" class={ "meta" @if !v.passes { " flagged" } } {
                    @if v.passes { (lang.t("符合晋升规则", "Meets the promotion rule")) } @else { (lang.t("不符合晋升规则", "Does not meet the promotion rule")) }
                    ": " (v.reasons.join("; "))
                }
            }
            @if let Some(sh) = shadow {
                p id="shadow" class="meta" {
                    (lang.t("影子评分（当前批次）：挑战者 ", "In shadow on the served run: the challenger ")) code { (sh.model_id) }
                    (lang.t(" 将列红色 ", " would band ")) (sh.red) (lang.t("、橙色 ", " red and ")) (sh.orange)
                    (lang.t("；在用名单中的红/橙对象有 ", " orange; of the served red and orange entities it lists ")) (share(sh.listed_overlap))
                    (lang.t(" 也在其名单中。", " too."))
                    (lang.t(
                        "两个模型都只按概率分界线分级，不计各区红色名额和保底规则，以便比较模型本身。",
                        " Both models are banded by the probability cut-offs alone, without the districts' red capacity or the band floors, so that the models themselves are compared."
                    ))
                }
            }
        }
    }
}

fn share(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:.1}%", v * 100.0))
}

/// What came of earlier lists whose horizon has closed: per run and entity type, the red and orange
/// bands' realised event rates, precision and recall at the cut-offs, and the newest list's calibration.
fn outcomes_section(outcomes: &[RunOutcome], runs: &[RunRecord], lang: Lang) -> Markup {
    let as_of = |id: &str| runs.iter().find(|r| r.run_id == id).map(|r| r.as_of.to_string()).unwrap_or_default();
    html! {
        h2 { (lang.t("名单应验了吗？", "Did the lists come true?")) }
        @if outcomes.is_empty() {
            p { (lang.t("尚无预测期已结束的批次。", "No run's horizon has closed in the data yet.")) }
        } @else {
            p class="explain" { (lang.t(
                "预测期结束后，用实际发生的欠薪事件检验当时发布的名单：各风险等级的实际事件率、红色及红橙色名单的命中率（精确率）和覆盖率（召回率），以及预测概率与实际比例的对照（校准）。",
                "Once a run's horizon has closed in the data, its list is judged against what happened: the \
                 realised event rate of each band, precision and recall down to the red and orange cut-offs, \
                 and predicted probability against the observed rate (calibration)."
            )) }
            table id="outcomes" {
                (thead(lang, &[
                    col("评分日", "As of"),
                    col("对象", "Entities"),
                    num("事件/对象", "Events/entities"),
                    num("红色事件率", "Red: event rate"),
                    num("橙色事件率", "Orange: event rate"),
                    num("红橙精确率", "Precision red+orange"),
                    num("红橙召回率", "Recall red+orange"),
                    num("绿色事件率", "Green: event rate"),
                ]))
                tbody {
                    @for o in outcomes {
                        @for (t, list) in &o.lists {
                            @let (n, e) = list.totals();
                            @let rate = |b: Band| list.bands.iter().find(|x| x.band == b).and_then(|x| x.rate().map(|r| (r, x.entities)));
                            tr {
                                td { (as_of(&o.run_id)) }
                                td { (type_name(*t, lang)) }
                                td class="num" { (e) " / " (n) }
                                @for b in [Band::Red, Band::Orange] {
                                    td class="num" { @match rate(b) { Some((r, k)) => { (share(Some(r))) " (" (k) ")" } None => "–" } }
                                }
                                td class="num" { (share(list.precision_at(Band::Orange))) }
                                td class="num" { (share(list.recall_at(Band::Orange))) }
                                td class="num" { (share(rate(Band::Green).map(|x| x.0))) }
                            }
                        }
                    }
                }
            }
            @if let Some(newest) = outcomes.first() {
                div class="grid2" {
                    @for (t, list) in &newest.lists {
                        @let bins: Vec<(f64, f64, usize)> = list.calibration.iter().map(|b| (b.mean_probability, b.observed_rate, b.entities)).collect();
                        @let title = format!("{} {} · {}", as_of(&newest.run_id), type_name(*t, lang), lang.t("校准", "calibration"));
                        figure { (charts::calibration(&bins, &title, lang)) }
                    }
                }
            }
        }
    }
}

fn psi_text(psi: Option<f64>) -> String {
    psi.map_or("–".into(), |v| format!("{v:.2}"))
}

/// The served run's drift: flagged or not, the score's PSI and the features that moved most, against the
/// training panel and the previous run.
fn drift_section(brief: Option<RunDrift>, rows: &[DriftRow], lang: Lang) -> Markup {
    let table = |against: DriftAgainst, zh: &'static str, en: &'static str| {
        let of: Vec<&DriftRow> = rows.iter().filter(|r| r.against == against).collect();
        let score: Vec<&&DriftRow> = of.iter().filter(|r| r.subject == "score").collect();
        let movers: Vec<&&DriftRow> = of.iter().filter(|r| r.subject != "score" && r.psi.is_some()).take(5).collect();
        html! {
            @if !of.is_empty() {
                h3 { (lang.t(zh, en)) }
                table class="drift" {
                    (thead(lang, &[col("对象", "Entities"), col("特征", "Feature"), num("PSI", "PSI")]))
                    tbody {
                        @for r in score.iter().chain(&movers) {
                            tr {
                                td { (type_name(r.entity_type, lang)) }
                                td { @if r.subject == "score" { strong { (lang.t("风险评分", "the score")) } } @else { code { (r.subject) } } }
                                td class={ "num" @if brief.is_some_and(|b| r.psi.is_some_and(|v| v > b.threshold)) { " flagged" } } { (psi_text(r.psi)) }
                            }
                        }
                    }
                }
            }
        }
    };
    html! {
        h2 { (lang.t("数据漂移（当前批次）", "Drift (served run)")) }
        @match brief {
            None => p { (lang.t("该批次未测量漂移。", "This run's drift was not measured.")) }
            Some(b) => {
                p id="drift-status" class={ "meta" @if b.drifted() { " flagged" } } {
                    @if b.drifted() {
                        (lang.t("⚑ 已漂移：有特征或评分的 PSI 超过 ", "⚑ Drifted: a feature or the score has a PSI above ")) (b.threshold)
                    } @else {
                        (lang.t("未漂移：所有 PSI 不超过 ", "No drift: every PSI is at most ")) (b.threshold)
                    }
                }
                p class="explain" { (lang.t(
                    "群体稳定性指数（PSI）衡量本批数据与模型训练数据、与上一批次相比的分布变化：小于 0.1 为无明显变化，0.1–0.25 为中等，大于 0.25 为显著。漂移大时评分的校准可能失准，应考虑重新训练。",
                    "The population stability index (PSI) measures how far this run's data moved from the model's \
                     training panel and from the previous run: under 0.1 no shift, 0.1–0.25 moderate, over 0.25 \
                     large. Large drift can leave the probabilities miscalibrated; consider retraining."
                )) }
                (table(DriftAgainst::Training, "与训练数据相比", "Against the training panel"))
                (table(DriftAgainst::Previous, "与上一批次相比", "Against the previous run"))
            }
        }
    }
}

/// The run registry; why a run failed is shown to admins only.
fn run_table(runs: &[RunRecord], admin: bool, lang: Lang) -> Markup {
    html! {
        table id="runs" {
            thead { tr {
                th scope="col" { (lang.t("批次", "Run")) }
                th scope="col" { (lang.t("评分日", "As of")) }
                th scope="col" { (lang.t("创建时间（UTC）", "Created (UTC)")) }
                th scope="col" { (lang.t("状态", "Status")) }
                th scope="col" { (lang.t("触发", "Trigger")) }
                th scope="col" class="num" { (lang.t("红/橙", "Red/orange")) }
                th scope="col" class="num" { (lang.t("新上榜", "New")) }
                th scope="col" class="num" { (lang.t("漂移 PSI（训练/上批）", "Drift PSI (training/previous)")) }
                @if admin { th scope="col" { (lang.t("错误", "Error")) } }
            } }
            tbody {
                @for r in runs {
                    tr {
                        td { code { (r.run_id) } }
                        td { (r.as_of) }
                        td { (r.created_at.to_string().replace('T', " ").trim_end_matches('Z')) }
                        td { @if r.status == RunStatus::Published { (lang.t("已发布", "published")) } @else { (lang.t("失败", "failed")) } }
                        td { (r.trigger) }
                        td class="num" { (r.counts.red) "/" (r.counts.orange) }
                        td class="num" { (r.counts.new_on_list) }
                        td class={ "num" @if r.drift.is_some_and(|d| d.drifted()) { " flagged" } } {
                            @if let Some(d) = r.drift {
                                (psi_text(d.training)) " / " (psi_text(d.previous))
                                @if d.drifted() { " ⚑" }
                            } @else { "–" }
                        }
                        @if admin { td { (r.error.as_deref().unwrap_or("")) } }
                    }
                }
            }
        }
    }
}
