//! Notices: something happened that concerns a person (a new application, a
//! case of theirs fully funded, an import by someone else, a case handed to
//! them). Written in the same transaction as the change, they wait in the
//! database until the person has seen them, connected or not.

use super::db::Exec;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, now, q};
use crate::domain::Role;
use crate::error::Result;

#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub text: String,
    pub case_id: Option<i64>,
    pub batch_id: Option<i64>,
    pub seen: bool,
}

/// Who a notice is for.
pub enum Audience<'a> {
    Person(&'a str),
    Role(Role),
}

/// Leaves a notice, inside the caller's transaction.
pub(crate) async fn notify(
    conn: &mut impl Exec,
    to: Audience<'_>,
    actor: &str,
    kind: &str,
    text: &str,
    case: Option<i64>,
    batch: Option<i64>,
) -> Result<()> {
    let audience = match to {
        Audience::Person(p) => p.to_string(),
        Audience::Role(r) => format!("role:{r}"),
    };
    if audience == actor {
        return Ok(());
    }
    q("INSERT INTO notices (audience, actor, at, kind, text, case_id, batch_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(audience)
        .bind(actor)
        .bind(now())
        .bind(kind)
        .bind(text)
        .bind(case)
        .bind(batch)
        .execute(conn)
        .await?;
    Ok(())
}

/// Notices meant for `?1` (a person whose role is `?2`, or NULL when the users
/// list does not know them: they hear what every role hears), not of their own doing.
const MINE: &str = "(n.audience = $1 OR n.audience = '*'
        OR (n.audience LIKE 'role:%' AND ($2 IS NULL OR $2 = 'admin' OR n.audience = 'role:' || $2)))
    AND n.actor <> $1";

impl Store {
    /// The most recent notices for `me`, newest first, with whether each was seen.
    pub async fn notices(&self, me: &str, role: Option<Role>, limit: i64) -> Result<Vec<Notice>> {
        let sql = format!(
            "SELECT n.id, n.at, n.actor, n.kind, n.text, n.case_id, n.batch_id,
                    EXISTS (SELECT 1 FROM notice_seen s WHERE s.notice_id = n.id AND s.person = $1) AS seen
             FROM notices n WHERE {MINE} ORDER BY n.id DESC LIMIT $3"
        );
        type Row = (i64, DateTime<Utc>, String, String, String, Option<i64>, Option<i64>, bool);
        let rows: Vec<Row> =
            q(sql).bind(me).bind(role.map(Role::as_str)).bind(limit).fetch_all(&mut self.conn().await?).await?;
        Ok(rows
            .into_iter()
            .map(|(id, at, actor, kind, text, case_id, batch_id, seen)| Notice {
                id,
                at,
                actor,
                kind,
                text,
                case_id,
                batch_id,
                seen,
            })
            .collect())
    }

    /// How many of `me`'s notices wait unseen, and the newest of them.
    pub async fn unseen(&self, me: &str, role: Option<Role>) -> Result<(i64, Option<String>)> {
        let sql = format!(
            "SELECT COUNT(*), (SELECT text FROM notices n WHERE {MINE}
                 AND NOT EXISTS (SELECT 1 FROM notice_seen s WHERE s.notice_id = n.id AND s.person = $1) ORDER BY n.id DESC LIMIT 1)
             FROM notices n WHERE {MINE}
                 AND NOT EXISTS (SELECT 1 FROM notice_seen s WHERE s.notice_id = n.id AND s.person = $1)"
        );
        q(sql).bind(me).bind(role.map(Role::as_str)).fetch_one(&mut self.conn().await?).await
    }

    /// `me` has seen these notices.
    pub async fn mark_seen(&self, me: &str, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for id in ids {
            q("INSERT INTO notice_seen (notice_id, person, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(me)
                .bind(now())
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
