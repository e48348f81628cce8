//! A TCP stream that gives up on a peer that stops making progress.
//!
//! Every connection (plain HTTP and WebSocket alike) is wrapped in [`IdleTimeout`]: when a
//! read or a write has waited for longer than the idle timeout since the last byte moved
//! in either direction, it fails with `TimedOut` and the connection is closed. That ends
//! idle keep-alive connections, half-sent bodies and responses nobody reads, which would
//! otherwise each hold a descriptor and their buffers forever. A live WebSocket is never
//! idle this long: the server pings every `--ping-secs`.
//!
//! Slow trickles of bytes do count as progress; the header-read timeout (see
//! [`super::listener`]) is what bounds a request's headers as a whole.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// `inner`, failing reads and writes that wait past `idle` without any progress.
pub struct IdleTimeout<T> {
    inner: T,
    idle: Duration,
    /// When a byte last moved, either way.
    last: Instant,
    /// Made on the first wait (a connection that never waits needs none).
    timer: Option<Pin<Box<Sleep>>>,
}

impl<T> IdleTimeout<T> {
    /// Wraps `inner` with an idle timeout of `idle`.
    pub fn new(inner: T, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            last: Instant::now(),
            timer: None,
        }
    }

    fn progressed(&mut self) {
        self.last = Instant::now();
    }

    /// What a write of the inner stream did: progress on bytes written, the timeout
    /// check while it waits.
    fn wrote(
        &mut self,
        written: Poll<io::Result<usize>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.progressed();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.check(cx).map(|r| r.map(|()| 0)),
        }
    }

    /// A read or write is waiting: `Ready(Err)` once it has waited too long.
    fn check(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let deadline = self.last + self.idle;
            let timer = self
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            match timer.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if Instant::now() >= self.last + self.idle => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no progress within the idle timeout",
                    )))
                }
                // Progress was made meanwhile: wait for the new deadline.
                Poll::Ready(()) => continue,
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.progressed();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.check(cx),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.wrote(written, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.wrote(written, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.check(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Pending => this.check(cx),
            ready => ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_times_out_and_a_talking_one_does_not() {
        let (near, mut far) = tokio::io::duplex(64);
        let mut io = IdleTimeout::new(near, Duration::from_secs(10));
        let mut buf = [0u8; 8];
        // Bytes every 6 s keep it open past the 10 s.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(6)).await;
            far.write_all(b"x").await.unwrap();
            assert_eq!(io.read(&mut buf).await.unwrap(), 1);
        }
        let started = Instant::now();
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_nobody_reads_times_out() {
        let (near, _far) = tokio::io::duplex(16);
        let mut io = IdleTimeout::new(near, Duration::from_secs(5));
        let err = io.write_all(&[0u8; 1024]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
