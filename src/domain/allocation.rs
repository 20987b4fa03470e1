//! The allocation rules (DESIGN §2, invariants 1–4): pure checks the store
//! runs on figures it read inside its write transaction, and the split screen
//! runs as the person types.

use super::model::{DesignatedPolicy, Designation};
use super::money::{Currency, Money};
use super::stage::Stage;

/// A donation's figures as of now.
#[derive(Debug, Clone)]
pub struct DonationFacts {
    pub id: i64,
    pub amount: Money,
    pub allocated: Money,
    pub currency: Currency,
    pub designation: Designation,
    /// Beneficiary of the designated case, when designated to a case.
    pub designated_beneficiary: Option<i64>,
    pub released: bool,
}

impl DonationFacts {
    pub fn unallocated(&self) -> Money {
        self.amount.minus_or_zero(self.allocated)
    }
}

/// A case's figures as of now.
#[derive(Debug, Clone)]
pub struct CaseFacts {
    pub id: i64,
    pub beneficiary_id: i64,
    pub stage: Stage,
    pub target: Money,
    pub collected: Money,
    pub currency: Currency,
}

impl CaseFacts {
    pub fn still_needed(&self) -> Money {
        self.target.minus_or_zero(self.collected)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationRefusal {
    #[error("nothing to allocate: give at least one case and a positive amount")]
    Empty,
    #[error("case {case}: amount must be more than 0")]
    NotPositive { case: i64 },
    #[error("case {case} appears twice in one allocation: give each case once")]
    Duplicate { case: i64 },
    #[error("case {case} is in {stage}: money goes only to cases in fundraising")]
    NotFundraising { case: i64, stage: Stage },
    #[error("case {case} needs only {still_needed} more (target {target}, collected {collected}); {asked} is too much")]
    OverTarget { case: i64, asked: Money, still_needed: Money, target: Money, collected: Money },
    #[error("donation {donation} has {unallocated} unallocated; the allocation totals {asked}")]
    OverDonation { donation: i64, asked: Money, unallocated: Money },
    #[error("donation {donation} is in {donation_currency} but case {case} is in {case_currency}")]
    CurrencyMismatch { donation: i64, case: i64, donation_currency: Currency, case_currency: Currency },
    #[error(
        "donation {donation} is designated ({designation}) and the policy is hold: it can go only to that beneficiary's cases, \
         not case {case}"
    )]
    HeldForBeneficiary { donation: i64, designation: Designation, case: i64 },
    #[error(
        "donation {donation} is designated ({designation}); placing it on case {case} is a redistribution and needs a recorded reason (--reason TEXT, or reason=\"…\" at :)"
    )]
    RedistributionNeedsReason { donation: i64, designation: Designation, case: i64 },
}

/// Checks one allocation of `donation` across `lines` (case figures and the
/// amount for each). On success returns the ids of cases this allocation
/// completes: they move to payment in the same transaction.
pub fn check_allocation(
    donation: &DonationFacts,
    lines: &[(CaseFacts, Money)],
    policy: DesignatedPolicy,
    reason_given: bool,
) -> Result<Vec<i64>, AllocationRefusal> {
    if lines.is_empty() {
        return Err(AllocationRefusal::Empty);
    }
    let mut total = Money::ZERO;
    let mut completed = Vec::new();
    for (i, (case, amount)) in lines.iter().enumerate() {
        if lines[..i].iter().any(|(c, _)| c.id == case.id) {
            return Err(AllocationRefusal::Duplicate { case: case.id });
        }
        if !amount.is_positive() {
            return Err(AllocationRefusal::NotPositive { case: case.id });
        }
        if case.stage != Stage::Fundraising {
            return Err(AllocationRefusal::NotFundraising { case: case.id, stage: case.stage });
        }
        if case.currency != donation.currency {
            return Err(AllocationRefusal::CurrencyMismatch {
                donation: donation.id,
                case: case.id,
                donation_currency: donation.currency,
                case_currency: case.currency,
            });
        }
        if *amount > case.still_needed() {
            return Err(AllocationRefusal::OverTarget {
                case: case.id,
                asked: *amount,
                still_needed: case.still_needed(),
                target: case.target,
                collected: case.collected,
            });
        }
        if let Some(owner) = designated_owner(donation)
            && owner != case.beneficiary_id
            && !donation.released
        {
            match policy {
                DesignatedPolicy::Hold => {
                    return Err(AllocationRefusal::HeldForBeneficiary {
                        donation: donation.id,
                        designation: donation.designation,
                        case: case.id,
                    });
                }
                DesignatedPolicy::Redistribute if !reason_given => {
                    return Err(AllocationRefusal::RedistributionNeedsReason {
                        donation: donation.id,
                        designation: donation.designation,
                        case: case.id,
                    });
                }
                DesignatedPolicy::Redistribute => {}
            }
        }
        total = total.checked_add(*amount).unwrap_or(Money::from_minor(i64::MAX));
        if *amount == case.still_needed() {
            completed.push(case.id);
        }
    }
    if total > donation.unallocated() {
        return Err(AllocationRefusal::OverDonation {
            donation: donation.id,
            asked: total,
            unallocated: donation.unallocated(),
        });
    }
    Ok(completed)
}

/// The beneficiary a designated donation belongs to, if any.
pub fn designated_owner(d: &DonationFacts) -> Option<i64> {
    match d.designation {
        Designation::Unrestricted => None,
        Designation::Beneficiary(b) => Some(b),
        Designation::Case(_) => d.designated_beneficiary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: i64) -> Money {
        Money::from_minor(v)
    }

    fn donation(amount: i64, allocated: i64, designation: Designation) -> DonationFacts {
        DonationFacts {
            id: 1,
            amount: m(amount),
            allocated: m(allocated),
            currency: Currency::RUB,
            designation,
            designated_beneficiary: None,
            released: false,
        }
    }

    fn case(id: i64, beneficiary: i64, target: i64, collected: i64) -> CaseFacts {
        CaseFacts {
            id,
            beneficiary_id: beneficiary,
            stage: Stage::Fundraising,
            target: m(target),
            collected: m(collected),
            currency: Currency::RUB,
        }
    }

    #[test]
    fn completing_allocation_is_reported() {
        let d = donation(1000, 0, Designation::Unrestricted);
        let got = check_allocation(
            &d,
            &[(case(7, 1, 500, 200), m(300)), (case(8, 2, 900, 0), m(100))],
            DesignatedPolicy::Hold,
            false,
        );
        assert_eq!(got, Ok(vec![7]));
    }

    #[test]
    fn refusals_name_what_and_where() {
        let d = donation(1000, 900, Designation::Unrestricted);
        let e = check_allocation(&d, &[(case(7, 1, 500, 0), m(200))], DesignatedPolicy::Hold, false).unwrap_err();
        assert!(e.to_string().contains("donation 1 has 1.00 unallocated"), "{e}");
        let d = donation(1000, 0, Designation::Unrestricted);
        let e = check_allocation(&d, &[(case(7, 1, 500, 400), m(200))], DesignatedPolicy::Hold, false).unwrap_err();
        assert!(e.to_string().contains("case 7 needs only 1.00"), "{e}");
        let mut c = case(7, 1, 500, 0);
        c.stage = Stage::Documents;
        let e = check_allocation(&d, &[(c, m(1))], DesignatedPolicy::Hold, false).unwrap_err();
        assert_eq!(e, AllocationRefusal::NotFundraising { case: 7, stage: Stage::Documents });
        let e = check_allocation(&d, &[(case(7, 1, 500, 0), m(0))], DesignatedPolicy::Hold, false).unwrap_err();
        assert_eq!(e, AllocationRefusal::NotPositive { case: 7 });
        let e = check_allocation(
            &d,
            &[(case(7, 1, 500, 0), m(1)), (case(7, 1, 500, 0), m(1))],
            DesignatedPolicy::Hold,
            false,
        )
        .unwrap_err();
        assert_eq!(e, AllocationRefusal::Duplicate { case: 7 });
    }

    #[test]
    fn designated_money_follows_the_policy() {
        let d = donation(1000, 0, Designation::Beneficiary(5));
        assert!(check_allocation(&d, &[(case(7, 5, 500, 0), m(100))], DesignatedPolicy::Hold, false).is_ok());
        assert!(matches!(
            check_allocation(&d, &[(case(8, 6, 500, 0), m(100))], DesignatedPolicy::Hold, true),
            Err(AllocationRefusal::HeldForBeneficiary { .. })
        ));
        assert!(matches!(
            check_allocation(&d, &[(case(8, 6, 500, 0), m(100))], DesignatedPolicy::Redistribute, false),
            Err(AllocationRefusal::RedistributionNeedsReason { .. })
        ));
        assert!(check_allocation(&d, &[(case(8, 6, 500, 0), m(100))], DesignatedPolicy::Redistribute, true).is_ok());
        let released = DonationFacts { released: true, ..d };
        assert!(check_allocation(&released, &[(case(8, 6, 500, 0), m(100))], DesignatedPolicy::Hold, false).is_ok());
    }
}
