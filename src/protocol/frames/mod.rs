//! The frames of protocol v1.
//!
//! [`ServerFrame`] is encoded by the server and decoded by the browser with serde.
//! [`ClientFrame`] is encoded by the browser with serde but decoded by the server with
//! [`crate::protocol::decode_client_frame`], because the contract fixes which error a
//! frame with several bad fields gets, which a derived deserializer cannot promise.
//!
//! - this file: the small types frames carry (limits, reasons, a join's name);
//! - `client.rs`: [`ClientFrame`] and the `ref` rule;
//! - `server.rs`: [`ServerFrame`].

pub use crate::protocol::message::{Content, Deleted, Message};
use crate::protocol::names::UserName;
use serde::{Deserialize, Serialize};

mod client;
mod server;

pub(crate) use self::client::reference;
pub use self::client::ClientFrame;
pub use self::server::ServerFrame;

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

#[cfg(test)]
mod tests;
