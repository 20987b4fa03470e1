//! Legacy migration against the example export in `tests/legacy/`: it comes
//! across with a report that agrees to the kopeck, a second run adds nothing,
//! a dry run changes nothing, and a deliberately broken copy is caught.

mod common;

use std::path::{Path, PathBuf};

use almoner::legacy::{self, Mapping};
use almoner::store::Store;
use common::{assert_invariants, fingerprint, one};

fn example() -> (PathBuf, Mapping) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/legacy");
    let text = std::fs::read_to_string(root.join("mapping.toml")).unwrap();
    (root.join("export"), Mapping::parse(&text, "mapping.toml").unwrap())
}

/// A copy of the example export with `edit` applied to the named files.
fn broken(dir: &Path, edits: &[(&str, &str, &str)]) -> PathBuf {
    let (src, _) = example();
    let out = dir.join("broken");
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        let mut text = std::fs::read_to_string(entry.path()).unwrap();
        for (file, from, to) in edits {
            if entry.file_name().to_str() == Some(*file) {
                assert!(text.contains(from), "{file} has no {from:?}");
                text = text.replacen(from, to, 1);
            }
        }
        std::fs::write(out.join(entry.file_name()), text).unwrap();
    }
    out
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    one(store, sql).await
}

on_both_engines! {
    async fn the_example_export_round_trips_with_zero_differences(t: TestDb) {
        let (dir, mapping) = example();
        let export = legacy::read(&dir, &mapping).unwrap();
        assert!(export.rejected.is_empty(), "{:?}", export.rejected);

        // A dry run, as often as wanted, changes nothing.
        let before = fingerprint(&t.store).await;
        for _ in 0..2 {
            let dry = t.store.migrate_legacy(&export, false, false).await.unwrap();
            assert!(dry.clean() && dry.dry_run && !dry.committed, "{}", dry.markdown());
        }
        assert_eq!(fingerprint(&t.store).await, before);

        let report = t.store.migrate_legacy(&export, true, false).await.unwrap();
        assert!(report.committed && report.clean(), "{}", report.markdown());
        assert_eq!(report.differences, 0);
        let count = |e: &str| report.counts.iter().find(|c| c.entity == e).unwrap().clone();
        // The old CRM's duplicated card of Maria (104) joins her record; donor D4 shares D1's e-mail.
        assert_eq!((count("beneficiary").new, count("beneficiary").joined), (4, 1));
        assert_eq!((count("donor").new, count("donor").joined), (3, 1));
        assert_eq!(count("allocation").new, 5);
        // The records' new ids, as the migration remembers them (not 1, 2…: PostgreSQL's
        // sequences do not take back the ids the dry runs used).
        let new = |entity: &str, old: &str| {
            let sql = format!("SELECT new_id FROM legacy_ids WHERE entity = '{entity}' AND old_id = '{old}'");
            let store = t.store.clone();
            async move { scalar(&store, &sql).await }
        };
        let (maria, c1, c2, d1) =
            (new("beneficiary", "101").await, new("case", "C-1").await, new("case", "C-2").await, new("donor", "D1").await);
        assert_eq!(scalar(&t.store, "SELECT COUNT(*) FROM beneficiaries").await, 4);
        assert_eq!(scalar(&t.store, &format!("SELECT COUNT(*) FROM cases WHERE beneficiary_id = {maria}")).await, 2);
        // Every figure, read from the database by hand, is the export's.
        assert_eq!(scalar(&t.store, "SELECT CAST(SUM(amount) AS BIGINT) FROM donations").await, 270_500_50);
        assert_eq!(scalar(&t.store, &format!("SELECT collected FROM cases WHERE id = {c2}")).await, 85_500_50);
        let d1_gave = format!("SELECT CAST(SUM(amount) AS BIGINT) FROM donations WHERE donor_id = {d1}");
        assert_eq!(scalar(&t.store, &d1_gave).await, 31_500_50);
        assert_eq!(
            scalar(&t.store, "SELECT CAST(SUM(amount) AS BIGINT) FROM donations WHERE CAST(received_on AS TEXT) LIKE '2024-03%'").await,
            114_000_00
        );
        // Stages and their dates came across as history.
        let paid = t.store.case(c1).await.unwrap();
        assert_eq!(paid.stage, almoner::domain::Stage::Paid);
        assert_eq!(scalar(&t.store, &format!("SELECT COUNT(*) FROM stage_changes WHERE case_id = {c1}")).await, 5);
        let funded_on: String =
            one(&t.store, &format!("SELECT CAST(fundraising_since AS TEXT) FROM cases WHERE id = {c1}")).await;
        assert!(funded_on.starts_with("2024-02-01"), "{funded_on}");
        assert_invariants(&t.store).await;

        // The same export again adds nothing and still reconciles.
        let after = common::fingerprint_except(&t.store, "audit_log").await;
        let again = t.store.migrate_legacy(&export, true, false).await.unwrap();
        assert!(again.clean(), "{}", again.markdown());
        assert_eq!(count("donation").rows, again.counts.iter().find(|c| c.entity == "donation").unwrap().already);
        let audit = scalar(&t.store, "SELECT COUNT(*) FROM audit_log WHERE action = 'legacy.migrate'").await;
        assert_eq!(audit, 2);
        assert_eq!(common::fingerprint_except(&t.store, "audit_log").await, after);
    }
}

on_both_engines! {
    async fn a_broken_export_is_caught_by_the_report_and_not_committed(t: TestDb) {
        let (_, mapping) = example();
        let dir = broken(
            t.dir.path(),
            &[
                // A mistyped amount (letter O for zero): the donation cannot come across, nor its allocation.
                ("donations.csv", "84 000,00;D3", "84 000,0O;D3"),
                // A stage the mapping does not know: the case is rejected, and the money placed on it.
                ("cases.csv", "Рецидив ОЛЛ;Сбор средств", "Рецидив ОЛЛ;Сбор"),
                // The old CRM's own figure disagrees with its allocation rows by one kopeck.
                ("cases.csv", "150 000,00;150 000,00", "150 000,00;150 000,01"),
                // An allocation to a case that is not in the export.
                ("allocations.csv", "3;C-2;1 500,50", "3;C-9;1 500,50"),
            ],
        );
        let export = legacy::read(&dir, &mapping).unwrap();
        let before = fingerprint(&t.store).await;
        let report = t.store.migrate_legacy(&export, false, false).await.unwrap();
        assert!(!report.clean());
        let reasons: Vec<String> =
            report.rejected.iter().map(|r| format!("{} {} {}: {}", r.file, r.line, r.old_id, r.reason)).collect();
        let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
        assert!(has("donations.csv 5 4: amount \"84 000,0O\" is not a number"), "{reasons:#?}");
        assert!(has("cases.csv 5 C-4: stage \"Сбор\" is not in [cases.stages]"), "{reasons:#?}");
        assert!(has("allocations.csv 5"), "the allocation of the rejected donation: {reasons:#?}");
        assert!(has("allocations.csv 6"), "the allocation to the rejected case: {reasons:#?}");
        assert!(has("allocations.csv 4"), "the allocation to a case not in the export: {reasons:#?}");
        let line = |lines: &[almoner::legacy::report::Line], key: &str| {
            lines.iter().find(|l| l.key == key).unwrap_or_else(|| panic!("no line {key}")).clone()
        };
        // C-1: the stated figure is off by a kopeck; C-2 and C-4 lost money the export placed on them.
        assert!(line(&report.cases, "C-1").differs());
        let c2 = line(&report.cases, "C-2");
        assert_eq!((c2.old, c2.stated, c2.new), (84_000_00, Some(85_500_50), 0));
        assert_eq!(line(&report.cases, "C-4").new_id, None);
        assert!(line(&report.cases, "C-9").differs());
        assert!(report.differences >= 4, "{}", report.markdown());
        assert_eq!(fingerprint(&t.store).await, before, "a dry run writes nothing");

        // The real run refuses: nothing written.
        let refused = t.store.migrate_legacy(&export, true, false).await.unwrap();
        assert!(!refused.committed);
        assert_eq!(fingerprint(&t.store).await, before);

        // Told to, it migrates what reconciles, and the money rules still hold.
        let accepted = t.store.migrate_legacy(&export, true, true).await.unwrap();
        assert!(accepted.committed);
        assert_eq!(scalar(&t.store, "SELECT COUNT(*) FROM donations").await, 5);
        assert_invariants(&t.store).await;
    }
}

on_both_engines! {
    async fn stages_the_money_does_not_fit_are_not_kept(t: TestDb) {
        let (_, mapping) = example();
        let dir = broken(
            t.dir.path(),
            &[
                // Paid in the old CRM, but one allocation row is missing: on hold, with a note.
                ("allocations.csv", "1;C-1;50 000,00;20.02.2024\n", ""),
                // A fundraiser that is in fact fully funded moves on to payment.
                ("cases.csv", "Рецидив ОЛЛ;Сбор средств;50 000,00", "Рецидив ОЛЛ;Сбор средств;20 000,00"),
            ],
        );
        let export = legacy::read(&dir, &mapping).unwrap();
        let report = t.store.migrate_legacy(&export, true, true).await.unwrap();
        assert!(report.notes.iter().any(|n| n.contains("case 1: migrated as paid") && n.contains("put in on_hold")));
        assert!(report.notes.iter().any(|n| n.contains("case 4: migrated as fundraising") && n.contains("put in payment")));
        assert_eq!(common::stage(&t.store, 1).await, almoner::domain::Stage::OnHold);
        assert_eq!(common::stage(&t.store, 4).await, almoner::domain::Stage::Payment);
        assert_invariants(&t.store).await;
    }
}

#[test]
fn mapping_mistakes_name_the_file_and_line_and_change_nothing() {
    let bad = |text: &str| Mapping::parse(text, "m.toml").unwrap_err().to_string();
    assert!(bad("sourse = \"x\"\n[donors]\nfile=\"d\"\nid=\"i\"\nname=\"n\"").contains("m.toml: line 1"));
    assert!(bad("").contains("it maps nothing"));
    let e = bad(
        "[cases]\nfile=\"c\"\nid=\"i\"\nbeneficiary=\"b\"\nprogram=\"p\"\nclinic=\"c\"\nstage=\"s\"\ntarget=\"t\"\n[cases.stages]\n\"Новая\" = \"new\"\n",
    );
    assert!(e.contains("[cases.stages]") && e.contains("\"new\""), "{e}");
    // A column the file lacks stops the migration before anything is read into the database.
    let (dir, mut mapping) = example();
    mapping.donations.as_mut().unwrap().purpose = Some("Комментарий".into());
    let e = legacy::read(&dir, &mapping).unwrap_err().to_string();
    assert!(e.contains("donations.csv: has no column \"Комментарий\""), "{e}");
    mapping.donations.as_mut().unwrap().file = "nowhere.csv".into();
    assert!(legacy::read(&dir, &mapping).unwrap_err().to_string().contains("nowhere.csv: cannot be read"));
}

#[test]
fn the_command_line_refuses_an_unreconciled_run_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _) = example();
    let export = broken(dir.path(), &[("donations.csv", "84 000,00;D3", "84 000,0O;D3")]);
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/legacy/mapping.toml");
    let db = dir.path().join("m.db");
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_almoner"))
            .arg("--db")
            .arg(&db)
            .arg("migrate")
            .arg("--from")
            .arg(&export)
            .arg("--mapping")
            .arg(&mapping)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--report", dir.path().join("r.md").to_str().unwrap()]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success());
    assert!(stdout.contains("NOT committed"), "{stdout}");
    assert!(stdout.contains("rejected: donations.csv line 5"), "{stdout}");
    assert!(stderr.contains("not migrated, nothing written"), "{stderr}");
    let report = std::fs::read_to_string(dir.path().join("r.md")).unwrap();
    assert!(report.contains("| C-2 | 2 | 85500.50 | 85500.50 | 1500.50 | **NO** |"), "{report}");
    let out = run(&["--dry-run", "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["rejected"][0]["line"], 5);
}
