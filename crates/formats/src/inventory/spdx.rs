//! SPDX SBOMs: 2.2/2.3 JSON, 2.x tag-value and 3.0 JSON-LD. Each package becomes an inventory package
//! via its package URL (2.x `externalRefs` of type `purl`, 3.0 `software_packageUrl` or an
//! `externalIdentifier` of type `packageUrl`); packages without one become notes, and an
//! `OPERATING-SYSTEM` package names the OS.

use bulwark_core::Inventory;
use serde::Deserialize;

use super::purl::{
    JsonText, MAX_FIELD_BYTES, SbomCollector, SbomEntry, check_field_len, read_json, shorten,
    sniff_head, sniff_json_string, strip_utf8_bom, text,
};
use crate::FormatError;

/// True when `bytes` look like an SPDX 2.x JSON document (`"spdxVersion": "SPDX-2.…"` near the start, or,
/// for writers that sort keys, the document's `"SPDXID": "SPDXRef-DOCUMENT"`).
pub fn detect_json(bytes: &[u8]) -> bool {
    sniff_json_string(bytes, "spdxVersion").is_some_and(|v| v.starts_with("SPDX-2."))
        || (sniff_json_string(bytes, "SPDXID") == Some("SPDXRef-DOCUMENT")
            && sniff_json_string(bytes, "@context").is_none())
}

/// True when `bytes` look like SPDX 2.x tag-value: the first tag is `SPDXVersion: SPDX-…`.
pub fn detect_tag_value(bytes: &[u8]) -> bool {
    let head = sniff_head(bytes);
    let first = head
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty() && !l.starts_with(b"#"));
    first.is_some_and(|l| {
        l.strip_prefix(b"SPDXVersion:")
            .is_some_and(|v| v.trim_ascii().starts_with(b"SPDX-"))
    })
}

/// True when `bytes` look like SPDX 3 JSON-LD (an `@context` of `spdx.org/rdf/3.…` near the start).
pub fn detect_spdx3(bytes: &[u8]) -> bool {
    let head = sniff_head(bytes);
    head.first() == Some(&b'{')
        && super::purl::contains(head, b"\"@context\"")
        && super::purl::contains(head, b"spdx.org/rdf/3.")
}

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(rename = "spdxVersion", default, borrow)]
    spdx_version: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    packages: Option<Vec<Package<'a>>>,
}

#[derive(Deserialize)]
struct Package<'a> {
    #[serde(default, borrow)]
    name: Option<JsonText<'a>>,
    #[serde(rename = "versionInfo", default, borrow)]
    version_info: Option<JsonText<'a>>,
    #[serde(rename = "primaryPackagePurpose", default, borrow)]
    purpose: Option<JsonText<'a>>,
    #[serde(rename = "externalRefs", default, borrow)]
    external_refs: Option<Vec<ExternalRef<'a>>>,
}

#[derive(Deserialize)]
struct ExternalRef<'a> {
    #[serde(rename = "referenceCategory", default, borrow)]
    category: Option<JsonText<'a>>,
    #[serde(rename = "referenceType", default, borrow)]
    kind: Option<JsonText<'a>>,
    #[serde(rename = "referenceLocator", default, borrow)]
    locator: Option<JsonText<'a>>,
}

/// True for the package-manager category, spelled `PACKAGE-MANAGER` (2.3) or `PACKAGE_MANAGER` (2.2 and
/// some 2.3 writers).
fn is_package_manager(category: &str) -> bool {
    category.eq_ignore_ascii_case("PACKAGE-MANAGER")
        || category.eq_ignore_ascii_case("PACKAGE_MANAGER")
}

/// Parses an SPDX 2.2/2.3 JSON document; errors name the JSON path (`$.packages[3].externalRefs[0]`).
pub fn parse_json(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let doc: Document<'_> = read_json(file, bytes)?;
    match doc.spdx_version.as_ref().map(JsonText::as_str) {
        Some(v) if v.starts_with("SPDX-2.") => {}
        Some(other) => {
            return Err(FormatError::parse(
                file,
                "$.spdxVersion",
                format!("expected SPDX-2.x, found {:?}", shorten(other)),
            ));
        }
        None => {
            return Err(FormatError::parse(
                file,
                "$.spdxVersion",
                "missing: not an SPDX 2 document",
            ));
        }
    }
    let mut collector = SbomCollector::new();
    for (i, package) in doc.packages.iter().flatten().enumerate() {
        let path = format!("$.packages[{i}]");
        check_field_len(file, || format!("{path}.name"), text(&package.name))?;
        check_field_len(
            file,
            || format!("{path}.versionInfo"),
            text(&package.version_info),
        )?;
        let mut purls = Vec::new();
        let mut cpe = None;
        for (j, r) in package.external_refs.iter().flatten().enumerate() {
            let locator = text(&r.locator).map(str::trim);
            check_field_len(
                file,
                || format!("{path}.externalRefs[{j}].referenceLocator"),
                locator,
            )?;
            let (Some(kind), Some(locator)) = (text(&r.kind), locator) else {
                continue;
            };
            if kind == "purl" && text(&r.category).is_some_and(is_package_manager) {
                purls.push(locator);
            } else if kind == "cpe23Type" && cpe.is_none() {
                cpe = Some(locator);
            }
        }
        collector.add(SbomEntry {
            location: path,
            is_os: text(&package.purpose) == Some("OPERATING-SYSTEM"),
            name: text(&package.name),
            version: text(&package.version_info),
            purls,
            cpe,
            not_a_package: false,
        });
    }
    Ok(collector.finish())
}

#[derive(Deserialize)]
struct Spdx3Document<'a> {
    #[serde(rename = "@graph", default, borrow)]
    graph: Option<Vec<Element<'a>>>,
}

#[derive(Deserialize)]
struct Element<'a> {
    #[serde(rename = "type", alias = "@type", default, borrow)]
    kind: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    name: Option<JsonText<'a>>,
    #[serde(rename = "software_packageVersion", default, borrow)]
    version: Option<JsonText<'a>>,
    #[serde(rename = "software_packageUrl", default, borrow)]
    purl: Option<JsonText<'a>>,
    #[serde(rename = "software_primaryPurpose", default, borrow)]
    purpose: Option<JsonText<'a>>,
    #[serde(rename = "externalIdentifier", default, borrow)]
    external_identifiers: Option<Vec<ExternalIdentifier<'a>>>,
}

#[derive(Deserialize)]
struct ExternalIdentifier<'a> {
    #[serde(rename = "externalIdentifierType", default, borrow)]
    kind: Option<JsonText<'a>>,
    #[serde(default, borrow)]
    identifier: Option<JsonText<'a>>,
}

/// True for the SPDX 3 package class, compacted (`software_Package`) or as a full IRI.
fn is_spdx3_package(kind: &str) -> bool {
    kind == "software_Package" || kind.ends_with("/Software/Package")
}

/// Parses an SPDX 3.0 JSON-LD document: every `software_Package` of its `@graph`.
pub fn parse_spdx3(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let doc: Spdx3Document<'_> = read_json(file, bytes)?;
    let Some(graph) = doc.graph else {
        return Err(FormatError::parse(
            file,
            "$.@graph",
            "missing: not an SPDX 3 JSON-LD document",
        ));
    };
    let mut collector = SbomCollector::new();
    for (i, element) in graph.iter().enumerate() {
        if !text(&element.kind).is_some_and(is_spdx3_package) {
            continue;
        }
        let path = format!("$.@graph[{i}]");
        check_field_len(file, || format!("{path}.name"), text(&element.name))?;
        check_field_len(
            file,
            || format!("{path}.software_packageVersion"),
            text(&element.version),
        )?;
        check_field_len(
            file,
            || format!("{path}.software_packageUrl"),
            text(&element.purl),
        )?;
        let mut purls: Vec<&str> = text(&element.purl).map(str::trim).into_iter().collect();
        let mut cpe = None;
        for (j, id) in element.external_identifiers.iter().flatten().enumerate() {
            let identifier = text(&id.identifier).map(str::trim);
            check_field_len(
                file,
                || format!("{path}.externalIdentifier[{j}].identifier"),
                identifier,
            )?;
            let (Some(kind), Some(identifier)) = (text(&id.kind), identifier) else {
                continue;
            };
            match kind {
                "packageUrl" if !purls.contains(&identifier) => purls.push(identifier),
                "cpe23" if cpe.is_none() => cpe = Some(identifier),
                _ => {}
            }
        }
        collector.add(SbomEntry {
            location: path,
            is_os: text(&element.purpose) == Some("operatingSystem"),
            name: text(&element.name),
            version: text(&element.version),
            purls,
            cpe,
            not_a_package: false,
        });
    }
    Ok(collector.finish())
}

/// A package block of a tag-value document.
#[derive(Debug, Default)]
struct TagValuePackage {
    line: usize,
    name: String,
    version: Option<String>,
    purls: Vec<String>,
    cpe: Option<String>,
    is_os: bool,
}

/// Parses an SPDX 2.x tag-value document; errors name the line.
///
/// Values may span lines inside `<text>…</text>`. `PackageName` opens a package; `FileName`,
/// `SnippetSPDXID` and `LicenseID` close it (their tags describe files, snippets and licences).
pub fn parse_tag_value(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let error =
        |line: usize, message: String| FormatError::parse(file, format!("line {line}"), message);
    let mut lines = strip_utf8_bom(bytes)
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, raw)| {
            let text = std::str::from_utf8(raw).map_err(|e| {
                error(
                    i + 1,
                    format!(
                        "not valid UTF-8 (at byte {} of the line)",
                        e.valid_up_to() + 1
                    ),
                )
            })?;
            Ok::<_, FormatError>((i + 1, text.strip_suffix('\r').unwrap_or(text)))
        });
    let mut version_seen = false;
    let mut current: Option<TagValuePackage> = None;
    let mut packages = Vec::new();
    while let Some(next) = lines.next() {
        let (number, line) = next?;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((tag, value)) = line.split_once(':') else {
            return Err(error(
                number,
                format!("expected `Tag: value`, found {:?}", shorten(line)),
            ));
        };
        let tag = tag.trim();
        if tag.is_empty()
            || !tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(error(
                number,
                format!("expected `Tag: value`, found {:?}", shorten(line)),
            ));
        }
        let value = value.trim();
        let value = match value.strip_prefix("<text>") {
            Some(rest) => match rest.find("</text>") {
                Some(end) => rest[..end].to_string(),
                None => {
                    let mut text = rest.to_string();
                    loop {
                        let Some(next) = lines.next() else {
                            return Err(error(
                                number,
                                format!("{tag}: <text> is never closed by </text>"),
                            ));
                        };
                        let (_, continued) = next?;
                        text.push('\n');
                        if let Some(end) = continued.find("</text>") {
                            text.push_str(&continued[..end]);
                            break;
                        }
                        text.push_str(continued);
                    }
                    text
                }
            },
            None => value.to_string(),
        };
        if value.len() > MAX_FIELD_BYTES
            && matches!(tag, "PackageName" | "PackageVersion" | "ExternalRef")
        {
            return Err(error(
                number,
                format!(
                    "{tag} is {} bytes long; Bulwark reads at most {MAX_FIELD_BYTES}",
                    value.len()
                ),
            ));
        }
        match tag {
            "SPDXVersion" => {
                if !value.starts_with("SPDX-2.") {
                    return Err(error(
                        number,
                        format!("SPDXVersion {:?} is not SPDX 2.x", shorten(&value)),
                    ));
                }
                version_seen = true;
            }
            "PackageName" => {
                if !version_seen {
                    return Err(error(
                        number,
                        "PackageName before SPDXVersion: not an SPDX document".to_string(),
                    ));
                }
                packages.extend(current.take());
                current = Some(TagValuePackage {
                    line: number,
                    name: value,
                    ..TagValuePackage::default()
                });
            }
            "FileName" | "SnippetSPDXID" | "LicenseID" => packages.extend(current.take()),
            "PackageVersion" | "ExternalRef" | "PrimaryPackagePurpose" => {
                let Some(package) = current.as_mut() else {
                    return Err(error(
                        number,
                        format!("{tag} outside a package (no PackageName before it)"),
                    ));
                };
                match tag {
                    "PackageVersion" => package.version = Some(value),
                    "PrimaryPackagePurpose" => package.is_os = value == "OPERATING-SYSTEM",
                    _ => {
                        let parts: Vec<&str> = value.split_whitespace().collect();
                        let [category, kind, locator] = parts[..] else {
                            return Err(error(
                                number,
                                format!(
                                    "ExternalRef needs CATEGORY TYPE LOCATOR, found {:?}",
                                    shorten(&value)
                                ),
                            ));
                        };
                        if kind == "purl" && is_package_manager(category) {
                            package.purls.push(locator.to_string());
                        } else if kind == "cpe23Type" && package.cpe.is_none() {
                            package.cpe = Some(locator.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    packages.extend(current.take());
    if !version_seen {
        return Err(error(
            1,
            "no SPDXVersion tag: not an SPDX tag-value document".to_string(),
        ));
    }
    let mut collector = SbomCollector::new();
    for p in &packages {
        collector.add(SbomEntry {
            location: format!("line {}", p.line),
            is_os: p.is_os,
            name: Some(&p.name),
            version: p.version.as_deref(),
            purls: p.purls.iter().map(String::as_str).collect(),
            cpe: p.cpe.as_deref(),
            not_a_package: false,
        });
    }
    Ok(collector.finish())
}
