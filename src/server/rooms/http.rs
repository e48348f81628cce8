//! `/api/rooms` (the contract's "Rooms with owners"): create a room, read its settings,
//! and who may manage it. Members are in [`super::members`], invites in
//! [`super::invites`].

use super::access::Standing;
use super::{DirectoryError, Role, RoomSettings, Visibility};
use crate::protocol::RoomName;
use crate::server::api::http_error;
use crate::server::bodies::json_object;
use crate::server::identity::caller::{caller, Caller};
use crate::server::state::AppState;
use axum::body::Body as HttpBody;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::net::SocketAddr;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/rooms", post(create))
        .route("/api/rooms/{room}", axum::routing::get(settings))
        .route("/api/rooms/{room}/invites", post(super::invites::invite))
        .route("/api/invites/{code}", post(super::invites::accept))
}

fn not_found() -> Response {
    http_error(StatusCode::NOT_FOUND, "not_found", "no such room")
}

pub(super) fn unavailable(e: &crate::server::store::StoreError) -> Response {
    tracing::warn!(error = %e.report(), "rooms unavailable");
    http_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "rooms are unavailable now; retry",
    )
}

pub(super) fn directory_error(e: DirectoryError) -> Response {
    match e {
        DirectoryError::Exists => {
            http_error(StatusCode::CONFLICT, "room_exists", "the room exists")
        }
        DirectoryError::Full(what) => http_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            &format!("the room has as many {what} as it may"),
        ),
        DirectoryError::Store(e) => unavailable(&e),
    }
}

pub(super) fn unauthorized() -> Response {
    http_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "sign in, or send a token as Authorization: Bearer",
    )
}

/// The room in the path, and the caller's standing in it; a private room is 404 to a
/// stranger, as a room that does not exist.
async fn standing(
    state: &AppState,
    room: &str,
    who: &Caller,
) -> Result<(RoomName, Standing), Response> {
    let room = RoomName::parse(room).map_err(|_| not_found())?;
    let standing = state
        .session
        .rooms
        .standing(&room, who.identity())
        .await
        .map_err(|e| unavailable(&e))?;
    if !standing.may_enter() && !matches!(who, Caller::ApiKey) {
        return Err(not_found());
    }
    Ok((room, standing))
}

/// Why a room was not created: the status, the protocol code and the message.
pub struct NotCreated(pub StatusCode, pub &'static str, pub String);

impl NotCreated {
    fn response(self) -> Response {
        http_error(self.0, self.1, &self.2)
    }
}

/// Creates `room` for `who` (its owner; none for the API key): 409 `room_exists` when it
/// has settings or messages already; a user's new rooms count against its address's
/// hourly budget. Shared by the API and the lobby's form.
pub async fn create_room(
    state: &AppState,
    who: &Caller,
    room: &RoomName,
    visibility: Visibility,
    client: std::net::IpAddr,
) -> Result<RoomSettings, NotCreated> {
    let owner = match who {
        Caller::Guest => {
            return Err(NotCreated(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "sign in to create a room".into(),
            ))
        }
        Caller::ApiKey => None,
        Caller::User(id) => Some(id.user.clone()),
    };
    let exists = || {
        NotCreated(
            StatusCode::CONFLICT,
            "room_exists",
            "the room exists already".into(),
        )
    };
    let unavailable = |e: crate::server::store::StoreError| {
        tracing::warn!(error = %e.report(), "rooms unavailable");
        NotCreated(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "rooms are unavailable now; retry".into(),
        )
    };
    match state.hub.meta(room).await {
        Ok(meta) if meta.last_seq > 0 => return Err(exists()),
        Ok(_) => {}
        Err(e) => return Err(unavailable(e)),
    }
    if owner.is_some() {
        if let Err(wait) = state
            .session
            .budgets
            .new_room(client, std::time::Instant::now())
        {
            return Err(NotCreated(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many new rooms from this address; retry in {} min",
                    wait.as_secs() / 60 + 1
                ),
            ));
        }
    }
    let settings = RoomSettings { visibility, owner };
    match state
        .session
        .rooms
        .directory()
        .create(room, &settings)
        .await
    {
        Ok(()) => Ok(settings),
        Err(DirectoryError::Exists) => Err(exists()),
        Err(DirectoryError::Full(_)) => Err(exists()),
        Err(DirectoryError::Store(e)) => Err(unavailable(e)),
    }
}

/// `POST /api/rooms` `{"room","visibility"}`: a user becomes its owner; with the API key
/// it has none. 409 `room_exists` when it has settings or messages already.
async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let who = caller(&state, &headers).await;
    if matches!(who, Caller::Guest) {
        return unauthorized();
    }
    let body = match json_object(body, &headers, state.body_limits).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(room) = body
        .get("room")
        .and_then(Value::as_str)
        .and_then(|r| RoomName::parse(r).ok())
    else {
        return http_error(
            StatusCode::BAD_REQUEST,
            "invalid_room",
            "room must be 1-64 characters from A-Z a-z 0-9 _ -",
        );
    };
    let visibility = match body.get("visibility").and_then(Value::as_str) {
        None => Visibility::Public,
        Some(v) => match Visibility::parse(v) {
            Some(v) => v,
            None => {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    "bad_frame",
                    "visibility must be \"public\" or \"private\"",
                )
            }
        },
    };
    let client = crate::server::accounts::http::client(&state, peer, &headers);
    match create_room(&state, &who, &room, visibility, client).await {
        Ok(s) => (
            StatusCode::CREATED,
            Json(json!({"room": room, "visibility": s.visibility, "role": s.owner.as_ref().map(|_| Role::Owner), "owner": s.owner})),
        )
            .into_response(),
        Err(e) => e.response(),
    }
}

/// `GET /api/rooms/{room}` → `{"room","visibility","owner","role"}`.
async fn settings(
    State(state): State<AppState>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Response {
    let who = caller(&state, &headers).await;
    let (room, s) = match standing(&state, &room, &who).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    Json(json!({
        "room": room,
        "visibility": s.visibility(),
        "owner": s.settings.as_ref().and_then(|s| s.owner.clone()),
        "role": s.role,
    }))
    .into_response()
}

/// The caller's right to manage `room`'s members and invites: 403 for members who may
/// not, 404 for strangers to a private room, 401 for guests.
pub(super) async fn manager(
    state: &AppState,
    room: &str,
    headers: &HeaderMap,
) -> Result<RoomName, Response> {
    let who = caller(state, headers).await;
    if matches!(who, Caller::Guest) {
        return Err(unauthorized());
    }
    let (room, s) = standing(state, room, &who).await?;
    if !(s.may_manage() || matches!(who, Caller::ApiKey)) || s.settings.is_none() {
        return Err(http_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the room's owner and moderators may do this",
        ));
    }
    Ok(room)
}
