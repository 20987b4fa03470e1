//! Many rows into a SQLite file through prepared statements of many rows each,
//! run on the transaction's own connection with SQLite's C API: a long
//! import's plain donations. Through sqlx every statement and each of its values is copied
//! and handed to the connection's worker thread; for a million rows that
//! hand-over cost more than SQLite's own work. The connection is locked for
//! the whole chunk, inside the transaction sqlx began, so the rows commit or
//! roll back with everything else the import does.

use std::ffi::{CStr, c_int};
use std::ptr::NonNull;

use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;

use crate::error::{Error, Result};

/// One value to bind.
pub(super) enum Value<'a> {
    Int(i64),
    Text(&'a str),
    Null,
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Value<'a> {
        v.map_or(Value::Null, Value::Text)
    }
}

/// The connection's last error message.
///
/// # Safety
/// `db` must be an open connection.
unsafe fn message(db: *mut ffi::sqlite3) -> String {
    // SAFETY: an open connection always has an error message (possibly "not an error").
    unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)).to_string_lossy().into_owned() }
}

/// Rows in one statement. A statement of many rows keeps its cursors open and placed from one
/// row to the next (the table's at its end, where the next row goes); a statement of one row
/// opens them again, and seeks from the root, for every row.
const ROWS_PER_STATEMENT: usize = 100;

/// Inserts every row `rows` yields, [`ROWS_PER_STATEMENT`] to a statement of `head` (`INSERT …
/// VALUES`) followed by as many `row`s (`(?, …)`, one `?` per value): each row is the register
/// line it comes from (named in an error) and its values in the order of the `?`s. Stops at the
/// first row SQLite refuses.
pub(super) async fn insert_each<'r, I, const N: usize>(
    conn: &mut SqliteConnection,
    head: &str,
    row: &str,
    rows: I,
) -> Result<()>
where
    I: IntoIterator<Item = (usize, [Value<'r>; N])>,
{
    let mut locked = conn.lock_handle().await?;
    let db = locked.as_raw_handle().as_ptr();
    let sql = |n: usize| format!("{head} {}", vec![row; n].join(", "));
    // SAFETY (each block below): `db` is the open connection whose lock we hold until the end,
    // and the rows' texts live for `'r`, longer than this call and its statements.
    let full = unsafe { prepare(db, &sql(ROWS_PER_STATEMENT))? };
    let mut rows = rows.into_iter();
    let mut group = Vec::with_capacity(ROWS_PER_STATEMENT);
    loop {
        group.clear();
        group.extend(rows.by_ref().take(ROWS_PER_STATEMENT));
        match group.len() {
            0 => return Ok(()),
            ROWS_PER_STATEMENT => unsafe { run(db, &full, &group)? },
            n => return unsafe { run(db, &prepare(db, &sql(n))?, &group) },
        }
    }
}

/// `sql` prepared on `db`.
///
/// # Safety
/// `db` must be an open connection no one else uses meanwhile.
unsafe fn prepare(db: *mut ffi::sqlite3, sql: &str) -> Result<Finalize> {
    let sql = std::ffi::CString::new(sql).map_err(|_| Error::invalid("a statement holds a NUL byte"))?;
    let mut raw: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
    // SAFETY: `db` is as the caller promised; `raw` is ours to fill.
    let rc = unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut raw, std::ptr::null_mut()) };
    match NonNull::new(raw).filter(|_| rc == ffi::SQLITE_OK) {
        Some(stmt) => Ok(Finalize(stmt)),
        // SAFETY: as above.
        None => Err(Error::invalid(format!("database: {}", unsafe { message(db) }))),
    }
}

/// Runs `stmt` (one `?` per value of `rows`) once. A refused row is named by its line: the rows
/// before it are in (the statement is `OR FAIL`), so SQLite's count of changes says which it is.
///
/// # Safety
/// `db` must be an open connection no one else uses meanwhile, `stmt` one of its statements,
/// and the texts in `rows` must outlive `stmt` or its next binding of them: they are bound
/// without a copy (SQLITE_STATIC), and SQLite reads them until then.
unsafe fn run<const N: usize>(db: *mut ffi::sqlite3, stmt: &Finalize, rows: &[(usize, [Value<'_>; N])]) -> Result<()> {
    let s = stmt.0.as_ptr();
    let line_of = |i: usize| rows.get(i).or(rows.first()).map_or(0, |(line, _)| *line);
    // SAFETY: as the caller promised.
    unsafe {
        for (r, (line, values)) in rows.iter().enumerate() {
            for (i, v) in values.iter().enumerate() {
                let i = c_int::try_from(r * N + i + 1).unwrap_or(c_int::MAX);
                let rc = match v {
                    Value::Int(n) => ffi::sqlite3_bind_int64(s, i, *n),
                    Value::Text(t) => {
                        let len = c_int::try_from(t.len()).unwrap_or(c_int::MAX);
                        ffi::sqlite3_bind_text(s, i, t.as_ptr().cast(), len, ffi::SQLITE_STATIC())
                    }
                    Value::Null => ffi::sqlite3_bind_null(s, i),
                };
                if rc != ffi::SQLITE_OK {
                    return Err(Error::invalid(format!("line {line}: database: {}", message(db))));
                }
            }
        }
        let rc = ffi::sqlite3_step(s);
        if rc != ffi::SQLITE_DONE {
            let done = usize::try_from(ffi::sqlite3_changes64(db)).unwrap_or(0);
            let msg = message(db);
            ffi::sqlite3_reset(s);
            return Err(Error::invalid(format!("line {}: database: {msg}", line_of(done))));
        }
        ffi::sqlite3_reset(s);
    }
    Ok(())
}

/// A prepared statement, finalized however the loop ends.
struct Finalize(NonNull<ffi::sqlite3_stmt>);

impl Drop for Finalize {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared by us and is finalized once, here.
        unsafe {
            ffi::sqlite3_finalize(self.0.as_ptr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ROWS_PER_STATEMENT, Value, insert_each};
    use sqlx::Connection;

    /// Every row goes in, in order, whether it fills a statement or ends a short one; a refused
    /// row is named by its own line, in a full statement and in the short last one alike.
    #[tokio::test]
    async fn rows_go_in_many_to_a_statement_and_a_refused_one_is_named_by_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("rows.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL CHECK (n > 0), s TEXT, k TEXT NOT NULL)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let total = ROWS_PER_STATEMENT * 2 + 37;
        let texts: Vec<String> = (0..total).map(|i| format!("строка {i}")).collect();
        let rows = |bad: Option<usize>| {
            let texts = &texts;
            (0..total).map(move |i| {
                let n = if Some(i) == bad { 0 } else { i as i64 + 1 };
                let s = if i % 3 == 0 { Value::Null } else { Value::Text(&texts[i]) };
                (i + 10, [Value::Int(n), s, Value::Text(&texts[i])])
            })
        };
        let head = "INSERT OR FAIL INTO t (n, s, k) VALUES";
        insert_each(&mut conn, head, "(?, ?, ?)", rows(None)).await.unwrap();
        let got: Vec<(i64, Option<String>, String)> =
            sqlx::query_as("SELECT n, s, k FROM t ORDER BY id").fetch_all(&mut conn).await.unwrap();
        assert_eq!(got.len(), total);
        for (i, (n, s, k)) in got.into_iter().enumerate() {
            assert_eq!((n, s.is_none(), k.as_str()), (i as i64 + 1, i % 3 == 0, texts[i].as_str()));
        }
        for bad in [0, ROWS_PER_STATEMENT + 41, total - 1] {
            let err = insert_each(&mut conn, head, "(?, ?, ?)", rows(Some(bad))).await.unwrap_err().to_string();
            assert!(err.starts_with(&format!("line {}: database:", bad + 10)), "row {bad}: {err}");
            assert!(err.contains("CHECK"), "{err}");
        }
    }
}
