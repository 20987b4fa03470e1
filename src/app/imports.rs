//! The import screen: `import PATH` previews a register (nothing written),
//! `confirm` imports it in one transaction; without a preview the screen
//! lists the batches, and `undo` removes the selected one while none of its
//! money has been placed.

use sha2::{Digest, Sha256};

use super::command::Command;
use super::{App, AppResult};
use crate::import::profile::Profile;
use crate::import::{Register, parse_with};
use crate::store::{Batch, Choices, Preview, RowStatus, Store};

#[derive(Default)]
pub struct Imports {
    pub batches: Vec<Batch>,
    /// The register being previewed, with its file name and checksum.
    pub pending: Option<(Register, String, String)>,
    pub preview: Option<Preview>,
    /// Designations chosen for the preview's payments (external key → case).
    pub choices: Choices,
    pub selected: usize,
}

impl Imports {
    pub async fn load(&mut self, store: &Store) -> AppResult {
        self.batches = store.import_batches().await.map_err(|e| e.to_string())?;
        if let Some((register, name, _)) = &self.pending {
            let mut preview = store.preview_import(register, name).await.map_err(|e| e.to_string())?;
            mark_choices(&mut preview, &self.choices);
            self.preview = Some(preview);
        }
        self.selected = self.selected.min(self.len().saturating_sub(1));
        Ok(())
    }

    fn len(&self) -> usize {
        self.preview.as_ref().map_or(self.batches.len(), |p| p.rows.len())
    }
}

fn mark_choices(preview: &mut Preview, choices: &Choices) {
    for row in &mut preview.rows {
        row.designated = choices.get(&row.external_key).copied().filter(|_| row.status == RowStatus::New);
    }
}

/// Reads and previews a file (`PATH [--profile PROFILE]`): nothing is written.
pub async fn preview(app: &mut App, spec: &str) -> AppResult {
    let (path, profile) = match spec.split_once(" --profile ") {
        Some((path, profile)) => {
            let profile = profile.trim();
            let text = std::fs::read_to_string(profile).map_err(|e| format!("profile {profile}: {e}"))?;
            (path, Some(Profile::parse(&text, profile).map_err(|e| e.to_string())?))
        }
        None => (spec, None),
    };
    let path = std::path::PathBuf::from(path.trim());
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let register = parse_with(&bytes, None, profile.as_ref()).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let preview = app.store.preview_import(&register, &name).await.map_err(|e| e.to_string())?;
    app.set_info(format!(
        "{name}: {} new, {} already imported, {} invalid, {} outgoing ({} paying invoices), {} suggested — a accepts, d designates, Enter imports, Esc drops",
        preview.new,
        preview.duplicate,
        preview.invalid,
        preview.outgoing,
        preview.pays,
        preview.rows.iter().filter(|r| r.suggested_case.is_some()).count()
    ));
    app.imports.choices.clear();
    app.imports.pending = Some((register, name, sha));
    app.imports.preview = Some(preview);
    app.imports.selected = 0;
    Ok(())
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let n = app.imports.len();
    let im = &mut app.imports;
    match cmd {
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => {
            im.selected = super::list_move(im.selected, n, &cmd);
        }
        Command::Confirm | Command::Open if im.pending.is_some() => {
            let Some((register, name, sha)) = im.pending.take() else { return Ok(()) };
            im.preview = None;
            let choices = std::mem::take(&mut im.choices);
            let done = app.store.import_with(&register, &name, &sha, &choices).await.map_err(|e| e.to_string())?;
            app.set_info(format!(
                "{name}: imported as batch {} — {} new donation(s), {} designated, {} already there, {} case(s) paid",
                done.batch.unwrap_or_default(),
                done.new,
                choices.len(),
                done.duplicate,
                done.pays
            ));
            return app.after_write().await;
        }
        Command::Undo => {
            if im.pending.is_some() {
                return Err("a preview is open: Esc drops it, then choose a batch".into());
            }
            let batch = im.batches.get(im.selected).map(|b| b.id).ok_or("no batch selected")?;
            let removed = app.store.undo_import(batch).await.map_err(|e| e.to_string())?;
            app.set_info(format!("batch {batch} undone: {removed} donation(s) removed"));
            return app.after_write().await;
        }
        Command::Accept | Command::AcceptAll | Command::Designate(_) => {
            let Some(preview) = im.preview.as_mut() else {
                return Err("no preview is open: i picks a register file".into());
            };
            let rows: Vec<usize> =
                if cmd == Command::AcceptAll { (0..preview.rows.len()).collect() } else { vec![im.selected] };
            let mut changed = 0;
            for i in rows {
                let Some(row) = preview.rows.get(i) else { continue };
                if row.status != RowStatus::New {
                    if cmd != Command::AcceptAll {
                        return Err(format!("line {}: only a new donation can be designated", row.line));
                    }
                    continue;
                }
                let key = row.external_key.clone();
                let target = match &cmd {
                    Command::Designate(case) => *case,
                    Command::Accept if im.choices.contains_key(&key) => None,
                    _ => row.suggested_case,
                };
                if cmd == Command::Accept && target.is_none() && !im.choices.contains_key(&key) {
                    return Err(format!("line {}: nothing is suggested; d designates a case by hand", row.line));
                }
                match target {
                    Some(case) => im.choices.insert(key, case),
                    None => im.choices.remove(&key),
                };
                changed += 1;
            }
            mark_choices(preview, &im.choices);
            app.set_info(format!("{changed} row(s) changed; {} designated in all", app.imports.choices.len()));
        }
        other => return app.not_here(&other),
    }
    Ok(())
}
