//! `almoner report …`: the stage-date report as text, JSON or CSV.

use anyhow::Result;

use super::args::ReportCommand;
use crate::store::{StageReport, Store};

pub async fn run(store: &Store, cmd: &ReportCommand) -> Result<()> {
    match cmd {
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
        "\nraised {}   placed on cases {}   paid to clinics {}\n\ntime in stage (days)      cases  median    p90\n",
        r.raised.plain(),
        r.placed.plain(),
        r.paid.plain()
    ));
    for t in &r.time_in_stage {
        s.push_str(&format!("  {:<22} {:>6} {:>7.1} {:>6.1}\n", t.stage.as_str(), t.cases, t.median_days, t.p90_days));
    }
    s.push_str("\ndonations by month and channel\n");
    for m in &r.monthly {
        s.push_str(&format!("  {} {:<10} {:>7} {:>16}\n", m.month, m.channel, m.donations, m.amount.plain()));
    }
    s
}
