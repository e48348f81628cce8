//! A node's live numbers for the operator's view, read from the same counters `/metrics`
//! serves, sampled every [`SAMPLE_EVERY`] into rates, and shared with the other nodes
//! through the engine (in Redis with a time stamp, so a dead node drops out).

use crate::protocol::RoomName;
use crate::server::hub::Hub;
use crate::sync::lock;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the numbers are sampled (and shared).
pub const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// Numbers older than this are a node that is gone.
pub const STALE_AFTER: Duration = Duration::from_secs(10);

/// Rooms each node reports among its busiest.
const TOP_ROOMS: usize = 10;

/// One node's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeNumbers {
    /// The node's id (`local` on a single node).
    pub node: String,
    /// Open WebSocket connections.
    pub connections: u64,
    /// Rooms with members.
    pub rooms: u64,
    /// Messages stored per second, over the last sample.
    pub messages_in_per_s: f64,
    /// `message` frames written to sockets per second, over the last sample.
    pub messages_out_per_s: f64,
    /// Mean store commit time over the last sample, in ms (`None`: no commit).
    pub commit_ms: Option<f64>,
    /// Its busiest rooms: name and connections.
    pub busiest: Vec<(RoomName, u32)>,
    /// When sampled (ms since the Unix epoch).
    pub at_ms: u64,
}

/// The counters a sample reads.
#[derive(Clone, Copy, Default)]
struct Totals {
    messages_in: f64,
    messages_out: f64,
    commit_sum: f64,
    commit_count: f64,
}

/// The value of an unlabelled metric in Prometheus text (0 when absent).
fn value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter_map(|l| l.strip_prefix(name))
        .filter_map(|rest| rest.strip_prefix(' '))
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .next()
        .unwrap_or(0.0)
}

impl Totals {
    fn read(rooms: usize) -> Self {
        let text = crate::server::metrics::render(rooms);
        Self {
            messages_in: value(&text, "chorus_messages_in_total"),
            messages_out: value(&text, "chorus_messages_out_total"),
            commit_sum: value(&text, "chorus_store_commit_seconds_sum"),
            commit_count: value(&text, "chorus_store_commit_seconds_count"),
        }
    }
}

/// This node's sampler: the previous sample, to turn totals into rates.
pub struct Sampler {
    node: String,
    hub: Hub,
    last: Mutex<(Instant, Totals, Option<NodeNumbers>)>,
}

impl Sampler {
    /// A sampler for `hub`'s node `node`.
    pub fn new(node: String, hub: Hub) -> Arc<Self> {
        let rooms = hub.room_counts().len();
        Arc::new(Self {
            node,
            hub,
            last: Mutex::new((Instant::now(), Totals::read(rooms), None)),
        })
    }

    /// The numbers now: rates since the previous sample (taken at most every second;
    /// a call sooner gets the previous numbers).
    pub fn sample(&self) -> NodeNumbers {
        let busiest_all = self.hub.room_counts();
        let now = Instant::now();
        let mut last = lock(&self.last);
        if let Some(done) = &last.2 {
            if now.duration_since(last.0) < Duration::from_secs(1) {
                return done.clone();
            }
        }
        let totals = Totals::read(busiest_all.len());
        let secs = now.duration_since(last.0).as_secs_f64().max(0.001);
        let before = last.1;
        let commits = totals.commit_count - before.commit_count;
        let numbers = NodeNumbers {
            node: self.node.clone(),
            connections: self.hub.connection_count() as u64,
            rooms: busiest_all.len() as u64,
            messages_in_per_s: ((totals.messages_in - before.messages_in) / secs).max(0.0),
            messages_out_per_s: ((totals.messages_out - before.messages_out) / secs).max(0.0),
            commit_ms: (commits > 0.0)
                .then(|| (totals.commit_sum - before.commit_sum) / commits * 1000.0),
            busiest: busiest_all.into_iter().take(TOP_ROOMS).collect(),
            at_ms: crate::server::store::now_ms(),
        };
        *last = (now, totals, Some(numbers.clone()));
        numbers
    }
}

/// Every [`SAMPLE_EVERY`]: sample, and hand the numbers to the engine for the other
/// nodes. Holds nothing between ticks (the sampler weakly), so a stopped server's store
/// is closed at once; ends with the sampler's last other holder.
pub async fn share_periodically(sampler: std::sync::Weak<Sampler>) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(sampler) = sampler.upgrade() else {
            return;
        };
        let numbers = sampler.sample();
        if let Ok(json) = serde_json::to_string(&numbers) {
            sampler.hub.engine().share_numbers(&numbers.node, &json);
        }
    }
}

/// Busiest rooms over all nodes: connections summed per room, busiest first.
pub fn busiest(nodes: &[NodeNumbers], max: usize) -> Vec<(RoomName, u32)> {
    let mut sum: std::collections::HashMap<&RoomName, u32> = Default::default();
    for n in nodes {
        for (room, c) in &n.busiest {
            *sum.entry(room).or_default() += c;
        }
    }
    let mut out: Vec<(RoomName, u32)> = sum.into_iter().map(|(r, c)| (r.clone(), c)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(max);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_unlabelled_values_only() {
        let text = "# HELP x\nchorus_messages_in_total 42\nchorus_messages_in_total_x 9\nchorus_refusals_total{code=\"a\"} 3\n";
        assert_eq!(value(text, "chorus_messages_in_total"), 42.0);
        assert_eq!(value(text, "chorus_refusals_total"), 0.0);
        assert_eq!(value(text, "absent"), 0.0);
    }

    #[test]
    fn the_busiest_rooms_sum_over_nodes() {
        let r = |s: &str| RoomName::parse(s).unwrap();
        let node = |busiest: Vec<(RoomName, u32)>| NodeNumbers {
            node: "n".into(),
            connections: 0,
            rooms: 0,
            messages_in_per_s: 0.0,
            messages_out_per_s: 0.0,
            commit_ms: None,
            busiest,
            at_ms: 0,
        };
        let nodes = [
            node(vec![(r("a"), 3), (r("b"), 2)]),
            node(vec![(r("b"), 2), (r("c"), 1)]),
        ];
        assert_eq!(busiest(&nodes, 2), vec![(r("b"), 4), (r("a"), 3)]);
    }
}
