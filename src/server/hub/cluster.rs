//! What the hub does with the other nodes: applies the engine's [`ClusterEvent`]s,
//! renews this node's presence every heartbeat, and fills what its members missed.
//!
//! With the local engine none of this has work to do. With a shared one (Redis) messages
//! stored by other nodes arrive as events and go through the same reorder buffer as local
//! ones (a message can come twice, from this node's own publish and from the broadcast;
//! the second is below `next_fanout` and dropped). A gap that does not close by itself
//! within [`REPAIR_AFTER`] (a broadcast lost while the link to Redis was down) is filled
//! from the store. After the link comes back ([`ClusterEvent::Resync`]) every room is
//! re-read: presence, epoch (a lost history restarts its members), and messages.

use super::{Hub, Inner};
use crate::protocol::RoomName;
use crate::server::engine::ClusterEvent;
use crate::sync::lock;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long a gap in a room's seqs may stay open before the hub reads the missing
/// messages from the store. Within one node a gap closes in microseconds (a commit that
/// finished before an earlier one); across nodes in about a broadcast's time.
pub const REPAIR_AFTER: Duration = Duration::from_millis(200);
/// Messages read per repair, and the most bytes of bodies.
const REPAIR_MAX: usize = 1000;
const REPAIR_MAX_BYTES: usize = 1 << 20;

/// How far a repair reads.
#[derive(Clone, Copy, Debug)]
enum Fill {
    /// Only an open gap (before the first buffered message).
    Gap,
    /// Everything stored after what was handed out (messages may have been missed with
    /// nothing buffered after them).
    ToEnd,
}

/// Starts the tasks that apply cluster events and, for shared engines, send heartbeats;
/// they hold the hub weakly and end with it.
pub(super) fn start(hub: &Hub, events: mpsc::Receiver<ClusterEvent>) {
    tokio::spawn(apply_events(Arc::downgrade(&hub.inner), events));
    if let Some(every) = hub.inner.engine.heartbeat() {
        tokio::spawn(heartbeats(Arc::downgrade(&hub.inner), every));
    }
}

/// Applies what the engine hears from other nodes, until the hub or the engine is gone.
async fn apply_events(hub: Weak<Inner>, mut events: mpsc::Receiver<ClusterEvent>) {
    while let Some(event) = events.recv().await {
        let Some(inner) = hub.upgrade() else { return };
        let hub = Hub { inner };
        match event {
            ClusterEvent::Message(msg) => hub.fan_out(msg),
            ClusterEvent::Presence { room, presence } => hub.remote_presence(&room, presence),
            ClusterEvent::PresenceDelta { room, delta } => hub.remote_presence_delta(&room, delta),
            ClusterEvent::Revoked(session) => hub.inner.revocations.revoke(session),
            ClusterEvent::Note { room, note } => hub.notify_here(&room, &note),
            ClusterEvent::Admin(crate::server::engine::AdminCommand::Disconnect { node, conn }) => {
                if node == hub.node_id() {
                    hub.disconnect_here(conn);
                }
            }
            ClusterEvent::Admin(crate::server::engine::AdminCommand::DisconnectUser { user }) => {
                hub.disconnect_user_here(&user);
            }
            ClusterEvent::Admin(crate::server::engine::AdminCommand::ListRoom { room, reply }) => {
                let list = serde_json::to_string(&hub.room_connections(&room))
                    .unwrap_or_else(|_| "[]".into());
                hub.inner.engine.reply(&reply, list);
            }
            ClusterEvent::Resync => {
                tokio::spawn(async move { hub.resync().await });
            }
        }
    }
}

/// Renews this node's presence and expires other nodes', every `every`.
async fn heartbeats(hub: Weak<Inner>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = hub.upgrade() else { return };
        Hub { inner }.heartbeat();
    }
}

impl Hub {
    /// Every heartbeat: renews this node's announcements and forgets other nodes' that
    /// were not renewed.
    fn heartbeat(&self) {
        let now = Instant::now();
        for (name, entry) in self.all_rooms() {
            let mut st = lock(&entry.state);
            if !st.members.is_empty() {
                let full = st.presence.full();
                self.inner.engine.announce(&name, full, st.presence.names());
            }
            if st.presence.expire_remote(now) {
                self.members_changed(&name, &mut st, None);
            }
        }
    }

    /// After the link to the other nodes was down: re-announce, re-read their presence,
    /// and fetch the messages that were broadcast meanwhile.
    async fn resync(&self) {
        for (name, entry) in self.all_rooms() {
            {
                let mut st = lock(&entry.state);
                if !st.is_loaded() {
                    continue; // Still loading: its join reads everything afresh.
                }
                if !st.members.is_empty() {
                    let full = st.presence.full();
                    self.inner.engine.announce(&name, full, st.presence.names());
                }
            }
            if let Ok(remote) = self.inner.engine.presence(&name).await {
                let mut st = lock(&entry.state);
                st.presence.set_remote(remote);
                self.members_changed(&name, &mut st, None);
            }
            match self.inner.store.meta(&name).await {
                Ok(meta) => {
                    let mut st = lock(&entry.state);
                    if st.epoch.as_ref() != Some(&meta.epoch) {
                        st.restart(&name, meta.epoch, meta.last_seq);
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e.report(), room = %name.as_str(), "resync: cannot read the room");
                    continue;
                }
            }
            self.repair(&name, Fill::ToEnd).await;
        }
    }

    /// Reads from the store what the room's members are missing and hands it out: the
    /// messages after `next_fanout` up to the first buffered one, or with
    /// [`Fill::ToEnd`] (after a resync) everything stored after it.
    async fn repair(&self, room: &RoomName, fill: Fill) {
        let Some(entry) = self.existing(room) else {
            return;
        };
        let (after, until) = {
            let mut st = lock(&entry.state);
            st.repair_due = false;
            let Some(next) = st.next_fanout else { return };
            let until = match (st.pending.keys().next(), fill) {
                (Some(first), _) => *first,
                (None, Fill::ToEnd) => u64::MAX,
                (None, Fill::Gap) => return, // The gap closed by itself meanwhile.
            };
            (next - 1, until)
        };
        drop(entry);
        match self
            .inner
            .store
            .range(room, after, until, REPAIR_MAX, REPAIR_MAX_BYTES)
            .await
        {
            Ok(range) => {
                let complete = range.complete;
                for m in range.messages {
                    self.fan_out(m);
                }
                if !complete {
                    // Retention dropped part of the gap: nobody can have it any more.
                    if let Some(entry) = self.existing(room) {
                        lock(&entry.state).skip_gap();
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e.report(), room = %room.as_str(), "cannot fill a gap yet");
            }
        }
        // Still a gap (the store is down, or more than one read's worth): go again.
        if let Some(entry) = self.existing(room) {
            let mut st = lock(&entry.state);
            if !st.pending.is_empty() && !st.repair_due {
                st.repair_due = true;
                self.schedule_repair(room.clone());
            }
        }
    }

    /// Fills the room's gap in [`REPAIR_AFTER`], unless it closes by itself by then.
    pub(super) fn schedule_repair(&self, room: RoomName) {
        let hub = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(REPAIR_AFTER).await;
            hub.repair(&room, Fill::Gap).await;
        });
    }
}
