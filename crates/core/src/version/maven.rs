//! Maven versions, ordered as `org.apache.maven.artifact.versioning.ComparableVersion` (Maven 3.8) does.
//!
//! A version is a list of items: numbers, qualifiers (strings) and sub-lists, which start at a `-` or at a
//! transition between letters and digits. Trailing "null" items (0, "", "final", "ga", "release", empty
//! lists) are dropped, so "1.0" == "1" and "1-ga" == "1". Well-known qualifiers order as
//! alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp, and unknown qualifiers
//! sort after them, lexically. No Rust crate implements this; this is a port of Maven 3.8.7's algorithm
//! (checked against that class in `tests/data/versions/maven.tsv`).

use std::cmp::Ordering;

use super::num::Num;

/// A parsed Maven version: the top-level item list.
#[derive(Debug, Clone)]
pub(crate) struct Maven {
    items: Box<[Item]>,
}

#[derive(Debug, Clone)]
enum Item {
    Number(Num),
    Qualifier(Qualifier),
    List(Box<[Item]>),
}

/// A string item, after aliasing: the index of a well-known qualifier, or an unknown one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Qualifier {
    /// Index in alpha, beta, milestone, rc, snapshot, "", sp.
    Known(u8),
    Unknown(Box<str>),
}

/// The index of the release qualifier "" in the well-known list.
const RELEASE_INDEX: u8 = 5;

impl Qualifier {
    fn new(text: &str, followed_by_digit: bool) -> Qualifier {
        let text = match (followed_by_digit, text) {
            // "a1" = alpha-1, "b1" = beta-1, "m1" = milestone-1.
            (true, "a") => "alpha",
            (true, "b") => "beta",
            (true, "m") => "milestone",
            _ => text,
        };
        let index = match text {
            "alpha" => 0,
            "beta" => 1,
            "milestone" => 2,
            "rc" | "cr" => 3,
            "snapshot" => 4,
            "" | "ga" | "final" | "release" => RELEASE_INDEX,
            "sp" => 6,
            _ => return Qualifier::Unknown(text.into()),
        };
        Qualifier::Known(index)
    }

    /// Maven compares `comparableQualifier` strings: the index as one digit, or "7-" + the unknown text.
    fn cmp(&self, other: &Qualifier) -> Ordering {
        match (self, other) {
            (Qualifier::Known(a), Qualifier::Known(b)) => a.cmp(b),
            (Qualifier::Known(_), Qualifier::Unknown(_)) => Ordering::Less,
            (Qualifier::Unknown(_), Qualifier::Known(_)) => Ordering::Greater,
            (Qualifier::Unknown(a), Qualifier::Unknown(b)) => a.as_bytes().cmp(b.as_bytes()),
        }
    }

    fn cmp_release(&self) -> Ordering {
        match self {
            Qualifier::Known(index) => index.cmp(&RELEASE_INDEX),
            Qualifier::Unknown(_) => Ordering::Greater,
        }
    }
}

impl Item {
    /// `Item.compareTo(null)`: how this item compares with a missing one.
    fn cmp_missing(&self) -> Ordering {
        match self {
            Item::Number(n) => {
                if n.is_zero() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Qualifier(q) => q.cmp_release(),
            Item::List(items) => list_cmp_missing(items),
        }
    }

    fn cmp(&self, other: &Item) -> Ordering {
        match (self, other) {
            (Item::Number(a), Item::Number(b)) => a.cmp(b),
            (Item::Number(_), _) => Ordering::Greater,
            (Item::Qualifier(_), Item::Number(_)) => Ordering::Less,
            (Item::Qualifier(a), Item::Qualifier(b)) => a.cmp(b),
            (Item::Qualifier(q), Item::List(l)) => cmp_list_qualifier(l, q).reverse(),
            (Item::List(_), Item::Number(_)) => Ordering::Less,
            (Item::List(l), Item::Qualifier(q)) => cmp_list_qualifier(l, q),
            (Item::List(a), Item::List(b)) => cmp_lists(a, b),
        }
    }
}

/// Maven ranks a sub-list above a qualifier ("1-1" > "1-sp") whatever they hold. That makes its order cyclic
/// when the sub-list itself sorts below a release and the qualifier above: Maven 3.8.7 says
/// "5-final-snapshot" < "5" < "5-m" < "5-final-snapshot". Rust's sorts require a total order, so in exactly
/// that case (list below the release, qualifier at or above it) the list sorts first; everywhere else this is
/// Maven's rule.
fn cmp_list_qualifier(list: &[Item], qualifier: &Qualifier) -> Ordering {
    if list_cmp_missing(list).is_lt() && qualifier.cmp_release().is_ge() {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// `ListItem.compareTo(null)`: the first item that differs from a missing one decides.
fn list_cmp_missing(items: &[Item]) -> Ordering {
    items
        .iter()
        .map(Item::cmp_missing)
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    for index in 0..a.len().max(b.len()) {
        let result = match (a.get(index), b.get(index)) {
            (Some(l), Some(r)) => l.cmp(r),
            (Some(l), None) => l.cmp_missing(),
            (None, Some(r)) => r.cmp_missing().reverse(),
            (None, None) => Ordering::Equal,
        };
        if result.is_ne() {
            return result;
        }
    }
    Ordering::Equal
}

/// An item while parsing: sub-lists are indexes into the arena, so the "current list" can be switched.
enum Slot {
    Number(Num),
    Qualifier(Qualifier),
    List(usize),
}

struct Parser {
    lists: Vec<Vec<Slot>>,
    current: usize,
}

impl Parser {
    fn push(&mut self, slot: Slot) {
        self.lists[self.current].push(slot);
    }

    /// `list.add(list = new ListItem())`: opens a sub-list in the current one and makes it current.
    fn open_list(&mut self) {
        let index = self.lists.len();
        self.lists.push(Vec::new());
        self.push(Slot::List(index));
        self.current = index;
    }

    fn item(is_digit: bool, text: &str) -> Slot {
        if is_digit {
            Slot::Number(Num::from_digits(text))
        } else {
            Slot::Qualifier(Qualifier::new(text, false))
        }
    }

    fn slot_is_null(&self, slot: &Slot) -> bool {
        match slot {
            Slot::Number(n) => n.is_zero(),
            Slot::Qualifier(q) => *q == Qualifier::Known(RELEASE_INDEX),
            Slot::List(index) => self.lists[*index].is_empty(),
        }
    }

    /// `ListItem.normalize()`: drops null items from the end, skipping over non-empty sub-lists.
    fn normalize(&mut self, index: usize) {
        let mut list = std::mem::take(&mut self.lists[index]);
        let mut i = list.len();
        while i > 0 {
            i -= 1;
            if self.slot_is_null(&list[i]) {
                list.remove(i);
            } else if !matches!(list[i], Slot::List(_)) {
                break;
            }
        }
        self.lists[index] = list;
    }

    fn build(&mut self, index: usize) -> Box<[Item]> {
        let list = std::mem::take(&mut self.lists[index]);
        list.into_iter()
            .map(|slot| match slot {
                Slot::Number(n) => Item::Number(n),
                Slot::Qualifier(q) => Item::Qualifier(q),
                Slot::List(child) => Item::List(self.build(child)),
            })
            .collect()
    }
}

/// Parses a Maven version. Maven itself accepts any string; we reject what no repository holds (empty text,
/// whitespace, control and non-ASCII characters, whose Unicode digit and case rules we do not reproduce).
pub(crate) fn parse(text: &str) -> Result<Maven, String> {
    if text.is_empty() {
        return Err("empty version".into());
    }
    if let Some(bad) = text.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("invalid character {bad:?}"));
    }
    let version = text.to_ascii_lowercase();
    let bytes = version.as_bytes();
    let mut parser = Parser {
        lists: vec![Vec::new()],
        current: 0,
    };
    let mut is_digit = false;
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'.' || c == b'-' {
            if i == start {
                parser.push(Slot::Number(Num::ZERO));
            } else {
                parser.push(Parser::item(is_digit, &version[start..i]));
            }
            start = i + 1;
            if c == b'-' {
                parser.open_list();
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                // "1.0.0.X1" < "1.0.0-X2": a qualifier followed by digits starts a sub-list, as if after "-".
                if !parser.lists[parser.current].is_empty() {
                    parser.open_list();
                }
                parser.push(Slot::Qualifier(Qualifier::new(&version[start..i], true)));
                start = i;
                parser.open_list();
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                parser.push(Parser::item(true, &version[start..i]));
                start = i;
                parser.open_list();
            }
            is_digit = false;
        }
    }
    if bytes.len() > start {
        // A trailing qualifier after "." is treated like one after "-".
        if !is_digit && !parser.lists[parser.current].is_empty() {
            parser.open_list();
        }
        parser.push(Parser::item(is_digit, &version[start..]));
    }
    // Lists are created after their parents, so normalizing in reverse creation order normalizes every
    // child before its parent, as Maven's stack does.
    for index in (0..parser.lists.len()).rev() {
        parser.normalize(index);
    }
    Ok(Maven {
        items: parser.build(0),
    })
}

impl Maven {
    /// The first item, when it is a number.
    pub(crate) fn major(&self) -> Option<u64> {
        match self.items.first() {
            Some(Item::Number(n)) => n.as_u64(),
            // "1.0" normalizes to [1] but "0.5" keeps its leading 0; an empty list is "0".
            None => Some(0),
            _ => None,
        }
    }

    /// True when any qualifier sorts before the release ("alpha", "rc", "snapshot", ...).
    pub(crate) fn is_prerelease(&self) -> bool {
        fn any_pre(items: &[Item]) -> bool {
            items.iter().any(|item| match item {
                Item::Qualifier(Qualifier::Known(index)) => *index < RELEASE_INDEX,
                Item::List(items) => any_pre(items),
                _ => false,
            })
        }
        any_pre(&self.items)
    }
}

impl Ord for Maven {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}

impl PartialOrd for Maven {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Maven {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Maven {}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_sorted(versions: &[&str]) {
        for pair in versions.windows(2) {
            let (a, b) = (parse(pair[0]).unwrap(), parse(pair[1]).unwrap());
            assert_eq!(a.cmp(&b), Ordering::Less, "{} < {}", pair[0], pair[1]);
            assert_eq!(b.cmp(&a), Ordering::Greater, "{} > {}", pair[1], pair[0]);
        }
    }

    fn check_equal(versions: &[&str]) {
        for a in versions {
            for b in versions {
                assert_eq!(
                    parse(a).unwrap().cmp(&parse(b).unwrap()),
                    Ordering::Equal,
                    "{a} == {b}"
                );
            }
        }
    }

    // Vectors from Maven's ComparableVersionTest, as Maven 3.8.7's ComparableVersion orders them.
    #[test]
    fn maven_test_versions_are_ordered() {
        check_sorted(&[
            "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
            "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11",
            "11", "11.a", "11b", "11c", "11m",
        ]);
        check_sorted(&[
            "1-alpha2snapshot",
            "1-alpha2",
            "1-alpha-123",
            "1-beta-2",
            "1-beta123",
            "1-m2",
            "1-m11",
            "1-rc",
            "1-cr2",
            "1-rc123",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-sp2",
            "1-sp123",
            "1-abc",
            "1-def",
            "1-pom-1",
            "1-1-snapshot",
            "1-1",
            "1-2",
            "1-123",
            "2",
        ]);
        check_sorted(&["2.0.0.x1", "2.0.0-x2"]);
    }

    #[test]
    fn maven_test_versions_are_equal() {
        check_equal(&[
            "1",
            "1.0",
            "1.0.0",
            "1.0-0",
            "1-ga",
            "1.0-final",
            "1-release",
            "1.0.0-0.0.0",
        ]);
        check_equal(&["1a", "1-a", "1.0-a", "1.0.0-a"]);
        check_equal(&["1alpha", "1-alpha", "1.0alpha"]);
        check_sorted(&["1alpha", "1a"]);
        check_equal(&["1x", "1-x", "1.0-x"]);
        check_equal(&["1cr", "1rc", "1-cr", "1-rc"]);
        check_equal(&["1m3", "1milestone3", "1-m3", "1.0-milestone-3"]);
        check_equal(&["1.0.0000000000000000000000000001", "1.0.1"]);
    }

    // Maven 3.8.7 orders these in a cycle ("5-final-snapshot" < "5" < "5-m" < "5-final-snapshot"); found by
    // the property test in tests/version_props.rs. We break the cycle at the last step.
    #[test]
    fn mavens_cycle_is_broken_into_a_total_order() {
        check_sorted(&["5-final-snapshot", "5", "5-m"]);
        check_sorted(&["5-final-snapshot", "5-m"]);
        check_sorted(&["1-ga-alpha", "1", "1-foo"]);
    }

    #[test]
    fn big_numbers_order_exactly() {
        check_sorted(&[
            "1.99999999999999999999999",
            "1.100000000000000000000000",
            "2",
        ]);
    }
}
