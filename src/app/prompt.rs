//! The `:` prompt: a one-line editor with completion from the command registry.

use ratatui_textarea::{CursorMove, Input, Key as TaKey, TextArea};

use super::command::{REGISTRY, complete};
use super::keys::{Key, KeyCode};

pub struct Prompt {
    pub editor: TextArea<'static>,
}

/// Converts almoner's key to the editing buffer's input.
pub fn to_input(key: Key) -> Input {
    let k = match key.code {
        KeyCode::Char(c) => TaKey::Char(c),
        KeyCode::Enter => TaKey::Enter,
        KeyCode::Esc => TaKey::Esc,
        KeyCode::Tab | KeyCode::BackTab => TaKey::Tab,
        KeyCode::Backspace => TaKey::Backspace,
        KeyCode::Delete => TaKey::Delete,
        KeyCode::Up => TaKey::Up,
        KeyCode::Down => TaKey::Down,
        KeyCode::Left => TaKey::Left,
        KeyCode::Right => TaKey::Right,
        KeyCode::Home => TaKey::Home,
        KeyCode::End => TaKey::End,
        KeyCode::PageUp => TaKey::PageUp,
        KeyCode::PageDown => TaKey::PageDown,
        KeyCode::F(n) => TaKey::F(n),
    };
    Input { key: k, ctrl: key.ctrl, alt: key.alt, shift: false }
}

/// A one-line editing buffer holding `text`, cursor at the end.
pub fn line_editor(text: &str) -> TextArea<'static> {
    let mut editor = TextArea::new(vec![text.to_string()]);
    editor.move_cursor(CursorMove::End);
    editor
}

impl Prompt {
    pub fn new(text: &str) -> Prompt {
        Prompt { editor: line_editor(text) }
    }

    pub fn text(&self) -> String {
        self.editor.lines().first().cloned().unwrap_or_default()
    }

    /// Edits the line; Enter never splits it.
    pub fn input(&mut self, key: Key) {
        if !matches!(key.code, KeyCode::Enter | KeyCode::Up | KeyCode::Down) {
            self.editor.input(to_input(key));
        }
    }

    /// Completes the command name (or `goto`'s screen). Returns the choices
    /// when there is more than one.
    pub fn complete(&mut self) -> Option<String> {
        let text = self.text();
        let (choices, head): (Vec<&str>, &str) = match text.split_once(' ') {
            None => (complete(&text), ""),
            Some(("goto", rest)) if !rest.contains(' ') => (
                ["board", "donations", "payments", "case"].into_iter().filter(|p| p.starts_with(rest)).collect(),
                "goto ",
            ),
            Some((name, _)) => {
                return REGISTRY.iter().find(|s| s.name == name).map(|s| format!("{} {} — {}", s.name, s.args, s.doc));
            }
        };
        match choices.as_slice() {
            [] => Some("no command starts so".into()),
            [one] => {
                self.editor = line_editor(&format!("{head}{one} "));
                None
            }
            many => {
                let common = common_prefix(many);
                self.editor = line_editor(&format!("{head}{common}"));
                Some(many.join("  "))
            }
        }
    }
}

fn common_prefix(words: &[&str]) -> String {
    let first = words[0];
    let mut end = first.len();
    for w in &words[1..] {
        end = end.min(first.bytes().zip(w.bytes()).take_while(|(a, b)| a == b).count());
    }
    first[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_commands_and_screens() {
        let mut p = Prompt::new("go");
        assert_eq!(p.complete(), None);
        assert_eq!(p.text(), "goto ");
        let mut p = Prompt::new("goto pa");
        p.complete();
        assert_eq!(p.text(), "goto payments ");
        let mut p = Prompt::new("p");
        let choices = p.complete().unwrap();
        assert!(choices.contains("prompt") && choices.contains("pay"), "{choices}");
    }
}
