//! A room's member list and the member page's forms, over real HTTP and sockets: who
//! may see the list, names from accounts (ids for token users), role changes and
//! removals that the next join honours; on one node and across two.

mod common;

use common::{http_full, spawn_with, Mode};
use serde_json::{json, Value};
use std::net::SocketAddr;

const API_KEY: &str = "members-test-api-key-0123456789";

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Value,
    cookie: Option<&str>,
) -> (u16, Value) {
    let h: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
    let (status, _, body) = common::site::call(addr, method, path, body, &h).await;
    (status, body)
}

/// The status of `GET /api/rooms/team/members` as `cookie`.
async fn list_status(addr: SocketAddr, cookie: Option<&str>) -> u16 {
    call(addr, "GET", "/api/rooms/team/members", Value::Null, cookie)
        .await
        .0
}

/// Posts the member page's form as `cookie`: where the 303 sends the browser.
async fn form(addr: SocketAddr, cookie: &str, fields: &str) -> String {
    let origin = format!("http://{addr}");
    let (status, head, _) = http_full(
        addr,
        "POST",
        "/account/members",
        &[
            ("Cookie", cookie),
            ("Origin", &origin),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        fields,
    )
    .await;
    assert_eq!(status, 303, "{head}");
    head.lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .unwrap_or_default()
        .trim()
        .to_string()
}

async fn joins(addr: SocketAddr, cookie: &str, room: &str) -> String {
    let mut c = common::site::socket_with_cookie(addr, Some(cookie)).await;
    c.send(json!({"type":"join","room":room})).await;
    let f = c.recv_skip_presence().await;
    f["code"]
        .as_str()
        .unwrap_or(f["type"].as_str().unwrap_or("?"))
        .to_string()
}

async fn members_on(mode: Mode) {
    let app = spawn_with(mode, |c| c.api_key = Some(API_KEY.into())).await;
    let one = app.addrs[0];
    let two = *app.addrs.last().unwrap();
    let (ann, me) = common::site::sign_up(one, "Ann", "a long password").await;
    let ann_id = me["user"].as_str().unwrap().to_string();
    let (bob, me) = common::site::sign_up(two, "Bob", "a long password").await;
    let bob_id = me["user"].as_str().unwrap().to_string();
    let (cy, me) = common::site::sign_up(one, "Cy", "a long password").await;
    let cy_id = me["user"].as_str().unwrap().to_string();
    let (dave, _) = common::site::sign_up(two, "Dave", "a long password").await;
    let (s, _) = call(
        one,
        "POST",
        "/api/rooms",
        json!({"room":"team","visibility":"private"}),
        Some(&ann),
    )
    .await;
    assert_eq!(s, 201);

    // The owner makes Bob a moderator on one node; the list on the other has both, by
    // name, the owner first. A token's user added with the API key is listed by id.
    let (s, _) = call(
        one,
        "PUT",
        &format!("/api/rooms/team/members/{bob_id}"),
        json!({"role":"moderator"}),
        Some(&ann),
    )
    .await;
    assert_eq!(s, 204);
    let (_, _, _) = common::site::call(
        one,
        "PUT",
        "/api/rooms/team/members/app:u7",
        json!({}),
        &[("Authorization", &format!("Bearer {API_KEY}"))],
    )
    .await;
    let (s, list) = call(
        two,
        "GET",
        "/api/rooms/team/members",
        Value::Null,
        Some(&ann),
    )
    .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(
        list,
        json!({"room":"team","members":[
            {"user": ann_id, "name": "Ann", "role": "owner"},
            {"user": bob_id, "name": "Bob", "role": "moderator"},
            {"user": "app:u7", "name": null, "role": "member"},
        ]})
    );
    // A moderator may see it; a stranger finds no room; a guest must sign in; a member
    // may not.
    assert_eq!(list_status(two, Some(&bob)).await, 200);
    let (s, b) = call(
        one,
        "GET",
        "/api/rooms/team/members",
        Value::Null,
        Some(&cy),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (404, Some("not_found")));
    assert_eq!(list_status(one, None).await, 401);
    let (s, _) = call(
        one,
        "PUT",
        &format!("/api/rooms/team/members/{cy_id}"),
        json!({}),
        Some(&bob),
    )
    .await;
    assert_eq!(s, 204, "a moderator adds members");
    let (s, b) = call(
        one,
        "GET",
        "/api/rooms/team/members",
        Value::Null,
        Some(&cy),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (403, Some("forbidden")));
    // The owner stays owner.
    let (s, b) = call(
        one,
        "PUT",
        &format!("/api/rooms/team/members/{ann_id}"),
        json!({"role":"member"}),
        Some(&bob),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("bad_frame")));

    // The member page: its forms add by account name, change a role, remove.
    assert_eq!(
        form(one, &ann, "room=team&action=add&name=nobody&role=member").await,
        "/r/team/members?error=no_account"
    );
    assert_eq!(joins(two, &dave, "team").await, "forbidden");
    assert_eq!(
        form(one, &ann, "room=team&action=add&name=dave&role=member").await,
        "/r/team/members?done=add"
    );
    assert_eq!(
        joins(two, &dave, "team").await,
        "joined",
        "added by name, in any case"
    );
    // Removed while in the room (on the other node): out at once, told why; added back.
    let mut in_room = common::site::socket_with_cookie(two, Some(&dave)).await;
    in_room.send(json!({"type":"join","room":"team"})).await;
    in_room.recv_type("joined").await;
    let (_, me) = call(two, "GET", "/api/session", Value::Null, Some(&dave)).await;
    let dave_id = me["user"].as_str().unwrap().to_string();
    let removal = format!("room=team&action=remove&user={dave_id}");
    assert_eq!(
        form(one, &ann, &removal).await,
        "/r/team/members?done=remove"
    );
    assert_eq!(
        in_room.recv_type("left").await,
        json!({"type":"left","room":"team","reason":"removed"})
    );
    in_room
        .send(json!({"type":"publish","room":"team","body":"here?","client_id":"d1"}))
        .await;
    assert_eq!(in_room.recv_type("error").await["code"], "not_joined");
    let again = "room=team&action=add&name=Dave&role=member";
    assert_eq!(form(one, &ann, again).await, "/r/team/members?done=add");
    assert_eq!(
        form(
            two,
            &ann,
            &format!("room=team&action=role&user={cy_id}&role=moderator")
        )
        .await,
        "/r/team/members?done=role"
    );
    assert_eq!(list_status(one, Some(&cy)).await, 200);
    assert_eq!(
        form(one, &ann, &format!("room=team&action=remove&user={cy_id}")).await,
        "/r/team/members?done=remove"
    );
    assert_eq!(
        joins(two, &cy, "team").await,
        "forbidden",
        "removed: the next join is refused"
    );
    assert_eq!(
        form(
            one,
            &ann,
            &format!("room=team&action=role&user={ann_id}&role=member")
        )
        .await,
        "/r/team/members?error=owner"
    );
    // Someone who does not manage the room is sent back to it, and nothing changes.
    assert_eq!(
        form(
            one,
            &dave,
            &format!("room=team&action=remove&user={bob_id}")
        )
        .await,
        "/r/team"
    );
    assert_eq!(list_status(two, Some(&bob)).await, 200);

    // The page itself: the list for a manager, "not found" for a member.
    let (s, _, page) = http_full(two, "GET", "/r/team/members", &[("Cookie", &ann)], "").await;
    assert_eq!(s, 200);
    for name in ["Ann", "Bob", "Dave", "app:u7", "Add someone"] {
        assert!(page.contains(name), "{name} on the page");
    }
    assert!(!page.contains(">Cy<"), "removed");
    let (s, _, _) = http_full(one, "GET", "/r/team/members", &[("Cookie", &dave)], "").await;
    assert_eq!(s, 404);

    // Every role change is in the room's audit log, in order, with who made it.
    let (s, audit) = call(two, "GET", "/api/rooms/team/audit", Value::Null, Some(&ann)).await;
    assert_eq!(s, 200, "{audit}");
    let acts: Vec<(&str, &str)> = audit["acts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["act"].as_str().unwrap(), a["by"].as_str().unwrap()))
        .collect();
    let (a, b) = (ann_id.as_str(), bob_id.as_str());
    assert_eq!(
        acts,
        [
            ("set_role", a),
            ("set_role", "api"),
            ("set_role", b),
            ("set_role", a),
            ("remove_member", a),
            ("set_role", a),
            ("set_role", a),
            ("remove_member", a),
        ]
    );
}

#[tokio::test]
async fn members_are_listed_for_managers_and_managed_on_one_node() {
    members_on(Mode::Single).await;
}

#[tokio::test]
async fn members_are_listed_for_managers_and_managed_across_two_nodes() {
    members_on(Mode::Cluster).await;
}
