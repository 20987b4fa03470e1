//! Donor matching: recognising and creating donors a chunk at a time gives
//! exactly what one-by-one matching gives, for random payments drawn from a
//! small pool of names, INNs, e-mails, phones, subscriptions and accounts (so they
//! collide in every way); and the rules themselves on hand-picked cases.

mod common;

use almoner::store::donors::{DonorKeys, Memo, find_or_add, find_or_add_many, find_or_add_many_in};
use common::*;
use proptest::prelude::*;

fn keys() -> impl Strategy<Value = DonorKeys> {
    let pick = |pool: &'static [&'static str]| proptest::option::weighted(0.4, proptest::sample::select(pool));
    (
        proptest::sample::select(&["Анна", "Борис", "Вера"][..]),
        pick(&["7701000001", "770100000201", "7702000003"]),
        pick(&["a@x.org", "B@x.org", "b@x.org "]),
        pick(&["8 916 000-00-01", "+79160000001", "+7 916 000 00 02"]),
        pick(&["sc_1", "sc_2"]),
        pick(&["40817810000000000001", "40817 8100 0000 0000 0001", "de89370400440532013000"]),
    )
        .prop_map(|(name, inn, email, phone, sub, account)| DonorKeys {
            name: name.to_string(),
            kind: None,
            inn: inn.map(str::to_string),
            email: email.map(str::to_string),
            phone: phone.map(str::to_string),
            subscription: sub.map(str::to_string),
            account: account.map(str::to_string),
        })
}

/// Which payments share a donor, as pairs of positions, and the donors table.
type Donors = Vec<(String, String, Option<String>, Option<String>, Option<String>)>;

async fn outcome(t: &TestDb, ids: &[i64]) -> (Vec<Vec<usize>>, Donors, Vec<(String, String, i64)>) {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match ids[..i].iter().position(|x| x == id) {
            Some(first) => groups.iter_mut().find(|g| g[0] == first).unwrap().push(i),
            None => groups.push(vec![i]),
        }
    }
    let donors = rows(&t.store, "SELECT kind, name, inn, email, phone FROM donors ORDER BY id").await;
    let accounts: Vec<(String, String, i64)> =
        rows(&t.store, "SELECT account, name_key, donor_id FROM donor_accounts ORDER BY account, name_key").await;
    (groups, donors, accounts)
}

/// Matching payments a chunk at a time gives the donors matching them one by one does.
async fn chunked_is_one_by_one(
    postgres: bool,
    before: &[DonorKeys],
    payments: &[DonorKeys],
    cut: usize,
    limit: usize,
) -> Result<(), TestCaseError> {
    let db = || async { if postgres { TestDb::postgres().await } else { TestDb::new().await } };
    let (one, many) = (db().await, db().await);
    for t in [&one, &many] {
        let mut conn = t.store.connection().await.unwrap();
        for k in before {
            find_or_add(&mut conn, k).await.unwrap();
        }
    }
    let mut conn = one.store.connection().await.unwrap();
    let mut ids_one = Vec::new();
    for k in payments {
        ids_one.push(find_or_add(&mut conn, k).await.unwrap());
    }
    let mut conn = many.store.connection().await.unwrap();
    let mut ids_many = Vec::new();
    // As an import does: what earlier chunks learned is carried to the next, and forgotten
    // past a limit (0: never; small ones here, so that it is forgotten part way).
    let mut memo = Memo::new(limit);
    for chunk in payments.chunks(cut) {
        ids_many.extend(find_or_add_many_in(&mut conn, chunk, &mut memo).await.unwrap());
    }
    prop_assert_eq!(outcome(&one, &ids_one).await, outcome(&many, &ids_many).await);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn matching_a_chunk_at_a_time_is_matching_one_by_one(
        before in proptest::collection::vec(keys(), 0..6),
        payments in proptest::collection::vec(keys(), 1..25),
        cut in 1usize..25,
        limit in 0usize..40,
    ) {
        tokio::runtime::Runtime::new().unwrap().block_on(chunked_is_one_by_one(false, &before, &payments, cut, limit))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn matching_a_chunk_at_a_time_is_matching_one_by_one_on_postgres(
        before in proptest::collection::vec(keys(), 0..6),
        payments in proptest::collection::vec(keys(), 1..25),
        cut in 1usize..25,
        limit in 0usize..40,
    ) {
        tokio::runtime::Runtime::new().unwrap().block_on(chunked_is_one_by_one(true, &before, &payments, cut, limit))?;
    }
}

on_both_engines! {
    async fn the_rules_on_hand_picked_payments(t: TestDb) {
        let mut conn = t.store.connection().await.unwrap();
        let k = |name: &str, inn: Option<&str>, email: Option<&str>, phone: Option<&str>| DonorKeys {
            name: name.into(),
            inn: inn.map(Into::into),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            ..Default::default()
        };
        let anna = find_or_add(&mut conn, &k("Анна", None, Some("Anna@X.org"), None)).await.unwrap();
        // The same e-mail in another case and spelling of the name: the same donor, who now has a phone.
        assert_eq!(
            find_or_add(&mut conn, &k("АННА И.", None, Some("anna@x.org"), Some("8 (916) 111-22-33"))).await.unwrap(),
            anna
        );
        // Found by that phone, written another way.
        assert_eq!(find_or_add(&mut conn, &k("А.", None, None, Some("+7 916 111 22 33"))).await.unwrap(), anna);
        // The same name alone is not enough when the first has contacts.
        assert_ne!(find_or_add(&mut conn, &k("Анна", None, None, None)).await.unwrap(), anna);
        // An INN names an organisation for good.
        let org = find_or_add(&mut conn, &k("ООО Ромашка", Some("7701000001"), None, None)).await.unwrap();
        assert_ne!(org, anna);
        assert_eq!(find_or_add(&mut conn, &k("Ромашка", Some("7701000001"), None, None)).await.unwrap(), org);
    }
}

on_both_engines! {
    async fn the_same_name_from_the_same_account_is_the_same_donor(t: TestDb) {
        let mut conn = t.store.connection().await.unwrap();
        let k = |name: &str, inn: Option<&str>, account: Option<&str>| DonorKeys {
            name: name.into(),
            inn: inn.map(Into::into),
            account: account.map(Into::into),
            ..Default::default()
        };
        // A person who gave her INN once; later payments from her account without it.
        let olga =
            find_or_add(&mut conn, &k("Лебедева Ольга Ивановна", Some("500100732259"), Some("40817810099910004312")))
                .await
                .unwrap();
        let again =
            find_or_add(&mut conn, &k("ЛЕБЕДЕВА ОЛЬГА ИВАНОВНА", None, Some("4081 7810 0999 1000 4312"))).await.unwrap();
        assert_eq!(again, olga, "same name, same account");
        // Near misses: the same account with another name (a family account), the same name from another account.
        let husband =
            find_or_add(&mut conn, &k("Лебедев Игорь Петрович", None, Some("40817810099910004312"))).await.unwrap();
        assert_ne!(husband, olga);
        let namesake =
            find_or_add(&mut conn, &k("Лебедева Ольга Ивановна", None, Some("40817810000000000099"))).await.unwrap();
        assert_ne!(namesake, olga, "a namesake paying from another account is not matched by the account");
        // A chunk at a time, the same answer.
        let ids =
            find_or_add_many(&mut conn, &[k("ольга ивановна лебедева", None, Some("40817810099910004312"))]).await.unwrap();
        assert_eq!(ids[0], olga);
    }
}

on_both_engines! {
    async fn a_name_alone_matches_written_any_way(t: TestDb) {
        let mut conn = t.store.connection().await.unwrap();
        let k = |name: &str| DonorKeys { name: name.into(), ..Default::default() };
        let petr = find_or_add(&mut conn, &k("Иванов Пётр")).await.unwrap();
        for same in ["иванов  петр", "ПЁТР ИВАНОВ", " Иванов Петр "] {
            assert_eq!(find_or_add(&mut conn, &k(same)).await.unwrap(), petr, "{same}");
        }
        assert_ne!(find_or_add(&mut conn, &k("Иванов Павел")).await.unwrap(), petr);
        // A chunk at a time, the same.
        let ids = find_or_add_many(&mut conn, &[k("пётр иванов"), k("Иванов Павел"), k("Сидоров Пётр")]).await.unwrap();
        assert_eq!(ids[0], petr);
        assert_ne!(ids[2], petr);
    }
}

on_both_engines! {
    async fn duplicate_donors_merge_and_unmerge_with_their_money_and_later_payments_follow(t: TestDb) {
        use almoner::domain::{Channel, Designation};
        use almoner::store::NewDonation;
        let case = fundraising_case(&t, rub("10000")).await;
        let gift = |payer: &str, email: &str, amount: &str| NewDonation {
            amount: rub(amount),
            currency: almoner::domain::Currency::RUB,
            received_on: date("2026-03-01"),
            channel: Channel::Website,
            payer: payer.into(),
            donor_kind: almoner::domain::DonorKind::Person,
            inn: None,
            email: Some(email.into()),
            purpose: String::new(),
            designation: Designation::Unrestricted,
            external_key: None,
        };
        let (d1, _) = t.store.new_donation(&gift("Анна", "anna@x.org", "300")).await.unwrap();
        let (d2, _) = t.store.new_donation(&gift("Анна Иванова", "anna.ivanova@y.org", "500")).await.unwrap();
        t.store.allocate(d2, &almoner::store::Plan::Lines(vec![(case, rub("200"))]), None, None).await.unwrap();
        let donor_of = |d: i64| {
            let store = &t.store;
            async move { one::<i64>(store, &format!("SELECT donor_id FROM donations WHERE id = {d}")).await }
        };
        let (a, b) = (donor_of(d1).await, donor_of(d2).await);
        assert_ne!(a, b);
        let before = fingerprint(&t.store).await;
        assert!(t.store.merge_donors(a, a).await.is_err());
        assert!(t.store.merge_donors(a, 999).await.is_err());
        assert_eq!(before, fingerprint(&t.store).await, "refused merges change nothing");
        let merge = t.store.merge_donors(b, a).await.unwrap();
        assert_eq!(donor_of(d2).await, a, "the donation, with its allocation, follows the donor");
        // A later payment with the merged donor's e-mail finds the donor it was merged into.
        let (d3, _) = t.store.new_donation(&gift("А. Иванова", "anna.ivanova@y.org", "100")).await.unwrap();
        assert_eq!(donor_of(d3).await, a);
        let mut conn = t.store.connection().await.unwrap();
        let k = DonorKeys { name: "x".into(), email: Some("ANNA.IVANOVA@y.org".into()), ..Default::default() };
        assert_eq!(find_or_add_many(&mut conn, &[k]).await.unwrap(), vec![a], "a chunk at a time, the same");
        drop(conn);
        assert!(t.store.merge_donors(a, b).await.is_err(), "b stands for a now");
        let (from, moved) = t.store.unmerge_donors(merge).await.unwrap();
        assert_eq!((from, moved), (b, 1));
        assert_eq!(donor_of(d2).await, b, "un-merged, the donation is back");
        assert!(t.store.unmerge_donors(merge).await.unwrap_err().to_string().contains("undone already"));
        assert_invariants(&t.store).await;
    }
}

// ---- Finding duplicate donors, and deciding on them from the console ----

mod duplicates {
    use super::common::*;
    use crate::on_both_engines;
    use almoner::app::i18n::Lang;
    use almoner::app::keymap::Keymap;
    use almoner::app::keys::parse_keys;
    use almoner::app::{App, ScreenId};
    use almoner::domain::Role;
    use almoner::store::Store;
    use almoner::store::donors::{DonorKeys, find_or_add};
    use chrono::{TimeZone, Utc};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// A payment through the real donor matching, with `gifts` donations of 1 000,00 each; its donor.
    async fn pays(t: &TestDb, name: &str, email: Option<&str>, phone: Option<&str>, gifts: usize) -> i64 {
        let mut conn = t.store.connection().await.unwrap();
        let keys = DonorKeys {
            name: name.into(),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            ..Default::default()
        };
        let donor = find_or_add(&mut conn, &keys).await.unwrap();
        for _ in 0..gifts {
            raw(
                &t.store,
                &format!(
                    "INSERT INTO donations (amount, designation_kind, received_on, channel, payer, donor_id, created_at)
                     VALUES (100000, 'unrestricted', '2026-03-01', 'bank', '{}', {donor}, '2026-03-01T00:00:00Z')",
                    name.replace('\'', "''")
                ),
            )
            .await;
        }
        donor
    }

    struct Donors {
        olga: i64,
        olga_bank: i64,
        maria: i64,
        maria_latin: i64,
        igor: i64,
        igor_other: i64,
        anna: i64,
        anna_other: i64,
        evil: i64,
    }

    async fn donors(t: &TestDb) -> Donors {
        // The same full name: once from the website with an e-mail, once from a bank without contacts.
        let olga = pays(t, "Кузнецова Ольга Петровна", Some("olga.k@mail.ru"), None, 3).await;
        let olga_bank = pays(t, "КУЗНЕЦОВА ОЛЬГА ПЕТРОВНА", None, Some("не указан"), 1).await;
        // In Latin letters with a phone; a later payment shows the Cyrillic record has that phone too.
        let maria = pays(t, "Иванова Мария", Some("m.ivanova@x.ru"), None, 2).await;
        let maria_latin = pays(t, "Ivanova Mariya", None, Some("+7 916 000-00-05"), 1).await;
        assert_eq!(pays(t, "Иванова Мария", Some("m.ivanova@x.ru"), Some("89160000005"), 0).await, maria);
        // Near miss: namesakes with two different phones and nothing in common are two people.
        let igor = pays(t, "Смирнов Игорь Олегович", None, Some("+79160000011"), 1).await;
        let igor_other = pays(t, "Смирнов Игорь Олегович", None, Some("+79160000012"), 1).await;
        // The same, but the same mailbox name at two providers: likely one person with two phones.
        let anna = pays(t, "Петрова Анна Сергеевна", Some("anna.petrova@mail.ru"), Some("+79160000021"), 1).await;
        let anna_other =
            pays(t, "Петрова Анна Сергеевна", Some("anna.petrova@yandex.ru"), Some("+79160000022"), 2).await;
        // A name common here (four namesakes): the name alone says nothing about any two of them.
        for (email, phone) in
            [(Some("e1@x.ru"), None), (None, Some("+79160000031")), (None, None), (Some("e2@x.ru"), None)]
        {
            pays(t, "Иванова Елена", email, phone, 1).await;
        }
        // A name from a register carrying escape sequences.
        let evil = pays(t, "Zlo\u{1b}]0;pwned\u{7} Hacker", Some("zlo@x.ru"), None, 1).await;
        pays(t, "Zlo\u{1b}]0;pwned\u{7} Hacker", None, None, 1).await;
        Donors { olga, olga_bank, maria, maria_latin, igor, igor_other, anna, anna_other, evil }
    }

    fn pairs_of(list: &[almoner::store::DonorPair]) -> Vec<(i64, i64)> {
        list.iter().map(|p| (p.a.id, p.b.id)).collect()
    }

    on_both_engines! {
        async fn likely_duplicates_are_found_and_near_misses_left_alone(t: TestDb) {
            let d = donors(&t).await;
            let list = t.store.donor_duplicates(None).await.unwrap();
            let found = pairs_of(&list);
            assert_eq!(
                found,
                vec![(d.maria, d.maria_latin), (d.anna, d.anna_other), (d.olga, d.olga_bank), (d.evil, d.evil + 1)],
                "{list:#?}"
            );
            assert!(!found.contains(&(d.igor, d.igor_other)), "namesakes with two phones are two people");
            let why: Vec<&str> = list.iter().map(|p| p.reason.as_str()).collect();
            assert_eq!(why[0], "nearly the same name (a typo, or another alphabet) and the same phone");
            assert_eq!(why[1], "the same name and nearly the same e-mail");
            assert_eq!(why[2], "the same name, and no e-mail or phone that differs");
            // Both sides, with their gifts.
            let olga = &list[2];
            assert_eq!((olga.a.gifts, olga.a.total, olga.b.gifts), (3, rub("3000"), 1));
            assert_eq!(olga.direction(), (d.olga_bank, d.olga), "fewer gifts into the other");
            assert_eq!(list[1].direction(), (d.anna, d.anna_other));
            assert_eq!(t.store.donor_duplicates(Some(1)).await.unwrap().len(), 1, "--limit");

            // Kept apart: no longer offered; twice is refused; a merged-away donor is not offered either.
            let kept = t.store.keep_donors_apart(d.anna_other, d.anna, Some("сёстры")).await.unwrap();
            assert!(
                t.store.keep_donors_apart(d.anna, d.anna_other, None).await.unwrap_err().to_string().contains("already")
            );
            assert!(t.store.keep_donors_apart(d.anna, d.anna, None).await.is_err());
            let merge = t.store.merge_donors(d.maria_latin, d.maria).await.unwrap();
            let e = t.store.keep_donors_apart(d.maria, d.maria_latin, None).await.unwrap_err().to_string();
            assert!(e.contains("was merged into donor"), "{e}");
            let left = pairs_of(&t.store.donor_duplicates(None).await.unwrap());
            assert_eq!(left, vec![(d.olga, d.olga_bank), (d.evil, d.evil + 1)]);
            t.store.unmerge_donors(merge).await.unwrap();
            t.store.undo_keep_donors_apart(kept).await.unwrap();
            assert_eq!(t.store.donor_duplicates(None).await.unwrap().len(), 4, "both back");
            let audit: Vec<(String, i64)> =
                rows(&t.store, "SELECT action, entity_id FROM audit_log WHERE action LIKE 'donor.%' ORDER BY id").await;
            let (a, b, m) = (d.anna.min(d.anna_other), d.anna.max(d.anna_other), d.maria_latin);
            let kept = "donor.keep_apart".to_string();
            let back = "donor.keep_apart_undo".to_string();
            assert_eq!(
                audit,
                [
                    (kept.clone(), a),
                    (kept, b),
                    ("donor.merge".into(), m),
                    ("donor.unmerge".into(), m),
                    (back.clone(), a),
                    (back, b)
                ],
                "a keep-apart decision is in both donors' history"
            );
            assert_invariants(&t.store).await;
        }
    }

    on_both_engines! {
        async fn only_those_who_may_merge_donors_keep_them_apart(t: TestDb) {
            let d = donors(&t).await;
            t.store.set_user("anna", Role::Admin, true).await.unwrap();
            let anna = Store::open(&t.path(), "anna").await.unwrap();
            anna.set_user("vera", Role::Viewer, true).await.unwrap();
            anna.set_user("mila", Role::Medical, true).await.unwrap();
            anna.set_user("bella", Role::Bookkeeper, true).await.unwrap();
            for who in ["vera", "mila"] {
                let s = Store::open(&t.path(), who).await.unwrap();
                assert_eq!(s.donor_duplicates(None).await.unwrap().len(), 4, "anyone who reads sees them");
                let e = s.keep_donors_apart(d.olga, d.olga_bank, None).await.unwrap_err().to_string();
                assert!(e.contains("not allowed for your role") && e.contains("bookkeeper"), "{e}");
            }
            let bella = Store::open(&t.path(), "bella").await.unwrap();
            bella.keep_donors_apart(d.olga, d.olga_bank, None).await.unwrap();
        }
    }

    struct Console {
        _t: TestDb,
        app: App,
    }

    impl Console {
        async fn keys(&mut self, keys: &str) {
            for k in parse_keys(keys).unwrap() {
                self.app.key(k).await;
            }
        }

        async fn type_text(&mut self, text: &str) {
            for c in text.chars() {
                self.app.key(almoner::app::keys::Key::char(c)).await;
            }
        }

        fn screen(&mut self, w: u16, h: u16) -> String {
            self.app.rows = h as usize;
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            t.draw(|f| almoner::ui::draw(f, &self.app, almoner::ui::Theme { color: false })).unwrap();
            t.backend().to_string()
        }

        fn status(&self) -> String {
            self.app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
        }

        fn pairs(&self) -> Vec<(i64, i64)> {
            pairs_of(&self.app.donor_pairs.rows)
        }

        /// Moves the selection to the pair of `a` and `b` by keys.
        async fn select(&mut self, a: i64, b: i64) {
            self.keys("<Home>").await;
            let at = self.pairs().iter().position(|p| *p == (a, b)).expect("the pair is listed");
            for _ in 0..at {
                self.keys("<Down>").await;
            }
        }
    }

    async fn gifts_of(store: &Store, donor: i64) -> Vec<i64> {
        column(store, &format!("SELECT id FROM donations WHERE donor_id = {donor} ORDER BY id")).await
    }

    on_both_engines! {
        async fn the_console_merges_undoes_and_keeps_apart_by_keys(t: TestDb) {
            let d = donors(&t).await;
            let (mut app, _jobs) = App::new(t.store.clone(), Keymap::preset("default"), &[], Lang::En).await;
            app.frozen_now = Some(Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap());
            app.rows = 24;
            app.refresh().await.unwrap();
            let mut c = Console { _t: t, app };
            let store = c.app.store.clone();

            c.keys("g u").await;
            assert_eq!(c.app.screen, ScreenId::Donors, "{}", c.status());
            assert_eq!(c.pairs().len(), 4);
            let screen = c.screen(80, 24);
            insta::assert_snapshot!("donor_duplicates_80x24", screen);
            assert!(screen.contains("Ivanova Mariya") && screen.contains("Иванова Мария"), "{screen}");
            assert!(!screen.chars().any(|ch| ch.is_control() && ch != '\n'), "a control character reached the screen");
            c.select(d.evil, d.evil + 1).await;
            let screen = c.screen(160, 48);
            assert!(screen.contains("Zlo^[]0;pwned^G Hacker"), "{screen}");

            // m: the donor with fewer gifts goes into the other, with its donations.
            let bank_gifts = gifts_of(&store, d.olga_bank).await;
            c.select(d.olga, d.olga_bank).await;
            c.keys("m").await;
            assert!(c.status().contains(&format!("donor {} merged into donor {}", d.olga_bank, d.olga)), "{}", c.status());
            let now_olgas = gifts_of(&store, d.olga).await;
            assert!(bank_gifts.iter().all(|g| now_olgas.contains(g)) && now_olgas.len() == 4, "the gifts followed");
            assert!(!c.pairs().contains(&(d.olga, d.olga_bank)), "merged: off the list");
            // u: the merge is taken back.
            c.keys("u").await;
            assert!(c.status().contains("undone"), "{}", c.status());
            assert_eq!(gifts_of(&store, d.olga_bank).await, bank_gifts);
            assert!(c.pairs().contains(&(d.olga, d.olga_bank)), "back on the list");

            // x: kept apart, with a reason typed at the prompt; u takes that back too; x again with none.
            c.select(d.anna, d.anna_other).await;
            c.keys("x").await;
            c.type_text("две разные Анны").await;
            c.keys("<Enter>").await;
            assert!(c.status().contains("kept apart"), "{}", c.status());
            assert!(!c.pairs().contains(&(d.anna, d.anna_other)));
            let reason: Option<String> =
                one(&store, &format!("SELECT reason FROM donors_kept_apart WHERE donor_a = {} AND undone_at IS NULL", d.anna)).await;
            assert_eq!(reason.as_deref(), Some("две разные Анны"));
            c.keys("u").await;
            assert!(c.pairs().contains(&(d.anna, d.anna_other)), "{}", c.status());
            c.select(d.anna, d.anna_other).await;
            c.keys("x <Enter>").await;
            assert!(!c.pairs().contains(&(d.anna, d.anna_other)), "{}", c.status());
            c.keys("u u").await;
            assert!(c.status().contains("no decision made here"), "{}", c.status());

            // The same commands with the pair named work anywhere (the `:` prompt, `exec` scripts).
            c.keys("g b").await;
            let e = c.app.run_line("merge-donors").await.unwrap_err();
            assert!(e.contains("g u"), "{e}");
            c.app.run_line(&format!("merge-donors {} {}", d.maria_latin, d.maria)).await.unwrap();
            assert_eq!(gifts_of(&store, d.maria_latin).await, Vec::<i64>::new());
            c.app.run_line(&format!("keep-donors-apart {} {} разные люди", d.igor, d.igor_other)).await.unwrap();
            let audit: i64 = one(&store, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'donor.%'").await;
            assert_eq!(
                audit, 13,
                "every decision and every undo is audited (keeping apart, and its undo, under both donors)"
            );
            assert_invariants(&store).await;
        }
    }

    on_both_engines! {
        async fn on_the_console_a_person_chooses_whose_e_mail_and_phone_the_kept_donor_keeps(t: TestDb) {
            let d = donors(&t).await;
            let (mut app, _jobs) = App::new(t.store.clone(), Keymap::preset("default"), &[], Lang::En).await;
            app.rows = 24;
            app.refresh().await.unwrap();
            let mut c = Console { _t: t, app };
            let store = c.app.store.clone();
            let contacts = |id: i64| {
                let store = store.clone();
                async move {
                    row::<(Option<String>, Option<String>)>(&store, &format!("SELECT email, phone FROM donors WHERE id = {id}"))
                        .await
                }
            };
            // Анна with one gift goes into the Анна with two; both have an e-mail and a phone of their own.
            let kept = (Some("anna.petrova@yandex.ru".to_string()), Some("+79160000022".to_string()));
            assert_eq!(contacts(d.anna_other).await, kept);
            c.keys("g u").await;
            c.select(d.anna, d.anna_other).await;
            assert_eq!(c.app.donor_pairs.take, [false, false], "the kept donor's own values to start with");
            // ← takes the merged donor's e-mail; the phone stays the kept donor's.
            c.keys("<Left>").await;
            assert_eq!(c.app.donor_pairs.take, [true, false], "{}", c.status());
            let screen = c.screen(80, 24);
            assert!(screen.contains("● anna.petrova@mail.ru") && screen.contains("○ anna.petrova@yandex.ru"), "{screen}");
            c.keys("m").await;
            assert!(c.status().contains("taking its email"), "{}", c.status());
            assert_eq!(contacts(d.anna_other).await, (Some("anna.petrova@mail.ru".into()), kept.1.clone()));
            // Taken back: the kept donor's own e-mail again.
            c.keys("u").await;
            assert_eq!(contacts(d.anna_other).await, kept, "{}", c.status());
            // The next field (Tab), and the other way: the phone taken, the e-mail kept (→).
            c.select(d.anna, d.anna_other).await;
            c.keys("<Left> <Tab> <Left> <BackTab> <Right>").await;
            assert_eq!(c.app.donor_pairs.take, [false, true], "{}", c.status());
            c.keys("m").await;
            assert_eq!(contacts(d.anna_other).await, (kept.0.clone(), Some("+79160000021".into())), "{}", c.status());
            // A pair merged from anywhere: the kept donor's own values win.
            c.keys("u").await;
            c.app.run_line(&format!("merge-donors {} {}", d.anna, d.anna_other)).await.unwrap();
            assert_eq!(contacts(d.anna_other).await, kept);
            assert_invariants(&store).await;
        }
    }

    #[test]
    fn the_command_line_lists_and_keeps_apart() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let t = rt.block_on(async {
            let t = TestDb::new().await;
            donors(&t).await;
            t.store.close().await;
            t
        });
        let bin = env!("CARGO_BIN_EXE_almoner");
        let run = |args: &[&str]| {
            std::process::Command::new(bin).arg("--db").arg(t.path()).env("USER", "kassir").args(args).output().unwrap()
        };
        let out = run(&["donor", "duplicates", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 4);
        assert_eq!(list[2]["a"]["total"], "3000.00");
        assert_eq!(list[2]["reason"], "the same name, and no e-mail or phone that differs");
        let (a, b) = (list[2]["a"]["id"].as_i64().unwrap(), list[2]["b"]["id"].as_i64().unwrap());
        let out = run(&["donor", "keep-apart", &a.to_string(), &b.to_string(), "--reason", "мать и дочь"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = run(&["donor", "duplicates", "--limit", "10"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("3 pair(s)") && text.contains("Ivanova Mariya"), "{text}");
        assert!(!text.contains('\u{1b}'), "names are inert on the command line too");
        let out = run(&["donor", "keep-apart", &a.to_string(), &b.to_string()]);
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("kept apart already"));
    }
}

// ---- A merge keeps the best ways to reach the person ----

mod contacts {
    use super::common::*;
    use crate::on_both_engines;
    use almoner::store::Segment;
    use almoner::store::donors::{DonorKeys, find_or_add};

    /// A donor as the donor matching makes them, with `gifts` donations of 1 000,00 each.
    async fn donor(t: &TestDb, name: &str, email: Option<&str>, phone: Option<&str>, gifts: usize) -> i64 {
        let mut conn = t.store.connection().await.unwrap();
        let keys = DonorKeys {
            name: name.into(),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            ..Default::default()
        };
        let id = find_or_add(&mut conn, &keys).await.unwrap();
        drop(conn);
        for _ in 0..gifts {
            raw(
                &t.store,
                &format!(
                    "INSERT INTO donations (amount, designation_kind, received_on, channel, payer, donor_id, created_at)
                     VALUES (100000, 'unrestricted', '2026-03-01', 'bank', 'x', {id}, '2026-03-01T00:00:00Z')"
                ),
            )
            .await;
        }
        id
    }

    /// The e-mails a mailing to every donor who gave reaches, as the export for Unisender writes them.
    async fn mailing(t: &TestDb) -> Vec<String> {
        let out = t.dir.path().join("unisender.csv");
        t.store.export_segment(&Segment::default(), &[], &out).await.unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let mut emails: Vec<String> =
            text.lines().skip(1).map(|l| l.split(',').next().unwrap_or("").trim_matches('"').to_string()).collect();
        emails.sort();
        emails
    }

    /// id, kind, name, INN, e-mail, phone, name key, merged into, consent, do not contact, anonymized.
    type DonorRow = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
        i64,
        i64,
        Option<String>,
    );

    async fn donor_rows(t: &TestDb) -> Vec<DonorRow> {
        rows(
            &t.store,
            "SELECT id, kind, name, inn, email, phone, name_key, merged_into, CAST(consent AS BIGINT),
                    CAST(do_not_contact AS BIGINT), CAST(anonymized_at AS TEXT) FROM donors ORDER BY id",
        )
        .await
    }

    /// consent, do not contact.
    async fn mailing_flags(t: &TestDb, id: i64) -> (i64, i64) {
        row(
            &t.store,
            &format!("SELECT CAST(consent AS BIGINT), CAST(do_not_contact AS BIGINT) FROM donors WHERE id = {id}"),
        )
        .await
    }

    on_both_engines! {
        async fn a_consenting_donor_merged_into_one_without_stays_in_the_mailing(t: TestDb) {
            // The same woman: once from the website with an e-mail and consent, once from a bank without.
            let web = donor(&t, "Сидорова Нина Павловна", Some("nina.s@mail.ru"), None, 1).await;
            let bank = donor(&t, "СИДОРОВА НИНА ПАВЛОВНА", None, Some("+79161234567"), 3).await;
            t.store.set_contact(web, Some(true), None).await.unwrap();
            assert_eq!(mailing(&t).await, ["nina.s@mail.ru"]);
            let pair = t.store.donor_duplicates(None).await.unwrap();
            assert_eq!(pair[0].direction(), (web, bank), "the one with fewer gifts goes");
            t.store.merge_donors(web, bank).await.unwrap();
            assert_eq!(mailing(&t).await, ["nina.s@mail.ru"], "merged, she is still written to");
            let (email, phone): (Option<String>, Option<String>) =
                row(&t.store, &format!("SELECT email, phone FROM donors WHERE id = {bank}")).await;
            assert_eq!((email.as_deref(), phone.as_deref()), (Some("nina.s@mail.ru"), Some("+79161234567")));
            assert_eq!(mailing_flags(&t, bank).await, (1, 0));
            assert_invariants(&t.store).await;
        }
    }

    on_both_engines! {
        async fn unmerging_restores_both_donors_exactly(t: TestDb) {
            let web = donor(&t, "Орлов Пётр", Some("orlov@x.ru"), None, 1).await;
            let bank = donor(&t, "ОРЛОВ ПЁТР", None, Some("+79165550001"), 2).await;
            t.store.set_contact(web, Some(true), None).await.unwrap();
            let before = donor_rows(&t).await;
            let merge = t.store.merge_donors(web, bank).await.unwrap();
            assert_eq!(
                row::<(Option<String>, i64)>(&t.store, &format!("SELECT email, CAST(consent AS BIGINT) FROM donors WHERE id = {bank}")).await,
                (Some("orlov@x.ru".into()), 1),
                "the kept donor took the e-mail and the consent"
            );
            // What the kept donor held before is in the merge's row and in the audit log.
            let kept_before: String =
                one(&t.store, &format!("SELECT CAST(into_before AS TEXT) FROM donor_merges WHERE id = {merge}")).await;
            let kept_before: serde_json::Value = serde_json::from_str(&kept_before).unwrap();
            assert_eq!(kept_before, serde_json::json!({"email": null, "consent": false}));
            let logged: String = one(
                &t.store,
                "SELECT CAST(before AS TEXT) FROM audit_log WHERE action = 'donor.merge' ORDER BY id DESC LIMIT 1",
            )
            .await;
            let logged: serde_json::Value = serde_json::from_str(&logged).unwrap();
            assert_eq!(logged["kept"], kept_before);
            t.store.unmerge_donors(merge).await.unwrap();
            assert_eq!(donor_rows(&t).await, before, "both donors exactly as they were");
            assert!(mailing(&t).await == ["orlov@x.ru"]);
            // Taken back and merged again, the other way round: the phone goes to the web record.
            t.store.merge_donors(bank, web).await.unwrap();
            let phone: Option<String> = one(&t.store, &format!("SELECT phone FROM donors WHERE id = {web}")).await;
            assert_eq!(phone.as_deref(), Some("+79165550001"));
            assert_eq!(mailing_flags(&t, web).await, (1, 0));
            assert_invariants(&t.store).await;
        }
    }

    on_both_engines! {
        async fn a_donor_who_asked_not_to_be_contacted_never_gains_consent_through_a_merge(t: TestDb) {
            // Kept donor asked to be left alone; the merged one consented.
            let alone = donor(&t, "Белова Ирина", None, None, 2).await;
            let willing = donor(&t, "БЕЛОВА ИРИНА", Some("belova@x.ru"), None, 1).await;
            t.store.set_contact(alone, None, Some(true)).await.unwrap();
            t.store.set_contact(willing, Some(true), None).await.unwrap();
            t.store.merge_donors(willing, alone).await.unwrap();
            assert_eq!(mailing_flags(&t, alone).await, (0, 1));
            // The merged donor asked to be left alone; the kept one consented: left alone too.
            let glad = donor(&t, "Котов Олег", Some("kotov@x.ru"), None, 2).await;
            let asked = donor(&t, "КОТОВ ОЛЕГ", Some("kotov.o@x.ru"), None, 1).await;
            t.store.set_contact(glad, Some(true), None).await.unwrap();
            t.store.set_contact(asked, None, Some(true)).await.unwrap();
            assert_eq!(mailing(&t).await, ["kotov@x.ru"]);
            let merge = t.store.merge_donors(asked, glad).await.unwrap();
            assert_eq!(mailing_flags(&t, glad).await, (0, 1));
            // The kept donor withdrew consent after the other record gave it: still no consent.
            let said_no = donor(&t, "Лисина Вера", None, None, 2).await;
            let said_yes = donor(&t, "ЛИСИНА ВЕРА", Some("lisina@x.ru"), None, 1).await;
            t.store.set_contact(said_yes, Some(true), None).await.unwrap();
            t.store.set_contact(said_no, Some(true), None).await.unwrap();
            t.store.set_contact(said_no, Some(false), None).await.unwrap();
            t.store.merge_donors(said_yes, said_no).await.unwrap();
            assert_eq!(mailing_flags(&t, said_no).await, (0, 0));
            assert!(mailing(&t).await.is_empty(), "nobody here may be written to");
            // Un-merged, the one who consented is as she was.
            t.store.unmerge_donors(merge).await.unwrap();
            assert_eq!(mailing_flags(&t, glad).await, (1, 0));
            assert_eq!(mailing(&t).await, ["kotov@x.ru"]);
        }
    }

    on_both_engines! {
        async fn anonymizing_either_donor_leaves_no_e_mail_in_the_merge(t: TestDb) {
            let web = donor(&t, "Гусев Антон", Some("gusev.unique@x.ru"), None, 1).await;
            let bank = donor(&t, "ГУСЕВ АНТОН", None, None, 2).await;
            let merge = t.store.merge_donors(web, bank).await.unwrap();
            t.store.gdpr_override("donor", bank, true, "просьба").await.unwrap();
            t.store.gdpr_plan(date("2026-12-01")).await.unwrap();
            t.store.gdpr_run(date("2027-01-05")).await.unwrap();
            let gone: bool = one(&t.store, &format!("SELECT anonymized_at IS NOT NULL FROM donors WHERE id = {bank}")).await;
            assert!(gone, "anonymized on request");
            let kept: (Option<String>, Option<String>) = row(
                &t.store,
                &format!("SELECT CAST(into_before AS TEXT), CAST(into_after AS TEXT) FROM donor_merges WHERE id = {merge}"),
            )
            .await;
            assert!(!format!("{kept:?}").contains("gusev"), "{kept:?}");
            // Un-merged, the anonymized donor gets nothing back.
            t.store.unmerge_donors(merge).await.unwrap();
            let email: Option<String> = one(&t.store, &format!("SELECT email FROM donors WHERE id = {bank}")).await;
            assert_eq!(email, None);
        }
    }

    #[test]
    fn the_command_line_takes_what_it_is_told() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (t, web, bank) = rt.block_on(async {
            let t = TestDb::new().await;
            let web = donor(&t, "Зайцева Ольга", Some("zaytseva@mail.ru"), Some("+79160001111"), 1).await;
            let bank = donor(&t, "ЗАЙЦЕВА ОЛЬГА", Some("zaytseva@yandex.ru"), Some("+79160002222"), 2).await;
            t.store.close().await;
            (t, web, bank)
        });
        let bin = env!("CARGO_BIN_EXE_almoner");
        let run = |args: &[&str]| {
            std::process::Command::new(bin).arg("--db").arg(t.path()).env("USER", "kassir").args(args).output().unwrap()
        };
        let (web, bank) = (web.to_string(), bank.to_string());
        let out = run(&["donor", "merge", &web, &bank, "--take", "email", "--keep", "email"]);
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("both name email"));
        let out = run(&["donor", "merge", &web, &bank, "--take", "email"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let contacts = rt.block_on(async {
            let store = almoner::store::Store::open(&t.path(), "tester").await.unwrap();
            let r: (Option<String>, Option<String>) =
                row(&store, &format!("SELECT email, phone FROM donors WHERE id = {bank}")).await;
            store.close().await;
            r
        });
        assert_eq!(
            contacts,
            (Some("zaytseva@mail.ru".into()), Some("+79160002222".into())),
            "the phone is the kept one's"
        );
    }
}
