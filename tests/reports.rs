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
