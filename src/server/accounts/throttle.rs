//! Failed sign-ins, counted per account name and per client address: after
//! [`MAX_FAILURES`] within [`WINDOW`] for either, attempts are refused until the oldest
//! failure leaves the window (`rate_limited` with `retry_after_ms`), so a password cannot
//! be guessed faster than that from one address, or against one name from many.

use crate::sync::lock;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed within the window, per name and per address.
pub const MAX_FAILURES: usize = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Names or addresses tracked at most; past it the quietest are forgotten first.
const MAX_TRACKED: usize = 100_000;

/// Recent failures of one kind of key.
struct Failures<K> {
    by_key: HashMap<K, VecDeque<Instant>>,
}

impl<K: Hash + Eq + Clone> Failures<K> {
    fn new() -> Self {
        Self {
            by_key: HashMap::new(),
        }
    }

    /// How long until `key` may try again (`None`: now).
    fn wait(&mut self, key: &K, now: Instant) -> Option<Duration> {
        let times = self.by_key.get_mut(key)?;
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.is_empty() {
            self.by_key.remove(key);
            return None;
        }
        (times.len() >= MAX_FAILURES)
            .then(|| {
                times
                    .front()
                    .map(|t| WINDOW.saturating_sub(now.duration_since(*t)))
            })
            .flatten()
    }

    fn record(&mut self, key: K, now: Instant) {
        if self.by_key.len() >= MAX_TRACKED && !self.by_key.contains_key(&key) {
            // Forget whoever failed longest ago (a full scan, only when this full).
            let oldest = self
                .by_key
                .iter()
                .min_by_key(|(_, t)| t.back().copied())
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.by_key.remove(&k);
            }
        }
        let times = self.by_key.entry(key).or_default();
        times.push_back(now);
        if times.len() > MAX_FAILURES {
            times.pop_front();
        }
    }
}

/// Failed sign-ins on this node.
pub struct SignInThrottle {
    state: Mutex<(Failures<String>, Failures<IpAddr>)>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self {
            state: Mutex::new((Failures::new(), Failures::new())),
        }
    }
}

impl SignInThrottle {
    /// How long `name_key` from `addr` must wait before trying (`None`: it may now).
    pub fn wait(&self, name_key: &str, addr: IpAddr, now: Instant) -> Option<Duration> {
        let mut st = lock(&self.state);
        let by_name = st.0.wait(&name_key.to_string(), now);
        let by_addr = st.1.wait(&addr, now);
        by_name.max(by_addr)
    }

    /// Counts a failed attempt against both.
    pub fn failed(&self, name_key: &str, addr: IpAddr, now: Instant) {
        let mut st = lock(&self.state);
        st.0.record(name_key.to_string(), now);
        st.1.record(addr, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_for_a_name_or_an_address_make_it_wait_out_the_window() {
        let t = SignInThrottle::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert_eq!(t.wait("ann", a, t0), None, "attempt {i}");
            t.failed("ann", a, t0);
        }
        assert!(t.wait("ann", b, t0).is_some(), "the name, from anywhere");
        assert!(t.wait("bob", a, t0).is_some(), "the address, for any name");
        assert_eq!(t.wait("bob", b, t0), None);
        let wait = t.wait("ann", b, t0 + Duration::from_secs(60)).unwrap();
        assert_eq!(wait, WINDOW - Duration::from_secs(60));
        assert_eq!(t.wait("ann", a, t0 + WINDOW), None, "the window passed");
    }
}
