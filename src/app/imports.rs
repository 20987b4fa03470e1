//! The import screen: `import PATH` previews a register (nothing written),
//! `confirm` imports it in one transaction; without a preview the screen
//! lists the batches, and `undo` removes the selected one while none of its
//! money has been placed.

use sha2::{Digest, Sha256};

use super::command::Command;
use super::{App, AppResult};
use crate::import::{Register, parse};
use crate::store::{Batch, Preview, Store};

#[derive(Default)]
pub struct Imports {
    pub batches: Vec<Batch>,
    /// The register being previewed, with its file name and checksum.
    pub pending: Option<(Register, String, String)>,
    pub preview: Option<Preview>,
    pub selected: usize,
}

impl Imports {
    pub async fn load(&mut self, store: &Store) -> AppResult {
        self.batches = store.import_batches().await.map_err(|e| e.to_string())?;
        if let Some((register, name, _)) = &self.pending {
            self.preview = Some(store.preview_import(register, name).await.map_err(|e| e.to_string())?);
        }
        self.selected = self.selected.min(self.len().saturating_sub(1));
        Ok(())
    }

    fn len(&self) -> usize {
        self.preview.as_ref().map_or(self.batches.len(), |p| p.rows.len())
    }
}

/// Reads and previews a file: nothing is written.
pub async fn preview(app: &mut App, path: &str) -> AppResult {
    let path = std::path::PathBuf::from(path.trim());
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let register = parse(&bytes, None).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let preview = app.store.preview_import(&register, &name).await.map_err(|e| e.to_string())?;
    app.set_info(format!(
        "{name}: {} new, {} already imported, {} invalid, {} outgoing ({} paying invoices) — Enter imports, Esc drops",
        preview.new, preview.duplicate, preview.invalid, preview.outgoing, preview.pays
    ));
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
            let done = app.store.import(&register, &name, &sha).await.map_err(|e| e.to_string())?;
            app.set_info(format!(
                "{name}: imported as batch {} — {} new donation(s), {} already there, {} case(s) paid",
                done.batch.unwrap_or_default(),
                done.new,
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
        other => return app.not_here(&other),
    }
    Ok(())
}
