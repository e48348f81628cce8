//! One room's state on this node: its members, the next seq to hand out, and the reorder
//! buffer that makes every member receive the room's messages in seq order with no gap.
//!
//! Plain data behind the room's lock; it knows neither the engine nor the store (the
//! hub reads those and brings the results here).
//!
//! ## Ordering
//! The store returns seqs when messages are stored, and concurrent publishes can finish in
//! any order. Each room keeps `next_fanout`, the next seq to hand out, and a small reorder
//! buffer, so members always receive a room's messages in seq order with no gap. A
//! connection joining a room learns `live_from` = `next_fanout` under the room's lock:
//! every message below it is already in the store (for a replay), every message from it on
//! will arrive in its queue. That is the seam between replay and live, without overlap.

use super::outbound::{ConnHandle, ConnId, Delivery, Outbound};
use super::presence::Presence;
use crate::protocol::{Epoch, RoomName, UserName};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// A room's entry in the hub's registry.
pub(super) struct Room {
    /// Lock order: the hub's room map, then this. No `.await` is held under it.
    pub(super) state: Mutex<RoomState>,
}

impl Room {
    /// A room not yet loaded from the store.
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(RoomState::default()),
        }
    }
}

/// One connection in the room.
pub(super) struct Member {
    /// How it is shown to the room; `None`: a guest that only reads, counted nowhere
    /// in presence (it gets the room's messages like anyone).
    pub(super) name: Option<UserName>,
    /// Where its frames go.
    pub(super) conn: ConnHandle,
    /// Who it is, when it has an identity (to take a user out of the room).
    pub(super) user: Option<crate::protocol::UserId>,
}

#[derive(Default)]
pub(super) struct RoomState {
    /// Known once the room's meta has been read from the store.
    pub(super) epoch: Option<Epoch>,
    /// The next seq to hand to members; `None` until the meta is read.
    pub(super) next_fanout: Option<u64>,
    /// Stored messages that finished before an earlier seq did.
    pub(super) pending: BTreeMap<u64, Arc<Delivery>>,
    /// This node's connections in the room.
    pub(super) members: HashMap<ConnId, Member>,
    /// Who is here, on this node and on others, and when to say so.
    pub(super) presence: Presence,
    /// A gap repair is scheduled.
    pub(super) repair_due: bool,
    /// Someone's publish has counted as the room's first (see `Hub::claim_new_room`).
    pub(super) claimed: bool,
    /// The room's slow mode on this node.
    pub(super) slow: super::notes::SlowMode,
}

impl RoomState {
    /// Whether the room's meta has been read (its epoch and where fan-out starts).
    pub(super) fn is_loaded(&self) -> bool {
        self.next_fanout.is_some()
    }

    /// Adds (or renames) a member; keeps the name counts. Whether the room's presence
    /// may have changed (not for a reader coming or staying one).
    pub(super) fn add_member(&mut self, id: ConnId, member: Member) -> bool {
        let mut changed = false;
        if let Some(name) = &member.name {
            self.presence.count_in(name);
            changed = true;
        }
        if let Some(old) = self.members.insert(id, member) {
            if let Some(name) = &old.name {
                self.presence.count_out(name);
                changed = true;
            }
        }
        changed
    }

    /// Removes a member: `None` if it was not in, else whether the room's presence
    /// changed (not for a reader).
    pub(super) fn remove_member(&mut self, id: ConnId) -> Option<bool> {
        let old = self.members.remove(&id)?;
        if let Some(name) = &old.name {
            self.presence.count_out(name);
        }
        Some(old.name.is_some())
    }

    /// Whether `seq` was handed out already (a second copy of a broadcast is dropped
    /// before it is encoded).
    pub(super) fn handed_out(&self, seq: u64) -> bool {
        self.next_fanout.is_some_and(|next| seq < next)
    }

    /// Buffers a stored message and hands out every one that is next in line.
    pub(super) fn accept(&mut self, delivery: Arc<Delivery>) {
        self.pending.insert(delivery.seq, delivery);
        self.flush();
    }

    /// Whether a gap is open: a message is buffered while an earlier one has not come.
    pub(super) fn has_gap(&self) -> bool {
        self.is_loaded() && !self.pending.is_empty()
    }

    /// Hands out every buffered message that is next in line.
    pub(super) fn flush(&mut self) {
        let Some(mut next) = self.next_fanout else {
            return;
        };
        // Anything below `next` is already in the store for replays; drop it.
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() < next {
                entry.remove();
                continue;
            }
            if *entry.key() != next {
                break;
            }
            let d = entry.remove();
            for m in self.members.values() {
                m.conn.deliver(Outbound::Message(d.clone()));
            }
            next += 1;
        }
        self.next_fanout = Some(next);
    }

    /// Gives up on the messages before the first buffered one (retention dropped them, so
    /// nobody can have them any more) and hands out from there.
    pub(super) fn skip_gap(&mut self) {
        if let Some(first) = self.pending.keys().next().copied() {
            self.next_fanout = Some(first);
            self.flush();
        }
    }

    /// The room's history was replaced (its epoch changed: the shared store lost it).
    /// Members hold seqs of the old history, so each is asked to reconnect.
    pub(super) fn restart(&mut self, room: &RoomName, epoch: Epoch, last_seq: u64) {
        tracing::warn!(room = %room.as_str(), "room history was reset; members reconnect");
        self.epoch = Some(epoch);
        self.next_fanout = Some(last_seq + 1);
        self.pending.clear();
        for m in self.members.values() {
            m.conn.deliver(Outbound::Restart(room.clone()));
        }
    }
}
