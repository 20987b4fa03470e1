//! The website's view of open fundraisers: cases in `fundraising` whose
//! publication consent is recorded, with only the fields the consent allows.
//! [`crate::publish`] writes them out as a feed and pages.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use super::{Store, audit, q};
use crate::domain::Money;
use crate::error::{Error, Result};

/// What a consent can allow besides the amounts, which every fundraiser shows.
pub const FIELDS: [&str; 5] = ["first_name", "age", "city", "photo", "diagnosis"];
/// Allowed when the consent says nothing more.
pub const DEFAULT_FIELDS: [&str; 3] = ["first_name", "age", "city"];

/// One open fundraiser as the website may show it: absent fields are not allowed, or not known.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Public {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// The photo's checksum and file name ending (the file is copied beside the feed).
    #[serde(skip)]
    pub photo: Option<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    pub currency: String,
    pub target: Money,
    pub collected: Money,
    pub still_needed: Money,
}

/// A first name from a full name written surname first ("Иванова Мария Петровна" → "Мария").
pub fn first_name(full: &str) -> Option<String> {
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.len() {
        0 => None,
        1 => Some(words[0].to_string()),
        _ => Some(words[1].to_string()),
    }
}

fn age_on(born: NaiveDate, day: NaiveDate) -> i64 {
    use chrono::Datelike;
    let mut years = i64::from(day.year() - born.year());
    if (day.month(), day.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years.max(0)
}

pub fn parse_fields(list: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for f in list.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        if !FIELDS.contains(&f) {
            return Err(Error::invalid(format!("{f:?} is not a field a consent can allow: {}", FIELDS.join(", "))));
        }
        if !out.iter().any(|o: &String| o == f) {
            out.push(f.to_string());
        }
    }
    Ok(out)
}

impl Store {
    /// Records what the family's consent allows the website to show (and the diagnosis in lay
    /// words), or withdraws it: the case leaves the feed on the next publish.
    pub async fn set_consent(
        &self,
        case: i64,
        fields: Option<&[String]>,
        lay: Option<&str>,
        withdraw: bool,
    ) -> Result<()> {
        self.require(super::Act::Medical).await?;
        let mut tx = self.begin_write().await?;
        let before: Option<(i64, Option<String>, Option<String>)> =
            q("SELECT published, publish_fields, lay_diagnosis FROM cases WHERE id = $1")
                .bind(case)
                .fetch_optional(&mut tx)
                .await?;
        let before = before.ok_or_else(|| Error::case_not_found(case))?;
        let fields = fields.map(|f| f.join(","));
        if withdraw {
            q("UPDATE cases SET published = 0 WHERE id = $1").bind(case).execute(&mut tx).await?;
        } else {
            q("UPDATE cases SET published = 1, publish_fields = COALESCE($1, publish_fields),
                    lay_diagnosis = COALESCE($2, lay_diagnosis) WHERE id = $3")
            .bind(&fields)
            .bind(lay.map(str::trim))
            .bind(case)
            .execute(&mut tx)
            .await?;
        }
        audit::record(
            &mut tx,
            self.actor(),
            if withdraw { "case.consent_withdrawn" } else { "case.consent" },
            "case",
            Some(case),
            Some(json!({"published": before.0 != 0, "fields": before.1, "lay_diagnosis": before.2})),
            Some(json!({"published": !withdraw, "fields": fields, "lay_diagnosis": lay})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every open fundraiser the website may show, as of `day`: in fundraising,
    /// meant to be published, its publication consent among its papers.
    pub async fn public_fundraisers(&self, day: NaiveDate) -> Result<Vec<Public>> {
        type Row = (i64, String, Option<NaiveDate>, Option<String>, Option<String>, Option<String>, String, i64, i64);
        let rows: Vec<Row> = q(
            "SELECT c.id, b.full_name, b.birth_date, b.city, c.publish_fields, c.lay_diagnosis, c.currency, c.target, c.collected
             FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id
             WHERE c.stage = 'fundraising' AND c.published = 1
               AND EXISTS (SELECT 1 FROM documents d WHERE d.case_id = c.id AND d.kind = 'publication_consent')
             ORDER BY c.fundraising_since, c.id",
        )
        .fetch_all(&mut self.conn().await?)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, name, born, city, fields, lay, currency, target, collected) in rows {
            let allowed: Vec<String> = match fields {
                Some(f) => parse_fields(&f).unwrap_or_default(),
                None => DEFAULT_FIELDS.iter().map(|f| f.to_string()).collect(),
            };
            let may = |f: &str| allowed.iter().any(|a| a == f);
            let photo = if may("photo") {
                q(
                    "SELECT sha256, file_name FROM documents WHERE case_id = $1 AND kind = 'photo' ORDER BY id DESC LIMIT 1",
                )
                .bind(id)
                .fetch_optional(&mut self.conn().await?)
                .await?
                .map(|(sha, name): (String, String)| {
                    let ext = std::path::Path::new(&name)
                        .extension()
                        .and_then(|e| e.to_str())
                        .map(str::to_lowercase)
                        .filter(|e| matches!(e.as_str(), "jpg" | "jpeg" | "png" | "webp"))
                        .unwrap_or_else(|| "jpg".into());
                    (sha, ext)
                })
            } else {
                None
            };
            let (target, collected) = (Money::from_minor(target), Money::from_minor(collected));
            out.push(Public {
                id,
                first_name: may("first_name").then(|| first_name(&name)).flatten(),
                age: may("age").then(|| born.map(|b| age_on(b, day))).flatten(),
                city: may("city").then_some(city).flatten(),
                photo,
                diagnosis: may("diagnosis").then_some(lay).flatten().filter(|d| !d.trim().is_empty()),
                currency,
                target,
                collected,
                still_needed: target.minus_or_zero(collected),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_names_ages_and_fields() {
        assert_eq!(first_name("Иванова Мария Петровна").as_deref(), Some("Мария"));
        assert_eq!(first_name("Мария").as_deref(), Some("Мария"));
        assert_eq!(first_name("  "), None);
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(age_on(d("2015-07-01"), d("2026-06-30")), 10);
        assert_eq!(age_on(d("2015-06-30"), d("2026-06-30")), 11);
        assert_eq!(parse_fields("age, photo,age").unwrap(), vec!["age", "photo"]);
        assert!(parse_fields("age,address").unwrap_err().to_string().contains("address"));
    }
}
