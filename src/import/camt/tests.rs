//! camt's reading, checked on small statements written here.

use super::{WORK, amount, parse};
use crate::domain::{Currency, Money};
use crate::import::{Direction, Rejected};

fn statement(closing: &str, second: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Id>S1</Id><Acct><Id><IBAN>RU01</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="RUB">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="RUB">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
<TxsSummry><TtlCdtNtries><Sum>50</Sum></TtlCdtNtries></TxsSummry>
<Ntry><Amt Ccy="RUB">50.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><DtTm>2026-03-02T10:00:00</DtTm></BookgDt>
<NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>
<TxDtls><Amt Ccy="RUB">20.00</Amt><RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties><RmtInf><Ustrd>на лечение</Ustrd><Ustrd>заявка 7</Ustrd></RmtInf></TxDtls>
<TxDtls><Amt Ccy="RUB">{second}</Amt><RltdPties><Dbtr><Pty><Nm>Борис</Nm></Pty></Dbtr></RltdPties></TxDtls>
</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"#
    )
}

/// A statement of account `RU01` holding `body` (entries, balances, a summary).
fn doc(body: &str) -> String {
    format!(
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt><Stmt><Id>S</Id>\
         <Acct><Id><IBAN>RU01</IBAN></Id></Acct>{body}</Stmt></BkToCstmrStmt></Document>"
    )
}

fn balance(code: &str, amount: &str) -> String {
    format!(
        "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{amount}</Amt>\
         <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-02</Dt></Dt></Bal>"
    )
}

#[test]
fn a_batched_entry_splits_into_its_transactions_and_balances_check() {
    let reg = parse(statement("150.00", "30.00").as_bytes()).unwrap();
    assert_eq!(reg.payments.len(), 2);
    let (a, b) = (&reg.payments[0], &reg.payments[1]);
    assert_eq!(
        (a.amount, a.payer.name.as_str(), a.purpose.as_str()),
        (Money::from_minor(20_00), "Анна", "на лечение заявка 7")
    );
    assert_eq!(
        (b.amount, b.payer.name.as_str(), b.direction),
        (Money::from_minor(30_00), "Борис", Direction::Incoming)
    );
    assert_ne!(a.external_key, b.external_key);
    assert_eq!(a.booked.unwrap().to_string(), "2026-03-02");
    assert!(reg.checks.iter().all(|c| c.ok), "{:?}", reg.checks);

    let wrong = parse(statement("151.00", "30.00").as_bytes()).unwrap();
    assert_eq!(wrong.checks.iter().filter(|c| !c.ok).count(), 1, "a closing balance that does not add up is reported");
    let torn = parse(statement("150.00", "31.00").as_bytes()).unwrap();
    assert!(torn.payments.is_empty());
    assert!(torn.errors[0].message.contains("adding up to 51.00"), "{:?}", torn.errors);
}

#[test]
fn amounts_round_to_the_kopeck_and_say_so() {
    assert_eq!(amount("18.150"), Ok((Money::from_minor(18_15), false)));
    assert_eq!(amount("388645"), Ok((Money::from_minor(388645_00), false)));
    assert_eq!(amount("1.00505"), Ok((Money::from_minor(1_01), true)));
    assert!(amount("-5").is_err());
    assert!(amount("5,00").is_err());
    assert!(amount("92233720368547758.07").is_err(), "beyond the largest amount almoner keeps");
}

/// Without bank references, an intraday report and the day's statement give the same keys.
#[test]
fn keys_without_references_do_not_depend_on_the_place() {
    let entry = |amount: &str| {
        format!(
            "<Ntry><Amt Ccy=\"RUB\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\
             <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>"
        )
    };
    let report = parse(doc(&entry("5.00")).as_bytes()).unwrap();
    let statement = parse(doc(&format!("{}{}{}", entry("9.00"), entry("5.00"), entry("5.00"))).as_bytes()).unwrap();
    assert_eq!(report.payments[0].external_key, statement.payments[1].external_key);
    assert_ne!(statement.payments[1].external_key, statement.payments[2].external_key, "two equal payments are two");
}

/// `n` entries of every kind the reader treats differently: without dates (the statement's
/// is used) nor references and repeated, split batches with references, reversals with
/// `NtryRef`, debits with an `EndToEndId`; with balances and a summary to check.
fn generated(n: usize) -> String {
    let mut body = balance("OPBD", "0");
    body += &balance("CLBD", "0");
    body += "<TxsSummry><TtlNtries><NbOfNtries>0</NbOfNtries></TtlNtries></TxsSummry>";
    for i in 0..n {
        body += &match i % 4 {
            0 => "<Ntry>\n<Amt Ccy=\"EUR\">5.00</Amt>\n<CdtDbtInd>CRDT</CdtDbtInd>\n<NtryDtls><TxDtls>\
                  <RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties></TxDtls></NtryDtls>\n</Ntry>\n"
                .to_string(),
            1 => format!(
                "<Ntry>\n<Amt Ccy=\"EUR\">30.00</Amt>\n<CdtDbtInd>CRDT</CdtDbtInd>\n<AcctSvcrRef>R{i}</AcctSvcrRef>\n\
                 <BookgDt><Dt>2026-03-02</Dt></BookgDt>\n<NtryDtls><TxDtls><Amt Ccy=\"EUR\">10.00</Amt></TxDtls>\n\
                 <TxDtls><Amt Ccy=\"EUR\">20.00</Amt><RmtInf><Ustrd>gift {i}</Ustrd></RmtInf></TxDtls></NtryDtls>\n</Ntry>\n"
            ),
            2 => format!(
                "<Ntry>\n<NtryRef>N{i}</NtryRef><Amt Ccy=\"EUR\">7.00</Amt>\n<CdtDbtInd>DBIT</CdtDbtInd>\n\
                 <RvslInd>true</RvslInd><ValDt><DtTm>2026-03-02T10:00:00</DtTm></ValDt>\n</Ntry>\n"
            ),
            _ => format!(
                "<Ntry>\n<Amt Ccy=\"EUR\">8.00</Amt>\n<CdtDbtInd>DBIT</CdtDbtInd>\n<BookgDt><Dt>2026-03-02</Dt></BookgDt>\n\
                 <NtryDtls><TxDtls><Refs><EndToEndId>E{i}</EndToEndId></Refs><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>\
                 </TxDtls></NtryDtls>\n</Ntry>\n"
            ),
        };
    }
    doc(&body)
}

/// Reading does work in proportion to the file (counted, not timed): 8 times the entries,
/// about 8 times the work. A line found by counting newlines from the start, or a statement's
/// children walked again for every entry, makes it 60 times.
#[test]
fn reading_does_work_in_proportion_to_the_file() {
    let work = |n: usize| {
        let text = generated(n);
        WORK.with(|w| w.set(0));
        let reg = parse(text.as_bytes()).unwrap();
        assert_eq!(reg.payments.len(), n / 4 * 5, "{:?}", reg.errors);
        assert!(reg.errors.is_empty(), "{:?}", reg.errors);
        WORK.with(|w| w.get()) as f64
    };
    let (small, large) = (work(1_000), work(8_000));
    let ratio = large / small;
    assert!((6.0..10.0).contains(&ratio), "8 times the entries take {ratio:.1} times the work");
}

#[test]
fn reversals_and_returns_are_never_donations() {
    let entry = |inside: &str, details: &str| {
        format!(
            "<Ntry><Amt Ccy=\"EUR\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>{inside}<BookgDt><Dt>2026-03-02</Dt></BookgDt>\
             <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties>{details}</TxDtls></NtryDtls></Ntry>"
        )
    };
    let cases = [
        (entry("<RvslInd>true</RvslInd>", ""), Direction::Returned),
        (entry("", "<RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>"), Direction::Returned),
        (entry("", "<RtrInf><Rsn><Cd>MD07</Cd></Rsn><AddtlInf>deceased</AddtlInf></RtrInf>"), Direction::Returned),
        (entry("<AddtlNtryInf>ACH CREDIT REJECT</AddtlNtryInf>", ""), Direction::Returned),
        (entry("", "<AddtlTxInf>Return of payment 7, account closed</AddtlTxInf>"), Direction::Returned),
        (entry("<AddtlNtryInf>Возврат платежа</AddtlNtryInf>", ""), Direction::Returned),
        (
            entry(
                "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>RRTN</SubFmlyCd></Fmly></Domn></BkTxCd>",
                "",
            ),
            Direction::Returned,
        ),
        (entry("<RvslInd>false</RvslInd>", ""), Direction::Incoming),
        (entry("<AddtlNtryInf>Пожертвование, без возврата</AddtlNtryInf>", ""), Direction::Incoming),
        (entry("", "<AddtlTxInf>SEPA credit transfer</AddtlTxInf>"), Direction::Incoming),
    ];
    for (xml, direction) in &cases {
        let reg = parse(doc(xml).as_bytes()).unwrap();
        assert_eq!(reg.payments.len(), 1, "{xml}: {:?}", reg.errors);
        assert_eq!(reg.payments[0].direction, *direction, "{xml}");
    }
    // In a split batch, only the returned transaction is a return.
    let batch = "<Ntry><Amt Ccy=\"EUR\">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\
                 <NtryDtls><TxDtls><Amt Ccy=\"EUR\">10.00</Amt></TxDtls><TxDtls><Amt Ccy=\"EUR\">20.00</Amt>\
                 <RtrInf><Rsn><Cd>AC06</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>";
    let reg = parse(doc(batch).as_bytes()).unwrap();
    let directions: Vec<Direction> = reg.payments.iter().map(|p| p.direction).collect();
    assert_eq!(directions, [Direction::Incoming, Direction::Returned]);
}

#[test]
fn an_error_names_the_line_of_the_element_at_fault() {
    let body = "<Ntry>\n\
                <Amt Ccy=\"EUR\">5,00</Amt>\n\
                <CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\n\
                </Ntry>\n\
                <Ntry>\n\
                <Amt Ccy=\"EUR\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>\n\
                <BookgDt><Dt>2026-03-02</Dt></BookgDt>\n\
                <ValDt>\n\
                <Dt>2026-02-30</Dt>\n\
                </ValDt>\n\
                </Ntry>\n\
                <Ntry>\n\
                <Amt Ccy=\"EUR\">6.00</Amt>\n\
                <CdtDbtInd>CREDIT</CdtDbtInd>\n\
                </Ntry>\n\
                <Ntry>\n\
                <Amt Ccy=\"EUR\">6.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\n\
                <NtryDtls><TxDtls><Amt Ccy=\"EUR\">1.00</Amt></TxDtls>\n\
                <TxDtls><Amt Ccy=\"EUR\">five</Amt></TxDtls></NtryDtls>\n\
                </Ntry>\n";
    let reg = parse(doc(&format!("\n{body}")).as_bytes()).unwrap();
    let lines: Vec<(usize, &str)> = reg.errors.iter().map(|e| (e.line, e.message.as_str())).collect();
    assert_eq!(lines.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [3, 10, 15, 20], "{lines:?}");
    assert!(lines[0].1.contains("\"5,00\""), "{lines:?}");
    assert!(lines[1].1.contains("2026-02-30"), "{lines:?}");
    assert!(lines[2].1.contains("CREDIT"), "{lines:?}");
    assert!(lines[3].1.contains("five"), "{lines:?}");
    assert!(reg.payments.is_empty());
}

#[test]
fn an_amount_without_a_currency_has_none_and_other_currencies_are_not_summed() {
    let entry = |amt: &str| {
        format!(
            "<Ntry>\n{amt}<CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\
             <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>"
        )
    };
    let none = parse(doc(&entry("<Amt>5.00</Amt>")).as_bytes()).unwrap();
    assert_eq!(none.payments[0].currency, Currency::NONE, "never silently roubles");
    let account =
        doc(&entry("<Amt>5.00</Amt>")).replace("<IBAN>RU01</IBAN></Id>", "<IBAN>RU01</IBAN></Id><Ccy>EUR</Ccy>");
    assert_eq!(parse(account.as_bytes()).unwrap().payments[0].currency.as_str(), "EUR");

    // Balances in EUR: the dollars are reported, the euros add up.
    let body = format!(
        "{}{}<TxsSummry><TtlCdtNtries><NbOfNtries>2</NbOfNtries><Sum>10.00</Sum></TtlCdtNtries></TxsSummry>{}{}",
        balance("OPBD", "100.00"),
        balance("CLBD", "110.00"),
        entry("<Amt Ccy=\"EUR\">10.00</Amt>"),
        entry("<Amt Ccy=\"USD\">5.00</Amt>"),
    );
    let reg = parse(doc(&body).as_bytes()).unwrap();
    assert_eq!(reg.payments.len(), 2);
    let failed: Vec<&str> = reg.checks.iter().filter(|c| !c.ok).map(|c| c.what.as_str()).collect();
    assert_eq!(failed.len(), 1, "{:?}", reg.checks);
    assert!(failed[0].contains("line 3 (USD 5.00)"), "{failed:?}");
    assert_eq!(reg.checks.iter().filter(|c| c.ok).count(), 3, "balance, credit sum and count: {:?}", reg.checks);
    // Balances that name no currency are checked against the entries all the same.
    let bare = doc(&body.replace("\"EUR\">100.00", "\"XXX\">100.00").replace("<Amt Ccy=\"EUR\">110.00", "<Amt>110.00"));
    let reg = parse(bare.as_bytes()).unwrap();
    let failed: Vec<&str> = reg.checks.iter().filter(|c| !c.ok).map(|c| c.what.as_str()).collect();
    assert_eq!(failed.len(), 1, "{:?}", reg.checks);
    assert!(failed[0].contains("line 3 (USD 5.00)"), "{failed:?}");
}

#[test]
fn the_summary_counts_and_net_are_compared() {
    let entry = |amount: &str, sign: &str| {
        format!(
            "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt></Ntry>"
        )
    };
    let summary = |credits: u32, net: &str| {
        format!(
            "<TxsSummry><TtlNtries><NbOfNtries>3</NbOfNtries><Sum>17.00</Sum>\
             <TtlNetNtry><Amt>{net}</Amt><CdtDbtInd>CRDT</CdtDbtInd></TtlNetNtry></TtlNtries>\
             <TtlCdtNtries><NbOfNtries>{credits}</NbOfNtries><Sum>12.00</Sum></TtlCdtNtries>\
             <TtlDbtNtries><NbOfNtries>1</NbOfNtries><Sum>5.00</Sum></TtlDbtNtries></TxsSummry>"
        )
    };
    let entries = format!("{}{}{}", entry("10.00", "CRDT"), entry("2.00", "CRDT"), entry("5.00", "DBIT"));
    let good = parse(doc(&format!("{}{entries}", summary(2, "7.00"))).as_bytes()).unwrap();
    assert_eq!(good.checks.len(), 7, "{:?}", good.checks);
    assert!(good.checks.iter().all(|c| c.ok), "{:?}", good.checks);
    let bad = parse(doc(&format!("{}{entries}", summary(3, "8.00"))).as_bytes()).unwrap();
    let failed: Vec<&str> = bad.checks.iter().filter(|c| !c.ok).map(|c| c.what.as_str()).collect();
    assert_eq!(failed.len(), 2, "{:?}", bad.checks);
    assert!(failed.iter().any(|w| w.contains("number of credit entries")), "{failed:?}");
    assert!(failed.iter().any(|w| w.contains("net")), "{failed:?}");
}

#[test]
fn a_structurally_broken_file_is_refused_on_the_line_at_fault() {
    let structure = |xml: &str| match parse(xml.as_bytes()) {
        Err(Rejected::Structure { line, message }) => (line, message),
        other => panic!("{other:?}"),
    };
    let entry = "<Ntry><Amt Ccy=\"EUR\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>";
    // An entry's details never closed: the parser notices only at the entry's end.
    let unclosed = doc(&format!("\n{entry}\n<NtryDtls><TxDtls></TxDtls>\n</Ntry>\n"));
    let (line, message) = structure(&unclosed);
    assert_eq!(line, 3, "{message}");
    assert!(message.contains("<NtryDtls>"), "{message}");
    // Cut off in the middle: the element cut, not the first line.
    let cut = doc(&format!("\n{entry}\n<NtryDtls><TxDtls>\n<RmtInf><Ustrd>на лече"));
    let cut = &cut[..cut.find("на лече").unwrap() + "на лече".len()];
    let (line, message) = structure(cut);
    assert_eq!(line, 4, "{message}");
    assert!(message.contains("<Ustrd>"), "{message}");
    // A statement without its account.
    let no_account = format!(
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>\n<Stmt><Id>S</Id>\n{entry}</Ntry>\
         </Stmt></BkToCstmrStmt></Document>"
    );
    let (line, message) = structure(&no_account);
    assert_eq!(line, 2, "{message}");
    assert!(message.contains("account"), "{message}");
    // An entry outside its statement.
    let stray = doc("").replace("</Stmt>", &format!("</Stmt>\n{entry}</Ntry>"));
    assert_eq!(structure(&stray).0, 2);
    // One bad entry is that entry's error; the others read.
    let one_bad = doc(&format!("{entry}</Ntry>\n<Ntry><Amt Ccy=\"EUR\">x</Amt></Ntry>{entry}</Ntry>"));
    let reg = parse(one_bad.as_bytes()).unwrap();
    assert_eq!((reg.payments.len(), reg.errors.len()), (2, 1), "{:?}", reg.errors);
    assert_eq!(reg.errors[0].line, 2);
}

/// Equal payments without references in one statement are told apart by their occurrence
/// there, so another statement of the same day gives the same keys; a reference keys itself.
#[test]
fn identity_counts_occurrences_in_the_statement_and_uses_references() {
    let entry = |refs: &str| {
        format!(
            "<Ntry>{refs}<Amt Ccy=\"EUR\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-02</Dt></BookgDt>\
             <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Анна</Nm></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>"
        )
    };
    let stmt = |entries: &str| format!("<Stmt><Id>S</Id><Acct><Id><IBAN>RU01</IBAN></Id></Acct>{entries}</Stmt>");
    let file = |stmts: &str| {
        format!(
            "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.052.001.02\"><BkToCstmrAcctRpt>{stmts}\
             </BkToCstmrAcctRpt></Document>"
        )
        .replace("Stmt>", "Rpt>")
    };
    let plain = entry("");
    let two = parse(file(&format!("{}{}", stmt(&format!("{plain}{plain}")), stmt(&plain))).as_bytes()).unwrap();
    let keys: Vec<&str> = two.payments.iter().map(|p| p.external_key.as_str()).collect();
    assert_ne!(keys[0], keys[1], "two equal payments in a statement are two");
    assert_eq!(keys[0], keys[2], "the first of the day again in the next report is the same payment");
    let again = parse(file(&stmt(&format!("{plain}{plain}"))).as_bytes()).unwrap();
    assert_eq!(again.payments[1].external_key, keys[1], "and the second again the second");

    // With references, the reference says which is which, whatever the order.
    let (a, b) = (entry("<NtryRef>A</NtryRef>"), entry("<NtryRef>B</NtryRef>"));
    let both = parse(file(&stmt(&format!("{a}{b}"))).as_bytes()).unwrap();
    let only_b = parse(file(&stmt(&b)).as_bytes()).unwrap();
    assert_ne!(both.payments[0].external_key, both.payments[1].external_key);
    assert_eq!(only_b.payments[0].external_key, both.payments[1].external_key);
    let e2e = |r: &str| entry("").replace("<TxDtls>", &format!("<TxDtls><Refs><EndToEndId>{r}</EndToEndId></Refs>"));
    let by_e2e = parse(file(&stmt(&format!("{}{}", e2e("X1"), e2e("X2")))).as_bytes()).unwrap();
    let only_x2 = parse(file(&stmt(&e2e("X2"))).as_bytes()).unwrap();
    assert_eq!(only_x2.payments[0].external_key, by_e2e.payments[1].external_key);
    // NOTPROVIDED is no reference: counted like a payment without one.
    let np = parse(file(&stmt(&e2e("NOTPROVIDED"))).as_bytes()).unwrap();
    assert_eq!(np.payments[0].external_key, keys[0]);
}
