//! The site as a browser uses it: JSON requests with the site's own `Origin`, accounts
//! and their session cookie, sockets that carry it.

use super::{http_full, Client};
use serde_json::{json, Value};
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A JSON request with the site's own `Origin` (as the pages send), plus `extra` headers:
/// (status, lower-cased head, JSON body or Null).
pub async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Value,
    extra: &[(&str, &str)],
) -> (u16, String, Value) {
    let origin = format!("http://{addr}");
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Origin", origin.as_str()),
    ];
    headers.extend_from_slice(extra);
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (status, head, body) = http_full(addr, method, path, &headers, &text).await;
    (
        status,
        head,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

/// The session cookie a response sets, as `chorus_session=…` for a `Cookie` header.
pub fn cookie_of(head: &str) -> String {
    let line = head
        .lines()
        .find(|l| l.starts_with("set-cookie: chorus_session="))
        .unwrap_or_else(|| panic!("no session cookie in\\n{head}"));
    line["set-cookie: ".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// Signs `name` up: its cookie and the answer (`user`, `name`).
pub async fn sign_up(addr: SocketAddr, name: &str, password: &str) -> (String, Value) {
    let (status, head, body) = call(
        addr,
        "POST",
        "/api/accounts",
        json!({"name": name, "password": password}),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (cookie_of(&head), body)
}

/// A socket whose upgrade carries `cookie` (as a browser's would).
pub async fn socket_with_cookie(addr: SocketAddr, cookie: Option<&str>) -> Client {
    socket_at(addr, "/ws", cookie).await
}

/// [`socket_with_cookie`] at `path` (e.g. with a query).
pub async fn socket_at(addr: SocketAddr, path: &str, cookie: Option<&str>) -> Client {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    if let Some(c) = cookie {
        req.headers_mut().insert("Cookie", c.parse().unwrap());
    }
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    Client { ws }
}

/// An HS256 token signed with `secret` for `sub`, shown as `name`, valid for ten minutes;
/// `extra` claims (`rooms`, …) are merged in.
pub fn hs256_token(secret: &str, sub: &str, name: &str, extra: serde_json::Value) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        + 600;
    let mut claims = serde_json::json!({"sub": sub, "name": name, "exp": exp});
    if let (Some(c), serde_json::Value::Object(more)) = (claims.as_object_mut(), extra) {
        c.extend(more);
    }
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()).expect("an HS256 key"),
    )
    .expect("a token")
}
