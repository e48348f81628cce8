//! The load generator: real WebSocket clients that speak either raw text (the seed, the
//! bare relay) or the Chorus protocol, and measure what each subscriber actually got.
//!
//! Every payload carries `publisher:counter:send-time-µs:` padded to its size, so a
//! subscriber can tell loss, duplicates and reordering apart and measure send → receive
//! latency on the one clock the load generator shares. Chorus frames are not parsed as
//! JSON here: the body is found by its key, so the load generator spends little of the two
//! cores it shares with the server.

use crate::peers::Server;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connections being opened at once (like many browsers arriving, not one at a time).
const DIAL_CONCURRENCY: usize = 256;

/// How long after the last send a subscriber may still be receiving before what is
/// missing counts as lost.
const DRAIN: Duration = Duration::from_secs(3);

/// Microseconds since the run began, shared by every client of the load generator.
#[derive(Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    /// Starts the clock.
    pub fn new() -> Self {
        Clock(Instant::now())
    }
    fn now_us(self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }
}

fn payload(publisher: u32, counter: u64, t_us: u64, size: usize) -> String {
    let mut s = format!("{publisher}:{counter}:{t_us}:");
    while s.len() < size {
        s.push('x');
    }
    s
}

fn parse_payload(s: &str) -> Option<(u32, u64, u64)> {
    let mut it = s.splitn(4, ':');
    Some((
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    ))
}

/// The value of a string field in a JSON object we produced ourselves (no escapes).
fn str_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let start = json.find(key)? + key.len();
    let rest = &json[start..];
    Some(&rest[..rest.find('"')?])
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds")
}

/// The load generator's own read buffer. tungstenite zeroes its whole read buffer before
/// every read (128 KiB by default): with 1000 clients on the same 2 cores that memset was
/// the largest item in the profile, stealing CPU from whichever server was measured.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096)
}

/// Opens a client socket (Nagle off, as browsers do).
pub async fn dial(url: &str) -> Option<Ws> {
    tokio_tungstenite::connect_async_with_config(url, Some(client_config()), true)
        .await
        .ok()
        .map(|(ws, _)| ws)
}

/// Opens a socket with a 4 KiB receive window: a phone on a bad network, or a tab that
/// stopped reading. The server's writes to it back up almost at once.
async fn dial_stalled(url: &str) -> Option<Ws> {
    let host = url.strip_prefix("ws://")?.split('/').next()?;
    let addr: std::net::SocketAddr = host.parse().ok()?;
    let socket = TcpSocket::new_v4().ok()?;
    socket.set_recv_buffer_size(4096).ok()?;
    let tcp = socket.connect(addr).await.ok()?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        url,
        MaybeTlsStream::Plain(tcp),
        Some(client_config()),
    )
    .await
    .ok()?;
    Some(ws)
}

/// Joins `room` (Chorus only) and waits for `joined`.
async fn join(ws: &mut Ws, room: &str, name: &str) -> Option<()> {
    let frame = format!(r#"{{"type":"join","room":"{room}","name":"{name}"}}"#);
    ws.send(Message::text(frame)).await.ok()?;
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(t) = msg {
            if t.as_str().contains(r#""type":"joined""#) {
                return Some(());
            }
        }
    }
    None
}

/// Opens a connection for a run: dialled, and joined to `room` when the peer is Chorus.
pub(crate) async fn open(url: &str, chorus: bool, room: &str, name: &str) -> Option<Ws> {
    let mut ws = dial(url).await?;
    if chorus {
        join(&mut ws, room, name).await?;
    }
    Some(ws)
}

/// What one subscriber saw.
struct Tally {
    unique: u64,
    dups: u64,
    reordered: u64,
    latency: Histogram<u64>,
}

/// Reads until told to stop, keeping count per publisher.
async fn subscriber(
    mut ws: Ws,
    chorus: bool,
    publishers: usize,
    clock: Clock,
    delivered: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally {
        unique: 0,
        dups: 0,
        reordered: 0,
        latency: histogram(),
    };
    let mut seen: Vec<Vec<u64>> = vec![Vec::new(); publishers];
    let mut highest: Vec<Option<u64>> = vec![None; publishers];
    loop {
        let msg = tokio::select! {
            m = ws.next() => m,
            _ = stop.changed() => break,
        };
        let Some(Ok(Message::Text(text))) = msg else {
            if matches!(msg, Some(Ok(_))) {
                continue;
            }
            break;
        };
        let body = if chorus {
            if !text.as_str().starts_with(r#"{"type":"message""#) {
                continue;
            }
            str_field(text.as_str(), r#""body":""#)
        } else {
            Some(text.as_str())
        };
        let Some((p, counter, sent)) = body.and_then(parse_payload) else {
            continue;
        };
        let now = clock.now_us();
        let p = p as usize;
        if p >= publishers {
            continue;
        }
        let word = (counter / 64) as usize;
        if seen[p].len() <= word {
            seen[p].resize(word + 1, 0);
        }
        let bit = 1u64 << (counter % 64);
        if seen[p][word] & bit != 0 {
            tally.dups += 1;
            continue;
        }
        seen[p][word] |= bit;
        if highest[p].is_some_and(|h| counter < h) {
            tally.reordered += 1;
        }
        highest[p] = Some(highest[p].map_or(counter, |h| h.max(counter)));
        tally.unique += 1;
        delivered.fetch_add(1, Ordering::Relaxed);
        let _ = tally.latency.record(now.saturating_sub(sent).max(1));
    }
    tally
}

/// What a publisher's reader saw: acks (with their latency) and refusals.
#[derive(Default)]
struct PubSide {
    acks: u64,
    errors: u64,
}

/// Sends `count` messages at `rate` per second, on time whatever the server does (a
/// paced, open-loop publisher: the offered load does not bend to the server).
#[allow(clippy::too_many_arguments)]
async fn paced_publisher(
    mut sink: SplitSink<Ws, Message>,
    chorus: bool,
    room: String,
    me: u32,
    rate: f64,
    count: u64,
    size: usize,
    clock: Clock,
) -> u64 {
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < count {
        let due = ((start.elapsed().as_secs_f64() * rate) as u64 + 1).min(count);
        while sent < due {
            let body = payload(me, sent, clock.now_us(), size);
            let frame = if chorus {
                format!(
                    r#"{{"type":"publish","room":"{room}","client_id":"p{me}-{sent}","body":"{body}"}}"#
                )
            } else {
                body
            };
            if sink.feed(Message::text(frame)).await.is_err() {
                return sent;
            }
            sent += 1;
        }
        if sink.flush().await.is_err() {
            return sent;
        }
        let next = start + Duration::from_secs_f64(sent as f64 / rate);
        tokio::time::sleep_until(next.into()).await;
    }
    sent
}

/// Drains a publisher's socket (the seed sends every message back to it too; Chorus acks).
async fn publisher_reader(mut stream: SplitStream<Ws>, mut stop: watch::Receiver<bool>) -> PubSide {
    let mut side = PubSide::default();
    loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = stop.changed() => break,
        };
        match msg {
            Some(Ok(Message::Text(t))) => {
                let t = t.as_str();
                if t.starts_with(r#"{"type":"ack""#) {
                    side.acks += 1;
                } else if t.starts_with(r#"{"type":"error""#) {
                    side.errors += 1;
                }
            }
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    side
}

/// The shape of one broadcast run.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Connections that only read.
    pub subscribers: usize,
    /// Connections that publish (and also receive).
    pub publishers: usize,
    /// Messages per second per publisher.
    pub rate: f64,
    /// How long the publishers send.
    pub secs: f64,
    /// Payload size in bytes.
    pub size: usize,
    /// Add one member whose receive window is 4 KiB and who never reads.
    pub stalled: bool,
}

/// What a broadcast run measured.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// Messages per second offered, all publishers together.
    pub offered: f64,
    /// Distinct messages received by subscribers per second of sending.
    pub deliveries_per_s: f64,
    /// Share of expected deliveries that never arrived, in percent.
    pub loss_pct: f64,
    /// Messages a subscriber got twice.
    pub dups: u64,
    /// Messages that arrived after a later one from the same publisher.
    pub reordered: u64,
    /// Send → receive latency percentiles, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// Server CPU time per delivery, µs.
    pub cpu_us_per_delivery: f64,
    /// Server resident memory, highest sampled during the run, KiB.
    pub rss_peak_kib: u64,
    /// Server resident memory before the run, KiB.
    pub rss_before_kib: u64,
    /// Acks the publishers got (Chorus).
    pub acks: u64,
    /// Error frames the publishers got (Chorus).
    pub errors: u64,
    /// What became of the stalled member, when there was one.
    pub stalled: Option<String>,
}

impl Step {
    /// The issue's bar: less than 0.1 % lost and p99 under 100 ms, nothing doubled or
    /// out of order.
    pub fn sustained(&self) -> bool {
        self.loss_pct < 0.1 && self.p99_ms < 100.0 && self.dups == 0 && self.reordered == 0
    }
}

/// Opens `n` connections at once (bounded), joined to `room` for Chorus.
async fn open_many(url: &str, chorus: bool, room: &str, prefix: &str, n: usize) -> Vec<Ws> {
    let gate = Arc::new(Semaphore::new(DIAL_CONCURRENCY));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (url, room, name, gate) = (
            url.to_string(),
            room.to_string(),
            format!("{prefix}{i}"),
            gate.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            open(&url, chorus, &room, &name).await
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        if let Ok(Some(ws)) = t.await {
            out.push(ws);
        }
    }
    out
}

/// One broadcast run against a started server: opens the connections, publishes, waits
/// for stragglers, and tallies what every subscriber got.
pub async fn broadcast(server: &Server, shape: &Shape, room: &str) -> Step {
    let chorus = server.peer.is_chorus();
    let clock = Clock::new();
    let subs = open_many(&server.url, chorus, room, "s", shape.subscribers).await;
    assert_eq!(
        subs.len(),
        shape.subscribers,
        "{:?}: not every subscriber connected",
        server.peer
    );
    let mut stalled = None;
    if shape.stalled {
        let mut ws = dial_stalled(&server.url)
            .await
            .expect("stalled member connects");
        if chorus {
            join(&mut ws, room, "stalled")
                .await
                .expect("stalled member joins");
        }
        stalled = Some(ws);
    }
    let pubs = open_many(&server.url, chorus, room, "p", shape.publishers).await;
    assert_eq!(
        pubs.len(),
        shape.publishers,
        "not every publisher connected"
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let delivered = Arc::new(AtomicU64::new(0));
    let sub_tasks: Vec<_> = subs
        .into_iter()
        .map(|ws| {
            tokio::spawn(subscriber(
                ws,
                chorus,
                shape.publishers,
                clock,
                delivered.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();
    let count = (shape.rate * shape.secs).round().max(1.0) as u64;
    let expected = count * shape.publishers as u64 * shape.subscribers as u64;
    let rss_before = server.rss_kib();
    let cpu_before = server.cpu();
    let mut pub_tasks = Vec::new();
    let mut reader_tasks = Vec::new();
    for (i, ws) in pubs.into_iter().enumerate() {
        let (sink, stream) = ws.split();
        reader_tasks.push(tokio::spawn(publisher_reader(stream, stop_rx.clone())));
        pub_tasks.push(tokio::spawn(paced_publisher(
            sink,
            chorus,
            room.to_string(),
            i as u32,
            shape.rate,
            count,
            shape.size,
            clock,
        )));
    }
    // Sample memory while the run goes on.
    let mut rss_peak = rss_before;
    let sending = futures::future::join_all(pub_tasks);
    tokio::pin!(sending);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let sinks_done = loop {
        tokio::select! {
            done = &mut sending => break done,
            _ = tick.tick() => rss_peak = rss_peak.max(server.rss_kib()),
        }
    };
    let drain_until = Instant::now() + DRAIN;
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
        rss_peak = rss_peak.max(server.rss_kib());
    }
    let cpu = server.cpu().saturating_sub(cpu_before);
    let _ = stop_tx.send(true);
    let mut latency = histogram();
    let (mut unique, mut dups, mut reordered) = (0, 0, 0);
    for t in sub_tasks {
        if let Ok(tally) = t.await {
            unique += tally.unique;
            dups += tally.dups;
            reordered += tally.reordered;
            let _ = latency.add(&tally.latency);
        }
    }
    let (mut acks, mut errors) = (0, 0);
    for t in reader_tasks {
        if let Ok(side) = t.await {
            acks += side.acks;
            errors += side.errors;
        }
    }
    drop(sinks_done);
    let stalled = match stalled {
        Some(ws) => Some(stalled_outcome(ws, chorus).await),
        None => None,
    };
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    Step {
        offered: shape.rate * shape.publishers as f64,
        deliveries_per_s: unique as f64 / shape.secs,
        loss_pct: 100.0 * expected.saturating_sub(unique) as f64 / expected.max(1) as f64,
        dups,
        reordered,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        max_ms: latency.max() as f64 / 1000.0,
        cpu_us_per_delivery: cpu.as_secs_f64() * 1e6 / unique.max(1) as f64,
        rss_peak_kib: rss_peak,
        rss_before_kib: rss_before,
        acks,
        errors,
        stalled,
    }
}

/// Reads what the server kept for the stalled member, and how the server ended it.
async fn stalled_outcome(mut ws: Ws, chorus: bool) -> String {
    let mut got = 0u64;
    let mut bytes = 0usize;
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    if !chorus || t.as_str().starts_with(r#"{"type":"message""#) {
                        got += 1;
                        bytes += t.len();
                    }
                }
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await;
    let mib = bytes as f64 / (1024.0 * 1024.0);
    match read {
        Ok(Some(code)) if code == u16::from(CloseCode::Library(4008)) => {
            format!("closed with 4008 (slow consumer) after {got} messages")
        }
        Ok(Some(code)) => format!("closed with {code} after {got} messages"),
        Ok(None) => format!("connection dropped after {got} messages"),
        Err(_) => format!("kept open: {got} messages ({mib:.1} MiB) were held for it"),
    }
}

/// What opening many idle connections measured.
#[derive(Clone, Debug, Default)]
pub struct Idle {
    /// Connections that opened (and joined, for Chorus).
    pub opened: usize,
    /// Seconds from the first dial to the last one ready.
    pub open_secs: f64,
    /// Server memory per open connection, KiB.
    pub kib_per_conn: f64,
    /// Server memory with none open, KiB.
    pub rss_before_kib: u64,
    /// Server memory with all open, KiB.
    pub rss_after_kib: u64,
}

/// Who an idle member is and where it goes.
pub(crate) struct Member {
    /// The server's WebSocket URL.
    pub url: String,
    /// The peer is Chorus (then the member joins `room` as `name`).
    pub chorus: bool,
    /// The room.
    pub room: String,
    /// The member's name.
    pub name: String,
}

/// Opens one connection (taking a permit of `gate` while dialling), says on `ready`
/// whether it is in, then stays idle as an open tab is (reads what comes, answers pings)
/// until `stop`.
pub(crate) fn spawn_idle_member(
    m: Member,
    gate: Arc<Semaphore>,
    ready: tokio::sync::mpsc::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let ws = {
            let Ok(_permit) = gate.acquire_owned().await else {
                return;
            };
            open(&m.url, m.chorus, &m.room, &m.name).await
        };
        let _ = ready.send(ws.is_some()).await;
        drop(ready);
        let Some(mut ws) = ws else { return };
        loop {
            tokio::select! {
                m = ws.next() => if !matches!(m, Some(Ok(_))) { return },
                _ = stop.changed() => return,
            }
        }
    });
}

/// Opens `n` connections (Chorus: each joined to one of `rooms` rooms), waits for the
/// server to settle, and reads its memory.
pub async fn idle(server: &Server, n: usize, rooms: usize) -> Idle {
    let chorus = server.peer.is_chorus();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = server.rss_kib();
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(DIAL_CONCURRENCY));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<bool>(n.max(1));
    let started = Instant::now();
    for i in 0..n {
        spawn_idle_member(
            Member {
                url: server.url.clone(),
                chorus,
                room: format!("idle{}", i % rooms),
                name: format!("u{i}"),
            },
            gate.clone(),
            ready_tx.clone(),
            stop_rx.clone(),
        );
    }
    drop(ready_tx);
    let mut opened = 0;
    for _ in 0..n {
        match ready_rx.recv().await {
            Some(ok) => opened += ok as usize,
            None => break,
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss_kib();
    let _ = stop_tx.send(true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    Idle {
        opened,
        open_secs,
        kib_per_conn: rss_after.saturating_sub(rss_before) as f64 / opened.max(1) as f64,
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
    }
}

/// What the durable-publish run measured (Chorus only: the relays store nothing).
#[derive(Clone, Debug, Default)]
pub struct Durable {
    /// Publishes acked per second, all publishers together.
    pub acked_per_s: f64,
    /// Publish → ack latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Refusals (`unavailable`, ...).
    pub errors: u64,
}

/// `publishers` connections, each in its own room, each sending its next message as soon
/// as the previous one is acked, for `secs`.
pub async fn durable(server: &Server, publishers: usize, secs: f64) -> Durable {
    let mut conns = Vec::new();
    for i in 0..publishers {
        let ws = open(&server.url, true, &format!("durable{i}"), &format!("p{i}"))
            .await
            .expect("publisher joins");
        conns.push(ws);
    }
    let clock = Clock::new();
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, mut ws)| {
            tokio::spawn(async move {
                let mut hist = histogram();
                let (mut acked, mut errors) = (0u64, 0u64);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let sent = clock.now_us();
                    let body = payload(i as u32, n, sent, 64);
                    let frame = format!(
                        r#"{{"type":"publish","room":"durable{i}","client_id":"d{i}-{n}","body":"{body}"}}"#
                    );
                    n += 1;
                    if ws.send(Message::text(frame)).await.is_err() {
                        break;
                    }
                    loop {
                        match ws.next().await {
                            Some(Ok(Message::Text(t))) => {
                                let t = t.as_str();
                                if t.starts_with(r#"{"type":"ack""#) {
                                    acked += 1;
                                    let _ = hist.record(clock.now_us().saturating_sub(sent).max(1));
                                    break;
                                }
                                if t.starts_with(r#"{"type":"error""#) {
                                    errors += 1;
                                    break;
                                }
                            }
                            Some(Ok(_)) => {}
                            _ => return (hist, acked, errors),
                        }
                    }
                }
                (hist, acked, errors)
            })
        })
        .collect();
    let mut hist = histogram();
    let (mut acked, mut errors) = (0, 0);
    for t in tasks {
        if let Ok((h, a, e)) = t.await {
            let _ = hist.add(&h);
            acked += a;
            errors += e;
        }
    }
    Durable {
        acked_per_s: acked as f64 / secs,
        p50_ms: hist.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: hist.value_at_quantile(0.99) as f64 / 1000.0,
        errors,
    }
}
