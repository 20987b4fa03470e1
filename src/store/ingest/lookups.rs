//! What an import looks up beside each payment: the invoice an outgoing payment pays, the gift a
//! return takes back, the case a purpose names, which keys are known already, what a refund
//! returns; and the payments the database would refuse, set aside before classifying.

use std::collections::HashSet;

use super::super::db::{Exec, json_list, repeat_marks};
use super::super::donors::{self, DonorKeys};
use super::super::{Tx, q};
use crate::domain::Currency;
use crate::domain::names::{NameIndex, Named};
use crate::domain::purpose::{case_number_in, mentions};
use crate::error::{Error, Result};
use crate::import::{Direction, Payment};

/// Takes out of `chunk` the payments the database would refuse (an amount of nothing or less,
/// no currency named), each as a line error, so the preview says what the commit would.
/// A payment in no currency takes `currency` where a person named one.
pub(crate) fn set_aside_unfit(chunk: &mut Vec<Payment>, currency: Option<Currency>) -> Vec<crate::import::LineError> {
    let mut unfit = Vec::new();
    chunk.retain_mut(|p| {
        if p.currency == Currency::NONE
            && let Some(c) = currency
        {
            p.currency = c;
        }
        let message = if !p.amount.is_positive() {
            format!("the amount is {}: a payment of nothing (or less) is not imported", p.amount.en())
        } else if p.currency == Currency::NONE {
            "the statement names no currency: say which with --currency CODE (e.g. --currency EUR; in the console, after the file's path at i)".to_string()
        } else {
            return true;
        };
        unfit.push(crate::import::LineError { line: p.line, message });
        false
    });
    unfit
}

pub(crate) fn payer_name(p: &Payment) -> String {
    let name = p.payer.name.trim();
    if name.is_empty() { "(payer not named in the register)".into() } else { name.to_string() }
}

/// The case in `payment` whose invoice this outgoing payment pays: the
/// invoice's amount, and its number in the purpose. More than one such case
/// is ambiguous and waits for a person.
pub(super) async fn invoice_paid_by(conn: &mut Tx, p: &Payment) -> Result<(Option<(i64, i64)>, Option<String>)> {
    // Only a live invoice still to pay, of a case in payment, for exactly this amount.
    let candidates: Vec<(i64, i64, String, Option<String>)> =
        q("SELECT c.id, i.id, i.number, i.payee_inn FROM cases c JOIN invoices i ON i.case_id = c.id
          WHERE c.stage = 'payment' AND i.amount = $1 AND i.withdrawn_at IS NULL AND i.paid_by IS NULL")
        .bind(p.amount.minor())
        .fetch_all(conn)
        .await?;
    let named: Vec<((i64, i64), Option<String>)> = candidates
        .into_iter()
        .filter(|(_, _, number, _)| mentions(&p.purpose, number))
        .map(|(case, invoice, _, inn)| ((case, invoice), inn))
        .collect();
    // The payee's INN, where both the invoice and the payment give one, must agree.
    let paid_inn = p.payee.inn.as_deref();
    let (hits, wrong): (Vec<_>, Vec<_>) = named.into_iter().partition(|(_, inn)| {
        matches!((inn.as_deref(), paid_inn), (Some(a), Some(b)) if a == b) || inn.is_none() || paid_inn.is_none()
    });
    Ok(match (hits.as_slice(), wrong.as_slice()) {
        ([], []) => (None, None),
        ([], [((id, _), inn), ..]) => (
            None,
            Some(format!(
                "names the invoice of case {id}, but pays INN {} where the invoice says {}: a person decides",
                paid_inn.unwrap_or("?"),
                inn.as_deref().unwrap_or("?")
            )),
        ),
        ([(one, _)], _) => (Some(*one), None),
        (many, _) => {
            let ids: Vec<String> = many.iter().map(|((id, _), _)| id.to_string()).collect();
            (None, Some(format!("pays the invoice of cases {}: which one is for a person to decide", ids.join(", "))))
        }
    })
}

/// The gift a returned payment takes back: the one donation of the same payer, amount and currency
/// received in the 90 days before it; none (or several) and a person decides.
pub(super) async fn returned_gift(conn: &mut Tx, p: &Payment) -> Result<Option<i64>> {
    let payer = p.counterparty().name.trim();
    if payer.is_empty() {
        return Ok(None);
    }
    let on = p.booked.unwrap_or(p.date);
    let found: Vec<i64> = q("SELECT id FROM donations WHERE payer = $1 AND amount = $2 AND currency = $3
                              AND received_on <= $4 AND received_on >= $5 ORDER BY id LIMIT 2")
    .bind(payer)
    .bind(p.amount.minor())
    .bind(p.currency.as_str())
    .bind(on)
    .bind(on - chrono::Days::new(90))
    .scalars(conn)
    .await?;
    Ok(if found.len() == 1 { found.first().copied() } else { None })
}

/// Keys of `keys` already in the database, asked in chunks.
pub(super) async fn known_keys(conn: &mut Tx, keys: &[&str]) -> Result<HashSet<String>> {
    let mut found = HashSet::new();
    let pg = conn.is_pg();
    for chunk in keys.chunks(500) {
        let marks = repeat_marks(pg, "?", chunk.len());
        // One JSON array back rather than a row each (a register imported again finds them all).
        let list = json_list(pg, "external_key");
        let mut ask = q(format!("SELECT {list} FROM donations WHERE external_key IN ({marks})"));
        for k in chunk {
            ask = ask.bind(*k);
        }
        let json: String = ask.scalar(conn).await?;
        let keys: Vec<String> = serde_json::from_str(&json)
            .map_err(|e| Error::invalid(format!("the known-keys lookup answered badly: {e}")))?;
        found.extend(keys);
    }
    Ok(found)
}

/// The donor keys of a chunk's incoming payments, made ready for matching: pure work, which a
/// long import does on a thread of its own while SQLite writes the chunk before.
pub(crate) fn prepare_donors(chunk: &[Payment]) -> Vec<Option<donors::Prepared>> {
    chunk.iter().map(|p| (p.direction == Direction::Incoming).then(|| donors::Prepared::new(&donor_keys(p)))).collect()
}

pub(super) fn donor_keys(p: &Payment) -> DonorKeys {
    DonorKeys {
        name: payer_name(p),
        kind: None,
        inn: p.payer.inn.clone(),
        email: p.payer.email.clone(),
        phone: p.payer.phone.clone(),
        subscription: p.subscription.clone(),
        account: p.payer.account.clone(),
    }
}

/// What a refund returns: a payment of this file, a donation imported before, or something unknown.
pub(super) async fn refund_note(conn: &mut Tx, in_file: Option<usize>, original: &str, ask: bool) -> Result<String> {
    let earlier: Option<(i64, i64)> = if ask {
        q("SELECT id, allocated FROM donations WHERE external_key = $1").bind(original).fetch_optional(conn).await?
    } else {
        None
    };
    Ok(match (earlier, in_file) {
        (Some((id, allocated)), _) => format!(
            "refunds donation {id}, imported earlier{}: record the return by hand",
            if allocated > 0 { " and already placed" } else { "" }
        ),
        (None, Some(line)) => format!("refunds line {line} of this file, which is therefore not imported"),
        (None, None) => {
            "refunds a payment not imported (or only part of one in this file, which is imported): record the return by hand"
                .into()
        }
    })
}

/// The children whose fundraising is open, to find their names in purposes.
pub(super) async fn open_names(conn: &mut Tx) -> Result<NameIndex> {
    let rows: Vec<(i64, String)> = q(
        "SELECT c.id, b.full_name FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE c.stage = 'fundraising'",
    )
    .fetch_all(conn)
    .await?;
    Ok(NameIndex::new(rows))
}

/// The case a purpose points to: its number ("заявка 123"), else a fundraising child's name.
pub(super) async fn suggest(conn: &mut Tx, names: &NameIndex, purpose: &str) -> Result<(Option<i64>, Option<String>)> {
    if let Some(n) = case_number_in(purpose) {
        // Only a case still raising money (or about to) is suggested; a paid or closed one is not.
        let exists: Option<i64> =
            q("SELECT id FROM cases WHERE id = $1 AND stage IN ('qualification', 'documents', 'fundraising')")
                .bind(n)
                .scalar_optional(conn)
                .await?;
        if exists.is_some() {
            return Ok((Some(n), Some(format!("the purpose names case {n}"))));
        }
    }
    Ok(match names.find(purpose) {
        Some(Named::One { id, name, words }) => {
            (Some(id), Some(format!("the purpose names {} ({name}, case {id})", words.join(" "))))
        }
        Some(Named::Several(ids)) => {
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            (None, Some(format!("the purpose names a child of cases {}: a person decides", ids.join(", "))))
        }
        None => (None, None),
    })
}
