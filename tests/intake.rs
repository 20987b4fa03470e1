//! Applications from the web form through the real binary: a child who
//! applied before joins their record, a near miss does not, malformed
//! submissions are moved aside with the reason and leave nothing behind.

use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

async fn count(db: &Path, sql: &str) -> i64 {
    let store = almoner::store::Store::open(db, "test").await.unwrap();
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(store.pool()).await.unwrap();
    store.close().await;
    n
}

#[tokio::test]
async fn a_spool_of_applications_is_taken_in_matched_and_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    let db = dir.path().join("intake.db");
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
    let bin = env!("CARGO_BIN_EXE_almoner");
    let out = std::process::Command::new(bin).arg("--db").arg(&db).args(["intake"]).arg(&spool).output().unwrap();
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
        let out = std::process::Command::new(bin).arg("--db").arg(&db).arg("review").args(args).output().unwrap();
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
    let no_city = std::process::Command::new(bin)
        .arg("--db")
        .arg(&db)
        .args(["review", "merge", "1", "--take", "city"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&no_city.stderr).contains("the new record has no city to take"));
    assert!(review(&["merge", "1", "--take", "birth_date"]).contains("[merged]"));
    let born = |db: std::path::PathBuf| async move {
        let store = almoner::store::Store::open(&db, "test").await.unwrap();
        let b: String = sqlx::query_scalar("SELECT birth_date FROM beneficiaries WHERE id = 1")
            .fetch_one(store.pool())
            .await
            .unwrap();
        store.close().await;
        b
    };
    assert_eq!(born(db.clone()).await, "2015-04-03");
    assert!(review(&["undo", "1"]).contains("[open]"));
    assert_eq!(born(db.clone()).await, "2015-04-02");
    assert!(review(&["keep", "1"]).contains("[kept]"));
    assert_eq!(count(&db, "SELECT beneficiary_id FROM cases WHERE id = 3").await, 2);
    let twice = std::process::Command::new(bin).arg("--db").arg(&db).args(["review", "merge", "1"]).output().unwrap();
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already decided"));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'review.%'").await, 5);
}

#[tokio::test]
async fn the_console_takes_in_what_arrives_in_its_spool() {
    use almoner::app::App;
    use almoner::app::i18n::Lang;
    use almoner::app::keymap::Keymap;
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    let store = almoner::store::Store::open(&dir.path().join("c.db"), "operator").await.unwrap();
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
    let cases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(cases, 1);
    assert!(spool.join("done/a.json").exists() && spool.join("rejected/b.json.reason.txt").exists());
    assert!(!app.poll_spool(false).await, "looked at again only after two seconds");
}
