//! The command line, as clap sees it. Amounts, stages and ids are parsed here,
//! at the edge, into domain types.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{ArgGroup, Args, Parser, Subcommand};

pub use super::subcommands::*;
pub use crate::domain::parse::{parse_amount, parse_date, parse_line};
use crate::domain::{Channel, Currency, Designation, DocKind, DonorKind, Money, Program, Role, Stage};

#[derive(Parser, Debug)]
#[command(
    name = "almoner",
    version,
    about = "Keyboard-driven console for a charitable medical foundation: cases, donations, allocations.",
    long_about = "Keyboard-driven console for a charitable medical foundation.\n\n\
        With no command, opens the console. Every command works against the database given by --db, \
        ALMONER_DB, or the default under the XDG data directory."
)]
pub struct Cli {
    /// Database file (default: $XDG_DATA_HOME/almoner/almoner.db).
    #[arg(long, env = "ALMONER_DB", global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Open on a fresh demo database in a temporary place (nothing you do is kept).
    #[arg(long)]
    pub demo: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the database (and apply migrations); --demo fills it with a demo foundation.
    Init {
        /// Fill the new database with demo data.
        #[arg(long)]
        demo: bool,
        /// Multiply the demo: 1 ≈ 200 cases and 5 000 donations; 500 ≈ 100 000 and 2 500 000.
        #[arg(long, default_value_t = 1, requires = "demo")]
        scale: u32,
    },
    /// The pipeline at a glance: cases and money per stage.
    Summary {
        #[arg(long)]
        json: bool,
    },
    /// Cases (applications for help).
    #[command(subcommand)]
    Case(CaseCommand),
    /// Incoming donations.
    #[command(subcommand)]
    Donation(DonationCommand),
    /// Place a donation on fundraising cases, all in one transaction.
    #[command(group(ArgGroup::new("how").required(true).args(["to", "evenly", "oldest_first"])))]
    Allocate(AllocateArgs),
    /// Cancel an allocation with a reversing entry (the original stays on record).
    Reverse {
        allocation: i64,
        /// Why (required; kept in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// The audit log, newest first.
    Audit {
        #[arg(long)]
        json: bool,
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// The foundation's settings, shared by everyone on this database.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check every money invariant over the whole database.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Payment orders for the bank.
    #[command(subcommand)]
    Payments(PaymentsCommand),
    /// Import a register (1C, MT940, camt, CloudPayments, or CSV/XLSX through a profile): preview, then commit in one transaction.
    Import(ImportArgs),
    /// Children who are likely the same, waiting for a person: list, merge, keep apart, undo.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Write a consistent copy of the database (and its papers) to FILE, while people work.
    Backup { file: PathBuf },
    /// Put backup FILE in place of the database (--force replaces an existing one, kept as .before-restore).
    Restore {
        file: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// Donors: merge a duplicate found later, or take a merge back.
    #[command(subcommand)]
    Donor(DonorCommand),
    /// What you should act on, by your role: overdue first, each item with why and how long it waited.
    Queue {
        /// Whose work: a role (default: yours, from `almoner user`; everyone's if you have none).
        #[arg(long, value_parser = parse_word::<Role>)]
        role: Option<Role>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 200)]
        limit: usize,
        #[command(subcommand)]
        cmd: Option<QueueCommand>,
    },
    /// Write the open fundraisers the website may show to DIR: feed.json, a page per case, photos (only what changed).
    Publish {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Reports: the stage-date report for a period.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Donor segments for mailings: count, save, list, export (never a donor without consent or asking to be left alone).
    #[command(subcommand)]
    Segment(SegmentCommand),
    /// Personal-data rules: plan what is due (a month ahead, for staff to see), run what is due, override.
    #[command(subcommand)]
    Gdpr(GdprCommand),
    /// The people who use almoner and their roles.
    #[command(subcommand)]
    User(UserCommand),
    /// Take in applications from the web form: a JSON file, or every *.json in a folder.
    Intake {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Bring over an old CRM's CSV exports through a mapping, with a reconciliation report (old vs new, to the kopeck).
    Migrate {
        /// The folder holding the export's files.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// The TOML mapping: files, columns, and the old CRM's words for stages, programs, channels.
        #[arg(long, value_name = "FILE.toml")]
        mapping: PathBuf,
        /// Read, write and reconcile inside a transaction, then roll it back: nothing changes.
        #[arg(long)]
        dry_run: bool,
        /// Write the full report (Markdown) to this file and print only the summary.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        /// Commit even when rows were rejected or figures differ (the report says which).
        #[arg(long)]
        accept_differences: bool,
    },
    /// Run console commands from a file, headless (one per line, # comments); stops at the first error.
    Exec {
        file: PathBuf,
        /// Go on after a command fails (each failure is reported; the exit status says if any did).
        #[arg(long)]
        keep_going: bool,
        /// At the end, print each command's time and outcome as JSON (for benchmarks).
        #[arg(long)]
        timings: bool,
    },
    /// Check or show keymaps.
    #[command(subcommand)]
    Keymap(KeymapCommand),
    /// Measure allocation latency and throughput on a demo database.
    Bench(BenchArgs),
    /// Allocate at random in a loop (used by the race test and the benchmark).
    #[command(hide = true)]
    Stress {
        #[arg(long, default_value_t = 100)]
        iterations: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only these donations (default: the first 50 with money left).
        #[arg(long, value_delimiter = ',')]
        donations: Vec<i64>,
        /// Only these cases (default: the first 50 in fundraising).
        #[arg(long, value_delimiter = ',')]
        cases: Vec<i64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CaseCommand {
    /// List cases.
    List {
        #[arg(long, value_parser = parse_word::<Stage>)]
        stage: Option<Stage>,
        #[arg(long, value_parser = parse_word::<Program>)]
        program: Option<Program>,
        /// Only cases whose beneficiary, clinic or diagnosis contains this text.
        #[arg(long)]
        text: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Everything about one case: figures, papers, allocations, history.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Open a new application (in qualification).
    New(NewCaseArgs),
    /// Take the case: you become responsible for it.
    Take {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// Hand the case to PERSON (an account name), with a note.
    Assign {
        id: i64,
        person: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Nobody is responsible any more: the case is open to everyone of the right role.
    Release {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// Record what the family's publication consent allows the website to show, or withdraw it.
    Consent {
        id: i64,
        /// Of first_name, age, city, photo, diagnosis (amounts are always shown); default first_name,age,city.
        #[arg(long)]
        fields: Option<String>,
        /// The diagnosis in lay words, for the website (shown only if `diagnosis` is allowed).
        #[arg(long)]
        lay_diagnosis: Option<String>,
        /// The family withdraws consent: the case leaves the website's feed.
        #[arg(long, conflicts_with_all = ["fields", "lay_diagnosis"])]
        withdraw: bool,
    },
    /// Record the qualification checklist (you are recorded as the approver).
    Qualify {
        id: i64,
        #[arg(long)]
        diagnosis: String,
        /// Treatment type, e.g. "chemotherapy, protocol ALL-MB 2015".
        #[arg(long)]
        treatment: String,
        /// Confirm the clinic fits the program.
        #[arg(long)]
        clinic_fits: bool,
    },
    /// Record the clinic's invoice (number, date, amount, payee, and the payee's bank details): the
    /// case's first, a corrected bill (--replaces INVOICE) or a further one (--also). Until
    /// fundraising opens the target is the live invoices' sum; in fundraising a change needs --reason.
    Invoice {
        id: i64,
        /// A corrected bill in place of this live invoice (its id, from `case show`).
        #[arg(long, conflicts_with = "also")]
        replaces: Option<i64>,
        /// One more invoice beside those live (a second course).
        #[arg(long)]
        also: bool,
        /// Why the invoices change (needed once the case is raising money).
        #[arg(long)]
        reason: Option<String>,
        /// The payee's INN (with --payee-account and --payee-bic: needed for `payments export`).
        #[arg(long, requires_all = ["payee_account", "payee_bic"])]
        payee_inn: Option<String>,
        #[arg(long, requires = "payee_inn")]
        payee_account: Option<String>,
        #[arg(long, requires = "payee_inn")]
        payee_bic: Option<String>,
        #[arg(long)]
        number: String,
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        #[arg(long, value_parser = parse_amount)]
        amount: Money,
        #[arg(long)]
        payee: String,
    },
    /// Set the target (only before fundraising opens).
    Target {
        id: i64,
        #[arg(value_parser = parse_amount)]
        amount: Money,
    },
    /// Attach a paper to a case.
    Attach {
        id: i64,
        #[arg(long, value_parser = parse_word::<DocKind>)]
        kind: DocKind,
        file: PathBuf,
    },
    /// Move a case to another stage, through its gate.
    Advance {
        id: i64,
        #[arg(long, value_parser = parse_word::<Stage>)]
        to: Stage,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Record the payment order that paid the invoice (payment → paid).
    Pay {
        id: i64,
        /// Payment order number.
        #[arg(long)]
        order: String,
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        #[arg(long, value_parser = parse_amount)]
        amount: Money,
        /// The invoice it pays (needed when the case has more than one still to pay).
        #[arg(long)]
        invoice: Option<i64>,
    },
}

#[derive(Args, Debug)]
pub struct NewCaseArgs {
    /// New beneficiary's full name (surname, given name, patronymic).
    #[arg(long, conflicts_with = "beneficiary_id", required_unless_present = "beneficiary_id")]
    pub beneficiary: Option<String>,
    /// An existing beneficiary (a repeat application).
    #[arg(long)]
    pub beneficiary_id: Option<i64>,
    #[arg(long, value_parser = parse_date)]
    pub birth_date: Option<NaiveDate>,
    #[arg(long)]
    pub city: Option<String>,
    #[arg(long, value_parser = parse_word::<Program>)]
    pub program: Program,
    #[arg(long)]
    pub clinic: String,
    #[arg(long, default_value = "")]
    pub diagnosis: String,
    #[arg(long, value_parser = parse_amount)]
    pub target: Option<Money>,
    #[arg(long)]
    pub responsible: Option<String>,
    /// The case will be published (a publication consent becomes required).
    #[arg(long)]
    pub publish: bool,
    /// What the case raises (RUB unless a clinic abroad bills in, say, EUR); only gifts in
    /// that currency can be placed on it.
    #[arg(long, default_value = "RUB", value_parser = parse_word::<crate::domain::Currency>)]
    pub currency: crate::domain::Currency,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum DonationCommand {
    /// List donations.
    List {
        /// Only donations with money still to place.
        #[arg(long)]
        unallocated: bool,
        #[arg(long, value_parser = parse_word::<Channel>)]
        channel: Option<Channel>,
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// One donation and where its money went.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Record a donation by hand; a designated one is placed on its case at once.
    New(NewDonationArgs),
    /// Free a designated donation's remainder for other cases (policy redistribute).
    Release {
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Args, Debug)]
pub struct NewDonationArgs {
    #[arg(long, value_parser = parse_amount)]
    pub amount: Money,
    #[arg(long, default_value = "RUB", value_parser = parse_currency)]
    pub currency: Currency,
    /// Date received (YYYY-MM-DD or DD.MM.YYYY); default today.
    #[arg(long, value_parser = parse_date)]
    pub date: Option<NaiveDate>,
    #[arg(long, value_parser = parse_word::<Channel>)]
    pub channel: Channel,
    /// Who paid (person or organisation name).
    #[arg(long)]
    pub payer: String,
    /// The payer is an organisation (with --inn).
    #[arg(long)]
    pub organisation: bool,
    #[arg(long)]
    pub inn: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long, default_value = "")]
    pub purpose: String,
    /// unrestricted, case:ID or beneficiary:ID.
    #[arg(long, default_value = "unrestricted", value_parser = parse_word::<Designation>)]
    pub designation: Designation,
    #[arg(long)]
    pub json: bool,
}

impl NewDonationArgs {
    pub fn donor_kind(&self) -> DonorKind {
        if self.organisation { DonorKind::Organisation } else { DonorKind::Person }
    }
}

#[derive(Args, Debug)]
pub struct AllocateArgs {
    pub donation: i64,
    /// CASE_ID=AMOUNT; repeat for a split.
    #[arg(long, value_name = "CASE=AMOUNT", value_parser = parse_line)]
    pub to: Vec<(i64, Money)>,
    /// Split evenly across these cases.
    #[arg(long, num_args = 1.., value_name = "CASE_ID")]
    pub evenly: Vec<i64>,
    /// Fill fundraising cases oldest first.
    #[arg(long)]
    pub oldest_first: bool,
    /// With --evenly or --oldest-first: place at most this much (default: all that is unallocated).
    #[arg(long, value_parser = parse_amount)]
    pub amount: Option<Money>,
    /// Why (required when placing designated money elsewhere).
    #[arg(long)]
    pub reason: Option<String>,
    /// Refuse if the donation's unallocated amount is no longer this (someone else allocated meanwhile).
    #[arg(long, value_parser = parse_money_or_zero)]
    pub expect_unallocated: Option<Money>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum PaymentsCommand {
    /// Write a payment order per invoice of every case in payment, for the bank client to load.
    ///
    /// Needs the foundation's details (config set foundation_name, foundation_inn, foundation_kpp,
    /// foundation_account, foundation_bank, foundation_bic, foundation_corr_account). New orders are
    /// numbered by the database, never a number given before; an order exported before for the
    /// same, unchanged invoice is written again with its number and date, and the export says when
    /// and to which file it went before.
    Export {
        /// Only 1c (1CClientBankExchange, CP1251, CRLF) for now.
        #[arg(long, default_value = "1c")]
        format: String,
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeymapCommand {
    /// Check a keymap file: unknown commands, bad keys, conflicting or shadowed chords, with lines.
    Check { file: PathBuf },
    /// Print the keymap in force (shipped preset with your keymap.toml over it).
    Show,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Show every setting.
    Show,
    /// Change a setting (designated_policy = hold | redistribute).
    Set { key: String, value: String },
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Demo scale of the database to build (500 ≈ 100 000 cases).
    #[arg(long, default_value_t = 500)]
    pub scale: u32,
    /// Allocations to time per measurement.
    #[arg(long, default_value_t = 300)]
    pub samples: usize,
    /// Concurrent writer processes for the throughput run.
    #[arg(long, default_value_t = 8)]
    pub writers: usize,
    /// Reuse this database instead of building a fresh one (it must be a demo database).
    #[arg(long)]
    pub reuse: Option<PathBuf>,
    /// Measure the console instead: key-to-frame latency, cold start, bytes per cursor move.
    #[arg(long)]
    pub console: bool,
    /// Measure the reports instead: the stage report, a corporate donor's report, segment counts, the GDPR plan.
    #[arg(long)]
    pub reports: bool,
    /// Measure this many concurrent clients, each an `almoner exec` process placing money on one database.
    #[arg(long)]
    pub clients: Option<usize>,
    /// Commands per client (with --clients).
    #[arg(long, default_value_t = 100)]
    pub commands: usize,
    /// With --clients: run the same clients on this PostgreSQL database too (an empty
    /// one gets the same demo foundation), in the same run, for a second column. With
    /// --import: commit the CSV into this (new, empty) PostgreSQL database too.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Measure register import instead: a generated register as 1C and CSV, beside hledger,
    /// `ledger convert` and a raw SQLite insert.
    #[arg(long)]
    pub import: bool,
    /// Payments in the generated register (with --import).
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Rows of the slice given to hledger (with --import; it needs ~11 GB at a million).
    #[arg(long, default_value_t = 100_000)]
    pub hledger_rows: u64,
    /// Where to write the generated files and databases (with --import; default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The raw-insert baseline: insert this CSV into the database given as --dir.
    #[arg(long, hide = true)]
    pub raw_insert: Option<PathBuf>,
    /// The raw-insert baseline's page cache in KiB (default: SQLite's own, 2 000).
    #[arg(long, hide = true)]
    pub raw_cache_kib: Option<u32>,
}

fn parse_money_or_zero(s: &str) -> Result<Money, String> {
    Money::parse(s).map_err(|e| e.to_string())
}

fn parse_currency(s: &str) -> Result<Currency, String> {
    s.parse().map_err(|e: crate::domain::MoneyError| e.to_string())
}

pub(crate) fn parse_word<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| e.to_string())
}
