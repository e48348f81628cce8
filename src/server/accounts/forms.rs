//! The sign-in, sign-up and sign-out forms of the site's pages (`/signin` and `/signup`
//! post to `/account/signin` and `/account/signup`), posted as HTML forms
//! (`application/x-www-form-urlencoded`), so they work without JavaScript. Each answers
//! 303: on success to where the person was going (`next`, a path on this site), else
//! back to its page with `?error=<code>` (and the name, never the password).

use super::http::{foreign_origin_refused, session_cookie, set_cookie};
use crate::server::bodies::{form, query, see_other};
use crate::server::state::AppState;
use axum::body::Body as HttpBody;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
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

/// Back to `page` with the error code, the name typed and where the person was going.
fn back(page: &str, code: &str, form: &HashMap<String, String>) -> Response {
    let name = form.get("name").map(String::as_str).unwrap_or("");
    let next = safe_next(form.get("next").map(String::as_str));
    see_other(&format!(
        "{page}?{}",
        query(&[("error", code), ("name", name), ("next", &next)])
    ))
}

fn signed_in(to: &str, id: &str, expires_ms: u64, secure: bool) -> Response {
    let mut resp = see_other(to);
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(Some((id, expires_ms)), secure),
    );
    resp
}

/// Which form was sent.
#[derive(Clone, Copy)]
enum Kind {
    SignUp,
    SignIn,
}

async fn sign_up(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    submit(Kind::SignUp, state, peer, headers, body).await
}

async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    submit(Kind::SignIn, state, peer, headers, body).await
}

/// Either form: signed in and on to `next`, or back to the form with the error's code.
async fn submit(
    kind: Kind,
    state: AppState,
    peer: SocketAddr,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let page = match kind {
        Kind::SignUp => "/signup",
        Kind::SignIn => "/signin",
    };
    if let Some(refused) = foreign_origin_refused(&headers) {
        return refused;
    }
    let f = match form(body, &headers, state.body_limits).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(accounts) = state.accounts.as_deref() else {
        return back(page, "unavailable", &f);
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let client = super::http::client(&state, peer, &headers);
    let (name, password) = (field("name"), field("password"));
    let outcome = match kind {
        Kind::SignUp => accounts
            .sign_up(name, password, client)
            .await
            .map_err(|e| e.code()),
        Kind::SignIn => accounts
            .sign_in(name, password, client)
            .await
            .map_err(|e| e.code()),
    };
    match outcome {
        Ok((_, s)) => signed_in(
            &safe_next(f.get("next").map(String::as_str)),
            &s.id,
            s.expires_ms,
            state.cookie_secure,
        ),
        Err(code) => back(page, code, &f),
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
