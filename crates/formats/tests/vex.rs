//! Exceptions in and out: CycloneDX VEX and OpenVEX exports and their re-import (hand-made cases and a
//! property test), the real CycloneDX VEX examples from the shared data, documents from elsewhere, the
//! scanner ignore files, and malformed and hostile input with the exact errors.

use bulwark_core::exception::{
    ALL_JUSTIFICATIONS, Exception, ExceptionGroup, Justification, TargetKind,
};
use bulwark_formats::FormatError;
use bulwark_formats::vex::{
    self, IgnoreFormat, ImportFormat, MAX_ENTRIES, MAX_INPUT_BYTES, MAX_ITEMS, ProposedException,
    VexImport, VexMetadata, VexStatement,
};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

fn day(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + n * 86_400, 0).unwrap()
}

fn exception(
    id: i64,
    kind: TargetKind,
    target: &str,
    justification: Justification,
    groups: Option<&[&str]>,
) -> Exception {
    Exception {
        id,
        kind,
        target: target.to_string(),
        justification,
        context: format!("context of exception {id}"),
        global: groups.is_none(),
        groups: groups
            .unwrap_or_default()
            .iter()
            .map(|g| ExceptionGroup {
                name: g.to_string(),
                canceled_by: None,
                canceled_at: None,
            })
            .collect(),
        created_by: "ana@example.com".to_string(),
        created_at: day(0),
        expires_at: day(90),
        canceled_by: None,
        canceled_at: None,
        review: None,
        expiry_recorded_at: None,
        baseline: None,
        last_covered_at: None,
    }
}

fn statement(e: Exception, vulnerabilities: &[&str], products: &[&str]) -> VexStatement {
    VexStatement {
        exception: e,
        vulnerabilities: vulnerabilities.iter().map(|s| s.to_string()).collect(),
        products: products.iter().map(|s| s.to_string()).collect(),
    }
}

fn meta(at: DateTime<Utc>) -> VexMetadata {
    VexMetadata {
        author: "Acme SecOps".to_string(),
        tool: "Bulwark 0.1.0".to_string(),
        timestamp: at,
        version: 1,
        document_id: None,
    }
}

/// What an import must give back of an exception: kind, target, justification, context, scope, expiry
/// and owner.
type Essentials = (
    TargetKind,
    String,
    Justification,
    String,
    Option<Vec<String>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

fn essentials_of_exception(e: &Exception) -> Essentials {
    (
        e.kind,
        e.target.clone(),
        e.justification,
        e.context.clone(),
        (!e.global).then(|| e.groups.iter().map(|g| g.name.clone()).collect()),
        Some(e.expires_at),
        Some(e.created_by.clone()),
    )
}

fn essentials(p: &ProposedException) -> Essentials {
    (
        p.kind,
        p.target.clone(),
        p.justification,
        p.context.clone(),
        p.groups.clone(),
        p.expires_at,
        p.created_by.clone(),
    )
}

fn read(file: &str, json: &str) -> VexImport {
    vex::read_vex(file, json.as_bytes()).unwrap_or_else(|e| panic!("reading {file}: {e}"))
}

/// The error text of reading `bytes` as VEX.
fn vex_error(file: &str, bytes: &[u8]) -> String {
    match vex::read_vex(file, bytes) {
        Ok(import) => panic!("accepted: {import:?}"),
        Err(e) => e.to_string(),
    }
}

/// The error text of reading `bytes` as an ignore file.
fn ignore_error(file: &str, bytes: &[u8]) -> String {
    match vex::read_ignore_file(file, bytes) {
        Ok(import) => panic!("accepted: {import:?}"),
        Err(e) => e.to_string(),
    }
}

/// `target justification [groups] expiry | context | products` per proposal, one line each.
fn show(import: &VexImport) -> Vec<String> {
    import
        .proposals
        .iter()
        .map(|p| {
            let scope = match &p.groups {
                None => "global".to_string(),
                Some(g) => g.join(","),
            };
            let expiry = p.expires_at.map_or("-".to_string(), |t| t.to_rfc3339());
            format!(
                "{} {} {} [{scope}] {expiry} | {} | {}",
                p.source,
                p.target,
                p.justification.as_str(),
                p.context,
                p.products.join(" ")
            )
        })
        .collect()
}

fn show_skipped(import: &VexImport) -> Vec<String> {
    import
        .skipped
        .iter()
        .map(|(at, why)| format!("{at}: {why}"))
        .collect()
}

#[test]
fn cyclonedx_export_is_the_documented_shape() {
    let e = exception(
        7,
        TargetKind::Cve,
        "CVE-2024-3094",
        Justification::RiskAccepted,
        Some(&["web"]),
    );
    let doc = vex::write_cyclonedx(
        &[statement(e, &[], &["pkg:deb/debian/xz-utils@5.6.0"])],
        &meta(day(1)),
    );
    assert!(doc.left_out.is_empty());
    let expected = r#"{
  "bomFormat": "CycloneDX",
  "specVersion": "1.6",
  "serialNumber": "urn:uuid:SERIAL",
  "version": 1,
  "metadata": {
    "timestamp": "2023-11-15T22:13:20Z",
    "tools": {
      "components": [
        {
          "type": "application",
          "name": "Bulwark 0.1.0"
        }
      ]
    },
    "authors": [
      {
        "name": "Acme SecOps"
      }
    ]
  },
  "components": [
    {
      "type": "library",
      "bom-ref": "pkg:deb/debian/xz-utils@5.6.0",
      "group": "debian",
      "name": "xz-utils",
      "version": "5.6.0",
      "purl": "pkg:deb/debian/xz-utils@5.6.0"
    }
  ],
  "vulnerabilities": [
    {
      "id": "CVE-2024-3094",
      "analysis": {
        "state": "exploitable",
        "response": [
          "will_not_fix"
        ],
        "detail": "context of exception 7",
        "firstIssued": "2023-11-14T22:13:20Z",
        "lastUpdated": "2023-11-14T22:13:20Z"
      },
      "affects": [
        {
          "ref": "pkg:deb/debian/xz-utils@5.6.0"
        }
      ],
      "properties": [
        {
          "name": "bulwark:exception:id",
          "value": "7"
        },
        {
          "name": "bulwark:exception:kind",
          "value": "cve"
        },
        {
          "name": "bulwark:exception:target",
          "value": "CVE-2024-3094"
        },
        {
          "name": "bulwark:exception:justification",
          "value": "risk_accepted"
        },
        {
          "name": "bulwark:exception:scope",
          "value": "deviceGroups"
        },
        {
          "name": "bulwark:exception:deviceGroup",
          "value": "web"
        },
        {
          "name": "bulwark:exception:expiresAt",
          "value": "2024-02-12T22:13:20Z"
        },
        {
          "name": "bulwark:exception:createdBy",
          "value": "ana@example.com"
        },
        {
          "name": "bulwark:exception:createdAt",
          "value": "2023-11-14T22:13:20Z"
        },
        {
          "name": "bulwark:exception:status",
          "value": "InEffect"
        }
      ]
    }
  ]
}
"#;
    let serial = doc.json.split('"').nth(11).unwrap().to_string();
    assert!(serial.starts_with("urn:uuid:"), "{serial}");
    assert_eq!(
        doc.json.replace(&serial, "urn:uuid:SERIAL"),
        expected,
        "{}",
        doc.json
    );
}

#[test]
fn openvex_export_is_the_documented_shape() {
    let e = exception(
        8,
        TargetKind::Cve,
        "CVE-2023-44487",
        Justification::AlternateMitigation,
        None,
    );
    let mut m = meta(day(1));
    m.document_id = Some("urn:uuid:6f1a2b4c-0000-8000-8000-000000000001".to_string());
    let doc = vex::write_openvex(&[statement(e, &["GHSA-qppj-fm5r-hxr3"], &[])], &m);
    let expected = r#"{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "urn:uuid:6f1a2b4c-0000-8000-8000-000000000001",
  "author": "Acme SecOps",
  "timestamp": "2023-11-15T22:13:20Z",
  "version": 1,
  "tooling": "Bulwark 0.1.0",
  "statements": [
    {
      "vulnerability": {
        "name": "CVE-2023-44487"
      },
      "timestamp": "2023-11-14T22:13:20Z",
      "status": "not_affected",
      "justification": "inline_mitigations_already_exist",
      "impact_statement": "context of exception 8",
      "bulwark:exception": {
        "id": 8,
        "kind": "cve",
        "target": "CVE-2023-44487",
        "justification": "alternate_mitigation",
        "scope": "global",
        "expiresAt": "2024-02-12T22:13:20Z",
        "createdBy": "ana@example.com",
        "createdAt": "2023-11-14T22:13:20Z",
        "status": "InEffect"
      }
    },
    {
      "vulnerability": {
        "name": "GHSA-qppj-fm5r-hxr3"
      },
      "timestamp": "2023-11-14T22:13:20Z",
      "status": "not_affected",
      "justification": "inline_mitigations_already_exist",
      "impact_statement": "context of exception 8",
      "bulwark:exception": {
        "id": 8,
        "kind": "cve",
        "target": "CVE-2023-44487",
        "justification": "alternate_mitigation",
        "scope": "global",
        "expiresAt": "2024-02-12T22:13:20Z",
        "createdBy": "ana@example.com",
        "createdAt": "2023-11-14T22:13:20Z",
        "status": "InEffect"
      }
    }
  ]
}
"#;
    assert_eq!(doc.json, expected, "{}", doc.json);
}

/// The standard fields each justification is written with, in both formats.
#[test]
fn justification_mapping_table() {
    let rows: Vec<String> = ALL_JUSTIFICATIONS
        .iter()
        .map(|&j| {
            let e = exception(1, TargetKind::Cve, "CVE-2024-1", j, None);
            let s = [statement(e, &[], &[])];
            let cdx: serde_json::Value =
                serde_json::from_str(&vex::write_cyclonedx(&s, &meta(day(1))).json).unwrap();
            let ovx: serde_json::Value =
                serde_json::from_str(&vex::write_openvex(&s, &meta(day(1))).json).unwrap();
            let a = &cdx["vulnerabilities"][0]["analysis"];
            let st = &ovx["statements"][0];
            format!(
                "{} → {} {} {} | {} {} {}",
                j.as_str(),
                a["state"],
                a["justification"],
                a["response"],
                st["status"],
                st["justification"],
                st["action_statement"]
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            r#"third_party_control → "not_affected" "protected_by_mitigating_control" null | "not_affected" "inline_mitigations_already_exist" null"#,
            r#"alternate_mitigation → "not_affected" "protected_by_mitigating_control" null | "not_affected" "inline_mitigations_already_exist" null"#,
            r#"risk_accepted → "exploitable" null ["will_not_fix"] | "affected" null "Risk accepted: no remediation until 2024-02-12T22:13:20Z.""#,
            r#"planned_remediation → "exploitable" null ["update"] | "affected" null "Planned remediation until 2024-02-12T22:13:20Z.""#,
            r#"cve_no_patch → "exploitable" null ["can_not_fix"] | "affected" null "No patch is available; the exception is reviewed when one appears and ends 2024-02-12T22:13:20Z.""#,
            r#"false_positive → "false_positive" null null | "not_affected" "vulnerable_code_not_present" null"#,
        ]
    );
}

/// Every justification, both scopes, a recommendation exception over several CVEs, a canceled group:
/// both formats re-import to the same exceptions.
#[test]
fn both_formats_round_trip_to_the_same_exceptions() {
    let mut partly_canceled = exception(
        5,
        TargetKind::Recommendation,
        "va-_-PyPI-_-django",
        Justification::ThirdPartyControl,
        Some(&["db", "web"]),
    );
    partly_canceled.groups[0].canceled_by = Some("bo@example.com".to_string());
    partly_canceled.groups[0].canceled_at = Some(day(1));
    let mut statements = vec![
        statement(
            partly_canceled,
            &["CVE-2024-27351", "GHSA-vm8q-m57g-pff3"],
            &["pkg:pypi/django@4.2.0"],
        ),
        statement(
            exception(
                6,
                TargetKind::Recommendation,
                "scid-2011",
                Justification::RiskAccepted,
                None,
            ),
            &[],
            &[],
        ),
    ];
    for (i, j) in ALL_JUSTIFICATIONS.into_iter().enumerate() {
        let groups: Option<&[&str]> = if i % 2 == 0 {
            None
        } else {
            Some(&["web, frontend", "global"])
        };
        let e = exception(
            10 + i as i64,
            TargetKind::Cve,
            &format!("CVE-2024-{}", 1000 + i),
            j,
            groups,
        );
        statements.push(statement(e, &[], &["npm/left-pad"]));
    }
    let mut expected: Vec<Essentials> = statements
        .iter()
        .filter(|s| s.exception.id != 6)
        .map(|s| essentials_of_exception(&s.exception))
        .collect();
    // The group canceled before the export is not proposed again.
    expected[0].4 = Some(vec!["web".to_string()]);

    let cdx = vex::write_cyclonedx(&statements, &meta(day(2)));
    let ovx = vex::write_openvex(&statements, &meta(day(2)));
    for (doc, format) in [
        (&cdx, ImportFormat::CycloneDxVex),
        (&ovx, ImportFormat::OpenVex),
    ] {
        assert_eq!(
            doc.left_out,
            [(
                6,
                "recommendation exception on scid-2011 covers no vulnerability id; VEX speaks only \
                 of vulnerabilities"
                    .to_string()
            )]
        );
        let import = read("export.json", &doc.json);
        assert_eq!(import.format, format);
        assert!(import.skipped.is_empty(), "{:?}", import.skipped);
        let got: Vec<Essentials> = import.proposals.iter().map(essentials).collect();
        assert_eq!(got, expected, "{}", format.name());
        // The two entries of the recommendation exception make one proposal.
        assert_eq!(import.proposals[0].products, ["pkg:pypi/django@4.2.0"]);
    }
    assert_eq!(
        vex::detect(cdx.json.as_bytes()),
        Some(ImportFormat::CycloneDxVex)
    );
    assert_eq!(
        vex::detect(ovx.json.as_bytes()),
        Some(ImportFormat::OpenVex)
    );
    assert_eq!(vex::detect(b"{\"bomFormat\": \"SPDX\"}"), None);
}

#[test]
fn exports_are_deterministic_and_canceled_or_expired_exceptions_do_not_come_back() {
    let mut canceled = exception(
        1,
        TargetKind::Cve,
        "CVE-2024-1",
        Justification::RiskAccepted,
        None,
    );
    canceled.canceled_at = Some(day(1));
    canceled.canceled_by = Some("bo@example.com".to_string());
    let expired = exception(
        2,
        TargetKind::Cve,
        "CVE-2024-2",
        Justification::CveNoPatch,
        None,
    );
    let live = exception(
        3,
        TargetKind::Cve,
        "CVE-2024-3",
        Justification::FalsePositive,
        None,
    );
    let statements = [
        statement(canceled, &[], &[]),
        statement(expired, &[], &[]),
        statement(live, &[], &[]),
    ];
    // Day 100: after the 90-day expiry of all three.
    let at = day(100);
    let a = vex::write_cyclonedx(&statements, &meta(at));
    assert_eq!(
        a,
        vex::write_cyclonedx(&statements, &meta(at)),
        "same input, same document"
    );
    assert_ne!(
        a.json,
        vex::write_cyclonedx(&statements, &meta(at + Duration::seconds(1))).json,
        "another time, another document"
    );
    for doc in [a, vex::write_openvex(&statements, &meta(at))] {
        let import = read("old.json", &doc.json);
        assert!(import.proposals.is_empty());
        let list = if doc.json.contains("bomFormat") {
            "vulnerabilities"
        } else {
            "statements"
        };
        assert_eq!(
            show_skipped(&import),
            [
                format!("old.json: {list}[0]: exception 1 was Canceled when exported"),
                format!("old.json: {list}[1]: exception 2 was Expired when exported"),
                format!("old.json: {list}[2]: exception 3 was Expired when exported"),
            ]
        );
    }
}

fn arb_exception(id: i64) -> impl Strategy<Value = VexStatement> {
    let kind = prop_oneof![Just(TargetKind::Cve), Just(TargetKind::Recommendation)];
    (
        kind,
        "CVE-20[0-9]{2}-[0-9]{4,6}",
        "[a-zA-Z0-9_.-]{1,24}",
        0..6usize,
        "\\PC{1,60}",
        proptest::option::of(proptest::collection::btree_set("[\\PC]{1,12}", 1..4)),
        (0i64..100 * 86_400, 0u32..1_000_000_000),
        (1i64..365 * 86_400, 0u32..1_000_000_000),
        "[a-z]{1,8}@example\\.com",
        proptest::collection::vec("(CVE|GHSA)-[0-9]{4}-[0-9a-z]{4,6}", 0..3),
        proptest::collection::vec("pkg:npm/[a-z]{1,8}@1\\.[0-9]", 0..3),
    )
        .prop_filter_map(
            "a valid exception",
            move |(
                kind,
                cve,
                recommendation,
                j,
                context,
                groups,
                created,
                lasts,
                by,
                mut vulnerabilities,
                products,
            )| {
                let justification = ALL_JUSTIFICATIONS
                    .into_iter()
                    .filter(|j| j.allowed_on(kind))
                    .cycle()
                    .nth(j)?;
                let context = context.trim().to_string();
                let groups: Option<Vec<String>> = groups.map(|g| {
                    g.into_iter()
                        .map(|g| g.trim().to_string())
                        .filter(|g| !g.is_empty())
                        .collect()
                });
                if context.is_empty() || groups.as_ref().is_some_and(|g| g.is_empty()) {
                    return None;
                }
                let target = match kind {
                    TargetKind::Cve => cve,
                    TargetKind::Recommendation => {
                        vulnerabilities.push(cve);
                        recommendation
                    }
                };
                // Created in the 100 days before the document (day 100), expiring after it.
                let created_at = day(0)
                    + Duration::seconds(created.0)
                    + Duration::nanoseconds(i64::from(created.1));
                let expires_at = day(100)
                    + Duration::seconds(lasts.0)
                    + Duration::nanoseconds(i64::from(lasts.1));
                let mut exception = exception(id, kind, &target, justification, None);
                exception.context = context;
                exception.global = groups.is_none();
                exception.groups = groups
                    .unwrap_or_default()
                    .into_iter()
                    .map(|name| ExceptionGroup {
                        name,
                        canceled_by: None,
                        canceled_at: None,
                    })
                    .collect();
                exception.created_by = by;
                exception.created_at = created_at;
                exception.expires_at = expires_at;
                Some(VexStatement {
                    exception,
                    vulnerabilities,
                    products,
                })
            },
        )
}

fn arb_statements() -> impl Strategy<Value = Vec<VexStatement>> {
    (1usize..6).prop_flat_map(|n| (0..n as i64).map(arb_exception).collect::<Vec<_>>())
}

proptest! {
    #[test]
    fn any_export_reimports_to_the_same_exceptions(statements in arb_statements()) {
        let expected: Vec<Essentials> =
            statements.iter().map(|s| essentials_of_exception(&s.exception)).collect();
        for doc in [
            vex::write_cyclonedx(&statements, &meta(day(100))),
            vex::write_openvex(&statements, &meta(day(100))),
        ] {
            prop_assert!(doc.left_out.is_empty());
            let import = vex::read_vex("p.json", doc.json.as_bytes()).unwrap();
            prop_assert!(import.skipped.is_empty(), "{:?}", import.skipped);
            let got: Vec<Essentials> = import.proposals.iter().map(essentials).collect();
            prop_assert_eq!(&got, &expected);
            for (p, s) in import.proposals.iter().zip(&statements) {
                prop_assert_eq!(&p.products, &s.products);
            }
        }
    }
}

const CDX_VEX: &str = "inventories/cyclonedx-bom-examples/VEX";

/// Reads a CycloneDX VEX example from the shared data (`None`: the data is absent and the test skips).
fn example(relative: &str) -> Option<VexImport> {
    let path = bulwark_testdata::shared_file(&format!("{CDX_VEX}/{relative}"))?;
    let bytes = std::fs::read(&path).expect("read example");
    let import = vex::read_vex(relative, &bytes).unwrap_or_else(|e| panic!("{relative}: {e}"));
    assert_eq!(import.format, ImportFormat::CycloneDxVex);
    Some(import)
}

#[test]
fn cyclonedx_vex_examples_map_back_by_the_inverse_table() {
    let Some(vex_json) = example("vex.json") else {
        return;
    };
    assert_eq!(
        show(&vex_json),
        [
            "vex.json: vulnerabilities[0] CVE-2020-25649 false_positive [global] - | Automated dataflow \
          analysis and manual code review indicates that the vulnerable code is not reachable, \
          either directly or indirectly. | urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#pkg:maven/\
          com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar"
        ]
    );

    // not_affected + code_not_reachable, exploitable + will_not_fix/update, protected_by_mitigating_control.
    let case12 = example("Use-Cases/Case-12/vex.json").unwrap();
    assert_eq!(
        show(&case12),
        [
            "Use-Cases/Case-12/vex.json: vulnerabilities[0] CVE-2020-25649 false_positive [global] - | \
             Automated dataflow analysis and manual code review indicates that the vulnerable code \
             is not reachable, either directly or indirectly. | acme-product",
            "Use-Cases/Case-12/vex.json: vulnerabilities[1] CVE-2020-35491 risk_accepted [global] - | \
             Update to Acme Product v2.4.0 or higher | acme-product",
            "Use-Cases/Case-12/vex.json: vulnerabilities[2] CVE-2020-14195 alternate_mitigation \
             [global] - | Vulnerability is not exploitable due to existing mitigating controls that \
             prevent user-controlled input from being passed to JNDI. | acme-product",
        ]
    );
    assert!(case12.skipped.is_empty());

    let case3 = example("Use-Cases/Case-3/vex.json").unwrap();
    assert!(case3.proposals.is_empty());
    assert_eq!(
        show_skipped(&case3),
        [
            "Use-Cases/Case-3/vex.json: vulnerabilities[0]: CVE-2020-25649 is in triage: no decision to record"
        ]
    );

    // An exploitable entry without a response is no decision; the not_affected one is proposed.
    let case5 = example("Use-Cases/Case-5/vex.json").unwrap();
    assert_eq!(
        show_skipped(&case5),
        [
            "Use-Cases/Case-5/vex.json: vulnerabilities[0]: CVE-2020-25649 is exploitable and gives no \
          response: no decision to record"
        ]
    );
    assert_eq!(case5.proposals.len(), 1);
    assert_eq!(
        case5.proposals[0].justification,
        Justification::FalsePositive
    );

    // BOM-links to three products in other BOMs are kept for the reviewer.
    let case6 = example("Use-Cases/Case-6/vex.json").unwrap();
    assert_eq!(
        case6.proposals[0].products,
        [
            "urn:cdx:2c385cf7-e1ee-46e9-a51c-13de1ecb380a/1#acme-product-1",
            "urn:cdx:6ffac0b2-5246-4fb9-a6fe-7993041856a0/1#acme-product-2",
            "urn:cdx:240b5b0b-917d-4f48-816c-97e1944d8079/1#acme-product-3",
        ]
    );

    // 19 CVEs (AMNESIA:33), all not_affected.
    let case11 = example("Use-Cases/Case-11/vex.json").unwrap();
    assert_eq!(case11.proposals.len(), 19);
    assert_eq!(case11.proposals[18].target, "CVE-2020-11914");
    assert!(
        case11
            .proposals
            .iter()
            .all(|p| p.justification == Justification::FalsePositive && p.groups.is_none())
    );
}

#[test]
fn cisa_vex_examples_skip_what_is_not_a_decision() {
    let Some(case3) = example("CISA-Use-Cases/Case-3/vex.json") else {
        return;
    };
    // in_triage ×5, exploitable without a response ×5, resolved ×3 skipped; code_not_present ×6 proposed.
    assert_eq!(
        case3
            .proposals
            .iter()
            .map(|p| p.target.as_str())
            .collect::<Vec<_>>(),
        [
            "CVE-2020-11897",
            "CVE-2020-11899",
            "CVE-2020-11902",
            "CVE-2020-11905",
            "CVE-2020-11906",
            "CVE-2020-11913"
        ]
    );
    assert_eq!(
        case3.proposals[4].context,
        "This code was re-written. The vulnerable code is not present."
    );
    assert_eq!(case3.skipped.len(), 13);
    assert_eq!(
        show_skipped(&case3)[..3],
        [
            "CISA-Use-Cases/Case-3/vex.json: vulnerabilities[0]: CVE-2020-11896 is in triage: no \
             decision to record",
            "CISA-Use-Cases/Case-3/vex.json: vulnerabilities[2]: CVE-2020-11898 is exploitable and \
             gives no response: no decision to record",
            "CISA-Use-Cases/Case-3/vex.json: vulnerabilities[4]: CVE-2020-11900 is in triage: no \
             decision to record",
        ]
    );
    assert_eq!(
        show_skipped(&case3)[3],
        "CISA-Use-Cases/Case-3/vex.json: vulnerabilities[5]: CVE-2020-11901 is resolved: nothing to \
         except"
    );

    // Log4Shell across products: the first statement decides, the later ones on the same CVE are
    // reported, because a Bulwark exception covers the CVE on every product.
    let case7 = example("CISA-Use-Cases/Case-7/vex.json").unwrap();
    assert_eq!(
        show(&case7),
        [
            "CISA-Use-Cases/Case-7/vex.json: vulnerabilities[0] CVE-2021-44228 risk_accepted [global] - \
          | Versions of Products ABC and JKL are affected by the vulnerability. Customers are advised \
          to upgrade to the latest releases. | urn:cdx:cbb2cd68-2857-43b8-a10b-e8c03d277d18/1#\
          product-ABC urn:cdx:e4c3eedc-4978-470c-ad02-6ffff63738ff/1#product-JKL"
        ]
    );
    assert_eq!(
        show_skipped(&case7),
        [
            "CISA-Use-Cases/Case-7/vex.json: vulnerabilities[1]: CVE-2021-44228 is already proposed \
             from vulnerabilities[0] (a Bulwark exception covers it on every product)",
            "CISA-Use-Cases/Case-7/vex.json: vulnerabilities[2]: CVE-2021-44228 is already proposed \
             from vulnerabilities[0] (a Bulwark exception covers it on every product)",
            "CISA-Use-Cases/Case-7/vex.json: vulnerabilities[3]: CVE-2021-44228 is resolved: nothing \
             to except",
        ]
    );

    let not_affected = example("CISA-Use-Cases/Case-1/vex-not_affected.json").unwrap();
    assert_eq!(
        essentials(&not_affected.proposals[0]),
        (
            TargetKind::Cve,
            "CVE-2021-44228".to_string(),
            Justification::FalsePositive,
            "This version of Product ABC is not affected by the vulnerability. Class with \
             vulnerable code was removed before shipping."
                .to_string(),
            None,
            None,
            None
        )
    );
    let fixed = example("CISA-Use-Cases/Case-1/vex-fixed.json").unwrap();
    assert!(fixed.proposals.is_empty());
    assert_eq!(
        show_skipped(&fixed),
        [
            "CISA-Use-Cases/Case-1/vex-fixed.json: vulnerabilities[0]: CVE-2021-44228 is resolved: \
          nothing to except"
        ]
    );
}

/// Every VEX example of the collection reads; the totals pin what the inverse table makes of them.
#[test]
fn every_cyclonedx_vex_example_reads() {
    let Some(root) = bulwark_testdata::shared_file(CDX_VEX) else {
        return;
    };
    let mut files = Vec::new();
    for dir in ["Use-Cases", "CISA-Use-Cases"] {
        for case in std::fs::read_dir(root.join(dir)).unwrap() {
            let case = case.unwrap().path();
            if !case.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&case).unwrap() {
                let f = f.unwrap().path();
                let name = f.file_name().unwrap().to_string_lossy().to_string();
                if name.starts_with("vex") && name.ends_with(".json") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 24);
    let (mut proposals, mut skipped) = (0, 0);
    for f in &files {
        let import = vex::read_vex(&f.display().to_string(), &std::fs::read(f).unwrap())
            .unwrap_or_else(|e| panic!("{e}"));
        proposals += import.proposals.len();
        skipped += import.skipped.len();
    }
    assert_eq!((proposals, skipped), (82, 29));
}

/// An OpenVEX document from elsewhere (written from the OpenVEX 0.2.0 specification's examples),
/// including a 0.0.x-style statement whose vulnerability and products are plain strings.
#[test]
fn openvex_from_elsewhere_maps_back_by_the_inverse_table() {
    let doc = r#"{
      "@context": "https://openvex.dev/ns/v0.2.0",
      "@id": "https://openvex.dev/docs/example/vex-9fb3463de1b57",
      "author": "Wolfi J Inkinson",
      "timestamp": "2023-01-08T18:02:03.647787998-06:00",
      "version": 1,
      "statements": [
        {"vulnerability": {"name": "cve-2023-12345"},
         "products": [{"@id": "pkg:apk/wolfi/git@2.39.0-r1?arch=armv7"},
                      {"identifiers": {"purl": "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64"}}],
         "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
         "impact_statement": "The vulnerable function is never called"},
        {"vulnerability": {"name": "CVE-2023-2222"}, "products": [{"@id": "pkg:oci/app"}],
         "status": "not_affected", "justification": "inline_mitigations_already_exist"},
        {"vulnerability": {"name": "CVE-2023-3333"}, "products": [{"@id": "pkg:oci/app"}],
         "status": "affected", "action_statement": "Upgrade to 2.0 when it ships"},
        {"vulnerability": {"name": "CVE-2023-4444"}, "status": "fixed"},
        {"vulnerability": {"name": "CVE-2023-5555"}, "status": "under_investigation"},
        {"vulnerability": {"name": "CVE-2023-6666"}, "status": "not_affected",
         "justification": "because_we_say_so"},
        {"vulnerability": "GHSA-aaaa-bbbb-cccc", "products": ["pkg:golang/example.com/mod"],
         "status": "not_affected"},
        {"products": [{"@id": "pkg:oci/app"}], "status": "affected"}
      ]
    }"#;
    let import = read("vendor.openvex.json", doc);
    assert_eq!(import.format, ImportFormat::OpenVex);
    assert_eq!(
        show(&import),
        [
            "vendor.openvex.json: statements[0] CVE-2023-12345 false_positive [global] - | The \
             vulnerable function is never called | pkg:apk/wolfi/git@2.39.0-r1?arch=armv7 \
             pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64",
            "vendor.openvex.json: statements[1] CVE-2023-2222 alternate_mitigation [global] - | \
             imported from vendor.openvex.json: statements[1] (not_affected, \
             inline_mitigations_already_exist) | pkg:oci/app",
            "vendor.openvex.json: statements[2] CVE-2023-3333 risk_accepted [global] - | Upgrade to \
             2.0 when it ships | pkg:oci/app",
            "vendor.openvex.json: statements[6] GHSA-aaaa-bbbb-cccc false_positive [global] - | \
             imported from vendor.openvex.json: statements[6] (not_affected) | \
             pkg:golang/example.com/mod",
        ]
    );
    assert_eq!(
        show_skipped(&import),
        [
            "vendor.openvex.json: statements[3]: CVE-2023-4444 is fixed: nothing to except",
            "vendor.openvex.json: statements[4]: CVE-2023-5555 is under investigation: no decision \
             to record",
            "vendor.openvex.json: statements[5]: CVE-2023-6666 is not_affected with an unknown \
             justification `because_we_say_so`",
            "vendor.openvex.json: statements[7]: no vulnerability name",
        ]
    );
}

/// Trivy's `.trivyignore.yaml`, as its documentation shows it: ids with statements, an expiry, paths
/// and purls; misconfigurations, secrets and licenses are not vulnerabilities.
#[test]
fn trivyignore_yaml_entries_become_proposals() {
    let file = br#"vulnerabilities:
  - id: CVE-2022-40897
    paths:
      - "usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA"
    statement: Accept the risk
  - id: cve-2023-3817
    purls:
      - "pkg:deb/debian/libssl1.1"
    expired_at: 2024-08-20
  - id: GHSA-m425-mq94-257g
    expired_at: 2025-01-31T12:00:00+02:00
    statement: "  "
  - id: CVE-2022-40897
    paths: ["another/path"]
misconfigurations:
  - id: AVD-DS-0002
    statement: the container runs as root on purpose
secrets:
  - id: aws-access-key-id
licenses:
"#;
    let import = vex::read_ignore_file("repo/.trivyignore.yaml", file).unwrap();
    assert_eq!(import.format, ImportFormat::Ignore(IgnoreFormat::TrivyYaml));
    assert_eq!(
        show(&import),
        [
            "repo/.trivyignore.yaml: vulnerabilities[0] CVE-2022-40897 risk_accepted [global] - | \
             Accept the risk | usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA",
            "repo/.trivyignore.yaml: vulnerabilities[1] CVE-2023-3817 risk_accepted [global] \
             2024-08-20T00:00:00+00:00 | imported from repo/.trivyignore.yaml | pkg:deb/debian/libssl1.1",
            "repo/.trivyignore.yaml: vulnerabilities[2] GHSA-m425-mq94-257g risk_accepted [global] \
             2025-01-31T10:00:00+00:00 | imported from repo/.trivyignore.yaml | ",
        ]
    );
    assert_eq!(
        show_skipped(&import),
        [
            "repo/.trivyignore.yaml: vulnerabilities[3]: CVE-2022-40897 is already proposed from \
             vulnerabilities[0] (a Bulwark exception covers it on every product)",
            "repo/.trivyignore.yaml: misconfigurations[0]: AVD-DS-0002: a Trivy misconfiguration \
             check, not a vulnerability (configuration exceptions are made on Bulwark's own \
             recommendations)",
            "repo/.trivyignore.yaml: secrets[0]: aws-access-key-id: a Trivy secret rule, not a \
             vulnerability",
        ]
    );
}

/// OSV-Scanner's configuration, as its documentation shows it: a TOML date, a quoted date, a
/// multi-line reason, and a package override.
#[test]
fn osv_scanner_ignored_vulns_become_proposals() {
    let file = br#"# osv-scanner configuration
[[IgnoredVulns]]
id = "GO-2022-0968"
ignoreUntil = 2022-11-09
reason = "No ssh servers are connected to or hosted in Go lang"

[[IgnoredVulns]]
id = "GHSA-h452-7996-h45h"
ignoreUntil = "2027-06-01"
reason = """
Cookie not used.
"""

[[IgnoredVulns]]
id = "RUSTSEC-2025-0047"
ignoreUntil = 2025-03-01T09:30:00Z

[[PackageOverrides]]
name = "lib"
ecosystem = "Go"
ignore = true
"#;
    let import = vex::read_ignore_file("osv-scanner.toml", file).unwrap();
    assert_eq!(
        import.format,
        ImportFormat::Ignore(IgnoreFormat::OsvScanner)
    );
    assert_eq!(
        show(&import),
        [
            "osv-scanner.toml: line 3 GO-2022-0968 risk_accepted [global] 2022-11-09T00:00:00+00:00 \
             | No ssh servers are connected to or hosted in Go lang | ",
            "osv-scanner.toml: line 8 GHSA-h452-7996-h45h risk_accepted [global] \
             2027-06-01T00:00:00+00:00 | Cookie not used. | ",
            "osv-scanner.toml: line 15 RUSTSEC-2025-0047 risk_accepted [global] \
             2025-03-01T09:30:00+00:00 | imported from osv-scanner.toml | ",
        ]
    );
    assert_eq!(
        show_skipped(&import),
        [
            "osv-scanner.toml: line 18: package override lib: ignores a package, not a vulnerability \
          (a recommendation exception on the product is Bulwark's equivalent)"
        ]
    );
}

/// cargo-deny's `[advisories] ignore`, as its documentation shows it: bare ids, tables with reasons,
/// and yanked-crate entries (not advisories).
#[test]
fn cargo_deny_ignores_become_proposals() {
    let file = br#"[graph]
all-features = true

[advisories]
version = 2
ignore = [
    "RUSTSEC-2024-0436",
    { id = "RUSTSEC-2024-0370", reason = "proc-macro-error is only unmaintained" },
    "crate@0.1",
    { crate = "yanked", reason = "a new version has not been released" },
    { id = "CVE-2024-0001" },
]

[licenses]
allow = ["MIT"]
"#;
    let import = vex::read_ignore_file("deny.toml", file).unwrap();
    assert_eq!(import.format, ImportFormat::Ignore(IgnoreFormat::CargoDeny));
    assert_eq!(
        show(&import),
        [
            "deny.toml: line 7 RUSTSEC-2024-0436 risk_accepted [global] - | imported from deny.toml | ",
            "deny.toml: line 8 RUSTSEC-2024-0370 risk_accepted [global] - | proc-macro-error is only \
             unmaintained | ",
            "deny.toml: line 11 CVE-2024-0001 risk_accepted [global] - | imported from deny.toml | ",
        ]
    );
    assert_eq!(
        show_skipped(&import),
        [
            "deny.toml: line 9: crate crate@0.1: a yanked-crate ignore, not an advisory",
            "deny.toml: line 10: crate yanked: a yanked-crate ignore, not an advisory",
        ]
    );
    // A deny.toml without an advisories section proposes nothing.
    let none =
        vex::read_ignore_file("deny.toml", b"[bans]\nmultiple-versions = \"warn\"\n").unwrap();
    assert!(none.proposals.is_empty() && none.skipped.is_empty());
}

/// Grype's ignore rules, as its README shows them.
#[test]
fn grype_ignore_rules_become_proposals() {
    let file = br#"output: table
ignore:
  - vulnerability: CVE-2008-4318
    fix-state: unknown
    reason: the affected code path is not reachable
    package:
      name: libcurl
      version: 1.5.1
      type: npm
      location: "/usr/local/lib/node_modules/**"
  - fix-state: wont-fix
  - package:
      type: apk
"#;
    let import = vex::read_ignore_file("ci/.grype.yaml", file).unwrap();
    assert_eq!(import.format, ImportFormat::Ignore(IgnoreFormat::Grype));
    assert_eq!(
        show(&import),
        [
            "ci/.grype.yaml: ignore[0] CVE-2008-4318 risk_accepted [global] - | the affected code path \
          is not reachable | npm/libcurl@1.5.1 /usr/local/lib/node_modules/**"
        ]
    );
    assert_eq!(
        show_skipped(&import),
        [
            "ci/.grype.yaml: ignore[1]: the rule matches by fix state wont-fix, not by a \
             vulnerability id",
            "ci/.grype.yaml: ignore[2]: the rule matches by package, not by a vulnerability id",
        ]
    );
}

#[test]
fn ignore_files_are_detected_by_name_then_content() {
    let cases: [(&str, &[u8], Option<IgnoreFormat>); 7] = [
        ("x/.trivyignore.yml", b"", Some(IgnoreFormat::TrivyYaml)),
        (
            "custom.yaml",
            b"vulnerabilities:\n  - id: CVE-1\n",
            Some(IgnoreFormat::TrivyYaml),
        ),
        (
            "config.toml",
            b"[[IgnoredVulns]]\nid = \"X-1\"\n",
            Some(IgnoreFormat::OsvScanner),
        ),
        ("ci\\.cargo\\deny.toml", b"", Some(IgnoreFormat::CargoDeny)),
        (
            "policy.toml",
            b"[advisories]\nignore = []\n",
            Some(IgnoreFormat::CargoDeny),
        ),
        (
            "scan.yaml",
            b"ignore:\n  - vulnerability: CVE-1\n",
            Some(IgnoreFormat::Grype),
        ),
        ("README.md", b"# hello\n", None),
    ];
    for (name, bytes, format) in cases {
        assert_eq!(IgnoreFormat::detect(name, bytes), format, "{name}");
    }
    assert_eq!(
        ignore_error("README.md", b"# hello\n"),
        "README.md: unknown format: not a .trivyignore.yaml, osv-scanner.toml, deny.toml or \
         .grype.yaml (by name or content)"
    );
}

/// Malformed documents and files: each error names the file and the JSON path or line.
#[test]
fn malformed_input_names_the_place() {
    let vex_cases: [(&[u8], &str); 12] = [
        (b"", "e.json: unknown format: not JSON; CycloneDX VEX (JSON) and OpenVEX documents are read"),
        (
            b"{\"bomFormat\": \"CycloneDX\", \"vulnerabilities\": [",
            "e.json: line 1, column 47: EOF while parsing a list",
        ),
        (
            b"{\"bomFormat\": \"CycloneDX\"}",
            "e.json: unknown format: a CycloneDX document without `vulnerabilities` is a BOM, not VEX",
        ),
        (
            b"{\"@context\": \"https://example.com/ns\"}",
            "e.json: unknown format: @context `https://example.com/ns` is not OpenVEX's \
             (https://openvex.dev/ns…)",
        ),
        (
            b"{\"spdxVersion\": \"SPDX-2.3\"}",
            "e.json: unknown format: neither `bomFormat: CycloneDX` nor an OpenVEX `@context`",
        ),
        (
            br#"{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "affects": [{"ref": 5}]}]}"#,
            "e.json: $.vulnerabilities[0].affects[0].ref: invalid type: integer `5`, expected a string",
        ),
        (
            br#"{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "properties": [
                {"name": "bulwark:exception:id", "value": "12"},
                {"name": "bulwark:exception:kind", "value": "cve"},
                {"name": "bulwark:exception:target", "value": "CVE-1"},
                {"name": "bulwark:exception:justification", "value": "because"}]}]}"#,
            "e.json: $.vulnerabilities[0].properties[3].value: `because` is not a Bulwark justification",
        ),
        (
            br#"{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "properties": [
                {"name": "bulwark:exception:id", "value": "12"}]}]}"#,
            "e.json: $.vulnerabilities[0].properties: no bulwark:exception:kind property (Bulwark \
             facts name it)",
        ),
        (
            br#"{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "properties": [
                {"name": "bulwark:exception:id", "value": "12"},
                {"name": "bulwark:exception:kind", "value": "cve"},
                {"name": "bulwark:exception:target", "value": "CVE-1"},
                {"name": "bulwark:exception:justification", "value": "risk_accepted"},
                {"name": "bulwark:exception:scope", "value": "deviceGroups"},
                {"name": "bulwark:exception:expiresAt", "value": "2025-01-01"}]}]}"#,
            "e.json: $.vulnerabilities[0].properties[4].value: a device-group exception names at \
             least one bulwark:exception:deviceGroup property",
        ),
        (
            br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "affected",
                "bulwark:exception": {"id": 3, "kind": "cve", "target": "CVE-1", "justification":
                "risk_accepted", "scope": "global", "expiresAt": "next year"}}]}"#,
            "e.json: $.statements[0].bulwark:exception.expiresAt: `next year` is not an RFC 3339 time",
        ),
        (
            br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "affected",
                "bulwark:exception": {"id": "3"}}]}"#,
            "e.json: $.statements[0].bulwark:exception.id: invalid type: string \"3\", expected i64",
        ),
        (
            br#"{"bomFormat": "CycloneDX", "vulnerabilities": [
                {"id": "CVE-1", "analysis": {"state": "false_positive", "detail": "a"}, "properties": [
                  {"name": "bulwark:exception:id", "value": "1"}, {"name": "bulwark:exception:kind", "value": "cve"},
                  {"name": "bulwark:exception:target", "value": "CVE-1"},
                  {"name": "bulwark:exception:justification", "value": "false_positive"},
                  {"name": "bulwark:exception:scope", "value": "global"},
                  {"name": "bulwark:exception:expiresAt", "value": "2025-01-01T00:00:00Z"}]},
                {"id": "CVE-2", "analysis": {"state": "false_positive", "detail": "b"}, "properties": [
                  {"name": "bulwark:exception:id", "value": "1"}, {"name": "bulwark:exception:kind", "value": "cve"},
                  {"name": "bulwark:exception:target", "value": "CVE-1"},
                  {"name": "bulwark:exception:justification", "value": "false_positive"},
                  {"name": "bulwark:exception:scope", "value": "global"},
                  {"name": "bulwark:exception:expiresAt", "value": "2025-01-01T00:00:00Z"}]}]}"#,
            "e.json: vulnerabilities[1]: exception 1 is described differently here than at \
             vulnerabilities[0]",
        ),
    ];
    let (got, expected): (Vec<String>, Vec<&str>) = vex_cases
        .iter()
        .map(|(bytes, expected)| (vex_error("e.json", bytes), *expected))
        .unzip();
    assert_eq!(got, expected);

    let ignore_cases: [(&str, &[u8], &str); 8] = [
        (
            ".trivyignore.yaml",
            b"vulnerabilities:\n  - id: CVE-1\n    expired_at: someday\n",
            ".trivyignore.yaml: $.vulnerabilities[0].expired_at: `someday` is neither an RFC 3339 \
             time nor a YYYY-MM-DD date",
        ),
        (
            ".trivyignore.yaml",
            b"vulnerabilities:\n  - statement: no id\n",
            ".trivyignore.yaml: $.vulnerabilities[0]: missing field `id`",
        ),
        (
            ".trivyignore.yaml",
            b"vulnerabilities:\n  - id: \"CVE-1\n",
            ".trivyignore.yaml: line 3, column 1: found unexpected end of stream, while scanning a \
             quoted scalar",
        ),
        (
            "osv-scanner.toml",
            b"[[IgnoredVulns]]\nid = \"GO-1\"\nignoreUntil = 12\n",
            "osv-scanner.toml: line 3: ignoreUntil must be a date, not a integer",
        ),
        (
            "osv-scanner.toml",
            b"[[IgnoredVulns]]\nreason = \"x\"\n",
            "osv-scanner.toml: line 1: missing field `id`",
        ),
        (
            "osv-scanner.toml",
            b"[[IgnoredVulns]]\nid = \"GO-1\"\nignoreUntil = \"soon\"\n",
            "osv-scanner.toml: line 3: `soon` is neither an RFC 3339 time nor a YYYY-MM-DD date",
        ),
        (
            "deny.toml",
            b"[advisories]\nignore = [\n  { reason = \"why\" },\n]\n",
            "deny.toml: line 3: an ignore entry names an advisory `id` or a `crate`",
        ),
        (
            "deny.toml",
            b"[advisories]\nignore = [\n  \"RUSTSEC-1\"\n  \"RUSTSEC-2\"\n]\n",
            "deny.toml: line 4: invalid array; expected `]`",
        ),
    ];
    let (got, expected): (Vec<String>, Vec<&str>) = ignore_cases
        .iter()
        .map(|(name, bytes, expected)| (ignore_error(name, bytes), *expected))
        .unzip();
    assert_eq!(got, expected);
}

/// Hostile sizes: over 16 MiB, more entries than read, ids longer than any real one, deep nesting.
#[test]
fn hostile_input_is_refused_with_a_clear_error() {
    let big = vec![b' '; MAX_INPUT_BYTES + 1];
    assert_eq!(
        vex_error("big.json", &big),
        "big.json: too large: 16777217 bytes exceeds the limit of 16777216 bytes"
    );
    assert!(matches!(
        vex::read_ignore_file("deny.toml", &big),
        Err(FormatError::TooLarge { .. })
    ));

    let many = format!(
        "{{\"bomFormat\": \"CycloneDX\", \"vulnerabilities\": [{}{{}}]}}",
        "{},".repeat(MAX_ENTRIES)
    );
    assert_eq!(
        vex_error("many.json", many.as_bytes()),
        "many.json: $.vulnerabilities: more than 100000 entries; Bulwark reads at most 100000"
    );
    let many = format!(
        "vulnerabilities:\n{}",
        "- id: CVE-1\n".repeat(MAX_ENTRIES + 1)
    );
    assert_eq!(
        ignore_error(".trivyignore.yaml", many.as_bytes()),
        ".trivyignore.yaml: $.vulnerabilities: more than 100000 entries; Bulwark reads at most 100000"
    );
    let many = format!(
        "[advisories]\nignore = [{}]\n",
        "\"RUSTSEC-1\",".repeat(MAX_ENTRIES + 1)
    );
    assert_eq!(
        ignore_error("deny.toml", many.as_bytes()),
        "deny.toml: line 2: more than 100000 entries; Bulwark reads at most 100000"
    );

    let long = format!(
        "{{\"bomFormat\": \"CycloneDX\", \"vulnerabilities\": [{{\"id\": \"CVE-{}\", \"analysis\": \
         {{\"state\": \"false_positive\"}}}}]}}",
        "9".repeat(300)
    );
    assert_eq!(
        vex_error("long.json", long.as_bytes()),
        "long.json: $.vulnerabilities[0].id: the id is 304 bytes long, more than the 256 allowed"
    );

    // Nesting where nothing is read is skipped without recursion; where a value is read, the first
    // wrong type stops it.
    let deep = format!(
        "{{\"bomFormat\": \"CycloneDX\", \"vulnerabilities\": [{{\"x\": {}{}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(
        show_skipped(&read("deep.json", &deep)),
        ["deep.json: vulnerabilities[0]: no vulnerability id"]
    );
    let deep = format!(
        "{{\"bomFormat\": \"CycloneDX\", \"vulnerabilities\": [{{\"analysis\": {{\"state\": {}{}}}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(
        vex_error("deep.json", deep.as_bytes()),
        "deep.json: $.vulnerabilities[0].analysis.state: invalid type: sequence, expected a string"
    );
    // Aliases: a billion laughs in members nobody reads is never expanded; a list repeated by aliases
    // where it is read stops at the document's entry budget.
    let laughs =
        b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nvulnerabilities: []\n";
    let import = vex::read_ignore_file(".trivyignore.yaml", laughs).unwrap();
    assert!(import.proposals.is_empty() && import.skipped.is_empty());
    let repeated = format!(
        "p: &p [{}]\nvulnerabilities:\n{}",
        "x,".repeat(MAX_ITEMS),
        "- {id: CVE-1, paths: *p}\n".repeat(200)
    );
    assert_eq!(
        ignore_error(".trivyignore.yaml", repeated.as_bytes()),
        ".trivyignore.yaml: $.vulnerabilities[99].paths: more than 1000000 list entries in the \
         document; Bulwark reads at most 1000000"
    );
}
