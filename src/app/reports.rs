//! The reports screen: the stage report for a period (the last twelve
//! months until a filter says otherwise: `/` then `from=`, `to=`,
//! `program=`), drawn as a funnel, a bar per month and gauges of the open
//! fundraisers; and the segments screen, whose size follows the filters as
//! they are typed, saved by name and exported for the mailing service.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Datelike, NaiveDate};

use super::command::Command;
use super::{App, AppResult, JobEvent};
use crate::domain::{Case, Program, Stage};
use crate::store::{CaseQuery, Segment, Size, StageReport, Store};

#[derive(Debug, Clone, Default)]
pub struct Reports {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub program: Option<Program>,
    pub report: Option<StageReport>,
    /// Open fundraisers, most advanced first, for the gauges.
    pub open: Vec<Case>,
}

impl Reports {
    /// The period shown: as filtered, else the twelve months up to `today`.
    pub fn period(&self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let to = self.to.unwrap_or(today);
        // Twelve whole months: this one and the eleven before it.
        let from = self.from.unwrap_or_else(|| {
            to.checked_sub_months(chrono::Months::new(11)).and_then(|d| d.with_day(1)).unwrap_or(to)
        });
        (from, to)
    }

    pub async fn load(&mut self, store: &Store, today: NaiveDate) -> AppResult {
        let (from, to) = self.period(today);
        self.report = Some(store.stage_report(from, to, self.program).await.map_err(|e| e.to_string())?);
        let q = CaseQuery { stage: Some(Stage::Fundraising), program: self.program, ..Default::default() };
        let mut open = store.list_cases(&q).await.map_err(|e| e.to_string())?;
        open.sort_by_key(|c| std::cmp::Reverse(c.collected.minor() * 1000 / c.target.minor().max(1)));
        open.truncate(40);
        self.open = open;
        Ok(())
    }
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    match cmd {
        Command::Filter(f) => {
            if f.text.is_some() || f.channel.is_some() || f.responsible.is_some() || f.designated.is_some() {
                return Err("reports filter by from=DATE, to=DATE and program=P".into());
            }
            app.reports.from = f.from;
            app.reports.to = f.to;
            app.reports.program = f.program;
            let today = app.now().date_naive();
            app.reports.load(&app.store, today).await
        }
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => Ok(()),
        other => app.not_here(&other),
    }
}

#[derive(Debug, Clone, Default)]
pub struct Segments {
    pub filter: Segment,
    pub size: Size,
    pub saved: Vec<(String, Segment, Size)>,
    pub selected: usize,
    /// The filters being typed at `/`, counted before Enter.
    pub typing: Option<Typing>,
    /// Counts asked for while typing, so that only the last one runs.
    asks: Arc<AtomicU64>,
    /// Held by the count under way: at most one runs at a time.
    counting_now: Arc<tokio::sync::Mutex<()>>,
}

/// The last complete filters typed so far and their size; while the text
/// does not read as filters, why (the count stays the last good one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Typing {
    pub filter: Segment,
    pub size: Size,
    pub incomplete: Option<String>,
    /// Filters typed since, being counted in the background (the figures above stay up meanwhile).
    pub counting: Option<Segment>,
}

/// How long typing must pause before the filters typed are counted: a big database takes a
/// good part of a second, and the keys typed meanwhile are not kept waiting.
pub const COUNT_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// The prompt's text changed on the segments screen: when it holds the
/// filters (`segment …`), the size follows, counted in the background once
/// typing pauses. A half-typed filter (`min_total=`, `has`) keeps the last
/// good count up, marked incomplete.
pub fn follow_prompt(app: &mut App) -> AppResult {
    let text = app.prompt.as_ref().map(|p| p.text()).unwrap_or_default();
    let Some(rest) = text.strip_prefix("segment").filter(|r| r.is_empty() || r.starts_with(' ')) else {
        app.segments.typing = None;
        return Ok(());
    };
    let q = &mut app.segments;
    let mut now = q.typing.take().unwrap_or_else(|| Typing {
        filter: q.filter.clone(),
        size: q.size.clone(),
        incomplete: None,
        counting: None,
    });
    now.incomplete = None;
    match rest.parse::<Segment>() {
        Ok(filter) if filter == now.filter => {
            // Back to the filters shown: a count asked for since is no longer wanted.
            q.asks.fetch_add(1, Ordering::SeqCst);
            now.counting = None;
        }
        Ok(filter) if now.counting.as_ref() == Some(&filter) => {}
        Ok(filter) => {
            now.counting = Some(filter.clone());
            // Only the count asked for last runs, one at a time: an ask that is no longer the
            // last, after the pause or after waiting its turn, stops without counting.
            let asked = q.asks.fetch_add(1, Ordering::SeqCst) + 1;
            let (store, tx, asks) = (app.store.clone(), app.jobs.clone(), q.asks.clone());
            let one_at_a_time = q.counting_now.clone();
            tokio::spawn(async move {
                tokio::time::sleep(COUNT_AFTER).await;
                let last = || asks.load(Ordering::SeqCst) == asked;
                if !last() {
                    return;
                }
                let _turn = one_at_a_time.lock().await;
                if !last() {
                    return;
                }
                let size = store.segment_size(&filter).await.map_err(|e| e.to_string());
                let _ = tx.send(JobEvent::SegmentCounted { filter, size });
            });
        }
        Err(e) => now.incomplete = Some(e.to_string()),
    }
    q.typing = Some(now);
    Ok(())
}

/// A count asked for while typing is ready: shown if those are still the filters being typed.
pub fn counted(app: &mut App, filter: Segment, size: Result<Size, String>) {
    let Some(typing) = app.segments.typing.as_mut().filter(|t| t.counting.as_ref() == Some(&filter)) else {
        return;
    };
    typing.counting = None;
    match size {
        Ok(size) => {
            typing.filter = filter;
            typing.size = size;
        }
        Err(e) => app.set_error(e),
    }
}

impl Segments {
    pub async fn load(&mut self, store: &Store) -> AppResult {
        self.size = store.segment_size(&self.filter).await.map_err(|e| e.to_string())?;
        let mut saved = Vec::new();
        for (name, s) in store.segments().await.map_err(|e| e.to_string())? {
            let size = store.segment_size(&s).await.map_err(|e| e.to_string())?;
            saved.push((name, s, size));
        }
        self.saved = saved;
        self.selected = self.selected.min(self.saved.len().saturating_sub(1));
        Ok(())
    }
}

pub async fn segments(app: &mut App, cmd: Command) -> AppResult {
    let n = app.segments.saved.len();
    let q = &mut app.segments;
    match cmd {
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => {
            q.selected = super::list_move(q.selected, n, &cmd);
            Ok(())
        }
        Command::Segment(text) => {
            q.filter = text.parse().map_err(|e: crate::Error| e.to_string())?;
            q.size = app.store.segment_size(&q.filter).await.map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Open => {
            let (name, s, _) = q.saved.get(q.selected).ok_or("no segments saved yet: s saves the filters")?.clone();
            q.filter = s;
            q.size = app.store.segment_size(&q.filter).await.map_err(|e| e.to_string())?;
            app.set_info(format!("segment {name:?}: its filters are in force"));
            Ok(())
        }
        Command::SaveSegment(name) => {
            let filter = q.filter.clone();
            app.store.save_segment(&name, &filter).await.map_err(|e| e.to_string())?;
            app.set_info(format!("segment {name:?} saved"));
            app.after_write().await
        }
        Command::ExportSegment { path, fields } => {
            let filter = q.filter.clone();
            let done = app
                .store
                .export_segment(&filter, &fields, std::path::Path::new(&path))
                .await
                .map_err(|e| e.to_string())?;
            app.set_info(format!(
                "{path}: {} donor(s) written; left out {} do not contact, {} no consent, {} no e-mail",
                done.written, done.do_not_contact, done.no_consent, done.no_email
            ));
            Ok(())
        }
        other => app.not_here(&other),
    }
}
