//! `bulwark db copy`, `db checksums` and `db backup` on the staged real data, as an operator runs them:
//! a SQLite database filled by the other commands (advisories, threat feeds, inventories, a
//! configuration assessment, users, tokens, exceptions, an activity, a webhook, a setting) is copied
//! to PostgreSQL and back to SQLite with no difference in any table, the audit trail still verifies on
//! every copy, an occupied target is refused naming the table, and a backup opens with the same
//! checksums.
//!
//! The staged data is required when `BULWARK_REQUIRE_SHARED_DATA=1` and the test skips with a printed
//! reason otherwise. The copy goes through PostgreSQL when `BULWARK_TEST_DATABASE` or
//! `BULWARK_TEST_POSTGRES` names a server (required as above), through a second SQLite file otherwise.

mod common;

use std::path::Path;

use serde_json::Value;

use common::{bulwark, postgres_database, run, stdout};

const ADMIN: &str = "admin@example.org";

/// The EPSS years imported: two of the 28 files (tens of thousands of scores, several copy batches),
/// which keeps the test's many engine loads quick.
const EPSS_YEARS: [&str; 2] = ["2018", "2019"];

/// Fills the database `db` with the staged data through the ordinary commands.
fn fill(db: &str, data: &Path, scratch: &Path) {
    let epss = scratch.join("epss");
    std::fs::create_dir_all(&epss).unwrap();
    for year in EPSS_YEARS {
        let member = format!("emba-epss/EPSS_CVE_data/CVE_{year}_EPSS.csv");
        let bytes = bulwark_testdata::archive_member("epss/emba-epss-by-year.tar.zst", &member)
            .expect("shared data present");
        std::fs::write(epss.join(format!("CVE_{year}_EPSS.csv")), bytes).unwrap();
    }
    let mut import = vec!["import".to_string()];
    for source in [
        "advisories/pypa/pypa-advisory-database.tar.zst",
        "advisories/rustsec-osv/rustsec-osv.tar.zst",
        "advisories/nvd",
        "kev/known_exploited_vulnerabilities.json",
    ] {
        import.push(data.join(source).display().to_string());
    }
    import.push(epss.display().to_string());
    run(db, &import);
    let path = |file: &str| data.join(file).display().to_string();
    let vaultwarden = path("inventories/lockfiles/cargo/vaultwarden-1.20.0.Cargo.lock");
    run(
        db,
        [
            "ingest",
            &vaultwarden,
            "--device",
            "vaultwarden",
            "--group",
            "web",
        ],
    );
    let dojo = path("inventories/lockfiles/python/defectdojo-1.10.4.requirements.txt");
    run(
        db,
        [
            "ingest",
            &dojo,
            "--device",
            "defectdojo",
            "--group",
            "web",
            "--tag",
            "internet-facing",
        ],
    );
    let debian = path("inventories/debian-dpkg/dpkg-status-debian12-bookworm.txt");
    run(
        db,
        [
            "ingest",
            &debian,
            "--device",
            "debian12",
            "--os",
            "debian 12",
        ],
    );
    let openscap =
        path("compliance/openscap-debian12-host/xccdf-results-debian12-host-standard.xml.zst");
    run(db, ["assess", &openscap, "--device", "debian12"]);
    run(db, ["user", "add", ADMIN, "--role", "admin"]);
    run(
        db,
        ["user", "add", "analyst@example.org", "--role", "analyst"],
    );
    run(db, ["token", "create", "--user", ADMIN, "--days", "30"]);
    // Registered before the exceptions, so that their creation queues deliveries.
    run(
        db,
        [
            "webhooks",
            "add",
            "https://hooks.example.org/bulwark",
            "--secret",
            "0123456789abcdef0123",
        ],
    );
    let recommendations: Value =
        serde_json::from_str(&stdout(&run(db, ["recommendations", "--format", "json"]))).unwrap();
    let recommendations = recommendations["value"].as_array().unwrap();
    assert!(recommendations.len() > 2, "{recommendations:?}");
    let id = |i: usize| recommendations[i]["id"].as_str().unwrap().to_string();
    let except = |recommendation: &str, justification: &str, days: &str, scope: &[&str]| {
        let mut args = vec![
            "exceptions",
            "create",
            "--as",
            ADMIN,
            "--recommendation",
            recommendation,
            "--justification",
            justification,
            "--context",
            "decided by the security board",
            "--days",
            days,
        ];
        args.extend(scope);
        run(db, args);
    };
    except(&id(0), "risk_accepted", "30", &["--global"]);
    except(&id(1), "third_party_control", "90", &["--group", "web"]);
    run(
        db,
        [
            "remediation",
            "create",
            "--as",
            ADMIN,
            "--recommendation",
            &id(2),
            "--priority",
            "High",
        ],
    );
    run(db, ["settings", "exception-policy", "--max-days", "180"]);
}

/// `bulwark --db DB db checksums`, and the number of tables it listed with rows.
fn checksums(db: &str) -> (String, usize) {
    let text = stdout(&run(db, ["db", "checksums"]));
    let filled = text
        .lines()
        .skip(1)
        .filter(|l| l.split_whitespace().nth(1).is_some_and(|rows| rows != "0"))
        .count();
    (text, filled)
}

/// `bulwark --db DB audit verify`'s report.
fn audit_verify(db: &str) -> String {
    stdout(&run(db, ["audit", "verify"]))
}

/// `bulwark db copy` from one database to another: exit 0, every table OK.
fn copy(from: &str, to: &str) -> String {
    let out = run(
        "sqlite::memory:",
        ["db", "copy", "--from", from, "--to", to],
    );
    let text = stdout(&out);
    assert!(!text.contains("DIFF"), "{text}");
    assert!(text.contains("every table matches"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.ends_with("  OK")).count(),
        bulwark_store::copy::TABLES.len(),
        "{text}"
    );
    text
}

#[test]
fn db_copy_round_trips_the_staged_real_data_with_no_difference() {
    let Some(data) = bulwark_testdata::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let original = sqlite("original.db");
    fill(&original, &data, dir.path());
    let (sums, filled) = checksums(&original);
    // Every table but the ones this flow leaves empty (no device group, job lease or console session).
    assert!(filled >= bulwark_store::copy::TABLES.len() - 3, "{sums}");
    let verified = audit_verify(&original);
    assert!(verified.contains("entries verified"), "{verified}");

    let postgres = postgres_database("the PostgreSQL leg of the copy");
    let middle = match &postgres {
        Some(database) => database.url().to_string(),
        None => sqlite("middle.db"),
    };
    copy(&original, &middle);
    copy(&middle, &sqlite("last.db"));
    assert_eq!(checksums(&middle).0, sums, "{middle}");
    assert_eq!(checksums(&sqlite("last.db")).0, sums);
    assert_eq!(audit_verify(&middle), verified);
    assert_eq!(audit_verify(&sqlite("last.db")), verified);

    // A database that holds rows is not a target.
    let refused = bulwark()
        .args([
            "db",
            "copy",
            "--from",
            &original,
            "--to",
            &sqlite("last.db"),
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("is not empty: table advisories holds"),
        "{message}"
    );
    assert_eq!(checksums(&sqlite("last.db")).0, sums);

    // A backup opens, with the same checksums and a verifying audit trail.
    let file = dir.path().join("backup.db");
    let out = run(
        &original,
        ["db", "backup", "--to", &file.display().to_string()],
    );
    assert!(
        stdout(&out).contains("integrity_check ok"),
        "{}",
        stdout(&out)
    );
    let backup = format!("sqlite://{}", file.display());
    assert_eq!(checksums(&backup).0, sums);
    assert_eq!(audit_verify(&backup), verified);
}

#[test]
fn db_backup_of_postgres_prints_the_pg_dump_commands_and_fails() {
    let out = bulwark()
        .args([
            "--db",
            "postgres://bulwark:secret@db.example.org:5432/bulwark",
            "db",
            "backup",
            "--to",
            "/var/backups/bulwark.dump",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains(
            "pg_dump --format=custom --file='/var/backups/bulwark.dump' \
             'postgres://bulwark@db.example.org:5432/bulwark'"
        ),
        "{text}"
    );
    assert!(text.contains("pg_restore"), "{text}");
    assert!(!text.contains("secret"), "{text}");
}
