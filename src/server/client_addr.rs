//! Which address a request comes from, for the per-address limits.
//!
//! Behind a reverse proxy every TCP connection comes from the proxy, so counting TCP
//! peers would put every user under one limit. The proxy says who the client is in
//! `X-Forwarded-For`, but anyone can send that header, so it is believed only when the
//! TCP peer is a configured trusted proxy (`--trusted-proxies`), and then only up to the
//! rightmost hop that is not itself trusted: the address the last trusted proxy saw.
//! IPv6 clients are counted per /64, the block one subscriber usually gets, so one host
//! cannot walk through its own addresses to escape the limit.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// These networks (a bare address is a /32 or /128).
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: `peer` itself unless it is a trusted proxy, else the
    /// rightmost `X-Forwarded-For` hop that is not trusted. `forwarded` holds the header's
    /// values in the order they came. A hop that is not an address ends the walk there
    /// (it was written by someone untrusted), and so does an empty header.
    pub fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut last = peer;
        for hop in forwarded.iter().rev().flat_map(|v| v.rsplit(',')) {
            let Some(ip) = parse_hop(hop) else {
                return last;
            };
            if !self.trusts(ip) {
                return ip;
            }
            last = ip;
        }
        last
    }
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

/// Parses one `--trusted-proxies` entry: a CIDR (`10.0.0.0/8`) or an address.
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an address or a CIDR like 10.0.0.0/8"))
}

/// What the per-address limits count `ip` as: an IPv4 address as it is, an IPv6 one by
/// its /64 (an IPv4-mapped IPv6 address as the IPv4 one).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("198.51.100.7"), &["203.0.113.9"]),
            ip("198.51.100.7")
        );
        let proxies = TrustedProxies::new(vec![
            parse_net("10.0.0.0/8").unwrap(),
            parse_net("192.0.2.1").unwrap(),
        ]);
        assert_eq!(
            proxies.client(ip("198.51.100.7"), &["203.0.113.9"]),
            ip("198.51.100.7"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &["203.0.113.9"]),
            ip("203.0.113.9")
        );
        // The client prepended a lie; the rightmost untrusted hop is what nginx saw.
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &["1.1.1.1, 203.0.113.9, 192.0.2.1"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &["1.1.1.1", "203.0.113.9:4711"]),
            ip("203.0.113.9"),
            "several headers, and a hop with a port"
        );
        assert_eq!(proxies.client(ip("10.1.2.3"), &["garbage"]), ip("10.1.2.3"));
        assert_eq!(proxies.client(ip("10.1.2.3"), &[]), ip("10.1.2.3"));
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("2001:db8:1:2:ffff::9")), ip("2001:db8:1:2::"));
        assert_ne!(limit_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("::ffff:192.0.2.4")), ip("192.0.2.4"));
        assert_eq!(limit_key(ip("192.0.2.4")), ip("192.0.2.4"));
        assert!(parse_net("not-a-net").is_err());
    }
}
