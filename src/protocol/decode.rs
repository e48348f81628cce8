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

/// Property tests: the decoder against generated input. `cargo fuzz` needs a nightly
/// compiler (sanitizer flags), which these machines cannot install; proptest runs on
/// stable. The default run is short (256 cases per property); `PROPTEST_CASES=200000
/// cargo test --features ssr --lib protocol::decode::properties` runs it for longer.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::protocol::error::ErrorCode;
    use proptest::prelude::*;

    /// JSON values of any shape, a few levels deep.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,80}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Frames that look almost right: a known type and the usual fields, with values
    /// drawn from valid, edge and wrong ones.
    fn near_frames() -> impl Strategy<Value = String> {
        let kind = prop_oneof![
            Just("join"),
            Just("leave"),
            Just("publish"),
            Just("history"),
            Just("ping"),
            Just("nope")
        ];
        let text = prop_oneof![
            "[A-Za-z0-9_-]{1,64}".prop_map(Value::String),
            "[A-Za-z0-9_-]{65,70}".prop_map(Value::String),
            ".{0,40}".prop_map(Value::String),
            "\\PC{3990,4010}".prop_map(Value::String),
            Just(Value::String(" \t\n".into())),
            json(),
        ];
        let num = prop_oneof![
            (0u64..200).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(Value::from(1.5)),
            Just(Value::String("3".into())),
            Just(Value::Null),
        ];
        (
            kind,
            text.clone(),
            text.clone(),
            text.clone(),
            text,
            num.clone(),
            num,
        )
            .prop_map(|(kind, room, name, body, cid, since, limit)| {
                let mut o = Map::new();
                o.insert("type".into(), Value::from(kind));
                for (k, v) in [
                    ("room", room),
                    ("name", name),
                    ("body", body),
                    ("client_id", cid),
                ] {
                    o.insert(k.into(), v);
                }
                o.insert("since".into(), since.clone());
                o.insert("before".into(), since);
                o.insert("limit".into(), limit);
                Value::Object(o).to_string()
            })
    }

    fn check(text: &str) {
        match decode_client_frame(text) {
            // What decodes encodes back to a frame that decodes to the same thing.
            Ok(frame) => {
                let again = decode_client_frame(&frame.to_json()).expect("re-decodes");
                assert_eq!(again, frame);
            }
            // Every refusal is one of the contract's codes, and a `ref` is a valid name.
            Err(e) => {
                let code = e.error.code();
                assert_ne!(code, ErrorCode::NotJoined);
                if let Some(r) = &e.reference {
                    assert!(
                        RoomName::parse(r).is_ok() || ClientId::parse(r).is_ok(),
                        "{r}"
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_text_is_decoded_or_refused(text in ".{0,300}") {
            check(&text);
        }

        #[test]
        fn any_json_is_decoded_or_refused(v in json()) {
            check(&v.to_string());
        }

        #[test]
        fn near_frames_are_decoded_or_refused(text in near_frames()) {
            check(&text);
        }
    }
}
