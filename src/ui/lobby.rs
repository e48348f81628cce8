//! `/`: pick a name and a room, or join one of the rooms people are in now.

use crate::client::storage;
use crate::protocol::{RoomName, UserName};
use crate::ui::NameInput;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use serde::{Deserialize, Serialize};

/// Rooms offered to someone who does not know where to go.
const SUGGESTED: [&str; 4] = ["general", "random", "help", "danmaku"];

/// How often the lobby's room list is refreshed while the page is open.
const REFRESH_MS: u64 = 3_000;

/// A room with people in it, for the lobby.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRoom {
    /// The room.
    pub room: RoomName,
    /// Open connections in it.
    pub online: u32,
}

/// Rooms with people in them on this server, busiest first (at most 50).
#[server]
pub async fn active_rooms() -> Result<Vec<ActiveRoom>, ServerFnError> {
    let reads = crate::ui::ssr::reads();
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    Ok(reads
        .busiest_rooms_for(&headers, 50)
        .await
        .into_iter()
        .map(|(room, online)| ActiveRoom { room, online })
        .collect())
}

/// The list of active rooms: rendered on the server, then refreshed every few seconds.
#[component]
fn ActiveRooms() -> impl IntoView {
    let rooms = Resource::new(|| (), |_| active_rooms());
    // Effects run only in the browser: poll while the page is open.
    Effect::new(move |_| {
        if let Ok(h) = set_interval_with_handle(
            move || rooms.refetch(),
            std::time::Duration::from_millis(REFRESH_MS),
        ) {
            on_cleanup(move || h.clear());
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let list = rooms.await.unwrap_or_default();
                (!list.is_empty()).then(|| view! {
                    <section class="active" aria-label="Active rooms">
                        <h2>"Active now"</h2>
                        <ul>
                            {list.into_iter().map(|r| {
                                let label = match r.online { 1 => "1 online".to_string(), n => format!("{n} online") };
                                view! {
                                    <li>
                                        <a href=format!("/r/{}", r.room)>
                                            <span class="active-name">"#"{r.room.to_string()}</span>
                                            <span class="active-count">{label}</span>
                                        </a>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                })
            })}
        </Transition>
    }
}

/// The lobby. Its form works without JavaScript too (`GET /join?room=…`).
#[component]
pub fn Lobby() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let room = RwSignal::new(String::from("general"));
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(n) = storage::load_name() {
            name.set(n.to_string());
        }
    });
    let navigate = use_navigate();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parsed_room = match RoomName::parse(room.get_untracked().trim()) {
            Ok(r) => r,
            Err(e) => return error.set(Some(crate::ui::for_people(&e))),
        };
        // No name is fine: the room opens to read, and asks for one to post.
        let typed = name.get_untracked();
        if !typed.trim().is_empty() {
            match UserName::parse(&typed) {
                Ok(n) => storage::save_name(&n),
                Err(e) => return error.set(Some(crate::ui::for_people(&e))),
            }
        }
        navigate(&format!("/r/{parsed_room}"), Default::default());
    };
    let me = Resource::new(|| (), |_| crate::ui::account::whoami());
    view! {
        <main class="center">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let me = me.await.ok().flatten();
                    view! { <div class="top-bar"><crate::ui::account::UserBar me next="/".to_string()/></div> }
                })}
            </Suspense>
            <section class="card lobby">
                <div class="brand">
                    <span class="logo" aria-hidden="true">"◉"</span>
                    <h1>"Chorus"</h1>
                </div>
                <p class="tagline">"Real-time rooms. Open one, type, and everyone there sees it at once."</p>
                <form class="join-form" action="/join" method="get" on:submit=on_submit>
                    <label>
                        <span>"Your name"</span>
                        <NameInput value=name placeholder="e.g. Ada"/>
                    </label>
                    <label>
                        <span>"Room"</span>
                        <input
                            name="room"
                            maxlength="64"
                            pattern="[A-Za-z0-9_\\-]{1,64}"
                            title="Letters, digits, - and _"
                            required
                            prop:value=room
                            on:input=move |ev| room.set(event_target_value(&ev))
                        />
                    </label>
                    <p class="form-error" role="alert">{move || error.get()}</p>
                    <button type="submit" class="primary">"Join room"</button>
                </form>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().flatten().map(|_| view! { <crate::ui::rooms::CreateRoom/> })
                    })}
                </Suspense>
                <ActiveRooms/>
                <nav class="suggested" aria-label="Suggested rooms">
                    <span>"Or jump into "</span>
                    {SUGGESTED
                        .iter()
                        .map(|r| view! { <a href=format!("/r/{r}")>"#"{*r}</a> })
                        .collect_view()}
                </nav>
            </section>
        </main>
    }
}
