//! `GET /metrics`: what an operator's dashboard needs, in Prometheus text format.
//!
//! Call sites use the small functions here, so metric names live in one place:
//! - `chorus_connections` (gauge): open WebSocket sessions.
//! - `chorus_rooms` (gauge): rooms with members, read at scrape time.
//! - `chorus_messages_in_total`: messages stored (new, not duplicates).
//! - `chorus_messages_out_total`: `message` frames written to sockets (live and replay).
//! - `chorus_publish_ack_seconds` (histogram): publish received → ack sent.
//! - `chorus_store_batch_size` / `chorus_store_commit_seconds` (histograms): group commits.
//! - `chorus_slow_consumer_closes_total`: sockets closed with 4008.
//! - `chorus_refusals_total{code}`: refused frames and API calls, by protocol error code.
//! - `chorus_cluster_link_lost_total`: times the Redis subscription was lost (each one
//!   reconnects and resyncs every room); absent or 0 while Redis is healthy.
//! - `chorus_cluster_announcements_pending` (gauge): rooms whose presence this node has
//!   yet to send to Redis (at most the rooms it has members in, however slow Redis is).
//!
//! One global recorder per process (the `metrics` facade has one); servers started in one
//! test process share it, so tests compare before and after.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

const SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
const BATCH: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Installs the recorder once per process; later calls return the same handle. `None`
/// if another recorder was installed first (then `/metrics` says so).
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full("chorus_store_batch_size".into()), BATCH)
                })
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// The text a scrape gets.
pub fn render(rooms: usize) -> String {
    match install() {
        Some(handle) => {
            metrics::gauge!("chorus_rooms").set(rooms as f64);
            handle.run_upkeep();
            handle.render()
        }
        None => "# metrics unavailable: another recorder is installed\n".into(),
    }
}

/// A session started; the returned guard ends it, however the session ends.
pub fn connection_opened() -> ConnectionGauge {
    metrics::gauge!("chorus_connections").increment(1.0);
    ConnectionGauge
}

/// Decrements `chorus_connections` when dropped.
#[derive(Debug)]
pub struct ConnectionGauge;

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!("chorus_connections").decrement(1.0);
    }
}

/// A new message was stored.
pub fn message_stored() {
    metrics::counter!("chorus_messages_in_total").increment(1);
}

/// `n` `message` frames were written to a socket (counted per write batch, not per
/// frame: this is the fan-out's hot path).
pub fn messages_sent(n: u64) {
    // The handle is looked up once: `counter!` hashes the name into the registry on every
    // call, and this runs once per write batch of every member.
    static OUT: std::sync::OnceLock<metrics::Counter> = std::sync::OnceLock::new();
    if n > 0 {
        OUT.get_or_init(|| {
            install(); // so the handle is never the no-op one of a process without it
            metrics::counter!("chorus_messages_out_total")
        })
        .increment(n);
    }
}

/// A publish was acked this long after it arrived.
pub fn publish_acked(took: Duration) {
    metrics::histogram!("chorus_publish_ack_seconds").record(took.as_secs_f64());
}

/// The writer committed `size` publishes in one transaction, in `took`.
pub fn store_batch(size: usize, took: Duration) {
    metrics::histogram!("chorus_store_batch_size").record(size as f64);
    metrics::histogram!("chorus_store_commit_seconds").record(took.as_secs_f64());
}

/// A socket was closed as a slow consumer.
pub fn slow_consumer_closed() {
    metrics::counter!("chorus_slow_consumer_closes_total").increment(1);
}

/// The link to the other nodes (the Redis subscription) was lost; the node reconnects
/// and resyncs every room. Should stay at 0 while Redis is up.
pub fn cluster_link_lost() {
    metrics::counter!("chorus_cluster_link_lost_total").increment(1);
}

/// How many rooms' presence waits to be sent to Redis.
pub fn announcements_pending(rooms: usize) {
    metrics::gauge!("chorus_cluster_announcements_pending").set(rooms as f64);
}

/// A frame or API call was refused with `code`.
pub fn refused(code: &'static str) {
    metrics::counter!("chorus_refusals_total", "code" => code).increment(1);
}
