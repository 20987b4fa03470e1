//! Register files from the bank and payment processors, parsed into
//! payments. Parsers are pure (bytes in, payments out), never panic, and
//! reject a damaged file whole with the reason instead of importing part of it.
//! Formats are sniffed from content, not from the file name.

pub mod camt;
pub mod cloudpayments;
pub mod export;
pub mod feed;
pub mod generate;
pub mod mt940;
pub mod onec;
pub mod profile;
pub mod table;
mod text;

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::{Currency, Money};

pub use text::decode_lines;

/// The formats almoner reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[serde(rename = "1c")]
    OneC,
    Mt940,
    /// ISO 20022 camt.053 / camt.052 / camt.054.
    Camt,
    /// CloudPayments transaction export (CSV or XLSX).
    CloudPayments,
    /// Any CSV or XLSX read through a mapping profile.
    Mapped,
}

impl Format {
    pub const ALL: [Format; 5] = [Format::OneC, Format::Mt940, Format::Camt, Format::CloudPayments, Format::Mapped];

    pub fn name(self) -> &'static str {
        match self {
            Format::OneC => "1c",
            Format::Mt940 => "mt940",
            Format::Camt => "camt",
            Format::CloudPayments => "cloudpayments",
            Format::Mapped => "mapped",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1c" | "1cclientbankexchange" => Ok(Format::OneC),
            "mt940" | "940" | "swift" => Ok(Format::Mt940),
            "camt" | "camt053" | "camt.053" | "camt052" | "camt.052" | "camt054" | "camt.054" => Ok(Format::Camt),
            "cloudpayments" | "cp" => Ok(Format::CloudPayments),
            "mapped" | "csv" | "xlsx" | "profile" => Ok(Format::Mapped),
            other => Err(format!(
                "unknown register format {other:?}: known formats are 1c, mt940, camt, cloudpayments, mapped (with --profile)"
            )),
        }
    }
}

/// Which way money moved, seen from the foundation's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Money in: a donation.
    Incoming,
    /// Money out: e.g. a payment order paying a clinic's invoice.
    Outgoing,
    /// Between the foundation's own accounts.
    Internal,
    /// Neither the accounts nor the dates tell; reported, never guessed.
    Unknown,
    /// A payment returned or reversed by the bank (camt `RvslInd`, a return reason such as
    /// AC04, MT940 `RC`/`RD`): it takes back an earlier payment, so it is never a donation nor
    /// an invoice's payment; a person matches it to the gift it returns.
    Returned,
}

impl Direction {
    /// The word a 1C or MT940 payment's key is made with: the variant's name, as
    /// `{:?}` writes it (keys made before stay the same).
    pub fn key_word(self) -> &'static str {
        match self {
            Direction::Incoming => "Incoming",
            Direction::Outgoing => "Outgoing",
            Direction::Internal => "Internal",
            Direction::Unknown => "Unknown",
            Direction::Returned => "Returned",
        }
    }
}

/// One side of a payment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Party {
    pub name: String,
    pub inn: Option<String>,
    pub account: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// One payment read from a register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    /// Line in the file where it starts.
    pub line: usize,
    pub direction: Direction,
    /// The document's date.
    pub date: NaiveDate,
    /// When the money arrived or left, if the register says.
    pub booked: Option<NaiveDate>,
    pub number: String,
    pub amount: Money,
    pub currency: Currency,
    pub payer: Party,
    pub payee: Party,
    pub purpose: String,
    /// The foundation's account this payment belongs to.
    pub own_account: Option<String>,
    /// Stable identity: the same payment in another (or the same) file has the same key.
    pub external_key: String,
    /// A recurring donation's subscription (CloudPayments `SubscriptionId`).
    pub subscription: Option<String>,
    /// For a refund: the external key of the payment it returns.
    pub refund_of: Option<String>,
    /// What the payment processor kept of the gift (CloudPayments `TotalFee`); zero elsewhere.
    pub fee: Money,
}

impl Payment {
    /// Who the money came from (incoming) or went to (outgoing).
    pub fn counterparty(&self) -> &Party {
        match self.direction {
            Direction::Outgoing => &self.payee,
            // A return goes either way: the other party is whichever side the register names.
            Direction::Returned if self.payer.name.trim().is_empty() => &self.payee,
            _ => &self.payer,
        }
    }
}

/// A problem on one line that makes one payment unusable (the rest import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// A control total the register carries, compared with its payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlCheck {
    pub what: String,
    pub expected: Money,
    pub found: Money,
    pub ok: bool,
}

/// A whole register, parsed.
#[derive(Debug, Clone, Serialize)]
pub struct Register {
    pub format: Format,
    pub encoding: &'static str,
    pub payments: Vec<Payment>,
    pub errors: Vec<LineError>,
    /// Oddities that did not stop anything (a doubled end marker, say).
    pub warnings: Vec<LineError>,
    pub checks: Vec<ControlCheck>,
}

/// A register's findings without its payments (which a stream hands on one by one).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub format: Format,
    pub encoding: &'static str,
    pub errors: Vec<LineError>,
    pub warnings: Vec<LineError>,
    pub checks: Vec<ControlCheck>,
}

impl Summary {
    pub fn with(self, payments: Vec<Payment>) -> Register {
        Register {
            format: self.format,
            encoding: self.encoding,
            payments,
            errors: self.errors,
            warnings: self.warnings,
            checks: self.checks,
        }
    }
}

impl Register {
    /// The findings, with the payments taken out.
    pub fn split(self) -> (Summary, Vec<Payment>) {
        let summary = Summary {
            format: self.format,
            encoding: self.encoding,
            errors: self.errors,
            warnings: self.warnings,
            checks: self.checks,
        };
        (summary, self.payments)
    }
}

/// Why a file cannot be read at all. Nothing of it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("this is not a register but a binary file ({0}); check you picked the right file")]
    Binary(&'static str),
    #[error("the file is empty")]
    Empty,
    #[error(
        "unknown register format: the file starts with {0:?}; almoner reads 1CClientBankExchange, MT940 and camt.053/052/054"
    )]
    UnknownFormat(String),
    #[error("the text encoding is damaged (letters replaced by \u{fffd}); ask for the file to be exported again")]
    EncodingDamaged,
    #[error("line {line}: {message}; the file looks cut off or damaged, so nothing was imported")]
    Structure { line: usize, message: String },
    #[error("{0}: give a mapping profile (--profile FILE.toml) that says which column holds what")]
    NeedsProfile(String),
    #[error("cannot read {0}")]
    Unreadable(String),
}

/// Reads a register of any known format, sniffed from its bytes.
pub fn parse(bytes: &[u8], format: Option<Format>) -> Result<Register, Rejected> {
    parse_with(bytes, format, None)
}

/// Reads a register; with a profile, as a mapped CSV/XLSX table.
pub fn parse_with(
    bytes: &[u8],
    format: Option<Format>,
    profile: Option<&profile::Profile>,
) -> Result<Register, Rejected> {
    if bytes.is_empty() {
        return Err(Rejected::Empty);
    }
    if let Some(p) = profile.filter(|_| format.is_none_or(|f| f == Format::Mapped)) {
        return profile::parse(bytes, p);
    }
    if table::is_zip(bytes) && format.is_none_or(|f| f == Format::CloudPayments) {
        let t = table::read(bytes, None, None)?;
        if t.rows.iter().take(50).any(|r| cloudpayments::is_header(&r.cells)) {
            return cloudpayments::parse(t);
        }
        return Err(Rejected::NeedsProfile("a spreadsheet that is not a CloudPayments export".into()));
    }
    if let Some(kind) = binary_kind(bytes) {
        return Err(Rejected::Binary(kind));
    }
    match format.or_else(|| sniff(bytes)) {
        Some(Format::OneC) => onec::parse(bytes),
        Some(Format::Mt940) => mt940::parse(bytes),
        Some(Format::Camt) => camt::parse(bytes),
        Some(Format::CloudPayments) => cloudpayments::parse(table::read(bytes, None, None)?),
        Some(Format::Mapped) => Err(Rejected::NeedsProfile("a mapped table".into())),
        None => {
            let first = text::first_line(bytes);
            Err(Rejected::UnknownFormat(crate::text::clip(&first, 40)))
        }
    }
}

/// The format, from the first bytes of the file.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let head = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if head.starts_with(b"1CClientBankExchange") {
        return Some(Format::OneC);
    }
    let start = &head[..head.len().min(4096)];
    let has = |needle: &[u8]| start.windows(needle.len()).any(|w| w == needle);
    let xml = head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
    if xml && (has(b"camt.05") || has(b"BkToCstmr")) {
        return Some(Format::Camt);
    }
    let (text, _) = table::decode(&head[..head.len().min(8192)], None);
    let first: Vec<String> = text.lines().take(5).flat_map(|l| l.split([';', ',', '\t']).map(str::to_string)).collect();
    if cloudpayments::is_header(&first) {
        return Some(Format::CloudPayments);
    }
    (has(b":20:") && (has(b":25:") || has(b":60F:") || has(b":61:"))).then_some(Format::Mt940)
}

fn binary_kind(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG", "a PNG image"),
        // A PNG that went through a UTF-8 conversion on the way.
        (b"\xEF\xBF\xBDPNG", "a PNG image"),
        (b"%PDF", "a PDF document"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"PK\x03\x04", "a ZIP archive or an Office file"),
        (b"\xD0\xCF\x11\xE0", "an old Office document"),
    ];
    if let Some((_, what)) = SIGNATURES.iter().find(|(sig, _)| bytes.starts_with(sig)) {
        return Some(what);
    }
    bytes.iter().take(64 * 1024).any(|b| *b == 0).then_some("it contains NUL bytes")
}

/// Payments of a register that refunds in the same register return in full:
/// their key → line. (A partial refund leaves the payment a donation.)
pub fn refunded_in(payments: &[Payment]) -> std::collections::HashMap<String, usize> {
    let mut returned: std::collections::HashMap<&str, Money> = std::collections::HashMap::new();
    for p in payments {
        if let Some(original) = p.refund_of.as_deref() {
            let r = returned.entry(original).or_insert(Money::ZERO);
            *r = r.checked_add(p.amount).unwrap_or(Money::MAX);
        }
    }
    payments
        .iter()
        .filter(|p| p.refund_of.is_none() && returned.get(p.external_key.as_str()).is_some_and(|r| *r >= p.amount))
        .map(|p| (p.external_key.clone(), p.line))
        .collect()
}

/// A day as `YYYY-MM-DD`, as chrono writes it, without going through a format string.
pub fn iso_day(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let (year, month, day) = (d.year(), d.month(), d.day());
    if !(0..=9999).contains(&year) {
        return d.to_string();
    }
    // Written digit by digit: a million payments' days through `format!` cost a second.
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    let y = year.unsigned_abs();
    let mut s = String::with_capacity(10);
    s.extend([digit(y / 1000), digit(y / 100), digit(y / 10), digit(y), '-']);
    s.extend([digit(month / 10), digit(month), '-', digit(day / 10), digit(day)]);
    s
}

/// A stable key from the fields that identify a payment.
pub fn key(format: Format, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(format.name().as_bytes());
    for p in parts {
        h.update([0x1f]);
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let name = format.name();
    let mut out = String::with_capacity(name.len() + 33);
    out.push_str(name);
    out.push(':');
    for b in &digest[..16] {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_of_the_words_and_days_they_always_were() {
        for d in
            [Direction::Incoming, Direction::Outgoing, Direction::Internal, Direction::Unknown, Direction::Returned]
        {
            assert_eq!(d.key_word(), format!("{d:?}"));
        }
        let mut day = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        while day < last {
            assert_eq!(iso_day(day), day.format("%Y-%m-%d").to_string());
            day = day + chrono::Days::new(97);
        }
        for d in [last, NaiveDate::from_ymd_opt(0, 2, 29).unwrap(), NaiveDate::from_ymd_opt(-5, 3, 1).unwrap()] {
            assert_eq!(iso_day(d), d.to_string());
        }
    }
}
