//! What a sign-in costs: one Argon2id hash (the `argon2` crate's defaults, OWASP's
//! m = 19 MiB, t = 2, p = 1) per sign-up and one check per sign-in, timed here with the
//! release profile. `cargo bench --features ssr --bench sign_in`.
//!
//! Also: how many sign-ins per second the server can check at most (two at a time, see
//! `server/accounts/passwords.rs`), which is what an attacker who gets past the throttle
//! could make it spend.

use chorus::server::accounts::passwords;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let mut hashes = Vec::new();
    let mut checks = Vec::new();
    let mut hash = String::new();
    for i in 0..10 {
        let t = Instant::now();
        hash = passwords::hash(format!("a password number {i}"))
            .await
            .expect("hash");
        hashes.push(t.elapsed());
    }
    for _ in 0..10 {
        let t = Instant::now();
        passwords::verify("a password number 9".into(), Some(hash.clone()))
            .await
            .expect("verify");
        checks.push(t.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (h, c) = (median(&mut hashes), median(&mut checks));
    let t = Instant::now();
    let many: Vec<_> = (0..20)
        .map(|_| tokio::spawn(passwords::verify("wrong".into(), Some(hash.clone()))))
        .collect();
    for m in many {
        m.await.expect("task").expect("verify");
    }
    let per_sec = 20.0 / t.elapsed().as_secs_f64();
    println!("argon2id m=19456 KiB t=2 p=1: hash {h:?}, check {c:?} (medians of 10)");
    println!(
        "at most {per_sec:.0} checks/s with {} at a time",
        passwords::AT_ONCE
    );
}
