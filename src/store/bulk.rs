//! Bulk loading for an import that outgrows its table (see [`Bulk`]).

use std::collections::HashSet;

use super::Tx;
use super::ingest::key_bits;
use crate::error::Result;

/// New donations an import writes before it may load in bulk (see [`Bulk`]).
pub(super) const BULK_MIN: i64 = 20_000;

/// A long import into a table it outgrows loads in bulk: once it has written
/// more new donations than the table held when it began (and at least
/// [`BULK_MIN`]), the donations table's indexes are dropped inside the
/// import's own transaction and built again, from sorted keys, before it
/// commits. Other connections go on reading the last committed state, indexes
/// and all; a failed or abandoned import rolls the drop back with the rest.
/// The keys already in the table are then asked of memory (128 bits each), and
/// the unique index on them, rebuilt at the end, still refuses a duplicate.
///
/// The trigger that records a designated donation's programs is set aside
/// with the indexes and made again with them. The rows a bulk load writes
/// are unrestricted and never set it off, yet its mere presence made SQLite
/// keep a statement journal for every row it inserted (a page copied each
/// time, a third of an insert's cost); the import's designated donations
/// record their programs themselves.
pub(super) struct Bulk {
    /// The dropped indexes' and trigger's own `CREATE` statements, to make them again.
    schema: Vec<String>,
    /// Keys the table held before this import (this import's own are in `Run::seen`).
    pub(super) known: HashSet<u128>,
}

impl Bulk {
    pub(super) async fn begin(tx: &mut Tx) -> Result<Bulk> {
        let schema: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'donations' AND sql IS NOT NULL
             AND (type = 'index' OR (type = 'trigger' AND name = 'donations_programs'))",
        )
        .fetch_all(tx.lite()?)
        .await?;
        // The keys already there, a page at a time, kept as 128 bits each.
        let mut known = HashSet::new();
        let mut after = 0i64;
        loop {
            let page: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, external_key FROM donations WHERE id > ? AND external_key IS NOT NULL ORDER BY id LIMIT 20000",
            )
            .bind(after)
            .fetch_all(tx.lite()?)
            .await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            known.extend(page.iter().map(|(_, k)| key_bits(k)));
        }
        // The dropped indexes' pages are freed without being zeroed first (`secure_delete`, see
        // `Store::open`): zeroing them all at once took 80 MB more memory. They hold nothing
        // the table does not, and all are written over before the commit, as the indexes built
        // again are larger, and a page taken from the free list is zeroed as it is taken.
        sqlx::query("PRAGMA secure_delete = OFF").execute(tx.lite()?).await?;
        for (kind, name, _) in &schema {
            let kind = if kind == "trigger" { "TRIGGER" } else { "INDEX" };
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP {kind} \"{}\"", name.replace('"', "\"\""))))
                .execute(tx.lite()?)
                .await?;
        }
        sqlx::query("PRAGMA secure_delete = ON").execute(tx.lite()?).await?;
        // Without its indexes the table is only appended to: a small page cache serves as well
        // as a large one, and leaves the memory to the sorts that build them again.
        sqlx::query("PRAGMA cache_size = -16384").execute(tx.lite()?).await?;
        Ok(Bulk { schema: schema.into_iter().map(|(_, _, sql)| sql).collect(), known })
    }

    pub(super) async fn end(self, tx: &mut Tx) -> Result<()> {
        drop(self.known);
        // Sorting for the indexes may use a second thread. Each sorter holds up to the page
        // cache's size (16 MB since `begin`), then spills to temporary files, which must be on
        // disk for memory to stay flat (the connection otherwise keeps temporary storage in memory).
        set_temp_store(tx, "FILE").await?;
        sqlx::query("PRAGMA threads = 1").execute(tx.lite()?).await?;
        for sql in self.schema {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(tx.lite()?).await?;
        }
        sqlx::query("PRAGMA threads = 0").execute(tx.lite()?).await?;
        set_temp_store(tx, "MEMORY").await?;
        Ok(())
    }
}

/// Sets where SQLite keeps temporary storage, if it is not there already. Once a transaction has
/// opened its temporary storage (a statement compiled after the indexes were rebuilt may), SQLite
/// refuses to move it; then it stays where it is: a setting of speed and memory, never of what is
/// written, so the import goes on.
pub(super) async fn set_temp_store(tx: &mut Tx, to: &str) -> Result<()> {
    let want: i64 = if to == "FILE" { 1 } else { 2 };
    let now: i64 = sqlx::query_scalar("PRAGMA temp_store").fetch_one(tx.lite()?).await?;
    if now == want {
        return Ok(());
    }
    match sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA temp_store = {to}"))).execute(tx.lite()?).await {
        Err(sqlx::Error::Database(e)) if e.message().contains("temporary storage cannot be changed") => Ok(()),
        other => other.map(drop).map_err(Into::into),
    }
}
