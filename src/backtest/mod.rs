//! The honest backtest: at each test date, train only on what was known then, score, and compare with
//! what happened next, against the platforms' rule baseline and against random; figures pooled over dates
//! and split into pre-festival and off-peak windows and by label source.

mod report;
mod svg;

use serde_json::{json, Value};

use crate::contract::Date;
use crate::features::{self, EntityType, Feature, WorkerMonths};
use crate::ingest::tables::Dataset;
use crate::metrics::{self, ReliabilityBin};
use crate::model::{self, BandCutoffs, ModelError, TrainConfig};
use crate::target::{labels, EventSources};

pub use report::write_report;

/// How to backtest.
#[derive(Clone, Debug)]
pub struct BacktestConfig {
    pub from: Date,
    pub to: Date,
    pub step_months: i32,
    pub horizon_days: i32,
    /// Training settings; the cutoff is set to each test date.
    pub panel_months: usize,
    pub calibration_months: usize,
    /// Where to write each test date's watchlist (for judging it with other tools), if anywhere.
    pub watchlists: Option<std::path::PathBuf>,
}

/// One scored entity of one test date, with what happened.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub as_of: Date,
    pub pre_festival: bool,
    pub probability: f64,
    pub raw_score: f64,
    pub rule_score: f64,
    pub events: EventSources,
}

/// Everything a backtest found.
#[derive(Clone, Debug)]
pub struct Backtest {
    pub config: BacktestConfig,
    pub dates: Vec<Date>,
    /// Per entity type, every (entity, date) outcome.
    pub outcomes: Vec<(EntityType, Vec<Outcome>)>,
    /// The learner chosen per date and entity type, with its number of boosting rounds.
    pub learners: Vec<(Date, EntityType, String, usize)>,
    pub seconds: f64,
}

/// The rule baseline's ordering: number of alerts, then overdue unpaid wages.
pub fn rule_score(alerts: usize, overdue_unpaid_yuan: f64) -> f64 {
    alerts as f64 * 1.0e12 + overdue_unpaid_yuan
}

/// Runs the backtest; `progress` hears of each test date done, with the number of dates.
pub fn run(
    ds: &Dataset,
    wm: &WorkerMonths,
    config: &BacktestConfig,
    progress: &dyn Fn(Date, usize),
) -> Result<Backtest, ModelError> {
    let started = std::time::Instant::now();
    let mut dates = Vec::new();
    let mut m = config.from.month();
    if m.first_day() < config.from {
        m = m.next();
    }
    while m.first_day() <= config.to {
        dates.push(m.first_day());
        m = m.plus_months(config.step_months.max(1));
    }
    let data_fingerprint = model::fingerprint(ds);
    let mut per_type: Vec<(EntityType, Vec<Outcome>)> = EntityType::ALL.iter().map(|t| (*t, Vec::new())).collect();
    let mut learners = Vec::new();
    for &t in &dates {
        let mut tc = TrainConfig::new(t, config.horizon_days);
        tc.panel_months = config.panel_months;
        tc.calibration_months = config.calibration_months;
        let trained = model::train(ds, wm, &tc, format!("backtest-{t}"), &data_fingerprint)?;
        let feats = features::compute(ds, wm, t, config.horizon_days);
        let scored = model::score(&trained, &feats, &BandCutoffs::default());
        let truth = labels(ds, wm, t, config.horizon_days);
        let pre_festival = crate::calendar::horizon_in_pre_festival_peak(t, config.horizon_days);
        if let Some(dir) = &config.watchlists {
            let path = dir.join(format!("watchlist_{t}.csv"));
            crate::watchlist::write(ds, &scored, &path)
                .map_err(|e| ModelError::Io { path, source: std::io::Error::other(e.to_string()) })?;
        }
        for (i, s) in scored.iter().enumerate() {
            let m = feats.matrix(s.entity_type);
            let row = if s.entity_type == EntityType::Employer { i } else { i - feats.employers.rows() };
            let overdue = m.get(row, Feature::OverdueUnpaidYuan).unwrap_or(0.0);
            let events = match s.entity_type {
                EntityType::Employer => truth.employers[s.entity as usize],
                EntityType::Project => truth.projects[s.entity as usize],
            };
            let slot = &mut per_type[s.entity_type as usize].1;
            slot.push(Outcome {
                as_of: t,
                pre_festival,
                probability: s.probability,
                raw_score: s.raw_score,
                rule_score: rule_score(s.alerts.len(), overdue),
                events,
            });
        }
        for et in EntityType::ALL {
            learners.push((t, et, trained.entity(et).learner.name(), trained.entity(et).trees));
        }
        tracing::info!(as_of = %t, "backtest date done");
        progress(t, dates.len());
    }
    Ok(Backtest {
        config: config.clone(),
        dates,
        outcomes: per_type,
        learners,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The k values precision and recall are reported at.
pub fn ks(n: usize) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = [50, 100, 200].iter().map(|k| (k.to_string(), *k)).collect();
    out.push(("1%".into(), (n as f64 * 0.01).ceil().max(1.0) as usize));
    out.push(("5%".into(), (n as f64 * 0.05).ceil().max(1.0) as usize));
    out
}

/// Ranking and calibration figures of one set of outcomes, for the model, the rule and random.
pub fn evaluate(outcomes: &[&Outcome], source: impl Fn(&EventSources) -> bool) -> Value {
    let y: Vec<bool> = outcomes.iter().map(|o| source(&o.events)).collect();
    let n = y.len();
    let events = y.iter().filter(|v| **v).count();
    let rate = if n > 0 { events as f64 / n as f64 } else { 0.0 };
    // The model ranks by its raw score, as the watchlist does (the probability rises strictly with it).
    let model_order: Vec<f64> = outcomes.iter().map(|o| o.raw_score).collect();
    let prob: Vec<f64> = outcomes.iter().map(|o| o.probability).collect();
    let rule: Vec<f64> = outcomes.iter().map(|o| o.rule_score).collect();
    let at_k = |score: &[f64]| -> Value {
        ks(n)
            .into_iter()
            .map(|(name, k)| {
                let (p, r) = metrics::precision_recall_at(score, &y, k);
                json!({"k": name, "n": k, "precision": p, "recall": r})
            })
            .collect()
    };
    let reliability: Vec<ReliabilityBin> = metrics::reliability(&prob, &y, 10);
    json!({
        "entities": n,
        "events": events,
        "event_rate": rate,
        "model": {
            "roc_auc": metrics::roc_auc(&model_order, &y),
            "average_precision": metrics::average_precision(&model_order, &y),
            "at_k": at_k(&model_order),
            "brier": metrics::brier(&prob, &y),
            "log_loss": metrics::log_loss(&prob, &y),
            "lift_top_decile": metrics::lift_top_decile(&model_order, &y),
            "mean_probability": if n > 0 { prob.iter().sum::<f64>() / n as f64 } else { 0.0 },
            "reliability": reliability.iter().map(|b| json!({
                "entities": b.entities, "mean_probability": b.mean_probability, "observed_rate": b.observed_rate
            })).collect::<Vec<_>>(),
            "reliability_worst_gap": metrics::worst_reliability_gap(&reliability, metrics::RELIABILITY_MIN_ENTITIES),
        },
        "rule": {
            "roc_auc": metrics::roc_auc(&rule, &y),
            "average_precision": metrics::average_precision(&rule, &y),
            "at_k": at_k(&rule),
            "lift_top_decile": metrics::lift_top_decile(&rule, &y),
        },
        "random": {
            "roc_auc": 0.5,
            "average_precision": rate,
            "precision_at_k": rate,
        },
    })
}

impl Backtest {
    /// The whole result as JSON: per entity type, pooled, by window and by label source, and per date.
    pub fn to_json(&self) -> Value {
        let mut types = serde_json::Map::new();
        for (t, outcomes) in &self.outcomes {
            let all: Vec<&Outcome> = outcomes.iter().collect();
            let pre: Vec<&Outcome> = outcomes.iter().filter(|o| o.pre_festival).collect();
            let off: Vec<&Outcome> = outcomes.iter().filter(|o| !o.pre_festival).collect();
            let per_date: Vec<Value> = self
                .dates
                .iter()
                .map(|d| {
                    let rows: Vec<&Outcome> = outcomes.iter().filter(|o| o.as_of == *d).collect();
                    let mut v = evaluate(&rows, |e| e.any());
                    v["as_of"] = json!(d.to_string());
                    v["pre_festival"] = json!(rows.first().is_some_and(|o| o.pre_festival));
                    v
                })
                .collect();
            types.insert(
                t.code().to_string(),
                json!({
                    "pooled": evaluate(&all, |e| e.any()),
                    "pre_festival": evaluate(&pre, |e| e.any()),
                    "off_peak": evaluate(&off, |e| e.any()),
                    "by_source": {
                        "complaint": evaluate(&all, |e| e.complaint),
                        "inspection": evaluate(&all, |e| e.inspection),
                        "payroll": evaluate(&all, |e| e.payroll),
                    },
                    "per_date": per_date,
                }),
            );
        }
        json!({
            "from": self.config.from.to_string(),
            "to": self.config.to.to_string(),
            "step_months": self.config.step_months,
            "horizon_days": self.config.horizon_days,
            "dates": self.dates.iter().map(Date::to_string).collect::<Vec<_>>(),
            "learners": self.learners.iter().map(|(d, t, l, trees)| json!({"as_of": d.to_string(), "entity_type": t.code(), "learner": l, "trees": trees})).collect::<Vec<_>>(),
            "seconds": self.seconds,
            "entity_types": types,
        })
    }
}
