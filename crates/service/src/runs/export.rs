//! Exports of a (filtered) watchlist: CSV (UTF-8 with a byte-order mark, so Excel reads the Chinese
//! names), Parquet, and Excel `.xlsx` with Chinese column headers for supervisors.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt32Array};
use rust_xlsxwriter::{Format, Workbook};

use super::RunRow;
use wagewatch_core::features::EntityType;
use wagewatch_core::model::Band;

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot encode the {format} export: {reason}")]
    Encode { format: &'static str, reason: String },
}

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Parquet,
    Xlsx,
}

impl ExportFormat {
    /// The format of a code (`csv`, `parquet`, `xlsx`).
    pub fn parse(code: &str) -> Option<ExportFormat> {
        match code {
            "csv" => Some(ExportFormat::Csv),
            "parquet" => Some(ExportFormat::Parquet),
            "xlsx" => Some(ExportFormat::Xlsx),
            _ => None,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Parquet => "parquet",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Parquet => "application/vnd.apache.parquet",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// The exported columns: machine name (CSV, Parquet) and Chinese header (Excel).
pub const COLUMNS: [(&str, &str); 18] = [
    ("entity_type", "类型"),
    ("entity_id", "编号"),
    ("name", "名称"),
    ("region_code", "区划代码"),
    ("score", "欠薪风险概率"),
    ("rank", "排名"),
    ("band", "风险等级"),
    ("reasons", "原因代码"),
    ("reasons_zh", "主要原因"),
    ("reasons_en", "main reasons"),
    ("expected_unpaid_yuan", "预计欠薪金额(元)"),
    ("expected_workers", "预计涉及工人"),
    ("levers_zh", "建议措施"),
    ("alerts", "预警规则"),
    ("sector", "行业"),
    ("previous_score", "上次概率"),
    ("previous_band", "上次等级"),
    ("new_on_list", "新上榜"),
];

/// A band in Chinese.
pub fn band_zh(b: Band) -> &'static str {
    match b {
        Band::Red => "红",
        Band::Orange => "橙",
        Band::Yellow => "黄",
        Band::Green => "绿",
    }
}

/// An entity type in Chinese.
pub fn entity_type_zh(t: EntityType) -> &'static str {
    match t {
        EntityType::Employer => "企业",
        EntityType::Project => "项目",
    }
}

/// The measures in Chinese, separated by `；` (an owner id is quoted, so it goes through
/// [`spreadsheet_safe`] where a spreadsheet reads it).
fn levers_zh(r: &RunRow) -> String {
    r.lever_texts().into_iter().map(|(_, zh, _)| zh).collect::<Vec<_>>().join("；")
}

fn reason_codes(r: &RunRow) -> String {
    r.reasons.iter().map(|x| x.code()).collect::<Vec<_>>().join(";")
}

/// The reasons in Chinese and English, a floor that raised the band first.
fn reason_texts(r: &RunRow) -> (String, String) {
    let floor = r.floor.map(|f| f.texts());
    let (zh, en): (Vec<String>, Vec<String>) = floor.into_iter().chain(r.reasons.iter().map(|x| x.texts())).unzip();
    (zh.join("；"), en.join("; "))
}

/// Encodes rows in a format.
pub fn export(rows: &[&RunRow], format: ExportFormat) -> Result<Vec<u8>, ExportError> {
    match format {
        ExportFormat::Csv => csv_bytes(rows),
        ExportFormat::Parquet => parquet_bytes(rows),
        ExportFormat::Xlsx => xlsx_bytes(rows),
    }
}

/// Text that a spreadsheet would run as a formula is written with a leading apostrophe, so a crafted name in
/// the data cannot become a formula in Excel: text that starts with a control character (tab, carriage
/// return, line feed), or whose first character after any leading spaces and controls is `=`, `+`, `-`,
/// `@` or their full-width forms.
pub fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let padding = |c: char| c.is_whitespace() || c.is_control() || c == '\u{feff}';
    let first = text.trim_start_matches(padding).chars().next();
    let formula = matches!(first, Some('=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠'));
    if formula || text.starts_with(|c: char| c.is_control()) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn csv_bytes(rows: &[&RunRow]) -> Result<Vec<u8>, ExportError> {
    let enc = |e: csv::Error| ExportError::Encode { format: "csv", reason: e.to_string() };
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(COLUMNS.iter().map(|c| c.0)).map_err(enc)?;
        for r in rows {
            let (zh, en) = reason_texts(r);
            w.write_record([
                r.entity_type.code().to_string(),
                spreadsheet_safe(&r.entity_id).into_owned(),
                spreadsheet_safe(&r.name).into_owned(),
                r.region.to_string(),
                r.score.to_string(),
                r.rank.to_string(),
                r.band.code().to_string(),
                reason_codes(r),
                zh,
                en,
                r.expected_unpaid_yuan.map(|v| v.to_string()).unwrap_or_default(),
                r.expected_workers.map(|v| v.to_string()).unwrap_or_default(),
                levers_zh(r),
                r.alerts.to_string(),
                r.sector.code().to_string(),
                r.previous_score.map(|s| s.to_string()).unwrap_or_default(),
                r.previous_band.map(|b| b.code().to_string()).unwrap_or_default(),
                r.new_on_list.to_string(),
            ])
            .map_err(enc)?;
        }
        w.flush().map_err(|e| ExportError::Encode { format: "csv", reason: e.to_string() })?;
    }
    Ok(out)
}

fn parquet_bytes(rows: &[&RunRow]) -> Result<Vec<u8>, ExportError> {
    let enc = |reason: String| ExportError::Encode { format: "parquet", reason };
    let texts: Vec<(String, String)> = rows.iter().map(|r| reason_texts(r)).collect();
    let s = |v: Vec<Option<String>>| Arc::new(StringArray::from(v)) as ArrayRef;
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("entity_type", s(rows.iter().map(|r| Some(r.entity_type.code().to_string())).collect())),
        ("entity_id", s(rows.iter().map(|r| Some(r.entity_id.clone())).collect())),
        ("name", s(rows.iter().map(|r| Some(r.name.clone())).collect())),
        ("region_code", s(rows.iter().map(|r| Some(r.region.to_string())).collect())),
        ("score", Arc::new(rows.iter().map(|r| Some(r.score)).collect::<Float64Array>()) as ArrayRef),
        ("rank", Arc::new(rows.iter().map(|r| r.rank).collect::<UInt32Array>()) as ArrayRef),
        ("band", s(rows.iter().map(|r| Some(r.band.code().to_string())).collect())),
        ("reasons", s(rows.iter().map(|r| Some(reason_codes(r))).collect())),
        ("reasons_zh", s(texts.iter().map(|t| Some(t.0.clone())).collect())),
        ("reasons_en", s(texts.iter().map(|t| Some(t.1.clone())).collect())),
        ("expected_unpaid_yuan", Arc::new(rows.iter().map(|r| r.expected_unpaid_yuan).collect::<Float64Array>())),
        ("expected_workers", Arc::new(rows.iter().map(|r| r.expected_workers).collect::<Float64Array>())),
        ("levers_zh", s(rows.iter().map(|r| Some(levers_zh(r))).collect())),
        ("alerts", s(rows.iter().map(|r| Some(r.alerts.to_string())).collect())),
        ("sector", s(rows.iter().map(|r| Some(r.sector.code().to_string())).collect())),
        ("previous_score", Arc::new(rows.iter().map(|r| r.previous_score).collect::<Float64Array>()) as ArrayRef),
        ("previous_band", s(rows.iter().map(|r| r.previous_band.map(|b| b.code().to_string())).collect())),
        ("new_on_list", Arc::new(rows.iter().map(|r| Some(r.new_on_list)).collect::<BooleanArray>()) as ArrayRef),
    ];
    super::files::encode_parquet(Vec::new(), columns.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
        .map_err(enc)
}

fn xlsx_bytes(rows: &[&RunRow]) -> Result<Vec<u8>, ExportError> {
    let enc = |e: rust_xlsxwriter::XlsxError| ExportError::Encode { format: "xlsx", reason: e.to_string() };
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("风险名单").map_err(enc)?;
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let yuan = Format::new().set_num_format("#,##0");
    let workers = Format::new().set_num_format("0.0");
    for (c, (_, zh)) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *zh, &bold).map_err(enc)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        let (zh, en) = reason_texts(r);
        sheet.write_string(row, 0, entity_type_zh(r.entity_type)).map_err(enc)?;
        sheet.write_string(row, 1, &r.entity_id).map_err(enc)?;
        sheet.write_string(row, 2, &r.name).map_err(enc)?;
        sheet.write_string(row, 3, r.region.to_string()).map_err(enc)?;
        sheet.write_number_with_format(row, 4, r.score, &percent).map_err(enc)?;
        sheet.write_number(row, 5, r.rank as f64).map_err(enc)?;
        sheet.write_string(row, 6, band_zh(r.band)).map_err(enc)?;
        sheet.write_string(row, 7, reason_codes(r)).map_err(enc)?;
        sheet.write_string(row, 8, zh).map_err(enc)?;
        sheet.write_string(row, 9, en).map_err(enc)?;
        if let Some(v) = r.expected_unpaid_yuan {
            sheet.write_number_with_format(row, 10, v, &yuan).map_err(enc)?;
        }
        if let Some(v) = r.expected_workers {
            sheet.write_number_with_format(row, 11, v, &workers).map_err(enc)?;
        }
        sheet.write_string(row, 12, spreadsheet_safe(&levers_zh(r))).map_err(enc)?;
        sheet.write_string(row, 13, r.alerts.to_string()).map_err(enc)?;
        sheet.write_string(row, 14, r.sector.code()).map_err(enc)?;
        if let Some(p) = r.previous_score {
            sheet.write_number_with_format(row, 15, p, &percent).map_err(enc)?;
        }
        if let Some(b) = r.previous_band {
            sheet.write_string(row, 16, band_zh(b)).map_err(enc)?;
        }
        sheet.write_string(row, 17, if r.new_on_list { "是" } else { "否" }).map_err(enc)?;
    }
    for (c, width) in [8, 20, 30, 10, 12, 8, 8, 40, 60, 60, 16, 12, 60, 30, 14, 10, 8, 8].iter().enumerate() {
        sheet.set_column_width(c as u16, *width).map_err(enc)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(enc)?;
    book.save_to_buffer().map_err(enc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_in_names_are_defused_for_spreadsheets() {
        for (text, expected) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            (" =1+1", "' =1+1"),
            ("\u{3000}\t=cmd|' /C calc'!A0", "'\u{3000}\t=cmd|' /C calc'!A0"),
            ("\n@x", "'\n@x"),
            ("\u{feff}+1", "'\u{feff}+1"),
            ("＝SUM(A1)", "'＝SUM(A1)"),
            ("\u{1}abc", "'\u{1}abc"),
            ("南京建工", "南京建工"),
            ("A=B", "A=B"),
            ("建工-2", "建工-2"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(text), expected);
        }
    }
}
