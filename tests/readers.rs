//! Readers (v1.1 extension, docs/protocol.md "Readers"): a guest that joins without a name
//! reads the room live, is nobody in presence, cannot publish, and becomes a speaker on
//! the same connection by joining again with a name. One node and a two-node cluster.

mod common;

use common::{spawn, Mode};
use serde_json::json;

async fn a_reader_reads_live_and_speaks_once_it_has_a_name(mode: Mode) {
    let app = spawn(mode).await;
    // Ann is on the first node, the reader on the last (the other node in a cluster).
    let mut ann = app.client_on(0).await;
    ann.join("stage", "ann").await;
    ann.publish("stage", "before", "a1").await;
    let mut reader = app.client_on(app.addrs.len() - 1).await;
    reader
        .send(json!({"type":"join","room":"stage","since":0}))
        .await;
    let joined = reader.recv_type("joined").await;
    assert_eq!(joined["members"], json!(["ann"]), "a reader is nobody");
    assert_eq!(joined["online"], 1, "{joined}");
    assert_eq!(joined["recovered"], true);
    assert_eq!(reader.recv_type("message").await["body"], "before");

    // Its coming sent no presence (on one node, where nothing else could send one).
    if matches!(mode, Mode::Single) {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        ann.send(json!({"type":"ping"})).await;
        assert_eq!(ann.recv().await, json!({"type":"pong"}), "no presence");
    }
    ann.publish("stage", "live", "a2").await;
    assert_eq!(reader.recv_type("message").await["body"], "live");

    // It cannot publish, and is told how to.
    reader
        .send(json!({"type":"publish","room":"stage","body":"hi","client_id":"r1"}))
        .await;
    let e = reader.recv_type("error").await;
    assert_eq!(e["code"], "invalid_name");
    assert_eq!(e["ref"], "r1");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("join again with a name"));

    // A bad name is still a bad name.
    reader
        .send(json!({"type":"join","room":"stage","name":""}))
        .await;
    assert_eq!(reader.recv_type("error").await["code"], "invalid_name");

    // Joining again with a name: a speaker on the same socket, shown to everyone, with
    // nothing it was sent replayed.
    reader
        .send(json!({"type":"join","room":"stage","name":"rita","since":0}))
        .await;
    let joined = reader.recv_type("joined").await;
    assert_eq!(joined["members"], json!(["ann", "rita"]));
    let p = loop {
        let f = ann.recv().await;
        if f["type"] == "presence" && f["members"] == json!(["ann", "rita"]) {
            break f;
        }
    };
    assert_eq!(p["online"], 2);
    let ack = reader.publish("stage", "hello, I'm rita", "r2").await;
    assert_eq!(ack["seq"], 3, "{ack}");
    let m = ann.recv_type("message").await;
    assert_eq!(
        (m["from"].as_str(), m["seq"].as_u64()),
        (Some("rita"), Some(3))
    );
}

/// With guests off, a reader is a guest like any other: `unauthorized`.
async fn with_guests_off_a_reader_is_refused(mode: Mode) {
    let app = common::spawn_with(mode, |c| {
        c.identity.guests = chorus::server::config::Guests::Off;
    })
    .await;
    let mut reader = app.client().await;
    reader.send(json!({"type":"join","room":"stage"})).await;
    assert_eq!(reader.recv_type("error").await["code"], "unauthorized");
}

mod single {
    #[tokio::test]
    async fn a_reader_reads_live_and_speaks_once_it_has_a_name() {
        super::a_reader_reads_live_and_speaks_once_it_has_a_name(super::Mode::Single).await
    }

    #[tokio::test]
    async fn with_guests_off_a_reader_is_refused() {
        super::with_guests_off_a_reader_is_refused(super::Mode::Single).await
    }
}

mod cluster {
    #[tokio::test]
    async fn a_reader_reads_live_and_speaks_once_it_has_a_name() {
        super::a_reader_reads_live_and_speaks_once_it_has_a_name(super::Mode::Cluster).await
    }
}
