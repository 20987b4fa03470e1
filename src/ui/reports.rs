//! The reports screen (the pipeline as a funnel, donations as a bar per
//! month stacked by channel, time in stage, gauges of the open fundraisers)
//! and the segments screen (filters, the size as they are typed, saved
//! segments).

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::{Theme, bar, cell, page_start, safe};
use crate::app::App;
use crate::domain::{Channel, Stage};
use crate::store::StageReport;

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
    let other: String = r.other_currencies.iter().map(|(c, m)| format!(" · +{} {c}", m.plain())).collect();
    let line = format!(
        "{} {} — {}{program} · raised {} · placed {} · paid {}{other}",
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
    draw_months(frame, months_area, app, r, theme);
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

/// How a channel shows in the monthly bars: its pattern (readable without
/// colour) and its colour.
const PATTERNS: [(&str, Color); 5] =
    [("█", Color::Green), ("▓", Color::Cyan), ("▒", Color::Yellow), ("░", Color::Magenta), ("▚", Color::Blue)];

/// Donations per month: a bar per month, stacked by channel; the channels'
/// key, with each one's share of the period where it fits, on the bottom edge.
fn draw_months(frame: &mut Frame, area: Rect, app: &App, r: &StageReport, theme: Theme) {
    let raised: i64 = r.monthly.iter().map(|m| m.amount.minor()).sum();
    let period = |c: &str| -> i64 { r.monthly.iter().filter(|m| m.channel == c).map(|m| m.amount.minor()).sum() };
    // The channels present, the one that brought most first (solid), then the
    // foundation's order, any other after them.
    let mut channels: Vec<&str> =
        Channel::ALL.iter().map(|c| c.as_str()).filter(|c| r.monthly.iter().any(|m| m.channel == *c)).collect();
    for m in &r.monthly {
        if !channels.contains(&m.channel.as_str()) {
            channels.push(&m.channel);
        }
    }
    channels.sort_by_key(|c| std::cmp::Reverse(period(c)));
    let mut months: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for m in &r.monthly {
        let sums = months.entry(m.month.as_str()).or_insert_with(|| vec![0; channels.len()]);
        if let Some(i) = channels.iter().position(|c| *c == m.channel) {
            sums[i] += m.amount.minor();
        }
    }
    let pattern = |i: usize| {
        let (p, colour) = PATTERNS.get(i).copied().unwrap_or(("▪", Color::White));
        (p, theme.fg(colour))
    };
    let max = months.values().map(|v| v.iter().sum::<i64>()).max().unwrap_or(0);
    let w = area.width.saturating_sub(2) as usize;
    let rows = area.height.saturating_sub(2) as usize;
    let bar_w = w.saturating_sub(8 + 12);
    let lines: Vec<Line> = months
        .iter()
        .rev()
        .take(rows)
        .rev()
        .map(|(m, sums)| {
            let total: i64 = sums.iter().sum();
            let length = blocks(total, max, bar_w).chars().count();
            let mut spans = vec![Span::raw(format!("{m} "))];
            for (i, n) in cells(sums, length).into_iter().enumerate() {
                let (p, style) = pattern(i);
                spans.push(Span::styled(p.repeat(n), style));
            }
            spans.push(Span::raw(" ".repeat(bar_w.saturating_sub(length))));
            spans.push(Span::raw(cell(&app.lang.money_short(crate::domain::Money::from_minor(total)), 12, true)));
            Line::from(spans)
        })
        .collect();
    // The key: with shares if it fits, else the names, else their first letters.
    let share = |c: &str| if raised > 0 { (period(c) * 100 + raised / 2) / raised } else { 0 };
    let keys: [Vec<String>; 3] = [
        channels.iter().map(|c| format!("{c} {}%", share(c))).collect(),
        channels.iter().map(|c| c.to_string()).collect(),
        channels.iter().map(|c| c.chars().take(4).collect()).collect(),
    ];
    let fits = |names: &Vec<String>| names.iter().map(|n| n.width() + 2).sum::<usize>() <= w;
    let names = keys.iter().find(|k| fits(k)).unwrap_or(&keys[2]);
    let mut key = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (p, style) = pattern(i);
        key.push(Span::styled(p, style));
        key.push(Span::raw(format!("{} ", safe(name, w))));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled("donations per month", theme.title()))
        .title_bottom(Line::from(key));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `length` cells shared out in proportion to `parts`: each its whole cells,
/// then the cells left over to the largest remainders (the larger part first
/// on a tie), so the parts always fill the bar and a small part never shows
/// where a bigger one does not.
fn cells(parts: &[i64], length: usize) -> Vec<usize> {
    let total: i64 = parts.iter().sum();
    if total <= 0 {
        return vec![0; parts.len()];
    }
    let exact: Vec<f64> = parts.iter().map(|p| *p as f64 / total as f64 * length as f64).collect();
    let mut out: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|a, b| {
        (exact[*b] - out[*b] as f64).total_cmp(&(exact[*a] - out[*a] as f64)).then(parts[*b].cmp(&parts[*a]))
    });
    let left = length.saturating_sub(out.iter().sum());
    for i in order.into_iter().take(left) {
        out[i] += 1;
    }
    out
}

pub fn draw_segments(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let q = &app.segments;
    let [head, list] = Layout::vertical([Constraint::Length(6), Constraint::Min(3)]).areas(area);
    // While filters are typed at `/`, the figures are theirs (the last complete ones).
    let (filter, s) = match &q.typing {
        Some(typed) => (&typed.filter, &typed.size),
        None => (&q.filter, &q.size),
    };
    let filters = filter.to_string();
    let hint = match q.typing.as_ref().map(|typed| (typed.incomplete.as_deref(), typed.counting.is_some())) {
        Some((Some(why), _)) => Line::from(Span::styled(
            safe(&format!("filter incomplete, the count is for the last complete one: {why}"), head.width as usize),
            theme.warn(),
        )),
        Some((None, true)) => {
            Line::from(Span::styled("counting the filters typed… (the figures are the last ones counted)", theme.dim()))
        }
        Some((None, false)) => {
            Line::from(Span::styled("as typed · Enter keeps these filters · Esc goes back", theme.dim()))
        }
        None => Line::from(Span::styled(
            "/ filters (paid_from= paid_to= min_amount= max_amount= min_total= min_gifts= channel= program= purpose= recurring= last_before= last_after= has_email=) · s save · e export · Enter loads a saved one",
            theme.dim(),
        )),
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(if q.typing.is_some() { "filters typed: " } else { "filters: " }, theme.dim()),
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
        hint,
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
