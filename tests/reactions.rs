//! Replies and reactions over real sockets (v1.1): `reply_to` stored and checked,
//! reactions counted once per user across tabs and once per guest connection, heard by
//! every member on every node, carried by replays, history and the HTTP page, gone with
//! a deleted message; on one node and across two.

mod common;

use common::{spawn_with, Client, Mode};
use serde_json::{json, Value};
use std::net::SocketAddr;

const SECRET: &str = "reaction-tests-secret-0123456789abcd";

fn config(c: &mut chorus::server::config::Config) {
    c.identity.jwt_secret = Some(chorus::server::config::Secret::new(SECRET));
    c.rate_per_sec = 1_000.0;
    c.rate_burst = 1_000;
}

fn token(sub: &str) -> String {
    common::site::hs256_token(SECRET, sub, sub, json!({}))
}

/// A socket on `addr` joined to room "rx": as user `sub`, or a guest named `guest`.
async fn member(addr: SocketAddr, sub: Option<&str>, guest: &str) -> Client {
    let mut c = Client::connect(addr).await;
    if let Some(sub) = sub {
        c.send(json!({"type":"auth","token": token(sub)})).await;
        assert_eq!(c.recv_skip_presence().await["type"], "authed");
    }
    c.join("rx", guest).await;
    c
}

/// The next frame of `kind` about message `seq`, skipping everything else.
async fn next(c: &mut Client, kind: &str, seq: u64) -> Value {
    loop {
        let f = c.recv_skip_presence().await;
        if f["type"] == kind && f["seq"] == seq {
            return f;
        }
    }
}

/// The next frame of `kind`, skipping everything else.
async fn next_of(c: &mut Client, kind: &str) -> Value {
    loop {
        let f = c.recv_skip_presence().await;
        if f["type"] == kind {
            return f;
        }
    }
}

/// The next `error` frame, skipping everything else.
async fn error(c: &mut Client) -> Value {
    loop {
        let f = c.recv_skip_presence().await;
        if f["type"] == "error" {
            return f;
        }
    }
}

async fn react(c: &mut Client, seq: u64, emoji: &str, on: bool) {
    c.send(json!({"type":"react","room":"rx","seq":seq,"emoji":emoji,"on":on}))
        .await;
}

async fn replies_and_reactions_on(mode: Mode) {
    let app = spawn_with(mode, config).await;
    let (one, two) = (app.addrs[0], *app.addrs.last().unwrap());
    let mut ann = member(one, Some("u-ann"), "x").await;
    let mut ann_tab = member(two, Some("u-ann"), "x").await;
    let mut bob = member(two, None, "bob").await;
    let mut reader = Client::connect(one).await;
    reader.send(json!({"type":"join","room":"rx"})).await;
    reader.recv_type("joined").await;

    ann.publish("rx", "lunch at noon?", "a1").await;
    // A reply carries `reply_to` to everyone, on either node.
    bob.send(json!({"type":"publish","room":"rx","body":"yes!","client_id":"b1","reply_to":1}))
        .await;
    let echo = next(&mut ann, "message", 2).await;
    assert_eq!(echo["reply_to"], 1, "{echo}");
    assert_eq!(next(&mut bob, "ack", 2).await["client_id"], "b1");
    // A reply to nothing stored is not_found, and takes no seq.
    bob.send(json!({"type":"publish","room":"rx","body":"huh","client_id":"b2","reply_to":42}))
        .await;
    let e = error(&mut bob).await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("not_found"), Some("b2")),
        "{e}"
    );
    bob.publish("rx", "next", "b3").await;
    assert_eq!(
        next(&mut ann, "message", 3).await["client_id"],
        "b3",
        "no seq was used"
    );

    // Ann reacts in one tab: every member, on both nodes, hears the counts.
    react(&mut ann, 1, "👍", true).await;
    for c in [&mut ann, &mut ann_tab, &mut bob, &mut reader] {
        let f = next(c, "reactions", 1).await;
        assert_eq!(f["counts"], json!({"👍": 1}), "{f}");
    }
    // Her second tab is the same user: its 👍 changes nothing and only it hears so.
    react(&mut ann_tab, 1, "👍", true).await;
    assert_eq!(
        next(&mut ann_tab, "reactions", 1).await["counts"],
        json!({"👍": 1})
    );
    // A guest counts per connection.
    react(&mut bob, 1, "👍", true).await;
    react(&mut bob, 1, "🎉", true).await;
    next(&mut ann, "reactions", 1).await;
    let f = next(&mut ann, "reactions", 1).await;
    assert_eq!(f["counts"], json!({"👍": 2, "🎉": 1}), "{f}");
    // Who reacted: names oldest first, and which are mine.
    ann_tab
        .send(json!({"type":"reactors","room":"rx","seq":1}))
        .await;
    let who = next(&mut ann_tab, "reactors", 1).await;
    assert_eq!(who["by"]["👍"], json!(["u-ann", "bob"]), "{who}");
    assert_eq!(
        who["mine"],
        json!(["👍"]),
        "a user's reaction is theirs in every tab"
    );
    // Taking one back: the emoji at 0 leaves the counts.
    react(&mut bob, 1, "🎉", false).await;
    let f = next(&mut ann_tab, "reactions", 1).await;
    assert_eq!(f["counts"], json!({"👍": 2}), "{f}");

    // Bad reactions: typed errors, and the socket goes on.
    for (frame, code) in [
        (
            json!({"type":"react","room":"rx","seq":1,"emoji":"no way","on":true}),
            "bad_frame",
        ),
        (
            json!({"type":"react","room":"rx","seq":1,"emoji":"👍"}),
            "bad_frame",
        ),
        (
            json!({"type":"react","room":"rx","seq":99,"emoji":"👍","on":true}),
            "not_found",
        ),
        (
            json!({"type":"react","room":"elsewhere","seq":1,"emoji":"👍","on":true}),
            "not_joined",
        ),
    ] {
        bob.send(frame.clone()).await;
        let e = error(&mut bob).await;
        assert_eq!(e["code"], code, "{frame} → {e}");
    }
    // A guest that only reads cannot react.
    react(&mut reader, 1, "👍", true).await;
    assert_eq!(error(&mut reader).await["code"], "invalid_name");
    bob.assert_only_pong().await;

    // History and a resume carry the counts and the reply.
    let mut late = Client::connect(two).await;
    late.join("rx", "late").await;
    late.send(json!({"type":"history","room":"rx"})).await;
    let page = late.recv_type("history").await;
    let msgs = page["messages"].as_array().unwrap();
    assert_eq!(msgs[0]["reactions"], json!({"👍": 2}), "{page}");
    assert_eq!(msgs[1]["reply_to"], 1);
    assert!(msgs[1].get("reactions").is_none(), "no reactions, no field");
    let mut resumed = Client::connect(one).await;
    let joined = {
        resumed
            .send(json!({"type":"join","room":"rx","name":"r","since":0}))
            .await;
        resumed.recv_type("joined").await
    };
    assert_eq!(joined["recovered"], true);
    let replayed = resumed.recv_type("message").await;
    assert_eq!(
        (replayed["seq"].as_u64(), &replayed["reactions"]),
        (Some(1), &json!({"👍": 2}))
    );

    // Deleting the message deletes its reactions: none in history, no more reacting.
    ann.send(json!({"type":"delete","room":"rx","seq":1})).await;
    next(&mut bob, "deleted", 1).await;
    react(&mut bob, 1, "👍", true).await;
    assert_eq!(error(&mut bob).await["code"], "not_found");
    late.send(json!({"type":"history","room":"rx"})).await;
    let page = next_of(&mut late, "history").await;
    assert!(page["messages"][0].get("reactions").is_none(), "{page}");
}

#[tokio::test]
async fn replies_and_reactions_on_one_node() {
    replies_and_reactions_on(Mode::Single).await;
}

#[tokio::test]
async fn replies_and_reactions_across_two_nodes() {
    replies_and_reactions_on(Mode::Cluster).await;
}

#[tokio::test]
async fn a_message_takes_at_most_twenty_different_reactions() {
    let app = spawn_with(Mode::Single, config).await;
    let mut ann = member(app.addr, Some("u-ann"), "x").await;
    ann.publish("rx", "vote", "a1").await;
    for i in 0..20 {
        react(&mut ann, 1, &format!("e{i}"), true).await;
        next(&mut ann, "reactions", 1).await;
    }
    react(&mut ann, 1, "e20", true).await;
    let e = error(&mut ann).await;
    assert_eq!(e["code"], "bad_frame", "{e}");
    react(&mut ann, 1, "e3", false).await;
    let f = next(&mut ann, "reactions", 1).await;
    assert_eq!(f["counts"].as_object().unwrap().len(), 19);
}
