//! The pages and components (shared by SSR and hydration).
//!
//! - [`shell`]: the HTML document around the app.
//! - [`App`]: routes `/` ([`lobby`]), `/r/{room}` ([`room`], first painted from
//!   [`snapshot`], beside the [`sidebar`] of the reader's rooms), `/signin` and `/signup` ([`account`], which also has the bar that
//!   says who you are), `/i/{code}` ([`rooms`], with the other pieces of rooms with owners),
//!   `/r/{room}/members` ([`members`]: the owner's member manager), `/embed/{room}`
//!   ([`embed`]: the room for an application's page to frame and sign in).

pub mod account;
pub mod admin;
pub mod composer;
pub mod embed;
pub mod grouping;
pub mod lobby;
pub mod members;
pub mod message_list;
pub mod moderation;
pub mod people;
pub mod reactions;
pub mod replies;
pub mod rich_text;
pub mod room;
pub mod room_log;
pub mod rooms;
pub mod sidebar;
pub mod snapshot;
pub mod tab_title;

/// Server-only helpers for the pages' server functions (as Leptos's
/// `todo_app_sqlite_axum` keeps them beside its server functions). The one place the UI
/// names the server: a read-only context, nothing else.
#[cfg(feature = "ssr")]
mod ssr {
    use crate::server::state::PageReads;

    /// What a server function may read: the room pages' history and the lobby's counts.
    pub fn reads() -> PageReads {
        leptos::prelude::expect_context::<PageReads>()
    }
}

/// What a form tells a person whose input broke a rule: the rule in their words, not the
/// protocol's (whose texts are for client authors).
pub(crate) fn for_people(e: &crate::protocol::ProtocolError) -> String {
    use crate::protocol::ProtocolError as E;
    match e {
        E::InvalidRoom => {
            "That room name can only use letters, digits, - and _ (up to 64 characters).".into()
        }
        E::InvalidName => "Pick a name of 1 to 32 characters.".into(),
        E::InvalidBody => format!(
            "A message can be at most {} characters.",
            crate::protocol::names::BODY_MAX_CHARS
        ),
        other => other.to_string(),
    }
}

/// The one text box for a display name (lobby and room), bound to `value`.
#[component]
fn NameInput(value: RwSignal<String>, placeholder: &'static str) -> impl IntoView {
    view! {
        <input
            name="name"
            autocomplete="nickname"
            maxlength="32"
            placeholder=placeholder
            prop:value=value
            on:input=move |ev| value.set(event_target_value(&ev))
        />
    }
}

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The page's Content Security Policy. Scripts run only from this origin or with this
/// response's nonce (leptos_axum makes one per request and puts it on the inline
/// hydration and resource scripts), WebAssembly may compile, sockets go back to this host,
/// and only `framers` (none but for `/embed/{room}`) may frame the page.
pub fn content_security_policy(nonce: &str, framers: &[String]) -> String {
    let ancestors = if framers.is_empty() {
        "'none'".to_string()
    } else {
        framers.join(" ")
    };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}"
    )
}

/// Sends the CSP header with this response's nonce (server rendering only), allowing
/// `framers` to frame the page.
pub(crate) fn send_csp(framers: &[String]) {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(resp)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        let policy = content_security_policy(&nonce, framers);
        if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
            resp.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = framers;
}

/// The document: head with hydration scripts, body with the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    send_csp(&[]);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                // Without JavaScript a room is a snapshot: say so, and hide what cannot
                // work (the live badge and count, the composer). In the head, outside hydration;
                // `body` outranks main.css, which loads after it.
                <noscript>
                    <style nonce=leptos::nonce::use_nonce()>"body .noscript-hint { display: block; } body .status, body .online, body .members, body .composer { display: none; }"</style>
                </noscript>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: a router over the lobby and the rooms.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The rooms this page keeps live, across client-side navigations between them.
    provide_context(crate::client::open_rooms::OpenRooms::new());
    view! {
        <Stylesheet id="leptos" href="/pkg/chorus.css"/>
        <Title text="Chorus"/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=lobby::Lobby ssr=SsrMode::Async/>
                <Route path=path!("/r/:room") view=room::RoomPage ssr=SsrMode::Async/>
                <Route path=path!("/r/:room/members") view=members::MembersPage ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=admin::AdminView ssr=SsrMode::Async/>
                <Route path=path!("/signin") view=account::SignIn/>
                <Route path=path!("/signup") view=account::SignUp/>
                <Route path=path!("/i/:code") view=rooms::InvitePage ssr=SsrMode::Async/>
                <Route path=path!("/embed/:room") view=embed::EmbedPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// "Not found", with the HTTP status to match when rendered on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="center">
            <section class="card">
                <h1>"Not found"</h1>
                <p>"There is nothing here. "<a href="/">"Back to the lobby"</a></p>
            </section>
        </main>
    }
}
