//! The release server (`CHORUS_BIN`, default `target/release/chorus`) as a child process
//! on a free loopback port, for benchmarks that measure it from outside. Included by path
//! (`#[path = "support/release_server.rs"] mod release_server;`).

use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A running release server.
pub struct ReleaseServer {
    /// The process (killed when dropped).
    pub child: tokio::process::Child,
    /// Its pid, for `/proc`.
    pub pid: u32,
    /// `host:port` it serves on.
    pub addr: String,
}

/// Starts the release server on `data` with `args` besides its address, and waits until
/// it says it is serving.
pub async fn start(data: &Path, args: &[&str]) -> ReleaseServer {
    let root = env!("CARGO_MANIFEST_DIR");
    let bin =
        std::env::var("CHORUS_BIN").unwrap_or_else(|_| format!("{root}/target/release/chorus"));
    let mut child = tokio::process::Command::new(&bin)
        .current_dir(root)
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (run cargo leptos build --release)"));
    let pid = child.id().expect("pid");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines
            .next_line()
            .await
            .expect("stdout")
            .expect("server output");
        if let Some(a) = line.strip_prefix("Chorus is running: open http://") {
            break a.trim().to_string();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    ReleaseServer { child, pid, addr }
}
