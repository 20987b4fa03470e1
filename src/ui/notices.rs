//! Recent notices, newest first; the ones not seen before are marked.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, cell, page_start};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let q = &app.notices;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!("{} — {}", t.notices, q.rows.len()), theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let (when_w, who_w) = (16, 12);
    let text_w = w.saturating_sub(when_w + who_w + 5);
    let mut lines = Vec::new();
    let visible = inner.height as usize;
    if q.rows.is_empty() {
        lines.push(Line::from(Span::styled(t.nothing_here, theme.dim())));
    } else if visible > 0 {
        for (idx, n) in q.rows.iter().enumerate().skip(page_start(q.selected, visible)).take(visible) {
            let base = if idx == q.selected { theme.selected() } else { Style::default() };
            let style = if n.seen { base } else { base.add_modifier(Modifier::BOLD) };
            let when = n.at.format("%Y-%m-%d %H:%M").to_string();
            lines.push(Line::from(vec![
                Span::styled(if n.seen { "  " } else { "● " }, theme.warn()),
                Span::styled(format!("{} ", cell(&when, when_w, false)), style),
                Span::styled(format!("{} ", cell(&n.actor, who_w, false)), style),
                Span::styled(cell(&n.text, text_w, false), style),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
