//! Donor segments and the personal-data rules, on a hand-made set of donors:
//! every filter counts what it should, an export never holds a donor who
//! asked not to be contacted or never consented, and anonymization leaves
//! every total as it was and no personal field behind.

mod common;

use almoner::domain::{Channel, Designation, Program, Stage};
use almoner::store::{NewDonation, Plan, Segment, Store};
use common::*;

struct Donors {
    t: TestDb,
    /// Donor ids by letter: a (Анна) … z (Зоя).
    id: std::collections::HashMap<char, i64>,
    open_case: i64,
}

async fn gift(s: &Store, who: &str, email: Option<&str>, day: &str, amount: &str, channel: Channel) -> (i64, i64) {
    let d = NewDonation {
        received_on: date(day),
        channel,
        payer: who.into(),
        email: email.map(Into::into),
        purpose: format!("пожертвование от {who}"),
        ..donation(rub(amount), Designation::Unrestricted)
    };
    let (id, _) = s.new_donation(&d).await.unwrap();
    let donor: i64 =
        sqlx::query_scalar("SELECT donor_id FROM donations WHERE id = ?").bind(id).fetch_one(s.pool()).await.unwrap();
    (id, donor)
}

async fn donors() -> Donors {
    let t = TestDb::new().await;
    let s = &t.store;
    let mut id = std::collections::HashMap::new();
    let (_, a) = gift(s, "Анна", Some("a@x.org"), "2026-03-01", "1000", Channel::Website).await;
    gift(s, "Анна", Some("a@x.org"), "2026-04-01", "5000", Channel::Bank).await;
    id.insert('a', a);
    id.insert('b', gift(s, "Борис", Some("b@x.org"), "2026-05-01", "10000", Channel::Website).await.1);
    id.insert('v', gift(s, "Вера", None, "2026-02-01", "300", Channel::Cash).await.1);
    id.insert('g', gift(s, "Глеб", Some("g@x.org"), "2018-01-10", "700", Channel::Bank).await.1);
    id.insert('d', gift(s, "Дарья", Some("d@x.org"), "2022-05-01", "2000", Channel::Website).await.1);
    let (e_gift, e) = gift(s, "Егор", Some("e@x.org"), "2017-01-01", "900", Channel::Bank).await;
    id.insert('e', e);
    id.insert('j', gift(s, "Жанна", Some("j@x.org"), "2015-06-01", "400", Channel::Bank).await.1);
    id.insert('z', gift(s, "Зоя", Some("z@x.org"), "2026-06-01", "250", Channel::Bank).await.1);
    for who in ['a', 'b', 'd'] {
        s.set_contact(id[&who], Some(true), None).await.unwrap();
    }
    s.set_contact(id[&'b'], None, Some(true)).await.unwrap();
    sqlx::query("INSERT INTO donor_subscriptions (subscription, donor_id) VALUES ('sc_9', ?)")
        .bind(id[&'d'])
        .execute(s.pool())
        .await
        .unwrap();
    // Егор's old gift is on a fundraiser still open.
    let open_case = fundraising_case(&t, rub("1000")).await;
    s.allocate(e_gift, &Plan::Lines(vec![(open_case, rub("900"))]), None, None).await.unwrap();
    Donors { t, id, open_case }
}

async fn count(s: &Store, filters: &str) -> i64 {
    s.segment_size(&filters.parse::<Segment>().unwrap()).await.unwrap().donors
}

#[tokio::test]
async fn segments_count_what_they_should_and_exports_leave_out_who_they_must() {
    let f = donors().await;
    let s = &f.t.store;
    assert_eq!(count(s, "").await, 8);
    assert_eq!(count(s, "paid_from=2026-01-01").await, 4, "Анна, Борис, Вера, Зоя");
    assert_eq!(count(s, "min_total=5000").await, 2, "Анна 6000, Борис 10000");
    assert_eq!(count(s, "min_gifts=2").await, 1);
    assert_eq!(count(s, "channel=website").await, 3, "Анна, Борис, Дарья");
    assert_eq!(count(s, "min_amount=4000 paid_from=2026-01-01").await, 2);
    assert_eq!(count(s, "min_amount=4000 max_amount=6000").await, 1, "Анна's 5000");
    assert_eq!(count(s, "last_before=2020-01-01").await, 3, "Глеб, Егор, Жанна");
    assert_eq!(count(s, "last_after=2026-04-15").await, 2, "Борис, Зоя");
    assert_eq!(count(s, "recurring=yes").await, 1);
    assert_eq!(count(s, "has_email=no").await, 1);
    assert_eq!(count(s, "program=treatment").await, 1, "Егор's gift is on a treatment case");
    assert_eq!(count(s, "program=equipment").await, 0);
    // Every gift's purpose names its giver ("пожертвование от Анна"): one word finds one donor, any case.
    assert_eq!(count(s, "purpose=БОРИС").await, 1);
    assert_eq!(count(s, "purpose=пожертвование_от").await, 8, "_ stands for a space");

    let recent: Segment = "paid_from=2026-01-01".parse().unwrap();
    let size = s.segment_size(&recent).await.unwrap();
    assert_eq!((size.reachable, size.do_not_contact, size.no_consent, size.no_email), (1, 1, 2, 0));
    s.save_segment("этот год", &recent).await.unwrap();
    assert_eq!(s.segment("этот год").await.unwrap(), recent);
    let out = f.t.dir.path().join("unisender.csv");
    let done = s.export_segment(&recent, &["total".into(), "last_gift".into()], &out).await.unwrap();
    assert_eq!((done.written, done.do_not_contact, done.no_consent, done.no_email), (1, 1, 2, 0));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv, "email,Name,total,last_gift\na@x.org,Анна,6000.00,2026-04-01\n");
    // Every segment's export, whatever the filters: never a donor who asked to be left alone.
    for filters in ["", "channel=website", "min_total=1", "paid_from=2026-05-01"] {
        s.export_segment(&filters.parse().unwrap(), &[], &out).await.unwrap();
        let csv = std::fs::read_to_string(&out).unwrap();
        assert!(!csv.contains("b@x.org") && !csv.contains("g@x.org"), "{filters}: {csv}");
    }
    assert!(s.export_segment(&recent, &["address".into()], &out).await.is_err());
}

#[tokio::test]
async fn the_rules_plan_a_month_ahead_honour_exclusions_and_keep_every_total() {
    let f = donors().await;
    let s = &f.t.store;
    let id = |c: char| f.id[&c];
    s.gdpr_override("donor", id('j'), false, "крупный партнёр, договор").await.unwrap();
    s.gdpr_override("donor", id('z'), true, "письмо от 01.11.2026").await.unwrap();
    // A closed case whose medical papers are past their time.
    let closed = new_case(s, Program::Treatment, almoner::domain::Money::ZERO).await;
    s.qualify(closed, "нейробластома", "химиотерапия", true).await.unwrap();
    let report = f.t.file("выписка.pdf", "medical");
    s.attach(closed, almoner::domain::DocKind::MedicalReport, &report).await.unwrap();
    s.advance(closed, Stage::Rejected, Some("не подтверждено")).await.unwrap();
    sqlx::query("UPDATE cases SET stage_since = '2019-01-01T00:00:00+00:00' WHERE id = ?")
        .bind(closed)
        .execute(s.pool())
        .await
        .unwrap();

    let totals = |s: &Store| {
        let s = s.clone();
        async move {
            let q = |sql: &'static str| {
                let s = s.clone();
                async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(s.pool()).await.unwrap() }
            };
            let r = s.stage_report(date("2015-01-01"), date("2026-12-31"), None).await.unwrap();
            (
                q("SELECT SUM(amount) FROM donations").await,
                q("SELECT SUM(amount) FROM allocations").await,
                q("SELECT SUM(collected) FROM cases").await,
                q("SELECT COUNT(*) FROM donations").await,
                r.raised,
                r.placed,
            )
        }
    };
    let before = totals(s).await;
    let day0 = date("2026-12-01");
    let plan = s.gdpr_plan(day0).await.unwrap();
    let planned: Vec<(String, i64, String)> =
        plan.iter().map(|p| (p.entity.clone(), p.entity_id, p.action.clone())).collect();
    assert_eq!(planned.len(), 4, "{plan:#?}");
    assert!(planned.contains(&("donor".into(), id('g'), "anonymize".into())), "no gift for more than 7 years");
    assert!(planned.contains(&("donor".into(), id('d'), "do_not_contact".into())), "more than 3 years");
    assert!(planned.contains(&("donor".into(), id('z'), "anonymize".into())), "asked");
    assert!(planned.contains(&("case".into(), closed, "remove_medical".into())));
    assert!(plan.iter().all(|p| p.due_on == date("2026-12-31")), "a month ahead");
    // Held back: Егор's money is on an open case, Жанна by a person's decision, the recent givers.
    for held in ['e', 'j', 'a', 'b', 'v'] {
        assert!(!planned.iter().any(|p| p.1 == id(held) && p.0 == "donor"), "{held}");
    }
    // Planning again adds nothing; running before the date does nothing.
    assert_eq!(s.gdpr_plan(day0).await.unwrap(), plan);
    let early = s.gdpr_run(day0).await.unwrap();
    assert!(early.done.is_empty() && early.waiting == 4);
    // Дарья gives again meanwhile: she is no longer due.
    gift(s, "Дарья", Some("d@x.org"), "2026-12-10", "100", Channel::Website).await;
    let before = (before.0 + 100_00, before.1, before.2, before.3 + 1, before.4 + rub("100"), before.5);
    let run = s.gdpr_run(date("2026-12-31")).await.unwrap();
    assert_eq!((run.done.len(), run.dropped, run.waiting), (3, 1, 0));
    assert_eq!(totals(s).await, before, "every total is as it was");
    assert_invariants(s).await;

    for who in ['g', 'z'] {
        let row: (String, Option<String>, Option<String>, Option<String>, Option<String>, i64) =
            sqlx::query_as("SELECT name, inn, email, phone, name_key, do_not_contact FROM donors WHERE id = ?")
                .bind(id(who))
                .fetch_one(s.pool())
                .await
                .unwrap();
        assert_eq!(row, (format!("anonymized donor {}", id(who)), None, None, None, None, 1));
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM donations WHERE donor_id = ? AND (payer <> 'anonymized' OR purpose <> '')",
        )
        .bind(id(who))
        .fetch_one(s.pool())
        .await
        .unwrap();
        assert_eq!(left, 0, "no name or purpose left on their donations");
    }
    for name in ["Глеб", "Зоя", "g@x.org", "z@x.org"] {
        let found: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM donors WHERE name LIKE '%' || ?1 || '%' OR email = ?1)
                  + (SELECT COUNT(*) FROM donations WHERE payer LIKE '%' || ?1 || '%' OR purpose LIKE '%' || ?1 || '%')
                  + (SELECT COUNT(*) FROM audit_log WHERE action LIKE 'gdpr.%' AND (after LIKE '%' || ?1 || '%'))",
        )
        .bind(name)
        .fetch_one(s.pool())
        .await
        .unwrap();
        assert_eq!(found, 0, "{name} is gone");
    }
    let (diagnosis, treatment): (String, String) = sqlx::query_as(
        "SELECT c.diagnosis || q.diagnosis, q.treatment FROM cases c JOIN qualifications q ON q.case_id = c.id WHERE c.id = ?",
    )
    .bind(closed)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!((diagnosis.as_str(), treatment.as_str()), ("", ""));
    let files = std::fs::read_dir(s.documents_dir()).map(|d| d.count()).unwrap_or(0);
    let sha: String = sqlx::query_scalar("SELECT sha256 FROM documents WHERE case_id = ? AND kind = 'medical_report'")
        .bind(closed)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(sha, "", "the paper is gone ({files} folders of papers remain for other cases)");
    // The open case's money trail is untouched; the dropped and done steps are in the log.
    assert_eq!(s.case(f.open_case).await.unwrap().collected, rub("900"));
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action IN ('gdpr.anonymize', 'gdpr.remove_medical', 'gdpr.dropped', 'gdpr.planned')")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(logged, 4 + 2 + 1 + 1);
}
