//! The values inside elements: days, amounts (rounded to the kopeck where a bank gives more
//! places), and a transaction's parties and purpose.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use super::El;
use super::xml::{at, children, first_text, text};
use crate::domain::Money;
use crate::import::{Party, Payment};

/// The calendar date of an ISO date or date-time.
pub(super) fn day(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim().get(..10)?, "%Y-%m-%d").ok()
}

/// A decimal amount with `.`; more than two places are rounded to the kopeck (and said so).
pub(super) fn amount(raw: &str) -> Result<(Money, bool), String> {
    let dec: Decimal = raw.trim().parse().map_err(|_| format!("amount {raw:?} is not a number"))?;
    if dec.is_sign_negative() {
        return Err(format!("amount {raw:?} is negative; camt gives the sign in CdtDbtInd"));
    }
    let rounded = dec.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    let money = Money::from_decimal(rounded)
        .filter(|m| *m <= Money::MAX)
        .ok_or_else(|| format!("amount {raw:?} is out of range (more than {})", Money::MAX.plain()))?;
    Ok((money, rounded != dec))
}

/// Kopecks summed wide, back to money (sums of many entries cannot overflow on the way).
pub(super) fn money(minor: i128) -> Money {
    Money::from_minor(minor.clamp(i64::MIN.into(), i64::MAX.into()) as i64)
}

/// Counterparty and remittance text from a transaction's details.
pub(super) fn details_of(mut p: Payment, tx: Option<El>) -> Payment {
    let Some(tx) = tx else { return p };
    let party = |role: &str| Party {
        name: first_text(tx, &[&format!("RltdPties/{role}/Nm"), &format!("RltdPties/{role}/Pty/Nm")])
            .or_else(|| text(tx, &format!("RltdPties/Ultmt{role}/Nm")))
            .unwrap_or_default(),
        inn: None,
        account: first_text(
            tx,
            &[&format!("RltdPties/{role}Acct/Id/IBAN"), &format!("RltdPties/{role}Acct/Id/Othr/Id")],
        ),
        ..Party::default()
    };
    p.payer = party("Dbtr");
    p.payee = party("Cdtr");
    let unstructured: Vec<String> = at(tx, "RmtInf")
        .map(|r| children(r, "Ustrd").filter_map(|u| u.text()).map(|t| t.trim().to_string()).collect())
        .unwrap_or_default();
    let purpose = if unstructured.is_empty() {
        first_text(tx, &["RmtInf/Strd/CdtrRefInf/Ref", "AddtlTxInf"])
    } else {
        Some(unstructured.join(" "))
    };
    if let Some(purpose) = purpose {
        p.purpose = purpose;
    }
    p
}
