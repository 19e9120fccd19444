//! Versions and their exact ordering, one scheme per ecosystem family.
//!
//! `Version::parse(scheme, text)` is the only way to build a version; comparison between two versions of
//! the same scheme follows that ecosystem's own rules exactly (verified against real oracles in tests).
//! Each scheme lives in its own file and parses into a compact form that compares without allocating;
//! numeric components of any length compare exactly (see `num`).
//!
//! The oracle vectors in `crates/core/tests/data/versions/*.tsv` are pairs of real versions from the shared
//! data, ordered by each ecosystem's own tool (dpkg, rpm, Maven, RubyGems, Composer, node-semver, Go,
//! `packaging`); `scripts/oracles/regen-version-vectors.sh` regenerates them. The loose scheme of CPE
//! names (`loose`) is a convention of NVD tooling rather than an ecosystem's tool, so it has no oracle
//! vectors: its cases are unit tests, and the property tests check that it is a total order.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use self::semver::SemverLike;

mod apk;
mod composer;
mod dpkg;
mod loose;
mod maven;
mod nuget;
mod num;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

/// How an ecosystem orders its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VersionScheme {
    /// SemVer 2.0 precedence (crates.io, Hex, Pub; also every OSV `SEMVER` range).
    Semver,
    /// SemVer 2.0 as npm orders it (a leading `v` or `=` is allowed).
    Npm,
    /// Go module versions: `v` prefix, pseudo-versions, `+incompatible`.
    Go,
    /// PEP 440 (PyPI).
    Pep440,
    /// Maven's ComparableVersion.
    Maven,
    /// NuGet (SemVer 2.0 with a fourth numeric part, case-insensitive prerelease).
    NuGet,
    /// RubyGems' Gem::Version.
    RubyGems,
    /// Composer (Packagist).
    Composer,
    /// dpkg (Debian, Ubuntu): epoch, upstream, revision, `~`.
    Dpkg,
    /// rpmvercmp with epoch, `~` and `^` (AlmaLinux, Rocky, Red Hat, SUSE).
    Rpm,
    /// apk-tools (Alpine).
    Apk,
    /// The loose dotted-numeric ordering NVD tooling compares CPE versions with (CPE-only software).
    Loose,
}

/// A version string that its scheme could not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scheme:?} version {text:?} is not valid: {reason}")]
pub struct VersionError {
    /// The scheme the text was parsed with.
    pub scheme: VersionScheme,
    /// The text that failed.
    pub text: String,
    /// Why it failed.
    pub reason: String,
}

/// A parsed version. Ordering is exact within one scheme; versions of different schemes order by scheme
/// (never meaningful, but total so that versions can live in sorted collections).
///
/// Equality is the ecosystem's: Maven "1.0" == "1.0.0", PEP 440 "1.0" == "1.0.0", dpkg "1.0" == "1.0-0".
/// The text is kept as given, so two equal versions may print differently.
#[derive(Debug, Clone)]
pub struct Version {
    text: Box<str>,
    parsed: Parsed,
}

/// The compact, comparable form of each scheme. Comparing two of these never allocates.
#[derive(Debug, Clone)]
enum Parsed {
    Semver(SemverLike),
    Npm(SemverLike),
    Go(SemverLike),
    Pep440(pep440::Pep440),
    Maven(maven::Maven),
    NuGet(nuget::NuGet),
    RubyGems(rubygems::RubyGems),
    Composer(composer::Composer),
    Dpkg(dpkg::Dpkg),
    Rpm(rpm::Rpm),
    Apk(apk::Apk),
    Loose(loose::Loose),
}

impl Version {
    /// Parses `text` with the rules of `scheme`.
    ///
    /// Never panics: malformed or hostile text (huge strings, huge numbers) is either parsed (numbers of any
    /// size compare exactly) or rejected with a [`VersionError`] saying why.
    pub fn parse(scheme: VersionScheme, text: &str) -> Result<Version, VersionError> {
        let parsed = match scheme {
            VersionScheme::Semver => semver::parse_semver(text).map(Parsed::Semver),
            VersionScheme::Npm => semver::parse_npm(text).map(Parsed::Npm),
            VersionScheme::Go => semver::parse_go(text).map(Parsed::Go),
            VersionScheme::Pep440 => pep440::parse(text).map(Parsed::Pep440),
            VersionScheme::Maven => maven::parse(text).map(Parsed::Maven),
            VersionScheme::NuGet => nuget::parse(text).map(Parsed::NuGet),
            VersionScheme::RubyGems => rubygems::parse(text).map(Parsed::RubyGems),
            VersionScheme::Composer => composer::parse(text).map(Parsed::Composer),
            VersionScheme::Dpkg => dpkg::parse(text).map(Parsed::Dpkg),
            VersionScheme::Rpm => rpm::parse(text).map(Parsed::Rpm),
            VersionScheme::Apk => apk::parse(text).map(Parsed::Apk),
            VersionScheme::Loose => loose::parse(text).map(Parsed::Loose),
        };
        match parsed {
            Ok(parsed) => Ok(Version {
                text: text.into(),
                parsed,
            }),
            Err(reason) => Err(VersionError {
                scheme,
                text: text.to_string(),
                reason,
            }),
        }
    }

    /// The text this version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The scheme this version was parsed with.
    pub fn scheme(&self) -> VersionScheme {
        match self.parsed {
            Parsed::Semver(_) => VersionScheme::Semver,
            Parsed::Npm(_) => VersionScheme::Npm,
            Parsed::Go(_) => VersionScheme::Go,
            Parsed::Pep440(_) => VersionScheme::Pep440,
            Parsed::Maven(_) => VersionScheme::Maven,
            Parsed::NuGet(_) => VersionScheme::NuGet,
            Parsed::RubyGems(_) => VersionScheme::RubyGems,
            Parsed::Composer(_) => VersionScheme::Composer,
            Parsed::Dpkg(_) => VersionScheme::Dpkg,
            Parsed::Rpm(_) => VersionScheme::Rpm,
            Parsed::Apk(_) => VersionScheme::Apk,
            Parsed::Loose(_) => VersionScheme::Loose,
        }
    }

    /// The first numeric release component ("major"), used to tell an Update (same major) from an Upgrade.
    ///
    /// `None` when the version does not start with a number (a Composer branch, a Maven "alpha-1") or the
    /// number does not fit in a `u64`. For dpkg and RPM this is the upstream version's leading number, not
    /// the epoch.
    pub fn major(&self) -> Option<u64> {
        match &self.parsed {
            Parsed::Semver(v) | Parsed::Npm(v) | Parsed::Go(v) => v.major.as_u64(),
            Parsed::Pep440(v) => v.major(),
            Parsed::Maven(v) => v.major(),
            Parsed::NuGet(v) => Some(v.major()),
            Parsed::RubyGems(v) => v.major(),
            Parsed::Composer(v) => v.major(),
            Parsed::Dpkg(v) => v.major(),
            Parsed::Rpm(v) => v.major(),
            Parsed::Apk(v) => v.major(),
            Parsed::Loose(v) => v.major(),
        }
    }

    /// True for a prerelease in the ecosystem's own terms: a SemVer/NuGet prerelease label, a PEP 440
    /// pre- or dev-release, a Maven qualifier below the release (alpha, beta, milestone, rc, snapshot), a
    /// RubyGems version with a letter, a Composer dev/alpha/beta/RC version or branch, a `~` in a dpkg or
    /// RPM version, an apk `_alpha`/`_beta`/`_pre`/`_rc` suffix; never for the loose scheme, which
    /// recognises no pre-release labels.
    pub fn is_prerelease(&self) -> bool {
        match &self.parsed {
            Parsed::Semver(v) | Parsed::Npm(v) | Parsed::Go(v) => !v.pre.is_empty(),
            Parsed::Pep440(v) => v.is_prerelease(),
            Parsed::Maven(v) => v.is_prerelease(),
            Parsed::NuGet(v) => v.is_prerelease(),
            Parsed::RubyGems(v) => v.is_prerelease(),
            Parsed::Composer(v) => v.is_prerelease(),
            Parsed::Dpkg(v) => v.is_prerelease(),
            Parsed::Rpm(v) => v.is_prerelease(),
            Parsed::Apk(v) => v.is_prerelease(),
            // The loose ordering knows no pre-release labels (`14.0` < `14.0rc3`).
            Parsed::Loose(_) => false,
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.parsed, &other.parsed) {
            (Parsed::Semver(a), Parsed::Semver(b))
            | (Parsed::Npm(a), Parsed::Npm(b))
            | (Parsed::Go(a), Parsed::Go(b)) => a.cmp(b),
            (Parsed::Pep440(a), Parsed::Pep440(b)) => a.cmp(b),
            (Parsed::Maven(a), Parsed::Maven(b)) => a.cmp(b),
            (Parsed::NuGet(a), Parsed::NuGet(b)) => a.cmp(b),
            (Parsed::RubyGems(a), Parsed::RubyGems(b)) => a.cmp(b),
            (Parsed::Composer(a), Parsed::Composer(b)) => a.cmp(b),
            (Parsed::Dpkg(a), Parsed::Dpkg(b)) => a.cmp(b),
            (Parsed::Rpm(a), Parsed::Rpm(b)) => a.cmp(b),
            (Parsed::Apk(a), Parsed::Apk(b)) => a.cmp(b),
            (Parsed::Loose(a), Parsed::Loose(b)) => a.cmp(b),
            _ => self.scheme().cmp(&other.scheme()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
