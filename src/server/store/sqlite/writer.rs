//! The one writer: a dedicated OS thread that owns the database's write connection and
//! commits publishes in groups.
//!
//! Why a thread and not `spawn_blocking` per publish: SQLite allows one writer at a time
//! anyway, and the cost of a durable commit is one fsync whatever the transaction holds.
//! So the writer takes every publish waiting in its queue (up to `max_batch`), stores
//! them in one transaction, commits once, and only then answers each of them. Under
//! load, the fsync is shared by the whole batch; alone, a publish is committed at once
//! (the writer never waits for a batch to fill). The async runtime's threads never block
//! on the disk.
//!
//! A failed transaction is rolled back whole and every publish in it is answered
//! `Unavailable`: no seq is consumed, nothing is acked, the client retries with the same
//! `client_id`. The next batch starts afresh, so the writer recovers by itself as soon as
//! the disk (or the lock) lets it.

use super::append::{append_one, find_or_create_room, reply_missing};
use super::retention::{bytes_cut, drop_through, holding, EXPIRING_ROOMS};
use super::Retention;
use crate::protocol::Message;
use crate::protocol::RoomName;
use crate::server::store::{now_ms, stored_size, Appended, Draft, StoreError};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Work for the writer.
pub(super) enum Job {
    /// Store one message (or find its earlier copy).
    Append {
        draft: Draft,
        reply: oneshot::Sender<Result<Appended, StoreError>>,
    },
    /// Delete or edit one stored message; answers it as it now is, and whether the
    /// journal was truncated after (the old text is then off the disk).
    Amend {
        room: RoomName,
        seq: u64,
        change: crate::server::store::Amendment,
        reply: oneshot::Sender<Result<(Option<Message>, bool), StoreError>>,
    },
    /// Add or take back one reaction; answers the message's counts.
    React {
        job: super::reactions::ReactJob,
        reply: oneshot::Sender<Result<crate::server::store::Reacted, StoreError>>,
    },
    /// Delete a room's whole history and give it a new epoch; answers its new meta.
    Purge {
        room: RoomName,
        reply: oneshot::Sender<Result<crate::server::store::RoomMeta, StoreError>>,
    },
    /// Truncate the journal (after an amendment found it busy); answers whether it went.
    EraseJournal {
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
    /// Delete messages older than the retention's max age; answers how many went.
    Expire {
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Writes a little (one row rewritten in a transaction of its own) to learn whether
    /// writes work again, after one failed.
    Probe {
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// The server is stopping: after what is queued before it, fold the journal back
    /// into the database file (so it is complete on its own) and answer.
    Close {
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// The writer thread's state.
pub(super) struct Writer {
    pub(super) conn: Connection,
    /// The database's epoch, given to rooms when they are created.
    pub(super) epoch: String,
    pub(super) retention: Retention,
    /// Publishes per transaction at most; 1 is the naive one-commit-per-message way.
    pub(super) max_batch: usize,
    /// Rooms the writer has seen: their row id and newest seq, so a publish costs one
    /// statement (the insert) instead of four. True because the writer is the database's
    /// only writer (the lock file keeps other processes out); dropped whole when a
    /// transaction fails, and when it grows past [`MAX_CACHED_ROOMS`].
    pub(super) rooms: HashMap<RoomName, RoomRow>,
    /// Set while writes fail (the last batch or probe failed), for `/readyz`.
    pub(super) failing: Arc<AtomicBool>,
    /// Rooms holding messages, for the cap on rooms (`None`: count them on next use).
    pub(super) holding: Option<u64>,
}

/// A room's row as the writer knows it.
#[derive(Clone, Copy)]
pub(super) struct RoomRow {
    pub(super) id: i64,
    pub(super) last_seq: i64,
    /// Bytes of the messages it keeps (0: it holds none, and counts against the cap on
    /// rooms only once it gets one).
    pub(super) kept_bytes: u64,
}

/// One queued amendment: room, seq, change, and where to answer.
type AmendJob = (
    RoomName,
    u64,
    crate::server::store::Amendment,
    oneshot::Sender<Result<(Option<Message>, bool), StoreError>>,
);

/// Rooms whose rows the writer keeps in memory at most (about 100 bytes each); past it
/// the cache starts again empty and refills from the database as rooms publish.
const MAX_CACHED_ROOMS: usize = 100_000;

impl Writer {
    /// Serves jobs until every sender is gone.
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.serve(&mut batch);
        }
    }

    fn serve(&mut self, batch: &mut Vec<Job>) {
        let mut drafts = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        let mut expiries = Vec::new();
        let mut closes = Vec::new();
        let mut probes = Vec::new();
        let mut amends = Vec::new();
        let mut erases = Vec::new();
        let mut reacts = Vec::new();
        let mut react_replies = Vec::new();
        for job in batch.drain(..) {
            match job {
                Job::Amend {
                    room,
                    seq,
                    change,
                    reply,
                } => amends.push((room, seq, change, reply)),
                Job::EraseJournal { reply } => erases.push(reply),
                Job::React { job, reply } => {
                    reacts.push(job);
                    react_replies.push(reply);
                }
                Job::Purge { room, reply } => {
                    let r = super::purge::purge(&mut self.conn, &room, &self.epoch);
                    // The room's cached row and the count of rooms holding messages
                    // are stale now.
                    self.forget();
                    let _ = reply.send(r.map_err(StoreError::from));
                }
                Job::Append { draft, reply } => {
                    drafts.push(draft);
                    replies.push(reply);
                }
                Job::Expire { reply } => expiries.push(reply),
                Job::Close { reply } => closes.push(reply),
                Job::Probe { reply } => probes.push(reply),
            }
        }
        if !drafts.is_empty() {
            let n = drafts.len();
            let started = std::time::Instant::now();
            match self.append_all(drafts) {
                Ok(results) => {
                    self.failing.store(false, Ordering::Relaxed);
                    crate::server::metrics::store_batch(n, started.elapsed());
                    for (reply, r) in replies.into_iter().zip(results) {
                        // A publisher that went away still had its message stored.
                        let _ = reply.send(r);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, batch = n, "store write failed; batch refused");
                    self.failing.store(true, Ordering::Relaxed);
                    let e = Arc::new(e);
                    for reply in replies {
                        let _ = reply.send(Err(StoreError::Sqlite(e.clone())));
                    }
                }
            }
        }
        if !reacts.is_empty() {
            match super::reactions::react_all(&mut self.conn, &reacts, now_ms()) {
                Ok(done) => {
                    for (reply, r) in react_replies.into_iter().zip(done) {
                        let _ = reply.send(Ok(r));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "storing reactions failed");
                    let e = Arc::new(e);
                    for reply in react_replies {
                        let _ = reply.send(Err(StoreError::Sqlite(e.clone())));
                    }
                }
            }
        }
        if !amends.is_empty() {
            self.amend_all(amends);
        }
        for reply in erases {
            let _ = reply.send(super::amend::erase_journal(&self.conn).map_err(StoreError::from));
        }
        for reply in probes {
            let r = self
                .conn
                .execute_batch(
                    "BEGIN IMMEDIATE; UPDATE store_info SET value = value WHERE key = 'epoch'; COMMIT",
                )
                .map_err(StoreError::from);
            if r.is_err() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            self.failing.store(r.is_err(), Ordering::Relaxed);
            let _ = reply.send(r);
        }
        for reply in closes {
            let r = self
                .conn
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .map_err(StoreError::from);
            let _ = reply.send(r);
        }
        for reply in expiries {
            let r = self.expire(now_ms()).map_err(StoreError::from);
            let _ = reply.send(r);
        }
    }

    /// Applies each amendment in a transaction of its own, then truncates the journal
    /// once for all of them, and answers.
    fn amend_all(&mut self, amends: Vec<AmendJob>) {
        let mut results = Vec::with_capacity(amends.len());
        for (room, seq, change, reply) in amends {
            let r = super::amend::amend(&mut self.conn, &room, seq, &change);
            // The room's cached byte count is stale now.
            self.rooms.remove(&room);
            results.push((reply, r.map_err(StoreError::from)));
        }
        let erased = super::amend::erase_journal(&self.conn).unwrap_or(false);
        for (reply, r) in results {
            let _ = reply.send(r.map(|m| (m, erased)));
        }
    }

    /// Stores a batch in one transaction. All or nothing: an `Err` refuses the whole
    /// batch; an inner `Err` refuses one draft (the cap on rooms) and stores the rest.
    fn append_all(
        &mut self,
        drafts: Vec<Draft>,
    ) -> rusqlite::Result<Vec<Result<Appended, StoreError>>> {
        if self.rooms.len() > MAX_CACHED_ROOMS {
            self.rooms.clear();
        }
        let result = self.try_append_all(drafts);
        if result.is_err() {
            self.forget();
        }
        result
    }

    /// After a rollback (or a failed expiry): the cached rows and the count of rooms
    /// holding messages may describe writes that did not happen; read them afresh.
    fn forget(&mut self) {
        self.rooms.clear();
        self.holding = None;
    }

    fn try_append_all(
        &mut self,
        drafts: Vec<Draft>,
    ) -> rusqlite::Result<Vec<Result<Appended, StoreError>>> {
        let ts = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut holding = holding(&mut self.holding, &tx)?;
        let max_rooms = self.retention.max_rooms;
        // The rooms this batch stored into: each room's row is written once.
        let mut touched: HashSet<RoomName> = HashSet::new();
        let mut out = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let row = match self.rooms.get_mut(&draft.room) {
                Some(row) => row,
                None => {
                    let row = find_or_create_room(&tx, &draft.room, &self.epoch)?;
                    self.rooms.entry(draft.room.clone()).or_insert(row)
                }
            };
            if row.kept_bytes == 0 && max_rooms > 0 && holding >= max_rooms {
                out.push(Err(StoreError::RoomsFull { max: max_rooms }));
                continue;
            }
            if let Some(to) = draft.reply_to {
                if let Some(missing) = reply_missing(&tx, row.id, to, &draft)? {
                    out.push(missing);
                    continue;
                }
            }
            let room = draft.room.clone();
            let appended = append_one(&tx, draft, row, ts)?;
            if let Appended::Stored(m) = &appended {
                if row.kept_bytes == 0 {
                    holding += 1;
                }
                let body = m.body().map_or("", |b| b.as_str());
                row.kept_bytes += stored_size(m.from.as_str(), body, m.client_id.as_str());
                touched.insert(room);
            }
            out.push(Ok(appended));
        }
        for name in touched {
            let Some(row) = self.rooms.get_mut(&name) else {
                continue;
            };
            tx.prepare_cached(
                "UPDATE rooms SET last_seq = ?2, kept_bytes = ?3, oldest_ts = coalesce(oldest_ts, ?4)
                 WHERE id = ?1",
            )?
            .execute(params![row.id, row.last_seq, row.kept_bytes as i64, ts as i64])?;
            let cap = self.retention.max_messages as i64;
            if cap > 0 && row.last_seq > cap {
                let dropped = drop_through(&tx, row.id, (row.last_seq - cap) as u64)?;
                row.kept_bytes = dropped.kept_bytes;
            }
            let max_bytes = self.retention.max_bytes;
            if max_bytes > 0 && row.kept_bytes > max_bytes {
                let through = bytes_cut(&tx, row.id, row.kept_bytes - max_bytes, row.last_seq)?;
                let dropped = drop_through(&tx, row.id, through)?;
                row.kept_bytes = dropped.kept_bytes;
            }
        }
        tx.commit()?;
        self.holding = Some(holding);
        Ok(out)
    }

    /// Drops every message older than the max age. Walks each room from its oldest
    /// message, so the cost is the number of expired messages, not the room's size.
    fn expire(&mut self, now: u64) -> rusqlite::Result<u64> {
        let r = self.try_expire(now);
        if r.is_err() {
            self.forget();
        }
        r
    }

    fn try_expire(&mut self, now: u64) -> rusqlite::Result<u64> {
        let Some(max_age) = self.retention.max_age else {
            return Ok(0);
        };
        let cutoff = now.saturating_sub(max_age.as_millis() as u64) as i64;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut holding = holding(&mut self.holding, &tx)?;
        // Only the rooms whose oldest message is past the age (an index range).
        let rooms: Vec<(i64, i64, i64)> = tx
            .prepare_cached(EXPIRING_ROOMS)?
            .query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut deleted = 0;
        for (room, last_seq, dropped) in rooms {
            let first_kept: Option<i64> = tx
                .prepare_cached(
                    "SELECT seq FROM messages WHERE room_id = ?1 AND ts >= ?2 ORDER BY seq LIMIT 1",
                )?
                .query_row(params![room, cutoff], |r| r.get(0))
                .optional()?;
            let through = first_kept.map_or(last_seq, |s| s - 1);
            if through > dropped {
                let d = drop_through(&tx, room, through as u64)?;
                deleted += d.rows;
                if d.kept_bytes == 0 && d.bytes > 0 {
                    holding = holding.saturating_sub(1);
                }
            }
        }
        tx.commit()?;
        self.holding = Some(holding);
        // The cached rows' byte counts are stale now.
        self.rooms.clear();
        Ok(deleted)
    }
}
