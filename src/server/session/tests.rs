//! The session over channels instead of TCP: the client's frames go in through one
//! channel, the server's come out of another, so the loop's rules are tested without a
//! socket (the same rules over real sockets are in `tests/protocol.rs`).

use super::*;
use crate::protocol::{Body, ClientId};
use crate::server::conn_limit::ConnLimit;
use crate::server::shutdown::{self, ShutdownTrigger};
use crate::server::store::memory::MemoryStore;
use futures::channel::mpsc;
use serde_json::{json, Value};

/// The client's end of a session under test.
struct Client {
    /// What the client sends.
    tx: mpsc::Sender<Result<WsMessage, axum::Error>>,
    /// What the server sent.
    rx: mpsc::Receiver<WsMessage>,
    /// Stops the server.
    trigger: ShutdownTrigger,
    /// The session's task.
    task: tokio::task::JoinHandle<()>,
}

fn config() -> SessionConfig {
    SessionConfig {
        max_rooms: 4,
        rate_per_sec: 1000.0,
        rate_burst: 1000,
        control_per_sec: 1000.0,
        control_burst: 1000,
        budgets: Arc::new(crate::server::address_budget::AddressBudgets::new(
            crate::server::address_budget::BudgetSizes {
                publish_per_sec: 1000.0,
                publish_burst: 1000,
                new_rooms_per_hour: 1000,
            },
        )),
        outbound_queue: 256,
        ping_interval: Duration::from_secs(20),
        idle_timeout: Duration::from_secs(60),
        replay_stall: Duration::from_secs(10),
        verifier: None,
        guests: true,
        rooms: Arc::new(crate::server::rooms::access::RoomAccess::new(
            Arc::new(crate::server::rooms::memory::MemoryRooms::default()),
            Arc::new(crate::server::moderation::memory::MemoryModeration::default()),
        )),
    }
}

/// A session on `hub`. `buffer` is how many frames the client's end holds unread
/// before the server's writes wait (a socket whose peer stopped reading).
fn open(hub: &Hub, cfg: SessionConfig, buffer: usize) -> Client {
    let (tx, stream) = mpsc::channel(64);
    let (sink, rx) = mpsc::channel(buffer);
    let (trigger, shutdown) = shutdown::channel();
    let permit = ConnLimit::new(1).acquire([127, 0, 0, 1].into()).unwrap();
    let task = tokio::spawn(serve(
        sink.sink_map_err(axum::Error::new),
        stream,
        hub.clone(),
        Arc::new(cfg),
        shutdown,
        super::Upgraded {
            peer: "127.0.0.1:9".parse().unwrap(),
            permit,
            admitted: None,
        },
    ));
    Client {
        tx,
        rx,
        trigger,
        task,
    }
}

fn hub() -> Hub {
    Hub::local(Arc::new(MemoryStore::new(100_000)))
}

impl Client {
    async fn send(&mut self, frame: Value) {
        self.tx
            .send(Ok(WsMessage::Text(frame.to_string().into())))
            .await
            .unwrap();
    }

    /// The next message from the server, whatever it is.
    async fn next(&mut self) -> WsMessage {
        tokio::time::timeout(Duration::from_secs(10), self.rx.next())
            .await
            .expect("the server sends something")
            .expect("the session is still open")
    }

    /// The next text frame, as JSON (skipping pings).
    async fn frame(&mut self) -> Value {
        loop {
            match self.next().await {
                WsMessage::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                WsMessage::Ping(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Frames until one of `kind` arrives, which is returned with those before it.
    async fn until(&mut self, kind: &str) -> (Vec<Value>, Value) {
        let mut before = vec![];
        loop {
            let f = self.frame().await;
            if f["type"] == kind {
                return (before, f);
            }
            before.push(f);
        }
    }

    /// The close frame the server ends with (after any frames still on their way).
    async fn close_code(&mut self) -> u16 {
        loop {
            match self.next().await {
                WsMessage::Close(Some(c)) => return c.code,
                WsMessage::Close(None) => panic!("a close frame without a code"),
                _ => continue,
            }
        }
    }

    async fn join(&mut self, room: &str, extra: Value) -> Value {
        let mut frame = json!({"type": "join", "room": room, "name": "ann"});
        if let (Some(f), Value::Object(extra)) = (frame.as_object_mut(), extra) {
            f.extend(extra);
        }
        self.send(frame).await;
        self.until("joined").await.1
    }
}

async fn publish(hub: &Hub, room: &str, cid: &str) -> u64 {
    hub.publish(crate::server::store::Draft {
        room: RoomName::parse(room).unwrap(),
        from: UserName::parse("bob").unwrap(),
        body: Body::parse("hi").unwrap(),
        client_id: ClientId::parse(cid).unwrap(),
        user: None,
        reply_to: None,
    })
    .await
    .unwrap()
    .seq
}

#[tokio::test]
async fn pipelined_publishes_are_acked_in_order_and_a_later_frame_waits_for_them() {
    let hub = hub();
    let mut c = open(&hub, config(), 1024);
    c.join("r", json!({})).await;
    for i in 0..100 {
        c.send(json!({"type": "publish", "room": "r", "body": format!("m{i}"), "client_id": format!("c{i}")}))
            .await;
    }
    c.send(json!({"type": "ping"})).await;
    let (frames, _pong) = c.until("pong").await;
    let acks: Vec<(String, u64)> = frames
        .iter()
        .filter(|f| f["type"] == "ack")
        .map(|f| {
            (
                f["client_id"].as_str().unwrap().to_owned(),
                f["seq"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = (0..100).map(|i| (format!("c{i}"), i + 1)).collect();
    assert_eq!(
        acks, expected,
        "every publish acked, in the order sent, before the pong"
    );
    let messages: Vec<u64> = frames
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        messages,
        (1..=100).collect::<Vec<_>>(),
        "each message once, in seq order"
    );
}

#[tokio::test]
async fn a_resuming_join_replays_across_pages_then_goes_live_without_a_gap_or_a_double() {
    let hub = hub();
    for i in 0..(REPLAY_PAGE_FOR_TESTS * 2 + 7) {
        publish(&hub, "r", &format!("old{i}")).await;
    }
    let last = (REPLAY_PAGE_FOR_TESTS * 2 + 7) as u64;
    let mut c = open(&hub, config(), 4096);
    let joined = c.join("r", json!({"since": 3})).await;
    assert_eq!(joined["recovered"], true, "{joined}");
    assert_eq!(joined["last_seq"], last);
    // Published while the replay streams, and after it: live, right after the replay.
    let live = {
        let hub = hub.clone();
        tokio::spawn(async move {
            for i in 0..5 {
                publish(&hub, "r", &format!("new{i}")).await;
            }
        })
    };
    let mut seqs = vec![];
    while seqs.last() != Some(&(last + 5)) {
        let f = c.frame().await;
        if f["type"] == "message" {
            seqs.push(f["seq"].as_u64().unwrap());
        }
    }
    live.await.unwrap();
    assert_eq!(seqs, (4..=last + 5).collect::<Vec<_>>());
}

/// The replay page size, as the test sees it (replays longer than one page must stream).
const REPLAY_PAGE_FOR_TESTS: usize = super::replay::REPLAY_PAGE;

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_as_a_slow_consumer() {
    let hub = hub();
    let cfg = SessionConfig {
        outbound_queue: 8,
        ..config()
    };
    // The client's end holds 4 frames; after that the server's writes wait.
    let mut c = open(&hub, cfg, 4);
    c.join("r", json!({})).await;
    for i in 0..200 {
        publish(&hub, "r", &format!("c{i}")).await;
    }
    assert_eq!(c.close_code().await, Close::SlowConsumer.code());
    assert!(
        hub.room_counts().is_empty(),
        "it left the room before closing"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_peer_is_pinged_then_closed_after_the_idle_timeout() {
    let hub = hub();
    let cfg = SessionConfig {
        ping_interval: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(3),
        ..config()
    };
    let started = Instant::now();
    let mut c = open(&hub, cfg, 64);
    assert!(matches!(c.next().await, WsMessage::Ping(_)));
    assert_eq!(c.close_code().await, Close::Idle.code());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(4),
        "closed after {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_answers_is_kept() {
    let hub = hub();
    let cfg = SessionConfig {
        ping_interval: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(3),
        ..config()
    };
    let mut c = open(&hub, cfg, 64);
    for _ in 0..10 {
        assert!(matches!(c.next().await, WsMessage::Ping(_)));
        c.tx.send(Ok(WsMessage::Pong(Default::default())))
            .await
            .unwrap();
    }
    assert!(!c.task.is_finished(), "ten seconds of answered pings");
}

#[tokio::test]
async fn a_frame_over_the_limit_closes_with_1009_and_leaves_the_room() {
    let hub = hub();
    let mut c = open(&hub, config(), 64);
    c.join("r", json!({})).await;
    let too_big = crate::server::websocket::SocketError::TooBig { limit: 65_536 };
    c.tx.send(Err(axum::Error::new(too_big))).await.unwrap();
    assert_eq!(c.close_code().await, Close::TooBig.code());
    assert!(hub.room_counts().is_empty());
}

#[tokio::test]
async fn shutdown_closes_with_1012() {
    let hub = hub();
    let mut c = open(&hub, config(), 64);
    c.join("r", json!({})).await;
    c.trigger.trigger();
    assert_eq!(c.close_code().await, Close::ServerRestart.code());
    // The peer answers the close; the session ends.
    c.tx.send(Ok(WsMessage::Close(None))).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), &mut c.task)
        .await
        .expect("the session ends after the closing handshake")
        .unwrap();
}

#[tokio::test]
async fn a_bad_frame_gets_an_error_with_its_ref_and_the_socket_stays_open() {
    let hub = hub();
    let mut c = open(&hub, config(), 64);
    c.send(json!({"type": "publish", "room": "r", "body": "x", "client_id": "c1"}))
        .await;
    let refused = c.frame().await;
    assert_eq!(refused["code"], "not_joined", "{refused}");
    assert_eq!(refused["ref"], "c1", "{refused}");
    c.send(json!({"type": "join", "room": "bad room", "name": "ann"}))
        .await;
    let refused = c.frame().await;
    assert_eq!(refused["code"], "invalid_room", "{refused}");
    c.tx.send(Ok(WsMessage::Binary(vec![1, 2, 3].into())))
        .await
        .unwrap();
    assert_eq!(c.frame().await["code"], "bad_frame");
    c.send(json!({"type": "ping"})).await;
    assert_eq!(c.frame().await["type"], "pong");
}

#[tokio::test]
async fn a_peer_that_goes_away_leaves_its_rooms() {
    let hub = hub();
    let c = open(&hub, config(), 64);
    let Client {
        mut tx,
        mut rx,
        task,
        ..
    } = c;
    tx.send(Ok(WsMessage::Text(
        json!({"type": "join", "room": "r", "name": "ann"})
            .to_string()
            .into(),
    )))
    .await
    .unwrap();
    rx.next().await.unwrap();
    assert_eq!(hub.room_counts().len(), 1);
    drop(tx);
    task.await.unwrap();
    assert!(hub.room_counts().is_empty());
    assert!(
        rx.next().await.is_none(),
        "no close frame to a peer that is gone"
    );
}

#[tokio::test(start_paused = true)]
async fn a_replay_the_client_does_not_read_is_cut_as_a_slow_consumer() {
    let hub = hub();
    for i in 0..300 {
        publish(&hub, "r", &format!("old{i}")).await;
    }
    let cfg = SessionConfig {
        replay_stall: Duration::from_secs(2),
        ..config()
    };
    // The client's end holds 8 frames and is not read while the replay streams.
    let mut c = open(&hub, cfg, 8);
    c.send(json!({"type": "join", "room": "r", "name": "ann", "since": 0}))
        .await;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(c.close_code().await, Close::SlowConsumer.code());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(hub.room_counts().is_empty(), "it left the room");
}
