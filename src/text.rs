//! Text from outside (names, purposes from registers) may carry terminal
//! escape sequences. Everything shown on a terminal goes through [`inert`].

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Makes control characters visible and harmless: C0/C1 controls and DEL
/// become caret or `\u{..}` notation; bidirectional overrides, which can
/// reorder what a person reads, become `\u{..}` too.
pub fn inert(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if (c as u32) < 0x20 {
            out.push('^');
            out.push(char::from(b'@' + c as u8));
        } else if c == '\u{7f}' {
            out.push_str("^?");
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Cuts a string to `width` terminal cells, marking the cut with `…`.
pub fn clip(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// The line (from 1) of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// A TOML file's error as a person reads it: "line N: what is wrong".
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(s) => format!("line {}: {}", line_of(text, s.start), e.message().trim()),
        None => e.message().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn escapes_cannot_reach_the_terminal() {
        assert_eq!(inert("Иванов"), "Иванов");
        assert_eq!(inert("a\x1b[2Jb"), "a^[[2Jb");
        assert_eq!(inert("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(inert("tab\there\r\n"), "tab^Ihere^M^J");
        assert_eq!(inert("\u{202e}evil"), "\\u{202e}evil");
        assert!(!inert("\x07\x7f\x00").chars().any(|c| c.is_control()));
    }
}
