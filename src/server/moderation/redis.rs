//! Bans, mutes, slow mode and the audit log in Redis, read by every node at each check.
//!
//! Keys: `P:{room}:sanctions` (hash `ban:<user>` / `mute:<user>` → end in ms, 0 for
//! good), `P:{room}:policy` (hash `slow_mode_s`), `P:{room}:audit` (list of JSON acts,
//! trimmed to the newest [`MAX_ACTS`]).

use super::{Act, ModerationStore, Sanctions, Until, MAX_ACTS};
use crate::protocol::{RoomName, SanctionKind, UserId};
use crate::server::engine::redis::keys::Keys;
use crate::server::store::StoreError;
use async_trait::async_trait;
use redis::aio::ConnectionManager;

/// [`ModerationStore`] over Redis.
pub struct RedisModeration {
    conn: ConnectionManager,
    keys: Keys,
}

impl RedisModeration {
    /// On `conn` under the prefix in `keys`.
    pub fn new(conn: ConnectionManager, keys: Keys) -> Self {
        Self { conn, keys }
    }
}

fn unavailable(source: redis::RedisError) -> StoreError {
    StoreError::Redis {
        context: "moderation",
        source,
    }
}

fn field(kind: SanctionKind, user: &UserId) -> String {
    format!("{}:{}", kind.as_str(), user.as_str())
}

#[async_trait]
impl ModerationStore for RedisModeration {
    async fn sanctions(
        &self,
        room: &RoomName,
        user: &UserId,
        now_ms: u64,
    ) -> Result<Sanctions, StoreError> {
        let ((ban, mute), everywhere): ((Option<u64>, Option<u64>), Option<u64>) = redis::pipe()
            .cmd("HMGET")
            .arg(self.keys.room_sanctions(room))
            .arg(field(SanctionKind::Ban, user))
            .arg(field(SanctionKind::Mute, user))
            .cmd("HGET")
            .arg(self.keys.server_bans())
            .arg(user.as_str())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let read = |v: Option<u64>| {
            v.map(|t| if t == 0 { Until::Forever } else { Until::At(t) })
                .filter(|u| u.holds_at(now_ms))
        };
        Ok(Sanctions {
            ban: read(everywhere).or(read(ban)),
            mute: read(mute),
            everywhere: read(everywhere).is_some(),
        })
    }

    async fn sanction(
        &self,
        room: &RoomName,
        user: &UserId,
        kind: SanctionKind,
        until: Until,
    ) -> Result<(), StoreError> {
        let key = self.keys.room_sanctions(room);
        let mut conn = self.conn.clone();
        // Ended ones go as new ones come: the hash holds those in force and few more.
        let all: Vec<(String, u64)> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let now = crate::server::store::now_ms();
        let ended: Vec<&String> = all
            .iter()
            .filter(|(_, t)| *t != 0 && *t <= now)
            .map(|(f, _)| f)
            .collect();
        let mut pipe = redis::pipe();
        if !ended.is_empty() {
            pipe.cmd("HDEL").arg(&key).arg(ended).ignore();
        }
        pipe.cmd("HSET")
            .arg(&key)
            .arg(field(kind, user))
            .arg(until.as_ms().unwrap_or(0))
            .ignore();
        pipe.query_async::<()>(&mut conn).await.map_err(unavailable)
    }

    async fn lift(
        &self,
        room: &RoomName,
        user: &UserId,
        kind: SanctionKind,
    ) -> Result<(), StoreError> {
        redis::cmd("HDEL")
            .arg(self.keys.room_sanctions(room))
            .arg(field(kind, user))
            .query_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn set_server_ban(&self, user: &UserId, until: Option<Until>) -> Result<(), StoreError> {
        let cmd = match until {
            Some(u) => {
                let mut c = redis::cmd("HSET");
                c.arg(self.keys.server_bans())
                    .arg(user.as_str())
                    .arg(u.as_ms().unwrap_or(0));
                c
            }
            None => {
                let mut c = redis::cmd("HDEL");
                c.arg(self.keys.server_bans()).arg(user.as_str());
                c
            }
        };
        cmd.query_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn slow_mode(&self, room: &RoomName) -> Result<u32, StoreError> {
        let s: Option<u32> = redis::cmd("HGET")
            .arg(self.keys.room_policy(room))
            .arg("slow_mode_s")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(s.unwrap_or(0))
    }

    async fn set_slow_mode(&self, room: &RoomName, seconds: u32) -> Result<(), StoreError> {
        let cmd = if seconds == 0 {
            let mut c = redis::cmd("HDEL");
            c.arg(self.keys.room_policy(room)).arg("slow_mode_s");
            c
        } else {
            let mut c = redis::cmd("HSET");
            c.arg(self.keys.room_policy(room))
                .arg("slow_mode_s")
                .arg(seconds);
            c
        };
        cmd.query_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn record(&self, room: &RoomName, act: &Act) -> Result<(), StoreError> {
        let json = serde_json::to_string(act).map_err(|e| StoreError::Corrupt {
            what: "act",
            source: e.into(),
        })?;
        let key = self.keys.room_audit(room);
        redis::pipe()
            .atomic()
            .cmd("RPUSH")
            .arg(&key)
            .arg(json)
            .ignore()
            .cmd("LTRIM")
            .arg(&key)
            .arg(-(MAX_ACTS as i64))
            .arg(-1)
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }

    async fn acts(&self, room: &RoomName) -> Result<Vec<Act>, StoreError> {
        let all: Vec<String> = redis::cmd("LRANGE")
            .arg(self.keys.room_audit(room))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        all.iter()
            .map(|j| {
                serde_json::from_str(j).map_err(|e| StoreError::Corrupt {
                    what: "act",
                    source: e.into(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conforms() {
        let server = crate::server::testing::RedisServer::start();
        let m = super::RedisModeration::new(server.connection().await, super::Keys::new("mod"));
        super::super::memory::conformance(&m).await;
    }
}
