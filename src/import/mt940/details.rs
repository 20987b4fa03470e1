//! What a `:86:` says (the counterparty and the purpose, in the German `?20…` and the Dutch
//! `/REMI/` styles), and whether an entry is a return.

/// What `:86:` says: the counterparty's name and the purpose.
pub(super) fn details(text: &str) -> (String, String) {
    if text.contains("?20") || text.contains("?32") {
        let mut purpose = String::new();
        let mut name = String::new();
        for part in text.split('?').skip(1) {
            let cut = part.char_indices().nth(2).map_or(part.len(), |(i, _)| i);
            let (code, value) = part.split_at(cut);
            match code {
                "20" | "21" | "22" | "23" | "24" | "25" | "26" | "27" | "28" | "29" | "60" | "61" | "62" | "63" => {
                    purpose.push_str(value)
                }
                "32" | "33" => name.push_str(value),
                _ => {}
            }
        }
        return (name.trim().to_string(), purpose.trim().to_string());
    }
    if text.contains('/') && (text.contains("/REMI/") || text.contains("/NAME/") || text.contains("/CNTP/")) {
        let after = |tag: &str| text.split(tag).nth(1).map(|r| r.to_string());
        let purpose = after("/REMI/").map(|r| {
            let r = r.trim_start_matches("USTD//").trim_start_matches("STRD/");
            r.split("//").next().unwrap_or("").trim_end_matches('/').to_string()
        });
        let name = after("/NAME/")
            .map(|r| r.split('/').next().unwrap_or("").to_string())
            .or_else(|| after("/CNTP/").and_then(|r| r.split('/').nth(2).map(str::to_string)));
        return (name.unwrap_or_default().trim().to_string(), purpose.unwrap_or_default().trim().to_string());
    }
    (String::new(), text.trim().to_string())
}

/// Words with which a bank says a credit returns money (a bounced transfer, a reversed debit).
pub(super) const RETURN_WORDS: [&str; 12] = [
    "RETURN",
    "RETOUR",
    "REVERSAL",
    "RÜCKÜBERWEISUNG",
    "RUECKUEBERWEISUNG",
    "RÜCKLASTSCHRIFT",
    "RUECKLASTSCHRIFT",
    "RÜCKGABE",
    "RUECKGABE",
    "STORNO",
    "TERUGBOEKING",
    "СТОРНО",
];

/// SEPA return reasons (ISO 20022 `ExternalReturnReason1Code`) as a bank quotes them.
pub(super) const RETURN_CODES: [&str; 23] = [
    "AC01", "AC04", "AC06", "AC13", "AG01", "AG02", "AM04", "AM05", "BE05", "FF01", "MD01", "MD02", "MD06", "MD07",
    "MS02", "MS03", "RC01", "RR01", "RR02", "RR03", "RR04", "SL01", "FOCR",
];

/// Whether a credit's texts say it returns money: a return word, a return reason in `/RTRN/`
/// or in a `?` subfield, or the SWIFT transaction type `RTI` (returned item).
pub(super) fn says_return(kind: &str, texts: &[&str]) -> bool {
    if kind == "RTI" {
        return true;
    }
    texts.iter().any(|text| {
        let up = text.to_uppercase();
        // «Возврат» (a return), but not «безвозвратный» (not to be returned).
        let vozvrat = up.match_indices("ВОЗВРАТ").any(|(i, _)| !up[..i].ends_with(char::is_alphabetic));
        let rtrn = up.split("/RTRN/").skip(1).any(|r| r.starts_with(|c: char| c.is_ascii_alphanumeric()));
        let coded = up.contains('?')
            && up.split('?').skip(1).any(|part| {
                let value = part.char_indices().nth(2).map_or("", |(i, _)| &part[i..]);
                value.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| RETURN_CODES.contains(&t))
            });
        vozvrat || rtrn || coded || RETURN_WORDS.iter().any(|w| up.contains(w))
    })
}
