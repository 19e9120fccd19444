//! `Engine::overview`, the dashboard's one read of the fleet: its exposure summaries equal the
//! per-mode exposure reports (score, band, devices per level), its recommendations equal
//! `Engine::recommendations`, and an exception's `expires_within` follows its expiry and status.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use bulwark_core::exception::{ExceptionDuration, ExceptionRequest, Justification, TargetKind};
use bulwark_core::exposure::ExposureLevel;
use bulwark_core::{Clock, DeviceInfo};
use bulwark_engine::{Engine, ExposureReport, ImpactMode, IngestRequest, LevelCounts, local_admin};

struct Fixed(DateTime<Utc>);

impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// One advisory on `leaky` (fixed in 2.0.0), and three devices: two in `front` with leaky 1.0.0
/// (one internet-facing), one in `back` with leaky 2.1.0 (not vulnerable).
async fn engine() -> (Engine, bulwark_store::testing::FreshDatabase) {
    let dir = tempfile::tempdir().expect("directory");
    std::fs::write(
        dir.path().join("leaky.json"),
        r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2023-0100", "modified": "2023-05-01T00:00:00Z",
            "summary": "Memory disclosure in leaky",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
            "affected": [{"package": {"ecosystem": "crates.io", "name": "leaky"},
                          "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]}]}"#,
    )
    .expect("advisory");
    let (store, database) = bulwark_store::testing::fresh_store().await.expect("store");
    let now = Utc.with_ymd_and_hms(2024, 9, 1, 8, 0, 0).unwrap();
    let engine = Engine::open(store, Arc::new(Fixed(now)))
        .await
        .expect("engine");
    engine.import(dir.path(), &|_| {}).await.expect("import");
    for (name, group, tags, version) in [
        (
            "edge-1",
            "front",
            vec!["internet-facing".to_string()],
            "1.0.0",
        ),
        ("edge-2", "front", vec![], "1.0.0"),
        ("store-1", "back", vec![], "2.1.0"),
    ] {
        let lock = format!(
            "version = 4\n\n[[package]]\nname = \"leaky\"\nversion = \"{version}\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        );
        engine
            .ingest(IngestRequest {
                device: DeviceInfo {
                    name: name.into(),
                    os: None,
                    group: Some(group.into()),
                    tags,
                },
                file: "Cargo.lock".into(),
                bytes: lock.into_bytes(),
                format: None,
            })
            .await
            .expect("ingest");
    }
    (engine, database)
}

/// The devices per level of a full exposure report.
fn levels(report: &ExposureReport) -> LevelCounts {
    let count = |level: ExposureLevel| {
        report
            .devices
            .iter()
            .filter(|d| d.exposure_level == level)
            .count() as u64
    };
    LevelCounts {
        high: count(ExposureLevel::High),
        medium: count(ExposureLevel::Medium),
        low: count(ExposureLevel::Low),
        none: count(ExposureLevel::None),
    }
}

#[tokio::test]
async fn the_overview_is_the_exposure_of_both_modes_and_the_recommendations() {
    let (engine, _database) = engine().await;
    let exception = engine
        .create_exception(
            &local_admin(),
            ExceptionRequest {
                kind: TargetKind::Recommendation,
                target: "va-_-crates.io-_-leaky".into(),
                justification: Justification::AlternateMitigation,
                context: "the leaking endpoint is disabled in the front proxy".into(),
                groups: Some(vec!["front".into()]),
                duration: ExceptionDuration::Days(30),
            },
        )
        .await
        .expect("exception");

    let overview = engine.overview().await.expect("overview");
    assert_eq!(overview.devices, 3);
    for mode in [ImpactMode::None, ImpactMode::Mitigation] {
        let report = engine.exposure_with(mode).await.expect("exposure");
        let summary = overview.exposure(mode);
        assert_eq!(summary.score, report.score, "{mode:?}");
        assert_eq!(summary.band, report.band, "{mode:?}");
        assert_eq!(summary.levels, levels(&report), "{mode:?}");
        assert_eq!(summary.levels.total(), 3, "every device is active");
    }
    // Without exceptions both edges are exposed; the mitigation covers them both.
    assert_eq!(overview.without_exceptions.levels.none, 1);
    assert_eq!(overview.with_exceptions.levels.none, 3);
    assert!(overview.with_exceptions.score < overview.without_exceptions.score);
    assert_eq!(overview.with_exceptions.score, 0.0);
    assert_eq!(
        overview.recommendations,
        engine.recommendations().await.expect("recommendations")
    );

    // Expiring within: 30 days away is within 30, not within 29; a canceled one never is.
    let now = engine.now();
    let view = engine.exception(exception.id).await.expect("view");
    assert_eq!(view.expires_on, now + Duration::days(30));
    assert!(view.expires_within(now, 30));
    assert!(!view.expires_within(now, 29));
    let canceled = engine
        .cancel_exception(&local_admin(), exception.id, None)
        .await
        .expect("cancel");
    assert!(!canceled.expires_within(now, 30));
}
