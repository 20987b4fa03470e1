//! A quick look over a 1C file before its documents are read: how many there
//! are (for the progress bar), and whether anything that names the
//! foundation's own accounts comes after the first of them. In the files banks
//! write it never does (the header and the account sections come first), and
//! the documents can be read in the same pass that checks the file; where it
//! does, the accounts are gathered by a pass of their own first.
//!
//! The look is cheap because it decodes almost nothing: a line can matter
//! only if its first letter is one the keys that matter begin with, and only
//! those few lines are decoded and compared as the splitter compares them.

use std::io::BufRead;

use super::super::Rejected;
use super::super::text::Legacy;
use super::sections::{fold, same_key, structure};

/// What the quick look found.
pub(super) struct Survey {
    /// Documents in the file (`СекцияДокумент` lines).
    pub documents: usize,
    /// A `СекцияРасчСчет`, `РасчСчет=` or `Документ=` line after the first document.
    pub accounts_after_documents: bool,
}

/// Could a line whose first non-blank bytes are `bytes` start with one of the keys that
/// matter, judged by its first two letters (СЕ, РА, ДО, in any case) in either reading of
/// the line (UTF-8 or the legacy code page)? A blank character other than ASCII's counts
/// too, as the splitter trims it: such a line is looked at closely. No line that matters
/// is ever missed, and the document's other keys that begin so (`Сумма`, `Дата…`) are
/// passed over without being decoded.
fn may_matter(bytes: &[u8], legacy: &Legacy) -> bool {
    let Some(&first) = bytes.first() else { return false };
    if first.is_ascii() {
        return false;
    }
    let starts = |a: char, b: Option<char>| {
        a.is_whitespace() || matches!((fold(a), b.map(fold)), ('с', Some('е')) | ('р', Some('а')) | ('д', Some('о')))
    };
    // The code pages read here are one byte to a letter; in UTF-8 two letters take at most 8 bytes.
    let mut utf8 = bytes[..bytes.len().min(8)].utf8_chunks().next().map(|c| c.valid().chars()).into_iter().flatten();
    starts(legacy.char_of(first), bytes.get(1).map(|b| legacy.char_of(*b)))
        || utf8.next().is_some_and(|a| starts(a, utf8.next()))
}

pub(super) fn survey<R: BufRead>(src: &mut R, legacy: &Legacy) -> Result<Survey, Rejected> {
    let mut found = Survey { documents: 0, accounts_after_documents: false };
    let (mut text, n) = (String::new(), std::cell::Cell::new(0usize));
    let mut look = |line: &[u8]| {
        n.set(n.get() + 1);
        let start = line.iter().position(|b| !(b.is_ascii() && char::from(*b).is_whitespace())).unwrap_or(line.len());
        // The first line is the format's name; others only if their first letter may matter.
        if n.get() == 1 || !may_matter(&line[start..], legacy) {
            return;
        }
        // The key as the splitter reads it: the line decoded as a whole (UTF-8 if all of it
        // is), up to its first `=`, which is the same byte in every encoding read here.
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let key = &line[..memchr::memchr(b'=', line).unwrap_or(line.len())];
        let key = match std::str::from_utf8(line) {
            Ok(s) => &s[..key.len()],
            Err(_) => {
                legacy.decode_into(key, &mut text);
                &text
            }
        };
        let key = key.trim();
        if same_key("секциядокумент", key) {
            found.documents += 1;
        } else if found.documents > 0 && ["секциярасчсчет", "расчсчет", "документ"].iter().any(|k| same_key(k, key))
        {
            found.accounts_after_documents = true;
        }
    };
    // Lines are looked at in the reader's own buffer; only one that spans two reads is copied.
    let mut split: Vec<u8> = Vec::new();
    loop {
        let buf = src.fill_buf().map_err(|e| structure(n.get() + 1, format!("the file cannot be read: {e}")))?;
        if buf.is_empty() {
            if !split.is_empty() {
                look(&split);
            }
            return Ok(found);
        }
        let mut at = 0;
        while let Some(end) = memchr::memchr(b'\n', &buf[at..]) {
            let line = &buf[at..at + end + 1];
            if split.is_empty() {
                look(line);
            } else {
                split.extend_from_slice(line);
                look(&split);
                split.clear();
            }
            at += end + 1;
        }
        split.extend_from_slice(&buf[at..]);
        let read = buf.len();
        src.consume(read);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{IBM866, UTF_8, WINDOWS_1251};

    #[test]
    fn no_key_that_matters_is_passed_over_and_the_others_are() {
        let spellings = |k: &str| {
            let upper = k.to_uppercase();
            let title: String = k.chars().take(1).flat_map(char::to_uppercase).chain(k.chars().skip(1)).collect();
            let mixed: String = k
                .chars()
                .enumerate()
                .map(|(i, c)| if i % 2 == 1 { c.to_uppercase().next().unwrap_or(c) } else { c })
                .collect();
            [k.to_string(), upper, title, mixed]
        };
        for (file, legacy) in [(WINDOWS_1251, WINDOWS_1251), (IBM866, IBM866), (UTF_8, WINDOWS_1251), (UTF_8, IBM866)] {
            let legacy = Legacy::new(legacy);
            for key in ["секциядокумент", "секциярасчсчет", "расчсчет", "документ"]
            {
                for spelt in spellings(key) {
                    for lead in ["", "\u{a0}", "\u{2007}"] {
                        let line = format!("{lead}{spelt}=1\r\n");
                        let (bytes, _, lossy) = file.encode(&line);
                        if lossy {
                            continue;
                        }
                        assert!(may_matter(&bytes, &legacy), "{} line {line:?}", file.name());
                    }
                }
            }
            for other in
                ["Сумма=1", "СУММА=1", "Дата=01.03.2026", "ДатаПоступило=01.03.2026", "Номер=1", "Плательщик=А"]
            {
                let (bytes, _, _) = file.encode(other);
                assert!(!may_matter(&bytes, &legacy), "{} line {other:?}", file.name());
            }
        }
    }
}
