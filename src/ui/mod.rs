//! Drawing only: reads `app` state and paints it with ratatui. Every piece of
//! outside text goes through [`safe`], so escape sequences stay inert.

mod board;
mod case;
mod donor_pairs;
mod imports;
mod inbox;
mod notices;
mod overlay;
mod payments;
mod privacy;
mod reports;
mod reviews;
mod split;
pub mod term;
mod work;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::app::{App, ScreenId};
use crate::text::{clip, inert};

/// Colours in the 16-colour palette, or none at all under `NO_COLOR`.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env() -> Theme {
        Theme { color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) }
    }

    fn fg(self, c: Color) -> Style {
        if self.color { Style::default().fg(c) } else { Style::default() }
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn dim(self) -> Style {
        if self.color { Style::default().fg(Color::DarkGray) } else { Style::default() }
    }
    pub fn money(self) -> Style {
        self.fg(Color::Green)
    }
    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }
    /// The selected row: reverse video reads in any palette, and with none.
    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub fn key(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
}

/// The start of `text` that fits in `width` cells, broken after a word where one ends in the
/// second half of the row, and what is left (without the space the break took).
pub(crate) fn split_at_width(text: &str, width: usize) -> (&str, &str) {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += c.width().unwrap_or(0);
        if used > width {
            let (head, tail) = text.split_at(i);
            if c == ' ' {
                return (head, tail.trim_start());
            }
            return match head.rfind(' ') {
                Some(at) if head[..at].width() >= width / 2 => (&head[..at], text[at..].trim_start()),
                _ => (head, tail),
            };
        }
    }
    (text, "")
}

/// `text` over as many rows of `width` cells as it needs, each broken after a word where it can.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    let mut rest = text;
    while !rest.is_empty() && width > 0 {
        let (row, more) = split_at_width(rest, width);
        if row.is_empty() {
            break;
        }
        rows.push(row.to_string());
        rest = more;
    }
    if rows.is_empty() {
        rows.push(String::new());
    }
    rows
}

/// A field of two records side by side, as a person chooses between them (the children's and the
/// donors' review screens): `▶` on the field under the cursor, `●` on the value taken (the left
/// one when `take_left`), `—` for none.
pub(crate) fn choice_row(
    label: &str,
    under_cursor: bool,
    take_left: bool,
    (left, right): (Option<&str>, Option<&str>),
    (label_w, side_w): (usize, usize),
    theme: Theme,
) -> Line<'static> {
    let mark = |chosen: bool, v: Option<&str>| {
        format!("{} {}", if chosen { "●" } else { "○" }, v.filter(|v| !v.trim().is_empty()).unwrap_or("—"))
    };
    let pick = |chosen: bool| if chosen { theme.money() } else { theme.dim() };
    let cursor = if under_cursor { "▶" } else { " " };
    let label_style = if under_cursor { theme.selected() } else { Style::default() };
    Line::from(vec![
        Span::styled(format!("{cursor} {}", cell(label, label_w, false)), label_style),
        Span::styled(cell(&mark(take_left, left), side_w, false), pick(take_left)),
        Span::raw(" "),
        Span::styled(cell(&mark(!take_left, right), side_w, false), pick(!take_left)),
    ])
}

/// Outside text made inert and cut to `width` terminal cells.
pub fn safe(text: &str, width: usize) -> String {
    clip(&inert(text), width)
}

/// Pads (or cuts) to exactly `width` cells, right-aligned when `right`.
pub fn cell(text: &str, width: usize, right: bool) -> String {
    let t = safe(text, width);
    let pad = " ".repeat(width.saturating_sub(t.width()));
    if right { format!("{pad}{t}") } else { format!("{t}{pad}") }
}

/// First row of the page that holds `selected` when `visible` rows fit.
pub fn page_start(selected: usize, visible: usize) -> usize {
    selected.checked_div(visible).map_or(0, |page| page * visible)
}

/// A text progress bar: `███░░░ 45%`.
pub fn bar(done: i64, total: i64, width: usize) -> String {
    let frac = if total <= 0 { 0.0 } else { (done as f64 / total as f64).clamp(0.0, 1.0) };
    let pct = format!(" {:>3}%", (frac * 100.0).floor() as i64);
    let cells = width.saturating_sub(pct.len());
    let full = ((cells as f64) * frac).round() as usize;
    format!("{}{}{pct}", "█".repeat(full), "░".repeat(cells - full.min(cells)))
}

/// Draws the whole console for the current state.
pub fn draw(frame: &mut Frame, app: &App, theme: Theme) {
    let area = frame.area();
    let [top, main, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    draw_tabs(frame, top, app, theme);
    match app.screen {
        ScreenId::Board => board::draw(frame, main, app, theme),
        ScreenId::Case => case::draw(frame, main, app, theme),
        ScreenId::Donations => inbox::draw(frame, main, app, theme),
        ScreenId::Split => split::draw(frame, main, app, theme),
        ScreenId::Payments => payments::draw(frame, main, app, theme),
        ScreenId::Imports => imports::draw(frame, main, app, theme),
        ScreenId::Reviews => reviews::draw(frame, main, app, theme),
        ScreenId::Donors => donor_pairs::draw(frame, main, app, theme),
        ScreenId::Work => work::draw(frame, main, app, theme),
        ScreenId::Notices => notices::draw(frame, main, app, theme),
        ScreenId::Reports => reports::draw(frame, main, app, theme),
        ScreenId::Segments => reports::draw_segments(frame, main, app, theme),
        ScreenId::Privacy => privacy::draw(frame, main, app, theme),
    }
    overlay::status_line(frame, bottom, app, theme);
    if app.help {
        overlay::help(frame, main, app, theme);
    } else if !app.pending.is_empty() {
        overlay::which_key(frame, main, app, theme);
    }
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let t = app.lang.t();
    let mut spans = vec![Span::styled(" almoner ", theme.title())];
    let tabs = [
        (ScreenId::Work, t.work, "g w"),
        (ScreenId::Board, t.board, "g b"),
        (ScreenId::Donations, t.donations, "g d"),
        (ScreenId::Payments, t.payments, "g p"),
        (ScreenId::Imports, t.imports, "g i"),
        (ScreenId::Reviews, t.reviews, "g r"),
    ];
    // The keys go when the names alone fill the line (? lists them anyway).
    let with_keys: usize = 9 + tabs.iter().map(|(_, n, k)| n.width() + k.len() + 3).sum::<usize>() + 14;
    let hints = with_keys <= area.width as usize;
    for (screen, name, keys) in tabs {
        let style = if app.screen == screen { theme.selected() } else { Style::default() };
        spans.push(Span::styled(format!(" {name} "), style));
        if hints {
            spans.push(Span::styled(format!("{keys} "), theme.dim()));
        }
    }
    if app.notices.unseen > 0 {
        spans.push(Span::styled(format!(" ● {} N ", app.notices.unseen), theme.warn()));
    }
    match app.screen {
        ScreenId::Case => {
            if let Some(c) = &app.case {
                spans.push(Span::styled(format!(" {} {} ", t.case, c.file.case.id), theme.selected()));
            }
        }
        ScreenId::Split => {
            if let Some(s) = &app.split {
                spans.push(Span::styled(format!(" {} {} ", t.split, s.donation.id), theme.selected()));
            }
        }
        // Its own tab only while open: a seventh for good would crowd out the case's at 80 columns.
        ScreenId::Donors => spans.push(Span::styled(format!(" {} ", t.donor_pairs_tab), theme.selected())),
        ScreenId::Privacy => spans.push(Span::styled(format!(" {} ", t.privacy_tab), theme.selected())),
        _ => {}
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
