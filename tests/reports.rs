//! Reports against figures worked out by hand. The fixture is the example
//! legacy export in `tests/legacy/` (its stage dates are history the API
//! cannot backdate), plus one case paid through the gates.

mod common;

use std::path::Path;

use almoner::domain::{Money, Program, Stage};
use almoner::legacy::{self, Mapping};
use almoner::store::Plan;
use common::*;

async fn fixture(t: TestDb) -> TestDb {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/legacy");
    let mapping = Mapping::parse(&std::fs::read_to_string(root.join("mapping.toml")).unwrap(), "mapping.toml").unwrap();
    let export = legacy::read(&root.join("export"), &mapping).unwrap();
    assert!(t.store.migrate_legacy(&export, true, false).await.unwrap().committed);
    // A case paid today through the gates, its payment order dated 10 March 2024.
    let case = fundraising_case(&t, rub("7000")).await;
    let d = give(&t.store, "7000").await;
    t.store.allocate(d, &Plan::Lines(vec![(case, rub("7000"))]), None, None).await.unwrap();
    t.store.record_payment(case, "п/п 55", date("2024-03-10"), rub("7000")).await.unwrap();
    t
}

on_both_engines! {
    async fn the_stage_report_matches_the_figures_worked_out_by_hand(t: TestDb) {
        let t = fixture(t).await;
        let r = t.store.stage_report(date("2024-01-01"), date("2024-03-31"), None).await.unwrap();
        let entered: Vec<(Stage, Program, i64)> = r.entered.iter().map(|e| (e.stage, e.program, e.cases)).collect();
        use Program::*;
        use Stage::*;
        assert_eq!(
            entered,
            vec![
                (Qualification, Treatment, 3),
                (Qualification, Rehabilitation, 1),
                (Qualification, Equipment, 1),
                (Documents, Treatment, 2),
                (Documents, Rehabilitation, 1),
                (Documents, Equipment, 1),
                (Fundraising, Treatment, 2),
                (Fundraising, Rehabilitation, 1),
                (Payment, Treatment, 1),
                (Paid, Treatment, 1),
                (Rejected, Treatment, 1),
            ]
        );
        // Donations 1-5 came in January to March; 6 in April.
        assert_eq!(r.raised, rub("265500.50"));
        assert_eq!(r.placed, rub("255500.50"));
        assert_eq!(r.paid, rub("7000"));
        let stays: Vec<(Stage, usize, f64, f64)> =
            r.time_in_stage.iter().map(|s| (s.stage, s.cases, s.median_days, s.p90_days)).collect();
        // Qualification: 5, 5, 9, 4 and 0 days; documents 17, 20 and 10; fundraising 19; payment 5.
        assert_eq!(
            stays,
            vec![
                (Qualification, 5, 5.0, 9.0),
                (Documents, 3, 17.0, 20.0),
                (Fundraising, 1, 19.0, 19.0),
                (Payment, 1, 5.0, 5.0)
            ]
        );
        let monthly: Vec<(&str, &str, i64, String)> =
            r.monthly.iter().map(|m| (m.month.as_str(), m.channel.as_str(), m.donations, m.amount.plain())).collect();
        assert_eq!(
            monthly,
            vec![
                ("2024-01", "bank", 1, "50000.00".to_string()),
                ("2024-02", "bank", 1, "100000.00".to_string()),
                ("2024-02", "website", 1, "1500.50".to_string()),
                ("2024-03", "bank", 1, "84000.00".to_string()),
                ("2024-03", "website", 1, "30000.00".to_string()),
            ]
        );

        // One program: treatment's cases, the gift designated to one of them, the money placed on them.
        let r = t.store.stage_report(date("2024-01-01"), date("2024-03-31"), Some(Treatment)).await.unwrap();
        assert!(r.entered.iter().all(|e| e.program == Treatment));
        assert_eq!(r.raised, rub("100000"));
        assert_eq!(r.placed, rub("170000"));
        // A month with nothing: empty, not an error; a reversed period is refused.
        let quiet = t.store.stage_report(date("2023-01-01"), date("2023-01-31"), None).await.unwrap();
        assert!(quiet.entered.is_empty() && quiet.monthly.is_empty() && quiet.raised.is_zero());
        assert!(t.store.stage_report(date("2024-02-01"), date("2024-01-01"), None).await.is_err());
    }
}

#[test]
fn the_command_line_gives_json_and_csv() {
    command_line_json_and_csv(false);
}

#[test]
fn the_command_line_gives_json_and_csv_on_postgres() {
    command_line_json_and_csv(true);
}

fn command_line_json_and_csv(postgres: bool) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(async { fixture(TestDb::on(postgres).await).await });
    let run = |fmt: &str| {
        let out =
            t.almoner().args(["report", "stages", "--from", "01.01.2024", "--to", "2024-03-31", fmt]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&run("--json")).unwrap();
    assert_eq!(json["raised"], "265500.50");
    assert_eq!(json["time_in_stage"][1]["median_days"], 17.0);
    let csv = run("--csv");
    assert!(csv.starts_with("stage,program,cases\nqualification,treatment,3\n"), "{csv}");
    assert!(csv.contains("\nraised,placed,paid\n265500.50,255500.50,7000.00\n"), "{csv}");
    assert!(csv.contains("2024-02,website,1,1500.50"), "{csv}");
}

/// Text of each page of a PDF, by poppler's pdftotext (installed by `.ci/run`).
fn pdf_pages(pdf: &Path) -> Vec<String> {
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils) reads the report back: apt-get install poppler-utils");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    text.split('\u{c}').filter(|p| !p.trim().is_empty()).map(str::to_string).collect()
}

/// ООО «Ромашка»'s year: Maria's two cases, and Ilya's, paid and closed with its act.
struct Romashka {
    t: TestDb,
    donor: i64,
    ilya: i64,
}

async fn romashka(t: TestDb) -> Romashka {
    use almoner::domain::{DocKind, DonorKind, Money};
    use almoner::store::{BeneficiaryRef, NewDonation};
    let s = &t.store;
    let company = |amount: &str, day: &str| NewDonation {
        payer: "ООО «Ромашка»".into(),
        donor_kind: DonorKind::Organisation,
        inn: Some("7701234567".into()),
        received_on: date(day),
        ..donation(rub(amount), almoner::domain::Designation::Unrestricted)
    };
    let maria = fundraising_case(&t, rub("3000")).await;
    let child: i64 = one(s, &format!("SELECT beneficiary_id FROM cases WHERE id = {maria}")).await;
    // Maria's second case, and another child's.
    let second = new_case_for(s, BeneficiaryRef::Existing(child), Program::Rehabilitation, Money::ZERO).await;
    open_fundraising_with_invoice(&t, second, rub("2000"), "СЧ-2").await;
    let kid = BeneficiaryRef::New {
        full_name: "Петров Илья Сергеевич".into(), birth_date: None, city: None
    };
    let ilya = new_case_for(s, kid, Program::Equipment, Money::ZERO).await;
    open_fundraising_with_invoice(&t, ilya, rub("900"), "СЧ-3").await;
    s.set_consent(ilya, None, Some("опухоль из нервных клеток"), false).await.unwrap();
    s.attach(maria, DocKind::Photo, Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photo.jpg")))
        .await
        .unwrap();
    let (d1, _) = s.new_donation(&company("5000", "2026-02-10")).await.unwrap();
    let (d2, _) = s.new_donation(&company("900", "2026-03-05")).await.unwrap();
    let (outside, _) = s.new_donation(&company("100", "2025-12-31")).await.unwrap();
    let other = give(s, "400").await;
    s.allocate(d1, &Plan::Lines(vec![(maria, rub("1500")), (second, rub("1200"))]), None, None).await.unwrap();
    let out = s.allocate(d2, &Plan::Lines(vec![(ilya, rub("600")), (maria, rub("300"))]), None, None).await.unwrap();
    s.reverse(out.allocation_ids[1], "ошибка").await.unwrap();
    s.allocate(outside, &Plan::Lines(vec![(ilya, rub("100"))]), None, None).await.unwrap();
    s.allocate(other, &Plan::Lines(vec![(maria, rub("400"))]), None, None).await.unwrap();
    // Someone else completes Ilya's 900; the clinic is paid, and its act closes the case.
    let rest = give(s, "200").await;
    s.allocate(rest, &Plan::Lines(vec![(ilya, rub("200"))]), None, None).await.unwrap();
    s.record_payment(ilya, "56", date("2026-04-02"), rub("900")).await.unwrap();
    s.attach(ilya, DocKind::PaymentOrder, &t.file("платёжка-56.pdf", "payment order 56")).await.unwrap();
    s.attach(ilya, DocKind::Act, &t.file("акт-илья.pdf", "act")).await.unwrap();
    s.advance(ilya, Stage::Closed, Some("акт получен")).await.unwrap();
    let donor: i64 = one(s, &format!("SELECT donor_id FROM donations WHERE id = {d1}")).await;
    Romashka { t, donor, ilya }
}

on_both_engines! {
    async fn placings_count_in_their_period_and_program_less_those_reversed(t: TestDb) {
        let Romashka { t, donor, .. } = romashka(t).await;
        let s = &t.store;
        // Every placing above was made today; the reversed 300 (Мария's, treatment) counts nowhere.
        let today = chrono::Utc::now().date_naive();
        let (from, to) = (today - chrono::Duration::days(1), today + chrono::Duration::days(1));
        let placed = |p: Option<Program>| async move { s.stage_report(from, to, p).await.unwrap().placed };
        assert_eq!(placed(None).await, rub("4000"), "1500 + 1200 + 600 + 100 + 400 + 200");
        assert_eq!(placed(Some(Program::Treatment)).await, rub("1900"), "Мария: 1500 + 400");
        assert_eq!(placed(Some(Program::Rehabilitation)).await, rub("1200"));
        assert_eq!(placed(Some(Program::Equipment)).await, rub("900"), "Илья: 600 + 100 + 200");
        assert_eq!(placed(Some(Program::Research)).await, rub("0"));
        let yesterday = s.stage_report(from, from, None).await.unwrap();
        assert_eq!(yesterday.placed, rub("0"));

        // Each gift records the programs it reached, the reversed placing's included; the money
        // checks hold that record to the designations and placings, and notice when it is wrong.
        let bits: Vec<(String, i64)> = rows(
            s,
            &format!(
                "SELECT CAST(amount / 100 AS TEXT) || ' on ' || CAST(received_on AS TEXT), programs FROM donations WHERE donor_id = {donor} ORDER BY id"
            ),
        )
        .await;
        let (treatment, rehabilitation, equipment) =
            (Program::Treatment.bit(), Program::Rehabilitation.bit(), Program::Equipment.bit());
        assert_eq!(
            bits,
            vec![
                ("5000 on 2026-02-10".to_string(), treatment | rehabilitation),
                ("900 on 2026-03-05".to_string(), equipment | treatment),
                ("100 on 2025-12-31".to_string(), equipment),
            ]
        );
        assert_eq!(s.verify().await.unwrap(), Vec::<String>::new());
        raw(s, &format!("UPDATE donations SET programs = 1 WHERE donor_id = {donor} AND amount = 10000")).await;
        let found = s.verify().await.unwrap();
        assert!(
            found.len() == 1 && found[0].contains("programs recorded as 1") && found[0].contains("give 4"),
            "{found:?}"
        );
    }
}

on_both_engines! {
    async fn a_corporate_donors_report_has_a_page_per_child_with_their_share_and_proof(t: TestDb) {
        let Romashka { t, donor, ilya } = romashka(t).await;
        let s = &t.store;
        assert_eq!(stage(s, ilya).await, Stage::Closed);

        let r = s.donor_report(donor, date("2026-01-01"), date("2026-12-31")).await.unwrap();
        assert_eq!(r.given, rub("5900"));
        assert_eq!(
            r.placed,
            rub("3300"),
            "1500 + 1200 + 600: the reversed 300, the gift of 2025 and others' money do not count"
        );
        let pages: Vec<(String, String, usize)> =
            r.children.iter().map(|c| (c.name.clone(), c.share.plain(), c.cases.len())).collect();
        assert_eq!(
            pages,
            vec![
                ("Иванова Анна Сергеевна".into(), "2700.00".into(), 2),
                ("Петров Илья Сергеевич".into(), "600.00".into(), 1)
            ]
        );

        let pdf = t.dir.path().join("report.pdf");
        let bytes = almoner::donor_report::pdf(s, &r, "Фонд «Помощь»");
        std::fs::write(&pdf, &bytes).unwrap();
        let text = pdf_pages(&pdf);
        assert_eq!(text.len(), 3, "a cover and one page per child: {text:#?}");
        assert!(
            text[0].contains("Отчёт для ООО «Ромашка»") && text[0].contains("5 900,00 ₽") && text[0].contains("3 300,00 ₽"),
            "{}",
            text[0]
        );
        // Maria: two cases, each with its diagnosis (no lay words recorded), clinic, target and invoice.
        let maria = &text[1];
        for line in [
            "Иванова Анна Сергеевна",
            "Ваша доля: 1 500,00 ₽",
            "Ваша доля: 1 200,00 ₽",
            "Сумма сбора: 3 000,00 ₽; собрано: 1 900,00 ₽",
            "Сумма сбора: 2 000,00 ₽; собрано: 1 200,00 ₽",
        ] {
            assert!(maria.contains(line), "Maria's page lacks {line:?}: {maria}");
        }
        for (line, times) in
            [("Диагноз: нейробластома", 2), ("Клиника: НМИЦ ДГОИ им. Дмитрия Рогачёва", 2), ("Счёт клиники: invoice-", 2)]
        {
            assert_eq!(maria.matches(line).count(), times, "{line:?} once per case: {maria}");
        }
        assert!(!maria.contains("Оплата клинике") && !maria.contains("Акт:"), "nothing paid yet: {maria}");
        // Ilya: his diagnosis in lay words, and the whole trail of proof for a case paid and closed.
        let ilya_page = &text[2];
        let invoice = format!("Счёт клиники: invoice-{ilya}.pdf");
        for line in [
            "Петров Илья Сергеевич",
            "завершено",
            "Диагноз: опухоль из нервных клеток",
            "Клиника: НМИЦ ДГОИ им. Дмитрия Рогачёва",
            "Сумма сбора: 900,00 ₽; собрано: 900,00 ₽",
            "Ваша доля: 600,00 ₽",
            invoice.as_str(),
            "Платёжное поручение: платёжка-56.pdf",
            "Оплата клинике: п/п № 56 от 02.04.2026 на 900,00 ₽",
            "Акт: акт-илья.pdf",
        ] {
            assert!(ilya_page.contains(line), "Ilya's page lacks {line:?}: {ilya_page}");
        }
        assert!(!ilya_page.contains("нейробластома"), "the lay words stand for the diagnosis: {ilya_page}");
        assert!(bytes.windows(10).any(|w| w == b"/DCTDecode"), "the photo is on Maria's page");
        // Pages render as images, one per page (for a person to look at: see the README).
        let png = t.dir.path().join("page");
        let status =
            std::process::Command::new("pdftoppm").args(["-r", "30", "-png"]).arg(&pdf).arg(&png).status().unwrap();
        assert!(status.success());
        let mut images: Vec<String> = std::fs::read_dir(t.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("page-") && n.ends_with(".png"))
            .collect();
        images.sort();
        assert_eq!(images, ["page-1.png", "page-2.png", "page-3.png"], "1 + {} children", r.children.len());

        let html = almoner::donor_report::html(s, &r, "Фонд «Помощь»");
        assert_eq!(html.matches("<section class=\"child\">").count(), 2);
        assert!(html.contains("Ваша доля: <b>1 500,00 ₽</b>") && html.contains("data:image/jpeg;base64,"));
        let ilya_html = &html[html.find("Петров Илья Сергеевич</h2>").expect("Ilya's section")..];
        for line in [
            "Диагноз: опухоль из нервных клеток<br>Клиника: НМИЦ ДГОИ им. Дмитрия Рогачёва<br>Сумма сбора: 900,00 ₽",
            "<li>Платёжное поручение: платёжка-56.pdf",
            "<li>Оплата клинике: п/п № 56 от 02.04.2026 на 900,00 ₽</li>",
            "<li>Акт: акт-илья.pdf",
        ] {
            assert!(ilya_html.contains(line), "Ilya's section lacks {line:?}: {ilya_html}");
        }
    }
}

/// `almoner report donor` as a person runs it: the file, and a line saying what is in it.
#[test]
fn the_donor_report_from_the_command_line_as_pdf_or_html_or_a_clear_refusal() {
    donor_report_from_the_command_line(false);
}

#[test]
fn the_donor_report_from_the_command_line_on_postgres() {
    donor_report_from_the_command_line(true);
}

fn donor_report_from_the_command_line(postgres: bool) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Romashka { t, donor, .. } = rt.block_on(async { romashka(TestDb::on(postgres).await).await });
    let donor = donor.to_string();
    let run = |args: &[&str]| t.almoner().args(args).output().unwrap();
    let report = |id: &str, from: &str, out: &Path| {
        run(&["report", "donor", id, "--from", from, "--to", "31.12.2026", "--out", out.to_str().unwrap()])
    };
    for name in ["romashka-2026.pdf", "romashka-2026.html"] {
        let file = t.dir.path().join(name);
        let out = report(&donor, "2026-01-01", &file);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let said = String::from_utf8(out.stdout).unwrap();
        assert!(
            said.contains(name) && said.contains("ООО «Ромашка» gave 5900.00") && said.contains("3300.00 placed on 2"),
            "{said}"
        );
        assert!(file.exists(), "{name} written");
    }
    let pages = pdf_pages(&t.dir.path().join("romashka-2026.pdf"));
    assert_eq!(pages.len(), 3);
    assert!(pages[0].contains("Ваши пожертвования: 5 900,00 ₽"), "{}", pages[0]);
    let html = std::fs::read_to_string(t.dir.path().join("romashka-2026.html")).unwrap();
    assert!(html.contains("Ваши пожертвования: <b>5 900,00 ₽</b>") && html.matches("class=\"child\"").count() == 2);

    // Refused with the reason, and nothing written: no file, no row.
    let before = rt.block_on(fingerprint(&t.store));
    for (id, from, name, expect) in [
        (donor.as_str(), "2026-01-01", "romashka.docx", "romashka.docx: the report is written as .pdf or .html"),
        (donor.as_str(), "2026-01-01", "romashka", "the report is written as .pdf or .html"),
        ("99999", "2026-01-01", "nobody.pdf", "donor 99999 does not exist"),
        (donor.as_str(), "2027-01-01", "backwards.pdf", "the period ends (2026-12-31) before it starts (2027-01-01)"),
    ] {
        let file = t.dir.path().join(name);
        let out = report(id, from, &file);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expect), "{name}: {err}");
        assert!(!file.exists(), "{name} was written");
    }
    let err = String::from_utf8_lossy(&report("99999", "2026-01-01", &t.dir.path().join("x.pdf")).stderr).into_owned();
    assert!(err.contains("almoner donation list --json"), "the message says where donors' ids are: {err}");
    assert_eq!(rt.block_on(fingerprint(&t.store)), before, "a refused report wrote to the database");
}

on_both_engines! {
    async fn stage_history_stays_append_only_and_carries_its_program_and_stays(t: TestDb) {
        let t = fixture(t).await;
        let s = &t.store;
        for sql in [
            "UPDATE stage_changes SET reason = 'переписано' WHERE id = 1",
            "UPDATE stage_changes SET program = 'research' WHERE id = 1",
            "UPDATE stage_changes SET since = NULL WHERE id = 2",
            "UPDATE stage_changes SET stay = 0 WHERE id = 2",
            "DELETE FROM stage_changes WHERE id = 1",
        ] {
            let e = try_raw(s, sql).await.unwrap_err();
            assert!(e.contains("append-only"), "{sql}: {e}");
        }
        // Every change knows its case's program, when the stage it left was entered, and how long
        // (in tenths of a day) it stayed there.
        let days = if s.is_postgres() {
            // (PostgreSQL's GREATEST passes over a NULL, where SQLite's max gives NULL.)
        "CASE WHEN since IS NOT NULL THEN GREATEST(0, EXTRACT(EPOCH FROM at - since) / 86400) END"
        } else {
            "max(0, julianday(at) - julianday(since))"
        };
        let (unfilled, wrong, stays, wrong_stay): (i64, i64, i64, i64) = row(
            s,
            &format!(
                "SELECT COUNT(CASE WHEN program IS NULL THEN 1 END),
                    COUNT(CASE WHEN since IS DISTINCT FROM (SELECT p.at FROM stage_changes p WHERE p.case_id = s.case_id AND p.id < s.id ORDER BY p.id DESC LIMIT 1) THEN 1 END),
                    COUNT(stay), COUNT(CASE WHEN stay IS DISTINCT FROM CAST(round(10 * {days}) AS BIGINT) THEN 1 END)
                 FROM stage_changes s"
            ),
        )
        .await;
        assert_eq!((unfilled, wrong, wrong_stay), (0, 0, 0));
        let left: i64 = one(s, "SELECT COUNT(*) FROM stage_changes WHERE from_stage IS NOT NULL").await;
        assert!(stays == left && stays > 10, "{stays} stays of {left} changes that left a stage");
    }
}

on_both_engines! {
    async fn a_gift_in_another_currency_is_reported_beside_the_roubles_never_added_in(t: TestDb) {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let mut rub = common::donation(common::rub("1000"), almoner::domain::Designation::Unrestricted);
        rub.received_on = day(2);
        t.store.new_donation(&rub).await.unwrap();
        let mut eur = rub.clone();
        eur.amount = common::rub("1405.31");
        eur.currency = "EUR".parse().unwrap();
        t.store.new_donation(&eur).await.unwrap();
        let r = t.store.stage_report(day(1), day(31), None).await.unwrap();
        assert_eq!(r.raised, common::rub("1000"));
        assert_eq!(r.other_currencies.get("EUR"), Some(&common::rub("1405.31")), "{:?}", r.other_currencies);
        // Segments count roubles too: the euro gift makes no one a donor of 2 000 and more.
        let members = t.store.segment_members(&"min_total=2000".parse().unwrap()).await.unwrap();
        assert!(members.is_empty(), "{members:?}");
        let all = t.store.segment_members(&"min_total=1".parse().unwrap()).await.unwrap();
        assert_eq!(all.iter().map(|m| m.total).sum::<Money>(), common::rub("1000"), "{all:?}");
        // A gift in euros designated to a case in roubles is refused there and then.
        let mut to_rub_case = eur.clone();
        to_rub_case.designation = almoner::domain::Designation::Case(fundraising_case(&t, common::rub("700")).await);
        let e = t.store.new_donation(&to_rub_case).await.unwrap_err().to_string();
        assert!(e.contains("a gift in EUR cannot be designated to case") && e.contains("raises RUB"), "{e}");
        // The board's sums are in roubles: a case raising euros is counted, not added in.
        let case = fundraising_case(&t, common::rub("5000")).await;
        let fundraising = |all: Vec<almoner::domain::StageSummary>| {
            all.into_iter().find(|s| s.stage == Stage::Fundraising).map(|s| (s.cases, s.target)).unwrap()
        };
        let before = fundraising(t.store.summary().await.unwrap());
        raw(&t.store, &format!("UPDATE cases SET currency = 'EUR' WHERE id = {case}")).await;
        let after = fundraising(t.store.summary().await.unwrap());
        assert_eq!(after, (before.0, before.1 - common::rub("5000")));
        let filtered = almoner::store::CaseQuery { program: Some(Program::Treatment), ..Default::default() };
        let by_program = fundraising(t.store.stage_totals(&filtered).await.unwrap());
        assert_eq!(by_program, (2, common::rub("700")), "the filtered sums leave it out too");
    }
}
