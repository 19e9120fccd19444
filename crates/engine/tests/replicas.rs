//! Several processes on one database: two engines, each over its own store opened on the same database
//! (as two `bulwark serve` replicas are), and a change made through one is visible through the other
//! at once, without a restart.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use bulwark_core::exception::{ExceptionDuration, ExceptionRequest, Justification, TargetKind};
use bulwark_core::score::DeviceValue;
use bulwark_core::{Clock, DeviceInfo};
use bulwark_engine::{DevicePatch, Engine, IngestRequest, local_admin};

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// One crates.io advisory: `vulnlib` before 1.2.3 (CVE-2024-1001).
const ADVISORY: &str = r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2024-0001",
    "modified": "2024-03-01T00:00:00Z", "published": "2024-02-01T00:00:00Z",
    "aliases": ["CVE-2024-1001"], "summary": "Heap overflow in vulnlib",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [{"package": {"ecosystem": "crates.io", "name": "vulnlib"},
                  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]}]}"#;

/// A Cargo.lock holding vulnlib 1.1.0.
const LOCKFILE: &str = "version = 4\n\n[[package]]\nname = \"vulnlib\"\nversion = \"1.1.0\"\n\
     source = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

fn ingest(device: &str) -> IngestRequest {
    IngestRequest {
        device: DeviceInfo {
            name: device.into(),
            os: None,
            group: None,
            tags: Vec::new(),
        },
        file: "Cargo.lock".into(),
        bytes: LOCKFILE.as_bytes().to_vec(),
        format: None,
    }
}

async fn import(engine: &Engine, path: &Path) {
    let summary = engine.import(path, &|_| {}).await.expect("import");
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_through_one_engine_is_visible_through_the_other() {
    let (store_a, database) = bulwark_store::testing::fresh_store().await.expect("store");
    let store_b = bulwark_store::open(database.url())
        .await
        .expect("second store");
    let clock = Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap(),
    ));
    let a = Engine::open(store_a, clock.clone())
        .await
        .expect("engine a");
    let b = Engine::open(store_b, clock).await.expect("engine b");

    // Before any advisory: B's device has nothing.
    let before = b.ingest(ingest("web-01")).await.expect("ingest");
    assert_eq!(before.open_weaknesses, 0);
    assert!(b.vulnerability("CVE-2024-1001").await.is_err());

    // A imports the advisory; B, loaded before it, sees it on its next read.
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("RUSTSEC-2024-0001.json"), ADVISORY).expect("write");
    import(&a, dir.path()).await;
    let seen = b.vulnerability("CVE-2024-1001").await.expect("B sees it");
    assert_eq!(seen.exposed_machines, 1);
    assert_eq!(b.loaded_changes(), a.loaded_changes());
    let recommendations = b.recommendations().await.expect("recommendations");
    assert_eq!(
        recommendations
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["va-_-crates.io-_-vulnlib"]
    );
    // An ingest through B matches against it.
    let after = b.ingest(ingest("web-02")).await.expect("ingest");
    assert_eq!(after.opened, 1);

    // The threat context too: EPSS scores imported through A show in B's summary.
    std::fs::write(
        dir.path().join("epss.csv"),
        "cve,epss,percentile\nCVE-2024-1001,0.25,0.5\n",
    )
    .expect("write");
    let threat_before = b.loaded_changes().threat;
    import(&a, &dir.path().join("epss.csv")).await;
    let seen = b.vulnerability("CVE-2024-1001").await.expect("B sees it");
    assert_eq!((seen.epss, seen.epss_percentile), (Some(0.25), Some(0.5)));
    assert_eq!(b.loaded_changes().threat, threat_before + 1);

    // Nothing changed since: a refresh reads the sequence and rebuilds nothing.
    assert!(!b.refresh().await.expect("refresh"));
    assert!(!a.refresh().await.expect("refresh"));

    // The fleet B holds in memory follows A's writes: a new device, a device value, an exception.
    b.machines().await.expect("B's fleet is loaded");
    a.ingest(ingest("web-03")).await.expect("ingest");
    let patch = DevicePatch {
        value: Some(DeviceValue::High),
        ..DevicePatch::default()
    };
    a.update_device("web-01", patch)
        .await
        .expect("device value");
    let machines = b.machines().await.expect("machines");
    let names: Vec<&str> = machines
        .iter()
        .map(|m| m.computer_dns_name.as_str())
        .collect();
    assert_eq!(names, ["web-01", "web-02", "web-03"]);
    assert_eq!(machines[0].device_value, DeviceValue::High);
    let request = ExceptionRequest {
        kind: TargetKind::Recommendation,
        target: "va-_-crates.io-_-vulnlib".into(),
        justification: Justification::RiskAccepted,
        context: "accepted until the next release".into(),
        groups: None,
        duration: ExceptionDuration::Days(30),
    };
    a.create_exception(&local_admin(), request)
        .await
        .expect("exception");
    let status = b.recommendations().await.expect("recommendations")[0]
        .status
        .clone();
    assert_eq!(status, "Exception");
    assert_eq!(b.loaded_changes().fleet, a.loaded_changes().fleet);
}
