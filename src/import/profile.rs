//! Any CSV or XLSX register through a mapping profile: a small TOML file
//! naming which column holds the date, the amount (signed, or credit and
//! debit apart), the payer, the purpose and the payment's own id, with the
//! decimal separator, encoding, delimiter and rows to skip where detection
//! is not enough. `almoner import profile check` checks one.

use std::collections::HashMap;

use serde::Deserialize;

use super::table::{self, Row};
use super::{Direction, Format, LineError, Party, Payment, Register, Rejected, Summary, key};
use crate::domain::{Currency, Money};

/// A column by its header name, or by its number (1 is the first).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Column {
    Name(String),
    Number(usize),
}

impl Column {
    fn describe(&self) -> String {
        match self {
            Column::Name(n) => format!("«{n}»"),
            Column::Number(n) => format!("column {n}"),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub date: Option<Column>,
    /// Signed: negative is money out.
    pub amount: Option<Column>,
    /// Money in and money out in two columns (instead of `amount`).
    pub credit: Option<Column>,
    pub debit: Option<Column>,
    pub payer: Option<Column>,
    pub purpose: Option<Column>,
    /// The payment's own id in the register: the key that makes re-imports add nothing.
    pub id: Option<Column>,
    pub email: Option<Column>,
    pub phone: Option<Column>,
    pub inn: Option<Column>,
    pub account: Option<Column>,
    pub currency: Option<Column>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Shown in the preview; part of every payment's key.
    pub name: String,
    pub columns: Columns,
    /// "," or "."; by default each cell's last separator is the decimal one.
    pub decimal: Option<String>,
    /// e.g. "windows-1251"; by default UTF-8 when the bytes are, else windows-1251.
    pub encoding: Option<String>,
    /// ";", ",", "\t" or "|"; by default worked out from the first lines.
    pub delimiter: Option<String>,
    /// Rows before the header row (by default the header is the first row naming the columns).
    #[serde(default)]
    pub skip_rows: usize,
    /// Are there headers? Without them columns are given by number.
    #[serde(default = "yes")]
    pub header: bool,
    /// chrono format of the date column, e.g. "%d.%m.%y"; common shapes are tried anyway.
    pub date_format: Option<String>,
}

fn yes() -> bool {
    true
}

/// What is wrong with a profile, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ProfileError {
    pub file: String,
    pub message: String,
}

impl Profile {
    /// Reads and checks a profile; every problem names the file and, where it can, the line.
    pub fn parse(text: &str, file: &str) -> Result<Profile, ProfileError> {
        let err = |message: String| ProfileError { file: file.to_string(), message };
        let profile: Profile = toml::from_str(text).map_err(|e| err(crate::text::toml_error(text, &e)))?;
        let c = &profile.columns;
        if c.date.is_none() {
            return Err(err("[columns] needs `date`".into()));
        }
        match (&c.amount, &c.credit, &c.debit) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => {}
            _ => return Err(err("[columns] needs either `amount` (signed) or both `credit` and `debit`".into())),
        }
        if matches!(profile.decimal.as_deref(), Some(d) if d != "," && d != ".") {
            return Err(err("`decimal` is \",\" or \".\"".into()));
        }
        if let Some(enc) = &profile.encoding
            && encoding_rs::Encoding::for_label(enc.as_bytes()).is_none()
        {
            return Err(err(format!("encoding {enc:?} is not known (e.g. \"utf-8\", \"windows-1251\", \"cp866\")")));
        }
        if matches!(profile.delimiter.as_deref(), Some(d) if d.len() != 1 && d != "\\t") {
            return Err(err("`delimiter` is one character: \";\", \",\", \"\\t\" or \"|\"".into()));
        }
        let all = [
            &c.date,
            &c.amount,
            &c.credit,
            &c.debit,
            &c.payer,
            &c.purpose,
            &c.id,
            &c.email,
            &c.phone,
            &c.inn,
            &c.account,
            &c.currency,
        ];
        for col in all.into_iter().flatten() {
            match col {
                Column::Number(0) => return Err(err("column numbers start at 1".into())),
                Column::Name(_) if !profile.header => {
                    return Err(err(format!(
                        "{} is a name, but `header = false`: give column numbers",
                        col.describe()
                    )));
                }
                _ => {}
            }
        }
        Ok(profile)
    }

    fn named(&self) -> Vec<&Column> {
        let c = &self.columns;
        [&c.date, &c.amount, &c.credit, &c.debit].into_iter().flatten().collect()
    }
}

/// Column positions resolved against a header row.
struct Resolved<'p> {
    profile: &'p Profile,
    at: HashMap<String, usize>,
}

impl Resolved<'_> {
    fn index(&self, col: &Column) -> Option<usize> {
        match col {
            Column::Number(n) => Some(n - 1),
            Column::Name(name) => self.at.get(&name.trim().to_lowercase()).copied(),
        }
    }
    fn get<'r>(&self, row: &'r Row, col: &Option<Column>) -> Option<&'r str> {
        let i = self.index(col.as_ref()?)?;
        row.cells.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

/// Reads a register through `profile`.
pub fn parse(bytes: &[u8], profile: &Profile) -> Result<Register, Rejected> {
    let mut payments = Vec::new();
    let summary = if table::is_zip(bytes) {
        let t = table::read(bytes, None, None)?;
        let mut m = Mapper::new(profile);
        for row in t.rows {
            m.row(row, &mut |p| payments.push(p));
        }
        m.finish(t.encoding)?
    } else {
        stream(bytes, profile, &mut |p| payments.push(p))?
    };
    Ok(summary.with(payments))
}

/// Reads a CSV register through `profile` as it goes, handing each payment to `sink`.
pub fn stream<R: std::io::BufRead>(
    reader: R,
    profile: &Profile,
    sink: &mut dyn FnMut(Payment),
) -> Result<Summary, Rejected> {
    let encoding = profile.encoding.as_deref().and_then(|e| encoding_rs::Encoding::for_label(e.as_bytes()));
    let delimiter = profile.delimiter.as_deref().map(|d| if d == "\\t" { b'\t' } else { d.as_bytes()[0] });
    let mut m = Mapper::new(profile);
    let name = table::for_each_csv_row(reader, encoding, delimiter, |row| {
        m.row(row, sink);
        Ok(())
    })?;
    m.finish(name)
}

/// Rows to payments: the header row is looked for first (when there is one), then each row is read.
struct Mapper<'p> {
    profile: &'p Profile,
    rows_seen: usize,
    first: Option<Row>,
    resolved: Option<Resolved<'p>>,
    seen: HashMap<u128, usize>,
    errors: Vec<LineError>,
    warnings: Vec<LineError>,
}

impl<'p> Mapper<'p> {
    fn new(profile: &'p Profile) -> Mapper<'p> {
        let resolved = (!profile.header).then(|| Resolved { profile, at: HashMap::new() });
        Mapper {
            profile,
            rows_seen: 0,
            first: None,
            resolved,
            seen: HashMap::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn row(&mut self, row: Row, sink: &mut dyn FnMut(Payment)) {
        self.rows_seen += 1;
        if self.rows_seen <= self.profile.skip_rows {
            return;
        }
        let Some(r) = &self.resolved else {
            let names: Vec<String> = row.cells.iter().map(|c| c.trim().to_lowercase()).collect();
            let header = self.profile.named().iter().all(|c| match c {
                Column::Name(n) => names.contains(&n.trim().to_lowercase()),
                Column::Number(_) => true,
            });
            if header {
                let at = names.into_iter().enumerate().map(|(k, c)| (c, k)).collect();
                self.resolved = Some(Resolved { profile: self.profile, at });
            } else if self.first.is_none() {
                self.first = Some(row);
            }
            return;
        };
        if row.cells.iter().all(|c| c.trim().is_empty()) {
            return;
        }
        match payment(&row, r, &mut self.warnings) {
            Ok(mut p) => {
                let id = r.get(&row, &self.profile.columns.id);
                let content = [
                    p.date.to_string(),
                    p.amount.plain(),
                    format!("{:?}", p.direction),
                    p.counterparty().name.clone(),
                    p.purpose.clone(),
                ];
                let base = match id {
                    Some(id) => key(Format::Mapped, &[&self.profile.name, id]),
                    None => key(Format::Mapped, &[&self.profile.name, &content.join("\u{1f}")]),
                };
                // The same content twice in one file is two payments: the second gets its own key.
                // (Only rows without an id need counting; with one, the id is the identity.)
                p.external_key = if id.is_some() {
                    base
                } else {
                    let bits =
                        u128::from_str_radix(base.rsplit(':').next().unwrap_or_default(), 16).unwrap_or_default();
                    let n = self.seen.entry(bits).or_default();
                    *n += 1;
                    if *n == 1 { base } else { key(Format::Mapped, &[&base, &n.to_string()]) }
                };
                sink(p);
            }
            Err(message) => self.errors.push(LineError { line: row.line, message }),
        }
    }

    fn finish(self, encoding: &'static str) -> Result<Summary, Rejected> {
        if self.resolved.is_none() {
            let want: Vec<String> = self.profile.named().iter().map(|c| c.describe()).collect();
            let first = self.first.as_ref().map(|r| r.cells.join(" | ")).unwrap_or_default();
            return Err(Rejected::Structure {
                line: self.first.as_ref().map(|r| r.line).unwrap_or(1),
                message: format!(
                    "no row has the columns {} that profile {:?} names (the first row has: {})",
                    want.join(", "),
                    self.profile.name,
                    crate::text::clip(&first, 120)
                ),
            });
        }
        Ok(Summary {
            format: Format::Mapped,
            encoding,
            errors: self.errors,
            warnings: self.warnings,
            checks: Vec::new(),
        })
    }
}

fn payment(row: &Row, r: &Resolved, warnings: &mut Vec<LineError>) -> Result<Payment, String> {
    let p = r.profile;
    let c = &p.columns;
    let decimal = p.decimal.as_deref().and_then(|d| d.chars().next());
    let date_raw = r.get(row, &c.date).ok_or("the date is empty")?;
    let date =
        table::date(date_raw, p.date_format.as_deref()).ok_or_else(|| format!("date {date_raw:?} cannot be read"))?;
    let amount_of = |col: &Option<Column>| -> Result<(i64, bool), String> {
        match r.get(row, col) {
            Some(raw) => table::signed_amount(raw, decimal),
            None => Ok((0, false)),
        }
    };
    let (signed, rounded) = if c.amount.is_some() {
        let raw = r.get(row, &c.amount).ok_or("the amount is empty")?;
        table::signed_amount(raw, decimal)?
    } else {
        let ((cr, r1), (db, r2)) = (amount_of(&c.credit)?, amount_of(&c.debit)?);
        (cr.abs() - db.abs(), r1 || r2)
    };
    if rounded {
        warnings.push(LineError { line: row.line, message: "amount rounded to the kopeck".into() });
    }
    if signed == 0 {
        return Err("the amount is zero".into());
    }
    let amount = Money::from_minor(signed.abs());
    let direction = if signed > 0 { Direction::Incoming } else { Direction::Outgoing };
    let currency = match r.get(row, &c.currency) {
        None => Currency::RUB,
        Some("RUR") => Currency::RUB,
        Some(cur) => cur.parse().map_err(|_| format!("currency {cur:?} is not known"))?,
    };
    let party = Party {
        name: r.get(row, &c.payer).unwrap_or_default().to_string(),
        inn: r.get(row, &c.inn).map(str::to_string),
        account: r.get(row, &c.account).map(str::to_string),
        email: r.get(row, &c.email).map(str::to_string),
        phone: r.get(row, &c.phone).map(str::to_string),
    };
    let (payer, payee) =
        if direction == Direction::Incoming { (party, Party::default()) } else { (Party::default(), party) };
    Ok(Payment {
        line: row.line,
        direction,
        date,
        booked: None,
        number: r.get(row, &c.id).unwrap_or_default().to_string(),
        amount,
        currency,
        payer,
        payee,
        purpose: r.get(row, &c.purpose).unwrap_or_default().to_string(),
        own_account: None,
        external_key: String::new(),
        subscription: None,
        refund_of: None,
        fee: Money::ZERO,
    })
}

#[cfg(test)]
mod tests {
    use super::{Profile, parse};
    use crate::import::Direction;

    const PROFILE: &str = r#"
name = "test bank"
decimal = ","
[columns]
date = "Дата"
credit = "Приход"
debit = "Расход"
payer = "Плательщик"
purpose = "Назначение"
"#;

    #[test]
    fn a_profile_reads_a_table_after_a_preamble() {
        let profile = Profile::parse(PROFILE, "p.toml").unwrap();
        let csv = "Выписка за март\n\nДата;Плательщик;Назначение;Приход;Расход\n01.03.2026;Анна;на лечение;1 500,50;0\n02.03.2026;Клиника;;0;200\n03.03.2026;Анна;на лечение;1 500,50;0\n03.03.2026;Анна;на лечение;1 500,50;0\nxx;;;1;0\n";
        let reg = parse(csv.as_bytes(), &profile).unwrap();
        assert_eq!(reg.payments.len(), 4);
        assert_eq!((reg.payments[0].amount.plain(), reg.payments[0].line), ("1500.50".to_string(), 4));
        assert_eq!(reg.payments[1].direction, Direction::Outgoing);
        assert_ne!(reg.payments[2].external_key, reg.payments[3].external_key, "two equal rows are two payments");
        assert_eq!((reg.errors.len(), reg.errors[0].line), (1, 8));
    }

    #[test]
    fn bad_profiles_say_what_and_where() {
        let e = Profile::parse("name = \"x\"\n[columns]\ndate = \"Д\"\namount = \"С\"\ncolour = 1\n", "p.toml")
            .unwrap_err();
        assert!(e.to_string().starts_with("p.toml: line 5:"), "{e}");
        let e = Profile::parse("name = \"x\"\n[columns]\ndate = \"Д\"\ncredit = \"П\"\n", "p.toml").unwrap_err();
        assert!(e.message.contains("both `credit` and `debit`"), "{e}");
        let e = Profile::parse("name = \"x\"\nencoding = \"klingon\"\n[columns]\ndate = 1\namount = 2\n", "p.toml")
            .unwrap_err();
        assert!(e.message.contains("klingon"), "{e}");
        let e = Profile::parse("name = \"x\"\nheader = false\n[columns]\ndate = \"Д\"\namount = 2\n", "p.toml")
            .unwrap_err();
        assert!(e.message.contains("header = false"), "{e}");
    }
}
