//! `almoner migrate --from DIR --mapping FILE.toml [--dry-run]`: an old CRM's
//! CSV exports come across in one transaction, with a reconciliation report
//! that holds every figure of the export against the database's.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::legacy::{self, Mapping};
use crate::store::Store;

pub struct Options<'a> {
    pub from: &'a Path,
    pub mapping: &'a Path,
    pub dry_run: bool,
    pub report: Option<&'a Path>,
    pub json: bool,
    pub accept_differences: bool,
}

pub async fn run(store: &Store, o: &Options<'_>) -> Result<()> {
    let text =
        std::fs::read_to_string(o.mapping).with_context(|| format!("{}: cannot be read", o.mapping.display()))?;
    let mapping = Mapping::parse(&text, &o.mapping.display().to_string())?;
    if !o.from.is_dir() {
        bail!("{}: no such folder (--from names the folder holding the export's CSV files)", o.from.display());
    }
    let export = legacy::read(o.from, &mapping)?;
    let report = store.migrate_legacy(&export, !o.dry_run, o.accept_differences).await?;
    if let Some(path) = o.report {
        std::fs::write(path, report.markdown()).with_context(|| format!("{}: cannot be written", path.display()))?;
    }
    if o.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if o.report.is_some() {
        println!("{}", report.summary());
        for r in &report.rejected {
            println!("  rejected: {} line {}: {}", r.file, r.line, crate::text::inert(&r.reason));
        }
        println!("the full report is in {}", o.report.map(|p| p.display().to_string()).unwrap_or_default());
    } else {
        print!("{}", report.markdown());
    }
    if !o.dry_run && !report.committed {
        bail!(
            "not migrated, nothing written: {} rejected row(s) and {} difference(s) (see the report); \
             fix the export or the mapping, or give --accept-differences to migrate what reconciles",
            report.rejected.len(),
            report.differences
        );
    }
    Ok(())
}
