//! My work: what waits for the person at the console, overdue first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, cell, page_start};
use crate::app::App;
use crate::store::Target;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let q = &app.work;
    let whose = match q.role {
        Some(r) => format!("{} ({r})", app.store.actor()),
        None => format!("{} — {}", app.store.actor(), t.no_role),
    };
    let title = format!("{} — {} — {}", t.work, whose, q.items.len());
    let block = Block::default().borders(Borders::ALL).title(Span::styled(super::safe(&title, 70), theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let (role_w, what_w, open_w, wait_w) = (10, 18, 13, 11);
    let why_w = w.saturating_sub(role_w + what_w + open_w + wait_w + 4);
    let mut lines = Vec::new();
    let visible = inner.height as usize;
    let now = app.now();
    if q.items.is_empty() {
        lines.push(Line::from(Span::styled(t.nothing_here, theme.dim())));
    } else if visible > 0 {
        for (idx, i) in q.items.iter().enumerate().skip(page_start(q.selected, visible)).take(visible) {
            let open = match i.target {
                Target::Case(id) => format!("{} {id}", t.case),
                Target::Donation(id) => format!("{} {id}", t.donation),
                Target::Batch(id) => format!("batch {id}"),
            };
            let waited = (now - i.since).num_days().max(0);
            let wait = match i.overdue_days {
                Some(d) => format!("{waited}{} +{d}!", t.days),
                None => format!("{waited}{}", t.days),
            };
            let sel = idx == q.selected;
            let base = if sel { theme.selected() } else { Style::default() };
            let late = if sel {
                base
            } else if i.overdue_days.is_some() {
                theme.error()
            } else {
                theme.dim()
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{} ", cell(i.role.as_str(), role_w, false)), base),
                Span::styled(format!("{} ", cell(i.what, what_w, false)), base),
                Span::styled(format!("{} ", cell(&open, open_w, false)), base),
                Span::styled(format!("{} ", cell(&wait, wait_w, true)), late),
                Span::styled(cell(&i.why, why_w, false), base),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
