//! The deterministic fleet generator: device inventories drawn from the real package/version
//! distributions of the inventories in `../shared/data`.
//!
//! Transformations, in order:
//! 1. **Sources.** The 8 Cargo.lock files (`inventories/lockfiles/cargo/*.Cargo.lock`), the DefectDojo
//!    requirements (`inventories/lockfiles/python/*.requirements.txt`), the Proton Bridge CycloneDX SBOMs
//!    (Go modules, `inventories/cyclonedx-bom-examples/SBOM/proton-bridge/*.bom.json`) and the Debian 12
//!    dpkg status (`inventories/debian-dpkg/dpkg-status-debian12-bookworm.txt`) are parsed with
//!    `bulwark_formats::inventory::parse_auto`, exactly as an ingest would read them. Only packages of
//!    crates.io, PyPI, Go and Debian are kept (an SBOM's other components are dropped).
//! 2. **Pool.** The parsed packages are pooled and de-duplicated on (ecosystem, name, version), sorted,
//!    and every Debian package gets the release `Debian:12`, the release the dpkg status was taken from.
//!    Each pool entry keeps its purl (all four parsers write one).
//! 3. **Skew.** The pool is shuffled with the seeded RNG; the entry at rank `r` (0-based) is then drawn
//!    with probability proportional to `1 / (r + 1)^s` (Zipf, `s` = [`ZIPF_EXPONENT`]). With `s = 1`
//!    the first few entries land on nearly every device and most entries on a handful: a few common
//!    package-versions and a long tail, as in a real fleet.
//! 4. **Devices.** Device `i` draws `M` distinct pool entries (draws that repeat an entry already on the
//!    device are redrawn; after `16 × M` draws the remaining slots are filled with the lowest unused
//!    ranks, so `M` is always met while `M` ≤ the pool size). Its group is one of [`GROUPS`], drawn with
//!    the same Zipf weights over the group list, and its name is `{group}-{i:06}`; a device that carries
//!    Debian packages reports the OS `debian 12`.
//!
//! The RNG is `fastrand` 2 (wyrand) seeded with `--seed`: the same seed, data and sizes give the same
//! fleet on every machine (fastrand guarantees a stable sequence within a major version).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bulwark_core::{Ecosystem, EcosystemRelease, InstalledPackage};
use serde_json::json;

/// The Zipf exponent of the package-version skew.
pub const ZIPF_EXPONENT: f64 = 1.0;

/// The device groups devices are assigned to (Zipf-skewed: the first is the largest).
pub const GROUPS: [&str; 8] = [
    "web",
    "api",
    "build",
    "db",
    "workstation",
    "batch",
    "edge",
    "lab",
];

/// The generator's parameters.
#[derive(Debug, Clone, Copy)]
pub struct FleetSpec {
    /// The RNG seed.
    pub seed: u64,
    /// Number of devices.
    pub devices: usize,
    /// Packages per device (distinct package-versions).
    pub packages_per_device: usize,
}

/// One generated device.
#[derive(Debug, Clone)]
pub struct GeneratedDevice {
    /// The device's unique name (`{group}-{index:06}`).
    pub name: String,
    /// Its group.
    pub group: String,
    /// Its OS (`debian 12` when it carries Debian packages).
    pub os: Option<String>,
    /// Its installed packages.
    pub packages: Vec<InstalledPackage>,
}

/// The pool of real package-versions the fleet is drawn from.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Distinct package-versions, sorted (before the seeded shuffle).
    pub packages: Vec<InstalledPackage>,
    /// The files they were read from.
    pub sources: Vec<PathBuf>,
}

/// The source files under the shared data directory, in a fixed order.
fn source_files(data: &Path) -> Result<Vec<PathBuf>> {
    let inv = data.join("inventories");
    let mut files = Vec::new();
    for (dir, suffix) in [
        ("lockfiles/cargo", ".Cargo.lock"),
        ("lockfiles/python", ".requirements.txt"),
        ("cyclonedx-bom-examples/SBOM/proton-bridge", ".bom.json"),
    ] {
        let dir = inv.join(dir);
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(suffix))
            .collect();
        found.sort();
        files.extend(found);
    }
    files.push(inv.join("debian-dpkg/dpkg-status-debian12-bookworm.txt"));
    Ok(files)
}

/// True for the ecosystems the fleet draws from.
fn kept(ecosystem: Ecosystem) -> bool {
    matches!(
        ecosystem,
        Ecosystem::CratesIo | Ecosystem::PyPI | Ecosystem::Go | Ecosystem::Debian
    )
}

impl Pool {
    /// Parses the source inventories under `data` (the shared data directory) into the pool.
    pub fn load(data: &Path) -> Result<Pool> {
        let sources = source_files(data)?;
        let mut seen = HashSet::new();
        let mut packages = Vec::new();
        for file in &sources {
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let label = file.display().to_string();
            let inventory = bulwark_formats::inventory::parse_auto(&label, &bytes)
                .with_context(|| format!("parsing {label}"))?;
            for mut package in inventory.packages {
                if !kept(package.ecosystem.ecosystem) || package.purl.is_none() {
                    continue;
                }
                if package.ecosystem.ecosystem == Ecosystem::Debian {
                    package.ecosystem = EcosystemRelease {
                        ecosystem: Ecosystem::Debian,
                        release: Some("12".into()),
                    };
                }
                let key = (
                    package.ecosystem.ecosystem.name(),
                    package.name.clone(),
                    package.version.clone(),
                );
                if seen.insert(key) {
                    packages.push(package);
                }
            }
        }
        packages.sort_by(|a, b| {
            (a.ecosystem.ecosystem.name(), &a.name, &a.version).cmp(&(
                b.ecosystem.ecosystem.name(),
                &b.name,
                &b.version,
            ))
        });
        if packages.is_empty() {
            bail!("no packages found under {}", data.display());
        }
        Ok(Pool { packages, sources })
    }
}

/// Cumulative Zipf weights over `n` ranks.
fn zipf_cumulative(n: usize) -> Vec<f64> {
    let mut total = 0.0;
    (0..n)
        .map(|r| {
            total += 1.0 / ((r + 1) as f64).powf(ZIPF_EXPONENT);
            total
        })
        .collect()
}

/// Draws a rank from cumulative weights.
fn draw(rng: &mut fastrand::Rng, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.f64() * total;
    cumulative
        .partition_point(|&c| c <= x)
        .min(cumulative.len() - 1)
}

/// Generates the fleet `spec` describes from `pool`. Deterministic in (`pool`, `spec`).
pub fn generate(pool: &Pool, spec: FleetSpec) -> Result<Vec<GeneratedDevice>> {
    if spec.packages_per_device > pool.packages.len() {
        bail!(
            "--packages-per-device {} exceeds the pool of {} distinct package-versions",
            spec.packages_per_device,
            pool.packages.len()
        );
    }
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let mut ranked: Vec<&InstalledPackage> = pool.packages.iter().collect();
    rng.shuffle(&mut ranked);
    let cumulative = zipf_cumulative(ranked.len());
    let group_cumulative = zipf_cumulative(GROUPS.len());
    let mut devices = Vec::with_capacity(spec.devices);
    for i in 0..spec.devices {
        let group = GROUPS[draw(&mut rng, &group_cumulative)];
        let mut chosen = HashSet::with_capacity(spec.packages_per_device);
        let mut order = Vec::with_capacity(spec.packages_per_device);
        let mut attempts = 0;
        while order.len() < spec.packages_per_device && attempts < 16 * spec.packages_per_device {
            let rank = draw(&mut rng, &cumulative);
            if chosen.insert(rank) {
                order.push(rank);
            }
            attempts += 1;
        }
        let mut next = 0;
        while order.len() < spec.packages_per_device {
            if chosen.insert(next) {
                order.push(next);
            }
            next += 1;
        }
        order.sort_unstable();
        let packages: Vec<InstalledPackage> = order.iter().map(|&r| ranked[r].clone()).collect();
        let os = packages
            .iter()
            .any(|p| p.ecosystem.ecosystem == Ecosystem::Debian)
            .then(|| "debian 12".to_string());
        devices.push(GeneratedDevice {
            name: format!("{group}-{i:06}"),
            group: group.to_string(),
            os,
            packages,
        });
    }
    Ok(devices)
}

/// One device's inventory as a CycloneDX 1.5 JSON BOM: one `library` component per package (name,
/// version, purl), and an `operating-system` component `debian 12` when it carries Debian packages.
pub fn cyclonedx_json(device: &GeneratedDevice) -> Vec<u8> {
    let mut components: Vec<serde_json::Value> = device
        .packages
        .iter()
        .map(|p| {
            json!({
                "type": "library",
                "name": p.name,
                "version": p.version,
                "purl": p.purl,
            })
        })
        .collect();
    if device.os.is_some() {
        components.push(json!({"type": "operating-system", "name": "debian", "version": "12"}));
    }
    let bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": {"type": "device", "name": device.name}},
        "components": components,
    });
    serde_json::to_vec(&bom).expect("a JSON value always serializes")
}

/// One device's crates.io packages as a Cargo.lock v3 file (registry sources, no dependency edges:
/// scanners read only the package list).
pub fn cargo_lock(device: &GeneratedDevice) -> String {
    let mut out = String::from("version = 3\n");
    for p in device
        .packages
        .iter()
        .filter(|p| p.ecosystem.ecosystem == Ecosystem::CratesIo)
    {
        out.push_str(&format!(
            "\n[[package]]\nname = \"{}\"\nversion = \"{}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
            p.name, p.version
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, version: &str) -> InstalledPackage {
        let mut p = InstalledPackage::new(
            EcosystemRelease {
                ecosystem: Ecosystem::CratesIo,
                release: None,
            },
            name,
            version,
        );
        p.purl = Some(format!("pkg:cargo/{name}@{version}"));
        p
    }

    fn pool(n: usize) -> Pool {
        Pool {
            packages: (0..n).map(|i| package(&format!("c{i}"), "1.0.0")).collect(),
            sources: Vec::new(),
        }
    }

    fn spec(seed: u64) -> FleetSpec {
        FleetSpec {
            seed,
            devices: 50,
            packages_per_device: 20,
        }
    }

    fn names(fleet: &[GeneratedDevice]) -> Vec<(String, Vec<String>)> {
        fleet
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    d.packages.iter().map(|p| p.name.clone()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn same_seed_same_fleet_other_seed_other_fleet() {
        let pool = pool(200);
        let a = generate(&pool, spec(7)).unwrap();
        let b = generate(&pool, spec(7)).unwrap();
        let c = generate(&pool, spec(8)).unwrap();
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&c));
    }

    #[test]
    fn every_device_gets_exactly_m_distinct_packages_even_from_a_tight_pool() {
        let fleet = generate(&pool(20), spec(1)).unwrap();
        for device in &fleet {
            let distinct: HashSet<_> = device.packages.iter().map(|p| &p.name).collect();
            assert_eq!(distinct.len(), 20, "{}", device.name);
        }
        assert!(generate(&pool(19), spec(1)).is_err());
    }

    #[test]
    fn the_distribution_is_skewed() {
        let fleet = generate(&pool(1_000), spec(3)).unwrap();
        let mut counts = std::collections::HashMap::new();
        for p in fleet.iter().flat_map(|d| &d.packages) {
            *counts.entry(p.name.clone()).or_insert(0usize) += 1;
        }
        let mut counts: Vec<usize> = counts.into_values().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        // The most common package-version is on most devices; the median one on very few.
        assert!(counts[0] > fleet.len() / 2, "{counts:?}");
        assert!(counts[counts.len() / 2] < 5, "{counts:?}");
    }

    #[test]
    fn written_inventories_parse_back_to_the_same_packages() {
        let fleet = generate(&pool(100), spec(5)).unwrap();
        let device = &fleet[0];
        let bom = cyclonedx_json(device);
        let parsed = bulwark_formats::inventory::parse_auto("bom.json", &bom).unwrap();
        assert_eq!(parsed.packages.len(), device.packages.len());
        let lock = cargo_lock(device);
        let parsed = bulwark_formats::inventory::parse_auto("Cargo.lock", lock.as_bytes()).unwrap();
        let mut got: Vec<_> = parsed.packages.iter().map(|p| p.name.clone()).collect();
        let mut want: Vec<_> = device.packages.iter().map(|p| p.name.clone()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }
}
