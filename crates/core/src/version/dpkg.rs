//! Debian package versions (`[epoch:]upstream[-revision]`), parsed as dpkg's `parseversion` and ordered as its
//! `dpkg_version_compare` / `verrevcmp`: epochs numerically, then upstream and revision alternating non-digit
//! runs (letters before other characters, `~` before everything, even the end) and numbers.
//!
//! No Rust crate does this exactly with unbounded numbers; this is a port of dpkg's `lib/dpkg/version.c` and
//! `parsehelp.c`, checked against `dpkg --compare-versions`.

use std::cmp::Ordering;

use super::num::{Num, cmp_digits};

/// A parsed Debian version.
#[derive(Debug, Clone)]
pub(crate) struct Dpkg {
    epoch: u32,
    upstream: Box<str>,
    /// Empty when there is none ("1.0" and "1.0-0" are equal, as in dpkg).
    revision: Box<str>,
}

/// Parses a Debian version. What dpkg rejects is rejected; what it only warns about (a version not starting
/// with a digit, unusual characters) is accepted, since dpkg still installs and compares such packages.
/// Control and non-ASCII characters are rejected: dpkg's order for those depends on `char` signedness.
pub(crate) fn parse(text: &str) -> Result<Dpkg, String> {
    let text = text.trim_matches([' ', '\t']);
    if text.is_empty() {
        return Err("version string is empty".into());
    }
    if text.contains([' ', '\t']) {
        return Err("version string has embedded spaces".into());
    }
    if let Some(bad) = text.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("invalid character {bad:?}"));
    }
    let (epoch, rest) = match text.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() {
                return Err("epoch in version is empty".into());
            }
            if !epoch.bytes().all(|b| b.is_ascii_digit()) {
                return Err("epoch in version is not number".into());
            }
            let epoch = epoch
                .parse::<i32>()
                .ok()
                .and_then(|e| u32::try_from(e).ok())
                .ok_or("epoch in version is too big")?;
            if rest.is_empty() {
                return Err("nothing after colon in version number".into());
            }
            (epoch, rest)
        }
        None => (0, text),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((_, "")) => return Err("revision number is empty".into()),
        Some((upstream, revision)) => (upstream, revision),
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err("version number is empty".into());
    }
    Ok(Dpkg {
        epoch,
        upstream: upstream.into(),
        revision: revision.into(),
    })
}

/// dpkg's `order()`: the weight of a non-digit character; 0 stands for the end of the string.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`, with numbers compared by their digits so that any length works.
pub(crate) fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        let start_a = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let start_b = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let order = cmp_digits(&a[start_a..i], &b[start_b..j]);
        if order.is_ne() {
            return order;
        }
    }
    Ordering::Equal
}

impl Dpkg {
    /// The leading number of the upstream version, if it starts with one (the epoch is not a major version).
    pub(crate) fn major(&self) -> Option<u64> {
        let end = self
            .upstream
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.upstream.len());
        Num::parse(&self.upstream[..end]).and_then(|n| n.as_u64())
    }

    /// True when the upstream version contains `~` (Debian's prerelease marker).
    pub(crate) fn is_prerelease(&self) -> bool {
        self.upstream.contains('~')
    }
}

impl Ord for Dpkg {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

impl PartialOrd for Dpkg {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Dpkg {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Dpkg {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        parse(a).unwrap().cmp(&parse(b).unwrap())
    }

    // Vectors from dpkg's t-version.c.
    #[test]
    fn orders_like_dpkg_tests() {
        for (a, b, expected) in [
            ("0:1.0", "1.0", Ordering::Equal),
            ("1.0", "1.0-0", Ordering::Equal),
            ("1:1.0", "2:1.0", Ordering::Less),
            ("1.0~rc1", "1.0", Ordering::Less),
            ("1.0~~", "1.0~~a", Ordering::Less),
            ("1.0~~a", "1.0~", Ordering::Less),
            ("1.0~", "1.0", Ordering::Less),
            ("1.0", "1.0a", Ordering::Less),
            ("1.0a", "1.0+", Ordering::Less),
            ("1.0-1", "1.0-1.1", Ordering::Less),
            ("1.0-1~bpo1", "1.0-1", Ordering::Less),
            ("2.0.12", "2.0.9", Ordering::Greater),
            ("1:1.18.36:5.4", "1:1.18.36:5.5", Ordering::Less),
            ("0:1.18.36", "1.18.36", Ordering::Equal),
            ("1.2.3-4-5", "1.2.3-4-6", Ordering::Less),
            (
                "1.99999999999999999999999",
                "1.100000000000000000000000",
                Ordering::Less,
            ),
        ] {
            assert_eq!(cmp(a, b), expected, "{a} vs {b}");
            assert_eq!(cmp(b, a), expected.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn rejects_what_dpkg_rejects() {
        for bad in [
            "",
            " ",
            "0:",
            "a:1.0",
            "1.18.36:5.4",
            "-1:1.0",
            "1.0-",
            "1 0",
            "2147483648:1.0",
            ":1.0",
            "1.0\u{e9}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }
}
