//! The pipeline: stages, programs, and the gates between stages (DESIGN §2).
//! Pure: the store gathers [`GateFacts`] inside its write transaction and
//! asks [`check_transition`] whether a move is allowed.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::money::Money;

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, UnknownWord> {
                let t = s.trim().to_ascii_lowercase().replace('-', "_");
                match t.as_str() {
                    $($word => Ok($name::$variant),)+
                    _ => Err(UnknownWord {
                        what: $what,
                        got: s.to_string(),
                        expected: vec![$($word),+].join(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use word_enum;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {got:?}: expected one of {expected}")]
pub struct UnknownWord {
    pub what: &'static str,
    pub got: String,
    pub expected: String,
}

word_enum!(
    /// Where a case stands in the pipeline.
    Stage, "stage", {
        Qualification => "qualification",
        Documents => "documents",
        Fundraising => "fundraising",
        Payment => "payment",
        Paid => "paid",
        Closed => "closed",
        Rejected => "rejected",
        OnHold => "on_hold",
    }
);

word_enum!(
    /// What kind of help a case asks for; the pipeline is the same for all.
    Program, "program", {
        Treatment => "treatment",
        Rehabilitation => "rehabilitation",
        Equipment => "equipment",
        Research => "research",
    }
);

impl Program {
    /// The program's bit in a donation's `programs` (migration 0021 spells the same bits in SQL).
    pub fn bit(self) -> i64 {
        1 << (self as i64)
    }
}

word_enum!(
    /// The kinds of paper a case collects.
    DocKind, "document kind", {
        Invoice => "invoice",
        MedicalReport => "medical_report",
        PublicationConsent => "publication_consent",
        Act => "act",
        PaymentOrder => "payment_order",
        Photo => "photo",
        Other => "other",
    }
);

impl Stage {
    /// The stages shown as board columns, in pipeline order.
    pub const BOARD: [Stage; 5] =
        [Stage::Qualification, Stage::Documents, Stage::Fundraising, Stage::Payment, Stage::Paid];

    pub fn is_open(self) -> bool {
        !matches!(self, Stage::Closed | Stage::Rejected)
    }
}

/// The papers each program requires before fundraising opens. A publication
/// consent is required in addition wherever the case is to be published.
pub fn required_documents(program: Program, published: bool) -> Vec<DocKind> {
    checklist(program, published, None)
}

/// The papers a case needs before fundraising: the foundation's own
/// checklist for the program (`configured`, from the `documents.PROGRAM`
/// setting) or the built-in one, plus the publication consent when the case
/// will be published.
pub fn checklist(program: Program, published: bool, configured: Option<&[DocKind]>) -> Vec<DocKind> {
    let mut kinds = match (configured, program) {
        (Some(list), _) => list.to_vec(),
        (None, Program::Treatment | Program::Rehabilitation) => vec![DocKind::Invoice, DocKind::MedicalReport],
        (None, Program::Equipment | Program::Research) => vec![DocKind::Invoice],
    };
    if published && !kinds.contains(&DocKind::PublicationConsent) {
        kinds.push(DocKind::PublicationConsent);
    }
    kinds
}

/// `invoice, medical_report, act`: a checklist as the setting writes it.
pub fn parse_checklist(text: &str) -> Result<Vec<DocKind>, String> {
    let mut kinds = Vec::new();
    for word in text.split([',', ' ']).map(str::trim).filter(|w| !w.is_empty()) {
        let kind: DocKind = word.parse().map_err(|e: UnknownWord| e.to_string())?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err("the checklist is empty: name at least one document kind".into());
    }
    Ok(kinds)
}

/// Everything the gates look at, read inside the write transaction.
#[derive(Debug, Clone, Default)]
pub struct GateFacts {
    pub program: Option<Program>,
    /// The foundation's own papers checklist for the program, if it set one.
    pub checklist: Option<Vec<DocKind>>,
    pub published: bool,
    /// Qualification checklist recorded, with who approved it.
    pub qualified_by: Option<String>,
    pub attached: Vec<DocKind>,
    /// An invoice record with number, date, amount and payee.
    pub invoice_complete: bool,
    pub target: Money,
    pub collected: Money,
    pub payment_order_recorded: bool,
    /// Stage the case was in before going on hold (for resuming).
    pub held_from: Option<Stage>,
}

/// Why a move between stages was refused: says what is missing and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move from {from} to {to}: {reason}")]
pub struct GateRefusal {
    pub from: Stage,
    pub to: Stage,
    pub reason: String,
}

/// Where an on-hold case goes back to: where it was held from, except that
/// a case held from payment that has since lost money (a reversal) resumes
/// to fundraising.
pub fn resumes_to(f: &GateFacts) -> Option<Stage> {
    match f.held_from? {
        Stage::Payment if f.collected < f.target => Some(Stage::Fundraising),
        prev => Some(prev),
    }
}

/// Is a person allowed to move a case from `from` to `to`? Automatic moves
/// (fundraising → payment on the completing allocation, payment → fundraising
/// on a reversal, payment → paid on a payment order) are made by the store
/// itself and do not pass through here.
pub fn check_transition(from: Stage, to: Stage, f: &GateFacts) -> Result<(), GateRefusal> {
    use Stage::*;
    let refuse = |reason: String| Err(GateRefusal { from, to, reason });
    if from == to {
        return refuse(format!("the case is already in {to}"));
    }
    match (from, to) {
        (Closed | Rejected, _) => refuse(format!("a {from} case is final")),
        (_, Rejected) if f.collected.is_positive() => {
            refuse(format!("{} is allocated to it; reverse those allocations first", f.collected))
        }
        (Qualification | Documents | Fundraising | OnHold, Rejected) => Ok(()),
        (Qualification | Documents | Fundraising | Payment, OnHold) => Ok(()),
        (OnHold, back) => match resumes_to(f) {
            Some(home) if home == back => Ok(()),
            Some(home) => refuse(format!("an on-hold case resumes to where it was held from ({home})")),
            None => refuse("no record of where the case was held from".into()),
        },
        (Qualification, Documents) => match &f.qualified_by {
            Some(_) => Ok(()),
            None => refuse(
                "the qualification checklist (diagnosis, treatment type, clinic fits the program) \
                 is not recorded; record it with `case qualify`"
                    .into(),
            ),
        },
        (Documents, Fundraising) => {
            let program = f.program.unwrap_or(Program::Treatment);
            let missing: Vec<&str> = checklist(program, f.published, f.checklist.as_deref())
                .into_iter()
                .filter(|k| !f.attached.contains(k))
                .map(DocKind::as_str)
                .collect();
            if !missing.is_empty() {
                return refuse(format!(
                    "missing documents for {program}: {}; attach them with `case attach`",
                    missing.join(", ")
                ));
            }
            if !f.invoice_complete {
                return refuse(
                    "the clinic invoice's number, date, amount and payee are not recorded; \
                     record them with `case invoice`"
                        .into(),
                );
            }
            if !f.target.is_positive() {
                return refuse("the target is not set (must be > 0)".into());
            }
            Ok(())
        }
        (Fundraising, Payment) => refuse(format!(
            "collected {} of {}: a case moves to payment by itself when fully funded",
            f.collected, f.target
        )),
        (Payment, Paid) => {
            if f.payment_order_recorded {
                Ok(())
            } else {
                refuse("no payment order paying the invoice is recorded; record it with `case pay`".into())
            }
        }
        (Paid, Closed) => {
            if f.attached.contains(&DocKind::Act) {
                Ok(())
            } else {
                refuse("the clinic's act is not attached; attach it with `case attach --kind act`".into())
            }
        }
        _ => refuse("that is not a step of the pipeline".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready_for_fundraising() -> GateFacts {
        GateFacts {
            program: Some(Program::Treatment),
            published: true,
            qualified_by: Some("ivanova".into()),
            attached: vec![DocKind::Invoice, DocKind::MedicalReport, DocKind::PublicationConsent],
            invoice_complete: true,
            target: Money::from_minor(100),
            ..Default::default()
        }
    }

    #[test]
    fn qualification_needs_the_checklist() {
        let f = GateFacts::default();
        let e = check_transition(Stage::Qualification, Stage::Documents, &f).unwrap_err();
        assert!(e.reason.contains("checklist"), "{e}");
        let f = GateFacts { qualified_by: Some("x".into()), ..f };
        assert!(check_transition(Stage::Qualification, Stage::Documents, &f).is_ok());
    }

    #[test]
    fn fundraising_needs_every_paper_and_a_target() {
        let ok = ready_for_fundraising();
        assert!(check_transition(Stage::Documents, Stage::Fundraising, &ok).is_ok());
        for missing in [DocKind::Invoice, DocKind::MedicalReport, DocKind::PublicationConsent] {
            let mut f = ok.clone();
            f.attached.retain(|k| *k != missing);
            let e = check_transition(Stage::Documents, Stage::Fundraising, &f).unwrap_err();
            assert!(e.reason.contains(missing.as_str()), "{e}");
        }
        let mut unpublished = ok.clone();
        unpublished.published = false;
        unpublished.attached.retain(|k| *k != DocKind::PublicationConsent);
        assert!(check_transition(Stage::Documents, Stage::Fundraising, &unpublished).is_ok());
        let f = GateFacts { invoice_complete: false, ..ok.clone() };
        assert!(check_transition(Stage::Documents, Stage::Fundraising, &f).unwrap_err().reason.contains("invoice"));
        let f = GateFacts { target: Money::ZERO, ..ok };
        assert!(check_transition(Stage::Documents, Stage::Fundraising, &f).unwrap_err().reason.contains("target"));
    }

    #[test]
    fn payment_is_never_by_hand() {
        let f = GateFacts { target: Money::from_minor(10), collected: Money::from_minor(5), ..Default::default() };
        assert!(check_transition(Stage::Fundraising, Stage::Payment, &f).is_err());
    }

    #[test]
    fn paid_and_closed_need_their_papers() {
        let f = GateFacts::default();
        assert!(check_transition(Stage::Payment, Stage::Paid, &f).is_err());
        assert!(check_transition(Stage::Paid, Stage::Closed, &f).is_err());
        let f = GateFacts { payment_order_recorded: true, attached: vec![DocKind::Act], ..f };
        assert!(check_transition(Stage::Payment, Stage::Paid, &f).is_ok());
        assert!(check_transition(Stage::Paid, Stage::Closed, &f).is_ok());
    }

    #[test]
    fn no_skipping_and_no_leaving_final_stages() {
        let f = ready_for_fundraising();
        assert!(check_transition(Stage::Qualification, Stage::Fundraising, &f).is_err());
        assert!(check_transition(Stage::Closed, Stage::Paid, &f).is_err());
        assert!(check_transition(Stage::Rejected, Stage::Qualification, &f).is_err());
    }

    #[test]
    fn funded_money_blocks_rejection_and_hold_resumes_home() {
        let f = GateFacts { collected: Money::from_minor(1), ..Default::default() };
        assert!(check_transition(Stage::Fundraising, Stage::Rejected, &f).is_err());
        let f = GateFacts { held_from: Some(Stage::Documents), ..Default::default() };
        assert!(check_transition(Stage::OnHold, Stage::Documents, &f).is_ok());
        assert!(check_transition(Stage::OnHold, Stage::Fundraising, &f).is_err());
    }

    #[test]
    fn a_case_held_from_payment_that_lost_money_resumes_to_fundraising() {
        let full = GateFacts {
            held_from: Some(Stage::Payment),
            target: Money::from_minor(10),
            collected: Money::from_minor(10),
            ..Default::default()
        };
        assert!(check_transition(Stage::OnHold, Stage::Payment, &full).is_ok());
        let short = GateFacts { collected: Money::from_minor(4), ..full.clone() };
        assert!(check_transition(Stage::OnHold, Stage::Payment, &short).is_err());
        assert!(check_transition(Stage::OnHold, Stage::Fundraising, &short).is_ok());
        let empty = GateFacts { collected: Money::ZERO, ..full };
        assert!(check_transition(Stage::OnHold, Stage::Rejected, &empty).is_ok());
    }

    #[test]
    fn words_parse_and_name_the_choices() {
        assert_eq!("on-hold".parse::<Stage>().unwrap(), Stage::OnHold);
        let e = "funding".parse::<Stage>().unwrap_err();
        assert!(e.to_string().contains("fundraising"));
    }
}
