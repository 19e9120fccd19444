//! Unsigned integers of any length, as version components: compared exactly, never overflowing.
//!
//! Most ecosystems compare numeric components as unbounded integers (dpkg, rpm, Go, RubyGems, Maven, PEP 440),
//! and hostile or odd data ("1.99999999999999999999999", 14-digit timestamps) must neither panic nor wrap.
//! Values that fit a `u64` are stored inline; larger ones keep their digits (without leading zeros), which
//! order by length and then lexically.

use std::cmp::Ordering;

/// A non-negative integer of any size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Num {
    /// A value that fits in 64 bits.
    Small(u64),
    /// A value above `u64::MAX`: its decimal digits, without leading zeros.
    Big(Box<str>),
}

impl Num {
    /// The zero value.
    pub(crate) const ZERO: Num = Num::Small(0);

    /// Parses a non-empty run of ASCII digits (leading zeros allowed). Returns `None` for anything else.
    pub(crate) fn parse(digits: &str) -> Option<Num> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return Some(Num::ZERO);
        }
        match trimmed.parse::<u64>() {
            Ok(value) => Some(Num::Small(value)),
            Err(_) => Some(Num::Big(trimmed.into())),
        }
    }

    /// Parses digits that the caller has already checked to be a non-empty run of ASCII digits.
    pub(crate) fn from_digits(digits: &str) -> Num {
        Num::parse(digits).unwrap_or(Num::ZERO)
    }

    /// True when the value is zero.
    pub(crate) fn is_zero(&self) -> bool {
        matches!(self, Num::Small(0))
    }

    /// The value, when it fits in 64 bits.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Num::Small(value) => Some(*value),
            Num::Big(_) => None,
        }
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Num::Small(a), Num::Small(b)) => a.cmp(b),
            // A big value is always above u64::MAX.
            (Num::Small(_), Num::Big(_)) => Ordering::Less,
            (Num::Big(_), Num::Small(_)) => Ordering::Greater,
            (Num::Big(a), Num::Big(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two runs of ASCII digits as integers without converting them (leading zeros ignored).
pub(crate) fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_zeros(a);
    let b = strip_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(digits.len());
    &digits[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, expected: Ordering) {
        let (x, y) = (Num::parse(a).unwrap(), Num::parse(b).unwrap());
        assert_eq!(x.cmp(&y), expected, "{a} vs {b}");
        assert_eq!(y.cmp(&x), expected.reverse(), "{b} vs {a}");
        assert_eq!(
            cmp_digits(a.as_bytes(), b.as_bytes()),
            expected,
            "digits {a} vs {b}"
        );
    }

    #[test]
    fn orders_small_and_big_values() {
        check("0", "000", Ordering::Equal);
        check("7", "10", Ordering::Less);
        check(
            "18446744073709551615",
            "18446744073709551616",
            Ordering::Less,
        );
        check(
            "99999999999999999999999",
            "100000000000000000000000",
            Ordering::Less,
        );
        check(
            "00099999999999999999999999",
            "99999999999999999999999",
            Ordering::Equal,
        );
        check(
            "123456789012345678901234567890",
            "123456789012345678901234567891",
            Ordering::Less,
        );
    }

    #[test]
    fn rejects_non_digits() {
        assert_eq!(Num::parse(""), None);
        assert_eq!(Num::parse("1a"), None);
        assert_eq!(Num::parse("-1"), None);
        assert_eq!(Num::parse("١"), None);
    }
}
