//! Error codes of the protocol and the decoder's error type.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The `code` of an `error` frame. The set is fixed by the contract; clients match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not an object, no `type`, a binary frame, or a bad `before`/`limit`.
    BadFrame,
    /// A `type` this server does not know.
    UnknownType,
    /// `room` missing or not a valid room name.
    InvalidRoom,
    /// `name` missing or not a valid user name.
    InvalidName,
    /// `body` missing, blank, or too long.
    InvalidBody,
    /// `client_id` missing or malformed.
    InvalidClientId,
    /// `since` not a non-negative integer, or `epoch` not a string.
    InvalidSince,
    /// The frame needs a room this connection has not joined.
    NotJoined,
    /// The connection is in as many rooms as it may be.
    TooManyRooms,
    /// Publishing faster than the per-connection limit.
    RateLimited,
    /// The store cannot take the write now; retry with the same `client_id`.
    Unavailable,
    /// v1.1: no identity where one is needed, or a token that does not verify.
    Unauthorized,
    /// v1.1: the token's `exp` has passed.
    TokenExpired,
    /// v1.1: the identity may not do this (a private room it is not a member of).
    Forbidden,
    /// v1.1: nothing by that name or code (HTTP).
    NotFound,
    /// v1.1: an account with that name exists (names are unique case-insensitively).
    NameTaken,
    /// v1.1: a password outside 10–256 characters.
    WeakPassword,
    /// v1.1: the room has settings or messages already.
    RoomExists,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadFrame => "bad_frame",
            Self::UnknownType => "unknown_type",
            Self::InvalidRoom => "invalid_room",
            Self::InvalidName => "invalid_name",
            Self::InvalidBody => "invalid_body",
            Self::InvalidClientId => "invalid_client_id",
            Self::InvalidSince => "invalid_since",
            Self::NotJoined => "not_joined",
            Self::TooManyRooms => "too_many_rooms",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Unauthorized => "unauthorized",
            Self::TokenExpired => "token_expired",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::NameTaken => "name_taken",
            Self::WeakPassword => "weak_password",
            Self::RoomExists => "room_exists",
        }
    }
}

/// Why a client frame could not be decoded. Each variant maps to exactly one
/// [`ErrorCode`] through [`ProtocolError::code`]; the `Display` text is the human message
/// sent with it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// The frame is not a JSON object with a string `type`, or is binary.
    #[error("bad frame: {0}")]
    BadFrame(&'static str),
    /// The `type` is not one this protocol version defines.
    #[error("unknown frame type {0:?}")]
    UnknownType(String),
    /// See [`crate::protocol::RoomName`].
    #[error("room must be 1-64 characters from A-Z a-z 0-9 _ -")]
    InvalidRoom,
    /// See [`crate::protocol::UserName`].
    #[error("name must be 1-32 characters after trimming, without control characters")]
    InvalidName,
    /// See [`crate::protocol::Body`].
    #[error("body must be 1-4000 characters and not only whitespace")]
    InvalidBody,
    /// See [`crate::protocol::ClientId`].
    #[error("client_id must be 1-64 characters from A-Z a-z 0-9 _ -")]
    InvalidClientId,
    /// `since` or `epoch` has the wrong type.
    #[error("since must be a non-negative integer and epoch a string")]
    InvalidSince,
    /// An `auth` frame without a token string (or one over 8 KiB): `unauthorized`.
    #[error("auth needs a token: a JWT of at most 8 KiB")]
    NoToken,
}

impl ProtocolError {
    /// The protocol code for this error: the one mapping from decode errors to codes.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadFrame(_) => ErrorCode::BadFrame,
            Self::UnknownType(_) => ErrorCode::UnknownType,
            Self::InvalidRoom => ErrorCode::InvalidRoom,
            Self::InvalidName => ErrorCode::InvalidName,
            Self::InvalidBody => ErrorCode::InvalidBody,
            Self::InvalidClientId => ErrorCode::InvalidClientId,
            Self::InvalidSince => ErrorCode::InvalidSince,
            Self::NoToken => ErrorCode::Unauthorized,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for code in [
            ErrorCode::BadFrame,
            ErrorCode::UnknownType,
            ErrorCode::InvalidRoom,
            ErrorCode::InvalidName,
            ErrorCode::InvalidBody,
            ErrorCode::InvalidClientId,
            ErrorCode::InvalidSince,
            ErrorCode::NotJoined,
            ErrorCode::TooManyRooms,
            ErrorCode::RateLimited,
            ErrorCode::Unavailable,
            ErrorCode::Unauthorized,
            ErrorCode::TokenExpired,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::NameTaken,
            ErrorCode::WeakPassword,
            ErrorCode::RoomExists,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
