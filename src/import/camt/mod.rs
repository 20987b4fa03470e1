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

mod returns;
#[cfg(test)]
mod tests;
mod values;
mod xml;

use returns::{entry_returned, tx_returned};
use values::{amount, day, details_of, money};
use xml::{Lines, at, child, children, damaged, first_text, text};

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
