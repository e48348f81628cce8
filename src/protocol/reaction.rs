//! Reactions (v1.1 "Replies and reactions"): an [`Emoji`] and the counts a message
//! carries, [`Reactions`].
//!
//! The contract calls the key an emoji but only bounds it: 1–16 characters, no
//! whitespace. Chorus does not check it against Unicode's emoji list (which changes every
//! year and which a server would always be behind); a client may react with `+1` or a
//! custom name. What the store keeps per message is bounded by
//! [`MAX_EMOJI_PER_MESSAGE`], so a message's reactions stay small whoever reacts.

use crate::protocol::error::ProtocolError;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Distinct emoji one message may carry; a reaction with a 21st is refused with
/// `bad_frame` (an extension: docs/protocol.md), so a message's `reactions` object stays
/// small however many people react.
pub const MAX_EMOJI_PER_MESSAGE: usize = 20;

/// How many names a `reactors` answer lists per emoji (the rest are counted).
pub const REACTORS_MAX_NAMES: usize = 25;

/// A reaction's key: 1–16 characters (Unicode scalar values), no whitespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Emoji(String);

impl Emoji {
    /// The most characters an emoji may have: room for flags, skin tones and ZWJ
    /// sequences such as 👩‍👩‍👧‍👦 (7 characters).
    pub const MAX_CHARS: usize = 16;

    /// Accepts 1–16 characters with no whitespace or control characters.
    pub fn parse(s: &str) -> Result<Self, ProtocolError> {
        let n = s.chars().count();
        if n == 0 || n > Self::MAX_CHARS {
            return Err(ProtocolError::BadFrame("emoji must be 1-16 characters"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ProtocolError::BadFrame("emoji must not contain whitespace"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Emoji {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Emoji {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Emoji::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A message's reactions: how many reacted with each emoji. Emoji at 0 are never held,
/// so the object on the wire lists only emoji someone still reacts with, in a stable
/// (sorted) order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reactions(BTreeMap<Emoji, u32>);

impl Reactions {
    /// No reactions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nobody reacts (then `message` frames leave the field out).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many distinct emoji.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The count for one emoji (0 when none).
    pub fn count(&self, emoji: &Emoji) -> u32 {
        self.0.get(emoji).copied().unwrap_or(0)
    }

    /// Sets one emoji's count; 0 removes it.
    pub fn set(&mut self, emoji: Emoji, n: u32) {
        if n == 0 {
            self.0.remove(&emoji);
        } else {
            self.0.insert(emoji, n);
        }
    }

    /// One more for `emoji`.
    pub fn add(&mut self, emoji: &Emoji) {
        *self.0.entry(emoji.clone()).or_insert(0) += 1;
    }

    /// One fewer for `emoji` (never below 0; at 0 it is gone).
    pub fn remove(&mut self, emoji: &Emoji) {
        if let Some(n) = self.0.get_mut(emoji) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.0.remove(emoji);
            }
        }
    }

    /// The emoji and their counts, sorted by emoji.
    pub fn iter(&self) -> impl Iterator<Item = (&Emoji, u32)> {
        self.0.iter().map(|(e, n)| (e, *n))
    }
}

impl FromIterator<(Emoji, u32)> for Reactions {
    fn from_iter<I: IntoIterator<Item = (Emoji, u32)>>(iter: I) -> Self {
        let mut r = Reactions::new();
        for (e, n) in iter {
            r.set(e, n);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_bounds() {
        assert!(Emoji::parse("👍").is_ok());
        assert!(Emoji::parse("👩‍👩‍👧‍👦").is_ok());
        assert!(Emoji::parse("+1").is_ok());
        assert!(Emoji::parse(&"x".repeat(16)).is_ok());
        assert!(Emoji::parse(&"x".repeat(17)).is_err());
        assert!(Emoji::parse("").is_err());
        assert!(Emoji::parse("a b").is_err());
        assert!(Emoji::parse("\u{3000}").is_err());
        assert!(Emoji::parse("a\n").is_err());
        assert!(serde_json::from_str::<Emoji>("\"\"").is_err());
    }

    #[test]
    fn counts_leave_out_zero() {
        let up = Emoji::parse("👍").unwrap();
        let mut r = Reactions::new();
        r.add(&up);
        r.add(&up);
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"👍":2}"#);
        r.remove(&up);
        r.remove(&up);
        r.remove(&up);
        assert!(r.is_empty());
        assert_eq!(serde_json::to_string(&r).unwrap(), "{}");
        let r: Reactions = [(up.clone(), 0)].into_iter().collect();
        assert!(r.is_empty());
        let back: Reactions = serde_json::from_str(r#"{"👍":3,"🎉":1}"#).unwrap();
        assert_eq!(back.count(&up), 3);
        assert_eq!(back.len(), 2);
    }
}
