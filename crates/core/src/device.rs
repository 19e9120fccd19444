//! Devices and their weaknesses: who has which vulnerable software, since when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ecosystem::EcosystemRelease;
use crate::score::DeviceValue;

/// A device's integer id in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceId(pub i64);

/// What an ingest says about the device it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The device's unique name (host name, image name).
    pub name: String,
    /// Operating system, as reported (`Debian 12`, `Alpine 3.18`).
    pub os: Option<String>,
    /// Device group.
    pub group: Option<String>,
    /// Tags (`internet-facing`, …).
    pub tags: Vec<String>,
}

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Store id.
    pub id: DeviceId,
    /// Unique name.
    pub name: String,
    /// Operating system.
    pub os: Option<String>,
    /// The device group it is explicitly assigned to (`None`: the first group whose rules match).
    pub group: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Device value (weights the device in group and organisation scores).
    pub value: DeviceValue,
    /// First ingest.
    pub first_seen: DateTime<Utc>,
    /// Latest ingest.
    pub last_seen: DateTime<Utc>,
}

/// One software entry of a device: a distinct (ecosystem, name, version) it has installed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SoftwareKey {
    /// Ecosystem and release.
    pub ecosystem: EcosystemRelease,
    /// Package name as advisories use it (source package for OS packages), normalised for the ecosystem.
    pub name: String,
    /// Version as advisories compare it.
    pub version: String,
}

/// A weakness: one vulnerability present on one device through one installed package version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weakness {
    /// The device.
    pub device_id: DeviceId,
    /// The vulnerable software.
    pub software: SoftwareKey,
    /// The vulnerability's id (its CVE when it has one).
    pub vulnerability_id: String,
    /// Advisory record ids that report it for this package.
    pub advisory_ids: Vec<String>,
    /// When it was first detected on this device.
    pub first_detected: DateTime<Utc>,
    /// When it stopped being detected; `None` while open.
    pub resolved: Option<DateTime<Utc>>,
}

/// A source of the current time, injected so that time-dependent logic is tested without sleeping.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
