//! The money invariants of DESIGN §2, re-checked from the raw rows. Every
//! write transaction runs this over what it touched before committing; the
//! `verify` command and the tests run it over everything.

use super::{Exec, Store, q};
use crate::domain::Program;
use crate::error::{Error, Result};

/// Which rows to check.
#[derive(Debug, Clone, Default)]
pub enum Scope {
    #[default]
    All,
    Touched {
        donations: Vec<i64>,
        cases: Vec<i64>,
    },
    /// Donations and cases with ids in `lo..=hi` (for checking in slices).
    Ids {
        lo: i64,
        hi: i64,
    },
}
fn id_filter(column: &str, ids: &[i64]) -> String {
    if ids.is_empty() {
        // Nothing of this kind was touched; `x IN ()` would cost a full scan.
        return "FALSE".to_string();
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("{column} IN ({})", list.join(","))
}

/// Returns every violation found, as sentences; empty when all hold.
/// (The SQL is what SQLite and PostgreSQL both read: sums cast back to
/// BIGINT, every derived table named, no output names in HAVING.)
pub(crate) async fn violations(conn: &mut impl Exec, scope: &Scope) -> Result<Vec<String>> {
    let filter = |column: &str, ids: &[i64]| match scope {
        Scope::All => "TRUE".to_string(),
        Scope::Touched { .. } => id_filter(column, ids),
        Scope::Ids { lo, hi } => format!("{column} BETWEEN {lo} AND {hi}"),
    };
    let (donations, cases) = match scope {
        Scope::Touched { donations, cases } => (donations.as_slice(), cases.as_slice()),
        _ => (&[][..], &[][..]),
    };
    let donation_where = filter("d.id", donations);
    let case_where = filter("c.id", cases);
    // Written on the allocation's own columns so each side uses its index.
    let allocation_where = format!("{} OR {}", filter("a.donation_id", donations), filter("a.case_id", cases));
    let mut found = Vec::new();
    // 1. Allocations of a donation sum to its `allocated`, which is at most its amount.
    let sql = format!(
        "SELECT id, amount, allocated, live FROM (
            SELECT d.id, d.amount, d.allocated, CAST(COALESCE(SUM(a.amount), 0) AS BIGINT) AS live
            FROM donations d
            LEFT JOIN allocations a ON a.donation_id = d.id AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.allocation_id = a.id)
            WHERE {donation_where}
            GROUP BY d.id) AS sums
         WHERE live <> allocated OR live > amount OR amount <= 0
         ORDER BY id"
    );
    let rows: Vec<(i64, i64, i64, i64)> = q(sql).fetch_all(conn).await?;
    for (id, amount, allocated, live) in rows {
        found.push(format!(
            "donation {id}: amount {amount}, recorded allocated {allocated}, live allocations {live} (kopecks)"
        ));
    }
    // 2. A case's collected is the sum of its live allocations and never above target;
    //    a case in fundraising is below target, one in payment/paid/closed is at it.
    let sql = format!(
        "SELECT id, stage, target, collected, live FROM (
            SELECT c.id, c.stage, c.target, c.collected, CAST(COALESCE(SUM(a.amount), 0) AS BIGINT) AS live
            FROM cases c
            LEFT JOIN allocations a ON a.case_id = c.id AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.allocation_id = a.id)
            WHERE {case_where}
            GROUP BY c.id) AS sums
         WHERE live <> collected OR live > target
             OR (stage = 'fundraising' AND live >= target)
             OR (stage IN ('payment', 'paid', 'closed') AND live <> target)
             OR (stage IN ('qualification', 'documents', 'rejected') AND live <> 0)
         ORDER BY id"
    );
    let rows: Vec<(i64, String, i64, i64, i64)> = q(sql).fetch_all(conn).await?;
    for (id, stage, target, collected, live) in rows {
        found.push(format!(
            "case {id} ({stage}): target {target}, recorded collected {collected}, live allocations {live} (kopecks)"
        ));
    }
    // 4. Every allocation is positive (also a CHECK constraint) and in the donation's currency.
    let sql = format!(
        "SELECT a.id FROM allocations a JOIN donations d ON d.id = a.donation_id JOIN cases c ON c.id = a.case_id
         WHERE (a.amount <= 0 OR d.currency <> c.currency) AND ({allocation_where})
         ORDER BY a.id"
    );
    let rows: Vec<i64> = q(sql).scalars(conn).await?;
    for id in rows {
        found.push(format!("allocation {id}: not positive or mixes currencies"));
    }
    // 5. A donation's `programs` holds the bit of every program it was designated to or placed on
    //    (the bits as `Program::bit` gives them; the triggers of migration 0021 keep them).
    let bit = |column: &str| {
        let arms: String = Program::ALL.iter().map(|p| format!(" WHEN '{}' THEN {}", p.as_str(), p.bit())).collect();
        format!("CASE {column}{arms} ELSE 0 END")
    };
    let sql = format!(
        "SELECT id, programs, want FROM (
            SELECT d.id, d.programs, CAST(COALESCE((SELECT SUM(DISTINCT b) FROM (
                SELECT {bit} AS b FROM allocations a JOIN cases c ON c.id = a.case_id WHERE a.donation_id = d.id
                UNION SELECT {bit} FROM cases c WHERE d.designation_kind = 'case' AND c.id = d.designated_id) AS bits), 0) AS BIGINT) AS want
            FROM donations d WHERE {donation_where}) AS found
         WHERE programs <> want
         ORDER BY id",
        bit = bit("c.program"),
    );
    let rows: Vec<(i64, i64, i64)> = q(sql).fetch_all(conn).await?;
    for (id, has, want) in rows {
        found.push(format!("donation {id}: programs recorded as {has}, its designation and placings give {want}"));
    }
    // 6. Every gift counted once: a payout settled is exactly the net of the gifts it settles
    //    (gross less fees), a fee is never more than its gift, and a payout waiting settles none.
    if matches!(scope, Scope::All) {
        let sql = "SELECT id, amount, net, n, matched FROM (
                SELECT s.id, s.amount, CAST(COALESCE(SUM(d.amount - d.fee), 0) AS BIGINT) AS net,
                       CAST(COUNT(d.id) AS BIGINT) AS n, CAST(CASE WHEN s.matched_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS matched
                FROM settlements s LEFT JOIN donations d ON d.settlement_id = s.id
                GROUP BY s.id, s.amount, s.matched_at) AS sums
             WHERE (matched = 1 AND net <> amount) OR (matched = 0 AND n > 0)
             ORDER BY id";
        let rows: Vec<(i64, i64, i64, i64, i64)> = q(sql).fetch_all(&mut *conn).await?;
        for (id, amount, net, n, _) in rows {
            found.push(format!("payout {id}: amount {amount}, but the {n} gift(s) it settles net {net} (kopecks)"));
        }
        let fees: Vec<i64> = q("SELECT id FROM donations WHERE fee > amount ORDER BY id").scalars(&mut *conn).await?;
        for id in fees {
            found.push(format!("donation {id}: the processor's fee is more than the gift"));
        }
    }
    Ok(found)
}

pub(crate) async fn ensure(conn: &mut impl Exec, scope: &Scope) -> Result<()> {
    let found = violations(conn, scope).await?;
    if found.is_empty() { Ok(()) } else { Err(Error::Invariant(found.join("; "))) }
}

impl Store {
    /// Checks every invariant over the whole database.
    pub async fn verify(&self) -> Result<Vec<String>> {
        violations(&mut self.conn().await?, &Scope::All).await
    }

    /// The same check in slices of ids, reporting `(done, total)` after each.
    pub async fn verify_in_slices(&self, mut progress: impl FnMut(i64, i64)) -> Result<Vec<String>> {
        let mut conn = self.conn().await?;
        let (d, c): (i64, i64) =
            q("SELECT COALESCE(MAX(id), 0), (SELECT COALESCE(MAX(id), 0) FROM cases) FROM donations")
                .fetch_one(&mut conn)
                .await?;
        let top = d.max(c);
        let step = 20_000;
        let mut found = Vec::new();
        let mut lo = 1;
        while lo <= top {
            let hi = (lo + step - 1).min(top);
            found.extend(violations(&mut conn, &Scope::Ids { lo, hi }).await?);
            progress(hi, top);
            lo = hi + 1;
        }
        Ok(found)
    }
}
