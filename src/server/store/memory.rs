//! [`MemoryStore`]: room history in process memory.

use super::{new_epoch, now_ms, Appended, Draft, HistoryPage, Range, RoomMeta, Store, StoreError};
use crate::protocol::{ClientId, Epoch, Message, RoomName};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// History in memory, keeping the newest `cap` messages per room.
///
/// One std `Mutex` over all rooms: every call is a short, non-blocking critical section
/// with no `.await` inside, so an async mutex would only add cost. Idempotency keys are
/// remembered as long as their message is retained.
pub struct MemoryStore {
    cap: usize,
    rooms: Mutex<HashMap<RoomName, RoomLog>>,
}

struct RoomLog {
    epoch: Epoch,
    /// Retained messages, oldest first; seqs are consecutive.
    messages: VecDeque<Message>,
    last_seq: u64,
    by_client: HashMap<ClientId, u64>,
}

impl RoomLog {
    fn new() -> Self {
        Self {
            epoch: new_epoch(),
            messages: VecDeque::new(),
            last_seq: 0,
            by_client: HashMap::new(),
        }
    }

    /// The seq of the oldest retained message (`last_seq + 1` when none is).
    fn first_seq(&self) -> u64 {
        self.messages.front().map_or(self.last_seq + 1, |m| m.seq)
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
            rooms: Mutex::new(HashMap::new()),
        }
    }

    fn with_room<T>(&self, room: &RoomName, f: impl FnOnce(&mut RoomLog) -> T) -> T {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        f(rooms.entry(room.clone()).or_insert_with(RoomLog::new))
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn meta(&self, room: &RoomName) -> Result<RoomMeta, StoreError> {
        Ok(self.with_room(room, |log| RoomMeta {
            epoch: log.epoch.clone(),
            last_seq: log.last_seq,
        }))
    }

    async fn append(&self, draft: Draft) -> Result<Appended, StoreError> {
        let cap = self.cap;
        Ok(self.with_room(&draft.room, |log| {
            if let Some(&seq) = log.by_client.get(&draft.client_id) {
                return Appended::Duplicate { seq };
            }
            log.last_seq += 1;
            let msg = Message {
                room: draft.room.clone(),
                seq: log.last_seq,
                from: draft.from,
                body: draft.body,
                ts: now_ms(),
                client_id: draft.client_id,
            };
            log.by_client.insert(msg.client_id.clone(), msg.seq);
            log.messages.push_back(msg.clone());
            while log.messages.len() > cap {
                if let Some(old) = log.messages.pop_front() {
                    log.by_client.remove(&old.client_id);
                }
            }
            Appended::Stored(msg)
        }))
    }

    async fn range(
        &self,
        room: &RoomName,
        after: u64,
        until: u64,
        max: usize,
    ) -> Result<Range, StoreError> {
        Ok(self.with_room(room, |log| {
            let complete = after + 1 >= log.first_seq() || after + 1 >= until;
            let start = log.index_of(after + 1);
            let end = log.index_of(until);
            let messages = log
                .messages
                .range(start..end.max(start))
                .take(max)
                .cloned()
                .collect();
            Range { messages, complete }
        }))
    }

    async fn history(
        &self,
        room: &RoomName,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        Ok(self.with_room(room, |log| {
            let end = before.map_or(log.messages.len(), |b| log.index_of(b));
            let start = end.saturating_sub(limit);
            HistoryPage {
                messages: log.messages.range(start..end).cloned().collect(),
                has_more: start > 0,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Body, UserName};

    fn draft(room: &str, cid: &str) -> Draft {
        Draft {
            room: RoomName::parse(room).unwrap(),
            from: UserName::parse("ann").unwrap(),
            body: Body::parse("hi").unwrap(),
            client_id: ClientId::parse(cid).unwrap(),
        }
    }

    fn seq(a: Appended) -> u64 {
        match a {
            Appended::Stored(m) => m.seq,
            Appended::Duplicate { seq } => seq,
        }
    }

    #[tokio::test]
    async fn seqs_are_gapless_per_room_and_dedup_by_client_id() {
        let s = MemoryStore::new(100);
        assert_eq!(seq(s.append(draft("a", "1")).await.unwrap()), 1);
        assert_eq!(seq(s.append(draft("a", "2")).await.unwrap()), 2);
        assert_eq!(seq(s.append(draft("b", "1")).await.unwrap()), 1);
        assert_eq!(
            s.append(draft("a", "1")).await.unwrap(),
            Appended::Duplicate { seq: 1 }
        );
        assert_eq!(
            s.meta(&RoomName::parse("a").unwrap())
                .await
                .unwrap()
                .last_seq,
            2
        );
    }

    #[tokio::test]
    async fn epoch_is_stable_per_room_and_differs_between_rooms() {
        let s = MemoryStore::new(10);
        let a = RoomName::parse("a").unwrap();
        let e1 = s.meta(&a).await.unwrap().epoch;
        s.append(draft("a", "x")).await.unwrap();
        assert_eq!(s.meta(&a).await.unwrap().epoch, e1);
        assert_ne!(
            s.meta(&RoomName::parse("b").unwrap()).await.unwrap().epoch,
            e1
        );
    }

    #[tokio::test]
    async fn range_and_retention() {
        let s = MemoryStore::new(5);
        let a = RoomName::parse("a").unwrap();
        for i in 0..8 {
            s.append(draft("a", &i.to_string())).await.unwrap();
        }
        // Retained: 4..=8.
        let r = s.range(&a, 3, 9, 100).await.unwrap();
        assert!(r.complete);
        assert_eq!(
            r.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![4, 5, 6, 7, 8]
        );
        let r = s.range(&a, 2, 9, 100).await.unwrap();
        assert!(!r.complete, "seq 3 was dropped");
        let r = s.range(&a, 5, 8, 1).await.unwrap();
        assert_eq!(
            r.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![6]
        );
        let r = s.range(&a, 8, 9, 10).await.unwrap();
        assert!(r.complete && r.messages.is_empty());
        // A dropped message's client_id is forgotten with it.
        assert!(matches!(
            s.append(draft("a", "0")).await.unwrap(),
            Appended::Stored(_)
        ));
    }

    #[tokio::test]
    async fn history_pages_backwards() {
        let s = MemoryStore::new(100);
        let a = RoomName::parse("a").unwrap();
        for i in 0..7 {
            s.append(draft("a", &i.to_string())).await.unwrap();
        }
        let p = s.history(&a, None, 3).await.unwrap();
        assert_eq!(
            p.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![5, 6, 7]
        );
        assert!(p.has_more);
        let p = s.history(&a, Some(5), 3).await.unwrap();
        assert_eq!(
            p.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        assert!(p.has_more);
        let p = s.history(&a, Some(2), 3).await.unwrap();
        assert_eq!(
            p.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![1]
        );
        assert!(!p.has_more);
        let p = s
            .history(&RoomName::parse("empty").unwrap(), None, 50)
            .await
            .unwrap();
        assert!(p.messages.is_empty() && !p.has_more);
    }
}
