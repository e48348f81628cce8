//! What the hub hands a connection: frames encoded once and shared, through the
//! connection's bounded queue.

use crate::protocol::RoomName;
use crate::server::outbox::Outbox;
use axum::extract::ws::Utf8Bytes;
use std::sync::Arc;

/// A frame encoded once and shared by reference count with every recipient. axum's
/// `Utf8Bytes` is a `Bytes` known to be UTF-8, so a clone costs one atomic increment and
/// the socket can send it without copying or re-checking.
pub type Encoded = Utf8Bytes;

/// Identifies one connection within this process.
pub type ConnId = u64;

/// One stored message, encoded, on its way to members.
#[derive(Debug)]
pub struct Delivery {
    /// The room it belongs to.
    pub room: RoomName,
    /// Its seq, so a session can skip what it already sent (after a replay).
    pub seq: u64,
    /// The `message` frame's JSON.
    pub frame: Encoded,
}

/// A frame about a room (`presence`, `deleted`, `edited`), encoded once, on its way to
/// members: sent to a connection only while it is in the room.
#[derive(Debug)]
pub struct RoomFrame {
    /// The room it is about.
    pub room: RoomName,
    /// The frame's JSON.
    pub frame: Encoded,
}

/// A connection's user was muted in a room (or the mute was lifted).
#[derive(Debug)]
pub struct MuteChange {
    /// The room.
    pub room: RoomName,
    /// Until when (ms since the Unix epoch); `None` for good; the past when lifted.
    pub until: Option<u64>,
}

/// A connection's user was taken out of a room.
#[derive(Debug)]
pub struct Eviction {
    /// The room.
    pub room: RoomName,
    /// Why (`left`'s `reason`).
    pub reason: crate::protocol::LeftReason,
}

/// What the hub puts into a connection's queue: one pointer (16 bytes with the tag), so
/// the queue's first block of slots stays small for every idle connection.
#[derive(Clone, Debug)]
pub enum Outbound {
    /// A room message.
    Message(Arc<Delivery>),
    /// A presence frame for a room.
    Presence(Arc<RoomFrame>),
    /// Another frame for a room's members (a message deleted or edited).
    Notice(Arc<RoomFrame>),
    /// The connection's user was muted or unmuted in a room.
    Muted(Arc<MuteChange>),
    /// The room's history was lost (its epoch changed) while the connection was in it:
    /// the session closes with 1012 so the client reconnects and learns the new epoch.
    Restart(RoomName),
    /// The connection's user is out of the room: the session leaves it and says `left`.
    Evicted(Arc<Eviction>),
    /// The operator closes the connection (1012: it reconnects and resumes).
    Disconnect,
}

/// The hub's handle on one connection: its bounded queue and its slow-consumer alarm.
#[derive(Clone, Debug)]
pub struct ConnHandle {
    pub(super) id: ConnId,
    pub(super) tx: Outbox<Outbound>,
}

impl ConnHandle {
    /// This connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Resolves once the queue has overflowed: the connection fell too far behind.
    pub async fn overflowed(&self) {
        self.tx.overflowed().await
    }

    /// Queues a frame without waiting. A full queue raises the overflow alarm; a closed
    /// one means the session is ending and will leave its rooms itself.
    pub(super) fn deliver(&self, out: Outbound) {
        self.tx.push(out);
    }
}
