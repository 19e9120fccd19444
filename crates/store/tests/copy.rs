//! `bulwark_store::copy` and `bulwark_store::backup` on real databases: every table copied SQLite →
//! PostgreSQL → SQLite with the same checksums, ids kept and id generators continued, the audit chain
//! still verifying; an occupied target, a table the copy does not know and a copy that fails half-way
//! all leave the target as it was; a backup of a database in use opens and verifies.
//!
//! The source is filled through the `Store` trait for the audited entities (so that the audit chain is
//! real) and with plain SQL for the rest, with the values an encoding could get wrong: tabs, newlines,
//! backslashes and `\N` in text, empty text beside NULL, the extremes of 64-bit integers, floating-point
//! numbers that have no short decimal form, both booleans, and enough EPSS rows for several batches.
//!
//! SQLite always runs; PostgreSQL when `BULWARK_TEST_DATABASE` or `BULWARK_TEST_POSTGRES` names a server
//! (a fresh database per use), skipping with a printed reason otherwise unless
//! `BULWARK_REQUIRE_POSTGRES=1` or `BULWARK_REQUIRE_SHARED_DATA=1`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::Connection;
use tempfile::TempDir;

use bulwark_core::exception::{Justification, NewException, TargetKind};
use bulwark_core::identity::{Role, token_digest};
use bulwark_core::remediation::{CompletionMethod, NewTask, Priority};
use bulwark_core::webhook::EventKind;
use bulwark_store::copy::{self, TABLES, TableDigest};
use bulwark_store::testing::{self, FreshDatabase};
use bulwark_store::{
    AuditFilter, DeliveryOutcome, NewToken, NewUser, NewWebhook, Store, StoreError, backup, open,
};

/// A database for one test and whatever removes it afterwards.
struct Db {
    url: String,
    _dir: Option<TempDir>,
    _database: Option<FreshDatabase>,
}

/// A new SQLite file (created by the first open).
fn sqlite_db() -> Db {
    let dir = tempfile::tempdir().expect("temporary directory");
    Db {
        url: format!("sqlite://{}", dir.path().join("bulwark.db").display()),
        _dir: Some(dir),
        _database: None,
    }
}

/// A new PostgreSQL database, or `None` (the caller skips, saying why) when no server is named.
async fn postgres_db() -> Option<Db> {
    let database = testing::postgres_database("the PostgreSQL part of this test").await?;
    Some(Db {
        url: database.url().to_string(),
        _dir: None,
        _database: Some(database),
    })
}

/// A time `secs` seconds after a fixed base.
fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).expect("valid time")
}

/// Text an encoding could get wrong, one per row of the tables filled with plain SQL.
const TRICKY: &[&str] = &[
    "",
    "tab\there",
    "line\nbreak\r\n",
    "back\\slash \\N \\\\",
    "\\N",
    "émoji 🦀 e\u{301} Ünïcödé",
    "\"quoted\" 'single' ; -- comment",
    "control \u{1}\u{7f}",
];

/// Floating-point numbers with no short decimal form, and the extremes.
const REALS: &[f64] = &[
    0.1,
    0.30000000000000004,
    1e-300,
    5e-324,
    1.7976931348623157e308,
    -0.0,
    0.0,
    2.0 / 3.0,
];

/// EPSS rows: more than one batch of the copy.
const EPSS_ROWS: i64 = 4_500;

const ADMIN: &str = "admin@example.org";

/// Fills every table of the SQLite database at `url`. Returns the store it used.
async fn fill(url: &str) -> Arc<dyn Store> {
    let store = open(url).await.expect("open the source");
    audited(&store).await;
    let mut conn = sqlx::SqliteConnection::connect(url).await.expect("connect");
    for (i, text) in TRICKY.iter().enumerate() {
        let i = i as i64;
        let optional = (i % 2 == 0).then_some(*text);
        let real = REALS[i as usize % REALS.len()];
        let run = |sql: &'static str| sqlx::query(sql);
        run("INSERT INTO advisories (id, modified, withdrawn, record) VALUES (?1, ?2, ?3, ?4)")
            .bind(format!("ADV-{i}{text}"))
            .bind(i64::MIN + i)
            .bind((i % 2 == 1).then_some(i64::MAX - i))
            .bind(format!("{{\"summary\": {text:?}}}"))
            .execute(&mut conn)
            .await
            .unwrap();
        run(
            "INSERT INTO devices (id, name, os, device_group, tags, first_seen, last_seen, value) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(100 + i * 7)
        .bind(format!("host-{i}{text}"))
        .bind(optional)
        .bind(optional)
        .bind(serde_json::json!([text]).to_string())
        .bind(-i * 1_000_000_007)
        .bind(4_102_444_800_000_000 + i)
        .bind(["Low", "Normal", "High"][i as usize % 3])
        .execute(&mut conn)
        .await
        .unwrap();
        let device = 100 + i * 7;
        run(
            "INSERT INTO device_software (device_id, ecosystem, release, name, version, \
             source_name, source_version, purl, cpe) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, ?6)",
        )
        .bind(device)
        .bind(*text)
        .bind(optional)
        .bind(*text)
        .bind(*text)
        .bind(optional)
        .execute(&mut conn)
        .await
        .unwrap();
        run(
            "INSERT INTO inventory_changes (device_id, at, change, ecosystem, release, name, \
             version, source_name, source_version, purl, cpe) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?4, ?5, ?5, ?5, ?5)",
        )
        .bind(device)
        .bind(-i)
        .bind(if i % 2 == 0 {
            "appeared"
        } else {
            "disappeared"
        })
        .bind(*text)
        .bind(optional)
        .execute(&mut conn)
        .await
        .unwrap();
        run(
            "INSERT INTO weaknesses (device_id, ecosystem, release, name, version, \
             vulnerability_id, advisory_ids, first_detected, resolved) \
             VALUES (?1, ?2, ?3, ?2, ?2, ?2, ?2, ?4, ?5)",
        )
        .bind(device)
        .bind(*text)
        .bind(optional)
        .bind(i)
        .bind((i % 2 == 0).then_some(i + 1))
        .execute(&mut conn)
        .await
        .unwrap();
        run("INSERT INTO nvd_records (cve_id, last_modified, record) VALUES (?1, ?2, ?3)")
            .bind(format!("CVE-{i}{text}"))
            .bind(i)
            .bind(*text)
            .execute(&mut conn)
            .await
            .unwrap();
        run("INSERT INTO kev_entries (cve_id, date_added, entry) VALUES (?1, ?2, ?3)")
            .bind(format!("{text}CVE-{i}"))
            .bind(i)
            .bind(*text)
            .execute(&mut conn)
            .await
            .unwrap();
        run(
            "INSERT INTO feed_state (feed, version, released, imported_at) VALUES (?1, ?2, ?2, ?3)",
        )
        .bind(format!("{text}{i}"))
        .bind(optional)
        .bind(i)
        .execute(&mut conn)
        .await
        .unwrap();
        run(
            "INSERT INTO device_groups (name, description, rank, rules, created_at) \
             VALUES (?1, ?2, ?3, ?2, ?3)",
        )
        .bind(format!("group-{i}{text}"))
        .bind(*text)
        .bind(-i)
        .execute(&mut conn)
        .await
        .unwrap();
        run(
            "INSERT INTO score_snapshots (at, scope, scope_name, exposure, configuration) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(i)
        .bind(["organization", "group", "device"][i as usize % 3])
        .bind(*text)
        .bind(real)
        .bind((i % 2 == 0).then_some(-real))
        .execute(&mut conn)
        .await
        .unwrap();
        run(
            "INSERT INTO config_results (device_id, source, check_id, status, result, \
             assessed_at) VALUES (?1, ?2, ?3, ?4, ?3, ?5)",
        )
        .bind(device)
        .bind(["bulwark", "openscap", "osquery"][i as usize % 3])
        .bind(format!("check-{i}{text}"))
        .bind(["pass", "fail", "notApplicable", "error"][i as usize % 4])
        .bind(i)
        .execute(&mut conn)
        .await
        .unwrap();
        run("INSERT INTO config_checks (check_id, definition) VALUES (?1, ?2)")
            .bind(format!("{text}-{i}"))
            .bind(*text)
            .execute(&mut conn)
            .await
            .unwrap();
        run("INSERT INTO state_changes (kind, seq) VALUES (?1, ?2)")
            .bind(format!("kind-{i}{text}"))
            .bind(i64::MAX - i)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO epss_scores (cve_id, epss, percentile, score_date) \
         SELECT 'CVE-2024-' || i, i / 4500.0, 1.0 / i, CASE WHEN i % 3 = 0 THEN NULL ELSE i END FROM n",
    )
    .bind(EPSS_ROWS)
    .execute(&mut conn)
    .await
    .unwrap();
    for (i, real) in REALS.iter().enumerate() {
        sqlx::query("UPDATE epss_scores SET epss = ?1 WHERE cve_id = ?2")
            .bind(*real)
            .bind(format!("CVE-2024-{}", i + 1))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
    store
}

/// The audited entities, through the store: users, tokens, sessions, exceptions (global and per group,
/// one group canceled), activities (one purged), webhooks (the newest removed), deliveries, a setting
/// and a lease.
async fn audited(store: &Arc<dyn Store>) {
    let user = |email: &str, role| NewUser {
        email: email.to_string(),
        display_name: format!("User\t{email}"),
        role,
        password_hash: (role == Role::Admin).then(|| "$argon2id$v=19$hash".to_string()),
    };
    let admin = store
        .create_user(&user(ADMIN, Role::Admin), "system", at(0))
        .await
        .unwrap();
    store
        .create_user(&user("viewer@example.org", Role::Viewer), ADMIN, at(1))
        .await
        .unwrap();
    store
        .create_token(
            &NewToken {
                user_id: admin.id,
                prefix: "bwk_abcd".into(),
                digest: token_digest("bwk_abcdefgh"),
                expires_at: Some(at(86_400)),
            },
            ADMIN,
            at(2),
        )
        .await
        .unwrap();
    store
        .create_session(admin.id, &token_digest("cookie"), at(3), at(3_600))
        .await
        .unwrap();
    let exception = |target: &str, groups: &[&str]| NewException {
        kind: TargetKind::Cve,
        target: target.to_string(),
        justification: Justification::RiskAccepted,
        context: "accepted\nuntil the upgrade".to_string(),
        global: groups.is_empty(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        created_by: ADMIN.to_string(),
        created_at: at(4),
        expires_at: at(4 + 30 * 86_400),
    };
    store
        .create_exception(&exception("CVE-2024-0001", &[]), ADMIN)
        .await
        .unwrap();
    let grouped = store
        .create_exception(&exception("CVE-2024-0002", &["web", "db"]), ADMIN)
        .await
        .unwrap();
    store
        .cancel_exception(grouped.id, Some(&["db".to_string()][..]), ADMIN, at(5))
        .await
        .unwrap();
    let task = |n: i64| NewTask {
        recommendation_id: format!("rec-{n}"),
        title: format!("Update {n}"),
        description: "Fix it".into(),
        related_component: "django".into(),
        recommended_version: Some("4.2.16".into()),
        priority: Priority::High,
        due_on: Some(at(7 * 86_400)),
        notes: String::new(),
        groups: vec!["web".into()],
        target_devices: vec![100, 107],
        created_by: ADMIN.into(),
        created_at: at(6 + n),
    };
    store.create_task(&task(1), ADMIN).await.unwrap();
    let purged = store.create_task(&task(2), ADMIN).await.unwrap();
    store
        .complete_task(purged.id, CompletionMethod::Manual, ADMIN, at(10))
        .await
        .unwrap();
    store
        .purge_tasks(at(11), "system", at(200 * 86_400))
        .await
        .unwrap();
    let webhook = |url: &str| NewWebhook {
        url: url.to_string(),
        secret: "s3cret".into(),
        events: vec![EventKind::ExceptionCreated],
    };
    store
        .create_webhook(&webhook("https://hooks.example.org/a"), ADMIN, at(12))
        .await
        .unwrap();
    let removed = store
        .create_webhook(&webhook("https://hooks.example.org/b"), ADMIN, at(13))
        .await
        .unwrap();
    store
        .enqueue_event(
            EventKind::ExceptionCreated,
            "{\"id\": 1}",
            Some("k1"),
            at(14),
        )
        .await
        .unwrap();
    store
        .delete_webhook(removed.id, ADMIN, at(15))
        .await
        .unwrap();
    let due = store.due_deliveries(at(16), 10).await.unwrap();
    store
        .record_delivery(
            due[0].0.id,
            &DeliveryOutcome::Failed {
                error: "HTTP 500\tInternal".into(),
                retry_at: Some(at(46)),
            },
            at(16),
        )
        .await
        .unwrap();
    store
        .set_setting(
            "exceptionPolicy",
            &serde_json::json!({"maxDurationDays": 90, "note": "tab\tand \\N"}),
            ADMIN,
            at(17),
        )
        .await
        .unwrap();
    assert!(
        store
            .try_lease("remediation", "1234-abcdef", at(18), at(198))
            .await
            .unwrap()
    );
}

/// The audit chain of a database verifies, and how long it is.
async fn verified_chain(url: &str) -> usize {
    let store = open(url).await.unwrap();
    let entries = store.audit(&AuditFilter::default()).await.unwrap();
    bulwark_core::audit::verify(&entries).unwrap_or_else(|e| panic!("{url}: {e:?}"))
}

/// The checksums of a database.
async fn sums(url: &str) -> Vec<TableDigest> {
    copy::checksums(url).await.expect("checksums")
}

/// Copies and asserts that every table matched and the copy was committed.
async fn copied(from: &str, to: &str) {
    let report = copy::copy(from, to).await.expect("copy");
    for table in &report.tables {
        assert!(table.matches(), "{table:?}");
    }
    assert!(report.committed);
    let names: Vec<&str> = report.tables.iter().map(|t| t.table).collect();
    assert_eq!(names, TABLES);
}

#[tokio::test]
async fn every_table_round_trips_sqlite_to_postgres_to_sqlite_with_the_same_checksums() {
    let source = sqlite_db();
    fill(&source.url).await;
    let original = sums(&source.url).await;
    for digest in &original {
        assert!(
            digest.digest.rows > 0,
            "the fixture leaves {} empty",
            digest.table
        );
    }
    let chain = verified_chain(&source.url).await;
    let epss = original.iter().find(|d| d.table == "epss_scores").unwrap();
    assert_eq!(epss.digest.rows, EPSS_ROWS as u64);

    let middle = match postgres_db().await {
        Some(db) => db,
        None => sqlite_db(),
    };
    copied(&source.url, &middle.url).await;
    assert_eq!(sums(&middle.url).await, original, "{}", middle.url);
    assert_eq!(verified_chain(&middle.url).await, chain);

    let last = sqlite_db();
    copied(&middle.url, &last.url).await;
    assert_eq!(sums(&last.url).await, original);
    assert_eq!(verified_chain(&last.url).await, chain);
}

#[tokio::test]
async fn ids_are_kept_and_ids_of_deleted_rows_are_not_handed_out_again() {
    let source = sqlite_db();
    let store = fill(&source.url).await;
    let webhooks = store.webhooks().await.unwrap();
    assert_eq!(webhooks.len(), 1, "the newest webhook was removed");
    let kept = webhooks[0].0.id;
    let devices: Vec<i64> = store
        .devices()
        .await
        .unwrap()
        .iter()
        .map(|d| d.id.0)
        .collect();

    let webhook = NewWebhook {
        url: "https://hooks.example.org/c".into(),
        secret: "x".into(),
        events: vec![],
    };
    // Each backend in the middle: PostgreSQL when there is a server, and SQLite.
    let mut middles = vec![sqlite_db()];
    middles.extend(postgres_db().await);
    for middle in &middles {
        copied(&source.url, &middle.url).await;
        // A copy of the copy, before anything is written to it, still knows the removed id.
        let chained = sqlite_db();
        copied(&middle.url, &chained.url).await;
        let chained = open(&chained.url).await.unwrap();
        let first = chained
            .create_webhook(&webhook, ADMIN, at(19))
            .await
            .unwrap();
        assert_eq!(first.id, kept + 2, "{}", middle.url);

        let copy = open(&middle.url).await.unwrap();
        assert_eq!(copy.webhooks().await.unwrap()[0].0.id, kept);
        let mut copied_devices: Vec<i64> = copy
            .devices()
            .await
            .unwrap()
            .iter()
            .map(|d| d.id.0)
            .collect();
        copied_devices.sort();
        let mut expected = devices.clone();
        expected.sort();
        assert_eq!(copied_devices, expected);

        // The removed webhook's id (kept + 1) is not reused, on the copy nor on a copy of the copy,
        // and neither is the one removed on the copy.
        let created = copy.create_webhook(&webhook, ADMIN, at(20)).await.unwrap();
        assert_eq!(created.id, kept + 2, "{}", middle.url);
        copy.delete_webhook(created.id, ADMIN, at(21))
            .await
            .unwrap();
        let device = copy
            .upsert_device(
                &bulwark_core::DeviceInfo {
                    name: "new-host".into(),
                    os: None,
                    group: None,
                    tags: vec![],
                },
                at(22),
            )
            .await
            .unwrap();
        assert!(
            device.id.0 > *devices.iter().max().unwrap(),
            "{}",
            middle.url
        );

        let last = sqlite_db();
        copied(&middle.url, &last.url).await;
        let last = open(&last.url).await.unwrap();
        let again = last.create_webhook(&webhook, ADMIN, at(23)).await.unwrap();
        assert_eq!(again.id, kept + 3, "{}", middle.url);
    }
}

#[tokio::test]
async fn a_target_that_holds_rows_is_refused_and_left_as_it_was() {
    let source = sqlite_db();
    fill(&source.url).await;
    let mut targets = vec![sqlite_db()];
    targets.extend(postgres_db().await);
    for target in &targets {
        let store = open(&target.url).await.unwrap();
        store
            .create_user(
                &NewUser {
                    email: "someone@example.org".into(),
                    display_name: "Someone".into(),
                    role: Role::Viewer,
                    password_hash: None,
                },
                "system",
                at(0),
            )
            .await
            .unwrap();
        let before = sums(&target.url).await;
        let error = copy::copy(&source.url, &target.url).await.unwrap_err();
        assert!(matches!(error, StoreError::Conflict(_)), "{error}");
        let message = error.to_string();
        assert!(
            message.contains("is not empty: table users holds 1 rows"),
            "{message}"
        );
        assert_eq!(sums(&target.url).await, before);
    }
}

#[tokio::test]
async fn the_same_database_as_source_and_target_is_refused() {
    let db = sqlite_db();
    let error = copy::copy(&db.url, &db.url).await.unwrap_err();
    assert!(error.to_string().contains("the same database"), "{error}");
}

#[tokio::test]
async fn a_table_the_copy_does_not_know_is_an_error_not_left_behind() {
    let source = sqlite_db();
    fill(&source.url).await;
    let mut conn = sqlx::SqliteConnection::connect(&source.url).await.unwrap();
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let target = sqlite_db();
    let error = copy::copy(&source.url, &target.url).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("schema of the source database")
            && message.contains("table notes is not in the copy's table list"),
        "{message}"
    );
    assert!(sums(&target.url).await.iter().all(|d| d.digest.rows == 0));
    let error = copy::checksums(&source.url).await.unwrap_err();
    assert!(error.to_string().contains("table notes"), "{error}");
}

#[tokio::test]
async fn a_copy_that_fails_half_way_leaves_the_target_empty() {
    let Some(target) = postgres_db().await else {
        return;
    };
    let source = sqlite_db();
    fill(&source.url).await;
    // PostgreSQL text cannot hold NUL; SQLite's can. The row is in one of the last tables, so the
    // earlier ones have been written when the copy fails.
    let mut conn = sqlx::SqliteConnection::connect(&source.url).await.unwrap();
    sqlx::query("UPDATE job_leases SET holder = 'a' || char(0) || 'b'")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let error = copy::copy(&source.url, &target.url).await.unwrap_err();
    assert!(matches!(error, StoreError::Database(_)), "{error}");
    let after = sums(&target.url).await;
    assert!(after.iter().all(|d| d.digest.rows == 0), "{after:?}");
}

#[tokio::test]
async fn a_backup_of_a_database_in_use_opens_and_verifies() {
    let source = sqlite_db();
    let store = fill(&source.url).await;
    let before = sums(&source.url).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");

    // Writes go on while the backup runs; the backup holds one snapshot.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                store
                    .try_lease(&format!("job-{i}"), "writer", at(i), at(i + 60))
                    .await
                    .unwrap();
            }
        })
    };
    let report = backup::backup(&source.url, &file).await.expect("backup");
    writer.await.unwrap();
    assert_eq!(report.file, file);
    for (table, original) in report.tables.iter().zip(&before) {
        assert_eq!(table.table, original.table);
        if table.table == "job_leases" {
            assert!(table.digest.rows >= original.digest.rows);
        } else {
            assert_eq!(table, original);
        }
    }
    let url = format!("sqlite://{}", file.display());
    assert_eq!(sums(&url).await, report.tables);
    assert_eq!(
        verified_chain(&url).await,
        verified_chain(&source.url).await
    );

    let again = backup::backup(&source.url, &file).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "{again}");
    assert!(again.to_string().contains("exists"), "{again}");

    let memory = backup::backup("sqlite::memory:", &dir.path().join("m.db"))
        .await
        .unwrap_err();
    assert!(memory.to_string().contains("in-memory"), "{memory}");

    if let Some(postgres) = postgres_db().await {
        let refused = backup::backup(&postgres.url, &dir.path().join("pg.db"))
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("pg_dump"), "{refused}");
    }
}
