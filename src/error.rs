//! The library's one error type. Every variant a person can cause says what
//! went wrong, where (case id, donation id, file) and what to do.

use std::path::PathBuf;

use crate::domain::allocation::AllocationRefusal;
use crate::domain::money::MoneyError;
use crate::domain::stage::{GateRefusal, UnknownWord};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {id} does not exist: check the id (list them with `almoner {list}`)")]
    NotFound { what: &'static str, id: i64, list: &'static str },
    #[error("case {case}: {refusal}")]
    Gate { case: i64, refusal: GateRefusal },
    #[error("{0}")]
    Allocation(#[from] AllocationRefusal),
    #[error(
        "someone else changed the figures meanwhile: {0}. Nothing was written; look at the fresh figures and try again"
    )]
    Conflict(String),
    #[error("{0}")]
    Money(#[from] MoneyError),
    #[error("{0}")]
    Word(#[from] UnknownWord),
    #[error("{0}")]
    Invalid(String),
    #[error("internal check failed, nothing was written: {0}. Please report this")]
    Invariant(String),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    /// A register with problems no one accepted: nothing was written. The preview says what the
    /// import would have done.
    #[error("{}", unreconciled(&.0.file, &.0.problems))]
    Unreconciled(Box<crate::store::Preview>),
    #[error("{}", db_message(.0))]
    Db(#[from] sqlx::Error),
}

fn db_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("5" | "6" | "517")) => {
            "the database is busy: someone else is saving. Nothing of yours was written; try again".to_string()
        }
        sqlx::Error::PoolTimedOut => "the database did not answer in time. Nothing was written; try again".to_string(),
        // A rule of the schema refused a change that the checks before it let through: say which
        // rule, never the engine's raw words.
        sqlx::Error::Database(d)
            if d.is_check_violation() || d.is_unique_violation() || d.is_foreign_key_violation() =>
        {
            let rule = d.constraint().map(str::to_string).unwrap_or_else(|| rule_in(d.message()));
            let kind = if d.is_check_violation() {
                "a value the rule does not allow (an amount of nothing, say)"
            } else if d.is_unique_violation() {
                "something recorded already"
            } else {
                "a reference to something that does not exist"
            };
            format!(
                "the database refused {kind} (rule {rule}); nothing was written. This should have been caught earlier: please report it"
            )
        }
        other => format!("database: {other}"),
    }
}

/// The rule a refusal names: `CHECK constraint failed: amount > 0` → `amount > 0`.
fn rule_in(message: &str) -> String {
    message.rsplit(": ").next().unwrap_or(message).trim().to_string()
}

fn unreconciled(file: &str, problems: &[String]) -> String {
    let file = crate::text::inert(file);
    let mut out = format!("{file} does not reconcile, so nothing was imported:");
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&crate::text::inert(p));
    }
    out.push_str(
        "\nCorrect the file and import it again, or import the rest with --accept-problems \"REASON\" \
         (the batch keeps who accepted which problems and why, and waits on the bookkeeper's queue until dealt with)",
    );
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }

    pub fn case_not_found(id: i64) -> Error {
        Error::NotFound { what: "case", id, list: "case list" }
    }

    pub fn donation_not_found(id: i64) -> Error {
        Error::NotFound { what: "donation", id, list: "donation list" }
    }
}
