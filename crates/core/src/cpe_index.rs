//! NVD's CPE applicability statements indexed by (vendor, product), and the matching of a device's
//! software that carries a CPE name (SBOM `cpe` fields, osquery programs) against them.
//!
//! Distribution packages (deb, rpm, apk) are never matched here: their versions carry the
//! distribution's backports, which NVD's upstream version ranges do not know, so only the
//! distribution's own advisories judge them. A configuration whose verdict depends on a version that
//! cannot be compared is *unassessed*, never taken as vulnerable or safe.
//!
//! Software that only a CPE name identifies (an SBOM component with a `cpe` and no purl) becomes a
//! package of [`Ecosystem::Cpe`] named `vendor:product` ([`cpe_package`]), which only this index
//! judges. What NVD's ranges say about fixing a CVE ([`CpeIndex::fix`]) gives such weaknesses their
//! recommended version.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::cpe::{
    Applicability, Cpe, CpeConfiguration, CpeError, CpeMatch, CpeValue, Verdict, compare_loose,
    evaluate_configurations, version_matches,
};
use crate::device::SoftwareKey;
use crate::ecosystem::{Ecosystem, EcosystemRelease};
use crate::inventory::InstalledPackage;
use crate::scan::software_key;
use crate::threat::NvdRecord;

/// The advisory id NVD matches carry in a weakness's advisory list (`NVD:CVE-2023-38545`).
pub fn nvd_advisory_id(cve: &str) -> String {
    format!("NVD:{cve}")
}

/// The CVE of an advisory id that [`nvd_advisory_id`] wrote (`NVD:CVE-2023-38545` → `CVE-2023-38545`).
pub fn nvd_cve(advisory_id: &str) -> Option<&str> {
    advisory_id.strip_prefix("NVD:")
}

/// Why a CPE name cannot stand for a piece of software on its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpePackageError {
    /// The text is not a CPE 2.3 formatted string.
    #[error(transparent)]
    Invalid(#[from] CpeError),
    /// The vendor or the product is ANY, NA or a pattern, so the name identifies no one product.
    #[error("the CPE name does not name one vendor and product")]
    NoProduct,
    /// Neither the component nor its CPE name gives a version.
    #[error("neither the component nor its CPE name gives a version")]
    NoVersion,
}

/// The package of software that only a CPE name identifies (an SBOM component with a `cpe` and no
/// purl): ecosystem [`Ecosystem::Cpe`], named `vendor:product`, in the component's `version`, else
/// the version the CPE name gives. The CPE name is kept; when its version is ANY (or a pattern) the
/// component's version is written into it, so that NVD's ranges can judge it.
pub fn cpe_package(cpe: &str, version: Option<&str>) -> Result<InstalledPackage, CpePackageError> {
    let cpe = cpe.trim();
    let mut parsed = Cpe::parse(cpe)?;
    let (Some(vendor), Some(product)) = (parsed.vendor.as_literal(), parsed.product.as_literal())
    else {
        return Err(CpePackageError::NoProduct);
    };
    let name = format!("{vendor}:{product}");
    let given = version.map(str::trim).filter(|v| !v.is_empty());
    let version = match (given, parsed.version.as_literal()) {
        (Some(v), _) | (None, Some(v)) => v.to_string(),
        (None, None) => return Err(CpePackageError::NoVersion),
    };
    let text = if matches!(parsed.version, CpeValue::Any | CpeValue::Pattern(_)) {
        parsed.version = CpeValue::Literal(version.clone());
        parsed.to_string()
    } else {
        cpe.to_string()
    };
    let mut package =
        InstalledPackage::new(EcosystemRelease::new(Ecosystem::Cpe, None), &name, &version);
    package.cpe = Some(text);
    Ok(package)
}

/// The vendor and product of a package of [`Ecosystem::Cpe`], from its `vendor:product` name (split at
/// the first `:`); `None` for any other ecosystem.
pub fn cpe_product(ecosystem: Ecosystem, name: &str) -> Option<(&str, &str)> {
    if ecosystem != Ecosystem::Cpe {
        return None;
    }
    name.split_once(':')
}

/// The CPE configurations of every analysed, non-rejected NVD record, indexed by the (vendor, product)
/// of their vulnerable criteria and by CVE.
#[derive(Debug, Clone, Default)]
pub struct CpeIndex {
    records: Vec<(String, Vec<CpeConfiguration>)>,
    by_product: HashMap<(String, String), Vec<usize>>,
    by_cve: HashMap<String, usize>,
}

/// What NVD's configurations say about fixing one CVE in one product.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvdFix {
    /// The `versionEndExcluding` of every vulnerable range that an installed version is in: a version
    /// at or above all of them is outside every one of those ranges.
    pub fixed_in: Vec<String>,
    /// NVD names no fixed version: an entry that an installed version matches has no exclusive upper
    /// bound (an exact version, `versionEndIncluding`, or no end), or no entry matches at all.
    pub unfixed: bool,
}

/// Whether a criteria attribute accepts a literal name (ANY, an equal literal, a matching pattern).
fn accepts(criteria: &CpeValue, name: &str) -> bool {
    match criteria {
        CpeValue::Any => true,
        CpeValue::Literal(literal) => literal.eq_ignore_ascii_case(name),
        CpeValue::Pattern(pattern) => pattern.matches(name),
        CpeValue::NotApplicable => false,
    }
}

/// A CPE-matched weakness of one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpeFinding {
    /// The package's software key.
    pub software: SoftwareKey,
    /// The CVE.
    pub cve: String,
}

/// What CPE matching of one device found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpeReport {
    /// Weaknesses found.
    pub findings: Vec<CpeFinding>,
    /// CVEs whose configurations could not be decided for the device (a version not comparable).
    pub unassessed: Vec<String>,
}

fn literal(value: &CpeValue) -> Option<String> {
    value.as_literal().map(str::to_ascii_lowercase)
}

impl CpeIndex {
    /// Indexes the records' configurations.
    pub fn build(records: &[NvdRecord]) -> CpeIndex {
        let mut index = CpeIndex::default();
        for record in records.iter().filter(|r| !r.is_rejected()) {
            if record.configurations.is_empty() {
                continue;
            }
            let slot = index.records.len();
            let mut products: BTreeSet<(String, String)> = BTreeSet::new();
            for config in &record.configurations {
                for criteria in config.vulnerable_criteria() {
                    if let (Some(vendor), Some(product)) =
                        (literal(&criteria.vendor), literal(&criteria.product))
                    {
                        products.insert((vendor, product));
                    }
                }
            }
            for key in products {
                index.by_product.entry(key).or_default().push(slot);
            }
            index.by_cve.insert(record.id.clone(), slot);
            index
                .records
                .push((record.id.clone(), record.configurations.clone()));
        }
        index
    }

    /// Whether no configuration is indexed.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The vulnerable `cpeMatch` entries of a CVE that name `product` (vendor, product; any product when
    /// `None`, for packages whose CPE vendor and product Bulwark does not keep) and whose version
    /// condition `version` meets, compared loosely. The other attributes are not looked at: an
    /// installed name that does not record them matches them (see [`crate::cpe::cpe_match`]).
    fn matched_entries<'s>(
        &'s self,
        cve: &str,
        product: Option<(&str, &str)>,
        version: &str,
    ) -> impl Iterator<Item = &'s CpeMatch> {
        let installed = CpeValue::Literal(version.to_string());
        let configurations = self
            .by_cve
            .get(cve)
            .map_or(&[][..], |&slot| &self.records[slot].1[..]);
        configurations
            .iter()
            .flat_map(|c| &c.nodes)
            .flat_map(|n| &n.cpe_match)
            .filter(move |m| {
                m.vulnerable
                    && product.is_none_or(|(vendor, name)| {
                        accepts(&m.criteria.vendor, vendor) && accepts(&m.criteria.product, name)
                    })
                    && version_matches(m, &installed, &compare_loose) == Verdict::Yes
            })
    }

    /// What NVD says about fixing `cve` in a product installed in `versions`: the exclusive upper bounds
    /// of the vulnerable ranges they are in, or that NVD names no fix (see [`NvdFix`]).
    pub fn fix(&self, cve: &str, product: Option<(&str, &str)>, versions: &[&str]) -> NvdFix {
        let mut fix = NvdFix::default();
        let mut matched = false;
        for version in versions {
            for entry in self.matched_entries(cve, product, version) {
                matched = true;
                match &entry.version_end {
                    Some(end) if !end.inclusive => {
                        if !fix.fixed_in.contains(&end.version) {
                            fix.fixed_in.push(end.version.clone());
                        }
                    }
                    _ => fix.unfixed = true,
                }
            }
        }
        fix.unfixed |= !matched;
        fix
    }

    /// Whether a vulnerable entry of `cve` naming `product` matches `version` (a candidate fix: NVD may
    /// list the first version after a range as vulnerable too).
    pub fn affects(&self, cve: &str, product: Option<(&str, &str)>, version: &str) -> bool {
        self.matched_entries(cve, product, version).next().is_some()
    }

    /// Matches one device's packages: every non-distribution package with a parseable CPE name, all
    /// of them together (so `AND` configurations such as "application on platform" see the whole
    /// device).
    pub fn match_device(&self, packages: &[InstalledPackage]) -> CpeReport {
        let mut report = CpeReport::default();
        if self.is_empty() {
            return report;
        }
        let mut cpes: Vec<Cpe> = Vec::new();
        let mut owners: Vec<&InstalledPackage> = Vec::new();
        for p in packages
            .iter()
            .filter(|p| !p.ecosystem.ecosystem.is_distro())
        {
            if let Some(cpe) = p.cpe.as_deref().and_then(|c| Cpe::parse(c).ok()) {
                cpes.push(cpe);
                owners.push(p);
            }
        }
        let mut candidates: BTreeSet<usize> = BTreeSet::new();
        for cpe in &cpes {
            if let (Some(vendor), Some(product)) = (literal(&cpe.vendor), literal(&cpe.product))
                && let Some(slots) = self.by_product.get(&(vendor, product))
            {
                candidates.extend(slots.iter().copied());
            }
        }
        let mut found: BTreeMap<(SoftwareKey, String), ()> = BTreeMap::new();
        for slot in candidates {
            let (cve, configurations) = &self.records[slot];
            match evaluate_configurations(configurations, &cpes, &compare_loose) {
                Applicability::Applies { vulnerable } => {
                    for i in vulnerable {
                        found.insert((software_key(owners[i]), cve.clone()), ());
                    }
                }
                Applicability::Unassessed => report.unassessed.push(cve.clone()),
                Applicability::DoesNotApply | Applicability::NotAnalysed => {}
            }
        }
        report.findings = found
            .into_keys()
            .map(|(software, cve)| CpeFinding { software, cve })
            .collect();
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_package(
        cpe: &str,
        version: Option<&str>,
        expected: Result<(&str, &str, &str), CpePackageError>,
    ) {
        let got = cpe_package(cpe, version);
        let got = got.as_ref().map(|p| {
            assert_eq!(p.ecosystem, EcosystemRelease::new(Ecosystem::Cpe, None));
            (
                p.name.as_str(),
                p.version.as_str(),
                p.cpe.as_deref().unwrap_or(""),
            )
        });
        assert_eq!(got, expected.as_ref().map(|e| *e), "{cpe} {version:?}");
    }

    #[test]
    fn cpe_only_packages() {
        let struts = "cpe:2.3:a:apache:struts:2.3.5:*:*:*:*:*:*:*";
        check_package(
            struts,
            Some("2.3.5"),
            Ok(("apache:struts", "2.3.5", struts)),
        );
        check_package(struts, None, Ok(("apache:struts", "2.3.5", struts)));
        // The component's version wins; the CPE keeps its own, which is what NVD's ranges judge.
        check_package(
            struts,
            Some(" 2.3.5.1 "),
            Ok(("apache:struts", "2.3.5.1", struts)),
        );
        // A CPE without a version gets the component's.
        check_package(
            "cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*",
            Some("1.35.0"),
            Ok((
                "busybox:busybox",
                "1.35.0",
                "cpe:2.3:a:busybox:busybox:1.35.0:*:*:*:*:*:*:*",
            )),
        );
        check_package(
            "cpe:2.3:a:haxx:libcurl",
            Some("8.0.1"),
            Ok((
                "haxx:libcurl",
                "8.0.1",
                "cpe:2.3:a:haxx:libcurl:8.0.1:*:*:*:*:*:*:*",
            )),
        );
        check_package(
            "cpe:2.3:a:haxx:libcurl",
            Some(" "),
            Err(CpePackageError::NoVersion),
        );
        check_package(
            "cpe:2.3:a:*:libcurl:8.0.1",
            None,
            Err(CpePackageError::NoProduct),
        );
        check_package(
            "cpe:2.3:a:haxx:*curl:8.0.1",
            None,
            Err(CpePackageError::NoProduct),
        );
        assert!(matches!(
            cpe_package("libcurl 8.0.1", None),
            Err(CpePackageError::Invalid(CpeError::NotCpe23 { .. }))
        ));
        assert_eq!(
            cpe_product(Ecosystem::Cpe, "apache:struts"),
            Some(("apache", "struts"))
        );
        assert_eq!(
            cpe_product(Ecosystem::Maven, "org.apache.struts:struts2-core"),
            None
        );
    }
}
