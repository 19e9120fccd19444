//! NuGet versions, parsed as `NuGetVersion.TryParse` and ordered as `VersionComparer.Default` (NuGet.Versioning).
//!
//! Two to four numeric parts (missing ones are 0, so "1.0" == "1.0.0" == "1.0.0.0"), each a non-negative
//! 32-bit integer with leading zeros allowed; release labels after `-`, compared numerically when they parse
//! as `int` and otherwise case-insensitively (numeric labels first); metadata after `+` ignored. NuGet has
//! no `v` prefix. No Rust crate implements this; this is a port of NuGet.Client's `NuGetVersionFactory`,
//! `SemanticVersionFactory` and `VersionComparer`.

/// A parsed NuGet version; the derived ordering is `VersionComparer.Default`'s.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NuGet {
    numbers: [u32; 4],
    labels: Labels,
}

/// Release labels: a prerelease sorts before the release.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Labels {
    Pre(Box<[Label]>),
    Release,
}

/// One release label. `int.TryParse` decides which labels are numeric; those sort first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Label {
    Number(i32),
    /// Upper-cased: `StringComparer.OrdinalIgnoreCase` compares the upper-case forms (labels are ASCII).
    Text(Box<str>),
}

fn is_label_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// `SemanticVersion.IsValidPart`: non-empty, `[0-9A-Za-z-]`, and (when not allowed) no leading zero on an
/// all-digit part.
fn check_part(part: &str, allow_leading_zeros: bool, what: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err(format!("empty {what}"));
    }
    let bytes = part.as_bytes();
    if !allow_leading_zeros
        && bytes.len() > 1
        && bytes[0] == b'0'
        && bytes[1..].iter().all(u8::is_ascii_digit)
    {
        return Err(format!("{what} {part:?} has a leading zero"));
    }
    if let Some(bad) = bytes.iter().find(|&&b| !is_label_char(b)) {
        return Err(format!("invalid character {:?} in {what}", *bad as char));
    }
    Ok(())
}

/// `int.TryParse` on a label: an optional `-` sign and ASCII digits within the `i32` range.
fn numeric_label(label: &str) -> Option<i32> {
    let digits = label.strip_prefix('-').unwrap_or(label);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    label.parse().ok()
}

/// `System.Version.TryParse` on one component: `int` with surrounding white space, non-negative.
fn component(text: &str) -> Result<u32, String> {
    let digits = text.trim_matches(|c: char| c == ' ' || ('\t'..='\r').contains(&c));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a version number"));
    }
    digits
        .parse::<i32>()
        .ok()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("{digits} is larger than NuGet's 32-bit version numbers"))
}

/// Parses a NuGet version (`NuGetVersion.TryParse`).
pub(crate) fn parse(text: &str) -> Result<NuGet, String> {
    let value = text.trim();
    if value.is_empty() {
        return Err("empty version".into());
    }
    // ParseSections: the version ends at the first '-' or '+', the labels at the next '+'.
    let (version, rest) = match value.find(['-', '+']) {
        Some(at) => (&value[..at], Some(&value[at..])),
        None => (value, None),
    };
    let (labels, metadata) = match rest {
        None => (None, None),
        Some(rest) if rest.starts_with('+') => (None, Some(&rest[1..])),
        Some(rest) => match rest[1..].split_once('+') {
            Some((labels, metadata)) => (Some(labels), Some(metadata)),
            None => (Some(&rest[1..]), None),
        },
    };
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() > 4 {
        return Err(format!(
            "{} version numbers, at most 4 allowed",
            parts.len()
        ));
    }
    let mut numbers = [0u32; 4];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        *slot = component(part)?;
    }
    let labels = match labels {
        Some(labels) => {
            let labels: Vec<&str> = labels.split('.').collect();
            for label in &labels {
                check_part(label, false, "release label")?;
            }
            Labels::Pre(
                labels
                    .into_iter()
                    .map(|label| match numeric_label(label) {
                        Some(n) => Label::Number(n),
                        None => Label::Text(label.to_ascii_uppercase().into()),
                    })
                    .collect(),
            )
        }
        None => Labels::Release,
    };
    if let Some(metadata) = metadata {
        for part in metadata.split('.') {
            check_part(part, true, "metadata")?;
        }
    }
    Ok(NuGet { numbers, labels })
}

impl NuGet {
    /// The major version.
    pub(crate) fn major(&self) -> u64 {
        u64::from(self.numbers[0])
    }

    /// True when the version has release labels.
    pub(crate) fn is_prerelease(&self) -> bool {
        matches!(self.labels, Labels::Pre(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    // Vectors from NuGet's documentation ("Package versioning": pre-release ordering and normalization).
    #[test]
    fn documented_prerelease_order() {
        let sorted = [
            "1.0.1-aaa",
            "1.0.1-alpha10",
            "1.0.1-alpha2",
            "1.0.1-beta",
            "1.0.1-open",
            "1.0.1-rc",
            "1.0.1-zzz",
            "1.0.1",
        ];
        for pair in sorted.windows(2) {
            assert_eq!(
                parse(pair[0]).unwrap().cmp(&parse(pair[1]).unwrap()),
                Ordering::Less,
                "{pair:?}"
            );
        }
    }

    #[test]
    fn documented_normalization() {
        for (a, b) in [
            ("1.0", "1.0.0"),
            ("1.00", "1.0.0"),
            ("1.0.01.0", "1.0.1"),
            ("1.0.0.0", "1.0.0"),
            ("1.0.0-Beta", "1.0.0-beta"),
            ("1.0.0+build.7", "1.0.0"),
            ("1", "1.0.0"),
        ] {
            assert_eq!(parse(a).unwrap(), parse(b).unwrap(), "{a} == {b}");
        }
        assert!(parse("1.0.0.1").unwrap() > parse("1.0.0").unwrap());
        assert!(parse("1.0.0-rc.10").unwrap() > parse("1.0.0-rc.9").unwrap());
        assert!(parse("1.0.0-1").unwrap() < parse("1.0.0-a").unwrap());
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "",
            "v1.0",
            "1.0.0.0.0",
            "1.0.0-",
            "1.0.0-beta.",
            "1.0.0-01",
            "1.0.0+",
            "1.0.0-beta+a..b",
            "2147483648.0",
            "1.-1",
            "a.b",
            "1.0.0-be_ta",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }
}
