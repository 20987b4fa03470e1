//! Shared helpers: a real SQLite file per test, and shortcuts that walk a case
//! through the real gates.
#![allow(dead_code)]

use std::path::PathBuf;

use almoner::domain::{Channel, Currency, Designation, DocKind, DonorKind, Money, Program, Stage};
use almoner::store::{BeneficiaryRef, NewCase, NewDonation, Store};
use chrono::NaiveDate;
use sqlx::Row;

#[path = "../pg/mod.rs"]
pub mod pg;

/// Store tests that run twice, on a new SQLite file and on a new PostgreSQL
/// database: each `async fn name(t: TestDb) { … }` becomes the tests
/// `name::sqlite` and `name::postgres`, the same body on each engine.
#[macro_export]
macro_rules! on_both_engines {
    ($($(#[doc = $doc:expr])* async fn $name:ident($t:ident: TestDb) $body:block)*) => {$(
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($t: $crate::common::TestDb) $body

            #[tokio::test]
            async fn sqlite() {
                run($crate::common::TestDb::new().await).await
            }

            #[tokio::test]
            async fn postgres() {
                run($crate::common::TestDb::postgres().await).await
            }
        }
    )*};
}

pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("test.db"), "tester").await.expect("open store");
        TestDb { dir, store }
    }

    /// A new database of its own on the tests' PostgreSQL server, its papers in a temporary folder.
    pub async fn postgres() -> TestDb {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!("t{}_{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        let url = pg::server().database(&name).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(std::path::Path::new(&url), "tester").await.expect("open store");
        let store = store.with_documents(dir.path().join("papers"));
        TestDb { dir, store }
    }

    /// A new database on PostgreSQL, or else on SQLite.
    pub async fn on(postgres: bool) -> TestDb {
        if postgres { TestDb::postgres().await } else { TestDb::new().await }
    }

    /// The real binary on this database (on PostgreSQL, with this test's papers folder).
    pub fn almoner(&self) -> std::process::Command {
        almoner_on(&self.path(), &self.store.documents_dir())
    }

    /// The same database, as another person (their papers where this store keeps them).
    pub async fn as_actor(&self, actor: &str) -> Store {
        Store::open(&self.path(), actor).await.expect("open store").with_documents(self.store.documents_dir())
    }

    /// Another new database, on the same engine as this one.
    pub async fn another(&self) -> TestDb {
        TestDb::on(self.store.is_postgres()).await
    }

    /// The database: the SQLite file, or the PostgreSQL address.
    pub fn path(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write fixture file");
        p
    }
}

pub fn rub(s: &str) -> Money {
    Money::parse(s).expect("test amount")
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

pub async fn new_case(store: &Store, program: Program, target: Money) -> i64 {
    let child = BeneficiaryRef::New {
        full_name: "Иванова Анна Сергеевна".into(), birth_date: None, city: None
    };
    new_case_for(store, child, program, target).await
}

pub async fn new_case_for(store: &Store, beneficiary: BeneficiaryRef, program: Program, target: Money) -> i64 {
    store
        .new_case(&NewCase {
            beneficiary,
            program,
            clinic: "НМИЦ ДГОИ им. Дмитрия Рогачёва".into(),
            diagnosis: String::new(),
            target,
            responsible: None,
            published: true,
            currency: Currency::RUB,
        })
        .await
        .expect("new case")
}

/// Walks a case through qualification and documents into fundraising, by
/// the real gates, with an invoice for `target`.
pub async fn fundraising_case(t: &TestDb, target: Money) -> i64 {
    let id = new_case(&t.store, Program::Treatment, Money::ZERO).await;
    open_fundraising(t, id, target).await;
    id
}

pub async fn open_fundraising(t: &TestDb, id: i64, target: Money) {
    open_fundraising_with_invoice(t, id, target, "СЧ-1").await
}

/// The same, with the clinic invoice numbered `invoice`.
pub async fn open_fundraising_with_invoice(t: &TestDb, id: i64, target: Money, invoice: &str) {
    let s = &t.store;
    s.qualify(id, "нейробластома", "химиотерапия", true).await.expect("qualify");
    s.advance(id, Stage::Documents, None).await.expect("to documents");
    s.record_invoice(id, invoice, date("2026-03-01"), target, "НМИЦ ДГОИ").await.expect("invoice");
    for kind in [DocKind::Invoice, DocKind::MedicalReport, DocKind::PublicationConsent] {
        let f = t.file(&format!("{kind}-{id}.pdf"), &format!("{kind} of case {id}"));
        s.attach(id, kind, &f).await.expect("attach");
    }
    s.advance(id, Stage::Fundraising, None).await.expect("to fundraising");
}

pub fn donation(amount: Money, designation: Designation) -> NewDonation {
    NewDonation {
        amount,
        currency: Currency::RUB,
        received_on: date("2026-03-15"),
        channel: Channel::Website,
        payer: "Петров Пётр".into(),
        donor_kind: DonorKind::Person,
        inn: None,
        email: None,
        purpose: "на лечение".into(),
        designation,
        external_key: None,
    }
}

pub async fn give(store: &Store, amount: &str) -> i64 {
    store.new_donation(&donation(rub(amount), Designation::Unrestricted)).await.expect("donation").0
}

/// The real binary on database `db`, a PostgreSQL database's papers in `papers`
/// (a SQLite file keeps its own beside it).
pub fn almoner_on(db: &std::path::Path, papers: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_almoner"));
    cmd.arg("--db").arg(db).env("ALMONER_DOCUMENTS", papers);
    cmd
}

/// A value both drivers read.
pub trait Value:
    Send
    + Unpin
    + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
    + sqlx::Type<sqlx::Sqlite>
    + for<'r> sqlx::Decode<'r, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
{
}
impl<T> Value for T where
    T: Send
        + Unpin
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
{
}

/// A row both drivers read.
pub trait Both:
    Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
{
}
impl<T> Both for T where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
{
}

/// Every row of raw SQL, on whichever engine the store is (SQL both read:
/// `$1` placeholders, `CAST(SUM(…) AS BIGINT)`; no binds).
pub async fn rows<T: Both>(store: &Store, sql: &str) -> Vec<T> {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    if store.is_postgres() {
        let mut conn = sqlx::PgConnection::connect(&store.path().display().to_string()).await.expect("connect");
        let rows = sqlx::query_as(sql).fetch_all(&mut conn).await.expect("query");
        conn.close().await.expect("close");
        rows
    } else {
        sqlx::query_as(sql).fetch_all(store.pool().unwrap()).await.expect("query")
    }
}

/// The one row raw SQL answers, on either engine.
pub async fn row<T: Both>(store: &Store, sql: &str) -> T {
    rows(store, sql).await.into_iter().next().expect("one row")
}

/// The first column of every row of raw SQL, on either engine.
pub async fn column<T: Value>(store: &Store, sql: &str) -> Vec<T> {
    rows::<(T,)>(store, sql).await.into_iter().map(|(v,)| v).collect()
}

/// The one value raw SQL answers, on either engine.
pub async fn one<T: Value>(store: &Store, sql: &str) -> T {
    column(store, sql).await.into_iter().next().expect("one row")
}

/// Runs raw SQL (several statements, as a test tampering with the database must), on either
/// engine: the database's answer.
pub async fn try_raw(store: &Store, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    if store.is_postgres() {
        let mut conn = sqlx::PgConnection::connect(&store.path().display().to_string()).await.expect("connect");
        let done = sqlx::raw_sql(sql).execute(&mut conn).await.map(|_| ()).map_err(|e| e.to_string());
        conn.close().await.expect("close");
        done
    } else {
        sqlx::raw_sql(sql).execute(store.pool().unwrap()).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Runs raw SQL that must work, on either engine.
pub async fn raw(store: &Store, sql: &str) {
    if let Err(e) = try_raw(store, sql).await {
        panic!("{sql}: {e}");
    }
}

/// Every row of every table, in order: equal fingerprints mean nothing was written.
pub async fn fingerprint(store: &Store) -> String {
    if store.is_postgres() {
        return fingerprint_postgres(store).await;
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'case_search%' ORDER BY name",
    )
    .fetch_all(store.pool().unwrap())
    .await
    .expect("tables");
    let mut out = String::new();
    for t in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM \"{t}\" ORDER BY rowid")))
            .fetch_all(store.pool().unwrap())
            .await
            .expect("rows");
        out.push_str(&format!("{t}: {} rows\n", rows.len()));
        for r in rows {
            for i in 0..r.len() {
                let v: Option<String> = r
                    .try_get::<Option<String>, _>(i)
                    .or_else(|_| r.try_get::<Option<i64>, _>(i).map(|v| v.map(|v| v.to_string())))
                    .unwrap_or(None);
                out.push_str(&format!("{v:?}|"));
            }
            out.push('\n');
        }
    }
    out
}

async fn fingerprint_postgres(store: &Store) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&store.path().display().to_string()).await.expect("connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut out = String::new();
    for t in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT to_jsonb(t)::TEXT AS r FROM \"{t}\" t ORDER BY r")))
                .fetch_all(&mut conn)
                .await
                .expect("rows");
        out.push_str(&format!("{t}: {} rows\n", rows.len()));
        for r in rows {
            out.push_str(&r);
            out.push('\n');
        }
    }
    conn.close().await.expect("close");
    out
}

/// The fingerprint without one table's rows (say, the audit log a run adds to).
pub async fn fingerprint_except(store: &Store, table: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in fingerprint(store).await.lines() {
        if let Some((name, rest)) = line.split_once(": ")
            && rest.ends_with(" rows")
            && !name.contains('|')
        {
            skipping = name == table;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

pub async fn stage(store: &Store, case: i64) -> Stage {
    store.case(case).await.expect("case").stage
}

pub async fn assert_invariants(store: &Store) {
    let v = store.verify().await.expect("verify");
    assert!(v.is_empty(), "invariants broken: {v:#?}");
}

/// A 1C register whose one document has an unreadable amount (`3OO.50`, letters O for zeros)
/// and whose ВсегоПоступило (181 800,50) is more than its readable payments (181 500,00).
pub fn unreconciled_1c() -> Vec<u8> {
    let doc = |n: u32, sum: &str| {
        format!(
            "СекцияДокумент=Платежное поручение\r\nНомер={n}\r\nДата=02.03.2026\r\nСумма={sum}\r\n\
             ПлательщикСчет=40817810000000000{n:03}\r\nПлательщик=Иванов Иван\r\nДатаПоступило=02.03.2026\r\n\
             ПолучательСчет=40703810000000000001\r\nПолучатель=Фонд\r\nНазначениеПлатежа=Пожертвование\r\nКонецДокумента\r\n"
        )
    };
    format!(
        "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\nРасчСчет=40703810000000000001\r\n\
         СекцияРасчСчет\r\nДатаНачала=01.03.2026\r\nДатаКонца=31.03.2026\r\nРасчСчет=40703810000000000001\r\n\
         НачальныйОстаток=0.00\r\nВсегоПоступило=181800.50\r\nВсегоСписано=0.00\r\nКонечныйОстаток=181800.50\r\nКонецРасчСчет\r\n\
         {}{}КонецФайла\r\n",
        doc(1, "181500.00"),
        doc(2, "3OO.50")
    )
    .into_bytes()
}
