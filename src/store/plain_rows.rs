//! An import's unrestricted donations, written many at once: into
//! PostgreSQL in multi-row statements, into a SQLite file through prepared
//! statements of many rows on the transaction's own connection (see
//! [`lite_rows`](super::lite_rows)).

use super::db::{Arg, repeat_marks};
use super::ingest::payer_name;
use super::{Tx, q};
use crate::domain::Channel;
use crate::error::{Error, Result};
use crate::import::Payment;

/// Donations per INSERT statement on PostgreSQL (12 values each).
const INSERT_ROWS: usize = 500;

const PLAIN_COLUMNS: &str = "amount, currency, designation_kind, received_on, channel, payer, donor_id, purpose, external_key, created_at, batch_id, subscription";

/// Unrestricted donations into PostgreSQL, many to a statement.
pub(super) async fn insert_pg(
    tx: &mut Tx,
    plain: &[(&Payment, i64)],
    channel: Channel,
    created: &Arg,
    batch: i64,
) -> Result<()> {
    for group in plain.chunks(INSERT_ROWS) {
        let values = repeat_marks(true, "(?, ?, 'unrestricted', ?, ?, ?, ?, ?, ?, ?, ?, ?)", group.len());
        let mut add = q(format!("INSERT INTO donations ({PLAIN_COLUMNS}) VALUES {values}"));
        for (p, donor) in group {
            add = add
                .bind(p.amount.minor())
                .bind(p.currency.as_str())
                .bind(p.booked.unwrap_or(p.date))
                .bind(channel.as_str())
                .bind(payer_name(p))
                .bind(*donor)
                .bind(&p.purpose)
                .bind(&p.external_key)
                .bind(created)
                .bind(batch)
                .bind(&p.subscription);
        }
        add.execute(tx).await?;
    }
    Ok(())
}

/// Unrestricted donations into a SQLite file, many to a prepared statement
/// (see [`lite_rows`](super::lite_rows)), valued as sqlx would bind them.
pub(super) async fn insert_lite(
    conn: &mut sqlx::SqliteConnection,
    plain: &[(&Payment, i64)],
    channel: Channel,
    created: &Arg,
    batch: i64,
) -> Result<()> {
    use super::lite_rows::{Value, insert_each};
    let Arg::Text(Some(created)) = created else { return Err(Error::invalid("an import's time is text on SQLite")) };
    // OR FAIL: a failing row fails the statement without undoing its earlier rows, so SQLite
    // keeps no statement journal; any error drops the whole transaction anyway.
    let head = format!("INSERT OR FAIL INTO donations ({PLAIN_COLUMNS}) VALUES");
    let row = "(?, ?, 'unrestricted', ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    let days: Vec<String> = plain.iter().map(|(p, _)| crate::import::iso_day(p.booked.unwrap_or(p.date))).collect();
    let names: Vec<String> = plain.iter().map(|(p, _)| payer_name(p)).collect();
    let rows = plain.iter().zip(&days).zip(&names).map(|(((p, donor), day), name)| {
        (
            p.line,
            [
                Value::Int(p.amount.minor()),
                Value::Text(p.currency.as_str()),
                Value::Text(day),
                Value::Text(channel.as_str()),
                Value::Text(name),
                Value::Int(*donor),
                Value::Text(&p.purpose),
                Value::Text(&p.external_key),
                Value::Text(created),
                Value::Int(batch),
                p.subscription.as_deref().into(),
            ],
        )
    });
    insert_each(conn, &head, row, rows).await
}
