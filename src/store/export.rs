//! Payment orders due: what `almoner payments export` writes for the bank.
//!
//! Every order gets its number from the database, in the write transaction that records it
//! (`payment_order_numbers`, migration 0026): the largest number given so far plus one, so two
//! exports, even from two machines, never share a number, and a number once given is never given
//! to another invoice. An invoice exported before and still unpaid is written again as the same
//! document: the same number and the same date, so the bank client sees the order it already
//! knows. An invoice changed since (amount, number, date, payee or its bank details) is another
//! document and gets a new number; the export says so. Each file an order went into is kept
//! (`payment_order_exports`): when, by whom, which file.

use std::path::Path;

use chrono::{DateTime, Local, NaiveDate, Utc};
use serde_json::json;

use super::{Exec, Store, audit, q};
use crate::domain::Money;
use crate::error::{Error, Result};
use crate::import::export::{ExportedBefore, Order, Payer, PaymentOrders, day, payment_orders_1c};

/// The foundation's details a payment order needs: setting, what it is.
const PAYER_SETTINGS: [(&str, &str); 7] = [
    ("foundation_name", "the foundation's name"),
    ("foundation_inn", "its INN, 10 or 12 digits"),
    ("foundation_kpp", "its KPP, 9 digits"),
    ("foundation_account", "its settlement account, 20 digits"),
    ("foundation_bank", "its bank's name"),
    ("foundation_bic", "its bank's BIC, 9 digits"),
    ("foundation_corr_account", "its bank's correspondent account, 20 digits"),
];

/// case, invoice number, date, amount, payee, payee INN, account, BIC, child.
type DueRow = (i64, String, NaiveDate, i64, String, Option<String>, Option<String>, Option<String>, String);

/// An invoice due, with the payee's bank details.
struct Due {
    case: i64,
    invoice: String,
    invoice_date: NaiveDate,
    amount: i64,
    payee: String,
    inn: String,
    account: String,
    bic: String,
    child: String,
}

/// number, order date, last export at, by, file, exports in all, same invoice as now (0/1).
type PriorRow = (i64, NaiveDate, DateTime<Utc>, String, String, i64, i64);

impl Store {
    /// The payment orders an export would write now, without writing or numbering anything: an
    /// order exported before carries its number and date; a new one has number 0 (it is numbered
    /// when exported) and today's date. Refused as the export is (the foundation's details
    /// missing, an invoice without the payee's bank details).
    pub async fn payment_orders_due(&self) -> Result<(Payer, Vec<Order>)> {
        self.require(super::Act::Bookkeeping).await?;
        let today = Local::now().date_naive();
        let mut conn = self.conn().await?;
        let payer = payer(&mut conn).await?;
        let mut orders = Vec::new();
        for d in due(&mut conn).await? {
            let last = prior(&mut conn, d.case, &d.invoice).await?.into_iter().next();
            let (number, date) = match last.filter(|p| p.6 == 1) {
                Some(p) => (p.0, p.1),
                None => (0, today),
            };
            orders.push(order(d, number, date));
        }
        Ok((payer, orders))
    }

    /// Writes a payment order per invoice of every case in `payment` to `file` (1C, `1c_to_kl`),
    /// numbering the new ones and recording every order written, in one transaction: the file is
    /// written before it commits, and nothing is recorded if it cannot be. Refused, with nothing
    /// written, while a foundation detail the bank needs is missing (each is named with the
    /// command that sets it) or an invoice lacks the payee's bank details.
    pub async fn export_payment_orders(&self, file: &Path, now: DateTime<Local>) -> Result<PaymentOrders> {
        self.require(super::Act::Bookkeeping).await?;
        let today = now.date_naive();
        let at = now.with_timezone(&Utc);
        let file_name = file.display().to_string();
        let mut tx = self.begin_write().await?;
        let payer = payer(&mut tx).await?;
        let due = due(&mut tx).await?;
        if due.is_empty() {
            return Err(Error::invalid("no case is waiting for payment: nothing to export"));
        }
        let mut next: i64 =
            q("SELECT CAST(COALESCE(MAX(number), 0) AS BIGINT) FROM payment_order_numbers").scalar(&mut tx).await?;
        let mut orders = Vec::new();
        let mut before = Vec::new();
        for d in due {
            let case = d.case;
            // The case's newest order, if it is for the invoice as it stands, is written again;
            // otherwise (none yet, or the invoice changed since) the invoice gets a new number.
            let last = prior(&mut tx, case, &d.invoice).await?.into_iter().next();
            let o = match last.as_ref().filter(|p| p.6 == 1) {
                Some(p) => order(d, p.0, p.1),
                None => {
                    next += 1;
                    q("INSERT INTO payment_order_numbers
                         (number, case_id, order_date, invoice_number, invoice_date, amount, payee, payee_inn, payee_account, payee_bic, created_by, created_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                    .bind(next)
                    .bind(case)
                    .bind(today)
                    .bind(&d.invoice)
                    .bind(d.invoice_date)
                    .bind(d.amount)
                    .bind(&d.payee)
                    .bind(&d.inn)
                    .bind(&d.account)
                    .bind(&d.bic)
                    .bind(&self.actor)
                    .bind(at)
                    .execute(&mut tx)
                    .await?;
                    order(d, next, today)
                }
            };
            if let Some((number, date, then, by, to, times, _)) = last {
                let replaced_by = (number != o.number).then_some(o.number);
                before.push(ExportedBefore { number, case, date, at: then, by, file: to, times, replaced_by });
            }
            q("INSERT INTO payment_order_exports (number, file_name, exported_by, exported_at) VALUES ($1, $2, $3, $4)")
                .bind(o.number)
                .bind(&file_name)
                .bind(&self.actor)
                .bind(at)
                .execute(&mut tx)
                .await?;
            audit::record(
                &mut tx,
                &self.actor,
                "case.payment_order_export",
                "case",
                Some(case),
                None,
                Some(json!({"number": o.number, "date": o.date, "amount": o.amount, "file": file_name})),
            )
            .await?;
            orders.push(o);
        }
        let bytes = payment_orders_1c(&payer, &orders, today, now.time());
        // Written beside, then renamed: a cut-off run never leaves half a file for the bank. The
        // file is in place before the numbers are committed; if the commit fails, it is removed.
        let tmp = file.with_extension("part");
        let written = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, file));
        if let Err(source) = written {
            let _ = std::fs::remove_file(&tmp);
            tx.rollback().await?;
            return Err(Error::File { path: file.to_path_buf(), source });
        }
        if let Err(e) = tx.commit().await {
            let _ = std::fs::remove_file(file);
            return Err(e);
        }
        Ok(PaymentOrders { payer, orders, before })
    }
}

/// The foundation as payer, from the settings; refused naming every detail missing.
async fn payer(conn: &mut impl Exec) -> Result<Payer> {
    let set: Vec<(String, String)> =
        q("SELECT key, value FROM settings WHERE key LIKE 'foundation_%'").fetch_all(conn).await?;
    let get = |k: &str| set.iter().find(|(key, v)| key == k && !v.trim().is_empty()).map(|(_, v)| v.trim().to_string());
    let missing: Vec<_> = PAYER_SETTINGS.iter().filter(|(k, ..)| get(k).is_none()).collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|(k, ..)| *k).collect();
        let commands: Vec<String> =
            missing.iter().map(|(k, what)| format!("  almoner config set {k} …   ({what})")).collect();
        return Err(Error::invalid(format!(
            "the foundation's own details are not set: {} missing, and a payment order needs them; nothing was written. Set them:\n{}",
            names.join(", "),
            commands.join("\n")
        )));
    }
    let v = |k: &str| get(k).unwrap_or_default();
    Ok(Payer {
        name: v("foundation_name"),
        inn: v("foundation_inn"),
        kpp: v("foundation_kpp"),
        account: v("foundation_account"),
        bank: v("foundation_bank"),
        bic: v("foundation_bic"),
        corr_account: v("foundation_corr_account"),
    })
}

/// The invoices of every case in `payment`, oldest in the stage first; refused naming the
/// cases whose invoice lacks the payee's bank details (none is skipped silently).
async fn due(conn: &mut impl Exec) -> Result<Vec<Due>> {
    let rows: Vec<DueRow> = q(
        "SELECT c.id, i.number, i.date, i.amount, i.payee, i.payee_inn, i.payee_account, i.payee_bic, b.full_name
         FROM cases c JOIN invoices i ON i.case_id = c.id JOIN beneficiaries b ON b.id = c.beneficiary_id
         WHERE c.stage = 'payment' AND i.withdrawn_at IS NULL AND i.paid_by IS NULL ORDER BY c.stage_since, c.id, i.id",
    )
    .fetch_all(conn)
    .await?;
    let mut due = Vec::new();
    let mut missing = Vec::new();
    for (case, invoice, invoice_date, amount, payee, inn, acc, bic, child) in rows {
        match (inn, acc, bic) {
            (Some(inn), Some(account), Some(bic)) => {
                due.push(Due { case, invoice, invoice_date, amount, payee, inn, account, bic, child })
            }
            _ => missing.push(case.to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(Error::invalid(format!(
            "the invoices of case {} lack the payee's INN, account or BIC: add them with `case invoice ID … --payee-inn … --payee-account … --payee-bic …`; nothing was written",
            missing.join(", ")
        )));
    }
    Ok(due)
}

/// The orders given to `case`'s invoice numbered `invoice` before, newest first, each with its
/// last export and whether it is for that invoice as it stands now (1) or as it was (0). (A case
/// may have several invoices, a second course say: each has orders of its own.)
async fn prior(conn: &mut impl Exec, case: i64, invoice: &str) -> Result<Vec<PriorRow>> {
    q("SELECT n.number, n.order_date, e.exported_at, e.exported_by, e.file_name,
              (SELECT COUNT(*) FROM payment_order_exports x WHERE x.number = n.number),
              CAST(CASE WHEN i.case_id IS NOT NULL THEN 1 ELSE 0 END AS BIGINT)
       FROM payment_order_numbers n
       JOIN payment_order_exports e ON e.id = (SELECT MAX(id) FROM payment_order_exports x WHERE x.number = n.number)
       LEFT JOIN invoices i ON i.case_id = n.case_id AND i.withdrawn_at IS NULL AND i.number = n.invoice_number AND i.date = n.invoice_date
            AND i.amount = n.amount AND i.payee = n.payee AND i.payee_inn = n.payee_inn
            AND i.payee_account = n.payee_account AND i.payee_bic = n.payee_bic
       WHERE n.case_id = $1 AND n.invoice_number = $2 ORDER BY n.number DESC")
    .bind(case)
    .bind(invoice)
    .fetch_all(conn)
    .await
}

fn order(d: Due, number: i64, date: NaiveDate) -> Order {
    Order {
        number,
        date,
        case: d.case,
        amount: Money::from_minor(d.amount),
        purpose: format!(
            "Оплата по счету {} от {} за лечение: {} (заявка {}). Без НДС",
            d.invoice,
            day(d.invoice_date),
            d.child,
            d.case
        ),
        payee: d.payee,
        payee_inn: d.inn,
        payee_account: d.account,
        payee_bic: d.bic,
    }
}
