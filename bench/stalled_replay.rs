//! What a client that resumes far behind and then stops reading costs the server.
//!
//! `cargo bench --features ssr --bench stalled_replay` (after `cargo leptos build
//! --release`). Starts the release server (`CHORUS_BIN`, default `target/release/chorus`)
//! with a replay stall timeout of 60 s (so the stalled sockets are measured while they
//! are held), stores 12 MB of history in one room, then opens 8, 16 and 32 sockets that
//! join with `since: 0` and never read, and reads the server's RSS after each step.
//! Prints the memory per stalled socket and fails if it passes 1 MiB: a replay is read a
//! 64 KiB page at a time, so a stalled socket holds about a page and its write buffer
//! (before, one 500-message page: up to 8 MB). Then it waits for the stall timeout of a
//! second run to close them (4008) and reports the memory given back.

#[path = "support/proc.rs"]
mod proc;
#[path = "support/release_server.rs"]
mod release_server;

use futures::{SinkExt, StreamExt};
use proc::rss_kib;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// The most one more stalled socket may cost before this benchmark calls it a regression.
const LIMIT_KIB: f64 = 1024.0;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: &str) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connects")
        .0
}

/// Stores `batches` × 100 messages of 4,000 bytes in `room`, reading the echoes between
/// batches (a writer that never read would be a slow consumer itself).
async fn fill(addr: &str, room: &str, batches: usize) {
    let mut ws = connect(addr).await;
    let join = format!(r#"{{"type":"join","room":"{room}","name":"writer"}}"#);
    ws.send(Message::text(join)).await.unwrap();
    let body = "y".repeat(4000);
    for b in 0..batches {
        for i in 0..100 {
            let frame = serde_json::json!({"type":"publish","room":room,"body":body,"client_id":format!("b{b}-{i}")});
            ws.send(Message::text(frame.to_string())).await.unwrap();
        }
        let mut acked = 0;
        while acked < 100 {
            let Some(Ok(Message::Text(t))) = ws.next().await else {
                panic!("the writer's socket ended")
            };
            if t.as_str().contains(r#""type":"ack""#) {
                acked += 1;
            }
        }
    }
}

/// Opens `n` sockets that join `room` with `since: 0` and then never read.
async fn stall(addr: &str, room: &str, n: usize) -> Vec<Ws> {
    let join = format!(r#"{{"type":"join","room":"{room}","name":"late","since":0}}"#);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut ws = connect(addr).await;
        ws.send(Message::text(join.clone())).await.unwrap();
        out.push(ws);
    }
    out
}

#[tokio::main]
async fn main() {
    let data = tempfile::tempdir().expect("temp dir");
    // Fast writes, and all 12 MB kept (the default keeps 8 MiB per room).
    let fast = [
        "--rate-per-sec",
        "100000",
        "--rate-burst",
        "100000",
        "--history-max-bytes",
        "0",
    ];
    let server = release_server::start(
        data.path(),
        &[&["--replay-stall-timeout", "60s"][..], &fast].concat(),
    )
    .await;
    let (pid, addr) = (server.pid, server.addr.clone());
    fill(&addr, "deep", 30).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base = rss_kib(pid);
    println!("12 MB of history stored; server RSS {base} KiB");
    let mut stalled: Vec<Ws> = Vec::new();
    let mut worst: f64 = 0.0;
    let mut previous = (0usize, base);
    for target in [8usize, 16, 32] {
        stalled.extend(stall(&addr, "deep", target - stalled.len()).await);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = rss_kib(pid);
        let each = now.saturating_sub(base) as f64 / target as f64;
        // What one more stalled socket adds (the first step also pays the read pool's
        // page caches, a fixed cost).
        let slope = now.saturating_sub(previous.1) as f64 / (target - previous.0) as f64;
        if previous.0 > 0 {
            worst = worst.max(slope);
        }
        previous = (target, now);
        println!(
            "{target:>3} stalled replays: RSS {now} KiB = {each:.0} KiB per stalled socket on average, {slope:.0} KiB for each added one"
        );
    }
    drop(stalled);
    let mut child = server.child;
    let _ = child.kill().await;
    let _ = child.wait().await;
    // A second server with a short stall timeout lets them go by itself.
    let server = release_server::start(
        data.path(),
        &[&["--replay-stall-timeout", "2s"][..], &fast].concat(),
    )
    .await;
    let (pid, addr) = (server.pid, server.addr.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(pid);
    let _held = stall(&addr, "deep", 32).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = rss_kib(pid);
    tokio::time::sleep(Duration::from_secs(4)).await;
    println!(
        "32 stalled with a 2 s stall timeout: RSS {before} → {during} KiB while held, {} KiB after they were closed (4008)",
        rss_kib(pid)
    );
    assert!(
        worst <= LIMIT_KIB,
        "one more stalled replay costs {worst:.0} KiB, over the {LIMIT_KIB} KiB bound"
    );
}
