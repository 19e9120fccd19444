//! Threat context and exposure scores on real data: the staged CISA KEV catalog, FIRST EPSS scores and
//! NVD records imported through `Engine::import`, the PyPA advisories matched against a real
//! requirements file, and the exposure score checked against the published formula — including that
//! remediating a recommendation (ingesting the fixed version) lowers the score by exactly its stated
//! impact.

use std::sync::{Arc, Mutex};

use bulwark_core::score::DeviceValue;
use bulwark_core::{Clock, DeviceInfo};
use bulwark_engine::{DevicePatch, Engine, IngestRequest, ScoreScope};
use chrono::{DateTime, TimeZone, Utc};

/// A clock the test moves by hand.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

impl TestClock {
    fn advance(&self, seconds: i64) {
        *self.0.lock().expect("clock") += chrono::Duration::seconds(seconds);
    }
}

async fn engine(clock: Arc<TestClock>) -> (Engine, bulwark_store::testing::FreshDatabase) {
    let (store, database) = bulwark_store::testing::fresh_store().await.expect("store");
    (Engine::open(store, clock).await.expect("engine"), database)
}

fn requirements(engine_device: &str, text: String) -> IngestRequest {
    IngestRequest {
        device: DeviceInfo {
            name: engine_device.into(),
            tags: vec!["internet-facing".into()],
            ..DeviceInfo::default()
        },
        file: "requirements.txt".into(),
        bytes: text.into_bytes(),
        format: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_threat_feeds_mark_the_right_vulnerabilities() {
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let clock = Arc::new(TestClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    )));
    let (engine, _database) = engine(clock.clone()).await;

    let kev = engine
        .import(
            &data.join("kev/known_exploited_vulnerabilities.json"),
            &|_| {},
        )
        .await
        .expect("kev");
    assert!(kev.errors.is_empty(), "{:?}", kev.errors);
    assert_eq!(
        (kev.kev.files, kev.kev.entries, kev.kev.added.len()),
        (1, 1404, 1404)
    );
    assert_eq!(kev.kev.catalog_version.as_deref(), Some("2025.08.25"));
    // The CSV form of the same catalog replaces it with the same entries.
    let csv = engine
        .import(
            &data.join("kev/known_exploited_vulnerabilities.csv"),
            &|_| {},
        )
        .await
        .expect("kev csv");
    assert_eq!(
        (csv.kev.entries, csv.kev.added.len(), csv.kev.removed.len()),
        (1404, 0, 0)
    );

    let epss = engine
        .import(&data.join("epss/emba-epss-by-year.tar.zst"), &|_| {})
        .await
        .expect("epss");
    assert!(epss.errors.is_empty(), "{:?}", epss.errors);
    assert_eq!((epss.epss.read, epss.epss.written), (360_142, 360_142));

    let nvd = engine
        .import(&data.join("advisories/nvd/fkie-cad-cve"), &|_| {})
        .await
        .expect("nvd");
    assert!(nvd.errors.is_empty(), "{:?}", nvd.errors);
    assert_eq!((nvd.nvd.files, nvd.nvd.inserted), (3, 3));

    let threat = engine.threat();
    let log4shell = threat.facts(["CVE-2021-44228"]);
    assert!(log4shell.kev && log4shell.public_exploit);
    assert!(!log4shell.ransomware || log4shell.kev);
    assert_eq!(
        log4shell.kev_entries[0].date_added.to_string(),
        "2021-12-10"
    );
    let regresshion = threat.facts(["CVE-2024-6387"]);
    assert_eq!(regresshion.epss, Some(0.99506));
    assert_eq!(regresshion.epss_percentile, Some(0.99942));
    // NVD's record for regreSSHion: CVSS 3.1 8.1 (primary and secondary agree).
    assert_eq!(regresshion.nvd_cvss, Some(8.1));
    assert!(regresshion.published.is_some());

    // A malformed KEV file is an error naming its place and changes nothing stored.
    let dir = tempfile::tempdir().unwrap();
    let good =
        std::fs::read_to_string(data.join("kev/known_exploited_vulnerabilities.json")).unwrap();
    let bad = good.replacen(
        "\"dateAdded\": \"2021-12-10\"",
        "\"dateAdded\": \"10/12/2021\"",
        1,
    );
    assert_ne!(good, bad, "the fixture edit applies");
    std::fs::write(dir.path().join("kev.json"), bad).unwrap();
    std::fs::write(
        dir.path().join("epss.csv"),
        "cve,epss,percentile\nCVE-2024-6387,0.1,0.2\nCVE-2024-0001,x,0.1\n",
    )
    .unwrap();
    let broken = engine.import(dir.path(), &|_| {}).await.expect("import");
    assert_eq!(broken.errors.len(), 2, "{:?}", broken.errors);
    assert!(
        broken
            .errors
            .iter()
            .any(|e| e.contains("kev.json") && e.contains("dateAdded")),
        "{:?}",
        broken.errors
    );
    assert!(
        broken
            .errors
            .iter()
            .any(|e| e.contains("epss.csv") && e.contains("line 3")),
        "{:?}",
        broken.errors
    );
    assert_eq!(engine.store().kev().await.unwrap().entries.len(), 1404);
    assert_eq!(engine.threat().facts(["CVE-2024-6387"]).epss, Some(0.99506));

    let _ = clock;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remediating_lowers_the_score_by_the_stated_impact() {
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let clock = Arc::new(TestClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    )));
    let (engine, _database) = engine(clock.clone()).await;
    for set in [
        "advisories/pypa/pypa-advisory-database.tar.zst",
        "kev/known_exploited_vulnerabilities.json",
        "epss/emba-epss-by-year.tar.zst",
    ] {
        let summary = engine
            .import(&data.join(set), &|_| {})
            .await
            .expect("import");
        assert!(summary.errors.is_empty(), "{set}: {:?}", summary.errors);
    }
    let text = std::fs::read_to_string(
        data.join("inventories/lockfiles/python/defectdojo-1.10.4.requirements.txt"),
    )
    .unwrap();
    engine
        .ingest(requirements("dojo", text.clone()))
        .await
        .expect("ingest");
    let second = std::fs::read_to_string(
        data.join("inventories/lockfiles/python/defectdojo-2.0.3.requirements.txt"),
    )
    .unwrap();
    engine
        .ingest(IngestRequest {
            device: DeviceInfo {
                name: "dojo-internal".into(),
                ..DeviceInfo::default()
            },
            ..requirements("", second)
        })
        .await
        .expect("ingest");

    let before = engine.exposure().await.unwrap();
    assert!(before.score > 0.0 && before.score < 100.0, "{before:?}");
    // Every device score follows the formula: 100·(1 − e^(−Σ risk / 10)) is below 100.
    for d in &before.devices {
        assert!(d.exposure_score > 0.0 && d.exposure_score < 100.0, "{d:?}");
    }
    // The internet-facing device weighs the same but is more exposed than its twin would be.
    let recs = engine.recommendations().await.unwrap();
    let django = recs
        .iter()
        .find(|r| r.product_name == "django")
        .expect("django recommendation");
    assert!(django.exposure_impact > 0.0, "{django:?}");
    let total: f64 = recs.iter().map(|r| r.exposure_impact).sum();
    assert!(total > 0.0);

    // Remediate django on dojo: the recommended version, ingested.
    let fixed = django.recommended_version.clone().expect("a fix");
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("django=="))
        .expect("django pinned");
    let remediated = text.replace(line, &format!("Django=={fixed}"));
    clock.advance(60);
    engine
        .ingest(requirements("dojo", remediated))
        .await
        .expect("ingest");
    // django on the other device still has its weaknesses: only dojo's part of the impact is gone.
    let after_one = engine.exposure().await.unwrap();
    assert!(after_one.score < before.score);

    // Remediating everywhere removes exactly the stated impact.
    let impact_now = engine
        .recommendations()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.product_name == "django")
        .map(|r| (r.exposure_impact, r.recommended_version))
        .expect("django on the other device");
    let other = std::fs::read_to_string(
        data.join("inventories/lockfiles/python/defectdojo-2.0.3.requirements.txt"),
    )
    .unwrap();
    let other_line = other
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("django=="))
        .expect("django pinned")
        .to_string();
    let fix2 = impact_now.1.expect("a fix");
    clock.advance(60);
    engine
        .ingest(IngestRequest {
            device: DeviceInfo {
                name: "dojo-internal".into(),
                ..DeviceInfo::default()
            },
            ..requirements("", other.replace(&other_line, &format!("Django=={fix2}")))
        })
        .await
        .expect("ingest");
    let after_all = engine.exposure().await.unwrap();
    assert!(
        (after_one.score - after_all.score - impact_now.0).abs() < 1e-9,
        "drop {} vs stated impact {}",
        after_one.score - after_all.score,
        impact_now.0
    );
    assert!(
        engine
            .recommendations()
            .await
            .unwrap()
            .iter()
            .all(|r| r.product_name != "django")
    );

    // Device value weights the organisation's average: a High device counts twice.
    let high = engine
        .update_device(
            "dojo",
            DevicePatch {
                value: Some(DeviceValue::High),
                ..DevicePatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(high.value, DeviceValue::High);
    let weighted = engine.exposure().await.unwrap();
    let score = |name: &str| {
        weighted
            .devices
            .iter()
            .find(|d| d.computer_dns_name == name)
            .map(|d| d.exposure_score)
            .unwrap()
    };
    let expected = (score("dojo") * 2.0 + score("dojo-internal")) / 3.0;
    assert!((weighted.score - expected).abs() < 1e-9);

    // Every change recorded a snapshot; the history shows the score falling.
    let history = engine
        .score_history(
            ScoreScope::Organization,
            "",
            DateTime::UNIX_EPOCH,
            engine.now(),
        )
        .await
        .unwrap();
    assert!(history.len() >= 4, "{history:?}");
    let last = history.last().unwrap();
    assert!((last.exposure - weighted.score).abs() < 1e-9);
    // An ingest records the device it changed, not the others (dojo has no point for dojo-internal's
    // ingests, nor the other way round), yet each device's series ends at its current score.
    let series = |name: &'static str| {
        let engine = &engine;
        async move {
            engine
                .score_history(ScoreScope::Device, name, DateTime::UNIX_EPOCH, engine.now())
                .await
                .unwrap()
        }
    };
    let (dojo, internal) = (series("dojo").await, series("dojo-internal").await);
    // Each: its two ingests and the value change (every device then).
    assert_eq!(
        (dojo.len(), internal.len()),
        (3, 3),
        "{dojo:?} {internal:?}"
    );
    for (points, name) in [(&dojo, "dojo"), (&internal, "dojo-internal")] {
        assert!((points.last().unwrap().exposure - score(name)).abs() < 1e-9);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_snapshot_is_taken_once_a_day() {
    let clock = Arc::new(TestClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    )));
    let (engine, _database) = engine(clock.clone()).await;
    assert!(engine.record_daily_scores().await.unwrap());
    clock.advance(23 * 3600);
    assert!(!engine.record_daily_scores().await.unwrap());
    clock.advance(3600);
    assert!(engine.record_daily_scores().await.unwrap());
    let history = engine
        .score_history(
            ScoreScope::Organization,
            "",
            DateTime::UNIX_EPOCH,
            engine.now(),
        )
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].at - history[0].at, chrono::Duration::days(1));
}
