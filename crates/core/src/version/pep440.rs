//! PEP 440 versions (PyPI), parsed and ordered exactly as `packaging.version.Version` does.
//!
//! The parser is `packaging`'s own `VERSION_PATTERN`, run by the `regex` crate (whose leftmost-first
//! captures match Python's backtracking `re` for this pattern), and the ordering is `packaging`'s `_cmpkey`.
//! We do not use `pep440_rs` because it rejects release numbers above `u64::MAX`, which `packaging`
//! accepts and orders; its ordering is used as an oracle in the tests instead.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use super::num::Num;

/// `packaging.version.VERSION_PATTERN`, anchored, case-insensitive (input is ASCII, see [`parse`]).
static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^
        v?
        (?:
            (?:(?P<epoch>[0-9]+)!)?
            (?P<release>[0-9]+(?:\.[0-9]+)*)
            (?P<pre>
                [-_\.]?
                (?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)
                [-_\.]?
                (?P<pre_n>[0-9]+)?
            )?
            (?P<post>
                (?:-(?P<post_n1>[0-9]+))
                |
                (?:
                    [-_\.]?
                    (?P<post_l>post|rev|r)
                    [-_\.]?
                    (?P<post_n2>[0-9]+)?
                )
            )?
            (?P<dev>
                [-_\.]?
                (?P<dev_l>dev)
                [-_\.]?
                (?P<dev_n>[0-9]+)?
            )?
        )
        (?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?
        $",
    )
    .expect("PEP 440 pattern compiles")
});

/// A parsed PEP 440 version: its comparison key and its first release component.
#[derive(Debug, Clone)]
pub(crate) struct Pep440 {
    key: Key,
    /// Kept apart because trailing zeros are stripped from the key's release.
    first: Num,
}

impl Ord for Pep440 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl PartialOrd for Pep440 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440 {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Pep440 {}

/// `packaging`'s `_cmpkey`; field order is the comparison order (derived `Ord`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    epoch: Num,
    /// The release with trailing zeros removed ("1.0" and "1" are equal).
    release: Box<[Num]>,
    pre: Pre,
    /// `None` (no post-release) sorts first.
    post: Option<Num>,
    dev: Dev,
    /// `None` (no local label) sorts first.
    local: Option<Box<[LocalPart]>>,
}

/// The prerelease part of `_cmpkey`: a dev-only release sorts before every prerelease, a final release after.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Pre {
    /// `X.Y.devN` without pre- or post-release: below every prerelease of X.Y.
    DevOnly,
    /// `a` = 0, `b` = 1, `rc` = 2, then the number.
    Tagged(u8, Num),
    /// No prerelease.
    Final,
}

/// The dev part of `_cmpkey`: no dev release sorts last.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Dev {
    Dev(Num),
    None,
}

/// One local-version segment: strings sort below numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    Text(Box<str>),
    Number(Num),
}

/// Python's `str.isspace()` on ASCII, which is what `\s` trims in `packaging`'s pattern.
fn is_python_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1f'
    )
}

fn number(text: Option<regex::Match<'_>>) -> Num {
    text.map_or(Num::ZERO, |m| Num::from_digits(m.as_str()))
}

/// Parses a PEP 440 version. Non-ASCII text is rejected: `packaging` would match some non-ASCII letters
/// through Unicode case folding (U+017F for `s`) and then order them by code point, which no real version does.
pub(crate) fn parse(text: &str) -> Result<Pep440, String> {
    if !text.is_ascii() {
        return Err("non-ASCII characters".into());
    }
    let trimmed = text.trim_matches(is_python_space);
    let caps = PATTERN
        .captures(trimmed)
        .ok_or("does not match the PEP 440 grammar")?;
    let epoch = number(caps.name("epoch"));
    let mut release: Vec<Num> = caps
        .name("release")
        .map_or("", |m| m.as_str())
        .split('.')
        .map(Num::from_digits)
        .collect();
    let first = release.first().cloned().unwrap_or(Num::ZERO);
    while release.last().is_some_and(Num::is_zero) {
        release.pop();
    }
    let pre = caps.name("pre_l").map(|label| {
        let kind = match label.as_str().to_ascii_lowercase().as_str() {
            "a" | "alpha" => 0,
            "b" | "beta" => 1,
            _ => 2, // c, pre, preview, rc
        };
        (kind, number(caps.name("pre_n")))
    });
    let post = if caps.name("post").is_some() {
        Some(number(caps.name("post_n1").or(caps.name("post_n2"))))
    } else {
        None
    };
    let dev = caps.name("dev").map(|_| number(caps.name("dev_n")));
    let pre = match (pre, &post, &dev) {
        (Some((kind, n)), _, _) => Pre::Tagged(kind, n),
        (None, None, Some(_)) => Pre::DevOnly,
        (None, _, _) => Pre::Final,
    };
    let local = caps.name("local").map(|local| {
        local
            .as_str()
            .split(['.', '_', '-'])
            .map(|part| match Num::parse(part) {
                Some(n) => LocalPart::Number(n),
                None => LocalPart::Text(part.to_ascii_lowercase().into()),
            })
            .collect()
    });
    let key = Key {
        epoch,
        release: release.into(),
        pre,
        post,
        dev: dev.map_or(Dev::None, Dev::Dev),
        local,
    };
    Ok(Pep440 { key, first })
}

impl Pep440 {
    /// The first release component.
    pub(crate) fn major(&self) -> Option<u64> {
        self.first.as_u64()
    }

    /// True for pre- and dev-releases (as `packaging`'s `is_prerelease`).
    pub(crate) fn is_prerelease(&self) -> bool {
        matches!(self.key.pre, Pre::Tagged(..) | Pre::DevOnly)
            || matches!(self.key.dev, Dev::Dev(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        parse(a).unwrap().cmp(&parse(b).unwrap())
    }

    #[test]
    fn orders_like_packaging_docs() {
        let sorted = [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ];
        for pair in sorted.windows(2) {
            assert_eq!(
                cmp(pair[0], pair[1]),
                Ordering::Less,
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn normalises_spellings() {
        for (a, b) in [
            ("1.0", "1"),
            ("v1.0", "1.0.0"),
            ("1.0-1", "1.0.post1"),
            ("1.0.rev", "1.0.post0"),
            ("1.0c1", "1.0rc1"),
            ("1.0-preview.2", "1.0rc2"),
            ("1.0a..post", "1.0a0.post0"),
            ("1.0+ubuntu-1", "1.0+ubuntu.1"),
            ("1.0+UBUNTU.01", "1.0+ubuntu.1"),
            (" 1.0\n", "1.0"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} == {b}");
        }
        assert_eq!(
            cmp("1.99999999999999999999999", "1.100000000000000000000000"),
            Ordering::Less
        );
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "",
            "1.0.",
            "1.0-",
            "1.0+",
            "1.0+a..b",
            "french toast",
            "1.0ab",
            "1.0\u{17f}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }
}
