//! Donors who are likely one person kept as two: the matching engine of the
//! children's review queue ([`super::names`]: name keys, Latin letters,
//! typos) applied to donors, whose contacts stand where a child's birth date
//! does. Payments are matched to donors by INN, e-mail, phone and account
//! (`store::donors`); two records of one donor remain when those were
//! missing or of different kinds when the second payment came. This finds
//! them for a person to merge or keep apart; it never merges by itself.
//!
//! Only donors in the same block are compared, never all pairs: the same
//! name, INN, phone, e-mail, bank account, mailbox name (the part before `@`)
//! or, for typos, the same e-mail domain and mailbox name but for one letter.

use std::collections::{HashMap, HashSet};

use super::names::{distance, near_names};

/// What a donor record holds that tells who it is. Contacts are normalised
/// (`store::donors`); `name_key` is [`super::names::name_key`].
#[derive(Debug, Clone, Default)]
pub struct DonorFacts {
    pub id: i64,
    pub kind: String,
    pub name_key: String,
    pub inn: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Bank accounts paid from.
    pub accounts: Vec<String>,
}

impl DonorFacts {
    /// A donor as the donors table holds them; accounts are added by whoever asks for them.
    pub fn new(
        id: i64,
        kind: String,
        name_key: Option<String>,
        inn: Option<String>,
        email: Option<String>,
        phone: Option<String>,
    ) -> DonorFacts {
        DonorFacts { id, kind, name_key: name_key.unwrap_or_default(), inn, email, phone, accounts: Vec::new() }
    }
}

/// Two donors who are likely one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Likely {
    /// The earlier record (lower id).
    pub a: i64,
    pub b: i64,
    pub reason: String,
    /// 0 is the strongest (the same INN); the list is ordered by it.
    pub strength: u8,
}

/// A name held by more live donors than this is common here: the name alone
/// (no contact in common) says nothing about any two of them.
pub const COMMON_NAME: usize = 3;

/// A block larger than this (a phone or mailbox name shared by dozens) is a
/// placeholder or a family of addresses, not evidence: it is not compared.
const BLOCK_MAX: usize = 50;

/// Mailbox names that many unrelated people and organisations use.
const GENERIC_MAILBOXES: &[&str] =
    &["info", "mail", "office", "admin", "post", "contact", "support", "hello", "buh", "fond", "sales", "noreply"];

/// Every pair of `donors` that is likely one donor, strongest first.
pub fn likely_pairs(donors: &[DonorFacts]) -> Vec<Likely> {
    // (block kind, hash of the block's key, donor): sorted, a block is a run.
    // A hash collision only adds a pair to judge, never loses one.
    let mut keys: Vec<(u8, u64, u32)> = Vec::with_capacity(donors.len() * 4);
    let mut namesakes: HashMap<&str, usize> = HashMap::new();
    for (i, d) in donors.iter().enumerate() {
        *namesakes.entry(d.name_key.as_str()).or_default() += 1;
        let i = i as u32;
        if d.name_key.contains(' ') {
            keys.push((0, hash(&d.name_key), i));
        }
        if let Some(inn) = &d.inn {
            keys.push((1, hash(inn), i));
        }
        if let Some(phone) = &d.phone {
            keys.push((2, hash(phone), i));
        }
        for a in &d.accounts {
            keys.push((3, hash(a), i));
        }
        if let Some((local, domain)) = d.email.as_deref().and_then(|e| e.rsplit_once('@')) {
            // The same mailbox name at any provider, or one letter off at the same provider.
            keys.push((4, hash(local), i));
            // A letter dropped, never a digit: digits must agree (see [`similar_emails`]).
            if local.chars().count() >= 5 {
                keys.push((5, hash_without(domain, local, usize::MAX), i));
                for (at, c) in local.char_indices() {
                    if !c.is_ascii_digit() {
                        keys.push((5, hash_without(domain, local, at), i));
                    }
                }
            }
        }
    }
    keys.sort_unstable();
    let mut pairs: HashSet<(u32, u32)> = HashSet::new();
    for block in keys.chunk_by(|x, y| x.0 == y.0 && x.1 == y.1) {
        let limit = if block[0].0 == 0 { COMMON_NAME } else { BLOCK_MAX };
        if block.len() < 2 || block.len() > limit {
            continue;
        }
        for (k, x) in block.iter().enumerate() {
            for y in &block[k + 1..] {
                if x.2 != y.2 {
                    pairs.insert((x.2.min(y.2), x.2.max(y.2)));
                }
            }
        }
    }
    let mut out: Vec<Likely> = pairs
        .into_iter()
        .filter_map(|(x, y)| {
            let (x, y) = (&donors[x as usize], &donors[y as usize]);
            let (a, b) = if x.id < y.id { (x, y) } else { (y, x) };
            let names = namesakes.get(a.name_key.as_str()).copied().unwrap_or(0);
            judge(a, b, names).map(|(reason, strength)| Likely { a: a.id, b: b.id, reason, strength })
        })
        .collect();
    out.sort_by_key(|p| (p.strength, p.a, p.b));
    out
}

fn hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// The hash of `domain`, `local`'s digits, and `local` less its character at
/// byte `at` (none when out of range): mailboxes one letter apart share one.
fn hash_without(domain: &str, local: &str, at: usize) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    domain.hash(&mut h);
    for c in local.chars().filter(char::is_ascii_digit) {
        c.hash(&mut h);
    }
    0xffu8.hash(&mut h);
    for (i, c) in local.char_indices() {
        if i != at {
            c.hash(&mut h);
        }
    }
    h.finish()
}

/// Why `a` and `b` are likely one donor, and how strongly; `namesakes` is how
/// many live donors hold `a`'s name.
pub fn judge(a: &DonorFacts, b: &DonorFacts, namesakes: usize) -> Option<(String, u8)> {
    if a.id == b.id {
        return None;
    }
    match (&a.inn, &b.inn) {
        (Some(x), Some(y)) if x == y => return Some(("the same INN".into(), 0)),
        // Two taxpayers, whatever else they share.
        (Some(_), Some(_)) => return None,
        _ => {}
    }
    let same_name = !a.name_key.is_empty() && a.name_key == b.name_key;
    if !same_name && !near_names(&a.name_key, &b.name_key) {
        return None;
    }
    let name = if same_name { "the same name" } else { "nearly the same name (a typo, or another alphabet)" };
    let mut shared = Vec::new();
    if a.phone.is_some() && a.phone == b.phone {
        shared.push("phone");
    }
    if a.email.is_some() && a.email == b.email {
        shared.push("e-mail");
    }
    if a.accounts.iter().any(|x| b.accounts.contains(x)) {
        shared.push("bank account");
    }
    if !shared.is_empty() {
        return Some((format!("{name} and the same {}", shared.join(" and ")), 1));
    }
    if let (Some(x), Some(y)) = (&a.email, &b.email)
        && similar_emails(x, y)
    {
        // The addresses themselves stay out of the reason: it is recorded, and audited.
        return Some((format!("{name} and nearly the same e-mail"), 2));
    }
    // The name alone: only a full name few donors hold, of the same kind, and
    // nothing that tells them apart (two phones, two e-mails are two people).
    let differ = |x: &Option<String>, y: &Option<String>| x.is_some() && y.is_some() && x != y;
    if same_name
        && a.name_key.contains(' ')
        && namesakes <= COMMON_NAME
        && a.kind == b.kind
        && !differ(&a.phone, &b.phone)
        && !differ(&a.email, &b.email)
    {
        return Some(("the same name, and no e-mail or phone that differs".into(), 3));
    }
    None
}

/// Two e-mails one person may have used: the same mailbox name at another
/// provider, or at the same provider one letter off (digits must agree: they
/// are chosen, not mistyped).
pub fn similar_emails(a: &str, b: &str) -> bool {
    let (Some((la, da)), Some((lb, db))) = (a.rsplit_once('@'), b.rsplit_once('@')) else { return false };
    if a == b {
        return false;
    }
    if la == lb {
        return la.chars().count() >= 3 && !GENERIC_MAILBOXES.contains(&la);
    }
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    da == db
        && la.chars().count() >= 5
        && lb.chars().count() >= 5
        && digits(la) == digits(lb)
        && distance(la, lb, 1) <= 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::names::name_key;

    fn donor(id: i64, name: &str, email: Option<&str>, phone: Option<&str>) -> DonorFacts {
        DonorFacts {
            id,
            kind: "person".into(),
            name_key: name_key(name),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn emails_alike_and_not() {
        assert!(similar_emails("anna.ivanova@mail.ru", "anna.ivanova@gmail.com"));
        assert!(similar_emails("anna.ivanova@mail.ru", "anna.ivanva@mail.ru"));
        assert!(!similar_emails("donor123@example.ru", "donor124@example.ru"), "digits are chosen");
        assert!(!similar_emails("info@a.ru", "info@b.ru"), "a generic mailbox");
        assert!(!similar_emails("anna.ivanova@mail.ru", "anna.ivanova@mail.ru"), "the same: not similar");
        assert!(!similar_emails("anna.ivanova@mail.ru", "anna.petrova@mail.ru"));
    }

    #[test]
    fn pairs_found_and_near_misses_left() {
        let donors = vec![
            // The same name, one without contacts: likely.
            donor(1, "Кузнецова Ольга Петровна", Some("olga@x.ru"), None),
            donor(2, "кузнецова ольга петровна", None, None),
            // Namesakes with two phones: two people.
            donor(3, "Смирнов Игорь", None, Some("+79160000001")),
            donor(4, "Смирнов Игорь", None, Some("+79160000002")),
            // Latin letters and the same phone.
            donor(5, "Иванова Мария", None, Some("+79160000005")),
            donor(6, "Ivanova Mariya", Some("m@y.ru"), Some("+79160000005")),
            // The same phone, another name: a family's landline.
            donor(7, "Петров Сергей", None, Some("+79160000007")),
            donor(8, "Петрова Анастасия", None, Some("+79160000007")),
        ];
        let found: Vec<(i64, i64)> = likely_pairs(&donors).iter().map(|l| (l.a, l.b)).collect();
        assert_eq!(found, vec![(5, 6), (1, 2)]);
    }

    #[test]
    fn a_common_name_alone_is_not_enough() {
        let donors: Vec<DonorFacts> =
            (1..=COMMON_NAME as i64 + 1).map(|id| donor(id, "Иванова Елена", None, None)).collect();
        assert!(likely_pairs(&donors).is_empty());
        let mut two = donors[..2].to_vec();
        two[1].email = Some("e@x.ru".into());
        assert_eq!(likely_pairs(&two).len(), 1);
    }

    #[test]
    fn inns_decide() {
        let mut a = donor(1, "ООО Ромашка", None, None);
        let mut b = donor(2, "Ромашка", None, None);
        a.inn = Some("7701000001".into());
        b.inn = Some("7701000001".into());
        assert_eq!(judge(&a, &b, 1).map(|r| r.1), Some(0));
        b.inn = Some("7701000002".into());
        b.name_key = a.name_key.clone();
        assert_eq!(judge(&a, &b, 2), None, "two taxpayers");
    }
}
