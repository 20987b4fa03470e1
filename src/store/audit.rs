//! The append-only audit log: who, when, what, before and after.

use serde_json::Value;
use sqlx::Row;

use super::{Store, Tx, now};
use crate::domain::AuditEntry;
use crate::error::Result;

pub(crate) async fn record(
    tx: &mut Tx,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(now())
    .bind(actor)
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The newest `limit` audit entries, newest first; optionally for one entity.
    pub async fn audit(&self, limit: i64, entity: Option<(&str, i64)>) -> Result<Vec<AuditEntry>> {
        let rows = match entity {
            Some((kind, id)) => {
                sqlx::query("SELECT * FROM audit_log WHERE entity = ? AND entity_id = ? ORDER BY id DESC LIMIT ?")
                    .bind(kind)
                    .bind(id)
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?")
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                let json = |col: &str| -> Result<Option<Value>> {
                    let s: Option<String> = r.try_get(col)?;
                    Ok(s.and_then(|s| serde_json::from_str(&s).ok()))
                };
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    entity: r.try_get("entity")?,
                    entity_id: r.try_get("entity_id")?,
                    before: json("before")?,
                    after: json("after")?,
                })
            })
            .collect()
    }
}
