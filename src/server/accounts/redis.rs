//! Accounts and sessions in Redis, for a cluster: a session made on one node works on
//! every node, and a sign-out on one is seen by all at once (the session key is gone,
//! and the sign-out is published on `P:revoked`, which every node's subscription hears
//! and answers by closing that session's sockets).
//!
//! Keys (under the deployment's prefix `P`):
//! - `P:account:<name key>`: hash `id`, `name`, `hash` (created only if absent);
//! - `P:account-names`: hash user id → name (what a new session records);
//! - `P:session:<sha-256 hex>`: hash `user`, `name`, `expires`, expiring with the session;
//! - `P:account-sessions:<user>`: sorted set session → created, to keep the newest few.

use super::{Account, AccountStore, CreateError, SessionHash, StoredAccount};
use crate::protocol::{UserId, UserName};
use crate::server::engine::redis::keys::Keys;
use crate::server::store::{now_ms, StoreError};
use async_trait::async_trait;
use redis::aio::ConnectionManager;

/// KEYS: account, the id → name index. ARGV: id, name, hash.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'hash', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1";

/// KEYS: session, account's sessions. ARGV: hex, user, name, expires ms, keep, now ms,
/// the session key prefix.
const CREATE_SESSION: &str = r"
redis.call('HSET', KEYS[1], 'user', ARGV[2], 'name', ARGV[3], 'expires', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
local keep = tonumber(ARGV[5])
local old = redis.call('ZRANGE', KEYS[2], 0, -(keep + 1))
for _, h in ipairs(old) do redis.call('DEL', ARGV[7] .. h) end
if #old > 0 then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, #old - 1) end
redis.call('PEXPIREAT', KEYS[2], ARGV[4])
return 1";

/// KEYS: session. ARGV: hex, the account-sessions key prefix, the revocation channel.
const DELETE_SESSION: &str = r"
local user = redis.call('HGET', KEYS[1], 'user')
redis.call('DEL', KEYS[1])
if user then redis.call('ZREM', ARGV[2] .. user, ARGV[1]) end
redis.call('PUBLISH', ARGV[3], ARGV[1])
return 1";

/// [`AccountStore`] over Redis.
pub struct RedisAccounts {
    conn: ConnectionManager,
    keys: Keys,
}

fn unavailable(source: redis::RedisError) -> StoreError {
    StoreError::Redis {
        context: "accounts",
        source,
    }
}

fn corrupt(what: &'static str) -> StoreError {
    StoreError::Corrupt {
        what,
        source: "unreadable value in Redis".into(),
    }
}

/// The hex form of a session hash, as keys and the revocation channel carry it.
pub fn hex(hash: &SessionHash) -> String {
    hash.0.iter().map(|b| format!("{b:02x}")).collect()
}

/// A session hash back from its hex form.
pub fn unhex(s: &str) -> Option<SessionHash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(SessionHash(out))
}

impl RedisAccounts {
    /// Accounts on `conn` under the prefix in `keys`.
    pub fn new(conn: ConnectionManager, keys: Keys) -> Self {
        Self { conn, keys }
    }

    fn session_key(&self, hash: &SessionHash) -> String {
        format!("{}{}", self.keys.session_prefix(), hex(hash))
    }
}

#[async_trait]
impl AccountStore for RedisAccounts {
    async fn create(&self, account: &Account, password_hash: &str) -> Result<(), CreateError> {
        let made: i64 = redis::cmd("EVAL")
            .arg(CREATE)
            .arg(2)
            .arg(self.keys.account(&super::name_key(&account.name)))
            .arg(self.keys.account_names())
            .arg(account.user.as_str())
            .arg(account.name.as_str())
            .arg(password_hash)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if made == 0 {
            return Err(CreateError::NameTaken);
        }
        Ok(())
    }

    async fn by_name(&self, name_key: &str) -> Result<Option<StoredAccount>, StoreError> {
        let (id, name, hash): (Option<String>, Option<String>, Option<String>) =
            redis::cmd("HMGET")
                .arg(self.keys.account(name_key))
                .arg("id")
                .arg("name")
                .arg("hash")
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
        let (Some(id), Some(name), Some(hash)) = (id, name, hash) else {
            return Ok(None);
        };
        Ok(Some(StoredAccount {
            account: Account {
                user: UserId::parse(&id).map_err(|_| corrupt("account id"))?,
                name: UserName::parse(&name).map_err(|_| corrupt("account name"))?,
            },
            password_hash: hash,
        }))
    }

    async fn names(
        &self,
        users: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, UserName>, StoreError> {
        if users.is_empty() {
            return Ok(Default::default());
        }
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.keys.account_names());
        for u in users {
            cmd.arg(u.as_str());
        }
        let names: Vec<Option<String>> = cmd
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        users
            .iter()
            .zip(names)
            .filter_map(|(u, n)| n.map(|n| (u, n)))
            .map(|(u, n)| {
                let name = UserName::parse(&n).map_err(|_| corrupt("account name"))?;
                Ok((u.clone(), name))
            })
            .collect()
    }

    async fn create_session(
        &self,
        hash: SessionHash,
        user: &UserId,
        expires_ms: u64,
        keep: usize,
    ) -> Result<(), StoreError> {
        let name = self
            .account_name(user)
            .await?
            .ok_or_else(|| corrupt("session's account"))?;
        let _: i64 = redis::cmd("EVAL")
            .arg(CREATE_SESSION)
            .arg(2)
            .arg(self.session_key(&hash))
            .arg(self.keys.account_sessions(user.as_str()))
            .arg(hex(&hash))
            .arg(user.as_str())
            .arg(name.as_str())
            .arg(expires_ms)
            .arg(keep)
            .arg(now_ms())
            .arg(self.keys.session_prefix())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn session(
        &self,
        hash: SessionHash,
        now_ms: u64,
    ) -> Result<Option<(Account, u64)>, StoreError> {
        let (user, name, expires): (Option<String>, Option<String>, Option<u64>) =
            redis::cmd("HMGET")
                .arg(self.session_key(&hash))
                .arg("user")
                .arg("name")
                .arg("expires")
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
        let (Some(user), Some(name), Some(expires)) = (user, name, expires) else {
            return Ok(None);
        };
        if expires <= now_ms {
            return Ok(None);
        }
        Ok(Some((
            Account {
                user: UserId::parse(&user).map_err(|_| corrupt("session user"))?,
                name: UserName::parse(&name).map_err(|_| corrupt("session name"))?,
            },
            expires,
        )))
    }

    async fn delete_session(&self, hash: SessionHash) -> Result<(), StoreError> {
        let _: i64 = redis::cmd("EVAL")
            .arg(DELETE_SESSION)
            .arg(1)
            .arg(self.session_key(&hash))
            .arg(hex(&hash))
            .arg(self.keys.account_sessions(""))
            .arg(self.keys.revoked())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl RedisAccounts {
    /// The name of the account with this user id (sessions carry it, so a socket's
    /// identity is one read), from the id → name index.
    async fn account_name(&self, user: &UserId) -> Result<Option<UserName>, StoreError> {
        let name: Option<String> = redis::cmd("HGET")
            .arg(self.keys.account_names())
            .arg(user.as_str())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        name.map(|n| UserName::parse(&n).map_err(|_| corrupt("account name")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::testing::RedisServer;

    #[tokio::test]
    async fn conforms_and_a_sign_out_is_published() {
        let server = RedisServer::start();
        let accounts = RedisAccounts::new(server.connection().await, Keys::new("acc"));
        super::super::memory::conformance(&accounts).await;
        assert_eq!(
            unhex(&hex(&SessionHash([7; 32]))),
            Some(SessionHash([7; 32]))
        );
        assert_eq!(unhex("zz"), None);
    }
}
