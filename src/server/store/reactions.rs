//! Reactions in the store (v1.1 "Replies and reactions"): what a `react` asks for, what
//! it did, and who reacted; plus [`ReactionBook`], the in-memory form the memory store
//! keeps per message and the other stores' tests compare against.
//!
//! A reaction is keyed by who made it ([`Reactor::key`]): `u:{user id}` for an
//! authenticated user, so a user reacts once however many tabs they have open, and
//! `g:{connection}` for a guest, so a guest reacts once per connection (the contract's
//! rule). The name is kept beside the key for the "who reacted" list, as it was when
//! they reacted (like a message's `from`).

use crate::protocol::reaction::{MAX_EMOJI_PER_MESSAGE, REACTORS_MAX_NAMES};
use crate::protocol::{Emoji, Reactions, UserId, UserName};
use std::collections::BTreeMap;

/// Who reacts: the key that makes a reaction unique, and the name shown for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reactor {
    /// `u:{user id}` or `g:{connection}` (see the module's doc).
    pub key: String,
    /// Shown in "who reacted".
    pub name: UserName,
}

impl Reactor {
    /// An authenticated user: one reaction per emoji across their tabs.
    pub fn user(user: &UserId, name: UserName) -> Self {
        Self {
            key: Self::user_key(user),
            name,
        }
    }

    /// The key of an authenticated user's reactions.
    pub fn user_key(user: &UserId) -> String {
        format!("u:{}", user.as_str())
    }

    /// The key of a guest connection's reactions.
    pub fn guest_key(conn: &str) -> String {
        format!("g:{conn}")
    }

    /// A guest: one reaction per emoji per connection (`conn` unique per process and
    /// node, see the session's id).
    pub fn guest(conn: &str, name: UserName) -> Self {
        Self {
            key: Self::guest_key(conn),
            name,
        }
    }
}

/// One `react` for the store.
#[derive(Clone, Debug)]
pub struct Reaction {
    /// The emoji.
    pub emoji: Emoji,
    /// Who.
    pub who: Reactor,
    /// Add (`true`) or take back.
    pub on: bool,
}

/// What [`crate::server::store::Store::react`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reacted {
    /// The message's reactions now; `changed` is false when it already was so (a second
    /// `on`, or an `off` for a reaction that was not there).
    Counts {
        /// Every emoji's count.
        counts: Reactions,
        /// Whether this call changed them.
        changed: bool,
    },
    /// No such message is stored (never was, dropped by retention, or deleted).
    NotFound,
    /// The message already has [`MAX_EMOJI_PER_MESSAGE`] distinct emoji and this would
    /// be one more.
    TooMany,
}

/// Who reacted to one message, for the `reactors` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reactors {
    /// Per emoji, the first [`REACTORS_MAX_NAMES`] names, oldest reaction first.
    pub by: BTreeMap<Emoji, Vec<UserName>>,
    /// The emoji the asking reactor reacts with.
    pub mine: Vec<Emoji>,
}

/// Sets one emoji's count on message `seq` of `msgs` (one room's page, sorted by seq),
/// if the page holds it: how every store fills in a page's reactions.
pub fn set_count(msgs: &mut [crate::protocol::Message], seq: u64, emoji: Emoji, n: u32) {
    if let Ok(i) = msgs.binary_search_by_key(&seq, |m| m.seq) {
        msgs[i].reactions.set(emoji, n);
    }
}

/// A message's reactions with who made each, in the order they were made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReactionBook {
    by: BTreeMap<Emoji, Vec<Reactor>>,
}

impl ReactionBook {
    /// Applies one reaction under the store's rules.
    pub fn apply(&mut self, r: &Reaction) -> Reacted {
        let distinct = self.by.len();
        let changed = match self.by.get_mut(&r.emoji) {
            Some(who) => {
                let at = who.iter().position(|w| w.key == r.who.key);
                match (at, r.on) {
                    (None, true) => {
                        who.push(r.who.clone());
                        true
                    }
                    (Some(i), false) => {
                        who.remove(i);
                        if who.is_empty() {
                            self.by.remove(&r.emoji);
                        }
                        true
                    }
                    _ => false,
                }
            }
            None if !r.on => false,
            None if distinct >= MAX_EMOJI_PER_MESSAGE => return Reacted::TooMany,
            None => {
                self.by.insert(r.emoji.clone(), vec![r.who.clone()]);
                true
            }
        };
        Reacted::Counts {
            counts: self.counts(),
            changed,
        }
    }

    /// Adds a reaction read back from a store (oldest first per emoji), as it was
    /// stored: the rules were applied when it was made.
    pub fn push(&mut self, emoji: Emoji, who: Reactor) {
        self.by.entry(emoji).or_default().push(who);
    }

    /// How many react with each emoji.
    pub fn counts(&self) -> Reactions {
        self.by
            .iter()
            .map(|(e, who)| (e.clone(), who.len() as u32))
            .collect()
    }

    /// Who reacted, as `key` sees it.
    pub fn reactors(&self, key: &str) -> Reactors {
        Reactors {
            by: self
                .by
                .iter()
                .map(|(e, who)| {
                    let names = who
                        .iter()
                        .take(REACTORS_MAX_NAMES)
                        .map(|w| w.name.clone())
                        .collect();
                    (e.clone(), names)
                })
                .collect(),
            mine: self
                .by
                .iter()
                .filter(|(_, who)| who.iter().any(|w| w.key == key))
                .map(|(e, _)| e.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(emoji: &str, who: &str, on: bool) -> Reaction {
        Reaction {
            emoji: Emoji::parse(emoji).unwrap(),
            who: Reactor::guest(who, UserName::parse(who).unwrap()),
            on,
        }
    }

    #[test]
    fn once_per_reactor_and_zero_leaves() {
        let mut b = ReactionBook::default();
        assert!(matches!(
            b.apply(&r("👍", "a", true)),
            Reacted::Counts { changed: true, .. }
        ));
        assert!(matches!(
            b.apply(&r("👍", "a", true)),
            Reacted::Counts { changed: false, .. }
        ));
        b.apply(&r("👍", "b", true));
        assert_eq!(b.counts().count(&Emoji::parse("👍").unwrap()), 2);
        assert_eq!(b.reactors("g:b").mine, vec![Emoji::parse("👍").unwrap()]);
        b.apply(&r("👍", "a", false));
        b.apply(&r("👍", "b", false));
        assert!(b.counts().is_empty());
        assert!(matches!(
            b.apply(&r("👍", "b", false)),
            Reacted::Counts { changed: false, .. }
        ));
    }

    #[test]
    fn at_most_twenty_distinct_emoji() {
        let mut b = ReactionBook::default();
        for i in 0..MAX_EMOJI_PER_MESSAGE {
            assert!(matches!(
                b.apply(&r(&format!("e{i}"), "a", true)),
                Reacted::Counts { .. }
            ));
        }
        assert_eq!(b.apply(&r("new", "a", true)), Reacted::TooMany);
        assert!(matches!(
            b.apply(&r("e0", "b", true)),
            Reacted::Counts { changed: true, .. }
        ));
    }
}
