//! The import screen: a register's preview (status, amounts, donor, notes,
//! errors and control-total mismatches), or the list of import batches.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, cell, page_start, safe};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let im = &app.imports;
    let lang = app.lang;
    let w = area.width.saturating_sub(2) as usize;
    let (title, head, rows): (String, String, Vec<String>) = match &im.preview {
        Some(p) => {
            let title = if p.refused() {
                format!(
                    "{} · {} new, {} dup, {} invalid — {}",
                    p.file,
                    p.new,
                    p.duplicate,
                    p.invalid,
                    lang.t().unreconciled
                )
            } else {
                format!(
                    "{} · {} · {} new, {} dup, {} invalid, {} out — Enter imports, Esc drops",
                    p.file, p.encoding, p.new, p.duplicate, p.invalid, p.outgoing
                )
            };
            let head =
                format!("{:>6} {:<10} {:<10} {:>14} {}", "line", "status", "date", "amount", "counterparty · note");
            let rows = p
                .rows
                .iter()
                .map(|r| {
                    let note = match (r.pays_case, &r.payment_note, &r.suggestion_reason, r.designated) {
                        (Some(c), ..) => format!("pays case {c}"),
                        (None, Some(n), ..) => n.clone(),
                        (None, None, _, Some(c)) => format!("→ case {c} · donor: {}", r.donor),
                        (None, None, Some(s), None) => format!("suggested: {s} (a accepts)"),
                        _ => format!("donor: {}", r.donor),
                    };
                    format!(
                        "{:>6} {:<10} {:<10} {} {} · {note}",
                        r.line,
                        format!("{:?}", r.status).to_lowercase(),
                        r.date,
                        cell(&lang.money_in(r.amount, r.currency), 14, true),
                        r.counterparty
                    )
                })
                .collect();
            (title, head, rows)
        }
        None => {
            let head = format!(
                "{:>5} {:<16} {:<12} {:>5} {:>5} {:>14} {}",
                "batch", "when", "who", "new", "dup", "incoming", "file"
            );
            let rows = im
                .batches
                .iter()
                .map(|b| {
                    format!(
                        "{:>5} {:<16} {} {:>5} {:>5} {} {}{}",
                        b.id,
                        b.at.format("%Y-%m-%d %H:%M"),
                        cell(&b.by, 12, false),
                        b.new,
                        b.duplicate,
                        cell(&lang.money(b.incoming_total), 14, true),
                        b.file_name,
                        if b.undone_at.is_some() { " (undone)" } else { "" }
                    )
                })
                .collect();
            ("Imports — i: preview a file, u: undo the selected batch".to_string(), head, rows)
        }
    };
    // Every problem in full, wrapped over as many rows as it needs (at most half the screen).
    let problems: Vec<String> = match im.preview.as_ref().filter(|p| !p.problems.is_empty()) {
        Some(p) => {
            let heading = if p.refused() {
                format!("{} {}", p.problems.len(), lang.t().problems_hint)
            } else {
                format!("{} problem(s), accepted: {}", p.problems.len(), p.accepted_problems.as_deref().unwrap_or(""))
            };
            std::iter::once(heading).chain(p.problems.iter().map(|x| format!("• {x}"))).collect()
        }
        None => Vec::new(),
    };
    let width = area.width.max(1) as usize;
    let mut plines: Vec<Line> = Vec::new();
    // The selected payment's note in full (a payout's gifts, a return's gift), at most three rows.
    let note = im.preview.as_ref().and_then(|p| p.rows.get(im.selected)).and_then(|r| {
        r.payment_note.clone().or_else(|| r.suggestion_reason.clone()).map(|n| format!("line {}: {n}", r.line))
    });
    if let Some(note) = note {
        for piece in super::wrap(&crate::text::inert(&note), width).into_iter().take(3) {
            plines.push(Line::from(Span::styled(piece, theme.dim())));
        }
    }
    for (i, p) in problems.iter().enumerate() {
        let style = if i == 0 { theme.title() } else { theme.error() };
        for piece in super::wrap(&crate::text::inert(p), width) {
            plines.push(Line::from(Span::styled(piece, style)));
        }
    }
    let room = (area.height / 2).max(3) as usize;
    if plines.len() > room {
        plines.truncate(room - 1);
        plines.push(Line::from(Span::styled("… `almoner import --dry-run FILE` lists them all", theme.dim())));
    }
    let [table_area, problems_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(plines.len() as u16)]).areas(area);
    let block = Block::default().borders(Borders::ALL).title(Span::styled(safe(&title, w), theme.title()));
    let inner = block.inner(table_area);
    frame.render_widget(block, table_area);
    let mut lines = vec![Line::from(Span::styled(safe(&head, w), theme.dim()))];
    let visible = inner.height.saturating_sub(1) as usize;
    let first = page_start(im.selected, visible);
    for (i, row) in rows.iter().enumerate().skip(first).take(visible) {
        let style = if i == im.selected { theme.selected() } else { Style::default() };
        lines.push(Line::from(Span::styled(safe(row, w), style)));
    }
    if rows.is_empty() {
        lines.push(Line::from(Span::styled(app.lang.t().nothing_here, theme.dim())));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    frame.render_widget(Paragraph::new(plines), problems_area);
}
