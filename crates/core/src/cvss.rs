//! CVSS base scores and qualitative severities for v2.0, v3.0, v3.1 and v4.0 vector strings.
//!
//! Scoring is done by the RustSec `cvss` crate. Its scores were cross-checked against NVD's published
//! base scores (the test below) and, during development, against Red Hat's Python `cvss` library for
//! every possible base vector of every version (110,889 vectors, no difference). Two gaps are closed
//! here: the crate accepts v3 vectors that lack base metrics (scoring `CVSS:3.1/AV:N` as 0.0), and it
//! folds v4 threat and environmental metrics into the score; a base score must ignore them.

use std::fmt;

use crate::advisory::{Severity, SeverityLevel};

/// A CVSS version, ordered from oldest to newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CvssVersion {
    /// CVSS v2.0 (vectors without a `CVSS:` prefix).
    V2,
    /// CVSS v3.0.
    V30,
    /// CVSS v3.1.
    V31,
    /// CVSS v4.0.
    V40,
}

impl CvssVersion {
    /// The major version (2, 3 or 4), as OSV's `CVSS_V2`/`CVSS_V3`/`CVSS_V4` severity types name it.
    pub fn major(self) -> u8 {
        match self {
            CvssVersion::V2 => 2,
            CvssVersion::V30 | CvssVersion::V31 => 3,
            CvssVersion::V40 => 4,
        }
    }
}

impl fmt::Display for CvssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CvssVersion::V2 => "2.0",
            CvssVersion::V30 => "3.0",
            CvssVersion::V31 => "3.1",
            CvssVersion::V40 => "4.0",
        })
    }
}

/// A vector's base score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CvssScore {
    /// The CVSS version of the vector.
    pub version: CvssVersion,
    /// The base score, 0.0 to 10.0 with one decimal.
    pub score: f64,
    /// The qualitative band of the score.
    pub level: SeverityLevel,
}

/// Why a vector string could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    /// The string is not a CVSS vector the scorer understands.
    #[error("`{vector}` is not a valid CVSS vector: {reason}")]
    Invalid {
        /// The vector as given.
        vector: String,
        /// What the parser objected to.
        reason: String,
    },
    /// A base metric is missing, so no base score exists.
    #[error("`{vector}` lacks the base metric {metric}")]
    MissingMetric {
        /// The vector as given.
        vector: String,
        /// The missing metric's abbreviation (`AV`, `PR`…).
        metric: &'static str,
    },
}

/// The base metrics a v3 vector must carry.
const V3_BASE_METRICS: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];

/// The base metrics of CVSS v4.0; all others (threat, environmental, supplemental) do not enter the
/// base score (CVSS-B).
const V4_BASE_METRICS: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

/// Scores a CVSS v2, v3.0, v3.1 or v4.0 vector.
///
/// v2 vectors are accepted bare (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, as OSV's `CVSS_V2` gives them), in
/// parentheses (as older NVD feeds wrote them) or with a `CVSS:2.0/` prefix. Only base metrics count:
/// temporal, threat and environmental metrics in the vector are validated but do not change the score.
/// v2 scores use NVD's v2 bands (7.0 and up is High; v2 has no Critical); v3 and v4 use the
/// specification's bands.
pub fn score_vector(vector: &str) -> Result<CvssScore, CvssError> {
    let trimmed = vector.trim();
    let unwrapped = trimmed
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .unwrap_or(trimmed);
    let normalized = unwrapped.strip_prefix("CVSS:2.0/").unwrap_or(unwrapped);
    let invalid = |reason: String| CvssError::Invalid {
        vector: vector.to_string(),
        reason,
    };
    let parsed: ::cvss::Cvss = normalized
        .parse()
        .map_err(|e: ::cvss::Error| invalid(e.to_string()))?;
    let (version, score) = match &parsed {
        ::cvss::Cvss::CvssV20(v) => (CvssVersion::V2, v.score().value()),
        ::cvss::Cvss::CvssV30(v) | ::cvss::Cvss::CvssV31(v) => {
            // The crate does not insist on the base metrics of a v3 vector and would score a partial
            // vector as if the absent metrics were zero.
            let present = metric_names(normalized);
            if let Some(missing) = V3_BASE_METRICS.iter().find(|m| !present.contains(m)) {
                return Err(CvssError::MissingMetric {
                    vector: vector.to_string(),
                    metric: missing,
                });
            }
            let version = if matches!(parsed, ::cvss::Cvss::CvssV30(_)) {
                CvssVersion::V30
            } else {
                CvssVersion::V31
            };
            (version, v.base_score().value())
        }
        ::cvss::Cvss::CvssV40(_) => {
            // The full vector parsed, so it is valid; the base score is that of its base metrics alone.
            let base = base_only_v4(normalized);
            let v: ::cvss::v4::Vector = base
                .parse()
                .map_err(|e: ::cvss::Error| invalid(e.to_string()))?;
            (CvssVersion::V40, v.score().value())
        }
        other => return Err(invalid(format!("unsupported CVSS version in {other}"))),
    };
    // The crate rounds to one decimal already; rounding again removes any binary representation noise
    // so that scores compare equal to the decimal numbers feeds publish.
    let score = (score * 10.0).round() / 10.0;
    let level = match version {
        CvssVersion::V2 => v2_level(score),
        _ => SeverityLevel::from_score(score),
    };
    Ok(CvssScore {
        version,
        score,
        level,
    })
}

/// The severity of a CVSS vector (base score, band and the vector as given), or `None` when the string
/// is not a complete, valid CVSS v2/v3.0/v3.1/v4.0 vector. See [`score_vector`] for the rules.
pub fn severity_from_vector(vector: &str) -> Option<Severity> {
    let scored = score_vector(vector).ok()?;
    Some(Severity {
        level: scored.level,
        score: Some(scored.score),
        vector: Some(vector.trim().to_string()),
    })
}

/// NVD's bands for v2 base scores: Low below 4.0, Medium below 7.0, High from 7.0.
fn v2_level(score: f64) -> SeverityLevel {
    if score <= 0.0 {
        SeverityLevel::None
    } else if score < 4.0 {
        SeverityLevel::Low
    } else if score < 7.0 {
        SeverityLevel::Medium
    } else {
        SeverityLevel::High
    }
}

/// The metric abbreviations a vector names (`CVSS:3.1/AV:N/…` → `["AV", …]`).
fn metric_names(vector: &str) -> Vec<&str> {
    vector
        .split('/')
        .filter_map(|part| part.split_once(':').map(|(name, _)| name))
        .filter(|name| *name != "CVSS")
        .collect()
}

/// A v4 vector reduced to its prefix and base metrics.
fn base_only_v4(vector: &str) -> String {
    vector
        .split('/')
        .filter(|part| {
            part.split_once(':')
                .is_some_and(|(name, _)| name == "CVSS" || V4_BASE_METRICS.contains(&name))
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vector: &str, expected: Option<(CvssVersion, f64, SeverityLevel)>) {
        let got = score_vector(vector)
            .ok()
            .map(|s| (s.version, s.score, s.level));
        assert_eq!(got, expected, "scoring {vector:?}");
    }

    #[test]
    fn scores_every_version() {
        use CvssVersion::*;
        use SeverityLevel::*;
        // v2, as OSV's CVSS_V2 and NVD give it (NVD scores).
        check("AV:N/AC:L/Au:N/C:P/I:P/A:P", Some((V2, 7.5, High)));
        check("AV:N/AC:L/Au:N/C:C/I:C/A:C", Some((V2, 10.0, High)));
        check("(AV:N/AC:L/Au:N/C:C/I:C/A:C)", Some((V2, 10.0, High)));
        check("CVSS:2.0/AV:L/AC:L/Au:N/C:P/I:N/A:P", Some((V2, 3.6, Low)));
        check(
            "AV:N/AC:M/Au:N/C:N/I:P/A:N/E:U/RL:OF/RC:C",
            Some((V2, 4.3, Medium)),
        );
        check("AV:N/AC:L/Au:N/C:N/I:N/A:N", Some((V2, 0.0, None)));
        // v3.0 and v3.1 (RUSTSEC-2021-0001 is 6.1 Medium).
        check(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
            Some((V31, 6.1, Medium)),
        );
        check(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            Some((V31, 9.8, Critical)),
        );
        check(
            "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
            Some((V30, 10.0, Critical)),
        );
        check(
            "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
            Some((V31, 1.6, Low)),
        );
        check(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
            Some((V31, 0.0, None)),
        );
        // Temporal metrics do not change a base score.
        check(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C",
            Some((V31, 9.8, Critical)),
        );
        // v4.0 (scores as GitHub publishes them for these vectors).
        check(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            Some((V40, 9.3, Critical)),
        );
        check(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N",
            Some((V40, 5.3, Medium)),
        );
        check(
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            Some((V40, 8.5, High)),
        );
        // A threat metric makes the vector's CVSS-BT score 8.1, but the base score stays 9.3.
        check(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U",
            Some((V40, 9.3, Critical)),
        );
    }

    #[test]
    fn rejects_what_is_not_a_complete_vector() {
        check("", Option::None);
        check("garbage", Option::None);
        check("CVSS:5.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Option::None);
        check("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Option::None);
        check(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L",
            Option::None,
        );
        check("CVSS:4.0/AV:N/AC:L", Option::None);
        check("AV:N/AC:L", Option::None);
        // The crate itself scores this as 0.0; a partial v3 vector has no base score.
        assert_eq!(
            score_vector("CVSS:3.1/AV:N").unwrap_err(),
            CvssError::MissingMetric {
                vector: "CVSS:3.1/AV:N".to_string(),
                metric: "AC"
            }
        );
        assert_eq!(
            score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H")
                .unwrap_err()
                .to_string(),
            "`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H` lacks the base metric A"
        );
    }

    #[test]
    fn severity_carries_score_level_and_vector() {
        let s = severity_from_vector(" CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N ")
            .expect("valid vector");
        assert_eq!(s.level, SeverityLevel::Medium);
        assert_eq!(s.score, Some(6.1));
        assert_eq!(
            s.vector.as_deref(),
            Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N")
        );
        assert_eq!(severity_from_vector("CVSS:3.1/AV:N"), Option::None);
    }

    /// Every CVSS vector in the staged NVD records scores exactly as NVD published it.
    #[test]
    fn matches_nvd_published_base_scores() {
        let Some(dir) = bulwark_testdata::shared_file("advisories/nvd") else {
            return;
        };
        let mut checked = Vec::new();
        for sub in ["fkie-cad-cve", "dependency-track-fixtures"] {
            let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
                .expect("nvd folder")
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file).expect("read nvd record");
                let json: serde_json::Value = serde_json::from_str(&text).expect("nvd json");
                collect_metrics(&json, &mut |data, severity| {
                    let vector = data["vectorString"].as_str().expect("vectorString");
                    let nvd_score = data["baseScore"].as_f64().expect("baseScore");
                    let scored =
                        score_vector(vector).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                    assert_eq!(scored.score, nvd_score, "{}: {vector}", file.display());
                    let nvd_level =
                        SeverityLevel::from_label(severity).expect("NVD severity label");
                    assert_eq!(scored.level, nvd_level, "{}: {vector}", file.display());
                    let declared = data["version"].as_str().expect("version");
                    assert_eq!(
                        scored.version.to_string(),
                        declared,
                        "{}: {vector}",
                        file.display()
                    );
                    checked.push(scored.version);
                });
            }
        }
        // The staged records hold 16 scored vectors: 4 v2, 1 v3.0, 10 v3.1 and 1 v4.0.
        let count = |v: CvssVersion| checked.iter().filter(|c| **c == v).count();
        assert_eq!(
            [
                count(CvssVersion::V2),
                count(CvssVersion::V30),
                count(CvssVersion::V31),
                count(CvssVersion::V40)
            ],
            [4, 1, 10, 1]
        );
    }

    /// Calls `found(cvssData, baseSeverity)` for every NVD metric; v2 metrics keep `baseSeverity` beside
    /// `cvssData`, later versions inside it.
    fn collect_metrics(value: &serde_json::Value, found: &mut dyn FnMut(&serde_json::Value, &str)) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(data) = map.get("cvssData") {
                    let severity = data
                        .get("baseSeverity")
                        .or_else(|| map.get("baseSeverity"))
                        .and_then(|s| s.as_str())
                        .expect("baseSeverity");
                    found(data, severity);
                }
                for v in map.values() {
                    collect_metrics(v, found);
                }
            }
            serde_json::Value::Array(items) => {
                for v in items {
                    collect_metrics(v, found);
                }
            }
            _ => {}
        }
    }
}
