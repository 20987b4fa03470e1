//! Legacy migration, the writing half: the checked export goes in as one
//! transaction — children (joined to an existing record when the same child),
//! cases with their stage history, donors (through the donor engine),
//! donations and allocations — then the database's own figures are read back
//! inside the same transaction and held against the export's. A dry run, or a
//! real run whose report is not clean, rolls everything back.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::donors::{DonorKeys, find_or_add, recognise};
use super::{Store, Tx, audit, invariants, now, q, review};
use crate::domain::Stage;
use crate::domain::names::name_key;
use crate::error::Result;
use crate::legacy::report::{Count, Report};
use crate::legacy::{Export, Rejected};

/// Old id → new id, per entity, for this source: what earlier runs left and this run adds.
#[derive(Default)]
struct Ids(HashMap<(&'static str, String), i64>);

impl Ids {
    fn get(&self, entity: &'static str, old: &str) -> Option<i64> {
        self.0.get(&(entity, old.to_string())).copied()
    }
}

use super::reconcile::ENTITIES;

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

struct Run<'a> {
    tx: Tx,
    actor: String,
    source: &'a str,
    ids: Ids,
    counts: BTreeMap<&'static str, Count>,
    rejected: Vec<Rejected>,
    notes: Vec<String>,
    /// Cases created now, with the stage the export gives them: those that
    /// raised money are written in fundraising until their allocations are in.
    new_cases: Vec<(i64, Stage)>,
    touched_donations: Vec<i64>,
}

/// Stages a case reaches only by raising money.
fn raised(s: Stage) -> bool {
    matches!(s, Stage::Fundraising | Stage::Payment | Stage::Paid | Stage::Closed | Stage::OnHold)
}

impl Run<'_> {
    async fn remember(&mut self, entity: &'static str, old: &str, new: i64) -> Result<()> {
        q("INSERT INTO legacy_ids (source, entity, old_id, new_id, migrated_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(self.source)
            .bind(entity)
            .bind(old)
            .bind(new)
            .bind(now())
            .execute(&mut self.tx)
            .await?;
        self.ids.0.insert((entity, old.to_string()), new);
        Ok(())
    }

    fn count(&mut self, entity: &'static str) -> &mut Count {
        self.counts.entry(entity).or_insert_with(|| Count { entity, ..Count::default() })
    }

    /// Already migrated by an earlier run? Then counted so and skipped.
    fn already(&mut self, entity: &'static str, old: &str) -> bool {
        let known = self.ids.get(entity, old).is_some();
        if known {
            self.count(entity).already += 1;
        }
        known
    }

    fn reject(&mut self, entity: &'static str, file_line: (&str, usize), old: &str, reason: String) {
        self.count(entity).rejected += 1;
        self.rejected.push(Rejected {
            entity,
            file: file_line.0.to_string(),
            line: file_line.1,
            old_id: old.to_string(),
            reason,
        });
    }

    async fn children(&mut self, ex: &Export, file: &str) -> Result<()> {
        for c in &ex.children {
            if self.already("beneficiary", &c.old) {
                continue;
            }
            let same: Option<i64> = match c.born {
                None => None,
                Some(born) => {
                    let same_day: Vec<(i64, String)> = q(
                        "SELECT id, full_name FROM beneficiaries WHERE birth_date = $1 AND merged_into IS NULL ORDER BY id",
                    )
                    .bind(born)
                    .fetch_all(&mut self.tx)
                    .await?;
                    let key = name_key(&c.name);
                    same_day.into_iter().find(|(_, n)| name_key(n) == key).map(|(id, _)| id)
                }
            };
            let id = match same {
                Some(id) => {
                    self.count("beneficiary").joined += 1;
                    self.notes.push(format!(
                        "{file} line {}: child {} is the same child as record {id} (name and birth date): joined",
                        c.line, c.old
                    ));
                    id
                }
                None => {
                    let id: i64 = q(
                        "INSERT INTO beneficiaries (full_name, birth_date, city, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                    )
                    .bind(c.name.trim())
                    .bind(c.born)
                    .bind(&c.city)
                    .bind(now())
                    .scalar(&mut self.tx)
                    .await?;
                    self.count("beneficiary").new += 1;
                    let born = c.born.map(|d| d.to_string());
                    let queued = review::queue_likely(&mut self.tx, id, &c.name, born.as_deref()).await?;
                    if queued > 0 {
                        self.notes.push(format!(
                            "{file} line {}: child {} looks like {queued} other record(s): see `almoner review list`",
                            c.line, c.old
                        ));
                    }
                    id
                }
            };
            self.remember("beneficiary", &c.old, id).await?;
        }
        Ok(())
    }

    async fn cases(&mut self, ex: &Export, file: &str) -> Result<()> {
        let today = now().date_naive();
        for c in &ex.cases {
            if self.already("case", &c.old) {
                continue;
            }
            let Some(child) = self.ids.get("beneficiary", &c.child) else {
                let why = format!("child {} is not among the migrated children", c.child);
                self.reject("case", (file, c.line), &c.old, why);
                continue;
            };
            // The history: the application, each dated stage in order, then where the case is now.
            let opened = c.opened.or(c.stage_dates.first().map(|(_, d)| *d)).unwrap_or(today);
            let mut history = vec![(Stage::Qualification, opened)];
            history.extend(c.stage_dates.iter().filter(|(s, _)| *s != Stage::Qualification).copied());
            let last = history.iter().map(|(_, d)| *d).max().unwrap_or(opened);
            if history.last().map(|(s, _)| *s) != Some(c.stage) {
                history.push((c.stage, last));
            }
            let since = history.last().map(|(_, d)| *d).unwrap_or(opened);
            let fundraising = history.iter().find(|(s, _)| *s == Stage::Fundraising).map(|(_, d)| midnight(*d));
            let id: i64 = q(
                "INSERT INTO cases (beneficiary_id, program, clinic, diagnosis, stage, currency, target, responsible,
                    stage_since, fundraising_since, created_at, notes)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            )
            .bind(child)
            .bind(c.program.as_str())
            .bind(&c.clinic)
            .bind(&c.diagnosis)
            .bind(if raised(c.stage) { Stage::Fundraising } else { c.stage }.as_str())
            .bind(&c.currency)
            .bind(c.target)
            .bind(&c.responsible)
            .bind(midnight(since))
            .bind(fundraising)
            .bind(midnight(opened))
            .bind(format!("Migrated from {}, case {}.", self.source, c.old))
            .scalar(&mut self.tx)
            .await?;
            let mut from: Option<Stage> = None;
            for (stage, at) in &history {
                q(
                    "INSERT INTO stage_changes (case_id, from_stage, to_stage, at, by_user, reason) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(from.map(Stage::as_str))
                .bind(stage.as_str())
                .bind(midnight(*at))
                .bind(&self.actor)
                .bind(format!("migrated from {}", self.source))
                .execute(&mut self.tx)
                .await?;
                from = Some(*stage);
            }
            self.count("case").new += 1;
            self.new_cases.push((id, c.stage));
            self.remember("case", &c.old, id).await?;
        }
        Ok(())
    }

    async fn donors(&mut self, ex: &Export) -> Result<()> {
        for d in &ex.donors {
            if self.already("donor", &d.old) {
                continue;
            }
            let keys = DonorKeys {
                name: d.name.clone(),
                kind: d.kind,
                inn: d.inn.clone(),
                email: d.email.clone(),
                phone: d.phone.clone(),
                subscription: None,
                account: None,
            };
            let known = recognise(&mut self.tx, &keys).await?;
            let id = find_or_add(&mut self.tx, &keys).await?;
            match known {
                Some((_, how)) => {
                    self.count("donor").joined += 1;
                    self.notes.push(format!("donor {} is the same donor as record {id} (same {how}): joined", d.old));
                }
                None => self.count("donor").new += 1,
            }
            self.remember("donor", &d.old, id).await?;
        }
        Ok(())
    }

    async fn donations(&mut self, ex: &Export, file: &str) -> Result<()> {
        let names: HashMap<&str, &str> = ex.donors.iter().map(|d| (d.old.as_str(), d.name.as_str())).collect();
        for d in &ex.donations {
            if self.already("donation", &d.old) {
                continue;
            }
            let donor = match &d.donor {
                None => None,
                Some(old) => match self.ids.get("donor", old) {
                    Some(id) => Some(id),
                    None => {
                        let why = format!("donor {old} is not among the migrated donors");
                        self.reject("donation", (file, d.line), &d.old, why);
                        continue;
                    }
                },
            };
            let case = match &d.case {
                None => None,
                Some(old) => match self.ids.get("case", old) {
                    Some(id) => Some(id),
                    None => {
                        let why = format!("it is designated to case {old}, which is not among the migrated cases");
                        self.reject("donation", (file, d.line), &d.old, why);
                        continue;
                    }
                },
            };
            let payer = d.donor.as_deref().and_then(|o| names.get(o)).copied().unwrap_or("");
            let id: i64 = q(
                "INSERT INTO donations (amount, currency, designation_kind, designated_id, received_on, channel, payer,
                    donor_id, purpose, external_key, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(d.amount)
            .bind(&d.currency)
            .bind(if case.is_some() { "case" } else { "unrestricted" })
            .bind(case)
            .bind(d.date)
            .bind(d.channel.as_str())
            .bind(payer)
            .bind(donor)
            .bind(&d.purpose)
            .bind(format!("{}:{}", self.source, d.old))
            .bind(now())
            .scalar(&mut self.tx)
            .await?;
            self.count("donation").new += 1;
            self.touched_donations.push(id);
            self.remember("donation", &d.old, id).await?;
        }
        Ok(())
    }

    async fn allocations(&mut self, ex: &Export, file: &str) -> Result<()> {
        for a in &ex.allocations {
            if self.already("allocation", &a.old) {
                continue;
            }
            let (Some(donation), Some(case)) = (self.ids.get("donation", &a.donation), self.ids.get("case", &a.case))
            else {
                let why = format!("donation {} or case {} is not among the migrated ones", a.donation, a.case);
                self.reject("allocation", (file, a.line), &a.old, why);
                continue;
            };
            let (amount, allocated, d_cur): (i64, i64, String) =
                q("SELECT amount, allocated, currency FROM donations WHERE id = $1")
                    .bind(donation)
                    .fetch_one(&mut self.tx)
                    .await?;
            let (target, collected, c_cur, stage): (i64, i64, String, String) =
                q("SELECT target, collected, currency, stage FROM cases WHERE id = $1")
                    .bind(case)
                    .fetch_one(&mut self.tx)
                    .await?;
            let why = if stage != Stage::Fundraising.as_str() {
                Some(format!("case {} is {stage}: money goes only to cases that raise it", a.case))
            } else if d_cur != c_cur {
                Some(format!("donation {} is in {d_cur}, case {} in {c_cur}", a.donation, a.case))
            } else if a.amount > amount - allocated {
                Some(format!(
                    "donation {} has only {} left to place, not {}",
                    a.donation,
                    crate::legacy::money(amount - allocated),
                    crate::legacy::money(a.amount)
                ))
            } else if a.amount > target - collected {
                Some(format!(
                    "it would take case {} above its target ({} of {} already collected)",
                    a.case,
                    crate::legacy::money(collected),
                    crate::legacy::money(target)
                ))
            } else {
                None
            };
            if let Some(why) = why {
                self.reject("allocation", (file, a.line), &a.old, why);
                continue;
            }
            let at = a.date.map(midnight).unwrap_or_else(now);
            let id: i64 = q(
                "INSERT INTO allocations (donation_id, case_id, amount, at, by_user, reason) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(donation)
            .bind(case)
            .bind(a.amount)
            .bind(at)
            .bind(&self.actor)
            .bind(format!("migrated from {}", self.source))
            .scalar(&mut self.tx)
            .await?;
            q("UPDATE donations SET allocated = allocated + $1 WHERE id = $2")
                .bind(a.amount)
                .bind(donation)
                .execute(&mut self.tx)
                .await?;
            q("UPDATE cases SET collected = collected + $1 WHERE id = $2")
                .bind(a.amount)
                .bind(case)
                .execute(&mut self.tx)
                .await?;
            self.count("allocation").new += 1;
            self.touched_donations.push(donation);
            self.remember("allocation", &a.old, id).await?;
        }
        Ok(())
    }

    /// A stage the money does not fit is not kept: a fully funded fundraiser
    /// moves on to payment; anything else waits on hold, with a note.
    async fn fit_stages(&mut self) -> Result<()> {
        for (id, stage) in self.new_cases.clone() {
            let (target, collected): (i64, i64) =
                q("SELECT target, collected FROM cases WHERE id = $1").bind(id).fetch_one(&mut self.tx).await?;
            if raised(stage) {
                q("UPDATE cases SET stage = $1 WHERE id = $2")
                    .bind(stage.as_str())
                    .bind(id)
                    .execute(&mut self.tx)
                    .await?;
            }
            let to = match stage {
                Stage::Fundraising if target > 0 && collected == target => Some(Stage::Payment),
                Stage::Fundraising if target == 0 => Some(Stage::OnHold),
                Stage::Payment | Stage::Paid | Stage::Closed if collected != target => Some(Stage::OnHold),
                Stage::Qualification | Stage::Documents | Stage::Rejected if collected > 0 => Some(Stage::OnHold),
                _ => None,
            };
            let Some(to) = to else { continue };
            let why = format!(
                "migrated as {stage} but its allocations come to {} of a {} target",
                crate::legacy::money(collected),
                crate::legacy::money(target)
            );
            q("UPDATE cases SET stage = $1, stage_since = $2 WHERE id = $3")
                .bind(to.as_str())
                .bind(now())
                .bind(id)
                .execute(&mut self.tx)
                .await?;
            q(
                "INSERT INTO stage_changes (case_id, from_stage, to_stage, at, by_user, reason) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(stage.as_str())
            .bind(to.as_str())
            .bind(now())
            .bind(&self.actor)
            .bind(&why)
            .execute(&mut self.tx)
            .await?;
            self.notes.push(format!("case {id}: {why}; put in {to}"));
        }
        Ok(())
    }
}

impl Store {
    /// Migrates a read export. `commit` asks for the real run: it commits only
    /// when the report is clean, or `accept_differences` says to anyway.
    pub async fn migrate_legacy(&self, ex: &Export, commit: bool, accept_differences: bool) -> Result<Report> {
        if commit {
            self.require(super::Act::Admin).await?;
        }
        let mut tx = self.begin_write().await?;
        let known: Vec<(String, String, i64)> = q("SELECT entity, old_id, new_id FROM legacy_ids WHERE source = $1")
            .bind(&ex.source)
            .fetch_all(&mut tx)
            .await?;
        let mut ids = Ids::default();
        for (entity, old, new) in known {
            if let Some(e) = ENTITIES.iter().find(|e| **e == entity) {
                ids.0.insert((e, old), new);
            }
        }
        let mut run = Run {
            tx,
            actor: self.actor().to_string(),
            source: &ex.source,
            ids,
            counts: BTreeMap::new(),
            rejected: ex.rejected.clone(),
            notes: Vec::new(),
            new_cases: Vec::new(),
            touched_donations: Vec::new(),
        };
        let rows = &ex.rows;
        for (entity, n) in [
            ("beneficiary", rows.beneficiaries),
            ("case", rows.cases),
            ("donor", rows.donors),
            ("donation", rows.donations),
            ("allocation", rows.allocations),
        ] {
            let rejected = ex.rejected.iter().filter(|r| r.entity == entity).count();
            let c = run.count(entity);
            c.rows = n;
            c.rejected = rejected;
        }
        let f = &ex.file_names;
        run.children(ex, &f[0]).await?;
        run.cases(ex, &f[1]).await?;
        run.donors(ex).await?;
        run.donations(ex, &f[3]).await?;
        run.allocations(ex, &f[4]).await?;
        run.fit_stages().await?;
        let mut cases: Vec<i64> = run.new_cases.iter().map(|(id, _)| *id).collect();
        cases.extend(run.ids.0.iter().filter(|((e, _), _)| *e == "case").map(|(_, id)| *id));
        let mut donations = run.touched_donations.clone();
        donations.sort_unstable();
        donations.dedup();
        cases.sort_unstable();
        cases.dedup();
        invariants::ensure(&mut run.tx, &invariants::Scope::Touched { donations, cases }).await?;
        let mut report = Report {
            source: ex.source.clone(),
            dry_run: !commit,
            by: run.actor.clone(),
            at: now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ..Report::default()
        };
        super::reconcile::reconcile(&mut run.tx, ex, &mut report).await?;
        for c in run.counts.values_mut() {
            c.in_database = report.counts.iter().find(|x| x.entity == c.entity).map_or(0, |x| x.in_database);
        }
        report.counts = ENTITIES.iter().filter_map(|e| run.counts.remove(e)).filter(|c| c.rows > 0).collect();
        report.rejected = std::mem::take(&mut run.rejected);
        report.notes = std::mem::take(&mut run.notes);
        report.count_differences();
        if commit && (report.clean() || accept_differences) {
            audit::record(
                &mut run.tx,
                &run.actor,
                "legacy.migrate",
                "migration",
                None,
                None,
                Some(json!({
                    "source": ex.source,
                    "files": ex.files,
                    "counts": report.counts,
                    "rejected": report.rejected.len(),
                    "differences": report.differences,
                })),
            )
            .await?;
            run.tx.commit().await?;
            report.committed = true;
        } else {
            run.tx.rollback().await?;
        }
        Ok(report)
    }
}
