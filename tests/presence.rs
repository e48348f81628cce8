//! Presence in big rooms (v1.1): `joined` and `presence` carry at most 100 names and the
//! room's `members_total`; the `members` frame pages through every name, in code-point
//! order, over every node. One node and a two-node cluster; and a 2,000-member room whose
//! presence frames stay small while people come and go.

mod common;

use common::{spawn_with, Client, Mode};
use serde_json::{json, Value};
use std::time::Duration;

/// Room for many connections from one test address.
fn many(c: &mut chorus::server::config::Config) {
    c.max_conns_per_ip = 5_000;
    c.max_tcp_per_ip = 5_000;
}

/// Every name of `room`, page by page of `limit`, as `c` (joined) reads them.
async fn all_names(c: &mut Client, room: &str, limit: u64) -> Vec<String> {
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut ask = json!({"type":"members","room":room,"limit":limit});
        if let Some(a) = &after {
            ask["after"] = json!(a);
        }
        c.send(ask).await;
        let page = c.recv_type("members").await;
        assert_eq!(page["room"], room);
        let got: Vec<String> = page["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        assert!(got.len() as u64 <= limit, "{page}");
        after = got.last().cloned();
        names.extend(got);
        if page["has_more"] == false {
            return names;
        }
    }
}

async fn the_first_hundred_names_the_total_and_pages_of_the_rest(mode: Mode) {
    let app = spawn_with(mode, many).await;
    let nodes = app.addrs.len();
    // 150 people, spread over the nodes; names whose order is not their join order.
    let mut people = Vec::new();
    let mut expected = Vec::new();
    for i in 0..150 {
        let name = format!("p{:03}", (i * 37) % 150);
        let mut c = app.client_on(i % nodes).await;
        c.join("arena", &name).await;
        expected.push(name);
        people.push(c);
    }
    expected.push("watcher".into());
    expected.sort();
    let mut w = app.client_on(nodes - 1).await;
    let joined = w.join("arena", "watcher").await;
    let listed = joined["members"].as_array().unwrap();
    assert!(listed.len() <= 100, "{joined}");
    // Other nodes' members come by announcements: wait until the pages hold everyone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let names = loop {
        let names = all_names(&mut w, "arena", 60).await;
        if names == expected || tokio::time::Instant::now() > deadline {
            break names;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(names, expected, "every name once, in code-point order");
    assert_eq!(all_names(&mut w, "arena", 1000).await, expected, "one page");
    // The capped frames agree: the first 100 of those names and the total.
    let p = loop {
        let j = w.join("arena", "watcher").await;
        if j["members_total"] == 151 {
            break j;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(p["members"], json!(expected[..100]), "{p}");
    assert!(p["online"].as_u64().unwrap() >= 151);

    // Bad pages are `bad_frame`; a room not joined is `not_joined`; the socket stays.
    for bad in [
        json!({"type":"members","room":"arena","limit":0}),
        json!({"type":"members","room":"arena","limit":1001}),
        json!({"type":"members","room":"arena","limit":"ten"}),
        json!({"type":"members","room":"arena","after":7}),
        json!({"type":"members","room":"arena","after":"x".repeat(129)}),
    ] {
        w.send(bad.clone()).await;
        let e = w.recv_type("error").await;
        assert_eq!(e["code"], "bad_frame", "{bad} → {e}");
        assert_eq!(e["ref"], "arena");
    }
    w.send(json!({"type":"members","room":"elsewhere"})).await;
    assert_eq!(w.recv_type("error").await["code"], "not_joined");
    w.send(json!({"type":"members","room":"arena","after":"p148"}))
        .await;
    let tail = w.recv_type("members").await;
    assert_eq!(
        tail["members"],
        json!(["p149", "watcher"]),
        "strictly after"
    );
    assert_eq!(tail["has_more"], false);
    drop(people);
}

#[tokio::test]
async fn capped_presence_on_one_node() {
    the_first_hundred_names_the_total_and_pages_of_the_rest(Mode::Single).await;
}

#[tokio::test]
async fn capped_presence_across_two_nodes() {
    the_first_hundred_names_the_total_and_pages_of_the_rest(Mode::Cluster).await;
}

/// The longest a `presence` frame can be: 100 names of at most 32 characters of at most
/// 4 bytes, quoted and comma-separated, and the frame's other fields.
const PRESENCE_FRAME_MAX: usize = 100 * (32 * 4 + 3) + 200;

#[tokio::test]
async fn presence_frames_stay_small_in_a_room_of_two_thousand() {
    let app = spawn_with(Mode::Single, many).await;
    let mut watcher = app.client().await;
    watcher.join("stadium", "aaa-watcher").await;
    let mut crowd = Vec::new();
    for i in 0..2_000 {
        let mut c = app.client().await;
        c.send(json!({"type":"join","room":"stadium","name":format!("fan-{i:04}")}))
            .await;
        crowd.push(c);
    }
    // Half of them leave again.
    for c in crowd.drain(..1_000) {
        drop(c);
    }
    // Every presence frame the watcher got was small, and the last one counts right.
    let mut last = Value::Null;
    let mut biggest = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let f = watcher.recv().await;
        assert_eq!(f["type"], "presence", "{f}");
        biggest = biggest.max(f.to_string().len());
        assert!(f["members"].as_array().unwrap().len() <= 100);
        let done = f["members_total"] == 1_001;
        last = f;
        if done {
            break;
        }
    }
    assert_eq!(last["members_total"], 1_001, "{last}");
    assert!(
        biggest <= PRESENCE_FRAME_MAX,
        "a presence frame of {biggest} bytes"
    );
    // These names are short: the frames are far under the bound.
    assert!(biggest < 2_000, "a presence frame of {biggest} bytes");
    assert_eq!(last["members"][0], "aaa-watcher");
    assert_eq!(
        last["members"][1], "fan-1000",
        "the leavers are gone from the list"
    );
}
