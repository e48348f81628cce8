//! What the server sends: [`ServerFrame`].

use super::{LeftReason, SanctionKind};
use crate::protocol::error::ErrorCode;
use crate::protocol::message::Message;
use crate::protocol::names::{Body, ClientId, Epoch, RoomName, UserId, UserName};
use crate::protocol::reaction::{Emoji, Reactions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A frame from the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The answer to `join`.
    Joined {
        /// The room joined.
        room: RoomName,
        /// The identity of the room's history.
        epoch: Epoch,
        /// The newest seq before live messages start (0 for an empty room).
        last_seq: u64,
        /// Open connections in the room.
        online: u32,
        /// The first distinct names in the room, sorted (at most
        /// [`MEMBERS_CAP`](crate::protocol::MEMBERS_CAP)).
        members: Vec<UserName>,
        /// v1.1: how many distinct names there are (a v1 server's frame has none: then
        /// `members` is all of them).
        #[serde(default)]
        members_total: u32,
        /// True when `since` was given and everything after it is replayed next.
        recovered: bool,
    },
    /// The answer to `leave`, or the room taking the connection out (with a reason).
    Left {
        /// The room left.
        room: RoomName,
        /// Why the room took the connection out; absent for its own `leave`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<LeftReason>,
    },
    /// A stored message, live or replayed.
    Message(Message),
    /// The publish with this `client_id` is stored as `seq`.
    Ack {
        /// The room.
        room: RoomName,
        /// The publish's idempotency key.
        client_id: ClientId,
        /// Where it is stored.
        seq: u64,
    },
    /// Someone joined or left.
    Presence {
        /// The room.
        room: RoomName,
        /// Open connections in the room.
        online: u32,
        /// The first distinct names, sorted (at most
        /// [`MEMBERS_CAP`](crate::protocol::MEMBERS_CAP)).
        members: Vec<UserName>,
        /// v1.1: how many distinct names there are.
        #[serde(default)]
        members_total: u32,
    },
    /// The answer to `history`.
    History {
        /// The room.
        room: RoomName,
        /// Oldest first.
        messages: Vec<Message>,
        /// True when older messages exist before the first one here.
        has_more: bool,
    },
    /// The answer to `ping`.
    Pong,
    /// v1.1: the answer to `auth`: who this connection now is.
    Authed {
        /// The token's `sub`.
        user: UserId,
        /// The name shown for it.
        name: UserName,
        /// The token's `exp`, in ms since the Unix epoch: refresh before it.
        expires_at: u64,
    },
    /// v1.1: a message's body was erased (by its author or a moderator).
    Deleted {
        /// The room.
        room: RoomName,
        /// The message.
        seq: u64,
        /// The acting user's id, or `"api"` for the HTTP API's key.
        by: String,
    },
    /// v1.1: a message's author replaced its body.
    Edited {
        /// The room.
        room: RoomName,
        /// The message.
        seq: u64,
        /// The new text.
        body: Body,
        /// When, in ms since the Unix epoch.
        edited_ts: u64,
    },
    /// An extension (docs/protocol.md): the answer to `ban` and `mute`, to the
    /// moderator who sent it.
    Moderated {
        /// The room.
        room: RoomName,
        /// `"ban"` or `"mute"`.
        act: SanctionKind,
        /// Who.
        user: UserId,
        /// When it ends (ms since the Unix epoch); `null` for good, and the past when
        /// it was lifted.
        until: Option<u64>,
    },
    /// v1.1: a message's reactions changed; `counts` is the whole new set (emoji at 0
    /// left out, so `{}` when the last one was taken back).
    Reactions {
        /// The room.
        room: RoomName,
        /// The message.
        seq: u64,
        /// How many react with each emoji.
        counts: Reactions,
    },
    /// v1.1: the answer to `members`: a page of names.
    Members {
        /// The room.
        room: RoomName,
        /// Names strictly after the request's `after`, sorted.
        members: Vec<UserName>,
        /// More names follow the last one here.
        has_more: bool,
    },
    /// An extension (docs/protocol.md): the answer to `reactors`.
    Reactors {
        /// The room.
        room: RoomName,
        /// The message.
        seq: u64,
        /// Per emoji, the names of the first who reacted (at most 25, oldest first);
        /// `counts` in `reactions` tells how many there are in all.
        by: BTreeMap<Emoji, Vec<UserName>>,
        /// The emoji this connection reacts with (a user's across tabs).
        mine: Vec<Emoji>,
    },
    /// A refused frame.
    Error {
        /// What went wrong, for programs.
        code: ErrorCode,
        /// What went wrong, for people.
        message: String,
        /// The `client_id` or room the error is about.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// With `rate_limited` only: when a retry can succeed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl ServerFrame {
    /// Encodes the frame as the JSON text sent on the wire.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: every field is a string, number, bool or
        // a sequence of them, and every map key is a string.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"pong\"}"))
    }

    /// The room the frame is about, if it names one: a client with several rooms on one
    /// connection hands it to that room (an `error` names its room, if at all, in `ref`).
    pub fn room(&self) -> Option<&RoomName> {
        match self {
            Self::Joined { room, .. }
            | Self::Left { room, .. }
            | Self::Ack { room, .. }
            | Self::Presence { room, .. }
            | Self::History { room, .. }
            | Self::Deleted { room, .. }
            | Self::Edited { room, .. }
            | Self::Moderated { room, .. }
            | Self::Reactions { room, .. }
            | Self::Reactors { room, .. }
            | Self::Members { room, .. } => Some(room),
            Self::Message(m) => Some(&m.room),
            Self::Pong | Self::Authed { .. } | Self::Error { .. } => None,
        }
    }
}
