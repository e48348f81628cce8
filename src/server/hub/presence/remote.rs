//! Other nodes' members of a room: their whole lists and their deltas, applied by the
//! rules of `engine/presence.rs` (a delta only on top of the version held).

use super::Presence;
use crate::server::engine::presence::apply;
use crate::server::engine::{NameCounts, NodePresence};
use std::time::Duration;
use tokio::time::Instant;

/// Another node's members of a room.
pub(super) struct Remote {
    pub(super) names: NameCounts,
    /// Its connections with a name (the sum of `names`, kept so that counting the
    /// room's connections is not a walk over every name).
    connections: u32,
    /// The version of its list held here (deltas apply only on top of it).
    v: u64,
    expires: Instant,
}

impl Remote {
    fn new(p: NodePresence) -> Self {
        Self::of(p.names, p.v, Instant::now() + p.ttl)
    }

    fn of(names: NameCounts, v: u64, expires: Instant) -> Self {
        Self {
            connections: names.values().sum(),
            names,
            v,
            expires,
        }
    }
}

/// One other node's change to its members of a room (see `engine/presence.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteDelta {
    /// The node.
    pub node: String,
    /// The version it applies on top of.
    pub base: u64,
    /// The version it makes.
    pub v: u64,
    /// New counts (0: gone).
    pub changes: NameCounts,
    /// How long the node's list holds from now if it says nothing more.
    pub ttl: Duration,
}

impl Presence {
    /// Other nodes' open connections with a name.
    pub(super) fn remote_connections(&self) -> u32 {
        self.remote.values().map(|r| r.connections).sum::<u32>()
    }

    /// Replaces what is known of other nodes' members (on loading the room, on resync).
    pub(in crate::server::hub) fn set_remote(&mut self, presence: Vec<NodePresence>) {
        self.remote = presence
            .into_iter()
            .map(|p| (p.node.clone(), Remote::new(p)))
            .collect();
    }

    /// One other node's announcement (empty: it has no members here any more).
    pub(super) fn update_remote(&mut self, presence: NodePresence) {
        if presence.names.is_empty() {
            self.remote.remove(&presence.node);
        } else {
            self.remote
                .insert(presence.node.clone(), Remote::new(presence));
        }
    }

    /// One other node's change, on top of the version held here (none held: version 0,
    /// empty); true if applied. After a gap it is ignored: the node's next whole list
    /// (at most a heartbeat away) brings this one up to date.
    pub(super) fn apply_remote_delta(&mut self, d: RemoteDelta) -> bool {
        let expires = Instant::now() + d.ttl;
        match self.remote.get_mut(&d.node) {
            Some(r) if r.v == d.base => {
                let mut names = std::mem::take(&mut r.names);
                apply(&mut names, d.changes);
                *r = Remote::of(names, d.v, expires);
            }
            None if d.base == 0 => {
                let mut names = NameCounts::new();
                apply(&mut names, d.changes);
                self.remote.insert(d.node, Remote::of(names, d.v, expires));
            }
            held => {
                tracing::debug!(
                    node = %d.node,
                    held = held.map(|r| r.v),
                    base = d.base,
                    "presence delta after a gap: waiting for the node's whole list"
                );
                return false;
            }
        }
        true
    }

    /// Drops other nodes' announcements that were not renewed in time; true if any was.
    pub(in crate::server::hub) fn expire_remote(&mut self, now: Instant) -> bool {
        let before = self.remote.len();
        self.remote.retain(|_, r| r.expires > now);
        self.remote.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::UserName;
    use crate::server::engine::presence::counts;

    fn delta(base: u64, v: u64, changes: &[(&str, u32)]) -> RemoteDelta {
        RemoteDelta {
            node: "b".into(),
            base,
            v,
            changes: counts(changes),
            ttl: Duration::from_secs(10),
        }
    }

    fn names_of_b(p: &Presence) -> NameCounts {
        p.remote
            .get("b")
            .map(|r| r.names.clone())
            .unwrap_or_default()
    }

    #[test]
    fn deltas_apply_in_order_from_an_empty_start() {
        let mut p = Presence::default();
        assert!(p.apply_remote_delta(delta(0, 1, &[("ann", 1), ("bob", 2)])));
        assert!(p.apply_remote_delta(delta(1, 2, &[("bob", 0), ("cy", 1)])));
        assert_eq!(names_of_b(&p), counts(&[("ann", 1), ("cy", 1)]));
        assert_eq!(p.remote_connections(), 2);
    }

    #[test]
    fn after_a_gap_deltas_wait_for_the_next_whole_list() {
        let mut p = Presence::default();
        assert!(p.apply_remote_delta(delta(0, 1, &[("ann", 1)])));
        // Version 2 was lost: 3 does not apply on top of 1.
        assert!(!p.apply_remote_delta(delta(2, 3, &[("dee", 1)])));
        assert_eq!(names_of_b(&p), counts(&[("ann", 1)]));
        p.update_remote(NodePresence {
            node: "b".into(),
            names: counts(&[("ann", 1), ("cy", 1), ("dee", 1)]),
            v: 4,
            ttl: Duration::from_secs(10),
        });
        assert!(p.apply_remote_delta(delta(4, 5, &[("ann", 0)])));
        assert_eq!(names_of_b(&p), counts(&[("cy", 1), ("dee", 1)]));
        assert_eq!(p.remote_connections(), 2);
    }

    #[test]
    fn a_node_unknown_here_is_taken_only_from_its_first_version() {
        let mut p = Presence::default();
        assert!(!p.apply_remote_delta(delta(6, 7, &[("ann", 1)])));
        assert!(p.remote.is_empty());
    }

    #[test]
    fn this_nodes_deltas_and_whole_lists_chain_their_versions() {
        let mut p = Presence::default();
        let ann = UserName::parse("ann").unwrap();
        p.count_in(&ann);
        p.count_in(&ann);
        let first = p.take_delta().unwrap();
        assert_eq!(
            first,
            crate::server::engine::presence::Announcement::Delta {
                base: 0,
                v: 1,
                changes: counts(&[("ann", 2)])
            }
        );
        assert_eq!(p.take_delta(), None, "nothing changed since");
        let whole = p.full();
        assert_eq!(
            whole,
            crate::server::engine::presence::Announcement::Full {
                v: 2,
                names: counts(&[("ann", 2)])
            }
        );
        p.count_out(&ann);
        p.count_out(&ann);
        assert_eq!(
            p.full(),
            crate::server::engine::presence::Announcement::Full {
                v: 0,
                names: NameCounts::new()
            },
            "the last one gone: versions start again, as the others forget this node"
        );
    }
}
