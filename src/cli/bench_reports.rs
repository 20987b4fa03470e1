//! `almoner bench --reports`: every report and segment count timed on the
//! benchmark database (by default a fresh `--scale 500` demo), each run three
//! times, against the target of one second.

use std::time::Instant;

use anyhow::Result;
use chrono::{Duration, Months};

use crate::store::{Segment, Store};

async fn time<T, F, Fut>(label: &str, rows: &mut Vec<(String, f64, f64)>, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::Result<T>>,
{
    let (mut best, mut worst) = (f64::MAX, 0.0f64);
    let mut last = None;
    for _ in 0..3 {
        let started = Instant::now();
        last = Some(f().await?);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        best = best.min(ms);
        worst = worst.max(ms);
    }
    rows.push((label.to_string(), best, worst));
    Ok(last.expect("ran three times"))
}

pub async fn run(store: &Store) -> Result<()> {
    let today = chrono::Utc::now().date_naive();
    let year_ago = today.checked_sub_months(Months::new(12)).unwrap_or(today);
    let month_ago = today - Duration::days(30);
    let mut rows = Vec::new();
    time("stage report, 12 months", &mut rows, || store.stage_report(year_ago, today, None)).await?;
    time("stage report, 12 months, treatment", &mut rows, || {
        store.stage_report(year_ago, today, Some(crate::domain::Program::Treatment))
    })
    .await?;
    time("stage report, 30 days", &mut rows, || store.stage_report(month_ago, today, None)).await?;
    let donor: i64 = sqlx::query_scalar(
        "SELECT d.donor_id FROM donations d JOIN donors o ON o.id = d.donor_id WHERE o.kind = 'organisation'
         GROUP BY d.donor_id ORDER BY SUM(d.amount) DESC LIMIT 1",
    )
    .fetch_one(store.pool())
    .await?;
    let report =
        time("donor report (largest company), data", &mut rows, || store.donor_report(donor, year_ago, today)).await?;
    let started = Instant::now();
    let pdf = crate::donor_report::pdf(store, &report, "Фонд");
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    rows.push((format!("donor report PDF, {} pages, {} KB", report.children.len() + 1, pdf.len() / 1024), ms, ms));
    for filters in [
        String::new(),
        format!("paid_from={year_ago} min_total=5000"),
        "recurring=yes".into(),
        "channel=website min_gifts=3 has_email=yes".into(),
        format!("last_before={month_ago} min_amount=1000"),
        "program=treatment".into(),
    ] {
        let s: Segment = filters.parse()?;
        let label = format!("segment count: {}", if filters.is_empty() { "every donor" } else { &filters });
        time(&label, &mut rows, || store.segment_size(&s)).await?;
    }
    time("gdpr plan", &mut rows, || store.gdpr_plan(today)).await?;
    println!("\n| measure (3 runs) | best ms | worst ms | target ≤ 1000 ms |");
    println!("|---|---:|---:|---|");
    for (label, best, worst) in rows {
        println!("| {label} | {best:.0} | {worst:.0} | {} |", if worst <= 1000.0 { "met" } else { "MISSED" });
    }
    Ok(())
}
