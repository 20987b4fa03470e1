//! The import screen: `import PATH` previews a register (nothing written),
//! `confirm` imports it in one transaction; without a preview the screen
//! lists the batches, and `undo` removes the selected one while none of its
//! money has been placed.

use std::path::PathBuf;

use tokio::sync::mpsc;

use super::command::Command;
use super::{App, AppResult, JobEvent, Progress};
use crate::import::feed;
use crate::import::profile::Profile;
use crate::store::{Batch, Choices, Decisions, Preview, RowStatus, Store};

/// The file being previewed: read again, and checked unchanged, when it is imported.
#[derive(Debug, Clone)]
pub struct Pending {
    pub path: PathBuf,
    pub profile: Option<Profile>,
    pub name: String,
    pub sha: String,
    pub size: u64,
    /// The currency of a statement that names none, as the person said.
    pub currency: Option<crate::domain::Currency>,
}

#[derive(Default)]
pub struct Imports {
    pub batches: Vec<Batch>,
    /// The register being previewed.
    pub pending: Option<Pending>,
    pub preview: Option<Preview>,
    /// Designations chosen for the preview's payments (external key → case).
    pub choices: Choices,
    /// Every suggestion accepted (`A`), in the whole file, not only the rows shown…
    pub accept_all: bool,
    /// …but these (external keys), turned down one by one.
    pub declined: std::collections::HashSet<String>,
    /// A file is being read or imported in the background.
    pub busy: bool,
    /// From which file size work goes to the background (default [`BACKGROUND_FROM`]).
    pub background_from: Option<u64>,
    pub selected: usize,
}

impl Imports {
    pub async fn load(&mut self, store: &Store) -> AppResult {
        self.batches = store.import_batches().await.map_err(|e| e.to_string())?;
        // A small preview is checked again against what others changed; a large one keeps
        // its figures (the import checks everything again under the write lock anyway).
        if let Some(p) = self.pending.clone()
            && !self.busy
            && p.size < self.background_from.unwrap_or(BACKGROUND_FROM)
        {
            let mut preview = run_file(store, &p, Decisions::default(), true, &|_, _, _| {}).await?;
            mark_choices(&mut preview, self);
            self.preview = Some(preview);
        }
        self.selected = self.selected.min(self.len().saturating_sub(1));
        Ok(())
    }

    fn len(&self) -> usize {
        self.preview.as_ref().map_or(self.batches.len(), |p| p.rows.len())
    }
}

/// What each shown row will be designated to, as the import will decide it.
fn mark_choices(preview: &mut Preview, im: &Imports) {
    for row in &mut preview.rows {
        let by_all = im.accept_all && !im.declined.contains(&row.external_key);
        row.designated = im
            .choices
            .get(&row.external_key)
            .copied()
            .or(row.suggested_case.filter(|_| by_all))
            .filter(|_| row.status == RowStatus::New);
    }
}

impl Imports {
    fn decisions(&self) -> Decisions {
        Decisions {
            by_key: self.choices.clone(),
            accept_suggestions: self.accept_all,
            declined: self.declined.clone(),
            ..Decisions::default()
        }
    }

    pub fn clear_choices(&mut self) {
        self.choices.clear();
        self.declined.clear();
        self.accept_all = false;
    }
}

/// Files from this size up are read, checked and imported in the background, with a progress bar.
pub const BACKGROUND_FROM: u64 = 1 << 20;

/// A register read and checked: what the preview shows and what Enter imports.
#[derive(Debug)]
pub struct Previewed {
    pub pending: Pending,
    pub preview: Preview,
}

/// An import done.
#[derive(Debug)]
pub struct Imported {
    pub name: String,
    pub preview: Preview,
    pub designated: usize,
}

/// `PATH [--profile PROFILE]`: the file, its profile, name, checksum and size.
fn pending(spec: &str) -> Result<Pending, String> {
    // ` --currency CODE` names the currency of a statement that names none.
    let (spec, currency) = match spec.split_once(" --currency ") {
        Some((rest, code)) => {
            let code = code.trim().parse::<crate::domain::Currency>().map_err(|e| format!("--currency: {e}"))?;
            (rest, Some(code))
        }
        None => (spec, None),
    };
    let (path, profile) = match spec.split_once(" --profile ") {
        Some((path, profile)) => {
            let profile = profile.trim();
            let text = std::fs::read_to_string(profile).map_err(|e| format!("profile {profile}: {e}"))?;
            (path, Some(Profile::parse(&text, profile).map_err(|e| e.to_string())?))
        }
        None => (spec, None),
    };
    let path = PathBuf::from(path.trim());
    let size = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?.len();
    let sha = feed::sha256_of(&path).map_err(|e| e.to_string())?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Pending { path, profile, name, sha, size, currency })
}

/// Streams the file through the importer (a dry run writes nothing).
async fn run_file(
    store: &Store,
    p: &Pending,
    decisions: Decisions,
    dry_run: bool,
    progress: crate::store::ProgressFn<'_>,
) -> Result<Preview, String> {
    let feed = feed::open(&p.path, None, p.profile.clone()).map_err(|e| format!("{}: {e}", p.path.display()))?;
    let decisions = Decisions { currency: p.currency, ..decisions };
    store.import_stream(feed, &p.name, &p.sha, decisions, dry_run, progress).await.map_err(|e| e.to_string())
}

/// Reports a job's progress to the console's loop.
fn reporter(tx: mpsc::UnboundedSender<JobEvent>) -> impl Fn(&str, usize, usize) + Send + Sync {
    move |label: &str, done: usize, total: usize| {
        let _ =
            tx.send(JobEvent::Progress(Progress { label: label.to_string(), done: done as i64, total: total as i64 }));
    }
}

/// Reads and previews a file (`PATH [--profile PROFILE]`): nothing is written.
/// A large file is read in the background while the progress bar runs.
pub async fn preview(app: &mut App, spec: &str) -> AppResult {
    if app.imports.busy {
        return Err("an import is under way: wait for it to finish".into());
    }
    let p = pending(spec)?;
    if p.size < app.imports.background_from.unwrap_or(BACKGROUND_FROM) {
        let preview = run_file(&app.store, &p, Decisions::default(), true, &|_, _, _| {}).await?;
        previewed(app, Previewed { pending: p, preview });
        return Ok(());
    }
    let (store, tx) = (app.store.clone(), app.jobs.clone());
    app.imports.busy = true;
    app.progress = Some(Progress { label: format!("reading {}", p.name), done: 0, total: 1 });
    tokio::spawn(async move {
        let report = reporter(tx.clone());
        let result = run_file(&store, &p, Decisions::default(), true, &report).await;
        let _ = tx.send(JobEvent::Previewed(Box::new(result.map(|preview| Previewed { pending: p, preview }))));
    });
    Ok(())
}

/// Shows a preview that is ready.
pub fn previewed(app: &mut App, done: Previewed) {
    let Previewed { pending, preview } = done;
    app.set_info(format!(
        "{}: {} new, {} already imported, {} invalid, {} outgoing ({} paying invoices), {} suggested — a accepts, d designates, Enter imports, Esc drops",
        pending.name,
        preview.new,
        preview.duplicate,
        preview.invalid,
        preview.outgoing,
        preview.pays,
        preview.rows.iter().filter(|r| r.suggested_case.is_some()).count()
    ));
    app.imports.busy = false;
    app.imports.clear_choices();
    app.imports.pending = Some(pending);
    app.imports.preview = Some(preview);
    app.imports.selected = 0;
}

/// Says what an import did.
pub fn imported(app: &mut App, done: &Imported) {
    app.imports.busy = false;
    app.set_info(format!(
        "{}: imported as batch {} — {} new donation(s), {} designated, {} already there, {} case(s) paid",
        done.name,
        done.preview.batch.unwrap_or_default(),
        done.preview.new,
        done.designated,
        done.preview.duplicate,
        done.preview.pays
    ));
}

/// Imports the previewed file, if it is still what was previewed.
async fn import_pending(
    store: &Store,
    p: &Pending,
    decisions: Decisions,
    progress: crate::store::ProgressFn<'_>,
) -> Result<Imported, String> {
    let sha = feed::sha256_of(&p.path).map_err(|e| e.to_string())?;
    if sha != p.sha {
        return Err(format!("{} changed since it was previewed: preview it again (i)", p.name));
    }
    let preview = run_file(store, p, decisions, false, progress).await?;
    Ok(Imported { name: p.name.clone(), designated: preview.designated, preview })
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let n = app.imports.len();
    // The case a payment is designated to, looked up at once: one in another currency is refused
    // when it is chosen, not when the file is imported.
    let chosen = match (&cmd, &app.imports.preview) {
        (Command::Designate(Some(case)), Some(_)) => Some(app.store.case(*case).await.map_err(|e| e.to_string())?),
        _ => None,
    };
    let im = &mut app.imports;
    match cmd {
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => {
            im.selected = super::list_move(im.selected, n, &cmd);
        }
        _ if im.busy => return Err("an import is under way: wait for it to finish".into()),
        Command::Confirm | Command::Open if im.preview.as_ref().is_some_and(Preview::refused) => {
            // A register that does not reconcile goes in only when a person says why.
            app.prompt = Some(super::prompt::Prompt::new("accept-problems "));
            app.set_info(app.lang.t().accept_ask.to_string());
            return Ok(());
        }
        Command::AcceptProblems(None) => return Err(app.lang.t().accept_why.into()),
        Command::Confirm | Command::Open | Command::AcceptProblems(Some(_)) if im.pending.is_some() => {
            let reason = match &cmd {
                Command::AcceptProblems(Some(why)) => Some(why.trim().to_string()),
                _ => None,
            };
            let Some(p) = im.pending.take() else { return Ok(()) };
            im.preview = None;
            let mut decisions = im.decisions();
            decisions.accept_problems = reason;
            im.clear_choices();
            if p.size < im.background_from.unwrap_or(BACKGROUND_FROM) {
                let done = import_pending(&app.store, &p, decisions, &|_, _, _| {}).await?;
                imported(app, &done);
                return app.after_write().await;
            }
            let (store, tx) = (app.store.clone(), app.jobs.clone());
            im.busy = true;
            app.progress = Some(Progress { label: "importing".into(), done: 0, total: 1 });
            tokio::spawn(async move {
                let report = reporter(tx.clone());
                let result = import_pending(&store, &p, decisions, &report).await;
                let _ = tx.send(JobEvent::Imported(Box::new(result)));
            });
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
        Command::AcceptAll => {
            let Some(mut preview) = im.preview.take() else {
                return Err("no preview is open: i picks a register file".into());
            };
            im.accept_all = true;
            im.declined.clear();
            mark_choices(&mut preview, im);
            let shown = preview.rows.iter().filter(|r| r.designated.is_some()).count();
            im.preview = Some(preview);
            app.set_info(format!(
                "every suggestion accepted, in the whole file ({shown} of them on screen); a turns one down"
            ));
        }
        Command::Accept | Command::Designate(_) => {
            let Some(mut preview) = im.preview.take() else {
                return Err("no preview is open: i picks a register file".into());
            };
            let Some(row) = preview.rows.get(im.selected).cloned() else {
                im.preview = Some(preview);
                return Ok(());
            };
            let key = row.external_key.clone();
            let result = match (&cmd, row.status, row.designated) {
                (_, status, _) if status != RowStatus::New => {
                    Err(format!("line {}: only a new donation can be designated", row.line))
                }
                (Command::Designate(Some(case)), ..) if chosen.as_ref().is_some_and(|c| c.currency != row.currency) => {
                    let raises = chosen.as_ref().map(|c| c.currency.to_string()).unwrap_or_default();
                    Err(format!(
                        "line {}: a gift in {} cannot go to case {case}, which raises {raises}: choose a case in {}, or none",
                        row.line, row.currency, row.currency
                    ))
                }
                (Command::Designate(Some(case)), ..) => {
                    im.choices.insert(key.clone(), *case);
                    im.declined.remove(&key);
                    Ok(format!("line {}: designated to case {case}", row.line))
                }
                (Command::Designate(None), ..) | (Command::Accept, _, Some(_)) => {
                    im.choices.remove(&key);
                    im.declined.insert(key.clone());
                    Ok(format!("line {}: kept unrestricted", row.line))
                }
                (Command::Accept, _, None) => match row.suggested_case {
                    Some(case) => {
                        im.choices.insert(key.clone(), case);
                        im.declined.remove(&key);
                        Ok(format!("line {}: suggestion accepted, case {case}", row.line))
                    }
                    None => Err(format!("line {}: nothing is suggested; d designates a case by hand", row.line)),
                },
                _ => Ok(String::new()),
            };
            mark_choices(&mut preview, im);
            im.preview = Some(preview);
            app.set_info(result?);
        }
        other => return app.not_here(&other),
    }
    Ok(())
}

impl App {
    /// A background job reported.
    pub async fn job_event(&mut self, event: JobEvent) {
        match event {
            JobEvent::Progress(p) => self.progress = Some(p),
            JobEvent::Done { message, error } => {
                self.progress = None;
                if error { self.set_error(message) } else { self.set_info(message) }
            }
            JobEvent::Previewed(result) => {
                self.progress = None;
                match *result {
                    Ok(done) => previewed(self, done),
                    Err(e) => {
                        self.imports.busy = false;
                        self.set_error(e);
                    }
                }
            }
            JobEvent::SegmentCounted { filter, size } => super::reports::counted(self, filter, size),
            JobEvent::Imported(result) => {
                self.progress = None;
                self.imports.busy = false;
                match *result {
                    Ok(done) => {
                        imported(self, &done);
                        if let Err(e) = self.after_write().await {
                            self.set_error(e);
                        }
                    }
                    Err(e) => self.set_error(e),
                }
            }
        }
    }
}
