//! NVD CPE matching of software that carries a CPE name, on real NVD records: an SBOM component with
//! Apache Struts' CPE is found vulnerable to CVE-2017-5638 through NVD's configuration alone, an
//! unaffected version is not, and a distribution package is never judged by NVD's upstream ranges.
//! Components with a CPE and no purl are CPE-only software, matched the same way, and their
//! recommendations take the fixed version from NVD's `versionEndExcluding`.

use std::path::Path;
use std::sync::Arc;

use bulwark_core::recommendation::RemediationType;
use bulwark_core::{DeviceInfo, Ecosystem, SystemClock};
use bulwark_engine::{Engine, IngestRequest};

/// A CycloneDX SBOM of these components.
fn bom(components: Vec<serde_json::Value>) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": components,
    }))
    .unwrap()
}

/// A CycloneDX SBOM of components with a purl and a CPE name: (purl, CPE).
fn sbom(components: &[(&str, &str)]) -> Vec<u8> {
    bom(components
        .iter()
        .map(|(purl, cpe)| {
            serde_json::json!({
                "type": "library",
                "name": purl.rsplit('/').next().unwrap().split('@').next().unwrap(),
                "version": purl.rsplit('@').next().unwrap(),
                "purl": purl,
                "cpe": cpe,
            })
        })
        .collect())
}

/// A CycloneDX SBOM of components with a CPE name and no purl: (name, version, CPE).
fn cpe_only_sbom(components: &[(&str, &str, &str)]) -> Vec<u8> {
    bom(components
        .iter()
        .map(|(name, version, cpe)| {
            serde_json::json!({"type": "application", "name": name, "version": version, "cpe": cpe})
        })
        .collect())
}

/// An engine on a fresh store with the staged NVD records imported (Struts, curl, OpenSSH…).
async fn engine_with_nvd(data: &Path) -> (Engine, bulwark_store::testing::FreshDatabase) {
    let (store, database) = bulwark_store::testing::fresh_store().await.expect("store");
    let engine = Engine::open(store, Arc::new(SystemClock))
        .await
        .expect("engine");
    for dir in [
        "advisories/nvd/dependency-track-fixtures",
        "advisories/nvd/fkie-cad-cve",
    ] {
        let summary = engine
            .import(&data.join(dir), &|_| {})
            .await
            .expect("import");
        assert!(summary.errors.is_empty(), "{dir}: {:?}", summary.errors);
        assert!(summary.nvd.inserted > 0, "{dir}: {summary:?}");
    }
    (engine, database)
}

fn ingest(name: &str, bytes: Vec<u8>, os: Option<&str>) -> IngestRequest {
    IngestRequest {
        device: DeviceInfo {
            name: name.into(),
            os: os.map(Into::into),
            ..DeviceInfo::default()
        },
        file: format!("{name}.cdx.json"),
        bytes,
        format: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn software_with_a_cpe_is_matched_against_nvd_configurations() {
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let (engine, _database) = engine_with_nvd(&data).await;
    let summary = engine
        .ingest(ingest(
            "struts-app",
            sbom(&[
                (
                    "pkg:maven/org.apache.struts/struts2-core@2.3.5",
                    "cpe:2.3:a:apache:struts:2.3.5:*:*:*:*:*:*:*",
                ),
                (
                    "pkg:maven/org.apache.struts/struts2-json-plugin@2.3.7",
                    "cpe:2.3:a:apache:struts:2.3.7:*:*:*:*:*:*:*",
                ),
            ]),
            None,
        ))
        .await
        .expect("ingest");
    assert_eq!(summary.open_weaknesses, 1, "{summary:?}");
    let vulns = engine.machine_vulnerabilities("struts-app").await.unwrap();
    assert_eq!(vulns.len(), 1);
    assert_eq!(vulns[0].id, "CVE-2017-5638");
    assert_eq!(vulns[0].advisory_ids, ["NVD:CVE-2017-5638"]);
    // No OSV advisory rates it: the severity is NVD's (CVSS 3.x 10.0, Critical).
    assert_eq!(vulns[0].cvss_v3, Some(10.0));
    assert_eq!(vulns[0].severity, "Critical");
    let software = engine.machine_software("struts-app").await.unwrap();
    assert_eq!(software.len(), 2);

    // A Debian package named by OpenSSH's CPE, in a version inside NVD's regreSSHion range, is left to
    // Debian's own advisories: NVD's upstream ranges know nothing of backports.
    let deb = engine
        .ingest(ingest(
            "debian-host",
            sbom(&[(
                "pkg:deb/debian/openssh-server@1:9.2p1-2+deb12u2?distro=debian-12",
                "cpe:2.3:a:openbsd:openssh:9.2:p1:*:*:*:*:*:*",
            )]),
            Some("debian 12"),
        ))
        .await
        .expect("ingest");
    assert_eq!((deb.packages, deb.open_weaknesses), (1, 0), "{deb:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpe_only_software_is_matched_and_fixed_by_nvd_ranges() {
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let (engine, _database) = engine_with_nvd(&data).await;
    let struts = |v: &str| format!("cpe:2.3:a:apache:struts:{v}:*:*:*:*:*:*:*");
    // Struts 2.3.5, OpenSSH 9.2p1 and this curl; curl's CPE names no version, so the component's is
    // written into it.
    let host = |curl: &str| {
        cpe_only_sbom(&[
            ("struts", "2.3.5", &struts("2.3.5")),
            ("curl", curl, "cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*"),
            (
                "openssh",
                "9.2p1",
                "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*",
            ),
        ])
    };
    let summary = engine
        .ingest(ingest("cpe-only", host("8.0.1"), None))
        .await
        .expect("ingest");
    assert_eq!(
        (summary.packages, summary.open_weaknesses),
        (3, 3),
        "{summary:?}"
    );
    assert!(summary.notes.is_empty(), "{:?}", summary.notes);
    let software = engine.machine_software("cpe-only").await.unwrap();
    assert!(
        software
            .iter()
            .all(|p| p.ecosystem.ecosystem == Ecosystem::Cpe),
        "{software:?}"
    );
    let mut vulns: Vec<(String, Vec<String>)> = engine
        .machine_vulnerabilities("cpe-only")
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.id, v.advisory_ids))
        .collect();
    vulns.sort();
    let nvd = |cve: &str| (cve.to_string(), vec![format!("NVD:{cve}")]);
    assert_eq!(
        vulns,
        [
            nvd("CVE-2017-5638"),
            nvd("CVE-2023-38545"),
            nvd("CVE-2024-6387")
        ]
    );

    // A version NVD does not list is not vulnerable; nor is curl at the end of NVD's range.
    let fixed = engine
        .ingest(ingest(
            "cpe-only-fixed",
            cpe_only_sbom(&[
                ("struts", "2.3.7", &struts("2.3.7")),
                (
                    "curl",
                    "8.4.0",
                    "cpe:2.3:a:haxx:libcurl:8.4.0:*:*:*:*:*:*:*",
                ),
            ]),
            None,
        ))
        .await
        .expect("ingest");
    assert_eq!((fixed.packages, fixed.open_weaknesses), (2, 0), "{fixed:?}");

    let recs = engine.recommendations().await.unwrap();
    let rec = |product: &str| {
        recs.iter()
            .find(|r| r.product_name == product)
            .unwrap_or_else(|| panic!("no recommendation for {product}: {recs:?}"))
    };
    // The real Struts record lists exact versions only (2.3.5, 2.3.6, 2.5, 2.5.1): no
    // versionEndExcluding, so NVD names no fixed version and the weakness stays unfixed.
    let s = rec("struts");
    assert_eq!(
        (s.vendor.as_str(), s.ecosystem.as_str(), s.id.as_str()),
        ("apache", "CPE", "va-_-cpe-_-apache~3Astruts")
    );
    assert_eq!(s.related_component, "apache:struts (CPE)");
    assert_eq!(s.recommendation_category, "Application");
    assert_eq!(s.installed_versions, ["2.3.5"]);
    assert_eq!(s.total_machine_count, 2);
    assert_eq!(s.exposed_machines_count, 1);
    assert_eq!(s.severity_score, 10.0);
    assert_eq!(
        (s.recommended_version.as_deref(), s.remediation_type),
        (None, RemediationType::Uninstall)
    );
    assert_eq!(s.recommendation_name, "Uninstall struts");
    assert_eq!(s.unfixed_weaknesses, ["CVE-2017-5638"]);
    // curl: 7.69.0 <= v < 8.4.0 in CVE-2023-38545, so 8.4.0 fixes it.
    let c = rec("libcurl");
    assert_eq!(c.vendor, "haxx");
    assert_eq!(
        (c.recommended_version.as_deref(), c.remediation_type),
        (Some("8.4.0"), RemediationType::Update)
    );
    assert_eq!(c.recommendation_name, "Update libcurl to 8.4.0");
    assert!(c.unfixed_weaknesses.is_empty());
    // OpenSSH 9.2p1 is in 8.6 <= v < 9.8 of CVE-2024-6387, but NVD also lists 9.8 itself as
    // vulnerable: no version NVD names fixes it.
    let o = rec("openssh");
    assert_eq!(o.vendor, "openbsd");
    assert_eq!(
        (o.recommended_version.as_deref(), o.remediation_type),
        (None, RemediationType::Uninstall)
    );
    assert_eq!(o.unfixed_weaknesses, ["CVE-2024-6387"]);

    // Installing the recommended curl clears its weakness, and only that one.
    let after = engine
        .ingest(ingest("cpe-only", host("8.4.0"), None))
        .await
        .expect("ingest");
    assert_eq!((after.open_weaknesses, after.resolved), (2, 1), "{after:?}");
}
