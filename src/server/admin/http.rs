//! `/api/admin/...` (JSON, for the API key or a signed-in operator) and the `/admin`
//! page's form (`POST /admin/action`, 303 back). Anyone else: 404, as if nothing were
//! there.

use super::Operator;
use crate::protocol::{RoomName, UserId};
use crate::server::api::http_error;
use crate::server::bodies::{form, json_object, query, see_other};
use crate::server::moderation::Until;
use crate::server::state::AppState;
use axum::body::Body as HttpBody;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/overview", get(overview))
        .route("/api/admin/rooms/{room}/connections", get(connections))
        .route(
            "/api/admin/connections/{node}/{id}/disconnect",
            post(disconnect),
        )
        .route("/api/admin/bans/{user}", put(ban).delete(unban))
        .route("/api/admin/rooms/{room}/purge", post(purge))
        .route("/admin/action", post(action))
}

fn not_found() -> Response {
    http_error(StatusCode::NOT_FOUND, "not_found", "not found")
}

fn unavailable(e: &crate::server::store::StoreError) -> Response {
    tracing::warn!(error = %e.report(), "admin action failed");
    http_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the store cannot take this now; retry",
    )
}

/// Who the operator is (`"api"` or their user id), or `None`: not an operator.
pub async fn operator_of(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::server::api::bearer_token);
    if let Some(given) = bearer {
        let key = state.api_key.as_deref()?;
        return crate::server::api::same_key(given.as_bytes(), key.as_bytes())
            .then(|| "api".into());
    }
    state
        .operator
        .signed_in(headers)
        .await
        .map(|u| u.to_string())
}

/// The overview as JSON.
pub fn overview_json(o: &super::Overview) -> Value {
    json!({
        "nodes": o.nodes,
        "busiest": o.busiest.iter().map(|(r, n)| json!({"room": r, "connections": n})).collect::<Vec<_>>(),
    })
}

async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if operator_of(&state, &headers).await.is_none() {
        return not_found();
    }
    Json(overview_json(&state.operator.overview().await)).into_response()
}

/// A room's connections on every node, as JSON (`node`: the node that answered).
pub async fn connections_json(op: &Operator, room: &RoomName) -> Value {
    let list = op.room_connections(room).await;
    json!({"room": room, "node": op.node(), "connections": list})
}

async fn connections(
    State(state): State<AppState>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Response {
    if operator_of(&state, &headers).await.is_none() {
        return not_found();
    }
    let Ok(room) = RoomName::parse(&room) else {
        return not_found();
    };
    Json(connections_json(&state.operator, &room).await).into_response()
}

async fn disconnect(
    State(state): State<AppState>,
    Path((node, id)): Path<(String, u64)>,
    headers: HeaderMap,
) -> Response {
    if operator_of(&state, &headers).await.is_none() {
        return not_found();
    }
    if state.operator.disconnect(&node, id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        http_error(StatusCode::NOT_FOUND, "not_found", "no such connection")
    }
}

/// A ban's end from an optional `duration_s` (for good without one).
fn until(duration_s: Option<u64>) -> Until {
    duration_s.map_or(Until::Forever, |s| {
        Until::At(crate::server::store::now_ms() + s.saturating_mul(1000))
    })
}

async fn ban(
    State(state): State<AppState>,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    if operator_of(&state, &headers).await.is_none() {
        return not_found();
    }
    let Ok(user) = UserId::parse(&user) else {
        return http_error(StatusCode::BAD_REQUEST, "invalid_name", "not a user id");
    };
    let duration = if headers.contains_key(axum::http::header::CONTENT_TYPE) {
        match json_object(body, &headers, state.body_limits).await {
            Ok(b) => b.get("duration_s").and_then(Value::as_u64),
            Err(r) => return r,
        }
    } else {
        None
    };
    match state
        .operator
        .ban_everywhere(&user, Some(until(duration)))
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => unavailable(&e),
    }
}

async fn unban(
    State(state): State<AppState>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Response {
    if operator_of(&state, &headers).await.is_none() {
        return not_found();
    }
    let Ok(user) = UserId::parse(&user) else {
        return http_error(StatusCode::BAD_REQUEST, "invalid_name", "not a user id");
    };
    match state.operator.ban_everywhere(&user, None).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => unavailable(&e),
    }
}

/// `POST /api/admin/rooms/{room}/purge` `{"confirm": "<the room's name>"}`: the name
/// again, so a slip of the hand deletes nothing.
async fn purge(
    State(state): State<AppState>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let Some(by) = operator_of(&state, &headers).await else {
        return not_found();
    };
    let Ok(room) = RoomName::parse(&room) else {
        return not_found();
    };
    let body = match json_object(body, &headers, state.body_limits).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.get("confirm").and_then(Value::as_str) != Some(room.as_str()) {
        return http_error(
            StatusCode::BAD_REQUEST,
            "bad_frame",
            "confirm must repeat the room's name",
        );
    }
    match state.operator.purge(&room, &by).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => unavailable(&e),
    }
}

/// The page's form: `action` = `disconnect` (`node`, `id`, `room`), `ban` (`user`,
/// `duration_s` or empty), `unban` (`user`), `purge` (`room`, `confirm`) → 303 to
/// `/admin` with `?done=` or `?error=` (and the room being looked at).
async fn action(State(state): State<AppState>, headers: HeaderMap, body: HttpBody) -> Response {
    let Some(by) = operator_of(&state, &headers).await else {
        return see_other("/");
    };
    let f = match form(body, &headers, state.body_limits).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let field = |k: &str| f.get(k).map(|v| v.trim()).unwrap_or("");
    let room = RoomName::parse(field("room")).ok();
    let back = |key: &str, value: &str| {
        let mut q = vec![(key, value)];
        if let Some(r) = &room {
            q.push(("room", r.as_str()));
        }
        see_other(&format!("/admin?{}", query(&q)))
    };
    match field("action") {
        "disconnect" => match field("id").parse::<u64>() {
            Ok(id) if state.operator.disconnect(field("node"), id) => back("done", "disconnect"),
            _ => back("error", "no_connection"),
        },
        "ban" | "unban" => {
            let Ok(user) = UserId::parse(field("user")) else {
                return back("error", "bad_user");
            };
            let ban = (field("action") == "ban").then(|| until(field("duration_s").parse().ok()));
            match state.operator.ban_everywhere(&user, ban).await {
                Ok(()) => back("done", field("action")),
                Err(_) => back("error", "unavailable"),
            }
        }
        "purge" => match &room {
            Some(r) if field("confirm") == r.as_str() => match state.operator.purge(r, &by).await {
                Ok(()) => back("done", "purge"),
                Err(_) => back("error", "unavailable"),
            },
            _ => back("error", "confirm"),
        },
        _ => back("error", "bad_action"),
    }
}
