//! Advisory feeds that are not OSV — Alpine's secdb, Red Hat's CSAF VEX, RubySec's ruby-advisory-db and
//! the Node.js security WG database — recognised by their content and converted into core [`Advisory`]
//! values that the matcher evaluates exactly like OSV records.
//!
//! Each feed lives in its own module with `detect(bytes)` (a cheap look at the bytes, never at the file
//! name) and `convert(file, bytes)`; this module names the feeds, dispatches, and holds what they share:
//! reading JSON or YAML with the place of every error, dates, severities, and version sets
//! (`intervals`), which turn requirement languages (RubyGems, node-semver) into OSV
//! `introduced`/`fixed`/`last_affected` events. [`crate::osv::read_advisories`] tries these feeds on
//! every walked document that is not OSV.
//!
//! What the feeds do not date: Alpine's secdb carries no time at all, so its records get the Unix epoch
//! as `modified` ([`UNDATED`]); RubySec gives one `date` (the disclosure), used as both `published` and
//! `modified`. A store that replaces a record only when `modified` is newer keeps the first import of such
//! a record until it is deleted.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bulwark_core::{Advisory, Severity, SeverityLevel};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::de::DeserializeOwned;

use crate::error::FormatError;

pub mod alpine;
pub mod csaf;
mod intervals;
pub mod nodejs;
pub mod rubysec;

/// The `modified` time of records whose feed gives none (the Unix epoch).
pub const UNDATED: &str = "1970-01-01T00:00:00Z";

/// The longest version requirement or range accepted, in bytes (real ones stay under 200): set
/// operations grow with the number of constraints, so hostile lengths are refused up front.
pub const MAX_RANGE_BYTES: usize = 4096;

/// A non-OSV advisory feed Bulwark converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feed {
    /// Alpine secdb: legacy YAML (`v3.x/main.yaml`) and per-package JSON (`3.18/main/openssl.json`).
    AlpineSecdb,
    /// CSAF 2.0 documents (Red Hat's per-CVE VEX files and security advisories).
    Csaf,
    /// RubySec's ruby-advisory-db YAML (`gems/<gem>/<id>.yml`, `rubies/<engine>/<id>.yml`).
    RubySec,
    /// The Node.js security WG database (`vuln/npm/<id>.json`, `vuln/core/<id>.json`, their indexes).
    NodejsSecurityWg,
}

/// Every feed, in the order detection tries them (the most specific markers first).
pub const ALL_FEEDS: [Feed; 4] = [
    Feed::Csaf,
    Feed::AlpineSecdb,
    Feed::RubySec,
    Feed::NodejsSecurityWg,
];

impl Feed {
    /// The feed's name, as [`crate::osv::ReadReport::feed_advisories`] counts it.
    pub fn name(self) -> &'static str {
        match self {
            Feed::AlpineSecdb => "alpine-secdb",
            Feed::Csaf => "csaf",
            Feed::RubySec => "rubysec",
            Feed::NodejsSecurityWg => "nodejs-security-wg",
        }
    }

    /// True when `bytes` look like this feed (a cheap check on the content).
    pub fn detect(self, bytes: &[u8]) -> bool {
        match self {
            Feed::AlpineSecdb => alpine::detect(bytes),
            Feed::Csaf => csaf::detect(bytes),
            Feed::RubySec => rubysec::detect(bytes),
            Feed::NodejsSecurityWg => nodejs::detect(bytes),
        }
    }

    /// Converts one document of this feed; `file` names it in errors.
    pub fn convert(self, file: &str, bytes: &[u8]) -> Result<Converted, FormatError> {
        match self {
            Feed::AlpineSecdb => alpine::convert(file, bytes),
            Feed::Csaf => csaf::convert(file, bytes),
            Feed::RubySec => rubysec::convert(file, bytes),
            Feed::NodejsSecurityWg => nodejs::convert(file, bytes),
        }
    }
}

/// The first feed whose detection accepts `bytes`.
pub fn detect(bytes: &[u8]) -> Option<Feed> {
    ALL_FEEDS.into_iter().find(|feed| feed.detect(bytes))
}

/// What one feed document converted to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Converted {
    /// The advisories, in document order.
    pub advisories: Vec<Advisory>,
    /// Entries deliberately not converted, by reason (`Ruby interpreter advisory`, `Alpine secfix "0"
    /// (not affected)`, …), with how many.
    pub skipped: BTreeMap<String, u64>,
}

impl Converted {
    /// Counts one entry left out for `reason`.
    pub(crate) fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }
}

/// True when `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// True when some line of `bytes` starts with `prefix` (a top-level YAML key, for instance).
pub(crate) fn has_line_starting_with(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes
        .split(|&b| b == b'\n')
        .any(|line| line.starts_with(prefix))
}

/// True when the first non-blank byte opens a JSON object or array.
pub(crate) fn is_json(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    matches!(
        bytes.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Reads a JSON (content opening with `{` or `[`) or YAML document straight into `T`, so that nothing is
/// lost on the way (a YAML mapping with a repeated key keeps both entries where `T` asks for pairs).
///
/// Errors name the JSON path of a value of the wrong shape (`$.packages[3].pkg.name`), or the line and
/// column of a syntax error.
pub(crate) fn read_document<T: DeserializeOwned>(
    file: &str,
    bytes: &[u8],
) -> Result<T, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FormatError::parse(file, "line 1", "the document is empty"));
    }
    if is_json(bytes) {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = json_path(e.path());
            let inner = e.into_inner();
            if inner.is_data() {
                FormatError::parse(file, path, strip_position(&inner.to_string()))
            } else {
                json_syntax_error(file, &inner)
            }
        })?;
        de.end().map_err(|e| json_syntax_error(file, &e))?;
        Ok(value)
    } else {
        let de = serde_yaml::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = json_path(e.path());
            let inner = e.into_inner();
            let full = strip_position(&inner.to_string());
            // serde_yaml writes a value's path first (`packages[0].pkg: invalid type…`): such an error is
            // about a value, named by its path. Others are syntax errors, named by line and column.
            let yaml_path = format!("{}: ", path.trim_start_matches('$').trim_start_matches('.'));
            match (full.strip_prefix(&yaml_path), inner.location()) {
                (Some(rest), _) if path != "$" => FormatError::parse(file, path, rest),
                (_, Some(at)) => {
                    let position = format!(" at line {} column {}", at.line(), at.column());
                    FormatError::parse(
                        file,
                        format!("line {}, column {}", at.line(), at.column()),
                        full.replace(&position, ""),
                    )
                }
                (_, None) => FormatError::parse(file, path, full),
            }
        })
    }
}

fn json_syntax_error(file: &str, e: &serde_json::Error) -> FormatError {
    FormatError::parse(
        file,
        format!("line {}, column {}", e.line(), e.column()),
        strip_position(&e.to_string()),
    )
}

/// Deserializes a value already read (an element of an index file) into `T`, naming the path under `at`.
pub(crate) fn from_value<T: DeserializeOwned>(
    file: &str,
    at: &str,
    value: serde_json::Value,
) -> Result<T, FormatError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = json_path(e.path());
        let location = format!("{at}{}", path.strip_prefix('$').unwrap_or(&path));
        FormatError::parse(file, location, strip_position(&e.into_inner().to_string()))
    })
}

/// `$.a[2].b` from serde_path_to_error's path.
fn json_path(path: &serde_path_to_error::Path) -> String {
    let mut location = "$".to_string();
    for segment in path.iter() {
        // Writing to a String cannot fail.
        let _ = match segment {
            serde_path_to_error::Segment::Seq { index } => write!(location, "[{index}]"),
            serde_path_to_error::Segment::Map { key } => write!(location, ".{key}"),
            serde_path_to_error::Segment::Enum { variant } => write!(location, ".{variant}"),
            serde_path_to_error::Segment::Unknown => write!(location, ".?"),
        };
    }
    location
}

/// Drops the ` at line L column C` that serde's messages end with (the location says it already).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at)
            if message[at + 9..]
                .split_once(" column ")
                .is_some_and(|(l, c)| {
                    l.bytes().all(|b| b.is_ascii_digit()) && c.bytes().all(|b| b.is_ascii_digit())
                }) =>
        {
            message[..at].to_string()
        }
        _ => message.to_string(),
    }
}

/// A time as the feeds write it — RFC 3339 (`2025-11-21T14:31:32+00:00`) or a date (`2016-04-28`, taken as
/// midnight UTC) — normalised to UTC (`2025-11-21T14:31:32Z`) as the OSV reader does.
pub(crate) fn timestamp(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) => Ok(format!("{}T00:00:00Z", date.format("%Y-%m-%d"))),
        Err(_) => Err(format!(
            "`{}` is neither an RFC 3339 time nor a YYYY-MM-DD date",
            shorten(text)
        )),
    }
}

/// At most 64 characters of `text`, for messages.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Checks a free-text field's length against the OSV reader's limits; blank text is no text.
pub(crate) fn bounded_text(
    file: &str,
    location: &str,
    text: Option<String>,
    max: usize,
) -> Result<Option<String>, FormatError> {
    match text {
        Some(t) if t.len() > max => Err(FormatError::parse(
            file,
            location,
            format!(
                "the text is {} bytes long, more than the {max} allowed",
                t.len()
            ),
        )),
        Some(t) if t.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// The severity of a bare CVSS base score (no vector): NVD's v2 bands (no Critical) or the v3/v4 bands.
pub(crate) fn score_severity(score: f64, cvss_v2: bool) -> Option<Severity> {
    if !(0.0..=10.0).contains(&score) {
        return None;
    }
    let level = if cvss_v2 && score >= 7.0 {
        SeverityLevel::High
    } else {
        SeverityLevel::from_score(score)
    };
    Some(Severity {
        level,
        score: Some(score),
        vector: None,
    })
}

/// `n + 1` for a string of decimal digits of any length (`"0099"` → `"100"`).
pub(crate) fn increment_decimal(digits: &str) -> String {
    let trimmed = digits.trim_start_matches('0');
    let mut out: Vec<u8> = trimmed.bytes().collect();
    let mut i = out.len();
    loop {
        if i == 0 {
            out.insert(0, b'1');
            break;
        }
        i -= 1;
        if out[i] == b'9' {
            out[i] = b'0';
        } else {
            out[i] += 1;
            break;
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A decimal number without leading zeros (`"007"` → `"7"`, `"0"` → `"0"`).
pub(crate) fn canonical_decimal(digits: &str) -> &str {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() { "0" } else { trimmed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(increment_decimal("0"), "1");
        assert_eq!(increment_decimal("9"), "10");
        assert_eq!(increment_decimal("0099"), "100");
        assert_eq!(
            increment_decimal("18446744073709551615"),
            "18446744073709551616"
        );
        assert_eq!(canonical_decimal("007"), "7");
        assert_eq!(canonical_decimal("000"), "0");
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            timestamp("2025-11-21T14:31:32+00:00").unwrap(),
            "2025-11-21T14:31:32Z"
        );
        assert_eq!(timestamp(" 2016-04-28 ").unwrap(), "2016-04-28T00:00:00Z");
        assert_eq!(
            timestamp("2016-13-45").unwrap_err(),
            "`2016-13-45` is neither an RFC 3339 time nor a YYYY-MM-DD date"
        );
    }

    #[test]
    fn positions_are_stripped_from_messages() {
        assert_eq!(
            strip_position("missing field `x` at line 3 column 7"),
            "missing field `x`"
        );
        assert_eq!(strip_position("at line one"), "at line one");
    }

    #[test]
    fn bare_scores() {
        let s = |score, v2| score_severity(score, v2).map(|s| s.level);
        assert_eq!(s(9.3, true), Some(SeverityLevel::High));
        assert_eq!(s(9.3, false), Some(SeverityLevel::Critical));
        assert_eq!(s(5.3, false), Some(SeverityLevel::Medium));
        assert_eq!(s(11.0, false), None);
    }
}
