//! Parsing of the small things people type: dates and `CASE=AMOUNT` lines.
//! Shared by the command line and the console's command language.

use chrono::NaiveDate;

use super::money::Money;

/// A positive amount, with the reason when it is not one.
pub fn parse_amount(s: &str) -> Result<Money, String> {
    Money::parse_positive(s).map_err(|e| e.to_string())
}

/// `CASE_ID=AMOUNT`, e.g. `12=1500,50`.
pub fn parse_line(s: &str) -> Result<(i64, Money), String> {
    let (case, amount) = s.split_once('=').ok_or_else(|| format!("{s:?} is not CASE_ID=AMOUNT (e.g. 12=1500)"))?;
    let case: i64 = case.trim().parse().map_err(|_| format!("{case:?} is not a case id"))?;
    Ok((case, parse_amount(amount)?))
}

/// `YYYY-MM-DD` or `DD.MM.YYYY`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s.trim(), "%d.%m.%Y"))
        .map_err(|_| format!("{s:?} is not a date: write 2026-03-31 or 31.03.2026"))
}
