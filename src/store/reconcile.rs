//! The database's side of a legacy migration's reconciliation: every figure
//! read back from the rows the migration wrote, inside its transaction.

use std::collections::{BTreeMap, HashMap};

use super::db::Exec;
use super::{Tx, q};
use crate::error::Result;
use crate::legacy::Export;
use crate::legacy::report::{Count, Line, Report};

pub(crate) const ENTITIES: [&str; 5] = ["beneficiary", "case", "donor", "donation", "allocation"];

/// Reads the database's side of every figure, inside the migration's transaction.
pub(crate) async fn reconcile(tx: &mut Tx, ex: &Export, report: &mut Report) -> Result<()> {
    let source = &ex.source;
    let in_db: Vec<(String, i64)> = q("SELECT entity, COUNT(*) FROM legacy_ids WHERE source = $1 GROUP BY entity")
        .bind(source)
        .fetch_all(tx)
        .await?;
    report.counts = in_db
        .into_iter()
        .filter_map(|(e, n)| {
            ENTITIES.iter().find(|x| **x == e).map(|entity| Count {
                entity,
                in_database: n as usize,
                ..Count::default()
            })
        })
        .collect();
    const LIVE: &str = "a.id IN (SELECT new_id FROM legacy_ids WHERE source = $1 AND entity = 'allocation')
        AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.allocation_id = a.id)";
    const DONATIONS: &str = "d.id IN (SELECT new_id FROM legacy_ids WHERE source = $1 AND entity = 'donation')";
    // Per case: the export's allocation rows (and the old CRM's stated figure) against live allocations.
    let sql = format!(
        "SELECT l.old_id, l.new_id, (SELECT CAST(COALESCE(SUM(a.amount), 0) AS BIGINT) FROM allocations a WHERE a.case_id = l.new_id AND {LIVE})
         FROM legacy_ids l WHERE l.source = $1 AND l.entity = 'case'"
    );
    let db: Vec<(String, i64, i64)> = q(sql).bind(source).fetch_all(tx).await?;
    let db: HashMap<String, (i64, i64)> = db.into_iter().map(|(o, id, v)| (o, (id, v))).collect();
    let mut keys: Vec<&String> = ex.old.allocated_per_case.keys().chain(ex.old.stated_per_case.keys()).collect();
    keys.extend(ex.cases.iter().map(|c| &c.old));
    keys.sort();
    keys.dedup();
    report.cases = keys
        .into_iter()
        .map(|k| Line {
            key: k.clone(),
            new_id: db.get(k).map(|v| v.0),
            old: ex.old.allocated_per_case.get(k).copied().unwrap_or(0),
            stated: ex.old.stated_per_case.get(k).copied(),
            new: db.get(k).map_or(0, |v| v.1),
        })
        .collect();
    // Per donor, by the record the money ended up on (two old donors may be one person).
    let sql = format!(
        "SELECT d.donor_id, CAST(SUM(d.amount) AS BIGINT) FROM donations d WHERE {DONATIONS} AND d.donor_id IS NOT NULL GROUP BY d.donor_id"
    );
    let db: Vec<(i64, i64)> = q(sql).bind(source).fetch_all(tx).await?;
    let donor_ids: Vec<(String, i64)> =
        q("SELECT old_id, new_id FROM legacy_ids WHERE source = $1 AND entity = 'donor'")
            .bind(source)
            .fetch_all(tx)
            .await?;
    let donor_ids: HashMap<String, i64> = donor_ids.into_iter().collect();
    let mut by_new: BTreeMap<Option<i64>, (Vec<String>, i64)> = BTreeMap::new();
    let mut olds: Vec<&String> = ex.old.given_per_donor.keys().collect();
    olds.extend(ex.donors.iter().map(|d| &d.old));
    olds.sort();
    olds.dedup();
    for old in olds {
        let new = donor_ids.get(old).copied();
        let e = by_new.entry(new).or_default();
        e.0.push(old.clone());
        e.1 += ex.old.given_per_donor.get(old).copied().unwrap_or(0);
    }
    let db: HashMap<i64, i64> = db.into_iter().collect();
    for id in db.keys() {
        by_new.entry(Some(*id)).or_default();
    }
    report.donors = by_new
        .into_iter()
        .map(|(new_id, (olds, old))| Line {
            key: if olds.is_empty() { "(not in the export)".into() } else { olds.join(", ") },
            new_id,
            old,
            stated: None,
            new: new_id.and_then(|id| db.get(&id)).copied().unwrap_or(0),
        })
        .collect();
    // Per month.
    let month = if tx.is_pg() { "to_char(d.received_on, 'YYYY-MM')" } else { "substr(d.received_on, 1, 7)" };
    let sql =
        format!("SELECT {month}, CAST(SUM(d.amount) AS BIGINT) FROM donations d WHERE {DONATIONS} GROUP BY {month}");
    let db: BTreeMap<String, i64> = q(sql).bind(source).fetch_all(tx).await?.into_iter().collect();
    let mut months: Vec<&String> = ex.old.per_month.keys().chain(db.keys()).collect();
    months.sort();
    months.dedup();
    report.months = months
        .into_iter()
        .map(|m| Line {
            key: m.clone(),
            new_id: None,
            old: ex.old.per_month.get(m).copied().unwrap_or(0),
            stated: None,
            new: db.get(m).copied().unwrap_or(0),
        })
        .collect();
    let sql = format!("SELECT CAST(COALESCE(SUM(d.amount), 0) AS BIGINT) FROM donations d WHERE {DONATIONS}");
    let donated: i64 = q(sql).bind(source).scalar(tx).await?;
    let sql = format!("SELECT CAST(COALESCE(SUM(a.amount), 0) AS BIGINT) FROM allocations a WHERE {LIVE}");
    let allocated: i64 = q(sql).bind(source).scalar(tx).await?;
    let stated: i64 = ex.old.stated_per_case.values().sum();
    report.totals = vec![
        Line { key: "donations".into(), new_id: None, old: ex.old.donations_total, stated: None, new: donated },
        Line {
            key: "allocations".into(),
            new_id: None,
            old: ex.old.allocations_total,
            stated: (!ex.old.stated_per_case.is_empty()).then_some(stated),
            new: allocated,
        },
    ];
    Ok(())
}
