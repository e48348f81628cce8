//! Room settings, members and invites in memory (`--store memory`), and the
//! [`RoomDirectory`] contract as a test every store runs.

use super::{DirectoryError, Role, RoomDirectory, RoomSettings, MAX_INVITES, MAX_MEMBERS};
use crate::protocol::{RoomName, UserId};
use crate::server::store::StoreError;
use crate::sync::lock;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// [`RoomDirectory`] in memory.
#[derive(Default)]
pub struct MemoryRooms {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    settings: HashMap<RoomName, RoomSettings>,
    members: HashMap<RoomName, HashMap<UserId, Role>>,
    invites: HashMap<[u8; 32], (RoomName, u64)>,
}

#[async_trait]
impl RoomDirectory for MemoryRooms {
    async fn rooms_of(&self, user: &UserId, max: usize) -> Result<Vec<RoomName>, StoreError> {
        let st = lock(&self.state);
        let owned = st
            .settings
            .iter()
            .filter(|(_, s)| s.owner.as_ref() == Some(user))
            .map(|(r, _)| r);
        let member = st
            .members
            .iter()
            .filter(|(_, m)| m.contains_key(user))
            .map(|(r, _)| r);
        let mut rooms: Vec<RoomName> = owned.chain(member).cloned().collect();
        rooms.sort();
        rooms.dedup();
        rooms.truncate(max);
        Ok(rooms)
    }

    async fn settings(&self, room: &RoomName) -> Result<Option<RoomSettings>, StoreError> {
        Ok(lock(&self.state).settings.get(room).cloned())
    }

    async fn create(&self, room: &RoomName, settings: &RoomSettings) -> Result<(), DirectoryError> {
        let mut st = lock(&self.state);
        if st.settings.contains_key(room) {
            return Err(DirectoryError::Exists);
        }
        st.settings.insert(room.clone(), settings.clone());
        Ok(())
    }

    async fn member(&self, room: &RoomName, user: &UserId) -> Result<Option<Role>, StoreError> {
        Ok(lock(&self.state)
            .members
            .get(room)
            .and_then(|m| m.get(user))
            .copied())
    }

    async fn set_member(
        &self,
        room: &RoomName,
        user: &UserId,
        role: Role,
    ) -> Result<(), DirectoryError> {
        let mut st = lock(&self.state);
        let members = st.members.entry(room.clone()).or_default();
        if !members.contains_key(user) && members.len() >= MAX_MEMBERS {
            return Err(DirectoryError::Full("members"));
        }
        members.insert(user.clone(), role);
        Ok(())
    }

    async fn members(&self, room: &RoomName) -> Result<Vec<(UserId, Role)>, StoreError> {
        let mut all: Vec<_> = lock(&self.state)
            .members
            .get(room)
            .map(|m| m.iter().map(|(u, r)| (u.clone(), *r)).collect())
            .unwrap_or_default();
        all.sort();
        Ok(all)
    }

    async fn remove_member(&self, room: &RoomName, user: &UserId) -> Result<(), StoreError> {
        if let Some(m) = lock(&self.state).members.get_mut(room) {
            m.remove(user);
        }
        Ok(())
    }

    async fn add_invite(
        &self,
        hash: [u8; 32],
        room: &RoomName,
        expires_ms: u64,
    ) -> Result<(), DirectoryError> {
        let mut st = lock(&self.state);
        let now = crate::server::store::now_ms();
        st.invites.retain(|_, (_, exp)| *exp > now);
        if st.invites.values().filter(|(r, _)| r == room).count() >= MAX_INVITES {
            return Err(DirectoryError::Full("invites"));
        }
        st.invites.insert(hash, (room.clone(), expires_ms));
        Ok(())
    }

    async fn invite(&self, hash: [u8; 32], now_ms: u64) -> Result<Option<RoomName>, StoreError> {
        Ok(lock(&self.state)
            .invites
            .get(&hash)
            .filter(|(_, exp)| *exp > now_ms)
            .map(|(r, _)| r.clone()))
    }
}

/// The contract every [`RoomDirectory`] meets (test builds).
#[cfg(test)]
pub async fn conformance(d: &dyn RoomDirectory) {
    use super::Visibility;
    let r = RoomName::parse("secret").unwrap();
    let ann = UserId::parse("acct:ann").unwrap();
    let bob = UserId::parse("u-bob").unwrap();
    assert_eq!(d.settings(&r).await.unwrap(), None);
    let s = RoomSettings {
        visibility: Visibility::Private,
        owner: Some(ann.clone()),
    };
    d.create(&r, &s).await.unwrap();
    assert!(matches!(
        d.create(&r, &s).await,
        Err(DirectoryError::Exists)
    ));
    assert_eq!(d.settings(&r).await.unwrap(), Some(s));
    assert_eq!(d.member(&r, &bob).await.unwrap(), None);
    d.set_member(&r, &bob, Role::Member).await.unwrap();
    assert_eq!(d.member(&r, &bob).await.unwrap(), Some(Role::Member));
    d.set_member(&r, &bob, Role::Moderator).await.unwrap();
    assert_eq!(d.member(&r, &bob).await.unwrap(), Some(Role::Moderator));
    let cy = UserId::parse("acct:cy").unwrap();
    d.set_member(&r, &cy, Role::Member).await.unwrap();
    assert_eq!(
        d.members(&r).await.unwrap(),
        vec![(cy.clone(), Role::Member), (bob.clone(), Role::Moderator)],
        "by user id, the owner not among them"
    );
    assert!(d
        .members(&RoomName::parse("other").unwrap())
        .await
        .unwrap()
        .is_empty());
    d.remove_member(&r, &cy).await.unwrap();
    d.remove_member(&r, &bob).await.unwrap();
    assert_eq!(d.member(&r, &bob).await.unwrap(), None);
    let now = crate::server::store::now_ms();
    d.add_invite([1; 32], &r, now + 60_000).await.unwrap();
    assert_eq!(
        d.invite([1; 32], now + 60_000).await.unwrap(),
        None,
        "expired"
    );
    conformance_live(d).await;
}

/// The rooms of a user: the ones they own or are a member of, by name (part of
/// [`conformance_live`], on rooms no other part uses).
#[cfg(test)]
pub async fn conformance_rooms_of(d: &dyn RoomDirectory) {
    use super::Visibility;
    let ours = RoomName::parse("ours").unwrap();
    let team = RoomName::parse("team").unwrap();
    let dee = UserId::parse("acct:dee").unwrap();
    let eve = UserId::parse("acct:eve").unwrap();
    assert!(d.rooms_of(&dee, 10).await.unwrap().is_empty());
    let s = RoomSettings {
        visibility: Visibility::Private,
        owner: Some(dee.clone()),
    };
    d.create(&ours, &s).await.unwrap();
    d.set_member(&ours, &eve, Role::Member).await.unwrap();
    d.set_member(&team, &eve, Role::Moderator).await.unwrap();
    assert_eq!(
        d.rooms_of(&eve, 10).await.unwrap(),
        vec![ours.clone(), team.clone()]
    );
    assert_eq!(
        d.rooms_of(&eve, 1).await.unwrap(),
        vec![ours.clone()],
        "at most max"
    );
    assert_eq!(
        d.rooms_of(&dee, 10).await.unwrap(),
        vec![ours.clone()],
        "the owner's"
    );
    d.remove_member(&ours, &eve).await.unwrap();
    assert_eq!(
        d.rooms_of(&eve, 10).await.unwrap(),
        vec![team.clone()],
        "gone with the membership"
    );
    d.remove_member(&ours, &dee).await.unwrap();
    assert_eq!(
        d.rooms_of(&dee, 10).await.unwrap(),
        vec![ours.clone()],
        "the owner keeps their room"
    );
}

/// The part of [`conformance`] that needs no clock but the store's own (Redis expires
/// keys by its clock), on a room `conformance` did not use.
#[cfg(test)]
pub async fn conformance_live(d: &dyn RoomDirectory) {
    use super::Visibility;
    conformance_rooms_of(d).await;
    let r = RoomName::parse("invited").unwrap();
    d.create(
        &r,
        &RoomSettings {
            visibility: Visibility::Private,
            owner: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(d.settings(&r).await.unwrap().unwrap().owner, None);
    let u = UserId::parse("u-cy").unwrap();
    d.set_member(&r, &u, Role::Member).await.unwrap();
    assert_eq!(d.member(&r, &u).await.unwrap(), Some(Role::Member));
    let now = crate::server::store::now_ms();
    d.add_invite([3; 32], &r, now + 60_000).await.unwrap();
    assert_eq!(d.invite([3; 32], now).await.unwrap(), Some(r.clone()));
    assert_eq!(d.invite([4; 32], now).await.unwrap(), None);
    for i in 0..super::MAX_INVITES - 1 {
        d.add_invite([10 + i as u8; 32], &r, now + 60_000)
            .await
            .unwrap();
    }
    assert!(matches!(
        d.add_invite([255; 32], &r, now + 60_000).await,
        Err(DirectoryError::Full("invites"))
    ));
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conforms() {
        super::conformance(&super::MemoryRooms::default()).await;
    }
}
