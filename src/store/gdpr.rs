//! Personal data is kept no longer than needed (as CARE Denmark runs it):
//! after `gdpr.contact_years` without a gift a donor is no longer contacted;
//! after `gdpr.erase_years` their personal data is removed; a closed case's
//! medical data goes after `gdpr.medical_years`. Exclusions hold a person
//! back (an active recurring donation, a gift in the last
//! `gdpr.recent_months`, money on a case still open, a person's decision);
//! a person's request brings a donor in early. `plan` schedules what is
//! due a month ahead, so staff can look and override; `run` carries out
//! what is due. Amounts, dates and allocations stay: every report sums the same.
//! What is removed goes from the audit log too (redacted in place, the one
//! change migration 0019 lets the log take), so the log never keeps it.
//! So does what people typed about the person, which may say anything about
//! them: the reasons given for placing and reversing a donor's money, and the
//! stage, placing and reversal reasons and hand-over notes of a case whose
//! medical data goes (the one change migration 0023 lets allocations,
//! reversals and stage history take). On SQLite nothing removed stays in the
//! files either (`secure_delete`, and the write-ahead log emptied after a run).

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use serde_json::json;

use super::audit::REMOVED;
use super::db::{Exec, day_of, json_values};
use super::{Store, Tx, audit, now, q};
use crate::error::Result;

/// The rules in force (settings `gdpr.*`, or these defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rules {
    pub contact_years: i64,
    pub erase_years: i64,
    pub recent_months: i64,
    pub medical_years: i64,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules { contact_years: 3, erase_years: 7, recent_months: 12, medical_years: 5 }
    }
}

pub const SETTINGS: [&str; 4] = ["gdpr.contact_years", "gdpr.erase_years", "gdpr.recent_months", "gdpr.medical_years"];

/// How far ahead a newly planned step is scheduled.
pub const NOTICE_DAYS: i64 = 30;

/// A recurring donation is active while its last payment is younger than
/// this: a monthly one, and a yearly one paid a few weeks late.
pub const RECURRING_ACTIVE_DAYS: i64 = 400;

/// What anonymization removes from the audit entries about a donor and their
/// donations (`NUMBERS`: also when written as a number).
const DONOR_FIELDS: &[&str] = &[
    "name",
    "full_name",
    "donor_name",
    "payer",
    "payer_name",
    "email",
    "phone",
    "inn",
    "payer_inn",
    "account",
    "accounts",
    "payer_account",
    "purpose",
    "subscription",
    "subscriptions",
    "name_key",
    "address",
];
const DONOR_NUMBERS: &[&str] = &["inn", "payer_inn", "phone", "account", "payer_account"];
/// What removing a case's medical data removes from its audit entries.
const MEDICAL_FIELDS: &[&str] = &["diagnosis", "lay_diagnosis", "treatment", "notes", "note"];

/// Removes the reason a person typed in an audit entry's detail (see [`audit::redact`]).
/// The reasons the rules write themselves (a step planned, dropped or done) say only
/// dates and years, and stay; a person's word on an override goes.
fn typed_reason(action: &str, v: &mut serde_json::Value) -> bool {
    let by_rules = action.starts_with("gdpr.") && !matches!(action, "gdpr.include" | "gdpr.exclude");
    !by_rules && audit::redact(v, &["reason"], &[])
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Planned {
    pub id: i64,
    pub entity: String,
    pub entity_id: i64,
    /// The donor's name, or the child's for a case.
    pub name: String,
    pub action: String,
    pub reason: String,
    pub due_on: NaiveDate,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunOutcome {
    pub done: Vec<Planned>,
    pub dropped: usize,
    pub waiting: usize,
    /// SQLite: whether the write-ahead log, which may hold older copies of the pages the run
    /// changed, was emptied after it (not while another connection still read an older state).
    pub log_emptied: Option<bool>,
}

fn years_ago(day: NaiveDate, years: i64) -> NaiveDate {
    day.checked_sub_months(chrono::Months::new((years * 12) as u32)).unwrap_or(day)
}

/// A step the rules call for today: (entity, id, action, reason).
type Due = (&'static str, i64, &'static str, String);

impl Store {
    pub async fn gdpr_rules(&self) -> Result<Rules> {
        let mut r = Rules::default();
        for (k, v) in self.settings().await? {
            let Ok(n) = v.trim().parse::<i64>() else { continue };
            match k.as_str() {
                "gdpr.contact_years" => r.contact_years = n,
                "gdpr.erase_years" => r.erase_years = n,
                "gdpr.recent_months" => r.recent_months = n,
                "gdpr.medical_years" => r.medical_years = n,
                _ => {}
            }
        }
        Ok(r)
    }

    /// What the rules call for as of `day`, exclusions applied.
    async fn gdpr_due(&self, conn: &mut Tx, day: NaiveDate) -> Result<Vec<Due>> {
        let r = self.gdpr_rules().await?;
        let recent = day.checked_sub_months(chrono::Months::new(r.recent_months as u32)).unwrap_or(day);
        let active_since = day - Duration::days(RECURRING_ACTIVE_DAYS);
        // Donors held back: a person's decision, a recurring gift still coming (a payment through one
        // of their subscriptions lately), a recent gift, money on an open case.
        let held = "EXISTS (SELECT 1 FROM gdpr_overrides x WHERE x.entity = 'donor' AND x.entity_id = o.id AND x.kind = 'exclude')
            OR EXISTS (SELECT 1 FROM donor_subscriptions s JOIN donations d ON d.subscription = s.subscription
                       WHERE s.donor_id = o.id AND d.received_on >= $2)
            OR g.last >= $3
            OR EXISTS (SELECT 1 FROM donations d JOIN allocations a ON a.donation_id = d.id JOIN cases c ON c.id = a.case_id
                       WHERE d.donor_id = o.id AND c.stage NOT IN ('paid', 'closed', 'rejected')
                         AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.allocation_id = a.id))
            OR EXISTS (SELECT 1 FROM donations d JOIN cases c ON c.id = d.designated_id
                       WHERE d.donor_id = o.id AND d.designation_kind = 'case' AND c.stage NOT IN ('paid', 'closed', 'rejected'))";
        let asked = "EXISTS (SELECT 1 FROM gdpr_overrides x WHERE x.entity = 'donor' AND x.entity_id = o.id AND x.kind = 'include')";
        let sql = format!(
            "SELECT o.id, g.last, o.do_not_contact = 1, {asked}, ({held})
             FROM donors o JOIN (SELECT donor_id, MAX(received_on) AS last FROM donations WHERE donor_id IS NOT NULL GROUP BY donor_id) g
                  ON g.donor_id = o.id
             WHERE o.anonymized_at IS NULL AND o.merged_into IS NULL AND (g.last < $1 OR {asked})"
        );
        let oldest = years_ago(day, r.contact_years.min(r.erase_years));
        let rows: Vec<(i64, NaiveDate, bool, bool, bool)> =
            q(sql).bind(oldest).bind(active_since).bind(recent).fetch_all(conn).await?;
        let mut due = Vec::new();
        let excluded: Vec<i64> =
            q("SELECT entity_id FROM gdpr_overrides WHERE entity = 'donor' AND kind = 'exclude'").scalars(conn).await?;
        for (id, last, dnc, asked, held) in rows {
            if asked && !excluded.contains(&id) {
                due.push(("donor", id, "anonymize", "asked to have their personal data removed".to_string()));
                continue;
            }
            if held {
                continue;
            }
            if last < years_ago(day, r.erase_years) {
                due.push(("donor", id, "anonymize", format!("no gift since {last} ({} years)", r.erase_years)));
            } else if !dnc && last < years_ago(day, r.contact_years) {
                due.push(("donor", id, "do_not_contact", format!("no gift since {last} ({} years)", r.contact_years)));
            }
        }
        // A record merged into a donor already anonymized is the same person: it follows.
        let merged: Vec<(i64, i64)> =
            q("SELECT w.id, w.merged_into FROM donors w JOIN donors x ON x.id = w.merged_into
             WHERE w.anonymized_at IS NULL AND x.anonymized_at IS NOT NULL")
            .fetch_all(conn)
            .await?;
        for (id, into) in merged {
            due.push(("donor", id, "anonymize", format!("merged into donor {into}, whose personal data was removed")));
        }
        // Closed cases' medical data, unless the child is held back by a person's decision.
        // The day a case's stage began: SQLite keeps the moment as text, PostgreSQL as a timestamp.
        let since = day_of(conn.is_pg(), "c.stage_since");
        let cases: Vec<(i64, String, String)> = q(format!(
            "SELECT c.id, c.stage, {since} FROM cases c
             WHERE c.stage IN ('closed', 'rejected') AND c.medical_removed_at IS NULL AND {since} < $1
               AND NOT EXISTS (SELECT 1 FROM gdpr_overrides x WHERE x.entity = 'beneficiary' AND x.entity_id = c.beneficiary_id AND x.kind = 'exclude')",
        ))
        .bind(years_ago(day, r.medical_years).to_string())
        .fetch_all(conn)
        .await?;
        for (id, stage, since) in cases {
            due.push(("case", id, "remove_medical", format!("{stage} since {since} ({} years)", r.medical_years)));
        }
        Ok(due)
    }

    /// Brings the plan up to date as of `day`: new steps scheduled `NOTICE_DAYS` ahead, steps
    /// no longer called for dropped. The open plan, soonest first.
    pub async fn gdpr_plan(&self, day: NaiveDate) -> Result<Vec<Planned>> {
        self.require(super::Act::Admin).await?;
        let mut tx = self.begin_write().await?;
        self.replan(&mut tx, day).await?;
        let plan = open_plan(&mut tx).await?;
        tx.commit().await?;
        Ok(plan)
    }

    async fn replan(&self, tx: &mut Tx, day: NaiveDate) -> Result<usize> {
        let due = self.gdpr_due(tx, day).await?;
        let open = open_plan(tx).await?;
        let mut dropped = 0;
        for p in &open {
            let still = due.iter().any(|(e, id, a, _)| *e == p.entity && *id == p.entity_id && *a == p.action);
            if !still {
                q("UPDATE gdpr_plan SET dropped_at = $1 WHERE id = $2").bind(now()).bind(p.id).execute(tx).await?;
                audit::record(
                    tx,
                    self.actor(),
                    "gdpr.dropped",
                    &p.entity,
                    Some(p.entity_id),
                    None,
                    Some(json!({"action": p.action})),
                )
                .await?;
                dropped += 1;
            }
        }
        for (entity, id, action, reason) in &due {
            if open.iter().any(|p| p.entity == *entity && p.entity_id == *id && p.action == *action) {
                continue;
            }
            let due_on = day + Duration::days(NOTICE_DAYS);
            q("INSERT INTO gdpr_plan (entity, entity_id, action, reason, due_on, planned_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(entity)
                .bind(id)
                .bind(action)
                .bind(reason)
                .bind(due_on)
                .bind(now())
                .execute(tx)
                .await?;
            audit::record(
                tx,
                self.actor(),
                "gdpr.planned",
                entity,
                Some(*id),
                None,
                Some(json!({"action": action, "due_on": due_on, "reason": reason})),
            )
            .await?;
        }
        Ok(dropped)
    }

    /// Carries out what is due by `day` and still called for; the rest waits.
    pub async fn gdpr_run(&self, day: NaiveDate) -> Result<RunOutcome> {
        self.require(super::Act::Admin).await?;
        let mut tx = self.begin_write().await?;
        let dropped = self.replan(&mut tx, day).await?;
        let plan = open_plan(&mut tx).await?;
        let mut out = RunOutcome { dropped, ..RunOutcome::default() };
        for p in plan {
            if p.due_on > day {
                out.waiting += 1;
                continue;
            }
            let mut done = json!({"reason": p.reason});
            match p.action.as_str() {
                "do_not_contact" => {
                    q("UPDATE donors SET do_not_contact = 1 WHERE id = $1").bind(p.entity_id).execute(&mut tx).await?;
                }
                "anonymize" => {
                    let (merged, redacted) = anonymize_donor(&mut tx, p.entity_id).await?;
                    done["redacted_entries"] = json!(redacted);
                    if !merged.is_empty() {
                        done["merged_records"] = json!(merged);
                    }
                }
                _ => done["redacted_entries"] = json!(self.remove_medical(&mut tx, p.entity_id).await?),
            }
            q("UPDATE gdpr_plan SET done_at = $1 WHERE id = $2").bind(now()).bind(p.id).execute(&mut tx).await?;
            // The log says what was done, never the data removed.
            audit::record(
                &mut tx,
                self.actor(),
                &format!("gdpr.{}", p.action),
                &p.entity,
                Some(p.entity_id),
                None,
                Some(done),
            )
            .await?;
            out.done.push(p);
        }
        tx.commit().await?;
        // SQLite zeroes what the run overwrote (`secure_delete`), but the write-ahead log may still
        // hold earlier copies of the pages it changed: they are copied back and the log emptied,
        // after every run, so one that could not be emptied (another connection was still reading
        // an older state) is emptied by the next.
        // It waits two seconds at most for a reader to finish, not the usual thirty.
        if !self.is_postgres() {
            let mut conn = self.pool()?.acquire().await?;
            sqlx::query("PRAGMA busy_timeout = 2000").execute(&mut *conn).await?;
            let emptied =
                sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *conn).await;
            sqlx::query("PRAGMA busy_timeout = 30000").execute(&mut *conn).await?;
            out.log_emptied = Some(emptied?.0 == 0);
        }
        Ok(out)
    }

    /// Removes a case's medical data, from its audit entries too; how many entries were redacted.
    async fn remove_medical(&self, tx: &mut Tx, case: i64) -> Result<usize> {
        q("UPDATE cases SET diagnosis = '', lay_diagnosis = NULL, notes = '', medical_removed_at = $1 WHERE id = $2")
            .bind(now())
            .bind(case)
            .execute(tx)
            .await?;
        q("UPDATE qualifications SET diagnosis = '', treatment = '' WHERE case_id = $1").bind(case).execute(tx).await?;
        let papers: Vec<(i64, String)> =
            q("SELECT id, sha256 FROM documents WHERE case_id = $1 AND kind = 'medical_report' AND sha256 <> ''")
                .bind(case)
                .fetch_all(tx)
                .await?;
        for (doc, sha) in papers {
            q("UPDATE documents SET file_name = '(removed under the retention rules)', sha256 = '' WHERE id = $1")
                .bind(doc)
                .execute(tx)
                .await?;
            let others: i64 = q("SELECT COUNT(*) FROM documents WHERE sha256 = $1").bind(&sha).scalar(tx).await?;
            if others == 0 {
                let path = self.documents_dir().join(&sha[..2.min(sha.len())]).join(&sha);
                // The file goes with the transaction's commit at the latest; a crash in between leaves only an unreferenced file.
                let _ = std::fs::remove_file(path);
            }
        }
        // Why the case moved ("rejected: the diagnosis is not confirmed"), why money was placed on
        // it or taken back ("for her second course of chemotherapy"), what a hand-over said of it.
        for sql in [
            "UPDATE stage_changes SET reason = {marker} WHERE case_id = $1 AND reason <> {marker}",
            "UPDATE allocations SET reason = {marker} WHERE case_id = $1 AND reason <> {marker}",
            "UPDATE reversals SET reason = {marker} WHERE reason <> {marker}
             AND allocation_id IN (SELECT id FROM allocations WHERE case_id = $1)",
        ] {
            q(sql.replace("{marker}", &format!("'{REMOVED}'"))).bind(case).execute(tx).await?;
        }
        let cut = format!(" handed you case {case}: ");
        let handed: Vec<(i64, String)> =
            q("SELECT id, text FROM notices WHERE case_id = $1 AND kind = 'assigned'").bind(case).fetch_all(tx).await?;
        for (id, text) in handed {
            let Some(at) = text.find(&cut) else { continue };
            let text = format!("{}{REMOVED}", &text[..at + cut.len()]);
            q("UPDATE notices SET text = $1 WHERE id = $2").bind(text).bind(id).execute(tx).await?;
        }
        let entries: Vec<i64> =
            q("SELECT id FROM audit_log WHERE entity = 'case' AND entity_id = $1").bind(case).scalars(tx).await?;
        // A medical report's file name goes with the paper (its name often says whose and what).
        let mut redacted = audit::redact_entries(tx, &entries, MEDICAL_FIELDS, &[], |action, v| {
            let medical = action == "case.attach" && v.get("kind").and_then(|k| k.as_str()) == Some("medical_report");
            (medical && audit::redact(v, &["file", "sha256"], &[])) | typed_reason(action, v)
        })
        .await?;
        // The placings' and reversals' entries: a placing's reason where one of its lines went to the case.
        let money: Vec<i64> = q("SELECT id FROM audit_log WHERE entity = 'allocation' AND action = 'reverse'
               AND entity_id IN (SELECT id FROM allocations WHERE case_id = $1)
             UNION SELECT id FROM audit_log WHERE entity = 'donation' AND action = 'allocate'
               AND entity_id IN (SELECT donation_id FROM allocations WHERE case_id = $1)")
        .bind(case)
        .scalars(tx)
        .await?;
        redacted += audit::redact_entries(tx, &money, &[], &[], |action, v| {
            let lines = v.get("lines").and_then(|l| l.as_array());
            let here = lines.is_some_and(|l| l.iter().any(|x| x.get("case").and_then(|c| c.as_i64()) == Some(case)));
            (action == "reverse" || here) && audit::redact(v, &["reason"], &[])
        })
        .await?;
        Ok(redacted)
    }
}

pub(super) async fn open_plan(conn: &mut impl Exec) -> Result<Vec<Planned>> {
    let rows: Vec<(i64, String, i64, String, String, String, NaiveDate)> = q(
        "SELECT p.id, p.entity, p.entity_id,
                COALESCE(CASE p.entity WHEN 'donor' THEN (SELECT name FROM donors WHERE id = p.entity_id)
                    ELSE (SELECT b.full_name FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE c.id = p.entity_id) END, ''),
                p.action, p.reason, p.due_on
         FROM gdpr_plan p WHERE p.done_at IS NULL AND p.dropped_at IS NULL ORDER BY p.due_on, p.id",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, entity, entity_id, name, action, reason, due_on)| Planned {
            id,
            entity,
            entity_id,
            name,
            action,
            reason,
            due_on,
        })
        .collect())
}

/// The allocations made of the donations of the donors `{them}`.
const PLACED: &str =
    "SELECT a.id FROM allocations a JOIN donations d ON d.id = a.donation_id WHERE d.donor_id IN ({them})";

/// Removes a donor's personal data, and that of the records merged into
/// them (the same person), from the audit log too; amounts, dates and
/// allocations stay. The merged records and how many entries were redacted.
async fn anonymize_donor(tx: &mut Tx, id: i64) -> Result<(Vec<i64>, usize)> {
    let people: Vec<i64> = q(
        "WITH RECURSIVE one(id) AS (SELECT CAST($1 AS BIGINT) UNION SELECT d.id FROM donors d JOIN one ON d.merged_into = one.id)
         SELECT id FROM one ORDER BY id",
    )
    .bind(id)
    .scalars(tx)
    .await?;
    let pg = tx.is_pg();
    let list = json!(people);
    let them = json_values(pg, 1, "BIGINT");
    q(format!(
        "UPDATE donors SET name = 'anonymized donor ' || id, inn = NULL, email = NULL, phone = NULL, name_key = NULL,
            consent = 0, do_not_contact = 1, anonymized_at = COALESCE(anonymized_at, $2)
         WHERE id IN ({them})"
    ))
    .bind(&list)
    .bind(now())
    .execute(tx)
    .await?;
    for sql in [
        "UPDATE donations SET payer = 'anonymized', purpose = '', subscription = NULL WHERE donor_id IN ({them})",
        "DELETE FROM donor_accounts WHERE donor_id IN ({them})",
        "DELETE FROM donor_subscriptions WHERE donor_id IN ({them})",
        // What a merge moved keeps ids only: the subscriptions' are gone with them.
        "UPDATE donor_merges SET subscriptions = '[]' WHERE from_id IN ({them}) OR into_id IN ({them})",
        // What people typed about them: why their money was placed or taken back (and the
        // reversal's words a case's history took, when it sent the case back to fundraising),
        // why the rules were to pass them by or take them early, why they are not someone else.
        "UPDATE stage_changes SET reason = {marker} WHERE reason <> {marker} AND id IN (
             SELECT s.id FROM stage_changes s JOIN allocations a ON a.case_id = s.case_id
             JOIN reversals r ON r.allocation_id = a.id JOIN donations d ON d.id = a.donation_id
             WHERE d.donor_id IN ({them}) AND s.reason = 'allocation ' || a.id || ' reversed: ' || r.reason)",
        "UPDATE allocations SET reason = {marker} WHERE reason <> {marker} AND id IN ({placed})",
        "UPDATE reversals SET reason = {marker} WHERE reason <> {marker} AND allocation_id IN ({placed})",
        "UPDATE gdpr_overrides SET reason = {marker} WHERE entity = 'donor' AND entity_id IN ({them})",
        "UPDATE donors_kept_apart SET reason = {marker} WHERE reason <> {marker} AND (donor_a IN ({them}) OR donor_b IN ({them}))",
    ] {
        q(sql.replace("{placed}", PLACED).replace("{them}", &them).replace("{marker}", &format!("'{REMOVED}'")))
            .bind(&list)
            .execute(tx)
            .await?;
    }
    // Every entry about them, their donations and what was placed of them, merges into them,
    // and the other side of a decision to keep them apart from someone.
    let field = |key: &str| {
        if pg {
            format!("CAST(COALESCE(after->>'{key}', before->>'{key}') AS BIGINT)")
        } else {
            format!("COALESCE(json_extract(after, '$.{key}'), json_extract(before, '$.{key}'))")
        }
    };
    let (into, other) = (field("into"), field("other"));
    let entries: Vec<i64> = q(format!(
        "SELECT id FROM audit_log WHERE entity = 'donor' AND entity_id IN ({them})
         UNION SELECT a.id FROM audit_log a JOIN donations d ON a.entity = 'donation' AND a.entity_id = d.id
               WHERE d.donor_id IN ({them})
         UNION SELECT id FROM audit_log WHERE entity = 'allocation' AND entity_id IN ({placed})
         UNION SELECT id FROM audit_log WHERE entity = 'donor' AND action IN ('donor.merge', 'donor.unmerge')
               AND {into} IN ({them})
         UNION SELECT id FROM audit_log WHERE entity = 'donor' AND action = 'donor.keep_apart' AND {other} IN ({them})",
        placed = PLACED.replace("{them}", &them),
    ))
    .bind(&list)
    .scalars(tx)
    .await?;
    let mut redacted = audit::redact_entries(tx, &entries, DONOR_FIELDS, DONOR_NUMBERS, typed_reason).await?;
    // The cases their reversals sent back to fundraising: the reversal's words in the stage change.
    let reversed: Vec<(i64, i64)> = q(format!(
        "SELECT a.id, a.case_id FROM allocations a JOIN reversals r ON r.allocation_id = a.id WHERE a.id IN ({placed})",
        placed = PLACED.replace("{them}", &them),
    ))
    .bind(&list)
    .fetch_all(tx)
    .await?;
    let heads: Vec<String> = reversed.iter().map(|(a, _)| format!("allocation {a} reversed: ")).collect();
    let cases = json!(reversed.iter().map(|(_, c)| *c).collect::<Vec<_>>());
    let stage_entries: Vec<i64> = q(format!(
        "SELECT id FROM audit_log WHERE entity = 'case' AND action = 'case.stage' AND entity_id IN ({them})"
    ))
    .bind(&cases)
    .scalars(tx)
    .await?;
    redacted += audit::redact_entries(tx, &stage_entries, &[], &[], |_, v| {
        let theirs = v.get("reason").and_then(|r| r.as_str()).is_some_and(|r| heads.iter().any(|h| r.starts_with(h)));
        theirs && audit::redact(v, &["reason"], &[])
    })
    .await?;
    Ok((people.into_iter().filter(|p| *p != id).collect(), redacted))
}
