//! The frames of protocol v1.
//!
//! [`ServerFrame`] is encoded by the server and decoded by the browser with serde.
//! [`ClientFrame`] is encoded by the browser with serde but decoded by the server with
//! [`crate::protocol::decode_client_frame`], because the contract fixes which error a
//! frame with several bad fields gets, which a derived deserializer cannot promise.

use crate::protocol::error::ErrorCode;
pub use crate::protocol::message::{Content, Deleted, Message};
use crate::protocol::names::{Body, ClientId, Epoch, RoomName, Token, UserId, UserName};
use crate::protocol::presence::MembersLimit;
use crate::protocol::reaction::{Emoji, Reactions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many messages one `history` request returns: 1–100, 50 when not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct HistoryLimit(u8);

impl HistoryLimit {
    /// The most one page may hold.
    pub const MAX: u8 = 100;

    /// Accepts 1–100.
    pub fn new(n: u64) -> Option<Self> {
        (1..=u64::from(Self::MAX))
            .contains(&n)
            .then_some(Self(n as u8))
    }

    /// The limit as a count.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

impl Default for HistoryLimit {
    fn default() -> Self {
        Self(50)
    }
}

impl TryFrom<u64> for HistoryLimit {
    type Error = &'static str;
    fn try_from(n: u64) -> Result<Self, Self::Error> {
        Self::new(n).ok_or("limit must be 1-100")
    }
}

impl From<HistoryLimit> for u64 {
    fn from(l: HistoryLimit) -> u64 {
        u64::from(l.0)
    }
}

/// Why a connection was taken out of a room (`left`'s `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftReason {
    /// Removed from a private room's members (an extension: docs/protocol.md).
    Removed,
    /// Banned from the room by a moderator (v1.1 "Moderation").
    Banned,
}

/// What a moderator can do to a user in a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SanctionKind {
    /// Out of the room: their joins are `forbidden`.
    Ban,
    /// In the room, silent: their publishes are `forbidden`.
    Mute,
}

impl SanctionKind {
    /// As on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ban => "ban",
            Self::Mute => "mute",
        }
    }

    /// From [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ban" => Some(Self::Ban),
            "mute" => Some(Self::Mute),
            _ => None,
        }
    }
}

/// A `join`'s `name` as the client gave it. Three cases, because each means something
/// different for a guest: a name to be shown by, none at all (a guest who only reads:
/// v1.1 extension, docs/protocol.md), or one that breaks the rules (`invalid_name`). An
/// authenticated connection is shown by its identity's name whatever this says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum JoinName {
    /// No `name` (or `null`).
    #[default]
    Absent,
    /// A `name` that is not a valid [`UserName`].
    Invalid,
    /// A valid name.
    Given(UserName),
}

impl JoinName {
    /// The name, when one was given.
    pub fn given(&self) -> Option<&UserName> {
        match self {
            JoinName::Given(n) => Some(n),
            _ => None,
        }
    }

    /// Whether there is no `name` to encode.
    pub fn is_absent(&self) -> bool {
        *self == JoinName::Absent
    }
}

impl From<Option<UserName>> for JoinName {
    fn from(name: Option<UserName>) -> Self {
        name.map_or(JoinName::Absent, JoinName::Given)
    }
}

impl Serialize for JoinName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Absent is never encoded (`skip_serializing_if = "is_absent"`); an invalid name
        // encodes as one that is invalid again (""), so decoding gives back the same.
        match self {
            JoinName::Given(n) => n.serialize(s),
            _ => s.serialize_str(""),
        }
    }
}

/// A frame from a client, after validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Enter a room, optionally resuming after `since` in history `epoch`.
    Join {
        /// The room to enter.
        room: RoomName,
        /// How this connection is shown to the room (see [`JoinName`]).
        #[serde(skip_serializing_if = "JoinName::is_absent")]
        name: JoinName,
        /// The last seq the client has; asks for a replay of what came after.
        #[serde(skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
        /// The epoch `since` belongs to.
        #[serde(skip_serializing_if = "Option::is_none")]
        epoch: Option<Epoch>,
    },
    /// Leave a room.
    Leave {
        /// The room to leave.
        room: RoomName,
    },
    /// Store and broadcast a message.
    Publish {
        /// The room, which this connection must have joined.
        room: RoomName,
        /// The text.
        body: Body,
        /// Idempotency key: a retry with the same key stores nothing new.
        client_id: ClientId,
        /// v1.1: the seq of the earlier message this one answers.
        #[serde(skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
    },
    /// Read a page of history, newest page first.
    History {
        /// The room; no join needed.
        room: RoomName,
        /// Only messages with a seq below this; the newest when absent.
        #[serde(skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        /// Page size.
        limit: HistoryLimit,
    },
    /// Application-level keepalive for browsers, which cannot send ping frames.
    Ping,
    /// v1.1: become (or stay, with a fresh token) an authenticated user.
    Auth {
        /// A JWT from the application's backend.
        token: Token,
    },
    /// v1.1: erase a message's body (its author, or a moderator).
    Delete {
        /// The room.
        room: RoomName,
        /// The message.
        seq: u64,
    },
    /// v1.1: replace a message's body (its author only).
    Edit {
        /// The room.
        room: RoomName,
        /// The message.
        seq: u64,
        /// The new text.
        body: Body,
    },
    /// v1.1: keep a user out of a room (moderators), or, with `duration_s: 0`, let them
    /// back in (an extension).
    Ban {
        /// The room.
        room: RoomName,
        /// Who.
        user: UserId,
        /// For how long; for good when absent.
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_s: Option<u64>,
    },
    /// v1.1: stop a user publishing in a room (moderators); `duration_s: 0` lifts it.
    Mute {
        /// The room.
        room: RoomName,
        /// Who.
        user: UserId,
        /// For how long; for good when absent.
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_s: Option<u64>,
    },
    /// v1.1: add (`on: true`) or take back (`on: false`) this sender's reaction.
    React {
        /// The room, which this connection must have joined.
        room: RoomName,
        /// The message.
        seq: u64,
        /// The reaction.
        emoji: Emoji,
        /// Add or remove.
        on: bool,
    },
    /// An extension (docs/protocol.md): who reacted to a message, for a "who reacted"
    /// tooltip. Needs a join.
    Reactors {
        /// The room.
        room: RoomName,
        /// The message.
        seq: u64,
    },
    /// v1.1: a page of the room's member names, strictly after `after` in code-point
    /// order. Needs a join.
    Members {
        /// The room.
        room: RoomName,
        /// Where the previous page ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// At most this many names.
        #[serde(default)]
        limit: MembersLimit,
    },
}

impl ClientFrame {
    /// What an `error` about this frame names in its `ref`: a publish's `client_id`,
    /// another frame's `room`, nothing for `ping`.
    pub fn reference(&self) -> Option<String> {
        match self {
            ClientFrame::Publish {
                room, client_id, ..
            } => reference(true, Some(client_id.as_str()), Some(room.as_str())),
            ClientFrame::Join { room, .. }
            | ClientFrame::Leave { room }
            | ClientFrame::History { room, .. }
            | ClientFrame::Delete { room, .. }
            | ClientFrame::Edit { room, .. }
            | ClientFrame::Ban { room, .. }
            | ClientFrame::Mute { room, .. }
            | ClientFrame::React { room, .. }
            | ClientFrame::Reactors { room, .. }
            | ClientFrame::Members { room, .. } => reference(false, None, Some(room.as_str())),
            ClientFrame::Ping | ClientFrame::Auth { .. } => None,
        }
    }
}

/// The `ref` rule, in one place for frames that decoded and frames that did not (then
/// given only the fields that are themselves valid): a publish is named by its
/// `client_id`, or by its room when the id is not valid; any other frame by its room.
pub(crate) fn reference(
    publish: bool,
    client_id: Option<&str>,
    room: Option<&str>,
) -> Option<String> {
    if publish { client_id.or(room) } else { room }.map(str::to_owned)
}

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

impl ClientFrame {
    /// Encodes the frame as the JSON text sent on the wire.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"ping\"}"))
    }
}

#[cfg(test)]
#[path = "frames_tests.rs"]
mod tests;
