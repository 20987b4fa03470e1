//! The pipeline board: a column per stage; cards with beneficiary, program,
//! target, a progress bar of collected/target and days in stage.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, bar, cell, page_start, safe};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let b = &app.board;
    let t = app.lang.t();
    let [filter_area, cols_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let f = &b.filter;
    let mut filter = Vec::new();
    if let Some(p) = f.program {
        filter.push(format!("program={p}"));
    }
    if let Some(r) = &f.responsible {
        filter.push(format!("responsible={}", safe(r, 20)));
    }
    if let Some(x) = &f.text {
        filter.push(format!("\"{}\"", safe(x, 30)));
    }
    let head =
        if filter.is_empty() { format!("{} —", t.filter) } else { format!("{}: {}", t.filter, filter.join(" ")) };
    frame.render_widget(Paragraph::new(Span::styled(head, theme.dim())), filter_area);

    let n = b.columns.len().max(1) as u32;
    let areas = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(cols_area);
    let now = app.now();
    for (i, col) in b.columns.iter().enumerate() {
        let area = areas[i];
        let w = area.width.saturating_sub(2) as usize;
        let active = i == b.col;
        let title = app.lang.stage(col.stage).to_string();
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(safe(&title, w), if active { theme.title() } else { theme.dim() }));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let sum = app.lang.money_short(col.total.target);
        let count = format!("{} ", col.total.cases);
        let mut lines = vec![Line::from(vec![
            Span::styled(count.clone(), theme.title()),
            Span::styled(cell(&sum, w.saturating_sub(count.chars().count()), true), theme.money()),
        ])];
        let visible = (inner.height.saturating_sub(1) / 3) as usize;
        if col.count() == 0 {
            lines.push(Line::from(Span::styled(safe(t.nothing_here, w), theme.dim())));
        } else if visible > 0 {
            let first = page_start(col.selected, visible);
            for idx in first..(first + visible).min(col.count()) {
                let Some(case) = idx.checked_sub(col.window_start).and_then(|k| col.cards.get(k)) else { break };
                let sel = active && idx == col.selected;
                let style = if sel { theme.selected() } else { ratatui::style::Style::default() };
                let days = (now - case.stage_since).num_days().max(0);
                let name = format!("{} {}", case.id, case.beneficiary);
                lines.push(Line::from(Span::styled(cell(&name, w, false), style.add_modifier(Modifier::BOLD))));
                let target = match (w >= 24, case.currency == crate::domain::Currency::RUB) {
                    (true, _) | (false, false) => app.lang.money_in(case.target, case.currency),
                    (false, true) => app.lang.money_short(case.target),
                };
                let room = w.saturating_sub(target.chars().count() + 1);
                let prog: String = app.lang.program(case.program).chars().take(room.min(16)).collect();
                let second = format!("{}{}", cell(&prog, room + 1, false), target);
                lines.push(Line::from(Span::styled(cell(&second, w, false), style)));
                let late = b.deadlines.overdue_by(case.stage, case.stage_since, now).is_some();
                let d = format!(" {days}{}{}", t.days, if late { "!" } else { "" });
                let gauge = bar(case.collected.minor(), case.target.minor(), w.saturating_sub(d.chars().count()));
                let d_style = if late { theme.error() } else { theme.dim() };
                lines.push(Line::from(vec![Span::styled(gauge, theme.money()), Span::styled(d, d_style)]));
            }
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
