//! A side connection: the database's second writer, for the site's accounts and room
//! settings (rare, small writes beside the message writer), used on the blocking pool.

use crate::server::store::StoreError;
use crate::sync::lock;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};

/// One read-write connection, shared, each call run on the blocking pool.
#[derive(Clone)]
pub struct SideConnection {
    conn: Arc<Mutex<Connection>>,
    /// What the calls are for, in errors (`accounts`, `rooms`).
    what: &'static str,
}

impl SideConnection {
    /// Wraps `conn` (from [`super::SqliteStore::side_connection`]).
    pub fn new(conn: Connection, what: &'static str) -> Self {
        Self {
            conn: Arc::new(Mutex::new(conn)),
            what,
        }
    }

    /// Runs `f` on the connection off the async threads.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || f(&mut lock(&conn)))
            .await
            .map_err(|e| StoreError::Task(self.what, e))?
            .map_err(StoreError::from)
    }
}
