//! Helpers for placing an unrestricted donation across fundraising cases.
//! Each takes what is available to place and the cases' still-needed amounts
//! and returns the amounts per case; none ever exceeds a case's need or the
//! total available.

use super::money::Money;

/// One fundraising case as the split helpers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub case_id: i64,
    pub still_needed: Money,
}

/// Fill one case's remaining need from what is available.
pub fn fill(available: Money, still_needed: Money) -> Money {
    available.min(still_needed).max(Money::ZERO)
}

/// Split `available` evenly across `needs`.
///
/// The rule: the cases are ordered by id; each gets an equal share of what is
/// left; a case that needs less than its share gets exactly its need and what
/// it leaves is shared again among the others; kopecks that do not divide
/// evenly go one each to the lowest-id cases still in need. The result sums
/// to `min(available, total need)`.
pub fn split_evenly(available: Money, needs: &[Need]) -> Vec<(i64, Money)> {
    let mut order: Vec<Need> = needs.to_vec();
    order.sort_by_key(|n| n.case_id);
    order.dedup_by_key(|n| n.case_id);
    order.retain(|n| n.still_needed.is_positive());
    let mut given = vec![0i64; order.len()];
    let mut left = available.minor().max(0);
    loop {
        let open: Vec<usize> = (0..order.len()).filter(|&i| given[i] < order[i].still_needed.minor()).collect();
        if open.is_empty() || left == 0 {
            break;
        }
        let n = open.len() as i64;
        let share = left / n;
        if share == 0 {
            // Fewer kopecks than cases: one each to the lowest ids.
            for &i in open.iter().take(left as usize) {
                given[i] += 1;
            }
            break;
        }
        // Cases needing no more than a share are filled exactly; if any were,
        // go round again so the others share what they left.
        let small: Vec<usize> =
            open.iter().copied().filter(|&i| order[i].still_needed.minor() - given[i] <= share).collect();
        if !small.is_empty() {
            for i in small {
                let need = order[i].still_needed.minor() - given[i];
                given[i] += need;
                left -= need;
            }
            continue;
        }
        for &i in &open {
            given[i] += share;
        }
        left -= share * n;
        // Fewer than n kopecks remain: one each to the lowest ids.
        for &i in open.iter().take(left as usize) {
            given[i] += 1;
        }
        break;
    }
    order.iter().zip(given).filter(|(_, g)| *g > 0).map(|(n, g)| (n.case_id, Money::from_minor(g))).collect()
}

/// Fill cases in the order given (the caller passes them oldest first: by the
/// date fundraising opened, then id) until `available` runs out.
pub fn oldest_first(available: Money, needs_oldest_first: &[Need]) -> Vec<(i64, Money)> {
    let mut left = available.max(Money::ZERO);
    let mut out = Vec::new();
    for n in needs_oldest_first {
        if left.is_zero() {
            break;
        }
        let give = fill(left, n.still_needed);
        if give.is_positive() {
            out.push((n.case_id, give));
            left -= give;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn need(id: i64, minor: i64) -> Need {
        Need { case_id: id, still_needed: Money::from_minor(minor) }
    }

    fn m(v: i64) -> Money {
        Money::from_minor(v)
    }

    #[test]
    fn even_split_places_remainder_kopecks_on_lowest_ids() {
        let got = split_evenly(m(100), &[need(3, 1000), need(1, 1000), need(2, 1000)]);
        assert_eq!(got, vec![(1, m(34)), (2, m(33)), (3, m(33))]);
    }

    #[test]
    fn even_split_refills_from_a_small_need() {
        let got = split_evenly(m(300), &[need(1, 10), need(2, 1000), need(3, 1000)]);
        assert_eq!(got, vec![(1, m(10)), (2, m(145)), (3, m(145))]);
    }

    #[test]
    fn even_split_with_fewer_kopecks_than_cases() {
        let got = split_evenly(m(2), &[need(5, 10), need(4, 10), need(6, 10)]);
        assert_eq!(got, vec![(4, m(1)), (5, m(1))]);
    }

    #[test]
    fn oldest_first_fills_in_order() {
        let got = oldest_first(m(150), &[need(9, 100), need(2, 100), need(5, 100)]);
        assert_eq!(got, vec![(9, m(100)), (2, m(50))]);
    }

    proptest! {
        #[test]
        fn helpers_never_overfill(
            available in 0i64..5_000_000,
            needs in proptest::collection::btree_map(1i64..40, 0i64..2_000_000, 0..12)
        ) {
            let needs: Vec<Need> = needs.into_iter().map(|(id, n)| need(id, n)).collect();
            let mut unique = needs.clone();
            unique.sort_by_key(|n| n.case_id);
            unique.dedup_by_key(|n| n.case_id);
            let total_need: i64 = unique.iter().map(|n| n.still_needed.minor()).sum();
            let even = split_evenly(m(available), &needs);
            let sum: i64 = even.iter().map(|(_, a)| a.minor()).sum();
            prop_assert_eq!(sum, available.min(total_need));
            for (id, amt) in &even {
                let n = unique.iter().find(|n| n.case_id == *id).unwrap();
                prop_assert!(amt.is_positive() && *amt <= n.still_needed);
            }
            // Deterministic: the same input in another order gives the same split.
            let mut shuffled = needs.clone();
            shuffled.reverse();
            prop_assert_eq!(split_evenly(m(available), &shuffled), even.clone());
            // Even: two open cases never differ by more than one kopeck unless one is full.
            for (a_id, a) in &even {
                for (b_id, b) in &even {
                    let na = unique.iter().find(|n| n.case_id == *a_id).unwrap().still_needed;
                    let nb = unique.iter().find(|n| n.case_id == *b_id).unwrap().still_needed;
                    if *a < na && *b < nb {
                        prop_assert!((a.minor() - b.minor()).abs() <= 1);
                    }
                }
            }
            let waterfall = oldest_first(m(available), &unique);
            let sum: i64 = waterfall.iter().map(|(_, a)| a.minor()).sum();
            prop_assert_eq!(sum, available.min(total_need));
        }
    }
}
