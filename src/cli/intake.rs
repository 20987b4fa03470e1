//! `almoner intake FILE|DIR`: applications from the web form, one JSON file
//! each. A file taken in moves to `done/` beside it; a malformed one moves
//! to `rejected/` with a `.reason.txt` saying why, and nothing of it is kept.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::store::{Application, Intake, Store};

/// Moves `file` into `sub/` beside it, keeping its name.
fn move_into(file: &Path, sub: &str) -> Result<PathBuf> {
    let dir = file.parent().unwrap_or(Path::new(".")).join(sub);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let to = dir.join(file.file_name().unwrap_or_default());
    std::fs::rename(file, &to).with_context(|| format!("cannot move {} to {}", file.display(), to.display()))?;
    Ok(to)
}

async fn take(store: &Store, file: &Path) -> crate::error::Result<Intake> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| crate::error::Error::invalid(format!("the file cannot be read as UTF-8 text: {e}")))?;
    let app = Application::parse(&text)?;
    store.intake(&app, file.parent().unwrap_or(Path::new("."))).await
}

pub async fn run(store: &Store, path: &Path, json: bool) -> Result<()> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("json")))
            .collect();
        v.sort();
        v
    } else if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        bail!("{}: no such file or folder", path.display());
    };
    let (mut taken, mut rejected) = (Vec::new(), 0usize);
    for file in &files {
        let name = crate::text::inert(&file.display().to_string()).into_owned();
        match take(store, file).await {
            Ok(done) => {
                move_into(file, "done")?;
                if !json {
                    let whose = if done.returning {
                        format!("beneficiary {} applied before: the case joins their record", done.beneficiary)
                    } else {
                        format!("new beneficiary {}", done.beneficiary)
                    };
                    println!("{name}: case {} in qualification ({whose}; {} paper(s))", done.case, done.documents);
                }
                taken.push(done);
            }
            Err(e) => {
                rejected += 1;
                let to = move_into(file, "rejected")?;
                let mut reason = to.clone().into_os_string();
                reason.push(".reason.txt");
                std::fs::write(&reason, format!("{e}\n")).with_context(|| format!("cannot write {reason:?}"))?;
                eprintln!(
                    "{name}: rejected, nothing kept: {} (moved to {})",
                    crate::text::inert(&e.to_string()),
                    to.display()
                );
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&taken)?);
    } else if files.is_empty() {
        println!("{}: no applications (*.json) to take in", path.display());
    }
    if rejected > 0 {
        bail!("{rejected} of {} application(s) rejected; the reasons are beside them in rejected/", files.len());
    }
    Ok(())
}
