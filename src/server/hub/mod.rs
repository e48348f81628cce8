//! The hub: rooms, their members, and local fan-out.
//!
//! The hub never awaits a client. It encodes each stored message to JSON once, wraps the
//! bytes in an `Arc`, and hands every member the same bytes with a non-blocking push into
//! the member's bounded queue. A full queue marks that member as a slow consumer (its
//! session closes it with 4008); the publisher and the other members do not wait for it.
//!
//! Publishing runs in a spawned task, so a connection that drops mid-publish cannot leave a
//! stored seq un-broadcast and stall its room.
//!
//! - this file: the [`Hub`], its room registry, join and leave, publish and fan-out, the
//!   reads sessions and pages make, room counts;
//! - [`outbound`]: what the hub hands a connection ([`Outbound`], [`ConnHandle`]);
//! - [`room`]: one room's state and its reorder buffer (the seam between replay and live);
//! - [`presence`]: who is here, batched into few frames, merged over nodes;
//! - [`cluster`]: the other nodes (events, heartbeats, resync, gap repair);
//! - [`notes`]: acting on a room's connections on every node (evictions, mutes,
//!   amended messages, slow mode).
//!
//! The hub runs over an [`Engine`]. With the local engine it is the whole story; with a
//! shared one (Redis) [`cluster`] applies what the other nodes send.

mod cluster;
mod notes;
mod outbound;
mod presence;
mod registry;
mod room;
#[cfg(test)]
mod tests;

pub use cluster::REPAIR_AFTER;
pub use outbound::{
    ConnHandle, ConnId, Delivery, Encoded, Eviction, MuteChange, Outbound, RoomFrame,
};
pub use presence::{presence_interval, RemoteDelta};
pub use registry::{ConnInfo, Registration, RoomConn};

use self::room::{Member, Room};
use crate::protocol::{Epoch, Message, MessagesPage, RoomName, ServerFrame, UserName};
use crate::server::engine::{ClusterEvent, Engine};
use crate::server::outbox::{self, Inbox};
use crate::server::store::{Appended, Draft, HistoryPage, Range, Store, StoreError};
use crate::sync::lock;
use futures::FutureExt;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Bodies in one page of history at most (the `history` frame and the messages API): as
/// the replay's pages, 64 KiB, so 100 messages of 4,000 characters come in several pages.
pub const HISTORY_PAGE_BYTES: usize = 64 * 1024;

/// What a connection learns when it joins.
#[derive(Clone, Debug)]
pub struct JoinInfo {
    /// The room's epoch.
    pub epoch: Epoch,
    /// The first seq that will arrive live; all below it are in the store.
    pub live_from: u64,
    /// Open connections in the room, this one included.
    pub online: u32,
    /// The first distinct member names, sorted (at most
    /// [`MEMBERS_CAP`](crate::protocol::MEMBERS_CAP)).
    pub members: Vec<UserName>,
    /// How many distinct names there are.
    pub members_total: u32,
}

/// The outcome of a publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    /// Where the message is stored.
    pub seq: u64,
    /// True when it had been stored before under the same `client_id`.
    pub duplicate: bool,
}

/// Rooms and their members; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<dyn Engine>,
    store: Arc<dyn Store>,
    /// Lock order: `rooms`, then a room's `state`. Both are std mutexes: no `.await` is
    /// ever held under them.
    rooms: Mutex<HashMap<RoomName, Arc<Room>>>,
    next_conn: AtomicU64,
    /// The sockets of each site session on this node (closed at sign-out, here or on
    /// another node: [`ClusterEvent::Revoked`]).
    revocations: Arc<crate::server::identity::revocations::Revocations>,
    /// Every open connection of this node (lock order: after `rooms` and any room's
    /// `state`; held only to read or change the map).
    conns: Mutex<HashMap<ConnId, registry::Registered>>,
}

impl Hub {
    /// A hub over `engine`, hearing from the other nodes through `events`.
    ///
    /// Spawns the tasks that apply cluster events and, for shared engines, send
    /// heartbeats; they hold the hub weakly and end with it.
    pub fn new(engine: Arc<dyn Engine>, events: mpsc::Receiver<ClusterEvent>) -> Self {
        let hub = Self {
            inner: Arc::new(Inner {
                store: engine.store(),
                engine,
                rooms: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                revocations: Default::default(),
                conns: Mutex::new(HashMap::new()),
            }),
        };
        cluster::start(&hub, events);
        hub
    }

    /// A single-node hub over `store`, for unit tests.
    #[cfg(test)]
    pub(crate) fn local(store: Arc<dyn Store>) -> Self {
        let (engine, events) = crate::server::engine::local::LocalEngine::new(store);
        Self::new(engine, events)
    }

    /// Registers a new connection with a queue of `capacity` frames.
    pub fn connect(&self, capacity: usize) -> (ConnHandle, Inbox<Outbound>) {
        let (tx, rx) = outbox::channel(capacity);
        let id = self.inner.next_conn.fetch_add(1, Ordering::Relaxed);
        (ConnHandle { id, tx }, rx)
    }

    /// The room's entry, created empty if absent. Holding the returned `Arc` keeps the
    /// entry from being removed (see [`Hub::remove_if_unused`]).
    fn room(&self, room: &RoomName) -> Arc<Room> {
        lock(&self.inner.rooms)
            .entry(room.clone())
            .or_insert_with(|| Arc::new(Room::new()))
            .clone()
    }

    /// The room's entry if it exists.
    fn existing(&self, room: &RoomName) -> Option<Arc<Room>> {
        lock(&self.inner.rooms).get(room).cloned()
    }

    /// Every room entry, for a pass over all of them without holding the map.
    fn all_rooms(&self) -> Vec<(RoomName, Arc<Room>)> {
        lock(&self.inner.rooms)
            .iter()
            .map(|(n, r)| (n.clone(), r.clone()))
            .collect()
    }

    /// Removes the room's entry when no member is in it and nobody else holds it, and
    /// stops hearing about it from other nodes.
    fn remove_if_unused(&self, room: &RoomName) {
        let mut rooms = lock(&self.inner.rooms);
        let unused = rooms
            .get(room)
            .is_some_and(|r| Arc::strong_count(r) == 1 && lock(&r.state).members.is_empty());
        if unused {
            rooms.remove(room);
            self.inner.engine.unsubscribe(room);
        }
    }

    /// Adds the connection to the room (or renames it there, if already in), and tells the
    /// other members.
    pub async fn join(
        &self,
        conn: &ConnHandle,
        room: &RoomName,
        name: &UserName,
    ) -> Result<JoinInfo, StoreError> {
        self.join_as(conn, room, Some(name), None).await
    }

    /// [`Self::join`] for a connection with an identity: `user` is kept with the member,
    /// so [`Self::evict`] can find it.
    pub async fn join_as(
        &self,
        conn: &ConnHandle,
        room: &RoomName,
        name: Option<&UserName>,
        user: Option<&crate::protocol::UserId>,
    ) -> Result<JoinInfo, StoreError> {
        let entry = self.room(room);
        let loaded = lock(&entry.state).is_loaded();
        if !loaded {
            if let Err(e) = self.load(&entry, room).await {
                drop(entry);
                self.remove_if_unused(room);
                return Err(e);
            }
        }
        let mut st = lock(&entry.state);
        let changed = st.add_member(
            conn.id,
            Member {
                name: name.cloned(),
                conn: conn.clone(),
                user: user.cloned(),
            },
        );
        if changed {
            self.members_changed(room, &mut st, Some(conn.id));
            self.local_members_changed(room, &mut st);
        }
        let now = st.online();
        Ok(JoinInfo {
            // Both were set by `load`, under this lock or an earlier one, and never unset.
            epoch: st.epoch.clone().unwrap_or_else(|| Epoch::new("")),
            live_from: st.next_fanout.unwrap_or(1),
            online: now.online,
            members: now.first,
            members_total: now.total,
        })
    }

    /// First use of a room on this node: hear about it from the other nodes, *then* read
    /// its meta, so every message after `last_seq` reaches this node.
    async fn load(&self, entry: &Room, room: &RoomName) -> Result<(), StoreError> {
        let remote = self.inner.engine.subscribe(room).await?;
        let meta = self.inner.store.meta(room).await?;
        let mut st = lock(&entry.state);
        if !st.is_loaded() {
            st.epoch = Some(meta.epoch);
            st.next_fanout = Some(meta.last_seq + 1);
            st.presence.set_remote(remote);
            st.flush();
        }
        Ok(())
    }

    /// Takes the connection out of the room and tells the others. False if it was not in.
    pub fn leave(&self, conn: ConnId, room: &RoomName) -> bool {
        let was_member = {
            let Some(entry) = self.existing(room) else {
                return false;
            };
            let mut st = lock(&entry.state);
            let was = st.remove_member(conn);
            if was == Some(true) {
                self.members_changed(room, &mut st, None);
                self.local_members_changed(room, &mut st);
            }
            was.is_some()
        };
        self.remove_if_unused(room);
        was_member
    }

    /// Stores a message and, if new, broadcasts it to the room; the returned future
    /// resolves once it is stored.
    ///
    /// The message is handed to the store *in this call*, before it returns, so
    /// publishes one caller makes in order reach the store in that order (and get
    /// increasing seqs) even while earlier ones are still waiting for their commit. A
    /// session relies on this to keep several publishes of its client in flight, which
    /// lets one busy publisher's messages share group commits. It rests on the
    /// [`Store::append`] contract: a store takes its place in line on the first poll.
    pub fn publish(
        &self,
        draft: Draft,
    ) -> impl Future<Output = Result<Published, StoreError>> + Send + 'static {
        let hub = self.clone();
        let store = self.inner.store.clone();
        let mut appending = Box::pin(async move { store.append(draft).await });
        // One poll queues the draft (the store's queue is FIFO, and so is waiting for
        // room in it); the task below polls on to the commit.
        let first = (&mut appending).now_or_never();
        let task = tokio::spawn(async move {
            let appended = match first {
                Some(done) => done,
                None => appending.await,
            };
            match appended? {
                Appended::Stored(msg) => {
                    crate::server::metrics::message_stored();
                    let seq = msg.seq;
                    hub.fan_out(msg);
                    Ok(Published {
                        seq,
                        duplicate: false,
                    })
                }
                Appended::Duplicate { seq } => Ok(Published {
                    seq,
                    duplicate: true,
                }),
            }
        });
        async move { task.await.map_err(|e| StoreError::Task("publish", e))? }
    }

    /// Hands a stored message to the room's members, in seq order.
    fn fan_out(&self, msg: Message) {
        let Some(entry) = self.existing(&msg.room) else {
            return; // Nobody is in the room; the message is in the store for later.
        };
        let room = msg.room.clone();
        let mut st = lock(&entry.state);
        if st.handed_out(msg.seq) {
            return; // The second copy of a broadcast.
        }
        st.accept(Arc::new(Delivery {
            room: msg.room.clone(),
            seq: msg.seq,
            frame: ServerFrame::Message(msg).to_json().into(),
        }));
        if st.has_gap() && !st.repair_due {
            st.repair_due = true;
            self.schedule_repair(room.clone());
        }
        let empty = st.members.is_empty();
        drop(st);
        drop(entry);
        if empty {
            // The last member may have left while this held the room: tidy up for it.
            self.remove_if_unused(&room);
        }
    }

    /// Stored messages with `after < seq < until`, for a replay: at most `max`, and no
    /// more than `max_bytes` of bodies (see [`Store::range`]).
    pub async fn replay(
        &self,
        room: &RoomName,
        after: u64,
        until: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Range, StoreError> {
        self.inner
            .store
            .range(room, after, until, max, max_bytes)
            .await
    }

    /// A page of history: at most `limit` messages and [`HISTORY_PAGE_BYTES`] of bodies
    /// (the newest of them; `has_more` then says older ones are there), so a page that a
    /// client asks for and does not read pins a bounded amount of memory.
    pub async fn history(
        &self,
        room: &RoomName,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        let page = self.inner.store.history(room, before, limit).await?;
        Ok(page.newest_within_bytes(HISTORY_PAGE_BYTES))
    }

    /// A page of history with the room's epoch and newest seq, for HTTP and server
    /// rendering. The meta is read first, so `last_seq` never runs ahead of the page: a
    /// client that joins with `since: last_seq` misses nothing.
    pub async fn page(
        &self,
        room: &RoomName,
        before: Option<u64>,
        limit: usize,
    ) -> Result<MessagesPage, StoreError> {
        let meta = self.inner.store.meta(room).await?;
        let page = self.history(room, before, limit).await?;
        let newest = page.messages.last().map_or(0, |m| m.seq);
        Ok(MessagesPage {
            room: room.clone(),
            epoch: meta.epoch,
            last_seq: meta.last_seq.max(newest),
            messages: page.messages,
            has_more: page.has_more,
        })
    }

    /// The sockets of each site session on this node, for sign-out to close.
    pub fn revocations(&self) -> &Arc<crate::server::identity::revocations::Revocations> {
        &self.inner.revocations
    }

    /// The room's epoch and newest seq, as the store has them.
    pub async fn meta(
        &self,
        room: &RoomName,
    ) -> Result<crate::server::store::RoomMeta, StoreError> {
        self.inner.store.meta(room).await
    }

    /// Whether the engine can serve now (for `/readyz`).
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.inner.engine.ready().await
    }

    /// At shutdown, after the sessions closed: lets the engine finish (withdraw this
    /// node's presence, commit what is queued).
    pub async fn close(&self) -> Result<(), StoreError> {
        self.inner.engine.close().await
    }

    /// True for the first caller that is about to publish into a room with no message yet
    /// (as far as this node knows): that publish brings the room into being on disk. Every
    /// later caller, and any for a room with messages, gets false, so a room is counted
    /// once however many publishes race to be its first.
    pub fn claim_new_room(&self, room: &RoomName) -> bool {
        self.existing(room).is_some_and(|entry| {
            let mut st = lock(&entry.state);
            let unused = st.next_fanout == Some(1) && st.pending.is_empty() && !st.claimed;
            st.claimed |= unused;
            unused
        })
    }

    /// Gives back a claim whose publish was refused, so the next one counts.
    pub fn release_new_room(&self, room: &RoomName) {
        if let Some(entry) = self.existing(room) {
            lock(&entry.state).claimed = false;
        }
    }

    /// Rooms with members, and how many connections are in each (for the lobby).
    pub fn room_counts(&self) -> Vec<(RoomName, u32)> {
        let rooms = lock(&self.inner.rooms);
        let mut out: Vec<_> = rooms
            .iter()
            .filter_map(|(name, r)| {
                let n = lock(&r.state).members.len() as u32;
                (n > 0).then(|| (name.clone(), n))
            })
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}
