//! The donations inbox: money not yet fully placed, newest last, filterable
//! by channel, date and designation. Enter on an unrestricted donation opens
//! the split; on a designated one it asks once and places it.

use super::command::{Command, Filter};
use super::{App, AppResult, Confirm};
use crate::domain::Donation;
use crate::store::{DonationQuery, Store};

const WINDOW: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct Inbox {
    pub rows: Vec<Donation>,
    pub window_start: usize,
    pub selected: usize,
    pub filter: Filter,
    /// Rows matching the filter (known once the end has been reached).
    pub at_end: bool,
}

impl Inbox {
    fn query(&self, offset: usize) -> DonationQuery {
        DonationQuery {
            unallocated_only: true,
            channel: self.filter.channel,
            designated: self.filter.designated,
            from: self.filter.from,
            to: self.filter.to,
            text: self.filter.text.clone(),
            limit: Some(WINDOW as i64),
            offset: offset as i64,
        }
    }

    pub async fn load(&mut self, store: &Store, _rows: usize) -> AppResult {
        let rows = store.list_donations(&self.query(self.window_start)).await.map_err(|e| e.to_string())?;
        self.at_end = rows.len() < WINDOW;
        self.rows = rows;
        if self.rows.is_empty() && self.window_start > 0 {
            self.window_start = 0;
            self.selected = 0;
            return Box::pin(self.load(store, _rows)).await;
        }
        let last = self.window_start + self.rows.len().saturating_sub(1);
        self.selected = self.selected.clamp(self.window_start, last.max(self.window_start));
        Ok(())
    }

    pub fn selected_donation(&self) -> Option<&Donation> {
        self.selected.checked_sub(self.window_start).and_then(|i| self.rows.get(i))
    }

    async fn select(&mut self, store: &Store, to: usize) -> AppResult {
        let in_window = to >= self.window_start && to < self.window_start + self.rows.len();
        if !in_window {
            if to >= self.window_start + self.rows.len() && self.at_end {
                self.selected = self.window_start + self.rows.len().saturating_sub(1);
                return Ok(());
            }
            let start = to.saturating_sub(WINDOW / 2);
            let rows = store.list_donations(&self.query(start)).await.map_err(|e| e.to_string())?;
            if rows.is_empty() {
                return Ok(());
            }
            self.at_end = rows.len() < WINDOW;
            self.window_start = start;
            self.rows = rows;
        }
        self.selected = to.min(self.window_start + self.rows.len().saturating_sub(1));
        Ok(())
    }
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let sel = app.inbox.selected;
    let page = app.rows.saturating_sub(6).max(1);
    let store = app.store.clone();
    match cmd {
        Command::Up => app.inbox.select(&store, sel.saturating_sub(1)).await,
        Command::Down => app.inbox.select(&store, sel + 1).await,
        Command::PageUp => app.inbox.select(&store, sel.saturating_sub(page)).await,
        Command::PageDown => app.inbox.select(&store, sel + page).await,
        Command::Top => app.inbox.select(&store, 0).await,
        Command::Bottom => {
            // Walk to the end a window at a time.
            let mut to = sel;
            loop {
                app.inbox.select(&store, to + WINDOW).await?;
                if app.inbox.at_end || app.inbox.selected == to {
                    break;
                }
                to = app.inbox.selected;
            }
            let last = app.inbox.window_start + app.inbox.rows.len().saturating_sub(1);
            app.inbox.selected = last;
            Ok(())
        }
        Command::Filter(f) => {
            app.inbox.filter = f;
            app.inbox.window_start = 0;
            app.inbox.selected = 0;
            let rows = app.rows;
            app.inbox.load(&store, rows).await?;
            app.set_info(format!(
                "{}{} donations to place",
                app.inbox.rows.len(),
                if app.inbox.at_end { "" } else { "+" }
            ));
            Ok(())
        }
        Command::Open | Command::Place => {
            let Some(d) = app.inbox.selected_donation() else { return Err("no donation selected".into()) };
            let id = d.id;
            if d.designation.is_designated() {
                app.confirm = Some(Confirm::PlaceDesignated(id));
                app.set_info(format!("donation {id} ({}): {}", d.designation, app.lang.t().confirm_place));
                Ok(())
            } else if matches!(cmd, Command::Place) {
                Err(format!("donation {id} is unrestricted: Enter opens the split screen"))
            } else {
                app.open_split(id).await
            }
        }
        other => app.not_here(&other),
    }
}
