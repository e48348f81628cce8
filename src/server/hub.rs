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

use crate::protocol::{
    Body, ClientId, Epoch, Message, MessagesPage, RoomName, ServerFrame, UserName,
};
use crate::server::store::{Appended, Draft, HistoryPage, Range, Store, StoreError};
use axum::extract::ws::Utf8Bytes;
use futures::FutureExt;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

/// The shortest time between two presence frames of one room.
const PRESENCE_INTERVAL: Duration = Duration::from_millis(100);
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
}

/// The hub's handle on one connection: its bounded queue and its slow-consumer alarm.
#[derive(Clone, Debug)]
pub struct ConnHandle {
    id: ConnId,
    tx: mpsc::Sender<Outbound>,
    overflow: Arc<Notify>,
}

impl ConnHandle {
    /// This connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Resolves once the queue has overflowed: the connection fell too far behind.
    pub async fn overflowed(&self) {
        self.overflow.notified().await
    }

    /// Queues a frame without waiting. A full queue raises the overflow alarm; a closed
    /// one means the session is ending and will leave its rooms itself.
    fn deliver(&self, out: Outbound) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(out) {
            self.overflow.notify_one();
        }
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
    store: Arc<dyn Store>,
    /// Lock order: `rooms`, then a room's `state`. Both are std mutexes: no `.await` is
    /// ever held under them.
    rooms: Mutex<HashMap<RoomName, Arc<Room>>>,
    next_conn: AtomicU64,
}

struct Room {
    state: Mutex<RoomState>,
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
    /// When a presence frame last reached someone.
    presence_sent: Option<Instant>,
    /// A presence frame is scheduled for the end of the current interval.
    presence_due: bool,
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
    fn presence(&self) -> (u32, Vec<UserName>) {
        (
            self.members.len() as u32,
            self.names.keys().cloned().collect(),
        )
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

    /// Membership changed: tell the others now, or at the end of the current interval.
    /// Returns when a frame must be sent later (the caller schedules it).
    fn presence_changed(&mut self, room: &RoomName, except: Option<ConnId>) -> Option<Instant> {
        if self.presence_due {
            return None; // The frame already scheduled will carry this change too.
        }
        let now = Instant::now();
        let interval = presence_interval(self.members.len());
        match self.presence_sent {
            Some(at) if now < at + interval => {
                self.presence_due = true;
                Some(at + interval)
            }
            _ => {
                self.send_presence(room, except);
                None
            }
        }
    }

    /// Sends the current presence now and, if it reached anyone, starts a new interval.
    fn send_presence(&mut self, room: &RoomName, except: Option<ConnId>) {
        self.presence_due = false;
        if self.broadcast_presence(room, except) {
            self.presence_sent = Some(Instant::now());
        }
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
    /// A hub over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                rooms: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
            }),
        }
    }

    /// Registers a new connection with a queue of `capacity` frames.
    pub fn connect(&self, capacity: usize) -> (ConnHandle, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let id = self.inner.next_conn.fetch_add(1, Ordering::Relaxed);
        (
            ConnHandle {
                id,
                tx,
                overflow: Arc::new(Notify::new()),
            },
            rx,
        )
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

    /// Removes the room's entry when no member is in it and nobody else holds it.
    fn remove_if_unused(&self, room: &RoomName) {
        let mut rooms = lock(&self.inner.rooms);
        let unused = rooms
            .get(room)
            .is_some_and(|r| Arc::strong_count(r) == 1 && lock(&r.state).members.is_empty());
        if unused {
            rooms.remove(room);
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
            match self.inner.store.meta(room).await {
                Ok(meta) => {
                    let mut st = lock(&entry.state);
                    if st.next_fanout.is_none() {
                        st.epoch = Some(meta.epoch);
                        st.next_fanout = Some(meta.last_seq + 1);
                        st.flush();
                    }
                }
                Err(e) => {
                    drop(entry);
                    self.remove_if_unused(room);
                    return Err(e);
                }
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
        if let Some(at) = st.presence_changed(room, Some(conn.id)) {
            self.schedule_presence(room.clone(), at);
        }
        let (online, members) = st.presence();
        Ok(JoinInfo {
            // Both were set above, under this lock or an earlier one, and never unset.
            epoch: st.epoch.clone().unwrap_or_else(|| Epoch::new("")),
            live_from: st.next_fanout.unwrap_or(1),
            online,
            members,
        })
    }

    /// Takes the connection out of the room and tells the others. False if it was not in.
    pub fn leave(&self, conn: ConnId, room: &RoomName) -> bool {
        let was_member = {
            let rooms = lock(&self.inner.rooms);
            let Some(entry) = rooms.get(room) else {
                return false;
            };
            let mut st = lock(&entry.state);
            let was = st.remove_member(conn);
            if was {
                if let Some(at) = st.presence_changed(room, None) {
                    self.schedule_presence(room.clone(), at);
                }
            }
            was
        };
        self.remove_if_unused(room);
        was_member
    }

    /// Sends the room's presence at `at`, folding in every change until then.
    fn schedule_presence(&self, room: RoomName, at: Instant) {
        let hub = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let Some(entry) = lock(&hub.inner.rooms).get(&room).cloned() else {
                return; // Everyone left; nobody to tell.
            };
            lock(&entry.state).send_presence(&room, None);
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
        let Some(entry) = lock(&self.inner.rooms).get(&msg.room).cloned() else {
            return; // Nobody is in the room; the message is in the store for later.
        };
        let delivery = Arc::new(Delivery {
            room: msg.room.clone(),
            seq: msg.seq,
            frame: ServerFrame::Message(msg).to_json().into(),
        });
        let room = delivery.room.clone();
        let mut st = lock(&entry.state);
        st.pending.insert(delivery.seq, delivery);
        st.flush();
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

    /// Whether the store can serve now (for `/readyz`).
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.inner.store.ready().await
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::memory::MemoryStore;

    fn hub() -> Hub {
        Hub::new(Arc::new(MemoryStore::new(1000)))
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

    fn seqs(rx: &mut mpsc::Receiver<Outbound>) -> Vec<u64> {
        let mut out = vec![];
        while let Ok(o) = rx.try_recv() {
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
            std::iter::from_fn(|| ra.try_recv().ok())
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
        let frames: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
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
