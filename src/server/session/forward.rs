//! What the hub queued for the connection, to the socket: in batches with one flush,
//! skipping what the client has already been sent (by a replay) or no longer wants (a
//! room it left).

use super::{End, FrameSink, Session, Turn};
use crate::protocol::Close;
use crate::server::hub::Outbound;
use crate::server::metrics;
use crate::server::outbox::Inbox;
use axum::extract::ws::Message as WsMessage;
use futures::SinkExt;

/// Frames taken from the queue per wake-up and written with one flush: under load a
/// connection's frames leave in a few large writes instead of one syscall each. Bounded,
/// so the session still reads its client and answers pings between batches.
pub(super) const FORWARD_BATCH: usize = 64;

impl Session {
    /// Writes `first` and whatever else is already queued (up to [`FORWARD_BATCH`]),
    /// then flushes once.
    pub(super) async fn forward_batch<Si: FrameSink>(
        &mut self,
        first: Outbound,
        rx: &mut Inbox<Outbound>,
        sink: &mut Si,
    ) -> Turn {
        let mut messages = self.forward(first, sink).await?;
        messages += self.forward_queued(FORWARD_BATCH - 1, rx, sink).await?;
        metrics::messages_sent(messages);
        sink.flush().await.map_err(End::gone)
    }

    /// Queues on the socket (unflushed) up to `max` frames the hub has already queued
    /// for this connection; returns how many were `message` frames.
    pub(super) async fn forward_queued<Si: FrameSink>(
        &mut self,
        max: usize,
        rx: &mut Inbox<Outbound>,
        sink: &mut Si,
    ) -> Result<u64, End> {
        let mut messages = 0;
        for _ in 0..max {
            let Some(out) = rx.try_recv() else { break };
            messages += self.forward(out, sink).await?;
        }
        Ok(messages)
    }

    /// After forwarding: a joined room's history was reset, so the connection closes
    /// with 1012 and the client rejoins.
    pub(super) fn unless_restarted(&self) -> Turn {
        if self.restart {
            Err(End::Close(Close::HistoryReset))
        } else {
            Ok(())
        }
    }

    /// Queues a frame on the socket (unflushed), unless it is for a room since left or
    /// already sent. Returns how many `message` frames it queued (0 or 1).
    async fn forward<Si: FrameSink>(&mut self, out: Outbound, sink: &mut Si) -> Result<u64, End> {
        match out {
            Outbound::Message(d) => {
                let Some(joined) = self.rooms.get_mut(&d.room) else {
                    return Ok(0);
                };
                if d.seq <= joined.last_sent {
                    return Ok(0);
                }
                joined.last_sent = d.seq;
                sink.feed(WsMessage::Text(d.frame.clone()))
                    .await
                    .map_err(End::gone)?;
                Ok(1)
            }
            Outbound::Presence(p) | Outbound::Notice(p) => {
                if self.rooms.contains_key(&p.room) {
                    sink.feed(WsMessage::Text(p.frame.clone()))
                        .await
                        .map_err(End::gone)?;
                }
                Ok(0)
            }
            Outbound::Evicted(e) => {
                if self.rooms.remove(&e.room).is_some() {
                    self.hub.leave(self.conn.id(), &e.room);
                    self.record_rooms();
                    let left = crate::protocol::ServerFrame::Left {
                        room: e.room.clone(),
                        reason: Some(e.reason),
                    };
                    sink.feed(WsMessage::Text(left.to_json().into()))
                        .await
                        .map_err(End::gone)?;
                }
                Ok(0)
            }
            Outbound::Muted(m) => {
                if let Some(joined) = self.rooms.get_mut(&m.room) {
                    joined.muted = Some(m.until.map_or(
                        crate::server::moderation::Until::Forever,
                        crate::server::moderation::Until::At,
                    ));
                }
                Ok(0)
            }
            Outbound::Disconnect => Err(End::Close(Close::Disconnected)),
            Outbound::Restart(room) => {
                self.restart |=
                    self.rooms.contains_key(&room) || self.joining.as_ref() == Some(&room);
                Ok(0)
            }
        }
    }
}
