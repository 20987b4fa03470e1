//! Turning rows into domain records. A value the database should never hold
//! (an unknown stage word, say) is reported as an error, never a panic.

use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::domain::allocation::{CaseFacts, DonationFacts};
use crate::domain::{Allocation, Case, Currency, Designation, Donation, Money};
use crate::error::{Error, Result};

pub(crate) const CASE_COLUMNS: &str = "c.id, c.beneficiary_id, b.full_name AS beneficiary, c.program, c.clinic, c.diagnosis, \
     c.stage, c.currency, c.target, c.collected, c.responsible, c.published, c.stage_since, c.created_at";

pub(crate) const DONATION_COLUMNS: &str = "d.id, d.amount, d.currency, d.allocated, d.designation_kind, d.designated_id, \
     d.received_on, d.channel, d.payer, d.donor_id, d.purpose, d.released";

fn word<T: FromStr>(row: &SqliteRow, col: &str) -> Result<T>
where
    Error: From<T::Err>,
{
    let s: String = row.try_get(col)?;
    Ok(T::from_str(&s)?)
}

fn currency(row: &SqliteRow) -> Result<Currency> {
    let s: String = row.try_get("currency")?;
    Ok(Currency::from_str(&s)?)
}

fn money(row: &SqliteRow, col: &str) -> Result<Money> {
    Ok(Money::from_minor(row.try_get(col)?))
}

pub(crate) fn case(row: &SqliteRow) -> Result<Case> {
    let target = money(row, "target")?;
    let collected = money(row, "collected")?;
    Ok(Case {
        id: row.try_get("id")?,
        beneficiary_id: row.try_get("beneficiary_id")?,
        beneficiary: row.try_get("beneficiary")?,
        program: word(row, "program")?,
        clinic: row.try_get("clinic")?,
        diagnosis: row.try_get("diagnosis")?,
        stage: word(row, "stage")?,
        currency: currency(row)?,
        target,
        collected,
        still_needed: target.minus_or_zero(collected),
        responsible: row.try_get("responsible")?,
        published: row.try_get::<i64, _>("published")? != 0,
        stage_since: row.try_get("stage_since")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn designation(row: &SqliteRow) -> Result<Designation> {
    let kind: String = row.try_get("designation_kind")?;
    let id: Option<i64> = row.try_get("designated_id")?;
    Ok(match (kind.as_str(), id) {
        ("case", Some(id)) => Designation::Case(id),
        ("beneficiary", Some(id)) => Designation::Beneficiary(id),
        _ => Designation::Unrestricted,
    })
}

pub(crate) fn donation(row: &SqliteRow) -> Result<Donation> {
    let amount = money(row, "amount")?;
    let allocated = money(row, "allocated")?;
    Ok(Donation {
        id: row.try_get("id")?,
        amount,
        currency: currency(row)?,
        allocated,
        unallocated: amount.minus_or_zero(allocated),
        designation: designation(row)?,
        received_on: row.try_get("received_on")?,
        channel: word(row, "channel")?,
        payer: row.try_get("payer")?,
        donor_id: row.try_get("donor_id")?,
        purpose: row.try_get("purpose")?,
        released: row.try_get::<i64, _>("released")? != 0,
    })
}

pub(crate) fn allocation(row: &SqliteRow) -> Result<Allocation> {
    Ok(Allocation {
        id: row.try_get("id")?,
        donation_id: row.try_get("donation_id")?,
        case_id: row.try_get("case_id")?,
        amount: money(row, "amount")?,
        at: row.try_get("at")?,
        by: row.try_get("by_user")?,
        reason: row.try_get("reason")?,
        reversed: row.try_get::<i64, _>("reversed")? != 0,
        payer: row.try_get("payer")?,
        channel: word(row, "channel")?,
    })
}

pub(crate) fn case_facts(row: &SqliteRow) -> Result<CaseFacts> {
    Ok(CaseFacts {
        id: row.try_get("id")?,
        beneficiary_id: row.try_get("beneficiary_id")?,
        stage: word(row, "stage")?,
        target: money(row, "target")?,
        collected: money(row, "collected")?,
        currency: currency(row)?,
    })
}

pub(crate) fn donation_facts(row: &SqliteRow) -> Result<DonationFacts> {
    Ok(DonationFacts {
        id: row.try_get("id")?,
        amount: money(row, "amount")?,
        allocated: money(row, "allocated")?,
        currency: currency(row)?,
        designation: designation(row)?,
        designated_beneficiary: row.try_get("designated_beneficiary")?,
        released: row.try_get::<i64, _>("released")? != 0,
    })
}
