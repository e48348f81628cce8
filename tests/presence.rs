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

/// What the nodes of a cluster say to each other about a room, as Redis carries it: the
/// payloads published on the room's channel whose kind is `kind` (`p` whole list, `d`
/// change), for as long as `during` runs.
async fn published_during<F: std::future::Future<Output = ()>>(
    url: &str,
    room: &str,
    during: F,
) -> Vec<String> {
    use futures::StreamExt;
    let client = redis::Client::open(url).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    // Channels are `{prefix}:{room}`: the room's name is unique to this test.
    pubsub.psubscribe(format!("*:{{{room}}}")).await.unwrap();
    let mut stream = pubsub.on_message();
    let mut got = Vec::new();
    let during = std::pin::pin!(during);
    let mut during = during;
    loop {
        tokio::select! {
            _ = &mut during => break,
            Some(msg) = stream.next() => {
                got.push(String::from_utf8_lossy(msg.get_payload_bytes()).into_owned());
            }
        }
    }
    got
}

/// Waits until `c` is told the room has `total` distinct names.
async fn until_total(c: &mut Client, total: u64) {
    loop {
        let f = c.recv().await;
        if f["members_total"] == total {
            return;
        }
    }
}

#[tokio::test]
async fn between_nodes_a_join_costs_its_own_size_not_the_rooms() {
    let redis = chorus::server::testing::RedisServer::start();
    let url = redis.url();
    let app = common::spawn_cluster(&url, Some(redis), 2, many).await;
    let mut watcher = app.client_on(1).await;
    watcher.join("hall-delta", "aaa-watcher").await;
    let mut crowd = Vec::new();
    for i in 0..300 {
        let mut c = app.client_on(0).await;
        c.join("hall-delta", &format!("member-with-a-long-name-{i:04}"))
            .await;
        crowd.push(c);
    }
    until_total(&mut watcher, 301).await;

    let mut late = app.client_on(0).await;
    let said = published_during(&url, "hall-delta", async {
        // Give the subscription a moment, then one join and one leave on node 0.
        tokio::time::sleep(Duration::from_millis(300)).await;
        late.join("hall-delta", "zed").await;
        until_total(&mut watcher, 302).await;
        drop(crowd.pop());
        until_total(&mut watcher, 301).await;
        // Long enough for a heartbeat (every second here) to send a whole list too.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    })
    .await;
    let deltas: Vec<&String> = said.iter().filter(|p| p.starts_with('d')).collect();
    let wholes: Vec<&String> = said.iter().filter(|p| p.starts_with('p')).collect();
    assert!(
        deltas.iter().any(|d| d.contains("\"zed\":1")),
        "the join went out as a delta: {deltas:?}"
    );
    assert!(
        deltas
            .iter()
            .any(|d| d.contains("member-with-a-long-name-0299\":0")),
        "the leave went out as a delta: {deltas:?}"
    );
    for d in &deltas {
        assert!(d.len() < 200, "a delta of {} bytes: {d}", d.len());
    }
    // The whole list (heartbeats) is what each delta saved.
    let whole = wholes.iter().map(|w| w.len()).max().unwrap_or(0);
    let sizes: Vec<usize> = deltas.iter().map(|d| d.len()).collect();
    eprintln!("deltas of {sizes:?} bytes; the whole list: {whole} bytes");
    assert!(
        whole > 300 * 30,
        "a heartbeat's whole list is {whole} bytes"
    );
    // And the watcher on node 1 has the names right.
    let names = all_names(&mut watcher, "hall-delta", 1_000).await;
    assert_eq!(names.len(), 301);
    assert!(names.contains(&"zed".to_string()));
    assert!(!names.contains(&"member-with-a-long-name-0299".to_string()));
}
