//! The pipeline board: a column per stage with count and sums; cards are
//! loaded a window at a time, so 100 000 cases scroll as fast as 100.

use super::command::{Command, Filter, Place};
use super::{App, AppResult};
use crate::domain::{Case, Stage, StageSummary};
use crate::store::{CaseQuery, Store};

/// Cards kept in memory per column around the selection.
const WINDOW: usize = 120;

#[derive(Debug, Clone)]
pub struct Column {
    pub stage: Stage,
    pub total: StageSummary,
    /// Cards `window_start ..` of this column.
    pub cards: Vec<Case>,
    pub window_start: usize,
    pub selected: usize,
}

impl Column {
    pub fn count(&self) -> usize {
        self.total.cases as usize
    }

    pub fn selected_case(&self) -> Option<&Case> {
        self.selected.checked_sub(self.window_start).and_then(|i| self.cards.get(i))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Board {
    pub columns: Vec<Column>,
    pub col: usize,
    pub filter: Filter,
    /// How long a case may stay in each stage: overdue cards stand out.
    pub deadlines: crate::domain::deadline::Deadlines,
}

impl Board {
    fn query(&self, stage: Stage, offset: usize) -> CaseQuery {
        CaseQuery {
            stage: Some(stage),
            program: self.filter.program,
            responsible: self.filter.responsible.clone(),
            text: self.filter.text.clone(),
            limit: Some(WINDOW as i64),
            offset: offset as i64,
            ..Default::default()
        }
    }

    /// Reloads totals and each column's window, keeping the selection.
    pub async fn load(&mut self, store: &Store, _rows: usize) -> AppResult {
        self.deadlines = store.deadlines().await.map_err(|e| e.to_string())?;
        // Totals and the five columns' windows are independent reads: run
        // them at once on the pool's connections.
        let starts: Vec<usize> =
            (0..Stage::BOARD.len()).map(|i| self.columns.get(i).map_or(0, |c| c.window_start)).collect();
        let totals = {
            let (store, q) = (store.clone(), self.query(Stage::Qualification, 0));
            tokio::spawn(async move { store.stage_totals(&q).await })
        };
        let windows: Vec<_> = Stage::BOARD
            .iter()
            .zip(&starts)
            .map(|(stage, start)| {
                let (store, q) = (store.clone(), self.query(*stage, *start));
                tokio::spawn(async move { store.list_cases(&q).await })
            })
            .collect();
        let totals = totals.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        let mut columns = Vec::new();
        for (i, (stage, window)) in Stage::BOARD.iter().zip(windows).enumerate() {
            let total = totals.iter().find(|t| t.stage == *stage).cloned().unwrap_or(StageSummary {
                stage: *stage,
                cases: 0,
                target: Default::default(),
                collected: Default::default(),
            });
            let count = total.cases as usize;
            let selected = self.columns.get(i).map_or(0, |c| c.selected).min(count.saturating_sub(1));
            let mut window_start = starts[i];
            let mut cards = window.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
            if window_start > selected {
                // The column shrank under the window: read it again from the selection.
                window_start = selected.saturating_sub(WINDOW / 2);
                cards = store.list_cases(&self.query(*stage, window_start)).await.map_err(|e| e.to_string())?;
            }
            columns.push(Column { stage: *stage, total, cards, window_start, selected });
        }
        self.columns = columns;
        self.col = self.col.min(self.columns.len().saturating_sub(1));
        Ok(())
    }

    pub fn column(&self) -> Option<&Column> {
        self.columns.get(self.col)
    }

    /// Moves the selection in the current column to `to`, loading another
    /// window of cards if it falls outside the one in memory.
    async fn select(&mut self, store: &Store, to: usize) -> AppResult {
        let Some(col) = self.columns.get(self.col) else { return Ok(()) };
        let to = to.min(col.count().saturating_sub(1));
        // Keep a margin of loaded cards around the selection, so a page of
        // cards on either side is always in memory.
        let margin = 30;
        let end = col.window_start + col.cards.len();
        let low_ok = col.window_start == 0 || to >= col.window_start + margin;
        let high_ok = end >= col.count() || to + margin < end;
        if !(low_ok && high_ok && to >= col.window_start && to < end) {
            let start = to.saturating_sub(WINDOW / 2);
            let cards = store.list_cases(&self.query(col.stage, start)).await.map_err(|e| e.to_string())?;
            let col = &mut self.columns[self.col];
            col.cards = cards;
            col.window_start = start;
        }
        self.columns[self.col].selected = to;
        Ok(())
    }
}

/// Cards visible in one column at `rows` terminal rows (each card is 3 lines).
pub fn page(rows: usize) -> usize {
    (rows.saturating_sub(4) / 3).max(1)
}

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let page = page(app.rows);
    let sel = app.board.column().map_or(0, |c| c.selected);
    let last = app.board.column().map_or(0, |c| c.count().saturating_sub(1));
    let store = app.store.clone();
    match cmd {
        Command::Up => app.board.select(&store, sel.saturating_sub(1)).await,
        Command::Down => app.board.select(&store, sel + 1).await,
        Command::PageUp => app.board.select(&store, sel.saturating_sub(page)).await,
        Command::PageDown => app.board.select(&store, sel + page).await,
        Command::Top => app.board.select(&store, 0).await,
        Command::Bottom => app.board.select(&store, last).await,
        Command::Left => {
            app.board.col = app.board.col.saturating_sub(1);
            Ok(())
        }
        Command::Right => {
            app.board.col = (app.board.col + 1).min(app.board.columns.len().saturating_sub(1));
            Ok(())
        }
        Command::Open => match app.board.column().and_then(|c| c.selected_case()).map(|c| c.id) {
            Some(id) => app.run(Command::Goto(Place::Case(id))).await,
            None => Err("no case selected".into()),
        },
        Command::Filter(f) => {
            app.board.filter = f;
            for c in &mut app.board.columns {
                c.selected = 0;
                c.window_start = 0;
            }
            let rows = app.rows;
            app.board.load(&store, rows).await?;
            let n: i64 = app.board.columns.iter().map(|c| c.total.cases).sum();
            app.set_info(if app.board.filter.is_empty() {
                format!("filter cleared: {n} cases")
            } else {
                format!("{n} cases match")
            });
            Ok(())
        }
        other => app.not_here(&other),
    }
}
