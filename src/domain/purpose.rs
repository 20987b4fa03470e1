//! What a payment's purpose text names: a case by its number, an invoice by its number.

/// "заявка 123", "заявка №123", "case 123": the number of a case named in a purpose.
pub fn case_number_in(purpose: &str) -> Option<i64> {
    if !purpose.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let lower = purpose.to_lowercase();
    for marker in ["заявк", "case"] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(marker) {
            // The marker starts a word: "showcase 12" names no case.
            if lower[..from + i].chars().next_back().is_some_and(char::is_alphanumeric) {
                from += i + marker.len();
                continue;
            }
            let rest = &lower[from + i + marker.len()..];
            let rest = rest.trim_start_matches(|c: char| c.is_alphabetic()).trim_start_matches([' ', '№', '#', ':']);
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
            from += i + marker.len();
        }
    }
    None
}

/// Does `text` contain `word` standing on its own (not inside a longer number)?
pub fn mentions(text: &str, word: &str) -> bool {
    let (text, word) = (text.to_lowercase(), word.trim().to_lowercase());
    if word.is_empty() {
        return false;
    }
    text.match_indices(&word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::case_number_in;

    #[test]
    fn case_numbers_in_purposes() {
        assert_eq!(case_number_in("Пожертвование на лечение, заявка 123"), Some(123));
        assert_eq!(case_number_in("по заявке №45 Ивановой"), Some(45));
        assert_eq!(case_number_in("for case #7"), Some(7));
        assert_eq!(case_number_in("Оплата по договору 5"), None);
        assert_eq!(case_number_in("showcase 12"), None);
    }

    #[test]
    fn invoice_numbers_stand_on_their_own() {
        use super::mentions;
        assert!(mentions("Оплата по счету СЧ-77 за лечение", "сч-77"));
        assert!(!mentions("Оплата по счету 177", "77"));
        assert!(mentions("счёт №77.", "77"));
        assert!(!mentions("что угодно", ""));
    }
}
