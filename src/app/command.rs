//! The one command language: key bindings, the `:` prompt, macros and
//! headless scripts (`almoner exec`) all resolve to [`Command`]. The registry
//! gives every command its name, arguments and doc line; `?` help and `:`
//! completion are built from it, so they cannot drift from behaviour.

use std::str::FromStr;

use chrono::NaiveDate;

use crate::domain::{Channel, DocKind, Money, Program, Stage};

use super::i18n::Lang;

/// Where `goto` can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Board,
    Donations,
    Payments,
    Imports,
    Reviews,
    Donors,
    Work,
    Notices,
    Reports,
    Segments,
    Privacy,
    Case(i64),
}

/// Filters typed as `filter program=treatment Иванов`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub program: Option<Program>,
    pub responsible: Option<String>,
    pub channel: Option<Channel>,
    pub designated: Option<bool>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub text: Option<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Goto(Place),
    Split(i64),
    Filter(Filter),
    Quit,
    Up,
    Down,
    Left,
    Right,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    Back,
    Prompt(String),
    Help,
    Refresh,
    NextTab,
    PrevTab,
    /// Become responsible for the open case.
    Take,
    /// Make PERSON responsible for the open case (`None`: nobody).
    Assign(Option<String>),
    Advance {
        to: Stage,
        reason: Option<String>,
    },
    Attach {
        kind: DocKind,
        path: String,
    },
    EditNotes,
    SaveNotes,
    Mark,
    Fill,
    Evenly,
    OldestFirst,
    ClearRow,
    Confirm,
    Place,
    Pay {
        order: String,
        date: NaiveDate,
    },
    Allocate {
        donation: i64,
        lines: Vec<(i64, Money)>,
        reason: Option<String>,
    },
    Reverse {
        allocation: i64,
        reason: String,
    },
    Lang(Lang),
    Verify,
    Import(String),
    Undo,
    /// Accept (or drop) the selected row's suggested case.
    Accept,
    /// Accept every suggestion in the preview.
    AcceptAll,
    /// Designate the selected row to a case, or `None` to keep it unrestricted.
    Designate(Option<i64>),
    /// The two records under review are one child (fields as chosen).
    Merge,
    /// The two records under review are two children.
    KeepApart,
    /// Two donors are one: FROM merged INTO, or (`None`) the selected pair on
    /// the donor duplicates screen, the one with fewer gifts into the other.
    MergeDonors(Option<(i64, i64)>),
    /// Two donors are two people: the pair given, or the selected one.
    KeepDonorsApart {
        pair: Option<(i64, i64)>,
        reason: Option<String>,
    },
    /// The personal-data plan brought up to date as of today.
    GdprPlan,
    /// Hold back whoever the selected step of the personal-data plan is about, with the reason.
    GdprExclude(Option<String>),
    /// Import the previewed register although it does not reconcile, for the reason given.
    AcceptProblems(Option<String>),
    /// An import batch's problems are dealt with: off the work queue.
    Dismiss,
    /// The segment screen's filters (KEY=VALUE words; none clears).
    Segment(String),
    SaveSegment(String),
    ExportSegment {
        path: String,
        fields: Vec<String>,
    },
    Noop,
}

/// One entry of the registry.
pub struct Spec {
    pub name: &'static str,
    pub args: &'static str,
    pub doc: &'static str,
}

pub const REGISTRY: &[Spec] = &[
    Spec {
        name: "goto",
        args: "work|board|donations|payments|imports|reviews|donors|notices|reports|segments|privacy|case ID",
        doc: "open a screen",
    },
    Spec { name: "split", args: "DONATION_ID", doc: "place an unrestricted donation across fundraising cases" },
    Spec {
        name: "filter",
        args: "[program=P] [responsible=NAME] [channel=C] [designated=yes|no] [from=DATE] [to=DATE] [TEXT]",
        doc: "filter this screen; no arguments clears",
    },
    Spec { name: "quit", args: "", doc: "leave almoner (nothing unconfirmed is written)" },
    Spec { name: "up", args: "", doc: "move up" },
    Spec { name: "down", args: "", doc: "move down" },
    Spec { name: "left", args: "", doc: "previous column" },
    Spec { name: "right", args: "", doc: "next column" },
    Spec { name: "top", args: "", doc: "first row" },
    Spec { name: "bottom", args: "", doc: "last row" },
    Spec { name: "page-up", args: "", doc: "one page up" },
    Spec { name: "page-down", args: "", doc: "one page down" },
    Spec { name: "open", args: "", doc: "open what is selected" },
    Spec { name: "back", args: "", doc: "go back / cancel" },
    Spec { name: "prompt", args: "[TEXT]", doc: "open the command prompt" },
    Spec { name: "help", args: "", doc: "show the keys in force here" },
    Spec { name: "refresh", args: "", doc: "reload figures from the database" },
    Spec { name: "next-tab", args: "", doc: "next part of the case card" },
    Spec { name: "prev-tab", args: "", doc: "previous part of the case card" },
    Spec { name: "advance", args: "STAGE [REASON]", doc: "move the case to STAGE through its gate" },
    Spec { name: "take", args: "", doc: "become responsible for the open case" },
    Spec { name: "assign", args: "PERSON|none", doc: "hand the open case to PERSON, or to nobody" },
    Spec { name: "reject", args: "REASON", doc: "reject the case" },
    Spec { name: "hold", args: "REASON", doc: "put the case on hold" },
    Spec { name: "attach", args: "KIND PATH", doc: "attach a file to the case" },
    Spec { name: "edit-notes", args: "", doc: "edit the case's notes" },
    Spec { name: "save-notes", args: "", doc: "save the notes being edited" },
    Spec { name: "mark", args: "", doc: "mark or unmark this row" },
    Spec { name: "fill", args: "", doc: "fill this row's remaining need" },
    Spec { name: "evenly", args: "", doc: "split what is left evenly across marked rows" },
    Spec { name: "oldest-first", args: "", doc: "fill rows oldest fundraising first" },
    Spec { name: "clear-row", args: "", doc: "clear this row's amount" },
    Spec { name: "confirm", args: "", doc: "write the split, all in one transaction" },
    Spec { name: "place", args: "", doc: "place a designated donation on its case" },
    Spec { name: "pay", args: "ORDER DATE", doc: "record the payment order that paid this case" },
    Spec { name: "allocate", args: "DONATION CASE=AMOUNT… [reason=TEXT]", doc: "allocate a donation (for scripts)" },
    Spec { name: "reverse", args: "ALLOCATION REASON", doc: "reverse an allocation" },
    Spec { name: "lang", args: "en|ru", doc: "screen language" },
    Spec {
        name: "import",
        args: "PATH [--profile PROFILE]",
        doc: "preview a register file on the import screen (Enter imports it)",
    },
    Spec { name: "accept", args: "", doc: "accept or drop the selected payment's suggested case" },
    Spec { name: "accept-all", args: "", doc: "accept every suggested case in the preview" },
    Spec {
        name: "designate",
        args: "CASE|none",
        doc: "designate the selected payment to a case, or keep it unrestricted",
    },
    Spec { name: "merge", args: "", doc: "one child: merge the new record into the earlier one, fields as chosen" },
    Spec { name: "keep-apart", args: "", doc: "two children: keep the records apart" },
    Spec {
        name: "merge-donors",
        args: "[FROM INTO]",
        doc: "two donors are one: FROM into INTO, or the selected pair (fewer gifts into the other)",
    },
    Spec {
        name: "keep-donors-apart",
        args: "[A B] [REASON]",
        doc: "two donors are two people: the pair given, or the selected one",
    },
    Spec {
        name: "segment",
        args: "[KEY=VALUE…]",
        doc: "on segments: the filters (paid_from, min_total, recurring=yes…)",
    },
    Spec { name: "save-segment", args: "NAME", doc: "on segments: save the filters under NAME" },
    Spec {
        name: "export-segment",
        args: "PATH [FIELD,…]",
        doc: "on segments: write the reachable donors as CSV for Unisender",
    },
    Spec {
        name: "accept-problems",
        args: "REASON",
        doc: "on the import preview: import a register that does not reconcile, saying why its problems are accepted",
    },
    Spec { name: "dismiss", args: "", doc: "on my work: an import batch's problems are dealt with, off the queue" },
    Spec { name: "gdpr-plan", args: "", doc: "bring the personal-data plan up to date as of today (admins)" },
    Spec {
        name: "gdpr-exclude",
        args: "REASON",
        doc: "on the personal-data plan: hold back the donor or child the selected step is about",
    },
    Spec {
        name: "undo",
        args: "",
        doc: "undo the selected import batch (only while none of it is allocated), or the last review or donor decision",
    },
    Spec { name: "verify", args: "", doc: "check every money invariant (in the background)" },
    Spec { name: "noop", args: "", doc: "do nothing (unbinds a key)" },
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command {0:?}: type : and Tab to see the commands")]
    Unknown(String),
    #[error("{name}: {problem} (usage: {name} {usage})")]
    Args { name: String, problem: String, usage: &'static str },
}

/// Splits a command line into words; "double quotes" keep spaces.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

fn spec(name: &str) -> Option<&'static Spec> {
    REGISTRY.iter().find(|s| s.name == name)
}

/// Names of commands starting with `prefix`, for `:` completion.
pub fn complete(prefix: &str) -> Vec<&'static str> {
    REGISTRY.iter().map(|s| s.name).filter(|n| n.starts_with(prefix)).collect()
}

impl FromStr for Command {
    type Err = CommandError;
    fn from_str(line: &str) -> Result<Command, CommandError> {
        let w = words(line);
        let Some(name) = w.first() else {
            return Err(CommandError::Unknown(String::new()));
        };
        let spec = spec(name).ok_or_else(|| CommandError::Unknown(name.clone()))?;
        let args = &w[1..];
        let fail = |problem: String| CommandError::Args { name: name.clone(), problem, usage: spec.args };
        let id = |s: Option<&String>, what: &str| -> Result<i64, CommandError> {
            let s = s.ok_or_else(|| fail(format!("{what} is missing")))?;
            s.parse().map_err(|_| fail(format!("{s:?} is not a {what}")))
        };
        let rest = |from: usize| -> Option<String> { (args.len() > from).then(|| args[from..].join(" ")) };
        let none = |cmd: Command| if args.is_empty() { Ok(cmd) } else { Err(fail("takes no arguments".into())) };
        match spec.name {
            "goto" => match args.first().map(String::as_str) {
                Some("board") => Ok(Command::Goto(Place::Board)),
                Some("donations") => Ok(Command::Goto(Place::Donations)),
                Some("payments") => Ok(Command::Goto(Place::Payments)),
                Some("imports") => Ok(Command::Goto(Place::Imports)),
                Some("reviews") => Ok(Command::Goto(Place::Reviews)),
                Some("donors") => Ok(Command::Goto(Place::Donors)),
                Some("work") => Ok(Command::Goto(Place::Work)),
                Some("notices") => Ok(Command::Goto(Place::Notices)),
                Some("reports") => Ok(Command::Goto(Place::Reports)),
                Some("segments") => Ok(Command::Goto(Place::Segments)),
                Some("privacy") => Ok(Command::Goto(Place::Privacy)),
                Some("case") => Ok(Command::Goto(Place::Case(id(args.get(1), "case id")?))),
                Some(other) => Err(fail(format!("no screen called {other:?}"))),
                None => Err(fail("which screen?".into())),
            },
            "split" => Ok(Command::Split(id(args.first(), "donation id")?)),
            "filter" => parse_filter(args).map(Command::Filter).map_err(fail),
            "quit" => none(Command::Quit),
            "up" => none(Command::Up),
            "down" => none(Command::Down),
            "left" => none(Command::Left),
            "right" => none(Command::Right),
            "top" => none(Command::Top),
            "bottom" => none(Command::Bottom),
            "page-up" => none(Command::PageUp),
            "page-down" => none(Command::PageDown),
            "open" => none(Command::Open),
            "back" => none(Command::Back),
            "prompt" => Ok(Command::Prompt(rest(0).map(|r| format!("{r} ")).unwrap_or_default())),
            "help" => none(Command::Help),
            "refresh" => none(Command::Refresh),
            "next-tab" => none(Command::NextTab),
            "prev-tab" => none(Command::PrevTab),
            "take" => none(Command::Take),
            "assign" => match args.first().map(String::as_str) {
                None => Err(fail("to whom? an account name, or none".into())),
                Some("none") => Ok(Command::Assign(None)),
                Some(p) => Ok(Command::Assign(Some(p.to_string()))),
            },
            "advance" => {
                let to = args.first().ok_or_else(|| fail("which stage?".into()))?;
                let to = to.parse::<Stage>().map_err(|e| fail(e.to_string()))?;
                Ok(Command::Advance { to, reason: rest(1) })
            }
            "reject" | "hold" => {
                let reason = rest(0).ok_or_else(|| fail("give the reason".into()))?;
                let to = if spec.name == "reject" { Stage::Rejected } else { Stage::OnHold };
                Ok(Command::Advance { to, reason: Some(reason) })
            }
            "attach" => {
                let kind = args.first().ok_or_else(|| fail("which kind of paper?".into()))?;
                let kind = kind.parse::<DocKind>().map_err(|e| fail(e.to_string()))?;
                let path = rest(1).ok_or_else(|| fail("give the file's path".into()))?;
                Ok(Command::Attach { kind, path })
            }
            "edit-notes" => none(Command::EditNotes),
            "save-notes" => none(Command::SaveNotes),
            "mark" => none(Command::Mark),
            "fill" => none(Command::Fill),
            "evenly" => none(Command::Evenly),
            "oldest-first" => none(Command::OldestFirst),
            "clear-row" => none(Command::ClearRow),
            "confirm" => none(Command::Confirm),
            "place" => none(Command::Place),
            "pay" => {
                let order = args.first().ok_or_else(|| fail("give the payment order's number".into()))?.clone();
                let date = args.get(1).ok_or_else(|| fail("give the payment order's date".into()))?;
                let date = crate::domain::parse::parse_date(date).map_err(fail)?;
                Ok(Command::Pay { order, date })
            }
            "allocate" => {
                let donation = id(args.first(), "donation id")?;
                if args.len() < 2 {
                    return Err(fail("give at least one CASE=AMOUNT".into()));
                }
                let reason = args[1..].iter().find_map(|a| a.strip_prefix("reason=")).map(str::to_string);
                let lines = args[1..]
                    .iter()
                    .filter(|a| !a.starts_with("reason="))
                    .map(|a| crate::domain::parse::parse_line(a))
                    .collect::<Result<Vec<_>, _>>();
                Ok(Command::Allocate { donation, lines: lines.map_err(fail)?, reason })
            }
            "reverse" => {
                let allocation = id(args.first(), "allocation id")?;
                Ok(Command::Reverse { allocation, reason: rest(1).ok_or_else(|| fail("give the reason".into()))? })
            }
            "lang" => match args.first().map(String::as_str) {
                Some("en") => Ok(Command::Lang(Lang::En)),
                Some("ru") => Ok(Command::Lang(Lang::Ru)),
                _ => Err(fail("en or ru".into())),
            },
            "verify" => none(Command::Verify),
            "import" => Ok(Command::Import(rest(0).ok_or_else(|| fail("give the file's path".into()))?)),
            "undo" => none(Command::Undo),
            "accept" => none(Command::Accept),
            "accept-all" => none(Command::AcceptAll),
            "designate" => match args.first().map(String::as_str) {
                Some("none") => Ok(Command::Designate(None)),
                _ => Ok(Command::Designate(Some(id(args.first(), "case id")?))),
            },
            "merge" => none(Command::Merge),
            "keep-apart" => none(Command::KeepApart),
            "merge-donors" => match (args.first(), args.get(1), args.len()) {
                (None, _, _) => Ok(Command::MergeDonors(None)),
                (Some(_), Some(_), 2) => {
                    Ok(Command::MergeDonors(Some((id(args.first(), "donor id")?, id(args.get(1), "donor id")?))))
                }
                _ => Err(fail("give both donors, FROM and INTO, or none for the selected pair".into())),
            },
            "keep-donors-apart" => {
                // Two numbers first name the pair; the rest is the reason.
                let pair = match (args.first().map(|a| a.parse::<i64>()), args.get(1).map(|a| a.parse::<i64>())) {
                    (Some(Ok(a)), Some(Ok(b))) => Some((a, b)),
                    (Some(Ok(_)), None) => return Err(fail("give both donors, or none for the selected pair".into())),
                    _ => None,
                };
                Ok(Command::KeepDonorsApart { reason: rest(if pair.is_some() { 2 } else { 0 }), pair })
            }
            "accept-problems" => Ok(Command::AcceptProblems(rest(0))),
            "dismiss" => none(Command::Dismiss),
            "gdpr-plan" => none(Command::GdprPlan),
            "gdpr-exclude" => Ok(Command::GdprExclude(rest(0))),
            "segment" => Ok(Command::Segment(rest(0).unwrap_or_default())),
            "save-segment" => Ok(Command::SaveSegment(rest(0).ok_or_else(|| fail("give the segment a name".into()))?)),
            "export-segment" => {
                let path = args.first().ok_or_else(|| fail("give the file's path".into()))?.clone();
                let fields = args.get(1).map(|f| f.split(',').map(str::to_string).collect()).unwrap_or_default();
                Ok(Command::ExportSegment { path, fields })
            }
            "noop" => none(Command::Noop),
            other => Err(CommandError::Unknown(other.to_string())),
        }
    }
}

fn parse_filter(args: &[String]) -> Result<Filter, String> {
    let mut f = Filter::default();
    let mut text = Vec::new();
    for a in args {
        match a.split_once('=') {
            Some(("program", v)) => {
                f.program = Some(v.parse().map_err(|e: crate::domain::stage::UnknownWord| e.to_string())?)
            }
            Some(("responsible", v)) => f.responsible = Some(v.to_string()),
            Some(("channel", v)) => {
                f.channel = Some(v.parse().map_err(|e: crate::domain::stage::UnknownWord| e.to_string())?)
            }
            Some(("designated", v)) => {
                f.designated = Some(match v {
                    "yes" | "y" | "true" => true,
                    "no" | "n" | "false" => false,
                    _ => return Err(format!("designated={v}: write yes or no")),
                })
            }
            Some(("from", v)) => f.from = Some(crate::domain::parse::parse_date(v)?),
            Some(("to", v)) => f.to = Some(crate::domain::parse::parse_date(v)?),
            Some((k, _)) => {
                return Err(format!("unknown filter {k:?}: program, responsible, channel, designated, from, to"));
            }
            None => text.push(a.clone()),
        }
    }
    if !text.is_empty() {
        f.text = Some(text.join(" "));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_names_parse() {
        assert_eq!("goto board".parse::<Command>().unwrap(), Command::Goto(Place::Board));
        assert_eq!("goto case 12".parse::<Command>().unwrap(), Command::Goto(Place::Case(12)));
        assert_eq!("split 7".parse::<Command>().unwrap(), Command::Split(7));
        assert_eq!("quit".parse::<Command>().unwrap(), Command::Quit);
        let f = "filter program=treatment \"Иванова Анна\"".parse::<Command>().unwrap();
        assert_eq!(
            f,
            Command::Filter(Filter {
                program: Some(Program::Treatment),
                text: Some("Иванова Анна".into()),
                ..Default::default()
            })
        );
        assert_eq!(
            "allocate 5 1=100 2=2,50".parse::<Command>().unwrap(),
            Command::Allocate {
                donation: 5,
                lines: vec![(1, Money::from_minor(10000)), (2, Money::from_minor(250))],
                reason: None
            }
        );
        assert_eq!(
            "allocate 5 1=1 reason=\"семья просила\"".parse::<Command>().unwrap(),
            Command::Allocate {
                donation: 5,
                lines: vec![(1, Money::from_minor(100))],
                reason: Some("семья просила".into())
            }
        );
    }

    #[test]
    fn donor_decisions_parse_with_or_without_a_pair() {
        assert_eq!("merge-donors".parse::<Command>().unwrap(), Command::MergeDonors(None));
        assert_eq!("merge-donors 8 3".parse::<Command>().unwrap(), Command::MergeDonors(Some((8, 3))));
        assert!("merge-donors 8".parse::<Command>().is_err());
        assert_eq!(
            "keep-donors-apart 4 9 two sisters".parse::<Command>().unwrap(),
            Command::KeepDonorsApart { pair: Some((4, 9)), reason: Some("two sisters".into()) }
        );
        assert_eq!(
            "keep-donors-apart different people".parse::<Command>().unwrap(),
            Command::KeepDonorsApart { pair: None, reason: Some("different people".into()) }
        );
        assert_eq!(
            "keep-donors-apart".parse::<Command>().unwrap(),
            Command::KeepDonorsApart { pair: None, reason: None }
        );
        assert!("keep-donors-apart 4".parse::<Command>().is_err());
        assert_eq!("goto donors".parse::<Command>().unwrap(), Command::Goto(Place::Donors));
    }

    #[test]
    fn bad_commands_say_what_is_wrong() {
        let e = "goto nowhere".parse::<Command>().unwrap_err().to_string();
        assert!(e.contains("nowhere") && e.contains("usage: goto"), "{e}");
        assert!("frobnicate".parse::<Command>().unwrap_err().to_string().contains("unknown command"));
        assert!("split x".parse::<Command>().unwrap_err().to_string().contains("not a donation id"));
        assert!("quit now".parse::<Command>().is_err());
        assert!("filter colour=red".parse::<Command>().is_err());
        assert!("advance funded".parse::<Command>().unwrap_err().to_string().contains("fundraising"));
    }

    #[test]
    fn every_registry_entry_is_documented_and_completes() {
        for s in REGISTRY {
            assert!(!s.doc.is_empty());
        }
        assert_eq!(complete("go"), vec!["goto"]);
        assert!(complete("").len() == REGISTRY.len());
    }
}
