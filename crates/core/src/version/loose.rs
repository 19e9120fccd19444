//! The loose dotted-numeric ordering of vendor versions that follow no one scheme: how NVD tooling
//! (Dependency-Track and others) compares the versions of CPE names against NVD's ranges. It orders
//! the versions of CPE-only software ([`crate::Ecosystem::Cpe`]) and is what
//! [`crate::cpe::compare_loose`] compares with.
//!
//! A version is split into runs of ASCII digits and runs of other alphanumerics (labels); any other
//! character (`.`, `-`, `_`, `+`, `~`…) only separates. Numbers compare numerically (any length,
//! leading zeros ignored), labels lexically ignoring ASCII case, and at the same place a number is
//! above a label (`1.0.1` > `1.0.beta`). Trailing zero numbers are dropped, so `8.4` = `8.4.0`; then
//! a version that is a prefix of another is below it (`1.1.1` < `1.1.1a` < `1.1.1t`, OpenSSL's letter
//! releases; `8.4` < `8.4.1`). Pre-release labels are therefore not recognised: `14.0` < `14.0rc3`, as
//! with NVD's own text-like comparison. Dropping trailing zeros before comparing keeps the ordering
//! total and consistent with equality (`1` = `1.0`, so both are below `1.a`).
//!
//! There is no external oracle for this ordering: it is a convention, not an ecosystem's tool. Its
//! cases are the unit tests here and in `cpe.rs`; the property tests check that it is a total order.

use std::cmp::Ordering;

use super::num::Num;

/// A parsed loose version: its runs, trailing zero numbers dropped.
#[derive(Debug, Clone)]
pub(crate) struct Loose {
    runs: Box<[Run]>,
}

/// One run of a loose version. The derived order puts a label below a number at the same place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Run {
    /// Letters (or other non-digit alphanumerics), ASCII-lower-cased.
    Label(Box<str>),
    /// Digits, as a number.
    Number(Num),
}

/// Parses a loose version; fails when the text has no digit or letter at all.
pub(crate) fn parse(text: &str) -> Result<Loose, String> {
    let mut runs: Vec<Run> = Vec::new();
    let mut start: Option<(usize, bool)> = None;
    let push = |runs: &mut Vec<Run>, text: &str, digits: bool| {
        runs.push(if digits {
            Run::Number(Num::from_digits(text))
        } else {
            Run::Label(text.to_ascii_lowercase().into())
        });
    };
    for (i, c) in text.char_indices() {
        let kind = if c.is_ascii_digit() {
            Some(true)
        } else if c.is_alphanumeric() {
            Some(false)
        } else {
            None
        };
        match (start, kind) {
            (Some((_, digits)), Some(k)) if digits == k => {}
            (Some((s, digits)), _) => {
                push(&mut runs, &text[s..i], digits);
                start = kind.map(|k| (i, k));
            }
            (None, Some(k)) => start = Some((i, k)),
            (None, None) => {}
        }
    }
    if let Some((s, digits)) = start {
        push(&mut runs, &text[s..], digits);
    }
    if runs.is_empty() {
        return Err("a version needs at least one digit or letter".to_string());
    }
    while matches!(runs.last(), Some(Run::Number(n)) if n.is_zero()) {
        runs.pop();
    }
    Ok(Loose { runs: runs.into() })
}

impl Loose {
    /// The leading number, when the version starts with one that fits in a `u64` (`0` for `0.9`
    /// as for `0`, whose runs are all dropped).
    pub(crate) fn major(&self) -> Option<u64> {
        match self.runs.first() {
            Some(Run::Number(n)) => n.as_u64(),
            Some(Run::Label(_)) => None,
            None => Some(0),
        }
    }
}

impl Ord for Loose {
    fn cmp(&self, other: &Self) -> Ordering {
        // Slices order lexicographically, a prefix first: exactly the rule above.
        self.runs.cmp(&other.runs)
    }
}

impl PartialOrd for Loose {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Loose {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Loose {}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, expected: Ordering) {
        let (x, y) = (parse(a).unwrap(), parse(b).unwrap());
        assert_eq!(x.cmp(&y), expected, "{a} vs {b}");
        assert_eq!(y.cmp(&x), expected.reverse(), "{b} vs {a}");
    }

    #[test]
    fn equal_versions_order_alike() {
        use Ordering::*;
        // `1` = `1.0`, and both are below `1.a` (a prefix is below its extensions).
        check("1", "1.0", Equal);
        check("1", "1.a", Less);
        check("1.0", "1.a", Less);
        check("1.0.a", "1.a", Greater);
        check("1.0.0.0", "1", Equal);
        check("0", "0.0", Equal);
        check("1.b", "1.0.1", Less);
    }

    #[test]
    fn majors() {
        let major = |t: &str| parse(t).unwrap().major();
        assert_eq!(major("2.3.5"), Some(2));
        assert_eq!(major("0.0"), Some(0));
        assert_eq!(major("v2"), None);
        assert_eq!(major("99999999999999999999999.1"), None);
        assert!(parse("").is_err());
        assert!(parse(".-_").is_err());
    }
}
