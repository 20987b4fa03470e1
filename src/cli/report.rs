//! `almoner report …`: the stage-date report as text, JSON or CSV.

use anyhow::Result;

use super::args::ReportCommand;
use crate::store::{StageReport, Store};

pub async fn run(store: &Store, cmd: &ReportCommand) -> Result<()> {
    match cmd {
        ReportCommand::Donor { donor, from, to, out } => {
            let r = store.donor_report(*donor, *from, *to).await?;
            let foundation = store.foundation_name().await?;
            let ext = out.extension().and_then(|e| e.to_str()).map(str::to_lowercase);
            let bytes = match ext.as_deref() {
                Some("pdf") => crate::donor_report::pdf(store, &r, &foundation),
                Some("html" | "htm") => crate::donor_report::html(store, &r, &foundation).into_bytes(),
                _ => anyhow::bail!("{}: the report is written as .pdf or .html", out.display()),
            };
            std::fs::write(out, bytes).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
            println!(
                "{}: {} gave {} in the period; {} placed on {} child(ren)",
                out.display(),
                crate::text::inert(&r.donor),
                r.given.plain(),
                r.placed.plain(),
                r.children.len()
            );
        }
        ReportCommand::Stages { from, to, program, json, csv } => {
            let r = store.stage_report(*from, *to, *program).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else if *csv {
                print!("{}", stages_csv(&r));
            } else {
                print!("{}", stages_text(&r));
            }
        }
    }
    Ok(())
}

fn stages_csv(r: &StageReport) -> String {
    let mut s = String::from("stage,program,cases\n");
    for e in &r.entered {
        s.push_str(&format!("{},{},{}\n", e.stage, e.program, e.cases));
    }
    s.push_str(&format!("\nraised,placed,paid\n{},{},{}\n", r.raised.plain(), r.placed.plain(), r.paid.plain()));
    s.push_str("\nstage,cases,median_days,p90_days\n");
    for t in &r.time_in_stage {
        s.push_str(&format!("{},{},{},{}\n", t.stage, t.cases, t.median_days, t.p90_days));
    }
    s.push_str("\nmonth,channel,donations,amount\n");
    for m in &r.monthly {
        s.push_str(&format!("{},{},{},{}\n", m.month, m.channel, m.donations, m.amount.plain()));
    }
    s
}

fn stages_text(r: &StageReport) -> String {
    let program = r.program.map(|p| format!(", {p}")).unwrap_or_default();
    let mut s = format!("{} to {}{program}\n\nentered a stage\n", r.from, r.to);
    for e in &r.entered {
        s.push_str(&format!("  {:<14} {:<15} {:>6}\n", e.stage.as_str(), e.program.as_str(), e.cases));
    }
    s.push_str(&format!(
        "\nraised {} RUB   placed on cases {} RUB   paid to clinics {} RUB\n",
        r.raised.plain(),
        r.placed.plain(),
        r.paid.plain()
    ));
    if !r.other_currencies.is_empty() {
        let other: Vec<String> = r.other_currencies.iter().map(|(c, m)| format!("{} {c}", m.plain())).collect();
        s.push_str(&format!(
            "also received, in other currencies (not converted, not in the figures): {}\n",
            other.join(", ")
        ));
    }
    s.push_str("\ntime in stage (days)      cases  median    p90\n");
    for t in &r.time_in_stage {
        s.push_str(&format!("  {:<22} {:>6} {:>7.1} {:>6.1}\n", t.stage.as_str(), t.cases, t.median_days, t.p90_days));
    }
    s.push_str("\ndonations by month and channel\n");
    for m in &r.monthly {
        s.push_str(&format!("  {} {:<10} {:>7} {:>16}\n", m.month, m.channel, m.donations, m.amount.plain()));
    }
    s
}

pub async fn segment(store: &Store, cmd: &super::args::SegmentCommand) -> Result<()> {
    use super::args::SegmentCommand;
    use crate::store::Segment;
    let size_text = |s: &crate::store::Size| {
        format!(
            "{} donor(s); {} reachable by e-mail (left out: {} do not contact, {} no consent, {} no e-mail)",
            s.donors, s.reachable, s.do_not_contact, s.no_consent, s.no_email
        )
    };
    match cmd {
        SegmentCommand::Count { filters, json } => {
            let s: Segment = filters.join(" ").parse()?;
            let size = store.segment_size(&s).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&size)?);
            } else {
                println!("{}", size_text(&size));
            }
        }
        SegmentCommand::Save { name, filters } => {
            let s: Segment = filters.join(" ").parse()?;
            store.save_segment(name, &s).await?;
            println!("segment {:?} saved: {s}", crate::text::inert(name));
        }
        SegmentCommand::List => {
            let all = store.segments().await?;
            if all.is_empty() {
                println!("no segments saved yet (almoner segment save NAME KEY=VALUE…)");
            }
            for (name, s) in all {
                let size = store.segment_size(&s).await?;
                println!("{:<24} {:<60} {}", crate::text::inert(&name), s.to_string(), size_text(&size));
            }
        }
        SegmentCommand::Export { name, out, fields } => {
            let s = store.segment(name).await?;
            let done = store.export_segment(&s, fields, out).await?;
            println!(
                "{}: {} donor(s) written; left out {} who asked not to be contacted, {} without consent, {} without an e-mail",
                out.display(),
                done.written,
                done.do_not_contact,
                done.no_consent,
                done.no_email
            );
        }
    }
    Ok(())
}

pub async fn gdpr(store: &Store, cmd: &super::args::GdprCommand) -> Result<()> {
    use super::args::GdprCommand;
    let today = chrono::Utc::now().date_naive();
    let line = |p: &crate::store::Planned| {
        format!(
            "{}  {:<15} {:<11} {:<6} {:<30} {}",
            p.due_on,
            p.action,
            p.entity,
            p.entity_id,
            crate::text::clip(&crate::text::inert(&p.name), 30),
            p.reason
        )
    };
    match cmd {
        GdprCommand::Plan { json } => {
            let plan = store.gdpr_plan(today).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else if plan.is_empty() {
                println!("nothing is due under the rules ({:?})", store.gdpr_rules().await?);
            } else {
                println!("due on      action          who         id     name                           why");
                for p in &plan {
                    println!("{}", line(p));
                }
            }
        }
        GdprCommand::Run { json } => {
            let mut out = store.gdpr_run(today).await?;
            // The output goes to cron's mail: the data just removed is not printed again.
            for p in out.done.iter_mut().filter(|p| p.action != "do_not_contact") {
                p.name = "(removed)".into();
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                for p in &out.done {
                    println!("done: {}", line(p));
                }
                println!(
                    "{} done, {} waiting for their date, {} no longer called for",
                    out.done.len(),
                    out.waiting,
                    out.dropped
                );
                if out.log_emptied == Some(false) {
                    println!(
                        "note: another connection was reading, so the database's write-ahead log still holds older copies of the pages changed; the next run empties it"
                    );
                }
            }
        }
        GdprCommand::Exclude { entity, id, reason } => {
            store.gdpr_override(entity, *id, false, reason).await?;
            println!("{entity} {id}: kept out of the rules");
        }
        GdprCommand::Include { entity, id, reason } => {
            store.gdpr_override(entity, *id, true, reason).await?;
            let plan = store.gdpr_plan(today).await?;
            let due = plan.iter().find(|p| p.entity == *entity && p.entity_id == *id).map(|p| p.due_on.to_string());
            println!(
                "{entity} {id}: personal data to be removed on {}",
                due.unwrap_or_else(|| "(not planned: excluded)".into())
            );
        }
        GdprCommand::Forget { entity, id } => {
            store.gdpr_forget_override(entity, *id, None).await?;
            let planned = store.gdpr_plan(today).await?.len();
            println!("{entity} {id}: the rules alone decide again ({planned} step(s) planned)");
        }
    }
    Ok(())
}
