//! Advisories in Bulwark's internal form (the OSV model, validated): what is affected and how badly.

use serde::{Deserialize, Serialize};

use crate::ecosystem::EcosystemRelease;

/// One advisory record (an OSV record once parsed and checked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The record's id (`RUSTSEC-2021-0001`, `GHSA-…`, `PYSEC-…`, `ALSA-…`).
    pub id: String,
    /// Other ids of the same vulnerability (`CVE-…`, `GHSA-…`).
    pub aliases: Vec<String>,
    /// Ids of related but different vulnerabilities.
    pub related: Vec<String>,
    /// RFC 3339 time of the last change; decides whether a re-import replaces the stored record.
    pub modified: String,
    /// RFC 3339 publication time, if given.
    pub published: Option<String>,
    /// RFC 3339 withdrawal time; a withdrawn record never matches.
    pub withdrawn: Option<String>,
    /// One-line summary.
    pub summary: Option<String>,
    /// Longer description (Markdown).
    pub details: Option<String>,
    /// The most relevant severity (highest CVSS version given, else the database's own rating).
    pub severity: Option<Severity>,
    /// What is affected.
    pub affected: Vec<Affected>,
    /// Set when the record is informational (unmaintained, unsound, notice) rather than a vulnerability.
    pub informational: Option<String>,
    /// Reference URLs.
    pub references: Vec<String>,
}

impl Advisory {
    /// True when this record is a warning (informational) and not a vulnerability.
    pub fn is_informational(&self) -> bool {
        self.informational.is_some()
    }

    /// The id that names this vulnerability to people: the first CVE alias if there is one, else the id.
    pub fn display_id(&self) -> &str {
        if self.id.starts_with("CVE-") {
            return &self.id;
        }
        self.aliases
            .iter()
            .find(|a| a.starts_with("CVE-"))
            .map(String::as_str)
            .unwrap_or(&self.id)
    }
}

/// Qualitative severity, as CVSS v3/v4 define the bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SeverityLevel {
    /// No rating (CVSS 0.0).
    None,
    /// CVSS 0.1–3.9.
    Low,
    /// CVSS 4.0–6.9.
    Medium,
    /// CVSS 7.0–8.9.
    High,
    /// CVSS 9.0–10.0.
    Critical,
}

impl SeverityLevel {
    /// The band a CVSS base score falls in.
    pub fn from_score(score: f64) -> SeverityLevel {
        if score <= 0.0 {
            SeverityLevel::None
        } else if score < 4.0 {
            SeverityLevel::Low
        } else if score < 7.0 {
            SeverityLevel::Medium
        } else if score < 9.0 {
            SeverityLevel::High
        } else {
            SeverityLevel::Critical
        }
    }

    /// Parses a database's own rating ("HIGH", "moderate", "Important"…).
    pub fn from_label(label: &str) -> Option<SeverityLevel> {
        let l = label.trim().to_ascii_lowercase();
        Some(match l.as_str() {
            "none" | "unknown" | "negligible" => SeverityLevel::None,
            "low" => SeverityLevel::Low,
            "medium" | "moderate" => SeverityLevel::Medium,
            "high" | "important" => SeverityLevel::High,
            "critical" => SeverityLevel::Critical,
            _ => return None,
        })
    }

    /// The label MDVM uses (`Low`, `Medium`, `High`, `Critical`; `None` for no rating).
    pub fn label(self) -> &'static str {
        match self {
            SeverityLevel::None => "None",
            SeverityLevel::Low => "Low",
            SeverityLevel::Medium => "Medium",
            SeverityLevel::High => "High",
            SeverityLevel::Critical => "Critical",
        }
    }
}

/// A severity assessment: a CVSS vector with its base score, or only a database's qualitative rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    /// The qualitative band.
    pub level: SeverityLevel,
    /// The CVSS base score, when a vector was given.
    pub score: Option<f64>,
    /// The CVSS vector string, when given.
    pub vector: Option<String>,
}

/// One affected package of an advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// Ecosystem and release the package lives in.
    pub ecosystem: EcosystemRelease,
    /// The package name as the advisory gives it.
    pub name: String,
    /// The package URL, when given.
    pub purl: Option<String>,
    /// Version ranges.
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    pub versions: Vec<String>,
    /// Set when this entry is informational (`unmaintained`, `unsound`, `notice`).
    pub informational: Option<String>,
}

/// How the events of a range are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RangeKind {
    /// SemVer 2.0 ordering, whatever the ecosystem.
    Semver,
    /// The ecosystem's own ordering.
    Ecosystem,
    /// Git commits: stored, but matched only through the explicit `versions` list.
    Git,
}

/// One event of a range, in the order the record gives them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// The version that introduced the vulnerability (`"0"`: all earlier versions).
    Introduced(String),
    /// The first version that fixes it.
    Fixed(String),
    /// The last version known to be affected.
    LastAffected(String),
    /// An upper bound of the range (exclusive).
    Limit(String),
}

/// A range of affected versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// How the events are ordered.
    pub kind: RangeKind,
    /// The repository, for GIT ranges.
    pub repo: Option<String>,
    /// The events.
    pub events: Vec<Event>,
}
