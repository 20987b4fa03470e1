//! Plain-text tables for people (scripts use `--json`). Column widths count
//! terminal cells, so Cyrillic lines up; every cell is made inert.

use unicode_width::UnicodeWidthStr;

use crate::text::{clip, inert};

pub struct Table {
    head: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns; a name starting with `>` is right-aligned (amounts).
    pub fn new(columns: &[&'static str]) -> Table {
        Table {
            head: columns.iter().map(|c| c.trim_start_matches('>')).collect(),
            right: columns.iter().map(|c| c.starts_with('>')).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|c| inert(&c).into_owned()).collect());
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.head.iter().map(|h| h.width()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(c.width().min(48));
                }
            }
        }
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String| {
            let mut parts = Vec::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let cell = clip(cell, *w);
                let pad = " ".repeat(w.saturating_sub(cell.width()));
                parts.push(if self.right[i] { format!("{pad}{cell}") } else { format!("{cell}{pad}") });
            }
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        let head: Vec<String> = self.head.iter().map(|h| h.to_string()).collect();
        line(&head, &mut out);
        for r in &self.rows {
            line(r, &mut out);
        }
        out
    }
}
