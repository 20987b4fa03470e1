//! The review queue: the list on top, the selected pair side by side below,
//! each field marked with the value the merge will keep.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, cell, page_start};
use crate::app::App;
use crate::store::Field;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let q = &app.reviews;
    let list_rows = (q.rows.len().max(1) as u16 + 3).min(area.height / 3).max(4);
    let [top, bottom] = Layout::vertical([Constraint::Length(list_rows), Constraint::Min(3)]).areas(area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!("{} — {}", t.reviews, q.rows.len()), theme.title()));
    let inner = block.inner(top);
    frame.render_widget(block, top);
    let w = inner.width as usize;
    let (id_w, born_w) = (5, 10);
    let rest = w.saturating_sub(id_w + 2 * born_w + 5);
    let (name_w, reason_w) = (rest * 3 / 10, rest - 2 * (rest * 3 / 10));
    let mut lines = Vec::new();
    let visible = inner.height as usize;
    if q.rows.is_empty() {
        lines.push(Line::from(Span::styled(t.nothing_here, theme.dim())));
    } else if visible > 0 {
        for (idx, r) in q.rows.iter().enumerate().skip(page_start(q.selected, visible)).take(visible) {
            let row = format!(
                "{} {} {} {} {} {}",
                cell(&r.id.to_string(), id_w, true),
                cell(&r.name, name_w, false),
                cell(r.born.as_deref().unwrap_or("—"), born_w, false),
                cell(&r.candidate_name, name_w, false),
                cell(r.candidate_born.as_deref().unwrap_or("—"), born_w, false),
                cell(&r.reason, reason_w, false)
            );
            let style = if idx == q.selected { theme.selected() } else { Style::default() };
            lines.push(Line::from(Span::styled(row, style)));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
    draw_pair(frame, bottom, app, theme);
}

fn draw_pair(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let q = &app.reviews;
    let block = Block::default().borders(Borders::ALL);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(r) = q.current() else { return };
    let w = inner.width as usize;
    let label_w = 8;
    let side_w = w.saturating_sub(label_w + 4) / 2;
    let mut lines = vec![Line::from(vec![
        Span::raw(" ".repeat(label_w + 2)),
        Span::styled(cell(&format!("{} #{}", t.new_record, r.beneficiary_id), side_w, false), theme.title()),
        Span::raw(" "),
        Span::styled(cell(&format!("{} #{}", t.earlier_record, r.candidate_id), side_w, false), theme.title()),
    ])];
    for (i, f) in Field::ALL.iter().enumerate() {
        let label = match f {
            Field::Name => t.name,
            Field::BirthDate => t.born,
            Field::City => t.city,
        };
        let widths = (label_w, side_w);
        lines.push(super::choice_row(label, q.field == i, q.take[i], f.values(r), widths, theme));
    }
    let cases_of = |who: i64| -> Vec<String> {
        q.cases
            .iter()
            .filter(|c| c.beneficiary_id == who)
            .map(|c| format!("#{} {} · {} · {}", c.id, c.program, c.stage, c.clinic))
            .collect()
    };
    let (new_cases, earlier_cases) = (cases_of(r.beneficiary_id), cases_of(r.candidate_id));
    let room = (inner.height as usize).saturating_sub(lines.len() + 2);
    for k in 0..new_cases.len().max(earlier_cases.len()).min(room) {
        let label = if k == 0 { t.cases } else { "" };
        lines.push(Line::from(vec![
            Span::raw(format!("  {}", cell(label, label_w, false))),
            Span::raw(cell(new_cases.get(k).map_or("", String::as_str), side_w, false)),
            Span::raw(" "),
            Span::raw(cell(earlier_cases.get(k).map_or("", String::as_str), side_w, false)),
        ]));
    }
    lines.push(Line::from(Span::styled(cell(&r.reason, w, false), theme.warn())));
    lines.push(Line::from(Span::styled(cell(t.reviews_hint, w, false), theme.dim())));
    frame.render_widget(Paragraph::new(lines), inner);
}
