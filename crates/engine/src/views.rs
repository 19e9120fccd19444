//! Read models the API and CLI show: machines and software rows, built from one snapshot of the fleet.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use bulwark_core::group::{DeviceGroup, group_of};
use bulwark_core::recommendation::EXPOSURE_WINDOW_DAYS;
use bulwark_core::{Device, DeviceId, InstalledPackage, Weakness};

/// One snapshot of the fleet, read from the store for one request.
pub(crate) struct Fleet {
    pub(crate) exceptions: Vec<bulwark_core::exception::Exception>,
    pub(crate) devices: Vec<Device>,
    pub(crate) open: Vec<Weakness>,
    pub(crate) software: Vec<(DeviceId, InstalledPackage)>,
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
        let mut software: HashMap<DeviceId, u64> = HashMap::new();
        for (device, _) in &self.software {
            *software.entry(*device).or_default() += 1;
        }
        let mut vulns: HashMap<DeviceId, BTreeSet<&str>> = HashMap::new();
        for w in &self.open {
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
