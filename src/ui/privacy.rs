//! The personal-data plan: the open steps, soonest first, and the selected
//! one's reason in full below with the keys.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, cell, page_start, split_at_width};
use crate::app::App;
use crate::text::inert;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let p = &app.privacy;
    let [top, bottom] = Layout::vertical([Constraint::Min(4), Constraint::Length(5)]).areas(area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!("{} — {}", t.privacy, p.rows.len()), theme.title()));
    let inner = block.inner(top);
    frame.render_widget(block, top);
    let w = inner.width as usize;
    let (due_w, step_w, who_w) = (10, 14, 14);
    let rest = w.saturating_sub(due_w + step_w + who_w + 4);
    let name_w = rest * 2 / 5;
    let why_w = rest.saturating_sub(name_w);
    let widths = [due_w, step_w, who_w, name_w, why_w];
    let row = |cells: [&str; 5]| cells.iter().zip(widths).map(|(c, w)| cell(c, w, false)).collect::<Vec<_>>().join(" ");
    let mut lines = vec![Line::from(Span::styled(row(t.privacy_columns), theme.dim()))];
    let visible = (inner.height as usize).saturating_sub(1);
    if p.rows.is_empty() {
        lines.push(Line::from(Span::styled(t.nothing_here, theme.dim())));
    } else if visible > 0 {
        for (idx, s) in p.rows.iter().enumerate().skip(page_start(p.selected, visible)).take(visible) {
            let due = s.due_on.to_string();
            let who = format!("{} {}", s.entity, s.entity_id);
            let text = row([&due, &s.action, &who, &s.name, &s.reason]);
            let style = if idx == p.selected { theme.selected() } else { Style::default() };
            lines.push(Line::from(Span::styled(text, style)));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let block = Block::default().borders(Borders::ALL);
    let inner = block.inner(bottom);
    frame.render_widget(block, bottom);
    let w = inner.width as usize;
    let mut lines = Vec::new();
    if let Some(s) = p.current() {
        // The step in full, over two rows: a long name and reason are cut only past them.
        let text = format!("{} {} {} ({}): {} — {}", s.due_on, s.action, s.entity, s.entity_id, s.name, s.reason);
        let shown = inert(&text);
        let (first, rest) = split_at_width(&shown, w);
        lines.push(Line::from(Span::styled(first.to_string(), theme.warn())));
        lines.push(Line::from(Span::styled(cell(rest, w, false), theme.warn())));
    }
    lines.push(Line::from(Span::styled(cell(t.privacy_hint, w, false), theme.dim())));
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::super::split_at_width;

    #[test]
    fn a_line_splits_where_the_cells_run_out() {
        assert_eq!(split_at_width("Давний даритель", 6), ("Давний", "даритель"));
        assert_eq!(split_at_width("Давний даритель", 10), ("Давний", "даритель"), "after a word");
        assert_eq!(split_at_width("Давний даритель", 4), ("Давн", "ий даритель"), "a word longer than half a row");
        assert_eq!(split_at_width("абв", 10), ("абв", ""));
        assert_eq!(split_at_width("日本語", 5), ("日本", "語"), "a wide letter does not straddle the edge");
        assert_eq!(split_at_width("", 3), ("", ""));
    }
}
