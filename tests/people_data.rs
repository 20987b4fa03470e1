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
    let donor: i64 = one(s, &format!("SELECT donor_id FROM donations WHERE id = {id}")).await;
    (id, donor)
}

/// SQL in each engine's words (SQLite's JSON functions, PostgreSQL's operators).
fn either(s: &Store, sqlite: &'static str, postgres: &'static str) -> &'static str {
    if s.is_postgres() { postgres } else { sqlite }
}

async fn donors(t: TestDb) -> Donors {
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
    raw(s, &format!("INSERT INTO donor_subscriptions (subscription, donor_id) VALUES ('sc_9', {})", id[&'d'])).await;
    // Егор's old gift is on a fundraiser still open.
    let open_case = fundraising_case(&t, rub("1000")).await;
    s.allocate(e_gift, &Plan::Lines(vec![(open_case, rub("900"))]), None, None).await.unwrap();
    Donors { t, id, open_case }
}

async fn count(s: &Store, filters: &str) -> i64 {
    s.segment_size(&filters.parse::<Segment>().unwrap()).await.unwrap().donors
}

/// The segment's donors by their letters, sorted ('?' for one not among the letters).
async fn who(f: &Donors, filters: &str) -> String {
    let members = f.t.store.segment_members(&filters.parse().unwrap()).await.unwrap();
    let letter = |id: i64| f.id.iter().find(|(_, d)| **d == id).map_or('?', |(c, _)| *c);
    let mut letters: Vec<char> = members.iter().map(|m| letter(m.id)).collect();
    letters.sort();
    letters.into_iter().collect()
}

on_both_engines! {
    async fn segments_count_what_they_should_and_exports_leave_out_who_they_must(t: TestDb) {
        let f = donors(t).await;
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
        // Worked out by hand from the gifts above (letters sorted: a b d e g j v z).
        assert_eq!(who(&f, "paid_to=2020-01-01").await, "egj", "Глеб 2018, Егор 2017, Жанна 2015");
        assert_eq!(who(&f, "paid_to=2026-03-01").await, "adegjv", "the day itself counts: Анна's gift of 1 March");
        assert_eq!(who(&f, "paid_from=2026-03-01 paid_to=2026-04-30 min_gifts=2").await, "a", "both of Анна's");
        assert_eq!(who(&f, "paid_from=2026-03-01 paid_to=2026-03-31 min_gifts=2").await, "", "one of hers in March");
        assert_eq!(who(&f, "paid_to=2026-03-31 min_total=1000").await, "ad", "Анна's 1000 by then, Дарья's 2000");
        assert_eq!(who(&f, "recurring=no").await, "abegjvz", "all but Дарья, who has a subscription");
        assert_eq!(who(&f, "recurring=yes").await, "d");
        assert_eq!(who(&f, "has_email=yes").await, "abdegjz", "all but Вера");
        assert_eq!(who(&f, "has_email=no").await, "v");
        assert_eq!(who(&f, "has_email=yes channel=cash").await, "", "Вера alone paid cash");
        assert_eq!(who(&f, "purpose=вера").await, "v", "a small-letter word finds the capitalised name");
        assert_eq!(who(&f, "purpose=анна").await, "aj", "Анна, and Жанна: a word is found inside another");
        assert_eq!(who(&f, "purpose=от_Глеб").await, "g");
        assert_eq!(who(&f, "purpose=Борис channel=bank").await, "", "Борис's one gift came by the website");
        assert_eq!(who(&f, "purpose=на_лечение").await, "");
        // The last gift is the last of all, whatever the other filters count: Анна's website gift is
        // of 1 March, her last (by bank) of 1 April.
        assert_eq!(who(&f, "channel=website last_after=2026-03-15").await, "ab", "Анна's last gift is by bank");
        assert_eq!(who(&f, "min_amount=4000 last_before=2026-04-15").await, "a", "Борис gave again in May");
        assert_eq!(count(s, "channel=website min_gifts=2 last_after=2026-03-15").await, 0, "one website gift each");
        // No gift that counts, no member, whatever the least number of gifts asked.
        assert_eq!(who(&f, "paid_from=2026-01-01 min_gifts=0").await, "abvz");
        assert_eq!(count(s, "paid_from=2026-01-01 min_gifts=0 last_after=2020-01-01").await, 4);

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

        // Ирина agreed to be written to but left no e-mail. Her gift is for a rehabilitation case still
        // being qualified: designated to it and held, placed on nothing, yet it is for that program.
        let rehab = new_case(s, Program::Rehabilitation, almoner::domain::Money::ZERO).await;
        let held = NewDonation {
            received_on: date("2026-07-01"),
            channel: Channel::Bank,
            payer: "Ирина".into(),
            purpose: "На реабилитацию".into(),
            ..donation(rub("800"), Designation::Case(rehab))
        };
        let (held, _) = s.new_donation(&held).await.unwrap();
        let (irina, placed): (i64, i64) = row(
            s,
            &format!("SELECT donor_id, (SELECT COUNT(*) FROM allocations WHERE donation_id = d.id) FROM donations d WHERE id = {held}"),
        )
        .await;
        assert_eq!(placed, 0, "held for its case, not placed");
        s.set_contact(irina, Some(true), None).await.unwrap();
        let members = |filters: &'static str| async move {
            let m = s.segment_members(&filters.parse().unwrap()).await.unwrap();
            m.iter().map(|m| m.id).collect::<Vec<_>>()
        };
        assert_eq!(members("program=rehabilitation").await, vec![irina], "reached through the designation");
        assert_eq!(members("program=treatment").await, vec![f.id[&'e']], "still Егор alone");
        assert_eq!(members("purpose=реабилитацию").await, vec![irina]);
        assert_eq!(members("purpose=НА_РЕАБИЛИТАЦИЮ").await, vec![irina], "capitals find the capitalised purpose");
        assert_eq!(members("purpose=реабилитацию min_amount=1000").await, Vec::<i64>::new(), "her gift was 800");
        assert_eq!(members("has_email=no").await, vec![irina, f.id[&'v']], "by total given: 800, 300");
        // This year's givers again: Анна is written; Борис, Вера, Зоя and now Ирина are left out, each for their reason.
        let size = s.segment_size(&recent).await.unwrap();
        assert_eq!((size.donors, size.reachable, size.do_not_contact, size.no_consent, size.no_email), (5, 1, 1, 2, 1));
        let done = s.export_segment(&recent, &["gifts".into()], &out).await.unwrap();
        assert_eq!((done.written, done.do_not_contact, done.no_consent, done.no_email), (1, 1, 2, 1));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "email,Name,gifts\na@x.org,Анна,2\n");
    }
}

on_both_engines! {
    async fn the_rules_plan_a_month_ahead_honour_exclusions_and_keep_every_total(t: TestDb) {
        let f = donors(t).await;
        let s = &f.t.store;
        let id = |c: char| f.id[&c];
        s.gdpr_override("donor", id('j'), false, "крупный партнёр, договор").await.unwrap();
        s.gdpr_override("donor", id('z'), true, "письмо от 01.11.2026").await.unwrap();
        // A closed case whose medical papers are past their time.
        let closed = new_case(s, Program::Treatment, almoner::domain::Money::ZERO).await;
        s.qualify(closed, "остеосаркома", "протонная терапия", true).await.unwrap();
        s.set_consent(closed, None, Some("опухоль кости"), false).await.unwrap();
        let report = f.t.file("выписка-остеосаркома.pdf", "medical");
        s.attach(closed, almoner::domain::DocKind::MedicalReport, &report).await.unwrap();
        s.advance(closed, Stage::Rejected, Some("не подтверждено")).await.unwrap();
        raw(s, &format!("UPDATE cases SET stage_since = '2019-01-01T00:00:00+00:00' WHERE id = {closed}")).await;

        let totals = |s: &Store| {
            let s = s.clone();
            async move {
                let q = |sql: &'static str| {
                    let s = s.clone();
                    async move { one::<i64>(&s, sql).await }
                };
                let r = s.stage_report(date("2015-01-01"), date("2026-12-31"), None).await.unwrap();
                (
                    q("SELECT CAST(SUM(amount) AS BIGINT) FROM donations").await,
                    q("SELECT CAST(SUM(amount) AS BIGINT) FROM allocations").await,
                    q("SELECT CAST(SUM(collected) AS BIGINT) FROM cases").await,
                    q("SELECT COUNT(*) FROM donations").await,
                    r.raised,
                    r.placed,
                )
            }
        };
        // Глеб's duplicate record, merged into his: it goes with him.
        let (_, dup) = gift(s, "Gleb Glebov", Some("gleb@x.org"), "2016-03-01", "150", Channel::Bank).await;
        s.merge_donors(dup, id('g')).await.unwrap();
        // An entry about Глеб holding what a donor's record holds (as a change of his details would).
        raw(
            s,
            &format!(
                "INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after) VALUES ('2026-11-01T10:00:00+00:00', 'tester', 'donor.edit', 'donor', {},
                '{{\"name\":\"Глеб\",\"email\":\"g@x.org\",\"inn\":\"770123456789\"}}',
                '{{\"name\":\"Глеб\",\"email\":\"g@x.org\",\"phone\":79161234567,\"inn\":\"770123456789\",\"consent\":true,\"accounts\":[\"40817810000000000077\"]}}')",
                id('g')
            ),
        )
        .await;
        // What people typed about Глеб: why his money was placed on a case and taken back (the
        // reversal sent the funded case back to fundraising, in the case's own history too), and
        // why he is not Борис. The reversed money is on no case: it holds nobody back.
        let funded = fundraising_case(&f.t, rub("300")).await;
        let gleb_gift: i64 = one(s, &format!("SELECT MIN(id) FROM donations WHERE donor_id = {}", id('g'))).await;
        s.allocate(gleb_gift, &Plan::Lines(vec![(funded, rub("300"))]), Some("по просьбе Глеба Петровича"), None)
            .await
            .unwrap();
        assert_eq!(s.case(funded).await.unwrap().stage, Stage::Payment);
        let placed: i64 = one(s, &format!("SELECT id FROM allocations WHERE donation_id = {gleb_gift}")).await;
        s.reverse(placed, "Глеб Петрович передумал").await.unwrap();
        s.keep_donors_apart(id('g'), id('b'), Some("Глеб не брат Бориса")).await.unwrap();
        // And about the closed case: what a hand-over said of it.
        s.assign(closed, Some("врач"), Some("анализы от 5 мая плохие")).await.unwrap();
        // A case that raised money, gave it back and was rejected: why Борис's gift was placed on it
        // and taken back is about the child's treatment, and goes with the medical data (Борис stays).
        let given_back = fundraising_case(&f.t, rub("500")).await;
        let boris_gift: i64 = one(s, &format!("SELECT MIN(id) FROM donations WHERE donor_id = {}", id('b'))).await;
        s.allocate(boris_gift, &Plan::Lines(vec![(given_back, rub("100"))]), Some("на курс химиотерапии"), None)
            .await
            .unwrap();
        let boris_placed: i64 = one(s, &format!("SELECT id FROM allocations WHERE case_id = {given_back}")).await;
        s.reverse(boris_placed, "химиотерапия отменена").await.unwrap();
        s.advance(given_back, Stage::Rejected, None).await.unwrap();
        raw(s, &format!("UPDATE cases SET stage_since = '2019-01-01T00:00:00+00:00' WHERE id = {given_back}")).await;
        // Where such words are kept outside the log.
        let in_tables = |s: &Store, text: &'static str| {
            let s = s.clone();
            async move {
                let sql = format!(
                    "SELECT (SELECT COUNT(*) FROM allocations WHERE reason LIKE '%{text}%')
                          + (SELECT COUNT(*) FROM reversals WHERE reason LIKE '%{text}%')
                          + (SELECT COUNT(*) FROM stage_changes WHERE reason LIKE '%{text}%')
                          + (SELECT COUNT(*) FROM gdpr_overrides WHERE reason LIKE '%{text}%')
                          + (SELECT COUNT(*) FROM donors_kept_apart WHERE reason LIKE '%{text}%')
                          + (SELECT COUNT(*) FROM notices WHERE text LIKE '%{text}%')"
                );
                one::<i64>(&s, &sql).await
            }
        };
        let typed = [
            "Глеба Петровича",
            "Глеб Петрович передумал",
            "Глеб не брат Бориса",
            "письмо от 01.11.2026",
            "не подтверждено",
            "анализы от 5 мая",
            "на курс химиотерапии",
            "химиотерапия отменена",
        ];
        for text in typed {
            assert!(in_tables(s, text).await > 0, "{text} is kept before the rules run");
        }
        // What must leave the log, and is in it now: what was typed, and the personal and medical data.
        let gone: Vec<&'static str> = typed.into_iter().chain([
            "Глеб",
            "Зоя",
            "Gleb Glebov",
            "g@x.org",
            "79161234567",
            "770123456789",
            "40817810000000000077",
            "остеосаркома",
            "протонная терапия",
            "опухоль кости",
            "выписка-остеосаркома",
        ]).collect();
        let in_log = |s: &Store, text: &'static str| {
            let s = s.clone();
            async move {
                let sql = format!(
                    "SELECT COUNT(*) FROM audit_log
                     WHERE (CAST(at AS TEXT) || actor || action || entity || COALESCE(CAST(entity_id AS TEXT), '')
                            || COALESCE(CAST(before AS TEXT), '') || COALESCE(CAST(after AS TEXT), '')) LIKE '%{text}%'"
                );
                one::<i64>(&s, &sql).await
            }
        };
        for &text in &gone {
            assert!(in_log(s, text).await > 0, "{text} is in the log before the rules run");
        }
        // The money's history as the log tells it: every new donation's amount and channel, every allocation.
        let money_history = |s: &Store| {
            let s = s.clone();
            async move {
                let sql = either(
                    &s,
                    "SELECT id, action, entity_id, json_extract(after, '$.amount') || ' ' || json_extract(after, '$.channel'),
                            json_extract(after, '$.lines')
                     FROM audit_log WHERE action IN ('donation.new', 'allocate', 'reverse') ORDER BY id",
                    "SELECT id, action, entity_id, (after->>'amount') || ' ' || (after->>'channel'), after->>'lines'
                     FROM audit_log WHERE action IN ('donation.new', 'allocate', 'reverse') ORDER BY id",
                );
                rows::<(i64, String, Option<i64>, Option<String>, Option<String>)>(&s, sql).await
            }
        };
        let history = money_history(s).await;
        let entries: i64 = one(s, "SELECT COUNT(*) FROM audit_log").await;
        let before = totals(s).await;
        let day0 = date("2026-12-01");
        let plan = s.gdpr_plan(day0).await.unwrap();
        let planned: Vec<(String, i64, String)> =
            plan.iter().map(|p| (p.entity.clone(), p.entity_id, p.action.clone())).collect();
        assert_eq!(planned.len(), 5, "{plan:#?}");
        assert!(planned.contains(&("donor".into(), id('g'), "anonymize".into())), "no gift for more than 7 years");
        assert!(planned.contains(&("donor".into(), id('d'), "do_not_contact".into())), "more than 3 years");
        assert!(planned.contains(&("donor".into(), id('z'), "anonymize".into())), "asked");
        assert!(planned.contains(&("case".into(), closed, "remove_medical".into())));
        assert!(planned.contains(&("case".into(), given_back, "remove_medical".into())));
        assert!(plan.iter().all(|p| p.due_on == date("2026-12-31")), "a month ahead");
        // Held back: Егор's money is on an open case, Жанна by a person's decision, the recent givers.
        for held in ['e', 'j', 'a', 'b', 'v'] {
            assert!(!planned.iter().any(|p| p.1 == id(held) && p.0 == "donor"), "{held}");
        }
        // Planning again adds nothing; running before the date does nothing.
        assert_eq!(s.gdpr_plan(day0).await.unwrap(), plan);
        let early = s.gdpr_run(day0).await.unwrap();
        assert!(early.done.is_empty() && early.waiting == 5);
        // Дарья gives again meanwhile: she is no longer due.
        gift(s, "Дарья", Some("d@x.org"), "2026-12-10", "100", Channel::Website).await;
        let before = (before.0 + 100_00, before.1, before.2, before.3 + 1, before.4 + rub("100"), before.5);
        let run = s.gdpr_run(date("2026-12-31")).await.unwrap();
        assert_eq!((run.done.len(), run.dropped, run.waiting), (4, 1, 0));
        assert_eq!(run.log_emptied, (!s.is_postgres()).then_some(true), "SQLite's log emptied; PostgreSQL has none of its own");
        assert_eq!(totals(s).await, before, "every total is as it was");
        assert_invariants(s).await;

        for who in [id('g'), id('z'), dup] {
            let row: (String, Option<String>, Option<String>, Option<String>, Option<String>, i64) =
                row(s, &format!("SELECT name, inn, email, phone, name_key, do_not_contact FROM donors WHERE id = {who}")).await;
            assert_eq!(row, (format!("anonymized donor {who}"), None, None, None, None, 1), "donor {who}");
            let left: i64 = one(
                s,
                &format!("SELECT COUNT(*) FROM donations WHERE donor_id = {who} AND (payer <> 'anonymized' OR purpose <> '')"),
            )
            .await;
            assert_eq!(left, 0, "no name or purpose left on their donations");
        }
        for name in ["Глеб", "Зоя", "g@x.org", "z@x.org", "Gleb Glebov", "gleb@x.org"] {
            let found: i64 = one(
                s,
                &format!(
                    "SELECT (SELECT COUNT(*) FROM donors WHERE name LIKE '%{name}%' OR email = '{name}')
                      + (SELECT COUNT(*) FROM donations WHERE payer LIKE '%{name}%' OR purpose LIKE '%{name}%')
                      + (SELECT COUNT(*) FROM audit_log WHERE action LIKE 'gdpr.%' AND (CAST(after AS TEXT) LIKE '%{name}%'))"
                ),
            )
            .await;
            assert_eq!(found, 0, "{name} is gone");
        }
        let (diagnosis, treatment): (String, String) = row(
            s,
            &format!("SELECT c.diagnosis || q.diagnosis, q.treatment FROM cases c JOIN qualifications q ON q.case_id = c.id WHERE c.id = {closed}"),
        )
        .await;
        assert_eq!((diagnosis.as_str(), treatment.as_str()), ("", ""));
        let files = std::fs::read_dir(s.documents_dir()).map(|d| d.count()).unwrap_or(0);
        let sha: String =
            one(s, &format!("SELECT sha256 FROM documents WHERE case_id = {closed} AND kind = 'medical_report'")).await;
        assert_eq!(sha, "", "the paper is gone ({files} folders of papers remain for other cases)");
        // The open case's money trail is untouched; the dropped and done steps are in the log.
        assert_eq!(s.case(f.open_case).await.unwrap().collected, rub("900"));
        let logged: i64 = one(
            s,
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('gdpr.anonymize', 'gdpr.remove_medical', 'gdpr.dropped', 'gdpr.planned')",
        )
        .await;
        assert_eq!(logged, 5 + 2 + 2 + 1);

        let marker = "(removed under the personal-data rules)";
        // Nothing removed is left anywhere in the audit log; the entries are all still there,
        // and the money's history in them (amounts, channels, allocations) is as it was.
        for &text in &gone {
            assert_eq!(in_log(s, text).await, 0, "{text} is still in the audit log");
        }
        for text in typed {
            assert_eq!(in_tables(s, text).await, 0, "{text} is still kept");
        }
        // The reasons are marked as removed where they were; the rules' own reasons, and what was
        // typed about those still under no rule (Жанна's exclusion), stay.
        let marked: Vec<(String, String)> = rows(
            s,
            &format!(
                "SELECT 'allocation', reason FROM allocations WHERE id = {placed}
                 UNION ALL SELECT 'reversal', reason FROM reversals WHERE allocation_id = {placed}
                 UNION ALL SELECT 'fundraising again', reason FROM stage_changes WHERE case_id = {funded} AND from_stage = 'payment'
                 UNION ALL SELECT 'rejected', reason FROM stage_changes WHERE case_id = {closed} AND to_stage = 'rejected'
                 UNION ALL SELECT 'kept apart', reason FROM donors_kept_apart
                 UNION ALL SELECT 'asked', reason FROM gdpr_overrides WHERE entity_id = {}
                 UNION ALL SELECT 'handed', text FROM notices WHERE case_id = {closed} AND kind = 'assigned'",
                id('z')
            ),
        )
        .await;
        let want: Vec<(String, String)> =
            ["allocation", "reversal", "fundraising again", "rejected", "kept apart", "asked"]
                .into_iter()
                .map(|what| (what.to_string(), marker.to_string()))
                .chain([("handed".to_string(), format!("tester handed you case {closed}: {marker}"))])
                .collect();
        assert_eq!(marked, want);
        assert!(in_log(s, "крупный партнёр, договор").await > 0, "Жанна is under no rule: her exclusion's reason stays");
        assert!(in_log(s, "no gift since 2018-01-10 (7 years)").await > 0, "the rules' own reasons stay");
        let added: i64 = one(s, "SELECT COUNT(*) FROM audit_log").await;
        assert_eq!(added, entries + logged + 1, "no entry went: only the plan's, the run's and Дарья's gift came");
        let now = money_history(s).await;
        assert!(now.starts_with(&history) && now.len() == history.len() + 1, "{history:?}\n{now:?}");
        let fields = either(
            s,
            "json_extract(a.after, '$.payer'), json_extract(a.after, '$.amount')",
            "a.after->>'payer', a.after->>'amount'",
        );
        let (payer, amount, redacted): (String, String, i64) = row(
            s,
            &format!(
                "SELECT {fields}, a.redacted
                 FROM audit_log a JOIN donations d ON a.entity = 'donation' AND a.entity_id = d.id
                 WHERE a.action = 'donation.new' AND d.donor_id = {} AND d.amount = 70000",
                id('g')
            ),
        )
        .await;
        assert_eq!((payer.as_str(), amount.as_str(), redacted), (marker, "700.00", 1));
        let qualify: String =
            one(s, &format!("SELECT CAST(after AS TEXT) FROM audit_log WHERE action = 'case.qualify' AND entity_id = {closed}"))
                .await;
        let qualify: serde_json::Value = serde_json::from_str(&qualify).unwrap();
        assert_eq!(qualify, serde_json::json!({"diagnosis": marker, "treatment": marker}));
        let open_qualify: String =
            one(s, &format!("SELECT CAST(after AS TEXT) FROM audit_log WHERE action = 'case.qualify' AND entity_id = {}", f.open_case))
                .await;
        assert!(open_qualify.contains("нейробластома"), "an open case keeps its medical data: {open_qualify}");

        // The log takes a redaction and nothing else, whoever writes to it (PostgreSQL's own
        // triggers are tried in tests/pg_schema.rs).
        if s.is_postgres() {
            return;
        }
        for sql in [
            "UPDATE audit_log SET actor = 'someone'",
            "UPDATE audit_log SET actor = 'someone', redacted = 1 WHERE redacted = 1",
            "UPDATE audit_log SET redacted = 0 WHERE redacted = 1",
            "UPDATE audit_log SET after = json_set(after, '$.amount', '1.00'), redacted = 1 WHERE action = 'donation.new'",
            "UPDATE audit_log SET after = json_set(after, '$.payer', 'Кто-то другой'), redacted = 1 WHERE action = 'donation.new'",
            "UPDATE audit_log SET after = json_remove(after, '$.amount'), redacted = 1 WHERE action = 'donation.new'",
            "UPDATE audit_log SET after = NULL, redacted = 1 WHERE action = 'donation.new'",
            "UPDATE audit_log SET entity_id = entity_id + 1, redacted = 1 WHERE redacted = 1",
            "UPDATE audit_log SET after = json_set(after, '$.payer', '(removed under the personal-data rules)') WHERE action = 'donation.new' AND redacted = 0",
            // The marker only ever stands for personal data: not an amount, not the whole entry,
            // and it adds no new object or list.
            "UPDATE audit_log SET after = json_set(after, '$.amount', '(removed under the personal-data rules)'), redacted = 1 WHERE action = 'donation.new'",
            "UPDATE audit_log SET after = json_quote('(removed under the personal-data rules)'), redacted = 1 WHERE action = 'donation.new'",
            "UPDATE audit_log SET after = json_set(after, '$.extra', json('{}')), redacted = 1 WHERE action = 'donation.new'",
            "DELETE FROM audit_log WHERE redacted = 1",
            "DELETE FROM audit_log",
        ] {
            assert!(sqlx::query(sql).execute(s.pool().unwrap()).await.is_err(), "the database allowed: {sql}");
        }
        // Allocations, reversals and stage history take the removal of a reason and nothing else
        // (PostgreSQL's triggers: tests/pg_schema.rs).
        let (anna_gift, egor_placed): (i64, i64) = row(
            s,
            &format!(
                "SELECT (SELECT MIN(id) FROM donations WHERE donor_id = {}), (SELECT id FROM allocations WHERE case_id = {})",
                id('a'),
                f.open_case
            ),
        )
        .await;
        s.allocate(anna_gift, &Plan::Lines(vec![(f.open_case, rub("50"))]), Some("проба"), None).await.unwrap();
        s.reverse(egor_placed, "проба").await.unwrap();
        let open_case = f.open_case;
        for (table, other, live) in [
            ("allocations", "amount = amount + 1", "reason = 'проба'".to_string()),
            ("reversals", "at = at || 'x'", "reason = 'проба'".to_string()),
            ("stage_changes", "to_stage = 'paid'", format!("case_id = {open_case} AND reason <> '{marker}'")),
        ] {
            for sql in [
                format!("UPDATE {table} SET reason = 'другая' WHERE {live}"),
                format!("UPDATE {table} SET reason = '{marker}', {other} WHERE {live}"),
                format!("UPDATE {table} SET by_user = 'someone'"),
                format!("UPDATE {table} SET reason = 'снова' WHERE reason = '{marker}'"),
                format!("UPDATE {table} SET reason = '{marker}' WHERE reason = '{marker}'"),
                format!("DELETE FROM {table}"),
            ] {
                assert!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(s.pool().unwrap()).await.is_err(), "the database allowed: {sql}");
            }
        }
        for sql in [
            format!("UPDATE allocations SET reason = '{marker}' WHERE reason IS NULL"),
            format!("UPDATE stage_changes SET reason = '{marker}', stay = 5 WHERE case_id = {}", f.open_case),
        ] {
            assert!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(s.pool().unwrap()).await.is_err(), "the database allowed: {sql}");
        }
        for table in ["allocations", "reversals", "stage_changes"] {
            let sql = format!("UPDATE {table} SET reason = '{marker}' WHERE reason <> '{marker}'");
            let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(s.pool().unwrap())
                .await
                .expect("the removal of a reason is taken");
            assert!(done.rows_affected() > 0, "{table}: no reason to remove");
            let left: i64 = one(s, &format!("SELECT COUNT(*) FROM {table} WHERE reason <> '{marker}'")).await;
            assert_eq!(left, 0, "{table}");
        }
        assert_invariants(s).await;
        let one: i64 = one(s, "SELECT MIN(id) FROM audit_log WHERE action = 'donation.new' AND redacted = 0").await;
        sqlx::query("UPDATE audit_log SET after = json_set(after, '$.payer', ?), redacted = 1 WHERE id = ?")
            .bind(marker)
            .bind(one)
            .execute(s.pool().unwrap())
            .await
            .expect("a redaction is the one change the log takes");
    }
}

on_both_engines! {
    /// The rules as the foundation sets them: with a one-year contact rule, the
    /// exclusions are what keep a recent giver and a recurring one in touch.
    async fn exclusions_decide_under_the_foundations_own_settings(t: TestDb) {
        let s = &t.store;
        for (key, value) in [("gdpr.contact_years", "1"), ("gdpr.erase_years", "2"), ("gdpr.recent_months", "24")] {
            s.set_setting(key, value).await.unwrap();
        }
        assert_eq!(
            s.gdpr_rules().await.unwrap(),
            almoner::store::Rules { contact_years: 1, erase_years: 2, recent_months: 24, medical_years: 5 }
        );
        let day = date("2026-12-01");
        // Ирина gave 18 months ago; Роман and Семён 13 months ago, Роман through a yearly subscription.
        let (_, irina) = gift(s, "Ирина", Some("i@x.org"), "2025-06-01", "500", Channel::Website).await;
        let (roman_gift, roman) = gift(s, "Роман", Some("r@x.org"), "2025-11-01", "1200", Channel::Website).await;
        let (_, semyon) = gift(s, "Семён", Some("s@x.org"), "2025-11-01", "1200", Channel::Website).await;
        // Тимур last gave three and a half years ago: past the two-year erase rule.
        let (_, timur) = gift(s, "Тимур", Some("t@x.org"), "2023-06-01", "300", Channel::Bank).await;
        raw(s, &format!("INSERT INTO donor_subscriptions (subscription, donor_id) VALUES ('sc_year', {roman})")).await;
        raw(s, &format!("UPDATE donations SET subscription = 'sc_year' WHERE id = {roman_gift}")).await;
        for who in [irina, roman, semyon, timur] {
            s.set_contact(who, Some(true), None).await.unwrap();
        }
        let planned = |s: &Store| {
            let s = s.clone();
            async move {
                let mut p: Vec<(i64, String)> =
                    s.gdpr_plan(day).await.unwrap().into_iter().map(|p| (p.entity_id, p.action)).collect();
                p.sort();
                p
            }
        };
        // A gift in the last 24 months holds all three back; only Тимур is due, and for erasure.
        assert_eq!(planned(s).await, vec![(timur, "anonymize".to_string())]);

        // Six months instead: Ирина and Семён are due; Роман's yearly gift is still coming.
        s.set_setting("gdpr.recent_months", "6").await.unwrap();
        let want =
            vec![(irina, "do_not_contact".to_string()), (semyon, "do_not_contact".into()), (timur, "anonymize".into())];
        assert_eq!(planned(s).await, want);
        // His subscription ends: he is due like Семён.
        raw(s, &format!("DELETE FROM donor_subscriptions WHERE donor_id = {roman}")).await;
        let mut with_roman = want.clone();
        with_roman.push((roman, "do_not_contact".into()));
        with_roman.sort();
        assert_eq!(planned(s).await, with_roman);

        // A person's decisions, both in the audit log with their reasons.
        s.gdpr_override("donor", semyon, false, "попечитель, пишем лично").await.unwrap();
        s.gdpr_override("donor", irina, true, "просила удалить данные").await.unwrap();
        let reason = either(s, "json_extract(after, '$.reason')", "after->>'reason'");
        let decided: Vec<(String, i64, String)> = rows(
            s,
            &format!(
                "SELECT action, entity_id, {reason} FROM audit_log WHERE action IN ('gdpr.exclude', 'gdpr.include') ORDER BY id"
            ),
        )
        .await;
        assert_eq!(
            decided,
            vec![
                ("gdpr.exclude".into(), semyon, "попечитель, пишем лично".into()),
                ("gdpr.include".into(), irina, "просила удалить данные".into())
            ]
        );
        // Семён's step is dropped; Ирина's becomes erasure, a month ahead like any other.
        let mut decided =
            vec![(irina, "anonymize".to_string()), (roman, "do_not_contact".into()), (timur, "anonymize".into())];
        decided.sort();
        assert_eq!(planned(s).await, decided);

        // A month later the steps are carried out: Роман is no longer written to, and
        // Ирина (who asked) and Тимур lose their personal data; Семён is left alone.
        let run = s.gdpr_run(day + chrono::Duration::days(30)).await.unwrap();
        let mut done: Vec<(i64, String)> = run.done.iter().map(|p| (p.entity_id, p.action.clone())).collect();
        done.sort();
        assert_eq!(done, decided, "{run:?}");
        let flags: Vec<(i64, i64, i64, bool)> =
            rows(s, "SELECT id, do_not_contact, consent, anonymized_at IS NOT NULL FROM donors ORDER BY id").await;
        let mut want_flags = vec![(irina, 1, 0, true), (roman, 1, 1, false), (semyon, 0, 1, false), (timur, 1, 0, true)];
        want_flags.sort();
        assert_eq!(flags, want_flags);
        let logged: Vec<(String, i64)> =
            rows(s, "SELECT action, entity_id FROM audit_log WHERE action = 'gdpr.do_not_contact'").await;
        assert_eq!(logged, vec![("gdpr.do_not_contact".to_string(), roman)]);
        // The mailing reaches only Семён now (the anonymized are in no segment).
        let out = t.dir.path().join("mail.csv");
        let exported = s.export_segment(&Segment::default(), &[], &out).await.unwrap();
        assert_eq!((exported.written, exported.do_not_contact), (1, 1));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "email,Name\ns@x.org,Семён\n");
    }
}

on_both_engines! {
    /// `almoner gdpr plan` and `gdpr run` as staff and cron run them. The binary plans as of today
    /// (it takes no other date), so the gifts are dated back from today; the month's wait is played by
    /// moving the planned steps' date back to today, as it stands when their day comes.
    async fn the_plan_and_the_run_from_the_command_line(t: TestDb) {
        let s = &t.store;
        let today = chrono::Utc::now().date_naive();
        let ago = |months: u32| today.checked_sub_months(chrono::Months::new(months)).unwrap().to_string();
        // Жанна last gave ten years ago (erased), Дарья five (no longer contacted), Глеб eight but a person
        // keeps him, Анна last month.
        let (_, zhanna) = gift(s, "Жанна", Some("j@x.org"), &ago(120), "400", Channel::Bank).await;
        let (_, darya) = gift(s, "Дарья", Some("d@x.org"), &ago(60), "2000", Channel::Website).await;
        let (_, gleb) = gift(s, "Глеб", Some("g@x.org"), &ago(96), "700", Channel::Bank).await;
        let (_, anna) = gift(s, "Анна", Some("a@x.org"), &ago(1), "1000", Channel::Website).await;
        s.set_contact(darya, Some(true), None).await.unwrap();
        let almoner = |args: &[&str]| {
            let out =
                std::process::Command::new(env!("CARGO_BIN_EXE_almoner")).arg("--db").arg(t.path()).args(args).output();
            let out = out.unwrap();
            assert!(out.status.success(), "almoner {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        let gleb_id = gleb.to_string();
        let said = almoner(&["gdpr", "exclude", "donor", &gleb_id, "--reason", "попечитель, пишем лично"]);
        assert_eq!(said, format!("donor {gleb}: kept out of the rules\n"));

        let due = today + chrono::Duration::days(30);
        let plan = almoner(&["gdpr", "plan"]);
        let lines: Vec<&str> = plan.lines().collect();
        assert_eq!(lines.len(), 3, "a heading and two steps: {plan}");
        assert!(lines[0].starts_with("due on"), "{plan}");
        let step = |action: &str, id: i64, name: &str| {
            lines.iter().any(|l| {
                l.starts_with(&format!("{due}  {action} "))
                    && l.contains(&format!(" donor       {id} "))
                    && l.contains(name)
            })
        };
        assert!(step("anonymize", zhanna, "Жанна"), "{plan}");
        assert!(step("do_not_contact", darya, "Дарья"), "{plan}");
        assert!(!plan.contains("Глеб") && !plan.contains("Анна"), "{plan}");
        let json: serde_json::Value = serde_json::from_str(&almoner(&["gdpr", "plan", "--json"])).unwrap();
        let planned: Vec<(i64, &str, &str)> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["entity_id"].as_i64().unwrap(), p["action"].as_str().unwrap(), p["due_on"].as_str().unwrap()))
            .collect();
        let due_text = due.to_string();
        assert_eq!(planned.len(), 2, "planning again adds nothing: {json}");
        assert!(planned.contains(&(zhanna, "anonymize", due_text.as_str())), "{json}");
        assert!(planned.contains(&(darya, "do_not_contact", due_text.as_str())), "{json}");

        // The same day, a run carries out nothing and writes nothing.
        let before = fingerprint(s).await;
        assert_eq!(almoner(&["gdpr", "run"]), "0 done, 2 waiting for their date, 0 no longer called for\n");
        assert_eq!(fingerprint(s).await, before, "a run with nothing due changed the database");

        // Their day comes.
        raw(s, &format!("UPDATE gdpr_plan SET due_on = '{today}' WHERE done_at IS NULL AND dropped_at IS NULL")).await;
        let run = almoner(&["gdpr", "run"]);
        let done: Vec<&str> = run.lines().filter(|l| l.starts_with("done: ")).collect();
        assert_eq!(done.len(), 2, "{run}");
        assert!(done.iter().any(|l| l.contains("anonymize") && l.contains(&format!(" {zhanna} "))), "{run}");
        assert!(done.iter().any(|l| l.contains("do_not_contact") && l.contains(&format!(" {darya} "))), "{run}");
        assert!(run.ends_with("2 done, 0 waiting for their date, 0 no longer called for\n"), "{run}");
        assert!(!run.contains("Жанна"), "the name just removed is printed again: {run}");
        let donors: Vec<(i64, String, Option<String>, i64, i64)> =
            rows(s, "SELECT id, name, email, consent, do_not_contact FROM donors ORDER BY id").await;
        assert_eq!(
            donors,
            vec![
                (zhanna, format!("anonymized donor {zhanna}"), None, 0, 1),
                (darya, "Дарья".into(), Some("d@x.org".into()), 1, 1),
                (gleb, "Глеб".into(), Some("g@x.org".into()), 0, 0),
                (anna, "Анна".into(), Some("a@x.org".into()), 0, 0),
            ]
        );
        let logged: Vec<(String, i64)> =
            rows(s, "SELECT action, entity_id FROM audit_log WHERE action IN ('gdpr.anonymize', 'gdpr.do_not_contact') ORDER BY entity_id").await;
        let mut want = vec![("gdpr.anonymize".to_string(), zhanna), ("gdpr.do_not_contact".to_string(), darya)];
        want.sort_by_key(|w| w.1);
        assert_eq!(logged, want);
        // Done is done: nothing more is due, and a second run finds nothing.
        assert!(almoner(&["gdpr", "plan"]).starts_with("nothing is due under the rules"));
        assert_eq!(almoner(&["gdpr", "run"]), "0 done, 0 waiting for their date, 0 no longer called for\n");
        // The person's decision on Глеб taken back: the rules alone decide, and eight years call for erasure.
        assert_eq!(
            almoner(&["gdpr", "forget", "donor", &gleb_id]),
            format!("donor {gleb}: the rules alone decide again (1 step(s) planned)\n")
        );
        assert!(almoner(&["gdpr", "plan"]).lines().any(|l| l.contains("anonymize") && l.contains(&format!(" {gleb} "))));
        let again = std::process::Command::new(env!("CARGO_BIN_EXE_almoner"))
            .arg("--db")
            .arg(t.path())
            .args(["gdpr", "forget", "donor", &gleb_id])
            .output()
            .unwrap();
        assert!(!again.status.success());
        let err = String::from_utf8_lossy(&again.stderr);
        assert!(err.contains(&format!("donor {gleb}: no decision on the personal-data rules to take back")), "{err}");
    }
}

/// On SQLite, what anonymization removes leaves no copy in the database file or its
/// write-ahead log: not in a page's free space, not in a freed page, not in an older
/// version of a page the log still holds.
#[tokio::test]
async fn anonymization_leaves_no_copy_of_the_data_in_the_files() {
    let t = TestDb::new().await;
    let s = &t.store;
    let (first, donor) =
        gift(s, "Зарецкий Уникальный", Some("zaretsky-unique@x.org"), "2015-01-10", "700", Channel::Bank).await;
    gift(s, "Зарецкий Уникальный", Some("zaretsky-unique@x.org"), "2015-02-10", "300", Channel::Bank).await;
    // His money placed and taken back, with reasons naming him; merged with a second record of him.
    let case = fundraising_case(&t, rub("5000")).await;
    s.allocate(first, &Plan::Lines(vec![(case, rub("200"))]), Some("Зарецкий Уникальный просил"), None).await.unwrap();
    let placed: i64 = one(s, &format!("SELECT id FROM allocations WHERE donation_id = {first}")).await;
    s.reverse(placed, "Зарецкий Уникальный передумал").await.unwrap();
    let (_, dup) =
        gift(s, "Zaretsky Unikalny", Some("zaretsky-unique@x.org.ru"), "2015-03-01", "150", Channel::Bank).await;
    s.merge_donors(dup, donor).await.unwrap();
    s.gdpr_override("donor", donor, true, "просьба Зарецкого Уникального").await.unwrap();
    // A register longer than the table loads in bulk: the donations' indexes, his purpose among
    // their keys, are dropped and built again in its transaction (see `store::bulk`).
    let register = t.dir.path().join("month.txt");
    almoner::import::generate::write_1c(&register, 25_000, 5).unwrap();
    let feed = almoner::import::feed::open(&register, None, None).unwrap();
    let nothing = |_: &str, _: usize, _: usize| {};
    let imported = s.import_stream(feed, "month.txt", "sha", Default::default(), false, &nothing).await.unwrap();
    assert_eq!(imported.new, 25_000);
    // A closed case whose medical data is past its time: the diagnosis is in the cases' word index too.
    let closed = new_case(s, Program::Treatment, almoner::domain::Money::ZERO).await;
    s.qualify(closed, "редчайшаяболезньх", "редчайшеелечениех", true).await.unwrap();
    s.advance(closed, Stage::Rejected, Some("редчайшаяпричинах")).await.unwrap();
    raw(s, &format!("UPDATE cases SET stage_since = '2019-01-01T00:00:00+00:00' WHERE id = {closed}")).await;
    let needles = [
        "Зарецкий Уникальный",
        "zaretsky-unique@x.org",
        "Zaretsky Unikalny",
        "Зарецкого Уникального",
        "редчайшаяболезньх",
        "редчайшеелечениех",
        "редчайшаяпричинах",
    ];
    let copies = |t: &TestDb| {
        let mut bytes = std::fs::read(t.path()).unwrap();
        bytes.extend(std::fs::read(t.path().with_extension("db-wal")).unwrap_or_default());
        needles
            .iter()
            .map(|n| (*n, bytes.windows(n.len()).filter(|w| *w == n.as_bytes()).count()))
            .filter(|(_, c)| *c > 0)
            .collect::<Vec<_>>()
    };
    assert_eq!(copies(&t).len(), needles.len(), "all are in the files before the run");
    // The log written back into the database first: the run's own writes then go to the log, and
    // the file still has the pages as they were before it (a log that is never copied back keeps them).
    raw(s, "PRAGMA wal_checkpoint(TRUNCATE)").await;
    assert_eq!(copies(&t).len(), needles.len());
    s.gdpr_plan(date("2026-12-01")).await.unwrap();
    // Someone still reading the state before the run: the log cannot be emptied while they do.
    let mut reader = s.pool().unwrap().acquire().await.unwrap();
    sqlx::query("BEGIN").execute(&mut *reader).await.unwrap();
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM donors").fetch_one(&mut *reader).await.unwrap();
    let run = s.gdpr_run(date("2027-01-05")).await.unwrap();
    assert_eq!((run.done.len(), run.log_emptied), (2, Some(false)), "{run:?}");
    assert!(!copies(&t).is_empty(), "the older pages are still in the log, or in the file");
    sqlx::query("ROLLBACK").execute(&mut *reader).await.unwrap();
    drop(reader);
    // The next run, with nothing to do, empties it.
    let next = s.gdpr_run(date("2027-01-06")).await.unwrap();
    assert_eq!((next.done.len(), next.log_emptied), (0, Some(true)), "{next:?}");
    assert_eq!(copies(&t), vec![], "copies left in the database files");
    assert_invariants(s).await;
}

on_both_engines! {
    async fn admins_holding_back_one_step_at_once_record_one_decision(t: TestDb) {
        let f = donors(t).await;
        let plan = f.t.store.gdpr_plan(date("2026-12-01")).await.unwrap();
        let step = plan.iter().find(|p| p.entity == "donor" && p.entity_id == f.id[&'g']).expect("Глеб is due");
        let mut admins = Vec::new();
        for who in ["anna", "boris", "vera", "gleb"] {
            admins.push(f.t.as_actor(who).await);
        }
        // Each reads the step and any decision on record, then writes: at once, on separate connections.
        let hold = |s: &Store, why: &'static str| {
            let (s, id) = (s.clone(), step.id);
            tokio::spawn(async move { s.gdpr_hold_back(id, why).await.map_err(|e| e.to_string()) })
        };
        let tries = [hold(&admins[0], "звонил 1"), hold(&admins[1], "звонил 2"), hold(&admins[2], "звонил 3"), hold(&admins[3], "звонил 4")];
        let mut held = Vec::new();
        for t in tries {
            held.push(t.await.unwrap());
        }
        assert_eq!(held.iter().filter(|r| r.is_ok()).count(), 1, "{held:?}");
        for refused in held.iter().filter_map(|r| r.as_ref().err()) {
            assert!(refused.contains("held back already"), "{refused}");
        }
        let s = &f.t.store;
        let g = f.id[&'g'];
        let decisions: i64 = one(s, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'gdpr.exclude' AND entity_id = {g}")).await;
        assert_eq!(decisions, 1, "one decision, none replacing another unseen");
        let replaced: i64 = one(s, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'gdpr.exclude' AND entity_id = {g} AND before IS NOT NULL")).await;
        assert_eq!(replaced, 0);
    }
}
