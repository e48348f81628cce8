//! Room settings, members and invites in Redis, so every node of a cluster sees a change
//! at once (each check reads Redis; nothing is cached on a node).
//!
//! Keys: `P:{room}:settings` (hash `visibility`, `owner`), `P:{room}:members` (hash user →
//! role), `P:{room}:invites` (sorted set code hash → expiry), `P:invite:<hex>` (the room,
//! expiring with the invite), `P:user-rooms:{user}` (set of the rooms a user owns or is a
//! member of: the index by user, kept by the same scripts that change members).

use super::{
    DirectoryError, Role, RoomDirectory, RoomSettings, Visibility, MAX_INVITES, MAX_MEMBERS,
};
use crate::protocol::{RoomName, UserId};
use crate::server::engine::redis::keys::Keys;
use crate::server::store::StoreError;
use async_trait::async_trait;
use redis::aio::ConnectionManager;

/// KEYS: settings, the owner's rooms. ARGV: visibility, owner ('' for none), room.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'visibility', ARGV[1], 'owner', ARGV[2])
if ARGV[2] ~= '' then redis.call('SADD', KEYS[2], ARGV[3]) end
return 1";

/// KEYS: members, the user's rooms. ARGV: user, role, max, room.
const SET_MEMBER: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
return 1";

/// KEYS: members, the user's rooms, settings. ARGV: user, room. The room stays among the
/// user's when they own it.
const REMOVE_MEMBER: &str = r"
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[3], 'owner') ~= ARGV[1] then redis.call('SREM', KEYS[2], ARGV[2]) end
return 1";

/// KEYS: the room's invites, the invite. ARGV: hex, room, expires, now, max.
const ADD_INVITE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3])
return 1";

/// [`RoomDirectory`] over Redis.
pub struct RedisRooms {
    conn: ConnectionManager,
    keys: Keys,
}

impl RedisRooms {
    /// Rooms on `conn` under the prefix in `keys`.
    pub fn new(conn: ConnectionManager, keys: Keys) -> Self {
        Self { conn, keys }
    }
}

fn unavailable(source: redis::RedisError) -> StoreError {
    StoreError::Redis {
        context: "rooms",
        source,
    }
}

fn corrupt(what: &'static str) -> StoreError {
    StoreError::Corrupt {
        what,
        source: "unreadable value in Redis".into(),
    }
}

fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl RoomDirectory for RedisRooms {
    async fn settings(&self, room: &RoomName) -> Result<Option<RoomSettings>, StoreError> {
        let (v, owner): (Option<String>, Option<String>) = redis::cmd("HMGET")
            .arg(self.keys.room_settings(room))
            .arg("visibility")
            .arg("owner")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let Some(v) = v else { return Ok(None) };
        Ok(Some(RoomSettings {
            visibility: Visibility::parse(&v).ok_or_else(|| corrupt("visibility"))?,
            owner: owner
                .filter(|o| !o.is_empty())
                .map(|o| UserId::parse(&o).map_err(|_| corrupt("owner")))
                .transpose()?,
        }))
    }

    async fn create(&self, room: &RoomName, settings: &RoomSettings) -> Result<(), DirectoryError> {
        let made: i64 = redis::cmd("EVAL")
            .arg(CREATE)
            .arg(2)
            .arg(self.keys.room_settings(room))
            .arg(
                self.keys
                    .user_rooms(settings.owner.as_ref().map_or("", |o| o.as_str())),
            )
            .arg(settings.visibility.as_str())
            .arg(settings.owner.as_ref().map_or("", |o| o.as_str()))
            .arg(room.as_str())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if made == 0 {
            return Err(DirectoryError::Exists);
        }
        Ok(())
    }

    async fn member(&self, room: &RoomName, user: &UserId) -> Result<Option<Role>, StoreError> {
        let role: Option<String> = redis::cmd("HGET")
            .arg(self.keys.room_members(room))
            .arg(user.as_str())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        role.map(|r| Role::parse(&r).ok_or_else(|| corrupt("role")))
            .transpose()
    }

    async fn set_member(
        &self,
        room: &RoomName,
        user: &UserId,
        role: Role,
    ) -> Result<(), DirectoryError> {
        let done: i64 = redis::cmd("EVAL")
            .arg(SET_MEMBER)
            .arg(2)
            .arg(self.keys.room_members(room))
            .arg(self.keys.user_rooms(user.as_str()))
            .arg(user.as_str())
            .arg(role.as_str())
            .arg(MAX_MEMBERS)
            .arg(room.as_str())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if done == 0 {
            return Err(DirectoryError::Full("members"));
        }
        Ok(())
    }

    async fn rooms_of(&self, user: &UserId, max: usize) -> Result<Vec<RoomName>, StoreError> {
        let all: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.user_rooms(user.as_str()))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let mut rooms = all
            .iter()
            .map(|r| RoomName::parse(r).map_err(|_| corrupt("room")))
            .collect::<Result<Vec<_>, StoreError>>()?;
        rooms.sort();
        rooms.truncate(max);
        Ok(rooms)
    }

    async fn members(&self, room: &RoomName) -> Result<Vec<(UserId, Role)>, StoreError> {
        let all: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.keys.room_members(room))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let mut members = all
            .into_iter()
            .map(|(user, role)| {
                Ok((
                    UserId::parse(&user).map_err(|_| corrupt("member"))?,
                    Role::parse(&role).ok_or_else(|| corrupt("role"))?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        members.sort();
        Ok(members)
    }

    async fn remove_member(&self, room: &RoomName, user: &UserId) -> Result<(), StoreError> {
        let _: i64 = redis::cmd("EVAL")
            .arg(REMOVE_MEMBER)
            .arg(3)
            .arg(self.keys.room_members(room))
            .arg(self.keys.user_rooms(user.as_str()))
            .arg(self.keys.room_settings(room))
            .arg(user.as_str())
            .arg(room.as_str())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn add_invite(
        &self,
        hash: [u8; 32],
        room: &RoomName,
        expires_ms: u64,
    ) -> Result<(), DirectoryError> {
        let done: i64 = redis::cmd("EVAL")
            .arg(ADD_INVITE)
            .arg(2)
            .arg(self.keys.room_invites(room))
            .arg(self.keys.invite(&hex(&hash)))
            .arg(hex(&hash))
            .arg(room.as_str())
            .arg(expires_ms)
            .arg(crate::server::store::now_ms())
            .arg(MAX_INVITES)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if done == 0 {
            return Err(DirectoryError::Full("invites"));
        }
        Ok(())
    }

    async fn invite(&self, hash: [u8; 32], _now_ms: u64) -> Result<Option<RoomName>, StoreError> {
        // The key expires with the invite.
        let room: Option<String> = redis::cmd("GET")
            .arg(self.keys.invite(&hex(&hash)))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        room.map(|r| RoomName::parse(&r).map_err(|_| corrupt("invite room")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conforms() {
        let server = crate::server::testing::RedisServer::start();
        let rooms = super::RedisRooms::new(server.connection().await, super::Keys::new("rooms"));
        // The contract's expiry check asks for a time past the expiry; Redis expires by
        // its own clock, so only the live part is checked here.
        super::super::memory::conformance_live(&rooms).await;
    }
}
