//! A room's members over HTTP: the list for its managers (`GET
//! /api/rooms/{room}/members`, an extension: `docs/protocol.md`), adding and removing
//! (`PUT` / `DELETE /api/rooms/{room}/members/{user}`, the contract's), and the member
//! page's form (`POST /account/members`, plain HTML, 303 back to the page).

use super::access::RoomAccess;
use super::http::{directory_error, manager, unavailable};
use super::{Role, RoomDirectory};
use crate::protocol::{LeftReason, RoomName, UserId, UserName};
use crate::server::accounts::service::Accounts;
use crate::server::api::http_error;
use crate::server::bodies::{form, json_object, query, see_other};
use crate::server::moderation::http::actor_name;
use crate::server::moderation::{Act, ActKind};
use crate::server::state::AppState;
use crate::server::store::StoreError;
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
        .route("/api/rooms/{room}/members", get(list))
        .route(
            "/api/rooms/{room}/members/{user}",
            put(add_member).delete(remove_member),
        )
        .route("/account/members", post(member_form))
}

/// One person of a room's roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Their user id.
    pub user: UserId,
    /// Their account's name (`None` for a token's user, whom Chorus knows only by id).
    pub name: Option<UserName>,
    /// Owner, moderator or member.
    pub role: Role,
}

/// A room's owner and stored members, by name where they have accounts.
pub async fn roster(
    rooms: &RoomAccess,
    accounts: Option<&Accounts>,
    room: &RoomName,
) -> Result<Vec<Entry>, StoreError> {
    let directory: &dyn RoomDirectory = rooms.directory();
    let owner = directory.settings(room).await?.and_then(|s| s.owner);
    let mut people: Vec<(UserId, Role)> = owner.into_iter().map(|o| (o, Role::Owner)).collect();
    people.extend(directory.members(room).await?);
    let users: Vec<UserId> = people.iter().map(|(u, _)| u.clone()).collect();
    let names = match accounts {
        Some(a) => a.names(&users).await?,
        None => Default::default(),
    };
    let mut entries: Vec<Entry> = people
        .into_iter()
        .map(|(user, role)| Entry {
            name: names.get(&user).cloned(),
            user,
            role,
        })
        .collect();
    // The owner, then moderators, then members; by name within each, then those known
    // only by id.
    entries.sort_by(|a, b| {
        b.role.cmp(&a.role).then_with(|| {
            let key = |e: &Entry| {
                let name = e.name.as_ref().map(|n| n.as_str().to_lowercase());
                (name.is_none(), name)
            };
            key(a).cmp(&key(b)).then_with(|| a.user.cmp(&b.user))
        })
    });
    Ok(entries)
}

/// `GET /api/rooms/{room}/members` → `{"room","members":[{"user","name","role"}]}` for
/// the room's managers (the owner first; `name` null for users without an account).
async fn list(
    State(state): State<AppState>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Response {
    let room = match manager(&state, &room, &headers).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    match roster(&state.session.rooms, state.accounts.as_deref(), &room).await {
        Ok(entries) => {
            let members: Vec<Value> = entries
                .iter()
                .map(|e| json!({"user": e.user, "name": e.name, "role": e.role}))
                .collect();
            Json(json!({"room": room, "members": members})).into_response()
        }
        Err(e) => unavailable(&e),
    }
}

/// The room the caller manages and the user in the path, for the members endpoints.
async fn member_of_managed(
    state: &AppState,
    room: &str,
    user: &str,
    headers: &HeaderMap,
) -> Result<(RoomName, UserId), Response> {
    let room = manager(state, room, headers).await?;
    let user = UserId::parse(user)
        .map_err(|_| http_error(StatusCode::BAD_REQUEST, "bad_frame", "not a user id"))?;
    Ok((room, user))
}

/// A requested role: `member` (also when absent) or `moderator`; `owner` is not given
/// by request.
fn requested_role(raw: Option<&str>) -> Option<Role> {
    match raw.map(Role::parse) {
        None => Some(Role::Member),
        Some(Some(r @ (Role::Member | Role::Moderator))) => Some(r),
        Some(_) => None,
    }
}

/// `PUT /api/rooms/{room}/members/{user}` `{"role":"member"|"moderator"}` → 204.
async fn add_member(
    State(state): State<AppState>,
    Path((room, user)): Path<(String, String)>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let (room, user) = match member_of_managed(&state, &room, &user, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let body = match json_object(body, &headers, state.body_limits).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(role) = requested_role(body.get("role").and_then(Value::as_str)) else {
        return http_error(
            StatusCode::BAD_REQUEST,
            "bad_frame",
            "role must be \"member\" or \"moderator\"",
        );
    };
    match set_member(&state, &room, &user, role, &headers).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => r,
    }
}

/// Stores `user`'s role in `room`, unless `user` is its owner (who stays owner: 400).
async fn set_member(
    state: &AppState,
    room: &RoomName,
    user: &UserId,
    role: Role,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let directory = state.session.rooms.directory();
    let owner = directory
        .settings(room)
        .await
        .map_err(|e| unavailable(&e))?
        .and_then(|s| s.owner);
    if owner.as_ref() == Some(user) {
        return Err(http_error(
            StatusCode::BAD_REQUEST,
            "bad_frame",
            "the owner is the owner: their role does not change",
        ));
    }
    directory
        .set_member(room, user, role)
        .await
        .map_err(directory_error)?;
    let act = Act {
        act: ActKind::SetRole,
        by: actor_name(state, headers).await,
        target: Some(user.clone()),
        seq: None,
        ts: crate::server::store::now_ms(),
        detail: Some(role.as_str().to_owned()),
    };
    crate::server::moderation::http::record(state, room, &act).await;
    Ok(())
}

/// `DELETE /api/rooms/{room}/members/{user}` → 204.
async fn remove_member(
    State(state): State<AppState>,
    Path((room, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (room, user) = match member_of_managed(&state, &room, &user, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match remove(&state, &room, &user, &headers).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => unavailable(&e),
    }
}

/// Removes `user` from `room`'s members; in a private room their connections leave it at
/// once, on every node (`left` with `reason: "removed"`), unless they are its owner (a
/// token's right to the room lets them join again).
async fn remove(
    state: &AppState,
    room: &RoomName,
    user: &UserId,
    headers: &HeaderMap,
) -> Result<(), StoreError> {
    let rooms = &state.session.rooms;
    rooms.directory().remove_member(room, user).await?;
    let act = Act {
        act: ActKind::RemoveMember,
        by: actor_name(state, headers).await,
        target: Some(user.clone()),
        seq: None,
        ts: crate::server::store::now_ms(),
        detail: None,
    };
    crate::server::moderation::http::record(state, room, &act).await;
    let settings = rooms.directory().settings(room).await?;
    let private = settings
        .as_ref()
        .is_some_and(|s| s.visibility == super::Visibility::Private);
    let owner = settings.as_ref().and_then(|s| s.owner.as_ref()) == Some(user);
    if private && !owner {
        state.hub.notify(
            room,
            crate::server::engine::RoomNote::Evict {
                user: user.clone(),
                reason: LeftReason::Removed,
            },
        );
    }
    Ok(())
}

/// The member page's forms: `room`, `action` (`add`: `name` of an account and `role`;
/// `role`: `user` and `role`; `remove`: `user`) → 303 to `/r/{room}/members`, with
/// `?error=<code>` when it did not work (`?done=<action>` when it did).
async fn member_form(
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
    let back = |key: &str, value: &str| see_other(&format!("{page}?{}", query(&[(key, value)])));
    if manager(&state, room.as_str(), &headers).await.is_err() {
        return see_other(&format!("/r/{room}"));
    }
    let field = |k: &str| f.get(k).map(|v| v.trim()).unwrap_or("");
    let action = field("action");
    let user = match action {
        "add" => {
            let Some(accounts) = state.accounts.as_deref() else {
                return back("error", "no_account");
            };
            let Ok(name) = UserName::parse(field("name")) else {
                return back("error", "no_account");
            };
            match accounts.find(&name).await {
                Ok(Some(user)) => user,
                Ok(None) => return back("error", "no_account"),
                Err(_) => return back("error", "unavailable"),
            }
        }
        "role" | "remove" => match UserId::parse(field("user")) {
            Ok(u) => u,
            Err(_) => return back("error", "bad_frame"),
        },
        _ => return back("error", "bad_frame"),
    };
    if action == "remove" {
        return match remove(&state, &room, &user, &headers).await {
            Ok(()) => back("done", "remove"),
            Err(_) => back("error", "unavailable"),
        };
    }
    let Some(role) = requested_role(Some(field("role")).filter(|r| !r.is_empty())) else {
        return back("error", "bad_frame");
    };
    match set_member(&state, &room, &user, role, &headers).await {
        Ok(()) => back("done", action),
        Err(r) if r.status() == StatusCode::BAD_REQUEST => back("error", "owner"),
        Err(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => back("error", "full"),
        Err(_) => back("error", "unavailable"),
    }
}
