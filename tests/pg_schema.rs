//! The PostgreSQL schema (`migrations/postgres/`), on a real server: it has
//! every table and column the SQLite schema has, and it holds the money rules
//! itself — sums within amounts and targets, money only to cases in
//! fundraising, history that only grows, the audit log's one permitted change
//! — and fills what triggers fill on SQLite (programs, stays, case search).

mod pg;

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Connection, PgConnection};

const SCHEMA: &str = include_str!("../migrations/postgres/0001_schema.sql");

async fn fresh(name: &str) -> PgConnection {
    let url = pg::server().database(name).await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(SCHEMA)).execute(&mut conn).await.unwrap();
    conn
}

/// Runs `sql`; the error's message if it was refused.
async fn refused(conn: &mut PgConnection, sql: &str) -> Option<String> {
    match sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut *conn).await {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    }
}

async fn must_refuse(conn: &mut PgConnection, sql: &str, why: &str) {
    let e = refused(conn, sql).await.unwrap_or_else(|| panic!("not refused: {sql}"));
    assert!(e.contains(why), "{sql}: refused, but not for `{why}`: {e}");
}

async fn must_take(conn: &mut PgConnection, sql: &str) {
    if let Some(e) = refused(conn, sql).await {
        panic!("{sql}: {e}");
    }
}

/// A child, a case in `stage` for `program` with a target of 1 000,00, and its id.
async fn case(conn: &mut PgConnection, stage: &str, program: &str, name: &str) -> i64 {
    let child: i64 =
        sqlx::query_scalar("INSERT INTO beneficiaries (full_name, created_at) VALUES ($1, now()) RETURNING id")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    sqlx::query_scalar(
        "INSERT INTO cases (beneficiary_id, program, clinic, diagnosis, stage, target, stage_since, created_at)
         VALUES ($1, $2, 'РДКБ', 'острый лимфобластный лейкоз', $3, 100000, now(), now()) RETURNING id",
    )
    .bind(child)
    .bind(program)
    .bind(stage)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

async fn donation(conn: &mut PgConnection, amount: i64, case: Option<i64>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO donations (amount, designation_kind, designated_id, received_on, channel, payer, created_at)
         VALUES ($1, CASE WHEN $2::BIGINT IS NULL THEN 'unrestricted' ELSE 'case' END, $2, DATE '2026-11-02', 'bank', 'Петров П. П.', now())
         RETURNING id",
    )
    .bind(amount)
    .bind(case)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_table_and_column_of_the_sqlite_schema_is_there() {
    // PostgreSQL as a store makes it: every migration applied.
    let url = pg::server().database("schema_columns").await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    for sql in MIGRATIONS {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
    }
    let pg: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut pg_tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (t, c) in pg {
        pg_tables.entry(t).or_default().insert(c);
    }
    // A SQLite database as almoner makes it today, every migration applied.
    let dir = tempfile::tempdir().unwrap();
    let store = almoner::store::Store::open(&dir.path().join("a.db"), "tester").await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'case_search%'",
    )
    .fetch_all(store.pool().unwrap())
    .await
    .unwrap();
    assert!(tables.len() > 20, "{tables:?}");
    for table in tables {
        let columns: BTreeSet<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}')")))
                .fetch_all(store.pool().unwrap())
                .await
                .unwrap()
                .into_iter()
                .collect();
        let there = pg_tables.get(&table).unwrap_or_else(|| panic!("table {table} is missing on PostgreSQL"));
        let missing: Vec<_> = columns.difference(there).collect();
        let extra: Vec<_> = there.difference(&columns).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{table}: missing {missing:?}, not on SQLite {extra:?}");
    }
    // Search keeps its own shape on each engine.
    assert!(pg_tables.contains_key("case_search"));
    store.close().await;
}

#[tokio::test]
async fn sums_stay_within_amounts_and_targets_and_money_goes_only_to_fundraising() {
    let mut c = fresh("schema_money").await;
    let open = case(&mut c, "fundraising", "treatment", "Иванова Мария").await;
    let closed = case(&mut c, "documents", "treatment", "Сидоров Пётр").await;
    let d = donation(&mut c, 50000, None).await;
    must_take(&mut c, &format!("INSERT INTO allocations (donation_id, case_id, amount, at, by_user) VALUES ({d}, {open}, 30000, now(), 'anna')")).await;
    must_take(&mut c, &format!("UPDATE donations SET allocated = 30000 WHERE id = {d}")).await;
    must_take(&mut c, &format!("UPDATE cases SET collected = 30000 WHERE id = {open}")).await;
    must_refuse(&mut c, &format!("UPDATE donations SET allocated = 50001 WHERE id = {d}"), "donations_check").await;
    must_refuse(&mut c, &format!("UPDATE donations SET allocated = -1 WHERE id = {d}"), "donations_check").await;
    must_refuse(&mut c, &format!("UPDATE cases SET collected = 100001 WHERE id = {open}"), "cases_check").await;
    must_refuse(
        &mut c,
        &format!("INSERT INTO allocations (donation_id, case_id, amount, at, by_user) VALUES ({d}, {closed}, 100, now(), 'anna')"),
        "only to cases in fundraising",
    )
    .await;
    // Checked per statement: one row of many to a closed case refuses them all.
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM allocations").fetch_one(&mut c).await.unwrap();
    must_refuse(
        &mut c,
        &format!(
            "INSERT INTO allocations (donation_id, case_id, amount, at, by_user)
             VALUES ({d}, {open}, 100, now(), 'anna'), ({d}, {closed}, 100, now(), 'anna'), ({d}, {open}, 100, now(), 'anna')"
        ),
        "only to cases in fundraising",
    )
    .await;
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM allocations").fetch_one(&mut c).await.unwrap();
    assert_eq!(before, after, "a refused statement left rows");
    must_refuse(
        &mut c,
        &format!(
            "INSERT INTO allocations (donation_id, case_id, amount, at, by_user) VALUES ({d}, {open}, 0, now(), 'anna')"
        ),
        "allocations_amount_check",
    )
    .await;
    must_refuse(&mut c, "INSERT INTO donations (amount, designation_kind, received_on, channel, payer, created_at) VALUES (0, 'unrestricted', DATE '2026-11-02', 'bank', 'x', now())", "donations_amount_check").await;
    must_refuse(&mut c, &format!("INSERT INTO donations (amount, designation_kind, designated_id, received_on, channel, payer, created_at) VALUES (5, 'unrestricted', {open}, DATE '2026-11-02', 'bank', 'x', now())"), "donations_check").await;
    // History only grows.
    must_refuse(&mut c, "UPDATE allocations SET amount = 1", "never edited").await;
    must_refuse(&mut c, "DELETE FROM allocations", "never deleted").await;
    must_refuse(&mut c, "TRUNCATE allocations CASCADE", "never deleted").await;
    let a: i64 = sqlx::query_scalar("SELECT id FROM allocations").fetch_one(&mut c).await.unwrap();
    must_refuse(
        &mut c,
        &format!("INSERT INTO reversals (allocation_id, at, by_user, reason) VALUES ({a}, now(), 'anna', '')"),
        "reversals_reason_check",
    )
    .await;
    must_take(
        &mut c,
        &format!("INSERT INTO reversals (allocation_id, at, by_user, reason) VALUES ({a}, now(), 'anna', 'ошибка')"),
    )
    .await;
    must_refuse(
        &mut c,
        &format!("INSERT INTO reversals (allocation_id, at, by_user, reason) VALUES ({a}, now(), 'anna', 'дважды')"),
        "reversals_allocation_id_key",
    )
    .await;
    must_refuse(&mut c, "UPDATE reversals SET reason = 'другая'", "never edited").await;
    must_refuse(&mut c, "DELETE FROM reversals", "never deleted").await;
    must_refuse(&mut c, "INSERT INTO donations (amount, designation_kind, received_on, channel, payer, created_at, external_key) VALUES (1, 'unrestricted', DATE '2026-11-02', 'bank', 'x', now(), 'k'), (1, 'unrestricted', DATE '2026-11-02', 'bank', 'x', now(), 'k')", "donations_external_key").await;
}

#[tokio::test]
async fn programs_stays_and_case_search_are_filled_as_rows_are_written() {
    let mut c = fresh("schema_fill").await;
    let rehab = case(&mut c, "fundraising", "rehabilitation", "Семёнова Алёна").await;
    let treat = case(&mut c, "fundraising", "treatment", "Орлов Илья").await;
    let designated = donation(&mut c, 1000, Some(rehab)).await;
    let plain = donation(&mut c, 1000, None).await;
    must_take(&mut c, &format!("INSERT INTO allocations (donation_id, case_id, amount, at, by_user) VALUES ({plain}, {treat}, 500, now(), 'anna')")).await;
    must_take(&mut c, &format!("INSERT INTO allocations (donation_id, case_id, amount, at, by_user) VALUES ({designated}, {treat}, 500, now(), 'anna')")).await;
    let programs: Vec<i64> =
        sqlx::query_scalar("SELECT programs FROM donations ORDER BY id").fetch_all(&mut c).await.unwrap();
    assert_eq!(programs, vec![2 | 1, 1]);
    // Many rows in one statement, several to one donation: every program they reach.
    let equip = case(&mut c, "fundraising", "equipment", "Ким Вера").await;
    let split = donation(&mut c, 1000, None).await;
    must_take(&mut c, &format!("INSERT INTO allocations (donation_id, case_id, amount, at, by_user) VALUES ({split}, {treat}, 100, now(), 'anna'), ({split}, {equip}, 100, now(), 'anna'), ({plain}, {equip}, 100, now(), 'anna')")).await;
    let programs: Vec<i64> =
        sqlx::query_scalar("SELECT programs FROM donations ORDER BY id").fetch_all(&mut c).await.unwrap();
    assert_eq!(programs, vec![2 | 1, 1 | 4, 1 | 4]);

    for (at, from, to) in [
        ("2026-01-01 10:00+03", None, "qualification"),
        ("2026-01-02 22:00+03", Some("qualification"), "documents"),
        ("2026-01-02 22:00+03", Some("documents"), "fundraising"),
    ] {
        sqlx::query("INSERT INTO stage_changes (case_id, from_stage, to_stage, at, by_user) VALUES ($1, $2, $3, $4::TIMESTAMPTZ, 'anna')")
            .bind(rehab)
            .bind(from)
            .bind(to)
            .bind(at)
            .execute(&mut c)
            .await
            .unwrap();
    }
    let rows: Vec<(Option<String>, Option<i64>, bool)> =
        sqlx::query_as("SELECT program, stay, since IS NOT NULL FROM stage_changes WHERE case_id = $1 ORDER BY id")
            .bind(rehab)
            .fetch_all(&mut c)
            .await
            .unwrap();
    let rehabilitation = Some("rehabilitation".to_string());
    assert_eq!(
        rows,
        vec![
            (rehabilitation.clone(), None, false),
            (rehabilitation.clone(), Some(15), true),
            (rehabilitation, Some(0), true)
        ]
    );
    must_refuse(&mut c, "UPDATE stage_changes SET stay = 1", "append-only").await;
    must_refuse(&mut c, "DELETE FROM stage_changes", "append-only").await;

    // Found by a word of the name, ё read as е, and again after the child is renamed.
    let found = |word: &'static str| {
        sqlx::query_scalar::<_, i64>(
            "SELECT case_id FROM case_search WHERE words @@ to_tsquery('simple', $1 || ':*') ORDER BY case_id",
        )
        .bind(word)
    };
    assert_eq!(found("семенова").fetch_all(&mut c).await.unwrap(), vec![rehab]);
    assert_eq!(found("лейкоз").fetch_all(&mut c).await.unwrap(), vec![rehab, treat, equip]);
    must_take(&mut c, &format!("UPDATE beneficiaries SET full_name = 'Ковалёва Алёна' WHERE id = (SELECT beneficiary_id FROM cases WHERE id = {rehab})")).await;
    assert_eq!(found("ковалева").fetch_all(&mut c).await.unwrap(), vec![rehab]);
    assert!(found("семенова").fetch_all(&mut c).await.unwrap().is_empty());
    must_take(&mut c, &format!("UPDATE cases SET diagnosis = '' WHERE id IN ({treat}, {equip})")).await;
    assert_eq!(found("лейкоз").fetch_all(&mut c).await.unwrap(), vec![rehab]);
}

#[tokio::test]
async fn the_audit_log_takes_only_the_removal_of_personal_data() {
    let mut c = fresh("schema_audit").await;
    let before = r#"{"name": "Иванов Иван", "amount": 1500, "accounts": ["40817810", "40817811"], "lines": [{"case": 3, "payer": "Иванов"}]}"#;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after) VALUES (now(), 'anna', 'donor.edit', 'donor', 7, $1::JSONB, NULL) RETURNING id",
    )
    .bind(before)
    .fetch_one(&mut c)
    .await
    .unwrap();
    let m = "(removed under the personal-data rules)";
    let set = |json: String| format!("UPDATE audit_log SET redacted = 1, before = '{json}'::JSONB WHERE id = {id}");
    let why = "only the personal data in them removed";
    // Refused: a value changed, the marker where no personal data is, a key added or lost, a list shortened.
    for wrong in [
        before.replace("1500", "1600"),
        before.replace("1500", &format!("\"{m}\"")),
        before.replace("\"amount\"", "\"amount2\""),
        before.replace(r#", "amount": 1500"#, ""),
        before.replace(r#", "40817811""#, ""),
        before.replace(r#""case": 3"#, &format!(r#""case": "{m}""#)),
        format!("\"{m}\""),
    ] {
        must_refuse(&mut c, &set(wrong), why).await;
    }
    must_refuse(&mut c, &format!("UPDATE audit_log SET actor = 'boris' WHERE id = {id}"), why).await;
    must_refuse(&mut c, &format!("UPDATE audit_log SET after = '{{}}'::JSONB, redacted = 1 WHERE id = {id}"), why)
        .await;
    let unredacted = before.replace("Иванов Иван", m);
    must_refuse(&mut c, &format!("UPDATE audit_log SET before = '{unredacted}'::JSONB WHERE id = {id}"), why).await;
    // Taken: the name, a whole list of accounts, a payer inside a list.
    let redacted = before
        .replace("\"Иванов Иван\"", &format!("\"{m}\""))
        .replace(r#"["40817810", "40817811"]"#, &format!("\"{m}\""))
        .replace("\"Иванов\"", &format!("\"{m}\""));
    must_take(&mut c, &set(redacted.clone())).await;
    must_take(&mut c, &set(redacted)).await;
    let kept: String = sqlx::query_scalar("SELECT before::TEXT FROM audit_log").fetch_one(&mut c).await.unwrap();
    assert!(!kept.contains("Иванов") && !kept.contains("40817810") && kept.contains("1500"), "{kept}");
    must_refuse(&mut c, "DELETE FROM audit_log", "append-only").await;
    must_refuse(&mut c, "TRUNCATE audit_log", "append-only").await;
}

/// Every PostgreSQL migration, in order, as a store applies them.
const MIGRATIONS: [&str; 11] = [
    SCHEMA,
    include_str!("../migrations/postgres/0002_live.sql"),
    include_str!("../migrations/postgres/0003_has_any.sql"),
    include_str!("../migrations/postgres/0004_statement_triggers.sql"),
    include_str!("../migrations/postgres/0005_reason_redaction.sql"),
    include_str!("../migrations/postgres/0006_accepted_problems.sql"),
    include_str!("../migrations/postgres/0007_settlements.sql"),
    include_str!("../migrations/postgres/0008_payment_order_numbers.sql"),
    include_str!("../migrations/postgres/0009_donor_merge_contacts.sql"),
    include_str!("../migrations/postgres/0010_batch_payment_orders.sql"),
    include_str!("../migrations/postgres/0011_invoice_history.sql"),
];

#[tokio::test]
async fn history_takes_only_the_removal_of_a_reason_typed_about_someone() {
    let url = pg::server().database("schema_reasons").await;
    let mut c = PgConnection::connect(&url).await.unwrap();
    for sql in MIGRATIONS {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
    }
    let m = "(removed under the personal-data rules)";
    let open = case(&mut c, "fundraising", "treatment", "Иванова Мария").await;
    let d = donation(&mut c, 50000, None).await;
    for (amount, reason) in [(100, "'по просьбе Петрова'"), (200, "NULL")] {
        must_take(&mut c, &format!("INSERT INTO allocations (donation_id, case_id, amount, at, by_user, reason) VALUES ({d}, {open}, {amount}, now(), 'anna', {reason})")).await;
    }
    must_take(&mut c, "INSERT INTO reversals (allocation_id, at, by_user, reason) SELECT id, now(), 'anna', 'Петров передумал' FROM allocations WHERE amount = 100").await;
    must_take(&mut c, &format!("INSERT INTO stage_changes (case_id, from_stage, to_stage, at, by_user, reason) VALUES ({open}, 'payment', 'fundraising', now(), 'anna', 'allocation 1 reversed: Петров передумал')")).await;
    // Refused: another reason, the marker with anything else changed, the marker where there was
    // no reason, and a reason once removed put back.
    for (table, why, other) in [
        ("allocations", "never edited", "amount = amount + 1"),
        ("reversals", "never edited", "at = at + interval '1 day'"),
        ("stage_changes", "append-only", "to_stage = 'paid'"),
    ] {
        must_refuse(&mut c, &format!("UPDATE {table} SET reason = 'другая'"), why).await;
        must_refuse(&mut c, &format!("UPDATE {table} SET reason = '{m}', {other}"), why).await;
        must_refuse(&mut c, &format!("UPDATE {table} SET by_user = 'boris'"), why).await;
    }
    must_refuse(&mut c, &format!("UPDATE allocations SET reason = '{m}' WHERE reason IS NULL"), "never edited").await;
    must_refuse(&mut c, &format!("UPDATE stage_changes SET reason = '{m}', stay = 5"), "append-only").await;
    // Taken: the reason alone, replaced by the marker; then it stays so.
    for table in ["allocations", "reversals", "stage_changes"] {
        must_take(&mut c, &format!("UPDATE {table} SET reason = '{m}' WHERE reason IS NOT NULL")).await;
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE reason LIKE '%Петров%'"
        )))
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!(left, 0, "{table}");
        let why = if table == "stage_changes" { "append-only" } else { "never edited" };
        must_refuse(&mut c, &format!("UPDATE {table} SET reason = 'снова' WHERE reason = '{m}'"), why).await;
        must_refuse(&mut c, &format!("UPDATE {table} SET reason = '{m}' WHERE reason = '{m}'"), why).await;
    }
    let kept: (i64, i64) = sqlx::query_as("SELECT COUNT(*), CAST(SUM(amount) AS BIGINT) FROM allocations")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(kept, (2, 300));
    // The audit log takes the marker under `reason` too, and still nowhere but at a personal field.
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after) VALUES (now(), 'anna', 'reverse', 'allocation', 1, '{\"amount\": 100}'::JSONB, '{\"reversed\": true, \"reason\": \"Петров передумал\"}'::JSONB) RETURNING id",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    let why = "only the personal data in them removed";
    must_refuse(&mut c, &format!("UPDATE audit_log SET redacted = 1, after = '{{\"reversed\": \"{m}\", \"reason\": \"{m}\"}}'::JSONB WHERE id = {id}"), why).await;
    must_take(&mut c, &format!("UPDATE audit_log SET redacted = 1, after = '{{\"reversed\": true, \"reason\": \"{m}\"}}'::JSONB WHERE id = {id}")).await;
}
