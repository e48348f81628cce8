//! What one stranger's TCP connections can hold: nothing for long, and never every
//! descriptor. Raw sockets against the real server, as an attacker would open them.

mod common;

use common::{http_get, spawn_app_with};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Reads until the server closes the connection (EOF or reset); returns how long it took,
/// or `None` if it was still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => continue,
            }
        }
    })
    .await
    .ok()
}

/// A connection from `source` (any 127.x.y.z address is the loopback device).
async fn connect_from(source: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(to).await.unwrap()
}

#[tokio::test]
async fn an_idle_connection_and_an_idle_keep_alive_are_closed() {
    let app = spawn_app_with(|c| {
        c.tcp_idle_timeout = Duration::from_secs(2);
        c.ping_secs = 1;
        c.idle_timeout_secs = 2;
    })
    .await;
    // Connected, never a byte.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    // One request answered, then nothing more on the kept-alive connection.
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", app.addr).as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Both go quiet now; both are closed once the idle timeout has passed.
    let (silent, kept) = tokio::join!(
        closed_within(&mut silent, Duration::from_secs(10)),
        closed_within(&mut kept, Duration::from_secs(10)),
    );
    for (what, took) in [("silent", silent), ("keep-alive", kept)] {
        let took = took.unwrap_or_else(|| panic!("the {what} connection was open after 10 s"));
        assert!(
            took >= Duration::from_millis(1000),
            "{what}: closed after {took:?}"
        );
    }
}

#[tokio::test]
async fn headers_trickled_a_byte_at_a_time_are_cut_at_the_header_timeout() {
    let app = spawn_app_with(|c| c.header_read_timeout = Duration::from_secs(1)).await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    // A byte every 200 ms is progress for the idle timeout, but never a whole head.
    let trickle = async {
        for _ in 0..50 {
            if slow.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(8), trickle)
        .await
        .expect("the server cut the trickle");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "cut after {took:?}");
}

#[tokio::test]
async fn oversized_headers_are_refused_with_431() {
    let app = spawn_app_with(|_| {}).await;
    let huge = "a".repeat(64 * 1024);
    let (status, _) = common::http(app.addr, "GET", "/healthz", &[("Origin", &huge)], "").await;
    assert_eq!(status, 431);
    assert_eq!(http_get(app.addr, "/healthz").await.0, 200);
}

#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let app = spawn_app_with(|c| c.max_tcp_per_ip = 4).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from([127, 0, 0, 1], app.addr).await);
    }
    // Give the server a moment to count them.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fifth = connect_from([127, 0, 0, 1], app.addr).await;
    assert!(
        closed_within(&mut fifth, Duration::from_secs(2))
            .await
            .is_some(),
        "a fifth connection from the same address is closed at once"
    );
    // Another address is served as usual.
    let mut other = connect_from([127, 0, 0, 2], app.addr).await;
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    other.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // When the first address lets go, it is served again.
    held.clear();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(http_get(app.addr, "/healthz").await.0, 200);
}

#[tokio::test]
async fn the_whole_server_has_a_connection_budget() {
    let app = spawn_app_with(|c| c.max_connections = 3).await;
    let mut held = Vec::new();
    for source in [[127, 0, 0, 1], [127, 0, 0, 2], [127, 0, 0, 3]] {
        held.push(connect_from(source, app.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut over = connect_from([127, 0, 0, 4], app.addr).await;
    assert!(closed_within(&mut over, Duration::from_secs(2))
        .await
        .is_some());
    held.clear();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(http_get(app.addr, "/healthz").await.0, 200);
}

/// A client that resumes far behind and then stops reading holds at most a page of its
/// replay, and only for `--replay-stall-timeout`: then it is closed with 4008 (and may
/// resume later), instead of pinning megabytes until the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_replay_is_closed_as_a_slow_consumer() {
    let app = spawn_app_with(|c| {
        c.replay_stall_timeout = Duration::from_secs(1);
        c.history_max_bytes = 0;
        c.rate_per_sec = 1_000_000.0;
        c.rate_burst = 1_000_000;
    })
    .await;
    // 12 MB of history: more than the kernel's socket buffers hold.
    let mut writer = app.client().await;
    writer.join("deep", "writer").await;
    let body = "y".repeat(4000);
    // In batches, reading the echoes between them: a writer that never read would be a
    // slow consumer itself.
    for batch in 0..30 {
        for i in 0..100 {
            writer
                .send(serde_json::json!({"type":"publish","room":"deep","body":body,"client_id":format!("d{batch}-{i}")}))
                .await;
        }
        let mut acked = 0;
        while acked < 100 {
            if writer.recv().await["type"] == "ack" {
                acked += 1;
            }
        }
    }
    drop(writer);
    let mut stalled = app.client().await;
    stalled
        .send(serde_json::json!({"type":"join","room":"deep","name":"late","since":0}))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(stalled.ended().await, common::Ended::Closed(Some(4008)));
}

/// The disk an anonymous crowd can fill is bounded: rooms holding messages are capped in
/// total (one more is refused `unavailable`, saying why, and the others go on), and each
/// room keeps only so many bytes (its newest messages). On the default SQLite store.
#[tokio::test]
async fn rooms_in_total_and_bytes_per_room_are_capped() {
    let app = spawn_app_with(|c| {
        c.max_stored_rooms = 2;
        c.history_max_bytes = 2_000;
        c.rate_per_sec = 1000.0;
        c.rate_burst = 1000;
    })
    .await;
    let mut c = app.client().await;
    let epoch = c.join("d1", "ann").await["epoch"].clone();
    for r in ["d2", "d3"] {
        c.join(r, "ann").await;
    }
    let body = "b".repeat(200);
    for i in 0..30 {
        c.publish("d1", &body, &format!("d1-{i}")).await;
    }
    c.publish("d2", "hi", "d2-0").await;
    c.send(serde_json::json!({"type":"publish","room":"d3","body":"hi","client_id":"d3-0"}))
        .await;
    let refused = c.recv_type("error").await;
    assert_eq!(refused["code"], "unavailable", "{refused}");
    assert_eq!(refused["ref"], "d3-0");
    assert!(
        refused["message"].as_str().unwrap().contains("2 rooms"),
        "{refused}"
    );
    // The two rooms go on; the full one keeps its newest messages within 2,000 bytes.
    c.publish("d2", "again", "d2-1").await;
    c.send(serde_json::json!({"type":"history","room":"d1","limit":100}))
        .await;
    let page = c.recv_type("history").await;
    let seqs: Vec<u64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert!(
        (5..=9).contains(&seqs.len()),
        "kept {} messages of ~210 bytes",
        seqs.len()
    );
    assert_eq!(seqs.last(), Some(&30));
    assert_eq!(page["has_more"], false);
    // A resuming client that had seq 1 is told what was lost.
    let mut late = app.client().await;
    late.send(serde_json::json!({"type":"join","room":"d1","name":"bo","since":1,"epoch":epoch}))
        .await;
    let joined = late.recv_type("joined").await;
    assert_eq!(joined["recovered"], false, "{joined}");
}

/// A client still sending a frame over 64 KiB reads the server's 1009 close frame and
/// then the end of the stream: the server lingers instead of resetting the connection
/// (a reset made the client's kernel drop the close frame unread).
#[tokio::test]
async fn a_client_sending_too_big_a_frame_reads_the_1009_close_not_a_reset() {
    let app = spawn_app_with(|_| {}).await;
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    tcp.write_all(
        format!(
            "GET /ws HTTP/1.1\r\nHost: localhost:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            app.addr.port()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    // A masked text frame announcing 1 MB, of which 300 KB are sent at once.
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&1_000_000u64.to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    frame.extend(std::iter::repeat_n(b'a', 300_000));
    let (mut rd, mut wr) = tcp.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&frame).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(wr);
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return Err(e.kind()),
            }
        }
    })
    .await
    .expect("the server ends the stream");
    assert_eq!(
        got.get(..4),
        Some(&[0x88, got[1], 0x03, 0xF1][..]),
        "a close frame with 1009 first: {got:?}"
    );
    assert_eq!(end, Ok(()), "then the end of the stream, not a reset");
    writer.abort();
}

/// A history page holds at most 64 KiB of bodies: 100 asked-for messages of 4,000
/// characters come as several pages, each saying there is more, and paging with
/// `before` reaches every one, over the socket and the messages API alike.
#[tokio::test]
async fn history_pages_are_bounded_by_bytes_and_page_on_to_everything() {
    let app = spawn_app_with(|c| {
        c.rate_per_sec = 1000.0;
        c.rate_burst = 1000;
    })
    .await;
    let mut c = app.client().await;
    c.join("tall", "ann").await;
    let body = "t".repeat(4000);
    for i in 0..40 {
        c.publish("tall", &body, &format!("t{i}")).await;
    }
    let mut seen = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let mut ask = serde_json::json!({"type":"history","room":"tall","limit":100});
        if let Some(b) = before {
            ask["before"] = b.into();
        }
        c.send(ask).await;
        let page = c.recv_type("history").await;
        let seqs: Vec<u64> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        assert!(
            seqs.len() <= 16,
            "{} messages of 4,000 bytes in one page",
            seqs.len()
        );
        seen.splice(0..0, seqs.iter().copied());
        if page["has_more"] == false {
            break;
        }
        before = seqs.first().copied();
    }
    assert_eq!(seen, (1..=40).collect::<Vec<_>>());
    let (status, page) = http_get(app.addr, "/api/rooms/tall/messages?limit=100").await;
    assert_eq!(status, 200);
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["messages"].as_array().unwrap().len(), 16);
    assert_eq!(page["has_more"], true);
    assert_eq!(page["last_seq"], 40);
}
