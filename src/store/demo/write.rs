//! Writing the demo foundation: every table in multi-row statements, as
//! either engine takes them.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::{CaseRow, DonationRow, DonorRow, ts};
use crate::error::Result;
use crate::store::db::Arg;
use crate::store::{Store, Tx, q};

/// One row's values, in column order.
struct Binds(Vec<Arg>);

impl Binds {
    fn push_bind(&mut self, v: impl Into<Arg>) -> &mut Binds {
        self.0.push(v.into());
        self
    }
}

/// Inserts rows in chunks through one multi-row INSERT each (`head` names the
/// table and columns; at most 30 000 values a statement, under either engine's limit).
async fn insert_rows<T>(
    tx: &mut Tx,
    head: &'static str,
    columns: usize,
    rows: &[T],
    mut bind: impl FnMut(&mut Binds, &T),
) -> Result<()> {
    use std::fmt::Write;
    let per = (30_000 / columns).clamp(1, 2_000);
    for chunk in rows.chunks(per) {
        let mut values = Binds(Vec::with_capacity(chunk.len() * columns));
        let mut sql = format!("{head}VALUES ");
        // PostgreSQL numbers its parameters; SQLite takes plain `?`s (it looks a
        // `$N` up among the names seen so far, which for 30 000 of them takes seconds).
        let pg = matches!(tx, Tx::Pg(_));
        for (i, row) in chunk.iter().enumerate() {
            bind(&mut values, row);
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for c in 0..columns {
                let sep = if c == 0 { "" } else { ", " };
                let _ = if pg { write!(sql, "{sep}${}", i * columns + c + 1) } else { write!(sql, "{sep}?") };
            }
            sql.push(')');
        }
        let mut insert = q(sql);
        for v in values.0 {
            insert = insert.bind(v);
        }
        insert.execute(tx).await?;
    }
    Ok(())
}

impl Store {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_demo(
        &self,
        tx: &mut Tx,
        today: NaiveDate,
        beneficiaries: &[(i64, String, Option<NaiveDate>, &str)],
        cases: &[CaseRow],
        donors: &[DonorRow],
        donations: &[DonationRow],
        allocations: &[(i64, i64, i64, DateTime<Utc>)],
        reversed: &[i64],
    ) -> Result<()> {
        let created = ts(Utc.from_utc_datetime(&today.and_hms_opt(8, 0, 0).unwrap_or_default()));
        insert_rows(
            tx,
            "INSERT INTO beneficiaries (id, full_name, birth_date, city, created_at) ",
            5,
            beneficiaries,
            |s, b| {
                s.push_bind(b.0).push_bind(b.1.clone()).push_bind(b.2).push_bind(b.3.to_string()).push_bind(created);
            },
        )
        .await?;
        // Cases go in as fundraising so their allocations pass the database's
        // own check; their real stage is set after.
        insert_rows(
            tx,
            "INSERT INTO cases (id, beneficiary_id, program, clinic, diagnosis, stage, target, collected, published, stage_since, fundraising_since, created_at) ",
            12,
            cases,
            |s, c| {
                let last = c.history.last().map(|h| ts(h.2)).unwrap_or_else(|| ts(c.created));
                let fundraising = c.history.iter().find(|h| h.1 == "fundraising").map(|h| ts(h.2));
                s.push_bind(c.id)
                    .push_bind(c.beneficiary)
                    .push_bind(c.program)
                    .push_bind(c.clinic)
                    .push_bind(c.diagnosis)
                    .push_bind("fundraising")
                    .push_bind(c.target)
                    .push_bind(c.collected)
                    .push_bind(c.published as i64)
                    .push_bind(last)
                    .push_bind(fundraising)
                    .push_bind(ts(c.created));
            },
        )
        .await?;
        let mut history = Vec::new();
        for c in cases {
            for h in &c.history {
                history.push((c.id, h.0, h.1, ts(h.2), h.3.clone()));
            }
        }
        insert_rows(
            tx,
            "INSERT INTO stage_changes (case_id, from_stage, to_stage, at, by_user, reason) ",
            6,
            &history,
            |s, h| {
                s.push_bind(h.0).push_bind(h.1).push_bind(h.2).push_bind(h.3).push_bind("demo").push_bind(h.4.clone());
            },
        )
        .await?;
        let past = |stage: &str, c: &CaseRow| c.history.iter().any(|h| h.1 == stage);
        let qualified: Vec<&CaseRow> = cases.iter().filter(|c| past("documents", c)).collect();
        insert_rows(
            tx,
            "INSERT INTO qualifications (case_id, diagnosis, treatment, clinic_fits, approved_by, approved_at) ",
            6,
            &qualified,
            |s, c| {
                s.push_bind(c.id)
                    .push_bind(c.diagnosis)
                    .push_bind("по протоколу клиники")
                    .push_bind(1)
                    .push_bind("demo")
                    .push_bind(ts(c.created));
            },
        )
        .await?;
        let invoiced: Vec<&CaseRow> = cases.iter().filter(|c| past("fundraising", c)).collect();
        insert_rows(tx, "INSERT INTO invoices (case_id, number, date, amount, payee) ", 5, &invoiced, |s, c| {
            s.push_bind(c.id)
                .push_bind(format!("СЧ-{}", 1000 + c.id))
                .push_bind(c.created.date_naive())
                .push_bind(c.target)
                .push_bind(c.clinic);
        })
        .await?;
        let mut docs = Vec::new();
        for c in &invoiced {
            docs.push((c.id, "invoice", format!("счёт_{}.pdf", c.id)));
            if matches!(c.program, "treatment" | "rehabilitation") {
                docs.push((c.id, "medical_report", format!("выписка_{}.pdf", c.id)));
            }
            if c.published {
                docs.push((c.id, "publication_consent", format!("согласие_{}.pdf", c.id)));
            }
            if c.stage == "closed" {
                docs.push((c.id, "act", format!("акт_{}.pdf", c.id)));
            }
        }
        insert_rows(
            tx,
            "INSERT INTO documents (case_id, kind, file_name, sha256, added_at, added_by) ",
            6,
            &docs,
            |s, d| {
                s.push_bind(d.0)
                    .push_bind(d.1)
                    .push_bind(d.2.clone())
                    .push_bind(format!("demo-{}-{}", d.0, d.1))
                    .push_bind(created)
                    .push_bind("demo");
            },
        )
        .await?;
        let paid: Vec<&CaseRow> = cases.iter().filter(|c| past("paid", c)).collect();
        insert_rows(
            tx,
            "INSERT INTO payment_orders (case_id, number, date, amount, recorded_by, recorded_at) ",
            6,
            &paid,
            |s, c| {
                s.push_bind(c.id)
                    .push_bind(format!("{}", 500 + c.id))
                    .push_bind(c.created.date_naive())
                    .push_bind(c.target)
                    .push_bind("demo")
                    .push_bind(created);
            },
        )
        .await?;
        // A paid case's invoice names the order that paid it.
        q("UPDATE invoices SET paid_by = (SELECT MAX(p.id) FROM payment_orders p WHERE p.case_id = invoices.case_id)
            WHERE EXISTS (SELECT 1 FROM payment_orders p WHERE p.case_id = invoices.case_id)")
        .execute(tx)
        .await?;
        q("UPDATE payment_orders SET invoice_id = (SELECT MAX(i.id) FROM invoices i WHERE i.case_id = payment_orders.case_id)")
            .execute(tx)
            .await?;
        insert_rows(tx, "INSERT INTO donors (id, kind, name, inn, email, name_key) ", 6, donors, |s, d| {
            s.push_bind(d.0)
                .push_bind(d.1)
                .push_bind(d.2.clone())
                .push_bind(d.3.clone())
                .push_bind(d.4.clone())
                .push_bind(crate::domain::names::name_key(&d.2));
        })
        .await?;
        // Most donors with an e-mail agreed to be written to; a few asked to be left alone.
        let contact = "UPDATE donors SET consent = CASE WHEN email IS NOT NULL AND id % 10 < 7 THEN 1 ELSE 0 END,
                                          do_not_contact = CASE WHEN id % 29 = 0 THEN 1 ELSE 0 END";
        q(contact).execute(tx).await?;
        insert_rows(
            tx,
            "INSERT INTO donations (id, amount, allocated, designation_kind, designated_id, received_on, channel, payer, donor_id, purpose, created_at) ",
            11,
            donations,
            |s, d| {
                s.push_bind(d.id)
                    .push_bind(d.amount)
                    .push_bind(d.allocated)
                    .push_bind(if d.designated.is_some() { "case" } else { "unrestricted" })
                    .push_bind(d.designated)
                    .push_bind(d.received)
                    .push_bind(d.channel)
                    .push_bind(d.payer.clone())
                    .push_bind(d.donor)
                    .push_bind(d.purpose.clone())
                    .push_bind(created);
            },
        )
        .await?;
        insert_rows(
            tx,
            "INSERT INTO allocations (donation_id, case_id, amount, at, by_user) ",
            5,
            allocations,
            |s, a| {
                s.push_bind(a.0).push_bind(a.1).push_bind(a.2).push_bind(a.3).push_bind("demo");
            },
        )
        .await?;
        insert_rows(tx, "INSERT INTO reversals (allocation_id, at, by_user, reason) ", 4, reversed, |s, id| {
            s.push_bind(*id).push_bind(created).push_bind("demo").push_bind("ошибочное распределение");
        })
        .await?;
        // Now every case takes its real stage.
        for stage in ["qualification", "documents", "payment", "paid", "closed", "rejected", "on_hold"] {
            let ids: Vec<String> = cases.iter().filter(|c| c.stage == stage).map(|c| c.id.to_string()).collect();
            for chunk in ids.chunks(5_000) {
                let sql = format!("UPDATE cases SET stage = '{stage}' WHERE id IN ({})", chunk.join(","));
                q(sql).execute(tx).await?;
            }
        }
        q("UPDATE cases SET fundraising_since = NULL WHERE stage IN ('qualification', 'documents', 'rejected', 'on_hold')")
            .execute(tx)
            .await?;
        // Rows went in with their own ids: PostgreSQL's counters move past them.
        if let Tx::Pg(_) = tx {
            for table in [
                "beneficiaries",
                "cases",
                "stage_changes",
                "documents",
                "payment_orders",
                "donors",
                "donations",
                "allocations",
                "reversals",
            ] {
                q(format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))
                    .execute(tx)
                    .await?;
            }
        }
        Ok(())
    }
}
