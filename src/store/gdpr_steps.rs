//! A person's decisions on the personal-data rules (see [`super::gdpr`]): hold
//! someone back, bring a donor in on request, take a hold back; and the open
//! plan as it stands, for the console's screen, read without planning anew.

use serde_json::json;

use super::gdpr::{Planned, open_plan};
use super::{Store, Tx, audit, now, q};
use crate::error::{Error, Result};

impl Store {
    /// A person's decision: keep `entity` out of the rules, or (`include`) bring a donor in now.
    pub async fn gdpr_override(&self, entity: &str, id: i64, include: bool, reason: &str) -> Result<()> {
        self.require(super::Act::Admin).await?;
        if !matches!(entity, "donor" | "beneficiary") {
            return Err(Error::invalid(format!("{entity:?}: overrides are for a donor or a beneficiary")));
        }
        if include && entity != "donor" {
            return Err(Error::invalid("only a donor's personal data is removed on request"));
        }
        let mut tx = self.begin_write().await?;
        self.put_override(&mut tx, entity, id, include, reason).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the decision inside `tx`, naming in the log the one it replaces.
    async fn put_override(&self, tx: &mut Tx, entity: &str, id: i64, include: bool, reason: &str) -> Result<()> {
        if reason.trim().is_empty() {
            return Err(Error::invalid("give the reason"));
        }
        let table = if entity == "donor" { "donors" } else { "beneficiaries" };
        let exists: Option<i64> =
            q(format!("SELECT id FROM {table} WHERE id = $1")).bind(id).scalar_optional(tx).await?;
        exists.ok_or(Error::NotFound {
            what: if entity == "donor" { "donor" } else { "beneficiary" },
            id,
            list: "gdpr plan",
        })?;
        let kind = if include { "include" } else { "exclude" };
        // A decision this one replaces is named in the log.
        let earlier: Option<String> = q("SELECT kind FROM gdpr_overrides WHERE entity = $1 AND entity_id = $2")
            .bind(entity)
            .bind(id)
            .scalar_optional(tx)
            .await?;
        q(
            "INSERT INTO gdpr_overrides (entity, entity_id, kind, reason, by_user, at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (entity, entity_id) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, by_user = excluded.by_user, at = excluded.at",
        )
        .bind(entity)
        .bind(id)
        .bind(kind)
        .bind(reason.trim())
        .bind(self.actor())
        .bind(now())
        .execute(tx)
        .await?;
        audit::record(
            tx,
            self.actor(),
            &format!("gdpr.{kind}"),
            entity,
            Some(id),
            earlier.map(|k| json!({"kind": k})),
            Some(json!({"reason": reason.trim()})),
        )
        .await?;
        Ok(())
    }

    /// The open plan as it stands, soonest first (planning anew is [`Store::gdpr_plan`]).
    /// For admins; asking is not logged as a refusal, as a screen asks again on every refresh.
    pub async fn gdpr_open_plan(&self) -> Result<Vec<Planned>> {
        if !self.may(super::Act::Admin).await? {
            return Err(Error::invalid("the personal-data plan is for admins: it names who the rules will affect"));
        }
        open_plan(&mut self.conn().await?).await
    }

    /// Holds back whoever step `step` of the open plan is about, with `reason`: the donor, or
    /// the child whose case it is. Who was held back (`donor` or `beneficiary`, and the id).
    /// The step goes when the plan is next brought up to date. Refused where a decision is on
    /// record already (a donor's own request is never set aside from here), and for a record
    /// merged into a donor already anonymized (the same person: it follows them).
    pub async fn gdpr_hold_back(&self, step: i64, reason: &str) -> Result<(String, i64)> {
        self.require(super::Act::Admin).await?;
        // Read and written in one transaction: a decision recorded meanwhile by another admin
        // is seen and refused, never silently replaced.
        let mut tx = self.begin_write().await?;
        type Step = (String, i64, Option<String>, Option<String>, Option<i64>);
        let row: Option<Step> = q("SELECT p.entity, COALESCE(c.beneficiary_id, p.entity_id), o.kind, o.by_user, x.id
             FROM gdpr_plan p
             LEFT JOIN cases c ON p.entity = 'case' AND c.id = p.entity_id
             LEFT JOIN gdpr_overrides o ON o.entity = CASE p.entity WHEN 'donor' THEN 'donor' ELSE 'beneficiary' END
                  AND o.entity_id = COALESCE(c.beneficiary_id, p.entity_id)
             LEFT JOIN donors w ON p.entity = 'donor' AND w.id = p.entity_id
             LEFT JOIN donors x ON x.id = w.merged_into AND x.anonymized_at IS NOT NULL
             WHERE p.id = $1 AND p.done_at IS NULL AND p.dropped_at IS NULL")
        .bind(step)
        .fetch_optional(&mut tx)
        .await?;
        let (entity, id, kind, by, merged) =
            row.ok_or(Error::NotFound { what: "open step of the personal-data plan", id: step, list: "gdpr plan" })?;
        let entity = if entity == "donor" { "donor" } else { "beneficiary" };
        let by = by.unwrap_or_default();
        match (kind.as_deref(), merged) {
            (Some("include"), _) => Err(Error::invalid(format!(
                "donor {id} asked to have their personal data removed (recorded by {by}): a request is not set aside \
                 from here; `almoner gdpr exclude donor {id} --reason …` does it, if that is what is meant"
            ))),
            (Some(_), _) => Err(Error::invalid(format!(
                "{entity} {id} is held back already (by {by}): `p` brings the plan up to date"
            ))),
            (None, Some(into)) => Err(Error::invalid(format!(
                "donor {id} is merged into donor {into}, whose personal data was removed: the same person, \
                 so the record follows and cannot be held back"
            ))),
            (None, None) => {
                self.put_override(&mut tx, entity, id, false, reason).await?;
                tx.commit().await?;
                Ok((entity.to_string(), id))
            }
        }
    }

    /// Takes back a person's decision on `entity` `id` (held back, or brought in early): the
    /// rules alone decide again. With `held`, only this person's hold-back with that reason
    /// (an undo): refused if someone has put another decision in its place since.
    pub async fn gdpr_forget_override(&self, entity: &str, id: i64, held: Option<&str>) -> Result<()> {
        self.require(super::Act::Admin).await?;
        let mut tx = self.begin_write().await?;
        let sql = "DELETE FROM gdpr_overrides WHERE entity = $1 AND entity_id = $2";
        let kind: Option<String> = match held {
            None => q(format!("{sql} RETURNING kind")).bind(entity).bind(id).scalar_optional(&mut tx).await?,
            Some(reason) => {
                q(format!("{sql} AND kind = 'exclude' AND by_user = $3 AND reason = $4 RETURNING kind"))
                    .bind(entity)
                    .bind(id)
                    .bind(self.actor())
                    .bind(reason.trim())
                    .scalar_optional(&mut tx)
                    .await?
            }
        };
        let kind = kind.ok_or_else(|| match held {
            None => Error::invalid(format!("{entity} {id}: no decision on the personal-data rules to take back")),
            Some(_) => Error::invalid(format!(
                "{entity} {id}: the hold-back made here was replaced by another decision since: nothing taken back"
            )),
        })?;
        audit::record(&mut tx, self.actor(), "gdpr.forget", entity, Some(id), Some(json!({"kind": kind})), None)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
