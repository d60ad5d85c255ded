//! Writes a backtest as Markdown, JSON and SVG charts (precision@k curve and reliability diagram).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::svg::{line_chart, Series};
use super::{Backtest, Outcome};
use crate::features::EntityType;
use crate::metrics;
use crate::model::ModelError;

const CURVE_KS: [usize; 10] = [10, 25, 50, 75, 100, 150, 200, 300, 400, 500];

/// Mean precision@k over test dates, for the model and the rule.
/// Points of a chart line.
type Curve = Vec<(f64, f64)>;

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

fn f(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{x:.3}"))
}

fn at_k_row(v: &Value, k: &str) -> String {
    v["at_k"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["k"] == k))
        .map_or("-".into(), |e| format!("{} / {}", f(&e["precision"]), f(&e["recall"])))
}

fn table(title: &str, v: &Value) -> String {
    let mut s = format!(
        "**{title}**: {} entity-dates, {} events (rate {})\n\n",
        v["entities"],
        v["events"],
        f(&v["event_rate"])
    );
    s.push_str("| | ROC AUC | avg. precision | P/R @50 | P/R @100 | P/R @200 | P/R @1% | P/R @5% | lift top 10% |\n|---|---|---|---|---|---|---|---|---|\n");
    for (name, key) in [("wagewatch", "model"), ("rule baseline", "rule")] {
        let m = &v[key];
        s.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            f(&m["roc_auc"]),
            f(&m["average_precision"]),
            at_k_row(m, "50"),
            at_k_row(m, "100"),
            at_k_row(m, "200"),
            at_k_row(m, "1%"),
            at_k_row(m, "5%"),
            f(&m["lift_top_decile"])
        ));
    }
    s.push_str(&format!(
        "| random | 0.500 | {} | {} | | | | | 1.000 |\n\n",
        f(&v["random"]["average_precision"]),
        f(&v["random"]["precision_at_k"])
    ));
    s.push_str(&format!(
        "Brier {} · log loss {} · mean probability {}\n\n",
        f(&v["model"]["brier"]),
        f(&v["model"]["log_loss"]),
        f(&v["model"]["mean_probability"])
    ));
    s
}

/// Writes `report.md`, `report.json` and the charts into `dir`; returns the Markdown path.
pub fn write_report(b: &Backtest, dir: &Path) -> Result<PathBuf, ModelError> {
    let io = |path: PathBuf| move |source| ModelError::Io { path, source };
    fs::create_dir_all(dir).map_err(io(dir.to_path_buf()))?;
    let json = b.to_json();
    let json_path = dir.join("report.json");
    fs::write(&json_path, serde_json::to_vec_pretty(&json).expect("json")).map_err(io(json_path.clone()))?;
    let mut md = String::from("# wagewatch backtest\n\n");
    md.push_str(&format!(
        "Test dates {} to {} every {} month(s), horizon {} days; at each date the model was trained only on what was \
         known then ({:.0} s in all). Events are the data contract's arrears events.\n\n",
        b.config.from, b.config.to, b.config.step_months, b.config.horizon_days, b.seconds
    ));
    for (t, outcomes) in &b.outcomes {
        let v = &json["entity_types"][t.code()];
        md.push_str(&format!("## {}s\n\n", t.code()));
        md.push_str(&table("all test dates", &v["pooled"]));
        md.push_str(&table(
            "pre-festival windows (the horizon overlaps the 60 days before Spring Festival)",
            &v["pre_festival"],
        ));
        md.push_str(&table("off-peak windows", &v["off_peak"]));
        md.push_str("By label source (complaints and inspections are selective labels; payroll is not):\n\n| source | events | AUC | avg. precision | rule AUC | rule avg. precision |\n|---|---|---|---|---|---|\n");
        for src in ["complaint", "inspection", "payroll"] {
            let s = &v["by_source"][src];
            md.push_str(&format!(
                "| {src} | {} | {} | {} | {} | {} |\n",
                s["events"],
                f(&s["model"]["roc_auc"]),
                f(&s["model"]["average_precision"]),
                f(&s["rule"]["roc_auc"]),
                f(&s["rule"]["average_precision"])
            ));
        }
        md.push_str(&format!(
            "\nPer test date (calibration: the largest gap between mean probability and observed rate over the \
             date's 10 equal-mass bins of {}+ entities; - when the bins are smaller):\n\n\
             | as of | window | entities | events | AUC | avg. precision | P@100 | rule P@100 | calibration |\n\
             |---|---|---|---|---|---|---|---|---|\n",
            metrics::RELIABILITY_MIN_ENTITIES
        ));
        for d in v["per_date"].as_array().into_iter().flatten() {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                d["as_of"].as_str().unwrap_or("-"),
                if d["pre_festival"].as_bool() == Some(true) { "pre-festival" } else { "off-peak" },
                d["entities"],
                d["events"],
                f(&d["model"]["roc_auc"]),
                f(&d["model"]["average_precision"]),
                at_k_row(&d["model"], "100"),
                at_k_row(&d["rule"], "100"),
                f(&d["model"]["reliability_worst_gap"]),
            ));
        }
        md.push_str("\nReliability (equal-mass bins, all test dates):\n\n| bin | entities | mean probability | observed rate |\n|---|---|---|---|\n");
        for (i, bin) in v["pooled"]["model"]["reliability"].as_array().into_iter().flatten().enumerate() {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                i + 1,
                bin["entities"],
                f(&bin["mean_probability"]),
                f(&bin["observed_rate"])
            ));
        }
        let (model_curve, rule_curve, rate) = precision_curve(b, outcomes);
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
        let rel: Vec<(f64, f64)> = v["pooled"]["model"]["reliability"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| (b["mean_probability"].as_f64().unwrap_or(0.0), b["observed_rate"].as_f64().unwrap_or(0.0)))
            .collect();
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
        for (name, svg) in [
            (format!("precision_at_k_{}.svg", t.code()), curve),
            (format!("reliability_{}.svg", t.code()), reliability),
        ] {
            let path = dir.join(&name);
            fs::write(&path, svg).map_err(io(path.clone()))?;
            md.push_str(&format!("\n![{name}]({name})\n"));
        }
        md.push('\n');
    }
    let learners: Vec<String> =
        b.learners.iter().map(|(d, t, l, trees)| format!("{d} {t}: {l} ({trees} trees)")).collect();
    md.push_str(&format!("Learners chosen by out-of-time validation: {}\n", learners.join("; ")));
    let md_path = dir.join("report.md");
    fs::write(&md_path, md).map_err(io(md_path.clone()))?;
    let _ = EntityType::ALL;
    Ok(md_path)
}
