//! Pipeline benchmark: ingest, the worker-month index, features for one as-of date, a 24-date training
//! panel through a trained and calibrated model, and scoring 100,000 entities. Wall-clock times are
//! printed, never asserted.
//!
//! ```bash
//! cargo bench --bench pipeline -- [DATASET] [AS_OF] [features]
//! ```
//!
//! With a third argument `features` it stops after the features (for large provinces).
//!
//! DATASET defaults to `bench-data/p2000` (written by `benches/ingest.sh`, or generated here with the demo
//! configuration when missing); AS_OF defaults to 2026-12-01. Peak memory: run the binary under
//! `/usr/bin/time -v` (see README).

use std::path::PathBuf;
use std::time::Instant;

use wagewatch_core::contract::Date;
use wagewatch_core::features::{self, FeatureMatrix};
use wagewatch_core::ingest::{self, IngestOptions, Pseudonymizer};
use wagewatch_core::model::{self, BandCutoffs, TrainConfig};
use wagewatch_core::worker_months::WorkerMonths;
use wagewatch_synth::{self as synth, SynthConfig};

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    println!("{label:<58} {:>8.3} s", started.elapsed().as_secs_f64());
    out
}

/// A matrix of `n` rows made by repeating the rows of `m`.
fn replicate(m: &FeatureMatrix, n: usize) -> FeatureMatrix {
    let p = m.features.len();
    let mut out = m.clone();
    out.entities.clear();
    out.regions.clear();
    out.values.clear();
    out.alerts.clear();
    for i in 0..n {
        let k = i % m.rows();
        out.entities.push(m.entities[k]);
        out.regions.push(m.regions[k]);
        out.values.extend_from_slice(&m.values[k * p..(k + 1) * p]);
        out.alerts.push(m.alerts[k]);
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let data = PathBuf::from(args.first().cloned().unwrap_or_else(|| "bench-data/p2000".into()));
    let as_of = Date::parse(args.get(1).map_or("2026-12-01", String::as_str)).expect("AS_OF as YYYY-MM-DD");
    if !data.join("employers.parquet").is_file() {
        timed("generate the demo province", || {
            synth::generate(&SynthConfig::demo(), &data, &|_| {}).expect("generate")
        });
    }
    let pseudonymizer = Pseudonymizer::from_key([7; 32]);
    let ingested = timed("ingest and validate", || {
        ingest::load(&data, &pseudonymizer, &IngestOptions::default()).expect("a valid dataset")
    });
    let ds = ingested.dataset;
    println!("  {} payroll rows, {} payments", ds.payroll.len(), ds.payments.len());
    let wm = timed("worker-month index (payments joined to payroll)", || WorkerMonths::build(&ds));
    let feats = timed(&format!("features as of {as_of} (in memory)"), || {
        features::compute(&ds, &wm, as_of, 60).expect("features")
    });
    for _ in 0..2 {
        timed("features again (warm)", || features::compute(&ds, &wm, as_of, 60).expect("features"));
    }
    println!("  {} employers and {} projects scored", feats.employers.rows(), feats.projects.rows());
    if args.get(2).is_some_and(|a| a == "features") {
        return;
    }
    let config = TrainConfig::new(as_of, 60);
    let trained = timed("training: 24-date panel, features to calibrated model", || {
        model::train(&ds, &wm, &config, "bench".into(), &model::fingerprint(&ds)).expect("training")
    });
    let employers = replicate(&feats.employers, 80_000);
    let projects = replicate(&feats.projects, 20_000);
    let scored = timed("scoring 100,000 entities (80,000 employers, 20,000 projects)", || {
        let mut s = model::score_matrix(&trained.employer, &employers, &BandCutoffs::default()).expect("scores");
        s.extend(model::score_matrix(&trained.project, &projects, &BandCutoffs::default()).expect("scores"));
        s
    });
    println!("  {} scored", scored.len());
}
