//! `almoner bench` and the hidden `stress` loop it (and the race test) runs
//! in several processes at once. Figures are printed, never asserted.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::args::BenchArgs;
use super::os_user;
use crate::domain::{Designation, Money, Stage};
use crate::error::Error;
use crate::store::{CaseQuery, DonationQuery, Plan, Store};

/// A tiny deterministic generator for the stress loop.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StressReport {
    pub committed: u64,
    pub refused: u64,
    pub reversed: u64,
    /// Kopecks this process allocated, less what it reversed.
    pub net_kopecks: i64,
    pub latencies_us: Vec<u64>,
}

async fn open_donations(store: &Store, only: &[i64]) -> Result<Vec<i64>> {
    if !only.is_empty() {
        return Ok(only.to_vec());
    }
    let list = store
        .list_donations(&DonationQuery { unallocated_only: true, limit: Some(4_000), ..Default::default() })
        .await?;
    Ok(list.into_iter().filter(|d| d.designation == Designation::Unrestricted).map(|d| d.id).take(50).collect())
}

async fn open_cases(store: &Store, only: &[i64]) -> Result<Vec<i64>> {
    if !only.is_empty() {
        return Ok(only.to_vec());
    }
    let list =
        store.list_cases(&CaseQuery { stage: Some(Stage::Fundraising), limit: Some(50), ..Default::default() }).await?;
    Ok(list.into_iter().map(|c| c.id).collect())
}

/// Random allocations and reversals; refusals (a full case, a spent
/// donation) are expected and counted; anything else is an error.
pub async fn stress(
    store: &Store,
    iterations: u32,
    seed: u64,
    donations: &[i64],
    cases: &[i64],
) -> Result<StressReport> {
    let donations = open_donations(store, donations).await?;
    let cases = open_cases(store, cases).await?;
    if donations.is_empty() || cases.is_empty() {
        bail!("nothing to stress: no open donations or no fundraising cases");
    }
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut report = StressReport::default();
    let mut mine: Vec<(i64, i64)> = Vec::new();
    for _ in 0..iterations {
        let started = Instant::now();
        let outcome = if !mine.is_empty() && rng.below(6) == 0 {
            let pick = rng.below(mine.len() as u64) as usize;
            let (id, kopecks) = mine[pick];
            store.reverse(id, "stress: taken back").await.map(|_| {
                mine.swap_remove(pick);
                report.reversed += 1;
                report.net_kopecks -= kopecks;
            })
        } else {
            let donation = donations[rng.below(donations.len() as u64) as usize];
            let n = 1 + rng.below(3) as usize;
            let mut lines: Vec<(i64, Money)> = Vec::new();
            for _ in 0..n {
                let case = cases[rng.below(cases.len() as u64) as usize];
                if !lines.iter().any(|(c, _)| *c == case) {
                    // Mostly small amounts; sometimes large ones that must be refused.
                    let kopecks = if rng.below(10) == 0 { 1 + rng.below(50_000_000) } else { 1 + rng.below(200_000) };
                    lines.push((case, Money::from_minor(kopecks as i64)));
                }
            }
            store.allocate(donation, &Plan::Lines(lines), None, None).await.map(|out| {
                report.net_kopecks += out.lines.iter().map(|(_, m)| m.minor()).sum::<i64>();
                mine.extend(out.allocation_ids.iter().zip(&out.lines).map(|(id, (_, m))| (*id, m.minor())));
            })
        };
        match outcome {
            Ok(()) => {
                report.committed += 1;
                report.latencies_us.push(started.elapsed().as_micros() as u64);
            }
            Err(Error::Allocation(_) | Error::Invalid(_) | Error::Conflict(_)) => report.refused += 1,
            Err(e) => {
                return Err(e).context("stress: an operation failed in a way that is not a refusal");
            }
        }
    }
    Ok(report)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub async fn run(args: &BenchArgs) -> Result<()> {
    if let Some(csv) = &args.raw_insert {
        let db = args.dir.as_deref().context("--raw-insert needs the database as --dir")?;
        return super::bench_import::raw_insert(csv, db, args.raw_cache_kib);
    }
    if args.import {
        return super::bench_import::run(args);
    }
    let dir = tempfile::tempdir()?;
    let path = match &args.reuse {
        Some(p) => p.clone(),
        None => dir.path().join("bench.db"),
    };
    let store = Store::open(&path, &os_user()).await?;
    if args.reuse.is_none() {
        let started = Instant::now();
        let counts = store.seed_demo(args.scale).await?;
        println!(
            "demo --scale {}: {} cases, {} donations, {} allocations built in {:.1} s",
            args.scale,
            counts.cases,
            counts.donations,
            counts.allocations,
            started.elapsed().as_secs_f64()
        );
    }
    if args.reports {
        return super::bench_reports::run(&store).await;
    }
    if let Some(clients) = args.clients {
        super::bench_reports::clients(&store, &path, clients, args.commands).await?;
        if let Some(url) = &args.postgres {
            let pg = Store::open(std::path::Path::new(url), &os_user()).await?;
            if pg.summary().await?.iter().all(|s| s.cases == 0) {
                let started = Instant::now();
                pg.seed_demo(args.scale).await?;
                println!("the same demo on PostgreSQL built in {:.1} s", started.elapsed().as_secs_f64());
            }
            super::bench_reports::clients(&pg, std::path::Path::new(url), clients, args.commands).await?;
        }
        return Ok(());
    }
    if args.console {
        store.close().await;
        return super::bench_console::run(&path, 80, 24).await;
    }
    let donations: Vec<_> = store
        .list_donations(&DonationQuery { unallocated_only: true, limit: Some(20_000), ..Default::default() })
        .await?
        .into_iter()
        .filter(|d| d.designation == Designation::Unrestricted && d.unallocated >= Money::from_minor(20_00))
        .map(|d| d.id)
        .collect();
    let cases: Vec<_> = store
        .list_cases(&CaseQuery { stage: Some(Stage::Fundraising), limit: Some(5_000), ..Default::default() })
        .await?
        .into_iter()
        .filter(|c| c.still_needed >= Money::from_minor(1_000_00))
        .map(|c| c.id)
        .collect();
    if donations.len() < args.samples * 2 || cases.len() < 40 {
        bail!(
            "the database has too few open donations ({}) or fundraising cases ({}) for {} samples",
            donations.len(),
            cases.len(),
            args.samples
        );
    }
    for rows in [1usize, 20] {
        let mut times = Vec::with_capacity(args.samples);
        for i in 0..args.samples {
            let donation = donations[i + if rows == 1 { 0 } else { args.samples }];
            let lines: Vec<(i64, Money)> =
                (0..rows).map(|r| (cases[(i * rows + r) % cases.len()], Money::from_minor(1_00))).collect();
            let started = Instant::now();
            store.allocate(donation, &Plan::Lines(lines), None, None).await?;
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "allocation commit, {rows:>2}-row split: p50 {}  p99 {}  (n = {})",
            ms(percentile(&times, 0.50)),
            ms(percentile(&times, 0.99)),
            times.len()
        );
    }
    store.close().await;

    let exe = std::env::current_exe()?;
    let per_writer = (args.samples as u32 / 2).max(20);
    let started = Instant::now();
    let mut children = Vec::new();
    for w in 0..args.writers {
        children.push(
            tokio::process::Command::new(&exe)
                .arg("--db")
                .arg(&path)
                .args(["stress", "--iterations", &per_writer.to_string(), "--seed", &(w as u64 + 1).to_string()])
                .stdout(std::process::Stdio::piped())
                .spawn()?,
        );
    }
    let mut all = Vec::new();
    let mut committed = 0;
    let mut refused = 0;
    for child in children {
        let out = child.wait_with_output().await?;
        if !out.status.success() {
            bail!("a writer failed: {}", out.status);
        }
        let r: StressReport = serde_json::from_slice(&out.stdout)?;
        committed += r.committed;
        refused += r.refused;
        all.extend(r.latencies_us.into_iter().map(Duration::from_micros));
    }
    let wall = started.elapsed();
    all.sort();
    println!(
        "{} concurrent writer processes: {committed} commits + {refused} refusals in {:.2} s = {:.0} commits/s; commit p50 {}  p99 {}",
        args.writers,
        wall.as_secs_f64(),
        committed as f64 / wall.as_secs_f64(),
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.99)),
    );
    let store = Store::open(&path, &os_user()).await?;
    let violations = store.verify().await?;
    println!("invariant violations after the run: {}", violations.len());
    store.close().await;
    if !violations.is_empty() {
        bail!("invariants broken:\n{}", violations.join("\n"));
    }
    Ok(())
}
