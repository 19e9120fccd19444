//! The output of `rpm -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}\n'`: the RPMs installed on a
//! Red Hat-family machine, one per line.
//!
//! Versions are written the way the AlmaLinux OSV records (and Red Hat's errata) write them, so that an
//! installed version and an advisory's fixed version print and compare alike: `VERSION-RELEASE` when the
//! epoch is 0 and `EPOCH:VERSION-RELEASE` otherwise (`3.0.7-27.el9`, `1:3.0.7-27.el9`). The records never write
//! a `0:` epoch; rpm ordering treats a missing epoch as 0, so nothing is lost by dropping it.
//!
//! The ecosystem is `Red Hat` with no release: the device's operating system decides the distribution and
//! release later. `gpg-pubkey` entries are the keys rpm trusts, not software, and are skipped with a note. The
//! epoch may also be `(none)` (what `%{EPOCH}` prints) or absent (`NAME VERSION-RELEASE ARCH`); both mean 0.

use bulwark_core::{Ecosystem, EcosystemRelease, InstalledPackage, Inventory, InventoryNote};
use packageurl::PackageUrl;

use crate::FormatError;

/// The longest field accepted; longer values are hostile input.
const MAX_VALUE_LEN: usize = 4096;

/// How many lines [`detect`] looks at.
const DETECT_LINES: usize = 20;

/// True when the first non-empty lines all have the form `NAME EPOCH:VERSION-RELEASE ARCH`.
pub fn detect(bytes: &[u8]) -> bool {
    let mut lines = super::requirements::head(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(DETECT_LINES);
    let Some(first) = lines.next() else {
        return false;
    };
    looks_like_qa_line(first) && lines.all(looks_like_qa_line)
}

fn looks_like_qa_line(line: &str) -> bool {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [name, evr, arch] = fields[..] else {
        return false;
    };
    let Some((epoch, vr)) = evr.split_once(':') else {
        return false;
    };
    let epoch_ok =
        epoch == "(none)" || (!epoch.is_empty() && epoch.chars().all(|c| c.is_ascii_digit()));
    let vr_ok = matches!(vr.split_once('-'), Some((v, r)) if !v.is_empty() && !r.is_empty() && !r.contains('-'));
    let arch_ok = arch == "(none)" || arch.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    !name.is_empty() && epoch_ok && vr_ok && arch_ok
}

/// Parses `rpm -qa` output in the query format above; `file` names it in errors.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let text = super::requirements::utf8(file, bytes)?;
    let mut inventory = Inventory::default();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let err = |message: String| FormatError::parse(file, format!("line {number}"), message);
        if line.len() > 3 * MAX_VALUE_LEN {
            return Err(err(format!(
                "line is {} bytes long (the limit is {})",
                line.len(),
                3 * MAX_VALUE_LEN
            )));
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, evr, arch] = fields[..] else {
            return Err(err(format!(
                "expected `NAME EPOCH:VERSION-RELEASE ARCH`, found {} fields",
                fields.len()
            )));
        };
        let (epoch, vr) = match evr.split_once(':') {
            Some((epoch, vr)) => (epoch, vr),
            None => ("0", evr),
        };
        let epoch: u64 = match epoch {
            "(none)" => 0,
            digits => digits
                .parse()
                .map_err(|_| err(format!("epoch {digits:?} is not a number")))?,
        };
        let Some((version, release)) = vr.split_once('-') else {
            return Err(err(format!("{vr:?} is not VERSION-RELEASE")));
        };
        // rpm forbids `-` in both VERSION and RELEASE, so exactly one dash separates them.
        if version.is_empty() || release.is_empty() || release.contains('-') {
            return Err(err(format!(
                "{vr:?} is not VERSION-RELEASE (rpm allows no `-` inside either)"
            )));
        }
        if name == "gpg-pubkey" {
            inventory.notes.push(InventoryNote {
                location: format!("line {number}"),
                message: format!(
                    "skipped: gpg-pubkey {version}-{release} is an rpm signing key, not software"
                ),
            });
            continue;
        }
        let arch = (arch != "(none)").then_some(arch);
        inventory
            .packages
            .push(rpm_package(name, epoch, version, release, arch, None));
    }
    Ok(inventory)
}

/// The version as AlmaLinux and Red Hat advisories write it: `[EPOCH:]VERSION-RELEASE`, no `0:` epoch.
pub(crate) fn evr(epoch: u64, version: &str, release: &str) -> String {
    if epoch == 0 {
        format!("{version}-{release}")
    } else {
        format!("{epoch}:{version}-{release}")
    }
}

/// Builds an RPM package as `rpm -qa` and osquery's `rpm_packages` describe it.
///
/// `source_rpm` is the source RPM file name when known (`openssl-3.0.7-27.el9.src.rpm`); it only goes into the
/// purl, because Red Hat-family advisories name binary packages.
pub(crate) fn rpm_package(
    name: &str,
    epoch: u64,
    version: &str,
    release: &str,
    arch: Option<&str>,
    source_rpm: Option<&str>,
) -> InstalledPackage {
    let full = evr(epoch, version, release);
    let mut package =
        InstalledPackage::new(EcosystemRelease::new(Ecosystem::RedHat, None), name, &full);
    package.purl = rpm_purl(
        name,
        epoch,
        &format!("{version}-{release}"),
        arch,
        source_rpm,
    );
    package
}

/// `pkg:rpm/redhat/NAME@VERSION-RELEASE?arch=ARCH&epoch=N&upstream=SRPM`, the form Red Hat's SBOMs use.
fn rpm_purl(
    name: &str,
    epoch: u64,
    vr: &str,
    arch: Option<&str>,
    source_rpm: Option<&str>,
) -> Option<String> {
    let mut purl = PackageUrl::new("rpm", name).ok()?;
    purl.with_namespace("redhat").with_version(vr);
    if let Some(arch) = arch.filter(|a| !a.is_empty()) {
        purl.add_qualifier("arch", arch).ok()?;
    }
    if epoch != 0 {
        purl.add_qualifier("epoch", epoch.to_string()).ok()?;
    }
    if let Some(source) = source_rpm.filter(|s| !s.is_empty()) {
        purl.add_qualifier("upstream", source).ok()?;
    }
    Some(purl.to_string())
}
