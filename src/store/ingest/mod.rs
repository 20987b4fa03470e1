//! The import engine. Payments arrive in chunks, from a register held in
//! memory or streamed from a file too large to hold, and each chunk is
//! classified (new, already imported, outgoing…, the donor recognised, a
//! case suggested) and, when importing, written: donations in multi-row
//! statements, designated ones placed at once, invoices paid by outgoing
//! payments marked. Counts and totals are kept for the whole file; the
//! rows themselves only up to [`KEEP_ROWS`], so memory stays flat.

use std::collections::{HashMap, HashSet};

mod lookups;
mod records;

use lookups::{donor_keys, invoice_paid_by, known_keys, open_names, refund_note, returned_gift, suggest};
pub(crate) use lookups::{payer_name, prepare_donors, set_aside_unfit};

use super::bulk::{BULK_MIN, Bulk};
use super::db::{Arg, Exec};
use super::donations::{Reach, Touched, place_designated};
use super::donors::{self, DonorKeys};
use super::import::{Choices, Flow, Preview, PreviewRow, RowStatus};
use super::plain_rows;
use super::{Tx, now, q};
use crate::domain::names::NameIndex;
use crate::domain::{Channel, Currency, Money, Program};
use crate::error::{Error, Result};
use crate::import::{Direction, Format, Payment, Summary};

/// Rows a preview keeps to show; counts and totals cover every row.
pub const KEEP_ROWS: usize = 10_000;

/// What a person decided about designations before the import.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    /// External key → case.
    pub by_key: Choices,
    /// Line → case, or `None` to keep that payment unrestricted.
    pub by_line: HashMap<usize, Option<i64>>,
    /// Designate every donation whose purpose names a case to that case…
    pub accept_suggestions: bool,
    /// …except these (external keys), whose suggestion a person turned down.
    pub declined: HashSet<String>,
    /// A person's reason for committing a register that does not reconcile.
    pub accept_problems: Option<String>,
    /// The currency of a statement that names none.
    pub currency: Option<Currency>,
}

impl Decisions {
    pub fn keys(choices: &Choices) -> Decisions {
        Decisions { by_key: choices.clone(), ..Decisions::default() }
    }
}

/// A payment's key as 128 bits: keys are `format:` and 32 hex digits.
pub(super) fn key_bits(key: &str) -> u128 {
    let hex = key.rsplit(':').next().unwrap_or(key);
    match u128::from_str_radix(hex.get(..32).unwrap_or(hex), 16) {
        Ok(bits) if hex.len() >= 32 => bits,
        _ => {
            use sha2::{Digest, Sha256};
            let d = Sha256::digest(key.as_bytes());
            u128::from_be_bytes(d[..16].try_into().unwrap_or([0; 16]))
        }
    }
}

/// What classifying decided about one payment: all the writer needs.
pub(crate) struct Decided {
    pub status: RowStatus,
    pub designated: Option<i64>,
    pub pays_case: Option<i64>,
    /// …and the invoice of it that it pays.
    pub pays_invoice: Option<i64>,
    /// For a returned payment: the gift it takes back, where exactly one was found.
    pub gift: Option<i64>,
}

/// One whole import (or preview) under way.
pub(crate) struct Run {
    names: NameIndex,
    seen: HashSet<u128>,
    /// Payments of this file a refund in it returns: key → line.
    refunded: HashMap<String, usize>,
    decisions: Decisions,
    /// New payments seen on each line a person designated.
    lines_used: HashMap<usize, usize>,
    /// Designated donations, in the whole file.
    designated: usize,
    format: Format,
    /// Donations in the table when the import began (its largest id), and new ones written since.
    start_rows: i64,
    written: i64,
    bulk: Option<Bulk>,
    /// What this import has learned about donors, chunk after chunk.
    donors: donors::Memo,
    pub preview: Preview,
    pub rows_omitted: usize,
    /// Payments set aside as unfit (see [`set_aside_unfit`]).
    unfit: Vec<crate::import::LineError>,
    /// Payment processors whose payouts settle gifts.
    processors: Vec<super::settlements::Processor>,
    /// For an MT940 import: the last batch whose payments were keyed the old way, if any.
    old_keys_until: Option<i64>,
    /// Payments held back for a person (see [`Run::keyed_before`]): problems, not errors.
    doubts: Vec<crate::import::LineError>,
}

impl Run {
    pub async fn new(
        conn: &mut Tx,
        format: Format,
        file: &str,
        refunded: HashMap<String, usize>,
        decisions: Decisions,
    ) -> Result<Run> {
        Ok(Run {
            names: open_names(conn).await?,
            seen: HashSet::new(),
            refunded,
            decisions,
            lines_used: HashMap::new(),
            designated: 0,
            format,
            start_rows: q("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM donations").scalar(conn).await?,
            written: 0,
            bulk: None,
            donors: donors::Memo::new(donors::MEMO_LIMIT),
            preview: Preview {
                format: format.name(),
                file: file.to_string(),
                encoding: "",
                batch: None,
                new: 0,
                duplicate: 0,
                invalid: 0,
                outgoing: 0,
                internal: 0,
                unknown: 0,
                refunds: 0,
                payouts: 0,
                payout_total: Money::ZERO,
                returned: 0,
                incoming_total: Money::ZERO,
                outgoing_total: Money::ZERO,
                pays: 0,
                errors: Vec::new(),
                warnings: Vec::new(),
                checks: Vec::new(),
                rows: Vec::new(),
                rows_omitted: 0,
                designated: 0,
                by_currency: Default::default(),
                problems: Vec::new(),
                accepted_problems: None,
            },
            rows_omitted: 0,
            unfit: Vec::new(),
            processors: super::settlements::processors(conn).await?,
            old_keys_until: match format {
                Format::Mt940 | Format::Camt => q("SELECT value FROM settings WHERE key = $1")
                    .bind(format!("{}_old_keys_until_batch", format.name()))
                    .scalar_optional::<String>(conn)
                    .await?
                    .and_then(|v| v.parse().ok()),
                _ => None,
            },
            doubts: Vec::new(),
        })
    }

    /// `status` for a payment recorded in `table` (payouts, returns) the first time it is met;
    /// `Duplicate` if the table has its key already, or this file had it before.
    async fn first_time(&mut self, conn: &mut Tx, table: &str, p: &Payment, status: RowStatus) -> Result<RowStatus> {
        let known: Option<i64> = q(format!("SELECT id FROM {table} WHERE external_key = $1"))
            .bind(&p.external_key)
            .scalar_optional(conn)
            .await?;
        let again = known.is_some() || !self.seen.insert(key_bits(&p.external_key));
        Ok(if again { RowStatus::Duplicate } else { status })
    }

    /// An MT940 or camt payment that an earlier almoner may have imported under its old key: one of the
    /// same day and amount from a statement imported then. It is held back (not imported) and
    /// named as a problem, so a person looks before the file goes in.
    async fn keyed_before(&mut self, conn: &mut Tx, p: &Payment) -> Result<bool> {
        let Some(until) = self.old_keys_until else { return Ok(false) };
        let earlier: Option<i64> = q("SELECT d.id FROM donations d JOIN import_batches b ON b.id = d.batch_id
              WHERE b.format = $4 AND b.id <= $1 AND d.received_on = $2 AND d.amount = $3 LIMIT 1")
        .bind(until)
        .bind(p.booked.unwrap_or(p.date))
        .bind(p.amount.minor())
        .bind(self.format.name())
        .scalar_optional(conn)
        .await?;
        let Some(id) = earlier else { return Ok(false) };
        self.doubts.push(crate::import::LineError {
            line: p.line,
            message: format!(
                "a payment of the same day and amount, donation {id}, came from a {} statement imported by an earlier almoner, \
                 which keyed payments differently: if it is this one, nothing is lost by leaving it out (it is held back); \
                 if not, import it by hand",
                self.format.name()
            ),
        });
        Ok(true)
    }

    /// Payments of a chunk set aside before classifying: they count as unreadable lines.
    pub fn unfit(&mut self, unfit: Vec<crate::import::LineError>) {
        self.unfit.extend(unfit);
    }

    /// Classifies one chunk against the database as it is now.
    pub async fn classify(&mut self, conn: &mut Tx, chunk: &[Payment]) -> Result<Vec<Decided>> {
        let incoming: Vec<&str> =
            chunk.iter().filter(|p| p.direction == Direction::Incoming).map(|p| p.external_key.as_str()).collect();
        let known = match &self.bulk {
            Some(bulk) => {
                incoming.iter().filter(|k| bulk.known.contains(&key_bits(k))).map(|k| k.to_string()).collect()
            }
            None => known_keys(conn, &incoming).await?,
        };
        let mut statuses = Vec::with_capacity(chunk.len());
        // The chunk's money by currency, added to the preview's once a chunk (not a key made per payment).
        let mut flows: Vec<(Currency, Flow)> = Vec::new();
        for p in chunk {
            let payout = super::settlements::processor_of(&self.processors, p).is_some();
            let status = match p.direction {
                Direction::Incoming if payout => self.first_time(conn, "settlements", p, RowStatus::Payout).await?,
                Direction::Incoming
                    if known.contains(&p.external_key) || !self.seen.insert(key_bits(&p.external_key)) =>
                {
                    RowStatus::Duplicate
                }
                Direction::Incoming if self.refunded.contains_key(&p.external_key) => RowStatus::Refunded,
                Direction::Incoming => RowStatus::New,
                Direction::Outgoing if p.refund_of.is_some() => RowStatus::Refund,
                Direction::Outgoing => RowStatus::Outgoing,
                Direction::Internal => RowStatus::Internal,
                Direction::Unknown => RowStatus::Unknown,
                Direction::Returned => self.first_time(conn, "returns", p, RowStatus::Returned).await?,
            };
            let status = match status {
                RowStatus::New if self.keyed_before(conn, p).await? => RowStatus::Duplicate,
                other => other,
            };
            let pv = &mut self.preview;
            match status {
                RowStatus::New => pv.new += 1,
                RowStatus::Duplicate => pv.duplicate += 1,
                RowStatus::Outgoing => pv.outgoing += 1,
                RowStatus::Internal => pv.internal += 1,
                RowStatus::Unknown => pv.unknown += 1,
                RowStatus::Refund | RowStatus::Refunded => pv.refunds += 1,
                RowStatus::Returned => {
                    pv.refunds += 1;
                    pv.returned += 1;
                }
                RowStatus::Payout => {
                    pv.payouts += 1;
                    pv.payout_total += p.amount;
                }
            }
            // A payout is not money given: the totals of gifts leave it out (a duplicate one too).
            if matches!(p.direction, Direction::Incoming | Direction::Outgoing) && !payout {
                let i = flows.iter().position(|(c, _)| *c == p.currency).unwrap_or_else(|| {
                    flows.push((p.currency, Flow::default()));
                    flows.len() - 1
                });
                let flow = &mut flows[i].1;
                if p.direction == Direction::Incoming {
                    pv.incoming_total += p.amount;
                    flow.incoming += p.amount;
                } else {
                    pv.outgoing_total += p.amount;
                    flow.outgoing += p.amount;
                }
            }
            statuses.push(status);
        }
        for (currency, flow) in flows {
            let total = self.preview.by_currency.entry(currency.as_str().to_string()).or_default();
            total.incoming += flow.incoming;
            total.outgoing += flow.outgoing;
        }
        // Donors of the new rows the preview keeps, recognised in a few queries for the whole chunk
        // (the writer finds every row's donor itself; beyond the kept rows the answer shows nowhere).
        let room = KEEP_ROWS.saturating_sub(self.preview.rows.len());
        let keys: Vec<DonorKeys> = chunk
            .iter()
            .zip(&statuses)
            .take(room)
            .filter(|(_, s)| **s == RowStatus::New)
            .map(|(p, _)| donor_keys(p))
            .collect();
        let mut answers = donors::recognise_many(conn, &keys).await?.into_iter();
        let mut rows = Vec::with_capacity(chunk.len());
        for (p, status) in chunk.iter().zip(statuses) {
            let mut donor = "";
            let (mut suggested_case, mut suggestion_reason, mut designated) = (None, None, None);
            if status == RowStatus::New {
                donor = answers.next().flatten().map_or("new", |(_, how)| how);
                (suggested_case, suggestion_reason) = suggest(conn, &self.names, &p.purpose).await?;
                let declined = self.decisions.declined.contains(&p.external_key);
                designated = match (self.decisions.by_key.get(&p.external_key), self.decisions.by_line.get(&p.line)) {
                    (Some(case), _) => Some(*case),
                    (None, Some(choice)) => *choice,
                    (None, None) if self.decisions.accept_suggestions && !declined => suggested_case,
                    _ => None,
                };
                if self.decisions.by_line.contains_key(&p.line) {
                    *self.lines_used.entry(p.line).or_default() += 1;
                }
                if let Some(case) = designated {
                    // Checked here, so a dry run says what the import would.
                    let currency: Option<String> =
                        q("SELECT currency FROM cases WHERE id = $1").bind(case).scalar_optional(conn).await?;
                    match currency {
                        None => {
                            return Err(Error::invalid(format!(
                                "line {}: case {case} does not exist (see the case list)",
                                p.line
                            )));
                        }
                        Some(c) if c != p.currency.as_str() => {
                            return Err(Error::invalid(format!(
                                "line {}: a gift in {} cannot be designated to case {case}, which raises {c}: \
                                 keep it unrestricted, or choose a case in {}",
                                p.line, p.currency, p.currency
                            )));
                        }
                        Some(_) => {}
                    }
                    self.designated += 1;
                }
            }
            let mut gift = None;
            let mut pays_invoice = None;
            let (pays_case, payment_note) = match (status, &p.refund_of) {
                (RowStatus::Payout, _) => {
                    let name = super::settlements::processor_of(&self.processors, p).map_or("", |x| x.name.as_str());
                    let on = p.booked.unwrap_or(p.date);
                    let found = super::settlements::find_gifts(conn, p.amount, p.currency, on).await?;
                    (None, Some(found.note(name)))
                }
                (RowStatus::Returned, _) => {
                    gift = returned_gift(conn, p).await?;
                    let note = match gift {
                        Some(id) => format!(
                            "returned or reversed by the bank: takes back donation {id} (same payer and amount); not a donation, it waits for a person"
                        ),
                        None => "returned or reversed by the bank: not a donation; no gift of this payer and amount was found, it waits for a person".to_string(),
                    };
                    (None, Some(note))
                }
                // Card processors' payouts are not the foundation's payment orders.
                (RowStatus::Outgoing, _) if self.format != Format::CloudPayments => {
                    let (paid, note) = invoice_paid_by(conn, p).await?;
                    pays_invoice = paid.map(|(_, invoice)| invoice);
                    (paid.map(|(case, _)| case), note)
                }
                (RowStatus::Refund, Some(original)) => {
                    // In a bulk load the keys are in memory, and only one known there is looked up.
                    let earlier = self.bulk.as_ref().is_none_or(|b| b.known.contains(&key_bits(original)));
                    (None, Some(refund_note(conn, self.refunded.get(original).copied(), original, earlier).await?))
                }
                _ => (None, None),
            };
            if pays_case.is_some() {
                self.preview.pays += 1;
            }
            rows.push(Decided { status, designated, pays_case, pays_invoice, gift });
            if self.preview.rows.len() >= KEEP_ROWS {
                self.rows_omitted += 1;
                continue;
            }
            let party = p.counterparty();
            self.preview.rows.push(PreviewRow {
                line: p.line,
                status,
                date: p.booked.unwrap_or(p.date),
                amount: p.amount,
                currency: p.currency,
                counterparty: party.name.clone(),
                inn: party.inn.clone(),
                purpose: p.purpose.clone(),
                external_key: p.external_key.clone(),
                donor,
                suggested_case,
                suggestion_reason,
                designated,
                pays_case,
                payment_note,
            });
        }
        Ok(rows)
    }

    /// Writes one classified chunk: donations, placements, paid invoices. `prepared` holds
    /// each payment's donor keys where they were made ready on another thread (see
    /// [`prepare_donors`]); the rest are prepared here.
    #[allow(clippy::too_many_arguments)]
    pub async fn write(
        &mut self,
        tx: &mut Tx,
        actor: &str,
        chunk: &[Payment],
        mut prepared: Vec<Option<donors::Prepared>>,
        rows: &[Decided],
        batch: i64,
        file: &str,
        channel: Channel,
        touched: &mut Touched,
    ) -> Result<()> {
        // One timestamp for the batch (for SQLite formatted once, as it would be for each row).
        let pg = tx.is_pg();
        let at = now();
        let created = if pg {
            Arg::Moment(Some(at))
        } else {
            Arg::Text(Some(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)))
        };
        // Every new row's donor, found or made in a few statements, exactly as one by one would.
        prepared.resize_with(chunk.len(), || None);
        let keys: Vec<donors::Prepared> = chunk
            .iter()
            .zip(rows)
            .zip(prepared)
            .filter(|((_, r), _)| r.status == RowStatus::New)
            .map(|((p, _), ready)| ready.unwrap_or_else(|| donors::Prepared::new(&donor_keys(p))))
            .collect();
        let mut donor_ids = donors::find_or_add_prepared(tx, &keys, &mut self.donors).await?.into_iter();
        let mut plain: Vec<(&Payment, i64)> = Vec::new();
        for (p, row) in chunk.iter().zip(rows) {
            if row.status != RowStatus::New {
                continue;
            }
            let donor = donor_ids.next().unwrap_or_default();
            let Some(case) = row.designated else {
                plain.push((p, donor));
                continue;
            };
            // The case must exist, and its program is recorded here, as the trigger would: a bulk
            // load sets the trigger aside.
            let program: String = q("SELECT program FROM cases WHERE id = $1")
                .bind(case)
                .scalar_optional(tx)
                .await?
                .ok_or_else(|| Error::invalid(format!("line {}: {}", p.line, Error::case_not_found(case))))?;
            let id: i64 = q(
                "INSERT INTO donations (amount, currency, designation_kind, designated_id, received_on, channel, payer, donor_id, purpose, external_key, created_at, batch_id, subscription, programs)
                 VALUES ($1, $2, 'case', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            )
            .bind(p.amount.minor())
            .bind(p.currency.as_str())
            .bind(case)
            .bind(p.booked.unwrap_or(p.date))
            .bind(channel.as_str())
            .bind(payer_name(p))
            .bind(donor)
            .bind(&p.purpose)
            .bind(&p.external_key)
            .bind(&created)
            .bind(batch)
            .bind(&p.subscription)
            .bind(program.parse::<Program>()?.bit())
            .scalar(tx)
            .await?;
            touched.donations.push(id);
            place_designated(tx, actor, id, Reach::Named, touched).await?;
        }
        if pg {
            plain_rows::insert_pg(tx, &plain, channel, &created, batch).await?;
        } else {
            plain_rows::insert_lite(tx.lite()?, &plain, channel, &created, batch).await?;
        }
        self.written += plain.len() as i64;
        if !pg && self.bulk.is_none() && self.written >= BULK_MIN && self.written > self.start_rows {
            self.bulk = Some(Bulk::begin(tx).await?);
        }
        records::fees_and_returns(tx, chunk, rows, batch).await?;
        for (p, _) in chunk.iter().zip(rows).filter(|(_, r)| r.status == RowStatus::Payout) {
            let name = super::settlements::processor_of(&self.processors, p).map_or("", |x| x.name.as_str());
            super::settlements::record(tx, batch, name, p).await?;
        }
        records::paid_invoices(tx, actor, chunk, rows, batch, file, &created).await?;
        Ok(())
    }

    /// Builds again whatever a bulk load dropped; before the batch is checked and committed.
    pub async fn end_writes(&mut self, tx: &mut Tx) -> Result<()> {
        // Every payment is written: the keys seen and what was learned of donors are done with.
        // Freed (and handed back to the system) before the indexes are rebuilt, whose sorting
        // would otherwise come on top of them: a million payments' keys alone are 35 MB.
        self.seen = HashSet::new();
        self.donors = donors::Memo::new(donors::MEMO_LIMIT);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: returns free heap memory to the system; touches no memory in use.
        unsafe {
            libc::malloc_trim(0);
        }
        if let Some(bulk) = self.bulk.take() {
            bulk.end(tx).await?;
        }
        Ok(())
    }

    /// The whole file's findings, once the stream has ended. A line the person
    /// designated that held no new donation is an error: nothing is written.
    pub fn finish(mut self, summary: Summary) -> Result<Preview> {
        let mut lines: Vec<usize> = self.decisions.by_line.keys().copied().collect();
        lines.sort_unstable();
        for line in lines {
            match self.lines_used.get(&line).copied().unwrap_or(0) {
                0 => return Err(Error::invalid(format!("--designate: line {line} holds no new donation"))),
                1 => {}
                n => {
                    return Err(Error::invalid(format!(
                        "--designate: line {line} holds {n} new donations (a batched or one-line file): designate them in the console instead"
                    )));
                }
            }
        }
        let pv = &mut self.preview;
        pv.format = summary.format.name();
        pv.encoding = summary.encoding;
        let mut errors = summary.errors;
        errors.append(&mut self.unfit);
        errors.sort_by_key(|e| e.line);
        pv.invalid = errors.len();
        pv.problems = super::import::problems_of(&errors, &summary.checks);
        pv.problems.extend(self.doubts.iter().map(|d| format!("line {}: {}", d.line, d.message)));
        pv.errors = errors;
        pv.warnings = summary.warnings;
        pv.checks = summary.checks;
        pv.rows_omitted = self.rows_omitted;
        pv.designated = self.designated;
        Ok(self.preview)
    }
}
