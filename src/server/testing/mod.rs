//! Tooling for tests and benchmarks: real servers on loopback, with the same settings a
//! deployment would use. Nothing in the `chorus` binary calls into this module; it is
//! public so that the integration tests (`tests/`) and the benchmarks (`bench/`), which
//! are separate crates, can use it.
//!
//! - [`RedisServer`]: a `redis-server` child process on a free port.
//! - [`Config::for_tests`]: a server configuration on port 0 with a given data directory.

mod redis_server;

pub use redis_server::RedisServer;

use crate::server::config::Config;
use clap::Parser;
use std::net::SocketAddr;
use std::path::Path;

impl Config {
    /// The configuration a test server gets: an ephemeral port on loopback, the given
    /// data directory, and every other option at its default.
    pub fn for_tests(data_dir: &Path) -> Self {
        let mut c = Self::parse_from(["chorus"]);
        c.addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.data_dir = data_dir.to_path_buf();
        c
    }
}
