//! 1CClientBankExchange, the text format between 1C and bank clients
//! (versions 1.01–1.03). See `../shared/FORMATS.md` §1 for the quirks this
//! handles: wrong `Кодировка=` headers, mixed encodings and line ends, keys in
//! either case, several accounts, one account section per day, and direction
//! decided by the accounts rather than the dates.

use std::collections::HashMap;
use std::io::{BufRead, Read, Seek, SeekFrom};

use chrono::NaiveDate;
use encoding_rs::{IBM866, WINDOWS_1251};

use super::text::{Legacy, RawLine, declares_dos, for_each_raw_line, replaced_bytes};
use super::{ControlCheck, Direction, Format, LineError, Party, Payment, Register, Rejected, Summary, key};
use crate::domain::{Currency, Money};
use sections::{Closed, Section, Splitter, starts_section, structure};

mod sections;
mod survey;

fn date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    // The usual `ДД.ММ.ГГГГ` read directly; anything else as the format string reads it.
    let digits = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    if b.len() == 10
        && b[2] == b'.'
        && b[5] == b'.'
        && let (Some(d), Some(m), Some(y)) = (digits(0..2), digits(3..5), digits(6..10))
    {
        return NaiveDate::from_ymd_opt(y as i32, m, d);
    }
    NaiveDate::parse_from_str(s, "%d.%m.%Y").ok()
}

/// `Сумма` uses `.` and 0–2 decimals; some banks write `,`.
fn amount(s: &str) -> Result<Money, String> {
    Money::parse(&s.replace(',', ".")).map_err(|e| e.to_string())
}

/// A side's keys: as printed, the clean name, INN, account, settlement account.
const PAYER: [&str; 5] = ["Плательщик", "Плательщик1", "ПлательщикИНН", "ПлательщикСчет", "ПлательщикРасчСчет"];
const PAYEE: [&str; 5] = ["Получатель", "Получатель1", "ПолучательИНН", "ПолучательСчет", "ПолучательРасчСчет"];

/// The payer as printed often carries the INN in front: `ИНН 7718123456\771801001 ООО "…"`
/// or `7777777777, ООО "…"`. The clean name is in `Плательщик1` when the bank filled it.
fn party(doc: &Section, [side, clean, inn, account, settlement]: [&str; 5]) -> Party {
    let printed = doc.get(side).unwrap_or("");
    let name = doc.get(clean).map(str::to_string).unwrap_or_else(|| strip_inn_prefix(printed));
    let inn = doc.get(inn).filter(|v| v.len() >= 10 && v.chars().all(|c| c.is_ascii_digit()));
    let account = doc.get(account).or_else(|| doc.get(settlement));
    Party { name, inn: inn.map(str::to_string), account: account.map(str::to_string), ..Party::default() }
}

fn strip_inn_prefix(printed: &str) -> String {
    let mut s = printed.trim();
    if let Some(rest) = s.strip_prefix("ИНН") {
        s = rest.trim_start();
    }
    let digits = s.chars().take_while(|c| c.is_ascii_digit() || *c == '\\' || *c == '/').count();
    if digits >= 10 {
        s = s[s.char_indices().nth(digits).map_or(s.len(), |(i, _)| i)..].trim_start_matches([',', ' ']);
    }
    s.trim().to_string()
}

pub fn parse(bytes: &[u8]) -> Result<Register, Rejected> {
    let mut payments = Vec::new();
    let summary = stream(&mut std::io::Cursor::new(bytes), &mut |p| payments.push(p), &mut |_| {})?;
    Ok(summary.with(payments))
}

/// The same, without holding the file or its payments: each payment is handed
/// to `sink` as its document is read, and `total` learns the number of
/// documents first (from a quick [`survey`] of the file). A damaged file is
/// refused whole, however far it was read: an importer writes nothing of it.
///
/// The documents are read in the same pass that checks the file, with the
/// accounts the header and the account sections before them name. Where
/// something naming an account comes after a document (banks do not write
/// files so), a first pass gathers the accounts, and the documents are read in
/// a second.
pub fn stream<R: BufRead + Seek>(
    src: &mut R,
    sink: &mut dyn FnMut(Payment),
    total: &mut dyn FnMut(usize),
) -> Result<Summary, Rejected> {
    let mut head = Vec::with_capacity(4096);
    src.by_ref()
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|e| structure(1, format!("the file cannot be read: {e}")))?;
    let legacy = Legacy::new(if declares_dos(&head) { IBM866 } else { WINDOWS_1251 });
    let first = super::text::first_line(&head);
    if first.trim_start_matches('\u{feff}').trim() != "1CClientBankExchange" {
        return Err(Rejected::UnknownFormat(first));
    }
    let rewind =
        |src: &mut R| src.seek(SeekFrom::Start(0)).map_err(|e| structure(1, format!("the file cannot be read: {e}")));
    rewind(src)?;
    let found = survey::survey(&mut *src, &legacy)?;
    total(found.documents);
    rewind(src)?;
    let own = if found.accounts_after_documents {
        let own = accounts_pass(&mut *src, &legacy)?;
        rewind(src)?;
        Some(own)
    } else {
        None
    };
    read(&mut *src, &legacy, own, sink)
}

/// The foundation's own accounts, as the file names them.
struct Own {
    accounts: Vec<String>,
    /// A file of payment orders for the bank (1c_to_kl) lists its document kinds in the
    /// header and has no statement sections: everything in it is money going out.
    orders_to_bank: bool,
}

impl Own {
    fn of(header: &Section, sections: &[Section]) -> Own {
        let mut accounts: Vec<String> = header.all("РасчСчет").into_iter().map(str::to_string).collect();
        for a in sections {
            if let Some(acc) = a.get("РасчСчет")
                && !accounts.iter().any(|o| o == acc)
            {
                accounts.push(acc.to_string());
            }
        }
        Own { accounts, orders_to_bank: sections.is_empty() && !header.all("Документ").is_empty() }
    }
}

/// Is a line damaged: letters replaced by U+FFFD, in the file or by decoding it? `replaced`
/// holds the bytes the legacy code page decodes so, where there are any.
fn damaged(line: &RawLine, replaced: Option<&[bool; 256]>) -> bool {
    match (line.utf8, replaced) {
        (Some(s), _) => s.contains('\u{fffd}'),
        (None, Some(replaced)) => line.bytes.iter().any(|b| replaced[usize::from(*b)]),
        (None, None) => false,
    }
}

/// The bytes `legacy` decodes as U+FFFD, if any.
fn replaced_by(legacy: &Legacy) -> Option<[bool; 256]> {
    Some(replaced_bytes(legacy.encoding())).filter(|r| r.contains(&true))
}

/// A first pass, for a file that names an account after its documents: the accounts.
/// It checks what [`read`] checks, so a damaged file is refused before a payment is made.
fn accounts_pass<R: BufRead>(src: &mut R, legacy: &Legacy) -> Result<Own, Rejected> {
    let mut splitter = Splitter::new(false);
    let mut accounts = Vec::new();
    let replaced = replaced_by(legacy);
    let mut text = String::new();
    for_each_raw_line(&mut *src, legacy, |n, line| {
        if damaged(line, replaced.as_ref()) {
            return Err(Rejected::EncodingDamaged);
        }
        if n == 1 {
            return Ok(());
        }
        // In a document this pass needs only where it ends: a field's value is not even decoded.
        if splitter.skips_fields()
            && let Some(eq) = memchr::memchr(b'=', line.bytes)
            && !starts_section(line.text(eq, &mut text))
        {
            splitter.last_line = n;
            return Ok(());
        }
        match splitter.line(n, line.text(line.bytes.len(), &mut text))? {
            Some(Closed::Account(s)) => accounts.push(s),
            Some(Closed::Document(doc)) => splitter.recycle(doc),
            None => {}
        }
        Ok(())
    })?;
    splitter.finish()?;
    Ok(Own::of(&splitter.header, &accounts))
}

/// The pass that checks the file (its structure, its encoding) and reads its documents,
/// with the accounts `own` names, or else those named before the first document.
fn read<R: BufRead>(
    src: &mut R,
    legacy: &Legacy,
    mut own: Option<Own>,
    sink: &mut dyn FnMut(Payment),
) -> Result<Summary, Rejected> {
    let mut splitter = Splitter::new(true);
    let (mut accounts, mut errors, mut sums) = (Vec::new(), Vec::new(), Sums::default());
    let known = own.is_some();
    let replaced = replaced_by(legacy);
    let mut text = String::new();
    let encoding = for_each_raw_line(&mut *src, legacy, |n, line| {
        if damaged(line, replaced.as_ref()) {
            return Err(Rejected::EncodingDamaged);
        }
        if n == 1 {
            return Ok(());
        }
        match splitter.line(n, line.text(line.bytes.len(), &mut text))? {
            // The survey found no account after a document; finding one now, the file changed.
            Some(Closed::Account(s)) if own.is_some() && !known => {
                return Err(structure(
                    s.line,
                    "an account section after the documents: the file changed while it was read",
                ));
            }
            Some(Closed::Account(s)) => accounts.push(s),
            Some(Closed::Document(doc)) => {
                let own = own.get_or_insert_with(|| Own::of(&splitter.header, &accounts));
                match payments(&doc, &own.accounts, own.orders_to_bank) {
                    Ok(list) => {
                        for p in list {
                            sums.add(&p);
                            sink(p);
                        }
                    }
                    Err(error) => errors.push(error),
                }
                splitter.recycle(doc);
            }
            None => {}
        }
        Ok(())
    })?;
    splitter.finish()?;
    let warnings = std::mem::take(&mut splitter.warnings);
    Ok(Summary { format: Format::OneC, encoding, errors, warnings, checks: control_checks(&accounts, &sums) })
}

/// Per own account, the credits and debits its documents carry.
#[derive(Default)]
struct Sums(HashMap<String, (Money, Money)>);

impl Sums {
    fn add(&mut self, p: &Payment) {
        let Some(acc) = p.own_account.as_deref() else { return };
        let credit = p.direction == Direction::Incoming
            || (p.direction == Direction::Internal && p.payee.account.as_deref() == Some(acc));
        let debit = p.direction == Direction::Outgoing
            || (p.direction == Direction::Internal && p.payer.account.as_deref() == Some(acc));
        let entry = self.0.entry(acc.to_string()).or_default();
        if credit {
            entry.0 += p.amount;
        }
        if debit {
            entry.1 += p.amount;
        }
    }
}

/// One document as payments: one per own account it touches (an internal
/// transfer between two of ours is seen from both).
fn payments(doc: &Section, own: &[String], orders_to_bank: bool) -> Result<Vec<Payment>, LineError> {
    // An error names the line of the field that is wrong, or the document's own for one missing.
    let at = |key: &str, message: String| LineError { line: doc.line_of(key), message };
    let number = doc.get("Номер").unwrap_or("").to_string();
    let doc_date = doc.get("Дата").ok_or_else(|| at("Дата", "the document has no Дата".into()))?;
    let doc_date = date(doc_date).ok_or_else(|| at("Дата", format!("Дата={doc_date:?} is not a date (ДД.ММ.ГГГГ)")))?;
    let sum = doc.get("Сумма").ok_or_else(|| at("Сумма", "the document has no Сумма".into()))?;
    let sum = amount(sum).map_err(|e| at("Сумма", format!("Сумма: {e}")))?;
    if !sum.is_positive() {
        return Err(at("Сумма", "Сумма is zero: a payment of nothing is not imported".into()));
    }
    let payer = party(doc, PAYER);
    let payee = party(doc, PAYEE);
    let is_own = |p: &Party| p.account.as_ref().is_some_and(|a| own.iter().any(|o| o == a));
    let (debited, credited) = (doc.get("ДатаСписано").and_then(date), doc.get("ДатаПоступило").and_then(date));
    let by_accounts = match (is_own(&payer), is_own(&payee)) {
        (true, true) => Some(Direction::Internal),
        (true, false) => Some(Direction::Outgoing),
        (false, true) => Some(Direction::Incoming),
        (false, false) => None,
    };
    // The accounts do not tell (masked, or a correspondent account): the dates may.
    let direction = by_accounts.unwrap_or(match (debited, credited) {
        _ if orders_to_bank => Direction::Outgoing,
        (None, Some(_)) => Direction::Incoming,
        (Some(_), None) => Direction::Outgoing,
        _ => Direction::Unknown,
    });
    // Decided by the dates in a one-account file: the payment is that account's.
    let sole = (by_accounts.is_none() && own.len() == 1).then(|| own[0].clone());
    let purpose = match doc.get("НазначениеПлатежа") {
        Some(p) => p.to_string(),
        None => (1..=6).filter_map(|i| doc.get(&format!("НазначениеПлатежа{i}"))).collect::<Vec<_>>().join(" "),
    };
    let line = doc.line;
    // The payment's parts are moved into it, not copied (an internal transfer, seen from both
    // accounts, is the one document made twice).
    let make = |direction: Direction, own_account: Option<String>, payer: Party, payee: Party, purpose: String| {
        let booked = match direction {
            Direction::Outgoing => debited.or(credited),
            _ => credited.or(debited),
        };
        let counterparty = if direction == Direction::Outgoing { &payee } else { &payer };
        let purpose_hash = key(Format::OneC, &[&purpose]);
        let external_key = key(
            Format::OneC,
            &[
                own_account.as_deref().unwrap_or(""),
                direction.key_word(),
                &super::iso_day(doc_date),
                &number,
                &sum.plain(),
                counterparty.account.as_deref().unwrap_or(""),
                counterparty.inn.as_deref().unwrap_or(""),
                &booked.map(super::iso_day).unwrap_or_default(),
                &purpose_hash,
            ],
        );
        Payment {
            line,
            direction,
            date: doc_date,
            booked,
            number: number.clone(),
            amount: sum,
            currency: Currency::RUB,
            payer,
            payee,
            purpose,
            own_account,
            external_key,
            subscription: None,
            refund_of: None,
            fee: Money::ZERO,
        }
    };
    Ok(match direction {
        Direction::Internal => {
            let (from, to) = (payer.account.clone(), payee.account.clone());
            let first = make(Direction::Internal, from, payer.clone(), payee.clone(), purpose.clone());
            vec![first, make(Direction::Internal, to, payer, payee, purpose)]
        }
        Direction::Outgoing => {
            let own = sole.or_else(|| payer.account.clone());
            vec![make(direction, own, payer, payee, purpose)]
        }
        Direction::Incoming => {
            let own = sole.or_else(|| payee.account.clone());
            vec![make(direction, own, payer, payee, purpose)]
        }
        Direction::Unknown | Direction::Returned => vec![make(direction, None, payer, payee, purpose)],
    })
}

/// Per account: every section's opening + credits − debits = closing, and the
/// sections' credits and debits equal the documents'.
fn control_checks(accounts: &[Section], sums: &Sums) -> Vec<ControlCheck> {
    let mut checks = Vec::new();
    let m = |s: &Section, k: &str| s.get(k).and_then(|v| amount(v).ok()).unwrap_or(Money::ZERO);
    let mut per_account: Vec<(String, Money, Money)> = Vec::new();
    for s in accounts {
        let acc = s.get("РасчСчет").unwrap_or("?").to_string();
        let (open, credit, debit) = (m(s, "НачальныйОстаток"), m(s, "ВсегоПоступило"), m(s, "ВсегоСписано"));
        if let Some(close) = s.get("КонечныйОстаток").and_then(|v| amount(v).ok()) {
            let found = open + credit - debit;
            checks.push(ControlCheck {
                what: format!("account {acc}, section at line {}: opening + credits − debits = closing", s.line),
                expected: close,
                found,
                ok: found == close,
            });
        }
        match per_account.iter_mut().find(|(a, ..)| *a == acc) {
            Some((_, c, d)) => {
                *c += credit;
                *d += debit;
            }
            None => per_account.push((acc, credit, debit)),
        }
    }
    for (acc, credit, debit) in per_account {
        let (found_credit, found_debit) = sums.0.get(&acc).copied().unwrap_or_default();
        checks.push(ControlCheck {
            what: format!("account {acc}: credits (ВсегоПоступило)"),
            expected: credit,
            found: found_credit,
            ok: credit == found_credit,
        });
        checks.push(ControlCheck {
            what: format!("account {acc}: debits (ВсегоСписано)"),
            expected: debit,
            found: found_debit,
            ok: debit == found_debit,
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(body: &str) -> Vec<u8> {
        format!("1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\nРасчСчет=40702810000000000001\r\n{body}КонецФайла\r\n")
            .into_bytes()
    }

    const INCOMING: &str = "СекцияДокумент=Платежное поручение\r\nНомер=12\r\nДата=01.03.2026\r\nСумма=1500.50\r\n\
        ПлательщикСчет=40817810000000000099\r\nПлательщик=ИНН 7718123456\\771801001 ООО \"Ромашка\"\r\nПлательщикИНН=7718123456\r\n\
        ПолучательСчет=40702810000000000001\r\nДатаПоступило=02.03.2026\r\nНазначениеПлатежа=На лечение Ивановой Анны\r\nКонецДокумента\r\n";

    #[test]
    fn reads_an_incoming_payment() {
        let r = parse(&file(INCOMING)).unwrap();
        assert_eq!(r.payments.len(), 1);
        let p = &r.payments[0];
        assert_eq!(p.direction, Direction::Incoming);
        assert_eq!(p.amount, Money::from_minor(150_050));
        assert_eq!(p.payer.name, "ООО \"Ромашка\"");
        assert_eq!(p.payer.inn.as_deref(), Some("7718123456"));
        assert_eq!(p.booked, NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(p.line, 5);
    }

    #[test]
    fn the_key_is_stable_and_distinguishes() {
        let a = parse(&file(INCOMING)).unwrap().payments[0].external_key.clone();
        let b = parse(&file(INCOMING)).unwrap().payments[0].external_key.clone();
        assert_eq!(a, b);
        let other = INCOMING.replace("Номер=12", "Номер=13");
        assert_ne!(a, parse(&file(&other)).unwrap().payments[0].external_key);
    }

    #[test]
    fn a_bad_document_is_reported_and_the_rest_read() {
        let bad = INCOMING.replace("Сумма=1500.50", "Сумма=15,00.1").replace("Номер=12", "Номер=1");
        let bytes = file(&format!("{bad}{INCOMING}"));
        let r = parse(&bytes).unwrap();
        assert_eq!(r.payments.len(), 1);
        assert_eq!(r.errors.len(), 1);
        assert!(r.errors[0].message.starts_with("Сумма:"), "{:?}", r.errors);
        // The line named is the one holding the bad Сумма, not the document's first.
        let text = String::from_utf8_lossy(&bytes);
        let sum_line = text.lines().position(|l| l.contains("Сумма=15,00.1")).unwrap() + 1;
        assert_eq!(r.errors[0].line, sum_line, "{:?}", r.errors);
    }

    #[test]
    fn damaged_structure_is_rejected_whole() {
        let cut = INCOMING.replace("КонецДокумента\r\n", "");
        assert!(matches!(parse(&file(&cut)), Err(Rejected::Structure { line: 5, .. })));
        let no_end = String::from_utf8(file(INCOMING)).unwrap().replace("КонецФайла\r\n", "");
        assert!(matches!(parse(no_end.as_bytes()), Err(Rejected::Structure { .. })));
        assert!(matches!(parse(b"1CClientBankExchange\n\xEF\xBF\xBD\xEF\xBF\xBD=1\n"), Err(Rejected::EncodingDamaged)));
    }

    /// A document from account `from` to a donor's account, dated as debited: outgoing when
    /// `from` is the foundation's, otherwise its direction is unknown from the accounts alone.
    fn paid_from(from: &str, number: u32) -> String {
        format!(
            "СекцияДокумент=Платежное поручение\r\nНомер={number}\r\nДата=01.03.2026\r\nСумма=10.00\r\n\
             ПлательщикСчет={from}\r\nПолучательСчет=40817810000000000055\r\nДатаСписано=01.03.2026\r\n\
             ДатаПоступило=01.03.2026\r\nКонецДокумента\r\n"
        )
    }

    fn account(acc: &str) -> String {
        format!("СекцияРасчСчет\r\nРасчСчет={acc}\r\nНачальныйОстаток=0\r\nКонецРасчСчет\r\n")
    }

    #[test]
    fn an_account_named_after_the_documents_still_decides_their_direction() {
        let (ours, other) = ("40702810000000000002", "40702810000000000003");
        let head = "1CClientBankExchange\r\nВерсияФормата=1.03\r\n";
        let directions = |body: String| -> Vec<Direction> {
            let text = format!("{head}{body}КонецФайла\r\n");
            let mut count = 0;
            let mut payments = Vec::new();
            stream(&mut std::io::Cursor::new(text.into_bytes()), &mut |p| payments.push(p.direction), &mut |n| {
                count = n
            })
            .unwrap();
            assert_eq!(count, payments.len());
            payments
        };
        // In the usual order, then with the account section, or a header line naming the account
        // (padded with blanks of both kinds, in capitals), only after the document it decides.
        let usual = directions(format!("{}{}", account(ours), paid_from(ours, 1)));
        assert_eq!(usual, [Direction::Outgoing]);
        for late in [
            account(ours),
            format!(" \u{a0}РАСЧСЧЕТ={ours}\r\n"),
            format!("\tсекцияРасчСчет\r\nРасчСчет={ours}\r\nКонецРасчСчет\r\n"),
        ] {
            let found = directions(format!("{}{}{late}{}", account(other), paid_from(ours, 1), paid_from(other, 2)));
            assert_eq!(found, [Direction::Outgoing, Direction::Outgoing], "{late:?}");
        }
        // Without it, the first document is neither the foundation's nor decided by its dates.
        let found = directions(format!("{}{}{}", account(other), paid_from(ours, 1), paid_from(other, 2)));
        assert_eq!(found, [Direction::Unknown, Direction::Outgoing]);
    }

    /// A file that reads as one thing the first time and another the second.
    struct Changing {
        now: std::io::Cursor<Vec<u8>>,
        then: Option<Vec<u8>>,
        rewinds: usize,
    }

    impl Read for Changing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.now.read(buf)
        }
    }

    impl BufRead for Changing {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            self.now.fill_buf()
        }
        fn consume(&mut self, n: usize) {
            self.now.consume(n)
        }
    }

    impl Seek for Changing {
        fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
            self.rewinds += 1;
            // Changed after the survey: the documents are read from the new text.
            if self.rewinds == 2
                && let Some(then) = self.then.take()
            {
                self.now = std::io::Cursor::new(then);
            }
            self.now.seek(to)
        }
    }

    #[test]
    fn a_file_changed_after_the_survey_is_refused() {
        let ours = "40702810000000000002";
        let before = String::from_utf8(file(&paid_from(ours, 1))).unwrap();
        let after = before.replace("КонецФайла", &format!("{}КонецФайла", account(ours)));
        let mut src =
            Changing { now: std::io::Cursor::new(before.into_bytes()), then: Some(after.into_bytes()), rewinds: 0 };
        let err = stream(&mut src, &mut |_| {}, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("the file changed while it was read"), "{err}");
    }

    #[test]
    fn names_lose_their_inn_prefix() {
        assert_eq!(strip_inn_prefix("ИНН 7718123456\\771801001 ООО \"Ромашка\""), "ООО \"Ромашка\"");
        assert_eq!(strip_inn_prefix("7777777777, ООО \"Ромашка\""), "ООО \"Ромашка\"");
        assert_eq!(strip_inn_prefix("Иванов Иван"), "Иванов Иван");
    }
}
