//! The token matrix: every way a token can be wrong is `unauthorized` (or
//! `token_expired`), with real keys of each type from `tests/keys`.

use super::*;
use crate::server::config::Guests;
use crate::server::identity::rights::Rights;
use serde_json::{json, Value};

const SECRET: &str = "a-test-secret-of-more-than-32-bytes-000";

fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys")
}

fn private(name: &str) -> Vec<u8> {
    std::fs::read(keys_dir().join("private").join(format!("{name}.pem"))).unwrap()
}

fn config(secret: bool, keys: Option<PathBuf>) -> IdentityConfig {
    IdentityConfig {
        jwt_secret: secret.then(|| crate::server::config::Secret::new(SECRET)),
        jwt_keys: keys,
        jwt_audience: None,
        jwt_issuer: None,
        jwt_leeway: Duration::from_secs(30),
        guests: Guests::On,
        cookie_secure: crate::server::config::Switch::On,
        session_ttl: Duration::from_secs(3600),
        signups_per_ip_per_hour: 5,
        embed_origins: Vec::new(),
        admins: Vec::new(),
    }
}

fn verifier(c: IdentityConfig) -> Verifier {
    Verifier::from_config(&c).unwrap().unwrap()
}

fn now() -> u64 {
    crate::server::store::now_ms() / 1000
}

fn claims(extra: Value) -> Value {
    let mut c = json!({"sub": "u1", "name": "Ann", "exp": now() + 600});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// Signs `claims` with `alg`, the key named `key` (a private PEM, or the secret), `kid`.
fn sign(alg: Algorithm, kid: Option<&str>, key: &str, claims: &Value) -> Token {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_string);
    let k = match alg {
        Algorithm::HS256 => EncodingKey::from_secret(key.as_bytes()).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&private(key)).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&private(key)).unwrap(),
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&private(key)).unwrap(),
        _ => unreachable!(),
    };
    Token::parse(&jsonwebtoken::encode(&h, claims, &k).unwrap()).unwrap()
}

fn refused(r: Result<Identity, AuthError>) -> &'static str {
    match r {
        Err(AuthError::Unauthorized(why)) => why,
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

#[test]
fn valid_tokens_of_each_kind_give_their_identity() {
    let v = verifier(config(true, Some(keys_dir().join("public"))));
    let c = claims(json!({"rooms": {"team-*": ["read", "publish"]}}));
    for (alg, kid, key) in [
        (Algorithm::HS256, None, SECRET),
        (Algorithm::EdDSA, Some("ed-a"), "ed-a"),
        (Algorithm::ES256, Some("ec"), "ec"),
        (Algorithm::RS256, Some("rsa"), "rsa"),
        // One key of its type: no kid needed.
        (Algorithm::ES256, None, "ec"),
    ] {
        let id = v
            .verify(&sign(alg, kid, key, &c))
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(id.user.as_str(), "u1");
        assert_eq!(id.name.as_str(), "Ann");
        assert_eq!(id.expires_at, c["exp"].as_u64().unwrap() * 1000);
        let room = crate::protocol::RoomName::parse("team-a").unwrap();
        assert_eq!(
            id.rooms.in_room(&room),
            Rights {
                read: true,
                publish: true,
                moderate: false
            }
        );
    }
    let no_name = v
        .verify(&sign(
            Algorithm::HS256,
            None,
            SECRET,
            &json!({"sub": "u2", "exp": now() + 60}),
        ))
        .unwrap();
    assert_eq!(no_name.name.as_str(), "u2", "the name defaults to the sub");
}

#[test]
fn alg_none_and_algorithms_without_a_key_are_refused() {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let v = verifier(config(true, Some(keys_dir().join("public"))));
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(json!({})))
    );
    refused(v.verify(&Token::parse(&none).unwrap()));
    let hs512 = Token::parse(
        &jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims(json!({})),
            &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    refused(v.verify(&hs512));
    // HS256 where only public keys are configured, and RS256 where only the secret is.
    let keys_only = verifier(config(false, Some(keys_dir().join("public"))));
    refused(keys_only.verify(&sign(Algorithm::HS256, None, SECRET, &claims(json!({})))));
    let secret_only = verifier(config(true, None));
    refused(secret_only.verify(&sign(
        Algorithm::RS256,
        Some("rsa"),
        "rsa",
        &claims(json!({})),
    )));
    // The classic confusion: HS256 "signed" with the server's RSA public key as secret.
    let public = std::fs::read_to_string(keys_dir().join("public/rsa.pem")).unwrap();
    refused(keys_only.verify(&sign(
        Algorithm::HS256,
        Some("rsa"),
        &public,
        &claims(json!({})),
    )));
    refused(v.verify(&sign(
        Algorithm::HS256,
        Some("rsa"),
        &public,
        &claims(json!({})),
    )));
}

#[test]
fn wrong_signatures_kids_and_key_types_are_refused() {
    let v = verifier(config(true, Some(keys_dir().join("public"))));
    let c = claims(json!({}));
    refused(v.verify(&sign(
        Algorithm::HS256,
        None,
        "another-secret-of-more-than-32-bytes!!",
        &c,
    )));
    refused(v.verify(&sign(Algorithm::EdDSA, Some("ed-b"), "ed-a", &c)));
    refused(v.verify(&sign(Algorithm::EdDSA, Some("nope"), "ed-a", &c)));
    refused(v.verify(&sign(Algorithm::ES256, Some("ed-a"), "ec", &c)));
    assert!(
        refused(v.verify(&sign(Algorithm::EdDSA, None, "ed-a", &c))).contains("kid"),
        "two Ed25519 keys: the token must say which"
    );
    // One signature character changed (the first: every bit of it counts; the last
    // holds padding bits, which a change may not touch).
    let good = sign(Algorithm::HS256, None, SECRET, &c)
        .expose()
        .to_string();
    let at = good.rfind('.').unwrap() + 1;
    let first = good.as_bytes()[at];
    let other = if first == b'A' { 'B' } else { 'A' };
    let t = format!("{}{other}{}", &good[..at], &good[at + 1..]);
    refused(v.verify(&Token::parse(&t).unwrap()));
    refused(v.verify(&Token::parse("not.a.jwt").unwrap()));
}

#[test]
fn time_audience_issuer_and_claims_are_checked() {
    let mut c = config(true, None);
    c.jwt_audience = Some("chat".into());
    c.jwt_issuer = Some("https://app.example".into());
    let v = verifier(c);
    let ok = json!({"aud": "chat", "iss": "https://app.example"});
    let with = |extra: Value| {
        let mut all = claims(ok.clone());
        for (k, val) in extra.as_object().unwrap() {
            all[k] = val.clone();
        }
        sign(Algorithm::HS256, None, SECRET, &all)
    };
    v.verify(&with(json!({}))).unwrap();
    assert_eq!(
        v.verify(&with(json!({"exp": now() - 100}))),
        Err(AuthError::Expired)
    );
    v.verify(&with(json!({"exp": now() - 10})))
        .expect("within the 30 s leeway");
    refused(v.verify(&with(json!({"nbf": now() + 300}))));
    refused(v.verify(&with(json!({"aud": "other"}))));
    refused(v.verify(&with(json!({"iss": "https://evil.example"}))));
    refused(v.verify(&sign(
        Algorithm::HS256,
        None,
        SECRET,
        &claims(json!({"iss": "https://app.example"})),
    )));
    refused(v.verify(&with(json!({"sub": "has space"}))));
    refused(v.verify(&with(json!({"name": "\u{202E}nnA"}))));
    refused(v.verify(&with(json!({"rooms": ["team"]}))));
    let mut no_sub = claims(ok.clone());
    no_sub.as_object_mut().unwrap().remove("sub");
    refused(v.verify(&sign(Algorithm::HS256, None, SECRET, &no_sub)));
    let mut no_exp = claims(ok);
    no_exp.as_object_mut().unwrap().remove("exp");
    refused(v.verify(&sign(Algorithm::HS256, None, SECRET, &no_exp)));
}

#[test]
fn keys_rotate_by_adding_then_removing_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let public = keys_dir().join("public");
    std::fs::copy(public.join("ed-a.pem"), dir.path().join("ed-a.pem")).unwrap();
    std::fs::copy(public.join("ed-b.pem"), dir.path().join("ed-b.pem")).unwrap();
    let c = claims(json!({}));
    let old = sign(Algorithm::EdDSA, Some("ed-a"), "ed-a", &c);
    let new = sign(Algorithm::EdDSA, Some("ed-b"), "ed-b", &c);
    let both = verifier(config(false, Some(dir.path().to_path_buf())));
    both.verify(&old).unwrap();
    both.verify(&new).unwrap();
    std::fs::remove_file(dir.path().join("ed-a.pem")).unwrap();
    let rotated = verifier(config(false, Some(dir.path().to_path_buf())));
    refused(rotated.verify(&old));
    rotated.verify(&new).unwrap();
}

#[test]
fn a_key_directory_with_a_file_that_is_no_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("junk.pem"),
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    assert!(matches!(
        Verifier::from_config(&config(false, Some(dir.path().to_path_buf()))),
        Err(KeyError::NotAKey { .. })
    ));
    assert!(
        Verifier::from_config(&config(false, None))
            .unwrap()
            .is_none(),
        "nothing configured"
    );
}

#[test]
fn minted_tokens_verify_with_their_rooms() {
    let c = config(true, None);
    let args = TokenArgs {
        sub: "u9".into(),
        name: Some("Nia".into()),
        ttl: Duration::from_secs(3600),
        rooms: vec!["ops-*:read,publish".into(), "ops-core:moderate".into()],
    };
    let token = mint(c.jwt_secret.as_ref().unwrap(), &args, &c).unwrap();
    let id = verifier(c).verify(&Token::parse(&token).unwrap()).unwrap();
    assert_eq!((id.user.as_str(), id.name.as_str()), ("u9", "Nia"));
    let core = crate::protocol::RoomName::parse("ops-core").unwrap();
    assert_eq!(
        id.rooms.in_room(&core),
        Rights {
            read: true,
            publish: true,
            moderate: true
        }
    );
    assert!(id.expires_at > crate::server::store::now_ms() + 3_500_000);
}
