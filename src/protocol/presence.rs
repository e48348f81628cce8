//! v1.1 "Presence in big rooms": `joined` and `presence` list at most [`MEMBERS_CAP`]
//! names with the room's `members_total`, and the `members` frame pages through the rest,
//! so a member's presence traffic is bounded however big the room is.

use serde::{Deserialize, Serialize};

/// The most names a `joined` or `presence` frame lists (the first, in code-point order).
pub const MEMBERS_CAP: usize = 100;

/// The longest `after` a `members` request may carry: a name is at most 32 characters,
/// and anything longer than this cannot be one (it is `bad_frame`, not a scan).
pub const MEMBERS_AFTER_MAX_CHARS: usize = 128;

/// How many names one `members` answer holds: 1–1000, 1000 when not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct MembersLimit(u16);

impl MembersLimit {
    /// The most one page may hold.
    pub const MAX: u16 = 1000;

    /// Accepts 1–1000.
    pub fn new(n: u64) -> Option<Self> {
        (1..=u64::from(Self::MAX))
            .contains(&n)
            .then_some(Self(n as u16))
    }

    /// The limit as a count.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

impl Default for MembersLimit {
    fn default() -> Self {
        Self(Self::MAX)
    }
}

impl TryFrom<u64> for MembersLimit {
    type Error = &'static str;
    fn try_from(n: u64) -> Result<Self, Self::Error> {
        Self::new(n).ok_or("limit must be 1-1000")
    }
}

impl From<MembersLimit> for u64 {
    fn from(l: MembersLimit) -> u64 {
        u64::from(l.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_one_to_a_thousand_names() {
        assert!(MembersLimit::new(0).is_none());
        assert_eq!(MembersLimit::new(1).map(MembersLimit::get), Some(1));
        assert_eq!(MembersLimit::new(1000).map(MembersLimit::get), Some(1000));
        assert!(MembersLimit::new(1001).is_none());
        assert_eq!(MembersLimit::default().get(), 1000);
    }
}
