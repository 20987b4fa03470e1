//! The bookkeepers' payments queue: cases in `payment`, oldest first, with
//! the invoice to pay; `pay ORDER DATE` records the payment order.

use chrono::NaiveDate;

use super::command::{Command, Place};
use super::{App, AppResult};
use crate::domain::{Case, Invoice, Money};
use crate::store::Store;

#[derive(Debug, Clone, Default)]
pub struct Queue {
    pub rows: Vec<(Case, Option<Invoice>)>,
    pub selected: usize,
}

impl Queue {
    pub async fn load(&mut self, store: &Store) -> AppResult {
        self.rows = store.payments_queue(10_000).await.map_err(|e| e.to_string())?;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        Ok(())
    }
}

/// Records the payment order for `case`'s first invoice still to pay, for that invoice's amount
/// (the one the queue shows); a case with no invoice on record is paid its target.
pub async fn pay(app: &mut App, case: i64, order: String, date: NaiveDate) -> AppResult {
    let file = app.store.case_file(case).await.map_err(|e| e.to_string())?;
    let invoice = file.invoices.iter().find(|i| i.live && !i.paid);
    let amount: Money = invoice.map_or(file.case.target, |i| i.amount);
    let paid = app
        .store
        .record_payment_for(case, invoice.map(|i| i.id), &order, date, amount)
        .await
        .map_err(|e| e.to_string())?;
    let what = invoice.map(|i| format!("invoice {}", i.number)).unwrap_or_else(|| "the target".into());
    let then = if paid { "the case is paid" } else { "another invoice is still to pay" };
    app.set_info(format!("case {case}: payment order {order} of {date} for {} pays {what} — {then}", amount.en()));
    app.after_write().await
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let n = app.payments.rows.len();
    let q = &mut app.payments;
    match cmd {
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => {
            q.selected = super::list_move(q.selected, n, &cmd);
        }
        Command::Open => {
            let id = q.rows.get(q.selected).map(|r| r.0.id).ok_or("nothing waiting for payment")?;
            return app.run(Command::Goto(Place::Case(id))).await;
        }
        Command::Pay { order, date } => {
            let id = q.rows.get(q.selected).map(|r| r.0.id).ok_or("nothing waiting for payment")?;
            return pay(app, id, order, date).await;
        }
        Command::Filter(_) => return Err("the payments queue has no filter: it is short by nature".into()),
        other => return app.not_here(&other),
    }
    Ok(())
}
