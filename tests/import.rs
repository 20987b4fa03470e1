//! Registers against the real corpus: every 1C file imports with the counts
//! and totals written down in `tests/corpus_1c.toml`, or is rejected with its
//! reason; no file or mutation of one makes a parser panic; imports are
//! idempotent, previews write nothing, and a batch can be undone.

mod common;

use std::path::{Path, PathBuf};

use almoner::domain::Money;
use almoner::import::profile::Profile;
use almoner::import::{parse, parse_with};
use almoner::store::{Decisions, Plan, Preview, RowStatus};
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

async fn corpus_dir_imports_as_expected(t: TestDb, dir: &str, expectations: &str) {
    let expected: toml::Table = toml::from_str(expectations).unwrap();
    let files: Vec<PathBuf> = std::fs::read_dir(corpus(dir)).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), expected.len(), "every corpus file has an expectation, and no more");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let want =
            expected.get(&name).and_then(|v| v.as_table()).unwrap_or_else(|| panic!("no expectation for {name}"));
        let bytes = std::fs::read(&path).unwrap();
        let profile = want.get("profile").map(|p| {
            let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles").join(p.as_str().unwrap());
            Profile::parse(&std::fs::read_to_string(&file).unwrap(), &file.display().to_string()).unwrap()
        });
        match (parse_with(&bytes, None, profile.as_ref()), want.get("rejected")) {
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
                    .filter(|r| matches!(r.status, RowStatus::New | RowStatus::Duplicate | RowStatus::Refunded))
                    .map(|r| r.amount)
                    .sum();
                assert_eq!(rows_in, p.incoming_total, "{name}");
                same_verdict_committed(&t, &register, &name, &p).await;
            }
        }
    }
}

/// The dry run is the commit minus the writing: a register the preview passes imports, with the
/// same counts; one it finds problems in is refused, and imports once they are accepted. The
/// batch is then undone, so the next file meets the same empty database.
async fn same_verdict_committed(t: &TestDb, register: &almoner::import::Register, name: &str, p: &Preview) {
    let decided =
        |accept: Option<&str>| Decisions { accept_problems: accept.map(str::to_string), ..Decisions::default() };
    let done = match t.store.import_decided(register, name, "sha", decided(None), false).await {
        Err(almoner::Error::Unreconciled(refused)) => {
            assert!(p.refused(), "{name}: the commit was refused but the preview passed it");
            assert_eq!(refused.problems, p.problems, "{name}");
            t.store.import_decided(register, name, "sha", decided(Some("as the bank sent it")), false).await
        }
        other => {
            assert!(!p.refused(), "{name}: the preview refused it but the commit took it: {other:?}");
            other
        }
    };
    let done = done.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!((done.new, done.duplicate, done.invalid), (p.new, p.duplicate, p.invalid), "{name}");
    assert_eq!((done.incoming_total, done.pays), (p.incoming_total, p.pays), "{name}");
    assert_eq!(done.batch.is_none(), p.adds_nothing(), "{name}: a batch is recorded exactly when something is added");
    if let Some(batch) = done.batch {
        t.store.undo_import(batch).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

on_both_engines! {
    async fn every_1c_corpus_file_imports_as_expected_or_is_rejected_with_its_reason(t: TestDb) {
        corpus_dir_imports_as_expected(t, "1c", include_str!("corpus_1c.toml")).await;
    }

    async fn every_mt940_corpus_file_imports_as_expected_or_is_rejected_with_its_reason(t: TestDb) {
        corpus_dir_imports_as_expected(t, "mt940", include_str!("corpus_mt940.toml")).await;
    }

    async fn every_camt_corpus_file_imports_as_expected_or_is_rejected_with_its_reason(t: TestDb) {
        corpus_dir_imports_as_expected(t, "camt053", include_str!("corpus_camt.toml")).await;
    }

    async fn every_other_corpus_file_imports_through_its_profile_or_is_rejected_with_its_reason(t: TestDb) {
        corpus_dir_imports_as_expected(t, "other", include_str!("corpus_other.toml")).await;
    }
}

/// A file as it is, cut short, with flipped bytes, and twice over.
fn mutations(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut variants = vec![bytes.to_vec()];
    for cut in [1, 7, bytes.len() / 3, bytes.len() / 2, bytes.len().saturating_sub(3)] {
        variants.push(bytes[..cut.min(bytes.len())].to_vec());
    }
    for step in [13usize, 101, 977] {
        let mut flipped = bytes.to_vec();
        for i in (0..flipped.len()).step_by(step) {
            flipped[i] ^= 0x5a;
        }
        variants.push(flipped);
    }
    let mut doubled = bytes.to_vec();
    doubled.extend_from_slice(bytes);
    variants.push(doubled);
    variants
}

/// Every corpus file and every mutation of it that reads: the preview's verdict is the commit's.
#[tokio::test]
async fn the_dry_run_and_the_commit_agree_on_every_corpus_file_and_mutation() {
    let t = TestDb::new().await;
    let mut tried = 0;
    for path in corpus_files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (i, v) in mutations(&std::fs::read(&path).unwrap()).into_iter().enumerate() {
            let Ok(register) = parse(&v, None) else { continue };
            let name = format!("{name} (variant {i})");
            let p = t.store.preview_import(&register, &name).await.unwrap_or_else(|e| panic!("{name}: {e}"));
            same_verdict_committed(&t, &register, &name, &p).await;
            tried += 1;
        }
    }
    assert!(tried > 100, "only {tried} variants read");
}

/// Truncations, flipped bytes, doubled sections, huge lines: parsers answer, never panic.
#[test]
fn no_corpus_file_or_mutation_of_one_panics_any_parser() {
    let files = corpus_files();
    assert!(files.len() >= 60, "the corpus is beside the repository (../shared/corpus)");
    let profiles: Vec<Profile> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| Profile::parse(&std::fs::read_to_string(&p).unwrap(), &p.display().to_string()).unwrap())
        .collect();
    assert!(profiles.len() >= 3);
    // One 1 MB line, once (it is the same whatever the file).
    let mut huge = b"1CClientBankExchange\r\n\xd1\xf3\xec\xec\xe0=".to_vec();
    huge.extend(std::iter::repeat_n(b'9', 1 << 20));
    let mut files: Vec<(PathBuf, Vec<u8>)> = files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    files.push((PathBuf::from("huge line"), huge));
    for (_path, bytes) in files {
        for v in mutations(&bytes) {
            let _ = parse(&v, None);
            for format in almoner::import::Format::ALL {
                let _ = parse(&v, Some(format));
            }
            for profile in &profiles {
                let _ = parse_with(&v, None, Some(profile));
            }
        }
    }
}

async fn register(name: &str) -> almoner::import::Register {
    parse(&std::fs::read(corpus("1c").join(name)).unwrap(), None).unwrap()
}

on_both_engines! {
    async fn importing_twice_adds_nothing_twice_and_preview_writes_nothing(t: TestDb) {
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
}

on_both_engines! {
    async fn a_batch_is_undone_only_while_none_of_it_is_allocated(t: TestDb) {
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
}

#[test]
fn cli_import_json_has_the_promised_fields_and_rejects_damaged_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let bin = env!("CARGO_BIN_EXE_almoner");
    let run = |args: &[&str]| std::process::Command::new(bin).arg("--db").arg(&db).args(args).output().unwrap();
    let file = corpus("1c").join("odin_palace__statement-137442.txt");
    // This real statement's debits do not add up to its ВсегоСписано: the dry run says the
    // commit would be refused (non-zero), and its JSON still has every field and the problem.
    let out = run(&["import", file.to_str().unwrap(), "--dry-run", "--json"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not reconcile") && err.contains("ВсегоСписано"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in
        ["format", "new", "duplicate", "invalid", "outgoing", "incoming_total", "outgoing_total", "errors", "problems"]
    {
        assert!(!v[field].is_null(), "missing {field}");
    }
    assert_eq!(v["format"], "1c");
    assert_eq!(v["problems"].as_array().unwrap().len(), 1, "{v}");
    let out = run(&["import", file.to_str().unwrap(), "--dry-run", "--accept-problems", "bank's own total"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Committed without a word: refused, nothing written.
    let out = run(&["import", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--accept-problems"));
    let out = run(&["import", file.to_str().unwrap(), "--accept-problems", " "]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a reason"));
    let bad = corpus("1c").join("odin_palace__ERR_no_end_of_document.txt");
    let out = run(&["import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ERR_no_end_of_document.txt: line 20: the section here has no КонецДокумента"), "{err}");
    let batches = run(&["import", "batches", "--json"]);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&batches.stdout).unwrap().as_array().unwrap().len(), 0);
    // Committed, the batch names the file's hash (read on a thread of its own while the import ran).
    let out = run(&["import", file.to_str().unwrap(), "--accept-problems", "the bank's total counts a fee"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let batches: serde_json::Value = serde_json::from_slice(&run(&["import", "batches", "--json"]).stdout).unwrap();
    let sha = almoner::import::feed::sha256_of(&file).unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(batches[0]["sha256"], sha.as_str(), "{batches}");
    assert_eq!(batches[0]["file_name"], "odin_palace__statement-137442.txt");
    // The batch keeps who accepted which problem and why.
    assert_eq!(batches[0]["accepted_reason"], "the bank's total counts a fee", "{batches}");
    assert!(batches[0]["accepted_by"].as_str().is_some_and(|b| !b.is_empty()), "{batches}");
    assert!(batches[0]["problems"][0].as_str().unwrap().contains("ВсегоСписано"), "{batches}");
    // Imported again, it adds nothing, and no batch is recorded.
    let out = run(&["import", file.to_str().unwrap(), "--accept-problems", "again"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no batch was recorded"));
    let batches: serde_json::Value = serde_json::from_slice(&run(&["import", "batches", "--json"]).stdout).unwrap();
    assert_eq!(batches.as_array().unwrap().len(), 1, "{batches}");
}

/// A statement from the foundation's account `40703810000000000001` with one
/// outgoing payment order (number 771) paying `amount` with `purpose`.
fn statement_paying(amount: &str, purpose: &str) -> Vec<u8> {
    format!(
        "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\nРасчСчет=40703810000000000001\r\n\
         СекцияДокумент=Платежное поручение\r\nНомер=771\r\nДата=02.04.2026\r\nСумма={amount}\r\n\
         ПлательщикСчет=40703810000000000001\r\nДатаСписано=02.04.2026\r\nПлательщик=Фонд\r\n\
         ПолучательСчет=40603810000000000009\r\nПолучательИНН=7701234567\r\nПолучатель=НМИЦ ДГОИ\r\n\
         НазначениеПлатежа={purpose}\r\nКонецДокумента\r\nКонецФайла\r\n"
    )
    .into_bytes()
}

async fn case_in_payment(t: &TestDb, invoice: &str) -> i64 {
    let id = new_case(&t.store, almoner::domain::Program::Treatment, Money::ZERO).await;
    open_fundraising_with_invoice(t, id, rub("1000"), invoice).await;
    let s = &t.store;
    let d = give(s, "1000").await;
    s.allocate(d, &Plan::Lines(vec![(id, rub("1000"))]), None, None).await.unwrap();
    id
}

on_both_engines! {
    async fn an_outgoing_payment_of_an_invoice_marks_its_case_paid_once(t: TestDb) {
        let case = case_in_payment(&t, "СЧ-77").await;
        let other = case_in_payment(&t, "СЧ-78").await;
        let r = parse(&statement_paying("1000.00", "Оплата по счету СЧ-77 от 01.03.2026 за лечение"), None).unwrap();
        let preview = t.store.preview_import(&r, "out.txt").await.unwrap();
        assert_eq!((preview.outgoing, preview.pays, preview.rows[0].pays_case), (1, 1, Some(case)));
        let done = t.store.import(&r, "out.txt", "sha").await.unwrap();
        assert_eq!(done.pays, 1);
        let file = t.store.case_file(case).await.unwrap();
        assert_eq!(file.case.stage, almoner::domain::Stage::Paid);
        assert_eq!(file.payment_order.as_ref().unwrap().number, "771");
        assert!(
            file.documents
                .iter()
                .any(|d| d.kind == almoner::domain::DocKind::PaymentOrder && d.file_name == "out.txt, line 5")
        );
        assert_eq!(t.store.case(other).await.unwrap().stage, almoner::domain::Stage::Payment);
        // Imported again, it pays nothing twice.
        assert_eq!(t.store.import(&r, "out.txt", "sha").await.unwrap().pays, 0);
        assert_invariants(&t.store).await;
    }
}

on_both_engines! {
    async fn an_ambiguous_or_wrong_outgoing_payment_waits_for_a_person(t: TestDb) {
        let a = case_in_payment(&t, "5").await;
        let b = case_in_payment(&t, "5").await;
        let r = parse(&statement_paying("1000.00", "Оплата счета 5"), None).unwrap();
        let done = t.store.import(&r, "out.txt", "sha").await.unwrap();
        assert_eq!(done.pays, 0);
        let note = done.rows[0].payment_note.clone().unwrap();
        assert!(note.contains(&format!("cases {a}, {b}")), "{note}");
        // The right number but the wrong amount pays nothing.
        let r = parse(&statement_paying("999.00", "Оплата счета 5"), None).unwrap();
        assert_eq!(t.store.preview_import(&r, "x").await.unwrap().pays, 0);
        // The right number and amount to another payee (the statement pays INN 7701234567) waits too.
        let c = case_in_payment(&t, "СЧ-9").await;
        t.store.set_invoice_bank(c, "7709999999", "40603810000000000009", "044525225").await.unwrap();
        let r = parse(&statement_paying("1000.00", "Оплата по счету СЧ-9"), None).unwrap();
        let p = t.store.preview_import(&r, "x").await.unwrap();
        assert_eq!(p.pays, 0);
        let note = p.rows[0].payment_note.clone().unwrap();
        assert!(note.contains(&format!("case {c}")) && note.contains("7709999999"), "{note}");
        t.store.set_invoice_bank(c, "7701234567", "40603810000000000009", "044525225").await.unwrap();
        assert_eq!(t.store.preview_import(&r, "x").await.unwrap().rows[0].pays_case, Some(c), "the right payee pays");
        for c in [a, b] {
            assert_eq!(t.store.case(c).await.unwrap().stage, almoner::domain::Stage::Payment);
        }
    }
}

/// The foundation's details a payment order needs, all of them.
const FOUNDATION: [(&str, &str); 7] = [
    ("foundation_name", "БФ «Помощь»"),
    ("foundation_inn", "7701000001"),
    ("foundation_kpp", "770101001"),
    ("foundation_account", "40703810000000000001"),
    ("foundation_bank", "ПАО Сбербанк"),
    ("foundation_bic", "044525225"),
    ("foundation_corr_account", "30101810400000000225"),
];

async fn foundation_details(t: &TestDb) {
    for (k, v) in FOUNDATION {
        t.store.set_setting(k, v).await.unwrap();
    }
}

/// A case in payment whose invoice has the payee's bank details.
async fn payable_case(t: &TestDb, invoice: &str) -> i64 {
    let case = case_in_payment(t, invoice).await;
    t.store.set_invoice_bank(case, "7701234567", "40603810000000000009", "044525225").await.unwrap();
    case
}

/// Local time on a day, for an export made then.
fn at(day: &str, hour: u32) -> chrono::DateTime<chrono::Local> {
    use chrono::TimeZone;
    chrono::Local.from_local_datetime(&date(day).and_hms_opt(hour, 0, 0).unwrap()).single().unwrap()
}

/// The file's lines, decoded from CP1251.
fn lines_of(bytes: &[u8]) -> Vec<String> {
    almoner::import::decode_lines(bytes, false).0
}

/// `number → case` of an export's orders.
fn numbered(done: &almoner::import::export::PaymentOrders) -> Vec<(i64, i64)> {
    done.orders.iter().map(|o| (o.number, o.case)).collect()
}

on_both_engines! {
    async fn payment_orders_export_for_the_bank_and_read_back(t: TestDb) {
        let case = case_in_payment(&t, "СЧ-77").await;
        let file = t.dir.path().join("orders.txt");
        let e = t.store.export_payment_orders(&file, at("2026-11-02", 10)).await.unwrap_err().to_string();
        assert!(e.contains("foundation's own details are not set"), "{e}");
        foundation_details(&t).await;
        assert!(t.store.set_setting("foundation_account", "4070381").await.unwrap_err().to_string().contains("20 digits"));
        let e = t.store.export_payment_orders(&file, at("2026-11-02", 10)).await.unwrap_err().to_string();
        assert!(e.contains(&format!("case {case} lack the payee's INN")), "{e}");
        assert!(!file.exists());
        assert!(t.store.set_invoice_bank(case, "77012", "40603810000000000009", "044525225").await.is_err());
        t.store.set_invoice_bank(case, "7701234567", "40603810000000000009", "044525225").await.unwrap();
        let done = t.store.export_payment_orders(&file, at("2026-11-02", 10)).await.unwrap();
        assert_eq!(done.orders.len(), 1);
        let number = done.orders[0].number;
        let bytes = std::fs::read(&file).unwrap();
        assert!(std::str::from_utf8(&bytes).is_err(), "CP1251, not UTF-8");
        assert!(bytes.windows(2).filter(|w| w == b"\r\n").count() > 30, "CRLF line ends");
        assert!(!bytes.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'), "no bare LF");
        // What a bank client reads in a `1c_to_kl` file: the header, then each order in full.
        let lines = lines_of(&bytes);
        for want in [
            "1CClientBankExchange",
            "ВерсияФормата=1.03",
            "Кодировка=Windows",
            "Отправитель=almoner",
            "ДатаСоздания=02.11.2026",
            "ВремяСоздания=10:00:00",
            "ДатаНачала=02.11.2026",
            "ДатаКонца=02.11.2026",
            "РасчСчет=40703810000000000001",
            "Документ=Платежное поручение",
            "СекцияДокумент=Платежное поручение",
            &format!("Номер={number}"),
            "Дата=02.11.2026",
            "Сумма=1000.00",
            "ПлательщикСчет=40703810000000000001",
            "Плательщик=ИНН 7701000001 БФ «Помощь»",
            "ПлательщикИНН=7701000001",
            "ПлательщикКПП=770101001",
            "Плательщик1=БФ «Помощь»",
            "ПлательщикРасчСчет=40703810000000000001",
            "ПлательщикБанк1=ПАО Сбербанк",
            "ПлательщикБИК=044525225",
            "ПлательщикКорсчет=30101810400000000225",
            "ПолучательСчет=40603810000000000009",
            "Получатель=ИНН 7701234567 НМИЦ ДГОИ",
            "ПолучательИНН=7701234567",
            "Получатель1=НМИЦ ДГОИ",
            "ПолучательРасчСчет=40603810000000000009",
            "ПолучательБИК=044525225",
            "ВидОплаты=01",
            "Очередность=5",
            "КонецДокумента",
            "КонецФайла",
        ] {
            assert!(lines.iter().any(|l| l == want), "no line {want:?} in {lines:#?}");
        }
        assert_eq!(lines.last().map(String::as_str), Some("КонецФайла"));
        // Every date in the file, the purpose's too, is ДД.ММ.ГГГГ.
        let purpose = lines.iter().find_map(|l| l.strip_prefix("НазначениеПлатежа=")).unwrap();
        assert!(purpose.starts_with("Оплата по счету СЧ-77 от 01.03.2026 за лечение"), "{purpose}");
        assert!(purpose.ends_with("Без НДС"), "{purpose}");
        let iso = regex_free_iso(&lines);
        assert!(iso.is_empty(), "ISO dates in the file: {iso:?}");
        // almoner's own parser reads it back: an order going out of the foundation's account.
        let r = parse(&bytes, None).unwrap();
        assert_eq!(r.encoding, "windows-1251");
        assert!(r.errors.is_empty() && r.warnings.is_empty(), "{:?} {:?}", r.errors, r.warnings);
        assert_eq!(r.payments.len(), 1);
        let p = &r.payments[0];
        assert_eq!(
            (p.direction, p.amount, p.payee.inn.as_deref()),
            (almoner::import::Direction::Outgoing, rub("1000"), Some("7701234567"))
        );
        assert_eq!(p.payer.account.as_deref(), Some("40703810000000000001"));
        assert_eq!(p.own_account.as_deref(), Some("40703810000000000001"));
        assert_eq!((p.number.as_str(), p.date), (number.to_string().as_str(), date("2026-11-02")));
        assert!(p.purpose.contains("от 01.03.2026"), "{}", p.purpose);
        // The bank pays it; the statement comes back; the case is paid, and no longer due.
        let done = t.store.import(&r, "orders.txt", "sha").await.unwrap();
        assert_eq!(done.pays, 1);
        assert_eq!(t.store.case(case).await.unwrap().stage, almoner::domain::Stage::Paid);
        let e = t.store.export_payment_orders(&t.dir.path().join("none.txt"), at("2026-11-03", 10)).await.unwrap_err();
        assert!(e.to_string().contains("nothing to export"), "{e}");
        assert!(!t.dir.path().join("none.txt").exists());
    }
}

/// `YYYY-MM-DD` anywhere in the lines (no regex crate in the tests).
fn regex_free_iso(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| {
            let b = l.as_bytes();
            b.windows(10).any(|w| {
                w.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
            })
        })
        .cloned()
        .collect()
}

on_both_engines! {
    async fn payment_orders_are_refused_naming_each_missing_bank_detail(t: TestDb) {
        let case = payable_case(&t, "СЧ-5").await;
        for (k, v) in &FOUNDATION[..2] {
            t.store.set_setting(k, v).await.unwrap();
        }
        t.store.set_setting("foundation_account", "40703810000000000001").await.unwrap();
        // Each new setting is checked as it is set.
        for (k, bad, why) in [
            ("foundation_bic", "04452522", "9 digits"),
            ("foundation_kpp", "7701010011", "9 digits"),
            ("foundation_corr_account", "301018104000000002", "20 digits"),
            ("foundation_bank", "  ", "unknown setting"),
        ] {
            let e = t.store.set_setting(k, bad).await.unwrap_err().to_string();
            assert!(e.contains(why), "{k}={bad:?}: {e}");
        }
        let file = t.dir.path().join("orders.txt");
        let before = fingerprint(&t.store).await;
        let e = t.store.export_payment_orders(&file, at("2026-11-02", 10)).await.unwrap_err().to_string();
        for k in ["foundation_kpp", "foundation_bank", "foundation_bic", "foundation_corr_account"] {
            assert!(e.contains(&format!("almoner config set {k} ")), "{k}: {e}");
        }
        for k in ["foundation_name", "foundation_inn", "foundation_account"] {
            assert!(!e.contains(&format!("config set {k} ")), "{k} is set: {e}");
        }
        assert!(e.contains("nothing was written"), "{e}");
        assert!(!file.exists() && !file.with_extension("part").exists(), "a file was written");
        assert_eq!(before, fingerprint(&t.store).await, "a refused export recorded something");
        // Only what is still missing is named.
        t.store.set_setting("foundation_bic", "044525225").await.unwrap();
        t.store.set_setting("foundation_bank", "ПАО Сбербанк").await.unwrap();
        let e = t.store.export_payment_orders(&file, at("2026-11-02", 10)).await.unwrap_err().to_string();
        assert!(e.contains("foundation_kpp, foundation_corr_account missing"), "{e}");
        assert!(!e.contains("config set foundation_bic"), "{e}");
        assert!(!file.exists());
        foundation_details(&t).await;
        let done = t.store.export_payment_orders(&file, at("2026-11-02", 10)).await.unwrap();
        assert_eq!(numbered(&done), vec![(1, case)], "the refused exports used up no number");
        assert!(file.exists());
    }
}

on_both_engines! {
    async fn payment_order_numbers_are_never_given_twice(t: TestDb) {
        foundation_details(&t).await;
        let a = payable_case(&t, "СЧ-1").await;
        let b = payable_case(&t, "СЧ-2").await;
        let first = t.store.export_payment_orders(&t.dir.path().join("1.txt"), at("2026-11-02", 10)).await.unwrap();
        let mut got = numbered(&first);
        got.sort_by_key(|g| g.1);
        assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), vec![a, b]);
        assert_ne!(got[0].0, got[1].0, "two invoices, one number: {got:?}");
        let (na, nb) = (got[0].0, got[1].0);
        // A third case comes due: the two keep their numbers, it gets one of its own.
        let c = payable_case(&t, "СЧ-3").await;
        let second = t.store.export_payment_orders(&t.dir.path().join("2.txt"), at("2026-11-03", 10)).await.unwrap();
        let mut again = numbered(&second);
        again.sort_by_key(|g| g.1);
        let nc = again.iter().find(|g| g.1 == c).unwrap().0;
        assert_eq!(again, vec![(na, a), (nb, b), (nc, c)]);
        assert!(nc != na && nc != nb);
        // An invoice changed since its export is another document: a new number, and a warning.
        t.store.set_invoice_bank(b, "7701234567", "40603810000000000017", "044525225").await.unwrap();
        let third = t.store.export_payment_orders(&t.dir.path().join("3.txt"), at("2026-11-04", 10)).await.unwrap();
        let nb2 = third.orders.iter().find(|o| o.case == b).unwrap().number;
        assert!(![na, nb, nc].contains(&nb2), "{nb2} was given before");
        let warned = third.before.iter().find(|w| w.case == b).unwrap().note(date("2026-11-04"));
        assert!(
            warned.contains(&format!("order {nb} for case {b} was last exported on 03.11.2026"))
                && warned.contains(&format!("it is order {nb2} now"))
                && warned.contains(&format!("does not carry out order {nb} too")),
            "{warned}"
        );
        // Two exports at the same moment, by two people: one number per invoice, and no number
        // for two invoices.
        let d = payable_case(&t, "СЧ-4").await;
        let (anna, boris) = (t.as_actor("anna").await, t.as_actor("boris").await);
        let (fa, fb) = (t.dir.path().join("anna.txt"), t.dir.path().join("boris.txt"));
        let (x, y) = tokio::join!(
            anna.export_payment_orders(&fa, at("2026-11-05", 10)),
            boris.export_payment_orders(&fb, at("2026-11-05", 10))
        );
        let (mut x, mut y) = (numbered(&x.unwrap()), numbered(&y.unwrap()));
        x.sort_by_key(|g| g.1);
        y.sort_by_key(|g| g.1);
        assert_eq!(x, y, "the same invoices, the same orders");
        let nd = x.iter().find(|g| g.1 == d).unwrap().0;
        assert!(![na, nb, nc, nb2].contains(&nd), "{nd} was given before");
        let all: std::collections::BTreeSet<i64> = x.iter().map(|g| g.0).collect();
        assert_eq!(all.len(), 4, "{x:?}");
        anna.close().await;
        boris.close().await;
    }
}

on_both_engines! {
    async fn a_re_export_says_when_each_order_was_exported_before(t: TestDb) {
        foundation_details(&t).await;
        let case = payable_case(&t, "СЧ-9").await;
        let first_file = t.dir.path().join("orders.txt");
        let first = t.store.export_payment_orders(&first_file, at("2026-11-02", 10)).await.unwrap();
        assert!(first.before.is_empty(), "{:?}", first.before);
        let number = first.orders[0].number;
        // Anna exports again three days later: the same document, and she is told of the first.
        let anna = t.as_actor("anna").await;
        let again_file = t.dir.path().join("again.txt");
        let again = anna.export_payment_orders(&again_file, at("2026-11-05", 9)).await.unwrap();
        assert_eq!((again.orders[0].number, again.orders[0].date), (number, date("2026-11-02")));
        let note = again.before[0].note(date("2026-11-05"));
        assert_eq!(
            note,
            format!(
                "order {number} for case {case} was exported on 02.11.2026 at 10:00 by tester to {}: written again with the same number and date (02.11.2026)",
                first_file.display()
            )
        );
        let lines = lines_of(&std::fs::read(&again_file).unwrap());
        let numbered_line = format!("Номер={number}");
        for want in [&numbered_line, "Дата=02.11.2026", "ДатаНачала=02.11.2026", "ДатаКонца=05.11.2026", "ДатаСоздания=05.11.2026"] {
            assert!(lines.iter().any(|l| l == want), "no {want:?} in {lines:#?}");
        }
        // Later still: the last export and how many, and a word on the order's age.
        let late = t.store.export_payment_orders(&t.dir.path().join("late.txt"), at("2026-11-20", 9)).await.unwrap();
        assert_eq!(late.orders[0].number, number);
        let note = late.before[0].note(date("2026-11-20"));
        assert!(
            note.contains(&format!(
                "last exported on 05.11.2026 at 09:00 by anna to {} (2 exports in all)",
                again_file.display()
            )),
            "{note}"
        );
        assert!(note.contains("within 10 days of its date"), "{note}");
        anna.close().await;
    }
}

on_both_engines! {
    async fn a_register_that_does_not_reconcile_goes_in_only_with_a_reason_and_waits_on_the_queue(t: TestDb) {
        let bytes = unreconciled_1c();
        let r = parse(&bytes, None).unwrap();
        let before = fingerprint(&t.store).await;
        let p = t.store.preview_import(&r, "march.txt").await.unwrap();
        assert!(p.refused(), "{:?}", p.problems);
        assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
        // The unreadable amount is named on the line that holds it.
        let text = String::from_utf8_lossy(&bytes);
        let sum_line = text.lines().position(|l| l == "Сумма=3OO.50").unwrap() + 1;
        assert_eq!(p.errors[0].line, sum_line, "{:?}", p.errors);
        assert!(p.problems[0].starts_with(&format!("line {sum_line}: Сумма")), "{:?}", p.problems);
        assert!(p.problems[1].contains("ВсегоПоступило") && p.problems[1].contains("181,800.50"), "{:?}", p.problems);
        // Committed without a word: refused, and nothing at all written (no batch either).
        let e = t.store.import(&r, "march.txt", "sha").await.unwrap_err();
        assert!(matches!(e, almoner::Error::Unreconciled(_)), "{e}");
        assert!(e.to_string().contains(&format!("line {sum_line}")) && e.to_string().contains("--accept-problems"), "{e}");
        assert_eq!(before, fingerprint(&t.store).await, "a refused import wrote something");
        assert!(t.store.import_batches().await.unwrap().is_empty());
        // Accepted with a reason: the readable payment goes in; the batch keeps who, why and which.
        let why = "the bank will resend document 2";
        let decisions = Decisions { accept_problems: Some(why.into()), ..Decisions::default() };
        let done = t.store.import_decided(&r, "march.txt", "sha", decisions, false).await.unwrap();
        assert_eq!((done.new, done.invalid), (1, 1));
        let batch = &t.store.import_batches().await.unwrap()[0];
        assert_eq!((batch.accepted_by.as_deref(), batch.accepted_reason.as_deref()), (Some("tester"), Some(why)));
        assert_eq!(batch.problems, p.problems);
        // It waits on the bookkeeper's queue, saying who accepted it and why, until dealt with.
        let roles = [almoner::domain::Role::Bookkeeper];
        let queue = t.store.work_queue("tester", &roles, chrono::Utc::now(), 50).await.unwrap();
        let mine: Vec<_> = queue.iter().filter(|w| w.target == almoner::store::Target::Batch(batch.id)).collect();
        assert_eq!(mine.len(), 2, "{queue:?}");
        assert!(mine.iter().all(|w| w.why.contains(why)), "{mine:?}");
        assert!(mine.iter().any(|w| w.what == "totals differ"), "{mine:?}");
        t.store.dismiss_batch(batch.id).await.unwrap();
        let queue = t.store.work_queue("tester", &roles, chrono::Utc::now(), 50).await.unwrap();
        assert!(queue.iter().all(|w| w.target != almoner::store::Target::Batch(batch.id)), "{queue:?}");
        // The same register again adds nothing, and no batch is recorded.
        let decisions = Decisions { accept_problems: Some(why.into()), ..Decisions::default() };
        let again = t.store.import_decided(&r, "march.txt", "sha", decisions, false).await.unwrap();
        assert_eq!((again.new, again.duplicate, again.batch), (0, 1, None));
        assert_eq!(t.store.import_batches().await.unwrap().len(), 1);
    }

    async fn a_payment_of_nothing_is_refused_alike_by_the_preview_and_the_commit(t: TestDb) {
        let text = ":20:STMT\r\n:25:DE12345678/0001\r\n:28C:1/1\r\n:60F:C260301EUR100,00\r\n\
                    :61:260302C0,00NTRFNONREF\r\n:86:Spende\r\n:61:260302C5,00NTRFREF2\r\n:86:Spende\r\n\
                    :62F:C260302EUR105,00\r\n-\r\n";
        let r = parse(text.as_bytes(), None).unwrap();
        let p = t.store.preview_import(&r, "zero.940").await.unwrap();
        assert_eq!((p.new, p.invalid), (1, 1), "{:?}", p.errors);
        assert_eq!(p.errors[0].line, 5, "{:?}", p.errors);
        assert!(p.errors[0].message.contains("a payment of nothing"), "{:?}", p.errors);
        let e = t.store.import(&r, "zero.940", "sha").await.unwrap_err().to_string();
        assert!(e.contains("line 5") && !e.contains("CHECK"), "{e}");
        let decisions = Decisions { accept_problems: Some("a bank's zero line".into()), ..Decisions::default() };
        let done = t.store.import_decided(&r, "zero.940", "sha", decisions, false).await.unwrap();
        assert_eq!((done.new, done.invalid), (1, 1));
    }
}

on_both_engines! {
    async fn an_mt940_payment_an_earlier_almoner_keyed_otherwise_is_held_back_for_a_person(t: TestDb) {
        // A statement imported before MT940 keys changed (as migration 0025 marks it), and the
        // same day again under another statement reference, with the keys made the new way.
        let text = |reference: &str, text86: &str| {
            format!(
                ":20:{reference}\r\n:25:DE12345678/0001\r\n:28C:1/1\r\n:60F:C260301EUR0,00\r\n\
                 :61:260302C5,00NTRFREF2\r\n:86:{text86}\r\n:62F:C260302EUR5,00\r\n-\r\n"
            )
        };
        let first = parse(text("OLD", "Spende").as_bytes(), None).unwrap();
        let done = t.store.import(&first, "old.940", "o").await.unwrap();
        raw(&t.store, &format!("INSERT INTO settings (key, value) VALUES ('mt940_old_keys_until_batch', '{}')", done.batch.unwrap())).await;
        let again = parse(text("NEW", "Spende Kinderhilfe").as_bytes(), None).unwrap();
        let p = t.store.preview_import(&again, "new.940").await.unwrap();
        assert_eq!((p.new, p.duplicate), (0, 1));
        assert!(p.refused() && p.problems[0].contains("earlier almoner"), "{:?}", p.problems);
        assert!(matches!(t.store.import(&again, "new.940", "n").await, Err(almoner::Error::Unreconciled(_))));
        // A payment of another day is not held back.
        let other = parse(text("NEW", "Spende").replace("260302C5", "260303C5").as_bytes(), None).unwrap();
        let p = t.store.preview_import(&other, "other.940").await.unwrap();
        assert_eq!(p.new, 1, "{:?}", p.problems);
    }
}

on_both_engines! {
    async fn a_statement_that_names_no_currency_waits_for_one_and_never_becomes_roubles(t: TestDb) {
        // No opening balance, so no currency named for the statement's entries.
        let text = ":20:NOCUR\r\n:25:DE12345678/0001\r\n:28C:1/1\r\n\
                    :61:260302C5,00NTRFREF2\r\n:86:Spende\r\n:62F:C260302EUR5,00\r\n-\r\n";
        let r = parse(text.as_bytes(), None).unwrap();
        let p = t.store.preview_import(&r, "nocur.940").await.unwrap();
        assert_eq!((p.new, p.invalid), (0, 1), "{:?}", p.errors);
        assert!(p.errors[0].message.contains("--currency"), "{:?}", p.errors);
        assert!(matches!(t.store.import(&r, "nocur.940", "n").await, Err(almoner::Error::Unreconciled(_))));
        // Said to be euros: imported as euros, and shown so.
        let eur: almoner::domain::Currency = "EUR".parse().unwrap();
        let decisions = Decisions { currency: Some(eur), ..Decisions::default() };
        let done = t.store.import_decided(&r, "nocur.940", "n", decisions, false).await.unwrap();
        assert_eq!((done.new, done.rows[0].currency), (1, eur));
        assert_eq!(one::<String>(&t.store, "SELECT currency FROM donations").await, "EUR");
    }
}

on_both_engines! {
    async fn a_returned_payment_is_kept_for_a_person_with_the_gift_it_takes_back_never_a_donation(t: TestDb) {
        let statement = |reference: &str, body: &str, close: &str| {
            format!(
                ":20:{reference}\r\n:25:DE12345678/0001\r\n:28C:1/1\r\n:60F:C260301EUR0,00\r\n{body}:62F:C260310EUR{close}\r\n-\r\n"
            )
        };
        let gift = ":61:260302C50,00NTRFREF1\r\n:86:/NAME/Anna Schmidt/REMI/Spende\r\n";
        let first = parse(statement("S1", gift, "50,00").as_bytes(), None).unwrap();
        t.store.import(&first, "s1.940", "1").await.unwrap();
        // The bank takes the gift back (AC04: account closed).
        let back = ":61:260305RC50,00NTRFREF1\r\n:86:/RTRN/AC04/NAME/Anna Schmidt/REMI/Spende\r\n";
        let second = parse(statement("S2", back, "-50,00").replace(":62F:C260310EUR-50,00", ":62F:D260310EUR50,00").as_bytes(), None).unwrap();
        let p = t.store.preview_import(&second, "s2.940").await.unwrap();
        assert_eq!((p.new, p.returned, p.refused()), (0, 1, false), "{:?} {:?}", p.rows, p.problems);
        let note = p.rows[0].payment_note.clone().unwrap();
        let donation: i64 = one(&t.store, "SELECT id FROM donations").await;
        assert!(note.contains(&format!("takes back donation {donation}")), "{note}");
        let done = t.store.import(&second, "s2.940", "2").await.unwrap();
        let batch = done.batch.expect("a return is recorded in a batch");
        assert_eq!(one::<i64>(&t.store, "SELECT COUNT(*) FROM donations").await, 1, "a return is never a donation");
        assert_eq!(one::<i64>(&t.store, "SELECT donation_id FROM returns").await, donation);
        let roles = [almoner::domain::Role::Bookkeeper];
        let queue = t.store.work_queue("tester", &roles, chrono::Utc::now(), 50).await.unwrap();
        assert!(queue.iter().any(|w| w.what == "returned" && w.target == almoner::store::Target::Batch(batch)), "{queue:?}");
        // The same statement again adds nothing, and records no batch.
        let again = t.store.import(&second, "s2.940", "2").await.unwrap();
        assert_eq!((again.returned, again.duplicate, again.batch), (0, 1, None));
        // Dealt with: off the queue. Undone: the return goes with its batch.
        t.store.dismiss_batch(batch).await.unwrap();
        let queue = t.store.work_queue("tester", &roles, chrono::Utc::now(), 50).await.unwrap();
        assert!(!queue.iter().any(|w| w.what == "returned"), "{queue:?}");
        t.store.undo_import(batch).await.unwrap();
        assert_eq!(one::<i64>(&t.store, "SELECT COUNT(*) FROM returns").await, 0);
        assert_invariants(&t.store).await;
    }
}

/// Makes a register of so many entries.
type Generator = dyn Fn(usize) -> Vec<u8>;

/// The fastest of three readings of `bytes`, in seconds.
fn fastest_read(bytes: &[u8]) -> f64 {
    (0..3)
        .map(|_| {
            let started = std::time::Instant::now();
            let r = parse(bytes, None).unwrap();
            assert!(!r.payments.is_empty());
            started.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

/// Every parser reads in time linear in its entries: eight times the entries may cost (very
/// generously) up to 24 times the time, where a quadratic reading would cost 64 times. The
/// camt reader has a stricter guard of its own, counting its work.
#[test]
fn every_parser_reads_in_time_linear_in_its_entries() {
    let mt940 = |n: usize| {
        let mut s = ":20:LIN\r\n:25:DE12345678/0001\r\n:28C:1/1\r\n:60F:C260101EUR0,00\r\n".to_string();
        for i in 0..n {
            s.push_str(&format!(":61:2601{:02}C{},00NTRFREF{i}\r\n:86:Spende {i}\r\n", i % 28 + 1, i % 900 + 1));
        }
        let total: usize = (0..n).map(|i| i % 900 + 1).sum();
        s.push_str(&format!(":62F:C260131EUR{total},00\r\n-\r\n"));
        s.into_bytes()
    };
    let onec = |n: usize| {
        let mut s =
            "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\nРасчСчет=40703810000000000001\r\n"
                .to_string();
        for i in 0..n {
            s.push_str(&format!(
                "СекцияДокумент=Платежное поручение\r\nНомер={i}\r\nДата=02.03.2026\r\nСумма={}.00\r\n\
                 ПлательщикСчет=40817810000000000001\r\nПлательщик=Иванов {i}\r\nДатаПоступило=02.03.2026\r\n\
                 ПолучательСчет=40703810000000000001\r\nПолучатель=Фонд\r\nНазначениеПлатежа=Пожертвование {i}\r\nКонецДокумента\r\n",
                i % 900 + 1
            ));
        }
        s.push_str("КонецФайла\r\n");
        s.into_bytes()
    };
    let cloudpayments = |n: usize| {
        let mut s = "TransactionId,Amount,Currency,CreatedDateIso,Email,Status,TotalFee\n".to_string();
        for i in 0..n {
            s.push_str(&format!("{i},{}.00,RUB,2026-03-02T10:00:00,d{i}@example.org,Completed,1.00\n", i % 900 + 2));
        }
        s.into_bytes()
    };
    let formats: [(&str, &Generator); 3] = [("MT940", &mt940), ("1C", &onec), ("CloudPayments", &cloudpayments)];
    for (name, make) in formats {
        let (small, large) = (fastest_read(&make(2_000)), fastest_read(&make(16_000)));
        eprintln!("{name}: 2 000 entries {small:.4} s, 16 000 {large:.4} s, ratio {:.1}", large / small);
        assert!(large < small * 24.0, "{name}: 2 000 entries in {small:.4} s, 16 000 in {large:.4} s");
    }
}

on_both_engines! {
    async fn undoing_a_batch_takes_back_the_payment_it_recorded_and_the_case_returns_to_payment(t: TestDb) {
        use almoner::domain::{DocKind, Stage};
        let case = case_in_payment(&t, "СЧ-77").await;
        let r = parse(&statement_paying("1000.00", "Оплата по счету СЧ-77 от 01.03.2026 за лечение"), None).unwrap();
        let done = t.store.import(&r, "out.txt", "sha").await.unwrap();
        assert_eq!(t.store.case_file(case).await.unwrap().case.stage, Stage::Paid);
        t.store.undo_import(done.batch.unwrap()).await.unwrap();
        // Back in payment, the move in its history, no payment order and no paper of it left.
        let file = t.store.case_file(case).await.unwrap();
        assert_eq!(file.case.stage, Stage::Payment);
        let last = file.history.last().unwrap();
        assert_eq!((last.from, last.to), (Some(Stage::Paid), Stage::Payment));
        assert!(last.reason.as_deref().unwrap().contains("undone"), "{last:?}");
        assert!(file.payment_order.is_none(), "{:?}", file.payment_order);
        assert!(!file.documents.iter().any(|d| d.kind == DocKind::PaymentOrder), "{:?}", file.documents);
        assert_invariants(&t.store).await;
        // Imported again it pays the case again; closed since, the batch cannot be undone.
        let again = t.store.import(&r, "out.txt", "sha").await.unwrap();
        assert_eq!(t.store.case_file(case).await.unwrap().case.stage, Stage::Paid);
        let act = t.file("act.pdf", "акт выполненных работ");
        t.store.attach(case, DocKind::Act, &act).await.unwrap();
        t.store.advance(case, Stage::Closed, None).await.unwrap();
        let before = fingerprint(&t.store).await;
        let e = t.store.undo_import(again.batch.unwrap()).await.unwrap_err().to_string();
        assert!(e.contains(&format!("case {case} is closed")), "{e}");
        assert_eq!(before, fingerprint(&t.store).await, "a refused undo wrote something");
    }
}

on_both_engines! {
    async fn a_gift_in_euros_is_refused_for_a_rouble_case_by_the_preview_as_by_the_commit(t: TestDb) {
        let case = fundraising_case(&t, rub("5000")).await;
        let text = ":20:EUR1\r\n:25:DE12345678/0001\r\n:28C:1/1\r\n:60F:C260301EUR0,00\r\n\
                    :61:260302C1405,31NTRFREF1\r\n:86:Spende\r\n:62F:C260302EUR1405,31\r\n-\r\n";
        let r = parse(text.as_bytes(), None).unwrap();
        let mut decisions = Decisions::default();
        decisions.by_line.insert(5, Some(case));
        let before = fingerprint(&t.store).await;
        for dry_run in [true, false] {
            let e = t.store.import_decided(&r, "eur.940", "e", decisions.clone(), dry_run).await.unwrap_err().to_string();
            assert!(e.contains("a gift in EUR cannot be designated to case") && e.contains("raises RUB"), "{e}");
        }
        assert_eq!(before, fingerprint(&t.store).await);
        // Kept unrestricted it goes in, in euros, and the preview row says so.
        let p = t.store.import(&r, "eur.940", "e").await.unwrap();
        assert_eq!((p.new, p.rows[0].currency.as_str()), (1, "EUR"));
    }
}

on_both_engines! {
    async fn a_statement_pays_a_case_invoice_by_invoice_and_undo_takes_back_one(t: TestDb) {
        use almoner::domain::{DocKind, Program, Stage};
        use almoner::store::{InvoiceChange, NewInvoice};
        let s = &t.store;
        let case = new_case(s, Program::Treatment, Money::ZERO).await;
        s.qualify(case, "нейробластома", "химиотерапия", true).await.unwrap();
        s.advance(case, Stage::Documents, None).await.unwrap();
        s.record_invoice(case, "СЧ-77", chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), rub("600"), "НМИЦ").await.unwrap();
        let second = NewInvoice {
            number: "СЧ-78".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            amount: rub("400"),
            payee: "НМИЦ".into(),
            bank: None,
        };
        s.change_invoice(case, &second, InvoiceChange::Also, None).await.unwrap();
        for kind in [DocKind::Invoice, DocKind::MedicalReport, DocKind::PublicationConsent] {
            s.attach(case, kind, &t.file(&format!("{kind}.pdf"), "x")).await.unwrap();
        }
        s.advance(case, Stage::Fundraising, None).await.unwrap();
        let d = give(s, "1000").await;
        s.allocate(d, &Plan::Lines(vec![(case, rub("1000"))]), None, None).await.unwrap();
        // The first invoice paid: the case waits for the second.
        let one = parse(&statement_paying("600.00", "Оплата по счету СЧ-77 за лечение"), None).unwrap();
        let p = t.store.import(&one, "one.txt", "1").await.unwrap();
        assert_eq!((p.pays, stage(s, case).await), (1, Stage::Payment));
        // The same invoice again in another file pays nothing twice.
        let again = parse(&statement_paying("600.00", "Оплата по счету СЧ-77 повторно"), None).unwrap();
        assert_eq!(t.store.preview_import(&again, "again.txt").await.unwrap().pays, 0);
        let two = parse(&statement_paying("400.00", "Оплата по счету СЧ-78 за лечение"), None).unwrap();
        let done = t.store.import(&two, "two.txt", "2").await.unwrap();
        assert_eq!((done.pays, stage(s, case).await), (1, Stage::Paid));
        // Undone, the second invoice is to pay again and the case back in payment; the first stays paid.
        t.store.undo_import(done.batch.unwrap()).await.unwrap();
        let f = s.case_file(case).await.unwrap();
        assert_eq!(f.case.stage, Stage::Payment);
        let paid: Vec<(&str, bool)> = f.invoices.iter().map(|i| (i.number.as_str(), i.paid)).collect();
        assert_eq!(paid, vec![("СЧ-77", true), ("СЧ-78", false)]);
        assert_invariants(s).await;
    }
}
