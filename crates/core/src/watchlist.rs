//! The watchlist file the contract asks for: one row per scored entity with entity_type, entity_id,
//! region_code, score, rank, band and reasons (`;`-separated codes), then the expected unpaid wages and
//! workers affected, the measures that would lower a red or orange entity's risk, the band floor that raised
//! the band (`arrears_found:30:orange`, empty when none did), the rule alerts and the raw score, written
//! as CSV or Parquet (by the file's extension) under a temporary name and renamed when complete.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array};
use parquet::arrow::ArrowWriter;

use crate::features::EntityType;
use crate::ingest::tables::Dataset;
use crate::model::Scored;

/// Why a watchlist could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WatchlistError {
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {reason}")]
    Encode { path: PathBuf, reason: String },
    #[error("{path}: the watchlist must end in .csv or .parquet")]
    UnknownFormat { path: PathBuf },
}

/// The entity's contract id.
pub fn entity_id<'a>(ds: &'a Dataset, s: &Scored) -> &'a str {
    match s.entity_type {
        EntityType::Employer => ds.employer_ids.name(s.entity as usize),
        EntityType::Project => ds.project_ids.name(s.entity as usize),
    }
}

/// Rows ordered as a reader expects: employers then projects, each by rank.
fn ordered(scored: &[Scored]) -> Vec<&Scored> {
    let mut rows: Vec<&Scored> = scored.iter().collect();
    rows.sort_by_key(|s| (s.entity_type, s.rank));
    rows
}

/// The contract's columns, then the expected harm (empty when the model has none), the levers, the band
/// floor, the platforms' rule alerts and the raw score.
const COLUMNS: [&str; 13] = [
    "entity_type",
    "entity_id",
    "region_code",
    "score",
    "rank",
    "band",
    "reasons",
    "expected_unpaid_yuan",
    "expected_workers",
    "levers",
    "band_floor",
    "alerts",
    "raw_score",
];

/// Expected unpaid wages in yuan to the fen, expected workers to a hundredth.
fn expected(s: &Scored) -> (Option<f64>, Option<f64>) {
    let round = |v: f64, scale: f64| (v * scale).round() / scale;
    (s.expected.map(|e| round(e.unpaid_yuan, 100.0)), s.expected.map(|e| round(e.workers, 100.0)))
}

/// Writes `scored` to `path` (`.csv` or `.parquet`).
pub fn write(ds: &Dataset, scored: &[Scored], path: &Path) -> Result<(), WatchlistError> {
    let rows = ordered(scored);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let tmp = path.with_extension(format!("{ext}.partial"));
    let io = |source| WatchlistError::Io { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let encode = |reason: String| WatchlistError::Encode { path: path.to_path_buf(), reason };
    let file = match ext {
        "csv" => write_csv(ds, &rows, &tmp).map_err(|e| encode(e.to_string()))?,
        "parquet" => write_parquet(ds, &rows, &tmp).map_err(|e| encode(e.to_string()))?,
        _ => return Err(WatchlistError::UnknownFormat { path: path.to_path_buf() }),
    };
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

/// The measures that would lower a red or orange entity's risk, `code:probability after`, `;`-separated.
fn levers(s: &Scored) -> String {
    s.levers.iter().map(|l| format!("{}:{}", l.lever.code(), l.probability)).collect::<Vec<_>>().join(";")
}

fn reasons(s: &Scored) -> String {
    s.reasons.iter().map(|r| r.code()).collect::<Vec<_>>().join(";")
}

fn write_csv(ds: &Dataset, rows: &[&Scored], tmp: &Path) -> Result<fs::File, Box<dyn std::error::Error>> {
    let mut w = csv::Writer::from_path(tmp)?;
    w.write_record(COLUMNS)?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    for s in rows {
        let (yuan, workers) = expected(s);
        w.write_record([
            s.entity_type.code().to_string(),
            entity_id(ds, s).to_string(),
            s.region.to_string(),
            format!("{}", s.probability),
            s.rank.to_string(),
            s.band.code().to_string(),
            reasons(s),
            opt(yuan),
            opt(workers),
            levers(s),
            s.floor.map(|f| f.code()).unwrap_or_default(),
            s.alerts.to_string(),
            format!("{}", s.raw_score),
        ])?;
    }
    Ok(w.into_inner().map_err(|e| e.into_error())?)
}

fn write_parquet(ds: &Dataset, rows: &[&Scored], tmp: &Path) -> Result<fs::File, Box<dyn std::error::Error>> {
    let text = |v: Vec<String>| Arc::new(StringArray::from(v)) as ArrayRef;
    let floats = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
    let columns: [ArrayRef; 13] = [
        text(rows.iter().map(|s| s.entity_type.code().to_string()).collect()),
        text(rows.iter().map(|s| entity_id(ds, s).to_string()).collect()),
        text(rows.iter().map(|s| s.region.to_string()).collect()),
        floats(rows.iter().map(|s| Some(s.probability)).collect()),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|s| s.rank))),
        text(rows.iter().map(|s| s.band.code().to_string()).collect()),
        text(rows.iter().map(|s| reasons(s)).collect()),
        floats(rows.iter().map(|s| expected(s).0).collect()),
        floats(rows.iter().map(|s| expected(s).1).collect()),
        text(rows.iter().map(|s| levers(s)).collect()),
        Arc::new(rows.iter().map(|s| s.floor.map(|f| f.code())).collect::<StringArray>()),
        text(rows.iter().map(|s| s.alerts.to_string()).collect()),
        floats(rows.iter().map(|s| Some(s.raw_score)).collect()),
    ];
    let batch = RecordBatch::try_from_iter(COLUMNS.into_iter().zip(columns))?;
    let mut w = ArrowWriter::try_new(fs::File::create(tmp)?, batch.schema(), None)?;
    w.write(&batch)?;
    Ok(w.into_inner()?)
}
