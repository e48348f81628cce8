//! The join storm (Chorus only): 10,000 people join one room within 10 s while a few
//! members already in it count the presence bytes they are sent, second by second. The
//! capped presence frame and its interval growing with the room bound that traffic.

use crate::load::{open, spawn_idle_member, Member};
use crate::peers::Server;
use futures::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::Message;

/// Members in the room before the storm, each counting what it is sent.
const WATCHERS: usize = 20;
/// How long after the last join the watchers go on counting.
const AFTER: Duration = Duration::from_secs(5);

/// What the watchers saw.
#[derive(Clone, Debug, Default)]
pub struct Storm {
    /// Connections that joined in the storm.
    pub joined: usize,
    /// Seconds the storm took.
    pub secs: f64,
    /// The most presence bytes one watcher got in one second.
    pub max_bytes_per_s: f64,
    /// Presence bytes per watcher per second, over the storm and what followed.
    pub mean_bytes_per_s: f64,
    /// The largest presence frame seen, bytes.
    pub largest_frame: u64,
}

/// Joins `n` connections to one room, paced over `secs` seconds, with [`WATCHERS`]
/// members counting presence bytes.
pub async fn join_storm(server: &Server, n: usize, secs: f64) -> Storm {
    let seconds = (secs + AFTER.as_secs_f64()).ceil() as usize + 2;
    let buckets: Arc<Vec<Vec<AtomicU64>>> = Arc::new(
        (0..WATCHERS)
            .map(|_| (0..seconds).map(|_| AtomicU64::new(0)).collect())
            .collect(),
    );
    let largest = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut watchers = Vec::new();
    for w in 0..WATCHERS {
        let Some(ws) = open(&server.url, true, "storm", &format!("watcher{w:02}")).await else {
            continue;
        };
        watchers.push((w, ws));
    }
    let started = Instant::now();
    for (w, mut ws) in watchers {
        let (buckets, largest, mut stop) = (buckets.clone(), largest.clone(), stop_rx.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    m = ws.next() => match m {
                        Some(Ok(Message::Text(t))) if t.as_str().contains(r#""type":"presence""#) => {
                            let len = t.len() as u64;
                            let s = (started.elapsed().as_secs() as usize).min(seconds - 1);
                            buckets[w][s].fetch_add(len, Ordering::Relaxed);
                            largest.fetch_max(len, Ordering::Relaxed);
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                    _ = stop.changed() => return,
                }
            }
        });
    }
    // The storm: one join every secs/n, each connection then reading what comes.
    let gate = Arc::new(Semaphore::new(1024));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<bool>(n.max(1));
    let pace = Duration::from_secs_f64(secs / n.max(1) as f64);
    let mut next = tokio::time::Instant::now();
    for i in 0..n {
        tokio::time::sleep_until(next).await;
        next += pace;
        spawn_idle_member(
            Member {
                url: server.url.clone(),
                chorus: true,
                room: "storm".into(),
                name: format!("fan{i:05}"),
            },
            gate.clone(),
            ready_tx.clone(),
            stop_rx.clone(),
        );
    }
    drop(ready_tx);
    let mut joined = 0;
    while let Some(ok) = ready_rx.recv().await {
        joined += usize::from(ok);
    }
    let storm_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(AFTER).await;
    let counted = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    let mut max = 0u64;
    let mut total = 0u64;
    for w in buckets.iter() {
        for b in w {
            let v = b.load(Ordering::Relaxed);
            max = max.max(v);
            total += v;
        }
    }
    Storm {
        joined,
        secs: storm_secs,
        max_bytes_per_s: max as f64,
        mean_bytes_per_s: total as f64 / WATCHERS as f64 / counted,
        largest_frame: largest.load(Ordering::Relaxed),
    }
}
