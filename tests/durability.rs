//! Durability over real sockets and a real database file: acks survive kill -9, resumes
//! have no gap and no duplicate, a store that cannot write says `unavailable` and
//! recovers, and a data directory that cannot be trusted stops the server.

mod common;

use common::process::{start_refused, ServerProcess};
use common::{spawn_app_with, Client, WAIT};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

const FAST: &[&str] = &["--rate-per-sec", "100000", "--rate-burst", "100000"];

fn seq(f: &Value) -> u64 {
    f["seq"].as_u64().expect("seq")
}

/// Publishes every `(client_id, body)` on one connection without waiting between them,
/// and reads concurrently: acks go into `acks`, and each ack bumps `count`. Returns when
/// every publish is acked or the connection ends (a killed server). `client` has joined
/// `room` already: a join still under way when the server is killed would fail the test
/// for the wrong reason.
async fn pipeline(
    client: Client,
    room: &'static str,
    messages: Vec<String>,
    acks: Arc<Mutex<HashMap<String, u64>>>,
    count: Arc<AtomicUsize>,
    acked_enough: Arc<Notify>,
    enough: usize,
) {
    let total = messages.len();
    let (mut tx, mut rx) = client.ws.split();
    let sender = tokio::spawn(async move {
        for cid in messages {
            let frame = json!({"type":"publish","room":room,"body":format!("body of {cid}"),"client_id":cid});
            if tx.send(Message::text(frame.to_string())).await.is_err() {
                return; // The server is gone.
            }
        }
    });
    let mut mine = 0;
    while mine < total {
        let msg = match rx.next().await {
            Some(Ok(m)) => m,
            other => {
                eprintln!("pipeline ended after {mine} acks: {other:?}");
                break;
            }
        };
        let Message::Text(text) = msg else { continue };
        let f: Value = serde_json::from_str(text.as_str()).expect("JSON");
        match f["type"].as_str() {
            Some("ack") => {
                acks.lock()
                    .unwrap()
                    .insert(f["client_id"].as_str().unwrap().to_string(), seq(&f));
                mine += 1;
                if count.fetch_add(1, Ordering::SeqCst) + 1 == enough {
                    acked_enough.notify_one();
                }
            }
            Some("error") => panic!("publish refused: {f}"),
            _ => {}
        }
    }
    sender.abort();
}

/// Joins `room` with `since: 0` and collects the whole replay: (joined, messages).
async fn replay_all(addr: std::net::SocketAddr, room: &str) -> (Value, Vec<Value>) {
    let mut c = Client::connect(addr).await;
    c.send(json!({"type":"join","room":room,"name":"auditor","since":0}))
        .await;
    let joined = c.recv_type("joined").await;
    let last = joined["last_seq"].as_u64().unwrap();
    let mut out = Vec::new();
    while (out.len() as u64) < last {
        out.push(c.recv_type("message").await);
    }
    c.assert_only_pong().await;
    (joined, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acked_messages_survive_kill_9_exactly_once() {
    const PUBLISHERS: usize = 8;
    const PER: usize = 600; // 4800 in all
    const KILL_AT: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), FAST).await;
    let addr = server.addr;

    let mut probe = Client::connect(addr).await;
    let epoch = probe.join("crash", "probe").await["epoch"].clone();
    drop(probe);

    let acks = Arc::new(Mutex::new(HashMap::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let mut sent = Vec::new();
    let mut tasks = Vec::new();
    for p in 0..PUBLISHERS {
        let ids: Vec<String> = (0..PER).map(|i| format!("p{p}-m{i}")).collect();
        sent.extend(ids.clone());
        let mut client = Client::connect(addr).await;
        client.join("crash", "writer").await;
        tasks.push(tokio::spawn(pipeline(
            client,
            "crash",
            ids,
            acks.clone(),
            count.clone(),
            enough.clone(),
            KILL_AT,
        )));
    }
    tokio::time::timeout(Duration::from_secs(60), enough.notified())
        .await
        .expect("2000 acks before the kill");
    server.kill9().await;
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acks.lock().unwrap().clone();
    assert!(acked.len() >= KILL_AT);
    assert!(
        acked.len() < sent.len(),
        "the kill must land mid-stream ({} of {} acked)",
        acked.len(),
        sent.len()
    );

    // Restart on the same directory and read the whole history back.
    let server = ServerProcess::start(dir.path(), FAST).await;
    let (joined, stored) = replay_all(server.addr, "crash").await;
    assert_eq!(joined["epoch"], epoch, "a restart keeps the epoch");
    assert_eq!(joined["recovered"], true);
    let stored_seqs: Vec<u64> = stored.iter().map(seq).collect();
    assert_eq!(
        stored_seqs,
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "seqs are gapless from 1"
    );
    let by_cid: BTreeMap<&str, u64> = stored
        .iter()
        .map(|m| (m["client_id"].as_str().unwrap(), seq(m)))
        .collect();
    assert_eq!(by_cid.len(), stored.len(), "each client_id once");
    for (cid, s) in &acked {
        assert_eq!(
            by_cid.get(cid.as_str()),
            Some(s),
            "acked {cid} is stored with its acked seq"
        );
        let m = &stored[*s as usize - 1];
        assert_eq!(m["body"], format!("body of {cid}"));
    }
    let last_before = stored.len() as u64;
    eprintln!(
        "crash test: {} sent, {} acked before kill -9, {} stored",
        sent.len(),
        acked.len(),
        last_before
    );

    // Re-send every acked message: nothing new, each answered with its original seq.
    let mut c = Client::connect(server.addr).await;
    c.join("crash", "retrier").await;
    for (cid, s) in &acked {
        let ack = c
            .publish_retry("crash", &format!("body of {cid}"), cid)
            .await;
        assert_eq!(
            (ack["client_id"].as_str(), seq(&ack)),
            (Some(cid.as_str()), *s)
        );
    }
    let (joined, _) = replay_all(server.addr, "crash").await;
    assert_eq!(
        joined["last_seq"], last_before,
        "re-sending stored nothing new"
    );

    // Re-send everything else: each is stored once (or found, if it was stored unacked).
    let rest: Vec<String> = sent
        .iter()
        .filter(|cid| !acked.contains_key(*cid))
        .cloned()
        .collect();
    let count = Arc::new(AtomicUsize::new(0));
    let mut client = Client::connect(server.addr).await;
    client.join("crash", "writer").await;
    pipeline(
        client,
        "crash",
        rest,
        Arc::new(Mutex::new(HashMap::new())),
        count,
        Arc::new(Notify::new()),
        usize::MAX,
    )
    .await;
    let (_, all) = replay_all(server.addr, "crash").await;
    assert_eq!(all.len(), sent.len(), "every message stored exactly once");
    let cids: HashSet<&str> = all
        .iter()
        .map(|m| m["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(cids.len(), sent.len());
    assert!(server.terminate().await.success(), "SIGTERM exits 0");
    // A clean stop folds the journal into the database file.
    let wal = dir.path().join("chorus.db-wal");
    assert!(
        wal.metadata().map_or(0, |m| m.len()) == 0,
        "the WAL is checkpointed at shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resuming_during_a_stream_misses_nothing_and_repeats_nothing() {
    let app = spawn_app_with(|c| {
        c.rate_burst = 100_000;
        c.rate_per_sec = 100_000.0;
    })
    .await;
    const N: u64 = 600;
    let mut publisher = app.client().await;
    publisher.join("seam", "p").await;
    let (mut ptx, mut prx) = publisher.ws.split();
    let pub_task = tokio::spawn(async move {
        for i in 0..N {
            let f = json!({"type":"publish","room":"seam","body":format!("m{i}"),"client_id":format!("c{i}")});
            ptx.send(Message::text(f.to_string())).await.unwrap();
            if i % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        ptx
    });
    // Keep the publisher's socket drained.
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = prx.next().await {} });

    // The subscriber drops its connection every few messages and resumes with `since`
    // and `epoch` while the publisher keeps going.
    let mut got: Vec<u64> = Vec::new();
    let mut epoch = Value::Null;
    let mut resumes = 0;
    while (got.len() as u64) < N {
        let mut sub = app.client().await;
        let mut join = json!({"type":"join","room":"seam","name":"sub","since":0});
        if let Some(&last) = got.last() {
            join["since"] = json!(last);
            join["epoch"] = epoch.clone();
            resumes += 1;
        }
        sub.send(join).await;
        let joined = sub.recv_type("joined").await;
        assert_eq!(joined["recovered"], true, "{joined}");
        epoch = joined["epoch"].clone();
        // Read a few, then vanish without a goodbye.
        for _ in 0..37 {
            if got.len() as u64 == N {
                break;
            }
            let m = sub.recv_type("message").await;
            got.push(seq(&m));
        }
    }
    let _ = pub_task.await.unwrap();
    drain.abort();
    assert!(resumes >= 10, "resumed {resumes} times");
    assert_eq!(
        got,
        (1..=N).collect::<Vec<_>>(),
        "every seq exactly once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_cannot_write_says_unavailable_and_recovers_by_itself() {
    let app = spawn_app_with(|c| c.store_busy_timeout = Duration::from_millis(300)).await;
    let mut a = app.client().await;
    let mut b = app.client().await;
    a.join("r", "ann").await;
    b.join("r", "bob").await;
    a.recv_type("presence").await;
    assert_eq!(seq(&a.publish("r", "first", "c1").await), 1);
    b.recv_type("message").await;

    // Another process takes the database's write lock and holds it.
    let db = app.data_dir.path().join("chorus.db");
    let locker = rusqlite::Connection::open(&db).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    a.send(json!({"type":"publish","room":"r","body":"second","client_id":"c2"}))
        .await;
    let refused = a.recv_skip_presence().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "unavailable");
    assert_eq!(refused["ref"], "c2");
    assert!(refused.get("retry_after_ms").is_none());
    // Readiness says so while writes fail, so a balancer sends writers elsewhere.
    let (status, why) = common::http_get(app.addr, "/readyz").await;
    assert_eq!(status, 503, "{why}");
    assert!(why.contains("SQLite"), "{why}");
    // The server keeps serving: reads, pings, other rooms' joins.
    b.send(json!({"type":"history","room":"r"})).await;
    let h = b.recv_type("history").await;
    assert_eq!(h["messages"].as_array().unwrap().len(), 1);
    b.assert_only_pong().await;
    let mut c = app.client().await;
    assert_eq!(c.join("elsewhere", "cat").await["type"], "joined");

    // The lock goes away; the same client_id now goes through, at the next seq.
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    // Readiness comes back by itself (its probe writes), before any publish.
    assert_eq!(common::http_get(app.addr, "/readyz").await.0, 200);
    let ack = a.publish("r", "second", "c2").await;
    assert_eq!(seq(&ack), 2, "the refused publish consumed no seq");
    let m = b.recv_type("message").await;
    assert_eq!((seq(&m), m["body"].as_str()), (2, Some("second")));
    b.assert_only_pong().await;
}

#[tokio::test]
async fn a_corrupt_database_stops_the_server_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chorus.db");
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let (status, stderr) = start_refused(dir.path(), &[]).await;
    assert!(!status.success());
    assert!(stderr.contains("chorus.db"), "{stderr}");
    assert!(stderr.contains("not a database"), "{stderr}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        vec![0x5a; 8192],
        "the file is untouched"
    );
}

#[tokio::test]
async fn two_servers_cannot_share_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = ServerProcess::start(dir.path(), &[]).await;
    let (status, stderr) = start_refused(dir.path(), &[]).await;
    assert!(!status.success());
    assert!(
        stderr.contains("in use by another Chorus process"),
        "{stderr}"
    );
    assert!(first.terminate().await.success());
    tokio::time::timeout(WAIT, async {
        // Once the first is gone, the directory is free again.
        ServerProcess::start(dir.path(), &[]).await.kill9().await
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_resume_from_before_retention_says_not_recovered() {
    let app = spawn_app_with(|c| c.history_cap = 5).await;
    let mut a = app.client().await;
    let epoch = a.join("kept", "ann").await["epoch"].clone();
    for i in 1..=8 {
        a.publish("kept", "x", &format!("c{i}")).await;
    }
    // Seqs 1-3 were dropped by the cap: a resume from 2 would have a gap.
    let mut b = app.client().await;
    b.send(json!({"type":"join","room":"kept","name":"bob","since":2,"epoch":epoch}))
        .await;
    let j = b.recv_type("joined").await;
    assert_eq!(j["recovered"], false);
    b.assert_only_pong().await;
    // From 3 on, everything is still there.
    let mut c = app.client().await;
    c.send(json!({"type":"join","room":"kept","name":"cat","since":3,"epoch":epoch}))
        .await;
    assert_eq!(c.recv_type("joined").await["recovered"], true);
    for s in 4..=8 {
        assert_eq!(seq(&c.recv_type("message").await), s);
    }
    // History starts at the oldest kept message.
    c.send(json!({"type":"history","room":"kept"})).await;
    let h = c.recv_type("history").await;
    assert_eq!(h["messages"][0]["seq"], 4);
    assert_eq!(h["has_more"], false);
}
