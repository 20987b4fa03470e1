//! `almoner import`: preview a register, import it, list and undo batches.

use std::io::IsTerminal;

use anyhow::{Context, Result};

use super::args::{ImportArgs, ImportCommand, ProfileCommand};
use super::table::Table;
use crate::import::profile::Profile;
use crate::import::{Format, Register, parse_with};
use crate::store::{Decisions, Preview, Store};

fn print_preview(p: &Preview, dry_run: bool) {
    let mut t = Table::new(&["line", "status", "date", ">amount", "counterparty", "donor", "note"]);
    const SHOWN: usize = 500;
    for r in p.rows.iter().take(SHOWN) {
        t.row(vec![
            r.line.to_string(),
            format!("{:?}", r.status).to_lowercase(),
            r.date.to_string(),
            format!("{} {}", r.amount.en(), r.currency),
            r.counterparty.clone(),
            r.donor.to_string(),
            match (r.pays_case, &r.payment_note, &r.suggestion_reason, r.designated) {
                (Some(case), ..) => format!("pays the invoice of case {case}"),
                (None, Some(note), ..) => note.clone(),
                (None, None, _, Some(case)) => format!("→ case {case}"),
                (None, None, Some(s), None) => format!("suggested: {s}"),
                _ => String::new(),
            },
        ]);
    }
    print!("{}", t.render());
    let more = p.rows.len().saturating_sub(SHOWN) + p.rows_omitted;
    if more > 0 {
        println!("… and {more} more row(s), counted below");
    }
    for e in &p.errors {
        println!("invalid  line {}: {}", e.line, crate::text::inert(&e.message));
    }
    for w in &p.warnings {
        println!("warning  line {}: {}", w.line, crate::text::inert(&w.message));
    }
    for c in p.checks.iter().filter(|c| !c.ok) {
        println!(
            "MISMATCH {}: the register says {}, its payments add up to {}",
            crate::text::inert(&c.what),
            c.expected.en(),
            c.found.en()
        );
    }
    println!(
        "{} ({}, {}): {} new, {} already imported, {} invalid, {} outgoing ({} paying invoices), {} internal, {} unknown direction, {} refunds ({} returned by the bank, for a person); in {}, out {}",
        crate::text::inert(&p.file),
        p.format,
        p.encoding,
        p.new,
        p.duplicate,
        p.invalid,
        p.outgoing,
        p.pays,
        p.internal,
        p.unknown,
        p.refunds,
        p.returned,
        p.incoming_total.en(),
        p.outgoing_total.en()
    );
    if p.payouts > 0 {
        println!(
            "{} payment processor payout(s), {} in all: settlements of gifts already known, never donations (see `almoner import payouts`)",
            p.payouts,
            p.payout_total.en()
        );
    }
    if p.by_currency.len() > 1 || p.by_currency.keys().any(|c| c != "RUB") {
        let parts: Vec<String> = p
            .by_currency
            .iter()
            .map(|(c, f)| format!("{c}: in {}, out {}", f.incoming.en(), f.outgoing.en()))
            .collect();
        println!("by currency (the totals above add them up): {}", parts.join("; "));
    }
    if let (Some(why), Some(_)) = (&p.accepted_problems, p.batch) {
        println!(
            "{} problem(s) accepted: {}; the batch waits on the bookkeeper's queue until marked dealt with",
            p.problems.len(),
            crate::text::inert(why)
        );
    }
    match p.batch {
        Some(b) => {
            println!("imported as batch {b} (undo with `almoner import undo {b}` while none of it is allocated)")
        }
        None if dry_run => println!("dry run: nothing was written"),
        // The refusal follows, with every problem.
        None if p.refused() => {}
        None => println!("nothing new: every payment was imported before, so no batch was recorded"),
    }
}

pub async fn run(store: &Store, args: &ImportArgs) -> Result<()> {
    match &args.command {
        Some(ImportCommand::Batches { json }) => {
            let batches = store.import_batches().await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&batches)?);
            } else {
                let mut t =
                    Table::new(&["batch", "when", "who", "file", ">new", ">dup", ">invalid", ">incoming", "undone"]);
                for b in batches {
                    t.row(vec![
                        b.id.to_string(),
                        b.at.format("%Y-%m-%d %H:%M").to_string(),
                        b.by,
                        b.file_name,
                        b.new.to_string(),
                        b.duplicate.to_string(),
                        b.invalid.to_string(),
                        b.incoming_total.en(),
                        b.undone_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
                    ]);
                }
                print!("{}", t.render());
            }
            return Ok(());
        }
        Some(ImportCommand::Payouts { json }) => {
            let list = store.settlements().await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            let mut t = Table::new(&["payout", "batch", "processor", "on", ">amount", "settles", ">gross", ">fees"]);
            for s in &list {
                let (settles, gross, fees) = match &s.settles {
                    Some(x) => (format!("{} gift(s) of {}–{}", x.gifts, x.from, x.to), x.gross.en(), x.fees.en()),
                    None => ("waits: no gifts known add up to it".to_string(), String::new(), String::new()),
                };
                t.row(vec![
                    s.id.to_string(),
                    s.batch.to_string(),
                    s.processor.clone(),
                    s.received_on.to_string(),
                    format!("{} {}", s.amount.en(), s.currency),
                    settles,
                    gross,
                    fees,
                ]);
            }
            print!("{}", t.render());
            return Ok(());
        }
        Some(ImportCommand::Settle { payout, from, to }) => {
            let s = store.settle_payout(*payout, *from, *to).await?;
            println!(
                "payout {payout} settles {} gift(s) of {}–{}: gross {}, fees {}",
                s.gifts,
                s.from,
                s.to,
                s.gross.en(),
                s.fees.en()
            );
            return Ok(());
        }
        Some(ImportCommand::Undo { batch }) => {
            let removed = store.undo_import(*batch).await?;
            println!("batch {batch} undone: {removed} donation(s) removed");
            return Ok(());
        }
        Some(ImportCommand::Profile(ProfileCommand::Check { profile, file })) => {
            return check_profile(profile, file.as_deref());
        }
        None => {}
    }
    let Some(path) = &args.file else { anyhow::bail!("give the register file: almoner import FILE (see --help)") };
    let profile = args.profile.as_deref().map(load_profile).transpose()?;
    let format = args.format.as_deref().map(str::parse::<Format>).transpose().map_err(anyhow::Error::msg)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let decisions = decisions(args)?;
    // The reading starts on a thread of its own; the file is hashed once its payments are in.
    let feed =
        crate::import::feed::open(path, format, profile).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let sha = crate::import::feed::FileHash::of(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tty = std::io::stderr().is_terminal();
    let progress = move |label: &str, done: usize, total: usize| {
        if tty && total >= 10_000 {
            eprint!("\r{label} {done} of {total}…   ");
        }
    };
    let preview = store.import_stream(feed, &name, sha, decisions, args.dry_run, &progress).await;
    if tty {
        eprint!("\r\x1b[K");
    }
    let preview = match preview {
        Ok(p) => p,
        Err(crate::Error::Unreconciled(p)) => {
            // The preview is shown, then the refusal: every problem, and how to go on.
            if args.json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                print_preview(&p, args.dry_run);
            }
            return Err(crate::Error::Unreconciled(p).into());
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&preview)?);
    } else {
        print_preview(&preview, args.dry_run);
    }
    if args.dry_run && preview.refused() {
        // The dry run's verdict is the commit's.
        return Err(crate::Error::Unreconciled(Box::new(preview)).into());
    }
    Ok(())
}

/// The designations asked for: every suggestion, and `--designate LINE=CASE` over them.
fn decisions(args: &ImportArgs) -> Result<Decisions> {
    let mut d = Decisions { accept_suggestions: args.accept_suggestions, ..Decisions::default() };
    d.accept_problems = match args.accept_problems.as_deref().map(str::trim) {
        Some("") => anyhow::bail!("--accept-problems needs a reason: say why the problems are acceptable"),
        reason => reason.map(str::to_string),
    };
    d.currency = args
        .currency
        .as_deref()
        .map(|c| c.parse::<crate::domain::Currency>())
        .transpose()
        .map_err(|e| anyhow::anyhow!("--currency: {e} (a three-letter code such as EUR)"))?;
    for spec in &args.designate {
        let bad = || anyhow::anyhow!("--designate {spec:?}: write LINE=CASE (e.g. 14=201) or LINE=none");
        let (line, case) = spec.split_once('=').ok_or_else(bad)?;
        let line: usize = line.trim().parse().map_err(|_| bad())?;
        let case: Option<i64> = match case.trim() {
            "none" | "-" => None,
            n => Some(n.parse().map_err(|_| bad())?),
        };
        d.by_line.insert(line, case);
    }
    Ok(d)
}

pub fn load_profile(path: &std::path::Path) -> Result<Profile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read profile {}", path.display()))?;
    Ok(Profile::parse(&text, &path.display().to_string())?)
}

/// A register file, read and parsed; every error names the file.
pub fn read_register(
    path: &std::path::Path,
    format: Option<&str>,
    profile: Option<&Profile>,
) -> Result<(Register, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let format = format.map(str::parse::<Format>).transpose().map_err(anyhow::Error::msg)?;
    let register = parse_with(&bytes, format, profile).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((register, bytes))
}

/// `almoner import profile check PROFILE [FILE]`.
fn check_profile(path: &std::path::Path, file: Option<&std::path::Path>) -> Result<()> {
    let profile = load_profile(path)?;
    println!("{}: profile {:?} is well formed", path.display(), profile.name);
    let Some(file) = file else { return Ok(()) };
    let (register, _) = read_register(file, None, Some(&profile))?;
    let mut t = Table::new(&["line", "direction", "date", ">amount", "payer / payee", "purpose"]);
    for p in register.payments.iter().take(10) {
        t.row(vec![
            p.line.to_string(),
            format!("{:?}", p.direction).to_lowercase(),
            p.date.to_string(),
            p.amount.en(),
            p.counterparty().name.clone(),
            crate::text::clip(&p.purpose, 50),
        ]);
    }
    print!("{}", t.render());
    for e in &register.errors {
        println!("invalid  line {}: {}", e.line, crate::text::inert(&e.message));
    }
    println!(
        "{}: {} payment(s) read, {} row(s) could not be ({}).",
        file.display(),
        register.payments.len(),
        register.errors.len(),
        register.encoding
    );
    Ok(())
}

/// `almoner payments export --format 1c FILE`: numbers new orders, writes every order due, and
/// says which were exported before (written again with the same number and date).
pub async fn export(store: &Store, format: &str, file: &std::path::Path) -> Result<()> {
    if format != "1c" {
        anyhow::bail!("unknown export format {format:?}: only 1c for now");
    }
    let now = chrono::Local::now();
    let done = store.export_payment_orders(file, now).await?;
    for b in &done.before {
        println!("note: {}", b.note(now.date_naive()));
    }
    let numbers: Vec<String> = done.orders.iter().map(|o| o.number.to_string()).collect();
    println!(
        "{}: {} payment order(s) ({}), {} in all",
        file.display(),
        done.orders.len(),
        numbers.join(", "),
        done.total().en()
    );
    Ok(())
}
