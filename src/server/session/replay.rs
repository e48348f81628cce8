//! The replay after a resuming `join`: what the client missed, streamed page by page, so
//! one connection holds at most [`REPLAY_PAGE`] messages in memory for it.

use super::{End, FrameSink, Session, Turn};
use crate::protocol::{Close, Message, RoomName, ServerFrame};
use crate::server::metrics;
use axum::extract::ws::Message as WsMessage;
use futures::SinkExt;

/// Messages read from the store per query during a replay.
pub(super) const REPLAY_PAGE: usize = 500;
/// The most bytes of bodies one replay page holds: what a connection whose client stopped
/// reading can pin, besides its socket's buffers.
pub(super) const REPLAY_PAGE_BYTES: usize = 64 * 1024;

/// A replay to send after `joined`: the first page, already read (it decided
/// `recovered`), then the rest of `after < seq < until`, read a page at a time.
pub(super) struct ReplayRest {
    pub(super) room: RoomName,
    pub(super) first: Vec<Message>,
    pub(super) until: u64,
}

impl Session {
    /// Sends a replay page by page, skipping what this connection was sent already.
    pub(super) async fn stream_replay<Si: FrameSink>(
        &mut self,
        rest: ReplayRest,
        sink: &mut Si,
    ) -> Turn {
        let ReplayRest {
            room,
            first: mut page,
            until,
        } = rest;
        loop {
            let Some(after) = page.last().map(|m| m.seq) else {
                return Ok(());
            };
            // One page, one flush, within the stall timeout: the next page is read only
            // once this one has left, and a client that stops reading is let go instead
            // of holding its page until the idle timeout.
            let rooms = &mut self.rooms;
            let drained = tokio::time::timeout(self.cfg.replay_stall, async {
                let mut sent = 0;
                for m in page {
                    let Some(joined) = rooms.get_mut(&room) else {
                        break;
                    };
                    if m.seq > joined.last_sent {
                        joined.last_sent = m.seq;
                        sent += 1;
                        let json = ServerFrame::Message(m).to_json();
                        sink.feed(WsMessage::Text(json.into()))
                            .await
                            .map_err(End::gone)?;
                    }
                }
                metrics::messages_sent(sent);
                sink.flush().await.map_err(End::gone)
            })
            .await;
            match drained {
                Ok(written) => written?,
                Err(_) => {
                    metrics::slow_consumer_closed();
                    return Err(End::Close(Close::SlowConsumer));
                }
            }
            if !self.rooms.contains_key(&room) {
                return Ok(());
            }
            if after + 1 >= until {
                return Ok(());
            }
            page = match self
                .hub
                .replay(&room, after, until, REPLAY_PAGE, REPLAY_PAGE_BYTES)
                .await
            {
                Ok(next) if next.complete => next.messages,
                // `joined` promised a complete replay: better a reconnect than a gap.
                Ok(_) => return Err(End::Close(Close::ReplayFailed)),
                Err(e) => {
                    tracing::warn!(error = %e.report(), room = %room.as_str(), "replay cut short");
                    return Err(End::Close(Close::ReplayFailed));
                }
            };
        }
    }
}
