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

use super::db::{Arg, Exec, json_values};
use super::{Store, Tx, audit, now, q};
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

    /// A value of this field as the column takes it: a birth date as a day (a DATE on PostgreSQL).
    fn arg(self, value: Option<&str>) -> Arg {
        match (self, value.map(|v| v.parse::<chrono::NaiveDate>())) {
            (Field::BirthDate, Some(Ok(day))) => Arg::Day(Some(day)),
            (Field::BirthDate, None) => Arg::Day(None),
            _ => Arg::Text(value.map(str::to_string)),
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
pub(crate) async fn queue_likely(conn: &mut Tx, id: i64, name: &str, born: Option<&str>) -> Result<usize> {
    // Only children who could be likely: born the same day or a digit off, or with no birth date
    // on record; a new record without one is compared with everyone.
    let others: Vec<(i64, String, Option<String>)> = match born {
        Some(b) => {
            // As text: a digit off is not always a day (2015-04-92).
            let days = json_values(conn.is_pg(), 2, "TEXT");
            q(format!(
                "SELECT id, full_name, CAST(birth_date AS TEXT) FROM beneficiaries
                 WHERE id <> $1 AND merged_into IS NULL AND (birth_date IS NULL OR CAST(birth_date AS TEXT) IN ({days}))
                 ORDER BY id"
            ))
            .bind(id)
            .bind(json!(one_digit_off(b)))
            .fetch_all(conn)
            .await?
        }
        None => {
            q("SELECT id, full_name, CAST(birth_date AS TEXT) FROM beneficiaries WHERE id <> $1 AND merged_into IS NULL ORDER BY id")
            .bind(id)
            .fetch_all(conn)
            .await?
        }
    };
    let mut queued = 0;
    for (other, other_name, other_born) in others {
        if let Some(reason) = likely_same(name, born, &other_name, other_born.as_deref()) {
            q("INSERT INTO match_reviews (beneficiary_id, candidate_id, reason, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(other)
                .bind(reason)
                .bind(now())
                .execute(conn)
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
    "SELECT r.id, r.beneficiary_id, b.full_name AS name, CAST(b.birth_date AS TEXT) AS born, b.city AS city, r.candidate_id,
        c.full_name AS candidate_name, CAST(c.birth_date AS TEXT) AS candidate_born, c.city AS candidate_city, r.reason, r.status
    FROM match_reviews r JOIN beneficiaries b ON b.id = r.beneficiary_id JOIN beneficiaries c ON c.id = r.candidate_id";

/// Refuses a review one of whose records was merged into another child since
/// it was queued: deciding it would move cases off a record that has none, or
/// onto one that no longer stands for a child.
async fn require_live(conn: &mut Tx, r: &Review) -> Result<()> {
    for record in [r.beneficiary_id, r.candidate_id] {
        let into: Option<i64> =
            q("SELECT merged_into FROM beneficiaries WHERE id = $1").bind(record).scalar(conn).await?;
        let Some(into) = into else { continue };
        let by: Option<i64> =
            q("SELECT id FROM match_reviews WHERE beneficiary_id = $1 AND status = 'merged' ORDER BY id DESC LIMIT 1")
                .bind(record)
                .scalar_optional(conn)
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
        let rows: Vec<Row> = q(sql).fetch_all(&mut self.conn().await?).await?;
        Ok(rows.into_iter().map(review).collect())
    }

    async fn review_in(&self, conn: &mut Tx, id: i64) -> Result<Review> {
        let sql = format!("{LIST} WHERE r.id = $1");
        let row: Option<Row> = q(sql).bind(id).fetch_optional(conn).await?;
        row.map(review).ok_or(Error::NotFound { what: "review", id, list: "review list" })
    }

    /// The cases of these children, oldest first, for the side-by-side view.
    pub async fn record_cases(&self, beneficiaries: &[i64]) -> Result<Vec<RecordCase>> {
        let mut out = Vec::new();
        for b in beneficiaries {
            let rows: Vec<(i64, i64, String, String, String)> =
                q("SELECT id, beneficiary_id, program, stage, clinic FROM cases WHERE beneficiary_id = $1 ORDER BY id")
                    .bind(b)
                    .fetch_all(&mut self.conn().await?)
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
        let r = self.review_in(&mut tx, id).await?;
        if r.status != "open" {
            return Err(Error::invalid(format!("review {id} is already decided ({}): undo it first", r.status)));
        }
        require_live(&mut tx, &r).await?;
        let moved: Vec<i64> = if merge {
            let moved: Vec<i64> = q("SELECT id FROM cases WHERE beneficiary_id = $1 ORDER BY id")
                .bind(r.beneficiary_id)
                .scalars(&mut tx)
                .await?;
            q("UPDATE cases SET beneficiary_id = $1 WHERE beneficiary_id = $2")
                .bind(r.candidate_id)
                .bind(r.beneficiary_id)
                .execute(&mut tx)
                .await?;
            q("UPDATE beneficiaries SET merged_into = $1 WHERE id = $2")
                .bind(r.candidate_id)
                .bind(r.beneficiary_id)
                .execute(&mut tx)
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
            q(format!("UPDATE beneficiaries SET {} = $1 WHERE id = $2", f.column()))
                .bind(f.arg(new))
                .bind(r.candidate_id)
                .execute(&mut tx)
                .await?;
        }
        let replaced = (!replaced.is_empty()).then_some(serde_json::Value::Object(replaced));
        let status = if merge { "merged" } else { "kept" };
        q(
            "UPDATE match_reviews SET status = $1, decided_by = $2, decided_at = $3, moved_cases = $4, replaced = $5 WHERE id = $6",
        )
        .bind(status)
        .bind(self.actor())
        .bind(now())
        .bind(json!(moved))
        .bind(replaced.clone())
        .bind(id)
        .execute(&mut tx)
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
        let r = self.review_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Takes a decision back: a merge's cases return to the record they came from.
    /// The record is live again, so the other reviews it was in wait again too.
    pub async fn undo_review(&self, id: i64) -> Result<Review> {
        self.require(super::Act::Medical).await?;
        let mut tx = self.begin_write().await?;
        let r = self.review_in(&mut tx, id).await?;
        if r.status == "open" {
            return Err(Error::invalid(format!("review {id} is not decided yet")));
        }
        if r.status == "merged" {
            let moved: Option<String> =
                q("SELECT CAST(moved_cases AS TEXT) FROM match_reviews WHERE id = $1").bind(id).scalar(&mut tx).await?;
            // Only the moved cases still with the earlier child (or with whoever it was merged into
            // since) come back: one an undo of another merge already gave back stays where it is.
            let moved: serde_json::Value = serde_json::from_str(moved.as_deref().unwrap_or("[]")).unwrap_or(json!([]));
            q(format!(
                "WITH RECURSIVE chain(id) AS (
                     SELECT CAST($1 AS BIGINT) UNION SELECT b.merged_into FROM beneficiaries b JOIN chain ON b.id = chain.id
                     WHERE b.merged_into IS NOT NULL)
                 UPDATE cases SET beneficiary_id = $2
                 WHERE id IN ({}) AND beneficiary_id IN (SELECT id FROM chain)",
                json_values(tx.is_pg(), 3, "BIGINT")
            ))
            .bind(r.candidate_id)
            .bind(r.beneficiary_id)
            .bind(moved)
            .execute(&mut tx)
            .await?;
            q("UPDATE beneficiaries SET merged_into = NULL WHERE id = $1")
                .bind(r.beneficiary_id)
                .execute(&mut tx)
                .await?;
            let replaced: Option<String> =
                q("SELECT CAST(replaced AS TEXT) FROM match_reviews WHERE id = $1").bind(id).scalar(&mut tx).await?;
            let replaced: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(replaced.as_deref().unwrap_or("{}")).unwrap_or_default();
            for f in Field::ALL {
                if let Some(old) = replaced.get(f.column()) {
                    q(format!("UPDATE beneficiaries SET {} = $1 WHERE id = $2", f.column()))
                        .bind(f.arg(old.as_str()))
                        .bind(r.candidate_id)
                        .execute(&mut tx)
                        .await?;
                }
            }
        }
        q("UPDATE match_reviews SET status = 'open', decided_by = NULL, decided_at = NULL, moved_cases = NULL, replaced = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut tx)
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
        let r = self.review_in(&mut tx, id).await?;
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
