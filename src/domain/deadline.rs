//! Reminders: how many days a case may stay in a stage before it is overdue.
//! The foundation sets them (`deadline.STAGE = DAYS`); documents within 14
//! days and payment within 5 days of full funding hold until it does.

use chrono::{DateTime, Utc};

use super::Stage;

/// The limits in force, per stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadlines(Vec<(Stage, i64)>);

/// Limits that hold until the foundation sets its own.
pub const DEFAULTS: [(Stage, i64); 2] = [(Stage::Documents, 14), (Stage::Payment, 5)];

impl Default for Deadlines {
    fn default() -> Deadlines {
        Deadlines(DEFAULTS.to_vec())
    }
}

/// A setting's value: a number of days, or `none` (also `0`) for no limit.
pub fn parse_days(value: &str) -> Result<Option<i64>, String> {
    match value.trim() {
        "none" | "0" => Ok(None),
        v => match v.parse::<i64>() {
            Ok(d) if (1..=3650).contains(&d) => Ok(Some(d)),
            _ => Err(format!("{v:?} is not a number of days (1 to 3650, or none)")),
        },
    }
}

impl Deadlines {
    /// The defaults with the foundation's `deadline.STAGE` settings over them.
    pub fn from_settings(settings: &[(String, String)]) -> Deadlines {
        let mut d = Deadlines::default();
        for (key, value) in settings {
            let Some(stage) = key.strip_prefix("deadline.").and_then(|s| s.parse::<Stage>().ok()) else { continue };
            let Ok(days) = parse_days(value) else { continue };
            d.0.retain(|(s, _)| *s != stage);
            if let Some(days) = days {
                d.0.push((stage, days));
            }
        }
        d
    }

    pub fn days(&self, stage: Stage) -> Option<i64> {
        self.0.iter().find(|(s, _)| *s == stage).map(|(_, d)| *d)
    }

    /// Days past the limit of a case in `stage` since `since`, if it is overdue.
    pub fn overdue_by(&self, stage: Stage, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<i64> {
        let limit = self.days(stage)?;
        let over = (now - since).num_days() - limit;
        (over > 0).then_some(over)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn overdue_only_past_the_limit_and_settings_override_defaults() {
        let now = Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap();
        let days_ago = |d: i64| now - chrono::Duration::days(d);
        let d = Deadlines::default();
        assert_eq!(d.overdue_by(Stage::Documents, days_ago(14), now), None, "on the limit is not late");
        assert_eq!(d.overdue_by(Stage::Documents, days_ago(15), now), Some(1));
        assert_eq!(d.overdue_by(Stage::Payment, days_ago(9), now), Some(4));
        assert_eq!(d.overdue_by(Stage::Fundraising, days_ago(400), now), None, "no limit by default");
        let set = |k: &str, v: &str| (k.to_string(), v.to_string());
        let d = Deadlines::from_settings(&[
            set("deadline.fundraising", "90"),
            set("deadline.payment", "none"),
            set("deadline.documents", "oops"),
            set("designated_policy", "hold"),
        ]);
        assert_eq!(d.overdue_by(Stage::Fundraising, days_ago(100), now), Some(10));
        assert_eq!(d.overdue_by(Stage::Payment, days_ago(100), now), None);
        assert_eq!(d.days(Stage::Documents), Some(14), "a bad value leaves the default");
        assert!(parse_days("-3").is_err() && parse_days("x").is_err());
        assert_eq!(parse_days(" 7 "), Ok(Some(7)));
    }
}
