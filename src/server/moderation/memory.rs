//! Bans, mutes, slow mode and the audit log in memory (`--store memory`), and the
//! [`ModerationStore`] contract as a test every store runs.

use super::{Act, ModerationStore, Sanctions, Until, MAX_ACTS};
use crate::protocol::{RoomName, SanctionKind, UserId};
use crate::server::store::StoreError;
use crate::sync::lock;
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// [`ModerationStore`] in memory.
#[derive(Default)]
pub struct MemoryModeration {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sanctions: HashMap<(RoomName, UserId, SanctionKind), Until>,
    slow: HashMap<RoomName, u32>,
    acts: HashMap<RoomName, VecDeque<Act>>,
    server_bans: HashMap<UserId, Until>,
}

#[async_trait]
impl ModerationStore for MemoryModeration {
    async fn sanctions(
        &self,
        room: &RoomName,
        user: &UserId,
        now_ms: u64,
    ) -> Result<Sanctions, StoreError> {
        let st = lock(&self.state);
        let get = |kind| {
            st.sanctions
                .get(&(room.clone(), user.clone(), kind))
                .copied()
                .filter(|u: &Until| u.holds_at(now_ms))
        };
        let everywhere = st
            .server_bans
            .get(user)
            .copied()
            .filter(|u| u.holds_at(now_ms));
        Ok(Sanctions {
            ban: everywhere.or(get(SanctionKind::Ban)),
            mute: get(SanctionKind::Mute),
            everywhere: everywhere.is_some(),
        })
    }

    async fn set_server_ban(&self, user: &UserId, until: Option<Until>) -> Result<(), StoreError> {
        let mut st = lock(&self.state);
        match until {
            Some(u) => st.server_bans.insert(user.clone(), u),
            None => st.server_bans.remove(user),
        };
        Ok(())
    }

    async fn sanction(
        &self,
        room: &RoomName,
        user: &UserId,
        kind: SanctionKind,
        until: Until,
    ) -> Result<(), StoreError> {
        let now = crate::server::store::now_ms();
        let mut st = lock(&self.state);
        // Expired ones go when a new one comes: memory stays bounded by those in force.
        st.sanctions.retain(|_, u| u.holds_at(now));
        st.sanctions
            .insert((room.clone(), user.clone(), kind), until);
        Ok(())
    }

    async fn lift(
        &self,
        room: &RoomName,
        user: &UserId,
        kind: SanctionKind,
    ) -> Result<(), StoreError> {
        lock(&self.state)
            .sanctions
            .remove(&(room.clone(), user.clone(), kind));
        Ok(())
    }

    async fn slow_mode(&self, room: &RoomName) -> Result<u32, StoreError> {
        Ok(lock(&self.state).slow.get(room).copied().unwrap_or(0))
    }

    async fn set_slow_mode(&self, room: &RoomName, seconds: u32) -> Result<(), StoreError> {
        let mut st = lock(&self.state);
        if seconds == 0 {
            st.slow.remove(room);
        } else {
            st.slow.insert(room.clone(), seconds);
        }
        Ok(())
    }

    async fn record(&self, room: &RoomName, act: &Act) -> Result<(), StoreError> {
        let mut st = lock(&self.state);
        let log = st.acts.entry(room.clone()).or_default();
        log.push_back(act.clone());
        while log.len() > MAX_ACTS {
            log.pop_front();
        }
        Ok(())
    }

    async fn acts(&self, room: &RoomName) -> Result<Vec<Act>, StoreError> {
        Ok(lock(&self.state)
            .acts
            .get(room)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default())
    }
}

/// The contract every [`ModerationStore`] meets (test builds).
#[cfg(test)]
pub async fn conformance(m: &dyn ModerationStore) {
    use super::ActKind;
    let r = RoomName::parse("modroom").unwrap();
    let ann = UserId::parse("acct:ann").unwrap();
    let bob = UserId::parse("u-bob").unwrap();
    let now = crate::server::store::now_ms();
    assert_eq!(
        m.sanctions(&r, &ann, now).await.unwrap(),
        Sanctions::default()
    );
    m.sanction(&r, &ann, SanctionKind::Ban, Until::Forever)
        .await
        .unwrap();
    m.sanction(&r, &ann, SanctionKind::Mute, Until::At(now + 60_000))
        .await
        .unwrap();
    m.sanction(&r, &bob, SanctionKind::Mute, Until::At(now + 1_000))
        .await
        .unwrap();
    let s = m.sanctions(&r, &ann, now).await.unwrap();
    assert_eq!(s.ban, Some(Until::Forever));
    assert_eq!(s.mute, Some(Until::At(now + 60_000)));
    assert!(s.banned_at(now + 10_000_000));
    assert_eq!(
        m.sanctions(&r, &bob, now + 2_000).await.unwrap(),
        Sanctions::default(),
        "a mute ends by itself"
    );
    let other = RoomName::parse("elsewhere").unwrap();
    assert_eq!(
        m.sanctions(&other, &ann, now).await.unwrap(),
        Sanctions::default()
    );
    m.lift(&r, &ann, SanctionKind::Ban).await.unwrap();
    m.lift(&r, &bob, SanctionKind::Ban).await.unwrap();
    let s = m.sanctions(&r, &ann, now).await.unwrap();
    assert_eq!((s.ban, s.mute.is_some()), (None, true));
    m.sanction(&r, &ann, SanctionKind::Mute, Until::At(now + 5))
        .await
        .unwrap();
    assert_eq!(
        m.sanctions(&r, &ann, now).await.unwrap().mute,
        Some(Until::At(now + 5)),
        "a new one replaces the old"
    );
    let cy = UserId::parse("u-cy").unwrap();
    m.set_server_ban(&cy, Some(Until::Forever)).await.unwrap();
    for room in [&r, &other] {
        assert_eq!(
            m.sanctions(room, &cy, now).await.unwrap().ban,
            Some(Until::Forever),
            "every room"
        );
    }
    m.set_server_ban(&cy, None).await.unwrap();
    assert_eq!(
        m.sanctions(&r, &cy, now).await.unwrap(),
        Sanctions::default()
    );
    assert_eq!(m.slow_mode(&r).await.unwrap(), 0);
    m.set_slow_mode(&r, 30).await.unwrap();
    assert_eq!(m.slow_mode(&r).await.unwrap(), 30);
    m.set_slow_mode(&r, 0).await.unwrap();
    assert_eq!(m.slow_mode(&r).await.unwrap(), 0);
    let act = |act, ts| Act {
        act,
        by: "acct:ann".into(),
        target: Some(bob.clone()),
        seq: None,
        ts,
        detail: Some("60 s".into()),
    };
    m.record(&r, &act(ActKind::Mute, 1)).await.unwrap();
    m.record(
        &r,
        &Act {
            seq: Some(4),
            target: None,
            detail: None,
            ..act(ActKind::Delete, 2)
        },
    )
    .await
    .unwrap();
    m.record(&other, &act(ActKind::Ban, 3)).await.unwrap();
    let acts = m.acts(&r).await.unwrap();
    assert_eq!(acts.len(), 2);
    assert_eq!(acts[0], act(ActKind::Mute, 1));
    assert_eq!(
        (acts[1].act, acts[1].seq, acts[1].target.as_ref()),
        (ActKind::Delete, Some(4), None)
    );
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conforms() {
        super::conformance(&super::MemoryModeration::default()).await;
    }
}
