//! An embedded page's token rules, natively: what the driver asks for, sends and ignores.

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
            UserName::parse("guest").unwrap(),
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
        Effect::Send(ClientFrame::Join { name, .. }) => name.clone(),
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
fn a_refresh_is_set_before_the_end_with_jitter_and_sends_only_auth() {
    for (jitter, margin) in [(0.0, 30_000.0), (0.999_999, 60_000.0)] {
        let mut p = Embedded::new(jitter);
        p.open();
        p.driver.on_token(Some(1), &minted(1_000.0, 300.0, "u1"));
        let e = p.authed(1_300_000);
        assert!(e.contains(&Effect::SignedIn(Some(UserName::parse("Ann").unwrap()))));
        // A five-minute token: refreshed 30–60 s before its end (a second early for the
        // claims' whole seconds), on the local clock.
        let [(n, delay)] = timers(&e)[..] else {
            panic!("{e:?}")
        };
        assert!(
            (delay - (300_000.0 - CLAIM_GRAIN_MS - margin)).abs() < 1.0,
            "{delay}"
        );
        let e = p.timer(n);
        assert_eq!(requests(&e), vec![2]);
        // The same timer again, or an older one: nothing (one request in flight).
        assert!(p.timer(n).is_empty());
        assert!(p.timer(1).is_empty());
        let t = minted(1_250.0, 300.0, "u1");
        let e = p.driver.on_token(Some(2), &t);
        assert_eq!(
            sent(&e),
            vec![format!("auth {t}")],
            "a refresh does not rejoin"
        );
    }
}

#[test]
fn the_margin_is_a_fifth_of_a_short_life_and_at_most_a_minute() {
    assert_eq!(refresh_margin_ms(10_000.0, 0.0), 1_000.0);
    assert_eq!(refresh_margin_ms(10_000.0, 0.999_999_9).round(), 2_000.0);
    assert_eq!(refresh_margin_ms(3_600_000.0, 0.0), 30_000.0);
    assert!(refresh_margin_ms(3_600_000.0, 1.0) <= MAX_REFRESH_MARGIN_MS);
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
fn a_reconnect_sends_the_held_token_only_while_it_has_time_left() {
    let mut p = Embedded::new(0.0);
    p.open();
    let t = minted(1_000.0, 60.0, "u1");
    p.driver.on_token(Some(1), &t);
    // A network blip 30 s later: the token has 30 s left, so it is sent at once.
    p.clock.set(p.clock.get() + 30_000.0);
    p.driver.on_close(None);
    let e = p.driver.on_open(&p.timeline);
    assert_eq!(sent(&e), vec![format!("auth {t}"), "join".into()]);
    // Another blip with under STALE_MARGIN_MS left: a fresh one is asked for first.
    p.clock
        .set(p.clock.get() + 60_000.0 - 30_000.0 - STALE_MARGIN_MS + 1.0);
    p.driver.on_close(None);
    let e = p.driver.on_open(&p.timeline);
    assert!(sent(&e).is_empty(), "{e:?}");
    assert_eq!(requests(&e).len(), 1);
}

#[test]
fn the_life_is_measured_from_the_claims_so_a_wrong_client_clock_does_not_matter() {
    let mut p = Embedded::new(0.0);
    p.open();
    // Issued "a day ago" by this machine's clock, which is a day ahead of the server's.
    let t = minted(1_000.0 - 86_400.0, 60.0, "u1");
    p.driver.on_token(Some(1), &t);
    let e = p.authed(0);
    let [(_, delay)] = timers(&e)[..] else {
        panic!("{e:?}")
    };
    assert!(
        (delay - (60_000.0 - CLAIM_GRAIN_MS - 6_000.0)).abs() < 1.0,
        "{delay}"
    );
    p.driver.on_close(None);
    assert_eq!(sent(&p.driver.on_open(&p.timeline))[0], format!("auth {t}"));
}

#[test]
fn a_token_without_iat_is_timed_by_the_servers_expiry() {
    let mut p = Embedded::new(0.0);
    p.open();
    let t = token(serde_json::json!({"sub": "u1"}));
    p.driver.on_token(Some(1), &t);
    let e = p.authed(1_000_000 + 100_000);
    let [(_, delay)] = timers(&e)[..] else {
        panic!("{e:?}")
    };
    assert!((delay - (100_000.0 - 10_000.0)).abs() < 1.0, "{delay}");
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
        UserName::parse("ann").unwrap(),
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
