//! The XML underneath: finding elements by local name, a node's line in one look-up, and
//! where a damaged document went wrong.

use super::{El, work};
use crate::import::Rejected;

pub(super) fn child<'a, 'i>(node: El<'a, 'i>, name: &str) -> Option<El<'a, 'i>> {
    node.children().find(|c| {
        work(1);
        c.is_element() && c.tag_name().name() == name
    })
}

pub(super) fn children<'a, 'i>(node: El<'a, 'i>, name: &'static str) -> impl Iterator<Item = El<'a, 'i>> {
    node.children().filter(move |c| {
        work(1);
        c.is_element() && c.tag_name().name() == name
    })
}

/// The element at `path` under `node` (first match at each step).
pub(super) fn at<'a, 'i>(node: El<'a, 'i>, path: &str) -> Option<El<'a, 'i>> {
    path.split('/').try_fold(node, child)
}

pub(super) fn text(node: El, path: &str) -> Option<String> {
    at(node, path).and_then(|n| n.text()).map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

pub(super) fn first_text(node: El, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| text(node, p))
}

/// Where each line of the document starts, found once: a node's line is then a binary search
/// (counting the newlines before every node made reading quadratic in the file's length).
pub(super) struct Lines(pub(super) Vec<usize>);

impl Lines {
    pub(super) fn new(source: &str) -> Lines {
        work(source.len());
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', source.as_bytes()).map(|i| i + 1));
        Lines(starts)
    }

    /// The line (from 1) of byte `pos`: a binary search, counted as one step of work.
    pub(super) fn of(&self, pos: usize) -> usize {
        work(1);
        self.0.partition_point(|&start| start <= pos)
    }
}

/// Where an element of a damaged document is left open: its line and what is wrong.
/// Called only once the XML parser has refused the document, to name the element at fault.
pub(super) fn unclosed(source: &str, lines: &Lines) -> Option<(usize, String)> {
    let b = source.as_bytes();
    let after = |from: usize, end: &[u8]| memchr::memmem::find(b.get(from..)?, end).map(|k| from + k + end.len());
    let name_at = |from: usize| {
        let rest = source.get(from..).unwrap_or("");
        let len = rest.find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>').unwrap_or(rest.len());
        &rest[..len]
    };
    let mut open: Vec<(usize, &str)> = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let s = i + off;
        let rest = &b[s..];
        let (skip, what): (&[u8], &[u8]) = if rest.starts_with(b"<!--") {
            (b"-->", b"comment")
        } else if rest.starts_with(b"<![CDATA[") {
            (b"]]>", b"CDATA section")
        } else if rest.starts_with(b"<?") {
            (b"?>", b"processing instruction")
        } else if rest.starts_with(b"<!") {
            (b">", b"declaration")
        } else {
            (b"", b"")
        };
        if !skip.is_empty() {
            match after(s + 2, skip) {
                Some(next) => i = next,
                None => {
                    let what = String::from_utf8_lossy(what);
                    return Some((lines.of(s), format!("the {what} that starts here never ends")));
                }
            }
            continue;
        }
        if rest.starts_with(b"</") {
            let name = name_at(s + 2);
            let Some(end) = memchr::memchr(b'>', &b[s..]) else {
                return Some((lines.of(s), format!("the closing tag </{name}> is cut off")));
            };
            i = s + end + 1;
            match open.iter().rposition(|(_, n)| *n == name) {
                Some(k) if k + 1 == open.len() => {
                    open.pop();
                }
                Some(_) => {
                    let (at, inner) = open.last().copied().unwrap_or((s, name));
                    return Some((
                        lines.of(at),
                        format!("element <{inner}> is not closed before </{name}> on line {}", lines.of(s)),
                    ));
                }
                None => {
                    let inside = open.last().map_or(String::new(), |(_, n)| format!(" inside <{n}>"));
                    return Some((lines.of(s), format!("closing tag </{name}>{inside} closes no open element")));
                }
            }
            continue;
        }
        let name = name_at(s + 1);
        // The tag runs to the first `>` outside quotes (an attribute's value may hold one).
        let mut quote = None;
        let mut end = None;
        for (j, c) in b.iter().enumerate().skip(s + 1) {
            match (quote, *c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'') => quote = Some(*c),
                (None, b'>') => {
                    end = Some(j);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            return Some((lines.of(s), format!("the tag <{name}> is cut off")));
        };
        i = end + 1;
        if b[end - 1] != b'/' {
            open.push((s, name));
        }
    }
    let (at, name) = open.last()?;
    Some((
        lines.of(*at),
        format!("element <{name}> is never closed (the file ends on line {})", lines.of(source.len())),
    ))
}

/// Why the XML parser refused the document, on the line of the element at fault.
pub(super) fn damaged(source: &str, lines: &Lines, e: &roxmltree::Error) -> Rejected {
    use roxmltree::Error as X;
    if matches!(e, X::UnclosedRootNode | X::UnexpectedEndOfStream | X::UnexpectedCloseTag(..))
        && let Some((line, message)) = unclosed(source, lines)
    {
        return Rejected::Structure { line, message: format!("the XML is damaged: {message}") };
    }
    Rejected::Structure { line: e.pos().row as usize, message: format!("the XML is damaged: {e}") }
}
