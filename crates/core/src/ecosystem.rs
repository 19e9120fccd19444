//! Package ecosystems: their names (OSV's, and `CPE` for software known only by a CPE name), release
//! suffixes, version schemes and package-name normalisation.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::version::VersionScheme;

/// A package ecosystem Bulwark can match, named as OSV names it; and [`Ecosystem::Cpe`], software that
/// only a CPE name identifies, which NVD's configurations judge and OSV never names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ecosystem {
    /// Rust crates (`crates.io`).
    CratesIo,
    /// JavaScript packages (`npm`).
    Npm,
    /// Go modules (`Go`).
    Go,
    /// Python packages (`PyPI`).
    PyPI,
    /// Java artifacts (`Maven`), named `group:artifact`.
    Maven,
    /// .NET packages (`NuGet`).
    NuGet,
    /// Ruby gems (`RubyGems`).
    RubyGems,
    /// PHP packages (`Packagist`).
    Packagist,
    /// Erlang/Elixir packages (`Hex`).
    Hex,
    /// Dart packages (`Pub`).
    Pub,
    /// Debian source and binary packages (`Debian`).
    Debian,
    /// Ubuntu packages (`Ubuntu`).
    Ubuntu,
    /// AlmaLinux RPMs (`AlmaLinux`).
    AlmaLinux,
    /// Rocky Linux RPMs (`Rocky Linux`).
    RockyLinux,
    /// Red Hat Enterprise Linux RPMs (`Red Hat`).
    RedHat,
    /// openSUSE RPMs (`openSUSE`).
    OpenSuse,
    /// SUSE Linux Enterprise RPMs (`SUSE`).
    Suse,
    /// Alpine APKs (`Alpine`).
    Alpine,
    /// Software named only by a CPE 2.3 name (an SBOM component with a `cpe` and no purl), named
    /// `vendor:product` (`CPE`). Not an OSV ecosystem: only NVD's CPE configurations match it.
    Cpe,
}

/// Every ecosystem, in a fixed order (used by tests and documentation). [`Ecosystem::Cpe`] is among
/// them; [`Ecosystem::osv_name`] tells the ones that OSV publishes advisories for.
pub const ALL_ECOSYSTEMS: [Ecosystem; 19] = [
    Ecosystem::CratesIo,
    Ecosystem::Npm,
    Ecosystem::Go,
    Ecosystem::PyPI,
    Ecosystem::Maven,
    Ecosystem::NuGet,
    Ecosystem::RubyGems,
    Ecosystem::Packagist,
    Ecosystem::Hex,
    Ecosystem::Pub,
    Ecosystem::Debian,
    Ecosystem::Ubuntu,
    Ecosystem::AlmaLinux,
    Ecosystem::RockyLinux,
    Ecosystem::RedHat,
    Ecosystem::OpenSuse,
    Ecosystem::Suse,
    Ecosystem::Alpine,
    Ecosystem::Cpe,
];

impl Ecosystem {
    /// The name Bulwark shows and stores for this ecosystem (without a release suffix): OSV's name,
    /// or `CPE` for [`Ecosystem::Cpe`].
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "Go",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Maven => "Maven",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Hex => "Hex",
            Ecosystem::Pub => "Pub",
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::AlmaLinux => "AlmaLinux",
            Ecosystem::RockyLinux => "Rocky Linux",
            Ecosystem::RedHat => "Red Hat",
            Ecosystem::OpenSuse => "openSUSE",
            Ecosystem::Suse => "SUSE",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::Cpe => "CPE",
        }
    }

    /// The name OSV uses for this ecosystem (without a release suffix); `None` for
    /// [`Ecosystem::Cpe`], for which OSV publishes nothing.
    pub fn osv_name(self) -> Option<&'static str> {
        match self {
            Ecosystem::Cpe => None,
            other => Some(other.name()),
        }
    }

    /// Parses an OSV ecosystem name without its release suffix (case-insensitive); `CPE` is not one.
    pub fn from_osv_name(name: &str) -> Option<Ecosystem> {
        Ecosystem::from_name(name).filter(|e| e.osv_name().is_some())
    }

    /// Parses a name as [`Ecosystem::name`] writes it, or one of OSV's other spellings
    /// (case-insensitive): every ecosystem, `CPE` included.
    pub fn from_name(name: &str) -> Option<Ecosystem> {
        let lower = name.trim().to_ascii_lowercase();
        let eco = match lower.as_str() {
            "crates.io" | "cargo" => Ecosystem::CratesIo,
            "npm" => Ecosystem::Npm,
            "go" | "golang" => Ecosystem::Go,
            "pypi" => Ecosystem::PyPI,
            "maven" => Ecosystem::Maven,
            "nuget" => Ecosystem::NuGet,
            "rubygems" => Ecosystem::RubyGems,
            "packagist" => Ecosystem::Packagist,
            "hex" => Ecosystem::Hex,
            "pub" => Ecosystem::Pub,
            "debian" => Ecosystem::Debian,
            "ubuntu" => Ecosystem::Ubuntu,
            "almalinux" => Ecosystem::AlmaLinux,
            "rocky linux" | "rocky" | "rockylinux" => Ecosystem::RockyLinux,
            "red hat" | "redhat" | "rhel" => Ecosystem::RedHat,
            "opensuse" => Ecosystem::OpenSuse,
            "suse" => Ecosystem::Suse,
            "alpine" => Ecosystem::Alpine,
            "cpe" => Ecosystem::Cpe,
            _ => return None,
        };
        Some(eco)
    }

    /// The version scheme that orders this ecosystem's versions (for `ECOSYSTEM` ranges).
    pub fn scheme(self) -> VersionScheme {
        match self {
            Ecosystem::CratesIo | Ecosystem::Hex | Ecosystem::Pub => VersionScheme::Semver,
            Ecosystem::Npm => VersionScheme::Npm,
            Ecosystem::Go => VersionScheme::Go,
            Ecosystem::PyPI => VersionScheme::Pep440,
            Ecosystem::Maven => VersionScheme::Maven,
            Ecosystem::NuGet => VersionScheme::NuGet,
            Ecosystem::RubyGems => VersionScheme::RubyGems,
            Ecosystem::Packagist => VersionScheme::Composer,
            Ecosystem::Debian | Ecosystem::Ubuntu => VersionScheme::Dpkg,
            Ecosystem::AlmaLinux
            | Ecosystem::RockyLinux
            | Ecosystem::RedHat
            | Ecosystem::OpenSuse
            | Ecosystem::Suse => VersionScheme::Rpm,
            Ecosystem::Alpine => VersionScheme::Apk,
            Ecosystem::Cpe => VersionScheme::Loose,
        }
    }

    /// True for operating-system package ecosystems, whose advisories are per distribution release.
    pub fn is_distro(self) -> bool {
        matches!(
            self,
            Ecosystem::Debian
                | Ecosystem::Ubuntu
                | Ecosystem::AlmaLinux
                | Ecosystem::RockyLinux
                | Ecosystem::RedHat
                | Ecosystem::OpenSuse
                | Ecosystem::Suse
                | Ecosystem::Alpine
        )
    }

    /// Normalises a package name so that names which the ecosystem treats as the same compare equal.
    ///
    /// PyPI follows PEP 503 (lower case, runs of `-`, `_`, `.` become one `-`); registries that are
    /// case-insensitive are lower-cased; Go module paths and Maven coordinates keep their case. CPE
    /// names (`vendor:product`) are lower-cased: CPE matching ignores ASCII case.
    pub fn normalize_name(self, name: &str) -> String {
        let name = name.trim();
        match self {
            Ecosystem::PyPI => {
                let mut out = String::with_capacity(name.len());
                let mut in_sep = false;
                for c in name.chars() {
                    if matches!(c, '-' | '_' | '.') {
                        if !in_sep {
                            out.push('-');
                        }
                        in_sep = true;
                    } else {
                        out.push(c.to_ascii_lowercase());
                        in_sep = false;
                    }
                }
                out
            }
            Ecosystem::Go | Ecosystem::Maven | Ecosystem::RubyGems => name.to_string(),
            _ => name.to_ascii_lowercase(),
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An OSV ecosystem string split into its ecosystem and optional release ("Debian:12" → Debian, "12").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EcosystemRelease {
    /// The ecosystem.
    pub ecosystem: Ecosystem,
    /// The distribution release, normalised (`v3.19` → `3.19`, `22.04:LTS` → `22.04`), if any.
    pub release: Option<String>,
}

impl EcosystemRelease {
    /// Parses an OSV ecosystem string such as `PyPI`, `Debian:12`, `Alpine:v3.19`, `Ubuntu:22.04:LTS`,
    /// `AlmaLinux:9` or `Ubuntu:Pro:18.04:LTS`. Returns `None` for ecosystems Bulwark does not match,
    /// and for `CPE`, which is not an OSV ecosystem.
    pub fn parse(raw: &str) -> Option<EcosystemRelease> {
        let raw = raw.trim();
        let (base, rest) = match raw.split_once(':') {
            Some((b, r)) => (b, Some(r)),
            None => (raw, None),
        };
        let ecosystem = Ecosystem::from_osv_name(base)?;
        let release = rest.and_then(|r| normalize_release(ecosystem, r));
        Some(EcosystemRelease { ecosystem, release })
    }

    /// Builds a value from parts, normalising the release.
    pub fn new(ecosystem: Ecosystem, release: Option<&str>) -> EcosystemRelease {
        EcosystemRelease {
            ecosystem,
            release: release.and_then(|r| normalize_release(ecosystem, r)),
        }
    }
}

impl fmt::Display for EcosystemRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.release {
            Some(r) => write!(f, "{}:{}", self.ecosystem, r),
            None => write!(f, "{}", self.ecosystem),
        }
    }
}

/// Normalises a release suffix so that advisories and inventories name a release the same way.
fn normalize_release(ecosystem: Ecosystem, raw: &str) -> Option<String> {
    let parts: Vec<&str> = raw
        .split(':')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter(|p| !p.eq_ignore_ascii_case("lts") && !p.eq_ignore_ascii_case("pro"))
        .collect();
    let mut release = parts.first()?.to_ascii_lowercase();
    if ecosystem == Ecosystem::Alpine {
        // Alpine advisories are per minor release ("v3.18"); an installed system says "3.18.4".
        let trimmed = release.trim_start_matches('v');
        release = trimmed.split('.').take(2).collect::<Vec<_>>().join(".");
    }
    if ecosystem.is_distro() && ecosystem != Ecosystem::Alpine && ecosystem != Ecosystem::Ubuntu {
        // RPM distributions and Debian are keyed by major release: "9.4" and "9" are the same stream.
        if let Some((major, _)) = release.split_once('.')
            && major.chars().all(|c| c.is_ascii_digit())
            && ecosystem != Ecosystem::OpenSuse
        {
            release = major.to_string();
        }
    }
    Some(release)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Option<(Ecosystem, Option<&str>)>) {
        let got = EcosystemRelease::parse(raw).map(|e| (e.ecosystem, e.release));
        let expected = expected.map(|(e, r)| (e, r.map(str::to_string)));
        assert_eq!(got, expected, "parsing {raw:?}");
    }

    #[test]
    fn release_suffixes_are_understood() {
        check("PyPI", Some((Ecosystem::PyPI, None)));
        check("Debian:12", Some((Ecosystem::Debian, Some("12"))));
        check("AlmaLinux:9", Some((Ecosystem::AlmaLinux, Some("9"))));
        check("Alpine:v3.19", Some((Ecosystem::Alpine, Some("3.19"))));
        check("Ubuntu:22.04:LTS", Some((Ecosystem::Ubuntu, Some("22.04"))));
        check(
            "Ubuntu:Pro:18.04:LTS",
            Some((Ecosystem::Ubuntu, Some("18.04"))),
        );
        check("Red Hat:9.4", Some((Ecosystem::RedHat, Some("9"))));
        check("Alpine:3.18.4", Some((Ecosystem::Alpine, Some("3.18"))));
        check("crates.io", Some((Ecosystem::CratesIo, None)));
        check("GIT", None);
        check("OSS-Fuzz", None);
    }

    #[test]
    fn pypi_names_follow_pep_503() {
        let n = |s| Ecosystem::PyPI.normalize_name(s);
        assert_eq!(n("Django"), "django");
        assert_eq!(n("zope.interface"), "zope-interface");
        assert_eq!(n("Foo__Bar-.baz"), "foo-bar-baz");
        assert_eq!(
            Ecosystem::Go.normalize_name("github.com/BurntSushi/toml"),
            "github.com/BurntSushi/toml"
        );
        assert_eq!(
            Ecosystem::NuGet.normalize_name("Newtonsoft.Json"),
            "newtonsoft.json"
        );
    }

    #[test]
    fn names_round_trip() {
        for e in ALL_ECOSYSTEMS {
            assert_eq!(Ecosystem::from_name(e.name()), Some(e));
            assert_eq!(e.to_string(), e.name());
            match e.osv_name() {
                Some(osv) => assert_eq!((Ecosystem::from_osv_name(osv), osv), (Some(e), e.name())),
                None => assert_eq!(e, Ecosystem::Cpe),
            }
        }
        // OSV names no CPE ecosystem, so an OSV record that says `CPE` is not matched.
        assert_eq!(Ecosystem::from_osv_name("CPE"), None);
        assert_eq!(EcosystemRelease::parse("CPE"), None);
        assert_eq!(Ecosystem::from_name("cpe"), Some(Ecosystem::Cpe));
    }
}
