//! Property tests: the decoder against generated input. `cargo fuzz` needs a nightly
//! compiler (sanitizer flags), which these machines cannot install; proptest runs on
//! stable. The default run is short (256 cases per property); `PROPTEST_CASES=200000
//! cargo test --features ssr --lib protocol::decode::properties` runs it for longer.

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
