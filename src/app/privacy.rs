//! The personal-data rules' plan (an admin's screen): who the rules will
//! affect, how and on what date, a month ahead, so a person can look and
//! hold someone back. `gdpr-plan` brings the plan up to date as of today,
//! `gdpr-exclude REASON` holds back whoever the selected step is about (the
//! donor, or the child whose case it is), `undo` takes that back. Carrying
//! the plan out stays with `almoner gdpr run` (daily, from cron).

use super::command::Command;
use super::{App, AppResult};
use crate::store::{Planned, Store};

#[derive(Debug, Clone, Default)]
pub struct Privacy {
    pub rows: Vec<Planned>,
    pub selected: usize,
    /// Who was held back on this screen last (`donor` or `beneficiary`, the id and the reason):
    /// `undo` lets them go.
    pub last: Option<(String, i64, String)>,
}

impl Privacy {
    pub fn current(&self) -> Option<&Planned> {
        self.rows.get(self.selected)
    }

    pub async fn load(&mut self, store: &Store) -> AppResult {
        // Nothing stays on the screen that this person may no longer see.
        self.rows = store.gdpr_open_plan().await.map_err(|e| {
            self.rows.clear();
            e.to_string()
        })?;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        Ok(())
    }
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let n = app.privacy.rows.len();
    match cmd {
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => {
            app.privacy.selected = super::list_move(app.privacy.selected, n, &cmd);
            Ok(())
        }
        Command::Undo => {
            let (entity, id, reason) = app.privacy.last.clone().ok_or("no one was held back here to let go")?;
            app.store.gdpr_forget_override(&entity, id, Some(&reason)).await.map_err(|e| e.to_string())?;
            app.privacy.last = None;
            let planned = plan(app).await?;
            app.set_info(format!(
                "{entity} {id}: no longer held back; the rules decide again ({planned} step(s) planned)"
            ));
            app.after_write().await
        }
        Command::Filter(_) => Err("the personal-data plan has no filter: the soonest steps come first".into()),
        other => app.not_here(&other),
    }
}

/// `gdpr-plan`: the plan brought up to date as of today, from anywhere.
pub async fn replan(app: &mut App) -> AppResult {
    let planned = plan(app).await?;
    app.set_info(format!("the personal-data plan is up to date: {planned} step(s) open"));
    // Written: whichever screen this came from, the plan is shown afresh.
    app.mark_changed();
    app.show(super::ScreenId::Privacy).await
}

/// `gdpr-exclude REASON`: holds back whoever the selected step is about.
pub async fn exclude(app: &mut App, reason: Option<String>) -> AppResult {
    if app.screen != super::ScreenId::Privacy {
        return Err("gdpr-exclude: use it on the personal-data screen (g x), on the selected step".into());
    }
    let step = app.privacy.current().cloned().ok_or("no step of the personal-data plan is open")?;
    let reason = reason.filter(|r| !r.trim().is_empty()).ok_or("gdpr-exclude: give the reason (x, then type it)")?;
    let (entity, id) = app.store.gdpr_hold_back(step.id, &reason).await.map_err(|e| e.to_string())?;
    app.privacy.last = Some((entity.clone(), id, reason.trim().to_string()));
    plan(app).await?;
    app.set_info(format!("{entity} {id} held back from the personal-data rules — u undoes"));
    app.after_write().await
}

/// Plans as of today; how many steps are open.
async fn plan(app: &mut App) -> Result<usize, String> {
    let today = app.now().date_naive();
    Ok(app.store.gdpr_plan(today).await.map_err(|e| e.to_string())?.len())
}
