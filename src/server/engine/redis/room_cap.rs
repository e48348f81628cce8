//! The cap on rooms holding messages ([`Retention::max_rooms`]) over Redis.
//!
//! Every key a publish touches is one room's (one Redis Cluster slot), so the count of
//! rooms cannot be kept inside the append script. Instead:
//! - the append script refuses a room whose log does not exist while this node's
//!   [`RoomCap::full`] flag is set, and says when a message made a room hold one again;
//! - then the node adds the room to the sorted set `P:rooms` (room → when it was seen
//!   holding) and reads its size, which sets or clears the flag at once;
//! - [`census`] drops from the set the rooms whose logs have expired, every
//!   [`CENSUS_EVERY`] (and on demand in tests), and refreshes the flag.
//!
//! So the cap is exact on one node and can be passed on a cluster only by the rooms other
//! nodes opened in the same moment (each node learns the count with its next new room,
//! or at the next census); the per-address cap on new rooms bounds that too.
//!
//! [`Retention::max_rooms`]: crate::server::store::Retention::max_rooms

use super::keys::Keys;
use crate::protocol::RoomName;
use crate::server::store::now_ms;
use redis::aio::ConnectionManager;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the census runs.
pub const CENSUS_EVERY: Duration = Duration::from_secs(10);

/// Rooms checked per census step (one pipeline of `EXISTS`).
const CENSUS_BATCH: isize = 500;

/// The node's view of the cap.
#[derive(Debug)]
pub struct RoomCap {
    /// Rooms holding messages at most (0: no cap).
    pub max: u64,
    /// How long a room's log lives after its newest message (`None`: for good), so the
    /// census knows which rooms may have gone.
    pub max_age: Option<Duration>,
    full: AtomicBool,
}

impl RoomCap {
    /// A cap of `max` rooms (0: none).
    pub fn new(max: u64, max_age: Option<Duration>) -> Arc<Self> {
        Arc::new(Self {
            max,
            max_age,
            full: AtomicBool::new(false),
        })
    }

    /// Whether a first message for one more room must be refused now.
    pub fn full(&self) -> bool {
        self.max > 0 && self.full.load(Ordering::Relaxed)
    }

    fn set_count(&self, n: u64) {
        self.full
            .store(self.max > 0 && n >= self.max, Ordering::Relaxed);
    }

    /// Counts `room`, which a message just made hold one.
    pub async fn counted(&self, conn: &ConnectionManager, keys: &Keys, room: &RoomName) {
        if self.max == 0 {
            return;
        }
        let counted: redis::RedisResult<(i64, u64)> = redis::pipe()
            .cmd("ZADD")
            .arg(keys.rooms())
            .arg(now_ms())
            .arg(room.as_str())
            .cmd("ZCARD")
            .arg(keys.rooms())
            .query_async(&mut conn.clone())
            .await;
        match counted {
            Ok((_, n)) => self.set_count(n),
            // The message is stored; the census counts it later.
            Err(e) => tracing::debug!(error = %e, "counting a room failed"),
        }
    }
}

/// Drops the rooms whose logs have expired from the set, and refreshes the flag.
/// Visits only rooms last seen holding more than the max age ago.
pub async fn census(
    cap: &RoomCap,
    conn: &ConnectionManager,
    keys: &Keys,
) -> redis::RedisResult<u64> {
    let mut conn = conn.clone();
    if let Some(age) = cap.max_age {
        let before = now_ms().saturating_sub(age.as_millis() as u64);
        loop {
            let stale: Vec<String> = redis::cmd("ZRANGE")
                .arg(keys.rooms())
                .arg("-inf")
                .arg(before)
                .arg("BYSCORE")
                .arg("LIMIT")
                .arg(0)
                .arg(CENSUS_BATCH)
                .query_async(&mut conn)
                .await?;
            if stale.is_empty() {
                break;
            }
            let rooms: Vec<RoomName> = stale
                .iter()
                .filter_map(|r| RoomName::parse(r).ok())
                .collect();
            let mut exists = redis::pipe();
            for r in &rooms {
                exists.cmd("EXISTS").arg(keys.log(r));
            }
            let alive: Vec<bool> = exists.query_async(&mut conn).await?;
            let mut update = redis::pipe();
            // Names that do not parse are not ours: they go too.
            for name in stale.iter().filter(|n| RoomName::parse(n).is_err()) {
                update.cmd("ZREM").arg(keys.rooms()).arg(name).ignore();
            }
            for (r, alive) in rooms.iter().zip(alive) {
                if alive {
                    // Still holding: look again one max age from now.
                    update
                        .cmd("ZADD")
                        .arg(keys.rooms())
                        .arg("XX")
                        .arg(now_ms())
                        .arg(r.as_str())
                        .ignore();
                } else {
                    update
                        .cmd("ZREM")
                        .arg(keys.rooms())
                        .arg(r.as_str())
                        .ignore();
                }
            }
            update.query_async::<()>(&mut conn).await?;
        }
    }
    let n: u64 = redis::cmd("ZCARD")
        .arg(keys.rooms())
        .query_async(&mut conn)
        .await?;
    cap.set_count(n);
    Ok(n)
}

/// Runs [`census`] every [`CENSUS_EVERY`] until the store is gone.
pub async fn run_census(cap: std::sync::Weak<RoomCap>, conn: ConnectionManager, keys: Keys) {
    let mut tick = tokio::time::interval(CENSUS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(cap) = cap.upgrade() else { return };
        if let Err(e) = census(&cap, &conn, &keys).await {
            tracing::debug!(error = %e, "room census failed; retried later");
        }
    }
}
