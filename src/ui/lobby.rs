//! `/`: pick a name and a room.

use crate::client::storage;
use crate::protocol::{RoomName, UserName};
use crate::ui::NameInput;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// Rooms offered to someone who does not know where to go.
const SUGGESTED: [&str; 4] = ["general", "random", "help", "danmaku"];

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
            Err(e) => return error.set(Some(e.to_string())),
        };
        match UserName::parse(&name.get_untracked()) {
            Ok(n) => storage::save_name(&n),
            Err(e) => return error.set(Some(e.to_string())),
        }
        navigate(&format!("/r/{parsed_room}"), Default::default());
    };
    view! {
        <main class="center">
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
                            pattern="[A-Za-z0-9_-]{1,64}"
                            required
                            prop:value=room
                            on:input=move |ev| room.set(event_target_value(&ev))
                        />
                    </label>
                    <p class="form-error" role="alert">{move || error.get()}</p>
                    <button type="submit" class="primary">"Join room"</button>
                </form>
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
