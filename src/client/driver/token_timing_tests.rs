//! When an embedded page refreshes its token, and how it measures a token's life: the
//! margin and its jitter, the claims' whole seconds, a wrong client clock, tokens
//! without `iat`, a held token's time left at a reconnect.

use super::*;

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
