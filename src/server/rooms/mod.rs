//! Rooms with owners (v1.1): public or private, an owner, members and moderators,
//! invite links.
//!
//! - this file: the values and the [`RoomDirectory`] trait the stores implement;
//! - [`access`]: who may read a room ([`access::RoomAccess`]), for the socket, the HTTP
//!   API, the pages and the lobby;
//! - [`http`]: `/api/rooms` (create, settings, members); [`invites`]: making and
//!   accepting invites;
//! - [`forms`]: the pages' forms (create a room, make an invite, accept one);
//! - [`sqlite`], [`memory`], [`redis`]: where settings, members and invites live.
//!
//! A room without settings is public with no owner: v1's rooms, and any room someone
//! just publishes into.

pub mod access;
pub mod forms;
pub mod http;
pub mod invites;
pub mod members;
pub mod memory;
pub mod redis;
pub mod sqlite;

use crate::protocol::{RoomName, UserId};
use crate::server::store::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Who may enter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Anyone (v1).
    Public,
    /// Its members only; to everyone else it does not exist.
    Private,
}

impl Visibility {
    /// As stored and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }

    /// From [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(Self::Public),
            "private" => Some(Self::Private),
            _ => None,
        }
    }
}

/// Someone's place in a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May read and publish (in a private room, may enter at all).
    Member,
    /// A member who may manage members and invites (and, later, moderate).
    Moderator,
    /// Made the room.
    Owner,
}

impl Role {
    /// As stored and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Moderator => "moderator",
            Self::Owner => "owner",
        }
    }

    /// From [`Self::as_str`] (`owner` only as stored: nobody is made owner by a request).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(Self::Member),
            "moderator" => Some(Self::Moderator),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }
}

/// A room's settings, stored with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomSettings {
    /// Who may enter.
    pub visibility: Visibility,
    /// Who made it (`None`: made with the API key, or a v1 room).
    pub owner: Option<UserId>,
}

/// Members a room may have at most (its owner aside).
pub const MAX_MEMBERS: usize = 10_000;
/// Invites a room may have unexpired at once.
pub const MAX_INVITES: usize = 100;

/// Why a write to the directory was refused.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The room has settings already.
    #[error("the room exists")]
    Exists,
    /// A cap ([`MAX_MEMBERS`], [`MAX_INVITES`]) is reached.
    #[error("the room has as many {0} as it may")]
    Full(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where room settings, members and invites live.
#[async_trait]
pub trait RoomDirectory: Send + Sync + 'static {
    /// The room's settings (`None`: a plain public room).
    async fn settings(&self, room: &RoomName) -> Result<Option<RoomSettings>, StoreError>;

    /// Stores settings for a room that has none ([`DirectoryError::Exists`] otherwise).
    async fn create(&self, room: &RoomName, settings: &RoomSettings) -> Result<(), DirectoryError>;

    /// A member's role (the owner is not listed here: see [`RoomSettings::owner`]).
    async fn member(&self, room: &RoomName, user: &UserId) -> Result<Option<Role>, StoreError>;

    /// Adds a member or changes its role (at most [`MAX_MEMBERS`]).
    async fn set_member(
        &self,
        room: &RoomName,
        user: &UserId,
        role: Role,
    ) -> Result<(), DirectoryError>;

    /// Every member and its role, by user id (the owner is not among them), for the
    /// owner's member list; at most [`MAX_MEMBERS`].
    async fn members(&self, room: &RoomName) -> Result<Vec<(UserId, Role)>, StoreError>;

    /// Removes a member (no error if it was not one).
    async fn remove_member(&self, room: &RoomName, user: &UserId) -> Result<(), StoreError>;

    /// The rooms `user` owns or is a member of, by name, at most `max` (the sidebar's
    /// "your rooms"; found by an index on the user, never a scan of every room).
    async fn rooms_of(&self, user: &UserId, max: usize) -> Result<Vec<RoomName>, StoreError>;

    /// Stores an invite code's hash for `room` until `expires_ms` (at most
    /// [`MAX_INVITES`] unexpired per room).
    async fn add_invite(
        &self,
        hash: [u8; 32],
        room: &RoomName,
        expires_ms: u64,
    ) -> Result<(), DirectoryError>;

    /// The room an unexpired invite is for.
    async fn invite(&self, hash: [u8; 32], now_ms: u64) -> Result<Option<RoomName>, StoreError>;
}
