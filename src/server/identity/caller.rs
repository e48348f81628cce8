//! Who is calling the HTTP API: the operator (the API key), a user (the site's session
//! cookie, or an application's token as `Authorization: Bearer`), or a guest.

use super::Identity;
use crate::server::state::AppState;
use axum::http::{header, HeaderMap};

/// The caller of an HTTP request.
#[derive(Debug)]
pub enum Caller {
    /// `Authorization: Bearer <the API key>`.
    ApiKey,
    /// A signed-in user or a token holder.
    User(Identity),
    /// Nobody in particular (or credentials that did not check out).
    Guest,
}

impl Caller {
    /// The identity, if a user.
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Caller::User(id) => Some(id),
            _ => None,
        }
    }
}

/// Works out the caller: the API key first, then a bearer token, then the cookie. A
/// store that cannot read a session makes the caller a guest (logged).
pub async fn caller(state: &AppState, headers: &HeaderMap) -> Caller {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::server::api::bearer_token);
    if let Some(given) = bearer {
        if state
            .api_key
            .as_deref()
            .is_some_and(|key| crate::server::api::same_key(given.as_bytes(), key.as_bytes()))
        {
            return Caller::ApiKey;
        }
        let token = crate::protocol::Token::parse(given).ok();
        if let (Some(v), Some(t)) = (state.session.verifier.as_ref(), token) {
            if let Ok(id) = v.verify(&t) {
                return Caller::User(id);
            }
        }
        return Caller::Guest;
    }
    let (Some(accounts), Some(id)) = (
        state.accounts.as_ref(),
        crate::server::accounts::http::session_cookie(headers),
    ) else {
        return Caller::Guest;
    };
    match accounts.identity(&id).await {
        Ok(Some(identity)) => Caller::User(identity),
        Ok(None) => Caller::Guest,
        Err(e) => {
            tracing::warn!(error = %e.report(), "cannot read a session for a request");
            Caller::Guest
        }
    }
}
