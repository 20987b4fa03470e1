//! The two engines behind one store: SQLite (a file, the default) and
//! PostgreSQL (`--db postgres://…`, for a foundation that outgrows a file).
//!
//! Code that runs on both writes its SQL once, with `$1, $2…` placeholders
//! (SQLite reads them too) and the SQL both engines share, and goes through
//! [`q`]: values are bound as [`Arg`]s and rows read into any type both
//! drivers can read. The little that works on a SQLite file itself (the
//! bulk load's dropped indexes, `VACUUM INTO` backups, the report benchmark)
//! reaches its connection through [`Tx::lite`] or
//! [`Store::pool`](super::Store::pool), which on PostgreSQL say so instead
//! of running.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::error::{Error, Result};

/// The key every write transaction on PostgreSQL takes first (see [`begin_write`]).
const WRITE_LOCK: i64 = 0x0061_6c6d_6f6e_6572; // "almoner"

#[derive(Clone)]
pub(crate) enum Pool {
    Lite(SqlitePool),
    Pg(PgPool),
}

/// A transaction on either engine.
pub(crate) enum Tx {
    Lite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
}

/// A connection to run statements on, borrowed from a transaction or a pool.
pub enum Ex<'a> {
    Lite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

/// A connection of the pool's, held.
pub(crate) enum Conn {
    Lite(sqlx::pool::PoolConnection<Sqlite>),
    Pg(sqlx::pool::PoolConnection<Postgres>),
}

/// What work on a SQLite file itself answers on PostgreSQL.
pub(crate) fn not_on_postgres() -> Error {
    Error::invalid(
        "this works on a SQLite database file only: a PostgreSQL database is backed up, restored and \
         inspected with PostgreSQL's own tools (pg_dump, pg_restore, psql)",
    )
}

impl Pool {
    pub(crate) async fn acquire(&self) -> Result<Conn> {
        Ok(match self {
            Pool::Lite(p) => Conn::Lite(p.acquire().await?),
            Pool::Pg(p) => Conn::Pg(p.acquire().await?),
        })
    }

    /// A write transaction that no other writer can interleave with, on either
    /// engine: SQLite's `BEGIN IMMEDIATE` takes the file's write lock at once;
    /// PostgreSQL's takes one transaction-scoped advisory lock that every
    /// almoner writer takes first. Figures read inside cannot change before
    /// it commits, exactly as on SQLite, so no write needs retrying.
    pub(crate) async fn begin_write(&self) -> Result<Tx> {
        Ok(match self {
            Pool::Lite(p) => Tx::Lite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Pg(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK).execute(&mut *tx).await?;
                Tx::Pg(tx)
            }
        })
    }

    /// A transaction that only reads: everything in it is from one moment.
    pub(crate) async fn begin_read(&self) -> Result<Tx> {
        Ok(match self {
            Pool::Lite(p) => Tx::Lite(p.begin().await?),
            Pool::Pg(p) => Tx::Pg(p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?),
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Lite(p) => p.close().await,
            Pool::Pg(p) => p.close().await,
        }
    }
}

impl Tx {
    /// The SQLite connection, for work on the file itself.
    pub(crate) fn lite(&mut self) -> Result<&mut SqliteConnection> {
        match self {
            Tx::Lite(tx) => Ok(&mut *tx),
            Tx::Pg(_) => Err(not_on_postgres()),
        }
    }

    pub(crate) async fn rollback(self) -> Result<()> {
        match self {
            Tx::Lite(tx) => tx.rollback().await?,
            Tx::Pg(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Tx::Lite(tx) => tx.commit().await?,
            Tx::Pg(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Anything statements can run on: a transaction, a pooled connection, or a
/// plain connection of either engine.
pub trait Exec: Send {
    fn ex(&mut self) -> Ex<'_>;

    /// Whether statements here run on PostgreSQL (for the little SQL the engines spell differently).
    fn is_pg(&mut self) -> bool {
        matches!(self.ex(), Ex::Pg(_))
    }
}

/// `n` copies of `row` (SQL with `?` for each value), comma-separated, as the
/// engine takes them: SQLite keeps the `?`s (it looks each `$N` up among the
/// names seen so far, which for thousands of values takes seconds);
/// PostgreSQL gets them numbered `$1, $2…`.
pub(crate) fn repeat_marks(pg: bool, row: &str, n: usize) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity((row.len() + 2) * n);
    let mut k = 0;
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        if !pg {
            sql.push_str(row);
            continue;
        }
        for (j, part) in row.split('?').enumerate() {
            if j > 0 {
                k += 1;
                let _ = write!(sql, "${k}");
            }
            sql.push_str(part);
        }
    }
    sql
}

/// A subquery of the values of the JSON array bound as `$n` (bind it as
/// JSON), each read as `ty` (`BIGINT`, `DATE`…): a list of any length as one value.
pub(crate) fn json_values(pg: bool, n: usize, ty: &str) -> String {
    if pg {
        format!("SELECT jsonb_array_elements_text(${n})::{ty}")
    } else {
        format!("SELECT value FROM json_each(${n})")
    }
}

/// The day (`YYYY-MM-DD`, as text) of a moment column: SQLite keeps moments
/// as RFC 3339 text, PostgreSQL as timestamps (read in UTC, as SQLite's are written).
pub(crate) fn day_of(pg: bool, column: &str) -> String {
    if pg {
        format!("CAST(CAST({column} AT TIME ZONE 'UTC' AS DATE) AS TEXT)")
    } else {
        format!("substr({column}, 1, 10)")
    }
}

/// An aggregate of `expr` over the rows into one JSON array (as text; `[]` for none).
pub(crate) fn json_list(pg: bool, expr: &str) -> String {
    if pg { format!("COALESCE(json_agg({expr}), '[]')::text") } else { format!("json_group_array({expr})") }
}

impl Exec for Tx {
    fn ex(&mut self) -> Ex<'_> {
        match self {
            Tx::Lite(tx) => Ex::Lite(tx),
            Tx::Pg(tx) => Ex::Pg(tx),
        }
    }
}

impl Exec for Conn {
    fn ex(&mut self) -> Ex<'_> {
        match self {
            Conn::Lite(c) => Ex::Lite(c),
            Conn::Pg(c) => Ex::Pg(c),
        }
    }
}

impl Exec for SqliteConnection {
    fn ex(&mut self) -> Ex<'_> {
        Ex::Lite(self)
    }
}

impl Exec for sqlx::pool::PoolConnection<Sqlite> {
    fn ex(&mut self) -> Ex<'_> {
        Ex::Lite(self)
    }
}

impl Exec for sqlx::pool::PoolConnection<Postgres> {
    fn ex(&mut self) -> Ex<'_> {
        Ex::Pg(self)
    }
}

impl Exec for PgConnection {
    fn ex(&mut self) -> Ex<'_> {
        Ex::Pg(self)
    }
}

impl Exec for Ex<'_> {
    fn ex(&mut self) -> Ex<'_> {
        match self {
            Ex::Lite(c) => Ex::Lite(c),
            Ex::Pg(c) => Ex::Pg(c),
        }
    }
}

/// A value to bind, as both engines take it.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Day(Option<NaiveDate>),
    Moment(Option<DateTime<Utc>>),
    Json(Option<serde_json::Value>),
}

macro_rules! arg_from {
    ($($t:ty => $v:ident $(, $conv:expr)?);* $(;)?) => {$(
        impl From<$t> for Arg {
            fn from(x: $t) -> Arg {
                Arg::$v(arg_from!(@conv x $(, $conv)?))
            }
        }
    )*};
    (@conv $x:ident) => { $x };
    (@conv $x:ident, $conv:expr) => { ($conv)($x) };
}

arg_from! {
    i64 => Int, Some;
    i32 => Int, |n: i32| Some(i64::from(n));
    Option<i64> => Int;
    bool => Bool, Some;
    Option<bool> => Bool;
    &str => Text, |s: &str| Some(s.to_string());
    String => Text, Some;
    Option<String> => Text;
    Option<&str> => Text, |s: Option<&str>| s.map(str::to_string);
    NaiveDate => Day, Some;
    Option<NaiveDate> => Day;
    DateTime<Utc> => Moment, Some;
    Option<DateTime<Utc>> => Moment;
    serde_json::Value => Json, Some;
    Option<serde_json::Value> => Json;
}

impl<T: Clone + Into<Arg>> From<&T> for Arg {
    fn from(x: &T) -> Arg {
        x.clone().into()
    }
}

/// Rows both drivers can read into.
pub(crate) trait Both:
    for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Both for T where T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}

/// Single values both drivers can read.
pub(crate) trait BothValue:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + Send
    + Unpin
{
}
impl<T> BothValue for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + Send
        + Unpin
{
}

/// A row of either engine, read by column name through [`Get`].
pub(crate) enum AnyRow {
    Lite(SqliteRow),
    Pg(PgRow),
}

/// Reading a column by name, from a row of either engine.
pub(crate) trait Get {
    fn get<T: BothValue>(&self, col: &str) -> Result<T>;
}

impl Get for SqliteRow {
    fn get<T: BothValue>(&self, col: &str) -> Result<T> {
        Ok(sqlx::Row::try_get(self, col)?)
    }
}

impl Get for PgRow {
    fn get<T: BothValue>(&self, col: &str) -> Result<T> {
        Ok(sqlx::Row::try_get(self, col)?)
    }
}

impl Get for AnyRow {
    fn get<T: BothValue>(&self, col: &str) -> Result<T> {
        match self {
            AnyRow::Lite(r) => r.get(col),
            AnyRow::Pg(r) => r.get(col),
        }
    }
}

/// A statement's future, boxed: a caller's own future holds a pointer, not the
/// statement's whole state on both engines (nested writes would otherwise grow
/// past a thread's stack in unoptimised builds).
pub(crate) type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'a>>;

/// A statement for either engine (see the module's notes).
pub(crate) struct Q {
    sql: String,
    args: Vec<Arg>,
}

pub(crate) fn q(sql: impl Into<String>) -> Q {
    Q { sql: sql.into(), args: Vec::new() }
}

macro_rules! bound {
    ($query:expr, $args:expr, json: $json:expr) => {{
        let mut query = $query;
        for a in $args {
            query = match a {
                Arg::Int(v) => query.bind(v),
                Arg::Bool(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::Day(v) => query.bind(v),
                Arg::Moment(v) => query.bind(v),
                Arg::Json(v) => query.bind(v.map($json)),
            };
        }
        query
    }};
}

impl Q {
    pub(crate) fn bind(mut self, v: impl Into<Arg>) -> Q {
        self.args.push(v.into());
        self
    }

    pub(crate) fn execute<'a, E: Exec + ?Sized>(self, on: &'a mut E) -> Boxed<'a, u64> {
        Box::pin(async move {
            let sql = sqlx::AssertSqlSafe(self.sql);
            Ok(match on.ex() {
                Ex::Lite(c) => bound!(sqlx::query(sql), self.args, json: |v: serde_json::Value| v.to_string())
                    .execute(c)
                    .await?
                    .rows_affected(),
                Ex::Pg(c) => {
                    bound!(sqlx::query(sql), self.args, json: sqlx::types::Json).execute(c).await?.rows_affected()
                }
            })
        })
    }

    pub(crate) fn fetch_all<'a, T: Both + 'static, E: Exec + ?Sized>(self, on: &'a mut E) -> Boxed<'a, Vec<T>> {
        Box::pin(async move {
            let sql = sqlx::AssertSqlSafe(self.sql);
            Ok(match on.ex() {
                Ex::Lite(c) => {
                    bound!(sqlx::query_as::<_, T>(sql), self.args, json: |v: serde_json::Value| v.to_string())
                        .fetch_all(c)
                        .await?
                }
                Ex::Pg(c) => {
                    bound!(sqlx::query_as::<_, T>(sql), self.args, json: sqlx::types::Json).fetch_all(c).await?
                }
            })
        })
    }

    pub(crate) fn fetch_optional<'a, T: Both + 'static, E: Exec + ?Sized>(self, on: &'a mut E) -> Boxed<'a, Option<T>> {
        Box::pin(async move {
            let sql = sqlx::AssertSqlSafe(self.sql);
            Ok(match on.ex() {
                Ex::Lite(c) => {
                    bound!(sqlx::query_as::<_, T>(sql), self.args, json: |v: serde_json::Value| v.to_string())
                        .fetch_optional(c)
                        .await?
                }
                Ex::Pg(c) => {
                    bound!(sqlx::query_as::<_, T>(sql), self.args, json: sqlx::types::Json).fetch_optional(c).await?
                }
            })
        })
    }

    /// The one row (a missing row is an error, as sqlx's `fetch_one` says it).
    pub(crate) fn fetch_one<'a, T: Both + 'static, E: Exec + ?Sized>(self, on: &'a mut E) -> Boxed<'a, T> {
        Box::pin(async move { self.fetch_optional(on).await?.ok_or(Error::Db(sqlx::Error::RowNotFound)) })
    }

    /// Every row, to read by column name.
    pub(crate) fn rows<'a, E: Exec + ?Sized>(self, on: &'a mut E) -> Boxed<'a, Vec<AnyRow>> {
        Box::pin(async move {
            let sql = sqlx::AssertSqlSafe(self.sql);
            Ok(match on.ex() {
                Ex::Lite(c) => bound!(sqlx::query(sql), self.args, json: |v: serde_json::Value| v.to_string())
                    .fetch_all(c)
                    .await?
                    .into_iter()
                    .map(AnyRow::Lite)
                    .collect(),
                Ex::Pg(c) => bound!(sqlx::query(sql), self.args, json: sqlx::types::Json)
                    .fetch_all(c)
                    .await?
                    .into_iter()
                    .map(AnyRow::Pg)
                    .collect(),
            })
        })
    }

    /// The one row, if there is one, to read by column name.
    pub(crate) fn row_optional<'a, E: Exec + ?Sized>(self, on: &'a mut E) -> Boxed<'a, Option<AnyRow>> {
        Box::pin(async move {
            let sql = sqlx::AssertSqlSafe(self.sql);
            Ok(match on.ex() {
                Ex::Lite(c) => bound!(sqlx::query(sql), self.args, json: |v: serde_json::Value| v.to_string())
                    .fetch_optional(c)
                    .await?
                    .map(AnyRow::Lite),
                Ex::Pg(c) => bound!(sqlx::query(sql), self.args, json: sqlx::types::Json)
                    .fetch_optional(c)
                    .await?
                    .map(AnyRow::Pg),
            })
        })
    }

    /// The first column of the one row.
    pub(crate) async fn scalar<T: BothValue + 'static>(self, on: &mut (impl Exec + ?Sized)) -> Result<T> {
        let (v,): (T,) = self.fetch_one(on).await?;
        Ok(v)
    }

    /// The first column of every row.
    pub(crate) async fn scalars<T: BothValue + 'static>(self, on: &mut (impl Exec + ?Sized)) -> Result<Vec<T>> {
        let rows: Vec<(T,)> = self.fetch_all(on).await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    /// The first column of the one row, if there is a row.
    pub(crate) async fn scalar_optional<T: BothValue + 'static>(
        self,
        on: &mut (impl Exec + ?Sized),
    ) -> Result<Option<T>> {
        let row: Option<(T,)> = self.fetch_optional(on).await?;
        Ok(row.map(|(v,)| v))
    }
}
