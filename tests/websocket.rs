//! The server's own WebSocket layer (src/server/websocket) as a client library sees it:
//! the handshake's refusals, pings answered with their payload, a message the client
//! fragments arriving as one, and a burst of frames arriving whole and in order.

mod common;

use common::{http_full, spawn_app, spawn_app_with, WAIT};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::{Bytes, Message};

#[tokio::test]
async fn a_request_that_is_not_a_websocket_handshake_gets_a_typed_refusal() {
    let app = spawn_app().await;
    let (status, _, body) = http_full(app.addr, "GET", "/ws", &[], "").await;
    assert_eq!(status, 400);
    assert!(body.contains("Upgrade: websocket"), "{body}");
    let old = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "8"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let (status, head, body) = http_full(app.addr, "GET", "/ws", &old, "").await;
    assert_eq!(status, 400);
    assert!(head.contains("sec-websocket-version: 13"), "{head}");
    assert!(body.contains("version 13"), "{body}");
}

#[tokio::test]
async fn pings_are_answered_with_their_payload_and_fragments_make_one_message() {
    let app = spawn_app().await;
    let mut c = app.client().await;
    c.ws.send(Message::Ping(Bytes::from_static(b"are you there")))
        .await
        .unwrap();
    let pong = tokio::time::timeout(WAIT, async {
        loop {
            match c.ws.next().await.expect("open").expect("read") {
                Message::Pong(p) => return p,
                _ => continue,
            }
        }
    })
    .await
    .expect("a pong in time");
    assert_eq!(&pong[..], b"are you there");

    // A join in three fragments, a ping between two of them.
    let join = json!({"type": "join", "room": "frag", "name": "ann"}).to_string();
    let (a, rest) = join.as_bytes().split_at(5);
    let (b, tail) = rest.split_at(10);
    let frames = [
        Frame::message(a.to_vec(), OpCode::Data(Data::Text), false),
        Frame::message(b.to_vec(), OpCode::Data(Data::Continue), false),
        Frame::ping(b"mid".to_vec()),
        Frame::message(tail.to_vec(), OpCode::Data(Data::Continue), true),
    ];
    for f in frames {
        c.ws.send(Message::Frame(f)).await.unwrap();
    }
    let joined = c.recv_type("joined").await;
    assert_eq!(joined["room"], "frag");
}

#[tokio::test]
async fn a_burst_of_frames_arrives_whole_and_in_order() {
    let app = spawn_app_with(|c| {
        c.rate_per_sec = 100_000.0;
        c.rate_burst = 100_000;
    })
    .await;
    let mut reader = app.client().await;
    reader.join("burst", "reader").await;
    let mut writer = app.client().await;
    writer.join("burst", "writer").await;
    // Bodies of every length class of a frame header (7-bit and 16-bit lengths).
    let bodies: Vec<String> = (0..200)
        .map(|i| format!("{i}:{}", "x".repeat(i * 13)))
        .collect();
    for (i, body) in bodies.iter().enumerate() {
        writer
            .send(json!({"type": "publish", "room": "burst", "body": body, "client_id": format!("b{i}")}))
            .await;
    }
    let mut seen = Vec::new();
    while seen.len() < bodies.len() {
        let frame: Value = reader.recv_skip_presence().await;
        if frame["type"] == "message" {
            seen.push(frame["body"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen, bodies);
}
