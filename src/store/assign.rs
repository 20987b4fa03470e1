//! Who looks after a case (`responsible`): taken, assigned or handed over,
//! with a note; released back to everyone of the right role. Every change
//! is in the audit log with the note.

use serde_json::json;

use super::{Store, audit, q};
use crate::error::{Error, Result};

impl Store {
    /// Makes `person` responsible for `case` (`None`: nobody, the case is open to all); the one before.
    pub async fn assign(&self, case: i64, person: Option<&str>, note: Option<&str>) -> Result<Option<String>> {
        self.require(super::Act::Assign).await?;
        let person = person.map(str::trim).filter(|p| !p.is_empty());
        if let Some(p) = person
            && (p.chars().any(char::is_control) || p.len() > 64)
        {
            return Err(Error::invalid(format!("{p:?} is not a person's account name")));
        }
        let mut tx = self.begin_write().await?;
        let before: Option<Option<String>> =
            q("SELECT responsible FROM cases WHERE id = $1").bind(case).scalar_optional(&mut tx).await?;
        let before = before.ok_or(Error::NotFound { what: "case", id: case, list: "case list" })?;
        q("UPDATE cases SET responsible = $1 WHERE id = $2").bind(person).bind(case).execute(&mut tx).await?;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        audit::record(
            &mut tx,
            self.actor(),
            "case.assign",
            "case",
            Some(case),
            Some(json!({"responsible": before})),
            Some(json!({"responsible": person, "note": note})),
        )
        .await?;
        if let Some(p) = person
            && before.as_deref() != Some(p)
        {
            let text = match note {
                Some(n) => format!("{} handed you case {case}: {n}", self.actor()),
                None => format!("{} handed you case {case}", self.actor()),
            };
            super::notices::notify(
                &mut tx,
                super::notices::Audience::Person(p),
                self.actor(),
                "assigned",
                &text,
                Some(case),
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(before)
    }
}
