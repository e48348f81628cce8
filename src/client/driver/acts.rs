//! The user's acts on messages and people (edit, delete, react, ban, mute): sent at once when
//! live, never queued, since a moderation act that lands minutes later surprises
//! everyone; offline, the user is told to try again.

use super::effect::Effect;
use super::{Driver, Link};
use crate::protocol::{Body, ClientFrame, Emoji, SanctionKind, UserId};

/// What the user asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    /// Replace the text of their message `seq`.
    Edit {
        /// The message.
        seq: u64,
        /// The new text.
        body: Body,
    },
    /// Delete message `seq`.
    Delete {
        /// The message.
        seq: u64,
    },
    /// React to message `seq` with `emoji` (`on`), or take the reaction back.
    React {
        /// The message.
        seq: u64,
        /// The reaction.
        emoji: Emoji,
        /// Add or remove.
        on: bool,
    },
    /// Ask who reacted to message `seq`.
    Reactors {
        /// The message.
        seq: u64,
    },
    /// Ban or mute `user`, for `duration_s` (for good when `None`).
    Sanction {
        /// Ban or mute.
        kind: SanctionKind,
        /// Who.
        user: UserId,
        /// How long.
        duration_s: Option<u64>,
    },
}

impl Driver {
    /// Sends the act if the socket is live; otherwise says it was not sent.
    pub fn act(&mut self, act: Act) -> Vec<Effect> {
        if self.link != Link::Open {
            return vec![Effect::Notice(Some(
                "Not connected: try again once the room is live.".into(),
            ))];
        }
        let room = self.room.clone();
        let frame = match act {
            Act::Edit { seq, body } => ClientFrame::Edit { room, seq, body },
            Act::Delete { seq } => ClientFrame::Delete { room, seq },
            Act::React { seq, emoji, on } => ClientFrame::React {
                room,
                seq,
                emoji,
                on,
            },
            // A question, not a change: no notice to clear.
            Act::Reactors { seq } => {
                return vec![Effect::Send(ClientFrame::Reactors { room, seq })]
            }
            Act::Sanction {
                kind: SanctionKind::Ban,
                user,
                duration_s,
            } => ClientFrame::Ban {
                room,
                user,
                duration_s,
            },
            Act::Sanction {
                kind: SanctionKind::Mute,
                user,
                duration_s,
            } => ClientFrame::Mute {
                room,
                user,
                duration_s,
            },
        };
        vec![Effect::Notice(None), Effect::Send(frame)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{RoomName, UserName};

    #[test]
    fn an_act_is_sent_only_while_live() {
        let mut d = Driver::new(
            RoomName::parse("r").unwrap(),
            Some(UserName::parse("ann").unwrap()),
            None,
            Box::new(|| 0.5),
        );
        let offline = d.act(Act::Delete { seq: 3 });
        assert!(matches!(offline.as_slice(), [Effect::Notice(Some(_))]));
        d.link = Link::Open;
        let sent = d.act(Act::Delete { seq: 3 });
        assert_eq!(
            sent.last(),
            Some(&Effect::Send(ClientFrame::Delete {
                room: RoomName::parse("r").unwrap(),
                seq: 3
            }))
        );
    }
}
