//! Moderation (v1.1): bans, mutes, slow mode and the audit log, and where they live.
//!
//! - this file: the values and the [`ModerationStore`] trait the stores implement;
//! - [`sqlite`], [`memory`], [`redis`]: the stores (beside the room directory's);
//! - [`http`]: `GET /api/rooms/{room}/audit`, `DELETE /api/rooms/{room}/messages/{seq}`,
//!   `PUT /api/rooms/{room}/slow_mode`.
//!
//! The acts themselves (delete, edit, ban, mute) are socket frames, applied in
//! [`crate::server::session`]; what they do to connections on every node goes through
//! [`crate::server::hub::Hub::notify`].

pub mod http;
pub mod memory;
pub mod redis;
pub mod sqlite;

use crate::protocol::{RoomName, SanctionKind, UserId};
use crate::server::store::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Acts a room's audit log keeps (the newest); older ones are dropped as new ones come,
/// so an author deleting their own messages all day cannot grow the disk without bound.
pub const MAX_ACTS: usize = 10_000;

/// What a moderator (or an author) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActKind {
    /// Erased a message.
    Delete,
    /// Changed a message's text.
    Edit,
    /// Banned a user.
    Ban,
    /// Lifted a ban.
    Unban,
    /// Muted a user.
    Mute,
    /// Lifted a mute.
    Unmute,
    /// Gave a user a role in the room.
    SetRole,
    /// Took a user's membership away.
    RemoveMember,
    /// Changed the room's slow mode.
    SlowMode,
    /// Deleted the room's whole history (the operator).
    Purge,
}

impl ActKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Edit => "edit",
            Self::Ban => "ban",
            Self::Unban => "unban",
            Self::Mute => "mute",
            Self::Unmute => "unmute",
            Self::SetRole => "set_role",
            Self::RemoveMember => "remove_member",
            Self::SlowMode => "slow_mode",
            Self::Purge => "purge",
        }
    }

    /// From [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Delete,
            Self::Edit,
            Self::Ban,
            Self::Unban,
            Self::Mute,
            Self::Unmute,
            Self::SetRole,
            Self::RemoveMember,
            Self::SlowMode,
            Self::Purge,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One entry of the audit log, as `GET /api/rooms/{room}/audit` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Act {
    /// What was done.
    pub act: ActKind,
    /// Who did it: a user id, or `"api"` for the API key.
    pub by: String,
    /// To whom (bans, mutes, roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<UserId>,
    /// To which message (deletes, edits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// When, in ms since the Unix epoch.
    pub ts: u64,
    /// The act's particulars, for people: a ban's end, a role, a slow mode's seconds
    /// (an extension: docs/protocol.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// When a ban or mute ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Never (until lifted).
    Forever,
    /// At this time, in ms since the Unix epoch.
    At(u64),
}

impl Until {
    /// Whether it still holds at `now_ms`.
    pub fn holds_at(self, now_ms: u64) -> bool {
        match self {
            Self::Forever => true,
            Self::At(t) => t > now_ms,
        }
    }

    /// On the wire: the time, or `null` for good.
    pub fn as_ms(self) -> Option<u64> {
        match self {
            Self::Forever => None,
            Self::At(t) => Some(t),
        }
    }
}

/// A user's sanctions in a room that still hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sanctions {
    /// Banned until.
    pub ban: Option<Until>,
    /// Muted until.
    pub mute: Option<Until>,
    /// The ban is the operator's, in every room (it holds for rooms' owners too).
    pub everywhere: bool,
}

impl Sanctions {
    /// The one of `kind`.
    pub fn of(&self, kind: SanctionKind) -> Option<Until> {
        match kind {
            SanctionKind::Ban => self.ban,
            SanctionKind::Mute => self.mute,
        }
    }

    /// Whether the ban holds at `now_ms`.
    pub fn banned_at(&self, now_ms: u64) -> bool {
        self.ban.is_some_and(|u| u.holds_at(now_ms))
    }
}

/// Where bans, mutes, slow mode and the audit log live. Expired sanctions read as none
/// (they end by themselves, however long the server was down).
#[async_trait]
pub trait ModerationStore: Send + Sync + 'static {
    /// `user`'s sanctions in `room` that hold at `now_ms`; a server-wide ban counts as a
    /// ban in every room.
    async fn sanctions(
        &self,
        room: &RoomName,
        user: &UserId,
        now_ms: u64,
    ) -> Result<Sanctions, StoreError>;

    /// Bans or mutes `user` until `until` (replacing an earlier one of the same kind).
    async fn sanction(
        &self,
        room: &RoomName,
        user: &UserId,
        kind: SanctionKind,
        until: Until,
    ) -> Result<(), StoreError>;

    /// Lifts `user`'s ban or mute (nothing if there is none).
    async fn lift(
        &self,
        room: &RoomName,
        user: &UserId,
        kind: SanctionKind,
    ) -> Result<(), StoreError>;

    /// Bans `user` from every room (the operator's, `/admin`); `None` lifts it.
    async fn set_server_ban(&self, user: &UserId, until: Option<Until>) -> Result<(), StoreError>;

    /// The room's slow mode: seconds between one user's messages (0: off).
    async fn slow_mode(&self, room: &RoomName) -> Result<u32, StoreError>;

    /// Sets the room's slow mode (0 turns it off).
    async fn set_slow_mode(&self, room: &RoomName, seconds: u32) -> Result<(), StoreError>;

    /// Appends an act to the room's audit log (keeping the newest [`MAX_ACTS`]).
    async fn record(&self, room: &RoomName, act: &Act) -> Result<(), StoreError>;

    /// The room's audit log, oldest first.
    async fn acts(&self, room: &RoomName) -> Result<Vec<Act>, StoreError>;
}

/// The longest slow mode: one message per hour.
pub const MAX_SLOW_MODE_S: u32 = 3600;
