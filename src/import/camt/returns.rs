//! Returns and reversals: an entry or a transaction the bank took back.

use super::El;
use super::xml::{child, text};

/// Bank transaction sub-families that are returns or reversals (ISO external code list):
/// reversal due to a payment return, to a cancellation request, to an unpaid direct debit;
/// ACH return and reversal.
pub(super) const RETURN_SUBFAMILIES: [&str; 5] = ["RRTN", "RPCR", "UPDD", "ARET", "AREV"];

/// Whether a bank's note (`AddtlNtryInf`, `AddtlTxInf`) says the payment is a return,
/// a reversal or a reject ("ACH credit reject"); "без возврата" (no return) is not one.
pub(super) fn says_return(note: &str) -> bool {
    let lower = note.to_lowercase();
    let mut before = "";
    for word in lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let negated = matches!(before, "без" | "не" | "no" | "not" | "non" | "without");
        let returned = matches!(
            word,
            "return"
                | "returned"
                | "reversal"
                | "reversed"
                | "reject"
                | "rejected"
                | "rejection"
                | "storno"
                | "storniert"
                | "chargeback"
                | "retour"
                | "rückbuchung"
                | "rücklastschrift"
                | "rücküberweisung"
        ) || word.starts_with("возврат")
            || word.starts_with("возвращ");
        if returned && !negated {
            return true;
        }
        before = word;
    }
    false
}

/// The sub-family code under `node` is a return's or a reversal's.
pub(super) fn returned_by_code(node: El) -> bool {
    text(node, "BkTxCd/Domn/Fmly/SubFmlyCd").is_some_and(|c| RETURN_SUBFAMILIES.contains(&c.as_str()))
}

/// The entry as a whole is a reversal or a return.
pub(super) fn entry_returned(ntry: El) -> bool {
    text(ntry, "RvslInd").is_some_and(|r| r.eq_ignore_ascii_case("true") || r == "1")
        || child(ntry, "RtrInf").is_some()
        || text(ntry, "AddtlNtryInf").is_some_and(|t| says_return(&t))
        || returned_by_code(ntry)
}

/// One transaction of an entry carries return information.
pub(super) fn tx_returned(tx: El) -> bool {
    child(tx, "RtrInf").is_some() || text(tx, "AddtlTxInf").is_some_and(|t| says_return(&t)) || returned_by_code(tx)
}
