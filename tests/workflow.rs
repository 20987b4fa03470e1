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
    let since = (now() - Duration::days(days_ago)).to_rfc3339();
    raw(store, &format!("UPDATE cases SET stage_since = '{since}' WHERE id = {case}")).await;
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

async fn fixture(t: TestDb) -> Fixture {
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
    let at = (now() - Duration::days(2)).to_rfc3339();
    raw(
        s,
        &format!(
            "INSERT INTO import_batches (file_name, file_sha256, format, by_user, at, new, duplicate, invalid, outgoing, unmatched, incoming_total, outgoing_total)
             VALUES ('выписка.txt', 'x', '1c', 'anna', '{at}', 3, 0, 0, 1, 1, 0, 0)"
        ),
    )
    .await;
    for (case, days) in [(unassigned, 3), (theirs, 3), (papers, 20), (near, 30), (funded, 9)] {
        set_since(s, case, days).await;
    }
    Fixture { t, unassigned, papers, near, funded, open_money, batch: 1 }
}

on_both_engines! {
    async fn each_role_sees_exactly_its_own_next_steps_overdue_first(t: TestDb) {
        let f = fixture(t).await;
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
}

on_both_engines! {
    async fn roles_are_recorded_and_the_console_opens_on_my_work(t: TestDb) {
        let f = fixture(t).await;
        let s = &f.t.store;
        s.set_user("tester", Role::Medical, true).await.unwrap();
        assert!(s.set_user("tester", Role::Admin, true).await.is_err(), "added twice");
        assert!(s.set_user("nobody", Role::Admin, false).await.is_err(), "a role for someone unknown");
        assert!(s.set_user("two words", Role::Admin, true).await.is_err());
        assert_eq!(s.role_of("tester").await.unwrap(), Some(Role::Medical));
        let mut app = console_of(s).await;
        assert_eq!(app.screen, almoner::app::ScreenId::Work);
        assert_eq!(app.work.items.len(), 2);
        assert_eq!(app.work.items[0].target, Target::Case(f.papers));
        app.run_line("open").await.unwrap();
        assert_eq!(app.screen, almoner::app::ScreenId::Case);
        assert_eq!(app.case.as_ref().unwrap().file.case.id, f.papers);
        let audit: i64 = one(s, "SELECT COUNT(*) FROM audit_log WHERE action = 'user.add'").await;
        assert_eq!(audit, 1);
    }
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

on_both_engines! {
    async fn a_notice_for_someone_away_waits_for_their_next_start(t: TestDb) {
        let s = &t.store;
        s.set_user("tester", Role::Admin, true).await.unwrap();
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
}

async fn open_as(t: &TestDb, who: &str) -> Store {
    Store::open(&t.path(), who).await.unwrap()
}

fn feed(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("feed.json")).unwrap()).unwrap()
}

fn ids(feed: &serde_json::Value) -> Vec<i64> {
    feed["cases"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

/// Every case in the feed shows the amounts the database holds, to the kopeck.
async fn amounts_match(store: &Store, feed: &serde_json::Value) {
    for c in feed["cases"].as_array().unwrap() {
        let db = store.case(c["id"].as_i64().unwrap()).await.unwrap();
        let want = (db.target.plain(), db.collected.plain(), db.still_needed.plain());
        assert_eq!(
            (&c["target"], &c["collected"], &c["still_needed"]),
            (&want.0.into(), &want.1.into(), &want.2.into()),
            "{c}"
        );
    }
}

on_both_engines! {
    async fn the_feed_follows_the_pipeline_and_the_consent(t: TestDb) {
        use almoner::domain::DocKind;
        use almoner::store::BeneficiaryRef;
        let s = &t.store;
        let site = t.dir.path().join("site");
        let day = now().date_naive();
        let open = fundraising_case(&t, rub("1000")).await;
        raw(s, &format!("UPDATE beneficiaries SET birth_date = '2016-09-01', city = 'Тверь' WHERE id = (SELECT beneficiary_id FROM cases WHERE id = {open})")).await;
        // The family did not agree to publication: never on the website.
        let private = new_case(s, Program::Treatment, Money::ZERO).await;
        s.set_consent(private, None, None, true).await.unwrap();
        open_fundraising(&t, private, rub("800")).await;
        // A name with markup in it.
        let child = BeneficiaryRef::New {
            full_name: "Смирнова <script>alert(1)</script>\u{1b}[31m Ольга".into(),
            birth_date: None,
            city: None,
        };
        let marked = new_case_for(s, child, Program::Equipment, Money::ZERO).await;
        open_fundraising(&t, marked, rub("300")).await;
        let d = give(s, "1300").await;
        let lines = vec![(open, rub("250")), (private, rub("100")), (marked, rub("120.50"))];
        s.allocate(d, &Plan::Lines(lines), None, None).await.unwrap();

        let first = almoner::publish::publish(s, &site, day).await.unwrap();
        let f = feed(&site);
        assert_eq!(ids(&f), vec![open, marked], "the private case is never written");
        assert_eq!(first.cases, 2);
        amounts_match(s, &f).await;
        assert_eq!((&f["cases"][1]["collected"], &f["cases"][1]["still_needed"]), (&"120.50".into(), &"179.50".into()));
        let c = &f["cases"][0];
        assert_eq!(
            (c["first_name"].as_str(), c["age"].as_i64(), c["city"].as_str()),
            (Some("Анна"), Some(9), Some("Тверь"))
        );
        assert!(c.get("photo").is_none() && c.get("diagnosis").is_none(), "not allowed by default: {c}");
        let page = std::fs::read_to_string(site.join(format!("cases/{marked}.html"))).unwrap();
        assert!(!page.contains("<script>") && page.contains("&lt;script&gt;") && !page.contains('\u{1b}'), "{page}");
        for dir in ["cases", "photos"] {
            for entry in std::fs::read_dir(site.join(dir)).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                assert_ne!(name, format!("{private}.html"));
            }
        }

        // Running it again rewrites nothing.
        let again = almoner::publish::publish(s, &site, day).await.unwrap();
        assert!(again.written.is_empty() && again.removed.is_empty(), "{again:?}");

        // The consent allows a photo and the diagnosis in lay words, not the city or age.
        let fields = almoner::store::parse_fields("first_name,photo,diagnosis").unwrap();
        s.set_consent(open, Some(&fields), Some("опухоль головного мозга"), false).await.unwrap();
        let photo = t.file("anna.JPG", "jpeg bytes");
        s.attach(open, DocKind::Photo, &photo).await.unwrap();
        let changed = almoner::publish::publish(s, &site, day).await.unwrap();
        let c = &feed(&site)["cases"][0];
        assert_eq!(c["diagnosis"], "опухоль головного мозга");
        assert!(c.get("city").is_none() && c.get("age").is_none(), "{c}");
        let photo_path = c["photo"].as_str().unwrap().to_string();
        assert!(photo_path.ends_with(".jpg"), "{photo_path}");
        assert_eq!(std::fs::read(site.join(&photo_path)).unwrap(), b"jpeg bytes");
        assert!(
            changed.written.contains(&format!("cases/{open}.html")) && changed.written.contains(&"feed.json".to_string())
        );
        assert!(!changed.written.contains(&format!("cases/{marked}.html")), "only what changed: {changed:?}");

        // Fully funded: it leaves the feed, with its page and photo.
        s.allocate(d, &Plan::Lines(vec![(open, rub("750"))]), None, None).await.unwrap();
        assert_eq!(s.case(open).await.unwrap().stage, Stage::Payment);
        let funded = almoner::publish::publish(s, &site, day).await.unwrap();
        assert_eq!(ids(&feed(&site)), vec![marked]);
        amounts_match(s, &feed(&site)).await;
        assert!(
            funded.removed.contains(&format!("cases/{open}.html")) && funded.removed.contains(&photo_path),
            "{funded:?}"
        );
        // Consent withdrawn: gone too.
        s.set_consent(marked, None, None, true).await.unwrap();
        almoner::publish::publish(s, &site, day).await.unwrap();
        assert!(ids(&feed(&site)).is_empty());
        assert!(!site.join(format!("cases/{marked}.html")).exists());
    }
}

on_both_engines! {
    async fn the_console_keeps_the_feed_by_itself_when_told_where(t: TestDb) {
        let case = fundraising_case(&t, rub("1000")).await;
        let site = t.dir.path().join("www");
        assert!(t.store.set_setting("publish_dir", site.to_str().unwrap()).await.is_err(), "the folder must exist");
        std::fs::create_dir(&site).unwrap();
        t.store.set_setting("publish_dir", site.to_str().unwrap()).await.unwrap();
        let mut app = console_of(&t.store).await;
        app.poll_publish().await;
        assert!(status(&app).contains("website feed updated: 1 open fundraiser(s)"), "{}", status(&app));
        assert_eq!(ids(&feed(&site)), vec![case]);
    }
}

on_both_engines! {
    async fn a_case_put_on_hold_leaves_the_feed_and_returns_when_resumed(t: TestDb) {
        let s = &t.store;
        let site = t.dir.path().join("site");
        let day = now().date_naive();
        let held = fundraising_case(&t, rub("1000")).await;
        let other = fundraising_case(&t, rub("600")).await;
        let d = give(s, "700").await;
        s.allocate(d, &Plan::Lines(vec![(held, rub("300")), (other, rub("400"))]), None, None).await.unwrap();
        almoner::publish::publish(s, &site, day).await.unwrap();
        assert_eq!(ids(&feed(&site)), vec![held, other]);

        s.advance(held, Stage::OnHold, Some("клиника перенесла лечение")).await.unwrap();
        let paused = almoner::publish::publish(s, &site, day).await.unwrap();
        assert_eq!(ids(&feed(&site)), vec![other], "a paused fundraiser is not shown as open");
        assert!(paused.removed.contains(&format!("cases/{held}.html")), "{paused:?}");
        assert!(!site.join(format!("cases/{held}.html")).exists());
        amounts_match(s, &feed(&site)).await;

        // Resumed, it is open again, with what it had collected.
        assert_eq!(s.advance(held, Stage::Fundraising, None).await.unwrap(), Stage::Fundraising);
        almoner::publish::publish(s, &site, day).await.unwrap();
        let f = feed(&site);
        assert_eq!(ids(&f).len(), 2);
        assert!(ids(&f).contains(&held));
        amounts_match(s, &f).await;
    }
}

/// A 1C statement of the foundation's account `40703810000000000001` with one
/// gift of `amount` from a person.
fn statement_with_a_gift(amount: &str) -> Vec<u8> {
    format!(
        "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\nРасчСчет=40703810000000000001\r\n\
         СекцияДокумент=Платежное поручение\r\nНомер=12\r\nДата=03.04.2026\r\nСумма={amount}\r\n\
         ПлательщикСчет=40817810000000000002\r\nПлательщик=Петров Пётр Ильич\r\n\
         ПолучательСчет=40703810000000000001\r\nДатаПоступило=03.04.2026\r\nПолучатель=Фонд\r\n\
         НазначениеПлатежа=Пожертвование на лечение детей\r\nКонецДокумента\r\nКонецФайла\r\n"
    )
    .into_bytes()
}

on_both_engines! {
    async fn an_import_by_someone_else_is_a_notice_for_the_bookkeepers(t: TestDb) {
        let s = &t.store;
        s.set_user("tester", Role::Admin, true).await.unwrap();
        s.set_user("anna", Role::Bookkeeper, true).await.unwrap();
        s.set_user("boris", Role::Bookkeeper, true).await.unwrap();
        s.set_user("ivan", Role::Medical, true).await.unwrap();
        let register = almoner::import::parse(&statement_with_a_gift("2500.00"), None).unwrap();
        let anna = open_as(&t, "anna").await;
        let done = anna.import(&register, "выписка-апрель.txt", "sha-april").await.unwrap();
        assert_eq!(done.new, 1);
        let batch = done.batch.unwrap();

        let boris = open_as(&t, "boris").await;
        let heard = boris.notices("boris", Some(Role::Bookkeeper), 10).await.unwrap();
        assert_eq!(heard.len(), 1, "{heard:?}");
        let n = &heard[0];
        assert_eq!((n.kind.as_str(), n.actor.as_str(), n.batch_id, n.seen), ("import", "anna", Some(batch), false));
        assert!(n.text.contains("anna imported выписка-апрель.txt: 1 new donation(s)"), "{}", n.text);
        assert_eq!(boris.unseen("boris", Some(Role::Bookkeeper)).await.unwrap().0, 1);
        // Nobody is told of their own doing, and the medical staff are not told of money.
        assert!(anna.notices("anna", Some(Role::Bookkeeper), 10).await.unwrap().is_empty());
        assert!(s.notices("ivan", Some(Role::Medical), 10).await.unwrap().is_empty());
        assert_eq!(s.notices("tester", Some(Role::Admin), 10).await.unwrap().len(), 1, "an admin hears every role");
    }
}
