//! The scriptable command line. Every listing has `--json`; every error says
//! what, where and what to do, exits non-zero and writes nothing.

pub mod args;
mod bench;
mod bench_console;
mod bench_import;
mod bench_reports;
mod donors;
mod import;
mod intake;
mod migrate;
mod report;
mod show;
mod subcommands;
pub mod table;
mod work;

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::Utc;

use crate::app::App;
use crate::app::i18n::Lang;
use crate::app::keymap::{Keymap, user_config_file, user_keymap_path};
use crate::domain::Money;
use crate::store::{BeneficiaryRef, CaseQuery, DonationQuery, Expectation, NewCase, NewDonation, Plan, Store};
use args::{CaseCommand, Cli, Command, ConfigCommand, DonationCommand, KeymapCommand};

/// The person acting: the OS account running the process.
pub fn os_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// `--db`, else `ALMONER_DB` (both via clap), else the XDG data directory.
pub fn default_db_path() -> PathBuf {
    crate::store::data_dir().join("almoner.db")
}

pub async fn open(cli: &Cli) -> Result<Store> {
    let path = cli.db.clone().unwrap_or_else(default_db_path);
    let store = Store::open(&path, &os_user()).await?;
    // With `unknown_users = none`, someone the users list does not know may not even look.
    if store.standing().await? == Err(crate::store::Unknown::Nothing) {
        let who = crate::text::inert(store.actor()).into_owned();
        store.close().await;
        anyhow::bail!("{who} is not a user of almoner: ask an admin to add you (almoner user add {who} --role ROLE)");
    }
    Ok(store)
}

fn json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Runs one command (not the console).
pub async fn run(cli: &Cli, command: &Command) -> Result<()> {
    match command {
        Command::Bench(b) => return bench::run(b).await,
        Command::Keymap(k) => return keymap(k).await,
        Command::Restore { file, force } => {
            // Before opening: opening would create (or migrate) the database being replaced.
            let db = cli.db.clone().unwrap_or_else(default_db_path);
            let papers = Store::restore(file, &db, *force).await?;
            println!("{} restored from {} ({papers} paper(s))", db.display(), file.display());
            return Ok(());
        }
        _ => {}
    }
    let store = open(cli).await?;
    let result = dispatch(&store, command).await;
    store.close().await;
    result
}

async fn dispatch(store: &Store, command: &Command) -> Result<()> {
    match command {
        Command::Init { demo, scale } => {
            if *demo {
                let counts = store.seed_demo(*scale).await?;
                println!(
                    "{}: demo foundation with {} cases, {} beneficiaries, {} donors, {} donations, {} allocations",
                    store.path().display(),
                    counts.cases,
                    counts.beneficiaries,
                    counts.donors,
                    counts.donations,
                    counts.allocations
                );
            } else {
                println!("{}: ready", store.path().display());
            }
        }
        Command::Summary { json: as_json } => {
            if *as_json {
                json(&store.summary().await?)?;
            } else {
                print!("{}", show::summary(store).await?);
            }
        }
        Command::Case(c) => case(store, c).await?,
        Command::Donation(d) => donation(store, d).await?,
        Command::Allocate(a) => {
            let plan = if !a.to.is_empty() {
                if a.amount.is_some() {
                    anyhow::bail!("--amount goes with --evenly or --oldest-first; with --to give each case its amount");
                }
                Plan::Lines(a.to.clone())
            } else if !a.evenly.is_empty() {
                Plan::Evenly { cases: a.evenly.clone(), limit: a.amount }
            } else {
                Plan::OldestFirst { limit: a.amount }
            };
            let expect =
                a.expect_unallocated.map(|m| Expectation { donation_unallocated: Some(m), case_collected: vec![] });
            let out = store.allocate(a.donation, &plan, a.reason.as_deref(), expect.as_ref()).await?;
            if a.json {
                json(&out)?;
            } else {
                for ((case, amount), id) in out.lines.iter().zip(&out.allocation_ids) {
                    println!("allocation {id}: {amount} from donation {} to case {case}", out.donation);
                }
                for case in &out.completed {
                    println!("case {case} is fully funded and moved to payment");
                }
                println!("donation {} has {} unallocated", out.donation, out.unallocated_after);
            }
        }
        Command::Reverse { allocation, reason } => {
            store.reverse(*allocation, reason).await?;
            println!("allocation {allocation} reversed");
        }
        Command::Audit { json: as_json, limit } => {
            let entries = store.audit(*limit, None).await?;
            if *as_json {
                json(&entries)?;
            } else {
                print!("{}", show::audit(&entries));
            }
        }
        Command::Config(ConfigCommand::Show) => {
            for (k, v) in store.settings().await? {
                println!("{k} = {v}");
            }
        }
        Command::Config(ConfigCommand::Set { key, value }) => {
            store.set_setting(key, value).await?;
            println!("{key} = {value}");
        }
        Command::Verify { json: as_json } => {
            let found = store.verify().await?;
            if *as_json {
                json(&serde_json::json!({ "ok": found.is_empty(), "violations": found }))?;
            } else if found.is_empty() {
                println!("all money invariants hold");
            }
            if !found.is_empty() {
                anyhow::bail!("{} invariant violation(s):\n{}", found.len(), found.join("\n"));
            }
        }
        Command::Stress { iterations, seed, donations, cases } => {
            let report = bench::stress(store, *iterations, *seed, donations, cases).await?;
            json(&report)?;
        }
        Command::Exec { file, keep_going, timings } => exec(store, file, *keep_going, *timings).await?,
        Command::Import(args) => import::run(store, args).await?,
        Command::Intake { path, json } => intake::run(store, path, *json).await?,
        Command::Review(r) => intake::review(store, r).await?,
        Command::Migrate { from, mapping, dry_run, report, json, accept_differences } => {
            let o = migrate::Options {
                from,
                mapping,
                dry_run: *dry_run,
                report: report.as_deref(),
                json: *json,
                accept_differences: *accept_differences,
            };
            migrate::run(store, &o).await?
        }
        Command::Backup { file } => {
            let papers = store.backup(file).await?;
            println!(
                "{}: a consistent copy, checked ({papers} paper(s) beside it in {}.documents)",
                file.display(),
                file.display()
            );
        }
        Command::Donor(args::DonorCommand::Merge { from, into, take, keep }) => {
            donors::merge(store, *from, *into, take, keep).await?
        }
        Command::Queue { role, json, limit, cmd } => work::queue(store, *role, *json, *limit, cmd.as_ref()).await?,
        Command::User(u) => work::user(store, u).await?,
        Command::Report(r) => report::run(store, r).await?,
        Command::Segment(s) => report::segment(store, s).await?,
        Command::Gdpr(g) => report::gdpr(store, g).await?,
        Command::Donor(args::DonorCommand::Contact { id, consent, do_not_contact }) => {
            if consent.is_none() && do_not_contact.is_none() {
                anyhow::bail!("give --consent yes|no and/or --do-not-contact yes|no");
            }
            store.set_contact(*id, *consent, *do_not_contact).await?;
            println!("donor {id}: recorded");
        }
        Command::Publish { out, json } => work::publish(store, out, *json).await?,
        Command::Donor(args::DonorCommand::Duplicates { json, limit }) => {
            donors::duplicates(store, *json, *limit).await?
        }
        Command::Donor(args::DonorCommand::KeepApart { a, b, reason }) => {
            donors::keep_apart(store, *a, *b, reason.as_deref()).await?
        }
        Command::Donor(args::DonorCommand::Unmerge { merge }) => {
            let (from, n) = store.unmerge_donors(*merge).await?;
            println!("merge {merge} undone: {n} donation(s) back with donor {from}");
        }
        Command::Payments(args::PaymentsCommand::Export { format, file }) => {
            import::export(store, format, file).await?
        }
        Command::Bench(_) | Command::Keymap(_) | Command::Restore { .. } => {
            unreachable!("handled before opening a store")
        }
    }
    Ok(())
}

/// ", instead of X" when someone was responsible before.
fn was(before: Option<String>) -> String {
    before.map(|b| format!(", instead of {}", crate::text::inert(&b))).unwrap_or_default()
}

async fn case(store: &Store, c: &CaseCommand) -> Result<()> {
    match c {
        CaseCommand::List { stage, program, text, limit, json: as_json } => {
            let q =
                CaseQuery { stage: *stage, program: *program, text: text.clone(), limit: *limit, ..Default::default() };
            let cases = store.list_cases(&q).await?;
            if *as_json {
                json(&cases)?;
            } else {
                print!("{}", show::cases(&cases));
            }
        }
        CaseCommand::Show { id, json: as_json } => {
            let file = store.case_file(*id).await?;
            if *as_json {
                json(&file)?;
            } else {
                print!("{}", show::case_file(&file));
            }
        }
        CaseCommand::New(n) => {
            let beneficiary = match (n.beneficiary_id, &n.beneficiary) {
                (Some(id), _) => BeneficiaryRef::Existing(id),
                (None, Some(name)) => {
                    BeneficiaryRef::New { full_name: name.clone(), birth_date: n.birth_date, city: n.city.clone() }
                }
                (None, None) => anyhow::bail!("give --beneficiary NAME or --beneficiary-id ID"),
            };
            let new = NewCase {
                beneficiary,
                program: n.program,
                clinic: n.clinic.clone(),
                diagnosis: n.diagnosis.clone(),
                target: n.target.unwrap_or(Money::ZERO),
                responsible: n.responsible.clone(),
                published: n.publish,
                currency: n.currency,
            };
            let id = store.new_case(&new).await?;
            if n.json {
                json(&store.case(id).await?)?;
            } else {
                println!("case {id} opened in qualification");
            }
        }
        CaseCommand::Qualify { id, diagnosis, treatment, clinic_fits } => {
            store.qualify(*id, diagnosis, treatment, *clinic_fits).await?;
            println!("case {id}: qualification checklist recorded, approved by {}", store.actor());
        }
        CaseCommand::Invoice {
            id,
            number,
            date,
            amount,
            payee,
            payee_inn,
            payee_account,
            payee_bic,
            replaces,
            also,
            reason,
        } => {
            // One transaction: the invoice with its bank details, or nothing.
            let bank = match (payee_inn, payee_account, payee_bic) {
                (Some(inn), Some(account), Some(bic)) => Some((inn.clone(), account.clone(), bic.clone())),
                _ => None,
            };
            let new = crate::store::NewInvoice {
                number: number.clone(),
                date: *date,
                amount: *amount,
                payee: payee.clone(),
                bank,
            };
            let change = match (replaces, also) {
                (Some(old), _) => crate::store::InvoiceChange::Replaces(*old),
                (None, true) => crate::store::InvoiceChange::Also,
                (None, false) => crate::store::InvoiceChange::First,
            };
            let invoice = store.change_invoice(*id, &new, change, reason.as_deref()).await?;
            let target = store.case(*id).await?.target;
            println!(
                "case {id}: invoice {invoice} ({number} of {date} for {} to {payee}) recorded; the target is {}",
                amount.en(),
                target.en()
            );
        }
        CaseCommand::Target { id, amount } => {
            store.set_target(*id, *amount).await?;
            println!("case {id}: target set to {amount}");
        }
        CaseCommand::Take { id, note } => {
            let me = store.actor().to_string();
            let before = store.assign(*id, Some(&me), note.as_deref()).await?;
            println!("case {id}: you ({me}) are responsible now{}", was(before));
        }
        CaseCommand::Assign { id, person, note } => {
            let before = store.assign(*id, Some(person), note.as_deref()).await?;
            println!("case {id}: {} is responsible now{}", crate::text::inert(person), was(before));
        }
        CaseCommand::Release { id, note } => {
            let before = store.assign(*id, None, note.as_deref()).await?;
            println!("case {id}: nobody is responsible now, it is open to all{}", was(before));
        }
        CaseCommand::Consent { id, fields, lay_diagnosis, withdraw } => {
            let fields = fields.as_deref().map(crate::store::parse_fields).transpose()?;
            store.set_consent(*id, fields.as_deref(), lay_diagnosis.as_deref(), *withdraw).await?;
            if *withdraw {
                println!("case {id}: consent withdrawn; the next publish takes it off the website");
            } else {
                println!("case {id}: consent recorded; published while in fundraising with its consent paper");
            }
        }
        CaseCommand::Attach { id, kind, file } => {
            let doc = store.attach(*id, *kind, file).await?;
            println!("case {id}: {} attached as {kind} (document {doc})", file.display());
        }
        CaseCommand::Advance { id, to, reason } => {
            let now = store.advance(*id, *to, reason.as_deref()).await?;
            if now == *to {
                println!("case {id} moved to {to}");
            } else {
                println!(
                    "case {id} moved to {to}; money held for its beneficiary funded it fully, so it is now in {now}"
                );
            }
        }
        CaseCommand::Pay { id, order, date, amount, invoice } => {
            let paid = store.record_payment_for(*id, *invoice, order, *date, *amount).await?;
            let then = if paid { "the case is paid" } else { "another invoice is still to pay" };
            println!("case {id}: payment order {order} recorded; {then}");
        }
    }
    Ok(())
}

async fn donation(store: &Store, d: &DonationCommand) -> Result<()> {
    match d {
        DonationCommand::List { unallocated, channel, limit, json: as_json } => {
            let q = DonationQuery {
                unallocated_only: *unallocated,
                channel: *channel,
                limit: *limit,
                ..Default::default()
            };
            let list = store.list_donations(&q).await?;
            if *as_json {
                json(&list)?;
            } else {
                print!("{}", show::donations(&list));
            }
        }
        DonationCommand::Show { id, json: as_json } => {
            let (donation, allocations) = store.donation(*id).await?;
            if *as_json {
                json(&serde_json::json!({ "donation": donation, "allocations": allocations }))?;
            } else {
                print!("{}", show::donation(&donation, &allocations));
            }
        }
        DonationCommand::New(n) => {
            let new = NewDonation {
                amount: n.amount,
                currency: n.currency,
                received_on: n.date.unwrap_or_else(|| Utc::now().date_naive()),
                channel: n.channel,
                payer: n.payer.clone(),
                donor_kind: n.donor_kind(),
                inn: n.inn.clone(),
                email: n.email.clone(),
                purpose: n.purpose.clone(),
                designation: n.designation,
                external_key: None,
            };
            let (id, completed) = store.new_donation(&new).await.context("the donation was not recorded")?;
            if n.json {
                let (donation, allocations) = store.donation(id).await?;
                json(&serde_json::json!({ "donation": donation, "allocations": allocations, "completed": completed }))?;
            } else {
                let (donation, _) = store.donation(id).await?;
                println!(
                    "donation {id} recorded: {} ({} allocated, {} unallocated)",
                    donation.amount, donation.allocated, donation.unallocated
                );
                for case in completed {
                    println!("case {case} is fully funded and moved to payment");
                }
            }
        }
        DonationCommand::Release { id, reason } => {
            store.release(*id, reason).await?;
            println!("donation {id}: its remainder is free to place");
        }
    }
    Ok(())
}

/// With no command: the console, on the default database or (`--demo`) a
/// fresh demo foundation in a temporary directory.
pub async fn console(cli: &Cli) -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!("the console needs a terminal; for scripts use a command (almoner --help) or almoner exec FILE");
    }
    let _keep;
    let store = if cli.demo {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("demo.db"), &os_user()).await?;
        store.seed_demo(1).await?;
        _keep = dir;
        store
    } else {
        open(cli).await?
    };
    let (keymap, problems) = Keymap::load(user_keymap_path().as_deref());
    let (lang, config_problem) = Lang::from_config_or_env(user_config_file("config.toml").as_deref());
    let (mut app, jobs) = App::new(store.clone(), keymap, &problems, lang).await;
    if let Some(p) = config_problem {
        app.set_error(format!("config not used: {p}"));
    }
    let result = crate::ui::term::run(app, jobs).await;
    store.close().await;
    result
}

/// `almoner exec FILE`: runs commands headless, one per line, printing what
/// each did; stops at the first error with its line number.
async fn exec(store: &Store, file: &std::path::Path, keep_going: bool, timings: bool) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (keymap, _) = Keymap::load(None);
    let (mut app, _jobs) = App::new(store.clone(), keymap, &[], Lang::En).await;
    let (mut failed, mut times) = (0usize, Vec::new());
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        app.status = None;
        let started = std::time::Instant::now();
        let result = app.run_line(line).await;
        times.push(serde_json::json!({"ms": started.elapsed().as_secs_f64() * 1000.0, "ok": result.is_ok()}));
        match result {
            Err(e) if !keep_going => anyhow::bail!("{}:{}: {line}: {e}", file.display(), n + 1),
            Err(e) => {
                failed += 1;
                eprintln!("{}:{}: {line}: {}", file.display(), n + 1, crate::text::inert(&e));
            }
            Ok(()) if timings => {}
            Ok(()) => match &app.status {
                Some(s) => println!("{}", crate::text::inert(&s.text)),
                None => println!("ok: {line}"),
            },
        }
    }
    if timings {
        println!("{}", serde_json::json!({ "commands": times }));
    }
    if failed > 0 {
        anyhow::bail!("{failed} command(s) of {} failed", file.display());
    }
    Ok(())
}

async fn keymap(k: &KeymapCommand) -> Result<()> {
    match k {
        KeymapCommand::Check { file } => {
            let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            let parsed = crate::app::keymap::parse(&file.display().to_string(), &text);
            if !parsed.problems.is_empty() {
                let list: Vec<String> = parsed.problems.iter().map(|p| p.to_string()).collect();
                anyhow::bail!("{} problem(s):\n{}", list.len(), list.join("\n"));
            }
            let mut map = Keymap::preset(parsed.preset.as_deref().unwrap_or("default"));
            let n = parsed.bindings.len();
            for note in map.merge(parsed.bindings) {
                println!("note: {note}");
            }
            println!("{}: {n} binding(s), no problems", file.display());
        }
        KeymapCommand::Show => {
            let path = user_keymap_path();
            let (map, problems) = Keymap::load(path.as_deref());
            for p in &problems {
                eprintln!("warning: {p} (showing the defaults)");
            }
            print!("{}", map.show());
        }
    }
    Ok(())
}
