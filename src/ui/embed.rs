//! `/embed/{room}`: the room for an application to put in an `<iframe>` on its own site
//! and sign in with its own users' tokens (`docs/identity.md`, "Embedding a room").
//!
//! The page asks the window that frames it for a token (`postMessage`), sends it on the
//! socket before joining, and asks again before it ends (the rules are the driver's,
//! [`crate::client::driver`]). Only origins in `--embed-origins` may frame it (its CSP)
//! or hand it tokens. It renders no messages on the server: who reads is known only once
//! the token is on the socket, so the page is the same for every room, private or not,
//! existing or not, and the socket loads the history.

use crate::client::{storage, RoomClient, RoomView};
use crate::protocol::{Body, RoomName};
use crate::sync::lock;
use crate::ui::composer::Composer;
use crate::ui::message_list::MessageList;
use crate::ui::people::Members;
use crate::ui::room::LiveBadges;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use std::sync::{Arc, Mutex};

/// The origins that may frame this page and sign it in. Rendered on the server, it also
/// lets them frame this response (its CSP's `frame-ancestors`).
#[server]
pub async fn embed_origins() -> Result<Vec<String>, ServerFnError> {
    let origins = crate::ui::ssr::reads().embed_origins();
    crate::ui::send_csp(&origins);
    Ok(origins)
}

/// The route component: a valid room name and a server that allows embedding, else a
/// card saying which is missing.
#[component]
pub fn EmbedPage() -> impl IntoView {
    let params = use_params_map();
    let origins = Resource::new(|| (), |_| embed_origins());
    let card = |title: &'static str, text: String| {
        view! {
            <main class="center">
                <section class="card">
                    <h1>{title}</h1>
                    <p>{text}</p>
                </section>
            </main>
        }
        .into_any()
    };
    view! {
        <Suspense fallback=|| view! { <main class="center"><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                let raw = params.read_untracked().get("room").unwrap_or_default();
                match (RoomName::parse(&raw), origins.await) {
                    (Err(e), _) => card("Not a room name", crate::ui::for_people(&e)),
                    (Ok(room), Ok(origins)) if !origins.is_empty() => {
                        view! { <EmbeddedRoom room origins/> }.into_any()
                    }
                    _ => card(
                        "Embedding is off",
                        "This Chorus server lets no site embed its rooms: its operator names \
                         the sites that may with --embed-origins."
                            .into(),
                    ),
                }
            })}
        </Suspense>
    }
}

/// The room itself: a compact header, who is here, the list, and the composer once a
/// token has signed the page in.
#[component]
fn EmbeddedRoom(room: RoomName, origins: Vec<String>) -> impl IntoView {
    let view_state = RoomView::new();
    let client: Arc<Mutex<Option<RoomClient>>> = Arc::new(Mutex::new(None));
    {
        // Effects run only in the browser: the socket opens once the page is hydrated.
        let client = client.clone();
        let room = room.clone();
        Effect::new(move |_| {
            let mut slot = lock(&client);
            if slot.is_none() {
                // Used only if no token comes: the name this browser speaks under
                // elsewhere, else none (reading until the page signs the user in).
                let name = storage::load_name();
                *slot = Some(RoomClient::open_embedded(
                    room.clone(),
                    name,
                    view_state,
                    origins.clone(),
                ));
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
    let follow = RwSignal::new(true);
    provide_context(crate::ui::room::MembersOpen(RwSignal::new(false)));
    // Replies and reactions once a token has signed the page in (editing, deleting and
    // moderating stay on the site's own room page).
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    provide_context(view_state);
    provide_context(crate::ui::replies::Thread::new(view_state));
    provide_context(crate::ui::reactions::MyReactions::new(room.clone()));
    provide_context(crate::ui::moderation::Powers {
        me: Signal::derive(|| None),
        moderator: Signal::derive(|| false),
        speaks: Signal::derive(move || hydrated.get() && view_state.me.get().is_some()),
        act: Callback::new({
            let current = current.clone();
            move |act| {
                if let Some(c) = current() {
                    c.act(act)
                }
            }
        }),
    });
    // The title is read again after the page's owner is disposed (on the server, for
    // `<head>`): `try_get` with the plain title, never a panic (which dropped the reply).
    let fallback_title = crate::ui::tab_title::title(&room, (0, 0));
    let title = crate::ui::tab_title::room_title(room.clone(), view_state, view_state.me.into());
    view! {
        <Title text=move || title.try_get().unwrap_or_else(|| fallback_title.clone())/>
        <div class=move || format!("room embed conn-{}", view_state.status.get().class())>
            <header class="room-head">
                <h1 class="room-name">"#"{room.to_string()}</h1>
                <LiveBadges view_state reconnect=Callback::new({
                    let current = current.clone();
                    move |_| if let Some(c) = current() { c.reconnect_now() }
                })/>
                <span class="user-bar" data-testid="me">
                    {move || view_state.me.get().map(|n| n.to_string())}
                </span>
            </header>
            <Members view_state/>
            <MessageList view_state follow reader=view_state.me load_older=Callback::new({
                let current = current.clone();
                move |_| if let Some(c) = current() { c.load_older() }
            })/>
            {move || view_state.notice.get().map(|n| view! { <p class="notice" role="alert">{n}</p> })}
            {
                let current = current.clone();
                move || match view_state.me.get() {
                    Some(name) => view! {
                        <Composer room=room.clone() name on_send=Callback::new({
                            let current = current.clone();
                            move |(body, reply_to): (Body, Option<u64>)| if let Some(c) = current() {
                                follow.set(true);
                                c.send(body, reply_to)
                            }
                        })/>
                    }.into_any(),
                    None => view! {
                        <p class="composer embed-wait">"Reading only until the page you are on signs you in."</p>
                    }.into_any(),
                }
            }
        </div>
    }
}
