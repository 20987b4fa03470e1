//! The case card: overview, documents checklist, allocations, timeline, notes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, bar, cell, safe};
use crate::app::App;
use crate::app::case::{CaseCard, Tab};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let Some(card) = &app.case else { return };
    let t = app.lang.t();
    let c = &card.file.case;
    let [tabs_area, body_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let mut tabs = Vec::new();
    for tab in Tab::ALL {
        let name = match tab {
            Tab::Overview => t.overview,
            Tab::Documents => t.documents,
            Tab::Allocations => t.allocations,
            Tab::Timeline => t.timeline,
            Tab::Notes => t.notes,
        };
        let style = if tab == card.tab { theme.selected() } else { theme.dim() };
        tabs.push(Span::styled(format!(" {name} "), style));
    }
    frame.render_widget(Paragraph::new(Line::from(tabs)), tabs_area);
    let title = format!("{} {} — {} · {}", t.case, c.id, c.beneficiary, app.lang.stage(c.stage));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(safe(&title, (area.width as usize).saturating_sub(4)), theme.title()));
    let inner = block.inner(body_area);
    frame.render_widget(block, body_area);
    if card.tab == Tab::Notes
        && let Some(editor) = &card.notes
    {
        let [hint, edit] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
        frame.render_widget(Paragraph::new(Span::styled(t.notes_hint, theme.dim())), hint);
        frame.render_widget(editor, edit);
        return;
    }
    let lines = body(card, app, theme, inner.width as usize);
    let max_scroll = lines.len().saturating_sub(inner.height as usize);
    let scroll = card.scroll.min(max_scroll) as u16;
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

fn body(card: &CaseCard, app: &App, theme: Theme, w: usize) -> Vec<Line<'static>> {
    let t = app.lang.t();
    let lang = app.lang;
    let f = &card.file;
    let c = &f.case;
    let label_w = 14;
    let field = |label: &str, value: String| {
        Line::from(vec![
            Span::styled(cell(label, label_w, false), theme.dim()),
            Span::raw(safe(&value, w.saturating_sub(label_w))),
        ])
    };
    match card.tab {
        Tab::Overview => {
            let mut lines = vec![
                field(t.beneficiary, c.beneficiary.clone()),
                field("", lang.program(c.program).to_string()),
                field(t.clinic, c.clinic.clone()),
                field(t.diagnosis, c.diagnosis.clone()),
                field(t.stage, format!("{} · {}", lang.stage(c.stage), c.stage_since.format("%Y-%m-%d"))),
                field(t.target, lang.money_in(c.target, c.currency)),
                field(t.collected, lang.money_in(c.collected, c.currency)),
                field(t.still_needed, lang.money_in(c.still_needed, c.currency)),
                Line::from(Span::styled(bar(c.collected.minor(), c.target.minor(), w.min(60)), theme.money())),
            ];
            if let Some(q) = &f.qualification {
                lines.push(field(
                    "✓",
                    format!("{} · {} ({})", q.treatment, q.approved_by, q.approved_at.format("%Y-%m-%d")),
                ));
            }
            // Every invoice: the live ones (paid or still to pay), and those a corrected bill replaced.
            for i in &f.invoices {
                let state = match (i.live, i.paid, i.replaced_by) {
                    (true, true, _) => " · paid".to_string(),
                    (true, false, _) => String::new(),
                    (false, _, Some(by)) => format!(
                        " · replaced by {by}{}",
                        i.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
                    ),
                    (false, _, None) => " · withdrawn".to_string(),
                };
                lines.push(field(
                    t.invoice,
                    format!("{} · {} · {} · {}{state}", i.number, i.date, lang.money_in(i.amount, c.currency), i.payee),
                ));
            }
            if let Some(p) = &f.payment_order {
                lines.push(field(
                    t.paid,
                    format!("№ {} · {} · {}", p.number, p.date, lang.money_in(p.amount, c.currency)),
                ));
            }
            if let Some(r) = &c.responsible {
                lines.push(field("→", r.clone()));
            }
            lines
        }
        Tab::Documents => {
            let mut lines = Vec::new();
            for &kind in &f.required_documents {
                let present = f.documents.iter().any(|d| d.kind == kind);
                let (mark, style) = if present { ("✓", theme.money()) } else { ("✗", theme.error()) };
                lines.push(Line::from(vec![
                    Span::styled(format!("{mark} "), style),
                    Span::raw(cell(kind.as_str(), 22, false)),
                    Span::styled(if present { t.present } else { t.missing }, style),
                ]));
            }
            lines.push(Line::from(""));
            for d in &f.documents {
                lines.push(Line::from(safe(
                    &format!(
                        "{:<20} {}  {} · {}",
                        d.kind.as_str(),
                        d.file_name,
                        d.added_by,
                        d.added_at.format("%Y-%m-%d")
                    ),
                    w,
                )));
            }
            lines
        }
        Tab::Allocations => {
            let mut lines = vec![Line::from(Span::styled(
                format!("{:>7} {:>8} {:>14} {:<10} {}", "#", t.donation, t.amount, t.channel, t.payer),
                theme.dim(),
            ))];
            for a in &f.allocations {
                let text = format!(
                    "{:>7} {:>8} {:>14} {:<10} {}{}",
                    a.id,
                    a.donation_id,
                    lang.money_in(a.amount, c.currency),
                    a.channel.as_str(),
                    a.payer,
                    if a.reversed { " (reversed)" } else { "" }
                );
                lines.push(Line::from(Span::styled(
                    safe(&text, w),
                    if a.reversed { theme.dim() } else { theme.money() },
                )));
            }
            lines
        }
        Tab::Timeline => {
            let mut events: Vec<(chrono::DateTime<chrono::Utc>, String)> = f
                .history
                .iter()
                .map(|h| {
                    let from = h.from.map(|s| lang.stage(s).to_string()).unwrap_or_else(|| "—".into());
                    (
                        h.at,
                        format!("{from} → {} · {} · {}", lang.stage(h.to), h.by, h.reason.clone().unwrap_or_default()),
                    )
                })
                .collect();
            for e in &card.audit {
                if e.action != "case.stage" {
                    events.push((e.at, format!("{} · {}", e.action, e.actor)));
                }
            }
            events.sort_by_key(|e| e.0);
            events
                .into_iter()
                .map(|(at, text)| Line::from(safe(&format!("{}  {text}", at.format("%Y-%m-%d %H:%M")), w)))
                .collect()
        }
        Tab::Notes => {
            if f.notes.is_empty() {
                vec![Line::from(Span::styled("n — edit", theme.dim()))]
            } else {
                f.notes.lines().map(|l| Line::from(safe(l, w))).collect()
            }
        }
    }
}
