//! The payments queue.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, cell, page_start};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let q = &app.payments;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!("{} — {}", t.payments, q.rows.len()), theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let (id_w, inv_w, amt_w, days_w) = (7, 12, 16, 6);
    let rest = w.saturating_sub(id_w + inv_w + amt_w + days_w + 5);
    let (name_w, payee_w) = (rest / 2, rest - rest / 2);
    let head = format!(
        "{} {} {} {} {} {}",
        cell("#", id_w, true),
        cell(t.beneficiary, name_w, false),
        cell(t.invoice, inv_w, false),
        cell(t.payee, payee_w, false),
        cell(t.amount, amt_w, true),
        cell(t.waiting, days_w, true)
    );
    let mut lines = vec![Line::from(Span::styled(head, theme.dim()))];
    let now = app.now();
    let visible = inner.height.saturating_sub(1) as usize;
    if q.rows.is_empty() {
        lines.push(Line::from(Span::styled(t.nothing_here, theme.dim())));
    } else if visible > 0 {
        let first = page_start(q.selected, visible);
        for (idx, (case, invoice)) in q.rows.iter().enumerate().skip(first).take(visible) {
            let (number, payee, amount) = match invoice {
                Some(i) => (i.number.as_str(), i.payee.as_str(), i.amount),
                None => ("—", case.clinic.as_str(), case.target),
            };
            let days = (now - case.stage_since).num_days().max(0);
            let row = format!(
                "{} {} {} {} {} {}",
                cell(&case.id.to_string(), id_w, true),
                cell(&case.beneficiary, name_w, false),
                cell(number, inv_w, false),
                cell(payee, payee_w, false),
                cell(&app.lang.money_in(amount, case.currency), amt_w, true),
                cell(&format!("{days}{}", t.days), days_w, true)
            );
            let style = if idx == q.selected { theme.selected() } else { ratatui::style::Style::default() };
            lines.push(Line::from(Span::styled(row, style)));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
