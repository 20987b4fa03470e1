//! `almoner donor duplicates`, `almoner donor merge` and `almoner donor
//! keep-apart`: likely duplicate donors, and the decision that two of them are
//! one person or two.

use anyhow::{Result, bail};

use super::table::Table;
use crate::app::donor_pairs::Contact;
use crate::store::{DonorPair, DonorSide, Store};

pub async fn duplicates(store: &Store, as_json: bool, limit: usize) -> Result<()> {
    let pairs = store.donor_duplicates(Some(limit)).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&pairs)?);
        return Ok(());
    }
    if pairs.is_empty() {
        println!("no likely duplicate donors");
        return Ok(());
    }
    let mut t = Table::new(&["donor", "name", ">gifts", ">total", "contacts", "why"]);
    for p in &pairs {
        let DonorPair { a, b, reason } = p;
        t.row(side(a, reason));
        t.row(side(b, ""));
    }
    print!("{}", t.render());
    println!(
        "{} pair(s); `almoner donor merge FROM INTO` merges, `almoner donor keep-apart A B --reason …` keeps apart",
        pairs.len()
    );
    Ok(())
}

fn side(d: &DonorSide, reason: &str) -> Vec<String> {
    let contacts: Vec<String> = [("INN ", &d.inn), ("", &d.email), ("", &d.phone)]
        .into_iter()
        .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label}{v}")))
        .collect();
    vec![
        d.id.to_string(),
        d.name.clone(),
        d.gifts.to_string(),
        d.total.plain(),
        if contacts.is_empty() { "—".into() } else { contacts.join(", ") },
        reason.to_string(),
    ]
}

pub async fn keep_apart(store: &Store, a: i64, b: i64, reason: Option<&str>) -> Result<()> {
    let id = store.keep_donors_apart(a, b, reason).await?;
    println!("donors {a} and {b} kept apart (decision {id}): no longer offered as duplicates");
    Ok(())
}

/// Merges FROM into INTO: INTO keeps its own e-mail and phone, unless `take`
/// names them, and fills its gaps from FROM's, unless `keep` names them.
pub async fn merge(store: &Store, from: i64, into: i64, take: &[Contact], keep: &[Contact]) -> Result<()> {
    if let Some(c) = take.iter().find(|c| keep.contains(c)) {
        bail!("--take and --keep both name {}: say which donor's {0} donor {into} ends with", c.word());
    }
    let choice = |c: Contact| {
        if take.contains(&c) {
            Some(true)
        } else if keep.contains(&c) {
            Some(false)
        } else {
            None
        }
    };
    let id = store.merge_donors_taking(from, into, choice(Contact::Email), choice(Contact::Phone)).await?;
    println!("donor {from} merged into donor {into} (merge {id}; undo with `almoner donor unmerge {id}`)");
    Ok(())
}
