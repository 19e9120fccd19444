//! Integration tests of the OSV parser: every staged real advisory set (counts and field-by-field spot
//! checks), content that is not OSV, and malformed or hostile records with their error locations.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bulwark_core::{
    Advisory, Affected, Ecosystem, EcosystemRelease, Event, Range, RangeKind, Severity,
    SeverityLevel,
};
use bulwark_formats::FormatError;
use bulwark_formats::osv::{MAX_SUMMARY_BYTES, OsvContent, ReadReport, parse_osv, read_advisories};
use bulwark_formats::source::{SourceFile, walk};

/// Reads a staged set through `read_advisories`, asserting it has no errors.
fn read_set(relative: &str, mut each: impl FnMut(Advisory)) -> Option<ReadReport> {
    let path = bulwark_testdata::shared_file(relative)?;
    let report = read_advisories(&path, &mut |a| each(a)).expect("staged set is readable");
    let errors: Vec<String> = report
        .errors
        .iter()
        .take(5)
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{relative}: {errors:#?}");
    Some(report)
}

/// Parses one member of a staged archive, which must hold exactly one advisory.
fn staged_record(archive: &str, member: &str) -> Option<Advisory> {
    let bytes = bulwark_testdata::archive_member(archive, member)?;
    match parse_osv(member, &bytes).expect("valid record") {
        OsvContent::Advisories(mut list) if list.len() == 1 => list.pop(),
        other => panic!("{member}: expected one advisory, got {other:?}"),
    }
}

fn skipped(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn rustsec_osv_export() {
    let mut informational: BTreeMap<String, u64> = BTreeMap::new();
    let (mut withdrawn, mut with_severity, mut v4) = (0, 0, 0);
    let Some(report) = read_set("advisories/rustsec-osv/rustsec-osv.tar.zst", |a| {
        assert!(
            a.affected
                .iter()
                .all(|e| e.ecosystem.ecosystem == Ecosystem::CratesIo)
        );
        assert!(
            a.affected
                .iter()
                .flat_map(|e| &e.ranges)
                .all(|r| r.kind == RangeKind::Semver)
        );
        if let Some(kind) = &a.informational {
            *informational.entry(kind.clone()).or_default() += 1;
        }
        withdrawn += u64::from(a.withdrawn.is_some());
        if let Some(s) = &a.severity {
            with_severity += 1;
            assert!(
                s.score.is_some(),
                "{}: RustSec gives vectors, not labels",
                a.id
            );
            v4 += u64::from(
                s.vector
                    .as_deref()
                    .is_some_and(|v| v.starts_with("CVSS:4.0/")),
            );
        }
    }) else {
        return;
    };
    assert_eq!(
        (report.files_read, report.advisories, report.not_osv),
        (1206, 1206, 0)
    );
    assert!(report.skipped_unsupported_ecosystems.is_empty());
    assert_eq!(
        informational,
        skipped(&[("notice", 6), ("unmaintained", 267), ("unsound", 203)])
    );
    // 360 records carry a CVSS_V3 vector and 57 a CVSS_V4 one; none has both.
    assert_eq!((withdrawn, with_severity, v4), (13, 417, 57));
}

#[test]
fn rustsec_mdbook_field_by_field() {
    let Some(a) = staged_record(
        "advisories/rustsec-osv/rustsec-osv.tar.zst",
        "rustsec-osv/crates/RUSTSEC-2021-0001.json",
    ) else {
        return;
    };
    assert_eq!(a.id, "RUSTSEC-2021-0001");
    assert_eq!(a.aliases, strings(&["CVE-2020-26297"]));
    assert!(a.related.is_empty());
    assert_eq!(a.modified, "2021-10-19T22:14:35Z");
    assert_eq!(a.published.as_deref(), Some("2021-01-04T12:00:00Z"));
    assert_eq!(a.withdrawn, None);
    assert_eq!(a.summary.as_deref(), Some("XSS in mdBook's search page"));
    assert!(a.details.as_deref().is_some_and(|d| {
        d.starts_with("> This is a cross-post of [the official security advisory][ml].")
    }));
    assert_eq!(
        a.severity,
        Some(Severity {
            level: SeverityLevel::Medium,
            score: Some(6.1),
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N".to_string()),
        })
    );
    assert_eq!(
        a.affected,
        [Affected {
            ecosystem: EcosystemRelease::new(Ecosystem::CratesIo, None),
            name: "mdbook".to_string(),
            purl: Some("pkg:cargo/mdbook".to_string()),
            ranges: vec![Range {
                kind: RangeKind::Semver,
                repo: None,
                events: vec![
                    Event::Introduced("0.1.4-0".to_string()),
                    Event::Fixed("0.4.5".to_string()),
                ],
            }],
            versions: vec![],
            informational: None,
        }]
    );
    assert_eq!(a.informational, None);
    assert_eq!(
        a.references,
        strings(&[
            "https://crates.io/crates/mdbook",
            "https://rustsec.org/advisories/RUSTSEC-2021-0001.html",
            "https://groups.google.com/g/rustlang-security-announcements/c/3-sO6of29O0",
        ])
    );
    assert_eq!(a.display_id(), "CVE-2020-26297");
}

#[test]
fn rustsec_unmaintained_notice() {
    let Some(a) = staged_record(
        "advisories/rustsec-osv/rustsec-osv.tar.zst",
        "rustsec-osv/crates/RUSTSEC-2016-0004.json",
    ) else {
        return;
    };
    assert_eq!(
        a.summary.as_deref(),
        Some("libusb is unmaintained; use rusb instead")
    );
    assert_eq!(a.informational.as_deref(), Some("unmaintained"));
    assert!(a.is_informational());
    assert_eq!(a.affected[0].informational.as_deref(), Some("unmaintained"));
    assert_eq!(a.affected[0].name, "libusb");
    assert_eq!(
        a.affected[0].ranges[0].events,
        [
            Event::Introduced("0.0.0-0".to_string()),
            Event::Fixed("0.3.1-0".to_string())
        ]
    );
    // Its `severity` is an empty list and its `database_specific.cvss` is null.
    assert_eq!(a.severity, None);
    assert!(a.aliases.is_empty());
}

#[test]
fn pypa_yaml_database() {
    let (mut withdrawn, mut with_severity, mut git_ranges) = (0, 0, 0);
    let Some(report) = read_set("advisories/pypa/pypa-advisory-database.tar.zst", |a| {
        assert!(
            a.affected
                .iter()
                .all(|e| e.ecosystem.ecosystem == Ecosystem::PyPI)
        );
        withdrawn += u64::from(a.withdrawn.is_some());
        with_severity += u64::from(a.severity.is_some());
        git_ranges += a
            .affected
            .iter()
            .flat_map(|e| &e.ranges)
            .filter(|r| r.kind == RangeKind::Git)
            .count();
    }) else {
        return;
    };
    assert_eq!(
        (report.files_read, report.advisories, report.not_osv),
        (2661, 2661, 0)
    );
    assert!(report.skipped_unsupported_ecosystems.is_empty());
    assert_eq!((withdrawn, with_severity, git_ranges), (10, 202, 1391));
}

#[test]
fn pypa_record_with_git_and_ecosystem_ranges() {
    let Some(a) = staged_record(
        "advisories/pypa/pypa-advisory-database.tar.zst",
        "pypa-advisory-database/vulns/accesscontrol/PYSEC-2021-335.yaml",
    ) else {
        return;
    };
    assert_eq!(a.id, "PYSEC-2021-335");
    assert_eq!(
        a.aliases,
        strings(&["CVE-2021-32807", "GHSA-qcx9-j53g-ccgf"])
    );
    assert_eq!(a.modified, "2021-09-26T23:32:08.989778Z");
    assert_eq!(a.published.as_deref(), Some("2021-07-30T22:15:00Z"));
    assert_eq!(a.summary, None);
    assert!(
        a.details
            .as_deref()
            .is_some_and(|d| d.starts_with("The module `AccessControl`"))
    );
    assert_eq!(a.severity, None);
    let e = &a.affected[..];
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].ecosystem, EcosystemRelease::new(Ecosystem::PyPI, None));
    assert_eq!(e[0].name, "accesscontrol");
    assert_eq!(e[0].purl.as_deref(), Some("pkg:pypi/accesscontrol"));
    assert_eq!(
        e[0].ranges,
        [
            Range {
                kind: RangeKind::Git,
                repo: Some("https://github.com/zopefoundation/AccessControl".to_string()),
                events: vec![
                    Event::Introduced("0".to_string()),
                    Event::Fixed("b42dd4badf803bb9fb71ac34cd9cb0c249262f2c".to_string()),
                ],
            },
            Range {
                kind: RangeKind::Ecosystem,
                repo: None,
                events: vec![
                    Event::Introduced("4.0".to_string()),
                    Event::Fixed("4.3".to_string()),
                    Event::Introduced("5.0".to_string()),
                    Event::Fixed("5.2".to_string()),
                ],
            },
        ]
    );
    // YAML quotes these so they stay strings ("4.0", not the float 4).
    assert_eq!(e[0].versions, strings(&["4.0", "4.1", "4.2", "5.0", "5.1"]));
    assert_eq!(a.references.len(), 3);
}

#[test]
fn pypa_withdrawn_record_with_cvss() {
    let Some(a) = staged_record(
        "advisories/pypa/pypa-advisory-database.tar.zst",
        "pypa-advisory-database/vulns/aiohttp/PYSEC-2022-43059.yaml",
    ) else {
        return;
    };
    assert_eq!(a.withdrawn.as_deref(), Some("2023-11-08T00:54:24Z"));
    assert_eq!(a.modified, "2024-02-16T13:47:54.655573Z");
    assert_eq!(
        a.severity,
        Some(Severity {
            level: SeverityLevel::Medium,
            score: Some(5.5),
            vector: Some("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H".to_string()),
        })
    );
    assert_eq!(
        a.affected[0].ranges[0].events,
        [Event::Introduced("0".to_string())]
    );
    assert_eq!(a.affected[0].versions[0], "0.1");
    assert_eq!(
        a.affected[0].versions.last().map(String::as_str),
        Some("3.9.4rc0")
    );
}

#[test]
fn go_vulndb() {
    let (mut withdrawn, mut entries) = (0, 0);
    let Some(report) = read_set("advisories/go/golang-vulndb-osv.tar.zst", |a| {
        assert!(
            a.affected
                .iter()
                .all(|e| e.ecosystem.ecosystem == Ecosystem::Go)
        );
        withdrawn += u64::from(a.withdrawn.is_some());
        entries += a.affected.len();
        assert_eq!(a.severity, None, "{}: the Go database rates nothing", a.id);
    }) else {
        return;
    };
    assert_eq!(
        (report.files_read, report.advisories, report.not_osv),
        (4291, 4291, 0)
    );
    assert!(report.skipped_unsupported_ecosystems.is_empty());
    assert_eq!((withdrawn, entries), (17, 6125));
}

#[test]
fn go_withdrawn_record() {
    let Some(a) = staged_record(
        "advisories/go/golang-vulndb-osv.tar.zst",
        "go-vulndb/data/osv/GO-2022-0617.json",
    ) else {
        return;
    };
    assert_eq!(a.withdrawn.as_deref(), Some("2024-08-21T16:25:56Z"));
    // The Go database really gives the year 1 as this record's modification time.
    assert_eq!(a.modified, "0001-01-01T00:00:00Z");
    assert_eq!(a.affected[0].name, "k8s.io/kubernetes");
    assert_eq!(a.affected[0].ranges[0].kind, RangeKind::Semver);
}

#[test]
fn psf_cpython_git_only_records_are_kept_without_matchable_entries() {
    let mut ids = BTreeSet::new();
    let Some(report) = read_set("advisories/psf/psf-advisory-database.tar.zst", |a| {
        assert!(a.affected.is_empty(), "{}", a.id);
        ids.insert(a.id);
    }) else {
        return;
    };
    assert_eq!(
        (report.files_read, report.advisories, report.not_osv),
        (132, 132, 0)
    );
    // Every entry is package-less with GIT ranges on the cpython repository.
    assert_eq!(
        report.skipped_unsupported_ecosystems,
        skipped(&[("GIT", 132)])
    );
    assert!(ids.contains("PSF-2007-1"));

    let Some(a) = staged_record(
        "advisories/psf/psf-advisory-database.tar.zst",
        "psf-advisory-database/advisories/python/PSF-2007-1.json",
    ) else {
        return;
    };
    assert_eq!(a.aliases, strings(&["CVE-2007-4965"]));
    assert_eq!(a.summary.as_deref(), Some("rgbimg and imageop overflows"));
    assert_eq!(a.references.len(), 4);
}

#[test]
fn almalinux_errata() {
    let mut per_release: BTreeMap<String, u64> = BTreeMap::new();
    let Some(report) = read_set("advisories/almalinux/almalinux-osv.tar.zst", |a| {
        for e in &a.affected {
            assert_eq!(e.ecosystem.ecosystem, Ecosystem::AlmaLinux);
            assert!(e.ranges.iter().all(|r| r.kind == RangeKind::Ecosystem));
            let release = e
                .ecosystem
                .release
                .clone()
                .expect("AlmaLinux entries name a release");
            *per_release.entry(release).or_default() += 1;
        }
    }) else {
        return;
    };
    assert_eq!(
        (report.files_read, report.advisories, report.not_osv),
        (5680, 5680, 0)
    );
    assert!(report.skipped_unsupported_ecosystems.is_empty());
    assert_eq!(
        per_release,
        skipped(&[("10", 6479), ("8", 40867), ("9", 23983)])
    );

    let Some(a) = staged_record(
        "advisories/almalinux/almalinux-osv.tar.zst",
        "almalinux-osv/advisories/almalinux9/ALBA-2022:8256.json",
    ) else {
        return;
    };
    assert_eq!(a.id, "ALBA-2022:8256");
    assert_eq!(
        a.summary.as_deref(),
        Some("Important: qatzip bug fix and enhancement update")
    );
    assert_eq!(a.published.as_deref(), Some("2022-11-15T00:00:00Z"));
    assert_eq!(a.affected.len(), 3);
    assert_eq!(
        a.affected[0],
        Affected {
            ecosystem: EcosystemRelease::parse("AlmaLinux:9").expect("known ecosystem"),
            name: "qatzip".to_string(),
            purl: None,
            ranges: vec![Range {
                kind: RangeKind::Ecosystem,
                repo: None,
                events: vec![
                    Event::Introduced("0".to_string()),
                    Event::Fixed("1.0.9-1.el9".to_string()),
                ],
            }],
            versions: vec![],
            informational: None,
        }
    );
    assert_eq!(a.affected[0].ecosystem.release.as_deref(), Some("9"));
    assert_eq!(
        a.references[0],
        "https://access.redhat.com/errata/RHBA-2022:8256"
    );
}

#[test]
fn ghsa_maven_as_served_by_osv_dev() {
    let mut ids = BTreeSet::new();
    let Some(report) = read_set("advisories/ghsa-maven-osv/ghsa-maven-osv.tar.zst", |a| {
        assert!(a.severity.is_some(), "{}: GHSA always rates", a.id);
        ids.insert(a.id);
    }) else {
        return;
    };
    // 364 one-record files, and the same 364 records again inside the two `{"vulns": [...]}` API
    // responses they were split from.
    assert_eq!(
        (report.files_read, report.advisories, report.not_osv),
        (366, 728, 0)
    );
    assert_eq!(ids.len(), 364);
    assert_eq!(
        report.skipped_unsupported_ecosystems,
        skipped(&[("SwiftURL", 2)])
    );
}

#[test]
fn ghsa_severity_choice() {
    let archive = "advisories/ghsa-maven-osv/ghsa-maven-osv.tar.zst";
    // No CVSS vector: GitHub's own "MODERATE" rating.
    let Some(a) = staged_record(archive, "osv-split/GHSA-334p-wv2m-w3vp.json") else {
        return;
    };
    assert_eq!(
        a.severity,
        Some(Severity {
            level: SeverityLevel::Medium,
            score: None,
            vector: None
        })
    );
    assert_eq!(a.affected[0].name, "xerces:xercesImpl");
    assert_eq!(a.affected[0].versions.len(), 15);
    // A CVSS_V3 vector only: its score, not GitHub's "MODERATE".
    let Some(a) = staged_record(archive, "osv-split/GHSA-fjpj-2g6w-x25r.json") else {
        return;
    };
    assert_eq!(
        a.severity,
        Some(Severity {
            level: SeverityLevel::Medium,
            score: Some(5.9),
            vector: Some("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H".to_string()),
        })
    );
    assert_eq!(a.affected[0].name, "org.xerial.snappy:snappy-java");
    assert_eq!(a.affected[0].versions.len(), 75);
    assert_eq!(a.modified, "2024-02-16T08:21:07.894811Z");
    // CVSS_V3 (5.5) and CVSS_V4 (7.7): the newer version is the one kept.
    let Some(a) = staged_record(archive, "osv-split/GHSA-crjg-w57m-rqqf.json") else {
        return;
    };
    assert_eq!(
        a.severity,
        Some(Severity {
            level: SeverityLevel::High,
            score: Some(7.7),
            vector: Some(
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".to_string()
            ),
        })
    );
    // A SwiftURL entry is dropped, the Go and Maven ones kept.
    let Some(a) = staged_record(archive, "osv-split/GHSA-qppj-fm5r-hxr3.json") else {
        return;
    };
    assert_eq!(a.affected.len(), 24);
    assert_eq!(a.affected[0].ecosystem.ecosystem, Ecosystem::Go);
    assert_eq!(a.affected[0].name, "golang.org/x/net");
}

/// GitHub's own rating agrees with the CVSS v3 band computed here for every record rated by a v3
/// vector alone, except one that GitHub rates below its vector's score.
#[test]
fn ghsa_ratings_agree_with_computed_cvss_v3_bands() {
    let Some(path) =
        bulwark_testdata::shared_file("advisories/ghsa-maven-osv/ghsa-maven-osv.tar.zst")
    else {
        return;
    };
    let (mut agree, mut disagree) = (0, Vec::new());
    walk(&path, &mut |f: SourceFile<'_>| {
        if !f.name.contains("!osv-split/") {
            return Ok(());
        }
        let raw: serde_json::Value = serde_json::from_slice(f.bytes).expect("json");
        let types: Vec<&str> = raw["severity"]
            .as_array()
            .map(|s| s.iter().filter_map(|e| e["type"].as_str()).collect())
            .unwrap_or_default();
        if types != ["CVSS_V3"] {
            return Ok(());
        }
        let github = SeverityLevel::from_label(
            raw["database_specific"]["severity"]
                .as_str()
                .expect("label"),
        );
        let Ok(OsvContent::Advisories(a)) = parse_osv(f.name, f.bytes) else {
            panic!("{}: valid record", f.name)
        };
        if a[0].severity.as_ref().map(|s| s.level) == github {
            agree += 1;
        } else {
            disagree.push(a[0].id.clone());
        }
        Ok(())
    })
    .expect("walk");
    assert_eq!(agree, 325);
    // CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H is 7.8 (High); GitHub says Moderate.
    assert_eq!(disagree, ["GHSA-99qr-9cc9-fv2x"]);
}

#[test]
fn other_staged_json_is_not_osv() {
    for dir in [
        "kev",
        "advisories/nvd",
        "inventories/cyclonedx-bom-examples/SBOM",
    ] {
        let Some(report) = read_set(dir, |a| panic!("{dir}: unexpected advisory {}", a.id)) else {
            return;
        };
        assert!(report.files_read > 0, "{dir}");
        assert_eq!(report.not_osv, report.files_read, "{dir}");
    }
}

// ---- hand-written records: shapes, fallbacks, errors -------------------------------------------

const MINIMAL: &str = r#"{"id":"OSV-1","modified":"2024-01-01T00:00:00Z"}"#;

fn advisories(file: &str, text: &str) -> Vec<Advisory> {
    match parse_osv(file, text.as_bytes()) {
        Ok(OsvContent::Advisories(list)) => list,
        other => panic!("{file}: expected advisories, got {other:?}"),
    }
}

/// Asserts that `text` fails with exactly this location and message.
fn check_error(file: &str, text: &[u8], location: &str, message: &str) {
    match parse_osv(file, text) {
        Err(FormatError::Parse {
            file: got_file,
            location: got_location,
            message: got_message,
        }) => {
            assert_eq!(got_file, file);
            assert_eq!(
                (got_location.as_str(), got_message.as_str()),
                (location, message)
            );
        }
        other => panic!("expected a parse error at {location}, got {other:?}"),
    }
}

/// A record with one npm entry whose range has the given events.
fn with_events(events: &str) -> String {
    format!(
        r#"{{"id":"OSV-2","modified":"2024-01-01T00:00:00Z","affected":[
            {{"package":{{"ecosystem":"npm","name":"left-pad"}},"ranges":[{{"type":"SEMVER","events":{events}}}]}}]}}"#
    )
}

#[test]
fn minimal_record_and_containers() {
    let a = advisories("one.json", MINIMAL);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].id, "OSV-1");
    assert!(a[0].affected.is_empty() && a[0].aliases.is_empty() && a[0].severity.is_none());

    let array = format!("[{MINIMAL},{}]", MINIMAL.replace("OSV-1", "OSV-9"));
    let ids: Vec<String> = advisories("list.json", &array)
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, ["OSV-1", "OSV-9"]);

    let api = format!(r#"{{"vulns":[{MINIMAL}],"next_page_token":"x"}}"#);
    assert_eq!(advisories("api.json", &api).len(), 1);
    assert!(advisories("empty-api.json", r#"{"vulns":[]}"#).is_empty());

    let yaml = "id: OSV-3\nmodified: 2024-01-01T00:00:00Z\naliases: [CVE-2024-1]\n";
    let a = advisories("r.yaml", yaml);
    assert_eq!(
        (a[0].id.as_str(), a[0].aliases.as_slice()),
        ("OSV-3", &strings(&["CVE-2024-1"])[..])
    );

    // A UTF-8 byte order mark is tolerated.
    assert_eq!(
        advisories("bom.json", &format!("\u{feff}{MINIMAL}")).len(),
        1
    );
}

#[test]
fn content_that_is_not_osv() {
    for (file, text) in [
        (
            "kev.json",
            r#"{"title":"CISA KEV","catalogVersion":"2025.08.25","vulnerabilities":[]}"#,
        ),
        (
            "bom.json",
            r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}"#,
        ),
        (
            "nvd.json",
            r#"{"id":"CVE-2024-6387","published":"2024-07-01T13:15:06.467","lastModified":"x"}"#,
        ),
        ("numbers.json", "[1,2,3]"),
        (
            "other-vulns.json",
            r#"{"vulns":[{"name":"not an OSV record"}]}"#,
        ),
        ("empty-list.json", "[]"),
        ("workflow.yml", "name: CI\non: [push]\njobs: {}\n"),
        ("scalar.yaml", "just a sentence"),
        ("comment.yaml", "# nothing here\n"),
    ] {
        assert_eq!(
            parse_osv(file, text.as_bytes()).expect(file),
            OsvContent::NotOsv,
            "{file}"
        );
    }
}

#[test]
fn unsupported_ecosystems_are_dropped_and_counted() {
    let text = r#"{"id":"OSV-4","modified":"2024-01-01T00:00:00Z","affected":[
        {"package":{"ecosystem":"Linux","name":"kernel"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]},
        {"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.11-1~deb12u1"}]}]},
        {"ranges":[{"type":"GIT","repo":"https://github.com/python/cpython","events":[{"introduced":"0"},{"limit":"abc"}]}]},
        {"package":{"ecosystem":"OSS-Fuzz:lib","name":"x"}}]}"#;
    let a = advisories("mixed.json", text);
    assert_eq!(a[0].affected.len(), 1);
    assert_eq!(
        a[0].affected[0].ecosystem,
        EcosystemRelease::new(Ecosystem::Debian, Some("12"))
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("mixed.json"), text).expect("write");
    let report = read_advisories(tmp.path(), &mut |_| {}).expect("read");
    assert_eq!(report.advisories, 1);
    assert_eq!(
        report.skipped_unsupported_ecosystems,
        skipped(&[("GIT", 1), ("Linux", 1), ("OSS-Fuzz", 1)])
    );
}

#[test]
fn database_ratings_are_the_fallback() {
    let per_package = r#"{"id":"OSV-5","modified":"2024-01-01T00:00:00Z","affected":[
        {"package":{"ecosystem":"Debian:12","name":"a"},"ecosystem_specific":{"severity":"low"}},
        {"package":{"ecosystem":"Debian:12","name":"b"},"database_specific":{"severity":"Important"}},
        {"package":{"ecosystem":"Debian:12","name":"c"},"database_specific":{"severity":{"nested":"ignored"}}}]}"#;
    let a = advisories("labels.json", per_package);
    assert_eq!(
        a[0].severity.as_ref().map(|s| (s.level, s.score)),
        Some((SeverityLevel::High, None))
    );

    let rustsec_style = r#"{"id":"OSV-6","modified":"2024-01-01T00:00:00Z","severity":[],"affected":[
        {"package":{"ecosystem":"crates.io","name":"x"},
         "database_specific":{"cvss":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","informational":"unsound"}}]}"#;
    let a = advisories("rustsec.json", rustsec_style);
    let s = a[0].severity.as_ref().expect("severity");
    assert_eq!((s.level, s.score), (SeverityLevel::Critical, Some(9.8)));
    assert_eq!(a[0].informational.as_deref(), Some("unsound"));

    let ubuntu = r#"{"id":"OSV-7","modified":"2024-01-01T00:00:00Z","severity":[{"type":"Ubuntu","score":"medium"}]}"#;
    let a = advisories("ubuntu.json", ubuntu);
    assert_eq!(
        a[0].severity.as_ref().map(|s| s.level),
        Some(SeverityLevel::Medium)
    );
}

#[test]
fn truncated_json() {
    check_error(
        "cut.json",
        br#"{"id":"OSV-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-1""#,
        "line 1, column 66",
        "EOF while parsing a list",
    );
    check_error("empty.json", b"  \n", "line 1", "the document is empty");
}

#[test]
fn wrong_types_name_their_json_path() {
    let aliases = MINIMAL.replace('}', r#","aliases":5}"#);
    check_error(
        "t.json",
        aliases.as_bytes(),
        "$.aliases",
        "invalid type: integer `5`, expected a sequence",
    );
    check_error(
        "t.json",
        with_events(r#"[{"introduced":0}]"#).as_bytes(),
        "$.affected[0].ranges[0].events[0].introduced",
        "invalid type: integer `0`, expected a string",
    );
    check_error(
        "t.yaml",
        b"id: OSV-1\nmodified: 2024-01-01T00:00:00Z\naliases: 5\n",
        "$.aliases",
        "invalid type: integer `5`, expected a sequence",
    );
    // Unquoted YAML numbers are numbers: a version must be quoted.
    check_error(
        "t.yaml",
        b"id: OSV-1\nmodified: 2024-01-01T00:00:00Z\naffected:\n- package: {ecosystem: PyPI, name: x}\n  versions: [1.0]\n",
        "$.affected[0].versions[0]",
        "invalid type: floating point `1.0`, expected a string",
    );
}

#[test]
fn missing_and_invalid_required_fields() {
    check_error(
        "t.json",
        br#"{"id":"OSV-1","affected":[]}"#,
        "$",
        "missing field `modified`",
    );
    check_error(
        "t.json",
        br#"{"id":"OSV-1","modified":"yesterday"}"#,
        "$.modified",
        "`yesterday` is not an RFC 3339 time: premature end of input",
    );
    check_error(
        "t.json",
        br#"{"id":"  ","modified":"2024-01-01T00:00:00Z"}"#,
        "$.id",
        "id is empty",
    );
    check_error(
        "list.json",
        format!(r#"[{MINIMAL},{{"id":"OSV-2","modified":null}}]"#).as_bytes(),
        "$[1].modified",
        "invalid type: null, expected a string",
    );
    check_error(
        "api.json",
        format!(r#"{{"vulns":[{MINIMAL},{{"id":"OSV-2","modified":"2024-01-01T00:00:00Z","related":[""]}}]}}"#)
            .as_bytes(),
        "$.vulns[1].related[0]",
        "the value is empty",
    );
    check_error(
        "t.json",
        br#"{"id":"OSV-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":""}}]}"#,
        "$.affected[0].package",
        "the package has no name",
    );
}

#[test]
fn bad_events_and_ranges() {
    check_error(
        "t.json",
        with_events(r#"[{"introduced":"0"},{"fixed_in":"1.2"}]"#).as_bytes(),
        "$.affected[0].ranges[0].events[1].fixed_in",
        "unknown field `fixed_in`, expected one of `introduced`, `fixed`, `last_affected`, `limit`",
    );
    check_error(
        "t.json",
        with_events(r#"[{"introduced":"0"},{"fixed":"1","limit":"2"}]"#).as_bytes(),
        "$.affected[0].ranges[0].events[1]",
        "an event must have exactly one of introduced, fixed, last_affected, limit; this one has 2",
    );
    check_error(
        "t.json",
        with_events("[]").as_bytes(),
        "$.affected[0].ranges[0]",
        "the range has no events",
    );
    check_error(
        "t.json",
        with_events(r#"[{"fixed":"1.0.0"}]"#).as_bytes(),
        "$.affected[0].ranges[0]",
        "the range has no `introduced` event",
    );
    check_error(
        "t.json",
        with_events(r#"[{"introduced":"0"}]"#)
            .replace("SEMVER", "SEMVERX")
            .as_bytes(),
        "$.affected[0].ranges[0].type",
        "unknown variant `SEMVERX`, expected one of `SEMVER`, `ECOSYSTEM`, `GIT`",
    );
    check_error(
        "t.json",
        with_events(r#"[{"introduced":"0"}]"#)
            .replace("SEMVER", "GIT")
            .as_bytes(),
        "$.affected[0].ranges[0]",
        "a GIT range needs a `repo`",
    );
    // Event order is kept as given.
    let a = advisories(
        "t.json",
        &with_events(
            r#"[{"introduced":"0"},{"fixed":"1"},{"introduced":"2"},{"last_affected":"3"}]"#,
        ),
    );
    assert_eq!(
        a[0].affected[0].ranges[0].events,
        [
            Event::Introduced("0".into()),
            Event::Fixed("1".into()),
            Event::Introduced("2".into()),
            Event::LastAffected("3".into())
        ]
    );
}

#[test]
fn bad_cvss_vectors() {
    let severity = |kind: &str, score: &str| {
        MINIMAL.replace(
            '}',
            &format!(r#","severity":[{{"type":"{kind}","score":"{score}"}}]}}"#),
        )
    };
    check_error(
        "t.json",
        severity("CVSS_V3", "CVSS:3.1/AV:N").as_bytes(),
        "$.severity[0]",
        "`CVSS:3.1/AV:N` lacks the base metric AC",
    );
    check_error(
        "t.json",
        severity(
            "CVSS_V3",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        )
        .as_bytes(),
        "$.severity[0]",
        "a CVSS_V3 severity holds a CVSS 4.0 vector",
    );
    check_error(
        "t.json",
        severity("CVSS_V2", "AV:Q/AC:L/Au:N/C:P/I:P/A:P").as_bytes(),
        "$.severity[0]",
        "`AV:Q/AC:L/Au:N/C:P/I:P/A:P` is not a valid CVSS vector: invalid CVSSv2 AV (Access Vector) metric: `Q`",
    );
    // Severity types Bulwark does not know are not errors.
    assert_eq!(
        advisories("t.json", &severity("FUTURE_SCORE", "9")).len(),
        1
    );
}

#[test]
fn hostile_sizes_and_nesting() {
    let huge = "A".repeat(10_000_000);
    let text = MINIMAL.replace('}', &format!(r#","summary":"{huge}"}}"#));
    check_error(
        "huge.json",
        text.as_bytes(),
        "$.summary",
        &format!("summary is 10000000 bytes long, more than the {MAX_SUMMARY_BYTES} allowed"),
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    check_error(
        "deep.json",
        deep.as_bytes(),
        "line 1, column 128",
        "recursion limit exceeded",
    );
    check_error(
        "bad.yaml",
        b"id: OSV-1\nmodified: [unclosed\n",
        "line 3, column 1",
        "did not find expected ',' or ']' at line 3 column 1, while parsing a flow sequence at line 2 column 11",
    );
}

#[test]
fn read_advisories_keeps_good_records_and_reports_bad_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::write(dir.join("a-good.json"), MINIMAL).expect("write");
    std::fs::write(
        dir.join("b-mixed.json"),
        format!(
            r#"[{},{{"id":"OSV-8"}}]"#,
            MINIMAL.replace("OSV-1", "OSV-7")
        ),
    )
    .expect("write");
    std::fs::write(dir.join("c-cut.json"), &MINIMAL[..20]).expect("write");
    std::fs::write(dir.join("d-readme.yaml"), "title: not osv\n").expect("write");
    std::fs::write(dir.join("e-notes.txt"), "ignored").expect("write");
    let mut ids = Vec::new();
    let report = read_advisories(dir, &mut |a| ids.push(a.id)).expect("read");
    assert_eq!(ids, ["OSV-1", "OSV-7"]);
    assert_eq!(
        (report.files_read, report.advisories, report.not_osv),
        (4, 2, 1)
    );
    let errors: Vec<String> = report
        .errors
        .iter()
        .map(|e| {
            e.to_string()
                .replace(&dir.to_string_lossy().into_owned(), "DIR")
        })
        .collect();
    assert_eq!(
        errors,
        [
            "DIR/b-mixed.json: $[1]: missing field `modified`",
            "DIR/c-cut.json: line 1, column 20: EOF while parsing a string",
        ]
    );
    let err = read_advisories(Path::new("/nonexistent/osv"), &mut |_| {}).expect_err("missing");
    assert!(matches!(err, FormatError::Io { .. }), "{err}");
}
