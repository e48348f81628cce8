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
//! other nodes announce; this node announces its own with the same coalescing as
//! presence frames (re-announced every heartbeat by [`super::cluster`]), and forgets
//! another node's members when their announcement expires.

use super::outbound::{ConnId, Outbound, RoomFrame};
use super::room::RoomState;
use super::Hub;
use crate::protocol::{RoomName, ServerFrame, UserName, MEMBERS_CAP};
use crate::server::engine::{NameCounts, NodePresence};
use crate::sync::lock;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The shortest time between two presence frames of one room.
pub(super) const PRESENCE_INTERVAL: Duration = Duration::from_millis(100);
/// The longest, for the largest rooms.
const PRESENCE_INTERVAL_MAX: Duration = Duration::from_secs(5);

/// How long a room with `members` connections waits between presence frames: 100 ms up to
/// 100 members, then 1 ms more per member (1 s at 1000), at most 5 s. The frame's size grows
/// with the room and so does the number of its recipients; this keeps the bytes a room's
/// presence costs per second roughly linear in its size instead of quadratic.
pub fn presence_interval(members: usize) -> Duration {
    let scaled = Duration::from_millis(members as u64);
    scaled.clamp(PRESENCE_INTERVAL, PRESENCE_INTERVAL_MAX)
}

/// Folds bursts of changes into at most one send per interval: a change after a quiet
/// spell goes out now, changes inside the interval together at its end.
#[derive(Default)]
struct Coalescer {
    /// When a send last happened.
    sent: Option<Instant>,
    /// A send is scheduled for the end of the current interval.
    due: bool,
}

/// What to do about a change.
enum When {
    /// Send now (and call [`Coalescer::done`]).
    Now,
    /// Schedule a send for then.
    At(Instant),
    /// A scheduled send will carry it.
    Folded,
}

impl Coalescer {
    fn changed(&mut self, interval: Duration) -> When {
        if self.due {
            return When::Folded;
        }
        match self.sent {
            Some(at) if Instant::now() < at + interval => {
                self.due = true;
                When::At(at + interval)
            }
            _ => When::Now,
        }
    }

    /// A send happened (if `reached` anyone, a new interval starts).
    fn done(&mut self, reached: bool) {
        self.due = false;
        if reached {
            self.sent = Some(Instant::now());
        }
    }
}

/// What a scheduled task sends.
#[derive(Clone, Copy, Debug)]
enum Due {
    /// A presence frame to this node's members.
    Frame,
    /// This node's members to the other nodes.
    Announce,
}

/// Another node's members of a room.
struct Remote {
    names: NameCounts,
    expires: Instant,
}

impl Remote {
    fn new(p: NodePresence) -> Self {
        Self {
            names: p.names,
            expires: Instant::now() + p.ttl,
        }
    }
}

/// A room's presence: the names on this node, other nodes' announcements, and the two
/// batching clocks (frames to members, announcements to other nodes).
#[derive(Default)]
pub(super) struct Presence {
    /// Connections per distinct name (several tabs of one person count once).
    names: NameCounts,
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
    }

    /// One connection fewer under `name`.
    pub(super) fn count_out(&mut self, name: &UserName) {
        if let Some(n) = self.names.get_mut(name) {
            *n -= 1;
            if *n == 0 {
                self.names.remove(name);
            }
        }
    }

    /// This node's members by name, as announced to the other nodes.
    pub(super) fn names(&self) -> &NameCounts {
        &self.names
    }

    /// Other nodes' open connections with a name.
    fn remote_connections(&self) -> u32 {
        self.remote
            .values()
            .flat_map(|r| r.names.values())
            .sum::<u32>()
    }

    /// Open connections (`local` of them on this node), the first [`MEMBERS_CAP`]
    /// distinct names and how many there are, over every node.
    pub(super) fn summary(&self, local: u32) -> Summary {
        let online = local + self.remote_connections();
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

    /// Replaces what is known of other nodes' members (on loading the room, on resync).
    pub(super) fn set_remote(&mut self, presence: Vec<NodePresence>) {
        self.remote = presence
            .into_iter()
            .map(|p| (p.node.clone(), Remote::new(p)))
            .collect();
    }

    /// One other node's announcement (empty: it has no members here any more).
    fn update_remote(&mut self, presence: NodePresence) {
        if presence.names.is_empty() {
            self.remote.remove(&presence.node);
        } else {
            self.remote
                .insert(presence.node.clone(), Remote::new(presence));
        }
    }

    /// Drops other nodes' announcements that were not renewed in time; true if any was.
    pub(super) fn expire_remote(&mut self, now: Instant) -> bool {
        let before = self.remote.len();
        self.remote.retain(|_, r| r.expires > now);
        self.remote.len() != before
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
        let named: u32 = self.presence.names().values().sum();
        self.presence.summary(named)
    }

    /// Open connections with a name, over every node (without the names).
    pub(super) fn connections(&self) -> u32 {
        let named: u32 = self.presence.names().values().sum();
        named + self.presence.remote_connections()
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

    /// Tells the other nodes this node's members of the room now; starts a new interval.
    fn announce(&self, room: &RoomName, st: &mut RoomState) {
        self.inner.engine.announce(room, st.presence.names());
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
}
