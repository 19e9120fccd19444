//! Integration tests of the threat-context feeds: NVD CVE API 2.0 records (the staged fkie-cad and
//! Dependency-Track files, and API pages and feed files built from them), CISA's KEV catalog (JSON and
//! CSV of the same release), FIRST EPSS scores (the staged EMBA crawl and the official daily layout),
//! and malformed or hostile input with the place each error names.

use std::io::{Read, Write};

use bulwark_core::SeverityLevel;
use bulwark_core::cpe::{Applicability, Cpe, compare_loose, evaluate_configurations};
use bulwark_core::cvss::CvssVersion;
use bulwark_core::threat::{EpssScore, KevEntry, NvdRecord};
use bulwark_formats::FormatError;
use bulwark_formats::epss::{EpssLayout, is_epss, parse_epss, read_epss};
use bulwark_formats::kev::{is_kev, parse_kev, parse_kev_csv, parse_kev_json};
use bulwark_formats::nvd::{NvdPage, is_nvd, parse_nvd, read_nvd};
use chrono::NaiveDate;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

/// The location and message of a parse error.
fn parse_error<T: std::fmt::Debug>(result: Result<T, FormatError>) -> (String, String) {
    match result {
        Err(FormatError::Parse {
            location, message, ..
        }) => (location, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

// ---------------------------------------------------------------------------------------------------
// NVD

/// A staged NVD file's bytes.
fn nvd_bytes(relative: &str) -> Option<Vec<u8>> {
    let path = bulwark_testdata::shared_file(&format!("advisories/nvd/{relative}"))?;
    Some(std::fs::read(path).expect("read"))
}

/// A staged NVD file's `cve` object (unwrapping `{"cve": …}`).
fn nvd_cve(relative: &str) -> Option<Value> {
    let value: Value = serde_json::from_slice(&nvd_bytes(relative)?).expect("JSON");
    Some(match value.get("cve") {
        Some(cve) => cve.clone(),
        None => value,
    })
}

/// Parses a staged file that holds exactly one record.
fn one_record(relative: &str) -> Option<NvdRecord> {
    let page = parse_nvd(relative, &nvd_bytes(relative)?).expect("valid NVD");
    assert_eq!(page.records.len(), 1, "{relative}");
    page.records.into_iter().next()
}

const STAGED_NVD: [&str; 10] = [
    "fkie-cad-cve/CVE-2023-38545.json",
    "fkie-cad-cve/CVE-2023-4911.json",
    "fkie-cad-cve/CVE-2024-6387.json",
    "dependency-track-fixtures/CVE-2017-5638-cvssv3-rating.json",
    "dependency-track-fixtures/CVE-2017-5638-cvssv4-rating.json",
    "dependency-track-fixtures/CVE-2021-0002-duplicate-exact-version-matches.json",
    "dependency-track-fixtures/CVE-2022-31022-all-versions-vulnerable.json",
    "dependency-track-fixtures/cve-2024-23113.json",
    "dependency-track-fixtures/cve-vuln.json",
    "dependency-track-fixtures/cve.json",
];

#[test]
fn nvd_curl_record_field_by_field() {
    let Some(r) = one_record("fkie-cad-cve/CVE-2023-38545.json") else {
        return;
    };
    assert_eq!(r.id, "CVE-2023-38545");
    assert_eq!(
        r.source_identifier.as_deref(),
        Some("support@hackerone.com")
    );
    assert_eq!(r.published, "2023-10-18T04:15:11.077Z");
    assert_eq!(r.last_modified, "2024-01-21T02:23:03.223Z");
    assert_eq!(r.vuln_status.as_deref(), Some("Analyzed"));
    assert_eq!(
        r.descriptions
            .iter()
            .map(|d| d.lang.as_str())
            .collect::<Vec<_>>(),
        ["en", "es"]
    );
    assert!(
        r.description()
            .is_some_and(|d| d.starts_with("This flaw makes curl overflow a heap based buffer"))
    );
    assert_eq!(r.cvss.len(), 1);
    let m = &r.cvss[0];
    assert_eq!(
        (
            m.version,
            m.base_score,
            m.level,
            m.primary,
            m.source.as_str()
        ),
        (
            CvssVersion::V31,
            9.8,
            SeverityLevel::Critical,
            true,
            "nvd@nist.gov"
        )
    );
    assert_eq!(m.vector, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
    assert_eq!(m.vector_score, Some(9.8));
    assert_eq!(r.cwes, ["CWE-787"]);
    assert_eq!(r.references.len(), 4);
    assert_eq!(r.references[0], "https://curl.se/docs/CVE-2023-38545.html");
    assert_eq!(r.configurations.len(), 3);
    assert_eq!(r.kev, None);
    assert!(r.score_disagreements().is_empty());
    // The parsed configurations decide applicability.
    let installed = [Cpe::parse("cpe:2.3:a:haxx:libcurl:8.3.0").expect("cpe")];
    assert_eq!(
        evaluate_configurations(&r.configurations, &installed, &compare_loose),
        Applicability::Applies {
            vulnerable: vec![0]
        }
    );
}

#[test]
fn nvd_display_metric_and_kev_notice() {
    // Awaiting analysis: only a secondary (Red Hat) metric and no configurations.
    if let Some(r) = one_record("fkie-cad-cve/CVE-2023-4911.json") {
        assert_eq!(r.vuln_status.as_deref(), Some("Awaiting Analysis"));
        assert!(r.configurations.is_empty());
        let shown = r.display_metric().expect("a metric");
        assert_eq!(
            (shown.base_score, shown.primary, shown.source.as_str()),
            (7.8, false, "secalert@redhat.com")
        );
        assert_eq!(r.cwes, Vec::<String>::new());
    }
    // NVD's and the CNA's v3.1: NVD's primary one is shown.
    if let Some(r) = one_record("fkie-cad-cve/CVE-2024-6387.json") {
        let shown = r.display_metric().expect("a metric");
        assert_eq!((shown.base_score, shown.primary), (8.1, true));
        assert_eq!(shown.source, "nvd@nist.gov");
        assert_eq!(r.configurations.len(), 9);
    }
    // v3.0 wins over v2.0; the record carries CISA's KEV fields.
    if let Some(r) = one_record("dependency-track-fixtures/CVE-2017-5638-cvssv3-rating.json") {
        assert_eq!(
            r.cvss.iter().map(|m| m.version).collect::<Vec<_>>(),
            [CvssVersion::V30, CvssVersion::V2]
        );
        assert_eq!(r.cvss[1].level, SeverityLevel::High);
        assert_eq!(
            r.display_metric().map(|m| m.version),
            Some(CvssVersion::V30)
        );
        let kev = r.kev.expect("KEV notice");
        assert_eq!(kev.date_added, date("2021-11-03"));
        assert_eq!(kev.action_due, Some(date("2022-05-03")));
        assert_eq!(
            kev.vulnerability_name.as_deref(),
            Some("Apache Struts Remote Code Execution Vulnerability")
        );
    }
    // A v4.0-only record is shown with it, and its vector yields the published 10.0.
    if let Some(r) = one_record("dependency-track-fixtures/CVE-2017-5638-cvssv4-rating.json") {
        let shown = r.display_metric().expect("a metric");
        assert_eq!(
            (shown.version, shown.base_score, shown.vector_score),
            (CvssVersion::V40, 10.0, Some(10.0))
        );
    }
    // v3.1 primary and secondary plus v2.0: the primary v3.1 is shown; two CWEs from the CNA.
    if let Some(r) =
        one_record("dependency-track-fixtures/CVE-2022-31022-all-versions-vulnerable.json")
    {
        assert_eq!(r.cvss.len(), 3);
        assert_eq!(r.display_metric().map(|m| m.base_score), Some(5.5));
        assert_eq!(r.cwes, ["CWE-288", "CWE-306"]);
    }
    // A v2-only record.
    if let Some(r) = one_record("dependency-track-fixtures/cve-vuln.json") {
        assert_eq!(r.published, "1999-10-22T04:00:00Z");
        let shown = r.display_metric().expect("a metric");
        assert_eq!(
            (shown.version, shown.base_score, shown.level),
            (CvssVersion::V2, 4.6, SeverityLevel::Medium)
        );
    }
}

#[test]
fn nvd_every_staged_file_is_detected_and_every_score_agrees_with_its_vector() {
    for relative in STAGED_NVD {
        let Some(bytes) = nvd_bytes(relative) else {
            return;
        };
        assert!(is_nvd(&bytes), "{relative}");
        let page = parse_nvd(relative, &bytes).expect("valid NVD");
        assert_eq!(page.total_results, None);
        let record = &page.records[0];
        assert!(!record.cvss.is_empty(), "{relative}");
        assert_eq!(record.score_disagreements(), [], "{relative}");
        let streamed = read_nvd(relative, bytes.as_slice(), &mut |_| {}).expect("read");
        assert_eq!((streamed.records, streamed.errors.len()), (1, 0));
    }
}

/// An API page holding the staged records, as the CVE API 2.0 returns them.
fn api_page() -> Option<(Value, Vec<NvdRecord>)> {
    let mut items = Vec::new();
    let mut expected = Vec::new();
    for relative in STAGED_NVD {
        items.push(json!({ "cve": nvd_cve(relative)? }));
        expected.push(one_record(relative)?);
    }
    let page = json!({
        "resultsPerPage": items.len(),
        "startIndex": 2000,
        "totalResults": 254_321,
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2026-11-26T10:00:00.000",
        "vulnerabilities": items,
    });
    Some((page, expected))
}

#[test]
fn nvd_api_page_feed_file_and_gzip() {
    let Some((page, expected)) = api_page() else {
        return;
    };
    let bytes = serde_json::to_vec_pretty(&page).expect("json");
    assert!(is_nvd(&bytes));
    let parsed = parse_nvd("page.json", &bytes).expect("page");
    assert_eq!(
        parsed,
        NvdPage {
            results_per_page: Some(10),
            start_index: Some(2000),
            total_results: Some(254_321),
            records: expected.clone(),
        }
    );
    // Streaming, plain and gzip-compressed, gives the same records.
    for input in [bytes.clone(), gzip(&bytes)] {
        let mut streamed = Vec::new();
        let report =
            read_nvd("page.json", input.as_slice(), &mut |r| streamed.push(r)).expect("read");
        assert_eq!(streamed, expected);
        assert_eq!(
            (report.records, report.total_results, report.start_index),
            (10, Some(254_321), Some(2000))
        );
        assert!(report.errors.is_empty() && report.score_disagreements.is_empty());
    }
    // A feed file: the same array without page numbers, keys in another order.
    let feed = json!({
        "vulnerabilities": page["vulnerabilities"],
        "format": "NVD_CVE",
        "timestamp": "2026-11-26T10:00:00.000",
    });
    let parsed = parse_nvd(
        "nvdcve-2.0-2024.json",
        &serde_json::to_vec(&feed).expect("json"),
    )
    .expect("feed");
    assert_eq!((parsed.total_results, parsed.records), (None, expected));
}

/// A reader that hands out a few bytes at a time, as a pipe or a decompressor does.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn nvd_stream_keeps_good_records_around_bad_ones() {
    let Some(cve) = nvd_cve("fkie-cad-cve/CVE-2024-6387.json") else {
        return;
    };
    let mut items = Vec::new();
    for i in 0..300 {
        let mut c = cve.clone();
        c["id"] = json!(format!("CVE-2099-{:05}", i));
        if i == 123 {
            c["published"] = json!("2024-13-45T00:00:00");
        }
        items.push(json!({ "cve": c }));
    }
    let bytes = serde_json::to_vec(&json!({ "vulnerabilities": items })).expect("json");
    let mut ids = Vec::new();
    let report = read_nvd("big.json", Trickle(&bytes), &mut |r| ids.push(r.id)).expect("read");
    assert_eq!(report.records, 299);
    assert_eq!(ids.len(), 299);
    assert_eq!(ids[0], "CVE-2099-00000");
    assert!(!ids.contains(&"CVE-2099-00123".to_string()));
    let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "big.json: $.vulnerabilities[123].cve.published: `2024-13-45T00:00:00` is not an NVD \
          time (YYYY-MM-DDThh:mm:ss.sss, UTC)"
        ]
    );
    // parse_nvd reports the first bad record instead.
    assert_eq!(
        parse_error(parse_nvd("big.json", &bytes)).0,
        "$.vulnerabilities[123].cve.published"
    );
}

/// A minimal valid CVE object to break in the malformed tests.
fn minimal_cve() -> Value {
    json!({
        "id": "CVE-2024-0001",
        "published": "2024-01-02T03:04:05.678",
        "lastModified": "2024-01-03T00:00:00.000",
        "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "es", "value": "hola"}, {"lang": "en", "value": "hello"}],
        "metrics": {"cvssMetricV31": [{
            "source": "nvd@nist.gov", "type": "Primary",
            "cvssData": {"version": "3.1",
                         "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                         "baseScore": 9.8, "baseSeverity": "CRITICAL"}}]},
        "configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": [
            {"vulnerable": true, "criteria": "cpe:2.3:a:acme:app:*:*:*:*:*:*:*:*",
             "versionEndExcluding": "2.0", "matchCriteriaId": "X"}]}]}],
        "references": [{"url": "https://example.com/a"}]
    })
}

/// Parses `{"cve": cve}` after `edit`, expecting an error at `location` with `message`.
fn check_cve_error(edit: impl FnOnce(&mut Value), location: &str, message: &str) {
    let mut cve = minimal_cve();
    edit(&mut cve);
    let bytes = serde_json::to_vec(&json!({ "cve": cve })).expect("json");
    let (got_location, got_message) = parse_error(parse_nvd("x.json", &bytes));
    assert_eq!(
        (got_location.as_str(), got_message.as_str()),
        (location, message)
    );
}

#[test]
fn nvd_minimal_record_and_english_first() {
    let bytes = serde_json::to_vec(&minimal_cve()).expect("json");
    assert!(is_nvd(&bytes));
    let page = parse_nvd("x.json", &bytes).expect("valid");
    let r = &page.records[0];
    assert_eq!(r.published, "2024-01-02T03:04:05.678Z");
    assert_eq!(r.description(), Some("hello"));
    assert_eq!(r.descriptions[1].value, "hola");
}

#[test]
fn nvd_malformed_records_name_their_json_path() {
    check_cve_error(
        |c| c["id"] = json!("GHSA-xxxx-yyyy-zzzz"),
        "$.cve.id",
        "`GHSA-xxxx-yyyy-zzzz` is not a CVE id (CVE-YYYY-NNNN)",
    );
    check_cve_error(
        |c| {
            c.as_object_mut().expect("object").remove("published");
        },
        "$.cve",
        "missing field `published`",
    );
    check_cve_error(
        |c| c["lastModified"] = json!("yesterday"),
        "$.cve.lastModified",
        "`yesterday` is not an NVD time (YYYY-MM-DDThh:mm:ss.sss, UTC)",
    );
    check_cve_error(
        |c| c["metrics"]["cvssMetricV31"][0]["cvssData"]["baseScore"] = json!(11.5),
        "$.cve.metrics.cvssMetricV31[0].cvssData.baseScore",
        "the score 11.5 is not between 0 and 10",
    );
    check_cve_error(
        |c| c["metrics"]["cvssMetricV31"][0]["cvssData"]["baseScore"] = json!("9.8"),
        "$.cve.metrics.cvssMetricV31[0].cvssData.baseScore",
        "invalid type: string \"9.8\", expected f64",
    );
    check_cve_error(
        |c| c["metrics"]["cvssMetricV31"][0]["cvssData"]["version"] = json!("3.0"),
        "$.cve.metrics.cvssMetricV31[0]",
        "cvssMetricV31 holds a metric whose cvssData.version is `3.0`",
    );
    check_cve_error(
        |c| c["metrics"]["cvssMetricV31"][0]["type"] = json!("Tertiary"),
        "$.cve.metrics.cvssMetricV31[0].type",
        "unknown variant `Tertiary`, expected `Primary` or `Secondary`",
    );
    check_cve_error(
        |c| c["configurations"][0]["nodes"][0]["cpeMatch"][0]["criteria"] = json!("cpe:/a:acme"),
        "$.cve.configurations[0].nodes[0].cpeMatch[0].criteria",
        "`cpe:/a:acme` is not a CPE 2.3 formatted string (it must start with `cpe:2.3:`)",
    );
    check_cve_error(
        |c| c["configurations"][0]["nodes"][0]["cpeMatch"][0]["versionEndIncluding"] = json!("3"),
        "$.cve.configurations[0].nodes[0].cpeMatch[0]",
        "both versionEndIncluding and versionEndExcluding are given",
    );
    check_cve_error(
        |c| c["references"][0]["url"] = json!(""),
        "$.cve.references[0].url",
        "the value is empty",
    );
    check_cve_error(
        |c| c["cisaExploitAdd"] = json!("2024-02-30"),
        "$.cve.cisaExploitAdd",
        "`2024-02-30` is not a date (YYYY-MM-DD)",
    );
    check_cve_error(
        |c| c["descriptions"][0]["value"] = json!("x".repeat(2 * 1024 * 1024)),
        "$.cve.descriptions[0].value",
        "the value is 2097152 bytes long, more than the 1048576 allowed",
    );
    check_cve_error(
        |c| c["descriptions"] = json!({"lang": "en"}),
        "$.cve.descriptions",
        "invalid type: map, expected a sequence",
    );
}

#[test]
fn nvd_published_score_disagreeing_with_its_vector_is_kept_and_reported() {
    let mut cve = minimal_cve();
    cve["metrics"]["cvssMetricV31"][0]["cvssData"]["baseScore"] = json!(5.0);
    let bytes = serde_json::to_vec(&json!({ "vulnerabilities": [{ "cve": cve }] })).expect("json");
    let mut records = Vec::new();
    let report = read_nvd("x.json", bytes.as_slice(), &mut |r| records.push(r)).expect("read");
    let m = &records[0].cvss[0];
    assert_eq!(
        (m.base_score, m.vector_score, m.level),
        (5.0, Some(9.8), SeverityLevel::Medium)
    );
    let reported: Vec<String> = report
        .score_disagreements
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        reported,
        [
            "CVE-2024-0001: the CVSS 3.1 score 5.0 by nvd@nist.gov differs from its vector's score 9.8"
        ]
    );
}

#[test]
fn nvd_malformed_documents_name_their_line() {
    let page = json!({"resultsPerPage": 1, "vulnerabilities": [{"cve": minimal_cve()}]});
    let text = serde_json::to_string_pretty(&page).expect("json");
    // Truncated in the middle of the array.
    let cut = &text[..text.len() / 2];
    let (location, message) = parse_error(parse_nvd("cut.json", cut.as_bytes()));
    assert!(location.starts_with("line "), "{location}");
    assert!(message.starts_with("EOF while parsing"), "{message}");
    let report = read_nvd("cut.json", cut.as_bytes(), &mut |_| {});
    assert!(
        matches!(report, Err(FormatError::Parse { .. })),
        "{report:?}"
    );
    // A truncated gzip stream is a read error.
    let packed = gzip(text.as_bytes());
    let err = read_nvd("cut.json.gz", &packed[..packed.len() / 2], &mut |_| {})
        .expect_err("truncated gzip");
    assert!(matches!(err, FormatError::Io { .. }), "{err:?}");
    // Page numbers of the wrong type.
    assert_eq!(
        parse_error(parse_nvd(
            "x.json",
            b"{\n  \"totalResults\": \"many\",\n  \"vulnerabilities\": []\n}"
        )),
        (
            "line 2, column 24".to_string(),
            "invalid type: string \"many\", expected u64".to_string()
        )
    );
    assert_eq!(
        parse_error(parse_nvd("x.json", b"{\"vulnerabilities\": {}}")),
        (
            "line 1, column 20".to_string(),
            "invalid type: map, expected an array of `{\"cve\": {…}}` objects".to_string()
        )
    );
    assert_eq!(
        parse_error(parse_nvd("x.json", b"[]")),
        (
            // serde_json's column before the first character is read.
            "line 1, column 0".to_string(),
            "invalid type: sequence, expected an NVD CVE API 2.0 object".to_string()
        )
    );
    assert_eq!(
        parse_error(parse_nvd("x.json", b"{\"foo\": 1}")).1,
        "not an NVD CVE API 2.0 document: no `vulnerabilities` array, `cve` object or CVE `id`"
    );
    assert_eq!(
        parse_error(parse_nvd(
            "x.json",
            b"{\"CVE_data_type\": \"CVE\", \"CVE_Items\": []}"
        ))
        .1,
        "this is a legacy NVD 1.1 feed (`CVE_Items`); Bulwark reads the CVE API 2.0 format"
    );
    assert_eq!(
        parse_error(parse_nvd("x.json", b"{\"vulnerabilities\": []} trailing")),
        (
            "line 1, column 25".to_string(),
            "trailing characters".to_string()
        )
    );
    // Elements that are not `{"cve": …}` objects are errors of their own, with their index.
    let (location, message) = parse_error(parse_nvd(
        "x.json",
        b"{\"vulnerabilities\": [{\"cveID\": \"CVE-2021-44228\"}]}",
    ));
    assert_eq!(
        (location.as_str(), message.as_str()),
        ("$.vulnerabilities[0]", "missing field `cve`")
    );
}

// ---------------------------------------------------------------------------------------------------
// KEV

fn kev_bytes(name: &str) -> Option<Vec<u8>> {
    let path = bulwark_testdata::shared_file(&format!("kev/{name}"))?;
    Some(std::fs::read(path).expect("read"))
}

#[test]
fn kev_json_and_csv_agree_entry_by_entry() {
    let (Some(json_bytes), Some(csv_bytes)) = (
        kev_bytes("known_exploited_vulnerabilities.json"),
        kev_bytes("known_exploited_vulnerabilities.csv"),
    ) else {
        return;
    };
    assert!(is_kev(&json_bytes) && is_kev(&csv_bytes));
    assert!(!is_nvd(&json_bytes) && !is_epss(&csv_bytes));
    let from_json = parse_kev("kev.json", &json_bytes).expect("json");
    let from_csv = parse_kev("kev.csv", &csv_bytes).expect("csv");
    assert_eq!(from_json.catalog_version.as_deref(), Some("2025.08.25"));
    assert_eq!(
        from_json.date_released.as_deref(),
        Some("2025-08-25T17:04:19.979600Z")
    );
    assert_eq!(
        (from_csv.catalog_version, from_csv.date_released),
        (None, None)
    );
    assert_eq!(from_json.entries.len(), 1404);
    assert_eq!(from_csv.entries.len(), 1404);
    for (j, c) in from_json.entries.iter().zip(&from_csv.entries) {
        assert_eq!(j, c);
    }
    let log4shell = from_json.entry("CVE-2021-44228").expect("Log4Shell");
    assert_eq!(
        log4shell,
        &KevEntry {
            cve_id: "CVE-2021-44228".into(),
            vendor_project: "Apache".into(),
            product: "Log4j2".into(),
            vulnerability_name: "Apache Log4j2 Remote Code Execution Vulnerability".into(),
            date_added: date("2021-12-10"),
            short_description: "Apache Log4j2 contains a vulnerability where JNDI features do not \
                protect against attacker-controlled JNDI-related endpoints, allowing for remote code \
                execution."
                .into(),
            required_action: "For all affected software assets for which updates exist, the only \
                acceptable remediation actions are: 1) Apply updates; OR 2) remove affected assets \
                from agency networks. Temporary mitigations using one of the measures provided at \
                https://www.cisa.gov/uscert/ed-22-02-apache-log4j-recommended-mitigation-measures \
                are only acceptable until updates are available."
                .into(),
            due_date: date("2021-12-24"),
            known_ransomware_campaign_use: true,
            notes: "https://nvd.nist.gov/vuln/detail/CVE-2021-44228".into(),
            cwes: vec!["CWE-20".into(), "CWE-400".into(), "CWE-502".into()],
        }
    );
    let known = from_json
        .entries
        .iter()
        .filter(|e| e.known_ransomware_campaign_use)
        .count();
    assert_eq!(known, 293);
    // The newest entry comes first, with two CWEs and a Unicode apostrophe.
    let git = &from_csv.entries[0];
    assert_eq!(git.cve_id, "CVE-2025-48384");
    assert_eq!(git.cwes, ["CWE-59", "CWE-436"]);
    assert!(git.short_description.contains("Git’s"));
}

/// A small KEV JSON catalog with one entry, to break.
fn kev_json() -> Value {
    json!({
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": "2025.01.01",
        "dateReleased": "2025-01-01T10:00:00.000Z",
        "count": 1,
        "vulnerabilities": [{
            "cveID": "CVE-2024-0001", "vendorProject": "Acme", "product": "App",
            "vulnerabilityName": "Acme App RCE", "dateAdded": "2025-01-01",
            "shortDescription": "Bad.", "requiredAction": "Patch.", "dueDate": "2025-01-22",
            "knownRansomwareCampaignUse": "Unknown", "notes": "", "cwes": []
        }]
    })
}

fn check_kev_json_error(edit: impl FnOnce(&mut Value), location: &str, message: &str) {
    let mut doc = kev_json();
    edit(&mut doc);
    let bytes = serde_json::to_vec(&doc).expect("json");
    let got = parse_error(parse_kev_json("kev.json", &bytes));
    assert_eq!((got.0.as_str(), got.1.as_str()), (location, message));
}

#[test]
fn kev_json_malformed() {
    let ok = parse_kev("kev.json", &serde_json::to_vec(&kev_json()).expect("json")).expect("ok");
    assert_eq!(ok.entries[0].cwes, Vec::<String>::new());
    assert!(!ok.entries[0].known_ransomware_campaign_use);
    check_kev_json_error(
        |d| d["count"] = json!(1405),
        "$.count",
        "count is 1405 but vulnerabilities has 1 entries",
    );
    check_kev_json_error(
        |d| d["count"] = json!("1"),
        "$.count",
        "invalid type: string \"1\", expected u64",
    );
    check_kev_json_error(
        |d| d["vulnerabilities"][0]["dateAdded"] = json!("01/01/2025"),
        "$.vulnerabilities[0].dateAdded",
        "`01/01/2025` is not a date (YYYY-MM-DD)",
    );
    check_kev_json_error(
        |d| d["vulnerabilities"][0]["knownRansomwareCampaignUse"] = json!("Maybe"),
        "$.vulnerabilities[0].knownRansomwareCampaignUse",
        "`Maybe` is neither `Known` nor `Unknown`",
    );
    check_kev_json_error(
        |d| d["vulnerabilities"][0]["cwes"] = json!(["CWE-79", "XSS"]),
        "$.vulnerabilities[0].cwes",
        "`XSS` is not a CWE id (CWE-NNN)",
    );
    check_kev_json_error(
        |d| d["vulnerabilities"][0]["cveID"] = json!("CVE-2024-1"),
        "$.vulnerabilities[0].cveID",
        "`CVE-2024-1` is not a CVE id (CVE-YYYY-NNNN)",
    );
    check_kev_json_error(
        |d| d["vulnerabilities"][0]["notes"] = json!("n".repeat(100_000)),
        "$.vulnerabilities[0].notes",
        "the value is 100000 bytes long, more than the 65536 allowed",
    );
    check_kev_json_error(
        |d| d["dateReleased"] = json!("2025-01-01"),
        "$.dateReleased",
        "`2025-01-01` is not an RFC 3339 time",
    );
    check_kev_json_error(
        |d| {
            d["vulnerabilities"][0]
                .as_object_mut()
                .expect("object")
                .remove("dueDate");
        },
        "$.vulnerabilities[0]",
        "missing field `dueDate`",
    );
    check_kev_json_error(
        |d| {
            let entry = d["vulnerabilities"][0].clone();
            d["vulnerabilities"] = json!([entry.clone(), entry]);
            d["count"] = json!(2);
        },
        "$.vulnerabilities[1].cveID",
        "CVE-2024-0001 is listed twice (first at $.vulnerabilities[0].cveID)",
    );
    // Absent ransomware use, notes and CWEs (older catalogs) are Unknown and empty.
    let mut old = kev_json();
    for key in ["knownRansomwareCampaignUse", "notes", "cwes"] {
        old["vulnerabilities"][0]
            .as_object_mut()
            .expect("object")
            .remove(key);
    }
    let parsed = parse_kev_json("old.json", &serde_json::to_vec(&old).expect("json")).expect("ok");
    assert_eq!(
        (
            parsed.entries[0].known_ransomware_campaign_use,
            parsed.entries[0].notes.as_str(),
            parsed.entries[0].cwes.len()
        ),
        (false, "", 0)
    );
    // Truncated.
    let text = serde_json::to_string_pretty(&kev_json()).expect("json");
    let (location, message) = parse_error(parse_kev("kev.json", &text.as_bytes()[..100]));
    assert!(location.starts_with("line "), "{location}");
    assert!(message.starts_with("EOF while parsing"), "{message}");
}

const KEV_HEADER: &str = "cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,\
                          requiredAction,dueDate,knownRansomwareCampaignUse,notes,cwes\n";

#[test]
fn kev_csv_quoting_and_malformed_rows() {
    // A quoted field with a comma and a newline; the next row's errors name its own first line.
    let good = format!(
        "{KEV_HEADER}CVE-2024-0001,Acme,\"App, Server\",\"Acme RCE\",2025-01-01,\"Line one,\nline \
         two.\",Patch.,2025-01-22,Known,,\"CWE-20, CWE-400\"\n"
    );
    let catalog = parse_kev_csv("kev.csv", good.as_bytes()).expect("valid");
    let e = &catalog.entries[0];
    assert_eq!(e.product, "App, Server");
    assert_eq!(e.short_description, "Line one,\nline two.");
    assert_eq!(e.cwes, ["CWE-20", "CWE-400"]);
    assert!(e.known_ransomware_campaign_use);
    assert_eq!(e.notes, "");
    let row = |cve: &str, due: &str, ransom: &str, cwes: &str| {
        format!("{cve},Acme,App,Name,2025-01-01,Desc,Act,{due},{ransom},,{cwes}\n")
    };
    let check = |body: String, location: &str, message: &str| {
        let got = parse_error(parse_kev_csv("kev.csv", format!("{good}{body}").as_bytes()));
        assert_eq!((got.0.as_str(), got.1.as_str()), (location, message));
    };
    check(
        row("CVE-2024-0002", "2025-02-30", "Unknown", ""),
        "line 4, column dueDate",
        "`2025-02-30` is not a date (YYYY-MM-DD)",
    );
    check(
        row("CVE-2024-0002", "2025-02-01", "Yes", ""),
        "line 4, column knownRansomwareCampaignUse",
        "`Yes` is neither `Known` nor `Unknown`",
    );
    check(
        row("CVE-2024-0002", "2025-02-01", "Unknown", "CWE-abc"),
        "line 4, column cwes",
        "`CWE-abc` is not a CWE id (CWE-NNN)",
    );
    check(
        row("CVE-2024-0001", "2025-02-01", "Unknown", ""),
        "line 4, column cveID",
        "CVE-2024-0001 is listed twice (first at line 2, column cveID)",
    );
    check(
        "CVE-2024-0002,Acme,App\n".to_string(),
        "line 4",
        "the row has 3 fields, the header 11",
    );
    check(
        format!(
            "CVE-2024-0002,Acme,App,{},2025-01-01,D,A,2025-01-02,Known,,\n",
            "x".repeat(70_000)
        ),
        "line 4, column vulnerabilityName",
        "the value is 70000 bytes long, more than the 65536 allowed",
    );
    // A file cut inside a quoted field.
    let cut = &good[..KEV_HEADER.len() + 60];
    assert_eq!(
        parse_error(parse_kev_csv("kev.csv", cut.as_bytes())),
        (
            "line 2".to_string(),
            "the row has 6 fields, the header 11".to_string()
        )
    );
    // A header without a needed column.
    assert_eq!(
        parse_error(parse_kev_csv(
            "kev.csv",
            b"cveID,vendorProject,product\nCVE-2024-0001,A,B\n"
        )),
        (
            "line 1".to_string(),
            "the header row lacks the column `vulnerabilityName`".to_string()
        )
    );
    // Invalid UTF-8.
    let mut bytes = good.into_bytes();
    bytes.extend_from_slice(b"CVE-2024-0003,Acme,\xff\xfe,N,2025-01-01,D,A,2025-01-02,Known,,\n");
    assert_eq!(
        parse_error(parse_kev_csv("kev.csv", &bytes)),
        (
            "line 4".to_string(),
            "field 3 is not valid UTF-8".to_string()
        )
    );
    assert_eq!(
        parse_error(parse_kev("kev.csv", b"  \n")),
        ("line 1".to_string(), "the document is empty".to_string())
    );
}

// ---------------------------------------------------------------------------------------------------
// EPSS

#[test]
fn epss_staged_crawl_every_member() {
    let Some(path) = bulwark_testdata::shared_file("epss/emba-epss-by-year.tar.zst") else {
        return;
    };
    let file = std::fs::File::open(&path).expect("open");
    let mut archive = tar::Archive::new(zstd::stream::read::Decoder::new(file).expect("zstd"));
    let (mut members, mut rows, mut sunk) = (0, 0u64, 0u64);
    let mut regresshion: Option<EpssScore> = None;
    let mut max_epss: f64 = 0.0;
    for entry in archive.entries().expect("entries") {
        let entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        if !name.ends_with(".csv") {
            continue;
        }
        members += 1;
        let year = name
            .rsplit('/')
            .next()
            .and_then(|n| n.strip_prefix("CVE_"))
            .and_then(|n| n.get(..4))
            .expect("year in name")
            .to_string();
        let report = read_epss(&name, entry, &mut |score| {
            assert!(
                score.cve.starts_with(&format!("CVE-{year}-")),
                "{name}: {}",
                score.cve
            );
            max_epss = max_epss.max(score.epss);
            if score.cve == "CVE-2024-6387" {
                regresshion = Some(score);
            }
            sunk += 1;
        })
        .expect("member reads");
        assert_eq!(report.layout, EpssLayout::Emba, "{name}");
        assert_eq!((report.model_version, report.gzip), (None, false));
        rows += report.rows;
    }
    assert_eq!(members, 28);
    assert_eq!(rows, 360_142);
    assert_eq!(sunk, rows);
    assert!(max_epss <= 1.0 && max_epss > 0.9);
    assert_eq!(
        regresshion,
        Some(EpssScore {
            cve: "CVE-2024-6387".into(),
            epss: 0.99506,
            percentile: 0.99942,
        })
    );
    // One member through parse_epss and the testdata helper.
    let bytes = bulwark_testdata::archive_member(
        "epss/emba-epss-by-year.tar.zst",
        "emba-epss/EPSS_CVE_data/CVE_1999_EPSS.csv",
    )
    .expect("member");
    assert!(is_epss(&bytes));
    let set = parse_epss("CVE_1999_EPSS.csv", &bytes).expect("parse");
    assert!(set.scores.len() > 1000);
    assert!(set.scores.iter().all(|s| s.cve.starts_with("CVE-1999-")));
}

const OFFICIAL: &str = "#model_version:v2025.03.14,score_date:2025-03-15T12:55:00Z\n\
                        cve,epss,percentile\n\
                        CVE-1999-0001,0.01246,0.78468\n\
                        CVE-2024-6387,0.99506,0.99942\n\
                        CVE-2021-1234567,0.00043,0.05\n";

#[test]
fn epss_official_layout_plain_and_gzip() {
    let expected = bulwark_core::threat::EpssSet {
        model_version: Some("v2025.03.14".into()),
        score_date: Some("2025-03-15T12:55:00Z".into()),
        scores: vec![
            EpssScore {
                cve: "CVE-1999-0001".into(),
                epss: 0.01246,
                percentile: 0.78468,
            },
            EpssScore {
                cve: "CVE-2024-6387".into(),
                epss: 0.99506,
                percentile: 0.99942,
            },
            EpssScore {
                cve: "CVE-2021-1234567".into(),
                epss: 0.00043,
                percentile: 0.05,
            },
        ],
    };
    let packed = gzip(OFFICIAL.as_bytes());
    for (name, bytes) in [
        ("epss.csv", OFFICIAL.as_bytes().to_vec()),
        ("epss.csv.gz", packed.clone()),
        ("crlf.csv", OFFICIAL.replace('\n', "\r\n").into_bytes()),
    ] {
        assert!(is_epss(&bytes), "{name}");
        assert_eq!(parse_epss(name, &bytes).expect(name), expected, "{name}");
    }
    let report = read_epss("epss.csv.gz", packed.as_slice(), &mut |_| {}).expect("read");
    assert_eq!(
        (report.layout, report.rows, report.gzip),
        (EpssLayout::Official, 3, true)
    );
    // Without the first line (older files), and without any header.
    let bare = OFFICIAL.split_once('\n').expect("lines").1;
    let set = parse_epss("old.csv", bare.as_bytes()).expect("no model line");
    assert_eq!((set.model_version, set.scores.len()), (None, 3));
    let rows = bare.split_once('\n').expect("lines").1;
    let report = read_epss("rows.csv", rows.as_bytes(), &mut |_| {}).expect("rows only");
    assert_eq!((report.layout, report.rows), (EpssLayout::Headerless, 3));
    let empty = read_epss("empty.csv", &b""[..], &mut |_| {}).expect("empty");
    assert_eq!(empty.rows, 0);
    assert!(!is_epss(b"{\"cve\": 1}") && !is_epss(KEV_HEADER.as_bytes()));
}

fn check_epss_error(text: &str, location: &str, message: &str) {
    for bytes in [text.as_bytes().to_vec(), gzip(text.as_bytes())] {
        let got = parse_error(parse_epss("epss.csv", &bytes));
        assert_eq!((got.0.as_str(), got.1.as_str()), (location, message));
    }
}

#[test]
fn epss_malformed_rows_name_their_line() {
    let with = |row: &str| format!("{OFFICIAL}{row}\n");
    check_epss_error(
        &with("CVE-2024-0002,1.5,0.3"),
        "line 6",
        "epss `1.5` is not between 0 and 1",
    );
    check_epss_error(
        &with("CVE-2024-0002,0.5,-0.1"),
        "line 6",
        "percentile `-0.1` is not between 0 and 1",
    );
    check_epss_error(
        &with("CVE-2024-0002,NaN,0.3"),
        "line 6",
        "epss `NaN` is not between 0 and 1",
    );
    check_epss_error(
        &with("CVE-2024-0002,high,0.3"),
        "line 6",
        "epss `high` is not a number",
    );
    check_epss_error(
        &with("CVE-24-2,0.1,0.3"),
        "line 6",
        "`CVE-24-2` is not a CVE id (CVE-YYYY-NNNN)",
    );
    check_epss_error(
        &with("CVE-2024-0002,0.1"),
        "line 6",
        "expected 3 fields (cve, epss, percentile), found 2",
    );
    check_epss_error(
        &with(&format!("CVE-2024-0002,0.{},0.3", "1".repeat(100))),
        "line 6",
        "epss is 102 bytes long, more than the 64 allowed",
    );
    check_epss_error(
        "cve;epss;percentile\nCVE-2024-0002;0.1;0.2;x\n",
        "line 2",
        "expected 3 fields (cve, epss, percentile), found 4",
    );
    check_epss_error(
        "#model_version:v1\ncve,score,percentile\n",
        "line 2",
        "the header is `cve,score,percentile`, expected `cve,epss,percentile`",
    );
    check_epss_error(
        "#model_version v1\n",
        "line 1",
        "`model_version v1` is not a `key:value` pair of the first line",
    );
    check_epss_error(
        "#model_version:v1,score_date:yesterday\n",
        "line 1",
        "score_date `yesterday` is not an RFC 3339 time",
    );
    check_epss_error(
        &format!("#{}\n", "m".repeat(5000)),
        "line 1",
        "the line is longer than 4096 bytes",
    );
    // A crawl file truncated in its last row.
    check_epss_error(
        "CVE-2024-0001;0.1;0.2\nCVE-2024-0002;0.3",
        "line 2",
        "expected 3 fields (cve, epss, percentile), found 2",
    );
    // A truncated gzip stream is a read error.
    let long = format!("{OFFICIAL}{}", "CVE-2024-0002,0.5,0.5\n".repeat(200));
    assert_eq!(
        parse_epss("long.csv", long.as_bytes())
            .expect("whole")
            .scores
            .len(),
        203
    );
    let packed = gzip(long.as_bytes());
    let err = parse_epss("epss.csv.gz", &packed[..packed.len() - 10]).expect_err("truncated");
    assert!(matches!(err, FormatError::Io { .. }), "{err:?}");
    assert!(err.to_string().starts_with("epss.csv.gz: "), "{err}");
}
