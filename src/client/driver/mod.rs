//! The browser socket's decisions, as a state machine with no browser in it.
//!
//! [`Driver`] hears what happens (the socket opened or closed, a frame arrived, a timer
//! fired, the network went or came back, the user typed) and answers with [`Effect`]s:
//! frames to send, sockets to open or drop, timers to set, changes to the view. The
//! browser side ([`super::socket`]) only carries them out against `web_sys`, so every rule
//! here runs in native unit tests:
//!
//! - it joins with `since` + `epoch` from what the view shows, so a reconnect replays
//!   exactly what was missed; on `recovered: false` it reloads the view from `history`
//!   (and a reconnect before that answer joins without `since`, starting over);
//! - unacked messages are re-sent with their original `client_id` after every join, so
//!   the server stores each once;
//! - messages refused for now (`rate_limited`, `unavailable`) are retried one at a time,
//!   paced by the server's `retry_after_ms` (else an exponential backoff), so refusals
//!   cannot snowball into a flood;
//! - reconnects back off exponentially with jitter, capped at [`MAX_BACKOFF_MS`], and the
//!   backoff resets once a join succeeds;
//! - offline, it waits for the network; back online or visible again, it reconnects at
//!   once, or checks an open-looking socket with a ping and replaces it when no pong
//!   comes within [`PONG_DEADLINE_MS`].

mod acts;
mod effect;
mod messages;
mod refusals;
mod roster;
mod token;

pub use acts::Act;
pub use effect::{
    backoff_ms, Effect, Timer, BASE_BACKOFF_MS, MAX_BACKOFF_MS, PONG_DEADLINE_MS, RETRY_PACE_MS,
};
pub use roster::ROSTER_MAX_PAGES;
pub use token::{refresh_margin_ms, STALE_MARGIN_MS, TOKEN_WAIT_MS};

use super::timeline::{Edit, Timeline};
use super::ConnStatus;
use crate::protocol::{ClientFrame, ClientId, Epoch, RoomName, ServerFrame, UserName};
use std::collections::VecDeque;

/// Where the socket stands, as far as the driver knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// No socket.
    None,
    /// Opening.
    Connecting,
    /// Open: frames can be sent.
    Open,
    /// Asked to close; its close event is awaited.
    Closing,
}

/// One room's connection logic (see the module doc).
pub struct Driver {
    room: RoomName,
    name: Option<UserName>,
    epoch: Option<Epoch>,
    link: Link,
    /// Failed attempts since the last successful join.
    attempt: u32,
    /// The page is done with the room: nothing more happens.
    closed: bool,
    /// After `recovered: false` (or from the start, when the page came without
    /// messages), until the `history` answer has (re)built the list.
    reloading: bool,
    /// Unacked messages the server refused for now, oldest first.
    refused: VecDeque<ClientId>,
    /// A retry timer is running.
    retry_scheduled: bool,
    /// Consecutive refusals without an ack: the backoff for retries without a hint.
    refusals: u32,
    /// The browser says there is no network.
    offline: bool,
    /// A liveness ping is out.
    awaiting_pong: bool,
    /// Where the next join resumes (taken when the socket opened).
    resume_from: Option<u64>,
    /// Randomness in `[0, 1)` for the reconnect jitter.
    random: Box<dyn FnMut() -> f64>,
    /// An embedded page's tokens ([`Driver::with_tokens`]); `None` on the site's pages,
    /// which are signed in by the cookie.
    tokens: Option<token::Tokens>,
    /// The local clock in ms (used for tokens only).
    now: Box<dyn FnMut() -> f64>,
    /// Pages of the member list fetched so far, while the reader's roster request is
    /// under way.
    roster_pages: Option<u32>,
}

impl Driver {
    /// A driver for `room` as `name` (`None`: a guest who reads until it picks one, see
    /// [`Driver::set_name`]). `epoch` is the one the view's messages came from
    /// (the server-rendered page's), so the first join resumes from them. `random` gives
    /// numbers in `[0, 1)` for the jitter.
    pub fn new(
        room: RoomName,
        name: Option<UserName>,
        epoch: Option<Epoch>,
        random: Box<dyn FnMut() -> f64>,
    ) -> Self {
        Self {
            // Without a server-rendered page, the first join loads the newest history.
            reloading: epoch.is_none(),
            room,
            name,
            epoch,
            link: Link::None,
            attempt: 0,
            closed: false,
            refused: VecDeque::new(),
            retry_scheduled: false,
            refusals: 0,
            offline: false,
            awaiting_pong: false,
            resume_from: None,
            random,
            tokens: None,
            now: Box::new(|| 0.0),
            roster_pages: None,
        }
    }

    /// The page opened the room; `online` is what the browser says of the network.
    pub fn start(&mut self, online: bool) -> Vec<Effect> {
        let mut out = vec![];
        self.connect(online, &mut out);
        out
    }

    /// The socket opened: join (after `auth` on an embedded page), resuming after what
    /// the view shows.
    pub fn on_open(&mut self, timeline: &Timeline) -> Vec<Effect> {
        self.link = Link::Open;
        self.resume_from = if self.reloading {
            None
        } else {
            timeline.resume_seq()
        };
        let mut out = vec![];
        if self.authenticate(&mut out) {
            let frame = self.join_frame();
            self.send(frame, &mut out);
        }
        out
    }

    /// The join, resuming after [`Self::resume_from`].
    fn join_frame(&self) -> ClientFrame {
        ClientFrame::Join {
            room: self.room.clone(),
            name: self.name.clone().into(),
            since: self.resume_from,
            epoch: self.resume_from.and(self.epoch.clone()),
        }
    }

    /// The socket closed with `code` (`None`: it could not be made, or closed without
    /// one): try again after a backoff, unless offline or done. A 4001 (the identity
    /// ended: signed out, or the session expired) is not retried as is: the page learns
    /// who it is now ([`Effect::Reauthenticate`]).
    pub fn on_close(&mut self, code: Option<u16>) -> Vec<Effect> {
        self.link = Link::None;
        // A liveness check of this socket is moot now.
        self.awaiting_pong = false;
        self.token_socket_closed();
        let mut out = vec![];
        if self.closed {
            return out;
        }
        if code == Some(crate::protocol::Close::Reauthenticate.code()) && !self.token_ended() {
            self.closed = true;
            out.push(Effect::Reauthenticate);
            return out;
        }
        if self.offline {
            out.push(Effect::Status(ConnStatus::Offline));
            return out;
        }
        self.schedule_reconnect(&mut out);
        out
    }

    /// A frame from the server.
    pub fn on_frame(&mut self, frame: ServerFrame, timeline: &Timeline) -> Vec<Effect> {
        let mut out = vec![];
        match frame {
            ServerFrame::Joined {
                epoch,
                online,
                members,
                members_total,
                recovered,
                ..
            } => {
                self.attempt = 0;
                self.refused.clear();
                self.epoch = Some(epoch);
                out.push(Effect::Status(ConnStatus::Connected));
                out.push(Effect::Presence {
                    online,
                    total: members_total.max(members.len() as u32),
                    members,
                });
                out.push(Effect::Notice(self.joined_notice()));
                if !recovered {
                    self.reloading = true;
                    out.push(Effect::Timeline(Edit::ForgetConfirmed));
                }
                if self.reloading {
                    self.send(self.history(None), &mut out);
                }
                for outgoing in timeline.unsent() {
                    self.send(self.publish(outgoing), &mut out);
                }
            }
            ServerFrame::Message(m) => out.push(Effect::Timeline(Edit::Insert(vec![m]))),
            ServerFrame::History {
                messages, has_more, ..
            } => {
                self.reloading = false;
                out.push(Effect::HasMore(has_more));
                out.push(Effect::Timeline(Edit::Insert(messages)));
            }
            ServerFrame::Ack { client_id, seq, .. } => {
                self.refusals = 0;
                out.push(Effect::Timeline(Edit::Ack { client_id, seq }));
            }
            ServerFrame::Presence {
                online,
                members,
                members_total,
                ..
            } => out.push(Effect::Presence {
                online,
                total: members_total.max(members.len() as u32),
                members,
            }),
            ServerFrame::Members {
                members, has_more, ..
            } => out.extend(self.on_members(members, has_more)),
            ServerFrame::Error {
                code,
                message,
                reference,
                retry_after_ms,
            } => self.on_error(code, message, reference, retry_after_ms, timeline, &mut out),
            ServerFrame::Pong => self.awaiting_pong = false,
            ServerFrame::Authed {
                name, expires_at, ..
            } => self.on_authed(name, expires_at, &mut out),
            ServerFrame::Left {
                room,
                reason: Some(reason),
            } if room == self.room => {
                // Taken out by the room (removed from its members, banned): rejoining
                // would be refused, so the page stops and says why; the socket carries on
                // with the page's other rooms.
                out.extend(self.finish(false));
                let banned = reason == crate::protocol::LeftReason::Banned;
                out.push(Effect::Status(ConnStatus::Ended { banned }));
                let why = match reason {
                    crate::protocol::LeftReason::Removed => {
                        "You are no longer a member of this room."
                    }
                    crate::protocol::LeftReason::Banned => "You have been banned from this room.",
                };
                out.push(Effect::Notice(Some(why.into())));
            }
            ServerFrame::Left { .. } => {}
            ServerFrame::Deleted { seq, .. } => out.push(Effect::Timeline(Edit::Amend {
                seq,
                content: crate::protocol::Content::deleted(),
            })),
            ServerFrame::Edited {
                seq,
                body,
                edited_ts,
                ..
            } => out.push(Effect::Timeline(Edit::Amend {
                seq,
                content: crate::protocol::Content::Text {
                    body,
                    edited_ts: Some(edited_ts),
                },
            })),
            ServerFrame::Reactions { seq, counts, .. } => {
                out.push(Effect::Timeline(Edit::React { seq, counts }))
            }
            ServerFrame::Reactors { seq, by, mine, .. } => {
                out.push(Effect::Reactors { seq, by, mine })
            }
            ServerFrame::Moderated { .. } => {}
        }
        out
    }

    /// A timer the driver set went off; `online` is what the browser says of the network.
    pub fn on_timer(&mut self, timer: Timer, online: bool, timeline: &Timeline) -> Vec<Effect> {
        let mut out = vec![];
        match timer {
            Timer::Reconnect => self.connect(online, &mut out),
            Timer::Retry => self.retry_next(timeline, &mut out),
            Timer::Token(n) => self.on_token_timer(n, &mut out),
            Timer::PongDeadline => {
                if self.awaiting_pong {
                    // The socket died while the machine slept, though it looks open.
                    self.awaiting_pong = false;
                    self.drop_socket(&mut out);
                    self.attempt = 0;
                    self.connect(online, &mut out);
                }
            }
        }
        out
    }

    /// The browser lost the network: drop the socket now and say so, instead of waiting
    /// for it to time out while the badge still says "Live".
    pub fn went_offline(&mut self) -> Vec<Effect> {
        self.offline = true;
        let mut out = vec![Effect::CancelReconnect];
        self.drop_socket(&mut out);
        out.push(Effect::Status(ConnStatus::Offline));
        out
    }

    /// A reader picked a name (or a speaker changed it): from now on the room shows it.
    /// With a socket open, the room is joined again under it (a re-join renames the
    /// connection and replays nothing it was sent); otherwise the next join carries it.
    pub fn set_name(&mut self, name: UserName, timeline: &Timeline) -> Vec<Effect> {
        let mut out = vec![];
        if self.name.as_ref() == Some(&name) {
            return out;
        }
        self.name = Some(name);
        if self.link == Link::Open && !self.reloading {
            self.resume_from = timeline.resume_seq();
            let frame = self.join_frame();
            self.send(frame, &mut out);
        }
        out
    }

    /// The network is back or the tab is visible again: reconnect at once if there is
    /// no socket, or check that an open one still answers.
    pub fn wake(&mut self, online: bool) -> Vec<Effect> {
        let mut out = vec![];
        if self.closed || !online {
            return out;
        }
        self.offline = false;
        match self.link {
            Link::None => {
                out.push(Effect::CancelReconnect);
                self.attempt = 0;
                self.connect(online, &mut out);
            }
            Link::Open if !self.awaiting_pong => {
                self.awaiting_pong = true;
                self.send(ClientFrame::Ping, &mut out);
                out.push(Effect::PongDeadlineIn(PONG_DEADLINE_MS));
            }
            _ => {}
        }
        out
    }

    /// The page is done with the room: leave it (the socket may carry other rooms, so it
    /// is not closed for this one).
    pub fn close(&mut self) -> Vec<Effect> {
        self.finish(true)
    }

    /// Done with the room, sending `leave` if `leave` (not when the room already took
    /// this connection out).
    fn finish(&mut self, leave: bool) -> Vec<Effect> {
        self.closed = true;
        let mut out = vec![Effect::CancelReconnect];
        if self.link != Link::None {
            if leave && self.link == Link::Open {
                out.push(Effect::Send(ClientFrame::Leave {
                    room: self.room.clone(),
                }));
            }
            self.link = Link::None;
            self.token_socket_closed();
            out.push(Effect::Detach);
        }
        out
    }

    /// The room this driver is for: frames from a socket shared by several rooms go to
    /// the driver of the room they name.
    pub fn room(&self) -> &RoomName {
        &self.room
    }

    fn connect(&mut self, online: bool, out: &mut Vec<Effect>) {
        self.awaiting_pong = false;
        if self.closed {
            return;
        }
        if !online {
            // Nothing to try until the browser says the network is back.
            self.offline = true;
            out.push(Effect::Status(ConnStatus::Offline));
            return;
        }
        self.link = Link::Connecting;
        out.push(Effect::Status(ConnStatus::Connecting));
        out.push(Effect::Connect);
    }

    fn drop_socket(&mut self, out: &mut Vec<Effect>) {
        if self.link != Link::None {
            self.link = Link::None;
            self.token_socket_closed();
            out.push(Effect::DropSocket);
        }
    }

    fn schedule_reconnect(&mut self, out: &mut Vec<Effect>) {
        let delay = backoff_ms(self.attempt, (self.random)());
        self.attempt += 1;
        out.push(Effect::Status(ConnStatus::Reconnecting {
            in_secs: (delay / 1000.0).round() as u32,
        }));
        out.push(Effect::ReconnectIn(delay));
    }

    /// Sends `frame` if the socket is open; otherwise it is dropped (what matters is
    /// re-sent after the next join).
    fn send(&self, frame: ClientFrame, out: &mut Vec<Effect>) {
        if self.link == Link::Open {
            out.push(Effect::Send(frame));
        }
    }
}

#[cfg(test)]
mod tests;
