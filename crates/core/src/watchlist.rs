//! The watchlist file the contract asks for: one row per scored entity with entity_type, entity_id,
//! region_code, score, rank, band and reasons (`;`-separated codes), plus alerts and the raw score, written
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

/// Writes `scored` to `path` (`.csv` or `.parquet`).
pub fn write(ds: &Dataset, scored: &[Scored], path: &Path) -> Result<(), WatchlistError> {
    let rows = ordered(scored);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let tmp = path.with_extension(format!("{ext}.partial"));
    let io = |source| WatchlistError::Io { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let reasons = |s: &Scored| s.reasons.iter().map(|r| r.code()).collect::<Vec<_>>().join(";");
    match ext {
        "csv" => {
            let mut w = csv::Writer::from_path(&tmp)
                .map_err(|e| WatchlistError::Encode { path: path.to_path_buf(), reason: e.to_string() })?;
            let enc = |e: csv::Error| WatchlistError::Encode { path: path.to_path_buf(), reason: e.to_string() };
            w.write_record([
                "entity_type",
                "entity_id",
                "region_code",
                "score",
                "rank",
                "band",
                "reasons",
                "alerts",
                "raw_score",
            ])
            .map_err(enc)?;
            for s in rows {
                w.write_record([
                    s.entity_type.code().to_string(),
                    entity_id(ds, s).to_string(),
                    s.region.to_string(),
                    format!("{}", s.probability),
                    s.rank.to_string(),
                    s.band.code().to_string(),
                    reasons(s),
                    s.alerts.to_string(),
                    format!("{}", s.raw_score),
                ])
                .map_err(enc)?;
            }
            let file = w.into_inner().map_err(|e| io(e.into_error()))?;
            file.sync_all().map_err(io)?;
        }
        "parquet" => {
            let col = |v: Vec<String>| Arc::new(StringArray::from(v)) as ArrayRef;
            let batch = RecordBatch::try_from_iter([
                ("entity_type", col(rows.iter().map(|s| s.entity_type.code().to_string()).collect())),
                ("entity_id", col(rows.iter().map(|s| entity_id(ds, s).to_string()).collect())),
                ("region_code", col(rows.iter().map(|s| s.region.to_string()).collect())),
                ("score", Arc::new(Float64Array::from_iter_values(rows.iter().map(|s| s.probability))) as ArrayRef),
                ("rank", Arc::new(UInt32Array::from_iter_values(rows.iter().map(|s| s.rank))) as ArrayRef),
                ("band", col(rows.iter().map(|s| s.band.code().to_string()).collect())),
                ("reasons", col(rows.iter().map(|s| reasons(s)).collect())),
                ("alerts", col(rows.iter().map(|s| s.alerts.to_string()).collect())),
                ("raw_score", Arc::new(Float64Array::from_iter_values(rows.iter().map(|s| s.raw_score))) as ArrayRef),
            ])
            .map_err(|e| WatchlistError::Encode { path: path.to_path_buf(), reason: e.to_string() })?;
            let file = fs::File::create(&tmp).map_err(io)?;
            let enc = |e: parquet::errors::ParquetError| WatchlistError::Encode {
                path: path.to_path_buf(),
                reason: e.to_string(),
            };
            let mut w = ArrowWriter::try_new(file, batch.schema(), None).map_err(enc)?;
            w.write(&batch).map_err(enc)?;
            let file = w.into_inner().map_err(enc)?;
            file.sync_all().map_err(io)?;
        }
        _ => return Err(WatchlistError::UnknownFormat { path: path.to_path_buf() }),
    }
    fs::rename(&tmp, path).map_err(io)
}
