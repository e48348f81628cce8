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

pub mod budget;
#[cfg(test)]
pub mod conformance;
pub mod memory;
pub mod reactions;
pub mod sqlite;

pub use budget::{within_bytes, ByteBudget};
pub use reactions::{Reacted, Reaction, Reactor, Reactors};

use crate::protocol::{Body, ClientId, Epoch, Message, RoomName, UserId, UserName};
use async_trait::async_trait;
use std::sync::Arc;
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
    /// The publisher's user id, when it is authenticated (v1.1).
    pub user: Option<UserId>,
    /// The earlier message of the room this one answers (v1.1); the session has
    /// checked it is stored.
    pub reply_to: Option<u64>,
}

/// A change to a stored message's content (v1.1 "Moderation").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Amendment {
    /// Erase its body for good; the seq, sender and time stay.
    Delete,
    /// Replace its body (a deleted message stays deleted).
    Edit {
        /// The new text.
        body: Body,
        /// When (ms since the Unix epoch): the message's `edited_ts`.
        ts: u64,
    },
}

impl Amendment {
    /// `msg` with this change made (what every store stores).
    pub fn apply(&self, msg: &mut Message) {
        match self {
            Self::Delete => {
                // A deleted message keeps no reactions either (docs/protocol.md).
                msg.content = crate::protocol::Content::deleted();
                msg.reactions = crate::protocol::Reactions::new();
            }
            Self::Edit { body, ts } if !msg.is_deleted() => {
                msg.content = crate::protocol::Content::Text {
                    body: body.clone(),
                    edited_ts: Some(*ts),
                }
            }
            Self::Edit { .. } => {}
        }
    }
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

/// What the store keeps (every store that trims history enforces the same settings).
/// Together they bound the disk: at most `max_rooms` rooms hold messages, each at most
/// `max_bytes` of them, for at most `max_age`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Messages kept per room (the newest ones); 0 keeps all.
    pub max_messages: u64,
    /// Bytes of messages kept per room (the newest ones, counted by [`stored_size`]);
    /// 0 keeps all. The newest message always stays, however big.
    pub max_bytes: u64,
    /// Messages older than this are deleted; `None` keeps them regardless of age.
    pub max_age: Option<std::time::Duration>,
    /// Rooms that may hold messages at once; 0: no cap. A first message for one more
    /// is refused with [`StoreError::RoomsFull`] (rooms free up as their messages
    /// expire). Enforced by the SQLite and memory stores; see `docs/operations.md` for
    /// Redis.
    pub max_rooms: u64,
}

/// The bytes a message takes in the store, for [`Retention::max_bytes`]: its sender's
/// name, body and `client_id` (what the store keeps of it beyond fixed-size numbers).
pub fn stored_size(from: &str, body: &str, client_id: &str) -> u64 {
    (from.len() + body.len() + client_id.len()) as u64
}

/// Why the store could not serve a call. The client is answered `unavailable` (and may
/// retry with the same `client_id`); the cause goes to the log, once, where the client is
/// refused ([`crate::server::refusal::Refusal::to_frame`]), written out whole with
/// [`StoreError::report`]. Nothing of it reaches the client.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite failed (shared: one failed batch commit refuses every publish in it).
    #[error("store unavailable: SQLite failed")]
    Sqlite(#[source] Arc<rusqlite::Error>),
    /// Redis failed or could not be reached.
    #[error("store unavailable: Redis failed ({context})")]
    Redis {
        /// What was being done.
        context: &'static str,
        /// Redis's error.
        #[source]
        source: redis::RedisError,
    },
    /// A part of the store that calls go through has stopped (the SQLite writer thread,
    /// the Redis subscriber task); a restart is needed.
    #[error("store unavailable: {0} has stopped")]
    Stopped(&'static str),
    /// The link to the other nodes is down (the node cannot hear their messages).
    #[error("store unavailable: {0}")]
    Disconnected(&'static str),
    /// The backing storage did not answer in time.
    #[error("store unavailable: {0} timed out")]
    TimedOut(&'static str),
    /// A task doing the work panicked or was cancelled.
    #[error("store unavailable: the {0} task failed")]
    Task(&'static str, #[source] tokio::task::JoinError),
    /// The store already holds [`Retention::max_rooms`] rooms with messages, and this
    /// publish would have been the first of one more. Nothing was stored; a retry works
    /// once a room's messages have expired (or in a room that has messages).
    #[error("the server holds its maximum of {max} rooms with messages; post in an existing room")]
    RoomsFull {
        /// The cap.
        max: u64,
    },
    /// A publish's `reply_to` names no stored message of its room (v1.1); nothing was
    /// stored. The client is answered `not_found`, not `unavailable`.
    #[error("no message {seq} in this room to reply to")]
    NoSuchReply {
        /// The `reply_to`.
        seq: u64,
    },
    /// The store holds something this server cannot read (written by another program or
    /// version).
    #[error("store unavailable: unreadable {what} in the store")]
    Corrupt {
        /// What could not be read.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(Arc::new(e))
    }
}

impl StoreError {
    /// The error and every cause under it, `outer: inner: innermost`, for the log (the
    /// `Display` of the error alone says only what failed, not why).
    pub fn report(&self) -> ErrorReport<'_> {
        ErrorReport(self)
    }
}

/// Writes an error with its whole cause chain (see [`StoreError::report`]).
pub struct ErrorReport<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

/// Durable (or, for the memory store, process-lifetime) room history.
///
/// Contract, relied on by the hub for ordering:
/// - seqs of a room are assigned gapless from 1; a seq is returned by `append` only once
///   its message is stored, and a failed `append` consumes no seq;
/// - `append` with a `client_id` already stored in the room returns
///   [`Appended::Duplicate`] with the original seq and stores nothing;
/// - the epoch of a room is created with its history and changes only when that history
///   is lost;
/// - **an `append` takes its place in line on its first poll**: appends first polled in
///   one order are stored in that order (and get increasing seqs), whatever order their
///   later polls come in. An implementation must hand the draft to its queue (or do the
///   whole write) before its future first returns `Pending`, never after an `.await` of
///   its own. [`crate::server::hub::Hub::publish`] polls once in the caller and finishes
///   in a task; that is how a session keeps a client's pipelined publishes in order.
///   `conformance::appends_take_their_place_on_the_first_poll` checks it.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The room's epoch and newest seq; creates the room's epoch on first use.
    async fn meta(&self, room: &RoomName) -> Result<RoomMeta, StoreError>;

    /// Stores a message, or finds its earlier copy by `client_id`. Takes its place in the
    /// store's order on the first poll (see the trait's contract).
    async fn append(&self, draft: Draft) -> Result<Appended, StoreError>;

    /// Messages with `after < seq < until`, oldest first: at most `max` of them, and no
    /// more once their bodies add up to `max_bytes` (the first always comes, however
    /// big), so a page in memory stays small whatever the bodies are.
    async fn range(
        &self,
        room: &RoomName,
        after: u64,
        until: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Range, StoreError>;

    /// The stored message `seq` of the room, if it is there (not dropped by retention).
    async fn message(&self, room: &RoomName, seq: u64) -> Result<Option<Message>, StoreError>;

    /// Changes a stored message's content durably (an erased body is gone from the
    /// storage, not only hidden: see each store) and returns it as it now is; `None`
    /// when no such message is stored.
    async fn amend(
        &self,
        room: &RoomName,
        seq: u64,
        change: Amendment,
    ) -> Result<Option<Message>, StoreError>;

    /// Adds or takes back one reaction to the stored message `seq`, durably, and
    /// returns the message's counts: [`Reacted::NotFound`] when it is not stored or is
    /// deleted, [`Reacted::TooMany`] for one emoji too many. Deleting a message deletes
    /// its reactions; retention drops them with it.
    async fn react(
        &self,
        room: &RoomName,
        seq: u64,
        reaction: Reaction,
    ) -> Result<Reacted, StoreError>;

    /// Who reacted to the stored message `seq`, and with what the reactor `key` did;
    /// `None` when it is not stored or is deleted.
    async fn reactors(
        &self,
        room: &RoomName,
        seq: u64,
        key: &str,
    ) -> Result<Option<Reactors>, StoreError>;

    /// Deletes the room's whole history and gives it a new epoch (seqs start at 1
    /// again); returns its new meta. The text is erased as a deletion's is.
    async fn purge(&self, room: &RoomName) -> Result<RoomMeta, StoreError>;

    /// Finishes what was queued and leaves the storage complete, at shutdown. The
    /// default has nothing to do.
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether the store can serve now: reads answer and writes can be taken. The
    /// default asks for a room's meta.
    async fn ready(&self) -> Result<(), StoreError> {
        let probe = RoomName::parse("readyz").expect("\"readyz\" is a valid room name");
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
