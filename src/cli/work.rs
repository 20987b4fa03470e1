//! `almoner queue` and `almoner user`: each person's next steps, and who
//! has which role.

use anyhow::Result;

use super::args::{QueueCommand, UserCommand};
use crate::domain::Role;
use crate::store::{Store, Target, roles_of};
use crate::text::inert;

pub async fn queue(
    store: &Store,
    role: Option<Role>,
    json: bool,
    limit: usize,
    cmd: Option<&QueueCommand>,
) -> Result<()> {
    if let Some(QueueCommand::Dismiss { batch }) = cmd {
        store.dismiss_batch(*batch).await?;
        println!("batch {batch}: dealt with, off the queue");
        return Ok(());
    }
    let me = store.actor().to_string();
    let role = match role {
        Some(r) => Some(r),
        None => store.role_of(&me).await?,
    };
    let now = chrono::Utc::now();
    let items = store.work_queue(&me, &roles_of(role), now, limit).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    let whose = match role {
        Some(r) => format!("{me} ({r})"),
        None => format!("{me} (no role recorded: every role's work; `almoner user add {me} --role ROLE`)"),
    };
    if items.is_empty() {
        println!("nothing waits for {whose}");
        return Ok(());
    }
    println!("work for {whose}:");
    for i in &items {
        let open = match i.target {
            Target::Case(id) => format!("case {id}"),
            Target::Donation(id) => format!("donation {id}"),
            Target::Batch(id) => format!("batch {id}"),
        };
        let waited = (now - i.since).num_days().max(0);
        let late = i.overdue_days.map(|d| format!(" OVERDUE by {d}d")).unwrap_or_default();
        println!("{:<11} {:<18} {:<12} {}d{late}  {}", i.role.as_str(), i.what, open, waited, inert(&i.why));
    }
    Ok(())
}

pub async fn user(store: &Store, cmd: &UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add { name, role } => {
            store.set_user(name, *role, true).await?;
            println!("{} is a {role} now", inert(name));
        }
        UserCommand::Role { name, role } => {
            store.set_user(name, *role, false).await?;
            println!("{} is a {role} now", inert(name));
        }
        UserCommand::List => {
            let users = store.users().await?;
            if users.is_empty() {
                println!("no users recorded: everyone works in every role");
            }
            for (name, role) in users {
                println!("{:<20} {role}", inert(&name));
            }
        }
    }
    Ok(())
}

pub async fn publish(store: &Store, out: &std::path::Path, json: bool) -> Result<()> {
    let done = crate::publish::publish(store, out, chrono::Utc::now().date_naive()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        println!(
            "{}: {} open fundraiser(s); {} file(s) written, {} unchanged, {} removed",
            out.display(),
            done.cases,
            done.written.len(),
            done.unchanged,
            done.removed.len()
        );
    }
    Ok(())
}
