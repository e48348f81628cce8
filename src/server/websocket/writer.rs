//! The writing half: messages → frames on the socket, without copying their payloads.
//!
//! A frame is its header (2–10 bytes, computed here) and its payload, which is the
//! `Bytes` the hub encoded once for every member of the room: queued by reference
//! count, written with vectored writes (one syscall for a whole batch of frames), never
//! copied into a per-connection buffer. The queue holds pointers only and gives its
//! memory back once flushed, so one large frame leaves nothing behind (tungstenite's
//! write buffer kept the capacity of the largest frame it ever held, per connection).

use super::frame::{self, OpCode, MAX_CONTROL_PAYLOAD, MAX_SERVER_HEADER};
use super::SocketError;
use axum::extract::ws::Message;
use bytes::Bytes;
use futures::Sink;
use std::collections::VecDeque;
use std::io::IoSlice;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::AsyncWrite;

/// Queued bytes past which `poll_ready` writes before taking another frame: a batch
/// leaves in a few large writes, and a client that stops reading holds at most this
/// much here (plus what the kernel's socket buffer took).
const HIGH_WATER: usize = 64 * 1024;

/// Frames per vectored write (two slices each).
const FRAMES_PER_WRITE: usize = 32;

/// Queue slots kept after a flush; a burst's larger queue is given back.
const KEEP_SLOTS: usize = 8;

/// One frame waiting to be written.
struct Pending {
    header: [u8; MAX_SERVER_HEADER],
    header_len: u8,
    payload: Bytes,
    /// Bytes of header + payload already written.
    written: usize,
}

impl Pending {
    fn len(&self) -> usize {
        usize::from(self.header_len) + self.payload.len()
    }

    /// What is left to write, as up to two slices.
    fn slices(&self) -> [&[u8]; 2] {
        let head = usize::from(self.header_len);
        if self.written < head {
            [&self.header[self.written..head], &self.payload[..]]
        } else {
            [&[], &self.payload[self.written - head..]]
        }
    }
}

/// A sink of messages onto `W`.
pub struct FrameWriter<W> {
    io: W,
    queue: VecDeque<Pending>,
    /// Bytes queued and not yet written.
    queued: usize,
    /// A close frame was queued: nothing more may be.
    closed: bool,
}

impl<W> FrameWriter<W> {
    /// Writes frames onto `io`.
    pub fn new(io: W) -> Self {
        Self {
            io,
            queue: VecDeque::new(),
            queued: 0,
            closed: false,
        }
    }
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    /// Writes queued frames until none is left.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        while !self.queue.is_empty() {
            ready!(self.poll_write_some(cx, 0))?;
        }
        if self.queue.capacity() > KEEP_SLOTS {
            self.queue = VecDeque::new();
        }
        Poll::Ready(Ok(()))
    }

    /// One write of what is queued, until at most `until` bytes are left.
    fn poll_write_some(
        &mut self,
        cx: &mut Context<'_>,
        until: usize,
    ) -> Poll<Result<(), SocketError>> {
        while self.queued > until {
            let n = if self.io.is_write_vectored() {
                let mut slices = [IoSlice::new(&[]); 2 * FRAMES_PER_WRITE];
                let mut used = 0;
                for p in self.queue.iter().take(FRAMES_PER_WRITE) {
                    for s in p.slices() {
                        if !s.is_empty() {
                            slices[used] = IoSlice::new(s);
                            used += 1;
                        }
                    }
                }
                ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..used]))?
            } else {
                // A stream without vectored writes: one copy into a batch, not one
                // syscall per header and per payload.
                let mut batch = Vec::with_capacity(self.queued.min(HIGH_WATER));
                for p in &self.queue {
                    if batch.len() >= HIGH_WATER {
                        break;
                    }
                    let [a, b] = p.slices();
                    batch.extend_from_slice(a);
                    batch.extend_from_slice(b);
                }
                ready!(Pin::new(&mut self.io).poll_write(cx, &batch))?
            };
            if n == 0 {
                return Poll::Ready(Err(SocketError::Io(std::io::ErrorKind::WriteZero.into())));
            }
            self.advance(n);
        }
        Poll::Ready(Ok(()))
    }

    /// Marks `n` bytes written, dropping the frames that are done.
    fn advance(&mut self, mut n: usize) {
        self.queued -= n;
        while n > 0 {
            let Some(front) = self.queue.front_mut() else {
                return;
            };
            let left = front.len() - front.written;
            if n < left {
                front.written += n;
                return;
            }
            n -= left;
            self.queue.pop_front();
        }
    }
}

/// A message as the frame that carries it.
fn framed(msg: Message) -> Result<(OpCode, Bytes), SocketError> {
    let control = |op, payload: Bytes| {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            Err(SocketError::Protocol("a control frame over 125 bytes"))
        } else {
            Ok((op, payload))
        }
    };
    match msg {
        Message::Text(text) => Ok((OpCode::Text, Bytes::from(text))),
        Message::Binary(data) => Ok((OpCode::Binary, data)),
        Message::Ping(data) => control(OpCode::Ping, data),
        Message::Pong(data) => control(OpCode::Pong, data),
        Message::Close(None) => Ok((OpCode::Close, Bytes::new())),
        Message::Close(Some(c)) => {
            let mut payload = c.code.to_be_bytes().to_vec();
            let reason = c.reason.as_str();
            let mut cut = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            payload.extend_from_slice(&reason.as_bytes()[..cut]);
            Ok((OpCode::Close, payload.into()))
        }
    }
}

impl<W: AsyncWrite + Unpin> Sink<Message> for FrameWriter<W> {
    type Error = axum::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = &mut *self;
        if this.queued >= HIGH_WATER {
            ready!(this.poll_write_some(cx, HIGH_WATER / 2)).map_err(axum::Error::new)?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(mut self: Pin<&mut Self>, msg: Message) -> Result<(), Self::Error> {
        if self.closed {
            return Err(axum::Error::new(SocketError::Closed));
        }
        let (opcode, payload) = framed(msg).map_err(axum::Error::new)?;
        self.closed = opcode == OpCode::Close;
        let (header, header_len) = frame::server_header(opcode, payload.len());
        let p = Pending {
            header,
            header_len,
            payload,
            written: 0,
        };
        self.queued += p.len();
        self.queue.push_back(p);
        Ok(())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx)).map_err(axum::Error::new)?;
        Pin::new(&mut this.io)
            .poll_flush(cx)
            .map_err(|e| axum::Error::new(SocketError::Io(e)))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.io)
            .poll_shutdown(cx)
            .map_err(|e| axum::Error::new(SocketError::Io(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ws::CloseFrame;
    use futures::SinkExt;
    use tokio::io::AsyncReadExt;

    async fn written(msgs: Vec<Message>) -> Vec<u8> {
        let (tx, mut rx) = tokio::io::duplex(16); // small: writes come in many pieces
        let writer = tokio::spawn(async move {
            let mut w = FrameWriter::new(tx);
            for m in msgs {
                w.feed(m).await.unwrap();
            }
            w.close().await.unwrap();
            (w.queue.capacity(), w.queued)
        });
        let mut out = Vec::new();
        rx.read_to_end(&mut out).await.unwrap();
        let (slots, queued) = writer.await.unwrap();
        assert!(
            slots <= KEEP_SLOTS && queued == 0,
            "nothing kept after the flush"
        );
        out
    }

    #[tokio::test]
    async fn frames_are_written_whole_and_in_order() {
        let big = "x".repeat(300);
        let out = written(vec![
            Message::Text("hi".into()),
            Message::Text(big.clone().into()),
            Message::Pong(Bytes::from_static(b"p")),
            Message::Close(Some(CloseFrame {
                code: 4008,
                reason: "slow".into(),
            })),
        ])
        .await;
        let mut want = vec![0x81, 2, b'h', b'i', 0x81, 126, 1, 44];
        want.extend_from_slice(big.as_bytes());
        want.extend_from_slice(&[0x8A, 1, b'p', 0x88, 6, 0x0F, 0xA8]);
        want.extend_from_slice(b"slow");
        assert_eq!(out, want);
    }

    #[tokio::test]
    async fn nothing_is_sent_after_a_close_and_long_reasons_are_cut_at_a_character() {
        let (tx, _rx) = tokio::io::duplex(1 << 16);
        let mut w = FrameWriter::new(tx);
        let reason = "é".repeat(100); // 200 bytes
        w.feed(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: reason.into(),
        })))
        .await
        .unwrap();
        assert_eq!(w.queued, 2 + 2 + 122, "cut to 122 bytes of reason, not 123");
        assert!(w.feed(Message::Text("late".into())).await.is_err());
    }

    #[tokio::test]
    async fn a_large_burst_gives_its_queue_back() {
        let (tx, mut rx) = tokio::io::duplex(1 << 20);
        let reader = tokio::spawn(async move {
            let mut sink = Vec::new();
            rx.read_to_end(&mut sink).await.unwrap();
            sink.len()
        });
        let mut w = FrameWriter::new(tx);
        let shared = Bytes::from(vec![b'm'; 100]);
        for _ in 0..1_000 {
            w.feed(Message::Binary(shared.clone())).await.unwrap();
        }
        w.flush().await.unwrap();
        assert_eq!(w.queue.capacity(), 0);
        drop(w);
        assert_eq!(reader.await.unwrap(), 1_000 * 102);
    }
}
