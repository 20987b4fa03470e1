//! The reports screen (the pipeline as a funnel, donations as a bar per
//! month, time in stage, gauges of the open fundraisers) and the segments
//! screen (filters, live size, saved segments).

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::{Theme, bar, cell, page_start, safe};
use crate::app::App;
use crate::domain::Stage;

fn boxed<'a>(frame: &mut Frame, area: Rect, title: &str, theme: Theme, lines: Vec<Line<'a>>) {
    let block = Block::default().borders(Borders::ALL).title(Span::styled(title.to_string(), theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A bar of `value` out of `max` in `width` cells.
fn blocks(value: i64, max: i64, width: usize) -> String {
    let n = if max <= 0 { 0 } else { ((value as f64 / max as f64) * width as f64).round() as usize };
    "█".repeat(n.min(width))
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let Some(r) = &app.reports.report else {
        frame.render_widget(Paragraph::new(Span::styled(t.nothing_here, theme.dim())), area);
        return;
    };
    let [head, top, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Percentage(50), Constraint::Min(3)]).areas(area);
    let program = r.program.map(|p| format!(" · {}", app.lang.program(p))).unwrap_or_default();
    let line = format!(
        "{} {} — {}{program} · raised {} · placed {} · paid {}",
        t.reports,
        r.from,
        r.to,
        app.lang.money_short(r.raised),
        app.lang.money_short(r.placed),
        app.lang.money_short(r.paid)
    );
    frame.render_widget(Paragraph::new(Span::styled(safe(&line, area.width as usize), theme.title())), head);
    let [funnel_area, months_area] = Layout::horizontal([Constraint::Percentage(45), Constraint::Min(10)]).areas(top);
    // The funnel: how many cases entered each stage of the pipeline, centred bars.
    let mut entered: BTreeMap<Stage, i64> = BTreeMap::new();
    for e in &r.entered {
        *entered.entry(e.stage).or_default() += e.cases;
    }
    let max = entered.values().copied().max().unwrap_or(0);
    let w = funnel_area.width.saturating_sub(2) as usize;
    let label_w = 14;
    let bar_w = w.saturating_sub(label_w + 6);
    let mut lines = Vec::new();
    for s in Stage::BOARD.iter().chain([Stage::Rejected].iter()) {
        let n = entered.get(s).copied().unwrap_or(0);
        let b = blocks(n, max, bar_w);
        let pad = (bar_w.saturating_sub(b.width())) / 2;
        let right = bar_w.saturating_sub(pad + b.width());
        lines.push(Line::from(vec![
            Span::raw(cell(app.lang.stage(*s), label_w, false)),
            Span::raw(" ".repeat(pad)),
            Span::styled(b, theme.money()),
            Span::raw(" ".repeat(right)),
            Span::styled(format!(" {n:>4}"), theme.title()),
        ]));
    }
    boxed(frame, funnel_area, "entered a stage", theme, lines);
    // Donations per month, all channels, with the channels' split in words.
    let mut months: BTreeMap<&str, (i64, Vec<String>)> = BTreeMap::new();
    for m in &r.monthly {
        let e = months.entry(m.month.as_str()).or_default();
        e.0 += m.amount.minor();
        e.1.push(format!("{} {}", m.channel, m.donations));
    }
    let max = months.values().map(|v| v.0).max().unwrap_or(0);
    let w = months_area.width.saturating_sub(2) as usize;
    let rows = months_area.height.saturating_sub(2) as usize;
    let bar_w = w.saturating_sub(8 + 12);
    let lines: Vec<Line> = months
        .iter()
        .rev()
        .take(rows)
        .rev()
        .map(|(m, (sum, _))| {
            let money = app.lang.money_short(crate::domain::Money::from_minor(*sum));
            Line::from(vec![
                Span::raw(format!("{m} ")),
                Span::styled(cell(&blocks(*sum, max, bar_w), bar_w, false), theme.money()),
                Span::raw(cell(&money, 12, true)),
            ])
        })
        .collect();
    boxed(frame, months_area, "donations per month", theme, lines);
    let [stay_area, open_area] = Layout::horizontal([Constraint::Percentage(45), Constraint::Min(10)]).areas(bottom);
    let mut lines = vec![Line::from(Span::styled(
        format!("{} {:>5} {:>6} {:>6}", cell("", 13, false), "cases", "median", "p90"),
        theme.dim(),
    ))];
    for s in &r.time_in_stage {
        let days = |d: f64| format!("{d:.1}{}", t.days);
        lines.push(Line::from(format!(
            "{} {:>5} {:>6} {:>6}",
            cell(app.lang.stage(s.stage), 13, false),
            s.cases,
            days(s.median_days),
            days(s.p90_days)
        )));
    }
    boxed(frame, stay_area, "time in stage", theme, lines);
    let w = open_area.width.saturating_sub(2) as usize;
    let name_w = (w / 3).max(8);
    let rows = open_area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .reports
        .open
        .iter()
        .take(rows)
        .map(|c| {
            Line::from(vec![
                Span::raw(format!("{} ", cell(&format!("{} {}", c.id, c.beneficiary), name_w, false))),
                Span::styled(bar(c.collected.minor(), c.target.minor(), w.saturating_sub(name_w + 1)), theme.money()),
            ])
        })
        .collect();
    boxed(frame, open_area, "open fundraisers", theme, lines);
}

pub fn draw_segments(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let q = &app.segments;
    let [head, list] = Layout::vertical([Constraint::Length(6), Constraint::Min(3)]).areas(area);
    let filters = q.filter.to_string();
    let s = &q.size;
    let lines = vec![
        Line::from(vec![
            Span::styled("filters: ", theme.dim()),
            Span::raw(safe(
                if filters.is_empty() { "(none: every donor who gave)" } else { &filters },
                head.width as usize,
            )),
        ]),
        Line::from(vec![
            Span::styled(format!("{} donor(s)", s.donors), theme.title()),
            Span::raw(" · "),
            Span::styled(format!("{} reachable by e-mail", s.reachable), theme.money()),
        ]),
        Line::from(Span::styled(
            format!(
                "left out: {} do not contact · {} no consent · {} no e-mail",
                s.do_not_contact, s.no_consent, s.no_email
            ),
            theme.dim(),
        )),
        Line::from(Span::styled(
            "/ filters (paid_from= paid_to= min_amount= max_amount= min_total= min_gifts= channel= program= purpose= recurring= last_before= last_after= has_email=) · s save · e export · Enter loads a saved one",
            theme.dim(),
        )),
    ];
    boxed(frame, head, t.segments, theme, lines);
    let visible = list.height.saturating_sub(2) as usize;
    let w = list.width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    if q.saved.is_empty() {
        lines.push(Line::from(Span::styled(t.nothing_here, theme.dim())));
    }
    for (idx, (name, f, size)) in q.saved.iter().enumerate().skip(page_start(q.selected, visible.max(1))).take(visible)
    {
        let style = if idx == q.selected { theme.selected() } else { Style::default() };
        let text = format!("{} {:>7} {:>7}  {}", cell(name, 24, false), size.donors, size.reachable, f);
        lines.push(Line::from(Span::styled(cell(&text, w, false), style)));
    }
    boxed(frame, list, "saved (donors, reachable)", theme, lines);
}
