//! Advisory feeds that are not OSV — Alpine secdb, Red Hat CSAF VEX, RubySec, Node.js security WG —
//! converted into core advisories: the staged databases read without errors, their records matched
//! against real inventories (findings checked by hand against the feed entries), requirement semantics
//! checked against hand-made versions (whose verdicts come from RubyGems' `Gem::Requirement` and
//! node-semver) and an independent evaluator, and malformed or hostile documents with the place of
//! every error.

use std::collections::{BTreeMap, BTreeSet};

use bulwark_core::inventory::{assign_os, os_ecosystem};
use bulwark_core::matching::{AdvisoryIndex, MatchOutcome, PackageKey};
use bulwark_core::scan::scan;
use bulwark_core::{
    Advisory, Ecosystem, EcosystemRelease, Event, InstalledPackage, Range, RangeKind,
    SeverityLevel, Version, VersionScheme,
};
use bulwark_formats::FormatError;
use bulwark_formats::feeds::{self, Converted, Feed, MAX_RANGE_BYTES, UNDATED};
use bulwark_formats::osv::{MAX_SUMMARY_BYTES, ReadReport, read_advisories};

const ALPINE: &str = "advisories/alpine-secdb/alpine-secdb.tar.zst";
const CSAF: &str = "advisories/redhat-csaf-vex/redhat-csaf-vex-3.tar.zst";
const RUBYSEC: &str = "advisories/rubysec-yaml/ruby-advisory-db.tar.zst";
const NODEJS: &str = "advisories/nodejs-security-wg/nodejs-security-wg-vuln.tar.zst";

// ---- helpers -----------------------------------------------------------------------------------

/// Reads a staged path through `read_advisories`, asserting that nothing in it is an error.
fn read_set(relative: &str) -> Option<(ReadReport, Vec<Advisory>)> {
    let path = bulwark_testdata::shared_file(relative)?;
    let mut advisories = Vec::new();
    let report = read_advisories(&path, &mut |a| advisories.push(a)).expect("readable");
    assert!(report.errors.is_empty(), "{relative}: {:?}", report.errors);
    Some((report, advisories))
}

fn index_of(relative: &str) -> Option<AdvisoryIndex> {
    let (_, advisories) = read_set(relative)?;
    Some(AdvisoryIndex::build(advisories).0)
}

fn member(archive: &str, inner: &str) -> Option<Vec<u8>> {
    bulwark_testdata::archive_member(archive, inner)
}

fn convert(feed: Feed, file: &str, text: &str) -> Converted {
    assert_eq!(
        feeds::detect(text.as_bytes()),
        Some(feed),
        "{file}: detection"
    );
    feed.convert(file, text.as_bytes())
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Asserts that `text` is detected as `feed` and fails with exactly this location and message.
fn check_error(feed: Feed, file: &str, text: &str, location: &str, message: &str) {
    assert_eq!(
        feeds::detect(text.as_bytes()),
        Some(feed),
        "{file}: detection"
    );
    match feed.convert(file, text.as_bytes()) {
        Err(FormatError::Parse {
            file: got_file,
            location: got_location,
            message: got_message,
        }) => {
            assert_eq!(got_file, file);
            assert_eq!(
                (got_location.as_str(), got_message.as_str()),
                (location, message),
                "{file}"
            );
        }
        other => panic!("{file}: expected an error at {location}, got {other:?}"),
    }
}

fn ecosystem(e: Ecosystem, release: Option<&str>) -> EcosystemRelease {
    EcosystemRelease::new(e, release)
}

fn range(events: &[Event]) -> Range {
    Range {
        kind: RangeKind::Ecosystem,
        repo: None,
        events: events.to_vec(),
    }
}

fn introduced(v: &str) -> Event {
    Event::Introduced(v.to_string())
}

fn fixed(v: &str) -> Event {
    Event::Fixed(v.to_string())
}

fn last_affected(v: &str) -> Event {
    Event::LastAffected(v.to_string())
}

/// (package, version, advisory) of every finding.
fn finding_rows(index: &AdvisoryIndex, packages: &[InstalledPackage]) -> BTreeSet<String> {
    let report = scan(index, packages);
    assert!(report.unassessed.is_empty(), "{:?}", report.unassessed);
    report
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.package, f.version, f.advisory_id))
        .collect()
}

/// The advisories of `index` that affect `version` of a package, or `None` when it is not assessed.
fn hits(index: &AdvisoryIndex, eco: &EcosystemRelease, name: &str, version: &str) -> Vec<String> {
    match index.match_version(&PackageKey::new(eco, name), version) {
        MatchOutcome::Assessed(hits) => hits.into_iter().map(|h| h.advisory_id).collect(),
        MatchOutcome::Unassessed(e) => panic!("{name} {version}: {e}"),
    }
}

// ---- the whole staged tree ---------------------------------------------------------------------

#[test]
fn whole_advisories_tree_counts_every_feed_without_errors() {
    let Some(root) = bulwark_testdata::shared_file("advisories") else {
        return;
    };
    let mut ids = BTreeSet::new();
    let report = read_advisories(&root, &mut |a| {
        ids.insert(a.id);
    })
    .expect("readable");
    let feed_dirs = [
        "alpine-secdb",
        "redhat-csaf-vex",
        "rubysec-yaml",
        "nodejs-security-wg",
    ];
    let feed_errors: Vec<_> = report
        .errors
        .iter()
        .filter(|e| feed_dirs.iter().any(|d| e.to_string().contains(d)))
        .collect();
    assert!(feed_errors.is_empty(), "{feed_errors:?}");
    assert_eq!(
        report.feed_advisories,
        BTreeMap::from([
            ("alpine-secdb".to_string(), 12_031),
            ("csaf".to_string(), 3),
            ("nodejs-security-wg".to_string(), 467),
            ("rubysec".to_string(), 1_234),
        ])
    );
    // vuln/npm/index.json repeats the 467 entries of vuln/npm/*.json.
    assert_eq!(report.feed_duplicates, 467);
    for (reason, count) in [
        ("Ruby interpreter advisory (rubies/)", 147),
        // 171 core entries, once as files and once in vuln/core/index.json.
        ("Node.js core advisory (vuln/core)", 342),
        ("Node.js dependency assessment (vuln/deps)", 12),
        ("Alpine secfix \"0\" (not affected in this release)", 24),
        ("source RPM (matched through its binary RPMs)", 6),
    ] {
        assert_eq!(report.feed_skipped.get(reason), Some(&count), "{reason}");
    }
    assert!(ids.contains("ALPINE-3.18-openssl-CVE-2023-0464"));
    assert!(ids.contains("REDHAT-CVE-2023-38545"));
    assert!(ids.contains("RUBYSEC-actionpack-CVE-2016-2097"));
    assert!(ids.contains("NSWG-ECO-1"));

    // Inside the four feed folders, every document is recognised: none counts as "not OSV".
    for dir in feed_dirs {
        let (report, _) = read_set(&format!("advisories/{dir}")).expect("staged");
        assert_eq!(report.not_osv, 0, "{dir}");
        assert!(report.files_read > 0, "{dir}");
    }
}

#[test]
fn other_documents_are_still_not_osv() {
    for text in [
        r#"{"title":"CISA KEV","catalogVersion":"2025.08.25","vulnerabilities":[]}"#,
        r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}"#,
        "name: CI\non: [push]\njobs: {}\n",
        r#"{"cve":"CVE-1","ref":"x"}"#,
        r#"{"cve":{"id":"CVE-1"},"ref":"x","reason":"y"}"#,
    ] {
        assert_eq!(feeds::detect(text.as_bytes()), None, "{text}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kev.json"), r#"{"vulnerabilities":[]}"#).unwrap();
    let report = read_advisories(dir.path(), &mut |_| panic!("no advisory")).unwrap();
    assert_eq!((report.files_read, report.not_osv), (1, 1));
    assert!(report.feed_advisories.is_empty());
}

// ---- Alpine secdb ------------------------------------------------------------------------------

#[test]
fn alpine_json_secdb_record() {
    let Some(bytes) = member(ALPINE, "vuln-list-subset/3.18/main/openssl.json") else {
        return;
    };
    let converted = convert(
        Feed::AlpineSecdb,
        "openssl.json",
        std::str::from_utf8(&bytes).unwrap(),
    );
    // The file's "0" list names five CVEs that never affected openssl in 3.18.
    assert_eq!(
        converted.skipped,
        BTreeMap::from([(
            "Alpine secfix \"0\" (not affected in this release)".to_string(),
            5
        )])
    );
    assert!(
        !converted
            .advisories
            .iter()
            .any(|a| a.aliases == ["CVE-2023-0466"])
    );
    let a = converted
        .advisories
        .iter()
        .find(|a| a.id == "ALPINE-3.18-openssl-CVE-2023-0464")
        .expect("record");
    assert_eq!(a.aliases, ["CVE-2023-0464"]);
    assert_eq!(a.modified, UNDATED);
    assert_eq!(
        a.summary.as_deref(),
        Some("CVE-2023-0464 in openssl, fixed in 3.1.0-r1 (Alpine v3.18 main)")
    );
    assert_eq!(
        a.references,
        ["https://security.alpinelinux.org/vuln/CVE-2023-0464"]
    );
    assert_eq!(a.affected.len(), 1);
    let affected = &a.affected[0];
    assert_eq!(
        affected.ecosystem,
        ecosystem(Ecosystem::Alpine, Some("3.18"))
    );
    assert_eq!(affected.name, "openssl");
    assert_eq!(
        affected.ranges,
        [range(&[introduced("0"), fixed("3.1.0-r1")])]
    );
}

#[test]
fn alpine_legacy_yaml_secdb() {
    let Some(bytes) = member(ALPINE, "legacy-alpine-secdb/v3.10/main.yaml") else {
        return;
    };
    let converted = convert(
        Feed::AlpineSecdb,
        "v3.10/main.yaml",
        std::str::from_utf8(&bytes).unwrap(),
    );
    let find = |id: &str| {
        converted
            .advisories
            .iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    // busybox lists CVE-2019-5747 under 1.30.1-r2 and under the backport 1.29.3-r10: the 3.10 line
    // (1.30) needs the higher one.
    assert_eq!(
        find("ALPINE-3.10-busybox-CVE-2019-5747").affected[0].ranges,
        [range(&[introduced("0"), fixed("1.30.1-r2")])]
    );
    // "CVE-2018-19961  XSA-275": the CVE is the vulnerability, the Xen advisory is related.
    let xen = find("ALPINE-3.10-xen-CVE-2018-19961");
    assert_eq!(
        (xen.aliases.as_slice(), xen.related.as_slice()),
        (
            &["CVE-2018-19961".to_string()][..],
            &["XSA-275".to_string()][..]
        )
    );
    assert_eq!(xen.affected[0].ecosystem.to_string(), "Alpine:3.10");
}

#[test]
fn alpine_3_18_apk_database_findings() {
    let Some(index) = index_of("advisories/alpine-secdb") else {
        return;
    };
    let path = bulwark_testdata::shared_file(
        "inventories/container-images/alpine-3.18.0-lib-apk-db-installed",
    )
    .expect("staged");
    let bytes = std::fs::read(path).unwrap();
    let mut inventory = bulwark_formats::inventory::parse_auto("installed", &bytes).unwrap();
    assign_os(
        &mut inventory.packages,
        &os_ecosystem("alpine 3.18").unwrap(),
    );
    // Checked entry by entry against vuln-list-subset/3.18/main/*.json:
    // - openssl 3.1.0-r4 (libcrypto3, libssl3): every CVE whose secfix is above it — 3.1.1-r0
    //   (CVE-2023-2650), 3.1.1-r2 (2975), 3.1.1-r3 (3446), 3.1.2-r0 (3817), 3.1.4-r0 (5363),
    //   3.1.4-r1 (5678), 3.1.4-r3 (6129), 3.1.4-r4 (6237). CVE-2023-1255 (3.1.0-r4) is fixed in the
    //   installed build; CVE-2023-0466 is under "0" (not affected).
    // - busybox 1.36.0-r9 (busybox, busybox-binsh, ssl_client): 1.36.1-r1 (CVE-2022-48174),
    //   1.36.1-r6 (CVE-2023-42366), 1.36.1-r7 (CVE-2023-42363/42364/42365); the 1.34/1.35 fixes are
    //   older than 1.36.0, the "0" CVEs do not apply.
    // - musl 1.2.4-r0 (musl, musl-utils): 1.2.4-r3 (CVE-2025-26519).
    // - zlib 1.2.13-r1 and apk-tools 2.14.0-r0 are above all their secfixes.
    let mut expected = BTreeSet::new();
    for package in ["libcrypto3", "libssl3"] {
        for cve in [
            "2023-2650",
            "2023-2975",
            "2023-3446",
            "2023-3817",
            "2023-5363",
            "2023-5678",
            "2023-6129",
            "2023-6237",
        ] {
            expected.insert(format!("{package} 3.1.0-r4 ALPINE-3.18-openssl-CVE-{cve}"));
        }
    }
    for package in ["busybox", "busybox-binsh", "ssl_client"] {
        for cve in [
            "2022-48174",
            "2023-42363",
            "2023-42364",
            "2023-42365",
            "2023-42366",
        ] {
            expected.insert(format!("{package} 1.36.0-r9 ALPINE-3.18-busybox-CVE-{cve}"));
        }
    }
    for package in ["musl", "musl-utils"] {
        expected.insert(format!(
            "{package} 1.2.4-r0 ALPINE-3.18-musl-CVE-2025-26519"
        ));
    }
    assert_eq!(finding_rows(&index, &inventory.packages), expected);
    // The fix versions offered are the secfix versions.
    let report = scan(&index, &inventory.packages);
    let musl = report
        .findings
        .iter()
        .find(|f| f.package == "musl")
        .unwrap();
    assert_eq!(musl.fixed_versions, ["1.2.4-r3"]);
    assert_eq!(musl.vulnerability_id, "CVE-2025-26519");
}

#[test]
fn alpine_3_17_syft_sbom_findings() {
    let Some(index) = index_of("advisories/alpine-secdb") else {
        return;
    };
    let path = bulwark_testdata::shared_file(
        "inventories/container-images/alpine-3.17.2-latest.syft.cdx.xml",
    )
    .expect("staged");
    let bytes = std::fs::read(path).unwrap();
    // The SBOM's purls say distro=alpine-3.17.2: packages are Alpine:3.17 without --os.
    let inventory = bulwark_formats::inventory::parse_auto("alpine.cdx.xml", &bytes).unwrap();
    let rows = finding_rows(&index, &inventory.packages);
    // Checked against vuln-list-subset/3.17/main/*.json: openssl 3.0.8-r0 is below the twelve secfixes
    // 3.0.8-r1 (CVE-2023-0464) … 3.0.12-r3 (CVE-2023-6237) — in 3.17, unlike 3.18, CVE-2023-0466 has a
    // fix (3.0.8-r3); busybox 1.35.0-r29 is below 1.35.0-r30 (CVE-2023-42366) and 1.35.0-r31
    // (CVE-2023-42363/4/5); musl 1.2.3-r4 below 1.2.3-r6 (CVE-2025-26519); zlib 1.2.13-r0 is above its
    // secfixes.
    assert_eq!(rows.len(), 2 * 12 + 3 * 4 + 2);
    for row in [
        "libssl3 3.0.8-r0 ALPINE-3.17-openssl-CVE-2023-0464",
        "libcrypto3 3.0.8-r0 ALPINE-3.17-openssl-CVE-2023-0466",
        "libcrypto3 3.0.8-r0 ALPINE-3.17-openssl-CVE-2023-6237",
        "busybox 1.35.0-r29 ALPINE-3.17-busybox-CVE-2023-42366",
        "ssl_client 1.35.0-r29 ALPINE-3.17-busybox-CVE-2023-42363",
        "musl-utils 1.2.3-r4 ALPINE-3.17-musl-CVE-2025-26519",
    ] {
        assert!(rows.contains(row), "{row}: {rows:?}");
    }
    assert!(!rows.iter().any(|r| r.starts_with("zlib ")));
    assert!(!rows.iter().any(|r| r.contains("3.18")));
}

#[test]
fn alpine_mapping_decisions() {
    let text = r#"---
distroversion: v3.99
reponame: main
packages:
  - pkg:
      name: demo
      secfixes:
        "0":
          - CVE-2020-0001
          - CVE-2020-0003
        1.2.0-r0:
          - CVE-2020-0001
          - CVE-2020-0002 XSA-1
          - XSA-2
          - CVE-????-?????
        1.1.5-r1:
          - CVE-2020-0002
        2.0.0-r0:
  - pkg:
      name: other
"#;
    let converted = convert(Feed::AlpineSecdb, "main.yaml", text);
    let rows: Vec<(String, Vec<Event>)> = converted
        .advisories
        .iter()
        .map(|a| (a.id.clone(), a.affected[0].ranges[0].events.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            // Listed under "0" and under a version: fixed in that version.
            (
                "ALPINE-3.99-demo-CVE-2020-0001".to_string(),
                vec![introduced("0"), fixed("1.2.0-r0")]
            ),
            // Listed under two versions: the higher.
            (
                "ALPINE-3.99-demo-CVE-2020-0002".to_string(),
                vec![introduced("0"), fixed("1.2.0-r0")]
            ),
            (
                "ALPINE-3.99-demo-XSA-2".to_string(),
                vec![introduced("0"), fixed("1.2.0-r0")]
            ),
        ]
    );
    assert_eq!(converted.advisories[1].related, ["XSA-1"]);
    assert_eq!(converted.advisories[2].aliases, ["XSA-2"]);
    assert_eq!(
        converted.skipped,
        BTreeMap::from([
            (
                "Alpine secfix \"0\" (not affected in this release)".to_string(),
                1
            ),
            (
                "Alpine secfix entry without a vulnerability id".to_string(),
                1
            ),
        ])
    );
}

#[test]
fn alpine_repeated_version_keys_keep_both_lists() {
    // A YAML mapping that repeats a key: a map would keep only the last list.
    let text = "distroversion: v3.1\npackages:\n  - pkg:\n      name: a\n      secfixes:\n        1.0-r1:\n          - CVE-2020-1111\n        1.0-r1:\n          - CVE-2020-2222\n";
    let ids: Vec<String> = convert(Feed::AlpineSecdb, "dup.yaml", text)
        .advisories
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(
        ids,
        ["ALPINE-3.1-a-CVE-2020-1111", "ALPINE-3.1-a-CVE-2020-2222"]
    );
}

#[test]
fn alpine_malformed_documents() {
    let f = Feed::AlpineSecdb;
    check_error(
        f,
        "a.yaml",
        "distroversion: v3.18\npackages:\n  - pkg:\n      name: a\n      secfixes: [CVE-1]\n",
        "$.packages[0].pkg.secfixes",
        "invalid type: sequence, expected a map from versions to lists of vulnerability ids",
    );
    check_error(
        f,
        "b.yaml",
        "# no distroversion\nreponame: main\napkurl: x\nsecfixes: {}\nname: a\n",
        // A YAML mapping that lacks a key is named by the line it starts on.
        "line 2, column 1",
        "missing field `distroversion`",
    );
    check_error(
        f,
        "c.json",
        r#"{"distroversion": " ", "name": "a", "secfixes": {}}"#,
        "$.distroversion",
        "the Alpine release is empty",
    );
    check_error(
        f,
        "d.json",
        r#"{"distroversion": "v3.18", "name": "bad name", "secfixes": {}}"#,
        "$.name",
        "`bad name` is not a package name",
    );
    check_error(
        f,
        "e.json",
        r#"{"distroversion": "v3.18", "apkurl": "x", "packages": [], "name": "a"}"#,
        "$",
        "both `packages` (a secdb) and `name` (one package) are present",
    );
    check_error(
        f,
        "f.json",
        r#"{"distroversion": "v3.18", "apkurl": "x"}"#,
        "$",
        "neither `packages` (a secdb) nor `name` (one package) is present",
    );
    check_error(
        f,
        "g.json",
        r#"{"distroversion": "v3.18", "name": "a", "secfixes": {"1.0-r0": [1]}}"#,
        "$.secfixes.1.0-r0[0]",
        "invalid type: integer `1`, expected a string",
    );
    check_error(
        f,
        "h.json",
        "{\"distroversion\": \"v3.18\", \"secfixes\": {\n  \"1.0-r0\": [\"CVE-1\"",
        "line 2, column 20",
        "EOF while parsing a list",
    );
    // A YAML alias bomb: nine levels of nine-fold references would expand to 387 million entries. The
    // unknown keys holding it are skipped unexpanded, and its use as a secfix list is refused at the
    // first nested list.
    let mut bomb = String::from("distroversion: v3.18\nname: a\nx0: &a0 [CVE-2020-0001]\n");
    for level in 1..10 {
        let refs = vec![format!("*a{}", level - 1); 9].join(", ");
        bomb.push_str(&format!("x{level}: &a{level} [{refs}]\n"));
    }
    bomb.push_str("secfixes:\n  1.0-r0: *a9\n");
    match f.convert("bomb.yaml", bomb.as_bytes()) {
        Err(FormatError::Parse {
            location, message, ..
        }) => {
            assert_eq!(
                (location.as_str(), message.as_str()),
                (
                    "$.secfixes.1.0-r0[0]",
                    "invalid type: sequence, expected a string"
                )
            );
        }
        other => panic!("{other:?}"),
    }
    check_error(
        f,
        "i.yaml",
        "distroversion: v3.18\nsecfixes:\n  a: [\n",
        "line 4, column 1",
        "did not find expected node content, while parsing a flow node",
    );
}

// ---- Red Hat CSAF VEX --------------------------------------------------------------------------

#[test]
fn csaf_curl_vex_document() {
    let Some(bytes) = member(CSAF, "cve-2023-38545.json") else {
        return;
    };
    let converted = convert(
        Feed::Csaf,
        "cve-2023-38545.json",
        std::str::from_utf8(&bytes).unwrap(),
    );
    assert_eq!(converted.advisories.len(), 1);
    let a = &converted.advisories[0];
    assert_eq!(a.id, "REDHAT-CVE-2023-38545");
    assert_eq!(a.aliases, ["CVE-2023-38545"]);
    assert_eq!(a.modified, "2025-11-21T14:31:32Z");
    assert_eq!(a.published.as_deref(), Some("2023-10-11T00:00:00Z"));
    assert_eq!(
        a.summary.as_deref(),
        Some("curl: heap based buffer overflow in the SOCKS5 proxy handshake")
    );
    let severity = a.severity.as_ref().unwrap();
    assert_eq!(
        (severity.level, severity.score, severity.vector.as_deref()),
        (
            SeverityLevel::High,
            Some(8.1),
            Some("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H")
        )
    );
    for erratum in ["RHSA-2023:5700", "RHSA-2023:5763", "RHSA-2023:6745"] {
        let url = format!("https://access.redhat.com/errata/{erratum}");
        assert!(a.references.contains(&url), "{url}");
    }
    // The document lists the binary RPMs of the RHEL 9 fixes (9.0 EUS -14.el9_0.9, 9.2 -23.el9_2.4,
    // 9.3 -26.el9_3.2) per architecture beside the source RPMs; RHEL 6, 7 and 8 curl are known not
    // affected (their curl predates the bug). One entry per binary name, at the highest fix.
    let names: Vec<(String, &str, Vec<Event>)> = a
        .affected
        .iter()
        .map(|e| {
            (
                e.ecosystem.to_string(),
                e.name.as_str(),
                e.ranges[0].events.clone(),
            )
        })
        .collect();
    let fix = vec![introduced("0"), fixed("7.76.1-26.el9_3.2")];
    let expected: Vec<(String, &str, Vec<Event>)> = [
        "curl",
        "curl-debuginfo",
        "curl-debugsource",
        "curl-minimal",
        "curl-minimal-debuginfo",
        "libcurl",
        "libcurl-debuginfo",
        "libcurl-devel",
        "libcurl-minimal",
        "libcurl-minimal-debuginfo",
    ]
    .into_iter()
    .map(|n| ("Red Hat:9".to_string(), n, fix.clone()))
    .collect();
    assert_eq!(names, expected);
    assert_eq!(
        converted
            .skipped
            .get("source RPM (matched through its binary RPMs)"),
        Some(&6)
    );
    // Satellite's puppet-agent and JBCS's jbcs-httpd24-curl are layered products.
    assert_eq!(
        converted
            .skipped
            .get("Red Hat layered product (not RHEL itself)"),
        Some(&30)
    );
}

#[test]
fn csaf_documents_with_only_not_affected_products() {
    for (inner, cve) in [
        ("cve-2023-4154.json", "CVE-2023-4154"),
        ("cve-2023-42670.json", "CVE-2023-42670"),
    ] {
        let Some(bytes) = member(CSAF, inner) else {
            return;
        };
        let converted = convert(Feed::Csaf, inner, std::str::from_utf8(&bytes).unwrap());
        let a = &converted.advisories[0];
        assert_eq!(a.id, format!("REDHAT-{cve}"));
        // Samba on RHEL 6–9 and Red Hat Storage is known not affected: the record names nothing.
        assert!(a.affected.is_empty(), "{inner}");
        assert_eq!(
            converted.skipped,
            BTreeMap::from([("CSAF product known not affected".to_string(), 165)])
        );
    }
}

#[test]
fn rhel_ubi_9_6_curl_is_not_affected() {
    let Some(index) = index_of("advisories/redhat-csaf-vex") else {
        return;
    };
    let Some(bytes) = member(
        "inventories/rhel-ubi-claircore/claircore-inventories.tar.zst",
        "purl/testdata/ubi_latest_spdx.json",
    ) else {
        return;
    };
    let inventory = bulwark_formats::inventory::parse_auto("ubi_latest_spdx.json", &bytes).unwrap();
    let rhel9 = ecosystem(Ecosystem::RedHat, Some("9"));
    let curl: BTreeSet<(&str, &str)> = inventory
        .packages
        .iter()
        .filter(|p| p.name.contains("curl"))
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        curl,
        BTreeSet::from([
            ("curl", "7.76.1-31.el9_6.1"),
            ("curl-minimal", "7.76.1-31.el9_6.1"),
            ("libcurl-minimal", "7.76.1-31.el9_6.1")
        ])
    );
    assert!(index.knows(&PackageKey::new(&rhel9, "curl-minimal")));
    // Red Hat fixed CVE-2023-38545 for RHEL 9 in 7.76.1-26.el9_3.2 (RHSA-2023:6745); UBI 9.6 ships
    // 7.76.1-31.el9_6.1, later in rpm order: no finding. The names meet (the index knows
    // curl-minimal under Red Hat:9), so this is a real non-finding, not a miss.
    assert!(finding_rows(&index, &inventory.packages).is_empty());
    // The 9.3 GA build predates the fix and is affected; so is the 9.2 EUS fix, since a host known only
    // as RHEL 9 follows the main stream (see csaf.rs).
    for version in ["7.76.1-26.el9", "7.76.1-23.el9_2.4", "7.76.1-26.el9_3.1"] {
        assert_eq!(
            hits(&index, &rhel9, "libcurl-minimal", version),
            ["REDHAT-CVE-2023-38545"],
            "{version}"
        );
    }
    assert!(hits(&index, &rhel9, "libcurl-minimal", "7.76.1-26.el9_3.2").is_empty());
    // RHEL 8 curl is known not affected: nothing is recorded for it.
    assert!(!index.knows(&PackageKey::new(
        &ecosystem(Ecosystem::RedHat, Some("8")),
        "curl"
    )));
}

/// A small CSAF document: one stream per CPE, one package per purl, statuses by product id.
fn csaf_doc(products: &[(&str, &str)], packages: &[(&str, &str)], statuses: &str) -> String {
    let mut branches = Vec::new();
    let mut relationships = Vec::new();
    for (id, cpe) in products {
        branches.push(format!(
            r#"{{"category":"product_name","name":"{id}","product":{{"name":"{id}","product_id":"{id}","product_identification_helper":{{"cpe":"{cpe}"}}}}}}"#
        ));
    }
    for (id, purl) in packages {
        branches.push(format!(
            r#"{{"category":"product_version","name":"{id}","product":{{"name":"{id}","product_id":"{id}","product_identification_helper":{{"purl":"{purl}"}}}}}}"#
        ));
        for (stream, _) in products {
            relationships.push(format!(
                r#"{{"category":"default_component_of","full_product_name":{{"name":"x","product_id":"{stream}:{id}"}},"product_reference":"{id}","relates_to_product_reference":"{stream}"}}"#
            ));
        }
    }
    format!(
        r#"{{"document":{{"category":"csaf_vex","csaf_version":"2.0","title":"t","tracking":{{"id":"CVE-2024-0001","current_release_date":"2024-05-01T10:00:00+02:00","initial_release_date":"2024-01-01T00:00:00Z"}},"aggregate_severity":{{"text":"Moderate"}}}},
        "product_tree":{{"branches":[{{"category":"vendor","name":"Red Hat","branches":[{}]}}],"relationships":[{}]}},
        "vulnerabilities":[{{"cve":"CVE-2024-0001","product_status":{statuses}}}]}}"#,
        branches.join(","),
        relationships.join(",")
    )
}

#[test]
fn csaf_statuses_epochs_and_streams() {
    let text = csaf_doc(
        &[
            ("BaseOS-8", "cpe:/o:redhat:enterprise_linux:8::baseos"),
            ("EUS-8.6", "cpe:/a:redhat:rhel_eus:8.6::appstream"),
        ],
        &[
            ("foo-1", "pkg:rpm/redhat/foo@1.0-1.el8?arch=x86_64&epoch=2"),
            ("foo-2", "pkg:rpm/redhat/foo@1.0-3.el8?arch=aarch64&epoch=2"),
            ("foo-src", "pkg:rpm/redhat/foo@1.0-3.el8?arch=src&epoch=2"),
            ("bar", "pkg:rpm/redhat/bar"),
            ("baz-1", "pkg:rpm/redhat/baz@4.0-1.el8?arch=noarch"),
            ("img", "pkg:oci/ubi8@sha256:abc"),
        ],
        r#"{"fixed":["BaseOS-8:foo-1","EUS-8.6:foo-2","BaseOS-8:foo-src","BaseOS-8:baz-1","EUS-8.6:img"],
            "known_affected":["BaseOS-8:bar","EUS-8.6:baz-1"],
            "under_investigation":["BaseOS-8:img"],
            "last_affected":["BaseOS-8:bar"]}"#,
    );
    let converted = convert(Feed::Csaf, "doc.json", &text);
    let a = &converted.advisories[0];
    assert_eq!(a.modified, "2024-05-01T08:00:00Z");
    assert_eq!(a.published.as_deref(), Some("2024-01-01T00:00:00Z"));
    // No CVSS vector: Red Hat's aggregate rating.
    assert_eq!(
        a.severity.as_ref().map(|s| s.level),
        Some(SeverityLevel::Medium)
    );
    let rows: Vec<(String, &str, Vec<Event>)> = a
        .affected
        .iter()
        .map(|e| {
            (
                e.ecosystem.to_string(),
                e.name.as_str(),
                e.ranges[0].events.clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            // Known affected without a version: every version.
            ("Red Hat:8".to_string(), "bar", vec![introduced("0")]),
            // Fixed in one stream, known affected in another: unfixed.
            ("Red Hat:8".to_string(), "baz", vec![introduced("0")]),
            // Both streams fold into Red Hat:8; the higher fix wins; the epoch is kept.
            (
                "Red Hat:8".to_string(),
                "foo",
                vec![introduced("0"), fixed("2:1.0-3.el8")]
            ),
        ]
    );
    assert_eq!(
        converted.skipped,
        BTreeMap::from([
            ("CSAF package that is not an RPM".to_string(), 1),
            ("CSAF product status not read".to_string(), 1),
            ("CSAF product under investigation".to_string(), 1),
            (
                "source RPM (matched through its binary RPMs)".to_string(),
                1
            ),
        ])
    );
}

#[test]
fn csaf_malformed_documents() {
    let f = Feed::Csaf;
    check_error(
        f,
        "a.json",
        r#"{"csaf_version":"2.0","document":{"csaf_version":"2.0","title":"t"}}"#,
        "$.document",
        "missing field `tracking`",
    );
    let doc = |tracking: &str, rest: &str| {
        format!(r#"{{"document":{{"csaf_version":"2.0","tracking":{tracking}}}{rest}}}"#)
    };
    check_error(
        f,
        "b.json",
        &doc(r#"{"id":"X","current_release_date":"yesterday"}"#, ""),
        "$.document.tracking.current_release_date",
        "`yesterday` is neither an RFC 3339 time nor a YYYY-MM-DD date",
    );
    check_error(
        f,
        "c.json",
        r#"{"document":{"csaf_version":"1.2","tracking":{"id":"X","current_release_date":"2024-01-01"}}}"#,
        "$.document.csaf_version",
        "CSAF 1.2 is not supported (2.x is)",
    );
    check_error(
        f,
        "d.json",
        &doc(
            r#"{"id":"X","current_release_date":"2024-01-01"}"#,
            r#","vulnerabilities":[{"cve":"CVE-1","product_status":["fixed"]}]"#,
        ),
        "$.vulnerabilities[0].product_status",
        "invalid type: sequence, expected a map",
    );
    check_error(
        f,
        "e.json",
        &doc(
            r#"{"id":"X","current_release_date":"2024-01-01"}"#,
            r#","vulnerabilities":[{"cve":"CVE-1","release_date":"soon"}]"#,
        ),
        "$.vulnerabilities[0].release_date",
        "`soon` is neither an RFC 3339 time nor a YYYY-MM-DD date",
    );
    check_error(
        f,
        "f.json",
        &doc(
            r#"{"id":"bad id","current_release_date":"2024-01-01"}"#,
            r#","vulnerabilities":[{}]"#,
        ),
        "$.vulnerabilities[0].cve",
        "the vulnerability has no usable id (no cve, no document tracking id)",
    );
    check_error(
        f,
        "g.json",
        "{\"csaf_version\": \"2.0\", \"document\": {\n\"csaf_version\": 2",
        "$.document.csaf_version",
        "invalid type: integer `2`, expected a string",
    );
    check_error(
        f,
        "g2.json",
        "{\"csaf_version\": \"2.0\", \"document\": {\n\"csaf_version\": \"2.0\"",
        "line 2, column 21",
        "EOF while parsing an object",
    );
    // A title longer than OSV's summary limit.
    let long = "x".repeat(MAX_SUMMARY_BYTES + 1);
    check_error(
        f,
        "h.json",
        &doc(
            r#"{"id":"X","current_release_date":"2024-01-01"}"#,
            &format!(r#","vulnerabilities":[{{"cve":"CVE-1","title":"{long}"}}]"#),
        ),
        "$.vulnerabilities[0].title",
        &format!(
            "the text is {} bytes long, more than the {MAX_SUMMARY_BYTES} allowed",
            MAX_SUMMARY_BYTES + 1
        ),
    );
    // Product trees nested beyond serde_json's recursion limit.
    let deep = format!(
        r#"{{"title":"document","csaf_version":"2.0","product_tree":{{"branches":{}"#,
        r#"[{"branches":"#.repeat(200)
    );
    match f.convert("deep.json", deep.as_bytes()) {
        Err(FormatError::Parse {
            location, message, ..
        }) => {
            assert!(location.starts_with("line 1, column "), "{location}");
            assert_eq!(message, "recursion limit exceeded");
        }
        other => panic!("{other:?}"),
    }
}

// ---- RubySec -----------------------------------------------------------------------------------

/// An advisory id, the package it names, and versions with whether each is affected.
type Probe<'a> = (&'a str, &'a str, &'a [(&'a str, bool)]);

/// A RubyGems version.
fn gem(v: &str) -> Version {
    Version::parse(VersionScheme::RubyGems, v).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn rubysec_sample_gems_against_gem_requirement() {
    let Some(index) = index_of("advisories/rubysec-yaml") else {
        return;
    };
    let rubygems = ecosystem(Ecosystem::RubyGems, None);
    // Verdicts from Ruby 3.1's Gem::Requirement (affected = no patched and no unaffected requirement
    // is satisfied), as bundler-audit decides.
    let cases: &[Probe] = &[
        // unaffected ">= 4.1.0"; patched "~> 3.2.22.2", "~> 4.1.14", ">= 4.1.14.2"
        (
            "RUBYSEC-actionpack-CVE-2016-2097",
            "actionpack",
            &[
                ("3.2.22.1", true),
                ("3.2.22.2", false),
                ("3.2.22.3", false),
                ("3.2.22.2-1", true),
                ("3.2.23", true),
                ("3.2.23.rc1", true),
                ("4.0.13", true),
                ("4.1.0.rc1", true),
                ("4.1.0", false),
                ("999.0", false),
            ],
        ),
        // unaffected "<= 1.13.7"; patched ">= 1.13.10"
        (
            "RUBYSEC-nokogiri-CVE-2022-23476",
            "nokogiri",
            &[
                ("1.13.6", false),
                ("1.13.7", false),
                ("1.13.7.0", false),
                ("1.13.7.1", true),
                ("1.13.8", true),
                ("1.13.10.rc1", true),
                ("1.13.10", false),
            ],
        ),
        // unaffected ">= 1.6.0, < 1.6.2"; patched "= 1.6.0", ">= 1.6.3"
        (
            "RUBYSEC-cocoapods-downloader-CVE-2022-24440",
            "cocoapods-downloader",
            &[
                ("1.5.9", true),
                ("1.6.0.a", true),
                ("1.6.0", false),
                ("1.6.1", false),
                ("1.6.2.a", false),
                ("1.6.2", true),
                ("1.6.2.1", true),
                ("1.6.3.rc1", true),
                ("1.6.3", false),
            ],
        ),
        // patched "= 2.2.10", ">= 2.2.18"; unaffected "< 1.16.0"
        (
            "RUBYSEC-bundler-CVE-2020-36327",
            "bundler",
            &[
                ("1.16.0.rc1", false),
                ("1.16.0", true),
                ("2.2.9", true),
                ("2.2.10", false),
                ("2.2.10.0", false),
                ("2.2.10.1", true),
                ("2.2.11", true),
                ("2.2.18", false),
            ],
        ),
        // unaffected "< 2.0.0.beta1", "= 2.0.0-alpha"; patched ">= 2.0.2"
        (
            "RUBYSEC-sinatra-CVE-2018-11627",
            "sinatra",
            &[
                ("1.4.8", false),
                ("2.0.0-alpha", false),
                ("2.0.0-alpha.1", true),
                ("2.0.0.beta1", true),
                ("2.0.1", true),
                ("2.0.2", false),
            ],
        ),
    ];
    for (id, name, versions) in cases {
        let key = PackageKey::new(&rubygems, name);
        for (version, expected) in *versions {
            assert_eq!(
                index.affects(id, &key, version),
                *expected,
                "{id} {version}"
            );
        }
    }
    // How the bounds are written: `<= 1.13.7` unaffected opens just above 1.13.7 (`1.13.7.0.1`).
    let nokogiri = index.advisory("RUBYSEC-nokogiri-CVE-2022-23476").unwrap();
    assert_eq!(
        nokogiri.affected[0].ranges,
        [range(&[introduced("1.13.7.0.1"), fixed("1.13.10")])]
    );
    // `~> 3.2.22.2` ends below the prereleases of 3.2.23 (`3.2.23.A`).
    let actionpack = index.advisory("RUBYSEC-actionpack-CVE-2016-2097").unwrap();
    assert_eq!(
        actionpack.affected[0].ranges,
        [
            range(&[introduced("0"), fixed("3.2.22.2")]),
            range(&[introduced("3.2.23.A"), fixed("4.1.0")]),
        ]
    );
}

#[test]
fn rubysec_record_fields_and_shared_ghsa_ids() {
    let Some((report, advisories)) = read_set("advisories/rubysec-yaml") else {
        return;
    };
    assert_eq!(report.feed_advisories.get("rubysec"), Some(&1_234));
    let find = |id: &str| advisories.iter().find(|a| a.id == id).unwrap();
    let a = find("RUBYSEC-actionpack-CVE-2016-2097");
    assert_eq!(a.aliases, ["GHSA-vx9j-46rh-fqr8", "CVE-2016-2097"]);
    assert_eq!(a.published.as_deref(), Some("2016-02-29T00:00:00Z"));
    assert_eq!(a.modified, "2016-02-29T00:00:00Z");
    assert_eq!(
        a.summary.as_deref(),
        Some("Possible Information Leak Vulnerability in Action View")
    );
    assert!(
        a.details
            .as_deref()
            .unwrap()
            .ends_with("Notes: Newer versions are affected, but tracked in the actionview gem.")
    );
    // cvss_v3: 5.3, a bare score.
    let s = a.severity.as_ref().unwrap();
    assert_eq!(
        (s.level, s.score, s.vector.as_deref()),
        (SeverityLevel::Medium, Some(5.3), None)
    );
    assert_eq!(
        a.affected[0].ecosystem,
        ecosystem(Ecosystem::RubyGems, None)
    );
    // GHSA-hgpp-pp89-4fgf covers two gems: two records, one vulnerability.
    let (index, _) = AdvisoryIndex::build(advisories.clone());
    for id in [
        "RUBYSEC-activerecord-CVE-2012-2660",
        "RUBYSEC-actionpack-CVE-2012-2660",
    ] {
        assert!(
            find(id)
                .aliases
                .contains(&"GHSA-hgpp-pp89-4fgf".to_string())
        );
        assert_eq!(index.vulnerability_id(id), Some("CVE-2012-2660"));
    }
    // Records without CVE or GHSA are named by their file (OSVDB ids).
    let osvdb = find("RUBYSEC-json-OSVDB-101157");
    assert_eq!(osvdb.aliases, ["OSVDB-101157"]);
}

#[test]
fn rubysec_interpreter_advisories_are_skipped() {
    let text = "---\nengine: ruby\ncve: 2005-1992\nurl: https://example.org\ntitle: XML-RPC\ndate: 2005-06-20\npatched_versions:\n  - \">= 1.8.2-r2\"\n";
    let converted = convert(Feed::RubySec, "rubies/ruby/CVE-2005-1992.yml", text);
    assert!(converted.advisories.is_empty());
    assert_eq!(
        converted.skipped,
        BTreeMap::from([("Ruby interpreter advisory (rubies/)".to_string(), 1)])
    );
}

/// `Gem::Version#segments` after `-` became `.pre.`: numbers and letter runs.
fn gem_segments(version: &str) -> Vec<String> {
    let replaced = version.trim().replace('-', ".pre.");
    let mut out: Vec<String> = Vec::new();
    let mut last_digit = None;
    for c in replaced.chars() {
        if !c.is_ascii_alphanumeric() {
            last_digit = None;
            continue;
        }
        match (last_digit, out.last_mut()) {
            (Some(d), Some(seg)) if d == c.is_ascii_digit() => seg.push(c),
            _ => out.push(c.to_string()),
        }
        last_digit = Some(c.is_ascii_digit());
    }
    out
}

fn numeric(segment: &str) -> bool {
    segment.bytes().all(|b| b.is_ascii_digit())
}

/// `Gem::Version#release`: the version without its prerelease segments.
fn gem_release(version: &str) -> Version {
    let mut segments = gem_segments(version);
    while segments.iter().any(|s| !numeric(s)) {
        segments.pop();
    }
    gem(&segments.join("."))
}

/// `Gem::Version#bump`.
fn gem_bump(version: &str) -> Version {
    let mut segments = gem_segments(version);
    while segments.iter().any(|s| !numeric(s)) {
        segments.pop();
    }
    if segments.len() > 1 {
        segments.pop();
    }
    let last: u128 = segments.pop().unwrap().parse().unwrap();
    segments.push((last + 1).to_string());
    gem(&segments.join("."))
}

/// `Gem::Requirement#satisfied_by?` for one requirement string, written from RubyGems' `OPS` table.
fn gem_satisfies(requirement: &str, version: &str) -> bool {
    let v = gem(version);
    requirement.split(',').all(|constraint| {
        let c = constraint.trim();
        let (op, r) = ["~>", ">=", "<=", "!=", ">", "<", "="]
            .into_iter()
            .find_map(|op| c.strip_prefix(op).map(|r| (op, r.trim())))
            .unwrap_or(("=", c));
        let rv = gem(r);
        match op {
            "=" => v == rv,
            "!=" => v != rv,
            ">" => v > rv,
            "<" => v < rv,
            ">=" => v >= rv,
            "<=" => v <= rv,
            _ => v >= rv && gem_release(version) < gem_bump(r),
        }
    })
}

/// The versions to probe for one requirement version: itself, its bump, and their neighbours.
fn gem_candidates(r: &str) -> Vec<String> {
    let bump = gem_bump(r).as_str().to_string();
    let mut out = vec![
        r.to_string(),
        bump.clone(),
        format!("{r}.1"),
        format!("{r}.0"),
        format!("{r}.a"),
        format!("{r}.rc1"),
        format!("{r}-1"),
        format!("{bump}.rc1"),
        format!("{bump}.0.beta"),
        format!("{bump}.1"),
    ];
    let parts: Vec<&str> = r.split('.').collect();
    if let Some(last) = parts.last().and_then(|l| l.parse::<u64>().ok()) {
        let head = parts[..parts.len() - 1].join(".");
        let join = |n: u64| {
            if head.is_empty() {
                n.to_string()
            } else {
                format!("{head}.{n}")
            }
        };
        out.push(join(last + 1));
        if last > 0 {
            out.push(join(last - 1));
        }
    }
    out
}

#[test]
fn rubysec_every_gem_advisory_agrees_with_the_requirements() {
    let Some(path) = bulwark_testdata::shared_file(RUBYSEC) else {
        return;
    };
    // The requirement strings straight from the YAML, beside the converted records.
    let mut requirements: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut advisories = Vec::new();
    bulwark_formats::source::walk(&path, &mut |file| {
        if !file.name.contains("/gems/") || !file.name.ends_with(".yml") {
            return Ok(());
        }
        let yaml: serde_yaml::Value = serde_yaml::from_slice(file.bytes).unwrap();
        let list = |key: &str| -> Vec<String> {
            yaml.get(key)
                .and_then(|v| v.as_sequence())
                .map(|s| s.iter().map(|r| r.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let mut all = list("patched_versions");
        all.extend(list("unaffected_versions"));
        let converted = Feed::RubySec.convert(file.name, file.bytes).unwrap();
        let advisory = converted.advisories.into_iter().next().unwrap();
        let gem_name = yaml["gem"].as_str().unwrap().to_string();
        requirements.insert(advisory.id.clone(), (gem_name, all));
        advisories.push(advisory);
        Ok(())
    })
    .unwrap();
    assert_eq!(advisories.len(), 1_234);
    let (index, diagnostics) = AdvisoryIndex::build(advisories);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let rubygems = ecosystem(Ecosystem::RubyGems, None);
    let mut checked = 0;
    for (id, (gem_name, reqs)) in &requirements {
        let mut candidates: BTreeSet<String> = ["0", "0.0.1", "999.0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for requirement in reqs {
            for constraint in requirement.split(',') {
                let r = constraint
                    .trim()
                    .trim_start_matches(['~', '>', '<', '=', '!'])
                    .trim();
                candidates.extend(gem_candidates(r));
            }
        }
        let key = PackageKey::new(&rubygems, gem_name);
        for candidate in candidates {
            if Version::parse(VersionScheme::RubyGems, &candidate).is_err() {
                continue;
            }
            let expected = !reqs.iter().any(|r| gem_satisfies(r, &candidate));
            assert_eq!(
                index.affects(id, &key, &candidate),
                expected,
                "{id} {candidate} against {reqs:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 25_000, "{checked}");
}

#[test]
fn rubysec_malformed_documents() {
    let f = Feed::RubySec;
    let doc = |extra: &str| {
        format!("---\ngem: rack\nurl: https://example.org\ntitle: t\ndate: 2020-01-02\n{extra}")
    };
    check_error(
        f,
        "a.yml",
        &doc("patched_versions:\n  - \"~> \"\n"),
        "$.patched_versions[0]",
        "`~>` is not a RubyGems requirement: no version",
    );
    check_error(
        f,
        "b.yml",
        &doc("unaffected_versions:\n  - \">= 1.0\"\n  - \"< 1.0 beta\"\n"),
        "$.unaffected_versions[1]",
        "`< 1.0 beta` is not a RubyGems requirement: invalid segment \"0 beta\"",
    );
    check_error(
        f,
        "c.yml",
        &doc("patched_versions: \">= 1.0\"\n"),
        "$.patched_versions",
        "invalid type: string \">= 1.0\", expected a sequence",
    );
    check_error(
        f,
        "d.yml",
        "---\ngem: rack\nurl: x\ntitle: t\ndate: 2020-02-30\n",
        "$.date",
        "`2020-02-30` is neither an RFC 3339 time nor a YYYY-MM-DD date",
    );
    check_error(
        f,
        "e.yml",
        "---\ngem: rack\nurl: x\ntitle: t\n",
        "line 2, column 1",
        "missing field `date`",
    );
    check_error(
        f,
        "f.yml",
        "---\ngem: \"\"\nurl: x\ntitle: t\ndate: 2020-01-01\n",
        "$",
        "neither `gem` nor `engine` names what is affected",
    );
    check_error(
        f,
        "g.yml",
        &doc("cvss_v3: high\n"),
        "$.cvss_v3",
        "invalid type: string \"high\", expected f64",
    );
    let huge = format!("\"{}\"", ">= 1.0, ".repeat(MAX_RANGE_BYTES / 8 + 1));
    check_error(
        f,
        "h.yml",
        &doc(&format!("patched_versions:\n  - {huge}\n")),
        "$.patched_versions[0]",
        &format!(
            "the requirement is {} bytes long, more than the {MAX_RANGE_BYTES} allowed",
            huge.len() - 2
        ),
    );
    check_error(
        f,
        "i.yml",
        "gem: rack\nurl: x\ntitle: \"unterminated\n",
        "line 4, column 1",
        "found unexpected end of stream, while scanning a quoted scalar",
    );
}

// ---- Node.js security WG -----------------------------------------------------------------------

#[test]
fn nodejs_entry_record() {
    let Some(bytes) = member(NODEJS, "security-wg/vuln/npm/1.json") else {
        return;
    };
    let converted = convert(
        Feed::NodejsSecurityWg,
        "1.json",
        std::str::from_utf8(&bytes).unwrap(),
    );
    let a = &converted.advisories[0];
    assert_eq!(a.id, "NSWG-ECO-1");
    assert_eq!(a.aliases, ["CVE-2014-7205"]);
    assert_eq!(a.modified, "2016-04-28T00:00:00Z");
    assert_eq!(a.published.as_deref(), Some("2014-09-27T00:00:00Z"));
    assert_eq!(a.summary.as_deref(), Some("Arbitrary JavaScript Execution"));
    assert!(
        a.details
            .as_deref()
            .unwrap()
            .ends_with("Recommendation: Update to bassmaster version 1.5.2 or greater.")
    );
    let s = a.severity.as_ref().unwrap();
    assert_eq!((s.level, s.score), (SeverityLevel::Medium, Some(6.5)));
    assert_eq!(a.affected[0].ecosystem, ecosystem(Ecosystem::Npm, None));
    assert_eq!(a.affected[0].name, "bassmaster");
    // vulnerable "<=1.5.1", patched ">=1.5.2": below 1.5.2 but not the 1.5.2 prereleases, which are
    // above 1.5.1.
    assert_eq!(
        a.affected[0].ranges,
        [range(&[introduced("0"), last_affected("1.5.1")])]
    );
}

#[test]
fn nodejs_ranges_against_node_semver() {
    let Some(index) = index_of("advisories/nodejs-security-wg") else {
        return;
    };
    let npm = ecosystem(Ecosystem::Npm, None);
    // Verdicts from node-semver 7.8.5: satisfies(v, vulnerable, {loose, includePrerelease}) and not
    // satisfies(v, patched, …).
    let cases: &[Probe] = &[
        // "<3.11 || >= 4 <4.5" / ">=3.11 <4 || >=4.5"
        (
            "NSWG-ECO-8",
            "express",
            &[
                ("3.10.9", true),
                ("3.11.0-0", false),
                ("3.11.0", false),
                ("4.0.0-0", true),
                ("4.4.9", true),
                ("4.5.0-0", false),
                ("5.0.0", false),
            ],
        ),
        // "2.0.x || 2.1.x" / ">= 2.2.x"
        (
            "NSWG-ECO-11",
            "hapi",
            &[
                ("0.0.1", false),
                ("2.0.0-0", true),
                ("2.1.9", true),
                ("2.2.0-0", false),
                ("3.0.0", false),
            ],
        ),
        // "<1.6.5 || >=1.7.0 <1.7.2" / "~1.6.5 || >=1.7.2"
        (
            "NSWG-ECO-35",
            "serve-static",
            &[
                ("1.6.4", true),
                ("1.6.5-beta.1", true),
                ("1.6.5", false),
                ("1.7.0-0", false),
                ("1.7.0", true),
                ("1.7.2-beta.1", true),
                ("1.7.2", false),
            ],
        ),
        // "<1.6.5 || < 2.1.7 > 2.0.0" / ">=1.6.5 <2.0.0 || >= 2.1.7"
        (
            "NSWG-ECO-49",
            "mapbox.js",
            &[
                ("1.6.4", true),
                ("1.7.0", false),
                ("2.0.0", false),
                ("2.0.1-0", true),
                ("2.1.6", true),
                ("2.1.7", false),
            ],
        ),
        // "<=v2.0.0-alpha7" / ">=v2.0.0-alpha8"
        (
            "NSWG-ECO-66",
            "mysql",
            &[
                ("2.0.0-alpha7", true),
                ("2.0.0-alpha7.0", false),
                ("2.0.0-alpha8", false),
                ("2.0.0", false),
            ],
        ),
        // ">= 0.2.0 <= 0.9.6 || ~0.8.0-pre" / "> 0.9.6"
        (
            "NSWG-ECO-305",
            "fury-adapter-swagger",
            &[
                ("0.1.9", false),
                ("0.2.0-beta.1", false),
                ("0.2.0", true),
                ("0.8.0-pre", true),
                ("0.9.6", true),
                ("0.9.7-0", false),
            ],
        ),
        // "<=6.8.5" / ">=5.0.3 <6.0.0 || >=6.8.6": a backported fix inside the vulnerable range.
        (
            "NSWG-ECO-400",
            "protobufjs",
            &[
                ("5.0.2", true),
                ("5.0.3-beta.1", true),
                ("5.0.3", false),
                ("6.0.0-beta.1", false),
                ("6.0.0", true),
                ("6.8.5", true),
                ("6.8.6-beta.1", false),
                ("6.8.6", false),
            ],
        ),
        // "3.7.2" / "<=3.7.1 || >= 3.7.3": one version.
        (
            "NSWG-ECO-450",
            "eslint-scope",
            &[
                ("3.7.1", false),
                ("3.7.2-0", false),
                ("3.7.2", true),
                ("3.7.3", false),
            ],
        ),
        // "<2.0.18 || <3.0.16 || …" / "^2.0.18 || ^3.0.16 || ^3.1.6 || ^4.0.8 || ^5.0.0-beta.5"
        (
            "NSWG-ECO-495",
            "electron",
            &[
                ("2.0.17", true),
                ("2.0.18", false),
                ("3.0.0", true),
                ("3.0.16", false),
                ("3.1.5", false),
                ("4.0.7", true),
                ("5.0.0-beta.1", true),
                ("5.0.0-beta.5", false),
                ("999.0.0", false),
            ],
        ),
        // "*" with no patched version: everything.
        (
            "NSWG-ECO-477",
            "flatmap-stream",
            &[("0.0.0-0", true), ("999.0.0", true)],
        ),
    ];
    for (id, name, versions) in cases {
        let key = PackageKey::new(&npm, name);
        for (version, expected) in *versions {
            assert_eq!(
                index.affects(id, &key, version),
                *expected,
                "{id} {version}"
            );
        }
    }
    assert_eq!(
        index.advisory("NSWG-ECO-400").unwrap().affected[0].ranges,
        [
            range(&[introduced("0"), fixed("5.0.3")]),
            range(&[introduced("6.0.0"), last_affected("6.8.5")]),
        ]
    );
}

#[test]
fn npm_lockfiles_have_no_findings_in_the_old_database() {
    let Some(index) = index_of("advisories/nodejs-security-wg") else {
        return;
    };
    let npm = ecosystem(Ecosystem::Npm, None);
    for (file, known) in [
        (
            "rust-analyzer-2021-06-07.editors-code.package-lock.json",
            ["lodash", "semver", "minimatch", "js-yaml"],
        ),
        (
            "vaultwarden-main-2026-08-20.playwright.package-lock.json",
            ["express", "qs", "send", "ws"],
        ),
    ] {
        let path = bulwark_testdata::shared_file(&format!("inventories/lockfiles/npm/{file}"))
            .expect("staged");
        let bytes = std::fs::read(&path).unwrap();
        let inventory = bulwark_formats::inventory::parse_auto(file, &bytes).unwrap();
        // The WG database stopped in 2020 (its entries are 2014–2020 reports); these lockfiles are of
        // 2021 and 2026 and carry the fixed releases: lodash 4.17.21 is past 4.17.19 (NSWG-ECO-516),
        // semver 5.7.1/7.3.5 past 4.3.2 (ECO-31), minimatch 3.0.4 past 3.0.2 (ECO-118), express
        // 5.2.1 past 4.5 (ECO-8), qs 6.x past 1.0 (ECO-28/29), ws 8.20.1 past 1.1.1 (ECO-120).
        // node-semver agrees: no entry's vulnerable_versions minus patched_versions holds any of the
        // locked versions. The names do meet, so these are non-findings, not misses.
        assert!(
            finding_rows(&index, &inventory.packages).is_empty(),
            "{file}"
        );
        for name in known {
            assert!(
                inventory.packages.iter().any(|p| p.name == name),
                "{file}: {name}"
            );
            assert!(index.knows(&PackageKey::new(&npm, name)), "{name}");
        }
    }
    // An older lodash would be found: 4.17.15 is in ">=4.17.15 <4.17.19" (NSWG-ECO-516).
    assert_eq!(hits(&index, &npm, "lodash", "4.17.15"), ["NSWG-ECO-516"]);
}

#[test]
fn juice_shop_sbom_findings() {
    let Some(index) = index_of("advisories/nodejs-security-wg") else {
        return;
    };
    let path = bulwark_testdata::shared_file(
        "inventories/cyclonedx-bom-examples/SBOM/juice-shop/v11.1.2/bom.json",
    )
    .expect("staged");
    let bytes = std::fs::read(&path).unwrap();
    let inventory = bulwark_formats::inventory::parse_auto("bom.json", &bytes).unwrap();
    // OWASP Juice Shop ships deliberately old dependencies. Checked entry by entry:
    // jsonwebtoken 0.1.0 and 0.4.0 in "<4.2.2" (ECO-17); jws 0.2.6 in "<3.0.0" (ECO-88); base64url
    // 0.0.6 in "<=2.0.0" (ECO-428); moment 2.0.0 in "<2.11.2" (ECO-55); sanitize-html 1.4.2 in
    // "<=1.4.2" (ECO-135) and "<=1.11.1" (ECO-154); lodash 2.4.2 in "<4.17.5" (ECO-368) and "<4.17.11"
    // (ECO-493). None matches its entry's patched_versions; node-semver gives the same nine.
    let expected: BTreeSet<String> = [
        "base64url 0.0.6 NSWG-ECO-428",
        "jsonwebtoken 0.1.0 NSWG-ECO-17",
        "jsonwebtoken 0.4.0 NSWG-ECO-17",
        "jws 0.2.6 NSWG-ECO-88",
        "lodash 2.4.2 NSWG-ECO-368",
        "lodash 2.4.2 NSWG-ECO-493",
        "moment 2.0.0 NSWG-ECO-55",
        "sanitize-html 1.4.2 NSWG-ECO-135",
        "sanitize-html 1.4.2 NSWG-ECO-154",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(finding_rows(&index, &inventory.packages), expected);
    let report = scan(&index, &inventory.packages);
    let lodash = report
        .findings
        .iter()
        .find(|f| f.advisory_id == "NSWG-ECO-493")
        .unwrap();
    assert_eq!(lodash.vulnerability_id, "CVE-2018-16487");
    assert_eq!(lodash.fixed_versions, ["4.17.11"]);
}

#[test]
fn nodejs_core_deps_and_index_files() {
    let core = r#"{"cve":["CVE-2017-1000381"],"vulnerable":"8.x || 7.x","patched":"^8.1.4","affectedEnvironments":["all"]}"#;
    let converted = convert(Feed::NodejsSecurityWg, "core/1.json", core);
    assert!(converted.advisories.is_empty());
    assert_eq!(
        converted.skipped,
        BTreeMap::from([("Node.js core advisory (vuln/core)".to_string(), 1)])
    );
    let deps = r#"{"1":{"cve":["CVE-2023-45853"],"description":"d","overview":"o","reason":"vulnerable_code_not_present","ref":"x"}}"#;
    let converted = convert(Feed::NodejsSecurityWg, "deps/index.json", deps);
    assert_eq!(
        converted.skipped,
        BTreeMap::from([("Node.js dependency assessment (vuln/deps)".to_string(), 1)])
    );
    let index = r#"{
        "7": {"id": 7, "updated_at": "2020-01-01", "module_name": "a", "cves": [], "vulnerable_versions": ">1.0.0 <=2.0.0", "patched_versions": null},
        "8": {"id": "8", "created_at": "2020-01-01", "module_name": "b", "vulnerable_versions": "<1.0.0", "patched_versions": "<1.0.0"}
    }"#;
    let converted = convert(Feed::NodejsSecurityWg, "npm/index.json", index);
    let a = &converted.advisories;
    assert_eq!(
        (a[0].id.as_str(), a[1].id.as_str()),
        ("NSWG-ECO-7", "NSWG-ECO-8")
    );
    // "> 1.0.0" starts at the next npm version, 1.0.1-0.
    assert_eq!(
        a[0].affected[0].ranges,
        [range(&[introduced("1.0.1-0"), last_affected("2.0.0")])]
    );
    // Everything vulnerable is patched: the record names no affected version.
    assert!(a[1].affected.is_empty());
}

#[test]
fn read_advisories_keeps_the_first_of_equal_feed_ids() {
    let dir = tempfile::tempdir().unwrap();
    let entry = |updated: &str| {
        format!(
            r#"{{"id": 3, "updated_at": "{updated}", "module_name": "a", "vulnerable_versions": "<1.0.0", "patched_versions": ">=1.0.0"}}"#
        )
    };
    std::fs::write(dir.path().join("3.json"), entry("2020-01-01")).unwrap();
    std::fs::write(
        dir.path().join("index.json"),
        format!(r#"{{"3": {}}}"#, entry("2021-01-01")),
    )
    .unwrap();
    let mut got = Vec::new();
    let report = read_advisories(dir.path(), &mut |a| got.push(a)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].modified, "2020-01-01T00:00:00Z");
    assert_eq!((report.advisories, report.feed_duplicates), (1, 1));
    assert!(report.errors.is_empty());
}

#[test]
fn nodejs_malformed_documents() {
    let f = Feed::NodejsSecurityWg;
    let entry = |vulnerable: &str, patched: &str| {
        format!(
            r#"{{"id": 1, "updated_at": "2020-01-01", "module_name": "a", "vulnerable_versions": {vulnerable}, "patched_versions": {patched}}}"#
        )
    };
    check_error(
        f,
        "a.json",
        &entry(r#""<1.0.0 || >= 2.x.3""#, "null"),
        "$.vulnerable_versions",
        "`<1.0.0 || >= 2.x.3` is not a node-semver range: `2.x.3` is not a version: a number after a wildcard",
    );
    check_error(
        f,
        "b.json",
        &entry(r#""<1.0.0""#, r#"">= ""#),
        "$.patched_versions",
        "`>=` is not a node-semver range: `>=` is not followed by a version",
    );
    check_error(
        f,
        "c.json",
        &entry("5", "null"),
        "$.vulnerable_versions",
        "invalid type: integer `5`, expected a string",
    );
    check_error(
        f,
        "d.json",
        r#"{"1": {"id": 1, "updated_at": "2020-01-01", "module_name": "a", "vulnerable_versions": "<1"},
            "2": {"id": 2, "updated_at": "2020-13-01", "module_name": "b", "vulnerable_versions": "<1"}}"#,
        "$.2.updated_at",
        "`2020-13-01` is neither an RFC 3339 time nor a YYYY-MM-DD date",
    );
    check_error(
        f,
        "e.json",
        r#"{"1": {"id": 1, "updated_at": "2020-01-01", "module_name": "a", "vulnerable_versions": "<1"},
            "2": {"note": "module_name is missing"}}"#,
        "$.2",
        "not a security WG entry (no module_name, vulnerable or reason)",
    );
    check_error(
        f,
        "f.json",
        r#"{"id": "1/../2", "updated_at": "2020-01-01", "module_name": "a", "vulnerable_versions": "<1"}"#,
        "$.id",
        "`1/../2` is not an advisory number",
    );
    check_error(
        f,
        "g.json",
        r#"{"id": 1, "module_name": "a", "vulnerable_versions": "<1"}"#,
        "$",
        "no updated_at, created_at or publish_date says when the entry was written",
    );
    check_error(
        f,
        "h.json",
        "{\"id\": 1, \"module_name\": \"a\",\n \"vulnerable_versions\": \"<1\"",
        "line 2, column 28",
        "EOF while parsing an object",
    );
    let hostile = format!("\"{}\"", "<1.0.0 || ".repeat(MAX_RANGE_BYTES / 10 + 1));
    check_error(
        f,
        "i.json",
        &entry(&hostile, "null"),
        "$.vulnerable_versions",
        &format!(
            "the range is {} bytes long, more than the {MAX_RANGE_BYTES} allowed",
            hostile.len() - 2
        ),
    );
}

#[test]
fn detection_looks_at_content_not_names() {
    let cases: [(&str, Option<Feed>); 6] = [
        (
            r#"{"distroversion":"v3.18","name":"a","secfixes":{}}"#,
            Some(Feed::AlpineSecdb),
        ),
        (r#"{"document":{"csaf_version":"2.0"}}"#, Some(Feed::Csaf)),
        (
            "gem: rack\nurl: x\ntitle: t\ndate: 2020-01-01\n",
            Some(Feed::RubySec),
        ),
        (
            r#"{"module_name":"a","vulnerable_versions":"<1"}"#,
            Some(Feed::NodejsSecurityWg),
        ),
        // JSON with a `gem` key is not RubySec YAML; YAML naming module_name is not the WG's JSON.
        (r#"{"gem":"rack","url":"x","title":"t"}"#, None),
        ("module_name: a\nvulnerable_versions: <1\n", None),
    ];
    for (text, expected) in cases {
        assert_eq!(feeds::detect(text.as_bytes()), expected, "{text}");
    }
}
