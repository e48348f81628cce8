//! The hub's unit tests: members, ordering, presence batching, slow consumers.

use super::presence::PRESENCE_INTERVAL;
use super::*;
use crate::protocol::{Body, ClientId};
use crate::server::store::memory::MemoryStore;
use std::time::Duration;

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
    h.publish(crate::server::store::Draft {
        room: room(r),
        from: name("ann"),
        body: Body::parse("hi").unwrap(),
        client_id: ClientId::parse(cid).unwrap(),
        user: None,
        reply_to: None,
    })
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
        content: crate::protocol::Content::text(Body::parse("b").unwrap()),
        ts: 0,
        client_id: ClientId::parse("c").unwrap(),
        user: None,
        reply_to: None,
        reactions: Default::default(),
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
