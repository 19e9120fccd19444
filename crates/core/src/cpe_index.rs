//! NVD's CPE applicability statements indexed by (vendor, product), and the matching of a device's
//! software that carries a CPE name (SBOM `cpe` fields, osquery programs) against them.
//!
//! Distribution packages (deb, rpm, apk) are never matched here: their versions carry the
//! distribution's backports, which NVD's upstream version ranges do not know, so only the
//! distribution's own advisories judge them. A configuration whose verdict depends on a version that
//! cannot be compared is *unassessed*, never taken as vulnerable or safe.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::cpe::{
    Applicability, Cpe, CpeConfiguration, CpeValue, compare_loose, evaluate_configurations,
};
use crate::device::SoftwareKey;
use crate::inventory::InstalledPackage;
use crate::scan::software_key;
use crate::threat::NvdRecord;

/// The advisory id NVD matches carry in a weakness's advisory list (`NVD:CVE-2023-38545`).
pub fn nvd_advisory_id(cve: &str) -> String {
    format!("NVD:{cve}")
}

/// The CPE configurations of every analysed, non-rejected NVD record, indexed by the (vendor, product)
/// of their vulnerable criteria.
#[derive(Debug, Clone, Default)]
pub struct CpeIndex {
    records: Vec<(String, Vec<CpeConfiguration>)>,
    by_product: HashMap<(String, String), Vec<usize>>,
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
