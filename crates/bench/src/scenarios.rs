//! The issue-7 scenarios the current engine can run within minutes: B1 (cold full re-match), B3 (one
//! device inventory: durable commit, match, re-score), B6 (peak RSS after B1) and B7 (`bulwark scan` vs
//! `cargo audit --no-fetch` on each real Cargo.lock).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bulwark_core::{DeviceInfo, SystemClock};
use bulwark_engine::{Engine, IngestRequest};
use bulwark_formats::inventory::InventoryFormat;

use crate::fleet::{self, FleetSpec, GeneratedDevice, Pool};
use crate::report::{self, Measurement};

/// Where a scenario reads data and writes results.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The shared data directory (`../shared/data`).
    pub data: PathBuf,
    /// BENCHMARKS.md, when `--record` was given.
    pub record: Option<PathBuf>,
    /// Repetitions for scenarios that repeat.
    pub repetitions: usize,
}

/// The advisory sets imported before the fleet scenarios: RustSec, PyPA and Go (staged OSV archives).
fn advisory_sets(data: &Path) -> [PathBuf; 3] {
    let a = data.join("advisories");
    [
        a.join("rustsec-osv/rustsec-osv.tar.zst"),
        a.join("pypa/pypa-advisory-database.tar.zst"),
        a.join("go/golang-vulndb-osv.tar.zst"),
    ]
}

/// Opens an engine on a fresh SQLite file in `dir` with the advisory sets imported.
async fn engine_with_advisories(dir: &Path, data: &Path) -> Result<Engine> {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = bulwark_store::open(&url).await?;
    let engine = Engine::open(store, Arc::new(SystemClock)).await?;
    for set in advisory_sets(data) {
        let summary = engine
            .import(&set, &|_| {})
            .await
            .with_context(|| format!("importing {}", set.display()))?;
        eprintln!(
            "imported {}: {} advisories",
            set.display(),
            summary.advisories_read
        );
    }
    Ok(engine)
}

fn device_info(device: &GeneratedDevice) -> DeviceInfo {
    DeviceInfo {
        name: device.name.clone(),
        os: device.os.clone(),
        group: Some(device.group.clone()),
        tags: Vec::new(),
    }
}

fn measurement(
    scenario: &str,
    backend: &str,
    spec: FleetSpec,
    samples: &[Duration],
    throughput: f64,
) -> Measurement {
    Measurement {
        scenario: scenario.to_string(),
        backend: backend.to_string(),
        devices: spec.devices as u64,
        packages: spec.packages_per_device as u64,
        median: report::percentile(samples, 50.0),
        p99: report::percentile(samples, 99.0),
        throughput,
        peak_rss_bytes: report::peak_rss_bytes(),
        machine: report::machine(),
        date: report::now(),
    }
}

/// B3: ingest the fleet's devices one at a time through `Engine::ingest` (CycloneDX JSON bodies, built
/// before timing), on SQLite; per-ingest latency p50/p99 and devices/s.
pub async fn b3(ctx: &Settings, spec: FleetSpec) -> Result<()> {
    let pool = Pool::load(&ctx.data)?;
    let fleet = fleet::generate(&pool, spec)?;
    let bodies: Vec<(DeviceInfo, Vec<u8>)> = fleet
        .iter()
        .map(|d| (device_info(d), fleet::cyclonedx_json(d)))
        .collect();
    let dir = tempfile::tempdir()?;
    let engine = engine_with_advisories(dir.path(), &ctx.data).await?;
    let mut samples = Vec::with_capacity(bodies.len());
    let start = Instant::now();
    for (device, bytes) in bodies {
        let t = Instant::now();
        engine
            .ingest(IngestRequest {
                device,
                file: "bom.json".into(),
                bytes,
                format: Some(InventoryFormat::CycloneDxJson),
            })
            .await?;
        samples.push(t.elapsed());
    }
    let total = start.elapsed().as_secs_f64();
    let m = measurement("B3", "sqlite", spec, &samples, spec.devices as f64 / total);
    report::emit(&m, ctx.record.as_deref(), "p50 < 2 ms, p99 < 10 ms")
}

/// B1 (+ B6): store the fleet's software sets (setup, not timed), then time one cold
/// `Engine::rematch_all` plus one `recommendations()` call; then read the peak RSS.
pub async fn b1(ctx: &Settings, spec: FleetSpec) -> Result<()> {
    let pool = Pool::load(&ctx.data)?;
    let fleet = fleet::generate(&pool, spec)?;
    let dir = tempfile::tempdir()?;
    let engine = engine_with_advisories(dir.path(), &ctx.data).await?;
    let store = engine.store().clone();
    let now = engine.now();
    for device in &fleet {
        let stored = store.upsert_device(&device_info(device), now).await?;
        store
            .replace_inventory(stored.id, &device.packages, now)
            .await?;
    }
    drop(fleet);
    eprintln!(
        "stored {} devices (peak RSS so far {} MiB); timing the cold re-match",
        spec.devices,
        report::peak_rss_bytes() / (1024 * 1024)
    );
    let start = Instant::now();
    let stats = engine.rematch_all().await?;
    let rematched = start.elapsed();
    let recommendations = engine.recommendations().await?;
    let elapsed = start.elapsed();
    eprintln!(
        "re-matched {} devices in {:.3} s: {} weaknesses opened; {} recommendations in {:.3} s",
        stats.devices,
        rematched.as_secs_f64(),
        stats.opened,
        recommendations.len(),
        (elapsed - rematched).as_secs_f64()
    );
    // Not part of B1: the same read again with nothing changed (the fleet snapshot is held), which is
    // what every later recommendations request costs.
    let warm = Instant::now();
    engine.recommendations().await?;
    eprintln!(
        "recommendations() again, nothing changed: {:.3} s",
        warm.elapsed().as_secs_f64()
    );
    let samples = [elapsed];
    let m = measurement(
        "B1",
        "sqlite",
        spec,
        &samples,
        spec.devices as f64 / elapsed.as_secs_f64(),
    );
    report::emit(&m, ctx.record.as_deref(), "< 5 s at 100k × 1,000")?;
    let mut b6 = m;
    b6.scenario = "B6".into();
    report::emit(&b6, ctx.record.as_deref(), "< 3 GB at 100k devices")
}

/// Times `command` `repetitions` times; exit codes 0 and 1 (findings) count as success.
fn time_command(mut make: impl FnMut() -> Command, repetitions: usize) -> Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(repetitions);
    for _ in 0..repetitions {
        let mut command = make();
        let t = Instant::now();
        let output = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .with_context(|| format!("running {command:?}"))?;
        let elapsed = t.elapsed();
        match output.status.code() {
            Some(0 | 1) => samples.push(elapsed),
            _ => bail!(
                "{command:?} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
    Ok(samples)
}

/// Unpacks the RustSec TOML database into `dir` and makes it the git repository cargo-audit needs
/// (the recipe of `advisories/rustsec/SOURCE.md`). Returns the database path.
fn rustsec_git_db(data: &Path, dir: &Path) -> Result<PathBuf> {
    let archive = data.join("advisories/rustsec/rustsec-advisory-db.tar.zst");
    let status = Command::new("sh")
        .arg("-c")
        .arg(r#"zstd -dc "$1" | tar -x -C "$2""#)
        .arg("sh")
        .arg(&archive)
        .arg(dir)
        .status()?;
    if !status.success() {
        bail!("unpacking {} failed", archive.display());
    }
    let db = dir.join("advisory-db");
    let git = |args: &[&str]| -> Result<()> {
        let status = Command::new("git")
            .args(args)
            .current_dir(&db)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("git {args:?} failed in {}", db.display());
        }
        Ok(())
    };
    git(&["init", "-q", "-b", "main"])?;
    git(&["add", "-A"])?;
    git(&[
        "-c",
        "user.name=x",
        "-c",
        "user.email=x@x",
        "commit",
        "-qm",
        "snapshot",
    ])?;
    Ok(db)
}

/// B7: `bulwark scan` of each real Cargo.lock against the RustSec OSV export vs `cargo audit
/// --no-fetch --no-yanked` on the same database, both timed `repetitions` times in this run.
pub fn b7(ctx: &Settings, bulwark: &Path) -> Result<()> {
    if !bulwark.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p bulwark`",
            bulwark.display()
        );
    }
    let cargo_audit = Command::new("sh")
        .args(["-c", "command -v cargo-audit"])
        .output()?;
    let cargo_audit = cargo_audit.status.success().then(|| {
        String::from_utf8_lossy(&cargo_audit.stdout)
            .trim()
            .to_string()
    });
    let dir = tempfile::tempdir()?;
    let db = match &cargo_audit {
        Some(_) => Some(rustsec_git_db(&ctx.data, dir.path())?),
        None => {
            eprintln!("cargo-audit is not installed: timing bulwark only");
            None
        }
    };
    let osv = ctx.data.join("advisories/rustsec-osv/rustsec-osv.tar.zst");
    let lock_dir = ctx.data.join("inventories/lockfiles/cargo");
    let mut locks: Vec<PathBuf> = std::fs::read_dir(&lock_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".Cargo.lock"))
        .collect();
    locks.sort();
    let spec = FleetSpec {
        seed: 0,
        devices: 1,
        packages_per_device: 0,
    };
    for lock in &locks {
        let name = lock
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let packages = bulwark_formats::inventory::parse_auto(&name, &std::fs::read(lock)?)?
            .packages
            .len();
        let spec = FleetSpec {
            packages_per_device: packages,
            ..spec
        };
        let scenario = format!("B7:{name}");
        let ours = time_command(
            || {
                let mut c = Command::new(bulwark);
                c.arg("scan")
                    .arg(lock)
                    .arg("--advisories")
                    .arg(&osv)
                    .args(["--format", "json"]);
                c
            },
            ctx.repetitions,
        )?;
        let m = measurement(
            &scenario,
            "bulwark-cli",
            spec,
            &ours,
            1.0 / report::percentile(&ours, 50.0),
        );
        report::emit(&m, ctx.record.as_deref(), "≤ cargo-audit median")?;
        if let (Some(audit), Some(db)) = (&cargo_audit, &db) {
            let theirs = time_command(
                || {
                    let mut c = Command::new(audit);
                    c.arg("audit")
                        .arg("--db")
                        .arg(db)
                        .args(["--no-fetch", "--no-yanked", "-f"])
                        .arg(lock);
                    c
                },
                ctx.repetitions,
            )?;
            let m = measurement(
                &scenario,
                "cargo-audit",
                spec,
                &theirs,
                1.0 / report::percentile(&theirs, 50.0),
            );
            report::emit(&m, ctx.record.as_deref(), "reference")?;
        }
    }
    Ok(())
}
