//! The split screen: one unrestricted donation placed across fundraising
//! cases. Amounts are typed per row and checked as they are typed; nothing
//! is written until the split is confirmed, and then all of it at once. If
//! someone else changed the figures meanwhile, the commit is refused and the
//! screen shows fresh ones.

use ratatui_textarea::TextArea;

use super::command::Command;
use super::keys::Key;
use super::prompt::{line_editor, to_input};
use super::{App, AppResult, ScreenId, completed_text};
use crate::domain::split::{Need, split_evenly};
use crate::domain::{Donation, Money, Program};
use crate::error::Error;
use crate::store::{Expectation, Plan, Store};

#[derive(Debug, Clone)]
pub struct SplitRow {
    pub case_id: i64,
    pub beneficiary: String,
    pub program: Program,
    pub target: Money,
    pub collected: Money,
    pub input: String,
    pub marked: bool,
}

/// What is wrong with a row's amount, shown beside it as it is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowProblem {
    NotANumber(String),
    TooMuch { needed: Money },
}

impl SplitRow {
    pub fn still_needed(&self) -> Money {
        self.target.minus_or_zero(self.collected)
    }

    /// The typed amount; empty is zero.
    pub fn amount(&self) -> Result<Money, RowProblem> {
        if self.input.trim().is_empty() {
            return Ok(Money::ZERO);
        }
        let m = Money::parse(&self.input).map_err(|e| RowProblem::NotANumber(e.to_string()))?;
        if m > self.still_needed() {
            return Err(RowProblem::TooMuch { needed: self.still_needed() });
        }
        Ok(m)
    }
}

pub struct Split {
    pub donation: Donation,
    pub rows: Vec<SplitRow>,
    pub selected: usize,
    pub editor: TextArea<'static>,
}

impl Split {
    pub async fn load(store: &Store, donation: i64) -> Result<Split, String> {
        let (d, _) = store.donation(donation).await.map_err(|e| e.to_string())?;
        if d.designation.is_designated() && !d.released {
            return Err(format!(
                "donation {donation} is designated ({}): place it on its case from the inbox (p), or release it first",
                d.designation
            ));
        }
        if d.unallocated.is_zero() {
            return Err(format!("donation {donation} is fully allocated: nothing to place"));
        }
        let mut split = Split { donation: d, rows: Vec::new(), selected: 0, editor: line_editor("") };
        split.load_rows(store).await?;
        if split.rows.is_empty() {
            let c = split.donation.currency;
            return Err(format!(
                "donation {donation} is in {c}, and no case raises money in {c}: a gift is placed only on a case in its own currency (see the README, money in another currency)"
            ));
        }
        Ok(split)
    }

    async fn load_rows(&mut self, store: &Store) -> AppResult {
        // Only cases in the gift's own currency are offered: one in another could never take it.
        let cases = store.fundraising_figures(self.donation.currency).await.map_err(|e| e.to_string())?;
        let typed: Vec<(i64, String, bool)> =
            self.rows.iter().map(|r| (r.case_id, r.input.clone(), r.marked)).collect();
        let current = self.rows.get(self.selected).map(|r| r.case_id);
        self.rows = cases
            .into_iter()
            .map(|(case_id, beneficiary, program, target, collected)| {
                let (input, marked) =
                    typed.iter().find(|t| t.0 == case_id).map(|t| (t.1.clone(), t.2)).unwrap_or_default();
                SplitRow { case_id, beneficiary, program, target, collected, input, marked }
            })
            .collect();
        self.selected = current.and_then(|id| self.rows.iter().position(|r| r.case_id == id)).unwrap_or(0);
        self.sync_editor();
        Ok(())
    }

    /// Fresh figures from the database, keeping what was typed.
    pub async fn reload(&mut self, store: &Store) -> AppResult {
        let (d, _) = store.donation(self.donation.id).await.map_err(|e| e.to_string())?;
        self.donation = d;
        self.load_rows(store).await
    }

    fn sync_editor(&mut self) {
        let text = self.rows.get(self.selected).map(|r| r.input.clone()).unwrap_or_default();
        self.editor = line_editor(&text);
    }

    /// A digit, separator or Backspace typed into the selected row.
    pub fn type_key(&mut self, key: Key) {
        if self.rows.is_empty() {
            return;
        }
        self.editor.input(to_input(key));
        self.rows[self.selected].input = self.editor.lines().first().cloned().unwrap_or_default();
    }

    fn set_input(&mut self, i: usize, m: Money) {
        self.rows[i].input = if m.is_zero() { String::new() } else { m.plain() };
        if i == self.selected {
            self.sync_editor();
        }
    }

    /// Sum of the valid typed amounts.
    pub fn total(&self) -> Money {
        self.rows.iter().filter_map(|r| r.amount().ok()).sum()
    }

    /// What is left of the donation after what is typed (negative when over).
    pub fn left(&self) -> Money {
        self.donation.unallocated - self.total()
    }

    pub fn marked(&self) -> usize {
        self.rows.iter().filter(|r| r.marked).count()
    }

    fn select(&mut self, to: usize) {
        self.selected = to.min(self.rows.len().saturating_sub(1));
        self.sync_editor();
    }

    fn fill(&mut self) -> AppResult {
        let i = self.selected;
        let row = self.rows.get(i).ok_or("no fundraising case to fill")?;
        let mine = row.amount().unwrap_or(Money::ZERO);
        let available = (self.left() + mine).max(Money::ZERO);
        let give = crate::domain::split::fill(available, row.still_needed());
        self.set_input(i, give);
        Ok(())
    }

    fn evenly(&mut self) -> AppResult {
        if self.marked() == 0 {
            return Err("mark the cases to share among with Space first".into());
        }
        let others: Money = self.rows.iter().filter(|r| !r.marked).filter_map(|r| r.amount().ok()).sum();
        let available = self.donation.unallocated.minus_or_zero(others);
        let needs: Vec<Need> = self
            .rows
            .iter()
            .filter(|r| r.marked)
            .map(|r| Need { case_id: r.case_id, still_needed: r.still_needed() })
            .collect();
        let shares = split_evenly(available, &needs);
        for i in 0..self.rows.len() {
            if self.rows[i].marked {
                let share = shares.iter().find(|(id, _)| *id == self.rows[i].case_id).map_or(Money::ZERO, |s| s.1);
                self.set_input(i, share);
            }
        }
        Ok(())
    }

    fn oldest_first(&mut self) {
        let mut left = self.left().max(Money::ZERO);
        for i in 0..self.rows.len() {
            if left.is_zero() {
                break;
            }
            let Ok(mine) = self.rows[i].amount() else { continue };
            let give = crate::domain::split::fill(left, self.rows[i].still_needed() - mine);
            if give.is_positive() {
                self.set_input(i, mine + give);
                left -= give;
            }
        }
    }

    /// The lines to write, or why the split cannot be written as it stands.
    pub fn lines(&self) -> Result<Vec<(i64, Money)>, String> {
        let mut lines = Vec::new();
        for r in &self.rows {
            match r.amount() {
                Ok(m) if m.is_positive() => lines.push((r.case_id, m)),
                Ok(_) => {}
                Err(RowProblem::NotANumber(e)) => return Err(format!("case {}: {e}", r.case_id)),
                Err(RowProblem::TooMuch { needed }) => {
                    return Err(format!("case {} needs only {needed}; correct its amount", r.case_id));
                }
            }
        }
        if lines.is_empty() {
            return Err("nothing typed: type an amount against a case, or use f / e / o".into());
        }
        if self.left().minor() < 0 {
            return Err(format!(
                "the split is {} more than the donation has left",
                Money::from_minor(-self.left().minor())
            ));
        }
        Ok(lines)
    }
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let Some(split) = app.split.as_mut() else { return Err("no split open".into()) };
    let page = app.rows.saturating_sub(8).max(1);
    let sel = split.selected;
    match cmd {
        Command::Up => split.select(sel.saturating_sub(1)),
        Command::Down => split.select(sel + 1),
        Command::PageUp => split.select(sel.saturating_sub(page)),
        Command::PageDown => split.select(sel + page),
        Command::Top => split.select(0),
        Command::Bottom => split.select(usize::MAX),
        Command::Mark => {
            if let Some(r) = split.rows.get_mut(sel) {
                r.marked = !r.marked;
            }
        }
        Command::Fill => split.fill()?,
        Command::Evenly => split.evenly()?,
        Command::OldestFirst => split.oldest_first(),
        Command::ClearRow => {
            if !split.rows.is_empty() {
                split.set_input(sel, Money::ZERO);
            }
        }
        Command::Confirm => return confirm(app).await,
        Command::Open => {}
        other => return app.not_here(&other),
    }
    Ok(())
}

async fn confirm(app: &mut App) -> AppResult {
    let Some(split) = app.split.as_ref() else { return Ok(()) };
    let lines = split.lines()?;
    let donation = split.donation.id;
    let expect = Expectation {
        donation_unallocated: Some(split.donation.unallocated),
        case_collected: split
            .rows
            .iter()
            .filter(|r| lines.iter().any(|(id, _)| *id == r.case_id))
            .map(|r| (r.case_id, r.collected))
            .collect(),
    };
    match app.store.allocate(donation, &Plan::Lines(lines), None, Some(&expect)).await {
        Ok(out) => {
            let total: Money = out.lines.iter().map(|(_, m)| *m).sum();
            app.split = None;
            app.mark_changed();
            let back = app.run(Command::Back).await;
            if app.screen == ScreenId::Split {
                app.screen = ScreenId::Donations;
            }
            let written = format!(
                "donation {donation}: {total} placed on {} case(s), {} left{}",
                out.lines.len(),
                out.unallocated_after,
                completed_text(&out.completed)
            );
            match back {
                Ok(()) => app.set_info(written),
                Err(e) => app.set_error(format!("{written} (the screen could not be refreshed: {e})")),
            }
            Ok(())
        }
        Err(e @ (Error::Conflict(_) | Error::Allocation(_))) => {
            let store = app.store.clone();
            if let Some(split) = app.split.as_mut() {
                split.reload(&store).await?;
            }
            Err(format!("{e} — the figures on screen are fresh now"))
        }
        Err(e) => Err(e.to_string()),
    }
}
