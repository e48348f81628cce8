//! `/r/{room}`: the live room. Server-rendered with its newest messages, then hydrated;
//! the browser socket ([`crate::client::RoomClient`]) continues the list from there.

use crate::client::clock::{clock, clock_utc, now_ms};
use crate::client::{storage, Line, LineState, RoomClient, RoomView};
use crate::protocol::{Body, MessagesPage, RoomName, UserName};
use crate::sync::lock;
use crate::ui::composer::{Composer, NamePrompt};
use crate::ui::moderation::{Powers, RowActions, RowBody, SenderName};
use crate::ui::snapshot::room_page;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

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
}

/// The route component: validates the room name from the URL and reads the room's newest
/// messages, which the server renders into the page (the route is `SsrMode::Async`, so
/// the HTML is complete, also for readers without JavaScript).
#[component]
pub fn RoomPage() -> impl IntoView {
    let params = use_params_map();
    let first = Resource::new(
        move || params.read().get("room").unwrap_or_default(),
        |raw| async move {
            let room = RoomName::parse(&raw).map_err(|e| NoFirstPaint::BadName(e.to_string()))?;
            room_page(room.clone()).await.map_err(|e| match e {
                ServerFnError::ServerError(m) if m == crate::ui::snapshot::NOT_FOUND => {
                    NoFirstPaint::Hidden
                }
                _ => NoFirstPaint::Unavailable(room),
            })
        },
    );
    view! {
        <Suspense fallback=|| view! { <main class="center"><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match first.await {
                    Ok(page) => view! { <Room room=page.room.clone() first=Some(page)/> }.into_any(),
                    Err(NoFirstPaint::Unavailable(room)) => view! { <Room room first=None/> }.into_any(),
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
    }
}

/// One room: header, message list, composer. Asks for a name first if none is saved.
/// Starts from `first`, the page the server rendered, and goes live from its end.
#[component]
fn Room(room: RoomName, first: Option<MessagesPage>) -> impl IntoView {
    let view_state = RoomView::starting_from(first.as_ref());
    let epoch = first.map(|p| p.epoch);
    let name = RwSignal::new(None::<UserName>);
    // The socket handle is not reactive state; a plain cell that outlives the view's
    // signals lets the cleanup close it even after they are disposed.
    let client: Arc<Mutex<Option<RoomClient>>> = Arc::new(Mutex::new(None));

    // Signed in, the account's name is the one shown (the server ignores any other);
    // a guest uses the name saved in this browser, or picks one.
    let me = Resource::new(|| (), |_| crate::ui::account::whoami());
    Effect::new(move |_| match me.get().and_then(Result::ok).flatten() {
        Some(me) => name.set(Some(me.name)),
        None if me.get().is_some() => {
            if let Some(saved) = storage::load_name() {
                name.set(Some(saved));
            }
        }
        None => {}
    });
    {
        let client = client.clone();
        let room = room.clone();
        Effect::new(move |_| {
            let Some(n) = name.get() else { return };
            let mut slot = lock(&client);
            if slot.is_none() {
                *slot = Some(RoomClient::open(room.clone(), n, view_state, epoch.clone()));
            }
        });
    }
    {
        let client = client.clone();
        on_cleanup(move || {
            if let Some(c) = lock(&client).take() {
                c.close();
            }
        });
    }
    let current = move || *lock(&client);
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
    let title = format!("#{room} · Chorus");
    // Whether the list follows new messages; sending one of your own brings you back down.
    let follow = RwSignal::new(true);

    view! {
        <Title text=title/>
        // Presence is only as fresh as the connection: dimmed while not live.
        <div class=move || format!("room conn-{}", view_state.status.get().class())>
            <RoomHeader room=room.clone() view_state me standing/>
            <crate::ui::rooms::InviteLink/>
            <p class="noscript-hint">"JavaScript is off: this is the room as it was when the page loaded. Reload to see newer messages; to take part, turn JavaScript on."</p>
            <Members view_state/>
            <MessageList view_state follow load_older=Callback::new({
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
                        <Composer name=n on_send=Callback::new({
                            let current = current.clone();
                            move |body: Body| if let Some(c) = current() {
                                follow.set(true);
                                c.send(body)
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
    me: Resource<Result<Option<crate::ui::account::Me>, ServerFnError>>,
    standing: Resource<Result<crate::ui::rooms::ReaderStanding, ServerFnError>>,
) -> impl IntoView {
    let next = format!("/r/{room}");
    let badges_room = room.clone();
    view! {
        <header class="room-head">
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
            <LiveBadges view_state/>
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

/// How many are here and the connection badge (the room page's header and the embed's).
#[component]
pub(crate) fn LiveBadges(view_state: RoomView) -> impl IntoView {
    view! {
        <span class="online" title=move || view_state.members.get().join(", ")>
            {move || view_state.online.get()}" online"
        </span>
        <span
            class=move || format!("status status-{}", view_state.status.get().class())
            role="status"
            data-testid="status"
        >
            {move || view_state.status.get().label()}
        </span>
    }
}

/// Who is here: each distinct name once, however many tabs it has open.
#[component]
pub(crate) fn Members(view_state: RoomView) -> impl IntoView {
    view! {
        <ul class="members" aria-label="People here">
            <For
                each=move || view_state.members.get()
                key=|name: &String| name.clone()
                children=move |name: String| view! { <li class="member">{name}</li> }
            />
        </ul>
    }
}

/// The scrolling list. Follows new messages while the reader is at the bottom; scrolled
/// up, it stays put and counts what arrived in a "new messages" pill. Loading older
/// messages keeps the rows in view where they were.
#[component]
pub(crate) fn MessageList(
    view_state: RoomView,
    follow: RwSignal<bool>,
    load_older: Callback<()>,
) -> impl IntoView {
    let list = NodeRef::<leptos::html::Ol>::new();
    let unseen = RwSignal::new(0usize);
    // (rows, scroll height, oldest seq) after the last change.
    let last = StoredValue::new((0usize, 0i32, None::<u64>));
    let to_bottom = move || {
        if let Some(el) = list.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
        follow.set(true);
        unseen.set(0);
    };
    Effect::new(move |_| {
        let (rows, first) = view_state
            .timeline
            .with(|t| (t.lines().len(), t.first_seq()));
        let following = follow.get();
        let Some(el) = list.get() else { return };
        let (prev_rows, prev_height, prev_first) = last.get_value();
        if following {
            el.set_scroll_top(el.scroll_height());
        } else if prev_first.is_some() && first < prev_first {
            // Older rows went in above: keep what the reader looks at where it was.
            el.set_scroll_top(el.scroll_top() + el.scroll_height() - prev_height);
        } else if rows > prev_rows {
            unseen.update(|n| *n += rows - prev_rows);
        }
        last.set_value((rows, el.scroll_height(), first));
    });
    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            let bottom = el.scroll_height() - el.scroll_top() - el.client_height() < 40;
            if bottom != follow.get_untracked() {
                follow.set(bottom);
            }
            if bottom {
                unseen.set(0);
            }
        }
    };
    view! {
        <div class="list-wrap">
            <ol class="messages" node_ref=list on:scroll=on_scroll aria-live="polite" aria-label="Messages">
                <Show when=move || view_state.has_more.get()>
                    <li class="older">
                        <button type="button" on:click=move |_| {
                            follow.set(false);
                            load_older.run(())
                        }>"Load older messages"</button>
                    </li>
                </Show>
                <Show when=move || view_state.timeline.with(|t| t.lines().is_empty())>
                    <li class="empty">"No messages yet. Say hello!"</li>
                </Show>
                <For
                    each=move || view_state.timeline.with(|t| t.lines().to_vec())
                    key=|line: &Line| line.key()
                    children=move |line: Line| view! { <MessageRow line/> }
                />
            </ol>
            <Show when=move || { unseen.get() > 0 }>
                <button type="button" class="new-pill" on:click=move |_| to_bottom()>
                    {move || match unseen.get() {
                        1 => "1 new message ↓".to_string(),
                        n => format!("{n} new messages ↓"),
                    }}
                </button>
            </Show>
        </div>
    }
    .into_any()
}

#[component]
fn MessageRow(line: Line) -> impl IntoView {
    let (state_class, state_text) = match &line.state {
        LineState::Pending => ("pending", Some("sending…".to_string())),
        LineState::Sent => ("sent", None),
        LineState::Failed(why) => ("failed", Some(format!("not sent: {why}"))),
    };
    let initial = line
        .from
        .as_str()
        .chars()
        .next()
        .unwrap_or('?')
        .to_uppercase()
        .to_string();
    // The server renders UTC (it does not know the reader's zone); the browser switches
    // to local time once hydrated.
    let ts = line.ts;
    let time = RwSignal::new(clock_utc(ts, now_ms()));
    Effect::new(move |_| time.set(clock(ts)));
    let editing = RwSignal::new(false);
    let (for_name, for_body, for_actions) = (line.clone(), line.clone(), line.clone());
    view! {
        <li class=format!("msg {state_class}") data-seq=line.seq.map(|s| s.to_string())>
            <span class="avatar" aria-hidden="true">{initial}</span>
            <div class="msg-main">
                <div class="meta">
                    <SenderName line=for_name/>
                    {line.guest.then(|| view! {
                        <span class="guest" title="Not signed in: anyone can use this name">"guest"</span>
                    })}
                    <time>{move || time.get()}</time>
                    {state_text.map(|t| view! { <span class="state">{t}</span> })}
                </div>
                <RowBody line=for_body editing/>
            </div>
            <RowActions line=for_actions editing/>
        </li>
    }
    .into_any()
}
