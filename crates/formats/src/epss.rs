//! FIRST EPSS scores in: the official daily CSV (`epss_scores-YYYY-MM-DD.csv`, plain or gzip, told apart
//! by the gzip magic bytes) and the per-year files of the EMBA crawl of FIRST's API, streamed row by row
//! into core [`EpssScore`] values.
//!
//! The official file starts with `#model_version:v2025.03.14,score_date:2025-03-15T12:55:00Z`, then the
//! header `cve,epss,percentile`; both lines are optional (older files lack the first). The EMBA files
//! have no header and separate by `;` (`CVE-2024-6387;0.995060000;0.999420000`). The separator is taken
//! from the first data line. Every row must have a CVE id and two numbers in [0, 1]; the first bad row
//! ends the read with an error naming its line (counted from the start of the file, comment included).

use std::io::{BufRead, BufReader, Cursor, Read};

use bulwark_core::threat::{EpssScore, EpssSet, is_cve_id};
use flate2::read::MultiGzDecoder;

use crate::error::FormatError;

/// The longest accepted first line (`#model_version:…`) or header, in bytes.
pub const MAX_HEADER_BYTES: usize = 4 * 1024;
/// The longest accepted field, in bytes (a CVE id is at most 28, a score 20 or so).
pub const MAX_FIELD_BYTES: usize = 64;

/// Which layout a file turned out to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpssLayout {
    /// FIRST's daily file: `,`-separated, with the `cve,epss,percentile` header.
    Official,
    /// The EMBA crawl: `;`-separated, no header.
    Emba,
    /// `,`-separated without a header, or an empty file.
    Headerless,
}

/// What [`read_epss`] saw.
#[derive(Debug, Clone, PartialEq)]
pub struct EpssReadReport {
    /// The model version of the first line, if any.
    pub model_version: Option<String>,
    /// The score date of the first line, if any.
    pub score_date: Option<String>,
    /// The layout.
    pub layout: EpssLayout,
    /// Rows handed to the sink.
    pub rows: u64,
    /// Whether the input was gzip-compressed.
    pub gzip: bool,
}

/// Whether `bytes` look like an EPSS file: gzip, or text starting with `#model_version`, the header
/// `cve,epss`, or a row `CVE-…` followed by `,` or `;` and a number.
pub fn is_epss(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return true;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"#model_version") || bytes.starts_with(b"cve,epss") {
        return true;
    }
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let fields: Vec<&[u8]> = line
        .split(|b| *b == b',' || *b == b';')
        .map(|f| f.trim_ascii())
        .collect();
    fields.len() == 3
        && std::str::from_utf8(fields[0]).is_ok_and(is_cve_id)
        && std::str::from_utf8(fields[1]).is_ok_and(|s| s.parse::<f64>().is_ok())
}

/// Parses a whole EPSS file held in memory.
pub fn parse_epss(file: &str, bytes: &[u8]) -> Result<EpssSet, FormatError> {
    let mut scores = Vec::new();
    let report = read_epss(file, bytes, &mut |score| scores.push(score))?;
    Ok(EpssSet {
        model_version: report.model_version,
        score_date: report.score_date,
        scores,
    })
}

/// Streams an EPSS file from `reader`, handing each score to `sink` as soon as it is read.
///
/// Stops at the first invalid row with an error naming its line.
pub fn read_epss(
    file: &str,
    reader: impl Read,
    sink: &mut dyn FnMut(EpssScore),
) -> Result<EpssReadReport, FormatError> {
    let io = |source| FormatError::Io {
        file: file.to_string(),
        source,
    };
    let mut buffered = BufReader::new(reader);
    let gzip = buffered.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::new(MultiGzDecoder::new(buffered)))
    } else {
        Box::new(buffered)
    };
    let mut report = EpssReadReport {
        model_version: None,
        score_date: None,
        layout: EpssLayout::Headerless,
        rows: 0,
        gzip,
    };
    let mut line_number = 1u64;
    let mut first = read_line(file, &mut reader, line_number)?;
    if first.starts_with(b"\xEF\xBB\xBF") {
        first.drain(..3);
    }
    if first.first() == Some(&b'#') {
        read_metadata(file, &first, &mut report)?;
        line_number += 1;
        first = read_line(file, &mut reader, line_number)?;
    }
    let first_text = strip_eol(&first);
    let delimiter = if first_text.contains(&b';') {
        b';'
    } else {
        b','
    };
    let has_header = first_text
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"cve"))
        && first_text.get(3) == Some(&delimiter);
    if has_header {
        let columns: Vec<&[u8]> = first_text.split(|b| *b == delimiter).collect();
        if columns != [&b"cve"[..], b"epss", b"percentile"] {
            return Err(FormatError::parse(
                file,
                format!("line {line_number}"),
                format!(
                    "the header is `{}`, expected `cve,epss,percentile`",
                    String::from_utf8_lossy(first_text)
                ),
            ));
        }
        line_number += 1;
        first.clear();
    }
    report.layout = match (delimiter, has_header) {
        (b';', _) => EpssLayout::Emba,
        (_, true) => EpssLayout::Official,
        _ => EpssLayout::Headerless,
    };
    // `line_number` is now the line the csv reader starts at.
    let offset = line_number - 1;
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(Cursor::new(first).chain(reader));
    let mut row = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = offset + e.position().map_or(0, |p| p.line());
                return Err(match e.into_kind() {
                    csv::ErrorKind::Io(source) => io(source),
                    other => FormatError::parse(file, format!("line {line}"), format!("{other:?}")),
                });
            }
        }
        let line = offset + row.position().map_or(0, |p| p.line());
        sink(
            score(&row)
                .map_err(|message| FormatError::parse(file, format!("line {line}"), message))?,
        );
        report.rows += 1;
    }
    Ok(report)
}

/// Reads one line (with its end) of at most [`MAX_HEADER_BYTES`].
fn read_line(file: &str, reader: &mut dyn BufRead, line: u64) -> Result<Vec<u8>, FormatError> {
    let mut buf = Vec::new();
    reader
        .take(MAX_HEADER_BYTES as u64 + 1)
        .read_until(b'\n', &mut buf)
        .map_err(|source| FormatError::Io {
            file: file.to_string(),
            source,
        })?;
    if buf.len() > MAX_HEADER_BYTES {
        return Err(FormatError::parse(
            file,
            format!("line {line}"),
            format!("the line is longer than {MAX_HEADER_BYTES} bytes"),
        ));
    }
    Ok(buf)
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads `#model_version:v2025.03.14,score_date:2025-03-15T12:55:00Z` (other keys are ignored).
fn read_metadata(file: &str, line: &[u8], report: &mut EpssReadReport) -> Result<(), FormatError> {
    let bad = |message: String| FormatError::parse(file, "line 1", message);
    let text = std::str::from_utf8(strip_eol(line))
        .map_err(|_| bad("the first line is not valid UTF-8".to_string()))?;
    let body = text.trim_start_matches('#');
    for item in body.split(',') {
        let Some((key, value)) = item.split_once(':') else {
            return Err(bad(format!(
                "`{item}` is not a `key:value` pair of the first line"
            )));
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(bad(format!("{} has no value", key.trim())));
        }
        match key.trim() {
            "model_version" => report.model_version = Some(value.to_string()),
            "score_date" => {
                chrono::DateTime::parse_from_rfc3339(value)
                    .map_err(|_| bad(format!("score_date `{value}` is not an RFC 3339 time")))?;
                report.score_date = Some(value.to_string());
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks one row.
fn score(row: &csv::ByteRecord) -> Result<EpssScore, String> {
    if row.len() != 3 {
        return Err(format!(
            "expected 3 fields (cve, epss, percentile), found {}",
            row.len()
        ));
    }
    let field = |index: usize, name: &str| -> Result<&str, String> {
        let raw = &row[index];
        if raw.len() > MAX_FIELD_BYTES {
            return Err(format!(
                "{name} is {} bytes long, more than the {MAX_FIELD_BYTES} allowed",
                raw.len()
            ));
        }
        std::str::from_utf8(raw).map_err(|_| format!("{name} is not valid UTF-8"))
    };
    let cve = field(0, "cve")?;
    if !is_cve_id(cve) {
        return Err(format!("`{cve}` is not a CVE id (CVE-YYYY-NNNN)"));
    }
    let probability = |index: usize, name: &str| -> Result<f64, String> {
        let text = field(index, name)?;
        let value: f64 = text
            .parse()
            .map_err(|_| format!("{name} `{text}` is not a number"))?;
        if !(0.0..=1.0).contains(&value) {
            return Err(format!("{name} `{text}` is not between 0 and 1"));
        }
        Ok(value)
    };
    Ok(EpssScore {
        cve: cve.to_string(),
        epss: probability(1, "epss")?,
        percentile: probability(2, "percentile")?,
    })
}
