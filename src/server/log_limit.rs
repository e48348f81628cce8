//! Logging what strangers send, without letting them write the log.
//!
//! A refusal at the door (a foreign `Origin`, an address over its socket limit) is worth a
//! line for the operator, but an attacker can cause thousands per second, each carrying a
//! header of its choosing (an `Origin` of 400 KB). So such lines quote at most
//! [`QUOTE_CHARS`] of what the client sent, and each kind of line is written at most once
//! per [`EVERY`], with the number of lines it stands for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The most of a client-supplied value a log line quotes, in characters.
pub const QUOTE_CHARS: usize = 120;

/// The shortest time between two lines of one kind.
pub const EVERY: Duration = Duration::from_secs(1);

/// At most `max` characters of `value`, marked when cut.
pub fn quote(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        None => value.to_string(),
        Some((at, _)) => format!("{}… ({} bytes)", &value[..at], value.len()),
    }
}

/// One kind of log line, written at most once per [`EVERY`].
#[derive(Debug, Default)]
pub struct Throttle {
    /// When the last line was written, in milliseconds since the Unix epoch.
    last_ms: AtomicU64,
    /// Events since that line that were not written.
    skipped: AtomicU64,
}

impl Throttle {
    /// A throttle that has written nothing yet.
    pub const fn new() -> Self {
        Self {
            last_ms: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// Whether to write a line now: `Some(n)` with the `n` events skipped since the last
    /// line, or `None` to skip this one too.
    pub fn allow(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.allow_at(now)
    }

    fn allow_at(&self, now_ms: u64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        let due = last == 0 || now_ms.saturating_sub(last) >= EVERY.as_millis() as u64;
        if due
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.skipped.swap(0, Ordering::Relaxed));
        }
        self.skipped.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_quoted_in_part() {
        assert_eq!(quote("https://ok.example", 120), "https://ok.example");
        let huge = "é".repeat(200_000);
        let q = quote(&huge, 120);
        assert_eq!(q.chars().filter(|c| *c == 'é').count(), 120);
        assert!(q.ends_with("… (400000 bytes)"), "{}", &q[q.len() - 30..]);
    }

    #[test]
    fn one_line_per_second_with_the_count_it_stands_for() {
        let t = Throttle::new();
        assert_eq!(t.allow_at(10_000), Some(0));
        for ms in 10_001..10_999 {
            assert_eq!(t.allow_at(ms), None);
        }
        assert_eq!(t.allow_at(11_000), Some(998));
        assert_eq!(t.allow_at(11_001), None);
        assert_eq!(t.allow_at(12_500), Some(1));
    }
}
