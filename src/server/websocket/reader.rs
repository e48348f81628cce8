//! The reading half: bytes from the client → whole messages and control frames.
//!
//! Reassembles fragmented messages, unmasks, checks UTF-8 once per whole text message,
//! and refuses a message over the size limit as soon as its header says so (nothing of
//! it is buffered). Bytes are read into a buffer on the stack and kept only while a frame
//! is incomplete: a connection waiting for its client holds no read buffer at all.

use super::frame::{self, OpCode};
use super::SocketError;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use bytes::{Buf, BytesMut};
use futures::Stream;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// Bytes taken from the socket per read (on the stack of the poll, not in the reader).
const READ_CHUNK: usize = 4096;

/// A stream of the client's messages over `R`.
pub struct FrameReader<R> {
    io: R,
    /// Read and not yet made into a frame: empty (unallocated) between frames.
    buf: BytesMut,
    /// The fragments so far of a message not yet finished.
    partial: Option<(OpCode, BytesMut)>,
    max_message: usize,
    /// A close frame, an error or the end of the stream was seen: nothing follows.
    done: bool,
}

impl<R> FrameReader<R> {
    /// Reads messages of at most `max_message` bytes from `io`.
    pub fn new(io: R, max_message: usize) -> Self {
        Self {
            io,
            buf: BytesMut::new(),
            partial: None,
            max_message,
            done: false,
        }
    }

    /// The next whole message or control frame in `buf`, if it is all there.
    fn next_in_buffer(&mut self) -> Result<Option<Message>, SocketError> {
        loop {
            let Some(h) = frame::parse_client_header(&self.buf)? else {
                return Ok(None);
            };
            let so_far = match (&self.partial, h.opcode.is_control()) {
                (Some((_, data)), false) => data.len(),
                _ => 0,
            };
            let len = usize::try_from(h.len)
                .ok()
                .filter(|len| so_far.saturating_add(*len) <= self.max_message)
                .ok_or(SocketError::TooBig {
                    limit: self.max_message,
                })?;
            let whole = h.header_len + len;
            if self.buf.len() < whole {
                self.buf.reserve(whole - self.buf.len());
                return Ok(None);
            }
            self.buf.advance(h.header_len);
            let mut payload = self.buf.split_to(len);
            frame::unmask(&mut payload, h.mask);
            if self.buf.is_empty() {
                // Give the allocation back (the payload keeps what it shares of it).
                self.buf = BytesMut::new();
            }
            match (h.opcode, self.partial.take()) {
                (OpCode::Ping, partial) => {
                    self.partial = partial;
                    return Ok(Some(Message::Ping(payload.freeze())));
                }
                (OpCode::Pong, partial) => {
                    self.partial = partial;
                    return Ok(Some(Message::Pong(payload.freeze())));
                }
                (OpCode::Close, _) => return close_frame(payload).map(Some),
                (OpCode::Text | OpCode::Binary, Some(_)) => {
                    return Err(SocketError::Protocol(
                        "a new message inside a fragmented one",
                    ))
                }
                (OpCode::Text | OpCode::Binary, None) if h.fin => {
                    return whole_message(h.opcode, payload).map(Some)
                }
                (OpCode::Text | OpCode::Binary, None) => self.partial = Some((h.opcode, payload)),
                (OpCode::Continuation, None) => {
                    return Err(SocketError::Protocol("a continuation with no message"))
                }
                (OpCode::Continuation, Some((opcode, mut data))) => {
                    data.extend_from_slice(&payload);
                    if h.fin {
                        return whole_message(opcode, data).map(Some);
                    }
                    self.partial = Some((opcode, data));
                }
            }
        }
    }
}

fn whole_message(opcode: OpCode, data: BytesMut) -> Result<Message, SocketError> {
    if opcode == OpCode::Binary {
        return Ok(Message::Binary(data.freeze()));
    }
    Utf8Bytes::try_from(data.freeze())
        .map(Message::Text)
        .map_err(|_| SocketError::InvalidUtf8)
}

/// A close frame's payload: nothing, or a code the wire allows and a UTF-8 reason.
fn close_frame(payload: BytesMut) -> Result<Message, SocketError> {
    match payload.len() {
        0 => Ok(Message::Close(None)),
        1 => Err(SocketError::Protocol("a one-byte close frame")),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            if !frame::close_code_allowed(code) {
                return Err(SocketError::Protocol(
                    "a close code not allowed on the wire",
                ));
            }
            let reason = Utf8Bytes::try_from(payload.freeze().slice(2..))
                .map_err(|_| SocketError::InvalidUtf8)?;
            Ok(Message::Close(Some(CloseFrame { code, reason })))
        }
    }
}

impl<R: AsyncRead + Unpin> Stream for FrameReader<R> {
    type Item = Result<Message, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.next_in_buffer() {
                Ok(Some(msg)) => {
                    this.done = matches!(msg, Message::Close(_));
                    return Poll::Ready(Some(Ok(msg)));
                }
                Ok(None) => {}
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(axum::Error::new(e))));
                }
            }
            let mut chunk = [0u8; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            if let Err(e) = ready!(Pin::new(&mut this.io).poll_read(cx, &mut read)) {
                this.done = true;
                return Poll::Ready(Some(Err(axum::Error::new(SocketError::Io(e)))));
            }
            if read.filled().is_empty() {
                // The peer closed TCP without a close frame (or mid-frame).
                this.done = true;
                return Poll::Ready(None);
            }
            this.buf.extend_from_slice(read.filled());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;

    /// A client frame, masked.
    fn client(first: u8, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() <= 0xFFFF);
        let mut out = vec![first];
        if payload.len() < 126 {
            out.push(0x80 | payload.len() as u8);
        } else {
            out.push(0x80 | 126);
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        let mask = [0x12, 0x34, 0x56, 0x78];
        out.extend_from_slice(&mask);
        let mut body = payload.to_vec();
        frame::unmask(&mut body, mask);
        out.extend_from_slice(&body);
        out
    }

    /// What a reader with a 1,000-byte limit makes of `wire`, written in pieces of
    /// `piece` bytes.
    async fn read_all(wire: Vec<u8>, piece: usize) -> Vec<Result<Message, String>> {
        let (mut tx, rx) = tokio::io::duplex(64);
        tokio::spawn(async move {
            for p in wire.chunks(piece) {
                if tx.write_all(p).await.is_err() {
                    return;
                }
            }
        });
        FrameReader::new(rx, 1_000)
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
            .await
    }

    fn text(s: &str) -> Result<Message, String> {
        Ok(Message::Text(s.into()))
    }

    #[tokio::test]
    async fn messages_come_whole_however_the_bytes_arrive() {
        let mut wire = client(0x81, b"first");
        wire.extend(client(0x01, b"sec"));
        wire.extend(client(0x89, b"p")); // a ping between fragments
        wire.extend(client(0x80, "ond ✓".as_bytes()));
        wire.extend(client(0x82, &[0, 1, 2]));
        wire.extend(client(0x88, &[0x03, 0xE8, b'b', b'y', b'e']));
        wire.extend(client(0x81, b"after the close: never read"));
        for piece in [1, 3, 7, 4096] {
            let got = read_all(wire.clone(), piece).await;
            assert_eq!(
                got,
                [
                    text("first"),
                    Ok(Message::Ping(bytes::Bytes::from_static(b"p"))),
                    text("second ✓"),
                    Ok(Message::Binary(bytes::Bytes::from_static(&[0, 1, 2]))),
                    Ok(Message::Close(Some(CloseFrame {
                        code: 1000,
                        reason: "bye".into()
                    }))),
                ],
                "pieces of {piece}"
            );
        }
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_refused_from_its_header() {
        // Only the header is sent: the reader must not wait for the payload.
        let header = client(0x81, &[b'x'; 1_001])[..8].to_vec();
        let got = read_all(header, 4096).await;
        assert_eq!(got.len(), 1);
        assert!(got[0].as_ref().unwrap_err().contains("over 1000 bytes"));
        // Fragments count together.
        let mut wire = client(0x01, &[b'x'; 600]);
        wire.extend(client(0x80, &[b'x'; 600]));
        assert!(read_all(wire, 4096).await[0].is_err());
    }

    #[tokio::test]
    async fn text_that_is_not_utf8_is_refused_even_when_split_inside_a_character() {
        let check = "é".as_bytes();
        let mut wire = client(0x01, &check[..1]);
        wire.extend(client(0x80, &check[1..]));
        assert_eq!(read_all(wire, 4096).await, [text("é")]);
        let got = read_all(client(0x81, &[0xFF, 0xFE]), 4096).await;
        assert!(got[0].as_ref().unwrap_err().contains("UTF-8"));
    }

    #[tokio::test]
    async fn fragments_out_of_order_are_protocol_errors() {
        let lone = client(0x80, b"x");
        assert!(read_all(lone, 4096).await[0].is_err());
        let mut interleaved = client(0x01, b"a");
        interleaved.extend(client(0x81, b"b"));
        assert!(read_all(interleaved, 4096).await[0].is_err());
        let bad_close = client(0x88, &[0x03, 0xED]); // 1005: reporting only
        assert!(read_all(bad_close, 4096).await[0].is_err());
    }

    #[tokio::test]
    async fn the_end_of_the_stream_mid_frame_ends_it_without_an_error() {
        let wire = client(0x81, b"cut short")[..8].to_vec();
        assert_eq!(read_all(wire, 4096).await, []);
    }
}
