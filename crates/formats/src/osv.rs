//! OSV advisories in: one record, a JSON array of records or an osv.dev `{"vulns": [...]}` response, as
//! JSON or YAML, checked and turned into core [`Advisory`] values; [`read_advisories`] streams them out of
//! files, directory trees and archives.
//!
//! A document is first read into a `serde_json::Value` (YAML too), so that its shape is recognised
//! before anything is converted: one record, an array, an API response, or not OSV at all. Records
//! are then converted in two steps, as in RustSec's OSV code: serde reads plain `Raw…` structs, and
//! `#[serde(try_from = "Raw…")]` conversions check them, so nothing invalid gets past this module.
//! Errors name the file and the JSON path of the offending value
//! (`$.affected[2].ranges[0].events[1]`), or the line and column of a syntax error.
//!
//! Affected entries in ecosystems Bulwark does not match (`Linux`, `OSS-Fuzz`, `SwiftURL`, package-less
//! GIT entries such as the PSF's CPython records…) are dropped from [`Advisory::affected`] and counted;
//! the advisory itself is kept even when nothing in it is matchable.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use bulwark_core::cvss::{CvssError, CvssScore, score_vector};
use bulwark_core::{
    Advisory, Affected, EcosystemRelease, Event, Range, RangeKind, Severity, SeverityLevel,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::error::FormatError;
use crate::feeds;
use crate::source::{self, SourceFile};

/// The longest accepted `id`, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// The longest accepted `summary`, in bytes (OSV asks for one line; real ones stay under 300).
pub const MAX_SUMMARY_BYTES: usize = 8 * 1024;
/// The longest accepted `details`, in bytes (real ones stay under 64 KiB).
pub const MAX_DETAILS_BYTES: usize = 1024 * 1024;

/// What a document turned out to hold.
#[derive(Debug, Clone, PartialEq)]
pub enum OsvContent {
    /// OSV records, in document order.
    Advisories(Vec<Advisory>),
    /// Valid JSON or YAML that is not OSV (a KEV feed, an SBOM, a CI workflow…).
    NotOsv,
}

/// What [`read_advisories`] did.
#[derive(Debug, Default)]
pub struct ReadReport {
    /// JSON and YAML documents read.
    pub files_read: u64,
    /// Advisories handed to the sink.
    pub advisories: u64,
    /// Documents that were neither OSV nor a feed that [`crate::feeds`] converts.
    pub not_osv: u64,
    /// Advisories converted from non-OSV feeds (included in `advisories`), by feed name
    /// ([`crate::feeds::Feed::name`]).
    pub feed_advisories: BTreeMap<String, u64>,
    /// Feed entries deliberately not converted, by reason (Ruby interpreter and Node.js core advisories,
    /// Alpine "not affected" entries, source RPMs, …).
    pub feed_skipped: BTreeMap<String, u64>,
    /// Feed advisories dropped because an earlier document of the walk gave one with the same id (the
    /// Node.js database's `index.json` repeats its folder's entries).
    pub feed_duplicates: u64,
    /// Affected entries dropped because Bulwark does not match their ecosystem, by ecosystem name
    /// (without release; `GIT` for package-less entries with only GIT ranges, `(none)` for other
    /// entries that name no ecosystem).
    pub skipped_unsupported_ecosystems: BTreeMap<String, u64>,
    /// What could not be read or parsed: first the walk's errors (IO, size, archives), then the
    /// documents' and records' errors, each group in walk order.
    pub errors: Vec<FormatError>,
}

/// Parses one document (JSON or YAML, told apart by content) holding OSV records.
///
/// Returns the first error if any record is invalid; [`read_advisories`] instead keeps a document's
/// valid records and reports each invalid one.
pub fn parse_osv(file: &str, bytes: &[u8]) -> Result<OsvContent, FormatError> {
    let mut advisories = Vec::new();
    let mut first_error = None;
    let shape = parse_records(file, bytes, &mut |result| match result {
        Ok(record) => advisories.push(record.advisory),
        Err(e) => {
            first_error.get_or_insert(e);
        }
    })?;
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(match shape {
        Shape::Records => OsvContent::Advisories(advisories),
        Shape::NotOsv => OsvContent::NotOsv,
    })
}

/// Walks `path` (a file, a directory tree or an archive; see [`source::walk`]) and hands every valid
/// advisory to `sink` as soon as it is parsed.
///
/// A document that is valid JSON or YAML but not OSV is tried as each non-OSV feed [`crate::feeds`]
/// converts (Alpine secdb, CSAF, RubySec, Node.js security WG), detected by its content; only what no
/// feed recognises counts as `not_osv`. Of feed advisories with the same id, the first is kept.
///
/// A malformed document or record is recorded in [`ReadReport::errors`] and the walk goes on; only a
/// top-level path that cannot be read is an `Err`.
pub fn read_advisories(
    path: &Path,
    sink: &mut dyn FnMut(Advisory),
) -> Result<ReadReport, FormatError> {
    let mut report = ReadReport::default();
    let mut parse_errors = Vec::new();
    let mut feed_ids: HashSet<String> = HashSet::new();
    let stats = source::walk(path, &mut |file: SourceFile<'_>| {
        visit_document(file, &mut report, &mut parse_errors, &mut feed_ids, sink);
        Ok(())
    })?;
    report.errors = stats.errors;
    report.errors.append(&mut parse_errors);
    Ok(report)
}

/// Reads one document of a walk as [`read_advisories`] does: OSV records, else a converted feed, else
/// `not_osv`. Shared with [`crate::import::read_feeds`], which first tries the threat-context feeds.
pub(crate) fn visit_document(
    file: SourceFile<'_>,
    report: &mut ReadReport,
    parse_errors: &mut Vec<FormatError>,
    feed_ids: &mut HashSet<String>,
    sink: &mut dyn FnMut(Advisory),
) {
    report.files_read += 1;
    let shape = parse_records(file.name, file.bytes, &mut |result| match result {
        Ok(record) => {
            report.advisories += 1;
            for ecosystem in record.skipped {
                *report
                    .skipped_unsupported_ecosystems
                    .entry(ecosystem)
                    .or_default() += 1;
            }
            sink(record.advisory);
        }
        Err(e) => parse_errors.push(e),
    });
    match shape {
        Ok(Shape::NotOsv) => match feeds::detect(file.bytes) {
            Some(feed) => match feed.convert(file.name, file.bytes) {
                Ok(converted) => {
                    for (reason, count) in converted.skipped {
                        *report.feed_skipped.entry(reason).or_default() += count;
                    }
                    for advisory in converted.advisories {
                        if !feed_ids.insert(advisory.id.clone()) {
                            report.feed_duplicates += 1;
                            continue;
                        }
                        report.advisories += 1;
                        *report
                            .feed_advisories
                            .entry(feed.name().to_string())
                            .or_default() += 1;
                        sink(advisory);
                    }
                }
                Err(e) => parse_errors.push(e),
            },
            None => report.not_osv += 1,
        },
        Ok(Shape::Records) => {}
        Err(e) => parse_errors.push(e),
    }
}

/// Whether a document held OSV records.
enum Shape {
    Records,
    NotOsv,
}

/// Parses a document and hands each record (or its error) to `each`. A syntax error is returned.
fn parse_records(
    file: &str,
    bytes: &[u8],
    each: &mut dyn FnMut(Result<Record, FormatError>),
) -> Result<Shape, FormatError> {
    // Fast path for the common case, one JSON record per file: straight into the typed record. Anything
    // else, and every error, goes the general way below, which finds the shape and the error's path.
    let unmarked = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if unmarked.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        && let Ok(record) = serde_json::from_slice::<Record>(unmarked)
    {
        each(Ok(record));
        return Ok(Shape::Records);
    }
    let value = parse_document(file, bytes)?;
    // `indexed`: records are elements of an array, so their paths carry an index.
    let (prefix, indexed, records) = match value {
        Value::Object(map) if looks_like_record(&map) => ("$", false, vec![Value::Object(map)]),
        Value::Object(mut map)
            if !map.contains_key("id")
                && map.keys().all(|k| k == "vulns" || k == "next_page_token")
                && map
                    .get("vulns")
                    .and_then(Value::as_array)
                    .is_some_and(|items| {
                        items
                            .first()
                            .is_none_or(|first| first.as_object().is_some_and(looks_like_record))
                    }) =>
        {
            // An osv.dev API response.
            match map.remove("vulns") {
                Some(Value::Array(items)) => ("$.vulns", true, items),
                _ => return Ok(Shape::NotOsv),
            }
        }
        Value::Array(items)
            if items
                .iter()
                .any(|item| item.as_object().is_some_and(looks_like_record)) =>
        {
            ("$", true, items)
        }
        _ => return Ok(Shape::NotOsv),
    };
    for (index, record) in records.into_iter().enumerate() {
        let at = if indexed {
            format!("{prefix}[{index}]")
        } else {
            prefix.to_string()
        };
        each(parse_record(file, &at, record));
    }
    Ok(Shape::Records)
}

/// An OSV record has an `id` and at least one key that only OSV uses at the top level. (An NVD CVE
/// record also has `id` and `published`, so neither alone is enough.)
fn looks_like_record(map: &serde_json::Map<String, Value>) -> bool {
    map.contains_key("id")
        && ["modified", "affected", "schema_version"]
            .iter()
            .any(|k| map.contains_key(*k))
}

/// Reads JSON (content opening with `{` or `[`) or else YAML into a JSON value.
fn parse_document(file: &str, bytes: &[u8]) -> Result<Value, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(FormatError::parse(file, "line 1", "the document is empty")),
        Some(b'{' | b'[') => serde_json::from_slice(bytes).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            let message = strip_position(e.to_string(), line, column);
            FormatError::parse(file, format!("line {line}, column {column}"), message)
        }),
        Some(_) => serde_yaml::from_slice(bytes).map_err(|e| match e.location() {
            Some(at) => {
                let message = strip_position(e.to_string(), at.line(), at.column());
                FormatError::parse(
                    file,
                    format!("line {}, column {}", at.line(), at.column()),
                    message,
                )
            }
            None => FormatError::parse(file, "$", e.to_string()),
        }),
    }
}

/// Drops the ` at line L column C` that serde's messages end with, as the location says it already.
fn strip_position(message: String, line: usize, column: usize) -> String {
    let suffix = format!(" at line {line} column {column}");
    match message.strip_suffix(&suffix) {
        Some(m) => m.to_string(),
        None => message,
    }
}

/// Converts one record value, naming the JSON path of any error.
fn parse_record(file: &str, at: &str, value: Value) -> Result<Record, FormatError> {
    serde_path_to_error::deserialize::<_, Record>(value).map_err(|e| {
        let mut location = at.to_string();
        for segment in e.path().iter() {
            // Writing to a String cannot fail.
            let _ = match segment {
                serde_path_to_error::Segment::Seq { index } => write!(location, "[{index}]"),
                serde_path_to_error::Segment::Map { key } => write!(location, ".{key}"),
                serde_path_to_error::Segment::Enum { variant } => write!(location, ".{variant}"),
                serde_path_to_error::Segment::Unknown => write!(location, ".?"),
            };
        }
        FormatError::parse(file, location, e.into_inner().to_string())
    })
}

/// Why a value is not valid OSV (the serde error message; the path is added by the caller).
#[derive(Debug, thiserror::Error)]
enum Invalid {
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field} is {len} bytes long, more than the {max} allowed")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} contains a control character")]
    ControlCharacter { field: &'static str },
    #[error("`{value}` is not an RFC 3339 time: {reason}")]
    Time {
        value: String,
        reason: chrono::ParseError,
    },
    #[error(
        "an event must have exactly one of introduced, fixed, last_affected, limit; this one has {0}"
    )]
    EventKeys(usize),
    #[error("the range has no events")]
    NoEvents,
    #[error("the range has no `introduced` event")]
    NoIntroduced,
    #[error("a GIT range needs a `repo`")]
    GitWithoutRepo,
    #[error("the package has no name")]
    NoPackageName,
    #[error(transparent)]
    Cvss(#[from] CvssError),
    #[error("a {declared} severity holds a CVSS {actual} vector")]
    CvssVersionMismatch { declared: String, actual: String },
}

/// Checks a text field's length.
fn bounded(field: &'static str, text: String, max: usize) -> Result<String, Invalid> {
    if text.len() > max {
        return Err(Invalid::TooLong {
            field,
            len: text.len(),
            max,
        });
    }
    Ok(text)
}

/// A record's id: non-empty, short, no control characters.
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct Id(String);

impl TryFrom<String> for Id {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Id, Invalid> {
        let id = raw.trim();
        if id.is_empty() {
            return Err(Invalid::Empty { field: "id" });
        }
        if id.chars().any(char::is_control) {
            return Err(Invalid::ControlCharacter { field: "id" });
        }
        Ok(Id(bounded("id", id.to_string(), MAX_ID_BYTES)?))
    }
}

/// An RFC 3339 time, normalised to UTC (`2021-10-19T22:14:35Z`) so that equal times are equal strings.
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct Timestamp(String);

impl TryFrom<String> for Timestamp {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Timestamp, Invalid> {
        match DateTime::parse_from_rfc3339(raw.trim()) {
            Ok(t) => Ok(Timestamp(
                t.with_timezone(&Utc)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            )),
            Err(reason) => Err(Invalid::Time {
                value: bounded("time", raw, 64).unwrap_or_else(|_| "…".to_string()),
                reason,
            }),
        }
    }
}

/// The one-line summary.
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct Summary(String);

impl TryFrom<String> for Summary {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Summary, Invalid> {
        Ok(Summary(bounded("summary", raw, MAX_SUMMARY_BYTES)?))
    }
}

/// The Markdown details.
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct Details(String);

impl TryFrom<String> for Details {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Details, Invalid> {
        Ok(Details(bounded("details", raw, MAX_DETAILS_BYTES)?))
    }
}

/// A string that must not be empty (aliases, versions, URLs).
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct NonEmpty(String);

impl TryFrom<String> for NonEmpty {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<NonEmpty, Invalid> {
        if raw.trim().is_empty() {
            return Err(Invalid::Empty { field: "the value" });
        }
        Ok(NonEmpty(raw))
    }
}

fn strings(list: Option<Vec<NonEmpty>>) -> Vec<String> {
    list.unwrap_or_default().into_iter().map(|s| s.0).collect()
}

/// A checked record, with the ecosystems of the affected entries it dropped.
#[derive(Deserialize)]
#[serde(try_from = "RawRecord")]
struct Record {
    advisory: Advisory,
    skipped: Vec<String>,
}

#[derive(Deserialize)]
struct RawRecord {
    id: Id,
    modified: Timestamp,
    #[serde(default)]
    published: Option<Timestamp>,
    #[serde(default)]
    withdrawn: Option<Timestamp>,
    #[serde(default)]
    aliases: Option<Vec<NonEmpty>>,
    #[serde(default)]
    related: Option<Vec<NonEmpty>>,
    #[serde(default)]
    summary: Option<Summary>,
    #[serde(default)]
    details: Option<Details>,
    #[serde(default)]
    severity: Option<Vec<SeverityEntry>>,
    #[serde(default)]
    affected: Option<Vec<AffectedEntry>>,
    #[serde(default)]
    references: Option<Vec<RawReference>>,
    /// Free-form by the OSV schema; only a string `severity` in it is used.
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawReference {
    url: NonEmpty,
}

impl TryFrom<RawRecord> for Record {
    type Error = Invalid;
    fn try_from(raw: RawRecord) -> Result<Record, Invalid> {
        let mut affected = Vec::new();
        let mut skipped = Vec::new();
        let mut informational = None;
        let mut affected_cvss = Vec::new();
        let mut database_cvss = Vec::new();
        let mut affected_labels = Vec::new();
        for entry in raw.affected.unwrap_or_default() {
            match entry.target {
                Target::Matched(a) => affected.push(a),
                Target::Skipped(ecosystem) => skipped.push(ecosystem),
            }
            if informational.is_none() {
                informational = entry.informational;
            }
            affected_cvss.extend(entry.severity);
            database_cvss.extend(entry.database_cvss);
            affected_labels.extend(entry.label);
        }
        let top: Vec<Rating> = raw
            .severity
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.0)
            .collect();
        let top_label = top.iter().find_map(|r| match r {
            Rating::Label(level) => Some(*level),
            Rating::Cvss { .. } => None,
        });
        let database_label = raw
            .database_specific
            .as_ref()
            .and_then(|d| label_in(d, "severity"));
        // The highest CVSS version anywhere wins over any database's own rating; a rating given for the
        // whole record wins over ratings given per package (of which the highest counts).
        let severity = best_cvss(&top)
            .or_else(|| best_cvss(&affected_cvss))
            .or_else(|| best_cvss(&database_cvss))
            .or_else(|| {
                top_label
                    .or(database_label)
                    .or(affected_labels.iter().max().copied())
                    .map(label_only)
            });
        let advisory = Advisory {
            id: raw.id.0,
            aliases: strings(raw.aliases),
            related: strings(raw.related),
            modified: raw.modified.0,
            published: raw.published.map(|t| t.0),
            withdrawn: raw.withdrawn.map(|t| t.0),
            summary: raw.summary.map(|s| s.0).filter(|s| !s.trim().is_empty()),
            details: raw.details.map(|d| d.0).filter(|d| !d.trim().is_empty()),
            severity,
            affected,
            informational,
            references: raw
                .references
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.url.0)
                .collect(),
        };
        Ok(Record { advisory, skipped })
    }
}

/// A severity the record gives: a scored CVSS vector or a database's qualitative rating.
enum Rating {
    Cvss { scored: CvssScore, vector: String },
    Label(SeverityLevel),
}

/// The rating with the highest CVSS version (the first of equals).
fn best_cvss(ratings: &[Rating]) -> Option<Severity> {
    let mut best: Option<(&CvssScore, &str)> = None;
    for rating in ratings {
        if let Rating::Cvss { scored, vector } = rating
            && best.is_none_or(|(b, _)| scored.version > b.version)
        {
            best = Some((scored, vector));
        }
    }
    best.map(|(scored, vector)| Severity {
        level: scored.level,
        score: Some(scored.score),
        vector: Some(vector.to_string()),
    })
}

fn label_only(level: SeverityLevel) -> Severity {
    Severity {
        level,
        score: None,
        vector: None,
    }
}

/// A qualitative rating stored as a string under `key` of a free-form object.
fn label_in(object: &Value, key: &str) -> Option<SeverityLevel> {
    object
        .get(key)?
        .as_str()
        .and_then(SeverityLevel::from_label)
}

/// One entry of `severity[]`; `None` for types Bulwark does not use.
#[derive(Deserialize)]
#[serde(try_from = "RawSeverity")]
struct SeverityEntry(Option<Rating>);

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

impl TryFrom<RawSeverity> for SeverityEntry {
    type Error = Invalid;
    fn try_from(raw: RawSeverity) -> Result<SeverityEntry, Invalid> {
        let declared = match raw.kind.as_str() {
            "CVSS_V2" => 2,
            "CVSS_V3" => 3,
            "CVSS_V4" => 4,
            // Ubuntu's own priority ("medium", "high"…), OSV schema 1.7.
            "Ubuntu" => {
                return Ok(SeverityEntry(
                    SeverityLevel::from_label(&raw.score).map(Rating::Label),
                ));
            }
            // Newer OSV severity types are not errors: the record is still useful without them.
            _ => return Ok(SeverityEntry(None)),
        };
        let scored = score_vector(&raw.score)?;
        if scored.version.major() != declared {
            return Err(Invalid::CvssVersionMismatch {
                declared: raw.kind,
                actual: scored.version.to_string(),
            });
        }
        Ok(SeverityEntry(Some(Rating::Cvss {
            scored,
            vector: raw.score.trim().to_string(),
        })))
    }
}

/// Where an affected entry went.
enum Target {
    /// Kept: Bulwark matches this ecosystem.
    Matched(Affected),
    /// Dropped: the ecosystem name it was counted under.
    Skipped(String),
}

/// A checked affected entry, with what it says about severity and informational status.
#[derive(Deserialize)]
#[serde(try_from = "RawAffected")]
struct AffectedEntry {
    target: Target,
    informational: Option<String>,
    severity: Vec<Rating>,
    /// RustSec's `database_specific.cvss` vector.
    database_cvss: Option<Rating>,
    /// `database_specific.severity` or `ecosystem_specific.severity`.
    label: Option<SeverityLevel>,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default)]
    ranges: Option<Vec<OsvRange>>,
    #[serde(default)]
    versions: Option<Vec<NonEmpty>>,
    #[serde(default)]
    severity: Option<Vec<SeverityEntry>>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

impl TryFrom<RawAffected> for AffectedEntry {
    type Error = Invalid;
    fn try_from(raw: RawAffected) -> Result<AffectedEntry, Invalid> {
        let ranges: Vec<Range> = raw
            .ranges
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.0)
            .collect();
        let database = raw.database_specific.as_ref();
        let informational = database
            .and_then(|d| d.get("informational"))
            .and_then(Value::as_str)
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty());
        // A database-specific vector is free-form data: one that does not score is ignored, not an error.
        let database_cvss = database
            .and_then(|d| d.get("cvss"))
            .and_then(Value::as_str)
            .and_then(|v| {
                score_vector(v).ok().map(|scored| Rating::Cvss {
                    scored,
                    vector: v.trim().to_string(),
                })
            });
        let label = database.and_then(|d| label_in(d, "severity")).or_else(|| {
            raw.ecosystem_specific
                .as_ref()
                .and_then(|e| label_in(e, "severity"))
        });
        let target = match raw.package {
            Some(Package::Known {
                ecosystem,
                name,
                purl,
            }) => Target::Matched(Affected {
                ecosystem,
                name,
                purl,
                ranges,
                versions: strings(raw.versions),
                informational: informational.clone(),
            }),
            Some(Package::Unknown(ecosystem)) if !ecosystem.is_empty() => {
                Target::Skipped(ecosystem)
            }
            _ if !ranges.is_empty() && ranges.iter().all(|r| r.kind == RangeKind::Git) => {
                Target::Skipped("GIT".to_string())
            }
            _ => Target::Skipped("(none)".to_string()),
        };
        Ok(AffectedEntry {
            target,
            informational,
            severity: raw
                .severity
                .unwrap_or_default()
                .into_iter()
                .filter_map(|s| s.0)
                .collect(),
            database_cvss,
            label,
        })
    }
}

/// An affected entry's package, in an ecosystem Bulwark matches or not.
#[derive(Deserialize)]
#[serde(try_from = "RawPackage")]
enum Package {
    Known {
        ecosystem: EcosystemRelease,
        name: String,
        purl: Option<String>,
    },
    /// The ecosystem's name without its release suffix (possibly empty).
    Unknown(String),
}

#[derive(Deserialize)]
struct RawPackage {
    #[serde(default)]
    ecosystem: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    purl: Option<String>,
}

impl TryFrom<RawPackage> for Package {
    type Error = Invalid;
    fn try_from(raw: RawPackage) -> Result<Package, Invalid> {
        let Some(ecosystem) = EcosystemRelease::parse(&raw.ecosystem) else {
            let base = raw.ecosystem.split(':').next().unwrap_or_default().trim();
            return Ok(Package::Unknown(base.to_string()));
        };
        let name = raw.name.trim();
        if name.is_empty() {
            return Err(Invalid::NoPackageName);
        }
        Ok(Package::Known {
            ecosystem,
            name: name.to_string(),
            purl: raw.purl.filter(|p| !p.trim().is_empty()),
        })
    }
}

/// A checked range.
#[derive(Deserialize)]
#[serde(try_from = "RawRange")]
struct OsvRange(Range);

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: RawRangeKind,
    #[serde(default)]
    repo: Option<String>,
    events: Vec<OsvEvent>,
}

#[derive(Deserialize)]
enum RawRangeKind {
    #[serde(rename = "SEMVER")]
    Semver,
    #[serde(rename = "ECOSYSTEM")]
    Ecosystem,
    #[serde(rename = "GIT")]
    Git,
}

impl TryFrom<RawRange> for OsvRange {
    type Error = Invalid;
    fn try_from(raw: RawRange) -> Result<OsvRange, Invalid> {
        let kind = match raw.kind {
            RawRangeKind::Semver => RangeKind::Semver,
            RawRangeKind::Ecosystem => RangeKind::Ecosystem,
            RawRangeKind::Git => RangeKind::Git,
        };
        let repo = raw.repo.filter(|r| !r.trim().is_empty());
        if kind == RangeKind::Git && repo.is_none() {
            return Err(Invalid::GitWithoutRepo);
        }
        let events: Vec<Event> = raw.events.into_iter().map(|e| e.0).collect();
        if events.is_empty() {
            return Err(Invalid::NoEvents);
        }
        if !events.iter().any(|e| matches!(e, Event::Introduced(_))) {
            return Err(Invalid::NoIntroduced);
        }
        Ok(OsvRange(Range { kind, repo, events }))
    }
}

/// A checked event: exactly one non-empty version.
#[derive(Deserialize)]
#[serde(try_from = "RawEvent")]
struct OsvEvent(Event);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    #[serde(default)]
    introduced: Option<NonEmpty>,
    #[serde(default)]
    fixed: Option<NonEmpty>,
    #[serde(default)]
    last_affected: Option<NonEmpty>,
    #[serde(default)]
    limit: Option<NonEmpty>,
}

impl TryFrom<RawEvent> for OsvEvent {
    type Error = Invalid;
    fn try_from(raw: RawEvent) -> Result<OsvEvent, Invalid> {
        let given = [&raw.introduced, &raw.fixed, &raw.last_affected, &raw.limit]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if given != 1 {
            return Err(Invalid::EventKeys(given));
        }
        let event = if let Some(v) = raw.introduced {
            Event::Introduced(v.0.trim().to_string())
        } else if let Some(v) = raw.fixed {
            Event::Fixed(v.0.trim().to_string())
        } else if let Some(v) = raw.last_affected {
            Event::LastAffected(v.0.trim().to_string())
        } else if let Some(v) = raw.limit {
            Event::Limit(v.0.trim().to_string())
        } else {
            return Err(Invalid::EventKeys(0));
        };
        Ok(OsvEvent(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_err(json: &str, location: &str, message: &str) {
        match parse_osv("t.json", json.as_bytes()) {
            Err(FormatError::Parse {
                file,
                location: got_location,
                message: got_message,
            }) => {
                assert_eq!(file, "t.json");
                assert_eq!(
                    (got_location.as_str(), got_message.as_str()),
                    (location, message),
                    "{json}"
                );
            }
            other => panic!("expected a parse error for {json}, got {other:?}"),
        }
    }

    #[test]
    fn events_need_exactly_one_key() {
        let base = |event: &str| {
            format!(
                r#"{{"id":"X-1","modified":"2024-01-01T00:00:00Z","affected":[{{"package":{{"ecosystem":"npm","name":"a"}},"ranges":[{{"type":"SEMVER","events":[{{"introduced":"0"}},{event}]}}]}}]}}"#
            )
        };
        check_err(
            &base(r#"{"introduced":"1","fixed":"2"}"#),
            "$.affected[0].ranges[0].events[1]",
            "an event must have exactly one of introduced, fixed, last_affected, limit; this one has 2",
        );
        check_err(
            &base("{}"),
            "$.affected[0].ranges[0].events[1]",
            "an event must have exactly one of introduced, fixed, last_affected, limit; this one has 0",
        );
        check_err(
            &base(r#"{"fixed":""}"#),
            "$.affected[0].ranges[0].events[1].fixed",
            "the value is empty",
        );
    }

    #[test]
    fn timestamps_are_normalised_to_utc() {
        let t = Timestamp::try_from("2024-03-01T10:00:00.5+02:00".to_string()).expect("valid time");
        assert_eq!(t.0, "2024-03-01T08:00:00.500Z");
        let t = Timestamp::try_from("2021-09-26T23:32:08.989778Z".to_string()).expect("valid time");
        assert_eq!(t.0, "2021-09-26T23:32:08.989778Z");
        assert!(Timestamp::try_from("2024-13-01T00:00:00Z".to_string()).is_err());
    }

    #[test]
    fn highest_cvss_version_wins() {
        let json = r#"{"id":"X-2","modified":"2024-01-01T00:00:00Z","severity":[
            {"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            {"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N"},
            {"type":"CVSS_V2","score":"AV:N/AC:L/Au:N/C:P/I:P/A:P"}],
            "database_specific":{"severity":"LOW"}}"#;
        let Ok(OsvContent::Advisories(a)) = parse_osv("t.json", json.as_bytes()) else {
            panic!("valid record")
        };
        let s = a[0].severity.as_ref().expect("severity");
        assert_eq!((s.score, s.level), (Some(5.3), SeverityLevel::Medium));
        assert!(
            s.vector
                .as_deref()
                .is_some_and(|v| v.starts_with("CVSS:4.0/"))
        );
    }
}
