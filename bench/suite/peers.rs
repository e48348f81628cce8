//! The servers under test, each started as its own process so `/proc` tells its CPU time
//! and memory apart from the load generator's.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Which server a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peer {
    /// The seed's express + ws relay (`bench/peers/seed-node/`).
    Seed,
    /// The bare Rust relay (`bench/suite/relay.rs`).
    Bare,
    /// Chorus's release binary with its default durable store.
    Chorus,
}

impl Peer {
    /// Every peer, in the order each round runs them.
    pub const ALL: [Peer; 3] = [Peer::Seed, Peer::Bare, Peer::Chorus];

    /// The name in tables and plots.
    pub fn label(self) -> &'static str {
        match self {
            Peer::Seed => "seed (express + ws)",
            Peer::Bare => "bare Rust relay",
            Peer::Chorus => "Chorus",
        }
    }

    /// True when the peer speaks the Chorus protocol (rooms, acks); else raw text frames.
    pub fn is_chorus(self) -> bool {
        self == Peer::Chorus
    }
}

/// A running server.
pub struct Server {
    /// Which one it is.
    pub peer: Peer,
    /// Its WebSocket URL.
    pub url: String,
    child: Child,
    pid: u32,
    _data: Option<tempfile::TempDir>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Server {
    /// Starts `peer` on a free loopback port and waits until it listens.
    pub async fn start(peer: Peer) -> Server {
        let root = root();
        let mut data = None;
        let (mut cmd, marker) = match peer {
            Peer::Seed => {
                let mut c = Command::new("node");
                c.arg("server.js")
                    .current_dir(root.join("bench/peers/seed-node"))
                    .env("PORT", "0");
                (c, "Listening on ")
            }
            Peer::Bare => {
                let exe = std::env::current_exe().expect("own path");
                let mut c = Command::new(exe);
                c.args(["relay", "127.0.0.1:0"]);
                (c, "listening on ")
            }
            Peer::Chorus => {
                let bin = std::env::var("CHORUS_BIN")
                    .map(PathBuf::from)
                    .unwrap_or_else(|_| root.join("target/release/chorus"));
                let dir = tempfile::tempdir().expect("temp dir");
                let mut c = Command::new(bin);
                c.current_dir(&root)
                    .args(["--addr", "127.0.0.1:0"])
                    .arg("--data-dir")
                    .arg(dir.path())
                    // The load comes from one address and publishes far beyond a person's
                    // rate: lift the per-address and per-connection limits, nothing else.
                    .args(["--max-conns-per-ip", "100000"])
                    .args(["--max-tcp-per-ip", "100000", "--max-connections", "100000"])
                    .args(["--rate-per-sec", "1000000", "--rate-burst", "1000000"])
                    .args(["--new-rooms-per-ip-per-hour", "1000000"])
                    .env("RUST_LOG", "warn");
                data = Some(dir);
                (c, "Chorus is running: open http://")
            }
        };
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {peer:?}: {e}"));
        let pid = child.id().expect("pid");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split(marker).nth(1) {
                    return Some(rest.trim().to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("{peer:?} did not start"));
        // Keep reading its output so a chatty server (the seed logs every connection)
        // never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let url = match peer {
            Peer::Seed => format!("ws://127.0.0.1:{found}/"),
            Peer::Bare => format!("ws://{found}/"),
            Peer::Chorus => format!("ws://{found}/ws"),
        };
        Server {
            peer,
            url,
            child,
            pid,
            _data: data,
        }
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        crate::proc::rss_kib(self.pid)
    }

    /// CPU time used so far (user + system), all threads.
    pub fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start at field 3.
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<u64> = after
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        // utime and stime are fields 14 and 15, i.e. 11 and 12 after the name; in ticks
        // of 1/100 s (CLK_TCK on Linux).
        let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
        Duration::from_millis(ticks * 10)
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
