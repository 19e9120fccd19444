//! Security recommendations (one per vulnerable product) and vulnerability summaries, computed from the
//! open weaknesses of the fleet and the advisory index. Field names follow MDVM's API.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::advisory::{Severity, SeverityLevel};
use crate::context::{ThreatContext, ThreatFacts};
use crate::cpe_index::{CpeIndex, NvdFix, cpe_product, nvd_cve};
use crate::device::{DeviceId, Weakness};
use crate::matching::{AdvisoryIndex, PackageKey};
use crate::score::DeviceValue;
use crate::version::Version;

/// Devices not seen for this long no longer count as exposed (MDVM's rule).
pub const EXPOSURE_WINDOW_DAYS: i64 = 30;

/// How a recommendation is remediated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RemediationType {
    /// The recommended version keeps the installed major version.
    Update,
    /// The recommended version needs a new major version.
    Upgrade,
    /// No version fixes the weaknesses: remove the software.
    Uninstall,
}

/// A security recommendation for one vulnerable product, with MDVM's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// Stable id: `va-_-{ecosystem[_release]}-_-{name}`, the same across re-imports.
    pub id: String,
    /// The package name.
    pub product_name: String,
    /// "Update django to 4.2.16", "Upgrade jinja2 to 3.1.4", "Uninstall rust-crypto".
    pub recommendation_name: String,
    /// The ecosystem (and release) that ships the product.
    pub vendor: String,
    /// Number of distinct vulnerabilities.
    pub weaknesses: u64,
    /// The lowest version that fixes every weakness of the installed versions (or the most, see
    /// `unfixedWeaknesses`); `None` when no fix is known.
    pub recommended_version: Option<String>,
    /// Update, Upgrade or Uninstall.
    pub remediation_type: RemediationType,
    /// Highest CVSS base score among the weaknesses (1–10 scale; band midpoint when only a rating is known).
    pub severity_score: f64,
    /// Whether an exploit is publicly known for any of its vulnerabilities (KEV, or an NVD reference
    /// tagged `Exploit`).
    pub public_exploit: bool,
    /// Known threats: one line per vulnerability listed in CISA KEV (`CVE-… — name (KEV, ransomware)`).
    pub associated_threats: Vec<String>,
    /// Exposed devices whose device value is High.
    pub exposed_critical_devices: u64,
    /// The exact drop of the organisation's exposure score if this were remediated on every device.
    pub exposure_impact: f64,
    /// The rise of the secure score for devices (0 for software recommendations).
    pub config_score_impact: f64,
    /// `Active`, `Exception` or `PartialException`, from the exceptions in effect
    /// ([`crate::exception::RecommendationStatus`]).
    pub status: String,
    /// Devices with the product installed (any version).
    pub total_machine_count: u64,
    /// Devices seen in the last 30 days with a vulnerable version.
    pub exposed_machines_count: u64,
    /// Exposed devices that still have a weakness of it no exception covers.
    pub exposed_machines_count_after_exceptions: u64,
    /// The exact drop of the organisation's exposure score (exceptions applied) if it were remediated on
    /// the devices no exception covers.
    pub exposure_impact_after_exceptions: f64,
    /// The component the recommendation is about.
    pub related_component: String,
    /// `Application` for language packages, `OS` for distribution packages.
    pub recommendation_category: String,
    /// Tags ([`recommendation_tags`]): `Exploit available`, `Known exploited`, `Ransomware`,
    /// `No security update`.
    pub tags: Vec<String>,
    /// The OSV ecosystem name.
    pub ecosystem: String,
    /// The distribution release, for OS packages.
    pub release: Option<String>,
    /// Vulnerable versions installed across the fleet, sorted.
    pub installed_versions: Vec<String>,
    /// Ids of the vulnerabilities, sorted.
    pub vulnerability_ids: Vec<String>,
    /// Vulnerabilities the recommended version does not fix (empty when it fixes all).
    pub unfixed_weaknesses: Vec<String>,
}

/// What the recommendation computation needs besides the open weaknesses.
pub struct RecommendationInput<'a> {
    /// The advisory index.
    pub index: &'a AdvisoryIndex,
    /// Open weaknesses of the fleet.
    pub weaknesses: &'a [Weakness],
    /// When each device was last seen.
    pub last_seen: &'a HashMap<DeviceId, DateTime<Utc>>,
    /// Devices that have each product installed (any version).
    pub installed_on: &'a HashMap<PackageKey, u64>,
    /// The current time.
    pub now: DateTime<Utc>,
    /// Threat context (NVD, KEV, EPSS).
    pub threat: &'a ThreatContext,
    /// Each device's value (devices not listed count as Normal).
    pub device_values: &'a HashMap<DeviceId, DeviceValue>,
    /// Each recommendation's exposure impact, by id (see [`crate::exposure::exposure_impacts`]).
    pub exposure_impacts: &'a BTreeMap<String, f64>,
}

/// Every id a vulnerability goes by: its own id, the ids of the advisories that report it and their
/// aliases (threat facts and CVE exceptions are looked up by any of them).
pub fn vulnerability_aliases<'a>(
    index: &'a AdvisoryIndex,
    vulnerability_id: &'a str,
    advisory_ids: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut ids: Vec<&str> = vec![vulnerability_id];
    for id in advisory_ids {
        ids.push(id);
        if let Some(a) = index.advisory(id) {
            ids.extend(a.aliases.iter().map(String::as_str));
        }
    }
    ids
}

/// The threat facts of a vulnerability: its id and every alias of the advisories that report it.
pub fn vulnerability_threat<'a>(
    index: &'a AdvisoryIndex,
    threat: &ThreatContext,
    vulnerability_id: &'a str,
    advisory_ids: impl IntoIterator<Item = &'a str>,
) -> ThreatFacts {
    threat.facts(vulnerability_aliases(index, vulnerability_id, advisory_ids))
}

/// The severity score of a vulnerability: its advisories' (as [`severity_score`]) when they give a
/// CVSS score, else NVD's, else the advisories' rating.
pub fn effective_severity_score(advisory: Option<&Severity>, threat: &ThreatFacts) -> f64 {
    match (advisory.and_then(|s| s.score), threat.nvd_cvss) {
        (Some(score), _) => score,
        (None, Some(nvd)) => nvd,
        (None, None) => severity_score(advisory),
    }
}

/// Computes one recommendation per product with open weaknesses, ordered by severity score then exposed
/// devices (descending), then id.
pub fn recommendations(input: &RecommendationInput<'_>) -> Vec<Recommendation> {
    struct Acc<'w> {
        devices: BTreeSet<DeviceId>,
        exposed: BTreeSet<DeviceId>,
        versions: BTreeSet<&'w str>,
        vulns: BTreeMap<&'w str, BTreeSet<&'w str>>,
    }
    let cutoff = input.now - Duration::days(EXPOSURE_WINDOW_DAYS);
    let mut products: BTreeMap<PackageKey, Acc<'_>> = BTreeMap::new();
    for w in input.weaknesses.iter().filter(|w| w.resolved.is_none()) {
        let key = PackageKey::new(&w.software.ecosystem, &w.software.name);
        let acc = products.entry(key).or_insert_with(|| Acc {
            devices: BTreeSet::new(),
            exposed: BTreeSet::new(),
            versions: BTreeSet::new(),
            vulns: BTreeMap::new(),
        });
        acc.devices.insert(w.device_id);
        if input
            .last_seen
            .get(&w.device_id)
            .is_some_and(|t| *t >= cutoff)
        {
            acc.exposed.insert(w.device_id);
        }
        acc.versions.insert(&w.software.version);
        let ids = acc.vulns.entry(&w.vulnerability_id).or_default();
        ids.extend(w.advisory_ids.iter().map(String::as_str));
    }
    let mut out: Vec<Recommendation> = products
        .into_iter()
        .map(|(key, acc)| {
            let advisory_ids: Vec<&str> = acc.vulns.values().flatten().copied().collect();
            let installed: Vec<&str> = acc.versions.iter().copied().collect();
            let fix = recommend_version(
                input.index,
                input.threat.cpe(),
                &key,
                &installed,
                &acc.vulns,
                &advisory_ids,
            );
            let mut severity_score = 0.0_f64;
            let mut public_exploit = false;
            let mut associated_threats = Vec::new();
            let (mut known_exploited, mut ransomware_use) = (false, false);
            for (vuln, ids) in &acc.vulns {
                let threat =
                    vulnerability_threat(input.index, input.threat, vuln, ids.iter().copied());
                let severity = vulnerability_severity(input.index, ids.iter().copied());
                severity_score =
                    severity_score.max(effective_severity_score(severity.as_ref(), &threat));
                public_exploit |= threat.public_exploit;
                known_exploited |= !threat.kev_entries.is_empty();
                for entry in &threat.kev_entries {
                    ransomware_use |= entry.known_ransomware_campaign_use;
                    let ransomware = if entry.known_ransomware_campaign_use {
                        ", known ransomware use"
                    } else {
                        ""
                    };
                    associated_threats.push(format!(
                        "{} — {} (CISA KEV since {}{ransomware})",
                        entry.cve_id, entry.vulnerability_name, entry.date_added
                    ));
                }
            }
            associated_threats.sort();
            associated_threats.dedup();
            let exposed_critical_devices = acc
                .exposed
                .iter()
                .filter(|d| input.device_values.get(d) == Some(&DeviceValue::High))
                .count() as u64;
            let id = recommendation_id(&key);
            let exposure_impact = input.exposure_impacts.get(&id).copied().unwrap_or(0.0);
            let ecosystem_label = match &key.release {
                Some(r) => format!("{}:{}", key.ecosystem, r),
                None => key.ecosystem.to_string(),
            };
            // CPE-only software is the product of its CPE vendor (`apache:struts` → struts, apache).
            let (product_name, vendor) = match cpe_product(key.ecosystem, &key.name) {
                Some((vendor, product)) => (product.to_string(), vendor.to_string()),
                None => (key.name.clone(), ecosystem_label.clone()),
            };
            let tags = recommendation_tags(
                public_exploit,
                known_exploited,
                ransomware_use,
                fix.version.is_none() || !fix.unfixed.is_empty(),
            );
            let remediation_type = fix.remediation_type;
            let recommendation_name = match (&remediation_type, &fix.version) {
                (RemediationType::Uninstall, _) | (_, None) => format!("Uninstall {product_name}"),
                (RemediationType::Update, Some(v)) => format!("Update {product_name} to {v}"),
                (RemediationType::Upgrade, Some(v)) => format!("Upgrade {product_name} to {v}"),
            };
            Recommendation {
                id,
                product_name,
                recommendation_name,
                vendor,
                weaknesses: acc.vulns.len() as u64,
                recommended_version: fix.version,
                remediation_type,
                severity_score,
                public_exploit,
                associated_threats,
                exposed_critical_devices,
                exposure_impact,
                config_score_impact: 0.0,
                status: "Active".to_string(),
                total_machine_count: input
                    .installed_on
                    .get(&key)
                    .copied()
                    .unwrap_or(acc.devices.len() as u64)
                    .max(acc.devices.len() as u64),
                exposed_machines_count: acc.exposed.len() as u64,
                exposed_machines_count_after_exceptions: acc.exposed.len() as u64,
                exposure_impact_after_exceptions: exposure_impact,
                related_component: format!("{} ({ecosystem_label})", key.name),
                recommendation_category: if key.ecosystem.is_distro() {
                    "OS"
                } else {
                    "Application"
                }
                .to_string(),
                tags,
                ecosystem: key.ecosystem.name().to_string(),
                release: key.release.clone(),
                installed_versions: installed.iter().map(|s| s.to_string()).collect(),
                vulnerability_ids: acc.vulns.keys().map(|s| s.to_string()).collect(),
                unfixed_weaknesses: fix.unfixed,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.severity_score
            .total_cmp(&a.severity_score)
            .then(b.exposed_machines_count.cmp(&a.exposed_machines_count))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// A recommendation's tags, as MDVM's list shows and filters them: `Exploit available`, `Known exploited`
/// (listed in CISA KEV), `Ransomware` (a KEV entry with known ransomware use) and `No security update`
/// (some weakness has no fixed version), in that order.
pub fn recommendation_tags(
    public_exploit: bool,
    known_exploited: bool,
    ransomware: bool,
    no_security_update: bool,
) -> Vec<String> {
    [
        (public_exploit, "Exploit available"),
        (known_exploited, "Known exploited"),
        (ransomware, "Ransomware"),
        (no_security_update, "No security update"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, tag)| tag.to_string())
    .collect()
}

/// The stable id of a product's recommendation. Characters outside `[A-Za-z0-9._-]` are written as `~XX`
/// (hex of each UTF-8 byte) so the id is safe in a URL path.
pub fn recommendation_id(key: &PackageKey) -> String {
    let eco = match &key.release {
        Some(r) => format!("{}_{}", key.ecosystem.name(), r),
        None => key.ecosystem.name().to_string(),
    };
    format!(
        "va-_-{}-_-{}",
        escape_id(&eco.to_ascii_lowercase()),
        escape_id(&key.name)
    )
}

fn escape_id(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("~{b:02X}"));
        }
    }
    out
}

struct Fix {
    version: Option<String>,
    remediation_type: RemediationType,
    unfixed: Vec<String>,
}

/// Picks the lowest fix version above every installed vulnerable version that no weakness affects; if
/// none fixes all, the one that leaves the fewest (then the lowest), naming what remains. A version that
/// fixes none of them is no recommendation.
///
/// Candidates are the fixed versions of the product's advisories and, for vulnerabilities that only
/// NVD's CPE configurations report, the `versionEndExcluding` of the NVD ranges the installed versions
/// are in ([`CpeIndex::fix`]). Such a vulnerability stays unfixed at a candidate when one of those
/// ranges has no exclusive end (an exact version, `versionEndIncluding`, no end), when no range
/// matched, or when NVD lists the candidate itself as vulnerable.
fn recommend_version(
    index: &AdvisoryIndex,
    cpe: &CpeIndex,
    key: &PackageKey,
    installed: &[&str],
    vulns: &BTreeMap<&str, BTreeSet<&str>>,
    advisory_ids: &[&str],
) -> Fix {
    let scheme = key.ecosystem.scheme();
    let highest_installed = installed
        .iter()
        .filter_map(|v| Version::parse(scheme, v).ok())
        .max();
    // The vendor and product NVD knows the product by, when Bulwark keeps them (CPE-only software);
    // for other packages every vulnerable NVD entry of the CVE is looked at.
    let product = cpe_product(key.ecosystem, &key.name);
    let nvd: BTreeMap<&str, (&str, NvdFix)> = vulns
        .iter()
        .filter(|(_, ids)| ids.iter().all(|id| index.advisory(id).is_none()))
        .filter_map(|(vuln, ids)| {
            let cve = ids.iter().find_map(|id| nvd_cve(id))?;
            Some((*vuln, (cve, cpe.fix(cve, product, installed))))
        })
        .collect();
    let osv_fixes = index.fixed_versions(key, advisory_ids);
    let nvd_fixes = nvd.values().flat_map(|(_, fix)| &fix.fixed_in);
    let mut candidates: Vec<Version> = osv_fixes
        .iter()
        .chain(nvd_fixes)
        .filter_map(|v| Version::parse(scheme, v).ok())
        .filter(|c| highest_installed.as_ref().is_none_or(|h| c > h))
        .collect();
    candidates.sort();
    candidates.dedup();
    let mut best: Option<(usize, Version, Vec<String>)> = None;
    for candidate in candidates {
        let unfixed: Vec<String> = vulns
            .iter()
            .filter(|(vuln, ids)| match nvd.get(*vuln) {
                Some((cve, fix)) => fix.unfixed || cpe.affects(cve, product, candidate.as_str()),
                None => ids
                    .iter()
                    .any(|id| index.affects(id, key, candidate.as_str())),
            })
            .map(|(v, _)| v.to_string())
            .collect();
        let better =
            unfixed.len() < vulns.len() && best.as_ref().is_none_or(|(n, _, _)| unfixed.len() < *n);
        if better {
            let done = unfixed.is_empty();
            best = Some((unfixed.len(), candidate, unfixed));
            if done {
                break;
            }
        }
    }
    match best {
        None => Fix {
            version: None,
            remediation_type: RemediationType::Uninstall,
            unfixed: vulns.keys().map(|s| s.to_string()).collect(),
        },
        Some((_, version, unfixed)) => {
            let same_major = highest_installed
                .as_ref()
                .and_then(Version::major)
                .zip(version.major())
                .is_some_and(|(a, b)| a == b);
            Fix {
                remediation_type: if same_major {
                    RemediationType::Update
                } else {
                    RemediationType::Upgrade
                },
                version: Some(spelled_like_installed(key, version.as_str(), installed)),
                unfixed,
            }
        }
    }
}

/// Writes a fix version the way the installed versions are written: Go's OSV records drop the `v` that
/// go.mod and purls keep, so `1.9.1` is shown as `v1.9.1` where the installed versions say `v1.4.0`.
fn spelled_like_installed(key: &PackageKey, version: &str, installed: &[&str]) -> String {
    let installed_with_v = installed.iter().any(|v| v.starts_with('v'));
    if key.ecosystem == crate::ecosystem::Ecosystem::Go
        && installed_with_v
        && !version.starts_with('v')
    {
        format!("v{version}")
    } else {
        version.to_string()
    }
}

/// The severity of a vulnerability: the highest among its advisories (by score, then by level).
pub fn vulnerability_severity<'a>(
    index: &AdvisoryIndex,
    advisory_ids: impl IntoIterator<Item = &'a str>,
) -> Option<Severity> {
    advisory_ids
        .into_iter()
        .filter_map(|id| index.advisory(id))
        .filter_map(|a| a.severity.clone())
        .max_by(|a, b| {
            severity_score(Some(a))
                .total_cmp(&severity_score(Some(b)))
                .then(a.level.cmp(&b.level))
        })
}

/// The score used to rank a severity: the CVSS base score, or the middle of the band of a bare rating.
pub fn severity_score(severity: Option<&Severity>) -> f64 {
    match severity {
        None => 0.0,
        Some(s) => s.score.unwrap_or(match s.level {
            SeverityLevel::None => 0.0,
            SeverityLevel::Low => 2.0,
            SeverityLevel::Medium => 5.5,
            SeverityLevel::High => 8.0,
            SeverityLevel::Critical => 9.5,
        }),
    }
}

/// A vulnerability as the API lists it, with MDVM's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnerabilitySummary {
    /// The vulnerability id (its CVE when it has one).
    pub id: String,
    /// Same as id (MDVM's `name`).
    pub name: String,
    /// Summary of the first advisory that has one.
    pub description: Option<String>,
    /// Low, Medium, High, Critical (None when unrated).
    pub severity: String,
    /// CVSS base score of the chosen severity.
    #[serde(rename = "cvssV3")]
    pub cvss_v3: Option<f64>,
    /// CVSS vector of the chosen severity.
    pub cvss_vector: Option<String>,
    /// Devices with this vulnerability open.
    pub exposed_machines: u64,
    /// Earliest publication among the advisories.
    pub published_on: Option<String>,
    /// Latest modification among the advisories.
    pub updated_on: Option<String>,
    /// Whether an exploit is public (KEV, or an NVD reference tagged `Exploit`).
    pub public_exploit: bool,
    /// Whether exploitation in the wild is verified (listed in CISA KEV).
    pub exploit_verified: bool,
    /// EPSS probability of exploitation in the next 30 days.
    pub epss: Option<f64>,
    /// EPSS percentile.
    pub epss_percentile: Option<f64>,
    /// KEV: known use in ransomware campaigns.
    pub ransomware: bool,
    /// KEV: the date CISA added it.
    pub kev_date_added: Option<String>,
    /// KEV: the required action's due date.
    pub kev_due_date: Option<String>,
    /// KEV: the required action.
    pub kev_required_action: Option<String>,
    /// CWE ids (NVD).
    pub cwes: Vec<String>,
    /// Advisory records for this vulnerability that matched.
    pub advisory_ids: Vec<String>,
    /// Every alias known.
    pub aliases: Vec<String>,
}

/// Summarises one vulnerability from the advisories that report it.
pub fn summarize_vulnerability(
    index: &AdvisoryIndex,
    threat: &ThreatContext,
    vulnerability_id: &str,
    advisory_ids: &[&str],
    exposed_machines: u64,
) -> VulnerabilitySummary {
    let advisories: Vec<_> = advisory_ids
        .iter()
        .filter_map(|id| index.advisory(id))
        .collect();
    let severity = vulnerability_severity(index, advisory_ids.iter().copied());
    let mut aliases: BTreeSet<String> = BTreeSet::new();
    for a in &advisories {
        aliases.insert(a.id.clone());
        aliases.extend(a.aliases.iter().cloned());
    }
    let ids: Vec<&str> = aliases
        .iter()
        .map(String::as_str)
        .chain([vulnerability_id])
        .collect();
    let facts = threat.facts(ids.iter().copied());
    let cwes = ids
        .iter()
        .filter_map(|id| threat.nvd(id))
        .flat_map(|n| n.cwes.iter().cloned())
        .collect::<BTreeSet<String>>();
    aliases.remove(vulnerability_id);
    let advisory_score = severity.as_ref().and_then(|s| s.score);
    let (level, cvss_v3, cvss_vector) = match (advisory_score, facts.nvd_cvss) {
        (None, Some(nvd)) => (facts.nvd_level, Some(nvd), facts.nvd_vector.clone()),
        _ => (
            severity.as_ref().map(|s| s.level),
            advisory_score,
            severity.as_ref().and_then(|s| s.vector.clone()),
        ),
    };
    let kev = facts.kev_entries.first();
    VulnerabilitySummary {
        id: vulnerability_id.to_string(),
        name: vulnerability_id.to_string(),
        description: advisories
            .iter()
            .find_map(|a| a.summary.clone())
            .or(facts.description.clone()),
        severity: level.map(|l| l.label()).unwrap_or("None").to_string(),
        cvss_v3,
        cvss_vector,
        exposed_machines,
        published_on: advisories
            .iter()
            .filter_map(|a| a.published.clone())
            .chain(facts.published.clone())
            .min(),
        updated_on: advisories
            .iter()
            .map(|a| a.modified.clone())
            .chain(facts.last_modified.clone())
            .max(),
        public_exploit: facts.public_exploit,
        exploit_verified: facts.kev,
        epss: facts.epss,
        epss_percentile: facts.epss_percentile,
        ransomware: facts.ransomware,
        kev_date_added: kev.map(|k| k.date_added.to_string()),
        kev_due_date: kev.map(|k| k.due_date.to_string()),
        kev_required_action: kev.map(|k| k.required_action.clone()),
        cwes: cwes.into_iter().collect(),
        advisory_ids: advisory_ids.iter().map(|s| s.to_string()).collect(),
        aliases: aliases.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::recommendation_tags;

    #[test]
    fn tags_follow_the_threat_facts_in_a_fixed_order() {
        assert!(recommendation_tags(false, false, false, false).is_empty());
        assert_eq!(
            recommendation_tags(true, true, true, true),
            [
                "Exploit available",
                "Known exploited",
                "Ransomware",
                "No security update"
            ]
        );
        assert_eq!(
            recommendation_tags(false, true, false, false),
            ["Known exploited"]
        );
    }
}
