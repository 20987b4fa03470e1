//! SWIFT MT940 statements (see `../shared/FORMATS.md`). A file holds statements, each from its
//! `:20:` to the next; SWIFT block headers, `-`/`-}` end markers, SOH/ETX/SUB bytes, blank lines
//! and a bank's preamble between messages are not content, so nothing glues two statements.
//! Fields run over several lines; a `:86:` belongs to the `:61:` right before it (read in the
//! German `?20…` and the Dutch `/REMI/` styles), and one anywhere else (after `:62F:`, say) to
//! no payment. Intermediate balances (`:60M:`/`:62M:`) are used; impossible dates (30 February)
//! are kept on the month's last day with a warning, never a crash. A statement without its
//! closing balance refuses the whole file (it looks cut off); a broken `:61:` is an error on its
//! line and the rest imports; a statement repeated word for word is read once.
//!
//! A payment's key is made of the account, direction, value date, amount, the `:61:` tail and
//! the `:86:` text, not of the statement's `:20:`: an overlapping statement gives the same keys.
//! The n-th identical payment of one statement (n ≥ 2) adds n, so two equal gifts on one day
//! are two payments, and the same day read again gives the same keys.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::NaiveDate;

use super::text::decode_lines_with;
use super::{ControlCheck, Direction, Format, LineError, Party, Payment, Register, Rejected, iso_day, key};
use crate::domain::{Currency, Money};

mod details;
#[cfg(test)]
mod tests;

use details::{details, says_return};

struct Field {
    line: usize,
    tag: String,
    /// The text on the tag's line.
    text: String,
    /// The lines that continue it, each with its line number.
    more: Vec<(usize, String)>,
}

impl Field {
    /// The field's first line with text in it (the tag's own, as a rule) and its line number.
    fn head(&self) -> (usize, &str) {
        let own = self.text.trim();
        if !own.is_empty() {
            return (self.line, own);
        }
        self.more.iter().find(|(_, l)| !l.trim().is_empty()).map_or((self.line, ""), |(n, l)| (*n, l.trim()))
    }

    /// The last line the field takes.
    fn last_line(&self) -> usize {
        self.more.last().map_or(self.line, |(n, _)| *n)
    }

    /// `:86:` as one text: its lines wrap mid-word, so they are joined as they are.
    fn joined(&self) -> String {
        let mut s = String::with_capacity(self.text.len() + self.more.iter().map(|(_, l)| l.len()).sum::<usize>());
        s.push_str(&self.text);
        for (_, l) in &self.more {
            s.push_str(l);
        }
        s
    }
}

/// Tags MT940 (and the banks' own extensions) define: inside `:86:` only these start a field.
const KNOWN_TAGS: [&str; 22] = [
    "13", "13D", "20", "21", "25", "25P", "28", "28C", "34F", "60F", "60M", "61", "62F", "62M", "64", "65", "86",
    "90C", "90D", "NS", "940", "942",
];

fn is_tag(line: &str) -> Option<(String, &str)> {
    let rest = line.strip_prefix(':')?;
    let end = rest.find(':')?;
    let tag = &rest[..end];
    let ok = (2..=4).contains(&tag.len()) && tag.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| (tag.to_string(), &rest[end + 1..]))
}

/// Transmission bytes (SOH, ETX, SUB, DOS's end-of-file) and byte-order marks are not content.
fn is_noise(c: char) -> bool {
    (c.is_ascii_control() && c != '\t') || c == '\u{feff}'
}

fn fields(lines: &[String]) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    // After `-}` (a SWIFT message's end) and until the next field, lines belong to no field.
    let mut ended = false;
    // A bare `-` and the lines after it, kept until the next field tells whether it ended a
    // statement (a `:20:` follows: they are a bank's preamble, ABN AMRO's `ABNANL2A / 940`) or
    // was text wrapped onto a line of its own (ING's `:86:` does), which goes on with the lines after it.
    let mut dash: Vec<(usize, String)> = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let cleaned: std::borrow::Cow<str> = if raw.contains(is_noise) {
            raw.chars().filter(|c| !is_noise(*c)).collect::<String>().into()
        } else {
            raw.into()
        };
        let mut line = cleaned.trim_end();
        // SWIFT block wrappers: `{1:…}{2:…}{4:` before the text, `-}{5:…}` after it.
        while let Some(at) = line.find("{4:") {
            line = &line[at + 3..];
        }
        let bare = line.trim_start();
        if bare.is_empty() || line.starts_with('{') {
            continue;
        }
        if bare.starts_with("-}") {
            (ended, dash) = (true, Vec::new());
            continue;
        }
        let in_86 = !ended && out.last().is_some_and(|f| f.tag == "86");
        match is_tag(line).filter(|(tag, _)| !in_86 || KNOWN_TAGS.contains(&tag.as_str())) {
            Some((tag, text)) => {
                if dash.len() > 1
                    && tag != "20"
                    && tag != "940"
                    && let Some(last) = out.last_mut()
                {
                    last.more.append(&mut dash);
                }
                (ended, dash) = (false, Vec::new());
                out.push(Field { line: i + 1, tag, text: text.to_string(), more: Vec::new() });
            }
            None if ended => {}
            None if bare == "-" || !dash.is_empty() => dash.push((i + 1, line.to_string())),
            None => {
                if let Some(last) = out.last_mut() {
                    last.more.push((i + 1, line.to_string()));
                }
            }
        }
    }
    out
}

/// `YYMMDD`; an impossible day is moved to the month's last day.
fn date(s: &str, line: usize, warnings: &mut Vec<LineError>) -> Option<NaiveDate> {
    // Six ASCII digits, so the byte slices below fall on character boundaries.
    let head = s.get(..6).filter(|h| h.bytes().all(|b| b.is_ascii_digit()))?;
    let yy: i32 = head[0..2].parse().ok()?;
    let (m, d): (u32, u32) = (head[2..4].parse().ok()?, head[4..6].parse().ok()?);
    let y = if yy < 80 { 2000 + yy } else { 1900 + yy };
    if let Some(ok) = NaiveDate::from_ymd_opt(y, m, d) {
        return Some(ok);
    }
    let first = NaiveDate::from_ymd_opt(y, m, 1)?;
    let last = (first + chrono::Months::new(1)).pred_opt()?;
    (1..=31).contains(&d).then_some(())?;
    warnings.push(LineError { line, message: format!("date {d:02}.{m:02}.{y} does not exist; taken as {last}") });
    Some(last)
}

/// `1234,56` (comma decimal, up to two places; `300,` is 300.00). SWIFT always writes the
/// comma: `500` without it is not an amount.
fn amount(s: &str) -> Option<Money> {
    let (units, frac) = s.split_once(',')?;
    if units.is_empty()
        || !units.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    let m = Money::from_minor(units.checked_mul(100)?.checked_add(frac)?);
    (m <= Money::MAX).then_some(m)
}

/// `C160229EUR1200,00` → its currency and its signed amount, each if it can be read.
fn balance(s: &str) -> (Option<Currency>, Option<Money>) {
    let currency =
        s.get(7..10).filter(|c| c.bytes().all(|b| b.is_ascii_alphabetic())).and_then(|c| c.parse::<Currency>().ok());
    let sign = match s.as_bytes().first() {
        Some(b'C') => 1,
        Some(b'D') => -1,
        _ => return (currency, None),
    };
    let amount = s.get(10..).and_then(|a| amount(a.trim())).map(|m| Money::from_minor(sign * m.minor()));
    (currency, amount)
}

/// One `:61:`, its purpose and key made once its statement is complete.
struct Entry {
    payment: Payment,
    /// What follows the amount: transaction type, references.
    tail: String,
    /// The `:86:` that follows it (several `:86:` in a row, as old Rabobank files write, joined).
    info: String,
    /// The `:61:`'s second line (supplementary details).
    supplementary: String,
    /// Whether it moves the balance up (`C`, `RD`) or down (`D`, `RC`).
    credit: bool,
}

/// `:61:` — value date, optional entry date, C/D/RC/RD, optional funds code, amount with its
/// comma, transaction type (`N`/`F`/`S` and three characters), reference, the rest. An error
/// names the line it is on.
fn entry(
    f: &Field,
    account: &str,
    currency: Currency,
    warnings: &mut Vec<LineError>,
) -> Result<Entry, (usize, String)> {
    let (line, first_line) = f.head();
    let fail = |message: String| (line, message);
    let value = date(first_line, line, warnings)
        .ok_or_else(|| fail(format!(":61: {first_line:?} does not start with a date YYMMDD")))?;
    // The date was six ASCII digits: byte 6 is a boundary.
    let mut rest = first_line.get(6..).unwrap_or("");
    if let Some(entry_date) = rest.get(..4)
        && entry_date.bytes().all(|b| b.is_ascii_digit())
        && !rest[4..].starts_with(|c: char| c.is_ascii_digit())
    {
        rest = &rest[4..];
    }
    // RC (reversal of a credit) takes money out, RD (reversal of a debit) brings it back.
    let (direction, credit, after) = if let Some(r) = rest.strip_prefix("RC") {
        (Direction::Returned, false, r)
    } else if let Some(r) = rest.strip_prefix("RD") {
        (Direction::Returned, true, r)
    } else if let Some(r) = rest.strip_prefix('C') {
        (Direction::Incoming, true, r)
    } else if let Some(r) = rest.strip_prefix('D') {
        (Direction::Outgoing, false, r)
    } else {
        return Err(fail(format!(":61: {first_line:?}: no C, D, RC or RD mark")));
    };
    // The funds code (the currency's third letter: `CR`, `DR` at German banks).
    let after = match after.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => &after[1..],
        _ => after,
    };
    let digits: String = after.chars().take_while(|c| c.is_ascii_digit() || *c == ',').collect();
    if !digits.is_empty() && !digits.contains(',') {
        return Err(fail(format!(
            ":61: amount {digits:?} has no decimal comma: SWIFT writes {digits},00 (or {digits},); the line is not read"
        )));
    }
    let amt = amount(&digits).ok_or_else(|| fail(format!(":61: amount {digits:?} cannot be read")))?;
    // Commerzbank writes a space before the transaction type.
    let tail = after[digits.len()..].trim();
    let t = tail.as_bytes();
    let typed = t.len() >= 4
        && matches!(t[0], b'N' | b'F' | b'S')
        && t[1..4].iter().all(|b| b.is_ascii_alphanumeric() || *b == b' ');
    if !typed {
        return Err(fail(format!(
            ":61: {first_line:?}: after the amount comes the transaction type (N, F or S and three characters, \
             e.g. NTRF) and the reference (e.g. NONREF); the line is not read"
        )));
    }
    // The first four bytes are ASCII: byte 4 is a boundary. The reference may be left out:
    // Volksbank, Raiffeisen and ASN write `NMSC`, `N527`, `NDIV` and nothing after.
    let reference = tail[4..].split("//").next().unwrap_or("").trim();
    let own = Party { account: Some(account.to_string()), ..Party::default() };
    let (payer, payee) = if credit { (Party::default(), own) } else { (own, Party::default()) };
    let supplementary = f.more.iter().filter(|(n, _)| *n != line).map(|(_, l)| l.trim()).collect::<Vec<_>>().join("\n");
    Ok(Entry {
        payment: Payment {
            line,
            direction,
            date: value,
            booked: Some(value),
            number: reference.to_string(),
            amount: amt,
            currency,
            payer,
            payee,
            purpose: String::new(),
            own_account: Some(account.to_string()),
            external_key: String::new(),
            subscription: None,
            refund_of: None,
            fee: Money::ZERO,
        },
        tail: tail.to_string(),
        info: String::new(),
        supplementary,
        credit,
    })
}

/// A currency's code, or that there is none.
fn named(c: Option<Currency>) -> String {
    c.map_or_else(|| "no currency".to_string(), |c| c.as_str().to_string())
}

/// A field's first line, for naming a statement.
fn first_of<'a>(msg: &'a [Field], tags: &[&str]) -> &'a str {
    msg.iter().find(|f| tags.contains(&f.tag.as_str())).map_or("", |f| f.head().1)
}

/// A statement's text, to tell one repeated word for word.
fn fingerprint(msg: &[Field]) -> u64 {
    let mut h = DefaultHasher::new();
    for f in msg {
        f.tag.hash(&mut h);
        f.text.trim().hash(&mut h);
        for (_, l) in &f.more {
            l.trim().hash(&mut h);
        }
    }
    h.finish()
}

fn same_text(a: &[Field], b: &[Field]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.tag == y.tag
                && x.text.trim() == y.text.trim()
                && x.more.len() == y.more.len()
                && x.more.iter().zip(&y.more).all(|((_, p), (_, q))| p.trim() == q.trim())
        })
}

/// Lines glued to a balance are not part of it.
fn extra_lines(f: &Field, warnings: &mut Vec<LineError>) {
    let (head, _) = f.head();
    if let Some((line, text)) = f.more.iter().find(|(n, _)| *n != head) {
        warnings.push(LineError {
            line: *line,
            message: format!("{text:?} after the balance :{}: is not part of it: ignored", f.tag),
        });
    }
}

/// One statement, from its `:20:` to before the next: its payments, checks, errors and warnings.
fn statement(msg: &[Field], reg: &mut Register) {
    let start = msg[0].line;
    let reference = crate::text::clip(msg[0].head().1, 40);
    let mut account: Option<String> = None;
    // The currency the opening balance names, and the opening balance if it can be read.
    let mut currency: Option<Currency> = None;
    let mut opening: Option<(Option<Currency>, Money, usize)> = None;
    let mut opened = false;
    let mut moved: i128 = 0;
    let mut entries: Vec<Entry> = Vec::new();
    // The entry the next `:86:` belongs to: only one right after its `:61:` (or its `:86:`) does.
    let mut owner: Option<usize> = None;
    // The first entry after the last closing balance, which no check covers.
    let mut unchecked: Option<usize> = None;
    for f in &msg[1..] {
        let belongs = owner.take().filter(|_| f.tag == "86");
        match f.tag.as_str() {
            "25" => {
                let (line, text) = f.head();
                match &account {
                    None => account = Some(text.to_string()),
                    Some(first) => reg.warnings.push(LineError {
                        line,
                        message: format!(
                            "a second :25: in the statement that begins on line {start} (account {first}): ignored"
                        ),
                    }),
                }
            }
            "60F" | "60M" => {
                let (line, text) = f.head();
                let (cur, amt) = balance(text);
                (currency, opened, moved) = (cur, true, 0);
                opening = amt.map(|m| (cur, m, line));
                if amt.is_none() {
                    reg.errors.push(LineError { line, message: format!("opening balance {text:?} cannot be read") });
                }
                extra_lines(f, &mut reg.warnings);
            }
            "61" => {
                let own = account.as_deref().unwrap_or("");
                match entry(f, own, currency.unwrap_or(Currency::NONE), &mut reg.warnings) {
                    Ok(e) => {
                        let minor = i128::from(e.payment.amount.minor());
                        moved += if e.credit { minor } else { -minor };
                        unchecked.get_or_insert(e.payment.line);
                        entries.push(e);
                        owner = Some(entries.len() - 1);
                    }
                    Err((line, message)) => reg.errors.push(LineError { line, message }),
                }
            }
            "86" => {
                if let Some(i) = belongs {
                    let e = &mut entries[i];
                    if !e.info.is_empty() {
                        e.info.push(' ');
                    }
                    e.info.push_str(f.joined().trim());
                    owner = Some(i);
                }
            }
            "62F" | "62M" => {
                unchecked = None;
                let (line, text) = f.head();
                let (cur, amt) = balance(text);
                let acc = account.as_deref().unwrap_or("");
                match (opening, amt) {
                    (Some((open_cur, open, at)), Some(close)) => {
                        let sum = i128::from(open.minor()) + moved;
                        let found = Money::from_minor(i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX }));
                        let what = format!("account {acc}, statement {reference} (lines {at}–{line})");
                        reg.checks.push(if open_cur == cur {
                            ControlCheck {
                                what: format!("{what}: opening + entries = closing"),
                                expected: close,
                                found,
                                ok: found == close,
                            }
                        } else {
                            ControlCheck {
                                what: format!(
                                    "{what}: the opening balance is in {} but the closing balance in {}: they cannot be compared",
                                    named(open_cur),
                                    named(cur)
                                ),
                                expected: close,
                                found,
                                ok: false,
                            }
                        });
                    }
                    (_, None) => reg.warnings.push(LineError {
                        line,
                        message: format!("closing balance {text:?} cannot be read, so the statement is not checked"),
                    }),
                    (None, Some(_)) if !opened => reg.warnings.push(LineError {
                        line,
                        message: format!(
                            "the statement that begins on line {start} has no opening balance (:60F:), so it is not checked"
                        ),
                    }),
                    (None, Some(_)) => {}
                }
                extra_lines(f, &mut reg.warnings);
            }
            _ => {}
        }
    }
    if let Some(line) = unchecked {
        reg.warnings.push(LineError {
            line,
            message: "entries after the statement's last closing balance are in no balance check".to_string(),
        });
    }
    let uncurrencied = entries.iter().filter(|e| e.payment.currency == Currency::NONE).count();
    if uncurrencied > 0 {
        let line = opening.map_or(start, |(_, _, at)| at);
        reg.warnings.push(LineError {
            line,
            message: format!(
                "the statement that begins on line {start} names no currency in its opening balance: \
                 its {uncurrencied} payment(s) wait for --currency"
            ),
        });
    }
    // Keys, now that every purpose is known: the n-th identical payment (n ≥ 2) adds n.
    let mut occurrences: HashMap<String, usize> = HashMap::new();
    for e in entries {
        let Entry { mut payment, tail, info, supplementary, credit } = e;
        let p = &mut payment;
        let (name, purpose) = details(&info);
        if !name.is_empty() {
            if credit { p.payer.name = name } else { p.payee.name = name }
        }
        if p.direction == Direction::Incoming
            && says_return(tail.get(1..4).unwrap_or(""), &[&info, &purpose, &tail, &supplementary])
        {
            p.direction = Direction::Returned;
        }
        p.purpose = purpose;
        let (day, amount) = (iso_day(p.date), p.amount.plain());
        let own = p.own_account.as_deref().unwrap_or("");
        let parts = [own, p.direction.key_word(), day.as_str(), amount.as_str(), tail.as_str(), info.as_str()];
        let first = key(Format::Mt940, &parts);
        let n = occurrences.entry(first.clone()).or_insert(0);
        *n += 1;
        p.external_key = if *n == 1 {
            first
        } else {
            let nth = n.to_string();
            key(Format::Mt940, &[own, p.direction.key_word(), &day, &amount, &tail, &info, &nth])
        };
        reg.payments.push(payment);
    }
}

pub fn parse(bytes: &[u8]) -> Result<Register, Rejected> {
    let (lines, encoding) = decode_lines_with(bytes, encoding_rs::WINDOWS_1252);
    let fields = fields(&lines);
    let first = fields.first().ok_or(Rejected::UnknownFormat(super::text::first_line(bytes)))?;
    if first.tag != "20" && first.tag != "940" {
        return Err(Rejected::Structure {
            line: first.line,
            message: format!("an MT940 statement starts with :20:, not :{}:", first.tag),
        });
    }
    let starts: Vec<usize> = fields.iter().enumerate().filter(|(_, f)| f.tag == "20").map(|(i, _)| i).collect();
    if starts.is_empty() {
        return Err(Rejected::Structure { line: first.line, message: "no statement begins with :20:".to_string() });
    }
    let bounds: Vec<(usize, usize)> =
        starts.iter().enumerate().map(|(k, &s)| (s, starts.get(k + 1).copied().unwrap_or(fields.len()))).collect();
    // Every statement ends with its closing balance, or the file was cut off.
    for &(s, e) in &bounds {
        let msg = &fields[s..e];
        if !msg.iter().any(|f| matches!(f.tag.as_str(), "62F" | "62M")) {
            let place = fields.get(e).map_or_else(
                || "before the end of the file".to_string(),
                |next| format!("before the next statement (line {})", next.line),
            );
            return Err(Rejected::Structure {
                line: msg.last().map_or(msg[0].line, Field::last_line),
                message: format!(
                    "the statement that begins on line {} (:20:{}) has no closing balance :62F:/:62M: {place}",
                    msg[0].line,
                    crate::text::clip(msg[0].head().1, 40)
                ),
            });
        }
    }
    let mut reg = Register {
        format: Format::Mt940,
        encoding,
        payments: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        checks: Vec::new(),
    };
    // Statements read so far, by their text's fingerprint, and by what names them.
    let mut read: HashMap<u64, Vec<(usize, usize)>> = HashMap::new();
    let mut named: HashMap<[&str; 5], usize> = HashMap::new();
    for (s, e) in bounds {
        let msg = &fields[s..e];
        let (reference, account, number) =
            (crate::text::clip(msg[0].head().1, 40), first_of(msg, &["25"]), first_of(msg, &["28C", "28"]));
        let same = read.entry(fingerprint(msg)).or_default();
        if let Some(&(earlier, _)) = same.iter().find(|&&(a, b)| same_text(&fields[a..b], msg)) {
            reg.warnings.push(LineError {
                line: msg[0].line,
                message: format!(
                    "the statement :20:{reference} of account {account}, number {number}, repeats the one on line {} \
                     word for word: read once",
                    fields[earlier].line
                ),
            });
            continue;
        }
        same.push((s, e));
        // Sparkasse numbers every statement alike: its days differ in their balances.
        let name = [msg[0].head().1, account, number, first_of(msg, &["60F", "60M"]), first_of(msg, &["62F", "62M"])];
        if let Some(earlier) = named.insert(name, msg[0].line) {
            reg.warnings.push(LineError {
                line: msg[0].line,
                message: format!(
                    "the statement :20:{reference} of account {account}, number {number}, has the balances of the one \
                     on line {earlier} but other entries: both are read; check which one is right"
                ),
            });
        }
        statement(msg, &mut reg);
    }
    Ok(reg)
}
