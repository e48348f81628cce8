//! One WebSocket connection: decode → apply → encode, in one task.
//!
//! The session owns the socket and is its only writer. It reads client frames, applies
//! them to the hub, and writes the answers; between frames it forwards what the hub queued
//! for it. It remembers, per joined room, the last seq it has sent, so a replay and the
//! live queue can overlap without the client ever seeing a message twice or out of order.
//!
//! It closes the socket itself, with a reason, when the client overflows its queue
//! (4008), sends a frame over the size limit (1009), stays silent past the idle timeout
//! (1001), or the server shuts down (1012). A connection is never left silently dead.

use crate::protocol::{
    decode_client_frame, Body, ClientFrame, ClientId, DecodeError, Epoch, HistoryLimit, Message,
    ProtocolError, RoomName, ServerFrame, UserName, CLOSE_IDLE, CLOSE_SERVICE_RESTART,
    CLOSE_SLOW_CONSUMER, CLOSE_TOO_BIG,
};
use crate::server::conn_limit::Permit;
use crate::server::hub::{ConnHandle, Hub, Outbound, Published};
use crate::server::metrics;
use crate::server::outbox::Inbox;
use crate::server::rate_limit::TokenBucket;
use crate::server::refusal::Refusal;
use crate::server::shutdown::Shutdown;
use crate::server::store::StoreError;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures::stream::{SplitSink, SplitStream};
use futures::{FutureExt, SinkExt, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{debug, info_span, Instrument};

/// Per-connection limits and timings, from the configuration.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Rooms one connection may be in at once.
    pub max_rooms: usize,
    /// Sustained publishes per second per connection.
    pub rate_per_sec: f64,
    /// Publishes allowed in a burst.
    pub rate_burst: u32,
    /// Frames the hub may queue for a connection before it counts as a slow consumer.
    pub outbound_queue: usize,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// Silence after which a peer is dropped.
    pub idle_timeout: Duration,
}

/// Messages read from the store per query during a replay: a replay is streamed page by
/// page, so one connection holds at most this many messages in memory for it.
const REPLAY_PAGE: usize = 500;

/// Close code when the store fails in the middle of a replay that `joined` already
/// announced as complete: the client reconnects and resumes from what it has.
const CLOSE_REPLAY_FAILED: u16 = 1011;

type Sink = SplitSink<WebSocket, WsMessage>;
type Stream = SplitStream<WebSocket>;

/// What applying one frame produced: frames to send now, maybe the rest of a replay to
/// stream after them, maybe a publish whose answer comes when the store has committed.
struct Reply {
    frames: Vec<ServerFrame>,
    rest: Option<ReplayRest>,
    publishing: Option<Publishing>,
}

impl From<Vec<ServerFrame>> for Reply {
    fn from(frames: Vec<ServerFrame>) -> Self {
        Self {
            frames,
            rest: None,
            publishing: None,
        }
    }
}

/// A publish handed to the hub and not yet answered. While publishes are in flight the
/// session goes on reading this client's publishes (up to [`MAX_IN_FLIGHT`]); any other
/// frame waits until they are answered, so frames take effect in the order sent. It keeps
/// forwarding the room's traffic meanwhile: a client that pipelines publishes into a busy
/// room must not be cut as a slow consumer because its session sat waiting for the disk.
struct Publishing {
    room: RoomName,
    client_id: ClientId,
    started: Instant,
    stored: Pin<Box<dyn Future<Output = Result<Published, StoreError>> + Send>>,
}

/// Resolves when the oldest publish in flight is stored (never, when there is none).
async fn settled(in_flight: &mut VecDeque<Publishing>) -> Result<Published, StoreError> {
    match in_flight.front_mut() {
        Some(p) => p.stored.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Publishes of one connection that may wait for the store at once. They reach the store
/// in the order read and are answered in that order; a publisher that pipelines gets its
/// messages group-committed together instead of one commit (and one scheduler round trip
/// behind the room's fan-out) each.
const MAX_IN_FLIGHT: usize = 32;

/// A replay to send after `joined`: the first page, already read (it decided
/// `recovered`), then the rest of `after < seq < until`, read a page at a time.
struct ReplayRest {
    room: RoomName,
    first: Vec<Message>,
    until: u64,
}

struct JoinedRoom {
    name: UserName,
    /// The highest seq of this room sent on this connection.
    last_sent: u64,
}

struct Session {
    hub: Hub,
    cfg: Arc<SessionConfig>,
    conn: ConnHandle,
    rooms: HashMap<RoomName, JoinedRoom>,
    /// A room whose join is under way: the hub may already count this connection in it
    /// while the session is still reading the replay. Kept so that a session cut off in
    /// that moment (overflow, shutdown) still leaves it, and no ghost member remains.
    joining: Option<RoomName>,
    bucket: TokenBucket,
    /// A joined room's history was reset under it: close with 1012 after this batch.
    restart: bool,
    /// Held while the session lives: the open-connections gauge and the per-address
    /// connection slot.
    _held: (metrics::ConnectionGauge, Permit),
}

/// Serves one upgraded socket until either side ends it; `permit` (the connection's
/// place under the per-address limit) is held until then.
///
/// A plain function returning the session's future, not an `async fn`: everything is
/// set up here, so the future the connection's task holds for its whole life carries
/// the socket's two halves and the session, not also the unsplit socket and the
/// arguments (an `async fn` keeps its arguments' slots beside whatever it awaits). An
/// idle connection's memory is mostly this future.
pub fn run(
    socket: WebSocket,
    hub: Hub,
    cfg: Arc<SessionConfig>,
    peer: SocketAddr,
    shutdown: Shutdown,
    permit: Permit,
) -> impl Future<Output = ()> + Send + 'static {
    let gauge = metrics::connection_opened();
    let (conn, rx) = hub.connect(cfg.outbound_queue);
    // `rooms` is filled in as the connection joins and leaves, so every log line of the
    // connection says where it is.
    let span = info_span!("conn", id = conn.id(), %peer, rooms = tracing::field::Empty);
    let (sink, stream) = socket.split();
    let session = Session {
        bucket: TokenBucket::new(cfg.rate_per_sec, cfg.rate_burst, Instant::now().into_std()),
        restart: false,
        hub,
        cfg,
        conn,
        rooms: HashMap::new(),
        joining: None,
        _held: (gauge, permit),
    };
    session.serve(sink, stream, rx, shutdown).instrument(span)
}

fn close(code: u16, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// True when a read failed because the client's message passed the size limit.
fn is_too_big(e: &axum::Error) -> bool {
    use std::error::Error;
    let mut cur: Option<&(dyn Error + 'static)> = e.source();
    while let Some(err) = cur {
        if let Some(tung) = err.downcast_ref::<tungstenite::Error>() {
            return matches!(tung, tungstenite::Error::Capacity(_));
        }
        cur = err.source();
    }
    false
}

async fn send(sink: &mut Sink, frame: &ServerFrame) -> Result<(), axum::Error> {
    sink.send(WsMessage::Text(frame.to_json().into())).await
}

/// Frames taken from the queue per wake-up and written with one flush: under load a
/// connection's frames leave in a few large writes instead of one syscall each. Bounded,
/// so the session still reads its client and answers pings between batches.
const FORWARD_BATCH: usize = 64;

/// How long a closing socket may take to accept its close frame before it is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What ends a session from outside its socket: overflow, server shutdown, or the peer's
/// silence past the idle timeout. Made once per session and polled on every turn (not
/// made anew per turn): registering a timer and two waiters for each forwarded frame was
/// most of what a delivery cost under fan-out.
struct Cut<O, S> {
    overflow: Pin<Box<O>>,
    shutdown: Pin<Box<S>>,
    idle: Pin<Box<tokio::time::Sleep>>,
    idle_timeout: Duration,
}

impl<O: Future<Output = ()>, S: Future<Output = ()>> Cut<O, S> {
    /// Runs `work` (which may wait on a client that does not read) unless the connection
    /// is cut first; then says with which close frame.
    async fn guard<T>(&mut self, work: Pin<&mut impl Future<Output = T>>) -> Result<T, CloseFrame> {
        tokio::select! {
            biased;
            _ = &mut self.overflow => {
                metrics::slow_consumer_closed();
                Err(close(CLOSE_SLOW_CONSUMER, "slow consumer"))
            }
            _ = &mut self.shutdown => Err(close(CLOSE_SERVICE_RESTART, "server restarting")),
            _ = &mut self.idle => Err(close(CLOSE_IDLE, "no answer to pings")),
            out = work => Ok(out),
        }
    }

    /// The peer was heard from at `at`: its idle deadline moves.
    fn heard(&mut self, at: Instant) {
        let deadline = at + self.idle_timeout;
        if self.idle.deadline() != deadline {
            self.idle.as_mut().reset(deadline);
        }
    }
}

impl Session {
    async fn serve(
        mut self,
        mut sink: Sink,
        mut stream: Stream,
        mut rx: Inbox<Outbound>,
        mut shutdown: Shutdown,
    ) {
        debug!("open");
        let mut ping = tokio::time::interval_at(
            Instant::now() + self.cfg.ping_interval,
            self.cfg.ping_interval,
        );
        let mut last_heard = Instant::now();
        let conn = self.conn.clone();
        let mut in_flight: VecDeque<Publishing> = VecDeque::new();
        // A frame read while publishes were in flight that must wait for them.
        let mut held: Option<Result<ClientFrame, DecodeError>> = None;
        let mut cut = Cut {
            overflow: Box::pin(conn.overflowed()),
            shutdown: Box::pin(shutdown.wait()),
            idle: Box::pin(tokio::time::sleep_until(last_heard + self.cfg.idle_timeout)),
            idle_timeout: self.cfg.idle_timeout,
        };
        // Each turn waits for one event, then handles it under `cut.guard`, so a socket
        // write blocked by a client that stopped reading still ends on overflow, shutdown
        // or silence.
        let close_with: Option<CloseFrame> = loop {
            // Pinned here and lent to the guard: moved into it, the turn's future would
            // take its room in the session's future twice.
            let step = {
                let turn = std::pin::pin!(async {
                    tokio::select! {
                        stored = settled(&mut in_flight), if !in_flight.is_empty() => {
                            if let Some(p) = in_flight.pop_front() {
                                Box::pin(self.answer_settled(p, stored, &mut in_flight, &mut rx, &mut sink)).await?;
                            }
                            match held.take() {
                                Some(frame) if in_flight.is_empty() => {
                                    Box::pin(self.handle_decoded(frame, &mut sink))
                                        .await
                                        .map(|p| in_flight.extend(p))
                                }
                                still_held => {
                                    held = still_held;
                                    Ok(())
                                }
                            }
                        }
                        out = rx.recv() => {
                            self.forward_batch(out, &mut rx, &mut sink).await.map_err(|_| None)?;
                            self.unless_restarted()
                        }
                        inbound = stream.next(), if held.is_none() && in_flight.len() < MAX_IN_FLIGHT => match inbound {
                            None => Err(None),
                            Some(Err(e)) => {
                                debug!(error = %e, "read failed");
                                Err(is_too_big(&e).then(|| close(CLOSE_TOO_BIG, "message too big")))
                            }
                            Some(Ok(msg)) => {
                                last_heard = Instant::now();
                                match msg {
                                    WsMessage::Text(text) => {
                                        let frame = decode_client_frame(text.as_str());
                                        if in_flight.is_empty() || matches!(frame, Ok(ClientFrame::Publish { .. })) {
                                            // Boxed: the join/history path is the largest
                                            // state a session has; kept off the idle
                                            // session's own allocation.
                                            Box::pin(self.handle_decoded(frame, &mut sink))
                                                .await
                                                .map(|p| in_flight.extend(p))
                                        } else {
                                            held = Some(frame);
                                            Ok(())
                                        }
                                    }
                                    WsMessage::Binary(_) => {
                                        let refusal = Refusal::from(ProtocolError::BadFrame(
                                            "binary frames are not part of the protocol",
                                        ));
                                        send(&mut sink, &refusal.to_frame(None)).await.map_err(|_| None)
                                    }
                                    WsMessage::Close(_) => Err(None),
                                    WsMessage::Ping(_) | WsMessage::Pong(_) => Ok(()),
                                }
                            }
                        },
                        _ = ping.tick() => {
                            sink.send(WsMessage::Ping(Default::default())).await.map_err(|_| None)
                        }
                    }
                });
                cut.guard(turn).await
            };
            cut.heard(last_heard);
            match step {
                Ok(Ok(())) => continue,
                Ok(Err(close_with)) => break close_with,
                Err(cut_with) => break Some(cut_with),
            }
        };
        // Leave first: the room should not wait for this peer's closing handshake.
        for room in self.rooms.keys().chain(self.joining.as_ref()) {
            self.hub.leave(self.conn.id(), room);
        }
        drop(rx);
        if let Some(frame) = close_with {
            debug!(code = frame.code, "closing");
            // The closing handshake: send our close frame, then read until the peer's reply,
            // so dropping the TCP connection cannot race the peer's last writes (a reset would
            // make it lose the close frame and its code). Bounded for peers that never answer.
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                if sink.send(WsMessage::Close(Some(frame))).await.is_ok() {
                    while let Some(Ok(msg)) = stream.next().await {
                        if matches!(msg, WsMessage::Close(_)) {
                            break;
                        }
                    }
                }
            })
            .await;
        }
        debug!("closed");
    }

    /// Writes `first` and whatever else is already queued (up to [`FORWARD_BATCH`]),
    /// then flushes once.
    async fn forward_batch(
        &mut self,
        first: Outbound,
        rx: &mut Inbox<Outbound>,
        sink: &mut Sink,
    ) -> Result<(), axum::Error> {
        let mut messages = self.forward(first, sink).await?;
        messages += self.forward_queued(FORWARD_BATCH - 1, rx, sink).await?;
        metrics::messages_sent(messages);
        sink.flush().await
    }

    /// Queues on the socket (unflushed) up to `max` frames the hub has already queued
    /// for this connection; returns how many were `message` frames.
    async fn forward_queued(
        &mut self,
        max: usize,
        rx: &mut Inbox<Outbound>,
        sink: &mut Sink,
    ) -> Result<u64, axum::Error> {
        let mut messages = 0;
        for _ in 0..max {
            let Some(out) = rx.try_recv() else { break };
            messages += self.forward(out, sink).await?;
        }
        Ok(messages)
    }

    /// Answers a publish the store has settled, and every later one already settled too,
    /// then forwards what the room queued meanwhile (usually the publisher's own
    /// `message`: the hub hands it out before the publish settles) and flushes once. A
    /// publisher waiting for its ack gets ack and message in one write: one `sendto` per
    /// publish instead of two, which was half of the server's CPU under durable load.
    async fn answer_settled(
        &mut self,
        first: Publishing,
        stored: Result<Published, StoreError>,
        in_flight: &mut VecDeque<Publishing>,
        rx: &mut Inbox<Outbound>,
        sink: &mut Sink,
    ) -> Result<(), Option<CloseFrame>> {
        self.answer_publish(first, stored, sink).await?;
        while let Some(next) = in_flight.front_mut() {
            let Some(stored) = next.stored.as_mut().now_or_never() else {
                break;
            };
            if let Some(p) = in_flight.pop_front() {
                self.answer_publish(p, stored, sink).await?;
            }
        }
        let messages = self
            .forward_queued(FORWARD_BATCH, rx, sink)
            .await
            .map_err(|_| None)?;
        metrics::messages_sent(messages);
        sink.flush().await.map_err(|_| None)?;
        self.unless_restarted()
    }

    /// After forwarding: a joined room's history was reset, so the connection closes
    /// with 1012 and the client rejoins.
    fn unless_restarted(&self) -> Result<(), Option<CloseFrame>> {
        if self.restart {
            Err(Some(close(CLOSE_SERVICE_RESTART, "room history was reset")))
        } else {
            Ok(())
        }
    }

    /// Queues a frame on the socket (unflushed), unless it is for a room since left or
    /// already sent. Returns how many `message` frames it queued (0 or 1).
    async fn forward(&mut self, out: Outbound, sink: &mut Sink) -> Result<u64, axum::Error> {
        match out {
            Outbound::Message(d) => {
                let Some(joined) = self.rooms.get_mut(&d.room) else {
                    return Ok(0);
                };
                if d.seq <= joined.last_sent {
                    return Ok(0);
                }
                joined.last_sent = d.seq;
                sink.feed(WsMessage::Text(d.frame.clone())).await?;
                Ok(1)
            }
            Outbound::Presence(p) => {
                if self.rooms.contains_key(&p.room) {
                    sink.feed(WsMessage::Text(p.frame.clone())).await?;
                }
                Ok(0)
            }
            Outbound::Restart(room) => {
                self.restart |=
                    self.rooms.contains_key(&room) || self.joining.as_ref() == Some(&room);
                Ok(0)
            }
        }
    }

    /// Puts the joined rooms on the connection's span.
    fn record_rooms(&self) {
        let mut names: Vec<&str> = self.rooms.keys().map(RoomName::as_str).collect();
        names.sort_unstable();
        tracing::Span::current().record("rooms", names.join(",").as_str());
    }

    /// Queues the `ack` (or the refusal) of a publish on the socket, unflushed.
    async fn answer_publish(
        &mut self,
        p: Publishing,
        stored: Result<Published, StoreError>,
        sink: &mut Sink,
    ) -> Result<(), Option<CloseFrame>> {
        let frame = match stored {
            Ok(published) => {
                metrics::publish_acked(p.started.elapsed());
                ServerFrame::Ack {
                    room: p.room,
                    client_id: p.client_id,
                    seq: published.seq,
                }
            }
            Err(e) => Refusal::from(e).to_frame(Some(p.client_id.to_string())),
        };
        sink.feed(WsMessage::Text(frame.to_json().into()))
            .await
            .map_err(|_| None)
    }

    /// Applies and answers one decoded text frame; returns the publish it started, if
    /// any. `Err(None)`: the socket failed; `Err(Some(frame))`: close with `frame`.
    async fn handle_decoded(
        &mut self,
        decoded: Result<ClientFrame, DecodeError>,
        sink: &mut Sink,
    ) -> Result<Option<Publishing>, Option<CloseFrame>> {
        let reply = match decoded {
            Ok(frame) => {
                let reference = match &frame {
                    ClientFrame::Publish { client_id, .. } => Some(client_id.to_string()),
                    ClientFrame::Join { room, .. }
                    | ClientFrame::Leave { room }
                    | ClientFrame::History { room, .. } => Some(room.to_string()),
                    ClientFrame::Ping => None,
                };
                match self.apply(frame).await {
                    Ok(reply) => reply,
                    Err(refusal) => vec![refusal.to_frame(reference)].into(),
                }
            }
            Err(e) => vec![Refusal::from(e.error).to_frame(e.reference)].into(),
        };
        for frame in &reply.frames {
            send(sink, frame).await.map_err(|_| None)?;
        }
        if let Some(rest) = reply.rest {
            self.stream_replay(rest, sink).await?;
        }
        Ok(reply.publishing)
    }

    /// Sends a replay page by page, skipping what this connection was sent already.
    async fn stream_replay(
        &mut self,
        rest: ReplayRest,
        sink: &mut Sink,
    ) -> Result<(), Option<CloseFrame>> {
        let ReplayRest {
            room,
            first: mut page,
            until,
        } = rest;
        loop {
            let Some(after) = page.last().map(|m| m.seq) else {
                return Ok(());
            };
            // One page, one flush.
            let mut sent = 0;
            for m in page {
                let Some(joined) = self.rooms.get_mut(&room) else {
                    break;
                };
                if m.seq > joined.last_sent {
                    joined.last_sent = m.seq;
                    sent += 1;
                    let json = ServerFrame::Message(m).to_json();
                    sink.feed(WsMessage::Text(json.into()))
                        .await
                        .map_err(|_| None)?;
                }
            }
            metrics::messages_sent(sent);
            sink.flush().await.map_err(|_| None)?;
            if !self.rooms.contains_key(&room) {
                return Ok(());
            }
            if after + 1 >= until {
                return Ok(());
            }
            page = match self.hub.replay(&room, after, until, REPLAY_PAGE).await {
                Ok(next) if next.complete => next.messages,
                // `joined` promised a complete replay: better a reconnect than a gap.
                _ => {
                    return Err(Some(close(
                        CLOSE_REPLAY_FAILED,
                        "history unavailable during replay",
                    )))
                }
            };
        }
    }

    async fn apply(&mut self, frame: ClientFrame) -> Result<Reply, Refusal> {
        match frame {
            ClientFrame::Join {
                room,
                name,
                since,
                epoch,
            } => self.join(room, name, since, epoch).await,
            ClientFrame::Leave { room } => {
                if self.rooms.remove(&room).is_none() {
                    return Err(Refusal::NotJoined);
                }
                self.hub.leave(self.conn.id(), &room);
                self.record_rooms();
                Ok(vec![ServerFrame::Left { room }].into())
            }
            ClientFrame::Publish {
                room,
                body,
                client_id,
            } => self.publish(room, body, client_id).map(|p| Reply {
                publishing: Some(p),
                ..Vec::new().into()
            }),
            ClientFrame::History {
                room,
                before,
                limit,
            } => self.history(room, before, limit).await.map(Reply::from),
            ClientFrame::Ping => Ok(vec![ServerFrame::Pong].into()),
        }
    }

    async fn join(
        &mut self,
        room: RoomName,
        name: UserName,
        since: Option<u64>,
        epoch: Option<Epoch>,
    ) -> Result<Reply, Refusal> {
        let previous = self.rooms.get(&room).map(|j| j.last_sent);
        if previous.is_none() && self.rooms.len() >= self.cfg.max_rooms {
            return Err(Refusal::TooManyRooms(self.cfg.max_rooms));
        }
        self.joining = Some(room.clone());
        let result = self.join_room(&room, &name, since, epoch, previous).await;
        self.joining = None;
        let (reply, last_sent) = result?;
        self.rooms.insert(room, JoinedRoom { name, last_sent });
        self.record_rooms();
        Ok(reply)
    }

    /// The body of [`Session::join`]: `joined`, the replay to stream after it (when
    /// recovered), and where the room's `last_sent` starts.
    async fn join_room(
        &mut self,
        room: &RoomName,
        name: &UserName,
        since: Option<u64>,
        epoch: Option<Epoch>,
        previous: Option<u64>,
    ) -> Result<(Reply, u64), Refusal> {
        let info = self.hub.join(&self.conn, room, name).await?;
        let last_seq = info.live_from - 1;
        let mut rest = None;
        if let Some(since) = since {
            let same_history = epoch.as_ref().is_none_or(|e| *e == info.epoch);
            if same_history && since <= last_seq {
                // On a re-join, what this connection was already sent needs no replay.
                let after = previous.map_or(since, |p| p.max(since));
                match self
                    .hub
                    .replay(room, after, info.live_from, REPLAY_PAGE)
                    .await
                {
                    Ok(page) if page.complete => {
                        rest = Some(ReplayRest {
                            room: room.clone(),
                            first: page.messages,
                            until: info.live_from,
                        });
                    }
                    Ok(_) => {} // Retention dropped part of it: the client reloads.
                    Err(e) => {
                        if previous.is_none() {
                            self.hub.leave(self.conn.id(), room);
                        }
                        return Err(e.into());
                    }
                }
            }
        }
        let recovered = rest.is_some();
        // Where this connection's view of the room now stands: on a re-join, what it was
        // already sent (live frames may still be queued); on a recovered join, `since`;
        // otherwise the room's present, with live messages to follow. The replay moves it.
        let last_sent = match (previous, since) {
            (Some(prev), _) => prev,
            (None, Some(since)) if recovered => since,
            _ => last_seq,
        };
        let frames = vec![ServerFrame::Joined {
            room: room.clone(),
            epoch: info.epoch,
            last_seq,
            online: info.online,
            members: info.members,
            recovered,
        }];
        Ok((
            Reply {
                frames,
                rest,
                publishing: None,
            },
            last_sent,
        ))
    }

    /// Checks a publish and hands it to the hub; the answer is sent when it is stored.
    fn publish(
        &mut self,
        room: RoomName,
        body: Body,
        client_id: ClientId,
    ) -> Result<Publishing, Refusal> {
        let Some(joined) = self.rooms.get(&room) else {
            return Err(Refusal::NotJoined);
        };
        let from = joined.name.clone();
        if let Err(wait) = self.bucket.try_take(Instant::now().into_std()) {
            return Err(Refusal::RateLimited {
                // Rounded up: a retry at the hint must find a token.
                retry_after_ms: wait.as_nanos().div_ceil(1_000_000).max(1) as u64,
            });
        }
        // Called here, not inside a lazy future: the hub queues it to the store now.
        let stored = self
            .hub
            .publish(room.clone(), from, body, client_id.clone());
        Ok(Publishing {
            room,
            client_id,
            started: Instant::now(),
            stored: Box::pin(stored),
        })
    }

    async fn history(
        &self,
        room: RoomName,
        before: Option<u64>,
        limit: HistoryLimit,
    ) -> Result<Vec<ServerFrame>, Refusal> {
        let page = self.hub.history(&room, before, limit.get()).await?;
        Ok(vec![ServerFrame::History {
            room,
            messages: page.messages,
            has_more: page.has_more,
        }])
    }
}
