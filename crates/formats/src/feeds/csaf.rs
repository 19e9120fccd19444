//! CSAF 2.0 documents as Red Hat publishes them: one VEX file per CVE (`cve-2023-38545.json`) whose product
//! tree lists RHEL streams (with CPEs) and RPM packages (with purls), related by `default_component_of`
//! relationships, and whose vulnerabilities say per product which are `fixed`, `known_affected`,
//! `known_not_affected` or `under_investigation`.
//!
//! Mapping decisions:
//! - One advisory per vulnerability, id `REDHAT-<CVE>` (`REDHAT-CVE-2023-38545`), alias the CVE, the
//!   `vendor_fix` errata (`RHSA-2023:5763`) as references. Severity: the CVSS vector given (highest
//!   version), else Red Hat's impact rating.
//! - Statuses name products `<stream>:<package>`, such as
//!   `BaseOS-9.3.0.Z.MAIN:curl-minimal-0:7.76.1-26.el9_3.2.x86_64`.
//!   The stream's CPE gives the release: `cpe:/o:redhat:enterprise_linux:9::baseos` and
//!   `cpe:/a:redhat:rhel_eus:9.2::appstream` are both `Red Hat:9`, as Bulwark keys RHEL by major release.
//!   Streams of layered products (Satellite, JBoss Core Services, …; CPEs such as
//!   `cpe:/a:redhat:jboss_core_services:1::el8`) are skipped and counted: their packages come from the
//!   product's own repositories, and a name like `puppet-agent` is also shipped by third parties, whose
//!   versions would be judged against Red Hat's builds.
//! - The package's purl gives the name and the fixed version `epoch:version-release`
//!   (`pkg:rpm/redhat/curl@7.76.1-26.el9_3.2?arch=src&epoch=1` → `1:7.76.1-26.el9_3.2`; no epoch
//!   qualifier, no `0:`). Bulwark matches RPM errata by binary package name, and Red Hat's documents list
//!   every binary RPM of a fix as its own product (`curl`, `curl-minimal`, `libcurl`, `libcurl-minimal`,
//!   `libcurl-devel`, debuginfo packages, per architecture) beside the source RPM: the binaries become
//!   the affected entries, the source RPM (`arch=src`) is skipped and counted. One entry per (release,
//!   binary name): architectures fold together; when several streams of a release fix the package
//!   (9.0 EUS, 9.2 EUS, 9.3), the highest fixed version is kept — the one the release's main stream
//!   ships, as a host known only as "RHEL 9" follows it.
//! - `known_affected` packages (no version in the purl, or no fix) are affected in every version:
//!   `introduced: 0` and no fix; a package both known affected and fixed in one release is kept
//!   unfixed. `known_not_affected` and `under_investigation` products produce nothing (counted), as do
//!   the statuses Red Hat does not use (`first_affected`, `last_affected`, `recommended`).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use bulwark_core::cvss::score_vector;
use bulwark_core::{
    Advisory, Affected, Ecosystem, EcosystemRelease, Event, Range, RangeKind, Severity,
    SeverityLevel, Version, VersionScheme,
};
use packageurl::PackageUrl;
use serde::Deserialize;

use super::{Converted, bounded_text, contains, is_json, read_document, shorten, timestamp};
use crate::error::FormatError;
use crate::osv::{MAX_DETAILS_BYTES, MAX_SUMMARY_BYTES};

/// RHEL itself, as the product part of a stream's CPE names it (the base release and its extended
/// support streams). Anything else is a layered product.
const RHEL_PRODUCTS: [&str; 7] = [
    "enterprise_linux",
    "rhel_eus",
    "rhel_aus",
    "rhel_e4s",
    "rhel_tus",
    "rhel_els",
    "rhel_eus_long_life",
];

/// True when `bytes` look like a CSAF document: JSON naming `csaf_version` and a `document`.
pub fn detect(bytes: &[u8]) -> bool {
    is_json(bytes) && contains(bytes, b"\"csaf_version\"") && contains(bytes, b"\"document\"")
}

/// Converts one CSAF document: one advisory per vulnerability.
pub fn convert(file: &str, bytes: &[u8]) -> Result<Converted, FormatError> {
    let raw: RawCsaf = read_document(file, bytes)?;
    let doc = &raw.document;
    if !doc.csaf_version.trim().starts_with("2.") {
        return Err(FormatError::parse(
            file,
            "$.document.csaf_version",
            format!(
                "CSAF {} is not supported (2.x is)",
                shorten(&doc.csaf_version)
            ),
        ));
    }
    let modified = timestamp(&doc.tracking.current_release_date)
        .map_err(|m| FormatError::parse(file, "$.document.tracking.current_release_date", m))?;
    let initial = match doc.tracking.initial_release_date.as_deref() {
        Some(t) => Some(timestamp(t).map_err(|m| {
            FormatError::parse(file, "$.document.tracking.initial_release_date", m)
        })?),
        None => None,
    };
    let tree = Tree::new(raw.product_tree.as_ref());
    let vulnerabilities = raw.vulnerabilities.unwrap_or_default();
    let single = vulnerabilities.len() == 1;
    let mut out = Converted::default();
    for (i, vuln) in vulnerabilities.into_iter().enumerate() {
        let at = format!("$.vulnerabilities[{i}]");
        let cve = vuln.cve.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let name = match cve {
            Some(c) => c.to_string(),
            None if single => doc.tracking.id.trim().to_string(),
            None => format!("{}-{}", doc.tracking.id.trim(), i + 1),
        };
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FormatError::parse(
                file,
                format!("{at}.cve"),
                "the vulnerability has no usable id (no cve, no document tracking id)",
            ));
        }

        let mut packages: BTreeMap<(String, String), Fix> = BTreeMap::new();
        let statuses = vuln.product_status.unwrap_or_default();
        for (status, ids) in &statuses {
            let fixed = match status.as_str() {
                "fixed" | "first_fixed" => true,
                "known_affected" => false,
                "known_not_affected" => {
                    for _ in ids {
                        out.skip("CSAF product known not affected");
                    }
                    continue;
                }
                "under_investigation" => {
                    for _ in ids {
                        out.skip("CSAF product under investigation");
                    }
                    continue;
                }
                // `first_affected`, `last_affected`, `recommended`: not used by Red Hat, not read.
                _ => {
                    for _ in ids {
                        out.skip("CSAF product status not read");
                    }
                    continue;
                }
            };
            for id in ids {
                match tree.package(id) {
                    Resolved::Package {
                        release,
                        name,
                        version,
                    } => {
                        let fix = match (fixed, version) {
                            (true, Some(v)) => Fix::Fixed(v),
                            (true, None) => {
                                out.skip("CSAF fixed product without a package version");
                                continue;
                            }
                            (false, _) => Fix::Unfixed,
                        };
                        let slot = packages.entry((release, name)).or_insert(Fix::None);
                        *slot = slot.clone().merge(fix);
                    }
                    Resolved::Skip(reason) => out.skip(reason),
                }
            }
        }

        let affected = packages
            .into_iter()
            .filter_map(|((release, name), fix)| {
                let mut events = vec![Event::Introduced("0".to_string())];
                match fix {
                    Fix::Fixed(v) => events.push(Event::Fixed(v.as_str().to_string())),
                    Fix::Unfixed => {}
                    Fix::None => return None,
                }
                Some(Affected {
                    ecosystem: EcosystemRelease::new(Ecosystem::RedHat, Some(&release)),
                    name,
                    purl: None,
                    ranges: vec![Range {
                        kind: RangeKind::Ecosystem,
                        repo: None,
                        events,
                    }],
                    versions: Vec::new(),
                    informational: None,
                })
            })
            .collect();

        let mut references: Vec<String> = Vec::new();
        let mut add_reference = |url: &str| {
            let url = url.trim();
            if !url.is_empty() && !references.iter().any(|r| r == url) {
                references.push(url.to_string());
            }
        };
        for r in vuln.references.iter().flatten() {
            add_reference(&r.url);
        }
        for r in vuln.remediations.iter().flatten() {
            if r.category == "vendor_fix"
                && let Some(url) = &r.url
            {
                add_reference(url);
            }
        }

        let severity = best_vector(vuln.scores.as_deref().unwrap_or_default()).or_else(|| {
            vuln.threats
                .iter()
                .flatten()
                .filter(|t| t.category == "impact")
                .find_map(|t| t.details.as_deref().and_then(SeverityLevel::from_label))
                .or_else(|| {
                    doc.aggregate_severity
                        .as_ref()
                        .and_then(|a| SeverityLevel::from_label(&a.text))
                })
                .map(|level| Severity {
                    level,
                    score: None,
                    vector: None,
                })
        });
        let details = vuln
            .notes
            .iter()
            .flatten()
            .find(|n| n.category == "description")
            .or_else(|| {
                vuln.notes
                    .iter()
                    .flatten()
                    .find(|n| n.category == "summary")
            })
            .map(|n| n.text.clone());
        let published = match vuln.release_date.as_deref() {
            Some(t) => Some(
                timestamp(t)
                    .map_err(|m| FormatError::parse(file, format!("{at}.release_date"), m))?,
            ),
            None => initial.clone(),
        };
        out.advisories.push(Advisory {
            id: format!("REDHAT-{name}"),
            aliases: cve.map(|c| vec![c.to_string()]).unwrap_or_default(),
            related: Vec::new(),
            modified: modified.clone(),
            published,
            withdrawn: None,
            summary: bounded_text(
                file,
                &format!("{at}.title"),
                vuln.title.or_else(|| doc.title.clone()),
                MAX_SUMMARY_BYTES,
            )?,
            details: bounded_text(file, &format!("{at}.notes"), details, MAX_DETAILS_BYTES)?,
            severity,
            affected,
            informational: None,
            references,
        });
    }
    Ok(out)
}

/// What one (release, binary package) is, across the products that name it.
#[derive(Clone)]
enum Fix {
    /// Not named yet.
    None,
    /// Fixed in this version (the highest seen).
    Fixed(Version),
    /// Known affected with no fix.
    Unfixed,
}

impl Fix {
    fn merge(self, other: Fix) -> Fix {
        match (self, other) {
            (Fix::Unfixed, _) | (_, Fix::Unfixed) => Fix::Unfixed,
            (Fix::None, f) | (f, Fix::None) => f,
            (Fix::Fixed(a), Fix::Fixed(b)) => Fix::Fixed(if b > a { b } else { a }),
        }
    }
}

/// The highest-version CVSS vector that scores.
fn best_vector(scores: &[RawScore]) -> Option<Severity> {
    let mut best: Option<(u8, Severity)> = None;
    for score in scores {
        for vector in [&score.cvss_v3, &score.cvss_v2]
            .into_iter()
            .flatten()
            .filter_map(|c| c.vector_string.as_deref())
        {
            if let Ok(scored) = score_vector(vector)
                && best
                    .as_ref()
                    .is_none_or(|(v, _)| scored.version.major() > *v)
            {
                best = Some((
                    scored.version.major(),
                    Severity {
                        level: scored.level,
                        score: Some(scored.score),
                        vector: Some(vector.trim().to_string()),
                    },
                ));
            }
        }
    }
    best.map(|(_, s)| s)
}

/// What a product id stands for.
enum Resolved {
    /// A binary RPM of a RHEL release.
    Package {
        release: String,
        name: String,
        /// `epoch:version-release` when the purl has a version.
        version: Option<Version>,
    },
    /// Not matched, and why.
    Skip(&'static str),
}

/// The product tree, indexed: product ids to their identification helpers, relationships to their parts.
struct Tree<'t> {
    helpers: HashMap<&'t str, &'t RawHelper>,
    relationships: HashMap<&'t str, (&'t str, &'t str)>,
}

impl<'t> Tree<'t> {
    fn new(tree: Option<&'t RawProductTree>) -> Tree<'t> {
        let mut helpers = HashMap::new();
        let mut relationships = HashMap::new();
        let Some(tree) = tree else {
            return Tree {
                helpers,
                relationships,
            };
        };
        let mut stack: Vec<&RawBranch> = tree.branches.iter().flatten().collect();
        while let Some(branch) = stack.pop() {
            if let Some(product) = &branch.product
                && let Some(helper) = &product.product_identification_helper
            {
                helpers.insert(product.product_id.as_str(), helper);
            }
            stack.extend(branch.branches.iter().flatten());
        }
        for product in tree.full_product_names.iter().flatten() {
            if let Some(helper) = &product.product_identification_helper {
                helpers.insert(product.product_id.as_str(), helper);
            }
        }
        for r in tree.relationships.iter().flatten() {
            relationships.insert(
                r.full_product_name.product_id.as_str(),
                (
                    r.product_reference.as_str(),
                    r.relates_to_product_reference.as_str(),
                ),
            );
        }
        Tree {
            helpers,
            relationships,
        }
    }

    fn package(&self, id: &str) -> Resolved {
        let Some(&(component, stream)) = self.relationships.get(id) else {
            return Resolved::Skip("CSAF product that is not a package of a stream");
        };
        let Some(cpe) = self.helpers.get(stream).and_then(|h| h.cpe.as_deref()) else {
            return Resolved::Skip("CSAF stream without a CPE");
        };
        let Some(release) = rhel_release(cpe) else {
            return Resolved::Skip("Red Hat layered product (not RHEL itself)");
        };
        let Some(purl) = self.helpers.get(component).and_then(|h| h.purl.as_deref()) else {
            return Resolved::Skip("CSAF package without a purl");
        };
        let Ok(purl) = PackageUrl::from_str(purl.trim()) else {
            return Resolved::Skip("CSAF package with an unreadable purl");
        };
        if purl.ty() != "rpm" {
            return Resolved::Skip("CSAF package that is not an RPM");
        }
        let qualifier = |key: &str| {
            purl.qualifiers()
                .iter()
                .find(|(k, _)| k.as_ref() == key)
                .map(|(_, v)| v.as_ref().to_string())
        };
        if qualifier("arch").as_deref() == Some("src") {
            return Resolved::Skip("source RPM (matched through its binary RPMs)");
        }
        let version = purl.version().and_then(|v| {
            let text = match qualifier("epoch").filter(|e| e != "0" && !e.is_empty()) {
                Some(epoch) => format!("{epoch}:{v}"),
                None => v.to_string(),
            };
            Version::parse(VersionScheme::Rpm, &text).ok()
        });
        if purl.version().is_some() && version.is_none() {
            return Resolved::Skip("CSAF package whose version rpm cannot order");
        }
        Resolved::Package {
            release,
            name: purl.name().to_string(),
            version,
        }
    }
}

/// The RHEL major release a stream's CPE names (`cpe:/o:redhat:enterprise_linux:9::baseos` → `9`,
/// `cpe:/a:redhat:rhel_eus:9.2::appstream` → `9`, CPE 2.3 alike), or `None` for other products.
fn rhel_release(cpe: &str) -> Option<String> {
    let cpe = cpe.trim();
    let parts: Vec<&str> = if let Some(rest) = cpe.strip_prefix("cpe:2.3:") {
        rest.split(':').collect()
    } else {
        cpe.strip_prefix("cpe:/")?.split(':').collect()
    };
    // [part, vendor, product, version, …]
    let (vendor, product, version) = (parts.get(1)?, parts.get(2)?, parts.get(3)?);
    if *vendor != "redhat" || !RHEL_PRODUCTS.contains(product) {
        return None;
    }
    let major: String = version.chars().take_while(char::is_ascii_digit).collect();
    (!major.is_empty()).then_some(major)
}

#[derive(Deserialize)]
struct RawCsaf {
    document: RawDocument,
    #[serde(default)]
    product_tree: Option<RawProductTree>,
    #[serde(default)]
    vulnerabilities: Option<Vec<RawVulnerability>>,
}

#[derive(Deserialize)]
struct RawDocument {
    csaf_version: String,
    #[serde(default)]
    title: Option<String>,
    tracking: RawTracking,
    #[serde(default)]
    aggregate_severity: Option<RawAggregateSeverity>,
}

#[derive(Deserialize)]
struct RawTracking {
    id: String,
    current_release_date: String,
    #[serde(default)]
    initial_release_date: Option<String>,
}

#[derive(Deserialize)]
struct RawAggregateSeverity {
    text: String,
}

#[derive(Deserialize)]
struct RawProductTree {
    #[serde(default)]
    branches: Option<Vec<RawBranch>>,
    #[serde(default)]
    full_product_names: Option<Vec<RawFullProductName>>,
    #[serde(default)]
    relationships: Option<Vec<RawRelationship>>,
}

#[derive(Deserialize)]
struct RawBranch {
    #[serde(default)]
    product: Option<RawFullProductName>,
    #[serde(default)]
    branches: Option<Vec<RawBranch>>,
}

#[derive(Deserialize)]
struct RawFullProductName {
    product_id: String,
    #[serde(default)]
    product_identification_helper: Option<RawHelper>,
}

#[derive(Deserialize)]
struct RawHelper {
    #[serde(default)]
    cpe: Option<String>,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RawRelationship {
    full_product_name: RawFullProductName,
    product_reference: String,
    relates_to_product_reference: String,
}

#[derive(Deserialize)]
struct RawVulnerability {
    #[serde(default)]
    cve: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    notes: Option<Vec<RawNote>>,
    #[serde(default)]
    product_status: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    remediations: Option<Vec<RawRemediation>>,
    #[serde(default)]
    scores: Option<Vec<RawScore>>,
    #[serde(default)]
    threats: Option<Vec<RawThreat>>,
    #[serde(default)]
    references: Option<Vec<RawReference>>,
    #[serde(default)]
    release_date: Option<String>,
}

#[derive(Deserialize)]
struct RawNote {
    category: String,
    text: String,
}

#[derive(Deserialize)]
struct RawRemediation {
    category: String,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct RawScore {
    #[serde(default)]
    cvss_v3: Option<RawCvss>,
    #[serde(default)]
    cvss_v2: Option<RawCvss>,
}

#[derive(Deserialize)]
struct RawCvss {
    #[serde(default, rename = "vectorString")]
    vector_string: Option<String>,
}

#[derive(Deserialize)]
struct RawThreat {
    category: String,
    #[serde(default)]
    details: Option<String>,
}

#[derive(Deserialize)]
struct RawReference {
    url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_from_stream_cpes() {
        assert_eq!(
            rhel_release("cpe:/o:redhat:enterprise_linux:9::baseos").as_deref(),
            Some("9")
        );
        assert_eq!(
            rhel_release("cpe:/a:redhat:rhel_eus:9.2::appstream").as_deref(),
            Some("9")
        );
        assert_eq!(
            rhel_release("cpe:/o:redhat:enterprise_linux:6").as_deref(),
            Some("6")
        );
        assert_eq!(
            rhel_release("cpe:2.3:o:redhat:enterprise_linux:8:*:*:*:*:*:*:*").as_deref(),
            Some("8")
        );
        assert_eq!(
            rhel_release("cpe:/a:redhat:jboss_core_services:1::el8"),
            None
        );
        assert_eq!(
            rhel_release("cpe:/a:redhat:rhel_satellite_client:6::el8"),
            None
        );
        assert_eq!(rhel_release("cpe:/a:redhat:enterprise_linux"), None);
        assert_eq!(rhel_release("not a cpe"), None);
    }
}
