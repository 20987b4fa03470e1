//! A believable foundation for demos, tests and benchmarks: Russian names, real-sounding
//! clinics and diagnoses, cases in every stage and program, a year of donations.
//! Deterministic for a given scale; multi-row inserts in one transaction, so `--scale 500` takes seconds.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;

use super::{Store, Tx, audit, q};

mod names;
mod write;
use crate::error::{Error, Result};

/// A small deterministic generator (splitmix64): no dependency, same data every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

use names::*;

/// id, kind, name, INN, e-mail.
type DonorRow = (i64, &'static str, String, Option<String>, Option<String>);

fn weighted<'a>(rng: &mut Rng, mix: &[(&'a str, u64)]) -> &'a str {
    let total: u64 = mix.iter().map(|(_, w)| w).sum();
    let mut roll = rng.below(total);
    for (name, w) in mix {
        if roll < *w {
            return name;
        }
        roll -= w;
    }
    mix[0].0
}

/// A moment as the demo writes it (SQLite keeps it as RFC 3339 text, PostgreSQL as a timestamp).
fn ts(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}

/// What `init --demo` created.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoCounts {
    pub beneficiaries: usize,
    pub cases: usize,
    pub donors: usize,
    pub donations: usize,
    pub allocations: usize,
}

struct CaseRow {
    id: i64,
    beneficiary: i64,
    program: &'static str,
    clinic: &'static str,
    diagnosis: &'static str,
    stage: &'static str,
    target: i64,
    collected: i64,
    created: DateTime<Utc>,
    history: Vec<(Option<&'static str>, &'static str, DateTime<Utc>, String)>,
    published: bool,
}

struct DonationRow {
    id: i64,
    amount: i64,
    allocated: i64,
    designated: Option<i64>,
    received: NaiveDate,
    channel: &'static str,
    payer: String,
    donor: i64,
    purpose: String,
}

impl Store {
    /// Fills an empty database with a demo foundation; `scale` multiplies it
    /// (1 ≈ 200 cases and 5 000 donations).
    pub async fn seed_demo(&self, scale: u32) -> Result<DemoCounts> {
        self.seed_demo_at(scale, Utc::now().date_naive()).await
    }

    /// The demo as of `today`: every date in it is relative to this day, so a
    /// fixed day gives the very same database (tests and snapshots use it).
    pub async fn seed_demo_at(&self, scale: u32, today: NaiveDate) -> Result<DemoCounts> {
        if scale == 0 || scale > 5_000 {
            return Err(Error::invalid("--scale must be between 1 and 5000"));
        }
        let mut tx = self.begin_write().await?;
        let existing: i64 = q("SELECT COUNT(*) FROM cases").scalar(&mut tx).await?;
        if existing > 0 {
            return Err(Error::invalid(format!(
                "{} already holds {existing} cases: demo data goes only into an empty database (give a new --db path)",
                self.path().display()
            )));
        }
        let year_ago = today - Duration::days(365);
        let start = Utc.from_utc_datetime(&year_ago.and_hms_opt(9, 0, 0).unwrap_or_default());
        let mut rng = Rng(0x0A1_B0E5 + scale as u64);
        let n_cases = 200 * scale as usize;
        let n_beneficiaries = 180 * scale as usize;
        // ~5 000 donations at scale 1, ~1 000 000 at scale 500.
        let n_donations = 2_000 * scale as usize + 3_000;

        // Beneficiaries.
        let mut beneficiaries = Vec::with_capacity(n_beneficiaries);
        for id in 1..=n_beneficiaries as i64 {
            let girl = rng.chance(50);
            let (sm, sf) = rng.pick(SURNAMES);
            let (pm, pf) = rng.pick(FATHERS);
            let name =
                if girl { format!("{sf} {} {pf}", rng.pick(GIRLS)) } else { format!("{sm} {} {pm}", rng.pick(BOYS)) };
            let born =
                NaiveDate::from_ymd_opt(rng.range(2008, 2024) as i32, rng.range(1, 12) as u32, rng.range(1, 28) as u32);
            beneficiaries.push((id, name, born, rng.pick(CITIES)));
        }

        // Cases, with their history.
        let mut cases = Vec::with_capacity(n_cases);
        for id in 1..=n_cases as i64 {
            let program = weighted(&mut rng, PROGRAM_MIX);
            let stage = weighted(&mut rng, STAGE_MIX);
            let clinics: Vec<&str> = CLINICS.iter().filter(|(p, _)| *p == program).map(|(_, c)| *c).collect();
            let diagnoses: Vec<&str> = DIAGNOSES.iter().filter(|(p, _)| *p == program).map(|(_, d)| *d).collect();
            let target = match program {
                "equipment" => rng.range(300, 4_000) * 1_000_00,
                "research" => rng.range(500, 5_000) * 1_000_00,
                _ => rng.range(50, 2_500) * 1_000_00,
            };
            let created = start + Duration::hours(rng.range(0, 24 * 300));
            let path: &[&'static str] = match stage {
                "qualification" => &["qualification"],
                "documents" => &["qualification", "documents"],
                "fundraising" => &["qualification", "documents", "fundraising"],
                "payment" => &["qualification", "documents", "fundraising", "payment"],
                "paid" => &["qualification", "documents", "fundraising", "payment", "paid"],
                "closed" => &["qualification", "documents", "fundraising", "payment", "paid", "closed"],
                "rejected" => &["qualification", "rejected"],
                _ => &["qualification", "documents", "on_hold"],
            };
            let mut history = Vec::new();
            let mut at = created;
            let mut prev = None;
            for to in path {
                let reason = match *to {
                    "qualification" => "application received".to_string(),
                    "payment" => "fully funded".to_string(),
                    "rejected" => "не соответствует программе фонда".to_string(),
                    "on_hold" => "ждём выписку из клиники".to_string(),
                    _ => "by hand".to_string(),
                };
                history.push((prev, *to, at, reason));
                prev = Some(*to);
                at += Duration::hours(rng.range(24, 24 * 12));
            }
            let collected = match stage {
                "payment" | "paid" | "closed" => target,
                "fundraising" => target * rng.range(0, 90) / 100,
                _ => 0,
            };
            cases.push(CaseRow {
                id,
                beneficiary: rng.range(1, n_beneficiaries as i64),
                program,
                clinic: rng.pick(&clinics),
                diagnosis: rng.pick(&diagnoses),
                stage,
                target,
                collected,
                created,
                history,
                published: rng.chance(80),
            });
        }

        // Donors: people and companies.
        let n_people = 300 * scale as usize + 1_200;
        let mut donors: Vec<DonorRow> = Vec::new();
        for id in 1..=n_people as i64 {
            let (sm, sf) = rng.pick(SURNAMES);
            let name =
                if rng.chance(60) { format!("{sf} {}", rng.pick(GIRLS)) } else { format!("{sm} {}", rng.pick(BOYS)) };
            let email = rng.chance(70).then(|| format!("donor{id}@example.ru"));
            donors.push((id, "person", name, None, email));
        }
        for (i, company) in COMPANIES.iter().enumerate() {
            let id = (n_people + i + 1) as i64;
            donors.push((
                id,
                "organisation",
                company.to_string(),
                Some(format!("77{:08}", 10_000_000 + i * 7919)),
                None,
            ));
        }

        // Donations over the last twelve months.
        let fundable: Vec<usize> = (0..cases.len()).filter(|&i| cases[i].collected > 0).collect();
        let mut donations = Vec::with_capacity(n_donations);
        for id in 1..=n_donations as i64 {
            let channel = weighted(&mut rng, CHANNEL_MIX);
            let corporate = channel == "corporate";
            let donor = if corporate {
                n_people as i64 + 1 + rng.below(COMPANIES.len() as u64) as i64
            } else {
                rng.range(1, n_people as i64)
            };
            let amount = if corporate {
                rng.range(50, 1_500) * 1_000_00
            } else {
                rng.pick(&[300_00, 500_00, 1_000_00, 1_500_00, 2_000_00, 3_000_00, 5_000_00, 10_000_00, 25_000_00])
                    + rng.range(0, 3) * 50
            };
            let designated = (rng.chance(15) && !fundable.is_empty()).then(|| cases[rng.pick(&fundable)].id);
            let purpose = match designated {
                Some(case) => format!("Пожертвование на лечение, заявка {case}"),
                None if corporate => "Благотворительное пожертвование на уставную деятельность".to_string(),
                None => "Пожертвование на уставные цели".to_string(),
            };
            let received = year_ago + Duration::days(rng.range(0, 364));
            donations.push(DonationRow {
                id,
                amount,
                allocated: 0,
                designated,
                received,
                channel,
                payer: donors[(donor - 1) as usize].2.clone(),
                donor,
                purpose,
            });
        }

        // Ids follow the date received, as they would in real life (and the
        // date index then fills in order).
        donations.sort_by_key(|d| d.received);
        for (i, d) in donations.iter_mut().enumerate() {
            d.id = i as i64 + 1;
        }

        // Pour donations into the cases that hold money: designated ones into
        // their case first, then the rest in date order.
        let mut allocations: Vec<(i64, i64, i64, DateTime<Utc>)> = Vec::new();
        let mut need: Vec<i64> = cases.iter().map(|c| c.collected).collect();
        let mut order: Vec<usize> = (0..donations.len()).collect();
        order.sort_by_key(|&i| (donations[i].designated.is_none(), donations[i].received, donations[i].id));
        let mut cursor = 0usize;
        for &di in &order {
            let d = &mut donations[di];
            let at =
                ts(Utc.from_utc_datetime(&d.received.and_hms_opt(12, 0, 0).unwrap_or_default()) + Duration::days(2));
            if let Some(case) = d.designated {
                let ci = (case - 1) as usize;
                let give = need[ci].min(d.amount);
                if give > 0 {
                    need[ci] -= give;
                    d.allocated += give;
                    allocations.push((d.id, case, give, at));
                }
                continue;
            }
            // Leave about a fifth of unrestricted money for the split screen.
            if rng.chance(20) {
                continue;
            }
            while d.allocated < d.amount && cursor < fundable.len() {
                let ci = fundable[cursor];
                if need[ci] == 0 {
                    cursor += 1;
                    continue;
                }
                let give = need[ci].min(d.amount - d.allocated);
                need[ci] -= give;
                d.allocated += give;
                allocations.push((d.id, cases[ci].id, give, at));
            }
        }
        // Whatever the year's donations did not cover came as grants.
        for &ci in &fundable {
            if need[ci] > 0 {
                let id = donations.len() as i64 + 1;
                let donor = n_people as i64 + 1 + rng.below(COMPANIES.len() as u64) as i64;
                let received = cases[ci].created.date_naive();
                donations.push(DonationRow {
                    id,
                    amount: need[ci],
                    allocated: need[ci],
                    designated: None,
                    received,
                    channel: "corporate",
                    payer: donors[(donor - 1) as usize].2.clone(),
                    donor,
                    purpose: "Целевой грант на оплату лечения".to_string(),
                });
                allocations.push((id, cases[ci].id, need[ci], ts(cases[ci].created + Duration::days(20))));
                need[ci] = 0;
            }
        }
        // A few mistakes taken back: an allocation reversed. On a funded case
        // the reversal sent it back to fundraising until money came again.
        let open: Vec<(i64, i64)> = donations
            .iter()
            .filter(|d| d.designated.is_none() && d.allocated < d.amount)
            .map(|d| (d.id, d.amount - d.allocated))
            .collect();
        let mut reversed = Vec::new();
        for (&ci, &(donation, room)) in fundable.iter().step_by(17).zip(&open) {
            let c = &mut cases[ci];
            let at = match c.history.iter().position(|h| h.1 == "payment") {
                Some(pos) => {
                    let t = c.history[pos].2;
                    let why = "allocation reversed: ошибочное распределение".to_string();
                    c.history.insert(pos + 1, (Some("payment"), "fundraising", t + Duration::hours(1), why));
                    c.history.insert(
                        pos + 2,
                        (Some("fundraising"), "payment", t + Duration::hours(2), "fully funded".into()),
                    );
                    t - Duration::hours(1)
                }
                None => c.created + Duration::days(15),
            };
            allocations.push((donation, c.id, room.min(c.target), ts(at)));
            reversed.push(allocations.len() as i64);
        }

        if let Tx::Lite(t) = &mut tx {
            sqlx::query("PRAGMA cache_size = -262144").execute(&mut **t).await?;
        }
        self.write_demo(&mut tx, today, &beneficiaries, &cases, &donors, &donations, &allocations, &reversed).await?;
        let counts = DemoCounts {
            beneficiaries: beneficiaries.len(),
            cases: cases.len(),
            donors: donors.len(),
            donations: donations.len(),
            allocations: allocations.len(),
        };
        audit::record(
            &mut tx,
            self.actor(),
            "demo.init",
            "database",
            None,
            None,
            Some(json!({"scale": scale, "counts": counts})),
        )
        .await?;
        if let Tx::Pg(_) = tx {
            // The tables were filled inside this transaction: PostgreSQL plans the check with
            // what they hold now, not as the empty tables it last saw.
            q("ANALYZE").execute(&mut tx).await?;
        }
        super::invariants::ensure(&mut tx, &super::Scope::All).await?;
        tx.commit().await?;
        Ok(counts)
    }
}
