//! Tables (CSV and XLSX) as rows of text cells, and the cell readers the
//! table formats share: signed amounts with either decimal separator, and
//! the date shapes seen in exports. CSV text is decoded from its bytes
//! (UTF-8 with or without BOM, else the legacy code page) and its delimiter
//! is worked out from the first lines.

use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};
use chrono::NaiveDate;
use encoding_rs::Encoding;
use rust_decimal::{Decimal, RoundingStrategy};

use super::Rejected;
use crate::domain::Money;

/// One row of a table: its line in the file (or row in the sheet) and its cells.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

#[derive(Debug)]
pub struct Table {
    pub rows: Vec<Row>,
    /// "utf-8", "windows-1251"…, or "xlsx".
    pub encoding: &'static str,
}

/// Is this a ZIP container (XLSX is one)?
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads a CSV or an XLSX file into rows. `encoding` and `delimiter` override detection.
pub fn read(bytes: &[u8], encoding: Option<&'static Encoding>, delimiter: Option<u8>) -> Result<Table, Rejected> {
    if is_zip(bytes) { read_xlsx(bytes) } else { read_csv(bytes, encoding, delimiter) }
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, Rejected> {
    let damaged = |e: String| Rejected::Structure { line: 1, message: format!("the spreadsheet cannot be read: {e}") };
    let mut book = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| damaged(e.to_string()))?;
    let range = book.worksheet_range_at(0).ok_or_else(|| damaged("it has no sheets".into()))?;
    let range = range.map_err(|e| damaged(e.to_string()))?;
    let first = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| Row { line: first + i + 1, cells: cells.iter().map(cell_text).collect() })
        .collect();
    Ok(Table { rows, encoding: "xlsx" })
}

/// A spreadsheet cell as the text a CSV would have held.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            // Money in a sheet is a binary float; two places is what it meant.
            if f.fract() == 0.0 { format!("{f:.0}") } else { format!("{}", (f * 100.0).round() / 100.0) }
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => {
            let base = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
            let days = d.as_f64().floor();
            if (0.0..200_000.0).contains(&days) {
                (base + chrono::Days::new(days as u64)).to_string()
            } else {
                String::new()
            }
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn read_csv(bytes: &[u8], encoding: Option<&'static Encoding>, delimiter: Option<u8>) -> Result<Table, Rejected> {
    let mut rows = Vec::new();
    let encoding = for_each_csv_row(bytes, encoding, delimiter, |row| {
        rows.push(row);
        Ok(())
    })?;
    Ok(Table { rows, encoding })
}

/// Calls `f` with each row of a CSV, read as it goes: each field is UTF-8
/// where its bytes are, else the given or the legacy (windows-1251) encoding.
/// Returns the encoding most of the file was in.
pub fn for_each_csv_row<R: std::io::BufRead>(
    mut reader: R,
    encoding: Option<&'static Encoding>,
    delimiter: Option<u8>,
    mut f: impl FnMut(Row) -> Result<(), Rejected>,
) -> Result<&'static str, Rejected> {
    let io = |e: std::io::Error| Rejected::Unreadable(e.to_string());
    let head = reader.fill_buf().map_err(io)?;
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let delimiter = delimiter.unwrap_or_else(|| {
        let sample = &head[..head.len().min(64 * 1024)];
        guess_delimiter(&String::from_utf8_lossy(sample))
    });
    if bom {
        reader.consume(3);
    }
    let legacy = encoding.unwrap_or(encoding_rs::WINDOWS_1251);
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let (mut any_legacy, mut all_ascii) = (false, true);
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
                let mut cells = Vec::with_capacity(record.len());
                for field in record.iter() {
                    all_ascii &= field.is_ascii();
                    let text = match (encoding, std::str::from_utf8(field)) {
                        (None, Ok(s)) if s.contains('\u{fffd}') => return Err(Rejected::EncodingDamaged),
                        (None, Ok(s)) => s.trim().to_string(),
                        _ => {
                            any_legacy |= !field.is_ascii();
                            legacy.decode_without_bom_handling(field).0.trim().to_string()
                        }
                    };
                    cells.push(text);
                }
                f(Row { line, cells })?;
            }
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                return Err(Rejected::Structure { line, message: format!("the CSV cannot be read: {e}") });
            }
        }
    }
    Ok(if any_legacy || encoding.is_some_and(|e| !all_ascii && e != encoding_rs::UTF_8) {
        legacy.name()
    } else if all_ascii {
        "ascii"
    } else {
        "utf-8"
    })
}

/// UTF-8 (a BOM is dropped) when the bytes are UTF-8; the given or the legacy encoding otherwise.
pub fn decode(bytes: &[u8], encoding: Option<&'static Encoding>) -> (String, &'static str) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(enc) = encoding {
        return (enc.decode_without_bom_handling(bytes).0.into_owned(), enc.name());
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), if bytes.is_ascii() { "ascii" } else { "utf-8" }),
        Err(_) => {
            let enc = encoding_rs::WINDOWS_1251;
            (enc.decode_without_bom_handling(bytes).0.into_owned(), enc.name())
        }
    }
}

/// The separator that splits the first lines most evenly: `;`, `,`, tab or `|`.
fn guess_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(20).collect();
    let score = |d: char| -> usize {
        let counts: Vec<usize> = lines.iter().map(|l| l.matches(d).count()).collect();
        let max = counts.iter().copied().max().unwrap_or(0);
        counts.iter().filter(|c| **c == max && max > 0).count() * 100 + max
    };
    [';', ',', '\t', '|'].into_iter().max_by_key(|d| score(*d)).map(|d| d as u8).unwrap_or(b';')
}

/// A signed amount: `-1 234,56`, `1234.5`, `300`, `+12,00 ₽`. `decimal` is `,` or `.`;
/// `None` takes whichever of the two appears last. Returns the amount and
/// whether it had to be rounded to the kopeck.
pub fn signed_amount(raw: &str, decimal: Option<char>) -> Result<(i64, bool), String> {
    let mut s: String =
        raw.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '₽')).collect();
    for suffix in ["RUB", "RUR", "руб.", "руб"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            s = rest.to_string();
        }
    }
    if s.is_empty() {
        return Err("the amount is empty".into());
    }
    let decimal = decimal.unwrap_or_else(|| if s.rfind(',') > s.rfind('.') { ',' } else { '.' });
    let group = if decimal == ',' { '.' } else { ',' };
    let normal: String = s.chars().filter(|c| *c != group).map(|c| if c == decimal { '.' } else { c }).collect();
    let dec: Decimal = normal.parse().map_err(|_| format!("amount {raw:?} is not a number"))?;
    let rounded = dec.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    let minor = Money::from_decimal(rounded.abs())
        .filter(|m| *m <= Money::MAX)
        .ok_or_else(|| format!("amount {raw:?} is out of range (more than {})", Money::MAX.plain()))?
        .minor();
    Ok((if rounded.is_sign_negative() { -minor } else { minor }, rounded != dec))
}

/// A date in one of the shapes exports use; `format` (chrono syntax) is tried first.
pub fn date(raw: &str, format: Option<&str>) -> Option<NaiveDate> {
    let raw = raw.trim();
    if let Some(f) = format
        && let Ok(d) = NaiveDate::parse_from_str(raw, f)
    {
        return Some(d);
    }
    if let Some(ms) = raw.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        let ms: i64 = ms.split(['+', '-']).next()?.parse().ok()?;
        return chrono::DateTime::from_timestamp_millis(ms).map(|t| t.date_naive());
    }
    let day = raw.split([' ', 'T']).next()?;
    ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%Y.%m.%d", "%Y/%m/%d"]
        .iter()
        .filter_map(|f| NaiveDate::parse_from_str(day, f).ok())
        // "31.05.17" also reads as the year 17 through %Y: a register is not that old.
        .find(|d| chrono::Datelike::year(d) >= 1900)
}

#[cfg(test)]
mod tests {
    use super::{date, guess_delimiter, read, signed_amount};

    #[test]
    fn amounts_in_every_shape() {
        assert_eq!(signed_amount("-4320,4", None), Ok((-4320_40, false)));
        assert_eq!(signed_amount("82 604,01", None), Ok((82604_01, false)));
        assert_eq!(signed_amount("1,234.50", None), Ok((1234_50, false)));
        assert_eq!(signed_amount("1.234,50", Some(',')), Ok((1234_50, false)));
        assert_eq!(signed_amount("300", None), Ok((300_00, false)));
        assert_eq!(signed_amount("0.125", None), Ok((12, true)));
        assert!(signed_amount("abc", None).is_err());
        assert!(signed_amount("", None).is_err());
        assert!(signed_amount("99999999999999999999999", None).is_err());
    }

    #[test]
    fn dates_in_every_shape() {
        let d = |s| date(s, None).map(|d| d.to_string());
        assert_eq!(d("31.10.2019").as_deref(), Some("2019-10-31"));
        assert_eq!(d("31.05.17").as_deref(), Some("2017-05-31"));
        assert_eq!(d("2019-07-06 00:00:00").as_deref(), Some("2019-07-06"));
        assert_eq!(d("2021-03-09T11:12:54").as_deref(), Some("2021-03-09"));
        assert_eq!(d("/Date(1615288374632)/").as_deref(), Some("2021-03-09"));
        assert_eq!(d("30.02.2020"), None);
    }

    #[test]
    fn delimiters_and_encodings_are_worked_out() {
        assert_eq!(guess_delimiter("a;b;c\n1;2,5;3\n"), b';');
        assert_eq!(guess_delimiter("a,b,c\n1,2,3\n"), b',');
        let cp1251 = encoding_rs::WINDOWS_1251.encode("Дата;Сумма\n01.02.2026;5,00\n").0.into_owned();
        let t = read(&cp1251, None, None).unwrap();
        assert_eq!((t.encoding, t.rows[1].cells[1].as_str(), t.rows[1].line), ("windows-1251", "5,00", 2));
    }
}
