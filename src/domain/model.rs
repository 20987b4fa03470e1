//! The foundation's records, as the domain and every screen see them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::money::{Currency, Money};
use super::stage::{DocKind, Program, Stage, UnknownWord, word_enum};

word_enum!(
    /// How a donation reached the foundation.
    Channel, "channel", {
        Website => "website",
        Bank => "bank",
        Event => "event",
        Corporate => "corporate",
        Cash => "cash",
    }
);

word_enum!(
    /// What a staff member may do (enforced in the app layer).
    Role, "role", {
        Medical => "medical",
        Fundraiser => "fundraiser",
        Bookkeeper => "bookkeeper",
        Admin => "admin",
        Viewer => "viewer",
    }
);

word_enum!(
    /// What happens to the part of a designated donation its case cannot take.
    DesignatedPolicy, "designated-donation policy", {
        Hold => "hold",
        Redistribute => "redistribute",
    }
);

word_enum!(
    DonorKind, "donor kind", {
        Person => "person",
        Organisation => "organisation",
    }
);

/// Who a donation is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Designation {
    Unrestricted,
    Case(i64),
    Beneficiary(i64),
}

impl Designation {
    pub fn is_designated(self) -> bool {
        !matches!(self, Designation::Unrestricted)
    }
}

impl fmt::Display for Designation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Designation::Unrestricted => f.write_str("unrestricted"),
            Designation::Case(id) => write!(f, "case:{id}"),
            Designation::Beneficiary(id) => write!(f, "beneficiary:{id}"),
        }
    }
}

impl FromStr for Designation {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        let bad = || UnknownWord {
            what: "designation",
            got: s.to_string(),
            expected: "unrestricted, case:ID, beneficiary:ID".into(),
        };
        let t = s.trim();
        if t == "unrestricted" {
            return Ok(Designation::Unrestricted);
        }
        let (kind, id) = t.split_once(':').ok_or_else(bad)?;
        let id: i64 = id.trim().parse().map_err(|_| bad())?;
        match kind.trim() {
            "case" => Ok(Designation::Case(id)),
            "beneficiary" => Ok(Designation::Beneficiary(id)),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Designation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Beneficiary {
    pub id: i64,
    pub full_name: String,
    pub birth_date: Option<NaiveDate>,
    pub city: Option<String>,
}

/// One application for help, with its money figures.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub id: i64,
    pub beneficiary_id: i64,
    pub beneficiary: String,
    pub program: Program,
    pub clinic: String,
    pub diagnosis: String,
    pub stage: Stage,
    pub currency: Currency,
    pub target: Money,
    pub collected: Money,
    pub still_needed: Money,
    pub responsible: Option<String>,
    pub published: bool,
    pub stage_since: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Donor {
    pub id: i64,
    pub kind: DonorKind,
    pub name: String,
    pub inn: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Donation {
    pub id: i64,
    pub amount: Money,
    pub currency: Currency,
    pub allocated: Money,
    pub unallocated: Money,
    pub designation: Designation,
    pub received_on: NaiveDate,
    pub channel: Channel,
    pub payer: String,
    pub donor_id: Option<i64>,
    pub purpose: String,
    /// A person's recorded decision that a designated remainder may go elsewhere.
    pub released: bool,
    /// What the payment processor kept of it (zero for a gift that came straight to the bank).
    pub fee: Money,
    /// The processor's payout that settled it, once the bank statement has shown it.
    pub settled_by: Option<i64>,
}

/// An amount of one donation assigned to one case. Never edited: a
/// correction is a reversal row pointing at it.
#[derive(Debug, Clone, Serialize)]
pub struct Allocation {
    pub id: i64,
    pub donation_id: i64,
    pub case_id: i64,
    pub amount: Money,
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: Option<String>,
    pub reversed: bool,
    pub payer: String,
    pub channel: Channel,
}

#[derive(Debug, Clone, Serialize)]
pub struct Invoice {
    pub id: i64,
    pub number: String,
    pub date: NaiveDate,
    pub amount: Money,
    pub payee: String,
    /// Withdrawn (replaced by a corrected bill, say), it no longer counts; the history keeps it.
    pub live: bool,
    /// The invoice that replaced it, and why it changed.
    pub replaced_by: Option<i64>,
    pub reason: Option<String>,
    /// The payment order that paid it, once one has.
    pub paid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentOrder {
    pub number: String,
    pub date: NaiveDate,
    pub amount: Money,
    pub recorded_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub id: i64,
    pub kind: DocKind,
    pub file_name: String,
    pub sha256: String,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageChange {
    pub from: Option<Stage>,
    pub to: Stage,
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Qualification {
    pub diagnosis: String,
    pub treatment: String,
    pub clinic_fits: bool,
    pub approved_by: String,
    pub approved_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
}

/// Everything about one case, for `case show` and the case card.
#[derive(Debug, Clone, Serialize)]
pub struct CaseFile {
    #[serde(flatten)]
    pub case: Case,
    pub qualification: Option<Qualification>,
    /// The latest live invoice.
    pub invoice: Option<Invoice>,
    /// Every invoice the case has had, oldest first: live, paid, and withdrawn ones.
    pub invoices: Vec<Invoice>,
    pub payment_order: Option<PaymentOrder>,
    pub documents: Vec<Document>,
    pub missing_documents: Vec<DocKind>,
    /// The papers this case needs before fundraising (the foundation's checklist, or the built-in one).
    pub required_documents: Vec<DocKind>,
    pub allocations: Vec<Allocation>,
    pub history: Vec<StageChange>,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Per-stage count and sums, for the summary and the board's column heads.
#[derive(Debug, Clone, Serialize)]
pub struct StageSummary {
    pub stage: Stage,
    pub cases: i64,
    pub target: Money,
    pub collected: Money,
}

pub fn doc_kinds_text(kinds: &[DocKind]) -> String {
    kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}
