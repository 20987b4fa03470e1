//! almoner's own key type, so `app` never touches the terminal library.
//! Written and read as in keymap files: `j`, `G`, `<Enter>`, `<C-s>`, `<A-x>`,
//! `<Space>`, `<F5>`. A sequence is keys separated by spaces: `g b`.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCode {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    F(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key { code, ctrl: false, alt: false }
    }
    pub const fn char(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }
    pub const fn ctrl(c: char) -> Key {
        Key { code: KeyCode::Char(c), ctrl: true, alt: false }
    }
}

const NAMED: &[(&str, KeyCode)] = &[
    ("Enter", KeyCode::Enter),
    ("Ret", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("S-Tab", KeyCode::BackTab),
    ("Backspace", KeyCode::Backspace),
    ("BS", KeyCode::Backspace),
    ("Del", KeyCode::Delete),
    ("Delete", KeyCode::Delete),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PageUp", KeyCode::PageUp),
    ("PgUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("PgDn", KeyCode::PageDown),
    ("Space", KeyCode::Char(' ')),
    ("lt", KeyCode::Char('<')),
    ("gt", KeyCode::Char('>')),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad key {0:?}: write a character (j, G, ?), or <Enter>, <Esc>, <Tab>, <Space>, <Up>, <C-s>, <A-x>, <F5>")]
pub struct BadKey(pub String);

impl FromStr for Key {
    type Err = BadKey;
    fn from_str(s: &str) -> Result<Key, BadKey> {
        let bad = || BadKey(s.to_string());
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_whitespace() && !c.is_control() => return Ok(Key::char(c)),
            _ => {}
        }
        let inner = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')).ok_or_else(bad)?;
        let (mut ctrl, mut alt) = (false, false);
        let mut rest = inner;
        loop {
            if let Some(r) = rest.strip_prefix("C-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("A-").or_else(|| rest.strip_prefix("M-")) {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        if let Some((_, code)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(rest)) {
            return Ok(Key { code: *code, ctrl, alt });
        }
        if let Some(n) = rest.strip_prefix('F').and_then(|n| n.parse::<u8>().ok()).filter(|n| (1..=12).contains(n)) {
            return Ok(Key { code: KeyCode::F(n), ctrl, alt });
        }
        let mut cs = rest.chars();
        match (cs.next(), cs.next()) {
            (Some(c), None) if (ctrl || alt) && !c.is_control() => {
                Ok(Key { code: KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }), ctrl, alt })
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char('<') => "lt".to_string(),
            KeyCode::Char('>') => "gt".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::F(n) => format!("F{n}"),
            other => NAMED.iter().find(|(_, c)| *c == other).map(|(n, _)| n.to_string()).unwrap_or_default(),
        };
        let simple =
            !self.ctrl && !self.alt && matches!(self.code, KeyCode::Char(c) if c != ' ' && c != '<' && c != '>');
        if simple {
            f.write_str(&name)
        } else {
            write!(f, "<{}{}{}>", if self.ctrl { "C-" } else { "" }, if self.alt { "A-" } else { "" }, name)
        }
    }
}

/// Parses a space-separated key sequence: `g b`, `<C-w> j`.
pub fn parse_keys(s: &str) -> Result<Vec<Key>, BadKey> {
    let keys: Vec<Key> = s.split_whitespace().map(Key::from_str).collect::<Result<_, _>>()?;
    if keys.is_empty() { Err(BadKey(s.to_string())) } else { Ok(keys) }
}

pub fn keys_text(keys: &[Key]) -> String {
    keys.iter().map(Key::to_string).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for s in
            ["j", "G", "?", ":", "<Enter>", "<Esc>", "<C-s>", "<A-x>", "<F5>", "<Space>", "<lt>", "<Up>", "<C-A-k>"]
        {
            let k: Key = s.parse().unwrap();
            assert_eq!(k.to_string(), s, "{s}");
        }
        assert_eq!(parse_keys("g b").unwrap(), vec![Key::char('g'), Key::char('b')]);
        assert_eq!("<ret>".parse::<Key>().unwrap(), Key::plain(KeyCode::Enter));
        assert_eq!("ж".parse::<Key>().unwrap(), Key::char('ж'));
    }

    #[test]
    fn bad_keys_are_named() {
        for s in ["", "<Nope>", "ab", "<C->", "<F13>", "<Enter"] {
            assert!(s.parse::<Key>().is_err(), "{s:?} should not parse");
        }
        assert!(parse_keys("   ").is_err());
    }
}
