//! One WebSocket connection: decode → apply → encode, in one task.
//!
//! The session owns the socket and is its only writer. It reads client frames, applies
//! them to the hub, and writes the answers; between frames it forwards what the hub queued
//! for it. It remembers, per joined room, the last seq it has sent, so a replay and the
//! live queue can overlap without the client ever seeing a message twice or out of order.
//!
//! It closes the socket itself, with a [`Close`] (`protocol/close.rs`), when the client
//! overflows its queue, sends a frame over the size limit, stays silent past the idle
//! timeout, or the server shuts down. A connection is never left silently dead.
//!
//! - this file: the loop (one event per turn, under the cut-off guard) and how a session
//!   ends ([`End`]); generic over any `Sink` + `Stream` of WebSocket messages, so unit
//!   tests drive it through channels and production through axum's socket;
//! - [`apply`]: one client frame → a hub call → the reply;
//! - [`pipeline`]: publishes waiting for the store, answered in order;
//! - [`replay`]: the replay after a resuming `join`, page by page;
//! - [`forward`]: what the hub queued, to the socket in batches.

mod apply;
mod cut;
mod forward;
mod members;
mod moderate;
mod pipeline;
mod react;
mod replay;
#[cfg(test)]
mod tests;

use self::cut::Cut;
use self::pipeline::Pipeline;
use crate::protocol::{decode_client_frame, Close, ProtocolError, RoomName, UserName};
use crate::server::conn_limit::Permit;
use crate::server::hub::{ConnHandle, Hub, Outbound};
use crate::server::metrics;
use crate::server::outbox::Inbox;
use crate::server::rate_limit::TokenBucket;
use crate::server::refusal::Refusal;
use crate::server::shutdown::Shutdown;
use crate::server::websocket::SocketError;
use axum::extract::ws::{CloseFrame, Message as WsMessage};
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
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
    /// Sustained joins, leaves and history requests per second per connection: each can
    /// make the server send far more than it received (a replay, a page, a presence frame
    /// to the whole room).
    pub control_per_sec: f64,
    /// Joins, leaves and history requests allowed in a burst.
    pub control_burst: u32,
    /// What each client address may do in all its connections together.
    pub budgets: Arc<crate::server::address_budget::AddressBudgets>,
    /// Frames the hub may queue for a connection before it counts as a slow consumer.
    pub outbound_queue: usize,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// Silence after which a peer is dropped.
    pub idle_timeout: Duration,
    /// Time one page of a replay has to drain to the client; a client that does not read
    /// it in time is closed as a slow consumer (4008) and resumes from what it got.
    pub replay_stall: Duration,
    /// Checks `auth` tokens; `None` when no key is configured (every `auth` is then
    /// `unauthorized`).
    pub verifier: Option<Arc<crate::server::identity::jwt::Verifier>>,
    /// Whether connections without an identity may join and publish.
    pub guests: bool,
    /// Who may enter which room (private rooms).
    pub rooms: Arc<crate::server::rooms::access::RoomAccess>,
}

/// What the upgrade learned about a connection.
pub struct Upgraded {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// Its place under the per-address limit, held while it lives.
    pub permit: Permit,
    /// Its identity, when its site session cookie gave one.
    pub admitted: Option<Admitted>,
}

/// Who the upgrade request proved the connection is (its site session cookie), and the
/// watch that ends it at sign-out.
pub struct Admitted {
    /// The session's account, until the session ends.
    pub identity: crate::server::identity::Identity,
    /// Fires when the session signs out.
    pub revocation: crate::server::identity::revocations::Revocation,
}

/// The writing half of a socket, as a session uses it (axum's `SplitSink`, or a channel
/// in tests).
pub trait FrameSink: Sink<WsMessage, Error = axum::Error> + Unpin + Send + 'static {}
impl<T: Sink<WsMessage, Error = axum::Error> + Unpin + Send + 'static> FrameSink for T {}

/// The reading half of a socket, as a session uses it.
pub trait FrameStream:
    Stream<Item = Result<WsMessage, axum::Error>> + Unpin + Send + 'static
{
}
impl<T: Stream<Item = Result<WsMessage, axum::Error>> + Unpin + Send + 'static> FrameStream for T {}

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The socket failed: nothing more can be sent on it.
    Gone,
    /// The peer sent its close frame (with this code, if any): the reply echoes the
    /// code (RFC 6455 §5.5.1), then the socket is dropped.
    PeerClosed(Option<u16>),
    /// The server ends it, with this close code and reason.
    Close(Close),
}

impl End {
    /// A write failed: the socket is gone.
    fn gone(e: axum::Error) -> Self {
        debug!(error = %e, "write failed");
        End::Gone
    }

    /// A read failed: the client's bad frame is closed with its code (1009, 1007,
    /// 1002); anything else means the socket is gone.
    fn read_failed(e: axum::Error) -> Self {
        debug!(error = %e, "read failed");
        match socket_error(&e) {
            Some(SocketError::TooBig { .. }) => End::Close(Close::TooBig),
            Some(SocketError::InvalidUtf8) => End::Close(Close::InvalidUtf8),
            Some(SocketError::Protocol(_)) => End::Close(Close::ProtocolError),
            _ => End::Gone,
        }
    }
}

/// What a turn of the loop may end with.
type Turn = Result<(), End>;

/// One joined room, as this connection sees it.
struct JoinedRoom {
    /// How it is shown there; `None`: a guest that only reads.
    name: Option<UserName>,
    /// The highest seq of this room sent on this connection.
    last_sent: u64,
    /// Its user's mute in the room, as read at the join and changed live since.
    muted: Option<crate::server::moderation::Until>,
    /// May moderate the room (then slow mode does not apply to it).
    moderator: bool,
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
    /// The budget for joins, leaves and history requests.
    control: TokenBucket,
    /// The address this connection counts under (for the per-address budgets).
    client: std::net::IpAddr,
    /// A joined room's history was reset under it: close with 1012 after this batch.
    restart: bool,
    /// Who this connection is; `None` for a guest.
    identity: Option<crate::server::identity::Identity>,
    /// When the identity ends (its `exp` plus the leeway): the session closes with 4001.
    identity_ends: Option<Instant>,
    /// The sign-out watch of the site session that authenticated it (taken by the loop).
    revocation: Option<crate::server::identity::revocations::Revocation>,
    /// Held while the session lives: the open-connections gauge and the per-address
    /// connection slot.
    _held: (
        metrics::ConnectionGauge,
        Permit,
        crate::server::hub::Registration,
    ),
}

/// Serves one socket, given as its two halves (axum's `WebSocket::split()`, or channels in
/// tests), until either side ends it; `permit` (the connection's place under the
/// per-address limit) is held until then.
///
/// A plain function returning the session's future, not an `async fn`: everything is
/// set up here, so the future the connection's task holds for its whole life carries
/// the socket's two halves and the session, not also the arguments (an `async fn` keeps
/// its arguments' slots beside whatever it awaits). An idle connection's memory is
/// mostly this future.
pub fn serve<Si: FrameSink, St: FrameStream>(
    sink: Si,
    stream: St,
    hub: Hub,
    cfg: Arc<SessionConfig>,
    shutdown: Shutdown,
    upgrade: Upgraded,
) -> impl Future<Output = ()> + Send + 'static {
    let Upgraded {
        peer,
        permit,
        admitted,
    } = upgrade;
    let gauge = metrics::connection_opened();
    let (conn, rx) = hub.connect(cfg.outbound_queue);
    let registration = hub.register(
        &conn,
        permit.ip(),
        admitted.as_ref().map(|a| a.identity.user.clone()),
    );
    // `rooms` is filled in as the connection joins and leaves, so every log line of the
    // connection says where it is.
    let span = info_span!("conn", id = conn.id(), %peer, rooms = tracing::field::Empty);
    let session = Session {
        bucket: TokenBucket::new(cfg.rate_per_sec, cfg.rate_burst, Instant::now().into_std()),
        control: TokenBucket::new(
            cfg.control_per_sec,
            cfg.control_burst,
            Instant::now().into_std(),
        ),
        restart: false,
        identity_ends: admitted.as_ref().map(|a| {
            let left = a
                .identity
                .expires_at
                .saturating_sub(crate::server::store::now_ms());
            Instant::now() + Duration::from_millis(left)
        }),
        revocation: admitted.as_ref().map(|a| a.revocation.clone()),
        identity: admitted.map(|a| a.identity),
        client: permit.ip(),
        hub,
        cfg,
        conn,
        rooms: HashMap::new(),
        joining: None,
        _held: (gauge, permit, registration),
    };
    session.serve(sink, stream, rx, shutdown).instrument(span)
}

/// The WebSocket layer's own error under axum's, if that is what a read failed with.
fn socket_error(e: &axum::Error) -> Option<&SocketError> {
    use std::error::Error;
    let mut cur: Option<&(dyn Error + 'static)> = e.source();
    while let Some(err) = cur {
        if let Some(socket) = err.downcast_ref::<SocketError>() {
            return Some(socket);
        }
        cur = err.source();
    }
    None
}

/// How long a closing socket may take to accept its close frame before it is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

impl Session {
    async fn serve<Si: FrameSink, St: FrameStream>(
        mut self,
        mut sink: Si,
        mut stream: St,
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
        let mut pipeline = Pipeline::default();
        let mut cut = Cut {
            overflow: Box::pin(conn.overflowed()),
            shutdown: Box::pin(shutdown.wait()),
            idle: Box::pin(tokio::time::sleep_until(last_heard + self.cfg.idle_timeout)),
            idle_timeout: self.cfg.idle_timeout,
            expiry: None,
            revoked: match self.revocation.take() {
                Some(r) => Box::pin(r.revoked()),
                None => Box::pin(std::future::pending()),
            },
        };
        cut.identity_ends(self.identity_ends);
        // Each turn waits for one event, then handles it under `cut.guard`, so a socket
        // write blocked by a client that stopped reading still ends on overflow, shutdown
        // or silence.
        let end = loop {
            // Pinned here and lent to the guard: moved into it, the turn's future would
            // take its room in the session's future twice.
            let step = {
                let turn = std::pin::pin!(async {
                    tokio::select! {
                        stored = pipeline.settled(), if pipeline.busy() => {
                            Box::pin(self.settled(stored, &mut pipeline, &mut rx, &mut sink)).await
                        }
                        out = rx.recv() => {
                            self.forward_batch(out, &mut rx, &mut sink).await?;
                            self.unless_restarted()
                        }
                        inbound = stream.next(), if pipeline.reading() => {
                            let Some(msg) = inbound else { return Err(End::Gone) };
                            let msg = msg.map_err(End::read_failed)?;
                            last_heard = Instant::now();
                            self.received(msg, &mut pipeline, &mut sink).await
                        }
                        _ = ping.tick() => {
                            sink.send(WsMessage::Ping(Default::default())).await.map_err(End::gone)
                        }
                    }
                });
                cut.guard(turn).await
            };
            cut.heard(last_heard);
            cut.identity_ends(self.identity_ends);
            if let Err(end) = step {
                break end;
            }
        };
        // Leave first: the room should not wait for this peer's closing handshake.
        for room in self.rooms.keys().chain(self.joining.as_ref()) {
            self.hub.leave(self.conn.id(), room);
        }
        drop(rx);
        match end {
            End::Close(close) => close_handshake(close, &mut sink, &mut stream).await,
            End::PeerClosed(code) => {
                // Send the close reply the peer is waiting for (else it sees 1006).
                let reply = WsMessage::Close(code.map(|code| CloseFrame {
                    code,
                    reason: Default::default(),
                }));
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(reply)).await;
            }
            End::Gone => {}
        }
        debug!("closed");
    }

    /// Handles one message read from the socket. A text frame is applied now, unless
    /// publishes are in flight and it is not one: then it waits for them (frames take
    /// effect in the order sent).
    async fn received<Si: FrameSink>(
        &mut self,
        msg: WsMessage,
        pipeline: &mut Pipeline,
        sink: &mut Si,
    ) -> Turn {
        match msg {
            WsMessage::Text(text) => {
                let frame = decode_client_frame(text.as_str());
                if pipeline.must_wait(&frame) {
                    pipeline.hold(frame);
                    return Ok(());
                }
                // Boxed: the join/history path is the largest state a session has; kept
                // off the idle session's own allocation.
                let started = Box::pin(self.handle_decoded(frame, sink)).await?;
                pipeline.extend(started);
                Ok(())
            }
            WsMessage::Binary(_) => {
                let refusal = Refusal::from(ProtocolError::BadFrame(
                    "binary frames are not part of the protocol",
                ));
                send(sink, &refusal.to_frame(None)).await
            }
            WsMessage::Close(frame) => Err(End::PeerClosed(frame.map(|f| f.code))),
            WsMessage::Ping(data) => sink.send(WsMessage::Pong(data)).await.map_err(End::gone),
            WsMessage::Pong(_) => Ok(()),
        }
    }

    /// Puts the joined rooms on the connection's span.
    fn record_rooms(&self) {
        let mut names: Vec<&str> = self.rooms.keys().map(RoomName::as_str).collect();
        names.sort_unstable();
        tracing::Span::current().record("rooms", names.join(",").as_str());
    }
}

/// Sends a frame now (flushed).
async fn send<Si: FrameSink>(sink: &mut Si, frame: &crate::protocol::ServerFrame) -> Turn {
    sink.send(WsMessage::Text(frame.to_json().into()))
        .await
        .map_err(End::gone)
}

/// The closing handshake: send our close frame, then read until the peer's reply, so
/// dropping the TCP connection cannot race the peer's last writes (a reset would make it
/// lose the close frame and its code). Bounded for peers that never answer.
async fn close_handshake<Si: FrameSink, St: FrameStream>(
    close: Close,
    sink: &mut Si,
    stream: &mut St,
) {
    debug!(code = close.code(), reason = close.reason(), "closing");
    let frame = CloseFrame {
        code: close.code(),
        reason: close.reason().into(),
    };
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
