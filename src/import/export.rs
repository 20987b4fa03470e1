//! Payment orders out: a 1CClientBankExchange file (`1c_to_kl`) the bank
//! client loads, one payment order per invoice. CP1251 with CRLF, as bank
//! clients expect.

use chrono::{NaiveDate, NaiveTime};
use encoding_rs::WINDOWS_1251;

use crate::domain::Money;

/// The foundation, as the payer.
#[derive(Debug, Clone)]
pub struct Payer {
    pub name: String,
    pub inn: String,
    pub account: String,
}

/// One invoice to pay.
#[derive(Debug, Clone)]
pub struct Order {
    pub number: i64,
    pub amount: Money,
    pub payee: String,
    pub payee_inn: String,
    pub payee_account: String,
    pub payee_bic: String,
    pub purpose: String,
}

/// Values never carry line breaks or `=` surprises into the file.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

pub fn payment_orders_1c(payer: &Payer, orders: &[Order], today: NaiveDate, now: NaiveTime) -> Vec<u8> {
    let d = today.format("%d.%m.%Y").to_string();
    let mut lines = vec![
        "1CClientBankExchange".to_string(),
        "ВерсияФормата=1.03".into(),
        "Кодировка=Windows".into(),
        "Отправитель=almoner".into(),
        "Получатель=".into(),
        format!("ДатаСоздания={d}"),
        format!("ВремяСоздания={}", now.format("%H:%M:%S")),
        format!("ДатаНачала={d}"),
        format!("ДатаКонца={d}"),
        format!("РасчСчет={}", clean(&payer.account)),
        "Документ=Платежное поручение".into(),
    ];
    for o in orders {
        lines.extend([
            "СекцияДокумент=Платежное поручение".to_string(),
            format!("Номер={}", o.number),
            format!("Дата={d}"),
            format!("Сумма={}", o.amount.plain()),
            format!("ПлательщикСчет={}", clean(&payer.account)),
            format!("Плательщик=ИНН {} {}", clean(&payer.inn), clean(&payer.name)),
            format!("ПлательщикИНН={}", clean(&payer.inn)),
            format!("Плательщик1={}", clean(&payer.name)),
            format!("ПлательщикРасчСчет={}", clean(&payer.account)),
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
