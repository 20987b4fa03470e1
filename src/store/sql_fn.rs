//! `has_any(text, w1, w2, w3, w4)`: 1 when `text` contains any of the words
//! given (NULLs skipped), 0 when none, NULL when `text` is NULL. A segment's
//! purpose filter asks it of every gift, with the spellings of one word: one
//! call and a vectorised byte search per gift, where four `instr` calls each
//! walked the purpose a byte at a time. Registered on every connection the
//! store opens.

use std::os::raw::{c_int, c_void};

use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;

/// A value as text: `Ok(None)` for NULL, `Err(())` when SQLite ran out of memory making the text.
///
/// # Safety
/// `v` must be a protected value of the current call, and the slice must not outlive it.
unsafe fn bytes<'a>(v: *mut ffi::sqlite3_value) -> Result<Option<&'a [u8]>, ()> {
    // SAFETY: `v` is a valid value for the duration of the call (the caller's promise);
    // SQLite keeps the text it returns alive until the value changes or the call returns.
    unsafe {
        if ffi::sqlite3_value_type(v) == ffi::SQLITE_NULL {
            return Ok(None);
        }
        let p = ffi::sqlite3_value_text(v);
        let n = usize::try_from(ffi::sqlite3_value_bytes(v)).map_err(|_| ())?;
        match (p.is_null(), n) {
            (false, n) => Ok(Some(std::slice::from_raw_parts(p, n))),
            (true, 0) => Ok(Some(&[][..])),
            (true, _) => Err(()),
        }
    }
}

/// The words' searchers, made once per statement and kept by SQLite beside the first word.
struct Words {
    words: Vec<Option<Vec<u8>>>,
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl Words {
    fn new(words: &[Option<&[u8]>]) -> Words {
        let finders = words.iter().flatten().map(|w| memchr::memmem::Finder::new(w).into_owned()).collect();
        Words { words: words.iter().map(|w| w.map(<[u8]>::to_vec)).collect(), finders }
    }

    fn are(&self, words: &[Option<&[u8]>]) -> bool {
        self.words.len() == words.len() && self.words.iter().zip(words).all(|(a, b)| a.as_deref() == *b)
    }

    /// The rule itself, away from the C interface.
    fn in_text(&self, text: &[u8]) -> bool {
        self.finders.iter().any(|f| f.find(text).is_some())
    }
}

unsafe extern "C" fn drop_words(p: *mut c_void) {
    // SAFETY: SQLite hands back the pointer `has_any` gave it, made by `Box::into_raw`, once.
    drop(unsafe { Box::from_raw(p.cast::<Words>()) });
}

unsafe extern "C" fn has_any(ctx: *mut ffi::sqlite3_context, argc: c_int, argv: *mut *mut ffi::sqlite3_value) {
    // SAFETY: SQLite passes `argc` valid values in `argv` for the duration of this call, and
    // a context to set the result on and keep data with; the searchers kept are our own box,
    // read only while SQLite holds it and freed by `drop_words`.
    unsafe {
        let argc = usize::try_from(argc).unwrap_or(0);
        if argc == 0 || argv.is_null() {
            ffi::sqlite3_result_null(ctx);
            return;
        }
        let args = std::slice::from_raw_parts(argv, argc);
        let (Ok(text), Ok(words)) =
            (bytes(args[0]), args[1..].iter().map(|&w| bytes(w)).collect::<Result<Vec<_>, ()>>())
        else {
            ffi::sqlite3_result_error_nomem(ctx);
            return;
        };
        let Some(text) = text else {
            ffi::sqlite3_result_null(ctx);
            return;
        };
        let kept = ffi::sqlite3_get_auxdata(ctx, 1).cast::<Words>();
        let found = match kept.as_ref() {
            Some(kept) if kept.are(&words) => kept.in_text(text),
            _ => {
                let made = Box::new(Words::new(&words));
                let found = made.in_text(text);
                if !words.is_empty() {
                    ffi::sqlite3_set_auxdata(ctx, 1, Box::into_raw(made).cast(), Some(drop_words));
                }
                found
            }
        };
        ffi::sqlite3_result_int(ctx, c_int::from(found));
    }
}

/// Makes `has_any` known to this connection.
pub(crate) async fn register(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let name = c"has_any";
    let flags = ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC | ffi::SQLITE_INNOCUOUS;
    // SAFETY: `db` is this connection's open handle, held locked for the call; the name is a
    // static C string; the function keeps no state, so there is no user data to free.
    let rc = unsafe {
        ffi::sqlite3_create_function_v2(
            db,
            name.as_ptr(),
            -1,
            flags,
            std::ptr::null_mut(),
            Some(has_any),
            None,
            None,
            None,
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(format!("cannot register the has_any SQL function (SQLite error {rc})").into()))
    }
}

#[cfg(test)]
mod tests {
    use super::Words;

    #[test]
    fn any_of_the_words_found_anywhere_counts() {
        let text = "Пожертвование на лечение Ивановой".as_bytes();
        let has = |words: &[Option<&str>]| {
            let words: Vec<Option<&[u8]>> = words.iter().map(|w| w.map(str::as_bytes)).collect();
            let kept = Words::new(&words);
            assert!(kept.are(&words));
            kept.in_text(text)
        };
        assert!(has(&[None, Some("лечение")]));
        assert!(has(&[Some("Пожертвование")]));
        assert!(!has(&[Some("Лечение"), Some("ЛЕЧЕНИЕ"), None]));
        assert!(!has(&[None, None]));
        assert!(has(&[Some("")]), "the empty word is in every text, as with instr");
        assert!(!Words::new(&[Some(b"a")]).are(&[Some(b"b")]), "other words are searched for afresh");
    }

    #[tokio::test]
    async fn sqlite_asks_it_with_words_that_change_from_row_to_row() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
        super::register(&mut conn).await.unwrap();
        let rows: Vec<(Option<i64>,)> = sqlx::query_as(
            "SELECT has_any(column1, column2, NULL) FROM (VALUES ('на лечение', 'лечение'), ('на лечение', 'ЛЕЧЕНИЕ'),
                                                  (NULL, 'лечение'), ('уставные цели', 'устав'))",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(rows, vec![(Some(1),), (Some(0),), (None,), (Some(1),)]);
        let constant: i64 =
            sqlx::query_scalar("SELECT SUM(has_any(column1, ?1, ?2)) FROM (VALUES ('a b'), ('b c'), ('c d'))")
                .bind("b")
                .bind("d")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(constant, 3);
    }
}
