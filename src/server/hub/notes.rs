//! Acting on a room's connections on every node: a user taken out (a removed member, a
//! ban), a user muted, a message deleted, edited or reacted to, the room's slow mode
//! changed. This
//! node acts at once; the engine tells the others ([`crate::server::engine::Engine::notify`]),
//! which act on theirs the same way ([`Hub::notify_here`]).

use super::{Eviction, Hub, MuteChange, Outbound, RoomFrame};
use crate::protocol::{Message, RoomName, ServerFrame};
use crate::server::engine::RoomNote;
use crate::server::store::{Amendment, Reacted, Reaction, Reactors, StoreError};
use crate::sync::lock;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Who a slow mode counts messages for: a user, or a guest's client address.
pub type SpeakerKey = String;

/// Speakers a room remembers for its slow mode at most; past it, those whose wait is
/// over are forgotten first (and then everyone: a flood of new guests only shortens
/// their own waits).
const MAX_SLOW_SPEAKERS: usize = 10_000;

/// A room's slow mode on this node: the setting and when each speaker last spoke.
#[derive(Default)]
pub(super) struct SlowMode {
    every: Duration,
    last: std::collections::HashMap<SpeakerKey, Instant>,
}

impl Hub {
    /// Applies `note` to this node's connections in `room` and has the engine tell the
    /// other nodes.
    pub fn notify(&self, room: &RoomName, note: RoomNote) {
        self.notify_here(room, &note);
        self.inner.engine.notify(room, &note);
    }

    /// [`Self::notify`] on this node only (what another node's note asks of this one).
    pub(crate) fn notify_here(&self, room: &RoomName, note: &RoomNote) {
        let Some(entry) = self.existing(room) else {
            return; // Nobody is in the room here.
        };
        let mut st = lock(&entry.state);
        match note {
            RoomNote::Evict { user, reason } => {
                let eviction = Arc::new(Eviction {
                    room: room.clone(),
                    reason: *reason,
                });
                for m in st
                    .members
                    .values()
                    .filter(|m| m.user.as_ref() == Some(user))
                {
                    m.conn.deliver(Outbound::Evicted(eviction.clone()));
                }
            }
            RoomNote::Mute { user, until } => {
                let change = Arc::new(MuteChange {
                    room: room.clone(),
                    until: *until,
                });
                for m in st
                    .members
                    .values()
                    .filter(|m| m.user.as_ref() == Some(user))
                {
                    m.conn.deliver(Outbound::Muted(change.clone()));
                }
            }
            RoomNote::Frame { frame } => {
                let notice = Arc::new(RoomFrame {
                    room: room.clone(),
                    frame: frame.to_json().into(),
                });
                for m in st.members.values() {
                    m.conn.deliver(Outbound::Notice(notice.clone()));
                }
            }
            RoomNote::SlowMode { seconds } => {
                st.slow.every = Duration::from_secs(u64::from(*seconds));
            }
            RoomNote::Reset { epoch } => {
                if st.is_loaded() {
                    st.restart(room, epoch.clone(), 0);
                }
            }
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        self.inner.engine.node_id()
    }

    /// The engine (for the operator's view: numbers and actions across nodes).
    pub fn engine(&self) -> Arc<dyn crate::server::engine::Engine> {
        self.inner.engine.clone()
    }

    /// Deletes `room`'s whole history in the store; its new meta (tell the nodes with
    /// [`RoomNote::Reset`]).
    pub async fn purge(
        &self,
        room: &RoomName,
    ) -> Result<crate::server::store::RoomMeta, StoreError> {
        self.inner.store.purge(room).await
    }

    /// The stored message `seq` of `room`, as it now is.
    pub async fn message(&self, room: &RoomName, seq: u64) -> Result<Option<Message>, StoreError> {
        self.inner.store.message(room, seq).await
    }

    /// Deletes or edits a stored message and tells every member on every node
    /// (`deleted` by `by`, or `edited`). `None`: no such message is stored.
    pub async fn amend(
        &self,
        room: &RoomName,
        seq: u64,
        change: Amendment,
        by: &str,
    ) -> Result<Option<Message>, StoreError> {
        let Some(msg) = self.inner.store.amend(room, seq, change).await? else {
            return Ok(None);
        };
        let frame = match msg.body() {
            None => ServerFrame::Deleted {
                room: room.clone(),
                seq,
                by: by.to_owned(),
            },
            Some(body) => ServerFrame::Edited {
                room: room.clone(),
                seq,
                body: body.clone(),
                edited_ts: msg.edited_ts().unwrap_or(msg.ts),
            },
        };
        self.notify(room, RoomNote::Frame { frame });
        Ok(Some(msg))
    }

    /// Adds or takes back a reaction in the store; when that changed the message's
    /// counts, every member on every node gets `reactions`.
    pub async fn react(
        &self,
        room: &RoomName,
        seq: u64,
        reaction: Reaction,
    ) -> Result<Reacted, StoreError> {
        let done = self.inner.store.react(room, seq, reaction).await?;
        if let Reacted::Counts {
            counts,
            changed: true,
        } = &done
        {
            let frame = ServerFrame::Reactions {
                room: room.clone(),
                seq,
                counts: counts.clone(),
            };
            self.notify(room, RoomNote::Frame { frame });
        }
        Ok(done)
    }

    /// Who reacted to a stored message, as the reactor `key` sees it.
    pub async fn reactors(
        &self,
        room: &RoomName,
        seq: u64,
        key: &str,
    ) -> Result<Option<Reactors>, StoreError> {
        self.inner.store.reactors(room, seq, key).await
    }

    /// Sets the room's slow mode on this node, as a joining session read it from the
    /// store (changes reach every node as [`RoomNote::SlowMode`]).
    pub fn set_slow_mode_here(&self, room: &RoomName, seconds: u32) {
        if let Some(entry) = self.existing(room) {
            lock(&entry.state).slow.every = Duration::from_secs(u64::from(seconds));
        }
    }

    /// Whether `speaker` may publish in `room` now under its slow mode; if so, counts
    /// this message. `Err` holds the wait until the next one may go.
    pub fn slow_mode_pass(
        &self,
        room: &RoomName,
        speaker: &str,
        now: Instant,
    ) -> Result<(), Duration> {
        let Some(entry) = self.existing(room) else {
            return Ok(());
        };
        let mut st = lock(&entry.state);
        let slow = &mut st.slow;
        if slow.every.is_zero() {
            return Ok(());
        }
        if let Some(&last) = slow.last.get(speaker) {
            let next = last + slow.every;
            if next > now {
                return Err(next - now);
            }
        }
        if slow.last.len() >= MAX_SLOW_SPEAKERS {
            let every = slow.every;
            slow.last.retain(|_, t| *t + every > now);
            if slow.last.len() >= MAX_SLOW_SPEAKERS {
                slow.last.clear();
            }
        }
        slow.last.insert(speaker.to_owned(), now);
        Ok(())
    }
}
