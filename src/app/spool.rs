//! The console watches the web form's spool (the `intake_spool` setting):
//! every couple of seconds it takes in the applications waiting there, as
//! `almoner intake DIR` would, and says what came in. Files are claimed
//! before they are read, so several consoles can watch one spool.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::App;
use crate::store::{Store, Taken};

/// How often the spool is looked at.
const EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct Spool {
    pub dir: PathBuf,
    pub last: Option<Instant>,
}

/// How often the console republishes the website's feed (`publish_dir`).
const PUBLISH_EVERY: Duration = Duration::from_secs(60);

/// The folder the console keeps the website's feed in, if configured.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub dir: PathBuf,
    pub last: Option<Instant>,
}

pub async fn publisher(store: &Store) -> Option<Publisher> {
    let settings = store.settings().await.ok()?;
    let dir = settings.into_iter().find(|(k, _)| k == "publish_dir").map(|(_, v)| PathBuf::from(v))?;
    Some(Publisher { dir, last: None })
}

/// The spool this database is configured with, if any.
pub async fn configured(store: &Store) -> Option<Spool> {
    let settings = store.settings().await.ok()?;
    let dir = settings.into_iter().find(|(k, _)| k == "intake_spool").map(|(_, v)| PathBuf::from(v))?;
    Some(Spool { dir, last: None })
}

impl App {
    /// Republishes the website's feed every minute when `publish_dir` is set; says so only when something changed.
    /// True when it had something to say.
    pub async fn poll_publish(&mut self) -> bool {
        let Some(p) = self.publisher.as_mut() else { return false };
        if p.last.is_some_and(|t| t.elapsed() < PUBLISH_EVERY) {
            return false;
        }
        p.last = Some(Instant::now());
        let dir = p.dir.clone();
        let today = self.now().date_naive();
        match crate::publish::publish(&self.store, &dir, today).await {
            Ok(done) if !done.written.is_empty() || !done.removed.is_empty() => self.set_info(format!(
                "website feed updated: {} open fundraiser(s), {} file(s) written, {} removed",
                done.cases,
                done.written.len(),
                done.removed.len()
            )),
            Ok(_) => return false,
            Err(e) => self.set_error(format!("publishing to {}: {e}", dir.display())),
        }
        true
    }

    /// Takes in what waits in the spool (at most every two seconds unless `now`); true if anything came.
    pub async fn poll_spool(&mut self, now: bool) -> bool {
        let Some(spool) = self.spool.as_mut() else { return false };
        if !now && spool.last.is_some_and(|t| t.elapsed() < EVERY) {
            return false;
        }
        spool.last = Some(Instant::now());
        let dir = spool.dir.clone();
        // Applications are the medical staff's: other consoles leave the spool to them.
        if !self.store.may(crate::store::Act::Medical).await.unwrap_or(false) {
            return false;
        }
        let Ok(files) = Store::waiting(&dir) else { return false };
        let mut came = false;
        for file in files {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            match self.store.take_in(&file).await {
                Ok(Taken::In(done)) => {
                    came = true;
                    let whose = if done.returning { ", a child who applied before" } else { "" };
                    self.set_info(format!("new application {name}: case {} in qualification{whose}", done.case));
                }
                Ok(Taken::Rejected(why, _)) => {
                    self.set_error(format!("application {name} rejected and moved to rejected/: {why}"));
                }
                Ok(Taken::Elsewhere) => {}
                Err(e) => self.set_error(format!("spool {}: {e}", dir.display())),
            }
        }
        if came && let Err(e) = self.after_write().await {
            self.set_error(e);
        }
        came
    }
}
