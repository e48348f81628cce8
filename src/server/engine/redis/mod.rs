//! The Redis engine: any number of Chorus nodes on one Redis, one room across all of them.
//!
//! - [`store`]: history, seqs, epochs and idempotency (a Lua script per publish that also
//!   broadcasts);
//! - [`bus`]: the node's subscription to the channels of the rooms it has members in;
//! - presence: each node records its members of a room under its node id
//!   (`lua/announce.lua`) and publishes the change; it re-announces every heartbeat, and
//!   a record not renewed within its TTL is ignored, so a node that dies leaves no ghosts
//!   for longer than the TTL;
//! - [`announcer`]: this node's presence announcements, newest state per room;
//! - [`keys`]: key names.
//!
//! Tests start a real `redis-server` with [`crate::server::testing::RedisServer`].
//!
//! docs/scaling.md has the design, the guarantees and the Redis settings they need.

pub mod announcer;
pub mod bus;
pub mod keys;
mod reactions;
pub mod room_cap;
pub mod store;

use self::bus::Bus;
use self::keys::Keys;
use self::store::{unavailable, RedisStore};
use crate::protocol::RoomName;
use crate::server::engine::presence::Announcement;
use crate::server::engine::{
    AdminCommand, ClusterEvent, Engine, NameCounts, NodePresence, RoomNote,
};
use crate::server::store::{Store, StoreError};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const ANNOUNCE: &str = include_str!("lua/announce.lua");
const PRESENCE: &str = include_str!("lua/presence.lua");

/// How long [`Engine::ask_room`] waits for the other nodes' answers.
const ASK_WAIT: Duration = Duration::from_millis(800);

/// How long an answer's list outlives a questioner that never collects it.
const REPLY_TTL: Duration = Duration::from_secs(10);

/// Cluster events waiting for the hub before the subscription stops reading.
const EVENT_BUFFER: usize = 8192;

/// How a node connects to Redis.
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// `redis://[:password@]host:port[/db]`.
    pub url: String,
    /// Prefix of every key and channel (deployments sharing a Redis use different ones).
    pub prefix: String,
    /// This node's id, unique in the cluster.
    pub node_id: String,
    /// History kept per room.
    pub retention: crate::server::store::Retention,
    /// How long a node's presence holds without renewal.
    pub presence_ttl: Duration,
    /// Longest wait for Redis to connect or answer before a call fails `unavailable`.
    pub timeout: Duration,
}

/// Why the engine cannot be set up (a bad URL; an unreachable Redis is not an error at
/// start: the node starts not ready and connects when it can).
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct RedisSetupError(#[from] redis::RedisError);

/// [`Engine`] over Redis.
pub struct RedisEngine {
    store: Arc<RedisStore>,
    conn: ConnectionManager,
    keys: Keys,
    node: String,
    ttl: Duration,
    bus: Bus,
    /// The newest unsent announcement of each room, sent by one task.
    announcements: Arc<announcer::Pending>,
}

/// A node's presence record in the room's hash.
#[derive(Deserialize)]
struct Record {
    at: u64,
    ttl_ms: u64,
    names: NameCounts,
    /// Absent from nodes older than versioned presence.
    #[serde(default)]
    v: u64,
}

impl RedisEngine {
    /// Sets up the connections (lazily: they are made on first use and remade after
    /// failures) and starts the subscription task.
    pub fn connect(
        options: RedisOptions,
    ) -> Result<(Arc<Self>, mpsc::Receiver<ClusterEvent>), RedisSetupError> {
        let client = redis::Client::open(options.url.as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let keys = Keys::new(&options.prefix);
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let bus = Bus::start(
            client,
            keys.clone(),
            options.node_id.clone(),
            options.timeout,
            tx,
        );
        let announcements = Arc::new(announcer::Pending::default());
        let store = Arc::new(RedisStore::new(
            conn.clone(),
            keys.clone(),
            options.retention,
        ));
        if options.retention.max_rooms > 0 {
            tokio::spawn(room_cap::run_census(
                Arc::downgrade(store.room_cap()),
                conn.clone(),
                keys.clone(),
            ));
        }
        let engine = Arc::new(Self {
            store,
            conn,
            keys,
            node: options.node_id,
            ttl: options.presence_ttl,
            bus,
            announcements: announcements.clone(),
        });
        tokio::spawn(announcer::run(
            Arc::downgrade(&engine),
            announcements,
            |engine: Arc<Self>, room: RoomName, (said, names): (Announcement, String)| async move {
                if let Err(e) = engine.send_announcement(&room, said, &names).await {
                    tracing::debug!(error = %e, room = %room.as_str(), "presence announcement lost");
                }
            },
        ));
        Ok((engine, rx))
    }

    /// The site's accounts and sessions in this Redis.
    pub fn accounts(&self) -> crate::server::accounts::redis::RedisAccounts {
        crate::server::accounts::redis::RedisAccounts::new(self.conn.clone(), self.keys.clone())
    }

    /// Room settings, members and invites in this Redis.
    pub fn rooms(&self) -> crate::server::rooms::redis::RedisRooms {
        crate::server::rooms::redis::RedisRooms::new(self.conn.clone(), self.keys.clone())
    }

    /// Bans, mutes, slow mode and the audit log in this Redis.
    pub fn moderation(&self) -> crate::server::moderation::redis::RedisModeration {
        crate::server::moderation::redis::RedisModeration::new(self.conn.clone(), self.keys.clone())
    }

    /// Sends `pipe` on its own task, logging a failure (as "cannot {what}"): for what a
    /// node tells the others without waiting, where each caller says why a lost one is
    /// harmless or repaired.
    fn fire(&self, pipe: redis::Pipeline, what: &'static str) {
        let mut conn = self.conn.clone();
        tokio::spawn(async move {
            if let Err(e) = pipe.query_async::<redis::Value>(&mut conn).await {
                tracing::warn!(error = %e, "cannot {what}");
            }
        });
    }

    /// One script records the whole list `names` in the room's presence hash (what a
    /// node reads when it starts listening) and publishes `said` on the room's channel:
    /// the whole list, or only the delta. The other nodes hear the delta; the hash write
    /// is the whole list (node → Redis, coalesced like the deltas), so a node that starts
    /// listening reads the current version and takes the next delta on top of it.
    async fn send_announcement(
        &self,
        room: &RoomName,
        said: Announcement,
        names: &str,
    ) -> Result<(), StoreError> {
        let ttl_ms = self.ttl.as_millis() as u64;
        let (v, delta) = match said {
            Announcement::Full { v, .. } => (v, String::new()),
            Announcement::Delta { base, v, changes } => {
                let payload = serde_json::json!({
                    "node": self.node, "ttl_ms": ttl_ms, "base": base, "v": v, "changes": changes,
                });
                (v, format!("d{payload}"))
            }
        };
        let _: i64 = redis::cmd("EVAL")
            .arg(ANNOUNCE)
            .arg(1)
            .arg(self.keys.presence(room))
            .arg(&self.node)
            .arg(names)
            .arg(ttl_ms)
            .arg(self.keys.channel(room))
            .arg(v)
            .arg(delta)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl Engine for RedisEngine {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    fn node_id(&self) -> &str {
        &self.node
    }

    fn heartbeat(&self) -> Option<Duration> {
        Some(self.ttl / 3)
    }

    async fn subscribe(&self, room: &RoomName) -> Result<Vec<NodePresence>, StoreError> {
        self.bus.subscribe(room).await?;
        self.presence(room).await
    }

    fn unsubscribe(&self, room: &RoomName) {
        self.bus.unsubscribe(room);
    }

    fn announce(&self, room: &RoomName, said: Announcement, names: &NameCounts) {
        // Names are serialised by serde; the node id is checked at start-up to be a
        // token, so the script can splice both into JSON as they are.
        let names = serde_json::to_string(names).unwrap_or_else(|_| "{}".into());
        self.announcements.announce(room, said, names);
    }

    fn notify(&self, room: &RoomName, note: &RoomNote) {
        // On the room's channel: only the nodes with members in it hear it. At most
        // once, as presence: a lost eviction leaves the user in until their next join
        // (which checks again), a lost amendment shows at the next page or replay.
        let payload = format!("n{}", serde_json::json!({"node": self.node, "note": note}));
        let mut pipe = redis::pipe();
        pipe.cmd("PUBLISH")
            .arg(self.keys.channel(room))
            .arg(payload);
        self.fire(pipe, "tell the other nodes of a room note");
    }

    fn share_numbers(&self, node: &str, json: &str) {
        let mut pipe = redis::pipe();
        pipe.cmd("HSET")
            .arg(self.keys.node_stats())
            .arg(node)
            .arg(json);
        self.fire(pipe, "share this node's numbers");
    }

    async fn numbers(&self) -> Result<Vec<String>, StoreError> {
        let all: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.keys.node_stats())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(all.into_iter().map(|(_, json)| json).collect())
    }

    fn admin(&self, cmd: &AdminCommand) {
        let payload = serde_json::json!({"node": self.node, "cmd": cmd}).to_string();
        let mut pipe = redis::pipe();
        pipe.cmd("PUBLISH").arg(self.keys.admin()).arg(payload);
        self.fire(pipe, "tell the other nodes of an operator's action");
    }

    /// Publishes the question with a fresh reply list's key; each node that hears it
    /// pushes its answer there. `PUBLISH` says how many nodes heard it (this one
    /// included, which ignores its own), so the wait ends as soon as all of them have
    /// answered, or after [`ASK_WAIT`] for a node that died in between.
    async fn ask_room(&self, room: &RoomName) -> Result<Vec<String>, StoreError> {
        let reply = self.keys.reply(crate::server::store::new_epoch().as_str());
        let cmd = AdminCommand::ListRoom {
            room: room.clone(),
            reply: reply.clone(),
        };
        let payload = serde_json::json!({"node": self.node, "cmd": cmd}).to_string();
        let mut conn = self.conn.clone();
        let heard: i64 = redis::cmd("PUBLISH")
            .arg(self.keys.admin())
            .arg(payload)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let others = usize::try_from(heard - 1).unwrap_or(0);
        if others == 0 {
            return Ok(Vec::new());
        }
        let deadline = tokio::time::Instant::now() + ASK_WAIT;
        let answers = loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let answers: Vec<String> = redis::cmd("LRANGE")
                .arg(&reply)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            if answers.len() >= others || tokio::time::Instant::now() >= deadline {
                break answers;
            }
        };
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(&reply);
        self.fire(pipe, "delete an answered question's replies");
        Ok(answers)
    }

    fn reply(&self, to: &str, json: String) {
        // Only ever a reply list: a node never writes a key it is merely told to.
        if !self.keys.is_reply(to) {
            tracing::warn!(key = to, "ignoring a question with a foreign reply key");
            return;
        }
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("RPUSH")
            .arg(to)
            .arg(json)
            .cmd("PEXPIRE")
            .arg(to)
            .arg(REPLY_TTL.as_millis() as u64);
        self.fire(pipe, "answer another node's question");
    }

    async fn presence(&self, room: &RoomName) -> Result<Vec<NodePresence>, StoreError> {
        let (now, flat): (u64, Vec<String>) = redis::cmd("EVAL")
            .arg(PRESENCE)
            .arg(1)
            .arg(self.keys.presence(room))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(flat
            .chunks_exact(2)
            .filter(|pair| pair[0] != self.node)
            .filter_map(|pair| {
                let r: Record = serde_json::from_str(&pair[1]).ok()?;
                let left = (r.at + r.ttl_ms).checked_sub(now).filter(|l| *l > 0)?;
                Some(NodePresence {
                    node: pair[0].clone(),
                    names: r.names,
                    v: r.v,
                    ttl: Duration::from_millis(left),
                })
            })
            .collect())
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.store.ready().await?;
        if self.bus.is_connected() {
            Ok(())
        } else {
            Err(StoreError::Disconnected(
                "the Redis subscription is not connected",
            ))
        }
    }

    /// Waits (briefly) for the announcements queued so far, which include the empty ones
    /// of the rooms the closing sessions just left, so other nodes drop this node's
    /// members at once instead of after the TTL.
    async fn close(&self) -> Result<(), StoreError> {
        let flushed = self.announcements.flush();
        let _ = tokio::time::timeout(Duration::from_secs(2), flushed).await;
        Ok(())
    }
}

/// A fresh node id: 16 hex digits.
pub fn new_node_id() -> String {
    crate::server::store::new_epoch().as_str().to_string()
}
