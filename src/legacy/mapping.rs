//! The mapping file: which export file holds each entity, which column holds
//! each field, and how the old CRM's words (stages, programs, channels,
//! donor kinds) translate. Checked whole before any file is read.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use encoding_rs::Encoding;
use serde::Deserialize;

use crate::domain::{Channel, DonorKind, Program, Stage};
use crate::import::table;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MappingError {
    pub message: String,
}

impl MappingError {
    pub fn new(message: impl Into<String>) -> MappingError {
        MappingError { message: message.into() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The old system's name: ids are remembered per source, so a second
    /// run of the same export adds nothing twice.
    #[serde(default = "legacy")]
    pub source: String,
    /// e.g. "windows-1251"; by default UTF-8 when the bytes are, else windows-1251.
    pub encoding: Option<String>,
    /// ";", ",", "\t" or "|"; by default worked out from the first lines.
    pub delimiter: Option<String>,
    /// "," or "."; by default whichever appears last in each amount.
    pub decimal: Option<String>,
    /// chrono format of the dates, e.g. "%d.%m.%Y"; common shapes are tried anyway.
    pub date_format: Option<String>,
    pub beneficiaries: Option<BeneficiaryMap>,
    pub cases: Option<CaseMap>,
    pub donors: Option<DonorMap>,
    pub donations: Option<DonationMap>,
    pub allocations: Option<AllocationMap>,
}

fn legacy() -> String {
    "legacy".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeneficiaryMap {
    pub file: String,
    pub id: String,
    pub name: String,
    pub birth_date: Option<String>,
    pub city: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseMap {
    pub file: String,
    pub id: String,
    /// The column holding the child's old id.
    pub beneficiary: String,
    pub program: String,
    pub clinic: String,
    pub stage: String,
    pub target: String,
    pub diagnosis: Option<String>,
    /// The old CRM's own collected figure: checked against the allocations, never written.
    pub collected: Option<String>,
    pub opened: Option<String>,
    pub currency: Option<String>,
    pub responsible: Option<String>,
    /// Stage → column with the date the case entered it.
    #[serde(default)]
    pub stage_dates: BTreeMap<String, String>,
    /// The old CRM's stage words → almoner's stages (without it, the words must be almoner's).
    #[serde(default)]
    pub stages: BTreeMap<String, String>,
    #[serde(default)]
    pub programs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DonorMap {
    pub file: String,
    pub id: String,
    pub name: String,
    pub kind: Option<String>,
    pub inn: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub kinds: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DonationMap {
    pub file: String,
    pub id: String,
    pub amount: String,
    pub date: String,
    /// The column holding the donor's old id.
    pub donor: Option<String>,
    pub channel: Option<String>,
    pub purpose: Option<String>,
    /// The column holding the old id of the case a gift was designated to.
    pub case: Option<String>,
    pub currency: Option<String>,
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
    /// The channel of rows without one (by default "bank").
    pub default_channel: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationMap {
    pub file: String,
    pub id: Option<String>,
    pub donation: String,
    pub case: String,
    pub amount: String,
    pub date: Option<String>,
}

/// Pipeline order, for sorting a case's history.
pub fn order(s: Stage) -> usize {
    Stage::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

pub fn stage(word: &str) -> Result<Stage, MappingError> {
    word.trim().parse().map_err(|e: crate::domain::stage::UnknownWord| MappingError::new(e.to_string()))
}

/// The old word through `map`, or the word itself when the map is empty.
fn translate<T: std::str::FromStr>(
    map: &BTreeMap<String, String>,
    raw: &str,
    what: &str,
    section: &str,
) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let raw = raw.trim();
    if map.is_empty() {
        return raw.parse().map_err(|e: T::Err| e.to_string());
    }
    let found = map.iter().find(|(k, _)| k.trim().to_lowercase() == raw.to_lowercase()).map(|(_, v)| v);
    match found {
        Some(v) => v.parse().map_err(|e: T::Err| e.to_string()),
        None => Err(format!("{what} {raw:?} is not in [{section}] of the mapping")),
    }
}

impl CaseMap {
    pub fn stage(&self, raw: &str) -> Result<Stage, String> {
        translate(&self.stages, raw, "stage", "cases.stages")
    }
    pub fn program(&self, raw: &str) -> Result<Program, String> {
        translate(&self.programs, raw, "program", "cases.programs")
    }
}

impl DonorMap {
    pub fn kind(&self, raw: &str) -> Result<DonorKind, String> {
        translate(&self.kinds, raw, "donor kind", "donors.kinds")
    }
}

impl DonationMap {
    pub fn channel(&self, raw: Option<&str>) -> Result<Channel, String> {
        match raw {
            Some(raw) => translate(&self.channels, raw, "channel", "donations.channels"),
            None => self
                .default_channel
                .as_deref()
                .unwrap_or("bank")
                .parse()
                .map_err(|e: crate::domain::stage::UnknownWord| e.to_string()),
        }
    }
}

impl Mapping {
    /// Reads and checks a mapping; errors name the file and, where they can, the line.
    pub fn parse(text: &str, file: &str) -> Result<Mapping, MappingError> {
        let err = |message: String| MappingError::new(format!("{file}: {message}"));
        let m: Mapping = toml::from_str(text).map_err(|e| err(crate::text::toml_error(text, &e)))?;
        if m.source.trim().is_empty() {
            return Err(err("`source` is empty".into()));
        }
        if let Some(enc) = &m.encoding
            && Encoding::for_label(enc.as_bytes()).is_none()
        {
            return Err(err(format!("encoding {enc:?} is not known (e.g. \"utf-8\", \"windows-1251\", \"cp866\")")));
        }
        if matches!(m.decimal.as_deref(), Some(d) if d != "," && d != ".") {
            return Err(err("`decimal` is \",\" or \".\"".into()));
        }
        if matches!(m.delimiter.as_deref(), Some(d) if d.len() != 1 && d != "\\t") {
            return Err(err("`delimiter` is one character: \";\", \",\", \"\\t\" or \"|\"".into()));
        }
        if m.beneficiaries.is_none()
            && m.cases.is_none()
            && m.donors.is_none()
            && m.donations.is_none()
            && m.allocations.is_none()
        {
            return Err(err(
                "it maps nothing: give at least one of [beneficiaries], [cases], [donors], [donations], [allocations]"
                    .into(),
            ));
        }
        let words = |what: &str, result: Result<(), String>| result.map_err(|e| err(format!("{what}: {e}")));
        if let Some(c) = &m.cases {
            words(
                "[cases.stages]",
                c.stages.values().try_for_each(|v| v.parse::<Stage>().map(drop).map_err(|e| e.to_string())),
            )?;
            words(
                "[cases.programs]",
                c.programs.values().try_for_each(|v| v.parse::<Program>().map(drop).map_err(|e| e.to_string())),
            )?;
            words(
                "[cases.stage_dates]",
                c.stage_dates.keys().try_for_each(|k| stage(k).map(drop).map_err(|e| e.message)),
            )?;
        }
        if let Some(d) = &m.donors {
            words(
                "[donors.kinds]",
                d.kinds.values().try_for_each(|v| v.parse::<DonorKind>().map(drop).map_err(|e| e.to_string())),
            )?;
        }
        if let Some(d) = &m.donations {
            words(
                "[donations.channels]",
                d.channels.values().try_for_each(|v| v.parse::<Channel>().map(drop).map_err(|e| e.to_string())),
            )?;
            words("default_channel", d.channel(None).map(drop))?;
        }
        Ok(m)
    }

    pub fn encoding(&self) -> Option<&'static Encoding> {
        self.encoding.as_deref().and_then(|e| Encoding::for_label(e.as_bytes()))
    }

    pub fn delimiter(&self) -> Option<u8> {
        self.delimiter.as_deref().map(|d| if d == "\\t" { b'\t' } else { d.as_bytes()[0] })
    }

    /// An amount in kopecks; more than two decimals is an error, not rounded.
    pub fn amount(&self, raw: &str) -> Result<i64, String> {
        let decimal = self.decimal.as_deref().and_then(|d| d.chars().next());
        match table::signed_amount(raw, decimal)? {
            (_, true) => Err(format!("amount {raw:?} has more than two decimals")),
            (v, false) => Ok(v),
        }
    }

    pub fn date(&self, raw: &str) -> Option<NaiveDate> {
        table::date(raw, self.date_format.as_deref())
    }
}
