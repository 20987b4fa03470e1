//! Finding a child's name in a payment's purpose, in any grammatical case:
//! "для Ивановой Марии", "Иванову Марию", "Мария Иванова" all name Иванова
//! Мария. Words are compared by their stems (case endings cut off, ё as е,
//! a fleeting vowel allowed: Павел/Павла), and a purpose names a person only
//! when two different words of their name appear in it.

use std::collections::{HashMap, HashSet};

/// Case endings, longest first (nouns, adjectives, surnames).
const ENDINGS: &[&str] = &[
    "ыми", "ими", "ого", "его", "ому", "ему", "ией", "ием", "ьей", "ьем", "ой", "ей", "ий", "ый", "ая", "яя", "ую",
    "юю", "ым", "им", "ом", "ем", "ою", "ею", "ия", "ию", "ии", "ья", "ью", "ьи", "ье", "ы", "и", "а", "я", "у", "ю",
    "е", "о", "ь", "й",
];

/// Lower case, ё as е, letters only.
fn normal(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

/// The stem a word is recognised by: the longest case ending that leaves at least three letters is cut off.
fn stem(word: &str) -> String {
    let w = normal(word);
    let len = w.chars().count();
    for e in ENDINGS {
        if let Some(s) = w.strip_suffix(e)
            && len - e.chars().count() >= 3
        {
            return s.to_string();
        }
    }
    w
}

/// A name word's stems: its own and, for Павел/Лев-like words, the one without the fleeting vowel.
fn name_stems(word: &str) -> Vec<String> {
    let s = stem(word);
    let chars: Vec<char> = s.chars().collect();
    let mut out = vec![s.clone()];
    if chars.len() >= 4 {
        let (a, v, b) = (chars[chars.len() - 3], chars[chars.len() - 2], chars[chars.len() - 1]);
        let vowel = |c: char| "аеёиоуыэюя".contains(c);
        if matches!(v, 'е' | 'о') && !vowel(a) && !vowel(b) {
            let mut shorter: String = chars[..chars.len() - 2].iter().collect();
            shorter.push(b);
            out.push(shorter);
        }
    }
    out
}

/// A name as donors are matched by: lower case, ё as е, quotes and
/// punctuation gone, words in alphabetical order ("Иванов  Пётр" and "пётр
/// ИВАНОВ" are one key; «Ромашка» and "Ромашка" too).
pub fn name_key(name: &str) -> String {
    let mut words: Vec<String> = name
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | '"' | '\'' | '«' | '»' | '“' | '”' | '„'))
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().flat_map(char::to_lowercase).map(|c| if c == 'ё' { 'е' } else { c }).collect())
        .collect();
    words.sort_unstable();
    words.join(" ")
}

/// A name in Latin letters (Cyrillic transliterated), lower case, words in order:
/// "Иванова Мария" and "Ivanova Maria" come out alike, so they can be compared.
pub fn latin_key(name: &str) -> String {
    // Word by word, sorted after: the two alphabets order the same words differently.
    let mut words: Vec<String> = name_key(name).split(' ').map(latin_word).collect();
    words.sort_unstable();
    words.join(" ")
}

fn latin_word(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        let t = match c {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' => "i",
            'й' => "i",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ъ' | 'ь' => "",
            'ы' => "y",
            'э' => "e",
            'ю' => "iu",
            'я' => "ia",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(t);
    }
    // Spellings that differ between transliteration schemes.
    out.replace("kh", "h")
        .replace("iu", "yu")
        .replace("ia", "ya")
        .replace("yu", "u")
        .replace("ya", "a")
        .replace('y', "i")
}

/// Levenshtein distance, in characters, stopping early past `limit`.
pub fn distance(a: &str, b: &str, limit: usize) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        if cur.iter().min().is_some_and(|m| *m > limit) {
            return limit + 1;
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Nearly the same name: at most two letters apart once both are in Latin
/// letters, words in order (a typo, or the name written in another alphabet).
pub fn near_names(a: &str, b: &str) -> bool {
    distance(&latin_key(a), &latin_key(b), 2) <= 2
}

/// Why two children may be one, or `None` when they are plainly different (or plainly the same:
/// the exact rule decides those). Birth dates are `YYYY-MM-DD`.
pub fn likely_same(a_name: &str, a_born: Option<&str>, b_name: &str, b_born: Option<&str>) -> Option<String> {
    let same_name = name_key(a_name) == name_key(b_name);
    let near_name = near_names(a_name, b_name);
    let digits_off = match (a_born, b_born) {
        (Some(x), Some(y)) if x.len() == y.len() => Some(x.chars().zip(y.chars()).filter(|(p, q)| p != q).count()),
        _ => None,
    };
    match digits_off {
        Some(0) if !same_name && near_name => {
            Some("the same birth date and nearly the same name (a typo, or another alphabet)".into())
        }
        Some(1) if same_name || near_name => Some("nearly the same name and a birth date one digit off".into()),
        None if same_name => Some("the same name; a birth date is missing".into()),
        _ => None,
    }
}

/// The people to look for, indexed by the stems of their names.
#[derive(Debug, Default)]
pub struct NameIndex {
    /// stem → (person, which word of their name)
    by_stem: HashMap<String, Vec<(usize, usize)>>,
    people: Vec<(i64, String)>,
}

/// A person a text names, and the words that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    One {
        id: i64,
        name: String,
        words: Vec<String>,
    },
    /// Several people fit: a person decides.
    Several(Vec<i64>),
}

impl NameIndex {
    /// `people`: (id, full name). Names of fewer than two words are never matched.
    pub fn new(people: impl IntoIterator<Item = (i64, String)>) -> NameIndex {
        let mut index = NameIndex::default();
        for (id, name) in people {
            let n = index.people.len();
            let words: Vec<&str> = name.split_whitespace().filter(|w| normal(w).chars().count() >= 3).collect();
            if words.len() < 2 {
                continue;
            }
            for (k, w) in words.iter().enumerate() {
                for s in name_stems(w) {
                    index.by_stem.entry(s).or_default().push((n, k));
                }
            }
            index.people.push((id, name));
        }
        index
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    /// Who `text` names: someone two of whose name words it holds.
    pub fn find(&self, text: &str) -> Option<Named> {
        if self.people.is_empty() {
            return None;
        }
        let mut hits: HashMap<usize, (HashSet<usize>, Vec<String>)> = HashMap::new();
        for word in text.split(|c: char| !c.is_alphabetic()).filter(|w| w.chars().count() >= 3) {
            let Some(found) = self.by_stem.get(&stem(word)) else { continue };
            for (person, k) in found {
                let entry = hits.entry(*person).or_default();
                if entry.0.insert(*k) {
                    entry.1.push(word.to_string());
                }
            }
        }
        let mut named: Vec<(usize, Vec<String>)> =
            hits.into_iter().filter(|(_, (ks, _))| ks.len() >= 2).map(|(p, (_, words))| (p, words)).collect();
        named.sort_by_key(|(p, _)| *p);
        match named.as_slice() {
            [] => None,
            [(p, words)] => {
                let (id, name) = &self.people[*p];
                Some(Named::One { id: *id, name: name.clone(), words: words.clone() })
            }
            many => Some(Named::Several(many.iter().map(|(p, _)| self.people[*p].0).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{NameIndex, Named, stem};

    fn index() -> NameIndex {
        NameIndex::new([
            (1, "Иванова Мария Петровна".to_string()),
            (2, "Соколов Павел Андреевич".to_string()),
            (3, "Кузнецов Дмитрий Ильич".to_string()),
            (4, "Толстая Алёна".to_string()),
            (5, "Иванов Илья".to_string()),
        ])
    }

    fn who(text: &str) -> Option<i64> {
        match index().find(text) {
            Some(Named::One { id, .. }) => Some(id),
            _ => None,
        }
    }

    #[test]
    fn names_are_found_in_every_case() {
        for text in [
            "На лечение Ивановой Марии",
            "для Иванову Марию",
            "Помощь Марии Ивановой, спасибо",
            "МАРИЯ ИВАНОВА",
            "Ивановой Марией Петровной",
        ] {
            assert_eq!(who(text), Some(1), "{text}");
        }
        assert_eq!(who("Соколову Павлу на реабилитацию"), Some(2));
        assert_eq!(who("для Павла Соколова"), Some(2));
        assert_eq!(who("Кузнецову Дмитрию"), Some(3));
        assert_eq!(who("Дмитрия Кузнецова"), Some(3));
        assert_eq!(who("Алене Толстой"), Some(4));
        assert_eq!(who("Ильей Ивановым"), Some(5));
    }

    #[test]
    fn one_word_or_a_stranger_is_not_a_match() {
        assert_eq!(who("Ивановой"), None, "a surname alone could be anyone's");
        assert_eq!(who("Марии Сидоровой"), None);
        assert_eq!(who("Пожертвование на уставную деятельность"), None);
        assert_eq!(stem("Марии"), stem("Мария"));
    }

    #[test]
    fn donor_name_keys_ignore_case_yo_spacing_quotes_and_order() {
        use super::name_key;
        assert_eq!(name_key("Иванов  Пётр"), name_key("пётр ИВАНОВ"));
        assert_eq!(name_key("Иванов Петр"), name_key("Иванов Пётр"));
        assert_eq!(name_key("ООО «Ромашка»"), name_key("ооо \"Ромашка\""));
        assert_ne!(name_key("Иванов Петр"), name_key("Иванова Петра"));
    }

    #[test]
    fn likely_matches_and_near_misses() {
        use super::likely_same;
        let d = Some("2015-04-02");
        assert!(likely_same("Иванова Мария", d, "Иванова Марья", d).is_some(), "a typo");
        assert!(likely_same("Иванова Мария", d, "Ivanova Mariya", d).is_some(), "Latin letters");
        // The alphabets sort the words differently: compared word by word.
        assert!(likely_same("Зайцева Полина Игоревна", d, "Zaytseva Polina Igorevna", d).is_some(), "word order");
        assert!(likely_same("Иванова Мария", d, "Иванова Мария", Some("2015-04-03")).is_some(), "one digit off");
        assert!(likely_same("Иванова Мария", None, "мария иванова", d).is_some(), "no birth date");
        assert!(likely_same("Иванова Мария", d, "Петрова Анна", d).is_none(), "another child born the same day");
        assert!(likely_same("Иванова Мария", d, "Иванова Мария", Some("2016-05-02")).is_none(), "two digits off");
        assert!(likely_same("Иванова Мария", d, "Иванова Мария", d).is_none(), "the same: the exact rule's");
        assert!(likely_same("Иванов Иван", d, "Иванова Инна", Some("2015-04-03")).is_none(), "near name, date off");
    }

    #[test]
    fn two_people_who_fit_are_left_for_a_person() {
        let index = NameIndex::new([(1, "Иванова Мария".to_string()), (2, "Иванова Мария".to_string())]);
        assert_eq!(index.find("Ивановой Марии"), Some(Named::Several(vec![1, 2])));
    }
}
