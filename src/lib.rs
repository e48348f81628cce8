//! # Chorus: real-time rooms for the web, in one crate
//!
//! A Leptos page renders a live message list fed by a browser WebSocket; the same crate's
//! axum server hosts the `/ws` endpoint, the rooms and their history. The wire contract is
//! `docs/protocol.md`.
//!
//! ## Layout
//! Follow a message by file name:
//!
//! | module | owns | compiled for |
//! |---|---|---|
//! | [`protocol`] | frames, validated names, error codes, close codes (`close`), decoding, the HTTP history page | browser and server |
//! | [`ui`] | pages and components: lobby, room, message list, composer; the room's first paint (`snapshot`, a server function) | browser and server (SSR) |
//! | [`client`] | the browser's room state (signals, `timeline`), the socket's decisions (`driver`, a pure state machine) and the socket that carries them out (`socket`) | browser; inert on the server |
//! | [`sync`] | the one poison-tolerant `lock` | both |
//! | `server` | config, startup, state, HTTP routes, sessions, hub, store, engine (local / Redis) | server (feature `ssr`) |
//!
//! Inside `server`: `config` (flags, env, Leptos.toml) · `startup` (build, run) ·
//! `state` (what handlers share; the pages' read-only `PageReads`) · `http` (routes,
//! `/ws` upgrade, SSR) · `api` (JSON under `/api/rooms`) · `session/` (one task per
//! socket: the loop in `mod`, `apply` frame → hub → reply, `moderate` delete / edit / ban / mute, `pipeline` publishes in
//! flight, `replay`, `forward`) · `hub/` (the registry, join/leave, publish and fan-out in
//! `mod`; `outbound` what a connection gets; `room` one room and its reorder buffer;
//! `presence` batching and merging over nodes; `cluster` events, heartbeats, resync,
//! repair; `notes` what one node asks of every node's connections: evictions, mutes,
//! amended messages, slow mode) · `moderation` (bans, mutes, slow mode, the audit log:
//! stores and HTTP) · `outbox` (a connection's bounded queue) · `store` (history behind the
//! `Store` trait: `sqlite` — schema, group-commit writer, data-directory checks — and
//! `memory`) · `engine` (what the nodes of a cluster share: `local`, or `redis` —
//! Lua-scripted store, pub/sub bus, presence across nodes) · `refusal` (errors → protocol
//! codes and HTTP statuses, in one place) · `rate_limit` · `conn_limit` · `origin` ·
//! `metrics` · `shutdown` · `testing` (real Redis servers and test configs for `tests/`
//! and `bench/`; the binary never uses it).
//!
//! Data flows one way on each side: `ui` reads signals that `client` writes; the server's
//! `session` applies frames to the `hub`, which stores through `store` and fans out.
//! `protocol` imports neither side. The UI imports nothing of the server but, in its
//! server functions, the read-only [`PageReads`](crate::server::state::PageReads) context.

// Leptos view types nest deeply; the hydrate build needs more than the default 128.
#![recursion_limit = "256"]

pub mod client;
pub mod protocol;
pub mod sync;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(ui::App);
    // A marker for tests and styles: the page is interactive from here on.
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
