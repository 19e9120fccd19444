//! Read models the API, CLI and console show: machines and software rows, the fleet's software
//! inventory, and what concerns one device (its recommendations, the exceptions covering it), each
//! built from one snapshot of the fleet.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use bulwark_core::exception::TargetKind;
use bulwark_core::group::{DeviceGroup, group_of};
use bulwark_core::matching::PackageKey;
use bulwark_core::recommendation::{
    EXPOSURE_WINDOW_DAYS, Recommendation, recommendation_id, vulnerability_aliases,
};
use bulwark_core::scan::software_key;
use bulwark_core::{Device, DeviceId, InstalledPackage, Weakness};

use crate::exceptions::ExceptionView;
use crate::{Engine, EngineResult};

/// One snapshot of the fleet for one request: the large parts shared with the engine's in-memory
/// snapshot (see [`crate::fleet`]), the small ones the request's own (it may add a hypothetical
/// exception), and the time of the request.
pub(crate) struct Fleet {
    pub(crate) exceptions: Vec<bulwark_core::exception::Exception>,
    pub(crate) devices: Arc<Vec<Device>>,
    pub(crate) open: Arc<Vec<Weakness>>,
    pub(crate) software: Arc<Vec<(DeviceId, InstalledPackage)>>,
    pub(crate) counts: Arc<crate::fleet::SoftwareCounts>,
    pub(crate) groups: Vec<DeviceGroup>,
    pub(crate) now: DateTime<Utc>,
}

/// A device as the API lists it (MDVM's machine field names where they exist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineView {
    /// Store id.
    pub id: i64,
    /// Device name.
    pub computer_dns_name: String,
    /// Operating system, as reported.
    pub os_platform: Option<String>,
    /// The device group it is in (explicit assignment, else the first matching rule, else `Ungrouped`).
    pub rbac_group_name: String,
    /// Tags.
    pub machine_tags: Vec<String>,
    /// Device value: Low, Normal or High.
    pub device_value: bulwark_core::score::DeviceValue,
    /// Exposure score (0–100); `None` for a device not seen within the exposure window.
    pub exposure_score: Option<f64>,
    /// Exposure level: None, Low, Medium or High (`None` for the level too when not active).
    pub exposure_level: Option<bulwark_core::exposure::ExposureLevel>,
    /// First ingest.
    pub first_seen: DateTime<Utc>,
    /// Latest ingest.
    pub last_seen: DateTime<Utc>,
    /// Seen within the exposure window (30 days).
    pub is_active: bool,
    /// Installed packages.
    pub software_count: u64,
    /// Distinct open vulnerabilities.
    pub vulnerability_count: u64,
}

/// One vulnerable software version of a product, with how many devices have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoftwareView {
    /// Package name.
    pub name: String,
    /// Ecosystem (with release).
    pub vendor: String,
    /// Installed version.
    pub version: String,
    /// Devices with this version and an open weakness in it.
    pub exposed_machines: u64,
    /// Distinct vulnerabilities of this version.
    pub weaknesses: u64,
}

impl Fleet {
    /// Machine views of the devices `keep` selects, ordered by name.
    pub(crate) fn machine_views(
        &self,
        scores: &HashMap<DeviceId, (f64, usize)>,
        keep: impl Fn(&Device) -> bool,
    ) -> Vec<MachineView> {
        let software = self.counts.per_device(&self.software);
        let mut vulns: HashMap<DeviceId, BTreeSet<&str>> = HashMap::new();
        for w in self.open.iter() {
            vulns
                .entry(w.device_id)
                .or_default()
                .insert(&w.vulnerability_id);
        }
        let cutoff = self.now - Duration::days(EXPOSURE_WINDOW_DAYS);
        self.devices
            .iter()
            .filter(|d| keep(d))
            .map(|d| MachineView {
                id: d.id.0,
                computer_dns_name: d.name.clone(),
                os_platform: d.os.clone(),
                rbac_group_name: group_of(d, &self.groups).to_string(),
                machine_tags: d.tags.clone(),
                device_value: d.value,
                exposure_score: scores.get(&d.id).map(|s| s.0),
                exposure_level: scores.get(&d.id).map(|(score, vulns)| {
                    bulwark_core::exposure::ExposureLevel::of(*score, *vulns)
                }),
                first_seen: d.first_seen,
                last_seen: d.last_seen,
                is_active: d.last_seen >= cutoff,
                software_count: software.get(&d.id).copied().unwrap_or(0),
                vulnerability_count: vulns.get(&d.id).map_or(0, |v| v.len() as u64),
            })
            .collect()
    }
}

/// Software rows for a set of open weaknesses of one product.
pub(crate) fn software_views(open: &[&Weakness]) -> Vec<SoftwareView> {
    // (name, vendor, version) → (devices, vulnerabilities)
    type Row<'a> = (BTreeSet<DeviceId>, BTreeSet<&'a str>);
    let mut rows: BTreeMap<(String, String, String), Row<'_>> = BTreeMap::new();
    for w in open {
        let key = (
            w.software.name.clone(),
            w.software.ecosystem.to_string(),
            w.software.version.clone(),
        );
        let entry = rows.entry(key).or_default();
        entry.0.insert(w.device_id);
        entry.1.insert(&w.vulnerability_id);
    }
    rows.into_iter()
        .map(|((name, vendor, version), (devices, vulns))| SoftwareView {
            name,
            vendor,
            version,
            exposed_machines: devices.len() as u64,
            weaknesses: vulns.len() as u64,
        })
        .collect()
}

/// A product installed in the fleet (every version together): a row of the software inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    /// Package name, as advisories name it (the source package for OS packages).
    pub name: String,
    /// Ecosystem (with release).
    pub vendor: String,
    /// The id of the product's security recommendation (it exists while `weaknesses` > 0).
    pub recommendation_id: String,
    /// Distinct installed versions.
    pub versions: u64,
    /// Devices with any version installed.
    pub devices: u64,
    /// Devices seen within the exposure window with an open weakness in it (as recommendations count).
    pub exposed_devices: u64,
    /// Distinct open vulnerabilities of its installed versions.
    pub weaknesses: u64,
    /// Installed versions with an open weakness, sorted.
    pub vulnerable_versions: Vec<String>,
}

impl Fleet {
    /// The software inventory: one row per product, by name then vendor. One pass over the installed
    /// software and one over the open weaknesses.
    fn products(&self) -> Vec<ProductView> {
        #[derive(Default)]
        struct Row<'a> {
            vendor: String,
            versions: BTreeSet<&'a str>,
            devices: BTreeSet<DeviceId>,
            exposed: BTreeSet<DeviceId>,
            vulnerabilities: BTreeSet<&'a str>,
            vulnerable_versions: BTreeSet<&'a str>,
        }
        // The package key decides the recommendation id; the vendor is its display, computed once.
        let mut rows: HashMap<PackageKey, Row<'_>> = HashMap::new();
        for (device, package) in self.software.iter() {
            let key = software_key(package);
            let row = rows
                .entry(PackageKey::new(&key.ecosystem, &key.name))
                .or_insert_with(|| Row {
                    vendor: key.ecosystem.to_string(),
                    ..Row::default()
                });
            row.versions.insert(package.advisory_version());
            row.devices.insert(*device);
        }
        let cutoff = self.now - Duration::days(EXPOSURE_WINDOW_DAYS);
        let active: BTreeSet<DeviceId> = self
            .devices
            .iter()
            .filter(|d| d.last_seen >= cutoff)
            .map(|d| d.id)
            .collect();
        for w in self.open.iter() {
            let row = rows
                .entry(PackageKey::new(&w.software.ecosystem, &w.software.name))
                .or_insert_with(|| Row {
                    vendor: w.software.ecosystem.to_string(),
                    ..Row::default()
                });
            if active.contains(&w.device_id) {
                row.exposed.insert(w.device_id);
            }
            row.vulnerabilities.insert(&w.vulnerability_id);
            row.vulnerable_versions.insert(&w.software.version);
        }
        let mut out: Vec<ProductView> = rows
            .into_iter()
            .map(|(key, row)| ProductView {
                recommendation_id: recommendation_id(&key),
                name: key.name,
                vendor: row.vendor,
                versions: row.versions.len() as u64,
                devices: row.devices.len() as u64,
                exposed_devices: row.exposed.len() as u64,
                weaknesses: row.vulnerabilities.len() as u64,
                vulnerable_versions: row
                    .vulnerable_versions
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.vendor.cmp(&b.vendor)));
        out
    }
}

impl Engine {
    /// The fleet's software inventory: every installed product with its versions, devices, exposed
    /// devices and weaknesses, by name.
    pub async fn software_inventory(&self) -> EngineResult<Vec<ProductView>> {
        Ok(self.fleet().await?.products())
    }

    /// The security recommendations whose exposed devices include this device (by id or name), in
    /// the recommendations' order. Software recommendations only: configuration checks have their
    /// own per-device results ([`Engine::machine_configuration`]).
    pub async fn machine_recommendations(
        &self,
        id_or_name: &str,
    ) -> EngineResult<Vec<Recommendation>> {
        let device = self.find_device(id_or_name).await?;
        let fleet = self.fleet().await?;
        let mine: BTreeSet<String> = fleet
            .open
            .iter()
            .filter(|w| w.device_id == device.id)
            .map(|w| recommendation_id(&PackageKey::new(&w.software.ecosystem, &w.software.name)))
            .collect();
        if mine.is_empty() {
            return Ok(Vec::new());
        }
        let mut all = fleet.recommendations(&self.index(), &self.threat());
        all.retain(|r| mine.contains(&r.id));
        Ok(all)
    }

    /// The exceptions in effect that cover this device (by id or name): global, or including its
    /// device group (suspended ones too), on a recommendation or a CVE of one of its open weaknesses.
    pub async fn machine_exceptions(&self, id_or_name: &str) -> EngineResult<Vec<ExceptionView>> {
        let device = self.find_device(id_or_name).await?;
        let fleet = self.fleet().await?;
        let now = fleet.now;
        let group = group_of(&device, &fleet.groups);
        let index = self.index();
        let mine: Vec<&Weakness> = fleet
            .open
            .iter()
            .filter(|w| w.device_id == device.id)
            .collect();
        let recommendations: BTreeSet<String> = mine
            .iter()
            .map(|w| recommendation_id(&PackageKey::new(&w.software.ecosystem, &w.software.name)))
            .collect();
        let vulnerabilities: BTreeSet<String> = mine
            .iter()
            .flat_map(|w| {
                vulnerability_aliases(
                    &index,
                    &w.vulnerability_id,
                    w.advisory_ids.iter().map(String::as_str),
                )
            })
            .map(str::to_ascii_uppercase)
            .collect();
        let policy = self.exception_policy().await?;
        Ok(fleet
            .exceptions
            .iter()
            .filter(|e| e.global || e.groups_in_effect(now).contains(&group))
            .filter(|e| e.in_effect(now))
            .filter(|e| match e.kind {
                TargetKind::Recommendation => recommendations.contains(&e.target),
                TargetKind::Cve => vulnerabilities.contains(&e.target.to_ascii_uppercase()),
            })
            .map(|e| ExceptionView::of(e, &fleet.exceptions, now, &policy))
            .collect())
    }
}
