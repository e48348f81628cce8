//! Accepting TCP connections and serving HTTP on them, within bounds.
//!
//! `axum::serve` gives a connection no header-read timeout (hyper's needs a timer it does
//! not set), no idle timeout and no cap, so a stranger could hold descriptors and buffers
//! forever: idle sockets, half-sent headers, idle keep-alive, unread responses. This is
//! the same loop (hyper's HTTP/1 with upgrades for `/ws`, graceful shutdown) with:
//!
//! - at most `max_connections` open connections in all and `max_per_ip` per client
//!   address; one over either is closed at once, before a byte is read;
//! - a request's headers must arrive whole within `header_read_timeout`, and be at most
//!   `max_header_bytes` (else 431);
//! - a read or write that makes no progress for `idle_timeout` closes the connection
//!   ([`super::idle_io`]);
//! - a closed connection lingers: FIN, then the peer's last bytes are read, so it gets
//!   the server's last words instead of a reset ([`super::linger`]).

use crate::server::client_addr::limit_key;
use crate::server::conn_limit::ConnLimit;
use crate::server::idle_io::IdleTimeout;
use crate::server::linger::Lingering;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// The bounds every TCP connection is served under.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// Open TCP connections in all (HTTP and WebSocket).
    pub max_connections: usize,
    /// Open TCP connections per client address.
    pub max_per_ip: u32,
    /// Time for a request's headers to arrive whole.
    pub header_read_timeout: Duration,
    /// Time a read or write may wait without any byte moving.
    pub idle_timeout: Duration,
    /// Largest request head (start line and headers), in bytes.
    pub max_header_bytes: usize,
    /// Proxies: their connections count against the total only (the clients behind them
    /// are counted per address at the WebSocket upgrade).
    pub trusted_proxies: Arc<crate::server::client_addr::TrustedProxies>,
}

/// Serves `app` on `listener` until `stop` resolves; then stops accepting, asks every
/// connection to finish (idle keep-alive ones close at once, upgraded sockets when their
/// session ends) and resolves when all have.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    stop: impl Future<Output = ()>,
) {
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let per_ip = ConnLimit::new(limits.max_per_ip);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    // Connections hold `open_rx` clones: `open_tx.closed()` says they all ended.
    let (open_tx, open_rx) = watch::channel(());
    let (stopping_tx, stopping_rx) = watch::channel(false);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors (EMFILE) or memory: back off instead of spinning;
                    // the limits above keep this rare.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = total.clone().try_acquire_owned() else {
            refused(peer, "the server's connection limit is reached");
            continue;
        };
        let permit = if limits.trusted_proxies.trusts(peer.ip()) {
            None
        } else {
            let Some(permit) = per_ip.acquire(limit_key(peer.ip())) else {
                refused(peer, "this address's connection limit is reached");
                continue;
            };
            Some(permit)
        };
        // Nagle off: a frame (an ack, a message) goes out when written, not held back
        // until the peer acknowledges the previous one (up to its 40 ms delayed ACK).
        // Frames are already batched per wake-up by the session.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        // The slots go with the socket: a closed one lingers (see `linger`) within them.
        let tcp = Lingering::new(tcp, (slot, permit));
        let io = TokioIo::new(IdleTimeout::new(tcp, limits.idle_timeout));
        let service = app
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn = http
            .serve_connection(io, TowerToHyperService::new(service))
            .with_upgrades();
        let mut stopping = stopping_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let _open = open;
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(error = %e, %peer, "connection ended with an error");
                    }
                    return;
                }
                _ = stopping.wait_for(|s| *s) => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    drop(open_rx);
    open_tx.closed().await;
}

/// A connection over a limit: closed unread; logged at most once a second.
fn refused(peer: SocketAddr, why: &'static str) {
    static LOGGED: crate::server::log_limit::Throttle = crate::server::log_limit::Throttle::new();
    if let Some(skipped) = LOGGED.allow() {
        tracing::info!(%peer, skipped, "connection refused: {why}");
    }
}
