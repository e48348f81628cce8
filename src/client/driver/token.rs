//! Tokens for a page that an application embeds and signs in (`/embed/{room}`): when to
//! ask the embedding page for a fresh token, which answer to take, and whether the token
//! held may still be sent.
//!
//! The rules, against the complaints users of other services have:
//! - **refreshed before expiry, with jitter**: [`refresh_margin_ms`] before the token ends
//!   (at most a minute, at most a fifth of its life, scaled by a random 0.5–1), so the
//!   tabs of one application do not all ask in the same second;
//! - **one request in flight**: a timer that fires while one is out does nothing; an
//!   answer to an older request is ignored (an unsolicited token is taken: the embedding
//!   page may push one whenever its user changes or it refreshed on its own);
//! - **never a stale token on reconnect**: a socket that opens sends the held token only if
//!   it has more than [`STALE_MARGIN_MS`] left, else asks for a fresh one first and joins
//!   after it; after a 4001 or a `token_expired` the held token is thrown away;
//! - **no silent hang**: an embedding page that does not answer within [`TOKEN_WAIT_MS`]
//!   leaves the page reading as a guest (with a notice), asking again with a backoff.
//!
//! The token's life is read from its own `iat` and `exp` claims (unverified: only for
//! timing; the server is the judge), measured on this machine's clock from when it
//! arrived, so a client clock that is minutes off does not matter. A token without `iat`
//! falls back to `exp` against the local clock, then to the server's `expires_at`.

use super::effect::{backoff_ms, Effect};
use super::{Driver, Link};
use crate::protocol::{ClientFrame, ErrorCode, Token, UserName};
use base64::Engine;

/// How long the embedding page has to answer a token request.
pub const TOKEN_WAIT_MS: f64 = 5_000.0;
/// A held token with less than this left is not sent on a new socket.
pub const STALE_MARGIN_MS: f64 = 2_000.0;
/// The granularity of `iat` and `exp` (seconds), taken off a token's measured life.
pub const CLAIM_GRAIN_MS: f64 = 1_000.0;
/// The longest refresh margin before a token's end.
pub const MAX_REFRESH_MARGIN_MS: f64 = 60_000.0;

/// How long before a token's end to ask for the next one: a fifth of its life at most a
/// minute, scaled by a jitter between 0.5 and 1 (`random` in `[0, 1)`).
pub fn refresh_margin_ms(lifetime_ms: f64, random: f64) -> f64 {
    (lifetime_ms / 5.0).min(MAX_REFRESH_MARGIN_MS) * (0.5 + random.clamp(0.0, 1.0) * 0.5)
}

/// The token held and what is known of its end.
struct Held {
    token: Token,
    /// Whose it is, as far as its claims say.
    sub: Option<String>,
    /// Local time (ms) at which the server stops taking it, when known.
    ends_at: Option<f64>,
    /// Its whole life in ms, when known (for the margin).
    lifetime: Option<f64>,
}

/// The token state of an embedded page (see the module doc).
#[derive(Default)]
pub struct Tokens {
    held: Option<Held>,
    /// The request whose answer is awaited.
    in_flight: Option<u64>,
    /// The last request's number.
    requests: u64,
    /// Only the newest token timer counts: each new one replaces the ones before.
    timer: u64,
    /// Requests in a row that failed (no answer, or a token the server refused).
    failures: u32,
    /// The socket joined as a guest because no token came; a token now means a reconnect.
    joined_as_guest: bool,
    /// A socket is open and its join waits for a token.
    join_waits: bool,
    /// The server took a token on the current socket.
    authed: bool,
    /// The name the token's user is shown by, once the server said so (the guest name
    /// the page joins with otherwise is not replaced: a guest must not pass for the user).
    name: Option<UserName>,
}

/// `exp` and `iat` of a JWT's payload, in seconds, and its `sub`.
#[derive(serde::Deserialize)]
struct Times {
    exp: Option<f64>,
    iat: Option<f64>,
    sub: Option<String>,
}

fn times(token: &str) -> Option<Times> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl Tokens {
    fn take(&mut self, token: Token, now: f64) {
        let claims = times(token.expose());
        let sub = claims.as_ref().and_then(|c| c.sub.clone());
        let (ends_at, lifetime) = match claims {
            Some(Times {
                exp: Some(exp),
                iat: Some(iat),
                ..
            }) if exp > iat => {
                // Claims are in whole seconds, and `iat` is usually rounded down: the
                // token may have up to a second less than `exp - iat` left.
                let life = (exp - iat) * 1000.0;
                (Some(now + life - CLAIM_GRAIN_MS), Some(life))
            }
            Some(Times { exp: Some(exp), .. }) if exp * 1000.0 > now => {
                (Some(exp * 1000.0), Some(exp * 1000.0 - now))
            }
            _ => (None, None),
        };
        self.held = Some(Held {
            token,
            sub,
            ends_at,
            lifetime,
        });
    }

    /// The held token, if it may still be sent at `now`.
    fn usable(&self, now: f64) -> Option<Token> {
        let held = self.held.as_ref()?;
        match held.ends_at {
            Some(end) if end - now <= STALE_MARGIN_MS => None,
            _ => Some(held.token.clone()),
        }
    }

    fn next_timer(&mut self, ms: f64, out: &mut Vec<Effect>) {
        self.timer += 1;
        out.push(Effect::TokenTimerIn(self.timer, ms.max(0.0)));
    }

    /// Asks the embedding page for a token, unless a request is out already.
    fn request(&mut self, out: &mut Vec<Effect>) {
        if self.in_flight.is_some() {
            return;
        }
        self.requests += 1;
        self.in_flight = Some(self.requests);
        out.push(Effect::RequestToken(self.requests));
        self.next_timer(TOKEN_WAIT_MS, out);
    }

    /// The next request after a failure, with a backoff.
    fn retry_later(&mut self, random: f64, out: &mut Vec<Effect>) {
        let delay = backoff_ms(self.failures, random);
        self.failures += 1;
        self.next_timer(delay, out);
    }
}

impl Driver {
    /// Makes this an embedded page's driver: it authenticates every socket with a token
    /// from the embedding page before joining. `now` is the local clock in ms.
    pub fn with_tokens(mut self, now: Box<dyn FnMut() -> f64>) -> Self {
        self.tokens = Some(Tokens::default());
        self.now = now;
        self
    }

    /// The embedding page sent a token: in answer to request `request`, or unasked
    /// (`None`). An answer to an older request than the one out is ignored.
    pub fn on_token(&mut self, request: Option<u64>, token: &str) -> Vec<Effect> {
        let mut out = vec![];
        let now = (self.now)();
        let Some(t) = self.tokens.as_mut() else {
            return out;
        };
        let Ok(token) = Token::parse(token) else {
            return out;
        };
        // An answer to an older request while a newer one is out is stale; one that
        // comes late, with nothing out, is the newest there is.
        if request.is_some() && t.in_flight.is_some() && request != t.in_flight {
            return out;
        }
        t.in_flight = None;
        // The request's deadline is moot: the next timer is the refresh `authed` sets.
        t.timer += 1;
        let before = t.held.as_ref().and_then(|h| h.sub.clone());
        t.take(token.clone(), now);
        let after = t.held.as_ref().and_then(|h| h.sub.clone());
        if self.link != Link::Open {
            return out; // Sent when the next socket opens.
        }
        // Joined as a guest, or signed in as another user (the application's user
        // changed; the server would refuse a refresh for another `sub`): start over as
        // the token's user.
        if t.joined_as_guest || (t.authed && before != after) {
            t.joined_as_guest = false;
            t.authed = false;
            t.name = None;
            out.push(Effect::SignedIn(None));
            self.link = Link::Closing;
            out.push(Effect::CloseSocket);
            return out;
        }
        let join = std::mem::take(&mut t.join_waits);
        self.send(ClientFrame::Auth { token }, &mut out);
        if join {
            let frame = self.join_frame();
            self.send(frame, &mut out);
        }
        out
    }

    /// A socket opened: with tokens, send a fresh-enough one before the join, or ask for
    /// one and join when it comes. Returns whether the join may be sent now.
    pub(super) fn authenticate(&mut self, out: &mut Vec<Effect>) -> bool {
        let now = (self.now)();
        let Some(t) = self.tokens.as_mut() else {
            return true;
        };
        t.joined_as_guest = false;
        t.authed = false;
        match t.usable(now) {
            Some(token) => {
                t.join_waits = false;
                self.send(ClientFrame::Auth { token }, out);
                true
            }
            None => {
                t.held = None;
                t.join_waits = true;
                t.request(out);
                false
            }
        }
    }

    /// The token timer `n` went off: a request went unanswered, or it is time to refresh.
    pub(super) fn on_token_timer(&mut self, n: u64, out: &mut Vec<Effect>) {
        let random = (self.random)();
        let Some(t) = self.tokens.as_mut() else {
            return;
        };
        if n != t.timer {
            return;
        }
        if t.in_flight.take().is_none() {
            return t.request(out);
        }
        // No answer: read as a guest meanwhile, and ask again later.
        t.retry_later(random, out);
        if t.join_waits && self.link == Link::Open {
            t.join_waits = false;
            t.joined_as_guest = true;
            t.name = None;
            out.push(Effect::SignedIn(None));
            let frame = self.join_frame();
            self.send(frame, out);
        }
    }

    /// `authed`: show the name, and set the refresh for before the token's end.
    pub(super) fn on_authed(&mut self, name: UserName, expires_at: u64, out: &mut Vec<Effect>) {
        let now = (self.now)();
        let random = (self.random)();
        let Some(t) = self.tokens.as_mut() else {
            return;
        };
        t.name = Some(name.clone());
        out.push(Effect::SignedIn(Some(name)));
        t.failures = 0;
        t.authed = true;
        let Some(held) = t.held.as_mut() else { return };
        if held.ends_at.is_none() && expires_at as f64 > now {
            // A token without usable times: the server's word, on the local clock.
            held.ends_at = Some(expires_at as f64);
            held.lifetime = Some(expires_at as f64 - now);
        }
        if let (Some(end), Some(life)) = (held.ends_at, held.lifetime) {
            let delay = end - now - refresh_margin_ms(life, random);
            t.next_timer(delay, out);
        }
    }

    /// The server refused a token (`token_expired`, or `unauthorized` for no frame of
    /// the user's): drop it and ask for another after a backoff. Returns whether the
    /// error was handled here.
    pub(super) fn token_refused(&mut self, code: ErrorCode, out: &mut Vec<Effect>) -> bool {
        let random = (self.random)();
        let Some(t) = self.tokens.as_mut() else {
            return false;
        };
        if !matches!(code, ErrorCode::TokenExpired | ErrorCode::Unauthorized) {
            return false;
        }
        t.held = None;
        // The join that followed the refused `auth` went in as a guest.
        t.joined_as_guest = self.link == Link::Open && !t.authed;
        if t.joined_as_guest {
            t.name = None;
            out.push(Effect::SignedIn(None));
        }
        if t.in_flight.is_none() {
            t.retry_later(random, out);
        }
        true
    }

    /// The name this page's messages go out under: the token's user's once signed in,
    /// else the guest name it joined with.
    pub(super) fn speaking_as(&self) -> UserName {
        self.tokens
            .as_ref()
            .and_then(|t| t.name.clone())
            .or_else(|| self.name.clone())
            // Only a page with a name has a composer; a reader sends nothing.
            .unwrap_or_else(|| UserName::parse("me").unwrap_or_else(|_| unreachable!()))
    }

    /// The notice a `joined` leaves up: on an embedded page reading as a guest for want
    /// of a token, it says so (else none).
    pub(super) fn joined_notice(&self) -> Option<String> {
        self.tokens.as_ref().filter(|t| t.joined_as_guest).map(|_| {
            "The page this room is embedded in has not signed you in: reading as a guest.".into()
        })
    }

    /// The socket closed: whatever waited on it is moot.
    pub(super) fn token_socket_closed(&mut self) {
        if let Some(t) = self.tokens.as_mut() {
            t.join_waits = false;
            t.authed = false;
        }
    }

    /// A 4001 on an embedded page: the token ended; reconnect, asking for a fresh one.
    pub(super) fn token_ended(&mut self) -> bool {
        match self.tokens.as_mut() {
            Some(t) => {
                t.held = None;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
