//! Package URLs: which ecosystem, package name and version a purl names; and the steps the SBOM parsers
//! (CycloneDX, SPDX) share: reading JSON with paths in errors, and turning their entries (purl, CPE,
//! name, version) into inventory packages and notes. An entry with a CPE name and no purl becomes
//! CPE-only software ([`Ecosystem::Cpe`], `vendor:product`), which NVD's CPE configurations judge;
//! unless it is a binary that a distribution package of the same SBOM ships (syft's binary cataloger
//! reports `/bin/busybox` beside Alpine's `busybox` package), which is left to the distribution's
//! advisories.
//!
//! Parsing is the `packageurl` crate's; this module only maps a parsed purl onto Bulwark's ecosystems
//! (`pkg:deb/debian/…?distro=debian-12` → `Debian:12`) and normalises names and versions the way the
//! OSV advisories of that ecosystem spell them.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use bulwark_core::cpe_index::{cpe_package, cpe_product};
use bulwark_core::{
    Ecosystem, EcosystemRelease, InstalledPackage, Inventory, InventoryNote, Version, VersionScheme,
};
use packageurl::PackageUrl;
use serde::Deserialize;

use crate::FormatError;

/// The longest name, version, purl or CPE an SBOM parser keeps (longer values are hostile, not data).
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// Why a package URL could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PurlError {
    /// The text is not a package URL.
    #[error("invalid package URL {purl:?}: {source}")]
    Invalid {
        /// The purl (shortened when long).
        purl: String,
        /// What the purl parser found wrong.
        #[source]
        source: packageurl::Error,
    },
    /// A qualifier Bulwark relies on has a value it cannot use.
    #[error("package URL {purl:?}: qualifier {key}={value:?} is not valid: {reason}")]
    InvalidQualifier {
        /// The purl (shortened when long).
        purl: String,
        /// The qualifier key (`epoch`, `upstream`).
        key: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// What a valid package URL means for Bulwark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurlMatch {
    /// A package of an ecosystem Bulwark matches.
    Package {
        /// The package, with the original purl kept in [`InstalledPackage::purl`].
        package: Box<InstalledPackage>,
        /// The purl's `distro` qualifier as written (`debian-9`, `rhel-9.6`), for OS packages.
        distro: Option<String>,
    },
    /// A valid purl that names nothing Bulwark can match (a `generic` or `oci` purl, no version…).
    Unmatched {
        /// Why, as a sentence for an inventory note.
        reason: String,
    },
}

/// Maps a package URL to the package it names.
///
/// `Ok(Some(_))` is a package Bulwark can match; `Ok(None)` is a valid purl that it cannot (an ecosystem
/// it does not know, or no version), for which callers record a note ([`map_purl`] says why);
/// `Err` is text that is not a package URL.
pub fn package_from_purl(purl: &str) -> Result<Option<InstalledPackage>, PurlError> {
    Ok(match map_purl(purl)? {
        PurlMatch::Package { package, .. } => Some(*package),
        PurlMatch::Unmatched { .. } => None,
    })
}

/// Maps a package URL to the package it names, or to the reason it names nothing Bulwark can match.
///
/// Names are normalised for the ecosystem (npm `@scope/name`, Maven `group:artifact`, Go module paths
/// with their case kept, Packagist `vendor/name`); versions keep their ecosystem's form, except that Go
/// versions lose their `v` (as OSV writes them) and RPM versions gain the `epoch` qualifier (`1:1.2-3`,
/// no `0:`, as AlmaLinux advisories write them). `deb`, `rpm` and `apk` purls take their release from
/// the `distro` qualifier and their source package from `upstream`.
pub fn map_purl(purl: &str) -> Result<PurlMatch, PurlError> {
    let raw = purl.trim();
    let parsed = PackageUrl::from_str(raw).map_err(|source| PurlError::Invalid {
        purl: shorten(raw),
        source,
    })?;
    let unmatched = |reason: String| Ok(PurlMatch::Unmatched { reason });
    let ty = parsed.ty();
    let ecosystem = match ty {
        "cargo" => Ecosystem::CratesIo,
        "npm" => Ecosystem::Npm,
        "golang" => Ecosystem::Go,
        "pypi" => Ecosystem::PyPI,
        "maven" => Ecosystem::Maven,
        "nuget" => Ecosystem::NuGet,
        "gem" => Ecosystem::RubyGems,
        "composer" => Ecosystem::Packagist,
        "hex" => Ecosystem::Hex,
        "pub" => Ecosystem::Pub,
        "deb" | "rpm" | "apk" => match distro_package_ecosystem(ty, parsed.namespace()) {
            Ok(eco) => eco,
            Err(reason) => return unmatched(reason),
        },
        other => {
            return unmatched(format!(
                "package URL type {other:?} is not an ecosystem Bulwark matches"
            ));
        }
    };
    let Some(version) = parsed.version().map(str::trim).filter(|v| !v.is_empty()) else {
        return unmatched("the package URL has no version, so it cannot be matched".to_string());
    };
    let name = match package_name(ecosystem, raw, &parsed) {
        Ok(name) => name,
        Err(reason) => return unmatched(reason),
    };
    let qualifier = |key: &str| {
        parsed
            .qualifiers()
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let version = match ecosystem {
        Ecosystem::Go => {
            if version == "(devel)" {
                return unmatched(
                    "a Go main module built from a source tree has no release version to match"
                        .to_string(),
                );
            }
            // Kept as written (`v1.2.3`), as go.mod writes it; the Go version scheme accepts both.
            version.to_string()
        }
        eco if eco.scheme() == VersionScheme::Rpm => rpm_version(version, qualifier("epoch"), raw)?,
        _ => version.to_string(),
    };
    // Only OS packages have releases and source packages; other types' qualifiers mean other things.
    let is_distro = ecosystem.is_distro();
    let distro = qualifier("distro")
        .filter(|_| is_distro)
        .map(str::to_string);
    let release = distro
        .as_deref()
        .and_then(|d| release_from_distro(ecosystem, d));
    let mut package = InstalledPackage::new(
        EcosystemRelease::new(ecosystem, release.as_deref()),
        &name,
        &version,
    );
    package.purl = Some(raw.to_string());
    if let Some(upstream) = qualifier("upstream").filter(|_| is_distro) {
        let (source_name, source_version) = upstream_source(ty, upstream, &version, raw)?;
        let source_name = ecosystem.normalize_name(&source_name);
        if source_name != package.name {
            package.source_name = Some(source_name);
        }
        package.source_version = source_version.filter(|v| *v != package.version);
    }
    Ok(PurlMatch::Package {
        package: Box::new(package),
        distro,
    })
}

/// The ecosystem of a `deb`, `rpm` or `apk` purl, from its namespace (the distribution's vendor).
fn distro_package_ecosystem(ty: &str, namespace: Option<&str>) -> Result<Ecosystem, String> {
    let Some(namespace) = namespace else {
        return Err(format!(
            "the {ty} package URL names no distribution, so its advisories are unknown"
        ));
    };
    let eco = distro_ecosystem(namespace).filter(|eco| match ty {
        "deb" => matches!(eco, Ecosystem::Debian | Ecosystem::Ubuntu),
        "apk" => *eco == Ecosystem::Alpine,
        _ => eco.scheme() == VersionScheme::Rpm,
    });
    eco.ok_or_else(|| {
        format!("{ty} packages of {namespace:?} are not a distribution Bulwark matches")
    })
}

/// The ecosystem of a distribution named by a purl namespace or an operating-system component
/// (`os-release` `ID`). CentOS maps to Red Hat: it rebuilds RHEL sources, and Red Hat advisories are
/// the ones that apply to it (as Trivy and Grype also treat it).
pub(crate) fn distro_ecosystem(name: &str) -> Option<Ecosystem> {
    let lower = name.trim().to_ascii_lowercase();
    let eco = match lower.as_str() {
        "debian" => Ecosystem::Debian,
        "ubuntu" => Ecosystem::Ubuntu,
        "alpine" => Ecosystem::Alpine,
        "almalinux" => Ecosystem::AlmaLinux,
        "rocky" | "rockylinux" | "rocky linux" => Ecosystem::RockyLinux,
        "redhat" | "rhel" | "red hat" | "centos" => Ecosystem::RedHat,
        "opensuse" | "opensuse-leap" | "opensuse-tumbleweed" => Ecosystem::OpenSuse,
        "suse" | "sles" | "sled" | "sles_sap" => Ecosystem::Suse,
        _ => return None,
    };
    Some(eco)
}

/// The package name as the ecosystem's advisories spell it.
fn package_name(ecosystem: Ecosystem, raw: &str, purl: &PackageUrl<'_>) -> Result<String, String> {
    let name = purl.name();
    let namespace = purl.namespace();
    let joined = match (ecosystem, namespace) {
        (Ecosystem::Npm, Some(scope)) if scope.starts_with('@') => format!("{scope}/{name}"),
        (Ecosystem::Npm, Some(scope)) => format!("@{scope}/{name}"),
        (Ecosystem::Go, _) => go_module_path(raw)
            .ok_or_else(|| "the golang package URL has no module path".to_string())?,
        (Ecosystem::Maven, Some(group)) => format!("{group}:{name}"),
        (Ecosystem::Maven, None) => {
            return Err(
                "the maven package URL has no group, so the artifact is ambiguous".to_string(),
            );
        }
        (Ecosystem::Packagist, Some(vendor)) => format!("{vendor}/{name}"),
        _ => name.to_string(),
    };
    Ok(ecosystem.normalize_name(&joined))
}

/// The Go module path of a `golang` purl, read from the purl text itself.
///
/// Written by hand because `packageurl` lower-cases golang namespaces (an early rule of the purl spec),
/// while Go module paths are case-sensitive (`github.com/BurntSushi/toml`) and the Go vulnerability
/// database names them with their case. The text is split exactly as `packageurl` splits it (subpath,
/// then qualifiers, then version, each from the right) and each segment is percent-decoded.
fn go_module_path(raw: &str) -> Option<String> {
    let rest = raw.strip_prefix("pkg:")?.trim_start_matches('/');
    let (_ty, rest) = rest.split_once('/')?;
    let rest = rest.rsplit_once('#').map_or(rest, |(r, _)| r);
    let rest = rest.rsplit_once('?').map_or(rest, |(r, _)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(r, _)| r);
    let mut segments = Vec::new();
    for segment in rest
        .split('/')
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
    {
        segments.push(
            percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .ok()?
                .into_owned(),
        );
    }
    (!segments.is_empty()).then(|| segments.join("/"))
}

/// An RPM `VERSION-RELEASE` with its epoch as AlmaLinux advisories write it: `1:3.2.2-6.el9`, and no
/// `0:` for epoch 0 (rpm compares a missing epoch as 0).
fn rpm_version(version: &str, epoch: Option<&str>, raw: &str) -> Result<String, PurlError> {
    let (written_epoch, evr) = match version.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (Some(e), rest)
        }
        _ => (None, version),
    };
    let epoch = match (epoch, written_epoch) {
        (Some(q), _) => {
            if q.is_empty() || !q.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PurlError::InvalidQualifier {
                    purl: shorten(raw),
                    key: "epoch".to_string(),
                    value: shorten(q),
                    reason: "an RPM epoch is a non-negative integer".to_string(),
                });
            }
            q
        }
        (None, Some(e)) => e,
        (None, None) => "0",
    };
    let epoch = epoch.trim_start_matches('0');
    Ok(if epoch.is_empty() {
        evr.to_string()
    } else {
        format!("{epoch}:{evr}")
    })
}

/// The source package named by an `upstream` qualifier: `name`, `name@version` or `name (version)` for
/// deb and apk (as syft writes it), `name-version-release.src.rpm` for rpm.
fn upstream_source(
    ty: &str,
    upstream: &str,
    version: &str,
    raw: &str,
) -> Result<(String, Option<String>), PurlError> {
    let invalid = |reason: &str| PurlError::InvalidQualifier {
        purl: shorten(raw),
        key: "upstream".to_string(),
        value: shorten(upstream),
        reason: reason.to_string(),
    };
    if ty == "rpm" {
        let stem = upstream
            .strip_suffix(".src.rpm")
            .or_else(|| upstream.strip_suffix(".nosrc.rpm"))
            .unwrap_or(upstream);
        let mut parts = stem.rsplitn(3, '-');
        let (release, ver, name) = (parts.next(), parts.next(), parts.next());
        return match (name, ver, release) {
            (Some(name), Some(ver), Some(release)) if !name.is_empty() && !ver.is_empty() => {
                // The source RPM file name carries no epoch: the binary's epoch is the source's.
                let epoch = version.split_once(':').map(|(e, _)| e);
                let evr = match epoch {
                    Some(e) => format!("{e}:{ver}-{release}"),
                    None => format!("{ver}-{release}"),
                };
                Ok((name.to_string(), Some(evr)))
            }
            _ if !stem.contains(['-', '.']) && !stem.is_empty() => Ok((stem.to_string(), None)),
            _ => Err(invalid("expected NAME-VERSION-RELEASE.src.rpm")),
        };
    }
    let (name, source_version) = if let Some((name, ver)) = upstream.split_once('@') {
        (name, Some(ver))
    } else if let Some((name, rest)) = upstream.split_once(" (") {
        let ver = rest
            .strip_suffix(')')
            .ok_or_else(|| invalid("unbalanced parenthesis"))?;
        (name, Some(ver))
    } else {
        (upstream, None)
    };
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(invalid("expected a source package name"));
    }
    Ok((
        name.to_string(),
        source_version
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()),
    ))
}

/// The release in a `distro` qualifier or an OS version: `debian-12` → `12`, `rhel-9.6` → `9.6`,
/// `alpine-3.17.2` → `3.17.2`, `3.18.0` → `3.18.0`, `bookworm` → `12`, `ubuntu-jammy` → `22.04`.
/// [`EcosystemRelease::new`] then normalises it (`9.6` → `9` for RPM distributions).
pub(crate) fn release_from_distro(ecosystem: Ecosystem, distro: &str) -> Option<String> {
    let lower = distro.trim().to_ascii_lowercase();
    for segment in lower.split(['-', ' ']) {
        let digits = segment.strip_prefix('v').unwrap_or(segment);
        if digits.starts_with(|c: char| c.is_ascii_digit()) {
            return Some(digits.to_string());
        }
    }
    let codename = lower.rsplit(['-', ' ']).next()?;
    codename_release(ecosystem, codename).map(str::to_string)
}

/// Release numbers of Debian and Ubuntu code names (fixed facts, from the distributions' release lists).
fn codename_release(ecosystem: Ecosystem, codename: &str) -> Option<&'static str> {
    const DEBIAN: &[(&str, &str)] = &[
        ("etch", "4"),
        ("lenny", "5"),
        ("squeeze", "6"),
        ("wheezy", "7"),
        ("jessie", "8"),
        ("stretch", "9"),
        ("buster", "10"),
        ("bullseye", "11"),
        ("bookworm", "12"),
        ("trixie", "13"),
        ("forky", "14"),
        ("duke", "15"),
    ];
    const UBUNTU: &[(&str, &str)] = &[
        ("precise", "12.04"),
        ("trusty", "14.04"),
        ("xenial", "16.04"),
        ("bionic", "18.04"),
        ("cosmic", "18.10"),
        ("disco", "19.04"),
        ("eoan", "19.10"),
        ("focal", "20.04"),
        ("groovy", "20.10"),
        ("hirsute", "21.04"),
        ("impish", "21.10"),
        ("jammy", "22.04"),
        ("kinetic", "22.10"),
        ("lunar", "23.04"),
        ("mantic", "23.10"),
        ("noble", "24.04"),
        ("oracular", "24.10"),
        ("plucky", "25.04"),
        ("questing", "25.10"),
    ];
    let table = match ecosystem {
        Ecosystem::Debian => DEBIAN,
        Ecosystem::Ubuntu => UBUNTU,
        _ => return None,
    };
    table
        .iter()
        .find(|(name, _)| *name == codename)
        .map(|(_, release)| *release)
}

/// At most 200 characters of `text`, for error messages about hostile input.
pub(crate) fn shorten(text: &str) -> String {
    const KEEP: usize = 200;
    match text.char_indices().nth(KEEP) {
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
        None => text.to_string(),
    }
}

/// Refuses a kept field longer than [`MAX_FIELD_BYTES`]; `location` names it (`$.components[3].name`).
pub(crate) fn check_field_len(
    file: &str,
    location: impl FnOnce() -> String,
    value: Option<&str>,
) -> Result<(), FormatError> {
    match value {
        Some(v) if v.len() > MAX_FIELD_BYTES => Err(FormatError::parse(
            file,
            location(),
            format!(
                "value is {} bytes long; Bulwark reads at most {MAX_FIELD_BYTES}",
                v.len()
            ),
        )),
        _ => Ok(()),
    }
}

/// One package-like entry of an SBOM (a CycloneDX component, an SPDX package), as its parser read it.
#[derive(Debug, Default)]
pub(crate) struct SbomEntry<'a> {
    /// Where it is: `$.components[3]`, `line 42`.
    pub location: String,
    /// True for the operating system itself (CycloneDX `operating-system`, SPDX `OPERATING-SYSTEM`).
    pub is_os: bool,
    /// Its name, for notes and the OS.
    pub name: Option<&'a str>,
    /// Its version, for notes and the OS.
    pub version: Option<&'a str>,
    /// Its package URLs, in file order (the first one Bulwark can match is used).
    pub purls: Vec<&'a str>,
    /// Its CPE 2.3 name.
    pub cpe: Option<&'a str>,
    /// True for entries that are not software packages (CycloneDX `file`, `data`): no note when they
    /// have no purl.
    pub not_a_package: bool,
}

/// A package an SBOM entry gave, with what [`SbomCollector::finish`] needs besides it.
struct Found {
    package: InstalledPackage,
    /// The purl's `distro` qualifier as written, for OS packages.
    distro: Option<String>,
    /// For CPE-only software, its entry's location and label (for the note when a distribution package
    /// ships it).
    cpe_only: Option<(String, String)>,
}

/// Collects SBOM entries into an [`Inventory`]: packages from purls (or CPE names), notes for the rest,
/// and the OS.
pub(crate) struct SbomCollector {
    packages: Vec<Found>,
    notes: Vec<InventoryNote>,
    os: Option<(String, Option<String>)>,
}

impl SbomCollector {
    /// An empty collector.
    pub fn new() -> SbomCollector {
        SbomCollector {
            packages: Vec::new(),
            notes: Vec::new(),
            os: None,
        }
    }

    /// Records a note.
    pub fn note(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.notes.push(InventoryNote {
            location: location.into(),
            message: message.into(),
        });
    }

    /// Adds one entry: a package when one of its purls names one, or when it has no purl and its CPE
    /// name names a vendor and product; otherwise a note saying why not.
    pub fn add(&mut self, entry: SbomEntry<'_>) {
        let label = entry_label(&entry);
        if entry.is_os {
            match (&self.os, entry.name) {
                (None, Some(name)) => {
                    self.os = Some((
                        name.trim().to_string(),
                        entry.version.map(|v| v.trim().to_string()),
                    ));
                }
                (None, None) => self.note(entry.location, "operating-system entry without a name"),
                (Some(_), _) => self.note(
                    entry.location,
                    format!("{label}: a second operating system; only the first one is used"),
                ),
            }
            return;
        }
        if entry.purls.is_empty() && entry.cpe.is_none() && entry.not_a_package {
            return;
        }
        let mut first_reason = None;
        for purl in &entry.purls {
            match map_purl(purl) {
                Ok(PurlMatch::Package {
                    mut package,
                    distro,
                }) => {
                    package.cpe = entry.cpe.map(str::to_string);
                    self.packages.push(Found {
                        package: *package,
                        distro,
                        cpe_only: None,
                    });
                    return;
                }
                Ok(PurlMatch::Unmatched { reason }) => {
                    first_reason.get_or_insert(reason);
                }
                Err(e) => {
                    first_reason.get_or_insert(e.to_string());
                }
            }
        }
        let message = match (first_reason, entry.cpe) {
            (Some(reason), _) => format!("{label}: {reason}"),
            (None, Some(cpe)) => match cpe_package(cpe, entry.version) {
                Ok(package) => {
                    self.packages.push(Found {
                        package,
                        distro: None,
                        cpe_only: Some((entry.location, label)),
                    });
                    return;
                }
                Err(e) => format!("{label}: no purl, and the CPE name cannot stand for it: {e}"),
            },
            (None, None) => format!("{label}: no purl or CPE, so it cannot be matched"),
        };
        self.note(entry.location, message);
    }

    /// The inventory. OS packages without a `distro` qualifier take their release from the OS entry, or
    /// else from the other packages of their distribution when all those that state a release agree (one
    /// SBOM describes one system: a Red Hat SBOM may qualify only some of its rpm purls). Without an OS
    /// entry, a `distro` qualifier that is the same on every purl that has one names the OS.
    pub fn finish(self) -> Inventory {
        let os_release = self.os.as_ref().and_then(|(name, version)| {
            let eco = distro_ecosystem(name)?;
            let release = release_from_distro(eco, version.as_deref()?)?;
            Some(EcosystemRelease::new(eco, Some(&release)))
        });
        let mut os = self.os.as_ref().map(|(name, version)| match version {
            Some(v) if !v.is_empty() => format!("{name} {v}"),
            _ => name.clone(),
        });
        if os.is_none() {
            let distros: BTreeSet<&str> = self
                .packages
                .iter()
                .filter_map(|f| f.distro.as_deref())
                .collect();
            if let [only] = distros.into_iter().collect::<Vec<_>>()[..] {
                os = Some(only.replacen('-', " ", 1));
            }
        }
        // The one release each distribution's packages state, or `None` when they disagree.
        let mut stated: HashMap<Ecosystem, Option<EcosystemRelease>> = HashMap::new();
        for Found { package: p, .. } in &self.packages {
            if p.ecosystem.ecosystem.is_distro() && p.ecosystem.release.is_some() {
                stated
                    .entry(p.ecosystem.ecosystem)
                    .and_modify(|r| {
                        if r.as_ref() != Some(&p.ecosystem) {
                            *r = None;
                        }
                    })
                    .or_insert_with(|| Some(p.ecosystem.clone()));
            }
        }
        let shipped = distro_shipped(&self.packages);
        let mut notes = self.notes;
        let packages = self
            .packages
            .into_iter()
            .zip(shipped)
            .filter_map(|(found, owner)| match (found.cpe_only, owner) {
                (Some((location, label)), Some(owner)) => {
                    notes.push(InventoryNote {
                        location,
                        message: format!(
                            "{label}: no purl, and the {owner} package ships it, so the distribution's \
                             advisories judge it rather than NVD's upstream ranges"
                        ),
                    });
                    None
                }
                _ => Some(found.package),
            })
            .map(|mut package| {
                let eco = package.ecosystem.ecosystem;
                if package.ecosystem.release.is_none() && eco.is_distro() {
                    let from_os = os_release.as_ref().filter(|r| r.ecosystem == eco);
                    if let Some(release) =
                        from_os.or_else(|| stated.get(&eco).and_then(Option::as_ref))
                    {
                        package.ecosystem = release.clone();
                    }
                }
                package
            })
            .collect();
        Inventory {
            format: String::new(),
            packages,
            notes,
            os,
        }
    }
}

/// For each package, the distribution package of the same SBOM that ships it when it is CPE-only
/// software (`Alpine busybox 1.35.0-r29`): one whose name or source name is the CPE product and whose
/// upstream version is the CPE-only version (loosely equal).
fn distro_shipped(found: &[Found]) -> Vec<Option<String>> {
    let distro: Vec<&InstalledPackage> = found
        .iter()
        .map(|f| &f.package)
        .filter(|p| p.ecosystem.ecosystem.is_distro())
        .collect();
    let owner = |p: &InstalledPackage| {
        let (_, product) = cpe_product(p.ecosystem.ecosystem, &p.name)?;
        let version = Version::parse(VersionScheme::Loose, &p.version).ok()?;
        let d = distro.iter().find(|d| {
            let names = [Some(d.name.as_str()), d.source_name.as_deref()];
            names
                .into_iter()
                .flatten()
                .any(|n| n.eq_ignore_ascii_case(product))
                && Version::parse(VersionScheme::Loose, upstream_version(d))
                    .is_ok_and(|u| u == version)
        })?;
        Some(format!(
            "{} {} {}",
            d.ecosystem.ecosystem, d.name, d.version
        ))
    };
    found.iter().map(|f| owner(&f.package)).collect()
}

/// The upstream part of a distribution package's version: without the epoch and the package revision
/// (`1:9.2p1-2+deb12u2` → `9.2p1`, `3.0.7-27.el9` → `3.0.7`, `1.35.0-r29` → `1.35.0`).
fn upstream_version(package: &InstalledPackage) -> &str {
    let version = package.advisory_version();
    let version = version.split_once(':').map_or(version, |(_, rest)| rest);
    let revision = match package.ecosystem.ecosystem.scheme() {
        VersionScheme::Apk => version.rsplit_once("-r"),
        _ => version.rsplit_once('-'),
    };
    revision.map_or(version, |(upstream, _)| upstream)
}

/// How a note names an entry: `name version`, or its first purl, or `unnamed entry`.
fn entry_label(entry: &SbomEntry<'_>) -> String {
    let name = entry.name.map(str::trim).filter(|n| !n.is_empty());
    match (name, entry.version.map(str::trim).filter(|v| !v.is_empty())) {
        (Some(n), Some(v)) => shorten(&format!("{n} {v}")),
        (Some(n), None) => shorten(n),
        (None, _) => entry
            .purls
            .first()
            .map_or_else(|| "unnamed entry".to_string(), |p| shorten(p)),
    }
}

/// How many leading bytes format detection looks at.
const SNIFF_BYTES: usize = 64 * 1024;

/// The start of `bytes` that detection looks at: at most [`SNIFF_BYTES`], without a UTF-8 byte-order mark
/// and leading whitespace.
pub(crate) fn sniff_head(bytes: &[u8]) -> &[u8] {
    let head = strip_utf8_bom(&bytes[..bytes.len().min(SNIFF_BYTES)]);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    &head[start..]
}

/// `bytes` without a leading UTF-8 byte-order mark (some Windows tools write one; JSON parsers refuse it).
pub(crate) fn strip_utf8_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// True when `haystack` contains `needle`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The string value of the first `"key"` in the head of a JSON object, when it is a plain string
/// (a cheap detection check, not a parse: `{"bomFormat": "CycloneDX"` → `CycloneDX`).
pub(crate) fn sniff_json_string<'a>(bytes: &'a [u8], key: &str) -> Option<&'a str> {
    let head = sniff_head(bytes);
    if head.first() != Some(&b'{') {
        return None;
    }
    let needle = format!("\"{key}\"");
    let after = &head[find(head, needle.as_bytes())? + needle.len()..];
    let skip_ws = |s: &'a [u8]| {
        let n = s
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(s.len());
        &s[n..]
    };
    let after = skip_ws(skip_ws(after).strip_prefix(b":")?).strip_prefix(b"\"")?;
    let end = after.iter().position(|&b| b == b'"' || b == b'\\')?;
    std::str::from_utf8(&after[..end]).ok()
}

/// `line L, column C` (1-based, columns in bytes) of a byte offset, for errors.
pub(crate) fn line_column(bytes: &[u8], offset: usize) -> String {
    let offset = offset.min(bytes.len());
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    format!("line {line}, column {column}")
}

/// Line numbers of increasing byte offsets, found with one forward scan (for notes on many entries).
pub(crate) struct LineCursor<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCursor<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> LineCursor<'a> {
        LineCursor {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The 1-based line of `offset`, which must not be before the previous offset asked for.
    pub fn line_of(&mut self, offset: usize) -> usize {
        let offset = offset.clamp(self.offset, self.bytes.len());
        self.line += self.bytes[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = offset;
        self.line
    }
}

/// Deserializes a whole JSON document, naming the JSON path (`$.components[3].purl`) of any error.
///
/// serde_json refuses nesting deeper than 128 levels with an error instead of overflowing the stack;
/// `serde_path_to_error` records where the deserializer was when it failed.
pub(crate) fn read_json<'a, T: Deserialize<'a>>(
    file: &str,
    bytes: &'a [u8],
) -> Result<T, FormatError> {
    let mut deserializer = serde_json::Deserializer::from_slice(strip_utf8_bom(bytes));
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = json_path(&e.path().to_string());
        let inner = e.into_inner();
        let mut message = inner.to_string();
        if message.starts_with("recursion limit exceeded") {
            message.push_str(" (JSON nested more than 128 levels deep is refused)");
        }
        FormatError::parse(file, path, message)
    })?;
    deserializer
        .end()
        .map_err(|e| FormatError::parse(file, "$", e.to_string()))?;
    Ok(value)
}

/// A `serde_path_to_error` path as a JSON path: `components[3].purl` → `$.components[3].purl`.
/// Unknown segments (`?`, where the error hit a map key) are dropped: the path names the enclosing value.
fn json_path(path: &str) -> String {
    let known: Vec<&str> = path
        .split('.')
        .filter(|s| !s.is_empty() && *s != "?")
        .collect();
    let joined = known.join(".");
    match joined.chars().next() {
        None => "$".to_string(),
        Some('[') => format!("${joined}"),
        Some(_) => format!("$.{joined}"),
    }
}

/// A JSON string borrowed from the input when it has no escapes (most SBOM strings), owned otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonText<'a>(pub Cow<'a, str>);

impl JsonText<'_> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text of an optional JSON string field.
pub(crate) fn text<'t>(field: &'t Option<JsonText<'_>>) -> Option<&'t str> {
    field.as_ref().map(JsonText::as_str)
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = JsonText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(JsonText(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonText(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonText(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Maps `purl` and compares `ecosystem:release name version [source_name source_version]` (or the
    /// `Unmatched` reason, or the error) with `expected`.
    fn check(purl: &str, expected: &str) {
        let got = match map_purl(purl) {
            Ok(PurlMatch::Package { package, .. }) => {
                let mut s = format!("{} {} {}", package.ecosystem, package.name, package.version);
                if package.source_name.is_some() || package.source_version.is_some() {
                    s.push_str(&format!(
                        " src={} {}",
                        package.source_name.as_deref().unwrap_or("-"),
                        package.source_version.as_deref().unwrap_or("-")
                    ));
                }
                assert_eq!(package.purl.as_deref(), Some(purl.trim()));
                s
            }
            Ok(PurlMatch::Unmatched { reason }) => format!("unmatched: {reason}"),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expected, "mapping {purl}");
    }

    #[test]
    fn language_ecosystems() {
        check("pkg:cargo/serde@1.0.200", "crates.io serde 1.0.200");
        check("pkg:npm/%40types/node@14.0.23", "npm @types/node 14.0.23");
        check("pkg:npm/@angular/core@12.0.0", "npm @angular/core 12.0.0");
        check("pkg:npm/types/node@1.0.0", "npm @types/node 1.0.0");
        check("pkg:pypi/Django_Rest@3.1", "PyPI django-rest 3.1");
        check(
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar",
            "Maven org.apache.logging.log4j:log4j-core 2.14.1",
        );
        check(
            "pkg:nuget/Newtonsoft.Json@13.0.1",
            "NuGet newtonsoft.json 13.0.1",
        );
        check("pkg:gem/Rails@7.0.0", "RubyGems Rails 7.0.0");
        check(
            "pkg:composer/Laravel/Framework@v7.12.0",
            "Packagist laravel/framework v7.12.0",
        );
        check("pkg:hex/phoenix@1.7.0", "Hex phoenix 1.7.0");
        check("pkg:npm/a@1.0.0?distro=debian-12&upstream=b", "npm a 1.0.0");
        check("pkg:pub/http@0.13.0", "Pub http 0.13.0");
    }

    #[test]
    fn go_module_paths_and_versions_keep_their_case_and_spelling() {
        check(
            "pkg:golang/github.com/BurntSushi/toml@v0.3.1",
            "Go github.com/BurntSushi/toml v0.3.1",
        );
        check(
            "pkg:golang/github.com/CloudyKit/jet/v3@v3.0.0",
            "Go github.com/CloudyKit/jet/v3 v3.0.0",
        );
        check(
            "pkg:golang/golang.org/x/sys@v0.0.0-20210817142637-7d9622a276b7",
            "Go golang.org/x/sys v0.0.0-20210817142637-7d9622a276b7",
        );
        check(
            "pkg:golang/github.com/docker/docker@v20.10.7%2Bincompatible#api",
            "Go github.com/docker/docker v20.10.7+incompatible",
        );
        check("pkg:golang/stdlib@1.20.1", "Go stdlib 1.20.1");
        check(
            "pkg:golang/github.com/tianon/gosu@(devel)",
            "unmatched: a Go main module built from a source tree has no release version to match",
        );
    }

    #[test]
    fn os_packages_take_release_source_and_epoch() {
        check(
            "pkg:deb/debian/bash@4.4-5?arch=amd64&distro=debian-9",
            "Debian:9 bash 4.4-5",
        );
        check(
            "pkg:deb/debian/bsdutils@1:2.29.2-1+deb9u1?arch=amd64&upstream=util-linux%402.29.2-1+deb9u1&distro=debian-9",
            "Debian:9 bsdutils 1:2.29.2-1+deb9u1 src=util-linux 2.29.2-1+deb9u1",
        );
        check(
            "pkg:deb/debian/dirmngr@2.1.18-8~deb9u4?upstream=gnupg2&distro=debian-9",
            "Debian:9 dirmngr 2.1.18-8~deb9u4 src=gnupg2 -",
        );
        check(
            "pkg:deb/debian/libc6@2.36-9?distro=bookworm",
            "Debian:12 libc6 2.36-9",
        );
        check(
            "pkg:deb/debian/libc6@2.36-9?distro=debian-12.4",
            "Debian:12 libc6 2.36-9",
        );
        check(
            "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.10?distro=ubuntu-22.04",
            "Ubuntu:22.04 openssl 3.0.2-0ubuntu1.10",
        );
        check(
            "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.10?distro=jammy",
            "Ubuntu:22.04 openssl 3.0.2-0ubuntu1.10",
        );
        check("pkg:deb/debian/curl@7.88.1-10", "Debian curl 7.88.1-10");
        check(
            "pkg:deb/debian/gcc-12@12.2.0-14?upstream=gcc-12%20(12.2.0-14)",
            "Debian gcc-12 12.2.0-14",
        );
        check(
            "pkg:rpm/redhat/openssl-libs@3.2.2-6.el9_5.1?arch=x86_64&distro=rhel-9.6&epoch=1&upstream=openssl-3.2.2-6.el9_5.1.src.rpm",
            "Red Hat:9 openssl-libs 1:3.2.2-6.el9_5.1 src=openssl -",
        );
        check(
            "pkg:rpm/redhat/acl@2.3.1-4.el9?distro=rhel-9.6&upstream=acl-2.3.1-4.el9.src.rpm",
            "Red Hat:9 acl 2.3.1-4.el9",
        );
        check(
            "pkg:rpm/almalinux/bash@5.1.8-9.el9?epoch=0&distro=almalinux-9",
            "AlmaLinux:9 bash 5.1.8-9.el9",
        );
        check(
            "pkg:rpm/rocky/bash@0:5.1.8-9.el9",
            "Rocky Linux bash 5.1.8-9.el9",
        );
        check(
            "pkg:rpm/centos/bash@4.2.46-34.el7?distro=centos-7",
            "Red Hat:7 bash 4.2.46-34.el7",
        );
        check(
            "pkg:rpm/opensuse/bash@5.1-1?distro=opensuse-leap-15.4",
            "openSUSE:15.4 bash 5.1-1",
        );
        check(
            "pkg:apk/alpine/libssl3@3.0.8-r0?arch=x86_64&upstream=openssl&distro=alpine-3.17.2",
            "Alpine:3.17 libssl3 3.0.8-r0 src=openssl -",
        );
        check(
            "pkg:apk/alpine/musl@1.2.4-r0?distro=3.18.0",
            "Alpine:3.18 musl 1.2.4-r0",
        );
    }

    #[test]
    fn unmatched_and_invalid_purls_say_why() {
        check(
            "pkg:generic/postgresql@11.15",
            "unmatched: package URL type \"generic\" is not an ecosystem Bulwark matches",
        );
        check(
            "pkg:oci/ubi@sha256:abc",
            "unmatched: package URL type \"oci\" is not an ecosystem Bulwark matches",
        );
        check(
            "pkg:npm/left-pad",
            "unmatched: the package URL has no version, so it cannot be matched",
        );
        check(
            "pkg:deb/kali/bash@5.0",
            "unmatched: deb packages of \"kali\" are not a distribution Bulwark matches",
        );
        check(
            "pkg:rpm/fedora/bash@5.2-1.fc38",
            "unmatched: rpm packages of \"fedora\" are not a distribution Bulwark matches",
        );
        check(
            "pkg:deb/bash@5.0",
            "unmatched: the deb package URL names no distribution, so its advisories are unknown",
        );
        check(
            "pkg:maven/log4j-core@2.0",
            "unmatched: the maven package URL has no group, so the artifact is ambiguous",
        );
        check(
            "npm/left-pad@1.0.0",
            "error: invalid package URL \"npm/left-pad@1.0.0\": missing scheme",
        );
        check(
            "pkg:npm/left-pad%FF@1.0.0",
            "error: invalid package URL \"pkg:npm/left-pad%FF@1.0.0\": utf-8 decoding failed",
        );
        check(
            "pkg:rpm/redhat/bash@5.1?epoch=x",
            "error: package URL \"pkg:rpm/redhat/bash@5.1?epoch=x\": qualifier epoch=\"x\" is not valid: an RPM epoch is a non-negative integer",
        );
        check(
            "pkg:rpm/redhat/bash@5.1?upstream=-.src.rpm",
            "error: package URL \"pkg:rpm/redhat/bash@5.1?upstream=-.src.rpm\": qualifier upstream=\"-.src.rpm\" is not valid: expected NAME-VERSION-RELEASE.src.rpm",
        );
        assert_eq!(package_from_purl("pkg:generic/x@1").ok().flatten(), None);
        assert!(package_from_purl("pkg:cargo/x@1").ok().flatten().is_some());
    }

    #[test]
    fn long_purls_are_shortened_in_errors() {
        let long = format!("npm/{}", "a".repeat(10_000));
        let message = map_purl(&long).expect_err("no scheme").to_string();
        assert!(message.len() < 400, "{message}");
        assert!(message.contains("(10004 bytes)"), "{message}");
    }
}
