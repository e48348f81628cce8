//! Rooms with owners over real HTTP and sockets: private rooms are not there for
//! strangers on any path; owners, moderators, invitees and token holders get in; on one
//! node and across two.

mod common;

use common::{http_full, spawn_with, Client, Mode};
use serde_json::{json, Value};
use std::net::SocketAddr;

const API_KEY: &str = "rooms-test-api-key-0123456789";
const SECRET: &str = "rooms-tests-secret-0123456789abcdef";

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Value,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let (status, _, body) = common::site::call(addr, method, path, body, extra).await;
    (status, body)
}

/// Signs `name` up: its cookie header value and user id.
async fn account(addr: SocketAddr, name: &str) -> (String, String) {
    let (cookie, me) = common::site::sign_up(addr, name, "a long password").await;
    (cookie, me["user"].as_str().unwrap().to_string())
}

async fn socket(addr: SocketAddr, cookie: Option<&str>) -> Client {
    common::site::socket_with_cookie(addr, cookie).await
}

/// `join` as whoever the socket is: the answer's type, or the error's code.
async fn try_join(c: &mut Client, room: &str) -> String {
    c.send(json!({"type":"join","room":room,"name":"guest"}))
        .await;
    let f = c.recv_skip_presence().await;
    match f["type"].as_str() {
        Some("joined") => "joined".into(),
        _ => {
            assert_eq!(f["ref"], room, "{f}");
            f["code"].as_str().unwrap_or("?").to_string()
        }
    }
}

fn tweak(c: &mut chorus::server::config::Config) {
    c.api_key = Some(API_KEY.into());
    c.identity.jwt_secret = Some(chorus::server::config::Secret::new(SECRET));
}

async fn private_rooms_on(mode: Mode) {
    let app = spawn_with(mode, tweak).await;
    let one = app.addrs[0];
    let two = *app.addrs.last().unwrap();
    let (ann, ann_id) = account(one, "Ann").await;
    let (bob, _) = account(two, "Bob").await;
    let (cy, cy_id) = account(one, "Cy").await;

    // Creating: a user owns it; again is 409; a guest cannot.
    let (s, made) = call(
        one,
        "POST",
        "/api/rooms",
        json!({"room":"secret","visibility":"private"}),
        &[("Cookie", &ann)],
    )
    .await;
    assert_eq!(s, 201, "{made}");
    assert_eq!(
        (made["owner"].as_str(), made["role"].as_str()),
        (Some(ann_id.as_str()), Some("owner"))
    );
    let (s, b) = call(
        two,
        "POST",
        "/api/rooms",
        json!({"room":"secret","visibility":"public"}),
        &[("Cookie", &bob)],
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("room_exists")));
    let (s, b) = call(
        one,
        "POST",
        "/api/rooms",
        json!({"room":"mine","visibility":"private"}),
        &[],
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthorized")));
    let (s, b) = call(
        one,
        "POST",
        "/api/rooms",
        json!({"room":"ops","visibility":"public"}),
        &[("Authorization", &format!("Bearer {API_KEY}"))],
    )
    .await;
    assert_eq!((s, b["owner"].clone()), (201, Value::Null));
    // A room with messages exists already.
    let mut g = Client::connect(one).await;
    g.join("chatty", "g").await;
    g.publish("chatty", "hi", "c1").await;
    let (s, b) = call(
        two,
        "POST",
        "/api/rooms",
        json!({"room":"chatty"}),
        &[("Cookie", &bob)],
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("room_exists")));

    // A stranger (signed in or not) finds nothing on any path, on either node.
    for (addr, cookie) in [
        (one, Some(bob.as_str())),
        (two, Some(bob.as_str())),
        (two, None),
    ] {
        let mut c = socket(addr, cookie).await;
        assert_eq!(try_join(&mut c, "secret").await, "forbidden");
        c.send(json!({"type":"history","room":"secret"})).await;
        let f = c.recv_type("error").await;
        assert_eq!(
            (f["code"].as_str(), f["ref"].as_str()),
            (Some("forbidden"), Some("secret"))
        );
        let h: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
        let (s, b) = call(addr, "GET", "/api/rooms/secret/messages", Value::Null, &h).await;
        assert_eq!((s, b["code"].as_str()), (404, Some("not_found")));
        let (s, _) = call(addr, "GET", "/api/rooms/secret", Value::Null, &h).await;
        assert_eq!(s, 404);
        let (s, _, page) = http_full(addr, "GET", "/r/secret", &h, "").await;
        assert_eq!(s, 404, "the room page");
        assert!(!page.contains("secret plans"));
    }
    // The owner is in, on both nodes.
    let mut owner = socket(two, Some(&ann)).await;
    assert_eq!(try_join(&mut owner, "secret").await, "joined");
    owner.publish("secret", "secret plans", "s1").await;
    let (s, b) = call(
        one,
        "GET",
        "/api/rooms/secret/messages",
        Value::Null,
        &[("Cookie", &ann)],
    )
    .await;
    assert_eq!(
        (s, b["messages"][0]["body"].as_str()),
        (200, Some("secret plans"))
    );
    let (s, _, page) = http_full(one, "GET", "/r/secret", &[("Cookie", &ann)], "").await;
    assert!(s == 200 && page.contains("secret plans"), "{s}");

    // Invites: the owner makes one; Bob accepts it on the other node and is a member.
    let (s, inv) = call(
        one,
        "POST",
        "/api/rooms/secret/invites",
        Value::Null,
        &[("Cookie", &ann)],
    )
    .await;
    assert_eq!(s, 201, "{inv}");
    let code = inv["code"].as_str().unwrap().to_string();
    assert!(inv["expires_at"].as_u64().unwrap() > 6 * 24 * 3600 * 1000);
    let (s, b) = call(
        two,
        "POST",
        &format!("/api/invites/{code}"),
        Value::Null,
        &[],
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (401, Some("unauthorized")),
        "a guest cannot accept"
    );
    let (s, b) = call(
        two,
        "POST",
        &format!("/api/invites/{code}x"),
        Value::Null,
        &[("Cookie", &bob)],
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (404, Some("not_found")));
    let (s, b) = call(
        two,
        "POST",
        &format!("/api/invites/{code}"),
        Value::Null,
        &[("Cookie", &bob)],
    )
    .await;
    assert_eq!((s, b["room"].as_str()), (200, Some("secret")));
    let mut member = socket(one, Some(&bob)).await;
    assert_eq!(try_join(&mut member, "secret").await, "joined");
    let (s, b) = call(
        one,
        "GET",
        "/api/rooms/secret",
        Value::Null,
        &[("Cookie", &bob)],
    )
    .await;
    assert_eq!(
        (s, b["role"].as_str(), b["visibility"].as_str()),
        (200, Some("member"), Some("private"))
    );
    // Members: a member may not manage; the owner makes Cy a moderator, who may.
    let (s, _) = call(
        one,
        "PUT",
        &format!("/api/rooms/secret/members/{cy_id}"),
        json!({"role":"moderator"}),
        &[("Cookie", &bob)],
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(
        one,
        "PUT",
        &format!("/api/rooms/secret/members/{cy_id}"),
        json!({"role":"moderator"}),
        &[("Cookie", &ann)],
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(
        two,
        "POST",
        "/api/rooms/secret/invites",
        Value::Null,
        &[("Cookie", &cy)],
    )
    .await;
    assert_eq!(s, 201, "a moderator makes invites");
    let (s, _) = call(
        one,
        "PUT",
        &format!("/api/rooms/secret/members/{cy_id}"),
        json!({"role":"owner"}),
        &[("Cookie", &ann)],
    )
    .await;
    assert_eq!(s, 400, "nobody is made owner by a request");
    // Removing Bob: his next join is forbidden again, on either node.
    let bob_id = {
        let (_, me) = call(two, "GET", "/api/session", Value::Null, &[("Cookie", &bob)]).await;
        me["user"].as_str().unwrap().to_string()
    };
    let (s, _) = call(
        one,
        "DELETE",
        &format!("/api/rooms/secret/members/{bob_id}"),
        Value::Null,
        &[("Cookie", &cy)],
    )
    .await;
    assert_eq!(s, 204);
    let mut again = socket(two, Some(&bob)).await;
    assert_eq!(try_join(&mut again, "secret").await, "forbidden");
    // A token whose rooms claim grants the room gets in; one for another room does not.
    let token = |rooms: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({"sub":"u-app","exp": 4_000_000_000u64, "rooms": rooms}),
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap()
    };
    for (rooms, answer) in [
        (json!({"sec*": ["read"]}), "joined"),
        (json!({"other": ["read"]}), "forbidden"),
    ] {
        let mut t = Client::connect(two).await;
        t.send(json!({"type":"auth","token":token(rooms)})).await;
        assert_eq!(t.recv_type("authed").await["user"], "u-app");
        assert_eq!(try_join(&mut t, "secret").await, answer);
    }
}

#[tokio::test]
async fn private_rooms_on_one_node() {
    private_rooms_on(Mode::Single).await;
}

#[tokio::test]
async fn private_rooms_across_two_nodes() {
    private_rooms_on(Mode::Cluster).await;
}
