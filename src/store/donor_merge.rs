//! Merging duplicate donors found later, and taking a merge back. The
//! donations (and with them their allocations and history) and the recurring
//! subscriptions follow the donor they are merged into; the merged donor
//! stays, pointing there, so payments that name it still find the right one.

use serde_json::json;

use super::{Store, audit, now};
use crate::error::{Error, Result};

impl Store {
    /// Merges donor `from` into donor `into`; the merge's number, for undoing it.
    pub async fn merge_donors(&self, from: i64, into: i64) -> Result<i64> {
        self.require(super::Act::Bookkeeping).await?;
        if from == into {
            return Err(Error::invalid(format!("donor {from} cannot be merged into itself")));
        }
        let mut tx = self.begin_write().await?;
        for id in [from, into] {
            let merged: Option<Option<i64>> = sqlx::query_scalar("SELECT merged_into FROM donors WHERE id = ?")
                .bind(id)
                .fetch_optional(tx.lite()?)
                .await?;
            match merged {
                None => return Err(Error::NotFound { what: "donor", id, list: "donor list" }),
                Some(Some(to)) => {
                    return Err(Error::invalid(format!("donor {id} was merged into donor {to} already")));
                }
                Some(None) => {}
            }
        }
        let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM donors WHERE merged_into = ?")
            .bind(from)
            .fetch_one(tx.lite()?)
            .await?;
        if others > 0 {
            return Err(Error::invalid(format!(
                "{others} donor(s) were merged into donor {from}: merge into donor {into} directly, or undo those merges first"
            )));
        }
        let donations: Vec<i64> = sqlx::query_scalar("SELECT id FROM donations WHERE donor_id = ? ORDER BY id")
            .bind(from)
            .fetch_all(tx.lite()?)
            .await?;
        let subscriptions: Vec<String> =
            sqlx::query_scalar("SELECT subscription FROM donor_subscriptions WHERE donor_id = ? ORDER BY subscription")
                .bind(from)
                .fetch_all(tx.lite()?)
                .await?;
        sqlx::query("UPDATE donations SET donor_id = ? WHERE donor_id = ?")
            .bind(into)
            .bind(from)
            .execute(tx.lite()?)
            .await?;
        sqlx::query("UPDATE donor_subscriptions SET donor_id = ? WHERE donor_id = ?")
            .bind(into)
            .bind(from)
            .execute(tx.lite()?)
            .await?;
        sqlx::query("UPDATE donors SET merged_into = ? WHERE id = ?").bind(into).bind(from).execute(tx.lite()?).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO donor_merges (from_id, into_id, donations, subscriptions, by_user, at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(from)
        .bind(into)
        .bind(json!(donations).to_string())
        .bind(json!(subscriptions).to_string())
        .bind(self.actor())
        .bind(now())
        .fetch_one(tx.lite()?)
        .await?;
        audit::record(
            &mut tx,
            self.actor(),
            "donor.merge",
            "donor",
            Some(from),
            None,
            Some(
                json!({"into": into, "merge": id, "donations": donations.len(), "subscriptions": subscriptions.len()}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Takes merge `id` back: its donations and subscriptions return to the donor they came from.
    pub async fn unmerge_donors(&self, id: i64) -> Result<(i64, usize)> {
        self.require(super::Act::Bookkeeping).await?;
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT from_id, into_id, donations, subscriptions, undone_by FROM donor_merges WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(tx.lite()?)
        .await?;
        let (from, into, donations, subscriptions, undone) =
            row.ok_or(Error::NotFound { what: "donor merge", id, list: "audit log" })?;
        if let Some(by) = undone {
            return Err(Error::invalid(format!("merge {id} was undone already by {by}")));
        }
        let donations: Vec<i64> = serde_json::from_str(&donations).unwrap_or_default();
        let subscriptions: Vec<String> = serde_json::from_str(&subscriptions).unwrap_or_default();
        for d in &donations {
            sqlx::query("UPDATE donations SET donor_id = ? WHERE id = ? AND donor_id = ?")
                .bind(from)
                .bind(d)
                .bind(into)
                .execute(tx.lite()?)
                .await?;
        }
        for sub in &subscriptions {
            sqlx::query("UPDATE donor_subscriptions SET donor_id = ? WHERE subscription = ?")
                .bind(from)
                .bind(sub)
                .execute(tx.lite()?)
                .await?;
        }
        sqlx::query("UPDATE donors SET merged_into = NULL WHERE id = ?").bind(from).execute(tx.lite()?).await?;
        sqlx::query("UPDATE donor_merges SET undone_at = ?, undone_by = ? WHERE id = ?")
            .bind(now())
            .bind(self.actor())
            .bind(id)
            .execute(tx.lite()?)
            .await?;
        audit::record(
            &mut tx,
            self.actor(),
            "donor.unmerge",
            "donor",
            Some(from),
            Some(json!({"into": into, "merge": id})),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok((from, donations.len()))
    }
}
