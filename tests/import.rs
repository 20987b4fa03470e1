//! Registers against the real corpus: every 1C file imports with the counts
//! and totals written down in `tests/corpus_1c.toml`, or is rejected with its
//! reason; no file or mutation of one makes a parser panic; imports are
//! idempotent, previews write nothing, and a batch can be undone.

mod common;

use std::path::{Path, PathBuf};

use almoner::domain::Money;
use almoner::import::parse;
use almoner::store::{Plan, RowStatus};
use common::*;

fn corpus(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus").join(dir)
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["1c", "camt053", "mt940", "other"] {
        if let Ok(entries) = std::fs::read_dir(corpus(dir)) {
            files.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn every_1c_corpus_file_imports_as_expected_or_is_rejected_with_its_reason() {
    let expected: toml::Table = toml::from_str(include_str!("corpus_1c.toml")).unwrap();
    let files: Vec<PathBuf> = std::fs::read_dir(corpus("1c")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), expected.len(), "every corpus file has an expectation, and no more");
    let t = TestDb::new().await;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let want =
            expected.get(&name).and_then(|v| v.as_table()).unwrap_or_else(|| panic!("no expectation for {name}"));
        let bytes = std::fs::read(&path).unwrap();
        match (parse(&bytes, None), want.get("rejected")) {
            (Err(e), Some(reason)) => {
                assert!(
                    e.to_string().starts_with(reason.as_str().unwrap()),
                    "{name}: rejected as {e:?}, expected {reason}"
                );
            }
            (Err(e), None) => panic!("{name} was rejected: {e}"),
            (Ok(_), Some(reason)) => panic!("{name} should be rejected ({reason})"),
            (Ok(register), None) => {
                let p = t.store.preview_import(&register, &name).await.unwrap();
                let n = |k: &str| want[k].as_integer().unwrap() as usize;
                let m = |k: &str| Money::parse(want[k].as_str().unwrap()).unwrap();
                let got = (p.new, p.duplicate, p.invalid, p.outgoing, p.internal, p.unknown);
                let expect = (n("new"), n("duplicate"), n("invalid"), n("outgoing"), n("internal"), n("unknown"));
                assert_eq!(got, expect, "{name}: new, duplicate, invalid, outgoing, internal, unknown");
                assert_eq!((p.incoming_total, p.outgoing_total), (m("incoming_total"), m("outgoing_total")), "{name}");
                assert_eq!(p.checks.iter().filter(|c| !c.ok).count(), n("mismatches"), "{name}: {:?}", p.checks);
                // What comes in equals what the rows add up to, to the kopeck.
                let rows_in: Money = p
                    .rows
                    .iter()
                    .filter(|r| matches!(r.status, RowStatus::New | RowStatus::Duplicate))
                    .map(|r| r.amount)
                    .sum();
                assert_eq!(rows_in, p.incoming_total, "{name}");
            }
        }
    }
}

/// Truncations, flipped bytes, doubled sections, huge lines: parsers answer, never panic.
#[test]
fn no_corpus_file_or_mutation_of_one_panics_any_parser() {
    let files = corpus_files();
    assert!(files.len() >= 60, "the corpus is beside the repository (../shared/corpus)");
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let mut variants = vec![bytes.clone()];
        for cut in [1, 7, bytes.len() / 3, bytes.len() / 2, bytes.len().saturating_sub(3)] {
            variants.push(bytes[..cut.min(bytes.len())].to_vec());
        }
        for step in [13usize, 101, 977] {
            let mut flipped = bytes.clone();
            for i in (0..flipped.len()).step_by(step) {
                flipped[i] ^= 0x5a;
            }
            variants.push(flipped);
        }
        let mut doubled = bytes.clone();
        doubled.extend_from_slice(&bytes);
        variants.push(doubled);
        let mut huge = b"1CClientBankExchange\r\n\xd1\xf3\xec\xec\xe0=".to_vec();
        huge.extend(std::iter::repeat_n(b'9', 1 << 20));
        variants.push(huge);
        for v in variants {
            let _ = parse(&v, None);
            let _ = parse(&v, Some(almoner::import::Format::OneC));
        }
    }
}

async fn register(name: &str) -> almoner::import::Register {
    parse(&std::fs::read(corpus("1c").join(name)).unwrap(), None).unwrap()
}

#[tokio::test]
async fn importing_twice_adds_nothing_twice_and_preview_writes_nothing() {
    let t = TestDb::new().await;
    let r = register("parser1c__kl_to_1c.txt").await;
    let before = fingerprint(&t.store).await;
    let preview = t.store.preview_import(&r, "a.txt").await.unwrap();
    assert_eq!(before, fingerprint(&t.store).await, "a preview wrote something");
    let first = t.store.import(&r, "a.txt", "sha").await.unwrap();
    assert_eq!((first.new, first.duplicate), (preview.new, 0));
    assert!(first.new > 0);
    let second = t.store.import(&r, "a.txt", "sha").await.unwrap();
    assert_eq!((second.new, second.duplicate), (0, first.new));
    let (n, total, _) = t.store.donation_totals().await.unwrap();
    assert_eq!(n as usize, first.new);
    assert_eq!(total, first.incoming_total, "what came in is what the register says, to the kopeck");
    // The same statement in another encoding is the same payments.
    let a = register("kilylabs__one_day.txt").await;
    let b = register("kilylabs__one_day_utf8.txt").await;
    let one = t.store.import(&a, "cp1251", "x").await.unwrap();
    let other = t.store.import(&b, "utf8", "y").await.unwrap();
    assert_eq!((other.new, other.duplicate), (0, one.new));
    assert_invariants(&t.store).await;
}

#[tokio::test]
async fn a_batch_is_undone_only_while_none_of_it_is_allocated() {
    let t = TestDb::new().await;
    let r = register("parser1c__kl_to_1c.txt").await;
    let batch = t.store.import(&r, "a.txt", "sha").await.unwrap().batch.unwrap();
    let removed = t.store.undo_import(batch).await.unwrap();
    assert!(removed > 0);
    assert_eq!(t.store.donation_totals().await.unwrap().0, 0);
    assert!(t.store.undo_import(batch).await.unwrap_err().to_string().contains("already undone"));
    // Imported again after the undo, it is new again.
    let again = t.store.import(&r, "a.txt", "sha").await.unwrap();
    assert_eq!(again.new, removed);
    let case = fundraising_case(&t, rub("1")).await;
    let d = t.store.list_donations(&Default::default()).await.unwrap()[0].id;
    t.store.allocate(d, &Plan::Lines(vec![(case, rub("1"))]), None, None).await.unwrap();
    let before = fingerprint(&t.store).await;
    let e = t.store.undo_import(again.batch.unwrap()).await.unwrap_err().to_string();
    assert!(e.contains("cannot be undone: 1 allocation(s)"), "{e}");
    assert_eq!(before, fingerprint(&t.store).await);
}

#[test]
fn cli_import_json_has_the_promised_fields_and_rejects_damaged_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let bin = env!("CARGO_BIN_EXE_almoner");
    let run = |args: &[&str]| std::process::Command::new(bin).arg("--db").arg(&db).args(args).output().unwrap();
    let file = corpus("1c").join("odin_palace__statement-137442.txt");
    let out = run(&["import", file.to_str().unwrap(), "--dry-run", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in ["format", "new", "duplicate", "invalid", "outgoing", "incoming_total", "outgoing_total", "errors"] {
        assert!(!v[field].is_null(), "missing {field}");
    }
    assert_eq!(v["format"], "1c");
    let bad = corpus("1c").join("odin_palace__ERR_no_end_of_document.txt");
    let out = run(&["import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ERR_no_end_of_document.txt: line 20: the section here has no КонецДокумента"), "{err}");
    let batches = run(&["import", "batches", "--json"]);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&batches.stdout).unwrap().as_array().unwrap().len(), 0);
}
