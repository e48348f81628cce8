//! The pages' forms for rooms (plain HTML forms, no JavaScript needed): create a room
//! from the lobby, make an invite link from a room, accept an invite on `/i/{code}`.
//! Each answers 303.

use super::http::create_room;
use super::invites::{accept_invite, make_invite};
use super::Visibility;
use crate::protocol::RoomName;
use crate::server::bodies::{form, query, see_other};
use crate::server::identity::caller::{caller, Caller};
use crate::server::state::AppState;
use axum::body::Body as HttpBody;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use std::net::SocketAddr;

/// The form routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/rooms", post(create))
        .route("/account/invite", post(invite))
        .route("/account/accept", post(accept))
}

/// The lobby's "Create room": `room`, `private` (a checkbox) → the new room, or back to
/// the lobby with `?error=<code>&room=…`.
async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let f = match form(body, &headers, state.body_limits).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let raw = f.get("room").map(|r| r.trim()).unwrap_or("");
    let back = |code: &str| see_other(&format!("/?{}", query(&[("error", code), ("room", raw)])));
    let Ok(room) = RoomName::parse(raw) else {
        return back("invalid_room");
    };
    let visibility = if f.contains_key("private") {
        Visibility::Private
    } else {
        Visibility::Public
    };
    let who = caller(&state, &headers).await;
    let client = crate::server::accounts::http::client(&state, peer, &headers);
    match create_room(&state, &who, &room, visibility, client).await {
        Ok(_) => see_other(&format!("/r/{room}")),
        Err(e) => back(e.1),
    }
}

/// The room's "Invite": a new link, shown on the room page (`?invite=<code>`).
async fn invite(State(state): State<AppState>, headers: HeaderMap, body: HttpBody) -> Response {
    let f = match form(body, &headers, state.body_limits).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let room = f.get("room").cloned().unwrap_or_default();
    match make_invite(&state, &room, &headers).await {
        Ok((code, _)) if RoomName::parse(&room).is_ok() => {
            see_other(&format!("/r/{room}?{}", query(&[("invite", &code)])))
        }
        Ok(_) | Err(_) => see_other(&format!(
            "/r/{}",
            RoomName::parse(&room)
                .map(|r| r.to_string())
                .unwrap_or_default()
        )),
    }
}

/// `/i/{code}`'s "Join": a member from now on, and into the room; signed out, to sign-in
/// first (which comes back here).
async fn accept(State(state): State<AppState>, headers: HeaderMap, body: HttpBody) -> Response {
    let f = match form(body, &headers, state.body_limits).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let code = f.get("code").cloned().unwrap_or_default();
    let here = format!(
        "/i/{}",
        code.chars()
            .filter(char::is_ascii_hexdigit)
            .collect::<String>()
    );
    let who = caller(&state, &headers).await;
    let Caller::User(id) = &who else {
        return see_other(&format!("/signin?{}", query(&[("next", &here)])));
    };
    match accept_invite(&state, &code, id).await {
        Ok(Some(room)) => see_other(&format!("/r/{room}")),
        Ok(None) => see_other(&format!("{here}?{}", query(&[("error", "not_found")]))),
        Err(r) => r,
    }
}
