//! Streaming writers for contract tables: one `<table>.parquet` or `<table>.csv` per table, written row by row
//! under a temporary name and renamed into place only when complete.
//!
//! The columns, their order and their logical types come from [`wagewatch_core::contract`]; this module only maps logical
//! types to physical ones (Parquet: `Utf8` for ids, text, enums and months, `Date32`, `Float64` yuan, `Int32`,
//! `Boolean`; CSV: `YYYY-MM-DD`, yuan with at most two decimals, `true`/`false`, empty field for null).
//! Parquet rows are buffered in Arrow builders and flushed as one row group every [`ROWS_PER_GROUP`] rows, so
//! memory stays bounded whatever the table's length.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use wagewatch_core::contract::{Date, Kind, Money, Month, Table};

use super::{OutputFormat, SynthError};

/// Rows per Parquet row group (and per Arrow batch held in memory).
pub const ROWS_PER_GROUP: usize = 256 * 1024;

/// The `created_by` string of every Parquet file, fixed so that the same seed gives the same bytes.
const CREATED_BY: &str = "wagewatch synth";

/// One value of a row, in the contract column's logical type.
#[derive(Clone, Copy, Debug)]
pub enum Cell<'a> {
    Null,
    Str(&'a str),
    Date(Date),
    Month(Month),
    Money(Money),
    Int(i64),
    Bool(bool),
}

impl<'a> Cell<'a> {
    /// A nullable string.
    pub fn opt_str(value: Option<&'a str>) -> Cell<'a> {
        value.map_or(Cell::Null, Cell::Str)
    }

    /// A nullable date.
    pub fn opt_date(value: Option<Date>) -> Cell<'a> {
        value.map_or(Cell::Null, Cell::Date)
    }

    /// A nullable amount.
    pub fn opt_money(value: Option<Money>) -> Cell<'a> {
        value.map_or(Cell::Null, Cell::Money)
    }

    /// A nullable integer.
    pub fn opt_int(value: Option<i64>) -> Cell<'a> {
        value.map_or(Cell::Null, Cell::Int)
    }
}

/// Writes one contract table to `<dir>/<table>.<ext>`.
pub struct TableWriter {
    table: Table,
    partial: PathBuf,
    path: PathBuf,
    rows: u64,
    sink: Option<Sink>,
}

enum Sink {
    Parquet(ParquetSink),
    Csv(CsvSink),
}

struct ParquetSink {
    writer: ArrowWriter<BufWriter<File>>,
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    buffered: usize,
    scratch: String,
}

struct CsvSink {
    writer: csv::Writer<File>,
    scratch: String,
}

enum ColumnBuilder {
    Text(StringBuilder),
    Date(Date32Builder),
    Money(Float64Builder),
    Int(Int32Builder),
    Bool(BooleanBuilder),
}

impl TableWriter {
    /// The final file name of `table` in `format`.
    pub fn file_name(table: Table, format: OutputFormat) -> String {
        format!("{}.{}", table.name(), format.extension())
    }

    /// Starts writing `table` into `dir` (which must exist).
    pub fn create(dir: &Path, table: Table, format: OutputFormat) -> Result<TableWriter, SynthError> {
        TableWriter::create_named(dir, table, format, table.name())
    }

    /// Starts writing `table` into `dir` (which must exist) as `<stem>.<extension>`.
    pub fn create_named(dir: &Path, table: Table, format: OutputFormat, stem: &str) -> Result<TableWriter, SynthError> {
        let name = format!("{stem}.{}", format.extension());
        let path = dir.join(&name);
        let partial = dir.join(format!(".{name}.partial"));
        let file = File::create(&partial).map_err(|source| SynthError::Io { path: partial.clone(), source })?;
        let sink = match format {
            OutputFormat::Parquet => {
                let schema = arrow_schema(table);
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_dictionary_enabled(true)
                    .set_created_by(CREATED_BY.to_owned())
                    .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
                    .build();
                let writer = ArrowWriter::try_new(BufWriter::with_capacity(1 << 20, file), schema.clone(), Some(props))
                    .map_err(|source| SynthError::Parquet { path: partial.clone(), source })?;
                let columns = table.columns().iter().map(|c| ColumnBuilder::new(c.kind)).collect();
                Sink::Parquet(ParquetSink { writer, schema, columns, buffered: 0, scratch: String::new() })
            }
            OutputFormat::Csv => {
                let mut writer = csv::WriterBuilder::new().buffer_capacity(1 << 20).from_writer(file);
                writer
                    .write_record(table.columns().iter().map(|c| c.name))
                    .map_err(|source| SynthError::Csv { path: partial.clone(), source })?;
                Sink::Csv(CsvSink { writer, scratch: String::new() })
            }
        };
        Ok(TableWriter { table, partial, path, rows: 0, sink: Some(sink) })
    }

    /// Appends one row; `row` holds one cell per contract column, in the contract's order.
    pub fn push(&mut self, row: &[Cell<'_>]) -> Result<(), SynthError> {
        let columns = self.table.columns();
        if row.len() != columns.len() {
            return Err(SynthError::CellMismatch { table: self.table, column: "(row length)" });
        }
        match &mut self.sink {
            Some(Sink::Parquet(sink)) => {
                for ((builder, cell), column) in sink.columns.iter_mut().zip(row).zip(columns) {
                    let null_in_required = column.required && matches!(cell, Cell::Null);
                    if null_in_required || !builder.append(*cell, &mut sink.scratch) {
                        return Err(SynthError::CellMismatch { table: self.table, column: column.name });
                    }
                }
                sink.buffered += 1;
                if sink.buffered >= ROWS_PER_GROUP {
                    sink.flush_group().map_err(|e| e.at(&self.partial))?;
                }
            }
            Some(Sink::Csv(sink)) => {
                for (cell, column) in row.iter().zip(columns) {
                    let null_in_required = column.required && matches!(cell, Cell::Null);
                    if null_in_required || !cell_fits(*cell, column.kind) {
                        return Err(SynthError::CellMismatch { table: self.table, column: column.name });
                    }
                    sink.scratch.clear();
                    let field: &str = match *cell {
                        Cell::Null => "",
                        Cell::Str(s) => s,
                        Cell::Bool(b) => {
                            if b {
                                "true"
                            } else {
                                "false"
                            }
                        }
                        other => {
                            write_plain(&mut sink.scratch, other);
                            &sink.scratch
                        }
                    };
                    sink.writer
                        .write_field(field)
                        .map_err(|source| SynthError::Csv { path: self.partial.clone(), source })?;
                }
                sink.writer
                    .write_record(None::<&[u8]>)
                    .map_err(|source| SynthError::Csv { path: self.partial.clone(), source })?;
            }
            None => {}
        }
        self.rows += 1;
        Ok(())
    }

    /// Flushes the last rows, closes the file and renames it into place; returns the number of rows written.
    pub fn finish(mut self) -> Result<u64, SynthError> {
        match self.sink.take() {
            Some(Sink::Parquet(mut sink)) => {
                if sink.buffered > 0 {
                    sink.flush_group().map_err(|e| e.at(&self.partial))?;
                }
                let buffered = sink
                    .writer
                    .into_inner()
                    .map_err(|source| SynthError::Parquet { path: self.partial.clone(), source })?;
                let file = buffered
                    .into_inner()
                    .map_err(|e| SynthError::Io { path: self.partial.clone(), source: e.into_error() })?;
                file.sync_all().map_err(|source| SynthError::Io { path: self.partial.clone(), source })?;
            }
            Some(Sink::Csv(sink)) => {
                let file = sink
                    .writer
                    .into_inner()
                    .map_err(|e| SynthError::Io { path: self.partial.clone(), source: e.into_error() })?;
                file.sync_all().map_err(|source| SynthError::Io { path: self.partial.clone(), source })?;
            }
            None => {}
        }
        fs::rename(&self.partial, &self.path).map_err(|source| SynthError::Io { path: self.path.clone(), source })?;
        Ok(self.rows)
    }
}

impl Drop for TableWriter {
    /// A writer dropped before `finish` (an error elsewhere) leaves no half-written file behind.
    fn drop(&mut self) {
        if self.sink.take().is_some() {
            let _ = fs::remove_file(&self.partial);
        }
    }
}

/// An error of the Parquet sink before the path is known.
enum SinkError {
    Parquet(parquet::errors::ParquetError),
    Arrow(arrow_schema::ArrowError),
}

impl SinkError {
    fn at(self, path: &Path) -> SynthError {
        match self {
            SinkError::Parquet(source) => SynthError::Parquet { path: path.to_owned(), source },
            SinkError::Arrow(source) => SynthError::Arrow { path: path.to_owned(), source },
        }
    }
}

impl ParquetSink {
    fn flush_group(&mut self) -> Result<(), SinkError> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(SinkError::Arrow)?;
        self.writer.write(&batch).map_err(SinkError::Parquet)?;
        self.writer.flush().map_err(SinkError::Parquet)?;
        self.buffered = 0;
        Ok(())
    }
}

impl ColumnBuilder {
    fn new(kind: Kind) -> ColumnBuilder {
        match kind {
            Kind::Id | Kind::Text | Kind::Region | Kind::Division | Kind::Enum(_) | Kind::Month => {
                ColumnBuilder::Text(StringBuilder::with_capacity(1024, 16 * 1024))
            }
            Kind::Date => ColumnBuilder::Date(Date32Builder::with_capacity(1024)),
            Kind::Money => ColumnBuilder::Money(Float64Builder::with_capacity(1024)),
            Kind::Int { .. } => ColumnBuilder::Int(Int32Builder::with_capacity(1024)),
            Kind::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(1024)),
        }
    }

    /// Appends a cell; false when the cell's type does not fit the column.
    fn append(&mut self, cell: Cell<'_>, scratch: &mut String) -> bool {
        match (self, cell) {
            (ColumnBuilder::Text(b), Cell::Null) => b.append_null(),
            (ColumnBuilder::Date(b), Cell::Null) => b.append_null(),
            (ColumnBuilder::Money(b), Cell::Null) => b.append_null(),
            (ColumnBuilder::Int(b), Cell::Null) => b.append_null(),
            (ColumnBuilder::Bool(b), Cell::Null) => b.append_null(),
            (ColumnBuilder::Text(b), Cell::Str(s)) => b.append_value(s),
            (ColumnBuilder::Text(b), Cell::Month(m)) => {
                scratch.clear();
                let _ = write!(scratch, "{m}");
                b.append_value(scratch.as_str());
            }
            (ColumnBuilder::Date(b), Cell::Date(d)) => b.append_value(d.days()),
            // Division by 100 is correctly rounded: the nearest double to the exact decimal amount.
            (ColumnBuilder::Money(b), Cell::Money(m)) => b.append_value(m.fen() as f64 / 100.0),
            (ColumnBuilder::Int(b), Cell::Int(i)) => match i32::try_from(i) {
                Ok(v) => b.append_value(v),
                Err(_) => return false,
            },
            (ColumnBuilder::Bool(b), Cell::Bool(v)) => b.append_value(v),
            _ => return false,
        }
        true
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Money(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
        }
    }
}

/// The Arrow schema of a contract table as the generator writes it.
pub fn arrow_schema(table: Table) -> SchemaRef {
    let fields: Vec<Field> = table
        .columns()
        .iter()
        .map(|c| {
            let data_type = match c.kind {
                Kind::Id | Kind::Text | Kind::Region | Kind::Division | Kind::Enum(_) | Kind::Month => DataType::Utf8,
                Kind::Date => DataType::Date32,
                Kind::Money => DataType::Float64,
                Kind::Int { .. } => DataType::Int32,
                Kind::Bool => DataType::Boolean,
            };
            Field::new(c.name, data_type, !c.required)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Whether a cell's type fits a column's logical type (CSV has no builders to check it).
fn cell_fits(cell: Cell<'_>, kind: Kind) -> bool {
    match cell {
        Cell::Null => true,
        Cell::Str(_) => matches!(kind, Kind::Id | Kind::Text | Kind::Region | Kind::Division | Kind::Enum(_)),
        Cell::Month(_) => matches!(kind, Kind::Month),
        Cell::Date(_) => matches!(kind, Kind::Date),
        Cell::Money(_) => matches!(kind, Kind::Money),
        Cell::Int(_) => matches!(kind, Kind::Int { .. }),
        Cell::Bool(_) => matches!(kind, Kind::Bool),
    }
}

/// Formats dates, months, integers and money the way the contract's CSV form spells them.
fn write_plain(out: &mut String, cell: Cell<'_>) {
    let _ = match cell {
        Cell::Date(d) => write!(out, "{d}"),
        Cell::Month(m) => write!(out, "{m}"),
        Cell::Int(i) => write!(out, "{i}"),
        // Whole yuan without decimals, otherwise exactly two.
        Cell::Money(m) if m.fen() % 100 == 0 => write!(out, "{}", m.fen() / 100),
        Cell::Money(m) => write!(out, "{m}"),
        Cell::Null | Cell::Str(_) | Cell::Bool(_) => Ok(()),
    };
}
