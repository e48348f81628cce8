//! The rooms sidebar beside a room page: the rooms the reader belongs to and the ones this
//! browser opened, each with its unread count and a mark when someone mentioned the
//! reader, the current one highlighted. Every listed room stays live on the page's one
//! socket ([`OpenRooms`]), so the counts move while the reader is elsewhere, and a click
//! switches rooms without a reload, keeping each list's scroll position.
//!
//! On a phone it is a drawer, opened from the room header's ☰ button.

use crate::client::open_rooms::{OpenRooms, MAX_OPEN};
use crate::client::storage;
use crate::protocol::RoomName;
use crate::ui::tab_title::unread;
use leptos::prelude::*;

/// Whether the phone's drawer is open (given as context by the room page, toggled by the
/// header's button).
#[derive(Clone, Copy)]
pub(crate) struct SidebarOpen(pub RwSignal<bool>);

/// (unread, mentions) by others in `room` since what the reader last read there (none
/// while the room has no entry or nothing is known read yet); reactive, for the sidebar's
/// rows and the phone's ☰ dot.
pub(crate) fn unread_in(rooms: OpenRooms, room: &RoomName) -> (usize, usize) {
    rooms.version.track();
    let Some(open) = rooms.get(room) else {
        return (0, 0);
    };
    let Some(read) = open.read.get() else {
        return (0, 0);
    };
    let me = rooms.me.get().flatten();
    open.view
        .timeline
        .with(|t| unread(t.lines(), Some(read), me.as_ref()))
}

/// The rooms `rooms` lists for a reader in `current` who belongs to `member` and opened
/// `recent` in this browser (most recent first): the current one, then theirs, then the
/// recent ones, at most [`MAX_OPEN`], in alphabetical order (a list that does not jump
/// around as rooms are visited).
pub fn sidebar_rooms(
    current: &RoomName,
    member: &[RoomName],
    recent: &[RoomName],
) -> Vec<RoomName> {
    let mut out: Vec<RoomName> = vec![current.clone()];
    for r in member.iter().chain(recent) {
        if out.len() >= MAX_OPEN {
            break;
        }
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    out.sort_by_key(|r| r.as_str().to_lowercase());
    out
}

/// The sidebar; `current` is the room on screen.
#[component]
pub fn Sidebar(#[prop(into)] current: Signal<Option<RoomName>>) -> impl IntoView {
    let rooms = expect_context::<OpenRooms>();
    let drawer = expect_context::<SidebarOpen>().0;
    let member = Resource::new(|| (), |_| my_rooms());
    // The list, once hydrated (the server knows neither this browser's rooms nor, before
    // hydration, where it is): the current room first remembered, then listed with the
    // others; rooms that fell off the list are closed.
    Effect::new(move |_| {
        let Some(cur) = current.get() else { return };
        let recent = storage::remember_room(&cur, MAX_OPEN);
        let member = member.get().and_then(Result::ok).unwrap_or_default();
        rooms.listed.set(sidebar_rooms(&cur, &member, &recent));
        rooms.close_unlisted(&cur);
    });
    // Every listed room live, once the room page knows who the reader is (the room on
    // screen is connected by its page, from its server-rendered messages).
    Effect::new(move |_| {
        let Some(me) = rooms.me.get() else { return };
        let cur = current.get_untracked();
        for r in rooms.listed.get() {
            if Some(&r) != cur.as_ref() {
                rooms.connect(&r, me.clone());
            }
        }
    });
    // Before hydration (and without JavaScript) the list is the current room alone.
    let shown = move || {
        let listed = rooms.listed.get();
        if listed.is_empty() {
            current.get().into_iter().collect()
        } else {
            listed
        }
    };
    view! {
        <div
            class=move || if drawer.get() { "sidebar-backdrop open" } else { "sidebar-backdrop" }
            on:click=move |_| drawer.set(false)
        ></div>
        <nav
            id="sidebar"
            class=move || if drawer.get() { "sidebar open" } else { "sidebar" }
            aria-label="Rooms"
        >
            <div class="sidebar-head">
                <a class="brand" href="/">"◉ Chorus"</a>
            </div>
            <h2 class="sidebar-title">"Rooms"</h2>
            <ul class="side-rooms">
                <For
                    each=shown
                    key=|r: &RoomName| r.clone()
                    children=move |r: RoomName| view! { <SideRoom room=r current/> }
                />
            </ul>
            <a class="side-more" href="/">"+ Join or create a room"</a>
        </nav>
    }
}

/// One room in the sidebar: its name, unread count and mention mark.
#[component]
fn SideRoom(room: RoomName, current: Signal<Option<RoomName>>) -> impl IntoView {
    let rooms = expect_context::<OpenRooms>();
    let drawer = expect_context::<SidebarOpen>().0;
    let is_current = {
        let room = room.clone();
        Memo::new(move |_| current.get().as_ref() == Some(&room))
    };
    // (unread, mentions) by others since what the reader last read here; none for the
    // room on screen, which the reader is looking at.
    let counts = {
        let room = room.clone();
        Memo::new(move |_| {
            if is_current.get() {
                (0, 0)
            } else {
                unread_in(rooms, &room)
            }
        })
    };
    let label = move || match counts.get() {
        (0, _) => String::new(),
        (n, 0) => format!("{n} unread"),
        (n, m) => format!("{n} unread, {m} mentioning you"),
    };
    let href = format!("/r/{room}");
    view! {
        <li>
            <a
                class=move || {
                    let mut c = String::from("side-room");
                    if is_current.get() { c.push_str(" current") }
                    if counts.get().0 > 0 { c.push_str(" has-unread") }
                    c
                }
                href=href
                aria-current=move || is_current.get().then_some("page")
                on:click=move |_| drawer.set(false)
                data-room=room.to_string()
            >
                <span class="side-hash" aria-hidden="true">"#"</span>
                <span class="side-name">{room.to_string()}</span>
                <Show when=move || { counts.get().1 > 0 }>
                    <span class="side-mention" aria-hidden="true">"@"</span>
                </Show>
                <Show when=move || { counts.get().0 > 0 }>
                    <span class="side-unread" aria-hidden="true">
                        {move || match counts.get().0 {
                            n if n > 99 => "99+".to_string(),
                            n => n.to_string(),
                        }}
                    </span>
                </Show>
                <span class="sr-only">{label}</span>
            </a>
        </li>
    }
}

/// The rooms the signed-in reader owns or is a member of (none for a guest), for the
/// sidebar.
#[server]
pub async fn my_rooms() -> Result<Vec<RoomName>, ServerFnError> {
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    Ok(crate::ui::ssr::reads()
        .rooms_of_reader(&headers, MAX_OPEN)
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rooms(names: &[&str]) -> Vec<RoomName> {
        names.iter().map(|n| RoomName::parse(n).unwrap()).collect()
    }

    #[test]
    fn lists_the_current_room_then_the_readers_then_recent_ones_in_name_order() {
        let cur = RoomName::parse("general").unwrap();
        assert_eq!(
            sidebar_rooms(
                &cur,
                &rooms(&["team", "Design"]),
                &rooms(&["general", "b", "team"])
            ),
            rooms(&["b", "Design", "general", "team"])
        );
    }

    #[test]
    fn keeps_at_most_the_rooms_one_page_keeps_live() {
        let cur = RoomName::parse("here").unwrap();
        let many: Vec<RoomName> = (0..40)
            .map(|i| RoomName::parse(&format!("r{i:02}")).unwrap())
            .collect();
        let listed = sidebar_rooms(&cur, &many[..20], &many[20..]);
        assert_eq!(listed.len(), MAX_OPEN);
        assert!(listed.contains(&cur), "the current room is never dropped");
        assert!(
            listed.contains(&many[0]),
            "the reader's rooms come before recent ones"
        );
        assert!(!listed.contains(&many[20]));
    }
}
