//! A `redis-server` child process on a free loopback port, for tests and benchmarks
//! (the way `./scripts/test` and `./scripts/run --cluster` start one).
//!
//! Started with an append-only file fsynced on every write, the setting that backs
//! "acked means stored" (docs/scaling.md), so a kill -9 and restart keeps every acked
//! message.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`; killed (and its directory removed) when dropped.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// The binary: `$CHORUS_REDIS_SERVER`, else `redis-server` from `PATH`.
fn binary() -> String {
    std::env::var("CHORUS_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl RedisServer {
    /// Starts one in a fresh directory and waits until it answers.
    ///
    /// # Panics
    /// When `redis-server` is missing (`./scripts/setup --redis` installs it) or does not
    /// answer within 10 s: this is test and benchmark tooling.
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "chorus-redis-{}-{}",
            std::process::id(),
            crate::server::store::new_epoch().as_str()
        ));
        std::fs::create_dir_all(&dir).expect("redis data dir");
        let mut server = Self {
            port: free_port(),
            dir,
            child: None,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = Command::new(binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (install it with ./scripts/setup --redis)",
                    binary()
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 64];
        s.write_all(b"PING\r\n").is_ok()
            && s.read(&mut buf)
                .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it with SIGKILL (no shutdown save) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and directory (it reloads its append-only file).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// A connection manager to it, for tests.
    pub async fn connection(&self) -> redis::aio::ConnectionManager {
        redis::Client::open(self.url())
            .expect("redis url")
            .get_connection_manager()
            .await
            .expect("redis connects")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
