//! What the driver asks of the browser side, the timers it sets, and its timings.

use crate::client::timeline::Edit;
use crate::client::ConnStatus;
use crate::protocol::{ClientFrame, Emoji, UserName};
use std::collections::BTreeMap;

/// First reconnect delay, doubled per failed attempt up to [`MAX_BACKOFF_MS`].
pub const BASE_BACKOFF_MS: f64 = 500.0;
/// Longest wait between reconnect attempts: a server back after an outage has every page
/// live again within this (the "Reconnect now" button skips it), while the pages it
/// dropped together come back spread over half of it to all of it (the jitter).
pub const MAX_BACKOFF_MS: f64 = 5_000.0;
/// Spacing of refused messages' retries after the first.
pub const RETRY_PACE_MS: f64 = 250.0;
/// How long a liveness ping may go unanswered before the socket is taken for dead.
pub const PONG_DEADLINE_MS: f64 = 4_000.0;

/// What the browser side must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send this frame on the open socket.
    Send(ClientFrame),
    /// Open a new socket (its open or close event comes back to the driver; a socket that
    /// cannot even be made counts as closed).
    Connect,
    /// Ask the socket to close; its close event follows.
    CloseSocket,
    /// The connection's identity ended (4001): get a fresh one. On the site's pages that
    /// is a reload, which renders the page for whoever is signed in now (a guest after a
    /// sign-out), instead of reconnecting as someone the server no longer knows.
    Reauthenticate,
    /// Forget the socket now: detach its handlers and close it, no close event follows.
    /// The socket is taken for broken: every other room it carried hears it closed.
    DropSocket,
    /// This room is done with the socket (after its `leave`), which stays open while it
    /// carries other rooms; no close event follows.
    Detach,
    /// Call [`super::Driver::on_timer`] with [`Timer::Reconnect`] after this many milliseconds,
    /// replacing any reconnect timer already set.
    ReconnectIn(f64),
    /// Cancel the reconnect timer.
    CancelReconnect,
    /// Call [`super::Driver::on_timer`] with [`Timer::Retry`] after this many milliseconds.
    RetryIn(f64),
    /// Call [`super::Driver::on_timer`] with [`Timer::PongDeadline`] after this many milliseconds.
    PongDeadlineIn(f64),
    /// Show this connection state.
    Status(ConnStatus),
    /// Show who is here.
    Presence {
        /// Open connections.
        online: u32,
        /// The first distinct names (all of them in a small room).
        members: Vec<UserName>,
        /// How many distinct names there are.
        total: u32,
    },
    /// A page of the whole member list (the reader's member search asked for it).
    Roster {
        /// Names, sorted, after the previous page's.
        names: Vec<UserName>,
        /// The first page: it replaces what was fetched before.
        first: bool,
        /// No more pages follow: the list is the room's whole.
        complete: bool,
    },
    /// Show (or, with `None`, clear) a problem that belongs to no message.
    Notice(Option<String>),
    /// Whether older history can be loaded.
    HasMore(bool),
    /// Change the message list.
    Timeline(Edit),
    /// Who reacted to message `seq` (the answer to a `reactors` the page asked for).
    Reactors {
        /// The message.
        seq: u64,
        /// Per emoji, the first names.
        by: BTreeMap<Emoji, Vec<UserName>>,
        /// The emoji this reader reacts with.
        mine: Vec<Emoji>,
    },
    /// An embedded page: ask the embedding page for a token, as request number `n`; its
    /// answer goes to [`super::Driver::on_token`].
    RequestToken(u64),
    /// Call [`super::Driver::on_timer`] with [`Timer::Token`]`(n)` after this many
    /// milliseconds (only the newest such timer counts; older ones may still fire).
    TokenTimerIn(u64, f64),
    /// The server took a token: the connection speaks as this name (`None`: it reads as
    /// a guest, for want of a token).
    SignedIn(Option<UserName>),
}

/// The driver's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Time to reconnect.
    Reconnect,
    /// Time to re-send the oldest refused message.
    Retry,
    /// The liveness ping's answer is due.
    PongDeadline,
    /// A token request's answer is due, or a token is due for refresh (see [`super::token`]).
    Token(u64),
}

/// The wait before reconnect attempt `attempt` (0 first): doubling from
/// [`BASE_BACKOFF_MS`], capped at [`MAX_BACKOFF_MS`], then scaled by a jitter between
/// 0.5 and 1 (`random` in `[0, 1)`) so clients a server dropped together do not all come
/// back in the same instant.
pub fn backoff_ms(attempt: u32, random: f64) -> f64 {
    let exp = BASE_BACKOFF_MS * 2f64.powi(attempt.min(10) as i32);
    exp.min(MAX_BACKOFF_MS) * (0.5 + random.clamp(0.0, 1.0) * 0.5)
}
