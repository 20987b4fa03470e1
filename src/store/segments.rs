//! Donor segments: donors picked by what they gave (when, how much, how
//! often, by which channel, for which program), whether they give monthly,
//! when they last gave and whether they have an e-mail. Counted live, saved
//! by name, exported for the mailing service — never with a donor who asked
//! not to be contacted or never agreed to be written to. Amounts and totals are in roubles: a
//! gift in another currency is never added in (nor counted toward a threshold).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;

use super::db::{Exec, Q};
use super::{Store, audit, now, q};
use crate::domain::{Channel, Money, Program};
use crate::error::{Error, Result};

/// The filters of a segment, written as `key=value` words (`min_total=5000 recurring=yes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment {
    /// Gifts received from this day on.
    pub paid_from: Option<NaiveDate>,
    pub paid_to: Option<NaiveDate>,
    /// Gifts of at least / at most this much.
    pub min_amount: Option<Money>,
    pub max_amount: Option<Money>,
    /// Given in all (of the gifts that count) at least this much.
    pub min_total: Option<Money>,
    /// At least this many gifts (that count).
    pub min_gifts: Option<i64>,
    pub channel: Option<Channel>,
    /// Gifts designated to, or placed on, cases of this program.
    pub program: Option<Program>,
    pub recurring: Option<bool>,
    /// The donor's last gift (any) before / after this day.
    pub last_before: Option<NaiveDate>,
    pub last_after: Option<NaiveDate>,
    pub has_email: Option<bool>,
    /// Gifts whose purpose contains this word, written in small letters, capitals or capitalised
    /// (`_` stands for a space).
    pub purpose: Option<String>,
}

pub const KEYS: &str = "paid_from, paid_to, min_amount, max_amount, min_total, min_gifts, channel, program, recurring, last_before, last_after, has_email, purpose";

fn yes_no(key: &str, v: &str) -> Result<bool> {
    match v {
        "yes" | "y" | "true" => Ok(true),
        "no" | "n" | "false" => Ok(false),
        _ => Err(Error::invalid(format!("{key}={v}: write yes or no"))),
    }
}

impl FromStr for Segment {
    type Err = Error;
    fn from_str(text: &str) -> Result<Segment> {
        let mut s = Segment::default();
        for word in text.split_whitespace() {
            let (k, v) = word
                .split_once('=')
                .ok_or_else(|| Error::invalid(format!("{word:?} is not KEY=VALUE (keys: {KEYS})")))?;
            let bad = |e: String| Error::invalid(format!("{k}={v}: {e}"));
            let day = || crate::domain::parse::parse_date(v).map_err(bad);
            let money = || crate::domain::parse::parse_amount(v).map_err(bad);
            match k {
                "paid_from" => s.paid_from = Some(day()?),
                "paid_to" => s.paid_to = Some(day()?),
                "min_amount" => s.min_amount = Some(money()?),
                "max_amount" => s.max_amount = Some(money()?),
                "min_total" => s.min_total = Some(money()?),
                "min_gifts" => s.min_gifts = Some(v.parse().map_err(|_| bad("not a whole number".into()))?),
                "channel" => {
                    s.channel = Some(v.parse().map_err(|e: crate::domain::stage::UnknownWord| bad(e.to_string()))?)
                }
                "program" => {
                    s.program = Some(v.parse().map_err(|e: crate::domain::stage::UnknownWord| bad(e.to_string()))?)
                }
                "recurring" => s.recurring = Some(yes_no(k, v)?),
                "last_before" => s.last_before = Some(day()?),
                "last_after" => s.last_after = Some(day()?),
                "has_email" => s.has_email = Some(yes_no(k, v)?),
                "purpose" if !v.is_empty() => s.purpose = Some(v.replace('_', " ")),
                _ => return Err(Error::invalid(format!("unknown filter {k:?} (keys: {KEYS})"))),
            }
        }
        Ok(s)
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yn = |b: bool| if b { "yes" } else { "no" };
        let mut w: Vec<String> = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                w.push(format!("{k}={v}"));
            }
        };
        put("paid_from", self.paid_from.map(|d| d.to_string()));
        put("paid_to", self.paid_to.map(|d| d.to_string()));
        put("min_amount", self.min_amount.map(Money::plain));
        put("max_amount", self.max_amount.map(Money::plain));
        put("min_total", self.min_total.map(Money::plain));
        put("min_gifts", self.min_gifts.map(|n| n.to_string()));
        put("channel", self.channel.map(|c| c.to_string()));
        put("program", self.program.map(|p| p.to_string()));
        put("recurring", self.recurring.map(|b| yn(b).into()));
        put("last_before", self.last_before.map(|d| d.to_string()));
        put("last_after", self.last_after.map(|d| d.to_string()));
        put("has_email", self.has_email.map(|b| yn(b).into()));
        put("purpose", self.purpose.as_ref().map(|p| p.replace(' ', "_")));
        f.write_str(&w.join(" "))
    }
}

/// The ways a word is written in a purpose: as typed, small, CAPITALS and Capitalised.
fn spellings(word: &str) -> [String; 4] {
    let lower = word.to_lowercase();
    let mut chars = lower.chars();
    let capital: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    [word.to_string(), lower.clone(), word.to_uppercase(), capital]
}

/// One donor of a segment.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub gifts: i64,
    pub total: Money,
    pub last_gift: String,
    pub consent: bool,
    pub do_not_contact: bool,
}

/// A segment's size, and how many of it a mailing may reach.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Size {
    pub donors: i64,
    /// With an e-mail, consent, and not asking to be left alone.
    pub reachable: i64,
    pub do_not_contact: i64,
    pub no_consent: i64,
    pub no_email: i64,
}

/// What an export left out, and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Exported {
    pub written: usize,
    pub do_not_contact: usize,
    pub no_consent: usize,
    pub no_email: usize,
}

/// Fields an export can add after e-mail and name.
pub const EXPORT_FIELDS: [&str; 4] = ["phone", "total", "gifts", "last_gift"];

impl Segment {
    /// The members query: one pass over donations grouped by donor, the filters as bound parameters.
    fn sql(&self, pg: bool, other_currencies: bool, select: &str) -> String {
        let gift = "($1 IS NULL OR d.received_on >= $1) AND ($2 IS NULL OR d.received_on <= $2)
                AND ($3 IS NULL OR d.amount >= $3) AND ($4 IS NULL OR d.amount <= $4)
                AND ($5 IS NULL OR d.channel = $5)
                AND ($13 IS NULL OR has_any(d.purpose, $13, $14, $15, $16))
                AND ($6 IS NULL OR (d.programs & $6) <> 0)";
        // Gifts in another currency (few, on their own index) are left out; asked only when there are any.
        let gift = if other_currencies {
            format!("{gift} AND d.id NOT IN (SELECT o.id FROM donations o WHERE o.currency <> 'RUB')")
        } else {
            gift.to_string()
        };
        let gift = gift.as_str();
        // The last gift of all is read only when asked for.
        let need_last = select.contains("l.last") || self.last_before.is_some() || self.last_after.is_some();
        let (g, last_join) = match (need_last, pg) {
            // PostgreSQL reads the donations once for both: the gifts that count, and the last
            // of all (two passes over a million donations took 3.3 s, one 1.3 s). Every donor
            // who gave at all is grouped, so `g.n > 0` below keeps out those with no gift that
            // counts, as SQLite's grouping of the counted gifts alone does.
            // Each gift is judged once (`ok`); a gift judged NULL counts no more than in a WHERE.
            (true, true) => (
                format!(
                    "g AS (
                SELECT donor_id, COUNT(*) FILTER (WHERE ok) AS n,
                       CAST(SUM(amount) FILTER (WHERE ok) AS BIGINT) AS total, MAX(received_on) AS last
                FROM (SELECT d.donor_id, d.amount, d.received_on, ({gift}) AS ok
                      FROM donations d WHERE d.donor_id IS NOT NULL) d
                GROUP BY donor_id)"
                ),
                "",
            ),
            // SQLite is told which index serves the grouping, and reads the last gift from it.
            _ => {
                let indexed = if pg { "" } else { "INDEXED BY donations_donor" };
                let last = if need_last {
                    ",\n             l AS (SELECT donor_id, MAX(received_on) AS last FROM donations WHERE donor_id IS NOT NULL GROUP BY donor_id)"
                } else {
                    ""
                };
                (
                    format!(
                        "g AS (
                SELECT d.donor_id, COUNT(*) AS n, CAST(SUM(d.amount) AS BIGINT) AS total
                FROM donations d {indexed} WHERE d.donor_id IS NOT NULL AND {gift} GROUP BY d.donor_id){last}"
                    ),
                    if need_last { "JOIN l ON l.donor_id = o.id" } else { "" },
                )
            }
        };
        let last_filter = if need_last {
            "AND ($9 IS NULL OR l.last < $9) AND ($10 IS NULL OR l.last > $10)"
        } else {
            "AND $9 IS NULL AND $10 IS NULL"
        };
        let sql = format!(
            "WITH
             {g}
             SELECT {select} FROM donors o JOIN g ON g.donor_id = o.id {last_join}
             WHERE o.merged_into IS NULL AND o.anonymized_at IS NULL
               AND g.n > 0 AND g.n >= COALESCE($7, 1) AND ($8 IS NULL OR g.total >= $8)
               {last_filter}
               AND ($11 IS NULL OR (o.email IS NOT NULL) = $11)
               AND ($12 IS NULL OR EXISTS (SELECT 1 FROM donor_subscriptions s WHERE s.donor_id = o.id) = $12)",
        );
        // In the single pass the last gift is the grouping's own.
        if need_last && pg { sql.replace("l.last", "g.last") } else { sql }
    }

    fn bind(&self, q: Q) -> Q {
        // Each spelling its own parameter: a per-gift list would be read again for every gift.
        // A spelling met before is left out (NULL), not searched for twice.
        let mut ways: [Option<String>; 4] = Default::default();
        if let Some(all) = self.purpose.as_deref().map(spellings) {
            for (i, way) in all.into_iter().enumerate() {
                if !ways[..i].iter().any(|w| w.as_ref() == Some(&way)) {
                    ways[i] = Some(way);
                }
            }
        }
        q.bind(self.paid_from)
            .bind(self.paid_to)
            .bind(self.min_amount.map(Money::minor))
            .bind(self.max_amount.map(Money::minor))
            .bind(self.channel.map(Channel::as_str))
            .bind(self.program.map(Program::bit))
            .bind(self.min_gifts)
            .bind(self.min_total.map(Money::minor))
            .bind(self.last_before)
            .bind(self.last_after)
            .bind(self.has_email)
            .bind(self.recurring)
            .bind(ways[0].clone())
            .bind(ways[1].clone())
            .bind(ways[2].clone())
            .bind(ways[3].clone())
    }
}

/// Are there gifts in a currency other than roubles? (On the partial index: instant.)
async fn other_currencies(conn: &mut (impl super::Exec + ?Sized)) -> Result<bool> {
    let found: Option<i64> =
        q("SELECT CAST(1 AS BIGINT) FROM donations WHERE currency <> 'RUB' LIMIT 1").scalar_optional(conn).await?;
    Ok(found.is_some())
}

impl Store {
    /// How many donors the segment holds, and how many a mailing may reach.
    pub async fn segment_size(&self, s: &Segment) -> Result<Size> {
        let mut conn = self.conn().await?;
        let other = other_currencies(&mut conn).await?;
        let sql = s.sql(
            conn.is_pg(),
            other,
            "COUNT(*),
             COUNT(CASE WHEN o.email IS NOT NULL AND o.consent = 1 AND o.do_not_contact = 0 THEN 1 END),
             COUNT(CASE WHEN o.do_not_contact = 1 THEN 1 END),
             COUNT(CASE WHEN o.do_not_contact = 0 AND o.consent = 0 THEN 1 END),
             COUNT(CASE WHEN o.do_not_contact = 0 AND o.consent = 1 AND o.email IS NULL THEN 1 END)",
        );
        let (donors, reachable, do_not_contact, no_consent, no_email): (i64, i64, i64, i64, i64) =
            s.bind(q(sql)).fetch_one(&mut conn).await?;
        Ok(Size { donors, reachable, do_not_contact, no_consent, no_email })
    }

    pub async fn segment_members(&self, s: &Segment) -> Result<Vec<Member>> {
        type Row = (i64, String, Option<String>, Option<String>, i64, i64, String, bool, bool);
        let mut conn = self.conn().await?;
        let other = other_currencies(&mut conn).await?;
        let sql = s.sql(
            conn.is_pg(),
            other,
            "o.id, o.name, o.email, o.phone, g.n, g.total, CAST(l.last AS TEXT), o.consent = 1, o.do_not_contact = 1",
        ) + " ORDER BY g.total DESC, o.id";
        let rows: Vec<Row> = s.bind(q(sql)).fetch_all(&mut conn).await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, email, phone, gifts, total, last_gift, consent, do_not_contact)| Member {
                id,
                name,
                email,
                phone,
                gifts,
                total: Money::from_minor(total),
                last_gift,
                consent,
                do_not_contact,
            })
            .collect())
    }

    /// Writes the reachable members as a CSV the mailing service imports:
    /// `email`, `Name`, then `fields`. Never a donor without consent or asking not to be contacted.
    pub async fn export_segment(&self, s: &Segment, fields: &[String], out: &std::path::Path) -> Result<Exported> {
        self.require(super::Act::Fundraising).await?;
        for f in fields {
            if !EXPORT_FIELDS.contains(&f.as_str()) {
                return Err(Error::invalid(format!("{f:?} is not a field to export: {}", EXPORT_FIELDS.join(", "))));
            }
        }
        let members = self.segment_members(s).await?;
        let mut done = Exported::default();
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut head = vec!["email".to_string(), "Name".to_string()];
        head.extend(fields.iter().cloned());
        let csv_err = |e: csv::Error| Error::invalid(format!("export: {e}"));
        w.write_record(&head).map_err(csv_err)?;
        for m in &members {
            let Some(email) = m.email.as_deref().filter(|_| m.consent && !m.do_not_contact) else {
                match (m.do_not_contact, m.consent) {
                    (true, _) => done.do_not_contact += 1,
                    (false, false) => done.no_consent += 1,
                    (false, true) => done.no_email += 1,
                }
                continue;
            };
            let clean = |t: &str| t.chars().filter(|c| !c.is_control()).collect::<String>();
            let mut row = vec![clean(email), clean(&m.name)];
            for f in fields {
                row.push(match f.as_str() {
                    "phone" => m.phone.clone().unwrap_or_default(),
                    "total" => m.total.plain(),
                    "gifts" => m.gifts.to_string(),
                    _ => m.last_gift.clone(),
                });
            }
            w.write_record(&row).map_err(csv_err)?;
            done.written += 1;
        }
        let bytes = w.into_inner().map_err(|e| Error::invalid(format!("export: {e}")))?;
        let tmp = out.with_extension("part");
        std::fs::write(&tmp, bytes).map_err(|e| Error::File { path: tmp.clone(), source: e })?;
        std::fs::rename(&tmp, out).map_err(|e| Error::File { path: out.to_path_buf(), source: e })?;
        Ok(done)
    }

    pub async fn save_segment(&self, name: &str, s: &Segment) -> Result<()> {
        self.require(super::Act::Fundraising).await?;
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(Error::invalid("give the segment a name"));
        }
        let mut tx = self.begin_write().await?;
        q("INSERT INTO segments (name, filters, saved_by, saved_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET filters = excluded.filters, saved_by = excluded.saved_by, saved_at = excluded.saved_at")
        .bind(name)
        .bind(s.to_string())
        .bind(self.actor())
        .bind(now())
        .execute(&mut tx)
        .await?;
        audit::record(
            &mut tx,
            self.actor(),
            "segment.save",
            "segment",
            None,
            None,
            Some(serde_json::json!({"name": name, "filters": s.to_string()})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Saved segments: name and filters.
    pub async fn segments(&self) -> Result<Vec<(String, Segment)>> {
        let rows: Vec<(String, String)> =
            q("SELECT name, filters FROM segments ORDER BY name").fetch_all(&mut self.conn().await?).await?;
        rows.into_iter().map(|(n, f)| Ok((n, f.parse()?))).collect()
    }

    pub async fn segment(&self, name: &str) -> Result<Segment> {
        let f: Option<String> = q("SELECT filters FROM segments WHERE name = $1")
            .bind(name)
            .scalar_optional(&mut self.conn().await?)
            .await?;
        f.ok_or_else(|| Error::invalid(format!("no segment called {name:?} (almoner segment list)")))?.parse()
    }

    /// Records a donor's consent to be written to, or their wish not to be contacted.
    pub async fn set_contact(&self, donor: i64, consent: Option<bool>, do_not_contact: Option<bool>) -> Result<()> {
        self.require(super::Act::Fundraising).await?;
        let mut tx = self.begin_write().await?;
        let before: Option<(i64, i64)> =
            q("SELECT consent, do_not_contact FROM donors WHERE id = $1").bind(donor).fetch_optional(&mut tx).await?;
        let before = before.ok_or(Error::NotFound { what: "donor", id: donor, list: "donation list --json" })?;
        q("UPDATE donors SET consent = COALESCE($1, consent), do_not_contact = COALESCE($2, do_not_contact) WHERE id = $3")
            .bind(consent.map(i64::from))
            .bind(do_not_contact.map(i64::from))
            .bind(donor)
            .execute(&mut tx)
            .await?;
        audit::record(
            &mut tx,
            self.actor(),
            "donor.contact",
            "donor",
            Some(donor),
            Some(serde_json::json!({"consent": before.0 != 0, "do_not_contact": before.1 != 0})),
            Some(serde_json::json!({"consent": consent, "do_not_contact": do_not_contact})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Segment;

    #[test]
    fn filters_read_and_write_back_alike() {
        let s: Segment =
            "min_total=5000 recurring=yes paid_from=01.01.2026 channel=website program=treatment".parse().unwrap();
        assert_eq!(
            s.to_string(),
            "paid_from=2026-01-01 min_total=5000.00 channel=website program=treatment recurring=yes"
        );
        assert_eq!(s.to_string().parse::<Segment>().unwrap(), s);
        for bad in ["min_total=lots", "colour=red", "recurring=maybe", "nonsense"] {
            assert!(bad.parse::<Segment>().is_err(), "{bad}");
        }
        assert_eq!("".parse::<Segment>().unwrap(), Segment::default());
    }
}
