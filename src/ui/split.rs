//! The split screen: every fundraising case with target, collected and still
//! needed; the amount typed per row (a ratatui-textarea input on the focused
//! row); live totals; problems shown beside the row as they are typed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, cell, page_start, safe};
use crate::app::App;
use crate::app::split::RowProblem;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let Some(s) = &app.split else { return };
    let t = app.lang.t();
    let lang = app.lang;
    let [head_area, table_area, hint_area] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(3), Constraint::Length(1)]).areas(area);

    let d = &s.donation;
    let cur = d.currency;
    let left = s.left();
    let left_style = if left.minor() < 0 { theme.error() } else { theme.money() };
    let head = vec![
        Line::from(vec![
            Span::styled(format!("{} {} ", t.donation, d.id), theme.title()),
            Span::raw(safe(&format!("{} · {} · {}", d.payer, d.channel, d.received_on), area.width as usize / 2)),
        ]),
        Line::from(vec![
            Span::raw(format!("{}: ", t.to_place)),
            Span::styled(lang.money_in(d.unallocated, d.currency), theme.money()),
            Span::raw(format!("   {}: ", t.placing)),
            Span::styled(lang.money_in(s.total(), d.currency), theme.money()),
            Span::raw(format!("   {}: ", t.left)),
            Span::styled(lang.money_in(left, d.currency), left_style),
            Span::raw(format!("   {}: {}", t.marked, s.marked())),
        ]),
        Line::from(Span::styled(
            if left.minor() < 0 { t.over_remainder.to_string() } else { String::new() },
            theme.error(),
        )),
    ];
    frame.render_widget(Paragraph::new(head), head_area);

    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!("{} {}", t.fundraising, s.rows.len()), theme.title()));
    let inner = block.inner(table_area);
    frame.render_widget(block, table_area);
    let w = inner.width as usize;
    let money_w = if w >= 120 { 16 } else { 12 };
    let (mark_w, id_w, input_w) = (1, 6, money_w);
    let name_w = w.saturating_sub(mark_w + id_w + money_w * 3 + input_w + 6).max(4);
    let header = format!(
        "{} {} {} {} {} {} {}",
        " ",
        cell("#", id_w, true),
        cell(t.beneficiary, name_w, false),
        cell(t.target, money_w, true),
        cell(t.collected, money_w, true),
        cell(t.still_needed, money_w, true),
        cell(t.amount, input_w, true)
    );
    let mut lines = vec![Line::from(Span::styled(header, theme.dim()))];
    let visible = inner.height.saturating_sub(1) as usize;
    let first = page_start(s.selected, visible);
    let input_x = inner.x + (mark_w + id_w + name_w + money_w * 3 + 6) as u16;
    for (idx, r) in s.rows.iter().enumerate().skip(first).take(visible) {
        let sel = idx == s.selected;
        let problem = r.amount().err();
        let amount_style = if problem.is_some() { theme.error() } else { theme.money() };
        let row_style = if sel { theme.selected() } else { Style::default() };
        let mut spans = vec![Span::styled(
            format!(
                "{} {} {} {} {} {} ",
                if r.marked { "*" } else { " " },
                cell(&r.case_id.to_string(), id_w, true),
                cell(&r.beneficiary, name_w, false),
                cell(&lang.money_in(r.target, cur), money_w, true),
                cell(&lang.money_in(r.collected, cur), money_w, true),
                cell(&lang.money_in(r.still_needed(), cur), money_w, true),
            ),
            row_style,
        )];
        // The focused row's amount is drawn by its text input below.
        let shown = if sel { String::new() } else { r.input.clone() };
        spans.push(Span::styled(cell(&shown, input_w, true), amount_style));
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    // The focused row's amount is a live text input.
    if !s.rows.is_empty() && visible > 0 {
        let y = inner.y + 1 + (s.selected - first) as u16;
        let rect = Rect { x: input_x, y, width: input_w as u16, height: 1 }.intersection(inner);
        frame.render_widget(&s.editor, rect);
    }
    let hint = match s.rows.get(s.selected).and_then(|r| r.amount().err()) {
        Some(RowProblem::TooMuch { needed }) => {
            Span::styled(format!("{} {}: {}", t.too_much, "—", lang.money_in(needed, cur)), theme.error())
        }
        Some(RowProblem::NotANumber(e)) => Span::styled(safe(&e, area.width as usize), theme.error()),
        None => Span::styled(safe(t.split_hint, area.width as usize), theme.dim()),
    };
    frame.render_widget(Paragraph::new(hint), hint_area);
}
