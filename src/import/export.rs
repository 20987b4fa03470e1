//! Payment orders out: a 1CClientBankExchange file (`1c_to_kl`) the bank
//! client loads, one payment order per invoice. CP1251 with CRLF, as bank
//! clients expect; every date `ДД.ММ.ГГГГ`, every amount with a dot and two decimals.

use chrono::{DateTime, Local, NaiveDate, NaiveTime, Utc};
use encoding_rs::WINDOWS_1251;

use crate::domain::Money;

/// The foundation, as the payer: its own details and its bank's (the `foundation_*` settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    pub name: String,
    pub inn: String,
    pub kpp: String,
    pub account: String,
    /// The bank's name, BIC and correspondent account.
    pub bank: String,
    pub bic: String,
    pub corr_account: String,
}

/// One invoice to pay, as one payment order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The order's number: given once, to this invoice only (see `Store::export_payment_orders`).
    pub number: i64,
    /// The order's date: the day it was first exported (an order written again keeps it).
    pub date: NaiveDate,
    /// The case whose invoice it pays.
    pub case: i64,
    pub amount: Money,
    pub payee: String,
    pub payee_inn: String,
    pub payee_account: String,
    pub payee_bic: String,
    pub purpose: String,
}

/// A bank gives effect to a payment order within 10 days of its date (the day itself not counted).
const ORDER_VALID_DAYS: i64 = 10;

/// An order written to a file before, as a later export tells of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedBefore {
    /// The order as exported then (number, case).
    pub number: i64,
    pub case: i64,
    /// The order's own date.
    pub date: NaiveDate,
    /// Its last export: when, by whom, to which file; and how many files it went into in all.
    pub at: DateTime<Utc>,
    pub by: String,
    pub file: String,
    pub times: i64,
    /// `Some(new number)` when the invoice changed since, so that this export gives it a new
    /// order; `None` when the same order is written again.
    pub replaced_by: Option<i64>,
}

impl ExportedBefore {
    /// `order 17 for case 201 was exported on 02.11.2026 at 10:00 by anna to orders.txt: …`.
    pub fn note(&self, today: NaiveDate) -> String {
        let at = self.at.with_timezone(&Local);
        let mut when = format!(
            "exported on {} at {} by {} to {}",
            day(at.date_naive()),
            at.format("%H:%M"),
            crate::text::inert(&self.by),
            crate::text::inert(&self.file)
        );
        if self.times > 1 {
            when = format!("last {when} ({} exports in all)", self.times);
        }
        match self.replaced_by {
            None => {
                let mut note = format!(
                    "order {} for case {} was {when}: written again with the same number and date ({})",
                    self.number,
                    self.case,
                    day(self.date)
                );
                if (today - self.date).num_days() > ORDER_VALID_DAYS {
                    note.push_str(&format!(
                        "; a bank takes an order within {ORDER_VALID_DAYS} days of its date, and this one is older"
                    ));
                }
                note
            }
            Some(new) => format!(
                "order {} for case {} was {when}, but the case's invoice has changed since: it is order {new} now; make sure the bank does not carry out order {} too",
                self.number, self.case, self.number
            ),
        }
    }
}

/// What an export wrote: the payer, the orders (in the file's order), and which of them (or
/// which earlier orders of their cases) were exported before.
#[derive(Debug, Clone)]
pub struct PaymentOrders {
    pub payer: Payer,
    pub orders: Vec<Order>,
    pub before: Vec<ExportedBefore>,
}

impl PaymentOrders {
    pub fn total(&self) -> Money {
        self.orders.iter().map(|o| o.amount).sum()
    }
}

/// A date as 1C files and payment purposes write it: `ДД.ММ.ГГГГ`.
pub fn day(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// Values never carry line breaks or `=` surprises into the file.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// The file: created `today` at `now`; its period runs from the oldest order's date to today.
pub fn payment_orders_1c(payer: &Payer, orders: &[Order], today: NaiveDate, now: NaiveTime) -> Vec<u8> {
    let d = day(today);
    let first = orders.iter().map(|o| o.date).min().map_or(today, |o| o.min(today));
    let last = orders.iter().map(|o| o.date).max().map_or(today, |o| o.max(today));
    let account = clean(&payer.account);
    let mut lines = vec![
        "1CClientBankExchange".to_string(),
        "ВерсияФормата=1.03".into(),
        "Кодировка=Windows".into(),
        "Отправитель=almoner".into(),
        "Получатель=".into(),
        format!("ДатаСоздания={d}"),
        format!("ВремяСоздания={}", now.format("%H:%M:%S")),
        format!("ДатаНачала={}", day(first)),
        format!("ДатаКонца={}", day(last)),
        format!("РасчСчет={account}"),
        "Документ=Платежное поручение".into(),
    ];
    for o in orders {
        lines.extend([
            "СекцияДокумент=Платежное поручение".to_string(),
            format!("Номер={}", o.number),
            format!("Дата={}", day(o.date)),
            format!("Сумма={}", o.amount.plain()),
            format!("ПлательщикСчет={account}"),
            format!("Плательщик=ИНН {} {}", clean(&payer.inn), clean(&payer.name)),
            format!("ПлательщикИНН={}", clean(&payer.inn)),
            format!("ПлательщикКПП={}", clean(&payer.kpp)),
            format!("Плательщик1={}", clean(&payer.name)),
            format!("ПлательщикРасчСчет={account}"),
            format!("ПлательщикБанк1={}", clean(&payer.bank)),
            format!("ПлательщикБИК={}", clean(&payer.bic)),
            format!("ПлательщикКорсчет={}", clean(&payer.corr_account)),
            format!("ПолучательСчет={}", clean(&o.payee_account)),
            format!("Получатель=ИНН {} {}", clean(&o.payee_inn), clean(&o.payee)),
            format!("ПолучательИНН={}", clean(&o.payee_inn)),
            format!("Получатель1={}", clean(&o.payee)),
            format!("ПолучательРасчСчет={}", clean(&o.payee_account)),
            format!("ПолучательБИК={}", clean(&o.payee_bic)),
            "ВидПлатежа=Электронно".into(),
            "ВидОплаты=01".into(),
            "Очередность=5".into(),
            format!("НазначениеПлатежа={}", clean(&o.purpose)),
            "КонецДокумента".into(),
        ]);
    }
    lines.push("КонецФайла".into());
    let text = lines.join("\r\n") + "\r\n";
    WINDOWS_1251.encode(&text).0.into_owned()
}
