//! Who may read a room, decided in one place for the socket, the HTTP API, the pages and
//! the lobby: a public room anyone; a private one its owner, its members (stored, or by
//! a token's `rooms` claim) and nobody else — to whom it does not exist.

use super::{Role, RoomDirectory, RoomSettings, Visibility};
use crate::protocol::RoomName;
use crate::server::identity::Identity;
use crate::server::moderation::{ModerationStore, Sanctions};
use crate::server::store::StoreError;
use std::sync::Arc;

/// Someone's standing in a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    /// The room's settings (`None`: a plain public room).
    pub settings: Option<RoomSettings>,
    /// Their role (`None`: a stranger, or a guest).
    pub role: Option<Role>,
    /// Their bans and mutes in force (none for a guest: guests are kept out by making
    /// the room private or turning guests off).
    pub sanctions: Sanctions,
}

impl Standing {
    /// Whether they may join, read and publish: not banned, and the room is public or
    /// they have a role in it. The owner cannot be banned.
    pub fn may_enter(&self) -> bool {
        let open = self.visibility() == Visibility::Public || self.role.is_some();
        let exempt = self.role == Some(Role::Owner) && !self.sanctions.everywhere;
        open && (exempt || self.sanctions.ban.is_none())
    }

    /// Whether they may moderate: delete others' messages, ban, mute (owners,
    /// moderators, tokens with `moderate`).
    pub fn may_moderate(&self) -> bool {
        self.may_manage()
    }

    /// Whether they may manage members and invites.
    pub fn may_manage(&self) -> bool {
        self.role.is_some_and(|r| r >= Role::Moderator)
    }

    /// The room's visibility.
    pub fn visibility(&self) -> Visibility {
        self.settings
            .as_ref()
            .map_or(Visibility::Public, |s| s.visibility)
    }
}

/// The rooms' directory and their moderation, and the rule over them.
pub struct RoomAccess {
    directory: Arc<dyn RoomDirectory>,
    moderation: Arc<dyn ModerationStore>,
}

impl std::fmt::Debug for RoomAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoomAccess")
    }
}

impl RoomAccess {
    /// Access over `directory` and `moderation`.
    pub fn new(directory: Arc<dyn RoomDirectory>, moderation: Arc<dyn ModerationStore>) -> Self {
        Self {
            directory,
            moderation,
        }
    }

    /// Bans, mutes, slow mode and the audit log.
    pub fn moderation(&self) -> &dyn ModerationStore {
        self.moderation.as_ref()
    }

    /// The directory itself (for the API that changes it).
    pub fn directory(&self) -> &dyn RoomDirectory {
        self.directory.as_ref()
    }

    /// `who`'s standing in `room`: owner by the settings; else the better of the stored
    /// role and what a token grants (`read` makes a member, `moderate` a moderator).
    pub async fn standing(
        &self,
        room: &RoomName,
        who: Option<&Identity>,
    ) -> Result<Standing, StoreError> {
        let settings = self.directory.settings(room).await?;
        let Some(who) = who else {
            return Ok(Standing {
                settings,
                role: None,
                sanctions: Sanctions::default(),
            });
        };
        let sanctions = self
            .moderation
            .sanctions(room, &who.user, crate::server::store::now_ms())
            .await?;
        if settings.as_ref().and_then(|s| s.owner.as_ref()) == Some(&who.user) {
            return Ok(Standing {
                settings,
                role: Some(Role::Owner),
                sanctions,
            });
        }
        let granted = who.rooms.in_room(room);
        let by_token = if granted.moderate {
            Some(Role::Moderator)
        } else if granted.read || granted.publish {
            Some(Role::Member)
        } else {
            None
        };
        // A plain public room has no members to look up.
        let stored = match &settings {
            Some(_) => self.directory.member(room, &who.user).await?,
            None => None,
        };
        Ok(Standing {
            settings,
            role: stored.max(by_token),
            sanctions,
        })
    }
}
