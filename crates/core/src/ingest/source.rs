//! Finding a table in a dataset folder and reading it in column chunks, from Parquet (projected to the
//! contract's columns) or from CSV (every field as text, converted later with row-level checks).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use parquet::basic::Encoding;
use parquet::file::metadata::ParquetMetaData;

use super::IngestError;
use crate::contract::Table;

/// Rows per chunk: large enough to amortise per-chunk work, small enough to stay in cache-friendly sizes.
const CHUNK_ROWS: usize = 64 * 1024;

/// The on-disk format of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
}

/// Where a table's data is: its format and its files, in reading order.
#[derive(Clone, Debug)]
pub struct TableSource {
    pub table: Table,
    pub format: Format,
    pub files: Vec<PathBuf>,
}

/// A slice of consecutive rows of one file, one Arrow array per contract column (`None` when the file
/// lacks an optional column).
pub struct Chunk {
    pub file: Arc<Path>,
    /// The 1-based data row number of the chunk's first row within its file.
    pub first_row: u64,
    pub len: usize,
    pub columns: Vec<Option<ArrayRef>>,
    /// CSV records that could not be split into the header's fields, by row offset within the chunk.
    pub malformed: Vec<(usize, String)>,
}

/// Finds `table` in `dir`: `<table>.parquet`, `<table>.csv`, or a folder `<table>/` of Parquet (or CSV)
/// files. Two forms at once are an error; an absent table is `Ok(None)`.
pub fn locate(dir: &Path, table: Table) -> Result<Option<TableSource>, IngestError> {
    let parquet = dir.join(format!("{}.parquet", table.name()));
    let csv = dir.join(format!("{}.csv", table.name()));
    let folder = dir.join(table.name());
    let mut found: Vec<TableSource> = Vec::new();
    if parquet.is_file() {
        found.push(TableSource { table, format: Format::Parquet, files: vec![parquet] });
    }
    if csv.is_file() {
        found.push(TableSource { table, format: Format::Csv, files: vec![csv] });
    }
    if folder.is_dir() {
        let mut parquet_files = Vec::new();
        let mut csv_files = Vec::new();
        collect_files(&folder, &mut parquet_files, &mut csv_files)?;
        parquet_files.sort();
        csv_files.sort();
        match (parquet_files.is_empty(), csv_files.is_empty()) {
            (false, true) => found.push(TableSource { table, format: Format::Parquet, files: parquet_files }),
            (true, false) => found.push(TableSource { table, format: Format::Csv, files: csv_files }),
            (true, true) => return Err(IngestError::EmptyFolder { table, path: folder }),
            (false, false) => {
                return Err(IngestError::TwoForms {
                    table,
                    first: parquet_files.remove(0),
                    second: csv_files.remove(0),
                })
            }
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(IngestError::TwoForms { table, first: found[0].files[0].clone(), second: found[1].files[0].clone() }),
    }
}

fn collect_files(dir: &Path, parquet: &mut Vec<PathBuf>, csv: &mut Vec<PathBuf>) -> Result<(), IngestError> {
    let io = |source| IngestError::Io { path: dir.to_path_buf(), source };
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let hidden =
            path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') || n.starts_with('_'));
        if hidden {
            continue; // _SUCCESS markers, .crc files and the like written by Spark and Hadoop tools
        }
        if path.is_dir() {
            collect_files(&path, parquet, csv)?;
        } else {
            match path.extension().and_then(|e| e.to_str()) {
                Some("parquet") => parquet.push(path),
                Some("csv") => csv.push(path),
                _ => {}
            }
        }
    }
    Ok(())
}

/// The number of rows a table holds, from Parquet footers (0 for CSV, where only reading tells).
pub fn row_count_hint(source: &TableSource) -> usize {
    if source.format != Format::Parquet {
        return 0;
    }
    source
        .files
        .iter()
        .filter_map(|f| fs::File::open(f).ok())
        .filter_map(|f| parquet::file::reader::SerializedFileReader::new(f).ok())
        .map(|r| {
            use parquet::file::reader::FileReader;
            r.metadata().file_metadata().num_rows().max(0) as usize
        })
        .sum()
}

/// Reads every file of a table, calling `each` with consecutive chunks.
pub fn read_chunks(
    source: &TableSource,
    each: &mut dyn FnMut(Chunk) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    for file in &source.files {
        match source.format {
            Format::Parquet => read_parquet(source.table, file, each)?,
            Format::Csv => read_csv(source.table, file, each)?,
        }
    }
    Ok(())
}

fn read_parquet(
    table: Table,
    path: &Path,
    each: &mut dyn FnMut(Chunk) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let unreadable = |reason: String| IngestError::Unreadable { table, path: path.to_path_buf(), reason };
    let file = fs::File::open(path).map_err(|source| IngestError::Io { path: path.to_path_buf(), source })?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(IngestError::EmptyFile { table, path: path.to_path_buf() });
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(
        file.try_clone().map_err(|source| IngestError::Io { path: path.to_path_buf(), source })?,
    )
    .map_err(|e| unreadable(e.to_string()))?;
    // Ask for id and month columns as dictionaries: their distinct values are then checked once each.
    let hinted = dictionary_hint(table, builder.schema(), builder.metadata());
    let builder = match hinted {
        Some(schema) => {
            let options = ArrowReaderOptions::new().with_schema(schema);
            match ParquetRecordBatchReaderBuilder::try_new_with_options(file, options) {
                Ok(b) => b,
                Err(_) => builder,
            }
        }
        None => builder,
    };
    let arrow_schema = builder.schema().clone();
    // Map contract columns to top-level fields; extra columns are never decoded.
    let mut roots = Vec::new();
    for (i, field) in arrow_schema.fields().iter().enumerate() {
        if table.column_index(field.name().trim()).is_some() {
            roots.push(i);
        }
    }
    let present: Vec<String> = roots.iter().map(|&i| arrow_schema.field(i).name().trim().to_string()).collect();
    check_required(table, path, present.iter().map(String::as_str))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let reader =
        builder.with_projection(mask).with_batch_size(CHUNK_ROWS).build().map_err(|e| unreadable(e.to_string()))?;
    let file: Arc<Path> = Arc::from(path);
    // Decoding (decompression above all) runs a few batches ahead on a thread of its own while `each` checks
    // the rows: two tables read side by side then keep both cores busy however their costs differ.
    std::thread::scope(|scope| {
        let (decoded, batches) = std::sync::mpsc::sync_channel(DECODED_AHEAD);
        scope.spawn(move || {
            for batch in reader {
                if decoded.send(batch).is_err() {
                    return; // the checker stopped at an error
                }
            }
        });
        let mut next_row = 1u64;
        for batch in batches {
            let batch: RecordBatch = batch.map_err(|e| unreadable(e.to_string()))?;
            let mut columns: Vec<Option<ArrayRef>> = vec![None; table.columns().len()];
            for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
                if let Some(ix) = table.column_index(field.name().trim()) {
                    columns[ix] = Some(array.clone());
                }
            }
            let len = batch.num_rows();
            each(Chunk { file: file.clone(), first_row: next_row, len, columns, malformed: Vec::new() })?;
            next_row += len as u64;
        }
        Ok(())
    })
}

/// Batches of a Parquet file decoded ahead of the rows being checked.
const DECODED_AHEAD: usize = 2;

/// Whether every data page of the column is dictionary-encoded in every row group, so that reading it as
/// a dictionary costs nothing extra (a column whose dictionary overflowed into plain pages would have to be
/// hashed back into one, which costs more than it saves).
fn dictionary_encoded(metadata: &ParquetMetaData, name: &str) -> bool {
    metadata.row_groups().iter().all(|rg| {
        rg.columns().iter().filter(|c| c.column_path().string() == name).all(|c| {
            c.dictionary_page_offset().is_some()
                && c.page_encoding_stats_mask().is_some_and(|mask| {
                    mask.is_only(Encoding::PLAIN_DICTIONARY) || mask.is_only(Encoding::RLE_DICTIONARY)
                })
        })
    })
}

/// The file's schema with its plain-text id and month columns read as Int32 dictionaries where wholly
/// dictionary-encoded and as string views elsewhere, if there are any.
fn dictionary_hint(table: Table, schema: &SchemaRef, metadata: &ParquetMetaData) -> Option<SchemaRef> {
    let mut changed = false;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let id_or_month = table.column_index(f.name().trim()).is_some_and(|c| {
                matches!(table.columns()[c].kind, crate::contract::Kind::Id | crate::contract::Kind::Month)
            });
            if id_or_month && *f.data_type() == DataType::Utf8 {
                changed = true;
                // A column of many distinct ids (worker ids) is read as views into the decoded pages
                // rather than copied into a string array of its own.
                let as_type = match dictionary_encoded(metadata, f.name()) {
                    true => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    false => DataType::Utf8View,
                };
                f.as_ref().clone().with_data_type(as_type)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    changed.then(|| std::sync::Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
}

fn read_csv(
    table: Table,
    path: &Path,
    each: &mut dyn FnMut(Chunk) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let unreadable = |reason: String| IngestError::Unreadable { table, path: path.to_path_buf(), reason };
    let file = fs::File::open(path).map_err(|source| IngestError::Io { path: path.to_path_buf(), source })?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(IngestError::EmptyFile { table, path: path.to_path_buf() });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let header = reader.byte_headers().map_err(|e| unreadable(e.to_string()))?.clone();
    let mut names = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let name = std::str::from_utf8(raw)
            .map_err(|_| unreadable(format!("header field {} is not UTF-8 text", i + 1)))?
            .trim_start_matches('\u{feff}')
            .trim()
            .to_string();
        names.push(name);
    }
    if names.iter().all(String::is_empty) {
        return Err(IngestError::EmptyFile { table, path: path.to_path_buf() });
    }
    check_required(table, path, names.iter().map(String::as_str))?;
    // field position in the record -> contract column index
    let mut targets: Vec<(usize, usize)> = Vec::new();
    for (pos, name) in names.iter().enumerate() {
        if let Some(ix) = table.column_index(name) {
            if targets.iter().any(|&(_, seen)| seen == ix) {
                return Err(IngestError::DuplicateColumn {
                    table,
                    path: path.to_path_buf(),
                    column: table.columns()[ix].name,
                });
            }
            targets.push((pos, ix));
        }
    }
    let file_ref: Arc<Path> = Arc::from(path);
    let mut record = csv::ByteRecord::new();
    let mut next_row = 1u64;
    let new_builders =
        || targets.iter().map(|_| StringBuilder::with_capacity(CHUNK_ROWS, CHUNK_ROWS * 8)).collect::<Vec<_>>();
    let mut builders = new_builders();
    let mut malformed = Vec::new();
    let mut len = 0usize;
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| unreadable(csv_error(&e)))?;
        if more {
            if record.len() != names.len() {
                malformed
                    .push((len, format!("expected {} fields as in the header, found {}", names.len(), record.len())));
                builders.iter_mut().for_each(StringBuilder::append_null);
            } else {
                let mut bad_utf8 = None;
                for ((pos, _), builder) in targets.iter().zip(builders.iter_mut()) {
                    match std::str::from_utf8(&record[*pos]) {
                        // Kept as written: an identifier's white space is part of it; the other
                        // kinds trim theirs when they are read.
                        Ok(text) => {
                            if text.is_empty() {
                                builder.append_null();
                            } else {
                                builder.append_value(text);
                            }
                        }
                        Err(_) => {
                            bad_utf8 = Some(*pos);
                            builder.append_null();
                        }
                    }
                }
                if let Some(pos) = bad_utf8 {
                    malformed.push((len, format!("field {} ({}) is not valid UTF-8", pos + 1, names[pos])));
                }
            }
            len += 1;
        }
        if len == CHUNK_ROWS || (!more && len > 0) {
            let mut columns: Vec<Option<ArrayRef>> = vec![None; table.columns().len()];
            for ((_, ix), mut builder) in targets.iter().zip(std::mem::replace(&mut builders, new_builders())) {
                columns[*ix] = Some(Arc::new(builder.finish()));
            }
            let chunk = Chunk {
                file: file_ref.clone(),
                first_row: next_row,
                len,
                columns,
                malformed: std::mem::take(&mut malformed),
            };
            each(chunk)?;
            next_row += len as u64;
            len = 0;
        }
        if !more {
            return Ok(());
        }
    }
}

fn csv_error(e: &csv::Error) -> String {
    match e.position() {
        Some(pos) => format!("{} (line {})", e, pos.line()),
        None => e.to_string(),
    }
}

fn check_required<'a>(
    table: Table,
    path: &Path,
    present: impl Iterator<Item = &'a str> + Clone,
) -> Result<(), IngestError> {
    for column in table.columns().iter().filter(|c| c.required) {
        if !present.clone().any(|p| p == column.name) {
            return Err(IngestError::MissingColumn { table, path: path.to_path_buf(), column: column.name });
        }
    }
    Ok(())
}
