//! Publishes handed to the hub and not yet answered.
//!
//! While publishes are in flight the session goes on reading this client's publishes (up
//! to [`MAX_IN_FLIGHT`]); any other frame waits until they are answered, so frames take
//! effect in the order sent. They reach the store in the order read and are answered in
//! that order; a publisher that pipelines gets its messages group-committed together
//! instead of one commit (and one scheduler round trip behind the room's fan-out) each.
//! The session keeps forwarding the room's traffic meanwhile: a client that pipelines
//! publishes into a busy room must not be cut as a slow consumer because its session sat
//! waiting for the disk.

use super::{End, FrameSink, Session, Turn};
use crate::protocol::{ClientFrame, ClientId, DecodeError, RoomName, ServerFrame};
use crate::server::hub::{Outbound, Published};
use crate::server::metrics;
use crate::server::outbox::Inbox;
use crate::server::refusal::Refusal;
use crate::server::store::StoreError;
use axum::extract::ws::Message as WsMessage;
use futures::{FutureExt, SinkExt};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use tokio::time::Instant;

/// Publishes of one connection that may wait for the store at once.
pub(super) const MAX_IN_FLIGHT: usize = 32;

/// A publish handed to the hub and not yet answered.
pub(super) struct Publishing {
    pub(super) room: RoomName,
    pub(super) client_id: ClientId,
    pub(super) started: Instant,
    pub(super) stored: Pin<Box<dyn Future<Output = Result<Published, StoreError>> + Send>>,
}

/// A decoded (or undecodable) client frame.
type Decoded = Result<ClientFrame, DecodeError>;

/// The publishes in flight, oldest first, and the one frame that waits for them.
#[derive(Default)]
pub(super) struct Pipeline {
    in_flight: VecDeque<Publishing>,
    /// A frame read while publishes were in flight that must wait for them.
    held: Option<Decoded>,
}

impl Pipeline {
    /// Whether any publish waits for the store.
    pub(super) fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Whether the session should read the client's next frame: nothing is held back,
    /// and there is room for one more publish.
    pub(super) fn reading(&self) -> bool {
        self.held.is_none() && self.in_flight.len() < MAX_IN_FLIGHT
    }

    /// Whether `frame` must wait for the publishes in flight (only publishes may pass).
    pub(super) fn must_wait(&self, frame: &Decoded) -> bool {
        self.busy() && !matches!(frame, Ok(ClientFrame::Publish { .. }))
    }

    /// Keeps `frame` until the publishes in flight are answered.
    pub(super) fn hold(&mut self, frame: Decoded) {
        self.held = Some(frame);
    }

    /// The held frame, once nothing is in flight any more.
    pub(super) fn release(&mut self) -> Option<Decoded> {
        if self.busy() {
            return None;
        }
        self.held.take()
    }

    /// Adds a publish just handed to the hub (if the frame started one).
    pub(super) fn extend(&mut self, started: Option<Publishing>) {
        self.in_flight.extend(started);
    }

    /// Resolves when the oldest publish in flight is stored (never, when there is none).
    pub(super) async fn settled(&mut self) -> Result<Published, StoreError> {
        match self.in_flight.front_mut() {
            Some(p) => p.stored.as_mut().await,
            None => std::future::pending().await,
        }
    }

    /// Takes the oldest publish (after [`Pipeline::settled`] said it is stored).
    fn pop(&mut self) -> Option<Publishing> {
        self.in_flight.pop_front()
    }

    /// Takes the oldest publish if it is settled too, with its outcome.
    fn pop_settled(&mut self) -> Option<(Publishing, Result<Published, StoreError>)> {
        let stored = self.in_flight.front_mut()?.stored.as_mut().now_or_never()?;
        self.in_flight.pop_front().map(|p| (p, stored))
    }
}

impl Session {
    /// The oldest publish in flight is stored: answers it, and then the frame that
    /// waited for the pipeline to drain, if it has.
    pub(super) async fn settled<Si: FrameSink>(
        &mut self,
        stored: Result<Published, StoreError>,
        pipeline: &mut Pipeline,
        rx: &mut Inbox<Outbound>,
        sink: &mut Si,
    ) -> Turn {
        if let Some(p) = pipeline.pop() {
            self.answer_settled(p, stored, pipeline, rx, sink).await?;
        }
        if let Some(frame) = pipeline.release() {
            let started = Box::pin(self.handle_decoded(frame, sink)).await?;
            pipeline.extend(started);
        }
        Ok(())
    }

    /// Answers a publish the store has settled, and every later one already settled too,
    /// then forwards what the room queued meanwhile (usually the publisher's own
    /// `message`: the hub hands it out before the publish settles) and flushes once. A
    /// publisher waiting for its ack gets ack and message in one write: one `sendto` per
    /// publish instead of two, which was half of the server's CPU under durable load.
    async fn answer_settled<Si: FrameSink>(
        &mut self,
        first: Publishing,
        stored: Result<Published, StoreError>,
        pipeline: &mut Pipeline,
        rx: &mut Inbox<Outbound>,
        sink: &mut Si,
    ) -> Turn {
        answer_publish(first, stored, sink).await?;
        while let Some((p, stored)) = pipeline.pop_settled() {
            answer_publish(p, stored, sink).await?;
        }
        let messages = self
            .forward_queued(super::forward::FORWARD_BATCH, rx, sink)
            .await?;
        metrics::messages_sent(messages);
        sink.flush().await.map_err(End::gone)?;
        self.unless_restarted()
    }
}

/// Queues the `ack` (or the refusal) of a publish on the socket, unflushed.
async fn answer_publish<Si: FrameSink>(
    p: Publishing,
    stored: Result<Published, StoreError>,
    sink: &mut Si,
) -> Turn {
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
        .map_err(End::gone)
}
