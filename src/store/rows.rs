//! Turning rows into domain records. A value the database should never hold
//! (an unknown stage word, say) is reported as an error, never a panic.

use std::str::FromStr;

use super::db::Get;
use crate::domain::allocation::{CaseFacts, DonationFacts};
use crate::domain::{Allocation, Case, Currency, Designation, Donation, Invoice, Money};
use crate::error::{Error, Result};

pub(crate) const CASE_COLUMNS: &str = "c.id, c.beneficiary_id, b.full_name AS beneficiary, c.program, c.clinic, c.diagnosis, \
     c.stage, c.currency, c.target, c.collected, c.responsible, c.published, c.stage_since, c.created_at";

pub(crate) const DONATION_COLUMNS: &str = "d.id, d.amount, d.currency, d.allocated, d.designation_kind, d.designated_id, \
     d.received_on, d.channel, d.payer, d.donor_id, d.purpose, d.released, d.fee, d.settlement_id";

fn word<T: FromStr>(row: &impl Get, col: &str) -> Result<T>
where
    Error: From<T::Err>,
{
    let s: String = row.get(col)?;
    Ok(T::from_str(&s)?)
}

fn currency(row: &impl Get) -> Result<Currency> {
    let s: String = row.get("currency")?;
    Ok(Currency::from_str(&s)?)
}

fn money(row: &impl Get, col: &str) -> Result<Money> {
    Ok(Money::from_minor(row.get(col)?))
}

pub(crate) fn case(row: &impl Get) -> Result<Case> {
    let target = money(row, "target")?;
    let collected = money(row, "collected")?;
    Ok(Case {
        id: row.get("id")?,
        beneficiary_id: row.get("beneficiary_id")?,
        beneficiary: row.get("beneficiary")?,
        program: word(row, "program")?,
        clinic: row.get("clinic")?,
        diagnosis: row.get("diagnosis")?,
        stage: word(row, "stage")?,
        currency: currency(row)?,
        target,
        collected,
        still_needed: target.minus_or_zero(collected),
        responsible: row.get("responsible")?,
        published: row.get::<i64>("published")? != 0,
        stage_since: row.get("stage_since")?,
        created_at: row.get("created_at")?,
    })
}

pub(crate) fn designation(row: &impl Get) -> Result<Designation> {
    let kind: String = row.get("designation_kind")?;
    let id: Option<i64> = row.get("designated_id")?;
    Ok(match (kind.as_str(), id) {
        ("case", Some(id)) => Designation::Case(id),
        ("beneficiary", Some(id)) => Designation::Beneficiary(id),
        _ => Designation::Unrestricted,
    })
}

/// An invoice's columns, for [`invoice`] (as `i.…`).
pub(crate) const INVOICE_COLUMNS: &str =
    "i.id, i.number, i.date, i.amount, i.payee, i.withdrawn_at, i.replaced_by, i.reason, i.paid_by";

/// An invoice from a row whose columns carry `prefix` (`inv_`, or none).
pub(crate) fn invoice(row: &impl Get, prefix: &str) -> Result<Invoice> {
    let col = |c: &str| format!("{prefix}{c}");
    let withdrawn: Option<chrono::DateTime<chrono::Utc>> = row.get(&col("withdrawn_at"))?;
    let paid_by: Option<i64> = row.get(&col("paid_by"))?;
    Ok(Invoice {
        id: row.get(&col("id"))?,
        number: row.get(&col("number"))?,
        date: row.get(&col("date"))?,
        amount: Money::from_minor(row.get(&col("amount"))?),
        payee: row.get(&col("payee"))?,
        live: withdrawn.is_none(),
        replaced_by: row.get(&col("replaced_by"))?,
        reason: row.get(&col("reason"))?,
        paid: paid_by.is_some(),
    })
}

pub(crate) fn donation(row: &impl Get) -> Result<Donation> {
    let amount = money(row, "amount")?;
    let allocated = money(row, "allocated")?;
    Ok(Donation {
        id: row.get("id")?,
        amount,
        currency: currency(row)?,
        allocated,
        unallocated: amount.minus_or_zero(allocated),
        designation: designation(row)?,
        received_on: row.get("received_on")?,
        channel: word(row, "channel")?,
        payer: row.get("payer")?,
        donor_id: row.get("donor_id")?,
        purpose: row.get("purpose")?,
        released: row.get::<i64>("released")? != 0,
        fee: money(row, "fee")?,
        settled_by: row.get("settlement_id")?,
    })
}

pub(crate) fn allocation(row: &impl Get) -> Result<Allocation> {
    Ok(Allocation {
        id: row.get("id")?,
        donation_id: row.get("donation_id")?,
        case_id: row.get("case_id")?,
        amount: money(row, "amount")?,
        at: row.get("at")?,
        by: row.get("by_user")?,
        reason: row.get("reason")?,
        reversed: row.get::<i64>("reversed")? != 0,
        payer: row.get("payer")?,
        channel: word(row, "channel")?,
    })
}

pub(crate) fn case_facts(row: &impl Get) -> Result<CaseFacts> {
    Ok(CaseFacts {
        id: row.get("id")?,
        beneficiary_id: row.get("beneficiary_id")?,
        stage: word(row, "stage")?,
        target: money(row, "target")?,
        collected: money(row, "collected")?,
        currency: currency(row)?,
    })
}

pub(crate) fn donation_facts(row: &impl Get) -> Result<DonationFacts> {
    Ok(DonationFacts {
        id: row.get("id")?,
        amount: money(row, "amount")?,
        allocated: money(row, "allocated")?,
        currency: currency(row)?,
        designation: designation(row)?,
        designated_beneficiary: row.get("designated_beneficiary")?,
        released: row.get::<i64>("released")? != 0,
    })
}
