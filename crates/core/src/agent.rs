//! The report the Linux agent (`bulwark agent`) sends to the server: the host, the package inventories it
//! found, and what it could not read.
//!
//! The type lives in core so that the agent that writes it and the server that reads it share one
//! definition without the server depending on the agent's HTTP client. It is plain data: collecting is the
//! agent's job, ingesting the engine's. The JSON uses camelCase field names, like the rest of the API; the
//! packages inside are [`InstalledPackage`]s, serialized as everywhere else.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::HostFacts;
use crate::inventory::{InstalledPackage, InventoryNote};

/// What one run of the agent found on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentReport {
    /// The version of the agent that collected it (`0.1.0`).
    pub agent_version: String,
    /// The host.
    pub device: AgentDevice,
    /// When the collection ran.
    pub collected_at: DateTime<Utc>,
    /// One inventory per package source found (a dpkg database, a `site-packages` directory, …).
    pub inventories: Vec<AgentInventory>,
    /// The configuration facts the security checks evaluate, when they were collected.
    #[serde(default)]
    pub facts: Option<HostFacts>,
    /// Sources that were absent or unreadable, and why.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

impl AgentReport {
    /// Every package of every inventory, in report order.
    pub fn packages(&self) -> impl Iterator<Item = &InstalledPackage> {
        self.inventories.iter().flat_map(|i| i.packages.iter())
    }
}

/// The host a report describes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentDevice {
    /// The host name (`/etc/hostname`, else the kernel's), which is the device's name on the server.
    pub name: String,
    /// `ID VERSION_ID` from `/etc/os-release` (`debian 12`, `alpine 3.19.1`), the form that places OS
    /// packages in a distribution release.
    pub os: Option<String>,
    /// `PRETTY_NAME` from `/etc/os-release` (`Debian GNU/Linux 12 (bookworm)`), for people.
    pub os_name: Option<String>,
    /// The running kernel's release (`6.1.0-18-amd64`).
    pub kernel: Option<String>,
    /// The CPU architecture the agent runs on (`x86_64`, `aarch64`).
    pub architecture: Option<String>,
}

/// Where an inventory's packages came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageSource {
    /// dpkg's status database (Debian, Ubuntu).
    Dpkg,
    /// The rpm database, through `rpm -qa` (Red Hat family, SUSE).
    Rpm,
    /// apk's installed database (Alpine).
    Apk,
    /// A system Python `site-packages` or `dist-packages` directory.
    Python,
    /// A global npm root (`npm root -g`).
    Npm,
}

impl PackageSource {
    /// The name in the report (`dpkg`, `rpm`, `apk`, `python`, `npm`).
    pub fn name(self) -> &'static str {
        match self {
            PackageSource::Dpkg => "dpkg",
            PackageSource::Rpm => "rpm",
            PackageSource::Apk => "apk",
            PackageSource::Python => "python",
            PackageSource::Npm => "npm",
        }
    }
}

impl fmt::Display for PackageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The packages of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentInventory {
    /// The kind of source.
    pub source: PackageSource,
    /// Where on the host it was read (`/var/lib/dpkg/status`, `/usr/lib/python3/dist-packages`).
    pub path: String,
    /// The inventory format its files were parsed as (`dpkg-status`, `python-metadata`, …).
    pub format: String,
    /// The packages, in the order they were found.
    pub packages: Vec<InstalledPackage>,
    /// Entries that were read but could not be assessed, or were left out on purpose.
    #[serde(default)]
    pub notes: Vec<InventoryNote>,
}

/// A source the agent looked for and did not include.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// What was looked for (`dpkg`, `rpm`, `python`, or a configuration fact's source).
    pub source: String,
    /// Where on the host it was looked for.
    pub path: String,
    /// Why it is not in the report (`not present`, `permission denied: run as root to include it`).
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ecosystem, EcosystemRelease};

    #[test]
    fn serializes_with_camel_case_and_round_trips() {
        let report = AgentReport {
            agent_version: "0.1.0".into(),
            device: AgentDevice {
                name: "web-01".into(),
                os: Some("debian 12".into()),
                os_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
                kernel: Some("6.1.0-18-amd64".into()),
                architecture: Some("x86_64".into()),
            },
            collected_at: DateTime::from_timestamp(1_717_243_200, 0).expect("valid time"),
            inventories: vec![AgentInventory {
                source: PackageSource::Dpkg,
                path: "/var/lib/dpkg/status".into(),
                format: "dpkg-status".into(),
                packages: vec![InstalledPackage::new(
                    EcosystemRelease::new(Ecosystem::Debian, None),
                    "curl",
                    "7.88.1-10",
                )],
                notes: Vec::new(),
            }],
            facts: Some(HostFacts::default()),
            skipped: vec![Skipped {
                source: "rpm".into(),
                path: "/var/lib/rpm".into(),
                reason: "not present".into(),
            }],
        };
        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["agentVersion"], "0.1.0");
        assert_eq!(json["device"]["osName"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(json["collectedAt"], "2024-06-01T12:00:00Z");
        assert_eq!(json["inventories"][0]["source"], "dpkg");
        assert_eq!(json["inventories"][0]["packages"][0]["name"], "curl");
        assert_eq!(json["skipped"][0]["reason"], "not present");
        assert!(json["facts"].is_object(), "{json}");
        let back: AgentReport = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, report);
        assert_eq!(back.packages().count(), 1);
    }

    #[test]
    fn unknown_sources_are_refused() {
        let error = serde_json::from_str::<PackageSource>("\"pacman\"")
            .expect_err("not a source")
            .to_string();
        assert!(error.contains("unknown variant `pacman`"), "{error}");
    }
}
