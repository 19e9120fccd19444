//! CPE 2.3 names and NVD applicability configurations: parsing formatted strings
//! (`cpe:2.3:a:haxx:libcurl:8.0.1:*:*:*:*:*:*:*`), matching one installed product against an NVD `cpeMatch`
//! entry, and evaluating a CVE's configurations (AND/OR nodes, `negate`, version ranges) against what a
//! device has installed.
//!
//! The syntax follows NISTIR 7695 (the formatted-string binding): eleven attributes after `cpe:2.3:`,
//! separated by unquoted `:`; `\` quotes the next character (`\:`, `\*`, `\\`); a whole attribute `*` is
//! ANY and `-` is NA; an unquoted `*` at the start or end of a value, or a run of unquoted `?` there, makes
//! the value a pattern. Fewer than eleven attributes are accepted and padded with ANY (SBOM tools often
//! write short names); more are an error.
//!
//! Matching follows NISTIR 7696 (name matching) with one documented leniency, see [`cpe_match`]. Versions
//! in NVD ranges are compared by a caller-supplied function; [`compare_loose`] is the dotted-numeric
//! ordering NVD tooling uses.
//!
//! The serde form of the configuration types is NVD's own (`operator`, `negate`, `nodes`, `cpeMatch`,
//! `criteria`, `versionStartIncluding`…), so an NVD `configurations` array deserializes directly into
//! `Vec<CpeConfiguration>`, checked on the way in.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::version::{Version, VersionScheme};

/// The longest accepted formatted string, in bytes (real NVD criteria stay under 200).
pub const MAX_CPE_BYTES: usize = 1024;

/// The names of the eleven attributes, in formatted-string order.
pub const ATTRIBUTE_NAMES: [&str; 11] = [
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
];

/// Why a string is not a CPE 2.3 formatted string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpeError {
    /// The string does not start with `cpe:2.3:`.
    #[error("`{input}` is not a CPE 2.3 formatted string (it must start with `cpe:2.3:`)")]
    NotCpe23 {
        /// The input, shortened to 80 characters.
        input: String,
    },
    /// The string is longer than [`MAX_CPE_BYTES`].
    #[error("the CPE name is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than eleven attributes.
    #[error("`{input}` has {count} attributes; CPE 2.3 has 11")]
    TooManyAttributes {
        /// The input, shortened to 80 characters.
        input: String,
        /// How many were found.
        count: usize,
    },
    /// An attribute is empty (`cpe:2.3:a::product:…`).
    #[error("`{input}`: the {attribute} attribute is empty")]
    EmptyAttribute {
        /// The input, shortened to 80 characters.
        input: String,
        /// The attribute's name.
        attribute: &'static str,
    },
    /// The part is not `a`, `o`, `h` or `*`.
    #[error("`{input}`: the part must be a, o, h or *, not `{part}`")]
    InvalidPart {
        /// The input, shortened to 80 characters.
        input: String,
        /// The part as written.
        part: String,
    },
    /// The string ends with a `\` that quotes nothing.
    #[error("`{input}`: the {attribute} attribute ends with a lone backslash")]
    LoneBackslash {
        /// The input, shortened to 80 characters.
        input: String,
        /// The attribute's name.
        attribute: &'static str,
    },
    /// An unquoted `*` or `?` in the middle of a value.
    #[error(
        "`{input}`: in the {attribute} attribute an unquoted * or ? may only begin or end the value"
    )]
    MisplacedWildcard {
        /// The input, shortened to 80 characters.
        input: String,
        /// The attribute's name.
        attribute: &'static str,
    },
    /// Whitespace or a control character.
    #[error("`{input}`: the {attribute} attribute contains the character {character:?}")]
    InvalidCharacter {
        /// The input, shortened to 80 characters.
        input: String,
        /// The attribute's name.
        attribute: &'static str,
        /// The character.
        character: char,
    },
}

/// Shortens an input for an error message.
fn shorten(input: &str) -> String {
    match input.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &input[..at]),
        None => input.to_string(),
    }
}

/// The wildcard at one end of a [`CpePattern`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wildcard {
    /// No wildcard: the text is anchored at this end.
    None,
    /// `*`: any number of characters.
    Any,
    /// A run of `?`: at most this many characters (NISTIR 7696's reading).
    UpTo(usize),
}

/// A value with a wildcard at its start and/or end (`*ssl`, `1.2.*`, `??beta`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CpePattern {
    /// The wildcard before the text.
    pub leading: Wildcard,
    /// The literal text between the wildcards, unquoted.
    pub text: String,
    /// The wildcard after the text.
    pub trailing: Wildcard,
}

impl CpePattern {
    /// Whether `value` (a literal) matches, comparing ASCII case-insensitively.
    pub fn matches(&self, value: &str) -> bool {
        let value: Vec<char> = value.chars().map(|c| c.to_ascii_lowercase()).collect();
        let text: Vec<char> = self.text.chars().map(|c| c.to_ascii_lowercase()).collect();
        if text.len() > value.len() {
            return false;
        }
        let allows = |wildcard: Wildcard, extra: usize| match wildcard {
            Wildcard::None => extra == 0,
            Wildcard::Any => true,
            Wildcard::UpTo(n) => extra <= n,
        };
        (0..=value.len() - text.len()).any(|start| {
            value[start..start + text.len()] == text[..]
                && allows(self.leading, start)
                && allows(self.trailing, value.len() - start - text.len())
        })
    }
}

/// One attribute of a CPE name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CpeValue {
    /// `*`: any value.
    Any,
    /// `-`: the attribute does not apply.
    NotApplicable,
    /// A literal value, unquoted (`\:` is stored as `:`).
    Literal(String),
    /// A value with wildcards at its ends.
    Pattern(CpePattern),
}

impl CpeValue {
    /// The literal text, if this is a literal.
    pub fn as_literal(&self) -> Option<&str> {
        match self {
            CpeValue::Literal(text) => Some(text),
            _ => None,
        }
    }

    /// Whether this is ANY (`*`).
    pub fn is_any(&self) -> bool {
        matches!(self, CpeValue::Any)
    }

    /// Parses one attribute of a formatted string.
    fn parse(raw: &str, input: &str, attribute: &'static str) -> Result<CpeValue, CpeError> {
        match raw {
            "" => {
                return Err(CpeError::EmptyAttribute {
                    input: shorten(input),
                    attribute,
                });
            }
            "*" => return Ok(CpeValue::Any),
            "-" => return Ok(CpeValue::NotApplicable),
            _ => {}
        }
        // Characters with a flag saying whether they were quoted.
        let mut chars: Vec<(char, bool)> = Vec::with_capacity(raw.len());
        let mut iter = raw.chars();
        while let Some(c) = iter.next() {
            if c.is_whitespace() || c.is_control() {
                return Err(CpeError::InvalidCharacter {
                    input: shorten(input),
                    attribute,
                    character: c,
                });
            }
            if c == '\\' {
                match iter.next() {
                    Some(q) if q.is_whitespace() || q.is_control() => {
                        return Err(CpeError::InvalidCharacter {
                            input: shorten(input),
                            attribute,
                            character: q,
                        });
                    }
                    Some(q) => chars.push((q, true)),
                    None => {
                        return Err(CpeError::LoneBackslash {
                            input: shorten(input),
                            attribute,
                        });
                    }
                }
            } else {
                chars.push((c, false));
            }
        }
        let misplaced = || CpeError::MisplacedWildcard {
            input: shorten(input),
            attribute,
        };
        let is_wild = |&(c, quoted): &(char, bool)| !quoted && (c == '*' || c == '?');
        let mut body = &chars[..];
        let leading = end_wildcard(&mut body, true).ok_or_else(misplaced)?;
        let trailing = end_wildcard(&mut body, false).ok_or_else(misplaced)?;
        if body.iter().any(is_wild) {
            return Err(misplaced());
        }
        let text: String = body.iter().map(|(c, _)| c).collect();
        if leading == Wildcard::None && trailing == Wildcard::None {
            return Ok(CpeValue::Literal(text));
        }
        if text.is_empty() {
            // `**`, `*?` and the like say nothing a plain `*` would not, and NISTIR 7695 forbids them.
            return Err(misplaced());
        }
        Ok(CpeValue::Pattern(CpePattern {
            leading,
            text,
            trailing,
        }))
    }
}

/// Takes the unquoted wildcard off one end of `body`: `None` when a `*` is mixed with `?` or repeated.
fn end_wildcard(body: &mut &[(char, bool)], front: bool) -> Option<Wildcard> {
    let at = |b: &[(char, bool)], i: usize| -> Option<char> {
        let (c, quoted) = if front {
            *b.get(i)?
        } else {
            *b.get(b.len().checked_sub(i + 1)?)?
        };
        (!quoted && (c == '*' || c == '?')).then_some(c)
    };
    let mut count = 0;
    let mut stars = 0;
    while let Some(c) = at(body, count) {
        if c == '*' {
            stars += 1;
        }
        count += 1;
    }
    let wildcard = match (count, stars) {
        (0, _) => Wildcard::None,
        (1, 1) => Wildcard::Any,
        (n, 0) => Wildcard::UpTo(n),
        _ => return None,
    };
    *body = if front {
        &body[count..]
    } else {
        &body[..body.len() - count]
    };
    Some(wildcard)
}

impl fmt::Display for CpeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpeValue::Any => f.write_str("*"),
            CpeValue::NotApplicable => f.write_str("-"),
            CpeValue::Literal(text) if text == "-" => f.write_str("\\-"),
            CpeValue::Literal(text) => write_quoted(f, text),
            CpeValue::Pattern(p) => {
                write_wildcard(f, p.leading)?;
                write_quoted(f, &p.text)?;
                write_wildcard(f, p.trailing)
            }
        }
    }
}

fn write_wildcard(f: &mut fmt::Formatter<'_>, wildcard: Wildcard) -> fmt::Result {
    match wildcard {
        Wildcard::None => Ok(()),
        Wildcard::Any => f.write_str("*"),
        Wildcard::UpTo(n) => f.write_str(&"?".repeat(n)),
    }
}

/// Writes a literal with the formatted string's quoting: everything but letters, digits, `_`, `.` and
/// `-` is preceded by `\` (NISTIR 7695 §6.2.2.3).
fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for c in text.chars() {
        if !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-')) {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    Ok(())
}

/// A CPE 2.3 name (or match criteria, which may use ANY and patterns), parsed from its formatted string.
///
/// Serializes as the formatted string; equal names have equal strings (quoting is normalised).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cpe {
    /// `a` (application), `o` (operating system), `h` (hardware) or ANY.
    pub part: CpeValue,
    /// The vendor (`haxx`, `openbsd`).
    pub vendor: CpeValue,
    /// The product (`libcurl`, `openssh`).
    pub product: CpeValue,
    /// The version (`8.0.1`); ANY in NVD criteria that give a range instead.
    pub version: CpeValue,
    /// The update (`p1`, `rc3`, `sp2`).
    pub update: CpeValue,
    /// The legacy edition.
    pub edition: CpeValue,
    /// The language (RFC 5646 tag).
    pub language: CpeValue,
    /// The market edition (`lts`, `enterprise`).
    pub sw_edition: CpeValue,
    /// The software environment (`windows`, `node.js`, `vmware_vsphere`).
    pub target_sw: CpeValue,
    /// The hardware environment (`x64`, `arm64`).
    pub target_hw: CpeValue,
    /// Anything else.
    pub other: CpeValue,
}

impl Cpe {
    /// Parses a formatted string (`cpe:2.3:a:vendor:product:version:…`). See the module documentation.
    pub fn parse(input: &str) -> Result<Cpe, CpeError> {
        if input.len() > MAX_CPE_BYTES {
            return Err(CpeError::TooLong {
                len: input.len(),
                max: MAX_CPE_BYTES,
            });
        }
        let rest = input
            .get(..8)
            .filter(|prefix| prefix.eq_ignore_ascii_case("cpe:2.3:"))
            .map(|_| &input[8..])
            .ok_or_else(|| CpeError::NotCpe23 {
                input: shorten(input),
            })?;
        let raw = split_unquoted(rest);
        if raw.len() > ATTRIBUTE_NAMES.len() {
            return Err(CpeError::TooManyAttributes {
                input: shorten(input),
                count: raw.len(),
            });
        }
        let mut values = Vec::with_capacity(ATTRIBUTE_NAMES.len());
        for (index, name) in ATTRIBUTE_NAMES.iter().enumerate() {
            values.push(match raw.get(index) {
                Some(text) => CpeValue::parse(text, input, name)?,
                None => CpeValue::Any,
            });
        }
        let part_ok = match &values[0] {
            CpeValue::Any => true,
            CpeValue::Literal(p) => matches!(p.as_str(), "a" | "o" | "h" | "A" | "O" | "H"),
            _ => false,
        };
        if !part_ok {
            return Err(CpeError::InvalidPart {
                input: shorten(input),
                part: raw[0].to_string(),
            });
        }
        let mut values = values.into_iter();
        let mut next = || values.next().unwrap_or(CpeValue::Any);
        Ok(Cpe {
            part: next(),
            vendor: next(),
            product: next(),
            version: next(),
            update: next(),
            edition: next(),
            language: next(),
            sw_edition: next(),
            target_sw: next(),
            target_hw: next(),
            other: next(),
        })
    }

    /// The attributes in formatted-string order (see [`ATTRIBUTE_NAMES`]).
    pub fn attributes(&self) -> [&CpeValue; 11] {
        [
            &self.part,
            &self.vendor,
            &self.product,
            &self.version,
            &self.update,
            &self.edition,
            &self.language,
            &self.sw_edition,
            &self.target_sw,
            &self.target_hw,
            &self.other,
        ]
    }
}

/// Splits at `:` that are not quoted by `\`.
fn split_unquoted(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        if quoted {
            quoted = false;
        } else if c == '\\' {
            quoted = true;
        } else if c == ':' {
            parts.push(&text[start..i]);
            start = i + 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

impl FromStr for Cpe {
    type Err = CpeError;
    fn from_str(s: &str) -> Result<Cpe, CpeError> {
        Cpe::parse(s)
    }
}

impl TryFrom<String> for Cpe {
    type Error = CpeError;
    fn try_from(s: String) -> Result<Cpe, CpeError> {
        Cpe::parse(&s)
    }
}

impl From<Cpe> for String {
    fn from(cpe: Cpe) -> String {
        cpe.to_string()
    }
}

impl fmt::Display for Cpe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cpe:2.3")?;
        for value in self.attributes() {
            write!(f, ":{value}")?;
        }
        Ok(())
    }
}

/// Three-valued truth: a version that cannot be compared makes a match unknown, never silently true or
/// false (the same invariant as OSV ranges: *unassessed*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Matches.
    Yes,
    /// Does not match.
    No,
    /// Cannot be decided: the product is named but its version is unknown or not comparable.
    Unknown,
}

impl Verdict {
    /// Kleene OR.
    pub fn or(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Yes, _) | (_, Verdict::Yes) => Verdict::Yes,
            (Verdict::Unknown, _) | (_, Verdict::Unknown) => Verdict::Unknown,
            _ => Verdict::No,
        }
    }

    /// Kleene AND.
    pub fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::No, _) | (_, Verdict::No) => Verdict::No,
            (Verdict::Unknown, _) | (_, Verdict::Unknown) => Verdict::Unknown,
            _ => Verdict::Yes,
        }
    }
}

impl std::ops::Not for Verdict {
    type Output = Verdict;

    /// Kleene NOT: unknown stays unknown.
    fn not(self) -> Verdict {
        match self {
            Verdict::Yes => Verdict::No,
            Verdict::No => Verdict::Yes,
            Verdict::Unknown => Verdict::Unknown,
        }
    }
}

/// How the nodes of a configuration, or the matches of a node, combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Operator {
    /// All must match.
    #[serde(rename = "AND")]
    And,
    /// One must match.
    #[default]
    #[serde(rename = "OR")]
    Or,
}

/// One end of an NVD version range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionBound {
    /// The version at the bound, as NVD writes it.
    pub version: String,
    /// Whether the bound itself is in the range (`…Including`) or not (`…Excluding`).
    pub inclusive: bool,
}

/// An NVD `cpeMatch` entry: match criteria, optionally with a version range, and whether a product
/// matching it is the vulnerable one (`vulnerable: false` marks a platform it must run on).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawCpeMatch", into = "RawCpeMatch")]
pub struct CpeMatch {
    /// Whether a product matching this entry is vulnerable (else it is a required platform).
    pub vulnerable: bool,
    /// The match criteria (`cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*`).
    pub criteria: Cpe,
    /// NVD's id of the criteria, if given.
    pub match_criteria_id: Option<String>,
    /// The lower bound of the version range, if any.
    pub version_start: Option<VersionBound>,
    /// The upper bound of the version range, if any.
    pub version_end: Option<VersionBound>,
}

/// Why a configuration, node or `cpeMatch` entry is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigurationError {
    /// Both the including and the excluding form of one bound are given.
    #[error("both versionStartIncluding and versionStartExcluding are given")]
    TwoStarts,
    /// Both the including and the excluding form of one bound are given.
    #[error("both versionEndIncluding and versionEndExcluding are given")]
    TwoEnds,
    /// A bound is an empty string.
    #[error("{field} is empty")]
    EmptyBound {
        /// The field's NVD name.
        field: &'static str,
    },
    /// A node lists no `cpeMatch` entries.
    #[error("the node has no cpeMatch entries")]
    EmptyNode,
    /// A configuration has no nodes.
    #[error("the configuration has no nodes")]
    NoNodes,
}

/// NVD's JSON shape of a `cpeMatch` entry.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCpeMatch {
    vulnerable: bool,
    criteria: Cpe,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    match_criteria_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version_start_including: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version_start_excluding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version_end_including: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version_end_excluding: Option<String>,
}

/// One bound out of its two NVD fields.
fn bound(
    including: Option<String>,
    excluding: Option<String>,
    names: (&'static str, &'static str),
    both: ConfigurationError,
) -> Result<Option<VersionBound>, ConfigurationError> {
    let make = |version: String, inclusive: bool, field: &'static str| {
        let version = version.trim().to_string();
        if version.is_empty() {
            return Err(ConfigurationError::EmptyBound { field });
        }
        Ok(Some(VersionBound { version, inclusive }))
    };
    match (including, excluding) {
        (Some(_), Some(_)) => Err(both),
        (Some(v), None) => make(v, true, names.0),
        (None, Some(v)) => make(v, false, names.1),
        (None, None) => Ok(None),
    }
}

impl TryFrom<RawCpeMatch> for CpeMatch {
    type Error = ConfigurationError;
    fn try_from(raw: RawCpeMatch) -> Result<CpeMatch, ConfigurationError> {
        Ok(CpeMatch {
            vulnerable: raw.vulnerable,
            criteria: raw.criteria,
            match_criteria_id: raw.match_criteria_id,
            version_start: bound(
                raw.version_start_including,
                raw.version_start_excluding,
                ("versionStartIncluding", "versionStartExcluding"),
                ConfigurationError::TwoStarts,
            )?,
            version_end: bound(
                raw.version_end_including,
                raw.version_end_excluding,
                ("versionEndIncluding", "versionEndExcluding"),
                ConfigurationError::TwoEnds,
            )?,
        })
    }
}

impl From<CpeMatch> for RawCpeMatch {
    fn from(m: CpeMatch) -> RawCpeMatch {
        let split = |b: Option<VersionBound>| match b {
            Some(VersionBound {
                version,
                inclusive: true,
            }) => (Some(version), None),
            Some(VersionBound {
                version,
                inclusive: false,
            }) => (None, Some(version)),
            None => (None, None),
        };
        let (start_in, start_ex) = split(m.version_start);
        let (end_in, end_ex) = split(m.version_end);
        RawCpeMatch {
            vulnerable: m.vulnerable,
            criteria: m.criteria,
            match_criteria_id: m.match_criteria_id,
            version_start_including: start_in,
            version_start_excluding: start_ex,
            version_end_including: end_in,
            version_end_excluding: end_ex,
        }
    }
}

/// A node: `cpeMatch` entries combined by an operator, optionally negated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawNode", into = "RawNode")]
pub struct CpeNode {
    /// How the entries combine.
    pub operator: Operator,
    /// Whether the node's result is inverted.
    pub negate: bool,
    /// The entries (at least one).
    pub cpe_match: Vec<CpeMatch>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
    operator: Operator,
    #[serde(default)]
    negate: bool,
    cpe_match: Vec<CpeMatch>,
}

impl TryFrom<RawNode> for CpeNode {
    type Error = ConfigurationError;
    fn try_from(raw: RawNode) -> Result<CpeNode, ConfigurationError> {
        if raw.cpe_match.is_empty() {
            return Err(ConfigurationError::EmptyNode);
        }
        Ok(CpeNode {
            operator: raw.operator,
            negate: raw.negate,
            cpe_match: raw.cpe_match,
        })
    }
}

impl From<CpeNode> for RawNode {
    fn from(n: CpeNode) -> RawNode {
        RawNode {
            operator: n.operator,
            negate: n.negate,
            cpe_match: n.cpe_match,
        }
    }
}

/// A configuration: nodes combined by an operator (NVD omits it for a single node; absent means OR),
/// optionally negated. A CVE's configurations combine by OR: any one that holds makes it apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawConfiguration", into = "RawConfiguration")]
pub struct CpeConfiguration {
    /// How the nodes combine.
    pub operator: Operator,
    /// Whether the configuration's result is inverted.
    pub negate: bool,
    /// The nodes (at least one).
    pub nodes: Vec<CpeNode>,
}

#[derive(Serialize, Deserialize)]
struct RawConfiguration {
    #[serde(default)]
    operator: Option<Operator>,
    #[serde(default)]
    negate: bool,
    nodes: Vec<CpeNode>,
}

impl TryFrom<RawConfiguration> for CpeConfiguration {
    type Error = ConfigurationError;
    fn try_from(raw: RawConfiguration) -> Result<CpeConfiguration, ConfigurationError> {
        if raw.nodes.is_empty() {
            return Err(ConfigurationError::NoNodes);
        }
        Ok(CpeConfiguration {
            operator: raw.operator.unwrap_or_default(),
            negate: raw.negate,
            nodes: raw.nodes,
        })
    }
}

impl From<CpeConfiguration> for RawConfiguration {
    fn from(c: CpeConfiguration) -> RawConfiguration {
        RawConfiguration {
            operator: Some(c.operator),
            negate: c.negate,
            nodes: c.nodes,
        }
    }
}

impl CpeConfiguration {
    /// The criteria of the entries marked vulnerable (to index configurations by vendor and product).
    pub fn vulnerable_criteria(&self) -> impl Iterator<Item = &Cpe> {
        self.nodes
            .iter()
            .flat_map(|n| &n.cpe_match)
            .filter(|m| m.vulnerable)
            .map(|m| &m.criteria)
    }
}

/// Compares one non-version attribute: `criteria` is the source, `installed` the target (NISTIR 7696).
///
/// `lenient`: an installed ANY stands for "not recorded" and is accepted.
fn attribute_matches(criteria: &CpeValue, installed: &CpeValue, lenient: bool) -> bool {
    match (criteria, installed) {
        (CpeValue::Any, _) => true,
        (_, CpeValue::Any | CpeValue::Pattern(_)) => lenient,
        (CpeValue::NotApplicable, CpeValue::NotApplicable) => true,
        (CpeValue::Literal(a), CpeValue::Literal(b)) => a.eq_ignore_ascii_case(b),
        (CpeValue::Pattern(p), CpeValue::Literal(b)) => p.matches(b),
        _ => false,
    }
}

/// Whether `installed` matches one `cpeMatch` entry (its `vulnerable` flag is not looked at).
///
/// The rules, NISTIR 7696's name matching with one leniency:
/// - part, vendor and product must match: ANY in the criteria accepts everything, a literal must be
///   equal (ASCII case-insensitively), a pattern must match, NA matches only NA. An installed ANY here
///   never matches a specific criteria value.
/// - update, edition, language, sw_edition, target_sw, target_hw, other: the same, except that an
///   installed ANY (or pattern) is accepted. Inventories (syft, CycloneDX SBOMs) rarely record these,
///   so `cpe:2.3:a:openbsd:openssh:8.5:*:…` matches criteria `…:openssh:8.5:p1:…`; this errs towards
///   reporting. An installed name that records the update (`8.5:p2`) is matched exactly.
/// - version: with a range (`versionStart…`/`versionEnd…`), the installed version must be a literal
///   inside it, compared by `compare`; without one, the criteria version is matched as above (ANY means
///   every version; a literal must be equal as text, so `2.5` is not `2.5.0`).
///
/// The result is [`Verdict::Unknown`] when part, vendor and product match and every other attribute
/// does but the version cannot be decided: the installed version is ANY or a pattern, or `compare`
/// returns `None` for a bound.
pub fn cpe_match(
    entry: &CpeMatch,
    installed: &Cpe,
    compare: &dyn Fn(&str, &str) -> Option<Ordering>,
) -> Verdict {
    let criteria = &entry.criteria;
    let identity = [
        (&criteria.part, &installed.part),
        (&criteria.vendor, &installed.vendor),
        (&criteria.product, &installed.product),
    ];
    if !identity.iter().all(|(c, i)| attribute_matches(c, i, false)) {
        return Verdict::No;
    }
    let rest = [
        (&criteria.update, &installed.update),
        (&criteria.edition, &installed.edition),
        (&criteria.language, &installed.language),
        (&criteria.sw_edition, &installed.sw_edition),
        (&criteria.target_sw, &installed.target_sw),
        (&criteria.target_hw, &installed.target_hw),
        (&criteria.other, &installed.other),
    ];
    if !rest.iter().all(|(c, i)| attribute_matches(c, i, true)) {
        return Verdict::No;
    }
    version_matches(entry, &installed.version, compare)
}

/// Whether an installed version is the one a `cpeMatch` entry names: inside its range when it has one,
/// else equal to its criteria version (see [`cpe_match`], which checks the other attributes first).
pub fn version_matches(
    entry: &CpeMatch,
    installed: &CpeValue,
    compare: &dyn Fn(&str, &str) -> Option<Ordering>,
) -> Verdict {
    let criteria = &entry.criteria;
    let ranged = entry.version_start.is_some() || entry.version_end.is_some();
    let version = match (&criteria.version, installed) {
        (CpeValue::Any, _) if !ranged => return Verdict::Yes,
        (_, CpeValue::Any | CpeValue::Pattern(_)) => return Verdict::Unknown,
        (_, CpeValue::NotApplicable) => {
            return if !ranged && criteria.version == CpeValue::NotApplicable {
                Verdict::Yes
            } else {
                Verdict::No
            };
        }
        (c, CpeValue::Literal(v)) => {
            if !attribute_matches(c, installed, false) {
                return Verdict::No;
            }
            v
        }
    };
    let within = |bound: &Option<VersionBound>, below: bool| -> Verdict {
        let Some(b) = bound else {
            return Verdict::Yes;
        };
        let Some(order) = compare(version, &b.version) else {
            return Verdict::Unknown;
        };
        let inside = match (order, below) {
            (Ordering::Equal, _) => b.inclusive,
            (Ordering::Less, true) | (Ordering::Greater, false) => true,
            _ => false,
        };
        if inside { Verdict::Yes } else { Verdict::No }
    };
    within(&entry.version_start, false).and(within(&entry.version_end, true))
}

/// What a configuration (or a CVE's list of configurations) says about one device.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Applicability {
    /// It applies; `vulnerable` holds the indexes (into the installed list) of the products that matched
    /// an entry marked vulnerable in a node that held, in ascending order. Platforms (`vulnerable:
    /// false`) are not listed.
    Applies {
        /// Indexes of the vulnerable installed products.
        vulnerable: Vec<usize>,
    },
    /// It does not apply.
    DoesNotApply,
    /// It might apply, but a version needed to decide could not be compared.
    Unassessed,
    /// The CVE has no configurations (NVD has not analysed it yet), so nothing can be said from CPEs.
    NotAnalysed,
}

impl Applicability {
    /// Whether this is [`Applicability::Applies`].
    pub fn applies(&self) -> bool {
        matches!(self, Applicability::Applies { .. })
    }
}

/// Evaluates one node: each entry holds if any installed product matches it.
fn evaluate_node(
    node: &CpeNode,
    installed: &[Cpe],
    compare: &dyn Fn(&str, &str) -> Option<Ordering>,
    vulnerable: &mut Vec<usize>,
) -> Verdict {
    let mut found = Vec::new();
    let mut result: Option<Verdict> = None;
    for entry in &node.cpe_match {
        let mut holds = Verdict::No;
        for (index, product) in installed.iter().enumerate() {
            let v = cpe_match(entry, product, compare);
            if v == Verdict::Yes && entry.vulnerable {
                found.push(index);
            }
            holds = holds.or(v);
        }
        result = Some(match (result, node.operator) {
            (None, _) => holds,
            (Some(r), Operator::And) => r.and(holds),
            (Some(r), Operator::Or) => r.or(holds),
        });
    }
    let result = result.unwrap_or(Verdict::No);
    if node.negate {
        return !result;
    }
    if result == Verdict::Yes {
        vulnerable.extend(found);
    }
    result
}

/// Evaluates one configuration against everything installed on a device.
///
/// Each `cpeMatch` entry holds when some installed product matches it ([`cpe_match`]); nodes combine their
/// entries, and the configuration its nodes, by their operators, with `negate` inverting; unknowns
/// propagate by three-valued logic. So an AND configuration of [vulnerable application, non-vulnerable
/// operating system] applies only when both are installed, and reports the application.
pub fn evaluate_configuration(
    config: &CpeConfiguration,
    installed: &[Cpe],
    compare: &dyn Fn(&str, &str) -> Option<Ordering>,
) -> Applicability {
    let mut vulnerable = Vec::new();
    let mut result: Option<Verdict> = None;
    for node in &config.nodes {
        let v = evaluate_node(node, installed, compare, &mut vulnerable);
        result = Some(match (result, config.operator) {
            (None, _) => v,
            (Some(r), Operator::And) => r.and(v),
            (Some(r), Operator::Or) => r.or(v),
        });
    }
    let mut result = result.unwrap_or(Verdict::No);
    if config.negate {
        result = !result;
        vulnerable.clear();
    }
    verdict_to_applicability(result, vulnerable)
}

fn verdict_to_applicability(result: Verdict, mut vulnerable: Vec<usize>) -> Applicability {
    match result {
        Verdict::Yes => {
            vulnerable.sort_unstable();
            vulnerable.dedup();
            Applicability::Applies { vulnerable }
        }
        Verdict::No => Applicability::DoesNotApply,
        Verdict::Unknown => Applicability::Unassessed,
    }
}

/// Whether one configuration applies to a device (see [`evaluate_configuration`]); unassessed is `false`.
pub fn configuration_matches(
    config: &CpeConfiguration,
    installed: &[Cpe],
    compare: &dyn Fn(&str, &str) -> Option<Ordering>,
) -> bool {
    evaluate_configuration(config, installed, compare).applies()
}

/// Evaluates a CVE's configurations, which combine by OR; the vulnerable products of every configuration
/// that applies are reported. An empty list is [`Applicability::NotAnalysed`].
pub fn evaluate_configurations(
    configs: &[CpeConfiguration],
    installed: &[Cpe],
    compare: &dyn Fn(&str, &str) -> Option<Ordering>,
) -> Applicability {
    if configs.is_empty() {
        return Applicability::NotAnalysed;
    }
    let mut result = Verdict::No;
    let mut vulnerable = Vec::new();
    for config in configs {
        match evaluate_configuration(config, installed, compare) {
            Applicability::Applies { vulnerable: v } => {
                result = Verdict::Yes;
                vulnerable.extend(v);
            }
            Applicability::Unassessed => result = result.or(Verdict::Unknown),
            Applicability::DoesNotApply | Applicability::NotAnalysed => {}
        }
    }
    verdict_to_applicability(result, vulnerable)
}

/// The loose dotted-numeric version ordering used for NVD ranges, as Dependency-Track and other NVD
/// tooling compare vendor versions that follow no one scheme: [`VersionScheme::Loose`], whose module
/// gives the rules.
///
/// Each version is split into runs of digits and runs of letters; any other character (`.`, `-`, `_`,
/// `+`, `~`…) only separates. Runs are compared left to right: digits numerically (any length, leading
/// zeros ignored), letters lexically ignoring ASCII case, and digits above letters at the same place
/// (`1.0.1` > `1.0.beta`). Trailing zero numbers do not count (`8.4` = `8.4.0` < `8.4.1`), and a
/// version that runs out first is below the other (`1.1.1` < `1.1.1a` < `1.1.1t`, OpenSSL's letter
/// releases). Pre-release labels are therefore not recognised: `14.0` < `14.0rc3`, as with NVD's own
/// text-like comparison. Returns `None` when either version has no digit or letter at all.
pub fn compare_loose(a: &str, b: &str) -> Option<Ordering> {
    let a = Version::parse(VersionScheme::Loose, a).ok()?;
    let b = Version::parse(VersionScheme::Loose, b).ok()?;
    Some(a.cmp(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_order(a: &str, b: &str, expected: Option<Ordering>) {
        assert_eq!(compare_loose(a, b), expected, "{a} vs {b}");
        assert_eq!(
            compare_loose(b, a),
            expected.map(Ordering::reverse),
            "{b} vs {a}"
        );
    }

    #[test]
    fn loose_ordering() {
        use Ordering::*;
        check_order("7.69.0", "8.4.0", Some(Less));
        check_order("8.4", "8.4.0", Some(Equal));
        check_order("8.4.0", "8.4.1", Some(Less));
        check_order("10.0", "9.9", Some(Greater));
        check_order("1.1.1", "1.1.1a", Some(Less));
        check_order("1.1.1a", "1.1.1t", Some(Less));
        check_order("8.5p1", "8.6", Some(Less));
        check_order("1.0.1", "1.0.beta", Some(Greater));
        check_order("2.0-RC1", "2.0.rc1", Some(Equal));
        check_order("007", "7", Some(Equal));
        check_order("123456789012345678901234567890", "2", Some(Greater));
        check_order("", "1", None);
        check_order("...", "1", None);
        // Equal versions order alike against a third: `1` = `1.0` < `1.a`.
        check_order("1.0", "1.a", Some(Less));
        check_order("1", "1.a", Some(Less));
    }

    #[test]
    fn patterns() {
        let p = |s: &str| match CpeValue::parse(s, s, "product").unwrap() {
            CpeValue::Pattern(p) => p,
            other => panic!("{s}: {other:?}"),
        };
        assert!(p("*ssl").matches("OpenSSL"));
        assert!(!p("*ssl").matches("openssl-libs"));
        assert!(p("1.2.*").matches("1.2.3"));
        assert!(p("??ssl").matches("ssl"));
        assert!(p("??ssl").matches("bossl"));
        assert!(!p("??ssl").matches("openssl"));
        assert!(p("x??").matches("xab"));
        assert!(!p("x??").matches("xabc"));
    }
}
