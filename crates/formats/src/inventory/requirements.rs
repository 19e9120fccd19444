//! pip's `requirements.txt`: the Python packages a project pins.
//!
//! Only a requirement pinned to one version (`name==1.2.3`, `name===1.2.3`, with or without extras
//! `name[a,b]==1`, environment markers after `;` and per-requirement options such as `--hash=`) says what is
//! installed; everything else — ranges (`>=`, `~=`, `==1.*`), bare names, URLs and local paths, `-e`, and the
//! files that `-r`/`-c` include — becomes an [`InventoryNote`] "not assessable: …" with its line number.
//! Line handling follows pip's own `req_file.py`: a line ending in `\` continues on the next one unless it
//! holds a comment, `#` at the start of a line or after whitespace starts a comment, CRLF is accepted.
//!
//! Names stay as written (`Django`, `django_celery_results`): PEP 503 normalisation happens when matching.
//! Environment markers are not evaluated, so a package pinned only for another platform is still reported.
//!
//! This module also holds the small text helpers the other parsers share ([`utf8`], [`head`], [`window`]).

use bulwark_core::{Ecosystem, EcosystemRelease, InstalledPackage, Inventory, InventoryNote};
use packageurl::PackageUrl;

use crate::FormatError;

/// The longest package name or version accepted; longer values are hostile input.
const MAX_VALUE_LEN: usize = 4096;

/// How much of a file the `detect` functions of the line-based formats look at.
const DETECT_WINDOW: usize = 64 * 1024;

/// Global options that say where to download from or how to build, not what is installed.
const GLOBAL_OPTIONS: &[&str] = &[
    "-i",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "-f",
    "--find-links",
    "--trusted-host",
    "--pre",
    "--prefer-binary",
    "--require-hashes",
    "--only-binary",
    "--no-binary",
    "--use-feature",
    "--config-settings",
    "--global-option",
    "-Z",
    "--always-unzip",
];

/// True when every requirement line in the first 64 KiB parses as pip would read it and at least one of them
/// names a package with a version specifier.
pub fn detect(bytes: &[u8]) -> bool {
    let text = head(bytes);
    if text.trim_start().starts_with(['{', '[', '<']) {
        return false;
    }
    let mut versioned = false;
    for (_, line) in logical_lines(text) {
        match classify(&line) {
            Entry::Blank | Entry::Ignored | Entry::NotAssessable { .. } => {}
            Entry::Pinned { .. } => versioned = true,
            Entry::Unpinned { has_specifier, .. } => versioned |= has_specifier,
            Entry::Invalid(_) => return false,
        }
    }
    versioned
}

/// Parses a requirements file; `file` names it in errors.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Inventory, FormatError> {
    let text = utf8(file, bytes)?;
    let mut inventory = Inventory::default();
    for (number, line) in logical_lines(text) {
        let location = format!("line {number}");
        match classify(&line) {
            Entry::Blank | Entry::Ignored => {}
            Entry::Pinned { name, version } => {
                for (what, value) in [("name", name), ("version", version)] {
                    if value.len() > MAX_VALUE_LEN {
                        return Err(FormatError::parse(
                            file,
                            location,
                            format!(
                                "package {what} is {} bytes long (the limit is {MAX_VALUE_LEN})",
                                value.len()
                            ),
                        ));
                    }
                }
                inventory.packages.push(pypi_package(name, version));
            }
            Entry::Unpinned { requirement, .. } => inventory.notes.push(InventoryNote {
                location,
                message: format!(
                    "not assessable: {requirement} is not pinned to one version with =="
                ),
            }),
            Entry::NotAssessable { what } => inventory.notes.push(InventoryNote {
                location,
                message: format!("not assessable: {what}"),
            }),
            Entry::Invalid(message) => return Err(FormatError::parse(file, location, message)),
        }
    }
    Ok(inventory)
}

/// A PyPI package with its purl.
pub(crate) fn pypi_package(name: &str, version: &str) -> InstalledPackage {
    let mut package =
        InstalledPackage::new(EcosystemRelease::new(Ecosystem::PyPI, None), name, version);
    package.purl = PackageUrl::new("pypi", name)
        .ok()
        .map(|mut p| p.with_version(version).to_string());
    package
}

/// What one logical line of a requirements file says.
#[derive(Debug)]
enum Entry<'a> {
    /// Empty or only a comment.
    Blank,
    /// A global option that does not name a package.
    Ignored,
    /// A package pinned to one version.
    Pinned { name: &'a str, version: &'a str },
    /// A package by name, with a range or no version at all.
    Unpinned {
        requirement: &'a str,
        has_specifier: bool,
    },
    /// A line that names software in a way that cannot be matched (URL, path, editable, included file).
    NotAssessable { what: String },
    /// Not something pip accepts.
    Invalid(String),
}

/// Reads one logical line (continuations already joined).
fn classify(line: &str) -> Entry<'_> {
    let line = strip_comment(line).trim();
    if line.is_empty() {
        return Entry::Blank;
    }
    if line.starts_with('-') {
        return classify_option(line);
    }
    // Per-requirement options (`--hash=…`, `--config-settings …`) follow the requirement after whitespace.
    let requirement = match line.find(" -").into_iter().chain(line.find("\t-")).min() {
        Some(at) => line[..at].trim_end(),
        None => line,
    };
    let shown = shorten(requirement);
    if requirement.contains("://") || requirement.starts_with("file:") {
        return Entry::NotAssessable {
            what: format!("{shown} is installed from a URL, not from a PyPI release"),
        };
    }
    if requirement.starts_with(['.', '/', '~', '\\'])
        || requirement.ends_with(".whl")
        || requirement.ends_with(".tar.gz")
        || requirement.ends_with(".zip")
    {
        return Entry::NotAssessable {
            what: format!("{shown} is installed from a local path, not from a PyPI release"),
        };
    }
    let (body, _markers) = match requirement.split_once(';') {
        Some((body, markers)) => (body.trim(), Some(markers)),
        None => (requirement, None),
    };
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(body.len());
    let name = &body[..name_len];
    let valid_name = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_name {
        return Entry::Invalid(format!(
            "expected a requirement such as `name==1.0`, found {shown:?}"
        ));
    }
    let mut rest = body[name_len..].trim_start();
    if let Some(after) = rest.strip_prefix('[') {
        let Some((extras, after)) = after.split_once(']') else {
            return Entry::Invalid(format!("the extras of {shown:?} are not closed with `]`"));
        };
        if !extras.split(',').all(|e| {
            e.trim()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        }) {
            return Entry::Invalid(format!("the extras of {shown:?} are not names"));
        }
        rest = after.trim_start();
    }
    if rest.starts_with('@') {
        return Entry::NotAssessable {
            what: format!("{shown} is installed from a URL, not from a PyPI release"),
        };
    }
    let spec = rest
        .strip_prefix('(')
        .and_then(|s| s.trim_end().strip_suffix(')'))
        .unwrap_or(rest)
        .trim();
    if spec.is_empty() {
        return Entry::Unpinned {
            requirement: body,
            has_specifier: false,
        };
    }
    let mut pinned = None;
    for clause in spec.split(',') {
        let clause = clause.trim();
        let Some((op, version)) = ["===", "==", "!=", "~=", "<=", ">=", "<", ">"]
            .iter()
            .find_map(|op| clause.strip_prefix(op).map(|v| (*op, v.trim())))
        else {
            return Entry::Invalid(format!(
                "{clause:?} in {shown:?} is not a version specifier"
            ));
        };
        if version.is_empty() || version.contains(char::is_whitespace) {
            return Entry::Invalid(format!(
                "{clause:?} in {shown:?} has no version or a version with spaces"
            ));
        }
        // PEP 440 versions (and `==` wildcards) use these characters; `===` compares arbitrary strings.
        let pep440 =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '+' | '!' | '-' | '_');
        if op != "===" && !version.chars().all(pep440) {
            return Entry::Invalid(format!("{clause:?} in {shown:?} is not a PEP 440 version"));
        }
        match op {
            "===" => pinned = Some(version),
            "==" if !version.contains('*') => pinned = Some(version),
            _ => {}
        }
    }
    match pinned {
        Some(version) => Entry::Pinned { name, version },
        None => Entry::Unpinned {
            requirement: body,
            has_specifier: true,
        },
    }
}

/// Reads a line that starts with `-`.
fn classify_option(line: &str) -> Entry<'_> {
    let option = line
        .split(|c: char| c.is_whitespace() || c == '=')
        .next()
        .unwrap_or(line);
    let argument = line[option.len()..]
        .trim_start_matches(|c: char| c.is_whitespace() || c == '=')
        .trim();
    match option {
        "-r" | "--requirement" | "-c" | "--constraint" => Entry::NotAssessable {
            what: format!(
                "{option} {} includes another file, which is read on its own",
                shorten(argument)
            ),
        },
        "-e" | "--editable" => Entry::NotAssessable {
            what: format!(
                "{option} {} is an editable install from source",
                shorten(argument)
            ),
        },
        _ if GLOBAL_OPTIONS.contains(&option) => Entry::Ignored,
        _ => Entry::Invalid(format!(
            "{:?} is not a pip requirements-file option",
            shorten(option)
        )),
    }
}

/// Removes a comment: `#` at the start of the line or after whitespace (pip's `COMMENT_RE`).
fn strip_comment(line: &str) -> &str {
    comment_start(line).map_or(line, |at| &line[..at])
}

fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    bytes
        .iter()
        .enumerate()
        .find(|&(i, &b)| b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()))
        .map(|(i, _)| i)
}

/// The logical lines of a requirements file with the number of their first physical line: a line ending in
/// `\` is joined with the next, unless it holds a comment (pip's `join_lines`).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let continued = line.ends_with('\\') && comment_start(line).is_none();
        match (&mut pending, continued) {
            (Some((_, joined)), true) => joined.push_str(line.trim_end_matches('\\')),
            (None, true) => pending = Some((index + 1, line.trim_end_matches('\\').to_string())),
            (Some(_), false) => {
                let (start, mut joined) = pending.take().unwrap_or_default();
                if comment_start(line).is_some_and(|at| line[..at].trim().is_empty()) {
                    // A comment line ends the continuation; pip prefixes it with a space so it stays a comment.
                    joined.push(' ');
                }
                joined.push_str(line);
                out.push((start, joined));
            }
            (None, false) => out.push((index + 1, line.to_string())),
        }
    }
    if let Some(last) = pending {
        out.push(last);
    }
    out
}

/// The first 80 characters of `text`, for messages about hostile input.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(80).collect();
        short.push('…');
        short
    }
}

/// Decodes a text file as UTF-8 (dropping a byte-order mark); the error names the line of the first bad byte.
pub(crate) fn utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        FormatError::parse(file, format!("line {line}"), "not valid UTF-8")
    })
}

/// The complete lines in the first 64 KiB of `bytes` as text (empty when that is not UTF-8), for `detect`.
pub(crate) fn head(bytes: &[u8]) -> &str {
    let text = window(bytes);
    if text.len() < bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes).len() {
        // The window cut the file: drop the line it cut in the middle.
        text.rsplit_once('\n').map_or("", |(complete, _)| complete)
    } else {
        text
    }
}

/// The first 64 KiB of `bytes` as text, without a byte-order mark (empty when that is not UTF-8), for the
/// `detect` functions of formats that may be written on one long line (JSON).
pub(crate) fn window(bytes: &[u8]) -> &str {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let window = &bytes[..bytes.len().min(DETECT_WINDOW)];
    match std::str::from_utf8(window) {
        Ok(text) => text,
        // A multi-byte character cut by the window is fine; anything else is not text.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => "",
    }
}
