//! What an import records beside donations: each gift's processor fee, the payments the bank
//! returned, and the payment orders that paid a case's invoice (the case paid once none is left).

use super::super::cases::set_stage;
use super::super::db::Arg;
use super::super::import::RowStatus;
use super::super::{Tx, q};
use super::Decided;
use crate::domain::Stage;
use crate::error::Result;
use crate::import::Payment;

/// A processor's fee per gift (only its registers carry one), so reports can show gross, fee and
/// net; and the returned payments, kept for a person with the gift each takes back.
pub(super) async fn fees_and_returns(tx: &mut Tx, chunk: &[Payment], rows: &[Decided], batch: i64) -> Result<()> {
    for (p, _) in chunk.iter().zip(rows).filter(|(p, r)| r.status == RowStatus::New && p.fee.is_positive()) {
        q("UPDATE donations SET fee = $1 WHERE external_key = $2")
            .bind(p.fee.minor())
            .bind(&p.external_key)
            .execute(&mut *tx)
            .await?;
    }
    for (p, row) in chunk.iter().zip(rows).filter(|(_, r)| r.status == RowStatus::Returned) {
        q("INSERT INTO returns (batch_id, line, received_on, amount, currency, counterparty, purpose, external_key, donation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(batch)
        .bind(p.line as i64)
        .bind(p.booked.unwrap_or(p.date))
        .bind(p.amount.minor())
        .bind(p.currency.as_str())
        .bind(&p.counterparty().name)
        .bind(&p.purpose)
        .bind(&p.external_key)
        .bind(row.gift)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The payment orders of the outgoing payments that pay an invoice.
pub(super) async fn paid_invoices(
    tx: &mut Tx,
    actor: &str,
    chunk: &[Payment],
    rows: &[Decided],
    batch: i64,
    file: &str,
    created: &Arg,
) -> Result<()> {
    for (p, row) in chunk.iter().zip(rows) {
        let (Some(case), Some(invoice)) = (row.pays_case, row.pays_invoice) else { continue };
        // Paid meanwhile (by a line before in this same file): this one waits for a person.
        let open: Option<i64> =
            q("SELECT id FROM invoices WHERE id = $1 AND paid_by IS NULL").bind(invoice).scalar_optional(tx).await?;
        if open.is_none() {
            continue;
        }
        let date = p.booked.unwrap_or(p.date);
        let order: i64 = q(
            "INSERT INTO payment_orders (case_id, number, date, amount, recorded_by, recorded_at, batch_id, external_key, invoice_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(case)
        .bind(&p.number)
        .bind(date)
        .bind(p.amount.minor())
        .bind(actor)
        .bind(created)
        .bind(batch)
        .bind(&p.external_key)
        .bind(invoice)
        .scalar(tx)
        .await?;
        q("UPDATE invoices SET paid_by = $1 WHERE id = $2").bind(order).bind(invoice).execute(tx).await?;
        q("INSERT INTO documents (case_id, kind, file_name, sha256, added_at, added_by) VALUES ($1, 'payment_order', $2, $3, $4, $5)")
            .bind(case)
            .bind(format!("{file}, line {}", p.line))
            .bind(&p.external_key)
            .bind(created)
            .bind(actor)
            .execute(tx)
            .await?;
        // Paid when none of its live invoices is left to pay (a second course may be).
        let left: i64 =
            q("SELECT COUNT(*) FROM invoices WHERE case_id = $1 AND withdrawn_at IS NULL AND paid_by IS NULL")
                .bind(case)
                .scalar(tx)
                .await?;
        if left == 0 {
            let reason = format!("payment order {} of {date} in {file}", p.number);
            set_stage(tx, actor, case, Stage::Payment, Stage::Paid, &reason).await?;
        }
    }
    Ok(())
}
