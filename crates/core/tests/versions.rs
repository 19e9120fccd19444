//! Version ordering against the ecosystems' own implementations: every pair in `tests/data/versions/*.tsv`
//! (real versions judged by dpkg, rpm, Maven, RubyGems, Composer, node-semver, Go, `packaging`, apk-tools,
//! or taken from NuGet's documentation) must compare the same way here, in both directions.
//!
//! The files are committed, so this test needs no shared data; `scripts/oracles/regen-version-vectors.sh`
//! regenerates them.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::path::Path;

use bulwark_core::{Version, VersionScheme};

/// The scheme a vector file is for: its name up to the first '-' or '.'.
fn scheme_of(file_name: &str) -> Option<VersionScheme> {
    let stem = file_name.split(['-', '.']).next()?;
    Some(match stem {
        "semver" => VersionScheme::Semver,
        "npm" => VersionScheme::Npm,
        "go" => VersionScheme::Go,
        "pep440" => VersionScheme::Pep440,
        "maven" => VersionScheme::Maven,
        "nuget" => VersionScheme::NuGet,
        "rubygems" => VersionScheme::RubyGems,
        "composer" => VersionScheme::Composer,
        "dpkg" => VersionScheme::Dpkg,
        "rpm" => VersionScheme::Rpm,
        "apk" => VersionScheme::Apk,
        _ => return None,
    })
}

fn expected(field: &str) -> Option<Ordering> {
    match field {
        "-1" => Some(Ordering::Less),
        "0" => Some(Ordering::Equal),
        "1" => Some(Ordering::Greater),
        _ => None,
    }
}

/// Checks one vector line; returns a description of every way it fails.
fn check_line(scheme: VersionScheme, line: &str) -> Vec<String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [a, b, want] = fields[..] else {
        return vec![format!("malformed line {line:?}")];
    };
    let Some(want) = expected(want) else {
        return vec![format!("bad expectation in {line:?}")];
    };
    let (x, y) = match (Version::parse(scheme, a), Version::parse(scheme, b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return vec![format!("{a:?} vs {b:?}: {e}")],
    };
    let mut problems = Vec::new();
    if x.cmp(&y) != want {
        problems.push(format!(
            "{a:?} vs {b:?}: got {:?}, oracle says {want:?}",
            x.cmp(&y)
        ));
    }
    if y.cmp(&x) != want.reverse() {
        problems.push(format!(
            "{b:?} vs {a:?}: got {:?}, oracle says {:?}",
            y.cmp(&x),
            want.reverse()
        ));
    }
    if (x == y) != want.is_eq() {
        problems.push(format!(
            "{a:?} == {b:?} is {}, oracle says {:?}",
            x == y,
            want
        ));
    }
    problems
}

#[test]
fn every_oracle_vector_agrees() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/versions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tsv"))
        .collect();
    files.sort();

    let mut report = String::new();
    let mut failures = 0;
    let mut covered = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let scheme =
            scheme_of(&name).unwrap_or_else(|| panic!("{name}: no scheme for this file name"));
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {name}: {e}"));
        let mut rows = 0;
        for (index, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            rows += 1;
            for problem in check_line(scheme, line) {
                failures += 1;
                if failures <= 200 {
                    let _ = writeln!(report, "{name}:{}: {problem}", index + 1);
                }
            }
        }
        assert!(rows >= 30, "{name} has only {rows} vectors");
        covered.push(scheme);
    }
    // Every scheme that follows an ecosystem's tool has vectors; `VersionScheme::Loose` (CPE versions)
    // is a convention of NVD tooling with no tool to ask, so it is checked by unit and property tests.
    for scheme in [
        VersionScheme::Semver,
        VersionScheme::Npm,
        VersionScheme::Go,
        VersionScheme::Pep440,
        VersionScheme::Maven,
        VersionScheme::NuGet,
        VersionScheme::RubyGems,
        VersionScheme::Composer,
        VersionScheme::Dpkg,
        VersionScheme::Rpm,
        VersionScheme::Apk,
    ] {
        assert!(covered.contains(&scheme), "no vector file for {scheme:?}");
    }
    assert!(
        failures == 0,
        "{failures} disagreements with the oracles (first 200):\n{report}"
    );
}

#[test]
fn vector_files_stay_small() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/versions");
    for entry in std::fs::read_dir(&dir).expect("vector directory") {
        let path = entry.expect("directory entry").path();
        let size = std::fs::metadata(&path).expect("metadata").len();
        assert!(
            size < 300 * 1024,
            "{} is {size} bytes, keep vector files under 300 KB",
            path.display()
        );
    }
}
