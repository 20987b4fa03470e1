//! The console's state and behaviour, with no terminal in sight: keys come in
//! as [`Key`], go through the keymap to [`Command`]s, and change state that
//! `ui` draws. Tests and `almoner exec` drive it the same way.
//!
//! Text editing (the `:` prompt, split amounts, notes) uses ratatui-textarea's
//! `TextArea` as a pure editing buffer; `app` never draws or touches a terminal.

pub mod board;
pub mod case;
pub mod command;
pub mod donor_pairs;
pub mod i18n;
pub mod imports;
pub mod inbox;
pub mod keymap;
pub mod keys;
pub mod notices;
pub mod payments;
pub mod privacy;
pub mod prompt;
pub mod reports;
pub mod reviews;
pub mod split;
pub mod spool;
pub mod work;

use tokio::sync::mpsc;

use crate::store::Store;
use command::{Command, Place};
use i18n::Lang;
use keymap::{Keymap, Problem, Resolved, Scope};
use keys::{Key, KeyCode, keys_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenId {
    Board,
    Case,
    Donations,
    Split,
    Payments,
    Imports,
    Reviews,
    Donors,
    Work,
    Notices,
    Reports,
    Segments,
    Privacy,
}

impl ScreenId {
    pub fn scope(self) -> Scope {
        match self {
            ScreenId::Board => Scope::Board,
            ScreenId::Case => Scope::Case,
            ScreenId::Donations => Scope::Donations,
            ScreenId::Split => Scope::Split,
            ScreenId::Payments => Scope::Payments,
            ScreenId::Imports => Scope::Imports,
            ScreenId::Reviews => Scope::Reviews,
            ScreenId::Donors => Scope::Donors,
            ScreenId::Work => Scope::Work,
            ScreenId::Notices => Scope::Notices,
            ScreenId::Reports => Scope::Reports,
            ScreenId::Segments => Scope::Segments,
            ScreenId::Privacy => Scope::Privacy,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

/// A question waiting for y / n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    PlaceDesignated(i64),
}

/// Long work reports here; the screen shows a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub label: String,
    pub done: i64,
    pub total: i64,
}

/// What background jobs send back to the console's loop.
#[derive(Debug)]
pub enum JobEvent {
    Progress(Progress),
    Done {
        message: String,
        error: bool,
    },
    /// A register read and checked in the background.
    Previewed(Box<Result<imports::Previewed, String>>),
    /// A register imported in the background.
    Imported(Box<Result<imports::Imported, String>>),
    /// The size of the segment filters being typed.
    SegmentCounted {
        filter: crate::store::Segment,
        size: Result<crate::store::Size, String>,
    },
}

pub type AppResult = Result<(), String>;

pub struct App {
    pub store: Store,
    pub lang: Lang,
    pub keymap: Keymap,
    pub screen: ScreenId,
    history: Vec<ScreenId>,
    pub board: board::Board,
    pub case: Option<case::CaseCard>,
    pub inbox: inbox::Inbox,
    pub split: Option<split::Split>,
    pub payments: payments::Queue,
    pub imports: imports::Imports,
    pub reviews: reviews::Reviews,
    pub donor_pairs: donor_pairs::DonorPairs,
    pub privacy: privacy::Privacy,
    pub work: work::Work,
    pub notices: notices::Notices,
    pub reports: reports::Reports,
    pub segments: reports::Segments,
    pub prompt: Option<prompt::Prompt>,
    pub pending: Vec<Key>,
    pub help: bool,
    pub confirm: Option<Confirm>,
    pub status: Option<Status>,
    pub progress: Option<Progress>,
    pub quit: bool,
    /// Rows of the terminal available to lists (set by the ui on resize).
    pub rows: usize,
    /// A fixed "now" for tests and snapshots; the clock otherwise.
    pub frozen_now: Option<chrono::DateTime<chrono::Utc>>,
    /// Goes up whenever the data may have changed (our writes, others' commits).
    generation: u64,
    /// The generation each screen last loaded at: moving between screens
    /// reloads only what is stale.
    loaded: Vec<(ScreenId, u64)>,
    jobs: mpsc::UnboundedSender<JobEvent>,
    /// The web form's spool this console takes applications in from, if configured.
    pub spool: Option<spool::Spool>,
    /// The website's feed folder this console republishes every minute, if configured.
    pub publisher: Option<spool::Publisher>,
}

impl App {
    /// A console on `store`, showing the board (loaded by the first `refresh`).
    /// Problems in the user's keymap are shown, and the defaults used.
    pub async fn new(
        store: Store,
        keymap: Keymap,
        problems: &[Problem],
        lang: Lang,
    ) -> (App, mpsc::UnboundedReceiver<JobEvent>) {
        let (jobs, rx) = mpsc::unbounded_channel();
        let mut app = App {
            store,
            lang,
            keymap,
            screen: ScreenId::Board,
            history: Vec::new(),
            board: board::Board::default(),
            case: None,
            inbox: inbox::Inbox::default(),
            split: None,
            payments: payments::Queue::default(),
            imports: imports::Imports::default(),
            reviews: reviews::Reviews::default(),
            donor_pairs: donor_pairs::DonorPairs::default(),
            privacy: privacy::Privacy::default(),
            work: work::Work::default(),
            notices: notices::Notices::default(),
            reports: reports::Reports::default(),
            segments: reports::Segments::default(),
            prompt: None,
            pending: Vec::new(),
            help: false,
            confirm: None,
            status: None,
            progress: None,
            quit: false,
            rows: 20,
            frozen_now: None,
            generation: 0,
            loaded: Vec::new(),
            jobs,
            spool: None,
            publisher: None,
        };
        app.spool = spool::configured(&app.store).await;
        app.publisher = spool::publisher(&app.store).await;
        // Staff with a role open on their own next steps; others on the board.
        let me = app.store.actor().to_string();
        if matches!(app.store.role_of(&me).await, Ok(Some(r)) if r != crate::domain::Role::Viewer) {
            app.screen = ScreenId::Work;
        }
        app.check_notices(true).await;
        if let Some(p) = problems.first() {
            let more = if problems.len() > 1 { format!(" (+{} more)", problems.len() - 1) } else { String::new() };
            app.set_error(format!("keymap not loaded, using the defaults: {p}{more}"));
        }
        (app, rx)
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.frozen_now.unwrap_or_else(chrono::Utc::now)
    }

    pub fn set_info(&mut self, text: impl Into<String>) {
        self.status = Some(Status { text: text.into(), error: false });
    }

    pub fn set_error(&mut self, text: impl Into<String>) {
        self.status = Some(Status { text: text.into(), error: true });
    }

    /// One key from the person.
    pub async fn key(&mut self, key: Key) {
        if let Err(e) = self.key_inner(key).await {
            self.set_error(e);
        }
    }

    async fn key_inner(&mut self, key: Key) -> AppResult {
        if let Some(question) = self.confirm.take() {
            return if key == Key::char('y') || key == Key::char('Y') || key == Key::char('д') {
                self.answer(question).await
            } else {
                self.set_info("cancelled");
                Ok(())
            };
        }
        if self.prompt.is_some() {
            return self.prompt_key(key).await;
        }
        if self.screen == ScreenId::Case && self.case.as_ref().is_some_and(|c| c.editing()) {
            return self.notes_key(key).await;
        }
        if self.help {
            if matches!(key.code, KeyCode::Esc) || key == Key::char('?') || key == Key::char('q') {
                self.help = false;
            }
            return Ok(());
        }
        if self.pending.is_empty()
            && self.screen == ScreenId::Split
            && keymap::is_amount_key(&key)
            && let Some(split) = self.split.as_mut()
        {
            split.type_key(key);
            return Ok(());
        }
        if !self.pending.is_empty() && matches!(key.code, KeyCode::Esc) {
            self.pending.clear();
            return Ok(());
        }
        self.pending.push(key);
        let run = match self.keymap.resolve(self.screen.scope(), &self.pending) {
            Resolved::Matched(b) => Some(b.run.clone()),
            Resolved::Pending(_) => return Ok(()),
            Resolved::NotFound => {
                let keys = keys_text(&self.pending);
                self.pending.clear();
                return Err(format!("{keys} is not bound here (? shows the keys)"));
            }
        };
        self.pending.clear();
        for cmd in run.unwrap_or_default() {
            self.run(cmd).await?;
        }
        Ok(())
    }

    /// Runs one command line (as typed at `:` or in a script).
    pub async fn run_line(&mut self, line: &str) -> AppResult {
        let cmd: Command = line.parse().map_err(|e: command::CommandError| e.to_string())?;
        self.run(cmd).await
    }

    /// Executes one command.
    pub async fn run(&mut self, cmd: Command) -> AppResult {
        match cmd {
            Command::Quit => {
                self.quit = true;
                Ok(())
            }
            Command::Noop => Ok(()),
            Command::Help => {
                self.help = !self.help;
                Ok(())
            }
            Command::Prompt(text) => {
                self.prompt = Some(prompt::Prompt::new(&text));
                Ok(())
            }
            Command::Lang(lang) => {
                self.lang = lang;
                Ok(())
            }
            Command::Goto(place) => self.goto(place).await,
            Command::Split(donation) => self.open_split(donation).await,
            Command::Back => self.back().await,
            Command::Refresh => {
                self.mark_changed();
                self.refresh().await
            }
            Command::Allocate { donation, lines, reason } => {
                let out = self
                    .store
                    .allocate(donation, &crate::store::Plan::Lines(lines), reason.as_deref(), None)
                    .await
                    .map_err(|e| e.to_string())?;
                self.set_info(format!(
                    "donation {donation}: {} allocation(s) written, {} unallocated{}",
                    out.allocation_ids.len(),
                    out.unallocated_after,
                    completed_text(&out.completed)
                ));
                self.after_write().await
            }
            Command::Reverse { allocation, reason } => {
                self.store.reverse(allocation, &reason).await.map_err(|e| e.to_string())?;
                self.set_info(format!("allocation {allocation} reversed"));
                self.after_write().await
            }
            Command::Verify => self.start_verify(),
            Command::MergeDonors(pair) => Box::pin(donor_pairs::merge(self, pair)).await,
            Command::KeepDonorsApart { pair, reason } => Box::pin(donor_pairs::keep_apart(self, pair, reason)).await,
            Command::GdprPlan => Box::pin(privacy::replan(self)).await,
            Command::GdprExclude(reason) => Box::pin(privacy::exclude(self, reason)).await,
            Command::Import(path) => {
                if self.screen != ScreenId::Imports {
                    self.show(ScreenId::Imports).await?;
                }
                imports::preview(self, &path).await
            }
            // Screens may run further commands: boxed, so the recursion has a size.
            other => match self.screen {
                ScreenId::Board => Box::pin(board::run(self, other)).await,
                ScreenId::Case => Box::pin(case::run(self, other)).await,
                ScreenId::Donations => Box::pin(inbox::run(self, other)).await,
                ScreenId::Split => Box::pin(split::run(self, other)).await,
                ScreenId::Payments => Box::pin(payments::run(self, other)).await,
                ScreenId::Imports => Box::pin(imports::run(self, other)).await,
                ScreenId::Reviews => Box::pin(reviews::run(self, other)).await,
                ScreenId::Donors => Box::pin(donor_pairs::run(self, other)).await,
                ScreenId::Work => Box::pin(work::run(self, other)).await,
                ScreenId::Notices => Box::pin(notices::run(self, other)).await,
                ScreenId::Reports => Box::pin(reports::run(self, other)).await,
                ScreenId::Segments => Box::pin(reports::segments(self, other)).await,
                ScreenId::Privacy => Box::pin(privacy::run(self, other)).await,
            },
        }
    }

    pub(crate) fn not_here(&self, cmd: &Command) -> AppResult {
        Err(format!("{cmd:?} does nothing on this screen").to_lowercase())
    }

    async fn goto(&mut self, place: Place) -> AppResult {
        let to = match place {
            Place::Board => ScreenId::Board,
            Place::Donations => ScreenId::Donations,
            Place::Payments => ScreenId::Payments,
            Place::Imports => ScreenId::Imports,
            Place::Reviews => ScreenId::Reviews,
            Place::Donors => ScreenId::Donors,
            Place::Work => ScreenId::Work,
            Place::Notices => ScreenId::Notices,
            Place::Reports => ScreenId::Reports,
            Place::Segments => ScreenId::Segments,
            Place::Privacy => ScreenId::Privacy,
            Place::Case(id) => {
                self.case = Some(case::CaseCard::load(&self.store, id).await.map_err(|e| e.to_string())?);
                self.mark_loaded(ScreenId::Case);
                ScreenId::Case
            }
        };
        self.show(to).await
    }

    /// Makes `to` the current screen, remembering where we came from.
    pub(crate) async fn show(&mut self, to: ScreenId) -> AppResult {
        if self.screen != to {
            self.history.push(self.screen);
            if self.history.len() > 50 {
                self.history.remove(0);
            }
        }
        self.screen = to;
        if self.loaded.contains(&(to, self.generation)) { Ok(()) } else { self.refresh().await }
    }

    fn mark_loaded(&mut self, screen: ScreenId) {
        self.loaded.retain(|(s, _)| *s != screen);
        self.loaded.push((screen, self.generation));
    }

    /// The data may have changed: every screen is stale.
    pub fn mark_changed(&mut self) {
        self.generation += 1;
    }

    /// After a write of ours: fresh figures on this screen, others reload when shown.
    pub async fn after_write(&mut self) -> AppResult {
        self.mark_changed();
        self.refresh().await
    }

    async fn back(&mut self) -> AppResult {
        if self.screen == ScreenId::Imports && self.imports.pending.take().is_some() {
            self.imports.preview = None;
            self.imports.clear_choices();
            self.set_info("preview dropped: nothing was written");
            return Ok(());
        }
        if self.screen == ScreenId::Split {
            self.split = None;
            self.set_info("left the split: nothing was written");
        }
        match self.history.pop() {
            Some(prev) => {
                self.screen = prev;
                if self.loaded.contains(&(prev, self.generation)) { Ok(()) } else { self.refresh().await }
            }
            None => Ok(()),
        }
    }

    pub(crate) async fn open_split(&mut self, donation: i64) -> AppResult {
        let split = split::Split::load(&self.store, donation).await?;
        self.split = Some(split);
        self.mark_loaded(ScreenId::Split);
        self.show(ScreenId::Split).await
    }

    /// Reloads the current screen's figures from the database.
    pub async fn refresh(&mut self) -> AppResult {
        let rows = self.rows;
        let screen = self.screen;
        let result = match screen {
            ScreenId::Board => self.board.load(&self.store, rows).await,
            ScreenId::Case => match self.case.as_mut() {
                Some(c) => c.reload(&self.store).await,
                None => Ok(()),
            },
            ScreenId::Donations => self.inbox.load(&self.store, rows).await,
            ScreenId::Split => match self.split.as_mut() {
                Some(s) => s.reload(&self.store).await,
                None => Ok(()),
            },
            ScreenId::Payments => self.payments.load(&self.store).await,
            ScreenId::Imports => self.imports.load(&self.store).await,
            ScreenId::Reviews => self.reviews.load(&self.store).await,
            ScreenId::Donors => self.donor_pairs.load(&self.store).await,
            ScreenId::Notices => self.notices.load(&self.store).await,
            ScreenId::Reports => {
                let today = self.now().date_naive();
                self.reports.load(&self.store, today).await
            }
            ScreenId::Segments => self.segments.load(&self.store).await,
            ScreenId::Privacy => self.privacy.load(&self.store).await,
            ScreenId::Work => {
                let now = self.now();
                self.work.load(&self.store, now).await
            }
        };
        if result.is_ok() {
            self.mark_loaded(screen);
        }
        result
    }

    async fn answer(&mut self, question: Confirm) -> AppResult {
        match question {
            Confirm::PlaceDesignated(id) => {
                let completed = self.store.place_designated(id).await.map_err(|e| e.to_string())?;
                self.set_info(format!("donation {id} placed on its case{}", completed_text(&completed)));
                self.after_write().await
            }
        }
    }

    async fn prompt_key(&mut self, key: Key) -> AppResult {
        let Some(p) = self.prompt.as_mut() else { return Ok(()) };
        match key.code {
            KeyCode::Esc => {
                self.prompt = None;
                self.segments.typing = None;
                Ok(())
            }
            KeyCode::Enter => {
                let line = p.text();
                self.prompt = None;
                self.segments.typing = None;
                if line.trim().is_empty() { Ok(()) } else { self.run_line(&line).await }
            }
            KeyCode::Tab => {
                if let Some(hint) = p.complete() {
                    self.set_info(hint);
                }
                Ok(())
            }
            _ => {
                p.input(key);
                // The segments' size follows the filters as they are typed.
                if self.screen == ScreenId::Segments { reports::follow_prompt(self) } else { Ok(()) }
            }
        }
    }

    async fn notes_key(&mut self, key: Key) -> AppResult {
        let Some(card) = self.case.as_mut() else { return Ok(()) };
        if key == Key::ctrl('s') {
            let id = card.file.case.id;
            let text = card.finish_notes();
            self.store.set_notes(id, &text).await.map_err(|e| e.to_string())?;
            self.set_info(format!("case {id}: notes saved"));
            return self.after_write().await;
        }
        if matches!(key.code, KeyCode::Esc) {
            card.cancel_notes();
            self.set_info("notes not saved");
            return Ok(());
        }
        card.notes_input(key);
        Ok(())
    }

    /// Checks every invariant in the background, with progress.
    fn start_verify(&mut self) -> AppResult {
        let store = self.store.clone();
        let tx = self.jobs.clone();
        self.progress = Some(Progress { label: "verify".into(), done: 0, total: 1 });
        tokio::spawn(async move {
            let progress = tx.clone();
            let result = store
                .verify_in_slices(|done, total| {
                    let _ = progress.send(JobEvent::Progress(Progress { label: "verify".into(), done, total }));
                })
                .await;
            let done = match result {
                Ok(v) if v.is_empty() => JobEvent::Done { message: "all money invariants hold".into(), error: false },
                Ok(v) => JobEvent::Done { message: format!("{} violation(s): {}", v.len(), v.join("; ")), error: true },
                Err(e) => JobEvent::Done { message: e.to_string(), error: true },
            };
            let _ = tx.send(done);
        });
        Ok(())
    }

    /// Which-key: the ways to finish the chord under way.
    pub fn chord_choices(&self) -> Vec<(String, String)> {
        if self.pending.is_empty() {
            return vec![];
        }
        match self.keymap.resolve(self.screen.scope(), &self.pending) {
            Resolved::Pending(list) => list
                .iter()
                .map(|b| {
                    (
                        keys_text(&b.keys[self.pending.len()..]),
                        if b.desc.is_empty() { b.run_text.join("; ") } else { b.desc.clone() },
                    )
                })
                .collect(),
            _ => vec![],
        }
    }
}

/// Where a movement command takes the selection in a list of `len` rows.
pub(crate) fn list_move(selected: usize, len: usize, cmd: &Command) -> usize {
    let last = len.saturating_sub(1);
    match cmd {
        Command::Up => selected.saturating_sub(1),
        Command::Down => (selected + 1).min(last),
        Command::PageUp => selected.saturating_sub(10),
        Command::PageDown => (selected + 10).min(last),
        Command::Top => 0,
        Command::Bottom => last,
        _ => selected,
    }
}

pub(crate) fn completed_text(completed: &[i64]) -> String {
    let ids: Vec<String> = completed.iter().map(i64::to_string).collect();
    if ids.is_empty() { String::new() } else { format!("; fully funded, now in payment: case {}", ids.join(", ")) }
}
