//! Property test over random sequences of operations on a real SQLite file:
//! after every step every money invariant holds, every refused step wrote
//! nothing, and the store's figures match a model kept by the test.

mod common;

use std::collections::HashMap;

use almoner::domain::{Designation, Money, Stage};
use almoner::store::Plan;
use common::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    NewCase { target: i64 },
    NewDonation { amount: i64, designate: Option<usize> },
    Allocate { donation: usize, lines: Vec<(usize, i64)> },
    Evenly { donation: usize, cases: Vec<usize> },
    OldestFirst { donation: usize, limit: Option<i64> },
    Reverse { allocation: usize },
    Advance { case: usize, to: usize },
    Pay { case: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (1i64..200_000).prop_map(|target| Op::NewCase { target }),
        3 => (1i64..300_000, proptest::option::weighted(0.3, 0usize..8))
            .prop_map(|(amount, designate)| Op::NewDonation { amount, designate }),
        5 => (0usize..10, proptest::collection::vec((0usize..8, 0i64..120_000), 1..4))
            .prop_map(|(donation, lines)| Op::Allocate { donation, lines }),
        1 => (0usize..10, proptest::collection::vec(0usize..8, 1..4)).prop_map(|(donation, cases)| Op::Evenly { donation, cases }),
        1 => (0usize..10, proptest::option::of(1i64..100_000)).prop_map(|(donation, limit)| Op::OldestFirst { donation, limit }),
        2 => (0usize..30).prop_map(|allocation| Op::Reverse { allocation }),
        1 => (0usize..8, 0usize..8).prop_map(|(case, to)| Op::Advance { case, to }),
        1 => (0usize..8).prop_map(|case| Op::Pay { case }),
    ]
}

fn pick<T: Copy>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()])
}

async fn run(ops: Vec<Op>, postgres: bool) -> Result<(), TestCaseError> {
    let t = if postgres { TestDb::postgres().await } else { TestDb::new().await };
    let s = &t.store;
    let mut cases: Vec<i64> = Vec::new();
    let mut donations: Vec<i64> = Vec::new();
    let mut allocations: Vec<(i64, i64, i64, Money)> = Vec::new(); // id, donation, case, amount
    // The model: what each case and donation should hold.
    let mut collected: HashMap<i64, i64> = HashMap::new();
    let mut allocated: HashMap<i64, i64> = HashMap::new();
    for op in ops {
        let before = fingerprint(s).await;
        let result: Result<(), almoner::Error> = match &op {
            Op::NewCase { target } => {
                let id = fundraising_case(&t, Money::from_minor(*target)).await;
                cases.push(id);
                Ok(())
            }
            Op::NewDonation { amount, designate } => {
                let designation = match designate.and_then(|i| pick(&cases, i)) {
                    Some(case) => Designation::Case(case),
                    None => Designation::Unrestricted,
                };
                match s.new_donation(&donation(Money::from_minor(*amount), designation)).await {
                    Ok((id, _)) => {
                        donations.push(id);
                        let (_, list) = s.donation(id).await.unwrap();
                        for a in list {
                            allocations.push((a.id, id, a.case_id, a.amount));
                            *collected.entry(a.case_id).or_default() += a.amount.minor();
                            *allocated.entry(id).or_default() += a.amount.minor();
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Op::Allocate { .. } | Op::Evenly { .. } | Op::OldestFirst { .. } => {
                let (donation, plan) = match &op {
                    Op::Allocate { donation, lines } => (
                        *donation,
                        Plan::Lines(
                            lines
                                .iter()
                                .filter_map(|(c, m)| pick(&cases, *c).map(|c| (c, Money::from_minor(*m))))
                                .collect(),
                        ),
                    ),
                    Op::Evenly { donation, cases: cs } => {
                        let mut ids: Vec<i64> = cs.iter().filter_map(|c| pick(&cases, *c)).collect();
                        ids.sort();
                        ids.dedup();
                        (*donation, Plan::Evenly { cases: ids, limit: None })
                    }
                    Op::OldestFirst { donation, limit } => {
                        (*donation, Plan::OldestFirst { limit: limit.map(Money::from_minor) })
                    }
                    _ => unreachable!(),
                };
                match pick(&donations, donation) {
                    None => Ok(()),
                    Some(d) => s.allocate(d, &plan, Some("property test"), None).await.map(|out| {
                        for ((case, amount), id) in out.lines.iter().zip(&out.allocation_ids) {
                            allocations.push((*id, d, *case, *amount));
                            *collected.entry(*case).or_default() += amount.minor();
                            *allocated.entry(d).or_default() += amount.minor();
                        }
                    }),
                }
            }
            Op::Reverse { allocation } => match pick(&allocations, *allocation) {
                None => Ok(()),
                Some((id, d, case, amount)) => s.reverse(id, "property test").await.map(|_| {
                    *collected.entry(case).or_default() -= amount.minor();
                    *allocated.entry(d).or_default() -= amount.minor();
                }),
            },
            Op::Advance { case, to } => match pick(&cases, *case) {
                None => Ok(()),
                Some(c) => match s.advance(c, Stage::ALL[*to % Stage::ALL.len()], Some("property test")).await {
                    Ok(_) => {
                        // Entering fundraising places money held for the child: take
                        // those automatic allocations into the model.
                        for &d in &donations {
                            for a in s.donation(d).await.unwrap().1 {
                                if !allocations.iter().any(|x| x.0 == a.id) {
                                    prop_assert!(!a.reversed && a.case_id == c, "unexpected allocation {a:?}");
                                    allocations.push((a.id, d, a.case_id, a.amount));
                                    *collected.entry(a.case_id).or_default() += a.amount.minor();
                                    *allocated.entry(d).or_default() += a.amount.minor();
                                }
                            }
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
            },
            Op::Pay { case } => match pick(&cases, *case) {
                None => Ok(()),
                Some(c) => {
                    let target = s.case(c).await.unwrap().target;
                    s.record_payment(c, "1", date("2026-05-01"), target).await.map(drop)
                }
            },
        };
        if let Err(e) = &result {
            prop_assert!(
                !matches!(e, almoner::Error::Invariant(_) | almoner::Error::Db(_)),
                "{op:?} failed inside: {e}"
            );
            prop_assert_eq!(&before, &fingerprint(s).await, "refused {:?} ({}) wrote something", op, e);
        }
        let broken = s.verify().await.unwrap();
        prop_assert!(broken.is_empty(), "after {:?}: {:?}", op, broken);
        for &c in &cases {
            let case = s.case(c).await.unwrap();
            prop_assert_eq!(case.collected.minor(), collected.get(&c).copied().unwrap_or(0), "case {} collected", c);
            prop_assert!(case.collected <= case.target);
            if case.stage == Stage::Fundraising {
                prop_assert!(case.collected < case.target, "case {} full but still fundraising", c);
            }
        }
        for &d in &donations {
            let (don, _) = s.donation(d).await.unwrap();
            prop_assert_eq!(don.allocated.minor(), allocated.get(&d).copied().unwrap_or(0), "donation {} allocated", d);
            prop_assert_eq!(don.allocated + don.unallocated, don.amount);
        }
    }
    t.store.close().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 200, ..ProptestConfig::default() })]
    #[test]
    fn invariants_hold_after_every_step(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops, false))?;
    }

    /// The same sequences on PostgreSQL, each on a database of its own.
    #[test]
    fn invariants_hold_after_every_step_on_postgres(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops, true))?;
    }
}

// ---------------------------------------------------------------------------------------------
// Registers in any order: the processor's register, bank statements with its payouts, overlapping
// and repeated statements, re-imports and undos. After every step the sum of donations is the
// sum of distinct gifts received, no payout is ever a donation, and every invariant holds.

/// Days of March with gifts through CloudPayments: each day's two gifts net (gross less fees)
/// 2^day × 100,00, so no run of days adds up to another's payout and every match is certain.
const CP_DAYS: std::ops::RangeInclusive<u32> = 1..=6;

/// A day's CloudPayments gifts: (transaction id, gross, fee) in kopecks.
fn cp_gifts(day: u32) -> [(u32, i64, i64); 2] {
    let unit = (1i64 << day) * 100;
    [(day * 10 + 1, unit * 60 + 300, 300), (day * 10 + 2, unit * 40 + 200, 200)]
}

/// The processor's register for days `from..=to`.
fn cp_register(from: u32, to: u32) -> String {
    let mut out = "TransactionId,Amount,Currency,CreatedDateIso,Email,Status,TotalFee\n".to_string();
    for day in CP_DAYS.filter(|d| (from..=to).contains(d)) {
        for (id, gross, fee) in cp_gifts(day) {
            let m = |k: i64| format!("{}.{:02}", k / 100, k % 100);
            out.push_str(&format!(
                "{id},{},RUB,2026-03-{day:02}T10:00:00,d{id}@example.org,Completed,{}\n",
                m(gross),
                m(fee)
            ));
        }
    }
    out
}

/// The bank statement for days `from..=to`: a gift by transfer each day, and CloudPayments'
/// payout, two days later, of each day's gifts.
fn bank_statement(from: u32, to: u32) -> Vec<u8> {
    let mut out =
        "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\nРасчСчет=40703810000000000001\r\n"
            .to_string();
    let doc = |n: u32, day: u32, sum: i64, payer: &str, inn: &str| {
        format!(
            "СекцияДокумент=Платежное поручение\r\nНомер={n}\r\nДата={day:02}.03.2026\r\nСумма={}.{:02}\r\n\
             ПлательщикСчет=40702810000000{n:06}\r\nПлательщик={payer}\r\nПлательщикИНН={inn}\r\nДатаПоступило={day:02}.03.2026\r\n\
             ПолучательСчет=40703810000000000001\r\nПолучатель=Фонд\r\nНазначениеПлатежа=Пожертвование\r\nКонецДокумента\r\n",
            sum / 100,
            sum % 100
        )
    };
    for day in from..=to {
        out.push_str(&doc(day, day, 5000_00 + i64::from(day), "Иванов Иван", ""));
        if let Some(paid) = day.checked_sub(2).filter(|d| CP_DAYS.contains(d)) {
            out.push_str(&doc(100 + day, day, (1i64 << paid) * 100 * 100, "ООО КлаудПэйментс", "7708806062"));
        }
    }
    out.push_str("КонецФайла\r\n");
    out.into_bytes()
}

/// An MT940 statement (in euros) for days `from..=to`: each day two identical gifts (same
/// amount, `NONREF`, same text) and a reversal, which is never a donation.
fn swift_statement(from: u32, to: u32) -> Vec<u8> {
    let mut out =
        format!(":20:ST{from}{to}\r\n:25:NL00BANK0123456789\r\n:28C:{from}/1\r\n:60F:C2603{from:02}EUR0,00\r\n");
    let mut balance = 0i64;
    for day in from..=to {
        for _ in 0..2 {
            out.push_str(&format!(":61:2603{day:02}C{},00NTRFNONREF\r\n:86:Spende Kinderhilfe\r\n", 100 + day));
            balance += i64::from(100 + day) * 100;
        }
        out.push_str(&format!(":61:2603{day:02}RC1,00NTRFNONREF\r\n:86:RETURN AC04\r\n"));
        balance -= 100;
    }
    out.push_str(&format!(":62F:C2603{to:02}EUR{},{:02}\r\n-\r\n", balance / 100, balance % 100));
    out.into_bytes()
}

#[derive(Debug, Clone)]
enum RegisterOp {
    Processor {
        from: u32,
        to: u32,
    },
    Bank {
        from: u32,
        to: u32,
    },
    Swift {
        from: u32,
        to: u32,
    },
    /// The last file imported, again.
    Again,
    Undo {
        batch: usize,
    },
}

fn register_op() -> impl Strategy<Value = RegisterOp> {
    let days = |hi: u32| (1u32..=hi, 0u32..4).prop_map(move |(from, len)| (from, (from + len).min(hi)));
    prop_oneof![
        3 => days(6).prop_map(|(from, to)| RegisterOp::Processor { from, to }),
        3 => days(8).prop_map(|(from, to)| RegisterOp::Bank { from, to }),
        2 => days(8).prop_map(|(from, to)| RegisterOp::Swift { from, to }),
        1 => Just(RegisterOp::Again),
        1 => (0usize..8).prop_map(|batch| RegisterOp::Undo { batch }),
    ]
}

/// A gift of the world: a CloudPayments transaction or a bank transfer, with its amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Gift {
    Card(u32),
    Transfer(u32),
    /// The n-th of a day's identical wire gifts.
    Wire(u32, u8),
}

/// A register's bytes, and the gifts in it with their amounts.
type File = (Vec<u8>, Vec<(Gift, i64)>);

async fn run_registers(ops: Vec<RegisterOp>, postgres: bool) -> Result<(), TestCaseError> {
    let t = if postgres { TestDb::postgres().await } else { TestDb::new().await };
    let s = &t.store;
    // The model: each gift in the books, and the batch that brought it.
    let mut books: HashMap<Gift, (i64, i64)> = HashMap::new();
    let mut batches: Vec<i64> = Vec::new();
    let mut last: Option<File> = None;
    // Everything at the end, so every payout must find its gifts.
    let mut ops = ops;
    ops.extend([RegisterOp::Processor { from: 1, to: 6 }, RegisterOp::Bank { from: 1, to: 8 }]);
    for op in &ops {
        let file = match op {
            RegisterOp::Processor { from, to } => {
                let gifts = CP_DAYS
                    .filter(|d| (*from..=*to).contains(d))
                    .flat_map(cp_gifts)
                    .map(|(id, gross, _)| (Gift::Card(id), gross))
                    .collect();
                Some((cp_register(*from, *to).into_bytes(), gifts))
            }
            RegisterOp::Bank { from, to } => {
                let gifts = (*from..=*to).map(|d| (Gift::Transfer(d), 5000_00 + i64::from(d))).collect();
                Some((bank_statement(*from, *to), gifts))
            }
            RegisterOp::Swift { from, to } => {
                let gifts = (*from..=*to)
                    .flat_map(|d| {
                        [(Gift::Wire(d, 1), i64::from(100 + d) * 100), (Gift::Wire(d, 2), i64::from(100 + d) * 100)]
                    })
                    .collect();
                Some((swift_statement(*from, *to), gifts))
            }
            RegisterOp::Again => last.clone(),
            RegisterOp::Undo { batch } => {
                if let Some(&id) = batches.get(*batch) {
                    s.undo_import(id).await.map_err(|e| TestCaseError::fail(format!("undo {id}: {e}")))?;
                    books.retain(|_, (_, b)| *b != id);
                    batches.retain(|b| *b != id);
                }
                None
            }
        };
        if let Some((bytes, gifts)) = file {
            let register = almoner::import::parse(&bytes, None).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let done =
                s.import(&register, "file", "sha").await.map_err(|e| TestCaseError::fail(format!("{op:?}: {e}")))?;
            let fresh: Vec<&(Gift, i64)> = gifts.iter().filter(|(g, _)| !books.contains_key(g)).collect();
            prop_assert_eq!(done.new, fresh.len(), "{:?}: new gifts", op);
            prop_assert_eq!(done.batch.is_none(), done.adds_nothing(), "{:?}", op);
            if let Some(b) = done.batch {
                batches.push(b);
                for (g, amount) in fresh {
                    books.insert(*g, (*amount, b));
                }
            }
            last = Some((bytes, gifts));
        }
        let (n, total, _) = s.donation_totals().await.unwrap();
        prop_assert_eq!(n as usize, books.len(), "after {:?}: donations", op);
        prop_assert_eq!(total.minor(), books.values().map(|(a, _)| a).sum::<i64>(), "after {:?}: every gift once", op);
        let payouts: i64 = one(s, "SELECT COUNT(*) FROM donations WHERE payer LIKE '%КлаудПэйментс%'").await;
        prop_assert_eq!(payouts, 0, "a payout became a donation");
        let broken = s.verify().await.unwrap();
        prop_assert!(broken.is_empty(), "after {:?}: {:?}", op, broken);
    }
    // With every file in, every payout has found exactly its day's gifts.
    let settlements = s.settlements().await.unwrap();
    prop_assert!(!settlements.is_empty());
    for p in &settlements {
        let settles = p.settles.ok_or_else(|| TestCaseError::fail(format!("payout {} still waits", p.id)))?;
        prop_assert_eq!(settles.from, settles.to);
        prop_assert_eq!(settles.gross - settles.fees, p.amount);
    }
    t.store.close().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, max_shrink_iters: 100, ..ProptestConfig::default() })]
    #[test]
    fn registers_in_any_order_count_every_gift_once(ops in proptest::collection::vec(register_op(), 0..10)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run_registers(ops, false))?;
    }

    #[test]
    fn registers_in_any_order_count_every_gift_once_on_postgres(ops in proptest::collection::vec(register_op(), 0..10)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run_registers(ops, true))?;
    }
}
