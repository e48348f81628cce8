//! What the open internet sends: foreign pages, one address opening too many sockets,
//! servers publishing over HTTP with and without the key. Over real sockets.

mod common;

use common::{http, spawn_app, spawn_app_with, Client, WAIT};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;

/// Tries an upgrade with this `Origin`: Ok, or the HTTP status it was refused with.
async fn upgrade_with_origin(addr: std::net::SocketAddr, origin: Option<&str>) -> Result<(), u16> {
    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(WsError::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[tokio::test]
async fn a_foreign_origin_is_refused_with_403() {
    let app = spawn_app_with(|c| c.allowed_origins = vec!["https://partner.example".into()]).await;
    let own = format!("http://{}", app.addr);
    assert_eq!(
        upgrade_with_origin(app.addr, None).await,
        Ok(()),
        "no Origin: not a browser"
    );
    assert_eq!(
        upgrade_with_origin(app.addr, Some(&own)).await,
        Ok(()),
        "the page's own"
    );
    assert_eq!(
        upgrade_with_origin(app.addr, Some("https://partner.example")).await,
        Ok(()),
        "allow-listed"
    );
    assert_eq!(
        upgrade_with_origin(app.addr, Some("https://evil.example")).await,
        Err(403)
    );
    assert_eq!(upgrade_with_origin(app.addr, Some("null")).await, Err(403));
    // The server goes on serving everyone else.
    let mut c = app.client().await;
    assert_eq!(c.join("r", "ann").await["type"], "joined");
}

#[tokio::test]
async fn one_address_cannot_take_every_socket() {
    let app = spawn_app_with(|c| c.max_conns_per_ip = 3).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(app.client().await);
    }
    assert_eq!(upgrade_with_origin(app.addr, None).await, Err(429));
    // The open ones keep working.
    open[0].assert_only_pong().await;
    // A closed one gives its place back.
    drop(open.pop());
    tokio::time::timeout(WAIT, async {
        loop {
            if upgrade_with_origin(app.addr, None).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a place frees up");
}

const KEY: &str = "test-key-0123456789abcdef";

async fn post(app: &common::TestApp, room: &str, auth: Option<&str>, body: &str) -> (u16, Value) {
    let header = auth.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(h) = header.as_deref() {
        headers.push(("Authorization", h));
    }
    let (status, text) = http(
        app.addr,
        "POST",
        &format!("/api/rooms/{room}/messages"),
        &headers,
        body,
    )
    .await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn publishing_over_http_needs_the_key_and_behaves_like_a_socket() {
    let app = spawn_app_with(|c| c.api_key = Some(KEY.into())).await;
    let mut member = app.client().await;
    member.join("quotes", "reader").await;
    let msg = json!({"name":"ticker","body":"ACME 101.5 ▲","client_id":"q-1"}).to_string();

    let (status, err) = post(&app, "quotes", None, &msg).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("unauthorized")));
    let (status, _) = post(&app, "quotes", Some("wrong-key-wrong-key-wrong"), &msg).await;
    assert_eq!(status, 401);

    let (status, ok) = post(&app, "quotes", Some(KEY), &msg).await;
    assert_eq!(status, 201, "{ok}");
    assert_eq!(ok, json!({"seq": 1}));
    let m = member.recv_type("message").await;
    assert_eq!(
        (m["from"].as_str(), m["body"].as_str(), m["seq"].as_u64()),
        (Some("ticker"), Some("ACME 101.5 ▲"), Some(1))
    );

    // A retry is answered with the original seq and broadcasts nothing.
    let (status, again) = post(&app, "quotes", Some(KEY), &msg).await;
    assert_eq!((status, again), (200, json!({"seq": 1, "duplicate": true})));
    member.assert_only_pong().await;

    // Validation in the contract's order, with its codes.
    for (room, body, code) in [
        ("bad room", msg.as_str(), "invalid_room"),
        ("quotes", "not json", "bad_frame"),
        ("quotes", "[1]", "bad_frame"),
        (
            "quotes",
            r#"{"name":"","body":"","client_id":"!"}"#,
            "invalid_name",
        ),
        (
            "quotes",
            r#"{"name":"t","body":"   ","client_id":"!"}"#,
            "invalid_body",
        ),
        (
            "quotes",
            r#"{"name":"t","body":"x","client_id":"!"}"#,
            "invalid_client_id",
        ),
    ] {
        let room = room.replace(' ', "%20");
        let (status, err) = post(&app, &room, Some(KEY), body).await;
        assert_eq!((status, err["code"].as_str()), (400, Some(code)), "{body}");
    }
    member.assert_only_pong().await;
    let (_, page) = common::http_get(app.addr, "/api/rooms/quotes/messages").await;
    let page: Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["last_seq"], 1, "nothing else was stored");
    // The scheme is case-insensitive (RFC 7235).
    let lower = format!("bearer {KEY}");
    let (status, _) = http(
        app.addr,
        "POST",
        "/api/rooms/quotes/messages",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &lower),
        ],
        &json!({"name":"ticker","body":"lower","client_id":"q-lower"}).to_string(),
    )
    .await;
    assert_eq!(status, 201, "`bearer` is `Bearer`");
    assert_eq!(member.recv_type("message").await["body"], "lower");
}

#[tokio::test]
async fn publishing_over_http_is_off_without_a_key() {
    let app = spawn_app().await;
    let body = json!({"name":"t","body":"x","client_id":"c"}).to_string();
    let (status, err) = post(&app, "r", Some(KEY), &body).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("not_found")));
    let _ = Client::connect(app.addr).await;
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_nonce_csp() {
    let app = spawn_app().await;
    let (status, head, html) = common::http_full(app.addr, "GET", "/r/secure", &[], "").await;
    assert_eq!(status, 200);
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("x-frame-options: deny"));
    let csp = head
        .lines()
        .find_map(|l| l.strip_prefix("content-security-policy: "))
        .expect("a CSP header");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("a nonce");
    // Every inline script of the page carries this response's nonce (the head was
    // lower-cased by the helper, so compare the body the same way).
    let html = html.to_ascii_lowercase();
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    let with_nonce = html.matches(&format!("nonce=\"{nonce}\"")).count();
    assert!(
        with_nonce >= scripts,
        "{scripts} scripts, {with_nonce} with the nonce"
    );
    // Another response, another nonce.
    let (_, head2, _) = common::http_full(app.addr, "GET", "/r/secure", &[], "").await;
    assert!(!head2.contains(nonce));
    // The API gets the generic headers too.
    let (_, head, _) = common::http_full(app.addr, "GET", "/api/rooms/x/messages", &[], "").await;
    assert!(head.contains("x-content-type-options: nosniff"));
}

/// A name that could pass for another member's (a right-to-left override, a zero-width
/// space) is refused with `invalid_name`; the socket stays open.
#[tokio::test]
async fn names_that_could_pass_for_another_member_are_refused() {
    let app = spawn_app().await;
    let mut c = app.client().await;
    for name in ["ann\u{200B}", "\u{202E}nna", "a\u{2066}nn"] {
        c.send(json!({"type":"join","room":"r","name":name})).await;
        let f = c.recv().await;
        assert_eq!(f["code"], "invalid_name", "{name:?}: {f}");
    }
    assert_eq!(c.join("r", "ann").await["type"], "joined");
}

/// Sends a request head and only `sent` bytes of the body it announces; returns the
/// answer's status line, or `None` if none came within `wait`.
async fn half_body(
    addr: std::net::SocketAddr,
    path: &str,
    auth: Option<&str>,
    announced: usize,
    sent: usize,
    wait: std::time::Duration,
) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = auth.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}Content-Length: {announced}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let _ = s.write_all(&vec![b' '; sent]).await;
    let mut buf = [0u8; 256];
    match tokio::time::timeout(wait, s.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(
            String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
        _ => None,
    }
}

/// A body is read only after the key is checked, at most `--max-body-bytes` of it, within
/// `--body-timeout`: a keyless client is answered at once, whatever it announces.
#[tokio::test]
async fn api_bodies_are_read_after_the_key_bounded_and_in_time() {
    let app = spawn_app_with(|c| {
        c.api_key = Some(KEY.into());
        c.body_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let path = "/api/rooms/r/messages";
    let wait = std::time::Duration::from_secs(5);
    let keyless = half_body(app.addr, path, None, 2_000_000, 1000, wait).await;
    assert_eq!(
        keyless.as_deref(),
        Some("HTTP/1.1 401 Unauthorized"),
        "answered before the body"
    );
    let too_big = half_body(app.addr, path, Some(KEY), 40_000, 0, wait).await;
    assert_eq!(too_big.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    let stalled = half_body(app.addr, path, Some(KEY), 100, 10, wait).await;
    assert_eq!(stalled.as_deref(), Some("HTTP/1.1 408 Request Timeout"));
    // Bodies that do not announce their length are counted as they come.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 8192, "x".repeat(8192));
        for _ in 0..5 {
            let _ = s.write_all(chunk.as_bytes()).await;
        }
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(wait, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("bad_frame"), "{answer}");
    }
    // The pages' routes (and their server functions) are bounded the same way.
    let page = half_body(app.addr, "/r/general", None, 40_000, 0, wait).await;
    assert_eq!(page.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    // And the server still serves.
    let body = json!({"name":"t","body":"fine","client_id":"ok1"}).to_string();
    assert_eq!(post(&app, "r", Some(KEY), &body).await.0, 201);
}

/// The close the server sends for one raw frame, as a client library sees it: the code,
/// or `None` when the connection ended without a close frame.
async fn close_after(
    addr: std::net::SocketAddr,
    frame: tokio_tungstenite::tungstenite::Message,
) -> Option<u16> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    ws.send(frame).await.unwrap();
    let ended = tokio::time::timeout(WAIT, async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Close(c)) => return c.map(|c| u16::from(c.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    });
    ended.await.expect("the server ends it in time")
}

/// A client's close is answered (RFC 6455), and frames that break WebSocket itself are
/// closed with their code instead of a dropped connection (1006 at the client).
#[tokio::test]
async fn closes_are_answered_and_bad_websocket_frames_get_their_code() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_app().await;
    let bye = Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }));
    assert_eq!(
        close_after(app.addr, bye).await,
        Some(1000),
        "the close is answered"
    );
    let not_utf8 = Message::Frame(Frame::message(
        vec![0xff, 0xfe, b'{'],
        OpCode::Data(Data::Text),
        true,
    ));
    assert_eq!(close_after(app.addr, not_utf8).await, Some(1007));
    let unknown_opcode = Message::Frame(Frame::message(
        b"x".to_vec(),
        OpCode::Data(Data::Reserved(3)),
        true,
    ));
    assert_eq!(close_after(app.addr, unknown_opcode).await, Some(1002));
    assert_eq!(app.client().await.join("r", "ann").await["type"], "joined");
}

/// A page on a name its owner points at 127.0.0.1 (DNS rebinding) is "same origin" with a
/// server on loopback; the server answers only to its own names.
#[tokio::test]
async fn a_rebound_host_name_is_not_served() {
    let app = spawn_app().await;
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        s.write_all(b"GET /api/rooms/r/messages HTTP/1.1\r\nHost: evil.example:3000\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    }
    let mut req = format!("ws://{}/ws", app.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Host", "evil.example".parse().unwrap());
    req.headers_mut()
        .insert("Origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status().as_u16(), 403),
        other => panic!("a rebound socket opened: {:?}", other.map(|_| ())),
    }
    assert_eq!(common::http_get(app.addr, "/healthz").await.0, 200);
}

/// Joins, leaves and history requests each make the server send far more than it got (a
/// replay, a page, a presence frame to everyone in the room), so a connection has a
/// budget for them: past the burst they are refused with `rate_limited` and a hint, and
/// the room's members see a bounded number of presence frames however fast one socket
/// toggles.
#[tokio::test]
async fn joins_leaves_and_history_have_a_budget_per_connection() {
    let app = spawn_app_with(|c| {
        c.control_burst = 10;
        c.control_rate_per_sec = 1.0;
    })
    .await;
    let mut member = app.client().await;
    member.join("busy", "member").await;
    let mut toggler = app.client().await;
    let (mut refused, mut hint) = (0, None);
    for _ in 0..50 {
        toggler
            .send(json!({"type":"join","room":"busy","name":"toggler"}))
            .await;
        toggler.send(json!({"type":"leave","room":"busy"})).await;
    }
    toggler.send(json!({"type":"history","room":"busy"})).await;
    toggler.send(json!({"type":"ping"})).await;
    loop {
        let f = toggler.recv().await;
        match f["type"].as_str() {
            Some("pong") => break,
            Some("error") => {
                let code = f["code"].as_str().unwrap_or_default();
                assert!(["rate_limited", "not_joined"].contains(&code), "{f}");
                if code == "rate_limited" {
                    refused += 1;
                    hint = f["retry_after_ms"].as_u64();
                }
            }
            _ => {}
        }
    }
    // Ten tokens: five join + leave pairs; every later join (and the history) is refused,
    // and each refused join's leave is `not_joined` (it spends nothing).
    assert!(refused >= 45, "{refused} refused");
    assert!(hint.is_some_and(|ms| ms > 0 && ms <= 1000), "{hint:?}");
    // The member saw at most one presence frame per accepted join or leave.
    let mut presences = 0;
    while let Ok(f) =
        tokio::time::timeout(std::time::Duration::from_millis(500), member.recv()).await
    {
        if f["type"] == "presence" {
            presences += 1;
        }
    }
    assert!(presences <= 10, "{presences} presence frames");
}

/// Opens a socket claiming to be forwarded for `client`: kept open on success, or the
/// refusal's status.
async fn upgrade_forwarded(
    addr: std::net::SocketAddr,
    client: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    u16,
> {
    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    req.headers_mut()
        .insert("X-Forwarded-For", client.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// Behind a trusted proxy each client behind it has its own per-address limit; from
/// anyone else `X-Forwarded-For` is ignored (it would let one address be many).
#[tokio::test]
async fn per_address_limits_see_through_trusted_proxies_only() {
    let behind = spawn_app_with(|c| {
        c.max_conns_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let a1 = upgrade_forwarded(behind.addr, "203.0.113.5").await.unwrap();
    let a2 = upgrade_forwarded(behind.addr, "198.51.100.1, 203.0.113.5")
        .await
        .unwrap();
    assert_eq!(
        upgrade_forwarded(behind.addr, "203.0.113.5").await.err(),
        Some(429)
    );
    let b = upgrade_forwarded(behind.addr, "203.0.113.6").await;
    assert!(b.is_ok(), "another client behind the proxy");
    drop((a1, a2, b));

    let direct = spawn_app_with(|c| c.max_conns_per_ip = 2).await;
    let c1 = upgrade_forwarded(direct.addr, "203.0.113.5").await.unwrap();
    let c2 = upgrade_forwarded(direct.addr, "203.0.113.6").await.unwrap();
    assert_eq!(
        upgrade_forwarded(direct.addr, "203.0.113.7").await.err(),
        Some(429),
        "an untrusted peer's header is ignored"
    );
    drop((c1, c2));
}

/// One address's connections share one publish budget, and it may bring only so many
/// rooms into being per hour: a handful of sockets cannot fill the disk.
#[tokio::test]
async fn an_address_shares_one_publish_budget_and_creates_few_rooms() {
    let app = spawn_app_with(|c| {
        c.rate_per_sec = 100.0;
        c.rate_burst = 100;
        c.rate_per_ip_per_sec = Some(1.0);
        c.rate_per_ip_burst = Some(20);
        c.new_rooms_per_ip_per_hour = 3;
    })
    .await;
    // Rooms: three new ones are fine, the fourth is refused with a hint of minutes.
    let mut c = app.client().await;
    for r in ["n1", "n2", "n3", "n4"] {
        c.join(r, "ann").await;
    }
    for r in ["n1", "n2", "n3"] {
        c.publish(r, "first", &format!("first-{r}")).await;
    }
    c.send(json!({"type":"publish","room":"n4","body":"first","client_id":"first-n4"}))
        .await;
    let refused = c.recv_type("error").await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    assert!(
        refused["retry_after_ms"].as_u64().unwrap() > 60_000,
        "{refused}"
    );
    // Publishing in a room that already has messages is not a new room.
    c.publish("n1", "second", "second-n1").await;
    // Publishes: five sockets, each far under its own limit, share the address's 20.
    let mut sockets = Vec::new();
    for i in 0..5 {
        let mut s = app.client().await;
        s.join("n1", &format!("s{i}")).await;
        sockets.push(s);
    }
    let mut acked = 0;
    let mut limited = 0;
    for round in 0..6 {
        for (i, s) in sockets.iter_mut().enumerate() {
            s.send(json!({"type":"publish","room":"n1","body":"x","client_id":format!("r{round}-s{i}")}))
                .await;
        }
        for s in sockets.iter_mut() {
            loop {
                let f = s.recv().await;
                match (f["type"].as_str(), f["code"].as_str()) {
                    (Some("ack"), _) => {
                        acked += 1;
                        break;
                    }
                    (Some("error"), Some("rate_limited")) => {
                        limited += 1;
                        break;
                    }
                    _ => continue,
                }
            }
        }
    }
    // 20 tokens, 4 of them spent above: 30 publishes get about 16 acks (plus refills).
    assert!(acked <= 18, "{acked} acked");
    assert!(limited >= 12, "{limited} refused");
}
