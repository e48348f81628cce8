//! Room history behind the [`Store`] trait.
//!
//! The store owns sequence numbers, epochs and idempotency; the hub owns sockets. Nothing
//! here knows about connections, so each implementation can be tested on its own and the
//! hub works the same over any of them.
//!
//! - [`sqlite::SqliteStore`]: the default. One SQLite file in the data directory,
//!   durable (an ack means committed to disk), group-committed, retention by count and age.
//! - [`memory::MemoryStore`]: history in process memory, capped per room. Lost on restart,
//!   and then every room gets a new epoch, which tells resuming clients exactly that.
//!   For tests and throwaway servers (`--store memory`).
//!
//! [`conformance`] (test builds) holds the contract as tests that every store runs.

#[cfg(test)]
pub mod conformance;
pub mod memory;
pub mod sqlite;

use crate::protocol::{Body, ClientId, Epoch, Message, RoomName, UserName};
use async_trait::async_trait;
use thiserror::Error;

/// A message to store: everything but the seq and the time, which the store assigns.
#[derive(Clone, Debug)]
pub struct Draft {
    /// Target room.
    pub room: RoomName,
    /// The publisher's name.
    pub from: UserName,
    /// The text.
    pub body: Body,
    /// The idempotency key.
    pub client_id: ClientId,
}

/// What [`Store::append`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Stored as a new message, which must now be broadcast.
    Stored(Message),
    /// This `client_id` was stored before in this room, as `seq`; nothing new was stored.
    Duplicate {
        /// The seq of the original.
        seq: u64,
    },
}

/// A room's identity and extent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomMeta {
    /// The identity of this history.
    pub epoch: Epoch,
    /// The newest stored seq, 0 for an empty room.
    pub last_seq: u64,
}

/// Messages between two seqs, for a replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    /// Oldest first.
    pub messages: Vec<Message>,
    /// False when retention dropped a message of the asked range, so a replay from it
    /// would have a gap.
    pub complete: bool,
}

/// A page of history, for `history` frames and the messages API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    /// Oldest first.
    pub messages: Vec<Message>,
    /// True when older messages exist before the first one.
    pub has_more: bool,
}

/// What each room keeps (every store that trims history enforces the same settings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Messages kept per room (the newest ones); 0 keeps all.
    pub max_messages: u64,
    /// Messages older than this are deleted; `None` keeps them regardless of age.
    pub max_age: Option<std::time::Duration>,
}

/// Why the store could not serve a call. The session answers `unavailable`, and the
/// client may retry with the same `client_id`.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The backing storage failed or is unreachable.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// Durable (or, for the memory store, process-lifetime) room history.
///
/// Contract, relied on by the hub for ordering:
/// - seqs of a room are assigned gapless from 1; a seq is returned by `append` only once
///   its message is stored, and a failed `append` consumes no seq;
/// - `append` with a `client_id` already stored in the room returns
///   [`Appended::Duplicate`] with the original seq and stores nothing;
/// - the epoch of a room is created with its history and changes only when that history
///   is lost.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The room's epoch and newest seq; creates the room's epoch on first use.
    async fn meta(&self, room: &RoomName) -> Result<RoomMeta, StoreError>;

    /// Stores a message, or finds its earlier copy by `client_id`.
    async fn append(&self, draft: Draft) -> Result<Appended, StoreError>;

    /// Messages with `after < seq < until`, oldest first, at most `max` of them.
    async fn range(
        &self,
        room: &RoomName,
        after: u64,
        until: u64,
        max: usize,
    ) -> Result<Range, StoreError>;

    /// Finishes what was queued and leaves the storage complete, at shutdown. The
    /// default has nothing to do.
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether the store can serve now: reads answer and writes can be taken. The
    /// default asks for a room's meta.
    async fn ready(&self) -> Result<(), StoreError> {
        let probe =
            RoomName::parse("readyz").map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.meta(&probe).await.map(|_| ())
    }

    /// The newest `limit` messages with a seq below `before` (or the newest of all).
    async fn history(
        &self,
        room: &RoomName,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError>;
}

/// Milliseconds since the Unix epoch, the `ts` of stored messages.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A fresh epoch: 16 hex digits that differ between histories and processes.
///
/// std's `RandomState` is seeded from the OS's randomness per process and then varies per
/// instance, which is all an epoch needs (uniqueness, not secrecy); no extra crate.
pub fn new_epoch() -> Epoch {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    Epoch::new(format!("{:016x}", h.finish()))
}
