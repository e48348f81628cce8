//! Does one stalled client slow the room? Side by side in one run.
//!
//! `cargo bench --features ssr --bench slow_consumer`
//!
//! A publisher sends 4,000 messages of 4,000 characters (≈ 16 MB) into a room, 100 at a
//! time, waiting for the acks of each hundred; a healthy reader receives them. Run twice
//! on fresh servers: alone, and with a third member that joined and never reads. Prints
//! the reader's delivery latency (publish sent → message received) and the publisher's
//! total time for both runs, and how the stalled client's connection ended.

use chorus::server::config::Config;
use chorus::server::startup::Application;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const N: usize = 4000;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: std::net::SocketAddr, name: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connects");
    let join = json!({"type":"join","room":"busy","name":name}).to_string();
    ws.send(Message::text(join)).await.expect("join");
    ws
}

struct Run {
    total: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    stalled_end: String,
}

async fn run(with_stalled: bool) -> Run {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = Config::for_tests(dir.path());
    config.rate_burst = 100_000;
    config.rate_per_sec = 100_000.0;
    config.outbound_queue = 256;
    let app = Application::build(config).await.expect("server");
    let addr = app.local_addr();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stop_rx.await;
    }));

    let stalled = if with_stalled {
        Some(connect(addr, "stalled").await)
    } else {
        None
    };
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut reader = connect(addr, "reader").await;
    let mut publisher = connect(addr, "pub").await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let sent_r = sent.clone();
    let reading = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(N);
        while latencies.len() < N {
            let Some(Ok(Message::Text(t))) = reader.next().await else {
                continue;
            };
            let f: Value = serde_json::from_str(t.as_str()).expect("json");
            if f["type"] == "message" {
                let cid = f["client_id"].as_str().unwrap_or_default();
                if let Some(at) = sent_r.lock().expect("lock").get(cid) {
                    latencies.push(at.elapsed());
                }
            }
        }
        latencies
    });
    let body = "x".repeat(4000);
    let start = Instant::now();
    for batch in 0..N / 100 {
        for i in 0..100 {
            let cid = format!("c{}", batch * 100 + i);
            sent.lock()
                .expect("lock")
                .insert(cid.clone(), Instant::now());
            let f = json!({"type":"publish","room":"busy","body":body,"client_id":cid});
            publisher
                .send(Message::text(f.to_string()))
                .await
                .expect("send");
        }
        let mut acks = 0;
        while acks < 100 {
            if let Some(Ok(Message::Text(t))) = publisher.next().await {
                if t.as_str().contains(r#""type":"ack""#) {
                    acks += 1;
                }
            }
        }
    }
    let total = start.elapsed();
    let mut latencies = reading.await.expect("reader");
    latencies.sort_unstable();
    let stalled_end = match stalled {
        None => "-".to_string(),
        Some(mut ws) => {
            let mut end = "still open".to_string();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, ws.next()).await {
                match msg {
                    Ok(Message::Close(Some(f))) => {
                        end = format!("closed with {}", u16::from(f.code));
                        break;
                    }
                    Err(_) => {
                        end = "dropped".into();
                        break;
                    }
                    _ => {}
                }
            }
            end
        }
    };
    let _ = stop_tx.send(());
    let _ = server.await;
    let pick = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    Run {
        total,
        p50: pick(0.5),
        p99: pick(0.99),
        max: *latencies.last().expect("latencies"),
        stalled_end,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let alone = run(false).await;
    let stalled = run(true).await;
    println!("{N} messages of 4,000 characters, publisher waits for each hundred's acks\n");
    println!("| room | publisher total s | reader p50 ms | reader p99 ms | reader max ms | stalled client |");
    println!("|---|---:|---:|---:|---:|---|");
    for (label, r) in [
        ("reader alone", &alone),
        ("plus a stalled client", &stalled),
    ] {
        println!(
            "| {label} | {:.2} | {} | {} | {} | {} |",
            r.total.as_secs_f64(),
            ms(r.p50),
            ms(r.p99),
            ms(r.max),
            r.stalled_end
        );
    }
    println!(
        "\nwith / without the stalled client: total {:.2}x, p99 {:.2}x",
        stalled.total.as_secs_f64() / alone.total.as_secs_f64(),
        stalled.p99.as_secs_f64() / alone.p99.as_secs_f64()
    );
}
