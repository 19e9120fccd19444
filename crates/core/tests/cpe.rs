//! CPE 2.3 parsing and NVD configuration matching, on the real configurations of staged NVD records
//! (curl CVE-2023-38545, OpenSSH CVE-2024-6387, glibc CVE-2023-4911) and Dependency-Track's NVD fixtures;
//! and what those ranges say about fixing a CVE (`CpeIndex::fix`), which recommendations use.

use std::cmp::Ordering;

use bulwark_core::cpe::{
    Applicability, Cpe, CpeConfiguration, CpeError, CpeMatch, CpeValue, Verdict, compare_loose,
    configuration_matches, cpe_match, evaluate_configurations,
};
use bulwark_core::cpe_index::{CpeIndex, NvdFix};
use bulwark_core::threat::NvdRecord;
use serde_json::{Value, json};

/// The configurations of a staged NVD record (a bare `cve` object or a `{"cve": …}` wrapper).
fn configurations(relative: &str) -> Option<Vec<CpeConfiguration>> {
    let path = bulwark_testdata::shared_file(&format!("advisories/nvd/{relative}"))?;
    let text = std::fs::read_to_string(&path).expect("read record");
    let mut value: Value = serde_json::from_str(&text).expect("record is JSON");
    if let Some(cve) = value.get_mut("cve") {
        value = cve.take();
    }
    let configs = value
        .get_mut("configurations")
        .map(Value::take)
        .unwrap_or(Value::Array(Vec::new()));
    Some(serde_json::from_value(configs).expect("configurations deserialize"))
}

fn cpes(names: &[&str]) -> Vec<Cpe> {
    names
        .iter()
        .map(|n| Cpe::parse(n).unwrap_or_else(|e| panic!("{n}: {e}")))
        .collect()
}

/// Evaluates the configurations against the installed names and compares with `expected`.
fn check(configs: &[CpeConfiguration], installed: &[&str], expected: Applicability) {
    let got = evaluate_configurations(configs, &cpes(installed), &compare_loose);
    assert_eq!(got, expected, "installed {installed:?}");
}

fn applies(indexes: &[usize]) -> Applicability {
    Applicability::Applies {
        vulnerable: indexes.to_vec(),
    }
}

use Applicability::{DoesNotApply, NotAnalysed, Unassessed};

#[test]
fn curl_socks5_cve_2023_38545() {
    let Some(configs) = configurations("fkie-cad-cve/CVE-2023-38545.json") else {
        return;
    };
    assert_eq!(configs.len(), 3);
    let libcurl = |v: &str| format!("cpe:2.3:a:haxx:libcurl:{v}:*:*:*:*:*:*:*");
    // 7.69.0 <= v < 8.4.0.
    check(&configs, &[&libcurl("7.68.0")], DoesNotApply);
    check(&configs, &[&libcurl("7.69.0")], applies(&[0]));
    check(&configs, &[&libcurl("7.88.1")], applies(&[0]));
    check(&configs, &[&libcurl("8.3.0")], applies(&[0]));
    check(&configs, &[&libcurl("8.4")], DoesNotApply);
    check(&configs, &[&libcurl("8.4.0")], DoesNotApply);
    check(&configs, &[&libcurl("8.10.1")], DoesNotApply);
    // The product is named but its version is not known: unassessed, never silently safe.
    check(&configs, &[&libcurl("*")], Unassessed);
    check(&configs, &[&libcurl("-")], DoesNotApply);
    // Vendor, product and part must match; case does not matter.
    check(
        &configs,
        &["cpe:2.3:a:haxx:curl:8.0.0:*:*:*:*:*:*:*"],
        DoesNotApply,
    );
    check(
        &configs,
        &["cpe:2.3:o:haxx:libcurl:8.0.0:*:*:*:*:*:*:*"],
        DoesNotApply,
    );
    check(
        &configs,
        &["cpe:2.3:a:HAXX:LibCurl:8.0.0:*:*:*:*:*:*:*"],
        applies(&[0]),
    );
    // Only the vulnerable product is reported.
    check(
        &configs,
        &[
            "cpe:2.3:a:openbsd:openssh:9.9:*:*:*:*:*:*:*",
            &libcurl("8.0.0"),
        ],
        applies(&[1]),
    );
    // Fedora 37 is listed on its own.
    check(
        &configs,
        &["cpe:2.3:o:fedoraproject:fedora:37:*:*:*:*:*:*:*"],
        applies(&[0]),
    );
    check(
        &configs,
        &["cpe:2.3:o:fedoraproject:fedora:38:*:*:*:*:*:*:*"],
        DoesNotApply,
    );
    // NetApp's product on vSphere or Windows (target_sw), not on Linux; NA version matches only NA.
    check(
        &configs,
        &["cpe:2.3:a:netapp:active_iq_unified_manager:-:*:*:*:*:windows:*:*"],
        applies(&[0]),
    );
    check(
        &configs,
        &["cpe:2.3:a:netapp:active_iq_unified_manager:-:*:*:*:*:linux:*:*"],
        DoesNotApply,
    );
    check(
        &configs,
        &["cpe:2.3:a:netapp:active_iq_unified_manager:9.12:*:*:*:*:windows:*:*"],
        DoesNotApply,
    );
    // An installed ANY target_sw is "not recorded" and accepted.
    check(
        &configs,
        &["cpe:2.3:a:netapp:active_iq_unified_manager:-"],
        applies(&[0]),
    );
    check(&configs, &[], DoesNotApply);
}

#[test]
fn openssh_regresshion_cve_2024_6387() {
    let Some(configs) = configurations("fkie-cad-cve/CVE-2024-6387.json") else {
        return;
    };
    let openssh = |v: &str, u: &str| format!("cpe:2.3:a:openbsd:openssh:{v}:{u}:*:*:*:*:*:*");
    // < 4.4 and 8.6 <= v < 9.8 by range.
    check(&configs, &[&openssh("4.3", "*")], applies(&[0]));
    check(&configs, &[&openssh("4.3", "p2")], applies(&[0]));
    check(&configs, &[&openssh("8.6", "*")], applies(&[0]));
    check(&configs, &[&openssh("9.7", "p1")], applies(&[0]));
    check(&configs, &[&openssh("9.9", "p1")], DoesNotApply);
    check(&configs, &[&openssh("8.4", "p1")], DoesNotApply);
    // Exact versions with an update field: 4.4 (no update), 8.5p1, 9.8 (no update).
    check(&configs, &[&openssh("4.4", "-")], applies(&[0]));
    check(&configs, &[&openssh("4.4", "p1")], DoesNotApply);
    check(&configs, &[&openssh("8.5", "p1")], applies(&[0]));
    check(&configs, &[&openssh("8.5", "P1")], applies(&[0]));
    check(&configs, &[&openssh("8.5", "p2")], DoesNotApply);
    check(&configs, &[&openssh("9.8", "-")], applies(&[0]));
    check(&configs, &[&openssh("9.8", "p1")], DoesNotApply);
    // An installed name without an update errs towards reporting.
    check(&configs, &[&openssh("8.5", "*")], applies(&[0]));
    // Distributions listed as vulnerable on their own; sw_edition `lts` for Ubuntu 22.04.
    check(
        &configs,
        &["cpe:2.3:o:debian:debian_linux:12.0:*:*:*:*:*:*:*"],
        applies(&[0]),
    );
    check(
        &configs,
        &["cpe:2.3:o:debian:debian_linux:11.0:*:*:*:*:*:*:*"],
        DoesNotApply,
    );
    check(
        &configs,
        &["cpe:2.3:o:canonical:ubuntu_linux:22.04:*:*:*:lts:*:*:*"],
        applies(&[0]),
    );
    check(
        &configs,
        &["cpe:2.3:o:canonical:ubuntu_linux:22.04:*:*:*:-:*:*:*"],
        DoesNotApply,
    );
    // FreeBSD's patch levels and NetBSD's inclusive end.
    check(
        &configs,
        &["cpe:2.3:o:freebsd:freebsd:14.0:rc4-p1:*:*:*:*:*:*"],
        applies(&[0]),
    );
    check(
        &configs,
        &["cpe:2.3:o:freebsd:freebsd:14.1:p2:*:*:*:*:*:*"],
        DoesNotApply,
    );
    check(
        &configs,
        &["cpe:2.3:o:netbsd:netbsd:10.0:*:*:*:*:*:*:*"],
        applies(&[0]),
    );
    check(
        &configs,
        &["cpe:2.3:o:netbsd:netbsd:10.0.1:*:*:*:*:*:*:*"],
        DoesNotApply,
    );
}

#[test]
fn glibc_looney_tunables_cve_2023_4911_has_no_configurations() {
    let Some(configs) = configurations("fkie-cad-cve/CVE-2023-4911.json") else {
        return;
    };
    assert!(configs.is_empty());
    check(
        &configs,
        &["cpe:2.3:a:gnu:glibc:2.37:*:*:*:*:*:*:*"],
        NotAnalysed,
    );
}

#[test]
fn platform_and_needs_both_cve_2021_0002() {
    let Some(configs) = configurations(
        "dependency-track-fixtures/CVE-2021-0002-duplicate-exact-version-matches.json",
    ) else {
        return;
    };
    let firmware = "cpe:2.3:o:intel:ethernet_controller_e810_firmware:1.4.10:*:*:*:*:linux:*:*";
    let hardware = "cpe:2.3:h:intel:ethernet_controller_e810:-:*:*:*:*:*:*:*";
    // The vulnerable firmware alone, or the hardware alone, is not enough.
    check(&configs, &[firmware], DoesNotApply);
    check(&configs, &[hardware], DoesNotApply);
    // Both: the firmware is reported, the hardware platform is not.
    check(&configs, &[hardware, firmware], applies(&[1]));
    check(
        &configs,
        &[
            hardware,
            "cpe:2.3:o:intel:ethernet_controller_e810_firmware:1.4.11:*:*:*:*:linux:*:*",
        ],
        DoesNotApply,
    );
    // Fedora 35 appears in two configurations; it is reported once.
    check(
        &configs,
        &["cpe:2.3:o:fedoraproject:fedora:35:*:*:*:*:*:*:*"],
        applies(&[0]),
    );
    // An AND configuration with one side unknown and the other present is unassessed.
    check(
        &configs,
        &[
            hardware,
            "cpe:2.3:o:intel:ethernet_controller_e810_firmware:*:*:*:*:*:linux:*:*",
        ],
        Unassessed,
    );
}

#[test]
fn every_version_cve_2022_31022() {
    let Some(configs) =
        configurations("dependency-track-fixtures/CVE-2022-31022-all-versions-vulnerable.json")
    else {
        return;
    };
    for version in ["0.1.0", "2.3.10", "*", "-"] {
        check(
            &configs,
            &[&format!(
                "cpe:2.3:a:couchbase:bleve:{version}:*:*:*:*:*:*:*"
            )],
            applies(&[0]),
        );
    }
}

#[test]
fn excluding_start_and_na_version_cve_1999_1341() {
    let Some(configs) = configurations("dependency-track-fixtures/cve-vuln.json") else {
        return;
    };
    let kernel = |v: &str| format!("cpe:2.3:o:linux:linux_kernel:{v}:*:*:*:*:*:*:*");
    // 2.2.0 <= v <= 2.2.13, 2.3.0 < v < 2.3.18, and the NA version.
    for (version, expected) in [
        ("2.1.9", DoesNotApply),
        ("2.2.0", applies(&[0])),
        ("2.2.13", applies(&[0])),
        ("2.2.14", DoesNotApply),
        ("2.3.0", DoesNotApply),
        ("2.3.1", applies(&[0])),
        ("2.3.17", applies(&[0])),
        ("2.3.18", DoesNotApply),
        ("-", applies(&[0])),
    ] {
        check(&configs, &[&kernel(version)], expected);
    }
}

#[test]
fn inclusive_ends_cve_2024_23113() {
    let Some(configs) = configurations("dependency-track-fixtures/cve-2024-23113.json") else {
        return;
    };
    let fortios = |v: &str| format!("cpe:2.3:o:fortinet:fortios:{v}:*:*:*:*:*:*:*");
    check(&configs, &[&fortios("7.0.13")], applies(&[0]));
    check(&configs, &[&fortios("7.0.14")], DoesNotApply);
    check(&configs, &[&fortios("7.2.0")], applies(&[0]));
    check(&configs, &[&fortios("7.4.3")], DoesNotApply);
    check(&configs, &[&fortios("6.4.15")], DoesNotApply);
    let fortipam = |v: &str| format!("cpe:2.3:o:fortinet:fortipam:{v}:*:*:*:*:*:*:*");
    check(&configs, &[&fortipam("1.2.0")], applies(&[0]));
    // An exact version is matched as text.
    check(&configs, &[&fortipam("1.2")], DoesNotApply);
    check(&configs, &[&fortipam("1.3.0")], DoesNotApply);
}

#[test]
fn exact_versions_cve_2017_5638_and_cve_2022_40489() {
    for file in [
        "dependency-track-fixtures/CVE-2017-5638-cvssv3-rating.json",
        "dependency-track-fixtures/CVE-2017-5638-cvssv4-rating.json",
    ] {
        let Some(configs) = configurations(file) else {
            return;
        };
        let struts = |v: &str| format!("cpe:2.3:a:apache:struts:{v}:*:*:*:*:*:*:*");
        check(&configs, &[&struts("2.3.5")], applies(&[0]));
        check(&configs, &[&struts("2.5.1")], applies(&[0]));
        check(&configs, &[&struts("2.3.7")], DoesNotApply);
        check(&configs, &[&struts("2.5.10")], DoesNotApply);
        check(&configs, &[&struts("*")], Unassessed);
    }
    let Some(configs) = configurations("dependency-track-fixtures/cve.json") else {
        return;
    };
    check(
        &configs,
        &["cpe:2.3:a:thinkcmf:thinkcmf:6.0.7:*:*:*:*:*:*:*"],
        applies(&[0]),
    );
}

/// An analysed NVD record with just an id and configurations.
fn record(cve: &str, configurations: Vec<CpeConfiguration>) -> NvdRecord {
    NvdRecord {
        id: cve.to_string(),
        source_identifier: None,
        published: String::new(),
        last_modified: String::new(),
        vuln_status: Some("Analyzed".to_string()),
        descriptions: Vec::new(),
        cvss: Vec::new(),
        cwes: Vec::new(),
        references: Vec::new(),
        exploit_references: Vec::new(),
        configurations,
        kev: None,
    }
}

/// A CPE index of staged NVD records: (CVE, file under `advisories/nvd/`).
fn index(records: &[(&str, &str)]) -> Option<CpeIndex> {
    let mut out = Vec::new();
    for (cve, file) in records {
        out.push(record(cve, configurations(file)?));
    }
    Some(CpeIndex::build(&out))
}

fn fix(fixed_in: &[&str], unfixed: bool) -> NvdFix {
    NvdFix {
        fixed_in: fixed_in.iter().map(|s| s.to_string()).collect(),
        unfixed,
    }
}

#[test]
fn fixes_come_from_exclusive_ends_of_matched_ranges() {
    let configurations = serde_json::from_value(json!([{"nodes": [{"operator": "OR", "cpeMatch": [
        {"vulnerable": true, "criteria": "cpe:2.3:a:acme:tool:*:*:*:*:*:*:*:*",
         "versionStartIncluding": "1.0", "versionEndExcluding": "1.4.2"},
        {"vulnerable": true, "criteria": "cpe:2.3:a:acme:tool:*:*:*:*:*:*:*:*",
         "versionStartIncluding": "2.0", "versionEndIncluding": "2.3"},
        {"vulnerable": true, "criteria": "cpe:2.3:a:acme:tool:3.0:*:*:*:*:*:*:*"},
        {"vulnerable": true, "criteria": "cpe:2.3:a:other:thing:*:*:*:*:*:*:*:*",
         "versionEndExcluding": "1.9"},
        {"vulnerable": false, "criteria": "cpe:2.3:o:acme:os:*:*:*:*:*:*:*:*",
         "versionEndExcluding": "1.7"}
    ]}]}]))
    .expect("configurations");
    let index = CpeIndex::build(&[record("CVE-0000-0001", configurations)]);
    let cve = "CVE-0000-0001";
    let tool = Some(("acme", "tool"));
    let check = |product, versions: &[&str], expected: NvdFix| {
        assert_eq!(
            index.fix(cve, product, versions),
            expected,
            "{product:?} {versions:?}"
        );
    };
    check(tool, &["1.2"], fix(&["1.4.2"], false));
    // Each installed version adds the range it is in; an inclusive end or an exact version names
    // no fix.
    check(tool, &["1.2", "1.3"], fix(&["1.4.2"], false));
    check(tool, &["1.2", "2.1"], fix(&["1.4.2"], true));
    check(tool, &["3.0"], fix(&[], true));
    // No entry matches: NVD says nothing about a fix.
    check(tool, &["1.5"], fix(&[], true));
    check(Some(("ACME", "Tool")), &["1.2"], fix(&["1.4.2"], false));
    // Without a product every vulnerable entry counts, never a platform (`vulnerable: false`).
    check(None, &["1.2"], fix(&["1.4.2", "1.9"], false));
    check(Some(("other", "thing")), &["1.2"], fix(&["1.9"], false));
    assert!(index.affects(cve, tool, "1.4.1"));
    assert!(!index.affects(cve, tool, "1.4.2"));
    assert!(index.affects(cve, tool, "3.0"));
    assert!(!index.affects("CVE-0000-0002", tool, "1.2"));
    assert_eq!(index.fix("CVE-0000-0002", tool, &["1.2"]), fix(&[], true));
}

#[test]
fn fixes_from_the_ranges_of_real_records() {
    let Some(index) = index(&[
        (
            "CVE-2017-5638",
            "dependency-track-fixtures/CVE-2017-5638-cvssv3-rating.json",
        ),
        ("CVE-2023-38545", "fkie-cad-cve/CVE-2023-38545.json"),
        ("CVE-2024-6387", "fkie-cad-cve/CVE-2024-6387.json"),
        (
            "CVE-2024-23113",
            "dependency-track-fixtures/cve-2024-23113.json",
        ),
    ]) else {
        return;
    };
    let check = |cve: &str, product: (&str, &str), versions: &[&str], expected: NvdFix| {
        assert_eq!(
            index.fix(cve, Some(product), versions),
            expected,
            "{cve} {versions:?}"
        );
    };
    // Struts: NVD lists exact versions (2.3.5, 2.3.6, 2.5, 2.5.1), no range, so no fixed version.
    let struts = ("apache", "struts");
    check("CVE-2017-5638", struts, &["2.3.5"], fix(&[], true));
    check("CVE-2017-5638", struts, &["2.3.7"], fix(&[], true));
    // curl: 7.69.0 <= v < 8.4.0.
    let libcurl = ("haxx", "libcurl");
    check(
        "CVE-2023-38545",
        libcurl,
        &["8.0.1"],
        fix(&["8.4.0"], false),
    );
    check(
        "CVE-2023-38545",
        libcurl,
        &["7.69.0", "8.3.0"],
        fix(&["8.4.0"], false),
    );
    assert!(index.affects("CVE-2023-38545", Some(libcurl), "8.3.0"));
    assert!(!index.affects("CVE-2023-38545", Some(libcurl), "8.4.0"));
    // OpenSSH: < 4.4 and 8.6 <= v < 9.8, but 4.4 and 9.8 are listed as vulnerable themselves.
    let openssh = ("openbsd", "openssh");
    check("CVE-2024-6387", openssh, &["9.2p1"], fix(&["9.8"], false));
    check(
        "CVE-2024-6387",
        openssh,
        &["4.3", "9.2p1"],
        fix(&["4.4", "9.8"], false),
    );
    assert!(index.affects("CVE-2024-6387", Some(openssh), "9.8"));
    assert!(!index.affects("CVE-2024-6387", Some(openssh), "9.8.1"));
    // The exact 8.5p1 entry: no fix named.
    check("CVE-2024-6387", openssh, &["8.5"], fix(&[], true));
    // FortiProxy's ranges end inclusively (<= 7.0.14): no fixed version either; without a product every
    // vulnerable entry counts (FortiOS's 7.0.0–7.0.13 too).
    check(
        "CVE-2024-23113",
        ("fortinet", "fortiproxy"),
        &["7.0.5"],
        fix(&[], true),
    );
    assert_eq!(
        index.fix("CVE-2024-23113", None, &["7.0.5"]),
        fix(&[], true)
    );
}

#[test]
fn negation_and_operators() {
    // Vulnerable application unless it runs on a fixed platform: [app] AND NOT [platform].
    let config: CpeConfiguration = serde_json::from_value(json!({
        "operator": "AND",
        "nodes": [
            {"operator": "OR", "negate": false, "cpeMatch": [
                {"vulnerable": true, "criteria": "cpe:2.3:a:acme:app:*:*:*:*:*:*:*:*",
                 "versionEndExcluding": "2.0"}]},
            {"operator": "OR", "negate": true, "cpeMatch": [
                {"vulnerable": false, "criteria": "cpe:2.3:o:acme:safe_os:*:*:*:*:*:*:*:*"}]}
        ]
    }))
    .expect("config");
    let eval = |installed: &[&str]| {
        evaluate_configurations(
            std::slice::from_ref(&config),
            &cpes(installed),
            &compare_loose,
        )
    };
    assert_eq!(eval(&["cpe:2.3:a:acme:app:1.0"]), applies(&[0]));
    assert_eq!(
        eval(&["cpe:2.3:a:acme:app:1.0", "cpe:2.3:o:acme:safe_os:1"]),
        DoesNotApply
    );
    assert_eq!(eval(&["cpe:2.3:a:acme:app:2.0"]), DoesNotApply);
    assert!(configuration_matches(
        &config,
        &cpes(&["cpe:2.3:a:acme:app:1.9.9"]),
        &compare_loose
    ));
    // A negated whole configuration reports no product.
    let negated: CpeConfiguration = serde_json::from_value(json!({
        "negate": true,
        "nodes": [{"operator": "OR", "cpeMatch": [
            {"vulnerable": true, "criteria": "cpe:2.3:a:acme:app:1.0"}]}]
    }))
    .expect("config");
    let got = evaluate_configurations(
        std::slice::from_ref(&negated),
        &cpes(&["cpe:2.3:a:acme:other:1.0"]),
        &compare_loose,
    );
    assert_eq!(got, applies(&[]));
    // An AND node needs every entry.
    let and_node: CpeConfiguration = serde_json::from_value(json!({
        "nodes": [{"operator": "AND", "cpeMatch": [
            {"vulnerable": true, "criteria": "cpe:2.3:a:acme:app:1.0"},
            {"vulnerable": true, "criteria": "cpe:2.3:a:acme:plugin:3"}]}]
    }))
    .expect("config");
    let one = std::slice::from_ref(&and_node);
    assert_eq!(
        evaluate_configurations(one, &cpes(&["cpe:2.3:a:acme:app:1.0"]), &compare_loose),
        DoesNotApply
    );
    assert_eq!(
        evaluate_configurations(
            one,
            &cpes(&["cpe:2.3:a:acme:plugin:3", "cpe:2.3:a:acme:app:1.0"]),
            &compare_loose
        ),
        applies(&[0, 1])
    );
}

#[test]
fn the_comparator_decides_ranges_and_none_is_unassessed() {
    let entry: CpeMatch = serde_json::from_value(json!({
        "vulnerable": true, "criteria": "cpe:2.3:a:acme:app:*:*:*:*:*:*:*:*",
        "versionStartIncluding": "1.0", "versionEndExcluding": "2.0"
    }))
    .expect("entry");
    let installed = Cpe::parse("cpe:2.3:a:acme:app:1.5:*:*:*:*:*:*:*").expect("cpe");
    assert_eq!(cpe_match(&entry, &installed, &compare_loose), Verdict::Yes);
    let never = |_: &str, _: &str| -> Option<Ordering> { None };
    assert_eq!(cpe_match(&entry, &installed, &never), Verdict::Unknown);
    // A comparator that orders everything below the bounds.
    let always_less = |_: &str, _: &str| Some(Ordering::Less);
    assert_eq!(cpe_match(&entry, &installed, &always_less), Verdict::No);
    let unparsable = Cpe::parse("cpe:2.3:a:acme:app:\\.\\.\\.:*:*:*:*:*:*:*").expect("cpe");
    assert_eq!(
        cpe_match(&entry, &unparsable, &compare_loose),
        Verdict::Unknown
    );
}

#[test]
fn configurations_round_trip_through_nvd_json() {
    let Some(configs) = configurations("fkie-cad-cve/CVE-2024-6387.json") else {
        return;
    };
    let json = serde_json::to_value(&configs).expect("serialize");
    assert_eq!(
        json[0]["nodes"][0]["cpeMatch"][1],
        json!({
            "vulnerable": true,
            "criteria": "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*",
            "matchCriteriaId": "EC13B91D-82A4-48B1-83AB-EC129C83D316",
            "versionStartIncluding": "8.6",
            "versionEndExcluding": "9.8"
        })
    );
    let back: Vec<CpeConfiguration> = serde_json::from_value(json).expect("deserialize");
    assert_eq!(back, configs);
}

fn parse_check(input: &str, expected: &str) {
    let cpe = Cpe::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    assert_eq!(cpe.to_string(), expected, "{input}");
    assert_eq!(Cpe::parse(expected).expect("reparse"), cpe, "{input}");
}

#[test]
fn formatted_strings() {
    parse_check(
        "cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*",
        "cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*",
    );
    // Short names are padded with ANY.
    parse_check(
        "cpe:2.3:a:acme:app:1.0",
        "cpe:2.3:a:acme:app:1.0:*:*:*:*:*:*:*",
    );
    // Quoting: `\:` is part of the value, not a separator; unquoted punctuation is quoted on output.
    let quoted = Cpe::parse("cpe:2.3:a:acme:app\\:server:1.0:*:*:*:*:*:*:*").expect("cpe");
    assert_eq!(quoted.product, CpeValue::Literal("app:server".to_string()));
    assert_eq!(quoted.version, CpeValue::Literal("1.0".to_string()));
    parse_check(
        "cpe:2.3:a:gnu:g++:12.2:*:*:*:*:*:*:*",
        "cpe:2.3:a:gnu:g\\+\\+:12.2:*:*:*:*:*:*:*",
    );
    parse_check(
        "cpe:2.3:a:acme:back\\\\slash:\\*:*:*:*:*:*:*:*",
        "cpe:2.3:a:acme:back\\\\slash:\\*:*:*:*:*:*:*:*",
    );
    // `\-` is the literal value "-", distinct from NA.
    let dash = Cpe::parse("cpe:2.3:a:acme:app:\\-").expect("cpe");
    assert_eq!(dash.version, CpeValue::Literal("-".to_string()));
    assert_eq!(
        Cpe::parse("cpe:2.3:a:acme:app:-").expect("cpe").version,
        CpeValue::NotApplicable
    );
    parse_check(
        "cpe:2.3:a:acme:app:\\-",
        "cpe:2.3:a:acme:app:\\-:*:*:*:*:*:*:*",
    );
    // Patterns at the ends of a value.
    parse_check(
        "cpe:2.3:a:*ssl:openssl:1.1.?",
        "cpe:2.3:a:*ssl:openssl:1.1.?:*:*:*:*:*:*:*",
    );
    // The prefix is not case-sensitive; serde uses the formatted string.
    let upper = Cpe::parse("CPE:2.3:A:Acme:App:1.0").expect("cpe");
    assert_eq!(
        serde_json::to_value(&upper).expect("json"),
        json!("cpe:2.3:A:Acme:App:1.0:*:*:*:*:*:*:*")
    );
}

fn parse_error(input: &str, expected: &str) {
    let err: CpeError = Cpe::parse(input).expect_err(input);
    assert_eq!(err.to_string(), expected, "{input}");
}

#[test]
fn malformed_names() {
    parse_error(
        "cpe:/a:acme:app:1.0",
        "`cpe:/a:acme:app:1.0` is not a CPE 2.3 formatted string (it must start with `cpe:2.3:`)",
    );
    parse_error(
        "",
        "`` is not a CPE 2.3 formatted string (it must start with `cpe:2.3:`)",
    );
    parse_error(
        "cpe:2.3:a:acme:app:1:*:*:*:*:*:*:*:extra",
        "`cpe:2.3:a:acme:app:1:*:*:*:*:*:*:*:extra` has 12 attributes; CPE 2.3 has 11",
    );
    parse_error(
        "cpe:2.3:a::app:1.0",
        "`cpe:2.3:a::app:1.0`: the vendor attribute is empty",
    );
    parse_error("cpe:2.3:", "`cpe:2.3:`: the part attribute is empty");
    parse_error(
        "cpe:2.3:x:acme:app:1.0",
        "`cpe:2.3:x:acme:app:1.0`: the part must be a, o, h or *, not `x`",
    );
    parse_error(
        "cpe:2.3:a:acme:app:1.0\\",
        "`cpe:2.3:a:acme:app:1.0\\`: the version attribute ends with a lone backslash",
    );
    parse_error(
        "cpe:2.3:a:acme:a*p:1.0",
        "`cpe:2.3:a:acme:a*p:1.0`: in the product attribute an unquoted * or ? may only begin or end the value",
    );
    parse_error(
        "cpe:2.3:a:acme:**:1.0",
        "`cpe:2.3:a:acme:**:1.0`: in the product attribute an unquoted * or ? may only begin or end the value",
    );
    parse_error(
        "cpe:2.3:a:acme:app:1.0 beta",
        "`cpe:2.3:a:acme:app:1.0 beta`: the version attribute contains the character ' '",
    );
    let huge = format!("cpe:2.3:a:acme:{}", "x".repeat(5000));
    parse_error(
        &huge,
        "the CPE name is 5015 bytes long, more than the 1024 allowed",
    );
    let long_vendor = format!("cpe:2.3:a:{}:", "v".repeat(200));
    let err = Cpe::parse(&long_vendor).expect_err("empty product");
    assert!(
        err.to_string()
            .contains("…`: the product attribute is empty"),
        "{err}"
    );
}

#[test]
fn malformed_configurations() {
    let err = serde_json::from_value::<CpeMatch>(json!({
        "vulnerable": true, "criteria": "cpe:2.3:a:acme:app:*",
        "versionStartIncluding": "1.0", "versionStartExcluding": "1.1"
    }))
    .expect_err("two starts");
    assert_eq!(
        err.to_string(),
        "both versionStartIncluding and versionStartExcluding are given"
    );
    let err = serde_json::from_value::<CpeMatch>(json!({
        "vulnerable": true, "criteria": "cpe:2.3:a:acme:app:*", "versionEndExcluding": " "
    }))
    .expect_err("empty bound");
    assert_eq!(err.to_string(), "versionEndExcluding is empty");
    let err = serde_json::from_value::<CpeMatch>(json!({
        "vulnerable": "yes", "criteria": "cpe:2.3:a:acme:app:*"
    }))
    .expect_err("wrong type");
    assert_eq!(
        err.to_string(),
        "invalid type: string \"yes\", expected a boolean"
    );
    let err =
        serde_json::from_value::<CpeConfiguration>(json!({"nodes": []})).expect_err("no nodes");
    assert_eq!(err.to_string(), "the configuration has no nodes");
    let err = serde_json::from_value::<CpeConfiguration>(
        json!({"nodes": [{"operator": "XOR", "cpeMatch": []}]}),
    )
    .expect_err("bad operator");
    assert_eq!(
        err.to_string(),
        "unknown variant `XOR`, expected `AND` or `OR`"
    );
    let err = serde_json::from_value::<CpeConfiguration>(
        json!({"nodes": [{"operator": "OR", "cpeMatch": []}]}),
    )
    .expect_err("empty node");
    assert_eq!(err.to_string(), "the node has no cpeMatch entries");
}
