//! Reads for listings, cards and summaries. None of these write.

use chrono::NaiveDate;
use sqlx::{Row, SqliteConnection};

use super::{Store, rows};
use crate::domain::stage::checklist;
use crate::domain::{
    Allocation, Case, CaseFile, Channel, Document, Donation, Invoice, Money, PaymentOrder, Program, Qualification,
    Stage, StageChange, StageSummary,
};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub stage: Option<Stage>,
    pub program: Option<Program>,
    pub responsible: Option<String>,
    /// Matches beneficiary name, clinic or diagnosis (case-insensitive for ASCII).
    pub text: Option<String>,
    /// Oldest fundraising first (by the date fundraising opened), else by id.
    pub oldest_first: bool,
    pub limit: Option<i64>,
    pub offset: i64,
}

#[derive(Debug, Clone, Default)]
pub struct DonationQuery {
    pub unallocated_only: bool,
    pub channel: Option<Channel>,
    pub designated: Option<bool>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Matches payer or purpose.
    pub text: Option<String>,
    pub limit: Option<i64>,
    pub offset: i64,
}

const CASE_FILTER: &str =
    "(?1 IS NULL OR c.stage = ?1) AND (?2 IS NULL OR c.program = ?2) AND (?3 IS NULL OR c.responsible = ?3)
     AND (?4 IS NULL OR c.id IN (SELECT rowid FROM case_search WHERE case_search MATCH ?4))";

/// A full-text query matching every word typed as a word start:
/// `Иванова Анн` finds "Иванова Анна Сергеевна". Each word is quoted, so
/// nothing typed is read as query syntax; ё is folded to е as in the index.
pub(crate) fn search_query(text: &Option<String>) -> Option<String> {
    let words: Vec<String> = text
        .as_deref()
        .unwrap_or("")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"*", w.replace('ё', "е").replace('Ё', "Е")))
        .collect();
    (!words.is_empty()).then(|| words.join(" AND "))
}

fn like(text: &Option<String>) -> Option<String> {
    text.as_ref().map(|t| t.trim()).filter(|t| !t.is_empty()).map(|t| format!("%{t}%"))
}

async fn case_in(conn: &mut SqliteConnection, id: i64) -> Result<Case> {
    let sql = format!(
        "SELECT {} FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE c.id = ?",
        rows::CASE_COLUMNS
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::case_not_found(id))?;
    rows::case(&row)
}

async fn allocations_where(conn: &mut SqliteConnection, filter: &str, id: i64) -> Result<Vec<Allocation>> {
    let sql = format!("{ALLOCATION_SQL} WHERE {filter} ORDER BY a.id");
    let found = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(&mut *conn).await?;
    found.iter().map(rows::allocation).collect()
}

const ALLOCATION_SQL: &str = "SELECT a.id, a.donation_id, a.case_id, a.amount, a.at, a.by_user, a.reason,
        EXISTS (SELECT 1 FROM reversals r WHERE r.allocation_id = a.id) AS reversed, d.payer, d.channel
 FROM allocations a JOIN donations d ON d.id = a.donation_id";

impl Store {
    pub async fn list_cases(&self, q: &CaseQuery) -> Result<Vec<Case>> {
        let order = if q.oldest_first { "c.fundraising_since, c.id" } else { "c.id" };
        let sql = format!(
            "SELECT {} FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE {CASE_FILTER}
             ORDER BY {order} LIMIT ?5 OFFSET ?6",
            rows::CASE_COLUMNS
        );
        let found = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(q.stage.map(Stage::as_str))
            .bind(q.program.map(Program::as_str))
            .bind(&q.responsible)
            .bind(search_query(&q.text))
            .bind(q.limit.unwrap_or(-1))
            .bind(q.offset)
            .fetch_all(self.pool()?)
            .await?;
        found.iter().map(rows::case).collect()
    }

    pub async fn case(&self, id: i64) -> Result<Case> {
        let mut conn = self.pool()?.acquire().await?;
        case_in(&mut conn, id).await
    }

    /// Everything about one case.
    pub async fn case_file(&self, id: i64) -> Result<CaseFile> {
        // One read transaction: every part of the card is from the same moment.
        let mut tx = self.pool()?.begin().await?;
        let case = case_in(&mut tx, id).await?;
        let qualification = sqlx::query("SELECT * FROM qualifications WHERE case_id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| -> Result<Qualification> {
                Ok(Qualification {
                    diagnosis: r.try_get("diagnosis")?,
                    treatment: r.try_get("treatment")?,
                    clinic_fits: r.try_get::<i64, _>("clinic_fits")? != 0,
                    approved_by: r.try_get("approved_by")?,
                    approved_at: r.try_get("approved_at")?,
                })
            })
            .transpose()?;
        let invoice = sqlx::query("SELECT * FROM invoices WHERE case_id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| -> Result<Invoice> {
                Ok(Invoice {
                    number: r.try_get("number")?,
                    date: r.try_get("date")?,
                    amount: Money::from_minor(r.try_get("amount")?),
                    payee: r.try_get("payee")?,
                })
            })
            .transpose()?;
        let payment_order = sqlx::query("SELECT * FROM payment_orders WHERE case_id = ? ORDER BY id DESC LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| -> Result<PaymentOrder> {
                Ok(PaymentOrder {
                    number: r.try_get("number")?,
                    date: r.try_get("date")?,
                    amount: Money::from_minor(r.try_get("amount")?),
                    recorded_by: r.try_get("recorded_by")?,
                })
            })
            .transpose()?;
        let documents = sqlx::query("SELECT * FROM documents WHERE case_id = ? ORDER BY id")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| -> Result<Document> {
                Ok(Document {
                    id: r.try_get("id")?,
                    kind: r.try_get::<String, _>("kind")?.parse()?,
                    file_name: r.try_get("file_name")?,
                    sha256: r.try_get("sha256")?,
                    added_at: r.try_get("added_at")?,
                    added_by: r.try_get("added_by")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let configured = super::cases::configured_checklist(&mut tx, case.program).await?;
        let required_documents = checklist(case.program, case.published, configured.as_deref());
        let missing_documents =
            required_documents.iter().copied().filter(|k| !documents.iter().any(|d| d.kind == *k)).collect();
        let allocations = allocations_where(&mut tx, "a.case_id = ?", id).await?;
        let history = sqlx::query("SELECT * FROM stage_changes WHERE case_id = ? ORDER BY id")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| -> Result<StageChange> {
                Ok(StageChange {
                    from: r.try_get::<Option<String>, _>("from_stage")?.map(|s| s.parse()).transpose()?,
                    to: r.try_get::<String, _>("to_stage")?.parse()?,
                    at: r.try_get("at")?,
                    by: r.try_get("by_user")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let notes: String =
            sqlx::query_scalar("SELECT notes FROM cases WHERE id = ?").bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(CaseFile {
            case,
            qualification,
            invoice,
            payment_order,
            documents,
            missing_documents,
            required_documents,
            allocations,
            history,
            notes,
        })
    }

    pub async fn list_donations(&self, q: &DonationQuery) -> Result<Vec<Donation>> {
        let sql = format!(
            "SELECT {} FROM donations d WHERE {open} (?1 = 0 OR d.allocated < d.amount) AND (?2 IS NULL OR d.channel = ?2)
               AND (?5 IS NULL OR (d.designation_kind <> 'unrestricted') = ?5)
               AND (?6 IS NULL OR d.received_on >= ?6) AND (?7 IS NULL OR d.received_on <= ?7)
               AND (?8 IS NULL OR d.payer LIKE ?8 OR d.purpose LIKE ?8)
             ORDER BY d.id LIMIT ?3 OFFSET ?4",
            rows::DONATION_COLUMNS,
            // Written out so SQLite can use the partial index of open donations.
            open = if q.unallocated_only { "d.allocated < d.amount AND" } else { "" }
        );
        let found = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(q.unallocated_only as i64)
            .bind(q.channel.map(Channel::as_str))
            .bind(q.limit.unwrap_or(-1))
            .bind(q.offset)
            .bind(q.designated)
            .bind(q.from)
            .bind(q.to)
            .bind(like(&q.text))
            .fetch_all(self.pool()?)
            .await?;
        found.iter().map(rows::donation).collect()
    }

    pub async fn donation(&self, id: i64) -> Result<(Donation, Vec<Allocation>)> {
        let sql = format!("SELECT {} FROM donations d WHERE d.id = ?", rows::DONATION_COLUMNS);
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool()?)
            .await?
            .ok_or_else(|| Error::donation_not_found(id))?;
        let mut conn = self.pool()?.acquire().await?;
        let allocations = allocations_where(&mut conn, "a.donation_id = ?", id).await?;
        Ok((rows::donation(&row)?, allocations))
    }

    /// Count and sums per stage.
    pub async fn summary(&self) -> Result<Vec<StageSummary>> {
        self.stage_totals(&CaseQuery::default()).await
    }

    /// Count and sums per stage of the cases a query selects (its stage is ignored).
    pub async fn stage_totals(&self, q: &CaseQuery) -> Result<Vec<StageSummary>> {
        let sql = if q.program.is_none() && q.responsible.is_none() && search_query(&q.text).is_none() {
            "SELECT stage, COUNT(*), COALESCE(SUM(target), 0), COALESCE(SUM(collected), 0) FROM cases GROUP BY stage"
                .to_string()
        } else {
            format!(
                "SELECT c.stage, COUNT(*), COALESCE(SUM(c.target), 0), COALESCE(SUM(c.collected), 0)
                 FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE {CASE_FILTER} GROUP BY c.stage"
            )
        };
        let found: Vec<(String, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(None::<&str>)
            .bind(q.program.map(Program::as_str))
            .bind(&q.responsible)
            .bind(search_query(&q.text))
            .fetch_all(self.pool()?)
            .await?;
        let mut out = Vec::new();
        for stage in Stage::ALL {
            let (cases, target, collected) =
                found.iter().find(|(s, ..)| s == stage.as_str()).map(|(_, n, t, c)| (*n, *t, *c)).unwrap_or_default();
            out.push(StageSummary {
                stage: *stage,
                cases,
                target: Money::from_minor(target),
                collected: Money::from_minor(collected),
            });
        }
        Ok(out)
    }

    /// Every fundraising case, oldest fundraising first, with just what the
    /// split screen shows: id, beneficiary, program, target, collected.
    pub async fn fundraising_figures(&self) -> Result<Vec<(i64, String, Program, Money, Money)>> {
        let found: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(
            "SELECT c.id, b.full_name, c.program, c.target, c.collected FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id
             WHERE c.stage = 'fundraising' ORDER BY c.fundraising_since, c.id",
        )
        .fetch_all(self.pool()?)
        .await?;
        found
            .into_iter()
            .map(|(id, name, program, target, collected)| {
                Ok((id, name, program.parse()?, Money::from_minor(target), Money::from_minor(collected)))
            })
            .collect()
    }

    /// Cases waiting for the bookkeeper: in payment, oldest first, with their invoice.
    pub async fn payments_queue(&self, limit: i64) -> Result<Vec<(Case, Option<Invoice>)>> {
        let sql = format!(
            "SELECT {}, i.number AS inv_number, i.date AS inv_date, i.amount AS inv_amount, i.payee AS inv_payee
             FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id LEFT JOIN invoices i ON i.case_id = c.id
             WHERE c.stage = 'payment' ORDER BY c.stage_since, c.id LIMIT ?",
            rows::CASE_COLUMNS
        );
        let found = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(self.pool()?).await?;
        found
            .iter()
            .map(|r| {
                let invoice = match r.try_get::<Option<String>, _>("inv_number")? {
                    Some(number) => Some(Invoice {
                        number,
                        date: r.try_get("inv_date")?,
                        amount: Money::from_minor(r.try_get("inv_amount")?),
                        payee: r.try_get("inv_payee")?,
                    }),
                    None => None,
                };
                Ok((rows::case(r)?, invoice))
            })
            .collect()
    }

    /// Totals across all donations: received, allocated, unallocated.
    pub async fn donation_totals(&self) -> Result<(i64, Money, Money)> {
        let (n, amount, allocated): (i64, i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(amount), 0), COALESCE(SUM(allocated), 0) FROM donations")
                .fetch_one(self.pool()?)
                .await?;
        Ok((n, Money::from_minor(amount), Money::from_minor(allocated)))
    }
}
