//! The room's composer: the text box that sends (Enter sends, Shift+Enter breaks the
//! line), and the name prompt shown instead until a guest has a name.

use crate::client::storage;
use crate::protocol::names::BODY_MAX_CHARS;
use crate::protocol::{Body, RoomName, UserName};
use crate::ui::NameInput;
use leptos::prelude::*;

/// Characters left at which the counter appears.
const COUNT_FROM: usize = 500;

/// The text box: Enter sends, Shift+Enter starts a new line. It grows with its text (up
/// to a limit, then scrolls), keeps an unsent draft per room across reloads, has the
/// focus when the room opens on a desktop and again after each send, and counts
/// characters near the limit. Text past the limit is kept, marked and not sent (never
/// cut silently, as `maxlength` would on a paste).
#[component]
pub(crate) fn Composer(
    room: RoomName,
    name: UserName,
    on_send: Callback<(Body, Option<u64>)>,
) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let thread = use_context::<crate::ui::replies::Thread>();
    let replying = move || thread.and_then(|t| t.replying.get_untracked());
    let input = NodeRef::<leptos::html::Textarea>::new();
    let focus = move || {
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };
    {
        let room = room.clone();
        Effect::new(move |_| {
            if let Some(d) = storage::load_draft(&room) {
                text.set(d);
            }
            if wants_focus_on_arrival() {
                focus();
            }
        });
    }
    // Choosing "Reply" on a message puts the cursor here.
    Effect::new(move |_| {
        if thread.is_some_and(|t| t.replying.get().is_some()) {
            focus();
        }
    });
    let chars = Memo::new(move |_| text.with(|t| t.chars().count()));
    let over = move || chars.get().saturating_sub(BODY_MAX_CHARS);
    let submit = {
        let room = room.clone();
        move || {
            if let Ok(body) = Body::parse(&text.get_untracked()) {
                on_send.run((body, replying()));
                if let Some(t) = thread {
                    t.replying.set(None);
                }
                text.set(String::new());
                storage::save_draft(&room, "");
            }
            focus();
        }
    };
    let submit_key = submit.clone();
    view! {
        <form class="composer" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); submit(); }>
            <crate::ui::replies::ReplyingBar/>
            <textarea
                node_ref=input
                rows="1"
                dir="auto"
                placeholder=format!("Message as {name}")
                aria-label="Message"
                aria-describedby="composer-count"
                aria-invalid=move || { (over() > 0).then_some("true") }
                prop:value=text
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    storage::save_draft(&room, &value);
                    text.set(value);
                }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit_key();
                    } else if ev.key() == "Escape" {
                        if let Some(t) = thread {
                            t.replying.set(None);
                        }
                    }
                }
            ></textarea>
            <button
                type="submit"
                class="primary"
                disabled=move || { over() > 0 || text.with(|t| t.trim().is_empty()) }
            >
                "Send"
            </button>
            <p
                id="composer-count"
                class=move || { if over() > 0 { "count over" } else { "count" } }
                aria-live="polite"
                hidden=move || { chars.get() + COUNT_FROM <= BODY_MAX_CHARS }
            >
                {move || match over() {
                    0 => format!("{} characters left", BODY_MAX_CHARS - chars.get()),
                    1 => "1 character too long: shorten it to send".to_string(),
                    n => format!("{n} characters too long: shorten it to send"),
                }}
            </p>
        </form>
    }
}

/// Focus the composer when the room opens only where that does not pop up a keyboard
/// over the room (a device with a fine pointer, i.e. a desktop).
fn wants_focus_on_arrival() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.match_media("(pointer: fine)").ok().flatten())
            .is_some_and(|m| m.matches())
    }
    #[cfg(not(feature = "hydrate"))]
    false
}

/// Shown instead of the composer until the user has a name.
#[component]
pub(crate) fn NamePrompt(name: RwSignal<Option<UserName>>) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    view! {
        <form
            class="composer name-prompt"
            on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                match UserName::parse(&draft.get_untracked()) {
                    Ok(n) => {
                        storage::save_name(&n);
                        name.set(Some(n));
                    }
                    Err(e) => error.set(Some(crate::ui::for_people(&e))),
                }
            }
        >
            <label class="grow">
                <span class="sr-only">"Your name"</span>
                <NameInput value=draft placeholder="Pick a name to join the chat"/>
            </label>
            <button type="submit" class="primary">"Join"</button>
            <p class="form-error" role="alert">{move || error.get()}</p>
        </form>
    }
}
