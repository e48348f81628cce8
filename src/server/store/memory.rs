//! [`MemoryStore`]: room history in process memory.

use super::reactions::ReactionBook;
use super::{
    new_epoch, now_ms, Amendment, Appended, Draft, HistoryPage, Range, Reacted, Reaction, Reactors,
    RoomMeta, Store, StoreError,
};
use crate::protocol::{ClientId, Content, Epoch, Message, RoomName};
use crate::sync::lock;
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// History in memory, keeping the newest `cap` messages per room.
///
/// One std `Mutex` over all rooms: every call is a short, non-blocking critical section
/// with no `.await` inside, so an async mutex would only add cost. Idempotency keys are
/// remembered as long as their message is retained.
///
/// All rooms share one epoch, made with the store: their histories are lost together
/// (when the process ends), which is exactly when an epoch must change. So a room needs no
/// record until its first message, and reading or joining a room that has none stores
/// nothing: strangers asking about random room names cannot grow memory.
pub struct MemoryStore {
    cap: usize,
    /// Bytes kept per room (0: any), counted by [`super::stored_size`].
    max_bytes: u64,
    /// Rooms with messages at most (0: any).
    max_rooms: u64,
    epoch: Epoch,
    rooms: Mutex<HashMap<RoomName, RoomLog>>,
    /// Rooms whose history was deleted (`purge`): their own epoch from then on.
    purged: Mutex<HashMap<RoomName, Epoch>>,
}

#[derive(Default)]
struct RoomLog {
    /// Retained messages, oldest first; seqs are consecutive.
    messages: VecDeque<Message>,
    last_seq: u64,
    by_client: HashMap<ClientId, u64>,
    /// The retained messages' bytes.
    bytes: u64,
    /// Who reacted to which retained message (each message's `reactions` holds the
    /// counts, so reads need nothing from here).
    reactions: HashMap<u64, ReactionBook>,
}

impl RoomLog {
    /// The seq of the oldest retained message (`last_seq + 1` when none is).
    fn first_seq(&self) -> u64 {
        self.messages.front().map_or(self.last_seq + 1, |m| m.seq)
    }

    fn get(&self, seq: u64) -> Option<&Message> {
        self.messages
            .get(self.index_of(seq))
            .filter(|m| m.seq == seq)
    }

    fn get_mut(&mut self, seq: u64) -> Option<&mut Message> {
        let i = self.index_of(seq);
        self.messages.get_mut(i).filter(|m| m.seq == seq)
    }

    fn index_of(&self, seq: u64) -> usize {
        (seq.saturating_sub(self.first_seq()) as usize).min(self.messages.len())
    }
}

impl MemoryStore {
    /// A store keeping at most `cap` messages per room (at least 1).
    pub fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            max_bytes: 0,
            max_rooms: 0,
            epoch: new_epoch(),
            rooms: Mutex::new(HashMap::new()),
            purged: Mutex::new(HashMap::new()),
        }
    }

    /// A store enforcing `retention`'s count, bytes and rooms (not its age: the
    /// process's lifetime is this store's age limit).
    pub fn with_retention(retention: super::Retention) -> Self {
        let cap = match retention.max_messages {
            0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        Self {
            max_bytes: retention.max_bytes,
            max_rooms: retention.max_rooms,
            ..Self::new(cap)
        }
    }

    /// The room's epoch: the store's, or its own once its history was deleted.
    fn epoch_of(&self, room: &RoomName) -> Epoch {
        lock(&self.purged)
            .get(room)
            .cloned()
            .unwrap_or_else(|| self.epoch.clone())
    }

    /// Reads a room; one without messages reads as an empty log.
    fn read<T>(&self, room: &RoomName, f: impl FnOnce(&RoomLog) -> T) -> T {
        match lock(&self.rooms).get(room) {
            Some(log) => f(log),
            None => f(&RoomLog::default()),
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn meta(&self, room: &RoomName) -> Result<RoomMeta, StoreError> {
        Ok(RoomMeta {
            epoch: self.epoch_of(room),
            last_seq: self.read(room, |log| log.last_seq),
        })
    }

    async fn append(&self, draft: Draft) -> Result<Appended, StoreError> {
        let mut rooms = lock(&self.rooms);
        // A room, once it has a message, keeps at least its newest: rooms never empty here.
        if self.max_rooms > 0
            && !rooms.contains_key(&draft.room)
            && rooms.len() as u64 >= self.max_rooms
        {
            return Err(StoreError::RoomsFull {
                max: self.max_rooms,
            });
        }
        let log = rooms.entry(draft.room.clone()).or_default();
        if let Some(&seq) = log.by_client.get(&draft.client_id) {
            return Ok(Appended::Duplicate { seq });
        }
        if let Some(to) = draft.reply_to.filter(|&to| log.get(to).is_none()) {
            return Err(StoreError::NoSuchReply { seq: to });
        }
        log.last_seq += 1;
        let msg = Message {
            room: draft.room,
            seq: log.last_seq,
            from: draft.from,
            content: Content::text(draft.body),
            ts: now_ms(),
            client_id: draft.client_id,
            user: draft.user,
            reply_to: draft.reply_to,
            reactions: Default::default(),
        };
        log.by_client.insert(msg.client_id.clone(), msg.seq);
        log.bytes += size(&msg);
        log.messages.push_back(msg.clone());
        while log.messages.len() > self.cap
            || (self.max_bytes > 0 && log.bytes > self.max_bytes && log.messages.len() > 1)
        {
            if let Some(old) = log.messages.pop_front() {
                log.bytes -= size(&old);
                log.by_client.remove(&old.client_id);
                log.reactions.remove(&old.seq);
            }
        }
        Ok(Appended::Stored(msg))
    }

    async fn range(
        &self,
        room: &RoomName,
        after: u64,
        until: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Range, StoreError> {
        Ok(self.read(room, |log| {
            let complete = after + 1 >= log.first_seq() || after + 1 >= until;
            let start = log.index_of(after + 1);
            let end = log.index_of(until);
            let messages = super::within_bytes(
                log.messages.range(start..end.max(start)).take(max).cloned(),
                max_bytes,
            );
            Range { messages, complete }
        }))
    }

    async fn purge(&self, room: &RoomName) -> Result<RoomMeta, StoreError> {
        let mut rooms = lock(&self.rooms);
        let had = rooms.remove(room).is_some();
        let mut purged = lock(&self.purged);
        if had || purged.contains_key(room) {
            purged.insert(room.clone(), new_epoch());
        }
        drop(purged);
        drop(rooms);
        Ok(RoomMeta {
            epoch: self.epoch_of(room),
            last_seq: 0,
        })
    }

    async fn message(&self, room: &RoomName, seq: u64) -> Result<Option<Message>, StoreError> {
        Ok(self.read(room, |log| log.get(seq).cloned()))
    }

    async fn amend(
        &self,
        room: &RoomName,
        seq: u64,
        change: Amendment,
    ) -> Result<Option<Message>, StoreError> {
        let mut rooms = lock(&self.rooms);
        let Some(log) = rooms.get_mut(room) else {
            return Ok(None);
        };
        let i = log.index_of(seq);
        let Some(msg) = log.messages.get_mut(i).filter(|m| m.seq == seq) else {
            return Ok(None);
        };
        let before = size(msg);
        change.apply(msg);
        let after = size(msg);
        let amended = msg.clone();
        log.bytes = log.bytes - before + after;
        if amended.is_deleted() {
            log.reactions.remove(&seq);
        }
        Ok(Some(amended))
    }

    async fn react(
        &self,
        room: &RoomName,
        seq: u64,
        reaction: Reaction,
    ) -> Result<Reacted, StoreError> {
        let mut rooms = lock(&self.rooms);
        let Some(log) = rooms.get_mut(room) else {
            return Ok(Reacted::NotFound);
        };
        match log.get_mut(seq) {
            Some(m) if !m.is_deleted() => {}
            _ => return Ok(Reacted::NotFound),
        }
        let done = log.reactions.entry(seq).or_default().apply(&reaction);
        if let (Reacted::Counts { counts, .. }, Some(m)) = (&done, log.get_mut(seq)) {
            m.reactions = counts.clone();
            if counts.is_empty() {
                log.reactions.remove(&seq);
            }
        }
        Ok(done)
    }

    async fn reactors(
        &self,
        room: &RoomName,
        seq: u64,
        key: &str,
    ) -> Result<Option<Reactors>, StoreError> {
        Ok(self.read(room, |log| {
            log.get(seq).filter(|m| !m.is_deleted())?;
            Some(
                log.reactions
                    .get(&seq)
                    .map(|b| b.reactors(key))
                    .unwrap_or_default(),
            )
        }))
    }

    async fn history(
        &self,
        room: &RoomName,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        Ok(self.read(room, |log| {
            let end = before.map_or(log.messages.len(), |b| log.index_of(b));
            let start = end.saturating_sub(limit);
            HistoryPage {
                messages: log.messages.range(start..end).cloned().collect(),
                has_more: start > 0,
            }
        }))
    }
}

/// A message's bytes for the byte cap.
fn size(m: &Message) -> u64 {
    let body = m.body().map_or("", |b| b.as_str());
    super::stored_size(m.from.as_str(), body, m.client_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::conformance as c;

    fn store(cap: usize) -> std::sync::Arc<dyn Store> {
        std::sync::Arc::new(MemoryStore::new(cap))
    }

    #[tokio::test]
    async fn conforms() {
        c::seqs_are_gapless_per_room_and_dedup_by_client_id(store(100)).await;
        c::range_and_retention_by_count(store(5)).await;
        c::history_pages_backwards(store(100)).await;
        c::concurrent_appends_stay_gapless(store(10_000)).await;
        c::empty_rooms_already_have_their_epoch(store(10)).await;
        c::appends_take_their_place_on_the_first_poll(store(100)).await;
        c::range_is_bounded_by_bytes(store(100)).await;
        c::users_are_stored_with_their_messages(store(100)).await;
        c::amendments_change_what_every_read_returns(store(100)).await;
        c::a_purged_room_starts_again_under_a_new_epoch(store(100)).await;
        c::replies_and_reactions(store(100)).await;
        c::reactions_go_with_their_message(store(3)).await;
        c::retention_by_bytes(std::sync::Arc::new(MemoryStore::with_retention(
            crate::server::store::Retention {
                max_bytes: 1000,
                ..Default::default()
            },
        )))
        .await;
        c::rooms_are_capped(std::sync::Arc::new(MemoryStore::with_retention(
            crate::server::store::Retention {
                max_rooms: 2,
                ..Default::default()
            },
        )))
        .await;
    }

    #[tokio::test]
    async fn the_ordering_check_fails_for_a_store_that_awaits_before_it_queues() {
        let late = std::sync::Arc::new(c::LateToQueue(store(100)));
        let checked = tokio::spawn(c::appends_take_their_place_on_the_first_poll(late)).await;
        assert!(
            checked.is_err_and(|e| e.is_panic()),
            "the conformance check must catch a store that is late to its queue"
        );
    }

    #[tokio::test]
    async fn a_new_store_is_a_new_history() {
        let a = RoomName::parse("a").unwrap();
        let e1 = MemoryStore::new(10).meta(&a).await.unwrap().epoch;
        let e2 = MemoryStore::new(10).meta(&a).await.unwrap().epoch;
        assert_ne!(e1, e2, "a restart loses history, so the epoch changes");
    }

    #[tokio::test]
    async fn reading_unknown_rooms_stores_nothing() {
        let s = MemoryStore::new(10);
        for i in 0..100 {
            let r = RoomName::parse(&format!("r{i}")).unwrap();
            s.meta(&r).await.unwrap();
            s.history(&r, None, 50).await.unwrap();
            s.range(&r, 0, 10, 10, usize::MAX).await.unwrap();
        }
        assert!(lock(&s.rooms).is_empty());
    }
}
