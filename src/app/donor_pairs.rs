//! Likely duplicate donors, side by side: `merge-donors` makes them one (the
//! donor with fewer gifts merged into the other, through the store's donor
//! merge: donations, allocations and subscriptions follow), `keep-donors-apart`
//! records that they are two, `undo` takes the last decision made here back.
//! With a pair given (`merge-donors 812 77`) the commands work from anywhere,
//! `exec` scripts included.

use super::command::Command;
use super::{App, AppResult};
use crate::store::{DonorPair, Store};

/// How many pairs the screen holds: the strongest first.
const SHOWN: usize = 1_000;

/// A decision made on this screen, which `undo` takes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A donor merge (its number).
    Merged(i64),
    /// A keep-apart decision (its number).
    KeptApart(i64),
}

#[derive(Debug, Clone, Default)]
pub struct DonorPairs {
    pub rows: Vec<DonorPair>,
    pub selected: usize,
    pub last: Option<Decision>,
}

impl DonorPairs {
    pub fn current(&self) -> Option<&DonorPair> {
        self.rows.get(self.selected)
    }

    pub async fn load(&mut self, store: &Store) -> AppResult {
        self.rows = store.donor_duplicates(Some(SHOWN)).await.map_err(|e| e.to_string())?;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        Ok(())
    }
}

const NONE_SELECTED: &str = "no likely duplicate donors wait for a decision";

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let n = app.donor_pairs.rows.len();
    let q = &mut app.donor_pairs;
    match cmd {
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => {
            q.selected = super::list_move(q.selected, n, &cmd);
        }
        Command::Undo => {
            let last =
                q.last.ok_or("no decision made here to undo (`almoner donor unmerge MERGE` takes back any merge)")?;
            let text = match last {
                Decision::Merged(merge) => {
                    let (from, moved) = app.store.unmerge_donors(merge).await.map_err(|e| e.to_string())?;
                    format!("merge {merge} undone: {moved} donation(s) back with donor {from}")
                }
                Decision::KeptApart(id) => {
                    let (a, b) = app.store.undo_keep_donors_apart(id).await.map_err(|e| e.to_string())?;
                    format!("donors {a} and {b}: keep-apart taken back; the pair waits again")
                }
            };
            app.donor_pairs.last = None;
            app.set_info(text);
            return app.after_write().await;
        }
        Command::Filter(_) => return Err("the donor duplicates have no filter: the strongest come first".into()),
        other => return app.not_here(&other),
    }
    Ok(())
}

/// `merge-donors`: the pair given (FROM, INTO), or the selected one on this screen.
pub async fn merge(app: &mut App, pair: Option<(i64, i64)>) -> AppResult {
    let (from, into) = match pair {
        Some(p) => p,
        None => selected(app, "merge-donors")?.direction(),
    };
    let merge = app.store.merge_donors(from, into).await.map_err(|e| e.to_string())?;
    app.donor_pairs.last = Some(Decision::Merged(merge));
    app.set_info(format!("donor {from} merged into donor {into} (merge {merge}) — u undoes"));
    app.after_write().await
}

/// `keep-donors-apart`: the pair given, or the selected one on this screen.
pub async fn keep_apart(app: &mut App, pair: Option<(i64, i64)>, reason: Option<String>) -> AppResult {
    let (a, b) = match pair {
        Some(p) => p,
        None => {
            let p = selected(app, "keep-donors-apart")?;
            (p.a.id, p.b.id)
        }
    };
    let id = app.store.keep_donors_apart(a, b, reason.as_deref()).await.map_err(|e| e.to_string())?;
    app.donor_pairs.last = Some(Decision::KeptApart(id));
    app.set_info(format!("donors {a} and {b} kept apart (decision {id}) — u undoes"));
    app.after_write().await
}

fn selected(app: &App, command: &str) -> Result<DonorPair, String> {
    if app.screen != super::ScreenId::Donors {
        return Err(format!(
            "{command}: give the two donors, or use it on the donor duplicates screen (g u) for the selected pair"
        ));
    }
    app.donor_pairs.current().cloned().ok_or_else(|| NONE_SELECTED.to_string())
}
