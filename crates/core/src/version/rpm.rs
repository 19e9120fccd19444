//! RPM versions (`[epoch:]version[-release]`), split as rpm's `parseEVR` and ordered as `rpmvercmp` on the
//! epoch (missing = 0), the version and the release: alphanumeric segments, numbers above letters, `~` before
//! anything (even the end), `^` after the end but before anything else, other characters only separate.
//!
//! No Rust crate implements rpmvercmp with `^` and unbounded numbers; this is a port of rpm 4.18's
//! `rpmio/rpmvercmp.c`, checked against rpm's Python binding (`rpm.ver`). A missing release sorts below
//! every release, as `rpm.ver` orders it ("1.0" < "1.0-~1"); rpm's dependency matching instead skips the
//! release when one side has none, which is a range-level rule and not a total order.

use std::cmp::Ordering;

use super::num::{Num, cmp_digits};

/// A parsed RPM version.
#[derive(Debug, Clone)]
pub(crate) struct Rpm {
    epoch: Num,
    version: Box<str>,
    /// `None` without a '-'; `Some("")` for a trailing '-', as rpm splits it.
    release: Option<Box<str>>,
}

/// Parses `[epoch:]version[-release]`: the epoch is the leading digits before a ':', the release what
/// follows the last '-'. Whitespace and control characters are rejected (no RPM header holds them).
pub(crate) fn parse(text: &str) -> Result<Rpm, String> {
    if text.is_empty() {
        return Err("empty version".into());
    }
    if let Some(bad) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("invalid character {bad:?}"));
    }
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (epoch, evr) = if text.as_bytes().get(digits) == Some(&b':') {
        (
            if digits == 0 {
                Num::ZERO
            } else {
                Num::from_digits(&text[..digits])
            },
            &text[digits + 1..],
        )
    } else {
        (Num::ZERO, text)
    };
    let (version, release) = match evr.rsplit_once('-') {
        Some((version, release)) => (version, Some(release.into())),
        None => (evr, None),
    };
    if version.is_empty() {
        return Err("empty version after epoch or before release".into());
    }
    Ok(Rpm {
        epoch,
        version: version.into(),
        release,
    })
}

fn is_separator(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// rpm's `rpmvercmp`, over bytes, with numeric segments compared by their digits.
pub(crate) fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while i < a.len() && is_separator(a[i]) {
            i += 1;
        }
        while j < b.len() && is_separator(b[j]) {
            j += 1;
        }
        let (x, y) = (a.get(i).copied(), b.get(j).copied());
        // Tilde sorts before everything else, even the end.
        if x == Some(b'~') || y == Some(b'~') {
            if x != Some(b'~') {
                return Ordering::Greater;
            }
            if y != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // Caret is like tilde, except that the end of the other string sorts before it.
        if x == Some(b'^') || y == Some(b'^') {
            if x.is_none() {
                return Ordering::Less;
            }
            if y.is_none() {
                return Ordering::Greater;
            }
            if x != Some(b'^') {
                return Ordering::Greater;
            }
            if y != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if i >= a.len() || j >= b.len() {
            break;
        }
        let numeric = a[i].is_ascii_digit();
        let same_kind = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (start_a, start_b) = (i, j);
        while i < a.len() && same_kind(a[i]) {
            i += 1;
        }
        while j < b.len() && same_kind(b[j]) {
            j += 1;
        }
        // A segment of the other kind (or none): numbers are newer than letters.
        if j == start_b {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (sa, sb) = (&a[start_a..i], &b[start_b..j]);
        let order = if numeric {
            cmp_digits(sa, sb)
        } else {
            sa.cmp(sb)
        };
        if order.is_ne() {
            return order;
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

impl Rpm {
    /// The leading number of the version.
    pub(crate) fn major(&self) -> Option<u64> {
        let end = self
            .version
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.version.len());
        Num::parse(&self.version[..end]).and_then(|n| n.as_u64())
    }

    /// True when the version contains `~` (RPM's prerelease marker).
    pub(crate) fn is_prerelease(&self) -> bool {
        self.version.contains('~')
    }
}

impl Ord for Rpm {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(self.version.as_bytes(), other.version.as_bytes()))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a.as_bytes(), b.as_bytes()),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

impl PartialOrd for Rpm {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Rpm {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Rpm {}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from rpm's tests/rpmvercmp.at.
    #[test]
    fn rpmvercmp_matches_rpm_tests() {
        for (a, b, expected) in [
            ("1.0", "1.0", 0),
            ("1.0", "2.0", -1),
            ("2.0.1", "2.0.1a", -1),
            ("5.5p1", "5.5p2", -1),
            ("5.5p10", "5.5p1", 1),
            ("10xyz", "10.1xyz", -1),
            ("xyz10", "xyz10.1", -1),
            ("xyz.4", "8", -1),
            ("5.5p1", "5.5.p1", 0),
            ("5.5p1", "5.5.p10", -1),
            ("1.0aa", "1.0a", 1),
            ("2_0", "2_0", 0),
            ("2.0", "2_0", 0),
            ("a", "a", 0),
            ("a+", "a+", 0),
            ("a+", "a_", 0),
            ("+a", "_a", 0),
            ("+_", "_+", 0),
            ("1.0~rc1", "1.0~rc1", 0),
            ("1.0~rc1", "1.0", -1),
            ("1.0~rc1", "1.0~rc2", -1),
            ("1.0~rc1~git123", "1.0~rc1", -1),
            ("1.0^", "1.0", 1),
            ("1.0^git1", "1.0^git2", -1),
            ("1.0^git1", "1.01", -1),
            ("1.0^20160101", "1.0.1", -1),
            ("1.0~rc1^git1", "1.0~rc1", 1),
            ("1.0^git1~pre", "1.0^git1", -1),
            (
                "1.99999999999999999999999",
                "1.100000000000000000000000",
                -1,
            ),
        ] {
            assert_eq!(
                rpmvercmp(a.as_bytes(), b.as_bytes()),
                expected.cmp(&0),
                "{a} vs {b}"
            );
            assert_eq!(
                rpmvercmp(b.as_bytes(), a.as_bytes()),
                0.cmp(&expected),
                "{b} vs {a}"
            );
        }
    }

    #[test]
    fn splits_epoch_version_release() {
        let v = parse("2:1.2.3-4.el8").unwrap();
        assert_eq!(
            (v.epoch.clone(), &*v.version, v.release.as_deref()),
            (Num::Small(2), "1.2.3", Some("4.el8"))
        );
        assert!(parse("1.0-1").unwrap() == parse("0:1.0-1").unwrap());
        assert!(parse("1:0.1-1").unwrap() > parse("9.9-9").unwrap());
        assert!(parse("1.0").unwrap() < parse("1.0-1").unwrap());
        assert!(parse("1.0").unwrap() < parse("1.0-~1").unwrap());
        assert!(parse("1.0").unwrap() < parse("1.0-").unwrap());
        for bad in ["", "1:", "-1", "1.0 2"] {
            assert!(parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }
}
