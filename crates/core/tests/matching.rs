//! Range semantics, alias grouping and recommendations on hand-built advisories (crates.io / SemVer).

use std::collections::{BTreeMap, HashMap};

use bulwark_core::context::ThreatContext;
use bulwark_core::matching::{AdvisoryIndex, MatchOutcome, PackageKey};
use bulwark_core::recommendation::{RecommendationInput, RemediationType, recommendations};
use bulwark_core::{
    Advisory, Affected, DeviceId, Ecosystem, EcosystemRelease, Event, Range, RangeKind, Severity,
    SeverityLevel, SoftwareKey, Weakness,
};
use chrono::{TimeZone, Utc};

fn crates() -> EcosystemRelease {
    EcosystemRelease::new(Ecosystem::CratesIo, None)
}

fn advisory(
    id: &str,
    aliases: &[&str],
    package: &str,
    events: &[Event],
    versions: &[&str],
) -> Advisory {
    Advisory {
        id: id.into(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        related: vec![],
        modified: "2024-01-01T00:00:00Z".into(),
        published: Some("2023-01-01T00:00:00Z".into()),
        withdrawn: None,
        summary: Some(format!("summary of {id}")),
        details: None,
        severity: Some(Severity {
            level: SeverityLevel::High,
            score: Some(7.5),
            vector: None,
        }),
        affected: vec![Affected {
            ecosystem: crates(),
            name: package.into(),
            purl: None,
            ranges: if events.is_empty() {
                vec![]
            } else {
                vec![Range {
                    kind: RangeKind::Semver,
                    repo: None,
                    events: events.to_vec(),
                }]
            },
            versions: versions.iter().map(|s| s.to_string()).collect(),
            informational: None,
        }],
        informational: None,
        references: vec![],
    }
}

fn intro(v: &str) -> Event {
    Event::Introduced(v.into())
}
fn fixed(v: &str) -> Event {
    Event::Fixed(v.into())
}
fn last(v: &str) -> Event {
    Event::LastAffected(v.into())
}

/// Checks which of `versions` the single advisory affects.
fn check(events: &[Event], listed: &[&str], expected: &[(&str, bool)]) {
    let (index, diags) = AdvisoryIndex::build(vec![advisory("A-1", &[], "pkg", events, listed)]);
    assert!(diags.is_empty(), "{diags:?}");
    let key = PackageKey::new(&crates(), "pkg");
    for (version, want) in expected {
        let got = match index.match_version(&key, version) {
            MatchOutcome::Assessed(hits) => !hits.is_empty(),
            MatchOutcome::Unassessed(e) => panic!("{version}: {e}"),
        };
        assert_eq!(got, *want, "version {version} with events {events:?}");
    }
}

#[test]
fn introduced_fixed() {
    check(
        &[intro("1.0.0"), fixed("1.2.0")],
        &[],
        &[
            ("0.9.9", false),
            ("1.0.0", true),
            ("1.1.9", true),
            ("1.2.0", false),
            ("2.0.0", false),
        ],
    );
}

#[test]
fn introduced_zero_and_prereleases() {
    check(
        &[intro("0"), fixed("0.4.5")],
        &[],
        &[("0.0.1", true), ("0.4.5-rc.1", true), ("0.4.5", false)],
    );
    check(
        &[intro("0.1.4-0"), fixed("0.4.5")],
        &[],
        &[("0.1.4", true), ("0.1.3", false)],
    );
}

#[test]
fn last_affected_is_inclusive() {
    check(
        &[intro("1.0.0"), last("1.3.0")],
        &[],
        &[("1.3.0", true), ("1.3.1", false), ("0.1.0", false)],
    );
}

#[test]
fn several_intervals_in_one_range_and_unsorted_events() {
    check(
        &[
            fixed("2.0.5"),
            intro("2.0.0"),
            fixed("1.5.3"),
            intro("1.0.0"),
        ],
        &[],
        &[
            ("1.5.2", true),
            ("1.5.3", false),
            ("1.9.0", false),
            ("2.0.4", true),
            ("2.0.5", false),
        ],
    );
}

#[test]
fn limit_caps_the_range() {
    check(
        &[intro("0"), Event::Limit("3.0.0".into())],
        &[],
        &[("2.9.9", true), ("3.0.0", false), ("4.0.0", false)],
    );
}

#[test]
fn explicit_versions_match_without_ranges() {
    check(
        &[],
        &["1.0.0", "1.0.1"],
        &[("1.0.1", true), ("1.0.2", false)],
    );
}

#[test]
fn unparseable_installed_version_is_unassessed_not_safe() {
    let (index, _) = AdvisoryIndex::build(vec![advisory(
        "A-1",
        &[],
        "pkg",
        &[intro("0"), fixed("1.0.0")],
        &[],
    )]);
    let key = PackageKey::new(&crates(), "pkg");
    assert!(matches!(
        index.match_version(&key, "not-a-version"),
        MatchOutcome::Unassessed(_)
    ));
    // A package no advisory names is assessed (nothing to find), whatever its version looks like.
    let other = PackageKey::new(&crates(), "other");
    assert_eq!(
        index.match_version(&other, "???"),
        MatchOutcome::Assessed(vec![])
    );
}

#[test]
fn withdrawn_records_never_match() {
    let mut a = advisory("A-1", &[], "pkg", &[intro("0")], &[]);
    a.withdrawn = Some("2024-02-01T00:00:00Z".into());
    let (index, _) = AdvisoryIndex::build(vec![a]);
    let key = PackageKey::new(&crates(), "pkg");
    assert_eq!(
        index.match_version(&key, "1.0.0"),
        MatchOutcome::Assessed(vec![])
    );
}

#[test]
fn aliases_join_records_of_one_vulnerability() {
    let (index, _) = AdvisoryIndex::build(vec![
        advisory(
            "RUSTSEC-2020-0001",
            &["GHSA-aaaa-bbbb-cccc"],
            "pkg",
            &[intro("0")],
            &[],
        ),
        advisory(
            "GHSA-aaaa-bbbb-cccc",
            &["CVE-2020-1234"],
            "pkg",
            &[intro("0")],
            &[],
        ),
        advisory("RUSTSEC-2020-0002", &[], "pkg", &[intro("0")], &[]),
    ]);
    assert_eq!(
        index.vulnerability_id("RUSTSEC-2020-0001"),
        Some("CVE-2020-1234")
    );
    assert_eq!(
        index.vulnerability_id("GHSA-aaaa-bbbb-cccc"),
        Some("CVE-2020-1234")
    );
    assert_eq!(
        index.vulnerability_id("RUSTSEC-2020-0002"),
        Some("RUSTSEC-2020-0002")
    );
    let key = PackageKey::new(&crates(), "pkg");
    let MatchOutcome::Assessed(hits) = index.match_version(&key, "1.0.0") else {
        panic!("unassessed")
    };
    let mut vulns: Vec<_> = hits.iter().map(|h| h.vulnerability_id.as_str()).collect();
    vulns.dedup();
    assert_eq!(vulns, ["CVE-2020-1234", "RUSTSEC-2020-0002"]);
}

fn weakness(device: i64, package: &str, version: &str, vuln: &str, advisory: &str) -> Weakness {
    Weakness {
        device_id: DeviceId(device),
        software: SoftwareKey {
            ecosystem: crates(),
            name: package.into(),
            version: version.into(),
        },
        vulnerability_id: vuln.into(),
        advisory_ids: vec![advisory.into()],
        first_detected: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        resolved: None,
    }
}

#[test]
fn recommendation_update_upgrade_uninstall() {
    let (index, _) = AdvisoryIndex::build(vec![
        // "web": two vulnerabilities; 1.4.2 fixes the first, 1.5.0 both → Update to 1.5.0.
        advisory("A-1", &[], "web", &[intro("0"), fixed("1.4.2")], &[]),
        advisory("A-2", &[], "web", &[intro("1.0.0"), fixed("1.5.0")], &[]),
        // "old": only a 2.x release fixes → Upgrade.
        advisory("B-1", &[], "old", &[intro("0"), fixed("2.0.1")], &[]),
        // "dead": no fix at all → Uninstall.
        advisory("C-1", &[], "dead", &[intro("0")], &[]),
    ]);
    let now = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
    let weaknesses = vec![
        weakness(1, "web", "1.4.0", "A-1", "A-1"),
        weakness(1, "web", "1.4.0", "A-2", "A-2"),
        weakness(2, "web", "1.4.3", "A-2", "A-2"),
        weakness(1, "old", "1.9.0", "B-1", "B-1"),
        weakness(3, "dead", "0.3.0", "C-1", "C-1"),
    ];
    let last_seen: HashMap<_, _> = [
        (DeviceId(1), now),
        (DeviceId(2), now),
        // Device 3 was last seen 40 days ago: not exposed any more.
        (DeviceId(3), now - chrono::Duration::days(40)),
    ]
    .into();
    let installed_on: HashMap<_, _> = [(PackageKey::new(&crates(), "web"), 5)].into();
    let recs = recommendations(&RecommendationInput {
        index: &index,
        weaknesses: &weaknesses,
        last_seen: &last_seen,
        installed_on: &installed_on,
        now,
        threat: &ThreatContext::default(),
        device_values: &HashMap::new(),
        exposure_impacts: &BTreeMap::new(),
    });
    let by_name: HashMap<_, _> = recs.iter().map(|r| (r.product_name.as_str(), r)).collect();
    let web = by_name["web"];
    assert_eq!(web.recommendation_name, "Update web to 1.5.0");
    assert_eq!(web.remediation_type, RemediationType::Update);
    assert_eq!(web.weaknesses, 2);
    assert_eq!(web.exposed_machines_count, 2);
    assert_eq!(web.total_machine_count, 5);
    assert_eq!(web.id, "va-_-crates.io-_-web");
    assert!(web.unfixed_weaknesses.is_empty());
    let old = by_name["old"];
    assert_eq!(old.remediation_type, RemediationType::Upgrade);
    assert_eq!(old.recommended_version.as_deref(), Some("2.0.1"));
    let dead = by_name["dead"];
    assert_eq!(dead.remediation_type, RemediationType::Uninstall);
    assert_eq!(dead.recommended_version, None);
    assert_eq!(dead.recommendation_name, "Uninstall dead");
    assert_eq!(dead.exposed_machines_count, 0);
    assert_eq!(dead.unfixed_weaknesses, ["C-1"]);
}

#[test]
fn recommendation_says_which_weaknesses_remain_when_no_version_fixes_all() {
    let (index, _) = AdvisoryIndex::build(vec![
        advisory("A-1", &[], "lib", &[intro("0"), fixed("1.1.0")], &[]),
        advisory("A-2", &[], "lib", &[intro("0")], &[]),
    ]);
    let now = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
    let weaknesses = vec![
        weakness(1, "lib", "1.0.0", "A-1", "A-1"),
        weakness(1, "lib", "1.0.0", "A-2", "A-2"),
    ];
    let last_seen: HashMap<_, _> = [(DeviceId(1), now)].into();
    let recs = recommendations(&RecommendationInput {
        index: &index,
        weaknesses: &weaknesses,
        last_seen: &last_seen,
        installed_on: &HashMap::new(),
        now,
        threat: &ThreatContext::default(),
        device_values: &HashMap::new(),
        exposure_impacts: &BTreeMap::new(),
    });
    assert_eq!(recs[0].recommended_version.as_deref(), Some("1.1.0"));
    assert_eq!(recs[0].unfixed_weaknesses, ["A-2"]);
}
