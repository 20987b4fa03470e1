//! The stage-date report for a period: cases that entered each stage (by
//! program), money raised, placed and paid, how long cases spent in each
//! stage (median and 90th percentile), and donations per month by channel.
//! Every figure is one aggregate query over the period's rows.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Store, q};
use crate::domain::{Money, Program, Stage};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entered {
    pub stage: Stage,
    pub program: Program,
    pub cases: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimeInStage {
    pub stage: Stage,
    /// Cases that left the stage in the period.
    pub cases: usize,
    pub median_days: f64,
    pub p90_days: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MonthChannel {
    /// "2026-03".
    pub month: String,
    pub channel: String,
    pub donations: i64,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StageReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub program: Option<Program>,
    pub entered: Vec<Entered>,
    /// Donations received in the period (all currencies' kopecks summed only per currency: RUB here).
    pub raised: Money,
    /// Allocated to cases in the period (live allocations).
    pub placed: Money,
    /// Paid to clinics in the period (payment orders).
    pub paid: Money,
    pub time_in_stage: Vec<TimeInStage>,
    pub monthly: Vec<MonthChannel>,
    /// Gifts received in the period in other currencies (never converted, so never in the
    /// figures above): currency → sum.
    pub other_currencies: BTreeMap<String, Money>,
}

impl Store {
    /// The report for `from ..= to` (dates inclusive), of one program or all.
    pub async fn stage_report(&self, from: NaiveDate, to: NaiveDate, program: Option<Program>) -> Result<StageReport> {
        if to < from {
            return Err(Error::invalid(format!("the period ends ({to}) before it starts ({from})")));
        }
        // The period's bounds: its first day, and the day after its last (moments at midnight UTC).
        let (lo, hi) = (from, to + chrono::Duration::days(1));
        let at = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let (lo_at, hi_at) = (at(lo), at(hi));
        let prog = program.map(Program::as_str);
        let pg = self.is_postgres();
        // SQLite is told which index serves the grouping; PostgreSQL plans for itself.
        let indexed = |name: &str| if pg { String::new() } else { format!("INDEXED BY {name}") };
        // Independent sums over the period: each on a connection of its own, at once
        // (each takes one from the pool as it starts, and gives it back as it ends).
        let entered_q = async {
            q(format!(
                // The distinct cases of a stage and program lie side by side in this index.
                "SELECT to_stage, program, COUNT(DISTINCT case_id) FROM stage_changes {}
             WHERE at >= $1 AND at < $2 AND ($3 IS NULL OR program = $3)
             GROUP BY to_stage, program",
                indexed("stage_changes_entered")
            ))
            .bind(lo_at)
            .bind(hi_at)
            .bind(prog)
            .fetch_all::<(String, String, i64), _>(&mut self.conn().await?)
            .await
        };
        // Every case in roubles and no program asked: the allocations alone answer.
        let other_currency: Option<i64> = q("SELECT CAST(1 AS BIGINT) FROM cases WHERE currency <> 'RUB' LIMIT 1")
            .scalar_optional(&mut self.conn().await?)
            .await?;
        let placed_sql = if prog.is_none() && other_currency.is_none() {
            // Everything placed, less the few placings reversed since: no look-up per allocation.
            "SELECT CAST((SELECT COALESCE(SUM(a.amount), 0) FROM allocations a WHERE a.at >= $1 AND a.at < $2 AND $3 IS NULL)
                  - (SELECT COALESCE(SUM(a.amount), 0) FROM reversals r CROSS JOIN allocations a
                     WHERE a.id = r.allocation_id AND a.at >= $1 AND a.at < $2) AS BIGINT)"
        } else if self.is_postgres() {
            // PostgreSQL misjudged the cases list below as 200 rows and looked up each case's
            // allocations one by one (1.1 s for a year of treatment at `--scale 500`); joined,
            // it reads the year's allocations once (0.4 s).
            "SELECT CAST((SELECT COALESCE(SUM(a.amount), 0) FROM allocations a JOIN cases c ON c.id = a.case_id
                     WHERE a.at >= $1 AND a.at < $2 AND c.currency = 'RUB' AND ($3 IS NULL OR c.program = $3))
                  - (SELECT COALESCE(SUM(a.amount), 0) FROM reversals r JOIN allocations a ON a.id = r.allocation_id
                     JOIN cases c ON c.id = a.case_id
                     WHERE a.at >= $1 AND a.at < $2 AND c.currency = 'RUB' AND ($3 IS NULL OR c.program = $3)) AS BIGINT)"
        } else {
            "WITH c(id) AS (SELECT id FROM cases WHERE currency = 'RUB' AND ($3 IS NULL OR program = $3))
             SELECT CAST((SELECT COALESCE(SUM(a.amount), 0) FROM allocations a
                     WHERE a.at >= $1 AND a.at < $2 AND a.case_id IN (SELECT id FROM c))
                  - (SELECT COALESCE(SUM(a.amount), 0) FROM reversals r CROSS JOIN allocations a
                     WHERE a.id = r.allocation_id AND a.at >= $1 AND a.at < $2 AND a.case_id IN (SELECT id FROM c)) AS BIGINT)"
        };
        let placed_q =
            async { q(placed_sql).bind(lo_at).bind(hi_at).bind(prog).scalar::<i64>(&mut self.conn().await?).await };
        let paid_q = async {
            q("SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM payment_orders p JOIN cases c ON c.id = p.case_id
             WHERE p.date >= $1 AND p.date < $2 AND c.currency = 'RUB' AND ($3 IS NULL OR c.program = $3)")
            .bind(lo)
            .bind(hi)
            .bind(prog)
            .scalar::<i64>(&mut self.conn().await?)
            .await
        };
        // A stay in a stage runs from entering it to the next change; counted when it ends in the period.
        // Counted per tenth of a day (what the report shows), so the percentiles come from a short histogram.
        let stays_q = async {
            q(format!(
                "SELECT from_stage, stay, COUNT(*) FROM stage_changes {}
             WHERE at >= $1 AND at < $2 AND from_stage IS NOT NULL AND ($3 IS NULL OR program = $3) AND stay IS NOT NULL
             GROUP BY from_stage, stay ORDER BY from_stage, stay",
                indexed("stage_changes_stays")
            ))
            .bind(lo_at)
            .bind(hi_at)
            .bind(prog)
            .fetch_all::<(String, i64, i64), _>(&mut self.conn().await?)
            .await
        };
        // By day, in the index's own order (no sorting a year of gifts); folded into months below.
        let monthly_sql = if prog.is_none() {
            "SELECT CAST(d.received_on AS TEXT), d.currency, d.channel, COUNT(*), CAST(SUM(d.amount) AS BIGINT) FROM donations d
             WHERE d.received_on >= $1 AND d.received_on < $2 AND $3 IS NULL
             GROUP BY d.received_on, d.currency, d.channel"
        } else {
            "SELECT CAST(d.received_on AS TEXT), d.currency, d.channel, COUNT(*), CAST(SUM(d.amount) AS BIGINT) FROM donations d
             WHERE d.received_on >= $1 AND d.received_on < $2
               AND d.designation_kind <> 'unrestricted' AND d.designation_kind = 'case'
                      AND d.designated_id IN (SELECT id FROM cases WHERE program = $3)
             GROUP BY d.received_on, d.currency, d.channel"
        };
        let monthly_q = async {
            q(monthly_sql)
                .bind(lo)
                .bind(hi)
                .bind(prog)
                .fetch_all::<(String, String, String, i64, i64), _>(&mut self.conn().await?)
                .await
        };
        let (rows, placed, paid, stays, days) = tokio::try_join!(
            Box::pin(entered_q),
            Box::pin(placed_q),
            Box::pin(paid_q),
            Box::pin(stays_q),
            Box::pin(monthly_q)
        )?;
        let mut months: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
        let mut other_currencies: BTreeMap<String, Money> = BTreeMap::new();
        for (day, currency, channel, n, sum) in days {
            if currency == "RUB" {
                let e = months.entry((day.get(..7).unwrap_or(&day).to_string(), channel)).or_default();
                e.0 += n;
                e.1 += sum;
            } else {
                *other_currencies.entry(currency).or_insert(Money::ZERO) += Money::from_minor(sum);
            }
        }
        let raised: i64 = months.values().map(|(_, sum)| sum).sum();
        let mut entered = Vec::new();
        for (stage, program, cases) in rows {
            entered.push(Entered { stage: stage.parse()?, program: program.parse()?, cases });
        }
        entered.sort_by_key(|e| (e.stage, e.program));
        let mut by_stage: BTreeMap<Stage, Vec<(i64, i64)>> = BTreeMap::new();
        for (stage, tenths, n) in stays {
            by_stage.entry(stage.parse()?).or_default().push((tenths, n));
        }
        let time_in_stage = by_stage
            .into_iter()
            .map(|(stage, histogram)| {
                let cases: i64 = histogram.iter().map(|(_, n)| n).sum();
                TimeInStage {
                    stage,
                    cases: cases as usize,
                    median_days: histogram_percentile(&histogram, 0.5) as f64 / 10.0,
                    p90_days: histogram_percentile(&histogram, 0.9) as f64 / 10.0,
                }
            })
            .collect();
        Ok(StageReport {
            from,
            to,
            program,
            entered,
            raised: Money::from_minor(raised),
            placed: Money::from_minor(placed),
            paid: Money::from_minor(paid),
            time_in_stage,
            other_currencies,
            monthly: months
                .into_iter()
                .map(|((month, channel), (donations, amount))| MonthChannel {
                    month,
                    channel,
                    donations,
                    amount: Money::from_minor(amount),
                })
                .collect(),
        })
    }
}

/// The nearest-rank percentile of values given as (value, how many), sorted by value.
pub fn histogram_percentile(sorted: &[(i64, i64)], q: f64) -> i64 {
    let total: i64 = sorted.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return 0;
    }
    let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    for (value, n) in sorted {
        seen += n;
        if seen >= rank {
            return *value;
        }
    }
    sorted.last().map_or(0, |(v, _)| *v)
}

#[cfg(test)]
mod tests {
    use super::histogram_percentile;

    #[test]
    fn nearest_rank_percentiles() {
        // Ten values 1..=10 as (value, count).
        let h: Vec<(i64, i64)> = (1..=10).map(|v| (v, 1)).collect();
        assert_eq!((histogram_percentile(&h, 0.5), histogram_percentile(&h, 0.9)), (5, 9));
        assert_eq!(histogram_percentile(&[(3, 5), (8, 5)], 0.5), 3);
        assert_eq!(histogram_percentile(&[(3, 5), (8, 5)], 0.9), 8);
        assert_eq!(histogram_percentile(&[], 0.9), 0);
    }
}
