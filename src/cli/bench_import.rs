//! `almoner bench --import`: a generated register of a million payments, as
//! 1C and as CSV, imported by almoner (dry run and commit), beside the same
//! CSV through `hledger` (a 100 000-row slice: it needs ~11 GB at a million)
//! and `ledger convert`, and a plain prepared-statement SQLite insert of the
//! same rows into a table with a unique key. Every run is a child process,
//! timed from outside, its peak memory read back by `wait4`. Figures are
//! printed, never asserted.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::args::BenchArgs;
use crate::import::generate;

struct Measured {
    what: String,
    rows: u64,
    seconds: f64,
    peak_mb: f64,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.rows as f64 / self.seconds
    }
}

/// Runs a command to the end; its wall time and peak resident memory.
fn measure(what: &str, rows: u64, cmd: &mut Command) -> Result<Measured> {
    let started = Instant::now();
    let child = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn();
    let child = child.with_context(|| format!("cannot start {what}"))?;
    let pid = child.id() as libc::pid_t;
    let stderr = child.stderr;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut e) = stderr {
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
        }
        text
    });
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, whose handle we no longer use.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    let err = reader.join().unwrap_or_default();
    if waited < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{what} failed: {}", err.lines().last().unwrap_or("(no message)"));
    }
    Ok(Measured { what: what.to_string(), rows, seconds, peak_mb: usage.ru_maxrss as f64 / 1024.0 })
}

fn tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let rows = args.rows;
    let keep = args.dir.clone();
    let tmp = tempfile::tempdir()?;
    let dir = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let onec = dir.join("register_1c.txt");
    let csv = dir.join("register.csv");
    let slice = dir.join("register_slice.csv");
    let profile = dir.join("generated.toml");
    let rules = dir.join("register_slice.csv.rules");
    let started = Instant::now();
    generate::write_1c(&onec, rows, 1)?;
    generate::write_csv(&csv, rows, 1)?;
    let hledger_rows = args.hledger_rows.min(rows);
    generate::write_csv(&slice, hledger_rows, 1)?;
    std::fs::write(&profile, generate::CSV_PROFILE)?;
    std::fs::write(
        &rules,
        "skip 1\nfields code, date, description, amount, inn, note\ndate-format %Y/%m/%d\ncurrency RUB\naccount1 assets:bank\naccount2 income:donations\n",
    )?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
    println!(
        "generated {rows} payments in {:.1} s: 1C {:.0} MB, CSV {:.0} MB (hledger slice: {hledger_rows} rows)",
        started.elapsed().as_secs_f64(),
        size(&onec),
        size(&csv)
    );
    let me = std::env::current_exe()?;
    let fresh = |name: &str| -> PathBuf {
        let db = dir.join(name);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        db
    };
    let almoner = |db: &Path| {
        let mut c = Command::new(&me);
        c.arg("--db").arg(db);
        c
    };
    let mut results = Vec::new();
    let db = fresh("dry_1c.db");
    results.push(measure("almoner import 1C --dry-run", rows, almoner(&db).arg("import").arg(&onec).arg("--dry-run"))?);
    let db = fresh("commit_1c.db");
    results.push(measure("almoner import 1C (commit)", rows, almoner(&db).arg("import").arg(&onec))?);
    let db = fresh("dry_csv.db");
    let mut c = almoner(&db);
    c.arg("import").arg(&csv).arg("--profile").arg(&profile).arg("--dry-run");
    results.push(measure("almoner import CSV --dry-run", rows, &mut c)?);
    let db = fresh("commit_csv.db");
    let mut c = almoner(&db);
    c.arg("import").arg(&csv).arg("--profile").arg(&profile);
    results.push(measure("almoner import CSV (commit)", rows, &mut c)?);
    if let Some(url) = &args.postgres {
        // The same register into a PostgreSQL database (give a new, empty one): the client's
        // memory is measured, not the server's.
        let mut c = almoner(Path::new(url));
        c.arg("import").arg(&csv).arg("--profile").arg(&profile);
        results.push(measure("almoner import CSV, PostgreSQL", rows, &mut c)?);
    }
    // The baseline twice: with SQLite's own small page cache, and with the one almoner's import
    // gives itself, which holds the whole key index (at a million rows the first rereads it from
    // the operating system's cache for nearly every row).
    for (what, file, cache) in
        [(RAW_DEFAULT, "raw.db", None), (RAW_CACHE, "raw_cache.db", Some(crate::store::IMPORT_CACHE_KIB))]
    {
        let mut c = Command::new(&me);
        c.arg("bench").arg("--raw-insert").arg(&csv).arg("--dir").arg(fresh(file));
        if let Some(kib) = cache {
            c.arg("--raw-cache-kib").arg(kib.to_string());
        }
        results.push(measure(what, rows, &mut c)?);
    }
    match tool("hledger") {
        Some(h) => {
            let mut c = Command::new(h);
            c.arg("-f").arg(&slice).arg("--rules-file").arg(&rules).arg("print");
            results.push(measure("hledger print (CSV slice)", hledger_rows, &mut c)?);
        }
        None => println!("hledger is not installed (apt-get install hledger): not compared"),
    }
    match tool("ledger") {
        Some(l) => {
            let mut c = Command::new(l);
            c.arg("-f").arg("/dev/null").arg("convert").arg(&csv).arg("--account").arg("Assets:Bank");
            c.arg("--input-date-format").arg("%Y/%m/%d");
            results.push(measure("ledger convert (CSV)", rows, &mut c)?);
        }
        None => println!("ledger is not installed (apt-get install ledger): not compared"),
    }
    println!("\n{:<32} {:>9} {:>9} {:>11} {:>10}", "run", "rows", "seconds", "rows/s", "peak MB");
    for m in &results {
        println!("{:<32} {:>9} {:>9.2} {:>11.0} {:>10.1}", m.what, m.rows, m.seconds, m.rate(), m.peak_mb);
    }
    let find = |w: &str| results.iter().find(|m| m.what.starts_with(w));
    // hledger and ledger read the CSV: almoner's CSV runs are the like-for-like comparison,
    // the 1C commit the harder case (its file is 2.5 times the size, read twice).
    for run in ["almoner import 1C (commit)", "almoner import CSV (commit)", "almoner import CSV --dry-run"] {
        let Some(a) = find(run) else { continue };
        println!("\ntargets, {run}:");
        if let Some(h) = find("hledger") {
            println!("  vs hledger:          {:>7.1}× its rows/s   (target ≥ 50×)", a.rate() / h.rate());
        }
        if let Some(l) = find("ledger convert") {
            println!("  vs ledger convert:   {:>7.1}× its rows/s   (target ≥ 5×)", a.rate() / l.rate());
        }
        for (raw, label) in [(RAW_DEFAULT, "vs raw, 2 MB cache:"), (RAW_CACHE, "vs raw, 64 MB cache:")] {
            if let Some(r) = find(raw) {
                println!("  {label:<20} {:>7.0} % of its rate  (target ≥ 70 %)", 100.0 * a.rate() / r.rate());
            }
        }
    }
    let peak = results.iter().filter(|m| m.what.starts_with("almoner")).map(|m| m.peak_mb).fold(0.0, f64::max);
    println!("  peak RSS of any almoner run: {peak:.0} MB (target ≤ 200 MB)");
    Ok(())
}

const RAW_DEFAULT: &str = "raw insert, SQLite's 2 MB cache";
const RAW_CACHE: &str = "raw insert, 64 MB cache";

/// The baseline: the CSV's rows into a table with a unique index on the same
/// external key almoner computes, through one prepared statement in one
/// transaction, with SQLite's own C API; with SQLite's default page cache, or
/// `cache_kib` of it.
pub fn raw_insert(csv: &Path, db: &Path, cache_kib: Option<u32>) -> Result<()> {
    let text = std::fs::read_to_string(csv)?;
    let path = CString::new(db.display().to_string())?;
    let mut conn: *mut libsqlite3_sys::sqlite3 = std::ptr::null_mut();
    // SAFETY: plain use of the SQLite C API; every pointer is checked or comes from SQLite.
    unsafe {
        let check = |rc: i32, conn: *mut libsqlite3_sys::sqlite3| -> Result<()> {
            if rc != libsqlite3_sys::SQLITE_OK && rc != libsqlite3_sys::SQLITE_DONE {
                let msg = CStr::from_ptr(libsqlite3_sys::sqlite3_errmsg(conn)).to_string_lossy().into_owned();
                bail!("sqlite: {msg}");
            }
            Ok(())
        };
        check(libsqlite3_sys::sqlite3_open(path.as_ptr(), &mut conn), conn)?;
        let exec = |sql: &str| -> Result<()> {
            let sql = CString::new(sql)?;
            check(
                libsqlite3_sys::sqlite3_exec(conn, sql.as_ptr(), None, std::ptr::null_mut(), std::ptr::null_mut()),
                conn,
            )
        };
        exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
        if let Some(kib) = cache_kib {
            exec(&format!("PRAGMA cache_size = -{kib}"))?;
        }
        exec(
            "CREATE TABLE donations (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL, received_on TEXT NOT NULL,
             payer TEXT NOT NULL, inn TEXT, purpose TEXT NOT NULL, external_key TEXT NOT NULL);
             CREATE UNIQUE INDEX donations_key ON donations (external_key);",
        )?;
        exec("BEGIN")?;
        let sql = CString::new(
            "INSERT INTO donations (amount, received_on, payer, inn, purpose, external_key) VALUES (?, ?, ?, ?, ?, ?)",
        )?;
        let mut stmt: *mut libsqlite3_sys::sqlite3_stmt = std::ptr::null_mut();
        check(libsqlite3_sys::sqlite3_prepare_v2(conn, sql.as_ptr(), -1, &mut stmt, std::ptr::null_mut()), conn)?;
        let text_arg = |stmt, i: i32, s: &str| {
            libsqlite3_sys::sqlite3_bind_text(
                stmt,
                i,
                s.as_ptr().cast(),
                s.len() as i32,
                libsqlite3_sys::SQLITE_TRANSIENT(),
            )
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 6 {
                continue;
            }
            let kopecks: i64 = f[3].replace('.', "").parse().unwrap_or(0);
            // The very key almoner gives the row, so both indexes grow alike.
            let key = crate::import::key(crate::import::Format::Mapped, &["generated", f[0]]);
            libsqlite3_sys::sqlite3_bind_int64(stmt, 1, kopecks);
            text_arg(stmt, 2, f[1]);
            text_arg(stmt, 3, f[2]);
            text_arg(stmt, 4, f[4]);
            text_arg(stmt, 5, f[5]);
            text_arg(stmt, 6, &key);
            check(libsqlite3_sys::sqlite3_step(stmt), conn)?;
            libsqlite3_sys::sqlite3_reset(stmt);
        }
        libsqlite3_sys::sqlite3_finalize(stmt);
        exec("COMMIT")?;
        libsqlite3_sys::sqlite3_close(conn);
    }
    Ok(())
}
