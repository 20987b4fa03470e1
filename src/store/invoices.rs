//! A case's invoices, a history: its first, a corrected bill replacing one, a further course beside
//! them; the target following them until fundraising opens; and the payment orders that pay them,
//! each one invoice for exactly its amount.

use chrono::NaiveDate;
use serde_json::json;

use super::cases::{require_stage, set_stage, stage_of};
use super::{Store, audit, invariants, now, q};
use crate::domain::{Money, Stage};
use crate::error::{Error, Result};

/// An invoice as a person enters it; `bank` is the payee's INN, account and BIC.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub number: String,
    pub date: NaiveDate,
    pub amount: Money,
    pub payee: String,
    pub bank: Option<(String, String, String)>,
}

/// How an invoice changes a case's invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceChange {
    /// The case's first.
    First,
    /// One more, beside those live (a second course).
    Also,
    /// A corrected bill in place of the live invoice with this id.
    Replaces(i64),
}

impl Store {
    /// Records the clinic's first invoice (number, date, amount, payee). A case that has one
    /// already is refused: a corrected bill replaces it, a second course is added, each said
    /// (see [`Store::change_invoice`]).
    pub async fn record_invoice(
        &self,
        case: i64,
        number: &str,
        date: NaiveDate,
        amount: Money,
        payee: &str,
    ) -> Result<i64> {
        let new = NewInvoice { number: number.into(), date, amount, payee: payee.into(), bank: None };
        self.change_invoice(case, &new, InvoiceChange::First, None).await
    }

    /// Adds an invoice to the case's history: its first, a further one (`Also`: a second course)
    /// or a corrected bill that `Replaces` a live one (which stays, withdrawn, naming it). Until
    /// fundraising opens the target follows the live invoices' sum; in fundraising a change is a
    /// correction that needs a reason, may not take the target below what is collected, and moves
    /// the case to payment if it meets it; later stages refuse. The new invoice's id.
    pub async fn change_invoice(
        &self,
        case: i64,
        new: &NewInvoice,
        change: InvoiceChange,
        reason: Option<&str>,
    ) -> Result<i64> {
        self.require(super::Act::Medical).await?;
        if new.number.trim().is_empty() || new.payee.trim().is_empty() {
            return Err(Error::invalid("the invoice needs a number and a payee"));
        }
        if !new.amount.is_positive() {
            return Err(Error::invalid("the invoice amount must be more than 0"));
        }
        if let Some((inn, account, bic)) = &new.bank {
            super::digits("payee INN", inn, &[10, 12])?;
            super::digits("payee account", account, &[20])?;
            super::digits("payee BIC", bic, &[9])?;
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let mut tx = self.begin_write().await?;
        let (stage, _) = stage_of(&mut tx, case).await?;
        require_stage(
            case,
            stage,
            &[Stage::Qualification, Stage::Documents, Stage::Fundraising],
            "changing its invoices",
        )?;
        if stage == Stage::Fundraising && reason.is_none() {
            return Err(Error::invalid(format!(
                "case {case} is raising money already: a change to its invoices is a correction, so say why (--reason \"…\")"
            )));
        }
        let live: Vec<(i64, String, i64, Option<i64>)> = q(
            "SELECT id, number, amount, paid_by FROM invoices WHERE case_id = $1 AND withdrawn_at IS NULL ORDER BY id",
        )
        .bind(case)
        .fetch_all(&mut tx)
        .await?;
        let list = || {
            let shown: Vec<String> = live
                .iter()
                .map(|(id, n, a, _)| format!("{n} for {} (invoice {id})", Money::from_minor(*a).en()))
                .collect();
            shown.join(", ")
        };
        let replaced = match change {
            InvoiceChange::First if !live.is_empty() => {
                return Err(Error::invalid(format!(
                    "case {case} has {} already: a corrected bill replaces one (--replaces INVOICE), a further one is added (--also)",
                    list()
                )));
            }
            InvoiceChange::First | InvoiceChange::Also => None,
            InvoiceChange::Replaces(old) => match live.iter().find(|(id, ..)| *id == old) {
                Some((_, _, _, Some(_))) => {
                    return Err(Error::invalid(format!(
                        "invoice {old} of case {case} is paid already: it cannot be replaced"
                    )));
                }
                Some((id, number, amount, None)) => Some((*id, number.clone(), *amount)),
                None => {
                    return Err(Error::invalid(format!(
                        "invoice {old} is not a live invoice of case {case}; its live ones: {}",
                        if live.is_empty() { "none".to_string() } else { list() }
                    )));
                }
            },
        };
        let at = now();
        let (inn, account, bic) = new.bank.clone().map_or((None, None, None), |(a, b, c)| (Some(a), Some(b), Some(c)));
        let id: i64 = q("INSERT INTO invoices (case_id, number, date, amount, payee, payee_inn, payee_account, payee_bic, recorded_at, recorded_by, reason)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id")
        .bind(case)
        .bind(new.number.trim())
        .bind(new.date)
        .bind(new.amount.minor())
        .bind(new.payee.trim())
        .bind(inn.as_deref().map(str::trim))
        .bind(account.as_deref().map(str::trim))
        .bind(bic.as_deref().map(str::trim))
        .bind(at)
        .bind(&self.actor)
        .bind(reason)
        .scalar(&mut tx)
        .await?;
        if let Some((old, ..)) = &replaced {
            q("UPDATE invoices SET withdrawn_at = $1, replaced_by = $2, reason = COALESCE($3, reason) WHERE id = $4")
                .bind(at)
                .bind(id)
                .bind(reason)
                .bind(old)
                .execute(&mut tx)
                .await?;
        }
        let sum: i64 = q(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM invoices WHERE case_id = $1 AND withdrawn_at IS NULL",
        )
        .bind(case)
        .scalar(&mut tx)
        .await?;
        let (target, collected): (i64, i64) =
            q("SELECT target, collected FROM cases WHERE id = $1").bind(case).fetch_one(&mut tx).await?;
        if stage == Stage::Fundraising && sum < collected {
            return Err(Error::invalid(format!(
                "case {case}: its invoices would come to {}, less than the {} collected already; nothing was changed",
                Money::from_minor(sum).en(),
                Money::from_minor(collected).en()
            )));
        }
        q("UPDATE cases SET target = $1 WHERE id = $2").bind(sum).bind(case).execute(&mut tx).await?;
        audit::record(
            &mut tx,
            &self.actor,
            "case.invoice",
            "case",
            Some(case),
            Some(json!({"target": target, "replaced": replaced.as_ref().map(|(i, n, a)| json!({"invoice": i, "number": n, "amount": a}))})),
            Some(json!({"invoice": id, "number": new.number.trim(), "date": new.date, "amount": new.amount,
                        "payee": new.payee.trim(), "target": sum, "reason": reason})),
        )
        .await?;
        if stage == Stage::Fundraising && sum == collected {
            let why = format!(
                "invoice {} corrected: the target of {} is met",
                new.number.trim(),
                Money::from_minor(sum).en()
            );
            set_stage(&mut tx, &self.actor, case, Stage::Fundraising, Stage::Payment, &why).await?;
        }
        invariants::ensure(&mut tx, &invariants::Scope::Touched { donations: vec![], cases: vec![case] }).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The payee's INN, account and BIC for the case's invoice (for payment orders).
    pub async fn set_invoice_bank(&self, case: i64, inn: &str, account: &str, bic: &str) -> Result<()> {
        self.require(super::Act::Bookkeeping).await?;
        super::digits("payee INN", inn, &[10, 12])?;
        super::digits("payee account", account, &[20])?;
        super::digits("payee BIC", bic, &[9])?;
        let mut tx = self.begin_write().await?;
        let changed = q("UPDATE invoices SET payee_inn = $1, payee_account = $2, payee_bic = $3
                          WHERE id = (SELECT MAX(id) FROM invoices WHERE case_id = $4 AND withdrawn_at IS NULL)")
        .bind(inn.trim())
        .bind(account.trim())
        .bind(bic.trim())
        .bind(case)
        .execute(&mut tx)
        .await?;
        if changed == 0 {
            return Err(Error::invalid(format!("case {case} has no invoice yet: record it with `case invoice` first")));
        }
        audit::record(
            &mut tx,
            &self.actor,
            "case.invoice_bank",
            "case",
            Some(case),
            None,
            Some(json!({"inn": inn, "account": account, "bic": bic})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the payment order that paid the case's invoice (its only one still to pay); when
    /// no invoice is left to pay, payment → paid. Whether the case is paid now.
    pub async fn record_payment(&self, case: i64, number: &str, date: NaiveDate, amount: Money) -> Result<bool> {
        self.record_payment_for(case, None, number, date, amount).await
    }

    /// Records the payment order that paid invoice `invoice` of the case (or its only live one
    /// still to pay), for exactly that invoice's amount, else refused with both amounts shown.
    /// The case is paid when none of its live invoices is left to pay. Whether it is paid now.
    pub async fn record_payment_for(
        &self,
        case: i64,
        invoice: Option<i64>,
        number: &str,
        date: NaiveDate,
        amount: Money,
    ) -> Result<bool> {
        self.require(super::Act::Bookkeeping).await?;
        if number.trim().is_empty() {
            return Err(Error::invalid("the payment order needs its number"));
        }
        let mut tx = self.begin_write().await?;
        let (stage, _) = stage_of(&mut tx, case).await?;
        require_stage(case, stage, &[Stage::Payment], "recording a payment order")?;
        let unpaid: Vec<(i64, String, i64)> = q(
            "SELECT id, number, amount FROM invoices WHERE case_id = $1 AND withdrawn_at IS NULL AND paid_by IS NULL ORDER BY id",
        )
        .bind(case)
        .fetch_all(&mut tx)
        .await?;
        let shown = |list: &[(i64, String, i64)]| {
            let v: Vec<String> = list
                .iter()
                .map(|(id, n, a)| format!("{n} for {} (invoice {id})", Money::from_minor(*a).en()))
                .collect();
            v.join(", ")
        };
        let paying = match (invoice, unpaid.as_slice()) {
            (Some(id), list) => Some(list.iter().find(|(i, ..)| *i == id).cloned().ok_or_else(|| {
                Error::invalid(format!(
                    "invoice {id} is not one of case {case}'s invoices still to pay: {}",
                    if list.is_empty() { "none is".to_string() } else { shown(list) }
                ))
            })?),
            (None, [one]) => Some(one.clone()),
            (None, []) => None,
            (None, many) => {
                return Err(Error::invalid(format!(
                    "case {case} has {} invoices to pay: {}; say which this order pays (--invoice ID)",
                    many.len(),
                    shown(many)
                )));
            }
        };
        // A case with no invoice on record (before invoices were kept) is paid its target.
        let due = match &paying {
            Some((_, _, a)) => Money::from_minor(*a),
            None => Money::from_minor(q("SELECT target FROM cases WHERE id = $1").bind(case).scalar(&mut tx).await?),
        };
        if amount != due {
            let what = paying.as_ref().map_or("the target".to_string(), |(_, n, _)| format!("invoice {n}"));
            return Err(Error::invalid(format!(
                "case {case}: the payment order is for {} but {what} is for {}; check the order",
                amount.en(),
                due.en()
            )));
        }
        let order: i64 =
            q("INSERT INTO payment_orders (case_id, number, date, amount, recorded_by, recorded_at, invoice_id)
                            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
            .bind(case)
            .bind(number.trim())
            .bind(date)
            .bind(amount.minor())
            .bind(&self.actor)
            .bind(now())
            .bind(paying.as_ref().map(|(id, ..)| *id))
            .scalar(&mut tx)
            .await?;
        if let Some((id, ..)) = &paying {
            q("UPDATE invoices SET paid_by = $1 WHERE id = $2").bind(order).bind(id).execute(&mut tx).await?;
        }
        audit::record(
            &mut tx,
            &self.actor,
            "case.pay",
            "case",
            Some(case),
            None,
            Some(json!({"order": number, "date": date, "amount": amount, "invoice": paying.as_ref().map(|(id, ..)| *id)})),
        )
        .await?;
        let paid = unpaid.len() <= 1;
        if paid {
            let why = format!("payment order {}", number.trim());
            set_stage(&mut tx, &self.actor, case, Stage::Payment, Stage::Paid, &why).await?;
        }
        invariants::ensure(&mut tx, &invariants::Scope::Touched { donations: vec![], cases: vec![case] }).await?;
        tx.commit().await?;
        Ok(paid)
    }
}
