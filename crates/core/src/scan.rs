//! Scanning a set of installed packages against an advisory index: findings (vulnerabilities), warnings
//! (informational advisories) and packages that could not be assessed. Shared by `bulwark scan` and
//! device ingestion, which both match each distinct (ecosystem, name, version) once.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::device::SoftwareKey;
use crate::inventory::InstalledPackage;
use crate::matching::{AdvisoryIndex, Hit, MatchOutcome, PackageKey};

/// One advisory that affects one installed package version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// OSV ecosystem name (with release for OS packages).
    pub ecosystem: String,
    /// Package name as installed.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// The advisory record.
    pub advisory_id: String,
    /// The vulnerability it belongs to (CVE when known).
    pub vulnerability_id: String,
    /// The advisory's aliases.
    pub aliases: Vec<String>,
    /// Low / Medium / High / Critical, when rated.
    pub severity: Option<String>,
    /// CVSS base score, when a vector was given.
    pub cvss_score: Option<f64>,
    /// Versions that fix it.
    pub fixed_versions: Vec<String>,
    /// The advisory's summary.
    pub summary: Option<String>,
    /// For informational advisories: `unmaintained`, `unsound`, `notice`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub informational: Option<String>,
}

/// A package version that could not be assessed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unassessed {
    /// OSV ecosystem name.
    pub ecosystem: String,
    /// Package name.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// Why (the version error).
    pub reason: String,
}

/// The result of a scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// Vulnerabilities found, sorted by package, version, advisory.
    pub findings: Vec<Finding>,
    /// Informational advisories (unmaintained, unsound, notice) that apply.
    pub warnings: Vec<Finding>,
    /// Versions that could not be assessed.
    pub unassessed: Vec<Unassessed>,
}

/// The key a package is matched under, and the version advisories compare.
pub fn software_key(package: &InstalledPackage) -> SoftwareKey {
    SoftwareKey {
        ecosystem: package.ecosystem.clone(),
        name: package
            .ecosystem
            .ecosystem
            .normalize_name(package.advisory_name()),
        version: package.advisory_version().to_string(),
    }
}

/// Matches every distinct software key once.
pub fn match_distinct<'k>(
    index: &AdvisoryIndex,
    keys: impl IntoIterator<Item = &'k SoftwareKey>,
) -> HashMap<&'k SoftwareKey, MatchOutcome> {
    let mut out = HashMap::new();
    for key in keys {
        out.entry(key).or_insert_with(|| {
            let package = PackageKey {
                ecosystem: key.ecosystem.ecosystem,
                release: key.ecosystem.release.clone(),
                name: key.name.clone(),
            };
            index.match_version(&package, &key.version)
        });
    }
    out
}

/// Scans packages: each distinct (ecosystem, name, version) is matched once, then reported per package.
pub fn scan(index: &AdvisoryIndex, packages: &[InstalledPackage]) -> ScanReport {
    let keys: Vec<SoftwareKey> = packages.iter().map(software_key).collect();
    let outcomes = match_distinct(index, &keys);
    report(index, packages, &keys, &outcomes)
}

/// Builds the per-package report from outcomes computed by [`match_distinct`]; `keys[i]` is
/// `software_key(&packages[i])`.
pub fn report(
    index: &AdvisoryIndex,
    packages: &[InstalledPackage],
    keys: &[SoftwareKey],
    outcomes: &HashMap<&SoftwareKey, MatchOutcome>,
) -> ScanReport {
    let mut report = ScanReport::default();
    for (package, key) in packages.iter().zip(keys) {
        let Some(outcome) = outcomes.get(key) else {
            continue;
        };
        match outcome {
            MatchOutcome::Assessed(hits) => {
                for hit in hits {
                    let finding = finding(index, package, hit);
                    if hit.informational {
                        report.warnings.push(finding);
                    } else {
                        report.findings.push(finding);
                    }
                }
            }
            MatchOutcome::Unassessed(e) => report.unassessed.push(Unassessed {
                ecosystem: package.ecosystem.to_string(),
                package: package.name.clone(),
                version: package.version.clone(),
                reason: e.to_string(),
            }),
        }
    }
    // Compared by reference: a key that cloned three strings would allocate on every comparison.
    fn order(f: &Finding) -> (&str, &str, &str) {
        (&f.package, &f.version, &f.advisory_id)
    }
    for list in [&mut report.findings, &mut report.warnings] {
        list.sort_by(|a, b| order(a).cmp(&order(b)));
        list.dedup_by(|a, b| order(a) == order(b));
    }
    report
}

fn finding(index: &AdvisoryIndex, package: &InstalledPackage, hit: &Hit) -> Finding {
    let advisory = index.advisory(&hit.advisory_id);
    let severity = advisory.and_then(|a| a.severity.as_ref());
    Finding {
        ecosystem: package.ecosystem.to_string(),
        package: package.name.clone(),
        version: package.version.clone(),
        advisory_id: hit.advisory_id.clone(),
        vulnerability_id: hit.vulnerability_id.clone(),
        aliases: advisory.map(|a| a.aliases.clone()).unwrap_or_default(),
        severity: severity.map(|s| s.level.label().to_string()),
        cvss_score: severity.and_then(|s| s.score),
        fixed_versions: hit.fixed_versions.clone(),
        summary: advisory.and_then(|a| a.summary.clone()),
        informational: advisory.and_then(|a| {
            a.informational
                .clone()
                .or_else(|| a.affected.iter().find_map(|x| x.informational.clone()))
        }),
    }
}

/// The open weaknesses of one device's packages: one row per (software, vulnerability) with the advisory
/// ids that report it, informational advisories left out. Uses outcomes computed by [`match_distinct`].
pub fn weaknesses_from_outcomes(
    keys: &[SoftwareKey],
    outcomes: &HashMap<&SoftwareKey, MatchOutcome>,
) -> Vec<(SoftwareKey, String, Vec<String>)> {
    let mut rows: BTreeMap<(SoftwareKey, String), Vec<String>> = BTreeMap::new();
    for key in keys {
        let Some(MatchOutcome::Assessed(hits)) = outcomes.get(key) else {
            continue;
        };
        for hit in hits.iter().filter(|h| !h.informational) {
            let ids = rows
                .entry((key.clone(), hit.vulnerability_id.clone()))
                .or_default();
            if !ids.contains(&hit.advisory_id) {
                ids.push(hit.advisory_id.clone());
                ids.sort();
            }
        }
    }
    rows.into_iter().map(|((k, v), ids)| (k, v, ids)).collect()
}
