//! An embedded page's token rules, natively: what the driver asks for, sends and ignores.
//! When it refreshes, and how it measures a token's life, is in [`timing`].

use super::super::*;
use super::*;
use base64::Engine;
use std::cell::Cell;
use std::rc::Rc;

/// An unsigned JWT-shaped token with these claims (the client never checks signatures).
fn token(claims: serde_json::Value) -> String {
    let enc = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.sig",
        enc(&serde_json::json!({"alg":"HS256"})),
        enc(&claims)
    )
}

/// A token issued at `iat` (s) for `life` seconds.
fn minted(iat: f64, life: f64, sub: &str) -> String {
    token(serde_json::json!({"sub": sub, "iat": iat, "exp": iat + life}))
}

/// An embedded page on a clock the test moves.
struct Embedded {
    driver: Driver,
    timeline: Timeline,
    clock: Rc<Cell<f64>>,
}

impl Embedded {
    /// At local time 1,000,000 ms, with a jitter of `jitter`.
    fn new(jitter: f64) -> Self {
        let clock = Rc::new(Cell::new(1_000_000.0));
        let c = clock.clone();
        let driver = Driver::new(
            RoomName::parse("r").unwrap(),
            Some(UserName::parse("guest").unwrap()),
            None,
            Box::new(move || jitter),
        )
        .with_tokens(Box::new(move || c.get()));
        Self {
            driver,
            timeline: Timeline::default(),
            clock,
        }
    }

    fn open(&mut self) -> Vec<Effect> {
        let start = self.driver.start(true);
        assert!(start.contains(&Effect::Connect), "{start:?}");
        self.driver.on_open(&self.timeline)
    }

    fn authed(&mut self, expires_at: u64) -> Vec<Effect> {
        self.driver.on_frame(
            ServerFrame::Authed {
                user: crate::protocol::UserId::parse("u1").unwrap(),
                name: UserName::parse("Ann").unwrap(),
                expires_at,
            },
            &self.timeline,
        )
    }

    fn timer(&mut self, n: u64) -> Vec<Effect> {
        self.driver.on_timer(Timer::Token(n), true, &self.timeline)
    }

    fn error(&mut self, code: ErrorCode) -> Vec<Effect> {
        self.driver.on_frame(
            ServerFrame::Error {
                code,
                message: "no".into(),
                reference: None,
                retry_after_ms: None,
            },
            &self.timeline,
        )
    }
}

fn requests(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::RequestToken(n) => Some(*n),
            _ => None,
        })
        .collect()
}

fn timers(effects: &[Effect]) -> Vec<(u64, f64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::TokenTimerIn(n, ms) => Some((*n, *ms)),
            _ => None,
        })
        .collect()
}

/// The frames sent, by type: "auth" (with its token), "join", ….
fn sent(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(ClientFrame::Auth { token }) => Some(format!("auth {}", token.expose())),
            Effect::Send(ClientFrame::Join { .. }) => Some("join".into()),
            Effect::Send(f) => Some(format!("{f:?}")),
            _ => None,
        })
        .collect()
}

fn joined() -> ServerFrame {
    ServerFrame::Joined {
        room: RoomName::parse("r").unwrap(),
        epoch: Epoch::new("e"),
        last_seq: 0,
        online: 1,
        members: vec![],
        members_total: 0,
        recovered: true,
    }
}

#[test]
fn after_the_token_ends_a_guest_joins_under_the_guest_name_not_the_users() {
    let mut p = Embedded::new(0.0);
    p.open();
    p.driver.on_token(Some(1), &minted(1_000.0, 60.0, "u1"));
    p.authed(1_060_000);
    let e = p.driver.send_message(
        crate::protocol::Body::parse("hi").unwrap(),
        None,
        crate::protocol::ClientId::parse("c1").unwrap(),
        0,
    );
    assert!(
        matches!(&e[0], Effect::Timeline(crate::client::Edit::AddPending { from, .. }) if from.as_str() == "Ann"),
        "{e:?}"
    );
    p.driver.on_close(Some(4001));
    let e = p.driver.on_open(&p.timeline);
    assert_eq!(requests(&e).len(), 1, "{e:?}");
    // No answer: the page reads as a guest, under the guest name.
    let e = p.timer(p_timer(&e));
    let join = e.iter().find_map(|e| match e {
        Effect::Send(ClientFrame::Join { name, .. }) => name.given().cloned(),
        _ => None,
    });
    assert_eq!(join.unwrap().as_str(), "guest");
}

/// The token timer in `effects`.
fn p_timer(effects: &[Effect]) -> u64 {
    timers(effects)[0].0
}

#[test]
fn the_first_join_waits_for_a_token_and_goes_after_its_auth() {
    let mut p = Embedded::new(0.5);
    let e = p.open();
    assert_eq!(requests(&e), vec![1]);
    assert_eq!(timers(&e), vec![(1, TOKEN_WAIT_MS)]);
    assert!(sent(&e).is_empty(), "nothing before the token: {e:?}");
    let t = minted(1_000.0, 300.0, "u1");
    let e = p.driver.on_token(Some(1), &t);
    assert_eq!(sent(&e), vec![format!("auth {t}"), "join".into()]);
}

#[test]
fn an_answer_to_an_older_request_is_ignored_and_an_unasked_token_is_taken() {
    let mut p = Embedded::new(0.0);
    p.open();
    // Request 1 goes unanswered: the page reads as a guest (and says so past the
    // `joined`) and asks again later.
    let e = p.timer(1);
    assert_eq!(sent(&e), vec!["join"]);
    assert!(e.contains(&Effect::SignedIn(None)), "{e:?}");
    let joined = p.driver.on_frame(joined(), &p.timeline);
    assert!(
        joined
            .iter()
            .any(|e| matches!(e, Effect::Notice(Some(n)) if n.contains("not signed you in"))),
        "{joined:?}"
    );
    let [(n, _)] = timers(&e)[..] else {
        panic!("{e:?}")
    };
    assert_eq!(requests(&p.timer(n)), vec![2]);
    // The late answer to request 1 is not taken.
    assert!(p
        .driver
        .on_token(Some(1), &minted(1_000.0, 60.0, "u1"))
        .is_empty());
    // The answer to 2 is: the socket joined as a guest, so it starts over.
    let e = p.driver.on_token(Some(2), &minted(1_000.0, 60.0, "u1"));
    assert_eq!(e, vec![Effect::SignedIn(None), Effect::CloseSocket]);
    let reopen = p.driver.on_close(Some(1000));
    assert!(reopen.iter().any(|e| matches!(e, Effect::ReconnectIn(_))));
    let e = p.driver.on_open(&p.timeline);
    assert_eq!(sent(&e).len(), 2, "auth, then join: {e:?}");
    // A token pushed without a request is taken too.
    let pushed = minted(1_010.0, 60.0, "u1");
    assert_eq!(
        sent(&p.driver.on_token(None, &pushed)),
        vec![format!("auth {pushed}")]
    );
}

#[test]
fn a_4001_reconnects_and_never_replays_the_ended_token() {
    let mut p = Embedded::new(0.0);
    p.open();
    let old = minted(1_000.0, 300.0, "u1");
    p.driver.on_token(Some(1), &old);
    p.authed(1_300_000);
    let e = p.driver.on_close(Some(4001));
    assert!(!e.contains(&Effect::Reauthenticate), "{e:?}");
    assert!(e.iter().any(|e| matches!(e, Effect::ReconnectIn(_))));
    let e = p.driver.on_open(&p.timeline);
    assert!(sent(&e).is_empty(), "the old token is gone: {e:?}");
    let [n] = requests(&e)[..] else {
        panic!("{e:?}")
    };
    let fresh = minted(1_400.0, 300.0, "u1");
    assert_eq!(
        sent(&p.driver.on_token(Some(n), &fresh)),
        vec![format!("auth {fresh}"), "join".into()]
    );
}

#[test]
fn a_refused_token_is_dropped_and_asked_for_again_after_a_backoff() {
    let mut p = Embedded::new(0.0);
    p.open();
    p.driver.on_token(Some(1), &minted(1_000.0, 60.0, "u1"));
    let e = p.error(ErrorCode::TokenExpired);
    assert!(requests(&e).is_empty(), "not at once: {e:?}");
    let [(n, delay)] = timers(&e)[..] else {
        panic!("{e:?}")
    };
    assert_eq!(delay, backoff_ms(0, 0.0));
    let e = p.timer(n);
    let [m] = requests(&e)[..] else {
        panic!("{e:?}")
    };
    // The join after the refused auth went in as a guest: the new token reconnects.
    assert_eq!(
        p.driver.on_token(Some(m), &minted(1_001.0, 60.0, "u1")),
        vec![Effect::SignedIn(None), Effect::CloseSocket]
    );
    // A second refusal while a request is out asks nothing more.
    p.driver.on_close(Some(1000));
    let e = p.driver.on_open(&p.timeline);
    assert_eq!(sent(&e).len(), 2);
    p.clock.set(p.clock.get() + 59_000.0);
    p.driver.on_close(None);
    let e = p.driver.on_open(&p.timeline);
    assert_eq!(requests(&e).len(), 1);
    let e = p.error(ErrorCode::TokenExpired);
    assert!(requests(&e).is_empty() && timers(&e).is_empty(), "{e:?}");
}

#[test]
fn a_page_signed_in_by_cookie_ignores_tokens_and_reloads_at_4001() {
    let mut d = Driver::new(
        RoomName::parse("r").unwrap(),
        Some(UserName::parse("ann").unwrap()),
        None,
        Box::new(|| 0.0),
    );
    d.start(true);
    let e = d.on_open(&Timeline::default());
    assert_eq!(sent(&e), vec!["join"]);
    assert!(d.on_token(None, &minted(1.0, 60.0, "u1")).is_empty());
    assert_eq!(d.on_close(Some(4001)), vec![Effect::Reauthenticate]);
}

#[test]
fn a_token_for_another_user_starts_the_socket_over() {
    let mut p = Embedded::new(0.0);
    p.open();
    p.driver.on_token(Some(1), &minted(1_000.0, 600.0, "u1"));
    p.authed(1_600_000);
    // The application's user changed: it pushes B's token. A refresh would be refused
    // (another `sub`), so the page reconnects and signs in as B.
    let b = minted(1_010.0, 600.0, "u2");
    let e = p.driver.on_token(None, &b);
    assert_eq!(e, vec![Effect::SignedIn(None), Effect::CloseSocket]);
    p.driver.on_close(Some(1000));
    assert_eq!(
        sent(&p.driver.on_open(&p.timeline)),
        vec![format!("auth {b}"), "join".into()]
    );
    // The same user's fresh token is a refresh on the open socket.
    p.authed(1_600_000);
    let again = minted(1_020.0, 600.0, "u2");
    assert_eq!(
        sent(&p.driver.on_token(None, &again)),
        vec![format!("auth {again}")]
    );
}

#[test]
fn a_late_answer_with_nothing_out_is_taken_and_an_answered_request_has_no_deadline() {
    let mut p = Embedded::new(0.0);
    p.open();
    // Request 1 times out (the page reads as a guest); its answer comes later, before
    // the next request: it is the newest token there is.
    let e = p.timer(1);
    let [(retry, _)] = timers(&e)[..] else {
        panic!("{e:?}")
    };
    let e = p.driver.on_token(Some(1), &minted(1_000.0, 60.0, "u1"));
    assert_eq!(e, vec![Effect::SignedIn(None), Effect::CloseSocket]);
    // The retry timer set before the answer is moot now.
    assert!(p.timer(retry).is_empty());

    // A request answered while the socket is down: its deadline does nothing.
    let mut p = Embedded::new(0.0);
    let e = p.open();
    let [(deadline, _)] = timers(&e)[..] else {
        panic!("{e:?}")
    };
    p.driver.on_close(None);
    assert!(p
        .driver
        .on_token(Some(1), &minted(1_000.0, 60.0, "u1"))
        .is_empty());
    assert!(p.timer(deadline).is_empty(), "no second request");
}

#[test]
fn a_join_that_waited_on_a_closed_socket_is_not_sent_again_later() {
    let mut p = Embedded::new(0.0);
    p.open();
    // The socket drops while the join waits; the token arrives while it is down.
    p.driver.on_close(None);
    let t = minted(1_000.0, 60.0, "u1");
    p.driver.on_token(Some(1), &t);
    let e = p.driver.on_open(&p.timeline);
    assert_eq!(sent(&e), vec![format!("auth {t}"), "join".into()]);
    let e = p.authed(1_060_000);
    let [(n, _)] = timers(&e)[..] else {
        panic!("{e:?}")
    };
    let [m] = requests(&p.timer(n))[..] else {
        panic!()
    };
    let fresh = minted(1_050.0, 60.0, "u1");
    assert_eq!(
        sent(&p.driver.on_token(Some(m), &fresh)),
        vec![format!("auth {fresh}")],
        "a refresh, not a second join"
    );
}

#[path = "token_timing_tests.rs"]
mod timing;
