//! `/api/accounts` and `/api/session` (the contract's "Accounts"), the session cookie,
//! and the rule that keeps other sites from acting with it: a request that carries the
//! cookie and changes state must come from a page of this site (its `Origin`), else 403.

use super::service::{SignInError, SignUpError};
use crate::server::api::http_error;
use crate::server::state::AppState;
use axum::body::Body as HttpBody;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::net::SocketAddr;

/// The cookie's name.
pub const COOKIE: &str = "chorus_session";

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/accounts", post(sign_up))
        .route("/api/session", post(sign_in).get(current).delete(sign_out))
}

/// The session cookie's value in a request, if it has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_string())
}

/// Whether the request's `Origin` is this site itself (scheme://host[:port] whose
/// authority is the request's `Host`). A missing `Origin` is not.
pub fn same_site(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let (Some(origin), Some(host)) = (text(header::ORIGIN), text(header::HOST)) else {
        return false;
    };
    origin
        .trim()
        .trim_end_matches('/')
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host.trim()))
}

/// Middleware on every route: a state-changing request with the cookie from anywhere but
/// this site's pages is 403 (cross-site request forgery), whatever the route.
pub async fn cookie_origin_guard(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !reads && session_cookie(request.headers()).is_some() && !same_site(request.headers()) {
        return forbidden_origin();
    }
    next.run(request).await
}

fn forbidden_origin() -> Response {
    http_error(
        StatusCode::FORBIDDEN,
        "forbidden",
        "this request must come from a page of this site (its Origin)",
    )
}

/// Sign-up and sign-in from another site's page are refused even without a cookie (a
/// client that is not a browser sends no `Origin` and is welcome): the 403 to answer.
pub fn foreign_origin_refused(headers: &HeaderMap) -> Option<Response> {
    (headers.contains_key(header::ORIGIN) && !same_site(headers)).then(forbidden_origin)
}

/// The `Set-Cookie` value for a session (or, with `None`, one that removes it).
pub fn set_cookie(session: Option<(&str, u64)>, secure: bool) -> HeaderValue {
    let (value, max_age) = match session {
        Some((id, expires_ms)) => (
            id.to_string(),
            (expires_ms.saturating_sub(crate::server::store::now_ms()) / 1000) as i64,
        ),
        None => (String::new(), 0),
    };
    let c = cookie::Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The body's `name` and `password`, or the answer to a body without them.
async fn credentials(
    state: &AppState,
    headers: &HeaderMap,
    body: HttpBody,
) -> Result<(String, String), Response> {
    let v = crate::server::bodies::json_object(body, headers, state.body_limits).await?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    match (field("name"), field("password")) {
        (Some(n), Some(p)) => Ok((n, p)),
        _ => Err(http_error(
            StatusCode::BAD_REQUEST,
            "bad_frame",
            "the body needs \"name\" and \"password\" strings",
        )),
    }
}

/// The client's address (behind a trusted proxy, the forwarded one).
pub fn client(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    state.trusted_proxies.client(peer.ip(), &forwarded)
}

fn signed_in(
    status: StatusCode,
    account: &super::Account,
    id: &str,
    expires_ms: u64,
    secure: bool,
) -> Response {
    let mut resp = (
        status,
        Json(json!({"user": account.user, "name": account.name})),
    )
        .into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(Some((id, expires_ms)), secure),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn retry_later(code: &str, message: &str, wait: std::time::Duration) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"type":"error","code":code,"message":message,"retry_after_ms": wait.as_millis() as u64})),
    )
        .into_response()
}

fn unavailable(cause: &str) -> Response {
    tracing::warn!(cause, "accounts unavailable");
    http_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "accounts are unavailable now; retry",
    )
}

fn accounts_off() -> Response {
    http_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "accounts are off on this server",
    )
}

/// `POST /api/accounts` `{"name","password"}` → 201 `{"user","name"}` and the cookie.
async fn sign_up(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    submit(true, state, peer, headers, body).await
}

/// `POST /api/session` `{"name","password"}` → 200 `{"user","name"}` and a new cookie.
async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    submit(false, state, peer, headers, body).await
}

/// Sign-up (`new_account`) or sign-in: the account and its cookie, or the error with
/// the contract's status and code.
async fn submit(
    new_account: bool,
    state: AppState,
    peer: SocketAddr,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    if let Some(refused) = foreign_origin_refused(&headers) {
        return refused;
    }
    let Some(accounts) = state.accounts.as_deref() else {
        return accounts_off();
    };
    let (name, password) = match credentials(&state, &headers, body).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let client = client(&state, peer, &headers);
    let outcome = if new_account {
        accounts
            .sign_up(&name, &password, client)
            .await
            .map_err(|e| (e.code(), e.to_string(), retry(&e)))
    } else {
        accounts
            .sign_in(&name, &password, client)
            .await
            .map_err(|e| (e.code(), e.to_string(), retry_in(&e)))
    };
    let status = if new_account {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    match outcome {
        Ok((account, s)) => signed_in(status, &account, &s.id, s.expires_ms, state.cookie_secure),
        Err((code, message, Some(wait))) => retry_later(code, &message, wait),
        Err((code, message, None)) => {
            let status = match code {
                "name_taken" => StatusCode::CONFLICT,
                "unauthorized" => StatusCode::UNAUTHORIZED,
                "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            http_error(status, code, &message)
        }
    }
}

fn retry(e: &SignUpError) -> Option<std::time::Duration> {
    match e {
        SignUpError::RateLimited(wait) => Some(*wait),
        _ => None,
    }
}

fn retry_in(e: &SignInError) -> Option<std::time::Duration> {
    match e {
        SignInError::RateLimited(wait) => Some(*wait),
        _ => None,
    }
}

/// `GET /api/session` → 200 `{"user","name"}` or 401.
async fn current(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(accounts) = state.accounts.as_deref() else {
        return accounts_off();
    };
    let not_in = || http_error(StatusCode::UNAUTHORIZED, "unauthorized", "not signed in");
    let Some(id) = session_cookie(&headers) else {
        return not_in();
    };
    match accounts.current(&id).await {
        Ok(Some((account, _))) => {
            Json(json!({"user": account.user, "name": account.name})).into_response()
        }
        Ok(None) => not_in(),
        Err(e) => unavailable(&e.report().to_string()),
    }
}

/// `DELETE /api/session` → 204: the session is dead on the server, its sockets closed
/// with 4001, and the cookie removed.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(accounts) = state.accounts.as_deref() else {
        return accounts_off();
    };
    if let Some(id) = session_cookie(&headers) {
        if let Err(e) = accounts.sign_out(&id).await {
            return unavailable(&e.report().to_string());
        }
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(None, state.cookie_secure));
    resp
}
