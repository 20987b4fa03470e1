//! Recognising donors: the same person or organisation arriving from a bank
//! statement, a card processor and the website is one donor. Identifiers
//! are tried strongest first: INN, a recurring subscription, e-mail, phone;
//! a donor with none of them is recognised by exact name and kind.

use std::collections::{HashMap, HashSet};

use super::db::{Exec, json_list, repeat_marks};
use super::q;

use crate::domain::DonorKind;
use crate::domain::names::name_key;
use crate::error::Result;

/// Gives every donor without a name key one (donors made before the key
/// existed, or by the demo): once, at open, in one transaction.
pub(crate) async fn fill_name_keys(store: &super::Store) -> Result<()> {
    let missing: Vec<(i64, String)> =
        q("SELECT id, name FROM donors WHERE name_key IS NULL").fetch_all(&mut store.conn().await?).await?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin_write().await?;
    for (id, name) in missing {
        q("UPDATE donors SET name_key = $1 WHERE id = $2 AND name_key IS NULL")
            .bind(name_key(&name))
            .bind(id)
            .execute(&mut tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What a payment tells about who paid.
#[derive(Debug, Clone, Default)]
pub struct DonorKeys {
    pub name: String,
    pub kind: Option<DonorKind>,
    pub inn: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub subscription: Option<String>,
    /// The bank account paid from: with the same name, the same donor.
    pub account: Option<String>,
}

/// An account number without spaces, in capitals (IBANs are written both ways).
pub fn normal_account(raw: &str) -> Option<String> {
    let a: String = raw.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect();
    (a.len() >= 5).then_some(a)
}

/// `Anna@Example.ORG ` → `anna@example.org`; text without `@` is not an e-mail.
pub fn normal_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    (e.contains('@') && !e.starts_with('@') && !e.ends_with('@') && !e.contains(' ')).then_some(e)
}

/// Russian numbers in any writing (`8 (916) 123-45-67`, `+7 916 1234567`,
/// `9161234567`) → `+79161234567`; other countries keep their digits after `+`.
pub fn normal_phone(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let full = match digits.len() {
        10 if digits.starts_with('9') => format!("7{digits}"),
        11 if digits.starts_with('8') => format!("7{}", &digits[1..]),
        11..=15 => digits,
        _ => return None,
    };
    Some(format!("+{full}"))
}

impl DonorKeys {
    fn clean(&self) -> DonorKeys {
        let some = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        DonorKeys {
            name: self.name.trim().to_string(),
            kind: self.kind,
            inn: some(&self.inn),
            email: self.email.as_deref().and_then(normal_email),
            phone: self.phone.as_deref().and_then(normal_phone),
            subscription: some(&self.subscription),
            account: self.account.as_deref().and_then(normal_account),
        }
    }

    /// A 10-digit INN is an organisation's; anything else, a person's.
    fn kind(&self) -> DonorKind {
        self.kind.unwrap_or(if self.inn.as_ref().is_some_and(|i| i.len() == 10) {
            DonorKind::Organisation
        } else {
            DonorKind::Person
        })
    }
}

/// The known donor these keys point to, and by which key ("inn", "subscription", "email", "phone", "name").
pub async fn recognise(conn: &mut impl Exec, keys: &DonorKeys) -> Result<Option<(i64, &'static str)>> {
    let k = keys.clean();
    let lookups: [(&'static str, &str, &Option<String>); 4] = [
        ("inn", "SELECT COALESCE(merged_into, id) FROM donors WHERE inn = $1 ORDER BY id LIMIT 1", &k.inn),
        ("subscription", "SELECT donor_id FROM donor_subscriptions WHERE subscription = $1", &k.subscription),
        ("email", "SELECT COALESCE(merged_into, id) FROM donors WHERE email = $1 ORDER BY id LIMIT 1", &k.email),
        ("phone", "SELECT COALESCE(merged_into, id) FROM donors WHERE phone = $1 ORDER BY id LIMIT 1", &k.phone),
    ];
    for (how, sql, value) in lookups {
        if let Some(v) = value {
            let hit: Option<i64> = q(sql).bind(v).scalar_optional(conn).await?;
            if let Some(id) = hit {
                return Ok(Some((id, how)));
            }
        }
    }
    if let (Some(account), false) = (&k.account, k.name.is_empty()) {
        let hit: Option<i64> =
            q("SELECT COALESCE(d.merged_into, d.id) FROM donor_accounts a JOIN donors d ON d.id = a.donor_id
             WHERE a.account = $1 AND a.name_key = $2")
            .bind(account)
            .bind(name_key(&k.name))
            .scalar_optional(conn)
            .await?;
        if let Some(id) = hit {
            return Ok(Some((id, "account")));
        }
    }
    if k.inn.is_some() || k.email.is_some() || k.phone.is_some() || k.name.is_empty() {
        return Ok(None);
    }
    let hit: Option<i64> = q(
        "SELECT COALESCE(merged_into, id) FROM donors WHERE name_key = $1 AND kind = $2 AND inn IS NULL AND email IS NULL AND phone IS NULL ORDER BY id LIMIT 1",
    )
    .bind(name_key(&k.name))
    .bind(k.kind().as_str())
    .scalar_optional(conn)
    .await?;
    Ok(hit.map(|id| (id, "name")))
}

/// The donor these keys point to, created if new. What the payment adds
/// (a phone or e-mail the donor lacked, a new subscription) is remembered.
pub async fn find_or_add(conn: &mut impl Exec, keys: &DonorKeys) -> Result<i64> {
    let k = keys.clean();
    let id = match recognise(conn, &k).await? {
        Some((id, _)) => {
            q(
                "UPDATE donors SET email = COALESCE(email, $1), phone = COALESCE(phone, $2), inn = COALESCE(inn, $3) WHERE id = $4",
            )
            .bind(&k.email)
            .bind(&k.phone)
            .bind(&k.inn)
            .bind(id)
            .execute(conn)
            .await?;
            id
        }
        None => q(
            "INSERT INTO donors (kind, name, name_key, inn, email, phone) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(k.kind().as_str())
        .bind(&k.name)
        .bind(name_key(&k.name))
        .bind(&k.inn)
        .bind(&k.email)
        .bind(&k.phone)
        .scalar(conn)
        .await?,
    };
    if let Some(sub) = &k.subscription {
        keep_subscription(conn, sub, id).await?;
    }
    keep_account(conn, &k, id).await?;
    Ok(id)
}

/// An account (with the payer's name) stays with the donor who used it first.
async fn keep_account(conn: &mut impl Exec, k: &DonorKeys, donor: i64) -> Result<()> {
    if let (Some(account), false) = (&k.account, k.name.is_empty()) {
        q("INSERT INTO donor_accounts (account, name_key, donor_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(account)
            .bind(name_key(&k.name))
            .bind(donor)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// A subscription stays with the donor who had it first.
async fn keep_subscription(conn: &mut impl Exec, sub: &str, donor: i64) -> Result<()> {
    q("INSERT INTO donor_subscriptions (subscription, donor_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(sub)
        .bind(donor)
        .execute(conn)
        .await?;
    Ok(())
}

/// Values of `column` in `table` for these keys, asked 500 at a time: key → first id.
async fn ids_by(conn: &mut impl Exec, sql_head: &str, keys: &[&str]) -> Result<HashMap<String, Vec<i64>>> {
    // key → (the row's own id, the donor it stands for now: itself, or whom it was merged into)
    let mut rows: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    let pg = conn.is_pg();
    for chunk in keys.chunks(500) {
        let marks = repeat_marks(pg, "?", chunk.len());
        // The answer comes back as one JSON array, not a row at a time: a chunk of a long
        // statement finds most of its payers, and rows cross from SQLite's thread one by one.
        let list = json_list(pg, if pg { "json_build_array(k, t, o)" } else { "json_array(k, t, o)" });
        let mut ask = q(format!("WITH r (k, t, o) AS ({sql_head} ({marks})) SELECT {list} FROM r"));
        for k in chunk {
            ask = ask.bind(*k);
        }
        let json: String = ask.scalar(conn).await?;
        let found: Vec<(String, i64, i64)> = serde_json::from_str(&json)
            .map_err(|e| crate::error::Error::invalid(format!("donor lookup answered badly: {e}")))?;
        for (k, target, own) in found {
            rows.entry(k).or_default().push((own, target));
        }
    }
    // In the order of the rows' own ids, as `ORDER BY id` would find them.
    Ok(rows
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_unstable();
            (k, v.into_iter().map(|(_, target)| target).collect())
        })
        .collect())
}

/// What the database holds for a set of payments' keys: value → donor ids, oldest first.
#[derive(Default)]
struct Found {
    by: [HashMap<String, Vec<i64>>; 6],
    /// The values asked of the database, per kind (names by their key, accounts by the account).
    asked: [HashSet<String>; 6],
    /// The name-alone keys each donor in `by` is found by.
    names_of: HashMap<i64, Vec<String>>,
}

/// What an import has learned about donors so far, carried from one chunk of
/// payments to the next, so a payer seen in many chunks is asked about once.
/// Nobody else writes donors while an import's transaction is open, and
/// everything the import writes itself is learned here as it is decided: what
/// the memo answers is what the database would. Past `limit` remembered keys
/// it starts afresh, as a first chunk does, so memory stays flat.
pub struct Memo {
    /// The database's answers for keys already asked.
    found: Found,
    /// Donors this import made or gave a key to, by key (see `learn`).
    made: [HashMap<String, i64>; 6],
    /// The name-alone keys each donor in `made` is known by.
    made_names: HashMap<i64, Vec<String>>,
    limit: usize,
}

impl Memo {
    /// A memo that starts afresh past `limit` remembered keys.
    pub fn new(limit: usize) -> Memo {
        Memo { found: Found::default(), made: Default::default(), made_names: HashMap::new(), limit }
    }

    fn size(&self) -> usize {
        self.found.by.iter().map(HashMap::len).sum::<usize>()
            + self.found.asked.iter().map(HashSet::len).sum::<usize>()
            + self.made.iter().map(HashMap::len).sum::<usize>()
    }

    /// Forgets that `id` is found by its name alone: it now has an INN, e-mail or phone.
    fn has_contacts(&mut self, id: i64) {
        for key in self.found.names_of.remove(&id).unwrap_or_default() {
            if let Some(ids) = self.found.by[NAME].get_mut(&key) {
                ids.retain(|x| *x != id);
            }
        }
        for key in self.made_names.remove(&id).unwrap_or_default() {
            if let std::collections::hash_map::Entry::Occupied(e) = self.made[NAME].entry(key)
                && *e.get() == id
            {
                e.remove();
            }
        }
    }

    /// Remembers that `id` has value `v` of kind `t`: the oldest donor wins, except
    /// a subscription or account, which stays with whoever had it first.
    fn learn(&mut self, t: usize, v: String, id: i64) {
        if t == NAME {
            self.made_names.entry(id).or_default().push(v.clone());
        }
        let e = self.made[t].entry(v).or_insert(id);
        if !FIRST_OWNER.contains(&t) {
            *e = (*e).min(id);
        }
    }
}

/// Keys a long import's memo holds before it starts afresh (a few tens of MB).
pub const MEMO_LIMIT: usize = 200_000;

/// Key kinds, strongest first, as [`recognise`] tries them.
const HOW: [&str; 6] = ["inn", "subscription", "email", "phone", "account", "name"];
/// Kinds that stay with whoever had them first (the others: the oldest donor).
const FIRST_OWNER: [usize; 2] = [1, 4];
/// Where the name-alone key sits in [`HOW`].
const NAME: usize = 5;

/// A payment's keys, one per kind in [`HOW`]. The account's is the account, 0x1f, the
/// normalised name; the name-alone key (a donor with no INN, e-mail or phone) is the kind,
/// 0x1f, the normalised name.
fn values(k: &DonorKeys) -> [Option<String>; 6] {
    // The name normalised once for both.
    let name = (!k.name.is_empty() && (k.account.is_some() || by_name_only(k))).then(|| name_key(&k.name));
    let account = k.account.as_ref().zip(name.as_ref()).map(|(a, n)| format!("{a}\u{1f}{n}"));
    let alone = name.as_ref().filter(|_| by_name_only(k)).map(|n| format!("{}\u{1f}{n}", k.kind().as_str()));
    [k.inn.clone(), k.subscription.clone(), k.email.clone(), k.phone.clone(), account, alone]
}

/// Is a donor with these keys found by name alone (no INN, e-mail or phone)?
fn by_name_only(k: &DonorKeys) -> bool {
    k.inn.is_none() && k.email.is_none() && k.phone.is_none()
}

/// Each payment's six keys, worked out once (normalising a name is the costly part).
type Values = [Option<String>; 6];

/// Asks the database for the payments' keys `asked` does not yet hold the answer to,
/// and adds the answers to `found`.
async fn lookup<'v>(
    conn: &mut impl Exec,
    vals: impl Iterator<Item = &'v Values> + Clone,
    found: &mut Found,
) -> Result<()> {
    const SQL: [&str; 6] = [
        "SELECT inn, COALESCE(merged_into, id), id FROM donors WHERE inn IN",
        "SELECT subscription, donor_id, donor_id FROM donor_subscriptions WHERE subscription IN",
        "SELECT email, COALESCE(merged_into, id), id FROM donors WHERE email IN",
        "SELECT phone, COALESCE(merged_into, id), id FROM donors WHERE phone IN",
        "SELECT a.account || '\u{1f}' || a.name_key, COALESCE(d.merged_into, d.id), d.id
         FROM donor_accounts a JOIN donors d ON d.id = a.donor_id WHERE a.account IN",
        "SELECT kind || '\u{1f}' || name_key, COALESCE(merged_into, id), id FROM donors WHERE inn IS NULL AND email IS NULL AND phone IS NULL AND name_key IN",
    ];
    for (t, sql) in SQL.iter().enumerate() {
        // Names are asked by their key alone (indexed), accounts by the account; the rest comes back with the answer.
        fn ask(t: usize, v: &str) -> &str {
            match t {
                NAME => v.split_once('\u{1f}').map_or(v, |(_, n)| n),
                4 => v.split_once('\u{1f}').map_or(v, |(a, _)| a),
                _ => v,
            }
        }
        // Those already asked are left out first: past the first chunks that is nearly all,
        // and only the few left are sorted.
        let mut v: Vec<&str> = vals
            .clone()
            .filter_map(|k| k[t].as_deref())
            .map(|v| ask(t, v))
            .filter(|a| !found.asked[t].contains(*a))
            .collect();
        v.sort_unstable();
        v.dedup();
        if v.is_empty() {
            continue;
        }
        let answers = ids_by(conn, sql, &v).await?;
        found.asked[t].extend(v.iter().map(|a| a.to_string()));
        for (key, ids) in answers {
            if t == NAME {
                for id in &ids {
                    found.names_of.entry(*id).or_default().push(key.clone());
                }
            }
            found.by[t].entry(key).or_default().extend(ids);
        }
    }
    Ok(())
}

/// The strongest key that finds a donor, in the database or among `made`;
/// of several with that key, the oldest (lowest id), as `ORDER BY id` would.
fn pick(vals: &Values, found: &Found, made: &[HashMap<String, i64>; 6]) -> Option<(i64, &'static str)> {
    vals.iter().enumerate().find_map(|(t, v)| {
        let v = v.as_ref()?;
        let a = found.by[t].get(v).and_then(|ids| ids.first()).copied();
        let b = made[t].get(v).copied();
        // A subscription or account belongs to whoever had it first: the database's owner if any.
        let id = if FIRST_OWNER.contains(&t) { a.or(b) } else { a.into_iter().chain(b).min() };
        id.map(|id| (id, HOW[t]))
    })
}

/// Donors found for many payments at once (a handful of queries, not one per
/// payment): for each, the donor and by which key, as [`recognise`] would say.
pub async fn recognise_many(conn: &mut impl Exec, keys: &[DonorKeys]) -> Result<Vec<Option<(i64, &'static str)>>> {
    let clean: Vec<DonorKeys> = keys.iter().map(DonorKeys::clean).collect();
    let vals: Vec<Values> = clean.iter().map(values).collect();
    let mut found = Found::default();
    lookup(conn, vals.iter(), &mut found).await?;
    Ok(vals.iter().map(|v| pick(v, &found, &Default::default())).collect())
}

/// The donors of many payments, created where new: the same result as
/// [`find_or_add`] called for each in turn, in a few statements.
pub async fn find_or_add_many(conn: &mut impl Exec, keys: &[DonorKeys]) -> Result<Vec<i64>> {
    find_or_add_many_in(conn, keys, &mut Memo::new(0)).await
}

/// [`find_or_add_many`] for one chunk of a longer import: `memo` carries what
/// earlier chunks learned, so a statement of many payments from the same
/// payers asks about each once.
pub async fn find_or_add_many_in(conn: &mut impl Exec, keys: &[DonorKeys], memo: &mut Memo) -> Result<Vec<i64>> {
    let prepared: Vec<Prepared> = keys.iter().map(Prepared::new).collect();
    find_or_add_prepared(conn, &prepared, memo).await
}

/// A payment's donor keys made ready for matching (cleaned, and each kind's key worked
/// out): work that asks nothing of the database, so a long import does it on another thread.
pub struct Prepared {
    keys: DonorKeys,
    vals: Values,
}

impl Prepared {
    pub fn new(keys: &DonorKeys) -> Prepared {
        let keys = keys.clean();
        let vals = values(&keys);
        Prepared { keys, vals }
    }
}

/// [`find_or_add_many_in`] for keys already prepared.
pub(crate) async fn find_or_add_prepared(
    conn: &mut impl Exec,
    prepared: &[Prepared],
    memo: &mut Memo,
) -> Result<Vec<i64>> {
    if memo.limit > 0 && memo.size() > memo.limit {
        *memo = Memo::new(memo.limit);
    }
    lookup(conn, prepared.iter().map(|p| &p.vals), &mut memo.found).await?;
    let pg = conn.is_pg();
    let mut next: i64 = q("SELECT CAST(COALESCE(MAX(id), 0) + 1 AS BIGINT) FROM donors").scalar(conn).await?;
    let mut new_rows: Vec<(i64, DonorKeys)> = Vec::new();
    let mut pending: HashMap<i64, usize> = HashMap::new();
    let mut ids = Vec::with_capacity(prepared.len());
    // Which payments bring a subscription or an (account, name) pair the memo has not seen:
    // only those are remembered in `donor_subscriptions` and `donor_accounts`, each once (the
    // memo has learned every one written before, and forgets them all together).
    let mut news = Vec::with_capacity(prepared.len());
    for Prepared { keys: k, vals } in prepared {
        let new = |t: usize| vals[t].as_ref().is_some_and(|v| !memo.made[t].contains_key(v));
        let (new_sub, new_pair) = (new(1), new(4));
        news.push((new_sub, new_pair));
        let id = match pick(vals, &memo.found, &memo.made) {
            Some((id, how)) => {
                let adds = k.email.is_some() || k.phone.is_some() || (k.inn.is_some() && how != "inn");
                let now = match pending.get(&id) {
                    // Made in this call and not written yet: what the payment adds goes into the new row.
                    Some(&i) if adds => {
                        let row = &mut new_rows[i].1;
                        for (mine, theirs) in [(&mut row.inn, &k.inn), (&mut row.email, &k.email), (&mut row.phone, &k.phone)] {
                            if mine.is_none() {
                                mine.clone_from(theirs);
                            }
                        }
                        Some((row.inn.clone(), row.email.clone(), row.phone.clone()))
                    }
                    Some(_) => None,
                    None if adds => {
                        q("UPDATE donors SET email = COALESCE(email, $1), phone = COALESCE(phone, $2), inn = COALESCE(inn, $3)
                         WHERE id = $4 RETURNING inn, email, phone")
                        .bind(&k.email)
                        .bind(&k.phone)
                        .bind(&k.inn)
                        .bind(id)
                        .fetch_optional(conn)
                        .await?
                    }
                    None => None,
                };
                if let Some((inn, email, phone)) = now {
                    // A donor with contacts is no longer found by name alone.
                    memo.has_contacts(id);
                    for (t, v) in [(0, inn), (2, email), (3, phone)] {
                        if let Some(v) = v {
                            memo.learn(t, v, id);
                        }
                    }
                }
                id
            }
            None => {
                let id = next;
                next += 1;
                for (t, v) in vals.iter().cloned().enumerate() {
                    if let Some(v) = v {
                        memo.learn(t, v, id);
                    }
                }
                pending.insert(id, new_rows.len());
                // The kind is decided when the donor is made, as one at a time would.
                new_rows.push((id, DonorKeys { kind: Some(k.kind()), ..k.clone() }));
                id
            }
        };
        // A subscription or account already known stays with its owner: nothing to learn.
        if let Some(sub) = vals[1].as_ref().filter(|_| new_sub) {
            memo.learn(1, sub.clone(), id);
        }
        if let Some(acc) = vals[4].as_ref().filter(|_| new_pair) {
            memo.learn(4, acc.clone(), id);
        }
        ids.push(id);
    }
    let insert = if pg { "INSERT" } else { "INSERT OR FAIL" };
    for group in new_rows.chunks(500) {
        let marks = repeat_marks(pg, "(?, ?, ?, ?, ?, ?, ?)", group.len());
        let mut add = q(format!("{insert} INTO donors (id, kind, name, name_key, inn, email, phone) VALUES {marks}"));
        for (id, k) in group {
            add = add
                .bind(*id)
                .bind(k.kind().as_str())
                .bind(&k.name)
                .bind(name_key(&k.name))
                .bind(&k.inn)
                .bind(&k.email)
                .bind(&k.phone);
        }
        add.execute(conn).await?;
    }
    if pg && !new_rows.is_empty() {
        // Donors made one at a time later take their ids from the sequence, past these.
        q("SELECT setval(pg_get_serial_sequence('donors', 'id'), (SELECT MAX(id) FROM donors))").execute(conn).await?;
    }
    let mut accounts: Vec<(&str, String, i64)> = Vec::new();
    for ((Prepared { keys: k, vals }, id), (new_sub, new_pair)) in prepared.iter().zip(&ids).zip(news) {
        if let Some(sub) = k.subscription.as_ref().filter(|_| new_sub) {
            keep_subscription(conn, sub, *id).await?;
        }
        // The account's key is the account, 0x1f, the name's key (see `values`).
        let pair = k
            .account
            .as_deref()
            .zip(vals[4].as_deref())
            .and_then(|(account, v)| Some((account, v.strip_prefix(account)?.strip_prefix('\u{1f}')?)));
        if let Some((account, key)) = pair.filter(|_| new_pair) {
            accounts.push((account, key.to_string(), *id));
        }
    }
    // In payment order, many to a statement: the first donor to use an account keeps it.
    for group in accounts.chunks(300) {
        let marks = repeat_marks(pg, "(?, ?, ?)", group.len());
        let mut add = q(format!(
            "INSERT INTO donor_accounts (account, name_key, donor_id) VALUES {marks} ON CONFLICT DO NOTHING"
        ));
        for (account, key, id) in group {
            add = add.bind(*account).bind(key).bind(*id);
        }
        add.execute(conn).await?;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::{normal_email, normal_phone};

    #[test]
    fn phones_and_emails_normalise() {
        for raw in ["8 (916) 123-45-67", "+7 916 123 45 67", "9161234567", "79161234567"] {
            assert_eq!(normal_phone(raw).as_deref(), Some("+79161234567"), "{raw}");
        }
        assert_eq!(normal_phone("+44 20 7946 0958").as_deref(), Some("+442079460958"));
        assert_eq!(normal_phone("12-34"), None);
        assert_eq!(normal_email(" Anna@Example.ORG ").as_deref(), Some("anna@example.org"));
        assert_eq!(normal_email("не указан"), None);
    }
}
