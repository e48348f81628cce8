//! The server (feature `ssr`): everything that runs in the `chorus` binary.
//!
//! - [`config`]: flags, environment, `Leptos.toml`.
//! - [`startup`]: `Application::build` / `run_until_stopped`.
//! - [`state`]: what the handlers share ([`state::AppState`]) and the narrow, read-only
//!   part the pages get ([`state::PageReads`]).
//! - [`listener`]: the accept loop and its bounds (connections in all and per address,
//!   header-read timeout); [`idle_io`]: the idle timeout on every connection; [`linger`]: closing without a reset.
//! - [`http`]: routes, the `/ws` upgrade, SSR pages.
//! - [`api`]: the JSON API under `/api/rooms`; [`bodies`]: request bodies and redirects.
//! - [`metrics`]: `/metrics` in Prometheus format, and the names of every metric.
//! - [`websocket`]: the upgrade handshake and the framing (zero-copy writes of shared
//!   frames).
//! - [`session`]: one task per WebSocket: decode → apply → encode (`apply`, `pipeline`,
//!   `replay`, `forward`).
//! - [`hub`]: rooms, members, ordered fan-out of pre-encoded frames (`outbound`, `room`,
//!   `presence`, `cluster`).
//! - [`outbox`]: a connection's bounded outbound queue (hub → session).
//! - [`store`]: room history behind the `Store` trait.
//! - [`engine`]: what the nodes of a cluster share (local, or Redis).
//! - [`accounts`]: the site's own accounts: sign-up, sign-in, sessions, their HTTP API.
//! - [`identity`]: who a connection is (v1.1): tokens (`jwt`) and the rights they grant.
//! - [`rooms`]: rooms with owners: public or private, members, invites, who may enter.
//! - [`refusal`]: every refusal and its protocol error code, in one place.
//! - [`rate_limit`]: the per-connection token bucket; [`address_budget`]: what one
//!   address may do in all its connections (publishes, new rooms).
//! - [`conn_limit`]: open sockets per client address; [`client_addr`]: which address
//!   that is (trusted proxies' `X-Forwarded-For`, IPv6 per /64).
//! - [`origin`]: the upgrade's `Origin` check.
//! - [`log_limit`]: log lines about what strangers send, bounded and throttled.
//! - [`shutdown`]: the stop signal sessions listen to.
//! - [`testing`]: tooling for `tests/` and `bench/` (never used by the binary).

pub mod accounts;
pub mod address_budget;
pub mod admin;
pub mod api;
pub mod bodies;
pub mod client_addr;
pub mod config;
pub mod conn_limit;
pub mod engine;
pub mod http;
pub mod hub;
pub mod identity;
pub mod idle_io;
pub mod linger;
pub mod listener;
pub mod log_limit;
pub mod metrics;
pub mod moderation;
pub mod origin;
pub mod outbox;
pub mod rate_limit;
pub mod refusal;
pub mod rooms;
pub mod session;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod store;
pub mod testing;
pub mod websocket;
