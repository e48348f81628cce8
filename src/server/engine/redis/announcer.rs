//! This node's presence announcements, sent to Redis by one task.
//!
//! One announcement per room waits to be sent: a new one is folded into it (deltas into
//! one delta from the first base to the last version, a delta into a waiting whole
//! list, a whole list replacing anything), so a room whose members change a thousand
//! times while Redis is slow costs one pending entry, not a thousand queued commands,
//! and the backlog is bounded by the number of rooms this node has members in. Each round sends every pending room at once (pipelined on the multiplexed
//! connection); a room appears once per round, so its announcements stay in order.

use crate::protocol::RoomName;
use crate::server::engine::presence::Announcement;
use crate::sync::lock;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Mutex, Weak};
use tokio::sync::{oneshot, Notify};

/// What a room has to say: the announcement, and its whole list now as JSON (for the
/// room's record in Redis).
pub type Said = (Announcement, String);

/// The rooms whose newest state is waiting to be sent.
#[derive(Default)]
pub struct Pending {
    state: Mutex<State>,
    wake: Notify,
}

#[derive(Default)]
struct State {
    /// Rooms with an unsent state, oldest change first.
    order: VecDeque<RoomName>,
    /// What each still has to say, and its whole list now (JSON, for the room's record).
    latest: HashMap<RoomName, Said>,
    /// Answered once everything pending when they came is sent.
    flushes: Vec<oneshot::Sender<()>>,
}

impl Pending {
    /// Queues `said` (and the whole list `names`) for the room, folded into what it has
    /// waiting.
    pub fn announce(&self, room: &RoomName, said: Announcement, names: String) {
        let mut st = lock(&self.state);
        match st.latest.remove(room) {
            Some((waiting, _)) => {
                st.latest.insert(room.clone(), (waiting.then(said), names));
            }
            None => {
                st.latest.insert(room.clone(), (said, names));
                st.order.push_back(room.clone());
                crate::server::metrics::announcements_pending(st.order.len());
            }
        }
        drop(st);
        self.wake.notify_one();
    }

    /// Resolves once everything pending now has been sent (or tried).
    pub fn flush(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        lock(&self.state).flushes.push(tx);
        self.wake.notify_one();
        rx
    }

    /// How many rooms wait to be announced.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.state).order.len()
    }

    /// Takes every pending state, oldest change first, and the flushes waiting on them.
    fn take(&self) -> (Vec<(RoomName, Said)>, Vec<oneshot::Sender<()>>) {
        let mut st = lock(&self.state);
        let mut batch = Vec::with_capacity(st.order.len());
        while let Some(room) = st.order.pop_front() {
            if let Some(names) = st.latest.remove(&room) {
                batch.push((room, names));
            }
        }
        crate::server::metrics::announcements_pending(0);
        (batch, std::mem::take(&mut st.flushes))
    }
}

/// Sends what is pending with `send`, round after round, until the owner (`owner`
/// upgrades to nothing) is gone. A failed announcement is dropped: the next heartbeat
/// repeats the state.
pub async fn run<O, F, Fut>(owner: Weak<O>, pending: std::sync::Arc<Pending>, send: F)
where
    F: Fn(std::sync::Arc<O>, RoomName, Said) -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        pending.wake.notified().await;
        let Some(engine) = owner.upgrade() else {
            return;
        };
        loop {
            let (batch, flushes) = pending.take();
            if batch.is_empty() && flushes.is_empty() {
                break;
            }
            futures::future::join_all(
                batch
                    .into_iter()
                    .map(|(room, names)| send(engine.clone(), room, names)),
            )
            .await;
            for done in flushes {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(s: &str) -> RoomName {
        RoomName::parse(s).unwrap()
    }

    fn one(name: &str) -> crate::server::engine::NameCounts {
        [(crate::protocol::UserName::parse(name).unwrap(), 1)].into()
    }

    #[test]
    fn one_announcement_per_room_waits_however_many_changes_come() {
        let p = Pending::default();
        for i in 0..10_000 {
            p.announce(
                &room("busy"),
                Announcement::Delta {
                    base: i,
                    v: i + 1,
                    changes: one(&format!("u{}", i % 3)),
                },
                format!("{{\"u{}\":1}}", i % 3),
            );
        }
        p.announce(
            &room("quiet"),
            Announcement::Full {
                v: 1,
                names: Default::default(),
            },
            "{}".into(),
        );
        assert_eq!(p.len(), 2, "one entry per room, however many changes");
        let (batch, _) = p.take();
        let mut three = one("u0");
        three.extend(one("u1"));
        three.extend(one("u2"));
        assert_eq!(
            batch,
            vec![
                (
                    room("busy"),
                    (
                        Announcement::Delta {
                            base: 0,
                            v: 10_000,
                            changes: three
                        },
                        "{\"u0\":1}".to_string()
                    )
                ),
                (
                    room("quiet"),
                    (
                        Announcement::Full {
                            v: 1,
                            names: Default::default()
                        },
                        "{}".to_string()
                    )
                )
            ]
        );
        assert_eq!(p.len(), 0);
    }
}
