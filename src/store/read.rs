//! Reads for listings, cards and summaries. None of these write.

use chrono::NaiveDate;

use super::db::{Exec, Get};
use super::{Store, q, rows};
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

/// Which cases a [`CaseQuery`] selects, given `$1` stage, `$2` program,
/// `$3` responsible and `$4` the search (see [`search_query`]).
fn case_filter(pg: bool) -> &'static str {
    if pg {
        "($1 IS NULL OR c.stage = $1) AND ($2 IS NULL OR c.program = $2) AND ($3 IS NULL OR c.responsible = $3)
         AND ($4 IS NULL OR c.id IN (SELECT case_id FROM case_search WHERE words @@ to_tsquery('simple', $4)))"
    } else {
        "($1 IS NULL OR c.stage = $1) AND ($2 IS NULL OR c.program = $2) AND ($3 IS NULL OR c.responsible = $3)
         AND ($4 IS NULL OR c.id IN (SELECT rowid FROM case_search WHERE case_search MATCH $4))"
    }
}

/// A full-text query matching every word typed as a word start:
/// `Иванова Анн` finds "Иванова Анна Сергеевна". Each word is quoted (on
/// SQLite) or only letters and digits (on PostgreSQL), so nothing typed is
/// read as query syntax; ё is folded to е as in the index.
pub(crate) fn search_query(text: &Option<String>, pg: bool) -> Option<String> {
    let words: Vec<String> = text
        .as_deref()
        .unwrap_or("")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.replace('ё', "е").replace('Ё', "Е");
            if pg { format!("{}:*", w.to_lowercase()) } else { format!("\"{w}\"*") }
        })
        .collect();
    (!words.is_empty()).then(|| words.join(if pg { " & " } else { " AND " }))
}

fn like(text: &Option<String>) -> Option<String> {
    text.as_ref().map(|t| t.trim()).filter(|t| !t.is_empty()).map(|t| format!("%{t}%"))
}

pub(crate) async fn case_in(conn: &mut impl Exec, id: i64) -> Result<Case> {
    let sql = format!(
        "SELECT {} FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE c.id = $1",
        rows::CASE_COLUMNS
    );
    let row = q(sql).bind(id).row_optional(conn).await?.ok_or_else(|| Error::case_not_found(id))?;
    rows::case(&row)
}

/// The allocations `filter` (on `$1`) selects, oldest first.
async fn allocations_where(conn: &mut impl Exec, filter: &str, id: i64) -> Result<Vec<Allocation>> {
    let sql = format!("{ALLOCATION_SQL} WHERE {filter} ORDER BY a.id");
    q(sql).bind(id).rows(conn).await?.iter().map(rows::allocation).collect()
}

const ALLOCATION_SQL: &str = "SELECT a.id, a.donation_id, a.case_id, a.amount, a.at, a.by_user, a.reason,
        CAST(CASE WHEN EXISTS (SELECT 1 FROM reversals r WHERE r.allocation_id = a.id) THEN 1 ELSE 0 END AS BIGINT) AS reversed,
        d.payer, d.channel
 FROM allocations a JOIN donations d ON d.id = a.donation_id";

impl Store {
    pub async fn list_cases(&self, query: &CaseQuery) -> Result<Vec<Case>> {
        let pg = self.is_postgres();
        let order = if query.oldest_first { "c.fundraising_since, c.id" } else { "c.id" };
        let sql = format!(
            "SELECT {} FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE {}
             ORDER BY {order} LIMIT $5 OFFSET $6",
            rows::CASE_COLUMNS,
            case_filter(pg)
        );
        q(sql)
            .bind(query.stage.map(Stage::as_str))
            .bind(query.program.map(Program::as_str))
            .bind(query.responsible.clone())
            .bind(search_query(&query.text, pg))
            .bind(query.limit.unwrap_or(i64::MAX))
            .bind(query.offset)
            .rows(&mut self.conn().await?)
            .await?
            .iter()
            .map(rows::case)
            .collect()
    }

    pub async fn case(&self, id: i64) -> Result<Case> {
        case_in(&mut self.conn().await?, id).await
    }

    /// Everything about one case.
    pub async fn case_file(&self, id: i64) -> Result<CaseFile> {
        // One read transaction: every part of the card is from the same moment.
        let mut tx = self.pool.begin_read().await?;
        let case = case_in(&mut tx, id).await?;
        let qualification = q("SELECT * FROM qualifications WHERE case_id = $1")
            .bind(id)
            .row_optional(&mut tx)
            .await?
            .map(|r| -> Result<Qualification> {
                Ok(Qualification {
                    diagnosis: r.get("diagnosis")?,
                    treatment: r.get("treatment")?,
                    clinic_fits: r.get::<i64>("clinic_fits")? != 0,
                    approved_by: r.get("approved_by")?,
                    approved_at: r.get("approved_at")?,
                })
            })
            .transpose()?;
        let invoices =
            q(format!("SELECT {} FROM invoices i WHERE i.case_id = $1 ORDER BY i.id", rows::INVOICE_COLUMNS))
                .bind(id)
                .rows(&mut tx)
                .await?
                .iter()
                .map(|r| rows::invoice(r, ""))
                .collect::<Result<Vec<Invoice>>>()?;
        let invoice = invoices.iter().rev().find(|i| i.live).cloned();
        let payment_order = q("SELECT * FROM payment_orders WHERE case_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(id)
            .row_optional(&mut tx)
            .await?
            .map(|r| -> Result<PaymentOrder> {
                Ok(PaymentOrder {
                    number: r.get("number")?,
                    date: r.get("date")?,
                    amount: Money::from_minor(r.get("amount")?),
                    recorded_by: r.get("recorded_by")?,
                })
            })
            .transpose()?;
        let documents = q("SELECT * FROM documents WHERE case_id = $1 ORDER BY id")
            .bind(id)
            .rows(&mut tx)
            .await?
            .iter()
            .map(|r| -> Result<Document> {
                Ok(Document {
                    id: r.get("id")?,
                    kind: r.get::<String>("kind")?.parse()?,
                    file_name: r.get("file_name")?,
                    sha256: r.get("sha256")?,
                    added_at: r.get("added_at")?,
                    added_by: r.get("added_by")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let configured = super::cases::configured_checklist(&mut tx, case.program).await?;
        let required_documents = checklist(case.program, case.published, configured.as_deref());
        let missing_documents =
            required_documents.iter().copied().filter(|k| !documents.iter().any(|d| d.kind == *k)).collect();
        let allocations = allocations_where(&mut tx, "a.case_id = $1", id).await?;
        let history = q("SELECT * FROM stage_changes WHERE case_id = $1 ORDER BY id")
            .bind(id)
            .rows(&mut tx)
            .await?
            .iter()
            .map(|r| -> Result<StageChange> {
                Ok(StageChange {
                    from: r.get::<Option<String>>("from_stage")?.map(|s| s.parse()).transpose()?,
                    to: r.get::<String>("to_stage")?.parse()?,
                    at: r.get("at")?,
                    by: r.get("by_user")?,
                    reason: r.get("reason")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let (notes,): (String,) = q("SELECT notes FROM cases WHERE id = $1").bind(id).fetch_one(&mut tx).await?;
        tx.commit().await?;
        Ok(CaseFile {
            case,
            qualification,
            invoice,
            invoices,
            payment_order,
            documents,
            missing_documents,
            required_documents,
            allocations,
            history,
            notes,
        })
    }

    pub async fn list_donations(&self, query: &DonationQuery) -> Result<Vec<Donation>> {
        // Case-insensitive on both engines (SQLite's LIKE folds ASCII only; PostgreSQL's folds none).
        let (payer, purpose) = if self.is_postgres() {
            ("d.payer ILIKE $8", "d.purpose ILIKE $8")
        } else {
            ("d.payer LIKE $8", "d.purpose LIKE $8")
        };
        let sql = format!(
            "SELECT {} FROM donations d WHERE {open} ($1 = 0 OR d.allocated < d.amount) AND ($2 IS NULL OR d.channel = $2)
               AND ($5 IS NULL OR (d.designation_kind <> 'unrestricted') = $5)
               AND ($6 IS NULL OR d.received_on >= $6) AND ($7 IS NULL OR d.received_on <= $7)
               AND ($8 IS NULL OR {payer} OR {purpose})
             ORDER BY d.id LIMIT $3 OFFSET $4",
            rows::DONATION_COLUMNS,
            // Written out so SQLite can use the partial index of open donations.
            open = if query.unallocated_only { "d.allocated < d.amount AND" } else { "" }
        );
        q(sql)
            .bind(query.unallocated_only as i64)
            .bind(query.channel.map(Channel::as_str))
            .bind(query.limit.unwrap_or(i64::MAX))
            .bind(query.offset)
            .bind(query.designated)
            .bind(query.from)
            .bind(query.to)
            .bind(like(&query.text))
            .rows(&mut self.conn().await?)
            .await?
            .iter()
            .map(rows::donation)
            .collect()
    }

    pub async fn donation(&self, id: i64) -> Result<(Donation, Vec<Allocation>)> {
        let mut conn = self.conn().await?;
        let sql = format!("SELECT {} FROM donations d WHERE d.id = $1", rows::DONATION_COLUMNS);
        let row = q(sql).bind(id).row_optional(&mut conn).await?.ok_or_else(|| Error::donation_not_found(id))?;
        let allocations = allocations_where(&mut conn, "a.donation_id = $1", id).await?;
        Ok((rows::donation(&row)?, allocations))
    }

    /// Count and sums per stage.
    pub async fn summary(&self) -> Result<Vec<StageSummary>> {
        self.stage_totals(&CaseQuery::default()).await
    }

    /// Count and sums per stage of the cases a query selects (its stage is ignored).
    pub async fn stage_totals(&self, query: &CaseQuery) -> Result<Vec<StageSummary>> {
        let pg = self.is_postgres();
        let search = search_query(&query.text, pg);
        let unfiltered = query.program.is_none() && query.responsible.is_none() && search.is_none();
        let totals = if unfiltered {
            q("SELECT stage, COUNT(*), CAST(COALESCE(SUM(target), 0) AS BIGINT), CAST(COALESCE(SUM(collected), 0) AS BIGINT)
               FROM cases GROUP BY stage")
        } else {
            q(format!(
                "SELECT c.stage, COUNT(*), CAST(COALESCE(SUM(CASE WHEN c.currency = 'RUB' THEN c.target ELSE 0 END), 0) AS BIGINT),
                        CAST(COALESCE(SUM(CASE WHEN c.currency = 'RUB' THEN c.collected ELSE 0 END), 0) AS BIGINT)
                 FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE {} GROUP BY c.stage",
                case_filter(pg)
            ))
            .bind(None::<&str>)
            .bind(query.program.map(Program::as_str))
            .bind(query.responsible.clone())
            .bind(search)
        };
        let mut conn = self.conn().await?;
        let found: Vec<(String, i64, i64, i64)> = totals.fetch_all(&mut conn).await?;
        // The sums are in roubles: cases raising another currency (few, on their own index) are
        // counted but taken out of the sums (a filtered query sums roubles only itself).
        let other: Vec<(String, i64, i64, i64)> = if unfiltered {
            q("SELECT stage, COUNT(*), CAST(COALESCE(SUM(target), 0) AS BIGINT), CAST(COALESCE(SUM(collected), 0) AS BIGINT)
               FROM cases WHERE currency <> 'RUB' GROUP BY stage")
            .fetch_all(&mut conn)
            .await?
        } else {
            Vec::new()
        };
        let mut out = Vec::new();
        for stage in Stage::ALL {
            let pick = |rows: &[(String, i64, i64, i64)]| {
                rows.iter().find(|(s, ..)| s == stage.as_str()).map(|(_, n, t, c)| (*n, *t, *c)).unwrap_or_default()
            };
            let ((cases, target, collected), (_, other_target, other_collected)) = (pick(&found), pick(&other));
            let (target, collected) = (target - other_target, collected - other_collected);
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
    /// The cases raising money in `currency` (a gift is placed only in its own currency), oldest
    /// fundraiser first: id, child, program, target, collected.
    pub async fn fundraising_figures(
        &self,
        currency: crate::domain::Currency,
    ) -> Result<Vec<(i64, String, Program, Money, Money)>> {
        let found: Vec<(i64, String, String, i64, i64)> = q(
            "SELECT c.id, b.full_name, c.program, c.target, c.collected FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id
             WHERE c.stage = 'fundraising' AND c.currency = $1 ORDER BY c.fundraising_since, c.id",
        )
        .bind(currency.as_str())
        .fetch_all(&mut self.conn().await?)
        .await?;
        found
            .into_iter()
            .map(|(id, name, program, target, collected)| {
                Ok((id, name, program.parse()?, Money::from_minor(target), Money::from_minor(collected)))
            })
            .collect()
    }

    /// Cases waiting for the bookkeeper: in payment, oldest first, with the first of their live
    /// invoices still to pay (a case with two courses is listed until both are paid).
    pub async fn payments_queue(&self, limit: i64) -> Result<Vec<(Case, Option<Invoice>)>> {
        let sql = format!(
            "SELECT {}, i.id AS inv_id, i.number AS inv_number, i.date AS inv_date, i.amount AS inv_amount,
                    i.payee AS inv_payee, i.withdrawn_at AS inv_withdrawn_at, i.replaced_by AS inv_replaced_by,
                    i.reason AS inv_reason, i.paid_by AS inv_paid_by
             FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id
             LEFT JOIN invoices i ON i.id = (SELECT MIN(u.id) FROM invoices u
                                              WHERE u.case_id = c.id AND u.withdrawn_at IS NULL AND u.paid_by IS NULL)
             WHERE c.stage = 'payment' ORDER BY c.stage_since, c.id LIMIT $1",
            rows::CASE_COLUMNS
        );
        let found = q(sql).bind(limit).rows(&mut self.conn().await?).await?;
        found
            .iter()
            .map(|r| {
                let invoice = match r.get::<Option<i64>>("inv_id")? {
                    Some(_) => Some(rows::invoice(r, "inv_")?),
                    None => None,
                };
                Ok((rows::case(r)?, invoice))
            })
            .collect()
    }

    /// Per currency (roubles first): how many donations, received, allocated.
    pub async fn donation_totals_by_currency(&self) -> Result<Vec<(String, i64, Money, Money)>> {
        let mut rows: Vec<(String, i64, i64, i64)> = q(
            "SELECT currency, COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT), CAST(COALESCE(SUM(allocated), 0) AS BIGINT)
               FROM donations GROUP BY currency",
        )
        .fetch_all(&mut self.conn().await?)
        .await?;
        rows.sort_by_key(|(c, ..)| (c != "RUB", c.clone()));
        Ok(rows.into_iter().map(|(c, n, a, l)| (c, n, Money::from_minor(a), Money::from_minor(l))).collect())
    }

    /// Totals across all donations: received, allocated, unallocated.
    pub async fn donation_totals(&self) -> Result<(i64, Money, Money)> {
        let (n, amount, allocated): (i64, i64, i64) = q(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT), CAST(COALESCE(SUM(allocated), 0) AS BIGINT) FROM donations",
        )
        .fetch_one(&mut self.conn().await?)
        .await?;
        Ok((n, Money::from_minor(amount), Money::from_minor(allocated)))
    }
}
