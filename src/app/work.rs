//! "My work": the queue of what the person at the console should act on, by
//! their role, overdue first. Enter opens an item; `dismiss` takes an import
//! batch whose problems are dealt with off the queue.

use super::command::{Command, Place};
use super::{App, AppResult, ScreenId};
use crate::domain::Role;
use crate::store::{Store, Target, WorkItem, roles_of};

#[derive(Debug, Clone, Default)]
pub struct Work {
    pub items: Vec<WorkItem>,
    pub selected: usize,
    /// The person's recorded role; `None` works every role.
    pub role: Option<Role>,
}

impl Work {
    pub async fn load(&mut self, store: &Store, now: chrono::DateTime<chrono::Utc>) -> AppResult {
        let me = store.actor().to_string();
        self.role = store.role_of(&me).await.map_err(|e| e.to_string())?;
        self.items = store.work_queue(&me, &roles_of(self.role), now, 300).await.map_err(|e| e.to_string())?;
        self.selected = self.selected.min(self.items.len().saturating_sub(1));
        Ok(())
    }
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let n = app.work.items.len();
    let q = &mut app.work;
    match cmd {
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => {
            q.selected = super::list_move(q.selected, n, &cmd);
        }
        Command::Open => {
            let item = q.items.get(q.selected).ok_or("nothing waits for you")?;
            return match item.target {
                Target::Case(id) => app.run(Command::Goto(Place::Case(id))).await,
                Target::Donation(id) => app.open_split(id).await,
                Target::Batch(id) => {
                    app.show(ScreenId::Imports).await?;
                    if let Some(i) = app.imports.batches.iter().position(|b| b.id == id) {
                        app.imports.selected = i;
                    }
                    Ok(())
                }
            };
        }
        Command::Dismiss => {
            let item = q.items.get(q.selected).ok_or("nothing waits for you")?;
            let Target::Batch(id) = item.target else {
                return Err(
                    "only an import batch's problems are dismissed here: a case leaves the queue when it moves on"
                        .into(),
                );
            };
            app.store.dismiss_batch(id).await.map_err(|e| e.to_string())?;
            app.set_info(format!("batch {id}: dealt with, off the queue"));
            return app.after_write().await;
        }
        Command::Filter(_) => return Err("my work has no filter: it is yours already".into()),
        other => return app.not_here(&other),
    }
    Ok(())
}
