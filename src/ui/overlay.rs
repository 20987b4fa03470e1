//! The status line (prompt, question, progress, message) and the popups:
//! help (`?`, built from the keymap in force) and which-key for chords.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Theme, bar, cell, safe};
use crate::app::App;
use crate::app::keys::keys_text;

pub fn status_line(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let w = area.width as usize;
    if let Some(p) = &app.prompt {
        let [colon, rest] = Layout::horizontal([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        frame.render_widget(Paragraph::new(":"), colon);
        frame.render_widget(&p.editor, rest);
        return;
    }
    if let Some(p) = &app.progress {
        let label = format!("{} {} ", super::safe(&p.label, w), app.lang.t().working);
        let line = Line::from(vec![
            Span::raw(label.clone()),
            Span::styled(bar(p.done, p.total, w.saturating_sub(label.chars().count())), theme.money()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let line = match &app.status {
        Some(s) => Span::styled(safe(&s.text, w), if s.error { theme.error() } else { theme.warn() }),
        None if !app.pending.is_empty() => Span::styled(safe(app.lang.t().pending_chord, w), theme.dim()),
        None => Span::styled(safe(app.lang.t().keys_hint, w), theme.dim()),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn popup(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

pub fn help(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let bindings = app.keymap.in_force(app.screen.scope());
    // One column if it fits, else two side by side.
    let room = area.height.saturating_sub(2).max(1) as usize;
    let columns = if bindings.len() > room { 2 } else { 1 };
    let per_column = bindings.len().div_ceil(columns).max(1);
    let rect = popup(area, if columns == 2 { 120 } else { 72 }, per_column as u16 + 2);
    let inner_w = rect.width.saturating_sub(2) as usize / columns;
    let key_w = 11;
    let entry = |i: usize| -> Vec<Span<'static>> {
        match bindings.get(i) {
            Some(b) => {
                let what = if b.desc.is_empty() { b.run_text.join("; ") } else { b.desc.clone() };
                vec![
                    Span::styled(cell(&keys_text(&b.keys), key_w, false), theme.key()),
                    Span::raw(cell(&what, inner_w.saturating_sub(key_w + 1), false)),
                    Span::raw(" "),
                ]
            }
            None => vec![],
        }
    };
    let lines: Vec<Line> = (0..per_column)
        .map(|row| {
            let mut spans = entry(row);
            if columns == 2 {
                spans.extend(entry(row + per_column));
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Clear, rect);
    let block = Block::default().borders(Borders::ALL).title(Span::styled(app.lang.t().help, theme.title()));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

pub fn which_key(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let choices = app.chord_choices();
    if choices.is_empty() {
        return;
    }
    let height = choices.len() as u16 + 2;
    let rect = Rect {
        x: area.x,
        y: area.y + area.height.saturating_sub(height),
        width: area.width.min(48),
        height: height.min(area.height),
    };
    let lines: Vec<Line> = choices
        .iter()
        .map(|(k, what)| Line::from(vec![Span::styled(cell(k, 6, false), theme.key()), Span::raw(safe(what, 40))]))
        .collect();
    frame.render_widget(Clear, rect);
    let title = keys_text(&app.pending);
    frame.render_widget(Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)), rect);
}
