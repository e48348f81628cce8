//! The hub: rooms, their members, and local fan-out.
//!
//! The hub never awaits a client. It encodes each stored message to JSON once, wraps the
//! bytes in an `Arc`, and hands every member the same bytes with a non-blocking
//! `try_send` into the member's bounded queue. A full queue marks that member as a slow
//! consumer (its session closes it with 4008); the publisher and the other members do not
//! wait for it.
//!
//! ## Ordering
//! The store returns seqs when messages are stored, and concurrent publishes can finish in
//! any order. Each room keeps `next_fanout`, the next seq to hand out, and a small reorder
//! buffer, so members always receive a room's messages in seq order with no gap. A
//! connection joining a room learns `live_from` = `next_fanout` under the room's lock:
//! every message below it is already in the store (for a replay), every message from it on
//! will arrive in its queue. That is the seam between replay and live, without overlap.
//!
//! Publishing runs in a spawned task, so a connection that drops mid-publish cannot leave a
//! stored seq un-broadcast and stall its room.
//!
//! ## Presence
//! Every `presence` frame carries the whole member list, so one per join would make a room
//! filling up quadratic (1000 people arriving: half a million frames of up to 8 KiB). A
//! room therefore sends at most one presence frame per [`presence_interval`]: a change
//! after a quiet spell goes out at once, changes inside the interval are folded into one
//! frame at its end, which carries the state as it is then. The joiner itself learns the
//! state from `joined`. Names are counted incrementally, so a join costs no scan of the
//! room.
//!
//! ## Several nodes
//! The hub runs over an [`Engine`]. With the local engine it is the whole story. With a
//! shared one (Redis) messages stored by other nodes arrive as [`ClusterEvent`]s and go
//! through the same reorder buffer as local ones (a message can come twice, from this
//! node's own publish and from the broadcast; the second is below `next_fanout` and
//! dropped). A gap that does not close by itself within [`REPAIR_AFTER`] (a broadcast
//! lost while the link to Redis was down) is filled from the store. The room's presence
//! is this node's members merged with what other nodes announce; this node announces its
//! own with the same coalescing as presence frames, re-announces every heartbeat, and
//! forgets another node's members when their announcement expires.

use crate::protocol::{
    Body, ClientId, Epoch, Message, MessagesPage, RoomName, ServerFrame, UserName,
};
use crate::server::engine::{ClusterEvent, Engine, NameCounts, NodePresence};
use crate::server::outbox::{self, Inbox, Outbox};
use crate::server::store::{Appended, Draft, HistoryPage, Range, Store, StoreError};
use axum::extract::ws::Utf8Bytes;
use futures::FutureExt;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The shortest time between two presence frames of one room.
const PRESENCE_INTERVAL: Duration = Duration::from_millis(100);
/// The longest, for the largest rooms.
const PRESENCE_INTERVAL_MAX: Duration = Duration::from_secs(5);
/// How long a gap in a room's seqs may stay open before the hub reads the missing
/// messages from the store. Within one node a gap closes in microseconds (a commit that
/// finished before an earlier one); across nodes in about a broadcast's time.
pub const REPAIR_AFTER: Duration = Duration::from_millis(200);
/// Messages read per repair.
const REPAIR_MAX: usize = 1000;

/// How long a room with `members` connections waits between presence frames: 100 ms up to
/// 100 members, then 1 ms more per member (1 s at 1000), at most 5 s. The frame's size grows
/// with the room and so does the number of its recipients; this keeps the bytes a room's
/// presence costs per second roughly linear in its size instead of quadratic.
pub fn presence_interval(members: usize) -> Duration {
    let scaled = Duration::from_millis(members as u64);
    scaled.clamp(PRESENCE_INTERVAL, PRESENCE_INTERVAL_MAX)
}

/// A frame encoded once and shared by reference count with every recipient. axum's
/// `Utf8Bytes` is a `Bytes` known to be UTF-8, so a clone costs one atomic increment and
/// the socket can send it without copying or re-checking.
pub type Encoded = Utf8Bytes;

/// Identifies one connection within this process.
pub type ConnId = u64;

/// One stored message, encoded, on its way to members.
#[derive(Debug)]
pub struct Delivery {
    /// The room it belongs to.
    pub room: RoomName,
    /// Its seq, so a session can skip what it already sent (after a replay).
    pub seq: u64,
    /// The `message` frame's JSON.
    pub frame: Encoded,
}

/// One presence frame, encoded, on its way to members.
#[derive(Debug)]
pub struct PresenceUpdate {
    /// The room it is about.
    pub room: RoomName,
    /// The `presence` frame's JSON.
    pub frame: Encoded,
}

/// What the hub puts into a connection's queue: one pointer (16 bytes with the tag), so
/// the queue's first block of slots stays small for every idle connection.
#[derive(Clone, Debug)]
pub enum Outbound {
    /// A room message.
    Message(Arc<Delivery>),
    /// A presence frame for a room.
    Presence(Arc<PresenceUpdate>),
    /// The room's history was lost (its epoch changed) while the connection was in it:
    /// the session closes with 1012 so the client reconnects and learns the new epoch.
    Restart(RoomName),
}

/// The hub's handle on one connection: its bounded queue and its slow-consumer alarm.
#[derive(Clone, Debug)]
pub struct ConnHandle {
    id: ConnId,
    tx: Outbox<Outbound>,
}

impl ConnHandle {
    /// This connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Resolves once the queue has overflowed: the connection fell too far behind.
    pub async fn overflowed(&self) {
        self.tx.overflowed().await
    }

    /// Queues a frame without waiting. A full queue raises the overflow alarm; a closed
    /// one means the session is ending and will leave its rooms itself.
    fn deliver(&self, out: Outbound) {
        self.tx.push(out);
    }
}

/// What a connection learns when it joins.
#[derive(Clone, Debug)]
pub struct JoinInfo {
    /// The room's epoch.
    pub epoch: Epoch,
    /// The first seq that will arrive live; all below it are in the store.
    pub live_from: u64,
    /// Open connections in the room, this one included.
    pub online: u32,
    /// Distinct member names, sorted.
    pub members: Vec<UserName>,
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
}

struct Room {
    state: Mutex<RoomState>,
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
    Presence,
    /// This node's members to the other nodes.
    Announce,
}

/// How far a repair reads.
#[derive(Clone, Copy, Debug)]
enum Fill {
    /// Only an open gap (before the first buffered message).
    Gap,
    /// Everything stored after what was handed out (messages may have been missed with
    /// nothing buffered after them).
    ToEnd,
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

#[derive(Default)]
struct RoomState {
    /// Known once the room's meta has been read from the store.
    epoch: Option<Epoch>,
    /// The next seq to hand to members; `None` until the meta is read.
    next_fanout: Option<u64>,
    /// Stored messages that finished before an earlier seq did.
    pending: BTreeMap<u64, Arc<Delivery>>,
    members: HashMap<ConnId, Member>,
    /// Connections per distinct name (several tabs of one person count once).
    names: BTreeMap<UserName, u32>,
    /// Other nodes' members, by node id (shared engines only).
    remote: HashMap<String, Remote>,
    /// Presence frames to this node's members.
    presence: Coalescer,
    /// Announcements of this node's members to the others.
    announce: Coalescer,
    /// A gap repair is scheduled.
    repair_due: bool,
}

struct Member {
    name: UserName,
    conn: ConnHandle,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RoomState {
    /// Open connections and distinct names, over every node.
    fn presence(&self) -> (u32, Vec<UserName>) {
        let local = self.members.len() as u32;
        if self.remote.is_empty() {
            return (local, self.names.keys().cloned().collect());
        }
        let online = local
            + self
                .remote
                .values()
                .flat_map(|r| r.names.values())
                .sum::<u32>();
        let names: BTreeSet<&UserName> = self
            .names
            .keys()
            .chain(self.remote.values().flat_map(|r| r.names.keys()))
            .collect();
        (online, names.into_iter().cloned().collect())
    }

    /// Replaces what is known of other nodes' members (on loading the room, on resync).
    fn set_remote(&mut self, presence: Vec<NodePresence>) {
        self.remote = presence
            .into_iter()
            .map(|p| (p.node.clone(), Remote::new(p)))
            .collect();
    }

    /// Drops other nodes' announcements that were not renewed in time; true if any was.
    fn expire_remote(&mut self, now: Instant) -> bool {
        let before = self.remote.len();
        self.remote.retain(|_, r| r.expires > now);
        self.remote.len() != before
    }

    /// Adds (or renames) a member; keeps the name counts.
    fn add_member(&mut self, id: ConnId, member: Member) {
        *self.names.entry(member.name.clone()).or_insert(0) += 1;
        if let Some(old) = self.members.insert(id, member) {
            self.forget_name(&old.name);
        }
    }

    /// Removes a member; false if it was not in.
    fn remove_member(&mut self, id: ConnId) -> bool {
        match self.members.remove(&id) {
            Some(old) => {
                self.forget_name(&old.name);
                true
            }
            None => false,
        }
    }

    fn forget_name(&mut self, name: &UserName) {
        if let Some(n) = self.names.get_mut(name) {
            *n -= 1;
            if *n == 0 {
                self.names.remove(name);
            }
        }
    }

    /// Sends the current presence now and, if it reached anyone, starts a new interval.
    fn send_presence(&mut self, room: &RoomName, except: Option<ConnId>) {
        let reached = self.broadcast_presence(room, except);
        self.presence.done(reached);
    }

    /// Sends the current presence to every member but `except`; true if anyone got it.
    fn broadcast_presence(&self, room: &RoomName, except: Option<ConnId>) -> bool {
        if self.members.keys().all(|id| Some(*id) == except) {
            return false;
        }
        let (online, members) = self.presence();
        let update = Arc::new(PresenceUpdate {
            room: room.clone(),
            frame: ServerFrame::Presence {
                room: room.clone(),
                online,
                members,
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

    /// The room's history was replaced (its epoch changed: the shared store lost it).
    /// Members hold seqs of the old history, so each is asked to reconnect.
    fn restart(&mut self, room: &RoomName, epoch: Epoch, last_seq: u64) {
        tracing::warn!(room = %room.as_str(), "room history was reset; members reconnect");
        self.epoch = Some(epoch);
        self.next_fanout = Some(last_seq + 1);
        self.pending.clear();
        for m in self.members.values() {
            m.conn.deliver(Outbound::Restart(room.clone()));
        }
    }

    /// Hands out every buffered message that is next in line.
    fn flush(&mut self) {
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
            }),
        };
        tokio::spawn(apply_events(Arc::downgrade(&hub.inner), events));
        if let Some(every) = hub.inner.engine.heartbeat() {
            tokio::spawn(heartbeats(Arc::downgrade(&hub.inner), every));
        }
        hub
    }

    /// A single-node hub over `store` (tests and tools).
    pub fn local(store: Arc<dyn Store>) -> Self {
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
            .or_insert_with(|| {
                Arc::new(Room {
                    state: Mutex::new(RoomState::default()),
                })
            })
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
        let entry = self.room(room);
        let loaded = lock(&entry.state).next_fanout.is_some();
        if !loaded {
            if let Err(e) = self.load(&entry, room).await {
                drop(entry);
                self.remove_if_unused(room);
                return Err(e);
            }
        }
        let mut st = lock(&entry.state);
        st.add_member(
            conn.id,
            Member {
                name: name.clone(),
                conn: conn.clone(),
            },
        );
        self.members_changed(room, &mut st, Some(conn.id));
        self.local_members_changed(room, &mut st);
        let (online, members) = st.presence();
        Ok(JoinInfo {
            // Both were set by `load`, under this lock or an earlier one, and never unset.
            epoch: st.epoch.clone().unwrap_or_else(|| Epoch::new("")),
            live_from: st.next_fanout.unwrap_or(1),
            online,
            members,
        })
    }

    /// First use of a room on this node: hear about it from the other nodes, *then* read
    /// its meta, so every message after `last_seq` reaches this node.
    async fn load(&self, entry: &Room, room: &RoomName) -> Result<(), StoreError> {
        let remote = self.inner.engine.subscribe(room).await?;
        let meta = self.inner.store.meta(room).await?;
        let mut st = lock(&entry.state);
        if st.next_fanout.is_none() {
            st.epoch = Some(meta.epoch);
            st.next_fanout = Some(meta.last_seq + 1);
            st.set_remote(remote);
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
            if was {
                self.members_changed(room, &mut st, None);
                self.local_members_changed(room, &mut st);
            }
            was
        };
        self.remove_if_unused(room);
        was_member
    }

    /// The room's membership changed (here or on another node): tell this node's members
    /// now, or at the end of the current interval.
    fn members_changed(&self, room: &RoomName, st: &mut RoomState, except: Option<ConnId>) {
        let (online, _) = st.presence();
        match st.presence.changed(presence_interval(online as usize)) {
            When::Now => st.send_presence(room, except),
            When::At(at) => self.schedule(room.clone(), at, Due::Presence),
            When::Folded => {}
        }
    }

    /// This node's members of the room changed: tell the other nodes (shared engines
    /// only). The last member leaving is announced at once, so other nodes do not show a
    /// member who left for a whole interval.
    fn local_members_changed(&self, room: &RoomName, st: &mut RoomState) {
        if self.inner.engine.heartbeat().is_none() {
            return;
        }
        let when = if st.members.is_empty() {
            When::Now
        } else {
            st.announce.changed(presence_interval(st.members.len()))
        };
        match when {
            When::Now => self.announce(room, st),
            When::At(at) => self.schedule(room.clone(), at, Due::Announce),
            When::Folded => {}
        }
    }

    /// Tells the other nodes this node's members of the room now; starts a new interval.
    fn announce(&self, room: &RoomName, st: &mut RoomState) {
        self.inner.engine.announce(room, &st.names);
        st.announce.done(true);
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
                Due::Presence => st.send_presence(&room, None),
                Due::Announce => hub.announce(&room, &mut st),
            }
        });
    }

    /// Another node's members of a room, as it announced them.
    fn remote_presence(&self, room: &RoomName, presence: NodePresence) {
        let Some(entry) = self.existing(room) else {
            return;
        };
        let mut st = lock(&entry.state);
        if presence.names.is_empty() {
            st.remote.remove(&presence.node);
        } else {
            st.remote
                .insert(presence.node.clone(), Remote::new(presence));
        }
        self.members_changed(room, &mut st, None);
    }

    /// Every heartbeat: renews this node's announcements and forgets other nodes' that
    /// were not renewed.
    fn heartbeat(&self) {
        let now = Instant::now();
        for (name, entry) in self.all_rooms() {
            let mut st = lock(&entry.state);
            if !st.members.is_empty() {
                self.inner.engine.announce(&name, &st.names);
            }
            if st.expire_remote(now) {
                self.members_changed(&name, &mut st, None);
            }
        }
    }

    /// After the link to the other nodes was down: re-announce, re-read their presence,
    /// and fetch the messages that were broadcast meanwhile.
    async fn resync(&self) {
        for (name, entry) in self.all_rooms() {
            {
                let st = lock(&entry.state);
                if st.next_fanout.is_none() {
                    continue; // Still loading: its join reads everything afresh.
                }
                if !st.members.is_empty() {
                    self.inner.engine.announce(&name, &st.names);
                }
            }
            if let Ok(remote) = self.inner.engine.presence(&name).await {
                let mut st = lock(&entry.state);
                st.set_remote(remote);
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
                    tracing::warn!(error = %e, room = %name.as_str(), "resync: cannot read the room");
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
        match self.inner.store.range(room, after, until, REPAIR_MAX).await {
            Ok(range) => {
                let complete = range.complete;
                for m in range.messages {
                    self.fan_out(m);
                }
                if !complete {
                    // Retention dropped part of the gap: nobody can have it any more.
                    if let Some(entry) = self.existing(room) {
                        let mut st = lock(&entry.state);
                        if let Some(first) = st.pending.keys().next().copied() {
                            st.next_fanout = Some(first);
                            st.flush();
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, room = %room.as_str(), "cannot fill a gap yet");
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

    fn schedule_repair(&self, room: RoomName) {
        let hub = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(REPAIR_AFTER).await;
            hub.repair(&room, Fill::Gap).await;
        });
    }

    /// Stores a message and, if new, broadcasts it to the room; the returned future
    /// resolves once it is stored.
    ///
    /// The message is handed to the store *in this call*, before it returns, so
    /// publishes one caller makes in order reach the store in that order (and get
    /// increasing seqs) even while earlier ones are still waiting for their commit. A
    /// session relies on this to keep several publishes of its client in flight, which
    /// lets one busy publisher's messages share group commits.
    pub fn publish(
        &self,
        room: RoomName,
        from: UserName,
        body: Body,
        client_id: ClientId,
    ) -> impl Future<Output = Result<Published, StoreError>> + Send + 'static {
        let hub = self.clone();
        let store = self.inner.store.clone();
        let draft = Draft {
            room,
            from,
            body,
            client_id,
        };
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
        async move {
            task.await
                .map_err(|e| StoreError::Unavailable(format!("publish task failed: {e}")))?
        }
    }

    /// Hands a stored message to the room's members, in seq order.
    fn fan_out(&self, msg: Message) {
        let Some(entry) = self.existing(&msg.room) else {
            return; // Nobody is in the room; the message is in the store for later.
        };
        let room = msg.room.clone();
        let mut st = lock(&entry.state);
        if st.next_fanout.is_some_and(|next| msg.seq < next) {
            return; // Handed out already: the second copy of a broadcast.
        }
        let delivery = Arc::new(Delivery {
            room: msg.room.clone(),
            seq: msg.seq,
            frame: ServerFrame::Message(msg).to_json().into(),
        });
        st.pending.insert(delivery.seq, delivery);
        st.flush();
        if !st.pending.is_empty() && st.next_fanout.is_some() && !st.repair_due {
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

    /// Stored messages with `after < seq < until`, for a replay.
    pub async fn replay(
        &self,
        room: &RoomName,
        after: u64,
        until: u64,
        max: usize,
    ) -> Result<Range, StoreError> {
        self.inner.store.range(room, after, until, max).await
    }

    /// A page of history.
    pub async fn history(
        &self,
        room: &RoomName,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        self.inner.store.history(room, before, limit).await
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
        let page = self.inner.store.history(room, before, limit).await?;
        let newest = page.messages.last().map_or(0, |m| m.seq);
        Ok(MessagesPage {
            room: room.clone(),
            epoch: meta.epoch,
            last_seq: meta.last_seq.max(newest),
            messages: page.messages,
            has_more: page.has_more,
        })
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

/// Applies what the engine hears from other nodes, until the hub or the engine is gone.
async fn apply_events(hub: Weak<Inner>, mut events: mpsc::Receiver<ClusterEvent>) {
    while let Some(event) = events.recv().await {
        let Some(inner) = hub.upgrade() else { return };
        let hub = Hub { inner };
        match event {
            ClusterEvent::Message(msg) => hub.fan_out(msg),
            ClusterEvent::Presence { room, presence } => hub.remote_presence(&room, presence),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::memory::MemoryStore;

    fn hub() -> Hub {
        Hub::local(Arc::new(MemoryStore::new(1000)))
    }
    fn room(s: &str) -> RoomName {
        RoomName::parse(s).unwrap()
    }
    fn name(s: &str) -> UserName {
        UserName::parse(s).unwrap()
    }

    async fn publish(h: &Hub, r: &str, cid: &str) -> Published {
        h.publish(
            room(r),
            name("ann"),
            Body::parse("hi").unwrap(),
            ClientId::parse(cid).unwrap(),
        )
        .await
        .unwrap()
    }

    fn seqs(rx: &mut Inbox<Outbound>) -> Vec<u64> {
        let mut out = vec![];
        while let Some(o) = rx.try_recv() {
            if let Outbound::Message(d) = o {
                out.push(d.seq);
            }
        }
        out
    }

    #[tokio::test]
    async fn members_get_messages_in_order_and_rooms_are_isolated() {
        let h = hub();
        let (a, mut ra) = h.connect(64);
        let (b, mut rb) = h.connect(64);
        h.join(&a, &room("x"), &name("a")).await.unwrap();
        h.join(&b, &room("y"), &name("b")).await.unwrap();
        for i in 0..5 {
            publish(&h, "x", &format!("c{i}")).await;
        }
        assert_eq!(seqs(&mut ra), vec![1, 2, 3, 4, 5]);
        assert_eq!(seqs(&mut rb), Vec::<u64>::new());
    }

    #[tokio::test]
    async fn live_from_marks_the_seam() {
        let h = hub();
        publish(&h, "x", "c1").await;
        publish(&h, "x", "c2").await;
        let (a, mut ra) = h.connect(64);
        let info = h.join(&a, &room("x"), &name("a")).await.unwrap();
        assert_eq!(info.live_from, 3);
        publish(&h, "x", "c3").await;
        assert_eq!(seqs(&mut ra), vec![3]);
    }

    #[tokio::test]
    async fn out_of_order_completions_are_reordered() {
        let h = hub();
        let (a, mut ra) = h.connect(64);
        h.join(&a, &room("x"), &name("a")).await.unwrap();
        let msg = |seq| Message {
            room: room("x"),
            seq,
            from: name("a"),
            body: Body::parse("b").unwrap(),
            ts: 0,
            client_id: ClientId::parse("c").unwrap(),
        };
        h.fan_out(msg(2));
        assert!(seqs(&mut ra).is_empty(), "2 waits for 1");
        h.fan_out(msg(1));
        assert_eq!(seqs(&mut ra), vec![1, 2]);
        h.fan_out(msg(1));
        assert!(seqs(&mut ra).is_empty(), "a late duplicate is dropped");
    }

    #[tokio::test]
    async fn duplicate_publish_is_not_broadcast() {
        let h = hub();
        let (a, mut ra) = h.connect(64);
        h.join(&a, &room("x"), &name("a")).await.unwrap();
        assert_eq!(
            publish(&h, "x", "same").await,
            Published {
                seq: 1,
                duplicate: false
            }
        );
        assert_eq!(
            publish(&h, "x", "same").await,
            Published {
                seq: 1,
                duplicate: true
            }
        );
        assert_eq!(seqs(&mut ra), vec![1]);
    }

    #[tokio::test]
    async fn presence_counts_connections_and_distinct_names() {
        let h = hub();
        let (a, mut ra) = h.connect(64);
        let (b, _rb) = h.connect(64);
        let (c, _rc) = h.connect(64);
        h.join(&a, &room("x"), &name("ann")).await.unwrap();
        h.join(&b, &room("x"), &name("bob")).await.unwrap();
        let info = h.join(&c, &room("x"), &name("bob")).await.unwrap();
        assert_eq!(info.online, 3);
        assert_eq!(info.members, vec![name("ann"), name("bob")]);
        // Bob's join reaches Ann at once; the second Bob, inside the interval, at its end.
        let mut presences = || {
            std::iter::from_fn(|| ra.try_recv())
                .filter_map(|o| match o {
                    Outbound::Presence(p) => Some(p.frame.as_str().to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let now = presences();
        assert_eq!(now.len(), 1, "{now:?}");
        assert!(now[0].contains(r#""online":2"#), "{now:?}");
        tokio::time::sleep(PRESENCE_INTERVAL * 2).await;
        let later = presences();
        assert_eq!(later.len(), 1, "{later:?}");
        assert!(later[0].contains(r#""online":3"#), "{later:?}");
        assert_eq!(h.room_counts(), vec![(room("x"), 3)]);
        assert!(h.leave(b.id(), &room("x")));
        assert!(!h.leave(b.id(), &room("x")));
        h.leave(a.id(), &room("x"));
        h.leave(c.id(), &room("x"));
        assert!(h.room_counts().is_empty());
        assert!(lock(&h.inner.rooms).is_empty(), "empty rooms are dropped");
    }

    #[test]
    fn presence_interval_grows_with_the_room() {
        assert_eq!(presence_interval(0), Duration::from_millis(100));
        assert_eq!(presence_interval(100), Duration::from_millis(100));
        assert_eq!(presence_interval(1000), Duration::from_secs(1));
        assert_eq!(presence_interval(100_000), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_room_filling_up_sends_few_presence_frames_and_ends_true() {
        let h = hub();
        let (first, mut rx) = h.connect(4096);
        h.join(&first, &room("big"), &name("first")).await.unwrap();
        let mut others = vec![];
        for i in 0..300 {
            let (c, r) = h.connect(4096);
            h.join(&c, &room("big"), &name(&format!("u{i}")))
                .await
                .unwrap();
            others.push((c, r));
        }
        tokio::time::sleep(presence_interval(301) * 2).await;
        let frames: Vec<String> = std::iter::from_fn(|| rx.try_recv())
            .filter_map(|o| match o {
                Outbound::Presence(p) => Some(p.frame.as_str().to_string()),
                _ => None,
            })
            .collect();
        assert!(
            (1..=3).contains(&frames.len()),
            "300 joins in a moment: {} presence frames",
            frames.len()
        );
        let last = frames.last().unwrap();
        assert!(last.contains(r#""online":301"#), "{last}");
    }

    #[tokio::test]
    async fn a_full_queue_raises_the_alarm_without_blocking_others() {
        let h = hub();
        let (slow, _rs) = h.connect(2);
        let (fast, mut rf) = h.connect(64);
        h.join(&slow, &room("x"), &name("s")).await.unwrap();
        h.join(&fast, &room("x"), &name("f")).await.unwrap();
        for i in 0..5 {
            publish(&h, "x", &format!("c{i}")).await;
        }
        tokio::time::timeout(std::time::Duration::from_secs(1), slow.overflowed())
            .await
            .expect("overflow alarm");
        assert_eq!(seqs(&mut rf), vec![1, 2, 3, 4, 5]);
    }
}
