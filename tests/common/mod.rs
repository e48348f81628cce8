//! `spawn_app()`: the real server on port 0 with a fresh data directory, and a small
//! WebSocket client that speaks JSON frames.
//!
//! `spawn(Mode::Cluster)` starts two nodes on one Redis instead: `$CHORUS_TEST_REDIS_URL`
//! (the one `./scripts/test` starts; each app gets its own key prefix) or, without it, a
//! private `redis-server`. Its `client()` alternates between the nodes, so a test's
//! second client is on the other node from its first.
#![allow(dead_code)]

pub mod process;
pub mod site;

use chorus::server::config::Config;
use chorus::server::startup::Application;
use chorus::server::testing::RedisServer;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for an expected frame before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// One node or a cluster of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One node on the embedded store.
    Single,
    /// Two nodes on one Redis.
    Cluster,
}

/// A running server (or two).
pub struct TestApp {
    /// The first node's address.
    pub addr: SocketAddr,
    pub data_dir: TempDir,
    /// Every node's address.
    pub addrs: Vec<SocketAddr>,
    nodes: Vec<Node>,
    next: AtomicUsize,
    /// The private Redis, when the cluster has one.
    pub redis: Option<RedisServer>,
}

struct Node {
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _data_dir: Option<TempDir>,
}

/// A server with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server with settings changed by `tweak`.
pub async fn spawn_app_with(tweak: impl Fn(&mut Config)) -> TestApp {
    spawn_with(Mode::Single, tweak).await
}

/// A single node or a cluster, with default settings.
pub async fn spawn(mode: Mode) -> TestApp {
    spawn_with(mode, |_| {}).await
}

/// A single node or a cluster, with settings changed by `tweak` (on every node).
pub async fn spawn_with(mode: Mode, tweak: impl Fn(&mut Config)) -> TestApp {
    match mode {
        Mode::Single => {
            let data_dir = tempfile::tempdir().expect("temp dir");
            let mut config = Config::for_tests(data_dir.path());
            tweak(&mut config);
            let (addr, node) = start_node(config, None).await;
            TestApp::new(data_dir, vec![(addr, node)], None)
        }
        Mode::Cluster => {
            let (url, redis) = match std::env::var("CHORUS_TEST_REDIS_URL") {
                Ok(url) => (url, None),
                Err(_) => {
                    let r = RedisServer::start();
                    (r.url(), Some(r))
                }
            };
            spawn_cluster(&url, redis, 2, tweak).await
        }
    }
}

/// `n` nodes on the Redis at `url`, under a key prefix of their own.
pub async fn spawn_cluster(
    url: &str,
    redis: Option<RedisServer>,
    n: usize,
    tweak: impl Fn(&mut Config),
) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let prefix = format!(
        "test-{}",
        data_dir
            .path()
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("x")
            .replace('.', "")
    );
    let mut nodes = vec![];
    for i in 0..n {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_tests(dir.path());
        config.redis_url = Some(url.to_string());
        config.redis_prefix = prefix.clone();
        config.node_id = Some(format!("node{i}"));
        config.presence_ttl = Duration::from_secs(3);
        tweak(&mut config);
        nodes.push(start_node(config, Some(dir)).await);
    }
    let app = TestApp::new(data_dir, nodes, redis);
    app.wait_ready().await;
    app
}

async fn start_node(config: Config, dir: Option<TempDir>) -> (SocketAddr, Node) {
    let app = Application::build(config).await.expect("server starts");
    let addr = app.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    (
        addr,
        Node {
            stop: Some(tx),
            server: Some(server),
            _data_dir: dir,
        },
    )
}

impl TestApp {
    fn new(data_dir: TempDir, nodes: Vec<(SocketAddr, Node)>, redis: Option<RedisServer>) -> Self {
        let addrs: Vec<SocketAddr> = nodes.iter().map(|(a, _)| *a).collect();
        TestApp {
            addr: addrs[0],
            addrs,
            data_dir,
            nodes: nodes.into_iter().map(|(_, n)| n).collect(),
            next: AtomicUsize::new(0),
            redis,
        }
    }

    /// Waits until every node's `/readyz` says ready.
    pub async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        for addr in &self.addrs {
            while http_get(*addr, "/readyz").await.0 != 200 {
                assert!(tokio::time::Instant::now() < deadline, "{addr} not ready");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// A client connected to node `i`.
    pub async fn client_on(&self, i: usize) -> Client {
        Client::connect(self.addrs[i % self.addrs.len()]).await
    }

    /// `GET path` over plain HTTP/1.1: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path).await
    }

    /// A connected client; in a cluster, on the next node in turn.
    pub async fn client(&self) -> Client {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.client_on(i).await
    }

    /// A single node: stops it and starts a new server on the same data directory (a
    /// restart), with settings changed by `tweak`.
    #[allow(dead_code)]
    pub async fn restart_with(&mut self, tweak: impl Fn(&mut Config)) {
        assert_eq!(self.nodes.len(), 1, "restarts are for a single node");
        self.stop().await;
        let mut config = Config::for_tests(self.data_dir.path());
        tweak(&mut config);
        let (addr, node) = start_node(config, None).await;
        self.addr = addr;
        self.addrs = vec![addr];
        self.nodes = vec![node];
    }

    /// Stops every node as SIGTERM would, and waits for them to finish.
    pub async fn stop(&mut self) {
        for node in &mut self.nodes {
            if let Some(tx) = node.stop.take() {
                let _ = tx.send(());
            }
        }
        for node in &mut self.nodes {
            if let Some(server) = node.server.take() {
                tokio::time::timeout(WAIT, server)
                    .await
                    .expect("server stops in time")
                    .expect("server task")
                    .expect("server exits cleanly");
            }
        }
    }
}

/// A WebSocket client for tests.
pub struct Client {
    /// The socket, for tests that split it into a sender and a reader.
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended, seen from the client.
#[derive(Debug, PartialEq)]
pub enum Ended {
    Closed(Option<u16>),
    Dropped,
}

impl Client {
    /// Connects to `/ws` at `addr`.
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("websocket connects");
        Client { ws }
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(&frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::binary(bytes)).await.expect("send");
    }

    /// The next JSON frame.
    pub async fn recv(&mut self) -> Value {
        // One deadline for the call: server pings must not extend it.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("connection open")
                .expect("frame reads");
            match msg {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON frame"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The next frame of this type, skipping presence frames only.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let f = self.recv().await;
            if f["type"] == kind {
                return f;
            }
            assert_eq!(f["type"], "presence", "expected {kind}, got {f}");
        }
    }

    /// The next frame that is not presence.
    pub async fn recv_skip_presence(&mut self) -> Value {
        loop {
            let f = self.recv().await;
            if f["type"] != "presence" {
                return f;
            }
        }
    }

    /// Joins and returns the `joined` frame.
    pub async fn join(&mut self, room: &str, name: &str) -> Value {
        self.send(json!({"type":"join","room":room,"name":name}))
            .await;
        self.recv_type("joined").await
    }

    /// Publishes a new message; returns its `ack` once the sender's own copy has arrived
    /// too, so no frame of this publish is left unread.
    pub async fn publish(&mut self, room: &str, body: &str, client_id: &str) -> Value {
        self.send(json!({"type":"publish","room":room,"body":body,"client_id":client_id}))
            .await;
        let (mut ack, mut echoed) = (None, false);
        while ack.is_none() || !echoed {
            let f = self.recv_skip_presence().await;
            match f["type"].as_str() {
                Some("ack") if f["client_id"] == client_id => ack = Some(f),
                Some("message") if f["client_id"] == client_id => echoed = true,
                _ => panic!("expected the ack and echo of {client_id}, got {f}"),
            }
        }
        ack.unwrap_or_default()
    }

    /// Re-sends a publish whose `client_id` is stored already: only an `ack` comes back.
    pub async fn publish_retry(&mut self, room: &str, body: &str, client_id: &str) -> Value {
        self.send(json!({"type":"publish","room":room,"body":body,"client_id":client_id}))
            .await;
        let f = self.recv_skip_presence().await;
        assert_eq!(f["type"], "ack", "a retry gets only an ack, got {f}");
        f
    }

    /// Proves the connection still works and that nothing else was queued before the pong.
    pub async fn assert_only_pong(&mut self) {
        self.send(json!({"type":"ping"})).await;
        let f = self.recv_skip_presence().await;
        assert_eq!(f, json!({"type":"pong"}), "expected nothing but pong");
    }

    /// Waits for the connection to end.
    pub async fn ended(&mut self) -> Ended {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("ends in time")
            {
                None | Some(Err(_)) => return Ended::Dropped,
                Some(Ok(Message::Close(frame))) => {
                    return Ended::Closed(frame.map(|f: CloseFrame| u16::from(f.code)))
                }
                Some(Ok(_)) => continue,
            }
        }
    }
}

/// A minimal `GET` (HTTP/1.1, `Connection: close`): (status, body). Enough for the pages
/// and the JSON API without pulling an HTTP client into the tests.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http(addr, "GET", path, &[], "").await
}

/// A minimal HTTP/1.1 request with extra headers and a body: (status, body).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let (status, _, body) = http_full(addr, method, path, headers, body).await;
    (status, body)
}

/// Like [`http`], with the response head too (lower-cased): (status, head, body).
pub async fn http_full(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("response");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, head.to_ascii_lowercase(), body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
