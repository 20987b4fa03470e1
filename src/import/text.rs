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

/// A legacy encoding's bytes as characters, one lookup each, for a single-byte
/// encoding (the code pages registers use); asked of the decoder once per byte
/// value, so a line decodes exactly as the decoder would decode it. A register's
/// lines are short, and the decoder's own set-up for each cost more than the decoding.
pub struct Legacy {
    encoding: &'static Encoding,
    chars: Option<Box<ByteTable>>,
}

/// Each byte's character, UTF-8 encoded: its bytes and how many there are.
type ByteTable = [([u8; 4], u8); 256];

impl Legacy {
    pub fn new(encoding: &'static Encoding) -> Legacy {
        let chars = encoding.is_single_byte().then(|| {
            let mut chars = Box::new([([0u8; 4], 0u8); 256]);
            for (b, slot) in chars.iter_mut().enumerate() {
                let byte = [b as u8];
                let text = encoding.decode_without_bom_handling(&byte).0;
                let mut one = text.chars();
                // A single-byte encoding gives one character a byte; anything else is U+FFFD.
                let c = match (one.next(), one.next()) {
                    (Some(c), None) => c,
                    _ => '\u{fffd}',
                };
                slot.1 = c.encode_utf8(&mut slot.0).len() as u8;
            }
            chars
        });
        Legacy { encoding, chars }
    }

    pub fn name(&self) -> &'static str {
        self.encoding.name()
    }

    pub fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// The character one byte stands for, read alone.
    pub fn char_of(&self, byte: u8) -> char {
        let one = match &self.chars {
            Some(chars) => {
                let (c, n) = &chars[usize::from(byte)];
                std::str::from_utf8(&c[..usize::from(*n)]).ok().and_then(|s| s.chars().next())
            }
            None => self.encoding.decode_without_bom_handling(&[byte]).0.chars().next(),
        };
        one.unwrap_or('\u{fffd}')
    }

    /// `bytes` decoded into `out` (cleared first).
    pub fn decode_into(&self, bytes: &[u8], out: &mut String) {
        out.clear();
        match &self.chars {
            Some(chars) => {
                // Each byte's four table bytes are written whole and the end moved on by as many
                // as its character takes: no call and no branch for each byte.
                out.reserve(bytes.len() * 4 + 4);
                // SAFETY: the string only ever ends after whole UTF-8 encodings of characters
                // (each table entry is one, made by `encode_utf8`): `set_len` below counts
                // exactly the bytes of those written, all within the capacity reserved above.
                let v = unsafe { out.as_mut_vec() };
                let start = v.len();
                let spare = v.spare_capacity_mut();
                let mut end = 0;
                for &byte in bytes {
                    let (c, n) = &chars[usize::from(byte)];
                    for (slot, b) in spare[end..end + 4].iter_mut().zip(c) {
                        slot.write(*b);
                    }
                    end += usize::from(*n);
                }
                // SAFETY: as above: the first `end` spare bytes were written just now.
                unsafe { v.set_len(start + end) };
            }
            None => {
                let mut decoder = self.encoding.new_decoder_without_bom_handling();
                out.reserve(decoder.max_utf8_buffer_length(bytes.len()).unwrap_or(bytes.len() * 3 + 4));
                let _ = decoder.decode_to_string(bytes, out, true);
            }
        }
    }
}

/// One line as read, without its line end: its bytes, and its text where they are UTF-8.
pub struct RawLine<'a> {
    pub bytes: &'a [u8],
    pub utf8: Option<&'a str>,
    legacy: &'a Legacy,
}

impl<'a> RawLine<'a> {
    /// The text of the line's first `end` bytes (`end` at an ASCII byte, or the line's end),
    /// decoded as the whole line is: a single-byte legacy encoding maps byte for byte.
    pub fn text<'b>(&'b self, end: usize, buf: &'b mut String) -> &'b str {
        match self.utf8 {
            Some(s) => s.get(..end).unwrap_or(s),
            None => {
                self.legacy.decode_into(self.bytes.get(..end).unwrap_or(self.bytes), buf);
                buf
            }
        }
    }
}

/// Calls `f` with each line of `reader` (numbered from 1, without its line
/// end), undecoded, without holding the file: [`RawLine::text`] decodes it as
/// [`decode_lines_with`] would (UTF-8 where the line is, `legacy` otherwise).
/// Returns the encoding name.
pub fn for_each_raw_line<R: std::io::BufRead>(
    mut reader: R,
    legacy: &Legacy,
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

    #[test]
    fn the_byte_table_decodes_as_the_decoder_does() {
        let every: Vec<u8> = (0..=255).collect();
        // Every byte alone and all of them in a row, with a multi-byte encoding falling back to its decoder.
        for enc in [WINDOWS_1251, IBM866, encoding_rs::KOI8_R, encoding_rs::SHIFT_JIS] {
            let legacy = Legacy::new(enc);
            assert_eq!(legacy.chars.is_some(), enc != encoding_rs::SHIFT_JIS);
            let mut out = String::from("left over");
            for b in &every {
                legacy.decode_into(&[*b], &mut out);
                assert_eq!(out, enc.decode_without_bom_handling(&[*b]).0, "{} byte {b:#x}", enc.name());
            }
            legacy.decode_into(&every, &mut out);
            assert_eq!(out, enc.decode_without_bom_handling(&every).0, "{}", enc.name());
        }
    }
}
