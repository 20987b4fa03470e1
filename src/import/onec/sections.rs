//! A 1C file's structure: `Ключ=Значение` sections (the header, account
//! sections, documents) split off line by line, keys compared without case,
//! every section checked to be closed and the file to end with `КонецФайла`.

use super::super::{LineError, Rejected};

/// One `Ключ=Значение` section, keys as written (compared without case), values trimmed.
pub(super) struct Section {
    pub(super) line: usize,
    pub(super) kind: String,
    /// In file order; a key that repeats (`РасчСчет` in the header) is there each time.
    /// Only the first `used` are this section's: a document's strings are reused by the next.
    pub(super) fields: Vec<(String, String)>,
    /// The line each field is on, so an error points at the bad field, not the section's start.
    pub(super) lines: Vec<usize>,
    pub(super) used: usize,
}

/// Lower case for the letters 1C keys are made of (Cyrillic and Latin), without tables.
pub(super) fn fold(c: char) -> char {
    match c {
        'А'..='Я' => char::from_u32(c as u32 + 32).unwrap_or(c),
        'Ё' => 'ё',
        'A'..='Z' => c.to_ascii_lowercase(),
        _ => c,
    }
}

/// Are two keys the same, case aside?
pub(super) fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a == b || a.chars().zip(b.chars()).all(|(x, y)| x == y || fold(x) == fold(y)))
}

/// Does a section start with this key (`СекцияДокумент`, `СекцияРасчСчет`)?
pub(super) fn starts_section(key: &str) -> bool {
    let key = key.trim();
    same_key("секциядокумент", key) || same_key("секциярасчсчет", key)
}

impl Section {
    pub(super) fn new(line: usize, kind: &str) -> Section {
        Section { line, kind: kind.to_string(), fields: Vec::with_capacity(16), lines: Vec::with_capacity(16), used: 0 }
    }

    /// This section made over for another, keeping its strings' memory.
    pub(super) fn reuse(mut self, line: usize, kind: &str) -> Section {
        self.line = line;
        self.kind.clear();
        self.kind.push_str(kind);
        self.used = 0;
        self
    }

    pub(super) fn fields(&self) -> &[(String, String)] {
        &self.fields[..self.used]
    }

    /// The last value of `key`, if not empty.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.fields().iter().rev().find(|(k, _)| same_key(k, key)).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// The line of the last value of `key` (the section's own line if it has none).
    pub(super) fn line_of(&self, key: &str) -> usize {
        let at = self.fields().iter().rposition(|(k, _)| same_key(k, key));
        at.and_then(|i| self.lines.get(i).copied()).unwrap_or(self.line)
    }

    /// `key` comes trimmed (see [`Splitter::line`]); the value is trimmed here.
    pub(super) fn set(&mut self, line: usize, key: &str, value: &str) {
        match self.lines.get_mut(self.used) {
            Some(l) => *l = line,
            None => self.lines.push(line),
        }
        match self.fields.get_mut(self.used) {
            Some((k, v)) => {
                k.clear();
                k.push_str(key);
                v.clear();
                v.push_str(value.trim());
            }
            None => self.fields.push((key.to_string(), value.trim().to_string())),
        }
        self.used += 1;
    }

    pub(super) fn all(&self, key: &str) -> Vec<&str> {
        self.fields().iter().filter(|(k, v)| same_key(k, key) && !v.is_empty()).map(|(_, v)| v.as_str()).collect()
    }
}

pub(super) fn structure(line: usize, message: impl Into<String>) -> Rejected {
    Rejected::Structure { line, message: message.into() }
}

/// Section and file markers, folded.
pub(super) const MARKERS: &[&str] =
    &["секциярасчсчет", "секциядокумент", "конецрасчсчет", "конецдокумента", "конецфайла"];

/// A closed section, as the splitter hands it on.
pub(super) enum Closed {
    Account(Section),
    Document(Section),
}

/// Splits the file, line by line, into header, account sections and
/// documents, checking that every section is closed and the file ends with
/// `КонецФайла`. With `keep_documents` off, documents' fields are not kept
/// (the first pass only needs the accounts and the structure).
pub(super) struct Splitter {
    pub(super) header: Section,
    pub(super) open: Option<Section>,
    pub(super) ended: bool,
    pub(super) last_closed_document: bool,
    pub(super) warnings: Vec<LineError>,
    pub(super) keep_documents: bool,
    pub(super) last_line: usize,
    /// A closed document handed back, to hold the next one.
    pub(super) spare: Option<Section>,
}

impl Splitter {
    pub(super) fn new(keep_documents: bool) -> Splitter {
        Splitter {
            header: Section::new(1, "header"),
            open: None,
            ended: false,
            last_closed_document: false,
            warnings: Vec::new(),
            keep_documents,
            last_line: 0,
            spare: None,
        }
    }

    /// Is a document open whose fields this pass does not keep? Then only a line that
    /// ends it or starts another section matters.
    pub(super) fn skips_fields(&self) -> bool {
        !self.keep_documents && self.open.as_ref().is_some_and(|s| s.kind != "account")
    }

    /// A closed document, done with: its memory holds the next.
    pub(super) fn recycle(&mut self, doc: Section) {
        self.spare = Some(doc);
    }

    pub(super) fn line(&mut self, n: usize, raw: &str) -> Result<Option<Closed>, Rejected> {
        self.last_line = n;
        let line = raw.trim();
        if line.is_empty() {
            return Ok(None);
        }
        if self.ended {
            return Err(structure(n, "text after КонецФайла"));
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v)),
            None => (line, None),
        };
        // Every marker starts with `с` or `к`; most keys are told apart by their first letter.
        let may_mark = matches!(key.chars().next().map(fold), Some('с' | 'к'));
        let marker = if may_mark { MARKERS.iter().find(|m| same_key(m, key)).copied().unwrap_or("") } else { "" };
        match (marker, value) {
            (marker @ ("секциярасчсчет" | "секциядокумент"), _) => {
                if let Some(s) = &self.open {
                    return Err(structure(
                        n,
                        format!("a new section starts before the one at line {} has ended", s.line),
                    ));
                }
                let kind = if marker == "секциярасчсчет" {
                    "account"
                } else {
                    value.map(str::trim).filter(|v| !v.is_empty()).unwrap_or("document")
                };
                self.open = Some(match self.spare.take() {
                    Some(s) if kind != "account" => s.reuse(n, kind),
                    _ => Section::new(n, kind),
                });
                self.last_closed_document = false;
            }
            ("конецрасчсчет", None) => match self.open.take() {
                Some(s) if s.kind == "account" => return Ok(Some(Closed::Account(s))),
                Some(s) => {
                    return Err(structure(n, format!("КонецРасчСчет closes the document started at line {}", s.line)));
                }
                None => return Err(structure(n, "КонецРасчСчет without СекцияРасчСчет")),
            },
            // The spec's own example closes one document twice: tolerated, noted.
            ("конецдокумента", None) if self.open.is_none() && self.last_closed_document => {
                self.warnings
                    .push(LineError { line: n, message: "a second КонецДокумента; ignored".into() });
            }
            ("конецдокумента", None) => match self.open.take() {
                Some(s) if s.kind != "account" => {
                    self.last_closed_document = true;
                    return Ok(Some(Closed::Document(s)));
                }
                Some(s) => {
                    return Err(structure(
                        n,
                        format!("КонецДокумента closes the account section started at line {}", s.line),
                    ));
                }
                None => return Err(structure(n, "КонецДокумента without СекцияДокумент")),
            },
            ("конецфайла", None) => {
                if let Some(s) = &self.open {
                    let end =
                        if s.kind == "account" { "КонецРасчСчет" } else { "КонецДокумента" };
                    return Err(structure(s.line, format!("the section here has no {end}")));
                }
                self.ended = true;
            }
            (_, Some(v)) => match self.open.as_mut() {
                Some(s) if s.kind == "account" || self.keep_documents => s.set(n, key, v),
                Some(_) => {}
                None => self.header.set(n, key, v),
            },
            (_, None) => {
                return Err(structure(
                    n,
                    format!("{:?} is neither a section marker nor Key=Value", crate::text::clip(line, 40)),
                ));
            }
        }
        Ok(None)
    }

    pub(super) fn finish(&self) -> Result<(), Rejected> {
        if let Some(s) = &self.open {
            let end = if s.kind == "account" { "КонецРасчСчет" } else { "КонецДокумента" };
            return Err(structure(s.line, format!("the section here has no {end}")));
        }
        if !self.ended {
            return Err(structure(self.last_line, "the file has no КонецФайла at its end"));
        }
        Ok(())
    }
}
