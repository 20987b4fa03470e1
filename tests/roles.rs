//! Roles hold for every write, through the store the console, the command
//! line and `exec` scripts all use; refusals name the role needed and are in
//! the audit log with the person refused.

mod common;

use almoner::domain::{Designation, Role};
use almoner::store::{Plan, Store};
use common::*;

async fn denied(store: &Store) -> Vec<String> {
    column(store, "SELECT actor FROM audit_log WHERE action = 'denied' ORDER BY id").await
}

on_both_engines! {
    async fn each_role_does_its_own_work_and_nothing_else(t: TestDb) {
        let s = &t.store;
        // Before anyone is recorded everyone may do everything: a fresh install, the demo.
        let case = fundraising_case(&t, rub("1000")).await;
        let d = give(s, "500").await;
        // The first admin is recorded by whoever holds the database; after that only an admin adds people.
        s.set_user("anna", Role::Admin, true).await.unwrap();
        let e = s.set_user("boris", Role::Viewer, true).await.unwrap_err().to_string();
        assert!(e.contains("not allowed for your role (tester, no role: not in the users list)"), "{e}");
        let open = |who: &'static str| {
            let path = t.path();
            async move { Store::open(&path, who).await.unwrap() }
        };
        let anna = open("anna").await;
        for (who, role) in
            [("mila", Role::Medical), ("fedor", Role::Fundraiser), ("bella", Role::Bookkeeper), ("vera", Role::Viewer)]
        {
            anna.set_user(who, role, true).await.unwrap();
        }
        let (mila, fedor, bella, vera) = (open("mila").await, open("fedor").await, open("bella").await, open("vera").await);

        let e = mila.allocate(d, &Plan::Lines(vec![(case, rub("100"))]), None, None).await.unwrap_err().to_string();
        assert!(
            e.contains("not allowed for your role (mila, medical): placing money and mailings is for fundraiser, admin"),
            "{e}"
        );
        let placed = fedor.allocate(d, &Plan::Lines(vec![(case, rub("100"))]), None, None).await.unwrap();
        mila.set_notes(case, "звонили маме").await.unwrap();
        assert!(bella.set_notes(case, "—").await.is_err());
        bella.new_donation(&donation(rub("10"), Designation::Unrestricted)).await.unwrap();
        assert!(fedor.reverse(placed.allocation_ids[0], "ошибка").await.is_err(), "reversals are an admin's");
        anna.reverse(placed.allocation_ids[0], "ошибка").await.unwrap();
        assert!(fedor.set_setting("deadline.documents", "10").await.is_err());
        // Everyone working takes cases; a viewer reads and nothing more.
        for st in [&mila, &fedor, &bella] {
            st.assign(case, Some(st.actor()), None).await.unwrap();
        }
        assert!(vera.assign(case, Some("vera"), None).await.is_err());
        assert_eq!(vera.case(case).await.unwrap().id, case);
        // Someone the users list does not know reads only.
        assert!(s.set_notes(case, "—").await.is_err());
        assert_eq!(denied(s).await, vec!["tester", "mila", "bella", "fedor", "fedor", "vera", "tester"]);
        // …or nothing at all, when the foundation says so: even reading is refused at the door (see the CLI test).
        anna.set_setting("unknown_users", "none").await.unwrap();
        // A running process trusts what it read for two seconds; a fresh one sees it at once.
        assert_eq!(open("tester").await.standing().await.unwrap(), Err(almoner::store::Unknown::Nothing));
        assert_invariants(s).await;
    }
}

#[test]
fn the_command_line_and_exec_scripts_are_held_alike() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("roles.db");
    let bin = env!("CARGO_BIN_EXE_almoner");
    let run = |user: &str, args: &[&str]| {
        let out = std::process::Command::new(bin).env("USER", user).arg("--db").arg(&db).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(run("root", &["init", "--demo"]).0);
    assert!(run("root", &["user", "add", "anna", "--role", "admin"]).0);
    assert!(run("anna", &["user", "add", "vera", "--role", "viewer"]).0);
    let (ok, _, err) = run("vera", &["config", "set", "deadline.documents", "10"]);
    assert!(!ok && err.contains("not allowed for your role (vera, viewer)"), "{err}");
    let script = dir.path().join("place.txt");
    std::fs::write(&script, "allocate 1 5=1\n").unwrap();
    let (ok, _, err) = run("vera", &["exec", script.to_str().unwrap()]);
    assert!(!ok && err.contains("not allowed for your role"), "{err}");
    assert!(run("vera", &["case", "list", "--limit", "1"]).0, "a viewer reads");
    // Unknown accounts: read-only by default, nothing when configured so.
    assert!(run("mallory", &["summary"]).0);
    assert!(run("anna", &["config", "set", "unknown_users", "none"]).0);
    let (ok, _, err) = run("mallory", &["summary"]);
    assert!(!ok && err.contains("mallory is not a user of almoner"), "{err}");
    let (_, audit, _) = run("anna", &["audit", "--json", "--limit", "50"]);
    assert!(audit.contains("\"denied\"") && audit.contains("vera"), "{audit}");
}
