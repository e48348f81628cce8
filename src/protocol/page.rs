//! A page of a room's history over HTTP: the body of `GET /api/rooms/{room}/messages`,
//! and what a room page is server-rendered from before its socket opens.

use super::{Epoch, Message, RoomName};
use serde::{Deserialize, Serialize};

/// The newest messages of a room below a seq, with what a client needs to go live from
/// them: the `epoch` and `last_seq` to `join` with (`since` = `last_seq`), so the socket
/// continues exactly after the page, with no gap, no duplicate and no second fetch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagesPage {
    /// The room.
    pub room: RoomName,
    /// The room's epoch when the page was read.
    pub epoch: Epoch,
    /// The newest seq stored when the page was read (0 for an empty room); at least the
    /// newest seq in `messages` when the page has no `before`.
    pub last_seq: u64,
    /// Oldest first, as in a `history` frame.
    pub messages: Vec<Message>,
    /// True when older messages exist before the first one.
    pub has_more: bool,
}
