//! The Parquet files of a run: written complete and synced (the caller renames the folder into place),
//! and read back column by column.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::{Happened, Link, Relation, RunError, RunRow, TimelineEvent, WageMonth};
use wagewatch_core::contract::{Date, EmployerKind, Money, Month, RegionCode, Sector};
use wagewatch_core::features::{Alert, Alerts, EntityType, Feature};
use wagewatch_core::model::floors::BandFloor;
use wagewatch_core::model::{Band, Lever, LeverEffect, Reason};

pub const SCORES: &str = "scores.parquet";
pub const FEATURES: &str = "features.parquet";
pub const RELATIONS: &str = "relations.parquet";
pub const WAGES: &str = "wages.parquet";
pub const EVENTS: &str = "events.parquet";

/// How many reasons a row keeps (the columns `reason1_*` .. `reason3_*`).
pub const REASON_SLOTS: usize = 3;

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn floats(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(values.collect::<Float64Array>())
}

/// Encodes named columns as one Parquet batch (Snappy) into `out`, which is returned.
pub(super) fn encode_parquet<W: std::io::Write + Send>(out: W, columns: Vec<(String, ArrayRef)>) -> Result<W, String> {
    let batch = RecordBatch::try_from_iter(columns).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut w = ArrowWriter::try_new(out, batch.schema(), Some(props)).map_err(|e| e.to_string())?;
    w.write(&batch).map_err(|e| e.to_string())?;
    w.into_inner().map_err(|e| e.to_string())
}

/// Writes one batch as a Parquet file and syncs it.
fn write_batch(path: &Path, columns: Vec<(String, ArrayRef)>) -> Result<(), RunError> {
    let file =
        crate::state::create_private_file(path).map_err(|source| RunError::Io { path: path.to_path_buf(), source })?;
    let file = encode_parquet(file, columns).map_err(|reason| RunError::File { path: path.to_path_buf(), reason })?;
    file.sync_all().map_err(|source| RunError::Io { path: path.to_path_buf(), source })
}

/// Reads every batch of a Parquet file.
fn read_batches(path: &Path) -> Result<Vec<RecordBatch>, RunError> {
    let bad = |reason: String| RunError::File { path: path.to_path_buf(), reason };
    let file = File::open(path).map_err(|source| RunError::Io { path: path.to_path_buf(), source })?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build()).map_err(|e| bad(e.to_string()))?;
    reader.map(|b| b.map_err(|e| bad(e.to_string()))).collect()
}

/// A typed column of a batch.
fn col<'a, T: 'static>(batch: &'a RecordBatch, name: &str, path: &Path) -> Result<&'a T, RunError> {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<T>()).ok_or_else(|| RunError::File {
        path: path.to_path_buf(),
        reason: format!("column {name} is missing or of another type"),
    })
}

/// Levers as stored: `code:probability` separated by `;`.
fn lever_codes(levers: &[LeverEffect]) -> String {
    levers.iter().map(|l| format!("{}:{}", l.lever.code(), l.probability)).collect::<Vec<_>>().join(";")
}

/// Levers read back; `None` when any item is not a lever with a probability in 0..1.
fn parse_levers(text: &str) -> Option<Vec<LeverEffect>> {
    text.split(';')
        .filter(|t| !t.is_empty())
        .map(|item| {
            let (code, p) = item.split_once(':')?;
            let probability: f64 = p.parse().ok().filter(|p| (0.0..=1.0).contains(p))?;
            Some(LeverEffect { lever: Lever::parse(code)?, probability })
        })
        .collect()
}

/// A typed column of a batch that older files do not have: `None` when absent, an error when of another type.
fn optional_col<'a, T: 'static>(batch: &'a RecordBatch, name: &str, path: &Path) -> Result<Option<&'a T>, RunError> {
    match batch.column_by_name(name) {
        None => Ok(None),
        Some(_) => col::<T>(batch, name, path).map(Some),
    }
}

fn opt_str(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

fn opt_f64(a: &Float64Array, i: usize) -> Option<f64> {
    a.is_valid(i).then(|| a.value(i))
}

/// Writes `scores.parquet`: the contract's watchlist columns first, then the rest of each row.
pub fn write_scores(path: &Path, rows: &[RunRow]) -> Result<(), RunError> {
    let codes = |r: &RunRow| r.reasons.iter().map(Reason::code).collect::<Vec<_>>().join(";");
    let mut columns: Vec<(String, ArrayRef)> = vec![
        ("entity_type".into(), strings(rows.iter().map(|r| Some(r.entity_type.code())))),
        ("entity_id".into(), strings(rows.iter().map(|r| Some(r.entity_id.as_str())))),
        ("region_code".into(), Arc::new(rows.iter().map(|r| Some(r.region.to_string())).collect::<StringArray>())),
        ("score".into(), floats(rows.iter().map(|r| Some(r.score)))),
        ("rank".into(), Arc::new(rows.iter().map(|r| r.rank).collect::<UInt32Array>())),
        ("band".into(), strings(rows.iter().map(|r| Some(r.band.code())))),
        ("reasons".into(), Arc::new(rows.iter().map(|r| Some(codes(r))).collect::<StringArray>())),
        ("expected_unpaid_yuan".into(), floats(rows.iter().map(|r| r.expected_unpaid_yuan))),
        ("expected_workers".into(), floats(rows.iter().map(|r| r.expected_workers))),
        ("levers".into(), Arc::new(rows.iter().map(|r| Some(lever_codes(&r.levers))).collect::<StringArray>())),
        ("progress_overdue_yuan".into(), floats(rows.iter().map(|r| r.progress_overdue_yuan))),
        ("band_floor".into(), Arc::new(rows.iter().map(|r| r.floor.map(|f| f.code())).collect::<StringArray>())),
        ("alerts".into(), Arc::new(rows.iter().map(|r| Some(r.alerts.to_string())).collect::<StringArray>())),
        ("raw_score".into(), floats(rows.iter().map(|r| Some(r.raw_score)))),
        ("name".into(), strings(rows.iter().map(|r| Some(r.name.as_str())))),
        ("sector".into(), strings(rows.iter().map(|r| Some(r.sector.code())))),
        ("kind".into(), strings(rows.iter().map(|r| r.kind.map(EmployerKind::code)))),
        ("previous_score".into(), floats(rows.iter().map(|r| r.previous_score))),
        ("previous_band".into(), strings(rows.iter().map(|r| r.previous_band.map(Band::code)))),
        ("new_on_list".into(), Arc::new(rows.iter().map(|r| Some(r.new_on_list)).collect::<BooleanArray>())),
        ("general_contractor_id".into(), strings(rows.iter().map(|r| r.general_contractor_id.as_deref()))),
        ("owner_id".into(), strings(rows.iter().map(|r| r.owner_id.as_deref()))),
    ];
    for k in 0..REASON_SLOTS {
        let slot = |r: &RunRow| r.reasons.get(k).copied();
        columns.push((format!("reason{}_code", k + 1), strings(rows.iter().map(|r| slot(r).map(|x| x.code())))));
        columns.push((format!("reason{}_value", k + 1), floats(rows.iter().map(|r| slot(r).map(|x| x.value)))));
        columns
            .push((format!("reason{}_related", k + 1), floats(rows.iter().map(|r| slot(r).and_then(|x| x.related)))));
        columns.push((format!("reason{}_weight", k + 1), floats(rows.iter().map(|r| slot(r).map(|x| x.weight)))));
    }
    write_batch(path, columns)
}

/// Reads `scores.parquet` back into rows (features empty until [`read_features`]).
pub fn read_scores(path: &Path) -> Result<Vec<RunRow>, RunError> {
    let bad = |row: usize, column: &str| RunError::File {
        path: path.to_path_buf(),
        reason: format!("row {}: bad {column}", row + 1),
    };
    let mut out = Vec::new();
    for batch in read_batches(path)? {
        let et = col::<StringArray>(&batch, "entity_type", path)?;
        let id = col::<StringArray>(&batch, "entity_id", path)?;
        let region = col::<StringArray>(&batch, "region_code", path)?;
        let score = col::<Float64Array>(&batch, "score", path)?;
        let rank = col::<UInt32Array>(&batch, "rank", path)?;
        let band = col::<StringArray>(&batch, "band", path)?;
        let alerts = col::<StringArray>(&batch, "alerts", path)?;
        let raw = col::<Float64Array>(&batch, "raw_score", path)?;
        let name = col::<StringArray>(&batch, "name", path)?;
        let sector = col::<StringArray>(&batch, "sector", path)?;
        let kind = col::<StringArray>(&batch, "kind", path)?;
        let prev_score = col::<Float64Array>(&batch, "previous_score", path)?;
        let prev_band = col::<StringArray>(&batch, "previous_band", path)?;
        let new_on_list = col::<BooleanArray>(&batch, "new_on_list", path)?;
        let gc = col::<StringArray>(&batch, "general_contractor_id", path)?;
        let owner = col::<StringArray>(&batch, "owner_id", path)?;
        // Runs published before expected harm was kept have no such columns: read as not recorded.
        let expected_yuan = optional_col::<Float64Array>(&batch, "expected_unpaid_yuan", path)?;
        let expected_workers = optional_col::<Float64Array>(&batch, "expected_workers", path)?;
        let levers = optional_col::<StringArray>(&batch, "levers", path)?;
        let progress_overdue = optional_col::<Float64Array>(&batch, "progress_overdue_yuan", path)?;
        let floor = optional_col::<StringArray>(&batch, "band_floor", path)?;
        let mut slots = Vec::new();
        for k in 1..=REASON_SLOTS {
            slots.push((
                col::<StringArray>(&batch, &format!("reason{k}_code"), path)?,
                col::<Float64Array>(&batch, &format!("reason{k}_value"), path)?,
                col::<Float64Array>(&batch, &format!("reason{k}_related"), path)?,
                col::<Float64Array>(&batch, &format!("reason{k}_weight"), path)?,
            ));
        }
        for i in 0..batch.num_rows() {
            let mut reasons = Vec::new();
            for (code, value, related, weight) in &slots {
                if let Some(code) = opt_str(code, i) {
                    reasons.push(Reason {
                        feature: Feature::parse(code).ok_or_else(|| bad(i, "reason code"))?,
                        value: value.value(i),
                        related: opt_f64(related, i),
                        weight: weight.value(i),
                    });
                }
            }
            let mut alert_set = Alerts::default();
            for code in alerts.value(i).split(';').filter(|c| !c.is_empty()) {
                alert_set.insert(Alert::ALL.into_iter().find(|a| a.code() == code).ok_or_else(|| bad(i, "alerts"))?);
            }
            out.push(RunRow {
                entity_type: EntityType::parse(et.value(i)).ok_or_else(|| bad(i, "entity_type"))?,
                entity_id: id.value(i).to_string(),
                name: name.value(i).to_string(),
                region: RegionCode::parse(region.value(i)).ok_or_else(|| bad(i, "region_code"))?,
                sector: Sector::parse(sector.value(i)).ok_or_else(|| bad(i, "sector"))?,
                kind: opt_str(kind, i).map(|k| EmployerKind::parse(k).ok_or_else(|| bad(i, "kind"))).transpose()?,
                score: score.value(i),
                raw_score: raw.value(i),
                rank: rank.value(i),
                band: Band::parse(band.value(i)).ok_or_else(|| bad(i, "band"))?,
                reasons,
                expected_unpaid_yuan: expected_yuan.and_then(|c| opt_f64(c, i)),
                expected_workers: expected_workers.and_then(|c| opt_f64(c, i)),
                levers: match levers.and_then(|c| opt_str(c, i)) {
                    Some(text) => parse_levers(text).ok_or_else(|| bad(i, "levers"))?,
                    None => Vec::new(),
                },
                progress_overdue_yuan: progress_overdue.and_then(|c| opt_f64(c, i)),
                floor: floor
                    .and_then(|c| opt_str(c, i))
                    .map(|f| BandFloor::parse(f).ok_or_else(|| bad(i, "band_floor")))
                    .transpose()?,
                alerts: alert_set,
                previous_score: opt_f64(prev_score, i),
                previous_band: opt_str(prev_band, i)
                    .map(|b| Band::parse(b).ok_or_else(|| bad(i, "previous_band")))
                    .transpose()?,
                new_on_list: new_on_list.value(i),
                general_contractor_id: opt_str(gc, i).map(str::to_string),
                owner_id: opt_str(owner, i).map(str::to_string),
                features: Vec::new(),
            });
        }
    }
    Ok(out)
}

/// Writes `features.parquet`: entity type and id, then one column per catalogue feature (null where the
/// feature does not apply to the entity type).
pub fn write_features(path: &Path, rows: &[RunRow]) -> Result<(), RunError> {
    let mut columns: Vec<(String, ArrayRef)> = vec![
        ("entity_type".into(), strings(rows.iter().map(|r| Some(r.entity_type.code())))),
        ("entity_id".into(), strings(rows.iter().map(|r| Some(r.entity_id.as_str())))),
    ];
    let positions: Vec<(EntityType, Vec<Option<usize>>)> = EntityType::ALL
        .iter()
        .map(|&t| {
            let list = t.features();
            (t, Feature::ALL.iter().map(|f| list.iter().position(|g| g == f)).collect())
        })
        .collect();
    for (j, f) in Feature::ALL.iter().enumerate() {
        let values = rows.iter().map(|r| {
            let pos = &positions.iter().find(|(t, _)| *t == r.entity_type).expect("every type").1;
            pos[j].map(|p| r.features[p])
        });
        columns.push((f.name().to_string(), floats(values)));
    }
    write_batch(path, columns)
}

/// Reads `features.parquet` into the rows' `features` (rows in the same order as written). A feature the
/// catalogue gained after the run was written reads as NaN: not recorded.
pub fn read_features(path: &Path, rows: &mut [RunRow]) -> Result<(), RunError> {
    let mut next = 0;
    for batch in read_batches(path)? {
        let id = col::<StringArray>(&batch, "entity_id", path)?;
        let lists: Vec<(EntityType, Vec<Option<&Float64Array>>)> = EntityType::ALL
            .iter()
            .map(|&t| {
                t.features()
                    .iter()
                    .map(|f| match batch.column_by_name(f.name()) {
                        None => Ok(None),
                        Some(_) => col::<Float64Array>(&batch, f.name(), path).map(Some),
                    })
                    .collect::<Result<_, _>>()
                    .map(|c| (t, c))
            })
            .collect::<Result<_, _>>()?;
        for i in 0..batch.num_rows() {
            let row = rows.get_mut(next).filter(|r| r.entity_id == id.value(i)).ok_or_else(|| RunError::File {
                path: path.to_path_buf(),
                reason: format!("row {} does not match scores.parquet", next + 1),
            })?;
            let cols = &lists.iter().find(|(t, _)| *t == row.entity_type).expect("every type").1;
            row.features = cols.iter().map(|c| c.map_or(f64::NAN, |c| c.value(i))).collect();
            next += 1;
        }
    }
    if next != rows.len() {
        return Err(RunError::File { path: path.to_path_buf(), reason: "fewer rows than scores.parquet".into() });
    }
    Ok(())
}

/// Writes `relations.parquet`.
pub fn write_links(path: &Path, links: &[Link]) -> Result<(), RunError> {
    write_batch(
        path,
        vec![
            ("project_id".into(), strings(links.iter().map(|l| Some(l.project_id.as_str())))),
            ("employer_id".into(), strings(links.iter().map(|l| Some(l.employer_id.as_str())))),
            ("relation".into(), strings(links.iter().map(|l| Some(l.relation.code())))),
        ],
    )
}

/// Reads `relations.parquet`.
pub fn read_links(path: &Path) -> Result<Vec<Link>, RunError> {
    let mut out = Vec::new();
    for batch in read_batches(path)? {
        let p = col::<StringArray>(&batch, "project_id", path)?;
        let e = col::<StringArray>(&batch, "employer_id", path)?;
        let r = col::<StringArray>(&batch, "relation", path)?;
        for i in 0..batch.num_rows() {
            out.push(Link {
                project_id: p.value(i).to_string(),
                employer_id: e.value(i).to_string(),
                relation: Relation::parse(r.value(i)).ok_or_else(|| RunError::File {
                    path: path.to_path_buf(),
                    reason: format!("row {}: bad relation", i + 1),
                })?,
            });
        }
    }
    Ok(out)
}

/// Writes `wages.parquet`: entity, wage month, due and paid in fen.
pub fn write_wages(path: &Path, wages: &[WageMonth]) -> Result<(), RunError> {
    write_batch(
        path,
        vec![
            ("entity_type".into(), strings(wages.iter().map(|w| Some(w.entity_type.code())))),
            ("entity_id".into(), strings(wages.iter().map(|w| Some(w.entity_id.as_str())))),
            ("month".into(), Arc::new(wages.iter().map(|w| Some(w.month.to_string())).collect::<StringArray>())),
            ("due_fen".into(), Arc::new(wages.iter().map(|w| w.due.fen()).collect::<Int64Array>())),
            ("paid_fen".into(), Arc::new(wages.iter().map(|w| w.paid.fen()).collect::<Int64Array>())),
        ],
    )
}

/// Reads `wages.parquet` (empty for runs written before it existed).
pub fn read_wages(path: &Path) -> Result<Vec<WageMonth>, RunError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for batch in read_batches(path)? {
        let t = col::<StringArray>(&batch, "entity_type", path)?;
        let id = col::<StringArray>(&batch, "entity_id", path)?;
        let month = col::<StringArray>(&batch, "month", path)?;
        let due = col::<Int64Array>(&batch, "due_fen", path)?;
        let paid = col::<Int64Array>(&batch, "paid_fen", path)?;
        for i in 0..batch.num_rows() {
            let bad = |c: &str| RunError::File { path: path.to_path_buf(), reason: format!("row {}: bad {c}", i + 1) };
            out.push(WageMonth {
                entity_type: EntityType::parse(t.value(i)).ok_or_else(|| bad("entity_type"))?,
                entity_id: id.value(i).to_string(),
                month: Month::parse(month.value(i)).ok_or_else(|| bad("month"))?,
                due: Money::from_fen(due.value(i)),
                paid: Money::from_fen(paid.value(i)),
            });
        }
    }
    Ok(out)
}

/// Writes `events.parquet`: each entity's complaints and inspections.
pub fn write_events(path: &Path, events: &[TimelineEvent]) -> Result<(), RunError> {
    write_batch(
        path,
        vec![
            ("entity_type".into(), strings(events.iter().map(|e| Some(e.entity_type.code())))),
            ("entity_id".into(), strings(events.iter().map(|e| Some(e.entity_id.as_str())))),
            ("on".into(), Arc::new(events.iter().map(|e| Some(e.on.to_string())).collect::<StringArray>())),
            ("kind".into(), strings(events.iter().map(|e| Some(e.what.codes().0)))),
            ("detail".into(), strings(events.iter().map(|e| Some(e.what.codes().1)))),
            ("outcome".into(), strings(events.iter().map(|e| e.what.codes().2))),
            ("workers".into(), Arc::new(events.iter().map(|e| e.workers).collect::<UInt32Array>())),
            ("amount_fen".into(), Arc::new(events.iter().map(|e| e.amount.map(Money::fen)).collect::<Int64Array>())),
        ],
    )
}

/// Reads `events.parquet` (empty for runs written before it existed).
pub fn read_events(path: &Path) -> Result<Vec<TimelineEvent>, RunError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for batch in read_batches(path)? {
        let t = col::<StringArray>(&batch, "entity_type", path)?;
        let id = col::<StringArray>(&batch, "entity_id", path)?;
        let on = col::<StringArray>(&batch, "on", path)?;
        let kind = col::<StringArray>(&batch, "kind", path)?;
        let detail = col::<StringArray>(&batch, "detail", path)?;
        let outcome = col::<StringArray>(&batch, "outcome", path)?;
        let workers = col::<UInt32Array>(&batch, "workers", path)?;
        let amount = col::<Int64Array>(&batch, "amount_fen", path)?;
        for i in 0..batch.num_rows() {
            let bad = |c: &str| RunError::File { path: path.to_path_buf(), reason: format!("row {}: bad {c}", i + 1) };
            out.push(TimelineEvent {
                entity_type: EntityType::parse(t.value(i)).ok_or_else(|| bad("entity_type"))?,
                entity_id: id.value(i).to_string(),
                on: Date::parse(on.value(i)).ok_or_else(|| bad("on"))?,
                what: Happened::from_codes(kind.value(i), detail.value(i), opt_str(outcome, i))
                    .ok_or_else(|| bad("kind, detail or outcome"))?,
                workers: workers.is_valid(i).then(|| workers.value(i)),
                amount: amount.is_valid(i).then(|| Money::from_fen(amount.value(i))),
            });
        }
    }
    Ok(out)
}
