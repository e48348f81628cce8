//! This node's presence announcements, sent to Redis by one task.
//!
//! Only the newest state of each room is kept until it is sent: a room whose members
//! change a thousand times while Redis is slow costs one pending entry, not a thousand
//! queued commands, so the backlog is bounded by the number of rooms this node has
//! members in. Each round sends every pending room at once (pipelined on the multiplexed
//! connection); a room appears once per round, so its announcements stay in order.

use crate::protocol::RoomName;
use crate::sync::lock;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Mutex, Weak};
use tokio::sync::{oneshot, Notify};

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
    /// The newest unsent state of each (its names as JSON).
    latest: HashMap<RoomName, String>,
    /// Answered once everything pending when they came is sent.
    flushes: Vec<oneshot::Sender<()>>,
}

impl Pending {
    /// Records `names` as the room's state to send, replacing an unsent older one.
    pub fn announce(&self, room: &RoomName, names: String) {
        let mut st = lock(&self.state);
        if st.latest.insert(room.clone(), names).is_none() {
            st.order.push_back(room.clone());
            crate::server::metrics::announcements_pending(st.order.len());
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
    fn take(&self) -> (Vec<(RoomName, String)>, Vec<oneshot::Sender<()>>) {
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
    F: Fn(std::sync::Arc<O>, RoomName, String) -> Fut,
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

    #[test]
    fn only_the_newest_state_of_a_room_waits() {
        let p = Pending::default();
        for i in 0..10_000 {
            p.announce(&room("busy"), format!("{{\"u{i}\":1}}"));
        }
        p.announce(&room("quiet"), "{}".into());
        assert_eq!(p.len(), 2, "one entry per room, however many changes");
        let (batch, _) = p.take();
        assert_eq!(
            batch,
            vec![
                (room("busy"), "{\"u9999\":1}".to_string()),
                (room("quiet"), "{}".to_string())
            ]
        );
        assert_eq!(p.len(), 0);
    }
}
