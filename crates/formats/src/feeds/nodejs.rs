//! The Node.js security WG vulnerability database: `vuln/npm/<id>.json` (third-party npm modules),
//! `vuln/core/<id>.json` (Node.js itself), `vuln/deps/<id>.json` (assessments of Node.js's bundled
//! dependencies) and an `index.json` per folder that holds every entry of the folder by id.
//!
//! Mapping decisions:
//! - An npm entry becomes one advisory, id `NSWG-ECO-<id>` (the database's own naming, README), aliases
//!   its `cves`. A version is affected when it satisfies `vulnerable_versions` and not `patched_versions`
//!   (several entries list backported fixes inside the vulnerable range: `<=6.8.5` with
//!   `>=5.0.3 <6.0.0 || >=6.8.6`). Both are node-semver ranges, read as `semver.satisfies(v, range,
//!   {loose: true, includePrerelease: true})` reads them — X-ranges, `~`, `^`, hyphen ranges, `||` — and
//!   the resulting set is written exactly as `ECOSYSTEM` ranges over npm ordering (an exclusive lower
//!   bound `> 1.2.3` starts at `1.2.4-0`, the next npm version). Prereleases are treated as the versions
//!   they are: node-semver's default of hiding prereleases from ranges is an install-time policy, not a
//!   statement that `2.0.0-beta.1` is safe. Comparators node-semver's loose mode would silently drop
//!   are errors here.
//! - Node.js core and dependency entries describe the runtime, which no inventory lists as a package:
//!   they are skipped and counted. An `index.json` converts like the files it aggregates, so reading the
//!   whole folder yields each entry twice; [`crate::osv::read_advisories`] keeps the first of equal ids.
//! - `updated_at` is `modified` (else `created_at`), `publish_date` is `published`; the CVSS vector, else
//!   the bare score, gives the severity.

use bulwark_core::cvss::severity_from_vector;
use bulwark_core::{Advisory, Affected, Ecosystem, EcosystemRelease, Version, VersionScheme};
use serde::Deserialize;
use serde_json::Value;

use super::intervals::VersionSet;
use super::{
    Converted, MAX_RANGE_BYTES, bounded_text, canonical_decimal, contains, from_value,
    increment_decimal, is_json, read_document, score_severity, shorten, timestamp,
};
use crate::error::FormatError;
use crate::osv::{MAX_DETAILS_BYTES, MAX_SUMMARY_BYTES};

const SKIP_CORE: &str = "Node.js core advisory (vuln/core)";
const SKIP_DEPS: &str = "Node.js dependency assessment (vuln/deps)";

/// True when `bytes` look like a security WG entry or index: JSON naming `module_name` and
/// `vulnerable_versions` (npm); `cve`, `vulnerable`, `patched` and `affectedEnvironments` (core); or `cve`,
/// `ref`, `reason`, `description` and `overview` (deps).
pub fn detect(bytes: &[u8]) -> bool {
    let has = |key: &[u8]| contains(bytes, key);
    is_json(bytes)
        && ((has(b"\"module_name\"") && has(b"\"vulnerable_versions\""))
            || (has(b"\"cve\"")
                && ((has(b"\"vulnerable\"")
                    && has(b"\"patched\"")
                    && has(b"\"affectedEnvironments\""))
                    || (has(b"\"reason\"")
                        && has(b"\"ref\"")
                        && has(b"\"description\"")
                        && has(b"\"overview\"")))))
}

/// Converts one entry file or index file.
pub fn convert(file: &str, bytes: &[u8]) -> Result<Converted, FormatError> {
    let value: Value = read_document(file, bytes)?;
    let mut out = Converted::default();
    match kind(&value) {
        Some(kind) => entry(&mut out, file, "$", kind, value)?,
        None => {
            let Value::Object(map) = value else {
                return Err(not_wg(file));
            };
            if map.is_empty() {
                return Err(not_wg(file));
            }
            for (key, item) in map {
                let at = format!("$.{key}");
                let Some(kind) = kind(&item) else {
                    return Err(FormatError::parse(
                        file,
                        at,
                        "not a security WG entry (no module_name, vulnerable or reason)",
                    ));
                };
                entry(&mut out, file, &at, kind, item)?;
            }
        }
    }
    Ok(out)
}

fn not_wg(file: &str) -> FormatError {
    FormatError::parse(
        file,
        "$",
        "not a Node.js security WG entry or index (no module_name, vulnerable or reason)",
    )
}

/// The kinds of entries.
#[derive(Clone, Copy)]
enum Kind {
    Npm,
    Core,
    Deps,
}

fn kind(value: &Value) -> Option<Kind> {
    let map = value.as_object()?;
    if map.contains_key("module_name") {
        Some(Kind::Npm)
    } else if map.contains_key("vulnerable") || map.contains_key("patched") {
        Some(Kind::Core)
    } else if map.contains_key("reason") && map.contains_key("cve") {
        Some(Kind::Deps)
    } else {
        None
    }
}

fn entry(
    out: &mut Converted,
    file: &str,
    at: &str,
    kind: Kind,
    value: Value,
) -> Result<(), FormatError> {
    match kind {
        Kind::Core => out.skip(SKIP_CORE),
        Kind::Deps => out.skip(SKIP_DEPS),
        Kind::Npm => {
            let raw: RawEntry = from_value(file, at, value)?;
            out.advisories.push(advisory(file, at, raw)?);
        }
    }
    Ok(())
}

fn advisory(file: &str, at: &str, raw: RawEntry) -> Result<Advisory, FormatError> {
    let id = match &raw.id {
        IdText::Number(n) => n.to_string(),
        IdText::Text(t) => t.trim().to_string(),
    };
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(FormatError::parse(
            file,
            format!("{at}.id"),
            format!("`{}` is not an advisory number", shorten(&id)),
        ));
    }
    let name = raw.module_name.trim();
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FormatError::parse(
            file,
            format!("{at}.module_name"),
            format!("`{}` is not an npm package name", shorten(name)),
        ));
    }
    let date = |field: &str, text: &Option<String>| -> Result<Option<String>, FormatError> {
        match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => timestamp(t)
                .map(Some)
                .map_err(|m| FormatError::parse(file, format!("{at}.{field}"), m)),
            None => Ok(None),
        }
    };
    let modified = date("updated_at", &raw.updated_at)?
        .or(date("created_at", &raw.created_at)?)
        .or(date("publish_date", &raw.publish_date)?)
        .ok_or_else(|| {
            FormatError::parse(
                file,
                at,
                "no updated_at, created_at or publish_date says when the entry was written",
            )
        })?;
    let vulnerable = range_set(&raw.vulnerable_versions)
        .map_err(|m| FormatError::parse(file, format!("{at}.vulnerable_versions"), m))?;
    let patched = match raw.patched_versions.as_deref() {
        Some(text) => range_set(text)
            .map_err(|m| FormatError::parse(file, format!("{at}.patched_versions"), m))?,
        None => VersionSet::empty(),
    };
    let affected_set = vulnerable.intersect(&patched.complement());
    let affected = if affected_set.is_empty() {
        Vec::new()
    } else {
        vec![Affected {
            ecosystem: EcosystemRelease::new(Ecosystem::Npm, None),
            name: name.to_string(),
            purl: None,
            ranges: affected_set.to_ranges(&successor),
            versions: Vec::new(),
            informational: None,
        }]
    };
    let severity = raw
        .cvss_vector
        .as_deref()
        .and_then(severity_from_vector)
        .or_else(|| {
            let v2 = raw
                .cvss_vector
                .as_deref()
                .is_some_and(|v| !v.trim().starts_with("CVSS:"));
            raw.cvss_score.and_then(|s| score_severity(s, v2))
        });
    let details = match (raw.overview, raw.recommendation) {
        (Some(o), Some(r)) if !r.trim().is_empty() => {
            Some(format!("{}\n\nRecommendation: {}", o.trim_end(), r.trim()))
        }
        (o, _) => o,
    };
    let mut aliases: Vec<String> = Vec::new();
    for cve in raw.cves.unwrap_or_default() {
        let cve = cve.trim().to_string();
        if !cve.is_empty() && !aliases.contains(&cve) {
            aliases.push(cve);
        }
    }
    Ok(Advisory {
        id: format!("NSWG-ECO-{id}"),
        aliases,
        related: Vec::new(),
        modified,
        published: date("publish_date", &raw.publish_date)?,
        withdrawn: None,
        summary: bounded_text(file, &format!("{at}.title"), raw.title, MAX_SUMMARY_BYTES)?,
        details: bounded_text(file, &format!("{at}.overview"), details, MAX_DETAILS_BYTES)?,
        severity,
        affected,
        informational: None,
        references: raw
            .references
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect(),
    })
}

/// The first npm version above `v` (`1.2.3` → `1.2.4-0`, `1.2.3-beta` → `1.2.3-beta.0`): the versions
/// here are the canonical `major.minor.patch[-pre]` texts this module writes.
fn successor(v: &Version) -> String {
    let text = v.as_str();
    if text.contains('-') {
        return format!("{text}.0");
    }
    match text.rsplit_once('.') {
        Some((head, patch)) => format!("{head}.{}-0", increment_decimal(patch)),
        None => format!("{text}.0.1-0"),
    }
}

/// A version as node-semver's loose X-range grammar reads it: `1`, `1.2.x`, `v1.2.3-beta.1`, `1.2.3beta`.
/// `None` components are wildcards (`x`, `X`, `*` or missing); numbers keep their digits as written.
#[derive(Debug, Clone)]
struct Partial {
    major: Option<String>,
    minor: Option<String>,
    patch: Option<String>,
    pre: Option<String>,
}

fn is_x(part: &str) -> bool {
    matches!(part, "x" | "X" | "*")
}

fn parse_partial(token: &str) -> Result<Partial, String> {
    let bad = |why: &str| format!("`{}` is not a version: {why}", shorten(token));
    // `[v=\s]*` may precede the version in loose mode.
    let text = token.trim_start_matches(['v', '=', ' ', '\t']);
    // Build metadata never takes part in comparisons.
    let (text, build) = match text.split_once('+') {
        Some((t, b)) => (t, Some(b)),
        None => (text, None),
    };
    if let Some(b) = build
        && (b.is_empty()
            || b.split('.').any(|id| {
                id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }))
    {
        return Err(bad("invalid build metadata"));
    }
    let mut parts: [Option<String>; 3] = [None, None, None];
    let mut parsed = 0;
    let mut rest = text;
    for (i, part) in parts.iter_mut().enumerate() {
        if i > 0 {
            match rest.strip_prefix('.') {
                Some(r) => rest = r,
                None => break,
            }
        }
        let len = if rest.starts_with(['x', 'X', '*']) {
            1
        } else {
            rest.bytes().take_while(u8::is_ascii_digit).count()
        };
        if len == 0 {
            return Err(bad("expected a number or x"));
        }
        let (head, tail) = rest.split_at(len);
        *part = (!is_x(head)).then(|| head.to_string());
        parsed += 1;
        rest = tail;
    }
    let [major, minor, patch] = parts;
    let mut pre = None;
    if !rest.is_empty() {
        // A prerelease only follows a full major.minor.patch; the `-` is optional in loose mode.
        if parsed < 3 {
            return Err(bad("unexpected text after the version"));
        }
        let p = rest.strip_prefix('-').unwrap_or(rest);
        if p.is_empty()
            || p.split('.').any(|id| {
                id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        {
            return Err(bad("invalid prerelease"));
        }
        let canonical: Vec<&str> = p
            .split('.')
            .map(|id| {
                if id.bytes().all(|b| b.is_ascii_digit()) {
                    canonical_decimal(id)
                } else {
                    id
                }
            })
            .collect();
        pre = Some(canonical.join("."));
    }
    let wildcard = |p: &Option<String>| p.is_none();
    // node-semver rejects `x.2.3` and `1.x.3` (invalidXRangeOrder).
    if (wildcard(&major) && !wildcard(&minor))
        || (wildcard(&minor) && patch.is_some())
        || (wildcard(&major) && patch.is_some())
    {
        return Err(bad("a number after a wildcard"));
    }
    Ok(Partial {
        major,
        minor,
        patch,
        pre,
    })
}

/// A comparator after desugaring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Gt,
    Lt,
    Le,
    Eq,
}

/// `major.minor.patch[-pre]` with canonical numbers.
fn full(major: &str, minor: &str, patch: &str, pre: Option<&str>) -> String {
    let mut text = format!(
        "{}.{}.{}",
        canonical_decimal(major),
        canonical_decimal(minor),
        canonical_decimal(patch)
    );
    if let Some(p) = pre {
        text.push('-');
        text.push_str(p);
    }
    text
}

/// The comparators one range token stands for (`None`: no version at all), as node-semver's
/// `replaceCaret`, `replaceTilde` and `replaceXRange` desugar it with `includePrerelease`.
fn desugar(op: &str, p: &Partial) -> Option<Vec<(Op, String)>> {
    let inc = |n: &str| increment_decimal(n);
    let Some(major) = p.major.as_deref() else {
        // `*`, `x`, `^*`, `~*` match everything; `>*` and `<*` nothing.
        return if matches!(op, ">" | "<") {
            None
        } else {
            Some(Vec::new())
        };
    };
    let pre = p.pre.as_deref();
    let out = match op {
        "^" => match (p.minor.as_deref(), p.patch.as_deref()) {
            (None, _) => vec![
                (Op::Ge, full(major, "0", "0", Some("0"))),
                (Op::Lt, full(&inc(major), "0", "0", Some("0"))),
            ],
            (Some(minor), None) => {
                if major == "0" {
                    vec![
                        (Op::Ge, full(major, minor, "0", Some("0"))),
                        (Op::Lt, full(major, &inc(minor), "0", Some("0"))),
                    ]
                } else {
                    vec![
                        (Op::Ge, full(major, minor, "0", Some("0"))),
                        (Op::Lt, full(&inc(major), "0", "0", Some("0"))),
                    ]
                }
            }
            (Some(minor), Some(patch)) => {
                let upper = if major == "0" {
                    if minor == "0" {
                        full(major, minor, &inc(patch), Some("0"))
                    } else {
                        full(major, &inc(minor), "0", Some("0"))
                    }
                } else {
                    full(&inc(major), "0", "0", Some("0"))
                };
                vec![(Op::Ge, full(major, minor, patch, pre)), (Op::Lt, upper)]
            }
        },
        "~" | "~>" => match (p.minor.as_deref(), p.patch.as_deref()) {
            (None, _) => vec![
                (Op::Ge, full(major, "0", "0", Some("0"))),
                (Op::Lt, full(&inc(major), "0", "0", Some("0"))),
            ],
            (Some(minor), None) => vec![
                (Op::Ge, full(major, minor, "0", Some("0"))),
                (Op::Lt, full(major, &inc(minor), "0", Some("0"))),
            ],
            (Some(minor), Some(patch)) => vec![
                (Op::Ge, full(major, minor, patch, pre)),
                (Op::Lt, full(major, &inc(minor), "0", Some("0"))),
            ],
        },
        _ => match (p.minor.as_deref(), p.patch.as_deref()) {
            (Some(minor), Some(patch)) => {
                let v = full(major, minor, patch, pre);
                let op = match op {
                    ">=" => Op::Ge,
                    ">" => Op::Gt,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    _ => Op::Eq,
                };
                vec![(op, v)]
            }
            (minor, _) => {
                // An X-range: `1.2.x`, `1`, `>=1.x`, `<1.2`…
                let x_minor = minor.is_none();
                let minor = minor.unwrap_or("0");
                match op {
                    "" | "=" => {
                        if x_minor {
                            vec![
                                (Op::Ge, full(major, "0", "0", Some("0"))),
                                (Op::Lt, full(&inc(major), "0", "0", Some("0"))),
                            ]
                        } else {
                            vec![
                                (Op::Ge, full(major, minor, "0", Some("0"))),
                                (Op::Lt, full(major, &inc(minor), "0", Some("0"))),
                            ]
                        }
                    }
                    ">" | "<=" => {
                        let next = if x_minor {
                            full(&inc(major), "0", "0", Some("0"))
                        } else {
                            full(major, &inc(minor), "0", Some("0"))
                        };
                        vec![(if op == ">" { Op::Ge } else { Op::Lt }, next)]
                    }
                    ">=" => vec![(Op::Ge, full(major, minor, "0", Some("0")))],
                    _ => vec![(Op::Lt, full(major, minor, "0", Some("0")))],
                }
            }
        },
    };
    Some(out)
}

/// The comparators of one `||` alternative.
fn comparator_set(alternative: &str) -> Result<VersionSet, String> {
    let tokens: Vec<&str> = alternative.split_whitespace().collect();
    let mut comparators: Vec<(Op, String)> = Vec::new();
    if tokens.len() == 3 && tokens[1] == "-" {
        // A hyphen range `a - b`, as `hyphenReplace` with `includePrerelease` reads it.
        let from = parse_partial(tokens[0])?;
        let to = parse_partial(tokens[2])?;
        match (&from.major, &from.minor, &from.patch) {
            (None, _, _) => {}
            (Some(m), None, _) => comparators.push((Op::Ge, full(m, "0", "0", Some("0")))),
            (Some(m), Some(n), None) => comparators.push((Op::Ge, full(m, n, "0", Some("0")))),
            (Some(m), Some(n), Some(p)) => {
                let pre = from.pre.as_deref().or(Some("0"));
                comparators.push((Op::Ge, full(m, n, p, pre)));
            }
        }
        match (&to.major, &to.minor, &to.patch) {
            (None, _, _) => {}
            (Some(m), None, _) => {
                comparators.push((Op::Lt, full(&increment_decimal(m), "0", "0", Some("0"))))
            }
            (Some(m), Some(n), None) => {
                comparators.push((Op::Lt, full(m, &increment_decimal(n), "0", Some("0"))))
            }
            (Some(m), Some(n), Some(p)) => match to.pre.as_deref() {
                Some(pre) => comparators.push((Op::Le, full(m, n, p, Some(pre)))),
                None => comparators.push((Op::Lt, full(m, n, &increment_decimal(p), Some("0")))),
            },
        }
    } else {
        let mut rest = alternative.trim_start();
        while !rest.is_empty() {
            let op = ["~>", ">=", "<=", "~", "^", ">", "<", "="]
                .into_iter()
                .find(|op| rest.starts_with(op))
                .unwrap_or("");
            rest = rest[op.len()..].trim_start();
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let token = &rest[..end];
            if token.is_empty() {
                return Err(format!("`{op}` is not followed by a version"));
            }
            rest = rest[end..].trim_start();
            let partial = parse_partial(token)?;
            match desugar(op, &partial) {
                Some(list) => comparators.extend(list),
                None => return Ok(VersionSet::empty()),
            }
        }
    }
    let mut set = VersionSet::all();
    for (op, text) in comparators {
        let v = Version::parse(VersionScheme::Npm, &text)
            .map_err(|e| format!("`{text}` is not an npm version: {}", e.reason))?;
        let one = match op {
            Op::Ge => VersionSet::at_least(v),
            Op::Gt => VersionSet::above(v),
            Op::Lt => VersionSet::below(v),
            Op::Le => VersionSet::at_most(v),
            Op::Eq => VersionSet::exactly(v),
        };
        set = set.intersect(&one);
    }
    Ok(set)
}

/// The versions a node-semver range matches (`satisfies` with `loose` and `includePrerelease`).
fn range_set(range: &str) -> Result<VersionSet, String> {
    if range.len() > MAX_RANGE_BYTES {
        return Err(format!(
            "the range is {} bytes long, more than the {MAX_RANGE_BYTES} allowed",
            range.len()
        ));
    }
    let sets = range
        .split("||")
        .map(comparator_set)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| {
            format!(
                "`{}` is not a node-semver range: {m}",
                shorten(range.trim())
            )
        })?;
    Ok(VersionSet::union_all(sets))
}

/// An entry's `id`: a number in the database, text tolerated.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdText {
    Number(u64),
    Text(String),
}

#[derive(Deserialize)]
struct RawEntry {
    id: IdText,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    publish_date: Option<String>,
    #[serde(default)]
    title: Option<String>,
    module_name: String,
    #[serde(default)]
    cves: Option<Vec<String>>,
    vulnerable_versions: String,
    #[serde(default)]
    patched_versions: Option<String>,
    #[serde(default)]
    overview: Option<String>,
    #[serde(default)]
    recommendation: Option<String>,
    #[serde(default)]
    references: Option<Vec<String>>,
    #[serde(default)]
    cvss_vector: Option<String>,
    #[serde(default)]
    cvss_score: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(range: &str, version: &str) -> bool {
        range_set(range)
            .unwrap()
            .contains(&Version::parse(VersionScheme::Npm, version).unwrap())
    }

    #[test]
    fn ranges_read_as_node_semver_with_prereleases() {
        assert!(has("<1.2.3", "1.2.3-beta") && !has("<1.2.3", "1.2.3"));
        assert!(has("1.2.x", "1.2.0-0") && has("1.2.x", "1.2.9") && !has("1.2.x", "1.3.0-0"));
        assert!(has("~1.2.3", "1.2.9") && !has("~1.2.3", "1.3.0-alpha"));
        assert!(has("^0.0.3", "0.0.3") && !has("^0.0.3", "0.0.4-0"));
        assert!(has("^0.2.3", "0.2.9") && !has("^0.2.3", "0.3.0"));
        assert!(has("^1.2", "1.2.0-0") && has("^1.2", "1.9.9") && !has("^1.2", "2.0.0-0"));
        assert!(has(">1.2", "1.3.0-0") && !has(">1.2", "1.2.9"));
        assert!(has("<=1.2", "1.2.9") && !has("<=1.2", "1.3.0-0"));
        assert!(has("1.2.3 - 2.3", "2.3.9") && !has("1.2.3 - 2.3", "2.4.0-0"));
        assert!(has("1.2.3 - 2.3.4", "2.3.4") && !has("1.2.3 - 2.3.4", "2.3.5-0"));
        assert!(has("1.2.3 - 2.3.4", "1.2.3-0"));
        assert!(has("< 2.1.7 > 2.0.0", "2.0.1") && !has("< 2.1.7 > 2.0.0", "2.0.0"));
        assert!(has("=v2.0.0-alpha7", "2.0.0-alpha7"));
        assert!(has("*", "0.0.0-0") && has("", "99.0.0"));
        assert!(!has("<0.0.0", "0.0.0") && has("<0.0.0", "0.0.0-rc"));
        assert!(has(">=2.2.x", "2.2.0-0") && !has(">=2.2.x", "2.1.9"));
        assert!(!has(">*", "1.0.0"));
    }

    #[test]
    fn successors_are_the_next_npm_version() {
        let s = |t: &str| successor(&Version::parse(VersionScheme::Npm, t).unwrap());
        assert_eq!(s("1.2.3"), "1.2.4-0");
        assert_eq!(s("1.2.3-beta"), "1.2.3-beta.0");
        assert_eq!(s("0.0.9"), "0.0.10-0");
    }

    #[test]
    fn malformed_ranges() {
        for (range, message) in [
            (">= ", "`>=` is not followed by a version"),
            (
                "x.2.3",
                "`x.2.3` is not a version: a number after a wildcard",
            ),
            (
                "1.2.3 foo",
                "`foo` is not a version: expected a number or x",
            ),
            (
                "1.2-beta",
                "`1.2-beta` is not a version: unexpected text after the version",
            ),
        ] {
            let err = range_set(range).unwrap_err();
            assert!(err.ends_with(message), "{range}: {err}");
        }
    }
}
