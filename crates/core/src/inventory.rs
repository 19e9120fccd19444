//! What a device has installed: packages with their ecosystem, version and identifiers.

use serde::{Deserialize, Serialize};

use crate::ecosystem::EcosystemRelease;

/// One installed package, as an inventory parser reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstalledPackage {
    /// Ecosystem and, for OS packages, the distribution release when the inventory says it.
    pub ecosystem: EcosystemRelease,
    /// Package name as installed (binary package name for OS packages).
    pub name: String,
    /// Installed version, verbatim.
    pub version: String,
    /// The source package name, for OS packages whose advisories name the source (dpkg `Source:`, rpm source).
    pub source_name: Option<String>,
    /// The source package version, when it differs from the binary version.
    pub source_version: Option<String>,
    /// Package URL, when known.
    pub purl: Option<String>,
    /// CPE 2.3 name, when known.
    pub cpe: Option<String>,
}

impl InstalledPackage {
    /// A package with just ecosystem, name and version.
    pub fn new(ecosystem: EcosystemRelease, name: &str, version: &str) -> InstalledPackage {
        InstalledPackage {
            ecosystem,
            name: name.to_string(),
            version: version.to_string(),
            source_name: None,
            source_version: None,
            purl: None,
            cpe: None,
        }
    }

    /// The name advisories use for this package: the source package for Debian, Ubuntu and Alpine, whose
    /// advisories name source packages; the binary package for the RPM family, whose errata name binaries.
    pub fn advisory_name(&self) -> &str {
        if self.uses_binary_names() {
            return &self.name;
        }
        self.source_name.as_deref().unwrap_or(&self.name)
    }

    /// The version advisories compare against: the source version where advisories name source packages.
    pub fn advisory_version(&self) -> &str {
        if self.uses_binary_names() {
            return &self.version;
        }
        self.source_version.as_deref().unwrap_or(&self.version)
    }

    fn uses_binary_names(&self) -> bool {
        self.ecosystem.ecosystem.scheme() == crate::version::VersionScheme::Rpm
    }
}

/// Something in an inventory that could not be assessed (an unpinned requirement, an unknown ecosystem…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryNote {
    /// Where in the file: `line 12`, `$.components[3]`.
    pub location: String,
    /// What was found and why it is not assessed.
    pub message: String,
}

/// A parsed inventory: the packages found and what was skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// The format it was parsed as (`cyclonedx-json`, `dpkg-status`, `cargo-lock`, …).
    pub format: String,
    /// The packages, in file order, duplicates removed.
    pub packages: Vec<InstalledPackage>,
    /// Entries that could not be assessed.
    pub notes: Vec<InventoryNote>,
    /// The operating system the inventory describes, when it says (`debian 12`, `alpine 3.18.0`).
    pub os: Option<String>,
}

/// Parses an operating-system description (`debian 12`, `Debian:12`, `AlmaLinux 9.4`, `alpine 3.18.4`,
/// `ubuntu 22.04`, `rhel 9`) into the ecosystem and release its distribution packages belong to.
/// Returns `None` for an OS that is not a Linux distribution Bulwark knows (`windows`, `macos`).
pub fn os_ecosystem(os: &str) -> Option<EcosystemRelease> {
    let os = os.trim();
    let mut parts = os.splitn(2, [' ', ':', '-', '/']);
    let name = parts.next()?;
    let release = parts.next().map(str::trim).filter(|r| !r.is_empty());
    let ecosystem = crate::ecosystem::Ecosystem::from_osv_name(name)
        .or_else(|| match name.to_ascii_lowercase().as_str() {
            "centos" | "ubi" | "fedora" => Some(crate::ecosystem::Ecosystem::RedHat),
            "sles" | "sle" => Some(crate::ecosystem::Ecosystem::Suse),
            _ => None,
        })
        .filter(|e| e.is_distro())?;
    Some(EcosystemRelease::new(ecosystem, release))
}

/// Gives the inventory's distribution packages the device's OS: the release they are matched under, and
/// the exact distribution within its package family (an rpm inventory on AlmaLinux is AlmaLinux's).
/// Packages of another family (a deb on an rpm system) and packages that name their release keep theirs.
pub fn assign_os(packages: &mut [InstalledPackage], os: &EcosystemRelease) {
    for p in packages.iter_mut() {
        let eco = p.ecosystem.ecosystem;
        let same_family = eco.is_distro() && eco.scheme() == os.ecosystem.scheme();
        let names_own_release = p.ecosystem.release.is_some() && eco == os.ecosystem;
        if same_family && !names_own_release {
            p.ecosystem = os.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecosystem::Ecosystem;

    #[test]
    fn os_descriptions_name_distributions() {
        let check = |s: &str, e: Option<(Ecosystem, Option<&str>)>| {
            let got = os_ecosystem(s).map(|r| (r.ecosystem, r.release));
            assert_eq!(got, e.map(|(e, r)| (e, r.map(str::to_string))), "{s}");
        };
        check("debian 12", Some((Ecosystem::Debian, Some("12"))));
        check("Debian:12", Some((Ecosystem::Debian, Some("12"))));
        check("AlmaLinux 9.4", Some((Ecosystem::AlmaLinux, Some("9"))));
        check("alpine 3.18.4", Some((Ecosystem::Alpine, Some("3.18"))));
        check("ubuntu 22.04", Some((Ecosystem::Ubuntu, Some("22.04"))));
        check("windows 11", None);
        check("debian", Some((Ecosystem::Debian, None)));
    }

    #[test]
    fn assign_os_sets_release_and_distribution() {
        let rpm = EcosystemRelease::new(Ecosystem::RedHat, None);
        let deb = EcosystemRelease::new(Ecosystem::Debian, None);
        let pypi = EcosystemRelease::new(Ecosystem::PyPI, None);
        let mut pkgs = vec![
            InstalledPackage::new(rpm, "openssl", "1:3.0.7-27.el9"),
            InstalledPackage::new(deb, "curl", "7.88.1-10"),
            InstalledPackage::new(pypi.clone(), "django", "4.2"),
        ];
        assign_os(&mut pkgs, &os_ecosystem("almalinux 9").unwrap());
        assert_eq!(
            pkgs[0].ecosystem,
            EcosystemRelease::new(Ecosystem::AlmaLinux, Some("9"))
        );
        assert_eq!(
            pkgs[1].ecosystem,
            EcosystemRelease::new(Ecosystem::Debian, None)
        );
        assert_eq!(pkgs[2].ecosystem, pypi);
    }
}
