//! Children who are likely the same (a typo, another alphabet, a birth date
//! one digit off) wait for a person: merged (the new record's cases move to
//! the earlier one) or kept apart. Every decision is audited and can be undone.
//!
//! A record can be likely two others (3 like 1 and like 2). Once 3 is merged
//! into 1, its review against 2 no longer applies: it is left out of the list
//! and refused, for as long as 3 stays merged. Undoing the merge makes 3 live
//! again, and with it that review; nothing needs to be stored to retire it.

use serde::Serialize;
use serde_json::json;
use sqlx::SqliteConnection;

use super::{Store, audit, now};
use crate::domain::names::likely_same;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub id: i64,
    pub beneficiary_id: i64,
    pub name: String,
    pub born: Option<String>,
    pub city: Option<String>,
    pub candidate_id: i64,
    pub candidate_name: String,
    pub candidate_born: Option<String>,
    pub candidate_city: Option<String>,
    pub reason: String,
    pub status: String,
}

/// A field of a child's record a merge can take from the new record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    BirthDate,
    City,
}

impl Field {
    pub const ALL: [Field; 3] = [Field::Name, Field::BirthDate, Field::City];

    pub fn word(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::BirthDate => "birth date",
            Field::City => "city",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Field::Name => "full_name",
            Field::BirthDate => "birth_date",
            Field::City => "city",
        }
    }

    /// This field's value on the new record and on the earlier one.
    pub fn values(self, r: &Review) -> (Option<&str>, Option<&str>) {
        match self {
            Field::Name => (Some(r.name.as_str()), Some(r.candidate_name.as_str())),
            Field::BirthDate => (r.born.as_deref(), r.candidate_born.as_deref()),
            Field::City => (r.city.as_deref(), r.candidate_city.as_deref()),
        }
    }
}

impl std::str::FromStr for Field {
    type Err = Error;
    fn from_str(s: &str) -> Result<Field> {
        match s.trim() {
            "name" => Ok(Field::Name),
            "birth_date" | "born" => Ok(Field::BirthDate),
            "city" => Ok(Field::City),
            other => {
                Err(Error::invalid(format!("{other:?} is not a field of a child's record: name, birth_date, city")))
            }
        }
    }
}

/// One case of a record, for the side-by-side view.
#[derive(Debug, Clone, Serialize)]
pub struct RecordCase {
    pub id: i64,
    pub beneficiary_id: i64,
    pub program: String,
    pub stage: String,
    pub clinic: String,
}

/// Queues every earlier child the new record `id` is likely to be; their number.
pub(crate) async fn queue_likely(
    conn: &mut SqliteConnection,
    id: i64,
    name: &str,
    born: Option<&str>,
) -> Result<usize> {
    // Only children who could be likely: born the same day or a digit off, or with no birth date
    // on record; a new record without one is compared with everyone.
    let others: Vec<(i64, String, Option<String>)> = match born {
        Some(b) => {
            let days = serde_json::to_string(&one_digit_off(b)).unwrap_or_default();
            sqlx::query_as(
                "SELECT id, full_name, birth_date FROM beneficiaries
                 WHERE id <> ? AND merged_into IS NULL AND (birth_date IS NULL OR birth_date IN (SELECT value FROM json_each(?)))
                 ORDER BY id",
            )
            .bind(id)
            .bind(days)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT id, full_name, birth_date FROM beneficiaries WHERE id <> ? AND merged_into IS NULL ORDER BY id",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut queued = 0;
    for (other, other_name, other_born) in others {
        if let Some(reason) = likely_same(name, born, &other_name, other_born.as_deref()) {
            sqlx::query(
                "INSERT INTO match_reviews (beneficiary_id, candidate_id, reason, created_at) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(other)
            .bind(reason)
            .bind(now())
            .execute(&mut *conn)
            .await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// `day` and every date written with one of its digits changed.
fn one_digit_off(day: &str) -> Vec<String> {
    let mut out = vec![day.to_string()];
    for (i, c) in day.char_indices().filter(|(_, c)| c.is_ascii_digit()) {
        for d in '0'..='9' {
            if d != c {
                let mut v = day.to_string();
                v.replace_range(i..i + 1, &d.to_string());
                out.push(v);
            }
        }
    }
    out
}

type Row =
    (i64, i64, String, Option<String>, Option<String>, i64, String, Option<String>, Option<String>, String, String);

fn review(
    (
        id,
        beneficiary_id,
        name,
        born,
        city,
        candidate_id,
        candidate_name,
        candidate_born,
        candidate_city,
        reason,
        status,
    ): Row,
) -> Review {
    Review {
        id,
        beneficiary_id,
        name,
        born,
        city,
        candidate_id,
        candidate_name,
        candidate_born,
        candidate_city,
        reason,
        status,
    }
}

const LIST: &str =
    "SELECT r.id, r.beneficiary_id, b.full_name AS name, b.birth_date AS born, b.city AS city, r.candidate_id,
        c.full_name AS candidate_name, c.birth_date AS candidate_born, c.city AS candidate_city, r.reason, r.status
    FROM match_reviews r JOIN beneficiaries b ON b.id = r.beneficiary_id JOIN beneficiaries c ON c.id = r.candidate_id";

/// Refuses a review one of whose records was merged into another child since
/// it was queued: deciding it would move cases off a record that has none, or
/// onto one that no longer stands for a child.
async fn require_live(conn: &mut SqliteConnection, r: &Review) -> Result<()> {
    for record in [r.beneficiary_id, r.candidate_id] {
        let into: Option<i64> = sqlx::query_scalar("SELECT merged_into FROM beneficiaries WHERE id = ?")
            .bind(record)
            .fetch_one(&mut *conn)
            .await?;
        let Some(into) = into else { continue };
        let by: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM match_reviews WHERE beneficiary_id = ? AND status = 'merged' ORDER BY id DESC LIMIT 1",
        )
        .bind(record)
        .fetch_optional(&mut *conn)
        .await?;
        let (by, undo) = match by {
            Some(by) => (format!(" by review {by}"), format!("undo review {by} first to decide this one")),
            None => (String::new(), "nothing is left to decide".to_string()),
        };
        return Err(Error::invalid(format!(
            "review {} no longer applies: record {record} was merged into record {into}{by}; {undo}",
            r.id
        )));
    }
    Ok(())
}

impl Store {
    /// Likely matches waiting for a person, oldest first; not those whose
    /// records were since merged into another child (see the module's doc).
    pub async fn reviews(&self) -> Result<Vec<Review>> {
        let sql =
            format!("{LIST} WHERE r.status = 'open' AND b.merged_into IS NULL AND c.merged_into IS NULL ORDER BY r.id");
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()?).await?;
        Ok(rows.into_iter().map(review).collect())
    }

    async fn review_in(&self, conn: &mut SqliteConnection, id: i64) -> Result<Review> {
        let sql = format!("{LIST} WHERE r.id = ?");
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?;
        row.map(review).ok_or(Error::NotFound { what: "review", id, list: "review list" })
    }

    /// The cases of these children, oldest first, for the side-by-side view.
    pub async fn record_cases(&self, beneficiaries: &[i64]) -> Result<Vec<RecordCase>> {
        let mut out = Vec::new();
        for b in beneficiaries {
            let rows: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
                "SELECT id, beneficiary_id, program, stage, clinic FROM cases WHERE beneficiary_id = ? ORDER BY id",
            )
            .bind(b)
            .fetch_all(self.pool()?)
            .await?;
            out.extend(rows.into_iter().map(|(id, beneficiary_id, program, stage, clinic)| RecordCase {
                id,
                beneficiary_id,
                program,
                stage,
                clinic,
            }));
        }
        Ok(out)
    }

    /// Decides a review: `merge` moves the new record's cases to the earlier child
    /// (taking the fields in `take` from the new record); otherwise they are kept apart.
    pub async fn decide_review(&self, id: i64, merge: bool, take: &[Field]) -> Result<Review> {
        self.require(super::Act::Medical).await?;
        let mut tx = self.begin_write().await?;
        let r = self.review_in(tx.lite()?, id).await?;
        if r.status != "open" {
            return Err(Error::invalid(format!("review {id} is already decided ({}): undo it first", r.status)));
        }
        require_live(tx.lite()?, &r).await?;
        let moved: Vec<i64> = if merge {
            let moved: Vec<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE beneficiary_id = ? ORDER BY id")
                .bind(r.beneficiary_id)
                .fetch_all(tx.lite()?)
                .await?;
            sqlx::query("UPDATE cases SET beneficiary_id = ? WHERE beneficiary_id = ?")
                .bind(r.candidate_id)
                .bind(r.beneficiary_id)
                .execute(tx.lite()?)
                .await?;
            sqlx::query("UPDATE beneficiaries SET merged_into = ? WHERE id = ?")
                .bind(r.candidate_id)
                .bind(r.beneficiary_id)
                .execute(tx.lite()?)
                .await?;
            moved
        } else {
            if !take.is_empty() {
                return Err(Error::invalid("fields are taken only when merging"));
            }
            Vec::new()
        };
        // The earlier record keeps its own fields except those taken; what they replace is kept for undo.
        let mut replaced = serde_json::Map::new();
        for f in take {
            let (new, old) = f.values(&r);
            if new.is_none_or(|n| n.trim().is_empty()) {
                return Err(Error::invalid(format!("the new record has no {} to take", f.word())));
            }
            replaced.insert(f.column().to_string(), json!(old));
            sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE beneficiaries SET {} = ? WHERE id = ?", f.column())))
                .bind(new)
                .bind(r.candidate_id)
                .execute(tx.lite()?)
                .await?;
        }
        let replaced = (!replaced.is_empty()).then_some(serde_json::Value::Object(replaced));
        let status = if merge { "merged" } else { "kept" };
        sqlx::query(
            "UPDATE match_reviews SET status = ?, decided_by = ?, decided_at = ?, moved_cases = ?, replaced = ? WHERE id = ?",
        )
        .bind(status)
        .bind(self.actor())
        .bind(now())
        .bind(json!(moved).to_string())
        .bind(replaced.as_ref().map(|v| v.to_string()))
        .bind(id)
        .execute(tx.lite()?)
        .await?;
        audit::record(
            &mut tx,
            self.actor(),
            &format!("review.{status}"),
            "review",
            Some(id),
            None,
            Some(json!({"cases": moved, "taken_from_new": take, "replaced": replaced})),
        )
        .await?;
        let r = self.review_in(tx.lite()?, id).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Takes a decision back: a merge's cases return to the record they came from.
    /// The record is live again, so the other reviews it was in wait again too.
    pub async fn undo_review(&self, id: i64) -> Result<Review> {
        self.require(super::Act::Medical).await?;
        let mut tx = self.begin_write().await?;
        let r = self.review_in(tx.lite()?, id).await?;
        if r.status == "open" {
            return Err(Error::invalid(format!("review {id} is not decided yet")));
        }
        if r.status == "merged" {
            let moved: Option<String> = sqlx::query_scalar("SELECT moved_cases FROM match_reviews WHERE id = ?")
                .bind(id)
                .fetch_one(tx.lite()?)
                .await?;
            // Only the moved cases still with the earlier child (or with whoever it was merged into
            // since) come back: one an undo of another merge already gave back stays where it is.
            sqlx::query(
                "WITH RECURSIVE chain(id) AS (
                     SELECT ?1 UNION SELECT b.merged_into FROM beneficiaries b JOIN chain ON b.id = chain.id
                     WHERE b.merged_into IS NOT NULL)
                 UPDATE cases SET beneficiary_id = ?2
                 WHERE id IN (SELECT value FROM json_each(?3)) AND beneficiary_id IN (SELECT id FROM chain)",
            )
            .bind(r.candidate_id)
            .bind(r.beneficiary_id)
            .bind(moved.as_deref().unwrap_or("[]"))
            .execute(tx.lite()?)
            .await?;
            sqlx::query("UPDATE beneficiaries SET merged_into = NULL WHERE id = ?")
                .bind(r.beneficiary_id)
                .execute(tx.lite()?)
                .await?;
            let replaced: Option<String> = sqlx::query_scalar("SELECT replaced FROM match_reviews WHERE id = ?")
                .bind(id)
                .fetch_one(tx.lite()?)
                .await?;
            let replaced: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(replaced.as_deref().unwrap_or("{}")).unwrap_or_default();
            for f in Field::ALL {
                if let Some(old) = replaced.get(f.column()) {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE beneficiaries SET {} = ? WHERE id = ?",
                        f.column()
                    )))
                    .bind(old.as_str())
                    .bind(r.candidate_id)
                    .execute(tx.lite()?)
                    .await?;
                }
            }
        }
        sqlx::query("UPDATE match_reviews SET status = 'open', decided_by = NULL, decided_at = NULL, moved_cases = NULL, replaced = NULL WHERE id = ?")
            .bind(id)
            .execute(tx.lite()?)
            .await?;
        audit::record(
            &mut tx,
            self.actor(),
            "review.undo",
            "review",
            Some(id),
            Some(json!({"status": r.status})),
            None,
        )
        .await?;
        let r = self.review_in(tx.lite()?, id).await?;
        tx.commit().await?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_a_digit_off() {
        let v = super::one_digit_off("2015-04-02");
        assert_eq!(v.len(), 1 + 8 * 9);
        assert!(v.contains(&"2015-04-03".to_string()) && v.contains(&"2016-04-02".to_string()));
        assert!(v.contains(&"2015-04-02".to_string()) && !v.contains(&"2015-04-13".to_string()));
    }
}
