//! What an operator watches: readiness and the Prometheus metrics, after real traffic.
//! (Its own test binary: the metrics recorder is one per process.)

mod common;

use common::{http_get, spawn_app};
use serde_json::json;

fn value(metrics: &str, line_start: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in\n{metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_metrics_follow_the_traffic() {
    let app = spawn_app().await;
    assert_eq!(
        http_get(app.addr, "/readyz").await,
        (200, "ready".to_string())
    );
    assert_eq!(http_get(app.addr, "/healthz").await.0, 200);

    let mut a = app.client().await;
    let mut b = app.client().await;
    a.join("watched", "ann").await;
    b.join("watched", "bob").await;
    for i in 0..3 {
        a.publish("watched", "hello", &format!("c{i}")).await;
    }
    a.send(json!({"type":"publish","room":"watched","body":"   ","client_id":"blank"}))
        .await;
    assert_eq!(a.recv_skip_presence().await["code"], "invalid_body");

    let (status, text) = http_get(app.addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(value(&text, "chorus_connections ") >= 2.0, "{text}");
    assert!(value(&text, "chorus_rooms ") >= 1.0);
    assert!(value(&text, "chorus_messages_in_total ") >= 3.0);
    // Each message went to both members.
    assert!(value(&text, "chorus_messages_out_total ") >= 6.0);
    assert!(value(&text, "chorus_refusals_total{code=\"invalid_body\"} ") >= 1.0);
    assert!(value(&text, "chorus_publish_ack_seconds_count ") >= 3.0);
    assert!(text.contains("chorus_publish_ack_seconds_bucket{le=\"0.001\"}"));
    assert!(value(&text, "chorus_store_batch_size_count ") >= 1.0);
    assert!(value(&text, "chorus_store_commit_seconds_count ") >= 1.0);

    // Closed sockets leave the gauge.
    drop(a);
    drop(b);
    let mut settled = false;
    for _ in 0..100 {
        let (_, text) = http_get(app.addr, "/metrics").await;
        if value(&text, "chorus_connections ") == 0.0 {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(settled, "connections return to 0");
}

#[tokio::test]
async fn logs_can_be_json_lines() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(common::process::server_bin())
        .args([
            "--addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut json_lines = 0;
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line()).await
    {
        if line.starts_with("Chorus is running") {
            break;
        }
        let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{v}"
        );
        json_lines += 1;
    }
    assert!(json_lines >= 1, "the start-up is logged");
    child.kill().await.unwrap();
}

/// The data directory is the server user's alone (0700), and so are the database, its
/// journal files and the lock (0600), even under a permissive umask.
#[tokio::test]
async fn the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let app = common::spawn_app_with({
        let data = data.clone();
        move |c| c.data_dir = data.clone()
    })
    .await;
    let mut a = app.client().await;
    a.join("private", "ann").await;
    a.publish("private", "hello", "p1").await;
    let mode = |name: &str| {
        let path = if name.is_empty() {
            data.clone()
        } else {
            data.join(name)
        };
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "the directory");
    for file in ["chorus.db", "chorus.db-wal", "chorus.db-shm", "chorus.lock"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}

/// What strangers send reaches the log bounded and throttled: 40 refused upgrades with a
/// 12 KB `Origin` and 40 requests with a 12 KB `Host` (each refused 403) write a few
/// lines, not the 960 KB they carried.
#[tokio::test]
async fn refusals_log_a_bounded_prefix_at_most_once_a_second() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let server = common::process::ServerProcess::start_logging(dir.path(), &[], "info").await;
    let start = server.logged.load(std::sync::atomic::Ordering::Relaxed);
    let long = "a".repeat(12_000);
    for i in 0..80 {
        let (host, origin) = if i % 2 == 0 {
            (
                format!("localhost:{}", server.addr.port()),
                format!("https://evil.example/{long}"),
            )
        } else {
            (
                format!("{long}.example"),
                format!("http://localhost:{}", server.addr.port()),
            )
        };
        let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(
            format!(
                "GET /ws HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                 Sec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await.unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 403"),
            "{}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let logged = server.logged.load(std::sync::atomic::Ordering::Relaxed) - start;
    assert!(logged > 0, "the refusals are logged");
    assert!(logged < 4_000, "{logged} bytes of log for 80 refusals");
}
