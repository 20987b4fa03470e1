//! `almoner intake FILE|DIR`: applications from the web form, one JSON file
//! each. A file taken in moves to `done/` beside it; a malformed one moves
//! to `rejected/` with a `.reason.txt` saying why, and nothing of it is kept.

use std::path::Path;

use anyhow::{Result, bail};

use crate::store::{Store, Taken};

pub async fn run(store: &Store, path: &Path, json: bool) -> Result<()> {
    let files = if path.is_dir() {
        Store::waiting(path)?
    } else if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        bail!("{}: no such file or folder", path.display());
    };
    let (mut taken, mut rejected) = (Vec::new(), 0usize);
    for file in &files {
        let name = crate::text::inert(&file.display().to_string()).into_owned();
        match store.take_in(file).await? {
            Taken::In(done) => {
                if !json {
                    let whose = if done.returning {
                        let updated = if done.updated.is_empty() {
                            String::new()
                        } else {
                            format!("; {} updated from the application", done.updated.join(", "))
                        };
                        format!("beneficiary {} applied before: the case joins their record{updated}", done.beneficiary)
                    } else {
                        format!("new beneficiary {}", done.beneficiary)
                    };
                    let review = if done.to_review > 0 {
                        format!("; looks like {} earlier child(ren): see `almoner review`", done.to_review)
                    } else {
                        String::new()
                    };
                    println!(
                        "{name}: case {} in qualification ({whose}; {} paper(s){review})",
                        done.case, done.documents
                    );
                }
                taken.push(done);
            }
            Taken::Rejected(why, to) => {
                rejected += 1;
                eprintln!("{name}: rejected, nothing kept: {} (moved to {})", crate::text::inert(&why), to.display());
            }
            Taken::Elsewhere => eprintln!("{name}: taken in by another almoner meanwhile"),
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&taken)?);
    } else if files.is_empty() {
        println!("{}: no applications (*.json) to take in", path.display());
    }
    if rejected > 0 {
        bail!("{rejected} of {} application(s) rejected; the reasons are beside them in rejected/", files.len());
    }
    Ok(())
}

/// `almoner review …`: likely matches, and the decisions on them.
pub async fn review(store: &Store, cmd: &super::args::ReviewCommand) -> Result<()> {
    use super::args::ReviewCommand;
    let show = |r: &crate::store::Review| {
        format!(
            "review {}: {} ({}, born {}) may be {} ({}, born {}): {} [{}]",
            r.id,
            r.beneficiary_id,
            crate::text::inert(&r.name),
            r.born.as_deref().unwrap_or("?"),
            r.candidate_id,
            crate::text::inert(&r.candidate_name),
            r.candidate_born.as_deref().unwrap_or("?"),
            r.reason,
            r.status
        )
    };
    match cmd {
        ReviewCommand::List { json } => {
            let list = store.reviews().await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no likely matches wait for a decision");
            } else {
                for r in &list {
                    println!("{}", show(r));
                }
            }
        }
        ReviewCommand::Merge { id, take } => println!("{}", show(&store.decide_review(*id, true, take).await?)),
        ReviewCommand::Keep { id } => println!("{}", show(&store.decide_review(*id, false, &[]).await?)),
        ReviewCommand::Undo { id } => println!("{}", show(&store.undo_review(*id).await?)),
    }
    Ok(())
}
