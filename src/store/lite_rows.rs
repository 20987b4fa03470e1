//! Many rows into a SQLite file through one prepared statement, run on the
//! transaction's own connection with SQLite's C API: a long import's plain
//! donations. Through sqlx every statement and each of its values is copied
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

/// Runs `sql` once for every row `rows` yields: the register line it comes from (named in an
/// error) and its values in the order of the statement's `?`s. Stops at the first row SQLite refuses.
pub(super) async fn insert_each<'r, I, const N: usize>(conn: &mut SqliteConnection, sql: &str, rows: I) -> Result<()>
where
    I: IntoIterator<Item = (usize, [Value<'r>; N])>,
{
    let mut locked = conn.lock_handle().await?;
    let db = locked.as_raw_handle().as_ptr();
    let sql = std::ffi::CString::new(sql).map_err(|_| Error::invalid("a statement holds a NUL byte"))?;
    let mut raw: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
    // SAFETY: `db` is the open connection we hold the lock of; `raw` is ours to fill.
    let rc = unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut raw, std::ptr::null_mut()) };
    let Some(stmt) = NonNull::new(raw).filter(|_| rc == ffi::SQLITE_OK) else {
        // SAFETY: as above.
        return Err(Error::invalid(format!("database: {}", unsafe { message(db) })));
    };
    let stmt = Finalize(stmt);
    for (line, values) in rows {
        // SAFETY: `stmt` is a live statement of `db`, which we hold. Texts are bound without a
        // copy (SQLITE_STATIC): SQLite reads them until they are bound again or the statement
        // is finalized, both within this call, and they live for `'r`, longer than the call.
        let rc = unsafe {
            let s = stmt.0.as_ptr();
            for (i, v) in values.iter().enumerate() {
                let i = i as c_int + 1;
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
            let rc = ffi::sqlite3_step(s);
            ffi::sqlite3_reset(s);
            rc
        };
        if rc != ffi::SQLITE_DONE {
            // SAFETY: as above.
            return Err(Error::invalid(format!("line {line}: database: {}", unsafe { message(db) })));
        }
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
