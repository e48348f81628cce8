//! The sign-in, sign-up and sign-out forms of the site's pages (`/signin` and `/signup`
//! post to `/account/signin` and `/account/signup`), posted as HTML forms
//! (`application/x-www-form-urlencoded`), so they work without JavaScript. Each answers
//! 303: on success to where the person was going (`next`, a path on this site), else
//! back to its page with `?error=<code>` (and the name, never the password).

use super::http::{foreign_origin_refused, session_cookie, set_cookie};
use super::service::{SignInError, SignUpError};
use crate::server::api::read_body;
use crate::server::state::AppState;
use axum::body::Body as HttpBody;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The form routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/signin", post(sign_in))
        .route("/account/signup", post(sign_up))
        .route("/account/signout", post(sign_out))
}

/// Where to go after signing in: a path on this site only (`/r/general`), never another
/// site (`//evil.example`, `https://…`), so the form cannot be used to send people away.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() <= 200 =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Back to `page` with the error code, the name typed and where the person was going.
fn back(page: &str, code: &str, form: &HashMap<String, String>) -> Response {
    let name = form.get("name").map(String::as_str).unwrap_or("");
    let next = safe_next(form.get("next").map(String::as_str));
    let query = serde_urlencoded::to_string([("error", code), ("name", name), ("next", &next)])
        .unwrap_or_default();
    see_other(&format!("{page}?{query}"))
}

async fn form(
    state: &AppState,
    headers: &HeaderMap,
    body: HttpBody,
) -> Result<HashMap<String, String>, Response> {
    let bytes = read_body(body, headers, state.body_limits)
        .await
        .map_err(|r| r.response())?;
    Ok(serde_urlencoded::from_bytes(&bytes).unwrap_or_default())
}

fn signed_in(to: &str, id: &str, expires_ms: u64, secure: bool) -> Response {
    let mut resp = see_other(to);
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(Some((id, expires_ms)), secure),
    );
    resp
}

fn client(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    super::http::client(state, peer, headers)
}

async fn sign_up(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    if let Some(refused) = foreign_origin_refused(&headers) {
        return refused;
    }
    let f = match form(&state, &headers, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(accounts) = state.accounts.as_deref() else {
        return back("/signup", "unavailable", &f);
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    match accounts
        .sign_up(
            field("name"),
            field("password"),
            client(&state, peer, &headers),
        )
        .await
    {
        Ok((_, s)) => signed_in(
            &safe_next(f.get("next").map(String::as_str)),
            &s.id,
            s.expires_ms,
            state.cookie_secure,
        ),
        Err(SignUpError::BadName) => back("/signup", "invalid_name", &f),
        Err(SignUpError::WeakPassword) => back("/signup", "weak_password", &f),
        Err(SignUpError::NameTaken) => back("/signup", "name_taken", &f),
        Err(SignUpError::RateLimited(_)) => back("/signup", "rate_limited", &f),
        Err(SignUpError::Unavailable(cause)) => {
            tracing::warn!(cause, "sign-up unavailable");
            back("/signup", "unavailable", &f)
        }
    }
}

async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    if let Some(refused) = foreign_origin_refused(&headers) {
        return refused;
    }
    let f = match form(&state, &headers, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(accounts) = state.accounts.as_deref() else {
        return back("/signin", "unavailable", &f);
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    match accounts
        .sign_in(
            field("name"),
            field("password"),
            client(&state, peer, &headers),
        )
        .await
    {
        Ok((_, s)) => signed_in(
            &safe_next(f.get("next").map(String::as_str)),
            &s.id,
            s.expires_ms,
            state.cookie_secure,
        ),
        Err(SignInError::Wrong) => back("/signin", "wrong", &f),
        Err(SignInError::RateLimited(_)) => back("/signin", "rate_limited", &f),
        Err(SignInError::Unavailable(cause)) => {
            tracing::warn!(cause, "sign-in unavailable");
            back("/signin", "unavailable", &f)
        }
    }
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let (Some(accounts), Some(id)) = (state.accounts.as_deref(), session_cookie(&headers)) {
        if let Err(e) = accounts.sign_out(&id).await {
            tracing::warn!(error = %e.report(), "sign-out failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "signing out failed; retry").into_response();
        }
    }
    let mut resp = see_other("/");
    resp.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(None, state.cookie_secure));
    resp
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/r/general")), "/r/general");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "r/x",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
