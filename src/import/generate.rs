//! Generated registers for benchmarks and tests: a month of bank statement
//! in 1CClientBankExchange (CP1251, CRLF) and the same payments as a CSV
//! (UTF-8, `,`, no quoting needed) that hledger, `ledger convert` and
//! almoner's mapped import all read.
//! Deterministic for a seed.

use std::io::{BufWriter, Write};
use std::path::Path;

/// The foundation's account in generated statements.
pub const OWN_ACCOUNT: &str = "40703810000000000001";

/// The mapping profile that reads [`write_csv`]'s file.
pub const CSV_PROFILE: &str = "name = \"generated\"\ndecimal = \".\"\n\n[columns]\nid = \"code\"\ndate = \"date\"\namount = \"amount\"\npayer = \"payee\"\ninn = \"inn\"\npurpose = \"note\"\n";

const SURNAMES: &[&str] = &["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов"];
const NAMES: &[&str] = &["Иван", "Пётр", "Сергей", "Андрей", "Алексей", "Дмитрий", "Олег", "Павел"];
const PURPOSES: &[&str] = &[
    "Благотворительное пожертвование на уставную деятельность",
    "Пожертвование на лечение детей",
    "Добровольное пожертвование (НДС не облагается)",
    "На реабилитацию",
];

/// One generated payment.
pub struct Row {
    pub number: u64,
    pub day: u32,
    pub kopecks: u64,
    pub payer: String,
    pub inn: String,
    pub account: String,
    pub purpose: &'static str,
}

/// Payment `i` of a generated register: 20 000 different donors, amounts from 100 to 50 000 ₽.
pub fn row(i: u64, seed: u64) -> Row {
    let mut x = i.wrapping_mul(6364136223846793005).wrapping_add(seed.wrapping_mul(1442695040888963407) | 1);
    let mut next = || {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51afd7ed558ccd);
        x ^= x >> 33;
        x
    };
    let donor = next() % 20_000;
    let surname = SURNAMES[(donor % 8) as usize];
    let name = NAMES[(donor / 8 % 8) as usize];
    Row {
        number: i + 1,
        day: (next() % 28) as u32 + 1,
        kopecks: (next() % 49_900 + 100) * 100 + next() % 100,
        payer: format!("{surname} {name} {donor}"),
        inn: format!("77{:010}", donor),
        account: format!("40817810{:012}", donor),
        purpose: PURPOSES[(next() % PURPOSES.len() as u64) as usize],
    }
}

fn rub(kopecks: u64) -> String {
    format!("{}.{:02}", kopecks / 100, kopecks % 100)
}

/// A March 2026 statement of `rows` incoming payments to [`OWN_ACCOUNT`].
pub fn write_1c(path: &Path, rows: u64, seed: u64) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut text = String::with_capacity(1024);
    let put = |out: &mut BufWriter<std::fs::File>, text: &mut String| -> std::io::Result<()> {
        out.write_all(&encoding_rs::WINDOWS_1251.encode(text).0)?;
        text.clear();
        Ok(())
    };
    let total: u64 = (0..rows).map(|i| row(i, seed).kopecks).sum();
    text.push_str(&format!(
        "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\nОтправитель=Бухгалтерия\r\nПолучатель=\r\n\
         ДатаНачала=01.03.2026\r\nДатаКонца=31.03.2026\r\nРасчСчет={OWN_ACCOUNT}\r\n\
         СекцияРасчСчет\r\nДатаНачала=01.03.2026\r\nДатаКонца=31.03.2026\r\nРасчСчет={OWN_ACCOUNT}\r\n\
         НачальныйОстаток=0.00\r\nВсегоПоступило={}\r\nВсегоСписано=0.00\r\nКонечныйОстаток={}\r\nКонецРасчСчет\r\n",
        rub(total),
        rub(total)
    ));
    put(&mut out, &mut text)?;
    for i in 0..rows {
        let r = row(i, seed);
        text.push_str(&format!(
            "СекцияДокумент=Платежное поручение\r\nНомер={}\r\nДата={:02}.03.2026\r\nСумма={}\r\n\
             ПлательщикСчет={}\r\nПлательщик={}\r\nПлательщикИНН={}\r\nПолучательСчет={OWN_ACCOUNT}\r\n\
             Получатель=БФ «Помощь»\r\nПолучательИНН=7701000001\r\nДатаПоступило={:02}.03.2026\r\n\
             НазначениеПлатежа={}\r\nКонецДокумента\r\n",
            r.number,
            r.day,
            rub(r.kopecks),
            r.account,
            r.payer,
            r.inn,
            r.day,
            r.purpose
        ));
        put(&mut out, &mut text)?;
    }
    text.push_str("КонецФайла\r\n");
    put(&mut out, &mut text)?;
    out.flush()
}

/// The same payments as a CSV with ledger's header names: `code,date,payee,amount,inn,note`.
pub fn write_csv(path: &Path, rows: u64, seed: u64) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "code,date,payee,amount,inn,note")?;
    for i in 0..rows {
        let r = row(i, seed);
        writeln!(out, "{},2026/03/{:02},{},{},{},{}", r.number, r.day, r.payer, rub(r.kopecks), r.inn, r.purpose)?;
    }
    out.flush()
}

/// The total of a generated register, in kopecks.
pub fn total(rows: u64, seed: u64) -> u64 {
    (0..rows).map(|i| row(i, seed).kopecks).sum()
}
