//! What a client sends: [`ClientFrame`], and the rule for what an `error` about it names.

use super::{HistoryLimit, JoinName};
use crate::protocol::names::{Body, ClientId, Epoch, RoomName, Token, UserId};
use crate::protocol::presence::MembersLimit;
use crate::protocol::reaction::Emoji;
use serde::Serialize;

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

impl ClientFrame {
    /// Encodes the frame as the JSON text sent on the wire.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"ping\"}"))
    }
}
