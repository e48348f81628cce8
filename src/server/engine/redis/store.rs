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
            .arg(3)
            .arg(self.keys.meta(&draft.room))
            .arg(self.keys.log(&draft.room))
            .arg(self.keys.ids(&draft.room))
            .arg(draft.client_id.as_str())
            .arg(tail)
            .arg(new_epoch().as_str())
            .arg(self.retention.max_messages)
            .arg(max_age_ms)
            .arg(self.keys.channel(&draft.room))
            .arg(self.retention.max_bytes)
            .arg(u8::from(self.rooms.full()))
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
                }))
            }
            [0, seq] => Ok(Appended::Duplicate { seq: *seq }),
            [2] => Err(StoreError::RoomsFull {
                max: self.rooms.max,
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
        Ok(Range {
            messages: crate::server::store::within_bytes(messages, max_bytes),
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
        Ok(HistoryPage { messages, has_more })
    }

    async fn message(&self, room: &RoomName, seq: u64) -> Result<Option<Message>, StoreError> {
        Ok(match self.stored(room, seq).await? {
            Some(json) => Some(parse_message(&json)?),
            None => None,
        })
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
                .arg(2)
                .arg(self.keys.meta(room))
                .arg(self.keys.log(room))
                .arg(seq)
                .arg(&json)
                .arg(&new)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            if replaced == 1 {
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
mod tests {
    use super::*;
    use crate::server::store::conformance as c;
    use crate::server::testing::RedisServer;
    use std::sync::Arc;
    use std::time::Duration;

    async fn store(server: &RedisServer, cap: u64) -> Arc<dyn Store> {
        let conn = server.connection().await;
        Arc::new(RedisStore::new(
            conn,
            Keys::new(&format!("t{cap}")),
            Retention {
                max_messages: cap,
                ..Retention::default()
            },
        ))
    }

    #[tokio::test]
    async fn reading_a_room_leaves_no_permanent_key_and_publishing_makes_it_permanent() {
        let server = RedisServer::start();
        let s = store(&server, 100).await;
        let mut conn = server.connection().await;
        let keys = Keys::new("t100");
        for i in 0..50 {
            s.meta(&RoomName::parse(&format!("probe{i}")).unwrap())
                .await
                .unwrap();
        }
        let ttl: i64 = redis::cmd("PTTL")
            .arg(keys.meta(&RoomName::parse("probe7").unwrap()))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(
            ttl > 0 && ttl <= UNUSED_ROOM_TTL.as_millis() as i64,
            "a read room's meta expires: {ttl}"
        );
        s.append(c::draft("probe7", "x1")).await.unwrap();
        let ttl: i64 = redis::cmd("PTTL")
            .arg(keys.meta(&RoomName::parse("probe7").unwrap()))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(ttl, -1, "a room with a message keeps its seq and epoch");
    }

    #[tokio::test]
    async fn conforms() {
        let server = RedisServer::start();
        c::seqs_are_gapless_per_room_and_dedup_by_client_id(store(&server, 100).await).await;
        c::range_and_retention_by_count(store(&server, 5).await).await;
        c::history_pages_backwards(store(&server, 101).await).await;
        c::concurrent_appends_stay_gapless(store(&server, 10_000).await).await;
        c::empty_rooms_already_have_their_epoch(store(&server, 10).await).await;
        c::appends_take_their_place_on_the_first_poll(store(&server, 1000).await).await;
        c::range_is_bounded_by_bytes(store(&server, 1001).await).await;
        c::users_are_stored_with_their_messages(store(&server, 1002).await).await;
        c::amendments_change_what_every_read_returns(store(&server, 1002).await).await;
        c::retention_by_bytes(Arc::new(RedisStore::new(
            server.connection().await,
            Keys::new("bytes"),
            Retention {
                max_bytes: 1000,
                ..Retention::default()
            },
        )))
        .await;
        c::rooms_are_capped(Arc::new(RedisStore::new(
            server.connection().await,
            Keys::new("capped"),
            Retention {
                max_rooms: 2,
                ..Retention::default()
            },
        )))
        .await;
    }

    #[tokio::test]
    async fn a_room_whose_log_expired_frees_its_place_at_the_census() {
        let server = RedisServer::start();
        let s = RedisStore::new(
            server.connection().await,
            Keys::new("census"),
            Retention {
                max_age: Some(Duration::from_millis(300)),
                max_rooms: 1,
                ..Retention::default()
            },
        );
        c::seq(s.append(c::draft("a", "1")).await.unwrap());
        assert!(matches!(
            s.append(c::draft("b", "1")).await,
            Err(StoreError::RoomsFull { max: 1 })
        ));
        assert_eq!(s.census().await.unwrap(), 1, "a still holds");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(s.census().await.unwrap(), 0, "a's log expired");
        assert_eq!(c::seq(s.append(c::draft("b", "1")).await.unwrap()), 1);
        // a, its log gone, is a new room now: the cap refuses it. b counts its bytes afresh.
        assert!(matches!(
            s.append(c::draft("a", "2")).await,
            Err(StoreError::RoomsFull { .. })
        ));
        let mut conn = server.connection().await;
        let keys = Keys::new("census");
        let b = RoomName::parse("b").unwrap();
        let (bytes, member): (u64, Vec<String>) = redis::pipe()
            .cmd("HGET")
            .arg(keys.meta(&b))
            .arg("bytes")
            .cmd("ZRANGE")
            .arg(keys.log(&b))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(bytes, member[0].len() as u64);
    }

    #[tokio::test]
    async fn old_messages_expire_by_age_with_their_client_ids() {
        let server = RedisServer::start();
        let s = RedisStore::new(
            server.connection().await,
            Keys::new("age"),
            Retention {
                max_age: Some(Duration::from_millis(300)),
                ..Retention::default()
            },
        );
        let room = RoomName::parse("r").unwrap();
        c::seq(s.append(c::draft("r", "old")).await.unwrap());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(c::seq(s.append(c::draft("r", "new")).await.unwrap()), 2);
        let r = s.range(&room, 0, u64::MAX, 10, usize::MAX).await.unwrap();
        assert_eq!(r.messages.len(), 1, "the old message is gone");
        assert!(!r.complete);
        // Its id went with it: the same client_id is a new message now.
        assert_eq!(c::seq(s.append(c::draft("r", "old")).await.unwrap()), 3);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let page = s.history(&room, None, 10).await.unwrap();
        assert!(page.messages.is_empty(), "an idle room's log expires whole");
        assert_eq!(s.meta(&room).await.unwrap().last_seq, 3, "but seqs go on");
    }

    #[test]
    fn the_tail_completes_a_message_json() {
        let d = c::draft("r", "c1");
        let json = format!(r#"{{"seq":7,"ts":9{}"#, RedisStore::tail(&d).unwrap());
        let m = parse_message(&json).unwrap();
        assert_eq!((m.seq, m.ts, m.client_id.as_str()), (7, 9, "c1"));
    }
}
