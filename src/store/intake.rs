//! Applications from the foundation's web form: one JSON file each. A
//! child who applied before (the same name, written any way, and the same
//! birth date) gets the new case on their existing record, and is told so;
//! a city the record lacks, or a new one, is taken from the application.
//! Beneficiary, case, notes and papers are written in one transaction, or
//! nothing is.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::cases::{BeneficiaryRef, NewCase, insert_case, insert_document};
use super::{Store, Tx, audit, q};
use crate::domain::names::name_key;
use crate::domain::{DocKind, Money, Program};
use crate::error::{Error, Result};

/// The child an application is for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Child {
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<NaiveDate>,
    pub city: Option<String>,
}

/// A paper sent with the application; `path` is relative to the JSON file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub kind: String,
    pub path: String,
}

/// One submission of the web form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub program: String,
    pub child: Child,
    pub clinic: String,
    #[serde(default)]
    pub diagnosis: String,
    /// Rubles as text ("1 500 000") or a number; by default the invoice will set it.
    pub target: Option<serde_json::Value>,
    /// Whether the family agrees to the case being published (default yes).
    #[serde(default = "yes")]
    pub publish: bool,
    /// Who applied and how to reach them.
    pub contact: Option<serde_json::Map<String, serde_json::Value>>,
    /// The fields of this program's form (treatment plan, equipment model…), kept on the case.
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

fn yes() -> bool {
    true
}

/// What intake did with one application.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Intake {
    pub case: i64,
    pub beneficiary: i64,
    /// The child applied before: the case joined their record.
    pub returning: bool,
    pub documents: usize,
    /// Fields of a returning child's record the application filled or changed (`city`).
    pub updated: Vec<&'static str>,
    /// Earlier children this one is likely to be: queued for a person (`almoner review`).
    pub to_review: usize,
}

impl Application {
    /// Reads a submission; every problem names the field.
    pub fn parse(text: &str) -> Result<Application> {
        let app: Application =
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("the application cannot be read: {e}")))?;
        if app.child.full_name.trim().is_empty() {
            return Err(Error::invalid("child.full_name is empty"));
        }
        if app.clinic.trim().is_empty() {
            return Err(Error::invalid("clinic is empty"));
        }
        Ok(app)
    }

    fn target(&self) -> Result<Money> {
        match &self.target {
            None | Some(serde_json::Value::Null) => Ok(Money::ZERO),
            Some(serde_json::Value::String(s)) => Money::parse(s).map_err(|e| Error::invalid(format!("target: {e}"))),
            Some(serde_json::Value::Number(n)) => {
                Money::parse(&n.to_string()).map_err(|e| Error::invalid(format!("target: {e}")))
            }
            Some(other) => Err(Error::invalid(format!("target: {other} is not an amount"))),
        }
    }

    /// What the form said beyond the case's own fields, as the case's notes.
    fn notes(&self) -> String {
        let mut lines = Vec::new();
        let mut put = |label: &str, map: &serde_json::Map<String, serde_json::Value>| {
            for (k, v) in map {
                let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                lines.push(format!("{label}{k}: {v}"));
            }
        };
        put("", &self.details);
        if let Some(contact) = &self.contact {
            put("contact ", contact);
        }
        lines.join("\n")
    }
}

impl Store {
    /// Takes one application in: the child's record (found or new), a case in
    /// `qualification`, unassigned, its papers stored. All or nothing.
    pub async fn intake(&self, app: &Application, base: &Path) -> Result<Intake> {
        self.require(super::Act::Medical).await?;
        let program: Program = app.program.parse().map_err(|e| Error::invalid(format!("program: {e}")))?;
        let target = app.target()?;
        let mut papers = Vec::new();
        for a in &app.attachments {
            let kind: DocKind = a.kind.parse().map_err(|e| Error::invalid(format!("attachments: {e}")))?;
            let path = base.join(&a.path);
            if !path.starts_with(base) || a.path.contains("..") {
                return Err(Error::invalid(format!("attachments: {:?} is outside the submission's folder", a.path)));
            }
            // Stored by checksum before the transaction: a file kept with nothing pointing to it is harmless.
            let (name, sha) = self.store_file(&path)?;
            papers.push((kind, name, sha));
        }
        let mut tx = self.begin_write().await?;
        let returning = match app.child.birth_date {
            // Without a birth date nobody is matched automatically.
            None => None,
            Some(born) => {
                let same_day: Vec<(i64, String)> = q(
                    "SELECT id, full_name FROM beneficiaries WHERE birth_date = $1 AND merged_into IS NULL ORDER BY id",
                )
                .bind(born)
                .fetch_all(&mut tx)
                .await?;
                let key = name_key(&app.child.full_name);
                same_day.into_iter().find(|(_, name)| name_key(name) == key).map(|(id, _)| id)
            }
        };
        let updated = match returning {
            Some(id) => refresh_returning(&mut tx, self.actor(), id, &app.child).await?,
            None => Vec::new(),
        };
        let beneficiary = match returning {
            Some(id) => BeneficiaryRef::Existing(id),
            None => BeneficiaryRef::New {
                full_name: app.child.full_name.trim().to_string(),
                birth_date: app.child.birth_date,
                city: app.child.city.clone(),
            },
        };
        let new = NewCase {
            beneficiary,
            program,
            clinic: app.clinic.clone(),
            diagnosis: app.diagnosis.clone(),
            target,
            responsible: None,
            published: app.publish,
            currency: crate::domain::Currency::RUB,
        };
        let case = insert_case(&mut tx, self.actor(), &new).await?;
        q("UPDATE cases SET notes = $1 WHERE id = $2").bind(app.notes()).bind(case).execute(&mut tx).await?;
        for (kind, name, sha) in &papers {
            insert_document(&mut tx, self.actor(), case, *kind, name, sha).await?;
        }
        let beneficiary: i64 = q("SELECT beneficiary_id FROM cases WHERE id = $1").bind(case).scalar(&mut tx).await?;
        // A new record that looks like an earlier child waits for a person, never merged by guess.
        let to_review = match returning {
            Some(_) => 0,
            None => {
                let born = app.child.birth_date.map(|d| d.to_string());
                super::review::queue_likely(&mut tx, beneficiary, &app.child.full_name, born.as_deref()).await?
            }
        };
        audit::record(
            &mut tx,
            self.actor(),
            "case.intake",
            "case",
            Some(case),
            None,
            Some(json!({"beneficiary": beneficiary, "returning": returning.is_some(), "documents": papers.len(), "to_review": to_review})),
        )
        .await?;
        let text = format!(
            "new application: case {case} for {} ({program}){}",
            app.child.full_name.trim(),
            if returning.is_some() { ", a child who applied before" } else { "" }
        );
        super::notices::notify(
            &mut tx,
            super::notices::Audience::Role(crate::domain::Role::Medical),
            self.actor(),
            "application",
            &text,
            Some(case),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(Intake { case, beneficiary, returning: returning.is_some(), documents: papers.len(), updated, to_review })
    }
}

/// A returning child's record takes what the family says now: a city it lacked,
/// or a new one (they moved). Name and birth date are what matched; they stay.
async fn refresh_returning(tx: &mut Tx, actor: &str, id: i64, child: &Child) -> Result<Vec<&'static str>> {
    let Some(city) = child.city.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(Vec::new());
    };
    let old: Option<String> = q("SELECT city FROM beneficiaries WHERE id = $1").bind(id).scalar(tx).await?;
    if old.as_deref().is_some_and(|o| o.trim().to_lowercase() == city.to_lowercase()) {
        return Ok(Vec::new());
    }
    q("UPDATE beneficiaries SET city = $1 WHERE id = $2").bind(city).bind(id).execute(tx).await?;
    audit::record(
        tx,
        actor,
        "beneficiary.update",
        "beneficiary",
        Some(id),
        Some(json!({"city": old})),
        Some(json!({"city": city, "from": "application"})),
    )
    .await?;
    Ok(vec!["city"])
}

/// What became of one file in the spool.
#[derive(Debug)]
pub enum Taken {
    In(Intake),
    /// Refused: the reason, and where the file now is (`rejected/`, beside `NAME.reason.txt`).
    Rejected(String, PathBuf),
    /// Another process claimed it first.
    Elsewhere,
}

fn sub(dir: &Path, name: &str) -> Result<PathBuf> {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).map_err(|e| Error::File { path: d.clone(), source: e })?;
    Ok(d)
}

impl Store {
    /// Takes one file in. It is first claimed (moved to `processing/`), so two
    /// consoles watching one spool never take it twice; then it moves to
    /// `done/`, or to `rejected/` with `NAME.reason.txt`.
    pub async fn take_in(&self, file: &Path) -> Result<Taken> {
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let name = file.file_name().unwrap_or_default().to_os_string();
        let claimed = sub(&dir, "processing")?.join(format!("{}.{}", name.to_string_lossy(), std::process::id()));
        match std::fs::rename(file, &claimed) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Taken::Elsewhere),
            Err(e) => return Err(Error::File { path: file.to_path_buf(), source: e }),
        }
        let outcome = async {
            let text = std::fs::read_to_string(&claimed)
                .map_err(|e| Error::invalid(format!("the file cannot be read as UTF-8 text: {e}")))?;
            self.intake(&Application::parse(&text)?, &dir).await
        }
        .await;
        let (to, taken) = match outcome {
            Ok(done) => (sub(&dir, "done")?.join(&name), Taken::In(done)),
            Err(e) => {
                let to = sub(&dir, "rejected")?.join(&name);
                let mut reason = to.clone().into_os_string();
                reason.push(".reason.txt");
                let reason = PathBuf::from(reason);
                std::fs::write(&reason, format!("{e}\n")).map_err(|err| Error::File { path: reason, source: err })?;
                (to.clone(), Taken::Rejected(e.to_string(), to))
            }
        };
        std::fs::rename(&claimed, &to).map_err(|e| Error::File { path: claimed.clone(), source: e })?;
        Ok(taken)
    }

    /// Every `*.json` waiting in `dir`, in name order.
    pub fn waiting(dir: &Path) -> Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::File { path: dir.to_path_buf(), source: e })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("json")))
            .collect();
        v.sort();
        Ok(v)
    }
}
