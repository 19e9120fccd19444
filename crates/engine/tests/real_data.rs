//! The whole pipeline on real data: staged advisories imported, staged inventories ingested as devices,
//! recommendations checked by hand (see the comments for where each expected value comes from).

use std::path::Path;
use std::sync::{Arc, Mutex};

use bulwark_core::recommendation::{Recommendation, RemediationType};
use bulwark_core::{Clock, DeviceInfo};
use bulwark_engine::{Engine, IngestRequest};
use chrono::{DateTime, TimeZone, Utc};

/// A clock the test moves by hand.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

/// An engine over a fresh database of the backend `BULWARK_TEST_DATABASE` chooses, and the database's guard.
async fn engine(clock: Arc<TestClock>) -> (Engine, bulwark_store::testing::FreshDatabase) {
    let (store, database) = bulwark_store::testing::fresh_store().await.expect("store");
    (Engine::open(store, clock).await.expect("engine"), database)
}

async fn ingest(
    engine: &Engine,
    data: &Path,
    file: &str,
    device: &str,
) -> bulwark_engine::IngestSummary {
    let path = data.join(file);
    engine
        .ingest(IngestRequest {
            device: DeviceInfo {
                name: device.into(),
                ..DeviceInfo::default()
            },
            file: path.display().to_string(),
            bytes: std::fs::read(&path).expect("inventory"),
            format: None,
        })
        .await
        .expect("ingest")
}

fn rec<'a>(recs: &'a [Recommendation], id: &str) -> &'a Recommendation {
    recs.iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no recommendation {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_inventories_give_the_recommendations_checked_by_hand() {
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let clock = Arc::new(TestClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    )));
    let (engine, _database) = engine(clock.clone()).await;
    for set in [
        "advisories/rustsec-osv/rustsec-osv.tar.zst",
        "advisories/pypa/pypa-advisory-database.tar.zst",
        "advisories/go/golang-vulndb-osv.tar.zst",
    ] {
        let summary = engine
            .import(&data.join(set), &|_| {})
            .await
            .expect("import");
        assert!(summary.errors.is_empty(), "{set}: {:?}", summary.errors);
        assert!(summary.inserted > 1000, "{set}: {summary:?}");
    }
    let vw = ingest(
        &engine,
        &data,
        "inventories/lockfiles/cargo/vaultwarden-1.20.0.Cargo.lock",
        "vaultwarden",
    )
    .await;
    let dd = ingest(
        &engine,
        &data,
        "inventories/lockfiles/python/defectdojo-1.10.4.requirements.txt",
        "defectdojo",
    )
    .await;
    let pb = ingest(
        &engine,
        &data,
        "inventories/cyclonedx-bom-examples/SBOM/proton-bridge/proton-bridge-v1.8.0.bom.json",
        "proton-bridge",
    )
    .await;
    // Same counts as `bulwark scan` gives and the oracles confirm (one row per package × vulnerability).
    assert_eq!(dd.open_weaknesses, 53);
    assert_eq!(pb.open_weaknesses, 58);
    assert!(vw.open_weaknesses >= 30, "{}", vw.open_weaknesses);
    // Informational RustSec records come back as warnings, the same 28 rows cargo-audit warns about
    // (crates/cli/tests/data/oracle/cargo-audit/vaultwarden-1.20.0.warnings.tsv).
    assert_eq!(vw.warnings.len(), 28);
    assert!(vw.warnings.iter().all(|w| w.informational.is_some()));

    let recs = engine.recommendations().await.expect("recommendations");
    // hyper 0.10.16 and 0.14.4 are in vaultwarden 1.20.0's Cargo.lock; RUSTSEC-2021-0078 (CVE-2021-32715)
    // and RUSTSEC-2021-0079 (CVE-2021-32714) are both fixed in 0.14.10, which neither affects.
    let hyper = rec(&recs, "va-_-crates.io-_-hyper");
    assert_eq!(hyper.recommendation_name, "Update hyper to 0.14.10");
    assert_eq!(hyper.remediation_type, RemediationType::Update);
    assert_eq!(
        hyper.vulnerability_ids,
        ["CVE-2021-32714", "CVE-2021-32715"]
    );
    assert_eq!(hyper.installed_versions, ["0.10.16", "0.14.4"]);
    assert!(
        hyper.tags.is_empty(),
        "every weakness has a fix: {:?}",
        hyper.tags
    );
    // idna 0.1.5 / 0.2.2: RUSTSEC-2024-0421 (CVE-2024-12224) is fixed only in 1.0.0 — a new major.
    let idna = rec(&recs, "va-_-crates.io-_-idna");
    assert_eq!(idna.remediation_type, RemediationType::Upgrade);
    assert_eq!(idna.recommended_version.as_deref(), Some("1.0.0"));
    // owning_ref 0.3.3: RUSTSEC-2022-0040 has no patched version at all.
    let owning_ref = rec(&recs, "va-_-crates.io-_-owning_ref");
    assert_eq!(owning_ref.remediation_type, RemediationType::Uninstall);
    assert_eq!(owning_ref.recommended_version, None);
    assert_eq!(owning_ref.recommendation_name, "Uninstall owning_ref");
    assert_eq!(owning_ref.tags, ["No security update"]);
    // Django 2.2.17: fourteen PYSEC records of 2021–2022, the last ones fixed in 2.2.28 (April 2022).
    let django = rec(&recs, "va-_-pypi-_-django");
    assert_eq!(django.recommendation_name, "Update django to 2.2.28");
    assert_eq!(django.weaknesses, 14);
    assert!(django.unfixed_weaknesses.is_empty());
    // github.com/dgrijalva/jwt-go v3.2.0: GO-2020-0017 (CVE-2020-26160) — the module is abandoned, no fix.
    let jwt = rec(&recs, "va-_-go-_-github.com~2Fdgrijalva~2Fjwt-go");
    assert_eq!(jwt.remediation_type, RemediationType::Uninstall);
    // gin v1.4.0: three Go advisories, the last fixed in 1.9.1; the version keeps go.mod's `v`.
    let gin = rec(&recs, "va-_-go-_-github.com~2Fgin-gonic~2Fgin");
    assert_eq!(
        gin.recommendation_name,
        "Update github.com/gin-gonic/gin to v1.9.1"
    );
    assert_eq!(gin.exposed_machines_count, 1);
    assert_eq!(gin.total_machine_count, 1);
    assert_eq!(recs.len(), 39);

    // Re-importing the same records changes nothing.
    let again = engine
        .import(
            &data.join("advisories/rustsec-osv/rustsec-osv.tar.zst"),
            &|_| {},
        )
        .await
        .expect("import");
    assert_eq!((again.inserted, again.updated), (0, 0));
    assert_eq!(again.unchanged, again.advisories_read);

    // A later Cargo.lock of the same device resolves what it fixed and keeps what it did not.
    *clock.0.lock().expect("clock") = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
    let vw2 = ingest(
        &engine,
        &data,
        "inventories/lockfiles/cargo/vaultwarden-main-2026-08-20.Cargo.lock",
        "vaultwarden",
    )
    .await;
    assert_eq!(
        vw2.resolved,
        vw.open_weaknesses - (vw2.open_weaknesses - vw2.opened)
    );
    assert!(vw2.resolved > 20, "{vw2:?}");
    let recs = engine.recommendations().await.expect("recommendations");
    assert!(
        recs.iter().all(|r| r.id != "va-_-crates.io-_-hyper"),
        "hyper is fixed in the new lockfile"
    );
    let machine = engine.machine("vaultwarden").await.expect("machine");
    assert_eq!(machine.vulnerability_count, vw2.open_weaknesses);
}
