//! A stored message, as `message` frames and `history` pages carry it, and what it holds
//! now: its text (maybe edited) or nothing at all (deleted).
//!
//! [`Content`] makes the contract's rule a type: a message has a `body` (and, once
//! edited, an `edited_ts`) or it is `deleted: true` with no body, never both and never
//! neither. On the wire both are flat fields of the message object.

use crate::protocol::names::{Body, ClientId, RoomName, UserId, UserName};
use crate::protocol::reaction::Reactions;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A stored message, as sent in `message` frames and inside `history` pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The room it was published in.
    pub room: RoomName,
    /// Its position in the room's history: gapless from 1.
    pub seq: u64,
    /// The publisher's name when it was published.
    pub from: UserName,
    /// Its text, or that it was deleted (flat on the wire: `body`, `edited_ts`, `deleted`).
    #[serde(flatten)]
    pub content: Content,
    /// Server time of storing, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// The publisher's idempotency key.
    pub client_id: ClientId,
    /// v1.1: the publisher's user id when it was authenticated; absent for guests and for
    /// the HTTP API's bots, so nobody can pass for a user by their name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    /// v1.1: the seq of the earlier message in the room this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// v1.1: its reactions, when it has any (replay and `history`; live messages are
    /// new and have none). A deleted message has none.
    #[serde(default, skip_serializing_if = "Reactions::is_empty")]
    pub reactions: Reactions,
}

impl Message {
    /// Its text, unless it was deleted.
    pub fn body(&self) -> Option<&Body> {
        match &self.content {
            Content::Text { body, .. } => Some(body),
            Content::Deleted { .. } => None,
        }
    }

    /// The bytes of its text (0 once deleted), for byte budgets.
    pub fn body_len(&self) -> usize {
        self.body().map_or(0, |b| b.as_str().len())
    }

    /// When its author last edited it (ms since the Unix epoch).
    pub fn edited_ts(&self) -> Option<u64> {
        match &self.content {
            Content::Text { edited_ts, .. } => *edited_ts,
            Content::Deleted { .. } => None,
        }
    }

    /// Whether it was deleted.
    pub fn is_deleted(&self) -> bool {
        matches!(self.content, Content::Deleted { .. })
    }
}

/// What a stored message holds now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Its text, verbatim.
    Text {
        /// The text (the latest, after edits).
        body: Body,
        /// When its author last edited it; absent if never.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edited_ts: Option<u64>,
    },
    /// Deleted by its author or a moderator: the text is gone from the store, the seq
    /// stays so histories stay gapless.
    Deleted {
        /// Always `true` on the wire.
        deleted: Deleted,
    },
}

impl Content {
    /// Text that was never edited.
    pub fn text(body: Body) -> Self {
        Self::Text {
            body,
            edited_ts: None,
        }
    }

    /// A deleted message's content.
    pub fn deleted() -> Self {
        Self::Deleted { deleted: Deleted }
    }
}

/// The `deleted: true` of a deleted message: a value with one state, so a message can
/// never say `deleted: false` and have no body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deleted;

impl Serialize for Deleted {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(true)
    }
}

impl<'de> Deserialize<'de> for Deleted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if bool::deserialize(d)? {
            Ok(Deleted)
        } else {
            Err(serde::de::Error::custom("deleted must be true"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerFrame;
    use serde_json::json;

    fn msg(content: Content) -> Message {
        Message {
            room: RoomName::parse("lobby").unwrap(),
            seq: 3,
            from: UserName::parse("ann").unwrap(),
            content,
            ts: 10,
            client_id: ClientId::parse("c1").unwrap(),
            user: None,
            reply_to: None,
            reactions: Reactions::new(),
        }
    }

    #[test]
    fn the_three_shapes_on_the_wire_and_back() {
        let plain = msg(Content::text(Body::parse("hi").unwrap()));
        let edited = msg(Content::Text {
            body: Body::parse("hey").unwrap(),
            edited_ts: Some(20),
        });
        let gone = msg(Content::deleted());
        let wire = |m: &Message| -> serde_json::Value {
            serde_json::from_str(&ServerFrame::Message(m.clone()).to_json()).unwrap()
        };
        assert_eq!(
            wire(&plain),
            json!({"type":"message","room":"lobby","seq":3,"from":"ann","body":"hi","ts":10,"client_id":"c1"})
        );
        assert_eq!(wire(&edited)["edited_ts"], 20);
        assert_eq!(wire(&edited)["body"], "hey");
        assert_eq!(
            wire(&gone),
            json!({"type":"message","room":"lobby","seq":3,"from":"ann","deleted":true,"ts":10,"client_id":"c1"})
        );
        for m in [plain, edited, gone] {
            let back: ServerFrame =
                serde_json::from_str(&ServerFrame::Message(m.clone()).to_json()).unwrap();
            assert_eq!(back, ServerFrame::Message(m.clone()));
            let alone: Message = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
            assert_eq!(alone, m);
        }
    }

    #[test]
    fn neither_body_nor_deleted_is_not_a_message() {
        let v = json!({"room":"lobby","seq":3,"from":"ann","ts":10,"client_id":"c1"});
        assert!(serde_json::from_value::<Message>(v).is_err());
        let v =
            json!({"room":"lobby","seq":3,"from":"ann","deleted":false,"ts":10,"client_id":"c1"});
        assert!(serde_json::from_value::<Message>(v).is_err());
    }
}
