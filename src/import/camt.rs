//! ISO 20022 bank-to-customer messages (see `../shared/FORMATS.md`):
//! camt.053 statements, camt.052 intraday reports and camt.054 notifications,
//! any `camt.05x.001.NN` version. Elements are matched by local name, so the
//! namespace version does not matter. A batched entry with several amounted
//! transaction details is split into one payment each; a batch with only an
//! aggregate is kept as one line and flagged. Balances (opening + entries =
//! closing) and `TxsSummry` sums and counts are checked in the statement's own
//! currency; an entry in another currency is reported, never added in.
//!
//! A reversal (`RvslInd`) or a return (`RtrInf`, a return sub-family code, a bank's note
//! saying so) is [`Direction::Returned`], never a donation. An amount that names no
//! currency, in an account that names none either, is [`Currency::NONE`].
//! Reading is linear in the file: a node's line is looked up in a table of line starts
//! made once, and whatever a statement's entries share is found once per statement.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use roxmltree::{Document, Node};
use rust_decimal::{Decimal, RoundingStrategy};

use super::{ControlCheck, Direction, Format, LineError, Party, Payment, Register, Rejected, key};
use crate::domain::{Currency, Money};

type El<'a, 'i> = Node<'a, 'i>;

#[cfg(test)]
thread_local! {
    /// Work done reading (nodes looked at, bytes scanned, line look-ups): tests show it grows
    /// with the file, not with its square.
    static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[inline]
fn work(n: usize) {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get().saturating_add(n as u64)));
    #[cfg(not(test))]
    let _ = n;
}

fn child<'a, 'i>(node: El<'a, 'i>, name: &str) -> Option<El<'a, 'i>> {
    node.children().find(|c| {
        work(1);
        c.is_element() && c.tag_name().name() == name
    })
}

fn children<'a, 'i>(node: El<'a, 'i>, name: &'static str) -> impl Iterator<Item = El<'a, 'i>> {
    node.children().filter(move |c| {
        work(1);
        c.is_element() && c.tag_name().name() == name
    })
}

/// The element at `path` under `node` (first match at each step).
fn at<'a, 'i>(node: El<'a, 'i>, path: &str) -> Option<El<'a, 'i>> {
    path.split('/').try_fold(node, child)
}

fn text(node: El, path: &str) -> Option<String> {
    at(node, path).and_then(|n| n.text()).map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

fn first_text(node: El, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| text(node, p))
}

/// The calendar date of an ISO date or date-time.
fn day(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim().get(..10)?, "%Y-%m-%d").ok()
}

/// A decimal amount with `.`; more than two places are rounded to the kopeck (and said so).
fn amount(raw: &str) -> Result<(Money, bool), String> {
    let dec: Decimal = raw.trim().parse().map_err(|_| format!("amount {raw:?} is not a number"))?;
    if dec.is_sign_negative() {
        return Err(format!("amount {raw:?} is negative; camt gives the sign in CdtDbtInd"));
    }
    let rounded = dec.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    let money = Money::from_decimal(rounded)
        .filter(|m| *m <= Money::MAX)
        .ok_or_else(|| format!("amount {raw:?} is out of range (more than {})", Money::MAX.plain()))?;
    Ok((money, rounded != dec))
}

/// Kopecks summed wide, back to money (sums of many entries cannot overflow on the way).
fn money(minor: i128) -> Money {
    Money::from_minor(minor.clamp(i64::MIN.into(), i64::MAX.into()) as i64)
}

/// Bank transaction sub-families that are returns or reversals (ISO external code list):
/// reversal due to a payment return, to a cancellation request, to an unpaid direct debit;
/// ACH return and reversal.
const RETURN_SUBFAMILIES: [&str; 5] = ["RRTN", "RPCR", "UPDD", "ARET", "AREV"];

/// Whether a bank's note (`AddtlNtryInf`, `AddtlTxInf`) says the payment is a return,
/// a reversal or a reject ("ACH credit reject"); "без возврата" (no return) is not one.
fn says_return(note: &str) -> bool {
    let lower = note.to_lowercase();
    let mut before = "";
    for word in lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let negated = matches!(before, "без" | "не" | "no" | "not" | "non" | "without");
        let returned = matches!(
            word,
            "return"
                | "returned"
                | "reversal"
                | "reversed"
                | "reject"
                | "rejected"
                | "rejection"
                | "storno"
                | "storniert"
                | "chargeback"
                | "retour"
                | "rückbuchung"
                | "rücklastschrift"
                | "rücküberweisung"
        ) || word.starts_with("возврат")
            || word.starts_with("возвращ");
        if returned && !negated {
            return true;
        }
        before = word;
    }
    false
}

/// The sub-family code under `node` is a return's or a reversal's.
fn returned_by_code(node: El) -> bool {
    text(node, "BkTxCd/Domn/Fmly/SubFmlyCd").is_some_and(|c| RETURN_SUBFAMILIES.contains(&c.as_str()))
}

/// The entry as a whole is a reversal or a return.
fn entry_returned(ntry: El) -> bool {
    text(ntry, "RvslInd").is_some_and(|r| r.eq_ignore_ascii_case("true") || r == "1")
        || child(ntry, "RtrInf").is_some()
        || text(ntry, "AddtlNtryInf").is_some_and(|t| says_return(&t))
        || returned_by_code(ntry)
}

/// One transaction of an entry carries return information.
fn tx_returned(tx: El) -> bool {
    child(tx, "RtrInf").is_some() || text(tx, "AddtlTxInf").is_some_and(|t| says_return(&t)) || returned_by_code(tx)
}

/// Where each line of the document starts, found once: a node's line is then a binary search
/// (counting the newlines before every node made reading quadratic in the file's length).
struct Lines(Vec<usize>);

impl Lines {
    fn new(source: &str) -> Lines {
        work(source.len());
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', source.as_bytes()).map(|i| i + 1));
        Lines(starts)
    }

    /// The line (from 1) of byte `pos`: a binary search, counted as one step of work.
    fn of(&self, pos: usize) -> usize {
        work(1);
        self.0.partition_point(|&start| start <= pos)
    }
}

/// Where an element of a damaged document is left open: its line and what is wrong.
/// Called only once the XML parser has refused the document, to name the element at fault.
fn unclosed(source: &str, lines: &Lines) -> Option<(usize, String)> {
    let b = source.as_bytes();
    let after = |from: usize, end: &[u8]| memchr::memmem::find(b.get(from..)?, end).map(|k| from + k + end.len());
    let name_at = |from: usize| {
        let rest = source.get(from..).unwrap_or("");
        let len = rest.find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>').unwrap_or(rest.len());
        &rest[..len]
    };
    let mut open: Vec<(usize, &str)> = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let s = i + off;
        let rest = &b[s..];
        let (skip, what): (&[u8], &[u8]) = if rest.starts_with(b"<!--") {
            (b"-->", b"comment")
        } else if rest.starts_with(b"<![CDATA[") {
            (b"]]>", b"CDATA section")
        } else if rest.starts_with(b"<?") {
            (b"?>", b"processing instruction")
        } else if rest.starts_with(b"<!") {
            (b">", b"declaration")
        } else {
            (b"", b"")
        };
        if !skip.is_empty() {
            match after(s + 2, skip) {
                Some(next) => i = next,
                None => {
                    let what = String::from_utf8_lossy(what);
                    return Some((lines.of(s), format!("the {what} that starts here never ends")));
                }
            }
            continue;
        }
        if rest.starts_with(b"</") {
            let name = name_at(s + 2);
            let Some(end) = memchr::memchr(b'>', &b[s..]) else {
                return Some((lines.of(s), format!("the closing tag </{name}> is cut off")));
            };
            i = s + end + 1;
            match open.iter().rposition(|(_, n)| *n == name) {
                Some(k) if k + 1 == open.len() => {
                    open.pop();
                }
                Some(_) => {
                    let (at, inner) = open.last().copied().unwrap_or((s, name));
                    return Some((
                        lines.of(at),
                        format!("element <{inner}> is not closed before </{name}> on line {}", lines.of(s)),
                    ));
                }
                None => {
                    let inside = open.last().map_or(String::new(), |(_, n)| format!(" inside <{n}>"));
                    return Some((lines.of(s), format!("closing tag </{name}>{inside} closes no open element")));
                }
            }
            continue;
        }
        let name = name_at(s + 1);
        // The tag runs to the first `>` outside quotes (an attribute's value may hold one).
        let mut quote = None;
        let mut end = None;
        for (j, c) in b.iter().enumerate().skip(s + 1) {
            match (quote, *c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'') => quote = Some(*c),
                (None, b'>') => {
                    end = Some(j);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            return Some((lines.of(s), format!("the tag <{name}> is cut off")));
        };
        i = end + 1;
        if b[end - 1] != b'/' {
            open.push((s, name));
        }
    }
    let (at, name) = open.last()?;
    Some((
        lines.of(*at),
        format!("element <{name}> is never closed (the file ends on line {})", lines.of(source.len())),
    ))
}

/// Why the XML parser refused the document, on the line of the element at fault.
fn damaged(source: &str, lines: &Lines, e: &roxmltree::Error) -> Rejected {
    use roxmltree::Error as X;
    if matches!(e, X::UnclosedRootNode | X::UnexpectedEndOfStream | X::UnexpectedCloseTag(..))
        && let Some((line, message)) = unclosed(source, lines)
    {
        return Rejected::Structure { line, message: format!("the XML is damaged: {message}") };
    }
    Rejected::Structure { line: e.pos().row as usize, message: format!("the XML is damaged: {e}") }
}

/// A problem with one entry, on the line of the element at fault.
struct Bad {
    line: usize,
    message: String,
}

impl From<Bad> for LineError {
    fn from(b: Bad) -> LineError {
        LineError { line: b.line, message: b.message }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    Credit,
    Debit,
}

/// What an entry books: enough for the control totals even when its payments cannot be made.
struct Booking {
    amount: Money,
    currency: Currency,
    /// `None` without `CdtDbtInd`.
    sign: Option<Sign>,
    status: String,
    /// The `<Amt>`'s line.
    line: usize,
}

/// A balance, signed, in kopecks.
struct Balance {
    amount: i128,
    currency: Currency,
}

/// Credits and debits, in kopecks.
#[derive(Default)]
struct Totals {
    credit: i128,
    debit: i128,
}

impl Totals {
    fn add(&mut self, sign: Sign, m: Money) {
        match sign {
            Sign::Credit => self.credit += i128::from(m.minor()),
            Sign::Debit => self.debit += i128::from(m.minor()),
        }
    }
}

/// What a statement's entries share, found once per statement.
struct Context {
    account: String,
    /// `Acct/Ccy`: the currency of amounts that name none.
    account_currency: Option<Currency>,
    /// The statement's own date, for entries that carry none (seen in the Lithuanian files).
    fallback: Option<NaiveDate>,
    /// Payments without bank references, by content: how many so far in this statement
    /// (the same content twice is two payments).
    repeats: HashMap<String, usize>,
    /// Keys made from bank references in this statement, to say when one comes twice.
    referenced: HashSet<String>,
}

struct Reader {
    lines: Lines,
    reg: Register,
    /// `GrpHdr/CreDtTm`: the message's date, the last resort for entries without one.
    header_date: Option<String>,
}

impl Reader {
    fn line(&self, node: El) -> usize {
        self.lines.of(node.range().start)
    }

    fn bad(&self, node: El, message: String) -> Bad {
        Bad { line: self.line(node), message }
    }

    fn warn(&mut self, node: El, message: String) {
        let line = self.line(node);
        self.reg.warnings.push(LineError { line, message });
    }

    /// An amount's currency: its `Ccy`, else the account's, else none ([`Currency::NONE`]).
    fn currency(&self, amt: El, account: Option<Currency>) -> Result<Currency, Bad> {
        match amt.attribute("Ccy") {
            Some(c) => c.parse().map_err(|_| self.bad(amt, format!("currency {c:?} is not known"))),
            None => Ok(account.unwrap_or(Currency::NONE)),
        }
    }

    /// The first balance of one of `codes` (OPBD, CLBD…), signed; one that does not read is
    /// said so and not checked.
    fn balance(&mut self, stmt: El, codes: &[&str], account: Option<Currency>) -> Option<Balance> {
        let (bal, code) = children(stmt, "Bal").find_map(|bal| {
            let code = first_text(bal, &["Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry"])?;
            codes.contains(&code.as_str()).then_some((bal, code))
        })?;
        let Some(amt) = child(bal, "Amt") else {
            self.warn(bal, format!("balance {code} has no amount (Amt): it is not checked"));
            return None;
        };
        let read = amount(amt.text().unwrap_or("")).map_err(|m| self.bad(amt, m));
        match read.and_then(|(m, _)| Ok((m, self.currency(amt, account)?))) {
            Ok((m, currency)) => {
                let minor = i128::from(m.minor());
                let debit = text(bal, "CdtDbtInd").as_deref() == Some("DBIT");
                Some(Balance { amount: if debit { -minor } else { minor }, currency })
            }
            Err(bad) => {
                let message = format!("balance {code}: {}; it is not checked", bad.message);
                self.reg.warnings.push(LineError { line: bad.line, message });
                None
            }
        }
    }

    /// The statement's own date: its period's end, its creation, its last balance's, the message's.
    fn statement_date(&self, stmt: El) -> Option<NaiveDate> {
        let closing = children(stmt, "Bal").last().and_then(|b| first_text(b, &["Dt/Dt", "Dt/DtTm"]));
        let raw = first_text(stmt, &["FrToDt/ToDtTm", "CreDtTm"]).or(closing).or_else(|| self.header_date.clone())?;
        day(&raw)
    }

    fn statement(&mut self, stmt: El) {
        let account = first_text(stmt, &["Acct/Id/IBAN", "Acct/Id/Othr/Id"]).unwrap_or_default();
        let stmt_id = text(stmt, "Id").unwrap_or_default();
        let account_currency = at(stmt, "Acct/Ccy").and_then(|el| {
            let raw = el.text().unwrap_or("").trim();
            let parsed = raw.parse::<Currency>().ok();
            if parsed.is_none() {
                self.warn(el, format!("the account's currency {raw:?} is not known; its amounts must name theirs"));
            }
            parsed
        });
        let opening = self.balance(stmt, &["OPBD", "PRCD", "OPAV"], account_currency);
        let closing = self.balance(stmt, &["CLBD"], account_currency);
        // The currency the sums are in: the account's, else its balances', else its first entry's.
        // An amount that names none ([`Currency::NONE`]) is summed with any: it is not another currency.
        let named_one = |c: Currency| (c != Currency::NONE).then_some(c);
        let mut currency = account_currency
            .or(opening.as_ref().and_then(|b| named_one(b.currency)))
            .or(closing.as_ref().and_then(|b| named_one(b.currency)));
        let fits = |currency: Option<Currency>, c: Currency| c == Currency::NONE || currency.is_none_or(|s| s == c);
        let mut ctx = Context {
            fallback: self.statement_date(stmt),
            account,
            account_currency,
            repeats: HashMap::new(),
            referenced: HashSet::new(),
        };
        // Booked entries (for the balances) and all entries (for TxsSummry), in the statement's currency.
        let (mut booked, mut all) = (Totals::default(), Totals::default());
        let (mut entries, mut credit_entries, mut debit_entries, mut unsigned) = (0u64, 0u64, 0u64, 0u64);
        let mut foreign: Vec<(usize, Currency, Money)> = Vec::new();
        for ntry in children(stmt, "Ntry") {
            entries += 1;
            match at(ntry, "CdtDbtInd").and_then(|e| e.text()).map(str::trim) {
                Some("CRDT") => credit_entries += 1,
                Some("DBIT") => debit_entries += 1,
                _ => {}
            }
            let b = match self.booking(ntry, &ctx) {
                Ok(b) => b,
                Err(bad) => {
                    self.reg.errors.push(bad.into());
                    continue;
                }
            };
            if currency.is_none() {
                currency = named_one(b.currency);
            }
            if !fits(currency, b.currency) {
                foreign.push((b.line, b.currency, b.amount));
            } else if let Some(sign) = b.sign {
                all.add(sign, b.amount);
                if b.status == "BOOK" {
                    booked.add(sign, b.amount);
                }
            } else if b.status == "BOOK" {
                unsigned += 1;
            }
            if b.status != "BOOK" {
                self.warn(ntry, format!("entry status {}: not booked yet, not imported", b.status));
                continue;
            }
            match self.payments(ntry, &b, &mut ctx) {
                Ok(payments) => self.reg.payments.extend(payments),
                Err(bad) => self.reg.errors.push(bad.into()),
            }
        }
        let account = ctx.account;
        let line = self.line(stmt);
        let what = |s: &str| format!("account {account}, statement {stmt_id} (line {line}): {s}");
        let named = |c: Option<Currency>| c.map_or("no currency".to_string(), |c| c.as_str().to_string());
        let mut checks = Vec::new();
        if let (Some(open), Some(close)) = (&opening, &closing) {
            let expected = money(close.amount);
            let found = money(open.amount + booked.credit - booked.debit);
            if !fits(currency, open.currency) || !fits(currency, close.currency) {
                let s = format!(
                    "opening + entries = closing: the opening balance is in {}, the closing balance in {}, the entries in {}",
                    open.currency,
                    close.currency,
                    named(currency)
                );
                checks.push(ControlCheck { what: what(&s), expected, found, ok: false });
            } else {
                let mut s = "opening + entries = closing".to_string();
                if unsigned > 0 {
                    s += &format!(" ({unsigned} booked entries without CdtDbtInd left out)");
                }
                checks.push(ControlCheck { what: what(&s), expected, found, ok: found == expected && unsigned == 0 });
            }
        }
        if !foreign.is_empty() {
            let mut list: Vec<String> =
                foreign.iter().take(5).map(|(l, c, m)| format!("line {l} ({c} {})", m.plain())).collect();
            if foreign.len() > 5 {
                list.push(format!("and {} more", foreign.len() - 5));
            }
            let s = format!(
                "entries in another currency than the statement's {}, left out of its sums: {}",
                named(currency),
                list.join(", ")
            );
            let found = money(foreign.iter().map(|(_, _, m)| i128::from(m.minor())).sum());
            checks.push(ControlCheck { what: what(&s), expected: Money::ZERO, found, ok: false });
        }
        if let Some(summary) = child(stmt, "TxsSummry") {
            let net = all.credit - all.debit;
            for (path, found, label) in [
                ("TtlCdtNtries/Sum", all.credit, "credit entries (TxsSummry)"),
                ("TtlDbtNtries/Sum", all.debit, "debit entries (TxsSummry)"),
                ("TtlNtries/Sum", all.credit + all.debit, "credit and debit entries added (TxsSummry)"),
                ("TtlNtries/TtlNetNtry/Amt", net, "credit less debit entries (TxsSummry net)"),
                ("TtlNtries/TtlNetNtryAmt", net, "credit less debit entries (TxsSummry net)"),
            ] {
                let Some(el) = at(summary, path) else { continue };
                let expected = match amount(el.text().unwrap_or("")) {
                    Ok((m, _)) => i128::from(m.minor()),
                    Err(m) => {
                        self.warn(el, format!("TxsSummry {path}: {m}; it is not checked"));
                        continue;
                    }
                };
                // The net's sign: `TtlNetNtry/CdtDbtInd` (camt.05x.001.03 on), `TtlNtries/CdtDbtInd` before.
                let debit = el.parent().and_then(|p| text(p, "CdtDbtInd")).as_deref() == Some("DBIT");
                let expected = if path.contains("Net") && debit { -expected } else { expected };
                let (expected, found) = (money(expected), money(found));
                checks.push(ControlCheck { what: what(label), expected, found, ok: expected == found });
            }
            for (path, found, label) in [
                ("TtlNtries/NbOfNtries", entries, "number of entries"),
                ("TtlCdtNtries/NbOfNtries", credit_entries, "number of credit entries"),
                ("TtlDbtNtries/NbOfNtries", debit_entries, "number of debit entries"),
            ] {
                let Some(el) = at(summary, path) else { continue };
                let raw = el.text().unwrap_or("").trim();
                let Ok(expected) = raw.parse::<u64>() else {
                    self.warn(el, format!("TxsSummry {path} {raw:?} is not a number; it is not checked"));
                    continue;
                };
                // A count, written as money so it sits with the other control totals.
                let count = |n: u64| money(i128::from(n) * 100);
                checks.push(ControlCheck {
                    what: what(&format!("{label} (TxsSummry, a count)")),
                    expected: count(expected),
                    found: count(found),
                    ok: expected == found,
                });
            }
        }
        self.reg.checks.extend(checks);
        if entries == 0 {
            self.warn(stmt, format!("statement {stmt_id} of account {account} has no entries"));
        }
    }

    /// The entry's amount, currency, sign and status; an error names the element at fault.
    fn booking(&mut self, ntry: El, ctx: &Context) -> Result<Booking, Bad> {
        let amt = child(ntry, "Amt").ok_or_else(|| self.bad(ntry, "entry has no amount (Amt)".into()))?;
        let raw = amt.text().unwrap_or("");
        let (amount, rounded) = amount(raw).map_err(|m| self.bad(amt, m))?;
        let currency = self.currency(amt, ctx.account_currency)?;
        let sign = match child(ntry, "CdtDbtInd") {
            None => None,
            Some(el) => match el.text().unwrap_or("").trim() {
                "CRDT" => Some(Sign::Credit),
                "DBIT" => Some(Sign::Debit),
                other => return Err(self.bad(el, format!("CdtDbtInd {other:?} is neither CRDT nor DBIT"))),
            },
        };
        let status = first_text(ntry, &["Sts/Cd", "Sts"]).unwrap_or_else(|| "BOOK".into());
        if rounded {
            self.warn(amt, format!("amount {} has more than two decimals; rounded to the kopeck", raw.trim()));
        }
        Ok(Booking { amount, currency, sign, status, line: self.line(amt) })
    }

    /// The date in `Dt` or `DtTm` under the entry's `name` (BookgDt, ValDt); `None` without one.
    fn date_of(&self, ntry: El, name: &str) -> Result<Option<NaiveDate>, Bad> {
        let Some(el) = child(ntry, name) else { return Ok(None) };
        let Some(inner) = child(el, "Dt").or_else(|| child(el, "DtTm")) else {
            return Err(self.bad(el, format!("{name} holds no date (Dt or DtTm)")));
        };
        let raw = inner.text().unwrap_or("").trim();
        match day(raw) {
            Some(d) => Ok(Some(d)),
            None => Err(self.bad(inner, format!("{name} {raw:?} is not a date (YYYY-MM-DD)"))),
        }
    }

    /// A transaction's own amount in the entry's currency, if it gives one.
    fn tx_amount(&self, tx: El, currency: Currency) -> Result<Option<Money>, Bad> {
        for path in ["Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt"] {
            let Some(el) = at(tx, path) else { continue };
            let raw = el.text().unwrap_or("").trim();
            let same = el.attribute("Ccy").is_none_or(|c| c.parse::<Currency>().ok() == Some(currency));
            if raw.is_empty() || !same {
                continue;
            }
            return amount(raw).map(|(m, _)| Some(m)).map_err(|m| self.bad(el, m));
        }
        Ok(None)
    }

    fn payments(&mut self, ntry: El, b: &Booking, ctx: &mut Context) -> Result<Vec<Payment>, Bad> {
        let booked = self.date_of(ntry, "BookgDt")?;
        let value = self.date_of(ntry, "ValDt")?;
        let date = match value.or(booked) {
            Some(d) => d,
            None => {
                let d = ctx.fallback.ok_or_else(|| {
                    self.bad(ntry, "entry has no booking or value date, nor has its statement".into())
                })?;
                self.warn(ntry, format!("entry has no booking or value date; the statement's date {d} is used"));
                d
            }
        };
        let entry_ref = text(ntry, "AcctSvcrRef");
        let ntry_ref = text(ntry, "NtryRef");
        let details: Vec<El> = children(ntry, "NtryDtls").flat_map(|d| children(d, "TxDtls")).collect();
        let mut amounted: Vec<(El, Money)> = Vec::with_capacity(details.len());
        for tx in &details {
            if let Some(m) = self.tx_amount(*tx, b.currency)? {
                amounted.push((*tx, m));
            }
        }
        let batch_size = children(ntry, "NtryDtls")
            .find_map(|d| text(d, "Btch/NbOfTxs"))
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        let returned = entry_returned(ntry);
        let base = Payment {
            line: self.line(ntry),
            direction: match b.sign {
                Some(Sign::Credit) => Direction::Incoming,
                Some(Sign::Debit) => Direction::Outgoing,
                None => Direction::Unknown,
            },
            date,
            booked,
            number: entry_ref.clone().or_else(|| ntry_ref.clone()).unwrap_or_default(),
            amount: b.amount,
            currency: b.currency,
            payer: Party::default(),
            payee: Party::default(),
            purpose: text(ntry, "AddtlNtryInf").unwrap_or_default(),
            own_account: Some(ctx.account.clone()).filter(|a| !a.is_empty()),
            external_key: String::new(),
            subscription: None,
            refund_of: None,
            fee: Money::ZERO,
        };
        let refs = (entry_ref.as_deref(), ntry_ref.as_deref());
        let split = amounted.len() > 1 && amounted.len() == details.len() && amounted.iter().all(|(_, m)| !m.is_zero());
        if split {
            let sum: i128 = amounted.iter().map(|(_, m)| i128::from(m.minor())).sum();
            if money(sum) != b.amount {
                return Err(self.bad(
                    ntry,
                    format!(
                        "batched entry of {} holds transaction details adding up to {}",
                        b.amount.plain(),
                        money(sum).plain()
                    ),
                ));
            }
            let mut out = Vec::with_capacity(amounted.len());
            for (i, (tx, m)) in amounted.iter().enumerate() {
                let mut p = details_of(base.clone(), Some(*tx));
                p.line = self.line(*tx);
                p.amount = *m;
                if returned || tx_returned(*tx) {
                    p.direction = Direction::Returned;
                }
                p.external_key = self.identity(&p, Some(*tx), refs, ctx, i);
                out.push(p);
            }
            return Ok(out);
        }
        if batch_size > 1 {
            self.warn(ntry, format!("batch of {batch_size} transactions, details missing: kept as one line"));
        }
        let mut p = details_of(base, details.first().copied());
        if returned || details.iter().any(|tx| tx_returned(*tx)) {
            p.direction = Direction::Returned;
        }
        p.external_key = self.identity(&p, details.first().copied(), refs, ctx, 0);
        Ok(vec![p])
    }

    /// The bank's own reference when it gives one (`AcctSvcrRef`, a transaction's `AcctSvcrRef`,
    /// `TxId` or `UETR`; else `NtryRef` or `EndToEndId` with the payment's content); otherwise the
    /// payment's content, and its occurrence in the statement from the second on.
    fn identity(
        &mut self,
        p: &Payment,
        tx: Option<El>,
        (entry_ref, ntry_ref): (Option<&str>, Option<&str>),
        ctx: &mut Context,
        sub: usize,
    ) -> String {
        let account = ctx.account.as_str();
        let tx_ref = tx.and_then(|t| first_text(t, &["Refs/AcctSvcrRef", "Refs/TxId", "Refs/UETR"]));
        let made = match (entry_ref, tx_ref) {
            (Some(e), Some(t)) => key(Format::Camt, &[account, e, &t, &sub.to_string()]),
            (Some(e), None) => key(Format::Camt, &[account, e, &sub.to_string()]),
            (None, Some(t)) => key(Format::Camt, &[account, &t, &sub.to_string()]),
            (None, None) => {
                let date = p.date.to_string();
                let amount = p.amount.plain();
                let party = p.counterparty().account.clone().unwrap_or_default();
                let content: [&str; 7] =
                    [account, &date, &amount, p.direction.key_word(), &party, &p.counterparty().name, &p.purpose];
                let end_to_end =
                    tx.and_then(|t| text(t, "Refs/EndToEndId")).filter(|r| !r.eq_ignore_ascii_case("NOTPROVIDED"));
                if ntry_ref.is_some() || end_to_end.is_some() {
                    // A reference the payer or the bank gave, with the content: the same
                    // reference on another day, or on the return of the payment, is another payment.
                    let refs = ["NtryRef", ntry_ref.unwrap_or(""), "EndToEndId", end_to_end.as_deref().unwrap_or("")];
                    let sub = sub.to_string();
                    let parts: Vec<&str> = content.iter().copied().chain(refs).chain([sub.as_str()]).collect();
                    key(Format::Camt, &parts)
                } else {
                    // By content, not by place: the same payment in an intraday report and in the
                    // day's statement has the same key; a second equal payment in one statement
                    // gets its own, the same each time the statement is read.
                    let base = key(Format::Camt, &content);
                    let n = ctx.repeats.entry(base.clone()).or_default();
                    *n += 1;
                    return if *n == 1 { base } else { key(Format::Camt, &[&base, &n.to_string()]) };
                }
            }
        };
        if !ctx.referenced.insert(made.clone()) {
            self.reg.warnings.push(LineError {
                line: p.line,
                message: "the bank's reference of this payment comes twice in the statement; taken as one payment"
                    .into(),
            });
        }
        made
    }
}

/// Counterparty and remittance text from a transaction's details.
fn details_of(mut p: Payment, tx: Option<El>) -> Payment {
    let Some(tx) = tx else { return p };
    let party = |role: &str| Party {
        name: first_text(tx, &[&format!("RltdPties/{role}/Nm"), &format!("RltdPties/{role}/Pty/Nm")])
            .or_else(|| text(tx, &format!("RltdPties/Ultmt{role}/Nm")))
            .unwrap_or_default(),
        inn: None,
        account: first_text(
            tx,
            &[&format!("RltdPties/{role}Acct/Id/IBAN"), &format!("RltdPties/{role}Acct/Id/Othr/Id")],
        ),
        ..Party::default()
    };
    p.payer = party("Dbtr");
    p.payee = party("Cdtr");
    let unstructured: Vec<String> = at(tx, "RmtInf")
        .map(|r| children(r, "Ustrd").filter_map(|u| u.text()).map(|t| t.trim().to_string()).collect())
        .unwrap_or_default();
    let purpose = if unstructured.is_empty() {
        first_text(tx, &["RmtInf/Strd/CdtrRefInf/Ref", "AddtlTxInf"])
    } else {
        Some(unstructured.join(" "))
    };
    if let Some(purpose) = purpose {
        p.purpose = purpose;
    }
    p
}

pub fn parse(bytes: &[u8]) -> Result<Register, Rejected> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let source = std::str::from_utf8(bytes).map_err(|_| Rejected::EncodingDamaged)?;
    let lines = Lines::new(source);
    let doc = Document::parse(source).map_err(|e| damaged(source, &lines, &e))?;
    let root = doc.root_element();
    let message = root.children().find(|c| c.is_element());
    let containers: Vec<El> = message
        .map(|m| {
            m.children()
                .filter(|c| c.is_element() && matches!(c.tag_name().name(), "Stmt" | "Rpt" | "Ntfctn"))
                .collect()
        })
        .unwrap_or_default();
    if root.tag_name().name() != "Document" || containers.is_empty() {
        return Err(Rejected::Structure {
            line: lines.of(message.unwrap_or(root).range().start),
            message: "the camt document holds no statement, report or notification (Stmt, Rpt or Ntfctn)".into(),
        });
    }
    // An entry outside any statement would be left out unseen: refused whole.
    let stray = root.children().chain(message.into_iter().flat_map(|m| m.children()));
    if let Some(ntry) = stray.filter(|c| c.is_element()).find(|c| c.tag_name().name() == "Ntry") {
        return Err(Rejected::Structure {
            line: lines.of(ntry.range().start),
            message: "an entry (Ntry) outside any statement, report or notification".into(),
        });
    }
    // Every statement names its account, or whose money it is cannot be said: refused whole.
    for c in &containers {
        let tag = c.tag_name().name();
        let what = match tag {
            "Stmt" => "statement",
            "Rpt" => "report",
            _ => "notification",
        };
        let Some(acct) = child(*c, "Acct") else {
            return Err(Rejected::Structure {
                line: lines.of(c.range().start),
                message: format!("the {what} ({tag}) names no account (Acct)"),
            });
        };
        if first_text(acct, &["Id/IBAN", "Id/Othr/Id"]).is_none() {
            return Err(Rejected::Structure {
                line: lines.of(acct.range().start),
                message: format!("the account (Acct) of the {what} has no IBAN nor other identification (Id/Othr/Id)"),
            });
        }
    }
    let mut reader = Reader {
        lines,
        header_date: message.and_then(|m| text(m, "GrpHdr/CreDtTm")),
        reg: Register {
            format: Format::Camt,
            encoding: if bytes.is_ascii() { "ascii" } else { "utf-8" },
            payments: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            checks: Vec::new(),
        },
    };
    if let Some(m) = message
        && let Some(page) = text(m, "GrpHdr/MsgPgntn/PgNb").filter(|p| p != "1")
    {
        reader.warn(m, format!("this is page {page} of a longer message; the other pages are other files"));
    }
    for c in containers {
        reader.statement(c);
    }
    Ok(reader.reg)
}

#[cfg(test)]
mod tests {
    use super::{WORK, amount, parse};
    use crate::domain::{Currency, Money};
    use crate::import::{Direction, Rejected};

    fn statement(closing: &str, second: &str) -> String {
        format!(
            r#"<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Id>S1</Id><Acct><Id><IBAN>RU01</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="RUB">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="RUB">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
<TxsSummry><TtlCdtNtries><Sum>50</Sum></TtlCdtNtries></TxsSummry>
<Ntry><Amt Ccy="RUB">50.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><DtTm>2026-03-02T10:00:00</DtTm></BookgDt>
<NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>
<TxDtls><Amt Ccy="RUB">20.00</Amt><RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties><RmtInf><Ustrd>на лечение</Ustrd><Ustrd>заявка 7</Ustrd></RmtInf></TxDtls>
<TxDtls><Amt Ccy="RUB">{second}</Amt><RltdPties><Dbtr><Pty><Nm>Борис</Nm></Pty></Dbtr></RltdPties></TxDtls>
</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"#
        )
    }

    /// A statement of account `RU01` holding `body` (entries, balances, a summary).
    fn doc(body: &str) -> String {
        format!(
            "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt><Stmt><Id>S</Id>\
             <Acct><Id><IBAN>RU01</IBAN></Id></Acct>{body}</Stmt></BkToCstmrStmt></Document>"
        )
    }

    fn balance(code: &str, amount: &str) -> String {
        format!(
            "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{amount}</Amt>\
             <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-02</Dt></Dt></Bal>"
        )
    }

    #[test]
    fn a_batched_entry_splits_into_its_transactions_and_balances_check() {
        let reg = parse(statement("150.00", "30.00").as_bytes()).unwrap();
        assert_eq!(reg.payments.len(), 2);
        let (a, b) = (&reg.payments[0], &reg.payments[1]);
        assert_eq!(
            (a.amount, a.payer.name.as_str(), a.purpose.as_str()),
            (Money::from_minor(20_00), "Анна", "на лечение заявка 7")
        );
        assert_eq!(
            (b.amount, b.payer.name.as_str(), b.direction),
            (Money::from_minor(30_00), "Борис", Direction::Incoming)
        );
        assert_ne!(a.external_key, b.external_key);
        assert_eq!(a.booked.unwrap().to_string(), "2026-03-02");
        assert!(reg.checks.iter().all(|c| c.ok), "{:?}", reg.checks);

        let wrong = parse(statement("151.00", "30.00").as_bytes()).unwrap();
        assert_eq!(
            wrong.checks.iter().filter(|c| !c.ok).count(),
            1,
            "a closing balance that does not add up is reported"
        );
        let torn = parse(statement("150.00", "31.00").as_bytes()).unwrap();
        assert!(torn.payments.is_empty());
        assert!(torn.errors[0].message.contains("adding up to 51.00"), "{:?}", torn.errors);
    }

    #[test]
    fn amounts_round_to_the_kopeck_and_say_so() {
        assert_eq!(amount("18.150"), Ok((Money::from_minor(18_15), false)));
        assert_eq!(amount("388645"), Ok((Money::from_minor(388645_00), false)));
        assert_eq!(amount("1.00505"), Ok((Money::from_minor(1_01), true)));
        assert!(amount("-5").is_err());
        assert!(amount("5,00").is_err());
        assert!(amount("92233720368547758.07").is_err(), "beyond the largest amount almoner keeps");
    }

    /// Without bank references, an intraday report and the day's statement give the same keys.
    #[test]
    fn keys_without_references_do_not_depend_on_the_place() {
        let entry = |amount: &str| {
            format!(
                "<Ntry><Amt Ccy=\"RUB\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\
                 <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>"
            )
        };
        let report = parse(doc(&entry("5.00")).as_bytes()).unwrap();
        let statement = parse(doc(&format!("{}{}{}", entry("9.00"), entry("5.00"), entry("5.00"))).as_bytes()).unwrap();
        assert_eq!(report.payments[0].external_key, statement.payments[1].external_key);
        assert_ne!(
            statement.payments[1].external_key, statement.payments[2].external_key,
            "two equal payments are two"
        );
    }

    /// `n` entries of every kind the reader treats differently: without dates (the statement's
    /// is used) nor references and repeated, split batches with references, reversals with
    /// `NtryRef`, debits with an `EndToEndId`; with balances and a summary to check.
    fn generated(n: usize) -> String {
        let mut body = balance("OPBD", "0");
        body += &balance("CLBD", "0");
        body += "<TxsSummry><TtlNtries><NbOfNtries>0</NbOfNtries></TtlNtries></TxsSummry>";
        for i in 0..n {
            body += &match i % 4 {
                0 => "<Ntry>\n<Amt Ccy=\"EUR\">5.00</Amt>\n<CdtDbtInd>CRDT</CdtDbtInd>\n<NtryDtls><TxDtls>\
                      <RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties></TxDtls></NtryDtls>\n</Ntry>\n"
                    .to_string(),
                1 => format!(
                    "<Ntry>\n<Amt Ccy=\"EUR\">30.00</Amt>\n<CdtDbtInd>CRDT</CdtDbtInd>\n<AcctSvcrRef>R{i}</AcctSvcrRef>\n\
                     <BookgDt><Dt>2026-03-02</Dt></BookgDt>\n<NtryDtls><TxDtls><Amt Ccy=\"EUR\">10.00</Amt></TxDtls>\n\
                     <TxDtls><Amt Ccy=\"EUR\">20.00</Amt><RmtInf><Ustrd>gift {i}</Ustrd></RmtInf></TxDtls></NtryDtls>\n</Ntry>\n"
                ),
                2 => format!(
                    "<Ntry>\n<NtryRef>N{i}</NtryRef><Amt Ccy=\"EUR\">7.00</Amt>\n<CdtDbtInd>DBIT</CdtDbtInd>\n\
                     <RvslInd>true</RvslInd><ValDt><DtTm>2026-03-02T10:00:00</DtTm></ValDt>\n</Ntry>\n"
                ),
                _ => format!(
                    "<Ntry>\n<Amt Ccy=\"EUR\">8.00</Amt>\n<CdtDbtInd>DBIT</CdtDbtInd>\n<BookgDt><Dt>2026-03-02</Dt></BookgDt>\n\
                     <NtryDtls><TxDtls><Refs><EndToEndId>E{i}</EndToEndId></Refs><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>\
                     </TxDtls></NtryDtls>\n</Ntry>\n"
                ),
            };
        }
        doc(&body)
    }

    /// Reading does work in proportion to the file (counted, not timed): 8 times the entries,
    /// about 8 times the work. A line found by counting newlines from the start, or a statement's
    /// children walked again for every entry, makes it 60 times.
    #[test]
    fn reading_does_work_in_proportion_to_the_file() {
        let work = |n: usize| {
            let text = generated(n);
            WORK.with(|w| w.set(0));
            let reg = parse(text.as_bytes()).unwrap();
            assert_eq!(reg.payments.len(), n / 4 * 5, "{:?}", reg.errors);
            assert!(reg.errors.is_empty(), "{:?}", reg.errors);
            WORK.with(|w| w.get()) as f64
        };
        let (small, large) = (work(1_000), work(8_000));
        let ratio = large / small;
        assert!((6.0..10.0).contains(&ratio), "8 times the entries take {ratio:.1} times the work");
    }

    #[test]
    fn reversals_and_returns_are_never_donations() {
        let entry = |inside: &str, details: &str| {
            format!(
                "<Ntry><Amt Ccy=\"EUR\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>{inside}<BookgDt><Dt>2026-03-02</Dt></BookgDt>\
                 <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties>{details}</TxDtls></NtryDtls></Ntry>"
            )
        };
        let cases = [
            (entry("<RvslInd>true</RvslInd>", ""), Direction::Returned),
            (entry("", "<RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>"), Direction::Returned),
            (entry("", "<RtrInf><Rsn><Cd>MD07</Cd></Rsn><AddtlInf>deceased</AddtlInf></RtrInf>"), Direction::Returned),
            (entry("<AddtlNtryInf>ACH CREDIT REJECT</AddtlNtryInf>", ""), Direction::Returned),
            (entry("", "<AddtlTxInf>Return of payment 7, account closed</AddtlTxInf>"), Direction::Returned),
            (entry("<AddtlNtryInf>Возврат платежа</AddtlNtryInf>", ""), Direction::Returned),
            (
                entry(
                    "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>",
                    "",
                ),
                Direction::Returned,
            ),
            (entry("<RvslInd>false</RvslInd>", ""), Direction::Incoming),
            (entry("<AddtlNtryInf>Пожертвование, без возврата</AddtlNtryInf>", ""), Direction::Incoming),
            (entry("", "<AddtlTxInf>SEPA credit transfer</AddtlTxInf>"), Direction::Incoming),
        ];
        for (xml, direction) in &cases {
            let reg = parse(doc(xml).as_bytes()).unwrap();
            assert_eq!(reg.payments.len(), 1, "{xml}: {:?}", reg.errors);
            assert_eq!(reg.payments[0].direction, *direction, "{xml}");
        }
        // In a split batch, only the returned transaction is a return.
        let batch = "<Ntry><Amt Ccy=\"EUR\">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\
                     <NtryDtls><TxDtls><Amt Ccy=\"EUR\">10.00</Amt></TxDtls><TxDtls><Amt Ccy=\"EUR\">20.00</Amt>\
                     <RtrInf><Rsn><Cd>AC06</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>";
        let reg = parse(doc(batch).as_bytes()).unwrap();
        let directions: Vec<Direction> = reg.payments.iter().map(|p| p.direction).collect();
        assert_eq!(directions, [Direction::Incoming, Direction::Returned]);
    }

    #[test]
    fn an_error_names_the_line_of_the_element_at_fault() {
        let body = "<Ntry>\n\
                    <Amt Ccy=\"EUR\">5,00</Amt>\n\
                    <CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\n\
                    </Ntry>\n\
                    <Ntry>\n\
                    <Amt Ccy=\"EUR\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>\n\
                    <BookgDt><Dt>2026-03-02</Dt></BookgDt>\n\
                    <ValDt>\n\
                    <Dt>2026-02-30</Dt>\n\
                    </ValDt>\n\
                    </Ntry>\n\
                    <Ntry>\n\
                    <Amt Ccy=\"EUR\">6.00</Amt>\n\
                    <CdtDbtInd>CREDIT</CdtDbtInd>\n\
                    </Ntry>\n\
                    <Ntry>\n\
                    <Amt Ccy=\"EUR\">6.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\n\
                    <NtryDtls><TxDtls><Amt Ccy=\"EUR\">1.00</Amt></TxDtls>\n\
                    <TxDtls><Amt Ccy=\"EUR\">five</Amt></TxDtls></NtryDtls>\n\
                    </Ntry>\n";
        let reg = parse(doc(&format!("\n{body}")).as_bytes()).unwrap();
        let lines: Vec<(usize, &str)> = reg.errors.iter().map(|e| (e.line, e.message.as_str())).collect();
        assert_eq!(lines.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [3, 10, 15, 20], "{lines:?}");
        assert!(lines[0].1.contains("\"5,00\""), "{lines:?}");
        assert!(lines[1].1.contains("2026-02-30"), "{lines:?}");
        assert!(lines[2].1.contains("CREDIT"), "{lines:?}");
        assert!(lines[3].1.contains("five"), "{lines:?}");
        assert!(reg.payments.is_empty());
    }

    #[test]
    fn an_amount_without_a_currency_has_none_and_other_currencies_are_not_summed() {
        let entry = |amt: &str| {
            format!(
                "<Ntry>\n{amt}<CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\
                 <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>"
            )
        };
        let none = parse(doc(&entry("<Amt>5.00</Amt>")).as_bytes()).unwrap();
        assert_eq!(none.payments[0].currency, Currency::NONE, "never silently roubles");
        let account =
            doc(&entry("<Amt>5.00</Amt>")).replace("<IBAN>RU01</IBAN></Id>", "<IBAN>RU01</IBAN></Id><Ccy>EUR</Ccy>");
        assert_eq!(parse(account.as_bytes()).unwrap().payments[0].currency.as_str(), "EUR");

        // Balances in EUR: the dollars are reported, the euros add up.
        let body = format!(
            "{}{}<TxsSummry><TtlCdtNtries><NbOfNtries>2</NbOfNtries><Sum>10.00</Sum></TtlCdtNtries></TxsSummry>{}{}",
            balance("OPBD", "100.00"),
            balance("CLBD", "110.00"),
            entry("<Amt Ccy=\"EUR\">10.00</Amt>"),
            entry("<Amt Ccy=\"USD\">5.00</Amt>"),
        );
        let reg = parse(doc(&body).as_bytes()).unwrap();
        assert_eq!(reg.payments.len(), 2);
        let failed: Vec<&str> = reg.checks.iter().filter(|c| !c.ok).map(|c| c.what.as_str()).collect();
        assert_eq!(failed.len(), 1, "{:?}", reg.checks);
        assert!(failed[0].contains("line 3 (USD 5.00)"), "{failed:?}");
        assert_eq!(reg.checks.iter().filter(|c| c.ok).count(), 3, "balance, credit sum and count: {:?}", reg.checks);
        // Balances that name no currency are checked against the entries all the same.
        let bare =
            doc(&body.replace("\"EUR\">100.00", "\"XXX\">100.00").replace("<Amt Ccy=\"EUR\">110.00", "<Amt>110.00"));
        let reg = parse(bare.as_bytes()).unwrap();
        let failed: Vec<&str> = reg.checks.iter().filter(|c| !c.ok).map(|c| c.what.as_str()).collect();
        assert_eq!(failed.len(), 1, "{:?}", reg.checks);
        assert!(failed[0].contains("line 3 (USD 5.00)"), "{failed:?}");
    }

    #[test]
    fn the_summary_counts_and_net_are_compared() {
        let entry = |amount: &str, sign: &str| {
            format!(
                "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt></Ntry>"
            )
        };
        let summary = |credits: u32, net: &str| {
            format!(
                "<TxsSummry><TtlNtries><NbOfNtries>3</NbOfNtries><Sum>17.00</Sum>\
                 <TtlNetNtry><Amt>{net}</Amt><CdtDbtInd>CRDT</CdtDbtInd></TtlNetNtry></TtlNtries>\
                 <TtlCdtNtries><NbOfNtries>{credits}</NbOfNtries><Sum>12.00</Sum></TtlCdtNtries>\
                 <TtlDbtNtries><NbOfNtries>1</NbOfNtries><Sum>5.00</Sum></TtlDbtNtries></TxsSummry>"
            )
        };
        let entries = format!("{}{}{}", entry("10.00", "CRDT"), entry("2.00", "CRDT"), entry("5.00", "DBIT"));
        let good = parse(doc(&format!("{}{entries}", summary(2, "7.00"))).as_bytes()).unwrap();
        assert_eq!(good.checks.len(), 7, "{:?}", good.checks);
        assert!(good.checks.iter().all(|c| c.ok), "{:?}", good.checks);
        let bad = parse(doc(&format!("{}{entries}", summary(3, "8.00"))).as_bytes()).unwrap();
        let failed: Vec<&str> = bad.checks.iter().filter(|c| !c.ok).map(|c| c.what.as_str()).collect();
        assert_eq!(failed.len(), 2, "{:?}", bad.checks);
        assert!(failed.iter().any(|w| w.contains("number of credit entries")), "{failed:?}");
        assert!(failed.iter().any(|w| w.contains("net")), "{failed:?}");
    }

    #[test]
    fn a_structurally_broken_file_is_refused_on_the_line_at_fault() {
        let structure = |xml: &str| match parse(xml.as_bytes()) {
            Err(Rejected::Structure { line, message }) => (line, message),
            other => panic!("{other:?}"),
        };
        let entry =
            "<Ntry><Amt Ccy=\"EUR\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>";
        // An entry's details never closed: the parser notices only at the entry's end.
        let unclosed = doc(&format!("\n{entry}\n<NtryDtls><TxDtls></TxDtls>\n</Ntry>\n"));
        let (line, message) = structure(&unclosed);
        assert_eq!(line, 3, "{message}");
        assert!(message.contains("<NtryDtls>"), "{message}");
        // Cut off in the middle: the element cut, not the first line.
        let cut = doc(&format!("\n{entry}\n<NtryDtls><TxDtls>\n<RmtInf><Ustrd>на лече"));
        let cut = &cut[..cut.find("на лече").unwrap() + "на лече".len()];
        let (line, message) = structure(cut);
        assert_eq!(line, 4, "{message}");
        assert!(message.contains("<Ustrd>"), "{message}");
        // A statement without its account.
        let no_account = format!(
            "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>\n<Stmt><Id>S</Id>\n{entry}</Ntry>\
             </Stmt></BkToCstmrStmt></Document>"
        );
        let (line, message) = structure(&no_account);
        assert_eq!(line, 2, "{message}");
        assert!(message.contains("account"), "{message}");
        // An entry outside its statement.
        let stray = doc("").replace("</Stmt>", &format!("</Stmt>\n{entry}</Ntry>"));
        assert_eq!(structure(&stray).0, 2);
        // One bad entry is that entry's error; the others read.
        let one_bad = doc(&format!("{entry}</Ntry>\n<Ntry><Amt Ccy=\"EUR\">x</Amt></Ntry>{entry}</Ntry>"));
        let reg = parse(one_bad.as_bytes()).unwrap();
        assert_eq!((reg.payments.len(), reg.errors.len()), (2, 1), "{:?}", reg.errors);
        assert_eq!(reg.errors[0].line, 2);
    }

    /// Equal payments without references in one statement are told apart by their occurrence
    /// there, so another statement of the same day gives the same keys; a reference keys itself.
    #[test]
    fn identity_counts_occurrences_in_the_statement_and_uses_references() {
        let entry = |refs: &str| {
            format!(
                "<Ntry>{refs}<Amt Ccy=\"EUR\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\
                 <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>"
            )
        };
        let stmt = |entries: &str| format!("<Stmt><Id>S</Id><Acct><Id><IBAN>RU01</IBAN></Id></Acct>{entries}</Stmt>");
        let file = |stmts: &str| {
            format!(
                "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.052.001.02\"><BkToCstmrAcctRpt>{stmts}\
                 </BkToCstmrAcctRpt></Document>"
            )
            .replace("Stmt>", "Rpt>")
        };
        let plain = entry("");
        let two = parse(file(&format!("{}{}", stmt(&format!("{plain}{plain}")), stmt(&plain))).as_bytes()).unwrap();
        let keys: Vec<&str> = two.payments.iter().map(|p| p.external_key.as_str()).collect();
        assert_ne!(keys[0], keys[1], "two equal payments in a statement are two");
        assert_eq!(keys[0], keys[2], "the first of the day again in the next report is the same payment");
        let again = parse(file(&stmt(&format!("{plain}{plain}"))).as_bytes()).unwrap();
        assert_eq!(again.payments[1].external_key, keys[1], "and the second again the second");

        // With references, the reference says which is which, whatever the order.
        let (a, b) = (entry("<NtryRef>A</NtryRef>"), entry("<NtryRef>B</NtryRef>"));
        let both = parse(file(&stmt(&format!("{a}{b}"))).as_bytes()).unwrap();
        let only_b = parse(file(&stmt(&b)).as_bytes()).unwrap();
        assert_ne!(both.payments[0].external_key, both.payments[1].external_key);
        assert_eq!(only_b.payments[0].external_key, both.payments[1].external_key);
        let e2e =
            |r: &str| entry("").replace("<TxDtls>", &format!("<TxDtls><Refs><EndToEndId>{r}</EndToEndId></Refs>"));
        let by_e2e = parse(file(&stmt(&format!("{}{}", e2e("X1"), e2e("X2")))).as_bytes()).unwrap();
        let only_x2 = parse(file(&stmt(&e2e("X2"))).as_bytes()).unwrap();
        assert_eq!(only_x2.payments[0].external_key, by_e2e.payments[1].external_key);
        // NOTPROVIDED is no reference: counted like a payment without one.
        let np = parse(file(&stmt(&e2e("NOTPROVIDED"))).as_bytes()).unwrap();
        assert_eq!(np.payments[0].external_key, keys[0]);
    }
}
