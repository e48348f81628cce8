//! Decoding client frames: text → [`ClientFrame`], or the one error the contract names.
//!
//! Fields are checked in the order `docs/protocol.md` lists them, so a frame with several
//! bad fields always reports the first. Unknown extra fields are ignored (a newer client
//! may send more), and an optional field given as `null` counts as absent.

use crate::protocol::error::ProtocolError;
use crate::protocol::frames::{reference, ClientFrame, HistoryLimit, JoinName};
use crate::protocol::names::{Body, ClientId, Epoch, RoomName, Token, UserId, UserName};
use crate::protocol::presence::{MembersLimit, MEMBERS_AFTER_MAX_CHARS};
use crate::protocol::reaction::Emoji;
use serde_json::{Map, Value};

/// A frame that failed to decode: the error, and what it is about (`ref` on the wire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The first failing check.
    pub error: ProtocolError,
    /// The frame's `client_id` (for `publish`) or `room`, when that field itself is valid,
    /// so a client can tell which of its requests was refused.
    pub reference: Option<String>,
    /// What a guest is told instead: a `join` with a bad `name` and a bad `since` is
    /// `invalid_name` for a guest (fields in order) but `invalid_since` for an
    /// authenticated connection, whose `name` is ignored.
    pub for_guest: Option<ProtocolError>,
}

impl DecodeError {
    /// The error for a connection that is (or is not) authenticated.
    pub fn error_for(&self, guest: bool) -> &ProtocolError {
        match (&self.for_guest, guest) {
            (Some(e), true) => e,
            _ => &self.error,
        }
    }
}

impl From<ProtocolError> for DecodeError {
    fn from(error: ProtocolError) -> Self {
        Self {
            error,
            reference: None,
            for_guest: None,
        }
    }
}

type Object = Map<String, Value>;

/// Decodes one text frame. Never panics, whatever the input.
pub fn decode_client_frame(text: &str) -> Result<ClientFrame, DecodeError> {
    let value: Value =
        serde_json::from_str(text).map_err(|_| ProtocolError::BadFrame("not valid JSON"))?;
    let Value::Object(obj) = value else {
        return Err(ProtocolError::BadFrame("not a JSON object").into());
    };
    let Some(kind) = obj.get("type").and_then(Value::as_str) else {
        return Err(ProtocolError::BadFrame("no string field \"type\"").into());
    };
    decode_object(kind, &obj).map_err(|error| DecodeError {
        reference: match error {
            // A type this server does not know has no fields it could vouch for.
            ProtocolError::UnknownType(_) => None,
            _ => reference_of(kind, &obj),
        },
        for_guest: (kind == "join" && !matches!(error, ProtocolError::InvalidRoom))
            .then(|| present(&obj, "name").and_then(|_| join_name(&obj).err()))
            .flatten(),
        error,
    })
}

/// A join's `name`: checked after `room`; only a guest needs a valid one.
fn join_name(obj: &Object) -> Result<UserName, ProtocolError> {
    UserName::parse(str_field(obj, "name").ok_or(ProtocolError::InvalidName)?)
}

fn decode_object(kind: &str, obj: &Object) -> Result<ClientFrame, ProtocolError> {
    Ok(match kind {
        "join" => ClientFrame::Join {
            room: room(obj)?,
            name: match present(obj, "name") {
                None => JoinName::Absent,
                Some(_) => join_name(obj).map_or(JoinName::Invalid, JoinName::Given),
            },
            since: since(obj)?,
            epoch: epoch(obj)?,
        },
        "leave" => ClientFrame::Leave { room: room(obj)? },
        "publish" => {
            ClientFrame::Publish {
                room: room(obj)?,
                body: Body::parse(str_field(obj, "body").ok_or(ProtocolError::InvalidBody)?)?,
                client_id: ClientId::parse(
                    str_field(obj, "client_id").ok_or(ProtocolError::InvalidClientId)?,
                )?,
                reply_to: match present(obj, "reply_to") {
                    None => None,
                    Some(v) => Some(v.as_u64().filter(|&s| s > 0).ok_or(
                        ProtocolError::BadFrame("reply_to must be a positive integer"),
                    )?),
                },
            }
        }
        "history" => ClientFrame::History {
            room: room(obj)?,
            before: match present(obj, "before") {
                None => None,
                Some(v) => Some(v.as_u64().ok_or(ProtocolError::BadFrame(
                    "before must be a non-negative integer",
                ))?),
            },
            limit: match present(obj, "limit") {
                None => HistoryLimit::default(),
                Some(v) => {
                    v.as_u64()
                        .and_then(HistoryLimit::new)
                        .ok_or(ProtocolError::BadFrame(
                            "limit must be an integer from 1 to 100",
                        ))?
                }
            },
        },
        "ping" => ClientFrame::Ping,
        "auth" => ClientFrame::Auth {
            token: Token::parse(str_field(obj, "token").ok_or(ProtocolError::NoToken)?)?,
        },
        "delete" => ClientFrame::Delete {
            room: room(obj)?,
            seq: seq(obj)?,
        },
        "edit" => ClientFrame::Edit {
            room: room(obj)?,
            seq: seq(obj)?,
            body: Body::parse(str_field(obj, "body").ok_or(ProtocolError::InvalidBody)?)?,
        },
        "ban" => ClientFrame::Ban {
            room: room(obj)?,
            user: user(obj)?,
            duration_s: duration(obj)?,
        },
        "mute" => ClientFrame::Mute {
            room: room(obj)?,
            user: user(obj)?,
            duration_s: duration(obj)?,
        },
        "react" => ClientFrame::React {
            room: room(obj)?,
            seq: seq(obj)?,
            emoji: Emoji::parse(
                str_field(obj, "emoji").ok_or(ProtocolError::BadFrame("emoji must be a string"))?,
            )?,
            on: present(obj, "on")
                .and_then(Value::as_bool)
                .ok_or(ProtocolError::BadFrame("on must be true or false"))?,
        },
        "reactors" => ClientFrame::Reactors {
            room: room(obj)?,
            seq: seq(obj)?,
        },
        "members" => ClientFrame::Members {
            room: room(obj)?,
            after: match present(obj, "after") {
                None => None,
                Some(v) => Some(
                    v.as_str()
                        .filter(|a| a.chars().count() <= MEMBERS_AFTER_MAX_CHARS)
                        .ok_or(ProtocolError::BadFrame(
                            "after must be a name (a string of at most 128 characters)",
                        ))?
                        .to_string(),
                ),
            },
            limit: match present(obj, "limit") {
                None => MembersLimit::default(),
                Some(v) => {
                    v.as_u64()
                        .and_then(MembersLimit::new)
                        .ok_or(ProtocolError::BadFrame(
                            "limit must be an integer from 1 to 1000",
                        ))?
                }
            },
        },
        other => return Err(ProtocolError::UnknownType(truncate(other, 64))),
    })
}

/// A field that is there and not `null`.
fn present<'a>(obj: &'a Object, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn str_field<'a>(obj: &'a Object, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

fn room(obj: &Object) -> Result<RoomName, ProtocolError> {
    RoomName::parse(str_field(obj, "room").ok_or(ProtocolError::InvalidRoom)?)
}

/// The longest ban or mute with a duration: ten years (longer is "for good": omit it).
pub const MAX_SANCTION_SECS: u64 = 10 * 365 * 24 * 3600;

/// A message's seq: a positive integer.
fn seq(obj: &Object) -> Result<u64, ProtocolError> {
    present(obj, "seq")
        .and_then(Value::as_u64)
        .filter(|&s| s > 0)
        .ok_or(ProtocolError::BadFrame("seq must be a positive integer"))
}

/// A moderated user's id (`invalid_name` when missing or malformed).
fn user(obj: &Object) -> Result<UserId, ProtocolError> {
    UserId::parse(str_field(obj, "user").ok_or(ProtocolError::InvalidName)?)
}

/// A ban's or mute's optional `duration_s`: 0 (lift it) to [`MAX_SANCTION_SECS`].
fn duration(obj: &Object) -> Result<Option<u64>, ProtocolError> {
    present(obj, "duration_s")
        .map(|v| {
            v.as_u64()
                .filter(|&d| d <= MAX_SANCTION_SECS)
                .ok_or(ProtocolError::BadFrame(
                    "duration_s must be an integer from 0 to 315360000",
                ))
        })
        .transpose()
}

fn since(obj: &Object) -> Result<Option<u64>, ProtocolError> {
    present(obj, "since")
        .map(|v| v.as_u64().ok_or(ProtocolError::InvalidSince))
        .transpose()
}

fn epoch(obj: &Object) -> Result<Option<Epoch>, ProtocolError> {
    present(obj, "epoch")
        .map(|v| {
            v.as_str()
                .map(Epoch::new)
                .ok_or(ProtocolError::InvalidSince)
        })
        .transpose()
}

/// The `ref` of a frame that failed to decode: [`reference`]'s rule over the fields
/// that are valid by themselves.
fn reference_of(kind: &str, obj: &Object) -> Option<String> {
    let valid = |key: &str, ok: fn(&str) -> bool| str_field(obj, key).filter(|s| ok(s));
    reference(
        kind == "publish",
        valid("client_id", |s| ClientId::parse(s).is_ok()),
        valid("room", |s| RoomName::parse(s).is_ok()),
    )
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
