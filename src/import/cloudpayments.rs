//! CloudPayments transaction exports (CSV or XLSX; see `../shared/FORMATS.md`).
//! Columns are found by header name, in any order and case, so a changed
//! export layout still reads. Only completed, non-test payments are
//! donations; a refund is linked to the payment it returns through
//! `OriginalTransactionId`; `SubscriptionId` marks a recurring donor.

use super::table::{self, Row, Table};
use super::{Direction, Format, LineError, Party, Payment, Register, Rejected, key};
use crate::domain::{Currency, Money};

/// Does this row look like a CloudPayments header?
pub fn is_header(cells: &[String]) -> bool {
    let has = |name: &str| cells.iter().any(|c| normal(c) == normal(name));
    has("TransactionId") && has("Amount")
}

/// Header names compared without case, spaces or underscores.
fn normal(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, ' ' | '_' | '\u{feff}')).flat_map(char::to_lowercase).collect()
}

struct Columns {
    names: Vec<String>,
}

impl Columns {
    fn index(&self, candidates: &[&str]) -> Option<usize> {
        candidates.iter().find_map(|c| self.names.iter().position(|n| *n == normal(c)))
    }
    fn get<'r>(&self, row: &'r Row, candidates: &[&str]) -> Option<&'r str> {
        let i = self.index(candidates)?;
        row.cells.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

const DATES: &[&str] =
    &["ConfirmDateIso", "ConfirmDate", "AuthDateIso", "AuthDate", "CreatedDateIso", "CreatedDate", "DateTime", "Date"];

fn yes(v: Option<&str>) -> bool {
    v.is_some_and(|v| matches!(v.to_lowercase().as_str(), "true" | "1" | "yes" | "да"))
}

enum Kind {
    Payment,
    Refund,
    Payout,
}

fn kind(row: &Row, cols: &Columns) -> Result<Kind, String> {
    let raw = cols.get(row, &["Type", "OperationType"]);
    Ok(match raw.map(str::to_lowercase).as_deref() {
        None if cols.get(row, &["OriginalTransactionId"]).is_some() => Kind::Refund,
        None | Some("0" | "payment" | "оплата" | "платеж" | "платёж") => Kind::Payment,
        Some("1" | "refund" | "возврат") => Kind::Refund,
        Some("2" | "cardpayout" | "выплата") => Kind::Payout,
        Some(_) => return Err(format!("operation type {:?} is not known", raw.unwrap_or_default())),
    })
}

pub fn parse(table: Table) -> Result<Register, Rejected> {
    let header_at = table.rows.iter().position(|r| is_header(&r.cells)).ok_or_else(|| Rejected::Structure {
        line: 1,
        message: "no CloudPayments header row (with TransactionId and Amount columns) was found".into(),
    })?;
    let cols = Columns { names: table.rows[header_at].cells.iter().map(|c| normal(c)).collect() };
    let mut reg = Register {
        format: Format::CloudPayments,
        encoding: table.encoding,
        payments: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        checks: Vec::new(),
    };
    let (mut unfinished, mut tests) = (Vec::new(), Vec::new());
    for row in &table.rows[header_at + 1..] {
        if row.cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if yes(cols.get(row, &["TestMode"])) {
            tests.push(row.line);
            continue;
        }
        if let Some(status) = cols.get(row, &["Status"])
            && !matches!(
                status.to_lowercase().as_str(),
                "completed" | "завершена" | "завершен" | "завершён" | "успешно"
            )
        {
            unfinished.push(row.line);
            continue;
        }
        match payment(row, &cols) {
            Ok(p) => reg.payments.push(p),
            Err(message) => reg.errors.push(LineError { line: row.line, message }),
        }
    }
    let lines = |v: &[usize]| {
        let shown: Vec<String> = v.iter().take(10).map(usize::to_string).collect();
        format!("{}{}", shown.join(", "), if v.len() > 10 { ", …" } else { "" })
    };
    if !unfinished.is_empty() {
        let message = format!(
            "{} transaction(s) not completed (declined, cancelled or only authorised) are not money received: lines {}",
            unfinished.len(),
            lines(&unfinished)
        );
        reg.warnings.push(LineError { line: unfinished[0], message });
    }
    if !tests.is_empty() {
        let message = format!("{} test transaction(s) skipped: lines {}", tests.len(), lines(&tests));
        reg.warnings.push(LineError { line: tests[0], message });
    }
    Ok(reg)
}

fn payment(row: &Row, cols: &Columns) -> Result<Payment, String> {
    let id = cols.get(row, &["TransactionId"]).ok_or("the row has no TransactionId")?;
    let raw_amount = cols.get(row, &["Amount"]).ok_or("the row has no Amount")?;
    let (minor, rounded) = table::signed_amount(raw_amount, None)?;
    if rounded {
        return Err(format!("amount {raw_amount:?} has more than two decimals"));
    }
    let amount = Money::from_minor(minor.abs());
    if amount.is_zero() {
        return Err("the amount is zero".into());
    }
    let currency = match cols.get(row, &["Currency"]) {
        Some(c) => c.parse::<Currency>().map_err(|_| format!("currency {c:?} is not known"))?,
        None => Currency::RUB,
    };
    let date_raw = DATES.iter().find_map(|d| cols.get(row, &[d])).ok_or("the row has no date")?;
    let date = table::date(date_raw, None).ok_or_else(|| format!("date {date_raw:?} cannot be read"))?;
    let email = cols.get(row, &["Email"]).or_else(|| cols.get(row, &["AccountId"]).filter(|a| a.contains('@')));
    let name = cols.get(row, &["Name"]).filter(|n| !n.eq_ignore_ascii_case("CARD HOLDER"));
    let payer = Party {
        name: name.or(email).unwrap_or_default().to_string(),
        email: email.map(str::to_string),
        phone: cols.get(row, &["Phone"]).map(str::to_string),
        ..Party::default()
    };
    // The processor's fee, kept per gift so gross, fee and net can be reported.
    let fee = match cols.get(row, &["TotalFee", "Fee", "Комиссия"]) {
        None => Money::ZERO,
        Some(raw) => match table::signed_amount(raw, None)? {
            (minor, false) if (0..=amount.minor()).contains(&minor.abs()) => Money::from_minor(minor.abs()),
            _ => return Err(format!("fee {raw:?} is not an amount from 0 to the payment's {}", amount.en())),
        },
    };
    let (direction, refund_of) = match kind(row, cols)? {
        Kind::Payment => (Direction::Incoming, None),
        Kind::Refund => {
            let original = cols.get(row, &["OriginalTransactionId"]).ok_or("a refund without OriginalTransactionId")?;
            (Direction::Outgoing, Some(key(Format::CloudPayments, &[original])))
        }
        Kind::Payout => (Direction::Outgoing, None),
    };
    Ok(Payment {
        line: row.line,
        direction,
        date,
        booked: None,
        number: id.to_string(),
        amount,
        currency,
        payer,
        payee: Party::default(),
        purpose: cols.get(row, &["Description"]).unwrap_or_default().to_string(),
        own_account: cols.get(row, &["PublicId"]).map(str::to_string),
        external_key: key(Format::CloudPayments, &[id]),
        subscription: cols.get(row, &["SubscriptionId"]).map(str::to_string),
        refund_of,
        fee,
    })
}

#[cfg(test)]
mod tests {
    use crate::domain::Money;
    use crate::import::{Direction, Format, parse};

    const EXPORT: &str = "TransactionId;Amount;Currency;CreatedDateIso;Email;Name;Description;SubscriptionId;Status;Type;TestMode;OriginalTransactionId\n\
        101;500.00;RUB;2026-03-01T10:00:00;anna@example.org;ANNA IVANOVA;Заявка 7;sc_1;Completed;0;false;\n\
        102;300.00;RUB;2026-03-01T11:00:00;boris@example.org;CARD HOLDER;;;Declined;0;false;\n\
        103;100.00;RUB;2026-03-02T09:00:00;test@example.org;TEST;;;Completed;0;true;\n\
        104;500.00;RUB;2026-03-03T09:00:00;anna@example.org;ANNA IVANOVA;;;Completed;1;false;101\n\
        105;abc;RUB;2026-03-03T09:00:00;;;;;Completed;0;false;\n";

    #[test]
    fn only_completed_real_payments_are_donations_and_refunds_are_linked() {
        let reg = parse(EXPORT.as_bytes(), None).unwrap();
        assert_eq!(reg.format, Format::CloudPayments);
        assert_eq!(reg.payments.len(), 2, "{:?}", reg.payments);
        let (pay, refund) = (&reg.payments[0], &reg.payments[1]);
        assert_eq!(
            (pay.direction, pay.amount.plain(), pay.subscription.as_deref()),
            (Direction::Incoming, "500.00".into(), Some("sc_1"))
        );
        assert_eq!(pay.payer.email.as_deref(), Some("anna@example.org"));
        assert_eq!(pay.fee, Money::ZERO, "no TotalFee column, no fee");
        assert_eq!(refund.refund_of.as_deref(), Some(pay.external_key.as_str()));
        assert_eq!(reg.errors.len(), 1);
        assert_eq!(reg.errors[0].line, 6);
        assert_eq!(reg.warnings.len(), 2, "declined and test rows are said, not imported: {:?}", reg.warnings);
    }
}
