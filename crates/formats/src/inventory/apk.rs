//! Alpine's `/lib/apk/db/installed`: the APKs installed on an Alpine machine or image.
//!
//! The database is a list of blank-line separated records of `K:value` lines with one-letter keys: `P` the
//! package name, `V` its version, `A` the architecture, `o` the origin (the aport that built it, which Alpine's
//! secdb names), plus files, checksums and dependencies that do not matter here. The ecosystem is `Alpine` with
//! no release: the device's `/etc/alpine-release` decides it later.

use bulwark_core::{Ecosystem, EcosystemRelease, InstalledPackage, Inventory};
use packageurl::PackageUrl;

use crate::FormatError;

/// The longest name, version, architecture or origin accepted; longer values are hostile input.
const MAX_VALUE_LEN: usize = 4096;

/// True when the first record is made of `K:value` lines and names a package (`P:`) and a version (`V:`).
pub fn detect(bytes: &[u8]) -> bool {
    let (mut name, mut version, mut in_record) = (false, false, false);
    for line in super::requirements::head(bytes).lines() {
        if line.trim().is_empty() {
            if in_record {
                break;
            }
            continue;
        }
        in_record = true;
        let Some((key, _)) = split_line(line) else {
            return false;
        };
        name |= key == 'P';
        version |= key == 'V';
    }
    name && version
}

/// Parses an apk installed database; `file` names it in errors.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let mut inventory = Inventory::default();
    let mut record = Record::default();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        // File names (`F:`, `R:`) are bytes on disk and may be anything; the fields read here are checked below.
        let line = String::from_utf8_lossy(raw);
        if line.trim().is_empty() {
            record.finish(file, &mut inventory)?;
            continue;
        }
        let Some((key, value)) = split_line(&line) else {
            return Err(FormatError::parse(
                file,
                format!("line {number}"),
                "expected a `K:value` line with a one-letter key",
            ));
        };
        if record.start == 0 {
            record.start = number;
        }
        let slot = match key {
            'P' => &mut record.name,
            'V' => &mut record.version,
            'A' => &mut record.arch,
            'o' => &mut record.origin,
            _ => continue,
        };
        if value.len() > MAX_VALUE_LEN {
            return Err(FormatError::parse(
                file,
                format!("line {number}"),
                format!(
                    "{key}: is {} bytes long (the limit is {MAX_VALUE_LEN})",
                    value.len()
                ),
            ));
        }
        if value.is_empty()
            || value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '\u{FFFD}')
        {
            return Err(FormatError::parse(
                file,
                format!("line {number}"),
                format!("{key}: must be a non-empty word without spaces"),
            ));
        }
        if slot.is_some() {
            return Err(FormatError::parse(
                file,
                format!("line {number}"),
                format!(
                    "second {key}: line in the record that starts on line {}",
                    record.start
                ),
            ));
        }
        *slot = Some(value.to_string());
    }
    record.finish(file, &mut inventory)?;
    Ok(inventory)
}

/// Splits `K:value`; `None` when the line does not have that shape.
fn split_line(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let key = chars.next()?;
    (key.is_ascii_alphabetic() && chars.next() == Some(':')).then(|| (key, line[2..].trim()))
}

/// The fields of one record that matter.
#[derive(Default)]
struct Record {
    start: usize,
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    origin: Option<String>,
}

impl Record {
    fn finish(&mut self, file: &str, inventory: &mut Inventory) -> Result<(), FormatError> {
        let record = std::mem::take(self);
        if record.start == 0 {
            return Ok(());
        }
        let (Some(name), Some(version)) = (record.name, record.version) else {
            return Err(FormatError::parse(
                file,
                format!("line {}", record.start),
                "record has no P: (name) or no V: (version) line",
            ));
        };
        let mut package = InstalledPackage::new(
            EcosystemRelease::new(Ecosystem::Alpine, None),
            &name,
            &version,
        );
        package.source_name = record.origin;
        package.purl = PackageUrl::new("apk", name.as_str())
            .ok()
            .and_then(|mut purl| {
                purl.with_namespace("alpine").with_version(version.as_str());
                if let Some(arch) = &record.arch {
                    purl.add_qualifier("arch", arch.as_str()).ok()?;
                }
                if let Some(origin) = package
                    .source_name
                    .as_ref()
                    .filter(|origin| **origin != name)
                {
                    purl.add_qualifier("upstream", origin.as_str()).ok()?;
                }
                Some(purl.to_string())
            });
        inventory.packages.push(package);
        Ok(())
    }
}
