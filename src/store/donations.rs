//! Money in and money placed: new donations, allocations, reversals and the
//! automatic placement of designated money.

use super::db::Get;
use chrono::NaiveDate;
use serde_json::json;

use super::cases::{set_stage, stage_of};
use super::{Store, Tx, audit, invariants, now, policy, q, rows};
use crate::domain::allocation::{CaseFacts, DonationFacts, check_allocation, designated_owner};
use crate::domain::split::{self, Need};
use crate::domain::{Channel, Currency, DesignatedPolicy, Designation, DonorKind, Money, Stage};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct NewDonation {
    pub amount: Money,
    pub currency: Currency,
    pub received_on: NaiveDate,
    pub channel: Channel,
    pub payer: String,
    pub donor_kind: DonorKind,
    pub inn: Option<String>,
    pub email: Option<String>,
    pub purpose: String,
    pub designation: Designation,
    pub external_key: Option<String>,
}

/// How to place a donation.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Amounts per case, as typed.
    Lines(Vec<(i64, Money)>),
    /// Split what is unallocated (or `limit`) evenly across these cases.
    Evenly { cases: Vec<i64>, limit: Option<Money> },
    /// Fill fundraising cases oldest first with what is unallocated (or `limit`).
    OldestFirst { limit: Option<Money> },
}

/// Figures the person saw when they planned the allocation. If any differ
/// inside the transaction, someone else got there first.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    pub donation_unallocated: Option<Money>,
    pub case_collected: Vec<(i64, Money)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AllocationOutcome {
    pub donation: i64,
    pub allocation_ids: Vec<i64>,
    pub lines: Vec<(i64, Money)>,
    /// Cases this allocation fully funded: now in payment.
    pub completed: Vec<i64>,
    pub unallocated_after: Money,
}

/// Ids a transaction changed, for the invariant re-check.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    pub donations: Vec<i64>,
    pub cases: Vec<i64>,
}

impl Touched {
    pub fn scope(&self) -> invariants::Scope {
        invariants::Scope::Touched { donations: self.donations.clone(), cases: self.cases.clone() }
    }
}

const DONATION_FACTS_SQL: &str = "SELECT d.id, d.amount, d.allocated, d.currency, d.designation_kind, d.designated_id, d.released,
        CASE d.designation_kind WHEN 'case' THEN (SELECT beneficiary_id FROM cases WHERE id = d.designated_id) END AS designated_beneficiary
 FROM donations d WHERE d.id = $1";

async fn donation_facts(tx: &mut Tx, id: i64) -> Result<DonationFacts> {
    let row = q(DONATION_FACTS_SQL).bind(id).row_optional(tx).await?.ok_or_else(|| Error::donation_not_found(id))?;
    rows::donation_facts(&row)
}

async fn case_facts(tx: &mut Tx, id: i64) -> Result<CaseFacts> {
    let row = q("SELECT id, beneficiary_id, stage, target, collected, currency FROM cases WHERE id = $1")
        .bind(id)
        .row_optional(tx)
        .await?
        .ok_or_else(|| Error::case_not_found(id))?;
    rows::case_facts(&row)
}

/// Fundraising cases in the order oldest-first placement fills them.
async fn fundraising_needs(tx: &mut Tx, beneficiary: Option<i64>, currency: Currency) -> Result<Vec<Need>> {
    // Two statements, so each can use its index (by stage, or by beneficiary).
    let query = match beneficiary {
        None => q(
            "SELECT id, target - collected FROM cases WHERE stage = 'fundraising' AND currency = $1
             ORDER BY fundraising_since, id",
        ),
        Some(_) => q(
            "SELECT id, target - collected FROM cases WHERE beneficiary_id = $1 AND stage = 'fundraising' AND currency = $2
             ORDER BY fundraising_since, id",
        ),
    };
    let query = match beneficiary {
        Some(b) => query.bind(b),
        None => query,
    };
    let rows: Vec<(i64, i64)> = query.bind(currency.as_str()).fetch_all(tx).await?;
    Ok(rows.into_iter().map(|(case_id, need)| Need { case_id, still_needed: Money::from_minor(need) }).collect())
}

/// Checks and writes one allocation inside `tx`: the single path every
/// allocation takes, by hand or automatic.
async fn allocate_in(
    tx: &mut Tx,
    actor: &str,
    donation: &DonationFacts,
    lines: &[(i64, Money)],
    reason: Option<&str>,
    touched: &mut Touched,
) -> Result<(Vec<i64>, Vec<i64>)> {
    let policy = policy(tx).await?;
    let mut facts = Vec::with_capacity(lines.len());
    for (case, amount) in lines {
        facts.push((case_facts(tx, *case).await?, *amount));
    }
    let completed = check_allocation(donation, &facts, policy, reason.is_some())?;
    let at = now();
    let mut ids = Vec::with_capacity(lines.len());
    for (case, amount) in lines {
        let id: i64 = q(
            "INSERT INTO allocations (donation_id, case_id, amount, at, by_user, reason) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(donation.id)
        .bind(case)
        .bind(amount.minor())
        .bind(at)
        .bind(actor)
        .bind(reason)
        .scalar(tx)
        .await?;
        q("UPDATE cases SET collected = collected + $1 WHERE id = $2")
            .bind(amount.minor())
            .bind(case)
            .execute(tx)
            .await?;
        ids.push(id);
        touched.cases.push(*case);
    }
    let total: Money = lines.iter().map(|(_, m)| *m).sum();
    q("UPDATE donations SET allocated = allocated + $1 WHERE id = $2")
        .bind(total.minor())
        .bind(donation.id)
        .execute(tx)
        .await?;
    touched.donations.push(donation.id);
    let mut lines_json = Vec::new();
    for ((case, amount), id) in lines.iter().zip(&ids) {
        lines_json.push(json!({"allocation": id, "case": case, "amount": amount}));
    }
    audit::record(
        tx,
        actor,
        "allocate",
        "donation",
        Some(donation.id),
        Some(json!({"unallocated": donation.unallocated()})),
        Some(json!({"lines": lines_json, "unallocated": donation.unallocated() - total, "reason": reason})),
    )
    .await?;
    for case in &completed {
        set_stage(
            tx,
            actor,
            *case,
            Stage::Fundraising,
            Stage::Payment,
            &format!("fully funded (donation {})", donation.id),
        )
        .await?;
        funded_notices(tx, actor, *case).await?;
    }
    Ok((ids, completed))
}

/// A case is fully funded: its responsible hears, and the bookkeepers, who pay the clinic.
async fn funded_notices(tx: &mut Tx, actor: &str, case: i64) -> Result<()> {
    use super::notices::{Audience, notify};
    let (who, name): (Option<String>, String) = q(
        "SELECT c.responsible, b.full_name FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE c.id = $1",
    )
    .bind(case)
    .fetch_one(tx)
    .await?;
    let text = format!("case {case} ({name}) is fully funded: the invoice is to be paid");
    if let Some(who) = &who {
        notify(tx, Audience::Person(who), actor, "funded", &text, Some(case), None).await?;
    }
    notify(tx, Audience::Role(crate::domain::Role::Bookkeeper), actor, "funded", &text, Some(case), None).await
}

/// Places money designated to `beneficiary` (or to one of their cases) that
/// is still unallocated onto their fundraising cases, oldest donation first.
/// Runs when a case of theirs opens fundraising, under policy `hold`.
pub(crate) async fn place_held(tx: &mut Tx, actor: &str, beneficiary: i64, touched: &mut Touched) -> Result<()> {
    if policy(tx).await? != DesignatedPolicy::Hold {
        return Ok(());
    }
    // Each branch repeats the partial index's condition so SQLite uses it.
    let held: Vec<i64> = q("SELECT id FROM (
             SELECT d.id, d.received_on FROM donations d
             WHERE d.designation_kind <> 'unrestricted' AND d.designation_kind = 'beneficiary' AND d.designated_id = $1
               AND d.allocated < d.amount AND d.released = 0
             UNION ALL
             SELECT d.id, d.received_on FROM cases c JOIN donations d
               ON d.designation_kind <> 'unrestricted' AND d.designation_kind = 'case' AND d.designated_id = c.id
             WHERE c.beneficiary_id = $1 AND d.allocated < d.amount AND d.released = 0) AS held
         ORDER BY received_on, id")
    .bind(beneficiary)
    .scalars(tx)
    .await?;
    for donation in held {
        place_designated(tx, actor, donation, Reach::Beneficiary, touched).await?;
    }
    Ok(())
}

/// How far automatic placement of designated money may go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Only the named case (a beneficiary designation: their fundraising cases).
    Named,
    /// Also the beneficiary's other fundraising cases: money held for the child.
    Beneficiary,
}

/// Allocates a designated donation to its named case — or, with
/// `Reach::Beneficiary` and for beneficiary designations, to the
/// beneficiary's fundraising cases oldest first — up to what they need.
/// Cases in another currency are never considered.
pub(crate) async fn place_designated(
    tx: &mut Tx,
    actor: &str,
    donation: i64,
    reach: Reach,
    touched: &mut Touched,
) -> Result<Vec<i64>> {
    let facts = donation_facts(tx, donation).await?;
    let mut needs = match facts.designation {
        Designation::Unrestricted => return Ok(vec![]),
        Designation::Case(case) => {
            let c = case_facts(tx, case).await?;
            if c.stage == Stage::Fundraising && c.currency == facts.currency {
                vec![Need { case_id: case, still_needed: c.still_needed() }]
            } else {
                vec![]
            }
        }
        Designation::Beneficiary(_) => vec![],
    };
    let wider = reach == Reach::Beneficiary || matches!(facts.designation, Designation::Beneficiary(_));
    if let Some(owner) = designated_owner(&facts).filter(|_| wider) {
        for n in fundraising_needs(tx, Some(owner), facts.currency).await? {
            if !needs.iter().any(|x| x.case_id == n.case_id) {
                needs.push(n);
            }
        }
    }
    let lines = split::oldest_first(facts.unallocated(), &needs);
    if lines.is_empty() {
        return Ok(vec![]);
    }
    let (_, completed) = allocate_in(tx, actor, &facts, &lines, None, touched).await?;
    Ok(completed)
}

impl Store {
    /// Records an incoming donation. A designated one is allocated to its case
    /// (or beneficiary's case) at once, up to what is still needed.
    pub async fn new_donation(&self, new: &NewDonation) -> Result<(i64, Vec<i64>)> {
        self.require(super::Act::Bookkeeping).await?;
        if !new.amount.is_positive() {
            return Err(Error::invalid("a donation's amount must be more than 0"));
        }
        if new.payer.trim().is_empty() {
            return Err(Error::invalid("the payer is empty: give the donor's name"));
        }
        let mut tx = self.begin_write().await?;
        match new.designation {
            Designation::Case(id) => {
                stage_of(&mut tx, id).await?;
                // A gift goes only to a case in its own currency: refused when it is designated.
                let raises: String = q("SELECT currency FROM cases WHERE id = $1").bind(id).scalar(&mut tx).await?;
                if raises != new.currency.as_str() {
                    return Err(Error::invalid(format!(
                        "a gift in {} cannot be designated to case {id}, which raises {raises}: keep it unrestricted, or choose a case in {}",
                        new.currency, new.currency
                    )));
                }
            }
            Designation::Beneficiary(id) => {
                let found: Option<i64> =
                    q("SELECT id FROM beneficiaries WHERE id = $1").bind(id).scalar_optional(&mut tx).await?;
                found.ok_or(Error::NotFound { what: "beneficiary", id, list: "case list" })?;
            }
            Designation::Unrestricted => {}
        }
        let donor = find_or_add_donor(&mut tx, new).await?;
        let (kind, designated) = match new.designation {
            Designation::Unrestricted => ("unrestricted", None),
            Designation::Case(id) => ("case", Some(id)),
            Designation::Beneficiary(id) => ("beneficiary", Some(id)),
        };
        let id: i64 = q(
            "INSERT INTO donations (amount, currency, designation_kind, designated_id, received_on, channel, payer, donor_id, purpose, external_key, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(new.amount.minor())
        .bind(new.currency.as_str())
        .bind(kind)
        .bind(designated)
        .bind(new.received_on)
        .bind(new.channel.as_str())
        .bind(new.payer.trim())
        .bind(donor)
        .bind(new.purpose.trim())
        .bind(&new.external_key)
        .bind(now())
        .scalar(&mut tx)
        .await
        .map_err(|e| match &e {
            Error::Db(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                Error::invalid(format!(
                    "a donation with external key {} is already recorded",
                    new.external_key.as_deref().unwrap_or("")
                ))
            }
            _ => e,
        })?;
        audit::record(
            &mut tx,
            &self.actor,
            "donation.new",
            "donation",
            Some(id),
            None,
            Some(json!({"amount": new.amount, "payer": new.payer, "designation": new.designation, "channel": new.channel})),
        )
        .await?;
        let mut touched = Touched { donations: vec![id], cases: vec![] };
        let completed = place_designated(&mut tx, &self.actor, id, Reach::Named, &mut touched).await?;
        invariants::ensure(&mut tx, &touched.scope()).await?;
        tx.commit().await?;
        Ok((id, completed))
    }

    /// Allocates one donation by `plan`, all in one transaction.
    pub async fn allocate(
        &self,
        donation: i64,
        plan: &Plan,
        reason: Option<&str>,
        expect: Option<&Expectation>,
    ) -> Result<AllocationOutcome> {
        self.require(super::Act::Fundraising).await?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let mut tx = self.begin_write().await?;
        let facts = donation_facts(&mut tx, donation).await?;
        if let Some(expect) = expect {
            check_expectation(&mut tx, &facts, expect).await?;
        }
        let available = |limit: &Option<Money>| limit.map_or(facts.unallocated(), |l| l.min(facts.unallocated()));
        let lines = match plan {
            Plan::Lines(lines) => lines.clone(),
            Plan::Evenly { cases, limit } => {
                let mut needs = Vec::new();
                for case in cases {
                    let c = case_facts(&mut tx, *case).await?;
                    if c.stage != Stage::Fundraising {
                        return Err(crate::domain::allocation::AllocationRefusal::NotFundraising {
                            case: c.id,
                            stage: c.stage,
                        }
                        .into());
                    }
                    needs.push(Need { case_id: c.id, still_needed: c.still_needed() });
                }
                split::split_evenly(available(limit), &needs)
            }
            Plan::OldestFirst { limit } => {
                let policy = policy(&mut tx).await?;
                let restrict = designated_owner(&facts).filter(|_| policy == DesignatedPolicy::Hold && !facts.released);
                let needs = fundraising_needs(&mut tx, restrict, facts.currency).await?;
                split::oldest_first(available(limit), &needs)
            }
        };
        if lines.is_empty() && !matches!(plan, Plan::Lines(_)) {
            return Err(Error::invalid(if facts.unallocated().is_zero() {
                format!("donation {donation} is fully allocated: nothing to place")
            } else {
                format!("no chosen fundraising case needs money: donation {donation} keeps its {}", facts.unallocated())
            }));
        }
        let mut touched = Touched::default();
        let (ids, completed) = allocate_in(&mut tx, &self.actor, &facts, &lines, reason, &mut touched).await?;
        invariants::ensure(&mut tx, &touched.scope()).await?;
        let after = donation_facts(&mut tx, donation).await?.unallocated();
        tx.commit().await?;
        Ok(AllocationOutcome { donation, allocation_ids: ids, lines, completed, unallocated_after: after })
    }

    /// Places a designated donation on its case (or its beneficiary's
    /// fundraising cases) up to what they need; returns the cases it completed.
    pub async fn place_designated(&self, donation: i64) -> Result<Vec<i64>> {
        self.require(super::Act::Fundraising).await?;
        let mut tx = self.begin_write().await?;
        let facts = donation_facts(&mut tx, donation).await?;
        if !facts.designation.is_designated() {
            return Err(Error::invalid(format!("donation {donation} is unrestricted: place it with the split screen")));
        }
        if facts.unallocated().is_zero() {
            return Err(Error::invalid(format!("donation {donation} is fully allocated already")));
        }
        let mut touched = Touched::default();
        let policy = policy(&mut tx).await?;
        let reach = if policy == DesignatedPolicy::Hold { Reach::Beneficiary } else { Reach::Named };
        let completed = place_designated(&mut tx, &self.actor, donation, reach, &mut touched).await?;
        if touched.donations.is_empty() {
            let what_next = match policy {
                DesignatedPolicy::Hold => "it waits for the beneficiary's next case to open fundraising",
                DesignatedPolicy::Redistribute => "release it (donation release) to place it elsewhere",
            };
            return Err(Error::invalid(format!(
                "donation {donation} ({}) has no case in fundraising to go to: {what_next}",
                facts.designation
            )));
        }
        invariants::ensure(&mut tx, &touched.scope()).await?;
        tx.commit().await?;
        Ok(completed)
    }

    /// Cancels one allocation with a reversing entry. A case in payment that
    /// drops below target goes back to fundraising.
    pub async fn reverse(&self, allocation: i64, reason: &str) -> Result<()> {
        self.require(super::Act::Admin).await?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid("a reversal needs a reason (--reason)"));
        }
        let mut tx = self.begin_write().await?;
        let row = q("SELECT a.donation_id, a.case_id, a.amount, r.at AS reversed_at, r.by_user AS reversed_by
             FROM allocations a LEFT JOIN reversals r ON r.allocation_id = a.id WHERE a.id = $1")
        .bind(allocation)
        .row_optional(&mut tx)
        .await?
        .ok_or(Error::NotFound { what: "allocation", id: allocation, list: "donation show ID" })?;
        let (donation, case, amount): (i64, i64, i64) =
            (row.get("donation_id")?, row.get("case_id")?, row.get("amount")?);
        if let Some(by) = row.get::<Option<String>>("reversed_by")? {
            let at: chrono::DateTime<chrono::Utc> = row.get("reversed_at")?;
            let at = at.format("%Y-%m-%d %H:%M:%S UTC");
            return Err(Error::invalid(format!("allocation {allocation} was already reversed by {by} at {at}")));
        }
        let (stage, _) = stage_of(&mut tx, case).await?;
        if !matches!(stage, Stage::Fundraising | Stage::Payment | Stage::OnHold) {
            return Err(Error::invalid(format!(
                "case {case} is {stage}: its money has gone to the clinic, so allocation {allocation} cannot be reversed"
            )));
        }
        q("INSERT INTO reversals (allocation_id, at, by_user, reason) VALUES ($1, $2, $3, $4)")
            .bind(allocation)
            .bind(now())
            .bind(&self.actor)
            .bind(reason)
            .execute(&mut tx)
            .await?;
        q("UPDATE cases SET collected = collected - $1 WHERE id = $2").bind(amount).bind(case).execute(&mut tx).await?;
        q("UPDATE donations SET allocated = allocated - $1 WHERE id = $2")
            .bind(amount)
            .bind(donation)
            .execute(&mut tx)
            .await?;
        audit::record(
            &mut tx,
            &self.actor,
            "reverse",
            "allocation",
            Some(allocation),
            Some(json!({"donation": donation, "case": case, "amount": Money::from_minor(amount)})),
            Some(json!({"reversed": true, "reason": reason})),
        )
        .await?;
        if stage == Stage::Payment {
            set_stage(
                &mut tx,
                &self.actor,
                case,
                Stage::Payment,
                Stage::Fundraising,
                &format!("allocation {allocation} reversed: {reason}"),
            )
            .await?;
        }
        invariants::ensure(&mut tx, &invariants::Scope::Touched { donations: vec![donation], cases: vec![case] })
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A person's recorded decision that a designated donation's remainder is
    /// free to place elsewhere (policy `redistribute`).
    pub async fn release(&self, donation: i64, reason: &str) -> Result<()> {
        self.require(super::Act::Fundraising).await?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid("releasing designated money needs a reason (--reason)"));
        }
        let mut tx = self.begin_write().await?;
        let facts = donation_facts(&mut tx, donation).await?;
        if !facts.designation.is_designated() {
            return Err(Error::invalid(format!("donation {donation} is unrestricted: there is nothing to release")));
        }
        if policy(&mut tx).await? == DesignatedPolicy::Hold {
            return Err(Error::invalid(format!(
                "the designated-donation policy is hold: donation {donation} stays with its beneficiary (an admin can change the policy with `almoner config set designated_policy redistribute`)"
            )));
        }
        q("UPDATE donations SET released = 1 WHERE id = $1").bind(donation).execute(&mut tx).await?;
        audit::record(
            &mut tx,
            &self.actor,
            "donation.release",
            "donation",
            Some(donation),
            Some(json!({"released": facts.released})),
            Some(json!({"released": true, "reason": reason})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn check_expectation(tx: &mut Tx, facts: &DonationFacts, expect: &Expectation) -> Result<()> {
    let mut changed = Vec::new();
    if let Some(seen) = expect.donation_unallocated
        && seen != facts.unallocated()
    {
        changed.push(format!("donation {} now has {} unallocated (you saw {seen})", facts.id, facts.unallocated()));
    }
    for (case, seen) in &expect.case_collected {
        let c = case_facts(tx, *case).await?;
        if c.collected != *seen || c.stage != Stage::Fundraising {
            changed.push(format!(
                "case {case} now has {} collected of {} and is in {} (you saw {seen})",
                c.collected, c.target, c.stage
            ));
        }
    }
    if changed.is_empty() { Ok(()) } else { Err(Error::Conflict(changed.join("; "))) }
}

pub(crate) async fn find_or_add_donor(tx: &mut Tx, new: &NewDonation) -> Result<i64> {
    let keys = super::donors::DonorKeys {
        name: new.payer.clone(),
        kind: Some(new.donor_kind),
        inn: new.inn.clone(),
        email: new.email.clone(),
        ..Default::default()
    };
    super::donors::find_or_add(tx, &keys).await
}
