//! Why the server refuses a client frame or an API request, and the one place that turns
//! a refusal into a protocol `error` frame (and, on the HTTP API, a status code).

use crate::protocol::{ErrorCode, ProtocolError, ServerFrame};
use crate::server::store::StoreError;
use thiserror::Error;

/// Every way a frame can be refused, from decoding to storing.
#[derive(Debug, Error)]
pub enum Refusal {
    /// The frame failed validation.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The frame names a room this connection is not in.
    #[error("join the room first")]
    NotJoined,
    /// Joining one more room would pass the per-connection limit.
    #[error("a connection may be in at most {0} rooms")]
    TooManyRooms(usize),
    /// Publishing faster than the per-connection limit.
    #[error("publishing too fast; retry in {retry_after_ms} ms")]
    RateLimited {
        /// When a token is back.
        retry_after_ms: u64,
    },
    /// The store failed; nothing was stored.
    #[error("the store cannot take this now; retry with the same client_id")]
    Unavailable(#[source] StoreError),
    /// A token did not verify, or it expired (v1.1).
    #[error(transparent)]
    Auth(#[from] crate::server::identity::AuthError),
    /// This needs an identity: the server admits no guests here (v1.1).
    #[error("sign in or authenticate first: this server admits no guests")]
    GuestsOff,
    /// A refresh with a token for another user: the connection keeps its identity.
    #[error("a refresh must be for the same user (sub) as the connection's")]
    OtherUser,
    /// A private room this identity is not a member of, or one it is banned from (v1.1).
    #[error("this room is private, or you are banned from it")]
    Forbidden,
    /// A guest that joined without a name (to read) publishes (v1.1 extension).
    #[error("this connection joined to read only: join again with a name to publish")]
    Reader,
    /// The connection's user is muted in the room (v1.1).
    #[error("you are muted in this room")]
    Muted,
    /// The identity may not do this to this message or user (v1.1 moderation); the text
    /// says what it lacks.
    #[error("{0}")]
    NotAllowed(&'static str),
    /// No such message (or not any more: retention dropped it).
    #[error("no message {0} in this room")]
    NotFound(u64),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchReply { seq } => Self::NotFound(seq),
            e => Self::Unavailable(e),
        }
    }
}

impl Refusal {
    /// The protocol code of this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Protocol(e) => e.code(),
            Self::Reader => ErrorCode::InvalidName,
            Self::NotJoined => ErrorCode::NotJoined,
            Self::TooManyRooms(_) => ErrorCode::TooManyRooms,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Auth(crate::server::identity::AuthError::Expired) => ErrorCode::TokenExpired,
            Self::Auth(_) | Self::GuestsOff | Self::OtherUser => ErrorCode::Unauthorized,
            Self::Forbidden | Self::Muted | Self::NotAllowed(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
        }
    }

    /// The HTTP status for this refusal on the HTTP API (the body is the `error` frame).
    pub fn http_status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Self::Protocol(_) | Self::Reader => StatusCode::BAD_REQUEST,
            Self::NotJoined => StatusCode::FORBIDDEN,
            Self::TooManyRooms(_) | Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Auth(_) | Self::GuestsOff | Self::OtherUser => StatusCode::UNAUTHORIZED,
            // Over HTTP a private room is not there for a stranger (the handlers answer
            // 404 themselves); the socket's `forbidden` is its own.
            Self::Forbidden => StatusCode::NOT_FOUND,
            Self::Muted | Self::NotAllowed(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
        }
    }

    /// The `error` frame for this refusal, about `reference` (a client_id or room).
    /// Counted in `chorus_refusals_total` here, the one place every refusal passes, and
    /// a store failure's whole cause is logged here, once (the client hears only that it
    /// may retry).
    pub fn to_frame(&self, reference: Option<String>) -> ServerFrame {
        crate::server::metrics::refused(self.code().as_str());
        let message = match self {
            // Not a failure: the cap doing its job, and the client is told why.
            Self::Unavailable(e @ StoreError::RoomsFull { .. }) => {
                tracing::debug!(reference = ?reference, "refused: {e}");
                e.to_string()
            }
            Self::Unavailable(e) => {
                tracing::warn!(error = %e.report(), reference = ?reference, "refused: store unavailable");
                self.to_string()
            }
            _ => self.to_string(),
        };
        ServerFrame::Error {
            code: self.code(),
            message,
            reference,
            retry_after_ms: match self {
                Self::RateLimited { retry_after_ms } => Some(*retry_after_ms),
                _ => None,
            },
        }
    }
}
