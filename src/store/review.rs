//! Children who are likely the same (a typo, another alphabet, a birth date
//! one digit off) wait for a person: merged (the new record's cases move to
//! the earlier one) or kept apart. Every decision is audited and can be undone.

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
    pub candidate_id: i64,
    pub candidate_name: String,
    pub candidate_born: Option<String>,
    pub reason: String,
    pub status: String,
}

/// Queues every earlier child the new record `id` is likely to be; their number.
pub(crate) async fn queue_likely(
    conn: &mut SqliteConnection,
    id: i64,
    name: &str,
    born: Option<&str>,
) -> Result<usize> {
    let others: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT id, full_name, birth_date FROM beneficiaries WHERE id <> ? AND merged_into IS NULL ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
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

type Row = (i64, i64, String, Option<String>, i64, String, Option<String>, String, String);

fn review(
    (id, beneficiary_id, name, born, candidate_id, candidate_name, candidate_born, reason, status): Row,
) -> Review {
    Review { id, beneficiary_id, name, born, candidate_id, candidate_name, candidate_born, reason, status }
}

const LIST: &str = "SELECT r.id, r.beneficiary_id, b.full_name AS name, b.birth_date AS born, r.candidate_id,
        c.full_name AS candidate_name, c.birth_date AS candidate_born, r.reason, r.status
    FROM match_reviews r JOIN beneficiaries b ON b.id = r.beneficiary_id JOIN beneficiaries c ON c.id = r.candidate_id";

impl Store {
    /// Likely matches waiting for a person, oldest first.
    pub async fn reviews(&self) -> Result<Vec<Review>> {
        let sql = format!("{LIST} WHERE r.status = 'open' ORDER BY r.id");
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(review).collect())
    }

    async fn review_in(&self, conn: &mut SqliteConnection, id: i64) -> Result<Review> {
        let sql = format!("{LIST} WHERE r.id = ?");
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?;
        row.map(review).ok_or(Error::NotFound { what: "review", id, list: "review list" })
    }

    /// Decides a review: `merge` moves the new record's cases to the earlier child; otherwise they are kept apart.
    pub async fn decide_review(&self, id: i64, merge: bool) -> Result<Review> {
        let mut tx = self.begin_write().await?;
        let r = self.review_in(&mut tx, id).await?;
        if r.status != "open" {
            return Err(Error::invalid(format!("review {id} is already decided ({}): undo it first", r.status)));
        }
        let moved: Vec<i64> = if merge {
            let moved: Vec<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE beneficiary_id = ? ORDER BY id")
                .bind(r.beneficiary_id)
                .fetch_all(&mut *tx)
                .await?;
            sqlx::query("UPDATE cases SET beneficiary_id = ? WHERE beneficiary_id = ?")
                .bind(r.candidate_id)
                .bind(r.beneficiary_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE beneficiaries SET merged_into = ? WHERE id = ?")
                .bind(r.candidate_id)
                .bind(r.beneficiary_id)
                .execute(&mut *tx)
                .await?;
            moved
        } else {
            Vec::new()
        };
        let status = if merge { "merged" } else { "kept" };
        sqlx::query(
            "UPDATE match_reviews SET status = ?, decided_by = ?, decided_at = ?, moved_cases = ? WHERE id = ?",
        )
        .bind(status)
        .bind(self.actor())
        .bind(now())
        .bind(json!(moved).to_string())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            self.actor(),
            &format!("review.{status}"),
            "review",
            Some(id),
            None,
            Some(json!({"cases": moved})),
        )
        .await?;
        let r = self.review_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Takes a decision back: a merge's cases return to the record they came from.
    pub async fn undo_review(&self, id: i64) -> Result<Review> {
        let mut tx = self.begin_write().await?;
        let r = self.review_in(&mut tx, id).await?;
        if r.status == "open" {
            return Err(Error::invalid(format!("review {id} is not decided yet")));
        }
        if r.status == "merged" {
            let moved: Option<String> = sqlx::query_scalar("SELECT moved_cases FROM match_reviews WHERE id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let moved: Vec<i64> = serde_json::from_str(moved.as_deref().unwrap_or("[]")).unwrap_or_default();
            for case in &moved {
                sqlx::query("UPDATE cases SET beneficiary_id = ? WHERE id = ?")
                    .bind(r.beneficiary_id)
                    .bind(case)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("UPDATE beneficiaries SET merged_into = NULL WHERE id = ?")
                .bind(r.beneficiary_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE match_reviews SET status = 'open', decided_by = NULL, decided_at = NULL, moved_cases = NULL WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
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
