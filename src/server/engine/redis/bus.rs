//! The node's subscription to its rooms' Redis channels, and its reconnection.
//!
//! One task owns the pub/sub connection. Subscribes and unsubscribes reach it through one
//! ordered channel, so a room that is left and re-entered ends subscribed. It keeps the
//! set of rooms it should be in; when the connection drops (Redis restarted, network
//! gone) it reconnects with backoff, subscribes to all of them again and tells the hub
//! [`ClusterEvent::Resync`], which re-reads what may have been missed meanwhile. A ping
//! every few seconds finds a connection that died silently.

use super::keys::Keys;
use crate::protocol::{Message, RoomName};
use crate::server::engine::{ClusterEvent, NameCounts, NodePresence};
use crate::server::store::StoreError;
use futures::StreamExt;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Longest wait between reconnection attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How often an idle subscription is pinged.
const PING_EVERY: Duration = Duration::from_secs(5);

enum Command {
    Subscribe(RoomName, oneshot::Sender<Result<(), StoreError>>),
    Unsubscribe(RoomName),
}

/// The handle the engine keeps; dropping it stops the task.
pub struct Bus {
    commands: mpsc::UnboundedSender<Command>,
    connected: Arc<AtomicBool>,
}

/// A presence announcement as published by `lua/announce.lua`.
/// A room note from another node (`n` + JSON on the room's channel).
#[derive(Deserialize)]
struct NoteFromNode {
    node: String,
    note: crate::server::engine::RoomNote,
}

/// A node's whole list (`p`).
#[derive(Deserialize)]
struct Announcement {
    node: String,
    ttl_ms: u64,
    names: NameCounts,
    /// Absent from nodes older than versioned presence.
    #[serde(default)]
    v: u64,
}

/// A node's change to its list (`d`).
#[derive(Deserialize)]
struct Delta {
    node: String,
    ttl_ms: u64,
    base: u64,
    v: u64,
    changes: NameCounts,
}

impl Bus {
    /// Starts the task; events go to `events`, and this node's own presence
    /// announcements (`node`) are not echoed back.
    pub fn start(
        client: redis::Client,
        keys: Keys,
        node: String,
        timeout: Duration,
        events: mpsc::Sender<ClusterEvent>,
    ) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let connected = Arc::new(AtomicBool::new(false));
        let task = Task {
            client,
            keys,
            node,
            timeout,
            events,
            rooms: HashSet::new(),
            connected: connected.clone(),
        };
        tokio::spawn(task.run(rx));
        Self {
            commands,
            connected,
        }
    }

    /// Subscribes to the room's channel; resolves once Redis confirmed it.
    pub async fn subscribe(&self, room: &RoomName) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Subscribe(room.clone(), tx))
            .map_err(|_| StoreError::Stopped("the Redis subscriber"))?;
        rx.await
            .map_err(|_| StoreError::Stopped("the Redis subscriber"))?
    }

    /// Unsubscribes (in order after any earlier subscribe).
    pub fn unsubscribe(&self, room: &RoomName) {
        let _ = self.commands.send(Command::Unsubscribe(room.clone()));
    }

    /// Whether the subscription connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}

struct Task {
    client: redis::Client,
    keys: Keys,
    node: String,
    timeout: Duration,
    events: mpsc::Sender<ClusterEvent>,
    /// Rooms this node should be subscribed to.
    rooms: HashSet<RoomName>,
    connected: Arc<AtomicBool>,
}

/// Why a connected session of the task ended.
enum Ended {
    /// The connection failed; reconnect.
    Lost,
    /// The engine is gone; stop.
    Stopped,
}

fn unavailable(source: redis::RedisError) -> StoreError {
    StoreError::Redis {
        context: "subscription",
        source,
    }
}

impl Task {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut backoff = Duration::from_millis(50);
        let mut first = true;
        loop {
            match self.connect().await {
                Ok(pubsub) => {
                    backoff = Duration::from_millis(50);
                    tracing::info!(rooms = self.rooms.len(), "redis subscription up");
                    let resync = !std::mem::take(&mut first);
                    match self.serve(pubsub, &mut commands, resync).await {
                        Ended::Stopped => return,
                        Ended::Lost => {
                            crate::server::metrics::cluster_link_lost();
                            tracing::warn!("redis subscription lost; reconnecting")
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "redis subscription: cannot connect"),
            }
            self.connected.store(false, Ordering::Relaxed);
            // While down, answer subscribes at once (joins get `unavailable`), but keep
            // the wanted set in order.
            let wake = tokio::time::sleep(backoff);
            tokio::pin!(wake);
            loop {
                tokio::select! {
                    _ = &mut wake => break,
                    cmd = commands.recv() => match cmd {
                        None => return,
                        Some(cmd) => self.refuse(cmd),
                    },
                }
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    fn refuse(&mut self, cmd: Command) {
        match cmd {
            Command::Subscribe(_, reply) => {
                let _ = reply.send(Err(StoreError::Disconnected(
                    "the Redis subscription is not connected",
                )));
            }
            Command::Unsubscribe(room) => {
                self.rooms.remove(&room);
            }
        }
    }

    async fn connect(&self) -> Result<redis::aio::PubSub, StoreError> {
        tokio::time::timeout(self.timeout, self.client.get_async_pubsub())
            .await
            .map_err(|_| StoreError::TimedOut("connecting the Redis subscription"))?
            .map_err(unavailable)
    }

    async fn serve(
        &mut self,
        pubsub: redis::aio::PubSub,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        resync: bool,
    ) -> Ended {
        let (mut sink, mut stream) = pubsub.split();
        // Sign-outs, always; then every room this node has members in.
        let mut channels: Vec<String> = vec![self.keys.revoked(), self.keys.admin()];
        channels.extend(self.rooms.iter().map(|r| self.keys.channel(r)));
        if self.confirm(sink.subscribe(channels)).await.is_err() {
            return Ended::Lost;
        }
        self.connected.store(true, Ordering::Relaxed);
        if resync && self.events.send(ClusterEvent::Resync).await.is_err() {
            return Ended::Stopped;
        }
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.reset();
        loop {
            tokio::select! {
                msg = stream.next() => {
                    let Some(msg) = msg else { return Ended::Lost };
                    if let Some(event) = self.decode(&msg) {
                        if self.events.send(event).await.is_err() {
                            return Ended::Stopped;
                        }
                    }
                }
                cmd = commands.recv() => match cmd {
                    None => return Ended::Stopped,
                    Some(Command::Subscribe(room, reply)) => {
                        let done = self.confirm(sink.subscribe(self.keys.channel(&room))).await;
                        let lost = done.is_err();
                        if !lost {
                            self.rooms.insert(room);
                        }
                        let _ = reply.send(done);
                        if lost {
                            return Ended::Lost;
                        }
                    }
                    Some(Command::Unsubscribe(room)) => {
                        self.rooms.remove(&room);
                        let channel = self.keys.channel(&room);
                        if self.confirm(sink.unsubscribe(channel)).await.is_err() {
                            return Ended::Lost;
                        }
                    }
                },
                _ = ping.tick() => {
                    // On a subscribed connection Redis answers PING with `["pong", ""]`,
                    // not `PONG`: any answer in time will do.
                    let pong = self.confirm(sink.ping::<redis::Value>()).await;
                    if pong.is_err() {
                        return Ended::Lost;
                    }
                }
            }
        }
    }

    /// Awaits a subscription call within the timeout.
    async fn confirm<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| StoreError::TimedOut("a Redis subscription call"))?
            .map_err(unavailable)
    }

    fn decode(&self, msg: &redis::Msg) -> Option<ClusterEvent> {
        if msg.get_channel_name() == self.keys.revoked() {
            let hex = std::str::from_utf8(msg.get_payload_bytes()).ok()?;
            return crate::server::accounts::redis::unhex(hex).map(ClusterEvent::Revoked);
        }
        if msg.get_channel_name() == self.keys.admin() {
            #[derive(Deserialize)]
            struct FromNode {
                node: String,
                cmd: crate::server::engine::AdminCommand,
            }
            return match serde_json::from_slice::<FromNode>(msg.get_payload_bytes()) {
                Ok(f) if f.node == self.node => None,
                Ok(f) => Some(ClusterEvent::Admin(f.cmd)),
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring an unreadable operator's action");
                    None
                }
            };
        }
        let room = self.keys.room_of_channel(msg.get_channel_name())?;
        let payload = msg.get_payload_bytes();
        let decoded = match payload.split_first() {
            Some((b'm', json)) => serde_json::from_slice::<Message>(json)
                .map(ClusterEvent::Message)
                .map_err(|e| e.to_string()),
            Some((b'n', json)) => match serde_json::from_slice::<NoteFromNode>(json) {
                Ok(n) if n.node == self.node => return None,
                Ok(n) => Ok(ClusterEvent::Note { room, note: n.note }),
                Err(e) => Err(e.to_string()),
            },
            Some((b'p', json)) => match serde_json::from_slice::<Announcement>(json) {
                Ok(a) if a.node == self.node => return None,
                Ok(a) => Ok(ClusterEvent::Presence {
                    room,
                    presence: NodePresence {
                        node: a.node,
                        names: a.names,
                        v: a.v,
                        ttl: Duration::from_millis(a.ttl_ms),
                    },
                }),
                Err(e) => Err(e.to_string()),
            },
            Some((b'd', json)) => match serde_json::from_slice::<Delta>(json) {
                Ok(d) if d.node == self.node => return None,
                Ok(d) => Ok(ClusterEvent::PresenceDelta {
                    room,
                    delta: crate::server::hub::RemoteDelta {
                        node: d.node,
                        base: d.base,
                        v: d.v,
                        changes: d.changes,
                        ttl: Duration::from_millis(d.ttl_ms),
                    },
                }),
                Err(e) => Err(e.to_string()),
            },
            _ => Err("unknown payload kind".into()),
        };
        decoded
            .inspect_err(|e| tracing::warn!(error = %e, "ignoring an unreadable broadcast"))
            .ok()
    }
}
