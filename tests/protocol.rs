//! Protocol v1 over real sockets against a real server (port 0, fresh data dir).

mod common;

use common::{spawn, spawn_with, Ended, Mode};
use serde_json::{json, Value};

fn seq(f: &Value) -> u64 {
    f["seq"].as_u64().expect("seq")
}

async fn two_clients_in_a_room_both_see_a_message(mode: Mode) {
    let app = spawn(mode).await;
    let mut ann = app.client().await;
    let mut bob = app.client().await;
    let joined = ann.join("lobby", "ann").await;
    assert_eq!(joined["last_seq"], 0);
    assert_eq!(joined["online"], 1);
    assert_eq!(joined["members"], json!(["ann"]));
    assert_eq!(joined["recovered"], false);
    assert!(joined["epoch"].is_string());
    let joined = bob.join("lobby", "bob").await;
    assert_eq!(joined["online"], 2);
    assert_eq!(joined["members"], json!(["ann", "bob"]));
    let p = ann.recv().await;
    assert_eq!(
        p,
        json!({"type":"presence","room":"lobby","online":2,"members":["ann","bob"],"members_total":2})
    );

    ann.send(json!({"type":"publish","room":"lobby","body":"hello <b>world</b>","client_id":"m1"}))
        .await;
    let mut got_ack = false;
    let mut got_msg = false;
    while !(got_ack && got_msg) {
        let f = ann.recv().await;
        match f["type"].as_str() {
            Some("ack") => {
                assert_eq!(
                    f,
                    json!({"type":"ack","room":"lobby","client_id":"m1","seq":1})
                );
                got_ack = true;
            }
            Some("message") => got_msg = true,
            _ => panic!("unexpected {f}"),
        }
    }
    let m = bob.recv_type("message").await;
    assert_eq!(m["room"], "lobby");
    assert_eq!(m["seq"], 1);
    assert_eq!(m["from"], "ann");
    assert_eq!(m["body"], "hello <b>world</b>", "bodies travel verbatim");
    assert_eq!(m["client_id"], "m1");
    assert!(m["ts"].as_u64().unwrap() > 1_600_000_000_000);
}

async fn a_burst_of_100_arrives_in_order_once(mode: Mode) {
    let app = spawn_with(mode, |c| {
        c.rate_burst = 1000;
        c.rate_per_sec = 1000.0;
    })
    .await;
    let mut publisher = app.client().await;
    let mut reader = app.client().await;
    publisher.join("burst", "p").await;
    reader.join("burst", "r").await;
    for i in 0..100 {
        publisher
            .send(json!({"type":"publish","room":"burst","body":format!("m{i}"),"client_id":format!("c{i}")}))
            .await;
    }
    for i in 0..100u64 {
        let m = reader.recv_type("message").await;
        assert_eq!(seq(&m), i + 1);
        assert_eq!(m["body"], format!("m{i}"));
    }
    let mut acks = vec![];
    while acks.len() < 100 {
        let f = publisher.recv_skip_presence().await;
        if f["type"] == "ack" {
            acks.push(seq(&f));
        }
    }
    assert_eq!(acks, (1..=100).collect::<Vec<_>>(), "acks in publish order");
    reader.assert_only_pong().await;
}

async fn rooms_are_isolated(mode: Mode) {
    let app = spawn(mode).await;
    let mut a = app.client().await;
    let mut b = app.client().await;
    a.join("one", "a").await;
    b.join("two", "b").await;
    let ack = a.publish("one", "only for one", "x1").await;
    assert_eq!(seq(&ack), 1);
    let ack = b.publish("two", "only for two", "x1").await;
    assert_eq!(seq(&ack), 1, "seqs are per room, client ids too");
    a.assert_only_pong().await;
    b.assert_only_pong().await;
}

async fn every_bad_input_gets_its_code_and_the_connection_keeps_working(mode: Mode) {
    let app = spawn_with(mode, |c| c.max_rooms = 2).await;
    let mut c = app.client().await;
    let long_body = "x".repeat(4001);
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        ("not json".into(), "bad_frame", None),
        ("[1,2,3]".into(), "bad_frame", None),
        (r#"{"room":"r"}"#.into(), "bad_frame", None),
        (r#"{"type":"shout"}"#.into(), "unknown_type", None),
        (
            r#"{"type":"join","room":"no spaces","name":"a"}"#.into(),
            "invalid_room",
            None,
        ),
        (
            r#"{"type":"join","room":"r","name":"   "}"#.into(),
            "invalid_name",
            Some("r"),
        ),
        (
            r#"{"type":"join","room":"r","name":"a","since":-1}"#.into(),
            "invalid_since",
            Some("r"),
        ),
        (
            r#"{"type":"join","room":"r","name":"a","since":1,"epoch":5}"#.into(),
            "invalid_since",
            Some("r"),
        ),
        (
            r#"{"type":"publish","room":"r","body":"  ","client_id":"c1"}"#.into(),
            "invalid_body",
            Some("c1"),
        ),
        (
            json!({"type":"publish","room":"r","body":long_body,"client_id":"c2"}).to_string(),
            "invalid_body",
            Some("c2"),
        ),
        (
            r#"{"type":"publish","room":"r","body":"hi","client_id":"has space"}"#.into(),
            "invalid_client_id",
            Some("r"),
        ),
        (
            r#"{"type":"publish","room":"r","body":"hi","client_id":"c3"}"#.into(),
            "not_joined",
            Some("c3"),
        ),
        (
            r#"{"type":"leave","room":"r"}"#.into(),
            "not_joined",
            Some("r"),
        ),
        (
            r#"{"type":"history","room":"r","limit":0}"#.into(),
            "bad_frame",
            Some("r"),
        ),
        (
            r#"{"type":"history","room":"r","before":"x"}"#.into(),
            "bad_frame",
            Some("r"),
        ),
        // A validation error wins over the state error.
        (
            r#"{"type":"publish","room":"r","body":"","client_id":"c4"}"#.into(),
            "invalid_body",
            Some("c4"),
        ),
    ];
    for (input, code, reference) in cases {
        c.send_text(&input).await;
        let f = c.recv().await;
        assert_eq!(f["type"], "error", "for {input}");
        assert_eq!(f["code"], code, "for {input}");
        assert!(f["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(f["ref"].as_str(), reference, "ref for {input}");
        assert!(f.get("retry_after_ms").is_none());
        c.assert_only_pong().await;
    }
    c.send_binary(vec![1, 2, 3]).await;
    assert_eq!(c.recv().await["code"], "bad_frame");
    c.assert_only_pong().await;

    // too_many_rooms, with max_rooms = 2; re-joining a joined room is not a new room.
    c.join("r1", "a").await;
    c.join("r2", "a").await;
    c.send(json!({"type":"join","room":"r3","name":"a"})).await;
    let f = c.recv().await;
    assert_eq!(f["code"], "too_many_rooms");
    assert_eq!(f["ref"], "r3");
    assert_eq!(c.join("r2", "a").await["type"], "joined");

    // Nothing refused was stored.
    c.send(json!({"type":"history","room":"r"})).await;
    let h = c.recv().await;
    assert_eq!(
        h,
        json!({"type":"history","room":"r","messages":[],"has_more":false})
    );
}

async fn publishing_too_fast_is_refused_with_a_retry_hint(mode: Mode) {
    let app = spawn_with(mode, |c| {
        c.rate_burst = 3;
        c.rate_per_sec = 1.0;
    })
    .await;
    let mut c = app.client().await;
    let mut watcher = app.client().await;
    c.join("rl", "a").await;
    watcher.join("rl", "w").await;
    for i in 0..3 {
        c.publish("rl", "ok", &format!("ok{i}")).await;
    }
    c.send(json!({"type":"publish","room":"rl","body":"too fast","client_id":"over"}))
        .await;
    let f = c.recv_skip_presence().await;
    assert_eq!(f["code"], "rate_limited");
    assert_eq!(f["ref"], "over");
    let wait = f["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(wait > 0 && wait <= 1000, "{wait}");
    for i in 1..=3 {
        assert_eq!(seq(&watcher.recv_type("message").await), i);
    }
    watcher.assert_only_pong().await;
    tokio::time::sleep(std::time::Duration::from_millis(wait + 50)).await;
    assert_eq!(seq(&c.publish("rl", "now ok", "over").await), 4);
}

async fn join_with_since_replays_exactly_what_was_missed(mode: Mode) {
    let app = spawn(mode).await;
    let mut a = app.client().await;
    let joined = a.join("replay", "a").await;
    let epoch = joined["epoch"].as_str().unwrap().to_string();
    for i in 1..=5 {
        a.publish("replay", &format!("m{i}"), &format!("c{i}"))
            .await;
    }
    let mut b = app.client().await;
    b.send(json!({"type":"join","room":"replay","name":"b","since":2,"epoch":epoch}))
        .await;
    let j = b.recv().await;
    assert_eq!(j["type"], "joined");
    assert_eq!(j["recovered"], true);
    assert_eq!(j["last_seq"], 5);
    for i in 3..=5 {
        let m = b.recv().await;
        assert_eq!(m["type"], "message");
        assert_eq!(seq(&m), i);
    }
    a.publish("replay", "live", "c6").await;
    assert_eq!(seq(&b.recv_type("message").await), 6);
    b.assert_only_pong().await;

    // Without an epoch the replay still works.
    let mut c = app.client().await;
    c.send(json!({"type":"join","room":"replay","name":"c","since":5}))
        .await;
    let j = c.recv().await;
    assert_eq!(j["recovered"], true);
    assert_eq!(seq(&c.recv().await), 6);
    c.assert_only_pong().await;

    // Another epoch or a since beyond the end: nothing replayed, recovered false.
    for frame in [
        json!({"type":"join","room":"replay","name":"d","since":1,"epoch":"not-this-one"}),
        json!({"type":"join","room":"replay","name":"d","since":99}),
    ] {
        let mut d = app.client().await;
        d.send(frame).await;
        let j = d.recv().await;
        assert_eq!(j["type"], "joined");
        assert_eq!(j["recovered"], false);
        d.assert_only_pong().await;
    }
}

async fn rejoining_sends_only_what_was_not_sent(mode: Mode) {
    let app = spawn(mode).await;
    let mut a = app.client().await;
    a.join("rj", "a").await;
    a.publish("rj", "one", "c1").await;
    a.publish("rj", "two", "c2").await;
    a.send(json!({"type":"join","room":"rj","name":"a","since":0}))
        .await;
    let j = a.recv_skip_presence().await;
    assert_eq!(j["type"], "joined");
    // Messages 1 and 2 were already sent to this connection (as echoes): no replay.
    a.assert_only_pong().await;
}

async fn a_retried_publish_is_stored_and_broadcast_once(mode: Mode) {
    let app = spawn(mode).await;
    let mut a = app.client().await;
    let mut b = app.client().await;
    a.join("idem", "a").await;
    b.join("idem", "b").await;
    let first = a.publish("idem", "once", "same-id").await;
    let again = a.publish_retry("idem", "once", "same-id").await;
    assert_eq!(first, again, "the retry is acked with the original seq");
    assert_eq!(seq(&b.recv_type("message").await), 1);
    b.assert_only_pong().await;
    // Also across connections (a client that reconnected before its ack).
    let mut a2 = app.client().await;
    a2.join("idem", "a").await;
    assert_eq!(seq(&a2.publish_retry("idem", "once", "same-id").await), 1);
    b.send(json!({"type":"history","room":"idem"})).await;
    let h = b.recv_type("history").await;
    assert_eq!(h["messages"].as_array().unwrap().len(), 1);
}

async fn history_pages_backwards(mode: Mode) {
    let app = spawn_with(mode, |c| c.rate_burst = 100).await;
    let mut a = app.client().await;
    a.join("h", "a").await;
    for i in 1..=7 {
        a.publish("h", &format!("m{i}"), &format!("c{i}")).await;
    }
    a.send(json!({"type":"history","room":"h","limit":3})).await;
    let h = a.recv_type("history").await;
    let seqs: Vec<u64> = h["messages"].as_array().unwrap().iter().map(seq).collect();
    assert_eq!(seqs, vec![5, 6, 7]);
    assert_eq!(h["has_more"], true);
    a.send(json!({"type":"history","room":"h","before":3,"limit":3}))
        .await;
    let h = a.recv_type("history").await;
    let seqs: Vec<u64> = h["messages"].as_array().unwrap().iter().map(seq).collect();
    assert_eq!(seqs, vec![1, 2]);
    assert_eq!(h["has_more"], false);
    assert_eq!(h["messages"][0]["body"], "m1");
    // No join needed to read history.
    let mut outsider = app.client().await;
    outsider.send(json!({"type":"history","room":"h"})).await;
    assert_eq!(
        outsider.recv().await["messages"].as_array().unwrap().len(),
        7
    );
}

async fn joiners_during_a_stream_see_every_seq_once_in_order(mode: Mode) {
    let app = spawn_with(mode, |c| {
        c.rate_burst = 10_000;
        c.rate_per_sec = 10_000.0;
    })
    .await;
    const N: u64 = 300;
    let mut publisher = app.client().await;
    publisher.join("seam", "p").await;
    let pub_task = tokio::spawn(async move {
        for i in 0..N {
            publisher
                .send(json!({"type":"publish","room":"seam","body":format!("m{i}"),"client_id":format!("c{i}")}))
                .await;
            if i % 25 == 0 {
                tokio::task::yield_now().await;
            }
        }
        publisher
    });
    // Joiners arrive mid-stream and ask for everything from the start.
    let mut readers = vec![];
    for k in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(3 * k)).await;
        let mut r = app.client().await;
        r.send(json!({"type":"join","room":"seam","name":format!("r{k}"),"since":0}))
            .await;
        readers.push(r);
    }
    let _publisher = pub_task.await.unwrap();
    for mut r in readers {
        let j = r.recv_type("joined").await;
        assert_eq!(j["recovered"], true);
        let mut expected = 1;
        while expected <= N {
            let m = r.recv_type("message").await;
            assert_eq!(seq(&m), expected, "no gap, no duplicate, in order");
            expected += 1;
        }
        r.assert_only_pong().await;
    }
}

async fn leave_stops_delivery(mode: Mode) {
    let app = spawn(mode).await;
    let mut a = app.client().await;
    let mut b = app.client().await;
    a.join("lv", "a").await;
    b.join("lv", "b").await;
    assert_eq!(a.recv().await["online"], 2, "a hears b arrive");
    b.send(json!({"type":"leave","room":"lv"})).await;
    assert_eq!(b.recv().await, json!({"type":"left","room":"lv"}));
    let p = a.recv().await;
    assert_eq!(
        p,
        json!({"type":"presence","room":"lv","online":1,"members":["a"],"members_total":1})
    );
    a.publish("lv", "after leave", "c1").await;
    b.assert_only_pong().await;
    a.assert_only_pong().await;
}

async fn a_frame_over_64_kib_closes_with_1009(mode: Mode) {
    let app = spawn(mode).await;
    let mut c = app.client().await;
    c.join("big", "a").await;
    let body = "x".repeat(70_000);
    c.send(json!({"type":"publish","room":"big","body":body,"client_id":"c"}))
        .await;
    assert_eq!(c.ended().await, Ended::Closed(Some(1009)));
    // The server keeps serving everyone else.
    let mut d = app.client().await;
    d.join("big", "d").await;
    d.assert_only_pong().await;
}

async fn shutdown_closes_sockets_with_1012(mode: Mode) {
    let mut app = spawn(mode).await;
    let mut c = app.client().await;
    c.join("bye", "a").await;
    let stop = async { app.stop().await };
    let (_, ended) = tokio::join!(stop, c.ended());
    assert_eq!(ended, Ended::Closed(Some(1012)));
}

async fn a_client_that_stops_reading_is_cut_loose_and_the_room_goes_on(mode: Mode) {
    let app = spawn_with(mode, |c| {
        c.outbound_queue = 256;
        c.rate_burst = 100_000;
        c.rate_per_sec = 100_000.0;
    })
    .await;
    // ~16 MB of messages: more than the stalled client's socket buffers and queue hold.
    const N: u64 = 4000;
    let body = "x".repeat(4000);
    let mut stalled = app.client().await;
    stalled.join("busy", "stalled").await;
    let mut reader = app.client().await;
    reader.join("busy", "reader").await;
    let mut publisher = app.client().await;
    publisher.join("busy", "pub").await;

    // The other reader gets every message in order, and sees the stalled one leave.
    // The server leaves the room before its closing handshake, which waits a few seconds
    // for the stalled client: that is when the stalled client starts reading again.
    let (cut, cut_seen) = tokio::sync::oneshot::channel::<()>();
    let reading = tokio::spawn(async move {
        let (mut next, mut saw_leave, mut cut) = (1, false, Some(cut));
        while next <= N || !saw_leave {
            let f = reader.recv().await;
            match f["type"].as_str() {
                Some("message") => {
                    assert_eq!(seq(&f), next);
                    next += 1;
                }
                Some("presence") => saw_leave |= f["members"] == json!(["pub", "reader"]),
                _ => panic!("unexpected {f}"),
            }
            if saw_leave {
                if let Some(cut) = cut.take() {
                    let _ = cut.send(());
                }
            }
        }
        reader
    });
    let stalled_end = tokio::spawn(async move {
        let _ = cut_seen.await;
        stalled.ended().await
    });
    for batch in 0..N / 100 {
        for i in 0..100 {
            let n = batch * 100 + i;
            publisher
                .send(
                    json!({"type":"publish","room":"busy","body":body,"client_id":format!("c{n}")}),
                )
                .await;
        }
        let mut acks = 0;
        while acks < 100 {
            let f = publisher.recv_skip_presence().await;
            if f["type"] == "ack" {
                acks += 1;
            }
        }
    }
    let mut reader = reading.await.expect("the other reader's view is complete");
    // The stalled client finds, after what its buffers held, a close with 4008.
    assert_eq!(stalled_end.await.unwrap(), Ended::Closed(Some(4008)));
    reader.assert_only_pong().await;
    // It can come back with `since` and miss nothing.
    let mut back = app.client().await;
    back.send(json!({"type":"join","room":"busy","name":"stalled","since":N - 5}))
        .await;
    assert_eq!(back.recv_type("joined").await["recovered"], true);
    for i in N - 4..=N {
        assert_eq!(seq(&back.recv_type("message").await), i);
    }
}

async fn a_long_replay_streams_in_pages_without_gap_or_duplicate(mode: Mode) {
    let app = spawn_with(mode, |c| {
        c.rate_burst = 100_000;
        c.rate_per_sec = 100_000.0;
    })
    .await;
    const N: u64 = 1234; // more than two replay pages of 500
    let mut p = app.client().await;
    let epoch = p.join("long", "p").await["epoch"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..N {
        p.send(json!({"type":"publish","room":"long","body":format!("m{i}"),"client_id":format!("c{i}")}))
            .await;
    }
    let (mut acks, mut echoes) = (0, 0);
    while acks < N || echoes < N {
        match p.recv_skip_presence().await["type"].as_str() {
            Some("ack") => acks += 1,
            Some("message") => echoes += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut r = app.client().await;
    r.send(json!({"type":"join","room":"long","name":"r","since":7,"epoch":epoch}))
        .await;
    let j = r.recv().await;
    assert_eq!(
        (j["type"].as_str(), j["recovered"].as_bool()),
        (Some("joined"), Some(true))
    );
    for i in 8..=N {
        let m = r.recv().await;
        assert_eq!(seq(&m), i);
        assert_eq!(m["body"], format!("m{}", i - 1));
    }
    p.publish("long", "live after the replay", "live").await;
    assert_eq!(seq(&r.recv_type("message").await), N + 1);
    // Re-joining with an old `since` resends nothing this connection already has.
    r.send(json!({"type":"join","room":"long","name":"r","since":0,"epoch":epoch}))
        .await;
    assert_eq!(r.recv_type("joined").await["recovered"], true);
    r.assert_only_pong().await;
}

async fn a_silent_peer_is_dropped_and_an_active_one_kept(mode: Mode) {
    let app = spawn_with(mode, |c| {
        c.ping_secs = 1;
        c.idle_timeout_secs = 2;
    })
    .await;
    let mut silent = app.client().await;
    silent.join("idle", "s").await;
    let mut active = app.client().await;
    active.join("idle", "a").await;
    // The active client talks every 300 ms; the silent one never reads, so never answers
    // the server's pings. Soon after the idle timeout it must be gone from the room.
    let started = std::time::Instant::now();
    let mut dropped_after = None;
    while dropped_after.is_none() && started.elapsed() < std::time::Duration::from_secs(8) {
        active.send(json!({"type":"ping"})).await;
        loop {
            let f = active.recv().await;
            if f["type"] == "pong" {
                break;
            }
            if f["type"] == "presence" && f["online"] == 2 {
                // In a cluster the silent member's arrival on the other node can be
                // announced after `joined`; it is its departure this test waits for.
                continue;
            }
            assert_eq!(
                f,
                json!({"type":"presence","room":"idle","online":1,"members":["a"],"members_total":1})
            );
            dropped_after = Some(started.elapsed());
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let after = dropped_after.expect("the silent peer left the room");
    assert!(
        after >= std::time::Duration::from_millis(1500),
        "not before the idle timeout: {after:?}"
    );
    assert_eq!(silent.ended().await, Ended::Closed(Some(1001)));
    active.assert_only_pong().await;
}

async fn pipelined_publishes_are_stored_and_answered_in_the_order_sent(mode: Mode) {
    let app = spawn_with(mode, |c| {
        c.rate_per_sec = 10_000.0;
        c.rate_burst = 10_000;
    })
    .await;
    let mut a = app.client().await;
    let mut b = app.client().await;
    a.join("pipe", "a").await;
    b.join("pipe", "b").await;
    // 200 publishes without waiting, then a leave and a history: the leave must take
    // effect after every publish before it, and every publish before it is answered first.
    for i in 1..=200 {
        a.send(json!({"type":"publish","room":"pipe","body":format!("m{i}"),"client_id":format!("c{i}")}))
            .await;
    }
    a.send(json!({"type":"leave","room":"pipe"})).await;
    let mut acks = vec![];
    let mut echoes = 0;
    loop {
        let f = a.recv_skip_presence().await;
        match f["type"].as_str() {
            Some("ack") => acks.push((f["client_id"].as_str().unwrap_or("").to_string(), seq(&f))),
            Some("message") => echoes += 1,
            Some("left") => break,
            _ => panic!("unexpected {f}"),
        }
    }
    let expected: Vec<(String, u64)> = (1..=200).map(|i| (format!("c{i}"), i)).collect();
    assert_eq!(
        acks, expected,
        "acked in the order sent, with seqs in that order"
    );
    assert!(echoes <= 200);
    // The other member got all 200 in order, bodies matching the order sent.
    for i in 1..=200u64 {
        let f = b.recv_skip_presence().await;
        assert_eq!(f["type"], "message");
        assert_eq!(seq(&f), i);
        assert_eq!(f["body"], format!("m{i}"));
    }
}

/// Runs each test against one embedded node and against a two-node Redis cluster.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod single {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Mode::Single).await
            })*
        }
        mod cluster {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Mode::Cluster).await
            })*
        }
    };
}

on_both_engines!(
    two_clients_in_a_room_both_see_a_message,
    a_burst_of_100_arrives_in_order_once,
    rooms_are_isolated,
    every_bad_input_gets_its_code_and_the_connection_keeps_working,
    publishing_too_fast_is_refused_with_a_retry_hint,
    join_with_since_replays_exactly_what_was_missed,
    rejoining_sends_only_what_was_not_sent,
    a_retried_publish_is_stored_and_broadcast_once,
    history_pages_backwards,
    joiners_during_a_stream_see_every_seq_once_in_order,
    leave_stops_delivery,
    a_frame_over_64_kib_closes_with_1009,
    shutdown_closes_sockets_with_1012,
    a_client_that_stops_reading_is_cut_loose_and_the_room_goes_on,
    a_long_replay_streams_in_pages_without_gap_or_duplicate,
    a_silent_peer_is_dropped_and_an_active_one_kept,
    pipelined_publishes_are_stored_and_answered_in_the_order_sent,
);
