//! The `bulwark` command as a user runs it: scan outputs (table, JSON, SARIF), exit codes, error messages,
//! and the import → ingest → recommendations flow on a fresh database.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn bulwark() -> Command {
    Command::cargo_bin("bulwark").expect("binary")
}

/// A small OSV corpus written by the test: one crate with a fix, one without.
fn write_advisories(dir: &Path) -> PathBuf {
    let osv = dir.join("osv");
    std::fs::create_dir_all(&osv).expect("dir");
    let record = |id: &str, name: &str, events: &str, score: &str| {
        format!(
            r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-{n}"],
               "summary":"{name} is broken","severity":[{{"type":"CVSS_V3","score":"{score}"}}],
               "affected":[{{"package":{{"ecosystem":"crates.io","name":"{name}"}},
               "ranges":[{{"type":"SEMVER","events":{events}}}]}}]}}"#,
            n = &id[id.len() - 4..]
        )
    };
    std::fs::write(
        osv.join("a.json"),
        record(
            "RUSTSEC-2024-0001",
            "vulnlib",
            r#"[{"introduced":"0"},{"fixed":"1.4.0"}]"#,
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        ),
    )
    .expect("write");
    std::fs::write(
        osv.join("b.json"),
        record(
            "RUSTSEC-2024-0002",
            "abandoned",
            r#"[{"introduced":"0"}]"#,
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N",
        ),
    )
    .expect("write");
    osv
}

fn write_lock(dir: &Path, vulnlib: &str) -> PathBuf {
    let lock = dir.join("Cargo.lock");
    std::fs::write(
        &lock,
        format!(
            "version = 3\n\n[[package]]\nname = \"vulnlib\"\nversion = \"{vulnlib}\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
             [[package]]\nname = \"abandoned\"\nversion = \"0.2.0\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
             [[package]]\nname = \"fine\"\nversion = \"1.0.0\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        ),
    )
    .expect("write");
    lock
}

#[test]
fn scan_json_has_the_documented_shape_and_exit_code_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let osv = write_advisories(dir.path());
    let lock = write_lock(dir.path(), "1.2.0");
    let out = bulwark()
        .args(["scan"])
        .arg(&lock)
        .arg("--advisories")
        .arg(&osv)
        .args(["--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 2);
    let f = &findings[1];
    assert_eq!(f["ecosystem"], "crates.io");
    assert_eq!(f["package"], "vulnlib");
    assert_eq!(f["version"], "1.2.0");
    assert_eq!(f["advisory_id"], "RUSTSEC-2024-0001");
    assert_eq!(f["aliases"], serde_json::json!(["CVE-2024-0001"]));
    assert_eq!(f["severity"], "Critical");
    assert_eq!(f["fixed_versions"], serde_json::json!(["1.4.0"]));
    assert_eq!(findings[0]["package"], "abandoned");
    assert_eq!(findings[0]["fixed_versions"], serde_json::json!([]));
}

#[test]
fn scan_exits_0_when_nothing_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let osv = write_advisories(dir.path());
    let lock = dir.path().join("clean.lock");
    std::fs::write(
        &lock,
        "version = 3\n\n[[package]]\nname = \"vulnlib\"\nversion = \"1.4.0\"\n\
         source = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .expect("write");
    let out = bulwark()
        .arg("scan")
        .arg(&lock)
        .arg("--advisories")
        .arg(&osv)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 packages, 0 vulnerabilities"), "{text}");
}

#[test]
fn scan_table_lists_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let osv = write_advisories(dir.path());
    let lock = write_lock(dir.path(), "1.2.0");
    let out = bulwark()
        .arg("scan")
        .arg(&lock)
        .arg("--advisories")
        .arg(&osv)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("PACKAGE"), "{text}");
    assert!(
        text.contains("vulnlib    1.2.0    RUSTSEC-2024-0001  Critical  1.4.0"),
        "{text}"
    );
    assert!(
        text.contains("abandoned  0.2.0    RUSTSEC-2024-0002  Low       no fix"),
        "{text}"
    );
    assert!(text.contains("3 packages, 2 vulnerabilities"), "{text}");
}

#[test]
fn scan_sarif_is_what_code_scanning_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let osv = write_advisories(dir.path());
    let lock = write_lock(dir.path(), "1.2.0");
    let out = bulwark()
        .arg("scan")
        .arg(&lock)
        .arg("--advisories")
        .arg(&osv)
        .args(["--format", "sarif"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "bulwark");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for r in results {
        let id = r["ruleId"].as_str().expect("ruleId");
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], id, "ruleIndex points at the rule");
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().expect("level")));
        assert!(r["message"]["text"].as_str().expect("message").contains(id));
        let location = &r["locations"][0]["physicalLocation"];
        assert!(
            location["artifactLocation"]["uri"]
                .as_str()
                .expect("uri")
                .ends_with("Cargo.lock")
        );
        assert_eq!(location["region"]["startLine"], 1);
    }
    // GitHub reads the numeric severity from the rule's properties.
    let critical = rules
        .iter()
        .find(|r| r["id"] == "RUSTSEC-2024-0001")
        .expect("rule");
    assert_eq!(critical["properties"]["security-severity"], "9.8");
    assert_eq!(
        results
            .iter()
            .find(|r| r["ruleId"] == "RUSTSEC-2024-0001")
            .expect("r")["level"],
        "error"
    );
}

#[test]
fn scan_errors_exit_2_and_name_the_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let osv = write_advisories(dir.path());
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, r#"{"bomFormat":"CycloneDX","specVersion":"1.4","components":[{"type":"library","name":5}]}"#)
        .expect("write");
    let out = bulwark()
        .arg("scan")
        .arg(&bad)
        .arg("--advisories")
        .arg(&osv)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.json") && err.contains("$.components[0]"),
        "{err}"
    );

    let out = bulwark()
        .arg("scan")
        .arg(dir.path().join("missing.lock"))
        .arg("--advisories")
        .arg(&osv)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.lock"));

    let lock = write_lock(dir.path(), "1.0.0");
    let out = bulwark()
        .arg("scan")
        .arg(&lock)
        .arg("--advisories")
        .arg(dir.path().join("no-such-dir"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-dir does not exist"));
}

#[test]
fn import_ingest_and_recommendations_on_a_fresh_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let osv = write_advisories(dir.path());
    // A fresh database of the backend BULWARK_TEST_DATABASE chooses, removed when the test ends.
    let database = bulwark_store::testing::fresh_database().expect("fresh database");
    let db = database.url().to_string();
    let out = bulwark()
        .args(["--db", &db, "import"])
        .arg(&osv)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 advisories read: 2 new"));
    // Importing again changes nothing.
    let out = bulwark()
        .args(["--db", &db, "import"])
        .arg(&osv)
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 new, 0 updated, 2 unchanged"));

    let lock = write_lock(dir.path(), "1.2.0");
    let out = bulwark()
        .args(["--db", &db, "ingest"])
        .arg(&lock)
        .args([
            "--device",
            "web-01",
            "--group",
            "web",
            "--tag",
            "internet-facing",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("web-01: 3 packages (cargo-lock)"));

    let out = bulwark()
        .args(["--db", &db, "recommendations", "--format", "json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let value = json["value"].as_array().expect("value");
    assert_eq!(value.len(), 2);
    assert_eq!(value[0]["recommendationName"], "Update vulnlib to 1.4.0");
    assert_eq!(value[0]["remediationType"], "Update");
    assert_eq!(value[0]["exposedMachinesCount"], 1);
    assert_eq!(value[0]["severityScore"], 9.8);
    assert_eq!(value[1]["recommendationName"], "Uninstall abandoned");

    let out = bulwark()
        .args(["--db", &db, "recommendations"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Update vulnlib to 1.4.0") && text.contains("2 recommendations"),
        "{text}"
    );
}

#[test]
fn unknown_inventory_format_is_refused_with_the_list() {
    let out = bulwark()
        .args(["scan", "x", "--advisories", "y", "--input-format", "nope"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cargo-lock"));
}

#[test]
fn console_passwords_are_set_from_standard_input_and_audited() {
    let database = bulwark_store::testing::fresh_database().expect("fresh database");
    let db = database.url().to_string();
    let short = bulwark()
        .args([
            "--db",
            &db,
            "user",
            "add",
            "ana@example.org",
            "--role",
            "analyst",
        ])
        .arg("--password-stdin")
        .write_stdin("too short\n")
        .output()
        .expect("run");
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("password: at least 12 characters"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );
    let added = bulwark()
        .args([
            "--db",
            &db,
            "user",
            "add",
            "ana@example.org",
            "--role",
            "analyst",
        ])
        .arg("--password-stdin")
        .write_stdin("a long enough passphrase\n")
        .output()
        .expect("run");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let changed = bulwark()
        .args(["--db", &db, "user", "password", "ana@example.org"])
        .write_stdin("another long passphrase\n")
        .output()
        .expect("run");
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    assert!(
        String::from_utf8_lossy(&changed.stdout)
            .contains("set the console password of ana@example.org")
    );
    let unknown = bulwark()
        .args(["--db", &db, "user", "password", "nobody@example.org"])
        .write_stdin("another long passphrase\n")
        .output()
        .expect("run");
    assert!(!unknown.status.success());
    let audit = bulwark()
        .args([
            "--db", &db, "audit", "list", "--entity", "user", "--format", "json",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(
        text.contains("user.create") && text.contains("user.password"),
        "{text}"
    );
    assert!(
        !text.contains("argon2"),
        "no hash in the audit trail: {text}"
    );
}
