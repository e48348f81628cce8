//! One client frame → a hub call → the reply, in one dispatch ([`Session::apply`]).
//!
//! A refusal of any kind becomes one `error` frame whose `ref` the frame itself decides
//! ([`ClientFrame::reference`]); the socket stays open.

use super::pipeline::Publishing;
use super::replay::{ReplayRest, REPLAY_PAGE, REPLAY_PAGE_BYTES};
use super::{send, End, FrameSink, JoinedRoom, Session};
use crate::protocol::SanctionKind;
use crate::protocol::{
    Body, ClientFrame, ClientId, DecodeError, Epoch, HistoryLimit, JoinName, ProtocolError,
    RoomName, ServerFrame, Token, UserName,
};
use crate::server::identity::AuthError;
use crate::server::refusal::Refusal;
use crate::server::rooms::access::Standing;
use std::time::Duration;
use tokio::time::Instant;

/// What applying one frame produced: frames to send now, maybe the rest of a replay to
/// stream after them, maybe a publish whose answer comes when the store has committed.
pub(super) struct Reply {
    frames: Vec<ServerFrame>,
    rest: Option<ReplayRest>,
    publishing: Option<Publishing>,
}

impl From<Vec<ServerFrame>> for Reply {
    fn from(frames: Vec<ServerFrame>) -> Self {
        Self {
            frames,
            rest: None,
            publishing: None,
        }
    }
}

impl From<ServerFrame> for Reply {
    fn from(frame: ServerFrame) -> Self {
        vec![frame].into()
    }
}

impl Session {
    /// Applies and answers one decoded text frame; returns the publish it started, if
    /// any.
    pub(super) async fn handle_decoded<Si: FrameSink>(
        &mut self,
        decoded: Result<ClientFrame, DecodeError>,
        sink: &mut Si,
    ) -> Result<Option<Publishing>, End> {
        let reply = match decoded {
            Ok(frame) => {
                let reference = frame.reference();
                match self.apply(frame).await {
                    Ok(reply) => reply,
                    Err(refusal) => refusal.to_frame(reference).into(),
                }
            }
            Err(e) => {
                let error = e.error_for(self.identity.is_none()).clone();
                Refusal::from(error).to_frame(e.reference).into()
            }
        };
        for frame in &reply.frames {
            send(sink, frame).await?;
        }
        if let Some(rest) = reply.rest {
            self.stream_replay(rest, sink).await?;
        }
        Ok(reply.publishing)
    }

    /// The one dispatch from a frame to what it does.
    async fn apply(&mut self, frame: ClientFrame) -> Result<Reply, Refusal> {
        match frame {
            ClientFrame::Join {
                room,
                name,
                since,
                epoch,
            } => self.join(room, name, since, epoch).await,
            ClientFrame::Leave { room } => self.leave(room).map(Reply::from),
            ClientFrame::Publish {
                room,
                body,
                client_id,
                reply_to,
            } => self
                .publish(room, body, client_id, reply_to)
                .map(|p| Reply {
                    publishing: Some(p),
                    ..Vec::new().into()
                }),
            ClientFrame::History {
                room,
                before,
                limit,
            } => self.history(room, before, limit).await.map(Reply::from),
            ClientFrame::Ping => Ok(ServerFrame::Pong.into()),
            ClientFrame::Auth { token } => self.auth(token).await.map(Reply::from),
            ClientFrame::Delete { room, seq } => self.delete(room, seq).await.map(Reply::from),
            ClientFrame::Edit { room, seq, body } => {
                self.edit(room, seq, body).await.map(Reply::from)
            }
            ClientFrame::Ban {
                room,
                user,
                duration_s,
            } => self
                .sanction(room, user, SanctionKind::Ban, duration_s)
                .await
                .map(Reply::from),
            ClientFrame::Mute {
                room,
                user,
                duration_s,
            } => self
                .sanction(room, user, SanctionKind::Mute, duration_s)
                .await
                .map(Reply::from),
            ClientFrame::React {
                room,
                seq,
                emoji,
                on,
            } => self.react(room, seq, emoji, on).await.map(Reply::from),
            ClientFrame::Reactors { room, seq } => self.reactors(room, seq).await.map(Reply::from),
            ClientFrame::Members { room, after, limit } => {
                self.members(room, after, limit).map(Reply::from)
            }
        }
    }

    /// The name this connection is shown by: its identity's, else the one its `join`
    /// gave (required of a guest, and only where guests are admitted).
    fn speaker(&self, given: JoinName) -> Result<Option<UserName>, Refusal> {
        if let Some(id) = &self.identity {
            return Ok(Some(id.name.clone()));
        }
        if given == JoinName::Invalid {
            return Err(Refusal::Protocol(ProtocolError::InvalidName));
        }
        if !self.cfg.guests {
            return Err(Refusal::GuestsOff);
        }
        Ok(given.given().cloned())
    }

    /// `forbidden` unless this connection may enter `room` (a private room's members,
    /// nobody banned); its standing there when it may.
    pub(super) async fn may_enter(&self, room: &RoomName) -> Result<Standing, Refusal> {
        let standing = self
            .cfg
            .rooms
            .standing(room, self.identity.as_ref())
            .await?;
        if standing.may_enter() {
            Ok(standing)
        } else {
            Err(Refusal::Forbidden)
        }
    }

    /// `auth`: verifies the token and makes (or keeps, on a refresh) the connection's
    /// identity. A refresh must be for the same user; a failed one leaves the current
    /// identity as it was (it still ends at its own expiry). Rooms joined under another
    /// name are re-joined under the identity's, so the room shows who is speaking.
    async fn auth(&mut self, token: Token) -> Result<ServerFrame, Refusal> {
        let Some(verifier) = self.cfg.verifier.clone() else {
            return Err(AuthError::Unauthorized("this server has no token keys configured").into());
        };
        // A signature check costs real CPU (RSA most): auth shares the control budget.
        self.spend_control()?;
        let identity = verifier.verify(&token)?;
        if self
            .identity
            .as_ref()
            .is_some_and(|i| i.user != identity.user)
        {
            return Err(Refusal::OtherUser);
        }
        let frame = ServerFrame::Authed {
            user: identity.user.clone(),
            name: identity.name.clone(),
            expires_at: identity.expires_at,
        };
        let ends_in = Duration::from_millis(
            identity
                .expires_at
                .saturating_sub(crate::server::store::now_ms()),
        ) + verifier.leeway();
        self.identity_ends = Some(Instant::now() + ends_in);
        let name = identity.name.clone();
        self.hub.set_user(self.conn.id(), &identity.user);
        self.identity = Some(identity);
        let renamed: Vec<RoomName> = self
            .rooms
            .iter()
            .filter(|(_, j)| j.name.as_ref() != Some(&name))
            .map(|(r, _)| r.clone())
            .collect();
        for room in renamed {
            let user = self.identity.as_ref().map(|i| i.user.clone());
            self.hub
                .join_as(&self.conn, &room, Some(&name), user.as_ref())
                .await?;
            if let Some(j) = self.rooms.get_mut(&room) {
                j.name = Some(name.clone());
            }
        }
        Ok(frame)
    }

    async fn join(
        &mut self,
        room: RoomName,
        name: JoinName,
        since: Option<u64>,
        epoch: Option<Epoch>,
    ) -> Result<Reply, Refusal> {
        let name = self.speaker(name)?;
        let standing = self.may_enter(&room).await?;
        let slow_mode = self.cfg.rooms.moderation().slow_mode(&room).await?;
        let previous = self.rooms.get(&room).map(|j| j.last_sent);
        if previous.is_none() && self.rooms.len() >= self.cfg.max_rooms {
            return Err(Refusal::TooManyRooms(self.cfg.max_rooms));
        }
        self.spend_control()?;
        self.joining = Some(room.clone());
        let result = self
            .join_room(&room, name.as_ref(), since, epoch, previous)
            .await;
        self.joining = None;
        let (reply, last_sent) = result?;
        self.hub.set_slow_mode_here(&room, slow_mode);
        let joined = JoinedRoom {
            name,
            last_sent,
            muted: standing.sanctions.mute,
            moderator: standing.may_moderate(),
        };
        self.rooms.insert(room, joined);
        self.record_rooms();
        Ok(reply)
    }

    /// The body of [`Session::join`]: `joined`, the replay to stream after it (when
    /// recovered), and where the room's `last_sent` starts.
    async fn join_room(
        &mut self,
        room: &RoomName,
        name: Option<&UserName>,
        since: Option<u64>,
        epoch: Option<Epoch>,
        previous: Option<u64>,
    ) -> Result<(Reply, u64), Refusal> {
        let user = self.identity.as_ref().map(|i| &i.user);
        let info = self.hub.join_as(&self.conn, room, name, user).await?;
        let last_seq = info.live_from - 1;
        let mut rest = None;
        if let Some(since) = since {
            let same_history = epoch.as_ref().is_none_or(|e| *e == info.epoch);
            if same_history && since <= last_seq {
                // On a re-join, what this connection was already sent needs no replay.
                let after = previous.map_or(since, |p| p.max(since));
                match self
                    .hub
                    .replay(room, after, info.live_from, REPLAY_PAGE, REPLAY_PAGE_BYTES)
                    .await
                {
                    Ok(page) if page.complete => {
                        rest = Some(ReplayRest {
                            room: room.clone(),
                            first: page.messages,
                            until: info.live_from,
                        });
                    }
                    Ok(_) => {} // Retention dropped part of it: the client reloads.
                    Err(e) => {
                        if previous.is_none() {
                            self.hub.leave(self.conn.id(), room);
                        }
                        return Err(e.into());
                    }
                }
            }
        }
        let recovered = rest.is_some();
        // Where this connection's view of the room now stands: on a re-join, what it was
        // already sent (live frames may still be queued); on a recovered join, `since`;
        // otherwise the room's present, with live messages to follow. The replay moves it.
        let last_sent = match (previous, since) {
            (Some(prev), _) => prev,
            (None, Some(since)) if recovered => since,
            _ => last_seq,
        };
        let joined = ServerFrame::Joined {
            room: room.clone(),
            epoch: info.epoch,
            last_seq,
            online: info.online,
            members: info.members,
            members_total: info.members_total,
            recovered,
        };
        Ok((
            Reply {
                frames: vec![joined],
                rest,
                publishing: None,
            },
            last_sent,
        ))
    }

    fn leave(&mut self, room: RoomName) -> Result<ServerFrame, Refusal> {
        if !self.rooms.contains_key(&room) {
            return Err(Refusal::NotJoined);
        }
        self.spend_control()?;
        self.rooms.remove(&room);
        self.hub.leave(self.conn.id(), &room);
        self.record_rooms();
        Ok(ServerFrame::Left { room, reason: None })
    }

    /// Checks a publish and hands it to the hub; the answer is sent when it is stored.
    fn publish(
        &mut self,
        room: RoomName,
        body: Body,
        client_id: ClientId,
        reply_to: Option<u64>,
    ) -> Result<Publishing, Refusal> {
        // Who is asking comes before whether it joined (the contract's order).
        if self.identity.is_none() && !self.cfg.guests {
            return Err(Refusal::GuestsOff);
        }
        let Some(joined) = self.rooms.get(&room) else {
            return Err(Refusal::NotJoined);
        };
        let now_ms = crate::server::store::now_ms();
        if joined.muted.is_some_and(|m| m.holds_at(now_ms)) {
            return Err(Refusal::Muted);
        }
        let Some(from) = joined.name.clone() else {
            return Err(Refusal::Reader);
        };
        let user = self.identity.as_ref().map(|i| i.user.clone());
        let moderator = joined.moderator;
        // This connection was sent a message of the room: it has one, so no publish of
        // ours can be its first (and the hub's room lock is not needed to know).
        let has_messages = joined.last_sent > 0;
        take(&mut self.bucket)?;
        let now = Instant::now().into_std();
        self.cfg
            .budgets
            .publish(self.client, now)
            .map_err(rate_limited)?;
        if !moderator {
            let speaker = user
                .as_ref()
                .map_or_else(|| self.client.to_string(), |u| format!("u:{u}"));
            self.hub
                .slow_mode_pass(&room, &speaker, Instant::now().into_std())
                .map_err(rate_limited)?;
        }
        if !has_messages && self.hub.claim_new_room(&room) {
            // The first message of a room puts it on disk (for the retention time).
            if let Err(wait) = self.cfg.budgets.new_room(self.client, now) {
                self.hub.release_new_room(&room);
                return Err(rate_limited(wait));
            }
        }
        // Called here, not inside a lazy future: the hub queues it to the store now.
        let stored = self.hub.publish(crate::server::store::Draft {
            room: room.clone(),
            from,
            body,
            client_id: client_id.clone(),
            user,
            // The store checks it names a stored message, in the append itself: a check
            // here would need an await, and the publish must reach the store now.
            reply_to,
        });
        Ok(Publishing {
            room,
            client_id,
            started: Instant::now(),
            stored: Box::pin(stored),
        })
    }

    /// Takes a token from the budget for joins, leaves and history requests.
    fn spend_control(&mut self) -> Result<(), Refusal> {
        take(&mut self.control)
    }

    async fn history(
        &mut self,
        room: RoomName,
        before: Option<u64>,
        limit: HistoryLimit,
    ) -> Result<ServerFrame, Refusal> {
        self.may_enter(&room).await?;
        self.spend_control()?;
        let page = self.hub.history(&room, before, limit.get()).await?;
        Ok(ServerFrame::History {
            room,
            messages: page.messages,
            has_more: page.has_more,
        })
    }
}

/// A token from `bucket`, or `rate_limited` with the wait until one is there.
pub(super) fn take(bucket: &mut crate::server::rate_limit::TokenBucket) -> Result<(), Refusal> {
    bucket
        .try_take(Instant::now().into_std())
        .map_err(rate_limited)
}

/// `rate_limited`, with the wait until a token is back.
fn rate_limited(wait: std::time::Duration) -> Refusal {
    Refusal::RateLimited {
        // Rounded up: a retry at the hint must find a token.
        retry_after_ms: wait.as_nanos().div_ceil(1_000_000).max(1) as u64,
    }
}
