//! NVD CVE API 2.0 JSON in: an API page (`{"resultsPerPage", "startIndex", "totalResults",
//! "vulnerabilities": [{"cve": {…}}]}`), a feed file with the same `vulnerabilities` array, a single
//! `{"cve": {…}}` wrapper, or a bare `cve` object (as the fkie-cad feed mirror stores one CVE per file),
//! turned into core [`NvdRecord`] values.
//!
//! Feed files run to hundreds of megabytes, so the document is never held whole: a serde visitor walks
//! the top-level object and the `vulnerabilities` array, and only one record at a time becomes a
//! `serde_json::Value`, which is then converted with serde_path_to_error so that an invalid record is
//! reported with its JSON path (`$.vulnerabilities[12].cve.metrics.cvssMetricV31[0].cvssData.baseScore`)
//! while the others are kept. A syntax error ends the document and names the line and column.
//!
//! CVSS metrics are scored from their vectors by core; a published score that its vector does not
//! yield is kept and listed in [`NvdReadReport::score_disagreements`].

use std::fmt::{self, Write as _};
use std::io::{BufRead, BufReader, Read};

use bulwark_core::cpe::CpeConfiguration;
use bulwark_core::cvss::CvssVersion;
use bulwark_core::threat::{
    CvssMetric, LocalizedText, NvdKevNotice, NvdRecord, ScoreDisagreement, is_cve_id,
    parse_cvss_version,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use flate2::read::MultiGzDecoder;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::FormatError;

/// The longest accepted description, in bytes (real ones stay well under 64 KiB).
pub const MAX_DESCRIPTION_BYTES: usize = 1024 * 1024;
/// The longest accepted reference URL, in bytes.
pub const MAX_URL_BYTES: usize = 16 * 1024;
/// The longest accepted short text (source, status, language, CWE id, CISA action), in bytes.
pub const MAX_SHORT_TEXT_BYTES: usize = 4 * 1024;

/// How much of the start of a document [`is_nvd`] looks at.
const SNIFF_BYTES: usize = 64 * 1024;

/// A parsed NVD document.
#[derive(Debug, Clone, PartialEq)]
pub struct NvdPage {
    /// `resultsPerPage`, for an API page.
    pub results_per_page: Option<u64>,
    /// `startIndex`, for an API page.
    pub start_index: Option<u64>,
    /// `totalResults`: the number of CVEs the query matched over all pages, for an API page.
    pub total_results: Option<u64>,
    /// The records, in document order.
    pub records: Vec<NvdRecord>,
}

/// What [`read_nvd`] saw.
#[derive(Debug, Default)]
pub struct NvdReadReport {
    /// `resultsPerPage`, for an API page.
    pub results_per_page: Option<u64>,
    /// `startIndex`, for an API page.
    pub start_index: Option<u64>,
    /// `totalResults`, for an API page.
    pub total_results: Option<u64>,
    /// Records handed to the sink.
    pub records: u64,
    /// Records that could not be converted, with their JSON paths, in document order.
    pub errors: Vec<FormatError>,
    /// Published CVSS scores that their vectors do not yield (the published score is kept).
    pub score_disagreements: Vec<ScoreDisagreement>,
}

/// Whether `bytes` look like NVD CVE API 2.0 JSON: a JSON object whose first 64 KiB name
/// `resultsPerPage`, `vulnStatus`, or both `vulnerabilities` and `cve` (CISA's KEV feed has a
/// `vulnerabilities` array too, but with `cveID`).
pub fn is_nvd(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    if head.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return false;
    }
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    has(b"\"resultsPerPage\"")
        || has(b"\"vulnStatus\"")
        || (has(b"\"vulnerabilities\"") && has(b"\"cve\""))
}

/// Parses a whole NVD document held in memory.
///
/// Returns the first error if any record is invalid; [`read_nvd`] instead keeps the valid records and
/// reports each invalid one.
pub fn parse_nvd(file: &str, bytes: &[u8]) -> Result<NvdPage, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut records = Vec::new();
    let mut first_error = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let header = stream(file, &mut de, &mut |result| match result {
        Ok(record) => records.push(record),
        Err(e) => {
            first_error.get_or_insert(e);
        }
    })?;
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(NvdPage {
        results_per_page: header.results_per_page,
        start_index: header.start_index,
        total_results: header.total_results,
        records,
    })
}

/// Streams an NVD document (plain or gzip-compressed, told apart by its first bytes) from `reader`,
/// handing each valid record to `sink` as soon as it is read.
///
/// An invalid record is recorded in [`NvdReadReport::errors`] and reading goes on; a syntax error, a
/// read error or a document that is not NVD is an `Err`.
pub fn read_nvd(
    file: &str,
    reader: impl Read,
    sink: &mut dyn FnMut(NvdRecord),
) -> Result<NvdReadReport, FormatError> {
    let mut buffered = BufReader::new(reader);
    let gzip = buffered
        .fill_buf()
        .map_err(|source| FormatError::Io {
            file: file.to_string(),
            source,
        })?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read> = if gzip {
        Box::new(BufReader::new(MultiGzDecoder::new(buffered)))
    } else {
        Box::new(buffered)
    };
    let mut report = NvdReadReport::default();
    let mut de = serde_json::Deserializer::from_reader(reader);
    let header = stream(file, &mut de, &mut |result| match result {
        Ok(record) => {
            report.records += 1;
            report
                .score_disagreements
                .extend(record.score_disagreements());
            sink(record);
        }
        Err(e) => report.errors.push(e),
    })?;
    report.results_per_page = header.results_per_page;
    report.start_index = header.start_index;
    report.total_results = header.total_results;
    Ok(report)
}

/// The page numbers of an API response.
#[derive(Debug, Default)]
struct Header {
    results_per_page: Option<u64>,
    start_index: Option<u64>,
    total_results: Option<u64>,
}

/// Walks one document, handing each record (or its error) to `each`.
fn stream<'de, R: serde_json::de::Read<'de>>(
    file: &str,
    de: &mut serde_json::Deserializer<R>,
    each: &mut dyn FnMut(Result<NvdRecord, FormatError>),
) -> Result<Header, FormatError> {
    let header = Document { file, each }
        .deserialize(&mut *de)
        .map_err(|e| json_error(file, e))?;
    de.end().map_err(|e| json_error(file, e))?;
    Ok(header)
}

/// A serde_json error as a `FormatError` naming the line and column.
pub(crate) fn json_error(file: &str, e: serde_json::Error) -> FormatError {
    if e.is_io() {
        return FormatError::Io {
            file: file.to_string(),
            source: e.into(),
        };
    }
    let (line, column) = (e.line(), e.column());
    let message = e.to_string();
    let suffix = format!(" at line {line} column {column}");
    let message = message
        .strip_suffix(&suffix)
        .map(str::to_string)
        .unwrap_or(message);
    FormatError::parse(file, format!("line {line}, column {column}"), message)
}

/// The top-level object.
struct Document<'a> {
    file: &'a str,
    each: &'a mut dyn FnMut(Result<NvdRecord, FormatError>),
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = Header;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Header, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = Header;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an NVD CVE API 2.0 object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let mut header = Header::default();
        // Keys that are neither the page's nor a wrapper's: a bare CVE object's fields, or a page's
        // small extras (`format`, `version`, `timestamp`).
        let mut rest = serde_json::Map::new();
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "vulnerabilities" => {
                    map.next_value_seed(Items {
                        file: self.file,
                        each: &mut *self.each,
                    })?;
                    found = true;
                }
                "cve" => {
                    let value: Value = map.next_value()?;
                    (self.each)(convert::<Wrapped>(self.file, "$".to_string(), wrap(value)));
                    found = true;
                }
                "resultsPerPage" => header.results_per_page = Some(map.next_value()?),
                "startIndex" => header.start_index = Some(map.next_value()?),
                "totalResults" => header.total_results = Some(map.next_value()?),
                _ => {
                    let value: Value = map.next_value()?;
                    rest.insert(key, value);
                }
            }
        }
        if found {
            return Ok(header);
        }
        if rest.contains_key("id") {
            (self.each)(convert::<RawCve>(
                self.file,
                "$".to_string(),
                Value::Object(rest),
            ));
            return Ok(header);
        }
        if rest.contains_key("CVE_Items") {
            return Err(de::Error::custom(
                "this is a legacy NVD 1.1 feed (`CVE_Items`); Bulwark reads the CVE API 2.0 format",
            ));
        }
        Err(de::Error::custom(
            "not an NVD CVE API 2.0 document: no `vulnerabilities` array, `cve` object or CVE `id`",
        ))
    }
}

/// Puts a `cve` value back under its key, so that paths read `$.cve.…`.
fn wrap(value: Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert("cve".to_string(), value);
    Value::Object(map)
}

/// The `vulnerabilities` array, read one element at a time.
struct Items<'a> {
    file: &'a str,
    each: &'a mut dyn FnMut(Result<NvdRecord, FormatError>),
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of `{\"cve\": {…}}` objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while let Some(value) = seq.next_element::<Value>()? {
            (self.each)(convert::<Wrapped>(
                self.file,
                format!("$.vulnerabilities[{index}]"),
                value,
            ));
            index += 1;
        }
        Ok(())
    }
}

/// Converts one record value, naming the JSON path of any error.
fn convert<T>(file: &str, at: String, value: Value) -> Result<NvdRecord, FormatError>
where
    T: for<'de> Deserialize<'de> + Into<NvdRecord>,
{
    located::<T>(file, at, value).map(Into::into)
}

/// Deserializes `value`, naming the JSON path (from `at`) of any error.
pub(crate) fn located<T>(file: &str, at: String, value: Value) -> Result<T, FormatError>
where
    T: for<'de> Deserialize<'de>,
{
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let mut location = at;
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

/// Why a value is not valid NVD or KEV (the serde error message; the path is added by the caller).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Invalid {
    #[error("the value is empty")]
    Empty,
    #[error("the value is {len} bytes long, more than the {max} allowed")]
    TooLong { len: usize, max: usize },
    #[error("`{0}` is not a CVE id (CVE-YYYY-NNNN)")]
    CveId(String),
    #[error("`{0}` is not an NVD time (YYYY-MM-DDThh:mm:ss.sss, UTC)")]
    Time(String),
    #[error("`{0}` is not a date (YYYY-MM-DD)")]
    Date(String),
    #[error("the score {0} is not between 0 and 10")]
    Score(f64),
    #[error("{key} holds a metric whose cvssData.version is `{version}`")]
    VersionMismatch { key: &'static str, version: String },
    #[error("`{0}` is neither `Known` nor `Unknown`")]
    Ransomware(String),
    #[error("`{0}` is not a CWE id (CWE-NNN)")]
    Cwe(String),
    #[error("`{0}` is not an RFC 3339 time")]
    Rfc3339(String),
}

/// A string of at most `MAX` bytes.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Text<const MAX: usize>(pub(crate) String);

impl<const MAX: usize> TryFrom<String> for Text<MAX> {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Text<MAX>, Invalid> {
        if raw.len() > MAX {
            return Err(Invalid::TooLong {
                len: raw.len(),
                max: MAX,
            });
        }
        Ok(Text(raw))
    }
}

/// A non-blank string of at most `MAX` bytes, trimmed.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct NonEmpty<const MAX: usize>(pub(crate) String);

impl<const MAX: usize> TryFrom<String> for NonEmpty<MAX> {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<NonEmpty<MAX>, Invalid> {
        let Text(text) = Text::<MAX>::try_from(raw)?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(Invalid::Empty);
        }
        Ok(NonEmpty(trimmed.to_string()))
    }
}

pub(crate) type Short = NonEmpty<MAX_SHORT_TEXT_BYTES>;

#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct CveId(pub(crate) String);

impl TryFrom<String> for CveId {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<CveId, Invalid> {
        if is_cve_id(&raw) {
            Ok(CveId(raw))
        } else {
            Err(Invalid::CveId(raw.chars().take(64).collect()))
        }
    }
}

/// An NVD time (`2023-10-18T04:15:11.077`, UTC without a zone; a zone is accepted too), normalised to
/// RFC 3339 UTC (`2023-10-18T04:15:11.077Z`) as OSV times are.
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct NvdTime(String);

impl TryFrom<String> for NvdTime {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<NvdTime, Invalid> {
        let text = raw.trim();
        let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|t| t.and_utc())
            .or_else(|_| DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)))
            .map_err(|_| Invalid::Time(raw.chars().take(64).collect()))?;
        Ok(NvdTime(time.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
    }
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Date(pub(crate) NaiveDate);

impl TryFrom<String> for Date {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Date, Invalid> {
        NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map(Date)
            .map_err(|_| Invalid::Date(raw.chars().take(64).collect()))
    }
}

/// A `{"cve": {…}}` element.
#[derive(Deserialize)]
struct Wrapped {
    cve: RawCve,
}

impl From<Wrapped> for NvdRecord {
    fn from(w: Wrapped) -> NvdRecord {
        w.cve.into()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCve {
    id: CveId,
    #[serde(default)]
    source_identifier: Option<Short>,
    published: NvdTime,
    last_modified: NvdTime,
    #[serde(default)]
    vuln_status: Option<Short>,
    #[serde(default)]
    descriptions: Vec<RawText>,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    weaknesses: Vec<RawWeakness>,
    #[serde(default)]
    configurations: Vec<CpeConfiguration>,
    #[serde(default)]
    references: Vec<RawReference>,
    #[serde(default)]
    cisa_exploit_add: Option<Date>,
    #[serde(default)]
    cisa_action_due: Option<Date>,
    #[serde(default)]
    cisa_required_action: Option<Short>,
    #[serde(default)]
    cisa_vulnerability_name: Option<Short>,
}

#[derive(Deserialize)]
struct RawText {
    lang: Short,
    value: Text<MAX_DESCRIPTION_BYTES>,
}

#[derive(Deserialize)]
struct RawWeakness {
    #[serde(default)]
    description: Vec<RawText>,
}

#[derive(Deserialize)]
struct RawReference {
    url: NonEmpty<MAX_URL_BYTES>,
    #[serde(default)]
    tags: Vec<NonEmpty<MAX_SHORT_TEXT_BYTES>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMetrics {
    #[serde(default)]
    cvss_metric_v40: Vec<Metric<40>>,
    #[serde(default)]
    cvss_metric_v31: Vec<Metric<31>>,
    #[serde(default)]
    cvss_metric_v30: Vec<Metric<30>>,
    #[serde(default)]
    cvss_metric_v2: Vec<Metric<2>>,
}

/// Whose scoring a metric is.
#[derive(Deserialize)]
enum MetricType {
    Primary,
    Secondary,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetric {
    source: Short,
    #[serde(rename = "type")]
    kind: MetricType,
    cvss_data: RawCvssData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvssData {
    version: Short,
    vector_string: NonEmpty<512>,
    base_score: Score,
}

#[derive(Deserialize)]
#[serde(try_from = "f64")]
struct Score(f64);

impl TryFrom<f64> for Score {
    type Error = Invalid;
    fn try_from(score: f64) -> Result<Score, Invalid> {
        if (0.0..=10.0).contains(&score) {
            Ok(Score(score))
        } else {
            Err(Invalid::Score(score))
        }
    }
}

/// A metric from the `cvssMetricV{V}` array, whose `cvssData.version` must agree with the key.
#[derive(Deserialize)]
#[serde(try_from = "RawMetric")]
struct Metric<const V: u8>(CvssMetric);

impl<const V: u8> TryFrom<RawMetric> for Metric<V> {
    type Error = Invalid;
    fn try_from(raw: RawMetric) -> Result<Metric<V>, Invalid> {
        let (key, expected) = match V {
            2 => ("cvssMetricV2", CvssVersion::V2),
            30 => ("cvssMetricV30", CvssVersion::V30),
            31 => ("cvssMetricV31", CvssVersion::V31),
            _ => ("cvssMetricV40", CvssVersion::V40),
        };
        let version = raw.cvss_data.version.0;
        if parse_cvss_version(&version) != Some(expected) {
            return Err(Invalid::VersionMismatch { key, version });
        }
        Ok(Metric(CvssMetric::new(
            expected,
            raw.cvss_data.vector_string.0,
            raw.cvss_data.base_score.0,
            raw.source.0,
            matches!(raw.kind, MetricType::Primary),
        )))
    }
}

/// English (`en`, `en-US`) first.
fn is_english(lang: &str) -> bool {
    lang.eq_ignore_ascii_case("en") || lang.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("en-"))
}

impl From<RawCve> for NvdRecord {
    fn from(raw: RawCve) -> NvdRecord {
        let mut descriptions: Vec<LocalizedText> = raw
            .descriptions
            .into_iter()
            .map(|d| LocalizedText {
                lang: d.lang.0,
                value: d.value.0,
            })
            .collect();
        descriptions.sort_by_key(|d| !is_english(&d.lang));
        let m = raw.metrics;
        let cvss = m
            .cvss_metric_v40
            .into_iter()
            .map(|x| x.0)
            .chain(m.cvss_metric_v31.into_iter().map(|x| x.0))
            .chain(m.cvss_metric_v30.into_iter().map(|x| x.0))
            .chain(m.cvss_metric_v2.into_iter().map(|x| x.0))
            .collect();
        let mut cwes: Vec<String> = Vec::new();
        for text in raw.weaknesses.into_iter().flat_map(|w| w.description) {
            let cwe = text.value.0.trim().to_string();
            if !cwe.is_empty() && !cwes.contains(&cwe) {
                cwes.push(cwe);
            }
        }
        let kev = raw.cisa_exploit_add.map(|added| NvdKevNotice {
            date_added: added.0,
            action_due: raw.cisa_action_due.map(|d| d.0),
            required_action: raw.cisa_required_action.map(|t| t.0),
            vulnerability_name: raw.cisa_vulnerability_name.map(|t| t.0),
        });
        NvdRecord {
            id: raw.id.0,
            source_identifier: raw.source_identifier.map(|s| s.0),
            published: raw.published.0,
            last_modified: raw.last_modified.0,
            vuln_status: raw.vuln_status.map(|s| s.0),
            descriptions,
            cvss,
            cwes,
            exploit_references: raw
                .references
                .iter()
                .filter(|r| r.tags.iter().any(|t| t.0 == "Exploit"))
                .map(|r| r.url.0.clone())
                .collect(),
            references: raw.references.into_iter().map(|r| r.url.0).collect(),
            configurations: raw.configurations,
            kev,
        }
    }
}
