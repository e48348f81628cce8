//! The site's accounts over real HTTP and sockets, on a real database file: sign-up,
//! sign-in (throttled, no enumeration), the cookie and its flags, sign-out that ends the
//! sockets, the Origin rule, and no password in the log.

mod common;

use common::site::{call, cookie_of, sign_up, socket_with_cookie};
use common::{http_full, spawn_app};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test]
async fn sign_up_and_sign_in_set_a_fresh_flagged_cookie_and_bad_input_gets_its_code() {
    let app = spawn_app().await;
    let (status, head, body) = call(
        app.addr,
        "POST",
        "/api/accounts",
        json!({"name":"Ann","password":"correct horse"}),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "Ann");
    let user = body["user"].as_str().unwrap().to_string();
    assert!(user.starts_with("acct:"), "{user}");
    let set = head.lines().find(|l| l.starts_with("set-cookie:")).unwrap();
    for flag in ["httponly", "samesite=lax", "path=/", "secure", "max-age="] {
        assert!(set.contains(flag), "{flag} missing in {set}");
    }
    let first = cookie_of(&head);
    let (status, _, me) = call(
        app.addr,
        "GET",
        "/api/session",
        Value::Null,
        &[("Cookie", &first)],
    )
    .await;
    assert_eq!((status, me["user"].as_str()), (200, Some(user.as_str())));
    // Names are unique whatever their case; passwords 10-256; names by the name rules.
    for (name, password, status, code) in [
        ("aNN", "another password", 409, "name_taken"),
        ("Bo", "short", 400, "weak_password"),
        ("Bo", &"x".repeat(257), 400, "weak_password"),
        ("", "long enough password", 400, "invalid_name"),
        ("\u{202E}nnA", "long enough password", 400, "invalid_name"),
    ] {
        let (s, _, b) = call(
            app.addr,
            "POST",
            "/api/accounts",
            json!({"name": name, "password": password}),
            &[],
        )
        .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (status, Some(code)),
            "{name:?}: {b}"
        );
        assert_eq!(b["type"], "error");
    }
    let (s, _, b) = call(
        app.addr,
        "POST",
        "/api/accounts",
        json!({"name": "Bo"}),
        &[],
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("bad_frame")));
    // Sign-in: a new session id each time (no fixation), the old one still valid.
    let (status, head, body) = call(
        app.addr,
        "POST",
        "/api/session",
        json!({"name":"ann","password":"correct horse"}),
        &[("Cookie", &first)],
    )
    .await;
    assert_eq!((status, body["user"].as_str()), (200, Some(user.as_str())));
    let second = cookie_of(&head);
    assert_ne!(first, second);
    // Not in the database file as given (stored hashed).
    let value = first.split_once('=').unwrap().1;
    let db = std::fs::read(app.data_dir.path().join("chorus.db")).unwrap();
    let wal = std::fs::read(app.data_dir.path().join("chorus.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !String::from_utf8_lossy(bytes).contains(value),
            "the session id is stored hashed"
        );
        assert!(
            !String::from_utf8_lossy(bytes).contains("correct horse"),
            "the password is hashed"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_name_look_the_same_and_failures_are_throttled() {
    let app = spawn_app().await;
    sign_up(app.addr, "Cy", "the right password").await;
    let attempt = |name: &'static str, password: &'static str| {
        let addr = app.addr;
        async move {
            let t = Instant::now();
            let (s, _, b) = call(
                addr,
                "POST",
                "/api/session",
                json!({"name": name, "password": password}),
                &[],
            )
            .await;
            (s, b, t.elapsed())
        }
    };
    let (s1, wrong, t_wrong) = attempt("cy", "the wrong password").await;
    let (s2, unknown, t_unknown) = attempt("nobody-here", "the wrong password").await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong, unknown, "identical bodies");
    // Both ran one Argon2 check: the times are alike (coarsely; a name lookup alone
    // would answer in well under a tenth of a hash).
    let ratio = t_wrong.as_secs_f64() / t_unknown.as_secs_f64();
    assert!(
        (0.33..3.0).contains(&ratio),
        "wrong {t_wrong:?} vs unknown {t_unknown:?}"
    );
    // Ten failures for one name (two above, eight here) and it waits, even with the
    // right password.
    for _ in 0..8 {
        assert_eq!(attempt("cy", "the wrong password").await.0, 401);
    }
    let (s, b, _) = attempt("cy", "the right password").await;
    assert_eq!((s, b["code"].as_str()), (429, Some("rate_limited")), "{b}");
    assert!(b["retry_after_ms"].as_u64().unwrap() > 60_000);
}

/// A nameless join makes a guest a reader (docs/protocol.md, "Readers"), whose publish
/// is `invalid_name`; a user's would be stored.
async fn assert_reads_as_a_guest(c: &mut common::Client) {
    c.send(json!({"type":"join","room":"acc"})).await;
    assert!(c.recv_type("joined").await["members"].as_array().is_some());
    c.send(json!({"type":"publish","room":"acc","body":"x","client_id":"r1"}))
        .await;
    assert_eq!(c.recv_type("error").await["code"], "invalid_name");
}

/// A socket opened with the cookie is the account's; signing out ends the session on
/// the server and closes that socket with 4001; other sites cannot sign anyone out.
#[tokio::test]
async fn the_cookie_makes_the_socket_a_user_and_sign_out_closes_it() {
    let app = spawn_app().await;
    let (cookie, me) = sign_up(app.addr, "Dee", "a long password").await;
    let mut dee = socket_with_cookie(app.addr, Some(&cookie)).await;
    dee.send(json!({"type":"join","room":"acc"})).await;
    assert_eq!(dee.recv_type("joined").await["members"], json!(["Dee"]));
    let mut other = app.client().await;
    other.join("acc", "other").await;
    dee.publish("acc", "hi", "d1").await;
    assert_eq!(other.recv_type("message").await["user"], me["user"]);
    // An embedded page's socket ignores the cookie: a guest, whom a token signs in.
    let mut embedded = common::site::socket_at(app.addr, "/ws?cookie=ignore", Some(&cookie)).await;
    assert_reads_as_a_guest(&mut embedded).await;
    // A stale or made-up cookie is a guest, not an error.
    let mut guest = socket_with_cookie(app.addr, Some("chorus_session=made-up")).await;
    assert_reads_as_a_guest(&mut guest).await;
    // Another site's page, or a request with no Origin, cannot use the cookie to change
    // state: 403, and the session lives on.
    for origin in [Some("https://evil.example"), None] {
        let mut headers = vec![("Cookie", cookie.as_str())];
        if let Some(o) = origin {
            headers.push(("Origin", o));
        }
        let (status, _, body) = http_full(app.addr, "DELETE", "/api/session", &headers, "").await;
        assert_eq!(status, 403, "{origin:?}: {body}");
    }
    let (s, _, b) = http_full(
        app.addr,
        "POST",
        "/api/session",
        &[("Origin", "https://evil.example")],
        r#"{"name":"Dee","password":"a long password"}"#,
    )
    .await;
    assert_eq!(s, 403, "{b}");
    let (s, _, _) = call(
        app.addr,
        "GET",
        "/api/session",
        Value::Null,
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(s, 200);
    // Sign-out from the site itself.
    let (status, head, _) = call(
        app.addr,
        "DELETE",
        "/api/session",
        Value::Null,
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(status, 204);
    assert!(
        head.contains("set-cookie: chorus_session=;") && head.contains("max-age=0"),
        "{head}"
    );
    assert_eq!(dee.ended().await, common::Ended::Closed(Some(4001)));
    let (s, _, b) = call(
        app.addr,
        "GET",
        "/api/session",
        Value::Null,
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthorized")));
    let mut after = socket_with_cookie(app.addr, Some(&cookie)).await;
    assert_reads_as_a_guest(&mut after).await; // a guest again
}

/// No password, cookie or session id reaches the server's log.
#[tokio::test]
async fn passwords_and_cookies_stay_out_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::process::ServerProcess::start_logging(dir.path(), &[], "debug").await;
    let password = "a-password-to-look-for";
    let (cookie, _) = sign_up(server.addr, "Eve", password).await;
    call(
        server.addr,
        "POST",
        "/api/session",
        json!({"name":"eve","password":"wrong-password-to-look-for"}),
        &[],
    )
    .await;
    drop(socket_with_cookie(server.addr, Some(&cookie)).await);
    call(
        server.addr,
        "DELETE",
        "/api/session",
        Value::Null,
        &[("Cookie", &cookie)],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log_text();
    assert!(!log.is_empty());
    let value = cookie.split_once('=').unwrap().1;
    for secret in [password, "wrong-password-to-look-for", value] {
        assert!(!log.contains(secret), "{secret:?} is in the log");
    }
}

/// On a cluster accounts live in Redis: a session made on node A works on node B, and a
/// sign-out on A is honoured by B at once, its socket there closed with 4001.
#[tokio::test]
async fn a_session_made_on_one_node_works_on_another_and_sign_out_reaches_it() {
    let app = common::spawn(common::Mode::Cluster).await;
    let (a, b) = (app.addrs[0], app.addrs[1]);
    let (cookie, me) = sign_up(a, "Fay", "a long password").await;
    let (s, _, who) = call(
        b,
        "GET",
        "/api/session",
        Value::Null,
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!((s, &who["user"]), (200, &me["user"]));
    let (s, _, _) = call(
        b,
        "POST",
        "/api/session",
        json!({"name":"fay","password":"a long password"}),
        &[],
    )
    .await;
    assert_eq!(s, 200, "signing in on B works too");
    let mut on_b = socket_with_cookie(b, Some(&cookie)).await;
    on_b.send(json!({"type":"join","room":"both"})).await;
    assert_eq!(on_b.recv_type("joined").await["members"], json!(["Fay"]));
    let (s, _, _) = call(
        a,
        "DELETE",
        "/api/session",
        Value::Null,
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(on_b.ended().await, common::Ended::Closed(Some(4001)));
    let (s, _, _) = call(
        b,
        "GET",
        "/api/session",
        Value::Null,
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(s, 401);
}
