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
                    s.record_payment(c, "1", date("2026-05-01"), target).await
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
