//! The frames of protocol v1.
//!
//! [`ServerFrame`] is encoded by the server and decoded by the browser with serde.
//! [`ClientFrame`] is encoded by the browser with serde but decoded by the server with
//! [`crate::protocol::decode_client_frame`], because the contract fixes which error a
//! frame with several bad fields gets, which a derived deserializer cannot promise.

use crate::protocol::error::ErrorCode;
use crate::protocol::names::{Body, ClientId, Epoch, RoomName, Token, UserId, UserName};
use serde::{Deserialize, Serialize};

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

/// A stored message, as sent in `message` frames and inside `history` pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The room it was published in.
    pub room: RoomName,
    /// Its position in the room's history: gapless from 1.
    pub seq: u64,
    /// The publisher's name when it was published.
    pub from: UserName,
    /// The text, verbatim.
    pub body: Body,
    /// Server time of storing, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// The publisher's idempotency key.
    pub client_id: ClientId,
    /// v1.1: the publisher's user id when it was authenticated; absent for guests and for
    /// the HTTP API's bots, so nobody can pass for a user by their name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
}

/// Why a connection was taken out of a room (`left`'s `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftReason {
    /// Removed from a private room's members (an extension: docs/protocol.md).
    Removed,
}

/// A frame from a client, after validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Enter a room, optionally resuming after `since` in history `epoch`.
    Join {
        /// The room to enter.
        room: RoomName,
        /// How this connection is shown to the room: required of a guest; an
        /// authenticated connection is shown by its identity's name, and this is ignored
        /// (`None` when absent or invalid).
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<UserName>,
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
            | ClientFrame::History { room, .. } => reference(false, None, Some(room.as_str())),
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
        /// Distinct names in the room, sorted.
        members: Vec<UserName>,
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
        /// Distinct names, sorted.
        members: Vec<UserName>,
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
}

impl ClientFrame {
    /// Encodes the frame as the JSON text sent on the wire.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"ping\"}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg() -> Message {
        Message {
            room: RoomName::parse("lobby").unwrap(),
            seq: 7,
            from: UserName::parse("ann").unwrap(),
            body: Body::parse("hi <b>").unwrap(),
            ts: 1_700_000_000_000,
            client_id: ClientId::parse("c1").unwrap(),
            user: None,
        }
    }

    #[test]
    fn a_users_message_carries_its_user_and_authed_its_expiry() {
        let m = Message {
            user: Some(UserId::parse("u:42@site").unwrap()),
            ..msg()
        };
        let v: serde_json::Value =
            serde_json::from_str(&ServerFrame::Message(m.clone()).to_json()).unwrap();
        assert_eq!(v["user"], "u:42@site");
        let back: ServerFrame =
            serde_json::from_str(&ServerFrame::Message(m.clone()).to_json()).unwrap();
        assert_eq!(back, ServerFrame::Message(m));
        let authed = ServerFrame::Authed {
            user: UserId::parse("u1").unwrap(),
            name: UserName::parse("Ann").unwrap(),
            expires_at: 1_700_000_060_000,
        };
        let v: serde_json::Value = serde_json::from_str(&authed.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"type":"authed","user":"u1","name":"Ann","expires_at":1_700_000_060_000u64})
        );
    }

    #[test]
    fn message_frame_is_flat() {
        let v: serde_json::Value =
            serde_json::from_str(&ServerFrame::Message(msg()).to_json()).unwrap();
        assert_eq!(
            v,
            json!({"type":"message","room":"lobby","seq":7,"from":"ann","body":"hi <b>",
                   "ts":1_700_000_000_000u64,"client_id":"c1"})
        );
    }

    #[test]
    fn error_frame_fields() {
        let f = ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            reference: Some("c1".into()),
            retry_after_ms: Some(100),
        };
        let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"type":"error","code":"rate_limited","message":"slow down","ref":"c1","retry_after_ms":100})
        );
        let plain = ServerFrame::Error {
            code: ErrorCode::BadFrame,
            message: "x".into(),
            reference: None,
            retry_after_ms: None,
        };
        let v: serde_json::Value = serde_json::from_str(&plain.to_json()).unwrap();
        assert_eq!(v, json!({"type":"error","code":"bad_frame","message":"x"}));
    }

    #[test]
    fn server_frames_round_trip() {
        let frames = vec![
            ServerFrame::Joined {
                room: RoomName::parse("r").unwrap(),
                epoch: Epoch::new("e1"),
                last_seq: 0,
                online: 1,
                members: vec![UserName::parse("ann").unwrap()],
                recovered: false,
            },
            ServerFrame::Pong,
            ServerFrame::Message(msg()),
            ServerFrame::History {
                room: RoomName::parse("r").unwrap(),
                messages: vec![msg()],
                has_more: true,
            },
        ];
        for f in frames {
            let back: ServerFrame = serde_json::from_str(&f.to_json()).unwrap();
            assert_eq!(back, f);
        }
    }

    #[test]
    fn history_limit_bounds() {
        assert!(HistoryLimit::new(0).is_none());
        assert_eq!(HistoryLimit::new(1).map(HistoryLimit::get), Some(1));
        assert_eq!(HistoryLimit::new(100).map(HistoryLimit::get), Some(100));
        assert!(HistoryLimit::new(101).is_none());
        assert_eq!(HistoryLimit::default().get(), 50);
    }
}
