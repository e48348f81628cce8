//! Reading a server process from `/proc`, for benchmarks that measure it from outside.
//! Included by path (`#[path = "…/support/proc.rs"] mod proc;`) into each benchmark.

/// The process's resident memory now, in KiB (0 when it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
