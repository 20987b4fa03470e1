//! Applications from the web form through the real binary: a child who
//! applied before joins their record, a near miss does not, malformed
//! submissions are moved aside with the reason and leave nothing behind.

mod common;

use std::path::Path;

use common::*;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

async fn count(db: &Path, sql: &str) -> i64 {
    let store = almoner::store::Store::open(db, "test").await.unwrap();
    let n = one(&store, sql).await;
    store.close().await;
    n
}

on_both_engines! {
    async fn a_spool_of_applications_is_taken_in_matched_and_sorted(t: TestDb) {
        let dir = &t.dir;
        let spool = dir.path().join("spool");
        std::fs::create_dir(&spool).unwrap();
        let db = t.path();
        write(&spool, "scan.pdf", "%PDF medical report");
        write(
            &spool,
            "a1.json",
            r#"{"program": "treatment", "child": {"full_name": "Иванова Мария Петровна", "birth_date": "2015-04-02", "city": "Тверь"},
                "clinic": "НМИЦ ДГОИ", "diagnosis": "ОЛЛ", "target": "1 500 000",
                "details": {"treatment": "химиотерапия по протоколу"}, "contact": {"phone": "+7 900 000-00-00"},
                "attachments": [{"kind": "medical_report", "path": "scan.pdf"}]}"#,
        );
        // The same child, her name written another way: the case joins her record.
        write(
            &spool,
            "a2.json",
            r#"{"program": "rehabilitation", "child": {"full_name": "мария  ИВАНОВА петровна", "birth_date": "2015-04-02"},
                "clinic": "Реабилитационный центр", "details": {"course": "21 день"}}"#,
        );
        // A near miss (another birth date) is another child until a person says otherwise.
        write(
            &spool,
            "a3.json",
            r#"{"program": "equipment", "child": {"full_name": "Иванова Мария Петровна", "birth_date": "2015-04-03"}, "clinic": "Ортомир"}"#,
        );
        // Malformed: not JSON; an unknown program; a paper that is not there.
        write(&spool, "b1.json", "{\"program\": \"treatment\", ");
        write(&spool, "b2.json", r#"{"program": "toys", "child": {"full_name": "Петров Глеб"}, "clinic": "X"}"#);
        write(
            &spool,
            "b3.json",
            r#"{"program": "treatment", "child": {"full_name": "Петров Глеб"}, "clinic": "X", "attachments": [{"kind": "invoice", "path": "missing.pdf"}]}"#,
        );
        let out = t.almoner().args(["intake"]).arg(&spool).output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "rejections make the run fail: {stdout}");
        assert!(stderr.contains("3 of 6 application(s) rejected"), "{stderr}");
        assert!(stdout.contains("a2.json: case 2 in qualification (beneficiary 1 applied before"), "{stdout}");
        assert!(stdout.contains("a3.json: case 3 in qualification (new beneficiary 2"), "{stdout}");

        assert_eq!(count(&db, "SELECT COUNT(*) FROM beneficiaries").await, 2);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM cases WHERE stage = 'qualification' AND responsible IS NULL").await, 3);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM documents WHERE case_id = 1 AND kind = 'medical_report'").await, 1);
        assert_eq!(count(&db, "SELECT target FROM cases WHERE id = 1").await, 1_500_000_00);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM cases WHERE id = 1 AND notes LIKE '%treatment: химиотерапия%' AND notes LIKE '%contact phone%'").await, 1);
        for done in ["a1.json", "a2.json", "a3.json"] {
            assert!(spool.join("done").join(done).exists(), "{done} moved to done/");
        }
        for (bad, why) in [("b1.json", "cannot be read"), ("b2.json", "toys"), ("b3.json", "missing.pdf")] {
            assert!(spool.join("rejected").join(bad).exists(), "{bad} moved aside");
            let reason = std::fs::read_to_string(spool.join("rejected").join(format!("{bad}.reason.txt"))).unwrap();
            assert!(reason.contains(why), "{bad}: {reason}");
        }
        assert!(!spool.join("a1.json").exists() && !spool.join("b1.json").exists(), "the spool is emptied");

        // The near miss waits for a person: merged, undone, kept apart; every step audited.
        assert!(
            stdout.contains(
                "a3.json: case 3 in qualification (new beneficiary 2; 0 paper(s); looks like 1 earlier child(ren)"
            ),
            "{stdout}"
        );
        let review = |args: &[&str]| {
            let out = t.almoner().arg("review").args(args).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let list = review(&["list"]);
        assert!(
            list.contains("review 1: 2 (Иванова Мария Петровна, born 2015-04-03) may be 1")
                && list.contains("one digit off"),
            "{list}"
        );
        assert!(review(&["merge", "1"]).contains("[merged]"));
        assert_eq!(
            count(&db, "SELECT beneficiary_id FROM cases WHERE id = 3").await,
            1,
            "the case joined the earlier record"
        );
        assert!(review(&["list"]).contains("no likely matches"));
        assert!(review(&["undo", "1"]).contains("[open]"));
        assert_eq!(count(&db, "SELECT beneficiary_id FROM cases WHERE id = 3").await, 2, "and went back");
        // Merged field by field: the earlier record takes the new one's birth date; undo gives its own back.
        let no_city = t.almoner().args(["review", "merge", "1", "--take", "city"]).output().unwrap();
        assert!(String::from_utf8_lossy(&no_city.stderr).contains("the new record has no city to take"));
        assert!(review(&["merge", "1", "--take", "birth_date"]).contains("[merged]"));
        let born = |db: std::path::PathBuf| async move {
            let store = almoner::store::Store::open(&db, "test").await.unwrap();
            let b: String = one(&store, "SELECT CAST(birth_date AS TEXT) FROM beneficiaries WHERE id = 1").await;
            store.close().await;
            b
        };
        assert_eq!(born(db.clone()).await, "2015-04-03");
        assert!(review(&["undo", "1"]).contains("[open]"));
        assert_eq!(born(db.clone()).await, "2015-04-02");
        assert!(review(&["keep", "1"]).contains("[kept]"));
        assert_eq!(count(&db, "SELECT beneficiary_id FROM cases WHERE id = 3").await, 2);
        let twice = t.almoner().args(["review", "merge", "1"]).output().unwrap();
        assert!(String::from_utf8_lossy(&twice.stderr).contains("already decided"));
        assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'review.%'").await, 5);
    }
}

on_both_engines! {
    async fn the_console_takes_in_what_arrives_in_its_spool(t: TestDb) {
        use almoner::app::App;
        use almoner::app::i18n::Lang;
        use almoner::app::keymap::Keymap;
        let spool = t.dir.path().join("spool");
        std::fs::create_dir(&spool).unwrap();
        let store = t.store.clone();
        assert!(
            store.set_setting("intake_spool", "/no/such/folder").await.unwrap_err().to_string().contains("not a folder")
        );
        store.set_setting("intake_spool", &spool.display().to_string()).await.unwrap();
        let (mut app, _jobs) = App::new(store, Keymap::preset("default"), &[], Lang::En).await;
        assert!(!app.poll_spool(true).await, "nothing waits yet");
        write(
            &spool,
            "a.json",
            r#"{"program": "research", "child": {"full_name": "Сидоров Лев", "birth_date": "2018-01-01"}, "clinic": "НИИ"}"#,
        );
        write(&spool, "b.json", r#"{"program": "research"}"#);
        assert!(app.poll_spool(true).await);
        let status = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert!(status.contains("application b.json rejected"), "the last word is the rejection: {status}");
        let cases: i64 = one(&app.store, "SELECT COUNT(*) FROM cases").await;
        assert_eq!(cases, 1);
        assert!(spool.join("done/a.json").exists() && spool.join("rejected/b.json.reason.txt").exists());
        assert!(!app.poll_spool(false).await, "looked at again only after two seconds");
    }
}

/// Takes one application in through the store, as the spool does.
async fn apply(store: &almoner::store::Store, dir: &Path, json: &str) -> almoner::store::Intake {
    let app = almoner::store::Application::parse(json).unwrap();
    store.intake(&app, dir).await.unwrap()
}

fn maria(born: &str) -> String {
    format!(
        r#"{{"program": "treatment", "child": {{"full_name": "Иванова Мария Петровна", "birth_date": "{born}"}}, "clinic": "НМИЦ ДГОИ"}}"#
    )
}

async fn scalar(store: &almoner::store::Store, sql: &str) -> Option<i64> {
    one(store, sql).await
}

on_both_engines! {
    async fn a_record_merged_into_one_child_is_no_longer_offered_as_another(t: TestDb) {
        let dir = &t.dir;
        let store = t.store.clone();
        // Born the 2nd and the 13th: two digits apart, two children. The 3rd is a digit off from both.
        assert_eq!(apply(&store, dir.path(), &maria("2015-04-02")).await.to_review, 0);
        assert_eq!(apply(&store, dir.path(), &maria("2015-04-13")).await.to_review, 0);
        let third = apply(&store, dir.path(), &maria("2015-04-03")).await;
        assert_eq!((third.beneficiary, third.to_review), (3, 2));
        let open = |store: &almoner::store::Store| {
            let store = store.clone();
            async move {
                let list = store.reviews().await.unwrap();
                list.iter().map(|r| (r.id, r.beneficiary_id, r.candidate_id)).collect::<Vec<_>>()
            }
        };
        assert_eq!(open(&store).await, [(1, 3, 1), (2, 3, 2)]);

        store.decide_review(1, true, &[]).await.unwrap();
        assert_eq!(open(&store).await, [], "record 3 is child 1 now: whether it is child 2 no longer waits");
        for merge in [true, false] {
            let refused = store.decide_review(2, merge, &[]).await.unwrap_err().to_string();
            assert!(
                refused.contains("review 2 no longer applies: record 3 was merged into record 1 by review 1")
                    && refused.contains("undo review 1 first"),
                "{refused}"
            );
        }
        assert_eq!(scalar(&store, "SELECT merged_into FROM beneficiaries WHERE id = 3").await, Some(1));
        assert_eq!(scalar(&store, "SELECT beneficiary_id FROM cases WHERE id = 3").await, Some(1));
        assert_eq!(scalar(&store, "SELECT COUNT(*) FROM cases WHERE beneficiary_id = 2").await, Some(1), "only its own");
        assert_eq!(scalar(&store, "SELECT COUNT(*) FROM match_reviews WHERE status = 'open'").await, Some(1));

        // Undone, record 3 is its own again, and so is the question whether it is child 2.
        store.undo_review(1).await.unwrap();
        assert_eq!(open(&store).await, [(1, 3, 1), (2, 3, 2)]);
        store.decide_review(2, true, &[]).await.unwrap();
        assert_eq!(open(&store).await, []);
        assert!(store.decide_review(1, true, &[]).await.unwrap_err().to_string().contains("undo review 2 first"));
        assert_eq!(scalar(&store, "SELECT merged_into FROM beneficiaries WHERE id = 3").await, Some(2));
        assert_eq!(scalar(&store, "SELECT beneficiary_id FROM cases WHERE id = 3").await, Some(2));
        assert_eq!(scalar(&store, "SELECT COUNT(*) FROM cases WHERE beneficiary_id = 1").await, Some(1));
        store.close().await;
    }
}

on_both_engines! {
    async fn merges_undone_out_of_order_give_every_case_back_to_its_own_record(t: TestDb) {
        let dir = &t.dir;
        let store = t.store.clone();
        apply(&store, dir.path(), &maria("2015-04-02")).await;
        assert_eq!(apply(&store, dir.path(), &maria("2015-04-03")).await.to_review, 1, "2 like 1");
        let typo = r#"{"program": "equipment", "child": {"full_name": "Иванова Мариа Петровна", "birth_date": "2015-04-03"}, "clinic": "Ортомир"}"#;
        assert_eq!(apply(&store, dir.path(), typo).await.to_review, 2, "3 like 1 and like 2");
        let ids =
            |list: Vec<almoner::store::Review>| list.iter().map(|r| (r.beneficiary_id, r.candidate_id)).collect::<Vec<_>>();
        assert_eq!(ids(store.reviews().await.unwrap()), [(2, 1), (3, 1), (3, 2)]);
        // 3 into 2, then 2 (with 3's case) into 1; then the first merge is taken back before the second.
        store.decide_review(3, true, &[]).await.unwrap();
        store.decide_review(1, true, &[]).await.unwrap();
        assert_eq!(scalar(&store, "SELECT COUNT(*) FROM cases WHERE beneficiary_id = 1").await, Some(3));
        store.undo_review(3).await.unwrap();
        assert_eq!(scalar(&store, "SELECT beneficiary_id FROM cases WHERE id = 3").await, Some(3));
        assert_eq!(ids(store.reviews().await.unwrap()), [(3, 1)], "3 is live; 2 is still child 1");
        store.undo_review(1).await.unwrap();
        let owners: Vec<(i64, i64)> = rows(&store, "SELECT id, beneficiary_id FROM cases ORDER BY id").await;
        assert_eq!(owners, [(1, 1), (2, 2), (3, 3)], "the typo's case stays with its own record");
        assert_eq!(ids(store.reviews().await.unwrap()), [(2, 1), (3, 1), (3, 2)]);
        store.close().await;
    }
}

on_both_engines! {
    async fn a_returning_child_s_record_takes_a_new_city_but_keeps_name_and_birth_date(t: TestDb) {
        let dir = &t.dir;
        let store = t.store.clone();
        let first = apply(&store, dir.path(), &maria("2015-04-02")).await;
        assert!(first.updated.is_empty());
        let again = |name: &str, city: Option<&str>| {
            let city = city.map(|c| format!(r#", "city": "{c}""#)).unwrap_or_default();
            format!(
                r#"{{"program": "rehabilitation", "child": {{"full_name": "{name}", "birth_date": "2015-04-02"{city}}}, "clinic": "РЦ"}}"#
            )
        };
        let record = |store: almoner::store::Store| async move {
            let r: (String, String, Option<String>) =
                row(&store, "SELECT full_name, CAST(birth_date AS TEXT), city FROM beneficiaries WHERE id = 1").await;
            r
        };
        // A city the record lacked is filled; the name, written another way, stays as it was.
        let filled = apply(&store, dir.path(), &again("мария ИВАНОВА петровна", Some("Тверь"))).await;
        assert!(filled.returning && filled.beneficiary == 1 && filled.updated == ["city"], "{filled:?}");
        let kept = ("Иванова Мария Петровна".to_string(), "2015-04-02".to_string());
        assert_eq!(record(store.clone()).await, (kept.0.clone(), kept.1.clone(), Some("Тверь".into())));
        // The family moved: the new city replaces the old. The same city, or none, changes nothing.
        assert_eq!(apply(&store, dir.path(), &again("Иванова Мария Петровна", Some("Москва"))).await.updated, ["city"]);
        assert!(apply(&store, dir.path(), &again("Иванова Мария Петровна", Some(" москва "))).await.updated.is_empty());
        assert!(apply(&store, dir.path(), &again("Иванова Мария Петровна", None)).await.updated.is_empty());
        assert_eq!(record(store.clone()).await, (kept.0, kept.1, Some("Москва".into())));
        let audit = store.audit(10, Some(("beneficiary", 1))).await.unwrap();
        let changes: Vec<_> = audit
            .iter()
            .filter(|e| e.action == "beneficiary.update")
            .map(|e| (e.before.as_ref().unwrap()["city"].clone(), e.after.as_ref().unwrap()["city"].clone()))
            .collect();
        assert_eq!(
            changes,
            [
                (serde_json::json!("Тверь"), serde_json::json!("Москва")),
                (serde_json::Value::Null, serde_json::json!("Тверь"))
            ]
        );
        store.close().await;
    }
}
