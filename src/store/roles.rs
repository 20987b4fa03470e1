//! Who may do what. The person is the OS account running almoner; their
//! role is in the users list (`almoner user`). Every write checks here, so
//! the console, the command line and `exec` scripts are held alike; a
//! refusal says which role the act needs and is itself in the audit log.
//!
//! Until anyone is recorded as a user, everyone may do everything (a fresh
//! install, the demo). After that, an account the list does not know gets
//! what `unknown_users` says: `read` (the default) or `none`.

use serde_json::json;

use super::{Store, audit, q};
use crate::domain::Role;
use crate::error::{Error, Result};

/// Acts that change something, grouped as the roles are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Applications, qualification, papers, stages, notes, likely matches, publication consent.
    Medical,
    /// Placing money on cases; segments and mailings.
    Fundraising,
    /// Registers, donations, payments to clinics, payment orders, donors.
    Bookkeeping,
    /// Taking and handing over cases: every working role.
    Assign,
    /// Users, configuration, personal-data rules, reversals, migration.
    Admin,
}

impl Act {
    fn word(self) -> &'static str {
        match self {
            Act::Medical => "medical work (applications, papers, stages, notes)",
            Act::Fundraising => "placing money and mailings",
            Act::Bookkeeping => "registers, donations and payments",
            Act::Assign => "taking and handing over cases",
            Act::Admin => "users, configuration, personal data and reversals",
        }
    }

    pub fn allowed(self, role: Role) -> bool {
        match role {
            Role::Admin => true,
            Role::Viewer => false,
            Role::Medical => matches!(self, Act::Medical | Act::Assign),
            Role::Fundraiser => matches!(self, Act::Fundraising | Act::Assign),
            Role::Bookkeeper => matches!(self, Act::Bookkeeping | Act::Assign),
        }
    }

    fn roles(self) -> Vec<&'static str> {
        Role::ALL.iter().filter(|r| self.allowed(**r)).map(|r| r.as_str()).collect()
    }
}

/// A person's standing: their role, or how an account the list does not know is treated.
pub type Standing = std::result::Result<Role, Unknown>;

/// How long a standing read from the database is trusted: a role changed by
/// an admin holds in every running console within this time.
const FRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// What an account the users list does not know may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    Everything,
    Read,
    Nothing,
}

impl Store {
    /// How this process's person stands: their role, or how an unknown account is treated.
    /// Read in one query, and trusted for a couple of seconds (writes check it every time).
    pub async fn standing(&self) -> Result<Standing> {
        if let Some((at, s)) = *self.standing.lock().expect("not poisoned")
            && at.elapsed() < FRESH
        {
            return Ok(s);
        }
        let (role, anyone, policy): (Option<String>, bool, Option<String>) =
            q("SELECT (SELECT role FROM users WHERE name = $1), EXISTS (SELECT 1 FROM users),
                    (SELECT value FROM settings WHERE key = 'unknown_users')")
            .bind(self.actor())
            .fetch_one(&mut self.conn().await?)
            .await?;
        let s = match role.and_then(|r| r.parse::<Role>().ok()) {
            Some(role) => Ok(role),
            None if !anyone => Err(Unknown::Everything),
            None if policy.as_deref() == Some("none") => Err(Unknown::Nothing),
            None => Err(Unknown::Read),
        };
        *self.standing.lock().expect("not poisoned") = Some((std::time::Instant::now(), s));
        Ok(s)
    }

    /// Forgets the standing read, after this process changed the users list or the policy.
    pub(crate) fn forget_standing(&self) {
        *self.standing.lock().expect("not poisoned") = None;
    }

    /// Whether this person may do `act` (nothing logged: for work a console does by itself).
    pub async fn may(&self, act: Act) -> Result<bool> {
        Ok(match self.standing().await? {
            Ok(role) => act.allowed(role),
            Err(u) => u == Unknown::Everything,
        })
    }

    /// Refuses (and logs the refusal) unless this person may do `act`.
    pub async fn require(&self, act: Act) -> Result<()> {
        let (allowed, role) = match self.standing().await? {
            Ok(role) => (act.allowed(role), role.as_str().to_string()),
            Err(Unknown::Everything) => (true, String::new()),
            Err(_) => (false, "no role: not in the users list".to_string()),
        };
        if allowed {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        audit::record(
            &mut tx,
            self.actor(),
            "denied",
            "act",
            None,
            None,
            Some(json!({"act": act.word(), "role": role})),
        )
        .await?;
        tx.commit().await?;
        Err(Error::invalid(format!(
            "not allowed for your role ({}, {role}): {} is for {}",
            self.actor(),
            act.word(),
            act.roles().join(", ")
        )))
    }
}
