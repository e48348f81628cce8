//! Moderation over HTTP: the audit log for moderators, and what a bot with the API key
//! (or a moderator's own program) does without a socket — delete a message, set slow
//! mode. A room a caller may not moderate answers 404, as one that does not exist.

use super::{Act, ActKind, MAX_SLOW_MODE_S};
use crate::protocol::{RoomName, ServerFrame};
use crate::server::api::http_error;
use crate::server::bodies::{form, json_object, query, see_other};
use crate::server::engine::RoomNote;
use crate::server::identity::caller::{caller, Caller};
use crate::server::state::AppState;
use crate::server::store::{now_ms, Amendment};
use axum::body::Body as HttpBody;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/rooms/{room}/audit", get(audit))
        .route("/api/rooms/{room}/messages/{seq}", delete(delete_message))
        .route("/api/rooms/{room}/slow_mode", put(slow_mode))
        .route("/account/slow_mode", post(slow_mode_form))
}

/// The settings page's form: `room`, `seconds` → 303 back to `/r/{room}/members` with
/// `?done=slow_mode` (or `?error=…`); someone who may not moderate goes back to the room.
async fn slow_mode_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let f = match form(body, &headers, state.body_limits).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Ok(room) = RoomName::parse(f.get("room").map(String::as_str).unwrap_or("")) else {
        return see_other("/");
    };
    let page = format!("/r/{room}/members");
    let (room, who, may) = match caller_in(&state, room.as_str(), &headers).await {
        Ok(x) => x,
        Err(_) => return see_other("/"),
    };
    if !may || matches!(who, Caller::Guest) {
        return see_other(&format!("/r/{room}"));
    }
    let seconds = f
        .get("seconds")
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|s| *s <= MAX_SLOW_MODE_S);
    let Some(seconds) = seconds else {
        return see_other(&format!("{page}?{}", query(&[("error", "bad_frame")])));
    };
    if set_slow_mode(&state, &room, seconds, &who).await.is_err() {
        return see_other(&format!("{page}?{}", query(&[("error", "unavailable")])));
    }
    see_other(&format!("{page}?{}", query(&[("done", "slow_mode")])))
}

fn not_found(what: &str) -> Response {
    http_error(StatusCode::NOT_FOUND, "not_found", what)
}

fn unavailable(e: &crate::server::store::StoreError) -> Response {
    tracing::warn!(error = %e.report(), "moderation unavailable");
    http_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the store cannot take this now; retry",
    )
}

/// Who is acting in this request, as the audit log names them (`"api"`, a user id, or
/// `"guest"`), for handlers outside this module.
pub async fn actor_name(state: &AppState, headers: &HeaderMap) -> String {
    actor(&caller(state, headers).await).unwrap_or_else(|| "guest".into())
}

/// Who acts, as the audit log and `deleted`'s `by` name them.
fn actor(who: &Caller) -> Option<String> {
    match who {
        Caller::ApiKey => Some("api".into()),
        Caller::User(id) => Some(id.user.to_string()),
        Caller::Guest => None,
    }
}

/// The room, the caller, and whether it may moderate there; a room it may not enter is
/// 404 (private rooms do not exist for strangers).
async fn caller_in(
    state: &AppState,
    room: &str,
    headers: &HeaderMap,
) -> Result<(RoomName, Caller, bool), Response> {
    let room = RoomName::parse(room).map_err(|_| not_found("no such room"))?;
    let who = caller(state, headers).await;
    if matches!(who, Caller::ApiKey) {
        return Ok((room, who, true));
    }
    let standing = state
        .session
        .rooms
        .standing(&room, who.identity())
        .await
        .map_err(|e| unavailable(&e))?;
    if !standing.may_enter() {
        return Err(not_found("no such room"));
    }
    let may = standing.may_moderate();
    Ok((room, who, may))
}

/// `GET /api/rooms/{room}/audit`: moderators and the API key; 404 for others.
async fn audit(
    State(state): State<AppState>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (room, _, may) = match caller_in(&state, &room, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !may {
        return not_found("no such room");
    }
    match state.session.rooms.moderation().acts(&room).await {
        Ok(acts) => Json(json!({"room": room, "acts": acts})).into_response(),
        Err(e) => unavailable(&e),
    }
}

/// `DELETE /api/rooms/{room}/messages/{seq}`: the API key, a moderator, or the author
/// (by user) → 200 with the `deleted` frame; 403 `forbidden` for another member, 401 for
/// a guest, 404 `not_found` for an unknown seq.
async fn delete_message(
    State(state): State<AppState>,
    Path((room, seq)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (room, who, may) = match caller_in(&state, &room, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(by) = actor(&who) else {
        return http_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in, or send a token",
        );
    };
    let Some(seq) = seq.parse::<u64>().ok().filter(|s| *s > 0) else {
        return not_found("no such message");
    };
    let msg = match state.hub.message(&room, seq).await {
        Ok(Some(m)) => m,
        Ok(None) => return not_found("no such message"),
        Err(e) => return unavailable(&e),
    };
    let own = who
        .identity()
        .is_some_and(|i| msg.user.as_ref() == Some(&i.user));
    if !may && !own {
        return http_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only its author or a moderator may delete a message",
        );
    }
    let frame = ServerFrame::Deleted {
        room: room.clone(),
        seq,
        by: by.clone(),
    };
    if !msg.is_deleted() {
        match state.hub.amend(&room, seq, Amendment::Delete, &by).await {
            Ok(Some(_)) => {}
            Ok(None) => return not_found("no such message"),
            Err(e) => return unavailable(&e),
        }
        let act = Act {
            act: ActKind::Delete,
            by,
            target: msg.user.clone(),
            seq: Some(seq),
            ts: now_ms(),
            detail: None,
        };
        record(&state, &room, &act).await;
    }
    Json(frame).into_response()
}

/// `PUT /api/rooms/{room}/slow_mode` `{"seconds": 0–3600}`: moderators and the API key
/// → 204; every node applies it at once.
async fn slow_mode(
    State(state): State<AppState>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let (room, who, may) = match caller_in(&state, &room, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !may {
        return not_found("no such room");
    }
    let body = match json_object(body, &headers, state.body_limits).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(seconds) = body
        .get("seconds")
        .and_then(Value::as_u64)
        .filter(|s| *s <= u64::from(MAX_SLOW_MODE_S))
    else {
        return http_error(
            StatusCode::BAD_REQUEST,
            "bad_frame",
            "seconds must be an integer from 0 to 3600",
        );
    };
    let seconds = seconds as u32;
    if let Err(e) = set_slow_mode(&state, &room, seconds, &who).await {
        return unavailable(&e);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Stores the room's slow mode, applies it on every node and logs it as `who`'s act
/// (the API and the settings form both come here).
async fn set_slow_mode(
    state: &AppState,
    room: &RoomName,
    seconds: u32,
    who: &Caller,
) -> Result<(), crate::server::store::StoreError> {
    state
        .session
        .rooms
        .moderation()
        .set_slow_mode(room, seconds)
        .await?;
    state.hub.notify(room, RoomNote::SlowMode { seconds });
    let act = Act {
        act: ActKind::SlowMode,
        by: actor(who).unwrap_or_default(),
        target: None,
        seq: None,
        ts: now_ms(),
        detail: Some(format!("{seconds} s")),
    };
    record(state, room, &act).await;
    Ok(())
}

/// Appends to the audit log; a failure is logged (the act itself is done).
pub async fn record(state: &AppState, room: &RoomName, act: &Act) {
    if let Err(e) = state.session.rooms.moderation().record(room, act).await {
        tracing::error!(error = %e.report(), room = %room, act = act.act.as_str(), "audit record lost");
    }
}
