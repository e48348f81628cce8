//! The browser side of a room: its state as signals, and the socket that feeds them.
//!
//! - [`timeline`]: the message list's rules, as plain data.
//! - [`driver`]: the socket's decisions (join and resume, reload, retries, reconnects) as
//!   a state machine: events in, effects out; unit-tested natively.
//! - [`RoomView`]: the signals a room page renders.
//! - [`RoomClient`]: a handle on the room's socket. In the browser (feature `hydrate`) it
//!   carries out the driver's effects on a `web_sys::WebSocket` (`socket`); on the
//!   server it is inert, since server rendering never opens sockets.
//! - [`open_rooms`]: the rooms this page keeps live (the one on screen and the
//!   sidebar's), each with its view, read marker and scroll position.
//! - [`storage`]: what this browser remembers in localStorage (name, drafts, rooms it
//!   opened, what was read).
//! - [`clock`]: message times as people read them.

pub mod clock;
pub mod driver;
pub mod open_rooms;
pub mod timeline;

#[cfg(feature = "hydrate")]
mod socket;

use crate::protocol::{Body, Epoch, MessagesPage, RoomName, UserName};
use leptos::prelude::*;
pub use timeline::{Edit, Line, LineState, Timeline};

/// The connection as the user should see it: never a silently dead page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnStatus {
    /// Opening the socket.
    Connecting,
    /// Joined and live.
    Connected,
    /// Lost; trying again after a backoff of this many seconds.
    Reconnecting {
        /// Seconds until the next attempt.
        in_secs: u32,
    },
    /// The browser has no network; reconnects as soon as it has.
    Offline,
    /// The room took this connection out (removed from a private room, or banned): no
    /// reconnect.
    Ended {
        /// Banned (else removed from the members).
        banned: bool,
    },
}

impl ConnStatus {
    /// Text for the status badge.
    pub fn label(&self) -> String {
        match self {
            Self::Connecting => "Connecting…".into(),
            Self::Connected => "Live".into(),
            Self::Reconnecting { in_secs: 0 } => "Reconnecting…".into(),
            Self::Reconnecting { in_secs } => format!("Reconnecting in {in_secs}s"),
            Self::Offline => "Offline".into(),
            Self::Ended { banned: false } => "Not a member".into(),
            Self::Ended { banned: true } => "Banned".into(),
        }
    }

    /// A CSS class suffix.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Offline | Self::Ended { .. } => "offline",
        }
    }
}

/// Everything a room page renders, as signals the socket writes and the view reads.
#[derive(Clone, Copy, Debug)]
pub struct RoomView {
    /// The message list.
    pub timeline: RwSignal<Timeline>,
    /// The connection badge.
    pub status: RwSignal<ConnStatus>,
    /// Open connections in the room.
    pub online: RwSignal<u32>,
    /// The first distinct names in the room (all of them in a small room).
    pub members: RwSignal<Vec<String>>,
    /// How many distinct names the room has.
    pub members_total: RwSignal<u32>,
    /// The whole member list, page by page, once the reader searched it.
    pub roster: RwSignal<Option<Roster>>,
    /// Whether older history can be loaded.
    pub has_more: RwSignal<bool>,
    /// A problem to show that belongs to no message.
    pub notice: RwSignal<Option<String>>,
    /// Who the server says this connection is, once a token signed it in (embedded pages).
    pub me: RwSignal<Option<UserName>>,
    /// The latest answer to "who reacted" (asked on hover of a message's reactions).
    pub reactors: RwSignal<Option<ReactorsOf>>,
    /// The newest page of history is in (the server rendered it, or a `history` answer
    /// came): from then on, what arrives is new.
    pub loaded: RwSignal<bool>,
}

/// The room's member names as fetched for the member search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roster {
    /// Sorted, as the server pages them.
    pub names: Vec<String>,
    /// Every page is in (else more are coming, or the fetch stopped at its cap).
    pub complete: bool,
}

/// Who reacted to one message, as the server answered `reactors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactorsOf {
    /// The message.
    pub seq: u64,
    /// Per emoji, the first names (the count says how many in all).
    pub by: std::collections::BTreeMap<crate::protocol::Emoji, Vec<String>>,
    /// The emoji the reader reacts with.
    pub mine: Vec<crate::protocol::Emoji>,
}

impl RoomView {
    /// Empty signals, owned by the current reactive owner.
    pub fn new() -> Self {
        Self {
            timeline: RwSignal::new(Timeline::default()),
            status: RwSignal::new(ConnStatus::Connecting),
            online: RwSignal::new(0),
            members: RwSignal::new(Vec::new()),
            members_total: RwSignal::new(0),
            roster: RwSignal::new(None),
            has_more: RwSignal::new(false),
            notice: RwSignal::new(None),
            me: RwSignal::new(None),
            reactors: RwSignal::new(None),
            loaded: RwSignal::new(false),
        }
    }
}

impl RoomView {
    /// Signals that start from a page the server rendered (or empty without one).
    pub fn starting_from(first: Option<&MessagesPage>) -> Self {
        let view = Self::new();
        if let Some(page) = first {
            view.timeline
                .set(Timeline::starting_from(&page.messages, page.last_seq));
            view.has_more.set(page.has_more);
            view.loaded.set(true);
        }
        view
    }
}

impl Default for RoomView {
    fn default() -> Self {
        Self::new()
    }
}

/// A handle on one room's live connection. `Copy`, so view closures can hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoomClient {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    id: u64,
}

impl RoomClient {
    /// Connects to the room as `name` (`None`: to read, until [`Self::set_name`]) and
    /// keeps `view` up to date, reconnecting as needed. `epoch` is the one the view's
    /// messages came from (the server-rendered page's), so the first join resumes from
    /// them.
    pub fn open(
        room: RoomName,
        name: Option<UserName>,
        view: RoomView,
        epoch: Option<Epoch>,
    ) -> Self {
        Self::start(room, name, view, epoch, None)
    }

    /// The reader picked a name: the room shows it from now on (joined again under it).
    pub fn set_name(&self, name: UserName) {
        #[cfg(feature = "hydrate")]
        socket::set_name(self.id, name);
        #[cfg(not(feature = "hydrate"))]
        let _ = name;
    }

    /// [`Self::open`] for a page an application embeds: every socket is signed in with a
    /// token the embedding page gives (`postMessage` from one of `origins`), refreshed
    /// before it ends (see [`driver`]'s `token` rules). `name` is used only while no token
    /// has come.
    pub fn open_embedded(
        room: RoomName,
        name: Option<UserName>,
        view: RoomView,
        origins: Vec<String>,
    ) -> Self {
        Self::start(room, name, view, None, Some(origins))
    }

    fn start(
        room: RoomName,
        name: Option<UserName>,
        view: RoomView,
        epoch: Option<Epoch>,
        embed: Option<Vec<String>>,
    ) -> Self {
        #[cfg(feature = "hydrate")]
        {
            Self {
                id: socket::open(room, name, view, epoch, embed),
            }
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (room, name, view, epoch, embed);
            Self { id: 0 }
        }
    }

    /// Shows `body` (in reply to `reply_to`) as pending at once and sends it; re-sent
    /// after reconnects until acked.
    pub fn send(&self, body: Body, reply_to: Option<u64>) {
        #[cfg(feature = "hydrate")]
        socket::send(self.id, body, reply_to);
        #[cfg(not(feature = "hydrate"))]
        let _ = (body, reply_to);
    }

    /// Edits or deletes a message, or bans or mutes someone, if the room is live.
    pub fn act(&self, act: driver::Act) {
        #[cfg(feature = "hydrate")]
        socket::act(self.id, act);
        #[cfg(not(feature = "hydrate"))]
        let _ = act;
    }

    /// Asks for the page of history before the oldest message shown.
    pub fn load_older(&self) {
        #[cfg(feature = "hydrate")]
        socket::load_older(self.id);
    }

    /// Fetches the room's whole member list into the view's `roster` (the member search).
    pub fn list_members(&self) {
        #[cfg(feature = "hydrate")]
        socket::list_members(self.id);
    }

    /// Skips the wait before the next reconnect attempt (the "Reconnect now" button).
    pub fn reconnect_now(&self) {
        #[cfg(feature = "hydrate")]
        socket::reconnect_now(self.id);
    }

    /// Closes the socket for good (the page is going away).
    pub fn close(&self) {
        #[cfg(feature = "hydrate")]
        socket::close(self.id);
    }
}

/// What this browser remembers in localStorage: the user's name (so it is asked once),
/// each room's unsent draft (so a reload or a trip elsewhere keeps it), the rooms it
/// opened (the sidebar's) and how far each was read (its unread count).
pub mod storage {
    use crate::protocol::{RoomName, UserName};

    #[cfg(feature = "hydrate")]
    fn local() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    #[cfg(feature = "hydrate")]
    const ROOMS_KEY: &str = "chorus.rooms";

    /// The rooms this browser opened, most recent first (none on the server).
    pub fn load_rooms() -> Vec<RoomName> {
        #[cfg(feature = "hydrate")]
        {
            let Some(text) = local().and_then(|s| s.get_item(ROOMS_KEY).ok().flatten()) else {
                return Vec::new();
            };
            // Whatever else is there (another version's, or edited by hand) is skipped.
            text.split(' ')
                .filter_map(|r| RoomName::parse(r).ok())
                .collect()
        }
        #[cfg(not(feature = "hydrate"))]
        Vec::new()
    }

    /// Puts `room` first among the rooms this browser opened, keeping at most `max`.
    pub fn remember_room(room: &RoomName, max: usize) -> Vec<RoomName> {
        let mut rooms = load_rooms();
        rooms.retain(|r| r != room);
        rooms.insert(0, room.clone());
        rooms.truncate(max);
        #[cfg(feature = "hydrate")]
        if let Some(store) = local() {
            let text: Vec<&str> = rooms.iter().map(RoomName::as_str).collect();
            let _ = store.set_item(ROOMS_KEY, &text.join(" "));
        }
        rooms
    }

    #[cfg(feature = "hydrate")]
    fn read_key(room: &RoomName) -> String {
        format!("chorus.read.{room}")
    }

    /// The newest seq read in `room` in this browser (none on the server).
    pub fn load_read(room: &RoomName) -> Option<u64> {
        #[cfg(feature = "hydrate")]
        {
            local()?.get_item(&read_key(room)).ok()??.parse().ok()
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = room;
            None
        }
    }

    /// Remembers that `room` was read up to `seq`.
    pub fn save_read(room: &RoomName, seq: u64) {
        #[cfg(feature = "hydrate")]
        if let Some(store) = local() {
            let _ = store.set_item(&read_key(room), &seq.to_string());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (room, seq);
    }

    #[cfg(feature = "hydrate")]
    const KEY: &str = "chorus.name";

    /// The saved name, if any (always `None` on the server).
    pub fn load_name() -> Option<UserName> {
        #[cfg(feature = "hydrate")]
        {
            let store = web_sys::window()?.local_storage().ok()??;
            UserName::parse(&store.get_item(KEY).ok()??).ok()
        }
        #[cfg(not(feature = "hydrate"))]
        None
    }

    /// Saves the name for next time.
    pub fn save_name(name: &UserName) {
        #[cfg(feature = "hydrate")]
        if let Some(Ok(Some(store))) = web_sys::window().map(|w| w.local_storage()) {
            let _ = store.set_item(KEY, name.as_str());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = name;
    }

    #[cfg(feature = "hydrate")]
    fn draft_key(room: &RoomName) -> String {
        format!("chorus.draft.{room}")
    }

    /// The room's unsent text, if any (always `None` on the server).
    pub fn load_draft(room: &RoomName) -> Option<String> {
        #[cfg(feature = "hydrate")]
        {
            let store = web_sys::window()?.local_storage().ok()??;
            store
                .get_item(&draft_key(room))
                .ok()?
                .filter(|d| !d.is_empty())
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = room;
            None
        }
    }

    /// Keeps (or, when empty, forgets) the room's unsent text.
    pub fn save_draft(room: &RoomName, text: &str) {
        #[cfg(feature = "hydrate")]
        if let Some(Ok(Some(store))) = web_sys::window().map(|w| w.local_storage()) {
            let key = draft_key(room);
            let _ = if text.is_empty() {
                store.remove_item(&key)
            } else {
                store.set_item(&key, text)
            };
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (room, text);
    }
}
