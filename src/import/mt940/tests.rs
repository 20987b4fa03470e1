//! MT940's reading, checked on small statements written here.

use super::*;

/// A statement of `account`, `:20:` `reference`, number `number`, with `body` between its balances.
fn stmt(account: &str, reference: &str, number: &str, open: &str, body: &str, close: &str) -> String {
    format!(":20:{reference}\r\n:25:{account}\r\n:28C:{number}\r\n:60F:{open}\r\n{body}:62F:{close}\r\n-\r\n")
}

fn keys(r: &Register) -> Vec<String> {
    r.payments.iter().map(|p| p.external_key.clone()).collect()
}

#[test]
fn reads_german_details_and_keeps_february_30() {
    let text = ":20:STARTUMSE\r\n:25:12345678/1020304050\r\n:28C:00000/001\r\n:60F:C160229EUR1200,00\r\n\
                :61:1602300301DR6,00N024NONREF\r\n:86:805?00ENTGELT?20Pauschalen?32Bank AG\r\n:62F:C160301EUR1194,00\r\n-\r\n";
    let r = parse(text.as_bytes()).unwrap();
    assert_eq!(r.payments.len(), 1);
    let p = &r.payments[0];
    assert_eq!(
        (p.direction, p.amount, p.date),
        (Direction::Outgoing, Money::from_minor(600), NaiveDate::from_ymd_opt(2016, 2, 29).unwrap())
    );
    assert_eq!((p.payee.name.as_str(), p.purpose.as_str()), ("Bank AG", "Pauschalen"));
    assert!(r.warnings[0].message.contains("30.02.2016 does not exist"));
    assert!(r.checks[0].ok, "{:?}", r.checks);
}

#[test]
fn amounts_and_wrong_headers() {
    assert_eq!(amount("300,"), Some(Money::from_minor(30000)));
    assert_eq!(amount("1,5"), Some(Money::from_minor(150)));
    assert_eq!(amount("1,555"), None);
    assert_eq!(amount("500"), None, "a SWIFT amount has its decimal comma");
    assert!(matches!(parse(b":9401:\n:20:X\n"), Err(Rejected::Structure { line: 1, .. })));
}

/// Found by the fuzzer: a `?` code cut inside a multi-byte letter, and a date with a letter in it.
#[test]
fn letters_where_digits_belong_do_not_panic() {
    let text = ":20:X\r\n:25:DE1\r\n:60F:C200606EUR0,00\r\n:61:2006080608D12,35NTRFNONREF\r\n:86:109?2ÿx?3ÿ\r\n:61:20é608D1,00NTRF\r\n:61:2006é8D1,00NTRF\r\n:62F:C200608EUR0,00\r\n";
    let r = parse(text.as_bytes()).unwrap();
    assert_eq!((r.payments.len(), r.errors.len()), (1, 2), "{:?}", r.errors);
}

#[test]
fn identical_payments_count_each_and_keys_do_not_depend_on_the_statement() {
    let gift = ":61:2401150115CR50,00NTRFNONREF\r\n:86:166?00GUTSCHRIFT?20Spende?32Anna Muster\r\n";
    let one = stmt("DE1", "STARTUMS", "1/1", "C240114EUR0,00", &gift.repeat(2), "C240115EUR100,00");
    let r = parse(one.as_bytes()).unwrap();
    let first = keys(&r);
    assert_eq!(first.len(), 2);
    assert_ne!(first[0], first[1], "two equal gifts on one day are two payments");
    assert!(r.checks[0].ok, "{:?}", r.checks);
    // The same day again, in a statement with another :20: and number: nothing new.
    let again = stmt("DE1", "940S240115", "7/1", "C240114EUR0,00", &gift.repeat(2), "C240115EUR100,00");
    assert_eq!(keys(&parse(again.as_bytes()).unwrap()), first);
    // A third equal gift: the first two keep their keys.
    let three = stmt("DE1", "X", "8/1", "C240114EUR0,00", &gift.repeat(3), "C240115EUR150,00");
    let three = keys(&parse(three.as_bytes()).unwrap());
    assert_eq!((&three[..2], three[2] != three[1]), (&first[..], true));
    // Another purpose, or another account, is another payment.
    let other = gift.replace("Spende", "Miete");
    let mixed = stmt("DE1", "X", "9/1", "C240114EUR0,00", &format!("{gift}{other}"), "C240115EUR100,00");
    let mixed = keys(&parse(mixed.as_bytes()).unwrap());
    assert_eq!(mixed[0], first[0]);
    assert!(!first.contains(&mixed[1]));
    let elsewhere = stmt("DE2", "STARTUMS", "1/1", "C240114EUR0,00", gift, "C240115EUR50,00");
    assert_ne!(keys(&parse(elsewhere.as_bytes()).unwrap())[0], first[0]);
}

#[test]
fn whatever_separates_statements_every_one_is_read() {
    let a = stmt(
        "DE1",
        "A",
        "1/1",
        "C240114EUR0,00",
        ":61:2401150115C10,00NTRFNONREF\r\n:86:Spende\r\n",
        "C240115EUR10,00",
    );
    let b =
        stmt("DE2", "B", "1/1", "C240114EUR5,00", ":61:2401150115C7,00NTRFNONREF\r\n:86:Gabe\r\n", "C240115EUR12,00");
    let separators = [
        "\u{1a}",
        "\r\n\r\n\u{1a}\r\n",
        "-}{5:}\r\n{1:F01BANKDEFFXXXX0000000000}{2:O940BANKDEFFXXXXN}{3:}{4:\r\n",
        "ABNANL2A\r\n940\r\nABNANL2A\r\n",
        "\u{feff}",
        "\u{3}\r\n\u{1}",
    ];
    for sep in separators {
        let r = parse(format!("{a}{sep}{b}").as_bytes()).unwrap();
        let accounts: Vec<_> = r.payments.iter().map(|p| p.own_account.clone().unwrap()).collect();
        assert_eq!(accounts, ["DE1", "DE2"], "{sep:?}");
        assert_eq!(r.checks.iter().filter(|c| c.ok).count(), 2, "{sep:?}: {:?}", r.checks);
        assert!(r.errors.is_empty() && r.warnings.is_empty(), "{sep:?}: {:?} {:?}", r.errors, r.warnings);
    }
    // A `-` inside a statement is text ING wrapped onto a line of its own: what follows goes on.
    let wrapped = ":61:2401150115C10,00NTRFNONREF\r\n:86:/EREF/E1//MARF/MND\r\n-\r\nEV01//REMI/USTD//Spende/\r\n";
    let r = parse(stmt("NL1", "A", "1", "C240114EUR0,00", wrapped, "C240115EUR10,00").as_bytes()).unwrap();
    assert_eq!(r.payments[0].purpose, "Spende");
}

#[test]
fn a_statement_level_86_belongs_to_no_payment() {
    // ING writes the statement's totals in an :86: after :62F:; one before the first :61: is the statement's too.
    let body = ":86:Informationen zum Auszug\r\n:61:2401150115C10,00NTRFNONREF\r\n";
    let a = stmt("DE1", "A", "1/1", "C240114EUR0,00", body, "C240115EUR10,00").replace("-\r\n", "");
    let text = format!("{a}:86:D000000C000001D0,00C10,00\r\n-\r\n");
    let r = parse(text.as_bytes()).unwrap();
    assert_eq!(r.payments[0].purpose, "");
    // Nor to the last payment of the statement before.
    let b = stmt("DE1", "B", "2/1", "C240115EUR10,00", ":86:Auszug 2\r\n", "C240116EUR10,00");
    let r = parse(format!("{a}{b}").as_bytes()).unwrap();
    assert_eq!(r.payments[0].purpose, "");
    // Several :86: in a row after a :61: (old Rabobank files) are its purpose, line by line.
    let rabo = ":61:2401150115D20,00N044NONREF\r\n:86:BETALINGSKENM. 123\r\n:86:FACTUUR 987\r\n";
    let r = parse(stmt("NL1", "A", "1", "C240114EUR20,00", rabo, "C240115EUR0,00").as_bytes()).unwrap();
    assert_eq!(r.payments[0].purpose, "BETALINGSKENM. 123 FACTUUR 987");
}

#[test]
fn a_statement_repeated_word_for_word_is_read_once() {
    let s = stmt(
        "DE1",
        "STARTUMSE",
        "00000/001",
        "C240114EUR0,00",
        ":61:2401150115C10,00NTRFNONREF\r\n",
        "C240115EUR10,00",
    );
    let r = parse(format!("{s}\r\n{s}").as_bytes()).unwrap();
    assert_eq!((r.payments.len(), r.checks.len()), (1, 1), "{:?}", r.checks);
    let second = s.lines().count() + 2;
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].line, second);
    assert!(r.warnings[0].message.contains("repeats the one on line 1"), "{}", r.warnings[0].message);
    // Sparkasse numbers every statement 00000/001 with the same :20:: another day is another statement.
    let next = stmt(
        "DE1",
        "STARTUMSE",
        "00000/001",
        "C240115EUR10,00",
        ":61:2401160116C10,00NTRFNONREF\r\n",
        "C240116EUR20,00",
    );
    let r = parse(format!("{s}{next}").as_bytes()).unwrap();
    assert_eq!((r.payments.len(), r.checks.len(), r.warnings.len()), (2, 2, 0));
    // The same statement with other entries is read, and said.
    let other = s.replace("C10,00NTRFNONREF", "C10,00NTRFKREF+2");
    let r = parse(format!("{s}{other}").as_bytes()).unwrap();
    assert_eq!((r.payments.len(), r.checks.len()), (2, 2));
    assert!(r.warnings[0].message.contains("other entries"), "{:?}", r.warnings);
}

#[test]
fn reversals_and_returns_are_returned_and_balances_still_check() {
    let body = [
        ":61:2401150115RCR20,00NRTINONREF\r\n:86:079?00SAMMLER/STORNO\r\n",
        ":61:2401150115RD5,00NRTINONREF\r\n:86:Lastschrift zurueck\r\n",
        ":61:2401150115CR30,00NTRFNONREF\r\n:86:159?00UEBERWEISUNG?20Konto gesperrt Rueckue?21berweisung\r\n",
        ":61:2401150115C7,00NTRFNONREF\r\n:86:/EREF/E1/RTRN/MD07/REMI/USTD//Spende/\r\n",
        ":61:2401150115C8,00NTRFNONREF\r\n:86:166?00GUTSCHRIFT?20Spende?21AC04 KONTO AUFGELOEST\r\n",
        ":61:2401150115C1,00NTRFNONREF\r\n:86:RÜCKÜBERWEISUNG\r\n",
        ":61:2401150115C11,00NTRFNONREF\r\n:86:Возврат ошибочно перечисленных средств\r\n",
        ":61:2401150115C9,00NTRFNONREF\r\n:86:166?00GUTSCHRIFT?20Spende fuer Anna\r\n",
        ":61:2401150115C4,00NTRFNONREF\r\n:86:Безвозвратная помощь фонду\r\n",
        ":61:2401150115D3,00NTRFNONREF\r\n:86:Gebuehr\r\n",
    ];
    // 100 − 20 + 5 + 30 + 7 + 8 + 1 + 11 + 9 + 4 − 3 = 152.
    let r = parse(stmt("DE1", "A", "1", "C240114EUR100,00", &body.concat(), "C240115EUR152,00").as_bytes()).unwrap();
    let directions: Vec<Direction> = r.payments.iter().map(|p| p.direction).collect();
    use Direction::{Incoming, Outgoing, Returned};
    let want = [Returned, Returned, Returned, Returned, Returned, Returned, Returned, Incoming, Incoming, Outgoing];
    assert_eq!(directions, want);
    assert!(r.checks[0].ok, "RC moves the balance down and RD up: {:?}", r.checks);
}

#[test]
fn a_statement_without_a_currency_is_in_no_currency_and_checks_stay_within_one() {
    let gift = ":61:2401150115C5,00NTRFNONREF\r\n";
    let eur = stmt("DE1", "A", "1", "C240114EUR0,00", gift, "C240115EUR5,00");
    let none = stmt("DE2", "B", "1", "C240114   10,00", gift, "C240115   15,00");
    let r = parse(format!("{eur}{none}").as_bytes()).unwrap();
    let currencies: Vec<Currency> = r.payments.iter().map(|p| p.currency).collect();
    assert_eq!(currencies, ["EUR".parse().unwrap(), Currency::NONE], "not the statement before's, nor roubles");
    assert!(r.checks.iter().all(|c| c.ok), "{:?}", r.checks);
    assert!(r.warnings.iter().any(|w| w.line == 11 && w.message.contains("--currency")), "{:?}", r.warnings);
    // No opening balance at all: no currency either.
    let bare = ":20:C\r\n:25:DE3\r\n:61:2401150115C5,00NTRFNONREF\r\n:62F:C240115EUR5,00\r\n";
    assert_eq!(parse(bare.as_bytes()).unwrap().payments[0].currency, Currency::NONE);
    // Balances in two currencies cannot be compared, whatever the sums.
    let two = stmt("DE1", "D", "1", "C240114EUR0,00", gift, "C240115USD5,00");
    let r = parse(two.as_bytes()).unwrap();
    assert!(!r.checks[0].ok && r.checks[0].what.contains("EUR") && r.checks[0].what.contains("USD"), "{:?}", r.checks);
}

#[test]
fn broken_structure_is_refused_and_a_broken_entry_is_an_error_on_its_line() {
    let body = ":61:2401150115C500NTRF\r\n:61:2401150115C5,00\r\n:61:2401150115C6,00NTR\r\n\
                :61:2401150115C7,00NTRFNONREF\r\n:61:2401150115D2,00NMSC\r\n";
    let r = parse(stmt("DE1", "A", "1", "C240114EUR0,00", body, "C240115EUR5,00").as_bytes()).unwrap();
    let lines: Vec<usize> = r.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [5, 6, 7], "{:?}", r.errors);
    assert!(r.errors[0].message.contains("no decimal comma"), "{}", r.errors[0].message);
    // A reference left out (Volksbank and Raiffeisen do) is no reference.
    assert_eq!(r.payments.iter().map(|p| p.amount.minor()).collect::<Vec<_>>(), [700, 200]);
    assert!(r.checks[0].ok);
    // A statement without its closing balance: at the end of the file, or before the next one.
    let whole = stmt("DE1", "A", "1", "C240114EUR0,00", ":61:2401150115C5,00NTRFNONREF\r\n", "C240115EUR5,00");
    let cut =
        ":20:B\r\n:25:DE1\r\n:28C:2\r\n:60F:C240115EUR5,00\r\n:61:2401160116C1,00NTRFNONREF\r\n:86:Spe\r\nnde\r\n";
    match parse(format!("{whole}{cut}").as_bytes()) {
        Err(Rejected::Structure { line: 14, message }) => assert!(message.contains("line 8"), "{message}"),
        other => panic!("{other:?}"),
    }
    match parse(format!("{cut}{whole}").as_bytes()) {
        Err(Rejected::Structure { line: 7, message }) => {
            assert!(message.contains("next statement (line 8)"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_name_the_line_of_the_bad_field() {
    let text = "{1:F01BANKDEFFXXXX0000000000}{2:O940BANKDEFFXXXXN}{3:}{4:\r\n\r\n:20:A\r\n:25:DE1\r\n:28C:1\r\n\
                :60F:C240114EUR0.00\r\n:61:\r\n2401150115C5,00NTRFNONREF\r\n:86:Spende\r\n\r\n\
                :61:2402300230C1,00NTRFNONREF\r\n:61:2401150115X1,00NTRFNONREF\r\n:62F:C240115EUR6,00\r\n GARBAGE\r\n-}{5:}\r\n";
    let r = parse(text.as_bytes()).unwrap();
    let errors: Vec<usize> = r.errors.iter().map(|e| e.line).collect();
    let warnings: Vec<usize> = r.warnings.iter().map(|e| e.line).collect();
    assert_eq!(errors, [6, 12], "the opening balance, the :61: without a mark: {:?}", r.errors);
    assert_eq!(warnings, [11, 14], "30 February, the text after the balance: {:?}", r.warnings);
    assert_eq!(r.payments.iter().map(|p| p.line).collect::<Vec<_>>(), [8, 11], "the :61:'s own line");
    assert_eq!(r.payments[0].purpose, "Spende");
}
