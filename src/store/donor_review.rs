//! Likely duplicate donors, found by the engine in `domain::donor_match`,
//! for a person to merge (through `donor_merge`, so donations, allocations
//! and subscriptions follow, and it can be undone) or keep apart. Keeping a
//! pair apart is recorded and audited, and leaves it out of the list.
//!
//! Every live donor's identifying facts are read in two statements and
//! compared in memory, block by block (never all pairs); gifts are counted
//! only for the pairs shown.

use serde::Serialize;
use serde_json::json;

use super::db::{Exec, json_values};
use super::{Store, audit, now, q};
use crate::domain::Money;
use crate::domain::donor_match::{DonorFacts, Likely, likely_pairs};
use crate::error::{Error, Result};

/// id, kind, name key, INN, e-mail, phone.
type FactsRow = (i64, String, Option<String>, Option<String>, Option<String>, Option<String>);
/// id, kind, name, INN, e-mail, phone, consent, do not contact, gifts, total, donors merged in.
type SideRow = (i64, String, String, Option<String>, Option<String>, Option<String>, bool, bool, i64, i64, i64);
/// merged into, name key, INN, e-mail, phone, kind.
type KeepRow = (Option<i64>, Option<String>, Option<String>, Option<String>, Option<String>, String);

/// One donor of a likely pair, as a person compares them.
#[derive(Debug, Clone, Serialize)]
pub struct DonorSide {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub inn: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Agreed to be written to.
    pub consent: bool,
    /// Asked not to be contacted.
    pub do_not_contact: bool,
    /// Donations on record.
    pub gifts: i64,
    /// Their sum in roubles.
    pub total: Money,
    /// Donors merged into this one before: it must be the one merged into.
    pub merged_in: i64,
}

/// Two donors who are likely one, and why.
#[derive(Debug, Clone, Serialize)]
pub struct DonorPair {
    pub a: DonorSide,
    pub b: DonorSide,
    pub reason: String,
}

impl DonorPair {
    /// Which is merged into which: the one with fewer gifts into the other
    /// (the later record on a tie), unless only one already has donors merged into it.
    pub fn direction(&self) -> (i64, i64) {
        let (a, b) = (&self.a, &self.b);
        let keep_a = match (a.merged_in > 0, b.merged_in > 0) {
            (true, false) => true,
            (false, true) => false,
            _ => a.gifts >= b.gifts,
        };
        if keep_a { (b.id, a.id) } else { (a.id, b.id) }
    }

    /// The two as a merge takes them: (the one merged away, the one kept).
    pub fn merged_and_kept(&self) -> (&DonorSide, &DonorSide) {
        if self.direction().0 == self.a.id { (&self.a, &self.b) } else { (&self.b, &self.a) }
    }
}

impl Store {
    /// Likely duplicate donors, strongest first, at most `limit` pairs: not
    /// merged-away or anonymized donors, nor pairs a person kept apart.
    pub async fn donor_duplicates(&self, limit: Option<usize>) -> Result<Vec<DonorPair>> {
        let rows: Vec<FactsRow> = q("SELECT id, kind, name_key, inn, email, phone FROM donors
                 WHERE merged_into IS NULL AND anonymized_at IS NULL ORDER BY id")
        .fetch_all(&mut self.conn().await?)
        .await?;
        let mut donors: Vec<DonorFacts> = rows
            .into_iter()
            .map(|(id, kind, name_key, inn, email, phone)| DonorFacts::new(id, kind, name_key, inn, email, phone))
            .collect();
        // Only accounts more than one live donor paid from can join a pair.
        let shared: Vec<(String, i64)> = q(
            "SELECT a.account, COALESCE(d.merged_into, d.id) AS donor FROM donor_accounts a JOIN donors d ON d.id = a.donor_id
             WHERE a.account IN (SELECT account FROM donor_accounts GROUP BY account HAVING COUNT(*) > 1)",
        )
        .fetch_all(&mut self.conn().await?)
        .await?;
        for (account, donor) in shared {
            if let Ok(i) = donors.binary_search_by_key(&donor, |d| d.id) {
                donors[i].accounts.push(account);
            }
        }
        let kept: Vec<(i64, i64)> = q("SELECT donor_a, donor_b FROM donors_kept_apart WHERE undone_at IS NULL")
            .fetch_all(&mut self.conn().await?)
            .await?;
        let kept: std::collections::HashSet<(i64, i64)> = kept.into_iter().collect();
        let found: Vec<Likely> = likely_pairs(&donors)
            .into_iter()
            .filter(|p| !kept.contains(&(p.a, p.b)))
            .take(limit.unwrap_or(usize::MAX))
            .collect();
        self.donor_pairs(found).await
    }

    /// The two donors of each pair, with their gifts.
    async fn donor_pairs(&self, found: Vec<Likely>) -> Result<Vec<DonorPair>> {
        let mut ids: Vec<i64> = found.iter().flat_map(|p| [p.a, p.b]).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut sides = std::collections::HashMap::new();
        let mut conn = self.conn().await?;
        let list = json_values(conn.is_pg(), 1, "BIGINT");
        for chunk in ids.chunks(500) {
            let rows: Vec<SideRow> = q(format!(
                "SELECT o.id, o.kind, o.name, o.inn, o.email, o.phone, o.consent = 1, o.do_not_contact = 1,
                    (SELECT COUNT(*) FROM donations g WHERE g.donor_id = o.id),
                    (SELECT CAST(COALESCE(SUM(g.amount), 0) AS BIGINT) FROM donations g WHERE g.donor_id = o.id AND g.currency = 'RUB'),
                    (SELECT COUNT(*) FROM donors m WHERE m.merged_into = o.id)
                 FROM donors o WHERE o.id IN ({list})"
            ))
            .bind(json!(chunk))
            .fetch_all(&mut conn)
            .await?;
            for (id, kind, name, inn, email, phone, consent, do_not_contact, gifts, total, merged_in) in rows {
                let total = Money::from_minor(total);
                let side =
                    DonorSide { id, kind, name, inn, email, phone, consent, do_not_contact, gifts, total, merged_in };
                sides.insert(id, side);
            }
        }
        Ok(found
            .into_iter()
            .filter_map(|p| {
                Some(DonorPair { a: sides.get(&p.a)?.clone(), b: sides.get(&p.b)?.clone(), reason: p.reason })
            })
            .collect())
    }

    /// Records that donors `a` and `b` are two people: the finder no longer
    /// offers them. The decision's number, for taking it back.
    pub async fn keep_donors_apart(&self, a: i64, b: i64, reason: Option<&str>) -> Result<i64> {
        self.require(super::Act::Bookkeeping).await?;
        if a == b {
            return Err(Error::invalid(format!("donor {a} is one donor: give two different donors")));
        }
        let (a, b) = (a.min(b), a.max(b));
        let mut tx = self.begin_write().await?;
        let mut facts = Vec::new();
        for id in [a, b] {
            let row: Option<KeepRow> =
                q("SELECT merged_into, name_key, inn, email, phone, kind FROM donors WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut tx)
                    .await?;
            let (merged, name_key, inn, email, phone, kind) =
                row.ok_or(Error::NotFound { what: "donor", id, list: "donor duplicates" })?;
            if let Some(to) = merged {
                return Err(Error::invalid(format!(
                    "donor {id} was merged into donor {to}: decide on donor {to}, or undo that merge first"
                )));
            }
            facts.push(DonorFacts::new(id, kind, name_key, inn, email, phone));
        }
        let already: Option<i64> =
            q("SELECT id FROM donors_kept_apart WHERE donor_a = $1 AND donor_b = $2 AND undone_at IS NULL")
                .bind(a)
                .bind(b)
                .scalar_optional(&mut tx)
                .await?;
        if let Some(id) = already {
            return Err(Error::invalid(format!("donors {a} and {b} are kept apart already (decision {id})")));
        }
        let found = crate::domain::donor_match::judge(&facts[0], &facts[1], 0).map(|(why, _)| why);
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let id: i64 = q(
            "INSERT INTO donors_kept_apart (donor_a, donor_b, reason, found, by_user, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(a)
        .bind(b)
        .bind(reason)
        .bind(&found)
        .bind(self.actor())
        .bind(now())
        .scalar(&mut tx)
        .await?;
        // Under both donors: either one's history shows the decision.
        for (one, other) in [(a, b), (b, a)] {
            audit::record(
                &mut tx,
                self.actor(),
                "donor.keep_apart",
                "donor",
                Some(one),
                None,
                Some(json!({"other": other, "decision": id, "reason": reason, "found": found})),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Takes keep-apart decision `id` back: the pair is offered again. The two donors.
    pub async fn undo_keep_donors_apart(&self, id: i64) -> Result<(i64, i64)> {
        self.require(super::Act::Bookkeeping).await?;
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, i64, Option<String>)> =
            q("SELECT donor_a, donor_b, undone_by FROM donors_kept_apart WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut tx)
                .await?;
        let (a, b, undone) = row.ok_or(Error::NotFound { what: "keep-apart decision", id, list: "audit log" })?;
        if let Some(by) = undone {
            return Err(Error::invalid(format!("keep-apart decision {id} was taken back already by {by}")));
        }
        q("UPDATE donors_kept_apart SET undone_at = $1, undone_by = $2 WHERE id = $3")
            .bind(now())
            .bind(self.actor())
            .bind(id)
            .execute(&mut tx)
            .await?;
        for (one, other) in [(a, b), (b, a)] {
            audit::record(
                &mut tx,
                self.actor(),
                "donor.keep_apart_undo",
                "donor",
                Some(one),
                Some(json!({"other": other, "decision": id})),
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok((a, b))
    }
}
