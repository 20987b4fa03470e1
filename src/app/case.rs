//! The case card: overview, papers, allocations, timeline and notes; moves
//! through the gates with a reason, refused with the gate's own message.

use ratatui_textarea::TextArea;

use super::command::Command;
use super::keys::Key;
use super::prompt::to_input;
use super::{App, AppResult};
use crate::domain::{AuditEntry, CaseFile};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Documents,
    Allocations,
    Timeline,
    Notes,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Overview, Tab::Documents, Tab::Allocations, Tab::Timeline, Tab::Notes];

    fn step(self, by: isize) -> Tab {
        let i = Tab::ALL.iter().position(|t| *t == self).unwrap_or(0) as isize;
        Tab::ALL[(i + by).rem_euclid(Tab::ALL.len() as isize) as usize]
    }
}

pub struct CaseCard {
    pub file: CaseFile,
    pub audit: Vec<AuditEntry>,
    pub tab: Tab,
    pub scroll: usize,
    /// The notes being edited, if any.
    pub notes: Option<TextArea<'static>>,
}

impl CaseCard {
    pub async fn load(store: &Store, id: i64) -> crate::Result<CaseCard> {
        let file = store.case_file(id).await?;
        let audit = store.audit(200, Some(("case", id))).await?;
        Ok(CaseCard { file, audit, tab: Tab::Overview, scroll: 0, notes: None })
    }

    pub async fn reload(&mut self, store: &Store) -> AppResult {
        let id = self.file.case.id;
        self.file = store.case_file(id).await.map_err(|e| e.to_string())?;
        self.audit = store.audit(200, Some(("case", id))).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    pub fn editing(&self) -> bool {
        self.notes.is_some()
    }

    pub fn notes_input(&mut self, key: Key) {
        if let Some(editor) = self.notes.as_mut() {
            editor.input(to_input(key));
        }
    }

    pub fn finish_notes(&mut self) -> String {
        self.notes.take().map(|e| e.lines().join("\n")).unwrap_or_default()
    }

    pub fn cancel_notes(&mut self) {
        self.notes = None;
    }
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let Some(card) = app.case.as_mut() else { return Err("no case open".into()) };
    let id = card.file.case.id;
    match cmd {
        Command::NextTab | Command::Right => {
            card.tab = card.tab.step(1);
            card.scroll = 0;
            Ok(())
        }
        Command::PrevTab | Command::Left => {
            card.tab = card.tab.step(-1);
            card.scroll = 0;
            Ok(())
        }
        Command::Down => {
            card.scroll += 1;
            Ok(())
        }
        Command::Up => {
            card.scroll = card.scroll.saturating_sub(1);
            Ok(())
        }
        Command::PageDown => {
            card.scroll += 10;
            Ok(())
        }
        Command::PageUp => {
            card.scroll = card.scroll.saturating_sub(10);
            Ok(())
        }
        Command::Top => {
            card.scroll = 0;
            Ok(())
        }
        Command::Bottom => {
            card.scroll = usize::MAX / 2;
            Ok(())
        }
        Command::Take | Command::Assign(_) => {
            let me = app.store.actor().to_string();
            let person = match &cmd {
                Command::Assign(p) => p.clone(),
                _ => Some(me),
            };
            app.store.assign(id, person.as_deref(), None).await.map_err(|e| e.to_string())?;
            app.set_info(match person {
                Some(p) => format!("case {id}: {p} is responsible now"),
                None => format!("case {id}: nobody is responsible now, it is open to all"),
            });
            app.after_write().await
        }
        Command::Advance { to, reason } => {
            let now = app.store.advance(id, to, reason.as_deref()).await.map_err(|e| e.to_string())?;
            let extra = if now != to {
                format!("; money held for the child funded it, so it is in {now}")
            } else {
                String::new()
            };
            app.set_info(format!("case {id} moved to {to}{extra}"));
            app.after_write().await
        }
        Command::Attach { kind, path } => {
            let path = std::path::PathBuf::from(path);
            app.store.attach(id, kind, &path).await.map_err(|e| e.to_string())?;
            app.set_info(format!("case {id}: {} attached as {kind}", path.display()));
            app.after_write().await
        }
        Command::EditNotes => {
            let lines: Vec<String> = card.file.notes.lines().map(str::to_string).collect();
            let mut editor = TextArea::new(if lines.is_empty() { vec![String::new()] } else { lines });
            editor.move_cursor(ratatui_textarea::CursorMove::Bottom);
            editor.move_cursor(ratatui_textarea::CursorMove::End);
            card.notes = Some(editor);
            card.tab = super::case::Tab::Notes;
            Ok(())
        }
        Command::Open => Ok(()),
        Command::Pay { order, date } => super::payments::pay(app, id, order, date).await,
        Command::Place => Err("designated donations are placed from the donations inbox (g d)".into()),
        other => app.not_here(&other),
    }
}
