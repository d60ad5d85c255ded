//! Typed access to one column of a chunk: an Arrow array of whatever physical type a file used is
//! normalised once per chunk ([`Col`]), then each cell is read as the contract type with a precise
//! problem when it does not fit.

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Decimal128Type, Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array};
use arrow_schema::DataType;

use super::problems::ProblemKind;
use crate::contract::{
    Date, Kind, Money, MoneyProblem, Month, RegionCode, RegionPrefix, FLOAT_NOISE_YUAN, MAX_ID_CHARS,
};

/// What is wrong with one cell: the kind of rule and a plain reason.
pub type CellProblem = (ProblemKind, String);
/// One cell read as the contract type: `Ok(None)` when empty or null.
pub type Cell<T> = Result<Option<T>, CellProblem>;

/// A column normalised to one of the physical forms the cell readers understand.
pub enum Col {
    /// The file has no such column, or it holds only nulls.
    Null,
    Utf8(arrow_array::StringArray),
    /// Dictionary-encoded text (Int32 keys), as ingest asks Parquet to deliver id columns: each distinct
    /// value can then be checked once per dictionary instead of once per row.
    Dict(arrow_array::Int32Array, arrow_array::StringArray),
    LargeUtf8(arrow_array::LargeStringArray),
    Utf8View(arrow_array::StringViewArray),
    Date32(Date32Array),
    Int64(Int64Array),
    Float64(Float64Array),
    Decimal(Decimal128Array, i8),
    Bool(BooleanArray),
}

/// Normalises `array` for a column of logical type `kind`, or names the physical type that cannot hold it.
pub fn normalise(array: Option<&ArrayRef>, kind: Kind) -> Result<Col, String> {
    let Some(array) = array else { return Ok(Col::Null) };
    let dt = array.data_type();
    let cast = |to: &DataType| arrow_cast::cast(array, to).map_err(|_| dt.to_string());
    let stringy = matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let dictionary_of_strings = matches!(dt, DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View));
    let integer = dt.is_integer();
    let col = match (kind, dt) {
        (_, DataType::Null) => Col::Null,
        (_, DataType::Utf8) => Col::Utf8(array.as_string::<i32>().clone()),
        (_, DataType::LargeUtf8) => Col::LargeUtf8(array.as_string::<i64>().clone()),
        (_, DataType::Utf8View) => Col::Utf8View(array.as_string_view().clone()),
        (_, DataType::Dictionary(k, v)) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            let dict = array.as_dictionary::<arrow_array::types::Int32Type>();
            Col::Dict(dict.keys().clone(), dict.values().as_string::<i32>().clone())
        }
        _ if dictionary_of_strings => Col::Utf8(cast(&DataType::Utf8)?.as_string::<i32>().clone()),
        (Kind::Id | Kind::Text | Kind::Region | Kind::Division, _) if integer => {
            Col::Utf8(cast(&DataType::Utf8)?.as_string::<i32>().clone())
        }
        (Kind::Date | Kind::Month, DataType::Date32) => Col::Date32(array.as_primitive::<Date32Type>().clone()),
        (Kind::Date | Kind::Month, DataType::Date64 | DataType::Timestamp(_, _)) => {
            Col::Date32(cast(&DataType::Date32)?.as_primitive::<Date32Type>().clone())
        }
        (Kind::Money | Kind::Int { .. }, DataType::Float64) => {
            Col::Float64(array.as_primitive::<Float64Type>().clone())
        }
        (Kind::Money | Kind::Int { .. }, DataType::Float32 | DataType::Float16) => {
            Col::Float64(cast(&DataType::Float64)?.as_primitive::<Float64Type>().clone())
        }
        (Kind::Money, DataType::Decimal128(_, scale)) => {
            Col::Decimal(array.as_primitive::<Decimal128Type>().clone(), *scale)
        }
        (Kind::Money | Kind::Int { .. } | Kind::Bool, _) if integer => {
            Col::Int64(cast(&DataType::Int64)?.as_primitive::<Int64Type>().clone())
        }
        (Kind::Bool, DataType::Boolean) => Col::Bool(array.as_boolean().clone()),
        _ if stringy => unreachable!("string types are matched above"),
        _ => return Err(dt.to_string()),
    };
    Ok(col)
}

/// Trims white space, with a fast path for the usual value that has none at either end.
fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

fn wrong(what: &str, value: &str, quote: bool) -> CellProblem {
    if quote {
        (ProblemKind::WrongType, format!("{} is not {what}", shorten(value)))
    } else {
        (ProblemKind::WrongType, format!("value is not {what}"))
    }
}

fn shorten(value: &str) -> String {
    let mut out: String = value.chars().take(40).collect();
    if out.len() < value.len() {
        out.push('…');
    }
    format!("{out:?}")
}

impl Col {
    /// The cell as text with surrounding white space trimmed, if this is a text column.
    fn str(&self, i: usize) -> Option<Option<&str>> {
        self.raw(i).map(|s| s.map(trim).filter(|s| !s.is_empty()))
    }

    /// The cell as text as written (an empty text is none), if this is a text column.
    fn raw(&self, i: usize) -> Option<Option<&str>> {
        let s = match self {
            Col::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Col::LargeUtf8(a) => a.is_valid(i).then(|| a.value(i)),
            Col::Utf8View(a) => a.is_valid(i).then(|| a.value(i)),
            Col::Dict(keys, values) => keys.is_valid(i).then(|| values.value(keys.value(i) as usize)),
            _ => return None,
        };
        Some(s.filter(|s| !s.is_empty()))
    }

    /// For a dictionary column, the dictionary key of row `i` (`None` when null or not a dictionary).
    pub fn dict_key(&self, i: usize) -> Option<usize> {
        match self {
            Col::Dict(keys, _) if keys.is_valid(i) => Some(keys.value(i) as usize),
            _ => None,
        }
    }

    /// For a dictionary column, its dictionary (to recognise it in the next chunk).
    pub fn dictionary(&self) -> Option<&arrow_array::StringArray> {
        match self {
            Col::Dict(_, values) => Some(values),
            _ => None,
        }
    }

    /// Whether cell `i` is null or blank.
    pub fn is_null_at(&self, i: usize) -> bool {
        match self.raw(i) {
            Some(s) => s.is_none(),
            None => self.is_null(i),
        }
    }

    fn is_null(&self, i: usize) -> bool {
        match self {
            Col::Null => true,
            Col::Utf8(a) => a.is_null(i),
            Col::LargeUtf8(a) => a.is_null(i),
            Col::Utf8View(a) => a.is_null(i),
            Col::Dict(k, _) => k.is_null(i),
            Col::Date32(a) => a.is_null(i),
            Col::Int64(a) => a.is_null(i),
            Col::Float64(a) => a.is_null(i),
            Col::Decimal(a, _) => a.is_null(i),
            Col::Bool(a) => a.is_null(i),
        }
    }

    /// An identifier: non-empty, at most 64 characters, taken as written (white space around it is part of
    /// it). `quote` says whether the value may appear in a reason.
    pub fn id(&self, i: usize, quote: bool) -> Cell<&str> {
        let Some(Some(id)) = self.raw(i) else { return Ok(None) };
        if id.len() > MAX_ID_CHARS && id.chars().count() > MAX_ID_CHARS {
            let reason = if quote {
                format!("identifier {} is longer than {MAX_ID_CHARS} characters", shorten(id))
            } else {
                format!("identifier is longer than {MAX_ID_CHARS} characters")
            };
            return Err((ProblemKind::BadIdentifier, reason));
        }
        Ok(Some(id))
    }

    /// Free text.
    pub fn text(&self, i: usize) -> Cell<&str> {
        Ok(self.str(i).flatten())
    }

    /// A 6-digit region code.
    pub fn region(&self, i: usize) -> Cell<RegionCode> {
        let Some(text) = self.str(i).flatten() else { return Ok(None) };
        RegionCode::parse(text)
            .map(Some)
            .ok_or_else(|| (ProblemKind::BadRegionCode, format!("{} is not a 6-digit region code", shorten(text))))
    }

    /// A province, city or district code: 2, 4 or 6 digits.
    pub fn division(&self, i: usize) -> Cell<RegionPrefix> {
        let Some(text) = self.str(i).flatten() else { return Ok(None) };
        RegionPrefix::parse_division(text).map(Some).ok_or_else(|| {
            (ProblemKind::BadRegionCode, format!("{} is not a 2, 4 or 6-digit region code", shorten(text)))
        })
    }

    /// A value of an enumeration, as its position in `codes`.
    pub fn enumeration(&self, i: usize, codes: &[&str]) -> Cell<usize> {
        let Some(text) = self.str(i).flatten() else { return Ok(None) };
        codes.iter().position(|c| *c == text).map(Some).ok_or_else(|| {
            (ProblemKind::UnknownEnumValue, format!("{} is not one of {}", shorten(text), codes.join(", ")))
        })
    }

    /// A date between 1990-01-01 and 2100-12-31.
    pub fn date(&self, i: usize) -> Cell<Date> {
        let date = match self {
            Col::Date32(a) => {
                if a.is_null(i) {
                    return Ok(None);
                }
                Date::from_days(a.value(i))
            }
            _ => match self.str(i).flatten() {
                Some(text) => Date::parse(text).ok_or_else(|| wrong("a date in the form YYYY-MM-DD", text, true))?,
                None => return Ok(None),
            },
        };
        if !date.in_contract_range() {
            return Err((ProblemKind::DateOutOfRange, format!("{date} is outside 1990-01-01..2100-12-31")));
        }
        Ok(Some(date))
    }

    /// A wage month `YYYY-MM` (a Parquet date column counts by the month it falls in).
    pub fn month(&self, i: usize) -> Cell<Month> {
        let month = match self {
            Col::Date32(a) => {
                if a.is_null(i) {
                    return Ok(None);
                }
                Date::from_days(a.value(i)).month()
            }
            _ => match self.str(i).flatten() {
                Some(text) => Month::parse(text).ok_or_else(|| wrong("a month in the form YYYY-MM", text, true))?,
                None => return Ok(None),
            },
        };
        if !month.in_contract_range() {
            return Err((ProblemKind::DateOutOfRange, format!("{month} is outside 1990-01..2100-12")));
        }
        Ok(Some(month))
    }

    /// Money in yuan: non-negative, at most 2 decimals.
    pub fn money(&self, i: usize) -> Cell<Money> {
        if self.is_null(i) {
            return Ok(None);
        }
        let from_float = |v: f64| -> Cell<Money> {
            if v < -FLOAT_NOISE_YUAN {
                return Err((ProblemKind::NegativeMoney, format!("{v} is negative")));
            }
            // Zero written as -0.0, or binary-float noise just below it, is zero.
            Money::from_yuan(v.max(0.0))
                .map(Some)
                .ok_or_else(|| (ProblemKind::TooManyDecimals, format!("{v} has more than 2 decimals or is not finite")))
        };
        match self {
            Col::Float64(a) => from_float(a.value(i)),
            Col::Int64(a) => {
                let v = a.value(i);
                if v < 0 {
                    return Err((ProblemKind::NegativeMoney, format!("{v} is negative")));
                }
                v.checked_mul(100)
                    .map(|fen| Some(Money::from_fen(fen)))
                    .ok_or_else(|| (ProblemKind::OutOfRange, format!("{v} is too large")))
            }
            Col::Decimal(a, scale) => decimal_money(a.value(i), *scale),
            _ => match self.str(i).flatten() {
                Some(text) => Money::parse(text).map(Some).map_err(|p| match p {
                    MoneyProblem::Negative => (ProblemKind::NegativeMoney, format!("{} is negative", shorten(text))),
                    MoneyProblem::TooManyDecimals => {
                        (ProblemKind::TooManyDecimals, format!("{} has more than 2 decimals", shorten(text)))
                    }
                    MoneyProblem::NotANumber => wrong("a plain decimal amount", text, true),
                }),
                None => Ok(None),
            },
        }
    }

    /// A whole number in `min..=max`.
    pub fn int(&self, i: usize, min: i64, max: i64) -> Cell<i64> {
        if self.is_null(i) {
            return Ok(None);
        }
        let v = match self {
            Col::Int64(a) => a.value(i),
            Col::Float64(a) => {
                let f = a.value(i);
                if f.fract() != 0.0 || !f.is_finite() || f.abs() > 9.0e15 {
                    return Err((ProblemKind::WrongType, format!("{f} is not a whole number")));
                }
                f as i64
            }
            _ => match self.str(i).flatten() {
                Some(text) => parse_whole(text).ok_or_else(|| wrong("a whole number", text, true))?,
                None => return Ok(None),
            },
        };
        if !(min..=max).contains(&v) {
            return Err((ProblemKind::OutOfRange, format!("{v} is outside {min}..={max}")));
        }
        Ok(Some(v))
    }

    /// A boolean: `true`/`false` in any case, or `1`/`0`.
    pub fn boolean(&self, i: usize) -> Cell<bool> {
        if self.is_null(i) {
            return Ok(None);
        }
        match self {
            Col::Bool(a) => Ok(Some(a.value(i))),
            Col::Int64(a) => match a.value(i) {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                v => Err((ProblemKind::WrongType, format!("{v} is not a boolean (true/false or 1/0)"))),
            },
            _ => match self.str(i).flatten() {
                Some(text) if text.eq_ignore_ascii_case("true") || text == "1" => Ok(Some(true)),
                Some(text) if text.eq_ignore_ascii_case("false") || text == "0" => Ok(Some(false)),
                Some(text) => Err(wrong("a boolean (true/false or 1/0)", text, true)),
                None => Ok(None),
            },
        }
    }
}

/// A whole number as text: `15`, or `15.0` as tools that keep integers with nulls as floats write it.
fn parse_whole(text: &str) -> Option<i64> {
    text.parse().ok().or_else(|| {
        let (whole, zeros) = text.split_once('.')?;
        (!zeros.is_empty() && zeros.bytes().all(|b| b == b'0')).then(|| whole.parse().ok()).flatten()
    })
}

fn decimal_money(raw: i128, scale: i8) -> Cell<Money> {
    if raw < 0 {
        return Err((ProblemKind::NegativeMoney, "amount is negative".into()));
    }
    let too_large = || (ProblemKind::OutOfRange, "amount is too large".to_string());
    let fen = if scale <= 2 {
        raw.checked_mul(10i128.pow(u32::from((2 - scale) as u8))).ok_or_else(too_large)?
    } else {
        let div = 10i128.pow(u32::from((scale - 2) as u8));
        if raw % div != 0 {
            return Err((ProblemKind::TooManyDecimals, "amount has more than 2 decimals".into()));
        }
        raw / div
    };
    i64::try_from(fen).map(|f| Some(Money::from_fen(f))).map_err(|_| too_large())
}
