//! v1.1 identity over real sockets: tokens in `auth` frames, names that cannot be
//! forged, guests off, refresh and expiry (4001) with a lossless resume, the
//! `chorus token` tool, and no secret in the server's log.

mod common;

use common::{spawn_app_with, Client};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::time::Duration;

const SECRET: &str = "identity-tests-secret-0123456789abcdef";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An HS256 token for `sub` named `name`, valid for `ttl` seconds (negative: expired).
fn token(sub: &str, name: &str, ttl: i64) -> String {
    let exp = (now() as i64 + ttl) as u64;
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": sub, "name": name, "exp": exp}),
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn with_tokens(c: &mut chorus::server::config::Config) {
    c.identity.jwt_secret = Some(chorus::server::config::Secret::new(SECRET));
    c.rate_per_sec = 10_000.0;
    c.rate_burst = 10_000;
}

async fn auth(c: &mut Client, token: &str) -> Value {
    c.send(json!({"type":"auth","token":token})).await;
    c.recv_skip_presence().await
}

#[tokio::test]
async fn a_token_gives_a_name_nobody_can_forge_and_bad_tokens_leave_the_socket_alive() {
    let app = spawn_app_with(with_tokens).await;
    let mut ann = app.client().await;
    let authed = auth(&mut ann, &token("u-ann", "Ann", 600)).await;
    assert_eq!(authed["type"], "authed", "{authed}");
    assert_eq!(
        (authed["user"].as_str(), authed["name"].as_str()),
        (Some("u-ann"), Some("Ann"))
    );
    assert!(authed["expires_at"].as_u64().unwrap() > now() * 1000);
    // The join's name is ignored (even an invalid one): the room sees the identity's.
    ann.send(json!({"type":"join","room":"id1","name":"\u{202E}bob"}))
        .await;
    let joined = ann.recv_type("joined").await;
    assert_eq!(joined["members"], json!(["Ann"]));
    // A guest calling itself Ann is still a guest: its messages carry no user.
    let mut fake = app.client().await;
    fake.join("id1", "Ann").await;
    fake.publish("id1", "I am Ann", "f1").await;
    let forged = ann.recv_type("message").await;
    assert_eq!(
        (forged["from"].as_str(), forged.get("user")),
        (Some("Ann"), None)
    );
    ann.publish("id1", "the real Ann", "a1").await;
    let real = fake.recv_type("message").await;
    assert_eq!(real["user"], "u-ann");
    // Stored with it: history says the same.
    fake.send(json!({"type":"history","room":"id1"})).await;
    let page = fake.recv_type("history").await;
    assert_eq!(page["messages"][0].get("user"), None);
    assert_eq!(page["messages"][1]["user"], "u-ann");
    // Refusals: each with its code; the connection and its identity stay.
    for (bad, code) in [
        (token("u-ann", "Ann", -120), "token_expired"),
        (token("u-bob", "Bob", 600), "unauthorized"),
        ("not-a-token".to_string(), "unauthorized"),
        (
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &json!({"sub": "u-ann", "exp": now() + 600}),
                &EncodingKey::from_secret(b"some-other-secret-of-32-bytes-or-more").unwrap(),
            )
            .unwrap(),
            "unauthorized",
        ),
    ] {
        let refused = auth(&mut ann, &bad).await;
        assert_eq!(
            (refused["type"].as_str(), refused["code"].as_str()),
            (Some("error"), Some(code)),
            "{refused}"
        );
        assert!(
            !refused["message"].as_str().unwrap().contains(&bad),
            "the token is not echoed"
        );
    }
    ann.send(json!({"type":"auth"})).await;
    assert_eq!(ann.recv_type("error").await["code"], "unauthorized");
    ann.publish("id1", "still me", "a2").await;
    assert_eq!(fake.recv_type("message").await["user"], "u-ann");
    // A refresh for the same user is fine.
    assert_eq!(
        auth(&mut ann, &token("u-ann", "Ann", 900)).await["type"],
        "authed"
    );
}

#[tokio::test]
async fn a_guest_who_authenticates_is_renamed_in_its_rooms() {
    let app = spawn_app_with(with_tokens).await;
    let mut c = app.client().await;
    c.join("id2", "visitor").await;
    let mut watcher = app.client().await;
    watcher.join("id2", "watcher").await;
    c.send(json!({"type":"auth","token":token("u-cy", "Cy", 600)}))
        .await;
    assert_eq!(c.recv_type("authed").await["name"], "Cy");
    loop {
        let f = watcher.recv().await;
        if f["type"] == "presence" && f["members"] == json!(["Cy", "watcher"]) {
            break;
        }
    }
    c.publish("id2", "hello", "c1").await;
    let m = watcher.recv_type("message").await;
    assert_eq!(
        (m["from"].as_str(), m["user"].as_str()),
        (Some("Cy"), Some("u-cy"))
    );
}

#[tokio::test]
async fn without_keys_auth_is_unauthorized_and_with_guests_off_only_users_speak() {
    let plain = spawn_app_with(|_| {}).await;
    let mut c = plain.client().await;
    let refused = auth(&mut c, &token("u1", "A", 60)).await;
    assert_eq!(refused["code"], "unauthorized");
    c.join("open", "guest").await;

    let closed = spawn_app_with(|c| {
        with_tokens(c);
        c.identity.guests = chorus::server::config::Guests::Off;
    })
    .await;
    let mut guest = closed.client().await;
    guest
        .send(json!({"type":"join","room":"members","name":"g"}))
        .await;
    let e = guest.recv_type("error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("unauthorized"), Some("members"))
    );
    // Who is asking comes before whether it joined.
    guest
        .send(json!({"type":"publish","room":"members","body":"x","client_id":"g1"}))
        .await;
    let e = guest.recv_type("error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("unauthorized"), Some("g1"))
    );
    // Validation still comes first: a guest's bad name is invalid_name.
    guest
        .send(json!({"type":"join","room":"members","name":""}))
        .await;
    assert_eq!(guest.recv_type("error").await["code"], "invalid_name");
    let mut user = closed.client().await;
    auth(&mut user, &token("u-dee", "Dee", 600)).await;
    user.send(json!({"type":"join","room":"members"})).await;
    assert_eq!(user.recv_type("joined").await["members"], json!(["Dee"]));
    user.publish("members", "hi", "d1").await;
}

/// A member whose token expires while 2,000 messages stream is closed with 4001, comes
/// back with a fresh token and `since`, and has every seq exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_mid_stream_closes_4001_and_the_resume_loses_nothing() {
    let app = spawn_app_with(|c| {
        with_tokens(c);
        c.identity.jwt_leeway = Duration::ZERO;
    })
    .await;
    let mut reader = app.client().await;
    auth(&mut reader, &token("u-eve", "Eve", 2)).await;
    reader.send(json!({"type":"join","room":"stream"})).await;
    let epoch = reader.recv_type("joined").await["epoch"].clone();
    let addr = app.addr;
    let writer = tokio::spawn(async move {
        let mut w = Client::connect(addr).await;
        w.join("stream", "writer").await;
        for batch in 0..40 {
            for i in 0..50 {
                w.send(json!({"type":"publish","room":"stream","body":"m","client_id":format!("w{batch}-{i}")}))
                    .await;
            }
            let mut acked = 0;
            while acked < 50 {
                if w.recv().await["type"] == "ack" {
                    acked += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut seqs = Vec::new();
    let closed = loop {
        match tokio::time::timeout(
            Duration::from_secs(10),
            futures::StreamExt::next(&mut reader.ws),
        )
        .await
        .expect("a frame or the close in time")
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                let f: Value = serde_json::from_str(t.as_str()).unwrap();
                if f["type"] == "message" {
                    seqs.push(f["seq"].as_u64().unwrap());
                }
            }
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(c))) => {
                break c.map(|c| u16::from(c.code))
            }
            Some(Ok(_)) => {}
            other => panic!("the socket ended without a close: {other:?}"),
        }
    };
    assert_eq!(closed, Some(4001));
    let last = *seqs.last().expect("some messages before the expiry");
    assert!(last < 2000, "the expiry came mid-stream (at {last})");
    let mut back = app.client().await;
    assert_eq!(
        auth(&mut back, &token("u-eve", "Eve", 600)).await["type"],
        "authed"
    );
    back.send(json!({"type":"join","room":"stream","since":last,"epoch":epoch}))
        .await;
    assert_eq!(back.recv_type("joined").await["recovered"], true);
    while seqs.len() < 2000 {
        let f = back.recv_skip_presence().await;
        if f["type"] == "message" {
            seqs.push(f["seq"].as_u64().unwrap());
        }
    }
    writer.await.unwrap();
    assert_eq!(
        seqs,
        (1..=2000).collect::<Vec<u64>>(),
        "every seq once, in order"
    );
}

/// `chorus token` mints what the server accepts; the server's log never holds the
/// secret, a token or the API key.
#[tokio::test]
async fn the_token_tool_mints_accepted_tokens_and_secrets_stay_out_of_the_log() {
    let bin = common::process::server_bin();
    let out = std::process::Command::new(&bin)
        .args([
            "token",
            "--sub",
            "u-op",
            "--name",
            "Op",
            "--ttl",
            "10m",
            "--room",
            "ops-*:read,publish",
        ])
        .env("CHORUS_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let minted = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let no_secret = std::process::Command::new(&bin)
        .args(["token", "--sub", "u-op"])
        .env_remove("CHORUS_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!no_secret.status.success());

    let dir = tempfile::tempdir().unwrap();
    let api_key = "api-key-for-the-log-test-0123456789";
    let server = common::process::ServerProcess::start_logging(
        dir.path(),
        &["--jwt-secret", SECRET, "--api-key", api_key],
        "debug",
    )
    .await;
    let mut c = Client::connect(server.addr).await;
    assert_eq!(auth(&mut c, &minted).await["name"], "Op");
    c.send(json!({"type":"join","room":"ops-1"})).await;
    c.recv_type("joined").await;
    c.publish("ops-1", "logged?", "o1").await;
    auth(&mut c, &format!("{minted}x")).await;
    auth(&mut c, &token("u-op", "Op", -100)).await;
    let (status, _) = common::http(
        server.addr,
        "POST",
        "/api/rooms/ops-1/messages",
        &[
            ("Authorization", &format!("Bearer {api_key}x")),
            ("Content-Type", "application/json"),
        ],
        r#"{"name":"bot","body":"hi","client_id":"b1"}"#,
    )
    .await;
    assert_eq!(status, 401);
    drop(c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log_text();
    assert!(!log.is_empty(), "the server logged something");
    for secret in [SECRET, api_key, &minted, minted.split('.').nth(2).unwrap()] {
        assert!(!log.contains(secret), "{secret:?} is in the log");
    }
    assert_eq!(server.terminate().await.code(), Some(0));
}

/// Public-key tokens over the socket: `--jwt-keys` holds PEM files named by their `kid`.
#[tokio::test]
async fn public_key_tokens_are_picked_by_kid() {
    let keys = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys");
    let app = spawn_app_with(|c| c.identity.jwt_keys = Some(keys.join("public"))).await;
    let sign = |alg: Algorithm, kid: &str, key: &str| {
        let pem = std::fs::read(keys.join("private").join(format!("{key}.pem"))).unwrap();
        let k = match alg {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem).unwrap(),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
            _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
        };
        let mut h = Header::new(alg);
        h.kid = Some(kid.to_string());
        jsonwebtoken::encode(&h, &json!({"sub": "u-k", "exp": now() + 600}), &k).unwrap()
    };
    let mut c = app.client().await;
    for (alg, kid, key, answer) in [
        (Algorithm::RS256, "ed-a", "rsa", "unauthorized"),
        (Algorithm::EdDSA, "ed-b", "ed-a", "unauthorized"),
        (Algorithm::EdDSA, "gone", "ed-a", "unauthorized"),
        (Algorithm::ES256, "ec", "ec", "authed"),
        (Algorithm::RS256, "rsa", "rsa", "authed"),
        (Algorithm::EdDSA, "ed-b", "ed-b", "authed"),
    ] {
        let f = auth(&mut c, &sign(alg, kid, key)).await;
        let got = f["code"].as_str().or(f["type"].as_str());
        assert_eq!(got, Some(answer), "{alg:?} kid {kid}: {f}");
    }
    // HS256 is not accepted where no secret is configured.
    assert_eq!(
        auth(&mut c, &token("u-k", "K", 60)).await["code"],
        "unauthorized"
    );
    c.send(json!({"type":"ping"})).await;
    assert_eq!(c.recv().await["type"], "pong");
}
