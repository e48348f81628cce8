//! The reaction frames (v1.1 "Replies and reactions"): `react`, and the `reactors`
//! extension (docs/protocol.md).
//!
//! Who may react is who may publish: a joined connection with a name (a guest that only
//! reads has none), not muted. A reaction spends a token of the publish budget (it puts
//! a frame in front of every member). A user reacts once however many tabs; a guest once
//! per connection, keyed by [`guest_key`].

use super::apply::take;
use super::Session;
use crate::protocol::{Emoji, ProtocolError, RoomName, ServerFrame};
use crate::server::refusal::Refusal;
use crate::server::store::{now_ms, Reacted, Reaction, Reactor};
use std::sync::LazyLock;

/// What makes a guest's reactor key unique beyond its connection id, which restarts
/// from 1 with each process (and is the same on every node): random per process.
static PROCESS: LazyLock<String> =
    LazyLock::new(|| crate::server::store::new_epoch().as_str().to_owned());

/// A guest connection's reactor key (after `g:`): this process and the connection.
pub(super) fn guest_key(conn: u64) -> String {
    format!("{}:{conn}", PROCESS.as_str())
}

impl Session {
    /// This connection's reactor in `room`, or why it may not react there.
    fn reactor(&self, room: &RoomName) -> Result<Reactor, Refusal> {
        if self.identity.is_none() && !self.cfg.guests {
            return Err(Refusal::GuestsOff);
        }
        let Some(joined) = self.rooms.get(room) else {
            return Err(Refusal::NotJoined);
        };
        if joined.muted.is_some_and(|m| m.holds_at(now_ms())) {
            return Err(Refusal::Muted);
        }
        match (&self.identity, &joined.name) {
            (Some(id), _) => Ok(Reactor::user(&id.user, id.name.clone())),
            (None, Some(name)) => Ok(Reactor::guest(&guest_key(self.conn.id()), name.clone())),
            (None, None) => Err(Refusal::Reader),
        }
    }

    /// `react`: the room's members (this connection too) get `reactions` when it changed
    /// the counts; when it changed nothing (a second `on`, an `off` of nothing) only the
    /// sender does, so it always hears the counts.
    pub(super) async fn react(
        &mut self,
        room: RoomName,
        seq: u64,
        emoji: Emoji,
        on: bool,
    ) -> Result<Vec<ServerFrame>, Refusal> {
        let who = self.reactor(&room)?;
        take(&mut self.bucket)?;
        match self
            .hub
            .react(&room, seq, Reaction { emoji, who, on })
            .await?
        {
            Reacted::Counts { changed: true, .. } => Ok(Vec::new()),
            Reacted::Counts { counts, .. } => {
                Ok(vec![ServerFrame::Reactions { room, seq, counts }])
            }
            Reacted::NotFound => Err(Refusal::NotFound(seq)),
            Reacted::TooMany => Err(Refusal::Protocol(ProtocolError::BadFrame(
                "a message has at most 20 different reactions",
            ))),
        }
    }

    /// `reactors`: who reacted to a message, for a joined connection.
    pub(super) async fn reactors(
        &mut self,
        room: RoomName,
        seq: u64,
    ) -> Result<ServerFrame, Refusal> {
        if !self.rooms.contains_key(&room) {
            return Err(Refusal::NotJoined);
        }
        take(&mut self.control)?;
        let key = match &self.identity {
            Some(id) => Reactor::user_key(&id.user),
            None => Reactor::guest_key(&guest_key(self.conn.id())),
        };
        let found = self
            .hub
            .reactors(&room, seq, &key)
            .await?
            .ok_or(Refusal::NotFound(seq))?;
        Ok(ServerFrame::Reactors {
            room,
            seq,
            by: found.by,
            mine: found.mine,
        })
    }
}
