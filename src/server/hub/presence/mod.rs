//! Who is in a room: this node's members counted by name, merged with what other nodes
//! announce, and sent to members in batches.
//!
//! Every `presence` frame carries the whole member list, so one per join would make a room
//! filling up quadratic (1000 people arriving: half a million frames of up to 8 KiB). A
//! room therefore sends at most one presence frame per [`presence_interval`]: a change
//! after a quiet spell goes out at once, changes inside the interval are folded into one
//! frame at its end, which carries the state as it is then. The joiner itself learns the
//! state from `joined`. Names are counted incrementally, so a join costs no scan of the
//! room.
//!
//! With a shared engine the room's presence is this node's members merged with what
//! other nodes announce; this node announces what changed with the same coalescing as
//! presence frames, its whole list every heartbeat ([`super::cluster`]; how deltas and
//! whole lists fit: `engine/presence.rs`), and forgets another node's members when their
//! announcement expires.

use super::outbound::{ConnId, Outbound, RoomFrame};
use super::room::RoomState;
use super::Hub;
use crate::protocol::{RoomName, ServerFrame, UserName, MEMBERS_CAP};
use crate::server::engine::presence::Announcement;
use crate::server::engine::{NameCounts, NodePresence};
use crate::sync::lock;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use tokio::time::Instant;

mod coalesce;
mod remote;

pub use self::coalesce::presence_interval;
#[cfg(test)]
pub(super) use self::coalesce::PRESENCE_INTERVAL;
use self::coalesce::{Coalescer, When};
use self::remote::Remote;
pub use self::remote::RemoteDelta;

/// What a scheduled task sends.
#[derive(Clone, Copy, Debug)]
enum Due {
    /// A presence frame to this node's members.
    Frame,
    /// This node's members to the other nodes.
    Announce,
}

/// A room's presence: the names on this node, other nodes' announcements, and the two
/// batching clocks (frames to members, announcements to other nodes).
#[derive(Default)]
pub(super) struct Presence {
    /// Connections per distinct name (several tabs of one person count once).
    names: NameCounts,
    /// This node's connections with a name (the sum of `names`, kept as it changes).
    named: u32,
    /// This node's list's version, as last announced (shared engines).
    version: u64,
    /// Names whose count changed since the last announcement.
    changed: BTreeSet<UserName>,
    /// Other nodes' members, by node id (shared engines only).
    remote: HashMap<String, Remote>,
    /// Presence frames to this node's members.
    frames: Coalescer,
    /// Announcements of this node's members to the others.
    announce: Coalescer,
}

impl Presence {
    /// One more connection under `name`.
    pub(super) fn count_in(&mut self, name: &UserName) {
        *self.names.entry(name.clone()).or_insert(0) += 1;
        self.named += 1;
        self.changed.insert(name.clone());
    }

    /// One connection fewer under `name`.
    pub(super) fn count_out(&mut self, name: &UserName) {
        if let Some(n) = self.names.get_mut(name) {
            *n -= 1;
            if *n == 0 {
                self.names.remove(name);
            }
            self.named -= 1;
            self.changed.insert(name.clone());
        }
    }

    /// This node's members by name.
    pub(in crate::server::hub) fn names(&self) -> &NameCounts {
        &self.names
    }

    /// What changed since the last announcement, as the next version (nothing: `None`).
    fn take_delta(&mut self) -> Option<Announcement> {
        if self.changed.is_empty() {
            return None;
        }
        let changes = std::mem::take(&mut self.changed)
            .into_iter()
            .map(|n| {
                let count = self.names.get(&n).copied().unwrap_or(0);
                (n, count)
            })
            .collect();
        let base = self.version;
        self.version += 1;
        Some(Announcement::Delta {
            base,
            v: self.version,
            changes,
        })
    }

    /// The whole list, as a version of its own: a node that missed a delta before it
    /// must not take a later delta on top of this (heartbeats, resyncs). Empty: the
    /// others drop this node's entry, which is version 0, so the versions start again.
    pub(super) fn full(&mut self) -> Announcement {
        self.changed.clear();
        self.version = if self.names.is_empty() {
            0
        } else {
            self.version + 1
        };
        Announcement::Full {
            v: self.version,
            names: self.names.clone(),
        }
    }

    /// Changes are not announced (one node): nothing to remember.
    fn forget_changes(&mut self) {
        self.changed.clear();
    }

    /// Open connections with a name, the first [`MEMBERS_CAP`] distinct names and how
    /// many there are, over every node.
    pub(super) fn summary(&self) -> Summary {
        let online = self.named + self.remote_connections();
        let (first, total) =
            self.with_distinct(|names, total| (names.take(MEMBERS_CAP).cloned().collect(), total));
        Summary {
            online,
            first,
            total: u32::try_from(total).unwrap_or(u32::MAX),
        }
    }

    /// Up to `limit` distinct names strictly after `after` (code-point order, over every
    /// node), and whether more follow.
    pub(super) fn page(&self, after: Option<&str>, limit: usize) -> (Vec<UserName>, bool) {
        self.with_distinct(|names, _| {
            let mut rest = names.skip_while(|n| after.is_some_and(|a| n.as_str() <= a));
            let page: Vec<UserName> = rest.by_ref().take(limit).cloned().collect();
            (page, rest.next().is_some())
        })
    }

    /// Runs `f` over the distinct names of every node, sorted, and their number. On one
    /// node that is this node's map as it is; with other nodes' members, a merge.
    fn with_distinct<T>(
        &self,
        f: impl FnOnce(&mut dyn Iterator<Item = &UserName>, usize) -> T,
    ) -> T {
        if self.remote.is_empty() {
            return f(&mut self.names.keys(), self.names.len());
        }
        let names: BTreeSet<&UserName> = self
            .names
            .keys()
            .chain(self.remote.values().flat_map(|r| r.names.keys()))
            .collect();
        let total = names.len();
        f(&mut names.into_iter(), total)
    }
}

/// What a `joined` or `presence` frame says of a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Open connections with a name.
    pub online: u32,
    /// The first [`MEMBERS_CAP`] distinct names, sorted.
    pub first: Vec<UserName>,
    /// How many distinct names there are.
    pub total: u32,
}

impl RoomState {
    /// Open connections and distinct names, over every node. Readers (guests joined
    /// without a name) count in neither, here as in other nodes' announcements.
    pub(super) fn online(&self) -> Summary {
        self.presence.summary()
    }

    /// Open connections with a name, over every node (without the names).
    pub(super) fn connections(&self) -> u32 {
        self.presence.named + self.presence.remote_connections()
    }

    /// Sends the current presence now and, if it reached anyone, starts a new interval.
    fn send_presence(&mut self, room: &RoomName, except: Option<ConnId>) {
        let reached = self.broadcast_presence(room, except);
        self.presence.frames.done(reached);
    }

    /// Sends the current presence to every member but `except`; true if anyone got it.
    fn broadcast_presence(&self, room: &RoomName, except: Option<ConnId>) -> bool {
        if self.members.keys().all(|id| Some(*id) == except) {
            return false;
        }
        let now = self.online();
        let update = Arc::new(RoomFrame {
            room: room.clone(),
            frame: ServerFrame::Presence {
                room: room.clone(),
                online: now.online,
                members: now.first,
                members_total: now.total,
            }
            .to_json()
            .into(),
        });
        for (id, m) in &self.members {
            if Some(*id) != except {
                m.conn.deliver(Outbound::Presence(update.clone()));
            }
        }
        true
    }
}

impl Hub {
    /// The room's membership changed (here or on another node): tell this node's members
    /// (but `except`, who learns it from `joined`) now, or at the end of the current
    /// interval.
    pub(super) fn members_changed(
        &self,
        room: &RoomName,
        st: &mut RoomState,
        except: Option<ConnId>,
    ) {
        let online = st.connections();
        match st
            .presence
            .frames
            .changed(presence_interval(online as usize))
        {
            When::Now => st.send_presence(room, except),
            When::At(at) => self.schedule(room.clone(), at, Due::Frame),
            When::Folded => {}
        }
    }

    /// This node's members of the room changed: tell the other nodes (shared engines
    /// only). The last member leaving is announced at once, so other nodes do not show a
    /// member who left for a whole interval.
    pub(super) fn local_members_changed(&self, room: &RoomName, st: &mut RoomState) {
        if self.inner.engine.heartbeat().is_none() {
            st.presence.forget_changes();
            return;
        }
        let when = if st.members.is_empty() {
            When::Now
        } else {
            st.presence
                .announce
                .changed(presence_interval(st.members.len()))
        };
        match when {
            When::Now => self.announce(room, st),
            When::At(at) => self.schedule(room.clone(), at, Due::Announce),
            When::Folded => {}
        }
    }

    /// Tells the other nodes what changed in this node's members of the room (the last
    /// one gone: the empty whole list); starts a new interval.
    fn announce(&self, room: &RoomName, st: &mut RoomState) {
        let said = if st.presence.names.is_empty() {
            Some(st.presence.full())
        } else {
            st.presence.take_delta()
        };
        if let Some(said) = said {
            self.inner.engine.announce(room, said, &st.presence.names);
        }
        st.presence.announce.done(true);
    }

    /// Sends the room's presence frame or announcement at `at`, folding in every change
    /// until then.
    fn schedule(&self, room: RoomName, at: Instant, due: Due) {
        let hub = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let Some(entry) = hub.existing(&room) else {
                return; // Everyone left; nobody to tell.
            };
            let mut st = lock(&entry.state);
            match due {
                Due::Frame => st.send_presence(&room, None),
                Due::Announce => hub.announce(&room, &mut st),
            }
        });
    }

    /// A page of the room's distinct names strictly after `after`, over every node, and
    /// whether more follow (none for a room nobody is in on this node).
    pub fn members_page(
        &self,
        room: &RoomName,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<UserName>, bool) {
        match self.existing(room) {
            Some(entry) => lock(&entry.state).presence.page(after, limit),
            None => (Vec::new(), false),
        }
    }

    /// Another node's members of a room, as it announced them.
    pub(super) fn remote_presence(&self, room: &RoomName, presence: NodePresence) {
        let Some(entry) = self.existing(room) else {
            return;
        };
        let mut st = lock(&entry.state);
        st.presence.update_remote(presence);
        self.members_changed(room, &mut st, None);
    }

    /// Another node's change to its members of the room.
    pub(super) fn remote_presence_delta(&self, room: &RoomName, delta: RemoteDelta) {
        let Some(entry) = self.existing(room) else {
            return;
        };
        let mut st = lock(&entry.state);
        if st.presence.apply_remote_delta(delta) {
            self.members_changed(room, &mut st, None);
        }
    }
}
