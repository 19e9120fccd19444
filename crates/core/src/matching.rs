//! Matching installed package versions against advisories, the fast way: an in-memory index keyed by
//! normalised (ecosystem, release, name) with every range event parsed in advance.
//!
//! Each distinct (ecosystem, name, version) is matched once ([`AdvisoryIndex::match_version`]); callers fan
//! the result out to the devices that have it. Range evaluation follows the OSV specification's reference
//! algorithm (events sorted by version; `introduced` opens, `fixed` closes exclusive, `last_affected`
//! closes inclusive, `limit` caps the range), evaluated over pre-parsed versions with no allocation.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::advisory::{Advisory, Event, RangeKind};
use crate::ecosystem::{Ecosystem, EcosystemRelease};
use crate::version::{Version, VersionError, VersionScheme};

/// The key advisories and installed packages meet on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageKey {
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Distribution release (`None` for language ecosystems).
    pub release: Option<String>,
    /// Name normalised for the ecosystem.
    pub name: String,
}

impl PackageKey {
    /// Builds the key for a package of `ecosystem` named `name` (normalising the name).
    pub fn new(ecosystem: &EcosystemRelease, name: &str) -> PackageKey {
        PackageKey {
            ecosystem: ecosystem.ecosystem,
            release: ecosystem.release.clone(),
            name: ecosystem.ecosystem.normalize_name(name),
        }
    }
}

/// Something in the advisory corpus that the index could not use fully.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDiagnostic {
    /// The advisory.
    pub advisory_id: String,
    /// What was wrong (an unparseable event version, …) and what was done about it.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    // Order matters: on equal versions an `introduced` is applied before the events that close a range.
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

#[derive(Debug, Clone)]
struct CompiledEvent {
    kind: EventKind,
    /// `None` is the `"0"` introduced event: before every version.
    version: Option<Version>,
    text: String,
}

#[derive(Debug, Clone)]
struct CompiledRange {
    scheme: VersionScheme,
    events: Vec<CompiledEvent>,
}

#[derive(Debug, Clone)]
struct Entry {
    advisory: u32,
    affected: u16,
    ranges: Vec<CompiledRange>,
    versions: Vec<String>,
    /// `versions` parsed with the ecosystem's scheme, where they parse (for equality beyond spelling).
    parsed_versions: Vec<Version>,
}

/// One advisory that affects a version: which record and which of its `affected` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// The advisory's id.
    pub advisory_id: String,
    /// The vulnerability it belongs to (alias group id: a CVE when one is known).
    pub vulnerability_id: String,
    /// True for informational records (unmaintained, unsound, notice): warnings, not vulnerabilities.
    pub informational: bool,
    /// Versions that fix the vulnerability for this version (the `fixed` events above it).
    pub fixed_versions: Vec<String>,
}

/// The outcome of matching one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchOutcome {
    /// The version was assessed; these advisories affect it (possibly none).
    Assessed(Vec<Hit>),
    /// The version could not be parsed for a range that names this package: not assessed.
    Unassessed(VersionError),
}

/// An index of advisories, built once per corpus change, queried for every distinct installed version.
#[derive(Debug, Clone, Default)]
pub struct AdvisoryIndex {
    advisories: Vec<Advisory>,
    by_id: HashMap<String, u32>,
    by_package: HashMap<PackageKey, Vec<Entry>>,
    vulnerability_of: Vec<String>,
}

impl AdvisoryIndex {
    /// Builds the index. Withdrawn records are kept (for lookup) but never match. Diagnostics report event
    /// versions that do not parse: such a range is left out (the record's explicit `versions` still match).
    pub fn build(advisories: Vec<Advisory>) -> (AdvisoryIndex, Vec<IndexDiagnostic>) {
        let mut diagnostics = Vec::new();
        let mut by_package: HashMap<PackageKey, Vec<Entry>> = HashMap::new();
        let mut by_id = HashMap::with_capacity(advisories.len());
        for (i, advisory) in advisories.iter().enumerate() {
            by_id.insert(advisory.id.clone(), i as u32);
            if advisory.withdrawn.is_some() {
                continue;
            }
            for (j, affected) in advisory.affected.iter().enumerate() {
                let scheme = affected.ecosystem.ecosystem.scheme();
                let mut ranges = Vec::new();
                for range in &affected.ranges {
                    let range_scheme = match range.kind {
                        RangeKind::Git => continue,
                        RangeKind::Semver => semver_scheme_for(affected.ecosystem.ecosystem),
                        RangeKind::Ecosystem => scheme,
                    };
                    match compile_range(range_scheme, &range.events) {
                        Ok(r) => ranges.push(r),
                        Err(e) => diagnostics.push(IndexDiagnostic {
                            advisory_id: advisory.id.clone(),
                            message: format!(
                                "{} package {}: range left out: {e}",
                                affected.ecosystem, affected.name
                            ),
                        }),
                    }
                }
                let parsed_versions = affected
                    .versions
                    .iter()
                    .filter_map(|v| Version::parse(scheme, v).ok())
                    .collect();
                by_package
                    .entry(PackageKey::new(&affected.ecosystem, &affected.name))
                    .or_default()
                    .push(Entry {
                        advisory: i as u32,
                        affected: j as u16,
                        ranges,
                        versions: affected.versions.clone(),
                        parsed_versions,
                    });
            }
        }
        let vulnerability_of = group_aliases(&advisories);
        let index = AdvisoryIndex {
            advisories,
            by_id,
            by_package,
            vulnerability_of,
        };
        (index, diagnostics)
    }

    /// Number of advisories (withdrawn included).
    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    /// True when the index holds no advisory.
    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    /// Every advisory.
    pub fn advisories(&self) -> &[Advisory] {
        &self.advisories
    }

    /// An advisory by id.
    pub fn advisory(&self, id: &str) -> Option<&Advisory> {
        self.by_id.get(id).map(|&i| &self.advisories[i as usize])
    }

    /// The vulnerability (alias group) an advisory belongs to.
    pub fn vulnerability_id(&self, advisory_id: &str) -> Option<&str> {
        self.by_id
            .get(advisory_id)
            .map(|&i| self.vulnerability_of[i as usize].as_str())
    }

    /// True when some advisory names this package at all (cheap pre-check before parsing versions).
    pub fn knows(&self, key: &PackageKey) -> bool {
        self.by_package.contains_key(key)
    }

    /// Matches one installed version of a package. Informational hits are included (flagged).
    pub fn match_version(&self, key: &PackageKey, version: &str) -> MatchOutcome {
        let Some(entries) = self.by_package.get(key) else {
            return MatchOutcome::Assessed(Vec::new());
        };
        let mut parsed = ParsedCache::new(version);
        let mut hits = Vec::new();
        for entry in entries {
            match entry_affects(entry, key.ecosystem, &mut parsed) {
                Ok(Some(fixed_versions)) => {
                    let advisory = &self.advisories[entry.advisory as usize];
                    let informational = advisory.affected[entry.affected as usize]
                        .informational
                        .is_some()
                        || advisory.informational.is_some();
                    if hits.iter().any(|h: &Hit| h.advisory_id == advisory.id) {
                        continue;
                    }
                    hits.push(Hit {
                        advisory_id: advisory.id.clone(),
                        vulnerability_id: self.vulnerability_of[entry.advisory as usize].clone(),
                        informational,
                        fixed_versions,
                    });
                }
                Ok(None) => {}
                Err(e) => return MatchOutcome::Unassessed(e),
            }
        }
        hits.sort_by(|a, b| a.advisory_id.cmp(&b.advisory_id));
        MatchOutcome::Assessed(hits)
    }

    /// True when `version` of the package is affected by advisory `advisory_id` (any of its entries for
    /// this package). Used to check candidate fix versions. Unparseable versions count as affected.
    pub fn affects(&self, advisory_id: &str, key: &PackageKey, version: &str) -> bool {
        let Some(&index) = self.by_id.get(advisory_id) else {
            return false;
        };
        let Some(entries) = self.by_package.get(key) else {
            return false;
        };
        let mut parsed = ParsedCache::new(version);
        entries
            .iter()
            .filter(|e| e.advisory == index)
            .any(|e| !matches!(entry_affects(e, key.ecosystem, &mut parsed), Ok(None)))
    }

    /// Every `fixed` event version of the advisories that name this package (candidate fix versions).
    pub fn fixed_versions(&self, key: &PackageKey, advisory_ids: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        let Some(entries) = self.by_package.get(key) else {
            return out;
        };
        for entry in entries {
            let id = &self.advisories[entry.advisory as usize].id;
            if !advisory_ids.contains(&id.as_str()) {
                continue;
            }
            for range in &entry.ranges {
                for event in &range.events {
                    if event.kind == EventKind::Fixed && !out.contains(&event.text) {
                        out.push(event.text.clone());
                    }
                }
            }
        }
        out
    }
}

/// OSV `SEMVER` ranges order by SemVer 2.0 whatever the ecosystem; Go's versions need Go's leniency
/// (pseudo-versions, `+incompatible`), npm's node-semver's, so those keep their own semver flavour.
fn semver_scheme_for(ecosystem: Ecosystem) -> VersionScheme {
    match ecosystem {
        Ecosystem::Go => VersionScheme::Go,
        Ecosystem::Npm => VersionScheme::Npm,
        _ => VersionScheme::Semver,
    }
}

fn compile_range(scheme: VersionScheme, events: &[Event]) -> Result<CompiledRange, VersionError> {
    let mut compiled = Vec::with_capacity(events.len());
    for event in events {
        let (kind, text) = match event {
            Event::Introduced(t) => (EventKind::Introduced, t),
            Event::Fixed(t) => (EventKind::Fixed, t),
            Event::LastAffected(t) => (EventKind::LastAffected, t),
            Event::Limit(t) => (EventKind::Limit, t),
        };
        let version = if kind == EventKind::Introduced && text.trim() == "0" {
            None
        } else if kind == EventKind::Limit && text.trim() == "*" {
            // "*" is an unbounded limit: it caps nothing.
            continue;
        } else {
            Some(Version::parse(scheme, text)?)
        };
        compiled.push(CompiledEvent {
            kind,
            version,
            text: text.clone(),
        });
    }
    compiled.sort_by(|a, b| match (&a.version, &b.version) {
        (None, None) => a.kind.cmp(&b.kind),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y).then(a.kind.cmp(&b.kind)),
    });
    Ok(CompiledRange {
        scheme,
        events: compiled,
    })
}

/// The installed version parsed lazily, at most once per scheme.
struct ParsedCache<'a> {
    text: &'a str,
    parsed: Vec<(VersionScheme, Result<Version, VersionError>)>,
}

impl<'a> ParsedCache<'a> {
    fn new(text: &'a str) -> ParsedCache<'a> {
        ParsedCache {
            text,
            parsed: Vec::new(),
        }
    }

    fn get(&mut self, scheme: VersionScheme) -> Result<&Version, VersionError> {
        let pos = match self.parsed.iter().position(|(s, _)| *s == scheme) {
            Some(p) => p,
            None => {
                self.parsed
                    .push((scheme, Version::parse(scheme, self.text)));
                self.parsed.len() - 1
            }
        };
        self.parsed[pos].1.as_ref().map_err(Clone::clone)
    }
}

/// `Ok(Some(fixed versions))` when affected, `Ok(None)` when not, `Err` when the installed version does
/// not parse for a range that would decide it.
fn entry_affects(
    entry: &Entry,
    ecosystem: Ecosystem,
    installed: &mut ParsedCache<'_>,
) -> Result<Option<Vec<String>>, VersionError> {
    if entry.versions.iter().any(|v| v == installed.text) {
        return Ok(Some(fixed_above(entry, installed)));
    }
    if !entry.parsed_versions.is_empty()
        && let Ok(v) = installed.get(ecosystem.scheme())
        && entry.parsed_versions.iter().any(|p| p == v)
    {
        return Ok(Some(fixed_above(entry, installed)));
    }
    for range in &entry.ranges {
        let version = installed.get(range.scheme)?;
        if range_affects(range, version) {
            return Ok(Some(fixed_above(entry, installed)));
        }
    }
    Ok(None)
}

fn range_affects(range: &CompiledRange, version: &Version) -> bool {
    let mut affected = false;
    for event in &range.events {
        let cmp = match &event.version {
            None => Ordering::Greater,
            Some(e) => version.cmp(e),
        };
        match event.kind {
            EventKind::Introduced if cmp != Ordering::Less => affected = true,
            EventKind::Fixed if cmp != Ordering::Less => affected = false,
            EventKind::LastAffected if cmp == Ordering::Greater => affected = false,
            EventKind::Limit if cmp != Ordering::Less => return false,
            _ => {}
        }
    }
    affected
}

/// The `fixed` events above the installed version, in order.
fn fixed_above(entry: &Entry, installed: &mut ParsedCache<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for range in &entry.ranges {
        let Ok(version) = installed.get(range.scheme) else {
            continue;
        };
        let version = version.clone();
        for event in &range.events {
            if event.kind == EventKind::Fixed
                && event.version.as_ref().is_some_and(|f| *f > version)
                && !out.contains(&event.text)
            {
                out.push(event.text.clone());
            }
        }
    }
    out
}

/// Groups advisories into vulnerabilities through their aliases (union-find over ids), and names each group:
/// its CVE id if it has one (the smallest, if several), else a GHSA id, else the smallest id.
fn group_aliases(advisories: &[Advisory]) -> Vec<String> {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    for a in advisories {
        for id in std::iter::once(a.id.as_str()).chain(a.aliases.iter().map(String::as_str)) {
            if !ids.contains_key(id) {
                ids.insert(id, names.len());
                names.push(id);
            }
        }
    }
    let mut parent: Vec<usize> = (0..names.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for a in advisories {
        let root = ids[a.id.as_str()];
        for alias in &a.aliases {
            let (x, y) = (
                find(&mut parent, root),
                find(&mut parent, ids[alias.as_str()]),
            );
            if x != y {
                parent[x] = y;
            }
        }
    }
    let mut best: HashMap<usize, &str> = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        let root = find(&mut parent, i);
        let entry = best.entry(root).or_insert(name);
        if rank(name) < rank(entry) {
            *entry = name;
        }
    }
    advisories
        .iter()
        .map(|a| {
            let root = find(&mut parent, ids[a.id.as_str()]);
            best[&root].to_string()
        })
        .collect()
}

fn rank(id: &str) -> (u8, &str) {
    let class = if id.starts_with("CVE-") {
        0
    } else if id.starts_with("GHSA-") {
        1
    } else {
        2
    };
    (class, id)
}
