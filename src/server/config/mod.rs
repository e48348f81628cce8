//! The server's configuration: CLI flags with `CHORUS_*` environment equivalents, and
//! the site's runtime settings from `Leptos.toml`.
//!
//! Precedence for each option: the flag, then its environment variable, then the optional
//! TOML file given by `--config` (keys are the long option names: `rate-per-sec = 5`,
//! `allowed-origins = ["https://a.example"]`), then the default that `chorus --help`
//! prints. File values go through the same parsers as flags, so they are checked alike. The listen address has one more layer: when neither
//! `--addr` nor `CHORUS_ADDR` is given it is the site's `site-addr`.

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// Chorus: real-time rooms for the web.
#[derive(Parser, Debug, Clone)]
#[command(name = "chorus", version, about, long_about = None)]
pub struct Config {
    /// A TOML file with any of these options (flags and environment win over it)
    #[arg(long, env = "CHORUS_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log format: `text` for people, `json` for log collectors
    #[arg(long, env = "CHORUS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address to listen on [default: site-addr from the site config, else 127.0.0.1:3000]
    #[arg(long, env = "CHORUS_ADDR")]
    pub addr: Option<SocketAddr>,

    /// Directory for the server's data (created if missing)
    #[arg(long, env = "CHORUS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Site runtime settings (site-root, site-pkg-dir, output-name, site-addr), read when
    /// the LEPTOS_* variables that cargo-leptos sets are absent
    #[arg(long, env = "CHORUS_SITE_CONFIG", default_value = "Leptos.toml")]
    pub site_config: PathBuf,

    /// Sustained publishes per second allowed per connection
    #[arg(long, env = "CHORUS_RATE_PER_SEC", default_value_t = 10.0, value_parser = positive_f64)]
    pub rate_per_sec: f64,

    /// Publishes allowed in a burst per connection
    #[arg(long, env = "CHORUS_RATE_BURST", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_burst: u32,

    /// Sustained joins, leaves and history requests per second per connection (each can
    /// make the server send much more than it got: a replay, a page, a presence frame)
    #[arg(long, env = "CHORUS_CONTROL_RATE_PER_SEC", default_value_t = 2.0, value_parser = positive_f64)]
    pub control_rate_per_sec: f64,

    /// Joins, leaves and history requests allowed in a burst per connection
    #[arg(long, env = "CHORUS_CONTROL_BURST", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub control_burst: u32,

    /// Sustained publishes per second per client address, all its connections together
    /// [default: 3 × --rate-per-sec]
    #[arg(long, env = "CHORUS_RATE_PER_IP_PER_SEC", value_parser = positive_f64)]
    pub rate_per_ip_per_sec: Option<f64>,

    /// Publishes in a burst per client address [default: 3 × --rate-burst]
    #[arg(long, env = "CHORUS_RATE_PER_IP_BURST",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_per_ip_burst: Option<u32>,

    /// Rooms one client address may bring into being per hour (by publishing the first
    /// message of a room); each stays on disk for the retention time
    #[arg(long, env = "CHORUS_NEW_ROOMS_PER_IP_PER_HOUR", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub new_rooms_per_ip_per_hour: u32,

    /// Rooms one connection may be in at once
    #[arg(long, env = "CHORUS_MAX_ROOMS", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_rooms: u32,

    /// Frames queued per connection before it is closed as a slow consumer (4008)
    #[arg(long, env = "CHORUS_OUTBOUND_QUEUE", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub outbound_queue: u32,

    /// Where room history lives: `sqlite` (durable, in the data directory) or `memory`
    /// (lost at exit; for throwaway servers)
    #[arg(long, env = "CHORUS_STORE", value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,

    /// Messages kept per room (the newest ones); 0 keeps every message
    #[arg(long, env = "CHORUS_HISTORY_CAP", default_value_t = 10_000)]
    pub history_cap: u64,

    /// Bytes of messages kept per room (sender + body + client_id of each; the newest
    /// kept); 0 keeps any amount. With --max-stored-rooms it bounds the disk
    #[arg(long, env = "CHORUS_HISTORY_MAX_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub history_max_bytes: u64,

    /// Rooms that may hold messages at once (a first message for one more is refused
    /// `unavailable` until another room's messages expire); 0: no cap
    #[arg(long, env = "CHORUS_MAX_STORED_ROOMS", default_value_t = 10_000)]
    pub max_stored_rooms: u64,

    /// Messages older than this are deleted (e.g. `30d`, `12h`; `0` keeps them
    /// regardless of age)
    #[arg(long, env = "CHORUS_HISTORY_MAX_AGE", default_value = "30d", value_parser = duration)]
    pub history_max_age: Duration,

    /// How long a write waits for a database lock held by another process before the
    /// publish is answered `unavailable`
    #[arg(long, env = "CHORUS_STORE_BUSY_TIMEOUT", default_value = "5s", value_parser = duration)]
    pub store_busy_timeout: Duration,

    /// Redis to share rooms with other nodes (`redis://[:password@]host:port[/db]`);
    /// replaces `--store`: history, seqs and presence then live in Redis
    #[arg(long, env = "CHORUS_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of this deployment's Redis keys and channels
    #[arg(long, env = "CHORUS_REDIS_PREFIX", default_value = "chorus")]
    pub redis_prefix: String,

    /// This node's id in the cluster (letters, digits, `-`, `_`) [default: random]
    #[arg(long, env = "CHORUS_NODE_ID")]
    pub node_id: Option<String>,

    /// How long a node's members stay listed by other nodes without a heartbeat (it
    /// re-announces every third of this); bounds the ghosts a dead node leaves
    #[arg(long, env = "CHORUS_PRESENCE_TTL", default_value = "15s", value_parser = duration)]
    pub presence_ttl: Duration,

    /// Longest wait for Redis to connect or answer before a call fails `unavailable`
    #[arg(long, env = "CHORUS_REDIS_TIMEOUT", default_value = "2s", value_parser = duration)]
    pub redis_timeout: Duration,

    /// Origins (scheme://host[:port]) whose pages may open sockets besides the server's
    /// own, comma-separated; `*` allows any
    #[arg(long, env = "CHORUS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Host names (or `name:port`) requests may be addressed to, comma-separated; `*`
    /// for any. Without it a server on a loopback address answers only to `localhost`,
    /// `127.0.0.1` and `[::1]` (so a rebound DNS name cannot reach it), one on another
    /// address to any name: set it to your domain there
    #[arg(long, env = "CHORUS_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// Reverse proxies (CIDRs or addresses, comma-separated) whose `X-Forwarded-For` is
    /// believed for the per-address limits (the rightmost hop that is not one of them);
    /// without it the TCP peer is the client
    #[arg(long, env = "CHORUS_TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = crate::server::client_addr::parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Open WebSocket connections allowed per client IP address (more are refused with 429)
    #[arg(long, env = "CHORUS_MAX_CONNS_PER_IP", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns_per_ip: u32,

    /// Open TCP connections in all (HTTP and WebSocket); more are closed unread. Keep it
    /// below the process's descriptor limit (`ulimit -n`) so `/healthz` always answers
    #[arg(long, env = "CHORUS_MAX_CONNECTIONS", default_value_t = 16_384,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Open TCP connections per client address (HTTP and WebSocket); more are closed unread
    #[arg(long, env = "CHORUS_MAX_TCP_PER_IP", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tcp_per_ip: u32,

    /// Time a request's headers have to arrive whole (e.g. `10s`); a client that trickles
    /// them is disconnected
    #[arg(long, env = "CHORUS_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub header_read_timeout: Duration,

    /// Time a connection may wait without a byte moving either way before it is closed
    /// (idle keep-alive, unread responses, stalled bodies); must exceed `--ping-secs`
    #[arg(long, env = "CHORUS_TCP_IDLE_TIMEOUT", default_value = "60s", value_parser = duration)]
    pub tcp_idle_timeout: Duration,

    /// Largest request head (start line and headers), in bytes; bigger ones get 431
    #[arg(long, env = "CHORUS_MAX_HEADER_BYTES", default_value_t = 16_384,
          value_parser = clap::value_parser!(u32).range(8192..))]
    pub max_header_bytes: u32,

    /// Largest request body read, in bytes (`POST /api/...` and the pages' server
    /// functions); bigger ones get 413
    #[arg(long, env = "CHORUS_MAX_BODY_BYTES", default_value_t = 32_768,
          value_parser = clap::value_parser!(u32).range(1024..))]
    pub max_body_bytes: u32,

    /// Time a request body has to arrive whole (e.g. `10s`); slower ones get 408
    #[arg(long, env = "CHORUS_BODY_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub body_timeout: Duration,

    /// Key for `POST /api/rooms/{room}/messages` (sent as `Authorization: Bearer <key>`);
    /// publishing over HTTP is off without one
    #[arg(long, env = "CHORUS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Time one page of a replay (at most 64 KiB of messages) has to reach a client that
    /// resumes; one that does not read it in time is closed with 4008 and resumes later
    #[arg(long, env = "CHORUS_REPLAY_STALL_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub replay_stall_timeout: Duration,

    /// Seconds between server pings
    #[arg(long, env = "CHORUS_PING_SECS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub ping_secs: u64,

    /// Seconds of silence after which a peer is dropped
    #[arg(long, env = "CHORUS_IDLE_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,

    /// Identity: tokens and guests.
    #[command(flatten)]
    pub identity: IdentityConfig,

    /// A tool to run instead of the server.
    #[command(subcommand)]
    pub tool: Option<Tool>,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line (with the connection span's fields).
    Json,
}

/// Why the configuration could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// A flag, variable or file value is wrong (clap's message names it), or `--help`.
    #[error(transparent)]
    Cli(#[from] clap::Error),
    /// The config file cannot be read or is not TOML.
    #[error("config file {path}: {detail}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// Which [`crate::server::store::Store`] the server runs on.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// `<data dir>/chorus.db`: survives restarts and crashes.
    Sqlite,
    /// Process memory: every restart starts a new history (and epoch).
    Memory,
}

/// A human duration: `30d`, `12h`, `500ms`; a bare `0` for none.
pub(super) fn duration(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| format!("{s:?} is not a duration like 30d or 5s: {e}"))
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

impl Config {
    /// Loads from the process's arguments, environment and `--config` file.
    pub fn load() -> Result<Self, LoadError> {
        Self::load_from(std::env::args_os())
    }

    /// Loads from `args` (the first is the program name), the environment, and the
    /// `--config` file if one is named.
    pub fn load_from<I, T>(args: I) -> Result<Self, LoadError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut argv: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let matches = Self::command().try_get_matches_from(&argv)?;
        let first = Self::from_arg_matches(&matches)?;
        let Some(path) = first.config.clone() else {
            return Ok(first);
        };
        let file_err = |detail: String| LoadError::File {
            path: path.clone(),
            detail,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| file_err(e.to_string()))?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| file_err(e.to_string()))?;
        let command = Self::command();
        for (key, value) in table {
            let id = key.replace('-', "_");
            let Some(arg) = command
                .get_arguments()
                .find(|a| a.get_id().as_str() == id && id != "config")
            else {
                return Err(file_err(format!("unknown option {key:?}")));
            };
            if !matches!(
                matches.value_source(&id),
                None | Some(ValueSource::DefaultValue)
            ) {
                continue; // A flag or an environment variable said otherwise.
            }
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                other => return Err(file_err(format!("{key}: unsupported value {other}"))),
            };
            let long = arg.get_long().unwrap_or(key.as_str());
            // `--key=value`, so a value like `-1` is not taken for a flag.
            argv.push(format!("--{long}={text}").into());
        }
        Ok(Self::try_parse_from(argv)?)
    }

    /// Checks what one flag alone cannot: the idle timeout must leave room for at least
    /// one ping, or every quiet peer would be dropped before it was asked to answer.
    pub fn validate(&self) -> Result<(), String> {
        self.identity.validate()?;
        if self.tcp_idle_timeout <= Duration::from_secs(self.ping_secs) {
            return Err(format!(
                "--tcp-idle-timeout ({:?}) must be longer than --ping-secs ({}), or quiet \
                 sockets would be cut between two pings",
                self.tcp_idle_timeout, self.ping_secs
            ));
        }
        if self.header_read_timeout.is_zero() {
            return Err("--header-read-timeout must be more than 0".into());
        }
        if self.idle_timeout_secs <= self.ping_secs {
            return Err(format!(
                "--idle-timeout-secs ({}) must be greater than --ping-secs ({})",
                self.idle_timeout_secs, self.ping_secs
            ));
        }
        if let Some(bad) = self
            .allowed_origins
            .iter()
            .find(|o| o.as_str() != "*" && !o.contains("://"))
        {
            return Err(format!(
                "--allowed-origins: {bad:?} is not an origin like https://example.com (or *)"
            ));
        }
        if let Some(id) = &self.node_id {
            if crate::protocol::RoomName::parse(id).is_err() {
                return Err(format!(
                    "--node-id: {id:?} must be 1-64 letters, digits, `-` or `_`"
                ));
            }
        }
        if self.presence_ttl < Duration::from_millis(300) {
            return Err("--presence-ttl must be at least 300ms".into());
        }
        if self.api_key.as_ref().is_some_and(|k| k.trim().len() < 16) {
            return Err("--api-key must be at least 16 characters".into());
        }
        Ok(())
    }

    /// The retention the store enforces.
    pub fn retention(&self) -> crate::server::store::Retention {
        crate::server::store::Retention {
            max_messages: self.history_cap,
            max_bytes: self.history_max_bytes,
            max_age: (!self.history_max_age.is_zero()).then_some(self.history_max_age),
            max_rooms: self.max_stored_rooms,
        }
    }

    /// The Redis engine's settings, when `--redis-url` is given.
    pub fn redis(&self) -> Option<crate::server::engine::redis::RedisOptions> {
        let url = self.redis_url.clone()?;
        Some(crate::server::engine::redis::RedisOptions {
            url,
            prefix: self.redis_prefix.clone(),
            node_id: self
                .node_id
                .clone()
                .unwrap_or_else(crate::server::engine::redis::new_node_id),
            retention: self.retention(),
            presence_ttl: self.presence_ttl,
            timeout: self.redis_timeout,
        })
    }

    /// The ping interval.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.ping_secs)
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }
}

mod identity;
mod site;

pub use identity::{Guests, IdentityConfig, Secret, Switch, TokenArgs, Tool};

pub use site::{site_options, SiteConfigError};

#[cfg(test)]
mod tests;
