//! `/r/{room}`: the live room. Server-rendered with its newest messages, then hydrated;
//! the browser socket ([`crate::client::RoomClient`]) continues the list from there.

use crate::client::open_rooms::OpenRooms;
use crate::client::{storage, RoomView};
use crate::protocol::{Body, MessagesPage, RoomName, UserName};
use crate::ui::composer::{Composer, NamePrompt};
use crate::ui::message_list::MessageList;
use crate::ui::moderation::Powers;
use crate::ui::people::Members;
use crate::ui::sidebar::{Sidebar, SidebarOpen};
use crate::ui::snapshot::room_page;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

/// Why a room page has no server-rendered messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum NoFirstPaint {
    /// The URL does not name a valid room.
    BadName(String),
    /// The store could not be read; the page still goes live over the socket, which
    /// loads the history itself.
    Unavailable(RoomName),
    /// A private room this reader is not a member of: to them it does not exist.
    Hidden,
    /// This page has the room live already (the reader was here before, or it is in the
    /// sidebar): its view is shown as it is, without asking the server again.
    Live(RoomName),
}

/// The route component: validates the room name from the URL and reads the room's newest
/// messages, which the server renders into the page (the route is `SsrMode::Async`, so
/// the HTML is complete, also for readers without JavaScript).
#[component]
pub fn RoomPage() -> impl IntoView {
    let params = use_params_map();
    let rooms = expect_context::<OpenRooms>();
    provide_context(SidebarOpen(RwSignal::new(false)));
    // Switching rooms keeps this page (the route's parameter changes); leaving the rooms
    // for another page leaves every room.
    on_cleanup(move || rooms.close_all());
    let current = Signal::derive(move || {
        params
            .read()
            .get("room")
            .and_then(|r| RoomName::parse(&r).ok())
    });
    let first = Resource::new(
        move || params.read().get("room").unwrap_or_default(),
        move |raw| async move {
            let room = RoomName::parse(&raw)
                .map_err(|e| NoFirstPaint::BadName(crate::ui::for_people(&e)))?;
            if rooms.client(&room).is_some() {
                return Err(NoFirstPaint::Live(room));
            }
            room_page(room.clone()).await.map_err(|e| match e {
                ServerFnError::ServerError(m) if m == crate::ui::snapshot::NOT_FOUND => {
                    NoFirstPaint::Hidden
                }
                _ => NoFirstPaint::Unavailable(room),
            })
        },
    );
    view! {
        <div class="workspace">
        <Sidebar current/>
        <Suspense fallback=|| view! { <main class="center"><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match first.await {
                    Ok(page) => view! { <Room room=page.room.clone() first=Some(page)/> }.into_any(),
                    Err(NoFirstPaint::Unavailable(room) | NoFirstPaint::Live(room)) => {
                        view! { <Room room first=None/> }.into_any()
                    }
                    Err(NoFirstPaint::Hidden) => view! { <crate::ui::NotFound/> }.into_any(),
                    Err(NoFirstPaint::BadName(e)) => view! {
                        <main class="center">
                            <section class="card">
                                <h1>"Not a room name"</h1>
                                <p>{e}</p>
                                <p><a href="/">"Back to the lobby"</a></p>
                            </section>
                        </main>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
        </div>
    }
}

/// One room: header, message list, composer. Asks for a name first if none is saved.
/// Starts from `first`, the page the server rendered, and goes live from its end; or,
/// when this page has the room live already (it was on screen before, or in the sidebar),
/// from that view, scrolled where the reader left it.
#[component]
fn Room(room: RoomName, first: Option<MessagesPage>) -> impl IntoView {
    let rooms = expect_context::<OpenRooms>();
    let open = rooms.entry(&room, first.as_ref());
    let view_state = open.view;
    let name = RwSignal::new(None::<UserName>);

    // Signed in, the account's name is the one shown (the server ignores any other);
    // a guest uses the name saved in this browser, or reads until it picks one.
    let me = Resource::new(|| (), |_| crate::ui::account::whoami());
    let known = RwSignal::new(false);
    Effect::new(move |_| {
        let Some(answer) = me.get() else { return };
        match answer.ok().flatten() {
            Some(me) => name.set(Some(me.name)),
            None => {
                if let Some(saved) = storage::load_name() {
                    name.set(Some(saved));
                }
            }
        }
        known.set(true);
    });
    {
        // Reading needs no name: the socket opens as soon as the page knows who this is,
        // and a name picked later renames the same connection (and the sidebar's).
        let room = room.clone();
        Effect::new(move |_| {
            if !known.get() {
                return;
            }
            let n = name.get();
            rooms.connect(&room, n.clone());
            rooms.me.set(Some(n));
        });
    }
    let current = {
        let room = room.clone();
        move || rooms.client(&room)
    };
    let standing = Resource::new(
        {
            let room = room.clone();
            move || room.clone()
        },
        crate::ui::rooms::room_standing,
    );
    // The controls need the socket: shown once hydrated, so the server's HTML and the
    // first render in the browser agree.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    provide_context(Powers {
        me: Signal::derive(move || {
            hydrated
                .get()
                .then(|| me.get().and_then(Result::ok).flatten().map(|m| m.user))
                .flatten()
        }),
        speaks: Signal::derive(move || {
            hydrated.get()
                && name.get().is_some()
                && !matches!(
                    view_state.status.get(),
                    crate::client::ConnStatus::Ended { .. }
                )
        }),
        moderator: Signal::derive(move || {
            hydrated.get()
                && standing
                    .get()
                    .and_then(Result::ok)
                    .is_some_and(|s| s.manager)
        }),
        act: Callback::new({
            let current = current.clone();
            move |act| {
                if let Some(c) = current() {
                    c.act(act)
                }
            }
        }),
    });
    provide_context(MembersOpen(RwSignal::new(false)));
    provide_context(view_state);
    provide_context(crate::ui::replies::Thread::new(view_state));
    provide_context(crate::ui::reactions::MyReactions::new(room.clone()));
    // The title is read again after the page's owner is disposed (on the server, for
    // `<head>`): `try_get` with the plain title, never a panic (which dropped the reply).
    let fallback_title = crate::ui::tab_title::title(&room, (0, 0));
    let title = crate::ui::tab_title::room_title(room.clone(), view_state, name.into());
    // Whether the list follows new messages; sending one of your own brings you back down.
    // Back in a room left scrolled up, it stays up there.
    let follow = RwSignal::new(open.scroll.get_value().is_none());
    // What the reader sees at the bottom of a visible page is read (the sidebar's count).
    {
        let room = room.clone();
        let visible = crate::ui::tab_title::page_visibility();
        Effect::new(move |_| {
            if follow.get() && visible.get() {
                if let Some(seq) = view_state.timeline.with(|t| t.resume_seq()) {
                    rooms.mark_read(&room, seq);
                }
            }
        });
    }

    view! {
        <Title text=move || title.try_get().unwrap_or_else(|| fallback_title.clone())/>
        // Presence is only as fresh as the connection: dimmed while not live.
        <div class=move || format!("room conn-{}", view_state.status.get().class())>
            <RoomHeader room=room.clone() view_state me standing reconnect=Callback::new({
                let current = current.clone();
                move |_| if let Some(c) = current() { c.reconnect_now() }
            })/>
            <crate::ui::rooms::InviteLink/>
            <p class="noscript-hint">"JavaScript is off: this is the room as it was when the page loaded. Reload to see newer messages; to take part, turn JavaScript on."</p>
            <Members view_state list_members=Callback::new({
                let current = current.clone();
                move |_| if let Some(c) = current() { c.list_members() }
            })/>
            <MessageList view_state follow reader=name scroll=open.scroll load_older=Callback::new({
                let current = current.clone();
                move |_| if let Some(c) = current() { c.load_older() }
            })/>
            {move || view_state.notice.get().map(|n| view! { <p class="notice" role="alert">{n}</p> })}
            {
                let current = current.clone();
                let ended = move || matches!(view_state.status.get(), crate::client::ConnStatus::Ended { .. });
                move || match name.get() {
                    // Out of the room (removed, banned): nothing can be sent any more.
                    Some(_) if ended() => view! {
                        <p class="ended-note">"You can no longer post in this room."</p>
                    }.into_any(),
                    Some(n) => view! {
                        <Composer room=room.clone() name=n on_send=Callback::new({
                            let current = current.clone();
                            move |(body, reply_to): (Body, Option<u64>)| if let Some(c) = current() {
                                follow.set(true);
                                c.send(body, reply_to)
                            }
                        })/>
                    }.into_any(),
                    None => view! { <NamePrompt name/> }.into_any(),
                }
            }
        </div>
    }
    .into_any()
}

/// Room name, online count and the connection badge.
#[component]
fn RoomHeader(
    room: RoomName,
    view_state: RoomView,
    reconnect: Callback<()>,
    me: Resource<Result<Option<crate::ui::account::Me>, ServerFnError>>,
    standing: Resource<Result<crate::ui::rooms::ReaderStanding, ServerFnError>>,
) -> impl IntoView {
    let next = format!("/r/{room}");
    let badges_room = room.clone();
    view! {
        <header class="room-head">
            <RoomsToggle/>
            <a class="home" href="/" aria-label="Chorus lobby">"◉"</a>
            <h1 class="room-name">"#"{room.to_string()}</h1>
            <Suspense fallback=|| ()>
                {
                    let room = badges_room.clone();
                    move || {
                        let room = room.clone();
                        Suspend::new(async move {
                            let standing = standing.await.unwrap_or_default();
                            view! { <crate::ui::rooms::RoomBadges room standing/> }
                        })
                    }
                }
            </Suspense>
            <LiveBadges view_state reconnect/>
            <Suspense fallback=|| ()>
                {
                    let next = next.clone();
                    move || {
                        let next = next.clone();
                        Suspend::new(async move {
                            let me = me.await.ok().flatten();
                            view! { <crate::ui::account::UserBar me next/> }
                        })
                    }
                }
            </Suspense>
        </header>
    }
    .into_any()
}

/// The phone's button that opens the rooms sidebar; a dot on it when another room has
/// something unread (hidden on wide screens, where the sidebar is always shown).
#[component]
fn RoomsToggle() -> impl IntoView {
    let Some(SidebarOpen(open)) = use_context::<SidebarOpen>() else {
        return ().into_any();
    };
    let rooms = expect_context::<OpenRooms>();
    let location = leptos_router::hooks::use_location();
    let elsewhere = Memo::new(move |_| {
        let here = location.pathname.get();
        rooms
            .listed
            .get()
            .iter()
            .any(|r| format!("/r/{r}") != here && crate::ui::sidebar::unread_in(rooms, r).0 > 0)
    });
    view! {
        <button
            type="button"
            class=move || if elsewhere.get() { "rooms-toggle has-unread" } else { "rooms-toggle" }
            aria-label=move || if elsewhere.get() { "Rooms (unread messages)" } else { "Rooms" }
            aria-controls="sidebar"
            aria-expanded=move || open.get().to_string()
            on:click=move |_| open.update(|o| *o = !*o)
        >
            "☰"
        </button>
    }
    .into_any()
}

/// Whether the member list is unfolded (it is folded on phones), shared by the count
/// button in the header and the list, given as context by the room page and the embed.
#[derive(Clone, Copy)]
pub(crate) struct MembersOpen(pub RwSignal<bool>);

/// How many are here and the connection badge (the room page's header and the embed's);
/// while waiting to reconnect, a button that tries at once.
#[component]
pub(crate) fn LiveBadges(view_state: RoomView, reconnect: Callback<()>) -> impl IntoView {
    let waiting = move || {
        matches!(
            view_state.status.get(),
            crate::client::ConnStatus::Reconnecting { .. }
        )
    };
    view! {
        // The count opens the member list on a phone, where the list is folded away; on
        // a wide screen the list is always shown and the button only names who is here.
        {
            let open = use_context::<MembersOpen>().map(|m| m.0);
            view! {
                <button
                    type="button"
                    class="online"
                    title=move || view_state.members.get().join(", ")
                    aria-controls="people-here"
                    aria-expanded=move || open.is_some_and(|o| o.get()).to_string()
                    on:click=move |_| if let Some(o) = open { o.update(|v| *v = !*v) }
                >
                    {move || view_state.online.get()}" online"
                </button>
            }
        }
        <span
            class=move || format!("status status-{}", view_state.status.get().class())
            role="status"
            aria-label=move || format!("Connection: {}", view_state.status.get().label())
            data-testid="status"
        >
            {move || view_state.status.get().label()}
        </span>
        <Show when=waiting>
            <button type="button" class="reconnect" on:click=move |_| reconnect.run(())>
                "Reconnect now"
            </button>
        </Show>
    }
}
