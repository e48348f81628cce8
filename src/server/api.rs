//! The HTTP API under `/api/rooms`: history as JSON for servers, bots and scripts.
//!
//! Errors use the WebSocket protocol's codes and shape (`{"type":"error","code",
//! "message",...}`) with a matching HTTP status, so a client handles one set of codes.

use crate::protocol::{HistoryLimit, ProtocolError, RoomName};
use crate::server::http::AppState;
use crate::server::refusal::Refusal;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

/// The API's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/rooms/{room}/messages", get(messages))
}

/// Query of `GET /api/rooms/{room}/messages`. Taken as text and parsed here, so a bad
/// value gets the protocol's error instead of axum's plain-text rejection.
#[derive(Deserialize)]
struct PageQuery {
    before: Option<String>,
    limit: Option<String>,
}

/// `GET /api/rooms/{room}/messages?before=&limit=`: the newest `limit` (1–100, default
/// 50) messages below `before`, oldest first, with the room's epoch and last seq.
async fn messages(
    State(state): State<AppState>,
    Path(room): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let page = async {
        let room = RoomName::parse(&room).map_err(|_| ProtocolError::InvalidRoom)?;
        let before = match q.before.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                s.parse::<u64>()
                    .map_err(|_| ProtocolError::BadFrame("before must be a seq (an integer)"))?,
            ),
        };
        let limit =
            match q.limit.as_deref().filter(|s| !s.is_empty()) {
                None => HistoryLimit::default(),
                Some(s) => s.parse::<u64>().ok().and_then(HistoryLimit::new).ok_or(
                    ProtocolError::BadFrame("limit must be an integer from 1 to 100"),
                )?,
            };
        Ok::<_, Refusal>(state.hub.page(&room, before, limit.get()).await?)
    }
    .await;
    match page {
        Ok(page) => ([(header::CACHE_CONTROL, "no-store")], Json(page)).into_response(),
        Err(refusal) => refuse(refusal),
    }
}

/// The error response for a refusal: its status, and its `error` frame as the body.
pub fn refuse(refusal: Refusal) -> Response {
    let status = refusal.http_status();
    let mut resp = (status, Json(refusal.to_frame(None))).into_response();
    if matches!(refusal, Refusal::Unavailable(_)) {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    resp
}
