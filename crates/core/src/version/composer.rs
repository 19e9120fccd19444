//! Composer (Packagist) versions: normalized as `Composer\Semver\VersionParser::normalize` does and ordered as
//! `Composer\Semver\Semver::sort` does (`Comparator`, which is PHP's `version_compare` on normalized versions).
//!
//! "v1.2" normalizes to "1.2.0.0", "1.0-beta2" to "1.0.0.0-beta2", "1.x-dev" to
//! "1.9999999.9999999.9999999-dev", "dev-master" to "9999999-dev"; stability orders
//! dev < alpha < beta < RC < stable < patch. The normalizing regexes are composer/semver's own, run by the
//! `regex` crate (no Rust crate implements Composer's rules). Two differences from PHP, both deliberate:
//! numbers are compared exactly where PHP's `strtol` saturates at `i64::MAX`; and branches (`dev-foo`),
//! which Composer sorts below every version but leaves unordered among themselves, are ordered by name so
//! that the order is total (equal only when the names are identical, as in Composer).

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use super::num::Num;

/// A normalized Composer version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Composer {
    /// A branch other than the default ones, by its normalized name ("dev-feature/x").
    Branch(Box<str>),
    /// A version, as the tokens `version_compare` splits its normalized form into.
    Version(Box<[Token]>),
}

/// One token of `version_compare`'s canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    Number(Num),
    /// A word, by its `version_compare` rank: dev 0, alpha/a 1, beta/b 2, RC/rc 3, pl/p 5, unknown -1.
    Word(i8),
}

/// The rank `version_compare` gives a number when comparing it with a word.
const NUMBER_RANK: i8 = 4;

macro_rules! regex {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pattern).expect(concat!(stringify!($name), " compiles")));
    };
}

// PCRE's `\s` without the `u` flag, and its `\d`.
const SPACE: &str = r"\t\n\x0B\x0C\r ";
const MODIFIER: &str =
    r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?[0-9]+)*)?)?([.-]?dev)?";

regex!(ALIAS, &format!(r"^([^,{SPACE}]+) +as +([^,{SPACE}]+)$"));
regex!(STABILITY_FLAG, r"(?i)@(?:stable|RC|beta|alpha|dev)$");
regex!(BUILD, &format!(r"^([^,{SPACE}+]+)\+[^{SPACE}]+$"));
regex!(
    CLASSICAL,
    &format!(r"(?i)^v?([0-9]{{1,5}})(\.[0-9]+)?(\.[0-9]+)?(\.[0-9]+)?{MODIFIER}$")
);
regex!(
    DATETIME,
    &format!(r"(?i)^v?([0-9]{{4}}(?:[.:-]?[0-9]{{2}}){{1,6}}(?:[.:-]?[0-9]{{1,3}})?){MODIFIER}$")
);
regex!(DEV_SUFFIX, r"(?i)^(.*?)[.-]?dev$");
regex!(
    NUMERIC_BRANCH,
    r"(?i)^v?([0-9]+)(\.(?:[0-9]+|[xX*]))?(\.(?:[0-9]+|[xX*]))?(\.(?:[0-9]+|[xX*]))?$"
);

/// PHP's `trim()` characters.
fn is_php_trim(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\0' | '\x0b')
}

fn group<'h>(caps: &regex::Captures<'h>, index: usize) -> &'h str {
    caps.get(index).map_or("", |m| m.as_str())
}

/// `VersionParser::expandStability`.
fn expand_stability(stability: &str) -> String {
    let lower = stability.to_ascii_lowercase();
    match lower.as_str() {
        "a" => "alpha".into(),
        "b" => "beta".into(),
        "p" | "pl" => "patch".into(),
        "rc" => "RC".into(),
        _ => lower,
    }
}

/// `VersionParser::normalizeBranch`.
fn normalize_branch(name: &str) -> String {
    let name = name.trim_matches(is_php_trim);
    if let Some(caps) = NUMERIC_BRANCH.captures(name) {
        let mut version = String::new();
        for index in 1..5 {
            match caps.get(index) {
                Some(m) => version.push_str(&m.as_str().replace(['*', 'X'], "x")),
                None => version.push_str(".x"),
            }
        }
        return version.replace('x', "9999999") + "-dev";
    }
    format!("dev-{name}")
}

/// `VersionParser::normalize` followed by `normalizeDefaultBranch`, as `Semver::sort` does.
pub(crate) fn normalize(text: &str) -> Result<String, String> {
    let mut version = text.trim_matches(is_php_trim).to_string();
    if version.is_empty() {
        return Err("empty version".into());
    }
    if let Some(caps) = ALIAS.captures(&version) {
        version = group(&caps, 1).to_string();
    }
    if let Some(flag) = STABILITY_FLAG.find(&version) {
        version.truncate(flag.start());
    }
    if matches!(version.as_str(), "master" | "trunk" | "default") {
        version = format!("dev-{version}");
    }
    if version
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("dev-"))
    {
        let branch = format!("dev-{}", &version[4..]);
        return Ok(match branch.as_str() {
            "dev-master" | "dev-default" | "dev-trunk" => "9999999-dev".into(),
            _ => branch,
        });
    }
    if let Some(caps) = BUILD.captures(&version) {
        version = group(&caps, 1).to_string();
    }
    let (mut normalized, caps, index) = if let Some(caps) = CLASSICAL.captures(&version) {
        let mut normalized = group(&caps, 1).to_string();
        for part in 2..5 {
            match group(&caps, part) {
                "" => normalized.push_str(".0"),
                dotted => normalized.push_str(dotted),
            }
        }
        (normalized, caps, 5)
    } else if let Some(caps) = DATETIME.captures(&version) {
        let normalized = group(&caps, 1)
            .chars()
            .map(|c| if c.is_ascii_digit() { c } else { '.' })
            .collect();
        (normalized, caps, 2)
    } else {
        if let Some(caps) = DEV_SUFFIX.captures(&version) {
            let normalized = normalize_branch(group(&caps, 1));
            if !normalized.contains("dev-") {
                return Ok(normalized);
            }
        }
        return Err("not a Composer version".into());
    };
    let stability = group(&caps, index);
    if !stability.is_empty() {
        if stability == "stable" {
            return Ok(normalized);
        }
        normalized.push('-');
        normalized.push_str(&expand_stability(stability));
        normalized.push_str(group(&caps, index + 1).trim_start_matches(['.', '-']));
    }
    if !group(&caps, index + 2).is_empty() {
        normalized.push_str("-dev");
    }
    Ok(normalized)
}

/// `compare_special_version_forms`: the first of PHP's special forms that prefixes the word.
fn word_rank(word: &str) -> i8 {
    const FORMS: [(&str, i8); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", NUMBER_RANK),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| word.starts_with(form))
        .map_or(-1, |&(_, rank)| rank)
}

/// `php_canonicalize_version` then the split on '.': runs of digits and runs of other alphanumerics
/// (normalized versions hold nothing else besides '.' and '-').
fn tokens(normalized: &str) -> Box<[Token]> {
    let bytes = normalized.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        if bytes[pos].is_ascii_digit() {
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            tokens.push(Token::Number(Num::from_digits(&normalized[start..pos])));
        } else if bytes[pos].is_ascii_alphabetic() {
            while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
                pos += 1;
            }
            tokens.push(Token::Word(word_rank(&normalized[start..pos])));
        } else {
            pos += 1;
        }
    }
    tokens.into()
}

/// Parses a Composer version.
pub(crate) fn parse(text: &str) -> Result<Composer, String> {
    if let Some(bad) = text
        .chars()
        .find(|c| !c.is_ascii() || (c.is_ascii_control() && !is_php_trim(*c)))
    {
        return Err(format!("invalid character {bad:?}"));
    }
    let normalized = normalize(text)?;
    if normalized.starts_with("dev-") {
        return Ok(Composer::Branch(normalized.into()));
    }
    Ok(Composer::Version(tokens(&normalized)))
}

fn rank(token: &Token) -> i8 {
    match token {
        Token::Number(_) => NUMBER_RANK,
        Token::Word(rank) => *rank,
    }
}

fn cmp_tokens(a: &Token, b: &Token) -> Ordering {
    match (a, b) {
        (Token::Number(x), Token::Number(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// `php_version_compare` on token lists: pairwise while both have tokens; then a longer version wins if its
/// next token is a number, and otherwise that word decides against a number ("1.0-beta" < "1.0" < "1.0-patch").
fn version_compare(a: &[Token], b: &[Token]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = cmp_tokens(x, y);
        if order.is_ne() {
            return order;
        }
    }
    match a.len().cmp(&b.len()) {
        Ordering::Equal => Ordering::Equal,
        Ordering::Greater => rank(&a[b.len()]).cmp(&NUMBER_RANK).then(Ordering::Greater),
        Ordering::Less => NUMBER_RANK.cmp(&rank(&b[a.len()])).then(Ordering::Less),
    }
}

impl Composer {
    /// The first release number (none for branches).
    pub(crate) fn major(&self) -> Option<u64> {
        match self {
            Composer::Version(tokens) => match tokens.first() {
                Some(Token::Number(n)) => n.as_u64(),
                _ => None,
            },
            Composer::Branch(_) => None,
        }
    }

    /// True for dev, alpha, beta and RC versions and for branches.
    pub(crate) fn is_prerelease(&self) -> bool {
        match self {
            Composer::Version(tokens) => tokens
                .iter()
                .any(|t| matches!(t, Token::Word(rank) if *rank < NUMBER_RANK)),
            Composer::Branch(_) => true,
        }
    }
}

impl Ord for Composer {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Composer::Branch(a), Composer::Branch(b)) => a.cmp(b),
            (Composer::Branch(_), Composer::Version(_)) => Ordering::Less,
            (Composer::Version(_), Composer::Branch(_)) => Ordering::Greater,
            (Composer::Version(a), Composer::Version(b)) => version_compare(a, b),
        }
    }
}

impl PartialOrd for Composer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from composer/semver's VersionParserTest::successfulNormalizedVersions.
    #[test]
    fn normalizes_like_composer() {
        for (input, expected) in [
            ("1.0.0", "1.0.0.0"),
            ("1.2.3.4", "1.2.3.4"),
            ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
            ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0-rc1", "1.0.0.0-RC1"),
            ("1.0.0.pl3-dev", "1.0.0.0-patch3-dev"),
            ("1.0-dev", "1.0.0.0-dev"),
            ("0", "0.0.0.0"),
            ("10.4.13-beta", "10.4.13.0-beta"),
            ("10.4.13beta2", "10.4.13.0-beta2"),
            ("10.4.13beta.2", "10.4.13.0-beta2"),
            ("v1.13.11-beta.0", "1.13.11.0-beta0"),
            ("10.4.13-b", "10.4.13.0-beta"),
            ("10.4.13-b5", "10.4.13.0-beta5"),
            ("v1.0.0", "1.0.0.0"),
            ("v20100102", "20100102"),
            ("2010.01", "2010.01.0.0"),
            ("2010.01.02", "2010.01.02.0"),
            ("2010-01-02", "2010.01.02"),
            ("2010-01-02.5", "2010.01.02.5"),
            ("20100102-203040", "20100102.203040"),
            ("20100102203040-10", "20100102203040.10"),
            ("20100102-203040-p1", "20100102.203040-patch1"),
            ("dev-master", "9999999-dev"),
            ("dev-trunk", "9999999-dev"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("dev-feature-foo", "dev-feature-foo"),
            ("DEV-FOOBAR", "dev-FOOBAR"),
            ("dev-feature/foo", "dev-feature/foo"),
            ("dev-feature+issue-1", "dev-feature+issue-1"),
            ("dev-master as 1.0.0", "9999999-dev"),
            ("1.0.0+foo@dev", "1.0.0.0"),
            ("1.0.0-alpha.3.1+foo/-bar", "1.0.0.0-alpha3.1"),
            ("1.0.0-stable", "1.0.0.0"),
            ("1.0.0-STABLE", "1.0.0.0-stable"),
            ("  1.0.0", "1.0.0.0"),
            ("00.01.03.04", "00.01.03.04"),
            ("000.001.003.004", "000.001.003.004"),
            ("0.1.x-dev", "0.1.9999999.9999999-dev"),
        ] {
            assert_eq!(normalize(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn rejects_like_composer() {
        for bad in [
            "",
            "a",
            "1.0.0-meh",
            "1.0.0.0.0",
            "feature-foo",
            "1.0.0+foo bar",
            "1.0.0-SNAPSHOT",
            "1.0 .2",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn orders_stabilities() {
        let sorted = [
            "dev-feature",
            "1.0.0-dev",
            "1.0.0-alpha1",
            "1.0.0-beta1-dev",
            "1.0.0-beta1",
            "1.0.0-beta2",
            "1.0.0-RC1",
            "1.0.0",
            "1.0.0-patch1",
            "1.0.1",
            "1.x-dev",
            "dev-master",
        ];
        for pair in sorted.windows(2) {
            let (a, b) = (parse(pair[0]).unwrap(), parse(pair[1]).unwrap());
            assert_eq!(a.cmp(&b), Ordering::Less, "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(
            parse("1.0").unwrap().cmp(&parse("v1.0.0.0").unwrap()),
            Ordering::Equal
        );
    }
}
