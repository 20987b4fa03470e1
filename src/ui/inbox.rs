//! The donations inbox.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, cell, page_start, safe};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let inbox = &app.inbox;
    let block = Block::default().borders(Borders::ALL).title(Span::styled(
        format!("{} — {}{}", t.donations, inbox.rows.len() + inbox.window_start, if inbox.at_end { "" } else { "+" }),
        theme.title(),
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    // id, date, channel, amount, unallocated, designation, payer (rest)
    let (id_w, date_w, ch_w, amt_w, des_w) = (7, 10, 9, 14, 14);
    let wide = w >= 100;
    let payer_w = w.saturating_sub(id_w + date_w + ch_w + amt_w * if wide { 2 } else { 1 } + des_w + 6);
    let mut head = format!(
        "{} {} {} {} ",
        cell("#", id_w, true),
        cell(t.received, date_w, false),
        cell(t.channel, ch_w, false),
        cell(t.unallocated, amt_w, true)
    );
    if wide {
        head.push_str(&format!("{} ", cell(t.amount, amt_w, true)));
    }
    head.push_str(&format!("{} {}", cell(t.designation, des_w, false), cell(t.payer, payer_w, false)));
    let mut lines = vec![Line::from(Span::styled(head, theme.dim()))];
    let visible = inner.height.saturating_sub(1) as usize;
    if inbox.rows.is_empty() {
        lines.push(Line::from(Span::styled(t.nothing_here, theme.dim())));
    } else if visible > 0 {
        let first = page_start(inbox.selected, visible);
        for idx in first..first + visible {
            let Some(d) = idx.checked_sub(inbox.window_start).and_then(|k| inbox.rows.get(k)) else { break };
            let mut row = format!(
                "{} {} {} {} ",
                cell(&d.id.to_string(), id_w, true),
                cell(&d.received_on.to_string(), date_w, false),
                cell(d.channel.as_str(), ch_w, false),
                cell(&app.lang.money_in(d.unallocated, d.currency), amt_w, true)
            );
            if wide {
                row.push_str(&format!("{} ", cell(&app.lang.money_in(d.amount, d.currency), amt_w, true)));
            }
            row.push_str(&format!(
                "{} {}",
                cell(&d.designation.to_string(), des_w, false),
                cell(&d.payer, payer_w, false)
            ));
            let style = if idx == inbox.selected { theme.selected() } else { ratatui::style::Style::default() };
            lines.push(Line::from(Span::styled(safe(&row, w), style)));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
