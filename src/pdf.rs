//! A small PDF writer for almoner's reports: A4 pages of text in DejaVu
//! Sans (shipped in `assets/fonts`, so Cyrillic renders everywhere),
//! filled rectangles and JPEG photos. The font is embedded whole as a
//! CID font with a ToUnicode map, so the text can be searched and copied.

use std::collections::BTreeMap;

use flate2::{Compress, Compression, FlushCompress, Status};

const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
pub const WIDTH: f32 = 595.0;
pub const HEIGHT: f32 = 842.0;

struct Image {
    bytes: Vec<u8>,
    width: u32,
    height: u32,
    components: u8,
}

/// Characters below this have their glyph and width looked up once, when the writer is made.
const CACHED: usize = 0x500;

pub struct Pdf {
    face: ttf_parser::Face<'static>,
    /// Glyph and advance (thousandths of an em) of every Latin and Cyrillic character: a
    /// report writes millions of characters, and the font's own tables are searched each time.
    metrics: Vec<(u16, f32)>,
    pages: Vec<String>,
    /// Glyphs used, with the character each stands for.
    used: BTreeMap<u16, char>,
    images: Vec<(usize, Image)>,
}

/// Width, height and colour components of a JPEG, from its frame header.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32, u8)> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 9 < b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
            return (w > 0 && h > 0).then_some((w, h, b[i + 9]));
        }
        i += 2 + len;
    }
    None
}

/// One compressor for every stream of a document: a new one per page cleared its tables each time.
struct Deflater(Compress);

impl Deflater {
    fn new() -> Deflater {
        Deflater(Compress::new(Compression::fast(), true))
    }

    fn deflate(&mut self, data: &[u8]) -> Vec<u8> {
        self.0.reset();
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        loop {
            let read = usize::try_from(self.0.total_in()).unwrap_or(data.len()).min(data.len());
            match self.0.compress_vec(&data[read..], &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return out,
                Ok(_) => out.reserve(out.len().max(64)),
                Err(e) => unreachable!("compressing in memory cannot fail: {e}"),
            }
        }
    }
}

impl Default for Pdf {
    fn default() -> Self {
        Pdf::new()
    }
}

impl Pdf {
    pub fn new() -> Pdf {
        let face = ttf_parser::Face::parse(FONT, 0).expect("the shipped font parses");
        let units = face.units_per_em() as f32;
        let metrics = (0..CACHED as u32)
            .map(|c| {
                let g = char::from_u32(c).and_then(|c| face.glyph_index(c)).map(|g| g.0).unwrap_or(0);
                (g, face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap_or(0) as f32 * 1000.0 / units)
            })
            .collect();
        Pdf { face, metrics, pages: Vec::new(), used: BTreeMap::new(), images: Vec::new() }
    }

    /// Starts a page; its number (from 0).
    pub fn page(&mut self) -> usize {
        self.pages.push(String::new());
        self.pages.len() - 1
    }

    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    fn glyph(&self, c: char) -> u16 {
        match self.metrics.get(c as usize) {
            Some(&(g, _)) => g,
            None => self.face.glyph_index(c).map(|g| g.0).unwrap_or(0),
        }
    }

    fn char_width(&self, c: char) -> f32 {
        match self.metrics.get(c as usize) {
            Some(&(_, w)) => w,
            None => self.advance(self.glyph(c)),
        }
    }

    fn advance(&self, g: u16) -> f32 {
        let units = self.face.units_per_em() as f32;
        self.face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap_or(0) as f32 * 1000.0 / units
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.char_width(c)).sum::<f32>() * size / 1000.0
    }

    /// `text` broken into lines no wider than `width`, at spaces where it can.
    pub fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut line_w = 0.0;
        let space = self.width(" ", size);
        for word in text.split_whitespace() {
            let word_w = self.width(word, size);
            if line.is_empty() {
                line.push_str(word);
                line_w = word_w;
            } else if line_w + space + word_w <= width {
                line.push(' ');
                line.push_str(word);
                line_w += space + word_w;
            } else {
                lines.push(std::mem::take(&mut line));
                line.push_str(word);
                line_w = word_w;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Writes `text` with its baseline at `y` points from the top of the page.
    pub fn text(&mut self, page: usize, x: f32, y: f32, size: f32, text: &str) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut hex = String::with_capacity(text.len() * 4);
        for c in text.chars().filter(|c| !c.is_control()) {
            let g = self.glyph(c);
            self.used.entry(g).or_insert(c);
            for shift in [12, 8, 4, 0] {
                hex.push(HEX[usize::from((g >> shift) & 0xF)] as char);
            }
        }
        let ops = &mut self.pages[page];
        ops.push_str(&format!("BT /F1 {size:.1} Tf {x:.2} {:.2} Td <{hex}> Tj ET\n", HEIGHT - y));
    }

    /// A filled rectangle, `gray` from 0 (black) to 1 (white); `y` is its top.
    pub fn rect(&mut self, page: usize, x: f32, y: f32, w: f32, h: f32, gray: f32) {
        self.pages[page].push_str(&format!("{gray:.2} g {x:.2} {:.2} {w:.2} {h:.2} re f 0 g\n", HEIGHT - y - h));
    }

    /// Places a JPEG `w` points wide with its top at `y`; its height, or `None` if the bytes are not a JPEG.
    pub fn jpeg(&mut self, page: usize, bytes: &[u8], x: f32, y: f32, w: f32, max_h: f32) -> Option<f32> {
        let (width, height, components) = jpeg_size(bytes)?;
        let mut h = w * height as f32 / width as f32;
        let mut w = w;
        if h > max_h {
            w *= max_h / h;
            h = max_h;
        }
        let n = self.images.len();
        self.images.push((page, Image { bytes: bytes.to_vec(), width, height, components }));
        self.pages[page].push_str(&format!("q {w:.2} 0 0 {h:.2} {x:.2} {:.2} cm /Im{n} Do Q\n", HEIGHT - y - h));
        Some(h)
    }

    /// The finished document.
    pub fn finish(self) -> Vec<u8> {
        let mut objects: Vec<Vec<u8>> = Vec::new();
        // 1 catalog, 2 pages, 3 Type0 font, 4 CID font, 5 descriptor, 6 font file, 7 ToUnicode; then images, then pages.
        let first_image = 8;
        let first_page = first_image + self.images.len();
        let page_ref = |i: usize| first_page + 2 * i;
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        let kids: Vec<String> = (0..self.pages.len()).map(|i| format!("{} 0 R", page_ref(i))).collect();
        objects.push(format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), self.pages.len()).into_bytes());
        objects.push(
            b"<< /Type /Font /Subtype /Type0 /BaseFont /DejaVuSans /Encoding /Identity-H /DescendantFonts [4 0 R] /ToUnicode 7 0 R >>"
                .to_vec(),
        );
        let widths: Vec<String> = self.used.keys().map(|g| format!("{g} [{:.0}]", self.advance(*g))).collect();
        objects.push(
            format!(
                "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /DejaVuSans /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 5 0 R /CIDToGIDMap /Identity /DW 600 /W [{}] >>",
                widths.join(" ")
            )
            .into_bytes(),
        );
        let units = self.face.units_per_em() as f32;
        let scale = |v: i16| (v as f32 * 1000.0 / units) as i32;
        let bb = self.face.global_bounding_box();
        objects.push(
            format!(
                "<< /Type /FontDescriptor /FontName /DejaVuSans /Flags 32 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 6 0 R >>",
                scale(bb.x_min),
                scale(bb.y_min),
                scale(bb.x_max),
                scale(bb.y_max),
                scale(self.face.ascender()),
                scale(self.face.descender()),
                scale(self.face.capital_height().unwrap_or(700))
            )
            .into_bytes(),
        );
        let stream = |dict: String, data: Vec<u8>| {
            let mut o = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
            o.extend_from_slice(&data);
            o.extend_from_slice(b"\nendstream");
            o
        };
        let mut z = Deflater::new();
        objects.push(stream(format!("/Filter /FlateDecode /Length1 {}", FONT.len()), z.deflate(FONT)));
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let pairs: Vec<(&u16, &char)> = self.used.iter().collect();
        for chunk in pairs.chunks(100) {
            cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
            for (g, c) in chunk {
                let mut units = [0u16; 2];
                let hex: String = c.encode_utf16(&mut units).iter().map(|u| format!("{u:04X}")).collect();
                cmap.push_str(&format!("<{g:04X}> <{hex}>\n"));
            }
            cmap.push_str("endbfchar\n");
        }
        cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        objects.push(stream("/Filter /FlateDecode".into(), z.deflate(cmap.as_bytes())));
        for (_, img) in &self.images {
            let space = match img.components {
                1 => "/DeviceGray",
                4 => "/DeviceCMYK",
                _ => "/DeviceRGB",
            };
            objects.push(stream(
                format!(
                    "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace {space} /BitsPerComponent 8 /Filter /DCTDecode",
                    img.width, img.height
                ),
                img.bytes.clone(),
            ));
        }
        let mut xobjects_of: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (n, (p, _)) in self.images.iter().enumerate() {
            xobjects_of.entry(*p).or_default().push(format!("/Im{n} {} 0 R", first_image + n));
        }
        for (i, ops) in self.pages.iter().enumerate() {
            let xobjects = xobjects_of.remove(&i).unwrap_or_default();
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {WIDTH} {HEIGHT}] /Resources << /Font << /F1 3 0 R >> /XObject << {} >> >> /Contents {} 0 R >>",
                    xobjects.join(" "),
                    page_ref(i) + 1
                )
                .into_bytes(),
            );
            objects.push(stream("/Filter /FlateDecode".into(), z.deflate(ops.as_bytes())));
        }
        let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(o);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for off in offsets {
            out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_measures_and_wraps_and_a_document_is_well_formed() {
        let mut pdf = Pdf::new();
        assert!(pdf.width("Мария", 12.0) > 20.0);
        let lines = pdf.wrap("Острый лимфобластный лейкоз, второй рецидив после трансплантации", 12.0, 150.0);
        assert!(lines.len() > 1 && lines.iter().all(|l| pdf.width(l, 12.0) <= 150.0 || !l.contains(' ')));
        let p = pdf.page();
        pdf.text(p, 50.0, 50.0, 12.0, "Привет, мир");
        assert_eq!(pdf.jpeg(p, b"not a jpeg", 0.0, 0.0, 10.0, 10.0), None);
        let bytes = pdf.finish();
        assert!(bytes.starts_with(b"%PDF-1.7") && bytes.ends_with(b"%%EOF\n"));
    }
}
