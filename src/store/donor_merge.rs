//! Merging duplicate donors found later, and taking a merge back. The
//! donations (and with them their allocations and history) and the recurring
//! subscriptions follow the donor they are merged into; the merged donor
//! stays, pointing there, so payments that name it still find the right one.
//!
//! The donor kept also takes the ways to reach the person the merged one
//! holds: its e-mail and phone where the kept one has none (or where a person
//! chose them), and its consent to mailings, unless either asked to be left
//! alone or the person's last word on consent was no. What the kept donor
//! held before is in the merge's row and the audit log, so an un-merge puts
//! it back.

use serde_json::{Map, Value, json};

use super::db::{Exec, json_values};
use super::{Store, Tx, audit, now, q};
use crate::error::{Error, Result};

/// email, phone, consent, do not contact, anonymized.
type ReachRow = (Option<String>, Option<String>, bool, bool, bool);

/// How a donor can be reached: what a merge reads of both donors and may change on the one kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Reach {
    email: Option<String>,
    phone: Option<String>,
    consent: bool,
    do_not_contact: bool,
}

impl Reach {
    /// The fields as the merge's row and the audit log name them.
    const FIELDS: [&'static str; 4] = ["email", "phone", "consent", "do_not_contact"];

    fn get(&self, field: &str) -> Value {
        match field {
            "email" => json!(self.email),
            "phone" => json!(self.phone),
            "consent" => json!(self.consent),
            _ => json!(self.do_not_contact),
        }
    }

    fn set(&mut self, field: &str, v: &Value) {
        let text = v.as_str().map(str::to_string);
        match field {
            "email" => self.email = text,
            "phone" => self.phone = text,
            "consent" => self.consent = v.as_bool().unwrap_or(false),
            _ => self.do_not_contact = v.as_bool().unwrap_or(true),
        }
    }

    /// The fields `self` holds differently from `was`: (what they were, what they are).
    fn changes_from(&self, was: &Reach) -> Option<(Value, Value)> {
        let (mut before, mut after) = (Map::new(), Map::new());
        for f in Reach::FIELDS {
            if self.get(f) != was.get(f) {
                before.insert(f.into(), was.get(f));
                after.insert(f.into(), self.get(f));
            }
        }
        (!after.is_empty()).then_some((Value::Object(before), Value::Object(after)))
    }
}

/// A value that says something: not missing, not blank.
fn given(v: &Option<String>) -> Option<&String> {
    v.as_ref().filter(|v| !v.trim().is_empty())
}

/// What the kept donor ends with. Per field, `take`: `Some(true)` the merged
/// donor's value, `Some(false)` its own (even none), `None` its own or, where
/// it has none, the merged donor's. Mailings: consent if either consented,
/// unless either asked to be left alone (which the kept donor then records
/// too) or `withdrawn` (the person's last recorded word on consent was no):
/// a merge never turns a refusal into consent.
fn combine(
    kept: &Reach,
    gone: &Reach,
    take_email: Option<bool>,
    take_phone: Option<bool>,
    withdrawn: bool,
) -> std::result::Result<Reach, &'static str> {
    let pick = |mine: &Option<String>, theirs: &Option<String>, take: Option<bool>, what| match take {
        Some(true) => given(theirs).cloned().map(Some).ok_or(what),
        Some(false) => Ok(mine.clone()),
        None => Ok(if given(mine).is_none() && given(theirs).is_some() { theirs.clone() } else { mine.clone() }),
    };
    let do_not_contact = kept.do_not_contact || gone.do_not_contact;
    Ok(Reach {
        email: pick(&kept.email, &gone.email, take_email, "e-mail")?,
        phone: pick(&kept.phone, &gone.phone, take_phone, "phone")?,
        consent: (kept.consent || gone.consent) && !do_not_contact && !withdrawn,
        do_not_contact,
    })
}

async fn reach(tx: &mut Tx, id: i64) -> Result<(Reach, bool)> {
    let (email, phone, consent, do_not_contact, anonymized): ReachRow =
        q("SELECT email, phone, consent = 1, do_not_contact = 1, anonymized_at IS NOT NULL FROM donors WHERE id = $1")
            .bind(id)
            .fetch_one(tx)
            .await?;
    Ok((Reach { email, phone, consent, do_not_contact }, anonymized))
}

/// Whether the last word on consent recorded for any of `donors` (one person's records) was no.
async fn consent_withdrawn(tx: &mut Tx, donors: &[i64]) -> Result<bool> {
    let list = json_values(tx.is_pg(), 1, "BIGINT");
    let said: Vec<String> = q(format!(
        "SELECT CAST(after AS TEXT) FROM audit_log
         WHERE entity = 'donor' AND action = 'donor.contact' AND after IS NOT NULL AND entity_id IN ({list})
         ORDER BY id DESC"
    ))
    .bind(json!(donors))
    .scalars(tx)
    .await?;
    let last =
        said.iter().filter_map(|t| serde_json::from_str::<Value>(t).ok()).find_map(|v| v.get("consent")?.as_bool());
    Ok(last == Some(false))
}

async fn write_reach(tx: &mut Tx, id: i64, r: &Reach) -> Result<()> {
    q("UPDATE donors SET email = $1, phone = $2, consent = $3, do_not_contact = $4 WHERE id = $5")
        .bind(r.email.clone())
        .bind(r.phone.clone())
        .bind(i64::from(r.consent))
        .bind(i64::from(r.do_not_contact))
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Carries the merged donor's ways to reach the person to the kept one (see [`combine`]);
/// what changed, before and after. An anonymized donor neither gives nor takes any.
async fn take_contacts(
    tx: &mut Tx,
    from: i64,
    into: i64,
    take_email: Option<bool>,
    take_phone: Option<bool>,
) -> Result<Option<(Value, Value)>> {
    let (kept, kept_gone) = reach(tx, into).await?;
    let (gone, gone_gone) = reach(tx, from).await?;
    if kept_gone || gone_gone {
        if take_email == Some(true) || take_phone == Some(true) {
            let who = if kept_gone { into } else { from };
            return Err(Error::invalid(format!("donor {who} was anonymized: no contact data passes between them")));
        }
        return Ok(None);
    }
    let mut person: Vec<i64> = q("SELECT id FROM donors WHERE merged_into = $1").bind(into).scalars(tx).await?;
    person.extend([from, into]);
    let withdrawn = consent_withdrawn(tx, &person).await?;
    let after = combine(&kept, &gone, take_email, take_phone, withdrawn)
        .map_err(|what| Error::invalid(format!("donor {from} has no {what} to take")))?;
    let changes = after.changes_from(&kept);
    if changes.is_some() {
        write_reach(tx, into, &after).await?;
    }
    Ok(changes)
}

impl Store {
    /// Merges donor `from` into donor `into`, the kept donor keeping its own
    /// e-mail and phone and taking the merged one's where it has none; the
    /// merge's number, for undoing it.
    pub async fn merge_donors(&self, from: i64, into: i64) -> Result<i64> {
        self.merge_donors_taking(from, into, None, None).await
    }

    /// Merges donor `from` into donor `into`. `take_email`, `take_phone`:
    /// `Some(true)` the kept donor takes the merged one's, `Some(false)` keeps
    /// its own (even none), `None` keeps its own or takes the merged one's where
    /// it has none. Consent to mailings follows [`combine`]. The merge's number.
    pub async fn merge_donors_taking(
        &self,
        from: i64,
        into: i64,
        take_email: Option<bool>,
        take_phone: Option<bool>,
    ) -> Result<i64> {
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
        let contacts = take_contacts(&mut tx, from, into, take_email, take_phone).await?;
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
        let (before, after) = contacts.clone().unzip();
        let id: i64 = q(
            "INSERT INTO donor_merges (from_id, into_id, donations, subscriptions, by_user, at, into_before, into_after)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(from)
        .bind(into)
        .bind(json!(donations))
        .bind(json!(subscriptions))
        .bind(self.actor())
        .bind(now())
        .bind(before.clone())
        .bind(after.clone())
        .scalar(&mut tx)
        .await?;
        let mut detail =
            json!({"into": into, "merge": id, "donations": donations.len(), "subscriptions": subscriptions.len()});
        if let Some(now_kept) = after {
            detail["kept"] = now_kept;
        }
        audit::record(
            &mut tx,
            self.actor(),
            "donor.merge",
            "donor",
            Some(from),
            before.map(|b| json!({"kept": b})),
            Some(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Takes merge `id` back: its donations and subscriptions return to the
    /// donor they came from, and the kept donor's contact data is as it was
    /// before (each field the merge changed, unless it has changed again since,
    /// or the donor was anonymized).
    pub async fn unmerge_donors(&self, id: i64) -> Result<(i64, usize)> {
        self.require(super::Act::Bookkeeping).await?;
        let mut tx = self.begin_write().await?;
        type MergeRow = (i64, i64, String, String, Option<String>, Option<String>, Option<String>);
        let row: Option<MergeRow> = q("SELECT from_id, into_id, CAST(donations AS TEXT), CAST(subscriptions AS TEXT),
                    undone_by, CAST(into_before AS TEXT), CAST(into_after AS TEXT)
             FROM donor_merges WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut tx)
        .await?;
        let (from, into, donations, subscriptions, undone, into_before, into_after) =
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
        let restored = restore_contacts(&mut tx, into, into_before.as_deref(), into_after.as_deref()).await?;
        q("UPDATE donor_merges SET undone_at = $1, undone_by = $2 WHERE id = $3")
            .bind(now())
            .bind(self.actor())
            .bind(id)
            .execute(&mut tx)
            .await?;
        let mut before = json!({"into": into, "merge": id});
        let after = restored.map(|(was, back)| {
            before["kept"] = was;
            json!({"kept": back})
        });
        audit::record(&mut tx, self.actor(), "donor.unmerge", "donor", Some(from), Some(before), after).await?;
        tx.commit().await?;
        Ok((from, donations.len()))
    }
}

/// Puts back on the kept donor `into` what a merge changed (`before` → `after`,
/// JSON objects by field): each field still as the merge left it. What was
/// put back: (what the fields held, what they hold now).
async fn restore_contacts(
    tx: &mut Tx,
    into: i64,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<Option<(Value, Value)>> {
    let object = |t: Option<&str>| t.and_then(|t| serde_json::from_str::<Map<String, Value>>(t).ok());
    let (Some(before), Some(after)) = (object(before), object(after)) else { return Ok(None) };
    let (now_kept, anonymized) = reach(tx, into).await?;
    if anonymized {
        return Ok(None);
    }
    let mut back = now_kept.clone();
    for (field, was) in &before {
        if Reach::FIELDS.contains(&field.as_str()) && after.get(field) == Some(&now_kept.get(field)) {
            back.set(field, was);
        }
    }
    let changes = back.changes_from(&now_kept);
    if changes.is_some() {
        write_reach(tx, into, &back).await?;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::{Reach, combine};

    fn donor(email: Option<&str>, consent: bool, do_not_contact: bool) -> Reach {
        Reach { email: email.map(Into::into), phone: None, consent, do_not_contact }
    }

    #[test]
    fn the_kept_donor_fills_its_gaps_and_keeps_its_own_unless_told() {
        let kept = donor(None, false, false);
        let gone = donor(Some("a@x.org"), true, false);
        let after = combine(&kept, &gone, None, None, false).unwrap();
        assert_eq!((after.email.as_deref(), after.consent), (Some("a@x.org"), true));
        assert_eq!(combine(&kept, &gone, Some(false), None, false).unwrap().email, None, "kept its gap");
        let kept = donor(Some("b@x.org"), false, false);
        assert_eq!(combine(&kept, &gone, None, None, false).unwrap().email.as_deref(), Some("b@x.org"));
        assert_eq!(combine(&kept, &gone, Some(true), None, false).unwrap().email.as_deref(), Some("a@x.org"));
        assert_eq!(combine(&kept, &gone, None, Some(true), false), Err("phone"), "nothing to take");
        // A blank value is a gap.
        let kept = donor(Some("  "), false, false);
        assert_eq!(combine(&kept, &gone, None, None, false).unwrap().email.as_deref(), Some("a@x.org"));
    }

    #[test]
    fn a_refusal_is_never_turned_into_consent() {
        let yes = donor(None, true, false);
        let alone = donor(None, false, true);
        let after = combine(&alone, &yes, None, None, false).unwrap();
        assert_eq!((after.consent, after.do_not_contact), (false, true));
        let after = combine(&yes, &alone, None, None, false).unwrap();
        assert_eq!((after.consent, after.do_not_contact), (false, true), "left alone whichever is kept");
        let no = donor(None, false, false);
        assert!(!combine(&no, &yes, None, None, true).unwrap().consent, "the last word was no");
        assert!(combine(&no, &yes, None, None, false).unwrap().consent);
    }
}
