//! "My work": what the person running almoner should act on, by role, each
//! item with why it is there and how long it has waited; overdue cases first.

use super::db::Get;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, q, rows};
use crate::domain::deadline::Deadlines;
use crate::domain::{Case, Money, Role, Stage};
use crate::error::Result;

/// What an item opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Target {
    Case(i64),
    Donation(i64),
    Batch(i64),
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkItem {
    /// The role this is work for.
    pub role: Role,
    pub target: Target,
    /// What it is: "qualify", "documents", "place money", "near target", "pay", "unmatched outgoing", "import errors".
    pub what: &'static str,
    pub why: String,
    /// Since when it has waited.
    pub since: DateTime<Utc>,
    /// Days past the stage's limit, for an overdue case.
    pub overdue_days: Option<i64>,
}

/// The roles a person acts in: their own, or every working role for someone the users list does not know.
pub fn roles_of(role: Option<Role>) -> Vec<Role> {
    match role {
        Some(Role::Admin) | None => vec![Role::Medical, Role::Fundraiser, Role::Bookkeeper],
        Some(Role::Viewer) => vec![],
        Some(r) => vec![r],
    }
}

/// A fundraiser this close to its target (collected / target) is worth a push.
const NEAR_TARGET: f64 = 0.9;

impl Store {
    /// The role recorded for `person` in the users list.
    pub async fn role_of(&self, person: &str) -> Result<Option<Role>> {
        let role: Option<String> =
            q("SELECT role FROM users WHERE name = $1").bind(person).scalar_optional(&mut self.conn().await?).await?;
        Ok(role.and_then(|r| r.parse().ok()))
    }

    pub async fn deadlines(&self) -> Result<Deadlines> {
        Ok(Deadlines::from_settings(&self.settings().await?))
    }

    /// The work waiting for `me` in `roles`: overdue first (most overdue first), then longest waiting.
    pub async fn work_queue(
        &self,
        me: &str,
        roles: &[Role],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<WorkItem>> {
        let deadlines = self.deadlines().await?;
        let mut items = Vec::new();
        let case_item = |role: Role, what: &'static str, case: &Case, why: String| WorkItem {
            role,
            target: Target::Case(case.id),
            what,
            why,
            since: case.stage_since,
            overdue_days: deadlines.overdue_by(case.stage, case.stage_since, now),
        };
        let cap = limit as i64;
        let whose = |c: &Case| match &c.responsible {
            None => "unassigned".to_string(),
            Some(_) => "yours".to_string(),
        };
        for role in roles {
            match role {
                Role::Medical => {
                    for c in &self.cases_in(Stage::Qualification, Some(me), cap).await? {
                        let why = format!("{} application from {}: qualify it", whose(c), c.beneficiary);
                        items.push(case_item(*role, "qualify", c, why));
                    }
                    let docs = self.cases_in(Stage::Documents, Some(me), cap).await?;
                    for c in &docs {
                        let missing = self.missing_papers(c).await?;
                        let why = if missing.is_empty() {
                            format!("{}: papers complete, ready for fundraising", c.beneficiary)
                        } else {
                            format!("{}: waiting for {}", c.beneficiary, missing.join(", "))
                        };
                        items.push(case_item(*role, "documents", c, why));
                    }
                }
                Role::Fundraiser => {
                    let open = q(
                        "SELECT id, amount - allocated AS open, currency, payer, received_on FROM donations
                         WHERE designation_kind = 'unrestricted' AND allocated < amount ORDER BY received_on, id LIMIT $1",
                    )
                    .bind(cap)
                    .rows(&mut self.conn().await?)
                    .await?;
                    for r in open {
                        let received: chrono::NaiveDate = r.get("received_on")?;
                        let currency: String = r.get("currency")?;
                        let payer: String = r.get("payer")?;
                        let open = Money::from_minor(r.get("open")?);
                        items.push(WorkItem {
                            role: *role,
                            target: Target::Donation(r.get("id")?),
                            what: "place money",
                            why: format!("{} {currency} from {payer} not yet placed", open.plain()),
                            since: received.and_hms_opt(0, 0, 0).expect("midnight").and_utc(),
                            overdue_days: None,
                        });
                    }
                    for c in self.cases_in(Stage::Fundraising, None, i64::MAX).await? {
                        if c.target.is_positive() && c.collected.minor() as f64 >= c.target.minor() as f64 * NEAR_TARGET
                        {
                            let pct = c.collected.minor() * 100 / c.target.minor();
                            let why =
                                format!("{}: {pct}% collected, {} still needed", c.beneficiary, c.still_needed.plain());
                            items.push(case_item(*role, "near target", &c, why));
                        }
                    }
                }
                Role::Bookkeeper => {
                    for c in self.cases_in(Stage::Payment, None, cap).await? {
                        let why = format!("{}: fully funded, pay {} to {}", c.beneficiary, c.target.plain(), c.clinic);
                        items.push(case_item(*role, "pay", &c, why));
                    }
                    let batches = q(
                        "SELECT id, file_name, at, invalid, unmatched, mismatches, accepted_by, accepted_reason FROM import_batches
                         WHERE undone_at IS NULL AND reviewed_at IS NULL
                           AND (invalid > 0 OR unmatched > 0 OR mismatches > 0 OR accepted_reason IS NOT NULL) ORDER BY id",
                    )
                    .rows(&mut self.conn().await?)
                    .await?;
                    for b in batches {
                        let (id, file): (i64, String) = (b.get("id")?, b.get("file_name")?);
                        let (invalid, unmatched): (i64, i64) = (b.get("invalid")?, b.get("unmatched")?);
                        let since: DateTime<Utc> = b.get("at")?;
                        let mismatches: i64 = b.get("mismatches")?;
                        let accepted: Option<(String, String)> =
                            b.get::<Option<String>>("accepted_by")?.zip(b.get::<Option<String>>("accepted_reason")?);
                        let accepted =
                            accepted.map(|(by, why)| format!(" (accepted by {by}: {why})")).unwrap_or_default();
                        let problems = [
                            (
                                unmatched,
                                "unmatched outgoing",
                                format!("{file}: {unmatched} outgoing payment(s) matched to no invoice"),
                            ),
                            (
                                invalid,
                                "import errors",
                                format!("{file}: {invalid} line(s) could not be read{accepted}"),
                            ),
                            (
                                mismatches,
                                "totals differ",
                                format!("{file}: {mismatches} control total(s) do not match{accepted}"),
                            ),
                        ];
                        for (_, what, why) in problems.into_iter().filter(|(n, _, _)| *n > 0) {
                            let target = Target::Batch(id);
                            items.push(WorkItem { role: *role, target, what, why, since, overdue_days: None });
                        }
                    }
                    // Returned payments wait for a person to record what they take back.
                    let returned = q("SELECT r.batch_id, b.file_name, b.at, CAST(COUNT(*) AS BIGINT) AS n
                                        FROM returns r JOIN import_batches b ON b.id = r.batch_id
                                       WHERE b.undone_at IS NULL AND b.reviewed_at IS NULL
                                       GROUP BY r.batch_id, b.file_name, b.at ORDER BY r.batch_id")
                    .rows(&mut self.conn().await?)
                    .await?;
                    for r in returned {
                        let (batch, file, n): (i64, String, i64) =
                            (r.get("batch_id")?, r.get("file_name")?, r.get("n")?);
                        let why = format!(
                            "{file}: {n} payment(s) returned or reversed by the bank: record what each takes back"
                        );
                        let since: DateTime<Utc> = r.get("at")?;
                        let target = Target::Batch(batch);
                        items.push(WorkItem { role: *role, target, what: "returned", why, since, overdue_days: None });
                    }
                    // Payouts no gifts add up to (yet): they wait for the processor's register or a person.
                    let waiting = q("SELECT s.batch_id, s.processor, s.received_on, s.amount, s.currency, b.at
                                       FROM settlements s JOIN import_batches b ON b.id = s.batch_id
                                      WHERE s.matched_at IS NULL ORDER BY s.received_on, s.id")
                    .rows(&mut self.conn().await?)
                    .await?;
                    for w in waiting {
                        let (batch, processor): (i64, String) = (w.get("batch_id")?, w.get("processor")?);
                        let (on, amount): (chrono::NaiveDate, i64) = (w.get("received_on")?, w.get("amount")?);
                        let currency: String = w.get("currency")?;
                        let why = format!(
                            "{processor} paid out {} {currency} on {on}: no gifts known add up to it yet (import its register)",
                            Money::from_minor(amount).plain()
                        );
                        let since: DateTime<Utc> = w.get("at")?;
                        let target = Target::Batch(batch);
                        items.push(WorkItem {
                            role: *role,
                            target,
                            what: "payout waits",
                            why,
                            since,
                            overdue_days: None,
                        });
                    }
                }
                Role::Admin | Role::Viewer => {}
            }
        }
        items.sort_by(|a, b| b.overdue_days.cmp(&a.overdue_days).then(a.since.cmp(&b.since)));
        items.truncate(limit);
        Ok(items)
    }

    /// A bookkeeper has dealt with a batch's unreadable lines and unmatched payments: off the queue.
    pub async fn dismiss_batch(&self, batch: i64) -> Result<()> {
        self.require(super::Act::Bookkeeping).await?;
        let mut tx = self.begin_write().await?;
        let done =
            q("UPDATE import_batches SET reviewed_at = $1, reviewed_by = $2 WHERE id = $3 AND reviewed_at IS NULL")
                .bind(super::now())
                .bind(self.actor())
                .bind(batch)
                .execute(&mut tx)
                .await?;
        if done == 0 {
            return Err(crate::Error::invalid(format!("batch {batch} does not exist or is already dealt with")));
        }
        super::audit::record(&mut tx, self.actor(), "import.reviewed", "batch", Some(batch), None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records `name`'s role (a new person, or a new role for a known one).
    pub async fn set_user(&self, name: &str, role: Role, new: bool) -> Result<()> {
        // The first admin is recorded by whoever holds the database file; after that, only an admin.
        let admin: Option<i64> = q("SELECT CAST(1 AS BIGINT) FROM users WHERE role = 'admin' LIMIT 1")
            .scalar_optional(&mut self.conn().await?)
            .await?;
        if admin.is_some() {
            self.require(super::Act::Admin).await?;
        }
        let name = name.trim();
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(crate::Error::invalid(format!(
                "{name:?} is not an account name (one word, as the OS knows it)"
            )));
        }
        let mut tx = self.begin_write().await?;
        let before: Option<String> =
            q("SELECT role FROM users WHERE name = $1").bind(name).scalar_optional(&mut tx).await?;
        match (&before, new) {
            (Some(r), true) => {
                return Err(crate::Error::invalid(format!(
                    "{name} is already a user ({r}): `almoner user role {name} ROLE` changes it"
                )));
            }
            (None, false) => {
                return Err(crate::Error::invalid(format!(
                    "{name} is not a user: `almoner user add {name} --role ROLE` first"
                )));
            }
            _ => {}
        }
        q("INSERT INTO users (name, role) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET role = excluded.role")
            .bind(name)
            .bind(role.as_str())
            .execute(&mut tx)
            .await?;
        let action = if new { "user.add" } else { "user.role" };
        let (b, a) = (
            before.map(|r| serde_json::json!({"name": name, "role": r})),
            serde_json::json!({"name": name, "role": role}),
        );
        super::audit::record(&mut tx, self.actor(), action, "user", None, b, Some(a)).await?;
        tx.commit().await?;
        self.forget_standing();
        Ok(())
    }

    pub async fn users(&self) -> Result<Vec<(String, String)>> {
        q("SELECT name, role FROM users ORDER BY name").fetch_all(&mut self.conn().await?).await
    }

    /// Cases in `stage` (only unassigned ones and `mine`'s, if given), longest there first
    /// (so the most overdue), at most `limit`.
    async fn cases_in(&self, stage: Stage, mine: Option<&str>, limit: i64) -> Result<Vec<Case>> {
        let sql = format!(
            "SELECT {} FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id
             WHERE c.stage = $1 AND ($2 IS NULL OR c.responsible IS NULL OR c.responsible = $2)
             ORDER BY c.stage_since, c.id LIMIT $3",
            rows::CASE_COLUMNS
        );
        let found = q(sql).bind(stage.as_str()).bind(mine).bind(limit).rows(&mut self.conn().await?).await?;
        found.iter().map(rows::case).collect()
    }

    /// The kinds of paper the checklist asks of `case` that it does not have.
    async fn missing_papers(&self, case: &Case) -> Result<Vec<String>> {
        let mut conn = self.conn().await?;
        let configured = super::cases::configured_checklist(&mut conn, case.program).await?;
        let have: Vec<String> =
            q("SELECT DISTINCT kind FROM documents WHERE case_id = $1").bind(case.id).scalars(&mut conn).await?;
        Ok(crate::domain::stage::checklist(case.program, case.published, configured.as_deref())
            .into_iter()
            .map(|k| k.as_str().to_string())
            .filter(|k| !have.contains(k))
            .collect())
    }
}
