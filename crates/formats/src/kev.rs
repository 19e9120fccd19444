//! CISA's Known Exploited Vulnerabilities catalog in: the JSON feed (`catalogVersion`, `dateReleased`,
//! `count`, `vulnerabilities[]`) and the CSV feed (a header row `cveID,vendorProject,…`, then one quoted
//! row per entry), both turned into the same core [`KevCatalog`].
//!
//! Both forms are checked the same way: CVE ids, `YYYY-MM-DD` dates, `knownRansomwareCampaignUse` of
//! `Known` or `Unknown` (absent, as in catalogs before 2022, is `Unknown`), `CWE-NNN` ids, no CVE listed
//! twice. JSON errors name the JSON path (`$.vulnerabilities[12].dueDate`), CSV errors the line (where
//! the row starts; quoted fields may span lines) and the column. The JSON `count` must equal the number
//! of entries. The catalog is about a megabyte, so it is read whole.

use std::collections::HashMap;
use std::fmt;

use bulwark_core::threat::{KevCatalog, KevEntry};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::FormatError;
use crate::nvd::{CveId, Date, Invalid, NonEmpty, Short, Text, json_error, located};

/// The longest accepted text field (description, required action, notes), in bytes; real ones stay
/// under 1 KiB.
pub const MAX_KEV_TEXT_BYTES: usize = 64 * 1024;

/// The CSV columns an entry needs, in CISA's order.
const REQUIRED_COLUMNS: [&str; 8] = [
    "cveID",
    "vendorProject",
    "product",
    "vulnerabilityName",
    "dateAdded",
    "shortDescription",
    "requiredAction",
    "dueDate",
];

/// Whether `bytes` look like the KEV catalog: a JSON object naming `catalogVersion` or
/// `knownRansomwareCampaignUse` near its start, or CSV whose header starts with `cveID,vendorProject`.
pub fn is_kev(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let head = &bytes[..bytes.len().min(16 * 1024)];
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => has(b"\"catalogVersion\"") || has(b"\"knownRansomwareCampaignUse\""),
        Some(_) => head.starts_with(b"cveID,vendorProject") || head.starts_with(b"\"cveID\","),
        None => false,
    }
}

/// Parses the catalog as JSON (content opening with `{`) or else as CSV.
///
/// Gzip-compressed input (told apart by its first bytes, as the NVD and EPSS readers do) is
/// decompressed first.
pub fn parse_kev(file: &str, bytes: &[u8]) -> Result<KevCatalog, FormatError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        // A hostile stream may inflate without end: read at most one byte past the limit.
        let limit = crate::source::MAX_MEMBER_BYTES;
        let mut plain = Vec::new();
        let decoder = flate2::read::MultiGzDecoder::new(bytes);
        std::io::Read::read_to_end(&mut std::io::Read::take(decoder, limit + 1), &mut plain)
            .map_err(|source| FormatError::Io {
                file: file.to_string(),
                source,
            })?;
        if plain.len() as u64 > limit {
            return Err(FormatError::TooLarge {
                file: file.to_string(),
                size: plain.len() as u64,
                limit,
            });
        }
        if plain.starts_with(&[0x1f, 0x8b]) {
            return Err(FormatError::parse(
                file,
                "byte 0",
                "gzip inside gzip is not a KEV catalog",
            ));
        }
        return parse_kev(file, &plain);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => parse_kev_json(file, bytes),
        Some(_) => parse_kev_csv(file, bytes),
        None => Err(FormatError::parse(file, "line 1", "the document is empty")),
    }
}

/// Parses the JSON feed.
pub fn parse_kev_json(file: &str, bytes: &[u8]) -> Result<KevCatalog, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| json_error(file, e))?;
    let raw: RawCatalog = located(file, "$".to_string(), value)?;
    if raw.count != raw.vulnerabilities.len() as u64 {
        return Err(FormatError::parse(
            file,
            "$.count",
            format!(
                "count is {} but vulnerabilities has {} entries",
                raw.count,
                raw.vulnerabilities.len()
            ),
        ));
    }
    let entries: Vec<KevEntry> = raw
        .vulnerabilities
        .into_iter()
        .map(KevEntry::from)
        .collect();
    check_unique(&entries, |index| {
        (
            file.to_string(),
            format!("$.vulnerabilities[{index}].cveID"),
        )
    })?;
    Ok(KevCatalog {
        catalog_version: Some(raw.catalog_version.0),
        date_released: Some(raw.date_released.0),
        entries,
    })
}

/// Parses the CSV feed. The CSV form carries no catalog version or release time.
pub fn parse_kev_csv(file: &str, bytes: &[u8]) -> Result<KevCatalog, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let headers = reader.headers().map_err(|e| csv_error(file, e))?.clone();
    if let Some(missing) = REQUIRED_COLUMNS
        .iter()
        .find(|c| !headers.iter().any(|h| h == **c))
    {
        return Err(FormatError::parse(
            file,
            "line 1",
            format!("the header row lacks the column `{missing}`"),
        ));
    }
    let mut entries = Vec::new();
    let mut lines = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(file, e))?;
        let line = row.position().map_or(0, |p| p.line());
        // Through a JSON object keyed by the header, so that the checks are the JSON feed's and an
        // error names its column.
        let object: serde_json::Map<String, Value> = headers
            .iter()
            .zip(row.iter())
            .map(|(name, field)| (name.to_string(), Value::String(field.to_string())))
            .collect();
        let raw: RawEntry =
            serde_path_to_error::deserialize(Value::Object(object)).map_err(|e| {
                let column = e.path().to_string();
                let location = match column.as_str() {
                    "." => format!("line {line}"),
                    name => format!("line {line}, column {name}"),
                };
                FormatError::parse(file, location, e.into_inner().to_string())
            })?;
        entries.push(KevEntry::from(raw));
        lines.push(line);
    }
    check_unique(&entries, |index| {
        (
            file.to_string(),
            format!("line {}, column cveID", lines[index]),
        )
    })?;
    Ok(KevCatalog {
        catalog_version: None,
        date_released: None,
        entries,
    })
}

/// Fails on the second listing of a CVE, naming where both are.
fn check_unique(
    entries: &[KevEntry],
    place: impl Fn(usize) -> (String, String),
) -> Result<(), FormatError> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        if let Some(first) = seen.insert(&entry.cve_id, index) {
            let (file, location) = place(index);
            let (_, first_location) = place(first);
            return Err(FormatError::parse(
                &file,
                location,
                format!(
                    "{} is listed twice (first at {first_location})",
                    entry.cve_id
                ),
            ));
        }
    }
    Ok(())
}

/// A csv error as a `FormatError` naming the line.
fn csv_error(file: &str, e: csv::Error) -> FormatError {
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(source) => FormatError::Io {
            file: file.to_string(),
            source,
        },
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let line = pos.map(|p| p.line()).or(line).unwrap_or(0);
            FormatError::parse(
                file,
                format!("line {line}"),
                format!("the row has {len} fields, the header {expected_len}"),
            )
        }
        csv::ErrorKind::Utf8 { pos, err } => {
            let line = pos.map(|p| p.line()).or(line).unwrap_or(0);
            FormatError::parse(
                file,
                format!("line {line}"),
                format!("field {} is not valid UTF-8", err.field() + 1),
            )
        }
        // Seeking is never asked for; any other kind is reported as csv describes it.
        other => FormatError::parse(
            file,
            format!("line {}", line.unwrap_or(0)),
            format!("{other:?}"),
        ),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCatalog {
    catalog_version: Short,
    date_released: Released,
    count: u64,
    vulnerabilities: Vec<RawEntry>,
}

/// The release time, normalised to RFC 3339 UTC.
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct Released(String);

impl TryFrom<String> for Released {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Released, Invalid> {
        DateTime::parse_from_rfc3339(raw.trim())
            .map(|t| {
                Released(
                    t.with_timezone(&Utc)
                        .to_rfc3339_opts(SecondsFormat::AutoSi, true),
                )
            })
            .map_err(|_| Invalid::Rfc3339(raw.chars().take(64).collect()))
    }
}

type KevText = NonEmpty<MAX_KEV_TEXT_BYTES>;

/// One entry, as both the JSON and the CSV feed name its fields.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: CveId,
    vendor_project: KevText,
    product: KevText,
    vulnerability_name: KevText,
    date_added: Date,
    short_description: KevText,
    required_action: KevText,
    due_date: Date,
    #[serde(default)]
    known_ransomware_campaign_use: Ransomware,
    #[serde(default)]
    notes: Option<Text<MAX_KEV_TEXT_BYTES>>,
    #[serde(default)]
    cwes: Cwes,
}

impl From<RawEntry> for KevEntry {
    fn from(raw: RawEntry) -> KevEntry {
        KevEntry {
            cve_id: raw.cve_id.0,
            vendor_project: raw.vendor_project.0,
            product: raw.product.0,
            vulnerability_name: raw.vulnerability_name.0,
            date_added: raw.date_added.0,
            short_description: raw.short_description.0,
            required_action: raw.required_action.0,
            due_date: raw.due_date.0,
            known_ransomware_campaign_use: raw.known_ransomware_campaign_use.0,
            notes: raw.notes.map(|n| n.0).unwrap_or_default(),
            cwes: raw.cwes.0,
        }
    }
}

/// `Known` (true) or `Unknown` (false).
#[derive(Deserialize, Default)]
#[serde(try_from = "String")]
struct Ransomware(bool);

impl TryFrom<String> for Ransomware {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Ransomware, Invalid> {
        match raw.trim() {
            "Known" => Ok(Ransomware(true)),
            "Unknown" => Ok(Ransomware(false)),
            _ => Err(Invalid::Ransomware(raw.chars().take(64).collect())),
        }
    }
}

/// CWE ids: a JSON array, or the CSV's comma-separated list (`CWE-20, CWE-400`; empty for none).
#[derive(Default)]
struct Cwes(Vec<String>);

/// Checks one CWE id.
fn cwe(text: &str) -> Result<String, Invalid> {
    let text = text.trim();
    match text.strip_prefix("CWE-") {
        Some(n) if !n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(text.to_string())
        }
        _ => Err(Invalid::Cwe(text.chars().take(64).collect())),
    }
}

impl<'de> Deserialize<'de> for Cwes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Cwes, D::Error> {
        struct CwesVisitor;
        impl<'de> Visitor<'de> for CwesVisitor {
            type Value = Cwes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of CWE ids")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Cwes, E> {
                text.split(',')
                    .filter(|part| !part.trim().is_empty())
                    .map(cwe)
                    .collect::<Result<Vec<_>, _>>()
                    .map(Cwes)
                    .map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cwes, A::Error> {
                let mut out = Vec::new();
                while let Some(text) = seq.next_element::<String>()? {
                    out.push(cwe(&text).map_err(de::Error::custom)?);
                }
                Ok(Cwes(out))
            }
        }
        deserializer.deserialize_any(CwesVisitor)
    }
}
