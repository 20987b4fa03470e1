//! Donor matching: recognising and creating donors a chunk at a time gives
//! exactly what one-by-one matching gives, for random payments drawn from a
//! small pool of names, INNs, e-mails, phones and subscriptions (so they
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
    )
        .prop_map(|(name, inn, email, phone, sub)| DonorKeys {
            name: name.to_string(),
            kind: None,
            inn: inn.map(str::to_string),
            email: email.map(str::to_string),
            phone: phone.map(str::to_string),
            subscription: sub.map(str::to_string),
        })
}

/// Which payments share a donor, as pairs of positions, and the donors table.
async fn outcome(
    t: &TestDb,
    ids: &[i64],
) -> (Vec<Vec<usize>>, Vec<(String, String, Option<String>, Option<String>, Option<String>)>) {
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
    (groups, donors)
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
