//! Merging duplicate donors found later, and taking a merge back. The
//! donations (and with them their allocations and history) and the recurring
//! subscriptions follow the donor they are merged into; the merged donor
//! stays, pointing there, so payments that name it still find the right one.

use serde_json::json;

use super::{Store, audit, now, q};
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
            let merged: Option<Option<i64>> =
                q("SELECT merged_into FROM donors WHERE id = $1").bind(id).scalar_optional(&mut tx).await?;
            match merged {
                None => return Err(Error::NotFound { what: "donor", id, list: "donor list" }),
                Some(Some(to)) => {
                    return Err(Error::invalid(format!("donor {id} was merged into donor {to} already")));
                }
                Some(None) => {}
            }
        }
        let others: i64 = q("SELECT COUNT(*) FROM donors WHERE merged_into = $1").bind(from).scalar(&mut tx).await?;
        if others > 0 {
            return Err(Error::invalid(format!(
                "{others} donor(s) were merged into donor {from}: merge into donor {into} directly, or undo those merges first"
            )));
        }
        let donations: Vec<i64> =
            q("SELECT id FROM donations WHERE donor_id = $1 ORDER BY id").bind(from).scalars(&mut tx).await?;
        let subscriptions: Vec<String> =
            q("SELECT subscription FROM donor_subscriptions WHERE donor_id = $1 ORDER BY subscription")
                .bind(from)
                .scalars(&mut tx)
                .await?;
        q("UPDATE donations SET donor_id = $1 WHERE donor_id = $2").bind(into).bind(from).execute(&mut tx).await?;
        q("UPDATE donor_subscriptions SET donor_id = $1 WHERE donor_id = $2")
            .bind(into)
            .bind(from)
            .execute(&mut tx)
            .await?;
        q("UPDATE donors SET merged_into = $1 WHERE id = $2").bind(into).bind(from).execute(&mut tx).await?;
        let id: i64 = q(
            "INSERT INTO donor_merges (from_id, into_id, donations, subscriptions, by_user, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(from)
        .bind(into)
        .bind(json!(donations))
        .bind(json!(subscriptions))
        .bind(self.actor())
        .bind(now())
        .scalar(&mut tx)
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
        let row: Option<(i64, i64, String, String, Option<String>)> = q(
            "SELECT from_id, into_id, CAST(donations AS TEXT), CAST(subscriptions AS TEXT), undone_by FROM donor_merges WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut tx)
        .await?;
        let (from, into, donations, subscriptions, undone) =
            row.ok_or(Error::NotFound { what: "donor merge", id, list: "audit log" })?;
        if let Some(by) = undone {
            return Err(Error::invalid(format!("merge {id} was undone already by {by}")));
        }
        let donations: Vec<i64> = serde_json::from_str(&donations).unwrap_or_default();
        let subscriptions: Vec<String> = serde_json::from_str(&subscriptions).unwrap_or_default();
        for d in &donations {
            q("UPDATE donations SET donor_id = $1 WHERE id = $2 AND donor_id = $3")
                .bind(from)
                .bind(d)
                .bind(into)
                .execute(&mut tx)
                .await?;
        }
        for sub in &subscriptions {
            q("UPDATE donor_subscriptions SET donor_id = $1 WHERE subscription = $2")
                .bind(from)
                .bind(sub)
                .execute(&mut tx)
                .await?;
        }
        q("UPDATE donors SET merged_into = NULL WHERE id = $1").bind(from).execute(&mut tx).await?;
        q("UPDATE donor_merges SET undone_at = $1, undone_by = $2 WHERE id = $3")
            .bind(now())
            .bind(self.actor())
            .bind(id)
            .execute(&mut tx)
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
