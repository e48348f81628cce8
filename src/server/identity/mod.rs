//! Who a connection is (v1.1 "Identity", `docs/identity.md`).
//!
//! A connection is a guest until it proves otherwise, with a token in an `auth` frame
//! ([`jwt`]); then it speaks under its identity's name, its messages carry its `user`, and
//! its identity ends at the token's `exp` (plus leeway) unless a fresh token for the same
//! `sub` comes first: the session then closes with 4001 and the client resumes after
//! authenticating again. [`rights`]: what a token's `rooms` claim grants;
//! [`revocations`]: closing the sockets of a session that signed out.

pub mod caller;
pub mod jwt;
pub mod revocations;
pub mod rights;

use crate::protocol::{UserId, UserName};
use rights::RoomRights;

/// A verified identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user (a token's `sub`).
    pub user: UserId,
    /// The name shown for it.
    pub name: UserName,
    /// When it ends, in ms since the Unix epoch (a token's `exp`).
    pub expires_at: u64,
    /// Rights the token grants in rooms.
    pub rooms: RoomRights,
    /// The site session it came from (a cookie), which a sign-out ends.
    pub session: Option<SessionHash>,
}

/// The SHA-256 of a session id: what the store keeps, and what revocation is keyed by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionHash(pub [u8; 32]);

impl std::fmt::Debug for SessionHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A prefix is enough to tell sessions apart in a debugger; never the whole hash.
        write!(f, "SessionHash({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

impl SessionHash {
    /// The hash of a cookie's session id.
    pub fn of(session_id: &str) -> Self {
        use sha2::Digest;
        Self(sha2::Sha256::digest(session_id.as_bytes()).into())
    }
}

/// Why an identity was not given. The text is for people (it names the check that
/// failed, never the token).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The token does not verify, or no key is configured (`unauthorized`).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The token's `exp` has passed (`token_expired`).
    #[error("the token has expired; get a fresh one")]
    Expired,
}
