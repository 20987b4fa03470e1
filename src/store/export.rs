//! Payment orders due: what `almoner payments export` writes for the bank.

use super::{Store, q};
use crate::domain::Money;
use crate::error::{Error, Result};
use crate::import::export::{Order, Payer};

/// case, invoice number, date, amount, payee INN, account, BIC, payee, child.
type DueRow = (i64, String, String, i64, Option<String>, Option<String>, Option<String>, String, String);

impl Store {
    /// Payment orders for every case in `payment` whose invoice has the
    /// payee's bank details; the cases without them are named, not skipped silently.
    pub async fn payment_orders_due(&self) -> Result<(Payer, Vec<Order>)> {
        self.require(super::Act::Bookkeeping).await?;
        let settings = self.settings().await?;
        let get = |k: &str| settings.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let (Some(name), Some(inn), Some(account)) =
            (get("foundation_name"), get("foundation_inn"), get("foundation_account"))
        else {
            return Err(Error::invalid(
                "the foundation's own details are not set: almoner config set foundation_name …, foundation_inn …, foundation_account …",
            ));
        };
        let rows: Vec<DueRow> = q(
            "SELECT c.id, i.number, CAST(i.date AS TEXT), i.amount, i.payee_inn, i.payee_account, i.payee_bic, i.payee, b.full_name
             FROM cases c JOIN invoices i ON i.case_id = c.id JOIN beneficiaries b ON b.id = c.beneficiary_id
             WHERE c.stage = 'payment' ORDER BY c.stage_since, c.id",
        )
        .fetch_all(&mut self.conn().await?)
        .await?;
        let mut orders = Vec::new();
        let mut missing = Vec::new();
        for (case, number, date, amount, inn, acc, bic, payee, child) in rows {
            match (inn, acc, bic) {
                (Some(payee_inn), Some(payee_account), Some(payee_bic)) => orders.push(Order {
                    number: case,
                    amount: Money::from_minor(amount),
                    payee,
                    payee_inn,
                    payee_account,
                    payee_bic,
                    purpose: format!("Оплата по счету {number} от {date} за лечение: {child} (заявка {case}). Без НДС"),
                }),
                _ => missing.push(case.to_string()),
            }
        }
        if !missing.is_empty() {
            return Err(Error::invalid(format!(
                "the invoices of case {} lack the payee's INN, account or BIC: add them with `case invoice ID … --payee-inn … --payee-account … --payee-bic …`; nothing was written",
                missing.join(", ")
            )));
        }
        Ok((Payer { name, inn, account }, orders))
    }
}
