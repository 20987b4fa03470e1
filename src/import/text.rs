//! Bytes to lines of text. Registers claim one encoding and use another, or
//! mix two in one file, so the encoding is decided from the bytes, line by
//! line: valid UTF-8 with letters beyond ASCII is UTF-8; anything else is the
//! legacy code page (CP1251, or CP866 where the file says DOS).

use encoding_rs::{Encoding, IBM866, UTF_8, WINDOWS_1251};

/// The file's lines (without line ends), the numbering starting at 1, and
/// the name of the encoding most of it was in.
pub fn decode_lines(bytes: &[u8], legacy_dos: bool) -> (Vec<String>, &'static str) {
    decode_lines_with(bytes, if legacy_dos { IBM866 } else { WINDOWS_1251 })
}

/// The same, with `legacy` for lines that are not UTF-8.
pub fn decode_lines_with(bytes: &[u8], legacy: &'static Encoding) -> (Vec<String>, &'static str) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_ok() {
        let text = String::from_utf8_lossy(bytes);
        return (split(&text), if bytes.is_ascii() { "ascii" } else { "utf-8" });
    }
    let mut lines = Vec::new();
    for raw in bytes.split(|b| *b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = match std::str::from_utf8(raw) {
            Ok(s) => s.to_string(),
            Err(_) => legacy.decode_without_bom_handling(raw).0.into_owned(),
        };
        lines.push(line);
    }
    if bytes.ends_with(b"\n") {
        lines.pop();
    }
    (lines, legacy.name())
}

fn split(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l).to_string()).collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    lines
}

/// One line as read, without its line end: its bytes, and its text where they are UTF-8.
pub struct RawLine<'a> {
    pub bytes: &'a [u8],
    pub utf8: Option<&'a str>,
    legacy: &'static Encoding,
}

impl<'a> RawLine<'a> {
    /// The text of the line's first `end` bytes (`end` at an ASCII byte, or the line's end),
    /// decoded as the whole line is: a single-byte legacy encoding maps byte for byte.
    pub fn text<'b>(&'b self, end: usize, buf: &'b mut String) -> &'b str {
        match self.utf8 {
            Some(s) => s.get(..end).unwrap_or(s),
            None => {
                let bytes = self.bytes.get(..end).unwrap_or(self.bytes);
                buf.clear();
                buf.reserve(bytes.len() * 2 + 4);
                let mut decoder = self.legacy.new_decoder_without_bom_handling();
                let _ = decoder.decode_to_string(bytes, buf, true);
                buf
            }
        }
    }
}

/// Calls `f` with each line of `reader` (numbered from 1, without its line
/// end), undecoded; see [`for_each_line`]. Returns the encoding name.
pub fn for_each_raw_line<R: std::io::BufRead>(
    mut reader: R,
    legacy: &'static Encoding,
    mut f: impl FnMut(usize, &RawLine) -> Result<(), crate::import::Rejected>,
) -> Result<&'static str, crate::import::Rejected> {
    let mut buf = Vec::new();
    let (mut n, mut any_legacy, mut all_ascii) = (0usize, false, true);
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(|e| crate::import::Rejected::Structure {
            line: n + 1,
            message: format!("the file cannot be read: {e}"),
        })?;
        if read == 0 {
            break;
        }
        n += 1;
        let mut line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        if n == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        all_ascii &= line.is_ascii();
        let utf8 = std::str::from_utf8(line).ok();
        any_legacy |= utf8.is_none();
        f(n, &RawLine { bytes: line, utf8, legacy })?;
    }
    Ok(if any_legacy {
        legacy.name()
    } else if all_ascii {
        "ascii"
    } else {
        "utf-8"
    })
}

/// Calls `f` with each line of `reader` (numbered from 1, without its line
/// end), decoded as [`decode_lines_with`] would, without holding the file:
/// UTF-8 where the line is, `legacy` otherwise. Returns the encoding name.
pub fn for_each_line<R: std::io::BufRead>(
    reader: R,
    legacy: &'static Encoding,
    mut f: impl FnMut(usize, &str) -> Result<(), crate::import::Rejected>,
) -> Result<&'static str, crate::import::Rejected> {
    // Legacy lines are decoded into one reused buffer, not a new string each.
    let mut text = String::new();
    for_each_raw_line(reader, legacy, |n, line| f(n, line.text(line.bytes.len(), &mut text)))
}

/// Which bytes `legacy` decodes as U+FFFD (none, for the code pages registers use;
/// asked of the decoder itself rather than assumed).
pub fn replaced_bytes(legacy: &'static Encoding) -> [bool; 256] {
    let mut table = [false; 256];
    for (b, slot) in table.iter_mut().enumerate().skip(0x80) {
        let byte = [b as u8];
        *slot = legacy.decode_without_bom_handling(&byte).0.contains('\u{fffd}');
    }
    table
}

/// The first line, decoded as well as can be, for messages.
pub fn first_line(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == b'\n').unwrap_or(bytes.len()).min(200);
    let raw = &bytes[..end];
    let text = match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => WINDOWS_1251.decode_without_bom_handling(raw).0.into_owned(),
    };
    crate::text::inert(text.trim_end_matches('\r')).into_owned()
}

/// Does the raw file declare the DOS code page (`Кодировка=DOS`)? The key is
/// looked for in both legacy encodings' bytes.
pub fn declares_dos(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    for enc in [WINDOWS_1251, IBM866, UTF_8] {
        let (text, _, _) = enc.decode(head);
        if let Some(line) = text.lines().find(|l| l.trim_start().starts_with("Кодировка=")) {
            return line.to_lowercase().contains("dos") || line.contains("866");
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_files_decode_line_by_line() {
        let mut bytes = WINDOWS_1251.encode("Плательщик=Иванов\r\n").0.into_owned();
        bytes.extend_from_slice("КонецФайла\r\n".as_bytes());
        let (lines, enc) = decode_lines(&bytes, false);
        assert_eq!(lines, vec!["Плательщик=Иванов", "КонецФайла"]);
        assert_eq!(enc, "windows-1251");
        let (lines, enc) = decode_lines("a\nб\r\n".as_bytes(), false);
        assert_eq!((lines, enc), (vec!["a".to_string(), "б".to_string()], "utf-8"));
        let dos = IBM866.encode("Кодировка=DOS\r\nСумма=1\r\n").0.into_owned();
        assert!(declares_dos(&dos));
        assert_eq!(decode_lines(&dos, true).0[0], "Кодировка=DOS");
    }
}
