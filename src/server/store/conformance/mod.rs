//! The [`Store`] contract as tests every implementation runs (test builds only), so the
//! hub can rely on the same behaviour over memory, SQLite, or anything added later.

use super::{Appended, Draft, HistoryPage, Range, RoomMeta, Store, StoreError};
use crate::protocol::{Body, ClientId, Message, RoomName, UserName};
use async_trait::async_trait;
use futures::FutureExt;
use std::sync::Arc;

mod reactions;
pub use reactions::{reactions_go_with_their_message, replies_and_reactions};

/// A draft from "ann" with body "hi".
pub fn draft(room: &str, cid: &str) -> Draft {
    Draft {
        room: RoomName::parse(room).unwrap(),
        from: UserName::parse("ann").unwrap(),
        body: Body::parse("hi").unwrap(),
        client_id: ClientId::parse(cid).unwrap(),
        user: None,
        reply_to: None,
    }
}

/// The seq an append ended at, new or duplicate.
pub fn seq(a: Appended) -> u64 {
    match a {
        Appended::Stored(m) => m.seq,
        Appended::Duplicate { seq } => seq,
    }
}

fn room(s: &str) -> RoomName {
    RoomName::parse(s).unwrap()
}

fn seqs(m: &[crate::protocol::Message]) -> Vec<u64> {
    m.iter().map(|m| m.seq).collect()
}

/// Seqs start at 1 per room; a known client_id is a duplicate with its first seq.
pub async fn seqs_are_gapless_per_room_and_dedup_by_client_id(s: Arc<dyn Store>) {
    assert_eq!(seq(s.append(draft("a", "1")).await.unwrap()), 1);
    assert_eq!(seq(s.append(draft("a", "2")).await.unwrap()), 2);
    assert_eq!(seq(s.append(draft("b", "1")).await.unwrap()), 1);
    assert_eq!(
        s.append(draft("a", "1")).await.unwrap(),
        Appended::Duplicate { seq: 1 }
    );
    assert_eq!(s.meta(&room("a")).await.unwrap().last_seq, 2);
    assert_eq!(s.meta(&room("b")).await.unwrap().last_seq, 1);
    let page = s.history(&room("a"), None, 50).await.unwrap();
    assert_eq!(
        seqs(&page.messages),
        vec![1, 2],
        "the duplicate stored nothing"
    );
    let m = &page.messages[0];
    assert_eq!(
        (
            m.from.as_str(),
            m.body().map_or("", |b| b.as_str()),
            m.client_id.as_str()
        ),
        ("ann", "hi", "1")
    );
}

/// With a cap of 5, eight appends keep 4..=8; a range reaching below says incomplete.
pub async fn range_and_retention_by_count(s: Arc<dyn Store>) {
    let a = room("a");
    for i in 0..8 {
        s.append(draft("a", &i.to_string())).await.unwrap();
    }
    let r = s.range(&a, 3, 9, 100, usize::MAX).await.unwrap();
    assert!(r.complete);
    assert_eq!(seqs(&r.messages), vec![4, 5, 6, 7, 8]);
    let r = s.range(&a, 2, 9, 100, usize::MAX).await.unwrap();
    assert!(!r.complete, "seq 3 was dropped");
    assert_eq!(seqs(&r.messages), vec![4, 5, 6, 7, 8]);
    let r = s.range(&a, 5, 8, 1, usize::MAX).await.unwrap();
    assert_eq!(seqs(&r.messages), vec![6]);
    let r = s.range(&a, 8, 9, 10, usize::MAX).await.unwrap();
    assert!(r.complete && r.messages.is_empty());
    let r = s.range(&room("none"), 0, 10, 10, usize::MAX).await.unwrap();
    assert!(r.complete && r.messages.is_empty());
    let h = s.history(&a, None, 50).await.unwrap();
    assert_eq!(seqs(&h.messages), vec![4, 5, 6, 7, 8]);
    assert!(!h.has_more, "nothing older is retained");
    assert_eq!(s.meta(&a).await.unwrap().last_seq, 8);
    // A dropped message's client_id is forgotten with it: retention is the dedup window.
    assert_eq!(seq(s.append(draft("a", "0")).await.unwrap()), 9);
}

/// `history` pages backwards from `before`, oldest first within a page.
pub async fn history_pages_backwards(s: Arc<dyn Store>) {
    let a = room("a");
    for i in 0..7 {
        s.append(draft("a", &i.to_string())).await.unwrap();
    }
    let p = s.history(&a, None, 3).await.unwrap();
    assert_eq!(seqs(&p.messages), vec![5, 6, 7]);
    assert!(p.has_more);
    let p = s.history(&a, Some(5), 3).await.unwrap();
    assert_eq!(seqs(&p.messages), vec![2, 3, 4]);
    assert!(p.has_more);
    let p = s.history(&a, Some(2), 3).await.unwrap();
    assert_eq!(seqs(&p.messages), vec![1]);
    assert!(!p.has_more);
    let p = s.history(&a, Some(1), 3).await.unwrap();
    assert!(p.messages.is_empty() && !p.has_more);
    let p = s.history(&room("empty"), None, 50).await.unwrap();
    assert!(p.messages.is_empty() && !p.has_more);
}

/// Many publishers at once: every room's seqs are exactly 1..=n, each client_id once.
pub async fn concurrent_appends_stay_gapless(s: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for p in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..25 {
                let r = if i % 2 == 0 { "even" } else { "odd" };
                let cid = format!("p{p}-{i}");
                got.push((r, seq(s.append(draft(r, &cid)).await.unwrap())));
            }
            got
        }));
    }
    let mut all: Vec<(&str, u64)> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    for (r, n) in [("even", 260u64), ("odd", 240)] {
        let mut got: Vec<u64> = all.iter().filter(|x| x.0 == r).map(|x| x.1).collect();
        got.sort_unstable();
        assert_eq!(got, (1..=n).collect::<Vec<_>>(), "room {r}");
        let h = s.range(&room(r), 0, n + 1, 1000, usize::MAX).await.unwrap();
        assert_eq!(seqs(&h.messages), (1..=n).collect::<Vec<_>>());
    }
}

/// The epoch an empty room reports is the one it keeps once it has messages, so a
/// client that joined it empty can resume.
pub async fn empty_rooms_already_have_their_epoch(s: Arc<dyn Store>) {
    let a = room("fresh");
    let before = s.meta(&a).await.unwrap();
    assert_eq!(before.last_seq, 0);
    s.append(draft("fresh", "x")).await.unwrap();
    let after = s.meta(&a).await.unwrap();
    assert_eq!(after.epoch, before.epoch);
    assert_eq!(after.last_seq, 1);
}

/// The ordering rule of [`Store::append`]: appends polled once each, in order (as
/// `Hub::publish` does), then driven to the end in the reverse order, are stored in the
/// order of their first polls.
pub async fn appends_take_their_place_on_the_first_poll(s: Arc<dyn Store>) {
    const N: usize = 20;
    let mut appends: Vec<_> = (0..N)
        .map(|i| s.append(draft("order", &format!("o{i}"))))
        .collect();
    let mut early: Vec<_> = appends
        .iter_mut()
        .map(|a| a.as_mut().now_or_never())
        .collect();
    let mut seqs = vec![0; N];
    for (i, a) in appends.into_iter().enumerate().rev() {
        let appended = match early[i].take() {
            Some(done) => done,
            None => a.await,
        };
        seqs[i] = seq(appended.unwrap());
    }
    assert_eq!(
        seqs,
        (1..=N as u64).collect::<Vec<_>>(),
        "seqs follow the order of the first polls"
    );
}

/// A store that breaks the ordering rule: it awaits something of its own before it hands
/// an append on. [`appends_take_their_place_on_the_first_poll`] must fail for it.
pub struct LateToQueue(pub Arc<dyn Store>);

#[async_trait]
impl Store for LateToQueue {
    async fn meta(&self, room: &RoomName) -> Result<RoomMeta, StoreError> {
        self.0.meta(room).await
    }

    async fn append(&self, draft: Draft) -> Result<Appended, StoreError> {
        tokio::task::yield_now().await;
        self.0.append(draft).await
    }

    async fn range(
        &self,
        room: &RoomName,
        after: u64,
        until: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Range, StoreError> {
        self.0.range(room, after, until, max, max_bytes).await
    }

    async fn history(
        &self,
        room: &RoomName,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        self.0.history(room, before, limit).await
    }

    async fn message(&self, room: &RoomName, seq: u64) -> Result<Option<Message>, StoreError> {
        self.0.message(room, seq).await
    }

    async fn purge(&self, room: &RoomName) -> Result<RoomMeta, StoreError> {
        self.0.purge(room).await
    }

    async fn amend(
        &self,
        room: &RoomName,
        seq: u64,
        change: crate::server::store::Amendment,
    ) -> Result<Option<Message>, StoreError> {
        self.0.amend(room, seq, change).await
    }

    async fn react(
        &self,
        room: &RoomName,
        seq: u64,
        reaction: super::Reaction,
    ) -> Result<super::Reacted, StoreError> {
        self.0.react(room, seq, reaction).await
    }

    async fn reactors(
        &self,
        room: &RoomName,
        seq: u64,
        key: &str,
    ) -> Result<Option<super::Reactors>, StoreError> {
        self.0.reactors(room, seq, key).await
    }
}

/// A range stops once its bodies reach the byte budget, and always holds at least one.
pub async fn range_is_bounded_by_bytes(s: Arc<dyn Store>) {
    let a = room("bytes");
    for i in 0..10 {
        let mut d = draft("bytes", &format!("b{i}"));
        d.body = Body::parse(&"x".repeat(1000)).unwrap();
        s.append(d).await.unwrap();
    }
    let r = s.range(&a, 0, 100, 100, 3500).await.unwrap();
    assert_eq!(
        seqs(&r.messages),
        vec![1, 2, 3],
        "3 of 1000 bytes fit in 3500"
    );
    assert!(r.complete);
    let r = s.range(&a, 4, 100, 100, 10).await.unwrap();
    assert_eq!(seqs(&r.messages), vec![5], "the first always comes");
    let r = s.range(&a, 0, 100, 2, usize::MAX).await.unwrap();
    assert_eq!(
        seqs(&r.messages),
        vec![1, 2],
        "and the count still bounds it"
    );
}

/// With `max_bytes` of 1000 (and messages of 100-byte bodies), a room keeps its newest
/// messages within the cap, gapless; a replay from before them says incomplete; a lone
/// message bigger than the cap is kept whole.
pub async fn retention_by_bytes(s: Arc<dyn Store>) {
    let a = room("heavy");
    for i in 0..50 {
        let mut d = draft("heavy", &format!("h{i}"));
        d.body = Body::parse(&"y".repeat(100)).unwrap();
        s.append(d).await.unwrap();
    }
    let h = s.history(&a, None, 100).await.unwrap();
    let n = h.messages.len() as u64;
    // Each message takes more than its body in the store (at most its JSON in Redis).
    assert!((4..=9).contains(&n), "kept {n} of 50 within 1000 bytes");
    assert_eq!(seqs(&h.messages), (51 - n..=50).collect::<Vec<_>>());
    assert!(!h.has_more);
    assert!(!s.range(&a, 0, 51, 100, usize::MAX).await.unwrap().complete);
    assert_eq!(s.meta(&a).await.unwrap().last_seq, 50);
    let mut big = draft("heavy", "big");
    big.body = Body::parse(&"z".repeat(3000)).unwrap();
    assert_eq!(seq(s.append(big).await.unwrap()), 51);
    let h = s.history(&a, None, 100).await.unwrap();
    assert_eq!(seqs(&h.messages), vec![51], "the newest stays, however big");
    // Other rooms are not touched by one room's cap.
    assert_eq!(seq(s.append(draft("light", "1")).await.unwrap()), 1);
    assert_eq!(
        s.history(&room("light"), None, 10)
            .await
            .unwrap()
            .messages
            .len(),
        1
    );
}

/// With `max_rooms` of 2: two rooms take messages, a third is refused `RoomsFull`
/// (storing nothing, consuming no seq) while the two go on taking messages.
pub async fn rooms_are_capped(s: Arc<dyn Store>) {
    assert_eq!(seq(s.append(draft("one", "1")).await.unwrap()), 1);
    assert_eq!(seq(s.append(draft("two", "1")).await.unwrap()), 1);
    let refused = s.append(draft("three", "1")).await;
    assert!(
        matches!(refused, Err(StoreError::RoomsFull { max: 2 })),
        "{refused:?}"
    );
    assert_eq!(s.meta(&room("three")).await.unwrap().last_seq, 0);
    assert!(s
        .history(&room("three"), None, 10)
        .await
        .unwrap()
        .messages
        .is_empty());
    assert_eq!(seq(s.append(draft("one", "2")).await.unwrap()), 2);
    assert_eq!(
        s.append(draft("two", "1")).await.unwrap(),
        Appended::Duplicate { seq: 1 }
    );
    assert!(matches!(
        s.append(draft("three", "1")).await,
        Err(StoreError::RoomsFull { .. })
    ));
}

/// A user's message keeps its `user` through the store (v1.1); a guest's has none.
pub async fn users_are_stored_with_their_messages(s: Arc<dyn Store>) {
    let mut d = draft("who", "u1");
    d.user = Some(crate::protocol::UserId::parse("u:ann@site").unwrap());
    let Appended::Stored(m) = s.append(d).await.unwrap() else {
        panic!("new")
    };
    assert_eq!(m.user.as_ref().map(|u| u.as_str()), Some("u:ann@site"));
    s.append(draft("who", "g1")).await.unwrap();
    let h = s.history(&room("who"), None, 10).await.unwrap();
    let users: Vec<Option<&str>> = h
        .messages
        .iter()
        .map(|m| m.user.as_ref().map(|u| u.as_str()))
        .collect();
    assert_eq!(users, vec![Some("u:ann@site"), None]);
    let r = s.range(&room("who"), 0, 10, 10, usize::MAX).await.unwrap();
    assert_eq!(r.messages, h.messages);
}

/// Deletes and edits: every read (one message, a range, a history page) returns the
/// message as it now is; the seq stays, an unknown seq is `None`, a deleted message
/// cannot be edited back, and idempotency still finds the original by its `client_id`.
pub async fn amendments_change_what_every_read_returns(s: Arc<dyn Store>) {
    use crate::server::store::Amendment;
    let r = room("amend");
    for cid in ["a1", "a2", "a3"] {
        s.append(draft("amend", cid)).await.unwrap();
    }
    let edited = s
        .amend(
            &r,
            2,
            Amendment::Edit {
                body: Body::parse("better").unwrap(),
                ts: 77,
            },
        )
        .await
        .unwrap()
        .expect("seq 2 is stored");
    assert_eq!(edited.body().map(|b| b.as_str()), Some("better"));
    assert_eq!(edited.edited_ts(), Some(77));
    let gone = s.amend(&r, 1, Amendment::Delete).await.unwrap().unwrap();
    assert!(gone.is_deleted() && gone.body().is_none());
    assert_eq!((gone.seq, gone.from.as_str()), (1, "ann"));
    let again = s
        .amend(
            &r,
            1,
            Amendment::Edit {
                body: Body::parse("back").unwrap(),
                ts: 78,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(again.is_deleted(), "a deleted message stays deleted");
    assert_eq!(s.amend(&r, 9, Amendment::Delete).await.unwrap(), None);
    assert_eq!(s.message(&r, 9).await.unwrap(), None);
    assert_eq!(s.message(&room("nowhere"), 1).await.unwrap(), None);
    assert_eq!(s.message(&r, 2).await.unwrap(), Some(edited.clone()));
    let h = s.history(&r, None, 10).await.unwrap();
    assert_eq!(
        h.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(h.messages[0].is_deleted());
    assert_eq!(h.messages[1], edited);
    assert_eq!(h.messages[2].body().map(|b| b.as_str()), Some("hi"));
    let range = s.range(&r, 0, 10, 10, usize::MAX).await.unwrap();
    assert_eq!(range.messages, h.messages);
    assert_eq!(
        s.append(draft("amend", "a1")).await.unwrap(),
        Appended::Duplicate { seq: 1 },
        "a deleted message's client_id still answers a retry"
    );
    assert_eq!(s.meta(&r).await.unwrap().last_seq, 3);
}

/// Deleting a room's history: nothing is left, the epoch is new, seqs start at 1 again,
/// old client_ids are new again, and other rooms are untouched.
pub async fn a_purged_room_starts_again_under_a_new_epoch(s: Arc<dyn Store>) {
    let r = room("purged");
    for cid in ["p1", "p2"] {
        s.append(draft("purged", cid)).await.unwrap();
    }
    s.append(draft("bystander", "b1")).await.unwrap();
    let before = s.meta(&r).await.unwrap();
    let meta = s.purge(&r).await.unwrap();
    assert_ne!(meta.epoch, before.epoch);
    assert_eq!(meta.last_seq, 0);
    assert_eq!(s.meta(&r).await.unwrap(), meta);
    assert!(s.history(&r, None, 10).await.unwrap().messages.is_empty());
    assert_eq!(s.message(&r, 1).await.unwrap(), None);
    assert_eq!(
        seq(s.append(draft("purged", "p2")).await.unwrap()),
        1,
        "a new history"
    );
    assert_eq!(s.meta(&room("bystander")).await.unwrap().last_seq, 1);
    assert_eq!(
        s.history(&room("bystander"), None, 10)
            .await
            .unwrap()
            .messages
            .len(),
        1
    );
}
