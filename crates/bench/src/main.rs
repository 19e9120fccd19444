//! `bulwark-bench`: the deterministic fleet generator and the benchmark scenarios of issue 7, run against
//! the current engine. Every scenario prints one JSON line `{scenario, backend, devices, packages, median,
//! p99, throughput, peak_rss_bytes, machine, date}` (times in seconds) and, with `--record`, appends a
//! row to BENCHMARKS.md. Targets are checked here, by measurement, never by tests.
//!
//! The fleet is described in [`fleet`]; the seeded RNG is `fastrand` 2.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

mod fleet;
mod report;
mod scenarios;

use fleet::{FleetSpec, Pool};
use scenarios::Settings;

/// Command line of `bulwark-bench`.
#[derive(Debug, Parser)]
#[command(version, about = "Bulwark's fleet generator and benchmark scenarios")]
struct Cli {
    /// The shared data directory (real third-party data).
    #[arg(long, global = true, default_value = "../shared/data")]
    data: PathBuf,
    /// Append each result as a row to this file (BENCHMARKS.md).
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "BENCHMARKS.md")]
    record: Option<PathBuf>,
    /// The RNG seed of the fleet.
    #[arg(long, global = true, default_value_t = 7)]
    seed: u64,
    /// Number of devices.
    #[arg(long, global = true, default_value_t = 1_000)]
    devices: usize,
    /// Distinct package-versions per device.
    #[arg(long, global = true, default_value_t = 300)]
    packages_per_device: usize,
    #[command(subcommand)]
    command: Scenario,
}

/// The file format `fleet` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    /// CycloneDX 1.5 JSON (every package).
    Cyclonedx,
    /// Cargo.lock v3 (the device's crates.io packages).
    CargoLock,
}

/// What to run.
#[derive(Debug, Subcommand)]
enum Scenario {
    /// Print the fleet's summary, or write one device's inventory.
    Fleet {
        /// Write the inventory of this device index (0-based) to stdout.
        #[arg(long)]
        device: Option<usize>,
        /// The format of the written inventory.
        #[arg(long, value_enum, default_value = "cyclonedx")]
        format: OutputFormat,
    },
    /// B1 and B6: cold full re-match plus one recommendations() call on SQLite, then peak RSS.
    B1,
    /// B3: ingest every device one at a time through Engine::ingest on SQLite.
    B3,
    /// B7: `bulwark scan` vs `cargo audit --no-fetch` on each real Cargo.lock.
    B7 {
        /// The release build of `bulwark`.
        #[arg(long, default_value = "target/release/bulwark")]
        bulwark: PathBuf,
        /// Runs of each tool on each file.
        #[arg(long, default_value_t = 5)]
        repetitions: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let spec = FleetSpec {
        seed: cli.seed,
        devices: cli.devices,
        packages_per_device: cli.packages_per_device,
    };
    let mut settings = Settings {
        data: cli.data,
        record: cli.record,
        repetitions: 1,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Scenario::Fleet { device, format } => {
            let pool = Pool::load(&settings.data)?;
            let fleet = fleet::generate(&pool, spec)?;
            match device {
                Some(i) => {
                    let device = fleet
                        .get(i)
                        .ok_or_else(|| anyhow::anyhow!("device {i} is outside the fleet"))?;
                    let bytes = match format {
                        OutputFormat::Cyclonedx => fleet::cyclonedx_json(device),
                        OutputFormat::CargoLock => fleet::cargo_lock(device).into_bytes(),
                    };
                    std::io::Write::write_all(&mut std::io::stdout(), &bytes)?;
                }
                None => {
                    let rows: usize = fleet.iter().map(|d| d.packages.len()).sum();
                    println!(
                        "{}",
                        serde_json::json!({
                            "pool": pool.packages.len(),
                            "sources": pool.sources.len(),
                            "devices": fleet.len(),
                            "rows": rows,
                            "first": fleet.first().map(|d| &d.name),
                        })
                    );
                }
            }
            Ok(())
        }
        Scenario::B1 => runtime.block_on(scenarios::b1(&settings, spec)),
        Scenario::B3 => runtime.block_on(scenarios::b3(&settings, spec)),
        Scenario::B7 {
            bulwark,
            repetitions,
        } => {
            settings.repetitions = repetitions;
            scenarios::b7(&settings, &bulwark)
        }
    }
}
