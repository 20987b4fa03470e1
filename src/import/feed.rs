//! A register file read on its own thread and handed on in chunks, so that
//! reading and writing overlap and a register of a million payments never
//! sits in memory whole. 1C and mapped CSV files stream; the other formats
//! are small by nature and are read whole, then chunked the same way.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::profile::Profile;
use super::{Format, Payment, Rejected, Summary, onec, parse_with, profile, sniff, table};

/// Payments per chunk handed to the importer.
pub const CHUNK: usize = 2000;

/// A register streamed from a file: chunks of payments as they are read, the
/// number of payments once the reader knows it, and the findings at the end
/// (or why the file was refused: then nothing is written).
pub struct Feed {
    pub format: Format,
    pub chunks: mpsc::Receiver<Vec<Payment>>,
    pub total: Arc<AtomicUsize>,
    pub done: oneshot::Receiver<Result<Summary, Rejected>>,
    /// Payments this register itself refunds in full (key → line); known for registers read whole.
    pub refunded: std::collections::HashMap<String, usize>,
}

impl Feed {
    /// A register already in memory, fed the same way as one read from a file.
    pub fn from_register(register: super::Register) -> Feed {
        let refunded = super::refunded_in(&register.payments);
        let format = register.format;
        let (summary, payments) = register.split();
        let total = Arc::new(AtomicUsize::new(payments.len()));
        let chunks: Vec<Vec<Payment>> = payments.chunks(CHUNK).map(<[Payment]>::to_vec).collect();
        let (chunk_tx, rx) = mpsc::channel(chunks.len().max(1));
        for chunk in chunks {
            // The channel holds them all: nothing waits.
            let _ = chunk_tx.try_send(chunk);
        }
        let (done_tx, done) = oneshot::channel();
        let _ = done_tx.send(Ok(summary));
        Feed { format, chunks: rx, total, done, refunded }
    }
}

fn unreadable(path: &Path, e: std::io::Error) -> Rejected {
    Rejected::Unreadable(format!("{}: {e}", path.display()))
}

/// The file's SHA-256, read in blocks.
pub fn sha256_of(path: &Path) -> Result<String, Rejected> {
    sha256_from(File::open(path).map_err(|e| unreadable(path, e))?, path)
}

/// The SHA-256 of a file already open (`path` names it in an error).
fn sha256_from(mut file: File, path: &Path) -> Result<String, Rejected> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| unreadable(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A register file's SHA-256, for its batch: known already, or to be read once the payments are
/// in. Hashing a 365 MB register before the import held the import up by half a second, and
/// beside the reading it took a core from it; once the payments are in, the import is mostly
/// rebuilding indexes, one at a time. The file is opened at once and hashed from that handle,
/// so the hash is of the file imported even if it is renamed, replaced or deleted meanwhile.
pub enum FileHash {
    Known(String),
    Later(File, std::path::PathBuf),
    Reading(oneshot::Receiver<Result<String, Rejected>>),
}

impl FileHash {
    /// The hash of the file at `path`, read when [`FileHash::begin`] says.
    pub fn of(path: &Path) -> Result<FileHash, Rejected> {
        let file = File::open(path).map_err(|e| unreadable(path, e))?;
        Ok(FileHash::Later(file, path.to_path_buf()))
    }

    /// Starts reading the hash on a thread of its own, if it is still to be read.
    pub fn begin(self) -> FileHash {
        let FileHash::Later(file, path) = self else { return self };
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || {
            let _ = tx.send(sha256_from(file, &path));
        });
        FileHash::Reading(rx)
    }

    /// The hash, once read.
    pub async fn value(self) -> Result<String, Rejected> {
        match self {
            FileHash::Known(sha) => Ok(sha),
            FileHash::Later(file, path) => sha256_from(file, &path),
            FileHash::Reading(rx) => {
                rx.await.map_err(|_| Rejected::Unreadable("the file's hashing stopped before the end".into()))?
            }
        }
    }
}

impl From<&str> for FileHash {
    fn from(sha: &str) -> FileHash {
        FileHash::Known(sha.to_string())
    }
}

impl From<&String> for FileHash {
    fn from(sha: &String) -> FileHash {
        FileHash::Known(sha.clone())
    }
}

/// Starts reading `path`; the format is sniffed unless given.
pub fn open(path: &Path, format: Option<Format>, profile: Option<Profile>) -> Result<Feed, Rejected> {
    let mut head = Vec::with_capacity(8192);
    File::open(path).and_then(|f| f.take(8192).read_to_end(&mut head)).map_err(|e| unreadable(path, e))?;
    if head.is_empty() {
        return Err(Rejected::Empty);
    }
    let streamed = match (&profile, format) {
        (Some(_), None | Some(Format::Mapped)) if !table::is_zip(&head) => Some(Format::Mapped),
        (None, Some(Format::OneC)) => Some(Format::OneC),
        (None, None) if sniff(&head) == Some(Format::OneC) => Some(Format::OneC),
        _ => None,
    };
    // Formats read whole are read here, so their format is known and a refusal comes at once.
    let whole = match streamed {
        Some(_) => None,
        None => {
            let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
            Some(parse_with(&bytes, format, profile.as_ref())?)
        }
    };
    let refunded = whole.as_ref().map(|r| super::refunded_in(&r.payments)).unwrap_or_default();
    let (chunk_tx, chunks) = mpsc::channel::<Vec<Payment>>(4);
    let (done_tx, done) = oneshot::channel();
    let total = Arc::new(AtomicUsize::new(0));
    let (path, counter) = (path.to_path_buf(), total.clone());
    let mut batch = Vec::with_capacity(CHUNK);
    let format_out = match (&whole, streamed) {
        (Some(register), _) => register.format,
        (None, Some(f)) => f,
        (None, None) => Format::OneC,
    };
    std::thread::spawn(move || {
        // The importer going away (an error on its side) ends the reading.
        let send = |p: Payment, batch: &mut Vec<Payment>| {
            batch.push(p);
            if batch.len() >= CHUNK {
                let _ = chunk_tx.blocking_send(std::mem::replace(batch, Vec::with_capacity(CHUNK)));
            }
        };
        let result = match (streamed, whole) {
            (_, Some(register)) => {
                let (summary, payments) = register.split();
                counter.store(payments.len(), Ordering::Relaxed);
                for p in payments {
                    send(p, &mut batch);
                }
                Ok(summary)
            }
            (Some(Format::OneC), None) => File::open(&path).map_err(|e| unreadable(&path, e)).and_then(|f| {
                let mut reader = BufReader::with_capacity(1 << 18, f);
                onec::stream(&mut reader, &mut |p| send(p, &mut batch), &mut |n| counter.store(n, Ordering::Relaxed))
            }),
            (_, None) => File::open(&path).map_err(|e| unreadable(&path, e)).and_then(|f| {
                let profile = profile.as_ref().expect("a mapped stream has its profile");
                profile::stream(BufReader::with_capacity(1 << 18, f), profile, &mut |p| send(p, &mut batch))
            }),
        };
        if !batch.is_empty() {
            let _ = chunk_tx.blocking_send(batch);
        }
        drop(chunk_tx);
        let _ = done_tx.send(result);
    });
    Ok(Feed { format: format_out, chunks, total, done, refunded })
}
