//! SemVer 2.0 precedence and its three dialects: lenient SemVer (OSV `SEMVER` ranges, crates.io, Hex, Pub),
//! node-semver's loose mode (npm) and Go's `golang.org/x/mod/semver` (modules, pseudo-versions).
//!
//! All three compare the same way (major, minor, patch, then prerelease identifiers; build metadata ignored);
//! they differ only in what text they accept. We parse by hand rather than with the `semver` crate because
//! that crate rejects what OSV data and npm lockfiles contain (a leading `v`, "1.2", numbers above `u64`);
//! the crate is used as an oracle in the tests instead.

use std::cmp::Ordering;

use super::num::Num;

/// A parsed SemVer-style version: the release triple and the prerelease identifiers (empty for a release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SemverLike {
    pub(crate) major: Num,
    pub(crate) minor: Num,
    pub(crate) patch: Num,
    pub(crate) pre: Box<[Ident]>,
}

/// One prerelease identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ident {
    /// All digits: compared numerically, and lower than any alphanumeric identifier.
    Numeric(Num),
    /// Anything else: compared by ASCII byte order.
    Alpha(Box<str>),
}

impl Ord for Ident {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Ident::Numeric(a), Ident::Numeric(b)) => a.cmp(b),
            (Ident::Numeric(_), Ident::Alpha(_)) => Ordering::Less,
            (Ident::Alpha(_), Ident::Numeric(_)) => Ordering::Greater,
            (Ident::Alpha(a), Ident::Alpha(b)) => a.as_bytes().cmp(b.as_bytes()),
        }
    }
}

impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SemverLike {
    fn cmp(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then_with(|| self.minor.cmp(&other.minor))
            .then_with(|| self.patch.cmp(&other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                // A release is above all of its prereleases.
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                // Slices compare element-wise, and a shorter list that is a prefix of the other is lower,
                // exactly as SemVer 2.0 §11.4.4 requires.
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for SemverLike {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Splits a dot-separated identifier list, requiring non-empty identifiers of `[0-9A-Za-z-]`.
fn idents<'t>(text: &'t str, what: &str) -> Result<Vec<&'t str>, String> {
    let parts: Vec<&str> = text.split('.').collect();
    for part in &parts {
        if part.is_empty() {
            return Err(format!("empty {what} identifier"));
        }
        if let Some(bad) = part.bytes().find(|&b| !is_ident_char(b)) {
            return Err(format!("invalid character {:?} in {what}", bad as char));
        }
    }
    Ok(parts)
}

fn is_numeric(ident: &str) -> bool {
    ident.bytes().all(|b| b.is_ascii_digit())
}

fn to_ident(ident: &str) -> Ident {
    if is_numeric(ident) {
        Ident::Numeric(Num::from_digits(ident))
    } else {
        Ident::Alpha(ident.into())
    }
}

/// Splits `core[-pre][+build]`: the prerelease starts at the first `-`, the build at the first `+`.
fn split_pre_build(text: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre), build),
        None => (rest, None, build),
    }
}

fn release_number(part: &str) -> Result<Num, String> {
    Num::parse(part).ok_or_else(|| {
        if part.is_empty() {
            "empty version component".to_string()
        } else {
            format!("{part:?} is not a number")
        }
    })
}

/// Lenient SemVer for OSV data. Leniency, beyond SemVer 2.0: surrounding whitespace, one leading `v`, a
/// release with one or two parts ("1", "1.2" mean "1.0.0", "1.2.0") and leading zeros in the release parts
/// ("1.02" is "1.2"). Prerelease and build identifiers follow SemVer strictly (numeric prerelease
/// identifiers without leading zeros).
pub(crate) fn parse_semver(text: &str) -> Result<SemverLike, String> {
    let text = text.trim();
    let text = text.strip_prefix('v').unwrap_or(text);
    if text.is_empty() {
        return Err("empty version".into());
    }
    let (core, pre, build) = split_pre_build(text);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 {
        return Err(format!(
            "{} release components, at most 3 allowed",
            parts.len()
        ));
    }
    let mut numbers = [Num::ZERO, Num::ZERO, Num::ZERO];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        *slot = release_number(part)?;
    }
    let pre = match pre {
        Some(pre) => strict_prerelease(pre)?,
        None => Box::default(),
    };
    if let Some(build) = build {
        idents(build, "build metadata")?;
    }
    let [major, minor, patch] = numbers;
    Ok(SemverLike {
        major,
        minor,
        patch,
        pre,
    })
}

/// node-semver's `MAX_LENGTH`: longer strings are rejected before matching.
const NPM_MAX_LENGTH: usize = 256;
/// node-semver's `MAX_SAFE_INTEGER` bound on major, minor and patch.
const NPM_MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// node-semver in loose mode (`new SemVer(v, { loose: true })`), as npm reads lockfiles and the registry:
/// `^[v=\s]*(\d+)\.(\d+)\.(\d+)(?:-?(pre))?(?:\+(build))?$` after trimming, where numbers may have leading
/// zeros, the `-` before the prerelease is optional, and numeric prerelease identifiers compare as numbers.
pub(crate) fn parse_npm(text: &str) -> Result<SemverLike, String> {
    if text.len() > NPM_MAX_LENGTH {
        return Err(format!(
            "longer than npm's limit of {NPM_MAX_LENGTH} characters"
        ));
    }
    let text = text
        .trim()
        .trim_start_matches(|c: char| c == 'v' || c == '=' || c.is_whitespace());
    if text.is_empty() {
        return Err("empty version".into());
    }
    let (main, build) = match text.split_once('+') {
        Some((main, build)) => (main, Some(build)),
        None => (text, None),
    };
    // The release is three runs of digits; whatever follows the third run is the prerelease.
    let bytes = main.as_bytes();
    let mut numbers = Vec::with_capacity(3);
    let mut pos = 0;
    for index in 0..3 {
        if index > 0 {
            if bytes.get(pos) != Some(&b'.') {
                return Err("expected MAJOR.MINOR.PATCH".into());
            }
            pos += 1;
        }
        let start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        let number = release_number(&main[start..pos])?;
        if number.as_u64().is_none_or(|n| n > NPM_MAX_SAFE_INTEGER) {
            return Err(format!(
                "{} is above npm's largest safe integer",
                &main[start..pos]
            ));
        }
        numbers.push(number);
    }
    let rest = &main[pos..];
    let pre: Box<[Ident]> = if rest.is_empty() {
        Box::default()
    } else {
        // The regex `-?(ident(\.ident)*)` first tries to consume the dash; when what follows it is not an
        // identifier list, it backtracks and the dash becomes part of the first identifier.
        let list = match rest
            .strip_prefix('-')
            .map(|after| idents(after, "prerelease"))
        {
            Some(Ok(list)) => list,
            _ => idents(rest, "prerelease")?,
        };
        list.into_iter().map(to_ident).collect()
    };
    if let Some(build) = build {
        idents(build, "build metadata")?;
    }
    let mut numbers = numbers.into_iter();
    let mut next = || numbers.next().unwrap_or(Num::ZERO);
    Ok(SemverLike {
        major: next(),
        minor: next(),
        patch: next(),
        pre,
    })
}

/// Go module versions as `golang.org/x/mod/semver` parses them, except that the leading `v` is optional
/// (OSV Go records omit it, go.mod has it). "v1" and "v1.2" are shorthands for "v1.0.0" and "v1.2.0" (without
/// prerelease or build); numbers and numeric prerelease identifiers have no leading zeros; build metadata such
/// as `+incompatible` is ignored for ordering. Pseudo-versions are ordinary prereleases.
pub(crate) fn parse_go(text: &str) -> Result<SemverLike, String> {
    let body = text.strip_prefix('v').unwrap_or(text);
    let bytes = body.as_bytes();
    let mut pos = 0;
    let mut numbers = [Num::ZERO, Num::ZERO, Num::ZERO];
    for (index, slot) in numbers.iter_mut().enumerate() {
        if index > 0 {
            // Earlier iterations returned at the end of the text, so a separator is here.
            if bytes[pos] != b'.' {
                return Err(format!(
                    "unexpected {:?} after version number",
                    bytes[pos] as char
                ));
            }
            pos += 1;
        }
        let start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        let digits = &body[start..pos];
        if digits.len() > 1 && digits.starts_with('0') {
            return Err(format!("version number {digits:?} has a leading zero"));
        }
        *slot = release_number(digits)?;
        if index < 2 && pos == bytes.len() {
            // "v1" and "v1.2" are shorthands for "v1.0.0" and "v1.2.0"; they carry no prerelease or build.
            let [major, minor, patch] = numbers;
            return Ok(SemverLike {
                major,
                minor,
                patch,
                pre: Box::default(),
            });
        }
    }
    let rest = &body[pos..];
    let (pre, build) = match rest.as_bytes().first() {
        None => (None, None),
        Some(b'-' | b'+') => {
            let (_, pre, build) = split_pre_build(rest);
            (pre, build)
        }
        Some(&other) => {
            return Err(format!(
                "unexpected {:?} after patch version",
                other as char
            ));
        }
    };
    let pre = match pre {
        Some(pre) => strict_prerelease(pre)?,
        None => Box::default(),
    };
    if let Some(build) = build {
        idents(build, "build metadata")?;
    }
    let [major, minor, patch] = numbers;
    Ok(SemverLike {
        major,
        minor,
        patch,
        pre,
    })
}

/// A SemVer 2.0 prerelease: non-empty identifiers, numeric ones without leading zeros.
fn strict_prerelease(pre: &str) -> Result<Box<[Ident]>, String> {
    let list = idents(pre, "prerelease")?;
    if let Some(bad) = list
        .iter()
        .find(|i| i.len() > 1 && i.starts_with('0') && is_numeric(i))
    {
        return Err(format!(
            "numeric prerelease identifier {bad:?} has a leading zero"
        ));
    }
    Ok(list.into_iter().map(to_ident).collect())
}
