//! The first paint of a room page: its newest messages, read on the server.
//!
//! A server function, so the same call serves both ends: while the server renders
//! `/r/{room}` it runs directly (the HTML carries the messages, readable with JavaScript
//! off, and the value is embedded for hydration, so the browser does not fetch it again);
//! when the browser navigates to another room it is a request to the server.

use crate::protocol::{MessagesPage, RoomName};
use leptos::prelude::*;

/// The error of [`room_page`] for a room this reader may not see (a private room): the
/// page says "not found", as for a room that does not exist.
pub const NOT_FOUND: &str = "not found";

/// Messages a room page starts with.
pub const FIRST_PAINT: usize = 50;

/// The room's newest [`FIRST_PAINT`] messages, with the epoch and seq to go live from.
#[server]
pub async fn room_page(room: RoomName) -> Result<MessagesPage, ServerFnError> {
    let reads = crate::ui::ssr::reads();
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    if !reads.may_see(&headers, &room).await {
        return Err(ServerFnError::new(NOT_FOUND));
    }
    reads
        .newest(&room, FIRST_PAINT)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}
