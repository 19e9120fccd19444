//! Threat context for vulnerabilities: what NVD, CISA KEV and FIRST EPSS say about a CVE, looked up in
//! memory, and the threat fields of the API (`severity`, `cvssV3`, `epss`, `publicExploit`,
//! `exploitVerified`) derived from them.
//!
//! A vulnerability is known by its id and its aliases; the context is keyed by CVE, so every CVE among
//! them is looked up. Where several CVEs name one vulnerability (an advisory with two CVE aliases), the
//! strongest signal wins: listed in KEV if any is, the highest EPSS, the highest NVD score.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::advisory::SeverityLevel;
use crate::cpe_index::CpeIndex;
use crate::score::WeaknessFacts;
use crate::threat::{EpssScore, KevCatalog, KevEntry, NvdRecord, is_cve_id};

/// What NVD says about one CVE, kept for lookups (the configurations stay in the CPE index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NvdSummary {
    /// The display metric's base score.
    pub cvss: Option<f64>,
    /// The display metric's severity.
    pub level: Option<SeverityLevel>,
    /// The display metric's vector.
    pub vector: Option<String>,
    /// Publication time (RFC 3339).
    pub published: String,
    /// Last modification time (RFC 3339).
    pub last_modified: String,
    /// English description.
    pub description: Option<String>,
    /// CWE ids.
    pub cwes: Vec<String>,
    /// Whether NVD tags a reference `Exploit`.
    pub public_exploit: bool,
    /// NVD's analysis status.
    pub vuln_status: Option<String>,
}

impl NvdSummary {
    /// The summary of a record.
    pub fn of(record: &NvdRecord) -> NvdSummary {
        let metric = record.display_metric();
        NvdSummary {
            cvss: metric.map(|m| m.base_score),
            level: metric.map(|m| m.level),
            vector: metric.map(|m| m.vector.clone()),
            published: record.published.clone(),
            last_modified: record.last_modified.clone(),
            description: record.description().map(str::to_string),
            cwes: record.cwes.clone(),
            public_exploit: !record.exploit_references.is_empty(),
            vuln_status: record.vuln_status.clone(),
        }
    }
}

/// Threat context indexed by CVE id.
#[derive(Debug, Clone, Default)]
pub struct ThreatContext {
    cpe: CpeIndex,
    nvd: HashMap<String, NvdSummary>,
    kev: HashMap<String, KevEntry>,
    epss: HashMap<String, (f64, f64)>,
}

/// The threat facts of one vulnerability, as the API shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreatFacts {
    /// NVD's score, if NVD knows a CVE of the vulnerability.
    pub nvd_cvss: Option<f64>,
    /// NVD's severity.
    pub nvd_level: Option<SeverityLevel>,
    /// NVD's vector.
    pub nvd_vector: Option<String>,
    /// The highest EPSS probability.
    pub epss: Option<f64>,
    /// Its percentile.
    pub epss_percentile: Option<f64>,
    /// Listed in CISA KEV.
    pub kev: bool,
    /// KEV: known use in ransomware campaigns.
    pub ransomware: bool,
    /// A public exploit is known (KEV, or an NVD reference tagged `Exploit`).
    pub public_exploit: bool,
    /// The KEV entries, for `associatedThreats`.
    pub kev_entries: Vec<KevEntry>,
    /// The earliest NVD publication.
    pub published: Option<String>,
    /// The latest NVD modification.
    pub last_modified: Option<String>,
    /// NVD's description.
    pub description: Option<String>,
}

impl ThreatContext {
    /// Builds the context from what is stored.
    pub fn build(nvd: &[NvdRecord], kev: &KevCatalog, epss: &[EpssScore]) -> ThreatContext {
        ThreatContext {
            cpe: CpeIndex::build(nvd),
            nvd: nvd
                .iter()
                .map(|r| (r.id.clone(), NvdSummary::of(r)))
                .collect(),
            kev: kev
                .entries
                .iter()
                .map(|e| (e.cve_id.clone(), e.clone()))
                .collect(),
            epss: epss
                .iter()
                .map(|s| (s.cve.clone(), (s.epss, s.percentile)))
                .collect(),
        }
    }

    /// NVD's CPE configurations, for matching software that carries a CPE name.
    pub fn cpe(&self) -> &CpeIndex {
        &self.cpe
    }

    /// NVD's summary of a CVE.
    pub fn nvd(&self, cve: &str) -> Option<&NvdSummary> {
        self.nvd.get(cve)
    }

    /// The KEV entry of a CVE.
    pub fn kev(&self, cve: &str) -> Option<&KevEntry> {
        self.kev.get(cve)
    }

    /// The EPSS probability and percentile of a CVE.
    pub fn epss(&self, cve: &str) -> Option<(f64, f64)> {
        self.epss.get(cve).copied()
    }

    /// The threat facts of a vulnerability known by `ids` (its id and aliases; non-CVE ids are
    /// ignored).
    pub fn facts<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> ThreatFacts {
        let mut facts = ThreatFacts::default();
        let mut cves: Vec<&str> = ids.into_iter().filter(|id| is_cve_id(id)).collect();
        cves.sort_unstable();
        cves.dedup();
        for cve in cves {
            if let Some(n) = self.nvd.get(cve) {
                if n.cvss.unwrap_or(-1.0) > facts.nvd_cvss.unwrap_or(-1.0) {
                    facts.nvd_cvss = n.cvss;
                    facts.nvd_level = n.level;
                    facts.nvd_vector = n.vector.clone();
                }
                facts.public_exploit |= n.public_exploit;
                if facts.published.as_ref().is_none_or(|p| n.published < *p) {
                    facts.published = Some(n.published.clone());
                }
                if facts
                    .last_modified
                    .as_ref()
                    .is_none_or(|m| n.last_modified > *m)
                {
                    facts.last_modified = Some(n.last_modified.clone());
                }
                if facts.description.is_none() {
                    facts.description = n.description.clone();
                }
            }
            if let Some(k) = self.kev.get(cve) {
                facts.kev = true;
                facts.public_exploit = true;
                facts.ransomware |= k.known_ransomware_campaign_use;
                facts.kev_entries.push(k.clone());
            }
            if let Some((p, pct)) = self.epss.get(cve).copied()
                && facts.epss.is_none_or(|e| p > e)
            {
                facts.epss = Some(p);
                facts.epss_percentile = Some(pct);
            }
        }
        facts
    }
}

/// The score's facts of a weakness: the advisories' CVSS score and rating when they give a score, else
/// NVD's, with the threat context's EPSS and KEV.
pub fn weakness_facts(
    advisory_cvss: Option<f64>,
    advisory_level: Option<SeverityLevel>,
    threat: &ThreatFacts,
) -> WeaknessFacts {
    let (cvss, level) = match advisory_cvss {
        Some(score) => (Some(score), advisory_level),
        None => match threat.nvd_cvss {
            Some(score) => (Some(score), threat.nvd_level),
            None => (None, advisory_level.or(threat.nvd_level)),
        },
    };
    WeaknessFacts {
        cvss,
        level,
        epss: threat.epss,
        kev: threat.kev,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn kev(cve: &str, ransomware: bool) -> KevEntry {
        KevEntry {
            cve_id: cve.into(),
            vendor_project: "v".into(),
            product: "p".into(),
            vulnerability_name: format!("{cve} name"),
            date_added: NaiveDate::from_ymd_opt(2021, 12, 10).unwrap(),
            short_description: String::new(),
            required_action: "Apply updates.".into(),
            due_date: NaiveDate::from_ymd_opt(2021, 12, 24).unwrap(),
            known_ransomware_campaign_use: ransomware,
            notes: String::new(),
            cwes: vec![],
        }
    }

    fn context() -> ThreatContext {
        ThreatContext::build(
            &[],
            &KevCatalog {
                catalog_version: None,
                date_released: None,
                entries: vec![kev("CVE-2021-44228", true)],
            },
            &[
                EpssScore {
                    cve: "CVE-2021-44228".into(),
                    epss: 0.94,
                    percentile: 0.99,
                },
                EpssScore {
                    cve: "CVE-2021-45046".into(),
                    epss: 0.97,
                    percentile: 0.999,
                },
            ],
        )
    }

    #[test]
    fn facts_take_the_strongest_signal_of_every_cve_alias() {
        let ctx = context();
        let f = ctx.facts(["GHSA-jfh8-c2jp-5v3q", "CVE-2021-45046", "CVE-2021-44228"]);
        assert!(f.kev && f.ransomware && f.public_exploit);
        assert_eq!((f.epss, f.epss_percentile), (Some(0.97), Some(0.999)));
        assert_eq!(f.kev_entries.len(), 1);
        let none = ctx.facts(["GHSA-xxxx", "CVE-2000-0001"]);
        assert_eq!(none, ThreatFacts::default());
    }

    #[test]
    fn advisory_scores_come_first_then_nvd() {
        let threat = ThreatFacts {
            nvd_cvss: Some(9.8),
            nvd_level: Some(SeverityLevel::Critical),
            epss: Some(0.5),
            kev: true,
            ..ThreatFacts::default()
        };
        let f = weakness_facts(Some(7.5), Some(SeverityLevel::High), &threat);
        assert_eq!(
            (f.cvss, f.level, f.epss, f.kev),
            (Some(7.5), Some(SeverityLevel::High), Some(0.5), true)
        );
        let f = weakness_facts(None, Some(SeverityLevel::High), &threat);
        assert_eq!(
            (f.cvss, f.level),
            (Some(9.8), Some(SeverityLevel::Critical))
        );
        let f = weakness_facts(None, Some(SeverityLevel::Low), &ThreatFacts::default());
        assert_eq!(
            (f.cvss, f.level, f.epss, f.kev),
            (None, Some(SeverityLevel::Low), None, false)
        );
    }
}
