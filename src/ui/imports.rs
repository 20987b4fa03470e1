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
            let then = if p.refused() {
                format!(
                    "does not reconcile ({} problem(s)): Enter asks why you accept them, Esc drops",
                    p.problems.len()
                )
            } else {
                "Enter imports, Esc drops".to_string()
            };
            let title = format!(
                "{} · {} · {} new, {} dup, {} invalid, {} out — {then}",
                p.file, p.encoding, p.new, p.duplicate, p.invalid, p.outgoing
            );
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
    let mut problems: Vec<String> = im.preview.iter().flat_map(|p| p.problems.iter().take(5).cloned()).collect();
    if let Some(more) = im.preview.as_ref().map(|p| p.problems.len().saturating_sub(5)).filter(|n| *n > 0) {
        problems[4] = format!("… and {} more problem(s): `almoner import --dry-run FILE` lists them all", more + 1);
    }
    let [table_area, problems_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(problems.len().min(5) as u16)]).areas(area);
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
    let plines: Vec<Line> = problems
        .iter()
        .take(5)
        .map(|p| Line::from(Span::styled(safe(p, area.width as usize), theme.error())))
        .collect();
    frame.render_widget(Paragraph::new(plines), problems_area);
}
