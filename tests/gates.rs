//! Every stage gate refuses with a clear message and writes nothing; the
//! automatic moves happen inside the transaction that causes them.

mod common;

use almoner::Error;
use almoner::domain::{DesignatedPolicy, Designation, DocKind, Money, Program, Stage};
use almoner::store::{BeneficiaryRef, InvoiceChange, NewInvoice, Plan};
use common::*;

async fn refused(t: &TestDb, case: i64, to: Stage, expect: &str) {
    let before = fingerprint(&t.store).await;
    let err = t.store.advance(case, to, Some("try")).await.expect_err("gate must refuse");
    let msg = err.to_string();
    assert!(matches!(err, Error::Gate { .. }), "not a gate refusal: {msg}");
    assert!(msg.contains(&format!("case {case}")) && msg.contains(expect), "unclear message: {msg}");
    assert_eq!(before, fingerprint(&t.store).await, "a refused move wrote something");
}

on_both_engines! {
    async fn qualification_gate_needs_the_checklist_with_approver(t: TestDb) {
        let id = new_case(&t.store, Program::Treatment, Money::ZERO).await;
        refused(&t, id, Stage::Documents, "qualification checklist").await;
        refused(&t, id, Stage::Fundraising, "not a step").await;
        assert!(t.store.qualify(id, "", "химиотерапия", true).await.is_err());
        assert!(t.store.qualify(id, "лейкоз", "химиотерапия", false).await.is_err());
        t.store.qualify(id, "лейкоз", "химиотерапия", true).await.unwrap();
        t.store.advance(id, Stage::Documents, None).await.unwrap();
        let file = t.store.case_file(id).await.unwrap();
        assert_eq!(file.qualification.unwrap().approved_by, "tester");
        let last = file.history.last().unwrap();
        assert_eq!((last.from, last.to, last.by.as_str()), (Some(Stage::Qualification), Stage::Documents, "tester"));
    }
}

on_both_engines! {
    async fn documents_gate_needs_every_paper_invoice_and_target(t: TestDb) {
        let id = new_case(&t.store, Program::Treatment, Money::ZERO).await;
        t.store.qualify(id, "лейкоз", "химиотерапия", true).await.unwrap();
        t.store.advance(id, Stage::Documents, None).await.unwrap();
        refused(
            &t,
            id,
            Stage::Fundraising,
            "missing documents for treatment: invoice, medical_report, publication_consent",
        )
        .await;
        for kind in [DocKind::Invoice, DocKind::MedicalReport] {
            t.store.attach(id, kind, &t.file(&format!("{kind}.pdf"), "x")).await.unwrap();
        }
        refused(&t, id, Stage::Fundraising, "publication_consent").await;
        t.store.attach(id, DocKind::PublicationConsent, &t.file("c.pdf", "consent")).await.unwrap();
        refused(&t, id, Stage::Fundraising, "invoice's number, date, amount and payee").await;
        t.store.record_invoice(id, "СЧ-77", date("2026-02-01"), rub("150 000"), "Клиника").await.unwrap();
        t.store.advance(id, Stage::Fundraising, None).await.unwrap();
        let c = t.store.case(id).await.unwrap();
        assert_eq!((c.stage, c.target), (Stage::Fundraising, rub("150000")), "target defaults to the invoice total");
    }
}

on_both_engines! {
    async fn the_foundations_own_checklist_is_what_the_documents_gate_asks_for(t: TestDb) {
        // Bad checklists are refused, naming what is wrong, and change nothing.
        for (key, value, expect) in [
            ("documents.equipment", "invoice, passport", "passport"),
            ("documents.equipment", " , ", "empty"),
            ("documents.toys", "invoice", "toys"),
        ] {
            let before = fingerprint(&t.store).await;
            let err = t.store.set_setting(key, value).await.unwrap_err().to_string();
            assert!(err.contains(expect), "{key}={value}: {err}");
            assert_eq!(before, fingerprint(&t.store).await);
        }
        t.store.set_setting("documents.equipment", "invoice, act").await.unwrap();
        let id = new_case(&t.store, Program::Equipment, Money::ZERO).await;
        t.store.qualify(id, "ДЦП", "коляска", true).await.unwrap();
        t.store.advance(id, Stage::Documents, None).await.unwrap();
        t.store.attach(id, DocKind::Invoice, &t.file("inv.pdf", "invoice")).await.unwrap();
        t.store.attach(id, DocKind::PublicationConsent, &t.file("c.pdf", "consent")).await.unwrap();
        t.store.record_invoice(id, "СЧ-1", date("2026-02-01"), rub("90 000"), "Ортомир").await.unwrap();
        refused(&t, id, Stage::Fundraising, "missing documents for equipment: act").await;
        let file = t.store.case_file(id).await.unwrap();
        assert_eq!(file.required_documents, vec![DocKind::Invoice, DocKind::Act, DocKind::PublicationConsent]);
        assert_eq!(file.missing_documents, vec![DocKind::Act]);
        t.store.attach(id, DocKind::Act, &t.file("act.pdf", "act")).await.unwrap();
        t.store.advance(id, Stage::Fundraising, None).await.unwrap();
        // Another program keeps the built-in checklist.
        let other = new_case(&t.store, Program::Treatment, Money::ZERO).await;
        let file = t.store.case_file(other).await.unwrap();
        assert_eq!(file.required_documents, vec![DocKind::Invoice, DocKind::MedicalReport, DocKind::PublicationConsent]);
    }
}

on_both_engines! {
    async fn documents_gate_refuses_without_target(t: TestDb) {
        let id = new_case(&t.store, Program::Equipment, Money::ZERO).await;
        t.store.qualify(id, "ИВЛ", "закупка", true).await.unwrap();
        t.store.advance(id, Stage::Documents, None).await.unwrap();
        t.store.attach(id, DocKind::Invoice, &t.file("i.pdf", "x")).await.unwrap();
        t.store.attach(id, DocKind::PublicationConsent, &t.file("c.pdf", "y")).await.unwrap();
        // An invoice without an amount cannot be recorded, so the target stays unset.
        assert!(t.store.record_invoice(id, "1", date("2026-01-01"), Money::ZERO, "Клиника").await.is_err());
        refused(&t, id, Stage::Fundraising, "invoice").await;
    }
}

on_both_engines! {
    async fn payment_is_automatic_and_atomic_with_the_completing_allocation(t: TestDb) {
        let case = fundraising_case(&t, rub("1000")).await;
        refused(&t, case, Stage::Payment, "moves to payment by itself").await;
        let d = give(&t.store, "1500").await;
        let out = t.store.allocate(d, &Plan::Lines(vec![(case, rub("400"))]), None, None).await.unwrap();
        assert!(out.completed.is_empty());
        assert_eq!(stage(&t.store, case).await, Stage::Fundraising);
        let out = t.store.allocate(d, &Plan::Lines(vec![(case, rub("600"))]), None, None).await.unwrap();
        assert_eq!(out.completed, vec![case]);
        assert_eq!(stage(&t.store, case).await, Stage::Payment);
        let file = t.store.case_file(case).await.unwrap();
        let last = file.history.last().unwrap();
        assert_eq!(last.to, Stage::Payment);
        assert!(last.reason.as_deref().unwrap().contains(&format!("donation {d}")));
        // The allocation and the stage change are one unit: the case, as the
        // database holds it, is never at target while still in fundraising.
        assert_invariants(&t.store).await;
        // Money can no longer go to it.
        let e = t.store.allocate(d, &Plan::Lines(vec![(case, rub("1"))]), None, None).await.unwrap_err();
        assert!(e.to_string().contains("is in payment"), "{e}");
    }
}

on_both_engines! {
    async fn reversal_below_target_returns_a_payment_case_to_fundraising(t: TestDb) {
        let case = fundraising_case(&t, rub("1000")).await;
        let d = give(&t.store, "1000").await;
        let out = t.store.allocate(d, &Plan::Lines(vec![(case, rub("1000"))]), None, None).await.unwrap();
        assert_eq!(stage(&t.store, case).await, Stage::Payment);
        assert!(t.store.reverse(out.allocation_ids[0], "  ").await.is_err(), "a reversal needs a reason");
        t.store.reverse(out.allocation_ids[0], "wrong case").await.unwrap();
        let c = t.store.case(case).await.unwrap();
        assert_eq!((c.stage, c.collected), (Stage::Fundraising, Money::ZERO));
        let e = t.store.reverse(out.allocation_ids[0], "again").await.unwrap_err();
        assert!(e.to_string().contains("already reversed"), "{e}");
        assert_invariants(&t.store).await;
    }
}

on_both_engines! {
    async fn paid_needs_a_payment_order_and_closed_needs_the_act(t: TestDb) {
        let case = fundraising_case(&t, rub("1000")).await;
        let d = give(&t.store, "1000").await;
        let out = t.store.allocate(d, &Plan::Lines(vec![(case, rub("1000"))]), None, None).await.unwrap();
        refused(&t, case, Stage::Paid, "payment order").await;
        let before = fingerprint(&t.store).await;
        let e = t.store.record_payment(case, "55", date("2026-04-01"), rub("999")).await.unwrap_err();
        assert!(e.to_string().contains("is for 999.00 but invoice СЧ-1 is for 1,000.00"), "{e}");
        assert_eq!(before, fingerprint(&t.store).await);
        t.store.record_payment(case, "55", date("2026-04-01"), rub("1000")).await.unwrap();
        assert_eq!(stage(&t.store, case).await, Stage::Paid);
        let e = t.store.reverse(out.allocation_ids[0], "too late").await.unwrap_err();
        assert!(e.to_string().contains("gone to the clinic"), "{e}");
        refused(&t, case, Stage::Closed, "act").await;
        t.store.attach(case, DocKind::Act, &t.file("act.pdf", "акт")).await.unwrap();
        t.store.advance(case, Stage::Closed, Some("act received")).await.unwrap();
        refused(&t, case, Stage::Paid, "final").await;
        assert_invariants(&t.store).await;
    }
}

on_both_engines! {
    async fn hold_and_reject_rules(t: TestDb) {
        let case = fundraising_case(&t, rub("1000")).await;
        let d = give(&t.store, "10").await;
        t.store.allocate(d, &Plan::Lines(vec![(case, rub("10"))]), None, None).await.unwrap();
        refused(&t, case, Stage::Rejected, "reverse those allocations first").await;
        t.store.advance(case, Stage::OnHold, Some("ждём выписку")).await.unwrap();
        let e = t.store.allocate(d, &Plan::Lines(vec![(case, rub("1"))]), None, None).await.unwrap_err();
        assert!(e.to_string().contains("on_hold"), "{e}");
        refused(&t, case, Stage::Documents, "resumes to where it was held from (fundraising)").await;
        t.store.advance(case, Stage::Fundraising, None).await.unwrap();
    }
}

on_both_engines! {
    async fn designated_donation_goes_to_its_case_and_the_rest_is_held(t: TestDb) {
        let case = fundraising_case(&t, rub("1000")).await;
        let beneficiary = t.store.case(case).await.unwrap().beneficiary_id;
        let (d, completed) = t.store.new_donation(&donation(rub("1500"), Designation::Case(case))).await.unwrap();
        assert_eq!(completed, vec![case], "the designated gift completed the case");
        let (don, _) = t.store.donation(d).await.unwrap();
        assert_eq!((don.allocated, don.unallocated), (rub("1000"), rub("500")));
        // Hold: the 500 cannot go to another child's case...
        let other = fundraising_case(&t, rub("300")).await;
        let e = t.store.allocate(d, &Plan::Lines(vec![(other, rub("100"))]), Some("nope"), None).await.unwrap_err();
        assert!(e.to_string().contains("policy is hold"), "{e}");
        assert!(t.store.release(d, "parents asked").await.is_err(), "release needs policy redistribute");
        // ...and is placed by itself when the same child's next case opens fundraising.
        let next =
            new_case_for(&t.store, BeneficiaryRef::Existing(beneficiary), Program::Rehabilitation, Money::ZERO).await;
        open_fundraising(&t, next, rub("2000")).await;
        let c = t.store.case(next).await.unwrap();
        assert_eq!(c.collected, rub("500"));
        assert_eq!(t.store.donation(d).await.unwrap().0.unallocated, Money::ZERO);
        assert_invariants(&t.store).await;
    }
}

on_both_engines! {
    async fn redistribute_policy_needs_a_recorded_decision(t: TestDb) {
        t.store.set_setting("designated_policy", "redistribute").await.unwrap();
        assert_eq!(t.store.designated_policy().await.unwrap(), DesignatedPolicy::Redistribute);
        assert!(t.store.set_setting("designated_policy", "keep").await.is_err());
        let case = fundraising_case(&t, rub("100")).await;
        let other = fundraising_case(&t, rub("1000")).await;
        let (d, _) = t.store.new_donation(&donation(rub("300"), Designation::Case(case))).await.unwrap();
        let e = t.store.allocate(d, &Plan::Lines(vec![(other, rub("50"))]), None, None).await.unwrap_err();
        assert!(e.to_string().contains("needs a recorded reason"), "{e}");
        t.store
            .allocate(d, &Plan::Lines(vec![(other, rub("50"))]), Some("семья просила помочь другим"), None)
            .await
            .unwrap();
        t.store.release(d, "родители согласны").await.unwrap();
        t.store.allocate(d, &Plan::Lines(vec![(other, rub("50"))]), None, None).await.unwrap();
        let audit = t.store.audit(100, Some(("donation", d))).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "donation.release" && e.actor == "tester"));
    }
}

on_both_engines! {
    async fn split_helpers_through_the_store(t: TestDb) {
        let a = fundraising_case(&t, rub("100")).await;
        let b = fundraising_case(&t, rub("1000")).await;
        let c = fundraising_case(&t, rub("1000")).await;
        let d = give(&t.store, "500.01").await;
        let out = t.store.allocate(d, &Plan::Evenly { cases: vec![c, a, b], limit: None }, None, None).await.unwrap();
        assert_eq!(out.lines, vec![(a, rub("100")), (b, rub("200.01")), (c, rub("200"))]);
        assert_eq!(out.completed, vec![a]);
        let d2 = give(&t.store, "2000").await;
        let out = t.store.allocate(d2, &Plan::OldestFirst { limit: Some(rub("900")) }, None, None).await.unwrap();
        assert_eq!(out.lines, vec![(b, rub("799.99")), (c, rub("100.01"))]);
        assert_eq!(out.unallocated_after, rub("1100"));
        assert_invariants(&t.store).await;
    }
}

on_both_engines! {
    async fn audit_log_is_append_only_in_the_database_itself(t: TestDb) {
        let case = fundraising_case(&t, rub("100")).await;
        let d = give(&t.store, "100").await;
        t.store.allocate(d, &Plan::Lines(vec![(case, rub("40"))]), None, None).await.unwrap();
        for sql in [
            "UPDATE audit_log SET actor = 'someone'",
            "DELETE FROM audit_log",
            "UPDATE allocations SET amount = 1",
            "DELETE FROM allocations",
            "DELETE FROM stage_changes",
            "UPDATE cases SET collected = target + 1",
            "UPDATE donations SET allocated = amount + 1",
        ] {
            assert!(try_raw(&t.store, sql).await.is_err(), "the database allowed: {sql}");
        }
        let entries = t.store.audit(100, None).await.unwrap();
        let alloc = entries.iter().find(|e| e.action == "allocate").unwrap();
        assert_eq!(alloc.actor, "tester");
        assert_eq!(alloc.before.as_ref().unwrap()["unallocated"], "100.00");
        assert_eq!(alloc.after.as_ref().unwrap()["unallocated"], "60.00");
    }
}

on_both_engines! {
    async fn conflict_when_figures_changed_meanwhile(t: TestDb) {
        let case = fundraising_case(&t, rub("1000")).await;
        let d = give(&t.store, "500").await;
        let seen = almoner::store::Expectation {
            donation_unallocated: Some(rub("500")),
            case_collected: vec![(case, Money::ZERO)],
        };
        t.store.allocate(d, &Plan::Lines(vec![(case, rub("100"))]), None, None).await.unwrap();
        let before = fingerprint(&t.store).await;
        let e = t.store.allocate(d, &Plan::Lines(vec![(case, rub("100"))]), None, Some(&seen)).await.unwrap_err();
        assert!(matches!(e, Error::Conflict(_)));
        assert!(e.to_string().contains("now has 400.00 unallocated (you saw 500.00)"), "{e}");
        assert_eq!(before, fingerprint(&t.store).await);
    }
}

on_both_engines! {
    async fn a_case_held_from_payment_and_reversed_resumes_to_fundraising(t: TestDb) {
        let case = fundraising_case(&t, rub("1000")).await;
        let d = give(&t.store, "1000").await;
        let out = t.store.allocate(d, &Plan::Lines(vec![(case, rub("1000"))]), None, None).await.unwrap();
        t.store.advance(case, Stage::OnHold, Some("clinic asked to wait")).await.unwrap();
        t.store.reverse(out.allocation_ids[0], "wrong child").await.unwrap();
        assert_invariants(&t.store).await;
        refused(&t, case, Stage::Payment, "resumes to where it was held from (fundraising)").await;
        t.store.advance(case, Stage::Fundraising, None).await.unwrap();
        assert_eq!(stage(&t.store, case).await, Stage::Fundraising);
        // Its place in the oldest-first queue is kept.
        let newer = fundraising_case(&t, rub("500")).await;
        let d2 = give(&t.store, "100").await;
        let out = t.store.allocate(d2, &Plan::OldestFirst { limit: None }, None, None).await.unwrap();
        assert_eq!(out.lines, vec![(case, rub("100"))], "case {case} opened before case {newer}");
        t.store.advance(newer, Stage::OnHold, Some("pause")).await.unwrap();
        t.store.advance(newer, Stage::Rejected, Some("withdrawn")).await.unwrap();
    }
}

on_both_engines! {
    async fn designated_leftover_waits_under_redistribute_and_busy_errors_read_well(t: TestDb) {
        t.store.set_setting("designated_policy", "redistribute").await.unwrap();
        let case = fundraising_case(&t, rub("100")).await;
        let (d, _) = t.store.new_donation(&donation(rub("300"), Designation::Case(case))).await.unwrap();
        let e = t.store.place_designated(d).await.unwrap_err().to_string();
        assert!(e.contains("release it"), "{e}");
        let e = t.store.allocate(d, &Plan::OldestFirst { limit: None }, Some("x"), None).await.unwrap_err().to_string();
        assert!(e.contains("no chosen fundraising case needs money"), "{e}");
    }
}

on_both_engines! {
    async fn the_same_paper_twice_is_stored_once_under_its_checksum(t: TestDb) {
        use sha2::{Digest, Sha256};
        let (a, b) = (
            new_case(&t.store, Program::Treatment, rub("1000")).await,
            new_case(&t.store, Program::Equipment, rub("2000")).await,
        );
        t.store.attach(a, DocKind::Invoice, &t.file("счёт.pdf", "one invoice")).await.unwrap();
        t.store.attach(b, DocKind::Invoice, &t.file("copy.pdf", "one invoice")).await.unwrap();
        t.store.attach(b, DocKind::Other, &t.file("other.pdf", "another paper")).await.unwrap();
        let sha = |s: &str| -> String { Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect() };
        let rows: Vec<(i64, String, String, String)> =
            rows(&t.store, "SELECT case_id, file_name, sha256, added_by FROM documents ORDER BY id").await;
        let who = rows[0].3.clone();
        assert!(!who.is_empty(), "who added it is recorded");
        assert_eq!(
            rows,
            vec![
                (a, "счёт.pdf".into(), sha("one invoice"), who.clone()),
                (b, "copy.pdf".into(), sha("one invoice"), who.clone()),
                (b, "other.pdf".into(), sha("another paper"), who),
            ]
        );
        // Two files on disk, each under its own checksum, with its content.
        let mut stored = Vec::new();
        for dir in std::fs::read_dir(t.store.documents_dir()).unwrap() {
            for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                let f = f.unwrap().path();
                stored.push((f.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&f).unwrap()));
            }
        }
        stored.sort();
        let mut expected =
            vec![(sha("one invoice"), "one invoice".to_string()), (sha("another paper"), "another paper".into())];
        expected.sort();
        assert_eq!(stored, expected);
    }
}

fn bill(number: &str, amount: &str) -> NewInvoice {
    NewInvoice {
        number: number.into(),
        date: date("2026-03-01"),
        amount: rub(amount),
        payee: "НМИЦ ДГОИ".into(),
        bank: None,
    }
}

on_both_engines! {
    async fn invoices_are_a_history_and_each_is_paid_for_its_exact_amount(t: TestDb) {
        let s = &t.store;
        let case = new_case(s, Program::Treatment, Money::ZERO).await;
        s.qualify(case, "нейробластома", "химиотерапия", true).await.unwrap();
        s.advance(case, Stage::Documents, None).await.unwrap();
        let first = s.record_invoice(case, "СЧ-1", date("2026-03-01"), rub("1000"), "НМИЦ ДГОИ").await.unwrap();
        assert_eq!(s.case(case).await.unwrap().target, rub("1000"));
        // A second invoice is never a silent replacement: say which it is.
        let before = fingerprint(s).await;
        let e = s.record_invoice(case, "СЧ-1/1", date("2026-03-02"), rub("2000"), "НМИЦ ДГОИ").await.unwrap_err();
        assert!(e.to_string().contains("--replaces") && e.to_string().contains("СЧ-1 for 1,000.00"), "{e}");
        assert_eq!(before, fingerprint(s).await);
        // The clinic's corrected bill replaces the first; the target follows it; the old one stays, withdrawn.
        let corrected = s.change_invoice(case, &bill("СЧ-1/1", "2000"), InvoiceChange::Replaces(first), Some("НДС")).await.unwrap();
        assert_eq!(s.case(case).await.unwrap().target, rub("2000"));
        let f = s.case_file(case).await.unwrap();
        assert_eq!(f.invoices.len(), 2);
        assert!(!f.invoices[0].live && f.invoices[0].replaced_by == Some(corrected), "{:?}", f.invoices);
        assert_eq!(f.invoice.as_ref().map(|i| i.id), Some(corrected));
        // A second course: the target is the sum of the live invoices.
        s.change_invoice(case, &bill("СЧ-2", "500"), InvoiceChange::Also, None).await.unwrap();
        assert_eq!(s.case(case).await.unwrap().target, rub("2500"));
        for kind in [DocKind::Invoice, DocKind::MedicalReport, DocKind::PublicationConsent] {
            s.attach(case, kind, &t.file(&format!("{kind}.pdf"), "x")).await.unwrap();
        }
        s.advance(case, Stage::Fundraising, None).await.unwrap();
        // Once raising money, a change is a correction with a reason, never below what is collected.
        let d = give(s, "2000").await;
        s.allocate(d, &Plan::Lines(vec![(case, rub("2000"))]), None, None).await.unwrap();
        let e = s.change_invoice(case, &bill("СЧ-3", "100"), InvoiceChange::Also, None).await.unwrap_err();
        assert!(e.to_string().contains("say why"), "{e}");
        let second = s.case_file(case).await.unwrap().invoices[2].id;
        let e = s.change_invoice(case, &bill("СЧ-2/1", "1"), InvoiceChange::Replaces(first), Some("x")).await.unwrap_err();
        assert!(e.to_string().contains("not a live invoice"), "{e}");
        let before = fingerprint(s).await;
        let e = s.change_invoice(case, &bill("СЧ-1/2", "1000"), InvoiceChange::Replaces(corrected), Some("скидка")).await.unwrap_err();
        assert!(e.to_string().contains("less than the 2,000.00 collected"), "{e}");
        assert_eq!(before, fingerprint(s).await);
        // The second course cheaper: the target is met, and the case moves on to payment at once.
        let third = s.change_invoice(case, &bill("СЧ-2/1", "0"), InvoiceChange::Replaces(second), Some("x")).await;
        assert!(third.is_err(), "an invoice of nothing");
        let d2 = give(s, "400").await;
        s.allocate(d2, &Plan::Lines(vec![(case, rub("400"))]), None, None).await.unwrap();
        let cheaper = s.change_invoice(case, &bill("СЧ-2/1", "400"), InvoiceChange::Replaces(second), Some("скидка клиники")).await.unwrap();
        assert_eq!((stage(s, case).await, s.case(case).await.unwrap().target), (Stage::Payment, rub("2400")));
        // Paid invoice by invoice, each for its exact amount; the case is paid when both are.
        let e = s.record_payment(case, "55", date("2026-04-01"), rub("2000")).await.unwrap_err();
        assert!(e.to_string().contains("2 invoices to pay") && e.to_string().contains("--invoice"), "{e}");
        let e = s.record_payment_for(case, Some(corrected), "55", date("2026-04-01"), rub("1000")).await.unwrap_err();
        assert!(e.to_string().contains("is for 1,000.00 but invoice СЧ-1/1 is for 2,000.00"), "{e}");
        assert!(!s.record_payment_for(case, Some(corrected), "55", date("2026-04-01"), rub("2000")).await.unwrap());
        assert_eq!(stage(s, case).await, Stage::Payment);
        assert!(s.record_payment(case, "56", date("2026-04-02"), rub("400")).await.unwrap());
        assert_eq!(stage(s, case).await, Stage::Paid);
        let f = s.case_file(case).await.unwrap();
        assert!(f.invoices.iter().filter(|i| i.live).all(|i| i.paid), "{:?}", f.invoices);
        assert!(f.invoices.iter().any(|i| i.id == cheaper && i.live));
        assert_invariants(s).await;
    }
}
