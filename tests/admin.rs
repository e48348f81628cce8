//! The operator's view over real HTTP and sockets: only operators see anything under
//! `/admin` and `/api/admin`; the numbers of every node; disconnecting a connection (it
//! reconnects as the same user), a server-wide ban, deleting a room's history; on one
//! node and across two.

mod common;

use common::{http_full, spawn_with, Client, Mode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

const API_KEY: &str = "admin-test-api-key-0123456789abc";
const SECRET: &str = "admin-tests-secret-0123456789abcdef";

fn config(c: &mut chorus::server::config::Config) {
    c.api_key = Some(API_KEY.into());
    c.identity.jwt_secret = Some(chorus::server::config::Secret::new(SECRET));
    c.identity.admins = vec![chorus::protocol::UserName::parse("Root").unwrap()];
}

async fn api(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Value,
    auth: &[(&str, &str)],
) -> (u16, Value) {
    let (status, _, body) = common::site::call(addr, method, path, body, auth).await;
    (status, body)
}

fn token(sub: &str, name: &str) -> String {
    common::site::hs256_token(SECRET, sub, name, json!({}))
}

#[tokio::test]
async fn nobody_but_an_operator_finds_anything_under_admin() {
    let app = spawn_with(Mode::Single, config).await;
    let addr = app.addr;
    let (someone, _) = common::site::sign_up(addr, "Someone", "a long password").await;
    // A token may call its user anything: a token named Root is not the operator.
    let fake_root = format!("Bearer {}", token("u-root", "Root"));
    let cookie = [("Cookie", someone.as_str())];
    let bearer = [("Authorization", fake_root.as_str())];
    let wrong_key = [("Authorization", "Bearer not-the-api-key-at-all-000")];
    for auth in [&[][..], &cookie[..], &bearer[..], &wrong_key[..]] {
        for (method, path) in [
            ("GET", "/api/admin/overview"),
            ("GET", "/api/admin/rooms/x/connections"),
            ("POST", "/api/admin/connections/local/1/disconnect"),
            ("PUT", "/api/admin/bans/u-1"),
            ("DELETE", "/api/admin/bans/u-1"),
            ("POST", "/api/admin/rooms/x/purge"),
        ] {
            let (s, b) = api(addr, method, path, json!({"confirm":"x"}), auth).await;
            assert_eq!(
                (s, b["code"].as_str()),
                (404, Some("not_found")),
                "{method} {path}"
            );
        }
        let mut headers: Vec<(&str, &str)> = auth.to_vec();
        headers.push(("Accept", "text/html"));
        let (s, _, page) = http_full(addr, "GET", "/admin", &headers, "").await;
        assert_eq!(s, 404, "the page");
        assert!(!page.contains("Live numbers"));
    }
    let origin = format!("http://{addr}");
    let (s, head, _) = http_full(
        addr,
        "POST",
        "/admin/action",
        &[
            ("Cookie", &someone),
            ("Origin", &origin),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "action=purge&room=x&confirm=x",
    )
    .await;
    assert_eq!(s, 303);
    let location = head.lines().find_map(|l| {
        l.to_lowercase()
            .strip_prefix("location: ")
            .map(|v| v.trim().to_string())
    });
    assert_eq!(location.as_deref(), Some("/"), "sent home: {head}");
}

async fn operator_on(mode: Mode) {
    let app = spawn_with(mode, config).await;
    let (one, two) = (app.addrs[0], *app.addrs.last().unwrap());
    let (root, _) = common::site::sign_up(one, "root", "a long password").await;
    let cookie = [("Cookie", root.as_str())];
    let key = format!("Bearer {API_KEY}");
    let with_key = [("Authorization", key.as_str())];

    // Ann has a tab on node two; a guest is on node one, in the same room.
    let (ann, me) = common::site::sign_up(two, "Ann", "a long password").await;
    let ann_id = me["user"].as_str().unwrap().to_string();
    let mut tab = common::site::socket_with_cookie(two, Some(&ann)).await;
    tab.send(json!({"type":"join","room":"ops"})).await;
    tab.recv_type("joined").await;
    let mut guest = Client::connect(one).await;
    guest.join("ops", "gus").await;
    guest.publish("ops", "hello ops", "g1").await;

    // Numbers: every node, within a few seconds.
    let mut nodes = 0;
    for _ in 0..50 {
        let (s, o) = api(one, "GET", "/api/admin/overview", Value::Null, &cookie).await;
        assert_eq!(s, 200, "{o}");
        nodes = o["nodes"].as_array().unwrap().len();
        let busiest = o["busiest"].clone();
        if nodes == app.addrs.len() && busiest[0]["room"] == "ops" && busiest[0]["connections"] == 2
        {
            assert!(o["nodes"][0]["connections"].as_u64().unwrap() >= 1);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(nodes, app.addrs.len(), "every node is shown");

    // The room's connections, asked of node one: Ann's (on node two) and the guest's
    // (on node one) are both listed. Disconnect Ann's → 1012, then she comes back as
    // the same user.
    let (s, list) = api(
        one,
        "GET",
        "/api/admin/rooms/ops/connections",
        Value::Null,
        &with_key,
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let conn = list["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["user"] == ann_id.as_str())
        .cloned()
        .expect("Ann's connection is listed");
    assert_eq!(conn["name"], "Ann");
    assert!(conn["address"].as_str().unwrap().starts_with("127."));
    let names: Vec<&str> = list["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "every node's connections: {list}");
    assert!(names.contains(&"gus"), "{list}");
    let path = format!(
        "/api/admin/connections/{}/{}/disconnect",
        conn["node"].as_str().unwrap(),
        conn["id"]
    );
    let (s, _) = api(one, "POST", &path, Value::Null, &cookie).await;
    assert_eq!(s, 204);
    assert_eq!(tab.ended().await, common::Ended::Closed(Some(1012)));
    let mut back = common::site::socket_with_cookie(two, Some(&ann)).await;
    back.send(json!({"type":"join","room":"ops","since":1}))
        .await;
    let joined = back.recv_type("joined").await;
    assert_eq!(joined["recovered"], true);
    let ack = back.publish("ops", "still me", "a1").await;
    assert_eq!(ack["type"], "ack");
    let h = {
        back.send(json!({"type":"history","room":"ops"})).await;
        back.recv_type("history").await
    };
    assert_eq!(h["messages"][1]["user"], ann_id.as_str(), "the same user");

    // A server-wide ban: closed at once on every node, then every room refuses her.
    let (s, _) = api(
        one,
        "PUT",
        &format!("/api/admin/bans/{ann_id}"),
        json!({}),
        &with_key,
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(back.ended().await, common::Ended::Closed(Some(1012)));
    let mut again = common::site::socket_with_cookie(one, Some(&ann)).await;
    for room in ["ops", "anywhere"] {
        again.send(json!({"type":"join","room":room})).await;
        assert_eq!(
            again.recv_type("error").await["code"],
            "forbidden",
            "{room}"
        );
    }
    let (s, _) = api(
        two,
        "DELETE",
        &format!("/api/admin/bans/{ann_id}"),
        Value::Null,
        &cookie,
    )
    .await;
    assert_eq!(s, 204);
    again.send(json!({"type":"join","room":"ops"})).await;
    assert_eq!(again.recv_type("joined").await["type"], "joined", "lifted");

    // Deleting the room's history: the name must be repeated; members are sent away and
    // find the room empty under a new epoch.
    let (s, b) = api(
        one,
        "POST",
        "/api/admin/rooms/ops/purge",
        json!({"confirm":"op"}),
        &with_key,
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("bad_frame")));
    let (s, page) = api(one, "GET", "/api/rooms/ops/messages", Value::Null, &[]).await;
    assert_eq!(s, 200);
    let old_epoch = page["epoch"].clone();
    let (s, _) = api(
        one,
        "POST",
        "/api/admin/rooms/ops/purge",
        json!({"confirm":"ops"}),
        &with_key,
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(guest.ended().await, common::Ended::Closed(Some(1012)));
    let (_, page) = api(two, "GET", "/api/rooms/ops/messages", Value::Null, &[]).await;
    assert_eq!(page["messages"], json!([]));
    assert_ne!(page["epoch"], old_epoch);
    let mut fresh = Client::connect(two).await;
    fresh.join("ops", "new").await;
    assert_eq!(fresh.publish("ops", "first again", "n1").await["seq"], 1);
    let (s, audit) = api(one, "GET", "/api/rooms/ops/audit", Value::Null, &with_key).await;
    assert_eq!(s, 200);
    assert_eq!(
        audit["acts"].as_array().unwrap().last().unwrap()["act"],
        "purge"
    );

    // The page: numbers, the room's connections, the forms.
    let (s, _, html) = http_full(one, "GET", "/admin?room=ops", &[("Cookie", &root)], "").await;
    assert_eq!(s, 200);
    for text in [
        "Live numbers",
        "Busiest rooms",
        "Connections in ",
        "Ban a user from every room",
        "Delete history",
    ] {
        assert!(html.contains(text), "{text}");
    }
}

#[tokio::test]
async fn an_operator_sees_the_server_and_acts_on_it_on_one_node() {
    operator_on(Mode::Single).await;
}

#[tokio::test]
async fn an_operator_sees_every_node_and_acts_on_all_of_them() {
    operator_on(Mode::Cluster).await;
}
