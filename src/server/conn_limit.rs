//! Open WebSocket connections per client IP address, so one address cannot take every
//! socket the server has. The count is held by a [`Permit`] that lives as long as the
//! connection and gives its place back when dropped, however the connection ends.

use crate::sync::lock;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Counts connections per address against a limit; cheap to clone.
#[derive(Clone, Debug)]
pub struct ConnLimit {
    max_per_ip: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// One connection's place in the count.
#[derive(Debug)]
pub struct Permit {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl ConnLimit {
    /// At most `max_per_ip` open connections per address.
    ///
    /// The addresses are the per-address limits' keys ([`crate::server::client_addr::limit_key`]).
    pub fn new(max_per_ip: u32) -> Self {
        Self {
            max_per_ip,
            open: Arc::default(),
        }
    }

    /// A place for one more connection from `ip`, or `None` at the limit.
    pub fn acquire(&self, ip: IpAddr) -> Option<Permit> {
        let mut open = lock(&self.open);
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max_per_ip {
            return None;
        }
        *n += 1;
        Some(Permit {
            ip,
            open: self.open.clone(),
        })
    }

    /// Open connections from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> u32 {
        let open = lock(&self.open);
        open.get(&ip).copied().unwrap_or(0)
    }
}

impl Permit {
    /// The address this connection is counted under.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_address_and_frees_on_drop() {
        let limit = ConnLimit::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let p1 = limit.acquire(a).unwrap();
        let _p2 = limit.acquire(a).unwrap();
        assert!(limit.acquire(a).is_none(), "a third from the same address");
        assert!(
            limit.acquire(b).is_some(),
            "another address is not affected"
        );
        drop(p1);
        assert_eq!(limit.open_from(a), 1);
        assert!(limit.acquire(a).is_some());
    }
}
