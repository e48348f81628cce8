//! [`SqliteStore`]: the embedded default store, one SQLite file in the data directory.
//!
//! - Durable: WAL journal with `synchronous = FULL`, so a commit has reached the disk
//!   before the writer answers, and an `ack` survives a kill -9 or a power cut.
//! - Group commit: one writer thread stores every waiting publish in one transaction
//!   ([`writer`]); readers use their own connections on the blocking pool, which WAL
//!   lets run beside the writer without waiting for it.
//! - Versioned schema, migrated by the program at start ([`schema`]).
//! - Refuses to start on a data directory it cannot trust ([`open`]): a corrupt or
//!   foreign file, a newer schema, or another Chorus process already using it.

mod amend;
mod append;
mod open;
mod purge;
mod reactions;
mod readers;
mod retention;
mod rows;
pub mod schema;
pub mod side;
mod writer;

pub use open::OpenError;

use self::readers::Readers;
use self::rows::decode_err;
use self::rows::{messages, room_row};
use super::{
    Amendment, Appended, ByteBudget, Draft, HistoryPage, Range, Reacted, Reaction, Reactors,
    RoomMeta, Store, StoreError,
};
use crate::protocol::{Epoch, Message, RoomName};
use async_trait::async_trait;
use rusqlite::params;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use writer::{Job, Writer};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "chorus.db";

pub use super::Retention;

/// How the writer commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commit {
    /// Every publish waiting in the queue, up to this many, in one transaction.
    Grouped {
        /// The most publishes one transaction holds.
        max_batch: usize,
    },
    /// One transaction (one fsync) per publish: the naive way, kept to measure against.
    PerMessage,
}

/// Settings of a [`SqliteStore`].
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// What each room keeps.
    pub retention: Retention,
    /// How the writer commits.
    pub commit: Commit,
    /// How long a statement waits for a lock held by another process before the store
    /// reports `unavailable`.
    pub busy_timeout: Duration,
    /// How often messages past the max age are deleted.
    pub expire_every: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            retention: Retention {
                max_messages: 10_000,
                ..Retention::default()
            },
            commit: Commit::Grouped { max_batch: 512 },
            busy_timeout: Duration::from_secs(5),
            expire_every: Duration::from_secs(60),
        }
    }
}

/// Room history in `<data dir>/chorus.db`.
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    /// Set by the writer while writes fail: `/readyz` then says 503 until a write (a
    /// publish, or the probe `ready` sends) goes through again.
    failing: Arc<AtomicBool>,
    readers: Arc<Readers>,
    /// The database's epoch: the epoch of every room that has no row yet.
    epoch: Epoch,
    /// Held open for the store's lifetime: its lock keeps a second process out.
    _lock: std::fs::File,
}

impl SqliteStore {
    /// Opens (or creates) the database in `data_dir`, migrates it, and starts the writer.
    /// Must be called inside a Tokio runtime (the expiry timer runs on it).
    pub fn open(data_dir: &Path, options: SqliteOptions) -> Result<Self, OpenError> {
        let opened = open::open(data_dir, options.busy_timeout)?;
        let (jobs, rx) = mpsc::channel(8192);
        let max_batch = match options.commit {
            Commit::Grouped { max_batch } => max_batch.max(1),
            Commit::PerMessage => 1,
        };
        let failing = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            conn: opened.writer,
            epoch: opened.epoch.clone(),
            retention: options.retention,
            max_batch,
            rooms: Default::default(),
            failing: failing.clone(),
            holding: None,
        };
        std::thread::Builder::new()
            .name("chorus-store-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| OpenError::Io {
                path: opened.path.clone(),
                source: e,
            })?;
        if options.retention.max_age.is_some() {
            tokio::spawn(expire_periodically(jobs.downgrade(), options.expire_every));
        }
        Ok(Self {
            jobs,
            failing,
            readers: Arc::new(Readers {
                path: opened.path,
                busy_timeout: options.busy_timeout,
                idle: Mutex::new(Vec::new()),
                busy: tokio::sync::Semaphore::new(readers::MAX_READERS),
            }),
            epoch: Epoch::new(opened.epoch),
            _lock: opened.lock,
        })
    }

    /// A read-write connection to this database for the site's accounts and sessions
    /// ([`crate::server::accounts::sqlite`]): they live in the same file (one backup, one
    /// lock), written beside the message writer.
    pub fn side_connection(&self) -> rusqlite::Result<rusqlite::Connection> {
        open::side_writer(&self.readers.path, self.readers.busy_timeout)
    }

    /// Deletes the messages past the max age now (also done every `expire_every`).
    pub async fn expire(&self) -> Result<u64, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Expire { reply }).await?;
        rx.await.map_err(|_| writer_gone())?
    }

    async fn submit(&self, job: Job) -> Result<(), StoreError> {
        self.jobs.send(job).await.map_err(|_| writer_gone())
    }
}

fn writer_gone() -> StoreError {
    StoreError::Stopped("the store's writer")
}

/// Asks the writer to expire old messages every `every`, until the store is dropped.
async fn expire_periodically(jobs: mpsc::WeakSender<Job>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(jobs) = jobs.upgrade() else { return };
        let (reply, rx) = oneshot::channel();
        if jobs.send(Job::Expire { reply }).await.is_err() {
            return;
        }
        drop(jobs);
        match rx.await {
            Ok(Ok(n)) if n > 0 => tracing::info!(deleted = n, "expired old messages"),
            Ok(Err(e)) => tracing::warn!(error = %e.report(), "expiring old messages failed"),
            _ => {}
        }
    }
}

/// Retries the journal's truncation after an amendment found it busy: every 200 ms for
/// up to a minute (readers hold snapshots for milliseconds), then the next amendment
/// or the shutdown's checkpoint does it.
async fn erase_later(jobs: mpsc::WeakSender<Job>) {
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Some(jobs) = jobs.upgrade() else { return };
        let (reply, rx) = oneshot::channel();
        if jobs.send(Job::EraseJournal { reply }).await.is_err() {
            return;
        }
        drop(jobs);
        if matches!(rx.await, Ok(Ok(true))) {
            return;
        }
    }
    tracing::warn!(
        "could not truncate the journal after erasing a message; it will be at the next checkpoint"
    );
}

#[async_trait]
impl Store for SqliteStore {
    async fn meta(&self, room: &RoomName) -> Result<RoomMeta, StoreError> {
        let room = room.clone();
        let db_epoch = self.epoch.clone();
        self.readers
            .read(move |tx| {
                Ok(match room_row(tx, &room)? {
                    Some((_, epoch, last_seq, _)) => RoomMeta {
                        epoch: Epoch::new(epoch),
                        last_seq,
                    },
                    None => RoomMeta {
                        epoch: db_epoch,
                        last_seq: 0,
                    },
                })
            })
            .await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        if self.jobs.is_closed() {
            return Err(writer_gone());
        }
        if self.failing.load(Ordering::Relaxed) {
            // Reads may well work on a full disk; writes are what clients need.
            let (reply, rx) = oneshot::channel();
            self.submit(Job::Probe { reply }).await?;
            rx.await.map_err(|_| writer_gone())??;
        }
        self.readers
            .read(|tx| {
                tx.query_row("SELECT max(id) FROM rooms", [], |r| {
                    r.get::<_, Option<i64>>(0)
                })
            })
            .await
            .map(|_| ())
    }

    async fn close(&self) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Close { reply }).await?;
        rx.await.map_err(|_| writer_gone())?
    }

    async fn append(&self, draft: Draft) -> Result<Appended, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Append { draft, reply }).await?;
        rx.await.map_err(|_| writer_gone())?
    }

    async fn message(&self, room: &RoomName, seq: u64) -> Result<Option<Message>, StoreError> {
        let room = room.clone();
        self.readers
            .read(move |tx| amend::one(tx, &room, seq))
            .await
    }

    async fn amend(
        &self,
        room: &RoomName,
        seq: u64,
        change: Amendment,
    ) -> Result<Option<Message>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Amend {
            room: room.clone(),
            seq,
            change,
            reply,
        })
        .await?;
        let (amended, erased) = rx.await.map_err(|_| writer_gone())??;
        if !erased {
            // A reader held the journal: the text is erased in the pages but an old copy
            // is still in the WAL. Checkpoint again until it goes through.
            tokio::spawn(erase_later(self.jobs.downgrade()));
        }
        Ok(amended)
    }

    async fn react(
        &self,
        room: &RoomName,
        seq: u64,
        reaction: Reaction,
    ) -> Result<Reacted, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::React {
            job: (room.clone(), seq, reaction),
            reply,
        })
        .await?;
        rx.await.map_err(|_| writer_gone())?
    }

    async fn reactors(
        &self,
        room: &RoomName,
        seq: u64,
        key: &str,
    ) -> Result<Option<Reactors>, StoreError> {
        let room = room.clone();
        let key = key.to_owned();
        self.readers
            .read(move |tx| reactions::reactors(tx, &room, seq, &key))
            .await
    }

    async fn purge(&self, room: &RoomName) -> Result<RoomMeta, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.submit(Job::Purge {
            room: room.clone(),
            reply,
        })
        .await?;
        rx.await.map_err(|_| writer_gone())?
    }

    async fn range(
        &self,
        room: &RoomName,
        after: u64,
        until: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Range, StoreError> {
        let room = room.clone();
        self.readers
            .read(move |tx| {
                let Some((id, _, _, dropped)) = room_row(tx, &room)? else {
                    return Ok(Range {
                        messages: vec![],
                        complete: true,
                    });
                };
                let below = until.min(i64::MAX as u64) as i64;
                // First where the page ends, from the bodies' sizes alone
                // (`octet_length` reads a row's header, not its body), then only the
                // rows that fit: a page never loads bodies it will not send.
                let mut last = None;
                let mut budget = ByteBudget::new(max_bytes);
                {
                    let mut sizes = tx.prepare_cached(
                        "SELECT seq, octet_length(body) FROM messages
                         WHERE room_id = ?1 AND seq > ?2 AND seq < ?3 ORDER BY seq LIMIT ?4",
                    )?;
                    let mut rows = sizes.query(params![id, after as i64, below, max as i64])?;
                    while let Some(row) = rows.next()? {
                        let (seq, size): (i64, i64) = (row.get(0)?, row.get(1)?);
                        if !budget.admit(size.max(0) as usize) {
                            break;
                        }
                        last = Some(seq);
                    }
                }
                let mut messages = match last {
                    None => Vec::new(),
                    Some(last) => messages(
                        tx,
                        &room,
                        "SELECT seq, sender, body, ts, client_id, sender_user, edited_ts, deleted, reply_to FROM messages
                         WHERE room_id = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq",
                        params![id, after as i64, last],
                    )?,
                };
                reactions::attach(tx, id, &mut messages)?;
                Ok(Range {
                    messages,
                    complete: after >= dropped || after + 1 >= until,
                })
            })
            .await
    }

    async fn history(
        &self,
        room: &RoomName,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        let room = room.clone();
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        self.readers
            .read(move |tx| {
                let Some((id, _, _, _)) = room_row(tx, &room)? else {
                    return Ok(HistoryPage {
                        messages: vec![],
                        has_more: false,
                    });
                };
                let mut page = messages(
                    tx,
                    &room,
                    "SELECT seq, sender, body, ts, client_id, sender_user, edited_ts, deleted, reply_to FROM messages
                     WHERE room_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
                    params![id, before, limit as i64],
                )?;
                page.reverse();
                reactions::attach(tx, id, &mut page)?;
                let has_more = match page.first() {
                    Some(first) => tx
                        .prepare_cached(
                            "SELECT EXISTS (SELECT 1 FROM messages WHERE room_id = ?1 AND seq < ?2)",
                        )?
                        .query_row(params![id, first.seq as i64], |r| r.get(0))?,
                    None => false,
                };
                Ok(HistoryPage {
                    messages: page,
                    has_more,
                })
            })
            .await
    }
}

#[cfg(test)]
mod erase_tests;
#[cfg(test)]
mod reaction_tests;
#[cfg(test)]
mod tests;
