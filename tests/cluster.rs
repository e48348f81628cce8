//! Several nodes on one Redis: one room across nodes, resuming on another node, and the
//! failures a cluster has (a node killed with kill -9, Redis killed and restarted).
//!
//! The whole protocol suite also runs against a two-node cluster (tests/protocol.rs);
//! these are the cases only a cluster has.

mod common;

use chorus::server::testing::RedisServer;
use common::process::ServerProcess;
use common::{http_get, spawn_cluster, spawn_with, Client, Mode, WAIT};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

fn seq(f: &Value) -> u64 {
    f["seq"].as_u64().expect("seq")
}

/// Reads `message` frames of `room` until seq `last`, checking that they continue
/// `after` with no gap and no repeat. Returns the client_ids by seq.
async fn read_through(c: &mut Client, after: u64, last: u64) -> Vec<String> {
    let mut ids = vec![];
    let mut expect = after + 1;
    while expect <= last {
        let f = c.recv().await;
        if f["type"] != "message" {
            assert!(
                ["presence", "ack"].contains(&f["type"].as_str().unwrap_or("")),
                "{f}"
            );
            continue;
        }
        assert_eq!(seq(&f), expect, "gapless, in order, once: {f}");
        ids.push(f["client_id"].as_str().unwrap_or_default().to_string());
        expect += 1;
    }
    ids
}

/// Publishes and waits for the ack, retrying with the same client_id while the answer
/// is `unavailable`. Returns the seq.
async fn publish_until_acked(c: &mut Client, room: &str, cid: &str) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "{cid} never acked");
        c.send(json!({"type":"publish","room":room,"body":format!("b-{cid}"),"client_id":cid}))
            .await;
        loop {
            let f = c.recv().await;
            match f["type"].as_str() {
                Some("ack") if f["client_id"] == cid => return seq(&f),
                Some("error") => {
                    assert_eq!(f["code"], "unavailable", "{f}");
                    break;
                }
                _ => continue,
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for a presence frame (or `joined`) that shows exactly `names`. Messages that
/// arrive meanwhile must continue `after` gaplessly; returns the frame and the last seq.
async fn await_presence(c: &mut Client, names: &[&str], mut after: u64) -> (Value, u64) {
    let want: Vec<Value> = names.iter().map(|n| json!(n)).collect();
    loop {
        let f = c.recv().await;
        if f["type"] == "message" {
            assert_eq!(seq(&f), after + 1, "gapless, in order, once: {f}");
            after += 1;
        }
        if (f["type"] == "presence" || f["type"] == "joined") && f["members"] == json!(want) {
            return (f, after);
        }
    }
}

/// Limits that let a test publish as fast as it can.
fn unlimited(c: &mut chorus::server::config::Config) {
    c.rate_per_sec = 100_000.0;
    c.rate_burst = 100_000;
}

async fn ready(addr: SocketAddr) -> u16 {
    http_get(addr, "/readyz").await.0
}

async fn wait_status(addr: SocketAddr, want: u16) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while ready(addr).await != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{addr}: /readyz never {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Nodes "a" and "b" of one cluster on `redis`, as child processes (each with a data
/// directory of its own, kept as long as the nodes) started with `extra` flags and ready.
async fn two_node_processes(
    redis: &RedisServer,
    extra: &[&str],
) -> (
    ServerProcess,
    ServerProcess,
    (tempfile::TempDir, tempfile::TempDir),
) {
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let url = redis.url();
    let args = |node: &'static str| {
        let mut args = vec!["--redis-url", url.as_str(), "--node-id", node];
        args.extend_from_slice(extra);
        args
    };
    let a = ServerProcess::start(dirs.0.path(), &args("a")).await;
    let b = ServerProcess::start(dirs.1.path(), &args("b")).await;
    wait_status(a.addr, 200).await;
    wait_status(b.addr, 200).await;
    (a, b, dirs)
}

#[tokio::test]
async fn two_nodes_one_room_order_no_loss_no_dups_presence_merged() {
    let app = spawn_with(Mode::Cluster, unlimited).await;
    let mut clients = vec![];
    for (i, name) in ["ann", "bob", "cy", "dee"].iter().enumerate() {
        let mut c = app.client_on(i % 2).await;
        c.join("big", name).await;
        clients.push(c);
    }
    // Presence is merged over both nodes: everyone ends up seeing all four.
    for c in &mut clients {
        let (f, _) = await_presence(c, &["ann", "bob", "cy", "dee"], 0).await;
        assert_eq!(f["online"], 4, "{f}");
    }
    // Four publishers (two per node) send 50 each without waiting.
    for (i, c) in clients.iter_mut().enumerate() {
        for n in 0..50 {
            c.send(
                json!({"type":"publish","room":"big","body":"x","client_id":format!("p{i}-{n}")}),
            )
            .await;
        }
    }
    let mut seen = None;
    for c in &mut clients {
        let mut ids = read_through(c, 0, 200).await;
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 200, "every message once");
        seen.get_or_insert(ids.clone());
        assert_eq!(seen.as_ref(), Some(&ids));
    }
    // A member leaving one node is gone from the other's presence.
    drop(clients.remove(0));
    await_presence(&mut clients[0], &["bob", "cy", "dee"], 200).await;
}

#[tokio::test]
async fn a_client_leaves_node_a_and_resumes_on_node_b() {
    let app = spawn_with(Mode::Cluster, unlimited).await;
    let mut publisher = app.client_on(1).await;
    publisher.join("resume", "pub").await;
    let mut reader = app.client_on(0).await;
    let joined = reader.join("resume", "reader").await;
    let epoch = joined["epoch"].clone();
    for i in 1..=10 {
        publisher
            .publish("resume", "before", &format!("a{i}"))
            .await;
    }
    read_through(&mut reader, 0, 10).await;
    drop(reader);
    for i in 1..=15 {
        publisher
            .publish("resume", "while away", &format!("b{i}"))
            .await;
    }
    let mut back = app.client_on(1).await;
    back.send(json!({"type":"join","room":"resume","name":"reader","since":10,"epoch":epoch}))
        .await;
    let joined = back.recv_type("joined").await;
    assert_eq!(joined["recovered"], true, "{joined}");
    assert_eq!(joined["epoch"], epoch);
    let ids = read_through(&mut back, 10, 25).await;
    assert_eq!(ids.first().map(String::as_str), Some("b1"));
    publisher.publish("resume", "live", "c1").await;
    assert_eq!(read_through(&mut back, 25, 26).await, vec!["c1"]);
    back.assert_only_pong().await;
}

#[tokio::test]
async fn redis_killed_and_restarted_mid_stream_loses_no_acked_message() {
    let redis = RedisServer::start();
    let url = redis.url();
    let mut app = spawn_cluster(&url, Some(redis), 2, unlimited).await;
    let mut publisher = app.client_on(0).await;
    publisher.join("outage", "pub").await;
    let mut reader = app.client_on(1).await;
    let joined = reader.join("outage", "reader").await;
    let mut acked = BTreeMap::new();
    for i in 1..=30 {
        let cid = format!("m{i}");
        acked.insert(
            publish_until_acked(&mut publisher, "outage", &cid).await,
            cid,
        );
    }
    // Redis dies (SIGKILL): no false ack, and neither node says it is ready.
    app.redis.as_mut().expect("private redis").kill();
    publisher
        .send(json!({"type":"publish","room":"outage","body":"x","client_id":"m31"}))
        .await;
    let refused = loop {
        let f = publisher.recv().await;
        if f["type"] == "error" || f["type"] == "ack" {
            break f;
        }
    };
    assert_eq!(refused["code"], "unavailable", "{refused}");
    wait_status(app.addrs[0], 503).await;
    wait_status(app.addrs[1], 503).await;
    // It comes back with its append-only file; the nodes reconnect by themselves.
    app.redis.as_mut().expect("private redis").restart();
    for i in 31..=60 {
        let cid = format!("m{i}");
        acked.insert(
            publish_until_acked(&mut publisher, "outage", &cid).await,
            cid,
        );
    }
    wait_status(app.addrs[0], 200).await;
    wait_status(app.addrs[1], 200).await;
    // The reader stayed connected to the other node through all of it and got every
    // message once, in order: what it missed while Redis was down was read back.
    let got = read_through(&mut reader, 0, 60).await;
    assert_eq!(got, acked.values().cloned().collect::<Vec<_>>());
    // History holds each acked message exactly once, in the same epoch.
    let mut fresh = app.client_on(0).await;
    fresh
        .send(
            json!({"type":"join","room":"outage","name":"late","since":0,"epoch":joined["epoch"]}),
        )
        .await;
    let again = fresh.recv_type("joined").await;
    assert_eq!(again["epoch"], joined["epoch"], "the history survived");
    assert_eq!(again["last_seq"], 60);
    assert_eq!(read_through(&mut fresh, 0, 60).await, got);
    app.stop().await;
}

#[tokio::test]
async fn a_node_killed_with_kill_9_its_clients_resume_on_the_other() {
    let redis = RedisServer::start();
    let fast = [
        "--presence-ttl",
        "1s",
        "--rate-per-sec",
        "100000",
        "--rate-burst",
        "100000",
    ];
    let (a, b, _dirs) = two_node_processes(&redis, &fast).await;

    let mut watcher = Client::connect(b.addr).await;
    watcher.join("crash", "watcher").await;
    let mut lurker = Client::connect(a.addr).await;
    lurker.join("crash", "lurker").await;
    let mut writer = Client::connect(a.addr).await;
    let joined = writer.join("crash", "writer").await;
    await_presence(&mut watcher, &["lurker", "watcher", "writer"], 0).await;

    let mut acked = BTreeMap::new();
    for i in 1..=20 {
        let cid = format!("w{i}");
        acked.insert(publish_until_acked(&mut writer, "crash", &cid).await, cid);
    }
    // Ten more in flight when the node dies: some may be stored, their acks lost.
    for i in 21..=30 {
        writer
            .send(json!({"type":"publish","room":"crash","body":"x","client_id":format!("w{i}")}))
            .await;
    }
    a.kill9().await;

    // The watcher on B sees the dead node's members go within the TTL.
    let (_, watched) = tokio::time::timeout(
        Duration::from_secs(5),
        await_presence(&mut watcher, &["watcher"], 0),
    )
    .await
    .expect("the dead node's members expire");

    // The writer resumes on B and re-sends what it has no ack for, same client_ids.
    let mut writer = Client::connect(b.addr).await;
    writer
        .send(json!({"type":"join","room":"crash","name":"writer","since":20,"epoch":joined["epoch"]}))
        .await;
    let back = writer.recv_type("joined").await;
    assert_eq!(back["recovered"], true, "{back}");
    let stored_before = back["last_seq"].as_u64().expect("last_seq");
    assert!((20..=30).contains(&stored_before), "{back}");
    read_through(&mut writer, 20, stored_before).await;
    for i in 21..=40 {
        let cid = format!("w{i}");
        acked.insert(publish_until_acked(&mut writer, "crash", &cid).await, cid);
    }
    // Every client_id exactly once, every acked seq where its ack said.
    let mut reader = Client::connect(b.addr).await;
    reader
        .send(json!({"type":"join","room":"crash","name":"audit","since":0}))
        .await;
    reader.recv_type("joined").await;
    let all = read_through(&mut reader, 0, 40).await;
    let expected: Vec<String> = (1..=40).map(|i| format!("w{i}")).collect();
    assert_eq!(all, expected, "each once, in send order");
    for (seq, cid) in &acked {
        assert_eq!(&all[(*seq - 1) as usize], cid);
    }
    // The watcher, connected to B throughout, got them all live too.
    assert_eq!(
        read_through(&mut watcher, watched, 40).await,
        expected[watched as usize..]
    );
    drop(b);
}

/// How often the node lost its link to Redis, from its `/metrics` (absent: never).
async fn link_losses(addr: SocketAddr) -> u64 {
    let (status, text) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix("chorus_cluster_link_lost_total "))
        .map_or(0, |v| v.trim().parse().expect("a count"))
}

/// The Redis keepalive on a subscribed connection is answered `["pong", ""]`; a node that
/// took that for a failure reconnected and resynced every room every 5 s (and refused
/// joins meanwhile). Two nodes with members must keep their links for 30 s (six pings).
#[tokio::test]
async fn a_cluster_with_members_keeps_its_redis_link() {
    let redis = RedisServer::start();
    let (a, b, _dirs) = two_node_processes(&redis, &[]).await;
    let mut ann = Client::connect(a.addr).await;
    ann.join("steady", "ann").await;
    let mut bob = Client::connect(b.addr).await;
    bob.join("steady", "bob").await;
    await_presence(&mut ann, &["ann", "bob"], 0).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(link_losses(a.addr).await, 0, "node a lost its Redis link");
        assert_eq!(link_losses(b.addr).await, 0, "node b lost its Redis link");
    }
    // And a message still crosses.
    ann.publish("steady", "still here", "s1").await;
    let got = bob.recv_type("message").await;
    assert_eq!(got["body"], "still here");
    drop((a, b));
}

/// Strangers reading and joining rooms by the thousand through two nodes must not leave
/// Redis a permanent key per name: the meta of a room nobody published in expires; one
/// with a message is kept.
#[tokio::test]
async fn reads_and_joins_of_unknown_rooms_leave_no_permanent_keys() {
    let redis = RedisServer::start();
    let (a, b, _dirs) = two_node_processes(&redis, &["--redis-prefix", "strangers"]).await;
    for i in 0..40 {
        let node = if i % 2 == 0 { a.addr } else { b.addr };
        assert_eq!(
            http_get(node, &format!("/api/rooms/probe{i}/messages"))
                .await
                .0,
            200
        );
    }
    let mut c = Client::connect(b.addr).await;
    for i in 0..10 {
        c.join(&format!("joined{i}"), "stranger").await;
    }
    c.publish("joined0", "kept", "k1").await;
    let mut conn = redis.connection().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("strangers:*:meta")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.len() >= 50, "{} meta keys", keys.len());
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        if key == "strangers:{joined0}:meta" {
            assert_eq!(ttl, -1, "a room with a message keeps its meta");
        } else {
            assert!(ttl > 0, "{key} would stay forever");
        }
    }
    drop((a, b));
}

/// This node's announcements wait for a stalled Redis as one newest state per room, not a
/// queue of every change: 30 members leaving 20 rooms one by one while Redis holds every
/// write for 4 s leave at most 20 pending (a queue held ≈ one per room per 100 ms).
/// Once Redis answers again the other node sees the final state.
#[tokio::test]
async fn a_stalled_redis_costs_one_pending_announcement_per_room() {
    let redis = RedisServer::start();
    let (a, b, _dirs) = two_node_processes(
        &redis,
        &[
            "--control-burst",
            "100000",
            "--control-rate-per-sec",
            "100000",
            "--max-rooms",
            "20",
        ],
    )
    .await;
    let rooms: Vec<String> = (0..20).map(|i| format!("stall{i}")).collect();
    let mut bob = Client::connect(b.addr).await;
    for r in &rooms {
        bob.join(r, "bob").await;
    }
    let mut members = Vec::new();
    for i in 0..30 {
        let mut c = Client::connect(a.addr).await;
        for r in &rooms {
            c.join(r, &format!("u{i}")).await;
        }
        members.push(c);
    }
    // Let the joins' announcements go out before Redis stalls.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut conn = redis.connection().await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(4000)
        .arg("WRITE")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut most = 0;
    while let Some(c) = members.pop() {
        drop(c);
        tokio::time::sleep(Duration::from_millis(110)).await;
        most = most.max(pending_announcements(a.addr).await);
    }
    assert!(most > 0, "the stall was seen");
    assert!(most <= 20, "{most} pending announcements for 20 rooms");
    // After the stall, b's members see a's leave everywhere.
    await_presence(&mut bob, &["bob"], 0).await;
    let mut last = Client::connect(b.addr).await;
    let joined = last.join("stall19", "cy").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = joined["members"].clone();
    while seen != json!(["bob", "cy"]) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stale members {seen}"
        );
        let f = last.recv().await;
        if f["type"] == "presence" {
            seen = f["members"].clone();
        }
    }
}

/// The node's `chorus_cluster_announcements_pending` gauge (absent: 0).
async fn pending_announcements(addr: SocketAddr) -> u64 {
    let (status, text) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix("chorus_cluster_announcements_pending "))
        .map_or(0, |v| v.trim().parse::<f64>().expect("a number") as u64)
}
