//! The whole member list of a big room (v1.1 `members` paging), for the member search:
//! `presence` carries only the first names, so the list is fetched page after page when
//! the reader asks for it, at most [`ROSTER_MAX_PAGES`] pages.

use super::{Driver, Effect};
use crate::protocol::{ClientFrame, MembersLimit, UserName};

/// The most pages one roster request fetches (10,000 names at the default page size):
/// past that, the search covers the first ten thousand.
pub const ROSTER_MAX_PAGES: u32 = 10;

impl Driver {
    /// The reader opened the member search: fetch the room's names from the first page
    /// (again, if asked before: the room has changed since).
    pub fn list_members(&mut self) -> Vec<Effect> {
        let mut out = vec![];
        self.roster_pages = Some(0);
        self.send(self.members_request(None), &mut out);
        out
    }

    /// A page of names came: show it and, while more follow, ask for the next one.
    pub(super) fn on_members(&mut self, members: Vec<UserName>, has_more: bool) -> Vec<Effect> {
        let mut out = vec![];
        let Some(pages) = self.roster_pages.as_mut() else {
            return out; // Not asked for (any more): a late answer.
        };
        let first = *pages == 0;
        *pages += 1;
        let next = (has_more && *pages < ROSTER_MAX_PAGES)
            .then(|| members.last().map(|n| n.as_str().to_string()))
            .flatten();
        if next.is_none() {
            self.roster_pages = None;
        }
        out.push(Effect::Roster {
            names: members,
            first,
            complete: !has_more,
        });
        if let Some(after) = next {
            self.send(self.members_request(Some(after)), &mut out);
        }
        out
    }

    fn members_request(&self, after: Option<String>) -> ClientFrame {
        ClientFrame::Members {
            room: self.room.clone(),
            after,
            limit: MembersLimit::default(),
        }
    }
}
