//! Alpine's security database (secdb): which apk release of a package fixes which CVEs, per Alpine release.
//!
//! Two shapes are read. The secdb proper (`v3.10/main.yaml`, `v3.18/main.json` on secdb.alpinelinux.org):
//! `distroversion`, `reponame` and `packages: [{pkg: {name, secfixes}}]`. The per-package files of
//! aquasecurity's vuln-list mirror (`3.18/main/openssl.json`): `name`, `secfixes` and the same header
//! fields. `secfixes` maps an apk version to the identifiers it fixes: `"3.1.0-r1": ["CVE-2023-0464"]`.
//!
//! Mapping decisions:
//! - One advisory per (release, package, vulnerability), id `ALPINE-3.18-openssl-CVE-2023-0464`, with the
//!   CVE as its alias so that it joins every other source's record of that CVE. Affected: ecosystem
//!   `Alpine:3.18`, the package name as the secdb gives it (the origin, i.e. source, package: Bulwark
//!   matches Alpine packages by origin), one `ECOSYSTEM` range `introduced: 0, fixed: <secfix version>`.
//! - Version `"0"` means the CVE does not apply to the package in this release: Alpine's maintainers
//!   attribute a CVE they reject for their package to version 0 (the security team's own description,
//!   before rejections got their own database), and vuln-list marks such entries NOT_AFFECTED. Such entries
//!   produce no record; they are counted in [`Converted::skipped`]. A CVE listed under `"0"` and under a
//!   real version is taken as fixed in that version.
//! - A CVE listed under several versions (backports recorded on the branch it came from, such as
//!   wireshark's `2.2.10-r0` and `2.4.2-r0`) is fixed in the highest of them in apk order: the newest
//!   fix is the one the release's own package line needs.
//! - An entry is whitespace-separated identifiers: `CVE-2017-8903 XSA-213`. The first CVE id is the
//!   vulnerability. Typos are read as meant: `CVE_2019-2426` and `CVE 2018-16859` as `CVE-…`, and text
//!   after the number (`CVE-2017-17434-1`, `CVE-2017-8073.patch`) is dropped. Other ids (`XSA-213`,
//!   `TALOS-2017-0499`, `ALPINE-13661`) go to `related` — not to `aliases`, where one Xen advisory
//!   covering three CVEs would merge them into one vulnerability — or, with no CVE, the first of them
//!   is the vulnerability. Placeholders such as `CVE-????-?????` are ignored; an entry with nothing
//!   usable is counted as skipped.
//! - Versions are kept as written; one apk cannot parse (a typo such as `4.8.0.-r1`) leaves its range out
//!   when the index is built, which reports it, as for OSV records.
//! - The secdb has no dates: `modified` is [`super::UNDATED`].

use std::collections::BTreeMap;

use bulwark_core::{
    Advisory, Affected, Ecosystem, EcosystemRelease, Event, Range, RangeKind, Version,
    VersionScheme,
};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::{Converted, UNDATED, contains, read_document};
use crate::error::FormatError;

/// True when `bytes` look like a secdb document: they name a `distroversion` and carry `secfixes` or the
/// `apkurl` template (a secdb with no package, such as v3.3's community.yaml, has only the latter).
pub fn detect(bytes: &[u8]) -> bool {
    contains(bytes, b"distroversion")
        && (contains(bytes, b"secfixes") || contains(bytes, b"apkurl"))
}

/// Converts one secdb document (either shape) into advisories.
pub fn convert(file: &str, bytes: &[u8]) -> Result<Converted, FormatError> {
    let raw: RawSecdb = read_document(file, bytes)?;
    let release_text = raw.distroversion.trim();
    if release_text.is_empty() {
        return Err(FormatError::parse(
            file,
            "$.distroversion",
            "the Alpine release is empty",
        ));
    }
    if release_text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(FormatError::parse(
            file,
            "$.distroversion",
            format!(
                "`{}` is not an Alpine release",
                super::shorten(release_text)
            ),
        ));
    }
    let ecosystem = EcosystemRelease::new(Ecosystem::Alpine, Some(release_text));
    let release = ecosystem.release.clone().unwrap_or_default();
    let repo = raw.reponame.as_deref().map(str::trim).unwrap_or("");

    let mut packages: Vec<(String, RawPackage)> = Vec::new();
    match (raw.packages, raw.name) {
        (Some(list), None) => {
            for (i, entry) in list.into_iter().flatten().enumerate() {
                if let Some(entry) = entry {
                    packages.push((format!("$.packages[{i}].pkg"), entry.pkg));
                }
            }
        }
        (None, Some(name)) => packages.push((
            "$".to_string(),
            RawPackage {
                name,
                secfixes: raw.secfixes,
            },
        )),
        (None, None) => {
            return Err(FormatError::parse(
                file,
                "$",
                "neither `packages` (a secdb) nor `name` (one package) is present",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(FormatError::parse(
                file,
                "$",
                "both `packages` (a secdb) and `name` (one package) are present",
            ));
        }
    }

    let mut out = Converted::default();
    for (at, package) in packages {
        let name = package.name.trim();
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FormatError::parse(
                file,
                format!("{at}.name"),
                format!("`{}` is not a package name", super::shorten(name)),
            ));
        }
        convert_package(&mut out, &ecosystem, &release, repo, name, package.secfixes);
    }
    Ok(out)
}

/// What one identifier is fixed by: the versions it is listed under, and whether it is listed under "0".
#[derive(Default)]
struct Fixes {
    versions: Vec<String>,
    not_affected: bool,
    related: Vec<String>,
}

fn convert_package(
    out: &mut Converted,
    ecosystem: &EcosystemRelease,
    release: &str,
    repo: &str,
    name: &str,
    secfixes: Option<Pairs>,
) {
    // Keyed by the vulnerability id, in id order so that output does not depend on map order.
    let mut by_id: BTreeMap<String, Fixes> = BTreeMap::new();
    for (version, entries) in secfixes.map(|p| p.0).unwrap_or_default() {
        let version = version.trim().to_string();
        for entry in entries.into_iter().flatten().flatten() {
            let Some((id, related)) = identifiers(&entry) else {
                out.skip("Alpine secfix entry without a vulnerability id");
                continue;
            };
            let fixes = by_id.entry(id).or_default();
            for r in related {
                if !fixes.related.contains(&r) {
                    fixes.related.push(r);
                }
            }
            if version == "0" {
                fixes.not_affected = true;
            } else if !fixes.versions.contains(&version) {
                fixes.versions.push(version.clone());
            }
        }
    }
    for (id, fixes) in by_id {
        let Some(fixed) = newest(&fixes.versions) else {
            if fixes.not_affected {
                out.skip("Alpine secfix \"0\" (not affected in this release)");
            }
            continue;
        };
        let summary = if repo.is_empty() {
            format!("{id} in {name}, fixed in {fixed} (Alpine v{release})")
        } else {
            format!("{id} in {name}, fixed in {fixed} (Alpine v{release} {repo})")
        };
        let references = if id.starts_with("CVE-") {
            vec![format!("https://security.alpinelinux.org/vuln/{id}")]
        } else {
            Vec::new()
        };
        out.advisories.push(Advisory {
            id: format!("ALPINE-{release}-{name}-{id}"),
            aliases: vec![id],
            related: fixes.related,
            modified: UNDATED.to_string(),
            published: None,
            withdrawn: None,
            summary: Some(summary),
            details: None,
            severity: None,
            affected: vec![Affected {
                ecosystem: ecosystem.clone(),
                name: name.to_string(),
                purl: None,
                ranges: vec![Range {
                    kind: RangeKind::Ecosystem,
                    repo: None,
                    events: vec![Event::Introduced("0".to_string()), Event::Fixed(fixed)],
                }],
                versions: Vec::new(),
                informational: None,
            }],
            informational: None,
            references,
        });
    }
}

/// The highest version in apk order; versions apk cannot parse count only when none can be parsed.
fn newest(versions: &[String]) -> Option<String> {
    let mut best: Option<(Version, &String)> = None;
    for text in versions {
        if let Ok(v) = Version::parse(VersionScheme::Apk, text)
            && best.as_ref().is_none_or(|(b, _)| v > *b)
        {
            best = Some((v, text));
        }
    }
    match best {
        Some((_, text)) => Some(text.clone()),
        None => versions.first().cloned(),
    }
}

/// The vulnerability an entry names and the other ids it gives, or `None` when it names none.
fn identifiers(entry: &str) -> Option<(String, Vec<String>)> {
    let mut cve = None;
    let mut others = Vec::new();
    let tokens: Vec<&str> = entry.split_whitespace().collect();
    for (i, token) in tokens.iter().enumerate() {
        let joined;
        let token = if token.eq_ignore_ascii_case("cve") {
            // `CVE 2018-16859`: the dash typed as a space.
            match tokens.get(i + 1) {
                Some(next) => {
                    joined = format!("CVE-{next}");
                    joined.as_str()
                }
                None => continue,
            }
        } else {
            token
        };
        if let Some(id) = cve_prefix(token) {
            if cve.is_none() {
                cve = Some(id);
            } else if cve.as_ref() != Some(&id) && !others.contains(&id) {
                others.push(id);
            }
        } else if is_other_id(token) && !others.iter().any(|o| o == token) {
            others.push(token.to_string());
        }
    }
    match cve {
        Some(id) => Some((id, others)),
        None if !others.is_empty() => {
            let id = others.remove(0);
            Some((id, others))
        }
        None => None,
    }
}

/// `CVE-2017-17434` from `CVE-2017-17434-1`, `cve_2019-2426` or `CVE-2017-8073.patch`.
fn cve_prefix(token: &str) -> Option<String> {
    let prefix = token.get(..4)?;
    if !prefix.eq_ignore_ascii_case("cve-") && !prefix.eq_ignore_ascii_case("cve_") {
        return None;
    }
    let rest = &token[4..];
    let year: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if year.len() != 4 {
        return None;
    }
    let rest = rest[4..].strip_prefix('-')?;
    let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if number.len() < 4 {
        return None;
    }
    Some(format!("CVE-{year}-{number}"))
}

/// An advisory id of another namespace: letters, a dash, then letters, digits, dots and dashes.
fn is_other_id(token: &str) -> bool {
    let Some((namespace, rest)) = token.split_once('-') else {
        return false;
    };
    !namespace.is_empty()
        && namespace.chars().all(|c| c.is_ascii_alphabetic())
        && !namespace.eq_ignore_ascii_case("cve")
        && rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

#[derive(Deserialize)]
struct RawSecdb {
    distroversion: String,
    #[serde(default)]
    reponame: Option<String>,
    /// The secdb shape: absent, `null` (a secdb with no package, as v3.3's community.yaml) or a list.
    #[serde(default, deserialize_with = "present")]
    packages: Option<Option<Vec<Option<RawPackageEntry>>>>,
    /// The one-package shape.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    secfixes: Option<Pairs>,
}

/// Tells a key given as `null` (`Some(None)`) from an absent one (`None`, through `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
struct RawPackageEntry {
    pkg: RawPackage,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    #[serde(default)]
    secfixes: Option<Pairs>,
}

/// `secfixes` as (version, entries) pairs in document order, keeping a version that a YAML mapping repeats
/// (a map would silently keep only the last list). Keys may be unquoted YAML numbers (`0:`); their text
/// is kept as written.
struct Pairs(Vec<(String, Option<Vec<Option<String>>>)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pairs, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map from versions to lists of vulnerability ids")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                // YAML hands a plain scalar's text (`0`, `1.10`) to a string visitor, as written.
                while let Some(key) = map.next_key::<String>()? {
                    pairs.push((key, map.next_value()?));
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_their_vulnerability() {
        let check = |entry: &str, expected: Option<(&str, &[&str])>| {
            let got = identifiers(entry);
            let expected = expected
                .map(|(id, rel)| (id.to_string(), rel.iter().map(|s| s.to_string()).collect()));
            assert_eq!(got, expected, "{entry:?}");
        };
        check("CVE-2023-0464", Some(("CVE-2023-0464", &[])));
        check(" CVE-2016-6263", Some(("CVE-2016-6263", &[])));
        check(
            "CVE-2017-8903 XSA-213",
            Some(("CVE-2017-8903", &["XSA-213"])),
        );
        check(
            "CVE-2017-14450 TALOS-2017-0499",
            Some(("CVE-2017-14450", &["TALOS-2017-0499"])),
        );
        check("XSA-207", Some(("XSA-207", &[])));
        check("ALPINE-13661", Some(("ALPINE-13661", &[])));
        check("CVE-????-?????  XSA-295", Some(("XSA-295", &[])));
        check("CVE_2019-2426", Some(("CVE-2019-2426", &[])));
        check("CVE-2017-17434-1", Some(("CVE-2017-17434", &[])));
        check("CVE-2017-8073.patch", Some(("CVE-2017-8073", &[])));
        check("CVE 2018-16859", Some(("CVE-2018-16859", &[])));
        check("CVE-????-?????", None);
        check("", None);
    }

    #[test]
    fn newest_fix_in_apk_order() {
        let v = |list: &[&str]| newest(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(v(&["2.4.2-r0", "2.2.10-r0"]).as_deref(), Some("2.4.2-r0"));
        assert_eq!(
            v(&["1.2.2_pre2-r0", "1.2.2-r0"]).as_deref(),
            Some("1.2.2-r0")
        );
        assert_eq!(v(&["4.8.0.-r1"]).as_deref(), Some("4.8.0.-r1"));
        assert_eq!(v(&[]), None);
    }
}
