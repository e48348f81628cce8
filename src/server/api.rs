//! The HTTP API under `/api/rooms`: history as JSON, and publishing for servers, bots and
//! scripts (notifications, quotes) with an API key.
//!
//! Errors use the WebSocket protocol's codes and shape (`{"type":"error","code",
//! "message",...}`) with a matching HTTP status, so a client handles one set of codes.
//! Two codes exist only here: `unauthorized` (401, a missing or wrong key) and
//! `not_found` (404, publishing is off because no key is configured).

use crate::protocol::{Body, ClientId, HistoryLimit, ProtocolError, RoomName, UserName};
use crate::server::refusal::Refusal;
use crate::server::state::AppState;
use crate::server::state::BodyLimits;
use axum::body::{Body as HttpBody, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

/// The API's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/rooms/{room}/messages", get(messages).post(publish))
}

/// An error only the HTTP API has.
pub(crate) fn http_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"type": "error", "code": code, "message": message})),
    )
        .into_response()
}

/// Compares in constant time (`subtle`), so the time taken says nothing about the key
/// (only, as any comparison, whether the lengths differ).
pub(crate) fn same_key(given: &[u8], key: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    given.ct_eq(key).into()
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is matched without
/// regard to case (RFC 7235: `bearer`, `BEARER` and `Bearer` are the same scheme).
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Why a request body was not read.
#[derive(Debug)]
pub(crate) enum BodyRefused {
    /// It is (or says it is) over the limit, in bytes.
    TooBig(usize),
    /// It did not arrive whole within the timeout.
    Late(std::time::Duration),
    /// The connection failed while it was read.
    Unreadable,
}

impl BodyRefused {
    /// 413, 408 or 400, each with the protocol's `bad_frame` code.
    pub(crate) fn response(self) -> Response {
        match self {
            Self::TooBig(max) => http_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "bad_frame",
                &format!("the body is over {max} bytes"),
            ),
            Self::Late(timeout) => http_error(
                StatusCode::REQUEST_TIMEOUT,
                "bad_frame",
                &format!("the body did not arrive within {timeout:?}"),
            ),
            Self::Unreadable => http_error(
                StatusCode::BAD_REQUEST,
                "bad_frame",
                "the body could not be read",
            ),
        }
    }
}

/// Reads a request body of at most `limits.max_bytes` within `limits.timeout`.
pub(crate) async fn read_body(
    body: HttpBody,
    headers: &HeaderMap,
    limits: BodyLimits,
) -> Result<Bytes, BodyRefused> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes) {
        return Err(BodyRefused::TooBig(limits.max_bytes));
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf = Vec::with_capacity(declared.unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| BodyRefused::Unreadable)?;
            if buf.len() + chunk.len() > limits.max_bytes {
                return Err(BodyRefused::TooBig(limits.max_bytes));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buf))
    };
    tokio::time::timeout(limits.timeout, read)
        .await
        .unwrap_or(Err(BodyRefused::Late(limits.timeout)))
}

/// A string field of the JSON body, parsed by `parse`; absent or not a string is `err`.
fn field<T>(
    body: &Value,
    name: &str,
    parse: fn(&str) -> Result<T, ProtocolError>,
    err: ProtocolError,
) -> Result<T, ProtocolError> {
    body.get(name)
        .and_then(Value::as_str)
        .ok_or(err)
        .and_then(parse)
}

/// `POST /api/rooms/{room}/messages` with `Authorization: Bearer <key>` and
/// `{"name","body","client_id"}`: publishes as a socket would (same validation, in the
/// contract's order; same idempotency; the answer comes after the commit) and answers
/// `{"seq"}` (`"duplicate": true` when the client_id was stored before).
async fn publish(
    State(state): State<AppState>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let Some(key) = state.api_key.as_deref() else {
        return http_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "publishing over HTTP is off: start the server with --api-key",
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    if !given.is_some_and(|g| same_key(g.as_bytes(), key.as_bytes())) {
        let mut resp = http_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the API key as `Authorization: Bearer <key>`",
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return resp;
    }
    // Read only now, after the key: a keyless client never gets a byte of its body
    // buffered, and an allowed one at most the limit, within the timeout.
    let body = match read_body(body, &headers, state.body_limits).await {
        Ok(bytes) => bytes,
        Err(refused) => return refused.response(),
    };
    let published =
        async {
            let room = RoomName::parse(&room).map_err(|_| ProtocolError::InvalidRoom)?;
            let body: Value = serde_json::from_slice(&body)
                .ok()
                .filter(Value::is_object)
                .ok_or(ProtocolError::BadFrame("the body must be a JSON object"))?;
            let name = field(&body, "name", UserName::parse, ProtocolError::InvalidName)?;
            let text = field(&body, "body", Body::parse, ProtocolError::InvalidBody)?;
            let client_id = field(
                &body,
                "client_id",
                ClientId::parse,
                ProtocolError::InvalidClientId,
            )?;
            // An extension (docs/protocol.md): a bot may reply, as a `publish` may.
            let reply_to =
                match body.get("reply_to").filter(|v| !v.is_null()) {
                    None => None,
                    Some(v) => Some(v.as_u64().filter(|&s| s > 0).ok_or(
                        ProtocolError::BadFrame("reply_to must be a positive integer"),
                    )?),
                };
            // A bot: it speaks as the name it is given, with no `user` (docs/identity.md).
            let draft = crate::server::store::Draft {
                room,
                from: name,
                body: text,
                client_id,
                user: None,
                reply_to,
            };
            Ok::<_, Refusal>(state.hub.publish(draft).await?)
        }
        .await;
    match published {
        Ok(p) if p.duplicate => Json(json!({"seq": p.seq, "duplicate": true})).into_response(),
        Ok(p) => (StatusCode::CREATED, Json(json!({"seq": p.seq}))).into_response(),
        Err(refusal) => refuse(refusal),
    }
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
    headers: HeaderMap,
) -> Response {
    let page = async {
        let room = RoomName::parse(&room).map_err(|_| ProtocolError::InvalidRoom)?;
        // A private room is not there for a stranger (404, as for no room at all).
        let who = crate::server::identity::caller::caller(&state, &headers).await;
        let standing = state.session.rooms.standing(&room, who.identity()).await?;
        if !standing.may_enter() && !matches!(who, crate::server::identity::caller::Caller::ApiKey)
        {
            return Err(Refusal::Forbidden);
        }
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
    if matches!(refusal, Refusal::Forbidden) {
        // Over HTTP a private room does not exist for a stranger.
        crate::server::metrics::refused("not_found");
        return http_error(StatusCode::NOT_FOUND, "not_found", "no such room");
    }
    let status = refusal.http_status();
    let mut resp = (status, Json(refusal.to_frame(None))).into_response();
    if matches!(refusal, Refusal::Unavailable(_)) {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for v in ["Bearer k1", "bearer k1", "BEARER k1", "  Bearer   k1  "] {
            assert_eq!(bearer_token(v), Some("k1"), "{v:?}");
        }
        for v in ["Basic k1", "Bearer", "Bearer ", "Bearerk1", "k1"] {
            assert_eq!(bearer_token(v), None, "{v:?}");
        }
    }
}
