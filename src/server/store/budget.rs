//! Byte budgets for pages of messages: the one rule behind [`super::Store::range`]'s
//! `max_bytes` (in every store), history pages cut to a size, and the room page's first
//! paint.

use super::HistoryPage;
use crate::protocol::Message;

/// A byte budget for a page of messages: the first always fits, however big; each later
/// one while the total stays within the budget, and the page ends at the first that does
/// not. The one rule behind [`super::Store::range`]'s `max_bytes` (in every store) and the
/// room page's first paint.
#[derive(Clone, Copy, Debug)]
pub struct ByteBudget {
    left: usize,
    first: bool,
}

impl ByteBudget {
    /// A budget of `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            left: max,
            first: true,
        }
    }

    /// Whether a body of `size` bytes still fits; if so it is counted.
    pub fn admit(&mut self, size: usize) -> bool {
        if std::mem::take(&mut self.first) {
            self.left = self.left.saturating_sub(size);
            return true;
        }
        let fits = size <= self.left;
        if fits {
            self.left -= size;
        }
        fits
    }
}

/// The first messages of `messages` that fit a [`ByteBudget`] of `max_bytes`.
pub fn within_bytes(messages: impl IntoIterator<Item = Message>, max_bytes: usize) -> Vec<Message> {
    let mut budget = ByteBudget::new(max_bytes);
    messages
        .into_iter()
        .take_while(|m| budget.admit(m.body_len()))
        .collect()
}

impl HistoryPage {
    /// The newest messages of the page that fit a [`ByteBudget`] of `max_bytes` (the
    /// newest always does); `has_more` says so when older ones were cut, so a client that
    /// pages with `before` still reaches every message.
    pub fn newest_within_bytes(self, max_bytes: usize) -> Self {
        let mut budget = ByteBudget::new(max_bytes);
        let total = self.messages.len();
        let kept = self
            .messages
            .iter()
            .rev()
            .take_while(|m| budget.admit(m.body_len()))
            .count();
        let mut messages = self.messages;
        messages.drain(..total - kept);
        Self {
            messages,
            has_more: self.has_more || kept < total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteBudget;
    use crate::server::store::conformance::draft;
    use crate::server::store::HistoryPage;

    #[test]
    fn a_history_page_keeps_its_newest_within_the_budget_and_says_there_is_more() {
        let msg = |seq: u64, len: usize| crate::protocol::Message {
            room: draft("a", "x").room,
            seq,
            from: draft("a", "x").from,
            content: crate::protocol::Content::text(
                crate::protocol::Body::parse(&"b".repeat(len)).unwrap(),
            ),
            ts: 0,
            client_id: crate::protocol::ClientId::parse(&format!("c{seq}")).unwrap(),
            user: None,
            reply_to: None,
            reactions: Default::default(),
        };
        let page = HistoryPage {
            messages: vec![msg(1, 600), msg(2, 500), msg(3, 400)],
            has_more: false,
        };
        let cut = page.clone().newest_within_bytes(1000);
        assert_eq!(
            cut.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [2, 3]
        );
        assert!(cut.has_more, "seq 1 is still there to page to");
        let whole = page.clone().newest_within_bytes(10_000);
        assert_eq!(whole, page);
        let one = page.newest_within_bytes(1);
        assert_eq!(one.messages.len(), 1, "the newest always comes");
    }

    #[test]
    fn the_first_always_fits_then_the_page_ends_at_the_first_that_does_not() {
        let mut b = ByteBudget::new(10);
        assert!(b.admit(50), "the first, however big");
        assert!(!b.admit(1), "nothing is left");
        let mut b = ByteBudget::new(10);
        assert!(b.admit(4) && b.admit(6));
        assert!(!b.admit(1));
    }
}
