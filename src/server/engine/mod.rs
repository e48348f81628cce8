//! What the nodes of a cluster share, behind the [`Engine`] trait.
//!
//! A node does two kinds of work. Connections, sessions and the fan-out to its own members
//! are local (the [`hub`](crate::server::hub)). The room's sequence and history, the
//! broadcast to members on *other* nodes, and the room's presence across nodes are shared;
//! an engine provides them:
//!
//! - [`local::LocalEngine`]: one node. History in the embedded store (SQLite by default),
//!   broadcast is the hub's own fan-out, presence is the hub's member list. The default.
//! - [`redis::RedisEngine`]: any number of nodes on one Redis (`--redis-url`). History,
//!   seqs, epochs and idempotency in Redis, assigned by one Lua script that also publishes
//!   the message to the room's channel, so no node ever sees a seq that is not stored.
//!
//! The hub talks to an engine through this trait and hears from it through a channel of
//! [`ClusterEvent`]s, so the hub's ordering rules (gapless, in seq order, each seq once)
//! hold whatever the engine: a message may reach the hub twice (from its own publish and
//! from the broadcast) or out of order, and the hub sorts that out.

pub mod local;
pub mod presence;
pub mod redis;

use crate::protocol::{LeftReason, Message, RoomName, UserId, UserName};
use crate::server::store::{Store, StoreError};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Connections per distinct name, as one node has them in one room.
pub type NameCounts = BTreeMap<UserName, u32>;

/// One other node's members of a room, as it last announced them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePresence {
    /// The node's id.
    pub node: String,
    /// Its members; empty when it has left the room.
    pub names: NameCounts,
    /// The version of the list (0 from nodes older than versioned presence): the node's
    /// later deltas apply on top of it (`presence.rs`).
    pub v: u64,
    /// How long this announcement holds if the node says nothing more (it re-announces
    /// well within it while alive). A node that dies is forgotten after this.
    pub ttl: Duration,
}

/// What an engine tells the hub.
#[derive(Clone, Debug)]
pub enum ClusterEvent {
    /// A message stored by any node (this one included) in a subscribed room.
    Message(Message),
    /// Another node's change to its members of a subscribed room.
    PresenceDelta {
        /// The room.
        room: RoomName,
        /// What changed.
        delta: crate::server::hub::RemoteDelta,
    },
    /// Another node's whole list of its members of a subscribed room (a heartbeat, a
    /// resync, or its last member gone).
    Presence {
        /// The room.
        room: RoomName,
        /// The node's announcement.
        presence: NodePresence,
    },
    /// The engine lost its link to the other nodes for a while and has it back: messages
    /// and presence may have been missed, so the hub re-reads what it holds.
    Resync,
    /// A site session signed out (on any node): its sockets here close with 4001.
    Revoked(crate::server::identity::SessionHash),
    /// The operator acted on the whole server (`/admin`).
    Admin(AdminCommand),
    /// Another node acted on a room's connections (an eviction, a mute, an amended
    /// message): so does this one, for its own.
    Note {
        /// The room.
        room: RoomName,
        /// What to do.
        note: RoomNote,
    },
}

/// What one node tells the others to do to their connections in a room (see
/// [`crate::server::hub::Hub::notify`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomNote {
    /// Take the user's connections out of the room.
    Evict {
        /// Who.
        user: UserId,
        /// Why (`left`'s `reason`).
        reason: LeftReason,
    },
    /// The user's publishes are refused until `until` (ms since the Unix epoch; `None`
    /// for good; a time past lifts it).
    Mute {
        /// Who.
        user: UserId,
        /// Until when.
        until: Option<u64>,
    },
    /// A frame for every member (`deleted`, `edited`).
    Frame {
        /// The frame.
        frame: crate::protocol::ServerFrame,
    },
    /// The room's slow mode changed (seconds between one user's messages; 0: off).
    SlowMode {
        /// The new setting.
        seconds: u32,
    },
    /// The room's history was deleted (`/admin`): it has a new epoch and starts at seq 1;
    /// its members are closed with 1012 and rejoin.
    Reset {
        /// The new epoch.
        epoch: crate::protocol::Epoch,
    },
}

/// The operator's action for every node (`/admin`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AdminCommand {
    /// Close connection `conn` of node `node` (the others ignore it).
    Disconnect {
        /// The node holding it.
        node: String,
        /// Its id there.
        conn: u64,
    },
    /// Close every connection of `user` (banned from every room).
    DisconnectUser {
        /// Who.
        user: UserId,
    },
    /// List your connections in `room` (JSON [`crate::server::hub::RoomConn`]s) and
    /// answer with [`Engine::reply`] to `reply` (see [`Engine::ask_room`]).
    ListRoom {
        /// The room.
        room: RoomName,
        /// Where the answer goes (the engine's own name for it).
        reply: String,
    },
}

/// The part of a room that the nodes of a cluster share.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    /// Sequence, history, epochs and idempotency, shared by every node.
    fn store(&self) -> Arc<dyn Store>;

    /// This node's id (unique in the cluster, for presence).
    fn node_id(&self) -> &str;

    /// How often the hub re-announces its members and expires other nodes' silent
    /// announcements; `None` when there are no other nodes (the local engine), and then
    /// the hub skips announcing altogether.
    fn heartbeat(&self) -> Option<Duration>;

    /// Starts receiving the room's messages and presence from other nodes, and returns
    /// the other nodes' current presence. Messages stored after this returns are
    /// delivered as [`ClusterEvent::Message`]; reading the room's meta afterwards gives
    /// the seam with nothing missed.
    async fn subscribe(&self, room: &RoomName) -> Result<Vec<NodePresence>, StoreError>;

    /// Stops receiving the room (this node has no members left in it).
    fn unsubscribe(&self, room: &RoomName);

    /// Tells the other nodes what changed in this node's members of the room, or the
    /// whole list (empty: none left); `names` is the whole list now, kept where a node
    /// that starts listening to the room reads it. Never waits; a lost announcement is
    /// repaired by the next heartbeat's whole list.
    fn announce(&self, room: &RoomName, said: presence::Announcement, names: &NameCounts);

    /// Tells the other nodes to apply `note` to their connections in `room` (see
    /// [`crate::server::hub::Hub::notify`]); nothing to tell on one node. Never waits.
    fn notify(&self, room: &RoomName, note: &RoomNote) {
        let _ = (room, note);
    }

    /// Shares this node's numbers (JSON) for the operator's view; nothing on one node.
    fn share_numbers(&self, node: &str, json: &str) {
        let _ = (node, json);
    }

    /// Every node's latest numbers as shared (JSON each); none on one node.
    async fn numbers(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// Sends the operator's action to the other nodes; nothing to send on one node.
    fn admin(&self, cmd: &AdminCommand) {
        let _ = cmd;
    }

    /// Every other node's connections in `room` (a JSON list each), as many as answer
    /// within a short wait ([`AdminCommand::ListRoom`]); none on one node.
    async fn ask_room(&self, room: &RoomName) -> Result<Vec<String>, StoreError> {
        let _ = room;
        Ok(Vec::new())
    }

    /// Answers another node's [`AdminCommand::ListRoom`]. Never waits.
    fn reply(&self, to: &str, json: String) {
        let _ = (to, json);
    }

    /// The other nodes' current presence in the room (after a [`ClusterEvent::Resync`]).
    async fn presence(&self, room: &RoomName) -> Result<Vec<NodePresence>, StoreError>;

    /// Whether the engine can serve now (for `/readyz`).
    async fn ready(&self) -> Result<(), StoreError> {
        self.store().ready().await
    }

    /// At shutdown: withdraws this node's presence and finishes the store's queued work.
    async fn close(&self) -> Result<(), StoreError> {
        self.store().close().await
    }
}
