//! Measurements: percentiles, the machine description, peak RSS, the JSON line every scenario prints and
//! the row `--record` appends to BENCHMARKS.md.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

/// One scenario's result, printed as one JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Scenario id (`B3`, `B1`, `B7:<lockfile>`).
    pub scenario: String,
    /// What was measured (`sqlite`, `bulwark-cli`, `cargo-audit`).
    pub backend: String,
    /// Devices in the scenario.
    pub devices: u64,
    /// Packages per device.
    pub packages: u64,
    /// Median of the repetitions, seconds.
    pub median: f64,
    /// 99th percentile of the repetitions, seconds (nearest rank).
    pub p99: f64,
    /// Units per second (devices/s, or runs/s for a single-file scan).
    pub throughput: f64,
    /// Peak resident set size of this process so far (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// The machine (`nproc` cores, CPU model, memory).
    pub machine: String,
    /// When it was measured (UTC, RFC 3339).
    pub date: String,
}

/// The nearest-rank percentile `q` (0–100) of `samples`, in seconds; 0 when empty.
pub fn percentile(samples: &[Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Peak resident set size of this process (VmHWM from /proc/self/status), bytes; 0 when unavailable.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The machine: cores (as `nproc` counts them), CPU model and total memory.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_string();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cores} cores, {model}, {mem_gib:.1} GiB")
}

/// The current UTC time, RFC 3339 to the second.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Prints the measurement as one JSON line and, when `record` names a file, appends it as a table row.
pub fn emit(m: &Measurement, record: Option<&Path>, target: &str) -> Result<()> {
    println!("{}", serde_json::to_string(m)?);
    if let Some(path) = record {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(
            file,
            "| {} | {} | {} | {} | {:.4} | {:.4} | {:.1} | {} | {} | {} | {} |",
            m.scenario,
            m.backend,
            m.devices,
            m.packages,
            m.median,
            m.p99,
            m.throughput,
            m.peak_rss_bytes / (1024 * 1024),
            target,
            m.machine,
            m.date
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), 0.050);
        assert_eq!(percentile(&samples, 99.0), 0.099);
        assert_eq!(percentile(&samples[..3], 50.0), 0.002);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
