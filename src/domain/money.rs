//! Money: an exact count of minor units (kopecks). Parsed and printed through
//! `rust_decimal`; no float ever touches an amount.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An amount in minor units (kopecks for RUB). May be negative only where a
/// caller asks for a signed quantity (differences); amounts the foundation
/// stores are never negative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// A three-letter ISO 4217 code. Every amount in the foundation is in one
/// currency per record; allocations never mix currencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const RUB: Currency = Currency(*b"RUB");
    /// ISO 4217's "no currency": what a statement that names none is read as, until a person
    /// says which (`--currency`); nothing in it is imported until then.
    pub const NONE: Currency = Currency(*b"XXX");

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII uppercase letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        let up = s.trim().to_ascii_uppercase();
        match up.as_str() {
            "₽" | "РУБ" | "RUR" => return Ok(Currency::RUB),
            _ => {}
        }
        let b = up.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            Ok(Currency([b[0], b[1], b[2]]))
        } else {
            Err(MoneyError::BadCurrency(s.to_string()))
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount is empty: type a number such as 1500 or 1 500,50")]
    Empty,
    #[error("amount {0:?} is not a number: use digits with an optional decimal part, e.g. 1500.50 or 1 500,50")]
    NotANumber(String),
    #[error("amount {0:?} has more than 2 decimal places: kopecks are the smallest unit")]
    TooPrecise(String),
    #[error("amount {0:?} is negative: amounts are positive; a correction is a reversal")]
    Negative(String),
    #[error("amount {0:?} is zero: an amount must be more than 0")]
    Zero(String),
    #[error("amount {0:?} is too large: the most almoner takes is 10 000 000 000,00")]
    Overflow(String),
    #[error("amount {0:?}: the comma is the decimal mark here; for thousands write 1500 or 1 500")]
    CommaGrouping(String),
    #[error("amount {0:?} mixes '.' and ',': write either 1500.50 or 1 500,50")]
    MixedSeparators(String),
    #[error("currency {0:?} is not a three-letter code such as RUB")]
    BadCurrency(String),
}

/// Currency marks staff write after an amount; stripped before parsing.
const SUFFIXES: [&str; 8] = ["₽", "руб.", "руб", "р.", "rub", "RUB", "RUR", "Руб."];

impl Money {
    pub const ZERO: Money = Money(0);
    /// The largest amount accepted from outside (10 billion roubles): a
    /// million of them still sum inside an i64.
    pub const MAX: Money = Money(1_000_000_000_000);

    pub const fn from_minor(minor: i64) -> Money {
        Money(minor)
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// Saturating subtraction at zero: "still needed", "remainder".
    pub fn minus_or_zero(self, other: Money) -> Money {
        Money((self.0 - other.0).max(0))
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Parses an amount as staff type it: `1500`, `1500.5`, `1 500,50`,
    /// `1 500,50 ₽`. Zero and negative amounts are refused.
    pub fn parse_positive(text: &str) -> Result<Money, MoneyError> {
        let m = Money::parse(text)?;
        if m.is_zero() {
            return Err(MoneyError::Zero(text.to_string()));
        }
        Ok(m)
    }

    /// Parses a non-negative amount (zero allowed, e.g. an empty split row
    /// typed as `0`). Signs are refused.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let mut s = text.trim();
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        for suffix in SUFFIXES {
            if let Some(rest) = s.strip_suffix(suffix) {
                s = rest.trim_end();
                break;
            }
        }
        let compact: String =
            s.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'')).collect();
        if compact.is_empty() {
            return Err(MoneyError::Empty);
        }
        if compact.starts_with('-') {
            return Err(MoneyError::Negative(text.to_string()));
        }
        if compact.contains('.') && compact.contains(',') {
            return Err(MoneyError::MixedSeparators(text.to_string()));
        }
        // "1,500" is someone grouping thousands the English way, not 1.5: say so.
        if let Some((_, frac)) = compact.split_once(',')
            && frac.len() == 3
            && frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(MoneyError::CommaGrouping(text.to_string()));
        }
        let normal = compact.replace(',', ".");
        let valid = !normal.is_empty()
            && normal.chars().all(|c| c.is_ascii_digit() || c == '.')
            && normal.matches('.').count() <= 1
            && normal.chars().any(|c| c.is_ascii_digit());
        if !valid {
            return Err(MoneyError::NotANumber(text.to_string()));
        }
        if let Some((_, frac)) = normal.split_once('.')
            && frac.len() > 2
        {
            return Err(MoneyError::TooPrecise(text.to_string()));
        }
        let dec = Decimal::from_str(&normal).map_err(|_| MoneyError::Overflow(text.to_string()))?;
        Money::from_decimal(dec).filter(|m| *m <= Money::MAX).ok_or_else(|| MoneyError::Overflow(text.to_string()))
    }

    /// Exact conversion; `None` when it has more than 2 decimals or does not fit.
    pub fn from_decimal(dec: Decimal) -> Option<Money> {
        let scaled = dec.checked_mul(Decimal::ONE_HUNDRED)?;
        if scaled.fract() != Decimal::ZERO {
            return None;
        }
        i64::try_from(scaled.mantissa() / 10i128.pow(scaled.scale())).ok().map(Money)
    }

    /// `1500.00` — the form used in JSON and CSV.
    pub fn plain(self) -> String {
        self.to_decimal().to_string()
    }

    /// `1 500,00 ₽` — the form Russian-speaking staff write.
    pub fn ru(self) -> String {
        format!("{} ₽", self.grouped(' ', ','))
    }

    /// `1,500.00` — English grouping.
    pub fn en(self) -> String {
        self.grouped(',', '.')
    }

    fn grouped(self, group: char, point: char) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let units = (abs / 100).to_string();
        let mut out = String::with_capacity(units.len() + 8);
        for (i, ch) in units.chars().enumerate() {
            if i > 0 && (units.len() - i).is_multiple_of(3) {
                out.push(group);
            }
            out.push(ch);
        }
        format!("{sign}{out}{point}{:02}", abs % 100)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.plain())
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        Money::parse(s)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, o: Money) {
        self.0 += o.0;
    }
}

impl std::ops::SubAssign for Money {
    fn sub_assign(&mut self, o: Money) {
        self.0 -= o.0;
    }
}

/// Amounts in JSON are decimal strings with two places (`"1500.00"`).
impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.plain())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Money::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> i64 {
        Money::parse(s).unwrap().minor()
    }

    #[test]
    fn accepts_the_ways_staff_write_amounts() {
        assert_eq!(p("1500"), 150_000);
        assert_eq!(p("1500.5"), 150_050);
        assert_eq!(p("1500.50"), 150_050);
        assert_eq!(p("1 500,50"), 150_050);
        assert_eq!(p("1 500,50 ₽"), 150_050);
        assert_eq!(p("1\u{a0}500,50\u{a0}₽"), 150_050);
        assert_eq!(p("0,01"), 1);
        assert_eq!(p(".5"), 50);
        assert_eq!(p("12 000 000 руб."), 1_200_000_000);
    }

    #[test]
    fn refuses_bad_amounts_with_the_reason() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert_eq!(Money::parse("  ₽"), Err(MoneyError::Empty));
        assert!(matches!(Money::parse("1.005"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(Money::parse("-5"), Err(MoneyError::Negative(_))));
        assert!(matches!(Money::parse("+5"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Money::parse("1,500.50"), Err(MoneyError::MixedSeparators(_))));
        assert!(matches!(Money::parse("1.2.3"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Money::parse("abc"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Money::parse("1e5"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Money::parse("99999999999999999999"), Err(MoneyError::Overflow(_))));
        assert!(matches!(Money::parse_positive("0"), Err(MoneyError::Zero(_))));
        assert!(matches!(Money::parse("1,500"), Err(MoneyError::CommaGrouping(_))));
        assert!(matches!(Money::parse("10000000000.01"), Err(MoneyError::Overflow(_))));
        assert_eq!(p("10 000 000 000"), 1_000_000_000_000);
    }

    #[test]
    fn prints_plain_russian_and_english() {
        let m = Money::from_minor(150_050);
        assert_eq!(m.plain(), "1500.50");
        assert_eq!(Money::from_minor(150_000).plain(), "1500.00");
        assert_eq!(Money::from_minor(7).plain(), "0.07");
        assert_eq!(m.ru(), "1 500,50 ₽");
        assert_eq!(Money::from_minor(123_456_789_00).ru(), "123 456 789,00 ₽");
        assert_eq!(m.en(), "1,500.50");
        assert_eq!(Money::from_minor(-5).plain(), "-0.05");
    }

    proptest::proptest! {
        #[test]
        fn every_printed_form_parses_back(minor in 0i64..=1_000_000_000_000) {
            let m = Money::from_minor(minor);
            proptest::prop_assert_eq!(Money::parse(&m.plain()).unwrap(), m);
            proptest::prop_assert_eq!(Money::parse(&m.ru()).unwrap(), m);
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,24}") {
            let _ = Money::parse(&s);
        }
    }
}
