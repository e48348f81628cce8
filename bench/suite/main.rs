//! The benchmark suite: Chorus against the seed's Node relay and a bare Rust relay, side by
//! side in one run, on this machine.
//!
//! `./scripts/bench` builds what is needed and runs `cargo bench --features ssr --bench
//! suite -- run`, which starts each server as its own process (fresh for every run, so no
//! run inherits another's backlog), alternates the peers within every round, and writes
//! `docs/benchmarks.md` and `docs/benchmarks.svg` from the medians of the rounds.
//!
//! Scenarios (the issue's): fan-out 1 → 1000 swept to the highest sustained rate; light
//! load (100 subscribers, 10 publishers × 10 msg/s); idle connections (memory and opening
//! rate); durable publishes with 1/10/100 closed-loop publishers (Chorus only: the relays
//! store nothing and ack nothing); one stalled member in a busy room.
//!
//! `suite relay ADDR` runs the bare relay itself (the suite starts it that way).

mod load;
mod peers;
#[path = "../support/proc.rs"]
mod proc;
mod relay;
mod report;
mod storm;

use clap::{Parser, Subcommand};
use load::{Durable, Idle, Shape, Step};
use peers::{Peer, Server};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Chorus benchmark suite (see bench/suite/main.rs)")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// `cargo bench` passes this to every bench target.
    #[arg(long, hide = true, global = true)]
    bench: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs the scenarios and writes the report.
    Run(Opts),
    /// Serves the bare relay on ADDR.
    Relay { addr: String },
}

/// How much to run.
#[derive(clap::Args, Clone, Debug)]
pub struct Opts {
    /// Rounds; each runs every peer once per scenario, alternating.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Seconds each publishing run lasts.
    #[arg(long, default_value_t = 5.0)]
    pub secs: f64,
    /// Idle connections to open.
    #[arg(long, default_value_t = 10_000)]
    pub idle: usize,
    /// Rooms the idle connections are spread over (1: one big audience; the relays have
    /// no rooms and ignore it).
    #[arg(long, default_value_t = 100)]
    pub idle_rooms: usize,
    /// Scenarios to run (default: all): fanout, bigroom, light, idle, storm, durable,
    /// stalled.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Peers to run (default: all): seed, bare, chorus.
    #[arg(long, value_delimiter = ',')]
    pub peers: Vec<String>,
    /// Fan-out at this one rate instead of the sweep (for profiling: `perf record` the
    /// server meanwhile).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Members of the big room (for a sweep of the per-delivery cost over room sizes:
    /// `--only bigroom --rate 10 --big-room 1000`); the report's tables assume the default.
    #[arg(long, default_value_t = BIG_ROOM_SUBSCRIBERS)]
    pub big_room: usize,
    /// Where the report goes (its plot is written next to it as .svg).
    #[arg(long, default_value = "docs/benchmarks.md")]
    pub out: PathBuf,
}

impl Opts {
    fn wants(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == scenario)
    }
    fn peers(&self) -> Vec<Peer> {
        Peer::ALL
            .into_iter()
            .filter(|p| {
                self.peers.is_empty()
                    || self
                        .peers
                        .iter()
                        .any(|n| format!("{p:?}").eq_ignore_ascii_case(n))
            })
            .collect()
    }
}

/// One peer's fan-out sweep in one round.
#[derive(Clone, Debug, Default)]
pub struct Sweep {
    /// Every rate tried, in the order tried.
    pub points: Vec<Step>,
}

impl Sweep {
    /// The highest rate that was sustained.
    pub fn best(&self) -> Option<&Step> {
        self.points
            .iter()
            .filter(|s| s.sustained())
            .max_by(|a, b| a.offered.total_cmp(&b.offered))
    }
}

/// Everything measured, per peer, one entry per round.
#[derive(Default)]
pub struct Results {
    /// Fan-out 1 → 1000 sweeps.
    pub fanout: BTreeMap<Peer, Vec<Sweep>>,
    /// 100 subscribers, 10 publishers × 10 msg/s.
    pub light: BTreeMap<Peer, Vec<Step>>,
    /// Idle connections.
    pub idle: BTreeMap<Peer, Vec<Idle>>,
    /// Fan-out sweeps into one room of [`BIG_ROOM_SUBSCRIBERS`] (Chorus and the bare relay).
    pub bigroom: BTreeMap<Peer, Vec<Sweep>>,
    /// Join storms into one room (Chorus).
    pub storm: Vec<storm::Storm>,
    /// Chorus's idle connections all in one room (a big audience), beside `idle`'s.
    pub idle_one_room: Vec<Idle>,
    /// Durable publishes by number of publishers (Chorus).
    pub durable: BTreeMap<usize, Vec<Durable>>,
    /// One stalled member in a busy room.
    pub stalled: BTreeMap<Peer, Vec<Step>>,
}

const FANOUT_SUBSCRIBERS: usize = 1000;
/// The join storm: this many joins into one room within [`STORM_SECS`].
pub const STORM_JOINS: usize = 10_000;
/// Seconds the storm's joins are spread over.
pub const STORM_SECS: f64 = 10.0;
/// The audience of the big-room fan-out.
pub const BIG_ROOM_SUBSCRIBERS: usize = 10_000;
const PAYLOAD: usize = 64;
/// The sweep doubles from here until a rate is not sustained, then bisects.
const FIRST_RATE: f64 = 10.0;
const MAX_RATE: f64 = 20_480.0;
const BISECTIONS: usize = 3;

async fn broadcast_once(peer: Peer, shape: &Shape, tag: &str) -> Step {
    let server = Server::start(peer).await;
    let step = load::broadcast(&server, shape, tag).await;
    server.stop().await;
    step
}

fn fanout_shape(rate: f64, secs: f64, subscribers: usize) -> Shape {
    Shape {
        subscribers,
        publishers: 1,
        rate,
        secs,
        size: PAYLOAD,
        stalled: false,
    }
}

fn print_step(peer: Peer, what: &str, s: &Step) {
    println!(
        "  {:<20} {what:<14} offered {:>7.0}/s  delivered {:>9.0}/s  loss {:>6.2}%  p50 {:>7.2} ms  p99 {:>8.2} ms  cpu {:>5.2} µs/delivery  dup {} reord {} err {}{}",
        peer.label(),
        s.offered,
        s.deliveries_per_s,
        s.loss_pct,
        s.p50_ms,
        s.p99_ms,
        s.cpu_us_per_delivery,
        s.dups,
        s.reordered,
        s.errors,
        if s.sustained() { "" } else { "  (not sustained)" }
    );
}

async fn sweep(peer: Peer, secs: f64, fixed: Option<f64>, subscribers: usize) -> Sweep {
    let mut sweep = Sweep::default();
    let what = if subscribers == FANOUT_SUBSCRIBERS {
        "fan-out"
    } else {
        "big room"
    };
    let shape = |rate| fanout_shape(rate, secs, subscribers);
    if let Some(rate) = fixed {
        let step = broadcast_once(peer, &shape(rate), "fanout").await;
        print_step(peer, what, &step);
        sweep.points.push(step);
        return sweep;
    }
    let mut pass: Option<f64> = None;
    let mut fail: Option<f64> = None;
    let mut rate = FIRST_RATE;
    loop {
        let step = broadcast_once(peer, &shape(rate), "fanout").await;
        print_step(peer, what, &step);
        let ok = step.sustained();
        sweep.points.push(step);
        if ok {
            pass = Some(rate);
            if rate >= MAX_RATE {
                break;
            }
            rate *= 2.0;
        } else {
            fail = Some(rate);
            break;
        }
    }
    if let (Some(mut lo), Some(mut hi)) = (pass, fail) {
        for _ in 0..BISECTIONS {
            let mid = ((lo + hi) / 2.0 / 5.0).round() * 5.0;
            if mid <= lo || mid >= hi {
                break;
            }
            let step = broadcast_once(peer, &shape(mid), "fanout").await;
            print_step(peer, what, &step);
            if step.sustained() {
                lo = mid;
            } else {
                hi = mid;
            }
            sweep.points.push(step);
        }
    }
    sweep
}

async fn run(opts: Opts) {
    let peers = opts.peers();
    let mut results = Results::default();
    for round in 1..=opts.rounds {
        println!("round {round} of {}", opts.rounds);
        if opts.wants("fanout") {
            for &peer in &peers {
                let s = sweep(peer, opts.secs, opts.rate, FANOUT_SUBSCRIBERS).await;
                results.fanout.entry(peer).or_default().push(s);
            }
        }
        if opts.wants("bigroom") {
            // The seed is left out: it is the small-room peer, and 10,000 sockets of one
            // Node process would take most of the run.
            for &peer in peers.iter().filter(|p| **p != Peer::Seed) {
                let s = sweep(peer, opts.secs, opts.rate, opts.big_room).await;
                results.bigroom.entry(peer).or_default().push(s);
            }
        }
        if opts.wants("light") {
            for &peer in &peers {
                let shape = Shape {
                    subscribers: 100,
                    publishers: 10,
                    rate: 10.0,
                    secs: opts.secs,
                    size: PAYLOAD,
                    stalled: false,
                };
                let step = broadcast_once(peer, &shape, "light").await;
                print_step(peer, "light", &step);
                results.light.entry(peer).or_default().push(step);
            }
        }
        if opts.wants("idle") {
            for &peer in &peers {
                let server = Server::start(peer).await;
                let idle = load::idle(&server, opts.idle, opts.idle_rooms.max(1)).await;
                server.stop().await;
                println!(
                    "  {:<20} idle           {} of {} open in {} room(s) in {:.2} s ({:.0}/s), RSS {} → {} KiB = {:.2} KiB per connection",
                    peer.label(),
                    idle.opened,
                    opts.idle,
                    opts.idle_rooms.max(1),
                    idle.open_secs,
                    idle.opened as f64 / idle.open_secs,
                    idle.rss_before_kib,
                    idle.rss_after_kib,
                    idle.kib_per_conn
                );
                results.idle.entry(peer).or_default().push(idle);
                if peer == Peer::Chorus && opts.idle_rooms > 1 {
                    // The same number in one room: what a big audience costs per member.
                    let server = Server::start(peer).await;
                    let one = load::idle(&server, opts.idle, 1).await;
                    server.stop().await;
                    println!(
                        "  {:<20} idle, one room {} of {} open in {:.2} s ({:.0}/s) = {:.2} KiB per connection",
                        peer.label(),
                        one.opened,
                        opts.idle,
                        one.open_secs,
                        one.opened as f64 / one.open_secs,
                        one.kib_per_conn
                    );
                    results.idle_one_room.push(one);
                }
            }
        }
        if opts.wants("storm") && peers.contains(&Peer::Chorus) {
            let server = Server::start(Peer::Chorus).await;
            let s = storm::join_storm(&server, STORM_JOINS, STORM_SECS).await;
            server.stop().await;
            println!(
                "  Chorus               join storm     {} joined in {:.1} s; presence per member: max {:.0} B/s, mean {:.0} B/s; largest frame {} B",
                s.joined, s.secs, s.max_bytes_per_s, s.mean_bytes_per_s, s.largest_frame
            );
            results.storm.push(s);
        }
        if opts.wants("durable") && peers.contains(&Peer::Chorus) {
            for publishers in [1, 10, 100] {
                let server = Server::start(Peer::Chorus).await;
                let d = load::durable(&server, publishers, opts.secs).await;
                server.stop().await;
                println!(
                    "  Chorus               durable ×{publishers:<4} {:>8.0} acked/s  p50 {:.2} ms  p99 {:.2} ms  errors {}",
                    d.acked_per_s, d.p50_ms, d.p99_ms, d.errors
                );
                results.durable.entry(publishers).or_default().push(d);
            }
        }
        if opts.wants("stalled") {
            for &peer in &peers {
                let shape = Shape {
                    subscribers: 50,
                    publishers: 1,
                    rate: 500.0,
                    secs: opts.secs.max(8.0),
                    size: 3900,
                    stalled: true,
                };
                let step = broadcast_once(peer, &shape, "stalled").await;
                print_step(peer, "stalled", &step);
                println!(
                    "  {:<20} stalled member: {}; server RSS {} → peak {} KiB",
                    peer.label(),
                    step.stalled.as_deref().unwrap_or("-"),
                    step.rss_before_kib,
                    step.rss_peak_kib
                );
                results.stalled.entry(peer).or_default().push(step);
            }
        }
    }
    report::write(&opts, &results).expect("write the report");
    println!("wrote {}", opts.out.display());
}

fn main() {
    let cli = Cli::parse();
    let _ = cli.bench;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match cli.command {
        Some(Cmd::Relay { addr }) => rt.block_on(relay::serve(&addr)).expect("relay"),
        Some(Cmd::Run(opts)) => rt.block_on(run(opts)),
        None => println!(
            "usage: ./scripts/bench (or: cargo bench --features ssr --bench suite -- run --help)"
        ),
    }
}
