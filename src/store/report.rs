//! The stage-date report for a period: cases that entered each stage (by
//! program), money raised, placed and paid, how long cases spent in each
//! stage (median and 90th percentile), and donations per month by channel.
//! Every figure is one aggregate query over the period's rows.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::Store;
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
}

/// The value below which `q` of the sorted `values` lie (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Store {
    /// The report for `from ..= to` (dates inclusive), of one program or all.
    pub async fn stage_report(&self, from: NaiveDate, to: NaiveDate, program: Option<Program>) -> Result<StageReport> {
        if to < from {
            return Err(Error::invalid(format!("the period ends ({to}) before it starts ({from})")));
        }
        let (lo, hi) = (from.to_string(), (to + chrono::Duration::days(1)).to_string());
        let prog = program.map(Program::as_str);
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT s.to_stage, c.program, COUNT(DISTINCT s.case_id) FROM stage_changes s JOIN cases c ON c.id = s.case_id
             WHERE s.at >= ?1 AND s.at < ?2 AND (?3 IS NULL OR c.program = ?3)
             GROUP BY s.to_stage, c.program",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(prog)
        .fetch_all(self.pool())
        .await?;
        let mut entered = Vec::new();
        for (stage, program, cases) in rows {
            entered.push(Entered { stage: stage.parse()?, program: program.parse()?, cases });
        }
        entered.sort_by_key(|e| (e.stage, e.program));
        let raised: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(d.amount), 0) FROM donations d
             WHERE d.received_on >= ?1 AND d.received_on < ?2 AND d.currency = 'RUB'
               AND (?3 IS NULL OR (d.designation_kind = 'case' AND (SELECT program FROM cases WHERE id = d.designated_id) = ?3))",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(prog)
        .fetch_one(self.pool())
        .await?;
        let placed: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(a.amount), 0) FROM allocations a JOIN cases c ON c.id = a.case_id
             WHERE a.at >= ?1 AND a.at < ?2 AND c.currency = 'RUB' AND (?3 IS NULL OR c.program = ?3)
               AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.allocation_id = a.id)",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(prog)
        .fetch_one(self.pool())
        .await?;
        let paid: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(p.amount), 0) FROM payment_orders p JOIN cases c ON c.id = p.case_id
             WHERE p.date >= ?1 AND p.date < ?2 AND c.currency = 'RUB' AND (?3 IS NULL OR c.program = ?3)",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(prog)
        .fetch_one(self.pool())
        .await?;
        // A stay in a stage runs from entering it to the next change; counted when it ends in the period.
        let stays: Vec<(String, f64)> = sqlx::query_as(
            "SELECT stage, julianday(left_at) - julianday(at) FROM (
                 SELECT s.to_stage AS stage, s.at, c.program,
                        LEAD(s.at) OVER (PARTITION BY s.case_id ORDER BY s.id) AS left_at
                 FROM stage_changes s JOIN cases c ON c.id = s.case_id
                 WHERE s.case_id IN (SELECT case_id FROM stage_changes WHERE at >= ?1 AND at < ?2))
             WHERE left_at >= ?1 AND left_at < ?2 AND (?3 IS NULL OR program = ?3)",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(prog)
        .fetch_all(self.pool())
        .await?;
        let mut by_stage: BTreeMap<Stage, Vec<f64>> = BTreeMap::new();
        for (stage, days) in stays {
            by_stage.entry(stage.parse()?).or_default().push(days.max(0.0));
        }
        let time_in_stage = by_stage
            .into_iter()
            .map(|(stage, mut days)| {
                days.sort_by(f64::total_cmp);
                let round = |d: f64| (d * 10.0).round() / 10.0;
                TimeInStage {
                    stage,
                    cases: days.len(),
                    median_days: round(percentile(&days, 0.5)),
                    p90_days: round(percentile(&days, 0.9)),
                }
            })
            .collect();
        let monthly: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT substr(d.received_on, 1, 7), d.channel, COUNT(*), SUM(d.amount) FROM donations d
             WHERE d.received_on >= ?1 AND d.received_on < ?2 AND d.currency = 'RUB'
               AND (?3 IS NULL OR (d.designation_kind = 'case' AND (SELECT program FROM cases WHERE id = d.designated_id) = ?3))
             GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(prog)
        .fetch_all(self.pool())
        .await?;
        Ok(StageReport {
            from,
            to,
            program,
            entered,
            raised: Money::from_minor(raised),
            placed: Money::from_minor(placed),
            paid: Money::from_minor(paid),
            time_in_stage,
            monthly: monthly
                .into_iter()
                .map(|(month, channel, donations, amount)| MonthChannel {
                    month,
                    channel,
                    donations,
                    amount: Money::from_minor(amount),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 0.5), 5.0);
        assert_eq!(percentile(&v, 0.9), 9.0);
        assert_eq!(percentile(&[7.0], 0.9), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
