//! SWIFT MT940 statements (see `../shared/FORMATS.md`): SWIFT block headers
//! and SOH/ETX bytes are skipped; fields run over several lines; `:86:` is
//! read in the German `?20…` and the Dutch `/REMI/` styles; intermediate
//! balances (`:60M:`/`:62M:`) are used; impossible dates (30 February) are
//! kept on the month's last day with a warning, never a crash.

use chrono::NaiveDate;

use super::text::decode_lines_with;
use super::{ControlCheck, Direction, Format, LineError, Party, Payment, Register, Rejected, key};
use crate::domain::{Currency, Money};

struct Field {
    line: usize,
    tag: String,
    text: String,
}

fn is_tag(line: &str) -> Option<(String, &str)> {
    let rest = line.strip_prefix(':')?;
    let end = rest.find(':')?;
    let tag = &rest[..end];
    let ok = (2..=4).contains(&tag.len()) && tag.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| (tag.to_string(), &rest[end + 1..]))
}

fn fields(lines: &[String]) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        // SOH/ETX transmission bytes and SWIFT block wrappers are not content.
        let line: String = raw.chars().filter(|c| !matches!(c, '\u{1}' | '\u{3}')).collect();
        let mut line = line.trim_end().to_string();
        while let Some(i) = line.find("{4:") {
            line = line[i + 3..].to_string();
        }
        if line.starts_with('{') || line == "-" || line == "-}" || line.is_empty() {
            continue;
        }
        match is_tag(&line) {
            Some((tag, text)) => out.push(Field { line: i + 1, tag, text: text.to_string() }),
            None => {
                if let Some(last) = out.last_mut() {
                    // :86: wraps mid-word; :61:'s second line is kept apart by a newline.
                    if last.tag != "86" {
                        last.text.push('\n');
                    }
                    last.text.push_str(&line);
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

/// `1234,56` (comma decimal, up to two places; `300,` is 300.00).
fn amount(s: &str) -> Option<Money> {
    let (units, frac) = s.split_once(',').unwrap_or((s, ""));
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

/// `C160229EUR1200,00` → signed amount and currency.
fn balance(s: &str) -> Option<(Money, Currency)> {
    let sign = match s.chars().next()? {
        'C' => 1,
        'D' => -1,
        _ => return None,
    };
    let cur: Currency = s.get(7..10)?.parse().ok()?;
    Some((Money::from_minor(sign * amount(s.get(10..)?.trim())?.minor()), cur))
}

/// What `:86:` says: the counterparty's name and the purpose.
fn details(text: &str) -> (String, String) {
    if text.contains("?20") || text.contains("?32") {
        let mut purpose = String::new();
        let mut name = String::new();
        for part in text.split('?').skip(1) {
            let cut = part.char_indices().nth(2).map_or(part.len(), |(i, _)| i);
            let (code, value) = part.split_at(cut);
            match code {
                "20" | "21" | "22" | "23" | "24" | "25" | "26" | "27" | "28" | "29" | "60" | "61" | "62" | "63" => {
                    purpose.push_str(value)
                }
                "32" | "33" => name.push_str(value),
                _ => {}
            }
        }
        return (name.trim().to_string(), purpose.trim().to_string());
    }
    if text.contains('/') && (text.contains("/REMI/") || text.contains("/NAME/") || text.contains("/CNTP/")) {
        let after = |tag: &str| text.split(tag).nth(1).map(|r| r.to_string());
        let purpose = after("/REMI/").map(|r| {
            let r = r.trim_start_matches("USTD//").trim_start_matches("STRD/");
            r.split("//").next().unwrap_or("").trim_end_matches('/').to_string()
        });
        let name = after("/NAME/")
            .map(|r| r.split('/').next().unwrap_or("").to_string())
            .or_else(|| after("/CNTP/").and_then(|r| r.split('/').nth(2).map(str::to_string)));
        return (name.unwrap_or_default().trim().to_string(), purpose.unwrap_or_default().trim().to_string());
    }
    (String::new(), text.trim().to_string())
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
    let mut reg = Register {
        format: Format::Mt940,
        encoding,
        payments: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        checks: Vec::new(),
    };
    let mut account = String::new();
    let mut reference = String::new();
    let mut currency = Currency::RUB;
    let mut opening: Option<(Money, usize)> = None;
    let mut moved = Money::ZERO;
    for f in &fields {
        let text = f.text.trim();
        match f.tag.as_str() {
            "20" => {
                reference = text.to_string();
                moved = Money::ZERO;
                opening = None;
            }
            "25" => account = text.to_string(),
            "60F" | "60M" => match balance(text) {
                Some((m, cur)) => {
                    currency = cur;
                    opening = Some((m, f.line));
                    moved = Money::ZERO;
                }
                None => reg
                    .errors
                    .push(LineError { line: f.line, message: format!("opening balance {text:?} cannot be read") }),
            },
            "62F" | "62M" => {
                if let (Some((open, at)), Some((close, _))) = (opening, balance(text)) {
                    let found = open + moved;
                    reg.checks.push(ControlCheck {
                        what: format!(
                            "account {account}, statement {reference} (lines {at}–{}): opening + entries = closing",
                            f.line
                        ),
                        expected: close,
                        found,
                        ok: found == close,
                    });
                }
            }
            "61" => match entry(f, &account, &reference, currency, &mut reg.warnings) {
                Ok(p) => {
                    moved += if p.direction == Direction::Outgoing { Money::ZERO - p.amount } else { p.amount };
                    reg.payments.push(p);
                }
                Err(message) => reg.errors.push(LineError { line: f.line, message }),
            },
            "86" => {
                if let Some(p) = reg.payments.last_mut().filter(|p| p.line < f.line && p.purpose.is_empty()) {
                    let (name, purpose) = details(text);
                    if !name.is_empty() {
                        if p.direction == Direction::Outgoing { p.payee.name = name } else { p.payer.name = name }
                    }
                    p.purpose = purpose;
                    p.external_key = key(Format::Mt940, &[&p.external_key, &p.purpose]);
                }
            }
            _ => {}
        }
    }
    Ok(reg)
}

/// `:61:` — value date, optional entry date, C/D/RC/RD, optional funds code, amount, the rest.
fn entry(
    f: &Field,
    account: &str,
    reference: &str,
    currency: Currency,
    warnings: &mut Vec<LineError>,
) -> Result<Payment, String> {
    let first_line = f.text.lines().next().unwrap_or("").trim();
    let value = date(first_line, f.line, warnings)
        .ok_or_else(|| format!(":61: {first_line:?} does not start with a date YYMMDD"))?;
    // The date was six ASCII digits: byte 6 is a boundary.
    let mut rest = first_line.get(6..).unwrap_or("");
    if let Some(entry_date) = rest.get(..4)
        && entry_date.bytes().all(|b| b.is_ascii_digit())
        && !rest[4..].starts_with(|c: char| c.is_ascii_digit())
    {
        rest = &rest[4..];
    }
    let (direction, after) = if let Some(r) = rest.strip_prefix("RC") {
        (Direction::Outgoing, r)
    } else if let Some(r) = rest.strip_prefix("RD") {
        (Direction::Incoming, r)
    } else if let Some(r) = rest.strip_prefix('C') {
        (Direction::Incoming, r)
    } else if let Some(r) = rest.strip_prefix('D') {
        (Direction::Outgoing, r)
    } else {
        return Err(format!(":61: {first_line:?}: no C or D mark"));
    };
    let after = match after.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => &after[1..],
        _ => after,
    };
    let digits: String = after.chars().take_while(|c| c.is_ascii_digit() || *c == ',').collect();
    let amt = amount(&digits).ok_or_else(|| format!(":61: amount {digits:?} cannot be read"))?;
    let tail = after[digits.len()..].to_string();
    let own = Party { account: Some(account.to_string()), ..Party::default() };
    let (payer, payee) =
        if direction == Direction::Outgoing { (own, Party::default()) } else { (Party::default(), own) };
    let number = tail.get(4..).unwrap_or("").split("//").next().unwrap_or("").to_string();
    let external_key =
        key(Format::Mt940, &[account, direction.key_word(), &value.to_string(), &amt.plain(), &tail, reference]);
    Ok(Payment {
        line: f.line,
        direction,
        date: value,
        booked: Some(value),
        number,
        amount: amt,
        currency,
        payer,
        payee,
        purpose: String::new(),
        own_account: Some(account.to_string()),
        external_key,
        subscription: None,
        refund_of: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_german_details_and_keeps_february_30() {
        let text = ":20:STARTUMSE\r\n:25:12345678/1020304050\r\n:28C:00000/001\r\n:60F:C160229EUR1200,00\r\n\
                    :61:1602300301DR6,00N024NONREF\r\n:86:805?00ENTGELT?20Pauschalen?32Bank AG\r\n:62F:C160301EUR1194,00\r\n-\r\n";
        let r = parse(text.as_bytes()).unwrap();
        assert_eq!(r.payments.len(), 1);
        let p = &r.payments[0];
        assert_eq!(
            (p.direction, p.amount, p.date),
            (Direction::Outgoing, Money::from_minor(600), NaiveDate::from_ymd_opt(2016, 2, 29).unwrap())
        );
        assert_eq!((p.payee.name.as_str(), p.purpose.as_str()), ("Bank AG", "Pauschalen"));
        assert!(r.warnings[0].message.contains("30.02.2016 does not exist"));
        assert!(r.checks[0].ok, "{:?}", r.checks);
    }

    #[test]
    fn amounts_and_wrong_headers() {
        assert_eq!(amount("300,"), Some(Money::from_minor(30000)));
        assert_eq!(amount("1,5"), Some(Money::from_minor(150)));
        assert_eq!(amount("1,555"), None);
        assert!(matches!(parse(b":9401:\n:20:X\n"), Err(Rejected::Structure { line: 1, .. })));
    }

    /// Found by the fuzzer: a `?` code cut inside a multi-byte letter, and a date with a letter in it.
    #[test]
    fn letters_where_digits_belong_do_not_panic() {
        let text = ":20:X\r\n:25:DE1\r\n:60F:C200606EUR0,00\r\n:61:2006080608D12,35NTRFNONREF\r\n:86:109?2ÿx?3ÿ\r\n:61:20é608D1,00NTRF\r\n:61:2006é8D1,00NTRF\r\n:62F:C200608EUR0,00\r\n";
        let r = parse(text.as_bytes()).unwrap();
        assert_eq!((r.payments.len(), r.errors.len()), (1, 2), "{:?}", r.errors);
    }
}
