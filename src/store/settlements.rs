//! Payment processors' payouts. A processor (CloudPayments first) sends the foundation one
//! lump sum a period: the gross of the gifts it took, less its fees. In the bank statement that
//! payout settles gifts already known from the processor's register; it is never a donation.
//!
//! The match: the online gifts not yet settled (those a register or a notification brought,
//! with their external key: never one typed in by hand), in the payout's currency, received in the
//! fourteen days up to the payout's date, grouped by day; the payout settles the run of
//! consecutive days whose gross less fees equals it to the kopeck. No run, or more than one,
//! and the payout waits on the bookkeeper's queue: it is never guessed, and it is tried again
//! whenever the processor's gifts come in.

use chrono::NaiveDate;
use serde::Serialize;

use super::db::Get;
use super::{Tx, q};
use crate::domain::{Currency, Money};
use crate::error::{Error, Result};
use crate::import::{Direction, Payment};

/// CloudPayments' INN (ООО «КлаудПэйментс»), known out of the box.
pub const CLOUDPAYMENTS_INN: &str = "7708806062";

/// How many days before its payout a processor's gifts may have been given.
const WINDOW_DAYS: u64 = 14;

/// A payment processor whose payouts arrive in the bank statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processor {
    pub name: String,
    pub inn: Option<String>,
    pub account: Option<String>,
}

/// A setting `processor.NAME` = `inn=…` or `account=…` (or both, comma-separated), checked.
pub fn parse_processor(name: &str, value: &str) -> Result<Processor> {
    let bad = |why: String| {
        Error::invalid(format!("setting processor.{name}: {why} (write inn=7708806062 or account=40702810…)"))
    };
    if name.trim().is_empty() {
        return Err(Error::invalid("setting processor.NAME: give the processor a name (processor.Yookassa)"));
    }
    let mut p = Processor { name: name.trim().to_string(), inn: None, account: None };
    for part in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| bad(format!("{part:?} is not KEY=VALUE")))?;
        let v = v.trim();
        let digits = |n: &[usize]| v.chars().all(|c| c.is_ascii_digit()) && n.contains(&v.len());
        match k.trim() {
            "inn" if digits(&[10, 12]) => p.inn = Some(v.to_string()),
            "account" if digits(&[20]) => p.account = Some(v.to_string()),
            "inn" => return Err(bad(format!("INN {v:?} is not 10 or 12 digits"))),
            "account" => return Err(bad(format!("account {v:?} is not 20 digits"))),
            other => return Err(bad(format!("{other:?} is neither inn nor account"))),
        }
    }
    if p.inn.is_none() && p.account.is_none() {
        return Err(bad("neither an INN nor an account is given".into()));
    }
    Ok(p)
}

/// The processors this foundation works with: CloudPayments, and those configured.
pub(super) async fn processors(conn: &mut Tx) -> Result<Vec<Processor>> {
    let mut list = vec![Processor { name: "CloudPayments".into(), inn: Some(CLOUDPAYMENTS_INN.into()), account: None }];
    let rows: Vec<(String, String)> =
        q("SELECT key, value FROM settings WHERE key LIKE 'processor.%' ORDER BY key").fetch_all(conn).await?;
    for (key, value) in rows {
        list.push(parse_processor(&key["processor.".len()..], &value)?);
    }
    Ok(list)
}

/// The processor an incoming payment comes from, if it is a payout.
pub(super) fn processor_of<'a>(list: &'a [Processor], p: &Payment) -> Option<&'a Processor> {
    if p.direction != Direction::Incoming {
        return None;
    }
    let same = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a == b);
    list.iter().find(|x| same(&x.inn, &p.payer.inn) || same(&x.account, &p.payer.account))
}

/// What a payout settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settles {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub gifts: i64,
    pub gross: Money,
    pub fees: Money,
}

/// How a payout stands against the gifts known now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Found {
    One(Settles),
    None,
    /// Several runs of days add up to it: a person decides.
    Ambiguous(usize),
}

impl Found {
    /// What the preview says of the payout.
    pub fn note(&self, processor: &str) -> String {
        match self {
            Found::One(s) => format!(
                "{processor} payout: settles {} gift(s) of {}–{} (gross {}, fees {}); not a donation",
                s.gifts,
                s.from,
                s.to,
                s.gross.en(),
                s.fees.en()
            ),
            Found::None => format!(
                "{processor} payout: no gifts known yet add up to it; it waits on the bookkeeper's queue for the processor's register (not a donation)"
            ),
            Found::Ambiguous(n) => format!(
                "{processor} payout: {n} runs of days add up to it; it waits on the bookkeeper's queue for a person (not a donation)"
            ),
        }
    }
}

/// The run of consecutive days of unsettled online gifts whose net equals `amount`.
pub(super) async fn find_gifts(conn: &mut Tx, amount: Money, currency: Currency, on: NaiveDate) -> Result<Found> {
    let since = on - chrono::Days::new(WINDOW_DAYS);
    // Grouped by day here, not by SQL: after a bulk load rebuilt the indexes in the import's
    // transaction, a sort would open temporary storage, which SQLite then keeps from being reset.
    let gifts: Vec<(NaiveDate, i64, i64)> = q("SELECT received_on, amount, fee FROM donations
                   WHERE channel = 'website' AND external_key IS NOT NULL AND settlement_id IS NULL AND currency = $1
                     AND received_on >= $2 AND received_on <= $3")
    .bind(currency.as_str())
    .bind(since)
    .bind(on)
    .fetch_all(conn)
    .await?;
    let mut by_day: std::collections::BTreeMap<NaiveDate, (i64, i64, i64)> = std::collections::BTreeMap::new();
    for (day, amount, fee) in gifts {
        let e = by_day.entry(day).or_default();
        e.0 += 1;
        e.1 += amount;
        e.2 += fee;
    }
    let days: Vec<(NaiveDate, i64, i64, i64)> = by_day.into_iter().map(|(d, (n, g, f))| (d, n, g, f)).collect();
    let mut found = Vec::new();
    for end in 0..days.len() {
        let (mut n, mut gross, mut fees) = (0, 0i64, 0i64);
        for start in (0..=end).rev() {
            n += days[start].1;
            gross += days[start].2;
            fees += days[start].3;
            if gross - fees == amount.minor() {
                found.push(Settles {
                    from: days[start].0,
                    to: days[end].0,
                    gifts: n,
                    gross: Money::from_minor(gross),
                    fees: Money::from_minor(fees),
                });
            }
        }
    }
    Ok(match found.len() {
        0 => Found::None,
        1 => Found::One(found[0]),
        n => Found::Ambiguous(n),
    })
}

/// Records a payout of `batch` and settles its gifts if they are known.
pub(super) async fn record(tx: &mut Tx, batch: i64, processor: &str, p: &Payment) -> Result<()> {
    let on = p.booked.unwrap_or(p.date);
    let id: i64 =
        q("INSERT INTO settlements (batch_id, processor, received_on, amount, currency, external_key, purpose)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
        .bind(batch)
        .bind(processor)
        .bind(on)
        .bind(p.amount.minor())
        .bind(p.currency.as_str())
        .bind(&p.external_key)
        .bind(&p.purpose)
        .scalar(&mut *tx)
        .await?;
    if let Found::One(s) = find_gifts(tx, p.amount, p.currency, on).await? {
        settle(tx, id, p.currency, &s).await?;
    }
    Ok(())
}

async fn settle(tx: &mut Tx, id: i64, currency: Currency, s: &Settles) -> Result<()> {
    let n = q("UPDATE donations SET settlement_id = $1
                WHERE channel = 'website' AND external_key IS NOT NULL AND settlement_id IS NULL AND currency = $2
                  AND received_on >= $3 AND received_on <= $4")
    .bind(id)
    .bind(currency.as_str())
    .bind(s.from)
    .bind(s.to)
    .execute(&mut *tx)
    .await?;
    if n as i64 != s.gifts {
        return Err(Error::Invariant(format!("payout {id} was to settle {} gifts, found {n}", s.gifts)));
    }
    q("UPDATE settlements SET gifts_from = $1, gifts_to = $2, gross = $3, fees = $4, matched_at = $5 WHERE id = $6")
        .bind(s.from)
        .bind(s.to)
        .bind(s.gross.minor())
        .bind(s.fees.minor())
        .bind(super::now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Tries every payout still waiting against the gifts known now (after a processor's register
/// came in): oldest first. Returns how many were settled.
pub(super) async fn settle_waiting(tx: &mut Tx) -> Result<usize> {
    // Sorted here, not by SQL (see `find_gifts`).
    let mut waiting: Vec<(i64, NaiveDate, i64, String)> =
        q("SELECT id, received_on, amount, currency FROM settlements WHERE matched_at IS NULL")
            .fetch_all(&mut *tx)
            .await?;
    waiting.sort_by_key(|(id, on, ..)| (*on, *id));
    let mut settled = 0;
    for (id, on, amount, currency) in waiting {
        let currency: Currency = currency.parse()?;
        if let Found::One(s) = find_gifts(tx, Money::from_minor(amount), currency, on).await? {
            settle(tx, id, currency, &s).await?;
            settled += 1;
        }
    }
    Ok(settled)
}

/// Before a batch's donations are removed: payouts that settled them wait again, and a
/// batch's own payouts go, their gifts unsettled.
pub(super) async fn undo_batch(tx: &mut Tx, batch: i64) -> Result<()> {
    let reopened = "SELECT DISTINCT settlement_id FROM donations WHERE batch_id = $1 AND settlement_id IS NOT NULL
                    UNION SELECT id FROM settlements WHERE batch_id = $1";
    q(format!("UPDATE donations SET settlement_id = NULL WHERE settlement_id IN ({reopened})"))
        .bind(batch)
        .execute(&mut *tx)
        .await?;
    q("DELETE FROM settlements WHERE batch_id = $1").bind(batch).execute(&mut *tx).await?;
    q("UPDATE settlements SET gifts_from = NULL, gifts_to = NULL, gross = NULL, fees = NULL, matched_at = NULL
        WHERE matched_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM donations d WHERE d.settlement_id = settlements.id)")
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A payout as the batches list and the queue show it.
#[derive(Debug, Clone, Serialize)]
pub struct Settlement {
    pub id: i64,
    pub batch: i64,
    pub processor: String,
    pub received_on: NaiveDate,
    pub amount: Money,
    pub currency: String,
    pub settles: Option<Settles>,
}

impl super::Store {
    /// A person settles a waiting payout with the unsettled online gifts of `from..=to` (when
    /// more than one run of days added up to it, say): refused unless their net is its amount.
    pub async fn settle_payout(&self, id: i64, from: NaiveDate, to: NaiveDate) -> Result<Settles> {
        self.require(super::Act::Bookkeeping).await?;
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, String, Option<String>)> =
            q("SELECT amount, currency, CAST(matched_at AS TEXT) FROM settlements WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut tx)
                .await?;
        let (amount, currency, matched) = row.ok_or(Error::NotFound { what: "payout", id, list: "import payouts" })?;
        if matched.is_some() {
            return Err(Error::invalid(format!("payout {id} is settled already (see almoner import payouts)")));
        }
        let currency: Currency = currency.parse()?;
        let (n, gross, fees): (i64, i64, i64) = q("SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(amount), 0) AS BIGINT),
                    CAST(COALESCE(SUM(fee), 0) AS BIGINT) FROM donations
              WHERE channel = 'website' AND external_key IS NOT NULL AND settlement_id IS NULL AND currency = $1 AND received_on >= $2 AND received_on <= $3")
        .bind(currency.as_str())
        .bind(from)
        .bind(to)
        .fetch_one(&mut tx)
        .await?;
        if n == 0 || gross - fees != amount {
            return Err(Error::invalid(format!(
                "payout {id} is {} {currency}, but the {n} unsettled online gift(s) of {from}–{to} net {} {currency} (gross {}, fees {}): nothing was settled",
                Money::from_minor(amount).en(),
                Money::from_minor(gross - fees).en(),
                Money::from_minor(gross).en(),
                Money::from_minor(fees).en()
            )));
        }
        let s = Settles { from, to, gifts: n, gross: Money::from_minor(gross), fees: Money::from_minor(fees) };
        settle(&mut tx, id, currency, &s).await?;
        super::audit::record(
            &mut tx,
            self.actor(),
            "payout.settle",
            "payout",
            Some(id),
            None,
            Some(serde_json::json!({"from": from, "to": to, "gifts": n, "gross": gross, "fees": fees})),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Every payout recorded, oldest first, with the gifts it settled (if found).
    pub async fn settlements(&self) -> Result<Vec<Settlement>> {
        let rows =
            q("SELECT id, batch_id, processor, received_on, amount, currency, gifts_from, gifts_to, gross, fees,
                             (SELECT CAST(COUNT(*) AS BIGINT) FROM donations d WHERE d.settlement_id = s.id) AS gifts
                        FROM settlements s ORDER BY received_on, id")
            .rows(&mut self.conn().await?)
            .await?;
        rows.iter()
            .map(|r| {
                let (from, to): (Option<NaiveDate>, Option<NaiveDate>) = (r.get("gifts_from")?, r.get("gifts_to")?);
                let (gross, fees): (Option<i64>, Option<i64>) = (r.get("gross")?, r.get("fees")?);
                let settles = match (from, to, gross, fees) {
                    (Some(from), Some(to), Some(gross), Some(fees)) => Some(Settles {
                        from,
                        to,
                        gifts: r.get("gifts")?,
                        gross: Money::from_minor(gross),
                        fees: Money::from_minor(fees),
                    }),
                    _ => None,
                };
                Ok(Settlement {
                    id: r.get("id")?,
                    batch: r.get("batch_id")?,
                    processor: r.get("processor")?,
                    received_on: r.get("received_on")?,
                    amount: Money::from_minor(r.get("amount")?),
                    currency: r.get("currency")?,
                    settles,
                })
            })
            .collect()
    }
}
