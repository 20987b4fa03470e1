-- Donors are recognised across registers by INN, CloudPayments subscription,
-- e-mail, phone, and (for donors with none of these) name.
ALTER TABLE donors ADD COLUMN phone TEXT;
CREATE INDEX donors_phone ON donors (phone) WHERE phone IS NOT NULL;

-- A recurring donation's subscription belongs to one donor.
CREATE TABLE donor_subscriptions (
    subscription TEXT PRIMARY KEY,
    donor_id     INTEGER NOT NULL REFERENCES donors (id)
);

-- Which subscription (if any) a donation came through: recurring or one-off.
ALTER TABLE donations ADD COLUMN subscription TEXT;
