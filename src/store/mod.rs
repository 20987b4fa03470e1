//! Storage on SQLite through sqlx. Every rule-bearing change runs in one
//! `BEGIN IMMEDIATE` transaction that reads fresh figures, asks the domain,
//! writes, re-checks the invariants and only then commits. SQLite-specific SQL
//! stays inside this module.

mod assign;
mod audit;
mod backup;
mod bulk;
mod cases;
mod db;
pub mod demo;
mod donations;
mod donor_merge;
mod donor_report;
mod donor_review;
pub mod donors;
mod export;
mod gdpr;
mod gdpr_steps;
mod import;
mod ingest;
mod intake;
mod invariants;
mod invoices;
mod lite_rows;
mod migrate;
mod notices;
mod plain_rows;
mod publish;
mod queue;
mod read;
mod reconcile;
mod report;
mod review;
mod roles;
mod rows;
mod segments;
pub mod settlements;
mod sql_fn;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::DesignatedPolicy;
use crate::error::{Error, Result};

pub use cases::{BeneficiaryRef, NewCase};
pub use db::{Ex, Exec};
pub use donations::{AllocationOutcome, Expectation, NewDonation, Plan};
pub use donor_report::{CaseShare, ChildPage, DonorReport, Order, Paper};
pub use donor_review::{DonorPair, DonorSide};
pub use gdpr::{Planned, Rules, RunOutcome};
pub use import::{Batch, Choices, IMPORT_CACHE_KIB, Preview, PreviewRow, ProgressFn, RowStatus};
pub use ingest::{Decisions, KEEP_ROWS};
pub use intake::{Application, Intake, Taken};
pub use invariants::Scope;
pub use invoices::{InvoiceChange, NewInvoice};
pub use notices::Notice;
pub use publish::{DEFAULT_FIELDS, FIELDS, Public, parse_fields};
pub use queue::{Target, WorkItem, roles_of};
pub use read::{CaseQuery, DonationQuery};
pub use report::{Entered, MonthChannel, StageReport, TimeInStage};
pub use review::{Field, RecordCase, Review};
pub use roles::{Act, Unknown};
pub use segments::{EXPORT_FIELDS, Exported, Member, Segment, Size};

/// Migrations, embedded so the binary carries its schema.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "core", include_str!("../../migrations/0001_core.sql")),
    (2, "case_search", include_str!("../../migrations/0002_case_search.sql")),
    (3, "donor_lookup", include_str!("../../migrations/0003_donor_lookup.sql")),
    (4, "import", include_str!("../../migrations/0004_import.sql")),
    (5, "invoice_bank", include_str!("../../migrations/0005_invoice_bank.sql")),
    (6, "donor_identity", include_str!("../../migrations/0006_donor_identity.sql")),
    (7, "donor_name_key", include_str!("../../migrations/0007_donor_name_key.sql")),
    (8, "match_reviews", include_str!("../../migrations/0008_match_reviews.sql")),
    (9, "donor_merges", include_str!("../../migrations/0009_donor_merges.sql")),
    (10, "legacy_ids", include_str!("../../migrations/0010_legacy_ids.sql")),
    (11, "review_fields", include_str!("../../migrations/0011_review_fields.sql")),
    (12, "donor_accounts", include_str!("../../migrations/0012_donor_accounts.sql")),
    (13, "workflow", include_str!("../../migrations/0013_workflow.sql")),
    (14, "publication", include_str!("../../migrations/0014_publication.sql")),
    (15, "segments_gdpr", include_str!("../../migrations/0015_segments_gdpr.sql")),
    (16, "report_indexes", include_str!("../../migrations/0016_report_indexes.sql")),
    (17, "stage_stays", include_str!("../../migrations/0017_stage_stays.sql")),
    (18, "beneficiary_born", include_str!("../../migrations/0018_beneficiary_born.sql")),
    (19, "audit_redaction", include_str!("../../migrations/0019_audit_redaction.sql")),
    (20, "donor_reviews", include_str!("../../migrations/0020_donor_reviews.sql")),
    (21, "report_speed", include_str!("../../migrations/0021_report_speed.sql")),
    (22, "check_lists", include_str!("../../migrations/0022_check_lists.sql")),
    (23, "reason_redaction", include_str!("../../migrations/0023_reason_redaction.sql")),
    (24, "accepted_problems", include_str!("../../migrations/0024_accepted_problems.sql")),
    (25, "settlements", include_str!("../../migrations/0025_settlements.sql")),
    (26, "payment_order_numbers", include_str!("../../migrations/0026_payment_order_numbers.sql")),
    (27, "donor_merge_contacts", include_str!("../../migrations/0027_donor_merge_contacts.sql")),
    (28, "batch_payment_orders", include_str!("../../migrations/0028_batch_payment_orders.sql")),
    (29, "invoice_history", include_str!("../../migrations/0029_invoice_history.sql")),
];

/// SQLite migrations that edit `sqlite_schema` themselves: the schema version moves on after them.
const SCHEMA_EDITS: &[i64] = &[22];

/// PostgreSQL's migrations (see `migrations/postgres/`): a PostgreSQL
/// database starts at SQLite's latest state, and moves on with it.
const PG_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "schema", include_str!("../../migrations/postgres/0001_schema.sql")),
    (2, "live", include_str!("../../migrations/postgres/0002_live.sql")),
    (3, "has_any", include_str!("../../migrations/postgres/0003_has_any.sql")),
    (4, "statement_triggers", include_str!("../../migrations/postgres/0004_statement_triggers.sql")),
    (5, "reason_redaction", include_str!("../../migrations/postgres/0005_reason_redaction.sql")),
    (6, "accepted_problems", include_str!("../../migrations/postgres/0006_accepted_problems.sql")),
    (7, "settlements", include_str!("../../migrations/postgres/0007_settlements.sql")),
    (8, "payment_order_numbers", include_str!("../../migrations/postgres/0008_payment_order_numbers.sql")),
    (9, "donor_merge_contacts", include_str!("../../migrations/postgres/0009_donor_merge_contacts.sql")),
    (10, "batch_payment_orders", include_str!("../../migrations/postgres/0010_batch_payment_orders.sql")),
    (11, "invoice_history", include_str!("../../migrations/postgres/0011_invoice_history.sql")),
];

/// Bytes of the database file read through a memory map (see [`Store::open`]).
pub(crate) const MMAP_SIZE: &str = "2147418112";

/// An open database plus the person acting on it.
#[derive(Clone)]
pub struct Store {
    pool: db::Pool,
    path: PathBuf,
    /// Where attached papers are kept (see [`Store::documents_dir`]).
    documents: PathBuf,
    actor: String,
    /// The person's standing as last read, and when (see `roles`).
    standing: std::sync::Arc<std::sync::Mutex<Option<(std::time::Instant, roles::Standing)>>>,
}

pub(crate) use db::{Tx, q};

impl Store {
    /// Opens (creating if needed) the database at `path` and applies any
    /// migrations it has not seen yet.
    pub async fn open(path: &Path, actor: &str) -> Result<Store> {
        if let Some(url) = path.to_str().filter(|p| is_postgres_url(p)) {
            return Store::open_postgres(url, actor).await;
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::File { path: dir.to_path_buf(), source: e })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            // Reads through a memory map skip a system call per page: board
            // totals over 100 000 cases stay in the tens of milliseconds, and a
            // year's report over a million donations reads no page twice. (Address
            // space only: the pages are the OS's shared file cache.)
            .pragma("mmap_size", MMAP_SIZE)
            // Statement journals and sorts in memory: a transaction's temporary files
            // otherwise go through the file system page by page.
            .pragma("temp_store", "memory")
            // What is deleted or overwritten is zeroed in the file, not merely marked free: a
            // name the personal-data rules remove leaves no copy behind in the database's
            // free space (see `gdpr`).
            .pragma("secure_delete", "on");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| Box::pin(sql_fn::register(conn)))
            .connect_with(options)
            .await
            .map_err(|e| Error::invalid(format!("cannot open database {}: {e}", path.display())))?;
        let pool = db::Pool::Lite(pool);
        let store = Store {
            pool,
            path: path.to_path_buf(),
            documents: backup::documents_of(path),
            actor: actor.to_string(),
            standing: Default::default(),
        };
        store.migrate().await?;
        donors::fill_name_keys(&store).await?;
        Ok(store)
    }

    /// Opens the PostgreSQL database at `url` (`postgres://USER@HOST/NAME`) and
    /// brings its schema up to date.
    async fn open_postgres(url: &str, actor: &str) -> Result<Store> {
        let cannot = |e: sqlx::Error| Error::invalid(format!("cannot open database {}: {e}", without_password(url)));
        // One connection first, so a wrong address or a server that is down says so at once
        // (the pool would keep retrying until its timeout).
        let first = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.map_err(cannot)?;
        sqlx::Connection::close(first).await?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            // PostgreSQL's JIT compiler, on by default, compiles a query its planner thinks
            // costly: the personal-data plan's query spent 3.1 s compiling for 2.9 s of work at
            // `--scale 500`, and every segment count 0.2 s. almoner's sessions turn it off, by a
            // `SET` rather than a startup option, which some connection poolers refuse; where the
            // server refuses even that, the session goes on as the server has it.
            .after_connect(|conn, _| {
                Box::pin(async move {
                    let _ = sqlx::query("SET jit = off").execute(conn).await;
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(cannot)?;
        let store = Store {
            pool: db::Pool::Pg(pool),
            // Shown in headers and messages: never the password.
            path: PathBuf::from(without_password(url)),
            documents: postgres_documents(url),
            actor: actor.to_string(),
            standing: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        matches!(self.pool, db::Pool::Pg(_))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The same store keeping its papers in `dir` instead (a PostgreSQL
    /// database's are wherever its staff's machines share them).
    pub fn with_documents(mut self, dir: PathBuf) -> Store {
        self.documents = dir;
        self
    }

    /// Where attached files live: beside a SQLite database; for PostgreSQL,
    /// `ALMONER_DOCUMENTS`, else a folder named after the server and database
    /// in almoner's data folder.
    pub fn documents_dir(&self) -> PathBuf {
        self.documents.clone()
    }

    /// The SQLite database's pool, for work on the file itself (PostgreSQL
    /// answers that this works on a SQLite file only).
    pub fn pool(&self) -> Result<&SqlitePool> {
        match &self.pool {
            db::Pool::Lite(p) => Ok(p),
            db::Pool::Pg(_) => Err(db::not_on_postgres()),
        }
    }

    /// A connection of the pool's, on either engine.
    pub(crate) async fn conn(&self) -> Result<db::Conn> {
        self.pool.acquire().await
    }

    /// A connection of the pool's, for the functions that take one (say, [`donors::find_or_add`]).
    pub async fn connection(&self) -> Result<impl Exec + use<>> {
        self.conn().await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let (create, list) = match &tx {
            Tx::Lite(_) => (
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                MIGRATIONS,
            ),
            Tx::Pg(_) => (
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
                PG_MIGRATIONS,
            ),
        };
        q(create).execute(&mut tx).await?;
        let done: Vec<i64> = q("SELECT version FROM schema_migrations").scalars(&mut tx).await?;
        for (version, name, sql) in list {
            if done.contains(version) {
                continue;
            }
            match tx.ex() {
                db::Ex::Lite(c) => {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&mut *c).await?;
                    if SCHEMA_EDITS.contains(version) {
                        // As SQLite's guide says after editing the schema's text: every connection
                        // (this one's cached statements too) then reads the definitions afresh.
                        let v: i64 = sqlx::query_scalar("PRAGMA schema_version").fetch_one(&mut *c).await?;
                        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PRAGMA schema_version = {}", v + 1)))
                            .execute(&mut *c)
                            .await?;
                    }
                }
                db::Ex::Pg(c) => sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(c).await.map(drop)?,
            }
            q("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(*version)
                .bind(*name)
                .bind(Utc::now())
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A write transaction that takes SQLite's write lock at once, so the
    /// figures read inside it cannot change before it commits.
    pub(crate) async fn begin_write(&self) -> Result<Tx> {
        self.pool.begin_write().await
    }

    pub async fn designated_policy(&self) -> Result<DesignatedPolicy> {
        let mut conn = self.conn().await?;
        policy(&mut conn).await
    }

    /// Sets a configuration value shared by everyone using this database.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.require(roles::Act::Admin).await?;
        match key {
            "designated_policy" => {
                DesignatedPolicy::from_str(value)?;
            }
            "foundation_name" if !value.trim().is_empty() => {}
            "foundation_inn" => digits(key, value, &[10, 12])?,
            "foundation_account" => digits(key, value, &[20])?,
            "foundation_kpp" => digits(key, value, &[9])?,
            "foundation_bic" => digits(key, value, &[9])?,
            "foundation_corr_account" => digits(key, value, &[20])?,
            "foundation_bank" if !value.trim().is_empty() => {}
            _ if gdpr::SETTINGS.contains(&key) => {
                if !value.trim().parse::<i64>().is_ok_and(|n| (1..=100).contains(&n)) {
                    return Err(Error::invalid(format!(
                        "setting {key}: {value:?} is not a whole number from 1 to 100"
                    )));
                }
            }
            _ if key.starts_with("deadline.") => {
                let stage = &key["deadline.".len()..];
                stage.parse::<crate::domain::Stage>().map_err(|e| Error::invalid(format!("setting {key}: {e}")))?;
                crate::domain::deadline::parse_days(value)
                    .map_err(|e| Error::invalid(format!("setting {key}: {e}")))?;
            }
            "unknown_users" if matches!(value.trim(), "read" | "none") => {}
            _ if key.starts_with("processor.") => {
                settlements::parse_processor(&key["processor.".len()..], value)?;
            }
            "intake_spool" | "publish_dir" => {
                if !Path::new(value.trim()).is_dir() {
                    return Err(Error::invalid(format!("setting {key}: {:?} is not a folder", value.trim())));
                }
            }
            _ if key.starts_with("documents.") => {
                let program = &key["documents.".len()..];
                program.parse::<crate::domain::Program>().map_err(|e| Error::invalid(format!("setting {key}: {e}")))?;
                crate::domain::stage::parse_checklist(value)
                    .map_err(|e| Error::invalid(format!("setting {key}: {e}")))?;
            }
            _ => {
                return Err(Error::invalid(format!(
                    "unknown setting {key:?} (or an empty value): known settings are designated_policy, foundation_name, foundation_inn, foundation_kpp, foundation_account, foundation_bank, foundation_bic, foundation_corr_account, documents.PROGRAM, deadline.STAGE, intake_spool, publish_dir, gdpr.contact_years, gdpr.erase_years, gdpr.recent_months, gdpr.medical_years, unknown_users (read or none), processor.NAME (inn=… or account=…)"
                )));
            }
        }
        let mut tx = self.begin_write().await?;
        let before: Option<String> =
            q("SELECT value FROM settings WHERE key = $1").bind(key).scalar_optional(&mut tx).await?;
        q("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value.trim())
            .execute(&mut tx)
            .await?;
        audit::record(
            &mut tx,
            &self.actor,
            "config.set",
            "setting",
            None,
            Some(serde_json::json!({ key: before })),
            Some(serde_json::json!({ key: value.trim() })),
        )
        .await?;
        tx.commit().await?;
        self.forget_standing();
        Ok(())
    }

    /// The foundation's name for reports and the website (`foundation_name`), or a plain default.
    pub async fn foundation_name(&self) -> Result<String> {
        let name: Option<String> = q("SELECT value FROM settings WHERE key = 'foundation_name'")
            .scalar_optional(&mut self.conn().await?)
            .await?;
        Ok(name.unwrap_or_else(|| "Благотворительный фонд".to_string()))
    }

    pub async fn settings(&self) -> Result<Vec<(String, String)>> {
        q("SELECT key, value FROM settings ORDER BY key").fetch_all(&mut self.conn().await?).await
    }

    /// A connection of its own that notices commits made by anyone else.
    pub async fn watcher(&self) -> Result<Watcher> {
        match &self.pool {
            db::Pool::Lite(pool) => {
                let mut conn = pool.acquire().await?.detach();
                let last = sqlx::query_scalar("PRAGMA data_version").fetch_one(&mut conn).await?;
                Ok(Watcher::Lite { conn, last })
            }
            db::Pool::Pg(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen("almoner_changed").await?;
                let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let flag = seen.clone();
                // The listener waits in a task of its own; `changed` only reads the flag. A lost
                // connection is made again on the next call (a server restarting: once a second);
                // whatever was notified meanwhile is lost, so the screen looks again either way.
                let task = tokio::spawn(async move {
                    loop {
                        let heard = listener.try_recv().await;
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                        if heard.is_err() {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                });
                Ok(Watcher::Pg { seen, task })
            }
        }
    }
}

/// Notices other connections' commits: on SQLite through `PRAGMA
/// data_version`, which changes on one connection exactly when another has
/// committed; on PostgreSQL through `LISTEN almoner_changed`, which every
/// change to almoner's tables notifies at commit (migration 0002 there).
pub enum Watcher {
    Lite { conn: SqliteConnection, last: i64 },
    Pg { seen: std::sync::Arc<std::sync::atomic::AtomicBool>, task: tokio::task::JoinHandle<()> },
}

impl Watcher {
    /// Whether anyone committed since the last call.
    pub async fn changed(&mut self) -> Result<bool> {
        match self {
            Watcher::Lite { conn, last } => {
                let now: i64 = sqlx::query_scalar("PRAGMA data_version").fetch_one(&mut *conn).await?;
                let changed = now != *last;
                *last = now;
                Ok(changed)
            }
            Watcher::Pg { seen, .. } => Ok(seen.swap(false, std::sync::atomic::Ordering::SeqCst)),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Watcher::Pg { task, .. } = self {
            task.abort();
        }
    }
}

/// Whether `--db` names a PostgreSQL database rather than a file.
pub(crate) fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// A database address fit to print: `postgres://anna:secret@host/db` → `postgres://anna@host/db`.
pub(crate) fn without_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) => format!("{scheme}://{}@{host}", user.split(':').next().unwrap_or(user)),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The papers folder of a PostgreSQL database (see [`Store::documents_dir`]).
pub(crate) fn postgres_documents(url: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("ALMONER_DOCUMENTS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    // Host, port and database, never the user or a password.
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or(rest);
    let name: String = rest.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' }).collect();
    data_dir().join(format!("postgres-{name}.documents"))
}

/// almoner's own data folder: `$XDG_DATA_HOME/almoner`, else `~/.local/share/almoner`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("almoner")
}

/// `value` is all digits, of one of the lengths `lens` (INN, account, BIC).
pub fn digits(what: &str, value: &str, lens: &[usize]) -> Result<()> {
    let v = value.trim();
    if v.chars().all(|c| c.is_ascii_digit()) && lens.contains(&v.len()) {
        Ok(())
    } else {
        let lens: Vec<String> = lens.iter().map(usize::to_string).collect();
        Err(Error::invalid(format!("{what} {v:?} must be {} digits", lens.join(" or "))))
    }
}

pub(crate) async fn policy(conn: &mut impl Exec) -> Result<DesignatedPolicy> {
    let v: Option<String> =
        q("SELECT value FROM settings WHERE key = 'designated_policy'").scalar_optional(conn).await?;
    Ok(v.as_deref().unwrap_or("hold").parse()?)
}

pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}
