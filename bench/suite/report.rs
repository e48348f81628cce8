//! `docs/benchmarks.md` and its plot, from one run's results: medians over the rounds,
//! with the spread (min–max) beside them, and the ratios the issue's targets are set in.

use crate::peers::Peer;
use crate::{Opts, Results, Step};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// Median, min, max.
fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    };
    Some((median, v[0], v[v.len() - 1]))
}

fn median(values: &[f64]) -> Option<f64> {
    spread(values).map(|(m, _, _)| m)
}

/// A number with thousands separators and `dec` decimals.
fn num(x: f64, dec: usize) -> String {
    let s = format!("{x:.dec$}");
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// "median (min–max)", or "—" when nothing was measured.
fn cell(values: &[f64], dec: usize) -> String {
    match spread(values) {
        None => "—".into(),
        Some((m, lo, hi)) if values.len() == 1 || lo == hi => num(m, dec),
        Some((m, lo, hi)) => format!("{} ({}–{})", num(m, dec), num(lo, dec), num(hi, dec)),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

/// Fan-out per peer: the best sustained step of each round.
fn fanout_best(r: &Results, peer: Peer) -> Vec<Step> {
    best_of(&r.fanout, peer)
}

/// The best sustained step of each of `peer`'s sweeps.
fn best_of(sweeps: &std::collections::BTreeMap<Peer, Vec<crate::Sweep>>, peer: Peer) -> Vec<Step> {
    sweeps
        .get(&peer)
        .map(|sweeps| sweeps.iter().filter_map(|s| s.best().cloned()).collect())
        .unwrap_or_default()
}

/// A sweep table's rows: each peer's best sustained step, median (min–max) over rounds.
fn sweep_rows(w: &mut String, sweeps: &std::collections::BTreeMap<Peer, Vec<crate::Sweep>>) {
    for peer in Peer::ALL {
        let best = best_of(sweeps, peer);
        if best.is_empty() && !sweeps.contains_key(&peer) {
            continue;
        }
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} |",
            peer.label(),
            cell(&of(&best, |s| s.offered), 0),
            cell(&of(&best, |s| s.deliveries_per_s), 0),
            cell(&of(&best, |s| s.p50_ms), 2),
            cell(&of(&best, |s| s.p99_ms), 1),
            cell(&of(&best, |s| s.cpu_us_per_delivery), 2),
            cell(&of(&best, |s| s.rss_peak_kib as f64 / 1024.0), 1),
        );
    }
}

fn of<T>(items: &[T], f: impl Fn(&T) -> f64) -> Vec<f64> {
    items.iter().map(f).collect()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{date}, {cores} cores ({cpu})")
}

/// Writes the report and its plot.
pub fn write(opts: &Opts, r: &Results) -> std::io::Result<()> {
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let svg = opts.out.with_extension("svg");
    plot(r, &svg).map_err(|e| std::io::Error::other(e.to_string()))?;
    let svg_name = svg
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let md = markdown(opts, r, &svg_name);
    std::fs::write(&opts.out, md)
}

fn markdown(opts: &Opts, r: &Results, svg: &str) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Benchmarks: Chorus, the seed, and a bare Rust relay\n");
    let _ = writeln!(
        w,
        "Generated by `./scripts/bench` ({}) — do not edit by hand; what the profile showed \
         and what each optimisation bought is in [performance.md](performance.md).\n",
        machine()
    );
    let _ = writeln!(
        w,
        "Every server runs as its own process on loopback, on the same 2 cores as the load \
         generator (`bench/suite/`), started fresh for each run. {} rounds; in each round \
         every scenario runs the peers one after another, so drift hits all of them alike. \
         Cells are the **median (min–max)** over the rounds. Publishing runs last {} s with \
         {}-byte payloads; **sustained** means less than 0.1 % lost, p99 under 100 ms, no \
         duplicate and nothing out of order. Chorus runs its release build with its \
         default durable SQLite store (`synchronous = FULL`: every message is on disk \
         before it is sent to anyone), with the per-connection rate limit and per-address \
         connection limit lifted for the load generator.\n",
        opts.rounds, opts.secs, PAYLOAD_NOTE
    );

    // Targets first: what the issue asked, and where we are.
    let chorus_fan = fanout_best(r, Peer::Chorus);
    let seed_fan = fanout_best(r, Peer::Seed);
    let bare_fan = fanout_best(r, Peer::Bare);
    let fan_ratio = match (
        median(&of(&chorus_fan, |s| s.offered)),
        median(&of(&seed_fan, |s| s.offered)),
    ) {
        (Some(c), Some(s)) if s > 0.0 => Some(c / s),
        _ => None,
    };
    let light_p99 = |p: Peer| r.light.get(&p).and_then(|v| median(&of(v, |s| s.p99_ms)));
    let light_ratio = match (light_p99(Peer::Chorus), light_p99(Peer::Seed)) {
        (Some(c), Some(s)) if s > 0.0 => Some(c / s),
        _ => None,
    };
    let idle_c = r.idle.get(&Peer::Chorus).cloned().unwrap_or_default();
    let idle_kib = median(&of(&idle_c, |i| i.kib_per_conn));
    let idle_rate = median(&of(&idle_c, |i| i.opened as f64 / i.open_secs));
    let idle_n = idle_c.iter().map(|i| i.opened).min();
    let one_kib = median(&of(&r.idle_one_room, |i| i.kib_per_conn));
    let one_rate = median(&of(&r.idle_one_room, |i| i.opened as f64 / i.open_secs));
    let d100 = r.durable.get(&100).cloned().unwrap_or_default();
    let d100_rate = median(&of(&d100, |d| d.acked_per_s));
    let d100_p99 = median(&of(&d100, |d| d.p99_ms));

    let _ = writeln!(w, "## Targets\n");
    let _ = writeln!(w, "| target | measured | |\n|---|---|---|");
    let _ = writeln!(
        w,
        "| fan-out 1 → 1000: Chorus sustains ≥ 10× the seed's rate, durable | {} | {} |",
        fan_ratio.map_or("—".into(), |x| format!("{x:.1}×")),
        verdict(fan_ratio.map(|x| x >= 10.0))
    );
    let _ = writeln!(
        w,
        "| light load: Chorus p99 ≤ 0.5× the seed's | {} | {} |",
        light_ratio.map_or("—".into(), |x| format!("{x:.2}×")),
        verdict(light_ratio.map(|x| x <= 0.5))
    );
    let _ = writeln!(
        w,
        "| idle: ≤ 6 KiB server RSS per idle joined connection | {} | {} |",
        idle_kib.map_or("—".into(), |x| format!("{x:.2} KiB")),
        verdict(idle_kib.map(|x| x <= 6.0))
    );
    let _ = writeln!(
        w,
        "| 10,000 joined connections, opened at ≥ 3000/s | {} | {} |",
        match (idle_n, idle_rate) {
            (Some(n), Some(rate)) => format!("{} joined at {}/s", num(n as f64, 0), num(rate, 0)),
            _ => "—".into(),
        },
        verdict(
            idle_n
                .zip(idle_rate)
                .map(|(n, rate)| n >= 10_000 && rate >= 3000.0)
        )
    );
    let _ = writeln!(
        w,
        "| big room: 10,000 idle in one room ≤ 8 KiB per connection and ≤ 1.2× spread over 100 rooms, opened at ≥ 3000/s | {} | {} |",
        match (one_kib, idle_kib, one_rate) {
            (Some(one), Some(spread), Some(rate)) => format!(
                "{one:.2} KiB ({:.2}× of {spread:.2}), {}/s",
                one / spread,
                num(rate, 0)
            ),
            _ => "—".into(),
        },
        verdict(
            one_kib
                .zip(idle_kib)
                .zip(one_rate)
                .map(|((one, spread), rate)| one <= 8.0 && one <= 1.2 * spread && rate >= 3000.0)
        )
    );
    let _ = writeln!(
        w,
        "| durable: ≥ 50,000 acked publishes/s with 100 publishers, p99 ack ≤ 20 ms | {} | {} |\n",
        match (d100_rate, d100_p99) {
            (Some(a), Some(p)) => format!("{}/s, p99 {:.2} ms", num(a, 0), p),
            _ => "—".into(),
        },
        verdict(
            d100_rate
                .zip(d100_p99)
                .map(|(a, p)| a >= 50_000.0 && p <= 20.0)
        )
    );

    let _ = writeln!(w, "## Fan-out: 1 publisher → 1000 subscribers\n");
    let _ = writeln!(
        w,
        "The publisher sends at a fixed rate; the sweep doubles the rate from {FIRST} msg/s \
         until a rate is not sustained, then bisects {BIS} times. A delivery is one message \
         arriving at one subscriber.\n",
        FIRST = crate::FIRST_RATE,
        BIS = crate::BISECTIONS
    );
    let _ = writeln!(
        w,
        "| peer | highest sustained msg/s | deliveries/s | p50 ms | p99 ms | server CPU µs per delivery | server RSS peak MiB |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    sweep_rows(w, &r.fanout);
    let m = |v: &[Step], f: fn(&Step) -> f64| median(&of(v, f));
    let _ = writeln!(
        w,
        "\nRatios of medians: sustained rate Chorus/seed **{}**, Chorus/bare {}; CPU per \
         delivery Chorus/seed {}, Chorus/bare {}.\n",
        ratio(m(&chorus_fan, |s| s.offered), m(&seed_fan, |s| s.offered)),
        ratio(m(&chorus_fan, |s| s.offered), m(&bare_fan, |s| s.offered)),
        ratio(
            m(&chorus_fan, |s| s.cpu_us_per_delivery),
            m(&seed_fan, |s| s.cpu_us_per_delivery)
        ),
        ratio(
            m(&chorus_fan, |s| s.cpu_us_per_delivery),
            m(&bare_fan, |s| s.cpu_us_per_delivery)
        ),
    );
    let _ = writeln!(
        w,
        "![deliveries per second and p99 latency against the offered rate]({svg})\n\n\
         Every rate tried in every round is a point on the plot.\n"
    );

    if !r.bigroom.is_empty() {
        let _ = writeln!(
            w,
            "## Big room: 1 publisher → {} subscribers in one room\n\n\
             The fan-out sweep into one audience (the bare relay forwards to as many \
             subscribers); the seed is left out.\n\n\
             | peer | highest sustained msg/s | deliveries/s | p50 ms | p99 ms | server CPU µs per delivery | server RSS peak MiB |\n|---|---:|---:|---:|---:|---:|---:|",
            num(crate::BIG_ROOM_SUBSCRIBERS as f64, 0)
        );
        sweep_rows(w, &r.bigroom);
        let big = |p: Peer, f: fn(&Step) -> f64| median(&of(&best_of(&r.bigroom, p), f));
        let _ = writeln!(
            w,
            "\nRatios of medians: sustained rate Chorus/bare **{}**; CPU per delivery \
             Chorus/bare {}; Chorus's CPU per delivery here / in the 1,000-member fan-out {}.\n",
            ratio(
                big(Peer::Chorus, |s| s.offered),
                big(Peer::Bare, |s| s.offered)
            ),
            ratio(
                big(Peer::Chorus, |s| s.cpu_us_per_delivery),
                big(Peer::Bare, |s| s.cpu_us_per_delivery)
            ),
            ratio(
                big(Peer::Chorus, |s| s.cpu_us_per_delivery),
                m(&chorus_fan, |s| s.cpu_us_per_delivery)
            ),
        );
    }

    let _ = writeln!(
        w,
        "## Light load: 100 subscribers, 10 publishers × 10 msg/s\n\n\
         | peer | p50 ms | p99 ms | max ms | loss % | server CPU µs per delivery |\n|---|---:|---:|---:|---:|---:|"
    );
    for peer in Peer::ALL {
        let Some(v) = r.light.get(&peer) else {
            continue;
        };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            peer.label(),
            cell(&of(v, |s| s.p50_ms), 2),
            cell(&of(v, |s| s.p99_ms), 2),
            cell(&of(v, |s| s.max_ms), 1),
            cell(&of(v, |s| s.loss_pct), 2),
            cell(&of(v, |s| s.cpu_us_per_delivery), 2),
        );
    }
    let _ = writeln!(
        w,
        "\nRatios of medians: p99 Chorus/seed **{}**, Chorus/bare {}.\n",
        ratio(light_p99(Peer::Chorus), light_p99(Peer::Seed)),
        ratio(light_p99(Peer::Chorus), light_p99(Peer::Bare)),
    );

    let _ = writeln!(
        w,
        "## Idle connections: {} at once\n\n\
         Opened 256 at a time (connect + WebSocket upgrade; for Chorus also `join` one of \
         100 rooms and wait for `joined`), then idle: each reads what comes (presence) and \
         answers pings. Memory is the server's RSS 2 s after the last one is ready, minus \
         its RSS before the first.\n\n\
         | peer | opened | seconds to open all | per second | server RSS per connection KiB |\n|---|---:|---:|---:|---:|",
        num(opts.idle as f64, 0)
    );
    for peer in Peer::ALL {
        let Some(v) = r.idle.get(&peer) else { continue };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            peer.label(),
            cell(&of(v, |i| i.opened as f64), 0),
            cell(&of(v, |i| i.open_secs), 2),
            cell(&of(v, |i| i.opened as f64 / i.open_secs), 0),
            cell(&of(v, |i| i.kib_per_conn), 2),
        );
    }
    if !r.idle_one_room.is_empty() {
        let v = &r.idle_one_room;
        let _ = writeln!(
            w,
            "| Chorus, all in one room | {} | {} | {} | {} |",
            cell(&of(v, |i| i.opened as f64), 0),
            cell(&of(v, |i| i.open_secs), 2),
            cell(&of(v, |i| i.opened as f64 / i.open_secs), 0),
            cell(&of(v, |i| i.kib_per_conn), 2),
        );
    }
    let idle_of = |p: Peer| {
        r.idle
            .get(&p)
            .and_then(|v| median(&of(v, |i| i.kib_per_conn)))
    };
    let rate_of = |p: Peer| {
        r.idle
            .get(&p)
            .and_then(|v| median(&of(v, |i| i.opened as f64 / i.open_secs)))
    };
    let _ = writeln!(
        w,
        "\nRatios of medians: memory per connection Chorus/seed **{}**, Chorus/bare {}; \
         opening rate Chorus/seed {}.\n",
        ratio(idle_of(Peer::Chorus), idle_of(Peer::Seed)),
        ratio(idle_of(Peer::Chorus), idle_of(Peer::Bare)),
        ratio(rate_of(Peer::Chorus), rate_of(Peer::Seed)),
    );

    if !r.storm.is_empty() {
        let s = &r.storm;
        let _ = writeln!(
            w,
            "## Join storm (Chorus): {} joins into one room within {} s\n\n\
             20 members already in the room count the presence bytes they are sent, per \
             second, during the storm and 5 s after. The bound: a presence frame lists at \
             most 100 names (≤ 13 KB with the longest names, ~1 KB with these), and a room \
             of n members sends at most one per clamp(n ms, 100 ms, 5 s); so a member gets at \
             most 10 frames a second in a room of 100, 1 in a room of 1,000 and one per 5 s \
             from 5,000 on.\n\n\
             | joined | seconds | presence B/s per member, max | mean | largest frame B |\n|---:|---:|---:|---:|---:|",
            num(crate::STORM_JOINS as f64, 0),
            crate::STORM_SECS
        );
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |\n",
            cell(&of(s, |x| x.joined as f64), 0),
            cell(&of(s, |x| x.secs), 1),
            cell(&of(s, |x| x.max_bytes_per_s), 0),
            cell(&of(s, |x| x.mean_bytes_per_s), 0),
            cell(&of(s, |x| x.largest_frame as f64), 0),
        );
    }

    let _ = writeln!(
        w,
        "## Durable publishes (Chorus only)\n\n\
         Each publisher has its own room and sends its next message when the previous one \
         is acked (an ack means: on disk). The seed and the bare relay store nothing and \
         ack nothing, so they have no row here.\n\n\
         | publishers | acked publishes/s | p50 ack ms | p99 ack ms | errors |\n|---:|---:|---:|---:|---:|"
    );
    for (n, v) in &r.durable {
        let _ = writeln!(
            w,
            "| {n} | {} | {} | {} | {} |",
            cell(&of(v, |d| d.acked_per_s), 0),
            cell(&of(v, |d| d.p50_ms), 2),
            cell(&of(v, |d| d.p99_ms), 2),
            cell(&of(v, |d| d.errors as f64), 0),
        );
    }

    let _ = writeln!(
        w,
        "\n## A stalled member in a busy room\n\n\
         50 subscribers and one member whose receive window is 4 KiB and who never reads \
         (a tab on a dead network); one publisher sends 500 msg/s of 3,900-byte bodies for 8 s (15 MiB, more than the kernel's socket buffers hold). What \
         matters: the 50 others keep their latency, and the server's memory does not grow \
         with what the stalled one cannot take.\n\n\
         | peer | others' p99 ms | others' loss % | server RSS growth MiB | the stalled member |\n|---|---:|---:|---:|---|"
    );
    for peer in Peer::ALL {
        let Some(v) = r.stalled.get(&peer) else {
            continue;
        };
        let outcomes: std::collections::BTreeSet<String> =
            v.iter().filter_map(|s| s.stalled.clone()).collect();
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            peer.label(),
            cell(&of(v, |s| s.p99_ms), 1),
            cell(&of(v, |s| s.loss_pct), 2),
            cell(
                &of(v, |s| s.rss_peak_kib.saturating_sub(s.rss_before_kib)
                    as f64
                    / 1024.0),
                1
            ),
            outcomes.into_iter().collect::<Vec<_>>().join("; "),
        );
    }
    let _ = writeln!(
        w,
        "\n## Reproduce\n\n```\n./scripts/bench                 # everything, {} rounds (about 20 minutes)\n./scripts/bench --rounds 1 --only fanout --peers seed,chorus\n```",
        opts.rounds
    );
    md
}

const PAYLOAD_NOTE: usize = crate::PAYLOAD;

fn color(peer: Peer) -> RGBColor {
    match peer {
        Peer::Seed => RGBColor(214, 96, 39),
        Peer::Bare => RGBColor(120, 120, 120),
        Peer::Chorus => RGBColor(37, 99, 235),
    }
}

/// Two panels: deliveries/s and p99 latency against the offered rate, every point tried.
fn plot(r: &Results, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let series: Vec<(Peer, Vec<Step>)> = Peer::ALL
        .into_iter()
        .filter_map(|p| {
            let mut pts: Vec<Step> = r
                .fanout
                .get(&p)?
                .iter()
                .flat_map(|s| s.points.clone())
                .collect();
            pts.sort_by(|a, b| a.offered.total_cmp(&b.offered));
            Some((p, pts))
        })
        .collect();
    let max_rate = series
        .iter()
        .flat_map(|(_, v)| v.iter().map(|s| s.offered))
        .fold(100.0f64, f64::max);
    let max_del = series
        .iter()
        .flat_map(|(_, v)| v.iter().map(|s| s.deliveries_per_s))
        .fold(1e4f64, f64::max);
    let max_p99 = series
        .iter()
        .flat_map(|(_, v)| v.iter().map(|s| s.p99_ms))
        .fold(100.0f64, f64::max);

    let root = SVGBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(550);

    let mut a = ChartBuilder::on(&left)
        .caption("Fan-out 1 → 1000: deliveries/s", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (5f64..max_rate * 1.5).log_scale(),
            (1e3f64..max_del * 1.5).log_scale(),
        )?;
    a.configure_mesh()
        .x_desc("offered messages/s")
        .y_desc("deliveries/s")
        .draw()?;
    for (peer, pts) in &series {
        let c = color(*peer);
        a.draw_series(LineSeries::new(
            pts.iter().map(|s| (s.offered, s.deliveries_per_s.max(1e3))),
            c.stroke_width(2),
        ))?
        .label(peer.label())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        a.draw_series(
            pts.iter()
                .map(|s| Circle::new((s.offered, s.deliveries_per_s.max(1e3)), 3, c.filled())),
        )?;
    }
    a.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let mut b = ChartBuilder::on(&right)
        .caption("Fan-out 1 → 1000: p99 latency", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (5f64..max_rate * 1.5).log_scale(),
            (0.1f64..max_p99 * 1.5).log_scale(),
        )?;
    b.configure_mesh()
        .x_desc("offered messages/s")
        .y_desc("p99 ms (100 ms = the sustained bar)")
        .draw()?;
    b.draw_series(LineSeries::new(
        [(5.0, 100.0), (max_rate * 1.5, 100.0)],
        BLACK.mix(0.4),
    ))?;
    for (peer, pts) in &series {
        let c = color(*peer);
        b.draw_series(LineSeries::new(
            pts.iter().map(|s| (s.offered, s.p99_ms.max(0.1))),
            c.stroke_width(2),
        ))?
        .label(peer.label())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        b.draw_series(
            pts.iter()
                .map(|s| Circle::new((s.offered, s.p99_ms.max(0.1)), 3, c.filled())),
        )?;
    }
    b.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
