//! RubyGems versions, parsed and ordered as `Gem::Version` does.
//!
//! A version is split into segments, runs of digits (integers) and runs of letters (strings), after each `-`
//! became `.pre.`. Trailing zeros are dropped from the numeric part and from the part that starts at the
//! first string, missing segments count as 0, and a string sorts before any number, so
//! "1.0.a" < "1.0" and "1.0.0" == "1". No Rust crate implements this; this is a port of `Gem::Version#<=>`.

use std::cmp::Ordering;

use super::num::Num;

/// A parsed RubyGems version: its canonical segments.
#[derive(Debug, Clone)]
pub(crate) struct RubyGems {
    segments: Box<[Segment]>,
    major: Option<u64>,
    prerelease: bool,
}

/// A segment; strings sort before numbers (derived order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Text(Box<str>),
    Number(Num),
}

fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// `Gem::Version::ANCHORED_VERSION_PATTERN` (without the empty version, which we reject):
/// `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`.
fn check_pattern(text: &str) -> Result<(), String> {
    let (main, pre) = match text.find('-') {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let mut parts = main.split('.');
    let first = parts.next().unwrap_or("");
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must start with a number".into());
    }
    for part in parts {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("invalid segment {part:?}"));
        }
    }
    if let Some(pre) = pre {
        for part in pre.split('.') {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(format!("invalid prerelease segment {part:?}"));
            }
        }
    }
    Ok(())
}

/// Drops trailing zero numbers (`drop_while { |s| s == 0 }` from the end).
fn drop_trailing_zeros(segments: &mut Vec<Segment>) {
    while matches!(segments.last(), Some(Segment::Number(n)) if n.is_zero()) {
        segments.pop();
    }
}

/// Parses a RubyGems version (`Gem::Version.new`).
pub(crate) fn parse(text: &str) -> Result<RubyGems, String> {
    let text = text.trim_matches(is_ruby_space);
    if text.is_empty() {
        // Gem::Version.new("") is "0"; an empty version in data is an error, not version 0.
        return Err("empty version".into());
    }
    check_pattern(text)?;
    // `@version.gsub("-", ".pre.").scan(/[0-9]+|[a-z]+/i)`.
    let mut segments = Vec::new();
    let bytes = text.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        if bytes[pos].is_ascii_digit() {
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            segments.push(Segment::Number(Num::from_digits(&text[start..pos])));
        } else if bytes[pos].is_ascii_alphabetic() {
            while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
                pos += 1;
            }
            segments.push(Segment::Text(text[start..pos].into()));
        } else {
            if bytes[pos] == b'-' {
                segments.push(Segment::Text("pre".into()));
            }
            pos += 1;
        }
    }
    let major = match segments.first() {
        Some(Segment::Number(n)) => n.as_u64(),
        _ => None,
    };
    // A `-` becomes ".pre.", so it makes a prerelease too.
    let prerelease = text.bytes().any(|b| b.is_ascii_alphabetic() || b == b'-');
    // canonical_segments: the numeric prefix and the rest (from the first string on), each without
    // trailing zeros, concatenated.
    let split = segments
        .iter()
        .position(|s| matches!(s, Segment::Text(_)))
        .unwrap_or(segments.len());
    let mut rest = segments.split_off(split);
    drop_trailing_zeros(&mut segments);
    drop_trailing_zeros(&mut rest);
    segments.append(&mut rest);
    Ok(RubyGems {
        segments: segments.into(),
        major,
        prerelease,
    })
}

impl RubyGems {
    /// The first segment.
    pub(crate) fn major(&self) -> Option<u64> {
        self.major
    }

    /// `Gem::Version#prerelease?`: any letter (or `-`).
    pub(crate) fn is_prerelease(&self) -> bool {
        self.prerelease
    }
}

const ZERO: Segment = Segment::Number(Num::ZERO);

impl Ord for RubyGems {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.segments, &other.segments);
        for index in 0..a.len().max(b.len()) {
            let order = a
                .get(index)
                .unwrap_or(&ZERO)
                .cmp(b.get(index).unwrap_or(&ZERO));
            if order.is_ne() {
                return order;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for RubyGems {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RubyGems {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for RubyGems {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        parse(a).unwrap().cmp(&parse(b).unwrap())
    }

    // Vectors from RubyGems' test_gem_version.rb.
    #[test]
    fn orders_like_rubygems_tests() {
        for (a, b, expected) in [
            ("1.0", "1.0.a", Ordering::Greater),
            ("1.8.2", "0.0.0", Ordering::Greater),
            ("1.8.2", "1.8.2.a", Ordering::Greater),
            ("1.8.2.b", "1.8.2.a", Ordering::Greater),
            ("1.8.2.a", "1.8.2", Ordering::Less),
            ("1.8.2.a10", "1.8.2.a9", Ordering::Greater),
            ("0.beta.1", "0.0.beta.1", Ordering::Equal),
            ("0.0.beta", "0.0.beta.1", Ordering::Less),
            ("5.a", "5.0.0.rc2", Ordering::Less),
            ("5.x", "5.0.0.rc2", Ordering::Greater),
            ("1.0.0-beta", "1.0.0.pre.beta", Ordering::Equal),
            ("1.9.3", "1.9.3.0", Ordering::Equal),
        ] {
            assert_eq!(cmp(a, b), expected, "{a} vs {b}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "  ",
            "junk",
            "1.0\n2.0",
            "1..2",
            "1.2\u{0}",
            "1.0-",
            "2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e.",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be malformed");
        }
    }
}
