//! The room's composer: the text box that sends (Enter sends, Shift+Enter breaks the
//! line), and the name prompt shown instead until a guest has a name.

use crate::client::storage;
use crate::protocol::{Body, UserName};
use crate::ui::NameInput;
use leptos::prelude::*;

/// The text box: Enter sends, Shift+Enter starts a new line.
#[component]
pub(crate) fn Composer(name: UserName, on_send: Callback<Body>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let submit = move || {
        if let Ok(body) = Body::parse(&text.get_untracked()) {
            on_send.run(body);
            text.set(String::new());
        }
    };
    view! {
        <form class="composer" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); submit(); }>
            <textarea
                rows="1"
                maxlength="4000"
                placeholder=format!("Message as {name}")
                aria-label="Message"
                prop:value=text
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <button type="submit" class="primary" disabled=move || text.with(|t| t.trim().is_empty())>
                "Send"
            </button>
        </form>
    }
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
                    Err(e) => error.set(Some(e.to_string())),
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
