//! Sign-out reaches the sockets: each socket a session cookie authenticated watches that
//! session here; [`Revocations::revoke`] wakes them, and they close with 4001.

use super::SessionHash;
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Notify;

/// The sockets of each session on this node.
#[derive(Default)]
pub struct Revocations {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    by_session: HashMap<SessionHash, Vec<Weak<Notify>>>,
    /// Watches since the last sweep of closed sockets' entries.
    since_sweep: usize,
}

/// One socket's watch of its session: [`Revocation::revoked`] resolves when it ends.
#[derive(Clone)]
pub struct Revocation(Arc<Notify>);

impl Revocation {
    /// Resolves once the session is revoked (also if that happened before the call: the
    /// wake-up is kept for the first wait).
    pub async fn revoked(self) {
        self.0.notified().await;
    }
}

impl Revocations {
    /// Starts watching `session` for a socket.
    pub fn watch(&self, session: SessionHash) -> Revocation {
        let notify = Arc::new(Notify::new());
        let mut st = lock(&self.state);
        st.since_sweep += 1;
        if st.since_sweep >= 1024 {
            st.since_sweep = 0;
            st.by_session.retain(|_, w| {
                w.retain(|n| n.strong_count() > 0);
                !w.is_empty()
            });
        }
        let list = st.by_session.entry(session).or_default();
        list.retain(|n| n.strong_count() > 0);
        list.push(Arc::downgrade(&notify));
        Revocation(notify)
    }

    /// Ends `session` on this node: every socket watching it is woken.
    pub fn revoke(&self, session: SessionHash) {
        let watching = lock(&self.state).by_session.remove(&session);
        for n in watching.into_iter().flatten().filter_map(|w| w.upgrade()) {
            n.notify_one();
        }
    }

    /// Sessions watched (for tests: closed sockets' entries are swept).
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.state).by_session.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_revoke_wakes_every_socket_of_the_session_only() {
        let r = Revocations::default();
        let (a, b) = (SessionHash([1; 32]), SessionHash([2; 32]));
        let a1 = r.watch(a);
        let a2 = r.watch(a);
        let b1 = r.watch(b);
        r.revoke(a);
        tokio::time::timeout(std::time::Duration::from_secs(1), async {
            a1.revoked().await;
            a2.revoked().await;
        })
        .await
        .expect("both woken, though they waited after the revoke");
        let b_wait = tokio::time::timeout(std::time::Duration::from_millis(50), b1.revoked()).await;
        assert!(b_wait.is_err(), "another session is untouched");
        for _ in 0..1100 {
            drop(r.watch(SessionHash([3; 32])));
        }
        assert!(r.len() <= 2, "closed sockets' entries are swept");
    }
}
