//! Donor matching: recognising and creating donors a chunk at a time gives
//! exactly what one-by-one matching gives, for random payments drawn from a
//! small pool of names, INNs, e-mails, phones, subscriptions and accounts (so they
//! collide in every way); and the rules themselves on hand-picked cases.

mod common;

use almoner::store::donors::{DonorKeys, find_or_add, find_or_add_many};
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
    let donors = sqlx::query_as("SELECT kind, name, inn, email, phone FROM donors ORDER BY id")
        .fetch_all(t.store.pool())
        .await
        .unwrap();
    let accounts: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT account, name_key, donor_id FROM donor_accounts ORDER BY account, name_key")
            .fetch_all(t.store.pool())
            .await
            .unwrap();
    (groups, donors, accounts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn matching_a_chunk_at_a_time_is_matching_one_by_one(
        before in proptest::collection::vec(keys(), 0..6),
        payments in proptest::collection::vec(keys(), 1..25),
        cut in 1usize..25,
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let (one, many) = (TestDb::new().await, TestDb::new().await);
            for t in [&one, &many] {
                let mut conn = t.store.pool().acquire().await.unwrap();
                for k in &before {
                    find_or_add(&mut conn, k).await.unwrap();
                }
            }
            let mut conn = one.store.pool().acquire().await.unwrap();
            let mut ids_one = Vec::new();
            for k in &payments {
                ids_one.push(find_or_add(&mut conn, k).await.unwrap());
            }
            let mut conn = many.store.pool().acquire().await.unwrap();
            let mut ids_many = Vec::new();
            for chunk in payments.chunks(cut) {
                ids_many.extend(find_or_add_many(&mut conn, chunk).await.unwrap());
            }
            prop_assert_eq!(outcome(&one, &ids_one).await, outcome(&many, &ids_many).await);
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn the_rules_on_hand_picked_payments() {
    let t = TestDb::new().await;
    let mut conn = t.store.pool().acquire().await.unwrap();
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

#[tokio::test]
async fn the_same_name_from_the_same_account_is_the_same_donor() {
    let t = TestDb::new().await;
    let mut conn = t.store.pool().acquire().await.unwrap();
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

#[tokio::test]
async fn a_name_alone_matches_written_any_way() {
    let t = TestDb::new().await;
    let mut conn = t.store.pool().acquire().await.unwrap();
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

#[tokio::test]
async fn duplicate_donors_merge_and_unmerge_with_their_money_and_later_payments_follow() {
    use almoner::domain::{Channel, Designation};
    use almoner::store::NewDonation;
    let t = TestDb::new().await;
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
        let pool = t.store.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT donor_id FROM donations WHERE id = ?")
                .bind(d)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
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
    let mut conn = t.store.pool().acquire().await.unwrap();
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
