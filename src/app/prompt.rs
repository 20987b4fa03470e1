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
                ["board", "donations", "payments", "imports", "case"]
                    .into_iter()
                    .filter(|p| p.starts_with(rest))
                    .collect(),
                "goto ",
            ),
            Some(("import", rest)) => return self.complete_path("import ", rest),
            Some(("attach", rest)) if rest.contains(' ') => {
                let (kind, path) = rest.split_once(' ').unwrap_or((rest, ""));
                return self.complete_path(&format!("attach {kind} "), path);
            }
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

impl Prompt {
    /// Completes a file path after `head`: the common part of the names that
    /// start so, a `/` after a directory; the choices when there are several.
    fn complete_path(&mut self, head: &str, typed: &str) -> Option<String> {
        let (dir, stem) = match typed.rfind('/') {
            Some(i) => (&typed[..=i], &typed[i + 1..]),
            None => ("", typed),
        };
        let read_from = if dir.is_empty() { "." } else { dir };
        let Ok(entries) = std::fs::read_dir(read_from) else { return Some(format!("no folder {read_from:?}")) };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| {
                let mut n = e.file_name().to_string_lossy().into_owned();
                if e.path().is_dir() {
                    n.push('/');
                }
                n
            })
            .filter(|n| n.starts_with(stem) && (!n.starts_with('.') || stem.starts_with('.')))
            .collect();
        names.sort();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        match refs.as_slice() {
            [] => Some(format!("no file starts with {typed:?}")),
            [one] => {
                self.editor = line_editor(&format!("{head}{dir}{one}"));
                None
            }
            many => {
                self.editor = line_editor(&format!("{head}{dir}{}", common_prefix(many)));
                Some(crate::text::clip(&many.join("  "), 200))
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

    #[test]
    fn completes_file_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("statement-march.txt"), "x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let mut p = Prompt::new(&format!("import {}/stat", dir.path().display()));
        assert_eq!(p.complete(), None);
        assert_eq!(p.text(), format!("import {}/statement-march.txt", dir.path().display()));
        let mut p = Prompt::new(&format!("attach invoice {}/su", dir.path().display()));
        p.complete();
        assert_eq!(p.text(), format!("attach invoice {}/sub/", dir.path().display()));
    }
}
