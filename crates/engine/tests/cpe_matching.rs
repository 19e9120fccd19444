//! NVD CPE matching of software that carries a CPE name, on real NVD records: an SBOM component with
//! Apache Struts' CPE is found vulnerable to CVE-2017-5638 through NVD's configuration alone, an
//! unaffected version is not, and a distribution package is never judged by NVD's upstream ranges.

use std::sync::Arc;

use bulwark_core::{DeviceInfo, SystemClock};
use bulwark_engine::{Engine, IngestRequest};

fn sbom(components: &[(&str, &str)]) -> Vec<u8> {
    let components: Vec<serde_json::Value> = components
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
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": components,
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn software_with_a_cpe_is_matched_against_nvd_configurations() {
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let (store, _database) = bulwark_store::testing::fresh_store().await.expect("store");
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
    let ingest = |name: &str, bytes: Vec<u8>, os: Option<&str>| IngestRequest {
        device: DeviceInfo {
            name: name.into(),
            os: os.map(Into::into),
            ..DeviceInfo::default()
        },
        file: format!("{name}.cdx.json"),
        bytes,
        format: None,
    };
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
