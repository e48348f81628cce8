//! Decoding: the contract's validation order, references, and no panic on any input.

use super::*;
use crate::protocol::error::ErrorCode;

fn code(text: &str) -> ErrorCode {
    decode_client_frame(text).unwrap_err().error.code()
}

#[test]
fn decodes_every_type() {
    let f =
        decode_client_frame(r#"{"type":"join","room":"r1","name":" ann ","since":3,"epoch":"e"}"#)
            .unwrap();
    assert_eq!(
        f,
        ClientFrame::Join {
            room: RoomName::parse("r1").unwrap(),
            name: JoinName::Given(UserName::parse("ann").unwrap()),
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
    // v1.1: only a guest needs a name, so a join with a bad name and a bad since is
    // invalid_name for a guest (fields in order) and invalid_since for a user.
    let e = decode_client_frame(r#"{"type":"join","room":"r","name":"","since":-1}"#).unwrap_err();
    assert_eq!(e.error_for(true).code(), ErrorCode::InvalidName);
    assert_eq!(e.error_for(false).code(), ErrorCode::InvalidSince);
    assert_eq!(
        decode_client_frame(r#"{"type":"join","room":"r","name":"","since":2}"#),
        Ok(ClientFrame::Join {
            room: RoomName::parse("r").unwrap(),
            name: JoinName::Invalid,
            since: Some(2),
            epoch: None,
        }),
        "the session refuses a guest's bad name; a user's is ignored"
    );
    // v1.1 extension: no name at all is a guest who only reads, so a bad since is the
    // first failing field even for a guest.
    for absent in [r#""#, r#","name":null"#] {
        let text = format!(r#"{{"type":"join","room":"r"{absent},"since":2}}"#);
        assert!(matches!(
            decode_client_frame(&text),
            Ok(ClientFrame::Join {
                name: JoinName::Absent,
                ..
            })
        ));
        let bad = format!(r#"{{"type":"join","room":"r"{absent},"since":-1}}"#);
        let e = decode_client_frame(&bad).unwrap_err();
        assert_eq!(e.error_for(true).code(), ErrorCode::InvalidSince);
    }
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
    let e = decode_client_frame(r#"{"type":"join","room":"r","name":"","since":"x"}"#).unwrap_err();
    assert_eq!(e.reference.as_deref(), Some("r"));
    let e = decode_client_frame(r#"{"type":"join","room":"r r","name":""}"#).unwrap_err();
    assert_eq!(e.reference, None);
    let e = decode_client_frame(r#"{"type":"dance","room":"r","client_id":"c"}"#).unwrap_err();
    assert_eq!(e.reference, None, "unknown_type carries no ref");
}

#[test]
fn a_decoded_frame_names_itself_as_a_failed_one_would() {
    let publish =
        decode_client_frame(r#"{"type":"publish","room":"r","body":"b","client_id":"c9"}"#);
    assert_eq!(publish.unwrap().reference().as_deref(), Some("c9"));
    for text in [
        r#"{"type":"join","room":"r","name":"ann"}"#,
        r#"{"type":"leave","room":"r"}"#,
        r#"{"type":"history","room":"r"}"#,
    ] {
        let frame = decode_client_frame(text).unwrap();
        assert_eq!(frame.reference().as_deref(), Some("r"), "{text}");
    }
    assert_eq!(
        decode_client_frame(r#"{"type":"ping"}"#)
            .unwrap()
            .reference(),
        None
    );
}

#[test]
fn client_frames_encode_to_what_the_decoder_reads() {
    let frames = [
        ClientFrame::Join {
            room: RoomName::parse("r").unwrap(),
            name: JoinName::Given(UserName::parse("ann").unwrap()),
            since: Some(4),
            epoch: Some(Epoch::new("e")),
        },
        ClientFrame::Publish {
            room: RoomName::parse("r").unwrap(),
            body: Body::parse("x").unwrap(),
            client_id: ClientId::parse("c").unwrap(),
            reply_to: Some(2),
        },
        ClientFrame::React {
            room: RoomName::parse("r").unwrap(),
            seq: 3,
            emoji: Emoji::parse("🎉").unwrap(),
            on: false,
        },
        ClientFrame::Reactors {
            room: RoomName::parse("r").unwrap(),
            seq: 3,
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
        ClientFrame::Delete {
            room: RoomName::parse("r").unwrap(),
            seq: 3,
        },
        ClientFrame::Edit {
            room: RoomName::parse("r").unwrap(),
            seq: 3,
            body: Body::parse("y").unwrap(),
        },
        ClientFrame::Ban {
            room: RoomName::parse("r").unwrap(),
            user: UserId::parse("u1").unwrap(),
            duration_s: Some(60),
        },
        ClientFrame::Mute {
            room: RoomName::parse("r").unwrap(),
            user: UserId::parse("u1").unwrap(),
            duration_s: None,
        },
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

#[test]
fn moderation_frames_check_their_fields_in_order() {
    assert_eq!(code(r#"{"type":"delete","seq":1}"#), ErrorCode::InvalidRoom);
    assert_eq!(code(r#"{"type":"delete","room":"r"}"#), ErrorCode::BadFrame);
    assert_eq!(
        code(r#"{"type":"delete","room":"r","seq":0}"#),
        ErrorCode::BadFrame
    );
    assert_eq!(
        code(r#"{"type":"delete","room":"r","seq":-2}"#),
        ErrorCode::BadFrame
    );
    assert_eq!(
        code(r#"{"type":"edit","room":"r","seq":1}"#),
        ErrorCode::InvalidBody
    );
    assert_eq!(
        code(r#"{"type":"edit","room":"r","seq":1,"body":"  "}"#),
        ErrorCode::InvalidBody
    );
    assert_eq!(code(r#"{"type":"ban","room":"r"}"#), ErrorCode::InvalidName);
    assert_eq!(
        code(r#"{"type":"ban","room":"r","user":"a b"}"#),
        ErrorCode::InvalidName
    );
    assert_eq!(
        code(r#"{"type":"mute","room":"r","user":"u","duration_s":-1}"#),
        ErrorCode::BadFrame
    );
    assert_eq!(
        code(r#"{"type":"mute","room":"r","user":"u","duration_s":1e12}"#),
        ErrorCode::BadFrame
    );
    let e = decode_client_frame(r#"{"type":"delete","room":"r","seq":"x"}"#).unwrap_err();
    assert_eq!(
        e.reference.as_deref(),
        Some("r"),
        "a refusal names its room"
    );
    assert_eq!(
        decode_client_frame(r#"{"type":"ban","room":"r","user":"u","duration_s":null}"#).unwrap(),
        ClientFrame::Ban {
            room: RoomName::parse("r").unwrap(),
            user: UserId::parse("u").unwrap(),
            duration_s: None,
        }
    );
}

#[test]
fn replies_and_reactions_check_their_fields_in_order() {
    assert_eq!(
        code(r#"{"type":"publish","room":"r","body":"x","client_id":"c","reply_to":0}"#),
        ErrorCode::BadFrame
    );
    assert_eq!(
        code(r#"{"type":"publish","room":"r","body":"x","client_id":"c","reply_to":"3"}"#),
        ErrorCode::BadFrame
    );
    assert!(matches!(
        decode_client_frame(
            r#"{"type":"publish","room":"r","body":"x","client_id":"c","reply_to":null}"#
        ),
        Ok(ClientFrame::Publish { reply_to: None, .. })
    ));
    assert_eq!(
        code(r#"{"type":"react","seq":1,"emoji":"x","on":true}"#),
        ErrorCode::InvalidRoom
    );
    assert_eq!(
        code(r#"{"type":"react","room":"r","emoji":"x","on":true}"#),
        ErrorCode::BadFrame
    );
    for bad in [r#""""#, r#""a b""#, r#""xxxxxxxxxxxxxxxxx""#, "5"] {
        let text = format!(r#"{{"type":"react","room":"r","seq":1,"emoji":{bad},"on":true}}"#);
        let e = decode_client_frame(&text).unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::BadFrame, "{text}");
        assert_eq!(e.reference.as_deref(), Some("r"));
    }
    assert_eq!(
        code(r#"{"type":"react","room":"r","seq":1,"emoji":"x"}"#),
        ErrorCode::BadFrame
    );
    assert_eq!(
        code(r#"{"type":"react","room":"r","seq":1,"emoji":"x","on":1}"#),
        ErrorCode::BadFrame
    );
    assert_eq!(
        code(r#"{"type":"reactors","room":"r"}"#),
        ErrorCode::BadFrame
    );
}
