//! The `members` frame (v1.1 "Presence in big rooms"): a page of a joined room's member
//! names, for a list too long for `presence` to carry.

use super::apply::take;
use super::Session;
use crate::protocol::{MembersLimit, RoomName, ServerFrame};
use crate::server::refusal::Refusal;

impl Session {
    /// `members`: the names strictly after `after`, at most `limit`, over every node.
    pub(super) fn members(
        &mut self,
        room: RoomName,
        after: Option<String>,
        limit: MembersLimit,
    ) -> Result<ServerFrame, Refusal> {
        if !self.rooms.contains_key(&room) {
            return Err(Refusal::NotJoined);
        }
        take(&mut self.control)?;
        let (members, has_more) = self.hub.members_page(&room, after.as_deref(), limit.get());
        Ok(ServerFrame::Members {
            room,
            members,
            has_more,
        })
    }
}
