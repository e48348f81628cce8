//! Moderation over real sockets and HTTP (v1.1): who may delete and edit, tombstones in
//! replay, history and the page, bans and mutes on every node that end by themselves and
//! outlive a restart, slow mode, and the audit log; on one node and across two.

mod common;

use common::{spawn_with, Client, Mode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

const SECRET: &str = "moderation-tests-secret-0123456789ab";
const API_KEY: &str = "moderation-test-api-key-0123456789";

fn config(c: &mut chorus::server::config::Config) {
    c.identity.jwt_secret = Some(chorus::server::config::Secret::new(SECRET));
    c.api_key = Some(API_KEY.into());
    c.rate_per_sec = 1_000.0;
    c.rate_burst = 1_000;
}

/// A token for `sub`; `moderate` adds the right to moderate room "m".
fn token(sub: &str, moderate: bool) -> String {
    let rights = if moderate {
        json!(["read", "publish", "moderate"])
    } else {
        json!(["read", "publish"])
    };
    common::site::hs256_token(SECRET, sub, sub, json!({"rooms": {"m": rights}}))
}

/// A socket on `addr` as `sub` (a guest when `None`), joined to room "m".
async fn member(addr: SocketAddr, sub: Option<&str>, moderate: bool) -> Client {
    let mut c = Client::connect(addr).await;
    if let Some(sub) = sub {
        c.send(json!({"type":"auth","token": token(sub, moderate)}))
            .await;
        assert_eq!(c.recv_skip_presence().await["type"], "authed");
    }
    c.send(json!({"type":"join","room":"m","name":"guesty"}))
        .await;
    assert_eq!(c.recv_type("joined").await["type"], "joined");
    c
}

/// Sends `frame` and returns its answer: the first frame that is neither presence, nor
/// a message, nor a `deleted`/`edited` about another seq (what others did meanwhile).
async fn ask(c: &mut Client, frame: Value) -> Value {
    let seq = frame["seq"].as_u64();
    c.send(frame).await;
    loop {
        let f = c.recv_skip_presence().await;
        let other_seq =
            matches!(f["type"].as_str(), Some("deleted" | "edited")) && f["seq"].as_u64() != seq;
        if f["type"] != "message" && !other_seq {
            return f;
        }
    }
}

/// The next `kind` frame about `seq`.
async fn about(c: &mut Client, kind: &str, seq: u64) -> Value {
    loop {
        let f = c.recv_type(kind).await;
        if f["seq"] == seq {
            return f;
        }
    }
}

/// Publishes; returns the ack or the error (skipping the echo and others' frames).
async fn say(c: &mut Client, body: &str, cid: &str) -> Value {
    c.send(json!({"type":"publish","room":"m","body":body,"client_id":cid}))
        .await;
    loop {
        let f = c.recv_skip_presence().await;
        if f["type"] == "ack" || f["type"] == "error" {
            return f;
        }
    }
}

async fn api(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Value,
    bearer: &str,
) -> (u16, Value) {
    let auth = format!("Bearer {bearer}");
    let (status, _, body) =
        common::site::call(addr, method, path, body, &[("Authorization", &auth)]).await;
    (status, body)
}

async fn deletes_and_edits_on(mode: Mode) {
    let app = spawn_with(mode, config).await;
    let (one, two) = (app.addrs[0], *app.addrs.last().unwrap());
    let mut ann = member(one, Some("u-ann"), false).await;
    let mut bob = member(two, Some("u-bob"), false).await;
    let mut moderator = member(two, Some("u-mod"), true).await;
    let mut guest = member(one, None, false).await;
    for (c, body, cid) in [
        (&mut ann, "annfirst", "a1"),
        (&mut guest, "guestsays", "g1"),
        (&mut bob, "bobsays", "b1"),
    ] {
        let ack = say(c, body, cid).await;
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    // Edits: the author only.
    let edit = |seq: u64| json!({"type":"edit","room":"m","seq":seq,"body":"annbetter"});
    for c in [&mut bob, &mut moderator, &mut guest] {
        let refused = ask(c, edit(1)).await;
        assert_eq!(
            (refused["code"].as_str(), refused["ref"].as_str()),
            (Some("forbidden"), Some("m")),
            "{refused}"
        );
    }
    let edited = ask(&mut ann, edit(1)).await;
    assert_eq!(edited["type"], "edited", "{edited}");
    assert_eq!(
        (edited["seq"].as_u64(), edited["body"].as_str()),
        (Some(1), Some("annbetter"))
    );
    let on_other_node = about(&mut bob, "edited", 1).await;
    assert_eq!(on_other_node, edited, "every member, on every node");
    assert_eq!(ask(&mut ann, edit(99)).await["code"], "not_found");

    // Deletes: the author (by user) or a moderator; a guest's own message is not theirs.
    let delete = |seq: u64| json!({"type":"delete","room":"m","seq":seq});
    assert_eq!(ask(&mut bob, delete(1)).await["code"], "forbidden");
    assert_eq!(ask(&mut guest, delete(2)).await["code"], "forbidden");
    let gone = ask(&mut moderator, delete(2)).await;
    assert_eq!(
        gone,
        json!({"type":"deleted","room":"m","seq":2,"by":"u-mod"})
    );
    assert_eq!(about(&mut ann, "deleted", 2).await, gone);
    let own = ask(&mut ann, delete(1)).await;
    assert_eq!(
        own,
        json!({"type":"deleted","room":"m","seq":1,"by":"u-ann"})
    );
    assert_eq!(
        ask(&mut ann, edit(1)).await["code"],
        "not_found",
        "deleted: nothing to edit"
    );
    assert_eq!(ask(&mut moderator, delete(77)).await["code"], "not_found");
    // The API key deletes over HTTP; members see it live.
    let (s, frame) = api(
        one,
        "DELETE",
        "/api/rooms/m/messages/3",
        Value::Null,
        API_KEY,
    )
    .await;
    assert_eq!((s, frame["by"].as_str()), (200, Some("api")), "{frame}");
    assert_eq!(about(&mut bob, "deleted", 3).await["by"], "api");

    // Tombstones in replay, history and the page; seqs stay gapless.
    let mut late = Client::connect(two).await;
    late.send(json!({"type":"join","room":"m","name":"late","since":0}))
        .await;
    late.recv_type("joined").await;
    for seq in 1..=3u64 {
        let m = late.recv_type("message").await;
        assert_eq!(
            (m["seq"].as_u64(), m["deleted"].as_bool(), m.get("body")),
            (Some(seq), Some(true), None),
            "{m}"
        );
    }
    let h = ask(&mut late, json!({"type":"history","room":"m"})).await;
    assert_eq!(h["messages"].as_array().map(|a| a.len()), Some(3));
    let (s, page) = common::http_get(one, "/r/m").await;
    assert_eq!(s, 200);
    assert!(page.contains("message deleted"));
    for erased in ["annfirst", "annbetter", "guestsays", "bobsays"] {
        assert!(!page.contains(erased), "{erased} is gone from the page");
    }

    // The audit log, oldest first, for moderators only.
    let (s, audit) = api(
        two,
        "GET",
        "/api/rooms/m/audit",
        Value::Null,
        &token("u-mod", true),
    )
    .await;
    assert_eq!(s, 200, "{audit}");
    let acts: Vec<(String, String, Option<u64>)> = audit["acts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["act"].as_str().unwrap().into(),
                a["by"].as_str().unwrap().into(),
                a["seq"].as_u64(),
            )
        })
        .collect();
    let expect = |a: &str, b: &str, s: u64| (a.to_string(), b.to_string(), Some(s));
    assert_eq!(
        acts,
        [
            expect("edit", "u-ann", 1),
            expect("delete", "u-mod", 2),
            expect("delete", "u-ann", 1),
            expect("delete", "api", 3)
        ]
    );
    let (s, _) = api(
        one,
        "GET",
        "/api/rooms/m/audit",
        Value::Null,
        &token("u-bob", false),
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn deletes_and_edits_follow_the_rights_and_leave_tombstones_on_one_node() {
    deletes_and_edits_on(Mode::Single).await;
}

#[tokio::test]
async fn deletes_and_edits_follow_the_rights_and_leave_tombstones_across_two_nodes() {
    deletes_and_edits_on(Mode::Cluster).await;
}

#[tokio::test]
async fn a_ban_takes_every_tab_out_on_every_node_and_ends_by_itself() {
    let app = spawn_with(Mode::Cluster, config).await;
    let (one, two) = (app.addrs[0], app.addrs[1]);
    let mut tab1 = member(one, Some("u-ann"), false).await;
    let mut tab2 = member(two, Some("u-ann"), false).await;
    let mut moderator = member(one, Some("u-mod"), true).await;
    let mut bob = member(two, Some("u-bob"), false).await;
    assert_eq!(
        ask(&mut bob, json!({"type":"ban","room":"m","user":"u-ann"})).await["code"],
        "forbidden"
    );
    assert_eq!(
        ask(
            &mut moderator,
            json!({"type":"ban","room":"m","user":"u-mod"})
        )
        .await["code"],
        "forbidden",
        "not oneself"
    );
    let done = ask(
        &mut moderator,
        json!({"type":"ban","room":"m","user":"u-ann","duration_s":2}),
    )
    .await;
    assert_eq!(
        (done["type"].as_str(), done["act"].as_str()),
        (Some("moderated"), Some("ban")),
        "{done}"
    );
    assert!(done["until"].as_u64().is_some());
    for tab in [&mut tab1, &mut tab2] {
        assert_eq!(
            tab.recv_type("left").await,
            json!({"type":"left","room":"m","reason":"banned"})
        );
        let again = ask(tab, json!({"type":"join","room":"m"})).await;
        assert_eq!(again["code"], "forbidden", "{again}");
        assert_eq!(
            ask(tab, json!({"type":"history","room":"m"})).await["code"],
            "forbidden"
        );
    }
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    assert_eq!(
        ask(&mut tab1, json!({"type":"join","room":"m"})).await["type"],
        "joined",
        "the ban ended"
    );

    // A mute: publishes refused on every node until lifted.
    let muted = ask(
        &mut moderator,
        json!({"type":"mute","room":"m","user":"u-bob"}),
    )
    .await;
    assert_eq!(
        (muted["act"].as_str(), muted["until"].is_null()),
        (Some("mute"), true)
    );
    tokio::time::sleep(Duration::from_millis(300)).await; // the note crosses to node two
    let refused = say(&mut bob, "hello?", "b1").await;
    assert_eq!(refused["code"], "forbidden", "{refused}");
    let mut bob_later = member(one, Some("u-bob"), false).await;
    assert_eq!(
        say(&mut bob_later, "still?", "b2").await["code"],
        "forbidden",
        "a new tab is muted too"
    );
    ask(
        &mut moderator,
        json!({"type":"mute","room":"m","user":"u-bob","duration_s":0}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(say(&mut bob, "hello!", "b3").await["type"], "ack");
    let (_, audit) = api(one, "GET", "/api/rooms/m/audit", Value::Null, API_KEY).await;
    let acts: Vec<&str> = audit["acts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["act"].as_str().unwrap())
        .collect();
    assert_eq!(acts, ["ban", "mute", "unmute"]);
    assert_eq!(audit["acts"][0]["target"], "u-ann");
}

#[tokio::test]
async fn a_ban_for_good_outlives_a_restart() {
    let mut app = spawn_with(Mode::Single, config).await;
    let mut moderator = member(app.addr, Some("u-mod"), true).await;
    ask(
        &mut moderator,
        json!({"type":"ban","room":"m","user":"u-ann"}),
    )
    .await;
    drop(moderator);
    app.restart_with(config).await;
    let mut ann = Client::connect(app.addr).await;
    ann.send(json!({"type":"auth","token": token("u-ann", false)}))
        .await;
    ann.recv_type("authed").await;
    assert_eq!(
        ask(&mut ann, json!({"type":"join","room":"m"})).await["code"],
        "forbidden"
    );
    assert_eq!(
        ask(&mut ann, json!({"type":"join","room":"elsewhere"})).await["type"],
        "joined",
        "one room only"
    );
}

#[tokio::test]
async fn slow_mode_spaces_one_users_messages_but_not_a_moderators() {
    let app = spawn_with(Mode::Single, config).await;
    let mut ann = member(app.addr, Some("u-ann"), false).await;
    let mut moderator = member(app.addr, Some("u-mod"), true).await;
    let (s, _) = api(
        app.addr,
        "PUT",
        "/api/rooms/m/slow_mode",
        json!({"seconds": 2}),
        &token("u-bob", false),
    )
    .await;
    assert_eq!(s, 404, "a member cannot set it");
    let (s, _) = api(
        app.addr,
        "PUT",
        "/api/rooms/m/slow_mode",
        json!({"seconds": 9999}),
        API_KEY,
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = api(
        app.addr,
        "PUT",
        "/api/rooms/m/slow_mode",
        json!({"seconds": 2}),
        API_KEY,
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(say(&mut ann, "one", "a1").await["type"], "ack");
    let refused = say(&mut ann, "two", "a2").await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    let wait = refused["retry_after_ms"].as_u64().unwrap();
    assert!((1_000..=2_000).contains(&wait), "{wait}");
    // A second tab of the same user shares the wait.
    let mut tab2 = member(app.addr, Some("u-ann"), false).await;
    assert_eq!(say(&mut tab2, "three", "a3").await["code"], "rate_limited");
    for i in 0..3 {
        assert_eq!(
            say(&mut moderator, "mod", &format!("m{i}")).await["type"],
            "ack"
        );
    }
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    assert_eq!(say(&mut ann, "two", "a2").await["type"], "ack");
}
