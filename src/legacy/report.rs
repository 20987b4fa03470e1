//! The reconciliation report: what the export says against what the database
//! holds after the migration, per entity, per case, per donor and per month,
//! to the kopeck, with every rejected row and why.

use std::fmt::Write;

use serde::Serialize;

use super::{Rejected, money};

/// One entity's rows: how many the export has and where each went.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Count {
    pub entity: &'static str,
    /// Rows in the export.
    pub rows: usize,
    /// Created now.
    pub new: usize,
    /// Found to be a record the database already had (same child, same donor).
    pub joined: usize,
    /// Migrated by an earlier run of this export.
    pub already: usize,
    pub rejected: usize,
    /// Rows of this export the database now knows, counted there.
    pub in_database: usize,
}

impl Count {
    /// Every row accounted for once, and the database agrees.
    pub fn balanced(&self) -> bool {
        self.rows == self.new + self.joined + self.already + self.rejected
            && self.in_database == self.rows - self.rejected
    }
}

/// An amount as the export has it against the database's.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// Old id (case, donor), month or total name.
    pub key: String,
    /// The record it became.
    pub new_id: Option<i64>,
    /// Summed from the export's rows.
    pub old: i64,
    /// The old CRM's own figure, where the export states one.
    pub stated: Option<i64>,
    /// Summed from the database.
    pub new: i64,
}

impl Line {
    pub fn differs(&self) -> bool {
        self.old != self.new || self.stated.is_some_and(|s| s != self.new)
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub source: String,
    pub dry_run: bool,
    pub committed: bool,
    pub by: String,
    pub at: String,
    pub counts: Vec<Count>,
    pub rejected: Vec<Rejected>,
    /// What the migration did that a person should know: joined records,
    /// stages the money did not fit, likely duplicates queued for review.
    pub notes: Vec<String>,
    pub totals: Vec<Line>,
    pub cases: Vec<Line>,
    pub donors: Vec<Line>,
    pub months: Vec<Line>,
    /// Lines and counts that do not agree.
    pub differences: usize,
}

impl Report {
    pub fn count_differences(&mut self) {
        let lines = [&self.totals, &self.cases, &self.donors, &self.months];
        self.differences = lines.iter().flat_map(|l| l.iter()).filter(|l| l.differs()).count()
            + self.counts.iter().filter(|c| !c.balanced()).count();
    }

    /// Nothing rejected and nothing differing: every kopeck accounted for.
    pub fn clean(&self) -> bool {
        self.differences == 0 && self.rejected.is_empty()
    }

    /// The verdict in one sentence.
    pub fn summary(&self) -> String {
        let what = if self.dry_run {
            "dry run, nothing written"
        } else if self.committed {
            "committed"
        } else {
            "NOT committed, nothing written"
        };
        let counts: Vec<String> =
            self.counts.iter().map(|c| format!("{} {}/{}", c.entity, c.rows - c.rejected, c.rows)).collect();
        format!(
            "migration from {} ({what}): {}; {} rejected row(s), {} difference(s){}",
            self.source,
            counts.join(", "),
            self.rejected.len(),
            self.differences,
            if self.clean() { " — every kopeck accounted for" } else { "" }
        )
    }

    /// The whole report as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Reconciliation: {}\n", self.source);
        let _ = writeln!(s, "{}\n", self.summary());
        let _ = writeln!(s, "By {} at {}.\n", self.by, self.at);
        s.push_str("## Rows per entity\n\n| entity | rows | new | joined | already | rejected | in database | agrees |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
        for c in &self.counts {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                c.entity,
                c.rows,
                c.new,
                c.joined,
                c.already,
                c.rejected,
                c.in_database,
                if c.balanced() { "yes" } else { "**NO**" }
            );
        }
        s.push_str("\n## Rejected rows\n\n");
        if self.rejected.is_empty() {
            s.push_str("None.\n");
        } else {
            s.push_str("| file | line | id | reason |\n|---|---:|---|---|\n");
            for r in &self.rejected {
                let _ = writeln!(s, "| {} | {} | {} | {} |", cell(&r.file), r.line, cell(&r.old_id), cell(&r.reason));
            }
        }
        if !self.notes.is_empty() {
            s.push_str("\n## Notes\n\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {}", cell(n));
            }
        }
        for (title, lines) in [
            ("Totals", &self.totals),
            ("Per case (allocations)", &self.cases),
            ("Per donor (donations)", &self.donors),
            ("Per month (donations)", &self.months),
        ] {
            let _ = writeln!(s, "\n## {title}\n");
            s.push_str(
                "| old | new record | export | stated by old CRM | database | agrees |\n|---|---|---:|---:|---:|---|\n",
            );
            for l in lines {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    cell(&l.key),
                    l.new_id.map(|i| i.to_string()).unwrap_or_else(|| "—".into()),
                    money(l.old),
                    l.stated.map(money).unwrap_or_default(),
                    money(l.new),
                    if l.differs() { "**NO**" } else { "yes" }
                );
            }
        }
        s
    }
}

/// Outside text made safe for a Markdown table cell (and a terminal).
fn cell(text: &str) -> String {
    crate::text::inert(text).replace('|', "\\|").replace('\n', " ")
}
