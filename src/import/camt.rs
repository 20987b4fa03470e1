//! ISO 20022 bank-to-customer messages (see `../shared/FORMATS.md`):
//! camt.053 statements, camt.052 intraday reports and camt.054 notifications,
//! any `camt.05x.001.NN` version. Elements are matched by local name, so the
//! namespace version does not matter. A batched entry with several amounted
//! transaction details is split into one payment each; a batch with only an
//! aggregate is kept as one line and flagged. Balances (opening + entries =
//! closing) and `TxsSummry` sums are checked.

use chrono::NaiveDate;
use roxmltree::{Document, Node};
use rust_decimal::{Decimal, RoundingStrategy};

use super::{ControlCheck, Direction, Format, LineError, Party, Payment, Register, Rejected, key};
use crate::domain::{Currency, Money};

type El<'a, 'i> = Node<'a, 'i>;

fn child<'a, 'i>(node: El<'a, 'i>, name: &str) -> Option<El<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i>(node: El<'a, 'i>, name: &'static str) -> impl Iterator<Item = El<'a, 'i>> {
    node.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
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

/// `Dt` or `DtTm` under a date element: the calendar date.
fn date_of(node: El, path: &str) -> Option<NaiveDate> {
    let el = at(node, path)?;
    let raw = text(el, "Dt").or_else(|| text(el, "DtTm"))?;
    NaiveDate::parse_from_str(raw.get(..10)?, "%Y-%m-%d").ok()
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

fn currency(node: El) -> Result<Currency, String> {
    match node.attribute("Ccy") {
        Some(c) => c.parse().map_err(|_| format!("currency {c:?} is not known")),
        None => Ok(Currency::RUB),
    }
}

struct Reader<'d, 'i> {
    doc: &'d Document<'i>,
    reg: Register,
    /// Payments without bank references, by content: how many so far (the same content twice is two payments).
    repeats: std::cell::RefCell<std::collections::HashMap<String, usize>>,
}

impl Reader<'_, '_> {
    fn line(&self, node: El) -> usize {
        self.doc.text_pos_at(node.range().start).row as usize
    }

    fn error(&mut self, node: El, message: String) {
        let line = self.line(node);
        self.reg.errors.push(LineError { line, message });
    }

    fn warn(&mut self, node: El, message: String) {
        let line = self.line(node);
        self.reg.warnings.push(LineError { line, message });
    }

    /// A balance of `code` (OPBD, CLBD…), signed.
    fn balance(&self, stmt: El, codes: &[&str]) -> Option<(Money, usize)> {
        children(stmt, "Bal").find_map(|bal| {
            let code = first_text(bal, &["Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry"])?;
            if !codes.contains(&code.as_str()) {
                return None;
            }
            let (m, _) = amount(&text(bal, "Amt")?).ok()?;
            let debit = text(bal, "CdtDbtInd").as_deref() == Some("DBIT");
            Some((if debit { Money::ZERO - m } else { m }, self.line(bal)))
        })
    }

    fn statement(&mut self, stmt: El) {
        let account = first_text(stmt, &["Acct/Id/IBAN", "Acct/Id/Othr/Id"]).unwrap_or_default();
        let stmt_id = text(stmt, "Id").unwrap_or_default();
        let first = self.reg.payments.len();
        let (mut credits, mut debits, mut entries) = (Money::ZERO, Money::ZERO, 0i64);
        for ntry in children(stmt, "Ntry") {
            entries += 1;
            match self.entry(ntry, &account) {
                Ok(payments) => {
                    for p in payments {
                        match p.direction {
                            Direction::Outgoing => debits += p.amount,
                            _ => credits += p.amount,
                        }
                        self.reg.payments.push(p);
                    }
                }
                Err(message) => self.error(ntry, message),
            }
        }
        let line = self.line(stmt);
        let what = |s: &str| format!("account {account}, statement {stmt_id} (line {line}): {s}");
        let mut checks = Vec::new();
        let opening = self.balance(stmt, &["OPBD", "PRCD", "OPAV"]);
        let closing = self.balance(stmt, &["CLBD"]);
        if let (Some((open, _)), Some((close, _))) = (opening, closing) {
            let found = open + credits - debits;
            checks.push(ControlCheck {
                what: what("opening + entries = closing"),
                expected: close,
                found,
                ok: found == close,
            });
        }
        if let Some(summary) = child(stmt, "TxsSummry") {
            for (path, found, label) in
                [("TtlCdtNtries/Sum", credits, "credit entries"), ("TtlDbtNtries/Sum", debits, "debit entries")]
            {
                if let Some(Ok((expected, _))) = text(summary, path).map(|s| amount(&s)) {
                    checks.push(ControlCheck { what: what(label), expected, found, ok: expected == found });
                }
            }
            if let Some(n) = text(summary, "TtlNtries/NbOfNtries").and_then(|s| s.parse::<i64>().ok())
                && n != entries
            {
                self.warn(summary, format!("TxsSummry says {n} entries; the statement holds {entries}"));
            }
        }
        self.reg.checks.extend(checks);
        if self.reg.payments.len() == first && entries == 0 {
            self.warn(stmt, format!("statement {stmt_id} of account {account} has no entries"));
        }
    }

    fn entry(&mut self, ntry: El, account: &str) -> Result<Vec<Payment>, String> {
        let amt = child(ntry, "Amt").ok_or("entry has no Amt")?;
        let (total, rounded) = amount(amt.text().unwrap_or(""))?;
        if total.is_zero() {
            return Err("the entry's amount is zero".into());
        }
        if rounded {
            self.warn(
                ntry,
                format!("amount {} has more than two decimals; rounded to the kopeck", amt.text().unwrap_or("")),
            );
        }
        let currency = currency(amt)?;
        let direction = match text(ntry, "CdtDbtInd").as_deref() {
            Some("CRDT") => Direction::Incoming,
            Some("DBIT") => Direction::Outgoing,
            Some(other) => return Err(format!("CdtDbtInd {other:?} is neither CRDT nor DBIT")),
            None => Direction::Unknown,
        };
        let status = first_text(ntry, &["Sts/Cd", "Sts"]).unwrap_or_else(|| "BOOK".into());
        if status != "BOOK" {
            self.warn(ntry, format!("entry status {status}: not booked yet, not imported"));
            return Ok(Vec::new());
        }
        let booked = date_of(ntry, "BookgDt");
        let value = date_of(ntry, "ValDt");
        let date = match value.or(booked) {
            Some(d) => d,
            None => {
                let d = self.fallback_date(ntry).ok_or("entry has no booking or value date, nor has its statement")?;
                self.warn(ntry, format!("entry has no booking or value date; the statement's date {d} is used"));
                d
            }
        };
        let entry_ref = text(ntry, "AcctSvcrRef");
        let details: Vec<El> = children(ntry, "NtryDtls").flat_map(|d| children(d, "TxDtls")).collect();
        let amounted: Vec<(El, Money)> = details
            .iter()
            .filter_map(|tx| {
                let a = first_text(*tx, &["Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt"])?;
                Some((*tx, amount(&a).ok()?.0))
            })
            .collect();
        let batch_size = children(ntry, "NtryDtls")
            .find_map(|d| text(d, "Btch/NbOfTxs"))
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        let base = Payment {
            line: self.line(ntry),
            direction,
            date,
            booked,
            number: entry_ref.clone().or_else(|| text(ntry, "NtryRef")).unwrap_or_default(),
            amount: total,
            currency,
            payer: Party::default(),
            payee: Party::default(),
            purpose: text(ntry, "AddtlNtryInf").unwrap_or_default(),
            own_account: Some(account.to_string()).filter(|a| !a.is_empty()),
            external_key: String::new(),
            subscription: None,
            refund_of: None,
        };
        let split = amounted.len() > 1 && amounted.len() == details.len() && amounted.iter().all(|(_, m)| !m.is_zero());
        if split {
            let sum: Money = amounted.iter().map(|(_, m)| *m).sum();
            if sum != total {
                return Err(format!(
                    "batched entry of {} holds transaction details adding up to {}",
                    total.plain(),
                    sum.plain()
                ));
            }
            return Ok(amounted
                .iter()
                .enumerate()
                .map(|(i, (tx, m))| {
                    let mut p = self.details(base.clone(), Some(*tx));
                    p.line = self.line(*tx);
                    p.amount = *m;
                    p.external_key = self.identity(&p, Some(*tx), entry_ref.as_deref(), account, i);
                    p
                })
                .collect());
        }
        if batch_size > 1 {
            self.warn(ntry, format!("batch of {batch_size} transactions, details missing: kept as one line"));
        }
        let mut p = self.details(base, details.first().copied());
        p.external_key = self.identity(&p, details.first().copied(), entry_ref.as_deref(), account, 0);
        Ok(vec![p])
    }

    /// The statement's own date, for entries that carry none (seen in the Lithuanian files).
    fn fallback_date(&self, ntry: El) -> Option<NaiveDate> {
        let stmt = ntry.parent()?;
        let closing = children(stmt, "Bal").last().and_then(|b| first_text(b, &["Dt/Dt", "Dt/DtTm"]));
        let header = stmt.parent().and_then(|m| text(m, "GrpHdr/CreDtTm"));
        let raw = first_text(stmt, &["FrToDt/ToDtTm", "CreDtTm"]).or(closing).or(header)?;
        NaiveDate::parse_from_str(raw.get(..10)?, "%Y-%m-%d").ok()
    }

    /// Counterparty and remittance text from a transaction's details.
    fn details(&self, mut p: Payment, tx: Option<El>) -> Payment {
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

    /// The bank's own reference when it gives one; otherwise the payment's content and its place.
    fn identity(&self, p: &Payment, tx: Option<El>, entry_ref: Option<&str>, account: &str, sub: usize) -> String {
        let tx_ref = tx.and_then(|t| first_text(t, &["Refs/AcctSvcrRef", "Refs/TxId", "Refs/UETR"]));
        match (entry_ref, tx_ref) {
            (Some(e), Some(t)) => key(Format::Camt, &[account, e, &t, &sub.to_string()]),
            (Some(e), None) => key(Format::Camt, &[account, e, &sub.to_string()]),
            (None, Some(t)) => key(Format::Camt, &[account, &t, &sub.to_string()]),
            (None, None) => {
                // By content, not by place: the same payment in an intraday report and in the
                // day's statement has the same key; a second equal payment in one file gets its own.
                let dir = format!("{:?}", p.direction);
                let date = p.date.to_string();
                let amount = p.amount.plain();
                let party = p.counterparty().account.clone().unwrap_or_default();
                let base =
                    key(Format::Camt, &[account, &date, &amount, &dir, &party, &p.counterparty().name, &p.purpose]);
                let mut repeats = self.repeats.borrow_mut();
                let n = repeats.entry(base.clone()).or_default();
                *n += 1;
                if *n == 1 { base } else { key(Format::Camt, &[&base, &n.to_string()]) }
            }
        }
    }
}

pub fn parse(bytes: &[u8]) -> Result<Register, Rejected> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let source = std::str::from_utf8(bytes).map_err(|_| Rejected::EncodingDamaged)?;
    let doc = Document::parse(source).map_err(|e| {
        let pos = e.pos();
        Rejected::Structure { line: pos.row as usize, message: format!("the XML is damaged: {e}") }
    })?;
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
        let line = doc.text_pos_at(message.unwrap_or(root).range().start).row as usize;
        return Err(Rejected::Structure {
            line,
            message: "the camt document holds no statement, report or notification (Stmt, Rpt or Ntfctn)".into(),
        });
    }
    let mut reader = Reader {
        repeats: Default::default(),
        doc: &doc,
        reg: Register {
            format: Format::Camt,
            encoding: if bytes.is_ascii() { "ascii" } else { "utf-8" },
            payments: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            checks: Vec::new(),
        },
    };
    if let Some(page) = message.and_then(|m| text(m, "GrpHdr/MsgPgntn/PgNb")).filter(|p| p != "1") {
        let line = reader.line(message.unwrap_or(root));
        reader.reg.warnings.push(LineError {
            line,
            message: format!("this is page {page} of a longer message; the other pages are other files"),
        });
    }
    for c in containers {
        reader.statement(c);
    }
    Ok(reader.reg)
}

#[cfg(test)]
mod tests {
    use super::{amount, parse};
    use crate::domain::Money;
    use crate::import::Direction;

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
        let doc = |entries: &str| {
            format!(
                "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt><Stmt><Id>S</Id>\
                 <Acct><Id><IBAN>RU01</IBAN></Id></Acct>{entries}</Stmt></BkToCstmrStmt></Document>"
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
}
