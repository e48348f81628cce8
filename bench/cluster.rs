//! One node vs two nodes on one Redis, side by side in one run, and the latency a message
//! takes to reach a member on the same node vs on the other node.
//!
//! `cargo bench --features ssr --bench cluster [-- SECS]` (default 5 s per phase). Nodes run
//! in this process (release build) on a private `redis-server` with the append-only file
//! fsynced per write (the "acked means stored" setting), so the figures include Redis's
//! fsyncs. The embedded single node (SQLite) runs the same load for reference.
//!
//! Load: 10 publishers, each with up to 16 publishes in flight (closed loop), and 100
//! subscribers, all in one room; publishers and subscribers are spread evenly over the
//! nodes. Then a latency phase at 200 msg/s: one publisher on node 0, subscribers on
//! both nodes.

use chorus::server::config::Config;
use chorus::server::startup::Application;
use chorus::server::testing::RedisServer;
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

const PUBLISHERS: usize = 10;
const WINDOW: usize = 16;
const SUBSCRIBERS: usize = 100;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

async fn start_nodes(
    redis: Option<&str>,
    n: usize,
    prefix: &str,
) -> (Vec<SocketAddr>, Vec<tempfile::TempDir>) {
    let mut addrs = vec![];
    let mut dirs = vec![];
    for i in 0..n {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut c = Config::for_tests(dir.path());
        c.rate_per_sec = 1e9;
        c.rate_burst = 1_000_000_000;
        c.new_rooms_per_ip_per_hour = 1_000_000;
        c.outbound_queue = 65_536;
        if let Some(url) = redis {
            c.redis_url = Some(url.to_string());
            c.redis_prefix = prefix.to_string();
            c.node_id = Some(format!("n{i}"));
        }
        let app = Application::build(c).await.expect("node starts");
        addrs.push(app.local_addr());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        dirs.push(dir);
    }
    (addrs, dirs)
}

async fn joined(addr: SocketAddr, room: &str, name: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connects");
    ws.send(Message::text(format!(
        r#"{{"type":"join","room":"{room}","name":"{name}"}}"#
    )))
    .await
    .expect("join");
    loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            if t.contains(r#""type":"joined""#) {
                return ws;
            }
        }
    }
}

/// The `t<µs>` a body carries, if this frame is a message.
fn sent_at(frame: &str) -> Option<u64> {
    if !frame.starts_with(r#"{"type":"message""#) {
        return None;
    }
    let at = frame.find(r#""body":"t"#)? + 9;
    frame[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Reads until `stop`; counts messages and records latency into `hist`.
async fn subscribe(mut ws: Ws, stop: Instant) -> (u64, Histogram<u64>) {
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    let mut n = 0;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(stop.into(), ws.next()).await {
        if let Message::Text(t) = msg {
            if let Some(at) = sent_at(t.as_str()) {
                n += 1;
                let _ = hist.record(now_us().saturating_sub(at));
            }
        }
    }
    (n, hist)
}

/// Publishes with `WINDOW` in flight until `stop`; returns acks.
async fn publish_closed_loop(ws: Ws, id: usize, stop: Instant, acks: Arc<AtomicU64>) {
    let (mut tx, mut rx) = ws.split();
    let mut sent = 0u64;
    let mut acked = 0u64;
    loop {
        while sent - acked < WINDOW as u64 && Instant::now() < stop {
            sent += 1;
            let frame = format!(
                r#"{{"type":"publish","room":"load","body":"t{}","client_id":"p{id}-{sent}"}}"#,
                now_us()
            );
            if tx.send(Message::text(frame)).await.is_err() {
                return;
            }
        }
        if acked == sent {
            return;
        }
        match rx.next().await {
            Some(Ok(Message::Text(t))) if t.starts_with(r#"{"type":"ack""#) => {
                acked += 1;
                acks.fetch_add(1, Ordering::Relaxed);
            }
            Some(Ok(_)) => {}
            _ => return,
        }
    }
}

struct Load {
    /// Acked publishes × subscribers − deliveries seen within 5 s of the end.
    missing: i64,
    acks_per_s: f64,
    deliveries_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn load(addrs: &[SocketAddr], secs: u64) -> Load {
    let mut subs = vec![];
    for i in 0..SUBSCRIBERS {
        subs.push(joined(addrs[i % addrs.len()], "load", &format!("s{i}")).await);
    }
    let mut pubs = vec![];
    for i in 0..PUBLISHERS {
        pubs.push(joined(addrs[i % addrs.len()], "load", &format!("p{i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // presence settles
    let started = Instant::now();
    let stop = started + Duration::from_secs(secs);
    let acks = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = subs
        .into_iter()
        .map(|ws| tokio::spawn(subscribe(ws, stop + Duration::from_secs(5))))
        .collect();
    let writers: Vec<_> = pubs
        .into_iter()
        .enumerate()
        .map(|(i, ws)| tokio::spawn(publish_closed_loop(ws, i, stop, acks.clone())))
        .collect();
    for w in writers {
        let _ = w.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    let mut delivered = 0;
    for r in readers {
        if let Ok((n, h)) = r.await {
            delivered += n;
            let _ = hist.add(h);
        }
    }
    let acked = acks.load(Ordering::Relaxed);
    Load {
        missing: (acked * SUBSCRIBERS as u64) as i64 - delivered as i64,
        acks_per_s: acked as f64 / elapsed,
        deliveries_per_s: delivered as f64 / elapsed,
        p50_ms: hist.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: hist.value_at_quantile(0.99) as f64 / 1000.0,
    }
}

/// Latency at 200 msg/s from node 0 to a member on node 0 and one on node 1.
async fn latency(addrs: &[SocketAddr], secs: u64) -> (Histogram<u64>, Histogram<u64>) {
    let same = joined(addrs[0], "lat", "same").await;
    let other = joined(addrs[1], "lat", "other").await;
    let mut publisher = joined(addrs[0], "lat", "pub").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stop = Instant::now() + Duration::from_secs(secs);
    let a = tokio::spawn(subscribe(same, stop + Duration::from_millis(500)));
    let b = tokio::spawn(subscribe(other, stop + Duration::from_millis(500)));
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let mut n = 0;
    while Instant::now() < stop {
        tick.tick().await;
        n += 1;
        let frame = format!(
            r#"{{"type":"publish","room":"lat","body":"t{}","client_id":"l{n}"}}"#,
            now_us()
        );
        publisher.send(Message::text(frame)).await.expect("publish");
        while let Some(Ok(m)) = futures::FutureExt::now_or_never(publisher.next()).flatten() {
            drop(m);
        }
    }
    let same = a.await.expect("same").1;
    let other = b.await.expect("other").1;
    (same, other)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(5);
    let redis = RedisServer::start();
    let url = redis.url();
    println!("# Chorus: one node vs two on one Redis ({secs} s per phase, {PUBLISHERS} publishers × {WINDOW} in flight, {SUBSCRIBERS} subscribers, one room)\n");
    println!("| setup | acked publishes/s | deliveries/s | delivery p50 ms | p99 ms | missing |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut results = vec![];
    for (label, redis_url, n, prefix) in [
        ("1 node, embedded SQLite", None, 1, "a"),
        ("1 node, Redis", Some(url.as_str()), 1, "b"),
        ("2 nodes, Redis", Some(url.as_str()), 2, "c"),
    ] {
        let (addrs, _dirs) = start_nodes(redis_url, n, prefix).await;
        let r = load(&addrs, secs).await;
        println!(
            "| {label} | {:.0} | {:.0} | {:.2} | {:.2} | {} |",
            r.acks_per_s, r.deliveries_per_s, r.p50_ms, r.p99_ms, r.missing
        );
        results.push(r);
        std::mem::forget(_dirs); // nodes keep running until the process ends
    }
    println!(
        "\n2 nodes / 1 node (Redis): acked {:.2}×, deliveries {:.2}×",
        results[2].acks_per_s / results[1].acks_per_s,
        results[2].deliveries_per_s / results[1].deliveries_per_s
    );
    let (addrs, _dirs) = start_nodes(Some(&url), 2, "lat").await;
    let (same, other) = latency(&addrs, secs).await;
    println!("\n| 200 msg/s from node 0 to a member on | n | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (label, h) in [
        ("node 0 (same node)", &same),
        ("node 1 (other node)", &other),
    ] {
        println!(
            "| {label} | {} | {:.2} | {:.2} | {:.2} |",
            h.len(),
            ms(h, 0.5),
            ms(h, 0.99),
            h.max() as f64 / 1000.0
        );
    }
    std::process::exit(0);
}
