//! Registers into donations: preview first, then the whole batch in one
//! transaction or nothing; a batch can be undone while none of its money has
//! been allocated. Every payment's external key makes a second import of the
//! same (or an overlapping) register add nothing twice.

use serde::Serialize;
use serde_json::json;

use super::db::Get;
use super::donations::Touched;
use super::ingest::{Decisions, Run};
use super::invariants;
use super::{Store, audit, now, q};
use crate::domain::{Channel, Money, Stage};
use crate::error::{Error, Result};
use crate::import::feed::{Feed, FileHash};
use crate::import::{ControlCheck, Format, LineError, Payment, Register};

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
    /// A payment the bank returned or reversed: never a donation; it waits for a person to
    /// match it to the gift it takes back.
    Returned,
    /// A payment processor's payout: it settles gifts known from the processor's register.
    Payout,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreviewRow {
    pub line: usize,
    pub status: RowStatus,
    pub date: chrono::NaiveDate,
    pub amount: Money,
    pub currency: crate::domain::Currency,
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
    /// Payment processors' payouts (settlements of gifts, never donations), and their sum.
    pub payouts: usize,
    pub payout_total: Money,
    /// Payments the bank returned or reversed, new in this file: kept for a person, never donations.
    pub returned: usize,
    pub incoming_total: Money,
    pub outgoing_total: Money,
    /// Outgoing payments that pay a case's invoice (the case becomes paid).
    pub pays: usize,
    pub errors: Vec<LineError>,
    pub warnings: Vec<LineError>,
    pub checks: Vec<ControlCheck>,
    /// The first rows (up to 10 000); counts and totals cover them all.
    pub rows: Vec<PreviewRow>,
    /// Rows not kept in `rows`.
    pub rows_omitted: usize,
    /// New donations designated to a case (suggestions accepted, or chosen).
    pub designated: usize,
    /// The totals per currency (`incoming_total` and `outgoing_total` add them all up).
    pub by_currency: std::collections::BTreeMap<String, Flow>,
    /// Every reason the register does not reconcile (unreadable lines, control totals that do
    /// not match), as a person reads them. A commit is refused while there are any, unless a
    /// person accepts them with a reason.
    pub problems: Vec<String>,
    /// The reason a person gave for accepting the problems, if they did.
    pub accepted_problems: Option<String>,
}

impl Preview {
    /// Would a commit of this register be refused for its problems?
    pub fn refused(&self) -> bool {
        !self.problems.is_empty() && self.accepted_problems.is_none()
    }

    /// Nothing to write: every payment already imported, or none that is money in or paying an invoice.
    pub fn adds_nothing(&self) -> bool {
        self.new == 0 && self.pays == 0 && self.payouts == 0 && self.returned == 0
    }
}

/// The problems that keep a register from reconciling, each as a person reads it.
pub fn problems_of(errors: &[LineError], checks: &[ControlCheck]) -> Vec<String> {
    let mut out: Vec<String> = errors.iter().map(|e| format!("line {}: {}", e.line, e.message)).collect();
    out.extend(checks.iter().filter(|c| !c.ok).map(|c| {
        format!(
            "control total does not match: {}: the register says {}, its payments add up to {}",
            c.what,
            c.expected.en(),
            c.found.en()
        )
    }));
    out
}

/// Money in and out in one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flow {
    pub incoming: Money,
    pub outgoing: Money,
}

type Instant = chrono::DateTime<chrono::Utc>;

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
    /// The file's SHA-256: which file exactly, should two have the same name.
    pub sha256: String,
    /// Problems a person accepted to commit it anyway: who, why, and which.
    pub accepted_by: Option<String>,
    pub accepted_reason: Option<String>,
    pub problems: Vec<String>,
}

/// Reports long work: a label, how much is done, of how much.
pub type ProgressFn<'a> = &'a (dyn Fn(&str, usize, usize) + Send + Sync);

fn no_progress(_: &str, _: usize, _: usize) {}

const CHECKING: &str = "checking";
const IMPORTING: &str = "importing";

/// The page cache a long import's connection works with, in KiB (SQLite's own default is 2 000).
pub const IMPORT_CACHE_KIB: u32 = 65_536;

impl Store {
    /// What importing `register` would do, writing nothing.
    pub async fn preview_import(&self, register: &Register, file: &str) -> Result<Preview> {
        let feed = Feed::from_register(register.clone());
        self.import_stream(feed, file, "", Decisions::default(), true, &no_progress).await
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
        let feed = Feed::from_register(register.clone());
        self.import_stream(feed, file, sha256, Decisions::keys(choices), false, &no_progress).await
    }

    /// Imports with every decision a person can make beforehand (designations, accepting the
    /// problems of a register that does not reconcile, a currency), or with `dry_run` previews.
    pub async fn import_decided(
        &self,
        register: &Register,
        file: &str,
        sha256: &str,
        decisions: Decisions,
        dry_run: bool,
    ) -> Result<Preview> {
        let feed = Feed::from_register(register.clone());
        self.import_stream(feed, file, sha256, decisions, dry_run, &no_progress).await
    }

    /// Imports (or, with `dry_run`, previews) a register streamed from a file,
    /// holding neither the file nor its payments: memory stays flat however
    /// long the register. The whole batch is one transaction, or nothing is.
    pub async fn import_stream(
        &self,
        feed: Feed,
        file: &str,
        sha256: impl Into<FileHash>,
        decisions: Decisions,
        dry_run: bool,
        progress: ProgressFn<'_>,
    ) -> Result<Preview> {
        let sha256 = sha256.into();
        if !dry_run {
            self.require(super::Act::Bookkeeping).await?;
        }
        let mut tx = if dry_run { self.pool.begin_read().await? } else { self.begin_write().await? };
        let lite = matches!(tx, super::Tx::Lite(_));
        if lite {
            // A long register touches many index pages: a larger page cache. Foreign keys are checked
            // at the commit (a violation still refuses the whole batch), so a multi-row INSERT OR FAIL
            // can no longer abort half-way and SQLite keeps no statement journal of the pages it touches.
            // Pages read through the memory map count as this process's memory: an import reads
            // through the page cache alone, so its footprint stays flat however long the table.
            let cache = format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB}");
            for sql in [cache.as_str(), "PRAGMA mmap_size = 0", "PRAGMA defer_foreign_keys = ON"] {
                q(sql).execute(&mut tx).await?;
            }
        }
        let result = self.import_in(&mut tx, feed, file, sha256, decisions, dry_run, progress).await;
        // The long import's settings are not left on the pooled connection, whether it worked or not
        // (a failed one is rolled back when `tx` is dropped),
        // nor the bulk load's sorting settings, should rebuilding an index have failed,
        // nor its freeing pages unzeroed, should dropping one have failed.
        let restored = async {
            if lite {
                let mmap = format!("PRAGMA mmap_size = {}", super::MMAP_SIZE);
                let zeroed = "PRAGMA secure_delete = ON";
                for sql in ["PRAGMA cache_size = -2000", "PRAGMA threads = 0", zeroed, &mmap] {
                    q(sql).execute(&mut tx).await?;
                }
                super::bulk::set_temp_store(&mut tx, "MEMORY").await?;
            }
            Ok::<(), Error>(())
        }
        .await;
        let preview = result?;
        restored?;
        if !dry_run && preview.new > 0 {
            // A processor's gifts came in: payouts waiting for them may settle now, in the same
            // transaction. (After the connection's settings are back: SQLite refuses to change
            // them once a statement compiled after a bulk load's index rebuild has opened
            // temporary storage.)
            super::settlements::settle_waiting(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(preview)
    }

    #[allow(clippy::too_many_arguments)]
    async fn import_in(
        &self,
        tx: &mut super::Tx,
        mut feed: Feed,
        file: &str,
        sha256: FileHash,
        decisions: Decisions,
        dry_run: bool,
        progress: ProgressFn<'_>,
    ) -> Result<Preview> {
        use std::sync::atomic::Ordering;
        let refunded = std::mem::take(&mut feed.refunded);
        let currency = decisions.currency;
        let accepted = decisions.accept_problems.clone();
        let mut run = Run::new(tx, feed.format, file, refunded, decisions).await?;
        // The file's hash is written when the batch closes (it may still be being read now).
        let batch = if dry_run { 0 } else { new_batch(tx, self.actor(), file, feed.format).await? };
        let channel = channel_of(feed.format);
        let mut touched = Touched::default();
        let mut done = 0;
        let label = if dry_run { CHECKING } else { IMPORTING };
        // An import prepares each chunk's donor keys on a thread of its own, while this one
        // classifies and SQLite writes the chunk before: the work of the two cores overlaps.
        // Chunks done with go back to that thread to be freed (a payment is a dozen strings).
        let (ready_tx, mut ready) = tokio::sync::mpsc::channel(2);
        let (spent_tx, spent) = std::sync::mpsc::channel::<Vec<Payment>>();
        let mut chunks = std::mem::replace(&mut feed.chunks, tokio::sync::mpsc::channel(1).1);
        std::thread::spawn(move || {
            while let Some(mut chunk) = chunks.blocking_recv() {
                spent.try_iter().for_each(drop);
                // What the database would refuse is refused here, line by line, in the preview too.
                let unfit = super::ingest::set_aside_unfit(&mut chunk, currency);
                let prepared = if dry_run { Vec::new() } else { super::ingest::prepare_donors(&chunk) };
                // The importer gone (an error on its side): the reading ends too.
                if ready_tx.blocking_send((chunk, prepared, unfit)).is_err() {
                    break;
                }
            }
        });
        while let Some((chunk, prepared, unfit)) = ready.recv().await {
            run.unfit(unfit);
            progress(label, done, feed.total.load(Ordering::Relaxed).max(done));
            let rows = run.classify(tx, &chunk).await?;
            if !dry_run {
                run.write(tx, self.actor(), &chunk, prepared, &rows, batch, file, channel, &mut touched).await?;
            }
            done += chunk.len();
            // The thread gone (the file read), the chunk comes back and is freed here.
            let _ = spent_tx.send(chunk);
        }
        // The payments are in: the file is hashed beside what is left (rebuilding indexes, checks).
        let sha256 = if dry_run { sha256 } else { sha256.begin() };
        if !dry_run {
            run.end_writes(tx).await?;
        }
        let summary = feed
            .done
            .await
            .map_err(|_| Error::invalid("the register reader stopped before the end of the file"))?
            .map_err(|e| Error::invalid(format!("{file}: {e}")))?;
        let mut preview = run.finish(summary)?;
        preview.accepted_problems = accepted.filter(|_| !preview.problems.is_empty());
        if preview.refused() && !dry_run {
            // Nothing is written: the transaction is dropped, so everything above rolls back.
            return Err(Error::Unreconciled(Box::new(preview)));
        }
        if !dry_run {
            let sha256 = sha256.value().await.map_err(|e| Error::invalid(e.to_string()))?;
            self.close_batch(tx, batch, &mut preview, &sha256, &touched).await?;
        }
        Ok(preview)
    }

    async fn close_batch(
        &self,
        tx: &mut super::Tx,
        batch: i64,
        preview: &mut Preview,
        sha256: &str,
        touched: &Touched,
    ) -> Result<()> {
        invariants::ensure(tx, &touched.scope()).await?;
        if preview.adds_nothing() {
            // A register imported again (or one of nothing but known payments) records no batch.
            q("DELETE FROM import_batches WHERE id = $1").bind(batch).execute(&mut *tx).await?;
            return Ok(());
        }
        let mismatches = preview.checks.iter().filter(|c| !c.ok).count() as i64;
        let accepted_by = preview.accepted_problems.as_ref().map(|_| self.actor());
        q("UPDATE import_batches SET new = $1, duplicate = $2, invalid = $3, outgoing = $4, unmatched = $5, incoming_total = $6, outgoing_total = $7,
             file_sha256 = $9, mismatches = $10, accepted_by = $11, accepted_reason = $12, problems = $13 WHERE id = $8")
        .bind(preview.new as i64)
        .bind(preview.duplicate as i64)
        .bind(preview.invalid as i64)
        .bind(preview.outgoing as i64)
        .bind(preview.outgoing.saturating_sub(preview.pays) as i64)
        .bind(preview.incoming_total.minor())
        .bind(preview.outgoing_total.minor())
        .bind(batch)
        .bind(sha256)
        .bind(mismatches)
        .bind(accepted_by)
        .bind(&preview.accepted_problems)
        .bind(serde_json::to_string(&preview.problems).unwrap_or_else(|_| "[]".into()))
        .execute(&mut *tx)
        .await?;
        audit::record(
            tx,
            self.actor(),
            "import",
            "batch",
            Some(batch),
            None,
            Some(json!({"file": preview.file, "sha256": sha256, "new": preview.new, "duplicate": preview.duplicate,
                        "invalid": preview.invalid, "incoming_total": preview.incoming_total,
                        "designated": preview.designated, "problems": preview.problems,
                        "accepted_problems": preview.accepted_problems})),
        )
        .await?;
        let unmatched = preview.outgoing.saturating_sub(preview.pays);
        let text = format!(
            "{} imported {}: {} new donation(s){}{}{}",
            self.actor(),
            preview.file,
            preview.new,
            if preview.invalid > 0 { format!(", {} unreadable line(s)", preview.invalid) } else { String::new() },
            match &preview.accepted_problems {
                Some(why) => format!(", {} problem(s) accepted: {why}", preview.problems.len()),
                None => String::new(),
            },
            if unmatched > 0 {
                format!(", {unmatched} outgoing payment(s) matched to no invoice")
            } else {
                String::new()
            }
        );
        super::notices::notify(
            tx,
            super::notices::Audience::Role(crate::domain::Role::Bookkeeper),
            self.actor(),
            "import",
            &text,
            None,
            Some(batch),
        )
        .await?;
        preview.batch = Some(batch);
        Ok(())
    }

    /// Removes a batch's donations, if none of them has ever been allocated.
    pub async fn undo_import(&self, batch: i64) -> Result<usize> {
        self.require(super::Act::Bookkeeping).await?;
        let mut tx = self.begin_write().await?;
        let row: Option<(Option<String>, String)> = q("SELECT undone_by, file_name FROM import_batches WHERE id = $1")
            .bind(batch)
            .fetch_optional(&mut tx)
            .await?;
        let (undone_by, file) =
            row.ok_or(Error::NotFound { what: "import batch", id: batch, list: "import batches" })?;
        if let Some(by) = undone_by {
            return Err(Error::invalid(format!("batch {batch} ({file}) was already undone by {by}")));
        }
        let touched: i64 =
            q("SELECT COUNT(*) FROM allocations a JOIN donations d ON d.id = a.donation_id WHERE d.batch_id = $1")
                .bind(batch)
                .scalar(&mut tx)
                .await?;
        if touched > 0 {
            return Err(Error::invalid(format!(
                "batch {batch} ({file}) cannot be undone: {touched} allocation(s) were made from its donations, and a batch is undone only before any of its money is placed"
            )));
        }
        let cases_back = undo_payment_orders(&mut tx, self.actor(), batch, &file).await?;
        super::settlements::undo_batch(&mut tx, batch).await?;
        q("DELETE FROM returns WHERE batch_id = $1").bind(batch).execute(&mut tx).await?;
        let removed = q("DELETE FROM donations WHERE batch_id = $1").bind(batch).execute(&mut tx).await?;
        q("UPDATE import_batches SET undone_at = $1, undone_by = $2 WHERE id = $3")
            .bind(now())
            .bind(self.actor())
            .bind(batch)
            .execute(&mut tx)
            .await?;
        audit::record(
            &mut tx,
            self.actor(),
            "import.undo",
            "batch",
            Some(batch),
            None,
            Some(json!({"removed": removed, "cases_back_to_payment": cases_back})),
        )
        .await?;
        tx.commit().await?;
        Ok(removed as usize)
    }

    pub async fn import_batches(&self) -> Result<Vec<Batch>> {
        let rows = q(
            "SELECT id, file_name, format, by_user, at, new, duplicate, invalid, incoming_total, undone_at, file_sha256,
                    accepted_by, accepted_reason, problems
               FROM import_batches ORDER BY id",
        )
        .rows(&mut self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                let problems: String = r.get("problems")?;
                let at: Instant = r.get("at")?;
                let undone_at: Option<Instant> = r.get("undone_at")?;
                Ok(Batch {
                    id: r.get("id")?,
                    file_name: r.get("file_name")?,
                    format: r.get("format")?,
                    by: r.get("by_user")?,
                    at,
                    new: r.get("new")?,
                    duplicate: r.get("duplicate")?,
                    invalid: r.get("invalid")?,
                    incoming_total: Money::from_minor(r.get("incoming_total")?),
                    undone_at,
                    sha256: r.get("file_sha256")?,
                    accepted_by: r.get("accepted_by")?,
                    accepted_reason: r.get("accepted_reason")?,
                    problems: serde_json::from_str(&problems).unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// Takes back the payment orders a batch recorded: each case it marked paid returns to `payment`,
/// with a stage-history row, its payment order and the document that showed it gone. Refused,
/// naming the case, if a case has moved on since (closed, say): that is for a person to undo first.
async fn undo_payment_orders(tx: &mut super::Tx, actor: &str, batch: i64, file: &str) -> Result<Vec<i64>> {
    let orders: Vec<(i64, i64, String, Option<String>)> =
        q("SELECT p.id, p.case_id, c.stage, p.external_key FROM payment_orders p JOIN cases c ON c.id = p.case_id
          WHERE p.batch_id = $1 ORDER BY p.id")
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
    let mut cases = Vec::new();
    for (order, case, stage, key) in orders {
        // Paid by this batch (or with another invoice still to pay, in payment yet).
        let back = stage == Stage::Paid.as_str();
        if !back && stage != Stage::Payment.as_str() {
            return Err(Error::invalid(format!(
                "batch {batch} ({file}) cannot be undone: it paid case {case}'s invoice, and case {case} is {stage} since; \
                 its payment stands until the case is back in paid"
            )));
        }
        q("UPDATE invoices SET paid_by = NULL WHERE paid_by = $1").bind(order).execute(&mut *tx).await?;
        q("DELETE FROM documents WHERE case_id = $1 AND kind = 'payment_order' AND sha256 = $2")
            .bind(case)
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        q("DELETE FROM payment_orders WHERE id = $1").bind(order).execute(&mut *tx).await?;
        if back && !cases.contains(&case) {
            let reason = format!("import batch {batch} ({file}) undone: its payment order is taken back");
            super::cases::set_stage(tx, actor, case, Stage::Paid, Stage::Payment, &reason).await?;
            cases.push(case);
        }
    }
    Ok(cases)
}

fn channel_of(format: Format) -> Channel {
    if format == Format::CloudPayments { Channel::Website } else { Channel::Bank }
}

async fn new_batch(tx: &mut super::Tx, actor: &str, file: &str, format: Format) -> Result<i64> {
    q("INSERT INTO import_batches (file_name, file_sha256, format, by_user, at, new, duplicate, invalid, outgoing, incoming_total, outgoing_total)
         VALUES ($1, '', $2, $3, $4, 0, 0, 0, 0, 0, 0) RETURNING id")
    .bind(file)
    .bind(format.name())
    .bind(actor)
    .bind(now())
    .scalar(tx)
    .await
}
