//! Lingering close: a connection the server is done with is not dropped with the peer's
//! bytes still unread.
//!
//! Closing a TCP socket whose receive buffer holds unread data makes the kernel send a
//! reset instead of a FIN, and a reset makes the peer's kernel throw away what it had
//! received but not yet handed to the program: the last response, or the WebSocket close
//! frame that says why (a client sending a frame over 64 KiB is still sending when the
//! server closes with 1009, and saw only a reset). So when a connection is dropped,
//! [`Lingering`] sends a FIN (the peer reads everything, then end of stream) and reads and
//! discards what the peer still sends, until it closes too, for at most [`LINGER_TIME`]
//! and [`LINGER_BYTES`], as nginx's `lingering_close` does. The connection's slots under
//! the connection caps are held until then, so lingering sockets stay within the caps.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Longest a closed connection waits for the peer to close its side.
pub const LINGER_TIME: Duration = Duration::from_secs(2);

/// Most bytes read and discarded while lingering.
pub const LINGER_BYTES: usize = 256 * 1024;

/// A TCP stream that lingers when dropped, holding `held` (the connection's slots) until
/// it is really closed.
pub struct Lingering<H: Send + Unpin + 'static> {
    tcp: Option<TcpStream>,
    held: Option<H>,
}

impl<H: Send + Unpin + 'static> Lingering<H> {
    /// Wraps `tcp`; `held` is dropped when the socket is finally closed.
    pub fn new(tcp: TcpStream, held: H) -> Self {
        Self {
            tcp: Some(tcp),
            held: Some(held),
        }
    }

    /// Runs `f` on the stream (taken only in `drop`, so always here while in use).
    fn with<T>(
        &mut self,
        f: impl FnOnce(Pin<&mut TcpStream>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match self.tcp.as_mut() {
            Some(tcp) => f(Pin::new(tcp)),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
}

impl<H: Send + Unpin + 'static> Drop for Lingering<H> {
    fn drop(&mut self) {
        let (Some(tcp), held) = (self.tcp.take(), self.held.take()) else {
            return;
        };
        // Outside a runtime (shutdown) there is nobody to linger: plain close.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _held = held;
                let _ = tokio::time::timeout(LINGER_TIME, linger(tcp)).await;
            });
        }
    }
}

/// FIN, then read until the peer's end of stream (or the byte budget).
async fn linger(mut tcp: TcpStream) {
    let _ = tcp.shutdown().await;
    let mut buf = [0u8; 4096];
    let mut left = LINGER_BYTES;
    while left > 0 {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

impl<H: Send + Unpin + 'static> AsyncRead for Lingering<H> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().with(|t| t.poll_read(cx, buf))
    }
}

impl<H: Send + Unpin + 'static> AsyncWrite for Lingering<H> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().with(|t| t.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().with(|t| t.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.as_ref().is_some_and(|t| t.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().with(|t| t.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().with(|t| t.poll_shutdown(cx))
    }
}
