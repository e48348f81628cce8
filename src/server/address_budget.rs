//! What one client address may do in all its connections together: publish at a
//! sustained rate, and create new rooms at a few per hour.
//!
//! A per-connection limit alone multiplies with the sockets an address may open (50
//! sockets wrote 8.3 MB/s), and rooms were free, so one address could fill the disk.
//! The budgets outlive the connections (closing every socket and coming back does not
//! refill a room budget), and an address is forgotten once its buckets are full again,
//! so the table holds only addresses that were busy lately.

use crate::server::rate_limit::TokenBucket;
use crate::sync::lock;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The budgets' sizes, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct BudgetSizes {
    /// Sustained publishes per second per address.
    pub publish_per_sec: f64,
    /// Publishes in a burst per address.
    pub publish_burst: u32,
    /// New rooms per hour per address (rooms that had no message before).
    pub new_rooms_per_hour: u32,
}

/// The budgets of every address that used some lately.
#[derive(Debug)]
pub struct AddressBudgets {
    sizes: BudgetSizes,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    by_address: HashMap<IpAddr, Budgets>,
    /// Sweep for full buckets when the table passes this size (doubled after a sweep
    /// that could not shrink it), so the cost is amortised.
    sweep_at: usize,
}

#[derive(Debug)]
struct Budgets {
    publish: TokenBucket,
    new_rooms: TokenBucket,
}

/// Which budget a call draws on.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Publish,
    NewRoom,
}

const FIRST_SWEEP: usize = 4096;

impl AddressBudgets {
    /// Budgets of these sizes, nobody's used yet.
    pub fn new(sizes: BudgetSizes) -> Self {
        Self {
            sizes,
            table: Mutex::new(Table {
                by_address: HashMap::new(),
                sweep_at: FIRST_SWEEP,
            }),
        }
    }

    /// One publish from `ip`, or how long until it may.
    pub fn publish(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        self.take(ip, now, Kind::Publish)
    }

    /// One new room from `ip`, or how long until it may.
    pub fn new_room(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        self.take(ip, now, Kind::NewRoom)
    }

    /// Addresses remembered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.table).by_address.len()
    }

    fn take(&self, ip: IpAddr, now: Instant, kind: Kind) -> Result<(), Duration> {
        let sizes = self.sizes;
        let mut table = lock(&self.table);
        if table.by_address.len() >= table.sweep_at {
            table
                .by_address
                .retain(|_, b| !(b.publish.is_full(now) && b.new_rooms.is_full(now)));
            table.sweep_at = (table.by_address.len() * 2).max(FIRST_SWEEP);
        }
        let budgets = table.by_address.entry(ip).or_insert_with(|| Budgets {
            publish: TokenBucket::new(sizes.publish_per_sec, sizes.publish_burst, now),
            new_rooms: TokenBucket::new(
                f64::from(sizes.new_rooms_per_hour) / 3600.0,
                sizes.new_rooms_per_hour,
                now,
            ),
        });
        match kind {
            Kind::Publish => budgets.publish.try_take(now),
            Kind::NewRoom => budgets.new_rooms.try_take(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes() -> BudgetSizes {
        BudgetSizes {
            publish_per_sec: 10.0,
            publish_burst: 5,
            new_rooms_per_hour: 3,
        }
    }

    #[test]
    fn addresses_have_separate_budgets_that_refill() {
        let b = AddressBudgets::new(sizes());
        let (one, two) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(b.publish(one, t0).is_ok());
        }
        assert!(b.publish(one, t0).is_err());
        assert!(b.publish(two, t0).is_ok(), "another address has its own");
        assert!(b.publish(one, t0 + Duration::from_millis(100)).is_ok());
        for _ in 0..3 {
            assert!(b.new_room(one, t0).is_ok());
        }
        let wait = b.new_room(one, t0).unwrap_err();
        assert_eq!(wait.as_secs(), 1200, "one more room every 20 minutes");
    }

    #[test]
    fn idle_addresses_are_forgotten() {
        let b = AddressBudgets::new(sizes());
        let t0 = Instant::now();
        for i in 0..FIRST_SWEEP as u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            b.publish(ip, t0).unwrap();
        }
        assert_eq!(b.len(), FIRST_SWEEP);
        // An hour later their buckets are full again: the next call sweeps them away.
        b.publish(
            "198.51.100.1".parse().unwrap(),
            t0 + Duration::from_secs(3600),
        )
        .unwrap();
        assert_eq!(b.len(), 1);
    }
}
