//! The frames' wire shapes: flat messages, error fields, round trips, limits.

use super::*;
use crate::protocol::error::ErrorCode;
use crate::protocol::names::{Body, ClientId, Epoch, RoomName, UserId};
use crate::protocol::reaction::{Emoji, Reactions};
use serde_json::json;

fn msg() -> Message {
    Message {
        room: RoomName::parse("lobby").unwrap(),
        seq: 7,
        from: UserName::parse("ann").unwrap(),
        content: Content::text(Body::parse("hi <b>").unwrap()),
        ts: 1_700_000_000_000,
        client_id: ClientId::parse("c1").unwrap(),
        user: None,
        reply_to: None,
        reactions: Reactions::new(),
    }
}

#[test]
fn a_users_message_carries_its_user_and_authed_its_expiry() {
    let m = Message {
        user: Some(UserId::parse("u:42@site").unwrap()),
        ..msg()
    };
    let v: serde_json::Value =
        serde_json::from_str(&ServerFrame::Message(m.clone()).to_json()).unwrap();
    assert_eq!(v["user"], "u:42@site");
    let back: ServerFrame =
        serde_json::from_str(&ServerFrame::Message(m.clone()).to_json()).unwrap();
    assert_eq!(back, ServerFrame::Message(m));
    let authed = ServerFrame::Authed {
        user: UserId::parse("u1").unwrap(),
        name: UserName::parse("Ann").unwrap(),
        expires_at: 1_700_000_060_000,
    };
    let v: serde_json::Value = serde_json::from_str(&authed.to_json()).unwrap();
    assert_eq!(
        v,
        json!({"type":"authed","user":"u1","name":"Ann","expires_at":1_700_000_060_000u64})
    );
}

#[test]
fn message_frame_is_flat() {
    let v: serde_json::Value =
        serde_json::from_str(&ServerFrame::Message(msg()).to_json()).unwrap();
    assert_eq!(
        v,
        json!({"type":"message","room":"lobby","seq":7,"from":"ann","body":"hi <b>",
               "ts":1_700_000_000_000u64,"client_id":"c1"})
    );
}

#[test]
fn error_frame_fields() {
    let f = ServerFrame::Error {
        code: ErrorCode::RateLimited,
        message: "slow down".into(),
        reference: Some("c1".into()),
        retry_after_ms: Some(100),
    };
    let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
    assert_eq!(
        v,
        json!({"type":"error","code":"rate_limited","message":"slow down","ref":"c1","retry_after_ms":100})
    );
    let plain = ServerFrame::Error {
        code: ErrorCode::BadFrame,
        message: "x".into(),
        reference: None,
        retry_after_ms: None,
    };
    let v: serde_json::Value = serde_json::from_str(&plain.to_json()).unwrap();
    assert_eq!(v, json!({"type":"error","code":"bad_frame","message":"x"}));
}

#[test]
fn server_frames_round_trip() {
    let frames = vec![
        ServerFrame::Joined {
            room: RoomName::parse("r").unwrap(),
            epoch: Epoch::new("e1"),
            last_seq: 0,
            online: 1,
            members: vec![UserName::parse("ann").unwrap()],
            members_total: 0,
            recovered: false,
        },
        ServerFrame::Pong,
        ServerFrame::Message(msg()),
        ServerFrame::History {
            room: RoomName::parse("r").unwrap(),
            messages: vec![msg()],
            has_more: true,
        },
    ];
    for f in frames {
        let back: ServerFrame = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(back, f);
    }
}

#[test]
fn replies_and_reactions_on_the_wire() {
    let up = Emoji::parse("👍").unwrap();
    let m = Message {
        reply_to: Some(3),
        reactions: [(up.clone(), 2)].into_iter().collect(),
        ..msg()
    };
    let v: serde_json::Value =
        serde_json::from_str(&ServerFrame::Message(m.clone()).to_json()).unwrap();
    assert_eq!(v["reply_to"], 3);
    assert_eq!(v["reactions"], json!({"👍": 2}));
    let back: ServerFrame =
        serde_json::from_str(&ServerFrame::Message(m.clone()).to_json()).unwrap();
    assert_eq!(back, ServerFrame::Message(m));
    let f = ServerFrame::Reactions {
        room: RoomName::parse("r").unwrap(),
        seq: 4,
        counts: Reactions::new(),
    };
    let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
    assert_eq!(
        v,
        json!({"type":"reactions","room":"r","seq":4,"counts":{}})
    );
    let f = ServerFrame::Reactors {
        room: RoomName::parse("r").unwrap(),
        seq: 4,
        by: [(up.clone(), vec![UserName::parse("ann").unwrap()])]
            .into_iter()
            .collect(),
        mine: vec![up],
    };
    let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
    assert_eq!(
        v,
        json!({"type":"reactors","room":"r","seq":4,"by":{"👍":["ann"]},"mine":["👍"]})
    );
    let back: ServerFrame = serde_json::from_str(&f.to_json()).unwrap();
    assert_eq!(back, f);
}

#[test]
fn history_limit_bounds() {
    assert!(HistoryLimit::new(0).is_none());
    assert_eq!(HistoryLimit::new(1).map(HistoryLimit::get), Some(1));
    assert_eq!(HistoryLimit::new(100).map(HistoryLimit::get), Some(100));
    assert!(HistoryLimit::new(101).is_none());
    assert_eq!(HistoryLimit::default().get(), 50);
}

#[test]
fn a_frame_names_its_room_for_a_connection_with_several() {
    let parse = |j: serde_json::Value| serde_json::from_value::<ServerFrame>(j).unwrap();
    let a = RoomName::parse("a").unwrap();
    let m = parse(
        json!({"type":"message","room":"a","seq":1,"from":"ann","body":"hi",
        "ts":1,"client_id":"c"}),
    );
    assert_eq!(m.room(), Some(&a));
    let p = parse(json!({"type":"presence","room":"a","online":1,"members":["ann"]}));
    assert_eq!(p.room(), Some(&a));
    let e = parse(json!({"type":"error","code":"not_joined","message":"x","ref":"a"}));
    assert_eq!(
        e.room(),
        None,
        "an error's ref may be a client_id: the client decides"
    );
    assert_eq!(parse(json!({"type":"pong"})).room(), None);
}
