//! The metadata file of one installed Python distribution: `*.dist-info/METADATA` (wheels, PEP 566) or
//! `*.egg-info/PKG-INFO` (setuptools, and distutils' single-file `*.egg-info`), as found in a
//! `site-packages` or `dist-packages` directory.
//!
//! The file is a block of RFC 822-style headers (`Name: PyYAML`, `Version: 6.0`), optionally followed by a
//! blank line and the long description. Only `Name` and `Version` matter here; header names are compared
//! case-insensitively, as Python's `email` parser does, and lines that start with whitespace continue the
//! header above (a folded `License:` or `Description:`), so they are never mistaken for headers. Only the
//! two values read must be UTF-8: old `PKG-INFO` files written in Latin-1 still parse.
//!
//! The name stays as written (`PyYAML`, `typing_extensions`): PEP 503 normalisation happens when matching,
//! as for requirements files. One file is one package; walking a directory of them is the caller's job.

use bulwark_core::Inventory;

use crate::FormatError;

/// The longest name or version accepted; longer values are hostile input.
const MAX_VALUE_LEN: usize = 4096;

/// How many lines [`detect`] looks at.
const DETECT_LINES: usize = 64;

/// True when the first line is a `Metadata-Version:` header and a `Name:` header follows in the first lines.
pub fn detect(bytes: &[u8]) -> bool {
    let mut lines = bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take(DETECT_LINES);
    let first = lines.next().unwrap_or_default();
    let first = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    if !matches!(header(first), Some((key, _)) if key.eq_ignore_ascii_case(b"Metadata-Version")) {
        return false;
    }
    lines
        .take_while(|l| !l.is_empty())
        .any(|l| matches!(header(l), Some((key, _)) if key.eq_ignore_ascii_case(b"Name")))
}

/// Parses one `METADATA` or `PKG-INFO` file into an inventory of one PyPI package; `file` names it in errors.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (mut name, mut version) = (None, None);
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            // The headers end at the first blank line; the description follows.
            break;
        }
        let Some((key, value)) = header(line) else {
            continue;
        };
        let slot = if key.eq_ignore_ascii_case(b"Name") {
            &mut name
        } else if key.eq_ignore_ascii_case(b"Version") {
            &mut version
        } else {
            continue;
        };
        let location = format!("line {}", index + 1);
        let what = String::from_utf8_lossy(key).into_owned();
        if slot.is_some() {
            return Err(FormatError::parse(
                file,
                location,
                format!("the {what} header is given twice"),
            ));
        }
        let value = std::str::from_utf8(value)
            .map_err(|_| FormatError::parse(file, &location, format!("{what} is not UTF-8")))?
            .trim();
        check_value(file, &location, &what, value)?;
        *slot = Some((location, value));
    }
    let Some((name_at, name)) = name else {
        return Err(FormatError::parse(
            file,
            "headers",
            "no Name: header (not the metadata of a Python distribution)",
        ));
    };
    if !is_distribution_name(name) {
        return Err(FormatError::parse(
            file,
            name_at,
            format!("{name:?} is not a Python distribution name (PEP 508)"),
        ));
    }
    let Some((_, version)) = version else {
        return Err(FormatError::parse(
            file,
            "headers",
            format!("{name} has no Version: header"),
        ));
    };
    Ok(Inventory {
        packages: vec![super::requirements::pypi_package(name, version)],
        ..Inventory::default()
    })
}

/// Splits a `Key: value` header line; `None` for a continuation line or a line without a colon.
fn header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if line.first().is_none_or(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let colon = line.iter().position(|&b| b == b':')?;
    let key = &line[..colon];
    if !key.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some((key, &line[colon + 1..]))
}

fn check_value(file: &str, location: &str, what: &str, value: &str) -> Result<(), FormatError> {
    if value.is_empty() {
        return Err(FormatError::parse(
            file,
            location,
            format!("{what} is empty"),
        ));
    }
    if value.len() > MAX_VALUE_LEN {
        return Err(FormatError::parse(
            file,
            location,
            format!(
                "{what} is {} bytes long (the limit is {MAX_VALUE_LEN})",
                value.len()
            ),
        ));
    }
    if value.contains(char::is_whitespace) {
        return Err(FormatError::parse(
            file,
            location,
            format!("{what} {value:?} contains whitespace"),
        ));
    }
    Ok(())
}

/// PEP 508's name rule: ASCII letters and digits, with `.`, `_` and `-` inside.
fn is_distribution_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` and renders the package as `name version purl`, or the error.
    fn check(text: &str, expected: &str) {
        let got = match parse("METADATA", text.as_bytes()) {
            Ok(inventory) => inventory
                .packages
                .iter()
                .map(|p| {
                    format!(
                        "{} {} {} {}",
                        p.ecosystem.ecosystem,
                        p.name,
                        p.version,
                        p.purl.as_deref().unwrap_or("-")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expected, "{text}");
    }

    #[test]
    fn wheel_metadata() {
        check(
            "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\nSummary: YAML parser and emitter\n\
             Classifier: Programming Language :: Python\n\nName: not-a-header\n",
            "PyPI PyYAML 6.0 pkg:pypi/pyyaml@6.0",
        );
    }

    #[test]
    fn headers_are_case_insensitive_and_crlf_is_accepted() {
        check(
            "metadata-version: 1.1\r\nNAME: typing_extensions\r\nversion:4.12.2\r\n",
            "PyPI typing_extensions 4.12.2 pkg:pypi/typing-extensions@4.12.2",
        );
    }

    #[test]
    fn folded_headers_are_not_read_as_headers() {
        check(
            "Metadata-Version: 1.0\nName: crcmod\nLicense: MIT\n        Name: fake\n        Version: 9\n\
             Version: 1.7\n",
            "PyPI crcmod 1.7 pkg:pypi/crcmod@1.7",
        );
    }

    #[test]
    fn latin1_elsewhere_is_accepted() {
        let mut bytes = b"Metadata-Version: 1.0\nName: old\nVersion: 0.1\nAuthor: Jos".to_vec();
        bytes.extend_from_slice(&[0xE9, b'\n']);
        let inventory = parse("PKG-INFO", &bytes).expect("parses");
        assert_eq!(inventory.packages[0].name, "old");
    }

    #[test]
    fn the_description_body_is_not_read() {
        check(
            "Metadata-Version: 2.1\nName: a\n\nVersion: 1.0\n",
            "error: METADATA: headers: a has no Version: header",
        );
    }

    #[test]
    fn errors_name_the_line() {
        check(
            "Metadata-Version: 2.1\nVersion: 1.0\n",
            "error: METADATA: headers: no Name: header (not the metadata of a Python distribution)",
        );
        check(
            "Metadata-Version: 2.1\nName: -bad\nVersion: 1.0\n",
            "error: METADATA: line 2: \"-bad\" is not a Python distribution name (PEP 508)",
        );
        check(
            "Metadata-Version: 2.1\nName: a\nVersion: 1.0\nVersion: 2.0\n",
            "error: METADATA: line 4: the Version header is given twice",
        );
        check(
            "Metadata-Version: 2.1\nName: a\nVersion: 1 0\n",
            "error: METADATA: line 3: Version \"1 0\" contains whitespace",
        );
        check(
            "Metadata-Version: 2.1\nName: a\nVersion:\n",
            "error: METADATA: line 3: Version is empty",
        );
        let mut bytes = b"Metadata-Version: 2.1\nName: a".to_vec();
        bytes.push(0xFF);
        assert_eq!(
            parse("METADATA", &bytes).map_err(|e| e.to_string()).err(),
            Some("METADATA: line 2: Name is not UTF-8".to_string())
        );
    }

    #[test]
    fn detection() {
        assert!(detect(b"Metadata-Version: 2.1\nName: a\nVersion: 1\n"));
        assert!(detect(b"\xEF\xBB\xBFMetadata-Version: 1.0\r\nName: a\r\n"));
        assert!(!detect(b"Name: a\nVersion: 1\n"));
        assert!(!detect(b"Metadata-Version: 2.1\n\nName: a\n"));
        assert!(!detect(b"Package: curl\nStatus: install ok installed\n"));
    }
}
