//! The review queue: children who are likely the same, side by side. Tab
//! moves between fields, ← takes the new record's value and → keeps the
//! earlier record's; `merge` makes them one child with the fields as chosen,
//! `keep-apart` two children; `undo` takes the last decision made here back.

use super::command::{Command, Place};
use super::{App, AppResult};
use crate::store::{Field, RecordCase, Review, Store};

#[derive(Debug, Clone, Default)]
pub struct Reviews {
    pub rows: Vec<Review>,
    pub selected: usize,
    /// The field under the cursor (index into [`Field::ALL`]).
    pub field: usize,
    /// Per field: take the new record's value (else the earlier record keeps its own).
    pub take: [bool; 3],
    /// The cases of the two records of the selected review.
    pub cases: Vec<RecordCase>,
    /// The last decision made on this screen, which `undo` takes back.
    pub last: Option<i64>,
    /// The review the choices were made for: they reset when it changes.
    chosen_for: Option<i64>,
}

impl Reviews {
    pub fn current(&self) -> Option<&Review> {
        self.rows.get(self.selected)
    }

    pub async fn load(&mut self, store: &Store) -> AppResult {
        self.rows = store.reviews().await.map_err(|e| e.to_string())?;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.focus(store).await
    }

    /// Loads the selected review's cases; a newly selected review starts from
    /// the earlier record's fields, with gaps in it filled from the new one.
    async fn focus(&mut self, store: &Store) -> AppResult {
        let Some(r) = self.current().cloned() else {
            self.cases.clear();
            self.chosen_for = None;
            return Ok(());
        };
        self.cases = store.record_cases(&[r.beneficiary_id, r.candidate_id]).await.map_err(|e| e.to_string())?;
        if self.chosen_for != Some(r.id) {
            self.chosen_for = Some(r.id);
            self.field = 0;
            for (i, f) in Field::ALL.iter().enumerate() {
                let (new, earlier) = f.values(&r);
                self.take[i] = earlier.is_none_or(|v| v.trim().is_empty()) && new.is_some();
            }
        }
        Ok(())
    }

    fn chosen(&self) -> Vec<Field> {
        Field::ALL.iter().zip(self.take).filter(|(_, t)| *t).map(|(f, _)| *f).collect()
    }
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let n = app.reviews.rows.len();
    let q = &mut app.reviews;
    match cmd {
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => {
            q.selected = super::list_move(q.selected, n, &cmd);
            return q.focus(&app.store).await;
        }
        Command::NextTab => q.field = (q.field + 1) % Field::ALL.len(),
        Command::PrevTab => q.field = (q.field + Field::ALL.len() - 1) % Field::ALL.len(),
        Command::Left | Command::Right => {
            let r = q.current().ok_or("no likely matches wait for a decision")?;
            let (new, _) = Field::ALL[q.field].values(r);
            if cmd == Command::Left && new.is_none_or(|v| v.trim().is_empty()) {
                return Err("the new record has nothing in this field to take".into());
            }
            q.take[q.field] = cmd == Command::Left;
        }
        Command::Open => {
            let r = q.current().ok_or("no likely matches wait for a decision")?;
            let case = q.cases.iter().find(|c| c.beneficiary_id == r.beneficiary_id).map(|c| c.id);
            let case = case.ok_or("the new record has no case to open")?;
            return app.run(Command::Goto(Place::Case(case))).await;
        }
        Command::Merge | Command::KeepApart => {
            let r = q.current().ok_or("no likely matches wait for a decision")?.clone();
            let merge = cmd == Command::Merge;
            let take = if merge { q.chosen() } else { Vec::new() };
            app.store.decide_review(r.id, merge, &take).await.map_err(|e| e.to_string())?;
            app.reviews.last = Some(r.id);
            let what = if merge {
                let fields: Vec<&str> = take.iter().map(|f| f.word()).collect();
                let fields = if fields.is_empty() { String::new() } else { format!(", taking {}", fields.join(", ")) };
                format!("merged into record {}{fields}", r.candidate_id)
            } else {
                "kept apart".to_string()
            };
            app.set_info(format!("review {}: {what} — u undoes", r.id));
            return app.after_write().await;
        }
        Command::Undo => {
            let id = q.last.ok_or("no decision made here to undo (`almoner review undo ID` takes back any)")?;
            app.store.undo_review(id).await.map_err(|e| e.to_string())?;
            app.reviews.last = None;
            app.set_info(format!("review {id}: decision taken back; it waits again"));
            return app.after_write().await;
        }
        Command::Filter(_) => return Err("the review queue has no filter: it is short by nature".into()),
        other => return app.not_here(&other),
    }
    Ok(())
}
