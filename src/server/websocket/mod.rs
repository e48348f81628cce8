//! The server's WebSocket layer (RFC 6455): the upgrade handshake and the framing.
//!
//! Written here rather than taken from tungstenite (which axum's `ws` wraps) because the
//! product's fan-out lives on it: tungstenite copies every outgoing frame into a
//! per-connection write buffer that keeps the capacity of the largest frame it ever held,
//! so the bytes the hub encoded once for a whole room were copied once per member, and
//! one large frame left every member holding its size for good. Here a frame's payload is
//! the hub's shared `Bytes`, queued by reference and written with vectored writes; the
//! read side holds no buffer while it waits. What it leaves out on purpose: extensions
//! (permessage-deflate is never negotiated) and subprotocols (Chorus's protocol has
//! none). The accept key is computed by tungstenite's `derive_accept_key` (SHA-1 from a
//! well-kept crate).
//!
//! - [`frame`]: headers, masks, close codes (pure);
//! - [`reader`]: client bytes → messages ([`FrameReader`]);
//! - [`writer`]: messages → frames, zero-copy ([`FrameWriter`]);
//! - this file: the errors, the upgrade extractor, and the split of the upgraded stream.

pub mod frame;
pub mod reader;
pub mod writer;

pub use reader::FrameReader;
pub use writer::FrameWriter;

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio::io::{ReadHalf, WriteHalf};

/// Why a socket's bytes were refused, or failed. Each maps to the close code the session
/// ends with (see `session::End::read_failed`).
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// A message over the size limit (close 1009).
    #[error("a message over {limit} bytes")]
    TooBig {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A text message, or a close reason, that is not UTF-8 (close 1007).
    #[error("text that is not UTF-8")]
    InvalidUtf8,
    /// Bytes no correct client sends (close 1002).
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// A send after the close frame.
    #[error("the socket is closing")]
    Closed,
    /// The connection failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The socket a session runs on, once upgraded.
pub type Io = TokioIo<hyper::upgrade::Upgraded>;

/// The two halves of an upgraded socket.
pub type Halves = (FrameWriter<WriteHalf<Io>>, FrameReader<ReadHalf<Io>>);

/// Why an upgrade request was refused (before any response was sent).
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not a `GET`.
    #[error("a WebSocket upgrade must be a GET")]
    NotGet,
    /// `Connection` does not list `upgrade`, or `Upgrade` is not `websocket`.
    #[error("this is the WebSocket endpoint: send Connection: upgrade and Upgrade: websocket")]
    NotAnUpgrade,
    /// `Sec-WebSocket-Version` is not 13.
    #[error("WebSocket version 13 is required")]
    Version,
    /// No `Sec-WebSocket-Key`.
    #[error("the Sec-WebSocket-Key header is missing")]
    NoKey,
    /// The connection cannot be taken over (not HTTP/1.1).
    #[error("this connection cannot be upgraded")]
    NotUpgradable,
}

impl IntoResponse for HandshakeError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::NotGet => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotUpgradable => StatusCode::UPGRADE_REQUIRED,
            Self::NotAnUpgrade | Self::Version | Self::NoKey => StatusCode::BAD_REQUEST,
        };
        let mut response = (status, self.to_string()).into_response();
        if self == Self::Version {
            response.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
        }
        response
    }
}

/// A checked upgrade request: the handler decides whether to accept it.
pub struct WebSocketUpgrade {
    key: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = HandshakeError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let key = check_request(&parts.method, &parts.headers)?;
        let on_upgrade = parts
            .extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or(HandshakeError::NotUpgradable)?;
        Ok(Self { key, on_upgrade })
    }
}

/// The RFC 6455 §4.2.1 checks of an opening handshake; gives the client's key.
fn check_request(method: &Method, headers: &HeaderMap) -> Result<HeaderValue, HandshakeError> {
    if method != Method::GET {
        return Err(HandshakeError::NotGet);
    }
    let lists = |name, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !lists(header::CONNECTION, "upgrade") || !lists(header::UPGRADE, "websocket") {
        return Err(HandshakeError::NotAnUpgrade);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(HandshakeError::Version);
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .cloned()
        .ok_or(HandshakeError::NoKey)
}

impl WebSocketUpgrade {
    /// Accepts: answers 101 and, once the connection is handed over, runs `serve` on
    /// its two halves (messages of at most `max_message` bytes) in a task of its own.
    pub fn on_upgrade<F, Fut>(self, max_message: usize, serve: F) -> Response
    where
        F: FnOnce(Halves) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = tungstenite::handshake::derive_accept_key(self.key.as_bytes());
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => serve(split(TokioIo::new(upgraded), max_message)).await,
                Err(e) => tracing::debug!(error = %e, "upgrade failed"),
            }
        });
        let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}

/// The writer and the reader over one upgraded connection. Both halves are used by the
/// one session task, so tokio's split lock is never contended.
pub fn split(io: Io, max_message: usize) -> Halves {
    let (read, write) = tokio::io::split(io);
    (FrameWriter::new(write), FrameReader::new(read, max_message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    const GOOD: [(&str, &str); 4] = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn a_browser_handshake_is_accepted_with_the_rfc_key() {
        let key = check_request(&Method::GET, &headers(&GOOD)).unwrap();
        // RFC 6455 §1.3's example.
        assert_eq!(
            tungstenite::handshake::derive_accept_key(key.as_bytes()),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn each_missing_part_has_its_own_refusal() {
        assert_eq!(
            check_request(&Method::POST, &headers(&GOOD)),
            Err(HandshakeError::NotGet)
        );
        let without = |skip: &str| {
            let pairs: Vec<_> = GOOD.iter().copied().filter(|(k, _)| *k != skip).collect();
            check_request(&Method::GET, &headers(&pairs))
        };
        assert_eq!(without("connection"), Err(HandshakeError::NotAnUpgrade));
        assert_eq!(without("upgrade"), Err(HandshakeError::NotAnUpgrade));
        assert_eq!(
            without("sec-websocket-version"),
            Err(HandshakeError::Version)
        );
        assert_eq!(without("sec-websocket-key"), Err(HandshakeError::NoKey));
        let version = HandshakeError::Version.into_response();
        assert_eq!(version.status(), StatusCode::BAD_REQUEST);
        assert_eq!(version.headers()[header::SEC_WEBSOCKET_VERSION], "13");
    }
}
