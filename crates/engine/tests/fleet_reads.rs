//! The read models the console's Devices, Software and Settings pages use: the fleet's software
//! inventory, the recommendations and exceptions that concern one device, and a user's tokens.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use bulwark_core::exception::{ExceptionDuration, ExceptionRequest, Justification, TargetKind};
use bulwark_core::identity::Role;
use bulwark_core::{Clock, DeviceInfo};
use bulwark_engine::{Engine, EngineError, IngestRequest, local_admin};

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

const VULNLIB: &str = r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2024-0001", "modified": "2024-03-01T00:00:00Z",
    "published": "2024-02-01T00:00:00Z", "aliases": ["CVE-2024-1001"], "summary": "Heap overflow in vulnlib",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [{"package": {"ecosystem": "crates.io", "name": "vulnlib"},
                  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]}]}"#;

const OLDCRATE: &str = r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2024-0003", "modified": "2024-03-03T00:00:00Z",
    "published": "2024-02-03T00:00:00Z", "summary": "Use after free in oldcrate",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [{"package": {"ecosystem": "crates.io", "name": "oldcrate"},
                  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]}]}"#;

fn lockfile(packages: &[(&str, &str)]) -> String {
    let mut out = String::from("version = 4\n");
    for (name, version) in packages {
        out.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        ));
    }
    out
}

/// A device of the test fleet: name, group, crates.
type Member = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// web-01 (group web: vulnlib 1.1.0, oldcrate 0.9.0), web-02 (web: vulnlib 1.3.0, safecrate),
/// db-01 (db: vulnlib 1.0.0, safecrate).
async fn fleet() -> (
    Engine,
    bulwark_store::testing::FreshDatabase,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("directory");
    std::fs::write(dir.path().join("a.json"), VULNLIB).expect("advisory");
    std::fs::write(dir.path().join("b.json"), OLDCRATE).expect("advisory");
    let (store, database) = bulwark_store::testing::fresh_store().await.expect("store");
    let now = Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap();
    let engine = Engine::open(store, Arc::new(FixedClock(now)))
        .await
        .expect("engine");
    engine
        .import(Path::new(dir.path()), &|_| {})
        .await
        .expect("import");
    let devices: [Member; 3] = [
        (
            "web-01",
            "web",
            &[("vulnlib", "1.1.0"), ("oldcrate", "0.9.0")],
        ),
        (
            "web-02",
            "web",
            &[("vulnlib", "1.3.0"), ("safecrate", "1.0.0")],
        ),
        (
            "db-01",
            "db",
            &[("vulnlib", "1.0.0"), ("safecrate", "1.0.0")],
        ),
    ];
    for (name, group, crates) in devices {
        engine
            .ingest(IngestRequest {
                device: DeviceInfo {
                    name: name.into(),
                    group: Some(group.into()),
                    ..DeviceInfo::default()
                },
                file: "Cargo.lock".into(),
                bytes: lockfile(crates).into_bytes(),
                format: None,
            })
            .await
            .expect("ingest");
    }
    (engine, database, dir)
}

#[tokio::test]
async fn the_software_inventory_counts_versions_devices_and_exposure_per_product() {
    let (engine, _db, _dir) = fleet().await;
    let rows: Vec<(String, u64, u64, u64, u64, Vec<String>)> = engine
        .software_inventory()
        .await
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                p.name,
                p.versions,
                p.devices,
                p.exposed_devices,
                p.weaknesses,
                p.vulnerable_versions,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("oldcrate".into(), 1, 1, 1, 1, vec!["0.9.0".into()]),
            ("safecrate".into(), 1, 2, 0, 0, vec![]),
            (
                "vulnlib".into(),
                3,
                3,
                2,
                1,
                vec!["1.0.0".into(), "1.1.0".into()]
            ),
        ]
    );
    let vulnlib = engine.software_inventory().await.unwrap().remove(2);
    assert_eq!(vulnlib.vendor, "crates.io");
    assert_eq!(vulnlib.recommendation_id, "va-_-crates.io-_-vulnlib");
    engine
        .recommendation(&vulnlib.recommendation_id)
        .await
        .expect("the row's recommendation exists");
}

#[tokio::test]
async fn a_device_has_the_recommendations_and_exceptions_of_its_weaknesses() {
    let (engine, _db, _dir) = fleet().await;
    let ids = |recs: Vec<bulwark_core::recommendation::Recommendation>| -> Vec<String> {
        recs.into_iter().map(|r| r.id).collect()
    };
    let mut web01 = ids(engine.machine_recommendations("web-01").await.unwrap());
    web01.sort();
    assert_eq!(
        web01,
        ["va-_-crates.io-_-oldcrate", "va-_-crates.io-_-vulnlib"]
    );
    assert!(
        engine
            .machine_recommendations("web-02")
            .await
            .unwrap()
            .is_empty(),
        "vulnlib 1.3.0 is fixed"
    );
    assert!(matches!(
        engine.machine_recommendations("nope").await,
        Err(EngineError::NotFound(_))
    ));

    let admin = local_admin();
    let on = |kind, target: &str, groups: Option<&[&str]>| ExceptionRequest {
        kind,
        target: target.into(),
        justification: Justification::RiskAccepted,
        context: "accepted until the next release".into(),
        groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
        duration: ExceptionDuration::Days(30),
    };
    let web_vulnlib = engine
        .create_exception(
            &admin,
            on(
                TargetKind::Recommendation,
                "va-_-crates.io-_-vulnlib",
                Some(&["web"]),
            ),
        )
        .await
        .unwrap();
    let cve = engine
        .create_exception(&admin, on(TargetKind::Cve, "cve-2024-1001", None))
        .await
        .unwrap();
    let db_oldcrate = engine
        .create_exception(
            &admin,
            on(
                TargetKind::Recommendation,
                "va-_-crates.io-_-oldcrate",
                Some(&["db"]),
            ),
        )
        .await
        .unwrap();
    let covering = |name: &'static str| {
        let engine = &engine;
        async move {
            let mut ids: Vec<i64> = engine
                .machine_exceptions(name)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect();
            ids.sort();
            ids
        }
    };
    // web-01: the web group's vulnlib exception and the global CVE one; the oldcrate exception is
    // for db, where no device has oldcrate.
    assert_eq!(covering("web-01").await, vec![web_vulnlib.id, cve.id]);
    assert_eq!(covering("db-01").await, vec![cve.id], "not in group web");
    assert!(covering("web-02").await.is_empty(), "no open weakness");
    assert_ne!(db_oldcrate.id, 0);
    engine
        .cancel_exception(&admin, web_vulnlib.id, None)
        .await
        .unwrap();
    assert_eq!(
        covering("web-01").await,
        vec![cve.id],
        "canceled: no longer"
    );
}

#[tokio::test]
async fn users_list_their_own_tokens_and_admins_anyone_s() {
    let (engine, _db, _dir) = fleet().await;
    let ana = engine
        .add_user(&local_admin(), "ana@example.org", None, Role::Analyst, None)
        .await
        .unwrap();
    let bob = engine
        .add_user(&local_admin(), "bob@example.org", None, Role::Viewer, None)
        .await
        .unwrap();
    let created = engine
        .create_token(&ana, "ana@example.org", Some(30))
        .await
        .unwrap();
    let mine = engine.tokens(&ana, "Ana@Example.org").await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, created.record.id);
    assert!(created.token.starts_with(&mine[0].prefix));
    assert!(matches!(
        engine.tokens(&bob, "ana@example.org").await,
        Err(EngineError::Forbidden(_))
    ));
    assert_eq!(
        engine
            .tokens(&local_admin(), "ana@example.org")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        engine.tokens(&local_admin(), "nobody@example.org").await,
        Err(EngineError::NotFound(_))
    ));
}
