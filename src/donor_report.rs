//! A corporate donor's report, as PDF or HTML: a cover with the donor's
//! total and the children helped, then a page per child their money reached
//! (name, photo, diagnosis, clinic, target, the donor's share and the papers
//! that prove it).

use crate::domain::Money;
use crate::pdf::{HEIGHT, Pdf, WIDTH};
use crate::store::{ChildPage, DonorReport, Store};

fn rub(m: Money) -> String {
    m.ru()
}

fn paper_word(kind: &str) -> &str {
    match kind {
        "invoice" => "Счёт клиники",
        "payment_order" => "Платёжное поручение",
        "act" => "Акт",
        other => other,
    }
}

fn program_word(program: &str) -> &str {
    match program.parse() {
        Ok(p) => crate::app::i18n::Lang::Ru.program(p),
        Err(_) => program,
    }
}

fn stage_word(stage: &str) -> &str {
    match stage {
        "fundraising" => "идёт сбор",
        "payment" => "собрано, оплачивается",
        "paid" => "оплачено",
        "closed" => "завершено",
        "on_hold" => "приостановлено",
        other => other,
    }
}

fn photo_bytes(store: &Store, child: &ChildPage) -> Option<(Vec<u8>, String)> {
    let (sha, name) = child.photo.as_ref()?;
    let path = store.documents_dir().join(&sha[..2.min(sha.len())]).join(sha);
    let ext = std::path::Path::new(name).extension()?.to_str()?.to_lowercase();
    std::fs::read(path).ok().map(|b| (b, ext))
}

/// Where a page's next line goes, starting a new page when this one is full.
struct Cursor {
    page: usize,
    y: f32,
}

const LEFT: f32 = 56.0;
const BOTTOM: f32 = HEIGHT - 56.0;

impl Cursor {
    fn line(&mut self, pdf: &mut Pdf, size: f32, text: &str) {
        let room = WIDTH - 2.0 * LEFT;
        for l in pdf.wrap(text, size, room) {
            if self.y + size * 1.4 > BOTTOM {
                self.page = pdf.page();
                self.y = 56.0;
            }
            self.y += size * 1.4;
            pdf.text(self.page, LEFT, self.y, size, &l);
        }
    }

    fn gap(&mut self, points: f32) {
        self.y += points;
    }
}

pub fn pdf(store: &Store, r: &DonorReport, foundation: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let mut c = Cursor { page: pdf.page(), y: 56.0 };
    c.line(&mut pdf, 10.0, foundation);
    c.gap(20.0);
    c.line(&mut pdf, 22.0, &format!("Отчёт для {}", r.donor));
    c.line(&mut pdf, 12.0, &format!("Период: {} — {}", r.from.format("%d.%m.%Y"), r.to.format("%d.%m.%Y")));
    c.gap(16.0);
    c.line(&mut pdf, 15.0, &format!("Ваши пожертвования: {}", rub(r.given)));
    c.line(&mut pdf, 15.0, &format!("Направлено на помощь детям: {}", rub(r.placed)));
    c.gap(16.0);
    if r.children.is_empty() {
        c.line(&mut pdf, 12.0, "В этом периоде пожертвования ещё не распределены по заявкам.");
    } else {
        c.line(&mut pdf, 13.0, &format!("Дети, которым помогли ваши средства ({}):", r.children.len()));
        for ch in &r.children {
            c.line(&mut pdf, 12.0, &format!("•  {} — {}", ch.name, rub(ch.share)));
        }
    }
    for ch in &r.children {
        c = Cursor { page: pdf.page(), y: 56.0 };
        c.line(&mut pdf, 22.0, &ch.name);
        c.gap(8.0);
        if let Some((bytes, _)) = photo_bytes(store, ch)
            && let Some(h) = pdf.jpeg(c.page, &bytes, LEFT, c.y, 180.0, 200.0)
        {
            c.gap(h + 8.0);
        }
        for case in &ch.cases {
            c.line(
                &mut pdf,
                13.0,
                &format!("Заявка № {} · {} · {}", case.case_id, program_word(&case.program), stage_word(&case.stage)),
            );
            if !case.diagnosis.trim().is_empty() {
                c.line(&mut pdf, 11.0, &format!("Диагноз: {}", case.diagnosis));
            }
            c.line(&mut pdf, 11.0, &format!("Клиника: {}", case.clinic));
            c.line(&mut pdf, 11.0, &format!("Сумма сбора: {}; собрано: {}", rub(case.target), rub(case.collected)));
            c.gap(6.0);
            let width = WIDTH - 2.0 * LEFT;
            let frac = if case.target.is_positive() {
                (case.collected.minor() as f32 / case.target.minor() as f32).clamp(0.0, 1.0)
            } else {
                0.0
            };
            pdf.rect(c.page, LEFT, c.y, width, 8.0, 0.85);
            pdf.rect(c.page, LEFT, c.y, width * frac, 8.0, 0.3);
            c.gap(10.0);
            c.line(&mut pdf, 14.0, &format!("Ваша доля: {}", rub(case.share)));
            if !case.papers.is_empty() || !case.orders.is_empty() {
                c.line(&mut pdf, 11.0, "Подтверждающие документы:");
                for p in &case.papers {
                    c.line(&mut pdf, 10.0, &format!("–  {}: {} ({})", paper_word(&p.kind), p.file_name, p.added_on));
                }
                for o in &case.orders {
                    c.line(
                        &mut pdf,
                        10.0,
                        &format!(
                            "–  Оплата клинике: п/п № {} от {} на {}",
                            o.number,
                            o.date.format("%d.%m.%Y"),
                            rub(o.amount)
                        ),
                    );
                }
            }
            c.gap(12.0);
        }
    }
    pdf.finish()
}

fn esc(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn html(store: &Store, r: &DonorReport, foundation: &str) -> String {
    let mut s = format!(
        "<!doctype html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Отчёт для {}</title>\n<style>body{{font-family:'DejaVu Sans',sans-serif;max-width:46em;margin:2em auto}}section{{page-break-after:always;margin-bottom:3em}}img{{max-width:240px}}progress{{width:100%}}</style></head>\n<body>\n<section class=\"cover\">\n<p>{}</p>\n<h1>Отчёт для {}</h1>\n<p>Период: {} — {}</p>\n<p>Ваши пожертвования: <b>{}</b><br>Направлено на помощь детям: <b>{}</b></p>\n<ul>\n",
        esc(&r.donor),
        esc(foundation),
        esc(&r.donor),
        r.from.format("%d.%m.%Y"),
        r.to.format("%d.%m.%Y"),
        rub(r.given),
        rub(r.placed)
    );
    for ch in &r.children {
        s.push_str(&format!("<li>{} — {}</li>\n", esc(&ch.name), rub(ch.share)));
    }
    s.push_str("</ul>\n</section>\n");
    for ch in &r.children {
        s.push_str(&format!("<section class=\"child\">\n<h2>{}</h2>\n", esc(&ch.name)));
        if let Some((bytes, ext)) = photo_bytes(store, ch) {
            let mime = if ext == "png" { "image/png" } else { "image/jpeg" };
            s.push_str(&format!("<img src=\"data:{mime};base64,{}\" alt=\"{}\">\n", base64(&bytes), esc(&ch.name)));
        }
        for case in &ch.cases {
            s.push_str(&format!(
                "<h3>Заявка № {} · {} · {}</h3>\n<p>Диагноз: {}<br>Клиника: {}<br>Сумма сбора: {}; собрано: {}</p>\n<progress max=\"{}\" value=\"{}\"></progress>\n<p class=\"share\">Ваша доля: <b>{}</b></p>\n<ul>\n",
                case.case_id,
                esc(program_word(&case.program)),
                stage_word(&case.stage),
                esc(&case.diagnosis),
                esc(&case.clinic),
                rub(case.target),
                rub(case.collected),
                case.target.minor(),
                case.collected.minor(),
                rub(case.share)
            ));
            for p in &case.papers {
                s.push_str(&format!("<li>{}: {} ({})</li>\n", paper_word(&p.kind), esc(&p.file_name), p.added_on));
            }
            for o in &case.orders {
                s.push_str(&format!(
                    "<li>Оплата клинике: п/п № {} от {} на {}</li>\n",
                    esc(&o.number),
                    o.date.format("%d.%m.%Y"),
                    rub(o.amount)
                ));
            }
            s.push_str("</ul>\n");
        }
        s.push_str("</section>\n");
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_as_the_standard_says() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
    }
}
