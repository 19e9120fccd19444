//! dpkg's `/var/lib/dpkg/status`: the Debian/Ubuntu packages installed on a machine, with their source packages.
//!
//! The file is a list of RFC 822-style stanzas separated by blank lines; a line that starts with a space or a
//! tab continues the field above it. A stanza is reported when its `Status` says the package's current state
//! is `installed` (`install ok installed`, `hold ok installed`, and also `deinstall ok installed`, whose files
//! stay on disk until it is actually removed). Packages that are gone (`not-installed`, `config-files`) are
//! skipped silently; packages caught half-way (`unpacked`, `half-configured`, `triggers-pending` …) are skipped
//! with a note. A stanza without `Status` (distroless images keep one file per package in `status.d/`) counts
//! as installed.
//!
//! Debian advisories name source packages, so `Source: src` and `Source: src (version)` become
//! [`InstalledPackage::source_name`] and [`InstalledPackage::source_version`]. The ecosystem is `Debian` with
//! no release: the device's operating system decides the release (and whether it is really Ubuntu) later.

use bulwark_core::{Ecosystem, EcosystemRelease, InstalledPackage, Inventory, InventoryNote};
use packageurl::PackageUrl;

use crate::FormatError;

/// The longest package name, version, architecture or source accepted; longer values are hostile input.
const MAX_VALUE_LEN: usize = 4096;

/// How much of the file [`detect`] looks at.
const DETECT_WINDOW: usize = 64 * 1024;

/// True when the first stanza of `bytes` has both a `Package` and a `Status` field and every other line of it
/// is a `Field: value` line or a continuation.
pub fn detect(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(DETECT_WINDOW)];
    let (mut package, mut status, mut in_stanza) = (false, false, false);
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            if in_stanza {
                break;
            }
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if !in_stanza {
                return false;
            }
            continue;
        }
        in_stanza = true;
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let field = &line[..colon];
        if field.is_empty()
            || !field
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return false;
        }
        package |= field.eq_ignore_ascii_case(b"Package");
        status |= field.eq_ignore_ascii_case(b"Status");
    }
    package && status
}

/// Parses a dpkg status file; `file` names it in errors.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let mut inventory = Inventory::default();
    let mut stanza = Stanza::default();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            stanza.finish(file, &mut inventory)?;
            continue;
        }
        if raw[0] == b' ' || raw[0] == b'\t' {
            if stanza.start == 0 {
                return Err(FormatError::parse(
                    file,
                    format!("line {number}"),
                    "continuation line outside a stanza (a line starting with a space must follow a field)",
                ));
            }
            continue;
        }
        // Descriptions of very old packages may not be UTF-8; the fields read here are ASCII by Debian policy
        // and are checked below, so a lossy decoding of the line is safe.
        let line = String::from_utf8_lossy(raw);
        let Some((field, value)) = line.split_once(':') else {
            return Err(FormatError::parse(
                file,
                format!("line {number}"),
                format!("expected `Field: value`, found {:?}", shorten(&line)),
            ));
        };
        if stanza.start == 0 {
            stanza.start = number;
        }
        let value = value.trim();
        let slot = match field.to_ascii_lowercase().as_str() {
            "package" => &mut stanza.package,
            "version" => &mut stanza.version,
            "architecture" => &mut stanza.arch,
            "source" => &mut stanza.source,
            "status" => &mut stanza.status,
            _ => continue,
        };
        if slot.is_some() {
            return Err(FormatError::parse(
                file,
                format!("line {number}"),
                format!(
                    "second {field} field in the stanza that starts on line {}",
                    stanza.start
                ),
            ));
        }
        check_value(file, number, field, value)?;
        *slot = Some((value.to_string(), number));
    }
    // A file that does not end with a blank line still ends its last stanza.
    stanza.finish(file, &mut inventory)?;
    Ok(inventory)
}

/// The fields of one stanza that matter, each with the line it was on.
#[derive(Default)]
struct Stanza {
    start: usize,
    package: Option<(String, usize)>,
    version: Option<(String, usize)>,
    arch: Option<(String, usize)>,
    source: Option<(String, usize)>,
    status: Option<(String, usize)>,
}

impl Stanza {
    /// Turns the stanza into a package (or a note), then clears it for the next one.
    fn finish(&mut self, file: &str, inventory: &mut Inventory) -> Result<(), FormatError> {
        let stanza = std::mem::take(self);
        if stanza.start == 0 {
            return Ok(());
        }
        let Some((name, name_line)) = stanza.package else {
            return Err(FormatError::parse(
                file,
                format!("line {}", stanza.start),
                "stanza has no Package field",
            ));
        };
        check_name(file, name_line, &name)?;
        if let Some((status, line)) = &stanza.status {
            let words: Vec<&str> = status.split_whitespace().collect();
            let [_want, _flag, state] = words[..] else {
                return Err(FormatError::parse(
                    file,
                    format!("line {line}"),
                    format!("Status must be three words (want, flag, state), found {status:?}"),
                ));
            };
            match state {
                "installed" => {}
                "not-installed" | "config-files" => return Ok(()),
                "half-installed" | "unpacked" | "half-configured" | "triggers-awaited"
                | "triggers-pending" => {
                    inventory.notes.push(InventoryNote {
                        location: format!("line {line}"),
                        message: format!(
                            "not assessed: {name} is not fully installed (Status: {status})"
                        ),
                    });
                    return Ok(());
                }
                _ => {
                    return Err(FormatError::parse(
                        file,
                        format!("line {line}"),
                        format!("Status {status:?} does not end with a dpkg package state"),
                    ));
                }
            }
        }
        let Some((version, version_line)) = stanza.version else {
            return Err(FormatError::parse(
                file,
                format!("line {}", stanza.start),
                format!("installed package {name} has no Version field"),
            ));
        };
        if version.is_empty() || version.contains(|c: char| c.is_whitespace() || c == '\u{FFFD}') {
            return Err(FormatError::parse(
                file,
                format!("line {version_line}"),
                format!("{:?} is not a Debian version", shorten(&version)),
            ));
        }
        let source = match &stanza.source {
            Some((source, line)) => Some(split_source(source).map_err(|message| {
                FormatError::parse(
                    file,
                    format!("line {line}"),
                    format!("Source {source:?}: {message}"),
                )
            })?),
            None => None,
        };
        let arch = stanza.arch.as_ref().map(|(a, _)| a.as_str());
        inventory
            .packages
            .push(deb_package(&name, &version, arch, source));
        Ok(())
    }
}

/// Splits a `Source` value, `src` or `src (version)`; the error says what is wrong with it.
pub(crate) fn split_source(value: &str) -> Result<(&str, Option<&str>), &'static str> {
    let (name, version) = match value.split_once('(') {
        None => (value.trim(), None),
        Some((name, rest)) => {
            let Some(version) = rest.trim().strip_suffix(')') else {
                return Err("the version in parentheses is not closed");
            };
            let version = version.trim();
            if version.is_empty() || version.contains(char::is_whitespace) {
                return Err("the version in parentheses is empty or has spaces");
            }
            (name.trim(), Some(version))
        }
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err("the source package name is empty or has spaces");
    }
    Ok((name, version))
}

/// Builds a Debian package as the dpkg status file and osquery's `deb_packages` describe it.
///
/// `source` is the source package and, when it differs from the binary's, its version.
pub(crate) fn deb_package(
    name: &str,
    version: &str,
    arch: Option<&str>,
    source: Option<(&str, Option<&str>)>,
) -> InstalledPackage {
    let mut package = InstalledPackage::new(
        EcosystemRelease::new(Ecosystem::Debian, None),
        name,
        version,
    );
    if let Some((source_name, source_version)) = source {
        package.source_name = Some(source_name.to_string());
        package.source_version = source_version.filter(|v| *v != version).map(str::to_string);
    }
    package.purl = deb_purl(&package, arch);
    package
}

/// `pkg:deb/debian/NAME@VERSION?arch=ARCH&upstream=SRC[@SRCVERSION]`, the form syft and Trivy write.
fn deb_purl(package: &InstalledPackage, arch: Option<&str>) -> Option<String> {
    let mut purl = PackageUrl::new("deb", package.name.as_str()).ok()?;
    purl.with_namespace("debian")
        .with_version(package.version.as_str());
    if let Some(arch) = arch.filter(|a| !a.is_empty()) {
        purl.add_qualifier("arch", arch).ok()?;
    }
    if let Some(source) = &package.source_name
        && *source != package.name
    {
        let upstream = match &package.source_version {
            Some(v) => format!("{source}@{v}"),
            None => source.clone(),
        };
        purl.add_qualifier("upstream", upstream).ok()?;
    }
    Some(purl.to_string())
}

/// Rejects values that no dpkg database holds: control characters and hostile lengths.
fn check_value(file: &str, line: usize, field: &str, value: &str) -> Result<(), FormatError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(FormatError::parse(
            file,
            format!("line {line}"),
            format!(
                "{field} is {} bytes long (the limit is {MAX_VALUE_LEN})",
                value.len()
            ),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FormatError::parse(
            file,
            format!("line {line}"),
            format!("{field} contains control characters"),
        ));
    }
    Ok(())
}

/// Package names are letters, digits, `+`, `-`, `.` and `_`: what dpkg itself accepts (Debian Policy §5.6.1
/// is stricter, but dpkg installs third-party packages that break it).
fn check_name(file: &str, line: usize, name: &str) -> Result<(), FormatError> {
    let valid = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_'));
    if valid {
        Ok(())
    } else {
        Err(FormatError::parse(
            file,
            format!("line {line}"),
            format!("{:?} is not a valid Debian package name", shorten(name)),
        ))
    }
}

/// The first 80 characters of `text`, for error messages about hostile input.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(80).collect();
        short.push('…');
        short
    }
}
