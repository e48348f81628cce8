//! Rooms with owners on the pages: the lobby's "Create a room" form, the room header's
//! lock and Invite button, the invite link panel, and the `/i/{code}` page. All plain
//! forms posting to `/account/*`, so they work with JavaScript off.

use crate::protocol::RoomName;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

/// What the room page needs to know about the reader's standing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderStanding {
    /// The room is private.
    pub private: bool,
    /// The reader may make invites (its owner or a moderator).
    pub manager: bool,
}

/// The reader's standing in `room`.
#[server]
pub async fn room_standing(room: RoomName) -> Result<ReaderStanding, ServerFnError> {
    use crate::server::rooms::{Role, Visibility};
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    Ok(
        match crate::ui::ssr::reads().standing(&headers, &room).await {
            Some((v, role)) => ReaderStanding {
                private: v == Visibility::Private,
                manager: role.is_some_and(|r| r >= Role::Moderator),
            },
            None => ReaderStanding::default(),
        },
    )
}

/// The room an invite code is for (`None`: unknown or expired).
#[server]
pub async fn invite_room(code: String) -> Result<Option<RoomName>, ServerFnError> {
    Ok(crate::ui::ssr::reads().invite_room(&code).await)
}

/// The lobby's form for a signed-in user: a name and whether it is private.
#[component]
pub fn CreateRoom() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        query.read().get("error").map(|c| match c.as_str() {
            "room_exists" => "That room exists already. Pick another name, or just open it.",
            "invalid_room" => "Room names are 1 to 64 letters, digits, - and _.",
            "rate_limited" => "You made many rooms lately. Try again later.",
            "unauthorized" => "Sign in to create a room.",
            _ => "That did not work. Please try again.",
        })
    };
    let typed = move || query.read().get("room").unwrap_or_default();
    view! {
        <details class="create-room" open=move || query.read().get("error").is_some()>
            <summary>"Create a room"</summary>
            <form class="join-form" method="post" action="/account/rooms">
                <label>
                    <span>"Room name"</span>
                    <input name="room" maxlength="64" required value=typed placeholder="e.g. team-design"/>
                </label>
                <label class="check">
                    <input type="checkbox" name="private"/>
                    <span>"Private: only people you invite can see it"</span>
                </label>
                <p class="form-error" role="alert">{error}</p>
                <button type="submit" class="primary">"Create room"</button>
            </form>
        </details>
    }
}

/// The room header's part for rooms with owners: a lock on a private room, and the
/// Invite button and the member list's link for those who manage it.
#[component]
pub fn RoomBadges(room: RoomName, standing: ReaderStanding) -> impl IntoView {
    view! {
        {standing.private.then(|| view! {
            // Drawn, not an emoji: it looks the same wherever fonts lack one.
            <svg class="lock" role="img" aria-label="Private room" viewBox="0 0 16 16" width="15" height="15">
                <title>"Private room: only its members can see it"</title>
                <path fill="currentColor" d="M5 7V5a3 3 0 0 1 6 0v2h.5A1.5 1.5 0 0 1 13 8.5v5a1.5 1.5 0 0 1-1.5 1.5h-7A1.5 1.5 0 0 1 3 13.5v-5A1.5 1.5 0 0 1 4.5 7H5zm1.5 0h3V5a1.5 1.5 0 0 0-3 0v2z"/>
            </svg>
        })}
        {standing.manager.then(|| view! {
            <form method="post" action="/account/invite" class="invite-form">
                <input type="hidden" name="room" value=room.to_string()/>
                <button type="submit" class="secondary">"Invite"</button>
            </form>
            <a class="button-link secondary" href=format!("/r/{room}/members")>"Members"</a>
        })}
    }
}

/// The invite link just made (`?invite=<code>` on the room page), ready to copy.
#[component]
pub fn InviteLink() -> impl IntoView {
    let query = use_query_map();
    let code = move || {
        query
            .read()
            .get("invite")
            .filter(|c| c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_hexdigit()))
    };
    let copied = RwSignal::new(false);
    move || {
        code().map(|code| {
            let path = format!("/i/{code}");
            let full = RwSignal::new(path.clone());
            Effect::new(move |_| {
                if let Some(origin) = web_origin() {
                    full.set(format!("{origin}{}", full.get_untracked()));
                }
            });
            view! {
                <div class="invite-link" role="status">
                    <span>"Invite link (valid 7 days):"</span>
                    <input readonly prop:value=full aria-label="Invite link" on:focus=|ev| select_target(&ev)/>
                    <button type="button" class="secondary" on:click=move |_| {
                        copy_text(&full.get_untracked());
                        copied.set(true);
                    }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
                </div>
            }
        })
    }
}

/// `/i/{code}`: who invites you where, and the button to join.
#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let code = move || params.read().get("code").unwrap_or_default();
    let room = Resource::new(code, invite_room);
    let me = Resource::new(|| (), |_| crate::ui::account::whoami());
    view! {
        <Title text="Invitation · Chorus"/>
        <main class="center">
            <section class="card account">
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let room = room.await.ok().flatten();
                        let me = me.await.ok().flatten();
                        let here = format!("/i/{}", code());
                        match room {
                            None => view! {
                                <h1>"This invite does not work"</h1>
                                <p>"It may have expired or been mistyped. Ask for a new link."</p>
                                <p><a href="/">"Go to the lobby"</a></p>
                            }.into_any(),
                            Some(room) => view! {
                                <h1>"You're invited to #"{room.to_string()}</h1>
                                {query.read().get("error").map(|_| view! { <p class="form-error" role="alert">"That invite does not work any more."</p> })}
                                {match me {
                                    Some(me) => view! {
                                        <form class="join-form" method="post" action="/account/accept">
                                            <input type="hidden" name="code" value=code()/>
                                            <button type="submit" class="primary">"Join as "{me.name.to_string()}</button>
                                        </form>
                                    }.into_any(),
                                    None => view! {
                                        <p>"Sign in or create an account to join."</p>
                                        <p class="switch">
                                            <a class="button-link" href=format!("/signin?next={here}")>"Sign in"</a>
                                            " or "
                                            <a href=format!("/signup?next={here}")>"create an account"</a>
                                        </p>
                                    }.into_any(),
                                }}
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </main>
    }
}

/// The page's origin (`https://chat.example`), in the browser.
fn web_origin() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()?.location().origin().ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Selects the text of the focused input, so it is ready to copy by hand too.
fn select_target(ev: &leptos::ev::FocusEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            input.select();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

/// Puts `text` on the clipboard (where the browser allows it).
fn copy_text(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}
