//! Legacy migration, the reading half: CSV (or XLSX) exports of a home-made
//! CRM — children, cases, donors, donations, allocations — read through a
//! TOML mapping into checked rows. Every row that cannot come across is kept
//! with its file, line and reason; the figures the export itself holds
//! (money per case, per donor, per month) are summed here, from the raw
//! cells, so the report can hold them against what the database ends up with.

pub mod mapping;
pub mod report;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;
use sha2::Digest;

use crate::domain::{Channel, DonorKind, Program, Stage};
use crate::import::table::{self, Row};
pub use mapping::{Mapping, MappingError};

/// A row that did not come across, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rejected {
    pub entity: &'static str,
    pub file: String,
    pub line: usize,
    /// The row's id in the old CRM ("" when it has none).
    pub old_id: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Child {
    pub line: usize,
    pub old: String,
    pub name: String,
    pub born: Option<NaiveDate>,
    pub city: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OldCase {
    pub line: usize,
    pub old: String,
    pub child: String,
    pub program: Program,
    pub clinic: String,
    pub diagnosis: String,
    pub stage: Stage,
    pub target: i64,
    pub currency: String,
    pub opened: Option<NaiveDate>,
    /// When the case entered each stage the export dates, in pipeline order.
    pub stage_dates: Vec<(Stage, NaiveDate)>,
    pub responsible: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OldDonor {
    pub line: usize,
    pub old: String,
    pub name: String,
    pub kind: Option<DonorKind>,
    pub inn: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OldDonation {
    pub line: usize,
    pub old: String,
    pub donor: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub date: NaiveDate,
    pub channel: Channel,
    pub purpose: String,
    pub case: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OldAllocation {
    pub line: usize,
    /// The old id, or a key made of the row's own fields when the export has none.
    pub old: String,
    pub donation: String,
    pub case: String,
    pub amount: i64,
    pub date: Option<NaiveDate>,
}

/// The money as the export states it, summed from every row whose amount reads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OldFigures {
    /// Allocation rows per old case id.
    pub allocated_per_case: BTreeMap<String, i64>,
    /// The old CRM's own "collected" figure per case, where the mapping names it.
    pub stated_per_case: BTreeMap<String, i64>,
    /// Donation rows per old donor id.
    pub given_per_donor: BTreeMap<String, i64>,
    /// Donation rows per month ("2024-03").
    pub per_month: BTreeMap<String, i64>,
    pub donations_total: i64,
    pub allocations_total: i64,
}

/// Rows in the export, per entity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rows {
    pub beneficiaries: usize,
    pub cases: usize,
    pub donors: usize,
    pub donations: usize,
    pub allocations: usize,
}

/// The export, read and checked.
#[derive(Debug, Clone, Default)]
pub struct Export {
    pub source: String,
    pub children: Vec<Child>,
    pub cases: Vec<OldCase>,
    pub donors: Vec<OldDonor>,
    pub donations: Vec<OldDonation>,
    pub allocations: Vec<OldAllocation>,
    pub rejected: Vec<Rejected>,
    pub rows: Rows,
    pub old: OldFigures,
    /// "children.csv sha256 …" per file read, for the audit log.
    pub files: Vec<(String, String)>,
    /// The file each entity came from: children, cases, donors, donations, allocations.
    pub file_names: [String; 5],
}

/// One file's rows with their columns found by header name.
struct Sheet {
    entity: &'static str,
    file: String,
    header: HashMap<String, usize>,
    rows: Vec<Row>,
}

impl Sheet {
    fn open(dir: &Path, entity: &'static str, file: &str, m: &Mapping) -> Result<(Sheet, String), MappingError> {
        let path = dir.join(file);
        let bytes =
            std::fs::read(&path).map_err(|e| MappingError::new(format!("{}: cannot be read: {e}", path.display())))?;
        let sha = hex(&sha2::Sha256::digest(&bytes));
        let t = table::read(&bytes, m.encoding(), m.delimiter())
            .map_err(|e| MappingError::new(format!("{}: {e}", path.display())))?;
        let mut rows = t.rows.into_iter().filter(|r| r.cells.iter().any(|c| !c.trim().is_empty()));
        let head = rows.next().ok_or_else(|| MappingError::new(format!("{}: the file is empty", path.display())))?;
        let header = head.cells.iter().enumerate().map(|(i, c)| (key(c), i)).collect();
        Ok((Sheet { entity, file: file.to_string(), header, rows: rows.collect() }, sha))
    }

    /// The column's position; a column the mapping names but the file lacks stops the migration.
    fn column(&self, name: &str) -> Result<usize, MappingError> {
        self.header.get(&key(name)).copied().ok_or_else(|| {
            let mut have: Vec<&String> = self.header.keys().collect();
            have.sort();
            MappingError::new(format!("{}: has no column {name:?} (it has {have:?})", self.file))
        })
    }

    fn optional(&self, name: &Option<String>) -> Result<Option<usize>, MappingError> {
        name.as_deref().map(|n| self.column(n)).transpose()
    }

    fn reject(&self, row: &Row, old: &str, reason: impl Into<String>) -> Rejected {
        Rejected {
            entity: self.entity,
            file: self.file.clone(),
            line: row.line,
            old_id: old.to_string(),
            reason: reason.into(),
        }
    }
}

fn key(header: &str) -> String {
    header.trim().trim_start_matches('\u{feff}').to_lowercase()
}

fn cell(row: &Row, at: Option<usize>) -> Option<&str> {
    at.and_then(|i| row.cells.get(i)).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// Keeps the first row of each old id; later ones are rejected.
struct Seen(HashMap<String, usize>);

impl Seen {
    fn first(&mut self, sheet: &Sheet, row: &Row, old: &str) -> Result<(), Rejected> {
        match self.0.get(old) {
            Some(line) => Err(sheet.reject(row, old, format!("id {old} appears twice (first on line {line})"))),
            None => {
                self.0.insert(old.to_string(), row.line);
                Ok(())
            }
        }
    }
}

/// Reads the export in `dir` through `mapping`. A mapping that does not fit
/// the files (a missing file or column) is an error; bad rows are rejected.
pub fn read(dir: &Path, mapping: &Mapping) -> Result<Export, MappingError> {
    let mut ex = Export { source: mapping.source.clone(), ..Export::default() };
    if let Some(b) = &mapping.beneficiaries {
        let (sheet, sha) = Sheet::open(dir, "beneficiary", &b.file, mapping)?;
        ex.files.push((b.file.clone(), sha));
        ex.file_names[0] = b.file.clone();
        let (id, name) = (sheet.column(&b.id)?, sheet.column(&b.name)?);
        let (born, city) = (sheet.optional(&b.birth_date)?, sheet.optional(&b.city)?);
        let mut seen = Seen(HashMap::new());
        ex.rows.beneficiaries = sheet.rows.len();
        for row in &sheet.rows {
            let old = cell(row, Some(id)).unwrap_or("").to_string();
            let child = (|| {
                if old.is_empty() {
                    return Err(sheet.reject(row, &old, "the id is empty"));
                }
                seen.first(&sheet, row, &old)?;
                let name = cell(row, Some(name)).ok_or_else(|| sheet.reject(row, &old, "the name is empty"))?;
                let born = match cell(row, born) {
                    None => None,
                    Some(raw) => Some(
                        mapping
                            .date(raw)
                            .ok_or_else(|| sheet.reject(row, &old, format!("birth date {raw:?} is not a date")))?,
                    ),
                };
                Ok(Child {
                    line: row.line,
                    old: old.clone(),
                    name: name.to_string(),
                    born,
                    city: cell(row, city).map(str::to_string),
                })
            })();
            match child {
                Ok(c) => ex.children.push(c),
                Err(r) => ex.rejected.push(r),
            }
        }
    }
    if let Some(c) = &mapping.cases {
        let (sheet, sha) = Sheet::open(dir, "case", &c.file, mapping)?;
        ex.files.push((c.file.clone(), sha));
        ex.file_names[1] = c.file.clone();
        let cols = CaseCols {
            id: sheet.column(&c.id)?,
            child: sheet.column(&c.beneficiary)?,
            program: sheet.column(&c.program)?,
            clinic: sheet.column(&c.clinic)?,
            stage: sheet.column(&c.stage)?,
            target: sheet.column(&c.target)?,
            diagnosis: sheet.optional(&c.diagnosis)?,
            collected: sheet.optional(&c.collected)?,
            opened: sheet.optional(&c.opened)?,
            currency: sheet.optional(&c.currency)?,
            responsible: sheet.optional(&c.responsible)?,
            dates: c
                .stage_dates
                .iter()
                .map(|(stage, col)| Ok((mapping::stage(stage)?, sheet.column(col)?)))
                .collect::<Result<Vec<_>, MappingError>>()?,
        };
        let mut seen = Seen(HashMap::new());
        ex.rows.cases = sheet.rows.len();
        for row in &sheet.rows {
            let old = cell(row, Some(cols.id)).unwrap_or("").to_string();
            if let Some(raw) = cell(row, cols.collected)
                && let Ok(v) = mapping.amount(raw)
            {
                *ex.old.stated_per_case.entry(old.clone()).or_default() += v;
            }
            match read_case(&sheet, row, &old, &cols, mapping, &mut seen) {
                Ok(case) => ex.cases.push(case),
                Err(r) => ex.rejected.push(r),
            }
        }
    }
    if let Some(d) = &mapping.donors {
        let (sheet, sha) = Sheet::open(dir, "donor", &d.file, mapping)?;
        ex.files.push((d.file.clone(), sha));
        ex.file_names[2] = d.file.clone();
        let (id, name) = (sheet.column(&d.id)?, sheet.column(&d.name)?);
        let (kind, inn) = (sheet.optional(&d.kind)?, sheet.optional(&d.inn)?);
        let (email, phone) = (sheet.optional(&d.email)?, sheet.optional(&d.phone)?);
        let mut seen = Seen(HashMap::new());
        ex.rows.donors = sheet.rows.len();
        for row in &sheet.rows {
            let old = cell(row, Some(id)).unwrap_or("").to_string();
            let donor = (|| {
                if old.is_empty() {
                    return Err(sheet.reject(row, &old, "the id is empty"));
                }
                seen.first(&sheet, row, &old)?;
                let name = cell(row, Some(name)).ok_or_else(|| sheet.reject(row, &old, "the name is empty"))?;
                let kind = match cell(row, kind) {
                    None => None,
                    Some(raw) => Some(d.kind(raw).map_err(|e| sheet.reject(row, &old, e))?),
                };
                let text = |at| cell(row, at).map(str::to_string);
                Ok(OldDonor {
                    line: row.line,
                    old: old.clone(),
                    name: name.to_string(),
                    kind,
                    inn: text(inn),
                    email: text(email),
                    phone: text(phone),
                })
            })();
            match donor {
                Ok(d) => ex.donors.push(d),
                Err(r) => ex.rejected.push(r),
            }
        }
    }
    if let Some(d) = &mapping.donations {
        let (sheet, sha) = Sheet::open(dir, "donation", &d.file, mapping)?;
        ex.files.push((d.file.clone(), sha));
        ex.file_names[3] = d.file.clone();
        read_donations(&mut ex, &sheet, d, mapping)?;
    }
    if let Some(a) = &mapping.allocations {
        let (sheet, sha) = Sheet::open(dir, "allocation", &a.file, mapping)?;
        ex.files.push((a.file.clone(), sha));
        ex.file_names[4] = a.file.clone();
        read_allocations(&mut ex, &sheet, a, mapping)?;
    }
    Ok(ex)
}

struct CaseCols {
    id: usize,
    child: usize,
    program: usize,
    clinic: usize,
    stage: usize,
    target: usize,
    diagnosis: Option<usize>,
    collected: Option<usize>,
    opened: Option<usize>,
    currency: Option<usize>,
    responsible: Option<usize>,
    dates: Vec<(Stage, usize)>,
}

fn read_case(
    sheet: &Sheet,
    row: &Row,
    old: &str,
    cols: &CaseCols,
    m: &Mapping,
    seen: &mut Seen,
) -> Result<OldCase, Rejected> {
    let c = m.cases.as_ref().expect("read only with a [cases] section");
    let bad = |reason: String| sheet.reject(row, old, reason);
    if old.is_empty() {
        return Err(bad("the id is empty".into()));
    }
    seen.first(sheet, row, old)?;
    let need = |at: usize, what: &str| cell(row, Some(at)).ok_or_else(|| bad(format!("the {what} is empty")));
    let child = need(cols.child, "child")?.to_string();
    let program = c.program(need(cols.program, "program")?).map_err(&bad)?;
    let stage = c.stage(need(cols.stage, "stage")?).map_err(&bad)?;
    let clinic = need(cols.clinic, "clinic")?.to_string();
    let raw = need(cols.target, "target")?;
    let target = m.amount(raw).map_err(|e| bad(format!("target: {e}")))?;
    let date = |at: Option<usize>, what: &str| -> Result<Option<NaiveDate>, Rejected> {
        match cell(row, at) {
            None => Ok(None),
            Some(raw) => m.date(raw).map(Some).ok_or_else(|| bad(format!("{what} {raw:?} is not a date"))),
        }
    };
    let opened = date(cols.opened, "opening date")?;
    let mut stage_dates = Vec::new();
    for (s, at) in &cols.dates {
        if let Some(d) = date(Some(*at), &format!("{s} date"))? {
            stage_dates.push((*s, d));
        }
    }
    stage_dates.sort_by_key(|(s, d)| (*d, mapping::order(*s)));
    let currency = cell(row, cols.currency).unwrap_or("RUB").to_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad(format!("currency {currency:?} is not a three-letter code")));
    }
    Ok(OldCase {
        line: row.line,
        old: old.to_string(),
        child,
        program,
        clinic,
        diagnosis: cell(row, cols.diagnosis).unwrap_or("").to_string(),
        stage,
        target,
        currency,
        opened,
        stage_dates,
        responsible: cell(row, cols.responsible).map(str::to_string),
    })
}

fn read_donations(ex: &mut Export, sheet: &Sheet, d: &mapping::DonationMap, m: &Mapping) -> Result<(), MappingError> {
    let (id, amount, date) = (sheet.column(&d.id)?, sheet.column(&d.amount)?, sheet.column(&d.date)?);
    let (donor, channel) = (sheet.optional(&d.donor)?, sheet.optional(&d.channel)?);
    let (purpose, case, currency) =
        (sheet.optional(&d.purpose)?, sheet.optional(&d.case)?, sheet.optional(&d.currency)?);
    let mut seen = Seen(HashMap::new());
    ex.rows.donations = sheet.rows.len();
    for row in &sheet.rows {
        let old = cell(row, Some(id)).unwrap_or("").to_string();
        let bad = |reason: String| sheet.reject(row, &old, reason);
        // The export's own figures count every row whose amount reads, whatever else is wrong with it.
        let value = cell(row, Some(amount)).map(|raw| m.amount(raw));
        if let Some(Ok(v)) = value {
            ex.old.donations_total += v;
            if let Some(who) = cell(row, donor) {
                *ex.old.given_per_donor.entry(who.to_string()).or_default() += v;
            }
            if let Some(day) = cell(row, Some(date)).and_then(|raw| m.date(raw)) {
                *ex.old.per_month.entry(day.format("%Y-%m").to_string()).or_default() += v;
            }
        }
        let donation = (|| {
            if old.is_empty() {
                return Err(bad("the id is empty".into()));
            }
            seen.first(sheet, row, &old)?;
            let amount = match value {
                None => return Err(bad("the amount is empty".into())),
                Some(Err(e)) => return Err(bad(e)),
                Some(Ok(v)) if v <= 0 => return Err(bad(format!("the amount must be above zero, not {}", money(v)))),
                Some(Ok(v)) => v,
            };
            let raw = cell(row, Some(date)).ok_or_else(|| bad("the date is empty".into()))?;
            let date = m.date(raw).ok_or_else(|| bad(format!("date {raw:?} is not a date")))?;
            let channel = d.channel(cell(row, channel)).map_err(&bad)?;
            let currency = cell(row, currency).unwrap_or("RUB").to_uppercase();
            Ok(OldDonation {
                line: row.line,
                old: old.clone(),
                donor: cell(row, donor).map(str::to_string),
                amount,
                currency,
                date,
                channel,
                purpose: cell(row, purpose).unwrap_or("").to_string(),
                case: cell(row, case).map(str::to_string),
            })
        })();
        match donation {
            Ok(d) => ex.donations.push(d),
            Err(r) => ex.rejected.push(r),
        }
    }
    Ok(())
}

fn read_allocations(
    ex: &mut Export,
    sheet: &Sheet,
    a: &mapping::AllocationMap,
    m: &Mapping,
) -> Result<(), MappingError> {
    let (donation, case, amount) = (sheet.column(&a.donation)?, sheet.column(&a.case)?, sheet.column(&a.amount)?);
    let (id, date) = (sheet.optional(&a.id)?, sheet.optional(&a.date)?);
    let mut seen = Seen(HashMap::new());
    let mut ordinal: HashMap<String, usize> = HashMap::new();
    ex.rows.allocations = sheet.rows.len();
    for row in &sheet.rows {
        let value = cell(row, Some(amount)).map(|raw| m.amount(raw));
        let (don, to) = (cell(row, Some(donation)).unwrap_or(""), cell(row, Some(case)).unwrap_or(""));
        if let Some(Ok(v)) = value {
            ex.old.allocations_total += v;
            if !to.is_empty() {
                *ex.old.allocated_per_case.entry(to.to_string()).or_default() += v;
            }
        }
        let day = cell(row, date);
        let old = match cell(row, id) {
            Some(old) => old.to_string(),
            None => {
                // Without ids, a row is known by what it says (and which repeat of it this is).
                let fields = format!("{don}/{to}/{}/{}", cell(row, Some(amount)).unwrap_or(""), day.unwrap_or(""));
                let n = ordinal.entry(fields.clone()).or_default();
                *n += 1;
                format!("{fields}#{n}")
            }
        };
        let bad = |reason: String| sheet.reject(row, &old, reason);
        let allocation = (|| {
            seen.first(sheet, row, &old)?;
            if don.is_empty() || to.is_empty() {
                return Err(bad("the donation or the case is empty".into()));
            }
            let amount = match value {
                None => return Err(bad("the amount is empty".into())),
                Some(Err(e)) => return Err(bad(e)),
                Some(Ok(v)) if v <= 0 => return Err(bad(format!("the amount must be above zero, not {}", money(v)))),
                Some(Ok(v)) => v,
            };
            let date = match day {
                None => None,
                Some(raw) => Some(m.date(raw).ok_or_else(|| bad(format!("date {raw:?} is not a date")))?),
            };
            Ok(OldAllocation {
                line: row.line,
                old: old.clone(),
                donation: don.to_string(),
                case: to.to_string(),
                amount,
                date,
            })
        })();
        match allocation {
            Ok(a) => ex.allocations.push(a),
            Err(r) => ex.rejected.push(r),
        }
    }
    Ok(())
}

/// Kopecks as `1234.56`.
pub fn money(minor: i64) -> String {
    crate::domain::Money::from_minor(minor).plain()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
