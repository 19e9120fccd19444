//! Threat context for CVEs: NVD records (descriptions, CVSS metrics, weaknesses, CPE configurations),
//! CISA's Known Exploited Vulnerabilities catalog and FIRST's EPSS scores, as plain values.
//!
//! The formats layer builds these from the feeds; nothing here reads anything. [`display_metric`] is the
//! rule choosing the one CVSS metric a CVE is shown with.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::advisory::SeverityLevel;
use crate::cpe::CpeConfiguration;
use crate::cvss::{CvssVersion, score_vector};

/// Whether `id` looks like a CVE id: `CVE-`, a four-digit year, `-`, then 4 to 19 digits (the pattern
/// of CISA's KEV schema and of the CVE program).
pub fn is_cve_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (4..=19).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// A text in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalizedText {
    /// The language (`en`, `es`).
    pub lang: String,
    /// The text.
    pub value: String,
}

/// One CVSS metric of an NVD record.
///
/// `base_score` is the score the record publishes, and stays what is shown. `vector_score` is what
/// [`crate::cvss::score_vector`] computes from `vector` (`None` when the vector cannot be scored). When
/// the two differ, the published score is kept and the difference is reported by
/// [`NvdRecord::score_disagreements`] (and listed by the NVD reader in the formats layer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CvssMetric {
    /// The CVSS version.
    #[serde(with = "cvss_version_serde")]
    pub version: CvssVersion,
    /// The vector string as published.
    pub vector: String,
    /// The published base score.
    pub base_score: f64,
    /// The band of the published score (NVD's v2 bands for v2, which has no Critical).
    pub level: SeverityLevel,
    /// Who scored it (`nvd@nist.gov`, a CNA's address).
    pub source: String,
    /// `true` for NVD's own (`Primary`) scoring, `false` for a CNA's or other (`Secondary`).
    pub primary: bool,
    /// The base score computed from the vector, `None` when the vector could not be scored.
    pub vector_score: Option<f64>,
}

impl CvssMetric {
    /// Builds a metric from what a record publishes, computing `vector_score` and `level`.
    pub fn new(
        version: CvssVersion,
        vector: String,
        base_score: f64,
        source: String,
        primary: bool,
    ) -> CvssMetric {
        let vector_score = score_vector(&vector)
            .ok()
            .filter(|s| s.version == version)
            .map(|s| s.score);
        CvssMetric {
            version,
            vector,
            base_score,
            level: level_for(version, base_score),
            source,
            primary,
            vector_score,
        }
    }

    /// Whether the vector does not yield the published score (or cannot be scored, or is of another
    /// version).
    pub fn score_disagrees(&self) -> bool {
        self.vector_score
            .is_none_or(|computed| (computed - self.base_score).abs() > 0.05)
    }
}

/// The band of a score: NVD's v2 bands (High from 7.0, no Critical) for v2, the specification's for
/// v3 and v4.
fn level_for(version: CvssVersion, score: f64) -> SeverityLevel {
    match version {
        CvssVersion::V2 if score >= 7.0 => SeverityLevel::High,
        _ => SeverityLevel::from_score(score),
    }
}

/// Serializes a [`CvssVersion`] as `"2.0"`, `"3.0"`, `"3.1"` or `"4.0"`.
mod cvss_version_serde {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::cvss::CvssVersion;

    pub fn serialize<S: Serializer>(v: &CvssVersion, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CvssVersion, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_cvss_version(&text)
            .ok_or_else(|| D::Error::custom(format!("`{text}` is not a CVSS version")))
    }
}

/// Parses `2.0`, `3.0`, `3.1` or `4.0`.
pub fn parse_cvss_version(text: &str) -> Option<CvssVersion> {
    Some(match text {
        "2.0" | "2" => CvssVersion::V2,
        "3.0" => CvssVersion::V30,
        "3.1" => CvssVersion::V31,
        "4.0" | "4" => CvssVersion::V40,
        _ => return None,
    })
}

/// Chooses the metric a CVE is shown with in a `cvssV3`-style field, or `None` when there is none.
///
/// The rule: the version ranks first, v3.1 > v3.0 > v4.0 > v2.0, because the field is read as a v3
/// score and v4.0 scores are not comparable with v3 ones; within a version, NVD's own (primary) scoring
/// wins over a secondary one; among equals, the first in the record wins. So a CNA's v3.1 score is shown
/// rather than NVD's primary v2.0 score of an old record, and NVD's v3.1 rather than the CNA's v3.1.
pub fn display_metric(metrics: &[CvssMetric]) -> Option<&CvssMetric> {
    let rank = |m: &CvssMetric| {
        let version = match m.version {
            CvssVersion::V31 => 3,
            CvssVersion::V30 => 2,
            CvssVersion::V40 => 1,
            CvssVersion::V2 => 0,
        };
        (version, m.primary)
    };
    let mut best: Option<&CvssMetric> = None;
    for m in metrics {
        if best.is_none_or(|b| rank(m) > rank(b)) {
            best = Some(m);
        }
    }
    best
}

/// A published score that its vector does not yield.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreDisagreement {
    /// The CVE.
    pub cve: String,
    /// Who scored it.
    pub source: String,
    /// The CVSS version.
    #[serde(with = "cvss_version_serde")]
    pub version: CvssVersion,
    /// The published score (which is kept).
    pub published: f64,
    /// The vector's score, `None` when the vector could not be scored.
    pub computed: Option<f64>,
}

impl fmt::Display for ScoreDisagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the CVSS {} score {:.1} by {} ",
            self.cve, self.version, self.published, self.source
        )?;
        match self.computed {
            Some(c) => write!(f, "differs from its vector's score {c:.1}"),
            None => write!(
                f,
                "has a vector that does not score as CVSS {}",
                self.version
            ),
        }
    }
}

/// What an NVD record says about CISA's KEV listing (`cisaExploitAdd`, `cisaActionDue`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NvdKevNotice {
    /// When CISA added the CVE to KEV.
    pub date_added: NaiveDate,
    /// When the required action is due.
    pub action_due: Option<NaiveDate>,
    /// The required action.
    pub required_action: Option<String>,
    /// CISA's name of the vulnerability.
    pub vulnerability_name: Option<String>,
}

/// One CVE as NVD describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NvdRecord {
    /// The CVE id.
    pub id: String,
    /// Who assigned or submitted it (`support@hackerone.com`), if given.
    pub source_identifier: Option<String>,
    /// RFC 3339 UTC publication time (NVD gives UTC without a zone).
    pub published: String,
    /// RFC 3339 UTC time of the last change.
    pub last_modified: String,
    /// NVD's analysis status (`Analyzed`, `Awaiting Analysis`, `Modified`, `Rejected`…).
    pub vuln_status: Option<String>,
    /// Descriptions, English first, then in record order.
    pub descriptions: Vec<LocalizedText>,
    /// CVSS metrics: v4.0, v3.1, v3.0, then v2.0, each in record order.
    pub cvss: Vec<CvssMetric>,
    /// Weakness ids (`CWE-787`, and NVD's `NVD-CWE-noinfo`/`NVD-CWE-Other`), without repeats.
    pub cwes: Vec<String>,
    /// Reference URLs.
    pub references: Vec<String>,
    /// The reference URLs NVD tags `Exploit`: a public exploit exists.
    #[serde(default)]
    pub exploit_references: Vec<String>,
    /// The CPE applicability configurations (empty when NVD has not analysed the CVE).
    pub configurations: Vec<CpeConfiguration>,
    /// CISA's KEV data, when the record carries it.
    pub kev: Option<NvdKevNotice>,
}

impl NvdRecord {
    /// The English description, else the first one.
    pub fn description(&self) -> Option<&str> {
        self.descriptions.first().map(|d| d.value.as_str())
    }

    /// The metric the record is shown with; see [`display_metric`].
    pub fn display_metric(&self) -> Option<&CvssMetric> {
        display_metric(&self.cvss)
    }

    /// The metrics whose published score the vector does not yield.
    pub fn score_disagreements(&self) -> Vec<ScoreDisagreement> {
        self.cvss
            .iter()
            .filter(|m| m.score_disagrees())
            .map(|m| ScoreDisagreement {
                cve: self.id.clone(),
                source: m.source.clone(),
                version: m.version,
                published: m.base_score,
                computed: m.vector_score,
            })
            .collect()
    }

    /// Whether NVD rejected the CVE.
    pub fn is_rejected(&self) -> bool {
        self.vuln_status.as_deref() == Some("Rejected")
    }
}

/// One entry of CISA's Known Exploited Vulnerabilities catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KevEntry {
    /// The CVE id.
    pub cve_id: String,
    /// The vendor or project.
    pub vendor_project: String,
    /// The product.
    pub product: String,
    /// CISA's name of the vulnerability.
    pub vulnerability_name: String,
    /// When CISA added it.
    pub date_added: NaiveDate,
    /// A short description.
    pub short_description: String,
    /// What must be done.
    pub required_action: String,
    /// By when (for US federal agencies).
    pub due_date: NaiveDate,
    /// Whether it is known to be used in ransomware campaigns (`Known`); `Unknown` is `false`.
    pub known_ransomware_campaign_use: bool,
    /// Notes, usually reference URLs separated by ` ; ` (empty when none).
    pub notes: String,
    /// Weakness ids (`CWE-502`).
    pub cwes: Vec<String>,
}

/// CISA's KEV catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KevCatalog {
    /// The catalog version (`2025.08.25`); the CSV form does not carry it.
    pub catalog_version: Option<String>,
    /// RFC 3339 UTC release time; the CSV form does not carry it.
    pub date_released: Option<String>,
    /// The entries, in catalog order.
    pub entries: Vec<KevEntry>,
}

impl KevCatalog {
    /// The entry of a CVE, if listed.
    pub fn entry(&self, cve: &str) -> Option<&KevEntry> {
        self.entries.iter().find(|e| e.cve_id == cve)
    }
}

/// One CVE's EPSS score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    /// The CVE id.
    pub cve: String,
    /// The probability of exploitation activity in the next 30 days, 0 to 1.
    pub epss: f64,
    /// The share of CVEs scored at or below this one, 0 to 1.
    pub percentile: f64,
}

/// A set of EPSS scores, with the model and date the official file names in its first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpssSet {
    /// The model version (`v2025.03.14`), when the file names it.
    pub model_version: Option<String>,
    /// The score date (`2025-03-15T12:55:00Z`), when the file names it.
    pub score_date: Option<String>,
    /// The scores, in file order.
    pub scores: Vec<EpssScore>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(version: CvssVersion, primary: bool, vector: &str, score: f64) -> CvssMetric {
        CvssMetric::new(version, vector.into(), score, "x".into(), primary)
    }

    const VEC31: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    const VEC30: &str = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H";
    const VEC40: &str = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
    const VEC2: &str = "AV:N/AC:L/Au:N/C:C/I:C/A:C";

    fn chosen(metrics: &[CvssMetric]) -> Option<(CvssVersion, bool)> {
        display_metric(metrics).map(|m| (m.version, m.primary))
    }

    #[test]
    fn display_rule() {
        use CvssVersion::*;
        let all = [
            metric(V2, true, VEC2, 10.0),
            metric(V40, true, VEC40, 9.3),
            metric(V30, false, VEC30, 10.0),
            metric(V31, false, VEC31, 9.8),
            metric(V31, true, VEC31, 9.8),
        ];
        assert_eq!(chosen(&all), Some((V31, true)));
        assert_eq!(chosen(&all[..4]), Some((V31, false)));
        assert_eq!(chosen(&all[..3]), Some((V30, false)));
        assert_eq!(chosen(&all[..2]), Some((V40, true)));
        assert_eq!(chosen(&all[..1]), Some((V2, true)));
        assert_eq!(chosen(&[]), None);
        // The first of equals.
        let twins = [
            CvssMetric::new(V31, VEC31.into(), 9.8, "a".into(), true),
            CvssMetric::new(V31, VEC31.into(), 9.8, "b".into(), true),
        ];
        assert_eq!(display_metric(&twins).map(|m| m.source.as_str()), Some("a"));
    }

    #[test]
    fn disagreements_are_kept_and_reported() {
        let agrees = metric(CvssVersion::V31, true, VEC31, 9.8);
        assert_eq!(agrees.vector_score, Some(9.8));
        assert!(!agrees.score_disagrees());
        let differs = metric(CvssVersion::V31, true, VEC31, 7.5);
        assert_eq!(
            (differs.base_score, differs.vector_score, differs.level),
            (7.5, Some(9.8), SeverityLevel::High)
        );
        assert!(differs.score_disagrees());
        let unscorable = metric(CvssVersion::V31, true, "CVSS:3.1/AV:N", 5.0);
        assert_eq!(unscorable.vector_score, None);
        assert!(unscorable.score_disagrees());
        // A v3.0 vector filed as v3.1 is not taken as confirming the v3.1 score.
        let wrong_version = metric(CvssVersion::V31, true, VEC30, 10.0);
        assert_eq!(wrong_version.vector_score, None);
        let reported = ScoreDisagreement {
            cve: "CVE-2024-0001".into(),
            source: "x".into(),
            version: wrong_version.version,
            published: wrong_version.base_score,
            computed: wrong_version.vector_score,
        };
        assert_eq!(
            reported.to_string(),
            "CVE-2024-0001: the CVSS 3.1 score 10.0 by x has a vector that does not score as CVSS 3.1"
        );
        // v2 has no Critical band.
        assert_eq!(
            metric(CvssVersion::V2, true, VEC2, 10.0).level,
            SeverityLevel::High
        );
    }

    #[test]
    fn cve_ids() {
        for ok in ["CVE-2024-6387", "CVE-1999-0001", "CVE-2021-1234567"] {
            assert!(is_cve_id(ok), "{ok}");
        }
        for bad in [
            "",
            "CVE-2024-638",
            "cve-2024-6387",
            "CVE-24-6387",
            "CVE-2024-6387 ",
            "GHSA-xxxx",
            "CVE-2024-12345678901234567890",
            "CVE-202a-6387",
        ] {
            assert!(!is_cve_id(bad), "{bad}");
        }
    }
}
