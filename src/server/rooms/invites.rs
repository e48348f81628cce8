//! Invites (the contract's "Rooms with owners"): `POST /api/rooms/{room}/invites` makes
//! one, `POST /api/invites/{code}` accepts it. A code is 128 random bits in hex, stored
//! only as its SHA-256, reusable until it expires.

use super::http::{directory_error, manager, unauthorized, unavailable};
use super::Role;
use crate::protocol::RoomName;
use crate::server::api::http_error;
use crate::server::identity::caller::caller;
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::time::Duration;

/// How long an invite lasts.
pub const INVITE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// `POST /api/rooms/{room}/invites` → 201 `{"code","expires_at"}` (owner or moderator).
pub(super) async fn invite(
    State(state): State<AppState>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Response {
    match make_invite(&state, &room, &headers).await {
        Ok((code, expires_at)) => (
            StatusCode::CREATED,
            Json(json!({"code": code, "expires_at": expires_at})),
        )
            .into_response(),
        Err(r) => r,
    }
}

/// A new invite to `room` by the request's caller, who must manage it: its code (128
/// random bits in hex, stored hashed) and expiry. Shared with the room page's button.
pub async fn make_invite(
    state: &AppState,
    room: &str,
    headers: &HeaderMap,
) -> Result<(String, u64), Response> {
    let room = manager(state, room, headers).await?;
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        return Err(http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "no randomness; retry",
        ));
    }
    let code: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let expires_at = crate::server::store::now_ms() + INVITE_TTL.as_millis() as u64;
    state
        .session
        .rooms
        .directory()
        .add_invite(code_hash(&code), &room, expires_at)
        .await
        .map_err(directory_error)?;
    Ok((code, expires_at))
}

/// The SHA-256 an invite code is stored under.
pub fn code_hash(code: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(code.as_bytes()).into()
}

/// `POST /api/invites/{code}` by a user → 200 `{"room"}`: a member from now on.
pub(super) async fn accept(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Response {
    let who = caller(&state, &headers).await;
    let Some(id) = who.identity() else {
        return unauthorized();
    };
    let gone = || {
        http_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such invite (it may have expired)",
        )
    };
    if code.is_empty() || code.len() > 64 {
        return gone();
    }
    let room = match accept_invite(&state, &code, id).await {
        Ok(Some(room)) => room,
        Ok(None) => return gone(),
        Err(r) => return r,
    };
    Json(json!({"room": room})).into_response()
}

/// Makes `who` a member of the invite's room (keeping a higher role); the room, or
/// `None` for an unknown or expired code. Shared with the `/i/{code}` form.
pub async fn accept_invite(
    state: &AppState,
    code: &str,
    who: &crate::server::identity::Identity,
) -> Result<Option<RoomName>, Response> {
    let dir = state.session.rooms.directory();
    let room = match dir
        .invite(code_hash(code), crate::server::store::now_ms())
        .await
    {
        Ok(Some(room)) => room,
        Ok(None) => return Ok(None),
        Err(e) => return Err(unavailable(&e)),
    };
    let s = state
        .session
        .rooms
        .standing(&room, Some(who))
        .await
        .map_err(|e| unavailable(&e))?;
    if s.role.is_none() {
        dir.set_member(&room, &who.user, Role::Member)
            .await
            .map_err(directory_error)?;
    }
    Ok(Some(room))
}
