//! Taking a user out of a room on every node: a member removed from a private room (and,
//! later, a ban) leaves at once instead of at its next join.

use super::{Eviction, Hub, Outbound};
use crate::protocol::{LeftReason, RoomName, UserId};
use crate::sync::lock;
use std::sync::Arc;

impl Hub {
    /// Takes `user`'s connections out of `room` on every node (each is told `left` with
    /// `reason`): a member removed from a private room is out at once, not at its next
    /// join.
    pub fn evict(&self, room: &RoomName, user: &UserId, reason: LeftReason) {
        self.evict_here(room, user, reason);
        self.inner.engine.evict(room, user, reason);
    }

    /// [`Self::evict`] on this node only (what another node's eviction asks of this one).
    pub(crate) fn evict_here(&self, room: &RoomName, user: &UserId, reason: LeftReason) {
        let Some(entry) = self.existing(room) else {
            return;
        };
        let eviction = Arc::new(Eviction {
            room: room.clone(),
            reason,
        });
        let st = lock(&entry.state);
        for m in st
            .members
            .values()
            .filter(|m| m.user.as_ref() == Some(user))
        {
            m.conn.deliver(Outbound::Evicted(eviction.clone()));
        }
    }
}
