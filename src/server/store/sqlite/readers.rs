//! The store's read connections: a small pool, each read in a snapshot on the blocking
//! pool.

use super::open;
use crate::server::store::StoreError;
use crate::sync::lock;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Read-only connections, reused. WAL readers see the last commit and never block the
/// writer. A pool of a few plain connections is all this needs; a pool crate would add
/// a dependency for twenty lines.
pub(super) struct Readers {
    pub(super) path: PathBuf,
    pub(super) busy_timeout: Duration,
    pub(super) idle: Mutex<Vec<Connection>>,
    /// Reads at once: each connection has its own page cache (up to 2 MB), so a burst of
    /// reads (many replays starting together) must not open a connection each.
    pub(super) busy: Semaphore,
}

/// Reads running at once at most; more wait for a turn.
pub(super) const MAX_READERS: usize = 8;

/// Idle read connections kept for reuse; more may be open at a busy moment.
const MAX_IDLE_READERS: usize = 8;

impl Readers {
    /// Runs `f` on a read connection, in one read transaction (a consistent snapshot),
    /// on the blocking pool.
    pub(super) async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let turn = self
            .busy
            .acquire()
            .await
            .map_err(|_| StoreError::Stopped("the store's readers"))?;
        let this = self.clone();
        let read = tokio::task::spawn_blocking(move || {
            let mut conn = this.take()?;
            let result = conn.transaction().and_then(|tx| {
                let r = f(&tx)?;
                tx.finish()?;
                Ok(r)
            });
            if result.is_ok() {
                this.put(conn);
            }
            result
        })
        .await;
        drop(turn);
        read.map_err(|e| StoreError::Task("read", e))?
            .map_err(StoreError::from)
    }

    fn take(&self) -> rusqlite::Result<Connection> {
        let idle = lock(&self.idle).pop();
        match idle {
            Some(c) => Ok(c),
            None => open::reader(&self.path, self.busy_timeout),
        }
    }

    fn put(&self, conn: Connection) {
        let mut idle = lock(&self.idle);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}
