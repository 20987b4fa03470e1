//! Writes that move a case through the pipeline: intake, qualification,
//! papers, stage changes, payment.

use std::path::Path;

use chrono::NaiveDate;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::db::{Exec, Get};
use super::{Store, Tx, audit, donations, invariants, now, q};
use crate::domain::stage::{GateFacts, check_transition};
use crate::domain::{Currency, DocKind, Money, Program, Stage};
use crate::error::{Error, Result};

/// Who a new case is for.
#[derive(Debug, Clone)]
pub enum BeneficiaryRef {
    Existing(i64),
    New { full_name: String, birth_date: Option<NaiveDate>, city: Option<String> },
}

#[derive(Debug, Clone)]
pub struct NewCase {
    pub beneficiary: BeneficiaryRef,
    pub program: Program,
    pub clinic: String,
    pub diagnosis: String,
    pub target: Money,
    pub responsible: Option<String>,
    pub published: bool,
    /// What the case raises: roubles, or another currency for a clinic abroad (its gifts must
    /// come in that currency too).
    pub currency: Currency,
}

/// Stage and program of a case, read inside a transaction.
pub(crate) async fn stage_of(tx: &mut Tx, case: i64) -> Result<(Stage, i64)> {
    let row = q("SELECT stage, beneficiary_id FROM cases WHERE id = $1")
        .bind(case)
        .row_optional(tx)
        .await?
        .ok_or_else(|| Error::case_not_found(case))?;
    Ok((row.get::<String>("stage")?.parse()?, row.get("beneficiary_id")?))
}

/// Records a stage change with its history row.
pub(crate) async fn set_stage(tx: &mut Tx, actor: &str, case: i64, from: Stage, to: Stage, reason: &str) -> Result<()> {
    let at = now();
    let fundraising_since = (to == Stage::Fundraising).then_some(at);
    q(
        "UPDATE cases SET stage = $1, stage_since = $2, fundraising_since = COALESCE(fundraising_since, $3) WHERE id = $4",
    )
    .bind(to.as_str())
    .bind(at)
    .bind(fundraising_since)
    .bind(case)
    .execute(tx)
    .await?;
    q("INSERT INTO stage_changes (case_id, from_stage, to_stage, at, by_user, reason) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(case)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(at)
        .bind(actor)
        .bind(reason)
        .execute(tx)
        .await?;
    audit::record(
        tx,
        actor,
        "case.stage",
        "case",
        Some(case),
        Some(json!({"stage": from})),
        Some(json!({"stage": to, "reason": reason})),
    )
    .await
}

/// The foundation's papers checklist for `program` (the `documents.PROGRAM` setting), if it set one.
pub(crate) async fn configured_checklist(
    conn: &mut impl Exec,
    program: Program,
) -> Result<Option<Vec<crate::domain::DocKind>>> {
    let text: Option<String> = q("SELECT value FROM settings WHERE key = $1")
        .bind(format!("documents.{program}"))
        .scalar_optional(conn)
        .await?;
    Ok(text.and_then(|t| crate::domain::stage::parse_checklist(&t).ok()))
}

async fn gate_facts(tx: &mut Tx, case: i64) -> Result<GateFacts> {
    let row = q("SELECT program, published, target, collected FROM cases WHERE id = $1")
        .bind(case)
        .row_optional(tx)
        .await?
        .ok_or_else(|| Error::case_not_found(case))?;
    let qualified_by: Option<String> =
        q("SELECT approved_by FROM qualifications WHERE case_id = $1").bind(case).scalar_optional(tx).await?;
    let kinds: Vec<String> = q("SELECT DISTINCT kind FROM documents WHERE case_id = $1").bind(case).scalars(tx).await?;
    let invoice_complete: bool = q(
        "SELECT COUNT(*) > 0 FROM invoices WHERE case_id = $1 AND withdrawn_at IS NULL AND number <> '' AND payee <> '' AND amount > 0 AND CAST(date AS TEXT) <> ''",
    )
    .bind(case)
    .scalar(tx)
    .await?;
    let payment_order_recorded: bool =
        q("SELECT COUNT(*) > 0 FROM payment_orders WHERE case_id = $1").bind(case).scalar(tx).await?;
    let held_from: Option<String> =
        q("SELECT from_stage FROM stage_changes WHERE case_id = $1 AND to_stage = 'on_hold' ORDER BY id DESC LIMIT 1")
            .bind(case)
            .scalar_optional(tx)
            .await?
            .flatten();
    let program: Program = row.get::<String>("program")?.parse()?;
    Ok(GateFacts {
        program: Some(program),
        checklist: configured_checklist(tx, program).await?,
        published: row.get::<i64>("published")? != 0,
        qualified_by,
        attached: kinds.iter().filter_map(|k| k.parse().ok()).collect(),
        invoice_complete,
        target: Money::from_minor(row.get("target")?),
        collected: Money::from_minor(row.get("collected")?),
        payment_order_recorded,
        held_from: held_from.and_then(|s| s.parse().ok()),
    })
}

fn check_attachable(case: i64, stage: Stage, kind: DocKind) -> Result<()> {
    if !stage.is_open() && kind != DocKind::Act {
        return Err(Error::invalid(format!("case {case} is {stage}: papers can no longer be attached")));
    }
    Ok(())
}

pub(super) fn require_stage(case: i64, stage: Stage, allowed: &[Stage], doing: &str) -> Result<()> {
    if allowed.contains(&stage) {
        Ok(())
    } else {
        let list: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        Err(Error::invalid(format!("case {case} is in {stage}: {doing} is possible only in {}", list.join(" or "))))
    }
}

/// Attaches a stored file to a case, inside the caller's transaction.
pub(crate) async fn insert_document(
    tx: &mut Tx,
    actor: &str,
    case: i64,
    kind: DocKind,
    name: &str,
    sha: &str,
) -> Result<i64> {
    let (stage, _) = stage_of(tx, case).await?;
    check_attachable(case, stage, kind)?;
    let id: i64 = q(
        "INSERT INTO documents (case_id, kind, file_name, sha256, added_at, added_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(case)
    .bind(kind.as_str())
    .bind(name)
    .bind(sha)
    .bind(now())
    .bind(actor)
    .scalar(tx)
    .await?;
    audit::record(
        tx,
        actor,
        "case.attach",
        "case",
        Some(case),
        None,
        Some(json!({"kind": kind, "file": name, "sha256": sha})),
    )
    .await?;
    Ok(id)
}

/// Opens a new application in `qualification`, inside the caller's transaction.
pub(crate) async fn insert_case(tx: &mut Tx, actor: &str, new: &NewCase) -> Result<i64> {
    if new.clinic.trim().is_empty() {
        return Err(Error::invalid("the clinic is empty: give the clinic's name"));
    }
    let at = now();
    let beneficiary = match &new.beneficiary {
        BeneficiaryRef::Existing(id) => {
            let found: Option<i64> =
                q("SELECT id FROM beneficiaries WHERE id = $1").bind(id).scalar_optional(tx).await?;
            found.ok_or(Error::NotFound { what: "beneficiary", id: *id, list: "case list" })?
        }
        BeneficiaryRef::New { full_name, birth_date, city } => {
            if full_name.trim().is_empty() {
                return Err(Error::invalid("the beneficiary's name is empty"));
            }
            q(
                "INSERT INTO beneficiaries (full_name, birth_date, city, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(full_name.trim())
            .bind(birth_date)
            .bind(city)
            .bind(at)
            .scalar(tx)
            .await?
        }
    };
    let id: i64 = q(
        "INSERT INTO cases (beneficiary_id, program, clinic, diagnosis, stage, target, responsible, published, stage_since, created_at, currency)
         VALUES ($1, $2, $3, $4, 'qualification', $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(beneficiary)
    .bind(new.program.as_str())
    .bind(new.clinic.trim())
    .bind(new.diagnosis.trim())
    .bind(new.target.minor())
    .bind(&new.responsible)
    .bind(new.published as i64)
    .bind(at)
    .bind(at)
    .bind(new.currency.as_str())
    .scalar(tx)
    .await?;
    q("INSERT INTO stage_changes (case_id, from_stage, to_stage, at, by_user, reason) VALUES ($1, NULL, 'qualification', $2, $3, 'application received')")
        .bind(id)
        .bind(at)
        .bind(actor)
        .execute(tx)
        .await?;
    audit::record(
        tx,
        actor,
        "case.new",
        "case",
        Some(id),
        None,
        Some(json!({"beneficiary": beneficiary, "program": new.program, "clinic": new.clinic, "target": new.target})),
    )
    .await?;
    Ok(id)
}

impl Store {
    /// Opens a new application in `qualification`.
    pub async fn new_case(&self, new: &NewCase) -> Result<i64> {
        self.require(super::Act::Medical).await?;
        let mut tx = self.begin_write().await?;
        let id = insert_case(&mut tx, &self.actor, new).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records the qualification checklist, approved by the person acting.
    pub async fn qualify(&self, case: i64, diagnosis: &str, treatment: &str, clinic_fits: bool) -> Result<()> {
        self.require(super::Act::Medical).await?;
        if diagnosis.trim().is_empty() || treatment.trim().is_empty() {
            return Err(Error::invalid("the checklist needs both the diagnosis and the treatment type"));
        }
        if !clinic_fits {
            return Err(Error::invalid(format!(
                "case {case}: the clinic does not fit the program, so the case cannot be qualified; reject it or change the clinic"
            )));
        }
        let mut tx = self.begin_write().await?;
        let (stage, _) = stage_of(&mut tx, case).await?;
        require_stage(case, stage, &[Stage::Qualification], "recording the qualification checklist")?;
        q(
            "INSERT INTO qualifications (case_id, diagnosis, treatment, clinic_fits, approved_by, approved_at) VALUES ($1, $2, $3, 1, $4, $5)
             ON CONFLICT (case_id) DO UPDATE SET diagnosis = excluded.diagnosis, treatment = excluded.treatment,
               approved_by = excluded.approved_by, approved_at = excluded.approved_at",
        )
        .bind(case)
        .bind(diagnosis.trim())
        .bind(treatment.trim())
        .bind(&self.actor)
        .bind(now())
        .execute(&mut tx)
        .await?;
        q("UPDATE cases SET diagnosis = $1 WHERE id = $2").bind(diagnosis.trim()).bind(case).execute(&mut tx).await?;
        audit::record(
            &mut tx,
            &self.actor,
            "case.qualify",
            "case",
            Some(case),
            None,
            Some(json!({"diagnosis": diagnosis, "treatment": treatment})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the target; only before fundraising opens.
    pub async fn set_target(&self, case: i64, target: Money) -> Result<()> {
        self.require(super::Act::Medical).await?;
        if !target.is_positive() {
            return Err(Error::invalid("the target must be more than 0"));
        }
        let mut tx = self.begin_write().await?;
        let (stage, _) = stage_of(&mut tx, case).await?;
        require_stage(case, stage, &[Stage::Qualification, Stage::Documents], "changing the target")?;
        let before: i64 = q("SELECT target FROM cases WHERE id = $1").bind(case).scalar(&mut tx).await?;
        q("UPDATE cases SET target = $1 WHERE id = $2").bind(target.minor()).bind(case).execute(&mut tx).await?;
        audit::record(
            &mut tx,
            &self.actor,
            "case.target",
            "case",
            Some(case),
            Some(json!({"target": Money::from_minor(before)})),
            Some(json!({"target": target})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a file content-addressed beside the database and attaches it.
    pub async fn attach(&self, case: i64, kind: DocKind, file: &Path) -> Result<i64> {
        self.require(super::Act::Medical).await?;
        // Say so before reading the file if the case cannot take it (checked again below).
        let stage = self.case(case).await?.stage;
        check_attachable(case, stage, kind)?;
        let (name, sha) = self.store_file(file)?;
        let mut tx = self.begin_write().await?;
        let id = insert_document(&mut tx, &self.actor, case, kind, &name, &sha).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Keeps a file under its SHA-256 beside the database (once, however often it comes):
    /// its name and checksum.
    pub(crate) fn store_file(&self, file: &Path) -> Result<(String, String)> {
        let bytes = std::fs::read(file).map_err(|e| Error::File { path: file.to_path_buf(), source: e })?;
        let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let dir = self.documents_dir().join(&sha[..2]);
        let stored = dir.join(&sha);
        if !stored.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| Error::File { path: dir.clone(), source: e })?;
            // Write then rename, so a crash never leaves a half file under its checksum.
            let tmp = dir.join(format!("{sha}.part{}", std::process::id()));
            std::fs::write(&tmp, &bytes).map_err(|e| Error::File { path: tmp.clone(), source: e })?;
            std::fs::rename(&tmp, &stored).map_err(|e| Error::File { path: stored.clone(), source: e })?;
        }
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok((name, sha))
    }

    /// Moves a case by a person's decision, through the gates. Entering
    /// fundraising also places money held for the beneficiary (policy `hold`).
    pub async fn advance(&self, case: i64, to: Stage, reason: Option<&str>) -> Result<Stage> {
        self.require(super::Act::Medical).await?;
        let mut tx = self.begin_write().await?;
        let (from, beneficiary) = stage_of(&mut tx, case).await?;
        let facts = gate_facts(&mut tx, case).await?;
        check_transition(from, to, &facts).map_err(|refusal| Error::Gate { case, refusal })?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty()).unwrap_or("by hand");
        set_stage(&mut tx, &self.actor, case, from, to, reason).await?;
        let mut touched = donations::Touched::default();
        touched.cases.push(case);
        if to == Stage::Fundraising {
            donations::place_held(&mut tx, &self.actor, beneficiary, &mut touched).await?;
        }
        invariants::ensure(&mut tx, &touched.scope()).await?;
        let now_stage = stage_of(&mut tx, case).await?.0;
        tx.commit().await?;
        Ok(now_stage)
    }

    /// Saves the case's notes (free text).
    pub async fn set_notes(&self, case: i64, notes: &str) -> Result<()> {
        self.require(super::Act::Medical).await?;
        let mut tx = self.begin_write().await?;
        stage_of(&mut tx, case).await?;
        q("UPDATE cases SET notes = $1 WHERE id = $2").bind(notes).bind(case).execute(&mut tx).await?;
        audit::record(
            &mut tx,
            &self.actor,
            "case.notes",
            "case",
            Some(case),
            None,
            Some(json!({"length": notes.chars().count()})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
