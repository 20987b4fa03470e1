//! What a corporate donor's report says: their total for the period, the
//! children their money reached, and for each child's case the donor's
//! share and the papers that prove it (invoice, payment order, act).

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::db::{Exec, day_of, json_values};
use super::{Store, q};
use crate::domain::Money;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct Paper {
    pub kind: String,
    pub file_name: String,
    pub added_on: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub number: String,
    pub date: NaiveDate,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseShare {
    pub case_id: i64,
    pub program: String,
    pub stage: String,
    pub diagnosis: String,
    pub clinic: String,
    pub target: Money,
    pub collected: Money,
    /// What this donor's gifts of the period placed on the case.
    pub share: Money,
    pub papers: Vec<Paper>,
    pub orders: Vec<Order>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChildPage {
    pub beneficiary_id: i64,
    pub name: String,
    /// The photo's stored file (checksum) and its name, when the family agreed to publication.
    #[serde(skip)]
    pub photo: Option<(String, String)>,
    pub cases: Vec<CaseShare>,
    pub share: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct DonorReport {
    pub donor_id: i64,
    pub donor: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Everything the donor gave in the period (placed or not).
    pub given: Money,
    /// Of it, placed on children's cases.
    pub placed: Money,
    pub children: Vec<ChildPage>,
}

impl Store {
    pub async fn donor_report(&self, donor: i64, from: NaiveDate, to: NaiveDate) -> Result<DonorReport> {
        if to < from {
            return Err(Error::invalid(format!("the period ends ({to}) before it starts ({from})")));
        }
        let mut conn = self.conn().await?;
        let pg = conn.is_pg();
        let name: Option<String> =
            q("SELECT name FROM donors WHERE id = $1").bind(donor).scalar_optional(&mut conn).await?;
        let name = name.ok_or(Error::NotFound { what: "donor", id: donor, list: "donation list --json" })?;
        let given: i64 = q(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM donations WHERE donor_id = $1 AND received_on BETWEEN $2 AND $3",
        )
        .bind(donor)
        .bind(from)
        .bind(to)
        .scalar(&mut conn)
        .await?;
        type Row =
            (i64, i64, String, Option<String>, Option<String>, String, String, String, String, i64, i64, i64, i64);
        let rows: Vec<Row> = q(
            "SELECT c.id, b.id, b.full_name, c.lay_diagnosis, CAST(NULL AS TEXT), c.diagnosis, c.program, c.stage, c.clinic,
                    c.target, c.collected, c.published, CAST(SUM(a.amount) AS BIGINT)
             FROM allocations a JOIN donations d ON d.id = a.donation_id JOIN cases c ON c.id = a.case_id
             JOIN beneficiaries b ON b.id = c.beneficiary_id
             WHERE d.donor_id = $1 AND d.received_on BETWEEN $2 AND $3
               AND NOT EXISTS (SELECT 1 FROM reversals r WHERE r.allocation_id = a.id)
             GROUP BY c.id, b.id ORDER BY b.full_name, b.id, c.id",
        )
        .bind(donor)
        .bind(from)
        .bind(to)
        .fetch_all(&mut conn)
        .await?;
        // Papers, payment orders and photos for every case at once, not a query per child.
        let case_ids = serde_json::json!(rows.iter().map(|r| r.0).collect::<Vec<_>>());
        let child_ids = serde_json::json!(rows.iter().map(|r| r.1).collect::<Vec<_>>());
        let list = json_values(pg, 1, "BIGINT");
        let all_papers: Vec<(i64, String, String, String)> = q(format!(
            "SELECT case_id, kind, file_name, {} FROM documents
             WHERE case_id IN ({list}) AND kind IN ('invoice', 'payment_order', 'act') ORDER BY id",
            day_of(pg, "added_at")
        ))
        .bind(&case_ids)
        .fetch_all(&mut conn)
        .await?;
        let all_orders: Vec<(i64, String, NaiveDate, i64)> = q(format!(
            "SELECT case_id, number, date, amount FROM payment_orders WHERE case_id IN ({list}) ORDER BY id"
        ))
        .bind(&case_ids)
        .fetch_all(&mut conn)
        .await?;
        let photos: Vec<(i64, String, String)> = q(format!(
            "SELECT c.beneficiary_id, d.sha256, d.file_name FROM documents d JOIN cases c ON c.id = d.case_id
             WHERE c.beneficiary_id IN ({list}) AND c.published = 1 AND d.kind = 'photo' AND d.sha256 <> ''
             ORDER BY d.id"
        ))
        .bind(&child_ids)
        .fetch_all(&mut conn)
        .await?;
        let mut papers_of: HashMap<i64, Vec<Paper>> = HashMap::new();
        for (case, kind, file_name, added_on) in all_papers {
            papers_of.entry(case).or_default().push(Paper { kind, file_name, added_on });
        }
        let mut orders_of: HashMap<i64, Vec<Order>> = HashMap::new();
        for (case, number, date, amount) in all_orders {
            orders_of.entry(case).or_default().push(Order { number, date, amount: Money::from_minor(amount) });
        }
        // The latest photo of each child wins.
        let photo_of: HashMap<i64, (String, String)> =
            photos.into_iter().map(|(b, sha, name)| (b, (sha, name))).collect();
        let mut children: Vec<ChildPage> = Vec::new();
        for (case, child, full_name, lay, _, diagnosis, program, stage, clinic, target, collected, published, share) in
            rows
        {
            let share = CaseShare {
                case_id: case,
                program,
                stage,
                diagnosis: lay.filter(|l| !l.trim().is_empty()).unwrap_or(diagnosis),
                clinic,
                target: Money::from_minor(target),
                collected: Money::from_minor(collected),
                share: Money::from_minor(share),
                papers: papers_of.remove(&case).unwrap_or_default(),
                orders: orders_of.remove(&case).unwrap_or_default(),
            };
            match children.last_mut().filter(|c| c.beneficiary_id == child) {
                Some(page) => {
                    page.share = page.share.checked_add(share.share).unwrap_or(page.share);
                    page.cases.push(share);
                }
                None => {
                    let photo = if published != 0 { photo_of.get(&child).cloned() } else { None };
                    children.push(ChildPage {
                        beneficiary_id: child,
                        name: full_name,
                        photo,
                        share: share.share,
                        cases: vec![share],
                    });
                }
            }
        }
        let placed = children.iter().map(|c| c.share.minor()).sum();
        Ok(DonorReport {
            donor_id: donor,
            donor: name,
            from,
            to,
            given: Money::from_minor(given),
            placed: Money::from_minor(placed),
            children,
        })
    }
}
