//! What ends a session from outside its socket ([`Cut`]): overflow, shutdown, silence,
//! the identity's expiry or its sign-out.

use super::{End, Turn};
use crate::protocol::Close;
use crate::server::metrics;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::Instant;

/// What ends a session from outside its socket: overflow, server shutdown, or the peer's
/// silence past the idle timeout. Made once per session and polled on every turn (not
/// made anew per turn): registering a timer and two waiters for each forwarded frame was
/// most of what a delivery cost under fan-out.
pub(super) struct Cut<O, S> {
    pub(super) overflow: Pin<Box<O>>,
    pub(super) shutdown: Pin<Box<S>>,
    pub(super) idle: Pin<Box<tokio::time::Sleep>>,
    pub(super) idle_timeout: Duration,
    /// The identity's end, while the connection has one (made then: a guest's
    /// connection carries no timer for it).
    pub(super) expiry: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Resolves when the site session that authenticated the connection signs out.
    pub(super) revoked: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl<O: Future<Output = ()>, S: Future<Output = ()>> Cut<O, S> {
    /// Runs `work` (which may wait on a client that does not read) unless the connection
    /// is cut first.
    pub(super) async fn guard(&mut self, work: Pin<&mut impl Future<Output = Turn>>) -> Turn {
        tokio::select! {
            biased;
            _ = &mut self.overflow => {
                metrics::slow_consumer_closed();
                Err(End::Close(Close::SlowConsumer))
            }
            _ = &mut self.shutdown => Err(End::Close(Close::ServerRestart)),
            _ = &mut self.idle => Err(End::Close(Close::Idle)),
            _ = async { match &mut self.expiry { Some(s) => s.await, None => std::future::pending().await } } => {
                Err(End::Close(Close::Reauthenticate))
            }
            _ = &mut self.revoked => Err(End::Close(Close::Reauthenticate)),
            out = work => out,
        }
    }

    /// The identity now ends at `at` (`None`: the connection has none).
    pub(super) fn identity_ends(&mut self, at: Option<Instant>) {
        match (at, &mut self.expiry) {
            (None, _) => self.expiry = None,
            (Some(at), Some(s)) if s.deadline() != at => s.as_mut().reset(at),
            (Some(_), Some(_)) => {}
            (Some(at), None) => self.expiry = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }

    /// The peer was heard from at `at`: its idle deadline moves.
    pub(super) fn heard(&mut self, at: Instant) {
        let deadline = at + self.idle_timeout;
        if self.idle.deadline() != deadline {
            self.idle.as_mut().reset(deadline);
        }
    }
}
