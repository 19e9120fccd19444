//! Response shapes the server adds where the engine hands out a domain type rather than an API view.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use bulwark_core::InstalledPackage;

/// One package installed on a machine, flattened and with the API's camelCase names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstalledSoftware {
    /// Package name as installed.
    pub name: String,
    /// Installed version, verbatim.
    pub version: String,
    /// Ecosystem with release (`crates.io`, `Debian:12`), as the other views name the vendor.
    pub vendor: String,
    /// The OSV ecosystem name.
    pub ecosystem: String,
    /// The distribution release, for OS packages.
    pub release: Option<String>,
    /// The source package name, for OS packages whose advisories name the source.
    pub source_name: Option<String>,
    /// The source package version, when it differs from the version.
    pub source_version: Option<String>,
    /// Package URL, when known.
    pub purl: Option<String>,
    /// CPE 2.3 name, when known.
    pub cpe: Option<String>,
}

impl From<InstalledPackage> for InstalledSoftware {
    fn from(p: InstalledPackage) -> InstalledSoftware {
        InstalledSoftware {
            vendor: p.ecosystem.to_string(),
            ecosystem: p.ecosystem.ecosystem.name().to_string(),
            release: p.ecosystem.release,
            name: p.name,
            version: p.version,
            source_name: p.source_name,
            source_version: p.source_version,
            purl: p.purl,
            cpe: p.cpe,
        }
    }
}
