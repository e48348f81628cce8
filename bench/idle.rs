//! Many idle connections: do they stay up, and what does each cost the server?
//!
//! `./bench/idle-connections [N]` (raises the fd limit, builds, runs this).
//!
//! Starts the release server (`CHORUS_BIN`, default `target/release/chorus`) as a child
//! process, reads its resident memory, opens N WebSocket connections (default 10,000),
//! each joined to one of 100 rooms and then idle (its task answers pings, as a browser
//! does), reads the memory again, waits past a server ping round, and checks every
//! connection still answers. Prints the memory per idle connection.

#[path = "support/proc.rs"]
mod proc;
#[path = "support/release_server.rs"]
mod release_server;

use futures::{SinkExt, StreamExt};
use proc::rss_kib;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let data = tempfile::tempdir().expect("temp dir");
    let limit = (n + 10).to_string();
    let server = release_server::start(
        data.path(),
        &[
            "--ping-secs",
            "5",
            "--idle-timeout-secs",
            "15",
            "--max-conns-per-ip",
            &limit,
            "--max-tcp-per-ip",
            &limit,
            "--max-connections",
            &limit,
        ],
    )
    .await;
    let (pid, addr) = (server.pid, server.addr.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid);

    let opened = Arc::new(AtomicUsize::new(0));
    let alive = Arc::new(AtomicUsize::new(0));
    let (check_tx, _) = tokio::sync::broadcast::channel::<()>(4);
    let (done_tx, mut done_rx) = mpsc::channel::<bool>(n);
    let started = Instant::now();
    for i in 0..n {
        let url = format!("ws://{addr}/ws");
        let (opened, alive, done_tx) = (opened.clone(), alive.clone(), done_tx.clone());
        let mut check = check_tx.subscribe();
        tokio::spawn(async move {
            let Ok((mut ws, _)) = tokio_tungstenite::connect_async(&url).await else {
                let _ = done_tx.send(false).await;
                return;
            };
            let join = format!(
                r#"{{"type":"join","room":"idle{}","name":"u{i}"}}"#,
                i % 100
            );
            if ws.send(Message::text(join)).await.is_err() {
                let _ = done_tx.send(false).await;
                return;
            }
            opened.fetch_add(1, Ordering::Relaxed);
            let _ = done_tx.send(true).await;
            // Idle: read (tungstenite answers the server's pings), until asked to check.
            loop {
                tokio::select! {
                    msg = ws.next() => if !matches!(msg, Some(Ok(_))) { return },
                    _ = check.recv() => break,
                }
            }
            if ws.send(Message::text(r#"{"type":"ping"}"#)).await.is_ok() {
                while let Some(Ok(msg)) = ws.next().await {
                    if let Message::Text(t) = msg {
                        if t.as_str().contains("pong") {
                            alive.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
            // Keep the socket until the process ends.
            std::future::pending::<()>().await;
        });
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(done_tx);
    let mut failed = 0;
    for _ in 0..n {
        if !done_rx.recv().await.unwrap_or(false) {
            failed += 1;
        }
    }
    let open_time = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    println!(
        "{} of {n} connections open and joined in {:.1} s ({failed} failed)",
        opened.load(Ordering::Relaxed),
        open_time.as_secs_f64()
    );
    println!(
        "server RSS: {before} KiB idle → {after} KiB with them = {:.1} KiB per idle connection",
        (after.saturating_sub(before)) as f64 / opened.load(Ordering::Relaxed).max(1) as f64
    );
    // Past three ping rounds and the idle timeout: a connection that did not answer would be gone.
    println!("waiting 20 s (server pings every 5 s, drops after 15 s of silence)…");
    tokio::time::sleep(Duration::from_secs(20)).await;
    let _ = check_tx.send(());
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "after 20 s idle: {} of {} still answer",
        alive.load(Ordering::Relaxed),
        opened.load(Ordering::Relaxed)
    );
    println!("server RSS at the end: {} KiB", rss_kib(pid));
    let mut child = server.child;
    let _ = child.kill().await;
}
