//! The moderation frames (v1.1): `delete`, `edit`, `ban`, `mute`.
//!
//! Rights, in one place: an author may edit and delete their own messages (by `user`:
//! guests have none, so they can do neither); owners, moderators and tokens with
//! `moderate` may delete anyone's, and ban and mute anyone but the room's owner. None of
//! them needs a join. Each act goes to the audit log; what it changes reaches every node
//! through [`crate::server::hub::Hub::notify`]. The actor hears the outcome like every
//! member (`deleted`, `edited`) when it is in the room, else as the direct answer; `ban`
//! and `mute` are answered `moderated` (an extension: docs/protocol.md).

use super::apply::take;
use super::Session;
use crate::protocol::{Body, LeftReason, RoomName, SanctionKind, ServerFrame, UserId};
use crate::server::engine::RoomNote;
use crate::server::moderation::{Act, ActKind, Until};
use crate::server::refusal::Refusal;
use crate::server::store::{now_ms, Amendment};

/// What an act answers the actor: nothing more when the room's own frame reaches it
/// (it is a member), else that frame.
type Answer = Vec<ServerFrame>;

impl Session {
    /// The acting user: guests cannot moderate, edit or delete.
    fn actor(&self) -> Result<UserId, Refusal> {
        self.identity
            .as_ref()
            .map(|i| i.user.clone())
            .ok_or(Refusal::NotAllowed(
                "sign in first: guests cannot edit, delete or moderate",
            ))
    }

    /// `frame` for the actor unless, being in the room, it gets the members' copy.
    fn answer(&self, room: &RoomName, frame: ServerFrame) -> Answer {
        if self.rooms.contains_key(room) {
            Vec::new()
        } else {
            vec![frame]
        }
    }

    async fn audit(&self, room: &RoomName, act: Act) {
        if let Err(e) = self.cfg.rooms.moderation().record(room, &act).await {
            // The act is done; its record is what failed. Say so loudly, once.
            tracing::error!(error = %e.report(), room = %room, act = act.act.as_str(), "audit record lost");
        }
    }

    /// `delete`: by the author or a moderator; deleting a deleted message answers
    /// `deleted` again and changes nothing.
    pub(super) async fn delete(&mut self, room: RoomName, seq: u64) -> Result<Answer, Refusal> {
        let actor = self.actor()?;
        let standing = self.may_enter(&room).await?;
        take(&mut self.control)?;
        let msg = self
            .hub
            .message(&room, seq)
            .await?
            .ok_or(Refusal::NotFound(seq))?;
        let own = msg.user.as_ref() == Some(&actor);
        if !own && !standing.may_moderate() {
            return Err(Refusal::NotAllowed(
                "only its author or a moderator may delete a message",
            ));
        }
        let frame = |by: &str| ServerFrame::Deleted {
            room: room.clone(),
            seq,
            by: by.to_owned(),
        };
        if msg.is_deleted() {
            return Ok(vec![frame(actor.as_str())]);
        }
        self.hub
            .amend(&room, seq, Amendment::Delete, actor.as_str())
            .await?
            .ok_or(Refusal::NotFound(seq))?;
        let act = Act {
            act: ActKind::Delete,
            by: actor.to_string(),
            target: msg.user.clone(),
            seq: Some(seq),
            ts: now_ms(),
            detail: None,
        };
        self.audit(&room, act).await;
        Ok(self.answer(&room, frame(actor.as_str())))
    }

    /// `edit`: by the author only, of a message that is not deleted.
    pub(super) async fn edit(
        &mut self,
        room: RoomName,
        seq: u64,
        body: Body,
    ) -> Result<Answer, Refusal> {
        let actor = self.actor()?;
        self.may_enter(&room).await?;
        if self
            .rooms
            .get(&room)
            .is_some_and(|j| j.muted.is_some_and(|m| m.holds_at(now_ms())))
        {
            return Err(Refusal::Muted);
        }
        // An edit puts new text in front of everyone: it spends what a publish does.
        take(&mut self.bucket)?;
        let msg = self
            .hub
            .message(&room, seq)
            .await?
            .ok_or(Refusal::NotFound(seq))?;
        if msg.user.as_ref() != Some(&actor) {
            return Err(Refusal::NotAllowed("only its author may edit a message"));
        }
        if msg.is_deleted() {
            return Err(Refusal::NotFound(seq));
        }
        let ts = now_ms();
        let edited = self
            .hub
            .amend(&room, seq, Amendment::Edit { body, ts }, actor.as_str())
            .await?
            .ok_or(Refusal::NotFound(seq))?;
        let (Some(body), Some(edited_ts)) = (edited.body(), edited.edited_ts()) else {
            return Err(Refusal::NotFound(seq)); // Deleted meanwhile.
        };
        let frame = ServerFrame::Edited {
            room: room.clone(),
            seq,
            body: body.clone(),
            edited_ts,
        };
        let act = Act {
            act: ActKind::Edit,
            by: actor.to_string(),
            target: None,
            seq: Some(seq),
            ts,
            detail: None,
        };
        self.audit(&room, act).await;
        Ok(self.answer(&room, frame))
    }

    /// `ban` / `mute`: by a moderator, of anyone but the room's owner (and not oneself);
    /// `duration_s: 0` lifts it.
    pub(super) async fn sanction(
        &mut self,
        room: RoomName,
        user: UserId,
        kind: SanctionKind,
        duration_s: Option<u64>,
    ) -> Result<Answer, Refusal> {
        let actor = self.actor()?;
        let standing = self.may_enter(&room).await?;
        if !standing.may_moderate() {
            return Err(Refusal::NotAllowed(
                "only the room's owner and moderators may ban or mute",
            ));
        }
        let owner = standing.settings.as_ref().and_then(|s| s.owner.as_ref());
        if owner == Some(&user) || user == actor {
            return Err(Refusal::NotAllowed(
                "the room's owner, and yourself, cannot be banned or muted",
            ));
        }
        take(&mut self.control)?;
        let now = now_ms();
        let moderation = self.cfg.rooms.moderation();
        let (until, act) = match duration_s {
            Some(0) => {
                moderation.lift(&room, &user, kind).await?;
                let act = match kind {
                    SanctionKind::Ban => ActKind::Unban,
                    SanctionKind::Mute => ActKind::Unmute,
                };
                (Some(now), act)
            }
            d => {
                let until = d.map_or(Until::Forever, |s| Until::At(now + s * 1000));
                moderation.sanction(&room, &user, kind, until).await?;
                let act = match kind {
                    SanctionKind::Ban => ActKind::Ban,
                    SanctionKind::Mute => ActKind::Mute,
                };
                (until.as_ms(), act)
            }
        };
        match (kind, act) {
            (SanctionKind::Ban, ActKind::Ban) => self.hub.notify(
                &room,
                RoomNote::Evict {
                    user: user.clone(),
                    reason: LeftReason::Banned,
                },
            ),
            (SanctionKind::Mute, _) => self.hub.notify(
                &room,
                RoomNote::Mute {
                    user: user.clone(),
                    until,
                },
            ),
            _ => {} // An unban: their next join is let in.
        }
        let detail = match (act, duration_s) {
            (ActKind::Ban | ActKind::Mute, Some(s)) => Some(format!("{s} s")),
            (ActKind::Ban | ActKind::Mute, None) => Some("for good".into()),
            _ => None,
        };
        let record = Act {
            act,
            by: actor.to_string(),
            target: Some(user.clone()),
            seq: None,
            ts: now,
            detail,
        };
        self.audit(&room, record).await;
        Ok(vec![ServerFrame::Moderated {
            room,
            act: kind,
            user,
            until,
        }])
    }
}
