//! How the nodes of a cluster tell each other their members of a room: whole lists
//! rarely, changes often.
//!
//! A node's members of a room carry a version. A change (people joining and leaving,
//! folded together for up to the room's presence interval) goes out as a
//! [`Announcement::Delta`]: the new count of each name that changed, from version `base`
//! to `v`. Its size is the number of names that changed, not the room's. The whole list
//! ([`Announcement::Full`]) goes to the other nodes only on the heartbeat (every third
//! of the presence TTL), after a resync, and when the node's last member leaves. The
//! shared store keeps each node's current list and version (written with every
//! announcement): that is what a node that starts listening to the room reads. A node applies a delta only on top
//! of the version it holds (`base`); after a gap (a lost broadcast) it keeps what it has
//! and ignores deltas until the next whole list, at most one heartbeat later. Counts in a
//! delta are absolute, so a delta applied over a list that already had it changes nothing.

use super::NameCounts;

/// What this node tells the others about its members of one room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Announcement {
    /// Every name with its count (empty: no members left), at version `v`: replaces what
    /// the others hold for this node.
    Full {
        /// The version the list is at.
        v: u64,
        /// Connections per name.
        names: NameCounts,
    },
    /// The names whose count changed since version `base`, with their count now (0:
    /// gone), making version `v`.
    Delta {
        /// The version this applies on top of.
        base: u64,
        /// The version it makes.
        v: u64,
        /// New counts, 0 for names gone.
        changes: NameCounts,
    },
}

impl Announcement {
    /// One announcement saying what `self` and then `later` say, for a sender that has
    /// not yet sent `self` when `later` comes (only the newest state waits to be sent).
    pub fn then(self, later: Announcement) -> Announcement {
        match (self, later) {
            (_, full @ Announcement::Full { .. }) => full,
            (Announcement::Full { mut names, .. }, Announcement::Delta { v, changes, .. }) => {
                apply(&mut names, changes);
                Announcement::Full { v, names }
            }
            (
                Announcement::Delta {
                    base, mut changes, ..
                },
                Announcement::Delta {
                    v, changes: more, ..
                },
            ) => {
                changes.extend(more);
                Announcement::Delta { base, v, changes }
            }
        }
    }
}

/// Applies a delta's new counts to a list.
pub fn apply(names: &mut NameCounts, changes: NameCounts) {
    for (name, count) in changes {
        if count == 0 {
            names.remove(&name);
        } else {
            names.insert(name, count);
        }
    }
}

/// Name counts from pairs, for tests here and in the hub.
#[cfg(test)]
pub fn counts(pairs: &[(&str, u32)]) -> NameCounts {
    pairs
        .iter()
        .map(|(n, c)| (crate::protocol::UserName::parse(n).unwrap(), *c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_fold_into_one_from_the_first_base_to_the_last_version() {
        let a = Announcement::Delta {
            base: 3,
            v: 4,
            changes: counts(&[("ann", 1), ("bob", 0)]),
        };
        let b = Announcement::Delta {
            base: 4,
            v: 5,
            changes: counts(&[("ann", 0), ("cy", 2)]),
        };
        assert_eq!(
            a.then(b),
            Announcement::Delta {
                base: 3,
                v: 5,
                changes: counts(&[("ann", 0), ("bob", 0), ("cy", 2)])
            }
        );
    }

    #[test]
    fn a_delta_after_a_whole_list_is_folded_into_it_and_a_whole_list_wins() {
        let full = Announcement::Full {
            v: 7,
            names: counts(&[("ann", 1), ("bob", 1)]),
        };
        let delta = Announcement::Delta {
            base: 7,
            v: 8,
            changes: counts(&[("bob", 0), ("cy", 1)]),
        };
        let folded = full.then(delta.clone());
        assert_eq!(
            folded,
            Announcement::Full {
                v: 8,
                names: counts(&[("ann", 1), ("cy", 1)])
            }
        );
        let newer = Announcement::Full {
            v: 8,
            names: counts(&[("dee", 1)]),
        };
        assert_eq!(delta.then(newer.clone()), newer);
    }

    #[test]
    fn applying_a_delta_twice_changes_nothing_more() {
        let mut names = counts(&[("ann", 2), ("bob", 1)]);
        let changes = counts(&[("ann", 1), ("bob", 0), ("cy", 3)]);
        apply(&mut names, changes.clone());
        let once = names.clone();
        apply(&mut names, changes);
        assert_eq!(names, once);
        assert_eq!(once, counts(&[("ann", 1), ("cy", 3)]));
    }
}
