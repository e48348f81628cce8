//! Server-rendered room pages and the history API, over real HTTP against a real server.

mod common;

use common::{spawn_app, spawn_app_with};
use serde_json::Value;

/// One test of this file at a time: with several servers rendering pages in one test
/// process, a page request was seen to hang (2 runs of 60 of this file; never with one
/// test at a time, never in the browser suites, which run one server). Not yet explained;
/// recorded in the issue note.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const NASTY: &str = "<script>alert('x')</script> & \"quotes\" <b>bold</b>";

#[tokio::test]
async fn a_room_page_is_rendered_with_its_newest_messages_escaped() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = spawn_app_with(|c| c.rate_burst = 100).await;
    let mut c = app.client().await;
    c.join("lit", "ann").await;
    for i in 1..=55 {
        let body = if i == 55 {
            NASTY.to_string()
        } else {
            format!("line {i}")
        };
        c.publish("lit", &body, &format!("c{i}")).await;
    }
    let (status, html) = app.get("/r/lit").await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert"), "bodies are escaped");
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;")
            || html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "the body is shown as text"
    );
    assert!(html.contains("line 54") && html.contains("line 6"));
    assert!(
        !html.contains(">line 5<"),
        "only the newest 50 are rendered"
    );
    let rows = html.matches("data-seq=").count();
    assert_eq!(rows, 50);
    assert!(
        html.contains("Load older messages"),
        "older history is offered"
    );
}

#[tokio::test]
async fn the_messages_api_pages_history_as_json() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    let mut c = app.client().await;
    let joined = c.join("api", "ann").await;
    for i in 1..=7 {
        c.publish("api", if i == 7 { NASTY } else { "x" }, &format!("c{i}"))
            .await;
    }
    let (status, body) = app.get("/api/rooms/api/messages").await;
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["room"], "api");
    assert_eq!(page["epoch"], joined["epoch"]);
    assert_eq!(page["last_seq"], 7);
    assert_eq!(page["has_more"], false);
    let msgs = page["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 7);
    assert_eq!(msgs[6]["body"], NASTY, "verbatim in JSON");
    assert_eq!(msgs[6]["from"], "ann");

    let (_, body) = app.get("/api/rooms/api/messages?before=6&limit=2").await;
    let page: Value = serde_json::from_str(&body).unwrap();
    let seqs: Vec<u64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![4, 5]);
    assert_eq!(page["has_more"], true);

    let (status, body) = app.get("/api/rooms/empty-room/messages").await;
    assert_eq!(status, 200);
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            page["last_seq"].as_u64(),
            page["messages"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn bad_api_requests_get_the_protocol_error_codes() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    for (path, code) in [
        ("/api/rooms/bad%20room/messages", "invalid_room"),
        ("/api/rooms/ok/messages?limit=0", "bad_frame"),
        ("/api/rooms/ok/messages?limit=101", "bad_frame"),
        ("/api/rooms/ok/messages?limit=ten", "bad_frame"),
        ("/api/rooms/ok/messages?before=-1", "bad_frame"),
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let err: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(err["type"], "error");
        assert_eq!(err["code"], code, "{path}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn a_bad_room_name_in_the_url_is_explained() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    let (status, html) = app.get("/r/no%20spaces").await;
    assert_eq!(status, 200);
    assert!(html.contains("Not a room name"));
}

/// Bodies full of `<` grow when rendered (escaped in the HTML, again in the hydration
/// data); the first paint carries at most 32 KiB of bodies, however big the messages.
#[tokio::test]
async fn a_room_of_huge_messages_renders_a_bounded_page() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = spawn_app_with(|c| c.rate_burst = 100).await;
    let mut c = app.client().await;
    c.join("huge", "ann").await;
    let body = "<".repeat(4000);
    for i in 1..=50 {
        c.publish("huge", &body, &format!("h{i}")).await;
    }
    let (status, html) = app.get("/r/huge").await;
    assert_eq!(status, 200);
    let rows = html.matches("data-seq=").count();
    assert_eq!(rows, 8, "32 KiB of 4000-byte bodies");
    assert!(html.len() < 400_000, "page of {} bytes", html.len());
    assert!(html.contains("Load older messages"));
}
