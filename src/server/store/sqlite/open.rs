//! Opening the data directory: the lock, the checks, the connections' settings.
//!
//! The rule: start on a history that can be trusted, or do not start. A missing database
//! file is a first start; anything else that is wrong (a file that is not a database, a
//! foreign or newer schema, a journal without its database, a directory another Chorus
//! already serves) stops the server with a message that names the file and the way out,
//! because starting on a silent new empty database would lose every room's history and
//! hand resuming clients seqs that mean something else.

use super::schema::{self, SchemaError};
use super::DB_FILE;
use crate::server::store::new_epoch;
use rusqlite::{Connection, OpenFlags};
use std::fs::{File, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "chorus.lock";

/// Why the data directory cannot be used.
#[derive(Debug, Error)]
pub enum OpenError {
    /// Another process holds the directory.
    #[error(
        "data directory {dir} is in use by another Chorus process (it holds {LOCK_FILE}); \
         stop it first, or give this one another --data-dir"
    )]
    InUse {
        /// The data directory.
        dir: PathBuf,
    },
    /// A file could not be opened or created.
    #[error("cannot open {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database is there but cannot be used as it is.
    #[error(
        "cannot use the database {path}: {detail}. Chorus will not start on history it \
         cannot read, nor replace it with an empty one: restore the file from a backup, \
         or move it aside to start with no history"
    )]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong, in SQLite's or the schema check's words.
        detail: String,
    },
}

/// An opened, checked, migrated database.
pub(super) struct Opened {
    pub(super) path: PathBuf,
    pub(super) writer: Connection,
    pub(super) epoch: String,
    pub(super) lock: File,
}

pub(super) fn open(dir: &Path, busy_timeout: Duration) -> Result<Opened, OpenError> {
    let lock = lock(dir)?;
    let path = dir.join(DB_FILE);
    let unusable = |detail: String| OpenError::Unusable {
        path: path.clone(),
        detail,
    };
    let exists = path.exists();
    let wal = dir.join(format!("{DB_FILE}-wal"));
    if !exists && wal.metadata().is_ok_and(|m| m.len() > 0) {
        return Err(unusable(format!(
            "the journal {} exists but the database does not (was it deleted?)",
            wal.display()
        )));
    }
    // Only this server's user may read the history: the file is made (or kept) 0600
    // before SQLite opens it, and SQLite gives its journal files the database's mode.
    private_file(&path, !exists).map_err(|source| OpenError::Io {
        path: path.clone(),
        source,
    })?;
    for journal in ["-wal", "-shm"] {
        let p = dir.join(format!("{DB_FILE}{journal}"));
        if p.exists() {
            private_file(&p, false).map_err(|source| OpenError::Io { path: p, source })?;
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn =
        Connection::open_with_flags(&path, flags).map_err(|e| unusable(e.to_string()))?;
    configure(&conn, busy_timeout).map_err(|e| unusable(e.to_string()))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| unusable(e.to_string()))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(unusable(format!(
            "cannot switch to WAL (journal mode is {mode})"
        )));
    }
    let found = schema::migrate(&mut conn, new_epoch().as_str()).map_err(|e| match e {
        SchemaError::Sqlite(e) => unusable(e.to_string()),
        other => unusable(other.to_string()),
    })?;
    if found != schema::LATEST {
        tracing::info!(path = %path.display(), from = found, to = schema::LATEST, "database schema migrated");
    }
    let epoch: String = conn
        .query_row(
            "SELECT value FROM store_info WHERE key = 'epoch'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| unusable(format!("no epoch recorded ({e})")))?;
    Ok(Opened {
        path,
        writer: conn,
        epoch,
        lock,
    })
}

/// Takes the directory's lock file, so two servers never write one history (each would
/// number seqs the other's clients never hear of). The OS drops the lock when the
/// process ends, however it ends.
fn lock(dir: &Path) -> Result<File, OpenError> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(PRIVATE_FILE)
        .open(&path)
        .map_err(|source| OpenError::Io {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(OpenError::InUse {
            dir: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(source)) => Err(OpenError::Io { path, source }),
    }
}

/// Permissions of the files in the data directory: the server's user only.
const PRIVATE_FILE: u32 = 0o600;

/// Creates `path` empty with mode 0600 (`create`; an empty file is a new database to
/// SQLite), or sets an existing one to 0600.
fn private_file(path: &Path, create: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if create {
        File::options()
            .write(true)
            .create_new(true)
            .mode(PRIVATE_FILE)
            .open(path)?;
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(PRIVATE_FILE))
}

/// Settings every connection gets. `synchronous = FULL` makes each commit wait for the
/// disk, which is what an `ack` promises; group commit is what keeps it fast.
/// `secure_delete` zeroes what a delete or update frees (a deleted message's body, an
/// edited one's old text, a signed-out session) in the pages it writes, so the text is
/// gone from the file once the journal is checkpointed (see `amend`).
fn configure(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// A read-only connection for the reader pool.
pub(super) fn reader(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    Ok(conn)
}

/// A second read-write connection to the open database, for writes that are not
/// messages (accounts and sessions): rare and small, so they need no queue of their own;
/// SQLite serialises them with the writer's (waiting up to `busy_timeout`).
pub(super) fn side_writer(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, busy_timeout)?;
    Ok(conn)
}
