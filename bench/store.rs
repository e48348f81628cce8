//! Group commit against one transaction per message, side by side in one run.
//!
//! `cargo bench --features ssr --bench store [-- --secs N]`
//!
//! Each publisher appends to the store and waits for the answer before its next append,
//! as a WebSocket session does (an `ack` is only sent after the commit). With 1, 10 and
//! 100 concurrent publishers, the two writer modes of `SqliteStore` run interleaved, each
//! on a fresh database file on the same disk as `target/`, with `synchronous = FULL` (an
//! ack means the commit reached the disk). Prints acked publishes per second and the
//! p50 / p99 ack latency, and the ratio of the two modes' rates.

use chorus::protocol::{Body, ClientId, RoomName, UserName};
use chorus::server::store::sqlite::{Commit, SqliteOptions, SqliteStore};
use chorus::server::store::{Draft, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Outcome {
    acked: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.acked as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }
}

async fn run(dir: &Path, commit: Commit, publishers: usize, secs: f64) -> Outcome {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("bench dir");
    let store = Arc::new(
        SqliteStore::open(
            dir,
            SqliteOptions {
                commit,
                ..SqliteOptions::default()
            },
        )
        .expect("store opens"),
    );
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..publishers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Ten rooms, as a busy server has: per-room order is kept by the one writer.
            let room = RoomName::parse(&format!("room{}", p % 10)).expect("room");
            let from = UserName::parse(&format!("user{p}")).expect("name");
            let body = Body::parse("a typical chat line, about sixty bytes long, give or take")
                .expect("body");
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let draft = Draft {
                    room: room.clone(),
                    from: from.clone(),
                    body: body.clone(),
                    client_id: ClientId::parse(&format!("p{p}-{i}")).expect("client id"),
                    user: None,
                    reply_to: None,
                };
                let t = Instant::now();
                store.append(draft).await.expect("append");
                latencies.push(t.elapsed());
                i += 1;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("publisher"));
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    Outcome {
        acked: latencies.len(),
        elapsed,
        latencies,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs = args
        .iter()
        .position(|a| a == "--secs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-store");
    println!(
        "SQLite store, synchronous=FULL, {secs} s per cell, data in {}",
        dir.display()
    );
    println!();
    println!("| publishers | mode | acked/s | p50 ack ms | p99 ack ms | acked |");
    println!("|---:|---|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    for publishers in [1, 10, 100] {
        // Naive first, then grouped: both see the same disk within seconds of each other.
        let naive = run(&dir, Commit::PerMessage, publishers, secs).await;
        let grouped = run(&dir, Commit::Grouped { max_batch: 512 }, publishers, secs).await;
        for (mode, o) in [
            ("one commit per message", &naive),
            ("group commit", &grouped),
        ] {
            println!(
                "| {publishers} | {mode} | {:.0} | {} | {} | {} |",
                o.rate(),
                ms(o.percentile(0.5)),
                ms(o.percentile(0.99)),
                o.acked
            );
        }
        ratios.push((publishers, grouped.rate() / naive.rate()));
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    for (p, r) in ratios {
        println!("group commit / naive, {p} publishers: {r:.2}x");
    }
}
