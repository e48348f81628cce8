//! The rooms this page keeps live: the one on screen and the sidebar's others, each with
//! its view, its connection (all on the page's one socket), where its list was scrolled,
//! and what the reader has read.
//!
//! A room's view outlives the room page that shows it: switching rooms in the sidebar
//! hides one page and shows another without a reload, and coming back finds the list as
//! it was (same messages, same scroll position), kept up to date meanwhile. The views'
//! signals belong to this registry's owner (the app's), not to a page.

use super::{storage, RoomClient, RoomView};
use crate::protocol::{Epoch, MessagesPage, RoomName, UserName};
use leptos::prelude::*;
use std::collections::HashMap;

/// At most this many rooms are live on one page at once (the server lets a connection be
/// in 16 by default; a few stay spare for pages that open more).
pub const MAX_OPEN: usize = 12;

/// One live room.
#[derive(Clone, Copy, Debug)]
pub struct OpenRoom {
    /// What its page renders.
    pub view: RoomView,
    /// The newest seq the reader has seen (`None`: not known yet; taken as "all read" once
    /// the room's first page is in).
    pub read: RwSignal<Option<u64>>,
    /// Where its list was scrolled when the reader last left it (`None`: at the bottom).
    pub scroll: StoredValue<Option<i32>>,
    client: StoredValue<Option<RoomClient>>,
    /// The epoch of the server-rendered page it started from, until its connection opens.
    epoch: StoredValue<Option<Epoch>>,
}

impl OpenRoom {
    /// Closes its connection, if it has one.
    fn close(&self) {
        if let Some(c) = self.client.get_value() {
            c.close();
        }
    }
}

/// The page's live rooms (given as context by the app).
#[derive(Clone, Copy)]
pub struct OpenRooms {
    owner: StoredValue<Owner>,
    rooms: StoredValue<HashMap<RoomName, OpenRoom>>,
    /// The rooms the sidebar lists, in its order.
    pub listed: RwSignal<Vec<RoomName>>,
    /// Who the reader is, once the page knows (`Some(None)`: a guest without a name).
    pub me: RwSignal<Option<Option<UserName>>>,
    /// Changes whenever a room gets its entry (the registry itself is not reactive).
    pub version: RwSignal<u64>,
}

impl OpenRooms {
    /// An empty registry owned by the current owner (the app's).
    pub fn new() -> Self {
        Self {
            owner: StoredValue::new(Owner::current().unwrap_or_default()),
            rooms: StoredValue::new(HashMap::new()),
            listed: RwSignal::new(Vec::new()),
            me: RwSignal::new(None),
            version: RwSignal::new(0),
        }
    }

    /// The room's entry, made from `first` (the page the server rendered, if any) when it
    /// has none yet.
    pub fn entry(&self, room: &RoomName, first: Option<&MessagesPage>) -> OpenRoom {
        if let Some(open) = self.get(room) {
            return open;
        }
        let open = self.owner.get_value().with(|| {
            let view = RoomView::starting_from(first);
            let read = RwSignal::new(storage::load_read(room));
            // Never opened here: what it holds when first loaded counts as read.
            Effect::new(move |_| {
                if view.loaded.get() && read.get_untracked().is_none() {
                    let newest = view
                        .timeline
                        .with_untracked(|t| t.resume_seq().unwrap_or(0));
                    read.set(Some(newest));
                }
            });
            OpenRoom {
                view,
                read,
                scroll: StoredValue::new(None),
                client: StoredValue::new(None),
                // The first join resumes from the server-rendered page's messages.
                epoch: StoredValue::new(first.map(|p| p.epoch.clone())),
            }
        });
        self.rooms.update_value(|m| {
            m.insert(room.clone(), open);
        });
        self.version.update(|v| *v += 1);
        open
    }

    /// The room's entry, if it has one.
    pub fn get(&self, room: &RoomName) -> Option<OpenRoom> {
        self.rooms.with_value(|m| m.get(room).copied())
    }

    /// Connects the room (as `name`, or to read), or renames its connection.
    pub fn connect(&self, room: &RoomName, name: Option<UserName>) {
        let open = self.entry(room, None);
        match open.client.get_value() {
            Some(c) => {
                if let Some(n) = name {
                    c.set_name(n);
                }
            }
            None => {
                let epoch = open.epoch.try_update_value(Option::take).flatten();
                let c = RoomClient::open(room.clone(), name, open.view, epoch);
                open.client.set_value(Some(c));
            }
        }
    }

    /// The room's connection, once [`Self::connect`] opened it.
    pub fn client(&self, room: &RoomName) -> Option<RoomClient> {
        self.get(room).and_then(|o| o.client.get_value())
    }

    /// Closes the rooms that are neither listed nor `keep`, so at most [`MAX_OPEN`] stay
    /// live.
    pub fn close_unlisted(&self, keep: &RoomName) {
        let listed = self.listed.get_untracked();
        let gone: Vec<RoomName> = self.rooms.with_value(|m| {
            m.keys()
                .filter(|r| *r != keep && !listed.contains(r))
                .cloned()
                .collect()
        });
        for room in gone {
            if let Some(open) = self.rooms.try_update_value(|m| m.remove(&room)).flatten() {
                open.close();
            }
        }
    }

    /// Closes every room (the reader left the room pages: in the lobby they are in none).
    pub fn close_all(&self) {
        let all: Vec<OpenRoom> = self
            .rooms
            .try_update_value(|m| m.drain().map(|(_, o)| o).collect())
            .unwrap_or_default();
        for open in all {
            open.close();
        }
    }

    /// The reader has seen the room up to `seq`: kept in the entry and in this browser.
    pub fn mark_read(&self, room: &RoomName, seq: u64) {
        if let Some(open) = self.get(room) {
            if open.read.get_untracked() < Some(seq) {
                open.read.set(Some(seq));
                storage::save_read(room, seq);
            }
        }
    }
}

impl Default for OpenRooms {
    fn default() -> Self {
        Self::new()
    }
}
