//! Reports against figures worked out by hand. The fixture is the example
//! legacy export in `tests/legacy/` (its stage dates are history the API
//! cannot backdate), plus one case paid through the gates.

mod common;

use std::path::Path;

use almoner::domain::{Program, Stage};
use almoner::legacy::{self, Mapping};
use almoner::store::Plan;
use common::*;

async fn fixture() -> TestDb {
    let t = TestDb::new().await;
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

#[tokio::test]
async fn the_stage_report_matches_the_figures_worked_out_by_hand() {
    let t = fixture().await;
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

#[test]
fn the_command_line_gives_json_and_csv() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(fixture());
    let run = |fmt: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_almoner"))
            .arg("--db")
            .arg(t.path())
            .args(["report", "stages", "--from", "01.01.2024", "--to", "2024-03-31", fmt])
            .output()
            .unwrap();
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

#[tokio::test]
async fn a_corporate_donors_report_has_a_page_per_child_with_their_share_and_proof() {
    use almoner::domain::{DocKind, DonorKind, Money};
    use almoner::store::{BeneficiaryRef, NewDonation};
    let t = TestDb::new().await;
    let s = &t.store;
    let company = |amount: &str, day: &str| NewDonation {
        payer: "ООО «Ромашка»".into(),
        donor_kind: DonorKind::Organisation,
        inn: Some("7701234567".into()),
        received_on: date(day),
        ..donation(rub(amount), almoner::domain::Designation::Unrestricted)
    };
    let maria = fundraising_case(&t, rub("3000")).await;
    let child: i64 = sqlx::query_scalar("SELECT beneficiary_id FROM cases WHERE id = ?")
        .bind(maria)
        .fetch_one(s.pool())
        .await
        .unwrap();
    // Maria's second case, and another child's.
    let second = new_case_for(s, BeneficiaryRef::Existing(child), Program::Rehabilitation, Money::ZERO).await;
    open_fundraising_with_invoice(&t, second, rub("2000"), "СЧ-2").await;
    let kid = BeneficiaryRef::New {
        full_name: "Петров Илья Сергеевич".into(), birth_date: None, city: None
    };
    let ilya = new_case_for(s, kid, Program::Equipment, Money::ZERO).await;
    open_fundraising_with_invoice(&t, ilya, rub("900"), "СЧ-3").await;
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
    let donor: i64 =
        sqlx::query_scalar("SELECT donor_id FROM donations WHERE id = ?").bind(d1).fetch_one(s.pool()).await.unwrap();

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
    assert!(
        text[1].contains("Иванова Анна Сергеевна")
            && text[1].contains("Ваша доля: 1 500,00 ₽")
            && text[1].contains("Ваша доля: 1 200,00 ₽"),
        "{}",
        text[1]
    );
    assert!(text[1].contains("Счёт клиники"), "the proof: {}", text[1]);
    assert!(text[2].contains("Петров Илья Сергеевич") && text[2].contains("Ваша доля: 600,00 ₽"), "{}", text[2]);
    assert!(bytes.windows(10).any(|w| w == b"/DCTDecode"), "the photo is on Maria's page");
    // Pages render as images (for a person to look at: see the README).
    let png = t.dir.path().join("page");
    let status =
        std::process::Command::new("pdftoppm").args(["-r", "30", "-png"]).arg(&pdf).arg(&png).status().unwrap();
    assert!(status.success() && t.dir.path().join("page-1.png").exists());

    let html = almoner::donor_report::html(s, &r, "Фонд «Помощь»");
    assert_eq!(html.matches("<section class=\"child\">").count(), 2);
    assert!(html.contains("Ваша доля: <b>1 500,00 ₽</b>") && html.contains("data:image/jpeg;base64,"));
}

#[tokio::test]
async fn stage_history_stays_append_only_and_carries_its_program_and_stays() {
    let t = fixture().await;
    let s = &t.store;
    for sql in [
        "UPDATE stage_changes SET reason = 'переписано' WHERE id = 1",
        "UPDATE stage_changes SET program = 'research' WHERE id = 1",
        "UPDATE stage_changes SET since = NULL WHERE id = 2",
        "DELETE FROM stage_changes WHERE id = 1",
    ] {
        let e = sqlx::query(sql).execute(s.pool()).await.unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    // Every change knows its case's program and when the stage it left was entered.
    let (unfilled, wrong): (i64, i64) = sqlx::query_as(
        "SELECT SUM(program IS NULL), SUM(since IS NOT (SELECT p.at FROM stage_changes p WHERE p.case_id = s.case_id AND p.id < s.id ORDER BY p.id DESC LIMIT 1))
         FROM stage_changes s",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!((unfilled, wrong), (0, 0));
}
