//! Workflow: each role's queue on a small fixture, the deadlines that put a
//! case at the head of it, notices that wait for the person they concern,
//! and the website's feed following the pipeline.

mod common;

use almoner::domain::{Money, Program, Role, Stage};
use almoner::store::{Plan, Store, Target, roles_of};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap()
}

async fn set_since(store: &Store, case: i64, days_ago: i64) {
    sqlx::query("UPDATE cases SET stage_since = ? WHERE id = ?")
        .bind(now() - Duration::days(days_ago))
        .bind(case)
        .execute(store.pool())
        .await
        .unwrap();
}

async fn queue(store: &Store, role: Role) -> Vec<(String, Target, Option<i64>)> {
    store
        .work_queue("tester", &roles_of(Some(role)), now(), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.what.to_string(), i.target, i.overdue_days))
        .collect()
}

/// The fixture: two applications (one unassigned, one someone else's), a case
/// waiting for papers, a fundraiser near its target, one fully funded, money
/// not yet placed, and an import batch with an unmatched outgoing payment.
struct Fixture {
    t: TestDb,
    unassigned: i64,
    papers: i64,
    near: i64,
    funded: i64,
    open_money: i64,
    batch: i64,
}

async fn fixture() -> Fixture {
    let t = TestDb::new().await;
    let s = &t.store;
    let unassigned = new_case(s, Program::Treatment, Money::ZERO).await;
    let theirs = new_case(s, Program::Treatment, Money::ZERO).await;
    s.assign(theirs, Some("ivan"), None).await.unwrap();
    let papers = new_case(s, Program::Equipment, Money::ZERO).await;
    s.qualify(papers, "СМА", "коляска", true).await.unwrap();
    s.advance(papers, Stage::Documents, None).await.unwrap();
    let near = fundraising_case(&t, rub("1000")).await;
    let funded = fundraising_case(&t, rub("500")).await;
    let d = give(s, "1500").await;
    s.allocate(d, &Plan::Lines(vec![(near, rub("950")), (funded, rub("500"))]), None, None).await.unwrap();
    let open_money = give(s, "70").await;
    sqlx::query(
        "INSERT INTO import_batches (file_name, file_sha256, format, by_user, at, new, duplicate, invalid, outgoing, unmatched, incoming_total, outgoing_total)
         VALUES ('выписка.txt', 'x', '1c', 'anna', ?, 3, 0, 0, 1, 1, 0, 0)",
    )
    .bind(now() - Duration::days(2))
    .execute(s.pool())
    .await
    .unwrap();
    for (case, days) in [(unassigned, 3), (theirs, 3), (papers, 20), (near, 30), (funded, 9)] {
        set_since(s, case, days).await;
    }
    Fixture { t, unassigned, papers, near, funded, open_money, batch: 1 }
}

#[tokio::test]
async fn each_role_sees_exactly_its_own_next_steps_overdue_first() {
    let f = fixture().await;
    let s = &f.t.store;
    assert_eq!(
        queue(s, Role::Medical).await,
        vec![
            // 20 days in documents against 14 allowed: overdue, so first.
            ("documents".into(), Target::Case(f.papers), Some(6)),
            ("qualify".into(), Target::Case(f.unassigned), None),
        ],
        "ivan's application is not the tester's"
    );
    let fundraiser = queue(s, Role::Fundraiser).await;
    assert!(fundraiser.contains(&("place money".into(), Target::Donation(f.open_money), None)), "{fundraiser:?}");
    assert!(fundraiser.contains(&("near target".into(), Target::Case(f.near), None)), "{fundraiser:?}");
    assert!(fundraiser.contains(&("place money".into(), Target::Donation(1), None)), "50 left of the first gift");
    assert_eq!(fundraiser.len(), 3, "{fundraiser:?}");
    assert_eq!(
        queue(s, Role::Bookkeeper).await,
        vec![
            // Fully funded 9 days ago, 5 allowed for payment.
            ("pay".into(), Target::Case(f.funded), Some(4)),
            ("unmatched outgoing".into(), Target::Batch(f.batch), None),
        ]
    );
    assert!(queue(s, Role::Viewer).await.is_empty());
    assert_eq!(queue(s, Role::Admin).await.len(), 7, "an admin sees every role's work");
    // Dealt with: the batch leaves the queue, and only once.
    s.dismiss_batch(f.batch).await.unwrap();
    assert_eq!(queue(s, Role::Bookkeeper).await.len(), 1);
    assert!(s.dismiss_batch(f.batch).await.is_err());
    // The foundation's own deadlines: none for payment, 10 days for documents.
    s.set_setting("deadline.payment", "none").await.unwrap();
    s.set_setting("deadline.qualification", "2").await.unwrap();
    assert_eq!(queue(s, Role::Bookkeeper).await[0].2, None);
    assert_eq!(queue(s, Role::Medical).await[1], ("qualify".into(), Target::Case(f.unassigned), Some(1)));
    assert!(s.set_setting("deadline.payment", "soon").await.unwrap_err().to_string().contains("number of days"));
    assert!(s.set_setting("deadline.paying", "5").await.is_err());
}

#[tokio::test]
async fn roles_are_recorded_and_the_console_opens_on_my_work() {
    let f = fixture().await;
    let s = &f.t.store;
    s.set_user("tester", Role::Medical, true).await.unwrap();
    assert!(s.set_user("tester", Role::Admin, true).await.is_err(), "added twice");
    assert!(s.set_user("nobody", Role::Admin, false).await.is_err(), "a role for someone unknown");
    assert!(s.set_user("two words", Role::Admin, true).await.is_err());
    assert_eq!(s.role_of("tester").await.unwrap(), Some(Role::Medical));
    let (mut app, _jobs) = almoner::app::App::new(
        s.clone(),
        almoner::app::keymap::Keymap::preset("default"),
        &[],
        almoner::app::i18n::Lang::En,
    )
    .await;
    app.frozen_now = Some(now());
    app.refresh().await.unwrap();
    assert_eq!(app.screen, almoner::app::ScreenId::Work);
    assert_eq!(app.work.items.len(), 2);
    assert_eq!(app.work.items[0].target, Target::Case(f.papers));
    app.run_line("open").await.unwrap();
    assert_eq!(app.screen, almoner::app::ScreenId::Case);
    assert_eq!(app.case.as_ref().unwrap().file.case.id, f.papers);
    let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user.add'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(audit, 1);
}

async fn console_of(store: &Store) -> almoner::app::App {
    let (mut app, _jobs) = almoner::app::App::new(
        store.clone(),
        almoner::app::keymap::Keymap::preset("default"),
        &[],
        almoner::app::i18n::Lang::En,
    )
    .await;
    app.frozen_now = Some(now());
    app.refresh().await.unwrap();
    app
}

fn status(app: &almoner::app::App) -> String {
    app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
}

#[tokio::test]
async fn a_notice_for_someone_away_waits_for_their_next_start() {
    let t = TestDb::new().await;
    let s = &t.store;
    s.set_user("ivan", Role::Medical, true).await.unwrap();
    s.set_user("anna", Role::Bookkeeper, true).await.unwrap();
    let case = fundraising_case(&t, rub("500")).await;
    // While ivan is not connected: a case is handed to him, then fully funded.
    s.assign(case, Some("ivan"), Some("семья ждёт звонка")).await.unwrap();
    let d = give(s, "500").await;
    s.allocate(d, &Plan::Lines(vec![(case, rub("500"))]), None, None).await.unwrap();

    let ivan = Store::open(&t.path(), "ivan").await.unwrap();
    let mut app = console_of(&ivan).await;
    assert!(status(&app).contains("2 notice(s) came while you were away"), "{}", status(&app));
    assert_eq!(app.notices.unseen, 2);
    for k in almoner::app::keys::parse_keys("N").unwrap() {
        app.key(k).await;
    }
    assert_eq!(app.screen, almoner::app::ScreenId::Notices);
    let texts: Vec<&str> = app.notices.rows.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains(&format!("case {case}")) && texts[0].contains("fully funded"), "{texts:?}");
    assert!(texts[1].contains("tester handed you case") && texts[1].contains("семья ждёт звонка"), "{texts:?}");
    assert!(app.notices.rows.iter().all(|n| !n.seen), "marked new while on the list");
    app.run_line("open").await.unwrap();
    assert_eq!(app.screen, almoner::app::ScreenId::Case);
    // Seen now: the next start has nothing waiting.
    assert_eq!(ivan.unseen("ivan", Some(Role::Medical)).await.unwrap().0, 0);
    let again = console_of(&ivan).await;
    assert!(!status(&again).contains("while you were away"));

    // The bookkeeper hears of the funding (not of the hand-over); nobody of their own doing.
    let anna = open_as(&t, "anna").await;
    let heard: Vec<String> =
        anna.notices("anna", Some(Role::Bookkeeper), 10).await.unwrap().into_iter().map(|n| n.kind).collect();
    assert_eq!(heard, vec!["funded"]);
    assert!(s.notices("tester", None, 10).await.unwrap().is_empty());

    // A new application reaches the medical staff within the console's next look.
    let mut app = console_of(&ivan).await;
    let json = r#"{"program": "treatment", "child": {"full_name": "Орлова Вера"}, "clinic": "РДКБ"}"#;
    let application: almoner::store::Application = serde_json::from_str(json).unwrap();
    s.intake(&application, t.dir.path()).await.unwrap();
    app.check_notices(false).await;
    assert!(status(&app).contains("new application") && status(&app).contains("Орлова Вера"), "{}", status(&app));
    assert_eq!(app.notices.unseen, 1);
}

async fn open_as(t: &TestDb, who: &str) -> Store {
    Store::open(&t.path(), who).await.unwrap()
}
