//! Several OS processes of the real binary allocate the same donations to the
//! same cases at once on one database (a SQLite file, and a PostgreSQL
//! database), while another keeps checking the invariants from outside.
//! Afterwards every invariant holds and the totals are exact to the kopeck.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use almoner::domain::{Designation, Stage};
use almoner::store::{CaseQuery, DonationQuery, Store};

const BIN: &str = env!("CARGO_BIN_EXE_almoner");

async fn total_allocated(store: &Store) -> i64 {
    store.donation_totals().await.unwrap().2.minor()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_processes_cannot_break_the_money_rules() {
    let dir = tempfile::tempdir().unwrap();
    race(dir.path().join("race.db")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_processes_cannot_break_the_money_rules_on_postgres() {
    let url = common::pg::server().database("race").await;
    race(std::path::PathBuf::from(url)).await;
}

async fn race(db: std::path::PathBuf) {
    let init = Command::new(BIN).arg("--db").arg(&db).args(["init", "--demo"]).output().unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));

    let store = Store::open(&db, "observer").await.unwrap();
    let donations: Vec<String> = store
        .list_donations(&DonationQuery { unallocated_only: true, limit: Some(500), ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.designation == Designation::Unrestricted)
        .take(6)
        .map(|d| d.id.to_string())
        .collect();
    // Few cases with little need, so processes run them full and collide.
    let cases: Vec<String> = store
        .list_cases(&CaseQuery { stage: Some(Stage::Fundraising), ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .take(6)
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!((donations.len(), cases.len()), (6, 6));
    let before = total_allocated(&store).await;

    let writing = Arc::new(AtomicBool::new(true));
    let watcher = {
        let writing = writing.clone();
        let db = db.clone();
        std::thread::spawn(move || {
            let mut checks = 0;
            while writing.load(Ordering::SeqCst) {
                let out = Command::new(BIN).arg("--db").arg(&db).arg("verify").output().unwrap();
                assert!(out.status.success(), "invariants broken mid-run: {}", String::from_utf8_lossy(&out.stderr));
                checks += 1;
            }
            checks
        })
    };
    let writers: Vec<_> = (1..=5)
        .map(|seed| {
            Command::new(BIN)
                .arg("--db")
                .arg(&db)
                .args(["stress", "--iterations", "60", "--seed", &seed.to_string()])
                .arg(format!("--donations={}", donations.join(",")))
                .arg(format!("--cases={}", cases.join(",")))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut net = 0i64;
    let mut committed = 0u64;
    let mut refused = 0u64;
    for w in writers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "a writer failed: {}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        net += report["net_kopecks"].as_i64().unwrap();
        committed += report["committed"].as_u64().unwrap();
        refused += report["refused"].as_u64().unwrap();
    }
    writing.store(false, Ordering::SeqCst);
    let checks = watcher.join().unwrap();
    assert!(checks > 0, "the watcher never ran");
    assert!(committed > 50, "too few commits to mean anything: {committed}");
    assert!(refused > 0, "no process was ever refused: the processes did not contend");

    common::assert_invariants(&store).await;
    assert_eq!(
        total_allocated(&store).await,
        before + net,
        "allocated total differs from what the processes committed"
    );
    // Each donation still balances: its allocated sum is its live allocations' (checked by
    // `verify` above, donation by donation), and no more than its amount.
    let (_, amount, allocated) = store.donation_totals().await.unwrap();
    assert!(allocated <= amount);
    for d in store.list_donations(&DonationQuery::default()).await.unwrap() {
        assert_eq!(d.allocated + d.unallocated, d.amount, "donation {}", d.id);
    }
}
