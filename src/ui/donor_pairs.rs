//! Likely duplicate donors: the list on top, the selected pair side by side
//! below, the donor a merge takes away `○` on the left and the one it keeps
//! `●` (the one with more gifts) on the right, as the review queue has the
//! new record left and the earlier right; the e-mail and phone each marked
//! with the value the kept donor will have.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, cell, page_start};
use crate::app::App;
use crate::app::donor_pairs::Contact;
use crate::app::i18n::Lang;
use crate::store::DonorSide;

/// This screen's words beyond the shared catalogue's.
struct Words {
    mailing: &'static str,
    yes: &'static str,
    no: &'static str,
    left_alone: &'static str,
    hint: &'static str,
}

fn words(lang: Lang) -> Words {
    match lang {
        Lang::En => Words {
            mailing: "Mailing",
            yes: "yes",
            no: "no",
            left_alone: "do not contact",
            hint: "Tab field · ← take ○'s · → keep ●'s · m merge ○ into ● · x keep apart · u undo",
        },
        Lang::Ru => Words {
            mailing: "Рассылка",
            yes: "да",
            no: "нет",
            left_alone: "не беспокоить",
            hint: "Tab поле · ← взять у ○ · → оставить у ● · m ○ в ● · x разные люди · u отменить",
        },
    }
}

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
    let say = words(app.lang);
    let q = &app.donor_pairs;
    let block = Block::default().borders(Borders::ALL);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(p) = q.current() else { return };
    let w = inner.width as usize;
    let label_w = 9;
    let side_w = w.saturating_sub(label_w + 3) / 2;
    let (merged, kept) = p.merged_and_kept();
    let mut lines = vec![Line::from(vec![
        Span::raw(" ".repeat(label_w + 2)),
        Span::styled(cell(&format!("○ #{}", merged.id), side_w, false), theme.title()),
        Span::raw(" "),
        Span::styled(cell(&format!("● #{}", kept.id), side_w, false), theme.title()),
    ])];
    let kind = |d: &DonorSide| if d.kind == "organisation" { t.organisation } else { t.person }.to_string();
    let or_dash = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| "—".into());
    let mailing = |d: &DonorSide| {
        if d.do_not_contact {
            say.left_alone
        } else if d.consent {
            say.yes
        } else {
            say.no
        }
        .to_string()
    };
    let both = |f: &dyn Fn(&DonorSide) -> String| (f(merged), f(kept));
    let row = |label: &str, (a, b): (String, String), style: Style| {
        Line::from(vec![
            Span::raw(format!("  {}", cell(label, label_w, false))),
            Span::styled(cell(&a, side_w, false), style),
            Span::raw(" "),
            Span::styled(cell(&b, side_w, false), style),
        ])
    };
    // A field the two hold differently is what tells them apart: shown in its own colour.
    let differ =
        |(a, b): &(String, String)| if a != b && a != "—" && b != "—" { theme.warn() } else { Style::default() };
    for (label, values) in
        [(t.name, both(&|d| d.name.clone())), (t.kind, both(&kind)), (t.inn, both(&|d| or_dash(&d.inn)))]
    {
        let style = differ(&values);
        lines.push(row(label, values, style));
    }
    for (i, c) in Contact::ALL.iter().enumerate() {
        let label = match c {
            Contact::Email => t.email,
            Contact::Phone => t.phone,
        };
        let widths = (label_w, side_w);
        lines.push(super::choice_row(label, q.field == i, q.take[i], (c.of(merged), c.of(kept)), widths, theme));
    }
    let values = both(&mailing);
    let style = differ(&values);
    lines.push(row(say.mailing, values, style));
    lines.push(row(t.gifts, both(&|d| d.gifts.to_string()), Style::default()));
    lines.push(row(t.total, both(&|d| app.lang.money(d.total)), theme.money()));
    lines.push(Line::from(Span::styled(cell(&p.reason, w, false), theme.warn())));
    lines.push(Line::from(Span::styled(cell(say.hint, w, false), theme.dim())));
    frame.render_widget(Paragraph::new(lines), inner);
}
