//! Device inventories: detect the format of a file from its content and parse it into an [`Inventory`].
//!
//! Each format lives in its own file with a `parse(file, bytes)` function; this module only names the
//! formats, detects them and dispatches.

use bulwark_core::Inventory;

use crate::FormatError;

pub mod apk;
pub mod cargo_lock;
pub mod cyclonedx;
pub mod dpkg;
pub mod gomod;
pub mod npm_lock;
pub mod npm_package;
pub mod osquery;
pub mod purl;
pub mod python_metadata;
pub mod requirements;
pub mod rpm;
pub mod spdx;

/// The largest inventory file accepted (hostile sizes are refused before parsing).
pub const MAX_INVENTORY_BYTES: u64 = 256 * 1024 * 1024;

/// Every inventory format Bulwark reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InventoryFormat {
    /// CycloneDX JSON 1.2–1.6.
    CycloneDxJson,
    /// CycloneDX XML 1.2–1.6.
    CycloneDxXml,
    /// SPDX 2.2/2.3 JSON.
    SpdxJson,
    /// SPDX 2.x tag-value.
    SpdxTagValue,
    /// SPDX 3.0 JSON-LD.
    Spdx3,
    /// dpkg `/var/lib/dpkg/status`.
    DpkgStatus,
    /// `rpm -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}\n'` output.
    RpmQa,
    /// Alpine `/lib/apk/db/installed`.
    ApkInstalled,
    /// Cargo.lock v1–v4.
    CargoLock,
    /// npm package-lock.json v1–v3.
    PackageLock,
    /// pip requirements.txt (pinned with `==`).
    Requirements,
    /// Go go.mod.
    GoMod,
    /// Go go.sum.
    GoSum,
    /// osquery JSON results of deb_packages, rpm_packages, python_packages, npm_packages.
    Osquery,
    /// One installed Python distribution's `*.dist-info/METADATA` or `*.egg-info/PKG-INFO`.
    PythonMetadata,
    /// One installed npm package's `node_modules/<name>/package.json` (never detected: named only).
    NpmPackageJson,
}

/// Every format, in the order detection tries them.
pub const ALL_FORMATS: [InventoryFormat; 16] = [
    InventoryFormat::CycloneDxJson,
    InventoryFormat::CycloneDxXml,
    InventoryFormat::SpdxJson,
    InventoryFormat::Spdx3,
    InventoryFormat::SpdxTagValue,
    InventoryFormat::PackageLock,
    InventoryFormat::Osquery,
    InventoryFormat::CargoLock,
    InventoryFormat::DpkgStatus,
    InventoryFormat::ApkInstalled,
    InventoryFormat::RpmQa,
    InventoryFormat::GoSum,
    InventoryFormat::GoMod,
    InventoryFormat::PythonMetadata,
    InventoryFormat::Requirements,
    InventoryFormat::NpmPackageJson,
];

impl InventoryFormat {
    /// The format's name, as `--format` takes it and as [`Inventory::format`] reports it.
    pub fn name(self) -> &'static str {
        match self {
            InventoryFormat::CycloneDxJson => "cyclonedx-json",
            InventoryFormat::CycloneDxXml => "cyclonedx-xml",
            InventoryFormat::SpdxJson => "spdx-json",
            InventoryFormat::SpdxTagValue => "spdx-tag-value",
            InventoryFormat::Spdx3 => "spdx3-jsonld",
            InventoryFormat::DpkgStatus => "dpkg-status",
            InventoryFormat::RpmQa => "rpm-qa",
            InventoryFormat::ApkInstalled => "apk-installed",
            InventoryFormat::CargoLock => "cargo-lock",
            InventoryFormat::PackageLock => "package-lock",
            InventoryFormat::Requirements => "requirements",
            InventoryFormat::GoMod => "go-mod",
            InventoryFormat::GoSum => "go-sum",
            InventoryFormat::Osquery => "osquery-json",
            InventoryFormat::PythonMetadata => "python-metadata",
            InventoryFormat::NpmPackageJson => "npm-package-json",
        }
    }

    /// Parses a format name given to `--format`.
    pub fn from_name(name: &str) -> Option<InventoryFormat> {
        ALL_FORMATS.into_iter().find(|f| f.name() == name)
    }

    /// True when `bytes` look like this format (a cheap check on the content, never on the file name).
    pub fn detect(self, bytes: &[u8]) -> bool {
        match self {
            InventoryFormat::CycloneDxJson => cyclonedx::detect_json(bytes),
            InventoryFormat::CycloneDxXml => cyclonedx::detect_xml(bytes),
            InventoryFormat::SpdxJson => spdx::detect_json(bytes),
            InventoryFormat::SpdxTagValue => spdx::detect_tag_value(bytes),
            InventoryFormat::Spdx3 => spdx::detect_spdx3(bytes),
            InventoryFormat::DpkgStatus => dpkg::detect(bytes),
            InventoryFormat::RpmQa => rpm::detect(bytes),
            InventoryFormat::ApkInstalled => apk::detect(bytes),
            InventoryFormat::CargoLock => cargo_lock::detect(bytes),
            InventoryFormat::PackageLock => npm_lock::detect(bytes),
            InventoryFormat::Requirements => requirements::detect(bytes),
            InventoryFormat::GoMod => gomod::detect_mod(bytes),
            InventoryFormat::GoSum => gomod::detect_sum(bytes),
            InventoryFormat::Osquery => osquery::detect(bytes),
            InventoryFormat::PythonMetadata => python_metadata::detect(bytes),
            InventoryFormat::NpmPackageJson => npm_package::detect(bytes),
        }
    }

    /// Parses `bytes` as this format; `file` names the input in errors.
    pub fn parse(self, file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
        check_size(file, bytes)?;
        let mut inventory = match self {
            InventoryFormat::CycloneDxJson => cyclonedx::parse_json(file, bytes),
            InventoryFormat::CycloneDxXml => cyclonedx::parse_xml(file, bytes),
            InventoryFormat::SpdxJson => spdx::parse_json(file, bytes),
            InventoryFormat::SpdxTagValue => spdx::parse_tag_value(file, bytes),
            InventoryFormat::Spdx3 => spdx::parse_spdx3(file, bytes),
            InventoryFormat::DpkgStatus => dpkg::parse(file, bytes),
            InventoryFormat::RpmQa => rpm::parse(file, bytes),
            InventoryFormat::ApkInstalled => apk::parse(file, bytes),
            InventoryFormat::CargoLock => cargo_lock::parse(file, bytes),
            InventoryFormat::PackageLock => npm_lock::parse(file, bytes),
            InventoryFormat::Requirements => requirements::parse(file, bytes),
            InventoryFormat::GoMod => gomod::parse_mod(file, bytes),
            InventoryFormat::GoSum => gomod::parse_sum(file, bytes),
            InventoryFormat::Osquery => osquery::parse(file, bytes),
            InventoryFormat::PythonMetadata => python_metadata::parse(file, bytes),
            InventoryFormat::NpmPackageJson => npm_package::parse(file, bytes),
        }?;
        inventory.format = self.name().to_string();
        dedup(&mut inventory);
        Ok(inventory)
    }
}

/// Detects the format from the content (the first format whose check accepts it).
pub fn detect(bytes: &[u8]) -> Option<InventoryFormat> {
    ALL_FORMATS.into_iter().find(|f| f.detect(bytes))
}

/// Detects the format and parses; `file` names the input in errors.
pub fn parse_auto(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    check_size(file, bytes)?;
    match detect(bytes) {
        Some(format) => format.parse(file, bytes),
        None => Err(FormatError::UnknownFormat {
            file: file.to_string(),
            message: format!(
                "not any inventory format Bulwark reads ({}); name the format to force one",
                ALL_FORMATS.map(InventoryFormat::name).join(", ")
            ),
        }),
    }
}

fn check_size(file: &str, bytes: &[u8]) -> Result<(), FormatError> {
    let size = bytes.len() as u64;
    if size > MAX_INVENTORY_BYTES {
        return Err(FormatError::TooLarge {
            file: file.to_string(),
            size,
            limit: MAX_INVENTORY_BYTES,
        });
    }
    Ok(())
}

/// Removes exact duplicate packages, keeping the first occurrence (file order).
fn dedup(inventory: &mut Inventory) {
    let mut seen = std::collections::HashSet::new();
    inventory.packages.retain(|p| seen.insert(p.clone()));
}
