//! RubySec's ruby-advisory-db: one YAML file per advisory, `gems/<gem>/<id>.yml` (and `rubies/<engine>/…`
//! for the Ruby interpreters), whose `patched_versions` and `unaffected_versions` are RubyGems requirement
//! strings (`"~> 4.2.5, >= 4.2.5.1"`).
//!
//! Mapping decisions:
//! - A version is affected exactly when it satisfies none of the `patched_versions` and none of the
//!   `unaffected_versions` requirements, as bundler-audit decides. That set is computed exactly with
//!   `Gem::Requirement` semantics (a comma joins constraints that must all hold; `~> 1.2.3` is `>= 1.2.3`
//!   with a release below `1.3`, so the prereleases of `1.3` are outside it) and written as one `ECOSYSTEM`
//!   range per interval over RubyGems ordering: `introduced`/`fixed` at bounds that include/exclude their
//!   version, `last_affected` where a requirement excluded everything above a version (`> 1.2`).
//! - Two bounds have no exact OSV event, because RubyGems ordering has no "next version": the lowest
//!   version with release `1.3` (the end of `~> 1.2.3`) is written `1.3.A`, and the first version above
//!   `v` (where `<= v` or `= v` was unaffected) is written `v.0.1`. Only versions spelled like `1.3.A.a`
//!   or `v.0.0.1` (which nobody publishes) land on the wrong side of those bounds.
//! - Id `RUBYSEC-<gem>-<file name>` (`RUBYSEC-actionpack-CVE-2016-2097`), aliases the GHSA and CVE ids (and
//!   OSVDB). The database's own id is the file name within the gem's folder; the GHSA id alone is not
//!   unique (GHSA-hgpp-pp89-4fgf is both `activerecord/CVE-2012-2660.yml` and
//!   `actionpack/CVE-2012-2660.yml`) and would also collide with GitHub's own OSV record, so it is an alias:
//!   aliases join all of them into one vulnerability.
//! - Interpreter advisories (`engine:` instead of `gem:`) name no package that an inventory lists: they
//!   are skipped and counted.
//! - Severity: the CVSS v4, else v3, else v2 base score the file gives (no vector is given). `date` is both
//!   `published` and `modified` (the database records no later change).

use bulwark_core::{Advisory, Affected, Ecosystem, EcosystemRelease, Version, VersionScheme};
use serde::Deserialize;

use super::intervals::{Cut, VersionSet};
use super::{
    Converted, MAX_RANGE_BYTES, bounded_text, canonical_decimal, has_line_starting_with,
    increment_decimal, is_json, read_document, score_severity, timestamp,
};
use crate::error::FormatError;
use crate::osv::{MAX_DETAILS_BYTES, MAX_SUMMARY_BYTES};

/// True when `bytes` look like a RubySec advisory: YAML with a top-level `gem:` or `engine:`, `url:` and
/// `title:`.
pub fn detect(bytes: &[u8]) -> bool {
    !is_json(bytes)
        && (has_line_starting_with(bytes, b"gem:") || has_line_starting_with(bytes, b"engine:"))
        && has_line_starting_with(bytes, b"url:")
        && has_line_starting_with(bytes, b"title:")
}

/// Converts one advisory file; `file` also gives the advisory's own id (its file name).
pub fn convert(file: &str, bytes: &[u8]) -> Result<Converted, FormatError> {
    let raw: RawAdvisory = read_document(file, bytes)?;
    let mut out = Converted::default();
    let gem = match (raw.gem.as_deref().map(str::trim), raw.engine.as_deref()) {
        (Some(gem), _) if !gem.is_empty() => gem.to_string(),
        (_, Some(_)) => {
            out.skip("Ruby interpreter advisory (rubies/)");
            return Ok(out);
        }
        _ => {
            return Err(FormatError::parse(
                file,
                "$",
                "neither `gem` nor `engine` names what is affected",
            ));
        }
    };
    if gem.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FormatError::parse(
            file,
            "$.gem",
            format!("`{}` is not a gem name", super::shorten(&gem)),
        ));
    }

    let date = timestamp(&raw.date).map_err(|m| FormatError::parse(file, "$.date", m))?;
    let mut aliases = Vec::new();
    push_id(&mut aliases, "GHSA-", raw.ghsa.as_deref());
    push_id(&mut aliases, "CVE-", raw.cve.as_deref());
    push_id(&mut aliases, "OSVDB-", raw.osvdb.as_deref());
    let mut related = Vec::new();
    let mut references = Vec::new();
    if let Some(url) = raw.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        references.push(url.to_string());
    }
    if let Some(r) = raw.related {
        for (prefix, list) in [("CVE-", r.cve), ("GHSA-", r.ghsa), ("OSVDB-", r.osvdb)] {
            for id in list.unwrap_or_default() {
                let mut one = Vec::new();
                push_id(&mut one, prefix, Some(&id));
                for id in one {
                    if !aliases.contains(&id) && !related.contains(&id) {
                        related.push(id);
                    }
                }
            }
        }
        for url in r.url.unwrap_or_default() {
            let url = url.trim();
            if !url.is_empty() && !references.iter().any(|r| r == url) {
                references.push(url.to_string());
            }
        }
    }

    let mut excluded = Vec::new();
    for (field, list) in [
        ("patched_versions", &raw.patched_versions),
        ("unaffected_versions", &raw.unaffected_versions),
    ] {
        for (i, requirement) in list.iter().flatten().enumerate() {
            let set = requirement_set(requirement)
                .map_err(|m| FormatError::parse(file, format!("$.{field}[{i}]"), m))?;
            excluded.push(set);
        }
    }
    let excluded = VersionSet::union_all(excluded);
    let affected_set = excluded.complement();
    let affected = if affected_set.is_empty() {
        Vec::new()
    } else {
        vec![Affected {
            ecosystem: EcosystemRelease::new(Ecosystem::RubyGems, None),
            name: gem.clone(),
            purl: Some(format!("pkg:gem/{gem}")),
            ranges: affected_set.to_ranges(&successor),
            versions: Vec::new(),
            informational: None,
        }]
    };

    let details = match (raw.description, raw.notes) {
        (Some(d), Some(n)) if !n.trim().is_empty() => {
            Some(format!("{}\n\nNotes: {}", d.trim_end(), n.trim()))
        }
        (d, _) => d.map(|d| d.trim().to_string()),
    };
    let severity = raw
        .cvss_v4
        .and_then(|s| score_severity(s, false))
        .or_else(|| raw.cvss_v3.and_then(|s| score_severity(s, false)))
        .or_else(|| raw.cvss_v2.and_then(|s| score_severity(s, true)));
    out.advisories.push(Advisory {
        id: format!("RUBYSEC-{gem}-{}", file_stem(file)),
        aliases,
        related,
        modified: date.clone(),
        published: Some(date),
        withdrawn: None,
        summary: bounded_text(
            file,
            "$.title",
            raw.title.map(|t| t.trim().to_string()),
            MAX_SUMMARY_BYTES,
        )?,
        details: bounded_text(file, "$.description", details, MAX_DETAILS_BYTES)?,
        severity,
        affected,
        informational: None,
        references,
    });
    Ok(out)
}

/// Adds `prefix` + the id (RubySec writes `cve: 2016-2097`, `ghsa: vx9j-46rh-fqr8`) unless blank.
fn push_id(ids: &mut Vec<String>, prefix: &str, raw: Option<&str>) {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return;
    };
    let id = if raw.len() >= prefix.len() && raw[..prefix.len()].eq_ignore_ascii_case(prefix) {
        format!("{prefix}{}", &raw[prefix.len()..])
    } else {
        format!("{prefix}{raw}")
    };
    if !ids.contains(&id) {
        ids.push(id);
    }
}

/// The file name without its folder, archive and `.yml`: the advisory's id in the database.
fn file_stem(file: &str) -> &str {
    let name = file.rsplit(['/', '\\', '!']).next().unwrap_or(file);
    name.strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .unwrap_or(name)
}

/// The versions that satisfy a RubyGems requirement string (`"~> 2.2.8, >= 2.2.8.1"`): every
/// comma-separated constraint must hold.
fn requirement_set(requirement: &str) -> Result<VersionSet, String> {
    if requirement.len() > MAX_RANGE_BYTES {
        return Err(format!(
            "the requirement is {} bytes long, more than the {MAX_RANGE_BYTES} allowed",
            requirement.len()
        ));
    }
    let mut set = VersionSet::all();
    for constraint in requirement.split(',') {
        set = set.intersect(&constraint_set(constraint)?);
    }
    Ok(set)
}

/// The versions that satisfy one constraint (`Gem::Requirement::OPS`).
fn constraint_set(constraint: &str) -> Result<VersionSet, String> {
    let text = constraint.trim();
    let (op, rest) = ["~>", ">=", "<=", "!=", ">", "<", "="]
        .into_iter()
        .find_map(|op| text.strip_prefix(op).map(|rest| (op, rest)))
        .unwrap_or(("=", text));
    let version_text = rest.trim();
    if version_text.is_empty() {
        return Err(format!(
            "`{}` is not a RubyGems requirement: no version",
            super::shorten(text)
        ));
    }
    let version = Version::parse(VersionScheme::RubyGems, version_text).map_err(|e| {
        format!(
            "`{}` is not a RubyGems requirement: {}",
            super::shorten(text),
            e.reason
        )
    })?;
    Ok(match op {
        "=" => VersionSet::exactly(version),
        "!=" => VersionSet::below(version.clone()).union(&VersionSet::above(version)),
        ">" => VersionSet::above(version),
        "<" => VersionSet::below(version),
        ">=" => VersionSet::at_least(version),
        "<=" => VersionSet::at_most(version),
        _ => {
            // "~>": v >= r and v.release < r.bump. The releases below the bump are the versions below the
            // bump's lowest prerelease, written `<bump>.A` (see the module documentation).
            let end = format!("{}.A", bump(version_text));
            let end = Version::parse(VersionScheme::RubyGems, &end)
                .map_err(|e| format!("`~> {version_text}`: {}", e.reason))?;
            VersionSet::between(Cut::Below(version), Cut::Below(end))
        }
    })
}

/// `Gem::Version#bump`: drop the prerelease part, drop the last segment (when more than one), increment
/// the new last one. `1.2.3` → `1.3`, `2.0.0.beta1` → `2.1`, `1` → `2`.
fn bump(version: &str) -> String {
    let replaced = version.trim().replace('-', ".pre.");
    let mut segments: Vec<(bool, &str)> = Vec::new();
    let bytes = replaced.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let numeric = bytes[start].is_ascii_digit();
        let alpha = bytes[start].is_ascii_alphabetic();
        let mut end = start + 1;
        if numeric || alpha {
            while end < bytes.len()
                && (if numeric {
                    bytes[end].is_ascii_digit()
                } else {
                    bytes[end].is_ascii_alphabetic()
                })
            {
                end += 1;
            }
            segments.push((numeric, &replaced[start..end]));
        }
        start = end;
    }
    while segments.iter().any(|(numeric, _)| !numeric) {
        segments.pop();
    }
    if segments.len() > 1 {
        segments.pop();
    }
    let last = segments.len().saturating_sub(1);
    segments
        .iter()
        .enumerate()
        .map(|(i, (_, digits))| {
            if i == last {
                increment_decimal(digits)
            } else {
                canonical_decimal(digits).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Where an interval that starts just above `v` begins: `v.0.1`, above `v` and below every version
/// anyone publishes above it (RubyGems ordering has no next version).
fn successor(v: &Version) -> String {
    format!("{}.0.1", v.as_str().trim())
}

#[derive(Deserialize)]
struct RawAdvisory {
    #[serde(default)]
    gem: Option<String>,
    #[serde(default)]
    engine: Option<String>,
    #[serde(default)]
    cve: Option<String>,
    #[serde(default)]
    ghsa: Option<String>,
    #[serde(default)]
    osvdb: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    date: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    cvss_v2: Option<f64>,
    #[serde(default)]
    cvss_v3: Option<f64>,
    #[serde(default)]
    cvss_v4: Option<f64>,
    #[serde(default)]
    patched_versions: Option<Vec<String>>,
    #[serde(default)]
    unaffected_versions: Option<Vec<String>>,
    #[serde(default)]
    related: Option<RawRelated>,
}

#[derive(Deserialize)]
struct RawRelated {
    #[serde(default)]
    cve: Option<Vec<String>>,
    #[serde(default)]
    ghsa: Option<Vec<String>>,
    #[serde(default)]
    osvdb: Option<Vec<String>>,
    #[serde(default)]
    url: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_follows_gem_version() {
        assert_eq!(bump("1.2.3"), "1.3");
        assert_eq!(bump("3.2.22.2"), "3.2.23");
        assert_eq!(bump("2.0.0.beta1"), "2.1");
        assert_eq!(bump("1.0-rc1"), "2");
        assert_eq!(bump("1"), "2");
        assert_eq!(bump("1.02.9"), "1.3");
        assert_eq!(bump("0.9"), "1");
    }

    #[test]
    fn pessimistic_constraint_excludes_the_next_prereleases() {
        let set = requirement_set("~> 1.2.3").unwrap();
        let has = |v: &str| set.contains(&Version::parse(VersionScheme::RubyGems, v).unwrap());
        assert!(has("1.2.3") && has("1.2.99") && has("1.2.99.rc1"));
        assert!(!has("1.2.2") && !has("1.3") && !has("1.3.0.rc1") && !has("1.3.0.RC1"));
        assert!(!has("1.2.3.rc1"));
    }

    #[test]
    fn stems() {
        assert_eq!(
            file_stem("a.tar.zst!db/gems/rack/CVE-2018-16470.yml"),
            "CVE-2018-16470"
        );
        assert_eq!(file_stem("OSVDB-1.yaml"), "OSVDB-1");
    }
}
