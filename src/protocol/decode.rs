//! Decoding client frames: text → [`ClientFrame`], or the one error the contract names.
//!
//! Fields are checked in the order `docs/protocol.md` lists them, so a frame with several
//! bad fields always reports the first. Unknown extra fields are ignored (a newer client
//! may send more), and an optional field given as `null` counts as absent.

use crate::protocol::error::ProtocolError;
use crate::protocol::frames::{ClientFrame, HistoryLimit};
use crate::protocol::names::{Body, ClientId, Epoch, RoomName, UserName};
use serde_json::{Map, Value};

/// A frame that failed to decode: the error, and what it is about (`ref` on the wire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The first failing check.
    pub error: ProtocolError,
    /// The frame's `client_id` (for `publish`) or `room`, when that field itself is valid,
    /// so a client can tell which of its requests was refused.
    pub reference: Option<String>,
}

impl From<ProtocolError> for DecodeError {
    fn from(error: ProtocolError) -> Self {
        Self {
            error,
            reference: None,
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
        error,
    })
}

fn decode_object(kind: &str, obj: &Object) -> Result<ClientFrame, ProtocolError> {
    Ok(match kind {
        "join" => ClientFrame::Join {
            room: room(obj)?,
            name: UserName::parse(str_field(obj, "name").ok_or(ProtocolError::InvalidName)?)?,
            since: since(obj)?,
            epoch: epoch(obj)?,
        },
        "leave" => ClientFrame::Leave { room: room(obj)? },
        "publish" => ClientFrame::Publish {
            room: room(obj)?,
            body: Body::parse(str_field(obj, "body").ok_or(ProtocolError::InvalidBody)?)?,
            client_id: ClientId::parse(
                str_field(obj, "client_id").ok_or(ProtocolError::InvalidClientId)?,
            )?,
        },
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

fn reference_of(kind: &str, obj: &Object) -> Option<String> {
    let valid =
        |key: &str, ok: fn(&str) -> bool| str_field(obj, key).filter(|s| ok(s)).map(str::to_owned);
    let client_id = || valid("client_id", |s| ClientId::parse(s).is_ok());
    let room = || valid("room", |s| RoomName::parse(s).is_ok());
    if kind == "publish" {
        client_id().or_else(room)
    } else {
        room()
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::ErrorCode;

    fn code(text: &str) -> ErrorCode {
        decode_client_frame(text).unwrap_err().error.code()
    }

    #[test]
    fn decodes_every_type() {
        let f = decode_client_frame(
            r#"{"type":"join","room":"r1","name":" ann ","since":3,"epoch":"e"}"#,
        )
        .unwrap();
        assert_eq!(
            f,
            ClientFrame::Join {
                room: RoomName::parse("r1").unwrap(),
                name: UserName::parse("ann").unwrap(),
                since: Some(3),
                epoch: Some(Epoch::new("e")),
            }
        );
        assert!(matches!(
            decode_client_frame(r#"{"type":"join","room":"r1","name":"a","since":null}"#),
            Ok(ClientFrame::Join {
                since: None,
                epoch: None,
                ..
            })
        ));
        assert!(matches!(
            decode_client_frame(r#"{"type":"leave","room":"r"}"#),
            Ok(ClientFrame::Leave { .. })
        ));
        assert!(matches!(
            decode_client_frame(r#"{"type":"publish","room":"r","body":"hi","client_id":"c"}"#),
            Ok(ClientFrame::Publish { .. })
        ));
        assert_eq!(
            decode_client_frame(r#"{"type":"history","room":"r"}"#).unwrap(),
            ClientFrame::History {
                room: RoomName::parse("r").unwrap(),
                before: None,
                limit: HistoryLimit::default()
            }
        );
        assert_eq!(
            decode_client_frame(r#"{"type":"ping","extra":1}"#).unwrap(),
            ClientFrame::Ping
        );
    }

    #[test]
    fn bad_frames() {
        assert_eq!(code("nope"), ErrorCode::BadFrame);
        assert_eq!(code("[1,2]"), ErrorCode::BadFrame);
        assert_eq!(code("{}"), ErrorCode::BadFrame);
        assert_eq!(code(r#"{"type":5}"#), ErrorCode::BadFrame);
        assert_eq!(code(r#"{"type":"dance"}"#), ErrorCode::UnknownType);
        assert_eq!(
            code(r#"{"type":"history","room":"r","limit":0}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code(r#"{"type":"history","room":"r","limit":101}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code(r#"{"type":"history","room":"r","limit":2.5}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code(r#"{"type":"history","room":"r","before":"x"}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code(r#"{"type":"history","room":"r","before":-1}"#),
            ErrorCode::BadFrame
        );
    }

    #[test]
    fn first_failing_field_wins_in_contract_order() {
        assert_eq!(
            code(r#"{"type":"join","room":"bad room","name":""}"#),
            ErrorCode::InvalidRoom
        );
        assert_eq!(
            code(r#"{"type":"join","room":"r","name":"","since":-1}"#),
            ErrorCode::InvalidName
        );
        assert_eq!(
            code(r#"{"type":"join","room":"r","name":"a","since":-1,"epoch":1}"#),
            ErrorCode::InvalidSince
        );
        assert_eq!(
            code(r#"{"type":"join","room":"r","name":"a","since":1.5}"#),
            ErrorCode::InvalidSince
        );
        assert_eq!(
            code(r#"{"type":"join","room":"r","name":"a","epoch":7}"#),
            ErrorCode::InvalidSince
        );
        assert_eq!(
            code(r#"{"type":"publish","body":"","client_id":"!"}"#),
            ErrorCode::InvalidRoom
        );
        assert_eq!(
            code(r#"{"type":"publish","room":"r","body":" ","client_id":"!"}"#),
            ErrorCode::InvalidBody
        );
        assert_eq!(
            code(r#"{"type":"publish","room":"r","body":"x","client_id":"!"}"#),
            ErrorCode::InvalidClientId
        );
        assert_eq!(
            code(r#"{"type":"publish","room":"r","body":"x"}"#),
            ErrorCode::InvalidClientId
        );
        assert_eq!(
            code(r#"{"type":"history","room":"r","before":"x","limit":0}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code(r#"{"type":"history","before":"x"}"#),
            ErrorCode::InvalidRoom
        );
    }

    #[test]
    fn reference_names_the_request() {
        let e = decode_client_frame(r#"{"type":"publish","room":"r","body":"","client_id":"c9"}"#)
            .unwrap_err();
        assert_eq!(e.reference.as_deref(), Some("c9"));
        let e = decode_client_frame(r#"{"type":"publish","room":"r","body":"","client_id":"c 9"}"#)
            .unwrap_err();
        assert_eq!(e.reference.as_deref(), Some("r"));
        let e = decode_client_frame(r#"{"type":"join","room":"r","name":""}"#).unwrap_err();
        assert_eq!(e.reference.as_deref(), Some("r"));
        let e = decode_client_frame(r#"{"type":"join","room":"r r","name":""}"#).unwrap_err();
        assert_eq!(e.reference, None);
        let e = decode_client_frame(r#"{"type":"dance","room":"r","client_id":"c"}"#).unwrap_err();
        assert_eq!(e.reference, None, "unknown_type carries no ref");
    }

    #[test]
    fn client_frames_encode_to_what_the_decoder_reads() {
        let frames = [
            ClientFrame::Join {
                room: RoomName::parse("r").unwrap(),
                name: UserName::parse("ann").unwrap(),
                since: Some(4),
                epoch: Some(Epoch::new("e")),
            },
            ClientFrame::Publish {
                room: RoomName::parse("r").unwrap(),
                body: Body::parse("x").unwrap(),
                client_id: ClientId::parse("c").unwrap(),
            },
            ClientFrame::History {
                room: RoomName::parse("r").unwrap(),
                before: Some(9),
                limit: HistoryLimit::default(),
            },
            ClientFrame::Leave {
                room: RoomName::parse("r").unwrap(),
            },
            ClientFrame::Ping,
        ];
        for f in frames {
            assert_eq!(decode_client_frame(&f.to_json()).unwrap(), f);
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for s in [
            "",
            "\u{0}",
            "{\"type\":\"join\",\"room\":\"\u{10FFFF}\"}",
            "1e999",
            "{\"type\":\"publish\",\"room\":{}}",
            "null",
        ] {
            let _ = decode_client_frame(s);
        }
    }
}
