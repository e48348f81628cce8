//! Room history in Redis: the [`Store`] half of the Redis engine.
//!
//! Per room (`{room}` is a Redis Cluster hash tag, so a room's keys always share a shard):
//! - `P:{room}:meta`: hash `epoch`, `last` (the newest seq);
//! - `P:{room}:log`: sorted set, score = seq, member = the message's JSON;
//! - `P:{room}:ids`: sorted set, score = seq, member = client_id (idempotency, trimmed
//!   with the log);
//! - channel `P:{room}`: `m` + message JSON for every stored message, `p` + presence,
//!   `n` + a note to the nodes (evictions, mutes, amended messages: `RoomNote`).
//!
//! `lua/append.lua` assigns the seq, stores, trims and publishes in one script: scripts
//! run alone in Redis, so seqs are gapless, a seq is in the log before any node hears of
//! it, and a retried `client_id` finds its original from any node. The append is sent as
//! `EVAL` (the script's text each time), not `EVALSHA`: after a Redis restart `EVALSHA`
//! fails with NOSCRIPT and the retries of a connection's pipelined publishes could reach
//! Redis in another order than the publishes were made.

use super::keys::Keys;
use super::room_cap::RoomCap;
use crate::protocol::{ClientId, Epoch, Message, RoomName};
use crate::server::store::{
    new_epoch, Appended, Draft, HistoryPage, Range, Retention, RoomMeta, Store, StoreError,
};
use async_trait::async_trait;
use redis::aio::ConnectionManager;
use serde::Serialize;
use std::sync::Arc;

const APPEND: &str = include_str!("lua/append.lua");
const META: &str = include_str!("lua/meta.lua");
const RANGE: &str = include_str!("lua/range.lua");
const AMEND: &str = include_str!("lua/amend.lua");
const PURGE: &str = include_str!("lua/purge.lua");

/// [`Store`] over one Redis.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    keys: Keys,
    retention: Retention,
    append_script: String,
    rooms: Arc<RoomCap>,
}

/// The fields of a message that the node knows before Redis assigns `seq` and `ts`.
#[derive(Serialize)]
struct Tail<'a> {
    room: &'a RoomName,
    from: &'a crate::protocol::UserName,
    body: &'a crate::protocol::Body,
    client_id: &'a ClientId,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a crate::protocol::UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<u64>,
}

/// How long Redis keeps the meta (epoch) of a room nobody has published in: reads and
/// joins of any name create one, so without a TTL a stranger could fill Redis with them.
pub const UNUSED_ROOM_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A Redis failure as the store reports it.
pub fn unavailable(source: redis::RedisError) -> StoreError {
    StoreError::Redis {
        context: "store",
        source,
    }
}

fn corrupt(
    what: &'static str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::Corrupt {
        what,
        source: source.into(),
    }
}

/// Drops comment lines: the append script is sent with every publish.
fn strip_comments(script: &str) -> String {
    script
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_message(json: &str) -> Result<Message, StoreError> {
    serde_json::from_str(json).map_err(|e| corrupt("message", e))
}

impl RedisStore {
    /// The key names.
    pub(super) fn keys(&self) -> &Keys {
        &self.keys
    }

    /// What the store keeps.
    pub(super) fn retention(&self) -> Retention {
        self.retention
    }

    /// A handle on the connection (cheap: it is shared).
    pub(super) fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The stored JSON of message `seq`, if the log holds it.
    async fn stored(&self, room: &RoomName, seq: u64) -> Result<Option<String>, StoreError> {
        let mut found: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.keys.log(room))
            .arg(seq)
            .arg(seq)
            .arg("BYSCORE")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(found.pop())
    }

    /// A store on `conn` (which reconnects by itself) under the key prefix in `keys`.
    pub fn new(conn: ConnectionManager, keys: Keys, retention: Retention) -> Self {
        Self {
            conn,
            keys,
            retention,
            append_script: strip_comments(APPEND),
            rooms: RoomCap::new(retention.max_rooms, retention.max_age),
        }
    }

    /// The cap on rooms holding messages, for the census task.
    pub fn room_cap(&self) -> &Arc<RoomCap> {
        &self.rooms
    }

    /// Runs the room census now (it also runs every [`super::room_cap::CENSUS_EVERY`]).
    pub async fn census(&self) -> Result<u64, StoreError> {
        super::room_cap::census(&self.rooms, &self.conn, &self.keys)
            .await
            .map_err(unavailable)
    }

    /// The JSON of a message after its `ts`: `,"room":…,"from":…,"body":…,"client_id":…}`.
    fn tail(draft: &Draft) -> Result<String, StoreError> {
        let json = serde_json::to_string(&Tail {
            room: &draft.room,
            from: &draft.from,
            body: &draft.body,
            client_id: &draft.client_id,
            user: draft.user.as_ref(),
            reply_to: draft.reply_to,
        })
        .map_err(|e| corrupt("draft", e))?;
        Ok(format!(",{}", &json[1..]))
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn meta(&self, room: &RoomName) -> Result<RoomMeta, StoreError> {
        let (epoch, last_seq): (String, u64) = redis::cmd("EVAL")
            .arg(META)
            .arg(1)
            .arg(self.keys.meta(room))
            .arg(new_epoch().as_str())
            .arg(UNUSED_ROOM_TTL.as_millis() as u64)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(RoomMeta {
            epoch: Epoch::new(epoch),
            last_seq,
        })
    }

    async fn append(&self, draft: Draft) -> Result<Appended, StoreError> {
        let tail = Self::tail(&draft)?;
        let max_age_ms = self.retention.max_age.map_or(0, |d| d.as_millis() as u64);
        // Built and handed to the connection in the first poll (see `Hub::publish`).
        let reply: Vec<u64> = redis::cmd("EVAL")
            .arg(&self.append_script)
            .arg(5)
            .arg(self.keys.meta(&draft.room))
            .arg(self.keys.log(&draft.room))
            .arg(self.keys.ids(&draft.room))
            .arg(self.keys.reaction_seqs(&draft.room))
            .arg(self.keys.reaction_counts(&draft.room))
            .arg(draft.client_id.as_str())
            .arg(tail)
            .arg(new_epoch().as_str())
            .arg(self.retention.max_messages)
            .arg(max_age_ms)
            .arg(self.keys.channel(&draft.room))
            .arg(self.retention.max_bytes)
            .arg(u8::from(self.rooms.full()))
            .arg(self.keys.reactors_prefix(&draft.room))
            .arg(draft.reply_to.map_or_else(String::new, |s| s.to_string()))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        match reply.as_slice() {
            [1, seq, ts, fresh] => {
                if *fresh == 1 {
                    self.rooms
                        .counted(&self.conn, &self.keys, &draft.room)
                        .await;
                }
                Ok(Appended::Stored(Message {
                    room: draft.room,
                    seq: *seq,
                    from: draft.from,
                    content: crate::protocol::Content::text(draft.body),
                    ts: *ts,
                    client_id: draft.client_id,
                    user: draft.user,
                    reply_to: draft.reply_to,
                    reactions: Default::default(),
                }))
            }
            [0, seq] => Ok(Appended::Duplicate { seq: *seq }),
            [2] => Err(StoreError::RoomsFull {
                max: self.rooms.max,
            }),
            [3] => Err(StoreError::NoSuchReply {
                seq: draft.reply_to.unwrap_or(0),
            }),
            other => Err(corrupt("append reply", format!("{other:?}"))),
        }
    }

    async fn range(
        &self,
        room: &RoomName,
        after: u64,
        until: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Range, StoreError> {
        let (oldest, members): (u64, Vec<String>) = redis::cmd("EVAL")
            .arg(RANGE)
            .arg(2)
            .arg(self.keys.log(room))
            .arg(self.keys.meta(room))
            .arg(after)
            .arg(until)
            .arg(max)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let messages = members
            .iter()
            .map(|m| parse_message(m))
            .collect::<Result<Vec<_>, _>>()?;
        let mut messages = crate::server::store::within_bytes(messages, max_bytes);
        self.attach_reactions(room, &mut messages).await?;
        Ok(Range {
            messages,
            complete: after + 1 >= oldest || after + 1 >= until,
        })
    }

    async fn history(
        &self,
        room: &RoomName,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        let top = before.map_or_else(|| "+inf".to_string(), |b| format!("({b}"));
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.keys.log(room))
            .arg(top)
            .arg("-inf")
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(limit + 1)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let has_more = members.len() > limit;
        let mut messages = members
            .iter()
            .take(limit)
            .map(|m| parse_message(m))
            .collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        self.attach_reactions(room, &mut messages).await?;
        Ok(HistoryPage { messages, has_more })
    }

    async fn purge(&self, room: &RoomName) -> Result<RoomMeta, StoreError> {
        let epoch = new_epoch();
        let _: i64 = redis::cmd("EVAL")
            .arg(PURGE)
            .arg(5)
            .arg(self.keys.meta(room))
            .arg(self.keys.log(room))
            .arg(self.keys.ids(room))
            .arg(self.keys.reaction_seqs(room))
            .arg(self.keys.reaction_counts(room))
            .arg(epoch.as_str())
            .arg(UNUSED_ROOM_TTL.as_millis() as u64)
            .arg(self.keys.reactors_prefix(room))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(RoomMeta { epoch, last_seq: 0 })
    }

    async fn message(&self, room: &RoomName, seq: u64) -> Result<Option<Message>, StoreError> {
        let Some(json) = self.stored(room, seq).await? else {
            return Ok(None);
        };
        let mut found = [parse_message(&json)?];
        self.attach_reactions(room, &mut found).await?;
        let [msg] = found;
        Ok(Some(msg))
    }

    async fn react(
        &self,
        room: &RoomName,
        seq: u64,
        reaction: crate::server::store::Reaction,
    ) -> Result<crate::server::store::Reacted, StoreError> {
        self.react_in_redis(room, seq, reaction).await
    }

    async fn reactors(
        &self,
        room: &RoomName,
        seq: u64,
        key: &str,
    ) -> Result<Option<crate::server::store::Reactors>, StoreError> {
        self.reactors_in_redis(room, seq, key).await
    }

    /// Replaces the log's member for `seq` in a script that first checks it is still the
    /// one read (a concurrent amendment of the same message makes it read again). The old
    /// text leaves Redis's memory with the member; on Redis's own disk it is gone after
    /// its next RDB save or AOF rewrite (`docs/operations.md`).
    async fn amend(
        &self,
        room: &RoomName,
        seq: u64,
        change: crate::server::store::Amendment,
    ) -> Result<Option<Message>, StoreError> {
        for _ in 0..8 {
            let Some(json) = self.stored(room, seq).await? else {
                return Ok(None);
            };
            let mut msg = parse_message(&json)?;
            change.apply(&mut msg);
            let new = serde_json::to_string(&msg).map_err(|e| corrupt("message", e))?;
            let replaced: u8 = redis::cmd("EVAL")
                .arg(AMEND)
                .arg(5)
                .arg(self.keys.meta(room))
                .arg(self.keys.log(room))
                .arg(self.keys.reaction_seqs(room))
                .arg(self.keys.reaction_counts(room))
                .arg(self.keys.reactors(room, seq))
                .arg(seq)
                .arg(&json)
                .arg(&new)
                .arg(if msg.is_deleted() { "1" } else { "0" })
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            if replaced == 1 {
                let mut found = [msg];
                self.attach_reactions(room, &mut found).await?;
                let [msg] = found;
                return Ok(Some(msg));
            }
        }
        Err(StoreError::TimedOut(
            "amending a message changed by others meanwhile",
        ))
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
