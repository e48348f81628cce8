//! A token bucket for per-connection publish limits.
//!
//! Written here rather than taken from `governor`: the session needs one plain bucket per
//! connection (no keyed store, no shared clock), the exact wait in milliseconds for
//! `retry_after_ms`, and tests that pass time in explicitly. That is 30 lines.

use std::time::{Duration, Instant};

/// Allows `burst` publishes at once, refilled at `per_sec` per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    burst: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket. `per_sec` and `burst` are validated by the config (both > 0).
    pub fn new(per_sec: f64, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            burst,
            per_sec: per_sec.max(f64::MIN_POSITIVE),
            tokens: burst,
            last: now,
        }
    }

    /// Whether the bucket has refilled to its burst by `now` (nothing to remember).
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.per_sec >= self.burst
    }

    /// Takes a token, or says how long until one is there.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 20, t0);
        for _ in 0..20 {
            assert!(b.try_take(t0).is_ok());
        }
        let wait = b.try_take(t0).unwrap_err();
        assert_eq!(wait.as_millis(), 100);
        assert!(b.try_take(t0 + Duration::from_millis(50)).is_err());
        assert!(b.try_take(t0 + Duration::from_millis(100)).is_ok());
        // Long idle refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..20 {
            assert!(b.try_take(later).is_ok());
        }
        assert!(b.try_take(later).is_err());
    }
}
