//! The contract every `Store` backend meets, checked against a fresh in-memory SQLite database, a fresh
//! SQLite file and a fresh PostgreSQL database.
//!
//! Each check is a plain `async fn(Arc<dyn Store>)` that knows nothing of the backend, so every backend
//! runs the same suite (one line per backend in the `contract!` invocation at the bottom). Checks that
//! need to open a database twice take its URL instead.
//!
//! SQLite always runs. PostgreSQL runs when `BULWARK_TEST_DATABASE` or `BULWARK_TEST_POSTGRES` names a
//! server (each test gets its own database on it, dropped afterwards); without one its tests skip with a
//! printed reason, and fail when `BULWARK_REQUIRE_POSTGRES=1` or `BULWARK_REQUIRE_SHARED_DATA=1`.

use std::collections::HashSet;
use std::slice;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use tempfile::TempDir;

use bulwark_core::cvss::CvssVersion;
use bulwark_core::group::GroupRule;
use bulwark_core::score::DeviceValue;
use bulwark_core::threat::{
    CvssMetric, EpssScore, EpssSet, KevCatalog, KevEntry, LocalizedText, NvdRecord,
};

use bulwark_core::{
    Advisory, Affected, Device, DeviceId, DeviceInfo, EcosystemRelease, Event, InstalledPackage,
    Range, RangeKind, Severity, SeverityLevel, SoftwareKey, Weakness,
};
use bulwark_store::testing::{self, Backend, FreshDatabase};
use bulwark_store::{
    AdvisoryUpsertStats, ChangeSequence, DetectedWeakness, DeviceGroupPatch, DevicePatch,
    InventoryDiff, NewDeviceGroup, ScoreScope, ScoreSnapshot, Store, StoreError, WeaknessDiff,
    open,
};

// ---------------------------------------------------------------------------------------------------------------
// Backends.

/// A freshly opened store and whatever must outlive it.
struct Fresh {
    store: Arc<dyn Store>,
    /// The directory holding a file database; removed when the test ends.
    _dir: Option<TempDir>,
    /// The PostgreSQL database; dropped when the test ends.
    _database: Option<FreshDatabase>,
}

/// A new private in-memory SQLite database.
async fn sqlite_memory() -> Option<Fresh> {
    Some(Fresh {
        store: open("sqlite::memory:").await.expect("open sqlite::memory:"),
        _dir: None,
        _database: None,
    })
}

/// The URL of a new SQLite file (not yet created) in a new temporary directory.
fn sqlite_file_url() -> (String, TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("bulwark.db").display());
    (url, dir)
}

/// A new SQLite file database.
async fn sqlite_file() -> Option<Fresh> {
    let (url, dir) = sqlite_file_url();
    Some(Fresh {
        store: open(&url).await.expect("open sqlite file"),
        _dir: Some(dir),
        _database: None,
    })
}

/// A new, empty database on the PostgreSQL server the environment names; `None` (the test skips, saying
/// why) when it names none. Panics when PostgreSQL is required but not named, or cannot be reached.
async fn postgres_database() -> Option<FreshDatabase> {
    let server = match testing::postgres_server() {
        Ok(Some(server)) => server,
        Ok(None) => {
            eprintln!(
                "skipped: no PostgreSQL server named; set {}=postgres://USER@HOST:PORT/DB to run on PostgreSQL",
                testing::POSTGRES_VAR
            );
            return None;
        }
        Err(e) => panic!("{e}"),
    };
    let database = Backend::Postgres { server }
        .fresh()
        .await
        .expect("create a PostgreSQL test database");
    Some(database)
}

/// A new PostgreSQL database, opened.
async fn postgres() -> Option<Fresh> {
    let database = postgres_database().await?;
    Some(Fresh {
        store: open(database.url()).await.expect("open postgres"),
        _dir: None,
        _database: Some(database),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Test data.

/// A time `secs` seconds after a fixed base.
fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).expect("valid time")
}

fn eco(raw: &str) -> EcosystemRelease {
    EcosystemRelease::parse(raw).expect("known ecosystem")
}

fn advisory(id: &str, modified: &str, summary: &str) -> Advisory {
    Advisory {
        id: id.to_string(),
        aliases: vec![format!("CVE-2024-{}", id.len())],
        related: vec![],
        modified: modified.to_string(),
        published: Some("2023-12-01T00:00:00Z".to_string()),
        withdrawn: None,
        summary: Some(summary.to_string()),
        details: Some("A longer *Markdown* description.".to_string()),
        severity: Some(Severity {
            level: SeverityLevel::High,
            score: Some(7.5),
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".to_string()),
        }),
        affected: vec![Affected {
            ecosystem: eco("crates.io"),
            name: format!("crate-{id}"),
            purl: Some(format!("pkg:cargo/crate-{id}")),
            ranges: vec![Range {
                kind: RangeKind::Semver,
                repo: None,
                events: vec![
                    Event::Introduced("0".to_string()),
                    Event::Fixed("1.2.3".to_string()),
                ],
            }],
            versions: vec!["1.0.0".to_string()],
            informational: None,
        }],
        informational: None,
        references: vec![format!("https://example.invalid/{id}")],
    }
}

fn stats(inserted: u64, updated: u64, unchanged: u64, changed: &[&str]) -> AdvisoryUpsertStats {
    AdvisoryUpsertStats {
        inserted,
        updated,
        unchanged,
        changed_ids: changed.iter().map(|s| s.to_string()).collect(),
    }
}

fn pkg(ecosystem: &str, name: &str, version: &str) -> InstalledPackage {
    InstalledPackage::new(eco(ecosystem), name, version)
}

/// A Debian binary package built from a differently named source package.
fn deb(name: &str, version: &str, source: &str, source_version: &str) -> InstalledPackage {
    InstalledPackage {
        source_name: Some(source.to_string()),
        source_version: Some(source_version.to_string()),
        purl: Some(format!("pkg:deb/debian/{name}@{version}?distro=debian-12")),
        cpe: Some(format!("cpe:2.3:a:debian:{name}:{version}:*:*:*:*:*:*:*")),
        ..pkg("Debian:12", name, version)
    }
}

fn key(ecosystem: &str, name: &str, version: &str) -> SoftwareKey {
    SoftwareKey {
        ecosystem: eco(ecosystem),
        name: name.to_string(),
        version: version.to_string(),
    }
}

fn detected(software: &SoftwareKey, vulnerability: &str, advisories: &[&str]) -> DetectedWeakness {
    DetectedWeakness {
        software: software.clone(),
        vulnerability_id: vulnerability.to_string(),
        advisory_ids: advisories.iter().map(|s| s.to_string()).collect(),
    }
}

fn info(name: &str) -> DeviceInfo {
    DeviceInfo {
        name: name.to_string(),
        ..DeviceInfo::default()
    }
}

async fn new_device(store: &Arc<dyn Store>, name: &str) -> Device {
    store
        .upsert_device(&info(name), at(0))
        .await
        .expect("upsert device")
}

fn set(packages: &[InstalledPackage]) -> HashSet<InstalledPackage> {
    packages.iter().cloned().collect()
}

/// The weaknesses of `list` for one software key and vulnerability, as (first detected, resolved) pairs.
fn periods(
    list: &[Weakness],
    software: &SoftwareKey,
    vulnerability: &str,
) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let mut out: Vec<_> = list
        .iter()
        .filter(|w| &w.software == software && w.vulnerability_id == vulnerability)
        .map(|w| (w.first_detected, w.resolved))
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Advisories.

/// Re-importing a record replaces it only when its `modified` is a later instant; times are compared
/// as instants, not as text.
async fn advisory_reimport_replaces_only_newer(store: Arc<dyn Store>) {
    let id = "RUSTSEC-2024-0001";
    let first = advisory(id, "2024-01-01T09:00:00Z", "first");
    assert_eq!(
        store
            .upsert_advisories(slice::from_ref(&first))
            .await
            .unwrap(),
        stats(1, 0, 0, &[id])
    );
    assert_eq!(store.advisory(id).await.unwrap(), Some(first.clone()));

    let same_time = advisory(id, "2024-01-01T09:00:00Z", "same time, other text");
    assert_eq!(
        store.upsert_advisories(&[same_time]).await.unwrap(),
        stats(0, 0, 1, &[])
    );
    // Later as text, an hour earlier as an instant.
    let older = advisory(id, "2024-01-01T10:00:00+02:00", "older");
    assert_eq!(
        store.upsert_advisories(&[older]).await.unwrap(),
        stats(0, 0, 1, &[])
    );
    assert_eq!(store.advisory(id).await.unwrap(), Some(first));

    // Earlier as text ('.' sorts before 'Z'), half a second later as an instant.
    let mut newer = advisory(id, "2024-01-01T09:00:00.5Z", "newer");
    newer.withdrawn = Some("2024-02-01T00:00:00Z".to_string());
    assert_eq!(
        store.upsert_advisories(&[newer.clone()]).await.unwrap(),
        stats(0, 1, 0, &[id])
    );
    assert_eq!(store.advisory(id).await.unwrap(), Some(newer.clone()));
    assert_eq!(store.advisories().await.unwrap(), vec![newer]);
    assert_eq!(store.advisory("RUSTSEC-2024-9999").await.unwrap(), None);
    assert_eq!(
        store.upsert_advisories(&[]).await.unwrap(),
        stats(0, 0, 0, &[])
    );
}

/// Within one batch, the record with the latest `modified` wins for its id (the first given on a tie);
/// the others count as unchanged, so the counts add up to the batch size.
async fn duplicate_ids_in_one_batch_keep_the_newest(store: Arc<dyn Store>) {
    let batch = [
        advisory("A", "2024-01-01T00:00:00Z", "a1"),
        advisory("B", "2024-01-01T00:00:00Z", "b1"),
        advisory("A", "2024-03-01T00:00:00Z", "a3"),
        advisory("A", "2024-02-01T00:00:00Z", "a2"),
    ];
    assert_eq!(
        store.upsert_advisories(&batch).await.unwrap(),
        stats(2, 0, 2, &["A", "B"])
    );
    assert_eq!(
        store
            .advisory("A")
            .await
            .unwrap()
            .unwrap()
            .summary
            .as_deref(),
        Some("a3")
    );

    let batch = [
        advisory("A", "2024-03-01T00:00:00Z", "same as stored"),
        advisory("A", "2024-04-01T00:00:00Z", "first of the tie"),
        advisory("A", "2024-04-01T00:00:00Z", "second of the tie"),
    ];
    assert_eq!(
        store.upsert_advisories(&batch).await.unwrap(),
        stats(0, 1, 2, &["A"])
    );
    assert_eq!(
        store
            .advisory("A")
            .await
            .unwrap()
            .unwrap()
            .summary
            .as_deref(),
        Some("first of the tie")
    );
    let mut ids: Vec<String> = store
        .advisories()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["A", "B"]);
}

/// A batch with one bad record stores nothing of the batch, and reports an error.
async fn failing_batch_changes_nothing(store: Arc<dyn Store>) {
    let stored = advisory("A", "2024-01-01T00:00:00Z", "stored");
    store
        .upsert_advisories(slice::from_ref(&stored))
        .await
        .unwrap();

    let bad_modified = [
        advisory("A", "2024-06-01T00:00:00Z", "would update"),
        advisory("B", "2024-06-01T00:00:00Z", "would insert"),
        advisory("C", "last Tuesday", "bad time"),
    ];
    assert!(store.upsert_advisories(&bad_modified).await.is_err());
    let mut bad_withdrawn = advisory("D", "2024-06-01T00:00:00Z", "bad withdrawn");
    bad_withdrawn.withdrawn = Some("2024-13-45".to_string());
    let batch = [
        advisory("B", "2024-06-01T00:00:00Z", "would insert"),
        bad_withdrawn,
    ];
    assert!(store.upsert_advisories(&batch).await.is_err());

    assert_eq!(store.advisories().await.unwrap(), vec![stored]);
}

/// Ten thousand advisories go in as one batch in reasonable time, and re-importing them is counted right.
async fn large_batch_is_one_quick_call(store: Arc<dyn Store>) {
    let batch: Vec<Advisory> = (0..10_000)
        .map(|i| advisory(&format!("GHSA-{i:05}"), "2024-01-01T00:00:00Z", "bulk"))
        .collect();
    let started = Instant::now();
    let got = store.upsert_advisories(&batch).await.unwrap();
    let took = started.elapsed();
    assert_eq!(
        (
            got.inserted,
            got.updated,
            got.unchanged,
            got.changed_ids.len()
        ),
        (10_000, 0, 0, 10_000)
    );
    // A generous bound (debug build, busy shared machine); one transaction per record would exceed it.
    assert!(
        took < Duration::from_secs(30),
        "10,000 advisories took {took:?}"
    );

    let reimport: Vec<Advisory> = batch
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let modified = if i % 2 == 0 {
                "2024-05-01T00:00:00Z"
            } else {
                "2024-01-01T00:00:00Z"
            };
            advisory(&a.id, modified, "bulk again")
        })
        .collect();
    let got = store.upsert_advisories(&reimport).await.unwrap();
    assert_eq!(
        (
            got.inserted,
            got.updated,
            got.unchanged,
            got.changed_ids.len()
        ),
        (0, 5_000, 5_000, 5_000)
    );
    let all = store.advisories().await.unwrap();
    assert_eq!(all.len(), 10_000);
    assert_eq!(
        all.iter()
            .filter(|a| a.summary.as_deref() == Some("bulk again"))
            .count(),
        5_000
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Devices.

/// Creation sets both times; later upserts move `last_seen` only and keep fields not given.
async fn device_upsert_keeps_what_is_not_given(store: Arc<dyn Store>) {
    let full = DeviceInfo {
        name: "web-01".to_string(),
        os: Some("Debian 12".to_string()),
        group: Some("dmz".to_string()),
        tags: vec!["internet-facing".to_string(), "pci".to_string()],
    };
    let created = store.upsert_device(&full, at(10)).await.unwrap();
    assert_eq!(
        (
            created.name.as_str(),
            created.os.as_deref(),
            created.group.as_deref()
        ),
        ("web-01", Some("Debian 12"), Some("dmz"))
    );
    assert_eq!(created.tags, ["internet-facing", "pci"]);
    assert_eq!((created.first_seen, created.last_seen), (at(10), at(10)));

    let sparse = DeviceInfo {
        name: "web-01".to_string(),
        os: Some("  ".to_string()),
        group: None,
        tags: vec![],
    };
    let seen = store.upsert_device(&sparse, at(20)).await.unwrap();
    assert_eq!(
        seen,
        Device {
            last_seen: at(20),
            ..created.clone()
        }
    );

    let changed = DeviceInfo {
        name: "web-01".to_string(),
        os: Some("Debian 13".to_string()),
        group: Some("core".to_string()),
        tags: vec!["internal".to_string()],
    };
    let updated = store.upsert_device(&changed, at(30)).await.unwrap();
    assert_eq!(
        updated,
        Device {
            id: created.id,
            name: "web-01".to_string(),
            os: Some("Debian 13".to_string()),
            group: Some("core".to_string()),
            tags: vec!["internal".to_string()],
            value: DeviceValue::Normal,
            first_seen: at(10),
            last_seen: at(30),
        }
    );
    assert_eq!(
        store.device(created.id).await.unwrap(),
        Some(updated.clone())
    );

    let blank = store
        .upsert_device(
            &DeviceInfo {
                os: Some(String::new()),
                ..info("db-01")
            },
            at(40),
        )
        .await
        .unwrap();
    assert_eq!((blank.os, blank.group, blank.tags), (None, None, vec![]));
    assert_ne!(blank.id, created.id);
}

/// Devices are listed by name and found by id and by exact name.
async fn devices_are_listed_and_found(store: Arc<dyn Store>) {
    let names = ["mail", "db", "web", "app"];
    let mut created = Vec::new();
    for (i, name) in names.iter().enumerate() {
        created.push(
            store
                .upsert_device(&info(name), at(i as i64))
                .await
                .unwrap(),
        );
    }
    let listed: Vec<String> = store
        .devices()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(listed, ["app", "db", "mail", "web"]);
    let ids: HashSet<DeviceId> = created.iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), names.len(), "ids are distinct");
    for d in &created {
        assert_eq!(store.device(d.id).await.unwrap().as_ref(), Some(d));
        assert_eq!(
            store.device_by_name(&d.name).await.unwrap().as_ref(),
            Some(d)
        );
    }
    assert_eq!(store.device_by_name("WEB").await.unwrap(), None);
    let unused = DeviceId(created.iter().map(|d| d.id.0).max().unwrap() + 1000);
    assert_eq!(store.device(unused).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------------------------
// Inventories.

/// The changes expected at one time: (`appeared` or `disappeared`, package).
type Changes<'a> = &'a [(&'a str, InstalledPackage)];

/// Checks a history: newest first, and per ingest exactly the given changes (in any order).
fn assert_history(
    history: &[bulwark_store::InventoryChange],
    expected: &[(DateTime<Utc>, Changes<'_>)],
) {
    assert!(
        history.windows(2).all(|w| w[0].at >= w[1].at),
        "history is newest first"
    );
    let mut at_times: Vec<DateTime<Utc>> = history.iter().map(|c| c.at).collect();
    at_times.dedup();
    let expected_times: Vec<DateTime<Utc>> = expected.iter().map(|(t, _)| *t).collect();
    assert_eq!(at_times, expected_times);
    for (time, changes) in expected {
        let got: Vec<(String, InstalledPackage)> = history
            .iter()
            .filter(|c| c.at == *time)
            .map(|c| (c.change.clone(), c.package.clone()))
            .collect();
        let want: Vec<(String, InstalledPackage)> = changes
            .iter()
            .map(|(c, p)| (c.to_string(), p.clone()))
            .collect();
        assert_eq!(got.len(), want.len(), "changes at {time}");
        assert_eq!(
            got.into_iter().collect::<HashSet<_>>(),
            want.into_iter().collect::<HashSet<_>>(),
            "changes at {time}"
        );
    }
}

/// Replacing a software set reports and records what appeared and disappeared, and nothing when
/// nothing changed.
async fn inventory_replace_reports_diff_and_history(store: Arc<dyn Store>) {
    let device = new_device(&store, "web-01").await.id;
    let openssl = deb("libssl3", "3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2");
    let serde_old = pkg("crates.io", "serde", "1.0.100");
    let serde_new = pkg("crates.io", "serde", "1.0.200");
    let django = pkg("PyPI", "django", "4.2.1");

    // Duplicates in the input count once.
    let first = [openssl.clone(), serde_old.clone(), openssl.clone()];
    let diff = store
        .replace_inventory(device, &first, at(1))
        .await
        .unwrap();
    assert_eq!(
        set(&diff.appeared),
        set(&[openssl.clone(), serde_old.clone()])
    );
    assert_eq!(diff.appeared.len(), 2);
    assert!(diff.disappeared.is_empty());
    assert_eq!(
        set(&store.device_software(device).await.unwrap()),
        set(&first)
    );

    let second = [serde_new.clone(), openssl.clone(), django.clone()];
    let diff = store
        .replace_inventory(device, &second, at(2))
        .await
        .unwrap();
    assert_eq!(
        set(&diff.appeared),
        set(&[serde_new.clone(), django.clone()])
    );
    assert_eq!(diff.disappeared, slice::from_ref(&serde_old));
    let now = store.device_software(device).await.unwrap();
    assert_eq!((now.len(), set(&now)), (3, set(&second)));

    // The same set again: no change, no history.
    let same = store
        .replace_inventory(device, &second, at(3))
        .await
        .unwrap();
    assert_eq!(same, InventoryDiff::default());

    let diff = store.replace_inventory(device, &[], at(4)).await.unwrap();
    assert!(diff.appeared.is_empty());
    assert_eq!(set(&diff.disappeared), set(&second));
    assert!(store.device_software(device).await.unwrap().is_empty());

    let history = store.inventory_history(device).await.unwrap();
    assert_history(
        &history,
        &[
            (
                at(4),
                &[
                    ("disappeared", serde_new.clone()),
                    ("disappeared", openssl.clone()),
                    ("disappeared", django.clone()),
                ],
            ),
            (
                at(2),
                &[
                    ("appeared", serde_new),
                    ("appeared", django),
                    ("disappeared", serde_old.clone()),
                ],
            ),
            (at(1), &[("appeared", openssl), ("appeared", serde_old)]),
        ],
    );
}

/// Software sets are per device; `all_software` returns every device's pairs.
async fn inventories_are_per_device(store: Arc<dyn Store>) {
    let a = new_device(&store, "a").await.id;
    let b = new_device(&store, "b").await.id;
    let alpine = InstalledPackage {
        source_name: Some("openssl".to_string()),
        ..pkg("Alpine:v3.18", "libcrypto3", "3.1.4-r0")
    };
    let a_set = [alpine.clone(), pkg("npm", "lodash", "4.17.20")];
    let b_set = [
        alpine.clone(),
        pkg("Go", "github.com/BurntSushi/toml", "v1.2.0"),
    ];
    store.replace_inventory(a, &a_set, at(1)).await.unwrap();
    store.replace_inventory(b, &b_set, at(1)).await.unwrap();
    store
        .replace_inventory(b, &b_set[1..], at(2))
        .await
        .unwrap();

    assert_eq!(set(&store.device_software(a).await.unwrap()), set(&a_set));
    assert_eq!(store.device_software(b).await.unwrap(), &b_set[1..]);
    let all: HashSet<(DeviceId, InstalledPackage)> =
        store.all_software().await.unwrap().into_iter().collect();
    let want: HashSet<(DeviceId, InstalledPackage)> = a_set
        .iter()
        .map(|p| (a, p.clone()))
        .chain([(b, b_set[1].clone())])
        .collect();
    assert_eq!(all, want);
    assert_eq!(store.inventory_history(a).await.unwrap().len(), 2);
    assert_eq!(store.inventory_history(b).await.unwrap().len(), 3);
}

/// Writing for a device that does not exist is `NotFound` and stores nothing; reading it is empty.
async fn unknown_device_is_not_found(store: Arc<dyn Store>) {
    let real = new_device(&store, "real").await.id;
    let ghost = DeviceId(real.0 + 1000);
    let packages = [pkg("npm", "left-pad", "1.0.0")];
    let result = store.replace_inventory(ghost, &packages, at(1)).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    let weakness = [detected(
        &key("npm", "left-pad", "1.0.0"),
        "CVE-2020-0001",
        &["GHSA-x"],
    )];
    let result = store.replace_weaknesses(ghost, &weakness, at(1)).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    assert!(store.device_software(ghost).await.unwrap().is_empty());
    assert!(store.inventory_history(ghost).await.unwrap().is_empty());
    assert!(store.device_weaknesses(ghost).await.unwrap().is_empty());
    assert!(store.all_software().await.unwrap().is_empty());
    assert!(store.open_weaknesses().await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------------------------
// Weaknesses.

/// Weaknesses open at first detection, stay open with their first detection while detected, resolve
/// when no longer detected, and a weakness that comes back opens a new row (the old period is kept).
async fn weaknesses_open_keep_resolve_and_reopen(store: Arc<dyn Store>) {
    let device = new_device(&store, "web-01").await.id;
    let openssl = key("Debian:12", "openssl", "3.0.11-1~deb12u2");
    let serde = key("crates.io", "serde", "1.0.100");
    let w1 = detected(&openssl, "CVE-2024-0001", &["DSA-1"]);
    let w2 = detected(&openssl, "CVE-2024-0002", &["DSA-2"]);
    let w3 = detected(&serde, "CVE-2024-0003", &["GHSA-3", "RUSTSEC-3"]);

    let diff = store
        .replace_weaknesses(device, &[w1.clone(), w2.clone()], at(1))
        .await
        .unwrap();
    assert_eq!(
        diff,
        WeaknessDiff {
            opened: 2,
            resolved: 0,
            kept: 0
        }
    );
    // The same key twice in one call is one weakness.
    let diff = store
        .replace_weaknesses(device, &[w1.clone(), w3.clone(), w1.clone()], at(2))
        .await
        .unwrap();
    assert_eq!(
        diff,
        WeaknessDiff {
            opened: 1,
            resolved: 1,
            kept: 1
        }
    );
    let diff = store
        .replace_weaknesses(device, &[w1.clone(), w3.clone()], at(3))
        .await
        .unwrap();
    assert_eq!(
        diff,
        WeaknessDiff {
            opened: 0,
            resolved: 0,
            kept: 2
        }
    );
    let diff = store
        .replace_weaknesses(device, &[w1.clone(), w2.clone()], at(4))
        .await
        .unwrap();
    assert_eq!(
        diff,
        WeaknessDiff {
            opened: 1,
            resolved: 1,
            kept: 1
        }
    );

    let all = store.device_weaknesses(device).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|w| w.device_id == device));
    assert_eq!(periods(&all, &openssl, "CVE-2024-0001"), [(at(1), None)]);
    assert_eq!(
        periods(&all, &openssl, "CVE-2024-0002"),
        [(at(1), Some(at(2))), (at(4), None)]
    );
    assert_eq!(
        periods(&all, &serde, "CVE-2024-0003"),
        [(at(2), Some(at(4)))]
    );
    let w3_row = all
        .iter()
        .find(|w| w.vulnerability_id == "CVE-2024-0003")
        .unwrap();
    assert_eq!(w3_row.advisory_ids, ["GHSA-3", "RUSTSEC-3"]);

    let open = store.open_weaknesses().await.unwrap();
    assert_eq!(open.len(), 2);
    assert!(open.iter().all(|w| w.resolved.is_none()));

    // A kept weakness keeps its first detection; the advisories reporting it follow the new data.
    let w1_more = detected(&openssl, "CVE-2024-0001", &["DLA-9", "DSA-1"]);
    let diff = store
        .replace_weaknesses(device, &[w1_more, w2.clone()], at(5))
        .await
        .unwrap();
    assert_eq!(
        diff,
        WeaknessDiff {
            opened: 0,
            resolved: 0,
            kept: 2
        }
    );
    let open = store.open_weaknesses().await.unwrap();
    let w1_row = open
        .iter()
        .find(|w| w.vulnerability_id == "CVE-2024-0001")
        .unwrap();
    assert_eq!(
        (w1_row.first_detected, w1_row.advisory_ids.clone()),
        (at(1), vec!["DLA-9".into(), "DSA-1".into()])
    );

    // Nothing detected: everything open resolves.
    let diff = store.replace_weaknesses(device, &[], at(6)).await.unwrap();
    assert_eq!(
        diff,
        WeaknessDiff {
            opened: 0,
            resolved: 2,
            kept: 0
        }
    );
    assert!(store.open_weaknesses().await.unwrap().is_empty());
    let all = store.device_weaknesses(device).await.unwrap();
    assert_eq!(
        periods(&all, &openssl, "CVE-2024-0001"),
        [(at(1), Some(at(6)))]
    );
    assert_eq!(
        periods(&all, &openssl, "CVE-2024-0002"),
        [(at(1), Some(at(2))), (at(4), Some(at(6)))]
    );
}

/// The same weakness on two devices is two rows; replacing one device's set leaves the other alone,
/// and a different release or version is a different weakness.
async fn weaknesses_are_per_device_and_software(store: Arc<dyn Store>) {
    let a = new_device(&store, "a").await.id;
    let b = new_device(&store, "b").await.id;
    let deb12 = key("Debian:12", "openssl", "3.0.11");
    let deb11 = key("Debian:11", "openssl", "3.0.11");
    let no_release = key("Debian", "openssl", "3.0.11");
    let newer = key("Debian:12", "openssl", "3.0.13");
    let all_four = [
        detected(&deb12, "CVE-1", &["DSA-1"]),
        detected(&deb11, "CVE-1", &["DSA-1"]),
        detected(&no_release, "CVE-1", &["DSA-1"]),
        detected(&newer, "CVE-1", &["DSA-1"]),
    ];
    let diff = store.replace_weaknesses(a, &all_four, at(1)).await.unwrap();
    assert_eq!(diff.opened, 4);
    store
        .replace_weaknesses(b, &all_four[..1], at(1))
        .await
        .unwrap();
    let diff = store.replace_weaknesses(a, &all_four, at(2)).await.unwrap();
    assert_eq!(
        diff,
        WeaknessDiff {
            opened: 0,
            resolved: 0,
            kept: 4
        }
    );

    let diff = store.replace_weaknesses(b, &[], at(3)).await.unwrap();
    assert_eq!(diff.resolved, 1);
    let open = store.open_weaknesses().await.unwrap();
    assert_eq!(open.len(), 4);
    assert!(
        open.iter()
            .all(|w| w.device_id == a && w.first_detected == at(1))
    );
    let softwares: HashSet<SoftwareKey> = open.iter().map(|w| w.software.clone()).collect();
    assert_eq!(
        softwares,
        [deb12, deb11, no_release, newer].into_iter().collect()
    );
    assert_eq!(store.device_weaknesses(b).await.unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Robustness.

/// One device's ingest, repeated: device, inventory, weaknesses and advisories, as the server does it.
async fn ingest_rounds(store: Arc<dyn Store>, host: usize, rounds: i64) -> DeviceId {
    let name = format!("host-{host}");
    let vulnerable = key("PyPI", &format!("fixed-{host}"), "1.0");
    let mut device = None;
    for round in 0..rounds {
        let os = format!("Debian 12.{round}");
        let d = store
            .upsert_device(
                &DeviceInfo {
                    os: Some(os),
                    ..info(&name)
                },
                at(round),
            )
            .await
            .unwrap();
        let packages = round_packages(host, round);
        store
            .replace_inventory(d.id, &packages, at(round))
            .await
            .unwrap();
        let found = if round % 2 == 0 {
            vec![detected(&vulnerable, "CVE-1", &["PYSEC-1"])]
        } else {
            vec![]
        };
        store
            .replace_weaknesses(d.id, &found, at(round))
            .await
            .unwrap();
        let advisories: Vec<Advisory> = (0..20)
            .map(|i| {
                advisory(
                    &format!("H{host}-{i}"),
                    &format!("2024-01-01T00:00:{round:02}Z"),
                    "x",
                )
            })
            .collect();
        store.upsert_advisories(&advisories).await.unwrap();
        device = Some(d.id);
    }
    device.expect("at least one round")
}

/// 40 packages of which the first 10 change version every round.
fn round_packages(host: usize, round: i64) -> Vec<InstalledPackage> {
    (0..40)
        .map(|i| {
            let version = if i < 10 {
                format!("1.{round}")
            } else {
                "1.0".to_string()
            };
            pkg("PyPI", &format!("h{host}-p{i}"), &version)
        })
        .collect()
}

/// Two tasks ingesting different devices at once leave both devices exactly as ingested.
async fn concurrent_ingests_do_not_interfere(store: Arc<dyn Store>) {
    const ROUNDS: i64 = 15;
    let tasks: Vec<_> = (0..2)
        .map(|host| tokio::spawn(ingest_rounds(store.clone(), host, ROUNDS)))
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("ingest task"));
    }
    for (host, id) in ids.into_iter().enumerate() {
        let device = store.device(id).await.unwrap().unwrap();
        assert_eq!(device.name, format!("host-{host}"));
        assert_eq!(
            (device.first_seen, device.last_seen),
            (at(0), at(ROUNDS - 1))
        );
        assert_eq!(
            device.os.as_deref(),
            Some(format!("Debian 12.{}", ROUNDS - 1).as_str())
        );
        assert_eq!(
            set(&store.device_software(id).await.unwrap()),
            set(&round_packages(host, ROUNDS - 1))
        );
        // 40 appear in the first round, then 10 appear and 10 disappear every round.
        assert_eq!(
            store.inventory_history(id).await.unwrap().len() as i64,
            40 + (ROUNDS - 1) * 20
        );
        let weaknesses = store.device_weaknesses(id).await.unwrap();
        let expected: Vec<_> = (0..ROUNDS)
            .step_by(2)
            .map(|r| (at(r), (r + 1 < ROUNDS).then(|| at(r + 1))))
            .collect();
        assert_eq!(
            periods(
                &weaknesses,
                &key("PyPI", &format!("fixed-{host}"), "1.0"),
                "CVE-1"
            ),
            expected
        );
    }
    assert_eq!(store.devices().await.unwrap().len(), 2);
    assert_eq!(store.advisories().await.unwrap().len(), 40);
    assert_eq!(store.all_software().await.unwrap().len(), 80);
}

/// What writer `writer` ingests for the shared device in `round`: 20 packages of its own, and 10 packages
/// both writers carry at versions only this writer uses.
fn writer_packages(writer: usize, round: i64) -> Vec<InstalledPackage> {
    let own = (0..20).map(|i| pkg("PyPI", &format!("w{writer}-own-{i}"), "1.0"));
    let shared = (0..10).map(|i| pkg("PyPI", &format!("shared-{i}"), &format!("{writer}.{round}")));
    own.chain(shared).collect()
}

/// What writer `writer` detects on the shared device in `round` (a key set only this writer produces).
fn writer_weaknesses(writer: usize, round: i64) -> Vec<DetectedWeakness> {
    vec![
        detected(
            &key("PyPI", "shared-0", &format!("{writer}.{round}")),
            "CVE-1",
            &["PYSEC-1"],
        ),
        detected(
            &key("PyPI", &format!("w{writer}-own-0"), "1.0"),
            &format!("CVE-{writer}"),
            &["PYSEC-2"],
        ),
    ]
}

/// Two tasks ingesting the same device at once: every call succeeds (nothing deadlocks), and the device
/// ends with exactly one writer's last software set and one writer's last weaknesses, never a mixture;
/// the history adds up to the set that is stored.
async fn concurrent_ingests_of_one_device_stay_consistent(store: Arc<dyn Store>) {
    const ROUNDS: i64 = 12;
    let device = new_device(&store, "shared").await.id;
    let writer = |w: usize| {
        let store = store.clone();
        tokio::spawn(async move {
            for round in 0..ROUNDS {
                store
                    .upsert_device(&info("shared"), at(round))
                    .await
                    .unwrap();
                store
                    .replace_inventory(device, &writer_packages(w, round), at(round))
                    .await
                    .unwrap();
                store
                    .replace_weaknesses(device, &writer_weaknesses(w, round), at(round))
                    .await
                    .unwrap();
            }
        })
    };
    let (first, second) = tokio::join!(writer(0), writer(1));
    first.expect("writer 0");
    second.expect("writer 1");

    let software = store.device_software(device).await.unwrap();
    let last: Vec<HashSet<InstalledPackage>> = (0..2)
        .map(|w| set(&writer_packages(w, ROUNDS - 1)))
        .collect();
    assert_eq!(software.len(), 30, "{software:?}");
    assert!(last.contains(&set(&software)), "{software:?}");
    let history = store.inventory_history(device).await.unwrap();
    let appeared = history.iter().filter(|c| c.change == "appeared").count();
    assert_eq!(appeared - (history.len() - appeared), software.len());

    let open: HashSet<(SoftwareKey, String)> = store
        .open_weaknesses()
        .await
        .unwrap()
        .into_iter()
        .map(|w| (w.software, w.vulnerability_id))
        .collect();
    let last: Vec<HashSet<(SoftwareKey, String)>> = (0..2)
        .map(|w| {
            writer_weaknesses(w, ROUNDS - 1)
                .into_iter()
                .map(|d| (d.software, d.vulnerability_id))
                .collect()
        })
        .collect();
    assert!(last.contains(&open), "{open:?}");
    let open_rows = store
        .device_weaknesses(device)
        .await
        .unwrap()
        .into_iter()
        .filter(|w| w.resolved.is_none())
        .count();
    assert_eq!(open_rows, 2);
    assert_eq!(store.devices().await.unwrap().len(), 1);
}

/// Non-ASCII text (combining marks, emoji, right-to-left) and multi-megabyte strings come back unchanged;
/// names are compared exactly (composed and decomposed `é` are two devices).
async fn unicode_and_huge_strings_round_trip(store: Arc<dyn Store>) {
    let composed = "serveur-é-主机-🦀-שרת";
    let decomposed = "serveur-e\u{301}-主机-🦀-שרת";
    let device_info = DeviceInfo {
        name: composed.to_string(),
        os: Some("Debian 12 “bookworm” — ünïcödé".to_string()),
        group: Some("\u{202e}gnol".to_string()),
        tags: vec!["zoné".to_string(), "🔥".to_string(), "x".repeat(100_000)],
    };
    let a = store.upsert_device(&device_info, at(1)).await.unwrap();
    let b = store.upsert_device(&info(decomposed), at(1)).await.unwrap();
    assert_ne!(a.id, b.id);
    let found = store.device_by_name(composed).await.unwrap().unwrap();
    assert_eq!(
        (found.os, found.group, found.tags),
        (device_info.os, device_info.group, device_info.tags)
    );
    assert_eq!(
        store.device_by_name(decomposed).await.unwrap().unwrap().id,
        b.id
    );

    let huge_name = "ü".repeat(300_000);
    let package = InstalledPackage {
        purl: Some(format!("pkg:npm/{}", "%F0%9F%A6%80".repeat(100_000))),
        cpe: Some("cpe:2.3:a:ünï:çødé:*:*:*:*:*:*:*:*".to_string()),
        source_name: Some("ソース".to_string()),
        source_version: Some("1.0~ß".to_string()),
        ..pkg("npm", &huge_name, "1.0.0-ß🦀")
    };
    store
        .replace_inventory(a.id, slice::from_ref(&package), at(1))
        .await
        .unwrap();
    assert_eq!(
        store.device_software(a.id).await.unwrap(),
        slice::from_ref(&package)
    );
    assert_eq!(
        store.inventory_history(a.id).await.unwrap()[0].package,
        package
    );

    let software = key("npm", &huge_name, "1.0.0-ß🦀");
    let weakness = detected(&software, "CVE-2024-ünï", &["GHSA-çødé", "ÆØÅ-1"]);
    store
        .replace_weaknesses(a.id, &[weakness], at(1))
        .await
        .unwrap();
    let open = store.open_weaknesses().await.unwrap();
    assert_eq!(
        (&open[0].software, open[0].vulnerability_id.as_str()),
        (&software, "CVE-2024-ünï")
    );
    assert_eq!(open[0].advisory_ids, ["GHSA-çødé", "ÆØÅ-1"]);

    let mut big = advisory("GHSA-ünï-çødé", "2024-01-01T00:00:00Z", "résumé 🦀");
    big.details = Some("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ".repeat(150_000));
    big.references = (0..1_000)
        .map(|i| format!("https://example.invalid/ü/{i}"))
        .collect();
    store.upsert_advisories(&[big.clone()]).await.unwrap();
    assert_eq!(store.advisory(&big.id).await.unwrap(), Some(big));
}

/// CPE-only software (ecosystem `CPE`, named `vendor:product`) is stored as text like any ecosystem
/// and read back the same: in the software set, its history and the weaknesses NVD's ranges find.
async fn cpe_only_software_round_trips(store: Arc<dyn Store>) {
    let device = new_device(&store, "struts-app").await;
    let cpe_only = EcosystemRelease::new(bulwark_core::Ecosystem::Cpe, None);
    let package = InstalledPackage {
        cpe: Some("cpe:2.3:a:apache:struts:2.3.5:*:*:*:*:*:*:*".to_string()),
        ..InstalledPackage::new(cpe_only.clone(), "apache:struts", "2.3.5")
    };
    store
        .replace_inventory(device.id, slice::from_ref(&package), at(1))
        .await
        .unwrap();
    assert_eq!(
        store.device_software(device.id).await.unwrap(),
        slice::from_ref(&package)
    );
    assert_eq!(
        store.inventory_history(device.id).await.unwrap()[0].package,
        package
    );
    let software = SoftwareKey {
        ecosystem: cpe_only,
        name: "apache:struts".to_string(),
        version: "2.3.5".to_string(),
    };
    let weakness = detected(&software, "CVE-2017-5638", &["NVD:CVE-2017-5638"]);
    store
        .replace_weaknesses(device.id, &[weakness], at(1))
        .await
        .unwrap();
    let open = store.open_weaknesses().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (&open[0].software, open[0].software.ecosystem.to_string()),
        (&software, "CPE".to_string())
    );
}

/// The store answers a health check.
async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    new_device(&store, "after-ping").await;
    store.ping().await.unwrap();
}

/// Everything written survives closing the store and opening the same URL again, and opening an
/// already migrated database migrates nothing twice.
async fn reopening_keeps_data(url: &str) {
    let package = deb("libssl3", "3.0.11", "openssl", "3.0.11");
    let software = key("Debian:12", "openssl", "3.0.11");
    let stored_advisory = advisory("DSA-5000-1", "2024-01-01T00:00:00Z", "kept");
    let device = {
        let store = open(url).await.unwrap();
        store
            .upsert_advisories(slice::from_ref(&stored_advisory))
            .await
            .unwrap();
        let device = store
            .upsert_device(
                &DeviceInfo {
                    os: Some("Debian 12".into()),
                    ..info("kept")
                },
                at(1),
            )
            .await
            .unwrap();
        store
            .replace_inventory(device.id, slice::from_ref(&package), at(1))
            .await
            .unwrap();
        store
            .replace_weaknesses(
                device.id,
                &[detected(&software, "CVE-1", &["DSA-5000-1"])],
                at(1),
            )
            .await
            .unwrap();
        device
    };
    let store = open(url).await.unwrap();
    assert_eq!(store.advisories().await.unwrap(), vec![stored_advisory]);
    assert_eq!(store.devices().await.unwrap(), vec![device.clone()]);
    assert_eq!(store.device_software(device.id).await.unwrap(), [package]);
    assert_eq!(store.inventory_history(device.id).await.unwrap().len(), 1);
    assert_eq!(
        periods(&store.open_weaknesses().await.unwrap(), &software, "CVE-1"),
        [(at(1), None)]
    );
    let again = store.upsert_device(&info("kept"), at(2)).await.unwrap();
    assert_eq!(
        (again.id, again.first_seen, again.os),
        (device.id, at(1), Some("Debian 12".into()))
    );
    store.ping().await.unwrap();
}

// ---------------------------------------------------------------------------------------------------------------
// Threat context, device attributes, device groups, score history.

fn nvd(id: &str, last_modified: &str, description: &str) -> NvdRecord {
    NvdRecord {
        id: id.to_string(),
        source_identifier: None,
        published: "2024-01-01T00:00:00Z".to_string(),
        last_modified: last_modified.to_string(),
        vuln_status: Some("Analyzed".to_string()),
        descriptions: vec![LocalizedText {
            lang: "en".to_string(),
            value: description.to_string(),
        }],
        cvss: vec![CvssMetric::new(
            CvssVersion::V31,
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".to_string(),
            9.8,
            "nvd@nist.gov".to_string(),
            true,
        )],
        cwes: vec!["CWE-787".to_string()],
        references: vec!["https://example.org/a".to_string()],
        exploit_references: vec![],
        configurations: vec![],
        kev: None,
    }
}

fn kev_entry(cve: &str, added: &str) -> KevEntry {
    KevEntry {
        cve_id: cve.to_string(),
        vendor_project: "Vendor".to_string(),
        product: "Product".to_string(),
        vulnerability_name: format!("{cve} name"),
        date_added: NaiveDate::parse_from_str(added, "%Y-%m-%d").unwrap(),
        short_description: "d".to_string(),
        required_action: "Apply updates.".to_string(),
        due_date: NaiveDate::parse_from_str(added, "%Y-%m-%d").unwrap(),
        known_ransomware_campaign_use: false,
        notes: String::new(),
        cwes: vec![],
    }
}

/// The change sequence counts exactly the writes that change what engines hold in memory: advisory
/// batches that insert or update, NVD batches that insert or update, every KEV catalog, EPSS sets that
/// write a score; a write that changes nothing, a failing batch and every other write leave it.
async fn change_sequence_counts_changes_of_in_memory_state(store: Arc<dyn Store>) {
    let seq = |advisories, threat| (advisories, threat);
    let read = async || {
        let s = store.change_sequence().await.unwrap();
        (s.advisories, s.threat)
    };
    assert_eq!(
        store.change_sequence().await.unwrap(),
        ChangeSequence::default()
    );
    let a = advisory("A", "2024-01-01T00:00:00Z", "a");
    store.upsert_advisories(slice::from_ref(&a)).await.unwrap();
    assert_eq!(read().await, seq(1, 0));
    // Re-importing the same record, and an empty batch, change nothing.
    store.upsert_advisories(slice::from_ref(&a)).await.unwrap();
    store.upsert_advisories(&[]).await.unwrap();
    assert_eq!(read().await, seq(1, 0));
    // A batch that fails changes neither the advisories nor the sequence.
    let bad = [
        advisory("B", "2024-06-01T00:00:00Z", "would insert"),
        advisory("C", "last Tuesday", "bad time"),
    ];
    assert!(store.upsert_advisories(&bad).await.is_err());
    assert_eq!(read().await, seq(1, 0));
    store
        .upsert_advisories(&[advisory("A", "2024-02-01T00:00:00Z", "newer")])
        .await
        .unwrap();
    assert_eq!(read().await, seq(2, 0));

    let record = nvd("CVE-2024-0001", "2024-02-01T00:00:00Z", "a");
    store.upsert_nvd(slice::from_ref(&record)).await.unwrap();
    assert_eq!(read().await, seq(2, 1));
    store.upsert_nvd(slice::from_ref(&record)).await.unwrap();
    assert_eq!(read().await, seq(2, 1));
    let catalog = KevCatalog {
        catalog_version: Some("2025.08.01".to_string()),
        date_released: None,
        entries: vec![kev_entry("CVE-2024-0001", "2025-01-02")],
    };
    store.replace_kev(&catalog, at(1)).await.unwrap();
    store.replace_kev(&catalog, at(2)).await.unwrap();
    assert_eq!(read().await, seq(2, 3));
    let day = |date: &str| EpssSet {
        model_version: Some("v2025.03.14".to_string()),
        score_date: Some(format!("{date}T00:00:00Z")),
        scores: vec![epss("CVE-2024-0001", 0.5)],
    };
    store.upsert_epss(&day("2025-03-15"), at(3)).await.unwrap();
    assert_eq!(read().await, seq(2, 4));
    // An older day writes no score: no change.
    let stats = store.upsert_epss(&day("2025-03-01"), at(4)).await.unwrap();
    assert_eq!(stats.written, 0);
    assert_eq!(read().await, seq(2, 4));

    // Writes of the fleet move only the fleet's counter.
    let device = new_device(&store, "web-01").await;
    store
        .replace_inventory(device.id, &[pkg("npm", "a", "1")], at(5))
        .await
        .unwrap();
    assert_eq!(read().await, seq(2, 4));
    assert_eq!(store.change_sequence().await.unwrap().fleet, 2);
}

/// Every write of a device, its software, its open weaknesses, a device group or an exception bumps the
/// fleet's counter once and logs the device it touched (none for groups and exceptions); writes that
/// change nothing, and every other write, leave it. The log of a range names exactly its changes.
async fn fleet_changes_name_each_write_and_its_device(store: Arc<dyn Store>) {
    let fleet = async || store.change_sequence().await.unwrap().fleet;
    assert_eq!(fleet().await, 0);
    let web = new_device(&store, "web-01").await;
    let db = new_device(&store, "db-01").await;
    assert_eq!(fleet().await, 2);
    let software = [pkg("npm", "a", "1")];
    store
        .replace_inventory(web.id, &software, at(1))
        .await
        .unwrap();
    assert_eq!(fleet().await, 3);
    // The same set again changes no row.
    store
        .replace_inventory(web.id, &software, at(2))
        .await
        .unwrap();
    assert_eq!(fleet().await, 3);
    let found = [detected(&key("npm", "a", "1"), "CVE-1", &["A"])];
    store
        .replace_weaknesses(web.id, &found, at(3))
        .await
        .unwrap();
    store
        .replace_weaknesses(web.id, &found, at(4))
        .await
        .unwrap();
    assert_eq!(fleet().await, 4);
    let patch = DevicePatch {
        value: Some(DeviceValue::High),
        ..DevicePatch::default()
    };
    store.update_device(db.id, &patch).await.unwrap();
    assert_eq!(fleet().await, 5);
    let changes = store.fleet_changes(2, 5).await.unwrap();
    assert!(changes.complete, "{changes:?}");
    assert!(!changes.shared);
    assert_eq!(changes.seq, 5);
    assert_eq!(
        changes.devices,
        std::collections::BTreeSet::from([web.id, db.id])
    );
    let group = NewDeviceGroup {
        name: "Web".to_string(),
        description: String::new(),
        rank: 1,
        rules: vec![],
    };
    let created = store.create_device_group(&group, at(5)).await.unwrap();
    // A refused write changes nothing.
    assert!(store.create_device_group(&group, at(5)).await.is_err());
    assert_eq!(fleet().await, 6);
    let exception = store
        .create_exception(&new_exception("npm-a", &[], 6), ANA)
        .await
        .unwrap();
    store
        .cancel_exception(exception.id, None, ANA, at(7))
        .await
        .unwrap();
    store.delete_device_group(created.id).await.unwrap();
    assert_eq!(fleet().await, 9);
    let changes = store.fleet_changes(5, 9).await.unwrap();
    assert!(changes.complete && changes.shared && changes.devices.is_empty());
    // Writes outside the fleet leave it.
    store
        .upsert_advisories(&[advisory("A", "2024-01-01T00:00:00Z", "a")])
        .await
        .unwrap();
    store
        .record_scores(&[ScoreSnapshot {
            at: at(8),
            scope: ScoreScope::Organization,
            name: String::new(),
            exposure: 1.0,
            configuration: None,
        }])
        .await
        .unwrap();
    assert_eq!(fleet().await, 9);
    // Nothing after the newest value; a range that runs backwards is not complete.
    assert!(store.fleet_changes(9, 9).await.unwrap().complete);
    assert!(!store.fleet_changes(9, 3).await.unwrap().complete);
    // A reload of the changed devices reads what a whole-fleet read gives for them.
    let all = store.open_weaknesses().await.unwrap();
    for device in [web.id, db.id] {
        let mine: Vec<Weakness> = all
            .iter()
            .filter(|w| w.device_id == device)
            .cloned()
            .collect();
        assert_eq!(store.open_weaknesses_of(device).await.unwrap(), mine);
    }
    assert_eq!(store.open_weaknesses_of(web.id).await.unwrap().len(), 1);
}

/// Every pool names its role and has at least one connection allowed, idle never above open.
async fn pool_status_names_each_pool(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let pools = store.pool_status();
    assert!(!pools.is_empty());
    for pool in &pools {
        assert!(
            ["writer", "reader", "main"].contains(&pool.pool),
            "{pool:?}"
        );
        assert!(
            pool.max >= 1 && pool.size <= pool.max && pool.idle <= pool.size,
            "{pool:?}"
        );
    }
}

fn epss(cve: &str, p: f64) -> EpssScore {
    EpssScore {
        cve: cve.to_string(),
        epss: p,
        percentile: p / 2.0,
    }
}

async fn nvd_records_replace_only_newer(store: Arc<dyn Store>) {
    let stats = store
        .upsert_nvd(&[
            nvd("CVE-2024-0002", "2024-02-01T00:00:00Z", "b"),
            nvd("CVE-2024-0001", "2024-02-01T00:00:00Z", "a"),
        ])
        .await
        .unwrap();
    assert_eq!((stats.inserted, stats.updated, stats.unchanged), (2, 0, 0));
    let stats = store
        .upsert_nvd(&[
            nvd("CVE-2024-0001", "2024-01-01T00:00:00Z", "older"),
            nvd("CVE-2024-0002", "2024-03-01T00:00:00Z", "newer"),
        ])
        .await
        .unwrap();
    assert_eq!((stats.inserted, stats.updated, stats.unchanged), (0, 1, 1));
    assert_eq!(stats.changed_ids, ["CVE-2024-0002"]);
    let stored = store.nvd_records().await.unwrap();
    assert_eq!(
        stored,
        vec![
            nvd("CVE-2024-0001", "2024-02-01T00:00:00Z", "a"),
            nvd("CVE-2024-0002", "2024-03-01T00:00:00Z", "newer"),
        ]
    );
    // A bad time refuses the whole batch.
    let result = store
        .upsert_nvd(&[
            nvd("CVE-2024-0003", "2024-03-01T00:00:00Z", "c"),
            nvd("CVE-2024-0004", "yesterday", "d"),
        ])
        .await;
    assert!(
        matches!(result, Err(StoreError::Invalid { .. })),
        "{result:?}"
    );
    assert_eq!(store.nvd_records().await.unwrap().len(), 2);
}

async fn kev_catalog_is_replaced_whole(store: Arc<dyn Store>) {
    let first = KevCatalog {
        catalog_version: Some("2025.08.01".to_string()),
        date_released: Some("2025-08-01T00:00:00.000Z".to_string()),
        entries: vec![
            kev_entry("CVE-2021-44228", "2021-12-10"),
            kev_entry("CVE-2014-0160", "2022-05-04"),
        ],
    };
    let diff = store.replace_kev(&first, at(1)).await.unwrap();
    assert_eq!(diff.added, ["CVE-2021-44228", "CVE-2014-0160"]);
    assert_eq!((diff.removed.len(), diff.kept), (0, 0));
    let second = KevCatalog {
        catalog_version: None,
        date_released: None,
        entries: vec![
            kev_entry("CVE-2024-6387", "2024-07-01"),
            kev_entry("CVE-2021-44228", "2021-12-10"),
            kev_entry("CVE-2021-44228", "2021-12-10"),
        ],
    };
    let diff = store.replace_kev(&second, at(2)).await.unwrap();
    assert_eq!(diff.added, ["CVE-2024-6387"]);
    assert_eq!(diff.removed, ["CVE-2014-0160"]);
    assert_eq!(diff.kept, 1);
    let stored = store.kev().await.unwrap();
    assert_eq!(stored.catalog_version, None);
    assert_eq!(
        stored.entries,
        vec![
            kev_entry("CVE-2021-44228", "2021-12-10"),
            kev_entry("CVE-2024-6387", "2024-07-01"),
        ]
    );
}

async fn epss_keeps_the_latest_dated_score(store: Arc<dyn Store>) {
    let day = |date: &str, scores: Vec<EpssScore>| EpssSet {
        model_version: Some("v2025.03.14".to_string()),
        score_date: Some(format!("{date}T00:00:00Z")),
        scores,
    };
    let stats = store
        .upsert_epss(
            &day("2025-03-15", vec![epss("CVE-1", 0.5), epss("CVE-2", 0.1)]),
            at(1),
        )
        .await
        .unwrap();
    assert_eq!((stats.written, stats.older), (2, 0));
    // An older day changes nothing it covers; a new CVE is still stored.
    let stats = store
        .upsert_epss(
            &day("2025-03-01", vec![epss("CVE-1", 0.9), epss("CVE-3", 0.3)]),
            at(2),
        )
        .await
        .unwrap();
    assert_eq!((stats.written, stats.older), (1, 1));
    // A later day and an undated file replace.
    store
        .upsert_epss(&day("2025-03-16", vec![epss("CVE-2", 0.2)]), at(3))
        .await
        .unwrap();
    let undated = EpssSet {
        model_version: None,
        score_date: None,
        scores: vec![epss("CVE-3", 0.4)],
    };
    store.upsert_epss(&undated, at(4)).await.unwrap();
    let stored = store.epss().await.unwrap();
    assert_eq!(
        stored.scores,
        vec![epss("CVE-1", 0.5), epss("CVE-2", 0.2), epss("CVE-3", 0.4)]
    );
    assert_eq!((stored.model_version, stored.score_date), (None, None));
}

async fn device_attributes_and_groups(store: Arc<dyn Store>) {
    let web = new_device(&store, "web-01").await;
    assert_eq!(web.value, DeviceValue::Normal);
    let patched = store
        .update_device(
            web.id,
            &DevicePatch {
                value: Some(DeviceValue::High),
                tags: Some(vec!["internet-facing".to_string()]),
                group: Some(Some("Web".to_string())),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (patched.value, patched.tags.clone(), patched.group.clone()),
        (
            DeviceValue::High,
            vec!["internet-facing".to_string()],
            Some("Web".to_string())
        )
    );
    // An ingest's upsert keeps the value.
    let again = store.upsert_device(&info("web-01"), at(5)).await.unwrap();
    assert_eq!(again.value, DeviceValue::High);
    // Only what is given changes; `Some(None)` removes the explicit group.
    let cleared = store
        .update_device(
            web.id,
            &DevicePatch {
                group: Some(None),
                ..DevicePatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((cleared.value, cleared.group), (DeviceValue::High, None));
    assert!(matches!(
        store
            .update_device(DeviceId(999_999), &DevicePatch::default())
            .await,
        Err(StoreError::NotFound(_))
    ));

    let rules = vec![GroupRule::Tag("internet-facing".to_string())];
    let a = store
        .create_device_group(
            &NewDeviceGroup {
                name: "Web".to_string(),
                description: "web servers".to_string(),
                rank: 10,
                rules: rules.clone(),
            },
            at(6),
        )
        .await
        .unwrap();
    let b = store
        .create_device_group(
            &NewDeviceGroup {
                name: "Databases".to_string(),
                description: String::new(),
                rank: 5,
                rules: vec![],
            },
            at(6),
        )
        .await
        .unwrap();
    assert_eq!(a.rules, rules);
    let taken = store
        .create_device_group(
            &NewDeviceGroup {
                name: "Web".to_string(),
                description: String::new(),
                rank: 1,
                rules: vec![],
            },
            at(7),
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let names: Vec<String> = store
        .device_groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["Databases", "Web"]);

    // A rename carries the explicitly assigned devices along; a taken name is a conflict.
    store
        .update_device(
            web.id,
            &DevicePatch {
                group: Some(Some("Web".to_string())),
                ..DevicePatch::default()
            },
        )
        .await
        .unwrap();
    let renamed = store
        .update_device_group(
            a.id,
            &DeviceGroupPatch {
                name: Some("Frontends".to_string()),
                ..DeviceGroupPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.rank), ("Frontends", 10));
    assert_eq!(
        store
            .device(web.id)
            .await
            .unwrap()
            .unwrap()
            .group
            .as_deref(),
        Some("Frontends")
    );
    let clash = store
        .update_device_group(
            a.id,
            &DeviceGroupPatch {
                name: Some("Databases".to_string()),
                ..DeviceGroupPatch::default()
            },
        )
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    assert!(matches!(
        store
            .update_device_group(999_999, &DeviceGroupPatch::default())
            .await,
        Err(StoreError::NotFound(_))
    ));
    // Deleting a group removes the explicit assignments to it.
    store.delete_device_group(a.id).await.unwrap();
    assert_eq!(store.device(web.id).await.unwrap().unwrap().group, None);
    assert!(matches!(
        store.delete_device_group(a.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.device_groups().await.unwrap(), vec![b]);
}

async fn score_history_is_per_scope_and_time(store: Arc<dyn Store>) {
    assert_eq!(store.latest_score_time().await.unwrap(), None);
    let snap = |secs: i64, scope: ScoreScope, name: &str, exposure: f64| ScoreSnapshot {
        at: at(secs),
        scope,
        name: name.to_string(),
        exposure,
        configuration: (scope == ScoreScope::Device).then_some(50.0),
    };
    store
        .record_scores(&[
            snap(10, ScoreScope::Organization, "", 40.0),
            snap(10, ScoreScope::Group, "web", 60.0),
            snap(10, ScoreScope::Device, "web-01", 61.5),
        ])
        .await
        .unwrap();
    store
        .record_scores(&[
            snap(20, ScoreScope::Organization, "", 35.0),
            snap(30, ScoreScope::Organization, "", 30.0),
        ])
        .await
        .unwrap();
    let org = store
        .score_history(ScoreScope::Organization, "", at(10), at(20))
        .await
        .unwrap();
    assert_eq!(
        org,
        vec![
            snap(10, ScoreScope::Organization, "", 40.0),
            snap(20, ScoreScope::Organization, "", 35.0)
        ]
    );
    let device = store
        .score_history(ScoreScope::Device, "web-01", at(0), at(100))
        .await
        .unwrap();
    assert_eq!(device, vec![snap(10, ScoreScope::Device, "web-01", 61.5)]);
    assert_eq!(store.latest_score_time().await.unwrap(), Some(at(30)));
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration assessments.

use bulwark_core::config::{
    CheckResult, CheckSource, CheckStatus, ConfigCategory, ConfigCheck, Evidence, Weight,
};

fn check_result(id: &str, source: CheckSource, status: CheckStatus) -> CheckResult {
    CheckResult {
        check_id: id.to_string(),
        source,
        title: format!("Title of {id}"),
        category: ConfigCategory::Network,
        weight: Weight::new(7).expect("weight"),
        status,
        evidence: vec![Evidence::new(format!("{id} setting"), "seen ✓")],
    }
}

fn config_check(id: &str, description: &str) -> ConfigCheck {
    ConfigCheck {
        id: id.to_string().into(),
        title: format!("Title of {id}").into(),
        category: ConfigCategory::SecurityControls,
        weight: Weight::new(6).expect("weight"),
        description: description.to_string().into(),
        remediation: "chmod 0600 /boot/System.map*".into(),
        rule: Some(
            id.trim_start_matches("xccdf_org.ssgproject.content_rule_")
                .to_string()
                .into(),
        ),
        control: None,
    }
}

async fn config_results_are_replaced_per_device_and_source(store: Arc<dyn Store>) {
    use CheckSource::{Bulwark, OpenScap, Osquery};
    use CheckStatus::{Fail, NotCollected, Pass};
    let web = new_device(&store, "web-01").await;
    let db = new_device(&store, "db-01").await;
    assert_eq!(store.config_results().await.unwrap(), vec![]);
    assert_eq!(store.device_config_results(web.id).await.unwrap(), vec![]);

    let web_bulwark = [
        check_result("b-ssh", Bulwark, Fail),
        check_result("a-aslr", Bulwark, Pass),
        check_result("c-shadow", Bulwark, NotCollected),
    ];
    let web_openscap = [check_result("xccdf_rule_x", OpenScap, Pass)];
    let db_bulwark = [check_result("a-aslr", Bulwark, Fail)];
    store
        .replace_config_results(web.id, Bulwark, &web_bulwark, at(10))
        .await
        .unwrap();
    store
        .replace_config_results(web.id, OpenScap, &web_openscap, at(11))
        .await
        .unwrap();
    store
        .replace_config_results(db.id, Bulwark, &db_bulwark, at(12))
        .await
        .unwrap();
    // By device (ids in creation order), then source, then check id; the whole result round-trips.
    assert!(web.id < db.id);
    let expected = vec![
        (web.id, web_bulwark[1].clone()),
        (web.id, web_bulwark[0].clone()),
        (web.id, web_bulwark[2].clone()),
        (web.id, web_openscap[0].clone()),
        (db.id, db_bulwark[0].clone()),
    ];
    assert_eq!(store.config_results().await.unwrap(), expected);
    assert_eq!(
        store.device_config_results(web.id).await.unwrap(),
        vec![
            web_bulwark[1].clone(),
            web_bulwark[0].clone(),
            web_bulwark[2].clone(),
            web_openscap[0].clone()
        ]
    );

    // A new assessment from one source replaces only that source's results of that device; a check
    // given twice keeps its last result.
    let fixed = [
        check_result("b-ssh", Bulwark, Fail),
        check_result("b-ssh", Bulwark, Pass),
    ];
    store
        .replace_config_results(web.id, Bulwark, &fixed, at(20))
        .await
        .unwrap();
    assert_eq!(
        store.device_config_results(web.id).await.unwrap(),
        vec![fixed[1].clone(), web_openscap[0].clone()]
    );
    assert_eq!(
        store.device_config_results(db.id).await.unwrap(),
        db_bulwark.to_vec()
    );

    // A result of another source is refused and changes nothing.
    let mixed = [
        check_result("a-aslr", Bulwark, Pass),
        check_result("x", Osquery, Pass),
    ];
    let refused = store
        .replace_config_results(web.id, Bulwark, &mixed, at(30))
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid { what, .. }) if what.contains("\"x\"")),
        "{refused:?}"
    );
    assert_eq!(
        store.device_config_results(web.id).await.unwrap(),
        vec![fixed[1].clone(), web_openscap[0].clone()]
    );

    // An empty assessment clears the source.
    store
        .replace_config_results(web.id, OpenScap, &[], at(40))
        .await
        .unwrap();
    assert_eq!(
        store.device_config_results(web.id).await.unwrap(),
        vec![fixed[1].clone()]
    );
    let missing = store
        .replace_config_results(DeviceId(999_999), Bulwark, &web_bulwark, at(50))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(
        store
            .device_config_results(DeviceId(999_999))
            .await
            .unwrap(),
        vec![]
    );
}

async fn config_checks_are_upserted_by_id(store: Arc<dyn Store>) {
    assert_eq!(store.config_checks().await.unwrap(), vec![]);
    store.upsert_config_checks(&[]).await.unwrap();
    let b = config_check("xccdf_org.ssgproject.content_rule_b", "first");
    let a = config_check(
        "xccdf_org.ssgproject.content_rule_a",
        "Ünïcode — and \"quotes\"",
    );
    store
        .upsert_config_checks(&[b.clone(), a.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.config_checks().await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    // Same id again: the definition is replaced; the last of a repeated id wins.
    let b2 = config_check("xccdf_org.ssgproject.content_rule_b", "second");
    let b3 = config_check("xccdf_org.ssgproject.content_rule_b", "third");
    let c = config_check("c", "new");
    store
        .upsert_config_checks(&[b2, c.clone(), b3.clone()])
        .await
        .unwrap();
    // By id in byte order: `c` sorts before `xccdf_…`.
    assert_eq!(store.config_checks().await.unwrap(), vec![c, a, b3]);
}

// ---------------------------------------------------------------------------------------------------------------
// Identity, exceptions, remediation activities, the audit trail, webhooks and settings.

use bulwark_core::audit::{AuditDraft, AuditEntry, verify};
use bulwark_core::exception::{
    CoverageFacts, Exception, ExceptionStatus, Justification, NewException, ReviewMark, TargetKind,
};
use bulwark_core::identity::{ApiToken, ConsoleSession, Role, User, token_digest};
use bulwark_core::remediation::{CompletionMethod, NewTask, Priority, TaskStatus};
use bulwark_core::webhook::EventKind;
use bulwark_store::{
    AuditFilter, DeliveryOutcome, ExceptionTracking, NewToken, NewUser, NewWebhook,
};

/// The acting user of the changes in these checks.
const ANA: &str = "ana@example.org";

/// A day in seconds, for [`at`].
const DAY: i64 = 86_400;

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.to_string(),
        display_name: format!("User {email}"),
        role,
        password_hash: Some(format!("$argon2id$v=19$m=19456,t=2,p=1$hash-of-{email}")),
    }
}

fn new_token(user_id: i64, token: &str, expires_at: Option<DateTime<Utc>>) -> NewToken {
    NewToken {
        user_id,
        prefix: token[..8].to_string(),
        digest: token_digest(token),
        expires_at,
    }
}

/// A 30-day exception on a recommendation created at `at(secs)`: global when `groups` is empty.
fn new_exception(target: &str, groups: &[&str], secs: i64) -> NewException {
    NewException {
        kind: TargetKind::Recommendation,
        target: target.to_string(),
        justification: Justification::RiskAccepted,
        context: "accepted by the CISO".to_string(),
        global: groups.is_empty(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        created_by: ANA.to_string(),
        created_at: at(secs),
        expires_at: at(secs + 30 * DAY),
    }
}

fn new_task(recommendation: &str, secs: i64) -> NewTask {
    NewTask {
        recommendation_id: recommendation.to_string(),
        title: format!("Update {recommendation}"),
        description: "Fix it".to_string(),
        related_component: "django".to_string(),
        recommended_version: Some("4.2.16".to_string()),
        priority: Priority::High,
        due_on: Some(at(secs + 7 * DAY)),
        notes: "before the audit".to_string(),
        groups: vec!["web".to_string()],
        target_devices: vec![1, 2],
        created_by: ANA.to_string(),
        created_at: at(secs),
    }
}

/// The whole audit trail.
async fn trail(store: &Arc<dyn Store>) -> Vec<AuditEntry> {
    store.audit(&AuditFilter::default()).await.unwrap()
}

/// The (action, entity, entity id) of each entry.
fn actions(entries: &[AuditEntry]) -> Vec<(String, String, String)> {
    entries
        .iter()
        .map(|e| (e.action.clone(), e.entity.clone(), e.entity_id.clone()))
        .collect()
}

fn act(action: &str, entity: &str, id: impl ToString) -> (String, String, String) {
    (action.to_string(), entity.to_string(), id.to_string())
}

/// An entry's before or after JSON as a value of the entity's type.
fn parsed<T: serde::de::DeserializeOwned>(json: Option<&str>) -> T {
    serde_json::from_str(json.expect("the entry holds the entity")).expect("the entity's JSON")
}

fn expect_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, message: &str) {
    match result {
        Err(StoreError::Conflict(m)) => assert_eq!(m, message),
        other => panic!("expected Conflict({message:?}), got {other:?}"),
    }
}

fn expect_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, message: &str) {
    match result {
        Err(StoreError::NotFound(m)) => assert_eq!(m, message),
        other => panic!("expected NotFound({message:?}), got {other:?}"),
    }
}

fn expect_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Invalid { .. })),
        "expected Invalid, got {result:?}"
    );
}

/// Users are unique by e-mail and found by it with their password hash; creation is audited without it.
async fn users_are_unique_by_email(store: Arc<dyn Store>) {
    let ana = store
        .create_user(&new_user(ANA, Role::Admin), "system", at(1))
        .await
        .unwrap();
    assert_eq!(
        (ana.email.as_str(), ana.role, ana.created_at),
        (ANA, Role::Admin, at(1))
    );
    let mut bo = new_user("bo@example.org", Role::Viewer);
    bo.password_hash = None;
    let bo = store.create_user(&bo, ANA, at(2)).await.unwrap();
    expect_conflict(
        store
            .create_user(&new_user(ANA, Role::Viewer), ANA, at(3))
            .await,
        "a user with the e-mail ana@example.org exists",
    );
    assert_eq!(store.users().await.unwrap(), vec![ana.clone(), bo.clone()]);
    let (found, hash) = store.user_by_email(ANA).await.unwrap().unwrap();
    assert_eq!(found, ana);
    assert_eq!(
        hash.as_deref(),
        Some("$argon2id$v=19$m=19456,t=2,p=1$hash-of-ana@example.org")
    );
    assert_eq!(
        store.user_by_email("bo@example.org").await.unwrap(),
        Some((bo.clone(), None))
    );
    assert_eq!(
        store.user_by_email("nobody@example.org").await.unwrap(),
        None
    );

    let entries = trail(&store).await;
    assert_eq!(
        actions(&entries),
        [
            act("user.create", "user", ana.id),
            act("user.create", "user", bo.id)
        ]
    );
    assert_eq!(
        (entries[0].actor.as_str(), entries[0].at),
        ("system", at(1))
    );
    assert_eq!(entries[0].before, None);
    assert_eq!(parsed::<User>(entries[0].after.as_deref()), ana);
    assert!(!entries[0].after.as_deref().unwrap().contains("argon2"));
}

/// Console sessions are found by digest with their user, touched and ended once; they leave no audit
/// entry and keep the first end.
async fn console_sessions_are_found_touched_and_ended(store: Arc<dyn Store>) {
    let ana = store
        .create_user(&new_user(ANA, Role::Analyst), "system", at(0))
        .await
        .unwrap();
    let digest = token_digest("session-cookie-value");
    let session = store
        .create_session(ana.id, &digest, at(1), at(100))
        .await
        .unwrap();
    assert_eq!(
        session,
        ConsoleSession {
            id: session.id,
            user_id: ana.id,
            created_at: at(1),
            expires_at: at(100),
            last_seen_at: at(1),
            ended_at: None,
        }
    );
    expect_not_found(
        store.create_session(999, "other", at(1), at(100)).await,
        "user 999",
    );
    expect_conflict(
        store.create_session(ana.id, &digest, at(2), at(100)).await,
        "a token with this digest exists",
    );
    let (found, user) = store.session_by_digest(&digest).await.unwrap().unwrap();
    assert_eq!((found, user), (session.clone(), ana.clone()));
    assert_eq!(store.session_by_digest("unknown").await.unwrap(), None);

    store.touch_session(session.id, at(5)).await.unwrap();
    expect_not_found(store.touch_session(999, at(5)).await, "console session 999");
    store.end_session(session.id, at(6)).await.unwrap();
    store.end_session(session.id, at(7)).await.unwrap();
    expect_not_found(store.end_session(999, at(7)).await, "console session 999");
    let (ended, _) = store.session_by_digest(&digest).await.unwrap().unwrap();
    assert_eq!((ended.last_seen_at, ended.ended_at), (at(5), Some(at(6))));
    let idle = chrono::Duration::seconds(30);
    assert!(!ended.valid_at(at(6), idle));
    assert!(session.valid_at(at(30), idle));
    assert!(
        !session.valid_at(at(31), idle),
        "idle for the whole timeout"
    );
    assert!(
        !session.valid_at(at(100), chrono::Duration::days(1)),
        "past its lifetime"
    );
    // Signing in and out is not a reviewed change: the trail holds only the user's creation.
    assert_eq!(trail(&store).await.len(), 1);

    // A new password ends every session of the user, and is audited without the hash.
    let other = store
        .create_session(ana.id, &token_digest("second"), at(8), at(100))
        .await
        .unwrap();
    let changed = store
        .set_password(ana.id, "$argon2id$new", ANA, at(9))
        .await
        .unwrap();
    assert_eq!(changed, ana);
    let (second, _) = store
        .session_by_digest(&token_digest("second"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.id, second.ended_at), (other.id, Some(at(9))));
    let (first, _) = store.session_by_digest(&digest).await.unwrap().unwrap();
    assert_eq!(
        first.ended_at,
        Some(at(6)),
        "an ended session keeps its end"
    );
    let (_, hash) = store.user_by_email(ANA).await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$new"));
    expect_not_found(
        store.set_password(999, "$argon2id$x", ANA, at(9)).await,
        "user 999",
    );
    let entries = trail(&store).await;
    assert_eq!(
        actions(&entries)[1..],
        [act("user.password", "user", ana.id)]
    );
    assert!(
        entries
            .iter()
            .all(|e| !e.after.as_deref().unwrap_or("").contains("argon2"))
    );
}

/// Tokens are found by digest with their user, touched, listed and revoked once; expiry is only
/// recorded (the caller decides what an expired token may do).
async fn tokens_are_found_touched_and_revoked(store: Arc<dyn Store>) {
    let ana = store
        .create_user(&new_user(ANA, Role::Analyst), "system", at(0))
        .await
        .unwrap();
    let secret = "bwk_0123456789abcdef0123456789abcdef";
    let token = store
        .create_token(&new_token(ana.id, secret, Some(at(10))), ANA, at(1))
        .await
        .unwrap();
    assert_eq!(
        token,
        ApiToken {
            id: token.id,
            user_id: ana.id,
            prefix: "bwk_0123".into(),
            created_at: at(1),
            expires_at: Some(at(10)),
            last_used_at: None,
            revoked_at: None,
        }
    );
    let forever = store
        .create_token(&new_token(ana.id, "bwk_forever-forever", None), ANA, at(2))
        .await
        .unwrap();
    expect_not_found(
        store
            .create_token(&new_token(999, "bwk_nobody-nobody", None), ANA, at(2))
            .await,
        "user 999",
    );
    expect_conflict(
        store
            .create_token(&new_token(ana.id, secret, None), ANA, at(2))
            .await,
        "a token with this digest exists",
    );

    let (found, user) = store
        .token_by_digest(&token_digest(secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, user), (token.clone(), ana.clone()));
    assert_eq!(
        store
            .token_by_digest(&token_digest("bwk_other"))
            .await
            .unwrap(),
        None
    );
    // An expired token is still found: whether it may act is the caller's decision.
    assert!(!token.valid_at(at(10)));

    store.touch_token(token.id, at(5)).await.unwrap();
    expect_not_found(store.touch_token(999, at(5)).await, "token 999");
    let touched = store.tokens(ana.id).await.unwrap();
    assert_eq!(touched.len(), 2);
    assert_eq!(touched[0].last_used_at, Some(at(5)));
    assert_eq!(touched[1], forever);
    assert_eq!(store.tokens(999).await.unwrap(), vec![]);

    let revoked = store.revoke_token(token.id, ANA, at(6)).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(at(6)));
    assert!(!revoked.valid_at(at(6)));
    expect_conflict(
        store.revoke_token(token.id, ANA, at(7)).await,
        &format!(
            "token {} was already revoked at {}",
            token.id,
            at(6).to_rfc3339()
        ),
    );
    expect_not_found(store.revoke_token(999, ANA, at(7)).await, "token 999");

    let entries = trail(&store).await;
    assert_eq!(
        actions(&entries)[1..],
        [
            act("token.create", "token", token.id),
            act("token.create", "token", forever.id),
            act("token.revoke", "token", token.id),
        ]
    );
    assert_eq!(
        parsed::<ApiToken>(entries[3].before.as_deref()).last_used_at,
        Some(at(5))
    );
    assert_eq!(parsed::<ApiToken>(entries[3].after.as_deref()), revoked);
    let digest = token_digest(secret);
    assert!(entries.iter().all(|e| {
        !e.before.as_deref().unwrap_or("").contains(&digest)
            && !e.after.as_deref().unwrap_or("").contains(&digest)
    }));
}

/// A new exception conflicts only with one in effect on the same target whose scope overlaps; a global
/// and a device-group exception on one target do not conflict.
async fn exceptions_conflict_only_on_overlapping_scopes(store: Arc<dyn Store>) {
    let rec = "va-_-PyPI-_-django";
    let web = store
        .create_exception(&new_exception(rec, &["web", "db"], 0), ANA)
        .await
        .unwrap();
    assert_eq!(web.target, rec);
    assert_eq!(
        web.groups
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>(),
        ["db", "web"]
    );
    assert!(!web.global);
    assert_eq!(web.status_at(at(1)), ExceptionStatus::InEffect);

    expect_conflict(
        store
            .create_exception(&new_exception(rec, &["lab", "web"], 10), ANA)
            .await,
        &format!(
            "exception {} is already in effect for device group web on {rec}",
            web.id
        ),
    );
    let lab = store
        .create_exception(&new_exception(rec, &["lab"], 10), ANA)
        .await
        .unwrap();
    let global = store
        .create_exception(&new_exception(rec, &[], 20), ANA)
        .await
        .unwrap();
    assert!(global.global && global.groups.is_empty());
    expect_conflict(
        store
            .create_exception(&new_exception(rec, &[], 30), ANA)
            .await,
        &format!(
            "a global exception {} is already in effect on {rec}",
            global.id
        ),
    );
    // Another target, or the same id as a CVE, is another target.
    let other = store
        .create_exception(&new_exception("va-_-npm-_-lodash", &["web"], 30), ANA)
        .await
        .unwrap();
    let mut cve = new_exception(rec, &["web"], 30);
    cve.kind = TargetKind::Cve;
    cve.justification = Justification::FalsePositive;
    let cve = store.create_exception(&cve, ANA).await.unwrap();
    assert_eq!(cve.kind, TargetKind::Cve);
    // Once the first one has expired, its groups are free again.
    let again = store
        .create_exception(&new_exception(rec, &["web"], 30 * DAY), ANA)
        .await
        .unwrap();
    // A scope that is neither global nor a list of groups is refused.
    let mut neither = new_exception("va-_-npm-_-x", &["web"], 0);
    neither.groups.clear();
    expect_invalid(store.create_exception(&neither, ANA).await);
    let mut both = new_exception("va-_-npm-_-x", &["web"], 0);
    both.global = true;
    expect_invalid(store.create_exception(&both, ANA).await);

    let all = store.exceptions().await.unwrap();
    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    assert_eq!(ids, [web.id, lab.id, global.id, other.id, cve.id, again.id]);
    assert_eq!(all[0], web);
    assert_eq!(store.exception(global.id).await.unwrap(), Some(global));
    assert_eq!(store.exception(999).await.unwrap(), None);
    let created = trail(&store).await;
    assert_eq!(created.len(), 6);
    assert!(created.iter().all(|e| e.action == "exception.create"));
    assert_eq!(parsed::<Exception>(created[0].after.as_deref()), web);
    assert_eq!(created[0].at, at(0));
}

/// Two creations of overlapping exceptions at the same time: exactly one is stored, the other is a
/// conflict, for device-group and for global exceptions alike.
async fn concurrent_exceptions_one_wins(store: Arc<dyn Store>) {
    for round in 0..5 {
        let target = format!("va-_-PyPI-_-package-{round}");
        let groups: &[&str] = if round % 2 == 0 { &["web"] } else { &[] };
        let a = new_exception(&target, groups, round);
        let b = new_exception(&target, groups, round);
        let (x, y) = tokio::join!(
            store.create_exception(&a, ANA),
            store.create_exception(&b, "bo@example.org"),
        );
        let conflicts = [&x, &y]
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
            .count();
        let stored = [&x, &y].iter().filter(|r| r.is_ok()).count();
        assert_eq!((stored, conflicts), (1, 1), "round {round}: {x:?} {y:?}");
    }
    assert_eq!(store.exceptions().await.unwrap().len(), 5);
    assert_eq!(verify(&trail(&store).await), Ok(5));
}

/// An exception is canceled whole or one device group at a time; what is no longer in effect cannot
/// be canceled again, and a global exception has no groups to cancel.
async fn exceptions_are_canceled_whole_or_by_group(store: Arc<dyn Store>) {
    let rec = "va-_-PyPI-_-django";
    let e = store
        .create_exception(&new_exception(rec, &["db", "web"], 0), ANA)
        .await
        .unwrap();
    let web_only = [String::from("web")];
    let after = store
        .cancel_exception(e.id, Some(&web_only), "bo@example.org", at(10))
        .await
        .unwrap();
    assert_eq!(after.status_at(at(10)), ExceptionStatus::InEffect);
    assert_eq!(after.groups_in_effect(at(10)), ["db"]);
    assert_eq!(
        after.groups[1].canceled_by.as_deref(),
        Some("bo@example.org")
    );
    assert_eq!(after.groups[1].canceled_at, Some(at(10)));
    assert_eq!(store.exception(e.id).await.unwrap(), Some(after.clone()));
    // The canceled group is free for a new exception.
    store
        .create_exception(&new_exception(rec, &["web"], 20), ANA)
        .await
        .unwrap();
    expect_conflict(
        store
            .cancel_exception(e.id, Some(&web_only), ANA, at(30))
            .await,
        &format!("device group web of exception {} is already canceled", e.id),
    );
    expect_not_found(
        store
            .cancel_exception(e.id, Some(&["lab".to_string()]), ANA, at(30))
            .await,
        &format!("exception {} has no device group lab", e.id),
    );
    expect_invalid(store.cancel_exception(e.id, Some(&[]), ANA, at(30)).await);
    expect_not_found(
        store.cancel_exception(999, None, ANA, at(30)).await,
        "exception 999",
    );

    let whole = store
        .cancel_exception(e.id, None, ANA, at(40))
        .await
        .unwrap();
    assert_eq!(whole.status_at(at(40)), ExceptionStatus::Canceled);
    assert_eq!(
        (whole.canceled_by.as_deref(), whole.canceled_at),
        (Some(ANA), Some(at(40)))
    );
    expect_conflict(
        store.cancel_exception(e.id, None, ANA, at(50)).await,
        &format!("exception {} is already canceled", e.id),
    );

    let global = store
        .create_exception(&new_exception("va-_-npm-_-lodash", &[], 0), ANA)
        .await
        .unwrap();
    expect_invalid(
        store
            .cancel_exception(global.id, Some(&web_only), ANA, at(10))
            .await,
    );
    expect_conflict(
        store
            .cancel_exception(global.id, None, ANA, at(30 * DAY))
            .await,
        &format!("exception {} has already expired", global.id),
    );

    let entries = trail(&store).await;
    let cancels: Vec<&AuditEntry> = entries
        .iter()
        .filter(|x| x.action == "exception.cancel")
        .collect();
    assert_eq!(cancels.len(), 2);
    assert_eq!(parsed::<Exception>(cancels[0].before.as_deref()), e);
    assert_eq!(parsed::<Exception>(cancels[0].after.as_deref()), after);
    assert_eq!(parsed::<Exception>(cancels[1].after.as_deref()), whole);
    assert_eq!(cancels[0].actor, "bo@example.org");
}

/// Tracking updates only what it names; it is audited under the action given, and not at all without.
async fn exception_tracking_is_audited_only_with_an_action(store: Arc<dyn Store>) {
    let e = store
        .create_exception(&new_exception("va-_-PyPI-_-django", &["web"], 0), ANA)
        .await
        .unwrap();
    let baseline = CoverageFacts {
        devices: 3,
        internet_facing: ["web-1".to_string()].into(),
        ..CoverageFacts::default()
    };
    let tracked = store
        .track_exception(
            e.id,
            &ExceptionTracking {
                baseline: Some(baseline.clone()),
                last_covered_at: Some(at(5)),
                ..ExceptionTracking::default()
            },
            None,
            "system",
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(tracked.baseline.as_ref(), Some(&baseline));
    assert_eq!(tracked.last_covered_at, Some(at(5)));
    assert_eq!(
        trail(&store).await.len(),
        1,
        "coverage tracking is not audited"
    );

    let review = ReviewMark {
        reasons: vec!["CVE-2024-1 was added to CISA KEV".into()],
        at: at(6),
        voided: true,
    };
    let voided = store
        .track_exception(
            e.id,
            &ExceptionTracking {
                review: Some(review.clone()),
                void_at: Some(at(6)),
                ..ExceptionTracking::default()
            },
            Some("exception.resurface"),
            "system",
            at(6),
        )
        .await
        .unwrap();
    assert_eq!(voided.review.as_ref(), Some(&review));
    assert_eq!(voided.baseline.as_ref(), Some(&baseline), "kept");
    assert_eq!(
        (voided.canceled_by.as_deref(), voided.canceled_at),
        (Some("system"), Some(at(6)))
    );
    assert_eq!(voided.status_at(at(6)), ExceptionStatus::Canceled);
    let expired = store
        .track_exception(
            e.id,
            &ExceptionTracking {
                expiry_recorded_at: Some(at(30 * DAY)),
                ..ExceptionTracking::default()
            },
            Some("exception.expire"),
            "system",
            at(30 * DAY),
        )
        .await
        .unwrap();
    assert_eq!(expired.expiry_recorded_at, Some(at(30 * DAY)));
    assert_eq!(store.exception(e.id).await.unwrap(), Some(expired.clone()));
    expect_not_found(
        store
            .track_exception(999, &ExceptionTracking::default(), None, "system", at(7))
            .await,
        "exception 999",
    );

    let entries = trail(&store).await;
    assert_eq!(
        actions(&entries),
        [
            act("exception.create", "exception", e.id),
            act("exception.resurface", "exception", e.id),
            act("exception.expire", "exception", e.id),
        ]
    );
    assert_eq!(parsed::<Exception>(entries[1].before.as_deref()), tracked);
    assert_eq!(parsed::<Exception>(entries[1].after.as_deref()), voided);
    assert_eq!(parsed::<Exception>(entries[2].after.as_deref()), expired);
}

/// Activities are created active, completed once, and purged when completed before the cut-off.
async fn tasks_are_created_completed_and_purged(store: Arc<dyn Store>) {
    let first = store.create_task(&new_task("rec-1", 0), ANA).await.unwrap();
    assert_eq!(first.status, TaskStatus::Active);
    assert_eq!(first.status_last_modified_on, at(0));
    assert_eq!(first.request, new_task("rec-1", 0).into());
    assert_eq!(
        (first.completion_method, first.completer_email.as_deref()),
        (None, None)
    );
    let second = store
        .create_task(&new_task("rec-2", 10), ANA)
        .await
        .unwrap();
    let third = store
        .create_task(&new_task("rec-3", 20), ANA)
        .await
        .unwrap();

    let done = store
        .complete_task(
            first.id,
            CompletionMethod::Manual,
            "bo@example.org",
            at(100),
        )
        .await
        .unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.status_last_modified_on, at(100));
    assert_eq!(done.completion_method, Some(CompletionMethod::Manual));
    assert_eq!(done.completer_email.as_deref(), Some("bo@example.org"));
    assert_eq!(done.request, first.request);
    expect_conflict(
        store
            .complete_task(first.id, CompletionMethod::Automatic, "system", at(101))
            .await,
        &format!("remediation activity {} is already completed", first.id),
    );
    expect_not_found(
        store
            .complete_task(999, CompletionMethod::Manual, ANA, at(101))
            .await,
        "remediation activity 999",
    );
    let auto = store
        .complete_task(second.id, CompletionMethod::Automatic, "system", at(200))
        .await
        .unwrap();
    assert_eq!(
        store.tasks().await.unwrap(),
        vec![done.clone(), auto.clone(), third.clone()]
    );
    assert_eq!(store.task(third.id).await.unwrap(), Some(third.clone()));
    assert_eq!(store.task(999).await.unwrap(), None);

    // Only completed activities whose status changed strictly before the cut-off go.
    assert_eq!(
        store.purge_tasks(at(100), "system", at(300)).await.unwrap(),
        0
    );
    assert_eq!(
        store.purge_tasks(at(101), "system", at(301)).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .purge_tasks(at(1_000), "system", at(302))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.tasks().await.unwrap(), vec![third.clone()]);
    // Ids of purged activities are never given again.
    let fourth = store
        .create_task(&new_task("rec-4", 400), ANA)
        .await
        .unwrap();
    assert!(fourth.id > third.id);

    let entries = trail(&store).await;
    assert_eq!(
        actions(&entries),
        [
            act("remediation.create", "remediationTask", first.id),
            act("remediation.create", "remediationTask", second.id),
            act("remediation.create", "remediationTask", third.id),
            act("remediation.complete", "remediationTask", first.id),
            act("remediation.complete", "remediationTask", second.id),
            act("remediation.purge", "remediationTask", first.id),
            act("remediation.purge", "remediationTask", second.id),
            act("remediation.create", "remediationTask", fourth.id),
        ]
    );
    assert_eq!(entries[3].actor, "bo@example.org");
    assert_eq!(entries[5].at, at(301));
    assert_eq!(
        parsed::<bulwark_core::remediation::RemediationTask>(entries[5].before.as_deref()),
        done
    );
    assert_eq!(entries[5].after, None);
}

/// Every change lands in one chain that verifies; the trail is filtered by entity, id and actor, and
/// paged by position.
async fn audit_trail_is_one_verifiable_chain(store: Arc<dyn Store>) {
    let ana = store
        .create_user(&new_user(ANA, Role::Admin), "system", at(0))
        .await
        .unwrap();
    let e = store
        .create_exception(&new_exception("va-_-PyPI-_-django", &["web"], 1), ANA)
        .await
        .unwrap();
    store
        .cancel_exception(e.id, None, ANA, at(2))
        .await
        .unwrap();
    let task = store.create_task(&new_task("rec-1", 3), ANA).await.unwrap();
    store
        .set_setting(
            "exceptionPolicy",
            &serde_json::json!({"maxDurationDays": 90}),
            ANA,
            at(4),
        )
        .await
        .unwrap();
    let draft = AuditDraft {
        actor: "bo@example.org".into(),
        action: "exception.import".into(),
        entity: "exception".into(),
        entity_id: "vex:1".into(),
    };
    let appended = store
        .append_audit(&draft, None, Some(r#"{"proposed":true}"#), at(5))
        .await
        .unwrap();

    let entries = trail(&store).await;
    assert_eq!(verify(&entries), Ok(6));
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(entries[5], appended);
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    assert_eq!(
        actions(&entries),
        [
            act("user.create", "user", ana.id),
            act("exception.create", "exception", e.id),
            act("exception.cancel", "exception", e.id),
            act("remediation.create", "remediationTask", task.id),
            act("settings.update", "settings", "exceptionPolicy"),
            act("exception.import", "exception", "vex:1"),
        ]
    );

    let filtered = |filter: AuditFilter| {
        let store = store.clone();
        async move {
            store
                .audit(&filter)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        }
    };
    let exceptions = AuditFilter {
        entity: Some("exception".into()),
        ..AuditFilter::default()
    };
    assert_eq!(filtered(exceptions.clone()).await, [2, 3, 6]);
    let one = AuditFilter {
        entity_id: Some(e.id.to_string()),
        ..exceptions.clone()
    };
    assert_eq!(filtered(one).await, [2, 3]);
    let by_bo = AuditFilter {
        actor: Some("bo@example.org".into()),
        ..AuditFilter::default()
    };
    assert_eq!(filtered(by_bo).await, [6]);
    let page = AuditFilter {
        after_seq: Some(2),
        limit: Some(2),
        ..AuditFilter::default()
    };
    assert_eq!(filtered(page).await, [3, 4]);
    let none = AuditFilter {
        limit: Some(0),
        ..AuditFilter::default()
    };
    assert_eq!(filtered(none).await, Vec::<i64>::new());
    expect_invalid(
        store
            .audit(&AuditFilter {
                limit: Some(-1),
                ..AuditFilter::default()
            })
            .await,
    );
}

/// Audited changes made at the same time from many tasks still form one chain without gaps.
async fn audit_chain_stays_linear_under_concurrent_writes(store: Arc<dyn Store>) {
    let writes = (0..24).map(|i| {
        let store = store.clone();
        async move {
            match i % 3 {
                0 => {
                    let e = new_exception(&format!("va-_-npm-_-p{i}"), &["web"], i);
                    store.create_exception(&e, ANA).await.map(|_| ())
                }
                1 => {
                    let task = new_task(&format!("rec-{i}"), i);
                    store.create_task(&task, ANA).await.map(|_| ())
                }
                _ => {
                    let value = serde_json::json!(i);
                    store
                        .set_setting(&format!("key-{i}"), &value, ANA, at(i))
                        .await
                }
            }
        }
    });
    for result in all_at_once(writes).await {
        result.unwrap();
    }
    assert_eq!(verify(&trail(&store).await), Ok(24));
}

/// Events are queued once per subscribed webhook (no events named: all), at most once per dedup key,
/// become due, and are retried or finished as their outcomes are recorded.
async fn webhook_deliveries_follow_subscriptions_and_outcomes(store: Arc<dyn Store>) {
    let all = store
        .create_webhook(
            &NewWebhook {
                url: "https://hooks.example.org/all".into(),
                secret: "s3cret-all".into(),
                events: vec![],
            },
            ANA,
            at(0),
        )
        .await
        .unwrap();
    let created_only = store
        .create_webhook(
            &NewWebhook {
                url: "https://hooks.example.org/created".into(),
                secret: "s3cret-created".into(),
                events: vec![EventKind::ExceptionCreated, EventKind::ExceptionExpired],
            },
            ANA,
            at(0),
        )
        .await
        .unwrap();
    assert_eq!(
        created_only.events,
        [EventKind::ExceptionCreated, EventKind::ExceptionExpired]
    );
    let hooks = store.webhooks().await.unwrap();
    assert_eq!(
        hooks,
        vec![
            (all.clone(), "s3cret-all".to_string()),
            (created_only.clone(), "s3cret-created".to_string())
        ]
    );

    let created = r#"{"event":"exception.created","id":1}"#;
    assert_eq!(
        store
            .enqueue_event(
                EventKind::ExceptionCreated,
                created,
                Some("created:1"),
                at(10)
            )
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .enqueue_event(
                EventKind::ExceptionCreated,
                created,
                Some("created:1"),
                at(11)
            )
            .await
            .unwrap(),
        0,
        "the same key is not queued again"
    );
    assert_eq!(
        store
            .enqueue_event(EventKind::ActivityCompleted, "{}", None, at(12))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .enqueue_event(EventKind::ActivityCompleted, "{}", None, at(12))
            .await
            .unwrap(),
        1,
        "without a key every event is queued"
    );

    assert_eq!(store.due_deliveries(at(9), 10).await.unwrap(), vec![]);
    let due = store.due_deliveries(at(12), 10).await.unwrap();
    assert_eq!(due.len(), 4);
    let (first, url, secret) = &due[0];
    assert_eq!(
        (first.webhook_id, first.event),
        (all.id, EventKind::ExceptionCreated)
    );
    assert_eq!(
        (url.as_str(), secret.as_str()),
        ("https://hooks.example.org/all", "s3cret-all")
    );
    assert_eq!(first.payload, created);
    assert_eq!((first.attempts, first.next_attempt_at), (0, Some(at(10))));
    assert_eq!(due[1].0.webhook_id, created_only.id);
    assert_eq!(store.due_deliveries(at(12), 1).await.unwrap().len(), 1);
    expect_invalid(store.due_deliveries(at(12), -1).await);

    store
        .record_delivery(
            first.id,
            &DeliveryOutcome::Failed {
                error: "HTTP 503".into(),
                retry_at: Some(at(100)),
            },
            at(20),
        )
        .await
        .unwrap();
    store
        .record_delivery(due[1].0.id, &DeliveryOutcome::Delivered, at(20))
        .await
        .unwrap();
    store
        .record_delivery(
            due[2].0.id,
            &DeliveryOutcome::Failed {
                error: "gave up".into(),
                retry_at: None,
            },
            at(20),
        )
        .await
        .unwrap();
    let due_now: Vec<i64> = store
        .due_deliveries(at(99), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(d, _, _)| d.id)
        .collect();
    assert_eq!(due_now, [due[3].0.id]);
    let later: Vec<i64> = store
        .due_deliveries(at(100), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(d, _, _)| d.id)
        .collect();
    assert_eq!(later, [first.id, due[3].0.id]);

    let deliveries = store.deliveries(all.id).await.unwrap();
    assert_eq!(deliveries.len(), 3);
    assert_eq!(
        (
            deliveries[0].attempts,
            deliveries[0].last_error.as_deref(),
            deliveries[0].next_attempt_at
        ),
        (1, Some("HTTP 503"), Some(at(100)))
    );
    assert_eq!(
        (deliveries[1].attempts, deliveries[1].next_attempt_at),
        (1, None)
    );
    assert_eq!(deliveries[1].last_error.as_deref(), Some("gave up"));
    let delivered = &store.deliveries(created_only.id).await.unwrap()[0];
    assert_eq!(
        (
            delivered.attempts,
            delivered.delivered_at,
            delivered.next_attempt_at
        ),
        (1, Some(at(20)), None)
    );
    expect_conflict(
        store
            .record_delivery(delivered.id, &DeliveryOutcome::Delivered, at(21))
            .await,
        &format!("delivery {} was already delivered", delivered.id),
    );
    expect_not_found(
        store
            .record_delivery(999, &DeliveryOutcome::Delivered, at(21))
            .await,
        "delivery 999",
    );

    store.delete_webhook(all.id, ANA, at(30)).await.unwrap();
    assert_eq!(store.deliveries(all.id).await.unwrap(), vec![]);
    assert_eq!(store.webhooks().await.unwrap().len(), 1);
    assert_eq!(store.due_deliveries(at(1_000), 10).await.unwrap(), vec![]);
    expect_not_found(
        store.delete_webhook(all.id, ANA, at(31)).await,
        &format!("webhook {}", all.id),
    );
    let entries = trail(&store).await;
    assert_eq!(
        actions(&entries),
        [
            act("webhook.create", "webhook", all.id),
            act("webhook.create", "webhook", created_only.id),
            act("webhook.delete", "webhook", all.id),
        ]
    );
    assert_eq!(
        parsed::<bulwark_core::webhook::Webhook>(entries[2].before.as_deref()),
        all
    );
    assert!(entries.iter().all(|e| {
        !e.before.as_deref().unwrap_or("").contains("s3cret")
            && !e.after.as_deref().unwrap_or("").contains("s3cret")
    }));
}

/// A job lease goes to one holder, is renewed by it, refused to others while it runs, and taken over
/// once it ran out (the holder died).
async fn job_leases_go_to_one_holder_and_are_taken_over(store: Arc<dyn Store>) {
    let until = |s| at(s);
    assert!(
        store
            .try_lease("exceptions", "a", at(0), until(60))
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease("exceptions", "b", at(10), until(70))
            .await
            .unwrap()
    );
    // The holder renews; another job is independent.
    assert!(
        store
            .try_lease("exceptions", "a", at(50), until(110))
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease("webhooks", "b", at(50), until(110))
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease("exceptions", "b", at(100), until(160))
            .await
            .unwrap()
    );
    // `a` stops renewing: from its expiry on, `b` takes over, and `a` is refused.
    assert!(
        store
            .try_lease("exceptions", "b", at(110), until(170))
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease("exceptions", "a", at(120), until(180))
            .await
            .unwrap()
    );
}

/// Settings hold JSON values; every change is audited with the value before and after.
async fn settings_are_json_and_audited(store: Arc<dyn Store>) {
    assert_eq!(store.setting("exceptionPolicy").await.unwrap(), None);
    let first = serde_json::json!({"maxDurationDays": 90, "voidOnResurface": false});
    let second = serde_json::json!({"maxDurationDays": 180, "note": "ünïcode ✓"});
    store
        .set_setting("exceptionPolicy", &first, ANA, at(1))
        .await
        .unwrap();
    assert_eq!(
        store.setting("exceptionPolicy").await.unwrap(),
        Some(first.clone())
    );
    store
        .set_setting("exceptionPolicy", &second, ANA, at(2))
        .await
        .unwrap();
    store
        .set_setting("retentionDays", &serde_json::json!(180), ANA, at(3))
        .await
        .unwrap();
    assert_eq!(
        store.setting("exceptionPolicy").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.setting("retentionDays").await.unwrap(),
        Some(serde_json::json!(180))
    );
    let entries = trail(&store).await;
    assert_eq!(
        actions(&entries),
        [
            act("settings.update", "settings", "exceptionPolicy"),
            act("settings.update", "settings", "exceptionPolicy"),
            act("settings.update", "settings", "retentionDays"),
        ]
    );
    assert_eq!(entries[0].before, None);
    assert_eq!(
        parsed::<serde_json::Value>(entries[1].before.as_deref()),
        first
    );
    assert_eq!(
        parsed::<serde_json::Value>(entries[1].after.as_deref()),
        second
    );
}

/// Editing a stored entry behind the store's back (raw SQL on the same database) is found by `verify`
/// at exactly that entry.
async fn audit_tampering_is_found_at_the_edited_entry(url: &str) {
    let store = open(url).await.unwrap();
    for i in 0..4 {
        store
            .set_setting("retentionDays", &serde_json::json!(180 + i), ANA, at(i))
            .await
            .unwrap();
    }
    assert_eq!(verify(&trail(&store).await), Ok(4));
    let edit = "UPDATE audit_log SET after = '999' WHERE seq = 3";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(edit).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(edit).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let broken = verify(&trail(&store).await).unwrap_err();
    assert_eq!(broken.seq, 3, "{broken}");
}

/// Two stores on one database (two processes or replicas) creating the same exception at once: one
/// wins; and their audited writes at the same time keep one chain.
async fn two_stores_share_one_exception_lock_and_chain(url: &str) {
    let first = open(url).await.unwrap();
    let second = open(url).await.unwrap();
    // Two processes asking for the same free lease at once: exactly one gets it.
    let (x, y) = tokio::join!(
        first.try_lease("exceptions", "first", at(0), at(60)),
        second.try_lease("exceptions", "second", at(0), at(60))
    );
    assert_eq!([x.unwrap(), y.unwrap()].iter().filter(|ok| **ok).count(), 1);
    for round in 0..4 {
        let e = new_exception(&format!("va-_-PyPI-_-p{round}"), &["web"], round);
        let (x, y) = tokio::join!(
            first.create_exception(&e, ANA),
            second.create_exception(&e, ANA)
        );
        assert_eq!(
            [x.is_ok(), y.is_ok()].iter().filter(|ok| **ok).count(),
            1,
            "round {round}: {x:?} {y:?}"
        );
    }
    let writes = (0..10).map(|i| {
        let store = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        async move {
            store
                .set_setting(&format!("k{i}"), &serde_json::json!(i), ANA, at(i))
                .await
        }
    });
    for result in all_at_once(writes).await {
        result.unwrap();
    }
    assert_eq!(verify(&trail(&first).await), Ok(14));
}

/// Runs the futures at the same time, each on a task of its own, and collects their results in order.
async fn all_at_once<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// The suite, per backend.

/// Runs every check against a fresh store of each backend, one `#[tokio::test]` per pair.
macro_rules! contract {
    (backends: [$($backend:ident),* $(,)?], checks: $checks:tt) => {
        $( contract!(@backend $backend $checks); )*
    };
    (@backend $backend:ident [$($check:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(fresh) = super::$backend().await else {
                        return;
                    };
                    super::$check(fresh.store.clone()).await;
                }
            )*
        }
    };
}

contract! {
    backends: [sqlite_memory, sqlite_file, postgres],
    checks: [
        advisory_reimport_replaces_only_newer,
        duplicate_ids_in_one_batch_keep_the_newest,
        failing_batch_changes_nothing,
        large_batch_is_one_quick_call,
        device_upsert_keeps_what_is_not_given,
        devices_are_listed_and_found,
        inventory_replace_reports_diff_and_history,
        inventories_are_per_device,
        unknown_device_is_not_found,
        weaknesses_open_keep_resolve_and_reopen,
        weaknesses_are_per_device_and_software,
        concurrent_ingests_do_not_interfere,
        concurrent_ingests_of_one_device_stay_consistent,
        unicode_and_huge_strings_round_trip,
        cpe_only_software_round_trips,
        ping_answers,
        nvd_records_replace_only_newer,
        kev_catalog_is_replaced_whole,
        epss_keeps_the_latest_dated_score,
        change_sequence_counts_changes_of_in_memory_state,
        fleet_changes_name_each_write_and_its_device,
        pool_status_names_each_pool,
        device_attributes_and_groups,
        score_history_is_per_scope_and_time,
        config_results_are_replaced_per_device_and_source,
        config_checks_are_upserted_by_id,
        users_are_unique_by_email,
        tokens_are_found_touched_and_revoked,
        console_sessions_are_found_touched_and_ended,
        exceptions_conflict_only_on_overlapping_scopes,
        concurrent_exceptions_one_wins,
        exceptions_are_canceled_whole_or_by_group,
        exception_tracking_is_audited_only_with_an_action,
        tasks_are_created_completed_and_purged,
        audit_trail_is_one_verifiable_chain,
        audit_chain_stays_linear_under_concurrent_writes,
        webhook_deliveries_follow_subscriptions_and_outcomes,
        settings_are_json_and_audited,
        job_leases_go_to_one_holder_and_are_taken_over,
    ]
}

// ---------------------------------------------------------------------------------------------------------------
// Backend-specific: URLs, files, several stores on one database.

#[tokio::test]
async fn sqlite_file_keeps_data_when_reopened() {
    let (url, _dir) = sqlite_file_url();
    reopening_keeps_data(&url).await;
}

/// Two stores opened on one database (two processes, or two replicas) see each other's writes and
/// write at the same time without failing.
async fn two_stores_see_each_others_writes(url: &str) {
    let first = open(url).await.unwrap();
    let second = open(url).await.unwrap();
    let a = new_device(&first, "from-first").await;
    assert_eq!(
        second.device_by_name("from-first").await.unwrap().as_ref(),
        Some(&a)
    );
    let packages = [pkg("npm", "a", "1")];
    let advisories = [advisory("A", "2024-01-01T00:00:00Z", "a")];
    let (x, y) = tokio::join!(
        first.replace_inventory(a.id, &packages, at(1)),
        second.upsert_advisories(&advisories),
    );
    x.unwrap();
    y.unwrap();
    assert_eq!(
        second.device_software(a.id).await.unwrap(),
        [pkg("npm", "a", "1")]
    );
    assert_eq!(first.advisories().await.unwrap().len(), 1);
    // The other store's import shows in this one's change sequence, the one read a replica makes.
    assert_eq!(first.change_sequence().await.unwrap().advisories, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_see_each_others_writes() {
    let (url, _dir) = sqlite_file_url();
    two_stores_see_each_others_writes(&url).await;
}

#[tokio::test]
async fn sqlite_urls_absolute_and_relative_create_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let absolute = dir.path().join("absolute.db");
    let store = open(&format!("sqlite://{}", absolute.display()))
        .await
        .unwrap();
    store.ping().await.unwrap();
    assert!(absolute.is_file());

    // The same directory, reached from the working directory by a relative path.
    let cwd = std::env::current_dir().unwrap();
    let ups = cwd
        .components()
        .skip(1)
        .map(|_| "..")
        .collect::<Vec<_>>()
        .join("/");
    let below_root = dir.path().strip_prefix("/").unwrap();
    let relative = format!("{ups}/{}/relative.db", below_root.display());
    let store = open(&format!("sqlite://{relative}")).await.unwrap();
    store.ping().await.unwrap();
    assert!(dir.path().join("relative.db").is_file());
}

#[tokio::test]
async fn sqlite_memory_databases_are_separate() {
    let first = open("sqlite::memory:").await.unwrap();
    let second = open("sqlite::memory:").await.unwrap();
    new_device(&first, "only-in-first").await;
    assert_eq!(first.devices().await.unwrap().len(), 1);
    assert!(second.devices().await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_urls_are_refused() {
    for url in [
        "sqlite://",
        "sqlite:",
        "sqlite://x.db?mode=sideways",
        "mysql://localhost/db",
        "bulwark.db",
        "postgres://postgres@localhost:notaport/db",
        "postgresql://[::1/db",
    ] {
        match open(url).await {
            Err(StoreError::InvalidUrl { url: given, .. }) => assert_eq!(given, url),
            Err(other) => panic!("{url}: expected InvalidUrl, got {other}"),
            Ok(_) => panic!("{url}: expected InvalidUrl, got a store"),
        }
    }
    // A well-formed URL whose directory does not exist fails when connecting.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/x.db");
    match open(&format!("sqlite://{}", missing.display())).await {
        Err(StoreError::Database(_)) => {}
        Err(other) => panic!("expected a database error, got {other}"),
        Ok(_) => panic!("expected a database error, got a store"),
    }
    // So does a well-formed PostgreSQL URL where no server listens.
    match open("postgres://postgres@127.0.0.1:1/bulwark").await {
        Err(StoreError::Database(_)) => {}
        Err(other) => panic!("expected a database error, got {other}"),
        Ok(_) => panic!("expected a database error, got a store"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_audit_tampering_is_found() {
    let (url, _dir) = sqlite_file_url();
    audit_tampering_is_found_at_the_edited_entry(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_share_one_exception_lock_and_chain() {
    let (url, _dir) = sqlite_file_url();
    two_stores_share_one_exception_lock_and_chain(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_audit_tampering_is_found() {
    let Some(database) = postgres_database().await else {
        return;
    };
    audit_tampering_is_found_at_the_edited_entry(database.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_postgres_database_share_one_exception_lock_and_chain() {
    let Some(database) = postgres_database().await else {
        return;
    };
    two_stores_share_one_exception_lock_and_chain(database.url()).await;
}

#[tokio::test]
async fn postgres_keeps_data_when_reopened() {
    let Some(database) = postgres_database().await else {
        return;
    };
    reopening_keeps_data(database.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_postgres_database_see_each_others_writes() {
    let Some(database) = postgres_database().await else {
        return;
    };
    two_stores_see_each_others_writes(database.url()).await;
}

/// Two replicas importing overlapping advisory batches at once: both succeed, and between them every
/// record is counted as inserted exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_stores_import_overlapping_batches_at_once() {
    let Some(database) = postgres_database().await else {
        return;
    };
    let first = open(database.url()).await.unwrap();
    let second = open(database.url()).await.unwrap();
    let batch: Vec<Advisory> = (0..2_000)
        .map(|i| advisory(&format!("GHSA-{i:05}"), "2024-01-01T00:00:00Z", "x"))
        .collect();
    let (x, y) = tokio::join!(
        first.upsert_advisories(&batch),
        second.upsert_advisories(&batch[1_000..]),
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.inserted + y.inserted, 2_000);
    assert_eq!(x.unchanged + y.unchanged, 1_000);
    assert_eq!(first.advisories().await.unwrap(), batch);
}

/// A PostgreSQL `postgresql://` URL is accepted as well as `postgres://`, and the test database is gone
/// once its guard drops, even while a store still holds connections to it.
#[tokio::test]
async fn postgres_test_databases_are_dropped_with_their_guard() {
    let Some(database) = postgres_database().await else {
        return;
    };
    let url = database.url().replacen("postgres://", "postgresql://", 1);
    let store = open(&url).await.unwrap();
    store.ping().await.unwrap();
    let name = url.rsplit('/').next().unwrap().to_string();
    let server = testing::postgres_server().unwrap().unwrap();
    assert!(database_exists(&server, &name).await);
    drop(database);
    assert!(!database_exists(&server, &name).await);
}

/// Whether the PostgreSQL server has a database of this name.
async fn database_exists(server: &str, name: &str) -> bool {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(server).await.unwrap();
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut admin)
        .await
        .unwrap();
    found.is_some()
}
