//! Registers into donations: preview first, then the whole batch in one
//! transaction or nothing; a batch can be undone while none of its money has
//! been allocated. Every payment's external key makes a second import of the
//! same (or an overlapping) register add nothing twice.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::json;
use sqlx::SqliteConnection;

use super::cases::{set_stage, stage_of};
use super::donations::{Reach, Touched, place_designated};
use super::donors::{self, DonorKeys};
use super::invariants;
use super::{Store, audit, now};
use crate::domain::names::{NameIndex, Named};
use crate::domain::{Channel, Money, Stage};
use crate::error::{Error, Result};
use crate::import::{ControlCheck, Direction, Format, LineError, Payment, Register};

/// A person's designations for an import: a payment's external key → the case it is for.
pub type Choices = std::collections::HashMap<String, i64>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// A donation not seen before: it will be imported.
    New,
    /// Already imported (this file before, or an overlapping one).
    Duplicate,
    /// Money going out (paying invoices); not a donation.
    Outgoing,
    /// Between the foundation's own accounts; not a donation.
    Internal,
    /// The register does not say which way it went; not imported.
    Unknown,
    /// A card processor's refund of a payment.
    Refund,
    /// A payment its refund in the same file returns: not a donation.
    Refunded,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreviewRow {
    pub line: usize,
    pub status: RowStatus,
    pub date: chrono::NaiveDate,
    pub amount: Money,
    pub counterparty: String,
    pub inn: Option<String>,
    pub purpose: String,
    pub external_key: String,
    /// "inn", "subscription", "email", "phone", "name" or "new": how the donor was recognised.
    pub donor: &'static str,
    /// A case the purpose text names ("заявка 123", or the child's name in any case), with the reason.
    pub suggested_case: Option<i64>,
    pub suggestion_reason: Option<String>,
    /// The case this donation is designated to on import (a suggestion accepted, or a person's choice).
    pub designated: Option<i64>,
    /// An outgoing payment that pays this case's invoice: importing marks it paid.
    pub pays_case: Option<i64>,
    /// Why an outgoing payment was not matched to one case, if it looked like one.
    pub payment_note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub format: &'static str,
    pub file: String,
    pub encoding: &'static str,
    pub batch: Option<i64>,
    pub new: usize,
    pub duplicate: usize,
    pub invalid: usize,
    pub outgoing: usize,
    pub internal: usize,
    pub unknown: usize,
    /// Refunds, and payments refunded in the same file.
    pub refunds: usize,
    pub incoming_total: Money,
    pub outgoing_total: Money,
    /// Outgoing payments that pay a case's invoice (the case becomes paid).
    pub pays: usize,
    pub errors: Vec<LineError>,
    pub warnings: Vec<LineError>,
    pub checks: Vec<ControlCheck>,
    pub rows: Vec<PreviewRow>,
}

type Instant = chrono::DateTime<chrono::Utc>;
type BatchRow = (i64, String, String, String, Instant, i64, i64, i64, i64, Option<Instant>);

#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    pub id: i64,
    pub file_name: String,
    pub format: String,
    pub by: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub new: i64,
    pub duplicate: i64,
    pub invalid: i64,
    pub incoming_total: Money,
    pub undone_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// "заявка 123", "заявка №123", "case 123": the number of a case named in a purpose.
pub fn case_number_in(purpose: &str) -> Option<i64> {
    let lower = purpose.to_lowercase();
    for marker in ["заявк", "case"] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(marker) {
            let rest = &lower[from + i + marker.len()..];
            let rest = rest.trim_start_matches(|c: char| c.is_alphabetic()).trim_start_matches([' ', '№', '#', ':']);
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
            from += i + marker.len();
        }
    }
    None
}

/// Does `text` contain `word` standing on its own (not inside a longer number)?
fn mentions(text: &str, word: &str) -> bool {
    let (text, word) = (text.to_lowercase(), word.trim().to_lowercase());
    if word.is_empty() {
        return false;
    }
    text.match_indices(&word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The case in `payment` whose invoice this outgoing payment pays: the
/// invoice's amount, and its number in the purpose. More than one such case
/// is ambiguous and waits for a person.
async fn invoice_paid_by(conn: &mut SqliteConnection, p: &Payment) -> Result<(Option<i64>, Option<String>)> {
    let candidates: Vec<(i64, String)> = sqlx::query_as(
        "SELECT c.id, i.number FROM cases c JOIN invoices i ON i.case_id = c.id WHERE c.stage = 'payment' AND i.amount = ?",
    )
    .bind(p.amount.minor())
    .fetch_all(&mut *conn)
    .await?;
    let hits: Vec<i64> =
        candidates.into_iter().filter(|(_, number)| mentions(&p.purpose, number)).map(|(id, _)| id).collect();
    Ok(match hits.as_slice() {
        [] => (None, None),
        [one] => (Some(*one), None),
        many => {
            let ids: Vec<String> = many.iter().map(i64::to_string).collect();
            (None, Some(format!("pays the invoice of cases {}: which one is for a person to decide", ids.join(", "))))
        }
    })
}

/// Keys of `keys` already in the database, asked in chunks.
async fn known_keys(conn: &mut SqliteConnection, keys: &[&str]) -> Result<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in keys.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!("SELECT external_key FROM donations WHERE external_key IN ({marks})");
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for k in chunk {
            q = q.bind(*k);
        }
        found.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

fn donor_keys(p: &Payment) -> DonorKeys {
    let name = p.payer.name.trim();
    DonorKeys {
        name: if name.is_empty() { "(payer not named in the register)".into() } else { name.to_string() },
        kind: None,
        inn: p.payer.inn.clone(),
        email: p.payer.email.clone(),
        phone: p.payer.phone.clone(),
        subscription: p.subscription.clone(),
    }
}

async fn donor_match(conn: &mut SqliteConnection, p: &Payment) -> Result<&'static str> {
    Ok(donors::recognise(conn, &donor_keys(p)).await?.map_or("new", |(_, how)| how))
}

/// What a refund returns: a payment of this file, a donation imported before, or something unknown.
async fn refund_note(conn: &mut SqliteConnection, register: &Register, original: &str) -> Result<String> {
    if let Some(p) = register.payments.iter().find(|p| p.external_key == original) {
        return Ok(format!("refunds line {} of this file, which is therefore not imported", p.line));
    }
    let earlier: Option<(i64, i64)> = sqlx::query_as("SELECT id, allocated FROM donations WHERE external_key = ?")
        .bind(original)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match earlier {
        Some((id, allocated)) => format!(
            "refunds donation {id}, imported earlier{}: record the return by hand",
            if allocated > 0 { " and already placed" } else { "" }
        ),
        None => "refunds a payment almoner has not imported".into(),
    })
}

/// The children whose fundraising is open, to find their names in purposes.
async fn open_names(conn: &mut SqliteConnection) -> Result<NameIndex> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT c.id, b.full_name FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE c.stage = 'fundraising'",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(NameIndex::new(rows))
}

/// The case a purpose points to: its number ("заявка 123"), else a fundraising child's name.
async fn suggest(
    conn: &mut SqliteConnection,
    names: &NameIndex,
    purpose: &str,
) -> Result<(Option<i64>, Option<String>)> {
    if let Some(n) = case_number_in(purpose) {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM cases WHERE id = ?").bind(n).fetch_optional(&mut *conn).await?;
        if exists.is_some() {
            return Ok((Some(n), Some(format!("the purpose names case {n}"))));
        }
    }
    Ok(match names.find(purpose) {
        Some(Named::One { id, name, words }) => {
            (Some(id), Some(format!("the purpose names {} ({name}, case {id})", words.join(" "))))
        }
        Some(Named::Several(ids)) => {
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            (None, Some(format!("the purpose names a child of cases {}: a person decides", ids.join(", "))))
        }
        None => (None, None),
    })
}

/// Classifies every payment against what the database holds now.
/// Reports long work: a label, how much is done, of how much.
pub type ProgressFn<'a> = &'a (dyn Fn(&str, usize, usize) + Send + Sync);

fn no_progress(_: &str, _: usize, _: usize) {}

async fn classify(
    conn: &mut SqliteConnection,
    register: &Register,
    file: &str,
    progress: ProgressFn<'_>,
) -> Result<Preview> {
    let names = open_names(conn).await?;
    let incoming: Vec<&str> = register
        .payments
        .iter()
        .filter(|p| p.direction == Direction::Incoming)
        .map(|p| p.external_key.as_str())
        .collect();
    let known = known_keys(conn, &incoming).await?;
    let refunded: HashSet<&str> = register.payments.iter().filter_map(|p| p.refund_of.as_deref()).collect();
    let mut seen = HashSet::new();
    let mut preview = Preview {
        format: register.format.name(),
        file: file.to_string(),
        encoding: register.encoding,
        batch: None,
        new: 0,
        duplicate: 0,
        invalid: register.errors.len(),
        outgoing: 0,
        internal: 0,
        unknown: 0,
        refunds: 0,
        incoming_total: Money::ZERO,
        outgoing_total: Money::ZERO,
        pays: 0,
        errors: register.errors.clone(),
        warnings: register.warnings.clone(),
        checks: register.checks.clone(),
        rows: Vec::new(),
    };
    let total = register.payments.len();
    for (i, p) in register.payments.iter().enumerate() {
        if i % 1000 == 0 {
            progress("checking", i, total);
        }
        let status = match p.direction {
            Direction::Incoming if known.contains(&p.external_key) || !seen.insert(p.external_key.clone()) => {
                RowStatus::Duplicate
            }
            Direction::Incoming if refunded.contains(p.external_key.as_str()) => RowStatus::Refunded,
            Direction::Incoming => RowStatus::New,
            Direction::Outgoing if p.refund_of.is_some() => RowStatus::Refund,
            Direction::Outgoing => RowStatus::Outgoing,
            Direction::Internal => RowStatus::Internal,
            Direction::Unknown => RowStatus::Unknown,
        };
        match status {
            RowStatus::New => preview.new += 1,
            RowStatus::Duplicate => preview.duplicate += 1,
            RowStatus::Outgoing => preview.outgoing += 1,
            RowStatus::Internal => preview.internal += 1,
            RowStatus::Unknown => preview.unknown += 1,
            RowStatus::Refund | RowStatus::Refunded => preview.refunds += 1,
        }
        match p.direction {
            Direction::Incoming => preview.incoming_total += p.amount,
            Direction::Outgoing => preview.outgoing_total += p.amount,
            _ => {}
        }
        let donor = if status == RowStatus::New { donor_match(conn, p).await? } else { "" };
        let (suggested_case, suggestion_reason) =
            if status == RowStatus::New { suggest(conn, &names, &p.purpose).await? } else { (None, None) };
        let (pays_case, payment_note) = match (status, &p.refund_of) {
            (RowStatus::Outgoing, _) => invoice_paid_by(conn, p).await?,
            (RowStatus::Refund, Some(original)) => (None, Some(refund_note(conn, register, original).await?)),
            _ => (None, None),
        };
        if pays_case.is_some() {
            preview.pays += 1;
        }
        let party = p.counterparty();
        preview.rows.push(PreviewRow {
            line: p.line,
            status,
            date: p.booked.unwrap_or(p.date),
            amount: p.amount,
            counterparty: party.name.clone(),
            inn: party.inn.clone(),
            purpose: p.purpose.clone(),
            external_key: p.external_key.clone(),
            donor,
            suggested_case,
            suggestion_reason,
            designated: None,
            pays_case,
            payment_note,
        });
    }
    Ok(preview)
}

impl Store {
    /// What importing `register` would do, writing nothing.
    pub async fn preview_import(&self, register: &Register, file: &str) -> Result<Preview> {
        self.preview_import_progress(register, file, &no_progress).await
    }

    /// The same, reporting progress as it goes.
    pub async fn preview_import_progress(
        &self,
        register: &Register,
        file: &str,
        progress: ProgressFn<'_>,
    ) -> Result<Preview> {
        let mut conn = self.pool().acquire().await?;
        classify(&mut conn, register, file, progress).await
    }

    /// Imports every new incoming payment as an unrestricted donation, in one transaction.
    pub async fn import(&self, register: &Register, file: &str, sha256: &str) -> Result<Preview> {
        self.import_with(register, file, sha256, &Choices::new()).await
    }

    /// Imports, designating the donations `choices` names (external key → case):
    /// suggestions a person accepted, or cases they chose. A designated
    /// donation is placed on its case at once, as any designated gift is.
    pub async fn import_with(
        &self,
        register: &Register,
        file: &str,
        sha256: &str,
        choices: &Choices,
    ) -> Result<Preview> {
        self.import_progress(register, file, sha256, choices, &no_progress).await
    }

    /// The same, reporting progress as it goes. Until the commit nothing is visible;
    /// a crash or a dropped connection before it leaves nothing behind.
    pub async fn import_progress(
        &self,
        register: &Register,
        file: &str,
        sha256: &str,
        choices: &Choices,
        progress: ProgressFn<'_>,
    ) -> Result<Preview> {
        let mut tx = self.begin_write().await?;
        // Classified again under the write lock: what counts as new is exact.
        let mut preview = classify(&mut tx, register, file, progress).await?;
        let mut touched = Touched::default();
        let batch: i64 = sqlx::query_scalar(
            "INSERT INTO import_batches (file_name, file_sha256, format, by_user, at, new, duplicate, invalid, outgoing, incoming_total, outgoing_total)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(file)
        .bind(sha256)
        .bind(register.format.name())
        .bind(self.actor())
        .bind(now())
        .bind(preview.new as i64)
        .bind(preview.duplicate as i64)
        .bind(preview.invalid as i64)
        .bind(preview.outgoing as i64)
        .bind(preview.incoming_total.minor())
        .bind(preview.outgoing_total.minor())
        .fetch_one(&mut *tx)
        .await?;
        let created = now();
        let channel = if register.format == Format::CloudPayments { Channel::Website } else { Channel::Bank };
        let total = register.payments.len();
        for (i, (p, row)) in register.payments.iter().zip(preview.rows.iter_mut()).enumerate() {
            if i % 1000 == 0 {
                progress("importing", i, total);
            }
            if row.status != RowStatus::New {
                continue;
            }
            let designated = choices.get(&p.external_key).copied();
            if let Some(case) = designated {
                stage_of(&mut tx, case).await.map_err(|e| Error::invalid(format!("line {}: {e}", p.line)))?;
                row.designated = Some(case);
            }
            let donor = donors::find_or_add(&mut tx, &donor_keys(p)).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO donations (amount, currency, designation_kind, designated_id, received_on, channel, payer, donor_id, purpose, external_key, created_at, batch_id, subscription)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(p.amount.minor())
            .bind(p.currency.as_str())
            .bind(if designated.is_some() { "case" } else { "unrestricted" })
            .bind(designated)
            .bind(p.booked.unwrap_or(p.date))
            .bind(channel.as_str())
            .bind(donor_keys(p).name)
            .bind(donor)
            .bind(&p.purpose)
            .bind(&p.external_key)
            .bind(created)
            .bind(batch)
            .bind(&p.subscription)
            .fetch_one(&mut *tx)
            .await?;
            if designated.is_some() {
                touched.donations.push(id);
                place_designated(&mut tx, self.actor(), id, Reach::Named, &mut touched).await?;
            }
        }
        for (p, row) in register.payments.iter().zip(&preview.rows) {
            let Some(case) = row.pays_case else { continue };
            let date = p.booked.unwrap_or(p.date);
            sqlx::query(
                "INSERT INTO payment_orders (case_id, number, date, amount, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(case)
            .bind(&p.number)
            .bind(date)
            .bind(p.amount.minor())
            .bind(self.actor())
            .bind(created)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO documents (case_id, kind, file_name, sha256, added_at, added_by) VALUES (?, 'payment_order', ?, ?, ?, ?)")
                .bind(case)
                .bind(format!("{file}, line {}", p.line))
                .bind(&p.external_key)
                .bind(created)
                .bind(self.actor())
                .execute(&mut *tx)
                .await?;
            let reason = format!("payment order {} of {date} in {file}", p.number);
            set_stage(&mut tx, self.actor(), case, Stage::Payment, Stage::Paid, &reason).await?;
        }
        invariants::ensure(&mut tx, &touched.scope()).await?;
        audit::record(
            &mut tx,
            self.actor(),
            "import",
            "batch",
            Some(batch),
            None,
            Some(json!({"file": file, "sha256": sha256, "new": preview.new, "duplicate": preview.duplicate,
                        "invalid": preview.invalid, "incoming_total": preview.incoming_total})),
        )
        .await?;
        tx.commit().await?;
        preview.batch = Some(batch);
        Ok(preview)
    }

    /// Removes a batch's donations, if none of them has ever been allocated.
    pub async fn undo_import(&self, batch: i64) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let row: Option<(Option<String>, String)> =
            sqlx::query_as("SELECT undone_by, file_name FROM import_batches WHERE id = ?")
                .bind(batch)
                .fetch_optional(&mut *tx)
                .await?;
        let (undone_by, file) =
            row.ok_or(Error::NotFound { what: "import batch", id: batch, list: "import batches" })?;
        if let Some(by) = undone_by {
            return Err(Error::invalid(format!("batch {batch} ({file}) was already undone by {by}")));
        }
        let touched: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM allocations a JOIN donations d ON d.id = a.donation_id WHERE d.batch_id = ?",
        )
        .bind(batch)
        .fetch_one(&mut *tx)
        .await?;
        if touched > 0 {
            return Err(Error::invalid(format!(
                "batch {batch} ({file}) cannot be undone: {touched} allocation(s) were made from its donations, and a batch is undone only before any of its money is placed"
            )));
        }
        let removed = sqlx::query("DELETE FROM donations WHERE batch_id = ?")
            .bind(batch)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("UPDATE import_batches SET undone_at = ?, undone_by = ? WHERE id = ?")
            .bind(now())
            .bind(self.actor())
            .bind(batch)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            self.actor(),
            "import.undo",
            "batch",
            Some(batch),
            None,
            Some(json!({"removed": removed})),
        )
        .await?;
        tx.commit().await?;
        Ok(removed as usize)
    }

    pub async fn import_batches(&self) -> Result<Vec<Batch>> {
        let rows: Vec<BatchRow> =
            sqlx::query_as(
                "SELECT id, file_name, format, by_user, at, new, duplicate, invalid, incoming_total, undone_at FROM import_batches ORDER BY id",
            )
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, file_name, format, by, at, new, duplicate, invalid, total, undone_at)| Batch {
                id,
                file_name,
                format,
                by,
                at,
                new,
                duplicate,
                invalid,
                incoming_total: Money::from_minor(total),
                undone_at,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::case_number_in;

    #[test]
    fn case_numbers_in_purposes() {
        assert_eq!(case_number_in("Пожертвование на лечение, заявка 123"), Some(123));
        assert_eq!(case_number_in("по заявке №45 Ивановой"), Some(45));
        assert_eq!(case_number_in("for case #7"), Some(7));
        assert_eq!(case_number_in("Оплата по договору 5"), None);
    }

    #[test]
    fn invoice_numbers_stand_on_their_own() {
        use super::mentions;
        assert!(mentions("Оплата по счету СЧ-77 за лечение", "сч-77"));
        assert!(!mentions("Оплата по счету 177", "77"));
        assert!(mentions("счёт №77.", "77"));
        assert!(!mentions("что угодно", ""));
    }
}
