//! The command line's subcommands for people, papers, registers and reports: reports,
//! segments, the personal-data rules, the work queue, users, donors, reviews, imports.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Subcommand};

use super::args::{parse_date, parse_word};
use crate::domain::{Program, Role};

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// A corporate donor's report: their total, the children their money reached, a page per child with the proof.
    Donor {
        donor: i64,
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
        /// FILE.pdf or FILE.html.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Cases that entered each stage, money raised, placed and paid, time per stage, donations per month by channel.
    Stages {
        /// First day (YYYY-MM-DD or DD.MM.YYYY).
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        /// Last day, included.
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
        #[arg(long, value_parser = parse_word::<Program>)]
        program: Option<Program>,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print the tables as CSV (one header line per table, tables separated by a blank line).
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum SegmentCommand {
    /// How many donors fit these filters (KEY=VALUE words), and how many a mailing may reach.
    Count {
        filters: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Save the filters under NAME.
    Save { name: String, filters: Vec<String> },
    /// The saved segments with their size.
    List,
    /// Write the reachable donors of segment NAME as a CSV for the mailing service (Unisender).
    Export {
        name: String,
        #[arg(long, value_name = "FILE.csv")]
        out: PathBuf,
        /// Extra columns after email and Name: phone, total, gifts, last_gift.
        #[arg(long, value_delimiter = ',')]
        fields: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum GdprCommand {
    /// Bring the plan up to date and list who will be affected, how and on what date.
    Plan {
        #[arg(long)]
        json: bool,
    },
    /// Carry out what is due today (and still called for).
    Run {
        #[arg(long)]
        json: bool,
    },
    /// Keep a donor or beneficiary out of the rules.
    Exclude {
        #[arg(value_parser = ["donor", "beneficiary"])]
        entity: String,
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// A donor asked for their personal data to be removed: planned now, done when due.
    Include {
        #[arg(value_parser = ["donor"])]
        entity: String,
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Take back an exclusion or a request: the rules alone decide again.
    Forget {
        #[arg(value_parser = ["donor", "beneficiary"])]
        entity: String,
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// An import batch's unreadable lines and unmatched outgoing payments are dealt with: off the queue.
    Dismiss { batch: i64 },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a person (their OS account name) with a role: medical, fundraiser, bookkeeper, admin, viewer.
    Add {
        name: String,
        #[arg(long, value_parser = parse_word::<Role>)]
        role: Role,
    },
    /// Everyone and their role.
    List,
    /// Give a person another role.
    Role {
        name: String,
        #[arg(value_parser = parse_word::<Role>)]
        role: Role,
    },
}

#[derive(Subcommand, Debug)]
pub enum DonorCommand {
    /// Donor FROM is donor INTO: its donations (with their allocations) and subscriptions move there,
    /// and INTO takes FROM's e-mail, phone and consent to mailings where it has none.
    Merge {
        from: i64,
        into: i64,
        /// Contacts (email, phone) INTO takes from FROM even where it has its own.
        #[arg(long, value_delimiter = ',', value_parser = parse_word::<crate::app::donor_pairs::Contact>)]
        take: Vec<crate::app::donor_pairs::Contact>,
        /// Contacts (email, phone) INTO keeps as they are, even where it has none.
        #[arg(long, value_delimiter = ',', value_parser = parse_word::<crate::app::donor_pairs::Contact>)]
        keep: Vec<crate::app::donor_pairs::Contact>,
    },
    /// Take merge MERGE back: its donations and subscriptions return.
    Unmerge { merge: i64 },
    /// Likely duplicate donors, strongest first, each with why and both donors' gifts and total.
    Duplicates {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// Donors A and B are two people: the duplicate finder no longer offers them.
    KeepApart {
        a: i64,
        b: i64,
        /// Why (kept with the decision and in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Record whether a donor agreed to be written to, or asked not to be contacted.
    Contact {
        id: i64,
        #[arg(long, value_parser = parse_yes_no)]
        consent: Option<bool>,
        #[arg(long, value_parser = parse_yes_no)]
        do_not_contact: Option<bool>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReviewCommand {
    /// The likely matches waiting for a decision.
    List {
        #[arg(long)]
        json: bool,
    },
    /// They are one child: the new record's cases move to the earlier one.
    Merge {
        id: i64,
        /// Fields the earlier record takes from the new one (name, birth_date, city); by default it keeps its own.
        #[arg(long, value_delimiter = ',', value_parser = parse_field)]
        take: Vec<crate::store::Field>,
    },
    /// They are two children.
    Keep { id: i64 },
    /// Take a decision back (a merge's cases return).
    Undo { id: i64 },
}

fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s {
        "yes" | "y" | "true" => Ok(true),
        "no" | "n" | "false" => Ok(false),
        _ => Err(format!("{s:?}: write yes or no")),
    }
}

fn parse_field(s: &str) -> Result<crate::store::Field, String> {
    s.parse().map_err(|e: crate::Error| e.to_string())
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub command: Option<ImportCommand>,
    /// The register file.
    pub file: Option<PathBuf>,
    /// The format, if sniffing the content should not decide (1c, mt940, camt, cloudpayments, mapped).
    #[arg(long)]
    pub format: Option<String>,
    /// A mapping profile (TOML) for a CSV or XLSX register: which column holds what.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Show what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Designate every donation whose purpose names a case (by number or the child's name) to that case.
    #[arg(long)]
    pub accept_suggestions: bool,
    /// Designate the payment on LINE to CASE (`--designate 14=201`), or keep it unrestricted (`14=none`).
    #[arg(long, value_name = "LINE=CASE")]
    pub designate: Vec<String>,
    /// Commit a register that does not reconcile (unreadable lines, control totals that do not
    /// match): the readable payments go in, and the batch keeps who accepted which problems and
    /// why, on the bookkeeper's queue until someone marks it dealt with.
    #[arg(long, value_name = "REASON")]
    pub accept_problems: Option<String>,
    /// The currency of a statement that names none (e.g. EUR); almoner never assumes one.
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// The import batches, oldest first.
    Batches {
        #[arg(long)]
        json: bool,
    },
    /// Payment processors' payouts: what each settled (days, gifts, gross, fees) or that it waits.
    Payouts {
        #[arg(long)]
        json: bool,
    },
    /// Settle a waiting payout by hand with the online gifts of FROM..TO (their net must be its amount).
    Settle {
        payout: i64,
        #[arg(value_parser = parse_date)]
        from: NaiveDate,
        #[arg(value_parser = parse_date)]
        to: NaiveDate,
    },
    /// Remove a batch's donations (only while none of them is allocated).
    Undo { batch: i64 },
    /// Mapping profiles for CSV/XLSX registers.
    #[command(subcommand)]
    Profile(ProfileCommand),
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// Check a profile; with a register, show how its first rows read through it.
    Check {
        /// The profile (TOML).
        profile: PathBuf,
        /// A register to try it on.
        file: Option<PathBuf>,
    },
}
