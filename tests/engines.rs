//! The same store on both engines, side by side on a SQLite file and a real
//! PostgreSQL server: users, roles, settings and the audit log entry for
//! entry; the money check finding the same faults; the same payment orders
//! and stage report. What works on a SQLite file alone says so there and
//! writes nothing. (Most test files also run each of their store tests on
//! both engines: `on_both_engines!` in `tests/common`.)

mod common;

use almoner::domain::Role;
use almoner::store::Store;
use sqlx::Connection;

/// A SQLite store and a PostgreSQL store, both new, acting as `actor`.
struct Both {
    _dir: tempfile::TempDir,
    lite: std::path::PathBuf,
    pg: String,
}

impl Both {
    async fn new(name: &str) -> Both {
        let dir = tempfile::tempdir().unwrap();
        let lite = dir.path().join("a.db");
        let pg = common::pg::server().database(name).await;
        Both { _dir: dir, lite, pg }
    }

    async fn open(&self, actor: &str) -> [Store; 2] {
        [
            Store::open(&self.lite, actor).await.unwrap(),
            Store::open(std::path::Path::new(&self.pg), actor).await.unwrap(),
        ]
    }

    /// Runs raw SQL on each engine's database (to tamper with it as a test must).
    async fn raw(&self, sqlite: &str, postgres: &str) {
        let store = Store::open(&self.lite, "tester").await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite.to_string())).execute(store.pool().unwrap()).await.unwrap();
        store.close().await;
        let mut conn = sqlx::PgConnection::connect(&self.pg).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(postgres.to_string())).execute(&mut conn).await.unwrap();
    }
}

#[tokio::test]
async fn users_roles_settings_and_the_audit_log_are_the_same_on_both_engines() {
    let both = Both::new("engines_roles").await;
    let mut seen = Vec::new();
    for (root, anna) in both.open("root").await.into_iter().zip(both.open("anna").await) {
        let engine = if root.is_postgres() { "postgres" } else { "sqlite" };
        // Until someone is recorded, anyone may; the first admin is recorded by whoever holds the database.
        root.set_user("root", Role::Admin, true).await.unwrap();
        root.set_user("anna", Role::Fundraiser, true).await.unwrap();
        let e = root.set_user("anna", Role::Viewer, true).await.unwrap_err().to_string();
        assert!(e.contains("already a user"), "{engine}: {e}");
        root.set_user("anna", Role::Bookkeeper, false).await.unwrap();
        assert_eq!(root.role_of("anna").await.unwrap(), Some(Role::Bookkeeper), "{engine}");
        assert_eq!(root.role_of("nobody").await.unwrap(), None, "{engine}");
        // Anna may not add users: refused, named, logged; nothing else written.
        let e = anna.set_user("boris", Role::Viewer, true).await.unwrap_err().to_string();
        assert!(
            e.contains("not allowed for your role (anna, bookkeeper)") && e.contains("is for admin"),
            "{engine}: {e}"
        );
        assert_eq!(root.users().await.unwrap().len(), 2, "{engine}");
        // Settings: checked, audited, shared.
        root.set_setting("foundation_name", "Фонд «Дети»").await.unwrap();
        let e = root.set_setting("foundation_inn", "12ab").await.unwrap_err().to_string();
        assert!(e.contains("digits"), "{engine}: {e}");
        let e = anna.set_setting("foundation_name", "Другой").await.unwrap_err().to_string();
        assert!(e.contains("not allowed"), "{engine}: {e}");
        assert_eq!(anna.foundation_name().await.unwrap(), "Фонд «Дети»", "{engine}");
        // Unknown accounts read only, then nothing at all once the admin says so.
        let stranger = Store::open(root.path(), "mallory").await.unwrap();
        assert!(!stranger.may(almoner::store::Act::Medical).await.unwrap(), "{engine}");
        root.set_setting("unknown_users", "none").await.unwrap();
        let stranger = Store::open(root.path(), "mallory").await.unwrap();
        assert_eq!(stranger.standing().await.unwrap(), Err(almoner::store::Unknown::Nothing), "{engine}");
        assert_eq!(root.verify().await.unwrap(), Vec::<String>::new(), "{engine}");
        let log: Vec<(String, String, Option<serde_json::Value>)> =
            root.audit(50, None).await.unwrap().into_iter().rev().map(|e| (e.actor, e.action, e.after)).collect();
        seen.push((root.users().await.unwrap(), root.settings().await.unwrap(), log));
    }
    let (lite, pg) = (&seen[0], &seen[1]);
    assert_eq!(lite, pg, "the engines differ");
    let actions: Vec<&str> =
        lite.2.iter().map(|(who, what, _)| if who == "anna" { "anna:denied" } else { what.as_str() }).collect();
    assert_eq!(
        actions,
        ["user.add", "user.add", "user.role", "anna:denied", "config.set", "anna:denied", "config.set"],
        "{:?}",
        lite.2
    );
}

#[tokio::test]
async fn the_money_check_finds_the_same_faults_on_both_engines() {
    let both = Both::new("engines_verify").await;
    let setup = "INSERT INTO beneficiaries (id, full_name, created_at) VALUES (1, 'Иванова Мария', '2026-11-01T10:00:00Z');
         INSERT INTO cases (id, beneficiary_id, program, clinic, stage, target, collected, stage_since, created_at)
              VALUES (1, 1, 'rehabilitation', 'РДКБ', 'fundraising', 100000, 0, '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z');
         INSERT INTO donations (id, amount, designation_kind, received_on, channel, payer, created_at)
              VALUES (1, 5000, 'unrestricted', '2026-11-02', 'bank', 'Петров', '2026-11-02T10:00:00Z'),
                     (2, 7000, 'unrestricted', '2026-11-02', 'bank', 'Сидоров', '2026-11-02T10:00:00Z');
         INSERT INTO allocations (id, donation_id, case_id, amount, at, by_user)
              VALUES (1, 1, 1, 3000, '2026-11-03T10:00:00Z', 'anna');";
    let stores = both.open("root").await;
    for s in &stores {
        assert_eq!(s.verify().await.unwrap(), Vec::<String>::new());
    }
    // The placing recorded nowhere else: both sums are off, and donation 2 claims money it never placed.
    both.raw(setup, setup).await;
    let tamper = "UPDATE donations SET allocated = 1000, programs = 4 WHERE id = 2";
    both.raw(tamper, tamper).await;
    let mut found = Vec::new();
    for s in &stores {
        found.push(s.verify().await.unwrap());
    }
    assert_eq!(found[0], found[1], "the engines differ");
    let text = found[0].join("\n");
    for want in [
        "donation 1: amount 5000, recorded allocated 0, live allocations 3000",
        "donation 2: amount 7000, recorded allocated 1000, live allocations 0",
        "case 1 (fundraising): target 100000, recorded collected 0, live allocations 3000",
        "donation 2: programs recorded as 4, its designation and placings give 0",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let mut slices = Vec::new();
    for s in &stores {
        slices.push(s.verify_in_slices(|_, _| {}).await.unwrap());
    }
    assert_eq!(slices[0], found[0]);
    assert_eq!(slices[1], found[1]);
}

#[tokio::test]
async fn what_works_on_a_sqlite_file_alone_says_so_on_postgres_and_writes_nothing() {
    let both = Both::new("engines_not_yet").await;
    let [_, pg] = both.open("root").await;
    let before = pg.audit(100, None).await.unwrap().len();
    let e = almoner::store::Store::pool(&pg).unwrap_err().to_string();
    assert!(e.contains("works on a SQLite database file only") && e.contains("pg_dump"), "{e}");
    assert_eq!(pg.audit(100, None).await.unwrap().len(), before);
    // Backups of a PostgreSQL database are PostgreSQL's own tools' work: almoner says how.
    let to = both._dir.path().join("backup.db");
    let e = pg.backup(&to).await.unwrap_err().to_string();
    assert!(e.contains("pg_dump --format=custom") && e.contains("pg_restore"), "{e}");
    assert!(!to.exists());
    let e = Store::restore(&to, std::path::Path::new(&both.pg), true).await.unwrap_err().to_string();
    assert!(e.contains("pg_restore --dbname"), "{e}");
    // The command line works there as on a file, and a bad address names itself (never its password).
    let bin = env!("CARGO_BIN_EXE_almoner");
    let out = std::process::Command::new(bin).args(["--db", &both.pg, "segment", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new(bin)
        .args(["--db", "postgres://nobody@127.0.0.1:1/none", "verify"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open database postgres://nobody@127.0.0.1:1/none"), "{err}");
    let out = std::process::Command::new(bin).args(["--db", &both.pg, "verify"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn a_case_handed_over_funded_and_due_for_payment_alike_on_both_engines() {
    use almoner::domain::Stage;
    use almoner::store::Plan;
    let mut seen = Vec::new();
    for t in [common::TestDb::new().await, common::TestDb::postgres().await] {
        let s = &t.store;
        let engine = if s.is_postgres() { "postgres" } else { "sqlite" };
        let id = common::fundraising_case(&t, common::rub("1000")).await;
        s.set_invoice_bank(id, "7701234567", "40702810900000000001", "044525225").await.unwrap();
        // Handed over with a note: the person hears of it; released again.
        assert_eq!(s.assign(id, Some("anna"), Some("до пятницы")).await.unwrap(), None, "{engine}");
        let heard = s.notices("anna", Some(Role::Medical), 10).await.unwrap();
        assert!(
            heard.iter().any(|n| n.text == format!("tester handed you case {id}: до пятницы") && !n.seen),
            "{engine}: {heard:?}"
        );
        assert_eq!(s.assign(id, None, None).await.unwrap(), Some("anna".to_string()), "{engine}");
        assert_eq!(s.case(id).await.unwrap().responsible, None, "{engine}");
        // Fully funded: into payment, and its payment order is due.
        let e = s.payment_orders_due().await.unwrap_err().to_string();
        assert!(e.contains("foundation's own details are not set"), "{engine}: {e}");
        for (k, v) in [
            ("foundation_name", "Фонд"),
            ("foundation_inn", "7700000000"),
            ("foundation_account", "40703810000000000001"),
            ("foundation_kpp", "770001001"),
            ("foundation_bank", "ПАО Сбербанк"),
            ("foundation_bic", "044525225"),
            ("foundation_corr_account", "30101810400000000225"),
        ] {
            s.set_setting(k, v).await.unwrap();
        }
        let d = common::give(s, "1000").await;
        s.allocate(d, &Plan::Lines(vec![(id, common::rub("1000"))]), None, None).await.unwrap();
        assert_eq!(common::stage(s, id).await, Stage::Payment, "{engine}");
        let (payer, orders) = s.payment_orders_due().await.unwrap();
        let orders: Vec<(i64, String, String, String)> =
            orders.into_iter().map(|o| (o.number, o.amount.to_string(), o.payee_inn, o.purpose)).collect();
        seen.push((payer.inn, orders));
        common::assert_invariants(s).await;
    }
    assert_eq!(seen[0], seen[1], "the engines differ");
    assert_eq!(seen[0].1.len(), 1);
    assert!(seen[0].1[0].3.starts_with("Оплата по счету СЧ-1 от 01.03.2026 за лечение"), "{:?}", seen[0]);
}

#[tokio::test]
async fn the_stage_report_is_the_same_on_both_engines() {
    use almoner::domain::Program;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let mut reports = Vec::new();
    for t in [common::TestDb::new().await, common::TestDb::postgres().await] {
        t.store.seed_demo_at(1, day).await.unwrap();
        let mut mine = Vec::new();
        for (from, to) in [("2025-11-02", "2026-11-02"), ("2026-03-01", "2026-05-31"), ("2026-11-02", "2026-11-02")] {
            for program in [None, Some(Program::Treatment), Some(Program::Research)] {
                mine.push(t.store.stage_report(common::date(from), common::date(to), program).await.unwrap());
            }
        }
        // The donor segments of the same demo, the last-gift filters among them (PostgreSQL reads
        // those in one pass, SQLite in two).
        let mut segments = Vec::new();
        for filters in [
            "",
            "last_before=2026-06-01",
            "last_after=2026-10-01 min_amount=1000",
            "channel=website last_after=2026-09-01 min_gifts=2",
            "paid_to=2026-03-01 last_after=2026-10-01",
            "program=treatment last_before=2026-10-15",
        ] {
            let segment: almoner::store::Segment = filters.parse().unwrap();
            let size = t.store.segment_size(&segment).await.unwrap();
            let members = t.store.segment_members(&segment).await.unwrap();
            let members: Vec<_> = members.iter().map(|m| (m.id, m.gifts, m.total, m.last_gift.clone())).collect();
            segments.push((filters, size, members));
        }
        reports.push((mine, segments));
    }
    let (reports, segments): (Vec<_>, Vec<_>) = reports.into_iter().unzip();
    assert!(segments[0].iter().all(|(_, size, _)| size.donors > 0), "{:?}", segments[0]);
    for (lite, pg) in segments[0].iter().zip(&segments[1]) {
        assert_eq!(lite, pg, "the engines' segments differ");
    }
    let year = &reports[0][0];
    assert!(year.raised.is_positive() && year.placed.is_positive() && year.paid.is_positive(), "{year:?}");
    assert!(!year.entered.is_empty() && !year.time_in_stage.is_empty() && year.monthly.len() > 12, "{year:?}");
    for (lite, pg) in reports[0].iter().zip(&reports[1]) {
        assert_eq!(lite, pg, "the engines differ for {} – {} ({:?})", lite.from, lite.to, lite.program);
    }
}

/// Whether the watcher hears of a commit within 3 s.
async fn heard(w: &mut almoner::store::Watcher) -> bool {
    let asked = std::time::Instant::now();
    while !w.changed().await.unwrap() {
        if asked.elapsed() > std::time::Duration::from_secs(3) {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    true
}

/// A console's live refresh on PostgreSQL outlives its listening connection: dropped (a server
/// restarting, a proxy's timeout), it is made again, and the next commit is heard.
#[tokio::test]
async fn the_live_refresh_hears_commits_again_after_its_connection_drops() {
    let t = common::TestDb::postgres().await;
    let mut watcher = t.store.watcher().await.unwrap();
    common::give(&t.store, "10").await;
    assert!(heard(&mut watcher).await, "the first commit is heard");
    let cut = common::one::<i64>(
        &t.store,
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await;
    assert_eq!(cut, 1, "the listener's connection was found and cut");
    // Whatever was said while it was gone is lost: the screen is told to look again.
    assert!(heard(&mut watcher).await, "the lost connection is reported as a change");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    while watcher.changed().await.unwrap() {}
    let other = t.as_actor("colleague").await;
    common::give(&other, "20").await;
    assert!(heard(&mut watcher).await, "a commit after the drop is heard on the new connection");
}
