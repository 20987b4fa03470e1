//! The append-only audit log: who, when, what, before and after.

use serde_json::Value;

use super::db::{Arg, Exec, json_values};
use super::{Store, Tx, now, q};
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
    q("INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(now())
        .bind(actor)
        .bind(action)
        .bind(entity)
        .bind(entity_id)
        .bind(before)
        .bind(after)
        .execute(tx)
        .await?;
    Ok(())
}

/// What stands in the log where personal data was. Migration 0019 lets an
/// entry change only by putting exactly this in place of values it held.
pub const REMOVED: &str = "(removed under the personal-data rules)";

/// Puts [`REMOVED`] in place of the value of every key in `fields`, at any
/// depth of `v` (a value that is already the marker, or nothing, is left).
/// Flags and counts are not personal data: only text, numbers in `numbers`
/// (an INN or phone written as a number), lists and objects are removed.
/// Whether anything changed.
pub(crate) fn redact(v: &mut Value, fields: &[&str], numbers: &[&str]) -> bool {
    let mut changed = false;
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                let personal = fields.contains(&k.as_str())
                    && match x {
                        Value::String(s) => s != REMOVED,
                        Value::Array(_) | Value::Object(_) => true,
                        Value::Number(_) => numbers.contains(&k.as_str()),
                        Value::Null | Value::Bool(_) => false,
                    };
                if personal {
                    *x = Value::String(REMOVED.into());
                    changed = true;
                } else {
                    changed |= redact(x, fields, numbers);
                }
            }
        }
        Value::Array(list) => {
            for x in list {
                changed |= redact(x, fields, numbers);
            }
        }
        _ => {}
    }
    changed
}

/// Redacts `fields` in the detail of the entries `ids` (see [`redact`]);
/// `extra` may redact more of an entry, given its action. How many changed.
pub(crate) async fn redact_entries(
    tx: &mut Tx,
    ids: &[i64],
    fields: &[&str],
    numbers: &[&str],
    extra: impl Fn(&str, &mut Value) -> bool,
) -> Result<usize> {
    let mut changed = 0;
    let pg = tx.is_pg();
    let list = json_values(pg, 1, "BIGINT");
    // SQLite keeps the details as text; PostgreSQL as JSONB.
    let detail = |t: Option<String>| -> Arg {
        if pg { Arg::Json(t.and_then(|t| serde_json::from_str(&t).ok())) } else { Arg::Text(t) }
    };
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = q(format!(
            "SELECT id, action, CAST(before AS TEXT), CAST(after AS TEXT) FROM audit_log WHERE id IN ({list})"
        ))
        .bind(serde_json::json!(chunk))
        .fetch_all(tx)
        .await?;
        for (id, action, before, after) in rows {
            let mut touched = false;
            let mut clean = |text: Option<String>| -> Option<String> {
                let text = text?;
                let Ok(mut v) = serde_json::from_str::<Value>(&text) else { return Some(text) };
                let here = redact(&mut v, fields, numbers) | extra(&action, &mut v);
                touched |= here;
                Some(if here { v.to_string() } else { text })
            };
            let (before, after) = (clean(before), clean(after));
            if touched {
                q("UPDATE audit_log SET before = $1, after = $2, redacted = 1 WHERE id = $3")
                    .bind(detail(before))
                    .bind(detail(after))
                    .bind(id)
                    .execute(tx)
                    .await?;
                changed += 1;
            }
        }
    }
    Ok(changed)
}

type AuditRow =
    (i64, chrono::DateTime<chrono::Utc>, String, String, String, Option<i64>, Option<String>, Option<String>);

impl Store {
    /// The newest `limit` audit entries, newest first; optionally for one entity.
    pub async fn audit(&self, limit: i64, entity: Option<(&str, i64)>) -> Result<Vec<AuditEntry>> {
        // The detail is read as text on both engines (JSONB on PostgreSQL).
        let columns =
            "SELECT id, at, actor, action, entity, entity_id, CAST(before AS TEXT), CAST(after AS TEXT) FROM audit_log";
        let query = match entity {
            Some((kind, id)) => q(format!("{columns} WHERE entity = $1 AND entity_id = $2 ORDER BY id DESC LIMIT $3"))
                .bind(kind)
                .bind(id)
                .bind(limit),
            None => q(format!("{columns} ORDER BY id DESC LIMIT $1")).bind(limit),
        };
        let rows: Vec<AuditRow> = query.fetch_all(&mut self.conn().await?).await?;
        let json = |s: Option<String>| s.and_then(|s| serde_json::from_str::<Value>(&s).ok());
        Ok(rows
            .into_iter()
            .map(|(id, at, actor, action, entity, entity_id, before, after)| AuditEntry {
                id,
                at,
                actor,
                action,
                entity,
                entity_id,
                before: json(before),
                after: json(after),
            })
            .collect())
    }
}
