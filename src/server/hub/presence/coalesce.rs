//! When a room's presence goes out: at most once per interval that grows with the room.

use std::time::Duration;
use tokio::time::Instant;

/// The shortest time between two presence frames of one room.
pub(in crate::server::hub) const PRESENCE_INTERVAL: Duration = Duration::from_millis(100);
/// The longest, for the largest rooms.
const PRESENCE_INTERVAL_MAX: Duration = Duration::from_secs(5);

/// How long a room with `members` connections waits between presence frames: 100 ms up to
/// 100 members, then 1 ms more per member (1 s at 1000), at most 5 s. The frame's size grows
/// with the room and so does the number of its recipients; this keeps the bytes a room's
/// presence costs per second roughly linear in its size instead of quadratic.
pub fn presence_interval(members: usize) -> Duration {
    let scaled = Duration::from_millis(members as u64);
    scaled.clamp(PRESENCE_INTERVAL, PRESENCE_INTERVAL_MAX)
}

/// Folds bursts of changes into at most one send per interval: a change after a quiet
/// spell goes out now, changes inside the interval together at its end.
#[derive(Default)]
pub(super) struct Coalescer {
    /// When a send last happened.
    sent: Option<Instant>,
    /// A send is scheduled for the end of the current interval.
    due: bool,
}

/// What to do about a change.
pub(super) enum When {
    /// Send now (and call [`Coalescer::done`]).
    Now,
    /// Schedule a send for then.
    At(Instant),
    /// A scheduled send will carry it.
    Folded,
}

impl Coalescer {
    pub(super) fn changed(&mut self, interval: Duration) -> When {
        if self.due {
            return When::Folded;
        }
        match self.sent {
            Some(at) if Instant::now() < at + interval => {
                self.due = true;
                When::At(at + interval)
            }
            _ => When::Now,
        }
    }

    /// A send happened (if `reached` anyone, a new interval starts).
    pub(super) fn done(&mut self, reached: bool) {
        self.due = false;
        if reached {
            self.sent = Some(Instant::now());
        }
    }
}
