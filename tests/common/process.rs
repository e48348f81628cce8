//! The `chorus` binary as a child process, for what only a real process can show: a
//! kill -9, a restart on the same data directory, a refusal to start.
//!
//! `CHORUS_BIN` picks the binary (`./scripts/test` points it at the release build);
//! otherwise it is the one cargo built for these tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

/// The server binary under test.
pub fn server_bin() -> PathBuf {
    std::env::var_os("CHORUS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_chorus")))
}

fn command(data_dir: &Path, args: &[&str]) -> Command {
    command_logging(data_dir, args, "warn")
}

fn command_logging(data_dir: &Path, args: &[&str], log: &str) -> Command {
    let mut cmd = Command::new(server_bin());
    cmd.arg("--addr")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("LEPTOS_OUTPUT_NAME")
        .env("RUST_LOG", log)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// A running server process.
pub struct ServerProcess {
    pub addr: SocketAddr,
    child: Child,
    /// Bytes the server has logged (stdout and stderr) since it said it is serving.
    pub logged: Arc<AtomicUsize>,
    /// What it logged on stdout since then (the first 4 MB).
    log: Arc<std::sync::Mutex<String>>,
}

impl ServerProcess {
    /// Starts the binary on a free port and waits until it says it is serving.
    pub async fn start(data_dir: &Path, args: &[&str]) -> ServerProcess {
        Self::start_logging(data_dir, args, "warn").await
    }

    /// [`Self::start`] with `RUST_LOG` set to `log`.
    pub async fn start_logging(data_dir: &Path, args: &[&str], log: &str) -> ServerProcess {
        let logged = Arc::new(AtomicUsize::new(0));
        let mut child = command_logging(data_dir, args, log)
            .spawn()
            .expect("server binary starts");
        let stdout = child.stdout.take().expect("stdout");
        if let Some(mut stderr) = child.stderr.take() {
            // Drained and shown, so a server that logs a lot never blocks on the pipe.
            let logged = logged.clone();
            tokio::spawn(async move {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text).await;
                logged.fetch_add(text.len(), Ordering::Relaxed);
                if !text.is_empty() {
                    eprintln!("[server stderr]\n{text}");
                }
            });
        }
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("stdout reads") {
                if let Some(url) = line.strip_prefix("Chorus is running: open http://") {
                    return url.trim().to_string();
                }
            }
            panic!("server exited before serving")
        })
        .await
        .expect("server starts in time");
        // Keep draining stdout so the server never blocks on a full pipe.
        let counted = logged.clone();
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let kept = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(l)) = lines.next_line().await {
                counted.fetch_add(l.len() + 1, Ordering::Relaxed);
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() < 4 << 20 {
                    kept.push_str(&l);
                    kept.push('\n');
                }
            }
        });
        ServerProcess {
            addr: line.parse().expect("address"),
            child,
            logged,
            log,
        }
    }

    /// What the server has logged on stdout so far.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// SIGKILL: no shutdown code runs, exactly like a crash or the OOM killer.
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("kill");
        self.child.wait().await.expect("reaped");
    }

    /// SIGTERM, then the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY-free: the `kill` command sends the signal; no libc binding needed.
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .expect("kill -TERM");
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("exits in time")
            .expect("exit status")
    }
}

/// Runs the binary expecting it to refuse to start: returns its exit status and stderr.
pub async fn start_refused(data_dir: &Path, args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = command(data_dir, args)
        .spawn()
        .expect("server binary starts");
    let mut stderr = child.stderr.take().expect("stderr");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("a refused start ends in time")
        .expect("exit status");
    let mut text = String::new();
    stderr.read_to_string(&mut text).await.expect("stderr");
    (status, text)
}
