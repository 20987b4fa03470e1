//! Registers streamed from files: the streamed path finds exactly what the
//! in-memory one does on every corpus file; a long generated register imports
//! once, adds nothing the second time, and a damaged one writes nothing.

mod common;

use std::path::{Path, PathBuf};

use almoner::domain::{Designation, Money, Program};
use almoner::import::feed;
use almoner::import::generate;
use almoner::import::parse;
use almoner::import::profile::Profile;
use almoner::store::{Decisions, Preview};
use common::*;

fn nothing(_: &str, _: usize, _: usize) {}

async fn streamed(t: &TestDb, path: &Path, profile: Option<Profile>, dry_run: bool) -> almoner::error::Result<Preview> {
    let f = feed::open(path, None, profile).map_err(|e| almoner::error::Error::invalid(e.to_string()))?;
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    t.store.import_stream(f, &name, "sha", Decisions::default(), dry_run, &nothing).await
}

on_both_engines! {
    async fn streaming_any_corpus_file_finds_what_reading_it_whole_finds(t: TestDb) {
        let before = fingerprint(&t.store).await;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        let mut files: Vec<PathBuf> = Vec::new();
        for dir in ["1c", "camt053", "mt940", "other"] {
            files.extend(std::fs::read_dir(root.join(dir)).unwrap().map(|e| e.unwrap().path()));
        }
        assert!(files.len() >= 60);
        for path in files {
            let whole = parse(&std::fs::read(&path).unwrap(), None);
            let stream = streamed(&t, &path, None, true).await;
            match (whole, stream) {
                (Err(a), Err(b)) => assert!(b.to_string().contains(&a.to_string()), "{}: {a} / {b}", path.display()),
                (Ok(register), Ok(s)) => {
                    let w = t.store.preview_import(&register, "x").await.unwrap();
                    let counts =
                        |p: &Preview| (p.new, p.duplicate, p.invalid, p.outgoing, p.internal, p.unknown, p.refunds);
                    assert_eq!(counts(&w), counts(&s), "{}", path.display());
                    assert_eq!((w.incoming_total, w.outgoing_total), (s.incoming_total, s.outgoing_total));
                    assert_eq!(w.checks, s.checks, "{}", path.display());
                    assert_eq!(w.errors, s.errors, "{}", path.display());
                    assert_eq!(w.encoding, s.encoding, "{}", path.display());
                    let keys = |p: &Preview| p.rows.iter().map(|r| r.external_key.clone()).collect::<Vec<_>>();
                    assert_eq!(keys(&w), keys(&s), "{}", path.display());
                }
                (a, b) => panic!("{}: whole {:?} but streamed {:?}", path.display(), a.err(), b.err()),
            }
        }
        assert_eq!(before, fingerprint(&t.store).await, "dry runs wrote nothing");
    }
}

on_both_engines! {
    async fn a_long_generated_register_imports_once_and_reconciles(t: TestDb) {
        let rows = 25_000;
        let onec = t.dir.path().join("month.txt");
        generate::write_1c(&onec, rows, 7).unwrap();
        let total = Money::from_minor(generate::total(rows, 7) as i64);

        let first = streamed(&t, &onec, None, false).await.unwrap();
        assert_eq!((first.new, first.duplicate, first.invalid), (rows as usize, 0, 0));
        assert_eq!(first.incoming_total, total);
        assert!(first.checks.iter().all(|c| c.ok), "{:?}", first.checks);
        assert_eq!(first.rows.len() + first.rows_omitted, rows as usize);
        let in_db: i64 = one(&t.store, "SELECT CAST(SUM(amount) AS BIGINT) FROM donations").await;
        assert_eq!(in_db, total.minor());
        let donors: i64 = one(&t.store, "SELECT COUNT(*) FROM donors").await;
        // 25 000 gifts from 20 000 possible donors: about 20 000 × (1 − e^−1.25) ≈ 14 270 different ones.
        assert!((13_500..15_000).contains(&donors), "donors recognised by INN across the month: {donors}");

        // The same payments as a CSV through a profile: all already there.
        let csv = t.dir.path().join("month.csv");
        generate::write_csv(&csv, rows, 7).unwrap();
        let profile = Profile::parse(generate::CSV_PROFILE, "generated.toml").unwrap();
        let again = streamed(&t, &onec, None, false).await.unwrap();
        assert_eq!((again.new, again.duplicate), (0, rows as usize));
        let via_csv = streamed(&t, &csv, Some(profile), true).await.unwrap();
        assert_eq!((via_csv.new, via_csv.incoming_total), (rows as usize, total), "another format, other keys");
        assert_invariants(&t.store).await;
    }
}

on_both_engines! {
    async fn a_long_register_cut_off_writes_nothing(t: TestDb) {
        let path = t.dir.path().join("cut.txt");
        generate::write_1c(&path, 5_000, 3).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 200]).unwrap();
        let before = fingerprint(&t.store).await;
        let err = streamed(&t, &path, None, false).await.unwrap_err().to_string();
        assert!(err.contains("КонецДокумента") || err.contains("КонецФайла"), "{err}");
        assert_eq!(before, fingerprint(&t.store).await);
        // Nor does it leave the long import's settings (a 64 MB page cache, no memory map) on the
        // connection it used: every connection of the pool, held at once, has the usual ones.
        if t.store.is_postgres() {
            return;
        }
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(t.store.pool().unwrap().acquire().await.unwrap());
        }
        for conn in &mut held {
            let cache: i64 = sqlx::query_scalar("PRAGMA cache_size").fetch_one(&mut **conn).await.unwrap();
            let mmap: i64 = sqlx::query_scalar("PRAGMA mmap_size").fetch_one(&mut **conn).await.unwrap();
            let zeroed: i64 = sqlx::query_scalar("PRAGMA secure_delete").fetch_one(&mut **conn).await.unwrap();
            assert_eq!((cache, mmap, zeroed), (-2000, 2_147_418_112, 1));
        }
    }
}

on_both_engines! {
    async fn a_card_export_streamed_keeps_refunded_payments_out_and_a_partial_refund_in(t: TestDb) {
        let path = t.dir.path().join("cp.csv");
        std::fs::write(
            &path,
            "TransactionId,Amount,CreatedDateIso,Email,Status,Type,OriginalTransactionId\n\
             1,700.00,2026-03-01T10:00:00,a@x.org,Completed,0,\n\
             2,700.00,2026-03-02T10:00:00,a@x.org,Completed,1,1\n\
             3,1000.00,2026-03-03T10:00:00,b@x.org,Completed,0,\n\
             4,200.00,2026-03-04T10:00:00,b@x.org,Completed,1,3\n",
        )
        .unwrap();
        let p = streamed(&t, &path, None, false).await.unwrap();
        assert_eq!((p.new, p.refunds), (1, 3), "{:?}", p.rows);
        assert_eq!(p.rows[0].status, almoner::store::RowStatus::Refunded);
        assert!(p.rows[1].payment_note.as_deref().unwrap().contains("refunds line 2"), "{:?}", p.rows[1]);
        assert_eq!(p.rows[2].status, almoner::store::RowStatus::New, "a partial refund leaves the gift a donation");
        assert!(p.rows[3].payment_note.as_deref().unwrap().contains("record the return by hand"), "{:?}", p.rows[3]);
        let sum: i64 = one(&t.store, "SELECT CAST(SUM(amount) AS BIGINT) FROM donations").await;
        assert_eq!(sum, 1000_00);
    }
}

/// The donations table's indexes and triggers, as the schema states them.
async fn donation_indexes(t: &TestDb) -> Vec<(String, Option<String>)> {
    let sql = if t.store.is_postgres() {
        "SELECT indexname::TEXT, indexdef FROM pg_indexes WHERE tablename = 'donations'
         UNION ALL SELECT tgname::TEXT, pg_get_triggerdef(oid) FROM pg_trigger
         WHERE tgrelid = 'donations'::regclass AND NOT tgisinternal ORDER BY 1"
    } else {
        "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = 'donations' ORDER BY name"
    };
    rows(&t.store, sql).await
}

/// A CSV of the generator's shape (`code,date,payee,amount,inn,note`), one row per code.
fn csv_of(path: &Path, codes: impl Iterator<Item = u64>) {
    let mut text = String::from("code,date,payee,amount,inn,note\n");
    for c in codes {
        text.push_str(&format!(
            "{c},2026/03/{:02},Донор {},{}.{:02},77{:010},Пожертвование\n",
            c % 28 + 1,
            c % 997,
            c % 50_000 + 1,
            c % 100,
            c % 997
        ));
    }
    std::fs::write(path, text).unwrap();
}

on_both_engines! {
    async fn a_long_import_loads_in_bulk_and_still_knows_every_key(t: TestDb) {
        let profile = || Some(Profile::parse(generate::CSV_PROFILE, "generated.toml").unwrap());
        let indexes = donation_indexes(&t).await;
        assert!(indexes.iter().any(|(n, _)| n == "donations_external_key"), "{indexes:?}");
        assert!(indexes.iter().any(|(n, _)| n == "donations_programs"), "{indexes:?}");

        // 300 payments in the table already: codes 24 000..24 300.
        let small = t.dir.path().join("small.csv");
        csv_of(&small, 24_000..24_300);
        assert_eq!(streamed(&t, &small, profile(), false).await.unwrap().new, 300);

        // 25 000 more, with those 300 among them after the import has outgrown the table (past
        // 20 000 new rows it drops the indexes and asks its keys of memory), and 50 repeated in the file.
        let big = t.dir.path().join("big.csv");
        csv_of(&big, (0..25_000).chain(24_900..24_950));
        let p = streamed(&t, &big, profile(), false).await.unwrap();
        assert_eq!((p.new, p.duplicate, p.invalid), (24_700, 350, 0));
        let count: i64 = one(&t.store, "SELECT COUNT(*) FROM donations").await;
        assert_eq!(count, 25_000);
        assert_eq!(donation_indexes(&t).await, indexes, "every index built again, as it was");
        assert_invariants(&t.store).await;

        // Again: nothing new, every key found through the rebuilt unique index.
        let again = streamed(&t, &big, profile(), false).await.unwrap();
        assert_eq!((again.new, again.duplicate), (0, 25_050));

        // A bulk load that fails at its end (a designation on a line holding no new payment) leaves
        // the table, and its indexes, as they were.
        let t = t.another().await;
        let more = t.dir.path().join("more.csv");
        csv_of(&more, 0..22_000);
        let before = fingerprint(&t.store).await;
        let f = feed::open(&more, None, profile()).unwrap();
        let mut decisions = Decisions::default();
        decisions.by_line.insert(1_000_000, None);
        let err = t.store.import_stream(f, "more.csv", "sha", decisions, false, &nothing).await.unwrap_err();
        assert!(err.to_string().contains("line 1000000"), "{err}");
        assert_eq!(before, fingerprint(&t.store).await);
        assert_eq!(donation_indexes(&t).await, indexes);

        // A bulk load that designates a payment after it has set the programs trigger aside records
        // that donation's programs itself, and the trigger is back for the donations that follow.
        // (A case still in qualification: nothing is placed on it, so no allocation records them.)
        let case = new_case(&t.store, Program::Equipment, Money::ZERO).await;
        let f = feed::open(&more, None, profile()).unwrap();
        let mut decisions = Decisions::default();
        // Code 21 500, on line 21 502: well past the 20 000 rows that start a bulk load.
        decisions.by_line.insert(21_502, Some(case));
        let p = t.store.import_stream(f, "more.csv", "sha", decisions, false, &nothing).await.unwrap();
        assert_eq!((p.new, p.designated), (22_000, 1));
        let programs: Vec<i64> = column(&t.store, "SELECT programs FROM donations WHERE designation_kind = 'case'").await;
        assert_eq!(programs, vec![Program::Equipment.bit()]);
        assert_eq!(donation_indexes(&t).await, indexes, "the indexes and the trigger made again, as they were");
        t.store.new_donation(&donation(rub("10"), Designation::Case(case))).await.unwrap();
        let programs: Vec<i64> = column(&t.store, "SELECT programs FROM donations WHERE designation_kind = 'case'").await;
        assert_eq!(programs, vec![Program::Equipment.bit(); 2]);
        assert_invariants(&t.store).await;
    }
}

/// Migration 22 wrote the donations' and cases' `IN (…)` checks as comparisons: SQLite no longer
/// builds a temporary index of each list for every row it writes (what made a long import slow),
/// and the checks still refuse what they refused. Rows written through the bulk path read back
/// as those written one at a time do.
#[tokio::test]
async fn checks_refuse_as_before_without_a_list_index_per_row() {
    let t = TestDb::new().await;
    for table in ["donations", "cases"] {
        let cols: Vec<String> =
            column(&t.store, &format!("SELECT name FROM pragma_table_info('{table}') WHERE pk = 0")).await;
        let marks = vec!["?"; cols.len()].join(", ");
        let plan: Vec<(i64, String)> =
            rows(&t.store, &format!("EXPLAIN INSERT INTO {table} ({}) VALUES ({marks})", cols.join(", "))).await;
        assert!(plan.iter().any(|(_, op)| op == "Insert"), "{table}: {plan:?}");
        assert!(!plan.iter().any(|(_, op)| op == "OpenEphemeral"), "{table}: {plan:?}");
    }
    let ok = "INSERT INTO donations (amount, designation_kind, received_on, channel, payer, created_at) VALUES (5, 'unrestricted', '2026-03-01', 'bank', 'x', '2026-03-01T00:00:00Z')";
    raw(&t.store, ok).await;
    for bad in
        [ok.replace("'bank'", "'fax'"), ok.replace("'unrestricted'", "'everything'"), ok.replace("'bank'", "NULL")]
    {
        let err = try_raw(&t.store, &bad).await.unwrap_err();
        assert!(err.contains("constraint failed"), "{bad}: {err}");
    }

    // A bulk import's rows, beside the one written by hand above.
    let csv = t.dir.path().join("bulk.csv");
    csv_of(&csv, 0..21_000);
    let profile = Profile::parse(generate::CSV_PROFILE, "generated.toml").unwrap();
    assert_eq!(streamed(&t, &csv, Some(profile), false).await.unwrap().new, 21_000);
    let odd: i64 = one(
        &t.store,
        "SELECT COUNT(*) FROM donations WHERE batch_id IS NOT NULL AND (received_on IS NOT date(received_on)
         OR typeof(amount) <> 'integer' OR typeof(donor_id) <> 'integer' OR julianday(created_at) IS NULL
         OR channel <> 'bank' OR currency <> 'RUB' OR subscription IS NOT NULL)",
    )
    .await;
    assert_eq!(odd, 0);
    let (last_day, last_amount): (String, i64) =
        row(&t.store, "SELECT received_on, amount FROM donations ORDER BY id DESC LIMIT 1").await;
    // Code 20 999: day 20 999 % 28 + 1, amount 21 000.99.
    assert_eq!((last_day.as_str(), last_amount), ("2026-03-28", 2_100_099));
}

/// The hash a batch records is of the file imported: it is opened at once and read from that
/// handle, whatever happens to the name meanwhile.
#[tokio::test]
async fn a_registers_hash_is_of_the_file_imported_even_if_replaced_meanwhile() {
    use almoner::import::feed::{FileHash, sha256_of};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("march.csv");
    std::fs::write(&path, "date,amount\n2026-03-01,100\n").unwrap();
    let first = sha256_of(&path).unwrap();
    let replaced = FileHash::of(&path).unwrap();
    let deleted = FileHash::of(&path).unwrap();
    let other = dir.path().join("april.csv");
    std::fs::write(&other, "date,amount\n2026-04-01,200\n").unwrap();
    std::fs::rename(&other, &path).unwrap();
    assert_ne!(sha256_of(&path).unwrap(), first);
    assert_eq!(replaced.begin().value().await.unwrap(), first);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(deleted.value().await.unwrap(), first, "read without `begin`, after the name is gone");
    let missing = FileHash::of(&path).err().expect("no such file").to_string();
    assert!(missing.contains("march.csv"), "{missing}");
}
