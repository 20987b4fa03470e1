//! Card-processor exports and mapped tables into the database: only completed
//! payments become donations, refunds are linked and keep the refunded
//! payment out, the same donor is recognised by subscription, e-mail and
//! phone across files, and re-importing adds nothing twice.

mod common;

use almoner::import::profile::Profile;
use almoner::import::{Format, parse, parse_with};
use almoner::store::RowStatus;
use common::*;

const CLOUDPAYMENTS: &str = "TransactionId,Amount,Currency,CreatedDateIso,ConfirmDateIso,Email,Name,Description,SubscriptionId,Status,Type,TestMode,OriginalTransactionId\n\
    5001,1000.00,RUB,2026-03-01T10:00:00,2026-03-01T10:00:05,Anna@Example.org,ANNA IVANOVA,На лечение,sc_77,Completed,0,false,\n\
    5002,250.00,RUB,2026-03-01T11:00:00,,boris@example.org,BORIS,,,Declined,0,false,\n\
    5003,700.00,RUB,2026-03-02T12:00:00,2026-03-02T12:00:01,vera@example.org,VERA,,,Completed,0,false,\n\
    5004,700.00,RUB,2026-03-03T09:00:00,2026-03-03T09:00:00,vera@example.org,VERA,,,Completed,1,false,5003\n\
    5005,1.00,RUB,2026-03-03T09:00:00,2026-03-03T09:00:00,test@example.org,TEST,,,Completed,0,true,\n";

async fn count(t: &TestDb, sql: &str) -> i64 {
    one(&t.store, sql).await
}

on_both_engines! {
    async fn a_cloudpayments_export_imports_completed_payments_once_and_keeps_refunded_ones_out(t: TestDb) {
        let reg = parse(CLOUDPAYMENTS.as_bytes(), None).unwrap();
        assert_eq!(reg.format, Format::CloudPayments);
        let p = t.store.import(&reg, "cp.csv", "sha-cp").await.unwrap();
        assert_eq!((p.new, p.refunds, p.invalid), (1, 2, 0), "{:?}", p.rows);
        let refunded = p.rows.iter().find(|r| r.status == RowStatus::Refunded).unwrap();
        assert_eq!(refunded.amount, rub("700"));
        let refund = p.rows.iter().find(|r| r.status == RowStatus::Refund).unwrap();
        assert!(refund.payment_note.as_deref().unwrap().contains("refunds line 4"), "{refund:?}");
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM donations WHERE channel = 'website' AND subscription = 'sc_77'").await,
            1
        );
        assert_eq!(count(&t, "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM donations").await, 1000_00);

        // The next month's export repeats a payment and brings Anna's next monthly gift under another e-mail.
        let next = "TransactionId,Amount,CreatedDateIso,Email,Name,SubscriptionId,Status\n\
            5001,1000.00,2026-03-01T10:00:00,anna@example.org,ANNA IVANOVA,sc_77,Completed\n\
            6001,1000.00,2026-04-01T10:00:00,anna.new@example.org,ANNA IVANOVA,sc_77,Completed\n";
        let p = t.store.import(&parse(next.as_bytes(), None).unwrap(), "cp2.csv", "sha-cp2").await.unwrap();
        assert_eq!((p.new, p.duplicate), (1, 1));
        assert_eq!(p.rows.iter().find(|r| r.status == RowStatus::New).unwrap().donor, "subscription");
        assert_eq!(count(&t, "SELECT COUNT(DISTINCT donor_id) FROM donations").await, 1, "one recurring donor");
        assert_invariants(&t.store).await;
    }
}

on_both_engines! {
    async fn a_refund_of_a_donation_imported_earlier_is_left_for_a_person(t: TestDb) {
        let first =
            "TransactionId,Amount,CreatedDateIso,Email,Status\n9001,300.00,2026-03-01T10:00:00,a@example.org,Completed\n";
        t.store.import(&parse(first.as_bytes(), None).unwrap(), "a.csv", "a").await.unwrap();
        let later = "TransactionId,Amount,CreatedDateIso,Email,Status,Type,OriginalTransactionId\n9002,300.00,2026-03-05T10:00:00,a@example.org,Completed,Refund,9001\n";
        let p = t.store.preview_import(&parse(later.as_bytes(), None).unwrap(), "b.csv").await.unwrap();
        assert_eq!((p.new, p.refunds), (0, 1));
        assert!(p.rows[0].payment_note.as_deref().unwrap().contains("record the return by hand"), "{:?}", p.rows[0]);
    }
}

on_both_engines! {
    async fn donors_are_recognised_by_email_and_phone_across_formats(t: TestDb) {
        let profile = Profile::parse(
            "name = \"site\"\n[columns]\ndate = \"Дата\"\namount = \"Сумма\"\npayer = \"Имя\"\nemail = \"Почта\"\nphone = \"Телефон\"\nid = \"Номер\"\n",
            "site.toml",
        )
        .unwrap();
        let csv = "Номер;Дата;Сумма;Имя;Почта;Телефон\n1;01.03.2026;500;Анна;ANNA@example.org;8 (916) 123-45-67\n2;02.03.2026;700;Анна И.;;+7 916 123 45 67\n3;03.03.2026;900;Анна;;\n";
        let reg = parse_with(csv.as_bytes(), None, Some(&profile)).unwrap();
        let p = t.store.import(&reg, "site.csv", "s").await.unwrap();
        assert_eq!(p.new, 3);
        // Rows 1 and 2 share a phone; row 3 has only a name, so it is another donor.
        assert_eq!(count(&t, "SELECT COUNT(*) FROM donors").await, 2);
        assert_eq!(
            count(&t, "SELECT COUNT(*) FROM donors WHERE phone = '+79161234567' AND email = 'anna@example.org'").await,
            1
        );
        let card =
            "TransactionId,Amount,CreatedDateIso,Email,Status\n77,100.00,2026-03-09T10:00:00,anna@EXAMPLE.org,Completed\n";
        let p = t.store.preview_import(&parse(card.as_bytes(), None).unwrap(), "cp.csv").await.unwrap();
        assert_eq!(p.rows[0].donor, "email");
        // A second import of the same table adds nothing: the profile's id column is the key.
        let again = t.store.import(&reg, "site.csv", "s").await.unwrap();
        assert_eq!((again.new, again.duplicate), (0, 3));
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

#[test]
fn spreadsheets_read_as_cloudpayments_or_through_a_profile() {
    let reg = parse(&fixture("cloudpayments.xlsx"), None).unwrap();
    assert_eq!((reg.format, reg.encoding, reg.payments.len()), (Format::CloudPayments, "xlsx", 2));
    let olga = &reg.payments[0];
    assert_eq!((olga.amount, olga.date, olga.line), (rub("1500.50"), date("2026-03-01"), 2));
    assert_eq!(olga.subscription.as_deref(), Some("sc_9"));

    let other = fixture("other.xlsx");
    let refused = parse(&other, None).unwrap_err().to_string();
    assert!(refused.contains("--profile"), "{refused}");
    let profile = Profile::parse(
        "name = \"x\"\n[columns]\ndate = \"Дата\"\namount = \"Сумма\"\npayer = \"Плательщик\"\n",
        "x.toml",
    )
    .unwrap();
    let reg = parse_with(&other, None, Some(&profile)).unwrap();
    assert_eq!((reg.payments[0].amount, reg.payments[0].date), (rub("999.99"), date("2026-03-05")));
    assert_eq!(reg.payments[0].payer.name, "Анна");
}

on_both_engines! {
    async fn a_childs_name_in_any_case_suggests_the_case_and_accepted_suggestions_designate(t: TestDb) {
        use almoner::domain::Program;
        use almoner::store::{BeneficiaryRef, Choices};
        let anna = fundraising_case(&t, rub("10000")).await; // Иванова Анна Сергеевна
        let gleb = new_case_for(
            &t.store,
            BeneficiaryRef::New { full_name: "Петров Глеб Ильич".into(), birth_date: None, city: None },
            Program::Treatment,
            rub("0"),
        )
        .await;
        open_fundraising(&t, gleb, rub("5000")).await;
        let profile =
            Profile::parse("name = \"site\"\n[columns]\ndate = 1\namount = 2\npurpose = 3\npayer = 4\n", "p.toml").unwrap();
        let csv = format!(
            "Дата;Сумма;Назначение;Кто\n01.03.2026;100;На лечение Ивановой Анне;Ольга\n01.03.2026;200;для Глеба Петрова;Олег\n\
             02.03.2026;300;по заявке №{gleb};Ирина\n02.03.2026;400;на уставную деятельность;Пётр\n"
        );
        let reg = parse_with(csv.as_bytes(), None, Some(&profile)).unwrap();
        let p = t.store.preview_import(&reg, "site.csv").await.unwrap();
        let suggested: Vec<Option<i64>> = p.rows.iter().map(|r| r.suggested_case).collect();
        assert_eq!(suggested, vec![Some(anna), Some(gleb), Some(gleb), None]);
        assert!(p.rows[0].suggestion_reason.as_deref().unwrap().contains("Ивановой Анне"), "{:?}", p.rows[0]);

        // Accept the first suggestion, and give the unrestricted gift to Gleb by hand.
        let mut choices = Choices::new();
        choices.insert(p.rows[0].external_key.clone(), anna);
        choices.insert(p.rows[3].external_key.clone(), gleb);
        let done = t.store.import_with(&reg, "site.csv", "sha", &choices).await.unwrap();
        assert_eq!(done.rows[0].designated, Some(anna));
        let on = |case: i64| {
            let store = &t.store;
            async move {
                let sql = format!("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM allocations WHERE case_id = {case}");
                one::<i64>(store, &sql).await
            }
        };
        assert_eq!((on(anna).await, on(gleb).await), (100_00, 400_00), "designated gifts are placed at once");
        assert_eq!(count(&t, "SELECT COUNT(*) FROM donations WHERE designation_kind = 'unrestricted'").await, 2);
        assert_invariants(&t.store).await;

        // A designation to a case that does not exist refuses the whole import.
        let t2 = t.another().await;
        let mut wrong = Choices::new();
        wrong.insert(p.rows[1].external_key.clone(), 999);
        let before = fingerprint(&t2.store).await;
        let err = t2.store.import_with(&reg, "site.csv", "sha", &wrong).await.unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("999"), "{err}");
        assert_eq!(before, fingerprint(&t2.store).await);
    }
}

#[test]
fn cli_accepts_suggestions_and_designates_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let bin = env!("CARGO_BIN_EXE_almoner");
    let run = |args: &[&str]| std::process::Command::new(bin).arg("--db").arg(&db).args(args).output().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(&profile, "name = \"x\"\n[columns]\ndate = 1\namount = 2\npurpose = 3\n").unwrap();
    let file = dir.path().join("r.csv");
    std::fs::write(&file, "d;a;p\n01.03.2026;100;заявка 1\n01.03.2026;200;просто так\n").unwrap();
    let p = profile.to_str().unwrap();
    let f = file.to_str().unwrap();
    // A case made for the test: line 3 goes to it; "заявка 1" names no case of an empty database.
    let made = run(&["case", "new", "--beneficiary", "Петров Глеб", "--program", "treatment", "--clinic", "НМИЦ"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let out = run(&["import", f, "--profile", p, "--dry-run", "--json", "--accept-suggestions", "--designate", "3=1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"][0]["designated"], 1, "заявка 1 now names the new case, which is in qualification");
    assert_eq!(v["rows"][1]["designated"], 1);
    assert_eq!(v["designated"], 2);
    // A designation to a case that does not exist is refused by the dry run already, naming line and case.
    let out = run(&["import", f, "--profile", p, "--dry-run", "--designate", "3=77"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("case 77 does not exist"), "{err}");
    let out = run(&["import", f, "--profile", p, "--designate", "9=1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 9 holds no new donation"));
    let out = run(&["import", f, "--profile", p, "--designate", "x"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("LINE=CASE"));
}

on_both_engines! {
    async fn totals_are_also_given_per_currency(t: TestDb) {
        let export = "TransactionId,Amount,Currency,CreatedDateIso,Email,Status\n\
            1,500.00,RUB,2026-03-01T10:00:00,a@x.org,Completed\n\
            2,10.00,USD,2026-03-01T11:00:00,b@x.org,Completed\n\
            3,250.00,RUB,2026-03-02T10:00:00,c@x.org,Completed\n";
        let p = t.store.preview_import(&parse(export.as_bytes(), None).unwrap(), "cp.csv").await.unwrap();
        assert_eq!(p.by_currency["RUB"].incoming, rub("750"));
        assert_eq!(p.by_currency["USD"].incoming, rub("10"));
        assert_eq!(p.incoming_total, rub("760"), "the plain total adds every currency up");
    }
}

/// CloudPayments' March register: three gifts on the 2nd (1 800,00 gross, 70,20 in fees, so
/// 1 729,80 paid out) and one on the 3rd.
const CP_MARCH: &str = "TransactionId,Amount,Currency,CreatedDateIso,Email,Name,Status,TotalFee\n\
    7001,1000.00,RUB,2026-03-02T10:00:00,a@x.org,ANNA,Completed,39.00\n\
    7002,500.00,RUB,2026-03-02T11:00:00,b@x.org,BORIS,Completed,19.50\n\
    7003,300.00,RUB,2026-03-02T12:00:00,c@x.org,VERA,Completed,11.70\n\
    7004,200.00,RUB,2026-03-03T09:00:00,d@x.org,GLEB,Completed,7.80\n";

/// The bank statement: CloudPayments' payout of the 2nd's gifts, and a gift by bank transfer.
fn bank_with_payout() -> Vec<u8> {
    let doc = |n: u32, sum: &str, payer: &str, inn: &str| {
        format!(
            "СекцияДокумент=Платежное поручение\r\nНомер={n}\r\nДата=04.03.2026\r\nСумма={sum}\r\n\
             ПлательщикСчет=4070281000000000{n:04}\r\nПлательщик={payer}\r\nПлательщикИНН={inn}\r\nДатаПоступило=04.03.2026\r\n\
             ПолучательСчет=40703810000000000001\r\nПолучатель=Фонд\r\nНазначениеПлатежа=Перевод средств\r\nКонецДокумента\r\n"
        )
    };
    format!(
        "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\nРасчСчет=40703810000000000001\r\n\
         СекцияРасчСчет\r\nДатаНачала=04.03.2026\r\nДатаКонца=04.03.2026\r\nРасчСчет=40703810000000000001\r\n\
         НачальныйОстаток=0.00\r\nВсегоПоступило=6729.80\r\nВсегоСписано=0.00\r\nКонечныйОстаток=6729.80\r\nКонецРасчСчет\r\n\
         {}{}КонецФайла\r\n",
        doc(1, "1729.80", "ООО \"КлаудПэйментс\"", "7708806062"),
        doc(2, "5000.00", "Иванов Иван Иванович", "")
    )
    .into_bytes()
}

async fn payouts_waiting(t: &TestDb) -> usize {
    let roles = [almoner::domain::Role::Bookkeeper];
    let queue = t.store.work_queue("tester", &roles, chrono::Utc::now(), 100).await.unwrap();
    queue.iter().filter(|w| w.what == "payout waits").count()
}

on_both_engines! {
    async fn a_processor_payout_settles_its_gifts_whichever_file_comes_first(t: TestDb) {
        let bank = parse(&bank_with_payout(), None).unwrap();
        let cp = parse(CP_MARCH.as_bytes(), None).unwrap();
        // The statement first: the payout is no donation, and waits for its gifts.
        let p = t.store.import(&bank, "bank.txt", "b").await.unwrap();
        assert_eq!((p.new, p.payouts, p.payout_total), (1, 1, rub("1729.80")), "{:?}", p.rows);
        assert_eq!(p.incoming_total, rub("5000"), "a payout is not a gift");
        let payout = p.rows.iter().find(|r| r.status == RowStatus::Payout).unwrap();
        assert!(payout.payment_note.as_deref().unwrap().contains("waits"), "{payout:?}");
        assert_eq!(payouts_waiting(&t).await, 1);
        // The register comes: the payout settles the 2nd's three gifts, and leaves the queue.
        let p = t.store.import(&cp, "cp.csv", "c").await.unwrap();
        assert_eq!(p.new, 4);
        assert_eq!(payouts_waiting(&t).await, 0);
        let s = &t.store.settlements().await.unwrap()[0];
        let settles = s.settles.unwrap();
        assert_eq!((settles.gifts, settles.gross, settles.fees), (3, rub("1800"), rub("70.20")));
        // Every gift once: 5 000 by the bank, 2 000 through CloudPayments; fees kept per gift.
        assert_eq!(count(&t, "SELECT COUNT(*) FROM donations").await, 5);
        assert_eq!(count(&t, "SELECT CAST(SUM(amount) AS BIGINT) FROM donations").await, 7000_00);
        assert_eq!(count(&t, "SELECT CAST(SUM(fee) AS BIGINT) FROM donations").await, 78_00);
        assert_eq!(count(&t, "SELECT COUNT(*) FROM donations WHERE settlement_id IS NOT NULL").await, 3);
        // Each gift shows its gross, fee and the payout that settled it.
        let anna = count(&t, "SELECT id FROM donations WHERE amount = 100000").await;
        let (gift, _) = t.store.donation(anna).await.unwrap();
        assert_eq!((gift.amount, gift.fee, gift.settled_by), (rub("1000"), rub("39"), Some(s.id)));
        // The statement again adds nothing: no payout twice, no batch.
        let again = t.store.import(&bank, "bank.txt", "b").await.unwrap();
        assert_eq!((again.new, again.payouts, again.duplicate, again.batch), (0, 0, 2, None));
        // The register undone: its gifts go, and the payout waits again.
        let cp_batch = p.batch.unwrap();
        t.store.undo_import(cp_batch).await.unwrap();
        assert_eq!(payouts_waiting(&t).await, 1);
        assert!(t.store.settlements().await.unwrap()[0].settles.is_none());
        t.store.import(&cp, "cp.csv", "c").await.unwrap();
        assert_eq!(payouts_waiting(&t).await, 0);
        assert_invariants(&t.store).await;
    }

    async fn a_payout_after_its_register_settles_at_once_and_the_preview_says_so(t: TestDb) {
        let bank = parse(&bank_with_payout(), None).unwrap();
        // An online gift typed in by hand on the same day is no gift of the processor's register:
        // it never takes part in a match.
        let mut by_hand = donation(rub("100"), almoner::domain::Designation::Unrestricted);
        by_hand.received_on = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        t.store.new_donation(&by_hand).await.unwrap();
        t.store.import(&parse(CP_MARCH.as_bytes(), None).unwrap(), "cp.csv", "c").await.unwrap();
        let p = t.store.preview_import(&bank, "bank.txt").await.unwrap();
        let payout = p.rows.iter().find(|r| r.status == RowStatus::Payout).unwrap();
        let note = payout.payment_note.as_deref().unwrap();
        assert!(note.contains("settles 3 gift(s) of 2026-03-02–2026-03-02"), "{note}");
        t.store.import(&bank, "bank.txt", "b").await.unwrap();
        assert_eq!(payouts_waiting(&t).await, 0);
        assert_eq!(count(&t, "SELECT CAST(SUM(amount) AS BIGINT) FROM donations").await, 7100_00);
        // A payout nothing adds up to (a day's gifts and a kopeck) waits; it is never a donation.
        let odd = String::from_utf8(bank_with_payout()).unwrap().replace("1729.80", "1729.81").replace("6729.80", "6729.81");
        let odd = odd.replace("Номер=1\r\n", "Номер=3\r\n").replace("Номер=2\r\n", "Номер=4\r\n");
        let p = t.store.import(&parse(odd.as_bytes(), None).unwrap(), "odd.txt", "o").await.unwrap();
        assert_eq!(p.payouts, 1);
        assert_eq!(payouts_waiting(&t).await, 1);
        assert_invariants(&t.store).await;
    }
}

on_both_engines! {
    async fn a_payout_two_runs_of_days_add_up_to_waits_and_a_person_settles_it(t: TestDb) {
        // The 2nd and the 3rd each net 1 000,00: the payout of 1 000,00 could be either day's.
        let cp = "TransactionId,Amount,CreatedDateIso,Email,Status,TotalFee\n\
            1,1030.00,2026-03-02T10:00:00,a@x.org,Completed,30.00\n\
            2,1030.00,2026-03-03T10:00:00,b@x.org,Completed,30.00\n";
        t.store.import(&parse(cp.as_bytes(), None).unwrap(), "cp.csv", "c").await.unwrap();
        let bank = String::from_utf8(bank_with_payout()).unwrap().replace("1729.80", "1000.00").replace("6729.80", "6000.00");
        let p = t.store.import(&parse(bank.as_bytes(), None).unwrap(), "bank.txt", "b").await.unwrap();
        let note = p.rows.iter().find(|r| r.status == RowStatus::Payout).unwrap().payment_note.clone().unwrap();
        assert!(note.contains("2 runs of days add up to it"), "{note}");
        assert_eq!(payouts_waiting(&t).await, 1);
        let id = t.store.settlements().await.unwrap()[0].id;
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        // Two days net 2 000,00: refused with both figures, nothing settled.
        let e = t.store.settle_payout(id, day(2), day(3)).await.unwrap_err().to_string();
        assert!(e.contains("1,000.00") && e.contains("2,000.00"), "{e}");
        assert_eq!(payouts_waiting(&t).await, 1);
        let s = t.store.settle_payout(id, day(3), day(3)).await.unwrap();
        assert_eq!((s.gifts, s.gross, s.fees), (1, rub("1030"), rub("30")));
        assert_eq!(payouts_waiting(&t).await, 0);
        assert!(t.store.settle_payout(id, day(2), day(2)).await.unwrap_err().to_string().contains("settled already"));
        assert_invariants(&t.store).await;
    }
}
