//! Likely duplicate donors: the list on top, the selected pair side by side
//! below, the donor a merge keeps marked `●` (the one with more gifts).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, cell, page_start};
use crate::app::App;
use crate::store::DonorSide;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let q = &app.donor_pairs;
    let list_rows = (q.rows.len().max(1) as u16 + 2).min(area.height / 3).max(4);
    let [top, bottom] = Layout::vertical([Constraint::Length(list_rows), Constraint::Min(3)]).areas(area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!("{} — {}", t.donor_pairs, q.rows.len()), theme.title()));
    let inner = block.inner(top);
    frame.render_widget(block, top);
    let w = inner.width as usize;
    let id_w = 6;
    let rest = w.saturating_sub(2 * id_w + 4);
    let name_w = rest * 3 / 10;
    let reason_w = rest.saturating_sub(2 * name_w);
    let mut lines = Vec::new();
    let visible = inner.height as usize;
    if q.rows.is_empty() {
        lines.push(Line::from(Span::styled(t.nothing_here, theme.dim())));
    } else if visible > 0 {
        for (idx, p) in q.rows.iter().enumerate().skip(page_start(q.selected, visible)).take(visible) {
            let row = format!(
                "{} {} {} {} {}",
                cell(&p.a.id.to_string(), id_w, true),
                cell(&p.a.name, name_w, false),
                cell(&p.b.id.to_string(), id_w, true),
                cell(&p.b.name, name_w, false),
                cell(&p.reason, reason_w, false)
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
    let block = Block::default().borders(Borders::ALL);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(p) = app.donor_pairs.current() else { return };
    let w = inner.width as usize;
    let label_w = 9;
    let side_w = w.saturating_sub(label_w + 3) / 2;
    let (_, into) = p.direction();
    let head = |d: &DonorSide| format!("{} #{}", if d.id == into { "●" } else { "○" }, d.id);
    let mut lines = vec![Line::from(vec![
        Span::raw(" ".repeat(label_w + 2)),
        Span::styled(cell(&head(&p.a), side_w, false), theme.title()),
        Span::raw(" "),
        Span::styled(cell(&head(&p.b), side_w, false), theme.title()),
    ])];
    let kind = |d: &DonorSide| if d.kind == "organisation" { t.organisation } else { t.person }.to_string();
    let or_dash = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| "—".into());
    let both = |f: &dyn Fn(&DonorSide) -> String| (f(&p.a), f(&p.b));
    let fields = [
        (t.name, both(&|d| d.name.clone()), false),
        (t.kind, both(&kind), false),
        (t.inn, both(&|d| or_dash(&d.inn)), false),
        (t.email, both(&|d| or_dash(&d.email)), false),
        (t.phone, both(&|d| or_dash(&d.phone)), false),
        (t.gifts, both(&|d| d.gifts.to_string()), false),
        (t.total, both(&|d| app.lang.money(d.total)), true),
    ];
    for (label, (a, b), money) in fields {
        // A field the two hold differently is what tells them apart: shown in its own colour.
        let style = if money {
            theme.money()
        } else if a != b && a != "—" && b != "—" {
            theme.warn()
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            Span::raw(format!("  {}", cell(label, label_w, false))),
            Span::styled(cell(&a, side_w, false), style),
            Span::raw(" "),
            Span::styled(cell(&b, side_w, false), style),
        ]));
    }
    lines.push(Line::from(Span::styled(cell(&p.reason, w, false), theme.warn())));
    lines.push(Line::from(Span::styled(cell(t.donor_pairs_hint, w, false), theme.dim())));
    frame.render_widget(Paragraph::new(lines), inner);
}
