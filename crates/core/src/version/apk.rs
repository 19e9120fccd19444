//! Alpine package versions, validated and ordered as apk-tools' `src/version.c` (apk-tools 2.14 / 3.x):
//! `digits{.digits}...{letter}{_suffix{digits}}...{~hash}{-rN}`.
//!
//! Suffixes order `_alpha` < `_beta` < `_pre` < `_rc` < (none) < `_cvs` < `_svn` < `_git` < `_hg` < `_p`;
//! a dot-separated number with a leading zero compares as a string ("1.02" < "1.1"); `-rN` is the package
//! revision. Debian has no apk-tools package, so this is a port of that file (no Rust crate implements it),
//! checked against the vectors of apk-tools' own test suite. One deliberate difference: apk parses numbers
//! into a wrapping `uint64_t`; we compare numbers of any length exactly.

use std::cmp::Ordering;

use super::num::{Num, cmp_digits};

/// A parsed apk version: its tokens.
#[derive(Debug, Clone)]
pub(crate) struct Apk {
    tokens: Box<[Token]>,
}

/// Token kinds in apk's order; a version that has more tokens is newer unless the extra token is a
/// prerelease suffix, and of two different next tokens the one with the smaller kind is newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    CommitHash,
    Revision,
    End,
}

#[derive(Debug, Clone)]
enum Token {
    InitialDigit(Num),
    /// The digits as written: with a leading zero on either side, apk compares them as strings.
    Digit(Box<str>),
    Letter(u8),
    Suffix(u8),
    SuffixNumber(Num),
    CommitHash(Box<str>),
    Revision(Num),
}

/// The suffix value of "no suffix": lower values are prereleases.
const SUFFIX_NONE: u8 = 5;

fn suffix_value(name: &str) -> Option<u8> {
    Some(match name {
        "alpha" => 1,
        "beta" => 2,
        "pre" => 3,
        "rc" => 4,
        "cvs" => 6,
        "svn" => 7,
        "git" => 8,
        "hg" => 9,
        "p" => 10,
        _ => return None,
    })
}

impl Token {
    fn kind(&self) -> Kind {
        match self {
            Token::InitialDigit(_) => Kind::InitialDigit,
            Token::Digit(_) => Kind::Digit,
            Token::Letter(_) => Kind::Letter,
            Token::Suffix(_) => Kind::Suffix,
            Token::SuffixNumber(_) => Kind::SuffixNumber,
            Token::CommitHash(_) => Kind::CommitHash,
            Token::Revision(_) => Kind::Revision,
        }
    }

    /// `token_cmp` for two tokens of the same kind.
    fn cmp_same_kind(&self, other: &Token) -> Ordering {
        match (self, other) {
            (Token::InitialDigit(a), Token::InitialDigit(b))
            | (Token::SuffixNumber(a), Token::SuffixNumber(b))
            | (Token::Revision(a), Token::Revision(b)) => a.cmp(b),
            (Token::Digit(a), Token::Digit(b)) => {
                if a.starts_with('0') || b.starts_with('0') {
                    // apk_blob_sort: bytes, then length.
                    a.as_bytes().cmp(b.as_bytes())
                } else {
                    cmp_digits(a.as_bytes(), b.as_bytes())
                }
            }
            (Token::Letter(a), Token::Letter(b)) | (Token::Suffix(a), Token::Suffix(b)) => a.cmp(b),
            (Token::CommitHash(a), Token::CommitHash(b)) => a.as_bytes().cmp(b.as_bytes()),
            _ => Ordering::Equal,
        }
    }
}

fn take_digits(bytes: &[u8], pos: &mut usize) -> Option<(usize, usize)> {
    let start = *pos;
    while *pos < bytes.len() && bytes[*pos].is_ascii_digit() {
        *pos += 1;
    }
    (*pos > start).then_some((start, *pos))
}

/// Parses an apk version (`apk_version_validate` plus tokenizing).
pub(crate) fn parse(text: &str) -> Result<Apk, String> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut tokens = Vec::new();
    let (start, end) = take_digits(bytes, &mut pos).ok_or("must start with a number")?;
    tokens.push(Token::InitialDigit(Num::from_digits(&text[start..end])));
    let mut kind = Kind::InitialDigit;
    while pos < bytes.len() {
        let c = bytes[pos];
        let at = pos;
        let invalid = || format!("unexpected {:?} at byte {at}", c as char);
        let token = match c {
            b'a'..=b'z' => {
                if kind > Kind::Digit {
                    return Err(invalid());
                }
                pos += 1;
                Token::Letter(c)
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if kind > Kind::Digit {
                        return Err(invalid());
                    }
                    pos += 1;
                }
                let make: fn(&str) -> Token = match kind {
                    Kind::InitialDigit | Kind::Digit => |digits| Token::Digit(digits.into()),
                    Kind::Suffix => |digits| Token::SuffixNumber(Num::from_digits(digits)),
                    _ => return Err(invalid()),
                };
                let (start, end) = take_digits(bytes, &mut pos).ok_or_else(invalid)?;
                make(&text[start..end])
            }
            b'_' => {
                if kind > Kind::SuffixNumber {
                    return Err(invalid());
                }
                pos += 1;
                let start = pos;
                while pos < bytes.len() && bytes[pos].is_ascii_lowercase() {
                    pos += 1;
                }
                let name = &text[start..pos];
                Token::Suffix(suffix_value(name).ok_or_else(|| format!("unknown suffix {name:?}"))?)
            }
            b'~' => {
                if kind >= Kind::CommitHash {
                    return Err(invalid());
                }
                pos += 1;
                let start = pos;
                while pos < bytes.len() && matches!(bytes[pos], b'0'..=b'9' | b'a'..=b'f') {
                    pos += 1;
                }
                if pos == start {
                    return Err("empty commit hash after '~'".into());
                }
                Token::CommitHash(text[start..pos].into())
            }
            b'-' => {
                if kind >= Kind::Revision || bytes.get(pos + 1) != Some(&b'r') {
                    return Err(invalid());
                }
                pos += 2;
                let (start, end) =
                    take_digits(bytes, &mut pos).ok_or("empty revision after \"-r\"")?;
                Token::Revision(Num::from_digits(&text[start..end]))
            }
            _ => return Err(invalid()),
        };
        kind = token.kind();
        tokens.push(token);
    }
    Ok(Apk {
        tokens: tokens.into(),
    })
}

impl Apk {
    /// The leading number.
    pub(crate) fn major(&self) -> Option<u64> {
        match self.tokens.first() {
            Some(Token::InitialDigit(n)) => n.as_u64(),
            _ => None,
        }
    }

    /// True when a prerelease suffix (`_alpha`, `_beta`, `_pre`, `_rc`) is present.
    pub(crate) fn is_prerelease(&self) -> bool {
        self.tokens
            .iter()
            .any(|t| matches!(t, Token::Suffix(s) if *s < SUFFIX_NONE))
    }
}

impl Ord for Apk {
    /// `apk_version_compare`: tokens pairwise while their kinds agree, then the first differing kind decides.
    fn cmp(&self, other: &Self) -> Ordering {
        let mut index = 0;
        let (a, b) = loop {
            let (a, b) = (self.tokens.get(index), other.tokens.get(index));
            match (a, b) {
                (Some(x), Some(y)) if x.kind() == y.kind() => {
                    let order = x.cmp_same_kind(y);
                    if order.is_ne() {
                        return order;
                    }
                }
                _ => break (a, b),
            }
            index += 1;
        };
        let kind = |t: Option<&Token>| t.map_or(Kind::End, Token::kind);
        let (ka, kb) = (kind(a), kind(b));
        if ka == kb {
            return Ordering::Equal;
        }
        if matches!(a, Some(Token::Suffix(s)) if *s < SUFFIX_NONE) {
            return Ordering::Less;
        }
        if matches!(b, Some(Token::Suffix(s)) if *s < SUFFIX_NONE) {
            return Ordering::Greater;
        }
        kb.cmp(&ka)
    }
}

impl PartialOrd for Apk {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Apk {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Apk {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        parse(a).unwrap().cmp(&parse(b).unwrap())
    }

    #[test]
    fn orders_suffixes_and_revisions() {
        for (a, b, expected) in [
            ("1.0_alpha1", "1.0_beta", Ordering::Less),
            ("1.0_rc3", "1.0", Ordering::Less),
            ("1.0", "1.0_p1", Ordering::Less),
            ("1.0_p1", "1.0-r1", Ordering::Greater),
            ("1.0-r1", "1.0-r10", Ordering::Less),
            ("1.02", "1.1", Ordering::Less),
            ("1.0a", "1.0b", Ordering::Less),
            ("1.0", "1.0a", Ordering::Less),
            (
                "1.0.0_pre20191002222144-r0",
                "1.0.0_pre20210530193627-r0",
                Ordering::Less,
            ),
            ("0.1.0_alpha_pre2", "0.1.0_alpha", Ordering::Less),
            ("1.0~abc", "1.0~abd", Ordering::Less),
            ("1.0", "1.0~abc", Ordering::Less),
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
    fn rejects_invalid() {
        for bad in [
            "",
            "a1",
            "1.0bc",
            "1.0_foo",
            "1.0-1",
            "1.0-r",
            "1.0_",
            "1..0",
            "1.0~",
            "1.0~x",
            "1.0-r1_p1",
            "1.0b1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }
}
