//! Backup and restore of a SQLite database, with the attached papers beside
//! it. A backup is a consistent copy taken while people work (`VACUUM
//! INTO`), checked before it is called done; a restore refuses a file that
//! is not a sound almoner database, and never overwrites without being told.

use std::path::{Path, PathBuf};

use super::Store;
use crate::error::{Error, Result};

/// Where a SQLite database's papers are kept: beside it.
pub(super) fn documents_of(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".documents");
    PathBuf::from(p)
}

/// Copies a folder's files (one level of subfolders, as the papers are kept).
fn copy_tree(from: &Path, to: &Path) -> Result<usize> {
    let mut n = 0;
    if !from.is_dir() {
        return Ok(0);
    }
    fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
        move |source| Error::File { path: path.to_path_buf(), source }
    }
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            n += copy_tree(&src, &dst)?;
        } else if !dst.exists() {
            std::fs::copy(&src, &dst).map_err(io(&src))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Is `path` a sound almoner database? Its integrity, and its schema version.
async fn check(path: &Path) -> Result<i64> {
    let not_ours = |_| Error::invalid(format!("{} is not an almoner database", path.display()));
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true).create_if_missing(false);
    let pool = sqlx::SqlitePool::connect_with(options).await.map_err(not_ours)?;
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.map_err(not_ours)?;
    let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        .fetch_one(&pool)
        .await
        .map_err(not_ours)?;
    pool.close().await;
    if ok != "ok" {
        return Err(Error::invalid(format!("{} is damaged: {ok}", path.display())));
    }
    Ok(version)
}

/// What backing up or restoring a PostgreSQL database takes: PostgreSQL's
/// own tools, which copy a consistent snapshot while people work.
fn postgres_tools(url: &str, documents: &Path) -> Error {
    let url = super::without_password(url);
    Error::invalid(format!(
        "a PostgreSQL database is backed up with PostgreSQL's own tools, while people work: \
         `pg_dump --format=custom --file FILE '{url}'`; it is restored into a new, empty database with \
         `createdb NAME && pg_restore --dbname 'postgres://…/NAME' FILE` (then point --db or ALMONER_DB at it). \
         Copy its papers ({}) alongside",
        documents.display()
    ))
}

impl Store {
    /// Writes a consistent copy of the database to `to` (and its papers to `to.documents`);
    /// the number of papers copied.
    pub async fn backup(&self, to: &Path) -> Result<usize> {
        self.require(super::Act::Admin).await?;
        if self.is_postgres() {
            return Err(postgres_tools(&self.path().display().to_string(), &self.documents_dir()));
        }
        if to.exists() {
            return Err(Error::invalid(format!("{} exists already: choose a new file name", to.display())));
        }
        let target = to.display().to_string();
        sqlx::query("VACUUM INTO ?").bind(&target).execute(self.pool()?).await?;
        let papers = copy_tree(&self.documents_dir(), &documents_of(to))?;
        check(to).await?;
        Ok(papers)
    }

    /// Puts backup `from` in place of the database at `db`. Without `force` an existing
    /// database is never touched; with it, the old one is kept as `db.before-restore`.
    pub async fn restore(from: &Path, db: &Path, force: bool) -> Result<usize> {
        if let Some(url) = db.to_str().filter(|d| super::is_postgres_url(d)) {
            return Err(postgres_tools(url, &super::postgres_documents(url)));
        }
        check(from).await?;
        if db.exists() {
            if !force {
                return Err(Error::invalid(format!(
                    "{} exists: restoring would replace it; stop every console using it, then add --force (the old one is kept as {}.before-restore)",
                    db.display(),
                    db.display()
                )));
            }
            let mut keep = db.as_os_str().to_owned();
            keep.push(".before-restore");
            std::fs::rename(db, &keep).map_err(|source| Error::File { path: db.to_path_buf(), source })?;
            for suffix in ["-wal", "-shm"] {
                let mut p = db.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
        let mut tmp = db.as_os_str().to_owned();
        tmp.push(".restoring");
        let tmp = PathBuf::from(tmp);
        std::fs::copy(from, &tmp).map_err(|source| Error::File { path: from.to_path_buf(), source })?;
        std::fs::rename(&tmp, db).map_err(|source| Error::File { path: db.to_path_buf(), source })?;
        copy_tree(&documents_of(from), &documents_of(db))
    }
}
