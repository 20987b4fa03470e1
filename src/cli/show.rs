//! Human-readable output of the CLI.

use std::fmt::Write;

use super::table::Table;
use crate::domain::{Allocation, AuditEntry, Case, CaseFile, Donation, Money, doc_kinds_text};
use crate::store::Store;
use crate::text::inert;

pub async fn summary(store: &Store) -> anyhow::Result<String> {
    let mut t = Table::new(&["stage", ">cases", ">target", ">collected"]);
    for s in store.summary().await? {
        t.row(vec![s.stage.to_string(), s.cases.to_string(), s.target.en(), s.collected.en()]);
    }
    let mut out = format!("almoner — {}\n\n", store.path().display());
    out.push_str(&t.render());
    // Money of each currency apart: never added across currencies.
    for (currency, n, amount, allocated) in store.donation_totals_by_currency().await? {
        let _ = writeln!(
            out,
            "\n{n} donations in {currency}: {} received, {} allocated, {} waiting to be placed",
            amount.en(),
            allocated.en(),
            (amount - allocated).en()
        );
    }
    Ok(out)
}

/// An amount as the CLI prints it: roubles plain, any other currency with its code (as the
/// console writes it in English).
fn money(m: Money, c: crate::domain::Currency) -> String {
    crate::app::i18n::Lang::En.money_in(m, c)
}

pub fn cases(cases: &[Case]) -> String {
    let mut t = Table::new(&["id", "beneficiary", "program", "stage", ">target", ">collected", ">still needed"]);
    for c in cases {
        t.row(vec![
            c.id.to_string(),
            c.beneficiary.clone(),
            c.program.to_string(),
            c.stage.to_string(),
            money(c.target, c.currency),
            money(c.collected, c.currency),
            money(c.still_needed, c.currency),
        ]);
    }
    t.render()
}

pub fn case_file(f: &CaseFile) -> String {
    let c = &f.case;
    let mut out = String::new();
    let _ = writeln!(out, "case {} — {} ({})", c.id, inert(&c.beneficiary), c.program);
    let _ = writeln!(out, "stage       {} since {}", c.stage, c.stage_since.format("%Y-%m-%d"));
    let _ = writeln!(out, "clinic      {}", inert(&c.clinic));
    let _ = writeln!(out, "diagnosis   {}", inert(&c.diagnosis));
    let _ = writeln!(out, "target      {}", money(c.target, c.currency));
    let _ = writeln!(out, "collected   {}", money(c.collected, c.currency));
    let _ = writeln!(out, "still needed {}", money(c.still_needed, c.currency));
    if let Some(q) = &f.qualification {
        let _ = writeln!(
            out,
            "qualified   by {} on {} ({})",
            inert(&q.approved_by),
            q.approved_at.format("%Y-%m-%d"),
            inert(&q.treatment)
        );
    }
    // Every invoice with its id (what `case invoice --replaces` and `case pay --invoice` name).
    for i in &f.invoices {
        let state = match (i.live, i.paid, i.replaced_by) {
            (true, true, _) => "paid".to_string(),
            (true, false, _) => "to pay".to_string(),
            (false, _, Some(by)) => {
                format!(
                    "replaced by invoice {by}{}",
                    i.reason.as_deref().map(|r| format!(": {}", inert(r))).unwrap_or_default()
                )
            }
            (false, _, None) => "withdrawn".to_string(),
        };
        let _ = writeln!(
            out,
            "invoice {:<3} {} of {} for {} {} to {} ({state})",
            i.id,
            inert(&i.number),
            i.date,
            i.amount.en(),
            f.case.currency,
            inert(&i.payee)
        );
    }
    if let Some(p) = &f.payment_order {
        let _ =
            writeln!(out, "paid by     order {} of {} for {}", inert(&p.number), p.date, money(p.amount, c.currency));
    }
    let _ = writeln!(out, "\ndocuments");
    for d in &f.documents {
        let _ = writeln!(
            out,
            "  {:<20} {} ({} on {})",
            d.kind.as_str(),
            inert(&d.file_name),
            inert(&d.added_by),
            d.added_at.format("%Y-%m-%d")
        );
    }
    if !f.missing_documents.is_empty() {
        let _ = writeln!(out, "  missing: {}", doc_kinds_text(&f.missing_documents));
    }
    let _ = writeln!(out, "\nallocations");
    out.push_str(&allocations(&f.allocations));
    let _ = writeln!(out, "\nhistory");
    for h in &f.history {
        let from = h.from.map(|s| s.to_string()).unwrap_or_else(|| "—".into());
        let _ = writeln!(
            out,
            "  {}  {from} → {}  by {}  {}",
            h.at.format("%Y-%m-%d %H:%M"),
            h.to,
            inert(&h.by),
            inert(h.reason.as_deref().unwrap_or(""))
        );
    }
    out
}

fn allocations(list: &[Allocation]) -> String {
    let mut t = Table::new(&["id", "donation", "case", ">amount", "payer", "channel", "when", "note"]);
    for a in list {
        t.row(vec![
            a.id.to_string(),
            a.donation_id.to_string(),
            a.case_id.to_string(),
            a.amount.en(),
            a.payer.clone(),
            a.channel.to_string(),
            a.at.format("%Y-%m-%d").to_string(),
            if a.reversed { "reversed".into() } else { a.reason.clone().unwrap_or_default() },
        ]);
    }
    t.render()
}

pub fn donations(list: &[Donation]) -> String {
    let mut t = Table::new(&["id", "received", "channel", "payer", ">amount", ">unallocated", "designation"]);
    for d in list {
        // Every amount with its currency: 5 000 DEM is not 5 000 roubles.
        t.row(vec![
            d.id.to_string(),
            d.received_on.to_string(),
            d.channel.to_string(),
            d.payer.clone(),
            format!("{} {}", d.amount.en(), d.currency),
            format!("{} {}", d.unallocated.en(), d.currency),
            d.designation.to_string(),
        ]);
    }
    t.render()
}

pub fn donation(d: &Donation, list: &[Allocation]) -> String {
    let live: Money = list.iter().filter(|a| !a.reversed).map(|a| a.amount).sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "donation {} — {} {} from {} ({}, {})",
        d.id,
        d.amount.en(),
        d.currency,
        inert(&d.payer),
        d.channel,
        d.received_on
    );
    let _ = writeln!(out, "designation {}{}", d.designation, if d.released { " (released)" } else { "" });
    if d.fee.is_positive() || d.settled_by.is_some() {
        let settled =
            d.settled_by.map(|s| format!(", settled by payout {s}")).unwrap_or_else(|| ", payout not yet seen".into());
        let _ = writeln!(
            out,
            "processor   gross {} · fee {} · net {} {c}{settled}",
            d.amount.en(),
            d.fee.en(),
            d.amount.minus_or_zero(d.fee).en(),
            c = d.currency
        );
    }
    let _ = writeln!(out, "purpose     {}", inert(&d.purpose));
    let _ = writeln!(out, "allocated   {} {c} · unallocated {} {c}", live.en(), d.unallocated.en(), c = d.currency);
    let _ = writeln!(out);
    out.push_str(&allocations(list));
    out
}

pub fn audit(entries: &[AuditEntry]) -> String {
    let mut t = Table::new(&["id", "when", "who", "action", "entity", "after"]);
    for e in entries {
        t.row(vec![
            e.id.to_string(),
            e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.actor.clone(),
            e.action.clone(),
            match e.entity_id {
                Some(id) => format!("{} {id}", e.entity),
                None => e.entity.clone(),
            },
            e.after.as_ref().map(|v| v.to_string()).unwrap_or_default(),
        ]);
    }
    t.render()
}
