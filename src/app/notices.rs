//! Notices in the console: a new one shows on the status line within
//! seconds; `N` lists the recent ones (seen from then on), Enter opens what
//! one is about. Those that came while the person was away greet them at start.

use super::command::{Command, Place};
use super::{App, AppResult, ScreenId};
use crate::store::{Notice, Store};

#[derive(Debug, Clone, Default)]
pub struct Notices {
    pub rows: Vec<Notice>,
    pub selected: usize,
    /// Unseen notices for this person, as last counted.
    pub unseen: i64,
}

impl Notices {
    pub async fn load(&mut self, store: &Store) -> AppResult {
        let me = store.actor().to_string();
        let role = store.role_of(&me).await.map_err(|e| e.to_string())?;
        self.rows = store.notices(&me, role, 100).await.map_err(|e| e.to_string())?;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        // Shown is seen; the list keeps marking them new until it is next loaded.
        let ids: Vec<i64> = self.rows.iter().filter(|n| !n.seen).map(|n| n.id).collect();
        store.mark_seen(&me, &ids).await.map_err(|e| e.to_string())?;
        self.unseen = 0;
        Ok(())
    }
}

impl App {
    /// Counts the person's unseen notices; a new one is told on the status line.
    /// `greeting`: at start, those that came while they were away.
    pub async fn check_notices(&mut self, greeting: bool) {
        if self.screen == ScreenId::Notices {
            return;
        }
        let me = self.store.actor().to_string();
        let Ok(role) = self.store.role_of(&me).await else { return };
        let Ok((count, newest)) = self.store.unseen(&me, role).await else { return };
        if greeting && count > 0 {
            self.set_info(format!("{count} notice(s) came while you were away — N shows them"));
        } else if count > self.notices.unseen
            && let Some(text) = newest
        {
            self.set_info(format!("● {} — N shows notices", crate::text::inert(&text)));
        }
        self.notices.unseen = count;
    }
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let n = app.notices.rows.len();
    let q = &mut app.notices;
    match cmd {
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => {
            q.selected = super::list_move(q.selected, n, &cmd);
        }
        Command::Open => {
            let notice = q.rows.get(q.selected).ok_or("no notices")?;
            if let Some(case) = notice.case_id {
                return app.run(Command::Goto(Place::Case(case))).await;
            }
            if let Some(batch) = notice.batch_id {
                app.show(ScreenId::Imports).await?;
                if let Some(i) = app.imports.batches.iter().position(|b| b.id == batch) {
                    app.imports.selected = i;
                }
                return Ok(());
            }
            return Err("this notice points nowhere".into());
        }
        Command::Filter(_) => return Err("notices have no filter".into()),
        other => return app.not_here(&other),
    }
    Ok(())
}
