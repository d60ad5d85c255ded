//! The backtest report: one typed structure ([`Report`]), serialised once as `report.json`, and read back
//! by the same type wherever it is shown (the dashboard's model page, the API's model detail); the
//! Markdown page and the SVG charts are drawn from it.
//!
//! `report.json` is a file format this crate owns, like `model.json`: its fields are those of [`Report`],
//! dates are `YYYY-MM-DD`, and a report written by an older wagewatch without `schema_version` reads as
//! version 1.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::svg::{line_chart, Series};
use super::{Backtest, Outcome};
use crate::contract::Date;
use crate::features::EntityType;
use crate::metrics::{self, ReliabilityBin};
use crate::model::ModelError;
use crate::target::EventSources;

/// The version of `report.json` this code writes and reads.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Dates in the report are written `YYYY-MM-DD`.
mod date_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::contract::Date;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(d)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a date YYYY-MM-DD")))
    }

    pub mod many {
        use serde::{Deserialize, Deserializer, Serializer};

        use crate::contract::Date;

        pub fn serialize<S: Serializer>(dates: &[Date], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(dates.iter().map(Date::to_string))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Date>, D::Error> {
            Vec::<String>::deserialize(d)?
                .iter()
                .map(|t| Date::parse(t).ok_or_else(|| serde::de::Error::custom(format!("{t:?} is not a date"))))
                .collect()
        }
    }
}

fn version_one() -> u32 {
    1
}

/// Everything a backtest found, as written to `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    #[serde(default = "version_one")]
    pub schema_version: u32,
    #[serde(with = "date_text")]
    pub from: Date,
    #[serde(with = "date_text")]
    pub to: Date,
    pub step_months: i32,
    pub horizon_days: i32,
    #[serde(with = "date_text::many")]
    pub dates: Vec<Date>,
    /// The learner chosen at each date for each entity type.
    pub learners: Vec<LearnerChoice>,
    /// How long the whole backtest took, when the caller measured it.
    pub seconds: Option<f64>,
    pub entity_types: EntityReports,
    /// The fairness audit pooled over the test dates (absent from reports written before it existed).
    #[serde(default)]
    pub fairness: Option<crate::fairness::Audit>,
}

/// The learner chosen at one test date for one entity type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnerChoice {
    #[serde(with = "date_text")]
    pub as_of: Date,
    /// `employer` or `project`.
    pub entity_type: String,
    /// Such as `blend(gbdt 0.75, scorecard 0.25)`.
    pub learner: String,
    /// Trees in the boosted model (the rounds early stopping kept, summed over a bag's members).
    pub trees: usize,
}

/// The figures of both entity types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntityReports {
    pub employer: EntityReport,
    pub project: EntityReport,
}

impl EntityReports {
    /// The figures of one entity type.
    pub fn of(&self, t: EntityType) -> &EntityReport {
        match t {
            EntityType::Employer => &self.employer,
            EntityType::Project => &self.project,
        }
    }
}

/// The figures of one entity type: pooled over the test dates, by season, by label source and per date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntityReport {
    pub pooled: Evaluation,
    /// Dates whose horizon overlaps the 60 days before Spring Festival.
    pub pre_festival: Evaluation,
    pub off_peak: Evaluation,
    pub by_source: BySource,
    pub per_date: Vec<DateEvaluation>,
    /// The entity-dates inspected at random in their horizon (absent from reports written before it was
    /// kept; none inspected gives zero entity-dates).
    #[serde(default)]
    pub random_slice: Option<SliceFigures>,
}

/// The model judged on the audit slice: firms inspected at random, which the model did not choose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceFigures {
    pub entity_dates: usize,
    /// With an arrears event of any source in the horizon.
    pub events: usize,
    /// Whose random inspection found arrears.
    pub found_by_inspection: usize,
    /// The mean probability the model gave them, against the observed event rate (calibration in the
    /// large); none for an empty slice.
    pub mean_probability: Option<f64>,
    pub observed_rate: Option<f64>,
    /// The share of the random inspections that found arrears.
    pub found_rate: Option<f64>,
    /// Of the slice, those at or above the orange cut-off (probability 0.25), and how many had an event.
    pub selected: usize,
    pub selected_events: usize,
    /// Precision among the selected; none when none was.
    pub precision: Option<f64>,
    pub brier: Option<f64>,
}

/// The figures of the audit slice among `outcomes`.
pub fn slice_figures(outcomes: &[&Outcome]) -> SliceFigures {
    let slice: Vec<&&Outcome> = outcomes.iter().filter(|o| o.slice.inspected).collect();
    let n = slice.len();
    let share = |k: usize, of: usize| (of > 0).then(|| k as f64 / of as f64);
    let events = slice.iter().filter(|o| o.events.any()).count();
    let cut = crate::model::BandCutoffs::default().orange;
    let selected: Vec<&&&Outcome> = slice.iter().filter(|o| o.probability >= cut).collect();
    let selected_events = selected.iter().filter(|o| o.events.any()).count();
    let prob: Vec<f64> = slice.iter().map(|o| o.probability).collect();
    let y: Vec<bool> = slice.iter().map(|o| o.events.any()).collect();
    SliceFigures {
        entity_dates: n,
        events,
        found_by_inspection: slice.iter().filter(|o| o.slice.found).count(),
        mean_probability: (n > 0).then(|| prob.iter().sum::<f64>() / n as f64),
        observed_rate: share(events, n),
        found_rate: share(slice.iter().filter(|o| o.slice.found).count(), n),
        selected: selected.len(),
        selected_events,
        precision: share(selected_events, selected.len()),
        brier: (n > 0).then(|| metrics::brier(&prob, &y)),
    }
}

/// The figures judged against one kind of event at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BySource {
    pub complaint: Evaluation,
    pub inspection: Evaluation,
    pub payroll: Evaluation,
}

/// The figures of one test date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DateEvaluation {
    #[serde(with = "date_text")]
    pub as_of: Date,
    pub pre_festival: bool,
    #[serde(flatten)]
    pub evaluation: Evaluation,
    /// The wages at stake the top of each ranking held (absent from reports written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harm: Option<HarmFigures>,
}

/// The shares of a date's unpaid wages and affected workers that one ranking's top `n` held.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Captured {
    pub unpaid_yuan: f64,
    pub workers: f64,
}

/// The harm captured at one cut, by each ranking and by the best possible list of that length.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HarmAtK {
    pub k: String,
    pub n: usize,
    pub by_probability: Captured,
    /// Ranked by expected unpaid wages (none when the model had no amount model).
    pub by_expected_harm: Option<Captured>,
    pub rule: Captured,
    /// The top `n` by what actually went unpaid (by workers, for the workers' share).
    pub best_possible: Captured,
}

/// What went unpaid at one test date, how much of it the rankings reached, and how far the amount model was
/// off, out of time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HarmFigures {
    /// Unpaid wages of the scored entities in the horizon, yuan.
    pub unpaid_yuan: f64,
    pub workers: u64,
    pub at_k: Vec<HarmAtK>,
    /// Over the entities with an event: mean absolute error of `ln(1 + yuan)` given an event.
    pub amount_log_mae: Option<f64>,
    /// Expected unpaid wages summed over every entity against what went unpaid (1 = right in total).
    pub expected_total_ratio: Option<f64>,
}

/// The cuts harm is reported at.
const HARM_KS: [usize; 3] = [50, 100, 200];

/// The harm figures of one date's outcomes.
pub fn harm_figures(outcomes: &[&Outcome]) -> HarmFigures {
    let yuan: Vec<f64> = outcomes.iter().map(|o| o.harm.unpaid_yuan).collect();
    let workers: Vec<f64> = outcomes.iter().map(|o| f64::from(o.harm.workers)).collect();
    let (total_yuan, total_workers) = (yuan.iter().sum::<f64>(), workers.iter().sum::<f64>());
    let share = |part: f64, total: f64| if total > 0.0 { part / total } else { 0.0 };
    let order = |key: &dyn Fn(&Outcome) -> f64| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..outcomes.len()).collect();
        idx.sort_by(|&a, &b| key(outcomes[b]).total_cmp(&key(outcomes[a])).then(a.cmp(&b)));
        idx
    };
    let captured = |order: &[usize], n: usize| Captured {
        unpaid_yuan: share(order.iter().take(n).map(|&i| yuan[i]).sum(), total_yuan),
        workers: share(order.iter().take(n).map(|&i| workers[i]).sum(), total_workers),
    };
    let has_amounts = outcomes.iter().all(|o| o.expected.is_some()) && !outcomes.is_empty();
    let by_probability = order(&|o| o.raw_score);
    let by_expected = has_amounts.then(|| order(&|o| o.expected.map_or(0.0, |e| e.unpaid_yuan)));
    let by_rule = order(&|o| o.rule_score);
    let (best_yuan, best_workers) = (order(&|o| o.harm.unpaid_yuan), order(&|o| f64::from(o.harm.workers)));
    let at_k = HARM_KS
        .iter()
        .map(|&n| HarmAtK {
            k: n.to_string(),
            n,
            by_probability: captured(&by_probability, n),
            by_expected_harm: by_expected.as_ref().map(|o| captured(o, n)),
            rule: captured(&by_rule, n),
            best_possible: Captured {
                unpaid_yuan: captured(&best_yuan, n).unpaid_yuan,
                workers: captured(&best_workers, n).workers,
            },
        })
        .collect();
    let errors: Vec<f64> = outcomes
        .iter()
        .filter(|o| o.events.any())
        .filter_map(|o| o.given_event.map(|g| (g.unpaid_yuan.ln_1p() - o.harm.unpaid_yuan.ln_1p()).abs()))
        .collect();
    let expected_total: f64 = outcomes.iter().filter_map(|o| o.expected.map(|e| e.unpaid_yuan)).sum();
    HarmFigures {
        unpaid_yuan: total_yuan,
        workers: total_workers as u64,
        at_k,
        amount_log_mae: (!errors.is_empty()).then(|| errors.iter().sum::<f64>() / errors.len() as f64),
        expected_total_ratio: (has_amounts && total_yuan > 0.0).then(|| expected_total / total_yuan),
    }
}

/// Ranking and calibration figures of one set of outcomes, for the model, the rule and random.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub entities: usize,
    pub events: usize,
    pub event_rate: f64,
    pub model: ModelFigures,
    pub rule: RuleFigures,
    pub random: RandomFigures,
}

/// The model's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelFigures {
    pub roc_auc: f64,
    pub average_precision: f64,
    pub at_k: Vec<AtK>,
    pub brier: f64,
    pub log_loss: f64,
    pub lift_top_decile: f64,
    pub mean_probability: f64,
    /// Ten equal-mass bins by probability.
    pub reliability: Vec<Bin>,
    /// The largest gap between mean probability and observed rate over bins of
    /// [`metrics::RELIABILITY_MIN_ENTITIES`] or more entities; none when every bin is smaller.
    pub reliability_worst_gap: Option<f64>,
}

/// The rule baseline's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleFigures {
    pub roc_auc: f64,
    pub average_precision: f64,
    pub at_k: Vec<AtK>,
    pub lift_top_decile: f64,
}

/// What a random ordering would do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomFigures {
    pub roc_auc: f64,
    pub average_precision: f64,
    pub precision_at_k: f64,
}

/// Precision and recall among the top `n` entities; `k` names the cut (`100`, `1%`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtK {
    pub k: String,
    pub n: usize,
    pub precision: f64,
    pub recall: f64,
}

/// One bin of a reliability table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub entities: usize,
    pub mean_probability: f64,
    pub observed_rate: f64,
}

impl From<&ReliabilityBin> for Bin {
    fn from(b: &ReliabilityBin) -> Bin {
        Bin { entities: b.entities, mean_probability: b.mean_probability, observed_rate: b.observed_rate }
    }
}

impl ModelFigures {
    /// Precision among the top `k` (as named in the report, e.g. `100`).
    pub fn precision_at(&self, k: &str) -> Option<f64> {
        self.at_k.iter().find(|a| a.k == k).map(|a| a.precision)
    }
}

impl RuleFigures {
    /// Precision among the top `k` (as named in the report, e.g. `100`).
    pub fn precision_at(&self, k: &str) -> Option<f64> {
        self.at_k.iter().find(|a| a.k == k).map(|a| a.precision)
    }
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("backtest report {path} is not valid: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("backtest report {path} has schema version {found}; this wagewatch reads version {expected}")]
    SchemaVersion { path: PathBuf, found: u32, expected: u32 },
}

impl Report {
    /// Reads a `report.json` (or the `backtest.json` copy beside a model).
    pub fn read(path: &Path) -> Result<Report, ReportError> {
        let bytes = fs::read(path).map_err(|source| ReportError::Io { path: path.to_path_buf(), source })?;
        let report: Report = serde_json::from_slice(&bytes)
            .map_err(|e| ReportError::BadFile { path: path.to_path_buf(), reason: e.to_string() })?;
        if report.schema_version != REPORT_SCHEMA_VERSION {
            return Err(ReportError::SchemaVersion {
                path: path.to_path_buf(),
                found: report.schema_version,
                expected: REPORT_SCHEMA_VERSION,
            });
        }
        Ok(report)
    }
}

/// The k values precision and recall are reported at.
pub fn ks(n: usize) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = [50, 100, 200].iter().map(|k| (k.to_string(), *k)).collect();
    out.push(("1%".into(), (n as f64 * 0.01).ceil().max(1.0) as usize));
    out.push(("5%".into(), (n as f64 * 0.05).ceil().max(1.0) as usize));
    out
}

/// The figures of one set of outcomes, judged against the events `source` picks.
pub fn evaluate(outcomes: &[&Outcome], source: impl Fn(&EventSources) -> bool) -> Evaluation {
    let y: Vec<bool> = outcomes.iter().map(|o| source(&o.events)).collect();
    let n = y.len();
    let events = y.iter().filter(|v| **v).count();
    let rate = if n > 0 { events as f64 / n as f64 } else { 0.0 };
    // The model ranks by its raw score, as the watchlist does (the probability rises strictly with it).
    let model_order: Vec<f64> = outcomes.iter().map(|o| o.raw_score).collect();
    let prob: Vec<f64> = outcomes.iter().map(|o| o.probability).collect();
    let rule: Vec<f64> = outcomes.iter().map(|o| o.rule_score).collect();
    let at_k = |score: &[f64]| -> Vec<AtK> {
        ks(n)
            .into_iter()
            .map(|(k, cut)| {
                let (precision, recall) = metrics::precision_recall_at(score, &y, cut);
                AtK { k, n: cut, precision, recall }
            })
            .collect()
    };
    let reliability = metrics::reliability(&prob, &y, 10);
    Evaluation {
        entities: n,
        events,
        event_rate: rate,
        model: ModelFigures {
            roc_auc: metrics::roc_auc(&model_order, &y),
            average_precision: metrics::average_precision(&model_order, &y),
            at_k: at_k(&model_order),
            brier: metrics::brier(&prob, &y),
            log_loss: metrics::log_loss(&prob, &y),
            lift_top_decile: metrics::lift_top_decile(&model_order, &y),
            mean_probability: if n > 0 { prob.iter().sum::<f64>() / n as f64 } else { 0.0 },
            reliability: reliability.iter().map(Bin::from).collect(),
            reliability_worst_gap: metrics::worst_reliability_gap(&reliability, metrics::RELIABILITY_MIN_ENTITIES),
        },
        rule: RuleFigures {
            roc_auc: metrics::roc_auc(&rule, &y),
            average_precision: metrics::average_precision(&rule, &y),
            at_k: at_k(&rule),
            lift_top_decile: metrics::lift_top_decile(&rule, &y),
        },
        random: RandomFigures { roc_auc: 0.5, average_precision: rate, precision_at_k: rate },
    }
}

fn entity_report(b: &Backtest, outcomes: &[Outcome]) -> EntityReport {
    let all: Vec<&Outcome> = outcomes.iter().collect();
    let pre: Vec<&Outcome> = outcomes.iter().filter(|o| o.pre_festival).collect();
    let off: Vec<&Outcome> = outcomes.iter().filter(|o| !o.pre_festival).collect();
    let per_date = b
        .dates
        .iter()
        .map(|d| {
            let rows: Vec<&Outcome> = outcomes.iter().filter(|o| o.as_of == *d).collect();
            DateEvaluation {
                as_of: *d,
                pre_festival: rows.first().is_some_and(|o| o.pre_festival),
                evaluation: evaluate(&rows, |e| e.any()),
                harm: Some(harm_figures(&rows)),
            }
        })
        .collect();
    EntityReport {
        pooled: evaluate(&all, |e| e.any()),
        pre_festival: evaluate(&pre, |e| e.any()),
        off_peak: evaluate(&off, |e| e.any()),
        by_source: BySource {
            complaint: evaluate(&all, |e| e.complaint),
            inspection: evaluate(&all, |e| e.inspection),
            payroll: evaluate(&all, |e| e.payroll),
        },
        per_date,
        random_slice: Some(slice_figures(&all)),
    }
}

impl Backtest {
    /// The report of this backtest; `seconds` is how long it took, when the caller measured it.
    pub fn report(&self, seconds: Option<f64>) -> Report {
        let c = &self.config;
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            from: c.from,
            to: c.to,
            step_months: c.step_months,
            horizon_days: c.horizon_days,
            dates: self.dates.clone(),
            learners: self
                .learners
                .iter()
                .map(|l| LearnerChoice {
                    as_of: l.as_of,
                    entity_type: l.entity_type.code().to_string(),
                    learner: l.learner.clone(),
                    trees: l.trees,
                })
                .collect(),
            seconds,
            entity_types: EntityReports {
                employer: entity_report(self, self.outcomes(EntityType::Employer)),
                project: entity_report(self, self.outcomes(EntityType::Project)),
            },
            fairness: Some(self.fairness.audit()),
        }
    }
}

const CURVE_KS: [usize; 10] = [10, 25, 50, 75, 100, 150, 200, 300, 400, 500];

/// Points of a chart line.
type Curve = Vec<(f64, f64)>;

/// Mean precision@k over test dates, for the model and the rule, and the mean event rate.
fn precision_curve(b: &Backtest, outcomes: &[Outcome]) -> (Curve, Curve, f64) {
    let mut model = vec![0.0; CURVE_KS.len()];
    let mut rule = vec![0.0; CURVE_KS.len()];
    let mut rate = 0.0;
    let mut dates = 0.0;
    for d in &b.dates {
        let rows: Vec<&Outcome> = outcomes.iter().filter(|o| o.as_of == *d).collect();
        if rows.is_empty() {
            continue;
        }
        let y: Vec<bool> = rows.iter().map(|o| o.events.any()).collect();
        let raw: Vec<f64> = rows.iter().map(|o| o.raw_score).collect();
        let rs: Vec<f64> = rows.iter().map(|o| o.rule_score).collect();
        for (i, k) in CURVE_KS.iter().enumerate() {
            model[i] += metrics::precision_recall_at(&raw, &y, *k).0;
            rule[i] += metrics::precision_recall_at(&rs, &y, *k).0;
        }
        rate += y.iter().filter(|v| **v).count() as f64 / y.len() as f64;
        dates += 1.0;
    }
    let d = if dates > 0.0 { dates } else { 1.0 };
    let pts = |v: &[f64]| CURVE_KS.iter().zip(v).map(|(k, p)| (*k as f64, p / d)).collect();
    (pts(&model), pts(&rule), rate / d)
}

fn f(x: f64) -> String {
    format!("{x:.3}")
}

fn at_k_cell(at_k: &[AtK], k: &str) -> String {
    at_k.iter().find(|a| a.k == k).map_or("-".into(), |a| format!("{} / {}", f(a.precision), f(a.recall)))
}

fn table(title: &str, v: &Evaluation) -> String {
    let mut s = format!("**{title}**: {} entity-dates, {} events (rate {})\n\n", v.entities, v.events, f(v.event_rate));
    s.push_str("| | ROC AUC | avg. precision | P/R @50 | P/R @100 | P/R @200 | P/R @1% | P/R @5% | lift top 10% |\n|---|---|---|---|---|---|---|---|---|\n");
    let rows = [
        ("wagewatch", v.model.roc_auc, v.model.average_precision, &v.model.at_k, v.model.lift_top_decile),
        ("rule baseline", v.rule.roc_auc, v.rule.average_precision, &v.rule.at_k, v.rule.lift_top_decile),
    ];
    for (name, auc, ap, at_k, lift) in rows {
        s.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            f(auc),
            f(ap),
            at_k_cell(at_k, "50"),
            at_k_cell(at_k, "100"),
            at_k_cell(at_k, "200"),
            at_k_cell(at_k, "1%"),
            at_k_cell(at_k, "5%"),
            f(lift)
        ));
    }
    s.push_str(&format!(
        "| random | 0.500 | {} | {} | | | | | 1.000 |\n\n",
        f(v.random.average_precision),
        f(v.random.precision_at_k)
    ));
    s.push_str(&format!(
        "Brier {} · log loss {} · mean probability {}\n\n",
        f(v.model.brier),
        f(v.model.log_loss),
        f(v.model.mean_probability)
    ));
    s
}

/// The wages at stake per test date: the shares of unpaid yuan and of affected workers the top 100 held,
/// by each ranking, and the amount model's error out of time.
fn harm_markdown(v: &EntityReport) -> String {
    let mut md = String::from(
        "\nWages at stake per test date: the share of the unpaid wages (yuan / workers) in the horizon that the top \
         100 held, ranked by probability, by expected unpaid wages, by the rule, and at best; the amount model's \
         mean absolute error of ln(1 + yuan) on the entities with an event (0.69 is a factor of two), and its \
         expected total against the actual:\n\n\
         | as of | unpaid (万元) | workers | by probability | by expected harm | rule | best possible | amount error | expected / actual |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let pair = |c: &Captured| format!("{} / {}", f(c.unpaid_yuan), f(c.workers));
    for d in &v.per_date {
        let Some(h) = &d.harm else { continue };
        let Some(at) = h.at_k.iter().find(|a| a.k == "100") else { continue };
        md.push_str(&format!(
            "| {} | {:.1} | {} | {} | {} | {} | {} | {} | {} |\n",
            d.as_of,
            h.unpaid_yuan / 10_000.0,
            h.workers,
            pair(&at.by_probability),
            at.by_expected_harm.as_ref().map_or("-".into(), pair),
            pair(&at.rule),
            pair(&at.best_possible),
            h.amount_log_mae.map_or("-".into(), f),
            h.expected_total_ratio.map_or("-".into(), f),
        ));
    }
    md
}

/// The Markdown section of one entity type (without its charts).
fn entity_markdown(t: EntityType, v: &EntityReport) -> String {
    let mut md = format!("## {}s\n\n", t.code());
    md.push_str(&table("all test dates", &v.pooled));
    md.push_str(&table(
        "pre-festival windows (the horizon overlaps the 60 days before Spring Festival)",
        &v.pre_festival,
    ));
    md.push_str(&table("off-peak windows", &v.off_peak));
    md.push_str("By label source (complaints and inspections are selective labels; payroll is not):\n\n| source | events | AUC | avg. precision | rule AUC | rule avg. precision |\n|---|---|---|---|---|---|\n");
    for (name, s) in [
        ("complaint", &v.by_source.complaint),
        ("inspection", &v.by_source.inspection),
        ("payroll", &v.by_source.payroll),
    ] {
        md.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            s.events,
            f(s.model.roc_auc),
            f(s.model.average_precision),
            f(s.rule.roc_auc),
            f(s.rule.average_precision)
        ));
    }
    md.push_str(&format!(
        "\nPer test date (calibration: the largest gap between mean probability and observed rate over the \
         date's 10 equal-mass bins of {}+ entities; - when the bins are smaller):\n\n\
         | as of | window | entities | events | AUC | avg. precision | P@100 | rule P@100 | calibration |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        metrics::RELIABILITY_MIN_ENTITIES
    ));
    for d in &v.per_date {
        let e = &d.evaluation;
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            d.as_of,
            if d.pre_festival { "pre-festival" } else { "off-peak" },
            e.entities,
            e.events,
            f(e.model.roc_auc),
            f(e.model.average_precision),
            at_k_cell(&e.model.at_k, "100"),
            at_k_cell(&e.rule.at_k, "100"),
            e.model.reliability_worst_gap.map_or("-".into(), f),
        ));
    }
    md.push_str(&harm_markdown(v));
    if let Some(sl) = &v.random_slice {
        let o = |v: Option<f64>| v.map_or("-".into(), f);
        md.push_str(&format!(
            "\nThe audit slice (entities inspected at random in their horizon, which the model did not choose): {} \
             entity-dates, {} with an event (observed rate {} against a mean probability of {}; Brier {}); the \
             random inspections found arrears at {} of them ({}); precision among those at or above the orange \
             cut-off {} ({} of {}).\n",
            sl.entity_dates,
            sl.events,
            o(sl.observed_rate),
            o(sl.mean_probability),
            o(sl.brier),
            sl.found_by_inspection,
            o(sl.found_rate),
            o(sl.precision),
            sl.selected_events,
            sl.selected
        ));
    }
    md.push_str("\nReliability (equal-mass bins, all test dates):\n\n| bin | entities | mean probability | observed rate |\n|---|---|---|---|\n");
    for (i, bin) in v.pooled.model.reliability.iter().enumerate() {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            i + 1,
            bin.entities,
            f(bin.mean_probability),
            f(bin.observed_rate)
        ));
    }
    md
}

/// The precision@k curve and the reliability diagram of one entity type.
fn charts(b: &Backtest, t: EntityType, v: &EntityReport) -> [(String, String); 2] {
    let (model_curve, rule_curve, rate) = precision_curve(b, b.outcomes(t));
    let random: Vec<(f64, f64)> = model_curve.iter().map(|(k, _)| (*k, rate)).collect();
    let curve = line_chart(
        &format!("precision@k, {}s (mean over test dates)", t.code()),
        "k (entities inspected)",
        "precision",
        &[
            Series { name: "wagewatch", colour: "#c0392b", points: model_curve },
            Series { name: "rule baseline", colour: "#2c7fb8", points: rule_curve },
            Series { name: "random", colour: "#999999", points: random },
        ],
        None,
        Some(1.0),
        false,
    );
    let rel: Vec<(f64, f64)> =
        v.pooled.model.reliability.iter().map(|b| (b.mean_probability, b.observed_rate)).collect();
    let top = rel.iter().map(|p| p.0.max(p.1)).fold(0.1, f64::max).min(1.0);
    let reliability = line_chart(
        &format!("reliability, {}s", t.code()),
        "predicted probability",
        "observed event rate",
        &[Series { name: "wagewatch", colour: "#c0392b", points: rel }],
        Some(top),
        Some(top),
        true,
    );
    [(format!("precision_at_k_{}.svg", t.code()), curve), (format!("reliability_{}.svg", t.code()), reliability)]
}

/// Writes `report.md`, `report.json` and the charts into `dir`; returns the Markdown path. `seconds` is how
/// long the backtest took, when the caller measured it.
pub fn write_report(b: &Backtest, seconds: Option<f64>, dir: &Path) -> Result<PathBuf, ModelError> {
    let io = |path: PathBuf| move |source| ModelError::Io { path, source };
    fs::create_dir_all(dir).map_err(io(dir.to_path_buf()))?;
    let report = b.report(seconds);
    let json_path = dir.join("report.json");
    let json = serde_json::to_vec_pretty(&report)
        .map_err(|e| ModelError::BadFile { path: json_path.clone(), reason: e.to_string() })?;
    fs::write(&json_path, json).map_err(io(json_path.clone()))?;
    let mut md = String::from("# wagewatch backtest\n\n");
    md.push_str(&format!(
        "Test dates {} to {} every {} month(s), horizon {} days; at each date the model was trained only on what was \
         known then{}. Events are the data contract's arrears events.\n\n",
        report.from,
        report.to,
        report.step_months,
        report.horizon_days,
        seconds.map_or(String::new(), |s| format!(" ({s:.0} s in all)"))
    ));
    for t in EntityType::ALL {
        let v = report.entity_types.of(t);
        md.push_str(&entity_markdown(t, v));
        for (name, svg) in charts(b, t, v) {
            let path = dir.join(&name);
            fs::write(&path, svg).map_err(io(path.clone()))?;
            md.push_str(&format!("\n![{name}]({name})\n"));
        }
        md.push('\n');
    }
    let learners: Vec<String> = report
        .learners
        .iter()
        .map(|l| format!("{} {}: {} ({} trees)", l.as_of, l.entity_type, l.learner, l.trees))
        .collect();
    md.push_str(&format!("Learners chosen by out-of-time validation: {}\n", learners.join("; ")));
    if let Some(audit) = &report.fairness {
        md.push_str("\n## Fairness audit (all test dates)\n\n");
        md.push_str(&audit.markdown());
    }
    let md_path = dir.join("report.md");
    fs::write(&md_path, md).map_err(io(md_path.clone()))?;
    Ok(md_path)
}

/// The files of a report that are copied beside a model (`report.json` becomes `backtest.json`).
pub const MODEL_FILES: [(&str, &str); 5] = [
    ("report.json", "backtest.json"),
    ("precision_at_k_employer.svg", "precision_at_k_employer.svg"),
    ("precision_at_k_project.svg", "precision_at_k_project.svg"),
    ("reliability_employer.svg", "reliability_employer.svg"),
    ("reliability_project.svg", "reliability_project.svg"),
];
