//! Likely duplicate donors, side by side: `merge-donors` makes them one (the
//! donor with fewer gifts merged into the other, through the store's donor
//! merge: donations, allocations and subscriptions follow, and the kept donor
//! takes the ways to reach the person), `keep-donors-apart` records that they
//! are two, `undo` takes the last decision made here back. Before a merge,
//! as on the review queue, Tab moves between the e-mail and the phone, ←
//! takes the merged donor's value and → keeps the kept donor's. With a pair
//! given (`merge-donors 812 77`) the commands work from anywhere, `exec`
//! scripts included, the kept donor's values winning where both have one.

use super::command::Command;
use super::{App, AppResult};
use crate::store::{DonorPair, DonorSide, Store};

/// How many pairs the screen holds: the strongest first.
const SHOWN: usize = 1_000;

/// A way to reach a donor that a merge may carry to the donor kept, chosen per pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    Email,
    Phone,
}

impl Contact {
    pub const ALL: [Contact; 2] = [Contact::Email, Contact::Phone];

    pub fn word(self) -> &'static str {
        match self {
            Contact::Email => "email",
            Contact::Phone => "phone",
        }
    }

    /// Its value on donor `d`, if it says anything.
    pub fn of(self, d: &DonorSide) -> Option<&str> {
        let v = match self {
            Contact::Email => &d.email,
            Contact::Phone => &d.phone,
        };
        v.as_deref().filter(|v| !v.trim().is_empty())
    }
}

impl std::str::FromStr for Contact {
    type Err = String;

    fn from_str(s: &str) -> Result<Contact, String> {
        match s.trim().to_lowercase().as_str() {
            "email" | "e-mail" => Ok(Contact::Email),
            "phone" => Ok(Contact::Phone),
            other => Err(format!("{other:?}: a merge takes email or phone")),
        }
    }
}

/// A decision made on this screen, which `undo` takes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A donor merge (its number).
    Merged(i64),
    /// A keep-apart decision (its number).
    KeptApart(i64),
}

#[derive(Debug, Clone, Default)]
pub struct DonorPairs {
    pub rows: Vec<DonorPair>,
    pub selected: usize,
    pub last: Option<Decision>,
    /// The contact under the cursor (index into [`Contact::ALL`]).
    pub field: usize,
    /// Per contact: the kept donor takes the merged one's value (else keeps its own).
    pub take: [bool; 2],
    /// The pair the choices were made for: they start afresh when it changes.
    chosen_for: Option<(i64, i64)>,
}

impl DonorPairs {
    pub fn current(&self) -> Option<&DonorPair> {
        self.rows.get(self.selected)
    }

    pub async fn load(&mut self, store: &Store) -> AppResult {
        self.rows = store.donor_duplicates(Some(SHOWN)).await.map_err(|e| e.to_string())?;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.focus();
        Ok(())
    }

    /// A newly selected pair starts from the kept donor's values, its gaps
    /// filled from the merged one's.
    fn focus(&mut self) {
        let Some(p) = self.current() else {
            self.chosen_for = None;
            return;
        };
        let pair = p.direction();
        if self.chosen_for == Some(pair) {
            return;
        }
        let (merged, kept) = p.merged_and_kept();
        let take = Contact::ALL.map(|c| c.of(kept).is_none() && c.of(merged).is_some());
        self.take = take;
        self.field = 0;
        self.chosen_for = Some(pair);
    }

    /// The choices made for `pair` (FROM, INTO), as the store's merge takes them
    /// (e-mail, phone); none, for a pair they were not made for.
    fn chosen(&self, pair: (i64, i64)) -> (Option<bool>, Option<bool>) {
        if self.chosen_for != Some(pair) {
            return (None, None);
        }
        (Some(self.take[0]), Some(self.take[1]))
    }
}

const NONE_SELECTED: &str = "no likely duplicate donors wait for a decision";

pub async fn run(app: &mut App, cmd: Command) -> AppResult {
    let n = app.donor_pairs.rows.len();
    let q = &mut app.donor_pairs;
    match cmd {
        Command::Up | Command::Down | Command::PageUp | Command::PageDown | Command::Top | Command::Bottom => {
            q.selected = super::list_move(q.selected, n, &cmd);
            q.focus();
        }
        Command::NextTab => q.field = (q.field + 1) % Contact::ALL.len(),
        Command::PrevTab => q.field = (q.field + Contact::ALL.len() - 1) % Contact::ALL.len(),
        Command::Left | Command::Right => {
            let p = q.current().ok_or(NONE_SELECTED)?;
            let (merged, _) = p.merged_and_kept();
            let contact = Contact::ALL[q.field];
            if cmd == Command::Left && contact.of(merged).is_none() {
                return Err(format!("donor {} has no {} to take", merged.id, contact.word()));
            }
            q.take[q.field] = cmd == Command::Left;
        }
        Command::Undo => {
            let last =
                q.last.ok_or("no decision made here to undo (`almoner donor unmerge MERGE` takes back any merge)")?;
            let text = match last {
                Decision::Merged(merge) => {
                    let (from, moved) = app.store.unmerge_donors(merge).await.map_err(|e| e.to_string())?;
                    format!("merge {merge} undone: {moved} donation(s) back with donor {from}")
                }
                Decision::KeptApart(id) => {
                    let (a, b) = app.store.undo_keep_donors_apart(id).await.map_err(|e| e.to_string())?;
                    format!("donors {a} and {b}: keep-apart taken back; the pair waits again")
                }
            };
            app.donor_pairs.last = None;
            app.set_info(text);
            return app.after_write().await;
        }
        Command::Filter(_) => return Err("the donor duplicates have no filter: the strongest come first".into()),
        other => return app.not_here(&other),
    }
    Ok(())
}

/// `merge-donors`: the pair given (FROM, INTO), or the selected one on this screen.
pub async fn merge(app: &mut App, pair: Option<(i64, i64)>) -> AppResult {
    let ((from, into), (email, phone)) = match pair {
        Some(p) => (p, (None, None)),
        None => {
            let pair = selected(app, "merge-donors")?.direction();
            (pair, app.donor_pairs.chosen(pair))
        }
    };
    let merge = app.store.merge_donors_taking(from, into, email, phone).await.map_err(|e| e.to_string())?;
    app.donor_pairs.last = Some(Decision::Merged(merge));
    let taken: Vec<&str> =
        Contact::ALL.iter().zip([email, phone]).filter(|(_, t)| *t == Some(true)).map(|(c, _)| c.word()).collect();
    let taken = if taken.is_empty() { String::new() } else { format!(", taking its {}", taken.join(" and ")) };
    app.set_info(format!("donor {from} merged into donor {into}{taken} (merge {merge}) — u undoes"));
    app.after_write().await
}

/// `keep-donors-apart`: the pair given, or the selected one on this screen.
pub async fn keep_apart(app: &mut App, pair: Option<(i64, i64)>, reason: Option<String>) -> AppResult {
    let (a, b) = match pair {
        Some(p) => p,
        None => {
            let p = selected(app, "keep-donors-apart")?;
            (p.a.id, p.b.id)
        }
    };
    let id = app.store.keep_donors_apart(a, b, reason.as_deref()).await.map_err(|e| e.to_string())?;
    app.donor_pairs.last = Some(Decision::KeptApart(id));
    app.set_info(format!("donors {a} and {b} kept apart (decision {id}) — u undoes"));
    app.after_write().await
}

fn selected(app: &App, command: &str) -> Result<DonorPair, String> {
    if app.screen != super::ScreenId::Donors {
        return Err(format!(
            "{command}: give the two donors, or use it on the donor duplicates screen (g u) for the selected pair"
        ));
    }
    app.donor_pairs.current().cloned().ok_or_else(|| NONE_SELECTED.to_string())
}
