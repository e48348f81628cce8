//! The Redis store against a real redis-server: the stores' conformance, and what only Redis does.

use super::*;
use crate::server::store::conformance as c;
use crate::server::testing::RedisServer;
use std::sync::Arc;
use std::time::Duration;

async fn store(server: &RedisServer, cap: u64) -> Arc<dyn Store> {
    let conn = server.connection().await;
    Arc::new(RedisStore::new(
        conn,
        Keys::new(&format!("t{cap}")),
        Retention {
            max_messages: cap,
            ..Retention::default()
        },
    ))
}

#[tokio::test]
async fn reading_a_room_leaves_no_permanent_key_and_publishing_makes_it_permanent() {
    let server = RedisServer::start();
    let s = store(&server, 100).await;
    let mut conn = server.connection().await;
    let keys = Keys::new("t100");
    for i in 0..50 {
        s.meta(&RoomName::parse(&format!("probe{i}")).unwrap())
            .await
            .unwrap();
    }
    let ttl: i64 = redis::cmd("PTTL")
        .arg(keys.meta(&RoomName::parse("probe7").unwrap()))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= UNUSED_ROOM_TTL.as_millis() as i64,
        "a read room's meta expires: {ttl}"
    );
    s.append(c::draft("probe7", "x1")).await.unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(keys.meta(&RoomName::parse("probe7").unwrap()))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(ttl, -1, "a room with a message keeps its seq and epoch");
}

#[tokio::test]
async fn conforms() {
    let server = RedisServer::start();
    c::seqs_are_gapless_per_room_and_dedup_by_client_id(store(&server, 100).await).await;
    c::range_and_retention_by_count(store(&server, 5).await).await;
    c::history_pages_backwards(store(&server, 101).await).await;
    c::concurrent_appends_stay_gapless(store(&server, 10_000).await).await;
    c::empty_rooms_already_have_their_epoch(store(&server, 10).await).await;
    c::appends_take_their_place_on_the_first_poll(store(&server, 1000).await).await;
    c::range_is_bounded_by_bytes(store(&server, 1001).await).await;
    c::users_are_stored_with_their_messages(store(&server, 1002).await).await;
    c::amendments_change_what_every_read_returns(store(&server, 1002).await).await;
    c::a_purged_room_starts_again_under_a_new_epoch(store(&server, 1003).await).await;
    c::replies_and_reactions(store(&server, 1004).await).await;
    c::reactions_go_with_their_message(store(&server, 1005).await).await;
    c::retention_by_bytes(Arc::new(RedisStore::new(
        server.connection().await,
        Keys::new("bytes"),
        Retention {
            max_bytes: 1000,
            ..Retention::default()
        },
    )))
    .await;
    c::rooms_are_capped(Arc::new(RedisStore::new(
        server.connection().await,
        Keys::new("capped"),
        Retention {
            max_rooms: 2,
            ..Retention::default()
        },
    )))
    .await;
}

#[tokio::test]
async fn a_room_whose_log_expired_frees_its_place_at_the_census() {
    let server = RedisServer::start();
    let s = RedisStore::new(
        server.connection().await,
        Keys::new("census"),
        Retention {
            max_age: Some(Duration::from_millis(1500)),
            max_rooms: 1,
            ..Retention::default()
        },
    );
    c::seq(s.append(c::draft("a", "1")).await.unwrap());
    assert!(matches!(
        s.append(c::draft("b", "1")).await,
        Err(StoreError::RoomsFull { max: 1 })
    ));
    assert_eq!(s.census().await.unwrap(), 1, "a still holds");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(s.census().await.unwrap(), 0, "a's log expired");
    assert_eq!(c::seq(s.append(c::draft("b", "1")).await.unwrap()), 1);
    // a, its log gone, is a new room now: the cap refuses it. b counts its bytes afresh.
    assert!(matches!(
        s.append(c::draft("a", "2")).await,
        Err(StoreError::RoomsFull { .. })
    ));
    let mut conn = server.connection().await;
    let keys = Keys::new("census");
    let b = RoomName::parse("b").unwrap();
    let (bytes, member): (u64, Vec<String>) = redis::pipe()
        .cmd("HGET")
        .arg(keys.meta(&b))
        .arg("bytes")
        .cmd("ZRANGE")
        .arg(keys.log(&b))
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(bytes, member[0].len() as u64);
}

#[tokio::test]
async fn old_messages_expire_by_age_with_their_client_ids() {
    let server = RedisServer::start();
    let s = RedisStore::new(
        server.connection().await,
        Keys::new("age"),
        Retention {
            max_age: Some(Duration::from_millis(1500)),
            ..Retention::default()
        },
    );
    let room = RoomName::parse("r").unwrap();
    c::seq(s.append(c::draft("r", "old")).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(c::seq(s.append(c::draft("r", "new")).await.unwrap()), 2);
    let r = s.range(&room, 0, u64::MAX, 10, usize::MAX).await.unwrap();
    assert_eq!(r.messages.len(), 1, "the old message is gone");
    assert!(!r.complete);
    // Its id went with it: the same client_id is a new message now.
    assert_eq!(c::seq(s.append(c::draft("r", "old")).await.unwrap()), 3);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let page = s.history(&room, None, 10).await.unwrap();
    assert!(page.messages.is_empty(), "an idle room's log expires whole");
    assert_eq!(s.meta(&room).await.unwrap().last_seq, 3, "but seqs go on");
}

#[tokio::test]
async fn reactions_leave_redis_with_their_messages() {
    use crate::server::store::{Reaction, Reactor};
    let server = RedisServer::start();
    let keys = Keys::new("rxgone");
    let s = RedisStore::new(
        server.connection().await,
        keys.clone(),
        Retention {
            max_messages: 2,
            ..Retention::default()
        },
    );
    let room = RoomName::parse("r").unwrap();
    let up = |who: &str| Reaction {
        emoji: crate::protocol::Emoji::parse("👍").unwrap(),
        who: Reactor::guest(who, crate::protocol::UserName::parse(who).unwrap()),
        on: true,
    };
    for cid in ["1", "2"] {
        s.append(c::draft("r", cid)).await.unwrap();
    }
    s.react(&room, 1, up("a")).await.unwrap();
    s.react(&room, 2, up("a")).await.unwrap();
    // Seq 3 makes retention drop seq 1: its reactions go in the same script.
    s.append(c::draft("r", "3")).await.unwrap();
    let mut conn = server.connection().await;
    let (gone, members, counts): (bool, Vec<String>, Vec<String>) = redis::pipe()
        .cmd("EXISTS")
        .arg(keys.reactors(&room, 1))
        .cmd("ZRANGE")
        .arg(keys.reaction_seqs(&room))
        .arg(0)
        .arg(-1)
        .cmd("HKEYS")
        .arg(keys.reaction_counts(&room))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!gone, "seq 1's reactors left with it");
    assert_eq!(members, ["2 👍"]);
    assert_eq!(counts, ["2 👍"]);
    // A purge leaves no reaction key at all.
    s.purge(&room).await.unwrap();
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("rxgone:*rx*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_tail_completes_a_message_json() {
    let d = c::draft("r", "c1");
    let json = format!(r#"{{"seq":7,"ts":9{}"#, RedisStore::tail(&d).unwrap());
    let m = parse_message(&json).unwrap();
    assert_eq!((m.seq, m.ts, m.client_id.as_str()), (7, 9, "c1"));
}
